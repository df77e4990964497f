/**
 * What a call to a LANGUAGE sql function becomes once the planner has looked at it: Postgres
 * inlines a simple one (inline_function, clauses.c) and then judges the volatility of its body,
 * not of the function; one it cannot inline stays a call, as volatile as the function says.
 * A column default goes through the planner before ADD COLUMN decides whether to rewrite
 * (StoreAttrDefault: expression_planner, then contain_volatile_functions), so `default f()`
 * with a VOLATILE sql f rewrites the table unless f's body inlines to something non-volatile.
 */
import { nodeBody, type Body } from './stmt.js';

/** Built-in volatile functions a default may call. */
const VOLATILE = new Set(['gen_random_uuid', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4', 'uuidv4', 'uuidv7', 'random', 'clock_timestamp', 'timeofday', 'nextval', 'gen_random_bytes', 'random_normal']);

/**
 * The first call to a volatile function in `expr`: a built-in one, or one the migrations
 * created VOLATILE (the default) whose calls stay volatile (a sql one whose body inlines to
 * a non-volatile expression does not: see inlinedExpression).
 */
export function volatileCall(expr: unknown, userVolatile: ReadonlySet<string> = new Set()): string | null {
  let found: string | null = null;
  const visit = (v: unknown): void => {
    if (found || !v || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(visit);
    const fc = (v as Record<string, Body>)['FuncCall'];
    if (fc) {
      const name = ((fc['funcname'] as Array<Record<string, Body>>) ?? []).map((x) => x['String']?.['sval'] as string).pop();
      if (name && (VOLATILE.has(name) || userVolatile.has(name))) found = `${name}()`;
    }
    Object.values(v).forEach(visit);
  };
  visit(expr);
  return found;
}

/** Built-in aggregates: one in the body's target list makes it an aggregate query, never inlined (hasAggs). */
const AGGREGATES: ReadonlySet<string> = new Set(['count', 'sum', 'avg', 'min', 'max', 'string_agg', 'array_agg', 'bool_and', 'bool_or', 'every', 'bit_and', 'bit_or', 'bit_xor', 'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'xmlagg', 'stddev', 'variance', 'percentile_cont', 'percentile_disc', 'mode', 'range_agg', 'range_intersect_agg', 'any_value']);
/** Built-in set-returning functions: one in the target list is never inlined either (hasTargetSRFs). */
const SET_RETURNING: ReadonlySet<string> = new Set(['generate_series', 'generate_subscripts', 'unnest', 'regexp_matches', 'regexp_split_to_table', 'json_array_elements', 'json_array_elements_text', 'jsonb_array_elements', 'jsonb_array_elements_text', 'json_each', 'json_each_text', 'jsonb_each', 'jsonb_each_text', 'json_object_keys', 'jsonb_object_keys', 'jsonb_path_query', 'json_populate_recordset', 'jsonb_populate_recordset', 'json_to_recordset', 'jsonb_to_recordset']);

/**
 * The one expression a sql function body inlines to, or null when Postgres would keep the call:
 * the body must be a single SELECT of one column with no FROM, WHERE, GROUP BY, HAVING, window,
 * DISTINCT, ORDER BY, LIMIT, WITH or set operation, and no sub-select, aggregate or
 * set-returning function in it (or `RETURN expr`). `stmts` are the body's parsed statements.
 */
export function inlinedExpression(stmts: readonly unknown[] | null): unknown | null {
  if (!stmts || stmts.length !== 1) return null;
  const ret = nodeBody(stmts[0], 'ReturnStmt');
  const expr = ret ? ret['returnval'] : selectTarget(nodeBody(stmts[0], 'SelectStmt'));
  return expr !== undefined && expr !== null && simpleExpression(expr) ? expr : null;
}

function selectTarget(sel: Body | undefined): unknown {
  if (!sel || (sel['op'] ?? 'SETOP_NONE') !== 'SETOP_NONE') return undefined;
  for (const k of ['fromClause', 'whereClause', 'groupClause', 'havingClause', 'windowClause', 'distinctClause', 'sortClause', 'limitCount', 'limitOffset', 'withClause', 'valuesLists', 'lockingClause', 'intoClause']) {
    const v = sel[k];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) return undefined;
  }
  const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
  return targets.length === 1 ? nodeBody(targets[0], 'ResTarget')?.['val'] : undefined;
}

function simpleExpression(expr: unknown): boolean {
  let ok = true;
  const visit = (v: unknown): void => {
    if (!ok || !v || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(visit);
    const r = v as Record<string, Body>;
    if (r['SubLink']) ok = false;
    const fc = r['FuncCall'];
    if (fc) {
      const name = ((fc['funcname'] as unknown[] | undefined) ?? []).map((x) => nodeBody(x, 'String')?.['sval'] as string).pop() ?? '';
      if (fc['over'] || fc['agg_star'] || fc['agg_distinct'] || fc['agg_order'] || fc['agg_filter'] || fc['agg_within_group'] || AGGREGATES.has(name) || SET_RETURNING.has(name)) ok = false;
    }
    Object.values(r).forEach(visit);
  };
  visit(expr);
  return ok;
}

/**
 * The parsed statements of a sql function body as the catalog shows it (prosrc, or
 * pg_get_function_sqlbody's `RETURN expr` / `BEGIN ATOMIC … END`); null when it does not parse.
 */
export function catalogBodyStatements(body: string, parseSync: (sql: string) => unknown): unknown[] | null {
  const text = body.trim();
  const ret = /^return\s/i.exec(text);
  const atomic = /^begin\s+atomic\b([\s\S]*)\bend\s*;?$/i.exec(text);
  const source = ret ? `select ${text.slice(ret[0].length)}` : atomic ? atomic[1]! : text;
  try {
    return ((parseSync(source) as { stmts?: Array<{ stmt: unknown }> }).stmts ?? []).map((s) => s.stmt);
  } catch {
    return null;
  }
}
