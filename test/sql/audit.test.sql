-- audit.log is append-only and written only through audit.append_rows().
BEGIN;
SELECT plan(7);

SELECT set_config('t.ann', tests.create_user('ann@example.test')::text, true) IS NOT NULL AS seeded;
SELECT set_config('t.before', (SELECT count(*) FROM audit.log)::text, true) IS NOT NULL AS counted;

SELECT tests.authenticate_as('ann@example.test');
INSERT INTO public.deployments (user_id, name) VALUES (auth.uid(), 'audited');
SELECT throws_ok('SELECT * FROM audit.log', '42501', NULL, 'API users cannot read the audit log');
SELECT tests.clear_authentication();

SELECT is((SELECT count(*)::int FROM audit.log) - current_setting('t.before')::int, 1, 'the insert was logged once');
SELECT row_eq(
    $$SELECT actor_id, operation, schema_name, table_name FROM audit.log ORDER BY id DESC LIMIT 1$$,
    ROW(current_setting('t.ann')::uuid, 'INSERT'::text, 'public'::text, 'deployments'::text),
    'the entry names the actor from the JWT, the operation and the table');
SELECT throws_ok('UPDATE audit.log SET operation = ''DELETE''', '42501', NULL, 'even the owner cannot rewrite history');
SELECT throws_ok('DELETE FROM audit.log', '42501', NULL, 'nor delete it');
SELECT throws_ok('TRUNCATE audit.log', '42501', NULL, 'nor truncate it');
SELECT throws_ok($$INSERT INTO audit.log (lane, seq, at, txid, db_role, operation, hash) VALUES (1, 1000000, now(), pg_current_xact_id(), 'x', 'EVENT', repeat('0', 64))$$, '42501', NULL, 'rows come only from audit.append_rows()');
ROLLBACK;
