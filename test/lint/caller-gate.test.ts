/**
 * The caller-row gate reading (caller-gate.ts) on its own: the ways through each form of body for
 * one call's arguments, and the bodies it must not read as a gate. Pure (the parser only); what the
 * rule then decides, and that Postgres agrees, is in semantics.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { sqlCallerGate } from '../../cli/core/lint/caller-gate.js';
import { plpgsqlCallerGate } from '../../cli/core/lint/plpgsql.js';
import type { GateArg } from '../../cli/core/lint/expr.js';
import { loadParser } from '../../cli/core/sql-text.js';

let parser: Awaited<ReturnType<typeof loadParser>>;
beforeAll(async () => {
  parser = await loadParser();
});

const gate = (body: string, args = ['p', 'v'], returns = 'boolean') => sqlCallerGate({ name: 'has_perm', args, returns }, body, [], 'public', parser.parseSync);
const asked = (p: string): GateArg[] => [{ value: p }, 'caller'];
const exists = (where: string) => `select exists (select 1 from public.operators o where ${where})`;

describe('sqlCallerGate', () => {
  it('exists (…): every way needs the row and its WHERE, parameters folded with the call', () => {
    const g = gate(exists(`o.user_id = v and o.is_active and (o.role = 'founder' or p = 'read')`));
    expect(g && { table: g.table, key: g.key, paramNames: g.paramNames }).toEqual({ table: 'public.operators', key: ['user_id'], paramNames: ['p', 'v'] });
    expect(g!.passes(asked('manage'))).toEqual([['(row)', 'is_active=true', 'role=founder']]);
    expect(g!.passes(asked('read'))).toEqual([
      ['(row)', 'is_active=true', 'role=founder'],
      ['(row)', 'is_active=true'],
    ]);
    // The caller's id must be what the key is compared with; an argument that is no constant leaves it open.
    expect(g!.passes([{ value: 'manage' }, { value: '00000000-0000-4000-8000-000000000001' }])).toBeNull();
    expect(g!.passes([null, 'caller'])).toBeNull();
  });

  it('a scalar test of the row is NULL without one: even a way that tests only parameters needs the row', () => {
    const g = gate(`select o.role = 'founder' or p = 'read' from public.operators o where o.user_id = v`);
    expect(g!.passes(asked('read'))).toEqual([['(row)', 'role=founder'], ['(row)']]);
    const sub = gate(`select (select o.role in ('founder', 'owner') from public.operators o where o.user_id = (select auth.uid()))`, []);
    expect(sub!.passes([])).toEqual([['(row)', 'role=founder'], ['(row)', 'role=owner']]);
  });

  it('a parameter test OR-ed with the exists passes without any row; auth.uid() in the body needs no argument', () => {
    const g = gate(`select p = 'join' or ${exists(`o.user_id = auth.uid() and o.role = 'founder'`).replace(/^select /, '')}`, ['p']);
    expect(g!.passes([{ value: 'join' }])).toEqual([[], ['(row)', 'role=founder']]);
    expect(g!.passes([{ value: 'manage' }])).toEqual([['(row)', 'role=founder']]);
    // A SQL-standard body as pg_get_function_sqlbody prints it, the parameter qualified with the function's name.
    const printed = gate(`RETURN (EXISTS ( SELECT 1 FROM public.operators o WHERE ((o.user_id = has_perm.v) AND (o.role = 'founder'::text))))`);
    expect(printed!.passes(asked('manage'))).toEqual([['(row)', 'role=founder']]);
  });

  it('reads nothing else as a gate', () => {
    for (const body of [
      `select not ${exists(`o.user_id = v and o.role = 'founder'`).replace(/^select /, '')}`,
      exists(`(o.user_id = v or o.role = 'founder')`),
      exists(`o.user_id = v and o.role <> 'founder'`),
      exists(`o.user_id = v and o.org_id in (select org_id from public.orgs)`),
      `select exists (select 1 from public.operators o join public.orgs g on g.id = o.org_id where o.user_id = v)`,
      `select exists (select 1 from only public.operators o where o.user_id = v)`,
      `select exists (select 1 from public.operators o (a, b) where o.a = v)`,
      `select o.role = 'founder' from public.operators o where o.user_id = v order by o.role`,
      `select exists (select 1 from public.operators o where o.user_id = v) and exists (select 1 from public.orgs g where g.owner = v)`,
      `select coalesce((select o.role = 'founder' from public.operators o where o.user_id = v), true)`,
      `select p = 'read'`,
      `select 1; ${exists('o.user_id = v')}`,
      `begin atomic ${exists('o.user_id = v')}; end`,
    ]) {
      const g = gate(body);
      expect(g === null ? null : g.passes(asked('manage')), body).toBeNull();
    }
    expect(gate(exists('o.user_id = v'), ['p', 'v'], 'setof boolean')).toBeNull();
  });

  it('names the bare names read as parameters where the table is in scope (a column of that name would be read instead)', () => {
    expect(gate(exists(`o.user_id = $2 and o.role = 'founder'`))!.paramNames).toEqual([]);
    expect(gate(`select o.role = p from public.operators o where o.user_id = has_perm.v`)?.paramNames).toEqual(['p']);
    // In PL/pgSQL, a RETURN over the INTO variables has no table in scope: only the look-up's names count.
    const into = plpgsqlCallerGate(
      { name: 'has_perm', args: 'p text, v uuid', returns: 'boolean', source: `declare r text; begin select o.role into r from public.operators o where o.user_id = v; if r is null then return false; end if; return r = 'founder' or p = 'read'; end` },
      'public',
      parser.parsePlPgSQLSync,
      parser.parseSync,
    );
    expect(into!.paramNames).toEqual(['v']);
    expect(into!.passes(asked('manage'))).toEqual([['(row)', 'role notnull', 'role=founder']]);
  });
});
