-- Emails stored in another case (after an outside review of the flows against
-- GoTrue). auth_flow looked users up by `users.email = lower(typed address)`,
-- while users.email keeps whatever case it was written in: GoTrue lower-cases
-- what it writes, but rows imported with SQL (from Firebase, Auth0, a CSV)
-- keep their case, and GoTrue finds them anyway (its lookup is
-- `instance_id = <nil uuid> and lower(email) = lower($1) and aud = $2 and
-- is_sso_user = false`). Here a user stored as `Ann@Example.test`:
--   * never signed in with a password, nor got a magic link ('unknown_email',
--     'no_user_may_sign_in'), whatever case they typed;
--   * could be signed up again as `ann@example.test`, a second account of the
--     same mailbox (the unique index users_email_partial_key is
--     case-sensitive), which then received that mailbox's magic links;
--   * kept a lockout row after erasure (erase_user and export_user keyed it by
--     the stored form, sign_in by the lower-cased one).
-- auth_flow.user_by_email() finds a user as GoTrue does, the exact stored form
-- first when two rows differ only in case, with rows of a NULL instance_id too
-- (rowguard's own tests and seeds write them); each of its three arms is
-- served by an index GoTrue's migrations create. The six functions are
-- replaced whole, each as 0024 or 0027 left it but for the lines that say so.
--
-- Also, as export_user is replaced here anyway: it hands identity_data back
-- without secret-looking keys at any depth (auth_flow.without_secret_keys,
-- 0027), so a nested provider token stored by link_identity before 0027
-- does not leave the database in an export.

create or replace function auth_flow.user_by_email(p_email text)
  returns auth.users
  language sql
  stable
  set search_path = ''
as $$
  select x.* from auth.users x
   where not x.is_sso_user
     and (x.email = p_email
          or (x.instance_id = '00000000-0000-0000-0000-000000000000' and pg_catalog.lower(x.email::text) = p_email)
          or (x.instance_id is null and pg_catalog.lower(x.email::text) = p_email))
   order by x.email = p_email desc, x.created_at, x.id
   limit 1
$$;
comment on function auth_flow.user_by_email(text) is 'The non-SSO user whose email is the given lower-cased address in any case (the exact form first), as GoTrue looks users up; NULL when none.';
revoke all on function auth_flow.user_by_email(text) from public;

-- sign_up: refuses an address stored in another case (as 0027 left it otherwise)
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

  -- The unique index on users.email is case-sensitive: an address stored in
  -- another case (an import) would get a second account beside it.
  if (auth_flow.user_by_email(v_email)).id is not null then
    raise exception 'sign-up: a user with this email already exists' using errcode = 'unique_violation';
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

-- sign_in: finds the user by auth_flow.user_by_email (as 0027 left it otherwise)
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
    u := auth_flow.user_by_email(v_email);
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

-- issue_magic_link: finds the user by auth_flow.user_by_email (as 0024 left it otherwise)
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
  insert into auth.one_time_tokens as o (id, user_id, token_type, token_hash, relates_to, created_at, updated_at)
  values (pg_catalog.gen_random_uuid(), u.id, 'recovery_token', auth_flow.hash_secret(v_token), v_email,
          v_now at time zone 'UTC', v_now at time zone 'UTC')
  on conflict (user_id, token_type) do update
    set id = excluded.id, token_hash = excluded.token_hash, relates_to = excluded.relates_to,
        created_at = excluded.created_at, updated_at = excluded.updated_at
    where (o.created_at at time zone 'UTC') + least(v_min_interval, v_ttl) <= v_now
  returning o.id into v_id;
  if v_id is null then
    perform audit.log_auth_event('magiclink_refused', u.id, '{"reason": "too_soon"}'::jsonb);
    return null;
  end if;
  perform audit.log_auth_event('magiclink_issued', u.id, '{}'::jsonb);
  return v_token;
end
$$;
comment on function auth_flow.issue_magic_link(text) is 'A single-use magic-link token for the email (stored hashed, replaces the previous one once it is magic_link_min_interval old), or NULL when no user may sign in with it or the current link is too young.';

-- verify_magic_link: compares relates_to with the lower-cased stored email (as 0024 left it otherwise)
create or replace function auth_flow.verify_magic_link(p_token text)
  returns auth_flow.session_grant
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_now timestamptz := auth_flow.clock();
  v_ttl interval := (select s.magic_link_ttl from auth_flow.settings s where s.singleton);
  t auth.one_time_tokens;
  u auth.users;
  g auth_flow.session_grant;
begin
  select * into t from auth.one_time_tokens x
   where x.token_hash = auth_flow.hash_secret(p_token) and x.token_type = 'recovery_token'
   for update;
  if t.id is null then
    perform audit.log_auth_event('magiclink_failed', null, '{"reason": "unknown_or_used"}'::jsonb);
    return null;
  end if;
  delete from auth.one_time_tokens x where x.id = t.id;

  select * into u from auth.users x where x.id = t.user_id;
  if (t.created_at at time zone 'UTC') + v_ttl <= v_now then
    perform audit.log_auth_event('magiclink_failed', u.id, '{"reason": "expired"}'::jsonb);
    return null;
  end if;
  if not auth_flow.user_may_sign_in(u, v_now) then
    perform audit.log_auth_event('magiclink_failed', u.id, '{"reason": "banned_or_deleted"}'::jsonb);
    return null;
  end if;
  -- The link was mailed to relates_to (the address as typed, lower-cased); the
  -- account must still have that email, in whatever case it is stored.
  if t.relates_to is distinct from pg_catalog.lower(u.email::text) then
    perform audit.log_auth_event('magiclink_failed', u.id, '{"reason": "email_changed"}'::jsonb);
    return null;
  end if;

  update auth.users x set email_confirmed_at = coalesce(x.email_confirmed_at, v_now) where x.id = u.id;
  g := auth_flow.start_session(u.id, 'magiclink', null, v_now);
  perform audit.log_auth_event('magiclink_redeemed', u.id, pg_catalog.jsonb_build_object('session_id', g.session_id));
  return g;
end
$$;
comment on function auth_flow.verify_magic_link(text) is 'Redeem a magic-link token once: a session grant (amr magiclink), or NULL for a wrong, used or expired token, or one sent to an email the user no longer has.';

-- export_user: the lockout row of the lower-cased email, the one sign_in keeps; identity_data
-- without secret-looking keys at any depth (as 0024 left it otherwise)
create or replace function auth_flow.export_user(p_user_id uuid)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  u auth.users;
  owned jsonb := '{}'::jsonb;
  rows_of jsonb;
  r record;
  result jsonb;
begin
  select * into u from auth.users x where x.id = p_user_id;
  if u.id is null then
    return null;
  end if;
  -- One query per table, over all of its columns that point at the user: a
  -- table listed once per column used to keep only the last column's rows.
  for r in select o.relation,
                  pg_catalog.string_agg(pg_catalog.format('t.%I = $1', o.owner_column), ' or ' order by o.owner_column) as matches
             from auth_flow.owned_tables() o
            group by o.relation
            order by o.relation::text loop
    execute pg_catalog.format(
      'select coalesce(pg_catalog.jsonb_agg(auth_flow.without_secrets(%L::regclass, pg_catalog.to_jsonb(t))), ''[]''::jsonb) from %s t where %s',
      r.relation, r.relation, r.matches)
      into rows_of using p_user_id;
    owned := owned || pg_catalog.jsonb_build_object(r.relation::text, rows_of);
  end loop;

  result := pg_catalog.jsonb_build_object(
    'user', auth_flow.without_secrets('auth.users', pg_catalog.to_jsonb(u)),
    -- identity_data without secret-looking keys at any depth: rows linked
    -- before 0027 may still hold nested provider tokens.
    'identities', (select coalesce(pg_catalog.jsonb_agg(auth_flow.without_secrets('auth.identities', pg_catalog.to_jsonb(i))
                                     || pg_catalog.jsonb_build_object('identity_data', auth_flow.without_secret_keys(i.identity_data))
                                     order by i.created_at), '[]'::jsonb)
                     from auth.identities i where i.user_id = p_user_id),
    'sessions', (select coalesce(pg_catalog.jsonb_agg(auth_flow.without_secrets('auth.sessions', pg_catalog.to_jsonb(s))
                                   || pg_catalog.jsonb_build_object('method', m.method, 'provider', m.provider) order by s.created_at), '[]'::jsonb)
                   from auth.sessions s left join auth_flow.session_methods m on m.session_id = s.id
                  where s.user_id = p_user_id),
    'refresh_tokens', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                 'id', t.id, 'session_id', t.session_id, 'revoked', t.revoked,
                                 'created_at', t.created_at, 'updated_at', t.updated_at) order by t.id), '[]'::jsonb)
                         from auth.refresh_tokens t where t.user_id = p_user_id::text),
    'one_time_tokens', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                  'token_type', o.token_type, 'relates_to', o.relates_to, 'created_at', o.created_at)), '[]'::jsonb)
                          from auth.one_time_tokens o where o.user_id = p_user_id),
    'lockout', (select pg_catalog.jsonb_build_object('failures', a.failures, 'window_started_at', a.window_started_at,
                                                     'locked_until', a.locked_until, 'last_failure_at', a.last_failure_at)
                  from auth_flow.login_attempts a where a.email_key = auth_flow.email_key(auth_flow.normalize_email(u.email))),
    'owned_rows', owned,
    -- What the audit log holds about the user: the rows whose actor they are
    -- (already redacted when appended), without the chain's bookkeeping.
    'audit_events', (select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(l) - 'hash' - 'txid' order by l.id), '[]'::jsonb)
                       from audit.log l where l.actor_id = p_user_id));
  perform audit.log_auth_event('user_exported', p_user_id, '{}'::jsonb);
  return result;
end
$$;
comment on function auth_flow.export_user(uuid) is 'GDPR export: profile, identities, sessions, token metadata, owned rows, audit rows about the user (no hash, no token), as JSON; NULL for an unknown user.';

-- erase_user: deletes the lockout row of the lower-cased email, the one sign_in keeps (as 0024 left it otherwise)
create or replace function auth_flow.erase_user(p_user_id uuid)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  u auth.users;
  pending regclass[];
  columns name[];
  counts jsonb := '{}'::jsonb;
  progress boolean := true;
  i integer;
  n integer;
  still regclass[];
  still_columns name[];
  v_sessions integer;
  v_identities integer;
begin
  select * into u from auth.users x where x.id = p_user_id;
  if u.id is null then
    return null;
  end if;
  -- The flows' rows first, in the order the flows lock them (attempts row,
  -- then one-time token / refresh token row, then the user, then the audit
  -- chain), so an erasure racing a sign-in, a redemption or a refresh of the
  -- same user waits for it instead of deadlocking with it.
  delete from auth_flow.login_attempts x where x.email_key = auth_flow.email_key(auth_flow.normalize_email(u.email));
  delete from auth.one_time_tokens x where x.user_id = p_user_id;
  -- refresh_tokens.user_id is text; this also catches rows without a session
  -- (GoTrue's oldest tokens).
  delete from auth.refresh_tokens x where x.user_id = p_user_id::text;
  perform from auth.users x where x.id = p_user_id for update;
  if not found then
    return null; -- erased meanwhile by another call
  end if;
  select pg_catalog.count(*) into v_sessions from auth.sessions x where x.user_id = p_user_id;

  select pg_catalog.array_agg(o.relation order by o.relation::text), pg_catalog.array_agg(o.owner_column order by o.relation::text)
    into pending, columns from auth_flow.erasable_tables() o;
  while progress and pg_catalog.cardinality(pending) > 0 loop
    progress := false;
    still := '{}';
    still_columns := '{}';
    for i in 1 .. pg_catalog.cardinality(pending) loop
      begin
        execute pg_catalog.format('delete from %s t where t.%I = $1', pending[i], columns[i]) using p_user_id;
        get diagnostics n = row_count;
        counts := counts || pg_catalog.jsonb_build_object(pending[i]::text, coalesce((counts ->> pending[i]::text)::integer, 0) + n);
        progress := true;
      exception when foreign_key_violation then
        still := still || pending[i];
        still_columns := still_columns || columns[i];
      end;
    end loop;
    pending := still;
    columns := still_columns;
  end loop;
  if pg_catalog.cardinality(pending) > 0 then
    raise exception 'erase: rows in % still reference rows that cannot be deleted', pending
      using errcode = 'foreign_key_violation', hint = 'a table outside the user''s own rows references them; delete or re-point those rows first';
  end if;

  select pg_catalog.count(*) into v_identities from auth.identities x where x.user_id = p_user_id;
  delete from auth.users x where x.id = p_user_id;

  counts := pg_catalog.jsonb_build_object('owned_rows', counts, 'sessions', v_sessions, 'identities', v_identities);
  perform audit.log_auth_event('user_erased', p_user_id, counts);
  return counts;
end
$$;
comment on function auth_flow.erase_user(uuid) is 'GDPR erasure: delete owned rows (not rows that only point at the user through an ON DELETE SET NULL/SET DEFAULT key) and the user (cascading to identities, sessions, tokens); logs user_erased with counts only. NULL for an unknown user.';
