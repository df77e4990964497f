import { describe, expect, it } from 'vitest';
import { planPolicyChanges, type PolicyPlan, type Step } from '../../cli/core/policy/plan.js';
import { renderScript, stepSql, renderPolicyFile } from '../../cli/core/policy/render.js';
import { isWidening } from '../../cli/core/policy/effects.js';
import { assertWideningAllowed, isLocalDatabase } from '../../cli/core/policy/apply.js';
import { encodeNamePart, parsePolicyFileName, policyFileName } from '../../cli/core/policy/files.js';
import { securityStateOf, type SecurityState } from '../../cli/core/policy/state.js';
import { API, modelOf, randomTable, rng, simulate, stateOf, type TableRow } from './fixtures.js';

/** Plan, prove it runs (names free when needed) and reaches the desired state. */
function plan(from: TableRow[], to: TableRow[]): { p: PolicyPlan; sql: string[] } {
  const a = stateOf(from);
  const b = stateOf(to);
  const p = planPolicyChanges(a, b);
  const reached: SecurityState = simulate(a, p.steps);
  expect(planPolicyChanges(reached, b).steps).toEqual([]);
  return { p, sql: p.steps.map(stepSql) };
}

const T = 'public.items';
const own = { name: 'own', cmd: 'r' as const, roles: ['authenticated'], using: '(user_id = auth.uid())' };

describe('policy planner: one kind of change at a time', () => {
  it('equal states give no steps', () => {
    const rows: TableRow[] = [{ table: T, rls: true, force: true, grants: { authenticated: ['SELECT'] }, policies: [own] }];
    expect(plan(rows, rows).p.steps).toEqual([]);
  });

  it('role order is a set: no steps', () => {
    const a = [{ table: T, rls: true, policies: [{ ...own, roles: ['anon', 'authenticated'] }] }];
    const b = [{ table: T, rls: true, policies: [{ ...own, roles: ['authenticated', 'anon'] }] }];
    expect(plan(a, b).p.steps).toEqual([]);
  });

  it('adds a permissive policy: create, widens', () => {
    const { p, sql } = plan([{ table: T, rls: true }], [{ table: T, rls: true, policies: [own] }]);
    expect(sql).toEqual(['create policy own on public.items as permissive for select to authenticated using ((user_id = auth.uid()));']);
    expect(p.steps[0]!.hazard).toBe('widens');
    expect(p.steps[0]!.effects[0]).toContain('now lets authenticated SELECT');
  });

  it('drops a permissive policy: narrows; drops a restrictive one: widens', () => {
    const r = { name: 'only_active', permissive: false, using: 'active' };
    const { p, sql } = plan([{ table: T, rls: true, policies: [own, r] }], [{ table: T, rls: true }]);
    expect(sql).toEqual(['drop policy own on public.items;', 'drop policy only_active on public.items;']);
    expect(p.steps.map((s) => s.hazard)).toEqual(['narrows', 'widens']);
  });

  it('a changed USING is one ALTER POLICY', () => {
    const { p, sql } = plan([{ table: T, rls: true, policies: [own] }], [{ table: T, rls: true, policies: [{ ...own, using: '(owner_id = auth.uid())' }] }]);
    expect(sql).toEqual(['alter policy own on public.items using ((owner_id = auth.uid()));']);
    expect(p.steps[0]!.hazard).toBe('may-widen');
    expect(p.steps[0]!.effects[0]).toContain('USING changes from (user_id = auth.uid()) to (owner_id = auth.uid())');
  });

  it('a changed or added WITH CHECK is one ALTER POLICY', () => {
    const w = { name: 'w', cmd: 'w' as const, roles: ['authenticated'], using: 'a', check: 'a' };
    expect(plan([{ table: T, rls: true, policies: [w] }], [{ table: T, rls: true, policies: [{ ...w, check: 'b' }] }]).sql).toEqual([
      'alter policy w on public.items with check (b);',
    ]);
    const all = { name: 'all', roles: ['authenticated'], using: 'a', check: null };
    expect(plan([{ table: T, rls: true, policies: [all] }], [{ table: T, rls: true, policies: [{ ...all, check: 'b' }] }]).sql).toEqual([
      'alter policy "all" on public.items with check (b);',
    ]);
  });

  it('removing a clause is drop + create (ALTER POLICY cannot remove one)', () => {
    const all = { name: 'p', roles: ['authenticated'], using: 'a', check: 'b' };
    const { sql } = plan([{ table: T, rls: true, policies: [all] }], [{ table: T, rls: true, policies: [{ ...all, check: null }] }]);
    expect(sql).toEqual(['drop policy p on public.items;', 'create policy p on public.items as permissive for all to authenticated using (a);']);
  });

  it('changed roles: ALTER … TO, "now also applies to"', () => {
    const { p, sql } = plan([{ table: T, rls: true, policies: [own] }], [{ table: T, rls: true, policies: [{ ...own, roles: ['anon', 'authenticated'] }] }]);
    expect(sql).toEqual(['alter policy own on public.items to anon, authenticated;']);
    expect(p.steps[0]!.effects[0]).toBe('policy own on public.items now also applies to anon');
    expect(p.steps[0]!.hazard).toBe('widens');
    const back = plan([{ table: T, rls: true, policies: [{ ...own, roles: ['anon', 'authenticated'] }] }], [{ table: T, rls: true, policies: [own] }]);
    expect(back.p.steps[0]!.hazard).toBe('narrows');
    expect(back.p.steps[0]!.effects[0]).toBe('policy own on public.items no longer applies to anon');
  });

  it('PUBLIC is a keyword: TO public, and "every role (PUBLIC)"', () => {
    const { p, sql } = plan([{ table: T, rls: true, policies: [own] }], [{ table: T, rls: true, policies: [{ ...own, roles: ['PUBLIC'] }] }]);
    expect(sql).toEqual(['alter policy own on public.items to public;']);
    expect(p.steps[0]!.effects[0]).toContain('every role (PUBLIC)');
    expect(p.steps[0]!.hazard).toBe('widens');
  });

  it('a changed command is drop + create', () => {
    const { sql, p } = plan([{ table: T, rls: true, policies: [own] }], [{ table: T, rls: true, policies: [{ ...own, cmd: '*' }] }]);
    expect(sql).toEqual(['drop policy own on public.items;', 'create policy own on public.items as permissive for all to authenticated using ((user_id = auth.uid()));']);
    expect(p.steps[1]!.hazard).toBe('widens'); // SELECT → ALL on a permissive policy lets it do more
  });

  it('permissive → restrictive is drop + create and narrows; restrictive → permissive widens', () => {
    const { p } = plan([{ table: T, rls: true, policies: [own] }], [{ table: T, rls: true, policies: [{ ...own, permissive: false }] }]);
    expect(p.steps.map((s) => s.kind)).toEqual(['drop-policy', 'create-policy']);
    expect(p.steps[1]!.hazard).toBe('narrows');
    const back = plan([{ table: T, rls: true, policies: [{ ...own, permissive: false }] }], [{ table: T, rls: true, policies: [own] }]);
    // Restrictive replaced: the new policy is created (widening phase) before the old restrictive one goes.
    expect(back.p.steps.find((s) => s.kind === 'create-policy')!.hazard).toBe('widens');
  });

  it('a rename with an identical body is ALTER POLICY … RENAME TO, neutral', () => {
    const { p, sql } = plan([{ table: T, rls: true, policies: [own] }], [{ table: T, rls: true, policies: [{ ...own, name: 'Own Rows' }] }]);
    expect(sql).toEqual(['alter policy own on public.items rename to "Own Rows";']);
    expect(p.steps[0]!.hazard).toBe('neutral');
  });

  it('two policies swapping names go through a temporary name', () => {
    const a = { name: 'a', roles: ['anon'], using: 'x' };
    const b = { name: 'b', roles: ['authenticated'], using: 'y' };
    const { sql, p } = plan([{ table: T, rls: true, policies: [a, b] }], [{ table: T, rls: true, policies: [{ ...a, name: 'b' }, { ...b, name: 'a' }] }]);
    expect(sql).toEqual([
      'alter policy b on public.items rename to rowguard_tmp_1;',
      'alter policy a on public.items rename to b;',
      'alter policy rowguard_tmp_1 on public.items rename to a;',
    ]);
    expect(p.steps.every((s) => s.hazard === 'neutral')).toBe(true);
  });

  it('a temporary name never collides with an existing policy', () => {
    const a = { name: 'a', roles: ['anon'], using: 'x' };
    const b = { name: 'b', roles: ['authenticated'], using: 'y' };
    const tmp = { name: 'rowguard_tmp_1', roles: ['anon'], using: 'z' };
    const { sql } = plan([{ table: T, rls: true, policies: [a, b, tmp] }], [{ table: T, rls: true, policies: [{ ...a, name: 'b' }, { ...b, name: 'a' }, tmp] }]);
    expect(sql[0]).toBe('alter policy b on public.items rename to rowguard_tmp_2;');
  });

  it('a restrictive policy replaced under its name: new one created before the old is dropped', () => {
    const r = { name: 'r', permissive: false, roles: ['authenticated'], using: 'a' };
    const { sql } = plan([{ table: T, rls: true, policies: [r] }], [{ table: T, rls: true, policies: [{ ...r, cmd: 'r' }] }]);
    expect(sql).toEqual([
      'alter policy r on public.items rename to rowguard_tmp_1;',
      'create policy r on public.items as restrictive for select to authenticated using (a);',
      'drop policy rowguard_tmp_1 on public.items;',
    ]);
  });

  it('a new policy taking the name of a renamed one', () => {
    const a = { name: 'a', roles: ['anon'], using: 'x' };
    const { sql } = plan([{ table: T, rls: true, policies: [a] }], [{ table: T, rls: true, policies: [{ ...a, name: 'b' }, { name: 'a', roles: ['anon'], using: 'other', permissive: false }] }]);
    // The restrictive `a` is created in the narrowing phase, before the rename phase: `a` moves aside first.
    expect(sql[0]).toBe('alter policy a on public.items rename to rowguard_tmp_1;');
    expect(sql).toContain('alter policy rowguard_tmp_1 on public.items rename to b;');
  });
});

describe('policy planner: RLS flags and grants', () => {
  it('RLS and FORCE on/off with effects', () => {
    const on = plan([{ table: T }], [{ table: T, rls: true, force: true }]);
    expect(on.sql).toEqual(['alter table public.items force row level security;', 'alter table public.items enable row level security;']);
    expect(on.p.steps.find((s) => s.kind === 'enable-rls')!.effects[0]).toContain('no policies, so API roles see and write no rows');
    const off = plan([{ table: T, rls: true, force: true }], [{ table: T }]);
    expect(off.sql).toEqual(['alter table public.items disable row level security;', 'alter table public.items no force row level security;']);
    const d = off.p.steps.find((s) => s.kind === 'disable-rls')!;
    expect(d.hazard).toBe('widens');
    expect(d.effects[0]).toBe('RLS disabled on public.items: all rows visible to anyone with SELECT, and writable by anyone with INSERT/UPDATE/DELETE');
  });

  it('grants and revokes per privilege, PUBLIC as a keyword', () => {
    const { sql, p } = plan(
      [{ table: T, rls: true, grants: { anon: ['SELECT', 'DELETE'], PUBLIC: ['SELECT'], owner: ['SELECT'] } }],
      [{ table: T, rls: true, grants: { anon: ['SELECT', 'INSERT'], authenticated: ['SELECT'], owner: ['INSERT'] } }],
    );
    expect(sql).toEqual([
      'revoke select on table public.items from public;',
      'revoke delete on table public.items from anon;',
      'grant insert on table public.items to anon;',
      'grant select on table public.items to authenticated;',
    ]);
    expect(p.steps.find((s) => s.kind === 'grant' && s.grantee === 'anon')!.effects[0]).toBe('anon can now INSERT public.items (rows limited by its RLS policies)');
    // Roles other than the API roles and PUBLIC are not rowguard's to manage.
    expect(sql.join('\n')).not.toContain('owner');
  });

  it('column grants: revoked table privilege comes back per column afterwards', () => {
    const { sql } = plan(
      [{ table: T, grants: { authenticated: ['SELECT'] }, columnGrants: [{ column: 'id', grantee: 'authenticated', privilege: 'SELECT' }] }],
      [{ table: T, columnGrants: [{ column: 'id', grantee: 'authenticated', privilege: 'SELECT' }, { column: 'Name', grantee: 'authenticated', privilege: 'SELECT' }] }],
    );
    expect(sql).toEqual(['revoke select on table public.items from authenticated;', 'grant select ("Name", id) on table public.items to authenticated;']);
  });

  it('enabling RLS with its policies narrows: the new permissive policy does not widen (every row was open before)', () => {
    const { p } = plan([{ table: T, grants: { anon: ['SELECT'] } }], [{ table: T, rls: true, grants: { anon: ['SELECT'] }, policies: [own] }]);
    expect(p.steps.map((s) => [s.kind, s.hazard])).toEqual([
      ['create-policy', 'neutral'],
      ['enable-rls', 'narrows'],
    ]);
    expect(p.steps[0]!.effects[0]).toContain('RLS is enabled on public.items in this same change');
    expect(p.steps.some((s) => isWidening(s.hazard))).toBe(false);
    // Dropping FORCE while enabling RLS: the owner saw every row before and still does.
    const force = plan([{ table: T, force: true }], [{ table: T, rls: true }]);
    expect(force.p.steps.find((s) => s.kind === 'no-force-rls')!.hazard).toBe('neutral');
  });

  it('a policy only for a role that bypasses RLS (service_role) changes nothing', () => {
    const sr = { name: 'service_all', roles: ['service_role'], using: 'true' };
    const { p } = plan([{ table: T, rls: true }], [{ table: T, rls: true, policies: [sr] }]);
    expect(p.steps.map((s) => s.hazard)).toEqual(['neutral']);
    expect(p.steps[0]!.effects[0]).toBe('policy service_all on public.items now lets service_role SELECT, INSERT, UPDATE and DELETE (rows where true) — no change in access: service_role bypasses RLS');
    const both = { ...own, roles: ['authenticated', 'service_role'] };
    expect(plan([{ table: T, rls: true, policies: [both] }], [{ table: T, rls: true, policies: [own] }]).p.steps.map((s) => s.hazard)).toEqual(['neutral']);
    // Anyone else it reaches still counts.
    expect(plan([{ table: T, rls: true }], [{ table: T, rls: true, policies: [{ ...sr, roles: ['anon', 'service_role'] }] }]).p.steps.map((s) => s.hazard)).toEqual(['widens']);
  });

  it('a bypass role is exempt only while every member that inherits from it bypasses too', () => {
    // inheritsFrom as introspection gives it: each membership whose grant inherits (its own option on Postgres 16+).
    const role = (name: string, o: { bypass?: boolean; inherit?: boolean; memberOf?: string[]; inheritsFrom?: string[] } = {}) => ({
      name, superuser: false, bypassRls: o.bypass ?? false, login: false, inherit: o.inherit ?? true, memberOf: o.memberOf ?? [],
      inheritsFrom: o.inheritsFrom ?? (o.inherit === false ? [] : (o.memberOf ?? [])),
    });
    const exempt = (roles: ReturnType<typeof role>[]) => securityStateOf({ ...modelOf([{ table: T }]), roles }, API).rlsExempt;
    expect(exempt([role('service_role', { bypass: true }), role('authenticator', { inherit: false, memberOf: ['service_role'] })])).toEqual(['service_role']);
    expect(exempt([role('service_role', { bypass: true }), role('worker', { memberOf: ['service_role'] })])).toEqual([]);
    expect(exempt([role('service_role', { bypass: true }), role('ops', { bypass: true, memberOf: ['service_role'] }), role('intern', { memberOf: ['ops'] })])).toEqual([]);
    // Postgres 16+: a grant WITH INHERIT TRUE to a NOINHERIT role inherits; one WITH INHERIT FALSE does not.
    expect(exempt([role('service_role', { bypass: true }), role('worker', { inherit: false, memberOf: ['service_role'], inheritsFrom: ['service_role'] })])).toEqual([]);
    expect(exempt([role('service_role', { bypass: true }), role('worker', { memberOf: ['service_role'], inheritsFrom: [] })])).toEqual(['service_role']);
  });

  it('a policy change while RLS stays off is neutral, and says so', () => {
    const { p } = plan([{ table: T }], [{ table: T, policies: [own] }]);
    expect(p.steps[0]!.hazard).toBe('neutral');
    expect(p.steps[0]!.effects[0]).toContain('no effect while RLS is disabled on public.items');
  });
});

describe('policy planner: ordering so access never widens midway', () => {
  it('revoke first, narrowing before widening, RLS enabled after its policies, grants last', () => {
    const restr = { name: 'r', permissive: false, using: 'active' };
    const { p } = plan(
      [{ table: T, grants: { anon: ['SELECT'] }, policies: [{ name: 'old', roles: ['anon'], using: 'true' }] }],
      [{ table: T, rls: true, force: true, grants: { authenticated: ['SELECT'] }, policies: [own, restr] }],
    );
    const kinds = p.steps.map((s) => s.kind);
    expect(kinds).toEqual(['revoke', 'force-rls', 'drop-policy', 'create-policy', 'create-policy', 'enable-rls', 'grant']);
    expect(p.steps[3]!.kind === 'create-policy' && p.steps[3]!.policy.name).toBe('r'); // restrictive (narrowing) first
    expect(kinds.indexOf('enable-rls')).toBeGreaterThan(kinds.lastIndexOf('create-policy'));
  });

  it('RLS is disabled before the drops it makes moot', () => {
    const { p } = plan([{ table: T, rls: true, policies: [own] }], [{ table: T }]);
    expect(p.steps.map((s) => s.kind)).toEqual(['disable-rls', 'drop-policy']);
  });

  it('within the policy phases: every narrowing step before any widening step', () => {
    const { p } = plan(
      [{ table: T, rls: true, policies: [own, { name: 'x', permissive: false, using: 'a' }, { name: 'y', using: 'b' }] }],
      [{ table: T, rls: true, policies: [{ ...own, roles: ['anon'] }, { name: 'z', permissive: false, using: 'c' }, { name: 'y2', using: 'd' }] }],
    );
    const policySteps = p.steps.filter((s) => s.kind.endsWith('policy'));
    const firstWide = policySteps.findIndex((s) => isWidening(s.hazard));
    const lastNarrow = policySteps.map((s) => s.hazard).lastIndexOf('narrows');
    expect(firstWide).toBeGreaterThan(lastNarrow);
  });
});

describe('policy planner: random states', () => {
  // A seeded generator over a small name and body space, so renames, swaps,
  // cycles and name reuse happen often. Every plan must run (names free when
  // needed, policies present when touched) and reach the desired state.
  it('500 random pairs: every plan is executable and reaches the desired state', () => {
    const r = rng(42);
    for (let i = 0; i < 500; i++) plan([randomTable(r, T)], [randomTable(r, T)]);
  });
});

describe('policy planner: relations', () => {
  it('a table on only one side is reported, not created or dropped', () => {
    const { p } = plan([{ table: T }, { table: 'public.gone' }], [{ table: T }, { table: 'app.new' }]);
    expect(p.steps).toEqual([]);
    expect(p.onlyOnOneSide).toEqual([
      { table: 'app.new', kind: 'table', side: 'to' },
      { table: 'public.gone', kind: 'table', side: 'from' },
    ]);
  });

  it('partitions are separate from their parent', () => {
    const { sql } = plan(
      [{ table: 'public.parent', kind: 'p', rls: true, policies: [own] }, { table: 'public.parent_2024', partitionOf: 'public.parent' }],
      [{ table: 'public.parent', kind: 'p', rls: true, policies: [own] }, { table: 'public.parent_2024', partitionOf: 'public.parent', rls: true, policies: [own] }],
    );
    expect(sql).toEqual([
      'create policy own on public.parent_2024 as permissive for select to authenticated using ((user_id = auth.uid()));',
      'alter table public.parent_2024 enable row level security;',
    ]);
  });

  it('quotes every identifier: schema, table, policy, role, column', () => {
    const t = 'My Schema.Odd "T" x';
    const { sql } = plan(
      [{ table: t, rls: true }],
      [{ table: t, rls: true, policies: [{ name: 'Pol "1"', roles: ['Mixed Role', 'anon'], using: 'true' }], grants: { anon: ['SELECT'] }, columnGrants: [{ column: 'select', grantee: 'anon', privilege: 'UPDATE' }] }],
    );
    expect(sql).toEqual([
      'create policy "Pol ""1""" on "My Schema"."Odd ""T"" x" as permissive for all to "Mixed Role", anon using (true);',
      'grant select on table "My Schema"."Odd ""T"" x" to anon;',
      'grant update ("select") on table "My Schema"."Odd ""T"" x" to anon;',
    ]);
  });
});

describe('rendering', () => {
  it('wraps the script in one transaction with effects as comments', () => {
    const { p } = plan([{ table: T }], [{ table: T, rls: true }]);
    expect(renderScript(p, { transaction: true, comments: true })).toBe(
      'begin;\n-- [narrows] RLS enabled on public.items: it has no policies, so API roles see and write no rows\nalter table public.items enable row level security;\ncommit;\n',
    );
    expect(renderScript(planPolicyChanges(stateOf([{ table: T }]), stateOf([{ table: T }])), { transaction: true })).toBe('');
  });

  it('a policies/ file holds flags, grants and policies of its table', () => {
    const s = stateOf([{ table: T, rls: true, force: true, grants: { authenticated: ['SELECT', 'INSERT'] }, policies: [own] }]);
    expect(renderPolicyFile(s.tables.get(T)!)).toBe(
      [
        '-- public.items: row-level security, API grants and policies (rowguard policy pull).',
        'alter table public.items enable row level security;',
        'alter table public.items force row level security;',
        '',
        'grant select, insert on table public.items to authenticated;',
        '',
        'create policy own on public.items',
        '  as permissive',
        '  for select',
        '  to authenticated',
        '  using ((user_id = auth.uid()));',
        '',
      ].join('\n'),
    );
  });
});

describe('policies/ file names', () => {
  it('escapes characters unsafe in file names and round-trips', () => {
    expect(policyFileName('public', 'items')).toBe('public.items.sql');
    expect(policyFileName('My Schema', 'a.b/c%"d')).toBe('My%20Schema.a%2Eb%2Fc%25%22d.sql');
    expect(encodeNamePart('café')).toBe('caf%C3%A9');
    for (const [s, t] of [['My Schema', 'a.b/c%"d'], ['app', 'Mixed_Case$1'], ['ü', '..']]) {
      expect(parsePolicyFileName(policyFileName(s!, t!))).toEqual({ schema: s, table: t });
    }
    expect(parsePolicyFileName('public.items.extra.sql')).toBeNull();
    expect(parsePolicyFileName('items.sql')).toBeNull();
    expect(parsePolicyFileName('public.%ZZ.sql')).toBeNull();
  });
});

describe('what counts as a local database for policy apply', () => {
  it('embedded, docker, loopback and Unix sockets are local; anything else is not', () => {
    expect(isLocalDatabase('postgres://u@db.example.com/x', 'embedded')).toBe(true);
    expect(isLocalDatabase('postgres://u@db.example.com/x', 'docker')).toBe(true);
    for (const u of ['postgres://u@localhost/x', 'postgres://u@127.0.0.1:5433/x', 'postgres://u@127.9.8.7/x', 'postgres://u@[::1]/x', 'postgres://u@[::ffff:127.0.0.1]/x', 'postgres:///x?host=/var/run/postgresql']) {
      expect(isLocalDatabase(u, 'flag'), u).toBe(true);
    }
    for (const u of ['postgres://u@db.example.com/x', 'postgres://u@10.0.0.5/x', 'postgres://u@localhost.example.com/x', 'postgres://u@128.0.0.1/x', 'postgres://u@[::ffff:10.0.0.1]/x']) {
      expect(isLocalDatabase(u, 'env'), u).toBe(false);
    }
  });
});

describe('policy apply: widening changes on a remote database', () => {
  const widening = planPolicyChanges(stateOf([{ table: T }]), stateOf([{ table: T, grants: { anon: ['SELECT'] } }]));
  const narrowing = planPolicyChanges(stateOf([{ table: T, grants: { anon: ['SELECT'] } }]), stateOf([{ table: T }]));
  it('are refused without --allow-widening, naming what widens', () => {
    expect(() => assertWideningAllowed(widening, { local: false, allowWidening: false, label: 'db.example.com:5432/app' })).toThrowError(
      /refusing to apply 1 widening change to db.example.com:5432\/app/,
    );
    try {
      assertWideningAllowed(widening, { local: false, allowWidening: false, label: 'x' });
    } catch (e) {
      expect((e as { meta: { widening: string[] } }).meta.widening).toEqual(['anon can now SELECT public.items (RLS is off: every row)']);
      expect((e as { exitCode: number }).exitCode).toBe(1);
    }
  });
  it('are allowed with the flag, on a local database, and narrowing changes always are', () => {
    expect(() => assertWideningAllowed(widening, { local: false, allowWidening: true, label: 'x' })).not.toThrow();
    expect(() => assertWideningAllowed(widening, { local: true, allowWidening: false, label: 'x' })).not.toThrow();
    expect(() => assertWideningAllowed(narrowing, { local: false, allowWidening: false, label: 'x' })).not.toThrow();
  });
});

// Keep the Step type used (documentation of the public shape through the compiler).
export type { Step };
