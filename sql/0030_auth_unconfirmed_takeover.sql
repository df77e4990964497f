-- Pre-account takeover (after a second outside review of the flows, run with
-- two connections and against GoTrue's linking code).
--
-- auth_flow.sign_up confirms at once, but an unconfirmed account exists
-- wherever another writer made one: GoTrue sharing the database with
-- confirmations on writes the user with email_confirmed_at NULL and the
-- password its sign-up was given, and imports may do the same. Whoever signs
-- up that way with someone else's address proves nothing about the mailbox,
-- yet everything they attach stays once its owner arrives:
--   * verify_magic_link confirmed the address and kept the password, so the
--     stranger's password signed in from then on; it also kept an identity
--     the stranger had linked and every session that identity had opened
--     (sign_in_with_identity does not ask for a confirmed address);
--   * link_identity, the owner arriving through a provider that the server
--     matched to the account by its address, kept all of it too, and the
--     password came alive as soon as the address was confirmed (a magic link,
--     or GoTrue's own confirmation mail).
-- GoTrue drops the password, the user metadata and every identity but the
-- new one when an OAuth identity reaches an unconfirmed user
-- (models.User.RemoveUnconfirmedIdentities, called from external.go), and
-- confirms the user when the provider verified the address; for a
-- confirmation by mail it keeps the password. Here both ways of proving the
-- account's owner clear what nobody proved: the password (NULL: no password;
-- the owner sets one later), every identity but the email one and the one
-- being linked, and every session (their refresh tokens go by cascade). The
-- user metadata stays (user-writable anyway; the access token carries it as
-- the user's, not as a verified fact). The user row is locked first
-- (FOR NO KEY UPDATE), so a link or a redemption of the same account waits
-- and then sees it confirmed, or cleared. link_identity confirms the address
-- when the identity data carries it with email_verified true (so the owner's
-- identity is not cleared again by their first magic link). An account whose
-- address is confirmed is left as it is.
--
-- verify_magic_link is replaced whole as 0029 left it, link_identity as 0027
-- left it, but for the lines that say so.

-- Not SECURITY DEFINER: it runs inside verify_magic_link and link_identity,
-- with their (the owner's) rights, and is executable by nobody else.
create or replace function auth_flow.clear_unconfirmed(p_user_id uuid, p_keep_identity uuid)
  returns jsonb
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_password boolean;
  v_identities integer;
  v_sessions integer;
begin
  update auth.users x set encrypted_password = null
   where x.id = p_user_id and x.encrypted_password is not null and x.encrypted_password <> '';
  v_password := found;
  delete from auth.identities x
   where x.user_id = p_user_id and x.provider <> 'email' and x.id is distinct from p_keep_identity;
  get diagnostics v_identities = row_count;
  delete from auth.sessions x where x.user_id = p_user_id;
  get diagnostics v_sessions = row_count;
  if v_identities > 0 then
    -- GoTrue lists a user's providers in app_metadata.providers: those left.
    update auth.users x
       set raw_app_meta_data = coalesce(x.raw_app_meta_data, '{}'::jsonb) || pg_catalog.jsonb_build_object('providers',
             coalesce((select pg_catalog.jsonb_agg(distinct i.provider order by i.provider)
                         from auth.identities i where i.user_id = p_user_id), '[]'::jsonb))
     where x.id = p_user_id;
  end if;
  return pg_catalog.jsonb_build_object('hash_cleared', v_password, 'identities', v_identities, 'sessions', v_sessions);
end
$$;
comment on function auth_flow.clear_unconfirmed(uuid, uuid) is 'For an account whose owner proves it before its address was confirmed: drop the password, every identity but the email one and the one kept, and every session; what was cleared, as counts.';
revoke all on function auth_flow.clear_unconfirmed(uuid, uuid) from public;

-- verify_magic_link: locks the user; an unconfirmed one is cleared before it is confirmed (as 0029 left it otherwise)
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
  v_cleared jsonb;
begin
  select * into t from auth.one_time_tokens x
   where x.token_hash = auth_flow.hash_secret(p_token) and x.token_type = 'recovery_token'
   for update;
  if t.id is null then
    perform audit.log_auth_event('magiclink_failed', null, '{"reason": "unknown_or_used"}'::jsonb);
    return null;
  end if;
  delete from auth.one_time_tokens x where x.id = t.id;

  -- 0030: locked, so a concurrent link or redemption sees it confirmed or cleared.
  select * into u from auth.users x where x.id = t.user_id for no key update;
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

  -- 0030: the mailbox's owner proves the account now; what was attached
  -- before anyone did (a password, another identity, their sessions) goes.
  if u.email_confirmed_at is null then
    v_cleared := auth_flow.clear_unconfirmed(u.id, null);
  end if;
  update auth.users x set email_confirmed_at = coalesce(x.email_confirmed_at, v_now) where x.id = u.id;
  g := auth_flow.start_session(u.id, 'magiclink', null, v_now);
  perform audit.log_auth_event('magiclink_redeemed', u.id, pg_catalog.jsonb_build_object('session_id', g.session_id)
    || case when v_cleared is not null then pg_catalog.jsonb_build_object('unconfirmed_cleared', v_cleared) else '{}'::jsonb end);
  return g;
end
$$;
comment on function auth_flow.verify_magic_link(text) is 'Redeem a magic-link token once: a session grant (amr magiclink), or NULL for a wrong, used or expired token, or one sent to an email the user no longer has. Confirming an unconfirmed account first drops its password, other identities and sessions.';

-- link_identity: locks the user; an unconfirmed one is cleared once the identity is linked (as 0027 left it otherwise)
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
  v_unconfirmed boolean;
  v_cleared jsonb;
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
  -- 0030: the user row locked, and whether its address is confirmed.
  select x.email_confirmed_at is null into v_unconfirmed from auth.users x
   where x.id = p_user_id and x.deleted_at is null
     for no key update;
  if not found then
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

  -- 0030: the provider's account proves this one's owner; what was attached
  -- before its address was confirmed goes (GoTrue's RemoveUnconfirmedIdentities).
  if v_unconfirmed then
    v_cleared := auth_flow.clear_unconfirmed(p_user_id, v_id);
    -- A provider that vouches for this very address proves the mailbox too
    -- (GoTrue confirms on a verified candidate email): the account is then
    -- confirmed, so a later magic link does not clear this identity again.
    if pg_catalog.jsonb_typeof(v_data -> 'email') = 'string'
       and pg_catalog.lower(pg_catalog.btrim(v_data ->> 'email')) = (select pg_catalog.lower(x.email::text) from auth.users x where x.id = p_user_id)
       and v_data -> 'email_verified' = 'true'::jsonb then
      update auth.users x set email_confirmed_at = v_now where x.id = p_user_id;
      v_cleared := v_cleared || '{"confirmed": true}'::jsonb;
    end if;
  end if;

  -- GoTrue lists a user's providers in app_metadata.providers.
  update auth.users x
     set raw_app_meta_data = coalesce(x.raw_app_meta_data, '{}'::jsonb) || pg_catalog.jsonb_build_object('providers',
           (select pg_catalog.jsonb_agg(distinct p order by p)
              from pg_catalog.jsonb_array_elements_text(
                     coalesce(x.raw_app_meta_data -> 'providers', '[]'::jsonb) || pg_catalog.to_jsonb(p_provider)) as p)),
         updated_at = v_now
   where x.id = p_user_id;
  perform audit.log_auth_event('identity_linked', p_user_id, pg_catalog.jsonb_build_object('provider', p_provider)
    || case when v_cleared is not null then pg_catalog.jsonb_build_object('unconfirmed_cleared', v_cleared) else '{}'::jsonb end);
  return v_id;
end
$$;
comment on function auth_flow.link_identity(uuid, text, text, jsonb) is 'Link an OAuth identity (provider, provider_id) to a user (secret-looking keys of identity_data dropped at any depth); NULL when another user holds it. Linking to an account whose address is unconfirmed drops its password, other identities and sessions, and confirms it when the identity data carries that address with email_verified true.';
