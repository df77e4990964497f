/**
 * Where a file expects pgTAP to be, rowguard's library stands in for it.
 *
 * Files written for Supabase assume pgTAP is an extension in schema
 * `extensions` (the Supabase CLI installs it there): they run
 * `create extension if not exists pgtap with schema extensions`, set
 * `search_path = public, extensions`, and often call `extensions.plan(…)`.
 * The library lives in its own schema instead (no CREATE EXTENSION, see
 * library.ts), so the runner reads three kinds of statement with the real
 * parser and adapts them:
 *  - CREATE EXTENSION pgtap (or basejump's supabase_test_helpers): the
 *    library and the tests.* helpers are already there, so nothing is
 *    installed; only the named schema must exist, as Postgres requires;
 *  - SET/RESET search_path (or set_config('search_path', …)): the library
 *    schema is appended again afterwards, as if pgTAP were in whatever schema
 *    the file names;
 *  - `<schema>.fn(…)` where <schema> is `extensions` or the schema the file
 *    installed pgtap into and fn is a library function: the call is pointed
 *    at the library schema (only calls in the statement's own text; SQL
 *    inside string literals is not rewritten).
 *
 * Pure: takes libpg-query parse trees and texts, returns data.
 */

/** The schema Supabase installs pgTAP into, assumed even when the file never creates the extension. */
export const SUPABASE_PGTAP_SCHEMA = 'extensions';

type Node = Record<string, unknown>;
interface Tree {
  stmts?: Array<{ stmt?: Node }>;
}

/** The body of the parse tree's first statement when it is of `kind` (`'VariableSetStmt'`, …). */
export function firstStatement(tree: unknown, kind: string): Node | undefined {
  const stmt = (tree as Tree | undefined)?.stmts?.[0]?.stmt;
  return stmt?.[kind] as Node | undefined;
}

/**
 * Extensions the runner installs itself in another form: pgTAP (the library)
 * and basejump's supabase_test_helpers (the tests.* helpers), under the names
 * its README and database.dev use.
 */
const STAND_IN_EXTENSIONS = new Set(['pgtap', 'supabase_test_helpers', 'basejump-supabase_test_helpers']);

/**
 * CREATE EXTENSION of one of those: the extension and the schema named (null
 * without one); undefined for any other statement.
 */
export function standInExtension(tree: unknown): { name: string; schema: string | null } | undefined {
  const ce = firstStatement(tree, 'CreateExtensionStmt');
  const name = ce?.['extname'];
  if (typeof name !== 'string' || !STAND_IN_EXTENSIONS.has(name)) return undefined;
  for (const opt of (ce!['options'] as Node[] | undefined) ?? []) {
    const d = opt['DefElem'] as { defname?: string; arg?: { String?: { sval?: string } } } | undefined;
    if (d?.defname === 'schema') return { name, schema: d.arg?.String?.sval ?? null };
  }
  return { name, schema: null };
}

/**
 * `SELECT dbdev.install('basejump-supabase_test_helpers')` (or another of
 * those extensions), alone: how basejump's README installs its helpers
 * through database.dev before CREATE EXTENSION. The runner answers it as
 * dbdev would (true) when the database has no dbdev of its own.
 */
export function standInInstall(tree: unknown): boolean {
  const sel = firstStatement(tree, 'SelectStmt');
  const targets = sel?.['targetList'] as Node[] | undefined;
  if (!sel || targets?.length !== 1 || sel['fromClause'] || sel['whereClause'] || (tree as Tree).stmts!.length !== 1) return false;
  const fc = (targets[0]!['ResTarget'] as Node | undefined)?.['val'] as Node | undefined;
  const call = fc?.['FuncCall'] as FuncCallNode | undefined;
  const name = call?.funcname?.map((n) => n.String?.sval);
  const arg = (call?.args?.length === 1 ? call.args[0]!['A_Const'] : undefined) as { sval?: { sval?: string } } | undefined;
  return name?.length === 2 && name[0] === 'dbdev' && name[1] === 'install' && STAND_IN_EXTENSIONS.has(arg?.sval?.sval ?? '');
}

/**
 * A SET, SET LOCAL, RESET or SET … TO DEFAULT of search_path, or RESET ALL:
 * whether it was transaction-local (SET LOCAL). undefined for anything else.
 */
export function searchPathChange(tree: unknown): { local: boolean } | undefined {
  // set_config('search_path', …, is_local) counts as local when is_local is the constant true.
  const c = settingChanges(tree);
  if (c.local.includes('search_path')) return { local: true };
  return c.all || c.session.includes('search_path') ? { local: false } : undefined;
}

/** The tests.* helpers that switch the role and the claims with set_config(…, true) (tests-helpers.sql, basejump's). */
const IMPERSONATING = new Set(['authenticate_as', 'authenticate_as_anon', 'authenticate_as_service_role', 'clear_authentication', '_impersonate']);
/** What they set for the transaction. */
export const IMPERSONATED: readonly string[] = ['role', 'request.jwt.claims'];

/**
 * The settings a statement changes, by scope: `local` for the transaction
 * only (SET LOCAL, set_config(name, …, true) with a constant name, a tests.*
 * helper that impersonates: role and request.jwt.claims), `session` for the
 * session (SET, RESET, set_config(…, false)); `all` for RESET ALL. Names are
 * lower case, as Postgres matches them. What a function sets inside its body
 * (other than those helpers), or a DO block, is not seen.
 */
export function settingChanges(tree: unknown): { local: string[]; session: string[]; all: boolean } {
  const out = { local: [] as string[], session: [] as string[], all: false };
  for (const { stmt } of (tree as Tree | undefined)?.stmts ?? []) {
    const vs = stmt?.['VariableSetStmt'] as { kind?: string; name?: string; is_local?: boolean } | undefined;
    if (vs) {
      if (vs.kind === 'VAR_RESET_ALL') out.all = true;
      else if (vs.name && vs.kind !== 'VAR_SET_MULTI') (vs.is_local ? out.local : out.session).push(vs.name.toLowerCase());
      continue;
    }
    walkFuncCalls(stmt, (fc) => {
      const name = fc.funcname?.map((n) => n.String?.sval ?? '') ?? [];
      const fn = name[name.length - 1] ?? '';
      if (IMPERSONATING.has(fn) && (name.length === 1 || name[0] === 'tests')) {
        out.local.push(...IMPERSONATED);
        return;
      }
      if (fn !== 'set_config' || (name.length === 2 && name[0] !== 'pg_catalog')) return;
      const setting = (fc.args?.[0]?.['A_Const'] as { sval?: { sval?: string } } | undefined)?.sval?.sval;
      const local = (fc.args?.[2]?.['A_Const'] as { boolval?: { boolval?: boolean } } | undefined)?.boolval?.boolval === true;
      if (setting !== undefined) (local ? out.local : out.session).push(setting.toLowerCase());
    });
  }
  // SESSION AUTHORIZATION and the transaction's own characteristics cannot be put back with set_config
  // once the transaction has run a query (SET TRANSACTION, SET SESSION CHARACTERISTICS are VAR_SET_MULTI).
  out.local = out.local.filter((n) => !NOT_RESTORABLE.has(n));
  return out;
}

const NOT_RESTORABLE = new Set(['session_authorization', 'transaction_isolation', 'transaction_read_only', 'transaction_deferrable']);

interface FuncCallNode {
  funcname?: Array<{ String?: { sval?: string } }>;
  args?: Node[];
  location?: number;
}

function walkFuncCalls(v: unknown, visit: (fc: FuncCallNode) => void): void {
  if (Array.isArray(v)) {
    for (const x of v) walkFuncCalls(x, visit);
    return;
  }
  if (v === null || typeof v !== 'object') return;
  const fc = (v as Node)['FuncCall'] as FuncCallNode | undefined;
  if (fc) visit(fc);
  for (const x of Object.values(v as Node)) walkFuncCalls(x, visit);
}

/** A schema-qualified call to re-point: [start, end) of the schema qualifier in the statement (UTF-16 offsets). */
export interface QualifierSite {
  start: number;
  end: number;
}

/**
 * Calls `<schema>.<fn>(…)` in a statement's parse tree where schema is one
 * of `schemas` and fn one of `functions`: the places of their schema names.
 */
export function libraryCallSites(tree: unknown, text: string, schemas: ReadonlySet<string>, functions: ReadonlySet<string>): QualifierSite[] {
  const sites: QualifierSite[] = [];
  const buf = Buffer.from(text, 'utf8');
  walkFuncCalls((tree as Tree).stmts, (fc) => {
    if (fc.funcname?.length === 2 && fc.location !== undefined) {
      const schema = fc.funcname[0]!.String?.sval;
      const name = fc.funcname[1]!.String?.sval;
      if (schema !== undefined && name !== undefined && schemas.has(schema) && functions.has(name)) {
        // location: the byte offset where the qualified name starts.
        const start = buf.subarray(0, fc.location).toString('utf8').length;
        const m = /^(?:"(?:[^"]|"")*"|[^\s.(]+)/.exec(text.slice(start));
        if (m) sites.push({ start, end: start + m[0].length });
      }
    }
  });
  return sites.sort((a, b) => a.start - b.start);
}

/**
 * Library assertions that run a SQL string they are given (or evaluate a
 * column default, which may call nextval): what that SQL does is the file's.
 */
const RUNS_SQL = new Set([
  'lives_ok', 'throws_ok', 'throws_like', 'throws_ilike', 'throws_matching', 'throws_imatching',
  'results_eq', 'results_ne', 'set_eq', 'set_ne', 'set_has', 'set_hasnt', 'bag_eq', 'bag_ne', 'bag_has', 'bag_hasnt',
  'is_empty', 'isnt_empty', 'row_eq', 'performs_ok', 'performs_within', 'runtests', 'do_tap', 'col_default_is',
]);

/** Built-in functions that change nothing a later session could see. */
const READ_ONLY_BUILTINS = new Set([
  'count', 'sum', 'min', 'max', 'avg', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'format', 'concat', 'concat_ws',
  'now', 'current_setting', 'set_config', 'lower', 'upper', 'length', 'to_json', 'to_jsonb', 'row_to_json',
  'json_build_object', 'jsonb_build_object', 'json_build_array', 'jsonb_build_array', 'array_length', 'cardinality',
  'pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'version', 'current_database', 'pg_backend_pid',
]);

/**
 * Whether a statement cannot leave anything behind for another session when
 * psql runs it outside a transaction block (autocommit): session settings
 * (SET, RESET, SHOW), a CREATE EXTENSION the library stands in for, a
 * statement that does not parse (it fails), and a plain SELECT whose every
 * call is an assertion of the library that runs no SQL of its own (`plan`,
 * `ok`, `has_table`, `finish`…, whose only writes are a temporary sequence
 * and temporary tables, gone with the session) or a read-only built-in. Any
 * other statement (DDL, DML, a call of any other function) may.
 */
export function leavesNothing(tree: unknown, libraryFunctions: ReadonlySet<string>, pgtapSchemas: ReadonlySet<string>): boolean {
  const stmt = (tree as Tree | undefined)?.stmts?.[0]?.stmt;
  if (!stmt || (tree as Tree).stmts!.length !== 1) return stmt === undefined;
  const [kind] = Object.keys(stmt);
  if (kind === 'VariableSetStmt' || kind === 'VariableShowStmt') return true;
  if (kind === 'CreateExtensionStmt') return standInExtension(tree) !== undefined;
  if (kind !== 'SelectStmt') return false;
  let writes = false;
  const visit = (v: unknown): void => {
    if (writes || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(visit);
    const node = v as Node;
    for (const k of ['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']) if (node[k]) writes = true;
    const select = node['SelectStmt'] as Node | undefined;
    if (select?.['intoClause'] || select?.['lockingClause']) writes = true;
    const fc = node['FuncCall'] as FuncCallNode | undefined;
    if (fc) {
      const parts = fc.funcname?.map((n) => n.String?.sval ?? '') ?? [];
      const name = parts[parts.length - 1] ?? '';
      const schema = parts.length === 2 ? parts[0]! : null;
      const library = libraryFunctions.has(name) && !RUNS_SQL.has(name) && (schema === null || pgtapSchemas.has(schema));
      const builtin = READ_ONLY_BUILTINS.has(name) && (schema === null || schema === 'pg_catalog');
      if (!library && !builtin) writes = true;
    }
    for (const x of Object.values(node)) visit(x);
  };
  visit(stmt);
  return !writes;
}
