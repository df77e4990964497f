/** Policy expressions equal up to operand order, never beyond it. */
import { beforeAll, describe, expect, it } from 'vitest';
import { expressionsEqual, type SameExpression } from '../../cli/core/policy/expr-equal.js';

let same: SameExpression;
beforeAll(async () => {
  same = await expressionsEqual();
});

describe('expressionsEqual', () => {
  it('swapped sides of =, <> and IS [NOT] DISTINCT FROM, and reordered AND/OR arguments, are equal', () => {
    expect(same('(user_id = ( SELECT auth.uid() AS uid))', '(( SELECT auth.uid() AS uid) = user_id)')).toBe(true);
    expect(same('(a <> 1)', '(1 <> a)')).toBe(true);
    expect(same('(a IS DISTINCT FROM b)', '(b IS DISTINCT FROM a)')).toBe(true);
    expect(same('(a IS NOT DISTINCT FROM b)', '(b IS NOT DISTINCT FROM a)')).toBe(true);
    expect(same("((a = 1) AND (b = 'x'::text) AND c)", "(c AND ((b = 'x'::text) AND (1 = a)))")).toBe(true);
    expect(same('(((a = 1) AND b) OR c)', '(c OR (b AND (1 = a)))')).toBe(true);
    expect(same('(NOT (a = b))', '(NOT (b = a))')).toBe(true);
    expect(same('f((a = b))', 'f((b = a))')).toBe(true);
    expect(same(null, null)).toBe(true);
  });

  it('IS [NOT] DISTINCT FROM sides are swapped only when the caller says every = under it has a commutator', () => {
    // The common case (pg_catalog's =, citext's =; the default): swapped sides are operand order.
    expect(same('(a IS DISTINCT FROM b)', '(b IS DISTINCT FROM a)', { swapDistinct: true })).toBe(true);
    // A user's =(text, int) beside another =(int, text): the text cannot show which one runs.
    expect(same('(a IS DISTINCT FROM b)', '(b IS DISTINCT FROM a)', { swapDistinct: false })).toBe(false);
    expect(same('(NOT (a IS DISTINCT FROM b))', '(NOT (b IS DISTINCT FROM a))', { swapDistinct: false })).toBe(false);
    expect(same('((a IS DISTINCT FROM b) AND (c = 1))', '((1 = c) AND (b IS DISTINCT FROM a))', { swapDistinct: false })).toBe(false);
    // Everything else still compares as before: AND/OR order, pg_catalog's = and <>, DISTINCT as written.
    expect(same('((a IS DISTINCT FROM b) AND (c = 1))', '((1 = c) AND (a IS DISTINCT FROM b))', { swapDistinct: false })).toBe(true);
    expect(same('((x <> y) OR (a IS DISTINCT FROM b))', '((a IS DISTINCT FROM b) OR (y <> x))', { swapDistinct: false })).toBe(true);
    // NULLIF also finds its = by the types, but its arguments are never swapped (it returns the first).
    expect(same('(NULLIF(a, b) IS NULL)', '(NULLIF(b, a) IS NULL)')).toBe(false);
  });

  it('anything else that differs is a change', () => {
    expect(same('(a < b)', '(b < a)')).toBe(false);
    expect(same('(a - b)', '(b - a)')).toBe(false);
    expect(same('((a = 1) AND (b = 2))', '((a = 1) OR (b = 2))')).toBe(false);
    expect(same('(a AND (b OR c))', '((a AND b) OR c)')).toBe(false);
    expect(same('(a = ANY (b))', '(b = ANY (a))')).toBe(false);
    expect(same('f(a, b)', 'f(b, a)')).toBe(false);
    expect(same('CASE WHEN a THEN 1 ELSE 2 END', 'CASE WHEN (NOT a) THEN 2 ELSE 1 END')).toBe(false);
    expect(same("(a = 'x'::text)", "(a = 'y'::text)")).toBe(false);
    expect(same('true', null)).toBe(false);
    // Text that does not parse equals only itself.
    expect(same('(a = ', '(a = ')).toBe(true);
    expect(same('(a = ', '( = a')).toBe(false);
  });
});
