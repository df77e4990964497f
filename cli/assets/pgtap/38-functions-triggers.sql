-- Part 4d: functions' properties (return type, language, volatility,
-- strictness, kind), the functions of a schema, triggers, extensions, rules,
-- procedural languages, casts and operators, throws_matching. Same overloads,
-- default descriptions and diagnostics as pgTAP 1.2, so a call resolves to
-- the same variant (e.g. is_strict('f', 'x') is function f with description x).
-- The *_are assertions are PL/pgSQL because they call _tap_are/_tap_set_are
-- of 40-policies.sql, installed after this file: PL/pgSQL resolves names when
-- it runs, a SQL function's body when it is created.

-- The function a property assertion looks at, chosen as pgTAP chooses it: in
-- the given schema, or visible on the search_path; with the argument types
-- exactly as written, joined with ',' (unlike has_function, no regtype
-- normalisation: 'int' does not match integer). Without args any overload
-- will do, and the first one found answers.
CREATE FUNCTION _tap_funcs_oid(name, name, name[]) RETURNS oid LANGUAGE sql STABLE AS $$
    SELECT oid FROM _tap_functions WHERE schema = $1 AND name = $2 AND args = array_to_string($3, ',')
$$;
CREATE FUNCTION _tap_funcs_oid(name, name[]) RETURNS oid LANGUAGE sql STABLE AS $$
    SELECT oid FROM _tap_functions WHERE name = $1 AND args = array_to_string($2, ',') AND is_visible
$$;
CREATE FUNCTION _tap_funcs_oid(name, name) RETURNS oid LANGUAGE sql STABLE AS $$
    SELECT oid FROM _tap_functions WHERE schema = $1 AND name = $2 LIMIT 1
$$;
CREATE FUNCTION _tap_funcs_oid(name) RETURNS oid LANGUAGE sql STABLE AS $$
    SELECT oid FROM _tap_functions WHERE name = $1 AND is_visible LIMIT 1
$$;

-- Properties of that function, NULL when there is none.
-- proretset: SETOF; the type as regtype renders it ("integer", "setof text").
CREATE FUNCTION _tap_funcs_returns(oid) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p.proretset THEN 'setof ' ELSE '' END || p.prorettype::regtype::text FROM pg_catalog.pg_proc p WHERE p.oid = $1
$$;
CREATE FUNCTION _tap_funcs_lang(oid) RETURNS name LANGUAGE sql STABLE AS $$
    SELECT l.lanname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang WHERE p.oid = $1
$$;
CREATE FUNCTION _tap_funcs_strict(oid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT p.proisstrict FROM pg_catalog.pg_proc p WHERE p.oid = $1
$$;

-- provolatile: i = IMMUTABLE, s = STABLE, v = VOLATILE. The wanted volatility
-- is read from its first letter, any case, as pgTAP does ('stable', 'S', …).
CREATE FUNCTION _tap_funcs_vol_word(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE lower(left($1, 1)) WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE' WHEN 'v' THEN 'VOLATILE' ELSE 'UNKNOWN' END
$$;
CREATE FUNCTION _tap_funcs_vol(oid) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT _tap_funcs_vol_word(p.provolatile::text) FROM pg_catalog.pg_proc p WHERE p.oid = $1
$$;

-- is() on a property, or "Function … does not exist" when there is no such
-- function (_tap_func_ok of 30-schema.sql is the boolean counterpart).
CREATE FUNCTION _tap_funcs_is(name, name, name[], anyelement, anyelement, text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN $4 IS NULL THEN _tap_func_ok($1, $2, $3, NULL, $6) ELSE is($4, $5, $6) END
$$;

CREATE FUNCTION function_returns(name, name, name[], text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is($1, $2, $3, _tap_funcs_returns(_tap_funcs_oid($1, $2, $3)), $4, $5) $$;
CREATE FUNCTION function_returns(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT function_returns($1, $2, $3, $4, 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ') should return ' || $4) $$;
CREATE FUNCTION function_returns(name, name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is($1, $2, '{}', _tap_funcs_returns(_tap_funcs_oid($1, $2)), $3, $4) $$;
CREATE FUNCTION function_returns(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT function_returns($1, $2, $3, 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '() should return ' || $3) $$;
CREATE FUNCTION function_returns(name, name[], text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is(NULL, $1, $2, _tap_funcs_returns(_tap_funcs_oid($1, $2)), $3, $4) $$;
CREATE FUNCTION function_returns(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT function_returns($1, $2, $3, 'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ') should return ' || $3) $$;
CREATE FUNCTION function_returns(name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is(NULL, $1, '{}', _tap_funcs_returns(_tap_funcs_oid($1)), $2, $3) $$;
CREATE FUNCTION function_returns(name, text) RETURNS text LANGUAGE sql AS $$ SELECT function_returns($1, $2, 'Function ' || quote_ident($1) || '() should return ' || $2) $$;

CREATE FUNCTION function_lang_is(name, name, name[], name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is($1, $2, $3, _tap_funcs_lang(_tap_funcs_oid($1, $2, $3)), $4, $5) $$;
CREATE FUNCTION function_lang_is(name, name, name[], name) RETURNS text LANGUAGE sql AS $$ SELECT function_lang_is($1, $2, $3, $4, 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ') should be written in ' || quote_ident($4)) $$;
CREATE FUNCTION function_lang_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is($1, $2, '{}', _tap_funcs_lang(_tap_funcs_oid($1, $2)), $3, $4) $$;
CREATE FUNCTION function_lang_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT function_lang_is($1, $2, $3, 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '() should be written in ' || quote_ident($3)) $$;
CREATE FUNCTION function_lang_is(name, name[], name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is(NULL, $1, $2, _tap_funcs_lang(_tap_funcs_oid($1, $2)), $3, $4) $$;
CREATE FUNCTION function_lang_is(name, name[], name) RETURNS text LANGUAGE sql AS $$ SELECT function_lang_is($1, $2, $3, 'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ') should be written in ' || quote_ident($3)) $$;
CREATE FUNCTION function_lang_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is(NULL, $1, '{}', _tap_funcs_lang(_tap_funcs_oid($1)), $2, $3) $$;
CREATE FUNCTION function_lang_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT function_lang_is($1, $2, 'Function ' || quote_ident($1) || '() should be written in ' || quote_ident($2)) $$;

CREATE FUNCTION volatility_is(name, name, name[], text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is($1, $2, $3, _tap_funcs_vol(_tap_funcs_oid($1, $2, $3)), _tap_funcs_vol_word($4), $5) $$;
CREATE FUNCTION volatility_is(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT volatility_is($1, $2, $3, $4, 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ') should be ' || _tap_funcs_vol_word($4)) $$;
CREATE FUNCTION volatility_is(name, name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is($1, $2, '{}', _tap_funcs_vol(_tap_funcs_oid($1, $2)), _tap_funcs_vol_word($3), $4) $$;
CREATE FUNCTION volatility_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT volatility_is($1, $2, $3, 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '() should be ' || _tap_funcs_vol_word($3)) $$;
CREATE FUNCTION volatility_is(name, name[], text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is(NULL, $1, $2, _tap_funcs_vol(_tap_funcs_oid($1, $2)), _tap_funcs_vol_word($3), $4) $$;
CREATE FUNCTION volatility_is(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT volatility_is($1, $2, $3, 'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ') should be ' || _tap_funcs_vol_word($3)) $$;
CREATE FUNCTION volatility_is(name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_is(NULL, $1, '{}', _tap_funcs_vol(_tap_funcs_oid($1)), _tap_funcs_vol_word($2), $3) $$;
CREATE FUNCTION volatility_is(name, text) RETURNS text LANGUAGE sql AS $$ SELECT volatility_is($1, $2, 'Function ' || quote_ident($1) || '() should be ' || _tap_funcs_vol_word($2)) $$;

-- As is_definer: with a description a missing function fails with "does not
-- exist", without one as "(test result was NULL)", both as in pgTAP.
CREATE FUNCTION is_strict(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok($1, $2, $3, _tap_funcs_strict(_tap_funcs_oid($1, $2, $3)), $4) $$;
CREATE FUNCTION is_strict(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_strict(_tap_funcs_oid($1, $2, $3)), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ') should be strict') $$;
CREATE FUNCTION is_strict(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok($1, $2, '{}', _tap_funcs_strict(_tap_funcs_oid($1, $2)), $3) $$;
CREATE FUNCTION is_strict(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_strict(_tap_funcs_oid($1, $2)), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '() should be strict') $$;
CREATE FUNCTION is_strict(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok(NULL, $1, $2, _tap_funcs_strict(_tap_funcs_oid($1, $2)), $3) $$;
CREATE FUNCTION is_strict(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_strict(_tap_funcs_oid($1, $2)), 'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ') should be strict') $$;
CREATE FUNCTION is_strict(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok(NULL, $1, '{}', _tap_funcs_strict(_tap_funcs_oid($1)), $2) $$;
CREATE FUNCTION is_strict(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_strict(_tap_funcs_oid($1)), 'Function ' || quote_ident($1) || '() should be strict') $$;
CREATE FUNCTION isnt_strict(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok($1, $2, $3, NOT _tap_funcs_strict(_tap_funcs_oid($1, $2, $3)), $4) $$;
CREATE FUNCTION isnt_strict(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_strict(_tap_funcs_oid($1, $2, $3)), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ') should not be strict') $$;
CREATE FUNCTION isnt_strict(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok($1, $2, '{}', NOT _tap_funcs_strict(_tap_funcs_oid($1, $2)), $3) $$;
CREATE FUNCTION isnt_strict(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_strict(_tap_funcs_oid($1, $2)), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '() should not be strict') $$;
CREATE FUNCTION isnt_strict(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok(NULL, $1, $2, NOT _tap_funcs_strict(_tap_funcs_oid($1, $2)), $3) $$;
CREATE FUNCTION isnt_strict(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_strict(_tap_funcs_oid($1, $2)), 'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ') should not be strict') $$;
CREATE FUNCTION isnt_strict(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok(NULL, $1, '{}', NOT _tap_funcs_strict(_tap_funcs_oid($1)), $2) $$;
CREATE FUNCTION isnt_strict(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_strict(_tap_funcs_oid($1)), 'Function ' || quote_ident($1) || '() should not be strict') $$;

-- The kind assertions report a missing function as "does not exist" in every
-- variant, with or without a description. `qualified`: a variant with a
-- schema argument (named in the description). `args` is what the messages show
-- ('{}' for the variants without args); `what` completes the default
-- description "… should (not) be …" (NULL: use descr).
-- prokind: f = normal function, p = procedure, a = aggregate, w = window function.
CREATE FUNCTION _tap_funcs_kind(qualified boolean, sch name, fn name, args name[], fid oid, kind "char", want boolean, what text, descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT _tap_func_ok(sch, fn, args,
        (SELECT (p.prokind = kind) = want FROM pg_catalog.pg_proc p WHERE p.oid = fid),
        CASE WHEN what IS NULL THEN descr ELSE 'Function '
            || CASE WHEN qualified THEN quote_ident(sch) || '.' ELSE '' END || quote_ident(fn)
            || '(' || array_to_string(args, ', ') || ') should '
            || CASE WHEN want THEN '' ELSE 'not ' END || 'be ' || what END)
$$;

CREATE FUNCTION is_aggregate(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'a', true, NULL, $4) $$;
CREATE FUNCTION is_aggregate(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'a', true, 'an aggregate function', NULL) $$;
CREATE FUNCTION is_aggregate(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'a', true, NULL, $3) $$;
CREATE FUNCTION is_aggregate(name, name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'a', true, 'an aggregate function', NULL) $$;
CREATE FUNCTION is_aggregate(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'a', true, NULL, $3) $$;
CREATE FUNCTION is_aggregate(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'a', true, 'an aggregate function', NULL) $$;
CREATE FUNCTION is_aggregate(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'a', true, NULL, $2) $$;
CREATE FUNCTION is_aggregate(name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'a', true, 'an aggregate function', NULL) $$;
CREATE FUNCTION isnt_aggregate(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'a', false, NULL, $4) $$;
CREATE FUNCTION isnt_aggregate(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'a', false, 'an aggregate function', NULL) $$;
CREATE FUNCTION isnt_aggregate(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'a', false, NULL, $3) $$;
CREATE FUNCTION isnt_aggregate(name, name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'a', false, 'an aggregate function', NULL) $$;
CREATE FUNCTION isnt_aggregate(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'a', false, NULL, $3) $$;
CREATE FUNCTION isnt_aggregate(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'a', false, 'an aggregate function', NULL) $$;
CREATE FUNCTION isnt_aggregate(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'a', false, NULL, $2) $$;
CREATE FUNCTION isnt_aggregate(name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'a', false, 'an aggregate function', NULL) $$;

CREATE FUNCTION is_procedure(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'p', true, NULL, $4) $$;
CREATE FUNCTION is_procedure(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'p', true, 'a procedure', NULL) $$;
CREATE FUNCTION is_procedure(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'p', true, NULL, $3) $$;
CREATE FUNCTION is_procedure(name, name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'p', true, 'a procedure', NULL) $$;
CREATE FUNCTION is_procedure(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'p', true, NULL, $3) $$;
CREATE FUNCTION is_procedure(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'p', true, 'a procedure', NULL) $$;
CREATE FUNCTION is_procedure(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'p', true, NULL, $2) $$;
CREATE FUNCTION is_procedure(name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'p', true, 'a procedure', NULL) $$;
CREATE FUNCTION isnt_procedure(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'p', false, NULL, $4) $$;
CREATE FUNCTION isnt_procedure(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'p', false, 'a procedure', NULL) $$;
CREATE FUNCTION isnt_procedure(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'p', false, NULL, $3) $$;
CREATE FUNCTION isnt_procedure(name, name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'p', false, 'a procedure', NULL) $$;
CREATE FUNCTION isnt_procedure(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'p', false, NULL, $3) $$;
CREATE FUNCTION isnt_procedure(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'p', false, 'a procedure', NULL) $$;
CREATE FUNCTION isnt_procedure(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'p', false, NULL, $2) $$;
CREATE FUNCTION isnt_procedure(name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'p', false, 'a procedure', NULL) $$;

CREATE FUNCTION is_normal_function(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'f', true, NULL, $4) $$;
CREATE FUNCTION is_normal_function(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'f', true, 'a normal function', NULL) $$;
CREATE FUNCTION is_normal_function(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'f', true, NULL, $3) $$;
CREATE FUNCTION is_normal_function(name, name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'f', true, 'a normal function', NULL) $$;
CREATE FUNCTION is_normal_function(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'f', true, NULL, $3) $$;
CREATE FUNCTION is_normal_function(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'f', true, 'a normal function', NULL) $$;
CREATE FUNCTION is_normal_function(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'f', true, NULL, $2) $$;
CREATE FUNCTION is_normal_function(name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'f', true, 'a normal function', NULL) $$;
CREATE FUNCTION isnt_normal_function(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'f', false, NULL, $4) $$;
CREATE FUNCTION isnt_normal_function(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'f', false, 'a normal function', NULL) $$;
CREATE FUNCTION isnt_normal_function(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'f', false, NULL, $3) $$;
CREATE FUNCTION isnt_normal_function(name, name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'f', false, 'a normal function', NULL) $$;
CREATE FUNCTION isnt_normal_function(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'f', false, NULL, $3) $$;
CREATE FUNCTION isnt_normal_function(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'f', false, 'a normal function', NULL) $$;
CREATE FUNCTION isnt_normal_function(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'f', false, NULL, $2) $$;
CREATE FUNCTION isnt_normal_function(name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'f', false, 'a normal function', NULL) $$;

CREATE FUNCTION is_window(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'w', true, NULL, $4) $$;
CREATE FUNCTION is_window(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'w', true, 'a window function', NULL) $$;
CREATE FUNCTION is_window(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'w', true, NULL, $3) $$;
CREATE FUNCTION is_window(name, name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'w', true, 'a window function', NULL) $$;
CREATE FUNCTION is_window(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'w', true, NULL, $3) $$;
CREATE FUNCTION is_window(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'w', true, 'a window function', NULL) $$;
CREATE FUNCTION is_window(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'w', true, NULL, $2) $$;
CREATE FUNCTION is_window(name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'w', true, 'a window function', NULL) $$;
CREATE FUNCTION isnt_window(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'w', false, NULL, $4) $$;
CREATE FUNCTION isnt_window(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, $3, _tap_funcs_oid($1, $2, $3), 'w', false, 'a window function', NULL) $$;
CREATE FUNCTION isnt_window(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'w', false, NULL, $3) $$;
CREATE FUNCTION isnt_window(name, name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(true, $1, $2, '{}', _tap_funcs_oid($1, $2), 'w', false, 'a window function', NULL) $$;
CREATE FUNCTION isnt_window(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'w', false, NULL, $3) $$;
CREATE FUNCTION isnt_window(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, $2, _tap_funcs_oid($1, $2), 'w', false, 'a window function', NULL) $$;
CREATE FUNCTION isnt_window(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'w', false, NULL, $2) $$;
CREATE FUNCTION isnt_window(name) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_kind(false, NULL, $1, '{}', _tap_funcs_oid($1), 'w', false, 'a window function', NULL) $$;

-- Function names (every kind, each name once) in a schema, or visible on the
-- search_path outside the system schemas.
CREATE FUNCTION functions_are(name, name[], text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN _tap_set_are('functions', ARRAY(SELECT f.name FROM _tap_functions f WHERE f.schema = $1), $2, $3);
END;
$$;
CREATE FUNCTION functions_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT functions_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct functions') $$;
CREATE FUNCTION functions_are(name[], text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN _tap_set_are('functions', ARRAY(SELECT f.name FROM _tap_functions f WHERE f.is_visible AND f.schema NOT IN ('pg_catalog', 'information_schema')), $1, $2);
END;
$$;
CREATE FUNCTION functions_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT functions_are($1, 'Search path ' || _tap_search_path() || ' should have the correct functions') $$;

-- Triggers by name on a table in a schema, or on the table visible under that name.
CREATE FUNCTION _tap_funcs_trigger_exists(name, name, name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                     JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = $1 AND c.relname = $2 AND t.tgname = $3)
$$;
CREATE FUNCTION _tap_funcs_trigger_exists(name, name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
                    WHERE c.relname = $1 AND t.tgname = $2 AND pg_catalog.pg_table_is_visible(c.oid))
$$;

CREATE FUNCTION has_trigger(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_trigger_exists($1, $2, $3), $4) $$;
CREATE FUNCTION has_trigger(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_trigger($1, $2, $3, 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should have trigger ' || quote_ident($3)) $$;
CREATE FUNCTION has_trigger(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_trigger_exists($1, $2), $3) $$;
CREATE FUNCTION has_trigger(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_trigger_exists($1, $2), 'Table ' || quote_ident($1) || ' should have trigger ' || quote_ident($2)) $$;
CREATE FUNCTION hasnt_trigger(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_trigger_exists($1, $2, $3), $4) $$;
CREATE FUNCTION hasnt_trigger(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_trigger_exists($1, $2, $3), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should not have trigger ' || quote_ident($3)) $$;
CREATE FUNCTION hasnt_trigger(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_trigger_exists($1, $2), $3) $$;
CREATE FUNCTION hasnt_trigger(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_trigger_exists($1, $2), 'Table ' || quote_ident($1) || ' should not have trigger ' || quote_ident($2)) $$;

-- The function a trigger calls (tgfoid): schema-qualified and quoted in the
-- schema variant, the bare name in the other, as pgTAP compares them.
CREATE FUNCTION trigger_is(name, name, name, name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT is((SELECT quote_ident(pn.nspname) || '.' || quote_ident(p.proname)
                 FROM pg_catalog.pg_trigger t
                 JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
                 JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
                WHERE n.nspname = $1 AND c.relname = $2 AND t.tgname = $3),
              quote_ident($4) || '.' || quote_ident($5), $6)
$$;
CREATE FUNCTION trigger_is(name, name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT trigger_is($1, $2, $3, $4, $5, 'Trigger ' || quote_ident($3) || ' should call ' || quote_ident($4) || '.' || quote_ident($5) || '()') $$;
CREATE FUNCTION trigger_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT is((SELECT p.proname::text
                 FROM pg_catalog.pg_trigger t
                 JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
                 JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
                WHERE c.relname = $1 AND t.tgname = $2 AND pg_catalog.pg_table_is_visible(c.oid)),
              $3::text, $4)
$$;
CREATE FUNCTION trigger_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT trigger_is($1, $2, $3, 'Trigger ' || quote_ident($2) || ' should call ' || quote_ident($3) || '()') $$;

-- User triggers (not tgisinternal, i.e. not those behind foreign keys) of a
-- table in a schema, of the tables of that name outside the system schemas,
-- or of every table outside them.
CREATE FUNCTION _tap_funcs_triggers(name, name) RETURNS name[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT t.tgname FROM pg_catalog.pg_trigger t
                   JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = $1 AND c.relname = $2 AND NOT t.tgisinternal)
$$;
CREATE FUNCTION _tap_funcs_triggers(name) RETURNS name[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT t.tgname FROM pg_catalog.pg_trigger t
                   JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relname = $1 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT t.tgisinternal)
$$;
CREATE FUNCTION _tap_funcs_triggers() RETURNS name[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT t.tgname FROM pg_catalog.pg_trigger t
                   JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT t.tgisinternal)
$$;

CREATE FUNCTION triggers_are(name, name, name[], text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN _tap_set_are('triggers', _tap_funcs_triggers($1, $2), $3, $4); END $$;
CREATE FUNCTION triggers_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT triggers_are($1, $2, $3, 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should have the correct triggers') $$;
-- As in pgTAP 1.2, the table name only narrows the extras: a wanted trigger
-- counts as present when any table outside the system schemas has it.
CREATE FUNCTION triggers_are(name, name[], text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN _tap_are('triggers',
        ARRAY(SELECT unnest(_tap_funcs_triggers($1)) EXCEPT SELECT unnest($2)),
        _tap_missing($2, _tap_funcs_triggers()),
        $3);
END;
$$;
CREATE FUNCTION triggers_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT triggers_are($1, $2, 'Table ' || quote_ident($1) || ' should have the correct triggers') $$;

-- Where the file's CREATE EXTENSION pgtap put pgTAP: the runner answers that
-- statement with _tap_stand_in_pgtap(schema), which keeps the schema here. A
-- table, so the record is exactly as transactional as pgTAP's pg_extension
-- row: a ROLLBACK (to a savepoint) takes it back, and a file that commits it
-- (a setup file that creates a schema and installs pgTAP there) leaves it for
-- the files after it, as pg_prove's files see the extension an earlier one
-- installed. The first CREATE EXTENSION wins, as IF NOT EXISTS does.
CREATE TABLE _tap_extension_home (extname name PRIMARY KEY, schema name NOT NULL);
GRANT INSERT ON _tap_extension_home TO PUBLIC;
CREATE FUNCTION _tap_stand_in_pgtap(name) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- CREATE EXTENSION is refused in a read-only transaction, IF NOT EXISTS or not.
    IF pg_catalog.current_setting('transaction_read_only') = 'on' THEN
        RAISE EXCEPTION 'cannot execute CREATE EXTENSION in a read-only transaction' USING ERRCODE = '25006';
    END IF;
    INSERT INTO _tap_extension_home (extname, schema) VALUES ('pgtap', $1) ON CONFLICT DO NOTHING;
END;
$$;
CREATE FUNCTION _tap_created_pgtap_schema() RETURNS name LANGUAGE sql STABLE AS $$
    SELECT schema FROM _tap_extension_home WHERE extname = 'pgtap'
$$;

-- Extensions, anywhere or in one schema (extnamespace). After a CREATE
-- EXTENSION pgtap (the file's own, or a committed one of an earlier file),
-- pgtap is one of them, in the schema it went to, as pg_extension lists it
-- under pgTAP. Without one the lists read pg_extension only.
CREATE FUNCTION _tap_funcs_extensions(name) RETURNS name[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT e.extname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = $1
                 UNION SELECT 'pgtap'::name WHERE $1 = _tap_created_pgtap_schema())
$$;
CREATE FUNCTION _tap_funcs_extensions() RETURNS name[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT e.extname FROM pg_catalog.pg_extension e
                 UNION SELECT 'pgtap'::name WHERE _tap_created_pgtap_schema() IS NOT NULL)
$$;
-- This library stands in for the pgtap extension, so has_extension and
-- hasnt_extension find "pgtap" as files written for it expect: in the schema
-- a CREATE EXTENSION pgtap named (above), else in `extensions`, where the
-- Supabase CLI installs it before running the tests (the *_are lists name it
-- only after that CREATE EXTENSION). A NULL name or schema is no extension
-- (false, as pgTAP's EXISTS), never a NULL verdict.
CREATE FUNCTION _tap_pgtap_schema() RETURNS name LANGUAGE sql STABLE AS $$
    SELECT coalesce(_tap_created_pgtap_schema(), 'extensions')
$$;
CREATE FUNCTION _tap_funcs_ext_exists(name, name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = $1 AND e.extname = $2)
        OR ($2 = 'pgtap' AND $1 = _tap_pgtap_schema()) IS TRUE
$$;
CREATE FUNCTION _tap_funcs_ext_exists(name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname = $1) OR ($1 = 'pgtap') IS TRUE
$$;

CREATE FUNCTION extensions_are(name, name[], text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN _tap_set_are_unnest('extensions', _tap_funcs_extensions($1), $2, $3); END $$;
CREATE FUNCTION extensions_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT extensions_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct extensions') $$;
CREATE FUNCTION extensions_are(name[], text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN _tap_set_are_unnest('extensions', _tap_funcs_extensions(), $1, $2); END $$;
CREATE FUNCTION extensions_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT extensions_are($1, 'Should have the correct extensions') $$;

CREATE FUNCTION has_extension(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_ext_exists($1, $2), $3) $$;
CREATE FUNCTION has_extension(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_extension($1, $2, 'Extension ' || quote_ident($2) || ' should exist in schema ' || quote_ident($1)) $$;
CREATE FUNCTION has_extension(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_ext_exists($1), $2) $$;
CREATE FUNCTION has_extension(name) RETURNS text LANGUAGE sql AS $$ SELECT has_extension($1, 'Extension ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_extension(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_ext_exists($1, $2), $3) $$;
CREATE FUNCTION hasnt_extension(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_extension($1, $2, 'Extension ' || quote_ident($2) || ' should not exist in schema ' || quote_ident($1)) $$;
CREATE FUNCTION hasnt_extension(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_ext_exists($1), $2) $$;
CREATE FUNCTION hasnt_extension(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_extension($1, 'Extension ' || quote_ident($1) || ' should not exist') $$;

-- Rules (pg_rewrite) on a relation in a schema, or on the one visible under
-- that name: is_instead, NULL when there is no such rule.
CREATE FUNCTION _tap_funcs_rule_instead(name, name, name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT r.is_instead FROM pg_catalog.pg_rewrite r
      JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND r.rulename = $3
$$;
CREATE FUNCTION _tap_funcs_rule_instead(name, name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT r.is_instead FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
     WHERE c.relname = $1 AND r.rulename = $2 AND pg_catalog.pg_table_is_visible(c.oid)
$$;

CREATE FUNCTION has_rule(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_rule_instead($1, $2, $3) IS NOT NULL, $4) $$;
CREATE FUNCTION has_rule(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_rule($1, $2, $3, 'Relation ' || quote_ident($1) || '.' || quote_ident($2) || ' should have rule ' || quote_ident($3)) $$;
CREATE FUNCTION has_rule(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_rule_instead($1, $2) IS NOT NULL, $3) $$;
CREATE FUNCTION has_rule(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_rule($1, $2, 'Relation ' || quote_ident($1) || ' should have rule ' || quote_ident($2)) $$;
CREATE FUNCTION hasnt_rule(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_rule_instead($1, $2, $3) IS NULL, $4) $$;
CREATE FUNCTION hasnt_rule(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_rule($1, $2, $3, 'Relation ' || quote_ident($1) || '.' || quote_ident($2) || ' should not have rule ' || quote_ident($3)) $$;
CREATE FUNCTION hasnt_rule(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_rule_instead($1, $2) IS NULL, $3) $$;
CREATE FUNCTION hasnt_rule(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_rule($1, $2, 'Relation ' || quote_ident($1) || ' should not have rule ' || quote_ident($2)) $$;

CREATE FUNCTION _tap_funcs_instead_ok(is_it boolean, rule name, descr text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN is_it IS NULL THEN ok(false, descr) || E'\n' || diag('    Rule ' || quote_ident(rule) || ' does not exist') ELSE ok(is_it, descr) END
$$;
CREATE FUNCTION rule_is_instead(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_instead_ok(_tap_funcs_rule_instead($1, $2, $3), $3, $4) $$;
CREATE FUNCTION rule_is_instead(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT rule_is_instead($1, $2, $3, 'Rule ' || quote_ident($3) || ' on relation ' || quote_ident($1) || '.' || quote_ident($2) || ' should be an INSTEAD rule') $$;
CREATE FUNCTION rule_is_instead(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_instead_ok(_tap_funcs_rule_instead($1, $2), $2, $3) $$;
CREATE FUNCTION rule_is_instead(name, name) RETURNS text LANGUAGE sql AS $$ SELECT rule_is_instead($1, $2, 'Rule ' || quote_ident($2) || ' on relation ' || quote_ident($1) || ' should be an INSTEAD rule') $$;

-- ev_type: 1 = SELECT, 2 = UPDATE, 3 = INSERT, 4 = DELETE. The wanted event is
-- read from its first letter, any case. Note: as in pgTAP, the variant without
-- a schema looks at every relation of that name, visible or not.
CREATE FUNCTION _tap_funcs_rule_event(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE lower(left($1, 1)) WHEN 's' THEN 'SELECT' WHEN 'u' THEN 'UPDATE' WHEN 'i' THEN 'INSERT' WHEN 'd' THEN 'DELETE' ELSE 'UNKNOWN' END
$$;
CREATE FUNCTION _tap_funcs_rule_on(name, name, name) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE r.ev_type WHEN '1' THEN 'SELECT' WHEN '2' THEN 'UPDATE' WHEN '3' THEN 'INSERT' WHEN '4' THEN 'DELETE' ELSE 'UNKNOWN' END
      FROM pg_catalog.pg_rewrite r
      JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND r.rulename = $3
$$;
CREATE FUNCTION _tap_funcs_rule_on(name, name) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE r.ev_type WHEN '1' THEN 'SELECT' WHEN '2' THEN 'UPDATE' WHEN '3' THEN 'INSERT' WHEN '4' THEN 'DELETE' ELSE 'UNKNOWN' END
      FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
     WHERE c.relname = $1 AND r.rulename = $2
$$;
CREATE FUNCTION _tap_funcs_rule_on_ok(have text, event text, rule name, rel text, descr text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN have IS NULL THEN ok(false, descr) || E'\n' || diag('    Rule ' || quote_ident(rule) || ' does not exist on ' || rel)
                ELSE is(have, _tap_funcs_rule_event(event), descr) END
$$;

CREATE FUNCTION rule_is_on(name, name, name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_rule_on_ok(_tap_funcs_rule_on($1, $2, $3), $4, $3, quote_ident($1) || '.' || quote_ident($2), $5) $$;
CREATE FUNCTION rule_is_on(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT rule_is_on($1, $2, $3, $4, 'Rule ' || quote_ident($3) || ' should be on ' || _tap_funcs_rule_event($4) || ' to ' || quote_ident($1) || '.' || quote_ident($2)) $$;
CREATE FUNCTION rule_is_on(name, name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_funcs_rule_on_ok(_tap_funcs_rule_on($1, $2), $3, $2, quote_ident($1), $4) $$;
CREATE FUNCTION rule_is_on(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT rule_is_on($1, $2, $3, 'Rule ' || quote_ident($2) || ' should be on ' || _tap_funcs_rule_event($3) || ' to ' || quote_ident($1)) $$;

-- Languages of pg_language, procedural or not ('sql' and 'c' count):
-- lanpltrusted, NULL when there is no such language.
CREATE FUNCTION _tap_funcs_lang_trusted(name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT lanpltrusted FROM pg_catalog.pg_language WHERE lanname = $1
$$;
CREATE FUNCTION has_language(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_lang_trusted($1) IS NOT NULL, $2) $$;
CREATE FUNCTION has_language(name) RETURNS text LANGUAGE sql AS $$ SELECT has_language($1, 'Procedural language ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_language(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_lang_trusted($1) IS NULL, $2) $$;
CREATE FUNCTION hasnt_language(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_language($1, 'Procedural language ' || quote_ident($1) || ' should not exist') $$;
CREATE FUNCTION language_is_trusted(name, text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN t IS NULL THEN fail($2) || E'\n' || diag('    Procedural language ' || quote_ident($1) || ' does not exist') ELSE ok(t, $2) END
      FROM _tap_funcs_lang_trusted($1) t
$$;
CREATE FUNCTION language_is_trusted(name) RETURNS text LANGUAGE sql AS $$ SELECT language_is_trusted($1, 'Procedural language ' || quote_ident($1) || ' should be trusted') $$;

-- A type given by name matches format_type's rendering of the catalog's type:
-- as written, or quoted when that rendering is quoted (pgTAP's _cmp_types),
-- so 'integer' matches int4 but 'int' and 'int4' do not.
CREATE FUNCTION _tap_funcs_type_is(oid, name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT t = CASE
        WHEN t !~ '"' THEN $2::text
        WHEN t ~ '"$' OR $2 !~ '[(][^")]+[)]$' THEN quote_ident($2)
        ELSE quote_ident(left($2, -length(substring($2 FROM '[(][^")]+[)]$')))) || substring($2 FROM '[(][^")]+[)]$') END
      FROM pg_catalog.format_type($1, NULL) t
$$;

-- Casts (pg_cast), optionally by the function that implements them.
CREATE FUNCTION _tap_funcs_cast_exists(name, name, name, name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_cast c
                     JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc
                     JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                    WHERE _tap_funcs_type_is(c.castsource, $1) AND _tap_funcs_type_is(c.casttarget, $2)
                      AND n.nspname = $3 AND p.proname = $4)
$$;
CREATE FUNCTION _tap_funcs_cast_exists(name, name, name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc
                    WHERE _tap_funcs_type_is(c.castsource, $1) AND _tap_funcs_type_is(c.casttarget, $2) AND p.proname = $3)
$$;
CREATE FUNCTION _tap_funcs_cast_exists(name, name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_cast c WHERE _tap_funcs_type_is(c.castsource, $1) AND _tap_funcs_type_is(c.casttarget, $2))
$$;

CREATE FUNCTION has_cast(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_cast_exists($1, $2, $3, $4), $5) $$;
CREATE FUNCTION has_cast(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_cast($1, $2, $3, $4, 'Cast (' || quote_ident($1) || ' AS ' || quote_ident($2) || ') WITH FUNCTION ' || quote_ident($3) || '.' || quote_ident($4) || '() should exist') $$;
CREATE FUNCTION has_cast(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_cast_exists($1, $2, $3), $4) $$;
CREATE FUNCTION has_cast(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_cast($1, $2, $3, 'Cast (' || quote_ident($1) || ' AS ' || quote_ident($2) || ') WITH FUNCTION ' || quote_ident($3) || '() should exist') $$;
CREATE FUNCTION has_cast(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_cast_exists($1, $2), $3) $$;
CREATE FUNCTION has_cast(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_cast($1, $2, 'Cast (' || quote_ident($1) || ' AS ' || quote_ident($2) || ') should exist') $$;
CREATE FUNCTION hasnt_cast(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_cast_exists($1, $2, $3, $4), $5) $$;
CREATE FUNCTION hasnt_cast(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_cast($1, $2, $3, $4, 'Cast (' || quote_ident($1) || ' AS ' || quote_ident($2) || ') WITH FUNCTION ' || quote_ident($3) || '.' || quote_ident($4) || '() should not exist') $$;
CREATE FUNCTION hasnt_cast(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_cast_exists($1, $2, $3), $4) $$;
CREATE FUNCTION hasnt_cast(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_cast($1, $2, $3, 'Cast (' || quote_ident($1) || ' AS ' || quote_ident($2) || ') WITH FUNCTION ' || quote_ident($3) || '() should not exist') $$;
CREATE FUNCTION hasnt_cast(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_cast_exists($1, $2), $3) $$;
CREATE FUNCTION hasnt_cast(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_cast($1, $2, 'Cast (' || quote_ident($1) || ' AS ' || quote_ident($2) || ') should not exist') $$;

-- Operators (pg_operator) by left type, name, right type and, optionally,
-- result type; in a schema or visible. oprkind 'l' (prefix) has no left type:
-- it matches a NULL left type.
CREATE FUNCTION _tap_funcs_op_exists(lt name, sch name, op name, rt name, res name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
                    WHERE n.nspname = sch AND o.oprname = op
                      AND CASE o.oprkind WHEN 'l' THEN lt IS NULL ELSE _tap_funcs_type_is(o.oprleft, lt) END
                      AND CASE o.oprkind WHEN 'r' THEN rt IS NULL ELSE _tap_funcs_type_is(o.oprright, rt) END
                      AND _tap_funcs_type_is(o.oprresult, res))
$$;
CREATE FUNCTION _tap_funcs_op_exists(lt name, op name, rt name, res name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_operator o
                    WHERE pg_catalog.pg_operator_is_visible(o.oid) AND o.oprname = op
                      AND CASE o.oprkind WHEN 'l' THEN lt IS NULL ELSE _tap_funcs_type_is(o.oprleft, lt) END
                      AND CASE o.oprkind WHEN 'r' THEN rt IS NULL ELSE _tap_funcs_type_is(o.oprright, rt) END
                      AND _tap_funcs_type_is(o.oprresult, res))
$$;
CREATE FUNCTION _tap_funcs_op_exists(lt name, op name, rt name) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_operator o
                    WHERE pg_catalog.pg_operator_is_visible(o.oid) AND o.oprname = op
                      AND CASE o.oprkind WHEN 'l' THEN lt IS NULL ELSE _tap_funcs_type_is(o.oprleft, lt) END
                      AND CASE o.oprkind WHEN 'r' THEN rt IS NULL ELSE _tap_funcs_type_is(o.oprright, rt) END)
$$;

CREATE FUNCTION has_operator(name, name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_op_exists($1, $2, $3, $4, $5), $6) $$;
CREATE FUNCTION has_operator(name, name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_operator($1, $2, $3, $4, $5, 'Operator ' || quote_ident($2) || '.' || $3 || '(' || $1 || ',' || $4 || ') RETURNS ' || $5 || ' should exist') $$;
CREATE FUNCTION has_operator(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_op_exists($1, $2, $3, $4), $5) $$;
CREATE FUNCTION has_operator(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_operator($1, $2, $3, $4, 'Operator ' || $2 || '(' || $1 || ',' || $3 || ') RETURNS ' || $4 || ' should exist') $$;
CREATE FUNCTION has_operator(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_op_exists($1, $2, $3), $4) $$;
CREATE FUNCTION has_operator(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_operator($1, $2, $3, 'Operator ' || $2 || '(' || $1 || ',' || $3 || ') should exist') $$;
CREATE FUNCTION hasnt_operator(name, name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_op_exists($1, $2, $3, $4, $5), $6) $$;
CREATE FUNCTION hasnt_operator(name, name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_operator($1, $2, $3, $4, $5, 'Operator ' || quote_ident($2) || '.' || $3 || '(' || $1 || ',' || $4 || ') RETURNS ' || $5 || ' should not exist') $$;
CREATE FUNCTION hasnt_operator(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_op_exists($1, $2, $3, $4), $5) $$;
CREATE FUNCTION hasnt_operator(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_operator($1, $2, $3, $4, 'Operator ' || $2 || '(' || $1 || ',' || $3 || ') RETURNS ' || $4 || ' should not exist') $$;
CREATE FUNCTION hasnt_operator(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_op_exists($1, $2, $3), $4) $$;
CREATE FUNCTION hasnt_operator(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_operator($1, $2, $3, 'Operator ' || $2 || '(' || $1 || ',' || $3 || ') should not exist') $$;

-- throws_matching / throws_imatching: the error message against a regular
-- expression (~ / ~*). Diagnostics as throws_like's.
CREATE FUNCTION throws_matching(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_throws_match($1, $2, '~', $3) $$;
CREATE FUNCTION throws_matching(text, text) RETURNS text LANGUAGE sql AS $$ SELECT throws_matching($1, $2, 'Should throw exception matching ' || quote_literal($2)) $$;
CREATE FUNCTION throws_imatching(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_throws_match($1, $2, '~*', $3) $$;
CREATE FUNCTION throws_imatching(text, text) RETURNS text LANGUAGE sql AS $$ SELECT throws_imatching($1, $2, 'Should throw exception matching ' || quote_literal($2)) $$;
