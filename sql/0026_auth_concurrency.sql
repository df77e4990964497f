-- Auth flows at the same time (after a review that ran two of each at once).
--
-- 1. refresh vs sign-out: auth_flow.refresh locked its token row, then wrote
--    the session row; deleting a session (sign_out, sign_out_user,
--    sign_out_by_refresh_token, erase_user) locks the session row, then its
--    tokens through ON DELETE CASCADE. Together they deadlocked (40P01), and
--    Postgres aborted one of them. refresh now locks the session row first.
--    Two refreshes of one token still queue on it, with the same outcomes.
--
-- 2. sign_in vs sign_in: after an earlier wrong password, a sign-in waiting for
--    the email's login_attempts row lost it to a successful sign-in, which
--    deletes it, and SELECT … INTO STRICT raised P0002 "query returned no rows".
--    It now makes the row again and goes on.
--
-- Both functions are otherwise as 0021 (refresh) and 0024 (sign_in) left them.

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
  -- The session row first, then the token row: the order in which deleting a
  -- session (sign-out, erase) locks them, the tokens through ON DELETE CASCADE.
  perform 1 from auth.sessions s
   where s.id = (select x.session_id from auth.refresh_tokens x where x.token = v_hash)
     for no key update;
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

  -- A successful sign-in of the same email deletes this row: one that waited
  -- for its lock then finds none, and makes it again.
  loop
    insert into auth_flow.login_attempts (email_key) values (v_key) on conflict (email_key) do nothing;
    select * into a from auth_flow.login_attempts x where x.email_key = v_key for update;
    exit when found;
  end loop;

  v_hash := case when u.encrypted_password ~ '^\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}$' then u.encrypted_password
                 else auth_flow.dummy_hash() end;
  v_match := extensions.crypt(coalesce(p_password, ''), v_hash) = v_hash;
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
comment on function auth_flow.sign_in(text, text) is 'Password sign-in with lockout: a session grant, or NULL for every failure (same work and answer for unknown email, wrong password, locked account; a password over 72 bytes never matches).';
