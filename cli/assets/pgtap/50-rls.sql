-- Part 6: what pgTAP lacks for row-level security, under names of our own.
-- Tables are given as text and resolved with to_regclass, so 'todos',
-- 'public.todos' and '"My Table"' all work and a missing table is a failed
-- test rather than an error.

CREATE FUNCTION _tap_rel_flag(tbl text, forced boolean, descr text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    rel regclass := to_regclass(tbl);
    flag boolean;
BEGIN
    IF rel IS NULL THEN
        RETURN ok(false, descr) || E'\n' || diag('    Table ' || tbl || ' does not exist');
    END IF;
    -- relrowsecurity: ALTER TABLE … ENABLE ROW LEVEL SECURITY;
    -- relforcerowsecurity: … FORCE ROW LEVEL SECURITY (policies bind the owner too).
    SELECT CASE WHEN forced THEN c.relforcerowsecurity ELSE c.relrowsecurity END
      INTO flag FROM pg_catalog.pg_class c WHERE c.oid = rel;
    RETURN ok(flag, descr);
END;
$$;

CREATE FUNCTION rls_enabled(text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_rel_flag($1, false, $2) $$;
CREATE FUNCTION rls_enabled(text) RETURNS text LANGUAGE sql AS $$ SELECT rls_enabled($1, 'Table ' || $1 || ' should have row level security enabled') $$;
CREATE FUNCTION rls_forced(text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_rel_flag($1, true, $2) $$;
CREATE FUNCTION rls_forced(text) RETURNS text LANGUAGE sql AS $$ SELECT rls_forced($1, 'Table ' || $1 || ' should force row level security') $$;

-- A policy's USING (which = 'using') or WITH CHECK (which = 'check')
-- expression against an expected one. Both go through the server's own
-- deparser: the expected text becomes a throwaway policy on the same table,
-- pg_get_expr renders it, and the error we raise rolls the policy back (a
-- PL/pgSQL exception block is a subtransaction; the variable survives).
-- Creating a policy needs ownership of the table, so call this before the
-- test switches to an API role.
CREATE FUNCTION _tap_policy_expr(tbl text, pol name, expected text, which text, descr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    rel        regclass := to_regclass(tbl);
    have       text;
    want       text;
    found_pol  boolean;
    probe      name := '__rowguard_tap_probe__';
BEGIN
    IF rel IS NULL THEN
        RETURN ok(false, descr) || E'\n' || diag('    Table ' || tbl || ' does not exist');
    END IF;
    SELECT true, pg_catalog.pg_get_expr(CASE WHEN which = 'using' THEN p.polqual ELSE p.polwithcheck END, p.polrelid)
      INTO found_pol, have
      FROM pg_catalog.pg_policy p WHERE p.polrelid = rel AND p.polname = pol;
    IF found_pol IS NULL THEN
        RETURN ok(false, descr) || E'\n' || diag('    Policy ' || quote_ident(pol) || ' on table ' || tbl || ' does not exist');
    END IF;
    IF expected IS NOT NULL THEN
        BEGIN
            EXECUTE format('CREATE POLICY %I ON %s %s (%s)', probe, rel,
                           CASE WHEN which = 'using' THEN 'USING' ELSE 'WITH CHECK' END, expected);
            SELECT pg_catalog.pg_get_expr(CASE WHEN which = 'using' THEN p.polqual ELSE p.polwithcheck END, p.polrelid)
              INTO want FROM pg_catalog.pg_policy p WHERE p.polrelid = rel AND p.polname = probe;
            RAISE EXCEPTION USING ERRCODE = 'RGTAP';
        EXCEPTION
            WHEN SQLSTATE 'RGTAP' THEN NULL;
            WHEN OTHERS THEN
                RETURN ok(false, descr) || E'\n' || diag('    could not normalise the expected expression: ' || SQLERRM);
        END;
    END IF;
    RETURN is(have, want, descr);
END;
$$;

CREATE FUNCTION policy_using_is(text, name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_policy_expr($1, $2, $3, 'using', $4) $$;
CREATE FUNCTION policy_using_is(text, name, text) RETURNS text LANGUAGE sql AS $$ SELECT policy_using_is($1, $2, $3, 'Policy ' || quote_ident($2) || ' on table ' || $1 || ' should have the expected USING expression') $$;
CREATE FUNCTION policy_check_is(text, name, text, text) RETURNS text LANGUAGE sql AS $$ SELECT _tap_policy_expr($1, $2, $3, 'check', $4) $$;
CREATE FUNCTION policy_check_is(text, name, text) RETURNS text LANGUAGE sql AS $$ SELECT policy_check_is($1, $2, $3, 'Policy ' || quote_ident($2) || ' on table ' || $1 || ' should have the expected WITH CHECK expression') $$;
