-- The auth schema GoTrue expects, its helpers and what API roles can reach.
BEGIN;
SELECT plan(16);

SELECT has_table('auth'::name, 'users'::name);
SELECT col_is_pk('auth', 'users', 'id', 'auth.users keyed by id');
SELECT rls_enabled('auth.users');
SELECT rls_enabled('auth.sessions');
SELECT rls_enabled('auth.refresh_tokens');
SELECT table_privs_are('auth', 'users', 'anon', ARRAY[]::name[]);
SELECT table_privs_are('auth', 'users', 'authenticated', ARRAY[]::name[]);
SELECT table_privs_are('auth', 'refresh_tokens', 'service_role', ARRAY[]::name[]);
SELECT schema_privs_are('auth', 'anon', ARRAY['USAGE']);
SELECT function_privs_are('auth', 'uid', ARRAY[]::name[], 'anon', ARRAY['EXECUTE']);
SELECT isnt_definer('auth', 'uid', ARRAY[]::name[], 'auth.uid() runs as the caller');
SELECT is_definer('private', 'is_staff', ARRAY[]::name[], 'private.is_staff() is SECURITY DEFINER');

SELECT is(auth.uid(), NULL, 'no claims: auth.uid() is NULL (policies fail closed)');
SELECT set_config('request.jwt.claims', '{"sub": "not-a-uuid", "role": "authenticated"}', true) IS NOT NULL AS forged;
SELECT throws_ok('SELECT auth.uid()', '22P02', NULL, 'a non-uuid sub is an error, not a match');
SELECT set_config('request.jwt.claims', '{"sub": "2b6bd3a1-0a7e-4f73-9a55-0f5cb6a4c3d1", "role": "authenticated"}', true) IS NOT NULL AS claims;
SELECT is(auth.uid(), '2b6bd3a1-0a7e-4f73-9a55-0f5cb6a4c3d1'::uuid, 'auth.uid() reads sub from request.jwt.claims');
SELECT is(auth.role(), 'authenticated', 'auth.role() reads the role claim');
ROLLBACK;
