-- Database-first auth flows, part 6: erase_user (0023) takes its locks in the
-- order the flows take theirs. 0023 locked the user first and the lockout row
-- and tokens last, the opposite of sign_in (attempts row, then user) and of
-- refresh (token row, then audit chain): an erasure racing those for the same
-- user could deadlock (40P01, one side aborted). Same behaviour otherwise.

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
