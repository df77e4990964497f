-- Part 3: assertions about what a query returns or raises. Every query runs as
-- the current role (SECURITY INVOKER, the default), so RLS and grants apply
-- exactly as for the role the test switched to.

-- pgTAP's rule: a lone word (or a double-quoted name) is a prepared statement
-- to EXECUTE; anything else is SQL.
CREATE FUNCTION _query(text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN $1 LIKE '"%' OR $1 !~ '[[:space:]]' THEN 'EXECUTE ' || $1 ELSE $1 END
$$;

CREATE FUNCTION _tap_cursor_diff(descr text, rownum integer, have_found boolean, have_rec text, want_found boolean, want_rec text) RETURNS text
LANGUAGE sql AS $$
    SELECT ok(false, descr) || E'\n' || diag(
           '    Results differ beginning at row ' || rownum || E':\n'
        || '        have: ' || CASE WHEN have_found THEN have_rec ELSE 'NULL' END || E'\n'
        || '        want: ' || CASE WHEN want_found THEN want_rec ELSE 'NULL' END)
$$;

CREATE FUNCTION _tap_cursor_types(descr text, have_found boolean, have_rec text, want_found boolean, want_rec text, err text) RETURNS text
LANGUAGE sql AS $$
    SELECT ok(false, descr) || E'\n' || diag(
           '    Number of columns or their types differ between the queries'
        || CASE WHEN have_rec = want_rec THEN '' ELSE E':\n'
               || '        have: ' || CASE WHEN have_found THEN have_rec ELSE 'NULL' END || E'\n'
               || '        want: ' || CASE WHEN want_found THEN want_rec ELSE 'NULL' END END
        || E'\n        ERROR: ' || err)
$$;

-- Row-by-row comparison of two open cursors: the core of results_eq.
-- The rows are compared before the FOUND flags, as in pgTAP: after the last
-- row a record keeps its columns' types (all NULL), so a query that returns
-- nothing still fails with "Number of columns or their types differ" when
-- its types differ from the other query's.
CREATE FUNCTION results_eq(refcursor, refcursor, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have_rec   record;
    want_rec   record;
    have_found boolean;
    want_found boolean;
    rownum     integer := 1;
    err        text;
    -- The FETCHes are lines 12, 14, 25 and 27 of this body and the
    -- comparison line 17, as in pgTAP, for the CONTEXT of their errors.
BEGIN
    FETCH $1 INTO have_rec;
    have_found := FOUND;
    FETCH $2 INTO want_rec;
    want_found := FOUND;
    WHILE have_found OR want_found LOOP
        IF have_rec IS DISTINCT FROM want_rec OR have_found <> want_found THEN
            RETURN _tap_cursor_diff(
                $3, rownum,
                have_found, have_rec::text,
                want_found, want_rec::text
            );
        END IF;
        rownum := rownum + 1;
        FETCH $1 INTO have_rec;
        have_found := FOUND;
        FETCH $2 INTO want_rec;
        want_found := FOUND;
    END LOOP;
    RETURN ok(true, $3);
EXCEPTION WHEN datatype_mismatch THEN
    GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
    RETURN _tap_cursor_types($3, have_found, have_rec::text, want_found, want_rec::text, err);
END;
$$;

CREATE FUNCTION results_ne(refcursor, refcursor, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have_rec   record;
    want_rec   record;
    have_found boolean;
    want_found boolean;
    err        text;
    -- The FETCHes are lines 11, 13, 19 and 21 of this body and the
    -- comparison line 16, as in pgTAP, for the CONTEXT of their errors.
BEGIN
    FETCH $1 INTO have_rec;
    have_found := FOUND;
    FETCH $2 INTO want_rec;
    want_found := FOUND;
    WHILE have_found OR want_found LOOP
        IF have_rec IS DISTINCT FROM want_rec OR have_found <> want_found THEN
            RETURN ok(true, $3);
        END IF;
        FETCH $1 INTO have_rec;
        have_found := FOUND;
        FETCH $2 INTO want_rec;
        want_found := FOUND;
    END LOOP;
    RETURN ok(false, $3);
EXCEPTION WHEN datatype_mismatch THEN
    GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
    RETURN _tap_cursor_types($3, have_found, have_rec::text, want_found, want_rec::text, err);
END;
$$;

-- The text, array and cursor overloads open cursors for what they were given
-- and compare them with the two-cursor form. Each is its own PL/pgSQL
-- function, with the OPEN of a query and the call of the two-cursor form on
-- the body lines where pgTAP has them, because an error there (a query that
-- raises, a column type without equality such as json) is reported with a
-- CONTEXT naming the function and the line, which lives_ok's diagnostics and
-- runtests()'s "Test died" print.
CREATE FUNCTION results_eq(text, text, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have refcursor;
    want refcursor;
    res  text;
BEGIN
    OPEN have FOR EXECUTE _query($1);
    OPEN want FOR EXECUTE _query($2);
    res := results_eq(have, want, $3);
    CLOSE have; CLOSE want;
    RETURN res;
END;
$$;

CREATE FUNCTION results_eq(text, anyarray, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have refcursor;
    want refcursor;
    res  text;
BEGIN
    OPEN have FOR EXECUTE _query($1);
    OPEN want FOR SELECT $2[i]
        FROM generate_series(array_lower($2, 1), array_upper($2, 1)) s(i);
    res := results_eq(have, want, $3);
    CLOSE have; CLOSE want;
    RETURN res;
END;
$$;

CREATE FUNCTION results_eq(text, refcursor, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have refcursor;
    res  text;
BEGIN
    OPEN have FOR EXECUTE _query($1);
    res := results_eq(have, $2, $3);
    CLOSE have;
    RETURN res;
END;
$$;

CREATE FUNCTION results_eq(refcursor, text, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    want refcursor;
    res  text;
BEGIN
    OPEN want FOR EXECUTE _query($2);
    res := results_eq($1, want, $3);
    CLOSE want;
    RETURN res;
END;
$$;

CREATE FUNCTION results_eq(refcursor, anyarray, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    want refcursor;
    res  text;
BEGIN
    OPEN want FOR SELECT $2[i]
        FROM generate_series(array_lower($2, 1), array_upper($2, 1)) s(i);
    res := results_eq($1, want, $3);
    CLOSE want;
    RETURN res;
END;
$$;

CREATE FUNCTION results_ne(text, text, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have refcursor;
    want refcursor;
    res  text;
BEGIN
    OPEN have FOR EXECUTE _query($1);
    OPEN want FOR EXECUTE _query($2);
    res := results_ne(have, want, $3);
    CLOSE have; CLOSE want;
    RETURN res;
END;
$$;

CREATE FUNCTION results_ne(text, anyarray, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have refcursor;
    want refcursor;
    res  text;
BEGIN
    OPEN have FOR EXECUTE _query($1);
    OPEN want FOR SELECT $2[i]
        FROM generate_series(array_lower($2, 1), array_upper($2, 1)) s(i);
    res := results_ne(have, want, $3);
    CLOSE have; CLOSE want;
    RETURN res;
END;
$$;

CREATE FUNCTION results_ne(text, refcursor, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have refcursor;
    res  text;
BEGIN
    OPEN have FOR EXECUTE _query($1);
    res := results_ne(have, $2, $3);
    CLOSE have;
    RETURN res;
END;
$$;

CREATE FUNCTION results_ne(refcursor, text, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    want refcursor;
    res  text;
BEGIN
    OPEN want FOR EXECUTE _query($2);
    res := results_ne($1, want, $3);
    CLOSE want;
    RETURN res;
END;
$$;

CREATE FUNCTION results_ne(refcursor, anyarray, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    want refcursor;
    res  text;
BEGIN
    OPEN want FOR SELECT $2[i]
        FROM generate_series(array_lower($2, 1), array_upper($2, 1)) s(i);
    res := results_ne($1, want, $3);
    CLOSE want;
    RETURN res;
END;
$$;

CREATE FUNCTION results_eq(refcursor, refcursor) RETURNS text LANGUAGE sql AS $$ SELECT results_eq($1, $2, NULL::text) $$;
CREATE FUNCTION results_eq(text, text) RETURNS text LANGUAGE sql AS $$ SELECT results_eq($1, $2, NULL::text) $$;
CREATE FUNCTION results_eq(text, anyarray) RETURNS text LANGUAGE sql AS $$ SELECT results_eq($1, $2, NULL::text) $$;
CREATE FUNCTION results_eq(text, refcursor) RETURNS text LANGUAGE sql AS $$ SELECT results_eq($1, $2, NULL::text) $$;
CREATE FUNCTION results_eq(refcursor, text) RETURNS text LANGUAGE sql AS $$ SELECT results_eq($1, $2, NULL::text) $$;
CREATE FUNCTION results_eq(refcursor, anyarray) RETURNS text LANGUAGE sql AS $$ SELECT results_eq($1, $2, NULL::text) $$;

CREATE FUNCTION results_ne(refcursor, refcursor) RETURNS text LANGUAGE sql AS $$ SELECT results_ne($1, $2, NULL::text) $$;
CREATE FUNCTION results_ne(text, text) RETURNS text LANGUAGE sql AS $$ SELECT results_ne($1, $2, NULL::text) $$;
CREATE FUNCTION results_ne(text, anyarray) RETURNS text LANGUAGE sql AS $$ SELECT results_ne($1, $2, NULL::text) $$;
CREATE FUNCTION results_ne(text, refcursor) RETURNS text LANGUAGE sql AS $$ SELECT results_ne($1, $2, NULL::text) $$;
CREATE FUNCTION results_ne(refcursor, text) RETURNS text LANGUAGE sql AS $$ SELECT results_ne($1, $2, NULL::text) $$;
CREATE FUNCTION results_ne(refcursor, anyarray) RETURNS text LANGUAGE sql AS $$ SELECT results_ne($1, $2, NULL::text) $$;

-- Set and bag comparison. Both sides are materialised into temp tables (so a
-- prepared statement name works as a query, as in pgTAP) and compared with
-- EXCEPT (sets) or EXCEPT ALL (bags), which uses each column type's own
-- equality. Temp tables are created by the current role; PUBLIC holds TEMP on
-- a database by default.
CREATE FUNCTION _tap_coltypes(tbl text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT string_agg(format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = ('pg_temp.' || tbl)::regclass AND a.attnum > 0 AND NOT a.attisdropped
$$;

-- The rows of a query, or of an array, in a temp table of the given name.
-- Named as pgTAP's helper, with the CREATE on line 3 of its body, and given
-- pgTAP's table names (__taphave__, __tapwant__), so a query that raises is
-- reported with the same CONTEXT (the statement, then the function and line)
-- in lives_ok's diagnostics and runtests()'s "Test died". No table is ever
-- left behind for the next call: an error rolls its CREATE back with it.
CREATE FUNCTION _temptable(query text, tbl text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TEMP TABLE %I AS ', tbl) || _query(query);
    RETURN tbl;
END;
$$;

CREATE FUNCTION _temptable(rows anyarray, tbl text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TEMP TABLE %I AS SELECT $1[i] FROM generate_series(array_lower($1, 1), array_upper($1, 1)) s(i)', tbl) USING rows;
    RETURN tbl;
END;
$$;

-- mode: '' (set) or 'ALL ' (bag). ne: assert that the results differ.
CREATE FUNCTION _tap_relcmp(have text, want text, descr text, mode text, ne boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    extras  text[];
    missing text[];
    differ  boolean;
    msg     text := '';
BEGIN
    BEGIN
        EXECUTE format('SELECT array(SELECT t::text FROM (SELECT * FROM %I EXCEPT %s SELECT * FROM %I) t)', have, mode, want) INTO extras;
        EXECUTE format('SELECT array(SELECT t::text FROM (SELECT * FROM %I EXCEPT %s SELECT * FROM %I) t)', want, mode, have) INTO missing;
    EXCEPTION WHEN syntax_error OR datatype_mismatch THEN
        msg := E'\n' || diag(E'    Columns differ between queries:\n'
            || '        have: (' || _tap_coltypes(have) || E')\n'
            || '        want: (' || _tap_coltypes(want) || ')');
        EXECUTE format('DROP TABLE pg_temp.%I, pg_temp.%I', have, want);
        RETURN ok(false, descr) || msg;
    END;
    EXECUTE format('DROP TABLE pg_temp.%I, pg_temp.%I', have, want);

    differ := cardinality(extras) > 0 OR cardinality(missing) > 0;
    IF ne THEN
        RETURN ok(differ, descr);
    END IF;
    IF cardinality(extras) > 0 THEN
        msg := E'\n' || diag(E'    Extra records:\n        ' || array_to_string(extras, E'\n        '));
    END IF;
    IF cardinality(missing) > 0 THEN
        msg := msg || E'\n' || diag(E'    Missing records:\n        ' || array_to_string(missing, E'\n        '));
    END IF;
    RETURN ok(NOT differ, descr) || msg;
END;
$$;

CREATE FUNCTION set_eq(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_relcmp(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, '', false) $$;
CREATE FUNCTION set_eq(text, text) RETURNS text LANGUAGE sql AS $$ SELECT set_eq($1, $2, NULL::text) $$;
CREATE FUNCTION set_eq(text, anyarray, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_relcmp(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, '', false) $$;
CREATE FUNCTION set_eq(text, anyarray) RETURNS text LANGUAGE sql AS $$ SELECT set_eq($1, $2, NULL::text) $$;
CREATE FUNCTION bag_eq(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_relcmp(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, 'ALL ', false) $$;
CREATE FUNCTION bag_eq(text, text) RETURNS text LANGUAGE sql AS $$ SELECT bag_eq($1, $2, NULL::text) $$;
CREATE FUNCTION bag_eq(text, anyarray, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_relcmp(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, 'ALL ', false) $$;
CREATE FUNCTION bag_eq(text, anyarray) RETURNS text LANGUAGE sql AS $$ SELECT bag_eq($1, $2, NULL::text) $$;
CREATE FUNCTION set_ne(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_relcmp(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, '', true) $$;
CREATE FUNCTION set_ne(text, text) RETURNS text LANGUAGE sql AS $$ SELECT set_ne($1, $2, NULL::text) $$;
CREATE FUNCTION set_ne(text, anyarray, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_relcmp(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, '', true) $$;
CREATE FUNCTION set_ne(text, anyarray) RETURNS text LANGUAGE sql AS $$ SELECT set_ne($1, $2, NULL::text) $$;
CREATE FUNCTION bag_ne(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_relcmp(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, 'ALL ', true) $$;
CREATE FUNCTION bag_ne(text, text) RETURNS text LANGUAGE sql AS $$ SELECT bag_ne($1, $2, NULL::text) $$;
CREATE FUNCTION bag_ne(text, anyarray, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_relcmp(_temptable($1, '__taphave__'), _temptable($2, '__tapwant__'), $3, 'ALL ', true) $$;
CREATE FUNCTION bag_ne(text, anyarray) RETURNS text LANGUAGE sql AS $$ SELECT bag_ne($1, $2, NULL::text) $$;

CREATE FUNCTION row_eq(text, anyelement, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    rec record;
BEGIN
    EXECUTE _query($1) INTO rec;
    IF rec IS NOT DISTINCT FROM $2 THEN
        RETURN ok(true, $3);
    END IF;
    RETURN ok(false, $3) || E'\n' || diag(
               '        have: ' || CASE WHEN rec IS NULL THEN 'NULL' ELSE rec::text END
        || E'\n        want: ' || CASE WHEN $2 IS NULL THEN 'NULL' ELSE $2::text END);
END;
$$;

CREATE FUNCTION row_eq(text, anyelement) RETURNS text LANGUAGE sql AS $$ SELECT row_eq($1, $2, NULL) $$;

-- is_empty and isnt_empty run the query on the body lines where pgTAP does
-- (9 and 7), so an error in it has the same CONTEXT line in lives_ok's
-- diagnostics and runtests()'s "Test died".
CREATE FUNCTION is_empty(text, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    rows text[] := '{}';
    rec  record;
BEGIN
    -- Every row the query returns is unexpected, and each is listed as
    -- its record text. A query that raises does so here, on pgTAP's
    -- line 9.
    FOR rec IN EXECUTE _query($1) LOOP
        rows := rows || rec::text;
    END LOOP;
    IF cardinality(rows) = 0 THEN
        RETURN ok(true, $2);
    END IF;
    RETURN ok(false, $2) || E'\n' || diag(E'    Unexpected records:\n        ' || array_to_string(rows, E'\n        '));
END;
$$;

CREATE FUNCTION is_empty(text) RETURNS text LANGUAGE sql AS $$ SELECT is_empty($1, NULL) $$;

CREATE FUNCTION isnt_empty(text, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    rec record;
BEGIN
    -- One row is enough. A query that raises does so here, on pgTAP's
    -- line 7.
    FOR rec IN EXECUTE _query($1) LOOP
        RETURN ok(true, $2);
    END LOOP;
    RETURN ok(false, $2);
END;
$$;

CREATE FUNCTION isnt_empty(text) RETURNS text LANGUAGE sql AS $$ SELECT isnt_empty($1, NULL) $$;

-- throws_ok(sql, errcode, errmsg, description). The statement runs inside the
-- block's implicit savepoint, so whatever it did is rolled back with the error.
CREATE FUNCTION throws_ok(text, char(5), text, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    want_code char(5) := $2;
    want_msg  text    := $3;
    descr     text    := coalesce($4,
                                   'threw ' || $2 || ': ' || $3,
                                   'threw ' || $2,
                                   'threw ' || $3,
                                   'threw an exception');
BEGIN
    EXECUTE _query($1);
    RETURN ok(false, descr) || E'\n' || diag(
               '      caught: no exception'
        || E'\n      wanted: ' || coalesce(want_code, 'an exception'));
EXCEPTION WHEN OTHERS OR ASSERT_FAILURE THEN
    IF (want_code IS NULL OR SQLSTATE = want_code) AND (want_msg IS NULL OR SQLERRM = want_msg) THEN
        RETURN ok(true, descr);
    END IF;
    RETURN ok(false, descr) || E'\n' || diag(
               '      caught: ' || SQLSTATE || ': ' || SQLERRM
        || E'\n      wanted: ' || coalesce(want_code, 'an exception') || coalesce(': ' || want_msg, ''));
END;
$$;

-- As in pgTAP, a second argument of exactly 5 bytes is an error code, anything
-- else an error message.
CREATE FUNCTION throws_ok(text, text, text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN octet_length($2) = 5
        THEN throws_ok($1, $2::char(5), $3, NULL)
        ELSE throws_ok($1, NULL, $2, $3) END
$$;

CREATE FUNCTION throws_ok(text, text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN octet_length($2) = 5
        THEN throws_ok($1, $2::char(5), NULL, NULL)
        ELSE throws_ok($1, NULL, $2, NULL) END
$$;

CREATE FUNCTION throws_ok(text) RETURNS text LANGUAGE sql AS $$ SELECT throws_ok($1, NULL::char(5), NULL, NULL) $$;
CREATE FUNCTION throws_ok(text, integer, text, text) RETURNS text LANGUAGE sql AS $$ SELECT throws_ok($1, $2::char(5), $3, $4) $$;
CREATE FUNCTION throws_ok(text, integer, text) RETURNS text LANGUAGE sql AS $$ SELECT throws_ok($1, $2::char(5), $3, NULL) $$;
CREATE FUNCTION throws_ok(text, integer) RETURNS text LANGUAGE sql AS $$ SELECT throws_ok($1, $2::char(5), NULL, NULL) $$;

-- The error a query raises, matched against a pattern with `op`: ~~ (LIKE),
-- ~~* (ILIKE), ~ or ~* (regular expressions). throws_like, throws_ilike,
-- throws_matching and throws_imatching are this with their operator.
CREATE FUNCTION _tap_throws_match(query text, pattern text, op text, descr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    matched boolean;
BEGIN
    EXECUTE _query(query);
    RETURN ok(false, descr) || E'\n' || diag('    no exception thrown');
EXCEPTION WHEN OTHERS THEN
    matched := CASE op WHEN '~~' THEN SQLERRM ~~ pattern WHEN '~~*' THEN SQLERRM ~~* pattern
                       WHEN '~' THEN SQLERRM ~ pattern ELSE SQLERRM ~* pattern END;
    RETURN ok(matched, descr) || CASE WHEN matched THEN '' ELSE E'\n' || diag(
               '   error message: ' || coalesce(quote_literal(SQLERRM), 'NULL')
        || E'\n   doesn''t match: ' || coalesce(quote_literal(pattern), 'NULL')) END;
END;
$$;

CREATE FUNCTION throws_like(text, text, text) RETURNS text
LANGUAGE sql AS $$ SELECT _tap_throws_match($1, $2, '~~', $3) $$;

CREATE FUNCTION throws_like(text, text) RETURNS text
LANGUAGE sql AS $$ SELECT throws_like($1, $2, 'Should throw exception like ' || quote_literal($2)) $$;

-- lives_ok's diagnostic: every field Postgres attached to the error, in pgTAP's layout.
CREATE FUNCTION _tap_error_diag(state text, msg text, detail text, hint text, context text,
                                schname text, tabname text, colname text, chkname text, typname text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(coalesce(nullif(state, '') || ': ', '') || coalesce(nullif(msg, ''), ''), 'NO ERROR FOUND')
        || coalesce(E'\n        DETAIL:     ' || nullif(detail, ''), '')
        || coalesce(E'\n        HINT:       ' || nullif(hint, ''), '')
        || coalesce(E'\n        SCHEMA:     ' || nullif(schname, ''), '')
        || coalesce(E'\n        TABLE:      ' || nullif(tabname, ''), '')
        || coalesce(E'\n        COLUMN:     ' || nullif(colname, ''), '')
        || coalesce(E'\n        CONSTRAINT: ' || nullif(chkname, ''), '')
        || coalesce(E'\n        TYPE:       ' || nullif(typname, ''), '')
        || coalesce(E'\n        CONTEXT:\n' || regexp_replace(nullif(context, ''), '^', '            ', 'gn'), '')
$$;

CREATE FUNCTION lives_ok(text, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    detail  text;
    hint    text;
    context text;
    schname text;
    tabname text;
    colname text;
    chkname text;
    typname text;
BEGIN
    -- The EXECUTE below is line 14 of this body, as in pgTAP, so the CONTEXT
    -- line of a failure ("… line 14 at EXECUTE") reads the same under both.
    EXECUTE _query($1);
    RETURN ok(true, $2);
EXCEPTION WHEN OTHERS OR ASSERT_FAILURE THEN
    GET STACKED DIAGNOSTICS
        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT, context = PG_EXCEPTION_CONTEXT,
        schname = SCHEMA_NAME, tabname = TABLE_NAME, colname = COLUMN_NAME,
        chkname = CONSTRAINT_NAME, typname = PG_DATATYPE_NAME;
    RETURN ok(false, $2) || E'\n' || diag('    died: '
        || _tap_error_diag(SQLSTATE, SQLERRM, detail, hint, context, schname, tabname, colname, chkname, typname));
END;
$$;

CREATE FUNCTION lives_ok(text) RETURNS text LANGUAGE sql AS $$ SELECT lives_ok($1, NULL) $$;
