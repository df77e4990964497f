/**
 * A second outside checker's cases for `policy diff` / `apply` / `pull`: spellings
 * of one function that differ in text only, what becomes of a comment on a policy,
 * and relations as real databases have them (partitions, inheritance, a policy on a
 * table with RLS off, FORCE without ENABLE, views, a materialized view, a foreign
 * table) through pull and apply, and a file written as Supabase migrations are
 * (keywords in capitals, unqualified names, a repeated ENABLE, GRANT ALL narrowed
 * by REVOKE, a column grant, a grant to PUBLIC).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, migrate, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { apiRolesOf, parseConfig, type Config } from '../../cli/core/config.js';
import { diffPolicies, readModel } from '../../cli/core/policy/diff.js';
import { applyPlan, assertWideningAllowed } from '../../cli/core/policy/apply.js';
import { antitoneReads } from '../../cli/core/policy/antitone-reads.js';
import { writePolicyFiles } from '../../cli/core/policy/pull.js';
import { securityStateOf } from '../../cli/core/policy/state.js';
import { stepSql } from '../../cli/core/policy/render.js';
import { rolesSql } from './project.js';

const ROLES = rolesSql([['anon', 'nologin'], ['authenticated', 'nologin'], ['service_role', 'nologin bypassrls']]);
const urlConfig = parseConfig({}, null, '/nonexistent');
const diffUrls = (from: string, to: string) => diffPolicies({ serverUrl: serverUrl(), config: urlConfig, from: { kind: 'url', url: from }, to: { kind: 'url', url: to } });
const stepsOf = (steps: ReadonlyArray<Parameters<typeof stepSql>[0]>, table: string) => steps.filter((s) => s.table === table).map((s) => [s.kind, s.hazard, stepSql(s)]);

describe('CURRENT_USER spelled as CURRENT_ROLE, USER or "current_user"()', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  const SPELLINGS = { current_role: 'current_role', user_kw: 'user', call: '"current_user"()', session: 'session_user', call_session: '"session_user"()' };
  beforeAll(async () => {
    a = await freshDatabase('rg_peer2_user_a');
    b = await freshDatabase('rg_peer2_user_b');
    for (const db of [a, b]) await db.sql.unsafe(ROLES);
    for (const [t, spelling] of Object.entries(SPELLINGS)) {
      const create = `create table public.${t} (id int, owner_name text); alter table public.${t} enable row level security; grant select on public.${t} to anon, authenticated;`;
      await a.sql.unsafe(`${create} create policy p on public.${t} for select to anon, authenticated using (owner_name = ${t === 'call_session' ? 'session_user' : 'current_user'});`);
      await b.sql.unsafe(`${create} create policy p on public.${t} for select to anon, authenticated using (owner_name = ${spelling});`);
    }
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it('are the same value on Postgres, and session_user is not', async () => {
    const [row] = await a.sql.begin(async (tx) => {
      await tx`set local role anon`;
      return tx`select current_user as cu, current_role as cr, user as u, "current_user"() as call, session_user as su, "session_user"() as scall`;
    });
    expect(row).toMatchObject({ cu: 'anon', cr: 'anon', u: 'anon', call: 'anon' });
    expect(row!['su']).not.toBe('anon');
    expect(row!['scall']).toBe(row!['su']);
  });

  it('are no change to the diff; session_user instead of current_user is one', async () => {
    const plan = (await diffUrls(a.url, b.url)).plan;
    for (const t of ['current_role', 'user_kw', 'call', 'call_session']) expect(stepsOf(plan.steps, `public.${t}`), t).toEqual([]);
    expect(stepsOf(plan.steps, 'public.session')).toEqual([['alter-policy', 'may-widen', 'alter policy p on public.session using ((owner_name = SESSION_USER));']]);
  });
});

describe('a policy that reads another table (or its own) where fewer rows let more through', () => {
  // feed is hidden from a blocked user by NOT EXISTS on blocklist, and notes by NOT IN on
  // hidden_ids; posts allows a fourth post only while the user sees fewer than three of
  // their own; chat by NOT EXISTS on a security_invoker view of mutes. Narrowing what
  // blocklist, hidden_ids, mutes and posts show (a dropped SELECT policy, one recreated for
  // INSERT only, a condition more) opens all four. members is read
  // under a plain EXISTS: narrowing it narrows, and stays labelled so.
  const SCAFFOLD = `${ROLES}
create schema auth;
grant usage on schema auth to public;
create function auth.uid() returns int language sql stable as $$ select nullif(current_setting('rg.uid', true), '')::int $$;
create table public.posts (id int primary key, user_id int, hidden boolean);
insert into public.posts values (1, 1, false), (2, 1, false), (3, 1, true);
create table public.blocklist (user_id int);
insert into public.blocklist values (1);
create table public.feed (id int);
insert into public.feed values (1);
create table public.members (user_id int, active boolean);
insert into public.members values (1, false);
create table public.docs (id int);
insert into public.docs values (1);
create table public.hidden_ids (id int);
insert into public.hidden_ids values (1);
create table public.notes (id int);
insert into public.notes values (1);
alter table public.hidden_ids enable row level security;
alter table public.notes enable row level security;
grant select, insert on public.hidden_ids to authenticated;
grant select on public.notes to authenticated;
create policy shown on public.notes for select to authenticated using (id not in (select h.id from public.hidden_ids h));
create table public.mutes (user_id int);
insert into public.mutes values (1);
create view public.my_mutes with (security_invoker = true) as select user_id from public.mutes;
create table public.chat (id int);
insert into public.chat values (1);
alter table public.mutes enable row level security;
alter table public.chat enable row level security;
grant select on public.mutes, public.my_mutes, public.chat to authenticated;
create policy unmuted on public.chat for select to authenticated using (not exists (select 1 from public.my_mutes m where m.user_id = auth.uid()));
alter table public.posts enable row level security;
alter table public.blocklist enable row level security;
alter table public.feed enable row level security;
alter table public.members enable row level security;
alter table public.docs enable row level security;
grant select, insert on public.posts to authenticated;
grant select on public.blocklist, public.feed, public.members, public.docs to authenticated;
create policy quota on public.posts for insert to authenticated
  with check (user_id = auth.uid() and (select count(*) from public.posts p where p.user_id = auth.uid()) < 3);
create policy not_blocked on public.feed for select to authenticated
  using (not exists (select 1 from public.blocklist b where b.user_id = auth.uid()));
create policy member on public.docs for select to authenticated
  using (exists (select 1 from public.members m where m.user_id = auth.uid()));
`;
  const BEFORE = `
create policy own on public.posts for select to authenticated using (user_id = auth.uid());
create policy see_self on public.blocklist for select to authenticated using (user_id = auth.uid());
create policy see_self on public.members for select to authenticated using (user_id = auth.uid());
create policy listed on public.hidden_ids for select to authenticated using (true);
create policy see_self on public.mutes for select to authenticated using (user_id = auth.uid());`;
  const AFTER = `
create policy own on public.posts for select to authenticated using (user_id = auth.uid() and not hidden);
create policy see_self on public.members for select to authenticated using (user_id = auth.uid() and active);
create policy listed on public.hidden_ids for insert to authenticated with check (false);`;
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    a = await freshDatabase('rg_peer2_reads_a');
    b = await freshDatabase('rg_peer2_reads_b');
    await a.sql.unsafe(SCAFFOLD + BEFORE);
    await b.sql.unsafe(SCAFFOLD + AFTER);
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  /** What user 1 can do: rows of feed, notes and docs seen, and whether a fourth post goes in (all undone). */
  const user1 = async (db: TestDatabase) => {
    let out: { feed: number; notes: number; chat: number; docs: number; fourthPost: boolean } | undefined;
    const rollback = new Error('rollback');
    await db.sql
      .begin(async (tx) => {
        await tx`select set_config('rg.uid', '1', true)`;
        await tx`set local role authenticated`;
        const [{ feed, notes, chat, docs }] = (await tx`
          select (select count(*)::int from public.feed) as feed, (select count(*)::int from public.notes) as notes,
                 (select count(*)::int from public.chat) as chat, (select count(*)::int from public.docs) as docs`) as unknown as [{ feed: number; notes: number; chat: number; docs: number }];
        const fourthPost = await tx.savepoint((s) => s`insert into public.posts values (4, 1, false)`).then(() => true, () => false);
        out = { feed, notes, chat, docs, fourthPost };
        throw rollback;
      })
      .catch((e: unknown) => {
        if (e !== rollback) throw e;
      });
    return out!;
  };

  it('on Postgres: the narrowing change lets user 1 read the feed, the notes and the chat and post a fourth time', async () => {
    expect(await user1(a)).toEqual({ feed: 0, notes: 0, chat: 0, docs: 1, fourthPost: false });
    expect(await user1(b)).toEqual({ feed: 1, notes: 1, chat: 1, docs: 0, fourthPost: true });
  });

  it('the steps that show less of a table read that way are may-widen, and apply refuses them on a remote database', async () => {
    const plan = (await diffUrls(a.url, b.url)).plan;
    expect(plan.steps.map((s) => [s.table, s.kind, s.hazard])).toEqual([
      ['public.blocklist', 'drop-policy', 'may-widen'],
      ['public.hidden_ids', 'drop-policy', 'neutral'],
      ['public.members', 'alter-policy', 'narrows'],
      ['public.mutes', 'drop-policy', 'may-widen'],
      ['public.posts', 'alter-policy', 'may-widen'],
      ['public.hidden_ids', 'create-policy', 'may-widen'],
    ]);
    expect(plan.steps[0]!.effects[1]).toBe(
      'policy not_blocked on public.feed reads public.blocklist where fewer rows can let more through (NOT EXISTS, NOT IN, <> ALL, a count or other scalar sub-select): showing less of public.blocklist may widen access there',
    );
    expect(plan.steps[3]!.effects[1]).toMatch(/^policy unmuted on public\.chat \(through public\.my_mutes\) reads public\.mutes where/);
    expect(plan.steps[4]!.effects[1]).toMatch(/^policy quota on public\.posts reads public\.posts where/);
    expect(plan.steps[5]!.effects.at(-1)).toMatch(/^policy shown on public\.notes reads public\.hidden_ids where/);
    expect(() => assertWideningAllowed(plan, { local: false, allowWidening: false, label: 'prod' })).toThrow(/refusing to apply 4 widening changes to prod/);
  });

  it('reads: NOT EXISTS, NOT IN, ALL, scalar and ARRAY sub-selects, an outer join\'s inner side, grouping; not EXISTS, IN or = ANY', async () => {
    const reads = await antitoneReads();
    const sub = (t: string) => `( SELECT 1 FROM ${t} x WHERE (x.id = 1))`;
    expect(reads(`(EXISTS ${sub('public.members')})`)).toEqual([]);
    expect(reads(`(org_id IN ( SELECT m.org_id FROM public.members m))`)).toEqual([]);
    expect(reads(`((EXISTS ${sub('public.a')}) OR (org_id = ANY ( SELECT m.org_id FROM app."Members" m)))`)).toEqual([]);
    expect(reads(`(NOT (EXISTS ${sub('public.blocklist')}))`)).toEqual(['public.blocklist']);
    expect(reads(`(NOT (org_id IN ( SELECT m.org_id FROM public.members m)))`)).toEqual(['public.members']);
    expect(reads(`(org_id = ALL ( SELECT m.org_id FROM public.members m))`)).toEqual(['public.members']);
    expect(reads(`(org_id <> ALL (ARRAY( SELECT m.org_id FROM public.members m)))`)).toEqual(['public.members']);
    expect(reads(`(( SELECT count(*) AS count FROM public.posts p WHERE (p.user_id = 1)) < 3)`)).toEqual(['public.posts']);
    expect(reads(`(EXISTS ( SELECT 1 FROM (public.a x LEFT JOIN public.b y ON ((x.id = y.id))) WHERE (y.id IS NULL)))`)).toEqual(['public.b']);
    expect(reads(`(EXISTS ( SELECT 1 FROM public.a x WHERE (NOT (EXISTS ${sub('public.c')}))))`)).toEqual(['public.c']);
    expect(reads(`(NOT (NOT (EXISTS ${sub('public.c')})))`)).toEqual([]);
    expect(reads(`(EXISTS ( SELECT 1 FROM public.a x GROUP BY x.id HAVING (count(*) < 2)))`)).toEqual(['public.a']);
    expect(reads(`CASE WHEN (EXISTS ${sub('public.a')}) THEN false ELSE true END`)).toEqual(['public.a']);
    // A column looked up and compared: fewer rows give the same value or NULL, and NULL admits nothing, under NOT too.
    expect(reads(`(org_id = ( SELECT p.org_id FROM public.profiles p WHERE (p.id = auth.uid())))`)).toEqual([]);
    expect(reads(`(( SELECT (p.org_id)::text AS org_id FROM public.profiles p WHERE (p.id = auth.uid())) = (org_id)::text)`)).toEqual([]);
    expect(reads(`(NOT (org_id = ( SELECT p.org_id FROM public.profiles p WHERE (p.id = auth.uid()))))`)).toEqual([]);
    expect(reads(`(org_id <> ( SELECT p.org_id FROM public.profiles p WHERE (p.id = auth.uid())))`)).toEqual([]);
    // What its own WHERE reads still counts: fewer bans let the look-up find a row.
    expect(reads(`(org_id = ( SELECT p.org_id FROM public.profiles p WHERE (NOT (EXISTS ${sub('public.bans')}))))`)).toEqual(['public.bans']);
    expect(reads(`(org_id IS DISTINCT FROM ( SELECT p.org_id FROM public.profiles p))`)).toEqual(['public.profiles']);
    expect(reads(`(( SELECT count(*) AS count FROM public.posts p) = 0)`)).toEqual(['public.posts']);
    expect(reads(`(org_id = ( SELECT max(p.org_id) AS max FROM public.profiles p))`)).toEqual(['public.profiles']);
  });
});

describe('a tenant look-up (org_id = (select org_id from profiles …)) over a table that shows fewer rows', () => {
  // docs are read through the caller's organisation, others through NOT (the same test); user 1's
  // profile stops being visible to them. The look-up turns NULL, which admits nothing either way.
  const SCAFFOLD = `${ROLES}
create schema auth;
create function auth.uid() returns int language sql stable as $$ select nullif(current_setting('rg.uid', true), '')::int $$;
create table public.profiles (id int primary key, org_id int, active boolean);
insert into public.profiles values (1, 10, false);
create table public.docs (id int, org_id int);
insert into public.docs values (1, 10), (2, 20);
alter table public.profiles enable row level security;
alter table public.docs enable row level security;
grant select on public.profiles, public.docs to authenticated;
create policy same_org on public.docs for select to authenticated using (org_id = (select p.org_id from public.profiles p where p.id = auth.uid()));
create policy other_orgs on public.docs for select to authenticated using (not (org_id = (select p.org_id from public.profiles p where p.id = auth.uid())) and id > 1);`;
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    a = await freshDatabase('rg_peer2_lookup_a');
    b = await freshDatabase('rg_peer2_lookup_b');
    await a.sql.unsafe(`${SCAFFOLD} create policy own on public.profiles for select to authenticated using (id = auth.uid());`);
    await b.sql.unsafe(`${SCAFFOLD} create policy own on public.profiles for select to authenticated using (id = auth.uid() and active);`);
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it('on Postgres user 1 reads both docs before and none after; the step narrows', async () => {
    const docs = (db: TestDatabase) =>
      db.sql.begin(async (tx) => {
        await tx`select set_config('rg.uid', '1', true)`;
        await tx`set local role authenticated`;
        return (await tx`select id from public.docs order by id`).map((r) => r['id'] as number);
      });
    expect(await docs(a)).toEqual([1, 2]);
    expect(await docs(b)).toEqual([]);
    const plan = (await diffUrls(a.url, b.url)).plan;
    expect(plan.steps.map((s) => [s.table, s.kind, s.hazard])).toEqual([['public.profiles', 'alter-policy', 'narrows']]);
  });
});

describe('a comment on a policy', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    a = await freshDatabase('rg_peer2_comment_a');
    b = await freshDatabase('rg_peer2_comment_b');
    for (const db of [a, b]) await db.sql.unsafe(ROLES);
    const tables = `create table public.altered (id int, uid int); create table public.recreated (id int, uid int);
      alter table public.altered enable row level security; alter table public.recreated enable row level security;`;
    await a.sql.unsafe(`${tables}
      create policy p on public.altered for select to authenticated using (uid = 1);
      create policy p on public.recreated for select to authenticated using (uid = 1);
      comment on policy p on public.altered is 'owners only';
      comment on policy p on public.recreated is 'owners only';`);
    await b.sql.unsafe(`${tables}
      create policy p on public.altered for select to authenticated using ((uid = 1) and (id > 0));
      create policy p on public.recreated for all to authenticated using (uid = 1);`);
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it('is not compared, is kept by ALTER POLICY and is lost when apply drops and creates the policy', async () => {
    const plan = (await diffUrls(a.url, b.url)).plan;
    expect(plan.steps.map((s) => [s.table, s.kind])).toEqual([
      ['public.altered', 'alter-policy'],
      ['public.recreated', 'drop-policy'],
      ['public.recreated', 'create-policy'],
    ]);
    await applyPlan(plan, { url: a.url, lockTimeout: '5s', statementTimeout: '0' });
    const comments = await a.sql`select c.relname as t, obj_description(p.oid, 'pg_policy') as comment from pg_policy p join pg_class c on c.oid = p.polrelid order by 1`;
    expect(comments).toEqual([
      { t: 'altered', comment: 'owners only' },
      { t: 'recreated', comment: null },
    ]);
    expect((await diffUrls(a.url, b.url)).plan.steps).toEqual([]);
  });
});

describe('relations as databases have them, through pull and apply', () => {
  const SQL = `${ROLES}
create table public.parted (id int, uid int) partition by list (uid);
create table public.parted_1 partition of public.parted for values in (1);
create table public.parted_d partition of public.parted default;
create table public.base (id int, uid int);
create table public.child (extra text) inherits (public.base);
create table public.forced (id int);
create table public.inactive (id int, uid int);
create table public.src (id int, uid int);
create view public.v_invoker with (security_invoker = true) as select * from public.src;
create view public.v_definer as select * from public.src;
create materialized view public.mv as select * from public.src;
create foreign data wrapper rg_peer2_fdw;
create server rg_peer2_srv foreign data wrapper rg_peer2_fdw;
create foreign table public.ft (id int) server rg_peer2_srv;
`;
  const LIVE = `
alter table public.parted enable row level security;
create policy own on public.parted for select to authenticated using (uid = 1);
alter table public.parted_1 enable row level security;
grant select on public.parted, public.parted_1, public.parted_d to authenticated;
alter table public.base enable row level security;
create policy own on public.base for all to authenticated using (uid = 1);
grant select, insert on public.base, public.child to authenticated;
alter table public.forced force row level security;
grant select on public.forced to anon;
create policy never on public.inactive for select to anon using (false);
grant select on public.inactive to anon;
grant select on public.v_invoker, public.v_definer to anon;
grant select on public.mv to authenticated;
grant select on public.ft to anon;
`;
  let project: string;
  let config: Config;
  let live: TestDatabase;
  let fresh: TestDatabase;
  const diffFrom = (url: string) => diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url }, to: { kind: 'policies' }, displayRoot: project });

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), 'rowguard-peer2-'));
    mkdirSync(join(project, 'sql'));
    writeFileSync(join(project, 'sql', '0001_init.sql'), SQL);
    config = parseConfig({}, null, project);
    live = await freshDatabase('rg_peer2_live');
    fresh = await freshDatabase('rg_peer2_fresh');
    await migrate(live.url, join(project, 'sql'));
    await migrate(fresh.url, join(project, 'sql'));
    await live.sql.unsafe(LIVE);
  });
  afterAll(async () => {
    await live?.drop();
    await fresh?.drop();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('pulled, then applied to a database with only sql/: both diffs are empty, and each step says what it does', async () => {
    const apiRoles = apiRolesOf(config);
    const pulled = writePolicyFiles(securityStateOf(await readModel(live.url, apiRoles), apiRoles), config.dirs.policies, project);
    expect(pulled.written).toHaveLength(12);
    expect(readFileSync(join(project, 'policies', 'public.forced.sql'), 'utf8')).toContain('alter table public.forced force row level security;');
    expect(readFileSync(join(project, 'policies', 'public.inactive.sql'), 'utf8')).not.toContain('enable row level security');
    expect((await diffFrom(live.url)).plan.steps.map(stepSql)).toEqual([]);

    const d = await diffFrom(fresh.url);
    const effect = (table: string, kind: string) => d.plan.steps.find((s) => s.table === table && s.kind === kind);
    // A policy on a table whose RLS stays off, and FORCE without ENABLE: nothing changes for anyone.
    expect(effect('public.inactive', 'create-policy')?.hazard).toBe('neutral');
    expect(effect('public.inactive', 'create-policy')?.effects[0]).toMatch(/no effect while RLS is disabled on public\.inactive$/);
    expect(effect('public.forced', 'force-rls')?.hazard).toBe('neutral');
    // A partition and an inheriting table are reached directly under their own flags, not the parent's.
    expect(effect('public.parted_d', 'grant')?.effects).toEqual(['authenticated can now SELECT public.parted_d (RLS is off: every row)']);
    expect(effect('public.child', 'grant')?.effects).toEqual(['authenticated can now SELECT and INSERT public.child (RLS is off: every row)']);
    expect(effect('public.parted_1', 'enable-rls')?.effects).toEqual(['RLS enabled on public.parted_1: it has no policies, so API roles see and write no rows']);
    for (const t of ['public.v_invoker', 'public.v_definer', 'public.mv', 'public.ft']) expect(effect(t, 'grant')?.hazard, t).toBe('widens');
    await applyPlan(d.plan, { url: fresh.url, lockTimeout: '5s', statementTimeout: '0' });
    expect((await diffFrom(fresh.url)).plan.steps.map(stepSql)).toEqual([]);
  });
});

describe('a policies/ file written as Supabase migrations are', () => {
  const SQL = `${ROLES}
create schema if not exists auth;
create or replace function auth.uid() returns uuid language sql stable as $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
create table public.todos (id bigint generated by default as identity primary key, user_id uuid, task text, done boolean);
`;
  // The live state, written as pull writes it.
  const LIVE = `
alter table public.todos enable row level security;
grant select on table public.todos to public;
grant all on table public.todos to authenticated, service_role;
grant select (id, task) on table public.todos to anon;
create policy "Users can view their own todos" on public.todos as permissive for select to public using ((( SELECT auth.uid() AS uid) = user_id));
create policy "Users can insert their own todos" on public.todos as permissive for insert to authenticated with check ((auth.uid() = user_id));
create policy "Only open todos change" on public.todos as restrictive for update to authenticated using ((done IS NOT TRUE));
`;
  const FILE = `-- Enable RLS
ALTER TABLE public.todos ENABLE ROW LEVEL SECURITY;
alter table todos enable row level security;

GRANT ALL ON TABLE public.todos TO anon, authenticated, service_role;
REVOKE ALL ON TABLE public.todos FROM anon;
GRANT SELECT (id, task) ON public.todos TO anon;
GRANT SELECT ON TABLE "public"."todos" TO PUBLIC;

CREATE POLICY "Users can view their own todos"
ON public.todos AS PERMISSIVE FOR SELECT
TO public
USING ( (select auth.uid()) = user_id );

create policy "Users can insert their own todos"
on todos for insert
to authenticated
with check ( auth.uid() = user_id );

CREATE POLICY "Only open todos change" ON "public"."todos" AS RESTRICTIVE FOR UPDATE TO "authenticated" USING (done is not true);
`;
  let project: string;
  let config: Config;
  let live: TestDatabase;
  const diffFrom = (url: string) => diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url }, to: { kind: 'policies' }, displayRoot: project });

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), 'rowguard-peer2-supa-'));
    mkdirSync(join(project, 'sql'));
    mkdirSync(join(project, 'policies'));
    writeFileSync(join(project, 'sql', '0001_init.sql'), SQL);
    writeFileSync(join(project, 'policies', 'public.todos.sql'), FILE);
    config = parseConfig({}, null, project);
    live = await freshDatabase('rg_peer2_supa');
    await migrate(live.url, join(project, 'sql'));
    await live.sql.unsafe(LIVE);
  });
  afterAll(async () => {
    await live?.drop();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('means what the live database has: no step', async () => {
    expect((await diffFrom(live.url)).plan.steps.map(stepSql)).toEqual([]);
  });
});
