-- Audit capture hardening (after an adversarial review of 0005).
--
-- 1. Partitioned tables. 0005 captured INSERT and DELETE with statement-level
--    triggers on the table named by enable_tracking(). On a partitioned table
--    those fire only for statements that name the parent: an INSERT, DELETE
--    or TRUNCATE that names a partition (every partition, also one created
--    later) changed data without an audit row. A partitioned table is now
--    captured with row-level INSERT/UPDATE/DELETE triggers, which Postgres
--    clones onto every partition, present and future, and which fire whichever
--    table the statement names; TRUNCATE, which has no row-level form, gets a
--    trigger on the parent and on every partition, and on each partition
--    created or attached later (event trigger below). Plain tables keep the
--    per-statement capture of 0005 (one lane lock and one insert per bulk
--    statement).
--
-- 2. Columns added or marked later. enable_tracking() bakes the secret, json
--    and key columns into the triggers' arguments, and 0005 asked the operator
--    to run it again after adding a secret column: until then the new column
--    was captured in clear. An event trigger now re-runs enable_tracking() at
--    the end of every CREATE TABLE, ALTER TABLE or COMMENT that concerns a
--    tracked table (a new or renamed column, a new @secret comment, a new key,
--    a new partition), inside the same transaction, so the first row written
--    after the DDL is already redacted. It also puts back a capture trigger
--    that ALTER TABLE … DISABLE TRIGGER turned off: stopping capture takes a
--    superuser (session_replication_role, or disabling this event trigger).

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
  part regclass;
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
  if relkind = 'p' then
    -- Row-level: cloned onto every partition (also later ones), fired for a
    -- statement on the parent or on a partition.
    execute pg_catalog.format(
      'create trigger audit_capture after insert on %s for each row execute function audit.capture(%L, %L, %L)',
      target, key_columns, secret_columns, json_columns);
    execute pg_catalog.format(
      'create trigger audit_capture_update after update on %s for each row execute function audit.capture(%L, %L, %L)',
      target, key_columns, secret_columns, json_columns);
    execute pg_catalog.format(
      'create trigger audit_capture_delete after delete on %s for each row execute function audit.capture(%L, %L, %L)',
      target, key_columns, secret_columns, json_columns);
    -- TRUNCATE is per table: the parent and each partition (TRUNCATE of the
    -- parent fires them all; TRUNCATE of a partition fires its own).
    for part in select t.relid from pg_catalog.pg_partition_tree(target) t where t.relid <> target loop
      execute pg_catalog.format('drop trigger if exists audit_capture_truncate on %s', part);
      execute pg_catalog.format(
        'create trigger audit_capture_truncate after truncate on %s for each statement execute function audit.capture_statement(%L, %L, %L)',
        part, key_columns, secret_columns, json_columns);
    end loop;
  else
    execute pg_catalog.format(
      'create trigger audit_capture after insert on %s referencing new table as changed_rows for each statement execute function audit.capture_statement(%L, %L, %L%s)',
      target, key_columns, secret_columns, json_columns, fast);
    execute pg_catalog.format(
      'create trigger audit_capture_update after update on %s for each row execute function audit.capture(%L, %L, %L)',
      target, key_columns, secret_columns, json_columns);
    execute pg_catalog.format(
      'create trigger audit_capture_delete after delete on %s referencing old table as changed_rows for each statement execute function audit.capture_statement(%L, %L, %L%s)',
      target, key_columns, secret_columns, json_columns, fast);
  end if;
  execute pg_catalog.format(
    'create trigger audit_capture_truncate after truncate on %s for each statement execute function audit.capture_statement(%L, %L, %L)',
    target, key_columns, secret_columns, json_columns);
  return secret_columns;
end
$$;
comment on function audit.enable_tracking(regclass) is 'Capture INSERT/UPDATE/DELETE/TRUNCATE on a table (every partition of a partitioned one) into audit.log, secret columns redacted. Idempotent; re-run automatically after DDL on the table (event trigger audit_retrack).';
revoke all on function audit.enable_tracking(regclass) from public;

-- The tracked tables a DDL command concerns: the table itself when it is
-- tracked, and for a partition the tracked tables it is a partition of. A
-- table is tracked when it has its own audit_capture trigger calling a
-- capture function of this file (a partition's clone of its parent's has
-- tgparentid set; auth.audit_log_entries' own capture is left alone).
create or replace function audit.retrack_after_ddl()
  returns event_trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  t regclass;
  redacted text[];
begin
  for t in
    select distinct a.relid
      from pg_catalog.pg_event_trigger_ddl_commands() c
      join pg_catalog.pg_class r on r.oid = c.objid and r.relkind in ('r', 'p')
      -- pg_partition_ancestors() has no row for a table outside a partition tree.
      cross join lateral (select c.objid::pg_catalog.regclass
                          union select p.relid from pg_catalog.pg_partition_ancestors(c.objid) p) as a(relid)
     where c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       and exists (select from pg_catalog.pg_trigger g
                    where g.tgrelid = a.relid and g.tgname = 'audit_capture' and g.tgparentid = 0
                      and g.tgfoid in ('audit.capture'::pg_catalog.regproc, 'audit.capture_statement'::pg_catalog.regproc))
  loop
    redacted := audit.enable_tracking(t);
  end loop;
end
$$;
comment on function audit.retrack_after_ddl() is 'Event trigger: re-run audit.enable_tracking() on the tracked tables a CREATE TABLE / ALTER TABLE / COMMENT concerns (new secret or json columns, keys, partitions).';
revoke all on function audit.retrack_after_ddl() from public;

-- Only a superuser may create an event trigger. Where the migrating role is
-- not one (Supabase's postgres, RDS's master user), the migration still
-- applies, says so, and re-tracking after DDL stays a manual step:
-- select audit.enable_tracking('<table>') after changing a tracked table.
do $create$
begin
  drop event trigger if exists audit_retrack;
  create event trigger audit_retrack on ddl_command_end
    when tag in ('CREATE TABLE', 'ALTER TABLE', 'COMMENT')
    execute function audit.retrack_after_ddl();
exception when insufficient_privilege then
  raise notice 'audit_retrack not created: event triggers need a superuser. After DDL on a tracked table (a new column, a partition), run audit.enable_tracking() on it again.';
end
$create$;

-- Tables tracked under 0005: a partitioned one moves to row-level capture
-- (and gets its partitions' TRUNCATE triggers); every tracked table is
-- refreshed so columns added since its last enable_tracking() are classified.
do $retrack$
declare
  t regclass;
  redacted text[];
begin
  for t in select g.tgrelid from pg_catalog.pg_trigger g where g.tgname = 'audit_capture' and g.tgparentid = 0
             and g.tgfoid in ('audit.capture'::pg_catalog.regproc, 'audit.capture_statement'::pg_catalog.regproc) loop
    redacted := audit.enable_tracking(t);
  end loop;
end
$retrack$;
