/**
 * The `policies/` folder: one file per relation, `<schema>.<table>.sql`.
 *
 * File names: schema and table as-is, except that every character outside
 * `A-Z a-z 0-9 _ - $` is written as `%XX` per UTF-8 byte (percent-encoding,
 * upper-case hex), so a dot, slash, space, quote or `%` in a name cannot break the
 * `<schema>.<table>` split or the path. `public.My Table` → `public.My%20Table.sql`,
 * `a.b` (a schema named "a.b") table t → `a%2Eb.t.sql`. Reading accepts any
 * valid percent-encoding; `policy pull` writes this canonical form, except that
 * characters beyond ASCII stay as they are when %XX would make the name longer
 * than a file name may be (two 63-byte names of non-ASCII letters).
 *
 * A file may contain only, for its own relation: ALTER TABLE … ENABLE/DISABLE/
 * FORCE/NO FORCE ROW LEVEL SECURITY, GRANT/REVOKE of table or column privileges to the API
 * roles or PUBLIC, and CREATE POLICY. Anything else is refused with file:line:col,
 * before anything runs (parsed with the Postgres grammar, libpg-query).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RowguardError } from '../errors.js';
import { leadingTriviaLength, locateCharPosition, loadParser, statementSpans } from '../sql-text.js';
import { PUBLIC, qualified as qualify } from '../catalog/model.js';
import type { SqlLocation } from '../errors.js';
import type { Step } from './plan.js';

const SAFE = /[A-Za-z0-9_\-$]/;

/** `keepNonAscii`: characters beyond ASCII stay as they are (UTF-8 in the file name) instead of %XX per byte. */
export function encodeNamePart(name: string, keepNonAscii = false): string {
  let out = '';
  for (const ch of name) {
    if (SAFE.test(ch) || (keepNonAscii && ch.codePointAt(0)! > 0x7f)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** The longest file name most file systems take (ext4, APFS, NTFS: 255 bytes or UTF-16 units). */
export const MAX_FILE_NAME_BYTES = 255;

/**
 * The canonical file name. Two names of 63 bytes (Postgres's limit) written as %XX
 * can reach 383 bytes: when the canonical form is longer than a file name may be,
 * characters beyond ASCII are kept as they are (3 bytes of %XX per byte become 1),
 * which reads back the same. Only names of mostly unusual ASCII stay too long.
 */
export function policyFileName(schema: string, table: string): string {
  const canonical = `${encodeNamePart(schema)}.${encodeNamePart(table)}.sql`;
  if (Buffer.byteLength(canonical, 'utf8') <= MAX_FILE_NAME_BYTES) return canonical;
  return `${encodeNamePart(schema, true)}.${encodeNamePart(table, true)}.sql`;
}

/** `<schema>.<table>.sql` → names, or null when the name does not have that shape. */
export function parsePolicyFileName(fileName: string): { schema: string; table: string } | null {
  if (!fileName.endsWith('.sql')) return null;
  const parts = fileName.slice(0, -4).split('.');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return null;
  try {
    return { schema: decodeURIComponent(parts[0]!), table: decodeURIComponent(parts[1]!) };
  } catch {
    return null;
  }
}

export interface PolicyFile {
  schema: string;
  table: string;
  /** qualified(schema, table): `schema.table`, a part quoted only when it holds a dot or starts with a quote. */
  qualified: string;
  path: string;
  displayPath: string;
  text: string;
  statements: PolicyStatement[];
}

export interface PolicyStatement {
  text: string;
  /** Code-point offset of the statement in the file. */
  startChars: number;
  kind: 'rls' | 'grant' | 'policy';
  /** For CREATE POLICY: the policy's name (as Postgres stores it, truncated to 63 bytes). */
  policyName?: string;
  /** Role names in TO (CREATE POLICY) or the grantee list → code-point offset in the file, to point at a role that does not exist. */
  roleAt?: Record<string, number>;
}

/** Read and validate every file of the folder (none when it does not exist). */
export async function readPolicyFiles(dir: string, displayRoot: string, grantees: readonly string[]): Promise<PolicyFile[]> {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const files: PolicyFile[] = [];
  const seen = new Map<string, string>();
  for (const f of names) {
    const path = join(dir, f);
    const displayPath = relative(displayRoot, path) || f;
    const parsed = parsePolicyFileName(f);
    if (!parsed) {
      throw new RowguardError('usage', `${displayPath}: not a policies file name`, {
        hint: 'name it <schema>.<table>.sql; write a dot, slash, space or other unusual character of a name as %XX (e.g. public.My%20Table.sql)',
      });
    }
    const qualified = qualify(parsed.schema, parsed.table);
    const dup = seen.get(qualified);
    if (dup) throw new RowguardError('usage', `${displayPath}: ${qualified} already has a file (${dup})`, { hint: 'keep one file per table' });
    seen.set(qualified, displayPath);
    const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
    const statements = await validatePolicyFile(text, { schema: parsed.schema, table: parsed.table, displayPath, grantees });
    files.push({ schema: parsed.schema, table: parsed.table, qualified, path, displayPath, text, statements });
  }
  return files;
}

interface RangeVar {
  schemaname?: string;
  relname: string;
  location?: number;
}

type Node = Record<string, unknown>;

interface ValidateContext {
  schema: string;
  table: string;
  displayPath: string;
  grantees: readonly string[];
}

const RLS_SUBTYPES = new Set(['AT_EnableRowSecurity', 'AT_DisableRowSecurity', 'AT_ForceRowSecurity', 'AT_NoForceRowSecurity']);

/**
 * Parse with the Postgres grammar and check every statement targets the file's
 * relation and is one of the allowed kinds. Returns the statements with their
 * offsets (executed one by one, so a server error points at its line).
 */
export async function validatePolicyFile(text: string, ctx: ValidateContext): Promise<PolicyStatement[]> {
  const parser = await loadParser();
  const buf = Buffer.from(text, 'utf8');
  const charAt = (byte: number) => Array.from(buf.subarray(0, byte).toString('utf8')).length + 1;
  const fail = (message: string, byteOffset: number, hint?: string): never => {
    throw new RowguardError('usage', message, { location: locateCharPosition(text, charAt(byteOffset), ctx.displayPath), hint });
  };
  let result: { stmts?: Array<{ stmt: Node; stmt_location?: number; stmt_len?: number }> };
  try {
    result = (await parser.parse(text)) as typeof result;
  } catch (err) {
    const e = err as { message?: string; sqlDetails?: { cursorPosition?: number } };
    return fail(e.message ?? 'syntax error', e.sqlDetails?.cursorPosition ?? 0);
  }
  const own = qualify(ctx.schema, ctx.table);
  const out: PolicyStatement[] = [];
  for (const s of statementSpans(result.stmts ?? [], buf)) {
    const { from: start, to: end } = s;
    const raw = buf.subarray(start, end).toString('utf8');
    // The span starts just after the previous ';': skip the whitespace and comments before the statement.
    const lead = leadingTriviaLength(raw);
    const stmtStartByte = start + Buffer.byteLength(raw.slice(0, lead), 'utf8');
    const stmtText = raw.slice(lead);
    if (stmtText.trim() === '') continue;
    const [type, node] = Object.entries(s.stmt)[0] as [string, Node];
    const checkRel = (rv: RangeVar | undefined, at: number) => {
      if (!rv) return fail('statement names no table', at);
      // Unqualified names resolve through search_path; only `public` (the default path's schema) may be left out.
      const schema = rv.schemaname ?? (ctx.schema === 'public' ? 'public' : undefined);
      if (schema !== ctx.schema || rv.relname !== ctx.table) {
        const named = rv.schemaname ? qualify(rv.schemaname, rv.relname) : rv.relname;
        fail(
          `${named} is not this file's table (${own}): a policies/ file only changes its own table`,
          rv.location ?? at,
          rv.schemaname ? `move the statement to ${encodeNamePart(rv.schemaname)}.${encodeNamePart(rv.relname)}.sql` : `write the table schema-qualified: ${own}`,
        );
      }
    };
    let kind: PolicyStatement['kind'];
    let policyName: string | undefined;
    const roleAt: Record<string, number> = {};
    const noteRoles = (specs: unknown) => {
      for (const r of (specs as Array<{ RoleSpec?: { rolename?: string; location?: number } }>) ?? []) {
        const name = r.RoleSpec?.rolename;
        if (name !== undefined && r.RoleSpec?.location !== undefined && !(name in roleAt)) roleAt[name] = charAt(r.RoleSpec.location) - 1;
      }
    };
    if (type === 'AlterTableStmt') {
      checkRel(node['relation'] as RangeVar, stmtStartByte);
      const cmds = (node['cmds'] as Array<{ AlterTableCmd: { subtype: string } }>) ?? [];
      for (const c of cmds) {
        if (!RLS_SUBTYPES.has(c.AlterTableCmd?.subtype)) {
          fail('a policies/ file may only ENABLE/DISABLE/FORCE/NO FORCE ROW LEVEL SECURITY with ALTER TABLE', stmtStartByte, 'change the table itself in a migration in sql/');
        }
      }
      kind = 'rls';
    } else if (type === 'GrantStmt') {
      if (node['targtype'] !== 'ACL_TARGET_OBJECT' || node['objtype'] !== 'OBJECT_TABLE') {
        fail('a policies/ file may only GRANT or REVOKE privileges on its own table', stmtStartByte, 'grant on schemas, functions or ALL TABLES IN SCHEMA in a migration in sql/');
      }
      const objects = (node['objects'] as Array<{ RangeVar: RangeVar }>) ?? [];
      for (const o of objects) checkRel(o.RangeVar, stmtStartByte);
      for (const g of (node['grantees'] as Array<{ RoleSpec: { roletype: string; rolename?: string; location?: number } }>) ?? []) {
        const name = g.RoleSpec.roletype === 'ROLESPEC_PUBLIC' ? PUBLIC : g.RoleSpec.rolename;
        if (!name || !ctx.grantees.includes(name)) {
          // CURRENT_USER, SESSION_USER, CURRENT_ROLE: whoever runs the file, never an API role by name.
          const keyword = g.RoleSpec.roletype.replace(/^ROLESPEC_/, '');
          fail(
            `${name ?? keyword} is not an API role: policies/ files grant only to ${ctx.grantees.filter((x) => x !== PUBLIC).join(', ')} or PUBLIC`,
            g.RoleSpec.location ?? stmtStartByte,
            'grant to other roles in a migration in sql/ (rowguard compares only the API roles and PUBLIC)',
          );
        }
      }
      if (node['grant_option']) fail('WITH GRANT OPTION is not managed by policies/ files', stmtStartByte);
      noteRoles(node['grantees']);
      kind = 'grant';
    } else if (type === 'CreatePolicyStmt') {
      checkRel(node['table'] as RangeVar, stmtStartByte);
      kind = 'policy';
      policyName = truncateIdentifier(String(node['policy_name'] ?? ''));
      noteRoles(node['roles']);
    } else {
      const what = type.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
      // The idempotent migration style (DROP POLICY IF EXISTS, then CREATE; ALTER POLICY) pasted into
      // a file that states what should exist.
      const aboutPolicy = (type === 'DropStmt' && node['removeType'] === 'OBJECT_POLICY') || type === 'AlterPolicyStmt' || (type === 'RenameStmt' && node['renameType'] === 'OBJECT_POLICY');
      fail(
        `${what} is not allowed in a policies/ file (only ALTER TABLE … ROW LEVEL SECURITY, GRANT/REVOKE and CREATE POLICY on ${own})`,
        stmtStartByte,
        aboutPolicy
          ? 'a policies/ file states the policies that should exist: delete this line and write each policy as its CREATE POLICY; policy apply drops, renames or alters to match'
          : 'put other statements in a migration in sql/',
      );
    }
    out.push({
      text: stmtText,
      startChars: charAt(stmtStartByte) - 1,
      kind: kind!,
      ...(policyName !== undefined ? { policyName } : {}),
      ...(Object.keys(roleAt).length ? { roleAt } : {}),
    });
  }
  return out;
}

/** An identifier as Postgres keeps it: at most 63 bytes (NAMEDATALEN - 1), cut at a character boundary. */
function truncateIdentifier(name: string): string {
  if (Buffer.byteLength(name, 'utf8') <= 63) return name;
  let out = '';
  for (const ch of name) {
    if (Buffer.byteLength(out + ch, 'utf8') > 63) break;
    out += ch;
  }
  return out;
}

/**
 * Where in policies/ a plan step comes from: the CREATE POLICY that defines the
 * policy it creates, alters or renames to, else the file's first statement of the
 * step's kind (ALTER TABLE for RLS flags, GRANT/REVOKE for privileges), else the
 * top of the file (a step that removes what the file no longer has). Undefined
 * when the table has no file.
 */
export function stepSource(step: Step, files: readonly PolicyFile[]): SqlLocation | undefined {
  const f = files.find((x) => x.qualified === step.table);
  if (!f) return undefined;
  const policy = step.kind === 'create-policy' ? step.policy.name : step.kind === 'alter-policy' ? step.after.name : step.kind === 'rename-policy' ? step.newName : undefined;
  const kind = step.kind.endsWith('-rls') ? 'rls' : step.kind.startsWith('grant') ? 'grant' : undefined;
  const s = policy !== undefined ? f.statements.find((x) => x.policyName === policy) : kind !== undefined ? f.statements.find((x) => x.kind === kind) : undefined;
  return locateCharPosition(f.text, 1, f.displayPath, s?.startChars ?? 0);
}

