/**
 * When two policy expressions mean the same. Both sides come from pg_get_expr,
 * so casts, parentheses and spacing are already Postgres's own; what still
 * differs between two ways of writing one condition is operand order:
 * `owner = (select auth.uid())` against `(select auth.uid()) = owner`, or
 * `a and b` against `b and a`. A diff that reported those would ask a reviewer
 * to approve a "may widen" change that changes nothing.
 *
 * Canonical form: the parse tree without positions, with AND/OR arguments
 * flattened and sorted, and the two sides of `=`, `<>` and IS [NOT] DISTINCT
 * FROM sorted (pg_catalog's are symmetric; Postgres resolves `b = a` to the
 * commutator of `a = b`). Other spellings of one expression, each a fact
 * about the value, not the plan: an array of constants written ARRAY[…] (how
 * pg_get_expr writes an IN list) or as a literal '{…}'::type[] (see constArray);
 * the elements of `= ANY` / `<> ALL` over such constants in any order, once each
 * (an OR / an AND of one comparison per element); arguments passed by name in
 * any order, and NOT (NOT x), which is x (pg_get_expr writes IS NOT DISTINCT FROM
 * as NOT (… IS DISTINCT FROM …)). Nothing else is reordered. Text that does not parse
 * is only equal to itself. One rename besides: CURRENT_ROLE, USER and "current_user"()
 * are CURRENT_USER (see sameUserFunction).
 *
 * IS [NOT] DISTINCT FROM is the exception the text cannot show: Postgres picks
 * its `=` by the operand types and pg_get_expr never names it, so with a user's
 * =(text, int) and another =(int, text) on the path, `status IS DISTINCT FROM 1`
 * and `1 IS DISTINCT FROM status` call different functions and select different
 * rows. Only the catalog knows (pg_policy's node tree, DISTINCTEXPR :opno;
 * Policy.usingSidesFixed / checkSidesFixed in the model), so the caller says
 * per comparison whether DISTINCT sides may be swapped.
 */
import { loadParser } from '../sql-text.js';

type Node = Record<string, unknown>;
type ParseSync = (sql: string) => unknown;

const SYMMETRIC_OPS = new Set(['=', '<>', '!=']);

/**
 * Where a node was written (ParseLoc fields, byte offsets into the text): they move
 * when operands are reordered, and mean nothing. Since the Postgres 18 grammar an
 * ARRAY[…] also records where its list starts and ends (A_ArrayExpr list_start,
 * list_end) and an IN (…) list too (A_Expr rexpr_list_start, rexpr_list_end), so
 * `location` alone is not enough: pg_get_expr writes every IN list as
 * `= ANY (ARRAY[…])`.
 */
const POSITION_KEYS = new Set(['location', 'name_location', 'stmt_location', 'stmt_len', 'list_start', 'list_end', 'rexpr_list_start', 'rexpr_list_end']);

function one(v: unknown): [string, Node] | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const keys = Object.keys(v);
  return keys.length === 1 && /^[A-Z]/.test(keys[0]!) ? [keys[0]!, (v as Record<string, Node>)[keys[0]!]!] : null;
}

/**
 * The operator's name when it is pg_catalog's: pg_get_expr (empty search_path) writes
 * those bare, and every other one as OPERATOR(schema.op). Only pg_catalog's `=` and
 * `<>` are known to be commutative (each has a commutator, oprcom, except xid = int4,
 * which has no int4 = xid to swap into); `OPERATOR(public.=)` may be a user's
 * (text, int) next to a different (int, text), so its sides are never swapped.
 */
function catalogOpName(body: Node): string {
  const names = ((body['name'] as unknown[] | undefined) ?? []).map((n) => String(one(n)?.[1]['sval'] ?? ''));
  return names.length === 1 || (names.length === 2 && names[0] === 'pg_catalog') ? names[names.length - 1]! : '';
}

/**
 * CURRENT_USER, CURRENT_ROLE, USER and a call of pg_catalog's "current_user"() are one
 * function: the executor evaluates all three keywords by calling current_user()
 * (execExprInterp.c, ExecEvalSQLValueFunction), and the docs call current_role and
 * user equivalent to current_user. Likewise SESSION_USER and "session_user"(). A bare
 * call is pg_catalog's: pg_get_expr (empty search_path) qualifies any other schema's.
 * Returns the keyword's op that stands for the node, or null.
 */
function sameUserFunction(type: string, body: Node): string | null {
  if (type === 'SQLValueFunction') return body['op'] === 'SVFOP_CURRENT_ROLE' || body['op'] === 'SVFOP_USER' ? 'SVFOP_CURRENT_USER' : null;
  if (type !== 'FuncCall' || body['args'] !== undefined || body['agg_star'] || body['agg_distinct'] || body['func_variadic'] || body['over'] || body['agg_filter'] || body['agg_order']) return null;
  const names = ((body['funcname'] as unknown[] | undefined) ?? []).map((n) => String(one(n)?.[1]['sval'] ?? ''));
  const name = names.length === 1 || (names.length === 2 && names[0] === 'pg_catalog') ? names[names.length - 1] : '';
  return name === 'current_user' ? 'SVFOP_CURRENT_USER' : name === 'session_user' ? 'SVFOP_SESSION_USER' : null;
}

/**
 * A one-dimensional array of constants of one type, as pg_get_expr writes it: ARRAY[…]
 * of constants (an IN list's form) or a literal '{…}'::type[] (get_const_expr). Each
 * element is its type's output text (what both forms print: array_out uses the
 * element type's output function), `null` for NULL. Null when the expression is
 * anything else, or when its type or its elements could be read two ways.
 *
 * ARRAY[…]: every element `'text'::type` of one type, or every element a bare
 * literal of one kind — an integer (int4: get_const_expr writes int4 bare unless
 * negative, and the grammar reads a bare integer in int4's range as int4), a number
 * with a decimal point (numeric, which get_const_expr writes bare only so; an
 * integer past int4 is int8 or numeric, so is not taken), or true/false (bool, whose
 * output is t/f). Mixed elements are not taken: the common type then hides implicit
 * casts pg_get_expr does not print. The literal: type[] of the same type, body
 * in array_out's form ({a,"b c",NULL}, no dimensions, no nesting). The type must be
 * pg_catalog's (a bare name under pg_get_expr's empty search_path, or
 * pg_catalog-qualified), without a typmod, and not box, the one built-in type whose
 * array delimiter is not a comma (pg_type.typdelim); a user's type may have any.
 */
function constArray(type: string, body: Node): { type: string; elems: Array<string | null> } | null {
  if (type === 'A_ArrayExpr') {
    const elements = (body['elements'] as unknown[] | undefined) ?? [];
    if (elements.length === 0) return null;
    let elemType: string | null = null;
    const elems: Array<string | null> = [];
    for (const e of elements) {
      const el = constElement(e);
      if (!el || (elemType !== null && el.type !== elemType)) return null;
      elemType = el.type;
      elems.push(el.text);
    }
    return { type: elemType!, elems };
  }
  if (type !== 'TypeCast') return null;
  const typeName = body['typeName'] as Node | undefined;
  const bounds = typeName?.['arrayBounds'] as unknown[] | undefined;
  const literal = one(body['arg']);
  if (!typeName || bounds?.length !== 1 || !literal || literal[0] !== 'A_Const' || !('sval' in literal[1])) return null;
  const elemType = catalogTypeKey(typeName);
  const elems = arrayOutElements(String((literal[1]['sval'] as Node)['sval'] ?? ''));
  return elemType !== null && elems !== null && elems.length > 0 ? { type: elemType, elems } : null;
}

/** The element type of a TypeName (array bounds left out), when it is pg_catalog's and not box; else null. */
function catalogTypeKey(typeName: Node): string | null {
  const names = ((typeName['names'] as unknown[] | undefined) ?? []).map((n) => String(one(n)?.[1]['sval'] ?? ''));
  if (!(names.length === 1 || (names.length === 2 && names[0] === 'pg_catalog')) || names[names.length - 1] === 'box') return null;
  // A typmod is left out: a constant printed with one already fits it, but read as an array literal's
  // element it would be checked (an error) where a cast truncates.
  if (typeName['setof'] || typeName['pct_type'] || typeName['typmods']) return null;
  const { arrayBounds: _bounds, ...rest } = typeName;
  return canon({ TypeName: { ...rest, names: names.map((sval) => ({ String: { sval } })) } }, true);
}

const INT4_KEY = () => catalogTypeKey({ names: [{ String: { sval: 'pg_catalog' } }, { String: { sval: 'int4' } }], typemod: -1 })!;
const NUMERIC_KEY = () => catalogTypeKey({ names: [{ String: { sval: 'pg_catalog' } }, { String: { sval: 'numeric' } }], typemod: -1 })!;
const BOOL_KEY = () => catalogTypeKey({ names: [{ String: { sval: 'pg_catalog' } }, { String: { sval: 'bool' } }], typemod: -1 })!;

/** One element of ARRAY[…] as (type, output text), or null (see constArray). libpg-query leaves 0 and false out ({}). */
function constElement(e: unknown): { type: string; text: string | null } | null {
  const n = one(e);
  if (!n) return null;
  const [type, body] = n;
  if (type === 'A_Const') {
    if (body['isnull']) return null; // NULL's type is the other elements': not taken
    if ('ival' in body) return { type: INT4_KEY(), text: String((body['ival'] as Node)['ival'] ?? 0) };
    if ('fval' in body) {
      const f = String((body['fval'] as Node)['fval'] ?? '');
      return /^[0-9]*\.[0-9]*$/.test(f) && /[0-9]/.test(f) ? { type: NUMERIC_KEY(), text: f } : null;
    }
    if ('boolval' in body) return { type: BOOL_KEY(), text: (body['boolval'] as Node)['boolval'] ? 't' : 'f' };
    return null;
  }
  if (type === 'TypeCast') {
    const arg = one(body['arg']);
    const typeName = body['typeName'] as Node | undefined;
    if (!arg || arg[0] !== 'A_Const' || !('sval' in arg[1] || arg[1]['isnull']) || !typeName || typeName['arrayBounds'] !== undefined) return null;
    const key = catalogTypeKey(typeName);
    // NULL::type: pg_get_expr writes a NULL element with its type.
    return key === null ? null : { type: key, text: arg[1]['isnull'] ? null : String((arg[1]['sval'] as Node)['sval'] ?? '') };
  }
  return null;
}

/**
 * The elements of a one-dimensional array literal in array_out's form, or null when
 * the text is not in that form: `{}` braces, elements split by commas, an element in
 * double quotes (with backslash escapes) when it is empty, holds a brace, comma,
 * quote, backslash or white space, or reads NULL; an unquoted NULL is a null element.
 */
function arrayOutElements(text: string): Array<string | null> | null {
  if (!text.startsWith('{') || !text.endsWith('}')) return null;
  const body = text.slice(1, -1);
  if (body === '') return [];
  const out: Array<string | null> = [];
  let i = 0;
  for (;;) {
    if (body[i] === '"') {
      let s = '';
      for (i++; i < body.length && body[i] !== '"'; i++) {
        if (body[i] === '\\') i++;
        if (i >= body.length) return null;
        s += body[i];
      }
      if (body[i] !== '"') return null;
      i++;
      out.push(s);
    } else {
      let j = i;
      while (j < body.length && body[j] !== ',') {
        if (/[{}"\\\s]/.test(body[j]!)) return null;
        j++;
      }
      const s = body.slice(i, j);
      if (s === '') return null;
      out.push(s.toUpperCase() === 'NULL' ? null : s);
      i = j;
    }
    if (i === body.length) return out;
    if (body[i] !== ',') return null;
    i++;
  }
}

const constArrayCanon = (a: { type: string; elems: Array<string | null> }, elems: Array<string | null>) =>
  `{"ConstArray":{"type":${a.type},"elems":${JSON.stringify(elems)}}}`;

/** The normalised tree as a JSON string (object keys in a fixed order); DISTINCT sides sorted when `swapDistinct`. */
function canon(v: unknown, swapDistinct: boolean): string {
  const canon_ = (x: unknown) => canon(x, swapDistinct);
  if (Array.isArray(v)) return `[${v.map(canon_).join(',')}]`;
  if (!v || typeof v !== 'object') return JSON.stringify(v);
  const node = one(v);
  if (node) {
    const [type, body] = node;
    const user = sameUserFunction(type, body);
    if (user) return canon({ SQLValueFunction: { op: user, typmod: -1 } }, swapDistinct);
    const array = constArray(type, body);
    if (array) return constArrayCanon(array, array.elems);
    if (type === 'BoolExpr' && body['boolop'] === 'NOT_EXPR') {
      // NOT (NOT x) is x for every x, NULL included (three-valued NOT is its own inverse).
      const inner = one((body['args'] as unknown[] | undefined)?.[0]);
      if (inner && inner[0] === 'BoolExpr' && inner[1]['boolop'] === 'NOT_EXPR') return canon_((inner[1]['args'] as unknown[])[0]);
    }
    if (type === 'FuncCall' && Array.isArray(body['args']) && (body['args'] as unknown[]).some((a) => one(a)?.[0] === 'NamedArgExpr')) {
      // Arguments passed by name are bound by their names, whatever their order (positional ones come first).
      const args = body['args'] as unknown[];
      const named = args.filter((a) => one(a)?.[0] === 'NamedArgExpr').map(canon_).sort();
      const positional = args.filter((a) => one(a)?.[0] !== 'NamedArgExpr').map(canon_);
      const rest = Object.keys(body).filter((k) => k !== 'args' && !POSITION_KEYS.has(k)).sort();
      return `{"FuncCall":{"args":[${[...positional, ...named].join(',')}],${rest.map((k) => `${JSON.stringify(k)}:${canon_(body[k])}`).join(',')}}}`;
    }
    if (type === 'A_Expr' && ((body['kind'] === 'AEXPR_OP_ANY' && catalogOpName(body) === '=') || (body['kind'] === 'AEXPR_OP_ALL' && catalogOpName(body) === '<>'))) {
      // x = ANY (constants) is an OR of x = c, and x <> ALL an AND of x <> c, over the elements:
      // their order and repeats do not change it. Only pg_catalog's = and <>: another operator may
      // raise an error for one element, and ANY stops at the first true.
      const r = one(body['rexpr']);
      const a = r ? constArray(r[0], r[1]) : null;
      if (a) {
        const elems = [...new Map(a.elems.map((e) => [JSON.stringify(e), e])).entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, e]) => e);
        return `{"A_Expr":{"kind":${JSON.stringify(body['kind'])},"name":${canon_(body['name'])},"lexpr":${canon_(body['lexpr'])},"rexpr":${constArrayCanon(a, elems)}}}`;
      }
    }
    if (type === 'BoolExpr' && (body['boolop'] === 'AND_EXPR' || body['boolop'] === 'OR_EXPR')) {
      const flat: unknown[] = [];
      const collect = (x: unknown) => {
        const n = one(x);
        if (n && n[0] === 'BoolExpr' && n[1]['boolop'] === body['boolop']) (n[1]['args'] as unknown[]).forEach(collect);
        else flat.push(x);
      };
      (body['args'] as unknown[]).forEach(collect);
      return `{"BoolExpr":{"boolop":${JSON.stringify(body['boolop'])},"args":[${flat.map(canon_).sort().join(',')}]}}`;
    }
    const kind = body['kind'];
    const distinct = kind === 'AEXPR_DISTINCT' || kind === 'AEXPR_NOT_DISTINCT';
    if (type === 'A_Expr' && ((kind === 'AEXPR_OP' && SYMMETRIC_OPS.has(catalogOpName(body))) || (distinct && swapDistinct))) {
      const sides = [canon_(body['lexpr']), canon_(body['rexpr'])].sort();
      return `{"A_Expr":{"kind":${JSON.stringify(kind)},"name":${canon_(body['name'])},"sides":[${sides.join(',')}]}}`;
    }
  }
  const keys = Object.keys(v as Node)
    .filter((k) => !POSITION_KEYS.has(k))
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canon_((v as Node)[k])}`).join(',')}}`;
}

/**
 * Whether two expressions are equal (NULL = no clause). `swapDistinct` false when
 * either expression has an IS [NOT] DISTINCT FROM whose `=` has no commutator (see
 * the file comment); true (the default) when all of theirs have one.
 */
export type SameExpression = (a: string | null, b: string | null, opts?: { swapDistinct?: boolean }) => boolean;

/** Equality of two policy expressions (NULL = no clause) up to operand order, given a parser. */
export function expressionsEqualWith(parseSync: ParseSync): SameExpression {
  const memo = [new Map<string, string | null>(), new Map<string, string | null>()];
  const form = (text: string, swapDistinct: boolean): string | null => {
    const m = memo[swapDistinct ? 1 : 0]!;
    if (!m.has(text)) {
      let c: string | null = null;
      try {
        c = canon((parseSync(`select ${text}`) as { stmts: unknown }).stmts, swapDistinct);
      } catch {
        c = null;
      }
      m.set(text, c);
    }
    return m.get(text)!;
  };
  return (a, b, opts) => {
    if (a === b) return true;
    if (a === null || b === null) return false;
    const swapDistinct = opts?.swapDistinct ?? true;
    const fa = form(a, swapDistinct);
    return fa !== null && fa === form(b, swapDistinct);
  };
}

/** The same, with rowguard's parser loaded. */
export async function expressionsEqual(): Promise<SameExpression> {
  return expressionsEqualWith((await loadParser()).parseSync);
}
