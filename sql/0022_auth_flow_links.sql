-- Database-first auth flows, part 3: magic links and OAuth identities.

-- Magic links --------------------------------------------------------------

-- Issue a single-use sign-in token for an email: 256 random bits, returned once
-- (for the mail), stored as its sha256 in auth.one_time_tokens with
-- token_type recovery_token, which GoTrue uses for magic links. The unique
-- index (user_id, token_type) makes a new link replace the previous one.
-- NULL when no user may sign in with that email: the server answers the
-- requester the same way in both cases (it mails the token, or nothing).
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
  u auth.users;
begin
  if v_email is not null then
    select * into u from auth.users x where x.email = v_email and not x.is_sso_user;
  end if;
  if not auth_flow.user_may_sign_in(u, v_now) then
    perform audit.log_auth_event('magiclink_refused', u.id, '{"reason": "no_user_may_sign_in"}'::jsonb);
    return null;
  end if;
  -- created_at/updated_at are `timestamp` (without time zone) in GoTrue: UTC wall time.
  insert into auth.one_time_tokens as o (id, user_id, token_type, token_hash, relates_to, created_at, updated_at)
  values (pg_catalog.gen_random_uuid(), u.id, 'recovery_token', auth_flow.hash_secret(v_token), v_email,
          v_now at time zone 'UTC', v_now at time zone 'UTC')
  on conflict (user_id, token_type) do update
    set id = excluded.id, token_hash = excluded.token_hash, relates_to = excluded.relates_to,
        created_at = excluded.created_at, updated_at = excluded.updated_at;
  perform audit.log_auth_event('magiclink_issued', u.id, '{}'::jsonb);
  return v_token;
end
$$;
comment on function auth_flow.issue_magic_link(text) is 'A single-use magic-link token for the email (stored hashed, replaces the previous one), or NULL when no user may sign in with it.';

-- Redeem a magic link: the token row is locked and deleted whatever happens
-- next, so a token works once; a wrong, used or expired token all give NULL.
-- The lookup compares sha256 digests, so its timing says nothing about the
-- token. Redeeming confirms the email (the mail reached its owner). It is not
-- blocked by the password lockout: it proves control of the mailbox, and it is
-- the way back in for a user an attacker keeps locked out.
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

  update auth.users x set email_confirmed_at = coalesce(x.email_confirmed_at, v_now) where x.id = u.id;
  g := auth_flow.start_session(u.id, 'magiclink', null, v_now);
  perform audit.log_auth_event('magiclink_redeemed', u.id, pg_catalog.jsonb_build_object('session_id', g.session_id));
  return g;
end
$$;
comment on function auth_flow.verify_magic_link(text) is 'Redeem a magic-link token once: a session grant (amr magiclink), or NULL for a wrong, used or expired token.';

-- OAuth identities ---------------------------------------------------------

-- Link (provider, provider_id) to a user, after the provider's handshake
-- (which stays GoTrue's: it needs the network). One identity per pair: linking
-- a pair another user holds returns NULL and logs 'identity_link_refused';
-- linking it again to its own user refreshes identity_data. Provider tokens
-- never belong in identity_data: keys that look secret (audit.is_secret_name:
-- access_token, refresh_token, provider_token, …) are dropped. Returns the
-- identity id.
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

  select coalesce(pg_catalog.jsonb_object_agg(e.key, e.value), '{}'::jsonb) into v_data
    from pg_catalog.jsonb_each(coalesce(p_identity_data, '{}'::jsonb)) as e
   where not audit.is_secret_name(e.key);
  v_data := v_data || pg_catalog.jsonb_build_object('sub', p_provider_id);

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
comment on function auth_flow.link_identity(uuid, text, text, jsonb) is 'Link an OAuth identity (provider, provider_id) to a user; NULL when another user holds it.';

-- Sign in through a linked identity, once the provider's handshake has vouched
-- for (provider, provider_id): a session with amr oauth, or NULL.
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
  select * into u from auth.users x where x.id = i.user_id;
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

revoke all on function
  auth_flow.issue_magic_link(text), auth_flow.verify_magic_link(text),
  auth_flow.link_identity(uuid, text, text, jsonb), auth_flow.sign_in_with_identity(text, text)
  from public;
grant execute on function
  auth_flow.issue_magic_link(text), auth_flow.verify_magic_link(text),
  auth_flow.link_identity(uuid, text, text, jsonb), auth_flow.sign_in_with_identity(text, text)
  to service_role;
