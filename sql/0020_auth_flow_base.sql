-- Database-first auth flows (issue 5), part 1: the schema, its settings and
-- state tables, and the internal helpers every flow uses.
--
-- Where things live:
--   * GoTrue's tables in `auth` are used as GoTrue shapes them (0002); nothing
--     here adds a column to them. Flow state GoTrue has no table for (lockout
--     counters, settings, the session's authentication methods) lives in the
--     unexposed schema `auth_flow`.
--   * Every function is SECURITY DEFINER with an empty search_path and fully
--     qualified names, owned by the migration role (which owns auth.* too).
--     EXECUTE is revoked from PUBLIC; the entry points are granted to
--     service_role only, the role of the trusted server (or `rowguard auth`)
--     that sits between a browser and these functions. anon and authenticated
--     get nothing: auth_flow is not in PostgREST's schemas and no RPC reaches it.
--     See docs/security-model.md, "Auth flows".
--
-- Secrets: refresh tokens and magic-link tokens are 256-bit random values
-- (extensions.gen_random_bytes(32)) handed to the caller once and stored only
-- as the hex sha256 of their text (extensions.digest). A 256-bit uniformly
-- random token needs no salt or slow hash: it cannot be guessed, so its hash
-- cannot be brute-forced back.

create schema if not exists auth_flow;
revoke all on schema auth_flow from public;
comment on schema auth_flow is 'Auth flows (sign-in, lockout, refresh rotation, magic links, identities, GDPR). Not exposed over PostgREST.';
grant usage on schema auth_flow to service_role;

-- Settings -----------------------------------------------------------------

create table auth_flow.settings (
  singleton               boolean primary key default true check (singleton),
  max_failures            integer not null default 5 check (max_failures between 1 and 1000),
  failure_window          interval not null default interval '15 minutes' check (failure_window > interval '0'),
  lockout_duration        interval not null default interval '15 minutes' check (lockout_duration > interval '0'),
  -- A revoked refresh token presented again within this interval of its
  -- rotation is the benign network race (the client retried, or two tabs
  -- refreshed at once): the call fails but the session survives. Later, it
  -- is reuse of a stolen token and the whole session is revoked. Supabase's
  -- hosted default is 10 seconds.
  refresh_reuse_interval  interval not null default interval '10 seconds' check (refresh_reuse_interval >= interval '0'),
  magic_link_ttl          interval not null default interval '1 hour' check (magic_link_ttl > interval '0'),
  -- GoTrue's sessions.timebox: NULL = a session lives until signed out.
  session_timebox         interval check (session_timebox > interval '0'),
  min_password_length     integer not null default 8 check (min_password_length between 6 and 72)
);
comment on table auth_flow.settings is 'One row: lockout (max_failures in failure_window locks for lockout_duration), refresh reuse interval, magic link lifetime, session timebox, minimum password length. Change with UPDATE.';
insert into auth_flow.settings default values;

-- Failed sign-ins per email, for the lockout. Keyed by the sha256 of the
-- normalised email, not the email: sign-in attempts for addresses that have no
-- account are counted too (so an unknown email costs the same work as a known
-- one), and what people type into an email box is sometimes their password.
create table auth_flow.login_attempts (
  email_key         bytea primary key check (octet_length(email_key) = 32),
  failures          integer not null default 0 check (failures >= 0),
  window_started_at timestamptz,
  locked_until      timestamptz,
  last_failure_at   timestamptz
);
comment on table auth_flow.login_attempts is 'Failed password sign-ins per sha256(normalised email): a fixed window from the first failure; locked_until set when failures reach settings.max_failures. Deleted on success.';

-- How a session was authenticated, so a refresh can put the same amr in the
-- new access token (GoTrue keeps this in auth.mfa_amr_claims, which 0002 does
-- not create and which we do not pre-create: see conventions §4).
create table auth_flow.session_methods (
  session_id       uuid primary key references auth.sessions (id) on delete cascade,
  method           text not null check (method in ('password', 'magiclink', 'oauth')),
  provider         text,
  authenticated_at timestamptz not null
);
comment on table auth_flow.session_methods is 'The amr entry (method, provider, time) of each session started by auth_flow.';

-- A bcrypt hash of 32 random bytes nobody knows, one per cost. Sign-in compares
-- the given password against it when there is no real hash to compare with
-- (unknown email, account without a password), so every failed sign-in costs
-- one bcrypt at the configured cost.
create table auth_flow.dummy_hashes (
  cost integer primary key check (cost between 4 and 31),
  hash text not null
);
comment on table auth_flow.dummy_hashes is 'bcrypt hashes of unknown random bytes, compared against when a sign-in has no real hash, so unknown emails cost the same work.';

alter table auth_flow.settings enable row level security;
alter table auth_flow.login_attempts enable row level security;
alter table auth_flow.session_methods enable row level security;
alter table auth_flow.dummy_hashes enable row level security;
revoke all on auth_flow.settings, auth_flow.login_attempts, auth_flow.session_methods, auth_flow.dummy_hashes
  from public, anon, authenticated, service_role, staff;

-- What a successful sign-in, magic-link redemption or refresh hands back: enough
-- for the caller to mint GoTrue's access token (cli/core/jwt/claims.ts
-- buildAccessClaims) without another query. A failure is a NULL grant.
create type auth_flow.session_grant as (
  user_id                  uuid,
  session_id               uuid,
  refresh_token            text,
  -- sessions.not_after: NULL when sessions are not timeboxed.
  refresh_token_expires_at timestamptz,
  aal                      text,
  -- [{method, timestamp, provider?}], GoTrue's amr claim.
  amr                      jsonb,
  -- The auth.users columns an access token carries (AuthUser in claims.ts).
  user_claims              jsonb,
  issued_at                timestamptz
);

-- Internal helpers (no grants) ---------------------------------------------

-- The flows' clock. now() (the transaction's start) unless the
-- transaction-local setting rowguard.auth_now holds a timestamp AND the
-- session logged in as a member of the role owning schema auth_flow (the
-- migration role, or a superuser). Tests move time that way; an API session
-- logs in as authenticator (NOINHERIT, not a member of the owner), and
-- session_user cannot be changed by SET ROLE or by a SECURITY DEFINER call, so
-- no API caller can move the clock to escape a lockout or revive an expired
-- link. Anyone else who sets it gets an error instead of a silently ignored
-- setting.
create or replace function auth_flow.clock()
  returns timestamptz
  language plpgsql
  stable
  security definer
  set search_path = ''
as $$
declare
  injected text := nullif(pg_catalog.current_setting('rowguard.auth_now', true), '');
begin
  if injected is null then
    return pg_catalog.now();
  end if;
  if not pg_catalog.pg_has_role(
       session_user,
       (select n.nspowner from pg_catalog.pg_namespace n where n.nspname = 'auth_flow'),
       'MEMBER') then
    raise exception 'rowguard.auth_now may only be set by the owner of schema auth_flow'
      using errcode = 'insufficient_privilege';
  end if;
  return injected::timestamptz;
end
$$;
comment on function auth_flow.clock() is 'now(), or rowguard.auth_now when the session user is a member of auth_flow''s owner (tests).';

-- GoTrue stores emails lower-cased and trimmed. NULL when it cannot be an email.
create or replace function auth_flow.normalize_email(p_email text)
  returns text
  language sql
  immutable
  set search_path = ''
as $$
  select case
    when v ~ '^[^@[:space:]]+@[^@[:space:]]+$' and pg_catalog.octet_length(v) <= 255 then v
  end
  from (select pg_catalog.lower(pg_catalog.btrim(p_email)) as v) as n
$$;

create or replace function auth_flow.email_key(p_normalized_email text)
  returns bytea
  language sql
  immutable
  set search_path = ''
as $$
  select extensions.digest(pg_catalog.convert_to(coalesce(p_normalized_email, ''), 'UTF8'), 'sha256')
$$;

-- 32 random bytes, base64url without padding: 43 characters, 256 bits.
create or replace function auth_flow.new_secret()
  returns text
  language sql
  volatile
  set search_path = ''
as $$
  select pg_catalog.rtrim(pg_catalog.translate(pg_catalog.encode(extensions.gen_random_bytes(32), 'base64'), '+/', '-_'), '=')
$$;

-- What is stored for a refresh or magic-link token: hex sha256 of its text.
create or replace function auth_flow.hash_secret(p_secret text)
  returns text
  language sql
  immutable
  set search_path = ''
as $$
  select pg_catalog.encode(extensions.digest(pg_catalog.convert_to(coalesce(p_secret, ''), 'UTF8'), 'sha256'), 'hex')
$$;

-- The dummy hash at the configured bcrypt cost (made once per cost).
create or replace function auth_flow.dummy_hash()
  returns text
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  c integer := greatest(coalesce((select s.bcrypt_cost from private.password_settings s where s.singleton), 10), 10);
  h text;
begin
  select d.hash into h from auth_flow.dummy_hashes d where d.cost = c;
  if h is null then
    h := extensions.crypt(pg_catalog.encode(extensions.gen_random_bytes(32), 'hex'), extensions.gen_salt('bf', c));
    insert into auth_flow.dummy_hashes (cost, hash) values (c, h) on conflict (cost) do nothing;
  end if;
  return h;
end
$$;

-- The row without its secret columns: names that look secret
-- (audit.is_secret_name) or columns whose comment says @secret. Used by the
-- GDPR export so no hash or token leaves the database.
create or replace function auth_flow.without_secrets(p_table regclass, p_row jsonb)
  returns jsonb
  language sql
  stable
  set search_path = ''
as $$
  select p_row - coalesce(pg_catalog.array_agg(a.attname::text), '{}'::text[])
    from pg_catalog.pg_attribute a
   where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped
     and (audit.is_secret_name(a.attname)
          or coalesce(pg_catalog.col_description(p_table, a.attnum), '') like '%@secret%')
$$;

-- The auth.users columns an access token is built from.
create or replace function auth_flow.user_claims(u auth.users)
  returns jsonb
  language sql
  stable
  set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'id', u.id, 'aud', u.aud, 'role', u.role, 'email', u.email, 'phone', u.phone,
    'raw_app_meta_data', coalesce(u.raw_app_meta_data, '{}'::jsonb),
    'raw_user_meta_data', coalesce(u.raw_user_meta_data, '{}'::jsonb),
    'is_anonymous', u.is_anonymous)
$$;

-- Can this user start a session now? (GoTrue: not deleted, not banned.)
create or replace function auth_flow.user_may_sign_in(u auth.users, p_now timestamptz)
  returns boolean
  language sql
  stable
  set search_path = ''
as $$
  select u.id is not null and u.deleted_at is null and (u.banned_until is null or u.banned_until <= p_now)
$$;

-- The grant for a session: the session's amr and its user as they are now.
create or replace function auth_flow.grant_for(p_session_id uuid, p_refresh_token text, p_now timestamptz)
  returns auth_flow.session_grant
  language sql
  stable
  security definer
  set search_path = ''
as $$
  select row(
    s.user_id, s.id, p_refresh_token, s.not_after, coalesce(s.aal::text, 'aal1'),
    pg_catalog.jsonb_build_array(
      pg_catalog.jsonb_build_object('method', m.method, 'timestamp', pg_catalog.floor(extract(epoch from m.authenticated_at))::bigint)
      || case when m.provider is not null then pg_catalog.jsonb_build_object('provider', m.provider) else '{}'::jsonb end),
    auth_flow.user_claims(u),
    p_now)::auth_flow.session_grant
  from auth.sessions s
  join auth_flow.session_methods m on m.session_id = s.id
  join auth.users u on u.id = s.user_id
  where s.id = p_session_id
$$;

-- Start a session (aal1) with its first refresh token. The caller has decided
-- that the user may sign in, and writes the audit event.
create or replace function auth_flow.start_session(p_user_id uuid, p_method text, p_provider text, p_now timestamptz)
  returns auth_flow.session_grant
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_session uuid := pg_catalog.gen_random_uuid();
  v_token text := auth_flow.new_secret();
  v_timebox interval := (select s.session_timebox from auth_flow.settings s where s.singleton);
begin
  insert into auth.sessions (id, user_id, created_at, updated_at, aal, not_after)
  values (v_session, p_user_id, p_now, p_now, 'aal1', p_now + v_timebox);
  insert into auth_flow.session_methods (session_id, method, provider, authenticated_at)
  values (v_session, p_method, p_provider, p_now);
  -- GoTrue's user_id column is varchar(255) holding the uuid's text.
  insert into auth.refresh_tokens (token, user_id, parent, session_id, revoked, created_at, updated_at)
  values (auth_flow.hash_secret(v_token), p_user_id::text, null, v_session, false, p_now, p_now);
  update auth.users u set last_sign_in_at = p_now, updated_at = p_now where u.id = p_user_id;
  return auth_flow.grant_for(v_session, v_token, p_now);
end
$$;

revoke all on function
  auth_flow.clock(), auth_flow.normalize_email(text), auth_flow.email_key(text), auth_flow.new_secret(),
  auth_flow.hash_secret(text), auth_flow.dummy_hash(), auth_flow.without_secrets(regclass, jsonb),
  auth_flow.user_claims(auth.users), auth_flow.user_may_sign_in(auth.users, timestamptz),
  auth_flow.grant_for(uuid, text, timestamptz), auth_flow.start_session(uuid, text, text, timestamptz)
  from public;

-- Make the dummy hash for the current cost now, not on the first sign-in.
select auth_flow.dummy_hash();
