-- Session timebox (after a second outside review of the flows against
-- GoTrue's session checks).
--
-- auth_flow.settings.session_timebox is documented as GoTrue's
-- sessions.timebox, but it was read only when a session started, into
-- auth.sessions.not_after. GoTrue applies the timebox configured now to every
-- session at each refresh (models.Session.CheckValidity: created_at + timebox,
-- beside not_after). So a timebox set or shortened to cut long-lived sessions
-- (after an incident, say) left every session already running as it was: one
-- started without a timebox refreshed for ever. refresh now also ends a
-- session older than the timebox as set now, and the grant's expiry
-- (grant_for) is the sooner of not_after and that. Lengthening the timebox
-- still does not extend a session past the not_after it started with (GoTrue
-- would): stricter, and a session's end only ever moves closer.
-- refresh is replaced whole as 0026 left it, grant_for as 0020 left it, but
-- for the lines that say so.

-- The grant for a session: the session's amr and its user as they are now.
create or replace function auth_flow.grant_for(p_session_id uuid, p_refresh_token text, p_now timestamptz)
  returns auth_flow.session_grant
  language sql
  stable
  security definer
  set search_path = ''
as $$
  select row(
    s.user_id, s.id, p_refresh_token,
    -- 0032: the sooner of not_after and the timebox as it is set now (least() skips NULLs).
    least(s.not_after, s.created_at + (select x.session_timebox from auth_flow.settings x where x.singleton)),
    coalesce(s.aal::text, 'aal1'),
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

-- refresh: the timebox as set now ends a session too (as 0026 left it otherwise)
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
  v_timebox interval := (select s.session_timebox from auth_flow.settings s where s.singleton);
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

  -- 0032: the timebox as it is set now, from when the session started
  -- (GoTrue's CheckValidity), beside the not_after it started with.
  if sess.id is null or sess.not_after <= v_now or sess.created_at + v_timebox <= v_now
     or not auth_flow.user_may_sign_in(u, v_now) then
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
comment on function auth_flow.refresh(text) is 'Rotate a refresh token (row-locked; reuse after settings.refresh_reuse_interval revokes the session; a session past its not_after or settings.session_timebox from its start ends). A grant, or NULL.';
