-- Part 6b: owners of types, indexes, materialized views, foreign tables,
-- composite types, languages, operator classes and tablespaces; the lists
-- languages_are, rules_are, foreign_tables_are, opclasses_are, operators_are,
-- casts_are and tablespaces_are; has/hasnt_tablespace, has/hasnt_opclass,
-- has/hasnt_leftop, has/hasnt_rightop and cast_context_is. pgTAP 1.2's
-- overloads, default descriptions and diagnostics. Installed after every
-- other file, so these LANGUAGE sql bodies use the helpers of 38-, 40- and
-- 45-*.sql directly.

-- ---------------------------------------------------------------------------
-- Owners
-- ---------------------------------------------------------------------------

-- relkind: m = materialized view, f = foreign table, c = composite type.
-- _tap_lrp_rel_owner reads a NULL schema as "the search path"; a NULL schema
-- argument looks in no schema in pgTAP, so it is passed as '' (no schema's
-- name is empty). The same holds for _tap_lrp_rels_are below.
CREATE FUNCTION materialized_view_owner_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{m}', coalesce($1, ''), $2), $3, $4, 'Materialized view ' || quote_ident($1) || '.' || quote_ident($2)) $$;
CREATE FUNCTION materialized_view_owner_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT materialized_view_owner_is($1, $2, $3, 'Materialized view ' || quote_ident($1) || '.' || quote_ident($2) || ' should be owned by ' || quote_ident($3)) $$;
CREATE FUNCTION materialized_view_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{m}', NULL, $1), $2, $3, 'Materialized view ' || quote_ident($1)) $$;
CREATE FUNCTION materialized_view_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT materialized_view_owner_is($1, $2, 'Materialized view ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

CREATE FUNCTION foreign_table_owner_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{f}', coalesce($1, ''), $2), $3, $4, 'Foreign table ' || quote_ident($1) || '.' || quote_ident($2)) $$;
CREATE FUNCTION foreign_table_owner_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT foreign_table_owner_is($1, $2, $3, 'Foreign table ' || quote_ident($1) || '.' || quote_ident($2) || ' should be owned by ' || quote_ident($3)) $$;
CREATE FUNCTION foreign_table_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{f}', NULL, $1), $2, $3, 'Foreign table ' || quote_ident($1)) $$;
CREATE FUNCTION foreign_table_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT foreign_table_owner_is($1, $2, 'Foreign table ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

CREATE FUNCTION composite_owner_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{c}', coalesce($1, ''), $2), $3, $4, 'Composite type ' || quote_ident($1) || '.' || quote_ident($2)) $$;
CREATE FUNCTION composite_owner_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT composite_owner_is($1, $2, $3, 'Composite type ' || quote_ident($1) || '.' || quote_ident($2) || ' should be owned by ' || quote_ident($3)) $$;
CREATE FUNCTION composite_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{c}', NULL, $1), $2, $3, 'Composite type ' || quote_ident($1)) $$;
CREATE FUNCTION composite_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT composite_owner_is($1, $2, 'Composite type ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

-- Any pg_type row by its typname, so an array type is '_name' and a table's
-- row type counts too, as in pgTAP. Here and below, the variant with a schema
-- finds nothing for a NULL schema (as pgTAP's); the one without looks through
-- the search path.
CREATE FUNCTION _tap_own_type_owner(sch name, typ name) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_get_userbyid(t.typowner)
      FROM pg_catalog.pg_type t
      JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typname = typ AND n.nspname = sch
$$;
CREATE FUNCTION _tap_own_type_owner(typ name) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_get_userbyid(t.typowner)
      FROM pg_catalog.pg_type t
     WHERE t.typname = typ AND pg_catalog.pg_type_is_visible(t.oid)
$$;

CREATE FUNCTION type_owner_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_own_type_owner($1, $2), $3, $4, 'Type ' || quote_ident($1) || '.' || quote_ident($2), 'not found') $$;
CREATE FUNCTION type_owner_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT type_owner_is($1, $2, $3, 'Type ' || quote_ident($1) || '.' || quote_ident($2) || ' should be owned by ' || quote_ident($3)) $$;
CREATE FUNCTION type_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_own_type_owner($1), $2, $3, 'Type ' || quote_ident($1), 'not found') $$;
CREATE FUNCTION type_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT type_owner_is($1, $2, 'Type ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

-- An index's own relowner (always its table's owner), found through pg_index
-- by its table: in the table's schema, or with the table visible.
CREATE FUNCTION _tap_own_index_owner(sch name, tbl name, idx name) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_get_userbyid(ci.relowner)
      FROM pg_catalog.pg_index x
      JOIN pg_catalog.pg_class ct ON ct.oid = x.indrelid
      JOIN pg_catalog.pg_class ci ON ci.oid = x.indexrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = ct.relnamespace
     WHERE ct.relname = tbl AND ci.relname = idx AND n.nspname = sch
$$;
CREATE FUNCTION _tap_own_index_owner(tbl name, idx name) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_get_userbyid(ci.relowner)
      FROM pg_catalog.pg_index x
      JOIN pg_catalog.pg_class ct ON ct.oid = x.indrelid
      JOIN pg_catalog.pg_class ci ON ci.oid = x.indexrelid
     WHERE ct.relname = tbl AND ci.relname = idx AND pg_catalog.pg_table_is_visible(ct.oid)
$$;

CREATE FUNCTION index_owner_is(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_own_index_owner($1, $2, $3), $4, $5, 'Index ' || quote_ident($3) || ' ON ' || quote_ident($1) || '.' || quote_ident($2), 'not found') $$;
CREATE FUNCTION index_owner_is(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT index_owner_is($1, $2, $3, $4, 'Index ' || quote_ident($3) || ' ON ' || quote_ident($1) || '.' || quote_ident($2) || ' should be owned by ' || quote_ident($4)) $$;
CREATE FUNCTION index_owner_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_own_index_owner($1, $2), $3, $4, 'Index ' || quote_ident($2) || ' ON ' || quote_ident($1), 'not found') $$;
CREATE FUNCTION index_owner_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT index_owner_is($1, $2, $3, 'Index ' || quote_ident($2) || ' ON ' || quote_ident($1) || ' should be owned by ' || quote_ident($3)) $$;

-- Operator classes (pg_opclass), in a schema or visible through the search path.
-- Opclass names are unique per access method only: the first one found, as in pgTAP.
CREATE FUNCTION _tap_own_opclass_owner(sch name, opc name) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_get_userbyid(oc.opcowner)
      FROM pg_catalog.pg_opclass oc
      JOIN pg_catalog.pg_namespace n ON n.oid = oc.opcnamespace
     WHERE oc.opcname = opc AND n.nspname = sch
$$;
CREATE FUNCTION _tap_own_opclass_owner(opc name) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_get_userbyid(oc.opcowner)
      FROM pg_catalog.pg_opclass oc
     WHERE oc.opcname = opc AND pg_catalog.pg_opclass_is_visible(oc.oid)
$$;

CREATE FUNCTION opclass_owner_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_own_opclass_owner($1, $2), $3, $4, 'Operator class ' || quote_ident($1) || '.' || quote_ident($2), 'not found') $$;
CREATE FUNCTION opclass_owner_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT opclass_owner_is($1, $2, $3, 'Operator class ' || quote_ident($1) || '.' || quote_ident($2) || ' should be owned by ' || quote_ident($3)) $$;
CREATE FUNCTION opclass_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_own_opclass_owner($1), $2, $3, 'Operator class ' || quote_ident($1), 'not found') $$;
CREATE FUNCTION opclass_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT opclass_owner_is($1, $2, 'Operator class ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

CREATE FUNCTION language_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_lrp_owner_ok((SELECT pg_catalog.pg_get_userbyid(lanowner) FROM pg_catalog.pg_language WHERE lanname = $1),
                             $2, $3, 'Language ' || quote_ident($1))
$$;
CREATE FUNCTION language_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT language_owner_is($1, $2, 'Language ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

CREATE FUNCTION tablespace_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_lrp_owner_ok((SELECT pg_catalog.pg_get_userbyid(spcowner) FROM pg_catalog.pg_tablespace WHERE spcname = $1),
                             $2, $3, 'Tablespace ' || quote_ident($1))
$$;
CREATE FUNCTION tablespace_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT tablespace_owner_is($1, $2, 'Tablespace ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

-- ---------------------------------------------------------------------------
-- Lists
-- ---------------------------------------------------------------------------

-- _tap_set_are's comparison (40-policies.sql, wanted names read by subscript
-- as pgTAP reads them) for lists of signatures (casts, operators) that pgTAP prints as
-- they are, not quoted (its _areni). As there, the lines are name values: cut
-- to 63 bytes and sorted as names (C order).
CREATE FUNCTION _tap_own_areni(what text, have text[], want text[], descr text) RETURNS text
LANGUAGE sql AS $$
    WITH e AS (SELECT ARRAY(SELECT unnest(have) EXCEPT SELECT unnest(want))::name[] AS a),
         m AS (SELECT ARRAY(SELECT want[i] FROM generate_series(1, array_upper(want, 1)) s(i) EXCEPT SELECT unnest(have))::name[] AS a)
    SELECT ok(e.a[1] IS NULL AND m.a[1] IS NULL, descr)
        || CASE WHEN e.a[1] IS NULL THEN '' ELSE E'\n' || diag('    Extra ' || what || E':\n        '
               || array_to_string(ARRAY(SELECT x FROM unnest(e.a) x ORDER BY x), E'\n        ')) END
        || CASE WHEN m.a[1] IS NULL THEN '' ELSE E'\n' || diag('    Missing ' || what || E':\n        '
               || array_to_string(ARRAY(SELECT x FROM unnest(m.a) x ORDER BY x), E'\n        ')) END
      FROM e, m
$$;

-- Procedural languages only (lanispl): plpgsql and the like, not internal, c or sql.
CREATE FUNCTION languages_are(name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_set_are('languages', ARRAY(SELECT lanname FROM pg_catalog.pg_language WHERE lanispl), $1, $2)
$$;
CREATE FUNCTION languages_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT languages_are($1, 'There should be the correct procedural languages') $$;

CREATE FUNCTION tablespaces_are(name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_set_are('tablespaces', ARRAY(SELECT spcname FROM pg_catalog.pg_tablespace), $1, $2)
$$;
CREATE FUNCTION tablespaces_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT tablespaces_are($1, 'There should be the correct tablespaces') $$;

-- relkind f = foreign table; the same filters as tables_are.
CREATE FUNCTION foreign_tables_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_rels_are('foreign tables', '{f}', coalesce($1, ''), $2, $3) $$;
CREATE FUNCTION foreign_tables_are(name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_rels_are('foreign tables', '{f}', NULL, $1, $2) $$;
CREATE FUNCTION foreign_tables_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT foreign_tables_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct foreign tables') $$;
CREATE FUNCTION foreign_tables_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT foreign_tables_are($1, 'Search path ' || _tap_search_path() || ' should have the correct foreign tables') $$;

-- The rules (pg_rewrite) of one relation: in a schema, or the relation
-- visible through the search path outside pg_catalog and information_schema.
-- A view's _RETURN rule is one of them, as in pgTAP.
CREATE FUNCTION _tap_own_rules(sch name, rel name) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT r.rulename
                   FROM pg_catalog.pg_rewrite r
                   JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relname = rel AND n.nspname = sch)
$$;
CREATE FUNCTION _tap_own_rules(rel name) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT r.rulename
                   FROM pg_catalog.pg_rewrite r
                   JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relname = rel AND pg_catalog.pg_table_is_visible(c.oid)
                    AND n.nspname NOT IN ('pg_catalog', 'information_schema'))
$$;

CREATE FUNCTION rules_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_set_are('rules', _tap_own_rules($1, $2), $3, $4) $$;
CREATE FUNCTION rules_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT rules_are($1, $2, $3, 'Relation ' || quote_ident($1) || '.' || quote_ident($2) || ' should have the correct rules') $$;
CREATE FUNCTION rules_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_set_are('rules', _tap_own_rules($1), $2, $3) $$;
CREATE FUNCTION rules_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT rules_are($1, $2, 'Relation ' || quote_ident($1) || ' should have the correct rules') $$;

-- Operator classes of a schema, or those visible through the search path
-- outside pg_catalog and information_schema.
CREATE FUNCTION _tap_own_opclasses(sch name) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT oc.opcname
                   FROM pg_catalog.pg_opclass oc
                   JOIN pg_catalog.pg_namespace n ON n.oid = oc.opcnamespace
                  WHERE n.nspname = sch)
$$;
CREATE FUNCTION _tap_own_opclasses() RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT oc.opcname
                   FROM pg_catalog.pg_opclass oc
                   JOIN pg_catalog.pg_namespace n ON n.oid = oc.opcnamespace
                  WHERE pg_catalog.pg_opclass_is_visible(oc.oid) AND n.nspname NOT IN ('pg_catalog', 'information_schema'))
$$;

CREATE FUNCTION opclasses_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_set_are('operator classes', _tap_own_opclasses($1), $2, $3) $$;
CREATE FUNCTION opclasses_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT opclasses_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct operator classes') $$;
CREATE FUNCTION opclasses_are(name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_set_are('operator classes', _tap_own_opclasses(), $1, $2) $$;
CREATE FUNCTION opclasses_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT opclasses_are($1, 'Search path ' || _tap_search_path() || ' should have the correct operator classes') $$;

-- Operators as 'name(left,right) RETURNS result': the argument list is the
-- regoperator's (NONE for a prefix operator's left side; types outside the
-- search path schema-qualified), the name is oprname alone, the result the regtype.
CREATE FUNCTION _tap_own_operator_sig(o pg_catalog.pg_operator) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT o.oprname || substring(o.oid::regoperator::text, '[(][^)]+[)]$') || ' RETURNS ' || o.oprresult::regtype::text
$$;
CREATE FUNCTION _tap_own_operators(sch name) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT _tap_own_operator_sig(o)
                   FROM pg_catalog.pg_operator o
                   JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
                  WHERE n.nspname = sch)
$$;
CREATE FUNCTION _tap_own_operators() RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT _tap_own_operator_sig(o)
                   FROM pg_catalog.pg_operator o
                   JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
                  WHERE pg_catalog.pg_operator_is_visible(o.oid) AND n.nspname NOT IN ('pg_catalog', 'information_schema'))
$$;

CREATE FUNCTION operators_are(name, text[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_own_areni('operators', _tap_own_operators($1), $2, $3) $$;
CREATE FUNCTION operators_are(name, text[]) RETURNS text LANGUAGE sql AS $$ SELECT operators_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct operators') $$;
CREATE FUNCTION operators_are(text[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_own_areni('operators', _tap_own_operators(), $1, $2) $$;
CREATE FUNCTION operators_are(text[]) RETURNS text LANGUAGE sql AS $$ SELECT operators_are($1, 'There should be the correct operators') $$;

-- Every cast of the cluster's catalog as 'source AS target' (format_type names).
CREATE FUNCTION casts_are(text[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_own_areni('casts',
        ARRAY(SELECT pg_catalog.format_type(castsource, NULL) || ' AS ' || pg_catalog.format_type(casttarget, NULL) FROM pg_catalog.pg_cast),
        $1, $2)
$$;
CREATE FUNCTION casts_are(text[]) RETURNS text LANGUAGE sql AS $$ SELECT casts_are($1, 'There should be the correct casts') $$;

-- ---------------------------------------------------------------------------
-- Tablespaces, operator classes, prefix and postfix operators
-- ---------------------------------------------------------------------------

-- The location is pg_tablespace_location's: '' for pg_default and pg_global.
CREATE FUNCTION has_tablespace(name, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT ok(EXISTS (SELECT FROM pg_catalog.pg_tablespace WHERE spcname = $1 AND pg_catalog.pg_tablespace_location(oid) = $2), $3)
$$;
CREATE FUNCTION has_tablespace(name, text) RETURNS text LANGUAGE sql AS $$
    SELECT ok(EXISTS (SELECT FROM pg_catalog.pg_tablespace WHERE spcname = $1), $2)
$$;
CREATE FUNCTION has_tablespace(name) RETURNS text LANGUAGE sql AS $$ SELECT has_tablespace($1, 'Tablespace ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_tablespace(name, text) RETURNS text LANGUAGE sql AS $$
    SELECT ok(NOT EXISTS (SELECT FROM pg_catalog.pg_tablespace WHERE spcname = $1), $2)
$$;
CREATE FUNCTION hasnt_tablespace(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_tablespace($1, 'Tablespace ' || quote_ident($1) || ' should not exist') $$;

CREATE FUNCTION has_opclass(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_own_opclass_owner($1, $2) IS NOT NULL, $3) $$;
CREATE FUNCTION has_opclass(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_opclass($1, $2, 'Operator class ' || quote_ident($1) || '.' || quote_ident($2) || ' should exist') $$;
CREATE FUNCTION has_opclass(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_own_opclass_owner($1) IS NOT NULL, $2) $$;
CREATE FUNCTION has_opclass(name) RETURNS text LANGUAGE sql AS $$ SELECT has_opclass($1, 'Operator class ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_opclass(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_own_opclass_owner($1, $2) IS NULL, $3) $$;
CREATE FUNCTION hasnt_opclass(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_opclass($1, $2, 'Operator class ' || quote_ident($1) || '.' || quote_ident($2) || ' should not exist') $$;
CREATE FUNCTION hasnt_opclass(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_own_opclass_owner($1) IS NULL, $2) $$;
CREATE FUNCTION hasnt_opclass(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_opclass($1, 'Operator class ' || quote_ident($1) || ' should not exist') $$;

-- A left (prefix, oprkind 'l') operator has no left type, a right (postfix,
-- oprkind 'r') one no right type: _tap_funcs_op_exists (38-functions-triggers.sql)
-- with that side NULL. PostgreSQL 14 dropped postfix operators, so there
-- has_rightop finds none, as pgTAP's does.
CREATE FUNCTION has_leftop(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_op_exists(NULL, $1, $2, $3, $4), $5) $$;
CREATE FUNCTION has_leftop(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_leftop($1, $2, $3, $4, 'Left operator ' || quote_ident($1) || '.' || $2 || '(NONE,' || $3 || ') RETURNS ' || $4 || ' should exist') $$;
CREATE FUNCTION has_leftop(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_op_exists(NULL, $1, $2, $3), $4) $$;
CREATE FUNCTION has_leftop(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_leftop($1, $2, $3, 'Left operator ' || $1 || '(NONE,' || $2 || ') RETURNS ' || $3 || ' should exist') $$;
CREATE FUNCTION has_leftop(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_op_exists(NULL, $1, $2), $3) $$;
CREATE FUNCTION has_leftop(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_leftop($1, $2, 'Left operator ' || $1 || '(NONE,' || $2 || ') should exist') $$;
CREATE FUNCTION hasnt_leftop(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_op_exists(NULL, $1, $2, $3, $4), $5) $$;
CREATE FUNCTION hasnt_leftop(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_leftop($1, $2, $3, $4, 'Left operator ' || quote_ident($1) || '.' || $2 || '(NONE,' || $3 || ') RETURNS ' || $4 || ' should not exist') $$;
CREATE FUNCTION hasnt_leftop(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_op_exists(NULL, $1, $2, $3), $4) $$;
CREATE FUNCTION hasnt_leftop(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_leftop($1, $2, $3, 'Left operator ' || $1 || '(NONE,' || $2 || ') RETURNS ' || $3 || ' should not exist') $$;
CREATE FUNCTION hasnt_leftop(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_op_exists(NULL, $1, $2), $3) $$;
CREATE FUNCTION hasnt_leftop(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_leftop($1, $2, 'Left operator ' || $1 || '(NONE,' || $2 || ') should not exist') $$;

CREATE FUNCTION has_rightop(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_op_exists($1, $2, $3, NULL, $4), $5) $$;
CREATE FUNCTION has_rightop(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_rightop($1, $2, $3, $4, 'Right operator ' || quote_ident($2) || '.' || $3 || '(' || $1 || ',NONE) RETURNS ' || $4 || ' should exist') $$;
CREATE FUNCTION has_rightop(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_op_exists($1, $2, NULL, $3), $4) $$;
CREATE FUNCTION has_rightop(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_rightop($1, $2, $3, 'Right operator ' || $2 || '(' || $1 || ',NONE) RETURNS ' || $3 || ' should exist') $$;
CREATE FUNCTION has_rightop(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_funcs_op_exists($1, $2, NULL), $3) $$;
CREATE FUNCTION has_rightop(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_rightop($1, $2, 'Right operator ' || $2 || '(' || $1 || ',NONE) should exist') $$;
CREATE FUNCTION hasnt_rightop(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_op_exists($1, $2, $3, NULL, $4), $5) $$;
CREATE FUNCTION hasnt_rightop(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_rightop($1, $2, $3, $4, 'Right operator ' || quote_ident($2) || '.' || $3 || '(' || $1 || ',NONE) RETURNS ' || $4 || ' should not exist') $$;
CREATE FUNCTION hasnt_rightop(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_op_exists($1, $2, NULL, $3), $4) $$;
CREATE FUNCTION hasnt_rightop(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_rightop($1, $2, $3, 'Right operator ' || $2 || '(' || $1 || ',NONE) RETURNS ' || $3 || ' should not exist') $$;
CREATE FUNCTION hasnt_rightop(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_funcs_op_exists($1, $2, NULL), $3) $$;
CREATE FUNCTION hasnt_rightop(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_rightop($1, $2, 'Right operator ' || $2 || '(' || $1 || ',NONE) should not exist') $$;

-- ---------------------------------------------------------------------------
-- cast_context_is
-- ---------------------------------------------------------------------------

-- pg_cast.castcontext: i = implicit, a = assignment (in assignments only),
-- e = explicit (CAST or :: only). Only the first letter of the wanted context
-- counts, in any case, as in pgTAP: 'IMP' and 'ass' work, '' and NULL are unknown.
CREATE FUNCTION _tap_own_context(c text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE c WHEN 'i' THEN 'implicit' WHEN 'a' THEN 'assignment' WHEN 'e' THEN 'explicit' ELSE 'unknown' END
$$;

-- Types as has_cast's: format_type's rendering, as written or quoted.
CREATE FUNCTION _tap_own_cast_context(src name, tgt name) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT c.castcontext::text FROM pg_catalog.pg_cast c
     WHERE _tap_funcs_type_is(c.castsource, src) AND _tap_funcs_type_is(c.casttarget, tgt)
     LIMIT 1
$$;

CREATE FUNCTION cast_context_is(name, name, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(
        (SELECT is(_tap_own_context(have), _tap_own_context(substring(lower($3) FROM 1 FOR 1)), $4)
           FROM _tap_own_cast_context($1, $2) have WHERE have IS NOT NULL),
        ok(false, $4) || E'\n' || diag('    Cast (' || quote_ident($1) || ' AS ' || quote_ident($2) || ') does not exist'))
$$;
CREATE FUNCTION cast_context_is(name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT cast_context_is($1, $2, $3, 'Cast (' || quote_ident($1) || ' AS ' || quote_ident($2) || ') context should be '
                                       || _tap_own_context(substring(lower($3) FROM 1 FOR 1)))
$$;
