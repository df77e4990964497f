-- Roles and baseline privileges (conventions §1).
--
-- Roles are cluster-wide (pg_authid is a shared catalog) while this file runs
-- once per database, and several databases on one server may run it at the same
-- time. So every role is created only when missing, and a concurrent creator
-- that wins the race between our check and our CREATE is tolerated: the loser
-- gets duplicate_object (42710), or unique_violation (23505) from the shared
-- catalog's unique index when both inserted before either committed.
-- No role gets a password here: passwords never live in migration files. An
-- operator sets authenticator's password out of band (ALTER ROLE … PASSWORD).
--
--   anon           NOLOGIN              requests without a JWT (PostgREST db-anon-role)
--   authenticated  NOLOGIN              requests with a user's JWT
--   service_role   NOLOGIN BYPASSRLS    trusted servers; RLS does not apply
--   staff          NOLOGIN, member of authenticated: users whose users.role
--                  (the JWT "role" claim, set by the server, never by the user)
--                  is 'staff'. See docs/security-model.md for why staff is a role.
--   authenticator  LOGIN NOINHERIT      PostgREST's login: no privileges of its own,
--                                       it can only SET ROLE into the roles above.

do $roles$
declare
  r record;
begin
  for r in
    select * from (values
      ('anon',          'nologin nobypassrls'),
      ('authenticated', 'nologin nobypassrls'),
      ('service_role',  'nologin bypassrls'),
      ('staff',         'nologin nobypassrls'),
      ('authenticator', 'login noinherit nobypassrls')
    ) as v(name, attributes)
  loop
    if not exists (select from pg_catalog.pg_roles where rolname = r.name) then
      begin
        execute format('create role %I %s', r.name, r.attributes);
      exception when duplicate_object or unique_violation then
        null; -- created by a concurrent migration of another database: checked below
      end;
    end if;
  end loop;

  -- A role that already existed must not be more powerful than the model
  -- assumes. Refuse rather than silently ALTER a cluster-wide role that other
  -- databases may depend on.
  for r in
    select rolname, rolsuper, rolbypassrls, rolinherit, rolcanlogin, rolcreaterole, rolcreatedb
    from pg_catalog.pg_roles
    where rolname in ('anon', 'authenticated', 'service_role', 'staff', 'authenticator')
  loop
    if r.rolsuper or r.rolcreaterole or r.rolcreatedb then
      raise exception 'role % already exists with SUPERUSER, CREATEROLE or CREATEDB', r.rolname
        using errcode = 'invalid_role_specification',
              hint = 'an API role must not be privileged; fix the role (ALTER ROLE … NOSUPERUSER NOCREATEROLE NOCREATEDB) and re-run';
    end if;
    if r.rolname in ('anon', 'authenticated', 'staff', 'authenticator') and r.rolbypassrls then
      raise exception 'role % already exists with BYPASSRLS: row level security would not apply to it', r.rolname
        using errcode = 'invalid_role_specification', hint = format('ALTER ROLE %I NOBYPASSRLS', r.rolname);
    end if;
    if r.rolname = 'service_role' and not r.rolbypassrls then
      raise exception 'role service_role already exists without BYPASSRLS'
        using errcode = 'invalid_role_specification', hint = 'ALTER ROLE service_role BYPASSRLS';
    end if;
    if r.rolname = 'authenticator' and r.rolinherit then
      raise exception 'role authenticator already exists with INHERIT: it would hold service_role''s privileges without SET ROLE'
        using errcode = 'invalid_role_specification', hint = 'ALTER ROLE authenticator NOINHERIT';
    end if;
    if r.rolname <> 'authenticator' and r.rolcanlogin then
      raise exception 'role % already exists with LOGIN: only authenticator may log in', r.rolname
        using errcode = 'invalid_role_specification', hint = format('ALTER ROLE %I NOLOGIN', r.rolname);
    end if;
  end loop;

  -- Memberships: authenticator can switch into each API role; staff holds
  -- authenticated's privileges (and its policies apply to staff as well).
  for r in
    select * from (values
      ('anon', 'authenticator'),
      ('authenticated', 'authenticator'),
      ('service_role', 'authenticator'),
      ('staff', 'authenticator'),
      ('authenticated', 'staff')
    ) as v(granted, member)
  loop
    if not exists (
      select from pg_catalog.pg_auth_members m
      where m.roleid = (select oid from pg_catalog.pg_roles where rolname = r.granted)
        and m.member = (select oid from pg_catalog.pg_roles where rolname = r.member)
    ) then
      begin
        execute format('grant %I to %I', r.granted, r.member);
      exception when duplicate_object or unique_violation then
        null; -- granted concurrently
      end;
    end if;
  end loop;
end
$roles$;

-- Per-database baseline. Functions are executable by PUBLIC by default: every
-- function this role creates from here on must be granted explicitly.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke all on tables from anon, authenticated, service_role, staff;
alter default privileges in schema public revoke all on sequences from anon, authenticated, service_role, staff;

revoke create on schema public from public;
grant usage on schema public to anon, authenticated, service_role;

-- Unexposed schemas. PostgREST serves only api.schemas (public by default), so
-- nothing here is reachable over HTTP; API roles get no USAGE unless a later
-- migration grants one specific function.
create schema if not exists private;
revoke all on schema private from public;
create schema if not exists extensions;
revoke create on schema extensions from public;
