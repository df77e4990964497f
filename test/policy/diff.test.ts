/**
 * Integration: build the current database (sql/ + a live-state script) and the
 * desired one (sql/ + policies/ in a shadow), plan, apply, and compare catalog
 * snapshots read with plain SQL (not rowguard's introspection), then check the
 * second diff is empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { freshDatabase, migrate, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { parseConfig, type Config } from '../../cli/core/config.js';
import { diffPolicies, type DiffResult } from '../../cli/core/policy/diff.js';
import { applyPlan } from '../../cli/core/policy/apply.js';
import { hasDifference, planPolicyChanges } from '../../cli/core/policy/plan.js';
import { RowguardError } from '../../cli/core/errors.js';
import { buildShadow } from '../../cli/core/shadow.js';
import { connect, type Sql } from '../../cli/core/db.js';
import { CASES, CURRENT, makeProject } from './project.js';
import { randomTable, rng, stateOf, type TableRow } from './fixtures.js';
import { renderPolicyFile } from '../../cli/core/policy/render.js';
import { expressionsEqual } from '../../cli/core/policy/expr-equal.js';

let project: string;
let config: Config;
let current: TestDatabase;
let first: DiffResult;

/** Policies (roles as a set), RLS flags and API/PUBLIC grants, table and column level. */
async function snapshot(sql: Sql) {
  const policies = await sql`
    select format('%I.%I', schemaname, tablename) as t, policyname, permissive, cmd, qual, with_check,
           array(select r from unnest(roles) r order by 1) as roles
    from pg_policies where schemaname not in ('rowguard') order by 1, 2`;
  const flags = await sql`
    select format('%I.%I', n.nspname, c.relname) as t, c.relrowsecurity, c.relforcerowsecurity
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'rowguard') and n.nspname !~ '^pg_toast'
    order by 1`;
  const grants = await sql`
    select format('%I.%I', n.nspname, c.relname) as t, coalesce(r.rolname, 'PUBLIC') as grantee, a.privilege_type
    from pg_class c join pg_namespace n on n.oid = c.relnamespace cross join lateral aclexplode(c.relacl) a
    left join pg_roles r on r.oid = a.grantee
    where n.nspname not in ('pg_catalog', 'information_schema', 'rowguard') and (a.grantee = 0 or r.rolname in ('anon', 'authenticated', 'service_role'))
    order by 1, 2, 3`;
  const columnGrants = await sql`
    select format('%I.%I', n.nspname, c.relname) as t, at.attname, coalesce(r.rolname, 'PUBLIC') as grantee, a.privilege_type
    from pg_attribute at join pg_class c on c.oid = at.attrelid join pg_namespace n on n.oid = c.relnamespace
    cross join lateral aclexplode(at.attacl) a left join pg_roles r on r.oid = a.grantee
    where n.nspname not in ('pg_catalog', 'information_schema', 'rowguard') and (a.grantee = 0 or r.rolname in ('anon', 'authenticated', 'service_role'))
    order by 1, 2, 3, 4`;
  return { policies: [...policies], flags: [...flags], grants: [...grants], columnGrants: [...columnGrants] };
}

beforeAll(async () => {
  project = makeProject();
  config = parseConfig({}, null, project);
  current = await freshDatabase('rg_policy');
  await migrate(current.url, `${project}/sql`);
  await current.sql.unsafe(CURRENT);
  // Only on the live side: reported, not dropped.
  await current.sql.unsafe('create table public.extra (id int)');
  first = await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: current.url }, to: { kind: 'policies' }, displayRoot: project });
});

afterAll(async () => {
  await current?.drop();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('policy diff against a real database', () => {
  it.each(CASES.map((c) => [`${c.schema}.${c.table}`, c.expect] as const))('%s needs %j', (table, kinds) => {
    expect(first.plan.steps.filter((s) => s.table === table).map((s) => s.kind)).toEqual(kinds);
  });

  it('reports a table that exists on one side only, without touching it', () => {
    expect(first.plan.onlyOnOneSide).toEqual([{ table: 'public.extra', kind: 'table', side: 'from' }]);
    expect(first.plan.steps.some((s) => s.table === 'public.extra')).toBe(false);
  });

  it('flags the widening changes', () => {
    const byTable = (t: string) => first.plan.steps.filter((s) => s.table === t);
    expect(byTable('public.t_rlsoff').find((s) => s.kind === 'disable-rls')!.hazard).toBe('widens');
    expect(byTable('public.t_roles')[0]!.effects[0]).toBe('policy p on public.t_roles now also applies to anon');
    expect(byTable('public.t_grants').find((s) => s.kind === 'grant' && s.grantee === 'authenticated')!.effects[0]).toBe(
      'authenticated can now SELECT public.t_grants (RLS is off: every row)',
    );
    expect(byTable('public.t_public')[0]!.effects[0]).toContain('every role (PUBLIC)');
  });

  it('applying the plan makes the database equal to the desired state, and the second diff is empty', async () => {
    await applyPlan(first.plan, { url: current.url, lockTimeout: '5s', statementTimeout: '0' });
    const shadow = await buildShadow({ serverUrl: serverUrl(), config, overlayPolicies: true, displayRoot: project });
    const desiredSql = connect(shadow.url);
    try {
      const want = await snapshot(desiredSql);
      const got = await snapshot(current.sql);
      got.flags = got.flags.filter((f) => f['t'] !== 'public.extra');
      // An expression that differs only in operand order is left as the database wrote it.
      const same = await expressionsEqual();
      let kept = 0;
      for (const [i, w] of want.policies.entries()) {
        const g = got.policies[i]!;
        if (g['t'] !== w['t'] || g['policyname'] !== w['policyname']) continue;
        for (const k of ['qual', 'with_check'] as const) {
          if (g[k] !== w[k] && same(g[k] as string | null, w[k] as string | null)) {
            g[k] = w[k];
            kept++;
          }
        }
      }
      expect(kept).toBe(2); // public.t_commuted's USING and WITH CHECK
      expect(got).toEqual(want);
      // Sanity: the snapshot saw the changes (not two empty lists).
      expect(want.policies.length).toBeGreaterThan(15);
      expect(want.columnGrants.length).toBe(2);
    } finally {
      await desiredSql.end();
      await shadow.drop();
    }
    const second = await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: current.url }, to: { kind: 'policies' }, displayRoot: project });
    expect(second.plan.steps).toEqual([]);
    expect(second.plan.onlyOnOneSide.map((o) => o.table)).toEqual(['public.extra']);
  });

  it('expressions are compared as Postgres normalises them (fully qualified, casts added)', () => {
    const items = first.toState.tables.get('app.items')!.policies[0]!;
    expect(items.using).toContain('auth.uid()');
    expect(items.using).toContain('app.members');
    expect(items.using).toContain('app.is_open(');
    const fmt = first.toState.tables.get('public.t_format')!.policies[0]!;
    expect(fmt.using).toBe("((user_id = auth.uid()) AND (status = 'x'::text))");
  });

  it('a shadow can start from a template that already has sql/ applied (the gate reuses its database)', async () => {
    const base = await freshDatabase('rg_policy_tpl');
    try {
      await migrate(base.url, `${project}/sql`); // base.sql is never used, so no session blocks the copy
      const copy = await buildShadow({ serverUrl: serverUrl(), config, overlayPolicies: true, displayRoot: project, template: base.name });
      const normal = await buildShadow({ serverUrl: serverUrl(), config, overlayPolicies: true, displayRoot: project });
      const a = connect(copy.url);
      const b = connect(normal.url);
      try {
        expect(copy.timings.migrateMs).toBe(0);
        expect(await snapshot(a)).toEqual(await snapshot(b));
      } finally {
        await a.end();
        await b.end();
        await copy.drop();
        await normal.drop();
      }
    } finally {
      await base.drop();
    }
  });

  it('migrations vs policies: one shadow serves both sides', async () => {
    const d = await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'migrations' }, to: { kind: 'policies' }, displayRoot: project });
    expect(hasDifference(d.plan)).toBe(true);
    expect(d.plan.onlyOnOneSide).toEqual([]);
    expect(d.plan.steps.some((s) => s.kind === 'create-policy')).toBe(true);
  });
});

describe('random states on real databases', () => {
  it('30 random table pairs: the planned SQL runs on Postgres and leaves no difference', async () => {
    const r = rng(7);
    const n = 30;
    const from = await freshDatabase('rg_policy_rand_a');
    const to = await freshDatabase('rg_policy_rand_b');
    try {
      const setup = (rows: TableRow[]) => {
        const state = stateOf(rows);
        return rows.map((row) => `create table ${row.table} (x boolean, y boolean, z boolean);\n${renderPolicyFile(state.tables.get(row.table)!)}`).join('\n');
      };
      const tables = Array.from({ length: n }, (_, i) => `public.r_${i}`);
      await from.sql.unsafe(setup(tables.map((t) => randomTable(r, t))));
      await to.sql.unsafe(setup(tables.map((t) => randomTable(r, t))));
      const d = await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: from.url }, to: { kind: 'url', url: to.url } });
      expect(d.plan.steps.length).toBeGreaterThan(n);
      await applyPlan(d.plan, { url: from.url, lockTimeout: '5s', statementTimeout: '0' });
      const again = await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: from.url }, to: { kind: 'url', url: to.url } });
      expect(again.plan.steps).toEqual([]);
      expect(await snapshot(from.sql)).toEqual(await snapshot(to.sql));
    } finally {
      await from.drop();
      await to.drop();
    }
  });
});

describe('policy apply failures', () => {
  it('a step that fails rolls everything back and is named', async () => {
    const db = await freshDatabase('rg_policy_fail');
    try {
      await db.sql.unsafe(`create table public.f (id int); alter table public.f enable row level security;
        create policy gone on public.f using (true); create policy keep on public.f using (id > 0);`);
      const from = stateOf([{ table: 'public.f', rls: true, policies: [{ name: 'gone', using: 'true' }, { name: 'keep', using: '(id > 0)' }] }]);
      const to = stateOf([{ table: 'public.f', rls: true, force: true, grants: { anon: ['SELECT'] }, policies: [{ name: 'keep', using: '(id > 0)' }] }]);
      const plan = planPolicyChanges(from, to);
      // Someone drops the policy between the diff and the apply.
      await db.sql.unsafe('drop policy gone on public.f');
      const before = await snapshot(db.sql);
      const err = await applyPlan(plan, { url: db.url, lockTimeout: '5s', statementTimeout: '0' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RowguardError);
      expect((err as RowguardError).message).toBe(`step 2 of 3 failed, nothing was applied: policy "gone" for table "f" does not exist`);
      expect((err as RowguardError).detail).toBe('drop policy gone on public.f;');
      expect(await snapshot(db.sql)).toEqual(before);
    } finally {
      await db.drop();
    }
  });
});

describe('the project itself', () => {
  it("has no drift between its own sql/ and policies/", async () => {
    const { loadConfig } = await import('../../cli/core/config.js');
    const { REPO_ROOT } = await import('../helpers/pg.js');
    const own = loadConfig({ cwd: REPO_ROOT });
    const d = await diffPolicies({ serverUrl: serverUrl(), config: own, from: { kind: 'migrations' }, to: { kind: 'policies' }, displayRoot: REPO_ROOT });
    const problems = [...d.plan.steps.map((s) => `${s.hazard}: ${s.effects.join('; ')}`), ...d.plan.onlyOnOneSide.map((o) => `${o.table} only in ${o.side}`)];
    expect(problems).toEqual([]);
    expect(d.plan.compared).toBeGreaterThan(0);
  });
});
