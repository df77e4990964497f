-- Part 4b: a few more pgTAP schema assertions that RLS test files often use
-- (schemas, views, roles, primary keys, NOT NULL), same overloads and wording.

CREATE FUNCTION _tap_schema_exists(name) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = $1) $$;
CREATE FUNCTION has_schema(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_schema_exists($1), $2) $$;
CREATE FUNCTION has_schema(name) RETURNS text LANGUAGE sql AS $$ SELECT has_schema($1, 'Schema ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_schema(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_schema_exists($1), $2) $$;
CREATE FUNCTION hasnt_schema(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_schema($1, 'Schema ' || quote_ident($1) || ' should not exist') $$;

-- relkind 'v': a view.
CREATE FUNCTION _tap_view_exists(sch name, v name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind = 'v' AND n.nspname = sch AND c.relname = v)
$$;
CREATE FUNCTION _tap_view_exists(v name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.relkind = 'v' AND c.relname = v AND pg_catalog.pg_table_is_visible(c.oid))
$$;
CREATE FUNCTION has_view(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_view_exists($1, $2), $3) $$;
CREATE FUNCTION has_view(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_view($1, $2, 'View ' || quote_ident($1) || '.' || quote_ident($2) || ' should exist') $$;
CREATE FUNCTION has_view(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_view_exists($1), $2) $$;
CREATE FUNCTION has_view(name) RETURNS text LANGUAGE sql AS $$ SELECT has_view($1, 'View ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_view(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_view_exists($1, $2), $3) $$;
CREATE FUNCTION hasnt_view(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_view($1, $2, 'View ' || quote_ident($1) || '.' || quote_ident($2) || ' should not exist') $$;
CREATE FUNCTION hasnt_view(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_view_exists($1), $2) $$;
CREATE FUNCTION hasnt_view(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_view($1, 'View ' || quote_ident($1) || ' should not exist') $$;

CREATE FUNCTION _tap_role_exists(name) RETURNS boolean LANGUAGE sql STABLE STRICT AS $$ SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $1) $$;
CREATE FUNCTION has_role(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_role_exists($1), $2) $$;
CREATE FUNCTION has_role(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_role_exists($1), 'Role ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_role(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_role_exists($1), $2) $$;
CREATE FUNCTION hasnt_role(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_role_exists($1), 'Role ' || quote_ident($1) || ' should not exist') $$;

-- contype 'p': a primary key constraint (_tap_pk is NULL without one).
CREATE FUNCTION has_pk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_pk($1, $2) IS NOT NULL, $3) $$;
CREATE FUNCTION has_pk(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_pk($1) IS NOT NULL, $2) $$;
CREATE FUNCTION has_pk(name) RETURNS text LANGUAGE sql AS $$ SELECT has_pk($1, 'Table ' || quote_ident($1) || ' should have a primary key') $$;
-- pgTAP 1.3.1's (schema, table); two untyped literals still mean (table, description).
CREATE FUNCTION has_pk(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_pk($1, $2, 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should have a primary key') $$;
CREATE FUNCTION hasnt_pk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_pk($1, $2) IS NULL, $3) $$;
CREATE FUNCTION hasnt_pk(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_pk($1) IS NULL, $2) $$;
CREATE FUNCTION hasnt_pk(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_pk($1, 'Table ' || quote_ident($1) || ' should not have a primary key') $$;

-- attnotnull: the column's NOT NULL flag. A missing column fails with "does not exist".
-- on_path: the table-only variants, which look on the search path; with a
-- schema argument, a NULL schema names no schema, so the test fails and, as
-- in pgTAP, its NULL name makes the whole output NULL (the test still counts).
CREATE FUNCTION _tap_col_null(sch name, tbl name, col name, descr text, not_null boolean, on_path boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    qcol text := CASE WHEN on_path THEN '' ELSE quote_ident(sch) || '.' END || quote_ident(tbl) || '.' || quote_ident(col);
    d    text := coalesce(descr, 'Column ' || qcol || ' should ' || CASE WHEN not_null THEN 'be NOT' ELSE 'allow' END || ' NULL');
    flag boolean;
BEGIN
    SELECT a.attnotnull INTO flag
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
       AND CASE WHEN on_path THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = sch END;
    IF NOT FOUND THEN
        RETURN fail(d) || E'\n' || diag('    Column ' || qcol || ' does not exist');
    END IF;
    RETURN ok(flag = not_null, d);
END;
$$;
CREATE FUNCTION col_not_null(schema_name name, table_name name, column_name name, description text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$ SELECT _tap_col_null($1, $2, $3, $4, true, false) $$;
CREATE FUNCTION col_not_null(table_name name, column_name name, description text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$ SELECT _tap_col_null(NULL, $1, $2, $3, true, true) $$;
CREATE FUNCTION col_is_null(schema_name name, table_name name, column_name name, description text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$ SELECT _tap_col_null($1, $2, $3, $4, false, false) $$;
CREATE FUNCTION col_is_null(table_name name, column_name name, description text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$ SELECT _tap_col_null(NULL, $1, $2, $3, false, true) $$;
