/**
 * Which tables a policy expression reads where seeing fewer of their rows can let
 * more through. A sub-select in a policy runs as the caller, under the RLS and
 * privileges of the tables it reads, so a change that narrows what a role sees of
 * table B also changes what every policy reading B admits:
 *
 * - `EXISTS (select … from B …)` and `x IN (select … from B)` / `= ANY (…)` admit
 *   fewer rows when B shows fewer: monotone, the narrowing stays a narrowing;
 * - `NOT EXISTS (…)` (a block list), `x NOT IN (…)`, `<> ALL (…)` admit more;
 * - a scalar sub-select (`(select count(*) from B …) < 3`, a quota) or an ARRAY(…)
 *   can go either way — but not one that selects a plain column compared with `=`,
 *   `<>`, `<`, … (`org_id = (select org_id from profiles where id = auth.uid())`, the
 *   usual tenant look-up): fewer rows leave it the same value or NULL, and a comparison
 *   with NULL is NULL, which admits nothing under NOT too. So its rows count as more
 *   rows, more access, whatever surrounds it. (Where it matched more than one row the
 *   request failed, and fewer could let it through; an error is no access.)
 *
 * So a step that narrows what B shows may widen access through such a reader (the
 * planner says may-widen). Read from the parse tree (libpg-query) of pg_get_expr
 * text, which names every table outside pg_catalog schema-qualified: an
 * unqualified name is pg_catalog's or a CTE's, neither of which has policies.
 * Tables read inside anything but AND, OR, NOT and the sub-selects above count
 * as either way (a CASE, a function argument, a comparison), and so do the
 * tables of a sub-select with grouping, HAVING, LIMIT/OFFSET, DISTINCT, a set
 * operation or a WITH, and the outer side of an outer join (a LEFT JOIN … WHERE
 * b.id IS NULL is an anti-join). Tables a helper function reads are not seen.
 */
import { loadParser } from '../sql-text.js';
import { qualified } from '../catalog/model.js';

type Node = Record<string, unknown>;
type ParseSync = (sql: string) => unknown;
/** +1: admits more when the table shows more; -1: admits more when it shows less; 0: either way. */
type Polarity = 1 | -1 | 0;

/** The tables (catalog/model.ts qualified()) `text` reads where fewer visible rows can admit more, sorted; [] when it does not parse. */
export type AntitoneReads = (text: string) => readonly string[];

function one(v: unknown): [string, Node] | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const keys = Object.keys(v);
  return keys.length === 1 && /^[A-Z]/.test(keys[0]!) ? [keys[0]!, (v as Record<string, Node>)[keys[0]!]!] : null;
}

function walk(v: unknown, p: Polarity, out: Set<string>): void {
  if (Array.isArray(v)) {
    for (const x of v) walk(x, p, out);
    return;
  }
  if (!v || typeof v !== 'object') return;
  const node = one(v);
  if (!node) {
    for (const x of Object.values(v)) walk(x, 0, out);
    return;
  }
  const [type, body] = node;
  if (type === 'BoolExpr') {
    const q: Polarity = body['boolop'] === 'NOT_EXPR' ? ((-p || 0) as Polarity) : p;
    walk(body['args'], q, out);
    return;
  }
  if (type === 'SubLink') {
    const kind = body['subLinkType'];
    // EXISTS and IN / = ANY: true for more rows when the sub-select returns more. ALL: the other way.
    const q: Polarity = kind === 'EXISTS_SUBLINK' || kind === 'ANY_SUBLINK' ? p : kind === 'ALL_SUBLINK' ? ((-p || 0) as Polarity) : 0;
    walk(body['testexpr'], 0, out);
    select(body['subselect'], q, out);
    return;
  }
  if (type === 'A_Expr' && body['kind'] === 'AEXPR_OP' && COMPARISONS.has(operatorName(body) ?? '')) {
    const [l, r] = [body['lexpr'], body['rexpr']];
    const lookup = columnLookup(l) ?? columnLookup(r);
    if (lookup) {
      select(lookup, 1, out);
      walk(lookup === columnLookup(l) ? r : l, 0, out);
      return;
    }
  }
  for (const x of Object.values(body)) walk(x, 0, out);
}

/** Built-in comparisons: strict, so NULL on either side gives NULL. */
const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);

function operatorName(body: Node): string | null {
  const names = (body['name'] as unknown[] | undefined) ?? [];
  const last = one(names[names.length - 1]);
  return last?.[0] === 'String' ? String(last[1]['sval']) : null;
}

/** The sub-select of a scalar sub-select whose one output is a plain column (through casts), or null. */
function columnLookup(v: unknown): unknown {
  const link = one(v);
  if (link?.[0] !== 'SubLink' || link[1]['subLinkType'] !== 'EXPR_SUBLINK') return null;
  const sel = one(link[1]['subselect']);
  const targets = sel?.[0] === 'SelectStmt' ? ((sel[1]['targetList'] as unknown[] | undefined) ?? []) : [];
  if (targets.length !== 1) return null;
  let out = one(targets[0])?.[1]['val'];
  while (one(out)?.[0] === 'TypeCast') out = one(out)![1]['arg'];
  return one(out)?.[0] === 'ColumnRef' ? link[1]['subselect'] : null;
}

/** A sub-select whose rows count with polarity `p`. */
function select(v: unknown, p: Polarity, out: Set<string>): void {
  const node = one(v);
  if (!node || node[0] !== 'SelectStmt') return walk(v, 0, out);
  const s = node[1];
  const plain = !s['groupClause'] && !s['havingClause'] && !s['limitCount'] && !s['limitOffset'] && !s['distinctClause'] && !s['withClause'] && !s['windowClause'] && (s['op'] === undefined || s['op'] === 'SETOP_NONE');
  const q: Polarity = plain ? p : 0;
  // The rest (the select list, ORDER BY; a set operation's branches in larg/rarg, WITH's queries): either way.
  for (const [k, x] of Object.entries(s)) if (k !== 'fromClause' && k !== 'whereClause') walk(x, 0, out);
  for (const f of (s['fromClause'] as unknown[] | undefined) ?? []) from(f, q, out);
  walk(s['whereClause'], q, out);
}

function from(v: unknown, p: Polarity, out: Set<string>): void {
  const node = one(v);
  if (!node) return walk(v, 0, out);
  const [type, body] = node;
  if (type === 'RangeVar') {
    if (p !== 1 && typeof body['schemaname'] === 'string') out.add(qualified(body['schemaname'], String(body['relname'])));
    return;
  }
  if (type === 'JoinExpr') {
    const j = body['jointype'];
    from(body['larg'], j === 'JOIN_INNER' || j === 'JOIN_LEFT' ? p : 0, out);
    from(body['rarg'], j === 'JOIN_INNER' || j === 'JOIN_RIGHT' ? p : 0, out);
    walk(body['quals'], j === 'JOIN_INNER' ? p : 0, out);
    return;
  }
  if (type === 'RangeSubselect') return select(body['subquery'], p, out);
  walk(body, 0, out);
}

export function antitoneReadsWith(parseSync: ParseSync): AntitoneReads {
  const memo = new Map<string, readonly string[]>();
  return (text) => {
    let r = memo.get(text);
    if (r === undefined) {
      const out = new Set<string>();
      try {
        const stmt = (parseSync(`select ${text}`) as { stmts: Array<{ stmt: { SelectStmt: { targetList: Array<{ ResTarget: Node }> } } }> }).stmts[0]!.stmt;
        walk(stmt.SelectStmt.targetList[0]!.ResTarget['val'], 1, out);
      } catch {
        out.clear();
      }
      r = [...out].sort();
      memo.set(text, r);
    }
    return r;
  };
}

/** The same, with rowguard's parser loaded. */
export async function antitoneReads(): Promise<AntitoneReads> {
  return antitoneReadsWith((await loadParser()).parseSync);
}
