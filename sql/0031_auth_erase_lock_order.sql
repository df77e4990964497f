-- Erasure against the flows (after a second outside review that ran each flow
-- against an erasure of the same user, with the interleaving forced).
--
-- 0023 says an erasure takes "the lockout row and tokens before the user, so
-- flows never wait on one another in opposite orders (no 40P01)". Three did:
--   * refresh (0026) locks the session, then its token; erase_user deleted
--     the user's refresh tokens first and the sessions last (by cascade from
--     the user): a refresh arriving between the two waited on the token while
--     the erasure waited on the session it held;
--   * sign_out deletes the session, then its tokens (cascade): the same pair
--     the other way round;
--   * sign_in_with_identity updated the identity row, then wrote the session,
--     whose foreign key locks the user (KEY SHARE); erase_user locks the user,
--     then deletes the identities (cascade).
-- Postgres aborted one side with 40P01 (deadlock detected); a server calling
-- auth_flow got the error (rowguard's client runs the flow again).
-- Now erase_user locks the user before it deletes sessions (their tokens by
-- cascade, the sessionless ones after), and sign_in_with_identity locks the
-- user before it touches the identity (and reads the identity again under
-- that lock, so an identity 0030 removed from an unconfirmed account while it
-- waited does not sign in): every flow takes attempts row,
-- one-time token, user, session, refresh token in that order, skipping what
-- it does not take. erase_user is replaced whole as 0029 left it,
-- sign_in_with_identity as 0022 left it, but for the lines that say so.

-- erase_user: the user locked before the sessions and their tokens are deleted (as 0029 left it otherwise)
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
  -- The flows' rows first, in the order the flows lock them: the attempts
  -- row (sign_in), the one-time token (verify_magic_link), the user
  -- (sign_in, verify_magic_link, link_identity, sign_in_with_identity), then
  -- each session before its refresh tokens (refresh, sign_out), then the
  -- audit chain. So an erasure racing any flow of the same user waits for it
  -- (or it for the erasure) instead of deadlocking with it. 0031: the
  -- sessions, with their tokens by cascade, now go after the user is locked;
  -- the tokens went first, which a refresh or a sign-out holding the session
  -- then waited for in the opposite order (40P01).
  delete from auth_flow.login_attempts x where x.email_key = auth_flow.email_key(auth_flow.normalize_email(u.email));
  delete from auth.one_time_tokens x where x.user_id = p_user_id;
  perform from auth.users x where x.id = p_user_id for update;
  if not found then
    return null; -- erased meanwhile by another call
  end if;
  delete from auth.sessions x where x.user_id = p_user_id;
  get diagnostics v_sessions = row_count;
  -- refresh_tokens.user_id is text; this catches rows without a session
  -- (GoTrue's oldest tokens).
  delete from auth.refresh_tokens x where x.user_id = p_user_id::text;

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

-- sign_in_with_identity: the user locked first (as 0022 left it otherwise)
create or replace function auth_flow.sign_in_with_identity(p_provider text, p_provider_id text)
  returns auth_flow.session_grant
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_now timestamptz := auth_flow.clock();
  i auth.identities;
  u auth.users;
  g auth_flow.session_grant;
begin
  select * into i from auth.identities x where x.provider = p_provider and x.provider_id = p_provider_id and x.provider <> 'email';
  -- 0031: the user locked before the identity row is written (the order
  -- erase_user takes them in); the session start below updates it anyway.
  select * into u from auth.users x where x.id = i.user_id for no key update;
  -- Read again under that lock: a magic-link redemption or a link that held
  -- it may have removed the identity from an unconfirmed account (0030).
  select * into i from auth.identities x where x.id = i.id and x.user_id = u.id;
  if i.id is null or not auth_flow.user_may_sign_in(u, v_now) then
    perform audit.log_auth_event('login_failed', u.id,
      pg_catalog.jsonb_build_object('provider', p_provider, 'reason', case when i.id is null then 'unknown_identity' else 'banned_or_deleted' end));
    return null;
  end if;
  update auth.identities x set last_sign_in_at = v_now, updated_at = v_now where x.id = i.id;
  g := auth_flow.start_session(u.id, 'oauth', p_provider, v_now);
  perform audit.log_auth_event('login', u.id, pg_catalog.jsonb_build_object('provider', p_provider, 'session_id', g.session_id));
  return g;
end
$$;
comment on function auth_flow.sign_in_with_identity(text, text) is 'Start a session (amr oauth) for the user holding a linked identity, or NULL.';
