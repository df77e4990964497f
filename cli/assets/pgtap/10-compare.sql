-- Part 2: comparing values: is, isnt, matches and friends, cmp_ok.
-- Diagnostics use pgTAP's exact wording and indentation.

-- is, isnt and cmp_ok compare on the body lines where pgTAP does (7, 6 and
-- 10), so an error there (json has no equality operator, cmp_ok was given
-- an unknown one) has the same CONTEXT line, which lives_ok's diagnostics
-- and runtests()'s "Test died" print.
CREATE FUNCTION is(anyelement, anyelement, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    same boolean;
BEGIN
    -- NULL is the same as NULL here, unlike with =; two values of a type
    -- without an equality operator (json) raise here, on pgTAP's line 7.
    same := $1 IS NOT DISTINCT FROM $2;
    RETURN ok(same, $3) || CASE WHEN same THEN '' ELSE E'\n' || diag(
               '        have: ' || coalesce($1::text, 'NULL')
        || E'\n        want: ' || coalesce($2::text, 'NULL')) END;
END;
$$;

CREATE FUNCTION is(anyelement, anyelement) RETURNS text
LANGUAGE sql AS $$ SELECT is($1, $2, NULL) $$;

CREATE FUNCTION isnt(anyelement, anyelement, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    differ boolean;
BEGIN
    -- As in is(), NULL and NULL do not differ.
    differ := $1 IS DISTINCT FROM $2;
    RETURN ok(differ, $3) || CASE WHEN differ THEN '' ELSE E'\n' || diag(
               '        have: ' || coalesce($1::text, 'NULL')
        || E'\n        want: anything else') END;
END;
$$;

CREATE FUNCTION isnt(anyelement, anyelement) RETURNS text
LANGUAGE sql AS $$ SELECT isnt($1, $2, NULL) $$;

-- The shared failure text of matches/imatches/alike/ialike.
CREATE FUNCTION _tap_like(result boolean, got anyelement, pattern text, descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT ok(result, descr) || CASE WHEN result THEN '' ELSE E'\n' || diag(
               '                  ' || coalesce(quote_literal(got), 'NULL')
        || E'\n   doesn''t match: ' || coalesce(quote_literal(pattern), 'NULL')) END
$$;

-- ... and of doesnt_match/doesnt_imatch/unalike/unialike.
CREATE FUNCTION _tap_unlike(result boolean, got anyelement, pattern text, descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT ok(result, descr) || CASE WHEN result THEN '' ELSE E'\n' || diag(
               '                  ' || coalesce(quote_literal(got), 'NULL')
        || E'\n         matches: ' || coalesce(quote_literal(pattern), 'NULL')) END
$$;

CREATE FUNCTION matches(anyelement, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_like($1 ~ $2, $1, $2, $3) $$;
CREATE FUNCTION matches(anyelement, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_like($1 ~ $2, $1, $2, NULL) $$;
CREATE FUNCTION imatches(anyelement, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_like($1 ~* $2, $1, $2, $3) $$;
CREATE FUNCTION imatches(anyelement, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_like($1 ~* $2, $1, $2, NULL) $$;
CREATE FUNCTION alike(anyelement, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_like($1 ~~ $2, $1, $2, $3) $$;
CREATE FUNCTION alike(anyelement, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_like($1 ~~ $2, $1, $2, NULL) $$;
CREATE FUNCTION ialike(anyelement, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_like($1 ~~* $2, $1, $2, $3) $$;
CREATE FUNCTION ialike(anyelement, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_like($1 ~~* $2, $1, $2, NULL) $$;
CREATE FUNCTION doesnt_match(anyelement, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_unlike($1 !~ $2, $1, $2, $3) $$;
CREATE FUNCTION doesnt_match(anyelement, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_unlike($1 !~ $2, $1, $2, NULL) $$;
CREATE FUNCTION doesnt_imatch(anyelement, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_unlike($1 !~* $2, $1, $2, $3) $$;
CREATE FUNCTION doesnt_imatch(anyelement, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_unlike($1 !~* $2, $1, $2, NULL) $$;
CREATE FUNCTION unalike(anyelement, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_unlike($1 !~~ $2, $1, $2, $3) $$;
CREATE FUNCTION unalike(anyelement, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_unlike($1 !~~ $2, $1, $2, NULL) $$;
CREATE FUNCTION unialike(anyelement, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_unlike($1 !~~* $2, $1, $2, $3) $$;
CREATE FUNCTION unialike(anyelement, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_unlike($1 !~~* $2, $1, $2, NULL) $$;

-- cmp_ok(have, operator, want): the operator is spliced into SQL as pgTAP
-- does; both values travel as typed literals.
CREATE FUNCTION cmp_ok(anyelement, text, anyelement, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result boolean;
BEGIN
    -- Concatenated, not format()ted: a NULL operator makes the whole query
    -- NULL, and EXECUTE fails with pgTAP's "query string argument of
    -- EXECUTE is null" (22004) rather than a syntax error. The operator goes
    -- in as it was given, so 'IS DISTINCT FROM' works, and an unknown one
    -- raises here, on pgTAP's line 10.
    EXECUTE 'SELECT '
        || coalesce(quote_literal($1), 'NULL') || '::' || pg_typeof($1) || ' ' || $2 || ' '
        || coalesce(quote_literal($3), 'NULL') || '::' || pg_typeof($3) INTO result;
    RETURN ok(coalesce(result, false), $4) || CASE WHEN result THEN '' ELSE E'\n' || diag(
               '    ' || coalesce(quote_literal($1), 'NULL')
        || E'\n        ' || $2
        || E'\n    ' || coalesce(quote_literal($3), 'NULL')) END;
END;
$$;

CREATE FUNCTION cmp_ok(anyelement, text, anyelement) RETURNS text
LANGUAGE sql AS $$ SELECT cmp_ok($1, $2, $3, NULL) $$;
