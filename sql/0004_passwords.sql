-- Password hashing in the database: a BEFORE INSERT OR UPDATE trigger turns a
-- plaintext password into a bcrypt hash before the row is stored, so plaintext
-- never reaches a table, the WAL, the audit log (AFTER triggers see the hash) or
-- an error message.

create extension if not exists pgcrypto with schema extensions;

-- CREATE EXTENSION IF NOT EXISTS does nothing when pgcrypto is already
-- installed in another schema, and the trigger below calls extensions.crypt().
do $check$
begin
  if (select n.nspname from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace
      where e.extname = 'pgcrypto') <> 'extensions' then
    raise exception 'pgcrypto is installed outside schema extensions'
      using errcode = 'object_not_in_prerequisite_state',
            hint = 'ALTER EXTENSION pgcrypto SET SCHEMA extensions';
  end if;
end
$check$;

-- The work factor. GoTrue hashes at cost 10 (Go's bcrypt.DefaultCost);
-- pgcrypto's gen_salt('bf') default of 6 is 16x cheaper to brute-force. The
-- lower bound is a CHECK, so the cost can only be raised (each +1 doubles the
-- time per hash: ~60 ms at 10, ~1 s at 14 on current hardware).
create table private.password_settings (
  singleton boolean primary key default true check (singleton),
  bcrypt_cost integer not null default 10 check (bcrypt_cost between 10 and 16)
);
comment on table private.password_settings is 'One row: the bcrypt cost used by private.hash_password() (10..16; raise with UPDATE).';
insert into private.password_settings default values;
alter table private.password_settings enable row level security;
revoke all on private.password_settings from public, anon, authenticated, service_role, staff;

-- Trigger function: hash the column named by the first trigger argument
-- (default encrypted_password). Rules, in order:
--   NULL                          kept (no password: OAuth, magic link, …)
--   unchanged on UPDATE           kept (GoTrue rewrites every column on update)
--   bcrypt hash $2a$/$2b$/$2y$    kept when its cost is >= 10 (GoTrue's own hashes,
--                                 imports); rejected below 10
--   ''                            rejected
--   more than 72 bytes            rejected: bcrypt ignores every byte after the
--                                 72nd, so two such passwords sharing a prefix
--                                 would be the same password
--   anything else                 replaced by crypt(value, gen_salt('bf', cost))
-- Errors name the table and column, never the value (nor its length).
-- SECURITY DEFINER so that a request role inserting a row can read
-- private.password_settings without any grant on schema private; search_path
-- is empty so every name below is resolved exactly as written.
create or replace function private.hash_password()
  returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  target_column text := coalesce(tg_argv[0], 'encrypted_password');
  candidate text := pg_catalog.to_jsonb(new) ->> target_column;
  cost integer;
  relation text := pg_catalog.format('%I.%I', tg_table_schema, tg_table_name);
begin
  if not (pg_catalog.to_jsonb(new) ? target_column) then
    raise exception 'private.hash_password(): %.% does not exist', relation, target_column
      using errcode = 'undefined_column';
  end if;
  if candidate is null then
    return new;
  end if;
  if tg_op = 'UPDATE' and candidate is not distinct from (pg_catalog.to_jsonb(old) ->> target_column) then
    return new;
  end if;

  if candidate ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$' then
    if pg_catalog.substr(candidate, 5, 2)::integer < 10 then
      raise exception '%.%: bcrypt hash with cost % rejected (minimum 10)', relation, target_column, pg_catalog.substr(candidate, 5, 2)
        using errcode = 'invalid_parameter_value',
              hint = 'rehash the password at cost 10 or more, or store the plaintext and let the trigger hash it';
    end if;
    return new;
  end if;

  if candidate = '' then
    raise exception '%.%: empty password rejected', relation, target_column
      using errcode = 'invalid_parameter_value',
            hint = 'store NULL for an account without a password';
  end if;
  if pg_catalog.octet_length(candidate) > 72 then
    raise exception '%.%: password longer than 72 bytes rejected (bcrypt ignores the bytes after the 72nd)', relation, target_column
      using errcode = 'invalid_parameter_value',
            hint = 'use at most 72 bytes (UTF-8): fewer characters when they are not ASCII';
  end if;

  select s.bcrypt_cost into cost from private.password_settings s where s.singleton;
  new := pg_catalog.jsonb_populate_record(new, pg_catalog.jsonb_build_object(
    target_column,
    extensions.crypt(candidate, extensions.gen_salt('bf', greatest(coalesce(cost, 10), 10)))
  ));
  return new;
end
$$;
comment on function private.hash_password() is 'BEFORE INSERT OR UPDATE trigger: bcrypt-hash the plaintext in column tg_argv[0] (default encrypted_password); see 0004_passwords.sql for the rules.';
revoke all on function private.hash_password() from public;

-- UPDATE OF: the trigger fires only when the statement sets the column.
create trigger hash_encrypted_password
  before insert or update of encrypted_password on auth.users
  for each row execute function private.hash_password('encrypted_password');
