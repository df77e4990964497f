-- Part 8: the rest of pgTAP 1.2's public functions: version information,
-- can, isa_ok, set_has/bag_has and their negations, throws_ilike,
-- collect_tap, performs_ok/performs_within, and the self-test helpers
-- check_test, add_result and display_oper. Same overloads, default
-- descriptions and diagnostics as pgTAP 1.2. This file is installed last, so
-- its SQL functions may call every helper of the files before it.

-- ---------------------------------------------------------------------------
-- Versions and platform
-- ---------------------------------------------------------------------------

-- The server's, read from its settings (IMMUTABLE as in pgTAP).
CREATE FUNCTION pg_version() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT current_setting('server_version') $$;
CREATE FUNCTION pg_version_num() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT current_setting('server_version_num')::integer $$;

-- The version of pgTAP this library stands in for: suites compare it with
-- what they need (e.g. `pgtap_version() >= 1.0`).
CREATE FUNCTION pgtap_version() RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT 1.2 $$;

-- pgTAP bakes in the lower-cased `uname -s` of the machine it was built on,
-- which is the server's. We read the server's OS from the build triple in
-- version() ("… on x86_64-pc-linux-gnu, …", "… on aarch64-apple-darwin23.1.0, …").
CREATE FUNCTION os_name() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN v ~ '-linux' THEN 'linux'
        WHEN v ~ '-darwin' THEN 'darwin'
        WHEN v ~ '-freebsd' THEN 'freebsd'
        WHEN v ~ '-openbsd' THEN 'openbsd'
        WHEN v ~ '-netbsd' THEN 'netbsd'
        WHEN v ~ '-solaris' THEN 'sunos'
        ELSE coalesce(lower(substring(v from '^[^-]+-[^-]+-([a-z]+)')), 'unknown')
    END
      FROM (SELECT substring(pg_catalog.version() from ' on ([^ ,]+)') AS v) t
$$;

-- ---------------------------------------------------------------------------
-- can
-- ---------------------------------------------------------------------------

-- "<qualifier>f() missing" per name, in the order given; a name counts as
-- present when any function of that name exists (any arguments). The
-- qualifier is "schema." or '' (NULL with a NULL schema: then the whole
-- result is NULL, as in pgTAP). PL/pgSQL, so that ok() runs (and numbers
-- the test) even when the diagnostic is NULL: in a SQL function the planner
-- could fold `ok(…) || NULL` to NULL without calling ok().
CREATE FUNCTION _tap_misc_can(qualifier text, missing text[], descr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    IF missing[1] IS NULL THEN
        RETURN ok(true, descr);
    END IF;
    result := ok(false, descr);
    RETURN result || E'\n' || diag('    ' || qualifier
        || array_to_string(missing, E'() missing\n    ' || qualifier) || '() missing');
END;
$$;

-- With a schema: the functions of that schema, visible or not.
CREATE FUNCTION can(name, name[], text) RETURNS text
LANGUAGE sql AS $$
    SELECT _tap_misc_can(quote_ident($1) || '.', ARRAY(
        SELECT quote_ident(f) FROM unnest($2) WITH ORDINALITY u(f, i)
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                            WHERE p.proname = f AND n.nspname = $1)
         ORDER BY i), $3)
$$;
CREATE FUNCTION can(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT can($1, $2, 'Schema ' || quote_ident($1) || ' can') $$;

-- Without: the functions the search_path makes visible.
CREATE FUNCTION can(name[], text) RETURNS text
LANGUAGE sql AS $$
    SELECT _tap_misc_can('', ARRAY(
        SELECT quote_ident(f) FROM unnest($1) WITH ORDINALITY u(f, i)
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.proname = f AND pg_catalog.pg_function_is_visible(p.oid))
         ORDER BY i), $2)
$$;
-- current_schemas(true), as in pgTAP: pg_catalog, and the session's temp
-- schema once it exists. Under pgTAP that is always (its plan() creates temp
-- tables), here once plan() made its temporary sequence; the library's own
-- schema, which the runner appends to the path, is left out.
CREATE FUNCTION can(name[]) RETURNS text LANGUAGE sql AS $$ SELECT can($1, 'Schema ' || _tap_ident_list(_tap_current_schemas(), ' or ') || ' can') $$;

-- ---------------------------------------------------------------------------
-- isa_ok
-- ---------------------------------------------------------------------------

-- pg_typeof() of the value against the type; the description names both
-- (a NULL description or type makes the whole result NULL, as in pgTAP,
-- after ok() has numbered the test: see _tap_misc_can).
CREATE FUNCTION isa_ok(anyelement, regtype, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have   regtype := pg_typeof($1);
    result text;
BEGIN
    IF have = $2 THEN
        RETURN ok(true, $3 || ' isa ' || $2);
    END IF;
    result := ok(false, $3 || ' isa ' || $2);
    RETURN result || E'\n' || diag('    ' || $3 || ' isn''t a "' || $2 || '" it''s a "' || have || '"');
END;
$$;
CREATE FUNCTION isa_ok(anyelement, regtype) RETURNS text LANGUAGE sql AS $$ SELECT isa_ok($1, $2, 'the value') $$;

-- ---------------------------------------------------------------------------
-- set_has, set_hasnt, bag_has, bag_hasnt
-- ---------------------------------------------------------------------------

-- The rows of `want` that `op` (EXCEPT [ALL] or INTERSECT [ALL]) leaves
-- against `have` are the failure, listed as "<label> records". Both
-- queries are materialised by _temptable (20-queries.sql); the rows
-- are read in the order the set operation returns them, as in pgTAP.
CREATE FUNCTION _tap_misc_has(have text, want text, descr text, op text, label text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    found text[] := '{}';
    rec   record;
    msg   text;
BEGIN
    BEGIN
        FOR rec IN EXECUTE format('SELECT * FROM %I %s SELECT * FROM %I', want, op, have) LOOP
            found := found || rec::text;
        END LOOP;
    EXCEPTION WHEN syntax_error OR datatype_mismatch THEN
        -- Different column counts (42601) or types that do not compare (42804).
        msg := E'\n' || diag(E'    Columns differ between queries:\n'
            || '        have: (' || _tap_coltypes(have) || E')\n'
            || '        want: (' || _tap_coltypes(want) || ')');
        EXECUTE format('DROP TABLE pg_temp.%I, pg_temp.%I', have, want);
        RETURN ok(false, descr) || msg;
    END;
    EXECUTE format('DROP TABLE pg_temp.%I, pg_temp.%I', have, want);
    IF found[1] IS NULL THEN
        RETURN ok(true, descr);
    END IF;
    RETURN ok(false, descr) || E'\n' || diag('    ' || label || E' records:\n        ' || array_to_string(found, E'\n        '));
END;
$$;

CREATE FUNCTION set_has(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_misc_has(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, 'EXCEPT', 'Missing') $$;
CREATE FUNCTION set_has(text, text) RETURNS text LANGUAGE sql AS $$ SELECT set_has($1, $2, NULL::text) $$;
CREATE FUNCTION bag_has(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_misc_has(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, 'EXCEPT ALL', 'Missing') $$;
CREATE FUNCTION bag_has(text, text) RETURNS text LANGUAGE sql AS $$ SELECT bag_has($1, $2, NULL::text) $$;
CREATE FUNCTION set_hasnt(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_misc_has(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, 'INTERSECT', 'Extra') $$;
CREATE FUNCTION set_hasnt(text, text) RETURNS text LANGUAGE sql AS $$ SELECT set_hasnt($1, $2, NULL::text) $$;
CREATE FUNCTION bag_hasnt(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_misc_has(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, 'INTERSECT ALL', 'Extra') $$;
CREATE FUNCTION bag_hasnt(text, text) RETURNS text LANGUAGE sql AS $$ SELECT bag_hasnt($1, $2, NULL::text) $$;

-- ---------------------------------------------------------------------------
-- throws_ilike
-- ---------------------------------------------------------------------------

-- throws_like (20-queries.sql) with ILIKE: the error message against a
-- case-insensitive LIKE pattern (_tap_throws_match).
CREATE FUNCTION throws_ilike(text, text, text) RETURNS text
LANGUAGE sql AS $$ SELECT _tap_throws_match($1, $2, '~~*', $3) $$;

CREATE FUNCTION throws_ilike(text, text) RETURNS text
LANGUAGE sql AS $$ SELECT throws_ilike($1, $2, 'Should throw exception like ' || quote_literal($2)) $$;

-- ---------------------------------------------------------------------------
-- collect_tap
-- ---------------------------------------------------------------------------

-- Several TAP results as one value, one per line (for functions that
-- return a single text).
CREATE FUNCTION collect_tap(VARIADIC text[]) RETURNS text LANGUAGE sql AS $$ SELECT array_to_string($1, E'\n') $$;
CREATE FUNCTION collect_tap(character varying[]) RETURNS text LANGUAGE sql AS $$ SELECT array_to_string($1, E'\n') $$;

-- ---------------------------------------------------------------------------
-- performs_ok, performs_within
-- ---------------------------------------------------------------------------

-- The time one run of a query takes, in milliseconds, measured as pgTAP
-- measures it: EXTRACT(millisecond) of the elapsed interval, which is the
-- seconds field times 1000 (whole minutes are not counted).
CREATE FUNCTION _tap_misc_run_ms(query text) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    EXECUTE query;
    RETURN extract(millisecond FROM clock_timestamp() - started);
END;
$$;

CREATE FUNCTION performs_ok(text, numeric, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    took numeric := _tap_misc_run_ms(_query($1));
BEGIN
    IF took < $2 THEN
        RETURN ok(true, $3);
    END IF;
    RETURN ok(false, $3) || E'\n' || diag(
               '      runtime: ' || took || ' ms'
        || E'\n      exceeds: ' || $2 || ' ms');
END;
$$;

CREATE FUNCTION performs_ok(text, numeric) RETURNS text
LANGUAGE sql AS $$ SELECT performs_ok($1, $2, 'Should run in less than ' || $2 || ' ms') $$;

-- The average of the middle 80 % of `runs` timings (the fastest and slowest
-- 10 % left out, counts rounded as numeric rounds, at least one kept).
CREATE FUNCTION _tap_misc_avg_ms(query text, runs integer) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    times numeric[];
BEGIN
    FOR i IN 1 .. runs LOOP
        times[i] := _tap_misc_run_ms(query);
    END LOOP;
    RETURN (SELECT avg(t) FROM (SELECT t FROM unnest(times) t ORDER BY t
                                OFFSET greatest((0.1 * runs)::integer, 0)
                                LIMIT greatest((0.8 * runs)::integer, 1)) s);
END;
$$;

CREATE FUNCTION performs_within(text, numeric, numeric, integer, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    took numeric := _tap_misc_avg_ms(_query($1), $4);
BEGIN
    IF abs(took - $2) < $3 THEN
        RETURN ok(true, $5);
    END IF;
    -- No runs (a count below 1): no average, and the result is NULL, as in pgTAP.
    RETURN ok(false, $5) || E'\n' || diag(
               ' average runtime: ' || took || ' ms'
        || E'\n desired average: ' || $2 || ' +/- ' || $3 || ' ms');
END;
$$;

CREATE FUNCTION performs_within(text, numeric, numeric, integer) RETURNS text
LANGUAGE sql AS $$ SELECT performs_within($1, $2, $3, $4, 'Should run within ' || $2 || ' +/- ' || $3 || ' ms') $$;
CREATE FUNCTION performs_within(text, numeric, numeric, text) RETURNS text
LANGUAGE sql AS $$ SELECT performs_within($1, $2, $3, 10, $4) $$;
CREATE FUNCTION performs_within(text, numeric, numeric) RETURNS text
LANGUAGE sql AS $$ SELECT performs_within($1, $2, $3, 10, 'Should run within ' || $2 || ' +/- ' || $3 || ' ms') $$;

-- ---------------------------------------------------------------------------
-- add_result, display_oper
-- ---------------------------------------------------------------------------

-- pgTAP's bookkeeping behind ok(): count a failure unless the first argument
-- is true (or NULL), and hand out the next test number. Nothing is printed
-- and the number is not recorded as the last test run.
CREATE FUNCTION add_result(boolean, boolean, text, text, text) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT $1 THEN
        PERFORM _tap_put('failed', _tap_get('failed') + 1);
    END IF;
    RETURN _tap_next_number();
END;
$$;

-- An operator as operators_are lists it: its name and argument types,
-- e.g. "=(integer,integer)" (NONE for the missing side of a prefix operator).
CREATE FUNCTION display_oper(name, oid) RETURNS text
LANGUAGE sql AS $$ SELECT $1 || substring($2::regoperator::text, '[(][^)]+[)]$') $$;

-- ---------------------------------------------------------------------------
-- check_test
-- ---------------------------------------------------------------------------

-- The last test number handed out: the numbering sequence (00-core.sql).
-- Like currval(), it fails when no test ran in this session.
CREATE FUNCTION _tap_misc_last_number() RETURNS integer
LANGUAGE sql AS $$ SELECT currval('pg_temp.__tresults___numb_seq'::text)::integer $$;

-- check_test(output, pass, name, description, diagnostics, match): tests a
-- test. The test that produced `output` is taken back (its number is used
-- again, its failure uncounted), and its verdict, description and
-- diagnostics are checked with is() (or matches() for the diagnostics when
-- `match`). The diagnostics are cut out of `output` character by character
-- as pgTAP cuts them, so odd outputs (a TODO, a multi-line description) give
-- the same text as there. (pgTAP restarts its sequence with ALTER SEQUENCE,
-- which a rollback undoes; setval is not undone. Where that could show, after
-- a runtests() subtest, both runners set the numbering back themselves.)
CREATE FUNCTION check_test(text, boolean, text, text, text, boolean) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    have_out  text    := $1;
    want_ok   boolean := $2;
    want_desc text    := $4;
    want_diag text    := $5;
    num       integer := _tap_misc_last_number();
    have_ok   boolean := substring(have_out, 1, 2) = 'ok';
    have_desc text    := coalesce(substring(have_out FROM E'(?:not )?ok [[:digit:]]+ - ([^\n]+)'), '');
    prefix    text    := coalesce($3 || ' ', 'Test ') || 'should ';
    got       text;
BEGIN
    -- Take the test back: its number comes again, its failure is not one.
    PERFORM _tap_xunit_number_from(num);
    IF NOT have_ok THEN
        PERFORM _tap_put('failed', _tap_get('failed') - 1);
    END IF;

    RETURN NEXT is(have_ok, want_ok, prefix || CASE want_ok WHEN true THEN 'pass' ELSE 'fail' END);

    IF want_desc IS NOT NULL THEN
        RETURN NEXT is(have_desc, want_desc, prefix || 'have the proper description');
    END IF;

    IF want_diag IS NOT NULL THEN
        -- Cut "ok N" (or "not ok N" and one character more), then as many
        -- characters as " - description" and as ok()'s "Failed test" line
        -- take, then the line break before the diagnostics (when some are
        -- expected), then "# " and the "# " starting each further line.
        got := substring(have_out FROM CASE WHEN have_ok THEN 4 ELSE 9 END + char_length(num::text));
        IF have_desc <> '' THEN
            got := substring(got FROM 1 + char_length(' - ' || substr(diag(have_desc), 3)));
        END IF;
        IF NOT have_ok THEN
            got := substring(got FROM 1 + char_length(diag('Failed test ' || num
                || CASE have_desc WHEN '' THEN '' ELSE coalesce(': "' || have_desc || '"', '') END)));
        END IF;
        IF want_diag <> '' THEN
            got := substring(got FROM 2);
        END IF;
        got := replace(substring(got FROM 3), E'\n# ', E'\n');

        IF $6 THEN
            RETURN NEXT matches(got, want_diag, prefix || 'have the proper diagnostics');
        ELSE
            RETURN NEXT is(got, want_diag, prefix || 'have the proper diagnostics');
        END IF;
    END IF;
    RETURN;
END;
$$;

CREATE FUNCTION check_test(text, boolean, text, text, text) RETURNS SETOF text LANGUAGE sql AS $$ SELECT * FROM check_test($1, $2, $3, $4, $5, false) $$;
CREATE FUNCTION check_test(text, boolean, text, text) RETURNS SETOF text LANGUAGE sql AS $$ SELECT * FROM check_test($1, $2, $3, $4, NULL, false) $$;
CREATE FUNCTION check_test(text, boolean, text) RETURNS SETOF text LANGUAGE sql AS $$ SELECT * FROM check_test($1, $2, $3, NULL, NULL, false) $$;
CREATE FUNCTION check_test(text, boolean) RETURNS SETOF text LANGUAGE sql AS $$ SELECT * FROM check_test($1, $2, NULL, NULL, NULL, false) $$;
