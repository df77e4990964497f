-- Part 4: assertions about the schema: tables, columns, primary keys,
-- functions, SECURITY DEFINER. Same overloads as pgTAP, so a call resolves to
-- the same variant (e.g. has_table('a', 'b') is table a with description b,
-- because unknown literals prefer text over name, as in pgTAP).

-- relkind: r = ordinary table, p = partitioned table.
CREATE FUNCTION _tap_table_exists(sch name, tbl name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind IN ('r', 'p') AND n.nspname = sch AND c.relname = tbl)
$$;

CREATE FUNCTION _tap_table_exists(tbl name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_class c
                    WHERE c.relkind IN ('r', 'p') AND c.relname = tbl AND pg_catalog.pg_table_is_visible(c.oid))
$$;

CREATE FUNCTION has_table(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_table_exists($1, $2), $3) $$;
CREATE FUNCTION has_table(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_table_exists($1, $2), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should exist') $$;
CREATE FUNCTION has_table(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_table_exists($1), $2) $$;
CREATE FUNCTION has_table(name) RETURNS text LANGUAGE sql AS $$ SELECT has_table($1, 'Table ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_table(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_table_exists($1, $2), $3) $$;
CREATE FUNCTION hasnt_table(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_table_exists($1, $2), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should not exist') $$;
CREATE FUNCTION hasnt_table(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_table_exists($1), $2) $$;
CREATE FUNCTION hasnt_table(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_table($1, 'Table ' || quote_ident($1) || ' should not exist') $$;

-- attnum > 0 skips system columns; attisdropped marks a dropped column's slot.
CREATE FUNCTION _tap_column_exists(sch name, tbl name, col name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = sch AND c.relname = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped)
$$;

CREATE FUNCTION _tap_column_exists(tbl name, col name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                    WHERE c.relname = tbl AND pg_catalog.pg_table_is_visible(c.oid)
                      AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped)
$$;

-- pgTAP's internal _cexists(schema, table, column) and _cexists(table, column), by pgTAP's
-- name: suites call it, as purescript-halogen-nextjs's db-tests do to define a
-- has_column(schema, table, column) of their own over it.
CREATE FUNCTION _cexists(name, name, name) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT _tap_column_exists($1, $2, $3) $$;
CREATE FUNCTION _cexists(name, name) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT _tap_column_exists($1, $2) $$;

CREATE FUNCTION has_column(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_column_exists($1, $2, $3), $4) $$;
CREATE FUNCTION has_column(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_column_exists($1, $2), $3) $$;
CREATE FUNCTION has_column(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_column($1, $2, 'Column ' || quote_ident($1) || '.' || quote_ident($2) || ' should exist') $$;
CREATE FUNCTION hasnt_column(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_column_exists($1, $2, $3), $4) $$;
CREATE FUNCTION hasnt_column(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_column_exists($1, $2), $3) $$;
CREATE FUNCTION hasnt_column(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_column($1, $2, 'Column ' || quote_ident($1) || '.' || quote_ident($2) || ' should not exist') $$;

-- The columns of a table's primary key (contype 'p'), in key order.
CREATE FUNCTION _tap_pk(sch name, tbl name) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT a.attname FROM unnest(x.conkey) WITH ORDINALITY k(attnum, i)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = x.conrelid AND a.attnum = k.attnum ORDER BY k.i)
      FROM pg_catalog.pg_constraint x
      JOIN pg_catalog.pg_class c ON c.oid = x.conrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE x.contype = 'p' AND n.nspname = sch AND c.relname = tbl
$$;

CREATE FUNCTION _tap_pk(tbl name) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT a.attname FROM unnest(x.conkey) WITH ORDINALITY k(attnum, i)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = x.conrelid AND a.attnum = k.attnum ORDER BY k.i)
      FROM pg_catalog.pg_constraint x
      JOIN pg_catalog.pg_class c ON c.oid = x.conrelid
     WHERE x.contype = 'p' AND c.relname = tbl AND pg_catalog.pg_table_is_visible(c.oid)
$$;

CREATE FUNCTION _tap_ident_list(name[], text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_to_string(ARRAY(SELECT quote_ident(x) FROM unnest($1) WITH ORDINALITY u(x, i) ORDER BY i), $2)
$$;

CREATE FUNCTION col_is_pk(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT is(_tap_pk($1, $2), $3, $4) $$;
CREATE FUNCTION col_is_pk(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT is(_tap_pk($1), $2, $3) $$;
CREATE FUNCTION col_is_pk(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_is_pk($1, $2, 'Columns ' || quote_ident($1) || '(' || _tap_ident_list($2, ', ') || ') should be a primary key') $$;
CREATE FUNCTION col_is_pk(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_is_pk($1, $2, ARRAY[$3], $4) $$;
CREATE FUNCTION col_is_pk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_is_pk($1, ARRAY[$2], $3) $$;
CREATE FUNCTION col_is_pk(name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_is_pk($1, $2, 'Column ' || quote_ident($1) || '(' || quote_ident($2) || ') should be a primary key') $$;
-- pgTAP 1.3.0 added (schema, table, columns) and (schema, table, column) without a
-- description. Untyped literals still pick (table, column, description) as under 1.2:
-- text is the preferred type of the string category; three name-typed arguments now
-- mean schema, table, column.
CREATE FUNCTION col_is_pk(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_is_pk($1, $2, $3, 'Columns ' || quote_ident($1) || '.' || quote_ident($2) || '(' || _tap_ident_list($3, ', ') || ') should be a primary key') $$;
CREATE FUNCTION col_is_pk(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_is_pk($1, $2, ARRAY[$3], 'Column ' || quote_ident($1) || '.' || quote_ident($2) || '(' || quote_ident($3) || ') should be a primary key') $$;

-- Functions as pgTAP sees them: argument types rendered through regtype and
-- joined with ',' (so 'int' and 'integer' name the same signature).
CREATE FUNCTION _tap_args(name[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN array_to_string($1::regtype[], ',');
EXCEPTION WHEN undefined_object THEN
    RETURN array_to_string($1, ',');
END;
$$;

CREATE VIEW _tap_functions AS
SELECT p.oid,
       n.nspname AS schema,
       p.proname AS name,
       array_to_string(p.proargtypes::regtype[], ',') AS args,
       p.prosecdef AS is_definer,
       pg_catalog.pg_function_is_visible(p.oid) AS is_visible
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace;

CREATE FUNCTION _tap_has_func(name, name, name[]) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT FROM _tap_functions WHERE schema = $1 AND name = $2 AND args = _tap_args($3)) $$;
CREATE FUNCTION _tap_has_func(name, name) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT FROM _tap_functions WHERE schema = $1 AND name = $2) $$;
CREATE FUNCTION _tap_has_func(name, name[]) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT FROM _tap_functions WHERE name = $1 AND args = _tap_args($2) AND is_visible) $$;
CREATE FUNCTION _tap_has_func(name) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT FROM _tap_functions WHERE name = $1 AND is_visible) $$;

CREATE FUNCTION has_function(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_has_func($1, $2, $3), $4) $$;
CREATE FUNCTION has_function(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_has_func($1, $2, $3), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ') should exist') $$;
CREATE FUNCTION has_function(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_has_func($1, $2), $3) $$;
CREATE FUNCTION has_function(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_has_func($1, $2), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '() should exist') $$;
CREATE FUNCTION has_function(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_has_func($1, $2), $3) $$;
CREATE FUNCTION has_function(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_has_func($1, $2), 'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ') should exist') $$;
CREATE FUNCTION has_function(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_has_func($1), $2) $$;
CREATE FUNCTION has_function(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_has_func($1), 'Function ' || quote_ident($1) || '() should exist') $$;
CREATE FUNCTION hasnt_function(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_has_func($1, $2, $3), $4) $$;
CREATE FUNCTION hasnt_function(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_has_func($1, $2, $3), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ') should not exist') $$;
CREATE FUNCTION hasnt_function(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_has_func($1, $2), $3) $$;
CREATE FUNCTION hasnt_function(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_has_func($1, $2), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '() should not exist') $$;
CREATE FUNCTION hasnt_function(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_has_func($1, $2), $3) $$;
CREATE FUNCTION hasnt_function(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_has_func($1, $2), 'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ') should not exist') $$;
CREATE FUNCTION hasnt_function(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_has_func($1), $2) $$;
CREATE FUNCTION hasnt_function(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_has_func($1), 'Function ' || quote_ident($1) || '() should not exist') $$;

-- prosecdef of the function, NULL when there is none. As in pgTAP, the
-- variants with args compare them as written, joined with ','.
CREATE FUNCTION _tap_definer(name, name, name[]) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT is_definer FROM _tap_functions WHERE schema = $1 AND name = $2 AND args = array_to_string($3, ',') $$;
CREATE FUNCTION _tap_definer(name, name) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT is_definer FROM _tap_functions WHERE schema = $1 AND name = $2 $$;
CREATE FUNCTION _tap_definer(name, name[]) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT is_definer FROM _tap_functions WHERE name = $1 AND args = array_to_string($2, ',') AND is_visible $$;
CREATE FUNCTION _tap_definer(name) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT is_definer FROM _tap_functions WHERE name = $1 AND is_visible $$;

-- With a description, a missing function fails with "does not exist";
-- without one, its NULL result fails as "(test result was NULL)" — both as in pgTAP.
CREATE FUNCTION _tap_func_ok(sch name, fn name, args name[], result boolean, descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN result IS NULL
        THEN ok(false, descr) || E'\n' || diag('    Function '
                 || CASE WHEN sch IS NOT NULL THEN quote_ident(sch) || '.' ELSE '' END
                 || quote_ident(fn) || '(' || array_to_string(args, ', ') || ') does not exist')
        ELSE ok(result, descr) END
$$;

CREATE FUNCTION is_definer(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok($1, $2, $3, _tap_definer($1, $2, $3), $4) $$;
CREATE FUNCTION is_definer(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_definer($1, $2, $3), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ') should be security definer') $$;
CREATE FUNCTION is_definer(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok($1, $2, '{}', _tap_definer($1, $2), $3) $$;
CREATE FUNCTION is_definer(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_definer($1, $2), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '() should be security definer') $$;
CREATE FUNCTION is_definer(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok(NULL, $1, $2, _tap_definer($1, $2), $3) $$;
CREATE FUNCTION is_definer(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_definer($1, $2), 'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ') should be security definer') $$;
CREATE FUNCTION is_definer(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok(NULL, $1, '{}', _tap_definer($1), $2) $$;
CREATE FUNCTION is_definer(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_definer($1), 'Function ' || quote_ident($1) || '() should be security definer') $$;
CREATE FUNCTION isnt_definer(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok($1, $2, $3, NOT _tap_definer($1, $2, $3), $4) $$;
CREATE FUNCTION isnt_definer(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_definer($1, $2, $3), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ') should not be security definer') $$;
CREATE FUNCTION isnt_definer(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok($1, $2, '{}', NOT _tap_definer($1, $2), $3) $$;
CREATE FUNCTION isnt_definer(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_definer($1, $2), 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '() should not be security definer') $$;
CREATE FUNCTION isnt_definer(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok(NULL, $1, $2, NOT _tap_definer($1, $2), $3) $$;
CREATE FUNCTION isnt_definer(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_definer($1, $2), 'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ') should not be security definer') $$;
CREATE FUNCTION isnt_definer(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_func_ok(NULL, $1, '{}', NOT _tap_definer($1), $2) $$;
CREATE FUNCTION isnt_definer(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_definer($1), 'Function ' || quote_ident($1) || '() should not be security definer') $$;
