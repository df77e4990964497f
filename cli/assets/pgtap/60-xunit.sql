-- Part 7: xUnit-style test functions: runtests(), do_tap(), findfuncs(),
-- diag_test_name(), as in pgTAP 1.2.
--
-- A file defines functions that return SETOF text (the TAP lines of their
-- assertions) and calls `SELECT * FROM runtests('myschema'::name);`. Every
-- line comes back as one row, which the runner prints as psql does.
--
-- runtests() finds, by name, in C collation order:
--   startup*   run once, first; their tests are file-level tests;
--   setup*     run before every test function, inside its subtest;
--   test*      (or the given pattern) one subtest each;
--   teardown*  run after every test function, inside its subtest;
--   shutdown*  run once, last; their tests are file-level tests.
-- Each test function, with its setup and teardown, runs in a
-- subtransaction that is always rolled back, so the next one finds the
-- data as startup left it. Its lines are printed indented by four spaces
-- under "# Subtest: schema.function()", numbered from 1 and closed by their
-- own plan line; then one file-level test, named after the function, says
-- whether the subtest passed. runtests() makes its own plan (none before
-- it) and prints it last.
--
-- As in pgTAP 1.2, only RAISE EXCEPTION (SQLSTATE P0001) in a setup, test
-- or teardown function becomes "Test died" and a failed subtest; any other
-- error, an error in a startup or shutdown function, or a test function
-- that cannot be called without arguments ends the whole statement. After
-- runtests() the run's state is gone (pgTAP drops its temp tables): a later
-- plan() starts afresh, and finish() fails as in pgTAP, though with
-- "# No tests run!" where pgTAP says that relation __tcache__ does not exist.
--
-- The rollback undoes what pgTAP keeps in its __tcache__ table and we keep
-- in settings (the plan, the last test number, the failure count, the todo
-- stack: all transactional), but not the numbering, a sequence in both;
-- _runner restores the file-level numbering, last number and failure count
-- itself after each subtest.
--
-- The two functions that run the others keep pgTAP's internal names,
-- _runner and _runem, and the statements that call other functions sit on
-- pgTAP's line numbers: a "Test died" diagnostic, and lives_ok's inside a
-- test function, print the whole call stack (PG_EXCEPTION_CONTEXT), e.g.
-- "PL/pgSQL function _runner(text[],text[],text[],text[],text[]) line 62
-- at FOR over EXECUTE statement", and must read the same under both.

-- The schema-qualified, quoted names of the functions in a schema whose
-- names match a pattern and not an exclusion (NULL: none), once per name
-- (overloads are one function to call), in C collation order.
CREATE FUNCTION findfuncs(name, text, text) RETURNS text[]
LANGUAGE sql AS $$
    SELECT ARRAY(
        SELECT DISTINCT format('%I.%I', n.nspname, p.proname) COLLATE "C" AS fn
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = $1
           AND p.proname ~ $2
           AND ($3 IS NULL OR p.proname !~ $3)
         ORDER BY fn)
$$;

CREATE FUNCTION findfuncs(name, text) RETURNS text[]
LANGUAGE sql AS $$ SELECT findfuncs($1, $2, NULL) $$;

-- Without a schema: every function the search_path makes visible.
CREATE FUNCTION findfuncs(text, text) RETURNS text[]
LANGUAGE sql AS $$
    SELECT ARRAY(
        SELECT DISTINCT format('%I.%I', n.nspname, p.proname) COLLATE "C" AS fn
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE pg_catalog.pg_function_is_visible(p.oid)
           AND p.proname ~ $1
           AND ($2 IS NULL OR p.proname !~ $2)
         ORDER BY fn)
$$;

CREATE FUNCTION findfuncs(text) RETURNS text[]
LANGUAGE sql AS $$ SELECT findfuncs($1, NULL) $$;

-- The comment line that names a test function: "# schema.function()".
CREATE FUNCTION diag_test_name(text) RETURNS text
LANGUAGE sql AS $$ SELECT diag($1 || '()') $$;

-- Calls each function (no arguments) and returns its rows, preceded by its
-- name as a comment when asked. Nothing is caught: an error in one ends the
-- statement. The FOR over EXECUTE is line 11 of this body, as in pgTAP.
CREATE FUNCTION _runem(text[], boolean) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    fn   text;
    line text;
BEGIN
    -- A PL/pgSQL function hands over all its rows when it returns: if it
    -- raises, none of them is printed (nor any of this function's).
    FOREACH fn IN ARRAY coalesce($1, '{}') LOOP
        IF $2 THEN RETURN NEXT diag_test_name(fn); END IF;
        -- EXECUTE, because the function's name is only known now.
        FOR line IN EXECUTE 'SELECT * FROM ' || fn || '()' LOOP
            RETURN NEXT line;
        END LOOP;
    END LOOP;
    RETURN;
END;
$$;

-- do_tap() names each function it runs ("# schema.function()") unless the
-- client only wants warnings and worse, as pgTAP does.
CREATE FUNCTION _tap_xunit_verbose() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT current_setting('client_min_messages') NOT IN ('warning', 'error', 'fatal', 'panic')
$$;

-- do_tap(): run test functions inside the file's own plan, without
-- subtests, subtransactions or setup/teardown; their tests are the file's.
CREATE FUNCTION do_tap(name, text) RETURNS SETOF text
LANGUAGE sql AS $$ SELECT * FROM _runem(findfuncs($1, $2), _tap_xunit_verbose()) $$;

CREATE FUNCTION do_tap(name) RETURNS SETOF text
LANGUAGE sql AS $$ SELECT * FROM _runem(findfuncs($1, '^test'), _tap_xunit_verbose()) $$;

CREATE FUNCTION do_tap(text) RETURNS SETOF text
LANGUAGE sql AS $$ SELECT * FROM _runem(findfuncs($1), _tap_xunit_verbose()) $$;

CREATE FUNCTION do_tap() RETURNS SETOF text
LANGUAGE sql AS $$ SELECT * FROM _runem(findfuncs('^test'), _tap_xunit_verbose()) $$;

-- The next test number will be n: the numbering sequence (00-core.sql).
CREATE FUNCTION _tap_xunit_number_from(n integer) RETURNS void
LANGUAGE sql AS $$ SELECT setval('pg_temp.__tresults___numb_seq'::text, n, false) $$;

-- The end of a runtests() run, as pgTAP's _cleanup() (which drops its
-- temp tables): no plan any more, so the file may plan again, and
-- finish() has nothing to report.
CREATE FUNCTION _tap_xunit_forget() RETURNS void
LANGUAGE sql AS $$
    SELECT set_config('rowguard_tap.plan', '', false), set_config('rowguard_tap.failed', '', false),
           set_config('rowguard_tap.curr', '', false), set_config('rowguard_tap.todo', '', false);
$$;

-- runtests(): the statements that run other functions must stay on the
-- lines pgTAP has them on (see above): 18 (startup), 22 (a startup error
-- raised again), 57 (setup), 62 (the test function), 67 (teardown) and
-- 133 (shutdown). The xunit compat fixtures show all but 22 in TAP lines.
CREATE FUNCTION _runner(startups text[], shutdowns text[], setups text[], teardowns text[], tests text[])
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    line        text;
    file_number integer := 0;  -- the last file-level test number before a subtest
    file_failed integer := 0;  -- file-level failures so far
    sub_ran     integer := 0;  -- tests the subtest ran
    sub_failed  integer := 0;  -- of which failed
    sub_ok      boolean;       -- the verdict of the subtest's file-level test
    died        boolean := false;
    e_state text; e_message text; e_detail text; e_hint text; e_context text;
    e_schema text; e_table text; e_column text; e_constraint text; e_type text;
BEGIN
    -- Startup functions, after runtests()'s own plan (no_plan(): the plan
    -- line comes last). What they do stays for every test function and
    -- the shutdown functions; their tests are file-level tests.
    BEGIN
        PERFORM * FROM no_plan();
        FOR line IN SELECT * FROM _runem(startups, false) LOOP RETURN NEXT line; END LOOP;
    EXCEPTION
        -- A RAISE EXCEPTION in a startup function (or a plan made before
        -- runtests()) ends the statement with its message only.
        WHEN raise_exception THEN RAISE EXCEPTION '%', SQLERRM;
    END;

    -- Startup failures count among the file's.
    file_failed := num_failed();

    FOR i IN 1 .. coalesce(array_upper(tests, 1), 0) LOOP
        RETURN NEXT '    ' || diag_test_name('Subtest: ' || tests[i]);

        -- The subtest numbers its tests from 1 and counts its own failures.
        -- (Before any file-level test there is nothing to put aside.)
        sub_ok := true;
        file_number := coalesce(_tap_get('curr'), 0);
        IF file_number > 0 THEN
            PERFORM _tap_reset_numbers();
            PERFORM _tap_put('curr', 0);
            PERFORM _tap_put('failed', 0);
        END IF;

        -- Two blocks: the inner one turns a RAISE EXCEPTION (SQLSTATE P0001
        -- only, as in pgTAP 1.2: any other error ends the whole statement)
        -- into "Test died"; the outer one always ends with an exception,
        -- which rolls back everything the setup, test and teardown
        -- functions did. The rows already returned are kept: they are in
        -- this function's result, not in the database.
        --
        -- What the rollback takes: the functions' data changes, and the
        -- settings they changed, ours included: the subtest's last test
        -- number and failures (read before the end of the inner block),
        -- any todo() or todo_start() opened inside the subtest, and a
        -- plan() the test function tried (which fails: runtests() planned).
        -- What stays: the rows returned so far, the variables of this
        -- function, and the numbering sequence (set back below).
        BEGIN
            BEGIN
                FOR line IN SELECT * FROM _runem(setups, false) LOOP
                    RETURN NEXT regexp_replace(line, '^', '    ', 'gn');
                END LOOP;

                -- The test function itself.
                FOR line IN EXECUTE 'SELECT * FROM ' || tests[i] || '()' LOOP
                    RETURN NEXT regexp_replace(line, '^', '    ', 'gn');
                END LOOP;

                -- Teardown runs only when setup and the test did not die.
                FOR line IN SELECT * FROM _runem(teardowns, false) LOOP
                    RETURN NEXT regexp_replace(line, '^', '    ', 'gn');
                END LOOP;

                sub_ran := coalesce(_tap_get('curr'), 0);
                RETURN NEXT '    1..' || sub_ran;
                IF sub_ran = 0 THEN
                    sub_ok := false;
                    RETURN NEXT '    # No tests run!';
                ELSE
                    sub_failed := num_failed();
                    IF sub_failed > 0 THEN
                        sub_ok := false;
                        -- pgTAP 1.2 picks the plural by the file-level
                        -- failure count, not this one ("failed 1 tests of
                        -- 3" before any file-level failure): kept, so the
                        -- line is the same.
                        RETURN NEXT '    ' || diag('Looks like you failed ' || sub_failed || ' test'
                            || CASE file_failed WHEN 1 THEN '' ELSE 's' END || ' of ' || sub_ran);
                    END IF;
                END IF;
            EXCEPTION WHEN raise_exception THEN
                died := true;
                GET STACKED DIAGNOSTICS
                    e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                    e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT,
                    e_context = PG_EXCEPTION_CONTEXT, e_schema = SCHEMA_NAME,
                    e_table = TABLE_NAME, e_column = COLUMN_NAME,
                    e_constraint = CONSTRAINT_NAME, e_type = PG_DATATYPE_NAME;
            END;
            RAISE EXCEPTION 'rowguard_tap: roll back the subtest';
        EXCEPTION WHEN raise_exception THEN
            -- The diagnostics were read inside; the variables survive the
            -- rollback, the subtest's plan line was never reached.
            IF died THEN
                sub_ok := false;
                died := false;
                RETURN NEXT regexp_replace(diag('Test died: ' || _tap_error_diag(
                    e_state, e_message, e_detail, e_hint, e_context,
                    e_schema, e_table, e_column, e_constraint, e_type)), '^', '    ', 'gn');
            END IF;
        END;

        -- Back to the file level: its numbering, its last test number and its
        -- failures (the rollback took the subtest's away, and the numbering is
        -- a sequence, which no rollback restores).
        PERFORM _tap_xunit_number_from(file_number + 1);
        PERFORM _tap_put('curr', file_number);
        PERFORM _tap_put('failed', file_failed);

        -- The subtest's verdict is one file-level test, named after the
        -- function. Its failure is counted here, even under a todo() that a
        -- startup function left open: pgTAP counts it too.
        RETURN NEXT ok(sub_ok, tests[i]);
        IF NOT sub_ok THEN
            file_failed := file_failed + 1;
        END IF;
    END LOOP;

    -- Shutdown functions run once, after the last subtest, on the data as
    -- startup left it. Their tests are file-level tests, numbered after the
    -- subtests' ones; pgTAP leaves their failures out of the count below,
    -- and so do we (file_failed was last updated by the loop). Then the
    -- plan (startup tests, one per test function, shutdown tests) and
    -- pgTAP finish()'s closing line about failures (there is no plan that
    -- could disagree with the count: runtests() made none).
    FOR line IN SELECT * FROM _runem(shutdowns, false) LOOP RETURN NEXT line; END LOOP;

    sub_ran := coalesce(_tap_get('curr'), 0);
    RETURN NEXT '1..' || sub_ran;
    IF file_failed > 0 THEN
        RETURN NEXT diag('Looks like you failed ' || file_failed || ' test'
            || CASE file_failed WHEN 1 THEN '' ELSE 's' END || ' of ' || sub_ran);
    END IF;
    PERFORM _tap_xunit_forget();
    RETURN;
END;
$$;

-- runtests(schema, pattern): startup, setup, teardown and shutdown functions
-- of the schema, and its functions matching the pattern (those four
-- prefixes excepted) as test functions.
CREATE FUNCTION runtests(name, text) RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT * FROM _runner(
        findfuncs($1, '^startup'), findfuncs($1, '^shutdown'),
        findfuncs($1, '^setup'), findfuncs($1, '^teardown'),
        findfuncs($1, $2, '^(startup|shutdown|setup|teardown)'))
$$;

CREATE FUNCTION runtests(name) RETURNS SETOF text
LANGUAGE sql AS $$ SELECT * FROM runtests($1, '^test') $$;

-- runtests(pattern): the same over every function the search_path makes visible.
CREATE FUNCTION runtests(text) RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT * FROM _runner(
        findfuncs('^startup'), findfuncs('^shutdown'),
        findfuncs('^setup'), findfuncs('^teardown'),
        findfuncs($1, '^(startup|shutdown|setup|teardown)'))
$$;

CREATE FUNCTION runtests() RETURNS SETOF text
LANGUAGE sql AS $$ SELECT * FROM runtests('^test') $$;
