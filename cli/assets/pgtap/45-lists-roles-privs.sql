-- Part 5b: lists of objects (tables_are, schemas_are, roles_are …), roles and
-- memberships, privileges on databases, sequences, columns, languages, FDWs,
-- servers and tablespaces, and owners. Same overloads, default descriptions
-- and diagnostics as pgTAP 1.2.

-- The schema this library is installed in (the runner's rowguard_tap), fixed
-- at install time: its view and sequence must not show up as extra relations
-- of the search path, as pgTAP's own helper objects do not.
DO $install$
BEGIN
    EXECUTE format('CREATE FUNCTION _tap_lrp_library_schema() RETURNS name LANGUAGE sql IMMUTABLE AS %L',
                   format('SELECT %L::name', current_schema()));
END;
$install$;

-- ---------------------------------------------------------------------------
-- tables_are, views_are, sequences_are
-- ---------------------------------------------------------------------------

-- The relations of the given relkinds (r = table, p = partitioned table,
-- v = view, S = sequence) in schema `sch`, or, with sch NULL, those visible
-- through the search path (the variants without a schema; those with one
-- pass a NULL schema as '', which names none, as in pgTAP). As in pgTAP, the names of pgTAP's own helper
-- objects are never extra, pg_catalog relations are never counted, and a
-- wanted relation in information_schema only counts when a schema is named.
CREATE FUNCTION _tap_lrp_rels_are(what text, kinds "char"[], sch name, want name[], descr text) RETURNS text
LANGUAGE sql AS $$
    WITH rel AS (
        SELECT c.relname, n.nspname
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = ANY (kinds)
           AND CASE WHEN sch IS NULL
                    THEN pg_catalog.pg_table_is_visible(c.oid) AND n.nspname <> 'pg_catalog'
                    ELSE n.nspname = sch END
    )
    SELECT _tap_are(what,
        ARRAY(SELECT relname FROM rel
               WHERE relname NOT IN ('pg_all_foreign_keys', 'tap_funky', '__tresults___numb_seq', '__tcache___id_seq')
                 AND (sch IS NOT NULL OR (relname <> '__tcache__' AND nspname <> _tap_lrp_library_schema()))
              EXCEPT SELECT w FROM unnest(want) w),
        -- The wanted names by subscript, as pgTAP reads them: the hashed EXCEPT then
        -- returns them in pgTAP's order, and a NULL among them comes first (and
        -- the list counts as empty) exactly when it does in pgTAP.
        ARRAY(SELECT want[i] FROM generate_series(1, array_upper(want, 1)) s(i)
              EXCEPT SELECT relname FROM rel WHERE sch IS NOT NULL OR nspname <> 'information_schema'),
        descr)
$$;

CREATE FUNCTION tables_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_rels_are('tables', '{r,p}', coalesce($1, ''), $2, $3) $$;
CREATE FUNCTION tables_are(name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_rels_are('tables', '{r,p}', NULL, $1, $2) $$;
CREATE FUNCTION tables_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT tables_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct tables') $$;
CREATE FUNCTION tables_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT tables_are($1, 'Search path ' || _tap_search_path() || ' should have the correct tables') $$;

CREATE FUNCTION views_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_rels_are('views', '{v}', coalesce($1, ''), $2, $3) $$;
CREATE FUNCTION views_are(name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_rels_are('views', '{v}', NULL, $1, $2) $$;
CREATE FUNCTION views_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT views_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct views') $$;
CREATE FUNCTION views_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT views_are($1, 'Search path ' || _tap_search_path() || ' should have the correct views') $$;

CREATE FUNCTION sequences_are(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_rels_are('sequences', '{S}', coalesce($1, ''), $2, $3) $$;
CREATE FUNCTION sequences_are(name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_rels_are('sequences', '{S}', NULL, $1, $2) $$;
CREATE FUNCTION sequences_are(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT sequences_are($1, $2, 'Schema ' || quote_ident($1) || ' should have the correct sequences') $$;
CREATE FUNCTION sequences_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT sequences_are($1, 'Search path ' || _tap_search_path() || ' should have the correct sequences') $$;

-- ---------------------------------------------------------------------------
-- schemas_are, roles_are, users_are, groups_are
-- ---------------------------------------------------------------------------

-- Every schema but pg_* (LIKE 'pg_%', so "pgx" too, as in pgTAP) and
-- information_schema. The schemas `rowguard test` installs itself (this
-- library, the tests.* helpers and basejump's test_overrides) are never
-- reported as extra: a suite written
-- for a database without them must not fail because of them; one that lists
-- them still finds them.
CREATE FUNCTION schemas_are(name[], text) RETURNS text LANGUAGE sql AS $$
    WITH nsp AS (SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema')
    SELECT _tap_are('schemas',
        ARRAY(SELECT nspname FROM nsp WHERE nspname NOT IN (_tap_lrp_library_schema(), 'tests', 'test_overrides') EXCEPT SELECT w FROM unnest($1) w),
        _tap_missing($1, ARRAY(SELECT nspname FROM nsp)),
        $2)
$$;
CREATE FUNCTION schemas_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT schemas_are($1, 'There should be the correct schemas') $$;

-- Roles are cluster-wide. pg_user lists the roles that can log in
-- (rolcanlogin), pg_group those that cannot.
CREATE FUNCTION roles_are(name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_set_are('roles', ARRAY(SELECT rolname FROM pg_catalog.pg_roles), $1, $2)
$$;
CREATE FUNCTION roles_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT roles_are($1, 'There should be the correct roles') $$;
CREATE FUNCTION users_are(name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_set_are('users', ARRAY(SELECT usename FROM pg_catalog.pg_user), $1, $2)
$$;
CREATE FUNCTION users_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT users_are($1, 'There should be the correct users') $$;
CREATE FUNCTION groups_are(name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_set_are('groups', ARRAY(SELECT groname FROM pg_catalog.pg_group), $1, $2)
$$;
CREATE FUNCTION groups_are(name[]) RETURNS text LANGUAGE sql AS $$ SELECT groups_are($1, 'There should be the correct groups') $$;

-- ---------------------------------------------------------------------------
-- has_user, has_group, is_superuser, is_member_of
-- ---------------------------------------------------------------------------

CREATE FUNCTION _tap_lrp_user_exists(name) RETURNS boolean LANGUAGE sql STABLE STRICT AS $$ SELECT EXISTS (SELECT FROM pg_catalog.pg_user WHERE usename = $1) $$;
CREATE FUNCTION has_user(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_lrp_user_exists($1), $2) $$;
CREATE FUNCTION has_user(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_lrp_user_exists($1), 'User ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_user(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_lrp_user_exists($1), $2) $$;
CREATE FUNCTION hasnt_user(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_lrp_user_exists($1), 'User ' || quote_ident($1) || ' should not exist') $$;

CREATE FUNCTION _tap_lrp_group_exists(name) RETURNS boolean LANGUAGE sql STABLE STRICT AS $$ SELECT EXISTS (SELECT FROM pg_catalog.pg_group WHERE groname = $1) $$;
CREATE FUNCTION has_group(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_lrp_group_exists($1), $2) $$;
CREATE FUNCTION has_group(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(_tap_lrp_group_exists($1), 'Group ' || quote_ident($1) || ' should exist') $$;
CREATE FUNCTION hasnt_group(name, text) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_lrp_group_exists($1), $2) $$;
CREATE FUNCTION hasnt_group(name) RETURNS text LANGUAGE sql AS $$ SELECT ok(NOT _tap_lrp_group_exists($1), 'Group ' || quote_ident($1) || ' should not exist') $$;

-- rolsuper of the role; a missing role fails with "does not exist" (any role, not only one that can log in).
CREATE FUNCTION _tap_lrp_super_ok(role name, want boolean, descr text) RETURNS text
LANGUAGE sql AS $$
    SELECT coalesce(
        (SELECT ok(r.rolsuper = want, descr) FROM pg_catalog.pg_roles r WHERE r.rolname = role),
        fail(descr) || E'\n' || diag('    User ' || quote_ident(role) || ' does not exist'))
$$;
CREATE FUNCTION is_superuser(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_super_ok($1, true, $2) $$;
CREATE FUNCTION is_superuser(name) RETURNS text LANGUAGE sql AS $$ SELECT is_superuser($1, 'User ' || quote_ident($1) || ' should be a super user') $$;
CREATE FUNCTION isnt_superuser(name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_super_ok($1, false, $2) $$;
CREATE FUNCTION isnt_superuser(name) RETURNS text LANGUAGE sql AS $$ SELECT isnt_superuser($1, 'User ' || quote_ident($1) || ' should not be a super user') $$;

-- Direct members only (pg_auth_members rows whose roleid is the group), as in
-- pgTAP: a member through an intermediate role does not count. The lists keep
-- the order and the duplicates of the argument.
CREATE FUNCTION _tap_lrp_is_direct_member(group_name name, member_name name) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_catalog.pg_auth_members m
                     JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                     JOIN pg_catalog.pg_roles r ON r.oid = m.member
                    WHERE g.rolname = group_name AND r.rolname = member_name)
$$;

CREATE FUNCTION _tap_lrp_members(grp name, members name[], want_in boolean, descr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    wrong text[];
BEGIN
    IF NOT _tap_role_exists(grp) THEN
        RETURN fail(descr) || E'\n' || diag('    Role ' || quote_ident(grp) || ' does not exist');
    END IF;
    wrong := ARRAY(SELECT quote_ident(m) FROM unnest(members) WITH ORDINALITY u(m, i)
                    WHERE _tap_lrp_is_direct_member(grp, m) <> want_in ORDER BY i);
    -- A NULL member heads the list as NULL: pgTAP then passes, so this does too.
    IF wrong[1] IS NULL THEN
        RETURN ok(true, descr);
    END IF;
    RETURN ok(false, descr) || E'\n' || diag(
        CASE WHEN want_in THEN '    Members missing from the ' || quote_ident(grp) || ' role:'
             ELSE '    Members, who should not be in ' || quote_ident(grp) || ' role:' END
        || E'\n        ' || array_to_string(wrong, E'\n        '));
END;
$$;

CREATE FUNCTION is_member_of(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_members($1, $2, true, $3) $$;
CREATE FUNCTION is_member_of(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT is_member_of($1, ARRAY[$2], $3) $$;
CREATE FUNCTION is_member_of(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT is_member_of($1, $2, 'Should have members of role ' || quote_ident($1)) $$;
CREATE FUNCTION is_member_of(name, name) RETURNS text LANGUAGE sql AS $$ SELECT is_member_of($1, ARRAY[$2]) $$;
CREATE FUNCTION isnt_member_of(name, name[], text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_members($1, $2, false, $3) $$;
CREATE FUNCTION isnt_member_of(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT isnt_member_of($1, ARRAY[$2], $3) $$;
CREATE FUNCTION isnt_member_of(name, name[]) RETURNS text LANGUAGE sql AS $$ SELECT isnt_member_of($1, $2, 'Should not have members of role ' || quote_ident($1)) $$;
CREATE FUNCTION isnt_member_of(name, name) RETURNS text LANGUAGE sql AS $$ SELECT isnt_member_of($1, ARRAY[$2]) $$;

-- ---------------------------------------------------------------------------
-- Privileges: database, sequence, any column, column, language, FDW, server,
-- tablespace. Like table_privs_are (40-policies.sql), through has_*_privilege,
-- so inherited and PUBLIC grants count; a missing object reads
-- '{undefined_table}' and _tap_privs_check prints "<thing> does not exist".
-- ---------------------------------------------------------------------------

-- The default description of every *_privs_are.
-- 3D000 invalid_catalog_name: no such database.
CREATE FUNCTION database_privs_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_privs_of('database', $2, $1::text), $3, $4, 'Database ' || quote_ident($1), $2)
$$;
CREATE FUNCTION database_privs_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT database_privs_are($1, $2, $3, _tap_privs_descr($2, $3, 'database ' || quote_ident($1)))
$$;

-- has_sequence_privilege raises 42809 (wrong_object_type) for a relation that
-- is not a sequence; pgTAP lets that error through, and so does this.
CREATE FUNCTION sequence_privs_are(name, name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_privs_of('sequence', $3, quote_ident($1) || '.' || quote_ident($2)), $4, $5,
                            'Sequence ' || quote_ident($1) || '.' || quote_ident($2), $3)
$$;
CREATE FUNCTION sequence_privs_are(name, name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT sequence_privs_are($1, $2, $3, $4, _tap_privs_descr($3, $4, 'sequence ' || quote_ident($1) || '.' || quote_ident($2)))
$$;
-- As in pgTAP, a missing sequence in this variant is named "Sequence <sequence>.<role>".
CREATE FUNCTION sequence_privs_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_privs_of('sequence', $2, quote_ident($1)), $3, $4,
                            'Sequence ' || quote_ident($1) || '.' || quote_ident($2), $2)
$$;
CREATE FUNCTION sequence_privs_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT sequence_privs_are($1, $2, $3, _tap_privs_descr($2, $3, 'sequence ' || quote_ident($1)))
$$;

-- has_any_column_privilege: true with the privilege on the table or on any one column.
CREATE FUNCTION any_column_privs_are(name, name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_privs_of('any_column', $3, quote_ident($1) || '.' || quote_ident($2)), $4, $5,
                            'Table ' || quote_ident($1) || '.' || quote_ident($2), $3)
$$;
CREATE FUNCTION any_column_privs_are(name, name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT any_column_privs_are($1, $2, $3, $4, _tap_privs_descr($3, $4, 'any column in ' || quote_ident($1) || '.' || quote_ident($2)))
$$;
-- As in pgTAP, a missing table in this variant is named "Table <table>.<role>".
CREATE FUNCTION any_column_privs_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_privs_of('any_column', $2, quote_ident($1)), $3, $4,
                            'Table ' || quote_ident($1) || '.' || quote_ident($2), $2)
$$;
CREATE FUNCTION any_column_privs_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT any_column_privs_are($1, $2, $3, _tap_privs_descr($2, $3, 'any column in ' || quote_ident($1)))
$$;

-- 42703 undefined_column: the table exists, the column does not.
CREATE FUNCTION _tap_lrp_col_check(have text[], want name[], descr text, qtable text, role name, qcol text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN have[1] = 'undefined_column'
        THEN ok(false, descr) || E'\n' || diag('    Column ' || qcol || ' does not exist')
        ELSE _tap_privs_check(have, want, descr, 'Table ' || qtable, role) END
$$;

CREATE FUNCTION column_privs_are(name, name, name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_lrp_col_check(_tap_privs_of('column', $4, quote_ident($1) || '.' || quote_ident($2), $3), $5, $6,
                              quote_ident($1) || '.' || quote_ident($2), $4,
                              quote_ident($1) || '.' || quote_ident($2) || '.' || quote_ident($3))
$$;
CREATE FUNCTION column_privs_are(name, name, name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT column_privs_are($1, $2, $3, $4, $5, _tap_privs_descr($4, $5, 'column ' || quote_ident($1) || '.' || quote_ident($2) || '.' || quote_ident($3)))
$$;
CREATE FUNCTION column_privs_are(name, name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_lrp_col_check(_tap_privs_of('column', $3, quote_ident($1), $2), $4, $5,
                              quote_ident($1), $3, quote_ident($1) || '.' || quote_ident($2))
$$;
CREATE FUNCTION column_privs_are(name, name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT column_privs_are($1, $2, $3, $4, _tap_privs_descr($3, $4, 'column ' || quote_ident($1) || '.' || quote_ident($2)))
$$;

-- Languages, FDWs, servers and tablespaces have one privilege each. A missing
-- role and a missing object raise the same 42704 (undefined_object); as in
-- pgTAP, the error is the role's when its message contains the role's name.
CREATE FUNCTION _tap_lrp_one_priv(role name, kind text, obj text) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    has boolean;
BEGIN
    has := CASE kind
        WHEN 'language' THEN pg_catalog.has_language_privilege(role, obj, 'USAGE')
        WHEN 'fdw' THEN pg_catalog.has_foreign_data_wrapper_privilege(role, obj, 'USAGE')
        WHEN 'server' THEN pg_catalog.has_server_privilege(role, obj, 'USAGE')
        WHEN 'tablespace' THEN pg_catalog.has_tablespace_privilege(role, obj, 'CREATE') END;
    RETURN CASE WHEN has THEN ARRAY[CASE kind WHEN 'tablespace' THEN 'CREATE' ELSE 'USAGE' END] ELSE '{}'::text[] END;
EXCEPTION WHEN undefined_object THEN
    RETURN CASE WHEN SQLERRM LIKE '%' || role || '%' THEN '{undefined_role}'::text[] ELSE '{undefined_table}'::text[] END;
END;
$$;

-- pgTAP hands the language name to has_language_privilege quoted with
-- quote_ident (so a mixed-case language is not found) and the others as written.
CREATE FUNCTION language_privs_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_lrp_one_priv($2, 'language', quote_ident($1)), $3, $4, 'Language ' || quote_ident($1), $2)
$$;
CREATE FUNCTION language_privs_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT language_privs_are($1, $2, $3, _tap_privs_descr($2, $3, 'language ' || quote_ident($1)))
$$;
CREATE FUNCTION fdw_privs_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_lrp_one_priv($2, 'fdw', $1::text), $3, $4, 'FDW ' || quote_ident($1), $2)
$$;
CREATE FUNCTION fdw_privs_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT fdw_privs_are($1, $2, $3, _tap_privs_descr($2, $3, 'FDW ' || quote_ident($1)))
$$;
CREATE FUNCTION server_privs_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_lrp_one_priv($2, 'server', $1::text), $3, $4, 'Server ' || quote_ident($1), $2)
$$;
CREATE FUNCTION server_privs_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT server_privs_are($1, $2, $3, _tap_privs_descr($2, $3, 'server ' || quote_ident($1)))
$$;
CREATE FUNCTION tablespace_privs_are(name, name, name[], text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_privs_check(_tap_lrp_one_priv($2, 'tablespace', $1::text), $3, $4, 'Tablespace ' || quote_ident($1), $2)
$$;
CREATE FUNCTION tablespace_privs_are(name, name, name[]) RETURNS text LANGUAGE sql AS $$
    SELECT tablespace_privs_are($1, $2, $3, _tap_privs_descr($2, $3, 'tablespace ' || quote_ident($1)))
$$;

-- ---------------------------------------------------------------------------
-- Owners
-- ---------------------------------------------------------------------------

-- A NULL owner means the object does not exist; otherwise compare with is().
CREATE FUNCTION _tap_lrp_owner_ok(owner name, want name, descr text, thing text, missing text DEFAULT 'does not exist') RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN owner IS NULL
        THEN ok(false, descr) || E'\n' || diag('    ' || thing || ' ' || missing)
        ELSE is(owner, want, descr) END
$$;

CREATE FUNCTION db_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_lrp_owner_ok((SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = $1),
                             $2, $3, 'Database ' || quote_ident($1))
$$;
CREATE FUNCTION db_owner_is(name, name) RETURNS text LANGUAGE sql AS $$
    SELECT db_owner_is($1, $2, 'Database ' || quote_ident($1) || ' should be owned by ' || quote_ident($2))
$$;

-- _get_schema_owner and _get_rel_owner(name) are pgTAP-internal, but test
-- files call them as pgTAP names them (`EXECUTE format('SET ROLE %I',
-- _get_schema_owner('app'))` in a test function, to act as the owner), so
-- they keep pgTAP's names and results: NULL when there is no such object.
CREATE FUNCTION _get_schema_owner(name) RETURNS name LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE nspname = $1
$$;

CREATE FUNCTION schema_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_lrp_owner_ok(_get_schema_owner($1), $2, $3, 'Schema ' || quote_ident($1))
$$;
CREATE FUNCTION schema_owner_is(name, name) RETURNS text LANGUAGE sql AS $$
    SELECT schema_owner_is($1, $2, 'Schema ' || quote_ident($1) || ' should be owned by ' || quote_ident($2))
$$;

-- The owner of a relation of the given relkinds (NULL kinds: any) in schema
-- sch, or visible through the search path when sch is NULL (the variants
-- without a schema; a NULL schema argument is passed as '', which names none).
CREATE FUNCTION _tap_lrp_rel_owner(kinds "char"[], sch name, rel name) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_get_userbyid(c.relowner)
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = rel
       AND (kinds IS NULL OR c.relkind = ANY (kinds))
       AND CASE WHEN sch IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = sch END
     LIMIT 1
$$;

-- pgTAP's lookup of a relation of any kind visible through the search path
-- (see _get_schema_owner above).
CREATE FUNCTION _get_rel_owner(name) RETURNS name LANGUAGE sql STABLE AS $$ SELECT _tap_lrp_rel_owner(NULL, NULL, $1) $$;

CREATE FUNCTION relation_owner_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner(NULL, coalesce($1, ''), $2), $3, $4, 'Relation ' || quote_ident($1) || '.' || quote_ident($2)) $$;
CREATE FUNCTION relation_owner_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT relation_owner_is($1, $2, $3, 'Relation ' || quote_ident($1) || '.' || quote_ident($2) || ' should be owned by ' || quote_ident($3)) $$;
CREATE FUNCTION relation_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_get_rel_owner($1), $2, $3, 'Relation ' || quote_ident($1)) $$;
CREATE FUNCTION relation_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT relation_owner_is($1, $2, 'Relation ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

CREATE FUNCTION table_owner_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{r,p}', coalesce($1, ''), $2), $3, $4, 'Table ' || quote_ident($1) || '.' || quote_ident($2)) $$;
CREATE FUNCTION table_owner_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT table_owner_is($1, $2, $3, 'Table ' || quote_ident($1) || '.' || quote_ident($2) || ' should be owned by ' || quote_ident($3)) $$;
CREATE FUNCTION table_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{r,p}', NULL, $1), $2, $3, 'Table ' || quote_ident($1)) $$;
CREATE FUNCTION table_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT table_owner_is($1, $2, 'Table ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

CREATE FUNCTION view_owner_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{v}', coalesce($1, ''), $2), $3, $4, 'View ' || quote_ident($1) || '.' || quote_ident($2)) $$;
CREATE FUNCTION view_owner_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT view_owner_is($1, $2, $3, 'View ' || quote_ident($1) || '.' || quote_ident($2) || ' should be owned by ' || quote_ident($3)) $$;
CREATE FUNCTION view_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{v}', NULL, $1), $2, $3, 'View ' || quote_ident($1)) $$;
CREATE FUNCTION view_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT view_owner_is($1, $2, 'View ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

CREATE FUNCTION sequence_owner_is(name, name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{S}', coalesce($1, ''), $2), $3, $4, 'Sequence ' || quote_ident($1) || '.' || quote_ident($2)) $$;
CREATE FUNCTION sequence_owner_is(name, name, name) RETURNS text LANGUAGE sql AS $$ SELECT sequence_owner_is($1, $2, $3, 'Sequence ' || quote_ident($1) || '.' || quote_ident($2) || ' should be owned by ' || quote_ident($3)) $$;
CREATE FUNCTION sequence_owner_is(name, name, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_lrp_owner_ok(_tap_lrp_rel_owner('{S}', NULL, $1), $2, $3, 'Sequence ' || quote_ident($1)) $$;
CREATE FUNCTION sequence_owner_is(name, name) RETURNS text LANGUAGE sql AS $$ SELECT sequence_owner_is($1, $2, 'Sequence ' || quote_ident($1) || ' should be owned by ' || quote_ident($2)) $$;

-- As in pgTAP (and is_definer), the argument types are compared as written,
-- joined with ',', against the regtype names: 'integer', not 'int'.
CREATE FUNCTION _tap_lrp_func_owner(fn_schema name, fn_name name, fn_args name[]) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.pg_get_userbyid(p.proowner)
      FROM _tap_functions f
      JOIN pg_catalog.pg_proc p ON p.oid = f.oid
     WHERE f.name = fn_name AND f.args = array_to_string(fn_args, ',')
       AND CASE WHEN fn_schema IS NULL THEN f.is_visible ELSE f.schema = fn_schema END
     LIMIT 1
$$;

CREATE FUNCTION function_owner_is(name, name, name[], name, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_lrp_owner_ok(_tap_lrp_func_owner(coalesce($1, ''), $2, $3), $4, $5,
                             'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ')')
$$;
CREATE FUNCTION function_owner_is(name, name, name[], name) RETURNS text LANGUAGE sql AS $$
    SELECT function_owner_is($1, $2, $3, $4, 'Function ' || quote_ident($1) || '.' || quote_ident($2) || '(' || array_to_string($3, ', ') || ') should be owned by ' || quote_ident($4))
$$;
CREATE FUNCTION function_owner_is(name, name[], name, text) RETURNS text LANGUAGE sql AS $$
    SELECT _tap_lrp_owner_ok(_tap_lrp_func_owner(NULL, $1, $2), $3, $4,
                             'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ')')
$$;
CREATE FUNCTION function_owner_is(name, name[], name) RETURNS text LANGUAGE sql AS $$
    SELECT function_owner_is($1, $2, $3, 'Function ' || quote_ident($1) || '(' || array_to_string($2, ', ') || ') should be owned by ' || quote_ident($3))
$$;
