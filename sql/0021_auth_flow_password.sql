-- Database-first auth flows, part 2: sign-up, password sign-in with lockout,
-- refresh-token rotation with reuse detection, sign-out.
--
-- Failures RETURN (a NULL grant, 0 sessions) instead of RAISE: a raise would
-- roll back the failure counter and the audit event along with everything
-- else. Sign-up is the exception: it has nothing to keep when it fails.
--
-- Lock order, the same in every function: the flow's own row (attempts row,
-- refresh token row, one-time token row) first, the audit lane (an append
-- holds its lane's lock until commit) last. So two flows never wait on each
-- other in opposite orders.

-- Sign-up ------------------------------------------------------------------

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
  if v_email is null then
    raise exception 'sign-up: not an email address' using errcode = 'invalid_parameter_value';
  end if;
  -- Messages never carry the password or its length.
  if p_password is null or pg_catalog.char_length(p_password) < v_min then
    raise exception 'sign-up: the password must be at least % characters', v_min using errcode = 'invalid_parameter_value';
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
comment on function auth_flow.sign_up(text, text, jsonb) is 'Create a confirmed email/password user (bcrypt by trigger) and its email identity; returns the user id. Raises on a bad email, a short password or a taken email.';

-- Password sign-in ---------------------------------------------------------

-- Every call does the same work whatever the outcome: lock the attempts row of
-- the email (created if missing), one bcrypt comparison at the configured cost
-- (against the dummy hash when there is no real one), one audit event. The
-- answer is a session grant, or NULL for every failure (unknown email, wrong
-- password, locked, banned, unconfirmed); the reason goes to the audit log only.
--
-- Lockout: failures are counted in a fixed window starting at the first
-- failure; reaching settings.max_failures within settings.failure_window locks
-- the email for settings.lockout_duration, during which even the right password
-- fails. Failures while locked do not extend the lock. The row lock makes a
-- burst of parallel guesses wait in line, so at most max_failures passwords are
-- ever compared per window.
--
-- A successful sign-in rehashes a password whose bcrypt cost differs from
-- private.password_settings.bcrypt_cost: otherwise raising the cost would leave
-- existing hashes cheaper than the dummy hash unknown emails are compared with,
-- and the time of a failed sign-in would tell those accounts apart.
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
  v_match boolean;
  v_reason text;
  v_newly_locked boolean := false;
  g auth_flow.session_grant;
begin
  select * into strict s from auth_flow.settings where singleton;
  if v_email is not null then
    select * into u from auth.users x where x.email = v_email and not x.is_sso_user;
  end if;

  insert into auth_flow.login_attempts (email_key) values (v_key) on conflict (email_key) do nothing;
  select * into strict a from auth_flow.login_attempts x where x.email_key = v_key for update;

  v_hash := case when u.encrypted_password ~ '^\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}$' then u.encrypted_password
                 else auth_flow.dummy_hash() end;
  v_match := extensions.crypt(coalesce(p_password, ''), v_hash) = v_hash;

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
  -- was raised, or imported) is replaced now that the password is known:
  -- assigning the plaintext makes the 0004 trigger hash it at the configured
  -- cost. So hashes follow the setting, and a sign-in costs the same for every
  -- user as for the dummy hash of an unknown email. Only a password the
  -- trigger would hash (1..72 bytes, not itself shaped like a bcrypt hash) is
  -- re-assigned; any other (possible for rows GoTrue wrote) keeps its hash.
  if pg_catalog.substr(u.encrypted_password, 5, 2)::integer
       <> (select greatest(ps.bcrypt_cost, 10) from private.password_settings ps where ps.singleton)
     and pg_catalog.octet_length(p_password) between 1 and 72
     and p_password !~ '^\$2[abxy]\$' then
    update auth.users x set encrypted_password = p_password where x.id = u.id;
  end if;
  g := auth_flow.start_session(u.id, 'password', null, v_now);
  perform audit.log_auth_event('login', u.id, pg_catalog.jsonb_build_object('provider', 'email', 'session_id', g.session_id));
  return g;
end
$$;
comment on function auth_flow.sign_in(text, text) is 'Password sign-in with lockout: a session grant, or NULL for every failure (same work and answer for unknown email, wrong password, locked account).';

-- Refresh ------------------------------------------------------------------

-- Rotate a refresh token: the presented token is revoked and its child, in the
-- same session, is returned. The token row is locked FOR UPDATE first, so of two
-- concurrent refreshes of one token the second waits, then (READ COMMITTED
-- re-reads the locked row) finds it revoked: at most one succeeds.
-- A revoked token presented again:
--   * within settings.refresh_reuse_interval of its rotation: fails, session kept
--     (the loser of a network race; its sibling holds the live child);
--   * later: reuse of a leaked token. Every token of the session is revoked and
--     the session ends (not_after = now): NULL, and 'refresh_token_reused' logged.
-- Unlike GoTrue, the reuse interval cannot hand the live child back: only its
-- hash is stored.
create or replace function auth_flow.refresh(p_refresh_token text)
  returns auth_flow.session_grant
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_now timestamptz := auth_flow.clock();
  v_hash text := auth_flow.hash_secret(p_refresh_token);
  v_reuse interval := (select s.refresh_reuse_interval from auth_flow.settings s where s.singleton);
  t auth.refresh_tokens;
  sess auth.sessions;
  u auth.users;
  v_child text;
  v_revoked integer;
begin
  select * into t from auth.refresh_tokens x where x.token = v_hash for update;
  if t.id is null then
    perform audit.log_auth_event('token_refresh_failed', null, '{"reason": "unknown"}'::jsonb);
    return null;
  end if;
  select * into sess from auth.sessions x where x.id = t.session_id;
  select * into u from auth.users x where x.id = sess.user_id;

  if sess.id is null or sess.not_after <= v_now or not auth_flow.user_may_sign_in(u, v_now) then
    perform audit.log_auth_event('token_refresh_failed', u.id,
      pg_catalog.jsonb_build_object('reason', 'session_ended', 'session_id', t.session_id));
    return null;
  end if;

  if t.revoked then
    if t.updated_at + v_reuse > v_now then
      perform audit.log_auth_event('token_refresh_failed', u.id,
        pg_catalog.jsonb_build_object('reason', 'reused_within_interval', 'session_id', sess.id));
      return null;
    end if;
    update auth.refresh_tokens x set revoked = true, updated_at = v_now
     where x.session_id = sess.id and not x.revoked;
    get diagnostics v_revoked = row_count;
    update auth.sessions x set not_after = v_now, updated_at = v_now where x.id = sess.id;
    perform audit.log_auth_event('refresh_token_reused', u.id,
      pg_catalog.jsonb_build_object('session_id', sess.id, 'revoked', v_revoked));
    return null;
  end if;

  v_child := auth_flow.new_secret();
  update auth.refresh_tokens x set revoked = true, updated_at = v_now where x.id = t.id;
  insert into auth.refresh_tokens (token, user_id, parent, session_id, revoked, created_at, updated_at)
  values (auth_flow.hash_secret(v_child), t.user_id, v_hash, sess.id, false, v_now, v_now);
  -- refreshed_at is `timestamp` (without time zone) in GoTrue: UTC wall time.
  update auth.sessions x set refreshed_at = v_now at time zone 'UTC', updated_at = v_now where x.id = sess.id;
  perform audit.log_auth_event('token_refreshed', u.id, pg_catalog.jsonb_build_object('session_id', sess.id));
  return auth_flow.grant_for(sess.id, v_child, v_now);
end
$$;
comment on function auth_flow.refresh(text) is 'Rotate a refresh token (row-locked; reuse after settings.refresh_reuse_interval revokes the session). A grant, or NULL.';

-- Sign-out -----------------------------------------------------------------

-- End sessions: 'local' this one, 'global' all of its user's, 'others' all but
-- this one (GoTrue's logout scopes). Deleting a session deletes its refresh
-- tokens and methods (ON DELETE CASCADE). Access tokens already minted stay
-- valid until their exp, as with GoTrue. Returns the number of sessions ended.
create or replace function auth_flow.sign_out(p_session_id uuid, p_scope text default 'local')
  returns integer
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user uuid;
  v_count integer;
begin
  if p_scope is null or p_scope not in ('local', 'global', 'others') then
    raise exception 'sign-out: scope must be local, global or others' using errcode = 'invalid_parameter_value';
  end if;
  select x.user_id into v_user from auth.sessions x where x.id = p_session_id;
  if v_user is null then
    return 0;
  end if;
  delete from auth.sessions x
   where x.user_id = v_user
     and case p_scope when 'local' then x.id = p_session_id
                      when 'others' then x.id <> p_session_id
                      else true end;
  get diagnostics v_count = row_count;
  perform audit.log_auth_event('logout', v_user,
    pg_catalog.jsonb_build_object('scope', p_scope, 'session_id', p_session_id, 'sessions', v_count));
  return v_count;
end
$$;
comment on function auth_flow.sign_out(uuid, text) is 'End a session (local), all of its user''s (global) or all but it (others); returns the number ended.';

-- Sign-out by a refresh token of the session (what a client holds). Only a
-- live (unrevoked) token counts, so a leaked old token cannot end sessions.
-- NULL when the token is not a live one.
create or replace function auth_flow.sign_out_by_refresh_token(p_refresh_token text, p_scope text default 'local')
  returns integer
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_session uuid;
begin
  select x.session_id into v_session from auth.refresh_tokens x
   where x.token = auth_flow.hash_secret(p_refresh_token) and not x.revoked;
  if v_session is null then
    return null;
  end if;
  return auth_flow.sign_out(v_session, p_scope);
end
$$;
comment on function auth_flow.sign_out_by_refresh_token(text, text) is 'auth_flow.sign_out for the session of a live refresh token; NULL when the token is not live.';

-- Every session of a user (an administrator's "sign out everywhere").
create or replace function auth_flow.sign_out_user(p_user_id uuid)
  returns integer
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_count integer;
begin
  delete from auth.sessions x where x.user_id = p_user_id;
  get diagnostics v_count = row_count;
  perform audit.log_auth_event('logout', p_user_id, pg_catalog.jsonb_build_object('scope', 'global', 'sessions', v_count));
  return v_count;
end
$$;
comment on function auth_flow.sign_out_user(uuid) is 'End every session of a user; returns the number ended.';

revoke all on function
  auth_flow.sign_up(text, text, jsonb), auth_flow.sign_in(text, text), auth_flow.refresh(text),
  auth_flow.sign_out(uuid, text), auth_flow.sign_out_by_refresh_token(text, text), auth_flow.sign_out_user(uuid)
  from public;
grant execute on function
  auth_flow.sign_up(text, text, jsonb), auth_flow.sign_in(text, text), auth_flow.refresh(text),
  auth_flow.sign_out(uuid, text), auth_flow.sign_out_by_refresh_token(text, text), auth_flow.sign_out_user(uuid)
  to service_role;

-- What auth.refresh_tokens holds once auth_flow issues tokens (0021). The
-- @secret marker stays: audit.enable_tracking() and auth_flow.without_secrets()
-- read it, and a GoTrue v1 row in the same table still holds a plaintext token.
comment on column auth.refresh_tokens.token is
  '@secret auth_flow tokens: hex sha256 of the 43-character token (the token itself is never stored); GoTrue v1 tokens: the 12-character plaintext';
comment on column auth.refresh_tokens.parent is
  '@secret the token value (hash or GoTrue plaintext) of the refresh token this one replaced';
