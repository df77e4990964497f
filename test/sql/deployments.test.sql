-- public.deployments: users see and change only their own rows, staff read
-- all of them, anon gets nothing, service_role bypasses RLS.
BEGIN;
SELECT plan(25);

-- Shape of the security model -------------------------------------------------
SELECT rls_enabled('public.deployments');
SELECT rls_forced('public.deployments');
SELECT policies_are('public', 'deployments', ARRAY[
    'user_read_own_deployments', 'user_insert_own_deployments', 'user_update_own_deployments',
    'user_delete_own_deployments', 'staff_read_all_deployments']);
SELECT policy_roles_are('public', 'deployments', 'staff_read_all_deployments', ARRAY['staff']);
SELECT policy_roles_are('public', 'deployments', 'user_read_own_deployments', ARRAY['authenticated']);
SELECT policy_cmd_is('public'::name, 'deployments'::name, 'staff_read_all_deployments'::name, 'select');
SELECT policy_using_is('public.deployments', 'user_read_own_deployments', '(select auth.uid()) = user_id');
SELECT policy_check_is('public.deployments', 'user_update_own_deployments', '( SELECT auth.uid() AS uid) = user_id');
SELECT policy_using_is('public.deployments', 'staff_read_all_deployments', '(select private.is_staff())', 'staff policy calls is_staff as a sub-select (an initPlan, once per statement)');
SELECT table_privs_are('public', 'deployments', 'anon', ARRAY[]::name[]);
SELECT table_privs_are('public', 'deployments', 'authenticated', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

-- Seed, as the owner ------------------------------------------------------------
SELECT set_config('t.ann', tests.create_user('ann@example.test')::text, true) IS NOT NULL AS seeded;
SELECT set_config('t.bob', tests.create_user('bob@example.test')::text, true) IS NOT NULL AS seeded;
SELECT set_config('t.sam', tests.create_user('sam@helpers.test')::text, true) IS NOT NULL AS seeded;
UPDATE auth.users SET role = 'staff' WHERE email = 'sam@helpers.test';
INSERT INTO private.staff_members (user_id) VALUES (current_setting('t.sam')::uuid);
INSERT INTO public.deployments (user_id, name) VALUES
    (current_setting('t.ann')::uuid, 'ann-1'), (current_setting('t.ann')::uuid, 'ann-2'),
    (current_setting('t.bob')::uuid, 'bob-1');

-- Ann ---------------------------------------------------------------------------
SELECT tests.authenticate_as('ann@example.test');
SELECT results_eq('SELECT name FROM public.deployments ORDER BY name', ARRAY['ann-1', 'ann-2'], 'ann sees only her deployments');
SELECT lives_ok($$INSERT INTO public.deployments (user_id, name) VALUES (auth.uid(), 'ann-3')$$, 'ann creates her own deployment');
SELECT throws_ok(
    format($$INSERT INTO public.deployments (user_id, name) VALUES (%L, 'planted')$$, current_setting('t.bob')),
    '42501', 'new row violates row-level security policy for table "deployments"',
    'ann cannot create a deployment for bob');
SELECT throws_ok(
    format($$UPDATE public.deployments SET user_id = %L WHERE name = 'ann-1'$$, current_setting('t.bob')),
    '42501', NULL, 'ann cannot hand a deployment to bob');
SELECT is_empty($$UPDATE public.deployments SET name = 'hijacked' WHERE name = 'bob-1' RETURNING id$$, 'ann cannot update bob''s deployment (filtered, no error)');
SELECT is_empty($$DELETE FROM public.deployments WHERE name = 'bob-1' RETURNING id$$, 'ann cannot delete bob''s deployment');
SELECT results_eq($$DELETE FROM public.deployments WHERE name = 'ann-3' RETURNING name$$, ARRAY['ann-3'], 'ann deletes her own');

-- Anon --------------------------------------------------------------------------
SELECT tests.authenticate_as_anon();
SELECT throws_ok('SELECT * FROM public.deployments', '42501', 'permission denied for table deployments', 'anon has no grant at all');

-- Staff ---------------------------------------------------------------------------
SELECT tests.authenticate_as('sam@helpers.test');
SELECT is(current_user::text, 'staff', 'a staff user''s token selects the staff role');
SELECT results_eq('SELECT name FROM public.deployments ORDER BY name', ARRAY['ann-1', 'ann-2', 'bob-1'], 'staff read every deployment');
SELECT is_empty($$UPDATE public.deployments SET name = 'x' WHERE name = 'bob-1' RETURNING id$$, 'staff cannot change other users'' deployments');
SELECT tests.clear_authentication();
DELETE FROM private.staff_members WHERE user_id = current_setting('t.sam')::uuid;
SELECT tests.authenticate_as('sam@helpers.test');
SELECT is_empty('SELECT * FROM public.deployments', 'removed from staff_members: sees nothing, at once, with the same token');

-- A user whose role claim says staff without being listed -------------------------
SELECT tests.clear_authentication();
UPDATE auth.users SET role = 'staff' WHERE email = 'bob@example.test';
SELECT tests.authenticate_as('bob@example.test');
SELECT results_eq('SELECT name FROM public.deployments', ARRAY['bob-1'], 'role staff alone is not enough: bob still sees only his own');

-- service_role --------------------------------------------------------------------
SELECT tests.authenticate_as_service_role();
SELECT is((SELECT count(*)::int FROM public.deployments), 3, 'service_role bypasses RLS');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
