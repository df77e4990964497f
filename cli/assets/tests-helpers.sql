-- rowguard's test helpers (`tests.*`), installed by `rowguard test` into the
-- throwaway database only. They impersonate API users exactly as PostgREST
-- does (conventions §2, §8): a transaction-local `role` and a
-- `request.jwt.claims` holding the claims GoTrue would sign for that user,
-- built like `rowguard jwt mint --user` (cli/core/jwt/claims.ts).
--
-- Settings the runner provides per session (with defaults):
--   rowguard.jwt_issuer (http://localhost:9999/auth/v1), rowguard.jwt_exp (3600),
--   rowguard.anon_role (anon), rowguard.authenticated_role (authenticated),
--   rowguard.service_role (service_role).
--
-- Security: the SECURITY DEFINER functions pin search_path to '' and qualify
-- every name, so a test's search_path cannot redirect them. They exist only in
-- a throwaway test database, where letting any role create users is the point.

-- A `tests` schema the schema under test already has (xUnit suites keep their
-- test functions there) is used as it is: its privileges are part of what the
-- suite checks (schema_privs_are), so only a schema created here is opened to
-- PUBLIC. The helpers then reach the roles that schema lets in.
DO $$
BEGIN
    IF pg_catalog.to_regnamespace('tests') IS NULL THEN
        CREATE SCHEMA tests;
        GRANT USAGE ON SCHEMA tests TO PUBLIC;
    END IF;
END;
$$;

-- Insert one row made of the keys of `payload` that are real, writable
-- columns of `tbl` (attgenerated = '' excludes generated columns such as
-- auth.users.confirmed_at), so the helpers fit GoTrue's own auth schema as
-- well as a smaller one. Internal: not executable by PUBLIC.
CREATE FUNCTION tests._insert_known_columns(tbl regclass, payload jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    cols text;
BEGIN
    SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
      INTO cols
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
       AND payload ? a.attname;
    EXECUTE pg_catalog.format('INSERT INTO %s (%s) SELECT %s FROM pg_catalog.jsonb_populate_record(NULL::%s, $1)', tbl, cols, cols, tbl)
      USING payload;
END;
$$;

-- A confirmed email user, as GoTrue's signup + confirmation leaves it:
-- aud/role "authenticated", app_metadata {"provider":"email","providers":["email"]},
-- the given user_metadata, and its "email" identity. Returns the user's id.
-- tests._create_user is that with a given id and phone (internal: not executable by PUBLIC).
CREATE FUNCTION tests._create_user(uid uuid, email text, phone text, metadata jsonb, app_metadata jsonb DEFAULT '{"provider": "email", "providers": ["email"]}') RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    ts      timestamptz := pg_catalog.now();
    grp     text := coalesce(nullif(pg_catalog.current_setting('rowguard.authenticated_role', true), ''), 'authenticated');
BEGIN
    IF pg_catalog.to_regclass('auth.users') IS NULL THEN
        RAISE EXCEPTION 'tests.create_user: there is no auth.users table'
              USING HINT = 'the schema under test must define auth.users (GoTrue''s users table)';
    END IF;
    PERFORM tests._insert_known_columns('auth.users', pg_catalog.jsonb_build_object(
        'instance_id', '00000000-0000-0000-0000-000000000000',
        'id', uid,
        'aud', 'authenticated',
        'role', grp,
        'email', email,
        'email_confirmed_at', ts,
        'phone', phone,
        'raw_app_meta_data', app_metadata,
        'raw_user_meta_data', coalesce(metadata, '{}'::jsonb),
        'is_sso_user', false,
        'is_anonymous', false,
        'created_at', ts,
        'updated_at', ts));
    IF pg_catalog.to_regclass('auth.identities') IS NOT NULL THEN
        PERFORM tests._insert_known_columns('auth.identities', pg_catalog.jsonb_build_object(
            'id', pg_catalog.gen_random_uuid(),
            'provider_id', uid::text,
            'user_id', uid,
            'provider', 'email',
            'identity_data', pg_catalog.jsonb_build_object('sub', uid::text, 'email', email, 'email_verified', true, 'phone_verified', false),
            'last_sign_in_at', ts,
            'created_at', ts,
            'updated_at', ts));
    END IF;
    RETURN uid;
END;
$$;

CREATE FUNCTION tests.create_user(email text, metadata jsonb DEFAULT '{}') RETURNS uuid
LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
    SELECT tests._create_user(pg_catalog.gen_random_uuid(), email, NULL, metadata);
$$;

-- The access-token claims GoTrue signs for this user now, in the shape of
-- cli/core/jwt/claims.ts buildAccessClaims: "" for a missing email/phone,
-- {} for missing metadata, a fresh session id, aal1 and one password amr.
CREATE FUNCTION tests.user_claims(user_email text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    u   record;
    iat bigint := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.now()))::bigint;
    grp text := coalesce(nullif(pg_catalog.current_setting('rowguard.authenticated_role', true), ''), 'authenticated');
BEGIN
    SELECT to_jsonb(x) AS j INTO u
      FROM auth.users x WHERE pg_catalog.lower(x.email) = pg_catalog.lower(user_email);
    IF NOT FOUND THEN
        -- A user made by tests.create_supabase_user, named by its test identifier.
        SELECT to_jsonb(x) AS j INTO u
          FROM auth.users x WHERE x.raw_user_meta_data ->> 'test_identifier' = user_email LIMIT 1;
    END IF;
    IF NOT FOUND AND pg_catalog.strpos(user_email, '@') = 0 THEN
        -- basejump's wording, which files written for its helpers expect (throws_ok).
        RAISE EXCEPTION 'User with identifier % not found', user_email;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tests.authenticate_as: no user with email %', user_email
              USING HINT = 'create it first: select tests.create_user(''' || user_email || ''')';
    END IF;
    RETURN pg_catalog.jsonb_build_object(
        'iss', coalesce(nullif(pg_catalog.current_setting('rowguard.jwt_issuer', true), ''), 'http://localhost:9999/auth/v1'),
        'sub', u.j ->> 'id',
        'aud', coalesce(nullif(u.j ->> 'aud', ''), 'authenticated'),
        'exp', iat + coalesce(nullif(pg_catalog.current_setting('rowguard.jwt_exp', true), ''), '3600')::bigint,
        'iat', iat,
        'email', coalesce(u.j ->> 'email', ''),
        'phone', coalesce(u.j ->> 'phone', ''),
        'app_metadata', coalesce(nullif(u.j -> 'raw_app_meta_data', 'null'::jsonb), '{}'::jsonb),
        'user_metadata', coalesce(nullif(u.j -> 'raw_user_meta_data', 'null'::jsonb), '{}'::jsonb),
        'role', coalesce(nullif(u.j ->> 'role', ''), grp),
        'aal', 'aal1',
        'amr', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('method', 'password', 'timestamp', iat)),
        'session_id', pg_catalog.gen_random_uuid(),
        'is_anonymous', coalesce((u.j ->> 'is_anonymous')::boolean, false));
END;
$$;

-- The role switch itself must happen in a SECURITY INVOKER function:
-- Postgres refuses to set "role" inside a SECURITY DEFINER one. is_local =
-- true keeps both settings inside the current transaction.
CREATE FUNCTION tests._impersonate(role_name text, claims jsonb) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_catalog.set_config('role', role_name, true),
           pg_catalog.set_config('request.jwt.claims', claims::text, true);
$$;

-- The parameter is named as basejump names it (identifier: an email here, or
-- a test identifier): suites that load their own copy of basejump's helpers
-- (CREATE OR REPLACE FUNCTION tests.authenticate_as(identifier text)) replace
-- this one instead of failing with "cannot change name of input parameter".
CREATE FUNCTION tests.authenticate_as(identifier text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    claims jsonb := tests.user_claims(identifier);
BEGIN
    PERFORM tests._impersonate(claims ->> 'role', claims);
END;
$$;

CREATE FUNCTION tests.authenticate_as_anon() RETURNS void
LANGUAGE sql AS $$
    SELECT tests._impersonate(r, pg_catalog.jsonb_build_object('role', r))
      FROM coalesce(nullif(pg_catalog.current_setting('rowguard.anon_role', true), ''), 'anon') r;
$$;

CREATE FUNCTION tests.authenticate_as_service_role() RETURNS void
LANGUAGE sql AS $$
    SELECT tests._impersonate(r, pg_catalog.jsonb_build_object('role', r))
      FROM coalesce(nullif(pg_catalog.current_setting('rowguard.service_role', true), ''), 'service_role') r;
$$;

-- Back to the session user with no claims: set_config('role', 'none') is SET
-- ROLE NONE, and an empty request.jwt.claims makes auth.uid() NULL (conventions §5).
-- A file written for basejump's helpers (below) expects anon instead, as
-- basejump's clear_authentication sets it: such a file is recognised by its
-- use of them (tests.basejump, set for the transaction by
-- tests.create_supabase_user and by the runner on CREATE EXTENSION
-- supabase_test_helpers).
CREATE FUNCTION tests.clear_authentication() RETURNS void
LANGUAGE sql AS $$
    SELECT pg_catalog.set_config('role',
               CASE WHEN pg_catalog.current_setting('tests.basejump', true) = 'on'
                    THEN coalesce(nullif(pg_catalog.current_setting('rowguard.anon_role', true), ''), 'anon')
                    ELSE 'none' END, true),
           pg_catalog.set_config('request.jwt.claims', '', true);
$$;

-- basejump's supabase_test_helpers (usebasejump/supabase-test-helpers 0.0.7),
-- which many Supabase suites call, with its names, arguments, results and
-- messages: users named by a test identifier kept in
-- raw_user_meta_data.test_identifier (tests.authenticate_as takes that name as
-- well as an email), RLS checks that print pgTAP lines, and a frozen now().
-- The users are the GoTrue-shaped rows tests.create_user makes, with basejump's empty raw_app_meta_data.
CREATE FUNCTION tests.create_supabase_user(identifier text, email text DEFAULT NULL, phone text DEFAULT NULL, metadata jsonb DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    uid uuid := pg_catalog.gen_random_uuid();
BEGIN
    PERFORM pg_catalog.set_config('tests.basejump', 'on', true);
    -- raw_app_meta_data is {} as basejump writes it (its own tests check that), where GoTrue would write the provider.
    RETURN tests._create_user(uid, coalesce(email, uid::text || '@test.com'), phone,
        pg_catalog.jsonb_build_object('test_identifier', identifier) || coalesce(metadata, '{}'::jsonb), '{}'::jsonb);
END;
$$;

CREATE FUNCTION tests.get_supabase_user(identifier text) RETURNS json
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    found json;
BEGIN
    SELECT pg_catalog.json_build_object('id', u.id, 'email', u.email, 'phone', u.phone,
               'raw_user_meta_data', u.raw_user_meta_data, 'raw_app_meta_data', u.raw_app_meta_data)
      INTO found
      FROM auth.users u WHERE u.raw_user_meta_data ->> 'test_identifier' = identifier LIMIT 1;
    IF found IS NULL THEN
        RAISE EXCEPTION 'User with identifier % not found', identifier;
    END IF;
    RETURN found;
END;
$$;

CREATE FUNCTION tests.get_supabase_uid(identifier text) RETURNS uuid
LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
    SELECT (tests.get_supabase_user(identifier) ->> 'id')::uuid;
$$;

-- Counts as basejump counts: relations with a row type (pg_type), so views
-- and composite types are included; the descriptions keep its spacing.
-- PL/pgSQL, whose body is not resolved at CREATE time: this file is also
-- loaded without the assertion library (test/as).
CREATE FUNCTION tests.rls_enabled(testing_schema text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN rowguard_tap.is(
        (SELECT count(*)::integer FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = testing_schema
           JOIN pg_catalog.pg_type t ON t.oid = c.reltype
          WHERE NOT c.relrowsecurity),
        0,
        'All tables in the' || testing_schema || ' schema should have row level security enabled');
END;
$$;

CREATE FUNCTION tests.rls_enabled(testing_schema text, testing_table text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN rowguard_tap.is(
        (SELECT count(*)::integer FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = testing_schema AND c.relname = testing_table
           JOIN pg_catalog.pg_type t ON t.oid = c.reltype
          WHERE c.relrowsecurity),
        1,
        testing_table || 'table in the' || testing_schema || ' schema should have row level security enabled');
END;
$$;

-- A frozen clock: test_overrides.now() is put ahead of pg_catalog on the
-- search_path, so an unqualified now() reads tests.frozen_time (functions
-- that pin their own search_path keep the real clock, as with basejump).
CREATE SCHEMA IF NOT EXISTS test_overrides;
GRANT USAGE ON SCHEMA test_overrides TO PUBLIC;
CREATE FUNCTION test_overrides.now() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('tests.frozen_time', true), '')::timestamptz, pg_catalog.now());
$$;
GRANT EXECUTE ON FUNCTION test_overrides.now() TO PUBLIC;

CREATE FUNCTION tests.freeze_time(frozen_time timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_catalog.current_setting('search_path') NOT LIKE 'test_overrides,%' THEN
        PERFORM pg_catalog.set_config('tests.original_search_path', pg_catalog.current_setting('search_path'), true);
        PERFORM pg_catalog.set_config('search_path', 'test_overrides,' || pg_catalog.current_setting('search_path') || ',pg_catalog', true);
    END IF;
    PERFORM pg_catalog.set_config('tests.frozen_time', frozen_time::text, true);
END;
$$;

CREATE FUNCTION tests.unfreeze_time() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('tests.frozen_time', NULL, true);
    PERFORM pg_catalog.set_config('search_path', pg_catalog.current_setting('tests.original_search_path'), true);
END;
$$;

-- Explicit grants: the schema under test may have revoked EXECUTE from PUBLIC
-- by default (ALTER DEFAULT PRIVILEGES), and API roles must reach these. Named
-- one by one, not ALL FUNCTIONS IN SCHEMA tests: that would also grant the
-- functions of a `tests` schema the schema under test has (see the top).
GRANT EXECUTE ON FUNCTION
    tests.create_user(text, jsonb), tests.user_claims(text), tests._impersonate(text, jsonb),
    tests.authenticate_as(text), tests.authenticate_as_anon(), tests.authenticate_as_service_role(),
    tests.clear_authentication(), tests.create_supabase_user(text, text, text, jsonb),
    tests.get_supabase_user(text), tests.get_supabase_uid(text), tests.rls_enabled(text),
    tests.rls_enabled(text, text), tests.freeze_time(timestamptz), tests.unfreeze_time()
    TO PUBLIC;
REVOKE ALL ON FUNCTION tests._insert_known_columns(regclass, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION tests._create_user(uuid, text, text, jsonb, jsonb) FROM PUBLIC;
