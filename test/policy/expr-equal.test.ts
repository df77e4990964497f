/** Policy expressions equal up to operand order, never beyond it. */
import { beforeAll, describe, expect, it } from 'vitest';
import { expressionsEqual } from '../../cli/core/policy/expr-equal.js';

let same: (a: string | null, b: string | null) => boolean;
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
