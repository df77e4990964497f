// Which way an expression change moves access, decided on pg_get_expr's canonical text.
import { describe, expect, it } from 'vitest';
import { exprDirection } from '../../cli/core/policy/effects.js';

const ON = { before: true, after: true };
const own = '(( SELECT auth.uid() AS uid) = user_id)';

describe('exprDirection', () => {
  it('adding a conjunct narrows, adding a disjunct widens, and the reverse', () => {
    expect(exprDirection(own, `(${own} AND (name IS NOT NULL))`)).toBe('narrows');
    expect(exprDirection(own, `((name IS NOT NULL) AND ${own})`)).toBe('narrows');
    expect(exprDirection(own, `(${own} OR (is_public = true))`)).toBe('widens');
    expect(exprDirection(`(${own} AND (name IS NOT NULL))`, own)).toBe('widens');
    expect(exprDirection(`(${own} OR (is_public = true))`, own)).toBe('narrows');
  });

  it('sees conjuncts of a flattened AND', () => {
    const two = `(${own} AND (a = 1))`;
    expect(exprDirection(two, `(${own} AND (a = 1) AND (b = 2))`)).toBe('narrows');
    expect(exprDirection(`(${own} AND (a = 1) AND (b = 2))`, two)).toBe('widens');
  });

  it('true admits every row and false none, whatever the policy kind', () => {
    expect(exprDirection(own, 'true')).toBe('widens');
    expect(exprDirection('true', own)).toBe('narrows');
    expect(exprDirection('false', own)).toBe('widens');
  });

  it('anything else is may-widen: only a person can tell', () => {
    expect(exprDirection(own, '(( SELECT auth.uid() AS uid) = owner_id)')).toBe('may-widen');
    // A look-alike operand inside a string or a function call is not an operand.
    expect(exprDirection('(a = 1)', "((a = 1) AND (b = '(x) AND (a = 1)'))")).toBe('narrows');
    expect(exprDirection('(a = 1)', "(f((a = 1) AND (b = 2)) AND (c = 3))")).toBe('may-widen');
    expect(exprDirection(own, own)).toBe('neutral');
  });
});

describe('alterEffects on a restrictive policy', () => {
  it('an expression admitting more rows lifts the restriction: widens', async () => {
    const { alterEffects } = await import('../../cli/core/policy/effects.js');
    const base = { name: 'only_active', table: 'public.t', schema: 'public', tableName: 't', command: 'SELECT' as const, permissive: false, roles: ['authenticated'], check: null, comment: null };
    expect(alterEffects({ ...base, using: '(active = true)' }, { ...base, using: 'true' }, ON).hazard).toBe('widens');
    expect(alterEffects({ ...base, using: '(active = true)' }, { ...base, using: '((active = true) AND (archived = false))' }, ON).hazard).toBe('narrows');
  });
});
