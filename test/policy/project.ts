/**
 * A throwaway rowguard project for policy integration tests: `sql/` creates one
 * table per case (no RLS, no grants, no policies); CURRENT puts each table into
 * its "live" state; `policies/` holds the desired state. Each case names the
 * step kinds its table should need.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyFileName } from '../../cli/core/policy/files.js';
import { tempDir } from '../helpers/tmp.js';

/** Creates each (name, options) role unless it exists, tolerating a concurrent creator. */
export function rolesSql(roles: ReadonlyArray<readonly [name: string, options: string]>): string {
  const values = roles.map(([n, a]) => `('${n.replace(/'/g, "''")}', '${a}')`).join(', ');
  return `
do $$
declare r record;
begin
  for r in select * from (values ${values}) v(n, a) loop
    if not exists (select from pg_roles where rolname = r.n) then
      begin
        execute format('create role %I %s', r.n, r.a);
      exception when duplicate_object or unique_violation then null;
      end;
    end if;
  end loop;
end $$;`;
}

export const ROLES_SQL = rolesSql([['anon', 'nologin'], ['authenticated', 'nologin'], ['service_role', 'nologin bypassrls'], ['Mixed Role', 'nologin']]);

interface Case {
  schema: string;
  table: string;
  columns: string;
  /** SQL run on the current database after sql/. */
  current: string;
  /** Desired: the policies/ file. */
  desired: string;
  /** Step kinds this table's plan must contain, in order (temporary renames included). */
  expect: string[];
}

const uid = `(select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid`;

export const CASES: Case[] = [
  {
    schema: 'public', table: 't_add', columns: 'id int, user_id uuid',
    current: 'alter table public.t_add enable row level security;',
    desired: 'alter table public.t_add enable row level security;\ncreate policy p on public.t_add for select to authenticated using (user_id = auth.uid());',
    expect: ['create-policy'],
  },
  {
    schema: 'public', table: 't_drop', columns: 'id int, user_id uuid',
    current: 'alter table public.t_drop enable row level security; create policy p on public.t_drop for select to authenticated using (user_id = auth.uid());',
    desired: 'alter table public.t_drop enable row level security;',
    expect: ['drop-policy'],
  },
  {
    schema: 'public', table: 't_using', columns: 'id int, user_id uuid',
    current: 'alter table public.t_using enable row level security; create policy p on public.t_using for select to authenticated using (user_id = auth.uid());',
    desired: 'alter table public.t_using enable row level security;\ncreate policy p on public.t_using for select to authenticated using (user_id = auth.uid() and id > 0);',
    expect: ['alter-policy'],
  },
  {
    schema: 'public', table: 't_check', columns: 'id int, user_id uuid',
    current: 'alter table public.t_check enable row level security; create policy p on public.t_check for insert to authenticated with check (user_id = auth.uid());',
    desired: 'alter table public.t_check enable row level security;\ncreate policy p on public.t_check for insert to authenticated with check (user_id = auth.uid() and id > 0);',
    expect: ['alter-policy'],
  },
  {
    schema: 'public', table: 't_clause', columns: 'id int, user_id uuid',
    current: 'alter table public.t_clause enable row level security; create policy p on public.t_clause for update to authenticated using (user_id = auth.uid()) with check (id > 0);',
    desired: 'alter table public.t_clause enable row level security;\ncreate policy p on public.t_clause for update to authenticated using (user_id = auth.uid());',
    expect: ['drop-policy', 'create-policy'],
  },
  {
    schema: 'public', table: 't_roles', columns: 'id int, user_id uuid',
    current: 'alter table public.t_roles enable row level security; create policy p on public.t_roles for select to authenticated using (true);',
    desired: 'alter table public.t_roles enable row level security;\ncreate policy p on public.t_roles for select to anon, authenticated using (true);',
    expect: ['alter-policy'],
  },
  {
    schema: 'public', table: 't_cmd', columns: 'id int, user_id uuid',
    current: 'alter table public.t_cmd enable row level security; create policy p on public.t_cmd for select to authenticated using (user_id = auth.uid());',
    desired: 'alter table public.t_cmd enable row level security;\ncreate policy p on public.t_cmd for all to authenticated using (user_id = auth.uid());',
    expect: ['drop-policy', 'create-policy'],
  },
  {
    schema: 'public', table: 't_kind', columns: 'id int, active boolean',
    current: 'alter table public.t_kind enable row level security; create policy p on public.t_kind as restrictive for select to authenticated using (active);',
    desired: 'alter table public.t_kind enable row level security;\ncreate policy p on public.t_kind as permissive for select to authenticated using (active);',
    expect: ['drop-policy', 'create-policy'],
  },
  {
    schema: 'public', table: 't_rename', columns: 'id int, user_id uuid',
    current: 'alter table public.t_rename enable row level security; create policy old_name on public.t_rename for select to authenticated using (user_id = auth.uid());',
    desired: 'alter table public.t_rename enable row level security;\ncreate policy "New Name" on public.t_rename for select to authenticated using (user_id = auth.uid());',
    expect: ['rename-policy'],
  },
  {
    schema: 'public', table: 't_swap', columns: 'id int',
    current: 'alter table public.t_swap enable row level security; create policy a on public.t_swap for select to anon using (id > 1); create policy b on public.t_swap for select to authenticated using (id > 2);',
    desired: 'alter table public.t_swap enable row level security;\ncreate policy b on public.t_swap for select to anon using (id > 1);\ncreate policy a on public.t_swap for select to authenticated using (id > 2);',
    expect: ['rename-policy', 'rename-policy', 'rename-policy'],
  },
  {
    schema: 'My Schema', table: 'Odd "T" x', columns: 'id int, "select" int',
    current: '',
    desired: [
      'alter table "My Schema"."Odd ""T"" x" enable row level security, force row level security;',
      'grant select ("select", id) on "My Schema"."Odd ""T"" x" to anon;',
      'grant insert on "My Schema"."Odd ""T"" x" to authenticated;',
      'create policy "Pol ""1"" x" on "My Schema"."Odd ""T"" x" for select to "Mixed Role", anon using ("select" > 0);',
    ].join('\n'),
    expect: ['force-rls', 'create-policy', 'enable-rls', 'grant', 'grant-columns'],
  },
  {
    schema: 'app', table: 'items', columns: 'id int, team_id int',
    current: 'alter table app.items enable row level security; create policy team on app.items for select to authenticated using (exists (select 1 from app.members m where m.user_id = auth.uid()));',
    desired: 'alter table app.items enable row level security;\ncreate policy team on app.items for select to authenticated\n  using (exists (select 1 from app.members m where m.user_id = (select auth.uid()) and m.team_id = items.team_id) and app.is_open(id));',
    expect: ['alter-policy'],
  },
  {
    schema: 'public', table: 'events', columns: '',
    current: 'alter table public.events enable row level security; create policy p on public.events for select to authenticated using (true);',
    desired: 'alter table public.events enable row level security;\ncreate policy p on public.events for select to authenticated using (true);',
    expect: [],
  },
  {
    schema: 'public', table: 'events_2024', columns: '',
    current: '',
    desired: 'alter table public.events_2024 enable row level security;\ncreate policy p on public.events_2024 for select to authenticated using (at >= \'2024-06-01\');',
    expect: ['create-policy', 'enable-rls'],
  },
  {
    schema: 'public', table: 't_format', columns: 'id int, user_id uuid, status text',
    current: "alter table public.t_format enable row level security; create policy p on public.t_format for select to authenticated using (user_id=auth.uid() and status='x');",
    desired: "alter table public.t_format enable row level security;\nCREATE POLICY p ON public.t_format\n  FOR SELECT\n  TO authenticated\n  USING ( ((user_id = auth.uid()))   AND   (status = 'x'::text) );",
    expect: [],
  },
  {
    // Operand order only: the two sides of = and the AND arguments swapped (nested ANDs flattened).
    schema: 'public', table: 't_commuted', columns: 'id int, user_id uuid, status text, org int',
    current: "alter table public.t_commuted enable row level security; create policy p on public.t_commuted for update to authenticated using (user_id = auth.uid() and status = 'x' and org <> 1) with check (user_id = auth.uid());",
    desired: "alter table public.t_commuted enable row level security;\ncreate policy p on public.t_commuted for update to authenticated using ((1 <> org and 'x' = status) and auth.uid() = user_id) with check (auth.uid() = user_id);",
    expect: [],
  },
  {
    // Not symmetric: < swapped, and AND turned into OR, are real changes.
    schema: 'public', table: 't_notcommuted', columns: 'id int, a int, b int',
    current: 'alter table public.t_notcommuted enable row level security; create policy p on public.t_notcommuted for select to authenticated using (a < b and a > 0); create policy q on public.t_notcommuted for select to authenticated using (a = 1 and b = 2);',
    desired: 'alter table public.t_notcommuted enable row level security;\ncreate policy p on public.t_notcommuted for select to authenticated using (b < a and a > 0);\ncreate policy q on public.t_notcommuted for select to authenticated using (a = 1 or b = 2);',
    expect: ['alter-policy', 'alter-policy'],
  },
  {
    schema: 'public', table: 't_roleorder', columns: 'id int',
    current: 'alter table public.t_roleorder enable row level security; create policy p on public.t_roleorder for select to anon, authenticated using (true);',
    desired: 'alter table public.t_roleorder enable row level security;\ncreate policy p on public.t_roleorder for select to authenticated, anon using (true);',
    expect: [],
  },
  {
    schema: 'public', table: 't_public', columns: 'id int',
    current: 'alter table public.t_public enable row level security; create policy p on public.t_public for select to anon using (id > 0);',
    desired: 'alter table public.t_public enable row level security;\ncreate policy p on public.t_public for select using (id > 0);',
    expect: ['alter-policy'],
  },
  {
    schema: 'public', table: 't_grants', columns: 'id int',
    current: 'grant select, delete on public.t_grants to anon; grant select on public.t_grants to public;',
    desired: 'grant insert on public.t_grants to anon;\ngrant select on public.t_grants to authenticated;',
    expect: ['revoke', 'revoke', 'grant', 'grant'],
  },
  {
    schema: 'public', table: 't_rlsoff', columns: 'id int',
    current: 'alter table public.t_rlsoff enable row level security, force row level security; create policy p on public.t_rlsoff for select to anon using (true);',
    desired: '-- RLS off, nothing granted.',
    expect: ['disable-rls', 'no-force-rls', 'drop-policy'],
  },
];

export function quoted(schema: string, table: string): string {
  const q = (s: string) => '"' + s.replace(/"/g, '""') + '"';
  return `${q(schema)}.${q(table)}`;
}

export const MIGRATION = [
  ROLES_SQL,
  'create schema if not exists auth;',
  `create or replace function auth.uid() returns uuid language sql stable as $$ select ${uid} $$;`,
  'create schema app;',
  'create schema "My Schema";',
  'create table app.members (user_id uuid, team_id int);',
  `create function app.is_open(int) returns boolean language sql stable as $$ select $1 > 0 $$;`,
  ...CASES.filter((c) => c.columns !== '').map((c) => `create table ${quoted(c.schema, c.table)} (${c.columns});`),
  'create table public.events (id int, at date) partition by range (at);',
  "create table public.events_2024 partition of public.events for values from ('2024-01-01') to ('2025-01-01');",
  // CREATE TABLE grants the owner only; make PUBLIC/API grants explicit per case.
].join('\n');

export const CURRENT = CASES.map((c) => c.current).filter(Boolean).join('\n');

/** Create the project folder; returns its path. */
export function makeProject(): string {
  const dir = tempDir('rowguard-policy-');
  mkdirSync(join(dir, 'sql'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'sql', '0001_init.sql'), MIGRATION + '\n');
  for (const c of CASES) writeFileSync(join(dir, 'policies', policyFileName(c.schema, c.table)), c.desired + '\n');
  return dir;
}

export function copyProject(dir: string): string {
  const copy = tempDir('rowguard-policy-copy-');
  cpSync(dir, copy, { recursive: true });
  return copy;
}
