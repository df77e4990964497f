-- Database-first auth flows, part 5: the GDPR export (0023) also returns what
-- the audit log holds about the user (Art. 15 covers every record about them,
-- the audit trail included), not only how many rows there are: the rows whose
-- actor the user is, as stored (secrets were redacted when they were appended),
-- without the chain's hash and transaction id.

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
  for r in select o.relation, o.owner_column from auth_flow.owned_tables() o order by o.relation::text loop
    execute pg_catalog.format(
      'select coalesce(pg_catalog.jsonb_agg(auth_flow.without_secrets(%L::regclass, pg_catalog.to_jsonb(t))), ''[]''::jsonb) from %s t where t.%I = $1',
      r.relation, r.relation, r.owner_column)
      into rows_of using p_user_id;
    owned := owned || pg_catalog.jsonb_build_object(r.relation::text, rows_of);
  end loop;

  result := pg_catalog.jsonb_build_object(
    'user', auth_flow.without_secrets('auth.users', pg_catalog.to_jsonb(u)),
    'identities', (select coalesce(pg_catalog.jsonb_agg(auth_flow.without_secrets('auth.identities', pg_catalog.to_jsonb(i)) order by i.created_at), '[]'::jsonb)
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
                  from auth_flow.login_attempts a where a.email_key = auth_flow.email_key(u.email)),
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
