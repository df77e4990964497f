-- Password hashes and provider tokens after an outside review of 0004 and
-- 0020…0026. Functions are replaced whole (CREATE OR REPLACE, same signature,
-- so their grants stay); 3 adds the helper auth_flow.without_secret_keys() and
-- 4 a CHECK constraint on auth.users with its function.
--
-- 1. sign_in: a $2b$ or $2y$ bcrypt hash never matched. 0004 keeps such hashes
--    (imports from bcrypt libraries other than Go's, PHP's $2y$, node's $2b$),
--    and GoTrue verifies them (Go's bcrypt takes any minor version letter),
--    but pgcrypto's crypt() knows only $2a$ and $2x$: given a $2b$/$2y$ hash
--    as the salt it falls back to traditional DES (salt "$2") and returns 13
--    characters in microseconds. So the right password failed, and a failed
--    sign-in of such an account took microseconds where an unknown email
--    takes one bcrypt at cost 10 (~60 ms): the timing told the accounts
--    apart. For passwords of at most 72 bytes the three prefixes compute the
--    same hash (the $2b$ fix concerns lengths past 255; $2y$ marks
--    crypt_blowfish's corrected $2a$, which pgcrypto's $2a$ computes too, but
--    for the rare non-ASCII keys its countermeasure against the old sign
--    bug alters), so the hash is compared under the $2a$ prefix, and a
--    successful sign-in rehashes it as $2a$ at the configured cost (as a hash
--    of another cost already was).
--
-- 2. A hash-shaped value whose cost is outside bcrypt's 4..31 ($2a$32$…,
--    $2a$99$…) was kept by the 0004 trigger (it checked only cost >= 10), and
--    sign_in then raised pgcrypto's "invalid salt" instead of returning NULL:
--    an answer that differs from an unknown email's, and a failure that was not
--    counted. The trigger now refuses costs above 31 (no bcrypt produces them),
--    and sign_in compares a stored value that is not a usable bcrypt hash
--    against the dummy hash, as it does for NULL (same work, never a match).
--
-- 3. link_identity dropped secret-looking keys (access_token, provider_token,
--    …) at the top level of identity_data only: {"raw": {"access_token": …}}
--    was stored as given, and export_user handed it back. They are now dropped
--    at any depth, inside arrays too.
--
-- 4. The 0004 trigger is the only thing between a plaintext and auth.users,
--    and it does not run when the table's owner disables it (ALTER TABLE …
--    DISABLE TRIGGER), when a superuser's session sets session_replication_role
--    = replica (a data-only pg_restore --disable-triggers does either), or when
--    a later BEFORE trigger (they fire in name order) sets the column again: in
--    each case the plaintext was stored. A CHECK constraint holds in all three:
--    the column holds NULL, '' (GoTrue's "no password": the trigger refuses it
--    from new writes, but rows GoTrue wrote keep it) or a bcrypt hash. Only the
--    table's owner or a superuser can drop it. Rows already stored that break
--    it are not touched: the constraint is added NOT VALID here and validated
--    by 0028; when validation fails a NOTICE says how many rows to fix, and
--    new writes are checked either way.
--
-- 5. sign_up refuses a password over 72 bytes itself, with its own message:
--    one over 255 characters failed with "value too long for type character
--    varying(255)", which names neither the flow nor the column.

-- 2 (trigger) ------------------------------------------------------------------

create or replace function private.hash_password()
  returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  target_column text := coalesce(tg_argv[0], 'encrypted_password');
  candidate text := pg_catalog.to_jsonb(new) ->> target_column;
  cost integer;
  relation text := pg_catalog.format('%I.%I', tg_table_schema, tg_table_name);
begin
  if not (pg_catalog.to_jsonb(new) ? target_column) then
    raise exception 'private.hash_password(): %.% does not exist', relation, target_column
      using errcode = 'undefined_column';
  end if;
  if candidate is null then
    return new;
  end if;
  if tg_op = 'UPDATE' and candidate is not distinct from (pg_catalog.to_jsonb(old) ->> target_column) then
    return new;
  end if;

  if candidate ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$' then
    if pg_catalog.substr(candidate, 5, 2)::integer < 10 then
      raise exception '%.%: bcrypt hash with cost % rejected (minimum 10)', relation, target_column, pg_catalog.substr(candidate, 5, 2)
        using errcode = 'invalid_parameter_value',
              hint = 'rehash the password at cost 10 or more, or store the plaintext and let the trigger hash it';
    end if;
    -- bcrypt's cost is 4..31; crypt() raises "invalid salt" on anything larger.
    if pg_catalog.substr(candidate, 5, 2)::integer > 31 then
      raise exception '%.%: bcrypt hash with cost % rejected (bcrypt''s maximum is 31)', relation, target_column, pg_catalog.substr(candidate, 5, 2)
        using errcode = 'invalid_parameter_value',
              hint = 'this is not a bcrypt hash: store the plaintext and let the trigger hash it';
    end if;
    return new;
  end if;

  if candidate = '' then
    raise exception '%.%: empty password rejected', relation, target_column
      using errcode = 'invalid_parameter_value',
            hint = 'store NULL for an account without a password';
  end if;
  if pg_catalog.octet_length(candidate) > 72 then
    raise exception '%.%: password longer than 72 bytes rejected (bcrypt ignores the bytes after the 72nd)', relation, target_column
      using errcode = 'invalid_parameter_value',
            hint = 'use at most 72 bytes (UTF-8): fewer characters when they are not ASCII';
  end if;

  select s.bcrypt_cost into cost from private.password_settings s where s.singleton;
  new := pg_catalog.jsonb_populate_record(new, pg_catalog.jsonb_build_object(
    target_column,
    extensions.crypt(candidate, extensions.gen_salt('bf', greatest(coalesce(cost, 10), 10)))
  ));
  return new;
end
$$;
comment on function private.hash_password() is 'BEFORE INSERT OR UPDATE trigger: bcrypt-hash the plaintext in column tg_argv[0] (default encrypted_password); see 0004_passwords.sql and 0027 for the rules.';

-- 1, 2 (sign_in) ---------------------------------------------------------------

-- As 0026 left it, but for the hash it compares with: a stored value is a
-- usable bcrypt hash only with a cost of 4..31 (else the dummy hash), and a
-- $2b$/$2y$ hash is compared under the $2a$ prefix, which pgcrypto knows.
create or replace function auth_flow.sign_in(p_email text, p_password text)
  returns auth_flow.session_grant
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_now timestamptz := auth_flow.clock();
  s auth_flow.settings;
  v_email text := auth_flow.normalize_email(p_email);
  v_key bytea := auth_flow.email_key(v_email);
  u auth.users;
  a auth_flow.login_attempts;
  v_hash text;
  v_compare text;
  v_match boolean;
  v_reason text;
  v_newly_locked boolean := false;
  g auth_flow.session_grant;
begin
  select * into strict s from auth_flow.settings where singleton;
  if v_email is not null then
    select * into u from auth.users x where x.email = v_email and not x.is_sso_user;
  end if;

  -- A successful sign-in of the same email deletes this row: one that waited
  -- for its lock then finds none, and makes it again.
  loop
    insert into auth_flow.login_attempts (email_key) values (v_key) on conflict (email_key) do nothing;
    select * into a from auth_flow.login_attempts x where x.email_key = v_key for update;
    exit when found;
  end loop;

  v_hash := case when u.encrypted_password ~ '^\$2[abxy]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$' then u.encrypted_password
                 else auth_flow.dummy_hash() end;
  -- pgcrypto's crypt() reads $2b$ and $2y$ as DES salts (13 characters back,
  -- in microseconds); for passwords of at most 72 bytes they are $2a$.
  v_compare := case when v_hash ~ '^\$2[by]\$' then '$2a$' || pg_catalog.substr(v_hash, 5) else v_hash end;
  v_match := extensions.crypt(coalesce(p_password, ''), v_compare) = v_compare;
  -- bcrypt ignored every byte after the 72nd: the comparison above ran (same
  -- work), but a longer password is never the one that was hashed.
  v_match := v_match and pg_catalog.octet_length(coalesce(p_password, '')) <= 72;

  v_reason := case
    when u.id is null then 'unknown_email'
    when a.locked_until > v_now then 'locked'
    when u.encrypted_password is distinct from v_hash or not v_match then 'wrong_password'
    when not auth_flow.user_may_sign_in(u, v_now) then 'banned_or_deleted'
    when u.email_confirmed_at is null then 'email_not_confirmed'
  end;

  if v_reason is not null then
    if a.locked_until > v_now then
      null; -- locked: count, but neither restart the window nor extend the lock
    elsif a.locked_until is not null or a.window_started_at is null or a.window_started_at + s.failure_window <= v_now then
      a.failures := 0;
      a.window_started_at := v_now;
      a.locked_until := null;
    end if;
    a.failures := a.failures + 1;
    if a.locked_until is null and a.failures >= s.max_failures then
      a.locked_until := v_now + s.lockout_duration;
      v_newly_locked := true;
    end if;
    update auth_flow.login_attempts x
       set failures = a.failures, window_started_at = a.window_started_at,
           locked_until = a.locked_until, last_failure_at = v_now
     where x.email_key = v_key;
    perform audit.log_auth_event('login_failed', u.id,
      pg_catalog.jsonb_build_object('provider', 'email', 'reason', v_reason, 'failures', a.failures));
    if v_newly_locked then
      perform audit.log_auth_event('user_locked', u.id,
        pg_catalog.jsonb_build_object('failures', a.failures, 'locked_until', a.locked_until));
    end if;
    return null;
  end if;

  delete from auth_flow.login_attempts x where x.email_key = v_key;
  -- A hash made at another cost (before private.password_settings.bcrypt_cost
  -- was raised, or imported) or under another prefix than $2a$ is replaced now
  -- that the password is known: assigning the plaintext makes the 0004 trigger
  -- hash it at the configured cost. Only a password the trigger would hash
  -- (1..72 bytes, not itself shaped like a bcrypt hash) is re-assigned; any
  -- other (possible for rows GoTrue wrote) keeps its hash.
  if (pg_catalog.substr(u.encrypted_password, 5, 2)::integer
        <> (select greatest(ps.bcrypt_cost, 10) from private.password_settings ps where ps.singleton)
      or pg_catalog.left(u.encrypted_password, 4) <> '$2a$')
     and pg_catalog.octet_length(p_password) between 1 and 72
     and p_password !~ '^\$2[abxy]\$' then
    update auth.users x set encrypted_password = p_password where x.id = u.id;
  end if;
  g := auth_flow.start_session(u.id, 'password', null, v_now);
  perform audit.log_auth_event('login', u.id, pg_catalog.jsonb_build_object('provider', 'email', 'session_id', g.session_id));
  return g;
end
$$;
comment on function auth_flow.sign_in(text, text) is 'Password sign-in with lockout: a session grant, or NULL for every failure (same work and answer for unknown email, wrong password, locked account; a password over 72 bytes never matches; $2a$, $2b$ and $2y$ hashes verify).';

-- 3 ------------------------------------------------------------------------

-- The value without the keys audit.is_secret_name() matches, at any depth
-- (objects inside arrays included). Internal: no grants.
create or replace function auth_flow.without_secret_keys(p_value jsonb)
  returns jsonb
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  result jsonb;
begin
  case pg_catalog.jsonb_typeof(p_value)
    when 'object' then
      select coalesce(pg_catalog.jsonb_object_agg(e.key, auth_flow.without_secret_keys(e.value)), '{}'::jsonb)
        into result
        from pg_catalog.jsonb_each(p_value) as e
       where not audit.is_secret_name(e.key);
      return result;
    when 'array' then
      select coalesce(pg_catalog.jsonb_agg(auth_flow.without_secret_keys(a.elem) order by a.n), '[]'::jsonb)
        into result
        from pg_catalog.jsonb_array_elements(p_value) with ordinality as a(elem, n);
      return result;
    else
      return p_value;
  end case;
end
$$;
comment on function auth_flow.without_secret_keys(jsonb) is 'The json value without secret-looking keys (audit.is_secret_name) at any depth.';
revoke all on function auth_flow.without_secret_keys(jsonb) from public;

-- As 0022 left it, but for identity_data's secret keys, now dropped at any depth.
create or replace function auth_flow.link_identity(p_user_id uuid, p_provider text, p_provider_id text, p_identity_data jsonb default '{}'::jsonb)
  returns uuid
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_now timestamptz := auth_flow.clock();
  v_data jsonb;
  v_id uuid;
begin
  if p_provider is null or p_provider !~ '^[a-z0-9][a-z0-9_.-]{0,63}$' or p_provider = 'email' then
    raise exception 'link-identity: provider must be a lower-case name (not "email")' using errcode = 'invalid_parameter_value';
  end if;
  if p_provider_id is null or pg_catalog.btrim(p_provider_id) = '' or pg_catalog.char_length(p_provider_id) > 255 then
    raise exception 'link-identity: provider id must be 1..255 characters' using errcode = 'invalid_parameter_value';
  end if;
  if p_identity_data is not null and pg_catalog.jsonb_typeof(p_identity_data) <> 'object' then
    raise exception 'link-identity: identity data must be a json object' using errcode = 'invalid_parameter_value';
  end if;
  if not exists (select from auth.users x where x.id = p_user_id and x.deleted_at is null) then
    raise exception 'link-identity: no such user' using errcode = 'no_data_found';
  end if;

  v_data := auth_flow.without_secret_keys(coalesce(p_identity_data, '{}'::jsonb))
            || pg_catalog.jsonb_build_object('sub', p_provider_id);

  insert into auth.identities as i (provider_id, user_id, identity_data, provider, created_at, updated_at)
  values (p_provider_id, p_user_id, v_data, p_provider, v_now, v_now)
  on conflict (provider_id, provider) do update
    set identity_data = excluded.identity_data, updated_at = excluded.updated_at
    where i.user_id = excluded.user_id
  returning i.id into v_id;

  if v_id is null then
    perform audit.log_auth_event('identity_link_refused', p_user_id,
      pg_catalog.jsonb_build_object('provider', p_provider, 'reason', 'linked_to_another_user'));
    return null;
  end if;

  -- GoTrue lists a user's providers in app_metadata.providers.
  update auth.users x
     set raw_app_meta_data = coalesce(x.raw_app_meta_data, '{}'::jsonb) || pg_catalog.jsonb_build_object('providers',
           (select pg_catalog.jsonb_agg(distinct p order by p)
              from pg_catalog.jsonb_array_elements_text(
                     coalesce(x.raw_app_meta_data -> 'providers', '[]'::jsonb) || pg_catalog.to_jsonb(p_provider)) as p)),
         updated_at = v_now
   where x.id = p_user_id;
  perform audit.log_auth_event('identity_linked', p_user_id, pg_catalog.jsonb_build_object('provider', p_provider));
  return v_id;
end
$$;
comment on function auth_flow.link_identity(uuid, text, text, jsonb) is 'Link an OAuth identity (provider, provider_id) to a user (secret-looking keys of identity_data dropped at any depth); NULL when another user holds it.';

-- 4 ------------------------------------------------------------------------

-- The constraint calls a function that raises its own error instead of
-- returning false: a CHECK that is false fails with DETAIL "Failing row
-- contains (…)", every column of the row, the plaintext included, which the
-- client sees and the server log keeps (the owner may read its own rows, so
-- Postgres does not hide the detail). This message names the column only.
-- Executable by its owner only, the one role that writes auth.users here (and
-- the owner of every SECURITY DEFINER auth_flow function): a CHECK runs with
-- the writer's privileges, so a role given DML on auth.users needs EXECUTE too.
-- cloud_credentials gets no such constraint: its writers are API roles, which
-- can neither disable its trigger nor set session_replication_role.
create or replace function private.assert_password_hash(p_value text, p_column text)
  returns boolean
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_value is null or p_value = '' or p_value ~ '^\$2[abxy]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$' then
    return true;
  end if;
  raise exception '%: not a bcrypt hash, refused (the hashing trigger did not run)', p_column
    using errcode = 'check_violation',
          hint = 'write the plaintext with the trigger hash_encrypted_password enabled and session_replication_role = origin';
end
$$;
comment on function private.assert_password_hash(text, text) is 'CHECK of auth.users.encrypted_password: true for NULL, '''' or a bcrypt hash; otherwise raises 23514 naming the column, never the value.';
revoke all on function private.assert_password_hash(text, text) from public;

-- NOT VALID: new writes are checked from here on, whatever rows are already
-- stored; 0028 validates it in a transaction of its own (ADD CONSTRAINT locks
-- the table against writes until this file commits, VALIDATE does not).
alter table auth.users add constraint users_encrypted_password_is_hashed
  check (private.assert_password_hash(encrypted_password, 'auth.users.encrypted_password')) not valid;
comment on constraint users_encrypted_password_is_hashed on auth.users is
  'NULL, '''' (GoTrue''s no password) or a bcrypt hash: never a plaintext, also when the hashing trigger did not run (disabled, session_replication_role = replica, a later BEFORE trigger).';

-- 5 ------------------------------------------------------------------------

-- As 0024 left it, plus the 72-byte check.
create or replace function auth_flow.sign_up(p_email text, p_password text, p_user_metadata jsonb default '{}'::jsonb)
  returns uuid
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_now timestamptz := auth_flow.clock();
  v_email text := auth_flow.normalize_email(p_email);
  v_min integer := (select s.min_password_length from auth_flow.settings s where s.singleton);
  v_id uuid := pg_catalog.gen_random_uuid();
begin
  -- The WHATWG form of an email address (ASCII: a domain in its punycode form),
  -- see 0024: normalize_email alone lets a look-alike of a taken address
  -- (other case of a non-ASCII letter, another Unicode form, an invisible
  -- character, a trailing dot) become a second account.
  if v_email is null
     or v_email !~ '^[a-z0-9.!#$%&''*+/=?^_`{|}~-]+@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$' then
    raise exception 'sign-up: not an email address' using errcode = 'invalid_parameter_value';
  end if;
  -- Messages never carry the password or its length.
  if p_password is null or pg_catalog.char_length(p_password) < v_min then
    raise exception 'sign-up: the password must be at least % characters', v_min using errcode = 'invalid_parameter_value';
  end if;
  if pg_catalog.octet_length(p_password) > 72 then
    raise exception 'sign-up: the password must be at most 72 bytes (UTF-8; bcrypt ignores the rest)' using errcode = 'invalid_parameter_value';
  end if;
  -- private.hash_password keeps a value that already is a bcrypt hash: such a
  -- "password" would be stored as given and never match itself at sign-in.
  if p_password ~ '^\$2[abxy]\$' then
    raise exception 'sign-up: the password must not look like a bcrypt hash' using errcode = 'invalid_parameter_value';
  end if;
  if p_user_metadata is not null and pg_catalog.jsonb_typeof(p_user_metadata) <> 'object' then
    raise exception 'sign-up: user metadata must be a json object' using errcode = 'invalid_parameter_value';
  end if;

  begin
    -- encrypted_password gets the plaintext; the BEFORE trigger
    -- hash_encrypted_password (0004) replaces it by its bcrypt hash before the
    -- row is stored. The email is confirmed at once: there is no mailer in
    -- the database (GoTrue's GOTRUE_MAILER_AUTOCONFIRM).
    insert into auth.users (
      instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
      raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_sso_user, is_anonymous)
    values (
      '00000000-0000-0000-0000-000000000000', v_id, 'authenticated', 'authenticated', v_email, p_password, v_now,
      '{"provider": "email", "providers": ["email"]}'::jsonb, coalesce(p_user_metadata, '{}'::jsonb),
      v_now, v_now, false, false);
  exception when unique_violation then
    -- GoTrue with autoconfirm answers "User already registered" too.
    raise exception 'sign-up: a user with this email already exists' using errcode = 'unique_violation';
  end;

  -- GoTrue's email identity: provider_id is the user id.
  insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
  values (v_id::text, v_id,
          pg_catalog.jsonb_build_object('sub', v_id::text, 'email', v_email, 'email_verified', false, 'phone_verified', false),
          'email', null, v_now, v_now);

  perform audit.log_auth_event('user_signedup', v_id, '{"provider": "email"}'::jsonb);
  return v_id;
end
$$;
comment on function auth_flow.sign_up(text, text, jsonb) is 'Create a confirmed email/password user (bcrypt by trigger) and its email identity; returns the user id. Raises on a bad email (not ASCII in the WHATWG form), a password shorter than settings.min_password_length or over 72 bytes, or a taken email.';
