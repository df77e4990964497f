/**
 * The performance rules, judged by the Postgres 17 planner. Each case is a
 * policy (and the helpers or indexes it needs) on a table of 40 000 rows; a
 * request runs as PostgREST runs it (`set local role authenticated`, the claims
 * in `request.jwt.claims`), under EXPLAIN (ANALYZE, VERBOSE, BUFFERS, FORMAT
 * JSON) with track_functions = all. What the executor did is read from the plan
 * and the function counters, never from the clock:
 *  - claim evaluations: how often an expression reading the request's claims
 *    (GoTrue's auth.uid() is inlined to current_setting(…)) ran, as a Filter
 *    per row visited, an index condition per scan, an InitPlan once;
 *  - SubPlans: hashed (one run per statement) or re-run per row (their loops);
 *  - calls of the policy's helper functions (pg_stat_xact_user_functions);
 *  - whether the table was read by a sequential scan.
 * The linter must report exactly the rules the case names, and the facts and the
 * findings must agree: a policy that does per-row work is reported, and a
 * finding names work the server does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createThrowawayDatabase, withSql, type Sql, type ThrowawayDatabase } from '../../cli/core/db.js';
import { introspect } from '../../cli/core/catalog/introspect.js';
import { notInheritedGrant, serverUrl } from '../helpers/pg.js';
import { ensureRoles, FIXTURES, lintWith } from './helpers.js';

/**
 * The request: GET /docs as PostgREST 12 builds it (every column of the rows the
 * policies let through, aggregated to JSON), so no index-only shortcut.
 */
const request = (table: string) =>
  `with pgrst_source as (select public.${table}.* from public.${table}) select pg_catalog.count(_postgrest_t) as page_total, coalesce(json_agg(_postgrest_t), '[]') as body from (select * from pgrst_source) _postgrest_t`;

/** Rows of the policy's table: "per row" below means at least half of them. */
const ROWS = 40_000;
const PER_ROW = ROWS / 2;

const BASE = `
create table public.orgs (id int primary key, name text);
create table public.members (org_id int not null references public.orgs, user_id uuid not null, role text not null default 'member');
create index members_org_id on public.members (org_id);
create table public.docs (id int primary key, org_id int not null references public.orgs, user_id uuid not null, tenant text not null, public boolean not null default false, body text);
create index docs_org_id on public.docs (org_id);
alter table public.docs enable row level security;
grant select on public.docs, public.members, public.orgs to authenticated;
grant usage on schema private to authenticated;
`;
/** 2000 orgs, two members each (user md5(g)), 40 000 docs: 20 per org, user md5(g % 4000), 2 tenants. */
const DATA = `
insert into public.orgs select g, 'org ' || g from generate_series(1, 2000) g;
insert into public.members select (g % 2000) + 1, md5(g::text)::uuid, case when g % 7 = 0 then 'admin' else 'member' end from generate_series(1, 4000) g;
insert into public.docs select g, (g % 2000) + 1, md5((g % 4000)::text)::uuid, 't' || (g % 2), g % 100 = 0, 'x' from generate_series(1, ${ROWS}) g;
`;
/** The caller: member md5('5') of org 6, admin of no org, tenant t1 in their claims. */
const CLAIMS = JSON.stringify({ sub: 'e4da3b7f-bbce-2345-d777-2b0674a318d5', role: 'authenticated', tenant: 't1' }); // md5('5')

const USER_ID_INDEX = 'create index docs_user_id on public.docs (user_id);';
const MEMBER_USER_INDEX = 'create index members_user_id on public.members (user_id);';
/** Helpers a policy may call (in `private`, as Supabase's guide puts them). */
const HELPERS = {
  isMemberPlpgsql: `create function private.is_member(o int) returns boolean language plpgsql stable security definer set search_path = '' as $$
begin return exists (select 1 from public.members m where m.org_id = o and m.user_id = (select auth.uid())); end $$;`,
  isMemberSql: `create function private.is_member(o int) returns boolean language sql stable as $$
select exists (select 1 from public.members m where m.org_id = o and m.user_id = (select auth.uid())) $$;`,
  isAdmin: `create function private.is_admin() returns boolean language sql stable security definer set search_path = '' as $$
select exists (select 1 from public.members m where m.user_id = (select auth.uid()) and m.role = 'admin') $$;`,
  userOrgs: `create function private.user_orgs() returns setof int language sql stable security definer set search_path = '' as $$
select org_id from public.members where user_id = (select auth.uid()) $$;`,
  /** Inlined: one SELECT of an expression, no FROM, not SECURITY DEFINER, no SET. */
  owns: 'create function private.owns(u uuid) returns boolean language sql stable as $$ select u = auth.uid() $$;',
};

interface Facts {
  /** Evaluations of the claims (current_setting) in the plan: Filter per row visited, index condition per scan, InitPlan per run. */
  claimEvaluations: number;
  /** The largest loop count of a SubPlan that is not hashed (a SubPlan re-run per row). */
  subPlanLoops: number;
  /** A hashed SubPlan ran. */
  hashedSubPlan: boolean;
  /** Calls of functions in schema private during the request. */
  helperCalls: number;
  /** public.docs was read by a Seq Scan. */
  seqScan: boolean;
  /** Every relation read by a Seq Scan. */
  seqScanned: string;
  /** Rows visible to the caller (the request's result). */
  rows: number;
}

interface Case {
  name: string;
  /** Helpers, indexes and the policies on public.docs. */
  sql: string;
  /** Expected measurements (only those given are checked). */
  facts: Partial<Record<keyof Facts, number | boolean | string>> & { claimPerRow?: boolean; lookupPerRow?: boolean };
  /** The table the request reads (default docs). */
  table?: string;
  /** The role the request runs as, and the linter's authenticated role (default authenticated). */
  role?: string;
  /** Performance rules the linter must report, each once (unindexed-foreign-key aside: it is about writes to orgs). */
  rules: string[];
}

const policy = (using: string, extra = '') => `${extra}\ncreate policy p on public.docs for select to authenticated using (${using});`;

const CASES: Case[] = [
  // --- auth-call-per-row: the claim helpers, bare or wrapped.
  {
    name: 'bare auth.uid() = user_id, no index: a Filter evaluating the claims for every row',
    sql: policy('user_id = auth.uid()'),
    facts: { claimPerRow: true, seqScan: true, rows: 10 },
    rules: ['auth-call-per-row', 'claim-column-unindexed'],
  },
  {
    name: '(select auth.uid()) = user_id, no index: one InitPlan, but the whole table is scanned',
    sql: policy('(select auth.uid()) = user_id'),
    facts: { claimPerRow: false, claimEvaluations: 1, seqScan: true, rows: 10 },
    rules: ['claim-column-unindexed'],
  },
  {
    name: '(select auth.uid()) = user_id with an index leading on user_id: InitPlan and index scan',
    sql: policy('(select auth.uid()) = user_id', USER_ID_INDEX),
    facts: { claimPerRow: false, claimEvaluations: 1, seqScan: false, rows: 10 },
    rules: [],
  },
  {
    name: 'a composite index leading on user_id serves the policy too',
    sql: policy('(select auth.uid()) = user_id', 'create index docs_user_id_id on public.docs (user_id, id);'),
    facts: { seqScan: false, rows: 10 },
    rules: [],
  },
  {
    name: 'bare auth.uid() = user_id with an index leading on user_id: the index condition, evaluated once',
    sql: policy('user_id = auth.uid()', USER_ID_INDEX),
    facts: { claimPerRow: false, claimEvaluations: 1, seqScan: false, rows: 10 },
    rules: [],
  },
  {
    name: 'bare claim = an indexed column that half the rows match: still one index condition',
    sql: policy("tenant = (auth.jwt() ->> 'tenant')", 'create index docs_tenant on public.docs (tenant);'),
    facts: { claimPerRow: false, claimEvaluations: 1, rows: ROWS / 2 },
    rules: [],
  },
  {
    name: 'the same with no index: a Seq Scan reading the claims for every row',
    sql: policy("tenant = (auth.jwt() ->> 'tenant')"),
    facts: { claimPerRow: true, seqScan: true, rows: ROWS / 2 },
    rules: ['auth-call-per-row', 'claim-column-unindexed'],
  },
  {
    name: 'bare auth.uid() = user_id AND-ed with a per-row test, index on user_id: still the index condition',
    sql: policy('user_id = auth.uid() and not public', USER_ID_INDEX),
    facts: { claimPerRow: false, seqScan: false, rows: 10 },
    rules: [],
  },
  {
    name: 'bare auth.uid() = user_id under an OR, index on user_id: a per-row Filter',
    sql: policy('user_id = auth.uid() or public', USER_ID_INDEX),
    facts: { claimPerRow: true, seqScan: true, rows: 410 },
    rules: ['auth-call-per-row'],
  },
  {
    name: "(select auth.jwt() ->> 'tenant') on the same column: once",
    sql: policy("tenant = (select auth.jwt() ->> 'tenant')", 'create index docs_tenant on public.docs (tenant);'),
    facts: { claimPerRow: false, claimEvaluations: 1, rows: ROWS / 2 },
    rules: [],
  },
  {
    name: "auth.role() = 'authenticated' alone: an RLS qual with no column is still a per-row Filter",
    sql: policy("auth.role() = 'authenticated'"),
    facts: { claimPerRow: true, rows: ROWS },
    rules: ['auth-call-per-row'],
  },
  {
    name: 'bare call under a cast and COALESCE: per row',
    sql: policy("user_id::text = coalesce(auth.uid()::text, '')", USER_ID_INDEX),
    facts: { claimPerRow: true, seqScan: true, rows: 10 },
    // …and the cast keeps the index on user_id out of it.
    rules: ['auth-call-per-row', 'claim-column-unindexed'],
  },
  {
    name: 'user_id::text = (select auth.uid())::text with an index on user_id: the cast hides the column from it, Seq Scan',
    sql: policy('user_id::text = (select auth.uid())::text', USER_ID_INDEX),
    facts: { claimPerRow: false, seqScan: true, rows: 10 },
    rules: ['claim-column-unindexed'],
  },
  {
    name: 'wrapped call under a cast: once',
    sql: policy('user_id = (select auth.uid())::uuid', USER_ID_INDEX),
    facts: { claimPerRow: false, rows: 10 },
    rules: [],
  },
  {
    name: 'bare call inside = any(array[…]) with an OR: per row',
    sql: policy('user_id = any (array[auth.uid()]) or public', USER_ID_INDEX),
    facts: { claimPerRow: true, rows: 10 + 400 },
    rules: ['auth-call-per-row'],
  },
  {
    name: 'an inlined SQL helper around a bare auth.uid(), on a column with no index: per row',
    sql: policy('private.owns(user_id)', HELPERS.owns),
    facts: { claimPerRow: true, helperCalls: 0, seqScan: true, rows: 10 },
    // Inlined, owns(user_id) is user_id = auth.uid(): the column it compares goes unindexed.
    rules: ['auth-call-per-row', 'claim-column-unindexed'],
  },
  {
    name: 'the same inlined helper, with an index on user_id: the inlined comparison is the index condition',
    sql: policy('private.owns(user_id)', HELPERS.owns + USER_ID_INDEX),
    facts: { claimPerRow: false, helperCalls: 0, seqScan: false, rows: 10 },
    rules: [],
  },
  {
    name: 'the same indexed helper ORed with another test: no index condition, the inlined auth.uid() per row',
    sql: policy('private.owns(user_id) or public', HELPERS.owns + USER_ID_INDEX),
    facts: { claimPerRow: true, helperCalls: 0 },
    rules: ['auth-call-per-row'],
  },
  {
    name: 'partitioned table with an index on user_id in every leaf (none on the parent): each leaf scanned by its index',
    table: 'pdocs',
    sql: `create table public.pdocs (id int, user_id uuid, tenant text) partition by list (tenant);
create table public.pdocs_0 partition of public.pdocs for values in ('t0');
create table public.pdocs_1 partition of public.pdocs for values in ('t1');
insert into public.pdocs select id, user_id, tenant from public.docs;
create index pdocs_0_user_id on public.pdocs_0 (user_id);
create index pdocs_1_user_id on public.pdocs_1 (user_id);
alter table public.pdocs enable row level security;
grant select on public.pdocs to authenticated;
create policy p on public.pdocs for select to authenticated using ((select auth.uid()) = user_id);`,
    facts: { seqScanned: '', rows: 10 },
    rules: [],
  },
  {
    name: 'partitioned, bare auth.uid() = user_id, an index on every leaf: one index condition per leaf',
    table: 'pdocs',
    sql: `create table public.pdocs (id int, user_id uuid, tenant text) partition by list (tenant);
create table public.pdocs_0 partition of public.pdocs for values in ('t0');
create table public.pdocs_1 partition of public.pdocs for values in ('t1');
insert into public.pdocs select id, user_id, tenant from public.docs;
create index pdocs_0_user_id on public.pdocs_0 (user_id);
create index pdocs_1_user_id on public.pdocs_1 (user_id);
alter table public.pdocs enable row level security;
grant select on public.pdocs to authenticated;
create policy p on public.pdocs for select to authenticated using (user_id = auth.uid());`,
    facts: { claimPerRow: false, claimEvaluations: 2, seqScanned: '', rows: 10 },
    rules: [],
  },
  {
    name: 'the same with one leaf unindexed: that leaf is scanned whole',
    table: 'pdocs',
    sql: `create table public.pdocs (id int, user_id uuid, tenant text) partition by list (tenant);
create table public.pdocs_0 partition of public.pdocs for values in ('t0');
create table public.pdocs_1 partition of public.pdocs for values in ('t1');
insert into public.pdocs select id, user_id, tenant from public.docs;
create index pdocs_0_user_id on public.pdocs_0 (user_id);
alter table public.pdocs enable row level security;
grant select on public.pdocs to authenticated;
create policy p on public.pdocs for select to authenticated using ((select auth.uid()) = user_id);`,
    facts: { seqScanned: 'pdocs_1', rows: 10 },
    rules: ['claim-column-unindexed'],
  },
  {
    name: 'the same helper declared STRICT: its body (auth.uid() is not strict) keeps it from being inlined, called for every row',
    sql: policy('private.owns(user_id)', HELPERS.owns.replace('language sql stable', 'language sql stable strict')),
    facts: { claimPerRow: false, lookupPerRow: true, helperCalls: ROWS, rows: 10 },
    rules: ['lookup-per-row'],
  },
  {
    name: "current_setting('request.jwt.claims') read directly, bare: per row",
    sql: policy("tenant = (current_setting('request.jwt.claims', true)::jsonb ->> 'tenant')"),
    facts: { claimPerRow: true, seqScan: true, rows: ROWS / 2 },
    rules: ['auth-call-per-row', 'claim-column-unindexed'],
  },
  {
    name: "current_setting('request.jwt.claims') wrapped: once",
    sql: policy("tenant = (select current_setting('request.jwt.claims', true)::jsonb ->> 'tenant')"),
    facts: { claimPerRow: false, claimEvaluations: 1, seqScan: true, rows: ROWS / 2 },
    rules: ['claim-column-unindexed'],
  },
  // --- membership sub-selects.
  {
    name: 'org_id in (select … where m.user_id = auth.uid()): one hashed SubPlan, the claim its index condition',
    sql: policy('org_id in (select m.org_id from public.members m where m.user_id = auth.uid())', MEMBER_USER_INDEX),
    facts: { claimPerRow: false, hashedSubPlan: true, subPlanLoops: 0, rows: 20 },
    rules: [],
  },
  {
    name: 'the same with members.user_id unindexed: the hashed SubPlan scans members once (claim per member row)',
    sql: policy('org_id in (select m.org_id from public.members m where m.user_id = (select auth.uid()))'),
    facts: { claimPerRow: false, hashedSubPlan: true, subPlanLoops: 0, rows: 20 },
    rules: ['claim-column-unindexed'],
  },
  {
    name: "correlated (select auth.uid()) in (select user_id … where m.org_id = docs.org_id): a SubPlan per row",
    sql: policy('(select auth.uid()) in (select m.user_id from public.members m where m.org_id = docs.org_id)', MEMBER_USER_INDEX),
    facts: { claimPerRow: false, lookupPerRow: true, hashedSubPlan: false, rows: 20 },
    rules: ['lookup-per-row'],
  },
  {
    name: 'correlated EXISTS on AND-ed equalities, bare auth.uid() inside: the planner hashes it, the claim runs once',
    sql: policy('exists (select 1 from public.members m where m.org_id = docs.org_id and m.user_id = auth.uid())', MEMBER_USER_INDEX),
    facts: { claimPerRow: false, lookupPerRow: false, hashedSubPlan: true, rows: 20 },
    rules: [],
  },
  {
    name: 'the hashed EXISTS with members.user_id unindexed: members scanned whole, and reported',
    sql: policy('exists (select 1 from public.members m where m.org_id = docs.org_id and m.user_id = (select auth.uid()))'),
    facts: { claimPerRow: false, lookupPerRow: false, hashedSubPlan: true, seqScanned: 'docs members', rows: 20 },
    rules: ['claim-column-unindexed'],
  },
  {
    name: 'the same EXISTS with LIMIT 1: the constant LIMIT is dropped, still hashed',
    sql: policy('exists (select 1 from public.members m where m.org_id = docs.org_id and m.user_id = auth.uid() limit 1)', MEMBER_USER_INDEX),
    facts: { claimPerRow: false, lookupPerRow: false, hashedSubPlan: true, rows: 20 },
    rules: [],
  },
  {
    name: 'correlated EXISTS tied to the row by a non-equality: a SubPlan per row',
    sql: policy('exists (select 1 from public.members m where m.org_id >= docs.org_id and m.org_id <= docs.org_id and m.user_id = (select auth.uid()))', MEMBER_USER_INDEX),
    facts: { lookupPerRow: true, hashedSubPlan: false, rows: 20 },
    rules: ['lookup-per-row'],
  },
  {
    name: 'correlated EXISTS that refers to the row in a join condition: a SubPlan per row',
    sql: policy('exists (select 1 from public.members m join public.orgs o on o.id = m.org_id and o.id = docs.org_id where m.user_id = (select auth.uid()))', MEMBER_USER_INDEX),
    facts: { lookupPerRow: true, hashedSubPlan: false, rows: 20 },
    rules: ['lookup-per-row'],
  },
  {
    name: "scalar sub-select on the row's org ((select role … where m.org_id = docs.org_id …) = 'member'): a SubPlan per row",
    sql: policy("(select m.role from public.members m where m.org_id = docs.org_id and m.user_id = (select auth.uid())) = 'member'", MEMBER_USER_INDEX),
    facts: { lookupPerRow: true, claimPerRow: false, rows: 20 },
    rules: ['lookup-per-row'],
  },
  // --- helper functions.
  {
    name: 'PL/pgSQL SECURITY DEFINER is_member(org_id): called for every row',
    sql: policy('private.is_member(org_id)', HELPERS.isMemberPlpgsql + MEMBER_USER_INDEX),
    facts: { lookupPerRow: true, helperCalls: ROWS, rows: 20 },
    rules: ['lookup-per-row'],
  },
  {
    name: 'SQL is_member(org_id) whose body has a sub-select: never inlined, called for every row',
    sql: policy('private.is_member(org_id)', HELPERS.isMemberSql + MEMBER_USER_INDEX),
    facts: { lookupPerRow: true, helperCalls: ROWS, rows: 20 },
    rules: ['lookup-per-row'],
  },
  {
    name: "org_id in (select private.user_orgs()): the helper runs once, a hashed SubPlan",
    sql: policy('org_id in (select private.user_orgs())', HELPERS.userOrgs + MEMBER_USER_INDEX),
    facts: { lookupPerRow: false, helperCalls: 1, hashedSubPlan: true, rows: 20 },
    rules: [],
  },
  {
    name: 'private.is_admin() or (select auth.uid()) = user_id: the helper is called for every row',
    sql: policy('private.is_admin() or (select auth.uid()) = user_id', HELPERS.isAdmin + USER_ID_INDEX + MEMBER_USER_INDEX),
    facts: { lookupPerRow: true, claimPerRow: false, helperCalls: ROWS, rows: 10 },
    rules: ['lookup-per-row'],
  },
  {
    name: '(select private.is_admin()) or (select auth.uid()) = user_id: two InitPlans, the helper called once',
    sql: policy('(select private.is_admin()) or (select auth.uid()) = user_id', HELPERS.isAdmin + USER_ID_INDEX + MEMBER_USER_INDEX),
    facts: { lookupPerRow: false, claimPerRow: false, helperCalls: 1, rows: 10 },
    rules: [],
  },
  {
    name: 'a policy TO service_role (BYPASSRLS) only: never evaluated, whatever it calls',
    sql: `${USER_ID_INDEX}${HELPERS.isAdmin}
create policy own on public.docs for select to authenticated using ((select auth.uid()) = user_id);
create policy svc on public.docs for select to service_role using (user_id::text = auth.uid()::text or private.is_admin());`,
    facts: { claimPerRow: false, lookupPerRow: false, helperCalls: 0, rows: 10 },
    rules: [],
  },
  {
    name: 'a VOLATILE PL/pgSQL helper, bare: called for every row',
    sql: policy("private.flag() or (select auth.uid()) = user_id", "create function private.flag() returns boolean language plpgsql volatile as $$ begin return false; end $$;" + USER_ID_INDEX),
    facts: { lookupPerRow: true, helperCalls: ROWS, seqScan: true, rows: 10 },
    rules: ['lookup-per-row'],
  },
  {
    name: 'the VOLATILE helper wrapped: still one InitPlan (an uncorrelated sub-select runs once whatever its volatility)',
    sql: policy("(select private.flag()) or (select auth.uid()) = user_id", "create function private.flag() returns boolean language plpgsql volatile as $$ begin return false; end $$;" + USER_ID_INDEX),
    facts: { lookupPerRow: false, helperCalls: 1, rows: 10 },
    rules: [],
  },
  // --- multiple permissive policies: OR'ed into one filter, all checked on every row.
  {
    name: 'two permissive SELECT policies: OR-ed, the index on user_id cannot serve the OR',
    sql: `${USER_ID_INDEX}
create policy own on public.docs for select to authenticated using ((select auth.uid()) = user_id);
create policy shared on public.docs for select to authenticated using (public);`,
    facts: { seqScan: true, rows: 10 + 400 },
    rules: ['multiple-permissive-policies'],
  },
  {
    name: 'the two merged into one policy with OR: the same plan (merging alone saves nothing)',
    sql: policy('(select auth.uid()) = user_id or public', USER_ID_INDEX),
    facts: { seqScan: true, rows: 10 + 400 },
    rules: [],
  },
  {
    name: 'a permissive and a restrictive policy: AND-ed, the index serves the permissive one',
    sql: `${USER_ID_INDEX}
create policy own on public.docs for select to authenticated using ((select auth.uid()) = user_id);
create policy not_public on public.docs as restrictive for select to authenticated using (not public);`,
    facts: { seqScan: false, rows: 10 },
    rules: [],
  },
  // Which policies apply to the role: Postgres follows inherited memberships only (has_privs_of_role). Run as
  // rg_perf_user (the authenticated role of these two cases), a member of rg_perf_staff_ni that does not inherit
  // from it, and of rg_perf_staff_in that does (cluster-wide grants made once, below).
  {
    name: 'a permissive policy TO a role granted WITH INHERIT FALSE: not applied, not counted',
    role: 'rg_perf_user',
    sql: `${USER_ID_INDEX}
grant usage on schema auth, private to rg_perf_user;
grant select on public.docs to rg_perf_user;
create policy own on public.docs for select to rg_perf_user using ((select auth.uid()) = user_id);
create policy staff on public.docs for select to rg_perf_staff_ni using (public);`,
    facts: { seqScan: false, rows: 10 },
    rules: [],
  },
  {
    name: 'the same policy TO a role granted WITH INHERIT TRUE: both policies OR-ed',
    role: 'rg_perf_user',
    sql: `${USER_ID_INDEX}
grant usage on schema auth, private to rg_perf_user;
grant select on public.docs to rg_perf_user;
create policy own on public.docs for select to rg_perf_user using ((select auth.uid()) = user_id);
create policy staff on public.docs for select to rg_perf_staff_in using (public);`,
    facts: { seqScan: true, rows: 10 + 400 },
    rules: ['multiple-permissive-policies'],
  },
];

let template: ThrowawayDatabase;
beforeAll(async () => {
  await ensureRoles(serverUrl());
  // Roles and memberships are cluster-wide: these are this file's own, so other files never see them.
  await withSql(serverUrl(), (sql) =>
    sql
      .unsafe(
        `do $$ begin
          create role rg_perf_user nologin; create role rg_perf_staff_ni nologin; create role rg_perf_staff_in nologin;
          ${notInheritedGrant('rg_perf_staff_ni', 'rg_perf_user')}
          grant rg_perf_staff_in to rg_perf_user;
        exception when duplicate_object or unique_violation then null; end $$`,
      )
      .simple(),
  );
  template = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_perfpg_tpl' });
  await withSql(template.url, (sql) => sql.unsafe(readFileSync(join(FIXTURES, '_base.sql'), 'utf8') + BASE + DATA).simple());
}, 60_000);
afterAll(async () => {
  await template?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Parent Relationship'?: string;
  'Subplan Name'?: string;
  'Actual Loops': number;
  'Actual Rows': number;
  'Rows Removed by Filter'?: number;
  Filter?: string;
  'Index Cond'?: string;
  'One-Time Filter'?: string;
  Output?: string[];
  Plans?: PlanNode[];
}

/** Read the facts off an EXPLAIN ANALYZE plan and the function counters. */
function factsOf(root: PlanNode, helperCalls: number, rows: number): Facts {
  const f: Facts = { claimEvaluations: 0, subPlanLoops: 0, hashedSubPlan: false, helperCalls, seqScan: false, seqScanned: '', rows };
  const claims = (s: string | undefined) => (s ?? '').includes('current_setting(');
  const texts = JSON.stringify(root);
  const visit = (n: PlanNode) => {
    const loops = n['Actual Loops'];
    // A Filter runs on every row the node visits (kept or removed); an index condition once per scan;
    // an InitPlan's Result computes its output once per run.
    if (claims(n.Filter)) f.claimEvaluations += loops * (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0));
    if (claims(n['Index Cond']) || claims(n['One-Time Filter'])) f.claimEvaluations += loops;
    if (n['Node Type'] === 'Result' && !n.Plans && (n.Output ?? []).some(claims)) f.claimEvaluations += loops;
    // The expression using a SubPlan names it `(hashed SubPlan 2)` when it probes a hash table built once.
    if (n['Parent Relationship'] === 'SubPlan') {
      if (texts.includes(`hashed ${n['Subplan Name']})`)) f.hashedSubPlan = true;
      else f.subPlanLoops = Math.max(f.subPlanLoops, loops);
    }
    if (n['Node Type'] === 'Seq Scan') f.seqScanned = [...new Set([...f.seqScanned.split(' ').filter(Boolean), n['Relation Name']!])].sort().join(' ');
    if (n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'docs') f.seqScan = true;
    for (const c of n.Plans ?? []) visit(c);
  };
  visit(root);
  return f;
}

/** Run the request as PostgREST would, under EXPLAIN ANALYZE, and read what the executor did. */
async function measure(sql: Sql, role: string, table: string): Promise<Facts> {
  await sql.unsafe('begin');
  try {
    // track_functions is superuser-only: set before the role switch, as a server setting would be.
    await sql.unsafe("set local track_functions = 'all'");
    await sql.unsafe(`select set_config('role', $2, true), set_config('request.jwt.claims', $1, true)`, [CLAIMS, role]);
    const [{ 'QUERY PLAN': plan }] = (await sql.unsafe(`explain (analyze, verbose, buffers, format json) ${request(table)}`)) as unknown as [{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }];
    const [{ n }] = (await sql.unsafe(`select page_total::int as n from (${request(table)}) r`)) as unknown as [{ n: number }];
    await sql.unsafe('reset role');
    const [{ calls }] = (await sql.unsafe("select coalesce(max(calls), 0)::int as calls from pg_stat_xact_user_functions where schemaname = 'private'")) as unknown as [{ calls: number }];
    // Both the EXPLAIN ANALYZE and the count ran the policy: half the calls are the EXPLAIN's.
    return factsOf(plan[0]!.Plan, calls / 2, n);
  } finally {
    await sql.unsafe('rollback');
  }
}

describe('performance rules agree with what the Postgres 17 planner does', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const role = c.role ?? 'authenticated';
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_perfpg', template: template.name });
    try {
      const { facts, model } = await withSql(db.url, async (sql) => {
        await sql.unsafe(`${c.sql}\ngrant execute on all functions in schema private to authenticated;\nanalyze;`).simple();
        return { facts: await measure(sql, role, c.table ?? 'docs'), model: await introspect(sql, { apiRoles: ['anon', role], scope: 'full' }) };
      });
      const claimPerRow = facts.claimEvaluations >= PER_ROW;
      const lookupPerRow = facts.subPlanLoops >= PER_ROW || facts.helperCalls >= PER_ROW;
      const measured: Record<string, number | boolean | string> = { ...facts, claimPerRow, lookupPerRow };
      for (const [k, v] of Object.entries(c.facts)) expect(measured[k], `${k} (${JSON.stringify(measured)})`).toBe(v);
      const found = (await lintWith({ model, settings: { authenticatedRole: role } })).findings.filter((f) => f.category === 'performance' && f.rule !== 'unindexed-foreign-key');
      expect(found.map((f) => f.rule).sort(), JSON.stringify(found, null, 2)).toEqual([...c.rules].sort());
      // What the server did and what the linter says must agree.
      expect(c.rules.includes('auth-call-per-row'), 'auth-call-per-row ⇔ claims evaluated per row').toBe(claimPerRow);
      expect(c.rules.includes('lookup-per-row'), 'lookup-per-row ⇔ a helper or SubPlan run per row').toBe(lookupPerRow);
      if (c.rules.includes('claim-column-unindexed')) expect(facts.seqScanned, 'claim-column-unindexed ⇒ a sequential scan').not.toBe('');
    } finally {
      await db.drop();
    }
  });
});

/**
 * unindexed-foreign-key, judged by what deleting a referenced row costs: the
 * foreign key's check (ri_triggers.c: `select 1 from <referencing table> x
 * where $1 = org_id for key share of x`) scans the referencing table unless an
 * index serves it. Measured as the transaction's sequential and index scans of
 * the referencing relations (every leaf of a partitioned one).
 */
interface FkCase {
  name: string;
  /** Creates public.items (or a partitioned public.items) referencing public.orgs, filled by the case. */
  sql: string;
  /** A sequential scan of a referencing relation happened. */
  seqScan: boolean;
  findings: number;
}

const ITEMS = (cols: string, fk: string) => `create table public.items (id int, org_id int not null, k int not null, ${cols} ${fk});`;
const FILL = 'insert into public.items select g, (g % 1999) + 1, g % 2 from generate_series(1, 20000) g;';
const FK_CASES: FkCase[] = [
  { name: 'no index on the foreign key column: the check scans the table', sql: `${ITEMS('', 'foreign key (org_id) references public.orgs')} ${FILL}`, seqScan: true, findings: 1 },
  { name: 'an index leading on it', sql: `${ITEMS('', 'foreign key (org_id) references public.orgs')} ${FILL} create index on public.items (org_id, id);`, seqScan: false, findings: 0 },
  { name: 'an index with it second', sql: `${ITEMS('', 'foreign key (org_id) references public.orgs')} ${FILL} create index on public.items (id, org_id);`, seqScan: true, findings: 1 },
  { name: 'a partial index', sql: `${ITEMS('', 'foreign key (org_id) references public.orgs')} ${FILL} create index on public.items (org_id) where k = 0;`, seqScan: true, findings: 1 },
  { name: 'an expression index', sql: `${ITEMS('', 'foreign key (org_id) references public.orgs')} ${FILL} create index on public.items ((org_id + 0));`, seqScan: true, findings: 1 },
  {
    name: 'composite foreign key, index on its columns in the other order',
    sql: `create table public.pairs (a int, b int, primary key (a, b)); insert into public.pairs select g, g from generate_series(1, 2000) g;
      create table public.items (id int, a int, b int, foreign key (a, b) references public.pairs); insert into public.items select g, (g % 1999) + 1, (g % 1999) + 1 from generate_series(1, 20000) g;
      create index on public.items (b, a);`,
    seqScan: false,
    findings: 0,
  },
  // ente's trash: primary key (file_id), foreign key (file_id, collection_id) → collection_files.
  {
    name: 'composite foreign key, a unique index on one of its columns alone',
    sql: `create table public.pairs (a int, b int, primary key (a, b)); insert into public.pairs select g, g from generate_series(1, 20000) g;
      create table public.items (a int primary key, b int, foreign key (a, b) references public.pairs); insert into public.items select g, g from generate_series(1, 20000) g where g <> 2000;`,
    seqScan: false,
    findings: 0,
  },
  {
    name: 'partitioned referencing table, an index on every leaf (none on the parent)',
    sql: `create table public.items (id int, org_id int not null references public.orgs, k int not null) partition by list (k);
      create table public.items_0 partition of public.items for values in (0); create table public.items_1 partition of public.items for values in (1);
      ${FILL} create index on public.items_0 (org_id); create index on public.items_1 (org_id);`,
    seqScan: false,
    findings: 0,
  },
  {
    name: 'partitioned referencing table, one leaf without the index',
    sql: `create table public.items (id int, org_id int not null references public.orgs, k int not null) partition by list (k);
      create table public.items_0 partition of public.items for values in (0); create table public.items_1 partition of public.items for values in (1);
      ${FILL} create index on public.items_0 (org_id);`,
    seqScan: true,
    findings: 1,
  },
];

describe('unindexed-foreign-key agrees with what deleting a referenced row scans', () => {
  it.each(FK_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_perfpg', template: template.name });
    try {
      const { seqScans, model } = await withSql(db.url, async (sql) => {
        await sql.unsafe(`${c.sql}\ninsert into public.orgs values (2001, 'unreferenced');\nanalyze;`).simple();
        // A referenced row nothing points at (org 2001, pair 2000): the check finds nothing and the delete succeeds.
        const referenced = c.sql.includes('public.pairs') ? 'delete from public.pairs where a = 2000' : 'delete from public.orgs where id = 2001';
        const counts = "select coalesce(sum(seq_scan), 0)::int as n from pg_stat_xact_user_tables where relname like 'items%'";
        let seqScans = 0;
        await sql.unsafe('begin');
        try {
          const [before] = (await sql.unsafe(counts)) as unknown as [{ n: number }];
          await sql.unsafe(referenced);
          const [after] = (await sql.unsafe(counts)) as unknown as [{ n: number }];
          seqScans = after.n - before.n;
        } finally {
          await sql.unsafe('rollback');
        }
        return { seqScans, model: await introspect(sql, { apiRoles: ['anon', 'authenticated'], scope: 'full' }) };
      });
      expect(seqScans > 0, 'sequential scan of a referencing relation').toBe(c.seqScan);
      const found = (await lintWith({ model })).findings.filter((f) => f.rule === 'unindexed-foreign-key');
      expect(found, JSON.stringify(found, null, 2)).toHaveLength(c.findings);
      expect(found.length > 0, 'unindexed-foreign-key ⇔ the check scans').toBe(c.seqScan);
    } finally {
      await db.drop();
    }
  });
});
