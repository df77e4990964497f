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
 * commutator of `a = b`). Nothing else is reordered. Text that does not parse
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
