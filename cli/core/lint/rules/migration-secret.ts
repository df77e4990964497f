/** A secret written into a migration file is in every clone and every backup of the repository. */
import type { MigrationRule, RawFinding } from '../types.js';
import { nodeBody, type Body } from '../stmt.js';

const SECRET_SETTING = /(secret|password|passwd|pwd|api_?key|private_?key|token|credential)/i;
/** Pre-hashed role passwords (SCRAM verifier, md5 + 32 hex) are what Postgres stores anyway, not the secret. */
const PREHASHED = /^(SCRAM-SHA-256\$|md5[0-9a-f]{32}$)/;
/** A signed JWT: three base64url parts, the first two JSON objects ("eyJ" = base64 of '{"'). */
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}\b/g;

/**
 * A token for the anonymous role and no user (`{"iss":"supabase","ref":…,"role":"anon"}`) is the
 * project's anon key, which every browser of the app is handed: it gives what any visitor has,
 * so finding it in a file leaks nothing. Any other claim set (service_role, a user's sub) is a secret.
 */
function isPublicAnonKey(token: string, anonRole: string): boolean {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    return claims !== null && typeof claims === 'object' && claims['role'] === anonRole && claims['sub'] === undefined;
  } catch {
    return false;
  }
}

function constValue(args: unknown): { value: string; location?: number } | null {
  const first = Array.isArray(args) ? args[0] : undefined;
  const c = nodeBody(first, 'A_Const');
  const v = (c?.['sval'] as { sval?: string } | undefined)?.sval;
  return v ? { value: v, location: c?.['location'] as number | undefined } : null;
}

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'migration-secret',
  level: 'error',
  category: 'security',
  description: 'secret in a migration file: a literal in ALTER … SET / set_config for a secret-named setting, CREATE/ALTER ROLE … PASSWORD, or a signed JWT',
  docs: 'Migration files are committed and copied everywhere; a JWT secret or password in them is leaked for good. Every file is checked, not only new ones. Pre-hashed role passwords (SCRAM-SHA-256$…, md5…) and PASSWORD NULL are fine, and so is a JWT whose claims are the anonymous role and no user (Supabase\'s anon key, handed to every browser); a service_role key or a user\'s token is not. The secret itself is never printed.',
  fix: 'remove it from the file, rotate it, and set it outside version control (environment, a secret store, or ALTER ROLE … PASSWORD run by hand)',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const s of ctx.allStatements) {
      const found: Array<{ what: string; location?: number }> = [];
      const setStmt = s.type === 'VariableSetStmt' ? s.body : (s.body['setstmt'] as Body | undefined);
      if (setStmt && SECRET_SETTING.test(String(setStmt['name'] ?? ''))) {
        const v = constValue(setStmt['args']);
        if (v) found.push({ what: `a literal value for setting ${String(setStmt['name'])}`, location: v.location });
      }
      if (s.type === 'CreateRoleStmt' || s.type === 'AlterRoleStmt') {
        for (const o of (s.body['options'] as unknown[] | undefined) ?? []) {
          const d = nodeBody(o, 'DefElem');
          const v = nodeBody(d?.['arg'], 'String')?.['sval'] as string | undefined;
          if (d?.['defname'] === 'password' && v && !PREHASHED.test(v)) {
            const role = (s.body['role'] as string | undefined) ?? (nodeBody(s.body['role'], 'RoleSpec')?.['rolename'] as string | undefined) ?? '';
            found.push({ what: `a plaintext password for role ${role}`, location: d['location'] as number | undefined });
          }
        }
      }
      // set_config('app.jwt_secret', '…', …) anywhere, and signed tokens in any string (function bodies included).
      const visit = (v: unknown): void => {
        if (!v || typeof v !== 'object') return;
        if (Array.isArray(v)) return v.forEach(visit);
        const fc = (v as Record<string, Body>)['FuncCall'];
        if (fc) {
          const name = ((fc['funcname'] as unknown[]) ?? []).map((x) => nodeBody(x, 'String')?.['sval']).pop();
          const args = (fc['args'] as unknown[] | undefined) ?? [];
          const key = constValue(args.slice(0, 1));
          const val = constValue(args.slice(1, 2));
          if (name === 'set_config' && key && val && SECRET_SETTING.test(key.value)) found.push({ what: `a literal value for setting ${key.value}`, location: val.location });
        }
        for (const [k, x] of Object.entries(v)) {
          if (k === 'sval' && typeof x === 'string' && [...x.matchAll(JWT)].some((m) => !isPublicAnonKey(m[0], ctx.anonRole ?? 'anon'))) found.push({ what: 'a signed JWT', location: (v as Body)['location'] as number | undefined });
          else visit(x);
        }
      };
      visit(s.body);
      for (const f of found) {
        out.push({ object: s.file, objectKind: 'file', location: s.at(f.location), message: `${s.file} contains ${f.what}: anyone with the repository has it` });
      }
    }
    return out;
  },
};
