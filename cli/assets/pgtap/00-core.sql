-- rowguard's pgTAP-compatible assertion library, part 1: test state, plan,
-- ok, diag, finish, todo, skip.
--
-- Installed by `rowguard test` into its own schema of the throwaway database
-- (no CREATE EXTENSION, no superuser), then appended to each test session's
-- search_path, as pgTAP is when installed into `extensions` on Supabase.
-- Names, signatures and the text of every TAP line follow pgTAP 1.2
-- (theory/pgtap sql/pgtap.sql.in); the implementation is our own.
--
-- State lives in custom settings (`rowguard_tap.*`, set with set_config)
-- instead of pgTAP's temp tables: any role may read and write a placeholder
-- setting, so the functions keep working after `set local role authenticated`
-- without grants, and they need no CREATE inside a read-only transaction.
-- Like pgTAP's __tcache__ rows, settings are transactional: a ROLLBACK undoes
-- them together with the test's data (the plan, the failure count, the last
-- test number finish() reports). Only the numbering is not (see below).

-- Test numbers come from a sequence, because nextval is not rolled back: a
-- test inside a BEGIN … ROLLBACK block keeps its number and the next one
-- follows it, as with pgTAP's __tresults___numb_seq. Like that one it is a
-- temporary sequence, made by plan(): nextval on a temporary sequence is
-- allowed in a read-only transaction (SET TRANSACTION READ ONLY after the
-- plan), where a permanent one's is refused (25006), and a plan() inside
-- BEGIN READ ONLY fails with pgTAP's "cannot execute CREATE SEQUENCE in a
-- read-only transaction". It has pgTAP's name, so catalog queries see the
-- same temporary objects under both, and the lists that leave pgTAP's
-- helpers out (sequences_are on the search path) leave it out too. It is
-- named through pg_temp, so the numbering works whatever search_path the
-- test sets, and granted to PUBLIC, so it works whatever role the test
-- switches to.
-- The search path as the test file set it. The runner appends this library's
-- schema to the path (at the start and after every SET search_path of the
-- file) and records the result in rowguard_tap.appended_search_path, with the
-- same SET LOCAL or SET scope; while the path is still that value, its last
-- element is ours, and the default descriptions pgTAP builds from the path
-- ("Search path … should have the correct tables", can()'s schemas) leave it
-- out, as pgTAP's path holds only what the file put there. A path the file set
-- to include the library itself is shown as it is.
CREATE FUNCTION _tap_search_path() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p = pg_catalog.current_setting('rowguard_tap.appended_search_path', true)
                THEN pg_catalog.regexp_replace(p, '(^|, )[^,]*$', '') ELSE p END
      FROM pg_catalog.current_setting('search_path') p
$$;

-- current_schemas(true) without the library's schema when the runner appended it.
CREATE FUNCTION _tap_current_schemas() RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p = pg_catalog.current_setting('rowguard_tap.appended_search_path', true)
                THEN pg_catalog.array_remove(pg_catalog.current_schemas(true), pg_catalog.substring(p, '(?:^|, )([^,]*)$')::name)
                ELSE pg_catalog.current_schemas(true) END
      FROM pg_catalog.current_setting('search_path') p
$$;

CREATE FUNCTION _tap_next_number() RETURNS integer
LANGUAGE sql AS $$ SELECT nextval('pg_temp.__tresults___numb_seq'::text)::integer $$;

CREATE FUNCTION _tap_reset_numbers() RETURNS void
LANGUAGE sql AS $$ SELECT setval('pg_temp.__tresults___numb_seq'::text, 1, false) $$;

-- The sequence, new (numbering from 1) or set back to 1. Created by the
-- role that plans, which needs TEMP on the database as it does under pgTAP
-- (PUBLIC has it by default). A ROLLBACK of the plan's transaction takes
-- the sequence with it, as it takes the plan.
CREATE FUNCTION _tap_start_numbers() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.__tresults___numb_seq') IS NULL THEN
        CREATE TEMP SEQUENCE __tresults___numb_seq;
        GRANT USAGE, SELECT, UPDATE ON SEQUENCE pg_temp.__tresults___numb_seq TO PUBLIC;
    ELSE
        PERFORM _tap_reset_numbers();
    END IF;
END;
$$;

-- A setting that was never set reads NULL with missing_ok = true; one set and
-- then rolled back reads ''. Both mean "unset".
CREATE FUNCTION _tap_get(key text) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('rowguard_tap.' || key, true), '')::integer
$$;

CREATE FUNCTION _tap_put(key text, value integer) RETURNS integer
LANGUAGE sql AS $$
    SELECT set_config('rowguard_tap.' || key, value::text, false)::integer
$$;

-- The todo stack: a JSON array of {"n": remaining (-1 = until todo_end), "why": reason},
-- newest last, so nested todo() calls apply innermost first as in pgTAP.
CREATE FUNCTION _tap_todos() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('rowguard_tap.todo', true), '')::jsonb, '[]'::jsonb)
$$;

CREATE FUNCTION _tap_set_todos(stack jsonb) RETURNS void
LANGUAGE sql AS $$
    SELECT set_config('rowguard_tap.todo', stack::text, false);
$$;

CREATE FUNCTION _tap_push_todo(how_many integer, why text) RETURNS void
LANGUAGE sql AS $$
    SELECT _tap_set_todos(_tap_todos() || jsonb_build_array(jsonb_build_object('n', how_many, 'why', why)));
$$;

-- The reason of the todo that applies to the next test (consuming one count),
-- or NULL outside any todo.
CREATE FUNCTION _todo() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    stack jsonb := _tap_todos();
    top   integer := jsonb_array_length(stack) - 1;
    n     integer;
    why   text;
BEGIN
    IF top < 0 THEN
        RETURN NULL;
    END IF;
    n   := (stack -> top ->> 'n')::integer;
    why := stack -> top ->> 'why';
    IF n = 0 THEN
        PERFORM _tap_set_todos(stack - top);
        RETURN NULL;
    ELSIF n = 1 THEN
        PERFORM _tap_set_todos(stack - top);
    ELSIF n > 1 THEN
        PERFORM _tap_set_todos(jsonb_set(stack, ARRAY[top::text, 'n'], to_jsonb(n - 1)));
    END IF;
    RETURN why;
END;
$$;

CREATE FUNCTION plan(integer) RETURNS text
LANGUAGE plpgsql STRICT AS $$
BEGIN
    -- A second plan() in the same run is an error, as in pgTAP. The
    -- usual way to hit it is a test function run by runtests() that
    -- calls plan() (runtests() makes its own plan): pgTAP then prints
    -- the error as "Test died", with a CONTEXT line naming the line of
    -- plan() that raised it. The RAISE below is line 27 of this body,
    -- as in pgTAP, so that line reads the same under both.
    --
    -- What a plan resets:
    --  - the plan itself, read by ok() (no plan, no tests) and by
    --    finish() (0 means no_plan(): finish() prints the plan line);
    --  - the failure count finish() reports;
    --  - curr, the number of the last test, which finish() compares
    --    with the plan;
    --  - the numbering, so the first test is 1 again after a
    --    runtests() that ended its own run;
    --  - the todo stack.
    --
    -- Nothing else: the settings stay as transactional as pgTAP's
    -- __tcache__ rows, so a test function's subtransaction that
    -- runtests() rolls back takes its curr, failed and todo changes
    -- with it, and only the numbering (a sequence) survives, as
    -- pgTAP's __tresults___numb_seq does.
    --
    IF _tap_get('plan') IS NOT NULL THEN
        RAISE EXCEPTION 'You tried to plan twice!';
    END IF;
    PERFORM _tap_put('plan', $1);
    PERFORM _tap_put('failed', 0);
    PERFORM set_config('rowguard_tap.curr', '', false);
    PERFORM _tap_start_numbers();
    PERFORM _tap_set_todos('[]');
    RETURN '1..' || $1;
END;
$$;

CREATE FUNCTION no_plan() RETURNS SETOF boolean
LANGUAGE plpgsql STRICT AS $$
BEGIN
    PERFORM plan(0);
    RETURN;
END;
$$;

CREATE FUNCTION num_failed() RETURNS integer
LANGUAGE sql STRICT AS $$
    SELECT _tap_get('failed')
$$;

-- pgTAP keeps these counters in rows of a temporary table and reads them with
-- its internal _get(label). Test files and CI gates call it to ask pgTAP for
-- its own accounting (_get('plan') - _get('curr_test'), or one row of plan,
-- ran and failed after finish()), so it reads the same counters here. A label
-- without a counter reads NULL, as a label without a row does in pgTAP; the
-- 'todo' rows pgTAP also keeps there have no counterpart (the todo stack).
CREATE FUNCTION _get(text) RETURNS integer
LANGUAGE sql STRICT AS $$
    SELECT CASE $1 WHEN 'plan' THEN _tap_get('plan')
                   WHEN 'failed' THEN _tap_get('failed')
                   WHEN 'curr_test' THEN _tap_get('curr')
           END
$$;

-- pgTAP's diag(): '# ' before the text and after every line break. The three
-- replacements run in this order, so a CRLF becomes "\n# # " exactly as in pgTAP.
-- Neither strict nor immutable, and PL/pgSQL so that it is never inlined: the
-- planner must not fold diag(NULL) to a NULL constant. Assertions written in SQL
-- return ok(…) || E'\n' || diag(message), and a message built from a NULL argument
-- ('Column ' || quote_ident(NULL) …) would then fold the whole concatenation to
-- NULL without calling ok(): Postgres 18 plans SQL function bodies with their
-- argument values as constants, and the test would go unnumbered and uncounted.
-- pgTAP (PL/pgSQL callers) records it, and prints an empty line, as this does.
CREATE FUNCTION diag(msg text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN '# ' || replace(replace(replace(msg, E'\r\n', E'\n# '), E'\n', E'\n# '), E'\r', E'\n# ');
END
$$;

CREATE FUNCTION diag(msg anyelement) RETURNS text
LANGUAGE sql AS $$
    SELECT diag(msg::text)
$$;

CREATE FUNCTION diag(VARIADIC text[]) RETURNS text
LANGUAGE sql AS $$
    SELECT diag(array_to_string($1, ''))
$$;

CREATE FUNCTION diag(VARIADIC anyarray) RETURNS text
LANGUAGE sql AS $$
    SELECT diag(array_to_string($1, ''))
$$;

-- Every assertion ends here: number the test, count a failure unless it is a
-- todo, and return the TAP line(s).
CREATE FUNCTION ok(boolean, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    aok      boolean := $1;
    descr    text    := $2;
    todo_why text;
    num      integer;
BEGIN
    IF _tap_get('plan') IS NULL THEN
        RAISE EXCEPTION 'You tried to run a test without a plan! Gotta have a plan';
    END IF;
    todo_why := _todo();
    num := _tap_put('curr', _tap_next_number());
    IF aok IS NOT TRUE AND todo_why IS NULL THEN
        PERFORM _tap_put('failed', coalesce(_tap_get('failed'), 0) + 1);
    END IF;

    RETURN CASE WHEN aok IS TRUE THEN '' ELSE 'not ' END
        || 'ok ' || num
        || CASE WHEN descr IS NULL OR descr = '' THEN '' ELSE ' - ' || substr(diag(descr), 3) END
        || coalesce(' ' || diag('TODO ' || todo_why), '')
        || CASE WHEN aok IS TRUE THEN '' ELSE
               E'\n' || diag('Failed '
                   || CASE WHEN todo_why IS NULL THEN '' ELSE '(TODO) ' END
                   || 'test ' || num
                   || CASE WHEN descr IS NULL OR descr = '' THEN '' ELSE ': "' || descr || '"' END)
               || CASE WHEN aok IS NULL THEN E'\n' || diag('    (test result was NULL)') ELSE '' END
           END;
END;
$$;

CREATE FUNCTION ok(boolean) RETURNS text
LANGUAGE sql AS $$
    SELECT ok($1, NULL)
$$;

CREATE FUNCTION pass(text) RETURNS text LANGUAGE sql AS $$ SELECT ok(true, $1) $$;
CREATE FUNCTION pass() RETURNS text LANGUAGE sql AS $$ SELECT ok(true, NULL) $$;
CREATE FUNCTION fail(text) RETURNS text LANGUAGE sql AS $$ SELECT ok(false, $1) $$;
CREATE FUNCTION fail() RETURNS text LANGUAGE sql AS $$ SELECT ok(false, NULL) $$;

-- finish(): the plan line for no_plan() files, and pgTAP's closing diagnostics.
CREATE FUNCTION finish(exception_on_failure boolean DEFAULT NULL) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    ran     integer := _tap_get('curr');
    planned integer := _tap_get('plan');
    failed  integer := coalesce(_tap_get('failed'), 0);
BEGIN
    IF ran IS NULL THEN
        RAISE EXCEPTION '# No tests run!';
    END IF;
    IF planned IS NULL OR planned = 0 THEN
        planned := ran;
        RETURN NEXT '1..' || planned;
    END IF;
    IF ran <> planned THEN
        RETURN NEXT diag('Looks like you planned ' || planned || ' test'
            || CASE planned WHEN 1 THEN '' ELSE 's' END || ' but ran ' || ran);
    ELSIF failed > 0 THEN
        IF exception_on_failure THEN
            RAISE EXCEPTION '% test% failed of %', failed, CASE failed WHEN 1 THEN '' ELSE 's' END, planned;
        END IF;
        RETURN NEXT diag('Looks like you failed ' || failed || ' test'
            || CASE failed WHEN 1 THEN '' ELSE 's' END || ' of ' || planned);
    END IF;
    RETURN;
END;
$$;

CREATE FUNCTION todo(why text, how_many integer) RETURNS SETOF boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM _tap_push_todo(coalesce(how_many, 1), coalesce(why, ''));
    RETURN;
END;
$$;

CREATE FUNCTION todo(how_many integer, why text) RETURNS SETOF boolean
LANGUAGE sql AS $$ SELECT * FROM todo(why, how_many) $$;

CREATE FUNCTION todo(why text) RETURNS SETOF boolean
LANGUAGE sql AS $$ SELECT * FROM todo(why, 1) $$;

CREATE FUNCTION todo(how_many integer) RETURNS SETOF boolean
LANGUAGE sql AS $$ SELECT * FROM todo('', how_many) $$;

CREATE FUNCTION todo_start(text) RETURNS SETOF boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM _tap_push_todo(-1, coalesce($1, ''));
    RETURN;
END;
$$;

CREATE FUNCTION todo_start() RETURNS SETOF boolean
LANGUAGE sql AS $$ SELECT * FROM todo_start('') $$;

-- Ends the newest todo_start() (n = -1), not any todo(n) opened after it.
-- The RAISE is line 7 of the body, as in pgTAP, for the same reason as
-- plan()'s (a todo_end() in a test function run by runtests()).
CREATE FUNCTION todo_end() RETURNS SETOF boolean
LANGUAGE plpgsql AS $$
DECLARE
    stack jsonb := _tap_todos();
    i integer := (SELECT max(o) - 1 FROM jsonb_array_elements(stack) WITH ORDINALITY AS t(e, o) WHERE (e ->> 'n')::integer = -1);
BEGIN
    IF i IS NULL THEN
        RAISE EXCEPTION 'todo_end() called without todo_start()';
    END IF;
    PERFORM _tap_set_todos(stack - i);
END;
$$;

CREATE FUNCTION in_todo() RETURNS boolean
LANGUAGE sql AS $$
    SELECT jsonb_array_length(_tap_todos()) > 0
$$;

-- skip(): passing tests marked "# SKIP", one line each. A NULL count is an
-- error ("upper bound of FOR loop cannot be null"), as in pgTAP; the FOR is
-- line 6 of the body there and here, so a CONTEXT line reads the same.
CREATE FUNCTION skip(why text, how_many integer) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lines text[] := '{}';
BEGIN
    -- how_many NULL raises 22004 here.
    FOR i IN 1 .. how_many LOOP
        lines := lines || (ok(true) || ' ' || diag('SKIP' || coalesce(' ' || why, '')));
    END LOOP;
    RETURN array_to_string(lines, E'\n');
END;
$$;

CREATE FUNCTION skip(text) RETURNS text
LANGUAGE sql AS $$
    SELECT ok(true) || ' ' || diag('SKIP' || coalesce(' ' || $1, ''))
$$;

CREATE FUNCTION skip(integer, text) RETURNS text LANGUAGE sql AS $$ SELECT skip($2, $1) $$;
CREATE FUNCTION skip(integer) RETURNS text LANGUAGE sql AS $$ SELECT skip(NULL::text, $1) $$;

-- The "missing" half of the *_are lists: the wanted names that `have` lacks.
-- A wanted NULL is always missing, and pgTAP counts a missing list as empty
-- when its first element is NULL. Where the NULL comes depends on the order
-- in which the hashed EXCEPT hands its rows back, which follows from the
-- planner's guess at the size of the wanted list. So the wanted names are
-- read as pgTAP reads them, by subscript over generate_series inside a SQL
-- function (planned without the argument's value: a guess of 1000 rows),
-- which gives pgTAP's order and so its verdict. Callers in PL/pgSQL must go
-- through here: there the same query would be planned with the real count.
CREATE FUNCTION _tap_missing(want name[], have name[]) RETURNS name[]
LANGUAGE sql AS $$
    SELECT ARRAY(SELECT want[i] FROM generate_series(1, array_upper(want, 1)) s(i) EXCEPT SELECT unnest(have))
$$;
