-- Validate the CHECK 0027 added NOT VALID on auth.users.encrypted_password
-- (NULL, '' or a bcrypt hash), in a file of its own: VALIDATE CONSTRAINT scans
-- every row but takes only a SHARE UPDATE EXCLUSIVE lock, so writes go on,
-- while 0027's ADD CONSTRAINT held a lock that blocks them until its file
-- committed. Rows already stored that break it (a plaintext written while the
-- hashing trigger did not run) are not touched: validation then fails, the
-- constraint stays NOT VALID (new writes are checked all the same: an UPDATE
-- of any column of such a row is refused until its password is set again or
-- NULLed), and a NOTICE says how many rows to fix, never their values.
do $validate$
declare
  bad bigint;
begin
  alter table auth.users validate constraint users_encrypted_password_is_hashed;
exception when check_violation then
  select pg_catalog.count(*) into bad from auth.users x
   where not (x.encrypted_password = '' or x.encrypted_password ~ '^\$2[abxy]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$');
  raise notice '% row(s) of auth.users hold an encrypted_password that is not a bcrypt hash; users_encrypted_password_is_hashed left NOT VALID (new writes are checked)', bad
    using hint = 'set each to its plaintext (the trigger hashes it) or to NULL, then ALTER TABLE auth.users VALIDATE CONSTRAINT users_encrypted_password_is_hashed';
end
$validate$;
