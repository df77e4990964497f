/**
 * Policy expressions judged on their parse tree, never on their text.
 *
 * The catalog gives each USING / WITH CHECK as `pg_get_expr` output read with an
 * empty search_path, so every non-catalog function and relation is schema
 * qualified (`auth.uid()`, `public.members`) and a scalar sub-select prints as
 * `( SELECT auth.uid() AS uid)`. We wrap it as `select <expr>`, parse it with
 * the Postgres 18 grammar (libpg-query) and walk the JSON tree. Pure: the
 * parser's `parseSync` is handed in.
 */
import { qualified } from '../catalog/model.js';

/** A libpg-query node body (the object under `{ TypeName: body }`). */
type Body = Record<string, unknown>;
type ParseSync = (sql: string) => unknown;

interface Ancestor {
  type: string;
  body: Body;
  /** The field of `body` the walk descended through (e.g. SubLink.subselect). */
  via: string;
}

type Visitor = (type: string, body: Body, ancestors: readonly Ancestor[]) => void;

function isNode(v: unknown): v is Record<string, Body> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1) return false;
  const first = keys[0]!.charCodeAt(0); // a node type: an upper-case ASCII initial (A_Expr, ColumnRef, …)
  return first >= 65 && first <= 90 && typeof (v as Record<string, unknown>)[keys[0]!] === 'object';
}

/** Depth-first walk over every node, with the chain of enclosing nodes. */
export function walk(value: unknown, visit: Visitor, ancestors: Ancestor[] = []): void {
  // One mutable chain (pushed and popped), so a visitor that keeps it must copy it.
  const chain = [...ancestors];
  const go = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) go(x);
      return;
    }
    if (!v || typeof v !== 'object') return;
    if (isNode(v)) {
      const type = Object.keys(v)[0]!;
      const body = v[type]!;
      visit(type, body, chain);
      for (const k in body) {
        const x = body[k];
        if (x && typeof x === 'object') {
          chain.push({ type, body, via: k });
          go(x);
          chain.pop();
        }
      }
      return;
    }
    for (const k in v as Record<string, unknown>) go((v as Record<string, unknown>)[k]);
  };
  go(value);
}

/** A node as `[type, body]` (`{ ColumnRef: {…} }` → `['ColumnRef', {…}]`), or null for anything else. */
export function nodeEntry(v: unknown): [string, Body] | null {
  return isNode(v) ? [Object.keys(v)[0]!, (v as Record<string, Body>)[Object.keys(v)[0]!]!] : null;
}

function nodeType(v: unknown): string | null {
  return isNode(v) ? Object.keys(v)[0]! : null;
}
function bodyOf(v: unknown): Body {
  return isNode(v) ? (v as Record<string, Body>)[Object.keys(v)[0]!]! : {};
}

export function strings(list: unknown): string[] {
  return Array.isArray(list) ? list.map((x) => String((bodyOf(x) as { sval?: string }).sval ?? '')) : [];
}

/** `auth.uid`, `current_setting` (a `pg_catalog.` prefix is dropped). */
export function funcName(body: Body): string {
  const parts = strings(body['funcname']);
  if (parts[0] === 'pg_catalog') parts.shift();
  return parts.join('.');
}

export function opName(body: Body): string {
  const parts = strings(body['name']);
  return parts[parts.length - 1] ?? '';
}

/** Whether an A_Expr's body is `=` or IS NOT DISTINCT FROM: what ties two values together. */
function isEquality(b: Body): boolean {
  const kind = String(b['kind']);
  return (kind === 'AEXPR_OP' && opName(b) === '=') || kind === 'AEXPR_NOT_DISTINCT';
}

/** `x::t::u` → `x`. */
export function stripCasts(v: unknown): unknown {
  let n = v;
  while (nodeType(n) === 'TypeCast') n = bodyOf(n)['arg'];
  return n;
}

export function constString(v: unknown): string | null {
  const n = stripCasts(v);
  if (nodeType(n) !== 'A_Const') return null;
  const s = bodyOf(n)['sval'] as { sval?: string } | undefined;
  return s ? (s.sval ?? '') : null;
}

export function constBool(v: unknown): boolean | null {
  const n = stripCasts(v);
  if (nodeType(n) !== 'A_Const') return null;
  const b = bodyOf(n)['boolval'] as { boolval?: boolean } | undefined;
  if (b) return b.boolval === true;
  const s = constString(n);
  // 't'::boolean / 'true'::boolean, as ruleutils may print a folded constant.
  if (s !== null && nodeType(v) === 'TypeCast') {
    const t = strings(bodyOf(bodyOf(v)['typeName'])['names']).pop();
    if (t === 'bool' || t === 'boolean') return ['t', 'true', 'on', 'yes', 'y', '1'].includes(s.toLowerCase());
  }
  return null;
}

/**
 * The items of `x IN (…)` (libpg_query gives them as a bare array, or as a List node) or of
 * `x = ANY (ARRAY[…])` (how pg_get_expr prints an IN list); null for anything else.
 */
export function listItems(v: unknown): unknown[] | null {
  if (Array.isArray(v)) return v;
  const n = stripCasts(v);
  if (nodeType(n) === 'List') return (bodyOf(n)['items'] as unknown[] | undefined) ?? [];
  if (nodeType(n) === 'A_ArrayExpr') return (bodyOf(n)['elements'] as unknown[] | undefined) ?? [];
  return null;
}

/**
 * The functions whose value comes from the request (GoTrue's helpers read the
 * `request.jwt.claims` GUC through current_setting). They are STABLE, so a bare
 * call in a policy is evaluated for every row the scan visits; wrapped in a
 * scalar sub-select the planner turns it into an initPlan run once per statement.
 */
/** Which helpers (`schema.name`) yield nothing, NULL or false without a user (facts.ts callerHelpers); a Set will do. */
export interface HelperTest {
  has(name: string): boolean;
}

/** An argument of a helper call as a gate reads it: a string constant, the caller's id (`auth.uid()`), or anything else (null). */
/**
 * An argument of a helper call as a gate reads it: a string constant, an ARRAY of string constants (`array['owner',
 * 'coach']`), a column of the policy's row (`team_id`, as pg_get_expr prints it: bare), the caller's id, or unknown (null).
 */
export type GateArg = { value: string } | { values: string[] } | { column: string } | 'caller' | null;

/** A call of a user helper (`schema.name`) standing as a test of its own in a policy expression. */
export interface GateCall {
  name: string;
  args: GateArg[];
}

/**
 * What a helper that looks the caller up tests (callerGate, plpgsql.ts): the caller's row of `table`
 * found by `key` = the caller's id, and, for the arguments of one call, the ways through as sets of
 * atoms on that row's columns (`role=founder`, `is_active=true`, `role notnull`, and `(row)`: the row
 * exists), any one set enough;
 * null when the arguments leave it open. An empty set passes without any row.
 */
export interface CallerGate {
  table: string;
  key: string[];
  /**
   * The bare names the body read as its parameters (`where o.user_id = v`): were `table` to have a
   * column of that name, LANGUAGE sql would read the column instead and PL/pgSQL would refuse the
   * name as ambiguous, so the reading does not hold.
   */
  paramNames: string[];
  passes(args: readonly GateArg[]): string[][] | null;
  /**
   * The gate as a set when one argument is a column of the policy's row (`has_team_role(team_id, array['owner'])` over
   * `exists (select 1 from team_members tm where tm.team_id = p_team_id and tm.user_id = auth.uid() and …)`): the body
   * compares that parameter once, with a column of the caller's row (`yields`), so the call is true exactly when the
   * handed column (`column`) is one of the values `yields` holds on the caller's rows that pass `ways`. Null otherwise.
   */
  yieldsFor?(args: readonly GateArg[]): { yields: string; column: string; ways: string[][] } | null;
}

/**
 * A set-returning helper that yields one column of the caller's rows (`select org_id from members
 * where user_id = auth.uid() and role in ('owner', 'admin')`, caller-gate.ts): the rows it reads are
 * those a CallerGate on the same look-up lets through (its `passes`), and `yields` is the column whose
 * values it returns, one per row.
 */
export interface CallerSet extends CallerGate {
  yields: string;
}

function isCallerId(v: unknown): boolean {
  return claimKey(v) === 'sub';
}

/**
 * The expression as OR-ed branches of AND-ed items, each item a call of a user helper
 * (`public.has_perm('manage', (select auth.uid()))`, bare or as a scalar sub-select) or
 * 'other': a test with no sub-select and no user helper in it (`user_id = auth.uid()`).
 * Null for anything else (NOT, CASE, a sub-select, a helper inside another expression).
 */
function gateFormOf(root: unknown): Array<Array<GateCall | 'other'>> | null {
  const branch = (v: unknown): Array<Array<GateCall | 'other'>> | null => {
    const n = unwrap(v);
    const t = nodeType(n);
    const b = bodyOf(n);
    if (t === 'BoolExpr' && (b['boolop'] === 'OR_EXPR' || b['boolop'] === 'AND_EXPR')) {
      const parts = ((b['args'] as unknown[] | undefined) ?? []).map(branch);
      if (parts.some((x) => x === null)) return null;
      if (b['boolop'] === 'OR_EXPR') return parts.flatMap((x) => x!);
      return parts.reduce<Array<Array<GateCall | 'other'>>>((acc, x) => acc.flatMap((a) => x!.map((y) => [...a, ...y])), [[]]);
    }
    if (t === 'FuncCall' && isUserFunction(b)) {
      const call = gateCallOf(b);
      return call ? [[call]] : null;
    }
    if (contains(n, (tt, bb) => tt === 'SubLink' || (tt === 'FuncCall' && isUserFunction(bb)))) return null;
    return [['other']];
  };
  return branch(root);
}

/**
 * A user helper's call as a GateCall: its arguments the caller's id, string constants or unknown
 * (null); null for a call whose arguments hold a sub-select other than the caller's id, a `*`, a
 * VARIADIC or an OVER.
 */
function gateCallOf(b: Body): GateCall | null {
  if (b['agg_star'] || b['func_variadic'] || b['over'] || contains(b['args'], (tt, bb) => tt === 'SubLink' && !isCallerId({ SubLink: bb }))) return null;
  return { name: funcName(b), args: ((b['args'] as unknown[] | undefined) ?? []).map(gateArgOf) };
}

function gateArgOf(a: unknown): GateArg {
  if (isCallerId(a)) return 'caller';
  const s = constString(a);
  if (s !== null) return { value: s };
  const n = stripCasts(a);
  const f = nodeType(n) === 'ColumnRef' ? strings(bodyOf(n)['fields']) : [];
  if (f.length === 1 && f[0] !== '') return { column: f[0]! };
  const items = nodeType(n) === 'A_ArrayExpr' ? listItems(n) : null;
  const values = items?.map(constString) ?? null;
  return values && values.every((v) => v !== null) ? { values: values as string[] } : null;
}

/**
 * A helper call that reads one row of another table the policy's row points to: handed a column of a sub-select's row
 * (`exists (select 1 from boards where boards.id = columns.board_id and can_edit_project(boards.project_id))`,
 * `board_id in (select b.id from boards b where can_edit_project(b.project_id))`), or handed a scalar sub-select of one
 * column (`is_game_master_in_campaign((select characters.campaign_id from characters where characters.id =
 * character_permissions.character_id))`). The sub-select is a plain SELECT from one table (no join, ONLY, grouping,
 * LIMIT or set operation); names are left as written (the rule resolves them against the catalog).
 */
export interface Relay {
  /** The table the sub-select reads (`schema.table`, unqualified in public). */
  table: string;
  /** The name the sub-select gives it (its alias, else its name). */
  alias: string;
  /** The call's argument that is a column of that table's row: its position and the column reference's fields. */
  at: number;
  column: string[];
  /** Pairs of column references the sub-select's WHERE equates, AND-ed at its top (for IN, the selected column and the tested one too). */
  ties: Array<[string[], string[]]>;
}

/** A plain SELECT from one table: its name, alias, and the `=` pairs of column references AND-ed at the top of its WHERE; null otherwise. */
function plainOneTable(select: unknown): { table: string; alias: string; ties: Array<[string[], string[]]>; body: Body } | null {
  if (nodeType(select) !== 'SelectStmt') return null;
  const s = bodyOf(select);
  for (const k of ['groupClause', 'havingClause', 'withClause', 'limitOffset', 'limitCount', 'larg', 'valuesLists', 'windowClause', 'distinctClause']) if (s[k]) return null;
  const from = (s['fromClause'] as unknown[] | undefined) ?? [];
  if (from.length !== 1 || nodeType(from[0]) !== 'RangeVar') return null;
  const rv = bodyOf(from[0]);
  // FROM ONLY (inh false) leaves child tables out; `boards b (x, y)` renames the columns.
  if (rv['inh'] !== true || (rv['alias'] as Body | undefined)?.['colnames']) return null;
  const relname = String(rv['relname']);
  const alias = ((rv['alias'] as Body | undefined)?.['aliasname'] as string | undefined) ?? relname;
  const ties: Array<[string[], string[]]> = [];
  for (const c of branches(s['whereClause'], 'AND_EXPR')) {
    if (nodeType(c) !== 'A_Expr' || bodyOf(c)['kind'] !== 'AEXPR_OP' || opName(bodyOf(c)) !== '=') continue;
    const [l, r] = [stripCasts(bodyOf(c)['lexpr']), stripCasts(bodyOf(c)['rexpr'])];
    if (nodeType(l) === 'ColumnRef' && nodeType(r) === 'ColumnRef') ties.push([strings(bodyOf(l)['fields']), strings(bodyOf(r)['fields'])]);
  }
  return { table: qualified((rv['schemaname'] as string | undefined) ?? 'public', relname), alias, ties, body: s };
}

/** The Relay a helper call standing as a test is (`b` the call, `ancestors` its chain from the expression's root), or null. */
function relayOf(b: Body, ancestors: readonly Ancestor[]): { call: GateCall; relay: Relay } | null {
  if (b['agg_star'] || b['func_variadic'] || b['over']) return null;
  const args = (b['args'] as unknown[] | undefined) ?? [];
  const links = ancestors.filter((a) => a.type === 'SubLink');
  if (links.length === 0) {
    // Handed a scalar sub-select: `f((select t.x from t where t.k = c))`, its only sub-select.
    const at = args.flatMap((a, i) => (contains(a, (tt, bb) => tt === 'SubLink' && !isCallerId({ SubLink: bb })) ? [i] : []));
    if (at.length !== 1) return null;
    const arg = stripCasts(args[at[0]!]);
    if (nodeType(arg) !== 'SubLink' || bodyOf(arg)['subLinkType'] !== 'EXPR_SUBLINK') return null;
    const sel = plainOneTable(bodyOf(arg)['subselect']);
    const targets = (sel?.body['targetList'] as unknown[] | undefined) ?? [];
    const x = targets.length === 1 ? stripCasts(bodyOf(targets[0])['val']) : null;
    if (!sel || nodeType(x) !== 'ColumnRef' || contains(sel.body['whereClause'], (tt) => tt === 'SubLink' || tt === 'FuncCall')) return null;
    return { call: { name: funcName(b), args: args.map((a, i) => (i === at[0] ? null : gateArgOf(a))) }, relay: { table: sel.table, alias: sel.alias, at: at[0]!, column: strings(bodyOf(x)['fields']), ties: sel.ties } };
  }
  // Inside one EXISTS or IN sub-select, in its WHERE under AND and OR only: `exists (select 1 from t where t.k = c and f(t.x))`.
  if (links.length !== 1) return null;
  const i = ancestors.indexOf(links[0]!);
  const link = links[0]!.body;
  const sel = plainOneTable(link['subselect']);
  const inner = ancestors.slice(i + 1);
  if (!sel || inner[0]?.type !== 'SelectStmt' || inner[0].via !== 'whereClause' || !inner.slice(1).every((a) => a.type === 'BoolExpr' && (a.body['boolop'] === 'AND_EXPR' || a.body['boolop'] === 'OR_EXPR'))) return null;
  const ties = [...sel.ties];
  if (link['subLinkType'] === 'ANY_SUBLINK') {
    // `c in (select t.k from t where …)`: the selected column is tied to the tested one.
    const op = strings(link['operName']);
    const targets = (sel.body['targetList'] as unknown[] | undefined) ?? [];
    const picked = targets.length === 1 ? stripCasts(bodyOf(targets[0])['val']) : null;
    const tested = stripCasts(link['testexpr']);
    if ((op.length > 0 && op.join('.') !== '=') || nodeType(picked) !== 'ColumnRef' || nodeType(tested) !== 'ColumnRef') return null;
    ties.push([strings(bodyOf(picked)['fields']), strings(bodyOf(tested)['fields'])]);
  } else if (link['subLinkType'] !== 'EXISTS_SUBLINK') return null;
  const at = args.flatMap((a, j) => (nodeType(stripCasts(a)) === 'ColumnRef' && strings(bodyOf(stripCasts(a))['fields']).length === 2 && strings(bodyOf(stripCasts(a))['fields'])[0] === sel.alias ? [j] : []));
  if (at.length !== 1 || contains(args, (tt, bb) => tt === 'SubLink' && !isCallerId({ SubLink: bb }))) return null;
  const call = { name: funcName(b), args: args.map((a, j) => (j === at[0] ? null : gateArgOf(a))) };
  return { call, relay: { table: sel.table, alias: sel.alias, at: at[0]!, column: strings(bodyOf(stripCasts(args[at[0]!]))['fields']), ties } };
}

/**
 * A test `<x> IN (select <helper>(…))` (also `= ANY (select …)`), in the expression or in a sub-select
 * of it: the sub-select selects one call of a user helper and nothing else — no FROM, WHERE, DISTINCT,
 * grouping or LIMIT — so the test asks whether x is one of the values the (set-returning) helper yields.
 */
export interface SetMembership {
  /** The SubLink's body, as the parse gives it (OuterSubselect.node's). */
  body: unknown;
  /** The column of the policy's row x is (`org_id`, as pg_get_expr prints it: bare), or null when x is anything else. */
  column: string | null;
  call: GateCall;
  /** A conjunct of the whole expression (the expression is true only where it is). */
  conjunct: boolean;
  /** Only AND and OR stand between it and the root. */
  positive: boolean;
}

/**
 * Whether the expression holds for more rows as the set under `a` grows: AND, OR, the WHERE of a plain SELECT that
 * yields columns or constants (no aggregate, grouping or LIMIT: `x in (select m.id from memos m where m.org_id in
 * (select f()))`), and EXISTS / `op ANY` over such a SELECT (ALL, a scalar sub-select or NOT would turn it around).
 */
function monotone(a: Ancestor): boolean {
  if (a.type === 'BoolExpr') return a.body['boolop'] === 'AND_EXPR' || a.body['boolop'] === 'OR_EXPR';
  if (a.type === 'SubLink') return a.via === 'subselect' && (a.body['subLinkType'] === 'EXISTS_SUBLINK' || a.body['subLinkType'] === 'ANY_SUBLINK');
  if (a.type !== 'SelectStmt' || a.via !== 'whereClause') return false;
  for (const k of ['groupClause', 'havingClause', 'limitOffset', 'limitCount', 'windowClause', 'larg', 'valuesLists']) if (a.body[k]) return false;
  return ((a.body['targetList'] as unknown[] | undefined) ?? []).every((t) => ['ColumnRef', 'A_Const'].includes(nodeType(bodyOf(t)['val']) ?? ''));
}

function membershipsOf(root: unknown): SetMembership[] {
  const out: SetMembership[] = [];
  const conjuncts = new Set(branches(root, 'AND_EXPR').map((c) => (nodeType(c) === 'SubLink' ? bodyOf(c) : null)));
  walk(root, (type, b, ancestors) => {
    if (type !== 'SubLink' || b['subLinkType'] !== 'ANY_SUBLINK') return;
    const op = strings(b['operName']);
    if (op.length > 0 && op.join('.') !== '=') return;
    const sel = bodyOf(b['subselect']);
    if (nodeType(b['subselect']) !== 'SelectStmt') return;
    for (const k of ['fromClause', 'whereClause', 'distinctClause', 'groupClause', 'havingClause', 'withClause', 'sortClause', 'limitOffset', 'limitCount', 'lockingClause', 'larg', 'valuesLists', 'windowClause']) if (sel[k]) return;
    const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
    const fn = targets.length === 1 ? bodyOf(targets[0])['val'] : null;
    if (nodeType(fn) !== 'FuncCall' || !isUserFunction(bodyOf(fn))) return;
    const call = gateCallOf(bodyOf(fn));
    if (!call) return;
    const x = nodeType(b['testexpr']) === 'ColumnRef' ? strings(bodyOf(b['testexpr'])['fields']) : [];
    const positive = ancestors.every(monotone);
    out.push({ body: b, column: x.length === 1 && x[0] !== '' ? x[0]! : null, call, conjunct: conjuncts.has(b), positive });
  });
  return out;
}

/** A call of a user helper outside the expression's SetMemberships' sub-selects. */
export interface HelperCallSite {
  name: string;
  /** The call as a GateCall (gateCallOf), or null. */
  call: GateCall | null;
  /** It stands as a test of its own, the expression holding for more rows as it holds for more (monotone ancestors only). */
  positive: boolean;
  /** The call reads a row of another table the policy's row points to (relayOf), or it is absent. */
  relay?: { call: GateCall; relay: Relay };
}

function callsBeside(root: unknown, memberships: readonly SetMembership[]): HelperCallSite[] {
  const skip = new Set(memberships.map((m) => m.body));
  const out: HelperCallSite[] = [];
  walk(root, (type, b, ancestors) => {
    if (type !== 'FuncCall' || !isUserFunction(b) || ancestors.some((a) => a.type === 'SubLink' && skip.has(a.body))) return;
    const positive = ancestors.every(monotone);
    const relay = positive ? relayOf(b, ancestors) : null;
    out.push({ name: funcName(b), call: gateCallOf(b), positive, ...(relay ? { relay } : {}) });
  });
  return out;
}

/** A sub-select of a policy expression that no other sub-select holds. */
export interface OuterSubselect {
  /** The SubLink node, as the parse gives it. */
  node: unknown;
  /** Every relation it reads, its own sub-selects' included (`schema.table`, unqualified names in public, as policies print them; WITH queries left out). */
  tables: string[];
  /** Only AND and OR stand between it and the expression's root: the policy passes more as it passes more (no NOT, CASE or comparison of it). */
  positive: boolean;
}

function outerSubselects(root: unknown): OuterSubselect[] {
  const out: OuterSubselect[] = [];
  walk(root, (type, b, ancestors) => {
    if (type !== 'SubLink' || ancestors.some((a) => a.type === 'SubLink')) return;
    // A WITH query's name read in a FROM is no relation (`with mine as (…) select … from mine`).
    const ctes = new Set<string>();
    walk(b['subselect'], (t, bb) => {
      if (t === 'CommonTableExpr') ctes.add(bb['ctename'] as string);
    });
    const tables = new Set<string>();
    walk(b['subselect'], (t, bb) => {
      if (t !== 'RangeVar') return;
      const schema = bb['schemaname'] as string | undefined;
      if (schema === undefined && ctes.has(bb['relname'] as string)) return;
      tables.add(qualified(schema ?? 'public', bb['relname'] as string));
    });
    const positive = ancestors.every((a) => a.type === 'BoolExpr' && (a.body['boolop'] === 'AND_EXPR' || a.body['boolop'] === 'OR_EXPR'));
    out.push({ node: { SubLink: b }, tables: [...tables], positive });
  });
  return out;
}

export const CLAIM_FUNCTIONS: ReadonlySet<string> = new Set(['auth.uid', 'auth.jwt', 'auth.role', 'auth.email', 'current_setting']);

function isClaimCall(type: string, body: Body): boolean {
  return type === 'FuncCall' && CLAIM_FUNCTIONS.has(funcName(body));
}

/**
 * PostgREST copies the request's headers, cookies and path into GUCs
 * (`request.headers` as JSON, all headers but Cookie): the client writes them,
 * so a test on them says nothing about who the caller is. (request.method is
 * left out: it is the operation itself, which the privileges and policies for
 * that command already decide.)
 */
function isClientValue(type: string, body: Body): boolean {
  if (type !== 'FuncCall' || funcName(body) !== 'current_setting') return false;
  const name = constString((body['args'] as unknown[] | undefined)?.[0]);
  return name !== null && (['request.headers', 'request.cookies', 'request.path'].includes(name) || /^request\.(header|cookie)\./.test(name));
}

/** `request.headers ->> 'x-org-id'`, or the GUC's name, for the first client value in `v`. */
function describeClientValue(v: unknown): string {
  let text: string | null = null;
  walk(v, (t, b) => {
    if (text !== null) return;
    if (t === 'A_Expr' && (opName(b) === '->>' || opName(b) === '->') && contains(b['lexpr'], isClientValue)) {
      const inner = (() => {
        let n: string | null = null;
        walk(b['lexpr'], (tt, bb) => {
          if (n === null && isClientValue(tt, bb)) n = constString((bb['args'] as unknown[])[0]);
        });
        return n;
      })();
      const key = constString(b['rexpr']);
      if (inner && key !== null) text = `${inner} ${opName(b)} '${key}'`;
    } else if (isClientValue(t, b)) text = constString((b['args'] as unknown[])[0]);
  });
  return text ?? 'a request GUC';
}

/** A user-defined function: printed schema-qualified (empty search_path) and not from pg_catalog. */
function isUserFunction(body: Body): boolean {
  const parts = strings(body['funcname']);
  return parts.length > 1 && parts[0] !== 'pg_catalog' && !CLAIM_FUNCTIONS.has(funcName(body));
}

/** current_user / current_role / session_user / user: the role running the query. */
function isRoleValue(type: string, body: Body): boolean {
  return type === 'SQLValueFunction' && ['SVFOP_CURRENT_USER', 'SVFOP_CURRENT_ROLE', 'SVFOP_USER', 'SVFOP_SESSION_USER'].includes(String(body['op']));
}

/** Strip casts and a FROM-less scalar sub-select: `(select auth.uid())::text` → `auth.uid()`. */
function unwrap(v: unknown): unknown {
  let n = v;
  for (;;) {
    const t = nodeType(n);
    if (t === 'TypeCast') n = bodyOf(n)['arg'];
    else if (t === 'SubLink' && bodyOf(n)['subLinkType'] === 'EXPR_SUBLINK') {
      const sel = bodyOf(bodyOf(n)['subselect']);
      const targets = sel['targetList'] as unknown[] | undefined;
      if (sel['fromClause'] || !targets || targets.length !== 1) return n;
      n = bodyOf(targets[0])['val'];
    } else return n;
  }
}

function contains(v: unknown, pred: (type: string, body: Body, ancestors: readonly Ancestor[]) => boolean, base: Ancestor[] = []): boolean {
  let found = false;
  if (isNode(v) && pred(Object.keys(v)[0]!, bodyOf(v), base)) return true;
  walk(
    v,
    (t, b, a) => {
      if (!found && pred(t, b, a)) found = true;
    },
    base,
  );
  return found;
}

/** The claim a claim-reading expression yields: `sub`, `role`, `email`, … or null. */
function claimKey(v: unknown): string | null {
  const n = unwrap(v);
  const t = nodeType(n);
  const b = bodyOf(n);
  if (t === 'FuncCall') {
    const f = funcName(b);
    if (f === 'auth.uid') return 'sub';
    if (f === 'auth.role') return 'role';
    if (f === 'auth.email') return 'email';
    if (f === 'current_setting') {
      const name = constString((b['args'] as unknown[] | undefined)?.[0]);
      if (name === 'role') return 'role';
      const m = name && /^request\.jwt\.claim\.(.+)$/.exec(name);
      return m ? m[1]! : null;
    }
    return null;
  }
  if (isRoleValue(t ?? '', b)) return 'role';
  if (t === 'A_Expr' && (opName(b) === '->>' || opName(b) === '->')) {
    const key = constString(b['rexpr']);
    if (key !== null && readsClaims(b['lexpr'])) return key;
  }
  return null;
}

/** Whether an expression is the JWT claims object itself (auth.jwt() or the claims GUC, through casts and a scalar sub-select). */
function isClaimsObject(v: unknown): boolean {
  const n = stripCasts(unwrap(v));
  if (nodeType(n) !== 'FuncCall') return false;
  const b = bodyOf(n);
  const f = funcName(b);
  if (f === 'auth.jwt') return true;
  return f === 'current_setting' && constString((b['args'] as unknown[] | undefined)?.[0]) === 'request.jwt.claims';
}

/** Whether an expression reads the JWT claims object (auth.jwt() or the claims GUC). */
function readsClaims(v: unknown): boolean {
  return contains(v, (t, b) => {
    if (t !== 'FuncCall') return false;
    const f = funcName(b);
    if (f === 'auth.jwt') return true;
    if (f === 'current_setting') {
      const name = constString((b['args'] as unknown[] | undefined)?.[0]);
      return name === 'request.jwt.claims' || name === 'request.jwt.claim';
    }
    return false;
  });
}

/** Relations named in the FROM clauses of the SELECTs enclosing a node (aliases and names). */
function scopeOf(ancestors: readonly Ancestor[]): Map<string, string> {
  const scope = new Map<string, string>();
  for (const a of ancestors) {
    if (a.type === 'SelectStmt') for (const [k, q] of localScope(a.body['fromClause'], 'public')) scope.set(k, q);
  }
  return scope;
}

function insideSubselect(ancestors: readonly Ancestor[]): boolean {
  return ancestors.some((a) => a.type === 'SubLink' && a.via === 'subselect');
}

export interface ClaimColumn {
  /** `schema.table` of the compared column; null = the policy's own table. */
  table: string | null;
  column: string;
  claim: string;
  /** The type the policy casts the column to before comparing (`user_id::text`), or null when it compares the column itself. */
  castTo: string | null;
}

export interface CallerFact {
  /** `schema.table` read by the sub-select. */
  table: string;
  /** The columns compared with a claim (what makes the row the caller's). */
  boundBy: string[];
  /** One of them is compared with the user's id or email: a request without a user has no such row. */
  byUser: boolean;
  /** The other columns of that table the sub-select reads (none when only the row's existence counts). */
  columns: string[];
  /**
   * Columns of that table the sub-select compares (AND-ed `=`, IN, or the value it stands in for
   * in a comparison) with something: `'row'`, a column of the row the policy decides on
   * (`w.id = sets.workout_id`, `sets.workout_id in (select w.id …)`); `'constant'`
   * (`m.invite_code = 'VIP'`); a column of another relation (`m.invite_code in (select code from
   * invites)`); in a helper's body, a parameter (its position, 0-based), which the call fills.
   */
  compared: Array<{ column: string; to: Comparand }>;
}

/** What a column of a looked-up row is compared with (see CallerFact.compared). */
export type Comparand = 'row' | 'constant' | number | { table: string; column: string };

/** A column of a sub-select's table compared with a column of the policy's row (see ExprAnalysis.linkFacts). */
export interface LinkFact {
  /** `schema.table` of the linking relation. */
  table: string;
  /** Its column compared with the row (`file_id`). */
  column: string;
  /** The row's column (`id`). */
  rowColumn: string;
  /** Links of the same sub-select share it: a row must match all of them. */
  group: number;
}

/**
 * A sub-select that reads some relations for the caller (`m.user_id =
 * auth.uid()`) and others for the row (`p.id = tasks.project_id`) — or, in a
 * helper's body, for its arguments — but never joins the two groups: the
 * caller's membership of anything lets every row through.
 */
export interface DetachedCaller {
  /** Relations tied to the caller, with the columns compared with a claim. */
  caller: Array<{ table: string; ref: string; boundBy: string[] }>;
  /** Relations tied to the row (or to the helper's arguments). */
  row: Array<{ table: string; ref: string }>;
}

/** A comparison of an expression with itself (`m.org_id = m.org_id`): the same for every row. */
export interface SelfComparison {
  /** How it reads, e.g. `m.org_id = m.org_id`. */
  text: string;
  /** What it yields for every row (for non-NULL values, except IS [NOT] DISTINCT FROM). */
  always: boolean;
  /** It sits in a sub-select (where an unqualified name binds to the sub-select's tables first). */
  inSubselect: boolean;
}

/**
 * One SELECT's look-up of the caller's rows in one relation: the columns its AND-ed
 * WHERE compares with a claim, and the other columns of that relation it reads in
 * its tests (WHERE, JOIN … ON, HAVING) or returns (its target list, unless it sits
 * under EXISTS, which ignores it). `select p.is_admin from profiles p where
 * p.auth_user_id = auth.uid()` binds auth_user_id and tests is_admin.
 */
export interface CallerLookup {
  boundBy: string[];
  tested: string[];
}

/**
 * A top-level OR branch (the whole expression when there is no OR) that reads
 * other relations through sub-selects that never refer to the policy's row, and
 * whose other AND-ed tests, if any, look at the row without the caller
 * (`status = 'open'`): whether it admits a caller does not depend on the row, so
 * a caller it admits gets every row (every row that passes those tests).
 */
export interface RowFreeBranch {
  /** The relations its sub-selects read (`schema.table`, the name or alias the sub-select uses), each with the columns compared with a claim (see CallerLookup). */
  reads: Array<{ table: string; ref: string; boundBy: string[]; lookups: CallerLookup[] }>;
  /**
   * Helpers it calls with no argument from the row or the caller (`private.is_admin()`,
   * `has_role('admin')`): the sub-selects of their bodies are read here too (FunctionAnalysis.reads).
   */
  calls: string[];
  /** It holds a self-comparison, which explains it better. */
  hasSelfComparison: boolean;
  /** Some AND-ed test looks at the row alone (`status = 'open'`): the branch admits every row that passes it. */
  filtered: boolean;
  /**
   * Helpers it hands columns of the row only through parameters their bodies never read
   * (rowFreeBranchesGiven): `private.is_member(org_id)` whose body's `org_id` names
   * members.org_id. The row's columns it passed, by helper.
   */
  ignoredArgCalls: Array<{ name: string; columns: string[] }>;
}

/**
 * Something a policy runs for every row it is checked on, outside any sub-select:
 * a call to a user-defined function (whether it is inlined is for the caller to
 * decide, from the catalog), or a sub-select that refers to the row and that the
 * planner cannot turn into one hashed lookup per statement.
 */
export type PerRowLookup =
  | { kind: 'call'; name: string; text: string; rowArgs: string[]; argColumns: (string | null)[]; conjunct: boolean }
  | { kind: 'subselect'; form: 'EXISTS' | 'IN' | 'ALL' | 'scalar' | 'ARRAY' | 'row comparison'; tables: string[]; rowColumns: string[] };

/** One way through a policy expression (see ExprAnalysis.ways). */
export interface Way {
  pinned: Set<string>;
  equals: Map<string, string>;
}

/** Ways listed before giving up (an AND of ORs multiplies them). */
const WAY_LIMIT = 64;

export interface ExprAnalysis {
  /** Claim functions evaluated once per row (not inside an uncorrelated sub-select), e.g. `auth.uid()`. */
  perRowCalls: string[];
  /**
   * Each such call, with the row's column it is compared with when it is the value
   * side of a top-level AND-ed `column = <value>` (no other column, no sub-select
   * in the value): with an index leading on that column the planner evaluates the
   * value once, as the index condition, instead of once per row.
   */
  perRowCallSites: Array<{ call: string; indexColumn: string | null }>;
  /** Reads `user_metadata` or `raw_user_meta_data`. */
  readsUserMetadata: boolean;
  /** Descriptions of pattern matches on the caller's email, e.g. `LIKE on auth.email()`. */
  emailPatterns: string[];
  /** A top-level OR branch that is true when the request carries no user, e.g. `auth.uid() IS NULL`. */
  anonymousBranch: string | null;
  /** The user functions (`schema.name`) called alone as a whole top-level OR branch, e.g. `public.mine(user_id)`: a helper's own anonymousBranch is the policy's. */
  branchCalls: string[];
  /**
   * Top-level OR branches (the whole expression when there is no OR) that tie a column of the row to
   * the user's id or email so that NULL matches NULL: `user_id IS NOT DISTINCT FROM auth.uid()`, or
   * `coalesce(user_id, K) = coalesce(auth.uid(), K)` with the same K. Without a user the claim is
   * NULL, so a request without one passes them on every row whose column is NULL. Each with the
   * column and how it reads.
   */
  nullOwnerBranches: Array<{ column: string; text: string }>;
  /**
   * A top-level OR branch (or the whole expression) that tests a per-claim setting PostgREST 10 and
   * later never set for NULL, `current_setting('request.jwt.claim.sub', true) IS NULL` or
   * `coalesce(current_setting('request.jwt.claim.sub', true), '') = ''` (PostgREST now sets only
   * request.jwt.claims): true for every request, signed-in or not. How it reads, or null.
   */
  legacyClaimBranch: string | null;
  /**
   * Top-level OR branches (the whole expression when there is no OR) that are a bare `NOT EXISTS
   * (select … from t …)` whose FROM holds plain relations only (joined by commas or inner joins),
   * with those relations (`schema.table`): the sub-select runs under the caller's RLS, so for a
   * caller who sees no row of one of them the branch is true whatever the row holds.
   */
  absenceBranches: Array<{ text: string; tables: string[] }>;
  /** Holds a sub-select (`(select auth.uid())` included): Postgres refuses a policy of a table whose RLS, expanded again inside it, holds one (42P17). */
  hasSubLink: boolean;
  /** Some comparison, sub-select or helper call ties a column of the row to the caller. */
  bindsCaller: boolean;
  /** Something in it depends on who the caller is: a claim or setting (not one the client sends), the database role, or a helper function. */
  asksCaller: boolean;
  /**
   * Every top-level OR branch (the whole expression when there is no OR) holds such a test, or
   * asks only who the caller is, never the row (`auth.jwt() -> 'app_metadata' ->> 'role' = 'admin'`):
   * a caller no such gate admits gets only the rows tied to it.
   */
  ownRowsOnly: boolean;
  /**
   * Columns of the row that such a comparison, sub-select or helper call ties to
   * the caller (`user_id` in `user_id = auth.uid()`, `org_id` in `org_id in
   * (select m.org_id from members m where m.user_id = auth.uid())`), outside any NOT.
   */
  callerColumns: string[];
  /**
   * Per top-level OR branch (the whole expression when there is no OR): `owners`, the row's columns
   * an AND-ed `column = <the user's id or email>` ties to the caller (`created_by = auth.uid()`), and
   * `shared`, the row's other columns its tests tie to the caller (`team_id in (select my_teams())`):
   * a branch with shared columns and no owner admits a caller to rows other users own.
   */
  ownerBranches: Array<{ owners: string[]; shared: string[] }>;
  /**
   * Those of callerColumns that every way through the expression ties (or sets NULL): `org_id` in
   * `user_id = auth.uid() and org_id in (select my_orgs())`, not in `status = 'draft' or org_id in
   * (select my_orgs())`, whose first branch passes whatever org_id is. An OR branch that ties only
   * columns of `keys` (the row's own id: `can_edit_context(auth.uid(), id)`) is left out, as is an
   * admin gate: a new row's key is one no look-up finds yet.
   */
  pinnedColumns(keys: ReadonlySet<string>): string[];
  /**
   * The ways through the expression that pinnedColumns reads: per way (an OR branch, AND-ed out),
   * the columns it pins and the constants it compares columns with (`scope = 'project'`). null when
   * there are more than WAY_LIMIT.
   */
  ways(keys: ReadonlySet<string>): ReadonlyArray<Way> | null;
  /** Columns compared for equality with a claim (index candidates). */
  claimColumns: ClaimColumn[];
  /** Columns of the policy's own row the expression reads. */
  rowColumns: string[];
  /**
   * Those read outside any NOT: a test that can pin their value. `not exists
   * (select … where m.org_id = t.org_id …)` names org_id but only rules some
   * values out, so any other org passes.
   */
  assertedColumns: string[];
  /**
   * The constants a top-level AND-ed `column = <constant>` holds columns of the row to (`role` → `viewer` in `user_id =
   * auth.uid() and role = 'viewer'`): the expression is true only for rows holding them, whoever asks (an OR anywhere
   * above the test, an admin gate included, leaves it out).
   */
  fixedValues: ReadonlyMap<string, string>;
  /** User-defined functions the expression calls (`schema.name`). */
  calls: string[];
  /** Of those, the argument positions (0-based) filled with the caller's id or email (`has_role(auth.uid(), 'admin')`), by function. */
  callerArgs: Record<string, number[]>;
  /** Of those, the argument positions some call fills with a constant (`holds_code('VIP')`), by function. */
  constArgs: Record<string, number[]>;
  /**
   * What a sub-select reads from the caller's own rows: a sub-select whose FROM
   * relation is tied to the caller by `column = <claim>` (a profile, a
   * membership), and the other columns of that relation it reads (is_admin,
   * role, org_id…). The policy trusts those values.
   */
  callerFacts: CallerFact[];
  /**
   * Rows of another table a sub-select lets the policy's row through by, with
   * no tie to the caller in that sub-select: `id in (select cf.file_id from
   * collection_files cf where …)`, `exists (select 1 from shares s where
   * s.doc_id = docs.id and …)`. Whoever can create such a row, or repoint one,
   * decides which rows pass.
   */
  linkFacts: LinkFact[];
  /** Sub-selects that tie relations to the caller and others to the row but never join the two (see DetachedCaller). */
  detachedCallers: DetachedCaller[];
  /** Columns of the row compared with the database role running the query (`owner = current_user`), with that function. */
  roleColumns: Array<{ column: string; fn: string }>;
  /** Comparisons of an expression with itself, usually a name that bound to the wrong relation. */
  selfComparisons: SelfComparison[];
  /**
   * `<caller> = ALL (<array or sub-select>)` outside any NOT, where the array can be empty or
   * the sub-select find nothing: ALL over nothing is true, so the test passes for every caller
   * (anon included) on those rows. As written, e.g. `auth.uid() = ALL (editors)`.
   */
  vacuousAll: string[];
  /** Helper calls and sub-selects that run once per row the expression is checked on (see PerRowLookup). */
  perRowLookups: PerRowLookup[];
  /** Top-level OR branches that do not depend on the row but read relations (see RowFreeBranch). */
  rowFreeBranches: RowFreeBranch[];
  /**
   * Top-level OR branches (of two or more) that test the row and never ask who the caller
   * is — no claim, setting, database role or helper call anywhere in them, sub-selects
   * included — and are not constantly false: `team_code is not null` in `created_by =
   * auth.uid() or team_code is not null`. Each gives the row's columns it reads. Such a
   * branch admits the rows it picks for every caller, whatever the other branches ask.
   */
  callerFreeBranches: Array<{ columns: string[] }>;
  /**
   * Sub-selects that refer to neither the row nor the caller — no claim, setting, role or
   * helper call in them — standing as a test of their own in an OR branch (one OR nested
   * under the branch's AND is expanded) whose other tests look at the row alone
   * (`bucket_id = 'images' and (… or exists (select 1 from chats c where c.id = (select
   * m.chat_id from messages m where m.id = (storage.foldername(c.name))[2]::uuid) and c.sharing
   * <> 'private'))`, where `name` bound to chats.name): true or false alike for every row
   * and caller, as the rows of the tables it reads make it. Each gives those tables and, by
   * table, the columns it reads (null for a table it reads a column of without naming which),
   * and the user functions it calls (storage.foldername): the rule must know they ask nothing.
   */
  rowFreeGates: Array<{ tables: Record<string, string[] | null>; calls: string[] }>;
  /**
   * Helper calls the whole expression requires (AND-ed at the top, no top-level OR, bare or in a
   * FROM-less scalar sub-select), with the row's column handed at each argument position (null
   * for anything else, CALLER_ARG for the caller's id): `(select private.is_org_owner(org_id))`,
   * `is_maintainer(auth.uid(), org_id)`. See helperRequiredCallerRows.
   */
  requiredCalls: Array<{ name: string; argColumns: Array<string | null> }>;
  /**
   * The same, reading a helper call's arguments at the positions `ignored` gives for it (the
   * parameters its body never reads) as passing nothing: the row's columns handed there tie nothing.
   */
  rowFreeBranchesGiven(ignored: (name: string) => ReadonlySet<number> | null): RowFreeBranch[];
  /**
   * Top-level OR branches that read a value the client sends (`current_setting('request.headers')`,
   * cookies, path) and have no AND-ed test tying the row to the caller: described
   * as the value read, e.g. `request.headers ->> 'x-org-id'`.
   */
  clientValueBranches: string[];
  /**
   * True for every row when the request runs as `role` (`true`, `1 = 1`, `auth.role() = 'authenticated'`, …).
   * `notNull`: the NOT NULL columns of the policy's table, whose `IS NOT NULL` test is true for every row.
   * `values`: columns taken to hold these strings — true for every such row (`bucket_id = 'avatars'`
   * given bucket_id 'avatars', an IN list or `= ANY (ARRAY[…])` naming it).
   */
  alwaysTrueFor(role: string, notNull?: ReadonlySet<string>, values?: ReadonlyMap<string, string>): boolean;
  /**
   * The session claims (`aal`, `amr`, `is_anonymous`) the expression tests when
   * that is all it looks at: no column of the row, no relation, no helper, and
   * no claim that says who the caller is beyond the role and whether a user is
   * signed in. Such a test (`(select auth.jwt() ->> 'aal') = 'aal2'`) admits a
   * caller to every row; null when the expression is anything else.
   */
  sessionClaims: string[] | null;
  /**
   * False (or NULL) for every row and every caller: `false`, `null`, `false and …`,
   * `false or null`. A permissive policy whose USING or WITH CHECK is such a
   * constant (`using (false)`, the usual way to say "not through the API") admits
   * nothing for its command.
   */
  neverTrue: boolean;
  /**
   * Never true for a request that carries no user (no sub, no email): every OR
   * branch has an AND-ed test that is NULL or false without one, such as
   * `user_id = auth.uid()`, `lower(email) = lower(auth.email())` (a strict
   * built-in of a claim is NULL too) or `exists (select … where m.user_id = auth.uid())`.
   * `helpers` are functions that yield nothing, NULL or false without a user
   * (see functionNeedsUser): `is_member(org_id)`, `x in (select my_teams())`
   * and `x = my_org()` count too.
   */
  needsUser(helpers: HelperTest): boolean;
  /**
   * The request roles for which the expression can be true at all, when it
   * tests the role (`auth.role() = 'service_role'`, `auth.jwt() ->> 'role' in
   * (…)`, a helper whose body is such a test): null when it does not say.
   * `helperGate` gives the same for a helper by `schema.name`.
   */
  onlyForRoles(helperGate: (name: string) => ReadonlySet<string> | null): ReadonlySet<string> | null;
  /** The expression as OR-ed branches of AND-ed helper calls and other tests (gateFormOf), or null. */
  gateForm: Array<Array<GateCall | 'other'>> | null;
  /** Its outermost sub-selects (outerSubselects). */
  subselects: OuterSubselect[];
  /** Its sub-selects, at any depth, that are `x IN (select <helper>(…))` (membershipsOf). */
  memberships: SetMembership[];
  /** Its calls of user helpers outside those memberships' sub-selects. */
  callsBesideMemberships: HelperCallSite[];
}

export interface PolicyAnalysis {
  using: ExprAnalysis | null;
  check: ExprAnalysis | null;
  /** Parse failures (never expected for pg_get_expr output; reported, not thrown). */
  errors: string[];
}

const PATTERN_OPS = new Set(['~~', '~~*', '!~~', '!~~*', '~', '~*', '!~', '!~*']);
const PATTERN_FUNCS = new Set(['right', 'ends_with', 'starts_with', 'split_part', 'strpos', 'position', 'substring', 'substr', 'regexp_like', 'regexp_match', 'regexp_matches', 'regexp_substr', 'regexp_count', 'regexp_instr', 'textregexeq', 'texticregexeq', 'textlike', 'texticlike']);

function isUserMetadataString(s: string): boolean {
  return s === 'user_metadata' || /(^|[.{,"$])user_metadata([.},"[]|$)/.test(s);
}

/** Whether `v` yields the caller's email (not some row's). */
function isEmailOfCaller(v: unknown, base: readonly Ancestor[]): boolean {
  return contains(
    v,
    (t, b, anc) => {
      if (t === 'FuncCall' || t === 'A_Expr') {
        if (claimKey({ [t]: b }) === 'email') return true;
      }
      if (t === 'ColumnRef') {
        // users.email inside a SELECT that reads auth.users.
        const fields = strings(b['fields']);
        if (fields[fields.length - 1] !== 'email') return false;
        const scope = scopeOf(anc);
        if (fields.length >= 2) return scope.get(fields[fields.length - 2]!) === 'auth.users';
        return [...scope.values()].includes('auth.users');
      }
      return false;
    },
    [...base],
  );
}

function describe(v: unknown): string {
  const n = unwrap(v);
  const t = nodeType(n);
  const b = bodyOf(n);
  if (t === 'FuncCall') return `${funcName(b)}()`;
  const k = claimKey(n);
  if (k) return `the ${k} claim`;
  if (t === 'ColumnRef') return strings(b['fields']).join('.');
  return 'an expression';
}

/** Flatten nested ORs (or ANDs) into their branches. */
function branches(v: unknown, op: 'OR_EXPR' | 'AND_EXPR'): unknown[] {
  if (nodeType(v) === 'BoolExpr' && bodyOf(v)['boolop'] === op) return (bodyOf(v)['args'] as unknown[]).flatMap((a) => branches(a, op));
  return [v];
}

/**
 * Claims the API's anonymous request lacks: PostgREST sets `{"role": "anon"}`
 * without a token, and Supabase's anon key carries only iss, ref, role, iat and
 * exp. Any other claim (sub, email, app_metadata.…) is NULL for anon.
 */
const ANON_CLAIMS = new Set(['role', 'iss', 'ref', 'iat', 'exp', 'nbf', 'aud']);

function isUserClaim(v: unknown): boolean {
  const k = claimKey(v);
  return k !== null && !ANON_CLAIMS.has(k);
}

/**
 * Built-in functions declared STRICT (NULL in, NULL out) that policies wrap a
 * claim in: `lower(email) = lower(auth.jwt() ->> 'email')`. `trim(x)` parses as btrim.
 */
const STRICT_TEXT_FUNCTIONS = new Set(['lower', 'upper', 'btrim', 'ltrim', 'rtrim', 'initcap', 'md5', 'length', 'char_length', 'character_length', 'octet_length', 'split_part', 'replace', 'substr', 'left', 'right', 'reverse']);

/** NULL for a request without a user: a user claim, or a strict built-in of one (`lower(auth.email())`). */
function nullWithoutUserValue(v: unknown): boolean {
  if (isUserClaim(v)) return true;
  const n = unwrap(v);
  if (nodeType(n) !== 'FuncCall') return false;
  const b = bodyOf(n);
  if (!STRICT_TEXT_FUNCTIONS.has(funcName(b)) || b['agg_star'] || b['over']) return false;
  return ((b['args'] as unknown[] | undefined) ?? []).some(nullWithoutUserValue);
}

/** Comparisons that are NULL when either side is NULL. */
const STRICT_COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);

/** Aggregates whose value over no rows is NULL (count's is 0). */
const AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'bit_and', 'bit_or', 'bit_xor', 'xmlagg', 'stddev', 'variance']);

function isAggregateCall(v: unknown): boolean {
  if (nodeType(v) !== 'FuncCall') return false;
  const b = bodyOf(v);
  return !b['over'] && (b['agg_star'] === true || AGGREGATES.has(funcName(b)));
}

/**
 * A SELECT with an aggregate in its target list and no GROUP BY returns one row
 * even when no row matches (`select count(*) from members where user_id =
 * auth.uid()` gives 0 without a user, not nothing).
 */
function aggregatesToOneRow(sel: Body): boolean {
  if (sel['groupClause']) return false;
  const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
  return targets.some((t) => contains(bodyOf(t)['val'], (tt, bb) => isAggregateCall({ [tt]: bb })));
}

/** Whether the rows a SELECT reads need a user (its WHERE, or an inner join's ON). */
function rowsNeedUser(sel: Body, helpers: HelperTest): boolean {
  return (sel['whereClause'] !== undefined && needsUserIn(sel['whereClause'], helpers)) || innerJoinNeedsUser(sel['fromClause'], helpers);
}

/**
 * The value without a user of `(select <aggregate> from … where <needs a user>)`,
 * or of such an aggregate in the target of that SELECT: 0 for count, NULL
 * (null) for the others; undefined for anything else.
 */
function aggregateWithoutUser(v: unknown, helpers: HelperTest, rowsOf?: Body): 0 | null | undefined {
  let n = stripCasts(v);
  let sel = rowsOf;
  if (nodeType(n) === 'SubLink' && bodyOf(n)['subLinkType'] === 'EXPR_SUBLINK') {
    sel = bodyOf(bodyOf(n)['subselect']);
    const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
    if (!sel['fromClause'] || targets.length !== 1) return undefined;
    n = stripCasts(bodyOf(targets[0])['val']);
  }
  if (!sel || !isAggregateCall(n) || !aggregatesToOneRow(sel) || sel['havingClause'] || !rowsNeedUser(sel, helpers)) return undefined;
  return funcName(bodyOf(n)) === 'count' ? 0 : null;
}

function numericConst(v: unknown): number | null {
  const n = stripCasts(v);
  if (nodeType(n) !== 'A_Const') return null;
  const b = bodyOf(n);
  const i = b['ival'] as { ival?: number } | undefined;
  if (i) return i.ival ?? 0;
  const f = b['fval'] as { fval?: string } | undefined;
  return f?.fval !== undefined ? Number(f.fval) : null;
}

/** `a <op> b` on numbers, for the comparisons in STRICT_COMPARISONS. */
function compareNumbers(a: number, op: string, b: number): boolean {
  return op === '=' ? a === b : op === '<>' || op === '!=' ? a !== b : op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
}

/**
 * A comparison of an aggregate over rows that need a user with a number: NULL
 * (any aggregate but count) or false (`count(*) > 0`: 0 > 0) without a user.
 * `rowsOf`: the SELECT whose target the comparison is, when it is not a sub-select.
 */
function aggregateTestFalseWithoutUser(v: unknown, helpers: HelperTest, rowsOf?: Body): boolean {
  const n = stripCasts(v);
  if (nodeType(n) !== 'A_Expr') return false;
  const b = bodyOf(n);
  const op = opName(b);
  if (String(b['kind']) !== 'AEXPR_OP' || !STRICT_COMPARISONS.has(op)) return false;
  for (const [x, y, flip] of [
    [b['lexpr'], b['rexpr'], false],
    [b['rexpr'], b['lexpr'], true],
  ] as const) {
    const value = aggregateWithoutUser(x, helpers, rowsOf);
    if (value === null) return true;
    const c = numericConst(y);
    if (value === 0 && c !== null) return !(flip ? compareNumbers(c, op, 0) : compareNumbers(0, op, c));
  }
  return false;
}

/**
 * A call of a helper that yields nothing, NULL or false without a user: named in
 * `helpers` as `schema.name`, or as `schema.name#i` when it does so once its
 * argument i is the caller's id (`has_role(auth.uid(), 'admin')`) and the call
 * hands it that.
 */
function helperNeedsUser(b: Body, helpers: HelperTest): boolean {
  const name = funcName(b);
  if (helpers.has(name)) return true;
  const args = (b['args'] as unknown[] | undefined) ?? [];
  return args.some((x, i) => helpers.has(`${name}#${i}`) && isUserClaim(x));
}

/** A scalar or set sub-select / helper call that yields nothing without a user. */
function emptyWithoutUser(v: unknown, helpers: HelperTest): boolean {
  const n = stripCasts(v);
  const t = nodeType(n);
  const b = bodyOf(n);
  if (t === 'FuncCall') return helperNeedsUser(b, helpers);
  if (t !== 'SubLink') return false;
  const sel = bodyOf(b['subselect']);
  if (!sel['fromClause']) {
    const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
    return targets.length === 1 && emptyWithoutUser(bodyOf(targets[0])['val'], helpers);
  }
  // One row even over none: NULL for sum() or max(), but 0 for count(), which a comparison can pass.
  if (aggregatesToOneRow(sel)) return aggregateWithoutUser(n, helpers) === null;
  return rowsNeedUser(sel, helpers);
}

/** An inner join whose ON needs a user (`join auth.users u on u.id = auth.uid()`) yields no rows without one. */
function innerJoinNeedsUser(from: unknown, helpers: HelperTest): boolean {
  if (Array.isArray(from)) return from.some((f) => innerJoinNeedsUser(f, helpers));
  if (nodeType(from) !== 'JoinExpr') return false;
  const b = bodyOf(from);
  if (b['jointype'] !== 'JOIN_INNER') return false;
  return (b['quals'] !== undefined && needsUserIn(b['quals'], helpers)) || innerJoinNeedsUser(b['larg'], helpers) || innerJoinNeedsUser(b['rarg'], helpers);
}

/** An array that has at least one element whatever the row: `ARRAY[a, …]`, or a literal such as `'{x}'::uuid[]`. */
function nonEmptyArray(v: unknown): boolean {
  const n = stripCasts(v);
  if (nodeType(n) === 'A_ArrayExpr') return (((bodyOf(n)['elements'] as unknown[] | undefined) ?? []).length) > 0;
  const text = constString(n);
  // An optional dimension decoration ('[1:2]={a,b}'), then '{' and something that is not the closing brace.
  return text !== null && /^\s*(\[[^\]]*\]\s*)*=?\s*\{\s*[^\s}]/.test(text);
}

/** NULL or false for a request without a user (see ExprAnalysis.needsUser). */
function nullWithoutUser(v: unknown, helpers: HelperTest): boolean {
  // `(select private.is_member(org_id))`, the helper wrapped so it runs once per statement.
  const inner = unwrap(v);
  if (inner !== v) return needsUserIn(inner, helpers);
  const t = nodeType(v);
  const b = bodyOf(v);
  if (t === 'NullTest') return b['nulltesttype'] === 'IS_NOT_NULL' && nullWithoutUserValue(b['arg']);
  // `(user_id = auth.uid()) IS TRUE` is false where the test is NULL or false; IS FALSE where it is NULL.
  if (t === 'BooleanTest') return (b['booltesttype'] === 'IS_TRUE' && needsUserIn(b['arg'], helpers)) || (b['booltesttype'] === 'IS_FALSE' && nullOnlyWithoutUser(b['arg']));
  // `coalesce((select p.is_admin from profiles p where p.id = auth.uid()), false)`: each argument NULL or
  // false without a user, or the constant false / NULL it falls back to.
  if (t === 'CoalesceExpr') {
    const args = (b['args'] as unknown[] | undefined) ?? [];
    return args.length > 0 && args.every((x) => constBool(x) === false || (nodeType(stripCasts(x)) === 'A_Const' && bodyOf(stripCasts(x))['isnull'] === true) || needsUserIn(x, helpers) || emptyWithoutUser(x, helpers));
  }
  // A helper test such as is_org_owner(org_id) whose body needs a user.
  if (t === 'FuncCall') return helperNeedsUser(b, helpers);
  // `case when role = 'owner' then … when … else false end`: every result a request without a user
  // can reach (a WHEN that is NULL or false without one is never taken) is NULL or false; no ELSE is NULL.
  if (t === 'CaseExpr') {
    const whens = ((b['args'] as unknown[] | undefined) ?? []).map(bodyOf);
    const reached = whens.filter((w) => b['arg'] !== undefined || !nullWithoutUser(w['expr'], helpers)).map((w) => w['result']);
    return [...reached, b['defresult']].every((r) => r === undefined || constBool(r) === false || isNullConst(r) || nullWithoutUser(r, helpers));
  }
  if (t === 'A_Expr') {
    const kind = String(b['kind']);
    const sides = [b['lexpr'], b['rexpr']];
    if (kind === 'AEXPR_OP' && STRICT_COMPARISONS.has(opName(b))) return aggregateTestFalseWithoutUser(v, helpers) || sides.some((x) => nullWithoutUserValue(x) || emptyWithoutUser(x, helpers)) || constantTestFalseWithoutUser(b, helpers);
    // NULL op ANY (…) is NULL or false, as is NULL [NOT] IN (a list, never empty); but NULL op ALL (…)
    // is true over an empty array, so only an array that cannot be empty keeps anon out.
    if (kind === 'AEXPR_IN') return nullWithoutUserValue(b['lexpr']) || emptyWithoutUser(b['lexpr'], helpers) || constantTestFalseWithoutUser(b, helpers);
    if (kind === 'AEXPR_OP_ANY') return nullWithoutUserValue(b['lexpr']) || emptyWithoutUser(b['lexpr'], helpers);
    if (kind === 'AEXPR_OP_ALL') return nullWithoutUserValue(b['lexpr']) && nonEmptyArray(b['rexpr']);
    return false;
  }
  if (t === 'SubLink') {
    const kind = b['subLinkType'];
    // EXISTS over no rows is false; x IN (no rows) is false, NULL IN (…) is NULL.
    if (kind === 'EXISTS_SUBLINK') return emptyWithoutUser(v, helpers);
    // `(select case … end from course_org co)`: no row is NULL, one row is its value (more is an error),
    // so the value of a test NULL or false without a user is too.
    if (kind === 'EXPR_SUBLINK') {
      const sel = bodyOf(b['subselect']);
      const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
      if (targets.length !== 1 || (sel['op'] !== undefined && sel['op'] !== 'SETOP_NONE') || aggregatesToOneRow(sel)) return false;
      return nullWithoutUser(bodyOf(targets[0])['val'], helpers) || emptyWithoutUser(v, helpers);
    }
    if (kind === 'ANY_SUBLINK') return nullWithoutUserValue(b['testexpr']) || emptyWithoutUser({ SubLink: { ...b, subLinkType: 'EXPR_SUBLINK' } }, helpers);
  }
  return false;
}

function isNullConst(v: unknown): boolean {
  const n = stripCasts(v);
  return nodeType(n) === 'A_Const' && bodyOf(n)['isnull'] === true;
}

/**
 * The text a value is without a user, when that is a constant: `coalesce(my_role(org_id), '')`,
 * whose helper gives NULL (no row) without one, is ''. Null when it is not known.
 */
function textWithoutUser(v: unknown, helpers: HelperTest): string | null {
  const n = stripCasts(v);
  const c = constString(n);
  if (c !== null) return c;
  if (nodeType(n) !== 'CoalesceExpr') return null;
  for (const arg of (bodyOf(n)['args'] as unknown[] | undefined) ?? []) {
    const text = constString(arg);
    if (text !== null) return text;
    if (!(isNullConst(arg) || nullWithoutUserValue(arg) || emptyWithoutUser(arg, helpers))) return null;
  }
  return null;
}

/**
 * `coalesce(my_role(org_id), '') = 'owner'` or `… in ('admin', 'owner')`: without a user the left
 * side is a constant (textWithoutUser) that the test refuses. Only = and IN, on text constants.
 */
function constantTestFalseWithoutUser(b: Body, helpers: HelperTest): boolean {
  // Different whatever the type: citext ignores case, char(n) trailing blanks.
  const differ = (a: string, c: string) => a.toLowerCase().trimEnd() !== c.toLowerCase().trimEnd();
  const kind = String(b['kind']);
  if (kind === 'AEXPR_OP' && opName(b) === '=') {
    for (const [x, y] of [
      [b['lexpr'], b['rexpr']],
      [b['rexpr'], b['lexpr']],
    ]) {
      if (constString(x) !== null) continue;
      const without = textWithoutUser(x, helpers);
      const other = constString(y);
      if (without !== null && other !== null) return differ(without, other);
    }
    return false;
  }
  if (kind === 'AEXPR_IN' && opName(b) === '=') {
    if (constString(b['lexpr']) !== null) return false;
    const without = textWithoutUser(b['lexpr'], helpers);
    const values = listItems(b['rexpr'])?.map(constString) ?? [null];
    return without !== null && values.every((x) => x !== null && differ(x, without));
  }
  return false;
}

function needsUserIn(v: unknown, helpers: HelperTest): boolean {
  return branches(v, 'OR_EXPR').every((br) => branches(br, 'AND_EXPR').some((c) => nullWithoutUser(c, helpers)));
}

/** The role claim, also as `coalesce(auth.jwt() ->> 'role', '')`: PostgREST sets it on every request. */
function isRoleClaim(v: unknown): boolean {
  const n = unwrap(v);
  if (nodeType(n) === 'CoalesceExpr') return isRoleClaim(((bodyOf(n)['args'] as unknown[] | undefined) ?? [])[0]);
  return claimKey(n) === 'role';
}

/** See ExprAnalysis.onlyForRoles. */
function roleGate(v: unknown, helperGate: (name: string) => ReadonlySet<string> | null): ReadonlySet<string> | null {
  const t = nodeType(v);
  const b = bodyOf(v);
  if (constBool(v) === false) return new Set();
  if (t === 'TypeCast') return roleGate(b['arg'], helperGate);
  if (t === 'BoolExpr') {
    const gates = ((b['args'] as unknown[]) ?? []).map((x) => roleGate(x, helperGate));
    if (b['boolop'] === 'AND_EXPR') {
      const known = gates.filter((g) => g !== null);
      return known.length === 0 ? null : new Set([...known[0]!].filter((r) => known.every((g) => g.has(r))));
    }
    if (b['boolop'] === 'OR_EXPR') return gates.every((g) => g !== null) ? new Set(gates.flatMap((g) => [...g!])) : null;
    return null;
  }
  if (t === 'A_Expr') {
    const kind = String(b['kind']);
    if (kind === 'AEXPR_OP' && opName(b) === '=') {
      for (const [x, y] of [
        [b['lexpr'], b['rexpr']],
        [b['rexpr'], b['lexpr']],
      ]) {
        const c = constString(y);
        if (c !== null && isRoleClaim(x)) return new Set([c]);
      }
    }
    // `role = ANY (ARRAY['a', 'b'])` is how Postgres stores `role IN ('a', 'b')`.
    if ((kind === 'AEXPR_IN' || (kind === 'AEXPR_OP_ANY' && opName(b) === '=')) && isRoleClaim(b['lexpr'])) {
      const values = listItems(b['rexpr'])?.map(constString) ?? [null];
      if (values.every((x) => x !== null)) return new Set(values as string[]);
    }
    return null;
  }
  if (t === 'FuncCall' && isUserFunction(b)) return helperGate(funcName(b));
  if (t === 'SubLink' && b['subLinkType'] === 'EXPR_SUBLINK') {
    const n = unwrap(v);
    return n === v ? null : roleGate(n, helperGate);
  }
  return null;
}

/** The claim an expression is (`auth.uid()`, `(auth.jwt() ->> 'email')::text`, …: see claimKey), or null. */
export function claimOfExpression(text: string, parseSync: ParseSync): string | null {
  try {
    const stmts = (parseSync(`select ${text}`) as { stmts?: Array<{ stmt: unknown }> }).stmts;
    const sel = stmts?.length === 1 ? bodyOf(stmts[0]!.stmt) : {};
    const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
    return targets.length === 1 && !sel['fromClause'] ? claimKey(bodyOf(targets[0])['val']) : null;
  } catch {
    return null;
  }
}

/**
 * A LANGUAGE sql function's body parsed (a `RETURN expr` body as `select expr`),
 * or null when it does not parse.
 */
function parseFunctionBody(body: string, parseSync: ParseSync): { stmts?: Array<{ stmt: unknown }> } | null {
  try {
    return parseSync(/^\s*RETURN\s/i.test(body) ? body.replace(/^\s*RETURN\s/i, 'select ') : body) as { stmts?: Array<{ stmt: unknown }> };
  } catch {
    return null;
  }
}

/**
 * `body` (a LANGUAGE sql body, or a PL/pgSQL one as readPlpgsql gives it) with
 * every reference to parameter `position` (by name, qualified with the function's
 * name or not, or as $n) replaced by `(auth.uid())`: the body as it runs when a
 * policy hands the helper the caller's id. Null when it does not parse or never
 * reads the parameter.
 */
export function withCallerArgument(body: string, fnName: string, args: string, position: number, parseSync: ParseSync): string | null {
  return withArgument(body, fnName, args, position, '(auth.uid())', parseSync);
}

/** `body` with every reference to parameter `position` replaced by `replacement` (see withCallerArgument). */
function withArgument(body: string, fnName: string, args: string, position: number, replacement: string, parseSync: ParseSync): string | null {
  const text = /^\s*RETURN\s/i.test(body) ? body.replace(/^\s*RETURN\s/i, 'select ') : body;
  const name = parameterList(args)[position] ?? '';
  const at: Array<{ from: number; to: number }> = [];
  const buf = Buffer.from(text, 'utf8');
  const IDENT = '("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)';
  try {
    walk(parseSync(text), (t, b) => {
      const from = Number(b['location'] ?? -1);
      if (from < 0) return;
      if (t === 'ParamRef' && Number(b['number']) === position + 1) at.push({ from, to: from + `$${position + 1}`.length });
      if (t !== 'ColumnRef' || name === '') return;
      const fields = strings(b['fields']);
      if (fields[fields.length - 1] !== name || fields.length > 2 || (fields.length === 2 && fields[0] !== fnName)) return;
      const m = new RegExp(`^${IDENT}${fields.length === 2 ? `\\s*\\.\\s*${IDENT}` : ''}`).exec(buf.subarray(from).toString('utf8'));
      if (m) at.push({ from, to: from + Buffer.byteLength(m[0], 'utf8') });
    });
  } catch {
    return null;
  }
  if (at.length === 0) return null;
  let out = buf;
  for (const r of at.sort((a, b) => b.from - a.from)) out = Buffer.concat([out.subarray(0, r.from), Buffer.from(replacement, 'utf8'), out.subarray(r.to)]);
  return out.toString('utf8');
}

/**
 * The role gate of a LANGUAGE sql function whose body is one FROM-less SELECT
 * (`select coalesce(auth.jwt() ->> 'role', '') = 'service_role'`), else null.
 */
export function functionRoleGate(body: string, parseSync: ParseSync): ReadonlySet<string> | null {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return null;
  if (parsed.stmts?.length !== 1 || nodeType(parsed.stmts[0]!.stmt) !== 'SelectStmt') return null;
  const sel = bodyOf(parsed.stmts[0]!.stmt);
  const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
  if (sel['fromClause'] || sel['whereClause'] || targets.length !== 1) return null;
  return roleGate(bodyOf(targets[0])['val'], () => null);
}

/**
 * The top-level OR branch of a helper's one expression (`select <expr>`, no FROM) that is true
 * without a user, as a policy's would be (anonymousBranchIn): a parameter stands where a policy
 * has the row's column, so `select u = coalesce(auth.uid(), u)` and `select coalesce(u =
 * auth.uid(), true)` are true for anon whatever the policy hands them.
 */
export function functionAnonymousBranch(body: string, args: string, parseSync: ParseSync): string | null {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed || parsed.stmts?.length !== 1 || nodeType(parsed.stmts[0]!.stmt) !== 'SelectStmt') return null;
  const sel = bodyOf(parsed.stmts[0]!.stmt);
  const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
  if ((sel['op'] !== undefined && sel['op'] !== 'SETOP_NONE') || sel['fromClause'] || sel['whereClause'] || targets.length !== 1) return null;
  const names = parameterList(args);
  return anonymousBranchIn(bodyOf(targets[0])['val'], (v) => {
    const n = stripCasts(v);
    const b = bodyOf(n);
    if (nodeType(n) === 'ParamRef') return names[Number(b['number']) - 1] || `$${String(b['number'])}`;
    const fields = nodeType(n) === 'ColumnRef' ? strings(b['fields']) : [];
    return fields.length === 1 && names.includes(fields[0]!) ? fields[0]! : null;
  });
}

/**
 * Whether a LANGUAGE sql function yields nothing, NULL or false without a user:
 * one SELECT whose WHERE needs a user (`select team_id from members where
 * user_id = auth.uid()`), or one FROM-less SELECT of a test that does
 * (`select exists (select 1 from members m where … m.user_id = auth.uid())`).
 */
export function functionNeedsUser(body: string, parseSync: ParseSync, helpers: HelperTest = new Set<string>()): boolean {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return false;
  if (parsed.stmts?.length !== 1 || nodeType(parsed.stmts[0]!.stmt) !== 'SelectStmt') return false;
  const sel = bodyOf(parsed.stmts[0]!.stmt);
  if (sel['op'] !== undefined && sel['op'] !== 'SETOP_NONE') return false;
  const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
  if (sel['fromClause'] && aggregatesToOneRow(sel)) {
    // `select count(*) > 0 from … where user_id = auth.uid()`: one row, whose value decides.
    if (targets.length !== 1) return false;
    const val = bodyOf(targets[0])['val'];
    return aggregateWithoutUser(val, helpers, sel) === null || branches(val, 'OR_EXPR').every((br) => branches(br, 'AND_EXPR').some((c) => aggregateTestFalseWithoutUser(c, helpers, sel)));
  }
  if (sel['fromClause']) return rowsNeedUser(sel, helpers);
  // A helper that returns the caller's id or email (`select (… ->> 'sub')::uuid`) is NULL without a
  // user, as the claim is: `user_id = public.current_uid()` then admits no row.
  return targets.length === 1 && (nullWithoutUserValue(bodyOf(targets[0])['val']) || needsUserIn(bodyOf(targets[0])['val'], helpers));
}

/** `(select count(…) from … )` with no GROUP BY or HAVING: one row even over none, never NULL. */
function isCountSubselect(v: unknown): boolean {
  const n = stripCasts(v);
  if (nodeType(n) !== 'SubLink' || bodyOf(n)['subLinkType'] !== 'EXPR_SUBLINK') return false;
  const sel = bodyOf(bodyOf(n)['subselect']);
  const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
  if (targets.length !== 1 || sel['havingClause'] || (sel['op'] !== undefined && sel['op'] !== 'SETOP_NONE') || sel['limitCount'] || sel['limitOffset']) return false;
  const val = stripCasts(bodyOf(targets[0])['val']);
  return isAggregateCall(val) && funcName(bodyOf(val)) === 'count' && aggregatesToOneRow(sel);
}

function alwaysTrue(v: unknown, role: string, notNull: ReadonlySet<string> = NO_COLUMNS, values: ReadonlyMap<string, string> = NO_VALUES): boolean {
  const t = nodeType(v);
  const b = bodyOf(v);
  const cb = constBool(v);
  if (cb !== null) return cb;
  if (t === 'TypeCast') return alwaysTrue(b['arg'], role, notNull, values);
  if (t === 'BoolExpr') {
    const args = b['args'] as unknown[];
    if (b['boolop'] === 'OR_EXPR') return args.some((a) => alwaysTrue(a, role, notNull, values));
    if (b['boolop'] === 'AND_EXPR') return args.every((a) => alwaysTrue(a, role, notNull, values));
    if (b['boolop'] === 'NOT_EXPR') {
      // NOT (x IS NULL) is x IS NOT NULL.
      const inner = stripCasts(args[0]);
      if (nodeType(inner) === 'NullTest' && bodyOf(inner)['nulltesttype'] === 'IS_NULL') return alwaysTrue({ NullTest: { ...bodyOf(inner), nulltesttype: 'IS_NOT_NULL' } }, role, notNull, values);
      return constBool(args[0]) === false;
    }
  }
  if (t === 'A_Expr') {
    const op = opName(b);
    const kind = b['kind'];
    if (kind === 'AEXPR_OP' && op === '=') {
      const l = unwrap(b['lexpr']);
      const r = unwrap(b['rexpr']);
      // 1 = 1, 'a' = 'a'
      if (nodeType(l) === 'A_Const' && nodeType(r) === 'A_Const' && JSON.stringify(stripLoc(l)) === JSON.stringify(stripLoc(r))) return true;
      // auth.role() = 'authenticated' is true for every authenticated request: it checks the role, not the user.
      for (const [x, y] of [
        [l, r],
        [r, l],
      ]) {
        if (claimKey(x) === 'role' && constString(y) === role) return true;
        // A column taken to hold a value (outside a sub-select, which alwaysTrue never enters, a column is the row's).
        const held = heldValue(x, values);
        if (held !== null && constString(y) === held) return true;
      }
    }
    // `(select count(*) from admins a where a.user_id = auth.uid()) >= 0`: a count is never negative
    // nor NULL (one row even over none), so the test holds for everyone, anon included.
    if (kind === 'AEXPR_OP' && STRICT_COMPARISONS.has(op)) {
      for (const [x, y, flip] of [
        [b['lexpr'], b['rexpr'], false],
        [b['rexpr'], b['lexpr'], true],
      ] as const) {
        const c = numericConst(y);
        if (c === null || !isCountSubselect(x)) continue;
        // As `count op c`: `c <= count` is `count >= c`, and so on.
        const o = flip ? ({ '<': '>', '>': '<', '<=': '>=', '>=': '<=' } as Record<string, string>)[op] ?? op : op;
        if ((o === '>=' && c <= 0) || (o === '>' && c < 0) || ((o === '<>' || o === '!=') && (c < 0 || !Number.isInteger(c)))) return true;
      }
    }
    if (kind === 'AEXPR_IN' && claimKey(b['lexpr']) === 'role') {
      if (listItems(b['rexpr'])?.some((x) => constString(x) === role)) return true;
    }
    // bucket_id in ('a', 'b'), which pg_get_expr writes bucket_id = ANY (ARRAY['a'::text, 'b'::text]).
    const held = (kind === 'AEXPR_IN' || (kind === 'AEXPR_OP_ANY' && op === '=')) && heldValue(b['lexpr'], values);
    if (typeof held === 'string') {
      if (listItems(b['rexpr'])?.some((x) => constString(x) === held)) return true;
    }
  }
  if (t === 'NullTest' && b['nulltesttype'] === 'IS_NOT_NULL') {
    if (isCountSubselect(b['arg'])) return true;
    // Every token of the authenticated role carries a sub (GoTrue always sets it).
    const k = claimKey(b['arg']);
    if (k === 'sub' && role === 'authenticated') return true;
    if (k === 'role') return true;
    // The claims object itself (auth.jwt(), the request.jwt.claims setting): PostgREST sets it on
    // every request, with the role claim at least, so it is never NULL.
    if (isClaimsObject(b['arg'])) return true;
    // `user_id IS NOT NULL` on a NOT NULL column holds for every row. Outside a
    // sub-select (alwaysTrue never enters one) a column reference is the row's.
    const arg = unwrap(b['arg']);
    if (notNull.size > 0 && nodeType(arg) === 'ColumnRef') {
      const name = strings(bodyOf(arg)['fields']).pop();
      if (name !== undefined && notNull.has(name)) return true;
    }
  }
  return false;
}
const NO_COLUMNS: ReadonlySet<string> = new Set();
const NO_VALUES: ReadonlyMap<string, string> = new Map();

/** The value `values` gives the column `v` names (through casts), or null. */
function heldValue(v: unknown, values: ReadonlyMap<string, string>): string | null {
  if (values.size === 0) return null;
  const n = stripCasts(v);
  if (nodeType(n) !== 'ColumnRef') return null;
  const name = strings(bodyOf(n)['fields']).pop();
  return name === undefined ? null : (values.get(name) ?? null);
}

/** See ExprAnalysis.neverTrue: a constant false or NULL, through casts, AND, OR and NOT of a constant true. */
function neverTrue(v: unknown): boolean {
  const cb = constBool(v);
  if (cb !== null) return !cb;
  const n = stripCasts(v);
  const t = nodeType(n);
  const b = bodyOf(n);
  if (t === 'A_Const') return b['isnull'] === true;
  if (t === 'BoolExpr') {
    const args = b['args'] as unknown[];
    if (b['boolop'] === 'AND_EXPR') return args.some(neverTrue);
    if (b['boolop'] === 'OR_EXPR') return args.every(neverTrue);
    if (b['boolop'] === 'NOT_EXPR') return constBool(args[0]) === true;
  }
  return false;
}

function stripLoc(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (k, val) => (k === 'location' ? undefined : val)));
}

/**
 * Relations in a FROM list (through joins, not into sub-selects), by the name a
 * column reference can qualify them with → `schema.table`. An alias hides the
 * table's own name: in `from team_members tm`, `team_members.x` is the outer
 * query's row, not tm (ruleutils prints it so for a policy on team_members).
 */
function localScope(fromClause: unknown, defaultSchema: string): Map<string, string> {
  const scope = new Map<string, string>();
  const go = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(go);
    const t = nodeType(v);
    const b = bodyOf(v);
    if (t === 'RangeVar') {
      const q = qualified((b['schemaname'] as string | undefined) ?? defaultSchema, b['relname'] as string);
      const alias = (b['alias'] as { aliasname?: string } | undefined)?.aliasname;
      scope.set(alias ?? (b['relname'] as string), q);
    } else if (t === 'JoinExpr') {
      go(b['larg']);
      go(b['rarg']);
    }
  };
  go(fromClause);
  return scope;
}

type Resolve = (b: Body, nested: boolean) => { table: string; column: string } | null;

/**
 * The CallerLookups of one SELECT, by relation (only those it binds to a claim).
 * `ancestors` are the SELECT's own: under an EXISTS sub-link its target list is
 * never evaluated, so it tests nothing.
 */
function callerLookupsOf(select: Body, resolve: Resolve, ancestors: readonly Ancestor[]): Map<string, CallerLookup> {
  const bound = boundColumns(select, resolve);
  const out = new Map<string, CallerLookup>();
  if (bound.size === 0) return out;
  const parent = ancestors[ancestors.length - 1];
  const underExists = parent?.type === 'SubLink' && parent.body['subLinkType'] === 'EXISTS_SUBLINK';
  const tested = new Map<string, Set<string>>();
  const parts = Object.entries(select).filter(([k]) => k !== 'targetList' || !underExists).map(([, v]) => v);
  walk(parts, (t, b, anc) => {
    if (t !== 'ColumnRef') return;
    const r = resolve(b, anc.some((a) => a.type === 'SelectStmt'));
    if (!r || !bound.has(r.table) || bound.get(r.table)!.has(r.column)) return;
    tested.set(r.table, (tested.get(r.table) ?? new Set()).add(r.column));
  });
  for (const [table, by] of bound) out.set(table, { boundBy: [...by], tested: [...(tested.get(table) ?? [])] });
  return out;
}

/**
 * A SELECT's own relations (its FROM, by name and alias) and a resolver from a
 * ColumnRef to `{ table, column }` of one of them; an unqualified name resolves
 * only when the SELECT reads one relation, and not from a nested SELECT.
 */
function ownColumns(select: Body, defaultSchema: string): { scope: Map<string, string>; resolve: Resolve } {
  const scope = localScope(select['fromClause'], defaultSchema);
  const single = new Set(scope.values()).size === 1 ? [...scope.values()][0]! : null;
  const resolve: Resolve = (b, nested) => {
    const fields = strings(b['fields']);
    if (fields.length === 0 || nodeType((b['fields'] as unknown[])[fields.length - 1]) !== 'String') return null;
    const column = fields[fields.length - 1]!;
    if (fields.length >= 2) {
      const table = scope.get(fields[fields.length - 2]!);
      return table ? { table, column } : null;
    }
    return !nested && single ? { table: single, column } : null;
  };
  return { scope, resolve };
}

/**
 * The columns of a SELECT's own relations that its WHERE ties to the caller by
 * an AND-ed `column = <claim>` (or IS NOT DISTINCT FROM), by relation.
 */
function boundColumns(select: Body, resolve: Resolve, isCaller: (t: string, b: Body) => boolean = isClaimCall, byUser?: Set<string>): Map<string, Set<string>> {
  const bound = new Map<string, Set<string>>();
  for (const conjunct of branches(select['whereClause'], 'AND_EXPR')) {
    if (nodeType(conjunct) !== 'A_Expr') continue;
    const b = bodyOf(conjunct);
    if (!isEquality(b)) continue;
    for (const [col, other] of [
      [b['lexpr'], b['rexpr']],
      [b['rexpr'], b['lexpr']],
    ]) {
      const c = unwrap(col);
      if (nodeType(c) !== 'ColumnRef' || !(claimKey(other) || contains(other, (tt, bb) => isClaimCall(tt, bb) || isCaller(tt, bb)))) continue;
      const r = resolve(bodyOf(c), false);
      if (r) bound.set(r.table, (bound.get(r.table) ?? new Set()).add(r.column));
      // An AND-ed equality with the user's id or email (or a helper argument holding it): no row for a request without a user.
      const k = claimKey(other);
      const user =
        k !== null
          ? !ANON_CLAIMS.has(k)
          : contains(other, (tt, bb) => (tt === 'FuncCall' || tt === 'A_Expr' ? isUserClaim({ [tt]: bb }) : isCaller !== isClaimCall && (tt === 'ParamRef' || tt === 'ColumnRef') && isCaller(tt, bb)));
      if (r && user) byUser?.add(r.table);
    }
  }
  return bound;
}

/**
 * Whether one SELECT ties its caller-bound relations to its row-bound ones (see
 * DetachedCaller). Every AND-ed test of its WHERE and JOIN … ON conditions links
 * all the relations it names (generously: any shared test counts), the caller
 * when it holds a claim, and the row when `isRow` says a reference is the
 * policy's row (or a helper's argument). An unqualified name that is neither
 * gives up when the SELECT reads several relations.
 */
function detachedCallerOf(select: Body, defaultSchema: string, isRow: (b: Body, anc: readonly Ancestor[]) => boolean, base: readonly Ancestor[]): DetachedCaller | null {
  const scope = localScope(select['fromClause'], defaultSchema);
  if (scope.size < 1) return null;
  const conjuncts: unknown[] = [...branches(select['whereClause'], 'AND_EXPR')];
  const joins = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(joins);
    if (nodeType(v) !== 'JoinExpr') return;
    const b = bodyOf(v);
    if (b['quals']) conjuncts.push(...branches(b['quals'], 'AND_EXPR'));
    joins(b['larg']);
    joins(b['rarg']);
  };
  joins(select['fromClause']);
  const refs = [...scope.keys()];
  const parent = new Map<string, string>([...refs, '\0row', '\0caller'].map((n) => [n, n]));
  const find = (n: string): string => (parent.get(n) === n ? n : find(parent.get(n)!));
  const union = (a: string, b: string) => parent.set(find(a), find(b));
  const callerRefs = new Map<string, Set<string>>();
  const rowRefs = new Set<string>();
  const inner: Ancestor[] = [...base, { type: 'SelectStmt', body: select, via: 'whereClause' }];
  for (const c of conjuncts) {
    if (c === undefined) continue;
    const named = new Set<string>();
    let row = false;
    let unknown = false;
    walk(
      c,
      (t, b, anc) => {
        if (t === 'ParamRef' || (t === 'ColumnRef' && isRow(b, anc))) row = true;
        else if (t === 'ColumnRef') {
          const fields = strings(b['fields']);
          // A name defined by a nested SELECT belongs to it.
          const nested = anc.slice(inner.length).filter((a) => a.type === 'SelectStmt');
          if (fields.length >= 2 && nested.some((a) => localScope(a.body['fromClause'], defaultSchema).has(fields[fields.length - 2]!))) return;
          if (fields.length >= 2 && scope.has(fields[fields.length - 2]!)) named.add(fields[fields.length - 2]!);
          else if (fields.length === 1 && nested.length === 0) {
            if (scope.size === 1) named.add(refs[0]!);
            else unknown = true;
          }
        }
      },
      inner,
    );
    if (unknown) return null;
    const caller = contains(c, (t, b) => isClaimCall(t, b));
    const list = [...named];
    for (const n of list.slice(1)) union(list[0]!, n);
    if (list.length > 0 && row) {
      union(list[0]!, '\0row');
      for (const n of list) rowRefs.add(n);
    }
    if (row && caller) union('\0row', '\0caller');
    if (list.length > 0 && caller) {
      union(list[0]!, '\0caller');
      // `m.user_id = auth.uid()`: the column compared with the claim.
      const b = bodyOf(c);
      const cols = nodeType(c) === 'A_Expr' ? [b['lexpr'], b['rexpr']].map(unwrap).filter((x) => nodeType(x) === 'ColumnRef').map((x) => strings(bodyOf(x)['fields'])) : [];
      for (const n of list) callerRefs.set(n, callerRefs.get(n) ?? new Set());
      for (const f of cols) if (f.length >= 1 && list.includes(f.length >= 2 ? f[f.length - 2]! : refs[0]!)) callerRefs.get(f.length >= 2 ? f[f.length - 2]! : refs[0]!)!.add(f[f.length - 1]!);
    }
  }
  if (callerRefs.size === 0 || rowRefs.size === 0 || find('\0row') === find('\0caller')) return null;
  return {
    caller: [...callerRefs].map(([ref, by]) => ({ table: scope.get(ref)!, ref, boundBy: [...by] })),
    row: [...rowRefs].map((ref) => ({ table: scope.get(ref)!, ref })),
  };
}

/** Parameter names of a function from its argument list (`workspace uuid, out n int`), in order; '' for an unnamed one. */
export function parameterList(args: string): string[] {
  if (args.trim() === '') return [];
  return args.split(',').map((part) => {
    const words = part.trim().split(/\s+/).filter((w) => !/^(in|out|inout|variadic)$/i.test(w));
    // `uuid` alone is unnamed; `_user_id uuid`, `role public.app_role default …` are named.
    return words.length >= 2 && !/^default$/i.test(words[1]!) ? words[0]!.replace(/^"|"$/g, '') : '';
  });
}

function parameterNames(args: string): Set<string> {
  return new Set(parameterList(args).filter((n) => n !== ''));
}

/**
 * The detached sub-selects of a LANGUAGE sql function's body (an `is_member(ws)`
 * helper a policy calls): its arguments play the row. A body that does not
 * parse yields nothing.
 */
export function functionDetachedCallers(body: string, args: string, defaultSchema: string, parseSync: ParseSync, locals: readonly string[] = []): DetachedCaller[] {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return [];
  const params = new Set([...parameterNames(args), ...locals]);
  const isParam = (b: Body): boolean => {
    const fields = strings(b['fields']);
    return fields.length === 1 && params.has(fields[0]!);
  };
  const out: DetachedCaller[] = [];
  walk(parsed.stmts ?? [], (t, b, anc) => {
    if (t !== 'SelectStmt' || !b['fromClause']) return;
    const d = detachedCallerOf(b, defaultSchema, (cb) => isParam(cb), anc);
    if (d) out.push(d);
  });
  return out;
}

/** The schema-qualified user functions a LANGUAGE sql body calls. */
export function functionCalls(body: string, parseSync: ParseSync): string[] {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return [];
  const calls = new Set<string>();
  walk(parsed.stmts ?? [], (t, b) => {
    if (t === 'FuncCall' && isUserFunction(b)) calls.add(funcName(b));
  });
  return [...calls];
}

/**
 * The functions a body calls by a bare name (`is_org_admin(org_id)`), as `defaultSchema.name`: the
 * first schema of the function's search_path, where its unqualified relations are looked up too.
 * Built-ins (`now()`, `coalesce`) come out as names no user function has; callers keep only those that are one.
 */
export function functionBareCalls(body: string, defaultSchema: string, parseSync: ParseSync): string[] {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return [];
  const calls = new Set<string>();
  walk(parsed.stmts ?? [], (t, b) => {
    const parts = strings(b['funcname']);
    if (t === 'FuncCall' && parts.length === 1) calls.add(`${defaultSchema}.${parts[0]}`);
  });
  return [...calls];
}

/** In a required call's argColumns: the argument is the caller's id (auth.uid(), the sub claim), not a column of the row. */
export const CALLER_ARG = '\0caller';

/**
 * What a helper the policy requires (`(select private.is_org_owner(org_id))` in an INSERT check)
 * asks of the caller's existing rows, read as if its body stood in the policy of `tableName`: its
 * parameters that receive the row's columns become those columns. Only a body that is one
 * `SELECT <expression>` with no FROM is read; each EXISTS AND-ed at its top that finds a row of
 * one relation tied to the caller (`m.user_id = auth.uid()`) yields that relation, the columns
 * tied to the caller, and the columns equal to the new row's column of the same name
 * (`m.org_id = p_org`, handed org_id).
 */
export function helperRequiredCallerRows(body: string, fnName: string, args: string, argColumns: ReadonlyArray<string | null>, tableName: string, parseSync: ParseSync): Array<{ table: string; boundBy: string[]; rowEquals: string[] }> {
  let text: string | null = /^\s*RETURN\s/i.test(body) ? body.replace(/^\s*RETURN\s/i, 'select ') : body;
  for (let i = 0; i < argColumns.length && text !== null; i++) {
    const col = argColumns[i];
    if (col) text = withArgument(text, fnName, args, i, col === CALLER_ARG ? 'auth.uid()' : `${quoteIdent(tableName)}.${quoteIdent(col)}`, parseSync) ?? text;
  }
  if (text === null) return [];
  const parsed = parseFunctionBody(text, parseSync);
  const stmts = parsed?.stmts ?? [];
  if (stmts.length !== 1 || nodeType(stmts[0]!.stmt) !== 'SelectStmt') return [];
  const sel = bodyOf(stmts[0]!.stmt);
  const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
  if (targets.length !== 1 || sel['fromClause'] || sel['whereClause']) return [];
  const out: Array<{ table: string; boundBy: string[]; rowEquals: string[] }> = [];
  for (const c of branches(bodyOf(targets[0])['val'], 'AND_EXPR')) {
    if (nodeType(c) !== 'SubLink' || bodyOf(c)['subLinkType'] !== 'EXISTS_SUBLINK' || nodeType(bodyOf(c)['subselect']) !== 'SelectStmt') continue;
    const inner = bodyOf(bodyOf(c)['subselect']);
    const { scope, resolve } = ownColumns(inner, 'public');
    const tables = new Set(scope.values());
    if (tables.size !== 1 || scope.has(tableName)) continue;
    const table = [...tables][0]!;
    const boundBy = [...(boundColumns(inner, resolve).get(table) ?? [])];
    if (boundBy.length === 0) continue;
    const rowEquals: string[] = [];
    for (const w of branches(inner['whereClause'], 'AND_EXPR')) {
      if (nodeType(w) !== 'A_Expr' || opName(bodyOf(w)) !== '=' || String(bodyOf(w)['kind']) !== 'AEXPR_OP') continue;
      const sides = [stripCasts(bodyOf(w)['lexpr']), stripCasts(bodyOf(w)['rexpr'])];
      if (!sides.every((x) => nodeType(x) === 'ColumnRef')) continue;
      for (const [mine, row] of [sides, [sides[1], sides[0]]] as const) {
        const r = resolve(bodyOf(mine), false);
        const f = strings(bodyOf(row)['fields']);
        if (r && r.table === table && f.length === 2 && f[0] === tableName && f[1] === r.column) rowEquals.push(r.column);
      }
    }
    out.push({ table, boundBy, rowEquals });
  }
  return out;
}

function quoteIdent(s: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`;
}

/** Whether a body reads user_metadata the way a policy would be caught reading it: the JSON key, or auth.users.raw_user_meta_data. */
export function functionReadsUserMetadata(body: string, parseSync: ParseSync): boolean {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return false;
  return contains(parsed.stmts ?? [], (t, b) => {
    if (t === 'A_Const') {
      const str = (b['sval'] as { sval?: string } | undefined)?.sval;
      return str !== undefined && isUserMetadataString(str);
    }
    return t === 'ColumnRef' && strings(b['fields']).pop() === 'raw_user_meta_data';
  });
}

/**
 * The parameters a body takes the user from when the request carries none: a COALESCE whose
 * first argument is the user's id or email (auth.uid(), the sub claim) and a later one a
 * parameter (`coalesce(auth.uid(), p_user_id)`, meant for service-role callers). auth.uid() is
 * NULL for anon, so whoever can call the function without a user names the user it acts as.
 */
export function claimFallbacks(body: string, args: string, parseSync: ParseSync): string[] {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return [];
  const names = parameterList(args);
  const userClaim = (v: unknown) =>
    contains(v, (t, b) => {
      const k = claimKey({ [t]: b });
      return k === 'sub' || k === 'email';
    });
  const out = new Set<string>();
  walk(parsed.stmts ?? [], (t, b) => {
    if (t !== 'CoalesceExpr') return;
    const xs = (b['args'] as unknown[] | undefined) ?? [];
    if (xs.length < 2 || !userClaim(xs[0])) return;
    for (const x of xs.slice(1)) {
      const n = stripCasts(x);
      const fields = nodeType(n) === 'ColumnRef' ? strings(bodyOf(n)['fields']) : [];
      const param = nodeType(n) === 'ParamRef' ? (names[Number(bodyOf(n)['number']) - 1] || `$${String(bodyOf(n)['number'])}`) : fields.length === 1 && names.includes(fields[0]!) ? fields[0]! : null;
      if (param) out.add(param);
    }
  });
  return [...out];
}

/** What a body writes (INSERT, UPDATE, DELETE, MERGE targets) and whether it reads who calls it anywhere. */
export function functionWrites(body: string, defaultSchema: string, parseSync: ParseSync): { tables: string[]; asksCaller: boolean } | null {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return null;
  const tables = new Set<string>();
  let asksCaller = false;
  walk(parsed.stmts ?? [], (t, b) => {
    const target = b['relation'] as Body | undefined;
    if (['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'].includes(t) && target) tables.add(qualified((target['schemaname'] as string | undefined) ?? defaultSchema, target['relname'] as string));
    if (isClaimCall(t, b) || isRoleValue(t, b)) asksCaller = true;
  });
  return { tables: [...tables], asksCaller };
}

/** The relations the SELECTs of a LANGUAGE sql body read, with the columns each compares with a claim (see RowFreeBranch.reads). */
export function functionReads(body: string, defaultSchema: string, parseSync: ParseSync): Array<{ table: string; ref: string; boundBy: string[]; lookups: CallerLookup[] }> {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return [];
  const reads = new Map<string, { ref: string; boundBy: Set<string>; lookups: CallerLookup[] }>();
  walk(parsed.stmts ?? [], (t, b, anc) => {
    if (t !== 'SelectStmt') return;
    const { scope, resolve } = ownColumns(b, defaultSchema);
    for (const [ref, q] of scope) if (!reads.has(q)) reads.set(q, { ref, boundBy: new Set(), lookups: [] });
    for (const [q, l] of callerLookupsOf(b, resolve, anc)) {
      const r = reads.get(q);
      if (!r) continue;
      for (const c of l.boundBy) r.boundBy.add(c);
      r.lookups.push(l);
    }
  });
  return [...reads].map(([table, r]) => ({ table, ref: r.ref, boundBy: [...r.boundBy], lookups: r.lookups }));
}

/**
 * The caller facts of one sub-select (see ExprAnalysis.callerFacts): tables of
 * its FROM tied to the caller by an AND-ed `column = <claim>` in its WHERE, and
 * the other columns of those tables it reads anywhere inside it.
 */
function callerFactsOf(select: Body, defaultSchema = 'public', isCaller?: (t: string, b: Body) => boolean, params: ReadonlySet<string> = new Set(), keys?: RowKeys): CallerFact[] {
  const { scope, resolve } = ownColumns(select, defaultSchema);
  if (scope.size === 0) return [];
  const byUser = new Set<string>();
  const bound = boundColumns(select, resolve, isCaller, byUser);
  if (bound.size === 0) return [];
  const compared = new Map<string, CallerFact['compared']>();
  const record = (col: unknown, to: Comparand | null) => {
    const c = unwrap(col);
    const r = nodeType(c) === 'ColumnRef' ? resolve(bodyOf(c), false) : null;
    if (r && to !== null && bound.has(r.table)) compared.set(r.table, [...(compared.get(r.table) ?? []), { column: r.column, to }]);
  };
  /** A value: the row's column or a parameter (as `keys` says), a constant, a column of another relation of this SELECT, or a one-relation sub-select's one column. */
  const comparand = (v: unknown, side: (v: unknown) => 'row' | number | null): Comparand | null => {
    const mine = side(v);
    if (mine !== null) return mine;
    const n = stripCasts(v);
    if (nodeType(n) === 'A_Const') return 'constant';
    // A column outside the sub-select is no relation of its own.
    if (nodeType(n) === 'ColumnRef') {
      const r = side === keys?.inWhere ? resolve(bodyOf(n), false) : null;
      return r && !bound.has(r.table) ? r : null;
    }
    return nodeType(n) === 'SubLink' && bodyOf(n)['subLinkType'] === 'EXPR_SUBLINK' ? selected(bodyOf(n)['subselect'], defaultSchema) : null;
  };
  if (keys) {
    for (const conjunct of branches(select['whereClause'], 'AND_EXPR')) {
      const b = bodyOf(conjunct);
      if (nodeType(conjunct) === 'A_Expr' && isEquality(b)) {
        record(b['lexpr'], comparand(b['rexpr'], keys.inWhere));
        record(b['rexpr'], comparand(b['lexpr'], keys.inWhere));
      } else if (nodeType(conjunct) === 'A_Expr' && String(b['kind']) === 'AEXPR_IN' && opName(b) === '=') {
        const list = listItems(b['rexpr']) ?? [];
        if (list.length > 0 && list.every((x) => nodeType(stripCasts(x)) === 'A_Const')) record(b['lexpr'], 'constant');
      } else if (nodeType(conjunct) === 'SubLink' && b['subLinkType'] === 'ANY_SUBLINK' && [undefined, '='].includes(strings(b['operName']).pop())) {
        record(b['testexpr'], selected(b['subselect'], defaultSchema));
      }
    }
    const sublink = keys.sublink;
    const oper = sublink ? strings(sublink['operName']).pop() : undefined;
    const targets = (select['targetList'] as unknown[] | undefined) ?? [];
    const target = targets.length === 1 ? bodyOf(targets[0])['val'] : undefined;
    if (sublink?.['subLinkType'] === 'ANY_SUBLINK' && (oper === undefined || oper === '=')) record(target, comparand(sublink['testexpr'], keys.outside));
    // A scalar sub-select compared with something: `(select p.invite_code from profiles p where …) = 'VIP'`.
    if (sublink?.['subLinkType'] === 'EXPR_SUBLINK' && keys.partner !== undefined) record(target, comparand(keys.partner, keys.outside));
  }
  const read = new Map<string, Set<string>>();
  walk({ SelectStmt: select }, (t, b, anc) => {
    if (t !== 'ColumnRef') return;
    // A helper's parameter (`where gm.gym_id = _gym_id`) is no column of the table.
    const fields = strings(b['fields']);
    if (fields.length === 1 && params.has(fields[0]!)) return;
    const nested = anc.filter((a) => a.type === 'SelectStmt').length > 1;
    const r = resolve(b, nested);
    if (!r || !bound.has(r.table) || bound.get(r.table)!.has(r.column)) return;
    read.set(r.table, (read.get(r.table) ?? new Set()).add(r.column));
  });
  // A table read for no column of its own (`exists (select 1 from staff s where s.user_id = auth.uid())`) is a fact too: the row's existence decides.
  return [...bound].map(([table, by]) => ({ table, boundBy: [...by], byUser: byUser.has(table), columns: [...(read.get(table) ?? [])], compared: compared.get(table) ?? [] }));
}

/**
 * How to read what a sub-select's columns are compared with (see CallerFact.compared): whether a value
 * is the row's column or a parameter, `inWhere` for a side in its WHERE, `outside` for one outside it
 * — the test of `x IN (select …)` (`sublink`), or the other side of a comparison the sub-select
 * stands in as a scalar (`partner`).
 */
interface RowKeys {
  sublink?: Body;
  partner?: unknown;
  inWhere(v: unknown): 'row' | number | null;
  outside(v: unknown): 'row' | number | null;
}

/** The relation and column a one-relation SELECT returns as its one column (`select code from invites`), or null. */
function selected(v: unknown, defaultSchema = 'public'): { table: string; column: string } | null {
  if (nodeType(v) !== 'SelectStmt') return null;
  const sel = bodyOf(v);
  const targets = (sel['targetList'] as unknown[] | undefined) ?? [];
  const t = targets.length === 1 ? stripCasts(bodyOf(targets[0])['val']) : null;
  return nodeType(t) === 'ColumnRef' ? ownColumns(sel, defaultSchema).resolve(bodyOf(t), false) : null;
}

/** The other side of the `=` comparison a node (a scalar sub-select) stands on one side of, reading its ancestors; undefined when it stands in none. */
function comparisonPartner(anc: readonly Ancestor[]): unknown {
  let i = anc.length - 1;
  while (i >= 0 && anc[i]!.type === 'TypeCast') i--;
  const a = anc[i];
  if (!a || a.type !== 'A_Expr' || !isEquality(a.body)) return undefined;
  return a.via === 'lexpr' ? a.body['rexpr'] : a.via === 'rexpr' ? a.body['lexpr'] : undefined;
}

/**
 * The caller facts of a LANGUAGE sql function's body (an `is_admin()` helper a
 * policy calls): its SELECTs and their sub-selects. Unqualified relations are
 * taken from `defaultSchema` (the first schema of the function's search_path).
 * A body that does not parse, or a RETURN / BEGIN ATOMIC form, yields what it can.
 */
export function functionCallerFacts(body: string, defaultSchema: string, parseSync: ParseSync, callerArgs?: { args: string; positions: readonly number[]; locals?: readonly string[] }): CallerFact[] {
  // callerArgs.args also names the parameters, which are no columns of the tables read.
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return [];
  // Arguments the policy fills with the caller's id (`has_role(auth.uid(), 'admin')`): by name or $n.
  let isCaller: ((t: string, b: Body) => boolean) | undefined;
  if (callerArgs && callerArgs.positions.length > 0) {
    const names = parameterList(callerArgs.args);
    const byName = new Set(callerArgs.positions.map((i) => names[i]).filter((n): n is string => !!n));
    const byNumber = new Set(callerArgs.positions.map((i) => i + 1));
    isCaller = (t, b) => {
      if (t === 'ParamRef') return byNumber.has(Number(b['number']));
      if (t !== 'ColumnRef') return false;
      const fields = strings(b['fields']);
      return fields.length === 1 && byName.has(fields[0]!);
    };
  }
  const params = new Set([...parameterNames(callerArgs?.args ?? ''), ...(callerArgs?.locals ?? [])]);
  // A side that is one parameter (by name or $n): its position, which the policy's call fills.
  const names = parameterList(callerArgs?.args ?? '');
  const position = (v: unknown): number | null => {
    const c = unwrap(v);
    if (nodeType(c) === 'ParamRef') return Number(bodyOf(c)['number']) - 1;
    const fields = nodeType(c) === 'ColumnRef' ? strings(bodyOf(c)['fields']) : [];
    const i = fields.length === 1 ? names.indexOf(fields[0]!) : -1;
    return i >= 0 ? i : null;
  };
  const facts: CallerFact[] = [];
  walk(parsed.stmts ?? [], (t, b, anc) => {
    if (t !== 'SelectStmt') return;
    const parent = anc[anc.length - 1];
    const sublink = parent?.type === 'SubLink' && parent.via === 'subselect' ? parent.body : undefined;
    const partner = sublink ? comparisonPartner(anc.slice(0, -1)) : undefined;
    facts.push(...callerFactsOf(b, defaultSchema, isCaller, params, { sublink, partner, inWhere: position, outside: position }));
  });
  return facts;
}

/**
 * `x = 'a'`, `'a' = x`, `x IN ('a', 'b')` and `x = ANY (ARRAY['a', 'b'])` (how
 * Postgres stores IN): the side compared with constants and the constants.
 */
function fixedAddresses(b: Body): { email: unknown; via: string; text: string } | null {
  const kind = String(b['kind']);
  const sides: Array<[unknown, unknown, string]> = [
    [b['lexpr'], b['rexpr'], 'lexpr'],
    [b['rexpr'], b['lexpr'], 'rexpr'],
  ];
  let values: unknown[] | null = null;
  for (const [x, y, via] of sides) {
    if ((kind === 'AEXPR_OP' && opName(b) === '=') || kind === 'AEXPR_NOT_DISTINCT') values = [y];
    else if (kind === 'AEXPR_IN' && via === 'lexpr' && Array.isArray(y)) values = y;
    else if (kind === 'AEXPR_OP_ANY' && opName(b) === '=' && via === 'lexpr') {
      const arr = stripCasts(y);
      values = nodeType(arr) === 'A_ArrayExpr' ? ((bodyOf(arr)['elements'] as unknown[] | undefined) ?? []) : null;
    } else values = null;
    if (!values || values.length === 0) continue;
    const texts = values.map((v) => constString(v));
    if (texts.some((v) => v === null || !/^[^@\s]+@[^@\s]+$/.test(v))) continue;
    // The address itself, not a function of it (right(email, 9) = '@corp.com' is a pattern).
    const e = unwrap(x);
    if (claimKey(e) !== 'email' && nodeType(e) !== 'ColumnRef') continue;
    return { email: x, via, text: texts.map((v) => `'${v}'`).join(', ') };
  }
  return null;
}

/** Operators whose value is fixed when both sides are the same non-NULL value. */
const SELF_COMPARISON: Readonly<Record<string, boolean>> = { '=': true, '<=': true, '>=': true, '<>': false, '!=': false, '<': false, '>': false };
/** Functions that give another value on each call, so `f() = f()` is no self-comparison. */
const VOLATILE = new Set(['random', 'random_normal', 'clock_timestamp', 'timeofday', 'nextval', 'gen_random_uuid', 'uuid_generate_v4', 'uuidv4', 'uuidv7', 'txid_current']);


/** `x op x` for a comparison of an expression (with a column in it) with itself, else null. */
function selfComparison(t: string, b: Body, ancestors: readonly Ancestor[]): SelfComparison | null {
  if (t !== 'A_Expr') return null;
  const kind = String(b['kind']);
  let always: boolean | undefined;
  let op = opName(b);
  if (kind === 'AEXPR_OP') always = SELF_COMPARISON[op];
  else if (kind === 'AEXPR_NOT_DISTINCT') [always, op] = [true, 'IS NOT DISTINCT FROM'];
  else if (kind === 'AEXPR_DISTINCT') [always, op] = [false, 'IS DISTINCT FROM'];
  if (always === undefined) return null;
  const l = stripCasts(b['lexpr']);
  const r = stripCasts(b['rexpr']);
  // Cheap test first: most comparisons put a column against a claim or a constant.
  if (nodeType(l) !== nodeType(r) || (nodeType(l) === 'ColumnRef' && JSON.stringify(bodyOf(l)['fields']) !== JSON.stringify(bodyOf(r)['fields']))) return null;
  if (!contains(l, (tt) => tt === 'ColumnRef') || contains(l, (tt, bb) => tt === 'FuncCall' && VOLATILE.has(funcName(bb)))) return null;
  if (JSON.stringify(stripLoc(l)) !== JSON.stringify(stripLoc(r))) return null;
  const side = nodeType(l) === 'ColumnRef' ? strings(bodyOf(l)['fields']).join('.') : describe(l);
  return { text: `${side} ${op} ${side}`, always, inSubselect: insideSubselect(ancestors) };
}

/**
 * `x = ALL (…)` comparing the caller with an array that may be empty, or a
 * sub-select that may find no row, outside any NOT: described as written
 * (`auth.uid() = ALL (editors)`), else null. ALL over nothing is true whatever
 * x is, NULL included. An `ARRAY[a, …]` or `'{x}'` literal is never empty, nor is
 * a sub-select without FROM and WHERE or one that aggregates to one row.
 */
function vacuousAllTest(t: string, b: Body, anc: readonly Ancestor[], callerDependent: (t: string, b: Body) => boolean): string | null {
  if (anc.some((a) => a.type === 'BoolExpr' && a.body['boolop'] === 'NOT_EXPR')) return null;
  if (t === 'A_Expr') {
    if (String(b['kind']) !== 'AEXPR_OP_ALL' || opName(b) !== '=' || nonEmptyArray(b['rexpr'])) return null;
    if (!contains(b['lexpr'], callerDependent) && !contains(b['rexpr'], callerDependent)) return null;
    const r = stripCasts(b['rexpr']);
    return `${describe(b['lexpr'])} = ALL (${nodeType(r) === 'ColumnRef' ? strings(bodyOf(r)['fields']).join('.') : 'an array'})`;
  }
  if (b['subLinkType'] !== 'ALL_SUBLINK' || strings(b['operName']).pop() !== '=') return null;
  const sel = bodyOf(b['subselect']);
  if ((!sel['fromClause'] && !sel['whereClause']) || (aggregatesToOneRow(sel) && !sel['havingClause'])) return null;
  if (!contains(b['testexpr'], callerDependent) && !contains(b['subselect'], callerDependent)) return null;
  return `${describe(b['testexpr'])} = ALL (select …)`;
}

/** Analyse one expression of a policy on table `tableName`. */
/**
 * The source text of the call whose name starts at byte `loc` of `src`: its name
 * through the parenthesis that closes its argument list (quoted strings and
 * identifiers skipped), or null when it cannot be found.
 */
function callSource(src: string, loc: unknown): string | null {
  if (typeof loc !== 'number' || loc < 0) return null;
  const start = Buffer.from(src, 'utf8').subarray(0, loc).toString('utf8').length;
  let depth = 0;
  for (let i = src.indexOf('(', start); i >= 0 && i < src.length; i++) {
    const c = src[i];
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < src.length && !(src[j] === c && src[j + 1] !== c)) j += src[j] === c ? 2 : 1;
      i = j;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return src.slice(start, i + 1);
  }
  return null;
}

/**
 * NULL (not false) for a request without a user: a comparison that NULL makes NULL, with the
 * caller's id or email (or a strict built-in of it) on one side, or its NOT.
 */
function nullOnlyWithoutUser(v: unknown): boolean {
  const n = stripCasts(v);
  const b = bodyOf(n);
  if (nodeType(n) === 'BoolExpr' && b['boolop'] === 'NOT_EXPR') return nullOnlyWithoutUser(((b['args'] as unknown[] | undefined) ?? [])[0]);
  if (nodeType(n) !== 'A_Expr' || String(b['kind']) !== 'AEXPR_OP' || !STRICT_COMPARISONS.has(opName(b))) return false;
  return nullWithoutUserValue(b['lexpr']) || nullWithoutUserValue(b['rexpr']);
}

/** A comparison as `user_id = auth.uid()` (each side as describe() gives it), or its NOT. */
function describeComparison(v: unknown): string {
  const n = stripCasts(v);
  const b = bodyOf(n);
  if (nodeType(n) === 'BoolExpr' && b['boolop'] === 'NOT_EXPR') return `NOT (${describeComparison(((b['args'] as unknown[] | undefined) ?? [])[0])})`;
  return nodeType(n) === 'A_Expr' ? `${describe(b['lexpr'])} ${opName(b)} ${describe(b['rexpr'])}` : describe(n);
}

/** The BooleanTest kinds that are true of NULL: `x IS NOT FALSE`, `x IS NOT TRUE`, `x IS UNKNOWN`. */
const TRUE_OF_NULL = new Map([
  ['IS_NOT_FALSE', 'IS NOT FALSE'],
  ['IS_NOT_TRUE', 'IS NOT TRUE'],
  ['IS_UNKNOWN', 'IS UNKNOWN'],
]);

/**
 * A top-level OR branch of `root` that is true for a request without a user (see
 * ExprAnalysis.anonymousBranch), described; `rowColumnOf` names a column of the row (a
 * parameter, in a helper's body) or gives null.
 */
function anonymousBranchIn(root: unknown, rowColumnOf: (v: unknown) => string | null): string | null {
  let anonymousBranch: string | null = null;
  const ors = branches(root, 'OR_EXPR');
  if (ors.length > 1) {
    for (const br of ors) {
      const arg = isNullArg(br);
      if (arg === undefined) continue;
      const k = claimKey(arg);
      if (k === 'sub' || k === 'email' || k === 'role' || readsClaims(arg)) {
        anonymousBranch = `${describe(arg)} IS NULL`;
        break;
      }
    }
  }
  // `(user_id = auth.uid()) IS NOT FALSE`: without a user the comparison is NULL, which IS NOT FALSE
  // (IS NOT TRUE, IS UNKNOWN) turns into true, as COALESCE(…, true) does.
  if (anonymousBranch === null) {
    for (const br of ors) {
      const n = stripCasts(br);
      const kind = TRUE_OF_NULL.get(String(bodyOf(n)['booltesttype']));
      if (nodeType(n) === 'BooleanTest' && kind !== undefined && nullOnlyWithoutUser(bodyOf(n)['arg'])) {
        anonymousBranch = `(${describeComparison(bodyOf(n)['arg'])}) ${kind}`;
        break;
      }
    }
  }
  // A fallback for a request without a user that makes the test true: the user's id (or email) is
  // NULL for anon, so `user_id = coalesce(auth.uid(), user_id)` compares the row's column with
  // itself and `coalesce(auth.uid() = user_id, true)` is true.
  if (anonymousBranch === null) {
    const userClaim = (v: unknown) =>
      contains(v, (t, b) => {
        const k = claimKey({ [t]: b });
        return k === 'sub' || k === 'email';
      });
    const coalesceArgs = (v: unknown): unknown[] | null => {
      const n = stripCasts(v);
      return nodeType(n) === 'CoalesceExpr' ? ((bodyOf(n)['args'] as unknown[] | undefined) ?? []) : null;
    };
    for (const br of ors) {
      const whole = coalesceArgs(br);
      if (whole && whole.length >= 2 && userClaim(whole[0]) && constBool(whole[whole.length - 1]) === true) {
        let claim = 'the user';
        walk(whole[0], (t, b) => {
          const k = claimKey({ [t]: b });
          if (claim === 'the user' && (k === 'sub' || k === 'email')) claim = describe({ [t]: b });
        });
        anonymousBranch = `COALESCE(<a test of ${claim}>, true)`;
        break;
      }
      // `=`, or IS NOT DISTINCT FROM (ruleutils prints it as NOT (a IS DISTINCT FROM b)).
      let cmp = br;
      let op = '=';
      if (nodeType(br) === 'BoolExpr' && bodyOf(br)['boolop'] === 'NOT_EXPR') {
        cmp = ((bodyOf(br)['args'] as unknown[] | undefined) ?? [])[0];
        if (nodeType(cmp) !== 'A_Expr' || String(bodyOf(cmp)['kind']) !== 'AEXPR_DISTINCT') continue;
        op = 'IS NOT DISTINCT FROM';
      } else if (nodeType(br) !== 'A_Expr') continue;
      const b = bodyOf(cmp);
      const kind = String(b['kind']);
      if (!((opName(b) === '=' && kind === 'AEXPR_OP') || kind === 'AEXPR_NOT_DISTINCT' || (op !== '=' && kind === 'AEXPR_DISTINCT'))) continue;
      if (kind === 'AEXPR_NOT_DISTINCT') op = 'IS NOT DISTINCT FROM';
      for (const [col, other] of [[b['lexpr'], b['rexpr']], [b['rexpr'], b['lexpr']]]) {
        const name = rowColumnOf(col);
        const args = coalesceArgs(other);
        if (name !== null && args !== null && args.length >= 2 && userClaim(args[0]) && args.slice(1).some((x) => rowColumnOf(x) === name)) {
          anonymousBranch = `${name} ${op} COALESCE(${describe(args[0])}, ${name})`;
          break;
        }
      }
      if (anonymousBranch !== null) break;
    }
  }
  return anonymousBranch;
}

/** What `x IS NULL` (or its inversion `NOT (x IS NOT NULL)`) tests, x; undefined for anything else. */
function isNullArg(v: unknown): unknown {
  if (nodeType(v) === 'BoolExpr' && bodyOf(v)['boolop'] === 'NOT_EXPR') {
    const inner = (bodyOf(v)['args'] as unknown[])[0];
    return nodeType(inner) === 'NullTest' && bodyOf(inner)['nulltesttype'] === 'IS_NOT_NULL' ? bodyOf(inner)['arg'] : undefined;
  }
  return nodeType(v) === 'NullTest' && bodyOf(v)['nulltesttype'] === 'IS_NULL' ? bodyOf(v)['arg'] : undefined;
}

/** The first of `ors` that is true when a `current_setting('request.jwt.claim.<x>', …)` is NULL (see ExprAnalysis.legacyClaimBranch), described. */
function legacyClaimBranchIn(ors: readonly unknown[]): string | null {
  const legacy = (v: unknown): string | null => {
    let arg = unwrap(v);
    // nullif(current_setting(…), '') is NULL when the setting is.
    if (nodeType(arg) === 'A_Expr' && String(bodyOf(arg)['kind']) === 'AEXPR_NULLIF') arg = unwrap(bodyOf(arg)['lexpr']);
    if (nodeType(arg) !== 'FuncCall' || funcName(bodyOf(arg)) !== 'current_setting') return null;
    const name = constString((bodyOf(arg)['args'] as unknown[] | undefined)?.[0]);
    return name !== null && /^request\.jwt\.claim\../.test(name) ? name : null;
  };
  for (const br of ors) {
    // coalesce(current_setting('request.jwt.claim.sub', true), '') = '': the fallback compared with itself.
    if (nodeType(br) === 'A_Expr' && String(bodyOf(br)['kind']) === 'AEXPR_OP' && opName(bodyOf(br)) === '=') {
      const b = bodyOf(br);
      for (const [x, y] of [[b['lexpr'], b['rexpr']], [b['rexpr'], b['lexpr']]]) {
        const n = stripCasts(x);
        const args = nodeType(n) === 'CoalesceExpr' ? ((bodyOf(n)['args'] as unknown[] | undefined) ?? []) : [];
        const name = args.length === 2 ? legacy(args[0]) : null;
        const k = constString(y);
        if (name !== null && k !== null && constString(args[1]) === k) return `COALESCE(current_setting('${name}'), '${k}') = '${k}'`;
      }
    }
    const arg = isNullArg(br);
    const name = arg === undefined ? null : legacy(arg);
    if (name !== null) return `current_setting('${name}') IS NULL`;
  }
  return null;
}

/**
 * The OR branches of `ors` that match a NULL column of the row for a request without a user (see
 * ExprAnalysis.nullOwnerBranches); `rowColumnOf` names a column of the row or gives null.
 */
function nullOwnerBranchesIn(ors: readonly unknown[], rowColumnOf: (v: unknown) => string | null): Array<{ column: string; text: string }> {
  const userClaim = (v: unknown) => {
    const k = claimKey(v);
    return k === 'sub' || k === 'email';
  };
  const coalesced = (v: unknown): [unknown, unknown] | null => {
    const n = stripCasts(v);
    const args = nodeType(n) === 'CoalesceExpr' ? ((bodyOf(n)['args'] as unknown[] | undefined) ?? []) : [];
    return args.length === 2 ? [args[0], args[1]] : null;
  };
  const out: Array<{ column: string; text: string }> = [];
  for (const br of ors) {
    // IS NOT DISTINCT FROM, which ruleutils prints as NOT (a IS DISTINCT FROM b).
    let cmp = br;
    let negated = false;
    if (nodeType(br) === 'BoolExpr' && bodyOf(br)['boolop'] === 'NOT_EXPR') {
      cmp = ((bodyOf(br)['args'] as unknown[] | undefined) ?? [])[0];
      negated = true;
    }
    if (nodeType(cmp) !== 'A_Expr') continue;
    const b = bodyOf(cmp);
    const kind = String(b['kind']);
    const nullSafe = negated ? kind === 'AEXPR_DISTINCT' : kind === 'AEXPR_NOT_DISTINCT';
    const equals = !negated && kind === 'AEXPR_OP' && opName(b) === '=';
    if (!nullSafe && !equals) continue;
    for (const [x, y] of [[b['lexpr'], b['rexpr']], [b['rexpr'], b['lexpr']]]) {
      const column = rowColumnOf(x);
      if (nullSafe && column !== null && userClaim(y)) {
        out.push({ column, text: `${column} IS NOT DISTINCT FROM ${describe(y)}` });
        break;
      }
      // coalesce(user_id, K) = coalesce(auth.uid(), K): both sides K without a user and a NULL owner.
      const [cx, cy] = [coalesced(x), coalesced(y)];
      const k = cx && cy ? constString(cx[1]) : null;
      const col = cx ? rowColumnOf(cx[0]) : null;
      if (cx && cy && col !== null && userClaim(cy[0]) && k !== null && k === constString(cy[1])) {
        out.push({ column: col, text: `COALESCE(${col}, '${k}') ${nullSafe ? 'IS NOT DISTINCT FROM' : '='} COALESCE(${describe(cy[0])}, '${k}')` });
        break;
      }
    }
  }
  return out;
}

export function analyseExpression(text: string, tableName: string, parseSync: ParseSync): ExprAnalysis {
  const src = `select ${text}`;
  const parsed = parseSync(src) as { stmts: Array<{ stmt: unknown }> };
  const select = bodyOf(parsed.stmts[0]!.stmt);
  const root = bodyOf((select['targetList'] as unknown[])[0])['val'];

  const isRowColumn = (b: Body, anc: readonly Ancestor[]): boolean => {
    const fields = strings(b['fields']);
    if (!insideSubselect(anc)) return fields.length === 1 || fields[fields.length - 2] === tableName;
    if (fields.length < 2) return false;
    return fields[fields.length - 2] === tableName && !scopeOf(anc).has(tableName);
  };

  const correlated = (sublink: Body): boolean =>
    contains(sublink['subselect'], (t, b, anc) => t === 'ColumnRef' && isRowColumn(b, anc), [{ type: 'SubLink', body: sublink, via: 'subselect' }]);

  /**
   * A correlated EXISTS the planner still runs once per statement: a plain SELECT
   * whose only references to the row are AND-ed `<its column> = <row column>`
   * tests in its WHERE. Postgres (subselect.c, convert_EXISTS_to_ANY) then also
   * plans it as `row column = ANY (hashed SubPlan)`, one scan of the sub-select
   * per statement, and picks that alternative by cost: it wins whenever the
   * policy is checked on more than a handful of rows (measured in
   * test/lint/performance-postgres.test.ts).
   */
  const hashableExists = (sublink: Body): boolean => {
    if (sublink['subLinkType'] !== 'EXISTS_SUBLINK' || nodeType(sublink['subselect']) !== 'SelectStmt') return false;
    const sel = bodyOf(sublink['subselect']);
    if ((sel['op'] !== undefined && sel['op'] !== 'SETOP_NONE') || !sel['fromClause']) return false;
    for (const k of ['withClause', 'groupClause', 'havingClause', 'limitOffset', 'windowClause', 'distinctClause', 'lockingClause', 'valuesLists']) if (sel[k]) return false;
    // EXISTS (… LIMIT 1): a constant positive LIMIT is dropped (simplify_EXISTS_query).
    if (sel['limitCount'] && !(nodeType(sel['limitCount']) === 'A_Const' && Number((bodyOf(sel['limitCount'])['ival'] as { ival?: number } | undefined)?.ival ?? 0) > 0)) return false;
    const base: Ancestor[] = [
      { type: 'SubLink', body: sublink, via: 'subselect' },
      { type: 'SelectStmt', body: sel, via: 'whereClause' },
    ];
    const refersToRow = (v: unknown, at: Ancestor[] = base): boolean => contains(v, (t, b, anc) => t === 'ColumnRef' && isRowColumn(b, anc), at);
    // A reference to the row in a join condition or a LATERAL item keeps it per row.
    if (refersToRow(sel['fromClause'], [base[0]!, { type: 'SelectStmt', body: sel, via: 'fromClause' }])) return false;
    for (const conjunct of branches(sel['whereClause'], 'AND_EXPR')) {
      if (!refersToRow(conjunct)) continue;
      if (nodeType(conjunct) !== 'A_Expr') return false;
      const b = bodyOf(conjunct);
      if (String(b['kind']) !== 'AEXPR_OP' || opName(b) !== '=') return false;
      const at: Ancestor[] = [...base, { type: 'A_Expr', body: b, via: 'lexpr' }];
      const isRowSide = (v: unknown) => {
        const c = stripCasts(v);
        return nodeType(c) === 'ColumnRef' && isRowColumn(bodyOf(c), at);
      };
      const inner = isRowSide(b['lexpr']) ? b['rexpr'] : isRowSide(b['rexpr']) ? b['lexpr'] : null;
      if (inner === null || refersToRow(inner, at) || contains(inner, (t) => t === 'SubLink') || !contains(inner, (t) => t === 'ColumnRef')) return false;
    }
    return true;
  };
  /** Runs once per statement: it does not refer to the row, or it is an EXISTS the planner hashes. */
  const oncePerStatement = (sublink: Body): boolean => !correlated(sublink) || hashableExists(sublink);
  const perRowLookups: PerRowLookup[] = [];
  const SUBLINK_FORMS: Record<string, Extract<PerRowLookup, { kind: 'subselect' }>['form']> = {
    EXISTS_SUBLINK: 'EXISTS',
    ANY_SUBLINK: 'IN',
    ALL_SUBLINK: 'ALL',
    EXPR_SUBLINK: 'scalar',
    ARRAY_SUBLINK: 'ARRAY',
    ROWCOMPARE_SUBLINK: 'row comparison',
  };

  const perRowCalls: string[] = [];
  const perRowCallSites: Array<{ call: string; indexColumn: string | null }> = [];
  /** Claim calls in the value of a top-level `column = value` conjunct, by call node → the column. */
  const indexable = new Map<Body, string>();
  for (const conjunct of branches(root, 'AND_EXPR')) {
    if (nodeType(conjunct) !== 'A_Expr') continue;
    const b = bodyOf(conjunct);
    if (String(b['kind']) !== 'AEXPR_OP' || opName(b) !== '=') continue;
    for (const [col, value] of [
      [b['lexpr'], b['rexpr']],
      [b['rexpr'], b['lexpr']],
    ]) {
      // The column bare (a cast on it keeps an index on the column from matching).
      if (nodeType(col) !== 'ColumnRef' || !isRowColumn(bodyOf(col), [])) continue;
      if (contains(value, (t) => t === 'ColumnRef' || t === 'SubLink')) continue;
      walk(value, (t, fb) => isClaimCall(t, fb) && indexable.set(fb, strings(bodyOf(col)['fields']).pop()!));
    }
  }
  /** Calls that are a top-level conjunct themselves (`owns(user_id) and …`): an inlined body can be an index condition there. */
  const conjunctCalls = new Set(branches(root, 'AND_EXPR').filter((c) => nodeType(c) === 'FuncCall').map((c) => bodyOf(c)));
  const emailPatterns: string[] = [];
  const claimColumns: ClaimColumn[] = [];
  const rowColumns = new Set<string>();
  const assertedColumns = new Set<string>();
  const calls = new Set<string>();
  const callerArgs: Record<string, number[]> = {};
  const constArgs: Record<string, number[]> = {};
  const callerFacts: CallerFact[] = [];
  const linkFacts: LinkFact[] = [];
  let linkGroups = 0;
  const detachedCallers: DetachedCaller[] = [];

  /**
   * The links of one sub-select: `row_col IN (select j.col …)` and AND-ed
   * `j.col = <table>.row_col` in its WHERE, for its own relations that its
   * WHERE does not tie to the caller (those are callerFacts).
   */
  const linkFactsOf = (select: Body, sublink: Body, anc: readonly Ancestor[]): LinkFact[] => {
    const { scope, resolve } = ownColumns(select, 'public');
    if (scope.size === 0) return [];
    const bound = boundColumns(select, resolve);
    const inner: Ancestor[] = [...anc, { type: 'SelectStmt', body: select, via: 'whereClause' }];
    const rowColumnOf = (v: unknown, at: readonly Ancestor[]): string | null => {
      const c = unwrap(v);
      return nodeType(c) === 'ColumnRef' && isRowColumn(bodyOf(c), at) ? strings(bodyOf(c)['fields']).pop()! : null;
    };
    const out: LinkFact[] = [];
    const group = linkGroups++;
    const add = (j: { table: string; column: string } | null, rowColumn: string | null) => {
      if (j && rowColumn && !bound.has(j.table)) out.push({ table: j.table, column: j.column, rowColumn, group });
    };
    // Under NOT the link denies (`id not in (select blocked_id …)`): creating one hides rows, it reveals none.
    if (anc.some((a) => a.type === 'BoolExpr' && a.body['boolop'] === 'NOT_EXPR')) return [];
    const oper = strings(sublink['operName']).pop();
    if (sublink['subLinkType'] === 'ANY_SUBLINK' && (oper === undefined || oper === '=')) {
      const targets = (select['targetList'] as unknown[] | undefined) ?? [];
      const target = targets.length === 1 ? unwrap(bodyOf(targets[0])['val']) : null;
      // The IN test stands outside the sub-select: judge it with the SubLink's own ancestors.
      if (nodeType(target) === 'ColumnRef') add(resolve(bodyOf(target), false), rowColumnOf(sublink['testexpr'], anc.slice(0, -1)));
    }
    for (const conjunct of branches(select['whereClause'], 'AND_EXPR')) {
      if (nodeType(conjunct) !== 'A_Expr') continue;
      const b = bodyOf(conjunct);
      if (!isEquality(b)) continue;
      for (const [mine, theirs] of [
        [b['lexpr'], b['rexpr']],
        [b['rexpr'], b['lexpr']],
      ]) {
        const c = unwrap(mine);
        if (nodeType(c) === 'ColumnRef') add(resolve(bodyOf(c), false), rowColumnOf(theirs, inner));
      }
    }
    return out;
  };
  const selfComparisons: SelfComparison[] = [];
  const vacuousAll: string[] = [];
  const roleColumns: Array<{ column: string; fn: string }> = [];
  let readsUserMetadata = false;
  let bindsCaller = false;
  const callerColumns = new Set<string>();
  const tying = new Set<Body>();
  // The row columns each tying node (outside any NOT) ties, for pinnedColumns.
  const tiedBy = new Map<Body, string[]>();

  // A header the client sends is no caller (see isClientValue).
  const callerDependent = (t: string, b: Body): boolean => (isClaimCall(t, b) && !isClientValue(t, b)) || isRoleValue(t, b) || (t === 'FuncCall' && isUserFunction(b));

  walk(root, (t, b, anc) => {
    if (isClaimCall(t, b)) {
      // Once per statement when some enclosing sub-select does not depend on the row
      // (an initPlan, or a hashed/materialised SubPlan); per row otherwise.
      const once = anc.some((a) => a.type === 'SubLink' && a.via === 'subselect' && oncePerStatement(a.body));
      // Named as written, arguments included, so the fix reads as SQL: (select current_setting('x', true)).
      if (!once) {
        const call = callSource(src, b['location']) ?? `${funcName(b)}()`;
        perRowCalls.push(call);
        perRowCallSites.push({ call, indexColumn: indexable.get(b) ?? null });
      }
    }
    if (t === 'A_Const') {
      const s = (b['sval'] as { sval?: string } | undefined)?.sval;
      if (s !== undefined && isUserMetadataString(s)) readsUserMetadata = true;
    }
    if (t === 'ColumnRef') {
      const last = strings(b['fields']).pop();
      if (last === 'raw_user_meta_data') readsUserMetadata = true;
      if (last !== undefined && isRowColumn(b, anc)) {
        rowColumns.add(last);
        if (!anc.some((x) => x.type === 'BoolExpr' && x.body['boolop'] === 'NOT_EXPR')) assertedColumns.add(last);
      }
    }
    if (t === 'FuncCall' && isUserFunction(b) && !insideSubselect(anc)) {
      const rowArgs = new Set<string>();
      // `t.*` (the whole row) ends in A_Star, which has no name: recorded as '*'.
      const rowRef = (fields: unknown) => strings(fields).pop() || '*';
      walk(b['args'], (tt, bb, aa) => tt === 'ColumnRef' && isRowColumn(bb, aa) && rowArgs.add(rowRef(bb['fields'])), [...anc, { type: t, body: b, via: 'args' }]);
      // Per position, the row's column when the argument is just that column (`owns(user_id)`); the whole row is none.
      const argColumns = ((b['args'] as unknown[] | undefined) ?? []).map((a) => {
        const col = nodeType(a) === 'ColumnRef' && isRowColumn(bodyOf(a), [...anc, { type: t, body: b, via: 'args' }]) ? rowRef(bodyOf(a)['fields']) : null;
        return col === '*' ? null : col;
      });
      perRowLookups.push({ kind: 'call', name: funcName(b), text: callSource(src, b['location']) ?? `${funcName(b)}()`, rowArgs: [...rowArgs], argColumns, conjunct: conjunctCalls.has(b) });
    }
    if (t === 'SubLink' && !insideSubselect(anc) && !oncePerStatement(b)) {
      const inner: Ancestor[] = [...anc, { type: t, body: b, via: 'subselect' }];
      const rowCols = new Set<string>();
      walk(b['subselect'], (tt, bb, aa) => tt === 'ColumnRef' && isRowColumn(bb, aa) && rowCols.add(strings(bb['fields']).pop()!), inner);
      const tables = new Set<string>();
      walk(b['subselect'], (tt, bb) => tt === 'SelectStmt' && localScope(bb['fromClause'], 'public').forEach((q) => tables.add(q)));
      perRowLookups.push({ kind: 'subselect', form: SUBLINK_FORMS[String(b['subLinkType'])] ?? 'scalar', tables: [...tables], rowColumns: [...rowCols] });
    }
    if (t === 'FuncCall' && isUserFunction(b)) {
      calls.add(funcName(b));
      ((b['args'] as unknown[] | undefined) ?? []).forEach((arg, i) => {
        if (!isUserClaim(arg)) return;
        const known = (callerArgs[funcName(b)] ??= []);
        if (!known.includes(i)) known.push(i);
      });
      const name = funcName(b);
      ((b['args'] as unknown[] | undefined) ?? []).forEach((arg, i) => {
        const known = (constArgs[name] ??= []);
        if (nodeType(stripCasts(arg)) === 'A_Const' && !known.includes(i)) known.push(i);
      });
    }
    if (t === 'SelectStmt' && anc.length > 0 && anc[anc.length - 1]!.type === 'SubLink' && anc[anc.length - 1]!.via === 'subselect') {
      // Under NOT the lookup denies (`not exists (select … where m.user_id = auth.uid())`): setting it only shuts the caller out.
      if (!anc.some((a) => a.type === 'BoolExpr' && a.body['boolop'] === 'NOT_EXPR')) {
        const sublink = anc[anc.length - 1]!.body;
        const inner: Ancestor[] = [...anc, { type: 'SelectStmt', body: b, via: 'whereClause' }];
        const rowSide = (at: readonly Ancestor[]) => (v: unknown) => {
          const c = unwrap(v);
          return nodeType(c) === 'ColumnRef' && isRowColumn(bodyOf(c), at) ? 'row' : null;
        };
        callerFacts.push(...callerFactsOf(b, 'public', undefined, new Set(), { sublink, partner: comparisonPartner(anc.slice(0, -1)), inWhere: rowSide(inner), outside: rowSide(anc.slice(0, -1)) }));
      }
      linkFacts.push(...linkFactsOf(b, anc[anc.length - 1]!.body, anc));
      if (!anc.some((a) => a.type === 'BoolExpr' && a.body['boolop'] === 'NOT_EXPR')) {
        const d = detachedCallerOf(b, 'public', isRowColumn, anc);
        if (d) detachedCallers.push(d);
      }
    }
    if (t === 'A_Expr' || t === 'SubLink') {
      const all = vacuousAllTest(t, b, anc, callerDependent);
      if (all) vacuousAll.push(all);
    }
    if (t === 'A_Expr') {
      const self = selfComparison(t, b, anc);
      if (self) selfComparisons.push(self);
      const op = opName(b);
      const kind = String(b['kind']);
      const isPattern =
        kind === 'AEXPR_LIKE' || kind === 'AEXPR_ILIKE' || kind === 'AEXPR_SIMILAR' || ((kind === 'AEXPR_OP' || kind === 'AEXPR_OP_ANY' || kind === 'AEXPR_OP_ALL') && PATTERN_OPS.has(op));
      // A fixed address (`auth.email() = 'admin@corp.com'`, or IN a list of them) trusts
      // whoever signs up with it first; a row's column (an invite's address) is no fixed address.
      const fixed = fixedAddresses(b);
      if (fixed && isEmailOfCaller(fixed.email, [...anc, { type: t, body: b, via: fixed.via }])) emailPatterns.push(`a fixed address (${fixed.text}) on ${describe(fixed.email)}`);
      if (isPattern && isEmailOfCaller(b['lexpr'], [...anc, { type: t, body: b, via: 'lexpr' }])) {
        const word = kind === 'AEXPR_ILIKE' || op.includes('~~*') ? 'ILIKE' : kind === 'AEXPR_SIMILAR' ? 'SIMILAR TO' : op.includes('~~') ? 'LIKE' : 'a regular expression';
        emailPatterns.push(`${word} on ${describe(b['lexpr'])}`);
      } else if (isPattern && isEmailOfCaller(b['rexpr'], [...anc, { type: t, body: b, via: 'rexpr' }])) {
        // `email ilike auth.email()`: the caller's address is the pattern, and `_` (valid in an
        // address) matches any character, as `.` does in a regular expression, which also matches
        // anywhere in the text: `_ob@example.com` reads bob@example.com's rows.
        const word = kind === 'AEXPR_ILIKE' || op.includes('~~*') ? 'ILIKE' : kind === 'AEXPR_SIMILAR' ? 'SIMILAR TO' : op.includes('~~') ? 'LIKE' : 'a regular expression';
        emailPatterns.push(`${word} with ${describe(b['rexpr'])} as the pattern`);
      }
      if ((op === '=' && (kind === 'AEXPR_OP' || kind === 'AEXPR_OP_ANY')) || kind === 'AEXPR_NOT_DISTINCT') {
        for (const [col, other] of [
          [b['lexpr'], b['rexpr']],
          [b['rexpr'], b['lexpr']],
        ]) {
          const c = unwrap(col);
          if (nodeType(c) !== 'ColumnRef') continue;
          const who = unwrap(other);
          if (isRoleValue(nodeType(who) ?? '', bodyOf(who)) && isRowColumn(bodyOf(c), anc)) {
            const fn = String(bodyOf(who)['op']).replace(/^SVFOP_/, '').toLowerCase();
            roleColumns.push({ column: strings(bodyOf(c)['fields']).pop()!, fn: fn === 'user' ? 'user' : fn });
          }
          const claim = claimKey(other);
          if (!claim && !contains(other, (tt, bb) => isClaimCall(tt, bb))) continue;
          const fields = strings(bodyOf(c)['fields']);
          const column = fields[fields.length - 1]!;
          // The cast written on the column itself (`(user_id)::text`), if any.
          let castTo: string | null = null;
          for (let n: unknown = col; nodeType(n) === 'TypeCast'; n = bodyOf(n)['arg']) {
            if (nodeType(bodyOf(n)['arg']) === 'ColumnRef') castTo = strings((bodyOf(n)['typeName'] as Body | undefined)?.['names']).filter((x) => x !== 'pg_catalog').join('.') || null;
          }
          if (isRowColumn(bodyOf(c), anc)) claimColumns.push({ table: null, column, claim: claim ?? describe(other), castTo });
          else {
            const scope = scopeOf(anc);
            const rel = fields.length >= 2 ? scope.get(fields[fields.length - 2]!) : scope.size === 1 || new Set(scope.values()).size === 1 ? [...scope.values()][0] : undefined;
            if (rel) claimColumns.push({ table: rel, column, claim: claim ?? describe(other), castTo });
          }
        }
      }
    }
    if (t === 'FuncCall' && PATTERN_FUNCS.has(funcName(b))) {
      const args = (b['args'] as unknown[] | undefined) ?? [];
      if (args.some((a) => isEmailOfCaller(a, [...anc, { type: t, body: b, via: 'args' }]))) emailPatterns.push(`${funcName(b)}() on the caller's email`);
    }
    // A comparison, sub-select or helper call whose subtree holds both a column of
    // the row and something that depends on the caller ties the row to the caller.
    // The outermost such node is enough: its row columns are the ones it ties.
    if ((t === 'A_Expr' || t === 'SubLink' || (t === 'FuncCall' && isUserFunction(b))) && !anc.some((a) => tying.has(a.body))) {
      const me = { [t]: b };
      const hasCaller = contains(me, (tt, bb) => callerDependent(tt, bb), [...anc]);
      const rowCols: string[] = [];
      if (hasCaller) walk(me, (tt, bb, aa) => tt === 'ColumnRef' && isRowColumn(bb, aa) && rowCols.push(strings(bb['fields']).pop()!), [...anc]);
      if (rowCols.length > 0) {
        bindsCaller = true;
        tying.add(b);
        if (!anc.some((x) => x.type === 'BoolExpr' && x.body['boolop'] === 'NOT_EXPR')) {
          rowCols.forEach((c) => callerColumns.add(c));
          tiedBy.set(b, rowCols);
        }
      }
    }
  });

  const memberships = membershipsOf(root);
  const ors = branches(root, 'OR_EXPR');
  const anonymousBranch = anonymousBranchIn(root, (v) => {
    const n = stripCasts(v);
    return nodeType(n) === 'ColumnRef' && isRowColumn(bodyOf(n), []) ? (strings(bodyOf(n)['fields']).pop() ?? null) : null;
  });
  const nullOwnerBranches = nullOwnerBranchesIn(ors, (v) => {
    const n = stripCasts(v);
    return nodeType(n) === 'ColumnRef' && isRowColumn(bodyOf(n), []) ? (strings(bodyOf(n)['fields']).pop() ?? null) : null;
  });
  const legacyClaimBranch = legacyClaimBranchIn(ors);
  // Top-level OR branches that are a call of a user function alone (wrapped in a scalar sub-select or not).
  const branchCalls = ors.flatMap((br) => {
    const n = unwrap(br);
    return nodeType(n) === 'FuncCall' && isUserFunction(bodyOf(n)) ? [funcName(bodyOf(n))] : [];
  });

  // `not exists (select 1 from members m where m.org_id = t.org_id)` (the first member of an org):
  // the sub-select sees only what the caller's SELECT policies on members let through.
  const absenceBranches: Array<{ text: string; tables: string[] }> = [];
  for (const br of ors) {
    if (nodeType(br) !== 'BoolExpr' || bodyOf(br)['boolop'] !== 'NOT_EXPR') continue;
    const inner = ((bodyOf(br)['args'] as unknown[] | undefined) ?? [])[0];
    if (nodeType(inner) !== 'SubLink' || bodyOf(inner)['subLinkType'] !== 'EXISTS_SUBLINK') continue;
    const sel = bodyOf(bodyOf(inner)['subselect']);
    if (nodeType(bodyOf(inner)['subselect']) !== 'SelectStmt' || (sel['op'] !== undefined && sel['op'] !== 'SETOP_NONE') || sel['withClause'] !== undefined) continue;
    const from = (sel['fromClause'] as unknown[] | undefined) ?? [];
    // Only relations an empty one of which empties the whole FROM: no outer join, function or sub-select.
    const plain = (v: unknown): boolean =>
      nodeType(v) === 'RangeVar' || (nodeType(v) === 'JoinExpr' && bodyOf(v)['jointype'] === 'JOIN_INNER' && plain(bodyOf(v)['larg']) && plain(bodyOf(v)['rarg']));
    if (from.length === 0 || !from.every(plain)) continue;
    const tables = [...new Set(localScope(from, 'public').values())];
    absenceBranches.push({ text: `NOT EXISTS (SELECT … FROM ${tables.join(', ')} …)`, tables });
  }

  // OR branches whose tie to the caller never involves the row: they read
  // relations through sub-selects that do not refer to the row, and their other
  // AND-ed tests, if any, look at the row alone (`status = 'open'`), never at the
  // caller. Inside a sub-select a reference to the row is qualified with the
  // table's name (ruleutils prints it so), which isRowColumn recognises.
  const rowFreeOf = (ignored: ((name: string) => ReadonlySet<number> | null) | null): RowFreeBranch[] => {
    const out: RowFreeBranch[] = [];
    // The argument positions of a user function call that its body never reads (none without `ignored`).
    const ignoredOf = (bb: Body): ReadonlySet<number> | null => (ignored && isUserFunction(bb) ? ignored(funcName(bb)) : null);
    // Whether a node sits in such an argument: what it says never reaches the body.
    const inIgnoredArg = (node: Body, aa: readonly Ancestor[]): boolean =>
      aa.some((a) => {
        if (a.type !== 'FuncCall') return false;
        const skip = ignoredOf(a.body);
        if (!skip?.size) return false;
        const args = (a.body['args'] as unknown[] | undefined) ?? [];
        return args.some((x, i) => skip.has(i) && contains(x, (_t, b2) => b2 === node));
      });
    const isRowRef = (tt: string, bb: Body, aa: readonly Ancestor[]): boolean => tt === 'ColumnRef' && isRowColumn(bb, aa) && !inIgnoredArg(bb, aa);
    for (const br of branches(root, 'OR_EXPR')) {
      const conjuncts = branches(br, 'AND_EXPR');
      const filters = conjuncts.filter((c) => contains(c, isRowRef));
      // A row test that also reads the caller, a relation or a helper may tie the row to the caller.
      if (filters.some((c) => contains(c, (tt, bb) => tt === 'SubLink' || callerDependent(tt, bb)))) continue;
      const reads = new Map<string, { ref: string; boundBy: Set<string>; lookups: CallerLookup[] }>();
      walk(
        conjuncts.filter((c) => !filters.includes(c)),
        (tt, bb, aa) => {
          if (tt !== 'SelectStmt') return;
          const { scope, resolve } = ownColumns(bb, 'public');
          for (const [ref, q] of scope) {
            const known = reads.get(q);
            if (!known) reads.set(q, { ref, boundBy: new Set(), lookups: [] });
            else if (ref !== q.slice(q.indexOf('.') + 1)) known.ref = ref;
          }
          for (const [q, l] of callerLookupsOf(bb, resolve, aa)) {
            const r = reads.get(q);
            if (!r) continue;
            for (const c of l.boundBy) r.boundBy.add(c);
            r.lookups.push(l);
          }
        },
      );
      const calls = new Set<string>();
      const ignoredArgCalls: Array<{ name: string; columns: string[] }> = [];
      walk(
        conjuncts.filter((c) => !filters.includes(c)),
        (tt, bb, aa) => {
          if (tt !== 'FuncCall' || !isUserFunction(bb)) return;
          // An argument from the row or the caller may be what the body ties its rows to.
          const args = (bb['args'] as unknown[] | undefined) ?? [];
          const skip = ignoredOf(bb);
          const passes = (x: unknown) => contains(x, (t2, b2) => t2 === 'ColumnRef' || callerDependent(t2, b2));
          if (args.some((x, i) => !skip?.has(i) && passes(x))) return;
          calls.add(funcName(bb));
          const base = [...aa, { type: 'FuncCall', body: bb, via: 'args' }];
          const columns = args.flatMap((x, i) => (skip?.has(i) && contains(x, (t2, b2, a2) => t2 === 'ColumnRef' && isRowColumn(b2, a2), base) ? [describe(x)] : []));
          if (columns.length) ignoredArgCalls.push({ name: funcName(bb), columns });
        },
      );
      if (reads.size === 0 && calls.size === 0) continue;
      out.push({
        reads: [...reads].map(([table, r]) => ({ table, ref: r.ref, boundBy: [...r.boundBy], lookups: r.lookups })),
        calls: [...calls],
        hasSelfComparison: contains(br, (tt, bb, aa) => selfComparison(tt, bb, aa) !== null),
        filtered: filters.length > 0,
        ignoredArgCalls,
      });
    }
    return out;
  };
  const rowFreeBranches = rowFreeOf(null);

  const rowFreeGates: Array<{ tables: Record<string, string[] | null>; calls: string[] }> = [];
  {
    const rowRef = (tt: string, bb: Body, aa: readonly Ancestor[]) => tt === 'ColumnRef' && isRowColumn(bb, aa);
    // A claim or the database role; the user functions called are handed to the rule.
    const asks = (tt: string, bb: Body) => (isClaimCall(tt, bb) && !isClientValue(tt, bb)) || isRoleValue(tt, bb);
    const seen = new Set<Body>();
    for (const br of ors) {
      const conjuncts = branches(br, 'AND_EXPR');
      const nested = conjuncts.filter((c) => nodeType(c) === 'BoolExpr' && bodyOf(c)['boolop'] === 'OR_EXPR');
      const sets = nested.length === 0 ? [conjuncts] : nested.length === 1 ? branches(nested[0], 'OR_EXPR').map((x) => [...conjuncts.filter((c) => c !== nested[0]), ...branches(x, 'AND_EXPR')]) : [];
      for (const set of sets) {
        const gates = set.filter((c) => nodeType(c) === 'SubLink' && bodyOf(c)['subLinkType'] === 'EXISTS_SUBLINK' && !contains(c, rowRef) && !contains(c, asks));
        if (gates.length === 0) continue;
        // Every other test looks at the row alone (a filter) or at nothing: none ties the row to anyone.
        if (set.some((c) => !gates.includes(c) && (contains(c, (tt, bb) => callerDependent(tt, bb)) || contains(c, (tt) => tt === 'SubLink')))) continue;
        for (const g of gates) {
          if (seen.has(bodyOf(g))) continue;
          seen.add(bodyOf(g));
          const tables: Record<string, string[] | null> = {};
          walk(bodyOf(g)['subselect'], (tt, bb) => {
            if (tt !== 'SelectStmt') return;
            for (const q of localScope(bb['fromClause'], 'public').values()) tables[q] ??= [];
          });
          walk(bodyOf(g)['subselect'], (tt, bb, aa) => {
            if (tt !== 'ColumnRef') return;
            // The nearest SELECT whose relations the name resolves in, from the innermost outwards.
            const sels = aa.filter((a) => a.type === 'SelectStmt').reverse();
            let r: { table: string; column: string } | null = null;
            for (const [i, sel] of sels.entries()) if ((r = ownColumns(sel.body, 'public').resolve(bb, i > 0))) break;
            if (r) {
              if (tables[r.table] !== null) tables[r.table] = [...new Set([...(tables[r.table] ?? []), r.column])];
            } else if (sels[0]) {
              // A column named without its relation, among several: which table's it is stays unknown.
              for (const q of localScope(sels[0].body['fromClause'], 'public').values()) tables[q] = null;
            }
          });
          const called = new Set<string>();
          walk(bodyOf(g)['subselect'], (tt, bb) => tt === 'FuncCall' && isUserFunction(bb) && called.add(funcName(bb)));
          rowFreeGates.push({ tables, calls: [...called] });
        }
      }
    }
  }

  const callerFreeBranches: Array<{ columns: string[] }> = [];
  if (ors.length > 1) {
    for (const br of ors) {
      if (neverTrue(br) || contains(br, (tt, bb) => callerDependent(tt, bb))) continue;
      const columns = new Set<string>();
      walk(br, (tt, bb, aa) => tt === 'ColumnRef' && isRowColumn(bb, aa) && columns.add(strings(bb['fields']).pop()!));
      if (columns.size > 0) callerFreeBranches.push({ columns: [...columns] });
    }
  }

  const requiredCalls: Array<{ name: string; argColumns: Array<string | null> }> = [];
  if (ors.length === 1) {
    for (const c of branches(root, 'AND_EXPR')) {
      const n = stripCasts(unwrap(c));
      if (nodeType(n) !== 'FuncCall' || !isUserFunction(bodyOf(n))) continue;
      const argColumns = ((bodyOf(n)['args'] as unknown[] | undefined) ?? []).map((x) => {
        // The caller's id handed to the helper (is_maintainer(auth.uid(), org_id)) is read as auth.uid() in its body.
        if (isCallerId(x)) return CALLER_ARG;
        const col = stripCasts(x);
        if (nodeType(col) !== 'ColumnRef') return null;
        const f = strings(bodyOf(col)['fields']);
        return f.length === 1 || (f.length === 2 && f[0] === tableName) ? f[f.length - 1]! : null;
      });
      requiredCalls.push({ name: funcName(bodyOf(n)), argColumns });
    }
  }
  const isRowRef = (tt: string, bb: Body, aa: readonly Ancestor[]): boolean => tt === 'ColumnRef' && isRowColumn(bb, aa);

  // Per OR branch: the row's columns an AND-ed `column = <the user's id or email>` makes theirs, and the others its tests tie to the caller (tiedBy).
  const ownerBranches = ors.map((br) => {
    const owners = new Set<string>();
    const shared = new Set<string>();
    for (const c of branches(br, 'AND_EXPR')) {
      const b = nodeType(c) === 'A_Expr' && isEquality(bodyOf(c)) ? bodyOf(c) : null;
      const sides = b ? [[b['lexpr'], b['rexpr']], [b['rexpr'], b['lexpr']]] : [];
      const owner = sides.map(([col, other]) => {
        const n = stripCasts(col);
        return nodeType(n) === 'ColumnRef' && isRowColumn(bodyOf(n), []) && isUserClaim(other) ? strings(bodyOf(n)['fields']).pop()! : null;
      }).find((x) => x);
      if (owner) owners.add(owner);
      else walk(c, (_t, bb) => tiedBy.get(bb)?.forEach((x) => shared.add(x)));
    }
    return { owners: [...owners], shared: [...shared].filter((x) => !owners.has(x)) };
  });

  const clientValueBranches: string[] = [];
  for (const br of branches(root, 'OR_EXPR')) {
    if (!contains(br, isClientValue)) continue;
    const ties = branches(br, 'AND_EXPR').some((c) => contains(c, isRowRef) && contains(c, (tt, bb) => callerDependent(tt, bb)));
    if (!ties) clientValueBranches.push(describeClientValue(br));
  }

  // `column = <constant>` (either way round, casts aside): the row's column and the constant, as text.
  const constEqualities = (n: unknown): Array<[string, string]> => {
    if (nodeType(n) !== 'A_Expr' || String(bodyOf(n)['kind']) !== 'AEXPR_OP' || opName(bodyOf(n)) !== '=') return [];
    const out: Array<[string, string]> = [];
    for (const [c, k] of [
      [bodyOf(n)['lexpr'], bodyOf(n)['rexpr']],
      [bodyOf(n)['rexpr'], bodyOf(n)['lexpr']],
    ]) {
      const col = stripCasts(c);
      const value = constString(k) ?? numericConst(k);
      if (nodeType(col) === 'ColumnRef' && isRowColumn(bodyOf(col), []) && value !== null) out.push([strings(bodyOf(col)['fields']).pop()!, String(value)]);
    }
    return out;
  };
  // The values the whole expression holds columns to: a top-level AND-ed `column = <constant>` (no OR to leave it by).
  const fixedValues = new Map<string, string>();
  for (const c of branches(root, 'AND_EXPR')) for (const [col, value] of constEqualities(stripCasts(c))) if (!fixedValues.has(col)) fixedValues.set(col, value);

  // The ways through the expression (its OR branches, AND-ed out, at most WAY_LIMIT), each with the
  // columns it pins — ties to the caller, or sets NULL — and the constants it compares columns with
  // (`scope = 'user'`), which keep it apart from a way that wants another value. An OR branch that
  // asks only who the caller is and reads no column (an admin gate), one that is never true, and one
  // that ties only columns of `keys` (the row's own id: `can_edit_context(auth.uid(), id)`, which a
  // new row's fresh key passes for no one) are no way through for other callers and are left out.
  // NOT pins nothing. null: too many ways to list.
  const waysOf = (v: unknown, keys: ReadonlySet<string>): Way[] | null => {
    const n = stripCasts(v);
    if (nodeType(n) === 'BoolExpr') {
      const op = bodyOf(n)['boolop'];
      const args = bodyOf(n)['args'] as unknown[];
      if (op === 'AND_EXPR') {
        let acc: Way[] = [{ pinned: new Set(), equals: new Map() }];
        for (const x of args) {
          const ws = waysOf(x, keys);
          if (ws === null) return null;
          const next: Way[] = [];
          for (const a of acc) {
            for (const w of ws) {
              if ([...w.equals].some(([c, k]) => a.equals.has(c) && a.equals.get(c) !== k)) continue; // contradictory
              next.push({ pinned: new Set([...a.pinned, ...w.pinned]), equals: new Map([...a.equals, ...w.equals]) });
            }
          }
          if (next.length > WAY_LIMIT) return null;
          acc = next;
        }
        return acc;
      }
      if (op === 'OR_EXPR') {
        const out: Way[] = [];
        for (const br of args) {
          if (neverTrue(br) || (contains(br, (t, b) => callerDependent(t, b)) && !contains(br, (t, b, a) => t === 'ColumnRef' && isRowColumn(b, a)))) continue;
          const ws = waysOf(br, keys);
          if (ws === null) return null;
          out.push(...ws.filter((w) => w.pinned.size === 0 || [...w.pinned].some((c) => !keys.has(c))));
          if (out.length > WAY_LIMIT) return null;
        }
        return out;
      }
      return [{ pinned: new Set(), equals: new Map() }];
    }
    const way: Way = { pinned: new Set(), equals: new Map() };
    if (nodeType(n) === 'NullTest' && bodyOf(n)['nulltesttype'] === 'IS_NULL') {
      const arg = stripCasts(bodyOf(n)['arg']);
      if (nodeType(arg) === 'ColumnRef' && isRowColumn(bodyOf(arg), [])) way.pinned.add(strings(bodyOf(arg)['fields']).pop()!);
    }
    for (const [c, value] of constEqualities(n)) way.equals.set(c, value);
    walk(n, (_t, b) => tiedBy.get(b)?.forEach((c) => way.pinned.add(c)));
    return [way];
  };
  const waysCache = new Map<string, Way[] | null>();
  const waysFor = (keys: ReadonlySet<string>): Way[] | null => {
    const k = [...keys].sort().join('\0');
    if (!waysCache.has(k)) waysCache.set(k, waysOf(root, keys));
    return waysCache.get(k)!;
  };

  const truthCache = new Map<string, boolean>();
  let hasNullTest: boolean | undefined;
  return {
    pinnedColumns(keys: ReadonlySet<string>) {
      const ways = waysFor(keys);
      // Too many ways to list: every column some comparison ties, as before ways were read.
      if (ways === null) return [...callerColumns];
      if (ways.length === 0) return [];
      return [...ways[0]!.pinned].filter((c) => ways.every((w) => w.pinned.has(c)));
    },
    ways(keys: ReadonlySet<string>) {
      return waysFor(keys);
    },
    clientValueBranches,
    sessionClaims: sessionClaimsOf(root, rowColumns.size > 0 || calls.size > 0),
    neverTrue: neverTrue(root),
    perRowCalls: [...new Set(perRowCalls)],
    perRowCallSites,
    readsUserMetadata,
    emailPatterns: [...new Set(emailPatterns)],
    anonymousBranch,
    branchCalls,
    nullOwnerBranches,
    legacyClaimBranch,
    absenceBranches,
    hasSubLink: contains(root, (t) => t === 'SubLink'),
    bindsCaller: bindsCaller && !alwaysTrue(root, '\0'),
    asksCaller: contains(root, (t, b) => callerDependent(t, b)),
    // Every top-level OR branch ties the row to the caller, or asks only who the caller is (an admin gate).
    ownRowsOnly:
      bindsCaller &&
      !alwaysTrue(root, '\0') &&
      ors.every((br) => contains(br, (_t, b) => tying.has(b)) || (contains(br, (t, b) => callerDependent(t, b)) && !contains(br, (t, b, a) => t === 'ColumnRef' && isRowColumn(b, a)))),
    callerColumns: [...callerColumns],
    ownerBranches,
    claimColumns,
    rowColumns: [...rowColumns],
    assertedColumns: [...assertedColumns],
    fixedValues,
    calls: [...calls],
    callerArgs,
    constArgs,
    callerFacts,
    linkFacts,
    detachedCallers,
    roleColumns,
    selfComparisons,
    vacuousAll,
    perRowLookups,
    rowFreeBranches,
    callerFreeBranches,
    rowFreeGates,
    requiredCalls,
    gateForm: gateFormOf(root),
    subselects: outerSubselects(root),
    memberships,
    callsBesideMemberships: callsBeside(root, memberships),
    rowFreeBranchesGiven(ignored: (name: string) => ReadonlySet<number> | null) {
      return rowFreeOf(ignored);
    },
    alwaysTrueFor(role: string, notNull?: ReadonlySet<string>, values?: ReadonlyMap<string, string>) {
      if (values?.size) return alwaysTrue(root, role, notNull, values);
      // The table's NOT NULL columns matter only to an IS [NOT] NULL test (rare): then the answer
      // depends on the table and is not kept; otherwise it is worked out once per role.
      if (notNull?.size && (hasNullTest ??= contains(root, (t) => t === 'NullTest'))) return alwaysTrue(root, role, notNull);
      if (!truthCache.has(role)) truthCache.set(role, alwaysTrue(root, role));
      return truthCache.get(role)!;
    },
    needsUser(helpers: HelperTest) {
      return needsUserIn(root, helpers);
    },
    onlyForRoles(helperGate: (name: string) => ReadonlySet<string> | null) {
      return roleGate(root, helperGate);
    },
  };
}

/**
 * Claims that say how the caller signed in, not who they are: GoTrue sets `aal`
 * and `amr` from the session's factors (any user can enrol TOTP and reach aal2)
 * and `is_anonymous` for anonymous sign-ins. Supabase documents tests on them as
 * AS RESTRICTIVE policies, AND-ed with the policies that pick the rows.
 */
const SESSION_CLAIMS = new Set(['aal', 'amr', 'is_anonymous']);
/** Claims a session test may also read without naming a user (role, and `sub` / session presence). */
const NO_USER_CLAIMS = new Set(['role', 'sub', 'session_id', 'aud', 'iss']);

/**
 * See ExprAnalysis.sessionClaims. Every read of the claims must be a top-level
 * key (`auth.jwt() ->> 'aal'`, `auth.jwt() -> 'amr'`, auth.role(), auth.uid()
 * under IS [NOT] NULL) we can name; anything else (the whole claims object
 * handed on, `#>>` paths, app_metadata) gives null.
 */
function sessionClaimsOf(root: unknown, readsRowOrHelper: boolean): string[] | null {
  if (readsRowOrHelper) return null;
  const seen = new Set<string>();
  let unknown = false;
  const isClaimsObject = (v: unknown): boolean => {
    const n = stripCasts(v);
    if (nodeType(n) === 'SubLink') {
      const u = unwrap(n);
      return u !== n && isClaimsObject(u);
    }
    if (nodeType(n) !== 'FuncCall') return false;
    const f = funcName(bodyOf(n));
    if (f === 'auth.jwt') return true;
    if (f !== 'current_setting') return false;
    const name = constString((bodyOf(n)['args'] as unknown[] | undefined)?.[0]);
    return name === 'request.jwt.claims' || name === 'request.jwt.claim';
  };
  // Claim reads already accounted for (the claims object under a known key).
  const counted = new Set<Body>();
  walk(root, (t, b, anc) => {
    if (unknown) return;
    if (t === 'RangeVar' || t === 'ColumnRef' || isRoleValue(t, b)) {
      // A FROM-less sub-select over the claims (`select jsonb_array_elements(auth.jwt() -> 'amr')`) reads no relation;
      // a column reference inside it can only be its own output.
      if (t === 'ColumnRef' && insideSubselect(anc)) return;
      unknown = true;
      return;
    }
    if (t === 'A_Expr' && (opName(b) === '->>' || opName(b) === '->') && isClaimsObject(b['lexpr'])) {
      const key = constString(b['rexpr']);
      if (key === null) unknown = true;
      else seen.add(key);
      walk(b['lexpr'], (tt, bb) => tt === 'FuncCall' && counted.add(bb));
      return;
    }
    if (t !== 'FuncCall' || counted.has(b) || !CLAIM_FUNCTIONS.has(funcName(b))) return;
    const f = funcName(b);
    if (f === 'auth.role') seen.add('role');
    else if (f === 'auth.uid') seen.add('sub');
    else if (f === 'current_setting') {
      const name = constString((b['args'] as unknown[] | undefined)?.[0]);
      const m = name && /^request\.jwt\.claim\.(.+)$/.exec(name);
      if (name === 'role') seen.add('role');
      else if (m) seen.add(m[1]!);
      else unknown = true;
    } else unknown = true; // auth.jwt() read whole, auth.email()
  });
  if (unknown || ![...seen].some((c) => SESSION_CLAIMS.has(c)) || ![...seen].every((c) => SESSION_CLAIMS.has(c) || NO_USER_CLAIMS.has(c))) return null;
  return [...seen].filter((c) => SESSION_CLAIMS.has(c)).sort();
}

/**
 * Analyses keyed by expression text. Parsing costs ~0.1 ms per expression
 * (libpg-query's wasm and its JSON), and schemas repeat the same policy text
 * on many tables. The table name only matters when the text names it (a
 * correlated reference `t.col` inside a sub-select), so other texts are shared
 * across tables.
 */
export type AnalysisCache = Map<string, ExprAnalysis | Error>;

export function analysePolicy(
  policy: { using: string | null; check: string | null; tableName: string },
  parseSync: ParseSync,
  cache: AnalysisCache = new Map(),
): PolicyAnalysis {
  const errors: string[] = [];
  const one = (text: string | null): ExprAnalysis | null => {
    if (text === null) return null;
    const key = text.includes(policy.tableName) ? `${policy.tableName}\u0000${text}` : text;
    let a = cache.get(key);
    if (a === undefined) {
      try {
        a = analyseExpression(text, policy.tableName, parseSync);
      } catch (err) {
        a = err instanceof Error ? err : new Error(String(err));
      }
      cache.set(key, a);
    }
    if (a instanceof Error) {
      errors.push(a.message);
      return null;
    }
    return a;
  };
  return { using: one(policy.using), check: one(policy.check), errors };
}

/** What a LANGUAGE sql or plpgsql helper's body says about the caller (see CatalogLintContext.functionAnalysis). */
export interface FunctionAnalysis {
  /** Sub-selects that never join the caller's rows to the arguments' (functionDetachedCallers). */
  detached: DetachedCaller[];
  /** The relations its body's SELECTs read, each with the columns compared with a claim (as RowFreeBranch.reads). */
  reads: Array<{ table: string; ref: string; boundBy: string[]; lookups: CallerLookup[] }>;
  /** The schema-qualified user functions its body calls (`private.rows_of_t`). */
  calls: string[];
  /** The functions its body calls by a bare name, qualified with the first schema of its search_path (functionBareCalls; built-ins included). */
  bareCalls: string[];
  /** Its body reads user_metadata (a JSON key of the claims) or auth.users.raw_user_meta_data, as a policy would (ExprAnalysis.readsUserMetadata). */
  readsUserMetadata: boolean;
  /** Parameters its body falls back to when the request carries no user: `coalesce(auth.uid(), p_user_id)` (claimFallbacks). */
  claimFallbacks: string[];
  /** Its one expression (a single-expression body) is true without a user, whatever the arguments: `coalesce(u = auth.uid(), true)` (functionAnonymousBranch). */
  anonymousBranch: string | null;
  /** Called in a policy of `tableName` with the row's columns at `argColumns`: the caller's rows its body requires (helperRequiredCallerRows; one-expression bodies only). */
  requiredCallerRows(argColumns: ReadonlyArray<string | null>, tableName: string): Array<{ table: string; boundBy: string[]; rowEquals: string[] }>;
  /** The relations its body inserts into, updates or deletes from, and whether it reads who calls it (a claim, current_user); null when the body is not read. */
  writes: { tables: string[]; asksCaller: boolean } | null;
  /** The request roles a role test such as is_service_role() can be true for, or null (functionRoleGate). */
  roleGate: ReadonlySet<string> | null;
  /**
   * It yields nothing, NULL or false without a user (functionNeedsUser; a PL/pgSQL body only when
   * readPlpgsql reads it as what it returns); `helpers`: the helpers it calls that do (callerHelpers).
   */
  needsUser(helpers: HelperTest): boolean;
  /** The same once argument `position` (from 0) is the caller's id, as in `has_role(auth.uid(), 'admin')`. */
  needsUserGivenCaller(position: number, helpers: HelperTest): boolean;
  /** A PL/pgSQL trigger function's columns of NEW it always sets to the caller's id, per TG_OP (triggerCallerColumns). */
  setsToCaller: CallerAssignment[];
  /** A PL/pgSQL trigger function's writes of values read from new.raw_user_meta_data (metadataCopies). */
  metadataCopies: MetadataCopy[];
  /** A PL/pgSQL trigger function's writes decided by the user's email (emailDecisionsOf in plpgsql.ts). */
  emailDecisions: EmailDecisions;
  /**
   * The parameter positions (from 0) its body never reads, or null when that cannot be told
   * (see unreadParameters). `columnsOf` gives a relation's columns from the catalog.
   */
  unreadParams(columnsOf: (table: string) => readonly string[] | null): ReadonlySet<number> | null;
  /** A PL/pgSQL trigger function's INSERT targets (`schema.table`), e.g. the profiles row a sign-up trigger creates. */
  triggerInserts: string[];
  /** What those INSERTs copy of the row the trigger fires for (TriggerReading.rowCopies). */
  rowCopies: RowCopy[];
  /** Why the planner never inlines a call to it, so a call in a policy runs the function itself for every row; null when it may be inlined (or we cannot tell). */
  notInlined: string | null;
  /** LANGUAGE sql: the claim functions its body calls outside any sub-select (`auth.uid`); inlined into a policy, they run where the call stood. */
  bareClaimCalls: string[];
  /**
   * LANGUAGE sql: its parameters the body compares with a claim outside any sub-select
   * (`select $1 = (select auth.uid())`): inlined, the argument is what the claim is compared with.
   */
  claimParams: ClaimParam[];
  /** A helper that looks up the caller's row and tests it (caller-gate.ts: a PL/pgSQL SELECT INTO, a LANGUAGE sql or one-RETURN body), or null. */
  callerGate: CallerGate | null;
  /** A set-returning LANGUAGE sql helper that yields a column of the caller's rows (caller-gate.ts's sqlCallerSet), or null. */
  callerSet: CallerSet | null;
}

export interface ClaimParam {
  /** The parameter's position, from 0. */
  index: number;
  claim: string;
  /** The type the body casts the parameter to before comparing, if any. */
  castTo: string | null;
  /** `param = claim` is a conjunct of the body's one expression, the parameter bare: inlined where the call is a conjunct, an index on the argument serves it. */
  indexable: boolean;
}

/** What analyseFunction reads of a function (a catalog FunctionInfo has it all). */
interface FunctionSource {
  name?: string;
  body: string | null;
  /** LANGUAGE plpgsql: the source as written. */
  plpgsqlSource?: string | null;
  args: string;
  language?: string;
  securityDefiner?: boolean;
  strict?: boolean;
  config?: readonly string[];
  returns?: string;
  volatility?: 'immutable' | 'stable' | 'volatile';
}

/**
 * Why Postgres 17 never inlines a call to this function in an expression
 * (clauses.c inline_function), or null when it may (or we cannot tell). Only a
 * LANGUAGE sql function whose body is one `SELECT <expression>` with no FROM,
 * WHERE or sub-select is inlined, and never one that is SECURITY DEFINER, has
 * SET options or returns a set, nor a STRICT one whose body is not strict.
 */
export function notInlinedReason(fn: FunctionSource, parseSync: ParseSync): string | null {
  const language = fn.language ?? 'sql';
  if (language === 'plpgsql') return 'a PL/pgSQL function is never inlined';
  if (language !== 'sql') return `a LANGUAGE ${language} function is never inlined`;
  if (fn.securityDefiner) return 'a SECURITY DEFINER function is never inlined';
  if (fn.config && fn.config.length > 0) return `a function with SET ${fn.config[0]!.split('=')[0]} is never inlined`;
  if (fn.returns && /^setof\s/i.test(fn.returns)) return null; // set-returning: only inlined in FROM, and not called per row in a policy's expression
  if (fn.body === null) return null;
  const text = /^\s*return\b/i.test(fn.body) ? fn.body.replace(/^\s*return\b/i, 'select') : fn.body;
  let stmts: Array<{ stmt: unknown }>;
  try {
    stmts = (parseSync(text) as { stmts: Array<{ stmt: unknown }> }).stmts;
  } catch {
    return null;
  }
  if (stmts.length !== 1 || nodeType(stmts[0]!.stmt) !== 'SelectStmt') return 'its body is not a single SELECT, so it is never inlined';
  const sel = bodyOf(stmts[0]!.stmt);
  const reads = ['fromClause', 'whereClause', 'groupClause', 'havingClause', 'withClause', 'limitCount', 'limitOffset', 'valuesLists', 'distinctClause'].some((k) => sel[k]);
  if (reads || (sel['op'] !== undefined && sel['op'] !== 'SETOP_NONE') || contains(sel['targetList'], (t) => t === 'SubLink')) {
    return 'its body reads a table or has a sub-select, so it is never inlined';
  }
  // A STRICT function is inlined only when its body is strict as well; a call of a
  // non-strict function in it (GoTrue's auth.uid() is not strict, nor is any SQL
  // helper declared without STRICT), COALESCE, CASE, OR/AND or IS [NOT] NULL is not.
  if (fn.strict && contains(sel['targetList'], (t, b) => ['CoalesceExpr', 'CaseExpr', 'BoolExpr', 'NullTest', 'BooleanTest', 'MinMaxExpr'].includes(t) || (t === 'FuncCall' && (isClaimCall(t, b) || isUserFunction(b))))) {
    return 'a STRICT function whose body is not strict is never inlined';
  }
  // An IMMUTABLE function whose body reads the request (a STABLE call) is not inlined either.
  if (fn.volatility === 'immutable' && contains(sel['targetList'], (t, b) => isClaimCall(t, b))) {
    return 'an IMMUTABLE function whose body calls a STABLE one is never inlined';
  }
  return null;
}

/** The claim functions a SQL body calls outside any sub-select, e.g. `auth.uid()` in `select $1 = auth.uid()`. */
function bareClaimCallsOf(body: string, parseSync: ParseSync): string[] {
  const text = /^\s*return\b/i.test(body) ? body.replace(/^\s*return\b/i, 'select') : body;
  const found = new Set<string>();
  try {
    walk(parseSync(text), (t, b, anc) => {
      if (isClaimCall(t, b) && !insideSubselect(anc)) found.add(`${funcName(b)}()`);
    });
  } catch {
    return [];
  }
  return [...found];
}

/** The parameters a SQL body compares with a claim outside any sub-select: `$1 = auth.uid()`, `owner = (select auth.uid())`. */
function claimParamsOf(body: string, args: string, parseSync: ParseSync): ClaimParam[] {
  const parsed = parseFunctionBody(body, parseSync);
  if (!parsed) return [];
  const names = parameterList(args);
  const out: ClaimParam[] = [];
  const only = parsed.stmts?.length === 1 ? bodyOf(parsed.stmts[0]!.stmt) : {};
  const targets = (only['targetList'] as unknown[] | undefined) ?? [];
  const whole = targets.length === 1 && !only['fromClause'] && !only['whereClause'] ? bodyOf(targets[0])['val'] : undefined;
  const conjuncts = new Set(whole === undefined ? [] : branches(whole, 'AND_EXPR').map((c) => bodyOf(c)));
  walk(parsed, (t, b, anc) => {
    if (t !== 'A_Expr' || insideSubselect(anc) || !isEquality(b)) return;
    for (const [side, other] of [[b['lexpr'], b['rexpr']], [b['rexpr'], b['lexpr']]] as const) {
      let castTo: string | null = null;
      let n: unknown = side;
      for (; nodeType(n) === 'TypeCast'; n = bodyOf(n)['arg']) castTo = strings((bodyOf(n)['typeName'] as Body | undefined)?.['names']).filter((x) => x !== 'pg_catalog').join('.') || null;
      const nb = bodyOf(n);
      const fields = nodeType(n) === 'ColumnRef' ? strings(nb['fields']) : [];
      const index = nodeType(n) === 'ParamRef' ? Number(nb['number']) - 1 : fields.length === 1 ? names.indexOf(fields[0]!) : -1;
      if (index < 0) continue;
      const claim = claimKey(other) ?? (contains(other, (tt, bb) => isClaimCall(tt, bb)) ? describe(other) : null);
      const indexable = conjuncts.has(b) && castTo === null && opName(b) === '=' && !contains(other, (tt) => tt === 'ColumnRef' || tt === 'SubLink' || tt === 'ParamRef');
      if (claim) out.push({ index, claim, castTo, indexable });
    }
  });
  return out;
}

/**
 * What the lint reads of a function's body, or null: a LANGUAGE sql body as
 * written, a PL/pgSQL one as its queries and expressions (readPlpgsql).
 */
export interface ReadableBody {
  sql: string;
  /** The whole body is what it returns (always so for LANGUAGE sql). */
  single: boolean;
  /** PL/pgSQL variables: values like parameters, no column of any table. */
  locals: readonly string[];
}

/** What a trigger function's PL/pgSQL body is read for (plpgsql.ts). */
export interface TriggerReading {
  setsToCaller: CallerAssignment[];
  metadataCopies: MetadataCopy[];
  /** What it writes according to the user's email (its domain, a pattern, a fixed address). */
  emailDecisions: EmailDecisions;
  /** The tables its INSERT statements write (`schema.table`). */
  inserts: string[];
  /** What those INSERTs copy of NEW or OLD (optional: hand-made readings may omit it). */
  rowCopies?: RowCopy[];
}

/** An INSERT of a trigger function that writes values of the row it fires for into `table`. */
export interface RowCopy {
  table: string;
  /** The columns of NEW or OLD it reads, or null for the whole row (`to_jsonb(new)`, `new.*`). */
  columns: string[] | null;
}

const NOT_A_TRIGGER: TriggerReading = { setsToCaller: [], metadataCopies: [], emailDecisions: { columns: [], rows: [] }, inserts: [] };

export function analyseFunction(fn: FunctionSource, defaultSchema: string, parseSync: ParseSync, readable: ReadableBody | null, trigger: TriggerReading = NOT_A_TRIGGER, callerGate: CallerGate | null = null, callerSet: CallerSet | null = null): FunctionAnalysis {
  const { setsToCaller, metadataCopies, emailDecisions, inserts: triggerInserts } = trigger;
  const rowCopies = trigger.rowCopies ?? [];
  const notInlined = notInlinedReason(fn, parseSync);
  if (readable === null) return { detached: [], reads: [], calls: [], bareCalls: [], readsUserMetadata: false, claimFallbacks: [], anonymousBranch: null, requiredCallerRows: () => [], writes: null, roleGate: null, needsUser: () => false, needsUserGivenCaller: () => false, unreadParams: () => null, setsToCaller, metadataCopies, emailDecisions, triggerInserts, rowCopies, notInlined, bareClaimCalls: [], claimParams: [], callerGate, callerSet };
  const { sql, single, locals } = readable;
  const givenCaller = new Map<number, string | null>();
  let unread: ReadonlySet<number> | null | undefined;
  return {
    unreadParams(columnsOf) {
      if (unread === undefined) unread = unreadParameters(fn, defaultSchema, parseSync, columnsOf, fn.language === 'plpgsql' ? sql : null);
      return unread;
    },
    needsUserGivenCaller(position: number, helpers: HelperTest) {
      if (!single) return false;
      if (!givenCaller.has(position)) givenCaller.set(position, withCallerArgument(sql, fn.name ?? '', fn.args, position, parseSync));
      const bound = givenCaller.get(position)!;
      return bound !== null && functionNeedsUser(bound, parseSync, helpers);
    },
    notInlined,
    reads: functionReads(sql, defaultSchema, parseSync),
    calls: functionCalls(sql, parseSync),
    bareCalls: functionBareCalls(sql, defaultSchema, parseSync),
    readsUserMetadata: functionReadsUserMetadata(sql, parseSync),
    claimFallbacks: claimFallbacks(sql, fn.args, parseSync),
    anonymousBranch: single ? functionAnonymousBranch(sql, fn.args, parseSync) : null,
    requiredCallerRows: (argColumns, tableName) => (single ? helperRequiredCallerRows(sql, fn.name ?? '', fn.args, argColumns, tableName, parseSync) : []),
    writes: functionWrites(sql, defaultSchema, parseSync),
    // What stands where the call stood once inlined: LANGUAGE sql only.
    bareClaimCalls: fn.body !== null ? bareClaimCallsOf(fn.body, parseSync) : [],
    claimParams: fn.body !== null ? claimParamsOf(fn.body, fn.args, parseSync) : [],
    setsToCaller,
    metadataCopies,
    emailDecisions,
    triggerInserts,
    rowCopies,
    detached: functionDetachedCallers(sql, fn.args, defaultSchema, parseSync, locals),
    roleGate: single ? functionRoleGate(sql, parseSync) : null,
    needsUser: (helpers) => single && functionNeedsUser(sql, parseSync, helpers),
    callerGate,
    callerSet,
  };
}

/**
 * The parameter positions (from 0) a helper's body never reads; null when that cannot be told
 * (another language, a body that does not parse, OUT or VARIADIC parameters).
 *
 * LANGUAGE sql: a parameter is read as `$n`, as `<function>.<name>`, or as a bare name that no
 * column of the relations in scope has. Postgres resolves a bare name to a column first and to
 * a parameter only when no column of that name is in scope (SQL functions' parameters come after
 * columns), so in `is_member(org_id uuid)` over `… from members m where m.org_id = org_id` both
 * sides are members.org_id and the argument is never looked at. A relation the catalog does not
 * know (a CTE, a sub-select) cannot make a name a column here: the name then counts as read.
 *
 * PL/pgSQL: its name (not after a dot, or after `<function>.`) or `$n` anywhere in the source
 * counts as read — a name that is both a variable and a column is an error there
 * (plpgsql.variable_conflict), so nothing is taken as unread on a guess. Unless the function
 * says `#variable_conflict use_column` (or SET plpgsql.variable_conflict = use_column): then a
 * name that is also a column in scope is the column, as in LANGUAGE sql, and its queries and
 * expressions (`plpgsqlSql`, readPlpgsql's) are read the same way.
 */
export function unreadParameters(fn: FunctionSource, defaultSchema: string, parseSync: ParseSync, columnsOf: (table: string) => readonly string[] | null, plpgsqlSql: string | null = null): ReadonlySet<number> | null {
  if (/\b(out|inout|variadic)\b/i.test(fn.args)) return null;
  const names = parameterList(fn.args);
  if (names.length === 0) return new Set();
  const fname = (fn.name ?? '').toLowerCase();
  const read = new Set<number>();
  const language = fn.language ?? 'sql';
  if (language === 'plpgsql' && fn.plpgsqlSource && plpgsqlSql !== null && columnWins(fn)) {
    const parsed = parseFunctionBody(plpgsqlSql, parseSync);
    if (!parsed) return null;
    readBySqlScope(parsed.stmts ?? [], names, fname, defaultSchema, columnsOf, read);
  } else if (language === 'plpgsql') {
    const src = fn.plpgsqlSource;
    if (!src) return null;
    names.forEach((n, i) => {
      const esc = n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const dollar = new RegExp(`\\$${i + 1}(?![0-9])`);
      const bare = new RegExp(`(^|[^\\w$.])"?${esc}"?(?![\\w$])`, 'i');
      const qualifiedRef = fname ? new RegExp(`(^|[^\\w$.])"?${fname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\."?${esc}"?(?![\\w$])`, 'i') : null;
      if (dollar.test(src) || (n !== '' && (bare.test(src) || qualifiedRef?.test(src)))) read.add(i);
    });
  } else if (language === 'sql' && fn.body !== null) {
    const parsed = parseFunctionBody(fn.body, parseSync);
    if (!parsed) return null;
    readBySqlScope(parsed.stmts ?? [], names, fname, defaultSchema, columnsOf, read);
  } else return null;
  return new Set(names.map((_n, i) => i).filter((i) => !read.has(i)));
}

/** `#variable_conflict use_column` before the body's first DECLARE or BEGIN, or the setting in the function's SET options. */
export function columnWins(fn: FunctionSource): boolean {
  if ((fn.config ?? []).some((c) => /^plpgsql\.variable_conflict\s*=\s*"?use_column"?$/i.test(c.trim()))) return true;
  const head = (fn.plpgsqlSource ?? '').replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
  const m = /^\s*((?:#\w+\s+\w+\s*)+)/.exec(head);
  return m !== null && /#variable_conflict\s+use_column\b/i.test(m[1]!);
}

/**
 * The parameters `stmts` read, added to `read`: `$n`, `<function>.<name>`, or a bare name no
 * column of the relations in scope has (a column of that name wins, as in LANGUAGE sql).
 */
function readBySqlScope(stmts: unknown, names: readonly string[], fname: string, defaultSchema: string, columnsOf: (table: string) => readonly string[] | null, read: Set<number>): void {
  walk(stmts, (t, b, anc) => {
    if (t === 'ParamRef') read.add(Number(b['number']) - 1);
    if (t !== 'ColumnRef') return;
    const fields = strings(b['fields']);
    if (fields.length === 2 && fields[0]!.toLowerCase() === fname && names.includes(fields[1]!)) read.add(names.indexOf(fields[1]!));
    if (fields.length !== 1 || !names.includes(fields[0]!)) return;
    // The relations in scope where the name stands: every enclosing statement's FROM (a
    // sub-select in a FROM does not see its siblings), and an UPDATE or DELETE's target.
    const inScope: string[] = [];
    anc.forEach((a) => {
      if (a.via === 'fromClause') return;
      for (const k of ['fromClause', 'usingClause']) inScope.push(...localScope(a.body[k], defaultSchema).values());
      if ((a.type === 'UpdateStmt' || a.type === 'DeleteStmt') && a.body['relation']) inScope.push(...localScope([{ RangeVar: a.body['relation'] }], defaultSchema).values());
    });
    if (!inScope.some((q) => columnsOf(q)?.includes(fields[0]!))) read.add(names.indexOf(fields[0]!));
  });
}

/** A column a trigger function writes with a value taken from the row's user_metadata. */
export interface MetadataCopy {
  /** `schema.table` written (unqualified names resolved in the function's first search_path schema). */
  table: string;
  column: string;
  /** The only values it writes there, when the function bounds them (`case when r in ('client', 'professional') then r else 'client' end`); absent: whatever the user chose. */
  values?: string[];
}

/** What a trigger function writes according to the user's email: part of it, or under a test of it. */
export interface EmailDecisions {
  /** Columns so written; `table` is `schema.table` (unqualified names resolved in the function's first search_path schema). */
  columns: Array<{ table: string; column: string }>;
  /** Tables (`schema.table`) it inserts a row into only for the addresses a test picks (a staff row, a membership). */
  rows: string[];
}

/** A column a trigger function sets to the caller's id, and the TG_OP values it does so for (null: every one). */
export interface CallerAssignment {
  column: string;
  ops: string[] | null;
}

