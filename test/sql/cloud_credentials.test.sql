-- public.cloud_credentials: the password is stored as a bcrypt hash that no
-- API user can read back; rows are private to their owner.
BEGIN;
SELECT plan(13);

SELECT rls_enabled('public.cloud_credentials');
SELECT rls_forced('public.cloud_credentials');
SELECT has_column('public', 'cloud_credentials', 'encrypted_password', 'the hash column exists');
SELECT table_privs_are('public', 'cloud_credentials', 'anon', ARRAY[]::name[]);

SELECT set_config('t.ann', tests.create_user('ann@example.test')::text, true) IS NOT NULL AS seeded;
SELECT set_config('t.bob', tests.create_user('bob@example.test')::text, true) IS NOT NULL AS seeded;
INSERT INTO public.cloud_credentials (user_id, encrypted_password) VALUES (current_setting('t.bob')::uuid, 'bobs secret');

SELECT tests.authenticate_as('ann@example.test');
SELECT lives_ok($$INSERT INTO public.cloud_credentials (user_id, encrypted_password) VALUES (auth.uid(), 'correct horse battery staple')$$, 'ann stores a credential');
SELECT results_eq('SELECT count(*)::int FROM public.cloud_credentials', ARRAY[1], 'ann sees only her own credential');
SELECT throws_ok('SELECT encrypted_password FROM public.cloud_credentials', '42501', 'permission denied for table cloud_credentials', 'ann cannot read the hash back');
SELECT lives_ok('SELECT id, user_id, created_at FROM public.cloud_credentials', 'ann reads the other columns');
SELECT throws_ok($$INSERT INTO public.cloud_credentials (user_id, encrypted_password) VALUES (auth.uid(), '')$$, '22023', NULL, 'an empty password is rejected');
SELECT throws_ok(format($$INSERT INTO public.cloud_credentials (user_id, encrypted_password) VALUES (auth.uid(), %L)$$, repeat('x', 73)), '22023', NULL, 'a password longer than 72 bytes is rejected');
SELECT tests.clear_authentication();

SELECT matches((SELECT encrypted_password FROM public.cloud_credentials WHERE user_id = current_setting('t.ann')::uuid), '^\$2[aby]\$1[0-9]\$', 'stored as a bcrypt hash with cost >= 10');
SELECT ok((SELECT encrypted_password = extensions.crypt('correct horse battery staple', encrypted_password) FROM public.cloud_credentials WHERE user_id = current_setting('t.ann')::uuid), 'the hash verifies the password');
SELECT is((SELECT count(*)::int FROM audit.log WHERE table_name = 'cloud_credentials' AND new_row ->> 'encrypted_password' <> '[redacted]'), 0, 'the audit log never holds the hash');
ROLLBACK;
