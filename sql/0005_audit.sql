-- The audit log: append-only and hash-chained.
--
-- audit.log holds one row per captured change (INSERT/UPDATE/DELETE/TRUNCATE
-- on a tracked table) or auth event (EVENT). Rows are written only by
-- audit.append_rows(), which every capture path calls.
--
-- The log is striped into eight lanes, each its own hash chain, so that
-- concurrent writers do not queue behind one lock:
--   * a transaction appends to one lane, which it takes on its first append
--     (a transaction-level advisory lock) and holds until COMMIT/ROLLBACK; it
--     takes a free lane without waiting and waits only when all eight are
--     held;
--   * within a lane, seq is gap-free (previous seq + 1, assigned under the
--     lane's lock) and hash = sha256 over a canonical text of the row, its
--     lane and seq, and the previous row's hash (genesis: 64 zeros), so an
--     edited, deleted or inserted row breaks its lane from that row on
--     (`rowguard audit verify`); the key (lane, seq) stops a fork;
--   * a chain cannot show that its newest rows were cut off: record the
--     checkpoint `audit verify` prints (each lane's last seq and a digest of
--     their hashes) elsewhere and check it later with --expect-head;
--   * id is the capture order across lanes (an identity; gaps are rolled-back
--     appends and mean nothing).
-- Append-only for every role including the owner: triggers reject UPDATE,
-- DELETE and TRUNCATE, and the owner's own UPDATE/DELETE/TRUNCATE privileges
-- are revoked. A superuser can still disable triggers; that is what the hash
-- chains (and a checkpoint recorded elsewhere) detect.
-- No API role has any privilege in schema audit.

create schema if not exists audit;
revoke all on schema audit from public;

create table audit.log (
  id          bigint generated always as identity (sequence name audit.log_id_seq),
  lane        smallint not null,
  seq         bigint not null,
  at          timestamptz not null,
  txid        xid8 not null,
  actor_id    uuid,
  actor_role  text,
  actor_email text,
  db_role     text not null,
  user_agent  text,
  ip          text,
  schema_name text,
  table_name  text,
  operation   text not null,
  event       text,
  pk          jsonb,
  old_row     jsonb,
  new_row     jsonb,
  hash        text not null,
  -- No CHECK constraints: every value comes from audit.append_rows() and the
  -- hash covers it, while a check costs every single-row append a parse of
  -- its expression. What is enforced is the chain's shape: one row per
  -- position of a lane, so a forked chain cannot be written. That is the key;
  -- id is not indexed (an identity is unique by construction, and every
  -- append would pay for a second btree that only a lookup by id uses).
  primary key (lane, seq)
);
comment on table audit.log is 'Append-only, hash-chained audit log (one chain per lane). Written only by audit.append_rows(); verify with `rowguard audit verify`.';
comment on column audit.log.id is 'capture order across lanes; gaps are rolled-back appends (not indexed: find rows by lane and seq, at, or actor_id)';
comment on column audit.log.lane is 'the hash chain (1..8) this row belongs to';
comment on column audit.log.seq is 'position in its lane: 1, 2, 3, … without gaps';
comment on column audit.log.at is 'clock_timestamp() when the change (or its statement''s batch) was captured, before waiting for a lane; not the transaction start';
comment on column audit.log.txid is 'pg_current_xact_id() of the writing transaction';
comment on column audit.log.actor_id is 'claim sub of the request (or the actor passed to audit.log_auth_event)';
comment on column audit.log.actor_role is 'claim role of the request';
comment on column audit.log.actor_email is 'claim email of the request (as claimed, possibly unverified)';
comment on column audit.log.db_role is 'the database role the change ran as (SET ROLE of the request, else the session user)';
comment on column audit.log.ip is 'first x-forwarded-for entry of request.headers, else x-real-ip (as sent by the proxy)';
comment on column audit.log.old_row is 'row before the change, secret columns replaced by "[redacted]"';
comment on column audit.log.new_row is 'row after the change (or the event payload), secret columns replaced by "[redacted]"';
comment on column audit.log.hash is 'hex sha256 chained to the previous row of the lane, see audit.append_rows()';
create index log_at_idx on audit.log using brin (at);
create index log_actor_id_idx on audit.log (actor_id) where actor_id is not null;


alter table audit.log enable row level security;
revoke all on audit.log from public, anon, authenticated, service_role, staff;
do $revoke$
begin
  -- An owner keeps the right to GRANT back, but holds no write beyond INSERT.
  execute pg_catalog.format('revoke update, delete, truncate on audit.log from %I', current_user);
end
$revoke$;

-- Reject a change to an append-only table (row- and statement-level).
create or replace function audit.reject_change()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  raise exception '%.% is append-only: % is not allowed', tg_table_schema, tg_table_name, tg_op
    using errcode = 'insufficient_privilege',
          hint = 'audit rows are never changed or removed';
end
$$;
revoke all on function audit.reject_change() from public;

create trigger log_reject_update_delete before update or delete on audit.log
  for each row execute function audit.reject_change();
create trigger log_reject_truncate before truncate on audit.log
  for each statement execute function audit.reject_change();

-- Only audit.append_rows() inserts: it sets audit.appending around the one
-- INSERT it runs. Statement-level, so a bulk append pays for it once. This
-- stops mistakes, not the owner: any session can set the marker, but only the
-- owner (or a superuser) holds INSERT, and a row they forge breaks the chain
-- unless they also recompute every later hash, which a head recorded outside
-- the database exposes.
create or replace function audit.guard_insert()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if pg_catalog.current_setting('audit.appending', true) is distinct from 'on' then
    raise exception 'audit.log is written only by audit.append_rows()'
      using errcode = 'insufficient_privilege',
            hint = 'track a table with audit.enable_tracking(), or log an event with audit.log_auth_event()';
  end if;
  return null;
end
$$;
revoke all on function audit.guard_insert() from public;
create trigger log_guard_insert before insert on audit.log
  for each statement execute function audit.guard_insert();

-- Which names hold secrets. Used for column names at enable_tracking() time and
-- for keys at any depth of an event payload or a json/jsonb column.
create or replace function audit.is_secret_name(name text)
  returns boolean
  language sql
  immutable
  set search_path = ''
as $$
  select name ~* '(password|passwd|passphrase|secret|token|hmac|otp|api_?key|private_?key|credential|authorization|cookie|salt)'
$$;
revoke all on function audit.is_secret_name(text) from public;

-- A string value that is a secret whatever its key: a bcrypt hash, a JWT, a
-- bearer credential.
create or replace function audit.is_secret_value(value text)
  returns boolean
  language sql
  immutable
  set search_path = ''
as $$
  select value ~ '^\$2[abxy]\$[0-9]{2}\$'
      or value ~ '^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.'
      or value ~* '^(bearer|basic)\s'
$$;
revoke all on function audit.is_secret_value(text) from public;

-- Replace every secret in a json value by "[redacted]": values under a
-- secret-looking key (at any depth) and secret-looking strings.
create or replace function audit.redact(value jsonb)
  returns jsonb
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  result jsonb;
begin
  case pg_catalog.jsonb_typeof(value)
    when 'object' then
      select coalesce(pg_catalog.jsonb_object_agg(e.key,
               case when audit.is_secret_name(e.key) and e.value <> 'null'::jsonb then '"[redacted]"'::jsonb
                    else audit.redact(e.value) end), '{}'::jsonb)
        into result
        from pg_catalog.jsonb_each(value) as e;
      return result;
    when 'array' then
      select coalesce(pg_catalog.jsonb_agg(audit.redact(a.elem) order by a.n), '[]'::jsonb)
        into result
        from pg_catalog.jsonb_array_elements(value) with ordinality as a(elem, n);
      return result;
    when 'string' then
      if audit.is_secret_value(value #>> '{}') then
        return '"[redacted]"'::jsonb;
      end if;
      return value;
    else
      return value;
  end case;
end
$$;
comment on function audit.redact(jsonb) is 'The value with every secret-named key''s value, bcrypt hash, JWT and bearer credential replaced by "[redacted]".';
revoke all on function audit.redact(jsonb) from public;

-- The canonical serialisation that is hashed (version 3). `rowguard audit
-- verify` (cli/core/audit/verify.ts) recomputes it from the columns' text forms:
--
--   context = json_build_array(c1, …, c12)::text
--   c1..c12 = to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
--             txid::text, actor_id::text, actor_role, actor_email, db_role,
--             user_agent, ip, schema_name, table_name, operation, event
--   body    = '[' || coalesce(pk::text, 'null') || ', ' || coalesce(old_row::text, 'null')
--             || ', ' || coalesce(new_row::text, 'null') || ']'
--             (= json_build_array(pk, old_row, new_row)::text, without its
--             per-call type lookups)
--   hash    = hex(sha256(utf8('rowguard-audit-v3' || LF || prev_hash || LF
--                              || lane::text || ':' || seq::text || LF
--                              || hex(sha256(utf8(context))) || LF || body)))
--   prev_hash = hash of the row (lane, seq - 1), or 64 '0' for seq 1
--
-- The context is what the rows of one append share (when, which transaction,
-- who, which table and operation): a JSON array of strings and nulls, written
-- by one built-in call, and hashed once per append rather than again for
-- every row. The body is what differs per row: jsonb::text is Postgres's
-- canonical jsonb output (keys sorted, one space after ':' and ','), a
-- deterministic function of the stored value. One sha256 per row, row by row,
-- since each row's hash enters the next. The id is not hashed: it only orders
-- rows across lanes.
--
-- Append rows to the chain: one per element of p_pks (olds and news are
-- parallel to it; a NULL array counts as all NULLs; a row without a key has a
-- NULL element in p_pks). Internal: called by the capture triggers and
-- audit.log_auth_event(), which are SECURITY DEFINER and owned by this
-- function's owner; nobody else may execute it. Returns the last id.
--
-- Lanes: the transaction's first append takes a lane with a transaction-level
-- advisory lock (class 1919383905, 'rgua'; key 1..8), trying each lane once
-- without waiting from one chosen by backend, and waiting for one only when
-- all eight are held; it notes the lane in the transaction-local setting
-- audit.lane, and later appends take the same lock again (already theirs).
-- The setting is only a hint: a lane another transaction holds is never
-- used, so a forged hint changes nothing. Each append reads the lane's head
-- (its last row) after the lock is held: under READ COMMITTED that query's
-- snapshot sees the previous holder's committed rows. Under REPEATABLE READ /
-- SERIALIZABLE a head that moved after the snapshot makes the insert conflict
-- on (lane, seq), which ON CONFLICT turns into 40001 (serialization_failure)
-- instead of a fork: retry the transaction. A rolled-back appender's rows and
-- lock go together (the lock also when only a savepoint rolls back).
create or replace function audit.append_rows(
  p_operation text,
  p_schema text,
  p_table text,
  p_event text,
  p_actor_id uuid,
  p_ip text,
  p_pks jsonb[],
  p_olds jsonb[],
  p_news jsonb[]
)
  returns bigint
  language plpgsql
  security definer
  set search_path = ''
as $$
-- Cost note: a capture is usually the only append of its transaction, and
-- PL/pgSQL sets up each expression and statement again in every transaction,
-- so the single-row path is written as few, small expressions and statements;
-- what only some callers need (claims, headers) is read only when present.
declare
  n integer := pg_catalog.cardinality(p_pks);
  claims jsonb;
  headers jsonb;
  v_at timestamptz := pg_catalog.clock_timestamp();
  current_txid xid8 := pg_catalog.pg_current_xact_id();
  -- The role of the request (SET ROLE), else the session's.
  v_db_role text := coalesce(nullif(pg_catalog.current_setting('role', true), 'none'), session_user);
  v_actor_id uuid := p_actor_id;
  v_actor_role text;
  v_actor_email text;
  v_user_agent text;
  v_ip text := p_ip;
  context text;
  hint text;
  v_lane integer;
  got boolean;
  prev_seq bigint;
  last_id bigint;
  hashes text[];
  h text;
  v text;
begin
  if n is null or n = 0 then
    return null;
  end if;

  claims := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
  if claims is not null then
    -- A sub that is not a uuid gets no access from the policies (auth.uid()
    -- raises 22P02); here it must not block a write RLS does not govern (a
    -- service_role token with a custom sub), so it is recorded as no actor.
    if v_actor_id is null and claims ->> 'sub' ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' then
      v_actor_id := (claims ->> 'sub')::uuid;
    end if;
    v_actor_role := claims ->> 'role';
    v_actor_email := claims ->> 'email';
  end if;
  -- request.headers carries client-controlled values (and the Authorization
  -- header): only two short fields are kept.
  headers := nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb;
  if headers is not null then
    v_user_agent := pg_catalog.left(headers ->> 'user-agent', 512);
    v_ip := coalesce(v_ip, nullif(pg_catalog.btrim(pg_catalog.split_part(headers ->> 'x-forwarded-for', ',', 1)), ''), headers ->> 'x-real-ip');
  end if;
  if v_ip is not null then
    v_ip := pg_catalog.left(v_ip, 64);
  end if;

  -- The context's digest: the same for every row of this call.
  context := pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.json_build_array(
               pg_catalog.to_char(v_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               current_txid::text, v_actor_id::text, v_actor_role, v_actor_email, v_db_role,
               v_user_agent, v_ip, p_schema, p_table, p_operation, p_event)::text, 'UTF8')), 'hex');

  -- The lane: on the transaction's first append the backend's own lane when
  -- it is free, on a later one the hinted lane when this transaction holds it
  -- (or it is free); else the next free one, else wait for one. Plain
  -- expressions only: no query.
  hint := pg_catalog.current_setting('audit.lane', true);
  if hint is null or hint = '' then
    -- The transaction's first append: the backend's own lane when it is free.
    v_lane := pg_catalog.pg_backend_pid() % 8 + 1;
    got := pg_catalog.pg_try_advisory_xact_lock(1919383905, v_lane);
  else
    got := hint in ('1', '2', '3', '4', '5', '6', '7', '8') and pg_catalog.pg_try_advisory_xact_lock(1919383905, hint::integer);
    v_lane := case when got then hint::integer else pg_catalog.pg_backend_pid() % 8 + 1 end;
  end if;
  if not got then
    for tries in 1 .. 8 loop
      v_lane := v_lane % 8 + 1;
      got := pg_catalog.pg_try_advisory_xact_lock(1919383905, v_lane);
      exit when got;
    end loop;
    if not got then
      perform pg_catalog.pg_advisory_xact_lock(1919383905, v_lane);
    end if;
  end if;
  if hint is distinct from v_lane::text then
    v := pg_catalog.set_config('audit.lane', v_lane::text, true);
  end if;

  -- From here to COMMIT under the lane's lock. The lane's head is its last
  -- row; under READ COMMITTED each query below takes its snapshot after the
  -- lock was granted, so it sees the previous holder's committed rows.
  v := pg_catalog.set_config('audit.appending', 'on', true);
  select l.seq, l.hash into prev_seq, h from audit.log l where l.lane = v_lane order by l.seq desc limit 1;
  prev_seq := coalesce(prev_seq, 0) + 1;
  -- The first row. concat() writes each jsonb with its output function (a
  -- jsonb 'null' as null), in one call rather than a chain of ||.
  h := pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat(
         'rowguard-audit-v3', E'\n', coalesce(h, '0000000000000000000000000000000000000000000000000000000000000000'), E'\n',
         v_lane, ':', prev_seq, E'\n', context, E'\n',
         '[', coalesce(p_pks[1], 'null'), ', ', coalesce(p_olds[1], 'null'), ', ', coalesce(p_news[1], 'null'), ']'), 'UTF8')), 'hex');
  -- ON CONFLICT is the REPEATABLE READ check (see above); it is needed on the
  -- first row only, since under the lane's lock nobody else appends after it.
  insert into audit.log (lane, seq, at, txid, actor_id, actor_role, actor_email, db_role, user_agent, ip,
                         schema_name, table_name, operation, event, pk, old_row, new_row, hash)
  values (v_lane, prev_seq, v_at, current_txid, v_actor_id, v_actor_role, v_actor_email, v_db_role, v_user_agent, v_ip,
          p_schema, p_table, p_operation, p_event, p_pks[1], p_olds[1], p_news[1], h)
  on conflict (lane, seq) do nothing
  returning id into last_id;
  if last_id is null then
    -- Only reachable if a row was written to the lane by something that did
    -- not hold it. Never drop an audit row silently.
    raise exception 'audit.log: lane % already has the row this append was to write', v_lane
      using errcode = 'unique_violation',
            hint = 'audit.log is written only by audit.append_rows(); run `rowguard audit verify`';
  end if;

  if n > 1 then
    -- The other rows: the chaining loop (each row's hash enters the next),
    -- then one insert. Array parameters are expanded on entry, so p_pks[i]
    -- is a direct fetch.
    hashes := pg_catalog.array_fill(null::text, array[n]);
    for i in 2 .. n loop
      h := pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat(
             'rowguard-audit-v3', E'\n', h, E'\n', v_lane, ':', prev_seq + i - 1, E'\n', context, E'\n',
             '[', coalesce(p_pks[i], 'null'), ', ', coalesce(p_olds[i], 'null'), ', ', coalesce(p_news[i], 'null'), ']'), 'UTF8')), 'hex');
      hashes[i] := h;
    end loop;
    -- Set-returning functions in the select list stream in step (a NULL
    -- array gives NULLs), where unnest() in FROM would first copy every row
    -- into a tuplestore. Rows go in array order, so ids follow seq within the
    -- call; hashes is unnested beside them (subscripting a PL/pgSQL array
    -- inside a query would copy it for every row).
    insert into audit.log (lane, seq, at, txid, actor_id, actor_role, actor_email, db_role, user_agent, ip,
                           schema_name, table_name, operation, event, pk, old_row, new_row, hash)
    select v_lane, prev_seq + u.n - 1, v_at, current_txid, v_actor_id, v_actor_role, v_actor_email, v_db_role, v_user_agent, v_ip,
           p_schema, p_table, p_operation, p_event, u.pk, u.old_row, u.new_row, u.hash
      from (select pg_catalog.unnest(p_pks) as pk, pg_catalog.unnest(p_olds) as old_row, pg_catalog.unnest(p_news) as new_row,
                   pg_catalog.unnest(hashes) as hash, pg_catalog.generate_series(1, n) as n) as u
     where u.n > 1;
    last_id := pg_catalog.currval('audit.log_id_seq');
  end if;
  v := pg_catalog.set_config('audit.appending', '', true);
  return last_id;
end
$$;
revoke all on function audit.append_rows(text, text, text, text, uuid, text, jsonb[], jsonb[], jsonb[]) from public;

-- A row image as stored: secret columns replaced by "[redacted]" (NULL stays
-- NULL), secrets inside json/jsonb columns redacted by audit.redact().
create or replace function audit.row_image(image jsonb, secret_columns text[], json_columns text[])
  returns jsonb
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  c text;
begin
  foreach c in array secret_columns loop
    if image -> c <> 'null'::jsonb then
      image := image || pg_catalog.jsonb_build_object(c, '[redacted]');
    end if;
  end loop;
  foreach c in array json_columns loop
    if image ? c then
      image := image || pg_catalog.jsonb_build_object(c, audit.redact(image -> c));
    end if;
  end loop;
  return image;
end
$$;
revoke all on function audit.row_image(jsonb, text[], text[]) from public;

-- The primary key of a row image (NULL for a table without one).
create or replace function audit.key_of(image jsonb, key_columns text[])
  returns jsonb
  language sql
  immutable
  set search_path = ''
as $$
  select case pg_catalog.cardinality(key_columns)
           when 0 then null
           when 1 then pg_catalog.jsonb_build_object(key_columns[1], image -> key_columns[1])
           else (select pg_catalog.jsonb_object_agg(k, image -> k) from pg_catalog.unnest(key_columns) as k)
         end
$$;
revoke all on function audit.key_of(jsonb, text[]) from public;

-- Capture triggers attached by audit.enable_tracking(). Arguments (computed
-- once by enable_tracking, as text[] literals):
--   tg_argv[0]  primary key columns
--   tg_argv[1]  secret columns
--   tg_argv[2]  json/jsonb columns
--   tg_argv[3]  the key column, when it is the only one and the table has no
--               secret or json column (the common case: no argument to parse)
-- INSERT and DELETE are captured per statement from the transition table
-- (both triggers name it changed_rows, so one query reads either), so a bulk
-- statement appends to its lane once and hashes its rows in one loop; UPDATE
-- per row (old and new images as a pair); TRUNCATE as one row without images.
create or replace function audit.capture_statement()
  returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  key_column text := tg_argv[3];
  key_columns text[];
  secret_columns text[];
  json_columns text[];
  plain boolean;
  images jsonb[];
  keys jsonb[];
  appended bigint;
begin
  if tg_op = 'TRUNCATE' then
    appended := audit.append_rows('TRUNCATE', tg_table_schema, tg_table_name, null, null, null, array[null::jsonb], null, null);
    return null;
  end if;
  -- One row image per row, made once (OFFSET 0: a flattened subquery would
  -- repeat to_jsonb() in each aggregate). The common case's query has only
  -- built-in calls: a branch for the general case in the same query would
  -- cost every statement the set-up of audit.row_image and audit.key_of even
  -- when it is never taken.
  if key_column is not null then
    select pg_catalog.array_agg(x.image), pg_catalog.array_agg(pg_catalog.jsonb_build_object(key_column, x.image -> key_column))
      into images, keys
      from (select pg_catalog.to_jsonb(r) as image from changed_rows r offset 0) as x;
  else
    key_columns := tg_argv[0]::text[];
    secret_columns := tg_argv[1]::text[];
    json_columns := tg_argv[2]::text[];
    plain := pg_catalog.cardinality(secret_columns) = 0 and pg_catalog.cardinality(json_columns) = 0;
    select pg_catalog.array_agg(x.image), pg_catalog.array_agg(audit.key_of(x.image, key_columns))
      into images, keys
      from (select case when plain then pg_catalog.to_jsonb(r) else audit.row_image(pg_catalog.to_jsonb(r), secret_columns, json_columns) end as image
              from changed_rows r offset 0) as x;
  end if;
  if tg_op = 'INSERT' then
    appended := audit.append_rows('INSERT', tg_table_schema, tg_table_name, null, null, null, keys, null, images);
  else
    appended := audit.append_rows('DELETE', tg_table_schema, tg_table_name, null, null, null, keys, images, null);
  end if;
  return null;
end
$$;
revoke all on function audit.capture_statement() from public;

create or replace function audit.capture()
  returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  key_columns text[] := tg_argv[0]::text[];
  secret_columns text[] := tg_argv[1]::text[];
  json_columns text[] := tg_argv[2]::text[];
  old_row jsonb;
  new_row jsonb;
  appended bigint;
begin
  if tg_op <> 'INSERT' then
    old_row := audit.row_image(pg_catalog.to_jsonb(old), secret_columns, json_columns);
  end if;
  if tg_op <> 'DELETE' then
    new_row := audit.row_image(pg_catalog.to_jsonb(new), secret_columns, json_columns);
  end if;
  appended := audit.append_rows(tg_op, tg_table_schema, tg_table_name, null, null, null,
                            array[audit.key_of(coalesce(new_row, old_row), key_columns)], array[old_row], array[new_row]);
  return null;
end
$$;
revoke all on function audit.capture() from public;

-- Start (or refresh) capturing INSERT/UPDATE/DELETE/TRUNCATE on a table. Secret columns
-- are those whose name matches audit.is_secret_name() or whose comment contains
-- '@secret'. They are computed now and baked into the trigger's arguments, so
-- the per-row cost does not include a catalog lookup: run it again after adding
-- a secret column (it is idempotent). Returns the redacted column names.
create or replace function audit.enable_tracking(target regclass)
  returns text[]
  language plpgsql
  set search_path = ''
as $$
declare
  relkind "char";
  key_columns text[];
  secret_columns text[];
  json_columns text[];
  fast text := '';
begin
  select c.relkind into relkind from pg_catalog.pg_class c where c.oid = target;
  if relkind not in ('r' /* table */, 'p' /* partitioned table */) then
    raise exception 'audit.enable_tracking(%): not a table', target
      using errcode = 'wrong_object_type';
  end if;
  -- Tracking the log's own tables would recurse: each append would append.
  if (select c.relnamespace from pg_catalog.pg_class c where c.oid = target) = 'audit'::regnamespace then
    raise exception 'audit.enable_tracking(%): the audit schema''s own tables cannot be tracked', target
      using errcode = 'wrong_object_type';
  end if;

  select coalesce(pg_catalog.array_agg(a.attname::text order by k.n), '{}')
    into key_columns
    from pg_catalog.pg_index i
    cross join lateral pg_catalog.unnest(i.indkey) with ordinality as k(attnum, n)
    join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
   where i.indrelid = target and i.indisprimary;

  select coalesce(pg_catalog.array_agg(a.attname::text order by a.attnum)
                    filter (where audit.is_secret_name(a.attname)
                               or coalesce(pg_catalog.col_description(target, a.attnum), '') like '%@secret%'), '{}'),
         coalesce(pg_catalog.array_agg(a.attname::text order by a.attnum)
                    filter (where a.atttypid in ('json'::pg_catalog.regtype, 'jsonb'::pg_catalog.regtype)), '{}')
    into secret_columns, json_columns
    from pg_catalog.pg_attribute a
   where a.attrelid = target and a.attnum > 0 and not a.attisdropped;

  if pg_catalog.cardinality(key_columns) = 1 and pg_catalog.cardinality(secret_columns) = 0
     and pg_catalog.cardinality(json_columns) = 0 then
    fast := pg_catalog.format(', %L', key_columns[1]);
  end if;

  -- audit_capture (the INSERT trigger) is the name other code looks for to
  -- find tracked tables.
  execute pg_catalog.format('drop trigger if exists audit_capture on %s', target);
  execute pg_catalog.format('drop trigger if exists audit_capture_update on %s', target);
  execute pg_catalog.format('drop trigger if exists audit_capture_delete on %s', target);
  execute pg_catalog.format('drop trigger if exists audit_capture_truncate on %s', target);
  execute pg_catalog.format(
    'create trigger audit_capture after insert on %s referencing new table as changed_rows for each statement execute function audit.capture_statement(%L, %L, %L%s)',
    target, key_columns, secret_columns, json_columns, fast);
  execute pg_catalog.format(
    'create trigger audit_capture_update after update on %s for each row execute function audit.capture(%L, %L, %L)',
    target, key_columns, secret_columns, json_columns);
  execute pg_catalog.format(
    'create trigger audit_capture_delete after delete on %s referencing old table as changed_rows for each statement execute function audit.capture_statement(%L, %L, %L%s)',
    target, key_columns, secret_columns, json_columns, fast);
  execute pg_catalog.format(
    'create trigger audit_capture_truncate after truncate on %s for each statement execute function audit.capture_statement(%L, %L, %L)',
    target, key_columns, secret_columns, json_columns);
  return secret_columns;
end
$$;
comment on function audit.enable_tracking(regclass) is 'Capture INSERT/UPDATE/DELETE on a table into audit.log (secret columns redacted). Idempotent; re-run after adding a secret column.';
revoke all on function audit.enable_tracking(regclass) from public;

-- Log an auth event that is not a row change (sign-in failure, lockout, token
-- reuse, …). For the auth functions of later migrations, which call it from
-- SECURITY DEFINER functions owned by the same role; no API role may call it.
--   action   lower_snake_case, e.g. 'login', 'token_refreshed' (GoTrue's names)
--   actor    the user the event is about (NULL when unknown, e.g. unknown email)
--   payload  a json object; secret-looking keys and values are replaced by
--            "[redacted]" (audit.redact) before anything is stored
-- Returns the new audit.log id.
create or replace function audit.log_auth_event(action text, actor uuid, payload jsonb default '{}'::jsonb)
  returns bigint
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  if action is null or action !~ '^[a-z][a-z0-9_]{0,63}$' then
    raise exception 'audit.log_auth_event: action must be lower_snake_case (at most 64 characters)'
      using errcode = 'invalid_parameter_value';
  end if;
  if payload is not null and pg_catalog.jsonb_typeof(payload) <> 'object' then
    raise exception 'audit.log_auth_event: payload must be a json object'
      using errcode = 'invalid_parameter_value';
  end if;
  return audit.append_rows('EVENT', 'auth', null, action, actor, null, array[null::jsonb], null, array[audit.redact(coalesce(payload, '{}'::jsonb))]);
end
$$;
comment on function audit.log_auth_event(text, uuid, jsonb) is 'Append an auth event to audit.log (secrets in the payload redacted). Call from SECURITY DEFINER auth functions.';
revoke all on function audit.log_auth_event(text, uuid, jsonb) from public;

-- GoTrue's own audit trail (auth.audit_log_entries, INSERT-only by GoTrue)
-- lands in the same chain, and is made append-only too.
create or replace function audit.capture_auth_log_entry()
  returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  payload jsonb := audit.redact(coalesce(new.payload::jsonb, '{}'::jsonb));
  actor text := payload ->> 'actor_id';
  appended bigint;
begin
  appended := audit.append_rows(
    'EVENT', tg_table_schema, tg_table_name,
    coalesce(payload ->> 'action', 'unknown'),
    case when actor ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then actor::uuid end,
    nullif(new.ip_address, ''),
    array[pg_catalog.jsonb_build_object('id', new.id)],
    null,
    array[payload]);
  return null;
end
$$;
revoke all on function audit.capture_auth_log_entry() from public;

create trigger audit_capture after insert on auth.audit_log_entries
  for each row execute function audit.capture_auth_log_entry();
create trigger audit_log_entries_reject_update_delete before update or delete on auth.audit_log_entries
  for each row execute function audit.reject_change();
create trigger audit_log_entries_reject_truncate before truncate on auth.audit_log_entries
  for each statement execute function audit.reject_change();
