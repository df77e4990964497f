-- Part 4c: columns (type, default, the full list), relations by kind
-- (sequences, materialized views, foreign tables, composite types,
-- partitions) and types (domains, enums). pgTAP 1.2's overloads and wording,
-- so the same call resolves to the same variant: e.g. col_type_is('t', 'c',
-- 'int', 'd') is (table, column, type, description), not (schema, table,
-- column, type), because an unknown literal prefers text over name.

-- The "Extra …:"/"Missing …:" comparison of the *_are functions is 40-policies.sql's
-- _tap_set_are/_tap_are, installed after this file: PL/pgSQL resolves them
-- when called, where a LANGUAGE sql body would be checked at CREATE time.
CREATE FUNCTION _tap_cols_are(what text, have name[], want name[], descr text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN _tap_set_are(what, have, want, descr);
END;
$$;
-- partitions_are reads its wanted names as extensions_are does (see
-- _tap_set_are_unnest), so a wanted NULL gives pgTAP's verdict there too.
CREATE FUNCTION _tap_cols_parts_are(have name[], want name[], descr text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN _tap_set_are_unnest('partitions', have, want, descr);
END;
$$;

-- Relations of the given kinds (pg_class.relkind: S sequence, m materialized
-- view, f foreign table, c composite type, p partitioned table; NULL = any).
-- Without a schema: the relation visible under that name on the search_path.
CREATE FUNCTION _tap_cols_rel_exists(kinds "char"[], sch name, rel name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = sch AND c.relname = rel AND (kinds IS NULL OR c.relkind = ANY (kinds)))
$$;
CREATE FUNCTION _tap_cols_rel_exists(kinds "char"[], rel name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_class c
                    WHERE c.relname = rel AND pg_catalog.pg_table_is_visible(c.oid) AND (kinds IS NULL OR c.relkind = ANY (kinds)))
$$;

CREATE FUNCTION has_relation(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists(NULL, $1, $2), $3) $$;
CREATE FUNCTION has_relation(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists(NULL, $1), $2) $$;
CREATE FUNCTION has_relation(name) RETURNS text LANGUAGE sql AS $$ SELECT has_relation($1, 'Relation ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_relation(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists(NULL, $1, $2), $3) $$;
CREATE FUNCTION hasnt_relation(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists(NULL, $1), $2) $$;
CREATE FUNCTION hasnt_relation(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_relation($1, 'Relation ' || quote_ident($1) || ' should not exist') $$;

-- pgTAP has has_sequence(schema, sequence) but no hasnt_sequence(schema, sequence):
-- there, hasnt_sequence('a', 'b') is sequence a with description b.
CREATE FUNCTION has_sequence(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{S}', $1, $2), $3) $$;
CREATE FUNCTION has_sequence(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{S}', $1, $2), 'Sequence ' || quote_ident($1) || '.' || quote_ident($2) || ' should exist') $$;
CREATE FUNCTION has_sequence(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{S}', $1), $2) $$;
CREATE FUNCTION has_sequence(name) RETURNS text LANGUAGE sql AS $$ SELECT has_sequence($1, 'Sequence ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_sequence(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{S}', $1, $2), $3) $$;
CREATE FUNCTION hasnt_sequence(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{S}', $1), $2) $$;
CREATE FUNCTION hasnt_sequence(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_sequence($1, 'Sequence ' || quote_ident($1) || ' should not exist') $$;

CREATE FUNCTION has_materialized_view(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{m}', $1, $2), $3) $$;
CREATE FUNCTION has_materialized_view(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{m}', $1), $2) $$;
CREATE FUNCTION has_materialized_view(name) RETURNS text LANGUAGE sql AS $$ SELECT has_materialized_view($1, 'Materialized view ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_materialized_view(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{m}', $1, $2), $3) $$;
CREATE FUNCTION hasnt_materialized_view(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{m}', $1), $2) $$;
CREATE FUNCTION hasnt_materialized_view(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_materialized_view($1, 'Materialized view ' || quote_ident($1) || ' should not exist') $$;

CREATE FUNCTION has_foreign_table(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{f}', $1, $2), $3) $$;
CREATE FUNCTION has_foreign_table(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{f}', $1, $2), 'Foreign table ' || quote_ident($1) || '.' || quote_ident($2) || ' should exist') $$;
CREATE FUNCTION has_foreign_table(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{f}', $1), $2) $$;
CREATE FUNCTION has_foreign_table(name) RETURNS text LANGUAGE sql AS $$ SELECT has_foreign_table($1, 'Foreign table ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_foreign_table(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{f}', $1, $2), $3) $$;
CREATE FUNCTION hasnt_foreign_table(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{f}', $1, $2), 'Foreign table ' || quote_ident($1) || '.' || quote_ident($2) || ' should not exist') $$;
CREATE FUNCTION hasnt_foreign_table(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{f}', $1), $2) $$;
CREATE FUNCTION hasnt_foreign_table(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_foreign_table($1, 'Foreign table ' || quote_ident($1) || ' should not exist') $$;

-- A composite type made by CREATE TYPE … AS (…) is a pg_class row of relkind 'c'.
CREATE FUNCTION has_composite(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{c}', $1, $2), $3) $$;
CREATE FUNCTION has_composite(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{c}', $1), $2) $$;
CREATE FUNCTION has_composite(name) RETURNS text LANGUAGE sql AS $$ SELECT has_composite($1, 'Composite type ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_composite(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{c}', $1, $2), $3) $$;
CREATE FUNCTION hasnt_composite(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{c}', $1), $2) $$;
CREATE FUNCTION hasnt_composite(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_composite($1, 'Composite type ' || quote_ident($1) || ' should not exist') $$;
-- pgTAP 1.3.4's (schema, type) pair; two untyped literals still mean (type, description).
CREATE FUNCTION has_composite(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_composite($1, $2, 'Composite type ' || quote_ident($1) || '.' || quote_ident($2) || ' should exist') $$;
CREATE FUNCTION hasnt_composite(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_composite($1, $2, 'Composite type ' || quote_ident($1) || '.' || quote_ident($2) || ' should not exist') $$;

CREATE FUNCTION is_partitioned(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{p}', $1, $2), $3) $$;
CREATE FUNCTION is_partitioned(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{p}', $1, $2), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should be partitioned') $$;
CREATE FUNCTION is_partitioned(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{p}', $1), $2) $$;
CREATE FUNCTION is_partitioned(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_rel_exists('{p}', $1), 'Table ' || quote_ident($1) || ' should be partitioned') $$;
CREATE FUNCTION isnt_partitioned(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{p}', $1, $2), $3) $$;
CREATE FUNCTION isnt_partitioned(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{p}', $1, $2), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should not be partitioned') $$;
CREATE FUNCTION isnt_partitioned(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{p}', $1), $2) $$;
CREATE FUNCTION isnt_partitioned(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_rel_exists('{p}', $1), 'Table ' || quote_ident($1) || ' should not be partitioned') $$;

-- A partition: relispartition, with a pg_inherits row to a partitioned table (relkind 'p').
-- Without schemas, both tables must be visible.
CREATE FUNCTION _tap_cols_part_of(csch name, child name, psch name, parent name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_inherits i
                     JOIN pg_catalog.pg_class cc ON cc.oid = i.inhrelid
                     JOIN pg_catalog.pg_namespace cn ON cn.oid = cc.relnamespace
                     JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
                     JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
                    WHERE cc.relispartition AND pc.relkind = 'p'
                      AND cn.nspname = csch AND cc.relname = child AND pn.nspname = psch AND pc.relname = parent)
$$;
CREATE FUNCTION _tap_cols_part_of(child name, parent name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_inherits i
                     JOIN pg_catalog.pg_class cc ON cc.oid = i.inhrelid
                     JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
                    WHERE cc.relispartition AND pc.relkind = 'p' AND cc.relname = child AND pc.relname = parent
                      AND pg_catalog.pg_table_is_visible(cc.oid) AND pg_catalog.pg_table_is_visible(pc.oid))
$$;
CREATE FUNCTION is_partition_of(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_part_of($1, $2, $3, $4), $5) $$;
CREATE FUNCTION is_partition_of(name, name, name, name) RETURNS text LANGUAGE sql AS $$
    SELECT ok(_tap_cols_part_of($1, $2, $3, $4), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should be a partition of ' || quote_ident($3) || '.' || quote_ident($4))
$$;
CREATE FUNCTION is_partition_of(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_part_of($1, $2), $3) $$;
CREATE FUNCTION is_partition_of(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_part_of($1, $2), 'Table ' || quote_ident($1) || ' should be a partition of ' || quote_ident($2)) $$;

-- The partitions of a partitioned table, named as regclass prints them
-- (schema-qualified when not visible, and quoted when needed) — as pgTAP lists
-- them, so a partition in another schema must be written 'sch.part'.
CREATE FUNCTION _tap_cols_parts(sch name, tbl name) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT i.inhrelid::regclass::text::name FROM pg_catalog.pg_inherits i
                   JOIN pg_catalog.pg_class c ON c.oid = i.inhparent
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind = 'p' AND n.nspname = sch AND c.relname = tbl)
$$;
CREATE FUNCTION _tap_cols_parts(tbl name) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT i.inhrelid::regclass::text::name FROM pg_catalog.pg_inherits i
                   JOIN pg_catalog.pg_class c ON c.oid = i.inhparent
                  WHERE c.relkind = 'p' AND c.relname = tbl AND pg_catalog.pg_table_is_visible(c.oid))
$$;
CREATE FUNCTION partitions_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_parts_are(_tap_cols_parts($1, $2), $3, $4) $$;
CREATE FUNCTION partitions_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT partitions_are($1, $2, $3, 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should have the correct partitions') $$;
CREATE FUNCTION partitions_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_parts_are(_tap_cols_parts($1), $2, $3) $$;
CREATE FUNCTION partitions_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT partitions_are($1, $2, 'Table ' || quote_ident($1) || ' should have the correct partitions') $$;

-- Materialized views of a schema, or visible on the search_path. As in pgTAP,
-- the unexpected ones are looked for outside pg_catalog, the missing ones
-- outside pg_catalog and information_schema.
CREATE FUNCTION _tap_cols_matviews(sch name, on_path boolean, outside name[]) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind = 'm'
                    AND CASE WHEN on_path THEN pg_catalog.pg_table_is_visible(c.oid) AND n.nspname <> ALL (outside)
                             ELSE n.nspname = sch END)
$$;
CREATE FUNCTION _tap_cols_matviews_are(sch name, on_path boolean, want name[], descr text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN _tap_are('Materialized views',
        ARRAY(SELECT unnest(_tap_cols_matviews(sch, on_path, '{pg_catalog}')) EXCEPT SELECT unnest(want)),
        _tap_missing(want, _tap_cols_matviews(sch, on_path, '{pg_catalog,information_schema}')),
        descr);
END;
$$;
CREATE FUNCTION materialized_views_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_matviews_are($1, false, $2, $3) $$;
CREATE FUNCTION materialized_views_are(name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_matviews_are(NULL, true, $1, $2) $$;
CREATE FUNCTION materialized_views_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_matviews_are($1, false, $2, 'Schema ' || quote_ident($1) || ' should have the correct materialized views') $$;
CREATE FUNCTION materialized_views_are(name[]) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_cols_matviews_are(NULL, true, $1, 'Search path ' || _tap_search_path() || ' should have the correct materialized views')
$$;

-- Types (pg_type.typtype: b base, c composite, d domain, p pseudo, e enum;
-- pgTAP leaves out r range and m multirange). Without a schema: visible on
-- the search_path.
CREATE FUNCTION _tap_cols_type_exists(sch name, typ name, kinds "char"[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                    WHERE t.typisdefined AND n.nspname = sch AND t.typname = typ
                      AND t.typtype = ANY (coalesce(kinds, '{b,c,d,p,e}')))
$$;
CREATE FUNCTION _tap_cols_type_exists(typ name, kinds "char"[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_type t
                    WHERE t.typisdefined AND pg_catalog.pg_type_is_visible(t.oid) AND t.typname = typ
                      AND t.typtype = ANY (coalesce(kinds, '{b,c,d,p,e}')))
$$;

CREATE FUNCTION has_type(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_type_exists($1, $2, NULL), $3) $$;
CREATE FUNCTION has_type(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_type($1, $2, 'Type ' || quote_ident($1) || '.' || quote_ident($2) || ' should exist') $$;
CREATE FUNCTION has_type(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_type_exists($1, NULL), $2) $$;
CREATE FUNCTION has_type(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_type_exists($1, NULL), 'Type ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_type(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_type_exists($1, $2, NULL), $3) $$;
CREATE FUNCTION hasnt_type(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_type($1, $2, 'Type ' || quote_ident($1) || '.' || quote_ident($2) || ' should not exist') $$;
CREATE FUNCTION hasnt_type(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_type_exists($1, NULL), $2) $$;
CREATE FUNCTION hasnt_type(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_type_exists($1, NULL), 'Type ' || quote_ident($1) || ' should not exist') $$;

CREATE FUNCTION has_domain(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_type_exists($1, $2, '{d}'), $3) $$;
CREATE FUNCTION has_domain(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_domain($1, $2, 'Domain ' || quote_ident($1) || '.' || quote_ident($2) || ' should exist') $$;
CREATE FUNCTION has_domain(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_type_exists($1, '{d}'), $2) $$;
CREATE FUNCTION has_domain(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_type_exists($1, '{d}'), 'Domain ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_domain(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_type_exists($1, $2, '{d}'), $3) $$;
CREATE FUNCTION hasnt_domain(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_domain($1, $2, 'Domain ' || quote_ident($1) || '.' || quote_ident($2) || ' should not exist') $$;
CREATE FUNCTION hasnt_domain(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_type_exists($1, '{d}'), $2) $$;
CREATE FUNCTION hasnt_domain(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_type_exists($1, '{d}'), 'Domain ' || quote_ident($1) || ' should not exist') $$;

CREATE FUNCTION has_enum(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_type_exists($1, $2, '{e}'), $3) $$;
CREATE FUNCTION has_enum(name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_enum($1, $2, 'Enum ' || quote_ident($1) || '.' || quote_ident($2) || ' should exist') $$;
CREATE FUNCTION has_enum(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_type_exists($1, '{e}'), $2) $$;
CREATE FUNCTION has_enum(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cols_type_exists($1, '{e}'), 'Enum ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_enum(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_type_exists($1, $2, '{e}'), $3) $$;
CREATE FUNCTION hasnt_enum(name, name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_enum($1, $2, 'Enum ' || quote_ident($1) || '.' || quote_ident($2) || ' should not exist') $$;
CREATE FUNCTION hasnt_enum(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_type_exists($1, '{e}'), $2) $$;
CREATE FUNCTION hasnt_enum(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cols_type_exists($1, '{e}'), 'Enum ' || quote_ident($1) || ' should not exist') $$;

-- An enum's labels in their sort order (pg_enum.enumsortorder); {} when there
-- is no such enum. Compared with is(), so a failure shows both arrays.
CREATE FUNCTION _tap_cols_enum_labels(sch name, typ name, on_path boolean) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT e.enumlabel::name FROM pg_catalog.pg_enum e
                   JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid
                   JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                  WHERE t.typisdefined AND t.typtype = 'e' AND t.typname = typ
                    AND CASE WHEN on_path THEN pg_catalog.pg_type_is_visible(t.oid) ELSE n.nspname = sch END
                  ORDER BY e.enumsortorder)
$$;
CREATE FUNCTION enum_has_labels(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT is(_tap_cols_enum_labels($1, $2, false), $3, $4) $$;
CREATE FUNCTION enum_has_labels(name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT enum_has_labels($1, $2, $3, 'Enum ' || quote_ident($1) || '.' || quote_ident($2) || ' should have labels (' || array_to_string($3, ', ') || ')')
$$;
CREATE FUNCTION enum_has_labels(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT is(_tap_cols_enum_labels(NULL, $1, true), $2, $3) $$;
CREATE FUNCTION enum_has_labels(name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT enum_has_labels($1, $2, 'Enum ' || quote_ident($1) || ' should have labels (' || array_to_string($2, ', ') || ')')
$$;

-- The types of a schema (or, on_path, those visible on the search_path
-- outside pg_catalog and information_schema) as pgTAP lists them: no array types, and no row
-- types of tables or views, only free-standing composite types.
CREATE FUNCTION _tap_cols_types(sch name, on_path boolean, kinds "char"[]) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                  WHERE (t.typrelid = 0 OR (SELECT c.relkind = 'c' FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid))
                    AND NOT EXISTS (SELECT FROM pg_catalog.pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid)
                    AND t.typtype = ANY (coalesce(kinds, '{b,c,d,p,e}'))
                    AND CASE WHEN on_path
                             THEN n.nspname NOT IN ('pg_catalog', 'information_schema') AND pg_catalog.pg_type_is_visible(t.oid)
                             ELSE n.nspname = sch END)
$$;
-- Every *_are of types says "types", whatever the kind, as pgTAP does.
CREATE FUNCTION types_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_are('types', _tap_cols_types($1, false, NULL), $2, $3) $$;
CREATE FUNCTION types_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT types_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct types') $$;
CREATE FUNCTION types_are(name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_are('types', _tap_cols_types(NULL, true, NULL), $1, $2) $$;
CREATE FUNCTION types_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT types_are($1, 'Search path ' || _tap_search_path() || ' should have the correct types') $$;
CREATE FUNCTION domains_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_are('types', _tap_cols_types($1, false, '{d}'), $2, $3) $$;
CREATE FUNCTION domains_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT domains_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct domains') $$;
CREATE FUNCTION domains_are(name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_are('types', _tap_cols_types(NULL, true, '{d}'), $1, $2) $$;
CREATE FUNCTION domains_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT domains_are($1, 'Search path ' || _tap_search_path() || ' should have the correct domains') $$;
CREATE FUNCTION enums_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_are('types', _tap_cols_types($1, false, '{e}'), $2, $3) $$;
CREATE FUNCTION enums_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT enums_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct enums') $$;
CREATE FUNCTION enums_are(name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_are('types', _tap_cols_types(NULL, true, '{e}'), $1, $2) $$;
CREATE FUNCTION enums_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT enums_are($1, 'Search path ' || _tap_search_path() || ' should have the correct enums') $$;

-- pgTAP's way of writing the wanted type like the one found: when the found
-- type has no double quote, the wanted one is taken as written; otherwise the
-- wanted one goes through quote_ident, a trailing "(precision)" kept outside
-- the quotes unless the found type ends in a quote.
CREATE FUNCTION _tap_cols_quote_like(want text, have text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN have !~ '"' THEN want
        WHEN have ~ '"$' OR p IS NULL THEN quote_ident(want)
        ELSE quote_ident(left(want, length(want) - length(p))) || p
    END
      FROM (SELECT substring(want FROM '[(][^")]+[)]$')) x(p)
$$;

-- A column's type as format_type prints it (with its typmod, e.g. varchar(20)).
-- Without a schema: the table visible on the search_path. With qualify, the
-- type's schema is put in front when the type is visible (format_type itself
-- qualifies the others), so the type always carries its schema.
CREATE FUNCTION _tap_cols_col_type(sch name, tbl name, col name, qualify boolean) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN qualify AND pg_catalog.pg_type_is_visible(t.oid) THEN quote_ident(tn.nspname) || '.' ELSE '' END
           || pg_catalog.format_type(a.atttypid, a.atttypmod)
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
     WHERE c.relname = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
       AND CASE WHEN sch IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = sch END
$$;

-- The verdict is counted first, then its lines are built: a NULL part (a NULL
-- wanted type or name) makes the whole result NULL, as in pgTAP, but the test
-- still counts. (PL/pgSQL, so the planner cannot fold a strict expression
-- with a NULL argument away before ok() runs.)
CREATE FUNCTION _tap_cols_type_check(have text, want text, sch name, tbl name, col name, descr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    IF have IS NULL THEN
        line := fail(descr);
        RETURN line || E'\n' || diag('   Column ' || coalesce(quote_ident(sch) || '.', '') || quote_ident(tbl) || '.' || quote_ident(col) || ' does not exist');
    ELSIF have = want THEN
        RETURN ok(true, descr);
    END IF;
    line := ok(false, descr);
    RETURN line || E'\n' || diag('        have: ' || have || E'\n        want: ' || want);
END;
$$;

-- col_type_is(schema, table, column, type schema, type, description): the type
-- is compared schema-qualified. Here a NULL table schema finds nothing.
CREATE FUNCTION col_type_is(name, name, name, name, text, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have text := CASE WHEN $1 IS NOT NULL THEN _tap_cols_col_type($1, $2, $3, true) END;
BEGIN
    RETURN _tap_cols_type_check(have, quote_ident($4) || '.' || _tap_cols_quote_like($5, have), $1, $2, $3, $6);
END;
$$;
CREATE FUNCTION col_type_is(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT col_type_is($1, $2, $3, $4, $5, 'Column ' || quote_ident($1) || '.' || quote_ident($2) || '.' || quote_ident($3) || ' should be type ' || quote_ident($4) || '.' || $5)
$$;
-- col_type_is(schema, table, column, type, description); a NULL schema means
-- the table visible on the search_path.
CREATE FUNCTION col_type_is(name, name, name, text, text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    have text := _tap_cols_col_type($1, $2, $3, false);
BEGIN
    RETURN _tap_cols_type_check(have, _tap_cols_quote_like($4, have), $1, $2, $3, $5);
END;
$$;
CREATE FUNCTION col_type_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT col_type_is($1, $2, $3, $4, 'Column ' || quote_ident($1) || '.' || quote_ident($2) || '.' || quote_ident($3) || ' should be type ' || $4)
$$;
CREATE FUNCTION col_type_is(name, name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT col_type_is(NULL, $1, $2, $3, $4) $$;
CREATE FUNCTION col_type_is(name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT col_type_is($1, $2, $3, 'Column ' || quote_ident($1) || '.' || quote_ident($2) || ' should be type ' || $3)
$$;

-- pg_attribute.atthasdef, NULL when there is no such column.
CREATE FUNCTION _tap_cols_has_def(sch name, tbl name, col name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT a.atthasdef FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = sch AND c.relname = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
$$;
CREATE FUNCTION _tap_cols_has_def(tbl name, col name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT a.atthasdef FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
     WHERE c.relname = tbl AND pg_catalog.pg_table_is_visible(c.oid) AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
$$;

-- A failure for a missing column (counted even when a NULL name makes its text NULL).
CREATE FUNCTION _tap_cols_missing(qcol text, descr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    line text := fail(descr);
BEGIN
    RETURN line || E'\n' || diag('    Column ' || qcol || ' does not exist');
END;
$$;

CREATE FUNCTION col_has_default(name, name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN _tap_column_exists($1, $2, $3) THEN ok(_tap_cols_has_def($1, $2, $3), $4)
                ELSE _tap_cols_missing(quote_ident($1) || '.' || quote_ident($2) || '.' || quote_ident($3), $4) END
$$;
CREATE FUNCTION col_has_default(name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN _tap_column_exists($1, $2) THEN ok(_tap_cols_has_def($1, $2), $3)
                ELSE _tap_cols_missing(quote_ident($1) || '.' || quote_ident($2), $3) END
$$;
CREATE FUNCTION col_has_default(name, name) RETURNS text LANGUAGE sql AS $$
    SELECT col_has_default($1, $2, 'Column ' || quote_ident($1) || '.' || quote_ident($2) || ' should have a default')
$$;
CREATE FUNCTION col_hasnt_default(name, name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN _tap_column_exists($1, $2, $3) THEN ok(NOT _tap_cols_has_def($1, $2, $3), $4)
                ELSE _tap_cols_missing(quote_ident($1) || '.' || quote_ident($2) || '.' || quote_ident($3), $4) END
$$;
CREATE FUNCTION col_hasnt_default(name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN _tap_column_exists($1, $2) THEN ok(NOT _tap_cols_has_def($1, $2), $3)
                ELSE _tap_cols_missing(quote_ident($1) || '.' || quote_ident($2), $3) END
$$;
CREATE FUNCTION col_hasnt_default(name, name) RETURNS text LANGUAGE sql AS $$
    SELECT col_hasnt_default($1, $2, 'Column ' || quote_ident($1) || '.' || quote_ident($2) || ' should not have a default')
$$;

-- Comparing a default with the wanted value, as pgTAP does: a default that is
-- a function call, ends in a cast of a parenthesised expression, or is one of
-- SQL's special value keywords is compared as the text pg_get_expr prints;
-- any other expression is evaluated, cast to the column's type, and compared
-- with the wanted value cast to that type.
CREATE FUNCTION _tap_cols_default_is(expr text, typ text, want anyelement, descr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    IF expr ~ '^[^'']+[(]' OR expr ~ '[)]::[^'']+$'
       OR expr = ANY ('{CURRENT_CATALOG,CURRENT_ROLE,CURRENT_SCHEMA,CURRENT_USER,SESSION_USER,USER,CURRENT_DATE,CURRENT_TIME,CURRENT_TIMESTAMP,LOCALTIME,LOCALTIMESTAMP}') THEN
        RETURN is(expr, want, descr);
    END IF;
    EXECUTE format('SELECT is(%s::%s, %s::%s, %s)', expr, typ, coalesce(quote_literal(want), 'NULL'), typ, coalesce(quote_literal(descr), 'NULL'))
       INTO result;
    RETURN result;
END;
$$;

-- sch NULL: the table visible on the search_path.
CREATE FUNCTION _tap_cols_default(sch name, tbl name, col name, want anyelement, descr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    qcol text := CASE WHEN sch IS NULL THEN '' ELSE quote_ident(sch) || '.' END || quote_ident(tbl) || '.' || quote_ident(col);
    expr text;
    typ  text;
BEGIN
    IF sch IS NULL AND NOT _tap_column_exists(tbl, col) OR sch IS NOT NULL AND NOT _tap_column_exists(sch, tbl, col) THEN
        RETURN _tap_cols_missing(qcol, descr);
    END IF;
    SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid), pg_catalog.format_type(a.atttypid, a.atttypmod) INTO expr, typ
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.atthasdef AND c.relname = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
       AND CASE WHEN sch IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = sch END;
    IF NOT FOUND THEN
        expr := fail(descr);
        RETURN expr || E'\n' || diag('    Column ' || qcol || ' has no default');
    END IF;
    RETURN _tap_cols_default_is(expr, typ, want, descr);
END;
$$;

-- With a schema argument that is NULL, pgTAP finds no column and its
-- "does not exist" line is NULL, which makes the whole result NULL.
CREATE FUNCTION col_default_is(name, name, name, anyelement, text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN $1 IS NULL THEN _tap_cols_missing(NULL, $5) ELSE _tap_cols_default($1, $2, $3, $4, $5) END
$$;
CREATE FUNCTION col_default_is(name, name, name, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN $1 IS NULL THEN _tap_cols_missing(NULL, $5) ELSE _tap_cols_default($1, $2, $3, $4, $5) END
$$;
CREATE FUNCTION col_default_is(name, name, anyelement, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_default(NULL, $1, $2, $3, $4) $$;
CREATE FUNCTION col_default_is(name, name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_default(NULL, $1, $2, $3, $4) $$;
CREATE FUNCTION col_default_is(name, name, anyelement) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_cols_default(NULL, $1, $2, $3, 'Column ' || quote_ident($1) || '.' || quote_ident($2) || ' should default to ' || coalesce(quote_literal($3), 'NULL'))
$$;
CREATE FUNCTION col_default_is(name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_cols_default(NULL, $1, $2, $3, 'Column ' || quote_ident($1) || '.' || quote_ident($2) || ' should default to ' || coalesce(quote_literal($3), 'NULL'))
$$;

-- The columns of a table (attnum > 0: no system columns; not dropped), in a
-- schema (a NULL one holds nothing) or, on_path, the table visible on the
-- search_path outside pg_catalog and information_schema.
CREATE FUNCTION _tap_cols_columns(sch name, tbl name, on_path boolean) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
                   JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relname = tbl AND a.attnum > 0 AND NOT a.attisdropped
                    AND CASE WHEN on_path
                             THEN n.nspname NOT IN ('pg_catalog', 'information_schema') AND pg_catalog.pg_table_is_visible(c.oid)
                             ELSE n.nspname = sch END)
$$;
CREATE FUNCTION columns_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_are('columns', _tap_cols_columns($1, $2, false), $3, $4) $$;
CREATE FUNCTION columns_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT columns_are($1, $2, $3, 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should have the correct columns') $$;
CREATE FUNCTION columns_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cols_are('columns', _tap_cols_columns(NULL, $1, true), $2, $3) $$;
CREATE FUNCTION columns_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT columns_are($1, $2, 'Table ' || quote_ident($1) || ' should have the correct columns') $$;

-- The base type of a domain (pg_type.typbasetype, typtype 'd'), as format_type
-- prints it. The domain name is looked up lower-cased and printed as given,
-- as in pgTAP. With qualify, the base type carries its schema.
CREATE FUNCTION _tap_cols_domain_base(sch name, dom text, on_path boolean, qualify boolean) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN qualify AND pg_catalog.pg_type_is_visible(b.oid) THEN quote_ident(bn.nspname) || '.' ELSE '' END
           || pg_catalog.format_type(b.oid, b.typtypmod)
      FROM pg_catalog.pg_type d
      JOIN pg_catalog.pg_namespace dn ON dn.oid = d.typnamespace
      JOIN pg_catalog.pg_type b ON b.oid = d.typbasetype
      JOIN pg_catalog.pg_namespace bn ON bn.oid = b.typnamespace
     WHERE d.typisdefined AND d.typtype = 'd' AND d.typname = lower(dom)
       AND CASE WHEN on_path THEN pg_catalog.pg_type_is_visible(d.oid) ELSE dn.nspname = sch END
$$;

-- is() or isnt() of the base type, or "does not exist" when there is no such domain.
CREATE FUNCTION _tap_cols_domain_check(have text, want text, qdom text, descr text, negate boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    IF have IS NULL THEN
        line := fail(descr);
        RETURN line || E'\n' || diag('   Domain ' || qdom || ' does not exist');
    ELSIF negate THEN
        RETURN isnt(have, want, descr);
    END IF;
    RETURN is(have, want, descr);
END;
$$;

CREATE FUNCTION domain_type_is(name, text, name, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_cols_domain_check(b, quote_ident($3) || '.' || _tap_cols_quote_like($4, b), quote_ident($1) || '.' || $2, $5, false)
      FROM _tap_cols_domain_base($1, $2, false, true) b
$$;
CREATE FUNCTION domain_type_is(name, text, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT domain_type_is($1, $2, $3, $4, 'Domain ' || quote_ident($1) || '.' || $2 || ' should extend type ' || quote_ident($3) || '.' || $4)
$$;
CREATE FUNCTION domain_type_is(name, text, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_cols_domain_check(b, _tap_cols_quote_like($3, b), quote_ident($1) || '.' || $2, $4, false)
      FROM _tap_cols_domain_base($1, $2, false, false) b
$$;
CREATE FUNCTION domain_type_is(name, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT domain_type_is($1, $2, $3, 'Domain ' || quote_ident($1) || '.' || $2 || ' should extend type ' || $3)
$$;
CREATE FUNCTION domain_type_is(text, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_cols_domain_check(b, _tap_cols_quote_like($2, b), $1, $3, false)
      FROM _tap_cols_domain_base(NULL, $1, true, false) b
$$;
CREATE FUNCTION domain_type_is(text, text) RETURNS text LANGUAGE sql AS $$
    SELECT domain_type_is($1, $2, 'Domain ' || $1 || ' should extend type ' || $2)
$$;
CREATE FUNCTION domain_type_isnt(name, text, name, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_cols_domain_check(b, quote_ident($3) || '.' || _tap_cols_quote_like($4, b), quote_ident($1) || '.' || $2, $5, true)
      FROM _tap_cols_domain_base($1, $2, false, true) b
$$;
CREATE FUNCTION domain_type_isnt(name, text, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT domain_type_isnt($1, $2, $3, $4, 'Domain ' || quote_ident($1) || '.' || $2 || ' should not extend type ' || quote_ident($3) || '.' || $4)
$$;
CREATE FUNCTION domain_type_isnt(name, text, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_cols_domain_check(b, _tap_cols_quote_like($3, b), quote_ident($1) || '.' || $2, $4, true)
      FROM _tap_cols_domain_base($1, $2, false, false) b
$$;
CREATE FUNCTION domain_type_isnt(name, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT domain_type_isnt($1, $2, $3, 'Domain ' || quote_ident($1) || '.' || $2 || ' should not extend type ' || $3)
$$;
CREATE FUNCTION domain_type_isnt(text, text, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_cols_domain_check(b, _tap_cols_quote_like($2, b), $1, $3, true)
      FROM _tap_cols_domain_base(NULL, $1, true, false) b
$$;
CREATE FUNCTION domain_type_isnt(text, text) RETURNS text LANGUAGE sql AS $$
    SELECT domain_type_isnt($1, $2, 'Domain ' || $1 || ' should not extend type ' || $2)
$$;

-- format_type_string(type) (pgTAP 1.3.1; 1.3.3's behaviour): a type as written in SQL
-- ('int4', 'varchar(10)', 'timestamp(3) with time zone') in format_type's spelling
-- ('integer', 'character varying(10)', …), NULL for anything that is not a type.
-- Postgres 17's to_regtypemod reads the modifier; before 17 it goes through the type's
-- typmodin function, and an interval (whose modifiers only the grammar reads) comes
-- back as written. col_type_is and domain_type_is keep pgTAP 1.2's plain comparison.
CREATE FUNCTION format_type_string(text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t regtype;
    modin regproc;
    mods text;
    typmod integer;
BEGIN
    IF current_setting('server_version_num')::integer >= 170000 THEN
        EXECUTE 'SELECT pg_catalog.format_type(pg_catalog.to_regtype($1), pg_catalog.to_regtypemod($1))' INTO mods USING $1;
        RETURN mods;
    END IF;
    t := $1::regtype;
    IF t = 'interval'::regtype THEN
        RETURN $1;
    END IF;
    SELECT typmodin INTO modin FROM pg_catalog.pg_type WHERE oid = t;
    IF modin = 0 THEN
        RETURN pg_catalog.format_type(t, NULL);
    END IF;
    -- '(10,2)' → the cstring[] literal '{10,2}' typmodin takes.
    mods := translate(substring($1 FROM '[(][^")]+[)]'), '()', '{}');
    EXECUTE format('SELECT %s(%L::cstring[])', modin, mods) INTO typmod;
    RETURN pg_catalog.format_type(t, typmod);
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END;
$$;
