/**
 * Steps → SQL, and security state → a `policies/` file. Pure. Every identifier
 * goes through quoteIdent; expressions are pg_get_expr output read with an empty
 * search_path, so every name outside pg_catalog in them is schema-qualified. Names
 * of pg_catalog are not (pg_get_expr leaves out a schema the name is found through),
 * and pg_catalog comes first only when search_path does not list it later: under
 * `public, pg_catalog` a `lower(x)` would call a public.lower. So a script puts
 * pg_catalog first for its expressions, and keeps the rest of the path: the `=` of
 * IS DISTINCT FROM, NULLIF and `CASE x WHEN` is found by its operand types and never
 * written (citext's lives in the schema citext was installed in).
 */
import { PUBLIC, type Policy } from '../catalog/model.js';
import { quoteIdent } from '../db.js';
import type { PolicyPlan, Step } from './plan.js';
import type { TableSecurity } from './state.js';

export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** `PUBLIC` is the keyword; every other role name is an identifier. */
function roleList(roles: readonly string[]): string {
  return roles.map((r) => (r === PUBLIC ? 'public' : quoteIdent(r))).join(', ');
}

function privilegeList(privs: readonly string[]): string {
  return privs.map((p) => p.toLowerCase()).join(', ');
}

/** `select (a, b), update (b)`: GRANT takes a column list per privilege. */
function columnPrivileges(columns: Readonly<Record<string, readonly string[]>>): string {
  return Object.entries(columns)
    .map(([p, cols]) => `${p.toLowerCase()} (${cols.map(quoteIdent).join(', ')})`)
    .join(', ');
}

export function createPolicySql(p: Policy, layout: 'line' | 'file' = 'line'): string {
  const sep = layout === 'file' ? '\n  ' : ' ';
  const parts = [
    `create policy ${quoteIdent(p.name)} on ${qualifiedName(p.schema, p.tableName)}`,
    `as ${p.permissive ? 'permissive' : 'restrictive'}`,
    `for ${p.command.toLowerCase()}`,
    `to ${roleList(p.roles)}`,
  ];
  if (p.using !== null) parts.push(`using (${p.using})`);
  if (p.check !== null) parts.push(`with check (${p.check})`);
  return parts.join(sep) + ';';
}

export function stepSql(s: Step): string {
  const t = qualifiedName(s.schema, s.tableName);
  switch (s.kind) {
    case 'grant':
      return `grant ${privilegeList(s.privileges)} on table ${t} to ${roleList([s.grantee])};`;
    case 'revoke': {
      const revoke = asEachGrantor(`revoke ${privilegeList(s.privileges)} on table ${t} from ${roleList([s.grantee])}${s.cascade ? ' cascade' : ''};`, s.grantedBy);
      const regrant = Object.entries(s.regrant ?? {}).map(([g, privs]) => `grant ${privilegeList(privs)} on table ${t} to ${roleList([g])};`);
      return [revoke, ...regrant].join('\n');
    }
    case 'grant-columns':
      return `grant ${columnPrivileges(s.columns)} on table ${t} to ${roleList([s.grantee])};`;
    case 'revoke-columns':
      return asEachGrantor(`revoke ${columnPrivileges(s.columns)} on table ${t} from ${roleList([s.grantee])};`, s.grantedBy);
    // These four never recurse to partitions (tablecmds.c: "These commands never
    // recurse"): each partition keeps its own flags and is diffed on its own.
    case 'enable-rls':
      return `alter table ${t} enable row level security;`;
    case 'disable-rls':
      return `alter table ${t} disable row level security;`;
    case 'force-rls':
      return `alter table ${t} force row level security;`;
    case 'no-force-rls':
      return `alter table ${t} no force row level security;`;
    case 'create-policy':
      return createPolicySql(s.policy);
    case 'drop-policy':
      return `drop policy ${quoteIdent(s.name)} on ${t};`;
    case 'rename-policy':
      return `alter policy ${quoteIdent(s.name)} on ${t} rename to ${quoteIdent(s.newName)};`;
    case 'alter-policy': {
      const parts = [`alter policy ${quoteIdent(s.name)} on ${t}`];
      if (!sameRoleSet(s.before.roles, s.after.roles)) parts.push(`to ${roleList(s.after.roles)}`);
      if (s.before.using !== s.after.using && s.after.using !== null) parts.push(`using (${s.after.using})`);
      if (s.before.check !== s.after.check && s.after.check !== null) parts.push(`with check (${s.after.check})`);
      return parts.join(' ') + ';';
    }
  }
}

/**
 * A REVOKE removes only the grants its issuer made (a superuser issues it as the
 * owner), and GRANTED BY must name the current user: a grant another role made is
 * revoked by that role, so the statement is repeated under SET LOCAL ROLE for each.
 * RESET ROLE returns to the session's role; the transaction scopes it either way.
 */
function asEachGrantor(revoke: string, grantedBy: readonly string[] | undefined): string {
  if (!grantedBy?.length) return revoke;
  return [revoke, ...grantedBy.map((r) => `set local role ${quoteIdent(r)}; ${revoke} reset role;`)].join('\n');
}

function sameRoleSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r) => b.includes(r));
}

export interface ScriptOptions {
  /** Wrap in BEGIN/COMMIT (stdout); a migration file is already run in one transaction by the engine. */
  transaction: boolean;
  /** Comment lines put on top (without `-- `). */
  header?: string[];
  /** Put each step's effect above its statement as a comment. */
  comments?: boolean;
}

export function renderScript(plan: PolicyPlan, opts: ScriptOptions): string {
  if (plan.steps.length === 0) return '';
  const lines: string[] = [];
  for (const h of opts.header ?? []) lines.push(comment(h));
  if (opts.transaction) lines.push('begin;');
  if (plan.steps.some(carriesExpression)) {
    if (opts.comments) lines.push('-- the policy expressions are written as read: pg_catalog first on the search_path');
    lines.push(SEARCH_PATH_AS_READ);
  }
  for (const s of plan.steps) {
    if (opts.comments) for (const e of s.effects) lines.push(comment(`[${s.hazard}] ${e}`));
    lines.push(withoutRawCr(backslashesEscaped(stepSql(s))));
  }
  if (opts.transaction) lines.push('commit;');
  return lines.join('\n') + '\n';
}

/**
 * For the transaction only (a migration file runs in the engine's own, and the
 * engine resets the session after each file).
 */
export const SEARCH_PATH_AS_READ = "select set_config('search_path', 'pg_catalog, ' || current_setting('search_path'), true);";

/** A step whose SQL holds a policy expression (pg_get_expr text). */
function carriesExpression(s: Step): boolean {
  return s.kind === 'create-policy' || (s.kind === 'alter-policy' && (s.before.using !== s.after.using || s.before.check !== s.after.check));
}

/**
 * `-- text` on one line. A line comment ends at a line feed or a carriage return
 * (scan.l, psql's lexer too), and the text holds names and string literals as the
 * catalog has them: a CR left in it would end the comment and run the rest of the
 * line (`'x<CR>drop table …; --'` in a policy's USING) as a statement of the script.
 */
function comment(text: string): string {
  return `-- ${text.replace(/\s*[\r\n]\s*/g, ' ')}`;
}

/**
 * `sql` with every '…' string literal that holds a backslash written as E'…' (the
 * backslashes doubled), which reads as the same value whether standard_conforming_strings
 * is on or off. The expressions are read with it on (catalog/introspect.ts); a database
 * may turn it off (ALTER DATABASE … SET), and a script is parsed before anything in it
 * runs (a migration is sent as one query), so a SET at its top would come too late: 'a\\b'
 * would be stored as a\b, or a backspace. Same input shapes as withoutRawCr.
 */
export function backslashesEscaped(sql: string): string {
  if (!sql.includes('\\')) return sql;
  return mapQuoted(sql, (q, _value, text, escaped) => (q === "'" && !escaped && text.includes('\\') ? `E${text.replace(/\\/g, '\\\\')}` : null));
}

/**
 * `sql` with every quoted name and string literal that holds a carriage return
 * written with Unicode escapes (`U&"a\000db"`, `U&'a\000db'`): policies/ files and
 * migrations are read with CR and CRLF turned into LF (files.ts, migrate/files.ts),
 * which would turn such a name into another one. The text is quoteIdent and
 * pg_get_expr output: `"…"`, `'…'`, and `E'…'` with doubled backslashes only; any
 * other shape is left as it is.
 */
export function withoutRawCr(sql: string): string {
  if (!sql.includes('\r')) return sql;
  return mapQuoted(sql, (q, value, _text, _escaped, plain) => {
    if (!plain || !value.includes('\r')) return null;
    const body = [...value].map((c) => (c < ' ' || c === '\\' ? `\\${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c === q ? q + q : c)).join('');
    return `U&${q}${body}${q}`;
  });
}

/**
 * `sql` with each quoted name (`"…"`) and string literal (`'…'`, `E'…'`) replaced by what `rewrite`
 * returns for it (null: kept as written). It is handed the quote, the value, the text as written
 * (with the E of an `E'…'`, which the replacement replaces too), whether it is an `E'…'`, and whether
 * its value is exact (`plain`: no backslash escape but `\\` and `\'`). An unterminated quote leaves
 * `sql` as it is. The text is quoteIdent and pg_get_expr output, or SQL rendered from it.
 */
function mapQuoted(sql: string, rewrite: (q: '"' | "'", value: string, text: string, escaped: boolean, plain: boolean) => string | null): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const q = sql[i]!;
    if (q !== '"' && q !== "'") {
      out += q;
      i++;
      continue;
    }
    // E'…': the E is a token of its own (not the end of a name such as CASE).
    const escaped = q === "'" && /(^|[^A-Za-z0-9_$])[Ee]$/.test(out);
    let value = '';
    let plain = true;
    let j = i + 1;
    for (;;) {
      const c = sql[j];
      if (c === undefined) return sql;
      if (c === q) {
        if (sql[j + 1] !== q) break;
        value += q;
        j += 2;
      } else if (escaped && c === '\\') {
        const n = sql[j + 1] ?? '';
        if (n !== '\\' && n !== "'") plain = false;
        value += n;
        j += 2;
      } else {
        value += c;
        j++;
      }
    }
    const replaced = rewrite(q, value, (escaped ? out.slice(-1) : '') + sql.slice(i, j + 1), escaped, plain);
    if (replaced === null) out += sql.slice(i, j + 1);
    else out = (escaped ? out.slice(0, -1) : out) + replaced;
    i = j + 1;
  }
  return out;
}

/** The canonical `policies/` file of one relation (what `policy pull` writes). */
export function renderPolicyFile(t: TableSecurity): string {
  const name = qualifiedName(t.schema, t.name);
  const out: string[] = [];
  out.push(comment(`${t.qualified}: row-level security, API grants and policies (rowguard policy pull).`));
  if (t.isPartition) out.push(comment(`A partition of ${t.partitionOf}: its flags, grants and policies are its own, not the parent's.`));
  if (t.kind === 'partitioned') out.push('-- A partitioned table: these apply when it is queried through the parent; each partition has its own file.');
  const body: string[] = [];
  if (t.rls) body.push(withoutRawCr(`alter table ${name} enable row level security;`));
  if (t.forceRls) body.push(withoutRawCr(`alter table ${name} force row level security;`));
  const grants = [...t.grants.entries()];
  if (grants.length) {
    if (body.length) body.push('');
    for (const [grantee, privs] of grants) body.push(withoutRawCr(`grant ${privilegeList(privs)} on table ${name} to ${roleList([grantee])};`));
  }
  const columnGrants = [...t.columnGrants.entries()];
  if (columnGrants.length) {
    if (body.length && !grants.length) body.push('');
    for (const [grantee, byPriv] of columnGrants) {
      body.push(withoutRawCr(`grant ${columnPrivileges(Object.fromEntries(byPriv))} on table ${name} to ${roleList([grantee])};`));
    }
  }
  // Grant options are not managed (a file cannot grant one): say what the file leaves out.
  const options = new Map<string, string[]>();
  for (const o of t.grantOptions ?? []) {
    const what = o.column === null ? o.privilege : `${o.privilege} (${o.column})`;
    const list = options.get(o.grantee) ?? options.set(o.grantee, []).get(o.grantee)!;
    if (!list.includes(what)) list.push(what);
  }
  for (const [grantee, what] of options) {
    body.push(comment(`In the database pulled from, ${grantee} also holds ${what.join(', ')} WITH GRANT OPTION: policies/ files do not manage grant options, so the grants here carry none.`));
  }
  for (const p of t.policies) {
    body.push('');
    body.push(withoutRawCr(createPolicySql(p, 'file')));
  }
  if (body.length === 0) out.push('-- RLS off, no grants to the API roles or PUBLIC, no policies.');
  return [...out, ...body].join('\n') + '\n';
}
