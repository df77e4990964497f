import { cellLabel, type Matrix } from '../../cli/core/matrix/model.js';

/**
 * A small Supabase-shaped base for matrix tests on schemas other than the
 * project's: the API roles, a GoTrue-compatible slice of auth.users, auth.uid(),
 * and three users. Roles are cluster-wide, so they are created only if missing
 * (test files share one server).
 */
export const BASE_SQL = `
do $$
begin
  -- The attributes sql/0001 gives them (INHERIT, as Supabase's): whichever test file creates these
  -- cluster-wide roles first, a member role's grants reach them the same way.
  if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin; end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin bypassrls; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then create role authenticator login noinherit; end if;
exception when unique_violation or duplicate_object then null; -- a parallel file created it first
end $$;
-- The matrix switches roles as PostgREST's login, which sql/0001 makes a member of each (a file that
-- runs before any migration of the project's sql/ must not depend on one having run).
do $$
begin
  grant anon, authenticated, service_role to authenticator;
exception when unique_violation then null; -- granted by a parallel file at the same moment
end $$;
create schema auth;
create table auth.users (
  id uuid primary key,
  aud varchar(255) default 'authenticated',
  role varchar(255) default 'authenticated',
  email varchar(255),
  phone text,
  raw_app_meta_data jsonb default '{}',
  raw_user_meta_data jsonb default '{}',
  is_anonymous boolean not null default false,
  is_sso_user boolean not null default false,
  created_at timestamptz default now()
);
create function auth.uid() returns uuid language sql stable as $f$
  select (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $f$;
grant usage on schema public, auth to anon, authenticated, service_role;
grant execute on function auth.uid() to anon, authenticated, service_role;
insert into auth.users (id, email, raw_app_meta_data) values
  ('00000000-0000-0000-0000-00000000000a', 'alice@example.test', '{"provider":"email"}'),
  ('00000000-0000-0000-0000-00000000000b', 'bob@example.test', '{"provider":"email"}'),
  ('00000000-0000-0000-0000-00000000000c', 'staff@example.test', '{"provider":"email","staff":true}');
`;

export const ACTORS = {
  actors: [
    { name: 'anon', kind: 'anon' },
    { name: 'alice', kind: 'user', email: 'alice@example.test' },
    { name: 'bob', kind: 'user', email: 'bob@example.test' },
    { name: 'staff', kind: 'user', email: 'staff@example.test' },
    { name: 'service_role', kind: 'service_role' },
  ],
};

export const ALICE = '00000000-0000-0000-0000-00000000000a';
export const BOB = '00000000-0000-0000-0000-00000000000b';

/** The API settings the matrix tests build their matrices with. */
export const API = { anonRole: 'anon', authenticatedRole: 'authenticated', serviceRole: 'service_role', roleClaimKey: '$.role', issuer: 'http://localhost:9999/auth/v1', expiresIn: 3600 };

/** One actor's four labels on a table (SELECT, INSERT, UPDATE, DELETE). */
export function row(m: Matrix, table: string, actor: string): string[] {
  const c = m.cells[table]?.[actor];
  if (!c) throw new Error(`no cells for ${actor} on ${table}; tables: ${Object.keys(m.cells).join(', ')}`);
  return [cellLabel(c.SELECT), cellLabel(c.INSERT), cellLabel(c.UPDATE), cellLabel(c.DELETE)];
}
