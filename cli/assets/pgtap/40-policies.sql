-- Part 5: policies and privileges, pgTAP's wording.

-- pgTAP's _are(): "Extra"/"Missing" lists of identifiers, quoted and sorted.
-- A list counts as empty when its first element is NULL, as in pgTAP (so
-- columns_are(t, ARRAY[its columns…, NULL]) passes, as it does there).
CREATE FUNCTION _tap_are(what text, extras name[], missing name[], descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT ok(extras[1] IS NULL AND missing[1] IS NULL, descr)
        || CASE WHEN extras[1] IS NULL THEN '' ELSE E'\n' || diag('    Extra ' || what || E':\n        '
               || array_to_string(ARRAY(SELECT quote_ident(x) FROM unnest(extras) x ORDER BY x), E'\n        ')) END
        || CASE WHEN missing[1] IS NULL THEN '' ELSE E'\n' || diag('    Missing ' || what || E':\n        '
               || array_to_string(ARRAY(SELECT quote_ident(x) FROM unnest(missing) x ORDER BY x), E'\n        ')) END
$$;

-- The same for privileges: names are compared upper-cased on the "have"
-- side only and printed unquoted (pgTAP's _assets_are/_areni). As there, a
-- list counts as empty when its first element is NULL: a wanted NULL sorts
-- last, so it alone among the missing passes, and beside others prints nothing.
CREATE FUNCTION _tap_privs_are(have text[], want name[], descr text) RETURNS text
LANGUAGE sql AS $$
    WITH extras AS (SELECT ARRAY(SELECT upper(h) FROM unnest(have) h EXCEPT SELECT w FROM unnest(want) w ORDER BY 1) AS a),
         missing AS (SELECT ARRAY(SELECT w::text FROM unnest(want) w EXCEPT SELECT upper(h) FROM unnest(have) h ORDER BY 1) AS a)
    SELECT ok(e.a[1] IS NULL AND m.a[1] IS NULL, descr)
        || CASE WHEN e.a[1] IS NULL THEN '' ELSE E'\n' || diag(E'    Extra privileges:\n        ' || array_to_string(e.a, E'\n        ')) END
        || CASE WHEN m.a[1] IS NULL THEN '' ELSE E'\n' || diag(E'    Missing privileges:\n        ' || array_to_string(m.a, E'\n        ')) END
      FROM extras e, missing m
$$;

-- Policies of one table. With a schema, the table in that schema (a NULL
-- schema names none); without, every table of that name outside pg_catalog
-- and information_schema, visible or not, as in pgTAP.
CREATE FUNCTION _tap_policies(sch name, tbl name) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT p.polname FROM pg_catalog.pg_policy p
                   JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relname = tbl AND n.nspname = sch)
$$;
CREATE FUNCTION _tap_policies(tbl name) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT p.polname FROM pg_catalog.pg_policy p
                   JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relname = tbl AND n.nspname NOT IN ('pg_catalog', 'information_schema'))
$$;

-- The missing names come from _tap_missing (00-core.sql), so a wanted NULL
-- gives pgTAP's verdict.
CREATE FUNCTION _tap_set_are(what text, have name[], want name[], descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT _tap_are(what, ARRAY(SELECT unnest(have) EXCEPT SELECT unnest(want)), _tap_missing(want, have), descr)
$$;

-- The same with the wanted names unnested, as pgTAP 1.2 reads them for
-- extensions_are and partitions_are only: unnest of an argument is planned
-- as 10 rows, so a wanted NULL lands elsewhere in the missing list and the
-- verdict can differ from the other lists'. A SQL function for the same
-- reason as _tap_missing.
CREATE FUNCTION _tap_set_are_unnest(what text, have name[], want name[], descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT _tap_are(what,
        ARRAY(SELECT unnest(have) EXCEPT SELECT unnest(want)),
        ARRAY(SELECT unnest(want) EXCEPT SELECT unnest(have)),
        descr)
$$;

CREATE FUNCTION policies_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_set_are('policies', _tap_policies($1, $2), $3, $4) $$;
CREATE FUNCTION policies_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT policies_are($1, $2, $3, 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should have the correct policies') $$;
-- As in pgTAP 1.2, "extra" are the policies of the tables of that name, but
-- "missing" are the wanted names that no policy of any table (outside
-- pg_catalog and information_schema) has: a policy of another table counts
-- as present.
CREATE FUNCTION policies_are(name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_are('policies',
        ARRAY(SELECT unnest(_tap_policies($1)) EXCEPT SELECT unnest($2)),
        _tap_missing($2, ARRAY(SELECT p.polname FROM pg_catalog.pg_policy p
                                 JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
                                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))),
        $3)
$$;
CREATE FUNCTION policies_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT policies_are($1, $2, 'Table ' || quote_ident($1) || ' should have the correct policies') $$;

-- Roles a policy applies to, from pg_roles. polroles holds oid 0 for PUBLIC,
-- which is no role there, so a TO PUBLIC policy has no roles, as in pgTAP.
-- Schema and table as for _tap_policies (NULL sch: the table of that name
-- in any schema outside pg_catalog and information_schema).
CREATE FUNCTION _tap_policy_roles(sch name, tbl name, pol name, any_schema boolean) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT r.rolname
                   FROM pg_catalog.pg_policy p
                   JOIN pg_catalog.pg_roles r ON r.oid = ANY (p.polroles)
                   JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relname = tbl AND p.polname = pol
                    AND CASE WHEN any_schema THEN n.nspname NOT IN ('pg_catalog', 'information_schema') ELSE n.nspname = sch END)
$$;

CREATE FUNCTION policy_roles_are(name, name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_set_are('policy roles', _tap_policy_roles($1, $2, $3, false), $4, $5) $$;
CREATE FUNCTION policy_roles_are(name, name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT policy_roles_are($1, $2, $3, $4, 'Policy ' || quote_ident($3) || ' for table ' || quote_ident($1) || '.' || quote_ident($2) || ' should have the correct roles') $$;
CREATE FUNCTION policy_roles_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_set_are('policy roles', _tap_policy_roles(NULL, $1, $2, true), $3, $4) $$;
CREATE FUNCTION policy_roles_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT policy_roles_are($1, $2, $3, 'Policy ' || quote_ident($2) || ' for table ' || quote_ident($1) || ' should have the correct roles') $$;

-- polcmd: r = SELECT, a = INSERT, w = UPDATE, d = DELETE, * = ALL.
-- Schema and table as for _tap_policy_roles.
CREATE FUNCTION _tap_policy_cmd(sch name, tbl name, pol name, any_schema boolean) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
      FROM pg_catalog.pg_policy p
      JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = tbl AND p.polname = pol
       AND CASE WHEN any_schema THEN n.nspname NOT IN ('pg_catalog', 'information_schema') ELSE n.nspname = sch END
$$;

CREATE FUNCTION policy_cmd_is(name, name, name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT is(_tap_policy_cmd($1, $2, $3, false), upper($4), $5) $$;
CREATE FUNCTION policy_cmd_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT policy_cmd_is($1, $2, $3, $4, 'Policy ' || quote_ident($3) || ' for table ' || quote_ident($1) || '.' || quote_ident($2) || ' should apply to ' || upper($4) || ' command') $$;
CREATE FUNCTION policy_cmd_is(name, name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT is(_tap_policy_cmd(NULL, $1, $2, true), upper($3), $4) $$;
CREATE FUNCTION policy_cmd_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT policy_cmd_is($1, $2, $3, 'Policy ' || quote_ident($2) || ' for table ' || quote_ident($1) || ' should apply to ' || upper($3) || ' command') $$;

-- Privileges through has_*_privilege, i.e. including those a role inherits
-- and those granted to PUBLIC, as pgTAP reports them, in pgTAP's order. A
-- missing object or role comes back as a one-element marker that
-- _tap_privs_check turns into pgTAP's diagnostic. Each kind catches only the
-- errors pgTAP turns into one: has_sequence_privilege's 42809 for a relation
-- that is not a sequence, or a missing schema in a table's name, go through.
CREATE FUNCTION _tap_privs_of(kind text, role name, obj text, col name DEFAULT NULL) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN ARRAY(
        SELECT p FROM unnest(CASE kind
                WHEN 'table' THEN ARRAY['DELETE', 'INSERT', 'REFERENCES', 'SELECT', 'TRIGGER', 'TRUNCATE', 'UPDATE']
                WHEN 'schema' THEN ARRAY['CREATE', 'USAGE']
                WHEN 'function' THEN ARRAY['EXECUTE']
                WHEN 'database' THEN ARRAY['CREATE', 'CONNECT', 'TEMPORARY']
                WHEN 'sequence' THEN ARRAY['SELECT', 'UPDATE', 'USAGE']
                ELSE ARRAY['INSERT', 'REFERENCES', 'SELECT', 'UPDATE'] END) WITH ORDINALITY u(p, i)
         WHERE CASE kind
                WHEN 'table' THEN pg_catalog.has_table_privilege(role, obj, p)
                WHEN 'schema' THEN pg_catalog.has_schema_privilege(role, obj, p)
                WHEN 'function' THEN pg_catalog.has_function_privilege(role, obj, p)
                WHEN 'database' THEN pg_catalog.has_database_privilege(role, obj, p)
                WHEN 'sequence' THEN pg_catalog.has_sequence_privilege(role, obj, p)
                WHEN 'any_column' THEN pg_catalog.has_any_column_privilege(role, obj, p)
                WHEN 'column' THEN pg_catalog.has_column_privilege(role, obj, col::text, p) END
         ORDER BY i);
EXCEPTION
    WHEN undefined_table THEN RETURN '{undefined_table}';
    WHEN undefined_column THEN RETURN '{undefined_column}';
    WHEN undefined_function THEN RETURN '{undefined_function}';
    WHEN invalid_catalog_name THEN RETURN '{undefined_table}';   -- 3D000: no such database
    WHEN invalid_schema_name THEN
        IF kind = 'schema' THEN RETURN '{invalid_schema_name}'; END IF;
        RAISE;
    WHEN undefined_object THEN RETURN '{undefined_role}';
END;
$$;

-- "Role r should be granted A, B on <what>", pgTAP's default description.
CREATE FUNCTION _tap_privs_descr(role name, privs name[], what text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'Role ' || quote_ident(role) || ' should be granted '
        || CASE WHEN privs[1] IS NULL THEN 'no privileges' ELSE array_to_string(privs, ', ') END
        || ' on ' || what
$$;

CREATE FUNCTION _tap_privs_check(have text[], want name[], descr text, missing_thing text, role name) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE have[1]
        WHEN 'undefined_table' THEN ok(false, descr) || E'\n' || diag('    ' || missing_thing || ' does not exist')
        WHEN 'invalid_schema_name' THEN ok(false, descr) || E'\n' || diag('    ' || missing_thing || ' does not exist')
        WHEN 'undefined_function' THEN ok(false, descr) || E'\n' || diag('    ' || missing_thing || ' does not exist')
        WHEN 'undefined_role' THEN ok(false, descr) || E'\n' || diag('    Role ' || quote_ident(role) || ' does not exist')
        ELSE _tap_privs_are(have, want, descr) END
$$;

CREATE FUNCTION table_privs_are(name, name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_privs_of('table', $3, quote_ident($1) || '.' || quote_ident($2)), $4, $5,
                            'Table ' || quote_ident($1) || '.' || quote_ident($2), $3)
$$;
CREATE FUNCTION table_privs_are(name, name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT table_privs_are($1, $2, $3, $4, _tap_privs_descr($3, $4, 'table ' || quote_ident($1) || '.' || quote_ident($2)))
$$;
-- pgTAP prints "Table <table>.<role>" when the table is missing in this variant; kept.
CREATE FUNCTION table_privs_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_privs_of('table', $2, quote_ident($1)), $3, $4,
                            'Table ' || quote_ident($1) || '.' || quote_ident($2), $2)
$$;
CREATE FUNCTION table_privs_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT table_privs_are($1, $2, $3, _tap_privs_descr($2, $3, 'table ' || quote_ident($1)))
$$;

CREATE FUNCTION schema_privs_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_privs_of('schema', $2, $1::text), $3, $4, 'Schema ' || quote_ident($1), $2)
$$;
CREATE FUNCTION schema_privs_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT schema_privs_are($1, $2, $3, _tap_privs_descr($2, $3, 'schema ' || quote_ident($1)))
$$;

CREATE FUNCTION function_privs_are(name, name, name[], name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_privs_of('function', $4, quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ')'), $5, $6,
                            'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ')', $4)
$$;
CREATE FUNCTION function_privs_are(name, name, name[], name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT function_privs_are($1, $2, $3, $4, $5, _tap_privs_descr($4, $5, 'function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ')'))
$$;
CREATE FUNCTION function_privs_are(name, name[], name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_privs_of('function', $3, quote_ident($1) || '(' || array_to_string($2, ', ') || ')'), $4, $5,
                            'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ')', $3)
$$;
CREATE FUNCTION function_privs_are(name, name[], name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT function_privs_are($1, $2, $3, $4, _tap_privs_descr($3, $4, 'function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ')'))
$$;
