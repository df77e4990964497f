-- The auth flows (sign-up, sign-in, refresh rotation, magic links): only
-- service_role may call them, secrets are stored hashed, failures say nothing.
BEGIN;
SELECT plan(18);

-- Who may call what ---------------------------------------------------------------
SELECT schema_privs_are('auth_flow', 'anon', ARRAY[]::name[]);
SELECT schema_privs_are('auth_flow', 'authenticated', ARRAY[]::name[]);
SELECT function_privs_are('auth_flow', 'sign_in', ARRAY['text', 'text'], 'anon', ARRAY[]::name[]);
SELECT function_privs_are('auth_flow', 'sign_in', ARRAY['text', 'text'], 'authenticated', ARRAY[]::name[]);
SELECT function_privs_are('auth_flow', 'sign_in', ARRAY['text', 'text'], 'service_role', ARRAY['EXECUTE']);
SELECT is_definer('auth_flow', 'sign_in', ARRAY['text', 'text'], 'sign_in runs as its owner (it reads auth.users)');

SELECT tests.authenticate_as_anon();
SELECT throws_ok($$SELECT auth_flow.sign_up('eve@example.test', 'long enough password')$$, '42501', NULL, 'anon cannot sign users up directly');
SELECT tests.clear_authentication();

-- Sign-up and sign-in, as the API server (service_role) -----------------------------
SELECT tests.authenticate_as_service_role();
SELECT isnt(auth_flow.sign_up('Dora@Example.test', 'correct horse battery', '{"name": "Dora"}'), NULL, 'sign_up returns the new user id');
SELECT throws_ok($$SELECT auth_flow.sign_up('dora@example.test', 'another password')$$, NULL, 'a taken email is refused, whatever its case');
SELECT throws_ok($$SELECT auth_flow.sign_up('zed@example.test', 'short')$$, '22023', 'sign-up: the password must be at least 8 characters', 'a short password is refused without echoing it');
SELECT isnt((auth_flow.sign_in('dora@example.test', 'correct horse battery')).session_id, NULL, 'the right password starts a session');
SELECT is((auth_flow.sign_in('dora@example.test', 'wrong password')).session_id, NULL, 'a wrong password gets NULL');
SELECT is((auth_flow.sign_in('nobody@example.test', 'correct horse battery')).session_id, NULL, 'an unknown email gets the same NULL');
SELECT tests.clear_authentication();

-- What is stored --------------------------------------------------------------------
SELECT matches((SELECT encrypted_password FROM auth.users WHERE email = 'dora@example.test'), '^\$2[aby]\$', 'the password is stored as a bcrypt hash');
SELECT is_empty($$SELECT 1 FROM auth.users WHERE encrypted_password LIKE '%correct horse%'$$, 'never in clear');

-- Refresh rotation ------------------------------------------------------------------
SELECT tests.authenticate_as_service_role();
SELECT set_config('t.rt', (auth_flow.sign_in('dora@example.test', 'correct horse battery')).refresh_token, true) IS NOT NULL AS signed_in;
SELECT isnt((auth_flow.refresh(current_setting('t.rt'))).refresh_token, current_setting('t.rt'), 'a refresh hands out a new token');
SELECT tests.clear_authentication();
SELECT is((SELECT revoked FROM auth.refresh_tokens WHERE token = auth_flow.hash_secret(current_setting('t.rt'))), true, 'the old refresh token is revoked');
SELECT is_empty($$SELECT 1 FROM auth.refresh_tokens WHERE token = current_setting('t.rt')$$, 'refresh tokens are stored hashed, never as issued');
ROLLBACK;
