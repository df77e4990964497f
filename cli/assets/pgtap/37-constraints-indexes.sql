-- Part 4c: constraints (foreign keys, unique, check, primary key columns),
-- with pgTAP 1.2's overloads, default
-- descriptions and diagnostics, including its quirks (noted where they would
-- surprise), because peer suites were written against that output.
--
-- Variants without a schema look at the table visible on the search_path
-- (pg_table_is_visible) unless noted otherwise; a NULL schema in the private
-- helpers below means exactly that.

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

-- Foreign keys as pgTAP sees them (its pg_all_foreign_keys view): only those
-- whose referenced key is a plain index (relkind 'i'), so a key referencing a
-- partitioned table shows up once per partition and never as the parent; and
-- only on tables the current role may use (schema USAGE and some table privilege).
CREATE VIEW _tap_cons_fks AS
SELECT n.nspname AS fk_schema,
       c.relname AS fk_table,
       c.oid AS fk_oid,
       _tap_cons_cols(x.conrelid, x.conkey) AS fk_cols,
       pn.nspname AS pk_schema,
       p.relname AS pk_table,
       _tap_cons_cols(x.confrelid, x.confkey) AS pk_cols
  FROM pg_catalog.pg_constraint x
  JOIN pg_catalog.pg_class c ON c.oid = x.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_class p ON p.oid = x.confrelid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
  JOIN pg_catalog.pg_class i ON i.oid = x.conindid AND i.relkind = 'i'
 WHERE x.contype = 'f'
   AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')
   AND pg_catalog.has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, REFERENCES, TRIGGER');

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

CREATE FUNCTION has_fk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has($1, $2, 'f'), $3) $$;
CREATE FUNCTION has_fk(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has(NULL, $1, 'f'), $2) $$;
CREATE FUNCTION has_fk(name) RETURNS text LANGUAGE sql AS $$ SELECT has_fk($1, 'Table ' || quote_ident($1) || ' should have a foreign key constraint') $$;
CREATE FUNCTION hasnt_fk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_has($1, $2, 'f'), $3) $$;
CREATE FUNCTION hasnt_fk(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_has(NULL, $1, 'f'), $2) $$;
CREATE FUNCTION hasnt_fk(name) RETURNS text LANGUAGE sql AS $$ SELECT hasnt_fk($1, 'Table ' || quote_ident($1) || ' should not have a foreign key constraint') $$;

CREATE FUNCTION col_is_fk(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_col_is_fk($1, $2, $3, $4) $$;
CREATE FUNCTION col_is_fk(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_col_is_fk(NULL, $1, $2, $3) $$;
CREATE FUNCTION col_is_fk(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_is_fk($1, $2, 'Columns ' || quote_ident($1) || '(' || _tap_ident_list($2, ', ') || ') should be a foreign key') $$;
CREATE FUNCTION col_is_fk(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_is_fk($1, $2, ARRAY[$3], $4) $$;
CREATE FUNCTION col_is_fk(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_is_fk($1, ARRAY[$2], $3) $$;
CREATE FUNCTION col_is_fk(name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_is_fk($1, $2, 'Column ' || quote_ident($1) || '(' || quote_ident($2) || ') should be a foreign key') $$;
CREATE FUNCTION col_isnt_fk(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_cons_fk_exists($1, $2, $3), $4) $$;
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
CREATE FUNCTION has_unique(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has($1, $2, 'u'), $3) $$;
CREATE FUNCTION has_unique(text, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has(NULL, $1, 'u'), $2) $$;
CREATE FUNCTION has_unique(text) RETURNS text LANGUAGE sql AS $$ SELECT has_unique($1, 'Table ' || quote_ident($1) || ' should have a unique constraint') $$;

CREATE FUNCTION col_is_unique(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_match($1, $2, 'u', $3, $4) $$;
CREATE FUNCTION col_is_unique(name, name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, $2, $3, 'Columns ' || quote_ident($2) || '(' || _tap_ident_list($3, ', ') || ') should have a unique constraint') $$;
CREATE FUNCTION col_is_unique(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, $2, ARRAY[$3], 'Column ' || quote_ident($2) || '(' || quote_ident($3) || ') should have a unique constraint') $$;
CREATE FUNCTION col_is_unique(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_match(NULL, $1, 'u', $2, $3) $$;
CREATE FUNCTION col_is_unique(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, $2, 'Columns ' || quote_ident($1) || '(' || _tap_ident_list($2, ', ') || ') should have a unique constraint') $$;
CREATE FUNCTION col_is_unique(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, $2, ARRAY[$3], $4) $$;
CREATE FUNCTION col_is_unique(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, ARRAY[$2], $3) $$;
CREATE FUNCTION col_is_unique(name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_is_unique($1, $2, 'Column ' || quote_ident($1) || '(' || quote_ident($2) || ') should have a unique constraint') $$;

CREATE FUNCTION has_check(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has($1, $2, 'c'), $3) $$;
CREATE FUNCTION has_check(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_cons_has(NULL, $1, 'c'), $2) $$;
CREATE FUNCTION has_check(name) RETURNS text LANGUAGE sql AS $$ SELECT has_check($1, 'Table ' || quote_ident($1) || ' should have a check constraint') $$;

CREATE FUNCTION col_has_check(name, name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_match($1, $2, 'c', $3, $4) $$;
CREATE FUNCTION col_has_check(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_cons_match(NULL, $1, 'c', $2, $3) $$;
CREATE FUNCTION col_has_check(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT col_has_check($1, $2, 'Columns ' || quote_ident($1) || '(' || _tap_ident_list($2, ', ') || ') should have a check constraint') $$;
CREATE FUNCTION col_has_check(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_has_check($1, $2, ARRAY[$3], $4) $$;
CREATE FUNCTION col_has_check(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT col_has_check($1, ARRAY[$2], $3) $$;
CREATE FUNCTION col_has_check(name, name) RETURNS text LANGUAGE sql AS $$ SELECT col_has_check($1, $2, 'Column ' || quote_ident($1) || '(' || quote_ident($2) || ') should have a check constraint') $$;
