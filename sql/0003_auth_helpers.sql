-- Claim helpers for policies (conventions §5), reading only the JSON GUC
-- request.jwt.claims that PostgREST ≥ 9 sets per request with is_local = true.
--
-- Fail closed: with no claims the GUC is unset (current_setting(…, true) is
-- NULL) or '' (after a rolled-back local set_config), nullif maps '' to NULL, and
-- every helper returns NULL; `NULL = user_id` is never true, so a policy built on
-- them admits nothing. Invalid JSON, or a `sub` that is not a uuid (including
-- ""), raises 22P02 and the statement fails.
--
-- Unlike GoTrue's versions these do not read the legacy per-claim GUCs
-- (request.jwt.claim.sub, …) first: PostgREST stopped setting them in v9, so the
-- only way they hold a value is a stale session-level SET on a pooled
-- connection, which would then override the real request's claims and make
-- every request run as that user.
--
-- LANGUAGE sql STABLE, not SECURITY DEFINER: they only read settings of the
-- caller's own transaction. Policies call them as `(select auth.uid())` so the
-- planner runs them once per statement as an initPlan instead of once per row.
--
-- SQL-standard bodies (RETURN …), with no SET clause: the body is parsed here,
-- once, so its functions, operators and types are bound now and no caller's
-- search_path can redirect them; and the planner inlines the expression into
-- the calling query. A `SET search_path` would forbid that inlining and make
-- every query that calls a helper plan and run a separate SQL function
-- (PostgREST runs the policies of every request through them).

create or replace function auth.jwt()
  returns jsonb
  language sql
  stable
  return nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
comment on function auth.jwt() is 'The verified JWT payload of the current request (request.jwt.claims), or NULL outside a request.';

create or replace function auth.uid()
  returns uuid
  language sql
  stable
  return (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid;
comment on function auth.uid() is 'The request''s user id (claim sub), or NULL when there is none. A non-uuid sub raises 22P02.';

create or replace function auth.role()
  returns text
  language sql
  stable
  return nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'role';
comment on function auth.role() is 'The request''s role claim (PostgREST writes the resolved role into it), or NULL. Deprecated by GoTrue; prefer TO <role> on policies.';

create or replace function auth.email()
  returns text
  language sql
  stable
  return nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'email';
comment on function auth.email() is 'The request''s email claim, or NULL. User-chosen and possibly unverified: never authorize on it.';

revoke all on function auth.jwt(), auth.uid(), auth.role(), auth.email() from public;
grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email() to anon, authenticated, service_role;
