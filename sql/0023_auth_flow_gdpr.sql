-- Database-first auth flows, part 4: GDPR export (Art. 15/20) and erasure (Art. 17).
--
-- "Owned rows" are found from the catalog, not from a list: every table (outside
-- auth and auth_flow, which are handled explicitly) with a single-column
-- foreign key to auth.users(id), plus every table tracked by the audit log
-- (trigger audit_capture, 0005) that has a uuid column named user_id. A new
-- table is covered as soon as it references auth.users or is tracked.

create or replace function auth_flow.owned_tables()
  returns table (relation regclass, owner_column name)
  language sql
  stable
  set search_path = ''
as $$
  select c.conrelid::regclass, a.attname
    from pg_catalog.pg_constraint c
    join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    join pg_catalog.pg_class r on r.oid = c.conrelid
    join pg_catalog.pg_namespace n on n.oid = r.relnamespace
   where c.contype = 'f' /* foreign key */
     and c.confrelid = 'auth.users'::regclass
     and pg_catalog.cardinality(c.conkey) = 1
     and c.conparentid = 0 /* not the clone of a partitioned table's key on a partition */
     and n.nspname not in ('auth', 'auth_flow')
  union
  select t.tgrelid::regclass, a.attname
    from pg_catalog.pg_trigger t
    join pg_catalog.pg_attribute a on a.attrelid = t.tgrelid and a.attname = 'user_id'
                                   and a.atttypid = 'uuid'::pg_catalog.regtype and not a.attisdropped
    join pg_catalog.pg_class r on r.oid = t.tgrelid
    join pg_catalog.pg_namespace n on n.oid = r.relnamespace
   where t.tgname = 'audit_capture' and not t.tgisinternal
     and n.nspname not in ('auth', 'auth_flow')
     and not r.relispartition
$$;
comment on function auth_flow.owned_tables() is 'Tables holding rows owned by a user: a one-column FK to auth.users, or audit-tracked with a uuid user_id.';

-- Everything held about a user, as JSON, with no secret in it: hashes and tokens
-- are left out by column (auth_flow.without_secrets: secret-looking names and
-- @secret comments), refresh tokens appear only as metadata. Logged as
-- 'user_exported'. NULL for an unknown user.
--
-- The export also returns what the audit log holds about the user (GDPR Art. 15
-- covers every record about them, the audit trail included): the rows whose actor
-- the user is, as stored (secrets were redacted when they were appended), without
-- the chain's hash and transaction id.
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

-- Erase a user: owned rows in every owned table, then the auth.users row (its
-- identities, sessions, refresh tokens and one-time tokens go by ON DELETE
-- CASCADE), then the lockout row of its email. Owned tables may reference one
-- another, so deletion runs in passes: a table whose DELETE hits a foreign key
-- (23503) is retried after the others, each attempt in its own subtransaction.
--
-- The audit log is append-only and hash-chained, so it is not rewritten:
--   * the erasure record ('user_erased') holds the user id and row counts only;
--   * rows appended before (and the DELETE rows this erasure makes in tracked
--     tables) keep what they captured: row images of tracked tables with secret
--     columns redacted, and the actor_email of the user's own requests. No
--     password, token or hash was ever written there. See docs/security-model.md.
-- Returns the counts, or NULL for an unknown user.
--
-- erase_user takes its locks in the order the flows take theirs (the lockout row,
-- tokens, the user, the audit chain), like sign_in (attempts row, then user) and
-- refresh (token row, then audit chain), so an erasure racing them for the same
-- user waits instead of deadlocking (40P01).
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
  delete from auth_flow.login_attempts x where x.email_key = auth_flow.email_key(u.email);
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
    into pending, columns from auth_flow.owned_tables() o;
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
comment on function auth_flow.erase_user(uuid) is 'GDPR erasure: delete owned rows and the user (cascading to identities, sessions, tokens); logs user_erased with counts only. NULL for an unknown user.';

revoke all on function auth_flow.owned_tables(), auth_flow.export_user(uuid), auth_flow.erase_user(uuid) from public;
grant execute on function auth_flow.export_user(uuid), auth_flow.erase_user(uuid) to service_role;
