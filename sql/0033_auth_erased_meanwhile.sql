-- A flow that found its user before an erasure committed (after a second
-- outside review that ran the flows at random against each other on six
-- connections, then forced each interleaving it found).
--
-- sign_in and issue_magic_link look the user up, then write a row that
-- references it (the session, the one-time token). erase_user deleting that
-- user in between made the write fail its foreign key, and the caller got
-- 23503 "insert or update on table … violates foreign key constraint"
-- instead of NULL: an answer no other cause gives (sign-in promises NULL for
-- every failure), and through rowguard's client an 'auth' error carrying
-- Postgres' message.
--   * sign_in now finds the user after it holds the email's attempts row
--     (which erase_user takes first, so an erasure has committed by then) and
--     holds the user FOR KEY SHARE until it commits: an erasure or any other
--     delete of the user waits for the sign-in, or the sign-in finds no user.
--   * issue_magic_link treats the foreign key violation as a user no one may
--     sign in as. It cannot lock the user first: erase_user takes the
--     one-time token before the user, and a link request waiting on that
--     token while holding the user would deadlock with it.
-- Both are replaced whole as 0029 left them, but for the lines that say so.

-- sign_in: the user found after the attempts row is held, and held FOR KEY SHARE (as 0029 left it otherwise)
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

  -- A successful sign-in of the same email deletes this row: one that waited
  -- for its lock then finds none, and makes it again.
  loop
    insert into auth_flow.login_attempts (email_key) values (v_key) on conflict (email_key) do nothing;
    select * into a from auth_flow.login_attempts x where x.email_key = v_key for update;
    exit when found;
  end loop;

  -- 0033: the user is found once the attempts row is held (erase_user takes
  -- that row first, so an erasure has committed by now), and held FOR KEY
  -- SHARE, so no other delete can take it away before the session is written.
  if v_email is not null then
    u := auth_flow.user_by_email(v_email);
    if u.id is not null then
      select * into u from auth.users x where x.id = u.id for key share;
    end if;
  end if;

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

-- issue_magic_link: a user erased after it was found is no user (as 0029 left it otherwise)
create or replace function auth_flow.issue_magic_link(p_email text)
  returns text
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_now timestamptz := auth_flow.clock();
  v_email text := auth_flow.normalize_email(p_email);
  v_token text := auth_flow.new_secret();
  v_min_interval interval := (select s.magic_link_min_interval from auth_flow.settings s where s.singleton);
  v_ttl interval := (select s.magic_link_ttl from auth_flow.settings s where s.singleton);
  v_id uuid;
  u auth.users;
begin
  if v_email is not null then
    u := auth_flow.user_by_email(v_email);
  end if;
  if not auth_flow.user_may_sign_in(u, v_now) then
    perform audit.log_auth_event('magiclink_refused', u.id, '{"reason": "no_user_may_sign_in"}'::jsonb);
    return null;
  end if;
  -- created_at/updated_at are `timestamp` (without time zone) in GoTrue: UTC wall time.
  -- A link younger than settings.magic_link_min_interval (and not expired) is
  -- not replaced: the
  -- WHERE of ON CONFLICT DO UPDATE is checked on the locked, latest row, so of
  -- concurrent requests for one user (none holding a link yet) one inserts and
  -- the others, waiting on the unique index, find that fresh row and fail.
  begin
    insert into auth.one_time_tokens as o (id, user_id, token_type, token_hash, relates_to, created_at, updated_at)
    values (pg_catalog.gen_random_uuid(), u.id, 'recovery_token', auth_flow.hash_secret(v_token), v_email,
            v_now at time zone 'UTC', v_now at time zone 'UTC')
    on conflict (user_id, token_type) do update
      set id = excluded.id, token_hash = excluded.token_hash, relates_to = excluded.relates_to,
          created_at = excluded.created_at, updated_at = excluded.updated_at
      where (o.created_at at time zone 'UTC') + least(v_min_interval, v_ttl) <= v_now
    returning o.id into v_id;
  exception when foreign_key_violation then
    -- 0033: the user was deleted (erased) after it was found: no user may
    -- sign in with this address. (Locking the user first would deadlock with
    -- erase_user, which takes the one-time token before the user.)
    perform audit.log_auth_event('magiclink_refused', null, '{"reason": "no_user_may_sign_in"}'::jsonb);
    return null;
  end;
  if v_id is null then
    perform audit.log_auth_event('magiclink_refused', u.id, '{"reason": "too_soon"}'::jsonb);
    return null;
  end if;
  perform audit.log_auth_event('magiclink_issued', u.id, '{}'::jsonb);
  return v_token;
end
$$;
comment on function auth_flow.issue_magic_link(text) is 'A single-use magic-link token for the email (stored hashed, replaces the previous one once it is magic_link_min_interval old), or NULL when no user may sign in with it or the current link is too young.';
