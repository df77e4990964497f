-- Part 4c: constraints (foreign keys, unique, check, primary key columns),
-- indexes and table inheritance, with pgTAP 1.2's overloads, default
-- descriptions and diagnostics, including its quirks (noted where they would
-- surprise), because peer suites were written against that output.
--
-- Variants without a schema look at the table visible on the search_path
-- (pg_table_is_visible) unless noted otherwise; a NULL schema in the private
-- helpers below means exactly that. A NULL passed to a public variant's
-- schema argument names no schema, as in pgTAP: those variants hand the
-- helpers coalesce(schema, ''), a name no schema can have.

-- Column names of a constraint or index key, in key order (conkey/confkey hold attnums).
CREATE FUNCTION _tap_cons_cols(rel oid, attnums smallint[]) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT a.attname FROM unnest(attnums) WITH ORDINALITY k(attnum, i)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = rel AND a.attnum = k.attnum ORDER BY k.i)
$$;

-- The column lists of a table's constraints of one kind, sorted.
-- contype: p = primary key, f = foreign key, u = unique, c = check.
CREATE FUNCTION _tap_cons_keys(sch name, tbl name, kind "char") RETURNS SETOF name[]
LANGUAGE sql STABLE AS $$
    SELECT _tap_cons_cols(x.conrelid, x.conkey)
      FROM pg_catalog.pg_constraint x
      JOIN pg_catalog.pg_class c ON c.oid = x.conrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE x.contype = kind AND c.relname = tbl
       AND CASE WHEN sch IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = sch END
     ORDER BY 1
$$;

CREATE FUNCTION _tap_cons_has(sch name, tbl name, kind "char") RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT FROM _tap_cons_keys(sch, tbl, kind)) $$;

-- col_is_unique / col_has_check: pass when one constraint of the kind has
-- exactly these columns; else list every one. As in pgTAP, a table without
-- any prints an empty "have:" (its "No … constraints" branch is unreachable).
CREATE FUNCTION _tap_cons_match(sch name, tbl name, kind "char", want name[], descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN EXISTS (SELECT FROM _tap_cons_keys(sch, tbl, kind) x WHERE x = want)
        THEN ok(true, descr)
        ELSE ok(false, descr) || E'\n' || diag(
                   '        have: ' || array_to_string(k.have, E'\n              ')
            || E'\n        want: ' || coalesce(want::text, 'NULL')) END
      FROM (SELECT ARRAY(SELECT x::text FROM _tap_cons_keys(sch, tbl, kind) WITH ORDINALITY t(x, i) ORDER BY i) AS have) k
$$;

-- col_isnt_pk (col_is_pk, has_pk and hasnt_pk are in 30/35, on _tap_pk).
CREATE FUNCTION col_isnt_pk(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT isnt(_tap_pk($1, $2), $3, $4) $$;
CREATE FUNCTION col_isnt_pk(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT isnt(_tap_pk($1), $2, $3) $$;
CREATE FUNCTION col_isnt_pk(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_isnt_pk($1, $2, 'Columns ' || quote_ident($1) || '(' || _tap_ident_list($2, ', ') || ') should not be a primary key') $$;
CREATE FUNCTION col_isnt_pk(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_isnt_pk($1, $2, ARRAY[$3], $4) $$;
CREATE FUNCTION col_isnt_pk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_isnt_pk($1, ARRAY[$2], $3) $$;
CREATE FUNCTION col_isnt_pk(name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_isnt_pk($1, $2, 'Column ' || quote_ident($1) || '(' || quote_ident($2) || ') should not be a primary key') $$;

-- A foreign key's referential action as pgTAP spells it (confdeltype / confupdtype codes).
CREATE FUNCTION _tap_fk_action(code "char") RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE code WHEN 'a' THEN 'NO ACTION' WHEN 'c' THEN 'CASCADE' WHEN 'd' THEN 'SET DEFAULT'
                     WHEN 'n' THEN 'SET NULL' WHEN 'r' THEN 'RESTRICT' END
$$;

-- pgTAP's pg_all_foreign_keys view, which suites read directly (chef's chef_pgtap helpers check a
-- key's ON DELETE / ON UPDATE action through it), with pgTAP's column names: only the foreign keys
-- whose referenced key is a plain index (relkind 'i'), so a key referencing a partitioned table shows
-- up once per partition and never as the parent; and only on tables the current role may use
-- (schema USAGE and some table privilege). match_type names only FULL and PARTIAL (and pgTAP's old 'u', NONE):
-- MATCH SIMPLE, confmatchtype 's' and the default, reads NULL there. pk_constraint_name is the
-- primary key or unique constraint owning the referenced index, NULL for a bare unique index.
CREATE VIEW pg_all_foreign_keys AS
SELECT n.nspname AS fk_schema_name,
       c.relname AS fk_table_name,
       x.conname AS fk_constraint_name,
       c.oid AS fk_table_oid,
       _tap_cons_cols(x.conrelid, x.conkey) AS fk_columns,
       pn.nspname AS pk_schema_name,
       p.relname AS pk_table_name,
       k.conname AS pk_constraint_name,
       p.oid AS pk_table_oid,
       i.relname AS pk_index_name,
       _tap_cons_cols(x.confrelid, x.confkey) AS pk_columns,
       (CASE x.confmatchtype WHEN 'f' THEN 'FULL' WHEN 'p' THEN 'PARTIAL' WHEN 'u' THEN 'NONE' END)::text AS match_type,
       _tap_fk_action(x.confdeltype) AS on_delete,
       _tap_fk_action(x.confupdtype) AS on_update,
       x.condeferrable AS is_deferrable,
       x.condeferred AS is_deferred
  FROM pg_catalog.pg_constraint x
  JOIN pg_catalog.pg_class c ON c.oid = x.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_class p ON p.oid = x.confrelid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
  JOIN pg_catalog.pg_class i ON i.oid = x.conindid AND i.relkind = 'i'
  LEFT JOIN pg_catalog.pg_constraint k ON k.conindid = i.oid AND k.conrelid = x.confrelid AND k.contype IN ('p', 'u')
 WHERE x.contype = 'f'
   AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')
   AND pg_catalog.has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, REFERENCES, TRIGGER');

-- Foreign keys as the fk_ok / has_fk family reads them: pg_all_foreign_keys under shorter names.
CREATE VIEW _tap_cons_fks AS
SELECT fk_schema_name AS fk_schema, fk_table_name AS fk_table, fk_table_oid AS fk_oid, fk_columns AS fk_cols,
       pk_schema_name AS pk_schema, pk_table_name AS pk_table, pk_columns AS pk_cols
  FROM pg_all_foreign_keys;

CREATE FUNCTION _tap_cons_fk_exists(sch name, tbl name, cols name[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM _tap_cons_fks f WHERE f.fk_table = tbl AND f.fk_cols = cols
                      AND CASE WHEN sch IS NULL THEN pg_catalog.pg_table_is_visible(f.fk_oid) ELSE f.fk_schema = sch END)
$$;

-- On failure, the foreign keys the table does have. The variant without a
-- schema lists those of every table of that name, visible or not, as pgTAP does.
CREATE FUNCTION _tap_cons_col_is_fk(sch name, tbl name, cols name[], descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN _tap_cons_fk_exists(sch, tbl, cols) THEN ok(true, descr)
        ELSE ok(false, descr) || E'\n' || diag('    Table '
            || CASE WHEN sch IS NULL THEN '' ELSE quote_ident(sch) || '.' END || quote_ident(tbl)
            || CASE WHEN cardinality(l.keys) = 0 THEN ' has no foreign key columns'
                    ELSE E' has foreign key constraints on these columns:\n        ' || array_to_string(l.keys, E'\n        ') END) END
      FROM (SELECT ARRAY(SELECT _tap_ident_list(f.fk_cols, ', ') FROM _tap_cons_fks f
                          WHERE f.fk_table = tbl AND (sch IS NULL OR f.fk_schema = sch) ORDER BY f.fk_cols) AS keys) l
$$;

CREATE FUNCTION has_fk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has(coalesce($1, ''), $2, 'f'), $3) $$;
CREATE FUNCTION has_fk(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has(NULL, $1, 'f'), $2) $$;
CREATE FUNCTION has_fk(name) RETURNS text LANGUAGE sql AS $$ SELECT has_fk($1, 'Table ' || quote_ident($1) || ' should have a foreign key constraint') $$;
CREATE FUNCTION hasnt_fk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_has(coalesce($1, ''), $2, 'f'), $3) $$;
CREATE FUNCTION hasnt_fk(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_has(NULL, $1, 'f'), $2) $$;
CREATE FUNCTION hasnt_fk(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_fk($1, 'Table ' || quote_ident($1) || ' should not have a foreign key constraint') $$;

-- A NULL schema names no schema: the test fails and, as in pgTAP, its
-- diagnostic (which names the schema) makes the whole output NULL. The inner
-- CASE yields that NULL after counting the test (`ok(…) || NULL` would be
-- folded to NULL by the planner without calling ok()).
CREATE FUNCTION col_is_fk(name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN $1 IS NULL THEN CASE WHEN ok(false, $4) IS NULL THEN '' END ELSE _tap_cons_col_is_fk($1, $2, $3, $4) END
$$;
CREATE FUNCTION col_is_fk(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_col_is_fk(NULL, $1, $2, $3) $$;
CREATE FUNCTION col_is_fk(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_is_fk($1, $2, 'Columns ' || quote_ident($1) || '(' || _tap_ident_list($2, ', ') || ') should be a foreign key') $$;
CREATE FUNCTION col_is_fk(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_is_fk($1, $2, ARRAY[$3], $4) $$;
CREATE FUNCTION col_is_fk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_is_fk($1, ARRAY[$2], $3) $$;
CREATE FUNCTION col_is_fk(name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_is_fk($1, $2, 'Column ' || quote_ident($1) || '(' || quote_ident($2) || ') should be a foreign key') $$;
CREATE FUNCTION col_isnt_fk(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_fk_exists(coalesce($1, ''), $2, $3), $4) $$;
CREATE FUNCTION col_isnt_fk(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_fk_exists(NULL, $1, $2), $3) $$;
CREATE FUNCTION col_isnt_fk(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_isnt_fk($1, $2, 'Columns ' || quote_ident($1) || '(' || _tap_ident_list($2, ', ') || ') should not be a foreign key') $$;
CREATE FUNCTION col_isnt_fk(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_isnt_fk($1, $2, ARRAY[$3], $4) $$;
CREATE FUNCTION col_isnt_fk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_isnt_fk($1, ARRAY[$2], $3) $$;
CREATE FUNCTION col_isnt_fk(name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_isnt_fk($1, $2, 'Column ' || quote_ident($1) || '(' || quote_ident($2) || ') should not be a foreign key') $$;

-- fk_ok compares "fk(cols) REFERENCES pk(cols)" strings. As in pgTAP, the
-- referenced schema and table (found and wanted) are printed unquoted, and the
-- variant without a schema prints the referencing table unquoted too.
CREATE FUNCTION fk_ok(name, name, name[], name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT is(
        quote_ident($1) || '.' || quote_ident($2) || '(' || _tap_ident_list($3, ', ') || ') REFERENCES '
            || coalesce((SELECT f.pk_schema || '.' || f.pk_table || '(' || _tap_ident_list(f.pk_cols, ', ') || ')'
                           FROM _tap_cons_fks f WHERE f.fk_schema = $1 AND f.fk_table = $2 AND f.fk_cols = $3 LIMIT 1), 'NOTHING'),
        quote_ident($1) || '.' || quote_ident($2) || '(' || _tap_ident_list($3, ', ') || ') REFERENCES '
            || $4 || '.' || $5 || '(' || _tap_ident_list($6, ', ') || ')',
        $7)
$$;
CREATE FUNCTION fk_ok(name, name[], name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT is(
        $1 || '(' || _tap_ident_list($2, ', ') || ') REFERENCES '
            || coalesce((SELECT f.pk_table || '(' || _tap_ident_list(f.pk_cols, ', ') || ')'
                           FROM _tap_cons_fks f WHERE f.fk_table = $1 AND f.fk_cols = $2 AND pg_catalog.pg_table_is_visible(f.fk_oid) LIMIT 1), 'NOTHING'),
        $1 || '(' || _tap_ident_list($2, ', ') || ') REFERENCES ' || $3 || '(' || _tap_ident_list($4, ', ') || ')',
        $5)
$$;
CREATE FUNCTION fk_ok(name, name, name[], name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT fk_ok($1, $2, $3, $4, $5, $6, quote_ident($1) || '.' || quote_ident($2) || '(' || _tap_ident_list($3, ', ')
        || ') should reference ' || $4 || '.' || $5 || '(' || _tap_ident_list($6, ', ') || ')')
$$;
CREATE FUNCTION fk_ok(name, name[], name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT fk_ok($1, $2, $3, $4, $1 || '(' || _tap_ident_list($2, ', ') || ') should reference ' || $3 || '(' || _tap_ident_list($4, ', ') || ')')
$$;
CREATE FUNCTION fk_ok(name, name, name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT fk_ok($1, $2, ARRAY[$3], $4, $5, ARRAY[$6], $7) $$;
-- pgTAP's six-argument single-column form types the referenced column as text,
-- so fk_ok('s', 't', 'c', 's', 'p', 'id') lands here, not on a description.
CREATE FUNCTION fk_ok(name, name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT fk_ok($1, $2, ARRAY[$3], $4, $5, ARRAY[$6::name]) $$;
CREATE FUNCTION fk_ok(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT fk_ok($1, ARRAY[$2], $3, ARRAY[$4], $5) $$;
CREATE FUNCTION fk_ok(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT fk_ok($1, ARRAY[$2], $3, ARRAY[$4]) $$;

-- has_unique takes text in pgTAP (not name); same here, so calls resolve alike.
CREATE FUNCTION has_unique(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has(coalesce($1, ''), $2, 'u'), $3) $$;
CREATE FUNCTION has_unique(text, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has(NULL, $1, 'u'), $2) $$;
CREATE FUNCTION has_unique(text) RETURNS text LANGUAGE sql AS $$ SELECT has_unique($1, 'Table ' || quote_ident($1) || ' should have a unique constraint') $$;

CREATE FUNCTION col_is_unique(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_match(coalesce($1, ''), $2, 'u', $3, $4) $$;
CREATE FUNCTION col_is_unique(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, $2, $3, 'Columns ' || quote_ident($2) || '(' || _tap_ident_list($3, ', ') || ') should have a unique constraint') $$;
CREATE FUNCTION col_is_unique(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, $2, ARRAY[$3], 'Column ' || quote_ident($2) || '(' || quote_ident($3) || ') should have a unique constraint') $$;
CREATE FUNCTION col_is_unique(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_match(NULL, $1, 'u', $2, $3) $$;
CREATE FUNCTION col_is_unique(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, $2, 'Columns ' || quote_ident($1) || '(' || _tap_ident_list($2, ', ') || ') should have a unique constraint') $$;
CREATE FUNCTION col_is_unique(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, $2, ARRAY[$3], $4) $$;
CREATE FUNCTION col_is_unique(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, ARRAY[$2], $3) $$;
CREATE FUNCTION col_is_unique(name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, $2, 'Column ' || quote_ident($1) || '(' || quote_ident($2) || ') should have a unique constraint') $$;

CREATE FUNCTION has_check(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has(coalesce($1, ''), $2, 'c'), $3) $$;
CREATE FUNCTION has_check(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has(NULL, $1, 'c'), $2) $$;
CREATE FUNCTION has_check(name) RETURNS text LANGUAGE sql AS $$ SELECT has_check($1, 'Table ' || quote_ident($1) || ' should have a check constraint') $$;

CREATE FUNCTION col_has_check(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_match(coalesce($1, ''), $2, 'c', $3, $4) $$;
CREATE FUNCTION col_has_check(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_match(NULL, $1, 'c', $2, $3) $$;
CREATE FUNCTION col_has_check(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_has_check($1, $2, 'Columns ' || quote_ident($1) || '(' || _tap_ident_list($2, ', ') || ') should have a check constraint') $$;
CREATE FUNCTION col_has_check(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_has_check($1, $2, ARRAY[$3], $4) $$;
CREATE FUNCTION col_has_check(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_has_check($1, ARRAY[$2], $3) $$;
CREATE FUNCTION col_has_check(name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_has_check($1, $2, 'Column ' || quote_ident($1) || '(' || quote_ident($2) || ') should have a check constraint') $$;

-- Indexes. The first index named idx (on a table named tbl, in schema sch,
-- when given; on a table visible on the search_path when visible is true).
-- pgTAP checks visibility in some variants and not in others; each caller
-- below passes what pgTAP does. NULL here means "not given"; a schema or
-- table argument that is NULL matches nothing in pgTAP (it compares with =),
-- so callers pass coalesce(arg, ''): no schema or table is named ''.
CREATE FUNCTION _tap_cons_index(sch name, tbl name, idx name, visible boolean) RETURNS oid
LANGUAGE sql STABLE AS $$
    SELECT x.indexrelid
      FROM pg_catalog.pg_index x
      JOIN pg_catalog.pg_class ct ON ct.oid = x.indrelid
      JOIN pg_catalog.pg_class ci ON ci.oid = x.indexrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = ct.relnamespace
     WHERE ci.relname = idx
       AND (tbl IS NULL OR ct.relname = tbl)
       AND (sch IS NULL OR n.nspname = sch)
       AND (NOT visible OR pg_catalog.pg_table_is_visible(ct.oid))
     LIMIT 1
$$;

-- The key of an index as pg_get_indexdef prints each of its indnatts columns
-- (INCLUDE columns too): a quoted column name or an expression.
CREATE FUNCTION _tap_cons_index_keys(idx oid) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT pg_catalog.pg_get_indexdef(x.indexrelid, k, false)
                   FROM pg_catalog.pg_index x, generate_series(1, x.indnatts) k
                  WHERE x.indexrelid = idx ORDER BY k)
$$;

-- has_index with columns: "idx ON tbl(keys)" compared as text. pgTAP holds
-- the found key in a name[] (each entry cut to 63 bytes); so does this.
CREATE FUNCTION _tap_cons_has_index(sch name, tbl name, idx name, cols name[], descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN cardinality(k.keys) = 0
        THEN ok(false, descr) || E'\n' || diag('Index ' || quote_ident(idx) || ' ON ' || k.tname || ' not found')
        ELSE is(quote_ident(idx) || ' ON ' || k.tname || '(' || array_to_string(k.keys, ', ') || ')',
                quote_ident(idx) || ' ON ' || k.tname || '(' || array_to_string(cols, ', ') || ')',
                descr) END
      FROM (SELECT _tap_cons_index_keys(_tap_cons_index(sch, coalesce(tbl, ''), idx, sch IS NULL))::name[] AS keys,
                   CASE WHEN sch IS NULL THEN '' ELSE quote_ident(sch) || '.' END || quote_ident(tbl) AS tname) k
$$;

-- A NULL schema: as col_is_fk's.
CREATE FUNCTION has_index(name, name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN $1 IS NULL THEN CASE WHEN ok(false, $5) IS NULL THEN '' END ELSE _tap_cons_has_index($1, $2, $3, $4, $5) END
$$;
CREATE FUNCTION has_index(name, name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT has_index($1, $2, $3, $4, 'Index ' || quote_ident($3) || ' should exist') $$;
CREATE FUNCTION has_index(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT has_index($1, $2, $3, ARRAY[$4], $5) $$;
CREATE FUNCTION has_index(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT has_index($1, $2, $3, $4, 'Index ' || quote_ident($3) || ' should exist') $$;
CREATE FUNCTION has_index(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_has_index(NULL, $1, $2, $3, $4) $$;
CREATE FUNCTION has_index(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT has_index($1, $2, $3, 'Index ' || quote_ident($2) || ' should exist') $$;
-- Three names and a text: (schema, table, index, description) when the first
-- names a schema, else (table, index, column or expression, description).
CREATE FUNCTION has_index(name, name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN _tap_schema_exists($1)
        THEN ok(_tap_cons_index(coalesce($1, ''), coalesce($2, ''), $3, false) IS NOT NULL, $4)
        ELSE has_index($1, $2, ARRAY[$3], $4) END
$$;
CREATE FUNCTION has_index(name, name, name) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN _tap_schema_exists($1)
        THEN ok(_tap_cons_index(coalesce($1, ''), coalesce($2, ''), $3, false) IS NOT NULL, 'Index ' || quote_ident($3) || ' should exist')
        ELSE has_index($1, $2, ARRAY[$3], 'Index ' || quote_ident($2) || ' should exist') END
$$;
-- has_index('t', 'i', 'x'): literals resolve to this (text) variant, so 'x' is
-- a description unless it contains '(' (an expression), exactly as in pgTAP.
CREATE FUNCTION has_index(name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN $3 LIKE '%(%'
        THEN has_index($1, $2, $3::name)
        ELSE ok(_tap_cons_index(NULL, coalesce($1, ''), $2, true) IS NOT NULL, $3) END
$$;
CREATE FUNCTION has_index(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index(NULL, coalesce($1, ''), $2, true) IS NOT NULL, 'Index ' || quote_ident($2) || ' should exist') $$;

CREATE FUNCTION hasnt_index(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index(coalesce($1, ''), coalesce($2, ''), $3, false) IS NULL, $4) $$;
CREATE FUNCTION hasnt_index(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index(coalesce($1, ''), coalesce($2, ''), $3, false) IS NULL, 'Index ' || quote_ident($3) || ' should not exist') $$;
CREATE FUNCTION hasnt_index(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index(NULL, coalesce($1, ''), $2, true) IS NULL, $3) $$;
CREATE FUNCTION hasnt_index(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index(NULL, coalesce($1, ''), $2, true) IS NULL, 'Index ' || quote_ident($2) || ' should not exist') $$;

-- Some index on the table has exactly this key. Without a schema, pgTAP looks
-- at every table of that name, visible or not.
CREATE FUNCTION _tap_cons_is_indexed(sch name, tbl name, cols text[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_index x
                     JOIN pg_catalog.pg_class ct ON ct.oid = x.indrelid
                     JOIN pg_catalog.pg_namespace n ON n.oid = ct.relnamespace
                    WHERE ct.relname = tbl AND (sch IS NULL OR n.nspname = sch)
                      AND _tap_cons_index_keys(x.indexrelid) = cols)
$$;

CREATE FUNCTION is_indexed(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_is_indexed($1, $2, $3), $4) $$;
CREATE FUNCTION is_indexed(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_is_indexed($1, $2, $3), 'Should have an index on ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ')') $$;
CREATE FUNCTION is_indexed(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_is_indexed(NULL, $1, $2), $3) $$;
CREATE FUNCTION is_indexed(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_is_indexed(NULL, $1, $2), 'Should have an index on ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ')') $$;
CREATE FUNCTION is_indexed(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_is_indexed($1, $2, ARRAY[$3]), $4) $$;
-- (schema, table, column) when the first names a schema, else (table, column, description).
CREATE FUNCTION is_indexed(name, name, name) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN _tap_schema_exists($1) THEN is_indexed($1, $2, ARRAY[$3]) ELSE is_indexed($1, ARRAY[$2], $3::text) END
$$;
-- pgTAP gives this one no description.
CREATE FUNCTION is_indexed(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_is_indexed(NULL, $1, ARRAY[$2])) $$;

-- pg_index flags of one index; a missing index fails like a false flag.
CREATE FUNCTION _tap_cons_index_flag(idx oid, flag text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT CASE flag WHEN 'unique' THEN x.indisunique WHEN 'primary' THEN x.indisprimary
                                          WHEN 'partial' THEN x.indpred IS NOT NULL ELSE x.indisclustered END
                       FROM pg_catalog.pg_index x WHERE x.indexrelid = idx), false)
$$;

CREATE FUNCTION index_is_unique(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(coalesce($1, ''), coalesce($2, ''), $3, false), 'unique'), $4) $$;
CREATE FUNCTION index_is_unique(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT index_is_unique($1, $2, $3, 'Index ' || quote_ident($3) || ' should be unique') $$;
CREATE FUNCTION index_is_unique(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(NULL, coalesce($1, ''), $2, true), 'unique'), 'Index ' || quote_ident($2) || ' should be unique') $$;
CREATE FUNCTION index_is_unique(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(NULL, NULL, $1, true), 'unique'), 'Index ' || quote_ident($1) || ' should be unique') $$;

CREATE FUNCTION index_is_primary(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(coalesce($1, ''), coalesce($2, ''), $3, false), 'primary'), $4) $$;
CREATE FUNCTION index_is_primary(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT index_is_primary($1, $2, $3, 'Index ' || quote_ident($3) || ' should be on a primary key') $$;
CREATE FUNCTION index_is_primary(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(NULL, coalesce($1, ''), $2, true), 'primary'), 'Index ' || quote_ident($2) || ' should be on a primary key') $$;
CREATE FUNCTION index_is_primary(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(NULL, NULL, $1, true), 'primary'), 'Index ' || quote_ident($1) || ' should be on a primary key') $$;

-- index_is_partial (pgTAP 1.3.4): the index has a WHERE clause (pg_index.indpred).
-- A NULL schema or table matches nothing, as pgTAP compares them with =; without
-- a schema, the table must be visible on the search path.
CREATE FUNCTION index_is_partial(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(coalesce($1, ''), coalesce($2, ''), $3, false), 'partial'), $4) $$;
CREATE FUNCTION index_is_partial(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT index_is_partial($1, $2, $3, 'Index ' || quote_ident($3) || ' should be partial') $$;
CREATE FUNCTION index_is_partial(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(NULL, coalesce($1, ''), $2, true), 'partial'), 'Index ' || quote_ident($2) || ' should be partial') $$;
CREATE FUNCTION index_is_partial(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(NULL, NULL, $1, true), 'partial'), 'Index ' || quote_ident($1) || ' should be partial') $$;

-- indisclustered: set by CLUSTER … USING / ALTER TABLE … CLUSTER ON. pgTAP's
-- variants without a schema do not check visibility here.
CREATE FUNCTION is_clustered(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(coalesce($1, ''), coalesce($2, ''), $3, false), 'clustered'), $4) $$;
CREATE FUNCTION is_clustered(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT is_clustered($1, $2, $3, 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should be clustered on index ' || quote_ident($3)) $$;
CREATE FUNCTION is_clustered(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(NULL, coalesce($1, ''), $2, false), 'clustered'), 'Table ' || quote_ident($1) || ' should be clustered on index ' || quote_ident($2)) $$;
CREATE FUNCTION is_clustered(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_index_flag(_tap_cons_index(NULL, NULL, $1, false), 'clustered'), 'Table should be clustered on index ' || quote_ident($1)) $$;

-- The index's access method (pg_am.amname via pg_class.relam): btree, hash, gin, gist…
CREATE FUNCTION _tap_cons_index_am(idx oid) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT am.amname FROM pg_catalog.pg_class ci JOIN pg_catalog.pg_am am ON am.oid = ci.relam WHERE ci.oid = idx
$$;

CREATE FUNCTION index_is_type(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT is(_tap_cons_index_am(_tap_cons_index(coalesce($1, ''), coalesce($2, ''), $3, false)), $4, $5) $$;
CREATE FUNCTION index_is_type(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT index_is_type($1, $2, $3, $4, 'Index ' || quote_ident($3) || ' should be a ' || quote_ident($4) || ' index') $$;
CREATE FUNCTION index_is_type(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT is(_tap_cons_index_am(_tap_cons_index(NULL, coalesce($1, ''), $2, false)), $3, 'Index ' || quote_ident($2) || ' should be a ' || quote_ident($3) || ' index') $$;
CREATE FUNCTION index_is_type(name, name) RETURNS text LANGUAGE sql AS $$ SELECT is(_tap_cons_index_am(_tap_cons_index(NULL, NULL, $1, false)), $2, 'Index ' || quote_ident($1) || ' should be a ' || quote_ident($2) || ' index') $$;

-- Index names of a table; without a schema, the visible table outside
-- pg_catalog and information_schema.
CREATE FUNCTION _tap_cons_indexes(sch name, tbl name) RETURNS name[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT ci.relname FROM pg_catalog.pg_index x
                   JOIN pg_catalog.pg_class ct ON ct.oid = x.indrelid
                   JOIN pg_catalog.pg_class ci ON ci.oid = x.indexrelid
                   JOIN pg_catalog.pg_namespace n ON n.oid = ct.relnamespace
                  WHERE ct.relname = tbl
                    AND CASE WHEN sch IS NULL
                             THEN pg_catalog.pg_table_is_visible(ct.oid) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                             ELSE n.nspname = sch END)
$$;

-- PL/pgSQL because _tap_set_are comes from 40-policies.sql, installed after
-- this file, and a LANGUAGE sql body is resolved when it is created.
CREATE FUNCTION indexes_are(name, name, name[], text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN _tap_set_are('indexes', _tap_cons_indexes(coalesce($1, ''), $2), $3, $4); END $$;
CREATE FUNCTION indexes_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT indexes_are($1, $2, $3, 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should have the correct indexes') $$;
CREATE FUNCTION indexes_are(name, name[], text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN _tap_set_are('indexes', _tap_cons_indexes(NULL, $1), $2, $3); END $$;
CREATE FUNCTION indexes_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT indexes_are($1, $2, 'Table ' || quote_ident($1) || ' should have the correct indexes') $$;

-- Inheritance. relhassubclass: set when a child is attached (and only cleared
-- lazily); pgTAP counts ordinary tables (relkind 'r') only, not partitioned ones.
CREATE FUNCTION _tap_cons_inherited(sch name, tbl name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind = 'r' AND c.relname = tbl AND c.relhassubclass
                      AND CASE WHEN sch IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = sch END)
$$;

CREATE FUNCTION has_inherited_tables(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_inherited(coalesce($1, ''), $2), $3) $$;
CREATE FUNCTION has_inherited_tables(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_inherited(coalesce($1, ''), $2), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should have descendents') $$;
CREATE FUNCTION has_inherited_tables(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_inherited(NULL, $1), $2) $$;
CREATE FUNCTION has_inherited_tables(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_inherited(NULL, $1), 'Table ' || quote_ident($1) || ' should have descendents') $$;
CREATE FUNCTION hasnt_inherited_tables(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_inherited(coalesce($1, ''), $2), $3) $$;
CREATE FUNCTION hasnt_inherited_tables(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_inherited(coalesce($1, ''), $2), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should not have descendents') $$;
CREATE FUNCTION hasnt_inherited_tables(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_inherited(NULL, $1), $2) $$;
CREATE FUNCTION hasnt_inherited_tables(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_inherited(NULL, $1), 'Table ' || quote_ident($1) || ' should not have descendents') $$;

-- The relation of that name (any relkind, as pgTAP looks it up).
CREATE FUNCTION _tap_cons_rel(sch name, tbl name) RETURNS oid
LANGUAGE sql STABLE AS $$
    SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = tbl AND CASE WHEN sch IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = sch END
$$;

-- Is des a descendant of anc at this depth (any depth when NULL)? pgTAP 1.2's
-- recursive walk only extends a chain with the target table itself, so it
-- finds children (depth 1) and grandchildren (depth 2) and nothing deeper;
-- this asks exactly those two questions so the verdicts stay the same.
CREATE FUNCTION _tap_cons_ancestor(anc oid, des oid, depth integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (coalesce(depth, 1) = 1
            AND EXISTS (SELECT FROM pg_catalog.pg_inherits i WHERE i.inhparent = anc AND i.inhrelid = des))
        OR (coalesce(depth, 2) = 2
            AND EXISTS (SELECT FROM pg_catalog.pg_inherits i1 JOIN pg_catalog.pg_inherits i2 ON i2.inhparent = i1.inhrelid
                         WHERE i1.inhparent = anc AND i2.inhrelid = des))
$$;

-- A NULL schema is the search path here; pgTAP's variants with schemas look a
-- NULL one up with = and find nothing, so they pass coalesce(schema, '').
CREATE FUNCTION _tap_cons_ancestor(sch1 name, tbl1 name, sch2 name, tbl2 name, depth integer) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT coalesce(_tap_cons_ancestor(_tap_cons_rel(sch1, tbl1), _tap_cons_rel(sch2, tbl2), depth), false) $$;

CREATE FUNCTION is_ancestor_of(name, name, name, name, integer, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(coalesce($1, ''), $2, coalesce($3, ''), $4, $5), $6) $$;
CREATE FUNCTION is_ancestor_of(name, name, name, name, integer) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(coalesce($1, ''), $2, coalesce($3, ''), $4, $5), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should be ancestor ' || $5 || ' for ' || quote_ident($3) || '.' || quote_ident($4)) $$;
CREATE FUNCTION is_ancestor_of(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(coalesce($1, ''), $2, coalesce($3, ''), $4, NULL), $5) $$;
CREATE FUNCTION is_ancestor_of(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(coalesce($1, ''), $2, coalesce($3, ''), $4, NULL), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should be an ancestor of ' || quote_ident($3) || '.' || quote_ident($4)) $$;
CREATE FUNCTION is_ancestor_of(name, name, integer, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(NULL, $1, NULL, $2, $3), $4) $$;
CREATE FUNCTION is_ancestor_of(name, name, integer) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(NULL, $1, NULL, $2, $3), 'Table ' || quote_ident($1) || ' should be ancestor ' || $3 || ' of ' || quote_ident($2)) $$;
CREATE FUNCTION is_ancestor_of(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(NULL, $1, NULL, $2, NULL), $3) $$;
CREATE FUNCTION is_ancestor_of(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(NULL, $1, NULL, $2, NULL), 'Table ' || quote_ident($1) || ' should be an ancestor of ' || quote_ident($2)) $$;

CREATE FUNCTION isnt_ancestor_of(name, name, name, name, integer, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(coalesce($1, ''), $2, coalesce($3, ''), $4, $5), $6) $$;
CREATE FUNCTION isnt_ancestor_of(name, name, name, name, integer) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(coalesce($1, ''), $2, coalesce($3, ''), $4, $5), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should not be ancestor ' || $5 || ' for ' || quote_ident($3) || '.' || quote_ident($4)) $$;
CREATE FUNCTION isnt_ancestor_of(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(coalesce($1, ''), $2, coalesce($3, ''), $4, NULL), $5) $$;
CREATE FUNCTION isnt_ancestor_of(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(coalesce($1, ''), $2, coalesce($3, ''), $4, NULL), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should not be an ancestor of ' || quote_ident($3) || '.' || quote_ident($4)) $$;
CREATE FUNCTION isnt_ancestor_of(name, name, integer, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(NULL, $1, NULL, $2, $3), $4) $$;
CREATE FUNCTION isnt_ancestor_of(name, name, integer) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(NULL, $1, NULL, $2, $3), 'Table ' || quote_ident($1) || ' should not be ancestor ' || $3 || ' of ' || quote_ident($2)) $$;
CREATE FUNCTION isnt_ancestor_of(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(NULL, $1, NULL, $2, NULL), $3) $$;
CREATE FUNCTION isnt_ancestor_of(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(NULL, $1, NULL, $2, NULL), 'Table ' || quote_ident($1) || ' should not be an ancestor of ' || quote_ident($2)) $$;

-- "descendent" is pgTAP's spelling, kept in names and messages.
CREATE FUNCTION is_descendent_of(name, name, name, name, integer, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(coalesce($3, ''), $4, coalesce($1, ''), $2, $5), $6) $$;
CREATE FUNCTION is_descendent_of(name, name, name, name, integer) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(coalesce($3, ''), $4, coalesce($1, ''), $2, $5), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should be descendent ' || $5 || ' from ' || quote_ident($3) || '.' || quote_ident($4)) $$;
CREATE FUNCTION is_descendent_of(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(coalesce($3, ''), $4, coalesce($1, ''), $2, NULL), $5) $$;
CREATE FUNCTION is_descendent_of(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(coalesce($3, ''), $4, coalesce($1, ''), $2, NULL), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should be a descendent of ' || quote_ident($3) || '.' || quote_ident($4)) $$;
CREATE FUNCTION is_descendent_of(name, name, integer, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(NULL, $2, NULL, $1, $3), $4) $$;
CREATE FUNCTION is_descendent_of(name, name, integer) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(NULL, $2, NULL, $1, $3), 'Table ' || quote_ident($1) || ' should be descendent ' || $3 || ' from ' || quote_ident($2)) $$;
CREATE FUNCTION is_descendent_of(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(NULL, $2, NULL, $1, NULL), $3) $$;
CREATE FUNCTION is_descendent_of(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_ancestor(NULL, $2, NULL, $1, NULL), 'Table ' || quote_ident($1) || ' should be a descendent of ' || quote_ident($2)) $$;

CREATE FUNCTION isnt_descendent_of(name, name, name, name, integer, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(coalesce($3, ''), $4, coalesce($1, ''), $2, $5), $6) $$;
CREATE FUNCTION isnt_descendent_of(name, name, name, name, integer) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(coalesce($3, ''), $4, coalesce($1, ''), $2, $5), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should not be descendent ' || $5 || ' from ' || quote_ident($3) || '.' || quote_ident($4)) $$;
CREATE FUNCTION isnt_descendent_of(name, name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(coalesce($3, ''), $4, coalesce($1, ''), $2, NULL), $5) $$;
CREATE FUNCTION isnt_descendent_of(name, name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(coalesce($3, ''), $4, coalesce($1, ''), $2, NULL), 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should not be a descendent of ' || quote_ident($3) || '.' || quote_ident($4)) $$;
CREATE FUNCTION isnt_descendent_of(name, name, integer, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(NULL, $2, NULL, $1, $3), $4) $$;
CREATE FUNCTION isnt_descendent_of(name, name, integer) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(NULL, $2, NULL, $1, $3), 'Table ' || quote_ident($1) || ' should not be descendent ' || $3 || ' from ' || quote_ident($2)) $$;
CREATE FUNCTION isnt_descendent_of(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(NULL, $2, NULL, $1, NULL), $3) $$;
CREATE FUNCTION isnt_descendent_of(name, name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_ancestor(NULL, $2, NULL, $1, NULL), 'Table ' || quote_ident($1) || ' should not be a descendent of ' || quote_ident($2)) $$;
