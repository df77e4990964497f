/**
 * Tricky policy diffs on real databases: two databases with the same tables,
 * one per state; each case is one table whose expected steps and hazards are
 * listed. The plan is applied to the first database, which must then match the
 * second (catalog read with plain SQL) and re-diff empty. The last cases run a
 * plan step by step and check, as the role itself, that no prefix of it lets
 * the role see a row that neither end lets it see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { parseConfig, type Config } from '../../cli/core/config.js';
import { diffPolicies, type DiffResult } from '../../cli/core/policy/diff.js';
import { applyPlan } from '../../cli/core/policy/apply.js';
import { renderPolicyFile, stepSql } from '../../cli/core/policy/render.js';
import { diffJson } from '../../cli/core/report/policy.js';
import type { Sql } from '../../cli/core/db.js';
import { ROLES_SQL } from './project.js';
import { rng, stateOf, type TableRow } from './fixtures.js';

interface Case {
  /** Table, as written in SQL (`T` in `from`/`to` stands for it). */
  table: string;
  columns: string;
  from: string;
  to: string;
  /** [step kind, hazard] of this table's steps, in plan order. */
  expect: Array<[string, string]>;
}

const ON = 'alter table T enable row level security;';

const CASES: Case[] = [
  // Renamed, identical definition (written with the operands the other way round): a rename, not drop + create.
  {
    table: 'public.ren', columns: 'id int, user_id uuid',
    from: `${ON} create policy old_name on T for select to authenticated using (user_id = auth.uid());`,
    to: `${ON} create policy "Owner can read" on T for select to authenticated using (auth.uid() = user_id);`,
    expect: [['rename-policy', 'neutral']],
  },
  // Renamed and tightened: judged as one change, not as a drop (narrows) and an unrelated create (widens).
  {
    table: 'public.ren_edited', columns: 'id int, user_id uuid',
    from: `${ON} create policy "Users read own" on T for select to authenticated using (user_id = auth.uid());`,
    to: `${ON} create policy read_own on T for select to authenticated using (user_id = auth.uid() and id > 0);`,
    expect: [['drop-policy', 'neutral'], ['create-policy', 'narrows']],
  },
  {
    table: 'public.cmd', columns: 'id int',
    from: `${ON} create policy p on T for select to authenticated using (id > 0);`,
    to: `${ON} create policy p on T for all to authenticated using (id > 0);`,
    expect: [['drop-policy', 'neutral'], ['create-policy', 'widens']],
  },
  {
    table: 'public.restrictive_to_permissive', columns: 'id int',
    from: `${ON} create policy p on T for select to authenticated using (true); create policy r on T as restrictive for select to authenticated using (id > 0);`,
    to: `${ON} create policy p on T for select to authenticated using (true); create policy r on T for select to authenticated using (id > 0);`,
    expect: [['drop-policy', 'neutral'], ['create-policy', 'widens']],
  },
  // Permissive ALL → restrictive SELECT: SELECT limited instead of granted, the writes no longer granted.
  {
    table: 'public.permissive_all_to_restrictive_select', columns: 'id int',
    from: `${ON} create policy p on T for all to authenticated using (id > 0);`,
    to: `${ON} create policy p on T as restrictive for select to authenticated using (id > 0);`,
    expect: [['drop-policy', 'neutral'], ['create-policy', 'narrows']],
  },
  {
    table: 'public.role_added', columns: 'id int',
    from: `${ON} create policy p on T for select to authenticated using (id > 0);`,
    to: `${ON} create policy p on T for select to authenticated, anon using (id > 0);`,
    expect: [['alter-policy', 'widens']],
  },
  {
    table: 'public.role_removed', columns: 'id int',
    from: `${ON} create policy p on T for select to authenticated, anon using (id > 0);`,
    to: `${ON} create policy p on T for select to anon using (id > 0);`,
    expect: [['alter-policy', 'narrows']],
  },
  {
    table: 'public.role_order', columns: 'id int',
    from: `${ON} create policy p on T for select to "Mixed Role", anon, authenticated using (id > 0);`,
    to: `${ON} create policy p on T for select to authenticated, anon, "Mixed Role" using (id > 0);`,
    expect: [],
  },
  {
    table: 'public.to_public', columns: 'id int',
    from: `${ON} create policy p on T for select using (id > 0);`,
    to: `${ON} create policy p on T for select to public using (id > 0);`,
    expect: [],
  },
  // An ALL policy with only WITH CHECK lets nobody read; adding USING lets them.
  {
    table: 'public.using_added', columns: 'id int',
    from: `${ON} create policy p on T for all to authenticated with check (id > 0);`,
    to: `${ON} create policy p on T for all to authenticated using (id > 0) with check (id > 0);`,
    expect: [['alter-policy', 'widens']],
  },
  {
    table: 'public.using_removed', columns: 'id int',
    from: `${ON} create policy p on T for all to authenticated using (id > 0) with check (id > 0);`,
    to: `${ON} create policy p on T for all to authenticated with check (id > 0);`,
    expect: [['drop-policy', 'neutral'], ['create-policy', 'narrows']],
  },
  {
    table: 'public.using_changed', columns: 'id int, org int',
    from: `${ON} create policy p on T for select to authenticated using (org = 1);`,
    to: `${ON} create policy p on T for select to authenticated using (org = 2);`,
    expect: [['alter-policy', 'may-widen']],
  },
  // WITH CHECK equal to USING is what Postgres checks without one: stored differently, no change in access.
  {
    table: 'public.check_spelled_out', columns: 'id int',
    from: `${ON} create policy p on T for update to authenticated using (id > 0);`,
    to: `${ON} create policy p on T for update to authenticated using (id > 0) with check (id > 0);`,
    expect: [['alter-policy', 'neutral']],
  },
  {
    table: 'public.check_same_removed', columns: 'id int',
    from: `${ON} create policy p on T for all to authenticated using (id > 0) with check (id > 0);`,
    to: `${ON} create policy p on T for all to authenticated using (id > 0);`,
    expect: [['drop-policy', 'neutral'], ['create-policy', 'neutral']],
  },
  // Removing a WITH CHECK looser than USING: new rows must now pass USING.
  {
    table: 'public.check_loose_removed', columns: 'id int, org int',
    from: `${ON} create policy p on T for update to authenticated using (id > 0 and org = 1) with check (id > 0);`,
    to: `${ON} create policy p on T for update to authenticated using (id > 0 and org = 1);`,
    expect: [['drop-policy', 'neutral'], ['create-policy', 'narrows']],
  },
  // Written differently, stored the same (pg_get_expr): no change.
  {
    table: 'public.same_stored', columns: 'id int, s text, user_id uuid, b boolean',
    from: `${ON} create policy p on T for select to authenticated using (s in ('a', 'b') and user_id = auth.uid() and b and id::bigint > 0);`,
    to: `${ON} set search_path = auth, public;
      create policy p on T for select to authenticated using (((s = any (array['a'::text, 'b'::text]))) AND (uid() = user_id)   and (b) and cast(id as int8) > 0);
      reset search_path;`,
    expect: [],
  },
  // Request helpers moved into scalar sub-selects (the auth-call-per-row lint's fix): same condition, still applied.
  {
    table: 'public.wrapped_helpers', columns: 'id int, user_id uuid, org int',
    from: `${ON} create policy p on T for select to authenticated using (user_id = auth.uid() and org = current_setting('app.org', true)::int and auth.jwt() ->> 'role' = 'admin');`,
    to: `${ON} create policy p on T for select to authenticated using (user_id = (select auth.uid()) and org = (select current_setting('app.org', true))::int and (select auth.jwt()) ->> 'role' = 'admin');`,
    expect: [['alter-policy', 'neutral']],
  },
  // Look alike, but are changes: operands of < and -, string case, NOT's scope, AND → OR.
  {
    table: 'public.real_changes', columns: 'a int, b int, s text, x boolean, y boolean',
    from: `${ON} create policy p1 on T for select to anon using (a < b);
      create policy p2 on T for select to anon using (a - b > 0);
      create policy p3 on T for select to anon using (s = 'x');
      create policy p4 on T for select to anon using (not (x and y));
      create policy p5 on T for select to anon using (x and y);`,
    to: `${ON} create policy p1 on T for select to anon using (b < a);
      create policy p2 on T for select to anon using (b - a > 0);
      create policy p3 on T for select to anon using (s = 'X');
      create policy p4 on T for select to anon using (not x and y);
      create policy p5 on T for select to anon using (x or y);`,
    // AND → OR does widen, but on the text only E AND X / E OR X against E are decided.
    expect: [['alter-policy', 'may-widen'], ['alter-policy', 'may-widen'], ['alter-policy', 'may-widen'], ['alter-policy', 'may-widen'], ['alter-policy', 'may-widen']],
  },
  // Identifiers that need quotes everywhere: schema, table, policy (with quotes in it), role.
  {
    table: '"Odd Schema"."Mixed ""T"" table"', columns: 'id int, "Select" int',
    from: `${ON} create policy "it's ""quoted""" on T for select to "Mixed Role" using ("Select" > 0);
      create policy "Gone" on T for select to anon using (true);`,
    to: `${ON} create policy "Renamed ""Policy""" on T for select to "Mixed Role" using ("Select" > 0);
      create policy "New One" on T as restrictive for select to "Mixed Role", anon using (id <> 0);`,
    expect: [['drop-policy', 'narrows'], ['create-policy', 'narrows'], ['rename-policy', 'neutral']],
  },
  // For roles policies never limit: service_role (BYPASSRLS, no members) — nothing changes; a bypass
  // role with a member that does not bypass — the member is let in.
  {
    table: 'public.bypass_roles', columns: 'id int',
    from: ON,
    to: `${ON} create policy "Service role full access" on T to service_role using (true) with check (true);
      create policy "Admins" on T for select to tricky_admin using (true);`,
    expect: [['create-policy', 'widens'], ['create-policy', 'neutral']],
  },
  // Partitioned: the parent's policies and each partition's are separate.
  {
    table: 'public.part', columns: '',
    from: `${ON} create policy p on T for select to anon using (at > '2020-01-01');`,
    to: `${ON} create policy p on T for select to anon using (at > '2020-01-01' and id > 0);`,
    expect: [['alter-policy', 'narrows']],
  },
  {
    table: 'public.part_2024', columns: '',
    from: '',
    to: `${ON} create policy p on T for select to anon using (true);`,
    expect: [['create-policy', 'neutral'], ['enable-rls', 'narrows']],
  },
  // RLS and FORCE flags.
  {
    table: 'public.rls_enabled_with_policies', columns: 'id int',
    from: 'grant select on T to anon;',
    to: `${ON} grant select on T to anon; create policy own on T for select to anon using (id > 0);`,
    expect: [['create-policy', 'neutral'], ['enable-rls', 'narrows']],
  },
  {
    table: 'public.rls_disabled', columns: 'id int',
    from: `${ON} alter table T force row level security; create policy own on T for select to anon using (id > 0);`,
    to: 'alter table T force row level security;',
    expect: [['disable-rls', 'widens'], ['drop-policy', 'neutral']],
  },
  // FORCE binds an owner that does not bypass RLS (tricky_owner) ...
  {
    table: 'public.force_toggled', columns: 'id int',
    from: `${ON} alter table T force row level security;`,
    to: ON,
    expect: [['no-force-rls', 'widens']],
  },
  // ... and never a superuser owner (the test server's).
  {
    table: 'public.force_superuser_owner', columns: 'id int',
    from: `${ON} alter table T force row level security;`,
    to: ON,
    expect: [['no-force-rls', 'neutral']],
  },
  // Grants: revoke narrows, grant widens; a column grant beside the same table-level grant changes nothing.
  {
    table: 'public.grants', columns: 'id int, a int',
    from: 'grant select, update on T to anon; grant select (a) on T to authenticated;',
    to: 'grant select on T to anon; grant update (a) on T to anon; grant select on T to authenticated; grant select (a) on T to authenticated;',
    expect: [['revoke', 'narrows'], ['grant', 'widens'], ['grant-columns', 'widens']],
  },
  {
    table: 'public.column_grant_under_table_grant', columns: 'id int, a int',
    from: 'grant select on T to anon;',
    to: 'grant select on T to anon; grant select (a) on T to anon;',
    expect: [['grant-columns', 'neutral']],
  },
  // Several policies of one table at once (also run step by step below).
  {
    table: 'public.many', columns: 'id int, org int, active boolean',
    from: `${ON} grant select on T to anon;
      create policy by_org on T for select to anon using (org = 1);
      create policy open_ids on T for select to anon using (id < 3);
      create policy only_active on T as restrictive for select to anon using (active);
      create policy not_org2 on T as restrictive for select to anon using (org <> 2);`,
    to: `${ON} grant select on T to anon;
      create policy by_org on T for select to anon using (org = 1 or id = 10);
      create policy only_active on T as restrictive for all to anon using (active);
      create policy limit_ids on T as restrictive for select to anon using (id < 20);`,
    expect: [
      ['rename-policy', 'neutral'], // only_active moves aside while its replacement is created
      ['drop-policy', 'narrows'], // open_ids
      ['create-policy', 'may-widen'], // limit_ids, replacing not_org2 (another restriction for the same command and role)
      ['create-policy', 'narrows'], // only_active, now for every command
      ['alter-policy', 'widens'], // by_org, while every restriction still holds
      ['drop-policy', 'neutral'], // not_org2, after limit_ids is in place
      ['drop-policy', 'neutral'], // the old only_active
    ],
  },
  // A restriction swapped for an unrankable one while a permissive policy is added: the
  // restriction holds both conditions until the permissive policy exists, so row 22
  // (org 1, newly let in by q) is never visible under the old restriction.
  {
    table: 'public.restriction_swap', columns: 'id int, org int',
    from: `${ON} grant select on T to anon;
      create policy p on T for select to anon using (id < 5);
      create policy r on T as restrictive for select to anon using (org = 1);`,
    to: `${ON} grant select on T to anon;
      create policy p on T for select to anon using (id < 5);
      create policy q on T for select to anon using (id >= 20);
      create policy r on T as restrictive for select to anon using (org = 2);`,
    expect: [['alter-policy', 'neutral'], ['create-policy', 'widens'], ['alter-policy', 'may-widen']],
  },
  // The same when the restriction also lets a role go (widens for authenticated, unrankable for
  // anon): found by the random plans below once their generator was really random.
  {
    table: 'public.restriction_swap_roles', columns: 'id int, org int',
    from: `${ON} grant select on T to anon, authenticated;
      create policy p on T for select to anon using (id < 5);
      create policy r on T as restrictive for select to anon, authenticated using (org = 1);`,
    to: `${ON} grant select on T to anon, authenticated;
      create policy p on T for select to anon using (id < 5);
      create policy q on T for select to anon using (id >= 20);
      create policy r on T as restrictive for select to anon using (org = 2);`,
    expect: [['alter-policy', 'neutral'], ['create-policy', 'widens'], ['alter-policy', 'widens']],
  },
  // A permissive condition that cannot be ranked changes while a restriction goes: the
  // condition changes first, so rows of org 1 from 10 on are never visible.
  {
    table: 'public.reorder', columns: 'id int, org int',
    from: `${ON} grant select on T to anon;
      create policy by_org on T for select to anon using (org = 1);
      create policy low_ids on T as restrictive for select to anon using (id < 10);`,
    to: `${ON} grant select on T to anon;
      create policy by_org on T for select to anon using (org = 2);`,
    expect: [['alter-policy', 'may-widen'], ['drop-policy', 'widens']],
  },
];

/** Tables on one side only (a drop, a create, a rename between the states). */
const FROM_ONLY = ['create table public.dropped (id int); alter table public.dropped enable row level security; create policy p on public.dropped using (true);',
  'create table public.before_rename (id int); alter table public.before_rename enable row level security; create policy p on public.before_rename using (true);'];
const TO_ONLY = ['create table public.created (id int);', 'create table public.after_rename (id int); alter table public.after_rename enable row level security; create policy p on public.after_rename using (true);'];

const BASE = [
  ROLES_SQL,
  // Cluster-wide and created by both databases' setup: only if missing.
  `do $$ begin
     if not exists (select from pg_roles where rolname = 'tricky_admin') then create role tricky_admin nologin bypassrls; end if;
     if not exists (select from pg_roles where rolname = 'tricky_admin_member') then create role tricky_admin_member nologin in role tricky_admin; end if;
     if not exists (select from pg_roles where rolname = 'tricky_owner') then create role tricky_owner nologin; end if;
   exception when duplicate_object or unique_violation then null;
   end $$;`,
  'create schema if not exists auth;',
  "create function auth.uid() returns uuid language sql stable as $$ select (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $$;",
  "create function auth.jwt() returns jsonb language sql stable as $$ select nullif(current_setting('request.jwt.claims', true), '')::jsonb $$;",
  'create schema "Odd Schema";',
  ...CASES.filter((c) => c.columns !== '').map((c) => `create table ${c.table} (${c.columns});`),
  'create table public.part (id int, at date) partition by range (at);',
  "create table public.part_2024 partition of public.part for values from ('2024-01-01') to ('2025-01-01');",
  'alter table public.force_toggled owner to tricky_owner;',
  'insert into public.many select i, i % 3, i % 2 = 0 from generate_series(1, 30) i;',
  'insert into public.reorder select i, i % 3 from generate_series(1, 30) i;',
  'insert into public.restriction_swap select i, i % 3 from generate_series(1, 30) i;',
].join('\n');

function stateSql(side: 'from' | 'to'): string {
  return [BASE, ...CASES.map((c) => c[side].replaceAll(/\bT\b(?=[ ;])/g, c.table)), ...(side === 'from' ? FROM_ONLY : TO_ONLY)].join('\n');
}

/** The unquoted `schema.table` the plan uses. */
function unquoted(table: string): string {
  const parts = table.match(/"(?:[^"]|"")*"|[^.]+/g)!;
  return parts.map((p) => (p.startsWith('"') ? p.slice(1, -1).replaceAll('""', '"') : p)).join('.');
}

/** Policies (roles as a set), RLS flags and API/PUBLIC grants, read with plain SQL. */
async function snapshot(sql: Sql) {
  const where = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'`;
  return {
    policies: [
      ...(await sql.unsafe(`select n.nspname, c.relname, p.polname, p.polcmd, p.polpermissive,
        array(select coalesce(r.rolname, 'PUBLIC') from unnest(p.polroles) u left join pg_roles r on r.oid = u order by 1) as roles,
        pg_get_expr(p.polqual, p.polrelid) as qual, pg_get_expr(p.polwithcheck, p.polrelid) as with_check
        from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace where ${where} order by 1, 2, 3`)),
    ],
    flags: [...(await sql.unsafe(`select n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and ${where} order by 1, 2`))],
    grants: [
      ...(await sql.unsafe(`select n.nspname, c.relname, coalesce(r.rolname, 'PUBLIC') as grantee, a.privilege_type
        from pg_class c join pg_namespace n on n.oid = c.relnamespace cross join lateral aclexplode(c.relacl) a left join pg_roles r on r.oid = a.grantee
        where ${where} and (a.grantee = 0 or r.rolname in ('anon', 'authenticated', 'service_role')) order by 1, 2, 3, 4`)),
    ],
    columnGrants: [
      ...(await sql.unsafe(`select n.nspname, c.relname, at.attname, coalesce(r.rolname, 'PUBLIC') as grantee, a.privilege_type
        from pg_attribute at join pg_class c on c.oid = at.attrelid join pg_namespace n on n.oid = c.relnamespace
        cross join lateral aclexplode(at.attacl) a left join pg_roles r on r.oid = a.grantee
        where ${where} and (a.grantee = 0 or r.rolname in ('anon', 'authenticated', 'service_role')) order by 1, 2, 3, 4, 5`)),
    ],
  };
}

let config: Config;
let from: TestDatabase;
let to: TestDatabase;
let d: DiffResult;

const diff = () => diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: from.url }, to: { kind: 'url', url: to.url } });

beforeAll(async () => {
  config = parseConfig({}, null, '/nonexistent');
  [from, to] = await Promise.all([freshDatabase('rg_tricky_from'), freshDatabase('rg_tricky_to')]);
  // One at a time: both create the same cluster-wide roles.
  await from.sql.unsafe(stateSql('from'));
  await to.sql.unsafe(stateSql('to'));
  d = await diff();
});

afterAll(async () => {
  await from?.drop();
  await to?.drop();
});

describe('tricky policy diffs on real databases', () => {
  it.each(CASES.map((c) => [c.table, c] as const))('%s', (_name, c) => {
    const steps = d.plan.steps.filter((s) => s.table === unquoted(c.table));
    expect(steps.map((s) => [s.kind, s.hazard]), steps.map(stepSql).join('\n')).toEqual(c.expect);
  });

  it('tables dropped, created or renamed between the states are reported, not touched', () => {
    expect(d.plan.onlyOnOneSide).toEqual([
      { table: 'public.after_rename', kind: 'table', side: 'to' },
      { table: 'public.before_rename', kind: 'table', side: 'from' },
      { table: 'public.created', kind: 'table', side: 'to' },
      { table: 'public.dropped', kind: 'table', side: 'from' },
    ]);
  });

  it('renames and quoted names render as one statement each, quoted where needed', () => {
    const sql = (t: string) => d.plan.steps.filter((s) => s.table === t).map(stepSql);
    expect(sql('public.ren')).toEqual(['alter policy old_name on public.ren rename to "Owner can read";']);
    expect(sql('Odd Schema.Mixed "T" table')).toEqual([
      'drop policy "Gone" on "Odd Schema"."Mixed ""T"" table";',
      'create policy "New One" on "Odd Schema"."Mixed ""T"" table" as restrictive for select to "Mixed Role", anon using ((id <> 0));',
      'alter policy "it\'s ""quoted""" on "Odd Schema"."Mixed ""T"" table" rename to "Renamed ""Policy""";',
    ]);
  });

  it('a restriction swapped in place goes through both conditions', () => {
    expect(d.plan.steps.filter((s) => s.table === 'public.restriction_swap').map(stepSql)).toEqual([
      'alter policy r on public.restriction_swap using (((org = 1)) AND ((org = 2)));',
      'create policy q on public.restriction_swap as permissive for select to anon using ((id >= 20));',
      'alter policy r on public.restriction_swap using ((org = 2));',
    ]);
  });

  it('a renamed and edited policy says what it replaces', () => {
    expect(d.plan.steps.filter((s) => s.table === 'public.ren_edited').map((s) => s.effects)).toEqual([
      ['policy "Users read own" on public.ren_edited is dropped, replaced by read_own (see its create step)'],
      ['policy read_own on public.ren_edited replaces "Users read own"', 'policy read_own on public.ren_edited: USING changes from (user_id = auth.uid()) to ((user_id = auth.uid()) AND (id > 0))'],
    ]);
  });

  it('helpers moved into a sub-select: the effect says the condition is the same', () => {
    const [step] = d.plan.steps.filter((s) => s.table === 'public.wrapped_helpers');
    expect(step!.effects).toHaveLength(1);
    expect(step!.effects[0]).toMatch(/^policy p on public\.wrapped_helpers: USING changes from .* \(the same condition; only how often its request helpers are evaluated changes/);
  });

  it('a column grant beside the same table-level grant says why it changes nothing', () => {
    expect(d.plan.steps.find((s) => s.table === 'public.column_grant_under_table_grant')!.effects).toEqual([
      'SELECT (a) on public.column_grant_under_table_grant granted per column for anon, which holds it on the whole table (no change in access)',
    ]);
  });

  it('the effects say why a spelled-out WITH CHECK changes nothing', () => {
    const effects = d.plan.steps.filter((s) => s.table === 'public.check_same_removed' && s.kind === 'create-policy').flatMap((s) => s.effects);
    expect(effects).toEqual([
      'policy p on public.check_same_removed: WITH CHECK changes from (id > 0) to (none: USING applies) (writes are checked as before: without WITH CHECK, USING is the check)',
    ]);
  });

  it('--json carries each step with its SQL, hazard and effects, the whole script, and the one-sided tables', () => {
    const doc = JSON.parse(JSON.stringify(diffJson(d)));
    expect(doc.changed).toBe(true);
    const ren = doc.steps.find((s: { table: string }) => s.table === 'public.ren');
    expect(ren).toMatchObject({ kind: 'rename-policy', name: 'old_name', newName: 'Owner can read', hazard: 'neutral', sql: 'alter policy old_name on public.ren rename to "Owner can read";' });
    const alter = doc.steps.find((s: { table: string }) => s.table === 'public.role_added');
    expect(alter.before.roles).toEqual(['authenticated']);
    expect(alter.after.roles).toEqual(['anon', 'authenticated']);
    // Policy expressions run with pg_catalog first, as they were read.
    expect(doc.sql).toBe(['begin;', "select set_config('search_path', 'pg_catalog, ' || current_setting('search_path'), true);", ...d.plan.steps.map(stepSql), 'commit;', ''].join('\n'));
    expect(doc.summary.steps).toBe(d.plan.steps.length);
    expect(doc.onlyOnOneSide).toHaveLength(4);
  });

  it.each([
    // Row 2 (org 2) is hidden at both ends by different policies: dropping not_org2 before open_ids would show it.
    ['public.many', 2],
    // Row 13 (org 1) is hidden at both ends: dropping low_ids before by_org changes would show it.
    ['public.reorder', 13],
    // Row 22 (org 1, id ≥ 20) is hidden at both ends: creating q under the old restriction would show it.
    ['public.restriction_swap', 22],
  ])('run step by step, no prefix of the plan for %s lets anon see a row that neither end lets it see', async (table, hiddenAtBothEnds) => {
    const steps = d.plan.steps.filter((s) => s.table === table).map(stepSql);
    const rollback = new Error('rollback');
    const visible = async (db: Sql, prefix: readonly string[]): Promise<number[]> => {
      let ids: number[] = [];
      await db
        .begin(async (tx) => {
          for (const text of prefix) await tx.unsafe(text);
          await tx.unsafe('set local role anon');
          ids = (await tx.unsafe(`select id from ${table} order by id`)).map((r) => r['id'] as number);
          throw rollback;
        })
        .catch((e: unknown) => {
          if (e !== rollback) throw e;
        });
      return ids;
    };
    const start = await visible(from.sql, []);
    const end = await visible(to.sql, []);
    expect(await visible(from.sql, steps)).toEqual(end);
    expect(start).not.toContain(hiddenAtBothEnds);
    expect(end).not.toContain(hiddenAtBothEnds);
    for (let k = 1; k < steps.length; k++) {
      const seen = await visible(from.sql, steps.slice(0, k));
      expect(seen.filter((id) => !start.includes(id) && !end.includes(id)), `after: ${steps.slice(0, k).join(' ')}`).toEqual([]);
    }
  });

  it('applying the plan reaches the other state exactly, and the second diff is empty', async () => {
    await applyPlan(d.plan, { url: from.url, lockTimeout: '5s', statementTimeout: '0' });
    const strip = (s: Awaited<ReturnType<typeof snapshot>>) => {
      const keep = (r: Record<string, unknown>) => !['dropped', 'before_rename', 'created', 'after_rename'].includes(r['relname'] as string);
      return { policies: s.policies.filter(keep), flags: s.flags.filter(keep), grants: s.grants.filter(keep), columnGrants: s.columnGrants.filter(keep) };
    };
    const got = strip(await snapshot(from.sql));
    const want = strip(await snapshot(to.sql));
    // Expressions the diff found equal are left as the first database wrote them.
    const equalButKept = ['ren', 'same_stored'];
    for (const s of [got, want]) for (const p of s.policies) if (equalButKept.includes(p['relname'] as string)) p['qual'] = '(kept)';
    expect(got).toEqual(want);
    expect(want.policies.length).toBeGreaterThan(25);
    const again = await diff();
    expect(again.plan.steps.map(stepSql)).toEqual([]);
  });
});

describe('random plans run step by step', () => {
  // Tables of nine rows per (x, y, z) in {true, false, null}, SELECT policies over a
  // small set of conditions, permissive and restrictive, for anon, authenticated or both.
  const EXPRS = ['x', 'y', 'z', '(x AND y)', '(x OR z)', '(NOT x)', 'true', '(y AND z)', '(NOT z)'];
  const randomRow = (r: (n: number) => number, table: string): TableRow => ({
    table,
    rls: r(5) > 0,
    policies: ['a', 'b', 'c', 'd', 'e']
      .filter(() => r(3) > 0)
      .map((name) => ({ name, cmd: (['r', '*'] as const)[r(2)]!, permissive: r(3) > 0, roles: [['anon'], ['authenticated'], ['PUBLIC'], ['anon', 'authenticated']][r(4)]!, using: EXPRS[r(EXPRS.length)]! })),
  });

  it.each([1, 2, 3])('seed %i: no prefix of a plan lets anon or authenticated see a row that neither end lets it see', async (seed) => {
    const r = rng(seed);
    const tables = Array.from({ length: 30 }, (_, i) => `public.s_${i}`);
    const setup = (rows: TableRow[]) => {
      const state = stateOf(rows);
      return [
        ROLES_SQL,
        ...rows.map((row) =>
          [
            `create table ${row.table} (id serial, x boolean, y boolean, z boolean);`,
            `insert into ${row.table} (x, y, z) select a, b, c from (values (true), (false), (null::boolean)) va(a), (values (true), (false), (null::boolean)) vb(b), (values (true), (false), (null::boolean)) vc(c);`,
            renderPolicyFile(state.tables.get(row.table)!),
            `grant select on ${row.table} to anon, authenticated;`,
          ].join('\n'),
        ),
      ].join('\n');
    };
    const a = await freshDatabase('rg_tricky_rand_a');
    const b = await freshDatabase('rg_tricky_rand_b');
    try {
      await a.sql.unsafe(setup(tables.map((t) => randomRow(r, t))));
      await b.sql.unsafe(setup(tables.map((t) => randomRow(r, t))));
      const plan = (await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: a.url }, to: { kind: 'url', url: b.url } })).plan;
      const rollback = new Error('rollback');
      const visible = async (db: Sql, table: string, role: string, prefix: readonly string[]): Promise<number[]> => {
        let ids: number[] = [];
        await db
          .begin(async (tx) => {
            if (prefix.length) await tx.unsafe(prefix.join('\n')).simple();
            await tx.unsafe(`set local role ${role}`);
            ids = (await tx.unsafe(`select id from ${table} order by id`)).map((x) => x['id'] as number);
            throw rollback;
          })
          .catch((e: unknown) => {
            if (e !== rollback) throw e;
          });
        return ids;
      };
      const problems: string[] = [];
      let prefixes = 0;
      for (const t of tables) {
        const steps = plan.steps.filter((s) => s.table === t).map(stepSql);
        for (const role of ['anon', 'authenticated']) {
          const start = await visible(a.sql, t, role, []);
          const end = await visible(b.sql, t, role, []);
          for (let k = 1; k < steps.length; k++, prefixes++) {
            const extra = (await visible(a.sql, t, role, steps.slice(0, k))).filter((id) => !start.includes(id) && !end.includes(id));
            if (extra.length) problems.push(`${t} as ${role}, rows ${extra.join(', ')} after:\n${steps.slice(0, k).join('\n')}`);
          }
        }
      }
      expect(problems).toEqual([]);
      expect(prefixes).toBeGreaterThan(50); // the check ran on real plans
      await applyPlan(plan, { url: a.url, lockTimeout: '5s', statementTimeout: '0' });
      const again = await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: a.url }, to: { kind: 'url', url: b.url } });
      expect(again.plan.steps.map(stepSql)).toEqual([]);
    } finally {
      await a.drop();
      await b.drop();
    }
  });
});
