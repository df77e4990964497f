/**
 * A helper that looks up the caller's own row and tests it, read as a CallerGate (expr.ts): the
 * ways through it as sets of atoms on that row. One reading serves every form the body takes —
 * a PL/pgSQL SELECT … INTO variables and a RETURN of them (plpgsql.ts hands its parts here), a
 * LANGUAGE sql or one-RETURN body that is `exists (select 1 from <table> where <key> = <the
 * caller's id> and …)`, or a scalar `select <test> from <table> where <key> = …` — since each is
 * a test over the one row the look-up finds. Pure.
 */
import { qualified } from '../catalog/model.js';
import { constBool, constString, listItems, nodeEntry as entry, opName, strings, walk, type CallerGate, type CallerSet, type GateArg } from './expr.js';

type Parse = (sql: string) => unknown;
type Body = Record<string, unknown>;
/** OR-ed ways through, each a set of AND-ed atoms. */
type Dnf = string[][];

/** The atom of a CallerGate way that needs the caller's row to exist. */
export const ROW_FOUND = '(row)';

/** A body this reading cannot follow. */
export class NotAGate extends Error {}

export const fail = (): never => {
  throw new NotAGate();
};

/** How a body names things that are not columns: its parameters (`p`, `$1`, `has_perm.p`) and, in PL/pgSQL, its variables. */
export interface Names {
  /** The parameters in order ('' for an unnamed one). */
  params: readonly string[];
  /** The function's own name, which may qualify a parameter (`has_perm.p`, as pg_get_function_sqlbody prints it). */
  fnName: string;
  /** Every other name that is no column (PL/pgSQL variables). */
  locals: ReadonlySet<string>;
}

/** The caller's row of one table as one SELECT finds it: `FROM <table> [alias] WHERE <key> = <the caller's id> [AND <filters>]`. */
export interface Lookup {
  table: string;
  /** The columns compared with the caller's id. */
  key: string[];
  /** The parameter that carries the caller's id, or null when the body reads auth.uid() itself. */
  callerParam: number | null;
  /** The column of the looked-up row `v` names (`o.role`, or a bare name that is neither a parameter nor a variable), or null. */
  column(v: unknown): string | null;
  /** The other conditions of the WHERE, AND-ed. */
  filters: unknown[];
}

/** Parameter references: their position, and the bare names read as parameters (kept in `bare`). */
function paramOf(v: unknown, names: Names, bare?: Set<string>): number | null {
  const e = entry(v);
  if (e?.[0] === 'ParamRef') return Number(e[1]['number'] ?? 0) - 1;
  if (e?.[0] !== 'ColumnRef') return null;
  const f = strings(e[1]['fields']);
  if (f.length === 1 && f[0] !== '' && names.params.includes(f[0]!)) {
    bare?.add(f[0]!);
    return names.params.indexOf(f[0]!);
  }
  if (f.length === 2 && f[0] === names.fnName && f[1] !== '' && names.params.includes(f[1]!)) return names.params.indexOf(f[1]!);
  return null;
}

/** `auth.uid()` or `(select auth.uid())`, the caller's id as a key test compares it. */
function isCallerCall(v: unknown): boolean {
  const n = entry(v)?.[0] === 'SubLink' && !entry(entry(v)![1]['subselect'])?.[1]['fromClause'] ? entry(entry((entry(entry(v)![1]['subselect'])?.[1]['targetList'] as unknown[] | undefined)?.[0])?.[1]['val']) : entry(v);
  return n?.[0] === 'FuncCall' && strings(n[1]['funcname']).join('.') === 'auth.uid' && !n[1]['args'];
}

/** A parse of `text` as exactly one statement. */
export function oneStatement(text: string, parseSync: Parse): unknown {
  let parsed: Array<{ stmt: unknown }>;
  try {
    parsed = (parseSync(text) as { stmts?: Array<{ stmt: unknown }> }).stmts ?? [];
  } catch {
    return fail();
  }
  return parsed.length === 1 ? parsed[0]!.stmt : fail();
}

/**
 * The look-up a SELECT is: one plain table (not ONLY, no join), nothing that reorders, groups or
 * limits the rows, and a WHERE whose AND-ed conditions include `<column> = <the caller's id>` (a
 * parameter, or auth.uid()), all with the same id. `bare` collects the bare names read as parameters.
 */
export function readLookup(select: unknown, names: Names, defaultSchema: string, bare: Set<string>): Lookup {
  const sel = entry(select);
  if (sel?.[0] !== 'SelectStmt') fail();
  const s = sel![1];
  for (const k of ['distinctClause', 'groupClause', 'havingClause', 'withClause', 'sortClause', 'limitOffset', 'lockingClause', 'larg', 'valuesLists', 'windowClause']) if (s[k]) fail();
  const from = (s['fromClause'] as unknown[] | undefined) ?? [];
  const rv = from.length === 1 ? entry(from[0]) : null;
  // FROM ONLY skips the rows of child tables; the parse leaves `inh` out (false) for it.
  if (rv?.[0] !== 'RangeVar' || rv[1]['inh'] !== true) fail();
  const relname = String(rv![1]['relname']);
  const table = qualified((rv![1]['schemaname'] as string | undefined) ?? defaultSchema, relname);
  // `operators o (a, b)` renames the columns: not read.
  if ((rv![1]['alias'] as Body | undefined)?.['colnames']) fail();
  const alias = ((rv![1]['alias'] as Body | undefined)?.['aliasname'] as string | undefined) ?? relname;
  const column = (v: unknown): string | null => {
    const e = entry(v);
    if (e?.[0] !== 'ColumnRef') return null;
    const f = strings(e[1]['fields']);
    if (f.length === 2 && f[0] === alias) return f[1]!;
    if (f.length === 1 && !names.params.includes(f[0]!) && !names.locals.has(f[0]!)) return f[0]!;
    return null;
  };
  if (!s['whereClause']) fail();
  const conjuncts: unknown[] = [];
  const flatten = (v: unknown) => {
    const e = entry(v);
    if (e?.[0] === 'BoolExpr' && e[1]['boolop'] === 'AND_EXPR') ((e[1]['args'] as unknown[]) ?? []).forEach(flatten);
    else conjuncts.push(v);
  };
  flatten(s['whereClause']);
  const key: string[] = [];
  let callerParam: number | null | undefined;
  const filters: unknown[] = [];
  // Where the body compares a column with auth.uid() itself, that is the caller's key, and a column compared with a
  // parameter is a filter (`tm.team_id = p_team_id and tm.user_id = auth.uid()`); otherwise a parameter carries the id.
  const readsCaller = conjuncts.some((c) => {
    const e = entry(c);
    return e?.[0] === 'A_Expr' && e[1]['kind'] === 'AEXPR_OP' && opName(e[1]) === '=' && ((column(e[1]['lexpr']) !== null && isCallerCall(e[1]['rexpr'])) || (column(e[1]['rexpr']) !== null && isCallerCall(e[1]['lexpr'])));
  });
  for (const c of conjuncts) {
    const e = entry(c);
    if (e?.[0] === 'A_Expr' && e[1]['kind'] === 'AEXPR_OP' && opName(e[1]) === '=') {
      const pairs = [
        [e[1]['lexpr'], e[1]['rexpr']],
        [e[1]['rexpr'], e[1]['lexpr']],
      ] as const;
      const hit = pairs.find(([x, y]) => column(x) !== null && (readsCaller ? isCallerCall(y) : paramOf(y, names) !== null));
      if (hit) {
        const p = paramOf(hit[1], names, bare);
        if (callerParam !== undefined && callerParam !== p) fail();
        callerParam = p;
        key.push(column(hit[0])!);
        continue;
      }
    }
    filters.push(c);
  }
  if (key.length === 0) fail();
  return { table, key: [...new Set(key)].sort(), callerParam: callerParam ?? null, column, filters };
}

const and = (parts: Dnf[]): Dnf => parts.reduce<Dnf>((acc, x) => acc.flatMap((a) => x.map((y) => [...new Set([...a, ...y])])), [[]]);

/**
 * A test as ways through (null when it is not one this reading follows): AND/OR of columns of the
 * row (`column`) compared with string constants (= or IN), boolean columns, `IS NOT NULL`, and
 * parameters compared with constants, folded with the call's arguments (an argument that is no
 * constant leaves it open: null). `sub` reads a sub-select standing as a test of its own. No NOT:
 * every atom is true only for a non-NULL value, so a NULL anywhere fails its way, as WHERE and a
 * policy treat NULL.
 */
function dnf(v: unknown, column: (v: unknown) => string | null, args: readonly GateArg[], names: Names, sub: (v: unknown) => Dnf | null): Dnf | null {
  const valueOf = (x: unknown): { column: string } | { value: string } | { open: true } | null => {
    const n = entry(x)?.[0] === 'TypeCast' ? entry(x)![1]['arg'] : x;
    const c = column(n);
    if (c !== null) return { column: c };
    const p = paramOf(n, names);
    if (p !== null) {
      const a = args[p];
      return a && a !== 'caller' && 'value' in a ? { value: a.value } : { open: true };
    }
    const b = constBool(x);
    if (b !== null) return { value: String(b) };
    const str = constString(x);
    return str !== null ? { value: str } : null;
  };
  const equal = (x: ReturnType<typeof valueOf>, y: ReturnType<typeof valueOf>): Dnf | null => {
    if (!x || !y || 'open' in x || 'open' in y) return null;
    if ('column' in x && 'column' in y) return null;
    if ('column' in x) return [[`${x.column}=${(y as { value: string }).value}`]];
    if ('column' in y) return [[`${y.column}=${x.value}`]];
    return x.value === y.value ? [[]] : [];
  };
  const go = (x: unknown): Dnf | null => {
    const [t, b] = entry(x) ?? ['', {}];
    const b1 = constBool(x);
    if (b1 !== null) return b1 ? [[]] : [];
    if (t === 'BoolExpr' && (b['boolop'] === 'AND_EXPR' || b['boolop'] === 'OR_EXPR')) {
      const parts = ((b['args'] as unknown[] | undefined) ?? []).map(go);
      if (parts.some((p) => p === null)) return null;
      return b['boolop'] === 'OR_EXPR' ? parts.flatMap((p) => p!) : and(parts as Dnf[]);
    }
    if (t === 'A_Expr' && b['kind'] === 'AEXPR_OP' && opName(b) === '=') return equal(valueOf(b['lexpr']), valueOf(b['rexpr']));
    if (t === 'A_Expr' && b['kind'] === 'AEXPR_IN' && opName(b) === '=') {
      const list = listItems(b['rexpr']);
      if (!list) return null;
      const parts = list.map((y) => equal(valueOf(b['lexpr']), valueOf(y)));
      return parts.some((p) => p === null) ? null : parts.flatMap((p) => p!);
    }
    if (t === 'NullTest' && (b['nulltesttype'] === 'IS_NOT_NULL' || b['nulltesttype'] === 'IS_NULL')) {
      const c = column(entry(b['arg'])?.[0] === 'TypeCast' ? entry(b['arg'])![1]['arg'] : b['arg']);
      return c !== null ? [[`${c} ${b['nulltesttype'] === 'IS_NULL' ? 'isnull' : 'notnull'}`]] : null;
    }
    // `o.role::text = any (p_roles)`, the parameter handed a constant ARRAY (or an ARRAY written in the body): one way per value.
    if (t === 'A_Expr' && b['kind'] === 'AEXPR_OP_ANY' && opName(b) === '=') {
      const r = entry(b['rexpr'])?.[0] === 'TypeCast' ? entry(b['rexpr'])![1]['arg'] : b['rexpr'];
      const p = paramOf(r, names);
      const a = p !== null ? args[p] : undefined;
      const items = p !== null ? (a && a !== 'caller' && 'values' in a ? a.values : null) : (listItems(r)?.map(constString) ?? null);
      if (!items || items.some((v) => v === null)) return null;
      const parts = items.map((v) => equal(valueOf(b['lexpr']), { value: v! }));
      return parts.some((x) => x === null) ? null : parts.flatMap((x) => x!);
    }
    if (t === 'ColumnRef') {
      const y = valueOf(x);
      return y && 'column' in y ? [[`${y.column}=true`]] : y && 'value' in y ? (y.value === 'true' ? [[]] : []) : null;
    }
    if (t === 'SubLink') return sub(x);
    return null;
  };
  return go(v);
}

/** What the test reads the row through: the look-up, how the test names the row's columns, and what holds whatever the test says. */
export interface RowReading {
  lookup: Lookup;
  /** The column a name in the test stands for (a PL/pgSQL variable the look-up filled, or the row's own column). */
  column(v: unknown): string | null;
  /** The body yields false or NULL without the row, whatever the test says (`if not found then return false`, a scalar SELECT). */
  needsRow: boolean;
  /** Atoms every way through needs besides (`role notnull` after `if r is null then return false`). */
  extra: string[];
  /** The test is the look-up's own target list (`select o.role = 'founder' from …`), where the table's columns are in scope. */
  testInLookup: boolean;
}

/**
 * The gate `test` is (read by dnf): over the row `row` reads, or, with no row, over sub-selects
 * standing as tests of their own — `exists (<look-up>)` (true only with the row) or a scalar
 * `(select <test> from <look-up>)` (NULL without it) — which must all look up the same row. A way
 * through that tests the row needs it (ROW_FOUND) and every condition of its WHERE; a way that
 * tests only parameters passes with no row at all, unless the body needs the row anyway.
 */
export function gateOf(test: unknown, row: RowReading | null, names: Names, defaultSchema: string, bare: Set<string>): CallerGate {
  const subs = new Map<unknown, { lookup: Lookup; test: unknown }>();
  if (row) walk(test, (type) => type === 'SubLink' && fail());
  // The outermost sub-selects (what is inside one, `(select auth.uid())` in its WHERE, is its look-up's).
  walk(test, (type, b, ancestors) => {
    if (type !== 'SubLink' || ancestors.some((a) => a.type === 'SubLink')) return;
    const sel = entry(b['subselect'])?.[1];
    const kind = b['subLinkType'];
    if (kind === 'EXISTS_SUBLINK') subs.set(b, { lookup: readLookup(b['subselect'], names, defaultSchema, bare), test: { A_Const: { boolval: { boolval: true } } } });
    else if (kind === 'EXPR_SUBLINK' && ((sel?.['targetList'] as unknown[] | undefined)?.length ?? 0) === 1) {
      subs.set(b, { lookup: readLookup(b['subselect'], names, defaultSchema, bare), test: entry((sel!['targetList'] as unknown[])[0])![1]['val'] });
    } else fail();
  });
  const lookups = [...(row ? [row.lookup] : []), ...[...subs.values()].map((x) => x.lookup)];
  const first = lookups[0] ?? fail();
  const sameRow = (l: Lookup) => l.table === first.table && l.key.join() === first.key.join() && l.callerParam === first.callerParam;
  if (!lookups.every(sameRow)) fail();
  // A sub-select inside one on the row, or in the WHERE of a look-up, is not read.
  for (const l of lookups) walk(l.filters, (type) => type === 'SubLink' && fail());
  // Every bare name read as a parameter where the table's columns are in scope (paramNames).
  walk([row?.testInLookup ? test : [], [...subs.values()].map((x) => x.test), lookups.map((l) => l.filters)], (type, b) => {
    if (type === 'ColumnRef') paramOf({ ColumnRef: b }, names, bare);
  });
  for (const { test: t } of subs.values()) walk(t, (type) => type === 'SubLink' && fail());

  /** The ways through `ways` (tests of `lookup`'s row) once the row must be there and pass the look-up's WHERE (but `skip`). */
  const within = (lookup: Lookup, ways: Dnf, needsRow: boolean, extra: readonly string[], args: readonly GateArg[], skip?: unknown): Dnf | null => {
    const where = lookup.filters.filter((f) => f !== skip).map((f) => dnf(f, lookup.column, args, names, () => null));
    if (where.some((w) => w === null)) return null;
    const found = and(where as Dnf[]);
    return ways.flatMap((w) => (needsRow || w.length > 0 ? found.map((f) => [...new Set([...w, ...f, ...extra, ROW_FOUND])].sort()) : [[]]));
  };
  /** The ways through for `args`, the look-up's filter `skip` left out. */
  const waysFor = (args: readonly GateArg[], skip?: unknown): Dnf | null => {
    if (first.callerParam !== null && args[first.callerParam] !== 'caller') return null;
    const sub = (v: unknown): Dnf | null => {
      const s = subs.get(entry(v)?.[1]);
      if (!s) return null;
      const ways = dnf(s.test, s.lookup.column, args, names, () => null);
      return ways === null ? null : within(s.lookup, ways, true, [], args, skip);
    };
    if (!row) return dnf(test, () => null, args, names, sub);
    const ways = dnf(test, row.column, args, names, () => null);
    return ways === null ? null : within(row.lookup, ways, row.needsRow, row.extra, args, skip);
  };
  return {
    table: first.table,
    key: first.key,
    paramNames: [...bare].sort(),
    passes: (args) => waysFor(args),
    yieldsFor(args) {
      const at = args.flatMap((a, i) => (a && a !== 'caller' && 'column' in a ? [i] : []));
      if (at.length !== 1 || lookups.length !== 1) return null;
      const i = at[0]!;
      // The parameter is read once, in a filter `<column of the row> = <parameter>` of the one look-up.
      let reads = 0;
      walk(row ? [test, first.filters] : test, (type, b) => {
        if ((type === 'ColumnRef' || type === 'ParamRef') && paramOf({ [type]: b }, names) === i) reads++;
      });
      const strip = (v: unknown) => (entry(v)?.[0] === 'TypeCast' ? entry(v)![1]['arg'] : v);
      const filter = first.filters.find((f) => {
        const e = entry(f);
        if (e?.[0] !== 'A_Expr' || e[1]['kind'] !== 'AEXPR_OP' || opName(e[1]) !== '=') return false;
        const [l, r] = [strip(e[1]['lexpr']), strip(e[1]['rexpr'])];
        return (first.column(l) !== null && paramOf(r, names) === i) || (first.column(r) !== null && paramOf(l, names) === i);
      });
      if (reads !== 1 || !filter) return null;
      const e = entry(filter)![1];
      const yields = first.column(strip(e['lexpr'])) ?? first.column(strip(e['rexpr']))!;
      const ways = waysFor(args, filter);
      return ways === null ? null : { yields, column: (args[i] as { column: string }).column, ways };
    },
  };
}

/** Whether a function result type is boolean (what a gate a policy calls as a test returns). */
const BOOLEAN = /^(boolean|bool|pg_catalog\.bool(ean)?)$/i;

/**
 * The gate a helper whose body is one SELECT is (a LANGUAGE sql body, or a PL/pgSQL one that is
 * one RETURN, as readPlpgsql gives it), or null:
 *  - `select <test> from <table> where <key> = <the caller's id> [and …]`: the first row's test,
 *    NULL without a row (a unique key leaves one row: the rule checks);
 *  - `select <test>` with no FROM, the test AND/OR of parameter tests and sub-selects on the
 *    caller's row: `exists (select 1 from <table> where <key> = … and …)`, `(select <test> from …)`.
 */
export function sqlCallerGate(fn: { name: string; args: readonly string[]; returns: string }, sql: string, locals: readonly string[], defaultSchema: string, parseSync: Parse): CallerGate | null {
  if (!BOOLEAN.test(fn.returns.trim())) return null;
  const names: Names = { params: fn.args, fnName: fn.name, locals: new Set(locals) };
  const bare = new Set<string>();
  try {
    const text = /^\s*RETURN\s/i.test(sql) ? sql.replace(/^\s*RETURN\s/i, 'select ') : sql;
    const sel = entry(oneStatement(text, parseSync));
    if (sel?.[0] !== 'SelectStmt') return null;
    const targets = (sel[1]['targetList'] as unknown[] | undefined) ?? [];
    if (targets.length !== 1) return null;
    const test = entry(targets[0])?.[1]['val'];
    if (!sel[1]['fromClause']) {
      for (const k of ['whereClause', 'distinctClause', 'groupClause', 'havingClause', 'withClause', 'sortClause', 'limitOffset', 'limitCount', 'lockingClause', 'larg', 'valuesLists', 'windowClause']) if (sel[1][k]) return null;
      return gateOf(test, null, names, defaultSchema, bare);
    }
    const lookup = readLookup({ SelectStmt: sel[1] }, names, defaultSchema, bare);
    return gateOf(test, { lookup, column: lookup.column, needsRow: true, extra: [], testInLookup: true }, names, defaultSchema, bare);
  } catch (e) {
    if (e instanceof NotAGate) return null;
    throw e;
  }
}

const SETOF = /^setof\s/i;

/**
 * The CallerSet a set-returning helper is when its body is one SELECT of one column of the caller's
 * rows: `select <column> from <table> where <key> = <the caller's id> [and <filters>]`, DISTINCT or
 * not (it yields the same values); null otherwise (a join, LIMIT, ORDER BY, anything computed). Its
 * ways through are the filters' (the test is the row being there).
 */
export function sqlCallerSet(fn: { name: string; args: readonly string[]; returns: string }, sql: string, locals: readonly string[], defaultSchema: string, parseSync: Parse): CallerSet | null {
  if (!SETOF.test(fn.returns.trim())) return null;
  const names: Names = { params: fn.args, fnName: fn.name, locals: new Set(locals) };
  const bare = new Set<string>();
  try {
    const sel = entry(oneStatement(sql, parseSync));
    if (sel?.[0] !== 'SelectStmt' || sel[1]['limitCount']) return null;
    const targets = (sel[1]['targetList'] as unknown[] | undefined) ?? [];
    if (targets.length !== 1) return null;
    // DISTINCT (not DISTINCT ON, which is a list of expressions) keeps every value: the set is the same.
    const distinct = sel[1]['distinctClause'] as unknown[] | undefined;
    if (distinct && !(distinct.length === 1 && entry(distinct[0]) === null)) return null;
    const lookup = readLookup({ SelectStmt: { ...sel[1], distinctClause: undefined } }, names, defaultSchema, bare);
    const yields = lookup.column(entry(targets[0])?.[1]['val']);
    if (yields === null) return null;
    const gate = gateOf({ A_Const: { boolval: { boolval: true } } }, { lookup, column: lookup.column, needsRow: true, extra: [], testInLookup: false }, names, defaultSchema, bare);
    return { ...gate, yields };
  } catch (e) {
    if (e instanceof NotAGate) return null;
    throw e;
  }
}
