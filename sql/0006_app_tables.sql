-- The seed's application tables, their row level security, and staff access.
--
-- Every table PostgREST exposes here has RLS enabled AND forced (FORCE makes
-- the owner subject to it too, unless the owner is a superuser or BYPASSRLS),
-- policies name their roles (never PUBLIC), call auth.uid() as a scalar
-- sub-select (an initPlan, evaluated once per statement), and every column
-- compared to a claim is indexed. API roles get back only the privileges the
-- policies need; anon gets nothing (a missing grant is 42501 before any policy).
--
-- Staff ("helpers") see every deployment. The seed decided that with
-- `user_email LIKE '%@helpers' OR user_email = 'admin@helpers'` on the JWT email
-- claim: the email is chosen by the user and may be unverified, and LIKE treats
-- '_' and '%' as wildcards. Here staff is decided by two facts users cannot
-- change (docs/security-model.md explains the choice):
--   1. the request runs as the database role staff: PostgREST takes the role
--      from the JWT "role" claim, which GoTrue fills from auth.users.role, set
--      only by the server (admin API / service_role), never by the user;
--   2. the user is listed, now, in private.staff_members (not banned, not
--      deleted), checked by private.is_staff(), so revoking staff takes effect
--      on the next request, not when the JWT expires.
-- The staff policy is attached TO staff only, so ordinary users' queries carry
-- no `OR is_staff` branch: their plan stays an index scan on user_id.

-- Staff membership ---------------------------------------------------------

create table private.staff_members (
  user_id    uuid primary key references auth.users (id) on delete cascade,
  granted_at timestamptz not null default now(),
  granted_by text not null default current_user,
  note       text
);
comment on table private.staff_members is 'Users with staff access (also need auth.users.role = ''staff'' so their JWT selects the staff role).';
alter table private.staff_members enable row level security;
revoke all on private.staff_members from public, anon, authenticated, service_role, staff;

-- SECURITY DEFINER so the staff role can consult private.staff_members and
-- auth.users without any privilege on them; search_path is empty so nothing a
-- caller creates can shadow the names below.
create or replace function private.is_staff()
  returns boolean
  language sql
  stable
  security definer
  set search_path = ''
as $$
  select exists (
    select
    from private.staff_members s
    join auth.users u on u.id = s.user_id
    where s.user_id = auth.uid()
      and u.deleted_at is null
      and (u.banned_until is null or u.banned_until <= pg_catalog.now())
  )
$$;
comment on function private.is_staff() is 'True when the request''s user (claim sub) is a current, not banned, member of private.staff_members.';
revoke all on function private.is_staff() from public;
grant usage on schema private to staff;
grant execute on function private.is_staff() to staff;

-- Deployments --------------------------------------------------------------

create table public.deployments (
  id         uuid primary key default gen_random_uuid(),
  user_id    uuid not null references auth.users (id) on delete cascade,
  name       text not null check (char_length(name) between 1 and 200),
  status     text not null default 'pending' check (status in ('pending', 'running', 'succeeded', 'failed')),
  created_at timestamptz not null default now()
);
comment on table public.deployments is 'A deployment, owned by one user.';
-- Compared to the sub claim by every policy below (and the foreign key's index).
create index deployments_user_id_idx on public.deployments (user_id);

alter table public.deployments enable row level security;
alter table public.deployments force row level security;

revoke all on public.deployments from public, anon, authenticated, service_role, staff;
grant select, insert, update, delete on public.deployments to authenticated;
grant select, insert, update, delete on public.deployments to service_role;

create policy user_read_own_deployments on public.deployments
  for select to authenticated
  using ((select auth.uid()) = user_id);
-- WITH CHECK: a user can only create rows they own ...
create policy user_insert_own_deployments on public.deployments
  for insert to authenticated
  with check ((select auth.uid()) = user_id);
-- ... can only update their own rows, and not hand one to another user ...
create policy user_update_own_deployments on public.deployments
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);
-- ... and can only delete their own rows.
create policy user_delete_own_deployments on public.deployments
  for delete to authenticated
  using ((select auth.uid()) = user_id);
-- Staff read every deployment (read only: staff write through the policies
-- above, i.e. only their own rows).
create policy staff_read_all_deployments on public.deployments
  for select to staff
  using ((select private.is_staff()));

select audit.enable_tracking('public.deployments');

-- Cloud credentials --------------------------------------------------------

create table public.cloud_credentials (
  id                 uuid primary key default gen_random_uuid(),
  user_id            uuid not null references auth.users (id) on delete cascade,
  encrypted_password text not null,
  created_at         timestamptz not null default now()
);
comment on table public.cloud_credentials is 'A user''s cloud credential; the password is stored as a bcrypt hash only.';
comment on column public.cloud_credentials.encrypted_password is '@secret bcrypt hash; write the plaintext, the trigger hashes it';
create index cloud_credentials_user_id_idx on public.cloud_credentials (user_id);

create trigger hash_encrypted_password
  before insert or update of encrypted_password on public.cloud_credentials
  for each row execute function private.hash_password('encrypted_password');

alter table public.cloud_credentials enable row level security;
alter table public.cloud_credentials force row level security;

-- Owners may read every column but the hash: a readable bcrypt hash can be
-- brute-forced offline. They write it (as plaintext) and never read it back.
revoke all on public.cloud_credentials from public, anon, authenticated, service_role, staff;
grant select (id, user_id, created_at) on public.cloud_credentials to authenticated;
grant insert, update, delete on public.cloud_credentials to authenticated;
grant select, insert, update, delete on public.cloud_credentials to service_role;

create policy user_read_own_cloud_credentials on public.cloud_credentials
  for select to authenticated
  using ((select auth.uid()) = user_id);
create policy user_insert_own_cloud_credentials on public.cloud_credentials
  for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy user_update_own_cloud_credentials on public.cloud_credentials
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);
create policy user_delete_own_cloud_credentials on public.cloud_credentials
  for delete to authenticated
  using ((select auth.uid()) = user_id);

select audit.enable_tracking('public.cloud_credentials');
select audit.enable_tracking('private.staff_members');
