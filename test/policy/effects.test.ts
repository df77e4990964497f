// Which way an expression change moves access, decided on pg_get_expr's canonical text.
import { describe, expect, it } from 'vitest';
import { exprDirection, policyChangeHazard } from '../../cli/core/policy/effects.js';
import type { Policy } from '../../cli/core/catalog/model.js';

const ON = { rlsBefore: true, rlsAfter: true, exempt: new Set<string>() };
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

describe('policyChangeHazard: per role and command', () => {
  const p = (over: Partial<Policy>): Policy => ({ name: 'p', table: 'public.t', schema: 'public', tableName: 't', command: 'ALL', permissive: true, roles: ['authenticated'], using: '(a > 0)', check: null, comment: null, ...over });

  it('a kind flip together with a command change has the direction both parts share', () => {
    // Permissive ALL → restrictive SELECT: SELECT is now limited instead of granted, the writes are no longer granted.
    expect(policyChangeHazard(p({}), p({ permissive: false, command: 'SELECT' }))).toBe('narrows');
    expect(policyChangeHazard(p({ command: 'SELECT' }), p({ permissive: false, command: 'INSERT', using: null, check: '(a > 0)' }))).toBe('narrows');
    expect(policyChangeHazard(p({ permissive: false }), p({ command: 'SELECT' }))).toBe('widens');
    // Same kind, one command traded for another: one role gains what it loses elsewhere.
    expect(policyChangeHazard(p({ command: 'SELECT' }), p({ command: 'UPDATE' }))).toBe('may-widen');
  });

  it('without WITH CHECK, USING is the check: a WITH CHECK equal to USING changes nothing', () => {
    expect(policyChangeHazard(p({ check: '(a > 0)' }), p({}))).toBe('neutral');
    expect(policyChangeHazard(p({ command: 'UPDATE' }), p({ command: 'UPDATE', check: '(a > 0)' }))).toBe('neutral');
    // Removing a WITH CHECK looser than USING: new rows must now pass USING.
    expect(policyChangeHazard(p({ command: 'UPDATE', using: '((a > 0) AND (b > 0))', check: '(a > 0)' }), p({ command: 'UPDATE', using: '((a > 0) AND (b > 0))' }))).toBe('narrows');
    expect(policyChangeHazard(p({ command: 'UPDATE', check: '((a > 0) AND (b > 0))' }), p({ command: 'UPDATE' }))).toBe('widens');
  });

  it('a missing USING grants nothing on a permissive policy and limits nothing on a restrictive one', () => {
    expect(policyChangeHazard(p({ using: null, check: '(a > 0)' }), p({ check: '(a > 0)' }))).toBe('widens');
    expect(policyChangeHazard(p({ permissive: false, using: null, check: '(a > 0)' }), p({ permissive: false, check: '(a > 0)' }))).toBe('narrows');
  });

  it('a policy that grants nothing or limits nothing changes nothing by coming or going', () => {
    expect(policyChangeHazard(null, p({ permissive: false, using: 'true' }))).toBe('neutral');
    expect(policyChangeHazard(null, p({ using: 'false' }))).toBe('neutral');
    expect(policyChangeHazard(p({ using: 'false' }), p({ permissive: false, using: 'true' }))).toBe('neutral');
    expect(policyChangeHazard(null, p({ permissive: false }))).toBe('narrows');
    expect(policyChangeHazard(p({}), null)).toBe('narrows');
  });

  it('roles: PUBLIC reaches every role the policy does not name', () => {
    expect(policyChangeHazard(p({ roles: ['PUBLIC'] }), p({ roles: ['anon'] }))).toBe('narrows');
    expect(policyChangeHazard(p({ roles: ['anon'], permissive: false }), p({ roles: ['PUBLIC'], permissive: false }))).toBe('narrows');
    expect(policyChangeHazard(p({ roles: ['anon'] }), p({ roles: ['authenticated'] }))).toBe('may-widen');
  });
});

describe('request helpers moved into a scalar sub-select (what the auth-call-per-row lint asks for)', () => {
  it('are the same condition: neutral, also inside a larger change', () => {
    expect(exprDirection('(user_id = auth.uid())', '(user_id = ( SELECT auth.uid() AS uid))')).toBe('neutral');
    expect(exprDirection('(( SELECT auth.uid() AS uid) = user_id)', '(auth.uid() = user_id)')).toBe('neutral');
    expect(exprDirection("((auth.jwt() ->> 'role'::text) = 'admin'::text)", "((( SELECT auth.jwt() AS jwt) ->> 'role'::text) = 'admin'::text)")).toBe('neutral');
    expect(exprDirection("(org = (current_setting('app.org'::text, true))::integer)", "(org = (( SELECT current_setting('app.org'::text, true) AS current_setting))::integer)")).toBe('neutral');
    expect(exprDirection('(user_id = auth.uid())', '((user_id = ( SELECT auth.uid() AS uid)) AND (id > 0))')).toBe('narrows');
  });

  it('only those helpers, and never inside a string literal', () => {
    expect(exprDirection('(user_id = app.owner())', '(user_id = ( SELECT app.owner() AS owner))')).toBe('may-widen');
    expect(exprDirection('(f = random())', '(f = ( SELECT random() AS random))')).toBe('may-widen');
    expect(exprDirection("(s = 'auth.uid()'::text)", "(s = '( SELECT auth.uid() AS uid)'::text)")).toBe('may-widen');
  });
});
