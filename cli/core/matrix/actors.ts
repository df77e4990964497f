/**
 * The matrix's actors: who runs the operations. Declared in
 * `test/fixtures/actors.json` (so "own" has a meaning: a user actor is an
 * auth.users row the fixtures create), resolved against the seeded database
 * into PostgREST requests built exactly as `jwt mint --user` builds tokens.
 *
 *   { "actors": [
 *       { "name": "anon", "kind": "anon" },
 *       { "name": "alice", "kind": "user", "email": "alice@example.test" },
 *       { "name": "service_role", "kind": "service_role" },
 *       { "name": "app_owner", "kind": "role", "role": "app_owner" } ] }
 *
 * Without the file: anon, every auth.users row with an email (named by it), service_role.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { unlessEnded, type Sql } from '../db.js';
import { jsonSyntaxReason } from '../config.js';
import { RowguardError } from '../errors.js';
import { buildAccessClaims, buildRoleKeyClaims } from '../jwt/claims.js';
import { findAuthUser } from '../jwt/user.js';
import { roleFromClaims } from '../jwt/verify.js';
import type { ActorKind, ActorSpec } from './model.js';
import type { ProbeActor } from './probe.js';

const KINDS: ActorKind[] = ['anon', 'user', 'service_role', 'role'];

/** Validate an actors document; every problem at once, as the config loader does. */
export function parseActors(text: string, file: string): ActorSpec[] {
  let doc: unknown;
  // A byte order mark is not JSON, but not a mistake either (as for the config file).
  const json = text.replace(/^\uFEFF/, '');
  try {
    doc = JSON.parse(json);
  } catch (err) {
    // One line at line:col, without the excerpt of the file V8 quotes (it spans lines).
    throw new RowguardError('config', `${file}: not valid JSON (${jsonSyntaxReason((err as Error).message, json)})`);
  }
  const list = (doc as { actors?: unknown })?.actors;
  if (!Array.isArray(list) || list.length === 0) throw new RowguardError('config', `${file}: expected {"actors": [ … ]} with at least one actor`);
  const problems: string[] = [];
  // Any other key is a mistake that would otherwise be ignored (as in the config file); $comment is a note.
  for (const k of Object.keys(doc as object)) if (k !== 'actors' && k !== '$comment') problems.push(`${file}: ${k}: unknown key (expected "actors")`);
  const seen = new Set<string>();
  const out: ActorSpec[] = [];
  list.forEach((a: Record<string, unknown>, i) => {
    const at = `${file}: actors[${i}]`;
    if (!a || typeof a !== 'object') return problems.push(`${at}: must be an object`);
    const name = a['name'];
    const kind = a['kind'];
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.@+-]+$/.test(name)) problems.push(`${at}.name: a non-empty name of letters, digits and _.@+- is required`);
    else if (seen.has(name)) problems.push(`${at}.name: "${name}" is used twice`);
    else seen.add(name);
    if (!KINDS.includes(kind as ActorKind)) problems.push(`${at}.kind: must be one of ${KINDS.join(', ')}`);
    if (kind === 'user' && (typeof a['email'] !== 'string' || !a['email'])) problems.push(`${at}.email: a user actor needs the email of an auth.users row the fixtures create`);
    if (kind === 'role' && (typeof a['role'] !== 'string' || !a['role'])) problems.push(`${at}.role: a role actor needs the database role to SET ROLE to`);
    for (const k of Object.keys(a)) if (!['name', 'kind', 'email', 'role'].includes(k)) problems.push(`${at}.${k}: unknown key`);
    out.push({ name: String(name), kind: kind as ActorKind, ...(typeof a['email'] === 'string' ? { email: a['email'] } : {}), ...(typeof a['role'] === 'string' ? { role: a['role'] } : {}) });
    return undefined;
  });
  if (problems.length) throw new RowguardError('config', problems[0]!, problems.length > 1 ? { detail: problems.slice(1).join('\n') } : {});
  return out;
}

/** The declared actors, or null when the file does not exist. */
export function readActorsFile(path: string, display: string): ActorSpec[] | null {
  if (!existsSync(path)) return null;
  return parseActors(readFileSync(path, 'utf8'), display);
}

export interface ApiSettings {
  anonRole: string;
  authenticatedRole: string;
  serviceRole: string;
  roleClaimKey: string;
  issuer: string;
  expiresIn: number;
}

/** Default actors: anon, every user with an email in the seeded auth.users, service_role. */
export async function defaultActors(sql: Sql): Promise<ActorSpec[]> {
  const users = await sql<{ email: string }[]>`
    select email from auth.users where email is not null and email <> '' order by email`.catch(unlessEnded([] as { email: string }[]));
  return [{ name: 'anon', kind: 'anon' }, ...users.map((u) => ({ name: u.email, kind: 'user' as const, email: u.email })), { name: 'service_role', kind: 'service_role' }];
}

/**
 * Turn specs into requests: anon is a request without a token (claims
 * {"role": anon}), service_role carries Supabase's legacy API-key claims, a
 * user carries GoTrue's access-token claims for its auth.users row, with the
 * role taken by the configured role claim key as PostgREST does.
 */
export async function resolveActors(sql: Sql, specs: ActorSpec[], api: ApiSettings, now: number, file?: string): Promise<ProbeActor[]> {
  const out: ProbeActor[] = [];
  for (const [i, s] of specs.entries()) {
    switch (s.kind) {
      case 'anon':
        out.push({ name: s.name, kind: s.kind, role: api.anonRole, request: { role: api.anonRole, claims: {}, method: 'GET', path: '/' } });
        break;
      case 'service_role': {
        const claims = buildRoleKeyClaims(api.serviceRole, { issuer: 'supabase', expiresIn: api.expiresIn }, now);
        out.push({ name: s.name, kind: s.kind, role: api.serviceRole, request: { role: api.serviceRole, claims, method: 'GET', path: '/' } });
        break;
      }
      case 'role':
        out.push({ name: s.name, kind: s.kind, role: s.role!, request: null });
        break;
      case 'user': {
        let user;
        try {
          user = await findAuthUser(sql, s.email!);
        } catch (err) {
          if (!(err instanceof RowguardError)) throw err;
          // Where the actor is declared, as for the file's other problems (actors.json: actors[1] (zed): …).
          const at = file ? `${file}: actors[${i}] (${s.name})` : `actor ${s.name}`;
          throw new RowguardError(err.code, `${at}: ${err.message}`, { hint: 'the fixtures (test/fixtures/*.sql) must create every user actors.json names', cause: err });
        }
        const claims = buildAccessClaims(user, { issuer: api.issuer, expiresIn: api.expiresIn, sessionId: randomUUID(), defaultRole: api.authenticatedRole }, now);
        const role = roleFromClaims(claims, { roleClaimKey: api.roleClaimKey, anonRole: api.anonRole });
        if (typeof role !== 'string') throw new RowguardError('config', `actor ${s.name}: its claims carry no role (${role.message})`);
        out.push({ name: s.name, kind: s.kind, role, uid: user.id, request: { role, claims, method: 'GET', path: '/' } });
        break;
      }
    }
  }
  return out;
}
