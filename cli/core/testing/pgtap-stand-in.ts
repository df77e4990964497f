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

function firstStatement(tree: unknown, kind: string): Node | undefined {
  const stmt = (tree as Tree).stmts?.[0]?.stmt;
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
 * A SET, SET LOCAL, RESET or SET … TO DEFAULT of search_path, or RESET ALL:
 * whether it was transaction-local (SET LOCAL). undefined for anything else.
 */
export function searchPathChange(tree: unknown): { local: boolean } | undefined {
  const vs = firstStatement(tree, 'VariableSetStmt') as { kind?: string; name?: string; is_local?: boolean } | undefined;
  if (vs) return vs.kind === 'VAR_RESET_ALL' || vs.name === 'search_path' ? { local: !!vs.is_local } : undefined;
  // set_config('search_path', …, is_local) anywhere in the statement; is_local
  // when it is the constant true (a non-constant one counts as false).
  let found: { local: boolean } | undefined;
  walkFuncCalls((tree as Tree).stmts, (fc) => {
    const name = fc.funcname?.map((n) => n.String?.sval);
    if (!name || name[name.length - 1] !== 'set_config' || (name.length === 2 && name[0] !== 'pg_catalog')) return;
    const first = fc.args?.[0]?.['A_Const'] as { sval?: { sval?: string } } | undefined;
    if (first?.sval?.sval !== 'search_path') return;
    const third = fc.args?.[2]?.['A_Const'] as { boolval?: { boolval?: boolean } } | undefined;
    found = { local: (found?.local ?? false) || third?.boolval?.boolval === true };
  });
  return found;
}

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
