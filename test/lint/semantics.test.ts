/**
 * Rules judged on effective privileges and real Postgres semantics, for any
 * schema: grants through PUBLIC and role membership, schema USAGE, exposed
 * schemas from pgrst.db_schemas, partitions, FORCE, policies for group roles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayDatabase, TransactionSql } from '../../cli/core/db.js';
import { createThrowawayDatabase, withSql } from '../../cli/core/db.js';
import { serverMajor, serverUrl } from '../helpers/pg.js';
import { lintWith, makeTemplate, modelOf, parseSync } from './helpers.js';

let template: ThrowawayDatabase;
beforeAll(async () => {
  template = await makeTemplate();
  await withSql(serverUrl(), (sql) =>
    sql.unsafe(`do $$ begin
      if not exists (select from pg_roles where rolname = 'rg_lint_readers') then create role rg_lint_readers nologin; end if;
      if not exists (select from pg_roles where rolname = 'rg_lint_editors') then create role rg_lint_editors nologin; end if;
    exception when duplicate_object or unique_violation then null; end $$;
    grant rg_lint_readers to authenticated; grant rg_lint_editors to authenticated;`).simple(),
  );
}, 60_000);
afterAll(async () => {
  await template?.drop();
});

async function rule(id: string, sql: string, settings = {}) {
  const model = await modelOf(template, sql);
  return (await lintWith({ model, settings })).findings.filter((f) => f.rule === id);
}

describe('policy-self-comparison names what a self-compared sub-select gives away', () => {
  it('every row to a reading policy, any row to an INSERT check', async () => {
    const sql = `create table public.members (org_id int, user_id uuid);
      create table public.projects (id int primary key, org_id int);
      alter table public.projects enable row level security;
      grant select, insert on public.projects to authenticated;
      create policy read on public.projects for select to authenticated using (exists (select 1 from public.members m where m.org_id = m.org_id and m.user_id = (select auth.uid())));
      create policy add on public.projects for insert to authenticated with check (exists (select 1 from public.members m where m.org_id = m.org_id and m.user_id = (select auth.uid())));`;
    const found = Object.fromEntries((await rule('policy-self-comparison', sql)).map((f) => [f.object, f.message.replace(/^.*whoever passes it /, '')]));
    expect(found).toEqual({ 'read on public.projects': 'gets every row', 'add on public.projects': 'may write any row' });
  });
});

describe('effective privileges', () => {
  it('a grant to PUBLIC reaches anon and authenticated', async () => {
    const f = await rule('rls-disabled-in-api', 'create table public.t (id int); grant select on public.t to public;');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toMatch(/anon can read every row; authenticated can read every row/);
  });

  it('a grant to a group role counts for its members', async () => {
    const f = await rule('rls-disabled-in-api', 'create table public.t (id int); grant select on public.t to rg_lint_readers;');
    expect(f.map((x) => x.message)).toEqual([expect.stringMatching(/^RLS is off on public\.t: authenticated can read every row$/)]);
  });

  it('without USAGE on the schema the grant is unreachable', async () => {
    const sql = 'create schema api; create table api.t (id int); grant select on api.t to anon;';
    expect(await rule('rls-disabled-in-api', sql, { schemas: ['api'] })).toEqual([]);
    expect(await rule('rls-disabled-in-api', `${sql} grant usage on schema api to anon;`, { schemas: ['api'] })).toHaveLength(1);
  });

  it("exposed schemas come from the database's pgrst.db_schemas when the config names none", async () => {
    const sql = `create schema api; grant usage on schema api to anon; create table api.t (id int); grant select on api.t to anon;
      do $$ begin execute format('alter database %I set pgrst.db_schemas = %L', current_database(), 'api'); end $$;`;
    const f = await rule('rls-disabled-in-api', sql);
    expect(f.map((x) => x.object)).toEqual(['api.t']);
  });

  it("the authenticator role's pgrst.db_schemas wins over the database's, which PostgREST never reads (holes5)", async () => {
    // PostgREST's in-database configuration reads pg_db_role_setting for the role it logs in as only
    // (the setting IN DATABASE first, then the role's cluster-wide one); ALTER DATABASE … SET is not its.
    const sql = `create schema api; grant usage on schema api to anon; create table api.t (id int); grant select on api.t to anon;
      do $$ begin execute format('alter database %I set pgrst.db_schemas = %L', current_database(), 'public');
        execute format('alter role authenticator in database %I set pgrst.db_schemas = %L', current_database(), 'public, api'); end $$;`;
    const f = await rule('rls-disabled-in-api', sql);
    expect(f.map((x) => x.object)).toEqual(['api.t']);
  });

  it('a policy for a group role applies to its members', async () => {
    const f = await rule(
      'policy-always-true',
      `create table public.t (id int, user_id uuid); alter table public.t enable row level security;
       create policy edit on public.t for update to rg_lint_editors using (true);
       grant select, update on public.t to rg_lint_editors;`,
    );
    expect(f.map((x) => x.message)).toEqual([expect.stringMatching(/authenticated can update every row/)]);
  });
});

describe('partitions', () => {
  const parent = `create table public.m (id int, at date, user_id uuid) partition by range (at);
    alter table public.m enable row level security;
    create policy own on public.m for select to authenticated using ((select auth.uid()) = user_id);
    grant select on public.m to authenticated;
    create table public.m_2026 partition of public.m for values from ('2026-01-01') to ('2027-01-01');`;

  it('a partition granted directly with RLS off is reachable by name and skips the parent policies', async () => {
    expect(await rule('rls-disabled-in-api', parent)).toEqual([]);
    const f = await rule('rls-disabled-in-api', `${parent} grant select on public.m_2026 to authenticated;`);
    expect(f.map((x) => x.object)).toEqual(['public.m_2026']);
    expect(f[0]!.message).toBe("RLS is off on public.m_2026, a partition of public.m: queried by name it skips public.m's policies, so authenticated can read every row");
    expect(f[0]!.fix).toMatch(/^revoke all on public\.m_2026 from authenticated, public \(reach it through public\.m\)/);
  });
});

describe('partition-policy-looser: a partition queried by name is judged by its own policies (holes3)', () => {
  const a = '00000000-0000-4000-8000-000000000001';
  const b = '00000000-0000-4000-8000-000000000002';
  const t = (partitionUsing: string, grant = 'grant select on public.events_2025 to authenticated;') => `create table public.events (id int, at date, user_id uuid, body text) partition by range (at);
    alter table public.events enable row level security;
    create policy own on public.events for select to authenticated using ((select auth.uid()) = user_id);
    grant select on public.events to authenticated;
    create table public.events_2025 partition of public.events for values from ('2025-01-01') to ('2026-01-01');
    alter table public.events_2025 enable row level security;
    create policy archive on public.events_2025 for select to authenticated using (${partitionUsing});
    ${grant}
    insert into public.events values (1, '2025-05-01', '${a}', 'a''s'), (2, '2025-06-01', '${b}', 'b''s');`;
  const reads = (sqlText: string, from: string) => asRequest(sqlText, 'authenticated', a, async (tx) => (await tx.unsafe(`select body from ${from} order by id`)).map((r) => r['body'] as string));

  it("on Postgres user a reads b's event through the partition and not through its parent; reported, and not once the partition keeps the owner test or has no grant", async () => {
    const loose = t("at < '2026-01-01'");
    expect((await rule('partition-policy-looser', loose)).map((f) => f.message)).toEqual([
      "policy archive on public.events_2025, a partition of public.events, does not tie rows to the caller where public.events's policies do: queried by name, public.events_2025 lets authenticated read rows of other users",
    ]);
    expect(await reads(loose, 'public.events')).toEqual(["a's"]);
    expect(await reads(loose, 'public.events_2025')).toEqual(["a's", "b's"]);
    const kept = t("at < '2026-01-01' and (select auth.uid()) = user_id");
    expect(await rule('partition-policy-looser', kept)).toEqual([]);
    expect(await reads(kept, 'public.events_2025')).toEqual(["a's"]);
    expect(await rule('partition-policy-looser', t('true', ''))).toEqual([]);
  });

  // holes4: a child created with INHERITS is linked to its parent through pg_inherits alone, and Postgres judges it the same way.
  const inherited = (childUsing: string) => `create table public.events (id int primary key, at date, user_id uuid, body text);
    alter table public.events enable row level security;
    create policy own on public.events for select to authenticated using ((select auth.uid()) = user_id);
    grant select on public.events to authenticated;
    create table public.events_archive () inherits (public.events);
    alter table public.events_archive enable row level security;
    create policy archive on public.events_archive for select to authenticated using (${childUsing});
    grant select on public.events_archive to authenticated;
    insert into public.events_archive values (1, '2025-05-01', '${a}', 'a''s'), (2, '2025-06-01', '${b}', 'b''s');`;

  it("an INHERITS child: on Postgres user a reads b's archived event by the child's name and not through the parent; reported, and not once the child keeps the owner test", async () => {
    const loose = inherited("at < '2026-01-01'");
    expect(await reads(loose, 'public.events')).toEqual(["a's"]);
    expect(await reads(loose, 'public.events_archive')).toEqual(["a's", "b's"]);
    expect((await rule('partition-policy-looser', loose)).map((f) => f.message)).toEqual([
      "policy archive on public.events_archive, a child (INHERITS) of public.events, does not tie rows to the caller where public.events's policies do: queried by name, public.events_archive lets authenticated read rows of other users",
    ]);
    const kept = inherited("at < '2026-01-01' and (select auth.uid()) = user_id");
    expect(await reads(kept, 'public.events_archive')).toEqual(["a's"]);
    expect(await rule('partition-policy-looser', kept)).toEqual([]);
  });
});

describe('views and FORCE', () => {
  const base = `create table public.o (id int, user_id uuid); alter table public.o enable row level security;
    create policy own on public.o for select to anon using ((select auth.uid()) = user_id);
    grant select on public.o to anon;
    create view public.v as select id from public.o; grant select on public.v to anon;`;

  it("a definer view skips its owner's table policies unless RLS is forced (and a superuser owner always does)", async () => {
    const owned = `${base} alter table public.o owner to rg_lint_nologin_owner; alter view public.v owner to rg_lint_nologin_owner;`;
    expect(await rule('view-bypasses-rls', owned)).toHaveLength(1);
    expect(await rule('view-bypasses-rls', `${owned} alter table public.o force row level security;`)).toEqual([]);
    // The fixtures run as a superuser: superusers skip RLS even when it is forced.
    expect(await rule('view-bypasses-rls', `${base} alter table public.o force row level security;`)).toHaveLength(1);
  });

  // realworld6's reproduction (atomic-crm's init_state): a view of an aggregate is granted every write by Supabase's defaults.
  it('names only the writes Postgres takes through the view: none through an aggregate, those an INSTEAD OF trigger takes; on Postgres the aggregate view refuses an UPDATE', async () => {
    const writes = `${base} grant insert, update, delete on public.v to anon;`;
    const message = async (sql: string) => (await rule('view-bypasses-rls', sql)).map((f) => f.message.replace(/ view public\.v, .*/, ''));
    expect(await message(writes)).toEqual(['anon can read, insert into, update and delete from']);
    const counted = writes.replace('create view public.v as select id from public.o;', 'create view public.v as select count(id) as n from public.o;');
    expect(await message(counted)).toEqual(['anon can read']);
    const trigger = `create function public.v_update() returns trigger language plpgsql as $$ begin return new; end $$;
      create trigger v_update instead of update on public.v for each row execute function public.v_update();`;
    expect(await message(counted + trigger)).toEqual(['anon can read and update']);
    await expect(asRequest(counted, 'anon', undefined, (tx) => tx.unsafe('update public.v set n = 1'))).rejects.toThrow(/cannot update view "v"/);
  });
});

describe('migration state', () => {
  it('a partitioned table gets the ON ONLY fix (CONCURRENTLY is not supported on it)', async () => {
    const r = await lintWith({
      migrations: [
        { displayPath: 'sql/0001.sql', sql: 'create table public.p (id int, at date) partition by range (at);', judged: false },
        { displayPath: 'sql/0002.sql', sql: 'create index on public.p (at);', judged: true },
      ],
    });
    const f = r.findings.filter((x) => x.rule === 'index-not-concurrent');
    expect(f).toHaveLength(1);
    expect(f[0]!.fix).toMatch(/on only public\.p/);
  });

  it('no-transaction-statement: every statement Postgres refuses in a transaction block, and none it allows', async () => {
    const refused = [
      'create index concurrently e_a on public.e (a)',
      'drop index concurrently public.e_a',
      'reindex index concurrently public.e_a',
      'reindex schema public',
      'vacuum public.e',
      'vacuum (analyze) public.e',
      'cluster',
      'alter table public.p detach partition public.p1 concurrently',
      'alter system set work_mem = 8192',
    ];
    const allowed = ['analyze public.e', 'reindex table public.e', 'cluster public.e using e_pkey', 'refresh materialized view concurrently public.mv', "alter type public.mood add value 'meh'"];
    const file = (sql: string, noTx = false) => [
      { displayPath: 'sql/0001.sql', sql: 'create table public.e (a int primary key); create table public.p (at date) partition by range (at);', judged: false },
      { displayPath: 'sql/0002.sql', sql: (noTx ? '-- rowguard:no-transaction\n' : '') + sql + ';', judged: true },
    ];
    for (const sql of refused) {
      const f = (await lintWith({ migrations: file(sql) })).findings.filter((x) => x.rule === 'no-transaction-statement');
      expect(f.map((x) => x.location?.line), sql).toEqual([1]);
      expect((await lintWith({ migrations: file(sql, true) })).findings.filter((x) => x.rule === 'no-transaction-statement'), `${sql} (no-transaction file)`).toEqual([]);
    }
    for (const sql of allowed) expect((await lintWith({ migrations: file(sql) })).findings.filter((x) => x.rule === 'no-transaction-statement'), sql).toEqual([]);
  });

  it('no-transaction-statement: a value added to an enum type the same file created is usable from Postgres 17 on; before, or with no server to ask, it is reported', async () => {
    const migrations = [{ displayPath: 'sql/0001.sql', sql: "create type public.m as enum ('a');\nalter type public.m add value 'b';\ncreate table public.z (m public.m default 'b');", judged: true }];
    const found = async (serverVersion?: number) => (await lintWith({ migrations, ...(serverVersion ? { serverVersion } : {}) })).findings.filter((x) => x.rule === 'no-transaction-statement');
    expect(await found(170000)).toEqual([]);
    for (const v of [150018, 160004, undefined]) {
      const f = await found(v);
      expect(f.map((x) => `${x.location?.line}:${x.location?.column}`), String(v)).toEqual(['3:43']);
      expect(f[0]!.message).toContain('before 17');
    }
  });

  it('constraint-not-valid: a foreign key on a partitioned table is added the partitions\' way before Postgres 18, NOT VALID from 18 on', async () => {
    const migrations = [
      { displayPath: 'sql/0001.sql', sql: 'create table public.r (id int primary key); create table public.p (at date, rid int) partition by range (at);', judged: false },
      { displayPath: 'sql/0002.sql', sql: 'alter table public.p add constraint p_rid_fk foreign key (rid) references public.r (id);', judged: true },
    ];
    const fix = async (serverVersion?: number) => (await lintWith({ migrations, ...(serverVersion ? { serverVersion } : {}) })).findings.filter((x) => x.rule === 'constraint-not-valid').map((x) => x.fix);
    expect(await fix(180001)).toEqual(['add it NOT VALID, then, in a later migration file: alter table public.p validate constraint p_rid_fk']);
    for (const v of [150018, 170006, undefined]) expect((await fix(v))[0], String(v)).toMatch(/^Postgres before 18 refuses NOT VALID foreign keys on a partitioned table: add the key NOT VALID to each partition/);
  });

  it('rename-column-or-table: a table, a view and a column of theirs renamed after an earlier migration, each reported once', async () => {
    const r = await lintWith({
      migrations: [
        { displayPath: 'sql/0001.sql', sql: 'create table public.t (id int, a text); create view public.v as select id from public.t;', judged: false },
        { displayPath: 'sql/0002.sql', sql: 'alter table public.t rename column a to b;\nalter view public.v rename to w;\nalter table public.t rename to u;', judged: true },
      ],
    });
    const f = r.findings.filter((x) => x.rule === 'rename-column-or-table');
    expect(f.map((x) => [x.object, x.location?.line])).toEqual([
      ['public.t.a', 1],
      ['public.v', 2],
      ['public.t', 3],
    ]);
  });

  it('missing-lock-timeout: a lock_timeout of 0, a RESET, or SET LOCAL outside a transaction block sets none', async () => {
    const judge = async (sql: string, noTx = false) =>
      (
        await lintWith({
          settings: { lockTimeout: '0' },
          migrations: [
            { displayPath: 'sql/0001.sql', sql: 'create table public.t (id int primary key);', judged: false },
            { displayPath: 'sql/0002.sql', sql: (noTx ? '-- rowguard:no-transaction\n' : '') + sql, judged: true },
          ],
        })
      ).findings.filter((f) => f.rule === 'missing-lock-timeout').map((f) => f.location?.line);
    const alter = 'alter table public.t add column a int;';
    expect(await judge(`set lock_timeout = '2s';\n${alter}`)).toEqual([]);
    expect(await judge(`set local lock_timeout = '2s';\n${alter}`)).toEqual([]);
    expect(await judge(`set lock_timeout = 0;\n${alter}`)).toEqual([2]);
    expect(await judge(`set lock_timeout = '0ms';\n${alter}`)).toEqual([2]);
    expect(await judge(`set lock_timeout = '2s';\nreset lock_timeout;\n${alter}`)).toEqual([3]);
    // RESET (or a plain SET) after SET LOCAL replaces the local value at once (checked with SHOW on Postgres 17).
    expect(await judge(`set local lock_timeout = '2s';\nreset lock_timeout;\n${alter}`)).toEqual([3]);
    expect(await judge(`set local lock_timeout = '2s';\nset lock_timeout = 0;\n${alter}`)).toEqual([3]);
    expect(await judge(`set local lock_timeout = '2s';\n${alter}`, true)).toEqual([3]);
    expect(await judge(`${alter}\nset lock_timeout = '2s';`)).toEqual([1]);
    expect(await judge(`select set_config('lock_timeout', '2s', false);\n${alter}`)).toEqual([]);
    expect(await judge(`select pg_catalog.set_config('lock_timeout', '2s', true);\n${alter}`)).toEqual([]);
    expect(await judge(`select set_config('lock_timeout', '2s', true);\n${alter}`, true)).toEqual([3]);
    expect(await judge(`select set_config('lock_timeout', '0', false);\n${alter}`)).toEqual([2]);
    expect(await judge(`do $$ begin set local lock_timeout = '2s'; end $$;\n${alter}`)).toEqual([]);
    expect(await judge(`do $$ begin set local lock_timeout = '2s'; end $$;\n${alter}`, true)).toEqual([3]);
    expect(await judge(`truncate public.t;`)).toEqual([1]);
    expect(await judge(`lock table public.t in share mode;`)).toEqual([1]);
  });

  it('a rowguard-lint-ignore comment above a DO block covers the DDL inside it', async () => {
    const file = (comment: string) => [
      { displayPath: 'sql/0001.sql', sql: 'create table public.r (id int primary key); create table public.t (id int, rid int);', judged: false },
      {
        displayPath: 'sql/0002.sql',
        sql: `${comment}do $$ begin\n  alter table public.t add constraint t_fk foreign key (rid) references public.r (id);\nexception when duplicate_object then null;\nend $$;`,
        judged: true,
      },
    ];
    const plain = await lintWith({ migrations: file('') });
    expect(plain.findings.filter((f) => f.rule === 'constraint-not-valid').map((f) => f.location?.line)).toEqual([2]);
    const ignored = await lintWith({ migrations: file('-- rowguard-lint-ignore constraint-not-valid: t is empty in every environment\n') });
    expect(ignored.findings.filter((f) => f.rule === 'constraint-not-valid')).toEqual([]);
    expect(ignored.suppressed.map((f) => f.rule)).toEqual(['constraint-not-valid']);
    expect(ignored.findings.filter((f) => f.rule === 'unused-suppression')).toEqual([]);
  });

  it('names are matched as Postgres folds them: quoted keeps case, unquoted folds to lower case', async () => {
    const judge = async (sql: string) =>
      (await lintWith({ migrations: [{ displayPath: 'sql/0002.sql', sql, judged: true }] })).findings.filter((f) => f.rule === 'index-not-concurrent').map((f) => f.object);
    expect(await judge('create table "Evt" (id int);\ncreate index on "Evt" (id);')).toEqual([]);
    expect(await judge('create table Evt (id int);\ncreate index on "evt" (id);')).toEqual([]);
    expect(await judge('create table "Evt" (id int);\ncreate index on Evt (id);')).toEqual(['public.evt']);
  });

  it('a search_path led by "$user" resolves unqualified names in the next schema', async () => {
    const r = await lintWith({
      migrations: [
        { displayPath: 'sql/0001.sql', sql: 'create schema app; create table app.t (id int, a varchar(10));', judged: false },
        { displayPath: 'sql/0002.sql', sql: 'set search_path = "$user", app;\nalter table t alter column a type varchar(5);', judged: true },
      ],
    });
    expect(r.findings.filter((x) => x.rule === 'table-rewrite').map((x) => x.object)).toEqual(['app.t.a']);
  });

  it('an empty search_path (pg_dump\'s set_config) leaves pg_catalog alone to look names up in', async () => {
    const r = await lintWith({
      migrations: [
        { displayPath: 'sql/0001.sql', sql: 'create table public.t (id int, a varchar(10));', judged: false },
        { displayPath: 'sql/0002.sql', sql: "select pg_catalog.set_config('search_path', '', false);\nalter table public.t alter column a type varchar(5);\nalter table t alter column a type varchar(4);", judged: true },
      ],
    });
    // Postgres finds no t for the unqualified one (relation "t" does not exist): it is not public.t.
    expect(r.findings.filter((x) => x.rule === 'table-rewrite').map((x) => x.object)).toEqual(['public.t.a', 'pg_catalog.t.a']);
  });

  it('dropping a column a later file added says where its table came from, not the column', async () => {
    const r = await lintWith({
      migrations: [
        { displayPath: 'sql/0001_users.sql', sql: 'create table public.users (id int);', judged: false },
        { displayPath: 'sql/0002_verified.sql', sql: 'alter table public.users add verified_at timestamptz;', judged: false },
        { displayPath: 'sql/0003_drop.sql', sql: 'alter table public.users drop column if exists verified_at;', judged: true },
      ],
    });
    expect(r.findings.filter((x) => x.rule === 'drop-column-or-table').map((x) => x.message)).toEqual([
      'dropping column verified_at of public.users (created in sql/0001_users.sql) deletes its data and breaks clients still reading it',
    ]);
  });

  it('follows renames and search_path across files', async () => {
    const r = await lintWith({
      migrations: [
        { displayPath: 'sql/0001.sql', sql: 'create schema app; set search_path = app; create table t (id int, a varchar(10));', judged: false },
        { displayPath: 'sql/0002.sql', sql: 'alter table app.t rename to u; alter table app.u alter column a type varchar(20);', judged: false },
        { displayPath: 'sql/0003.sql', sql: 'alter table app.u alter column a type varchar(5);', judged: true },
      ],
    });
    const f = r.findings.filter((x) => x.rule === 'table-rewrite');
    expect(f.map((x) => x.message)).toEqual([expect.stringMatching(/changing app\.u\.a from varchar\(20\) to varchar\(5\) rewrites/)]);
  });
});

describe('foreign tables', () => {
  it('cannot have RLS: a grant to an API role in an exposed schema is reported; an unexposed schema is not', async () => {
    const fdw = 'create foreign data wrapper rg_lint_fdw; create server rg_lint_srv foreign data wrapper rg_lint_fdw;';
    const f = await rule('rls-disabled-in-api', `${fdw} create foreign table public.remote (id int) server rg_lint_srv; grant select on public.remote to anon;`);
    expect(f.map((x) => x.message)).toEqual(['public.remote is a foreign table, which cannot have RLS: anon can read every row']);
    expect(await rule('rls-disabled-in-api', `${fdw} create schema private_fdw; grant usage on schema private_fdw to anon;
      create foreign table private_fdw.remote (id int) server rg_lint_srv; grant select on private_fdw.remote to anon;`)).toEqual([]);
  });
});

describe('column grants', () => {
  it('a column-level grant with RLS off exposes that column of every row', async () => {
    const f = await rule('rls-disabled-in-api', 'create table public.c (id int, email text, note text); revoke all on public.c from anon, authenticated, public; grant select (email) on public.c to public;');
    expect(f.map((x) => x.message)).toEqual([expect.stringMatching(/anon can read email of every row; authenticated can read email of every row/)]);
  });
});

describe('policies that share their text across tables', () => {
  it('are parsed once and still judged table by table', async () => {
    const table = (t: string) => `
      create table public.${t} (id int, user_id uuid);
      alter table public.${t} enable row level security;
      grant select, update on public.${t} to authenticated;
      create policy own on public.${t} for select to authenticated using (auth.uid() = user_id);
      create policy own_upd on public.${t} for update to authenticated using (auth.uid() = user_id);`;
    // Only public.t_beta has an index on the compared column.
    const model = await modelOf(template, ['t_alpha', 't_beta', 't_gamma'].map(table).join('\n') + 'create index on public.t_beta (user_id);');
    const real = await parseSync();
    const parsed: string[] = [];
    const { findings } = await lintWith({ model, parseSync: (s) => (parsed.push(s), real(s)) });
    const objects = (id: string) => findings.filter((f) => f.rule === id).map((f) => f.object).sort();

    expect(parsed).toHaveLength(1); // six policies, one expression text
    // On t_beta the bare call is the condition of the index on user_id: evaluated once per scan.
    expect(objects('auth-call-per-row')).toEqual(['own', 'own_upd'].flatMap((p) => ['t_alpha', 't_gamma'].map((t) => `${p} on public.${t}`)));
    expect(objects('claim-column-unindexed')).toEqual(['public.t_alpha.user_id', 'public.t_gamma.user_id']);
  });
});

// Seen on unison (realworld4): any team member updates a doc, created_by included, and drafts are the creator's.
describe('owner-column-rewritable: a team member who may rewrite the owner column takes what only the owner gets', () => {
  const schema = (extra = '') => `create table public.team_members (team_id int not null, user_id uuid not null, primary key (team_id, user_id));
    alter table public.team_members enable row level security;
    create policy own_memberships on public.team_members for select to authenticated using (user_id = (select auth.uid()));
    create table public.docs (id int primary key, team_id int not null, created_by uuid not null, title text);
    alter table public.docs enable row level security;
    create policy team_reads on public.docs for select to authenticated
      using (team_id in (select m.team_id from public.team_members m where m.user_id = (select auth.uid())));
    create policy team_edits on public.docs for update to authenticated
      using (team_id in (select m.team_id from public.team_members m where m.user_id = (select auth.uid())));
    create table public.drafts (id int primary key, doc_id int not null references public.docs, body text);
    alter table public.drafts enable row level security;
    create policy creators_drafts on public.drafts for select to authenticated
      using (exists (select 1 from public.docs d where d.id = drafts.doc_id and d.created_by = (select auth.uid())));
    grant select on public.team_members, public.drafts to authenticated;
    grant select, update, delete on public.docs to authenticated;
    ${extra}`;

  it('names the UPDATE path and every grant by the owner column: a look-up from another table, an owner-only DELETE', async () => {
    const f = await rule('owner-column-rewritable', schema('create policy creator_deletes on public.docs for delete to authenticated using (created_by = (select auth.uid()));'));
    expect(f.map((x) => [x.object, x.message])).toEqual([
      [
        'team_edits on public.docs',
        'policy team_edits lets authenticated update rows of public.docs they reach through team_id without owning them, and set created_by (which DELETE policy creator_deletes and policy creators_drafts on public.drafts grant by) to themselves: a member makes themselves the owner',
      ],
    ]);
  });

  it('anon is not named when the team test asks for the user', async () => {
    const sql = schema('grant select, update on public.docs to anon; grant select on public.drafts to anon;')
      .replace('team_edits on public.docs for update to authenticated', 'team_edits on public.docs for update')
      .replace('creators_drafts on public.drafts for select to authenticated', 'creators_drafts on public.drafts for select');
    expect((await rule('owner-column-rewritable', sql)).map((x) => x.message)).toEqual([expect.stringMatching(/^policy team_edits lets authenticated update/)]);
  });

  it('not when the column is out of reach or guarded, the team already gets it, or the UPDATE path is the owner\'s alone', async () => {
    const keep = `create function public.keep_creator() returns trigger language plpgsql as $$ begin new.created_by := old.created_by; return new; end $$;
      create trigger keep_creator before update on public.docs for each row execute function public.keep_creator();`;
    for (const [why, sql] of [
      ['a column grant without it', schema('revoke update on public.docs from authenticated; grant update (title) on public.docs to authenticated;')],
      ['a trigger that keeps it', schema(keep)],
      ['a trigger on UPDATE OF it', schema(keep.replace('before update on', 'before update of created_by on'))],
      ['a restrictive policy that ties it to the caller', schema('create policy only_creators on public.docs as restrictive for update to authenticated using (created_by = (select auth.uid()));')],
      ['an UPDATE path that asks for the owner too', schema().replace("for update to authenticated\n      using (team_id in", "for update to authenticated\n      using (created_by = (select auth.uid()) and team_id in")],
      ['no grant by it', schema().replace(/create policy creators_drafts[^;]*;/, '')],
    ] as const) {
      expect(await rule('owner-column-rewritable', sql), why).toEqual([]);
    }
    // The team deletes any doc already: an owner-only DELETE gives a member nothing more (the drafts look-up still does).
    const f = await rule('owner-column-rewritable', schema('create policy creator_deletes on public.docs for delete to authenticated using (created_by = (select auth.uid())); create policy team_deletes on public.docs for delete to authenticated using (team_id in (select m.team_id from public.team_members m where m.user_id = (select auth.uid())));'));
    expect(f.map((x) => x.message)).toEqual([expect.stringContaining('set created_by (which policy creators_drafts on public.drafts grants by)')]);
  });

  // Seen on hlieb-decodifi/the-suite: reviews' UPDATE policy is `auth.uid() = client_id and created_at > now() -
  // make_interval(days => get_admin_config(…)::integer)`; the helper's result made created_at a tie to the caller, and the
  // branch was read as a team path to rows the client does not own, though it asks for client_id = auth.uid().
  it('not for a branch that also asks for an owner column, whatever else it compares with a helper; on Postgres the client reaches only their own review and sees nothing new', async () => {
    const [client, other, pro] = ['00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000c2', '00000000-0000-4000-8000-0000000000c3'];
    const reviews = (window: string) => `create table public.reviews (id int primary key, client_id uuid not null, professional_id uuid not null, created_at timestamptz not null default now(), body text);
      create function public.edit_window_days() returns text language plpgsql stable security definer set search_path = '' as $$ begin return '7'; end $$;
      alter table public.reviews enable row level security;
      grant select, update on public.reviews to authenticated;
      create policy client_edits on public.reviews for update to authenticated using (client_id = (select auth.uid())${window});
      create policy client_reads on public.reviews for select to authenticated using (client_id = (select auth.uid()));
      create policy pro_reads on public.reviews for select to authenticated using (professional_id = (select auth.uid()));
      insert into public.reviews values (1, '${client}', '${pro}', now(), 'mine'), (2, '${other}', '${pro}', now(), 'theirs');`;
    const windowed = reviews(" and created_at > now() - make_interval(days => public.edit_window_days()::integer)");
    expect(await rule('owner-column-rewritable', windowed)).toEqual([]);
    expect(await rule('owner-column-rewritable', reviews(''))).toEqual([]);
    // The team path it was taken for is still one: a branch that ties the row through the helper alone.
    expect((await rule('owner-column-rewritable', windowed.replace('using (client_id = (select auth.uid()) and created_at', 'using (created_at'))).map((f) => f.object)).toEqual(['client_edits on public.reviews']);
    const seen = await asRequest(windowed, 'authenticated', client, async (tx) => {
      const before = (await tx.unsafe('select id from public.reviews order by id')).map((r) => r['id']);
      const updated = (await tx.unsafe(`update public.reviews set professional_id = auth.uid() returning id`)).map((r) => r['id']);
      return { before, updated, after: (await tx.unsafe('select id from public.reviews order by id')).map((r) => r['id']) };
    });
    expect(seen).toEqual({ before: [1], updated: [1], after: [1] });
  });

  it('on Postgres a member sets created_by to themselves and reads the creator\'s drafts; with the column grant they cannot', async () => {
    const ann = '00000000-0000-4000-8000-00000000000a';
    const bob = '00000000-0000-4000-8000-00000000000b';
    const rows = `insert into public.team_members values (1, '${ann}'), (1, '${bob}');
      insert into public.docs values (1, 1, '${bob}', 'plan'); insert into public.drafts values (1, 1, 'bob''s draft');`;
    const draftsSeen = (sql: string) =>
      asRequest(sql + rows, 'authenticated', ann, async (tx) => {
        const before = (await tx.unsafe('select id from public.drafts')).length;
        await tx.unsafe(`do $$ begin update public.docs set created_by = '${ann}' where id = 1; exception when insufficient_privilege then null; end $$`);
        return [before, (await tx.unsafe('select id from public.drafts')).length];
      });
    expect(await draftsSeen(schema())).toEqual([0, 1]);
    expect(await draftsSeen(schema('revoke update on public.docs from authenticated; grant update (title) on public.docs to authenticated;'))).toEqual([0, 0]);
  });
});

describe("policy-trusts-writable-column: the caller's own row, followed where it is read and how it is written", () => {
  const profiles = `create table public.profiles (id uuid primary key, display_name text, is_admin boolean not null default false);
    alter table public.profiles enable row level security;
    create policy own_profile on public.profiles for all to authenticated using (id = (select auth.uid())) with check (id = (select auth.uid()));
    grant select, insert, update on public.profiles to authenticated;
    create table public.secrets (id int primary key, v text);
    alter table public.secrets enable row level security;
    grant select on public.secrets to authenticated;`;
  const helper = (body: string, config = "set search_path = ''") => `create function public.is_admin() returns boolean language sql stable security definer ${config} ${body};
    create policy admins on public.secrets for select to authenticated using ((select public.is_admin()));`;

  it("follows a helper the policy hands the caller's id (has_role(auth.uid(), 'admin')), by argument name or number", async () => {
    const schema = `create table public.ranks (user_id uuid not null references auth.users, rank text not null, unique (user_id, rank));
      alter table public.ranks enable row level security;
      create policy read_own_ranks on public.ranks for select to authenticated using (user_id = (select auth.uid()));
      create policy claim_rank on public.ranks for insert to authenticated with check (user_id = (select auth.uid()));
      create table public.manifests (id int primary key, body text);
      alter table public.manifests enable row level security;
      grant select, insert on public.ranks, public.manifests to authenticated;`;
    for (const fn of [
      `create function public.holds_rank(_user_id uuid, _rank text) returns boolean language sql stable security definer set search_path = '' as $$ select exists (select 1 from public.ranks where user_id = _user_id and rank = _rank) $$;`,
      `create function public.holds_rank(uuid, text) returns boolean language sql stable security definer set search_path = '' as $$ select exists (select 1 from public.ranks r where r.user_id = $1 and r.rank = $2) $$;`,
    ]) {
      const f = await rule('policy-trusts-writable-column', `${schema} ${fn}
        create policy captains_read on public.manifests for select to authenticated using (public.holds_rank((select auth.uid()), 'captain'));`);
      expect(f.map((x) => x.message)).toEqual([expect.stringContaining('public.ranks.rank (read by public.holds_rank(); authenticated: INSERT, policy claim_rank)')]);
    }
    // Handed a column of the row instead, the helper looks up someone else's ranks: not the caller's own row.
    expect(
      await rule('policy-trusts-writable-column', `${schema} create function public.holds_rank(_user_id uuid, _rank text) returns boolean language sql stable as $$ select exists (select 1 from public.ranks where user_id = _user_id and rank = _rank) $$;
        alter table public.manifests add column author uuid;
        create policy authors_captains on public.manifests for select to authenticated using (public.holds_rank(author, 'captain'));`),
    ).toEqual([]);
  });

  it('permissive INSERT policies are OR-ed: the one that leaves the column free opens it; a NOT EXISTS naming it pins nothing', async () => {
    const schema = `create table public.crews (ship_id int not null, user_id uuid not null, rank text not null default 'deckhand', primary key (ship_id, user_id));
      alter table public.crews enable row level security;
      create function public.on_ship(s int) returns boolean language sql stable security definer set search_path = '' as $$ select exists (select 1 from public.crews c where c.ship_id = s and c.user_id = auth.uid()) $$;
      create policy own_crew_rows on public.crews for select to authenticated using (user_id = (select auth.uid()));
      create policy captains_add on public.crews for insert to authenticated with check (public.on_ship(ship_id));
      create table public.cargo (id int primary key, ship_id int not null);
      alter table public.cargo enable row level security;
      create policy ship_cargo on public.cargo for select to authenticated using (ship_id in (select c.ship_id from public.crews c where c.user_id = (select auth.uid())));
      grant select, insert on public.crews, public.cargo to authenticated;`;
    expect(await rule('policy-trusts-writable-column', schema)).toEqual([]);
    const f = await rule(
      'policy-trusts-writable-column',
      `${schema} create policy found_ship on public.crews for insert to authenticated
        with check (user_id = (select auth.uid()) and not exists (select 1 from public.crews c2 where c2.ship_id = crews.ship_id and c2.user_id = (select auth.uid())));`,
    );
    // A self-founded crew row on any ship passes on_ship() too, so captains_add opens every ship.
    expect(f.map((x) => x.object).sort()).toEqual(['captains_add on public.crews', 'ship_cargo on public.cargo']);
    for (const x of f) expect(x.message).toContain('public.crews.ship_id (');
    expect(f.find((x) => x.object.startsWith('ship_cargo'))!.message).toContain('public.crews.ship_id (authenticated: INSERT, policy found_ship)');
  });

  it('anon is not named when every way to write the looked-up row needs a user', async () => {
    const f = await rule(
      'policy-trusts-writable-column',
      `create table public.berths (harbour_id int, user_id uuid, primary key (harbour_id, user_id));
      create table public.boats (id int primary key, harbour_id int);
      alter table public.berths enable row level security;
      alter table public.boats enable row level security;
      create policy claim_berth on public.berths for insert with check (user_id = auth.uid());
      create policy harbour_boats on public.boats for select using (harbour_id in (select b.harbour_id from public.berths b where b.user_id = auth.uid()));
      grant select, insert on public.berths, public.boats to anon, authenticated;`,
    );
    expect(f.map((x) => x.message)).toEqual([expect.stringContaining('public.berths.harbour_id (authenticated: INSERT, policy claim_berth)')]);
    expect(f[0]!.message).not.toContain('anon:');
  });

  it('follows a LANGUAGE sql helper the policy calls, in either body form and with its own search_path', async () => {
    for (const sql of [
      helper('as $$ select coalesce((select p.is_admin from public.profiles p where p.id = auth.uid()), false) $$'),
      helper('return (select p.is_admin from public.profiles p where p.id = auth.uid())'),
      helper('as $$ select is_admin from profiles where id = auth.uid() $$', 'set search_path = public'),
    ]) {
      const f = await rule('policy-trusts-writable-column', profiles + sql);
      expect(f.map((x) => x.message), sql).toEqual([expect.stringContaining('public.profiles.is_admin (read by public.is_admin(); authenticated: UPDATE, policy own_profile)')]);
    }
  });

  it('a grant through a group role counts; a column grant that leaves the flag out, or a trigger on it, does not', async () => {
    const lookup = `create policy admins on public.secrets for select to authenticated
      using (exists (select 1 from public.profiles p where p.id = (select auth.uid()) and p.is_admin));`;
    const viaGroup = profiles.replace('grant select, insert, update on public.profiles to authenticated;', 'grant select, update on public.profiles to rg_lint_editors;');
    expect(await rule('policy-trusts-writable-column', viaGroup + lookup)).toHaveLength(1);
    const columnGrant = profiles.replace('grant select, insert, update on public.profiles to authenticated;', 'grant select on public.profiles to authenticated; grant update (display_name) on public.profiles to authenticated;');
    expect(await rule('policy-trusts-writable-column', columnGrant + lookup)).toEqual([]);
    const trigger = `create function public.keep_flag() returns trigger language plpgsql as $$ begin new.is_admin := old.is_admin; return new; end $$;
      create trigger keep_flag before update of is_admin on public.profiles for each row execute function public.keep_flag();`;
    // The primary key on id (what ties the row to the caller) leaves no second row to insert, once a sign-up trigger made the first.
    const signUp = `create function public.handle_new_user() returns trigger language plpgsql security definer set search_path = '' as $$ begin insert into public.profiles (id) values (new.id); return new; end $$;
      create trigger on_auth_user_created after insert on auth.users for each row execute function public.handle_new_user();`;
    expect(await rule('policy-trusts-writable-column', profiles + lookup + trigger + signUp)).toEqual([]);
  });

  // Seen on y4my4my4m/harmony db_schema/migrations (profiles_insert_own; a BEFORE UPDATE trigger guards is_admin,
  // no trigger on auth.users makes the profile): a new user inserted their own profile with is_admin = true.
  it("a unique key on the caller's id guards inserts only when a sign-up trigger made the row and the caller cannot delete it; on Postgres the first insert sets the flag", async () => {
    const lookup = `create policy admins on public.secrets for select to authenticated
      using (exists (select 1 from public.profiles p where p.id = (select auth.uid()) and p.is_admin));
      create function public.keep_flag() returns trigger language plpgsql as $$ begin new.is_admin := old.is_admin; return new; end $$;
      create trigger keep_flag before update of is_admin on public.profiles for each row execute function public.keep_flag();`;
    const signUp = `create function public.handle_new_user() returns trigger language plpgsql security definer set search_path = '' as $$
      begin
        insert into public.profiles (id, display_name) values (new.id, new.email);
        return new;
      end $$;
      create trigger on_auth_user_created after insert on auth.users for each row execute function public.handle_new_user();`;
    const insertPath = [expect.stringContaining('public.profiles.is_admin (authenticated: INSERT, policy own_profile)')];
    // No sign-up trigger: the user's profile is the one they insert.
    expect((await rule('policy-trusts-writable-column', profiles + lookup)).map((f) => f.message)).toEqual(insertPath);
    // A sign-up trigger, but the caller may delete their profile and insert it again.
    expect((await rule('policy-trusts-writable-column', `${profiles + lookup + signUp} grant delete on public.profiles to authenticated;`)).map((f) => f.message)).toEqual(insertPath);
    // A trigger that is off, or inserts elsewhere, makes no profile.
    expect((await rule('policy-trusts-writable-column', `${profiles + lookup + signUp} alter table auth.users disable trigger on_auth_user_created;`)).map((f) => f.message)).toEqual(insertPath);
    expect((await rule('policy-trusts-writable-column', profiles + lookup + signUp.replace('insert into public.profiles (id, display_name)', 'insert into public.secrets (id, v)').replace('(new.id, new.email)', '(1, new.email)'))).map((f) => f.message)).toEqual(insertPath);
    expect(await rule('policy-trusts-writable-column', profiles + lookup + signUp)).toEqual([]);

    const user = '00000000-0000-4000-8000-00000000000a';
    const secretsSeen = (sql: string, attack: string) =>
      asRequest(`${sql} insert into public.secrets values (7, 's'); insert into auth.users (id, email) values ('${user}', 'a@x.test');`, 'authenticated', user, async (tx) => {
        await tx.unsafe(`do $$ begin ${attack} exception when unique_violation or insufficient_privilege then null; end $$`);
        return (await tx.unsafe('select id from public.secrets')).length;
      });
    const insertAdmin = `insert into public.profiles (id, is_admin) values ('${user}', true);`;
    const updateAdmin = `update public.profiles set is_admin = true where id = '${user}';`;
    expect(await secretsSeen(profiles + lookup, insertAdmin)).toBe(1);
    expect(await secretsSeen(profiles + lookup + signUp, updateAdmin + insertAdmin)).toBe(0);
    expect(await secretsSeen(`${profiles + lookup + signUp} grant delete on public.profiles to authenticated;`, `delete from public.profiles where id = '${user}'; ${insertAdmin}`)).toBe(1);
  });

  // realworld5's reproduction: profiles.invite_code is unique, and the user writes their own. The first to write a code
  // holds it, so uniqueness keeps no one out when the code is compared with anything but the row the policy decides on.
  it("a unique column the caller writes is trusted unless compared with a value no row may hold yet (a constant, a table no foreign key ties to it); on Postgres an unused invite code is the user's to claim", async () => {
    const base = `create table public.workouts (id int primary key, user_id uuid not null, title text);
      alter table public.workouts enable row level security;
      create policy own_workouts on public.workouts for all to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
      create table public.sets (id int primary key, workout_id int not null references public.workouts, reps int);
      alter table public.sets enable row level security;
      create table public.invites (code text primary key);
      alter table public.invites enable row level security;
      create policy read_invites on public.invites for select to authenticated using (true);
      create table public.members (id uuid primary key, invite_code text unique);
      alter table public.members enable row level security;
      create policy own_member on public.members for all to authenticated using (id = (select auth.uid())) with check (id = (select auth.uid()));
      create table public.lounge (id int primary key, note text);
      alter table public.lounge enable row level security;
      grant select, insert, update on public.workouts, public.members to authenticated;
      grant select on public.sets, public.lounge, public.invites to authenticated;
      create function public.owns_workout(_w int) returns boolean language sql stable security definer set search_path = '' as $$ select exists (select 1 from public.workouts w where w.id = _w and w.user_id = auth.uid()) $$;
      create function public.holds_code(_code text) returns boolean language sql stable security definer set search_path = '' as $$ select exists (select 1 from public.members m where m.id = auth.uid() and m.invite_code = _code) $$;`;
    const keyed = [
      `create policy own_sets on public.sets for select to authenticated using (exists (select 1 from public.workouts w where w.id = sets.workout_id and w.user_id = (select auth.uid())));`,
      `create policy own_sets on public.sets for select to authenticated using (workout_id in (select w.id from public.workouts w where w.user_id = (select auth.uid())));`,
      `create policy own_sets on public.sets for select to authenticated using (public.owns_workout(workout_id));`,
    ];
    for (const policy of keyed) expect(await rule('policy-trusts-writable-column', base + policy), policy).toEqual([]);
    const unkeyed = [
      `create policy vip on public.lounge for select to authenticated using (exists (select 1 from public.members m where m.id = (select auth.uid()) and m.invite_code in (select code from public.invites)));`,
      `create policy vip on public.lounge for select to authenticated using (exists (select 1 from public.members m where m.id = (select auth.uid()) and m.invite_code = 'VIP-2025'));`,
      `create policy vip on public.lounge for select to authenticated using (public.holds_code('VIP-2025'));`,
      // Handed a column of the row, but the row is the lounge's, not a member's: the helper's key stands in for it.
      `create policy own_sets on public.sets for select to authenticated using (public.owns_workout(workout_id) or public.owns_workout(42));`,
    ];
    for (const policy of unkeyed) {
      const f = await rule('policy-trusts-writable-column', base + policy);
      expect(f.map((x) => x.message), policy).toEqual([expect.stringMatching(/public\.(members\.invite_code|workouts\.id) \(.*authenticated: (INSERT|UPDATE), policy own_(member|workouts)/)]);
    }

    const ann = '00000000-0000-4000-8000-00000000000a';
    const bob = '00000000-0000-4000-8000-00000000000b';
    const rows = `insert into auth.users (id, email) values ('${ann}', 'ann@x.test'), ('${bob}', 'bob@x.test');
      insert into public.workouts values (1, '${bob}', 'bob''s'); insert into public.sets values (10, 1, 5);
      insert into public.invites values ('VIP-2025'); insert into public.lounge values (1, 'members only');
      insert into public.members values ('${ann}', null);`;
    const seen = (policy: string, attack: string, table: string) =>
      asRequest(base + policy + rows, 'authenticated', ann, async (tx) => {
        await tx.unsafe(`do $$ begin ${attack} exception when unique_violation then null; end $$`);
        return (await tx.unsafe(`select id from public.${table}`)).length;
      });
    // Ann cannot give a workout of hers the id of Bob's: his sets stay his.
    expect(await seen(keyed[0]!, `insert into public.workouts values (1, '${ann}', 'mine');`, 'sets')).toBe(0);
    // She claims the unused code, and the lounge is hers.
    expect(await seen(unkeyed[0]!, `update public.members set invite_code = 'VIP-2025' where id = '${ann}';`, 'lounge')).toBe(1);
  });

  // Seen on matiasbattocchia/open-bsp-api supabase/schemas (get_authorized_orgs() reads agents where user_id = auth.uid();
  // an api-key branch lets anon write agents rows, never one anon's own lookup finds).
  it('anon is not named when the looked-up row is the user\'s own (user_id = auth.uid()), even where anon can write the table; on Postgres its write gets it nothing', async () => {
    const sql = `create table public.seats (org int not null, user_id uuid, seat text not null);
      alter table public.seats enable row level security;
      create policy kiosk_adds on public.seats for insert to anon, authenticated with check (seat <> '');
      create table public.ledgers (id int primary key, org int not null);
      alter table public.ledgers enable row level security;
      create policy org_ledgers on public.ledgers for select to anon, authenticated
        using (org in (select s.org from public.seats s where s.user_id = (select auth.uid())));
      grant select, insert on public.seats, public.ledgers to anon, authenticated;`;
    const f = await rule('policy-trusts-writable-column', sql);
    expect(f.map((x) => x.message)).toEqual([expect.stringContaining('public.seats.org (authenticated: INSERT, policy kiosk_adds)')]);
    expect(f[0]!.message).not.toContain('anon:');
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${sql} insert into public.ledgers values (1, 7);`).simple());
      const seen = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`select set_config('role', 'anon', true), set_config('request.jwt.claims', '{"role":"anon"}', true)`);
          await tx.unsafe(`insert into public.seats values (7, null, 'owner')`);
          return tx.unsafe('select id from public.ledgers');
        }),
      );
      expect(seen).toHaveLength(0);
    } finally {
      await db.drop();
    }
  });

  // realworld6 on gonasi (course_editors: a BEFORE trigger refuses an editor whose organisation is not the course's).
  it('a BEFORE row trigger that raises while reading the column, or sets it, guards it; one that only notes it does not; on Postgres the raising one refuses the planted row', async () => {
    const sql = (body: string) => `create table public.invites (org int not null, email text not null);
      create table public.seats (org int not null, user_id uuid not null, seat text not null);
      alter table public.seats enable row level security;
      create policy join_seat on public.seats for insert to authenticated with check (user_id = (select auth.uid()));
      create policy own_seats on public.seats for select to authenticated using (user_id = (select auth.uid()));
      create table public.ledgers (id int primary key, org int not null);
      alter table public.ledgers enable row level security;
      create policy org_ledgers on public.ledgers for select to authenticated using (org in (select s.org from public.seats s where s.user_id = (select auth.uid())));
      grant select, insert on public.seats to authenticated; grant select on public.ledgers to authenticated;
      create function public.check_seat() returns trigger language plpgsql security definer set search_path = '' as $$ begin ${body} return new; end $$;
      create trigger check_seat before insert on public.seats for each row execute function public.check_seat();`;
    const raises = `if not exists (select 1 from public.invites i where i.org = new.org and i.email = auth.email()) then raise exception 'not invited'; end if;`;
    expect(await rule('policy-trusts-writable-column', sql(raises))).toEqual([]);
    expect(await rule('policy-trusts-writable-column', sql('new.org := 1;'))).toEqual([]);
    for (const body of [raises.replace('raise exception', 'raise notice'), "new.seat := coalesce(new.seat, 'x');"]) {
      expect((await rule('policy-trusts-writable-column', sql(body))).map((f) => f.message), body).toEqual([expect.stringContaining('public.seats.org (authenticated: INSERT, policy join_seat)')]);
    }
    const user = '00000000-0000-4000-8000-00000000000a';
    const plant = (body: string) =>
      asRequest(`${sql(body)} insert into public.ledgers values (1, 7);`, 'authenticated', user, async (tx) => {
        await tx.unsafe(`do $$ begin insert into public.seats values (7, '${user}', 'x'); exception when raise_exception then null; end $$`);
        return (await tx.unsafe('select id from public.ledgers')).length;
      });
    expect(await plant(raises)).toBe(0);
    expect(await plant(raises.replace('raise exception', 'raise notice'))).toBe(1);
  });

  // Reduced from supabase/supabase examples/supa-builder/supabase/migrations/20260131000006_fix_rls_recursion_final.sql:
  // roles are readable by every user, and "no direct writes" is said with using (false) / with check (false).
  it('a permissive policy that is constantly false (using (false), with check (false)) opens no write path; on Postgres it admits nothing', async () => {
    const sql = (update: string, insert: string) => `create table public.org_roles (id int primary key, user_id uuid not null, org text not null, role text not null);
      alter table public.org_roles enable row level security;
      grant select, insert, update on public.org_roles to authenticated;
      create policy read_roles on public.org_roles for select to authenticated using (true);
      create policy no_updates on public.org_roles for update to authenticated using (${update});
      create policy no_inserts on public.org_roles for insert to authenticated with check (${insert});
      create table public.deployments (id int primary key, org text not null);
      alter table public.deployments enable row level security;
      grant select on public.deployments to authenticated;
      create policy org_admins on public.deployments for select to authenticated
        using (exists (select 1 from public.org_roles r where r.user_id = (select auth.uid()) and r.org = deployments.org and r.role = 'admin'));`;
    for (const [update, insert] of [['false', 'false'], ['false and user_id = auth.uid()', 'null::boolean'], ['(1 = 1) and false', 'false or null']] as const) {
      expect(await rule('policy-trusts-writable-column', sql(update, insert)), `${update} / ${insert}`).toEqual([]);
    }
    // An UPDATE policy that lets the caller reach their own row opens the column again, and the INSERT one a row of their own.
    expect((await rule('policy-trusts-writable-column', sql('user_id = (select auth.uid())', 'false'))).map((f) => f.message)).toEqual([
      expect.stringContaining('public.org_roles.org (authenticated: UPDATE, policy no_updates) and public.org_roles.role (authenticated: UPDATE, policy no_updates)'),
    ]);
    expect((await rule('policy-trusts-writable-column', sql('false', 'user_id = (select auth.uid())'))).map((f) => f.message)).toEqual([expect.stringContaining('(authenticated: INSERT, policy no_inserts)')]);
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${sql('false', 'false')} insert into public.org_roles values (1, '00000000-0000-4000-8000-000000000002', 'acme', 'builder');`).simple());
      const as = (q: string) =>
        withSql(db.url, (s) =>
          s.begin(async (tx) => {
            await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated"}', true)`);
            return tx.unsafe(q);
          }),
        );
      expect(await as(`update public.org_roles set role = 'admin' where user_id = auth.uid() returning id`)).toHaveLength(0);
      await expect(as(`insert into public.org_roles values (2, auth.uid(), 'acme', 'admin')`)).rejects.toThrow(/row-level security/);
    } finally {
      await db.drop();
    }
  });

  it('a table without RLS is writable on every row; a role that cannot reach the guarded table is not asked', async () => {
    const open = `create table public.roles_open (user_id uuid, role text); grant select, update on public.roles_open to authenticated;
      create table public.docs (id int); alter table public.docs enable row level security; grant select on public.docs to authenticated;
      create policy editors on public.docs for select to authenticated
        using ((select r.role from public.roles_open r where r.user_id = (select auth.uid())) = 'editor');`;
    const f = await rule('policy-trusts-writable-column', open);
    expect(f.map((x) => x.message)).toEqual([expect.stringContaining('public.roles_open.role (authenticated: UPDATE (public.roles_open has no row-level security))')]);
    expect(await rule('policy-trusts-writable-column', open.replace('grant select on public.docs to authenticated;', ''))).toEqual([]);
  });
});

describe('policy-trusts-writable-column: a gate helper reading a row of another table the policy row points to (gatesub)', () => {
  // workbench's columns and tarrasque's character permissions: the helper runs inside an EXISTS or IN over boards, or is
  // handed a scalar sub-select of it. Members join any project as viewers (a self-join whose role is 'viewer'), and only
  // admins change roles, so the caller's membership gives no way in; what is left is whether the board row can be moved.
  const A = '00000000-0000-4000-8000-000000000001';
  const B = '00000000-0000-4000-8000-000000000002';
  const schema = (boards = 'id int primary key, project_id int not null references public.projects', boardId = 'board_id int not null references public.boards') => `
    create table public.projects (id int primary key);
    create table public.members (project_id int not null references public.projects, user_id uuid not null, role text not null, primary key (project_id, user_id));
    create table public.boards (${boards});
    create table public.cols (id int primary key, ${boardId}, name text);
    create function public.can_edit(p int) returns boolean language plpgsql stable security definer set search_path = '' as $$
      begin return exists (select 1 from public.members where project_id = p and user_id = auth.uid() and role in ('admin', 'member')); end $$;
    create function public.is_admin(p int) returns boolean language plpgsql stable security definer set search_path = '' as $$
      begin return exists (select 1 from public.members where project_id = p and user_id = auth.uid() and role = 'admin'); end $$;
    alter table public.members enable row level security; alter table public.boards enable row level security; alter table public.cols enable row level security;
    grant select, insert, update, delete on public.members, public.boards, public.cols to authenticated;
    create policy see on public.members for select to authenticated using (user_id = auth.uid());
    create policy join_as_viewer on public.members for insert to authenticated with check (user_id = auth.uid() and role = 'viewer');
    create policy admins on public.members for update to authenticated using (public.is_admin(project_id)) with check (public.is_admin(project_id));
    create policy see on public.boards for select to authenticated using (true);
    create policy add on public.boards for insert to authenticated with check (public.can_edit(project_id));
    create policy edit on public.boards for update to authenticated using (public.can_edit(project_id)) with check (public.can_edit(project_id));
    create policy see on public.cols for select to authenticated using (true);`;
  const gate = (using: string) => `create policy edit on public.cols for update to authenticated using (${using});`;
  const exists = 'exists (select 1 from public.boards b where b.id = cols.board_id and public.can_edit(b.project_id))';
  const sound = {
    exists,
    in: 'board_id in (select b.id from public.boards b where public.can_edit(b.project_id))',
    argument: 'public.can_edit((select b.project_id from public.boards b where b.id = cols.board_id))',
  };
  // a admins project 1 (board 10, column 100); b admins project 2 (board 20) and joins project 1 as a viewer.
  const seed = `insert into public.projects values (1), (2); insert into public.members values (1, '${A}', 'admin'), (2, '${B}', 'admin'), (1, '${B}', 'viewer');
    insert into public.boards values (10, 1), (20, 2); insert into public.cols values (100, 10, 'todo'), (200, 20, 'mine');`;
  /** b's request: each statement in turn, inside one transaction; the rows the last one returned, or the error it raised. */
  async function asB(sql: string, steps: string[]): Promise<number | string> {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(sql + seed).simple());
      return await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"${B}","role":"authenticated"}', true)`);
          let n = 0;
          for (const q of steps) n = (await tx.unsafe(q)).length;
          return n;
        }),
      ).catch((e: Error) => e.message);
    } finally {
      await db.drop();
    }
  }
  const takeColumn = 'update public.cols set name = $$taken$$ where id = 100 returning id';

  it('EXISTS, IN and a scalar argument over a board its unique id ties to the column row (a foreign key): not reported, and on Postgres the viewer edits nothing', async () => {
    for (const [form, using] of Object.entries(sound)) {
      expect(await rule('policy-trusts-writable-column', schema() + gate(using)), form).toEqual([]);
      // b edits their own project's column, not a's, whatever they do with their membership or boards.
      expect(await asB(schema() + gate(using), ['update public.cols set name = $$ok$$ where id = 200 returning id']), form).toBe(1);
      expect(await asB(schema() + gate(using), [takeColumn]), form).toBe(0);
      expect(await asB(schema() + gate(using), [`update public.members set role = 'admin' where user_id = auth.uid() returning 1`, takeColumn]), form).toBe(0);
      expect(await asB(schema() + gate(using), [`insert into public.members values (1, auth.uid(), 'member')`]), form).toMatch(/row-level security|duplicate key/);
      expect(await asB(schema() + gate(using), ['update public.boards set project_id = 2 where id = 10 returning id', takeColumn]), form).toBe(0);
      expect(await asB(schema() + gate(using), ['insert into public.boards values (10, 2)']), form).toMatch(/duplicate key/);
    }
  });

  it('the look-alikes that are takeovers stay reported, each proven on Postgres', async () => {
    const cases: Array<[string, string, string[]]> = [
      // Boards with no unique id and columns with no foreign key: b adds a board with a's board id in their own project.
      ['a table the caller inserts into, no unique key', schema('id int, project_id int not null references public.projects', 'board_id int not null') + gate(exists), ['insert into public.boards values (10, 2)', takeColumn]],
      // A board UPDATE policy open to every row: b moves a's board into their own project.
      ['the argument from a column the caller writes', schema() + gate(sound.argument) + 'create policy anyone on public.boards for update to authenticated using (true) with check (true);', ['update public.boards set project_id = 2 where id = 10 returning id', takeColumn]],
      ['NOT EXISTS', schema() + gate(`not ${exists}`), [takeColumn]],
      ['the helper under a CASE', schema() + gate('exists (select 1 from public.boards b where b.id = cols.board_id and case when public.can_edit(b.project_id) then false else true end)'), [takeColumn]],
    ];
    for (const [name, sql, steps] of cases) {
      expect(await rule('policy-trusts-writable-column', sql), name).toHaveLength(1);
      expect(await asB(sql, steps), name).toBe(1);
    }
    expect((await rule('policy-trusts-writable-column', cases[1]![1])).map((f) => f.message)).toEqual([
      'policy edit on public.cols decides on public.boards.project_id of the row board_id points to (read by public.can_edit(); authenticated: UPDATE, policy anyone), which the caller can change on a row that does not pass yet: a user can move that row under a value they pass and pass the policy on the rows pointing to it',
    ]);
  });
});

describe('policy-to-public: whether a request without a user can pass the policy', () => {
  it('says so for a public-read branch; says anon is only evaluated for a caller-bound policy, a LANGUAGE sql helper included', async () => {
    const f = await rule(
      'policy-to-public',
      `create table public.logbooks (id int primary key, ship_id int, keeper_id uuid, visibility text);
      create table public.crew (ship_id int, user_id uuid);
      alter table public.logbooks enable row level security;
      create function public.my_ships() returns setof int language sql stable as 'select c.ship_id from public.crew c where c.user_id = (select auth.uid())';
      create policy open_read on public.logbooks for select using (visibility = 'public' or keeper_id = (select auth.uid()));
      create policy crew_read on public.logbooks for select using (ship_id in (select public.my_ships()));
      create policy keeper_write on public.logbooks for update using (keeper_id = (select auth.uid())) with check (keeper_id = (select auth.uid()));
      create policy backend_insert on public.logbooks for insert with check (auth.role() = 'service_role');
      create function public.keeps(k uuid) returns boolean language sql stable as 'select k = (select auth.uid())';
      create policy keeper_delete on public.logbooks for delete using ((select public.keeps(keeper_id)));`,
    );
    expect(Object.fromEntries(f.map((x) => [x.object, x.message.replace(/^.*anon included, /, '')]))).toEqual({
      'open_read on public.logbooks': 'and a request without a user can pass it',
      'crew_read on public.logbooks': 'and is evaluated for every anon request although a request without a user cannot pass it',
      // The helper wrapped in a sub-select so it runs once per statement is the same test.
      'keeper_delete on public.logbooks': 'and is evaluated for every anon request although a request without a user cannot pass it',
      'keeper_write on public.logbooks': 'and is evaluated for every anon request although a request without a user cannot pass it',
      'backend_insert on public.logbooks': 'and is evaluated for every anon request although a request without a user cannot pass it',
    });
  });

  // Seen on QuivrHQ/quivr ("USERS" on public.users: for all to public, no USING, no WITH CHECK): said "a request without a
  // user can pass it", though Postgres lets no row through such a policy for any role.
  it('a policy with neither USING nor WITH CHECK lets nothing through, for anon or a user: not reported', async () => {
    const sql = `create table public.members (id uuid primary key, email text);
      alter table public.members enable row level security;
      grant all on public.members to anon, authenticated;
      insert into public.members values ('00000000-0000-4000-8000-00000000000b', 'b@x.test');
      create policy everyone on public.members for all;`;
    for (const [role, sub] of [['anon', undefined], ['authenticated', '00000000-0000-4000-8000-00000000000b']] as const) {
      expect(await asRequest(sql, role, sub, async (tx) => (await tx.unsafe('select id from public.members')).length)).toBe(0);
      expect(await orMessage(asRequest(sql, role, sub, async (tx) => (await tx.unsafe(`insert into public.members values (gen_random_uuid(), 'x')`)).count))).toBe(
        'new row violates row-level security policy for table "members"',
      );
    }
    expect(await rule('policy-to-public', sql)).toEqual([]);
  });

  // Seen on GerevSec/llmwiki api/db_migrations (kb_invites_select: lower(email) = lower(claims ->> 'email')): said
  // "a request without a user can pass it", which anon cannot.
  it("a strict built-in around the caller's email (lower(), btrim()) is still NULL without a user; coalesce() is not; on Postgres anon sees no invite", async () => {
    const invites = `create table public.invites (id int primary key, email text not null);
      alter table public.invites enable row level security;
      grant select on public.invites to anon, authenticated;`;
    const claim = "((current_setting('request.jwt.claims', true))::jsonb ->> 'email')";
    const policies = {
      by_lower: `lower(email) = lower(${claim})`,
      by_trim: `btrim(lower(email)) = trim(lower(${claim}))`,
      by_auth_email: 'upper(email) = upper(auth.email())',
      in_list: `lower(${claim}) in ('a@x.test', 'b@x.test')`,
      not_null: `lower(${claim}) is not null`,
      by_coalesce: `coalesce(lower(${claim}), '') = lower(email)`,
    };
    const f = await rule('policy-to-public', invites + Object.entries(policies).map(([name, using]) => `create policy ${name} on public.invites for select using (${using});`).join('\n'));
    const passes = 'and a request without a user can pass it';
    const cannot = 'and is evaluated for every anon request although a request without a user cannot pass it';
    expect(Object.fromEntries(f.map((x) => [x.object.replace(' on public.invites', ''), x.message.replace(/^.*anon included, /, '')]))).toEqual({
      by_lower: cannot,
      by_trim: cannot,
      by_auth_email: cannot,
      in_list: cannot,
      not_null: cannot,
      by_coalesce: passes,
    });
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${invites} insert into public.invites values (1, ''), (2, 'a@x.test');`).simple());
      const seenBy = (using: string, claims: string) =>
        rolledBackRequest(db.url, `create policy p on public.invites for select using (${using})`, 'anon', JSON.parse(claims) as Record<string, unknown>, async (tx) => (await tx.unsafe('select id from public.invites')).length);
      for (const name of ['by_lower', 'by_trim', 'by_auth_email', 'in_list', 'not_null'] as const) {
        // PostgREST sets the claims of a request without a token to {"role": "anon"}; Supabase's anon key adds iss, ref, iat, exp.
        expect(await seenBy(policies[name], '{"role":"anon"}'), name).toBe(0);
        expect(await seenBy(policies[name], '{"role":"anon","iss":"supabase","ref":"x","iat":1,"exp":2}'), name).toBe(0);
      }
      // coalesce() turns the missing claim into '', which the invite with an empty email matches.
      expect(await seenBy(policies.by_coalesce, '{"role":"anon"}')).toBe(1);
    } finally {
      await db.drop();
    }
  });

  // Seen on readest (files_update: using (auth.uid() = user_id) with check (deleted_at is null or …), no TO): said
  // "a request without a user can pass it", but anon reaches no row through its USING.
  it('an UPDATE policy is passed through its USING and its WITH CHECK both, an ALL policy through either; on Postgres anon updates nothing under the first two and inserts under the third', async () => {
    const files = `create table public.files (id int primary key, user_id uuid not null, deleted_at timestamptz);
      alter table public.files enable row level security;
      grant select, insert, update on public.files to anon, authenticated;`;
    const policies = {
      using_bound: 'for update using (user_id = auth.uid()) with check (deleted_at is null)',
      check_bound: 'for update using (true) with check (user_id = auth.uid())',
      open_update: 'for update using (deleted_at is null) with check (deleted_at is null)',
      all_check_open: 'for all using (user_id = auth.uid()) with check (deleted_at is null)',
    };
    const f = await rule('policy-to-public', files + Object.entries(policies).map(([name, rest]) => `create policy ${name} on public.files ${rest};`).join('\n'));
    const passes = 'and a request without a user can pass it';
    const cannot = 'and is evaluated for every anon request although a request without a user cannot pass it';
    expect(Object.fromEntries(f.map((x) => [x.object.replace(' on public.files', ''), x.message.replace(/^.*anon included, /, '')]))).toEqual({
      using_bound: cannot,
      check_bound: cannot,
      open_update: passes,
      all_check_open: passes,
    });
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${files} insert into public.files values (1, '00000000-0000-4000-8000-000000000001', null);`).simple());
      // What anon's statement does under one policy: rows changed, or the SQLSTATE; always rolled back.
      const asAnon = (policy: string, statement: string) =>
        rolledBackRequest(db.url, `create policy p on public.files ${policy}`, 'anon', { role: 'anon' }, (tx) => tx.unsafe(statement).then((x): number | string => x.count, (e: { code?: string }) => e.code ?? 'error'));
      // No filter and no RETURNING, as a PATCH without filters: no SELECT policy is needed.
      const patch = 'update public.files set deleted_at = null';
      expect(await asAnon(policies.using_bound, patch)).toBe(0);
      expect(await asAnon(policies.check_bound, patch)).toBe('42501');
      expect(await asAnon(policies.open_update, patch)).toBe(1);
      expect(await asAnon(policies.all_check_open, `insert into public.files values (2, '00000000-0000-4000-8000-000000000002', null)`)).toBe(1);
    } finally {
      await db.drop();
    }
  });

  // count() over the caller's rows is 0 without a user, not nothing: a quota check passes for anon.
  it('an aggregate over the caller\'s rows is one row without a user: count() is 0, which a comparison can pass; on Postgres anon passes a quota', async () => {
    const notes = `create table public.notes (id int primary key, user_id uuid, body text);
      alter table public.notes enable row level security;
      grant select, insert on public.notes to anon, authenticated;`;
    const count = '(select count(*) from public.notes n where n.user_id = (select auth.uid()))';
    const f = await rule(
      'policy-to-public',
      `${notes}
      create policy quota on public.notes for insert with check (${count} < 5);
      create policy seen on public.notes for select using (${count} > 0);
      create policy also_seen on public.notes for update using (1 <= ${count});
      create policy newest on public.notes for delete using (id = (select max(n.id) from public.notes n where n.user_id = (select auth.uid())));
      create function public.has_notes() returns boolean language sql stable as 'select count(*) > 0 from public.notes n where n.user_id = (select auth.uid())';
      create function public.no_notes() returns boolean language sql stable as 'select count(*) = 0 from public.notes n where n.user_id = (select auth.uid())';
      create table public.a (id int primary key); alter table public.a enable row level security;
      create policy via_has on public.a for select using (public.has_notes());
      create policy via_none on public.a for insert with check (public.no_notes());`,
    );
    const passes = 'and a request without a user can pass it';
    const cannot = 'and is evaluated for every anon request although a request without a user cannot pass it';
    expect(Object.fromEntries(f.map((x) => [x.object, x.message.replace(/^.*anon included, /, '')]))).toEqual({
      'quota on public.notes': passes,
      'seen on public.notes': cannot,
      'also_seen on public.notes': cannot,
      'newest on public.notes': cannot,
      'via_has on public.a': cannot,
      'via_none on public.a': passes,
    });
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${notes} create policy quota on public.notes for insert with check (${count} < 5);`).simple());
      // No RETURNING: that would need a SELECT policy too.
      const inserted = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`select set_config('role', 'anon', true), set_config('request.jwt.claims', '{"role":"anon"}', true)`);
          return tx.unsafe(`insert into public.notes values (1, '00000000-0000-4000-8000-000000000002', 'as someone')`);
        }),
      );
      expect(inserted.count).toBe(1);
    } finally {
      await db.drop();
    }
  });
});

describe('policy-subselect-uncorrelated: which links make a row-free sub-select a hole', () => {
  const schema = `
    create table public.orgs (id uuid primary key, owner_id uuid);
    create table public.members (org_id uuid references public.orgs, user_id uuid, created_by uuid references auth.users, primary key (org_id, user_id));
    create table public.projects (id uuid primary key, org_id uuid references public.orgs, author_id uuid references auth.users);
    create table public.project_members (project_id uuid references public.projects, user_id uuid, primary key (project_id, user_id));
    create table public.team_members (team_id uuid, user_id uuid);
    create table public.boards (id uuid primary key, team_id uuid);
    create table public.staff (user_id uuid primary key references auth.users, added_by uuid references auth.users);
    create table public.tasks (id uuid primary key, project_id uuid);
    do $$ declare t text; begin
      foreach t in array array['orgs','members','projects','project_members','team_members','boards','staff','tasks'] loop
        execute format('alter table public.%I enable row level security', t);
        execute format('grant select, insert, update, delete on public.%I to authenticated', t);
      end loop; end $$;`;
  const only = async (policy: string) => (await rule('policy-subselect-uncorrelated', schema + policy)).map((f) => [f.object, f.fix]);

  it('foreign keys to the same key, a key of the policy table, a key the policy table references; the same *_id without keys; the table itself', async () => {
    expect(await only(`create policy p on public.projects for select to authenticated
      using (exists (select 1 from public.members m where m.user_id = (select auth.uid())));`)).toEqual([['p on public.projects', 'tie the sub-select to the row: … and m.org_id = projects.org_id']]);
    expect(await only(`create policy p on public.projects for delete to authenticated
      using ((select auth.uid()) in (select pm.user_id from public.project_members pm));`)).toEqual([['p on public.projects', 'tie the sub-select to the row: … and pm.project_id = projects.id']]);
    expect(await only(`create policy p on public.projects for update to authenticated
      using (exists (select 1 from public.orgs o where o.owner_id = (select auth.uid())));`)).toEqual([['p on public.projects', 'tie the sub-select to the row: … and o.id = projects.org_id']]);
    expect(await only(`create policy p on public.boards for select to authenticated
      using (exists (select 1 from public.team_members tm where tm.user_id = (select auth.uid())));`)).toEqual([['p on public.boards', 'tie the sub-select to the row: … and tm.team_id = boards.team_id']]);
    expect(await only(`create policy p on public.members for select to authenticated
      using (exists (select 1 from public.members m2 where m2.user_id = (select auth.uid())));`)).toEqual([['p on public.members', 'tie the sub-select to the row: … and m2.org_id = members.org_id']]);
  });

  it('an AND-ed test of the row alone (status, archived) does not tie the sub-select to the row; one that involves the caller does', async () => {
    const f = await rule(
      'policy-subselect-uncorrelated',
      `${schema} alter table public.boards add column archived boolean;
      create policy p on public.boards for update to authenticated
        using (not archived and exists (select 1 from public.team_members tm where tm.user_id = (select auth.uid())));`,
    );
    expect(f.map((x) => x.message)).toEqual([expect.stringContaining('can update every row the rest of the condition lets through, not only those their public.team_members rows point at through team_id')]);
    expect(await only(`create policy p on public.projects for select to authenticated
      using (author_id = (select auth.uid()) and exists (select 1 from public.members m where m.user_id = (select auth.uid())));`)).toEqual([]);
  });

  it("a sub-select, or a LANGUAGE sql helper, that ties the caller and the row to different tables without joining them", async () => {
    expect(await only(`create policy p on public.tasks for select to authenticated
      using (exists (select 1 from public.projects pr join public.members m on m.user_id = (select auth.uid()) where pr.id = tasks.project_id));`)).toEqual([
      ['p on public.tasks', 'join them: … and m.org_id = pr.org_id'],
    ]);
    const helper = await rule(
      'policy-subselect-uncorrelated',
      `${schema} create function public.in_org(target uuid) returns boolean language sql stable as $$
        select exists (select 1 from public.orgs o join auth.users u on u.id = auth.uid() where o.id = target) $$;
      create policy p on public.projects for select using (public.in_org(org_id));`,
    );
    expect(helper.map((f) => f.message)).toEqual([
      'public.in_org(), which p calls, ties only auth.users to the caller, and auth.users has a row for every signed-in user: it never asks whether the caller belongs to the public.orgs row it looks at, so authenticated callers can see every projects row',
    ]);
  });

  it('not when the join ties them, or the helper looks the caller up next to its argument', async () => {
    expect(await only(`create policy p on public.tasks for select to authenticated
      using (exists (select 1 from public.projects pr join public.members m on m.org_id = pr.org_id where pr.id = tasks.project_id and m.user_id = (select auth.uid())));`)).toEqual([]);
    expect(await only(`create function public.in_org(target uuid) returns boolean language sql stable as $$
        select exists (select 1 from public.members m where m.org_id = target and m.user_id = auth.uid()) $$;
      create function public.in_org_by_number(uuid) returns boolean language sql stable as $$
        select exists (select 1 from public.members m where m.org_id = $1 and m.user_id = auth.uid()) $$;
      create policy p on public.projects for select to authenticated using (public.in_org(org_id) or public.in_org_by_number(org_id));`)).toEqual([]);
  });

  it('not for a global gate (only the caller links it), bookkeeping columns, a correlated sub-select, or a table no API role can use', async () => {
    expect(await only(`create policy p on public.projects for select to authenticated
      using (exists (select 1 from public.staff s where s.user_id = (select auth.uid())));`)).toEqual([]);
    expect(await only(`create policy p on public.tasks for select to authenticated
      using (project_id in (select pm.project_id from public.project_members pm where pm.user_id = (select auth.uid()))
             or exists (select 1 from public.staff s where s.user_id = (select auth.uid())));`)).toEqual([]);
    expect(await only(`create policy p on public.orgs for select to authenticated
      using (exists (select 1 from public.members m where m.user_id = (select auth.uid()) and m.org_id = orgs.id));`)).toEqual([]);
    expect(await only(`revoke all on public.projects from authenticated; create policy p on public.projects for select to authenticated
      using (exists (select 1 from public.members m where m.user_id = (select auth.uid())));`)).toEqual([]);
  });
});

describe('rls-owner-is-api-role: ownership follows inherited privileges, not every membership', () => {
  const table = `create table public.t (id int primary key, user_id uuid); alter table public.t enable row level security;
    create policy own on public.t for select to authenticated using (user_id = (select auth.uid())); grant select on public.t to authenticated;`;
  // Roles are cluster-wide: each case makes its own and drops them afterwards (the database copy is gone by then).
  const made: string[] = [];
  const role = (suffix: string) => {
    const name = `rg_owner_${process.pid}_${suffix}`;
    made.push(name);
    return name;
  };
  afterAll(async () => {
    for (const r of made.reverse()) await withSql(serverUrl(), (sql) => sql.unsafe(`drop role if exists ${r}`));
  });

  it('an owner role authenticated inherits from is reported with the path; one it cannot inherit from, or FORCE, is not', async () => {
    const a = role('a');
    const inherits = `create role ${a} nologin; grant ${a} to authenticated; ${table} alter table public.t owner to ${a};`;
    const f = await rule('rls-owner-is-api-role', inherits);
    expect(f.map((x) => x.message)).toEqual([`public.t is owned by ${a}: authenticated (through authenticated → ${a}) acts as its owner and skips every policy, because RLS is not forced`]);
    await withSql(serverUrl(), (sql) => sql.unsafe(`drop role ${a}`));
    expect(await rule('rls-owner-is-api-role', `${inherits} alter table public.t force row level security;`)).toEqual([]);
    await withSql(serverUrl(), (sql) => sql.unsafe(`drop role ${a}`));
    const [b, c] = [role('b'), role('c')];
    // authenticated inherits from b, but b (NOINHERIT) does not inherit from the owner c.
    const noInherit = `create role ${b} nologin noinherit; create role ${c} nologin; grant ${c} to ${b}; grant ${b} to authenticated;
      ${table} alter table public.t owner to ${c};`;
    expect(await rule('rls-owner-is-api-role', noInherit)).toEqual([]);
    await withSql(serverUrl(), (sql) => sql.unsafe(`drop role ${b}; drop role ${c}`));
  });

  it.skipIf(serverMajor() < 16)('an owner role granted to authenticated WITH INHERIT FALSE (Postgres 16+) is not reported', async () => {
    const d = role('d');
    expect(await rule('rls-owner-is-api-role', `create role ${d} nologin; grant ${d} to authenticated with inherit false; ${table} alter table public.t owner to ${d};`)).toEqual([]);
  });

  it("what the rule rests on, on Postgres: a request as authenticated reads every row of a table its inherited role owns, and none once RLS is forced", async () => {
    const e = role('e');
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      const count = () =>
        withSql(db.url, (sql) =>
          sql.begin(async (tx) => {
            await tx.unsafe(`set local role authenticated; select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000001","role":"authenticated"}', true)`).simple();
            const [r] = await tx.unsafe('select count(*)::int as n from public.t');
            return r!['n'] as number;
          }),
        );
      // Another user's row: the policy alone would hide it.
      await withSql(db.url, (sql) => sql.unsafe(`create role ${e} nologin; grant ${e} to authenticated; ${table} alter table public.t owner to ${e};
        insert into public.t values (1, '00000000-0000-4000-8000-000000000002')`).simple());
      expect(await count()).toBe(1);
      await withSql(db.url, (sql) => sql.unsafe('alter table public.t force row level security'));
      expect(await count()).toBe(0);
    } finally {
      await db.drop();
    }
  });
});

describe('anon-write-unprotected: TRUNCATE from default privileges, once per schema', () => {
  it('several tables where TRUNCATE is the only finding make one finding with the schema-wide revoke; other writes stay per table', async () => {
    const f = await rule(
      'anon-write-unprotected',
      `create table public.a (id int); create table public.b (id int); create table public.c (id int);
       alter table public.a enable row level security; alter table public.b enable row level security;
       grant truncate on public.a, public.b to anon; grant insert, truncate on public.c to anon;`,
    );
    expect(f.map((x) => [x.object, x.message]).sort()).toEqual([
      ['public.*', 'anon can truncate 2 tables in schema public (TRUNCATE ignores RLS): public.a, public.b'],
      ['public.c', 'anon can insert into and truncate public.c (TRUNCATE ignores RLS) (RLS is off)'],
    ]);
    expect(f.find((x) => x.object === 'public.*')!.fix).toBe('revoke truncate on all tables in schema public from anon, public; alter default privileges in schema public revoke truncate on tables from anon, public');
  });
});

describe('policy-session-check-permissive: a test of the session alone admits every row', () => {
  const notes = (policies: string, cols = 'user_id uuid not null') => `create table public.notes (id int primary key, ${cols}, body text);
    alter table public.notes enable row level security;
    grant select, insert, update, delete on public.notes to authenticated;
    ${policies}`;
  const own = 'create policy own on public.notes for all to authenticated using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);';

  it('on Postgres, a permissive aal2 policy lets a user with MFA read and update another user\'s note; AS RESTRICTIVE it does not', async () => {
    for (const [kind, seen] of [['permissive', 1], ['restrictive', 0]] as const) {
      const sql = notes(`${own} create policy mfa on public.notes as ${kind} for all to authenticated using ((select auth.jwt() ->> 'aal') = 'aal2');`);
      const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
      try {
        await withSql(db.url, (s) => s.unsafe(`${sql} insert into auth.users (id) values ('00000000-0000-4000-8000-000000000001');
          insert into public.notes values (1, '00000000-0000-4000-8000-000000000001', 'alice')`).simple());
        // Bob, signed in with MFA, writes Alice's note (a throwaway database: the write may stay).
        const rows = await withSql(db.url, (s) =>
          s.begin(async (tx) => {
            await tx.unsafe(`set local role authenticated; select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated","aal":"aal2"}', true)`).simple();
            return (await tx.unsafe(`update public.notes set body = 'bob was here' returning id`)).length;
          }),
        );
        expect(rows, kind).toBe(seen);
      } finally {
        await db.drop();
      }
      const f = await rule('policy-session-check-permissive', sql);
      expect(f.length, kind).toBe(seen);
    }
  });

  it('reports amr and is_anonymous tests too, and says which policies it widens and how to make it restrictive', async () => {
    const sql = notes(`${own}
        create policy totp on public.notes for select to authenticated using (array['totp'] <@ array(select jsonb_array_elements(auth.jwt() -> 'amr') ->> 'method'));
        create policy permanent on public.notes for insert to authenticated with check ((select (auth.jwt() ->> 'is_anonymous')::boolean) is false);`);
    const f = await rule('policy-session-check-permissive', sql);
    // One finding per hole: policy-check-unbound leaves the session test to this rule.
    expect(await rule('policy-check-unbound', sql)).toEqual([]);
    expect(f.map((x) => x.message).sort()).toEqual([
      'policy permanent on public.notes only tests the is_anonymous claim, and it is permissive, so it is OR-ed with own instead of narrowing it: any authenticated user who is not an anonymous sign-in can insert rows for anyone',
      'policy totp on public.notes only tests the amr claim, and it is permissive, so it is OR-ed with own instead of narrowing it: any authenticated user who signed in with the tested method can read every row',
    ]);
    expect(f.find((x) => x.object.startsWith('permanent'))!.fix).toMatch(/^drop policy permanent on public\.notes; create policy permanent on public\.notes as restrictive for insert to authenticated with check /);
  });

  it('leaves alone an admin claim, a session test AND-ed with the owner, a restrictive owner policy, and a table whose rows belong to no one', async () => {
    const quiet = [
      notes(`${own} create policy admins on public.notes for all to authenticated using ((select auth.jwt() -> 'app_metadata' ->> 'role') = 'admin');`),
      notes(`create policy own_mfa on public.notes for all to authenticated using ((select auth.uid()) = user_id and (select auth.jwt() ->> 'aal') = 'aal2');`),
      notes(`create policy own on public.notes as restrictive for all to authenticated using ((select auth.uid()) = user_id);
        create policy mfa on public.notes for select to authenticated using ((select auth.jwt() ->> 'aal') = 'aal2');`),
      notes(`create policy mfa on public.notes for select to authenticated using ((select auth.jwt() ->> 'aal') = 'aal2');`, 'topic text'),
    ];
    // With no TO it applies to anon too, but an anonymous request carries no aal claim: only authenticated is named.
    const toAll = await rule('policy-session-check-permissive', `${notes(own)} grant select on public.notes to anon;
      create policy mfa on public.notes for select using ((select auth.jwt() ->> 'aal') = 'aal2');`);
    expect(toAll.map((x) => x.message)).toEqual([expect.stringMatching(/: any authenticated user with MFA \(aal2\) can read every row$/)]);
    for (const sql of quiet) expect(await rule('policy-session-check-permissive', sql), sql).toEqual([]);
  });
});

describe('policy-check-unbound: a check that ties the owner but leaves the tenant free', () => {
  const base = `create table public.orgs (id uuid primary key);
    create table public.members (org_id uuid references public.orgs, user_id uuid, primary key (org_id, user_id));
    alter table public.members enable row level security;
    grant select on public.members to authenticated;
    create policy mine on public.members for select to authenticated using ((select auth.uid()) = user_id);
    create table public.projects (id uuid primary key default gen_random_uuid(), org_id uuid not null references public.orgs, user_id uuid not null, assignee uuid, name text);
    alter table public.projects enable row level security;
    grant select, insert, update on public.projects to authenticated;`;
  const inOrg = 'org_id in (select m.org_id from public.members m where m.user_id = (select auth.uid()))';
  const user = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;

  it("on Postgres, a user writes a row into another org that org's members then see; the fix rowguard gives stops it", async () => {
    const sql = `${base}
      create policy sel on public.projects for select to authenticated using (${inOrg});
      create policy ins on public.projects for insert to authenticated with check ((select auth.uid()) = user_id);`;
    const f = await rule('policy-check-unbound', sql);
    expect(f.map((x) => x.message)).toEqual([
      'policy ins lets authenticated write rows of public.projects into any org_id: its WITH CHECK ties user_id to the caller but not org_id, which policy sel uses to pick the rows a caller sees',
    ]);
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      const as = (n: number, stmt: string) =>
        withSql(db.url, (s) =>
          s.begin(async (tx) => {
            await tx.unsafe(`set local role authenticated; select set_config('request.jwt.claims', '{"sub":"${user(n)}","role":"authenticated"}', true)`).simple();
            return tx.unsafe(stmt);
          }),
        );
      await withSql(db.url, (s) => s.unsafe(`${sql} insert into public.orgs values ('${user(8)}'), ('${user(9)}');
        insert into public.members values ('${user(8)}', '${user(1)}'), ('${user(9)}', '${user(2)}')`).simple());
      const plant = `insert into public.projects (org_id, user_id, name) values ('${user(8)}', '${user(2)}', 'planted')`;
      await as(2, plant); // user 2, a member of org 9 only, writes into org 8
      expect((await as(1, 'select name from public.projects')).map((r) => r['name'])).toEqual(['planted']);
      await withSql(db.url, (s) => s.unsafe(f[0]!.fix));
      await expect(as(2, plant)).rejects.toThrow(/row-level security/);
    } finally {
      await db.drop();
    }
  });

  it('also for an UPDATE whose USING picks rows by org; not when the check pins the org, a restrictive policy does, or the free column is whom the row is for', async () => {
    const upd = await rule('policy-check-unbound', `${base}
      create policy upd on public.projects for update to authenticated using (${inOrg}) with check ((select auth.uid()) = user_id);`);
    expect(upd.map((x) => x.message)).toEqual([
      'policy upd lets authenticated write rows of public.projects into any org_id: its WITH CHECK ties user_id to the caller but not org_id, which its own USING uses to pick the rows a caller may update',
      // No SELECT policy here: nothing else checks the moved row.
    ]);
    const quiet = [
      `create policy sel on public.projects for select to authenticated using (${inOrg});
       create policy ins on public.projects for insert to authenticated with check ((select auth.uid()) = user_id and ${inOrg});`,
      `create policy sel on public.projects for select to authenticated using (${inOrg});
       create policy ins on public.projects for insert to authenticated with check ((select auth.uid()) = user_id);
       create policy org on public.projects as restrictive for insert to authenticated with check (${inOrg});`,
      `create policy sel on public.projects for select to authenticated using (assignee = (select auth.uid()) or ${inOrg});
       create policy ins on public.projects for insert to authenticated with check (${inOrg});`,
      `create policy own on public.projects for all to authenticated using (${inOrg}) with check (${inOrg});`,
      // The row's own key picks it (an org you are a member of): a new key is a new row in no one's scope.
      `create policy sel on public.projects for select to authenticated using (id in (select m.org_id from public.members m where m.user_id = (select auth.uid())));
       create policy ins on public.projects for insert to authenticated with check ((select auth.uid()) = user_id);`,
    ];
    for (const q of quiet) expect(await rule('policy-check-unbound', `${base} ${q}`), q).toEqual([]);
  });

  it("a check that ties the org in one OR branch only (gonasi's invites: role <> 'admin' or the caller owns the org): the invitee moves their invite into another org; not when each branch pins it, sets it NULL or is an admin gate", async () => {
    const invites = (check: string) => `${base}
      create table public.invites (id int primary key, org_id uuid references public.orgs, email text not null, role text not null);
      alter table public.invites enable row level security;
      grant select, update on public.invites to authenticated;
      create policy sel on public.invites for select to authenticated using (${inOrg} or email = (select auth.jwt() ->> 'email'));
      create policy upd on public.invites for update to authenticated using (${inOrg} or email = (select auth.jwt() ->> 'email')) with check (${check});`;
    const hole = invites(`role <> 'admin' or ${inOrg}`);
    expect((await rule('policy-check-unbound', hole)).map((x) => x.message)).toEqual([
      "policy upd lets authenticated write rows of public.invites into any org_id: its WITH CHECK never ties org_id to the caller, which policy sel uses to pick the rows a caller sees",
    ]);
    // On Postgres: user 2, invited to org 8 by address, moves the invite into org 9, where user 1 is a member and sees it.
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${hole} insert into public.orgs values ('${user(8)}'), ('${user(9)}');
        insert into public.members values ('${user(9)}', '${user(1)}');
        insert into public.invites values (1, '${user(8)}', 'two@example.com', 'editor');`).simple());
      const as = (n: number, email: string, stmt: string) =>
        rolledBackRequest(db.url, '', 'authenticated', { sub: user(n), role: 'authenticated', email }, async (tx) => {
          const moved = (await tx.unsafe(stmt)).count;
          await tx.unsafe(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: user(1), role: 'authenticated', email: 'one@example.com' })]);
          return { moved, seenByOne: (await tx.unsafe('select email from public.invites')).map((r) => r['email']) };
        });
      expect(await as(2, 'two@example.com', `update public.invites set org_id = '${user(9)}' where email = 'two@example.com'`)).toEqual({ moved: 1, seenByOne: ['two@example.com'] });
    } finally {
      await db.drop();
    }
    const quiet = [
      `(select auth.uid()) = '${user(5)}' and ${inOrg}`,
      `(select auth.jwt() ->> 'user_role') = 'super' or ${inOrg}`,
      `org_id is null or ${inOrg}`,
      `false or ${inOrg}`,
    ];
    for (const q of quiet) expect(await rule('policy-check-unbound', invites(q)), q).toEqual([]);
  });

  it("ways that cannot meet are not mixed: recogito's tag definitions (a user-scoped way beside a project-scoped one), a way tied by the row's own key, and reads that also test a column the check pins", async () => {
    const tags = (check: string, extra = '') => `${base}
      create table public.tag_defs (id int primary key, scope text not null, scope_id uuid, created_by uuid, layer_id int);
      alter table public.tag_defs enable row level security;
      grant select, insert on public.tag_defs to authenticated;
      create table public.editors (def_id int, user_id uuid);
      create function public.edits(def int) returns boolean language sql stable security definer set search_path = '' as
        $$ select exists (select 1 from public.editors e where e.def_id = def and e.user_id = (select auth.uid())) $$;
      create policy sel on public.tag_defs for select to authenticated using ((scope = 'org' and scope_id in (select m.org_id from public.members m where m.user_id = (select auth.uid()))) or (scope = 'user' and created_by = (select auth.uid())));
      create policy ins on public.tag_defs for insert to authenticated with check (${check});
      ${extra}`;
    const orgWay = `(scope = 'org' and scope_id in (select m.org_id from public.members m where m.user_id = (select auth.uid())))`;
    // Without the scope test the user's own way takes any scope_id, and an org-scoped row lands in org 9, whose member 1 reads it.
    const loose = tags(`${orgWay} or created_by = (select auth.uid())`);
    expect((await rule('policy-check-unbound', loose)).map((x) => x.message)).toEqual([
      'policy ins lets authenticated write rows of public.tag_defs into any scope_id: its WITH CHECK never ties scope_id to the caller, which policy sel uses to pick the rows a caller sees',
    ]);
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${loose} insert into public.orgs values ('${user(9)}'); insert into public.members values ('${user(9)}', '${user(1)}');`).simple());
      const seen = await rolledBackRequest(db.url, '', 'authenticated', { sub: user(2), role: 'authenticated' }, async (tx) => {
        await tx.unsafe(`insert into public.tag_defs values (1, 'org', '${user(9)}', '${user(2)}')`);
        await tx.unsafe(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: user(1), role: 'authenticated' })]);
        return (await tx.unsafe('select id from public.tag_defs')).map((r) => r['id']);
      });
      expect(seen).toEqual([1]);
    } finally {
      await db.drop();
    }
    const quiet = [
      // Each way names its scope: a user-scoped row is read by its creator alone, whatever scope_id holds.
      tags(`${orgWay} or (scope = 'user' and created_by = (select auth.uid()))`),
      // A way only the row's own key ties: a new id is one no editors row names yet.
      tags(`${orgWay} or (scope = 'user' and created_by = (select auth.uid())) or public.edits(id)`),
    ];
    for (const q of quiet) expect(await rule('policy-check-unbound', q), q).toEqual([]);
    // Reads that also test the layer the check pins: no one outside the caller's layers reads the row, whatever org it names.
    const layered = `${base}
      create table public.layers (id int primary key, user_id uuid);
      alter table public.layers enable row level security; grant select on public.layers to authenticated;
      create policy mine on public.layers for select to authenticated using (user_id = (select auth.uid()));
      create table public.notes (id int primary key, org_id uuid, layer_id int references public.layers);
      alter table public.notes enable row level security; grant select, insert on public.notes to authenticated;
      create policy sel on public.notes for select to authenticated using (${inOrg} and layer_id in (select l.id from public.layers l where l.user_id = (select auth.uid())));
      create policy ins on public.notes for insert to authenticated with check (layer_id in (select l.id from public.layers l where l.user_id = (select auth.uid())));`;
    expect(await rule('policy-check-unbound', layered)).toEqual([]);
  });
});

describe("policy-check-unbound: an UPDATE way only the row's own key ties keeps the key, and lets every other column move (gatesub)", () => {
  // tarrasque's characters: game masters of a campaign, or users a character_permissions row names for the character,
  // update it; with no WITH CHECK the permission holder's way holds for the new row whatever campaign it names.
  const A = '00000000-0000-4000-8000-000000000001';
  const B = '00000000-0000-4000-8000-000000000002';
  const chars = (policy: string, grant = 'grant select, update on public.characters to authenticated;') => `
    create table public.campaigns (id int primary key);
    create table public.memberships (campaign_id int not null references public.campaigns, user_id uuid not null, role text not null, primary key (campaign_id, user_id));
    create table public.characters (id int primary key, campaign_id int not null references public.campaigns, name text);
    create table public.character_permissions (character_id int not null references public.characters, user_id uuid not null, primary key (character_id, user_id));
    create function public.is_gm(c int) returns boolean language sql stable security definer set search_path = '' as
      $$ select exists (select 1 from public.memberships m where m.campaign_id = c and m.user_id = (select auth.uid()) and m.role = 'gm') $$;
    create function public.is_member(c int) returns boolean language sql stable security definer set search_path = '' as
      $$ select exists (select 1 from public.memberships m where m.campaign_id = c and m.user_id = (select auth.uid())) $$;
    create function public.can_play(ch int) returns boolean language sql stable security definer set search_path = '' as
      $$ select exists (select 1 from public.character_permissions p where p.character_id = ch and p.user_id = (select auth.uid())) $$;
    alter table public.characters enable row level security;
    ${grant}
    create policy see on public.characters for select to authenticated using (true);
    ${policy}`;
  const edit = 'create policy edit on public.characters for update to authenticated using (public.is_gm(campaign_id) or public.can_play(id))';
  // a runs campaign 1, where b plays (a permission on character 10); b runs campaign 2; campaign 3 is someone else's.
  const seed = `insert into public.campaigns values (1), (2), (3); insert into public.memberships values (1, '${A}', 'gm'), (1, '${B}', 'player'), (2, '${B}', 'gm');
    insert into public.characters values (10, 1, 'Hero'); insert into public.character_permissions values (10, '${B}');`;
  async function asB(sql: string, statement: string): Promise<number | string> {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(sql + seed).simple());
      return await orMessage(rolledBackRequest(db.url, '', 'authenticated', { sub: B, role: 'authenticated' }, async (tx) => (await tx.unsafe(statement)).length));
    } finally {
      await db.drop();
    }
  }

  it('with no WITH CHECK (or the same one) the permission holder moves the character into any campaign: reported, and shown on Postgres', async () => {
    for (const policy of [`${edit};`, `${edit} with check (public.is_gm(campaign_id) or public.can_play(id));`]) {
      expect((await rule('policy-check-unbound', chars(policy))).map((f) => f.message), policy).toEqual([
        expect.stringMatching(/^policy edit lets authenticated write rows of public\.characters into any campaign_id: its (USING \(used as WITH CHECK\)|WITH CHECK) never ties campaign_id to the caller, which its own USING uses to pick the rows a caller may update/),
      ]);
      expect(await asB(chars(policy), 'update public.characters set campaign_id = 3 where id = 10 returning id'), policy).toBe(1);
      expect(await asB(chars(policy), 'update public.characters set campaign_id = 2 where id = 10 returning id'), policy).toBe(1);
    }
  });

  it('not reported where the campaign is out of the holder\'s reach: a column grant without it, or a check that pins it to their campaigns', async () => {
    const columnGrant = chars(`${edit};`, 'grant select on public.characters to authenticated; grant update (name) on public.characters to authenticated;');
    const pinned = chars(`${edit} with check (public.is_gm(campaign_id) or (public.can_play(id) and public.is_member(campaign_id)));`);
    expect(await rule('policy-check-unbound', columnGrant)).toEqual([]);
    expect(await rule('policy-check-unbound', pinned)).toEqual([]);
    expect(await asB(columnGrant, "update public.characters set name = 'Renamed' where id = 10 returning id")).toBe(1);
    expect(await asB(columnGrant, 'update public.characters set campaign_id = 3 where id = 10 returning id')).toMatch(/permission denied/);
    expect(await asB(pinned, "update public.characters set name = 'Renamed' where id = 10 returning id")).toBe(1);
    expect(await asB(pinned, 'update public.characters set campaign_id = 3 where id = 10 returning id')).toMatch(/row-level security/);
  });

  it('an INSERT check with the same key-only way is still not reported: a new row\'s key is one no permission names yet', async () => {
    const insert = chars('create policy add on public.characters for insert to authenticated with check (public.is_gm(campaign_id) or public.can_play(id));', 'grant select, insert on public.characters to authenticated;');
    expect(await rule('policy-check-unbound', insert)).toEqual([]);
    expect(await asB(insert, "insert into public.characters values (11, 3, 'New') returning id")).toMatch(/row-level security/);
  });
});

describe('policy-check-unbound: an owner column a BEFORE trigger sets to auth.uid()', () => {
  const items = (trigger: string, policy = 'create policy ins on public.items for insert to authenticated with check (true);') => `
    create table public.items (id int primary key, user_id uuid not null, body text);
    alter table public.items enable row level security;
    grant select, insert, update on public.items to authenticated;
    create policy sel on public.items for select to authenticated using ((select auth.uid()) = user_id);
    ${policy}
    ${trigger}`;
  const fn = (body: string) => `create function public.set_owner() returns trigger language plpgsql set search_path = '' as $$ ${body} $$;`;
  const always = fn('begin -- the row is always the caller\'s\n new.user_id := (select auth.uid()); return new; end');

  it('on Postgres, the row is the caller\'s whatever they send, so an unbound check is not reported', async () => {
    const sql = items(`${always} create trigger set_owner before insert on public.items for each row execute function public.set_owner();`);
    expect(await rule('policy-check-unbound', sql)).toEqual([]);
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(sql).simple());
      const [row] = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`set local role authenticated; select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated"}', true)`).simple();
          return tx.unsafe(`insert into public.items values (1, '00000000-0000-4000-8000-000000000001', 'as someone else') returning user_id`);
        }),
      );
      expect(row!['user_id']).toBe('00000000-0000-4000-8000-000000000002');
    } finally {
      await db.drop();
    }
  });

  it('is still reported when the trigger only fills a missing owner, has a WHEN condition, is disabled, or does not fire for the command', async () => {
    const trig = 'create trigger set_owner before insert on public.items for each row';
    const open = [
      items(`${fn('begin if new.user_id is null then new.user_id := auth.uid(); end if; return new; end')} ${trig} execute function public.set_owner();`),
      items(`${fn('begin new.user_id := coalesce(new.user_id, auth.uid()); return new; end')} ${trig} execute function public.set_owner();`),
      items(`${always} ${trig} when (new.user_id is null) execute function public.set_owner();`),
      items(`${always} ${trig} execute function public.set_owner(); alter table public.items disable trigger set_owner;`),
      items(`${always} create trigger set_owner after insert on public.items for each row execute function public.set_owner();`),
      items(`${always} ${trig} execute function public.set_owner();`, 'create policy upd on public.items for update to authenticated using ((select auth.uid()) = user_id) with check (true);'),
    ];
    for (const sql of open) expect((await rule('policy-check-unbound', sql)).map((f) => f.message), sql).toEqual([expect.stringMatching(/(for any user_id: its (WITH CHECK|USING) .*|set user_id of their own rows .*: its WITH CHECK )never compares it with the caller/)]);
    // A trigger for INSERT OR UPDATE that sets the owner only under IF TG_OP = 'INSERT' binds INSERT, not UPDATE.
    const onInsert = fn("begin if tg_op = 'INSERT' then new.user_id := auth.uid(); end if; return new; end");
    const both = 'create trigger set_owner before insert or update on public.items for each row execute function public.set_owner();';
    expect(await rule('policy-check-unbound', items(`${onInsert} ${both}`))).toEqual([]);
    expect((await rule('policy-check-unbound', items(`${onInsert} ${both}`, 'create policy upd on public.items for update to authenticated using ((select auth.uid()) = user_id) with check (true);'))).map((f) => f.object)).toEqual(['upd on public.items']);
    // BEFORE INSERT OR UPDATE covers the UPDATE policy too.
    expect(await rule('policy-check-unbound', items(`${always} create trigger set_owner before insert or update on public.items for each row execute function public.set_owner();`,
      'create policy upd on public.items for update to authenticated using ((select auth.uid()) = user_id) with check (true);'))).toEqual([]);
  });
});

// Reduced from usebasejump/basejump supabase/migrations/20240414161707_basejump-setup.sql (trigger_set_user_tracking).
describe("policy-check-unbound: a trigger that sets the owner under IF TG_OP = 'INSERT' and something else under its ELSE", () => {
  const accounts = (body: string) => `create table public.accounts (id int primary key, created_by uuid references auth.users, name text);
    alter table public.accounts enable row level security;
    grant select, insert, update on public.accounts to authenticated;
    create policy sel on public.accounts for select to authenticated using (created_by = (select auth.uid()));
    create policy ins on public.accounts for insert to authenticated with check (name is not null);
    create function public.track() returns trigger language plpgsql set search_path = '' as $$ begin ${body} return new; end $$;
    create trigger track before insert or update on public.accounts for each row execute function public.track();`;
  const tracking = "if tg_op = 'INSERT' then new.created_by = auth.uid(); else new.created_by = old.created_by; end if;";

  it('binds the INSERT (the ELSE runs for the other operations only); on Postgres the row is the caller\'s whatever they send', async () => {
    expect(await rule('policy-check-unbound', accounts(tracking))).toEqual([]);
    expect(await rule('policy-check-unbound', accounts("if tg_op in ('INSERT') then new.created_by := auth.uid(); elsif tg_op = 'UPDATE' then new.created_by := old.created_by; end if;"))).toEqual([]);
    // Not when the ELSE (or a later statement) also runs for INSERT, or the IF tests something else.
    for (const body of [
      "if tg_op = 'UPDATE' then new.created_by = old.created_by; else new.created_by = auth.uid(); end if; new.created_by = coalesce(new.created_by, auth.uid());",
      "if new.name = 'x' then new.created_by = auth.uid(); else new.created_by = old.created_by; end if;",
      "if tg_op = 'INSERT' then new.created_by = auth.uid(); end if; if tg_op <> 'UPDATE' then new.created_by = new.created_by; end if;",
    ]) {
      expect((await rule('policy-check-unbound', accounts(body))).map((f) => f.object), body).toEqual(['ins on public.accounts']);
    }
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${accounts(tracking)} insert into auth.users (id) values ('00000000-0000-4000-8000-000000000001'), ('00000000-0000-4000-8000-000000000002');`).simple());
      const [row] = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated"}', true)`);
          return tx.unsafe(`insert into public.accounts values (1, '00000000-0000-4000-8000-000000000001', 'spam') returning created_by`);
        }),
      );
      expect(row!['created_by']).toBe('00000000-0000-4000-8000-000000000002');
    } finally {
      await db.drop();
    }
  });
});

// Reduced from supabase/supabase examples/user-management/nextjs-user-management/supabase/migrations/20221017024722_init.sql.
describe('policy-check-unbound: storage.objects, whose owner Supabase Storage sets from the JWT', () => {
  const storage = (extra = '') => `create schema storage; grant usage on schema storage to anon, authenticated;
    create table storage.objects (id uuid primary key, bucket_id text, name text, owner uuid, owner_id text, metadata jsonb);
    alter table storage.objects enable row level security;
    grant select, insert, update on storage.objects to anon, authenticated;
    create policy "Anyone can upload an avatar." on storage.objects for insert with check (bucket_id = 'avatars');
    create policy "Anyone can update their own avatar." on storage.objects for update using (auth.uid() = owner) with check (bucket_id = 'avatars');
    ${extra}`;

  it('is not reported for owner and owner_id while storage is served only by Storage; it is once PostgREST exposes the schema, and for another owner column', async () => {
    expect(await rule('policy-check-unbound', storage())).toEqual([]);
    const exposed = await rule('policy-check-unbound', storage(), { schemas: ['public', 'storage'] });
    expect(exposed.map((f) => f.object).sort()).toEqual(['Anyone can update their own avatar. on storage.objects', 'Anyone can upload an avatar. on storage.objects']);
    const other = await rule('policy-check-unbound', storage('alter table storage.objects add column uploader_id uuid references auth.users;'));
    expect(other.map((f) => f.message).sort()).toEqual([expect.stringContaining('set uploader_id of their own rows'), expect.stringContaining('for any uploader_id')]);
  });
});

// Supabase Storage runs each request on storage.objects and storage.buckets as the caller's role with the
// caller's claims (its access-control guide), so those tables face anon whatever PostgREST exposes.
/** A stand-in for Supabase Storage's tables, with RLS on both and its grants to the API roles; then `rest`. */
const supabaseStorage = (rest: string) => `create schema storage; grant usage on schema storage to anon, authenticated;
  create table storage.buckets (id text primary key, name text not null, public boolean not null default false);
  create table storage.objects (id uuid primary key default gen_random_uuid(), bucket_id text references storage.buckets, name text, owner uuid, owner_id text, metadata jsonb);
  create function storage.foldername(name text) returns text[] language sql immutable as $$ select (string_to_array(name, '/'))[:cardinality(string_to_array(name, '/')) - 1] $$;
  alter table storage.buckets enable row level security; alter table storage.objects enable row level security;
  grant all on storage.buckets, storage.objects to anon, authenticated;
  ${rest}`;

describe('storage.objects and storage.buckets are served by Supabase Storage, not only through PostgREST', () => {
  const storage = (extra: string) =>
    supabaseStorage(`create table storage.migrations (id int primary key, name text); grant all on storage.migrations to anon, authenticated;
    insert into storage.buckets values ('avatars', 'avatars', true);
    ${extra}`);

  it('policy-to-public judges their policies with storage in no API schema: anon uploads through a policy with no TO', async () => {
    const sql = storage(`alter table storage.objects enable row level security;
      create policy "Anyone can upload an avatar." on storage.objects for insert with check (bucket_id = 'avatars');
      create policy "Own files" on storage.objects for select using (owner = (select auth.uid()));`);
    const found = await rule('policy-to-public', sql);
    expect(found.map((f) => [f.object, f.message.endsWith('a request without a user can pass it')])).toEqual([
      ['Anyone can upload an avatar. on storage.objects', true],
      ['Own files on storage.objects', false],
    ]);
    // As Storage runs an anonymous upload: role anon, no sub.
    const inserted = await asRequest(sql, 'anon', undefined, async (tx) => (await tx.unsafe(`insert into storage.objects (bucket_id, name) values ('avatars', 'x.png')`)).count);
    expect(inserted).toBe(1);
  });

  it('rls-disabled-in-api reports storage.objects with RLS off, saying Storage serves it; a storage table Storage does not serve is not', async () => {
    const sql = storage(`alter table storage.objects disable row level security;
      insert into storage.objects (bucket_id, name, owner) values ('avatars', 'a/secret.pdf', '00000000-0000-4000-8000-00000000000a');`);
    const found = await rule('rls-disabled-in-api', sql);
    expect(found.map((f) => f.object)).toEqual(['storage.objects']);
    expect(found[0]!.message).toMatch(/^RLS is off on storage\.objects, which Supabase Storage serves as the caller's role: anon can read, insert into, update and delete from every row/);
    const listed = await asRequest(sql, 'anon', undefined, (tx) => tx.unsafe(`select name from storage.objects`));
    expect(listed.map((r) => r['name'])).toEqual(['a/secret.pdf']);
    // Exposed through PostgREST as well: the plain message.
    const exposed = await rule('rls-disabled-in-api', sql, { schemas: ['public', 'storage'] });
    expect(exposed.map((f) => f.object).sort()).toEqual(['storage.migrations', 'storage.objects']);
    expect(exposed.find((f) => f.object === 'storage.objects')!.message).toMatch(/^RLS is off on storage\.objects: /);
  });

  it('a table named storage.objects without Storage\'s columns is an ordinary table of an unexposed schema', async () => {
    const sql = `create schema storage; grant usage on schema storage to anon;
      create table storage.objects (id int primary key, body text); grant select on storage.objects to anon;`;
    expect(await rule('rls-disabled-in-api', sql)).toEqual([]);
  });
});

describe('write-policy-unbound on storage.objects served by Storage alone: its writes name the object, so the SELECT policies apply', () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';
  const storage = (policies: string) =>
    supabaseStorage(`insert into storage.buckets values ('docs', 'docs', false), ('shared', 'shared', false);
    insert into storage.objects (bucket_id, name, owner_id) values ('docs', '${B}/tax.pdf', '${B}'), ('shared', 'b-notes.txt', '${B}');
    ${policies}`);
  // Storage's deleteObjects: delete … where bucket_id = $1 and name in (…) returning * (supabase/storage, database/knex.ts).
  const storageDelete = (sql: string, bucket: string, name: string) =>
    asRequest(sql, 'authenticated', A, async (tx) => (await tx.unsafe(`delete from storage.objects where bucket_id = $1 and name = any($2) returning name`, [bucket, [name]])).length);
  const ownReads = `create policy "own files" on storage.objects for select to authenticated using (owner_id = (select auth.uid())::text);`;

  it('a write policy that only names the bucket, beside reads tied to the owner: Storage deletes none of B\'s files and it is not reported; exposed through PostgREST, an unfiltered DELETE takes them and it is', async () => {
    const sql = storage(`${ownReads}
      create policy "delete docs" on storage.objects for delete to authenticated using (bucket_id = 'docs');
      create policy "rename docs" on storage.objects for update to authenticated using (bucket_id = 'docs');`);
    expect(await storageDelete(sql, 'docs', `${B}/tax.pdf`)).toBe(0);
    expect(await rule('write-policy-unbound', sql)).toEqual([]);
    expect(await asRequest(sql, 'authenticated', A, async (tx) => (await tx.unsafe('delete from storage.objects')).count)).toBe(1);
    const exposed = await rule('write-policy-unbound', sql, { schemas: ['public', 'storage'] });
    expect(exposed.map((f) => f.object).sort()).toEqual(['delete docs on storage.objects', 'rename docs on storage.objects']);
  });

  it('a caller-free OR branch: reported when the role also reads other users\' files through it (FOR ALL: Storage deletes B\'s), not beside reads tied to the owner', async () => {
    const forAll = storage(`create policy "own or shared" on storage.objects for all to authenticated using (owner_id = (select auth.uid())::text or bucket_id = 'shared');`);
    expect(await storageDelete(forAll, 'shared', 'b-notes.txt')).toBe(1);
    expect((await rule('write-policy-unbound', forAll)).map((f) => f.object)).toEqual(['own or shared on storage.objects']);
    const deleteOnly = storage(`${ownReads}
      create policy "delete own or shared" on storage.objects for delete to authenticated using (owner_id = (select auth.uid())::text or bucket_id = 'shared');`);
    expect(await storageDelete(deleteOnly, 'shared', 'b-notes.txt')).toBe(0);
    expect(await rule('write-policy-unbound', deleteOnly)).toEqual([]);
  });
});

describe("write-policy-unbound on storage.objects: a bucket-wide remove or move policy where the upload policy keeps files to their uploader (holes5)", () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';
  // A bucket every signed-in user reads (shared reads), with its remove and move policies asking only for the role.
  const bucket = (upload: string, read = `bucket_id = 'docs' and auth.role() = 'authenticated'`) =>
    supabaseStorage(`insert into storage.buckets values ('docs', 'docs', false), ('avatars', 'avatars', false);
    insert into storage.objects (bucket_id, name, owner, owner_id) values ('docs', '${B}/tax.pdf', '${B}', '${B}');
    create policy "read docs" on storage.objects for select to authenticated using (${read});
    create policy "upload docs" on storage.objects for insert to authenticated with check (${upload});
    create policy "remove docs" on storage.objects for delete to authenticated using (bucket_id = 'docs' and auth.role() = 'authenticated');
    create policy "move docs" on storage.objects for update to authenticated using (bucket_id = 'docs' and auth.role() = 'authenticated');`);
  // Storage's remove: delete … where bucket_id = $1 and name in (…) returning *; its move: update … set name … where bucket_id = $1 and name = $2.
  const removeAndMove = (sql: string) =>
    asRequest(sql, 'authenticated', A, async (tx) => [
      (await tx.unsafe(`delete from storage.objects where bucket_id = 'docs' and name = any($1) returning name`, [[`${B}/tax.pdf`]])).length,
      (await tx.unsafe(`update storage.objects set name = 'mine.pdf' where bucket_id = 'docs' and name = $1 returning name`, [`${B}/tax.pdf`])).length,
    ]);
  const objects = async (sql: string) => (await rule('write-policy-unbound', sql)).map((f) => f.object).sort();

  it("on Postgres user a removes and renames b's file in a bucket whose uploads go to the uploader's folder or carry their id; reported for both policies", async () => {
    for (const upload of [`bucket_id = 'docs' and (storage.foldername(name))[1] = (select auth.uid())::text`, `bucket_id = 'docs' and owner_id = (select auth.uid())::text`]) {
      const sql = bucket(upload);
      expect(await removeAndMove(sql)).toEqual([1, 0]);
      const found = await rule('write-policy-unbound', sql);
      expect(found.map((f) => f.object).sort()).toEqual(['move docs on storage.objects', 'remove docs on storage.objects']);
      expect(found.find((f) => f.object.startsWith('remove'))!.message).toBe(
        `policy remove docs on storage.objects lets authenticated remove every file of bucket docs, whose files upload docs keeps to the user who owns them (read docs shows the role every file of the bucket, so Storage's remove and move find them): its USING (((bucket_id = 'docs'::text) AND (auth.role() = 'authenticated'::text))) never ties the file to the caller`,
      );
    }
    // The move alone (the remove run first takes the file away inside the same transaction).
    const moved = await asRequest(bucket(`bucket_id = 'docs' and owner_id = (select auth.uid())::text`), 'authenticated', A, async (tx) => (await tx.unsafe(`update storage.objects set name = 'mine.pdf' where bucket_id = 'docs' and name = $1 returning name`, [`${B}/tax.pdf`])).length);
    expect(moved).toBe(1);
  });

  it('not for a team bucket no policy ties to a user, nor where the reads are the owner\'s alone (Storage finds none of b\'s files), nor for an owner test on another bucket', async () => {
    const team = bucket(`bucket_id = 'docs' and auth.role() = 'authenticated'`);
    expect(await removeAndMove(team)).toEqual([1, 0]);
    expect(await objects(team)).toEqual([]);
    const ownReads = bucket(`bucket_id = 'docs' and owner_id = (select auth.uid())::text`, `bucket_id = 'docs' and owner_id = (select auth.uid())::text`);
    expect(await removeAndMove(ownReads)).toEqual([0, 0]);
    expect(await objects(ownReads)).toEqual([]);
    const otherBucket = `${team} create policy "own avatars" on storage.objects for insert to authenticated with check (bucket_id = 'avatars' and owner_id = (select auth.uid())::text);`;
    expect(await objects(otherBucket)).toEqual([]);
  });

  it('served through PostgREST too, the reads no longer matter: an unfiltered DELETE takes every file of the bucket', async () => {
    const sql = bucket(`bucket_id = 'docs' and owner_id = (select auth.uid())::text`, `bucket_id = 'docs' and owner_id = (select auth.uid())::text`);
    expect(await asRequest(sql, 'authenticated', A, async (tx) => (await tx.unsafe('delete from storage.objects')).count)).toBe(1);
    expect(await rule('write-policy-unbound', sql, { schemas: ['public', 'storage'] }).then((f) => f.map((x) => x.object).sort())).toEqual(['move docs on storage.objects', 'remove docs on storage.objects']);
  });
});

describe('policy-always-true: a test of the claims object alone (auth.jwt() is not null, not (auth.uid() is null)) holds for every request (holes5)', () => {
  const B = '00000000-0000-4000-8000-00000000000b';
  const t = (restrictive: string) => `create table public.profiles (id uuid primary key, full_name text, email text);
    alter table public.profiles enable row level security;
    grant select, update on public.profiles to authenticated;
    create policy read_all on public.profiles for select to authenticated using (true);
    create policy edit_all on public.profiles for update to authenticated using (true);
    create policy signed_in on public.profiles as restrictive for all to authenticated using (${restrictive});
    insert into public.profiles values ('${B}', 'Bob', 'b@example.com');`;
  const updates = (sql: string) => asRequest(sql, 'authenticated', '00000000-0000-4000-8000-00000000000a', async (tx) => (await tx.unsafe(`update public.profiles set full_name = 'x'`)).count);

  it("a restrictive policy that only asks for the claims narrows nothing: on Postgres user a reads b's email and updates b's row; both policies stay reported", async () => {
    for (const restrictive of ['(select auth.jwt()) is not null', "current_setting('request.jwt.claims', true) is not null", 'not ((select auth.uid()) is null)']) {
      const sql = t(restrictive);
      expect(await asRequest(sql, 'authenticated', '00000000-0000-4000-8000-00000000000a', async (tx) => (await tx.unsafe('select email from public.profiles')).map((r) => r['email'])), restrictive).toEqual(['b@example.com']);
      expect(await updates(sql), restrictive).toBe(1);
      expect((await rule('policy-always-true', sql)).map((f) => f.object).sort(), restrictive).toEqual(['edit_all on public.profiles', 'read_all on public.profiles']);
    }
    // One that ties the row to the caller narrows both: nothing of b's is read or updated, and nothing is reported.
    const own = t('id = (select auth.uid())');
    expect(await updates(own)).toBe(0);
    expect(await asRequest(own, 'authenticated', '00000000-0000-4000-8000-00000000000a', async (tx) => (await tx.unsafe('select email from public.profiles')).length)).toBe(0);
    expect(await rule('policy-always-true', own)).toEqual([]);
  });

  it('a permissive UPDATE policy using (auth.jwt() is not null) lets every user update every row', async () => {
    const sql = `create table public.notes (id int primary key, user_id uuid not null, body text);
      alter table public.notes enable row level security; grant select, update on public.notes to authenticated;
      create policy own on public.notes for select to authenticated using (user_id = (select auth.uid()));
      create policy edit on public.notes for update to authenticated using (auth.jwt() is not null);
      insert into public.notes values (1, '${B}', 'b');`;
    expect(await asRequest(sql, 'authenticated', '00000000-0000-4000-8000-00000000000a', async (tx) => (await tx.unsafe(`update public.notes set body = 'x'`)).count)).toBe(1);
    expect((await rule('policy-always-true', sql)).map((f) => f.object)).toEqual(['edit on public.notes']);
  });
});

describe('policy-reads-definer-view: a sub-select through a view that runs as the table owner skips the RLS it relied on (holes5)', () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const t = (view: string, sub = '') => `create table public.members (team_id int, user_id uuid, status text not null default 'active', primary key (team_id, user_id));
    create table public.docs (id int primary key, team_id int, body text);
    alter table public.members enable row level security; alter table public.docs enable row level security;
    grant select on public.members, public.docs to authenticated;
    create policy own_active on public.members for select to authenticated using (user_id = (select auth.uid()) and status = 'active');
    grant usage on schema private to authenticated;
    create view private.members_v ${view};
    grant select on private.members_v to authenticated;
    create policy team_docs on public.docs for select to authenticated using (exists (select 1 from private.members_v m where m.team_id = docs.team_id and m.user_id = (select auth.uid())${sub}));
    insert into public.members values (1, '${A}', 'banned'); insert into public.docs values (1, 1, 'team plan');`;
  const reads = (sql: string) => asRequest(sql, 'authenticated', A, async (tx) => (await tx.unsafe('select body from public.docs')).map((r) => r['body']));

  it('on Postgres a banned member reads the team\'s documents through the definer view; reported', async () => {
    const sql = t('as select team_id, user_id from public.members');
    expect(await reads(sql)).toEqual(['team plan']);
    expect((await rule('policy-reads-definer-view', sql)).map((f) => f.message)).toEqual([
      "policy team_docs on public.docs reads private.members_v, a view that runs as its owner postgres and so skips the RLS of public.members, whose SELECT policies show authenticated only rows with status = 'active': its sub-select counts the rows those policies hide from the caller",
    ]);
  });

  it('not once the view runs as the caller, keeps the filter, or the sub-select repeats it: on Postgres the banned member reads nothing', async () => {
    for (const sql of [
      t('with (security_invoker = true) as select team_id, user_id from public.members'),
      t("as select team_id, user_id from public.members where status = 'active'"),
      t('as select team_id, user_id, status from public.members', " and m.status = 'active'"),
    ]) {
      expect(await reads(sql)).toEqual([]);
      expect(await rule('policy-reads-definer-view', sql)).toEqual([]);
    }
  });
});

describe('rpc-sql-injection and rpc-sets-identity: an RPC whose caller writes the SQL or names who they are (holes6)', () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';
  const notes = `create table public.notes (id int primary key, user_id uuid not null, title text not null, body text);
    alter table public.notes enable row level security;
    create policy notes_own on public.notes for select to authenticated using (user_id = (select auth.uid()));
    grant select on public.notes to authenticated, service_role;
    insert into public.notes values (1, '${A}', 'a-note', 'A secret'), (2, '${B}', 'b-note', 'B secret');`;
  const search = (definer: string, query: string) => `${notes}
    create function public.search_notes(p text) returns setof public.notes language plpgsql stable ${definer} set search_path = '' as $f$
    begin
      return query execute ${query};
    end $f$;`;
  // The injection sets the claims to B's before its own scan of notes reads them (LATERAL runs the set_config first).
  const inject = `x' union all select n.* from (select set_config('request.jwt.claims', '{"sub": "${B}", "role": "authenticated"}', true) c offset 0) s cross join lateral (select * from public.notes where s.c is not null) n --`;
  const bodies = (sql: string, call: string, arg: string) =>
    orMessage(asRequest(sql, 'authenticated', A, async (tx) => (await tx.unsafe(`select body from ${call}`, [arg])).map((r) => String(r['body'])).sort()));

  it("on Postgres user A reads B's note through an invoker RPC that pastes its text argument between quotes; reported, and not once it is quoted (%L, quote_literal, doubled quotes) or passed with USING, where the same text reads nothing", async () => {
    const open = search('', `'select * from public.notes where title = ''' || p || ''''`);
    expect(await bodies(open, 'public.search_notes(p => $1)', 'a-note')).toEqual(['A secret']);
    expect(await bodies(open, 'public.search_notes(p => $1)', inject)).toEqual(['B secret']);
    expect((await rule('rpc-sql-injection', open)).map((f) => f.message)).toEqual([
      'anon and authenticated can call public.search_notes(p text) over RPC, which runs a command string built from p unquoted (EXECUTE, line 3 of its body): the caller writes SQL of their own into it, run as themselves, who can set request.jwt.claims in it to read as any user',
    ]);
    for (const query of [
      `format('select * from public.notes where title = %L', p)`,
      `'select * from public.notes where title = ' || quote_literal(p)`,
      `'select * from public.notes where title = $1' using p`,
      `'select * from public.notes where title = ''' || replace(p, '''', '''''') || ''''`,
    ]) {
      const kept = search('', query);
      expect(await bodies(kept, 'public.search_notes(p => $1)', inject), query).toEqual([]);
      expect(await rule('rpc-sql-injection', kept), query).toEqual([]);
    }
  });

  it('a plain EXECUTE runs every statement of its string: on Postgres the injection sets the role to service_role and counts every note; the message says so', async () => {
    const sql = `${notes}
      create function public.count_notes(p text) returns bigint language plpgsql set search_path = '' as $f$
      declare n bigint;
      begin
        execute 'select count(*) from public.notes where title = ''' || p || '''' into n;
        return n;
      end $f$;`;
    // The test's session user is a superuser; PostgREST's is the authenticator, a member of service_role on Supabase (checked by hand as authenticator: the same count).
    const count = (arg: string) => orMessage(asRequest(sql, 'authenticated', A, async (tx) => (await tx.unsafe('select public.count_notes(p => $1) as n', [arg]))[0]!['n']));
    expect(await count('b-note')).toBe('0');
    expect(await count("x'; select set_config('role', 'service_role', true); select count(*) from public.notes where '1' = '1")).toBe('2');
    expect((await rule('rpc-sql-injection', sql)).map((f) => f.message)).toEqual([
      'anon and authenticated can call public.count_notes(p text) over RPC, which runs a command string built from p unquoted (EXECUTE, line 4 of its body): the caller writes SQL of their own into it, run as themselves, who can set request.jwt.claims in it to read as any user, or, since a plain EXECUTE runs every statement of its string, the role (to any role the authenticator is a member of, such as service_role)',
    ]);
  });

  it("query_to_xml runs its string too, from a LANGUAGE sql function: on Postgres A reads B's note; reported, and not with quote_literal", async () => {
    const fn = (q: string) => `${notes}
      create function public.notes_xml(p text) returns xml language sql stable set search_path = '' as $f$
        select query_to_xml('select * from public.notes where title = ' || ${q}, true, false, '')
      $f$;`;
    const xml = (sql: string) => orMessage(asRequest(sql, 'authenticated', A, async (tx) => String((await tx.unsafe('select public.notes_xml(p => $1) as x', [inject]))[0]!['x'])));
    const open = fn(`'''' || p || ''''`);
    expect(await xml(open)).toContain('B secret');
    expect((await rule('rpc-sql-injection', open)).map((f) => f.message)).toEqual([
      'anon and authenticated can call public.notes_xml(p text) over RPC, which runs a command string built from p unquoted (query_to_xml()): the caller writes SQL of their own into it, run as themselves, who can set request.jwt.claims in it to read as any user',
    ]);
    const kept = fn('quote_literal(p)');
    expect(await xml(kept)).not.toContain('secret');
    expect(await rule('rpc-sql-injection', kept)).toEqual([]);
  });

  it('an argument an IF holds to fixed values before the string is built (raise otherwise, or only inside the IF) is not reported: on Postgres the injection stops there', async () => {
    const sorted = (guard: string, end = '') => `${notes}
      create function public.my_notes(p_dir text) returns setof public.notes language plpgsql stable security definer set search_path = '' as $f$
      begin
        ${guard}
        return query execute format('select * from public.notes where user_id = $1 order by id %s', p_dir) using auth.uid();
        ${end}
      end $f$;`;
    const attack = "asc, (select string_agg(body, ',')::int from public.notes)";
    const call = (sql: string) => orMessage(asRequest(sql, 'authenticated', A, async (tx) => (await tx.unsafe('select body from public.my_notes(p_dir => $1)', [attack])).map((r) => String(r['body']))));
    const open = sorted('');
    expect(await call(open)).toBe('invalid input syntax for type integer: "A secret,B secret"');
    expect(await rule('rpc-sql-injection', open)).toHaveLength(1);
    for (const sql of [sorted("if p_dir not in ('asc', 'desc') then raise exception 'bad direction'; end if;"), sorted("if p_dir in ('asc', 'desc') then", 'end if;')]) {
      expect(await call(sql)).not.toContain('secret');
      expect(await rule('rpc-sql-injection', sql)).toEqual([]);
    }
    // A notice does not stop the function: still reported.
    const notice = sorted("if p_dir not in ('asc', 'desc') then raise notice 'odd direction'; end if;");
    expect(await call(notice)).toBe('invalid input syntax for type integer: "A secret,B secret"');
    expect(await rule('rpc-sql-injection', notice)).toHaveLength(1);
  });

  it("an invoker RPC handing its text argument to a SECURITY DEFINER function of an unexposed schema that EXECUTEs it: on Postgres A reads every note; reported on the wrapper, and not once the helper quotes it", async () => {
    const wrapped = (query: string) => `${notes}
      create function private.find(p text) returns setof public.notes language plpgsql stable security definer set search_path = '' as $f$
      begin
        return query execute ${query};
      end $f$;
      grant usage on schema private to authenticated;
      create function public.find_note(p text) returns setof public.notes language sql stable set search_path = '' as $f$
        select * from private.find(p)
      $f$;`;
    const open = wrapped(`'select * from public.notes where title = ''' || p || ''''`);
    expect(await bodies(open, 'public.find_note(p => $1)', "x' or true --")).toEqual(['A secret', 'B secret']);
    expect((await rule('rpc-sql-injection', open)).map((f) => f.message)).toEqual([
      'authenticated can call public.find_note(p text) over RPC, which hands p unquoted to private.find(p text), and that function runs a command string built from its parameter p: the caller writes SQL of their own into it, run as postgres (SECURITY DEFINER, RLS skipped for its owner)',
    ]);
    const kept = wrapped(`format('select * from public.notes where title = %L', p)`);
    expect(await bodies(kept, 'public.find_note(p => $1)', "x' or true --")).toEqual([]);
    expect(await rule('rpc-sql-injection', kept)).toEqual([]);
  });

  it("a SECURITY DEFINER RPC with format's %s in its ORDER BY: on Postgres any caller reads every note in an error message; reported as running as its owner", async () => {
    const sql = search('security definer', `format('select * from public.notes where user_id = %L order by %s', auth.uid(), p)`);
    expect(await bodies(sql, 'public.search_notes(p => $1)', "(select string_agg(body, ',' order by id)::int from public.notes)")).toBe('invalid input syntax for type integer: "A secret,B secret"');
    expect((await rule('rpc-sql-injection', sql)).map((f) => f.message)).toEqual([
      'anon and authenticated can call public.search_notes(p text) over RPC, which runs a command string built from p unquoted (EXECUTE, line 3 of its body): the caller writes SQL of their own into it, run as postgres (SECURITY DEFINER, RLS skipped for its owner)',
    ]);
  });

  it("a switch_tenant RPC that sets a setting a policy reads for the session: on Postgres the next request on the same connection, A's, reads B's tenant; reported, and not with set_config(…, true), where A reads nothing", async () => {
    const tenant = (local: boolean) => `create table public.tenant_members (tenant_id uuid, user_id uuid, primary key (tenant_id, user_id));
      create table public.invoices (id int primary key, tenant_id uuid not null, amount int);
      alter table public.tenant_members enable row level security; alter table public.invoices enable row level security;
      create policy tm_own on public.tenant_members for select to authenticated using (user_id = (select auth.uid()));
      create policy inv_tenant on public.invoices for select to authenticated using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
      grant select on public.tenant_members, public.invoices to authenticated;
      create function public.switch_tenant(t uuid) returns void language plpgsql set search_path = '' as $f$
      begin
        if not exists (select 1 from public.tenant_members m where m.tenant_id = t and m.user_id = auth.uid()) then raise exception 'not a member'; end if;
        perform set_config('app.tenant_id', t::text, ${local});
      end $f$;
      insert into public.tenant_members values ('${B}', '${B}');
      insert into public.invoices values (1, '${B}', 20);`;
    // Two requests PostgREST runs one after the other on one pooled connection: B switches tenant, then A lists invoices.
    const nextRequestSees = async (sql: string): Promise<number[]> => {
      const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
      try {
        await withSql(db.url, (s) => s.unsafe(sql).simple());
        return await withSql(db.url, async (s) => {
          const conn = await s.reserve();
          try {
            const as = (sub: string) => `select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub": "${sub}", "role": "authenticated"}', true)`;
            await conn.unsafe(`begin; ${as(B)}; select public.switch_tenant(t => '${B}'); commit`).simple();
            await conn.unsafe(`begin; ${as(A)}`).simple();
            const ids = (await conn.unsafe('select id from public.invoices')).map((r) => Number(r['id']));
            await conn.unsafe('rollback');
            return ids;
          } finally {
            conn.release();
          }
        });
      } finally {
        await db.drop();
      }
    };
    const session = tenant(false);
    expect(await nextRequestSees(session)).toEqual([1]);
    expect((await rule('rpc-sets-identity', session)).map((f) => f.message)).toEqual([
      "anon and authenticated can call public.switch_tenant(t uuid) over RPC, which sets app.tenant_id for the session (set_config(…, false)), read by policy inv_tenant on public.invoices: the value stays on PostgREST's pooled connection, and the next request on it, another user's, is judged by it",
    ]);
    const local = tenant(true);
    expect(await nextRequestSees(local)).toEqual([]);
    expect(await rule('rpc-sets-identity', local)).toEqual([]);
  });

  it("an act-as RPC: on Postgres A reads B's notes by naming B (request.jwt.claims), or every note by naming service_role (role, which the session user may take); reported, the role not in a SECURITY DEFINER function, where Postgres refuses it", async () => {
    const fn = (name: string, arg: string, set: string, definer = '') => `create function public.${name}(${arg}) returns setof public.notes language plpgsql volatile ${definer} set search_path = '' as $f$
      begin
        perform ${set};
        return query select * from public.notes;
      end $f$;`;
    const claims = `${notes} ${fn('notes_of', 'p_user uuid', `set_config('request.jwt.claims', json_build_object('sub', p_user, 'role', 'authenticated')::text, true)`)}`;
    expect(await bodies(claims, 'public.notes_of(p_user => $1)', B)).toEqual(['B secret']);
    expect((await rule('rpc-sets-identity', claims)).map((f) => f.message)).toEqual([
      'anon and authenticated can call public.notes_of(p_user uuid) over RPC, which sets request.jwt.claims from p_user: it reads and writes as the user the caller names',
    ]);
    // The test's session user is a superuser; PostgREST's is the authenticator, a member of service_role on Supabase (checked by hand as authenticator: the same rows).
    const role = `${notes} ${fn('notes_as', 'p_role text', `set_config('role', p_role, true)`)}`;
    expect(await bodies(role, 'public.notes_as(p_role => $1)', 'service_role')).toEqual(['A secret', 'B secret']);
    expect((await rule('rpc-sets-identity', role)).map((f) => f.message)).toEqual([
      'anon and authenticated can call public.notes_as(p_role text) over RPC, which sets role from p_role: it switches to a role the caller names (any role the authenticator is a member of, service_role included)',
    ]);
    const definerRole = `${notes} ${fn('notes_as', 'p_role text', `set_config('role', p_role, true)`, 'security definer')}`;
    expect(await bodies(definerRole, 'public.notes_as(p_role => $1)', 'service_role')).toBe('cannot set parameter "role" within security-definer function');
    expect(await rule('rpc-sets-identity', definerRole)).toEqual([]);
    const own = `${notes} ${fn('notes_mine', 'p_tag text', `set_config('request.jwt.claims', json_build_object('sub', auth.uid(), 'role', 'authenticated', 'tag', 'x')::text, true)`)}`;
    expect(await bodies(own, 'public.notes_mine(p_tag => $1)', B)).toEqual(['A secret']);
    expect(await rule('rpc-sets-identity', own)).toEqual([]);
  });
});

describe('anon-write-unprotected: TRUNCATE of a table other tables reference', () => {
  const t = (accountsGrant: string) => `create table public.buckets (id text primary key);
    create table public.objects (id int primary key, bucket_id text references public.buckets);
    create table public.accounts (id int primary key, avatar_id int references public.objects);
    alter table public.buckets enable row level security; alter table public.objects enable row level security; alter table public.accounts enable row level security;
    grant all on public.buckets, public.objects to anon; ${accountsGrant}
    insert into public.buckets values ('b'); insert into public.objects values (1, 'b');`;
  const truncate = (sql: string, tables: string) => orMessage(asRequest(sql, 'anon', undefined, async (tx) => (await tx.unsafe(`truncate ${tables}`), 'truncated')));
  it("supabase/dbdev's accounts referencing storage.objects: anon, without TRUNCATE on accounts, truncates neither storage table and nothing is reported; with it, all three are", async () => {
    const kept = t('grant select on public.accounts to anon;');
    expect(await truncate(kept, 'public.objects, public.buckets')).toBe('cannot truncate a table referenced in a foreign key constraint');
    expect(await truncate(kept, 'public.buckets cascade')).toBe('permission denied for table accounts');
    expect(await rule('anon-write-unprotected', kept)).toEqual([]);
    const open = t('grant all on public.accounts to anon;');
    expect(await truncate(open, 'public.buckets cascade')).toBe('truncated');
    expect((await rule('anon-write-unprotected', open)).map((f) => f.message)).toEqual([
      'anon can truncate 3 tables in schema public (TRUNCATE ignores RLS): public.accounts, public.buckets, public.objects',
    ]);
  });
});

describe('an empty migration file (Scan-Go/mobile keeps one, 20240222011903_enable_notification_rls.sql)', () => {
  it('is a migration of no statement: the server runs it, and lint judges the files beside it instead of stopping at "Query cannot be empty"', async () => {
    expect(await withSql(serverUrl(), async (s) => (await s.unsafe('')).length)).toBe(0);
    const { findings } = await lintWith({
      migrations: [
        { displayPath: 'sql/0001_empty.sql', sql: '', judged: true },
        { displayPath: 'sql/0002_secret.sql', sql: "alter role authenticator set app.jwt_secret = 'super-secret-jwt-token-with-at-least-32-characters-long';", judged: true },
      ],
    });
    expect(findings.filter((f) => f.rule === 'migration-secret').map((f) => f.object)).toEqual(['sql/0002_secret.sql']);
  });
});

describe('migration-secret: a JWT is a secret unless it is the anon key', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const token = (claims: object) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.c2lnbmF0dXJlLW9mLXRoZS1leGFtcGxlLWtleS0x`;
  const secrets = async (claims: object, settings = {}) =>
    (
      await lintWith({ migrations: [{ displayPath: 'sql/0001_keys.sql', sql: `create function public.key() returns text language sql as $$ select '${token(claims)}' $$;`, judged: true }], settings })
    ).findings.filter((f) => f.rule === 'migration-secret');
  it("supabase/dbdev's stored anon key (role anon, no sub) is what every browser gets: no finding; a service_role key, a user's token, or anon's key where the API's anonymous role is another, are", async () => {
    expect(await secrets({ iss: 'supabase', ref: 'exampleref', role: 'anon', iat: 1, exp: 2 })).toEqual([]);
    expect(await secrets({ iss: 'supabase', ref: 'exampleref', role: 'service_role', iat: 1, exp: 2 })).toHaveLength(1);
    expect(await secrets({ sub: '00000000-0000-4000-8000-00000000000b', role: 'anon', exp: 2 })).toHaveLength(1);
    expect(await secrets({ role: 'anon' }, { anonRole: 'web_anon' })).toHaveLength(1);
  });
});

describe('write-policy-unbound: an UPDATE or DELETE policy for anon that never asks who the caller is', () => {
  const B = '00000000-0000-4000-8000-00000000000b';
  const storage = (policies: string) => `create schema storage; grant usage on schema storage to anon, authenticated;
    create table storage.buckets (id text primary key, name text not null, public boolean not null default false);
    create table storage.objects (id uuid primary key default gen_random_uuid(), bucket_id text references storage.buckets, name text, owner_id text);
    alter table storage.buckets enable row level security; alter table storage.objects enable row level security;
    grant all on storage.buckets, storage.objects to anon, authenticated;
    insert into storage.buckets values ('uploads', 'uploads', false);
    insert into storage.objects (bucket_id, name, owner_id) values ('uploads', '${B}/contract.pdf', '${B}');
    ${policies}`;
  // Storage's list (select … where bucket_id = $1 and name like prefix) and remove (delete … where bucket_id = $1 and name in (…) returning *), run as anon.
  const storageList = (sql: string) => asRequest(sql, 'anon', undefined, async (tx) => (await tx.unsafe(`select name from storage.objects where bucket_id = 'uploads' and name like $1`, [`${B}/%`])).length);
  const storageRemove = (sql: string) =>
    asRequest(sql, 'anon', undefined, async (tx) => (await tx.unsafe(`delete from storage.objects where bucket_id = 'uploads' and name = any($1) returning name`, [[`${B}/contract.pdf`]])).length);
  const bucketOnly = `create policy "anon read" on storage.objects for select to anon using (bucket_id = 'uploads');
    create policy "anon remove" on storage.objects for delete to anon using (bucket_id = 'uploads');
    create policy "anon move" on storage.objects for update to anon using (bucket_id = 'uploads');`;

  it("a private bucket's files that every visitor lists, removes and moves (quivr's policies): reported; not when anon reads none of them, so Storage removes none", async () => {
    const sql = storage(bucketOnly);
    expect(await storageList(sql)).toBe(1);
    expect(await storageRemove(sql)).toBe(1);
    expect((await rule('write-policy-unbound', sql)).map((f) => f.object).sort()).toEqual(['anon move on storage.objects', 'anon remove on storage.objects']);
    const unread = storage(`create policy "anon remove" on storage.objects for delete to anon using (bucket_id = 'uploads');`);
    expect(await storageRemove(unread)).toBe(0);
    expect(await rule('write-policy-unbound', unread)).toEqual([]);
  });

  it('a table anon deletes from through PostgREST: an unfiltered DELETE takes every draft, reported; the same policy for authenticated beside open reads, and anon updating one granted column, are not', async () => {
    const t = (policies: string) => `create table public.notes (id int primary key, body text, status text, views int not null default 0);
      alter table public.notes enable row level security; grant select, update, delete on public.notes to anon, authenticated;
      insert into public.notes values (1, 'b', 'draft'), (2, 'c', 'published');
      create policy "read all" on public.notes for select using (true);
      ${policies}`;
    const drafts = t(`create policy "drop drafts" on public.notes for delete to anon using (status = 'draft');`);
    expect(await asRequest(drafts, 'anon', undefined, async (tx) => (await tx.unsafe('delete from public.notes')).count)).toBe(1);
    expect((await rule('write-policy-unbound', drafts)).map((f) => f.message)).toEqual([
      `policy drop drafts on public.notes lets anon delete every row its USING ((status = 'draft'::text)) admits: anon is every visitor without signing in, and the policy never asks who the caller is`,
    ]);
    expect(await rule('write-policy-unbound', t(`create policy "drop drafts" on public.notes for delete to authenticated using (status = 'draft');`))).toEqual([]);
    const counter = `${t(`create policy "count views" on public.notes for update to anon using (status = 'published');`)}
      revoke update on public.notes from anon; grant update (views) on public.notes to anon;`;
    expect(await asRequest(counter, 'anon', undefined, async (tx) => (await tx.unsafe('update public.notes set views = views + 1')).count)).toBe(1);
    expect(await rule('write-policy-unbound', counter)).toEqual([]);
  });
});

describe("write-policy-unbound: a write policy whose USING is never true (gonasi's service-role-only credits)", () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';
  const t = (writes: string) => `create table public.credits (id int primary key, user_id uuid not null, amount int not null);
    alter table public.credits enable row level security; grant select, update, delete on public.credits to authenticated;
    insert into public.credits values (1, '${A}', 10), (2, '${B}', 20);
    create policy "own credits" on public.credits for select to authenticated using (user_id = (select auth.uid()));
    ${writes}`;
  const unfiltered = (sql: string, stmt: string) => asRequest(sql, 'authenticated', A, async (tx) => (await tx.unsafe(stmt)).count);

  it('using (false) for delete and update lets no one write a row (an unfiltered PATCH and DELETE change none): not reported; using (amount > 0) beside the same reads still is', async () => {
    const never = t(`create policy "service role only (delete)" on public.credits for delete to authenticated using (false);
      create policy "service role only (update)" on public.credits for update to authenticated using (false) with check (false);`);
    expect(await unfiltered(never, 'delete from public.credits')).toBe(0);
    expect(await unfiltered(never, 'update public.credits set amount = 1000')).toBe(0);
    expect(await rule('write-policy-unbound', never)).toEqual([]);
    const open = t(`create policy "drop spent" on public.credits for delete to authenticated using (amount > 0);`);
    expect(await unfiltered(open, 'delete from public.credits')).toBe(2);
    expect((await rule('write-policy-unbound', open)).map((f) => f.object)).toEqual(['drop spent on public.credits']);
  });
});

describe('policy-check-unbound: an upload policy that forgets the folder the reads pick files by', () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';
  const folder = '(storage.foldername(name))[1] = (select auth.uid())::text';
  const storage = (insertCheck: string) =>
    supabaseStorage(`insert into storage.buckets values ('docs', 'docs', false);
    create policy "read own folder" on storage.objects for select to authenticated using (bucket_id = 'docs' and ${folder});
    create policy "upload" on storage.objects for insert to authenticated with check (${insertCheck});`);
  // Storage's upload: insert … (bucket_id, name, owner, owner_id) with the owner from the JWT.
  const upload = (sql: string) =>
    withPlanted(sql, async (url) => rolledBackRequest(url, `set local role authenticated; select set_config('request.jwt.claims', '{"sub":"${A}","role":"authenticated"}', true); insert into storage.objects (bucket_id, name, owner, owner_id) values ('docs', '${B}/invoice.pdf', '${A}', '${A}'); reset role;`, 'authenticated', { sub: B, role: 'authenticated' }, async (tx) => (await tx.unsafe(`select name from storage.objects`)).map((r) => r['name'] as string)));
  const withPlanted = async <T>(sql: string, body: (url: string) => Promise<T>): Promise<T> => {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(sql).simple());
      return await body(db.url);
    } finally {
      await db.drop();
    }
  };

  it("on Postgres a user plants a file in another user's folder, who then lists it: reported, naming name and the read policy", async () => {
    const sql = storage("bucket_id = 'docs'");
    expect(await upload(sql)).toEqual([`${B}/invoice.pdf`]);
    const found = await rule('policy-check-unbound', sql);
    expect(found.map((f) => f.message)).toEqual([
      'policy upload lets authenticated write rows of storage.objects into any name: its WITH CHECK never ties name to the caller, which policy read own folder uses to pick the rows a caller sees',
    ]);
  });

  it('with the folder test in the upload policy the insert is refused and nothing is reported', async () => {
    const sql = storage(`bucket_id = 'docs' and ${folder}`);
    await expect(upload(sql)).rejects.toThrow(/new row violates row-level security policy/);
    expect(await rule('policy-check-unbound', sql)).toEqual([]);
  });
});

describe('public-bucket-listable: a SELECT policy that admits every object of a public bucket', () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';
  const storage = (policies: string) =>
    supabaseStorage(`insert into storage.buckets values ('avatars', 'avatars', true), ('media', 'media', true), ('private', 'private', false);
    insert into storage.objects (bucket_id, name, owner_id) values
      ('avatars', '${A}/unlinked-draft.png', '${A}'), ('avatars', '${B}/b.png', '${B}'), ('private', 'p.pdf', '${A}');
    ${policies}`);
  const listed = (sql: string, role: 'anon' | 'authenticated', sub?: string) =>
    asRequest(sql, role, sub, async (tx) => (await tx.unsafe(`select name from storage.objects where bucket_id = 'avatars' order by name`)).map((r) => r['name'] as string));

  it('on Postgres anon (to public) and any user (a role test, an IN list) list every file of the bucket; each is reported with the roles and buckets it opens', async () => {
    const sql = storage(`create policy "Public avatars" on storage.objects for select using (bucket_id = 'avatars');
      create policy "Signed-in media" on storage.objects for select using (auth.role() = 'authenticated' and bucket_id in ('media', 'avatars'));`);
    expect(await listed(sql, 'anon')).toEqual([`${A}/unlinked-draft.png`, `${B}/b.png`]);
    expect(await listed(sql, 'authenticated', B)).toEqual([`${A}/unlinked-draft.png`, `${B}/b.png`]);
    const found = await rule('public-bucket-listable', sql);
    expect(found.map((f) => f.message)).toEqual([
      'policy Public avatars on storage.objects admits every object of a public bucket: anon and authenticated list every file of public bucket avatars, and Storage serves each of them by URL to anyone',
      'policy Signed-in media on storage.objects admits every object of a public bucket: authenticated lists every file of public buckets avatars and media, and Storage serves each of them by URL to anyone',
    ]);
  });

  it('a listing limited to the caller\'s files, a private bucket, a restrictive owner policy and a role without the grant are not reported; on Postgres the user lists only their own', async () => {
    const own = storage(`create policy "Own avatars" on storage.objects for select to authenticated using (bucket_id = 'avatars' and owner_id = (select auth.uid())::text);
      create policy "Private readers" on storage.objects for select to authenticated using (bucket_id = 'private');`);
    expect(await listed(own, 'authenticated', B)).toEqual([`${B}/b.png`]);
    expect(await rule('public-bucket-listable', own)).toEqual([]);
    const narrowed = storage(`create policy "Public avatars" on storage.objects for select using (bucket_id = 'avatars');
      create policy "Only own" on storage.objects as restrictive for select to anon, authenticated using (owner_id = (select auth.uid())::text);`);
    expect(await listed(narrowed, 'anon')).toEqual([]);
    expect(await rule('public-bucket-listable', narrowed)).toEqual([]);
    const noGrant = storage(`revoke select on storage.objects from anon; create policy "Public avatars" on storage.objects for select to anon using (bucket_id = 'avatars');`);
    expect(await rule('public-bucket-listable', noGrant)).toEqual([]);
    // The same policy once the bucket is made private: its files are no longer served by URL.
    const made = storage(`update storage.buckets set public = false where id = 'avatars'; create policy "Public avatars" on storage.objects for select using (bucket_id = 'avatars');`);
    expect(await rule('public-bucket-listable', made)).toEqual([]);
  });
});

describe('policy-check-unbound: an UPDATE whose USING binds the owner but whose WITH CHECK does not', () => {
  const t = (col: string, cmp: string) => `create table public.t (id int primary key, ${col} not null, body text);
    alter table public.t enable row level security;
    grant select, update on public.t to authenticated;
    create policy sel on public.t for select to authenticated using (${cmp});
    create policy upd on public.t for update to authenticated using (${cmp}) with check (true);`;

  it('on Postgres, the owner hands a row to another user; reported as such, also for an owner column named only by the policies', async () => {
    const sql = t('user_id uuid', '(select auth.uid()) = user_id');
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${sql} insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'mine')`).simple());
      const moved = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`set local role authenticated; select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000001","role":"authenticated"}', true)`).simple();
          // No WHERE and no RETURNING: the UPDATE reads no column, so the SELECT policy is not checked on the new row.
          await tx.unsafe(`update public.t set user_id = '00000000-0000-4000-8000-000000000002'`);
          await tx.unsafe('reset role');
          return tx.unsafe(`select user_id from public.t`);
        }),
      );
      expect(moved.map((r) => r['user_id'])).toEqual(['00000000-0000-4000-8000-000000000002']);
    } finally {
      await db.drop();
    }
    expect((await rule('policy-check-unbound', sql)).map((f) => f.message)).toEqual([
      'policy upd lets authenticated set user_id of their own rows of public.t to anyone: its WITH CHECK never compares it with the caller, so a row can be handed to another user or tenant (an UPDATE that filters or returns rows must also pass SELECT policy sel; one that reads no column, such as a PATCH without filters, does not)',
    ]);
    // No foreign key and no owner-like name: the policies' `(select auth.uid())::text = owner_text` says whose row it is.
    expect((await rule('policy-check-unbound', t('owner_text text', '(select auth.uid())::text = owner_text'))).map((f) => f.object)).toEqual(['upd on public.t']);
  });
});

// Seen on supabase/supabase examples/todo-list/nextjs-todo-list/supabase/migrations/20230712094349_init.sql: the finding named
// the INSERT policy ("Individuals can create todos.") as the reason an index is needed.
describe('claim-column-unindexed: a WITH CHECK judges the written row, which no scan finds', () => {
  const feedback = (policies: string) => `create table public.feedback (id int primary key, user_id uuid not null, org_id int not null, body text);
    create table public.members (org_id int not null, user_id uuid not null);
    alter table public.feedback enable row level security;
    grant insert, select on public.feedback to authenticated;
    ${policies}`;
  const insertOwn = 'create policy send on public.feedback for insert to authenticated with check (user_id = (select auth.uid()));';

  it('an insert-only table needs no index on the column its check compares; a SELECT policy on it does, and is the one named; on Postgres the insert scans nothing', async () => {
    expect(await rule('claim-column-unindexed', feedback(insertOwn))).toEqual([]);
    const f = await rule('claim-column-unindexed', feedback(`${insertOwn} create policy read_own on public.feedback for select to authenticated using (user_id = (select auth.uid()));`));
    expect(f.map((x) => [x.object, x.message])).toEqual([['public.feedback.user_id', expect.stringContaining('in policy read_own on public.feedback')]]);
    // A sub-select in the check still reads its table, once per written row.
    const viaMembers = await rule('claim-column-unindexed', feedback('create policy send on public.feedback for insert to authenticated with check (org_id in (select m.org_id from public.members m where m.user_id = (select auth.uid())));'));
    expect(viaMembers.map((x) => x.object)).toEqual(['public.members.user_id']);
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${feedback(insertOwn)} insert into public.feedback select g, gen_random_uuid(), 1, 'x' from generate_series(1, 2000) g; analyze public.feedback;`).simple());
      const plan = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated"}', true)`);
          return tx.unsafe(`explain (format json) insert into public.feedback values (5000, '00000000-0000-4000-8000-000000000002', 1, 'hi')`);
        }),
      );
      const text = JSON.stringify(plan);
      expect(text).toContain('"Node Type":"ModifyTable"');
      expect(text).not.toMatch(/Scan/);
    } finally {
      await db.drop();
    }
  });
});

describe('auth-call-per-row: a bare call in WITH CHECK runs once per row written, not scanned', () => {
  it('says which; on Postgres a STABLE call in a check runs for each inserted row, wrapped once per statement', async () => {
    const t = `create table public.todos (id int primary key, user_id uuid not null);
      alter table public.todos enable row level security;
      grant select, insert on public.todos to authenticated;`;
    const f = await rule('auth-call-per-row', `${t}
      create policy add on public.todos for insert to authenticated with check (auth.uid() = user_id);
      create policy mine on public.todos for select to authenticated using (auth.uid() = user_id);`);
    expect(Object.fromEntries(f.map((x) => [x.object, x.message.replace(/^.* calls /, '')]))).toEqual({
      'add on public.todos': 'auth.uid() once per row written (in its WITH CHECK)',
      'mine on public.todos': 'auth.uid() once per row scanned',
    });
    // GoTrue's auth.uid() is inlined, so a PL/pgSQL stand-in shows the calls (pg_stat_xact_user_functions).
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) =>
        s.unsafe(`${t} create function public.me() returns uuid language plpgsql stable as $$ begin return auth.uid(); end $$;
          grant execute on function public.me() to authenticated;`).simple(),
      );
      // Each measurement is one transaction, rolled back.
      const calls = (check: string): Promise<number> =>
        rolledBackRequest(
          db.url,
          `set local track_functions = 'all'; create policy add on public.todos for insert to authenticated with check (${check});`,
          'authenticated',
          { sub: '00000000-0000-4000-8000-000000000002', role: 'authenticated' },
          async (tx) => {
            await tx.unsafe(`insert into public.todos select g, '00000000-0000-4000-8000-000000000002' from generate_series(1, 3) g`);
            const [row] = await tx.unsafe(`select calls from pg_stat_xact_user_functions where funcname = 'me'`);
            return Number(row!['calls']);
          },
        );
      expect(await calls('public.me() = user_id')).toBe(3);
      expect(await calls('(select public.me()) = user_id')).toBe(1);
    } finally {
      await db.drop();
    }
  });
});

// Reduced from supabase/supabase examples/supa-builder/supabase/migrations/20260131000001_initial_schema.sql (project_audit_logs).
describe('audit-table-mutable: a role that RLS lets change no row is not named for UPDATE or DELETE', () => {
  it('names TRUNCATE for the API roles, everything for the owner and BYPASSRLS roles; on Postgres authenticated updates and deletes nothing', async () => {
    const sql = `create table public.project_audit_logs (id int primary key, actor_id uuid not null, action text not null);
      alter table public.project_audit_logs enable row level security;
      grant all on public.project_audit_logs to anon, authenticated, service_role;
      create policy read_own on public.project_audit_logs for select to authenticated using (actor_id = (select auth.uid()));
      create policy log_own on public.project_audit_logs for insert to authenticated with check (actor_id = (select auth.uid()));`;
    const f = await rule('audit-table-mutable', sql);
    expect(f).toHaveLength(1);
    const open = f[0]!.message.replace(/^.*can be rewritten: /, '').replace(/ and no trigger rejects it$/, '').split('; ');
    expect(open).toEqual(expect.arrayContaining(['anon can TRUNCATE', 'authenticated can TRUNCATE', 'service_role can UPDATE, DELETE and TRUNCATE']));
    expect(open.find((x) => x.endsWith('can UPDATE, DELETE and TRUNCATE') && !x.startsWith('service_role'))).toBeDefined(); // the owner
    // A permissive UPDATE policy gives authenticated a way to change rows again.
    const upd = await rule('audit-table-mutable', `${sql} create policy fix_own on public.project_audit_logs for update to authenticated using (actor_id = (select auth.uid()));`);
    expect(upd[0]!.message).toContain('authenticated can UPDATE and TRUNCATE');
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${sql} insert into public.project_audit_logs values (1, '00000000-0000-4000-8000-000000000002', 'create');`).simple());
      const changed = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated"}', true)`);
          const u = await tx.unsafe(`update public.project_audit_logs set action = 'forged'`);
          const d = await tx.unsafe('delete from public.project_audit_logs');
          return u.count + d.count;
        }),
      );
      expect(changed).toBe(0);
    } finally {
      await db.drop();
    }
  });
});

describe('fixes quote identifiers', () => {
  it('a mixed-case table and column get fixes that run as written', async () => {
    const sql = `create table public."Weird Table" ("User Id" uuid references auth.users, body text);
      grant select on public."Weird Table" to authenticated;
      create table public."Notes" (id int primary key, "Owner" uuid, body text);
      alter table public."Notes" enable row level security;
      grant select, update on public."Notes" to authenticated;
      create policy sel on public."Notes" for select to authenticated using ("Owner" = (select auth.uid()));
      create policy upd on public."Notes" for update to authenticated using (true);`;
    const model = await modelOf(template, sql);
    const { findings } = await lintWith({ model });
    const fix = (rule: string, object: string) => findings.find((f) => f.rule === rule && f.object === object)?.fix;
    expect(fix('rls-disabled-in-api', 'public.Weird Table')).toBe('alter table public."Weird Table" enable row level security; then add policies for authenticated');
    expect(fix('unindexed-foreign-key', 'public.Weird Table.User Id')).toBe('create index concurrently on public."Weird Table" ("User Id")');
    expect(fix('claim-column-unindexed', 'public.Notes.Owner')).toBe('create index concurrently on public."Notes" ("Owner")');
    expect(fix('policy-always-true', 'upd on public.Notes')).toBe('compare the row\'s owner with the caller, e.g. using ((select auth.uid()) = "Owner")');
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(sql).simple());
      for (const stmt of [
        'alter table public."Weird Table" enable row level security',
        fix('unindexed-foreign-key', 'public.Weird Table.User Id')!,
        fix('claim-column-unindexed', 'public.Notes.Owner')!,
        `alter policy upd on public."Notes" ${fix('policy-always-true', 'upd on public.Notes')!.replace(/^.*e\.g\. /, '')}`,
      ]) await withSql(db.url, (s) => s.unsafe(stmt));
    } finally {
      await db.drop();
    }
  });
});

describe('policy-trusts-request-header', () => {
  const schema = (using: string) => `create table public.docs (id int primary key, org_id uuid not null, body text);
    alter table public.docs enable row level security;
    grant select on public.docs to authenticated;
    create policy by_header on public.docs for select to authenticated using (${using});`;
  const header = "org_id = ((select current_setting('request.headers', true))::json ->> 'x-org-id')::uuid";

  it('on Postgres, whoever sends the header reads that org\'s rows; reported per OR branch, quiet when a branch ties the row to the caller', async () => {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${schema(header)} insert into public.docs values (1, '00000000-0000-4000-8000-00000000000a', 'org a only')`).simple());
      const rows = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          // What PostgREST sets for a request by a user of another org who adds `x-org-id: …a`.
          await tx.unsafe(`set local role authenticated; select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated"}', true),
            set_config('request.headers', '{"x-org-id":"00000000-0000-4000-8000-00000000000a"}', true)`).simple();
          return tx.unsafe('select body from public.docs');
        }),
      );
      expect(rows.map((r) => r['body'])).toEqual(['org a only']);
    } finally {
      await db.drop();
    }
    const f = await rule('policy-trusts-request-header', schema(`org_id = (select auth.uid()) or ${header}`));
    expect(f.map((x) => x.message)).toEqual([
      "policy by_header on public.docs lets rows through on request.headers ->> 'x-org-id', which the client sends with every request: authenticated can send any value and read the rows it names",
    ]);
    expect(await rule('policy-trusts-request-header', schema(`${header} and org_id = (select auth.uid())`))).toEqual([]);
    expect(await rule('policy-trusts-request-header', schema(`org_id = (select auth.uid())`))).toEqual([]);
    // The method is the operation itself, not a claim about who the caller is.
    expect(await rule('policy-trusts-request-header', schema(`current_setting('request.method', true) = 'GET'`))).toEqual([]);
    expect((await rule('policy-trusts-request-header', schema(`org_id::text = current_setting('request.cookies', true)::json ->> 'org'`))).map((x) => x.object)).toEqual(['by_header on public.docs']);
  });
});

describe('rls-enabled-no-policy: only restrictive policies', () => {
  it('on Postgres, a restrictive owner policy alone admits no row, even the owner\'s; reported, and not once a permissive policy exists', async () => {
    const sql = `create table public.t (id int primary key, user_id uuid);
      alter table public.t enable row level security;
      grant select on public.t to authenticated;
      create policy own on public.t as restrictive for select to authenticated using ((select auth.uid()) = user_id);`;
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${sql} insert into public.t values (1, '00000000-0000-4000-8000-000000000001')`).simple());
      const rows = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`set local role authenticated; select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000001","role":"authenticated"}', true)`).simple();
          return tx.unsafe('select id from public.t');
        }),
      );
      expect(rows).toHaveLength(0);
    } finally {
      await db.drop();
    }
    expect((await rule('rls-enabled-no-policy', sql)).map((f) => f.message)).toEqual([
      'public.t has RLS on and only restrictive policies (own), which narrow permissive ones and admit nothing alone: authenticated is granted access but every row is denied',
    ]);
    expect(await rule('rls-enabled-no-policy', `${sql} create policy all_rows on public.t for select to authenticated using (true);`)).toEqual([]);
  });
});

describe('policy-always-true: a restrictive MFA policy does not narrow the rows', () => {
  it('using (true) AND aal2 still lets every user with MFA update every row; a restrictive owner test does narrow it', async () => {
    const t = (restrictive: string) => `create table public.t (id int primary key, user_id uuid, body text);
      alter table public.t enable row level security;
      grant select, update on public.t to authenticated;
      create policy s on public.t for select to authenticated using ((select auth.uid()) = user_id);
      create policy p on public.t for update to authenticated using (true);
      create policy r on public.t as restrictive for update to authenticated using (${restrictive});`;
    expect((await rule('policy-always-true', t("(select auth.jwt() ->> 'aal') = 'aal2'"))).map((f) => f.message)).toEqual(['policy p is always true on public.t: authenticated can update every row']);
    expect(await rule('policy-always-true', t('(select auth.uid()) = user_id'))).toEqual([]);
  });
});

describe('policy-always-true on SELECT: an owner-only SELECT policy it overrides', () => {
  const t = (extra: string) => `create table public.messages (id int primary key, user_id uuid not null, body text);
    alter table public.messages enable row level security;
    grant select on public.messages to authenticated;
    create policy signed_in on public.messages for select to authenticated using ((select auth.uid()) is not null);
    ${extra}`;

  it('is reported when an owner policy shows reads were meant per owner; a plain public-read table is not', async () => {
    const f = await rule('policy-always-true', t('create policy own on public.messages for select to authenticated using ((select auth.uid()) = user_id);'));
    expect(f.map((x) => x.message)).toEqual(['policy signed_in is always true on public.messages: authenticated can read every row, which makes the owner test of own pointless']);
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${t('create policy own on public.messages for select to authenticated using ((select auth.uid()) = user_id);')}
        insert into public.messages values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only')`).simple());
      const rows = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`set local role authenticated; select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated"}', true)`).simple();
          return tx.unsafe('select body from public.messages');
        }),
      );
      expect(rows.map((r) => r['body'])).toEqual(['for user 1 only']); // user 2 reads it: the owner policy decides nothing
    } finally {
      await db.drop();
    }
    expect(await rule('policy-always-true', t(''))).toEqual([]);
    expect(await rule('policy-always-true', t("create policy published on public.messages for select to authenticated using (body <> '');"))).toEqual([]);
  });
});

describe('policy-always-true on SELECT: sensitive columns count only when the role can read them', () => {
  const t = (grant: string) => `create table public.profiles (id uuid primary key, username text, email text, phone text);
    alter table public.profiles enable row level security;
    create policy read_all on public.profiles for select to anon, authenticated using (true);
    ${grant}
    insert into public.profiles values ('00000000-0000-4000-8000-000000000001', 'one', 'one@example.com', '+1');`;

  it("column privileges that leave email and phone out (Supabase's column-level security) are a correct public profile; granting them is reported", async () => {
    // Postgres refuses anon the email column under the column grant, and serves it under the table grant.
    const emailAsAnon = (sqlText: string) =>
      orMessage(asRequest(sqlText, 'anon', undefined, async (tx) => (await tx.unsafe('select email from public.profiles')).map((r) => r['email'] as string)));
    const columns = t('grant select (id, username) on public.profiles to anon, authenticated;');
    expect(await emailAsAnon(columns)).toBe('permission denied for table profiles');
    expect(await rule('policy-always-true', columns)).toEqual([]);

    const table = t('grant select on public.profiles to anon, authenticated;');
    expect(await emailAsAnon(table)).toEqual(['one@example.com']);
    expect((await rule('policy-always-true', table)).map((f) => f.message)).toEqual([
      'policy read_all is always true on public.profiles: anon can read every row; authenticated can read every row (sensitive columns: email, phone)',
    ]);
    // A column grant that includes email: only the columns granted are named, and only for the role that holds them.
    expect((await rule('policy-always-true', t('grant select (id, username) on public.profiles to anon; grant select (id, username, email) on public.profiles to authenticated;'))).map((f) => f.message)).toEqual([
      'policy read_all is always true on public.profiles: authenticated can read every row (sensitive columns: email)',
    ]);
  });

  it("a boolean named after an email (gonasi's notification types: default_email, send by email or not) holds no address: a public read of it is not reported; the same name as text is", async () => {
    const types = (kind: string) => `create table public.notification_types (id int primary key, title text not null, default_email ${kind});
      alter table public.notification_types enable row level security; grant select on public.notification_types to authenticated;
      create policy read_types on public.notification_types for select to authenticated using (true);
      insert into public.notification_types values (1, 'Invoice ready', ${kind === 'boolean' ? 'true' : "'billing@example.com'"});`;
    const read = (sqlText: string) => asRequest(sqlText, 'authenticated', '00000000-0000-4000-8000-000000000001', async (tx) => (await tx.unsafe('select default_email from public.notification_types')).map((r) => r['default_email']));
    expect(await read(types('boolean'))).toEqual([true]);
    expect(await rule('policy-always-true', types('boolean'))).toEqual([]);
    expect(await read(types('text'))).toEqual(['billing@example.com']);
    expect((await rule('policy-always-true', types('text'))).map((f) => f.message)).toEqual([
      'policy read_types is always true on public.notification_types: authenticated can read every row (sensitive columns: default_email)',
    ]);
  });
});

/**
 * `body` run as one request PostgREST's way — role and request.jwt.claims set transaction-locally
 * (`sub` only when given) — in a fresh copy of the template with `sqlText` run in it, which is
 * dropped afterwards. A refused request rejects with Postgres's error.
 */
async function asRequest<T>(sqlText: string, role: 'anon' | 'authenticated', sub: string | undefined, body: (tx: TransactionSql) => Promise<T>): Promise<T> {
  const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
  try {
    await withSql(db.url, (s) => s.unsafe(sqlText).simple());
    return await rolledBackRequest(db.url, '', role, sub ? { sub, role } : { role }, body);
  } finally {
    await db.drop();
  }
}

/**
 * What `body` gives in one transaction on an existing database `url` that runs `setup`, then becomes
 * `role` with `claims` as PostgREST does; always rolled back, so the next call starts from the same rows.
 */
async function rolledBackRequest<T>(url: string, setup: string, role: string, claims: Record<string, unknown>, body: (tx: TransactionSql) => Promise<T>): Promise<T> {
  const ROLLBACK = Symbol('rollback');
  let result: T | undefined;
  await withSql(url, (s) =>
    s.begin(async (tx) => {
      if (setup) await tx.unsafe(setup).simple();
      await tx.unsafe(`select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, [role, JSON.stringify(claims)]);
      result = await body(tx);
      throw ROLLBACK;
    }),
  ).catch((e: unknown) => {
    if (e !== ROLLBACK) throw e;
  });
  return result as T;
}

/** The error's message in place of a result, for a request Postgres refuses. */
const orMessage = <T>(p: Promise<T>): Promise<T | string> => p.catch((e: Error) => e.message);

/** The rows of public.t that a user (or anon, with no sub) reads, PostgREST's way. */
async function readsAs(sqlText: string, role: 'anon' | 'authenticated', sub?: string): Promise<string[]> {
  return asRequest(sqlText, role, sub, async (tx) => (await tx.unsafe('select body from public.t order by id')).map((r) => r['body'] as string));
}

describe('policy-subselect-uncorrelated: a gate on rows any user can write (found on mckaywrigley/chatbot-ui)', () => {
  const owner = '00000000-0000-4000-8000-000000000001';
  const other = '00000000-0000-4000-8000-000000000002';
  // Meant: an image whose second path segment is a shared album. Inside the sub-select the
  // unqualified `name` is albums.name, so the test never looks at the image.
  const t = (image: string) => `create table public.images (id int primary key, name text not null);
    alter table public.images enable row level security;
    grant select on public.images to anon, authenticated;
    create table public.albums (id uuid primary key, user_id uuid not null, name text not null, shared boolean not null default false);
    alter table public.albums enable row level security;
    grant select, insert on public.albums to authenticated;
    create policy own_albums on public.albums for all to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
    create policy read_images on public.images for select using (split_part(name, '/', 1) = (select auth.uid())::text or exists (select 1 from public.albums a where a.id::text = split_part(${image}, '/', 2) and a.shared));
    insert into public.images values (1, '${owner}/11111111-0000-4000-8000-000000000001/private.png');`;
  const flip = `insert into public.albums values ('22222222-0000-4000-8000-000000000002', '${other}', 'x/22222222-0000-4000-8000-000000000002', true)`;

  it('is reported when the caller can write what the sub-select reads; on Postgres one album row the caller writes opens every image', async () => {
    const captured = t('name');
    expect((await rule('policy-subselect-uncorrelated', captured)).map((f) => f.message)).toEqual([
      'policy read_images on public.images reads public.albums in a sub-select that refers to neither the images row nor the caller, and authenticated can write the columns it reads there: a user who writes rows of their own that satisfy it passes it, and can then see every row the rest of the condition lets through (so can anyone else who can read those rows)',
    ]);
    expect(await asRequest(captured, 'authenticated', other, async (tx) => {
      const before = (await tx.unsafe('select id from public.images')).length;
      await tx.unsafe(flip);
      return [before, (await tx.unsafe('select id from public.images')).length];
    })).toEqual([0, 1]);
  });

  it('the sub-select tied to the row, or reading a table no API role can write, is not', async () => {
    expect(await rule('policy-subselect-uncorrelated', t('images.name'))).toEqual([]);
    expect(await asRequest(t('images.name'), 'authenticated', other, async (tx) => {
      await tx.unsafe(flip);
      return (await tx.unsafe('select id from public.images')).length;
    })).toBe(0);
    expect(await rule('policy-subselect-uncorrelated', t('name').replace('grant select, insert on public.albums', 'grant select on public.albums'))).toEqual([]);
  });
});

describe('write-policy-unbound: an OR branch of a write policy that never asks who the caller is', () => {
  const owner = '00000000-0000-4000-8000-000000000001';
  const other = '00000000-0000-4000-8000-000000000002';
  // A FOR ALL policy whose second branch was meant for reads (a team found by its join code):
  // every team gets a code, so every signed-in user reads, renames and deletes every team.
  const t = (policies: string) => `create table public.teams (id int primary key, created_by uuid not null, code text, name text);
    alter table public.teams enable row level security;
    grant select, insert, update, delete on public.teams to authenticated;
    ${policies}
    insert into public.teams values (1, '${owner}', 'X7Q2', 'owner''s team');`;
  const forAll = t('create policy team_access on public.teams for all to authenticated using (created_by = (select auth.uid()) or code is not null);');

  it('is reported for the commands whose new row the branch also passes, and on Postgres another user renames and deletes the row', async () => {
    expect((await rule('write-policy-unbound', forAll)).map((f) => f.message)).toEqual([
      'policy team_access on public.teams lets authenticated update and delete every row its OR branch on code admits: that branch never asks who the caller is, so it passes for every user beside the branches that do',
    ]);
    const wrote = await asRequest(forAll, 'authenticated', other, async (tx) => [
      ...(await tx.unsafe(`update public.teams set name = 'renamed' where id = 1 returning name`)).map((r) => r['name'] as string),
      ...(await tx.unsafe('delete from public.teams returning id')).map((r) => String(r['id'])),
    ]);
    expect(wrote).toEqual(['renamed', '1']);
  });

  it('a WITH CHECK that binds the new row to the caller leaves the DELETE only; a restrictive owner policy or a FOR SELECT policy, nothing', async () => {
    const bound = t('create policy team_access on public.teams for all to authenticated using (created_by = (select auth.uid()) or code is not null) with check (created_by = (select auth.uid()));');
    expect((await rule('write-policy-unbound', bound)).map((f) => f.message)).toEqual([
      'policy team_access on public.teams lets authenticated delete every row its OR branch on code admits: that branch never asks who the caller is, so it passes for every user beside the branches that do',
    ]);
    // On Postgres the other user's UPDATE cannot keep the row theirs to anyone but themselves.
    expect(await orMessage(asRequest(bound, 'authenticated', other, (tx) => tx.unsafe(`update public.teams set name = 'renamed' where id = 1`)))).toMatch(/violates row-level security policy/);
    const narrowed = t(`create policy team_access on public.teams for all to authenticated using (created_by = (select auth.uid()) or code is not null);
      create policy own_writes_u on public.teams as restrictive for update to authenticated using (created_by = (select auth.uid()));
      create policy own_writes_d on public.teams as restrictive for delete to authenticated using (created_by = (select auth.uid()));`);
    expect(await rule('write-policy-unbound', narrowed)).toEqual([]);
    expect(await asRequest(narrowed, 'authenticated', other, async (tx) => (await tx.unsafe('delete from public.teams returning id')).length)).toBe(0);
    expect(await rule('write-policy-unbound', t('create policy team_read on public.teams for select to authenticated using (created_by = (select auth.uid()) or code is not null);'))).toEqual([]);
  });
});

describe('policy-always-true: branches true for every row (found by the differential against Postgres, test/lint/holes-postgres.test.ts)', () => {
  const rows = `insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;
  const t = (nullable: string, policies: string) => `create table public.t (id int primary key, user_id uuid ${nullable}, body text);
    alter table public.t enable row level security;
    grant select, insert, update, delete on public.t to anon, authenticated;
    ${policies}`;

  it('IS NOT NULL of a NOT NULL column is true for every row, so the OR-ed owner test decides nothing', async () => {
    const sql = t('not null', 'create policy own on public.t for all to authenticated using ((select auth.uid()) = user_id or user_id is not null);');
    expect((await rule('policy-always-true', sql)).map((f) => f.message)).toEqual(['policy own is always true on public.t: authenticated can read, update and delete from every row']);
    expect(await readsAs(`${sql} ${rows}`, 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['for user 1 only']);
    // On a nullable column the test picks the rows that have an owner: not every row.
    expect(await rule('policy-always-true', t('', 'create policy own on public.t for all to authenticated using ((select auth.uid()) = user_id or user_id is not null);'))).toEqual([]);
  });

  it('an owner test OR-ed with an always-true branch in the same SELECT policy says reads were meant per owner', async () => {
    const sql = t('not null', "create policy own on public.t for select to authenticated using ((select auth.uid()) = user_id or auth.role() = 'authenticated');");
    expect((await rule('policy-always-true', sql)).map((f) => f.message)).toEqual(['policy own is always true on public.t: authenticated can read every row']);
    expect(await readsAs(`${sql} ${rows}`, 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['for user 1 only']);
    // Without the owner test it is a table every signed-in user reads, by design.
    expect(await rule('policy-always-true', t('not null', "create policy signed_in on public.t for select to authenticated using (auth.role() = 'authenticated');"))).toEqual([]);
  });

  it("anon reading every row of a table whose signed-in users read only their own (a permissive or a restrictive owner test)", async () => {
    const anonRead = 'create policy anon_read on public.t for select to anon using (true);';
    const permissive = t('not null', `${anonRead} create policy own on public.t for select to authenticated using ((select auth.uid()) = user_id);`);
    const restrictive = t(
      'not null',
      `${anonRead} create policy signed_in on public.t for all to authenticated using (true);
       create policy own_only on public.t as restrictive for all to authenticated using ((select auth.uid()) = user_id);`,
    );
    for (const sql of [permissive, restrictive]) {
      expect((await rule('policy-always-true', sql)).map((f) => f.message)).toEqual(['policy anon_read is always true on public.t: anon can read every row, while authenticated reads only the rows tied to it']);
      expect(await readsAs(`${sql} ${rows}`, 'anon')).toEqual(['for user 1 only']);
    }
    // A public-read table: signed-in users read every row too.
    expect(await rule('policy-always-true', t('not null', `${anonRead} create policy read_all on public.t for select to authenticated using (true);`))).toEqual([]);
  });
});

describe('view-bypasses-rls: a definer view an API role can only write (found by test/lint/holes-postgres.test.ts)', () => {
  const t = (invoker: boolean) => `create table public.t (id int primary key, user_id uuid not null, body text);
    alter table public.t enable row level security;
    alter table public.t owner to rg_lint_nologin_owner;
    grant select, update, delete on public.t to authenticated;
    create policy own on public.t for all to authenticated using ((select auth.uid()) = user_id);
    create view public.t_edit${invoker ? ' with (security_invoker = true)' : ''} as select * from public.t;
    alter view public.t_edit owner to rg_lint_nologin_owner;
    grant update, delete on public.t_edit to authenticated;`;

  it("an unfiltered UPDATE or DELETE through it runs as the owner and skips the table's policies", async () => {
    expect((await rule('view-bypasses-rls', t(false))).map((f) => f.message)).toEqual([
      'authenticated can update and delete from view public.t_edit, which runs as rg_lint_nologin_owner and skips the RLS policies of public.t',
    ]);
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${t(false)} insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only')`).simple());
      const changed = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated"}', true)`);
          return (await tx.unsafe("update public.t_edit set body = 'vandalised'")).count;
        }),
      );
      expect(changed).toBe(1); // user 2 changed user 1's row
    } finally {
      await db.drop();
    }
    if (serverMajor() >= 15) expect(await rule('view-bypasses-rls', t(true))).toEqual([]);
  });
});

describe('policy-subselect-uncorrelated: a LANGUAGE sql helper called with nothing from the row or the caller (found by test/lint/holes-postgres.test.ts)', () => {
  const t = (tie: string) => `create table public.profiles (id int primary key, user_id uuid not null unique, role text not null default 'user');
    alter table public.profiles enable row level security;
    grant select on public.profiles to authenticated;
    create policy own_profile on public.profiles for select to authenticated using ((select auth.uid()) = user_id);
    create function private.is_admin() returns boolean language sql stable security definer set search_path = '' as $$
      select exists (select 1 from public.profiles p where p.role = 'admin'${tie}) $$;
    create table public.t (id int primary key, user_id uuid not null, body text);
    alter table public.t enable row level security;
    grant select on public.t to authenticated;
    create policy own on public.t for select to authenticated using ((select auth.uid()) = user_id);
    create policy admin_read on public.t for select to authenticated using ((select private.is_admin()));`;

  it('is read as if its sub-select stood in the policy: is_admin() that never asks whose profile says admin opens every row once anyone is an admin', async () => {
    expect((await rule('policy-subselect-uncorrelated', t(''))).map((f) => f.message)).toEqual([
      'policy admin_read on public.t calls private.is_admin(), which reads public.profiles in a sub-select that never refers to the t row: authenticated callers who pass it can see every row, not only those their public.profiles rows point at through user_id',
    ]);
    const rows = `grant usage on schema private to authenticated;
      insert into public.profiles values (1, '00000000-0000-4000-8000-00000000000c', 'admin');
      insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;
    expect(await readsAs(`${t('')} ${rows}`, 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['for user 1 only']);
    // Tied to the caller, it is an admin check.
    const tied = t(' and p.user_id = (select auth.uid())');
    expect(await rule('policy-subselect-uncorrelated', tied)).toEqual([]);
    expect(await readsAs(`${tied} ${rows}`, 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual([]);
  });
});

describe('policy-subselect-uncorrelated: a helper handed the row that never reads that parameter', () => {
  const ORG1 = '11111111-0000-4000-8000-000000000001';
  const ORG2 = '22222222-0000-4000-8000-000000000002';
  const t = (helper: string) => `create table public.orgs (id uuid primary key);
    create table public.members (org_id uuid not null references public.orgs, user_id uuid not null, primary key (org_id, user_id));
    alter table public.members enable row level security;
    grant usage on schema private to authenticated;
    ${helper}
    create table public.t (id int primary key, org_id uuid not null references public.orgs, body text);
    alter table public.t enable row level security;
    grant select on public.t to authenticated;
    create policy org_rows on public.t for select to authenticated using ((select private.is_member(org_id)));
    insert into public.orgs values ('${ORG1}'), ('${ORG2}');
    insert into public.members values ('${ORG1}', '00000000-0000-4000-8000-000000000001'), ('${ORG2}', '00000000-0000-4000-8000-000000000002');
    insert into public.t values (1, '${ORG1}', 'org 1'), (2, '${ORG2}', 'org 2');`;
  const sqlHelper = (param: string, ref: string) => `create function private.is_member(${param} uuid) returns boolean language sql stable security definer set search_path = '' as $$
      select exists (select 1 from public.members m where m.org_id = ${ref} and m.user_id = (select auth.uid())) $$;`;

  it('a LANGUAGE sql parameter named like the column: the bare name is members.org_id, so every member of any org reads every org', async () => {
    const shadowed = t(sqlHelper('org_id', 'org_id'));
    expect((await rule('policy-subselect-uncorrelated', shadowed)).map((f) => f.message)).toEqual([
      'policy org_rows on public.t hands org_id to private.is_member(), whose body never reads that parameter (in a LANGUAGE sql body a bare org_id names the column of the table it reads, not the parameter): it gives the same answer for every t row, so authenticated callers who pass it can see every row',
    ]);
    expect(await readsAs(shadowed, 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['org 1', 'org 2']);
    // The parameter qualified with the function's name, as $1, or renamed: each reads it.
    for (const [param, ref] of [['org_id', 'is_member.org_id'], ['org_id', '$1'], ['p_org_id', 'p_org_id']]) {
      const fixed = t(sqlHelper(param!, ref!));
      expect(await rule('policy-subselect-uncorrelated', fixed), ref).toEqual([]);
      expect(await readsAs(fixed, 'authenticated', '00000000-0000-4000-8000-000000000002'), ref).toEqual(['org 2']);
    }
  });

  it('a PL/pgSQL helper whose body forgot its parameter; one that reads it is quiet', async () => {
    const plpgsql = (test: string) =>
      t(`create function private.is_member(p_org uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$
        begin return exists (select 1 from public.members m where m.user_id = auth.uid()${test}); end $$;`);
    expect((await rule('policy-subselect-uncorrelated', plpgsql(''))).map((f) => f.message)).toEqual([
      'policy org_rows on public.t hands org_id to private.is_member(), whose body never reads that parameter: it gives the same answer for every t row, so authenticated callers who pass it can see every row',
    ]);
    expect(await readsAs(plpgsql(''), 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['org 1', 'org 2']);
    expect(await rule('policy-subselect-uncorrelated', plpgsql(' and m.org_id = p_org'))).toEqual([]);
    expect(await readsAs(plpgsql(' and m.org_id = p_org'), 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['org 2']);
  });

  it('a PL/pgSQL parameter named like the column under #variable_conflict use_column (or SET plpgsql.variable_conflict) is the column; qualified, or without the directive, it is read (holes5)', async () => {
    const conflict = (directive: string, ref: string, set = '') =>
      t(`create function private.is_member(org_id uuid) returns boolean language plpgsql stable security definer set search_path = ''${set} as $$
        ${directive}
        begin return exists (select 1 from public.members m where m.user_id = auth.uid() and m.org_id = ${ref}); end $$;`);
    const message =
      'policy org_rows on public.t hands org_id to private.is_member(), whose body never reads that parameter (under #variable_conflict use_column a bare org_id names the column of the table it reads, not the parameter): it gives the same answer for every t row, so authenticated callers who pass it can see every row';
    for (const shadowed of [conflict('#variable_conflict use_column', 'org_id'), conflict('', 'org_id', ' set plpgsql.variable_conflict = use_column')]) {
      expect((await rule('policy-subselect-uncorrelated', shadowed)).map((f) => f.message)).toEqual([message]);
      expect(await readsAs(shadowed, 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['org 1', 'org 2']);
    }
    const qualified = conflict('#variable_conflict use_column', 'is_member.org_id');
    expect(await rule('policy-subselect-uncorrelated', qualified)).toEqual([]);
    expect(await readsAs(qualified, 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['org 2']);
    // use_variable: the parameter wins; the default (error) refuses the ambiguous name at run time.
    const variable = conflict('#variable_conflict use_variable', 'org_id');
    expect(await rule('policy-subselect-uncorrelated', variable)).toEqual([]);
    expect(await readsAs(variable, 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['org 2']);
    await expect(readsAs(conflict('', 'org_id'), 'authenticated', '00000000-0000-4000-8000-000000000002')).rejects.toThrow(/column reference "org_id" is ambiguous/);
    expect(await rule('policy-subselect-uncorrelated', conflict('', 'org_id'))).toEqual([]);
  });
});

describe('policy-user-metadata: a helper that reads raw_user_meta_data from auth.users', () => {
  const t = (column: string, via = '') => `create table public.t (id int primary key, user_id uuid not null, body text);
    alter table public.t enable row level security;
    grant select on public.t to authenticated;
    grant usage on schema private to authenticated;
    create function private.meta_role(uid uuid) returns text language plpgsql stable security definer set search_path = '' as $$
      declare r text; begin select u.${column} ->> 'role' into r from auth.users u where u.id = uid; return r; end $$;
    create function private.is_admin() returns boolean language sql stable security definer set search_path = '' as $$
      select ${via || `coalesce((select (u.${column} ->> 'role') = 'admin' from auth.users u where u.id = (select auth.uid())), false)`} $$;
    create policy own_or_admin on public.t for select to authenticated using (user_id = (select auth.uid()) or (select private.is_admin()));
    -- User 2 wrote role admin into its own metadata (GoTrue: options.data at sign-up, or PUT /user).
    insert into auth.users (id, raw_user_meta_data, raw_app_meta_data) values ('00000000-0000-4000-8000-000000000002', '{"role": "admin"}', '{}');
    insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;

  it('decides on what the user chose: reported through the helper (and a helper it calls); app_metadata is not', async () => {
    expect((await rule('policy-user-metadata', t('raw_user_meta_data'))).map((f) => f.message)).toEqual([
      'policy own_or_admin on public.t decides on user_metadata through private.is_admin(), whose body reads it: any signed-in user can set it on themselves and pass the policy',
    ]);
    expect(await readsAs(t('raw_user_meta_data'), 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['for user 1 only']);
    const nested = t('raw_user_meta_data', "private.meta_role((select auth.uid())) = 'admin'");
    expect((await rule('policy-user-metadata', nested)).map((f) => f.message)).toEqual([
      'policy own_or_admin on public.t decides on user_metadata through private.is_admin() → private.meta_role(), whose body reads it: any signed-in user can set it on themselves and pass the policy',
    ]);
    expect(await readsAs(nested, 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['for user 1 only']);
    expect(await rule('policy-user-metadata', t('raw_app_meta_data'))).toEqual([]);
    expect(await readsAs(t('raw_app_meta_data'), 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual([]);
  });
});

describe('rls-disabled-in-api: a table kept out of the API but read by an exposed function that runs as the caller', () => {
  const t = (where: string) => `create schema app;
    grant usage on schema app to authenticated;
    create table app.t (id int primary key, user_id uuid not null, body text);
    grant select on app.t to authenticated;
    create function public.t_rows() returns setof app.t language sql stable set search_path = '' as $$ select * from app.t s${where} $$;
    insert into app.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;
  const overRpc = (sqlText: string) =>
    asRequest(sqlText, 'authenticated', '00000000-0000-4000-8000-000000000002', async (tx) => (await tx.unsafe('select body from public.t_rows()')).map((r) => r['body'] as string));

  it('serves every row over /rpc with the caller\'s grant; a body that reads only the caller\'s rows does not', async () => {
    expect((await rule('rls-disabled-in-api', t(''))).map((f) => f.message)).toEqual([
      'RLS is off on app.t, which is in no exposed schema but served by function public.t_rows(), which runs as the caller: authenticated can read every row',
    ]);
    expect(await overRpc(t(''))).toEqual(['for user 1 only']); // user 2 reads user 1's row
    const mine = t(' where s.user_id = (select auth.uid())');
    expect(await rule('rls-disabled-in-api', mine)).toEqual([]);
    expect(await overRpc(mine)).toEqual([]);
    // Without USAGE on the table's schema the function's query fails for the caller: nothing is served.
    const noUsage = t('').replace('grant usage on schema app to authenticated;', '');
    expect(await rule('rls-disabled-in-api', noUsage)).toEqual([]);
    await expect(overRpc(noUsage)).rejects.toThrow(/permission denied for schema app/);
  });
});

describe('policy-anonymous-branch: a COALESCE fallback for a request without a user', () => {
  const t = (using: string) => `create table public.t (id int primary key, user_id uuid not null, body text);
    alter table public.t enable row level security;
    grant select on public.t to anon, authenticated;
    create policy own on public.t for select to anon, authenticated using (${using});
    insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;

  it("user_id = coalesce(auth.uid(), user_id) compares the column with itself for anon, which reads every row; the owner test alone does not", async () => {
    for (const using of ['user_id = coalesce((select auth.uid()), user_id)', 'coalesce(auth.uid() = user_id, true)', 'user_id is not distinct from coalesce(auth.uid(), user_id)']) {
      expect((await rule('policy-anonymous-branch', t(using))).map((f) => f.object), using).toEqual(['own on public.t']);
      expect(await readsAs(t(using), 'anon'), using).toEqual(['for user 1 only']);
    }
    expect(await rule('policy-anonymous-branch', t('user_id = (select auth.uid())'))).toEqual([]);
    expect(await readsAs(t('user_id = (select auth.uid())'), 'anon')).toEqual([]);
  });
});

describe('policy-anonymous-branch: a test that NULL makes true, inline or in a helper (holes3)', () => {
  const t = (using: string, helper = '') => `create table public.t (id int primary key, user_id uuid not null, body text);
    alter table public.t enable row level security;
    grant select on public.t to anon, authenticated;
    ${helper}
    create policy own on public.t for select to anon, authenticated using (${using});
    insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;
  const helper = (body: string, strict = '') => `create function public.mine(u uuid) returns boolean language sql stable ${strict} as $$ select ${body} $$;`;

  it('IS NOT FALSE, IS NOT TRUE and IS UNKNOWN of an owner test are true without a user: anon reads the row on Postgres; IS TRUE is not', async () => {
    const open = {
      '(user_id = (select auth.uid())) is not false': '"(user_id = auth.uid()) IS NOT FALSE"',
      '(user_id <> (select auth.uid())) is not true': '"(user_id <> auth.uid()) IS NOT TRUE"',
      '(auth.uid() = user_id) is unknown or user_id = auth.uid()': '"(auth.uid() = user_id) IS UNKNOWN"',
    };
    for (const [using, text] of Object.entries(open)) {
      expect((await rule('policy-anonymous-branch', t(using))).map((f) => f.message.replace(/^.* top-level /, '')), using).toEqual([`${text} branch: anon passes it for every row`]);
      expect(await readsAs(t(using), 'anon'), using).toEqual(['for user 1 only']);
    }
    for (const using of ['(user_id = (select auth.uid())) is true', '(user_id <> (select auth.uid())) is false']) {
      expect(await rule('policy-anonymous-branch', t(using)), using).toEqual([]);
      expect(await readsAs(t(using), 'anon'), using).toEqual([]);
    }
  });

  it("a LANGUAGE sql helper whose body falls back to true (coalesce(u = auth.uid(), true)) is the same branch, called by the policy; a strict test in the helper is not", async () => {
    const leaky = t('public.mine(user_id)', helper('coalesce(u = auth.uid(), true)'));
    expect((await rule('policy-anonymous-branch', leaky)).map((f) => f.message)).toEqual([
      'policy own (SELECT) on public.t has a top-level "public.mine(…), whose body is COALESCE(<a test of auth.uid()>, true)" branch: anon passes it for every row',
    ]);
    expect(await readsAs(leaky, 'anon')).toEqual(['for user 1 only']);
    const itself = t('(select public.mine(user_id))', helper('$1 = coalesce(auth.uid(), $1)'));
    expect((await rule('policy-anonymous-branch', itself)).map((f) => f.object)).toEqual(['own on public.t']);
    expect(await readsAs(itself, 'anon')).toEqual(['for user 1 only']);
    for (const body of ['u = auth.uid()', '(u = auth.uid()) is true', 'coalesce(u = auth.uid(), false)']) {
      const safe = t('public.mine(user_id)', helper(body, 'strict'));
      expect(await rule('policy-anonymous-branch', safe), body).toEqual([]);
      expect(await readsAs(safe, 'anon'), body).toEqual([]);
    }
  });
});

describe("policy-email-pattern: the caller's email used as the pattern (holes3)", () => {
  const t = (using: string) => `create table public.invites (id int primary key, email text not null, team text);
    alter table public.invites enable row level security;
    grant select on public.invites to authenticated;
    create policy mine on public.invites for select to authenticated using (${using});
    insert into public.invites values (1, 'bob@example.com', 'blue');`;
  const seenBy = async (sqlText: string, email: string) => {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(sqlText).simple());
      return await rolledBackRequest(db.url, '', 'authenticated', { role: 'authenticated', sub: '00000000-0000-4000-8000-000000000003', email }, async (tx) => (await tx.unsafe('select team from public.invites')).map((r) => r['team'] as string));
    } finally {
      await db.drop();
    }
  };

  it('ILIKE or a regular expression whose pattern is auth.email(): on Postgres a user signed up as _ob@example.com (or ob@example.com) reads bob\'s invite; equality does not', async () => {
    const cases = {
      'email ilike (select auth.email())': ['_ob@example.com', 'ILIKE with auth.email() as the pattern'],
      "email ~ ((select auth.jwt()) ->> 'email')": ['ob@example.com', 'a regular expression with the email claim as the pattern'],
    };
    for (const [using, [email, what]] of Object.entries(cases)) {
      const found = await rule('policy-email-pattern', t(using));
      expect(found.map((f) => f.message), using).toEqual([`policy mine on public.invites authorises by ${what}: anyone who can sign up with a matching address passes`]);
      expect(found[0]!.fix).toBe('compare the addresses for equality: lower(email) = lower(auth.email())');
      expect(await seenBy(t(using), email!), using).toEqual(['blue']);
    }
    const exact = t('lower(email) = lower((select auth.email()))');
    expect(await rule('policy-email-pattern', exact)).toEqual([]);
    expect(await seenBy(exact, '_ob@example.com')).toEqual([]);
    expect(await seenBy(exact, 'bob@example.com')).toEqual(['blue']);
  });
});

describe('policy-always-true: a count compared so that it always passes (holes3)', () => {
  const t = (test: string) => `create table public.admins (user_id uuid primary key);
    alter table public.admins enable row level security;
    grant select on public.admins to anon, authenticated;
    create policy self on public.admins for select to authenticated using (user_id = (select auth.uid()));
    create table public.t (id int primary key, user_id uuid not null, body text);
    alter table public.t enable row level security;
    grant select on public.t to anon, authenticated;
    create policy own_or_admin on public.t for select to anon, authenticated using (user_id = (select auth.uid()) or ${test});
    insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;
  const count = '(select count(*) from public.admins a where a.user_id = (select auth.uid()))';

  it('count(…) >= 0 (0 <= count, count IS NOT NULL) holds for anon and every user on Postgres; count > 0 is an admin test', async () => {
    for (const test of [`${count} >= 0`, `0 <= ${count}`, `${count} is not null`]) {
      expect((await rule('policy-always-true', t(test))).map((f) => f.message), test).toEqual(['policy own_or_admin is always true on public.t: anon can read every row; authenticated can read every row']);
      expect(await readsAs(t(test), 'anon'), test).toEqual(['for user 1 only']);
    }
    expect(await readsAs(t(`${count} >= 0`), 'authenticated', '00000000-0000-4000-8000-000000000002')).toEqual(['for user 1 only']);
    for (const test of [`${count} > 0`, `${count} >= 1`, `(select count(*) from public.admins a where a.user_id = (select auth.uid()) having count(*) > 0) >= 0`]) {
      expect(await rule('policy-always-true', t(test)), test).toEqual([]);
      expect(await readsAs(t(test), 'anon'), test).toEqual([]);
    }
  });
});

describe('policy-subselect-uncorrelated: a <name>_id column naming the policy table, with no foreign key (holes3)', () => {
  const t = (fk: string) => `create table public.orgs (id int primary key, name text);
    create table public.members (id int primary key, org_id int not null ${fk}, user_id uuid not null);
    alter table public.members enable row level security;
    grant select on public.members to authenticated;
    create policy self on public.members for select to authenticated using (user_id = (select auth.uid()));
    alter table public.orgs enable row level security;
    grant select on public.orgs to authenticated;
    create policy member on public.orgs for select to authenticated using (exists (select 1 from public.members m where m.user_id = (select auth.uid()) and m.org_id = id));
    insert into public.orgs values (1, 'a''s org'), (2, 'b''s org');
    insert into public.members values (1, 1, '00000000-0000-4000-8000-000000000001'), (8, 2, '00000000-0000-4000-8000-000000000002');`;

  it('the bare id inside the sub-select is members.id: with or without the foreign key, reported; on Postgres a member whose membership id is their org id reads every org', async () => {
    for (const fk of ['', 'references public.orgs (id)']) {
      expect((await rule('policy-subselect-uncorrelated', t(fk))).map((f) => f.message), fk).toEqual([
        'policy member on public.orgs reads public.members in a sub-select that never refers to the orgs row: authenticated callers who pass it can see every row, not only those their public.members rows point at through org_id',
      ]);
    }
    expect(await asRequest(t(''), 'authenticated', '00000000-0000-4000-8000-000000000001', async (tx) => (await tx.unsafe('select name from public.orgs order by id')).map((r) => r['name'] as string))).toEqual(["a's org", "b's org"]);
    const fixed = t('').replace('m.org_id = id', 'm.org_id = orgs.id');
    expect(await rule('policy-subselect-uncorrelated', fixed)).toEqual([]);
  });
});

describe("policy-subselect-uncorrelated: a sub-select runs under the caller's RLS (holes3)", () => {
  const a = '00000000-0000-4000-8000-000000000001';
  const admin = '00000000-0000-4000-8000-000000000002';
  const t = (adminsPolicy: string) => `create table public.admins (user_id uuid primary key);
    alter table public.admins enable row level security;
    grant select on public.admins to anon, authenticated;
    create policy seen on public.admins for select to authenticated using (${adminsPolicy});
    create table public.t (id int primary key, user_id uuid not null, body text);
    alter table public.t enable row level security;
    grant select on public.t to anon, authenticated;
    create policy own_or_admin on public.t for select to anon, authenticated using (user_id = (select auth.uid()) or exists (select 1 from public.admins));
    insert into public.admins values ('${admin}');
    insert into public.t values (1, '${admin}', 'the admin''s'), (2, '00000000-0000-4000-8000-000000000003', 'someone else''s');`;
  const reads = (sqlText: string, sub: string) => asRequest(sqlText, 'authenticated', sub, async (tx) => (await tx.unsafe('select body from public.t order by id')).map((r) => r['body'] as string));

  it("exists (select 1 from admins) over admins whose policy shows each user their own row is an admin test: on Postgres only the admin reads every row, and it is not reported; over admins every user reads, it is", async () => {
    const own = t('user_id = (select auth.uid())');
    expect(await rule('policy-subselect-uncorrelated', own)).toEqual([]);
    expect(await reads(own, a)).toEqual([]);
    expect(await reads(own, admin)).toEqual(["the admin's", "someone else's"]);
    const open = t('true');
    expect((await rule('policy-subselect-uncorrelated', open)).map((f) => f.object)).toEqual(['own_or_admin on public.t']);
    expect(await reads(open, a)).toEqual(["the admin's", "someone else's"]);
  });
});

describe('security-definer-rpc: a definer function that falls back to an argument for the user', () => {
  const t = (uid: string, revoke = '') => `create table public.t (id int primary key, user_id uuid not null, body text);
    alter table public.t enable row level security;
    create function public.rows_of(p_user_id uuid default null) returns setof public.t language plpgsql stable security definer set search_path = '' as $$
      declare v_uid uuid := ${uid};
      begin
        if v_uid is null then raise exception 'user required'; end if;
        return query select * from public.t x where x.user_id = v_uid;
      end $$;
    alter table public.t owner to rg_lint_nologin_owner;
    alter function public.rows_of(uuid) owner to rg_lint_nologin_owner;
    grant usage on schema auth to rg_lint_nologin_owner;
    ${revoke}
    insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;
  const anonCalls = (sqlText: string) =>
    orMessage(asRequest(sqlText, 'anon', undefined, async (tx) => (await tx.unsafe(`select body from public.rows_of('00000000-0000-4000-8000-000000000001')`)).map((r) => r['body'] as string)));

  it('coalesce(auth.uid(), p_user_id): anon names any user and gets their rows; the message says so', async () => {
    const fallback = t('coalesce(auth.uid(), p_user_id)');
    expect(await anonCalls(fallback)).toEqual(['for user 1 only']);
    expect((await rule('security-definer-rpc', fallback)).map((f) => f.message)).toEqual([
      'anon and authenticated can call public.rows_of(p_user_id uuid) over RPC, and it runs as rg_lint_nologin_owner (SECURITY DEFINER, RLS skipped for its owner); it takes the user from p_user_id when the request carries none (coalesce(auth.uid(), p_user_id)), so anon acts as any user it names',
    ]);
    // The caller's id alone: anon is refused, and the message does not claim the fallback.
    expect(await anonCalls(t('auth.uid()'))).toBe('user required');
    expect((await rule('security-definer-rpc', t('auth.uid()'))).map((f) => f.message)).toEqual([
      'anon and authenticated can call public.rows_of(p_user_id uuid) over RPC, and it runs as rg_lint_nologin_owner (SECURITY DEFINER, RLS skipped for its owner)',
    ]);
    // Revoked from anon (what the projects that had it did): authenticated always has a user, so the fallback never applies.
    const revoked = t('coalesce(auth.uid(), p_user_id)', 'revoke execute on function public.rows_of(uuid) from public, anon; grant execute on function public.rows_of(uuid) to authenticated;');
    expect(await anonCalls(revoked)).toMatch(/permission denied for function rows_of/);
    expect((await rule('security-definer-rpc', revoked)).map((f) => f.message)).toEqual([
      'authenticated can call public.rows_of(p_user_id uuid) over RPC, and it runs as rg_lint_nologin_owner (SECURITY DEFINER, RLS skipped for its owner)',
    ]);
  });
});

describe("policy-trusts-writable-column: owners add members through a helper that requires the caller's row in the same org", () => {
  const ORG1 = '11111111-0000-4000-8000-000000000001';
  const ORG2 = '22222222-0000-4000-8000-000000000002';
  const U1 = '00000000-0000-4000-8000-000000000001';
  const U2 = '00000000-0000-4000-8000-000000000002';
  const t = (tie: string) => `create table public.members (org_id uuid not null, user_id uuid not null, role text not null default 'member', primary key (org_id, user_id));
    create table public.docs (id int primary key, org_id uuid not null, body text);
    alter table public.members enable row level security;
    alter table public.docs enable row level security;
    grant select, insert on public.members to authenticated;
    grant select on public.docs to authenticated;
    grant usage on schema private to authenticated;
    create function private.is_org_owner(p_org uuid) returns boolean language sql stable security definer set search_path = '' as $$
      select exists (select 1 from public.members m where ${tie}m.user_id = (select auth.uid()) and m.role = 'owner') $$;
    create policy mem_read on public.members for select to authenticated using (user_id = (select auth.uid()));
    create policy mem_add on public.members for insert to authenticated with check ((select private.is_org_owner(org_id)));
    create policy org_docs on public.docs for select to authenticated using (org_id in (select m.org_id from public.members m where m.user_id = (select auth.uid()) and m.role = 'owner'));
    insert into public.members values ('${ORG1}', '${U1}', 'member'), ('${ORG2}', '${U2}', 'owner');
    insert into public.docs values (1, '${ORG1}', 'org 1'), (2, '${ORG2}', 'org 2');`;
  /** As user `sub`: insert a membership, then read docs; the error message when the insert is refused. */
  const joinAs = (sqlText: string, sub: string, org: string, user: string) =>
    orMessage(
      asRequest(sqlText, 'authenticated', sub, async (tx) => {
        await tx.unsafe(`insert into public.members values ($1, $2, 'owner')`, [org, user]);
        return (await tx.unsafe('select body from public.docs order by id')).map((r) => r['body'] as string);
      }),
    );

  it('is_org_owner(org_id) tied to the new row: no user can add themselves, so no finding; tied to any org, an owner joins every org', async () => {
    const keyed = t('m.org_id = p_org and ');
    expect(await rule('policy-trusts-writable-column', keyed)).toEqual([]);
    // A member is no owner: refused in its own org and in another.
    expect(await joinAs(keyed, U1, ORG1, U1)).toBe('new row violates row-level security policy for table "members"');
    expect(await joinAs(keyed, U1, ORG2, U1)).toBe('new row violates row-level security policy for table "members"');
    // An owner passes the check only in its own org, where its row already holds the key.
    expect(await joinAs(keyed, U2, ORG1, U2)).toBe('new row violates row-level security policy for table "members"');
    expect(await joinAs(keyed, U2, ORG2, U2)).toMatch(/duplicate key value violates unique constraint "members_pkey"/);
    // What the policy is for: an owner adds someone else.
    expect(await joinAs(keyed, U2, ORG2, U1)).toEqual(['org 2']);

    const anyOrg = t('');
    expect((await rule('policy-trusts-writable-column', anyOrg)).map((f) => f.object).sort()).toEqual(['mem_add on public.members', 'org_docs on public.docs']);
    expect(await joinAs(anyOrg, U2, ORG1, U2)).toEqual(['org 1', 'org 2']); // the owner of org 2 made itself owner of org 1
  });

  it("the caller's id handed to the helper (supabase/dbdev's is_organization_maintainer(auth.uid(), organization_id), positional $1 and $2): the same reading, so no finding; tied to any org, still reported", async () => {
    const handed = (tie: string) =>
      t('')
        .replace(
          /create function private\.is_org_owner[\s\S]*?\$\$;/,
          // A function, so the $$ of the body is not read as a replacement pattern.
          () => `create function private.is_org_owner(user_id uuid, org_id uuid) returns boolean language sql stable security definer set search_path = '' as $$
      select exists (select 1 from public.members m where ${tie}m.user_id = $1 and m.role = 'owner') $$;`,
        )
        .replace('with check ((select private.is_org_owner(org_id)))', 'with check (private.is_org_owner(auth.uid(), org_id))');
    const keyed = handed('m.org_id = $2 and ');
    expect(keyed).toContain('private.is_org_owner(auth.uid(), org_id)');
    expect(await rule('policy-trusts-writable-column', keyed)).toEqual([]);
    expect(await joinAs(keyed, U1, ORG1, U1)).toBe('new row violates row-level security policy for table "members"');
    expect(await joinAs(keyed, U2, ORG1, U2)).toBe('new row violates row-level security policy for table "members"');
    expect(await joinAs(keyed, U2, ORG2, U2)).toMatch(/duplicate key value violates unique constraint "members_pkey"/);
    expect(await joinAs(keyed, U2, ORG2, U1)).toEqual(['org 2']);

    const anyOrg = handed('');
    expect((await rule('policy-trusts-writable-column', anyOrg)).map((f) => f.object).sort()).toEqual(['mem_add on public.members', 'org_docs on public.docs']);
    expect(await joinAs(anyOrg, U2, ORG1, U2)).toEqual(['org 1', 'org 2']);
  });
});

describe('view-bypasses-rls: a security_invoker view over a view that is not, kept in an unexposed schema (found by test/lint/holes-postgres.test.ts)', () => {
  const t = (innerInvoker: boolean) => `create table public.t (id int primary key, user_id uuid not null, body text);
    alter table public.t enable row level security;
    alter table public.t owner to rg_lint_nologin_owner;
    grant select on public.t to authenticated;
    create policy own on public.t for select to authenticated using ((select auth.uid()) = user_id);
    grant usage on schema private to authenticated;
    create view private.t_all${innerInvoker ? ' with (security_invoker = true)' : ''} as select * from public.t;
    alter view private.t_all owner to rg_lint_nologin_owner;
    grant select on private.t_all to authenticated;
    create view public.t_pub with (security_invoker = true) as select * from private.t_all;
    grant select on public.t_pub to authenticated;`;

  it('serves the inner view as its owner to every caller with a grant on both', async () => {
    if (serverMajor() < 15) return; // security_invoker views are Postgres 15+
    expect((await rule('view-bypasses-rls', t(false))).map((f) => f.message)).toEqual([
      'authenticated can read view public.t_pub, which runs as the caller but reads view private.t_all, which runs as rg_lint_nologin_owner and skips the RLS policies of public.t',
    ]);
    const rows = `insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${t(false)} ${rows}`).simple());
      const seen = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated"}', true)`);
          return (await tx.unsafe('select body from public.t_pub')).map((r) => r['body']);
        }),
      );
      expect(seen).toEqual(['for user 1 only']); // user 2 reads user 1's row
    } finally {
      await db.drop();
    }
    expect(await rule('view-bypasses-rls', t(true))).toEqual([]);
  });
});

describe('security-definer-rpc: an exposed function handing on the rows of a definer function kept out of the API (found by test/lint/holes-postgres.test.ts)', () => {
  const t = (inner: string) => `create table public.t (id int primary key, user_id uuid not null, body text);
    alter table public.t enable row level security;
    grant select on public.t to authenticated;
    create policy own on public.t for select to authenticated using ((select auth.uid()) = user_id);
    grant usage on schema private to authenticated;
    ${inner}
    create function public.my_rows() returns setof public.t language sql stable set search_path = '' as $$ select * from private.rows_of_t() $$;`;
  const definerRows = "create function private.rows_of_t() returns setof public.t language sql stable security definer set search_path = '' as $$ select * from public.t $$;";

  it('is reported when the inner function returns rows; not for a scalar helper, nor when the inner one is invoker', async () => {
    expect((await rule('security-definer-rpc', t(definerRows))).map((f) => f.message)).toEqual([
      'anon and authenticated can call public.my_rows() over RPC, which returns rows of private.rows_of_t(), a SECURITY DEFINER function that runs as ' +
        `${(await withSql(serverUrl(), (s) => s`select current_user as u`))[0]!['u']} (RLS skipped for its owner)`,
    ]);
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${t(definerRows)} insert into public.t values (1, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`).simple());
      const seen = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000000002","role":"authenticated"}', true)`);
          return (await tx.unsafe('select body from public.my_rows()')).map((r) => r['body']);
        }),
      );
      expect(seen).toEqual(['for user 1 only']); // user 2 reads user 1's row
    } finally {
      await db.drop();
    }
    expect(await rule('security-definer-rpc', t(definerRows.replace(' security definer', '')))).toEqual([]);
    const helper = `create function private.is_owner(u uuid) returns boolean language sql stable security definer set search_path = '' as $$ select u = (select auth.uid()) $$;
      create function private.rows_of_t() returns setof public.t language sql stable set search_path = '' as $$ select * from public.t where private.is_owner(user_id) $$;`;
    expect(await rule('security-definer-rpc', t(helper))).toEqual([]);
  });
});

// Seen on hpi-studyu/studyu supabase/migrations (can_edit(auth.uid(), study.*) in the policy on public.study): the
// message said "it takes the row's )" and the fix "compare the row with them:  in (select …)", naming no column.
describe('lookup-per-row: a helper handed the whole row (t.*)', () => {
  it("says it takes the whole row and suggests the table's key; on Postgres the helper runs once per row", async () => {
    const sql = `create table public.studies (id int primary key, owner uuid not null, editors text[] not null default '{}');
      alter table public.studies enable row level security;
      grant select on public.studies to authenticated;
      create function public.can_edit(u uuid, s public.studies) returns boolean language sql stable set search_path = '' as $$ select s.owner = u $$;
      create policy editors on public.studies for select to authenticated using (public.can_edit((select auth.uid()), studies.*));`;
    const f = await rule('lookup-per-row', sql);
    expect(f.map((x) => x.message)).toEqual([
      'policy editors on public.studies calls public.can_edit(( SELECT auth.uid() AS uid), studies.*) once per row scanned (a function with SET search_path is never inlined, and it takes the whole row)',
    ]);
    expect(f[0]!.fix).toBe("have a helper return the caller's values once and compare the row with them: id in (select <helper returning the caller's id values>())");
    // Beside a column of the row, both are named and the column is what the fix compares.
    const both = await rule('lookup-per-row', sql.replace('(public.can_edit((select auth.uid()), studies.*))', '(public.can_edit(owner, studies.*))'));
    expect(both[0]!.message).toContain('and it takes the whole row and the row\'s owner)');
    expect(both[0]!.fix).toContain(': owner in (select');
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${sql} insert into public.studies select g, gen_random_uuid() from generate_series(1, 50) g;`).simple());
      const calls = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`set local track_functions = 'all'`);
          await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-00000000000a","role":"authenticated"}', true)`);
          await tx.unsafe('select count(*) from public.studies');
          await tx.unsafe('reset role');
          const [row] = await tx.unsafe(`select calls::int as n from pg_stat_xact_user_functions where funcname = 'can_edit'`);
          return row?.['n'];
        }),
      );
      expect(calls).toBe(50);
    } finally {
      await db.drop();
    }
  });
});

// Seen on y4my4my4m/harmony db_schema/migrations: is_current_user_admin() is coalesce((select is_admin from profiles
// where auth_user_id = auth.uid()), false), and a check such as blocker_id = get_current_profile_id() needs a profile.
// policy-to-public said a request without a user could pass, and policy-check-unbound that anon could write.
describe('a request without a user: coalesce(<lookup of the caller>, false) and a check bound to the caller', () => {
  const schema = (fallback: string) => `create table public.profiles (id uuid primary key, is_admin boolean not null default false);
    alter table public.profiles enable row level security;
    create function public.is_admin() returns boolean language sql stable security definer set search_path = '' as
      $$ select coalesce((select p.is_admin from public.profiles p where p.id = auth.uid()), ${fallback}) $$;
    create function public.my_profile() returns uuid language sql stable security definer set search_path = '' as
      $$ select p.id from public.profiles p where p.id = auth.uid() $$;
    create table public.reports (id int primary key, user_id uuid, body text);
    alter table public.reports enable row level security;
    create policy admins_all on public.reports using ((select public.is_admin()));
    create table public.blocks (blocker_id uuid not null, blocked_user_id uuid not null, primary key (blocker_id, blocked_user_id));
    alter table public.blocks enable row level security;
    create policy own_blocks on public.blocks for select using (blocker_id = (select public.my_profile()) or blocked_user_id = (select public.my_profile()));
    create policy block_someone on public.blocks for insert with check (blocker_id = (select public.my_profile()));
    grant select, insert, update, delete on public.reports, public.blocks to anon, authenticated;`;
  const message = (f: Array<{ object: string; message: string }>) => Object.fromEntries(f.map((x) => [x.object, x.message.replace(/^.*anon included, /, '')]));

  it('says anon cannot pass or write, and can when the fallback is true; on Postgres anon reads and writes accordingly', async () => {
    const cannot = 'and is evaluated for every anon request although a request without a user cannot pass it';
    expect(message(await rule('policy-to-public', schema('false')))['admins_all on public.reports']).toBe(cannot);
    expect(message(await rule('policy-to-public', schema('null')))['admins_all on public.reports']).toBe(cannot);
    expect(message(await rule('policy-to-public', schema('true')))['admins_all on public.reports']).toBe('and a request without a user can pass it');
    const unbound = (await rule('policy-check-unbound', schema('false'))).map((f) => f.message);
    expect(unbound).toEqual([
      expect.stringContaining('policy admins_all lets authenticated write rows of public.reports for any user_id'),
      expect.stringContaining('policy block_someone lets authenticated write rows of public.blocks into any blocked_user_id'),
    ]);
    expect((await rule('policy-check-unbound', schema('true'))).map((f) => f.message)).toContainEqual(expect.stringContaining('policy admins_all lets anon and authenticated write rows of public.reports'));

    const anon = (fallback: string) =>
      asRequest(`${schema(fallback)} insert into public.profiles values ('00000000-0000-4000-8000-00000000000a', true); insert into public.reports values (1, '00000000-0000-4000-8000-00000000000a', 'r');`, 'anon', undefined, async (tx) => {
        const seen = (await tx.unsafe('select id from public.reports')).length;
        // Each write in a savepoint that is always undone: true when Postgres took it.
        const wrote = (q: string) =>
          tx
            .savepoint(async (sp) => {
              await sp.unsafe(q);
              throw Object.assign(new Error('undo'), { took: true });
            })
            .catch((e: { took?: boolean; code?: string }) => {
              if (e.took) return true;
              if (e.code === '42501') return false;
              throw e;
            });
        return {
          seen,
          report: await wrote(`insert into public.reports values (2, '00000000-0000-4000-8000-00000000000a', 'x')`),
          block: await wrote(`insert into public.blocks values ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b')`),
        };
      });
    expect(await anon('false')).toEqual({ seen: 0, report: false, block: false });
    expect(await anon('true')).toEqual({ seen: 1, report: true, block: false });
  });
});

// Seen on y4my4my4m/harmony (23 times): `(select public.is_current_user_admin())` on tables linked to profiles by
// a profile id was reported as a sub-select that never refers to the row, with a fix narrowing admins to their own rows.
describe('policy-subselect-uncorrelated: a global gate on an attribute of the caller\'s own row is not a missing link', () => {
  const schema = `create table public.orgs (id uuid primary key);
    create table public.profiles (id uuid primary key default gen_random_uuid(), auth_user_id uuid not null unique references auth.users (id),
      org_id uuid references public.orgs, is_admin boolean not null default false);
    create table public.admin_audit_log (id bigserial primary key, admin_id uuid references public.profiles (id), action text);
    create table public.members (org_id uuid references public.orgs, user_id uuid, role text, primary key (org_id, user_id));
    create table public.projects (id int primary key, org_id uuid references public.orgs);
    create table public.memberships (id uuid primary key, org_id uuid references public.orgs, user_id uuid, role text, unique (org_id, user_id));
    create table public.member_notes (id int primary key, member_id uuid references public.memberships (id));
    create function public.is_current_user_admin() returns boolean language sql stable security definer set search_path = '' as
      $$ select coalesce((select p.is_admin from public.profiles p where p.auth_user_id = auth.uid()), false) $$;
    do $$ declare t text; begin
      foreach t in array array['orgs','profiles','admin_audit_log','members','projects','memberships','member_notes'] loop
        execute format('alter table public.%I enable row level security', t);
        execute format('grant select on public.%I to authenticated', t);
      end loop; end $$;
    create policy own_profile on public.profiles for select to authenticated using (auth_user_id = (select auth.uid()));
    create policy own_memberships on public.members for select to authenticated using (user_id = (select auth.uid()));`;
  const policies: Record<string, [table: string, using: string]> = {
    helper_gate: ['admin_audit_log', '(select public.is_current_user_admin())'],
    inline_gate: ['admin_audit_log', '(select p.is_admin from public.profiles p where p.auth_user_id = (select auth.uid()))'],
    exists_gate: ['admin_audit_log', 'exists (select 1 from public.profiles p where p.auth_user_id = (select auth.uid()) and p.is_admin)'],
    any_member: ['projects', 'exists (select 1 from public.members m where m.user_id = (select auth.uid()))'],
    any_org_admin: ['projects', "exists (select 1 from public.members m where m.user_id = (select auth.uid()) and m.role = 'admin')"],
    any_profile: ['admin_audit_log', 'exists (select 1 from public.profiles p where p.auth_user_id = (select auth.uid()))'],
    // EXISTS never evaluates its target list: the flag it names tests nothing.
    exists_lists_flag: ['admin_audit_log', 'exists (select p.is_admin from public.profiles p where p.auth_user_id = (select auth.uid()))'],
    // profiles.org_id beside projects.org_id: the flag is read as one of the caller's organisation.
    tenant_admin: ['projects', 'exists (select 1 from public.profiles p where p.auth_user_id = (select auth.uid()) and p.is_admin)'],
    // Linked by memberships' own key, but user_id alone is no key of it: an admin of any organisation.
    membership_admin: ['member_notes', "exists (select 1 from public.memberships m where m.user_id = (select auth.uid()) and m.role = 'admin')"],
  };
  const sqlOf = (name: string) => `create policy ${name} on public.${policies[name]![0]} for select to authenticated using (${policies[name]![1]});`;

  it('reports the member, org-admin, any-profile, tenant-flag and non-unique look-ups, not the admin gates', async () => {
    const f = await rule('policy-subselect-uncorrelated', schema + Object.keys(policies).map(sqlOf).join('\n'));
    expect(f.map((x) => [x.object, x.fix])).toEqual([
      ['any_member on public.projects', 'tie the sub-select to the row: … and m.org_id = projects.org_id'],
      ['any_org_admin on public.projects', 'tie the sub-select to the row: … and m.org_id = projects.org_id'],
      ['any_profile on public.admin_audit_log', 'tie the sub-select to the row: … and p.id = admin_audit_log.admin_id'],
      ['exists_lists_flag on public.admin_audit_log', 'tie the sub-select to the row: … and p.id = admin_audit_log.admin_id'],
      ['membership_admin on public.member_notes', 'tie the sub-select to the row: … and m.id = member_notes.member_id'],
      ['tenant_admin on public.projects', 'tie the sub-select to the row: … and p.org_id = projects.org_id'],
    ]);
  });

  it('on Postgres, as PostgREST runs a request: an admin sees every audit entry and a non-admin none; the reported ones let a caller see rows of another organisation', async () => {
    const [admin, plain, orgAdmin] = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000c'];
    const [orgA, orgB] = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1'];
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) =>
        s
          .unsafe(
            `${schema} insert into auth.users (id) values ('${admin}'), ('${plain}'), ('${orgAdmin}');
            insert into public.orgs values ('${orgA}'), ('${orgB}');
            insert into public.profiles (id, auth_user_id, org_id, is_admin) values
              ('00000000-0000-4000-8000-0000000000fa', '${admin}', null, true), ('00000000-0000-4000-8000-0000000000fb', '${plain}', '${orgA}', false),
              ('00000000-0000-4000-8000-0000000000fc', '${orgAdmin}', '${orgA}', true);
            -- Entries by two different admins: a gate tied to admin_id would show each only their own.
            insert into public.admin_audit_log (admin_id, action) values ('00000000-0000-4000-8000-0000000000fa', 'a'), ('00000000-0000-4000-8000-0000000000fc', 'b');
            insert into public.members values ('${orgA}', '${plain}', 'member'), ('${orgA}', '${orgAdmin}', 'admin');
            insert into public.projects values (1, '${orgA}'), (2, '${orgB}');
            insert into public.memberships values ('00000000-0000-4000-8000-0000000000d1', '${orgA}', '${orgAdmin}', 'admin'), ('00000000-0000-4000-8000-0000000000d2', '${orgB}', '${plain}', 'member');
            insert into public.member_notes values (1, '00000000-0000-4000-8000-0000000000d1'), (2, '00000000-0000-4000-8000-0000000000d2');
            create policy own_membership_rows on public.memberships for select to authenticated using (user_id = (select auth.uid()));`,
          )
          .simple(),
      );
      const seen = (name: string, user: string) =>
        withSql(db.url, (s) =>
          s
            .begin(async (tx) => {
              await tx.unsafe(sqlOf(name));
              await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: user, role: 'authenticated' })]);
              const rows = await tx.unsafe(`select count(*)::int as n from public.${policies[name]![0]}`);
              throw Object.assign(new Error('rollback'), { rows: rows[0]!['n'] as number });
            })
            .catch((e: { rows?: number }) => {
              if (e.rows === undefined) throw e;
              return e.rows;
            }),
        );
      for (const gate of ['helper_gate', 'inline_gate', 'exists_gate']) {
        expect(await seen(gate, admin), gate).toBe(2);
        expect(await seen(gate, orgAdmin), gate).toBe(2);
        expect(await seen(gate, plain), gate).toBe(0);
      }
      // Reported: a member of organisation A, an admin of A, a profile with no flag, a flag of A's profile see B's project or every entry.
      expect(await seen('any_member', plain)).toBe(2);
      expect(await seen('any_org_admin', orgAdmin)).toBe(2);
      expect(await seen('any_profile', plain)).toBe(2);
      expect(await seen('exists_lists_flag', plain)).toBe(2);
      expect(await seen('tenant_admin', orgAdmin)).toBe(2);
      // An admin of organisation A reads the note on a member of B.
      expect(await seen('membership_admin', orgAdmin)).toBe(2);
    } finally {
      await db.drop();
    }
  });
});

// x op ALL (array) is true over an empty array whatever x is, NULL included: a policy
// `auth.uid() = all(editors)` lets a request without a user read every row nobody was added to.
describe('policy-to-public: ALL over an array that may be empty passes without a user', () => {
  const t = (using: string) => `create table public.t (id int primary key, editors uuid[] not null default '{}', owner_id uuid, body text);
    alter table public.t enable row level security;
    grant select on public.t to anon, authenticated;
    create policy p on public.t for select using (${using});
    insert into public.t values (1, '{}', null, 'nobody''s yet'), (2, '{00000000-0000-4000-8000-000000000001}', '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;
  const passes = 'and a request without a user can pass it';
  const cannot = 'and is evaluated for every anon request although a request without a user cannot pass it';
  const verdict = async (using: string) => (await rule('policy-to-public', t(using))).map((f) => f.message.replace(/^.*anon included, /, ''));

  it('= ALL (a column) and <> ALL (a column) pass for anon on the empty array; = ANY and ALL over a non-empty ARRAY[…] do not', async () => {
    for (const using of ['auth.uid() = all(editors)', '(select auth.uid()) = all (editors)', 'auth.uid() <> all(editors)', "auth.uid() = all('{}'::uuid[])", 'auth.uid() = all(array[]::uuid[])']) {
      expect(await verdict(using), using).toEqual([passes]);
      expect(await readsAs(t(using), 'anon'), using).toContain("nobody's yet");
    }
    for (const using of ['auth.uid() = any(editors)', '(select auth.uid()) = all(array[owner_id])', "auth.uid() = all('{00000000-0000-4000-8000-000000000001}'::uuid[])"]) {
      expect(await verdict(using), using).toEqual([cannot]);
      expect(await readsAs(t(using), 'anon'), using).toEqual([]);
    }
  });

  it('policy-vacuous-all: on Postgres every signed-in user reads the row nobody was added to, through = ALL (a column) or = ALL (select …); = ANY and a non-empty ARRAY[…] are not reported', async () => {
    const U2 = '00000000-0000-4000-8000-000000000002';
    // Row 2's member is user 1, as its editors say; row 1 has neither.
    const members = `create table public.members (board_id int, user_id uuid);
      insert into public.members values (2, '00000000-0000-4000-8000-000000000001');
      grant select on public.members to authenticated;`;
    const cases = {
      '(select auth.uid()) = all (editors)': 'auth.uid() = ALL (editors)',
      [`(select auth.uid()) = all (select m.user_id from public.members m where m.board_id = t.id)`]: 'auth.uid() = ALL (select …)',
      '(select auth.uid()) = all (array_remove(editors, null))': 'auth.uid() = ALL (an array)',
    };
    for (const [using, text] of Object.entries(cases)) {
      const sqlText = members + t(using);
      const found = await rule('policy-vacuous-all', sqlText);
      expect(found.map((f) => f.message), using).toEqual([expect.stringContaining(`tests "${text}": ALL over nothing is true, so anon and authenticated can read the rows`)]);
      expect(found[0]!.fix, using).toBe(`test membership with = ANY: ${text.replace(' = ALL ', ' = ANY ')}`);
      // User 2 was added to nothing, and reads row 1 all the same.
      expect((await asRequest(sqlText, 'authenticated', U2, async (tx) => (await tx.unsafe('select id from public.t order by id')).map((r) => r['id'] as number))), using).toEqual([1]);
    }
    for (const using of ['(select auth.uid()) = any (editors)', '(select auth.uid()) = all (array[owner_id])', 'not ((select auth.uid()) = all (editors))', '(select auth.uid()) <> all (editors)']) {
      expect(await rule('policy-vacuous-all', t(using)), using).toEqual([]);
    }
  });
});

// Found on readest and authority-engine: `user_id = public.uid_helper()`, where the helper returns the
// caller's id from the claims, was said to be passable without a user; the same test inline was not.
describe('policy-to-public: a helper that returns the caller\'s id is NULL without a user, as the claim is', () => {
  const t = (body: string, lang = 'sql') => `create table public.t (id int primary key, user_id uuid, body text);
    alter table public.t enable row level security;
    grant select on public.t to anon, authenticated;
    create function public.uid_helper() returns uuid language ${lang} stable as $f$ ${body} $f$;
    create policy own on public.t for select using (user_id = public.uid_helper());
    insert into public.t values (1, null, 'nobody''s'), (2, '00000000-0000-4000-8000-000000000001', 'for user 1 only');`;
  const verdict = async (sqlText: string) => (await rule('policy-to-public', sqlText)).map((f) => f.message.replace(/^.*anon included, /, ''));
  const cannot = 'and is evaluated for every anon request although a request without a user cannot pass it';

  it('in a LANGUAGE sql or a one-RETURN plpgsql body, from the claims or auth.uid(); on Postgres anon reads nothing', async () => {
    for (const [body, lang] of [
      ["select (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid", 'sql'],
      ['select auth.uid()', 'sql'],
      ['begin return auth.uid(); end', 'plpgsql'],
    ] as const) {
      expect(await verdict(t(body, lang)), body).toEqual([cannot]);
      expect(await readsAs(t(body, lang), 'anon'), body).toEqual([]);
    }
    // One that falls back to a value anon has is passable, and says so.
    const fallback = t("select coalesce(auth.uid(), '00000000-0000-4000-8000-000000000001'::uuid)");
    expect(await verdict(fallback)).toEqual(['and a request without a user can pass it']);
    expect(await readsAs(fallback, 'anon')).toEqual(['for user 1 only']);
  });
});

// Seen on musta96/kruxt-beta (49 false alarms): has_perm(p, uid) is a multi-statement PL/pgSQL helper that selects the
// caller's operators row INTO a variable, returns false when there is none, and returns a test of it. The management
// policy on operators it gates was counted as a write path for any user; only someone who already passes can take it.
describe("policy-trusts-writable-column: a write path gated by a PL/pgSQL helper on the caller's own row", () => {
  const [founder, staff, nobody] = ['00000000-0000-4000-8000-0000000000f1', '00000000-0000-4000-8000-0000000000f2', '00000000-0000-4000-8000-0000000000f3'];
  const helper = (name: string, body: string) => `create function public.${name}(p text, v uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$
    declare r text;
    begin
      select o.role into r from public.operators o where o.user_id = v and o.is_active;
      ${body}
    end $$;`;
  const schema = (hasPerm: string, extra = '') => tables(helper('has_perm', hasPerm), extra);
  /** The operators and reports tables, `gate` (which defines public.has_perm(p text, v uuid)), and its two policies. */
  const tables = (gate: string, extra = '') => `create table public.operators (user_id uuid primary key, role text not null, is_active bool not null default true);
    create table public.reports (id int primary key, body text);
    ${gate}
    alter table public.operators enable row level security; alter table public.reports enable row level security;
    grant select, insert, update, delete on public.operators to authenticated; grant select on public.reports to authenticated;
    create policy ops_manage on public.operators for all to authenticated using (public.has_perm('manage', (select auth.uid()))) with check (public.has_perm('manage', (select auth.uid())));
    create policy reports_read on public.reports for select to authenticated using (public.has_perm('reports', (select auth.uid())));
    ${extra}`;
  const guarded = (test: string) => `if r is null then return false; end if;\n      return ${test};`;
  const seed = `insert into public.operators values ('${founder}', 'founder', true), ('${staff}', 'staff', true); insert into public.reports values (1, 'r');`;
  const findings = async (sql: string) => Object.fromEntries((await rule('policy-trusts-writable-column', sql)).map((f) => [f.object, f.message.replace(/^.* decides on (.*) of the caller's own row.*$/, '$1')]));

  /** As `user`: each write in turn (kept when Postgres takes it: 'refused' or the rows it touched), then what they read. */
  const attack = (sql: string, user: string, writes: string[], read = 'public.reports') =>
    asRequest(`${sql} ${seed}`, 'authenticated', user, async (tx) => {
      const results: Array<number | 'refused'> = [];
      for (const w of writes) {
        results.push(
          await tx
            .savepoint(async (sp) => (await sp.unsafe(w)).count)
            .catch((e: { code?: string }) => {
              if (e.code === '42501' || e.code === '23505') return 'refused' as const;
              throw e;
            }),
        );
      }
      return { results, seen: (await tx.unsafe(`select 1 from ${read}`)).length };
    });
  const promote = `update public.operators set role = 'founder', is_active = true where user_id = auth.uid()`;
  const join = `insert into public.operators values (auth.uid(), 'founder', true)`;

  it("an admin-only gate (role = 'founder', false without a row) opens no path; on Postgres only a founder gets through", async () => {
    const sql = schema(guarded(`r = 'founder' or p = 'read'`));
    expect(await findings(sql)).toEqual({});
    // Written `if not found`, with a NULL for no row, or the caller's id from auth.uid() in the body: the same gate.
    expect(await findings(schema(`if not found then return null; end if;\n      return r = 'founder';`))).toEqual({});
    expect(await findings(schema(guarded(`r in ('founder', 'owner') and p in ('manage', 'reports')`)))).toEqual({});
    expect(await findings(schema(guarded(`r = 'founder'`)).replace('o.user_id = v', 'o.user_id = (select auth.uid())'))).toEqual({});
    // A SECURITY INVOKER helper, or a table that forces RLS on its owner, reads the row through operators' policies: not read as a gate.
    expect(Object.keys(await findings(sql.replace('security definer', 'security invoker'))).sort()).toEqual(['ops_manage on public.operators', 'reports_read on public.reports']);
    const owned = `${sql} alter table public.operators owner to rg_lint_app_owner; alter function public.has_perm(text, uuid) owner to rg_lint_app_owner;`;
    expect(await findings(owned)).toEqual({});
    expect(Object.keys(await findings(`${owned} alter table public.operators force row level security;`)).sort()).toEqual(['ops_manage on public.operators', 'reports_read on public.reports']);
    expect(await attack(sql, nobody, [promote, join])).toEqual({ results: [0, 'refused'], seen: 0 });
    expect(await attack(sql, staff, [promote, join])).toEqual({ results: [0, 'refused'], seen: 0 });
    expect(await attack(sql, founder, [])).toEqual({ results: [], seen: 1 });
  });

  it('a gate any operator passes (p folded to true) leaves the founders-only policy reported; on Postgres staff promote themselves', async () => {
    const sql = schema(guarded(`r = 'founder' or p = 'manage'`));
    // ops_manage asks only for an operator, which any writer already is; reports_read asks for a founder.
    expect(await findings(sql)).toEqual({
      'reports_read on public.reports': expect.stringContaining('public.operators.role (read by public.has_perm(); authenticated: UPDATE, policy ops_manage)'),
    });
    expect(await attack(sql, staff, [promote])).toEqual({ results: [1], seen: 1 });
  });

  it("`return r is not null` (any operator) gates nothing a founders-only helper asks; on Postgres staff read the founders' notes", async () => {
    const sql = schema(
      guarded('r is not null'),
      `${helper('is_founder', guarded(`r = 'founder'`))}
      create table public.notes (id int primary key); alter table public.notes enable row level security; grant select on public.notes to authenticated;
      insert into public.notes values (1);
      create policy founder_notes on public.notes for select to authenticated using (public.is_founder('', (select auth.uid())));`,
    );
    expect(await findings(sql)).toEqual({
      'founder_notes on public.notes': expect.stringContaining('public.operators.role (read by public.is_founder(); authenticated: UPDATE, policy ops_manage)'),
    });
    expect(await attack(sql, staff, [promote], 'public.notes')).toEqual({ results: [1], seen: 1 });
    expect(await attack(sql, nobody, [promote, join])).toEqual({ results: [0, 'refused'], seen: 0 });
  });

  it("`if r is null` is also false for a row whose column is NULL: a gate on role does not hold what a gate on nick asks; on Postgres an operator without a nick gives themselves one", async () => {
    const sql = schema(
      guarded(`p = 'manage'`),
      `alter table public.operators add column nick text;
      create function public.has_nick(v uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$
        declare n text;
        begin
          select o.nick into n from public.operators o where o.user_id = v and o.is_active;
          if n is null then return false; end if;
          return true;
        end $$;
      create table public.lounge (id int primary key); alter table public.lounge enable row level security; grant select on public.lounge to authenticated;
      insert into public.lounge values (1);
      create policy nick_lounge on public.lounge for select to authenticated using (public.has_nick((select auth.uid())));`,
    );
    expect((await findings(sql))['nick_lounge on public.lounge']).toContain('public.operators.nick (read by public.has_nick(); authenticated: UPDATE, policy ops_manage)');
    expect(await attack(sql, staff, [`update public.operators set nick = 'me' where user_id = auth.uid()`], 'public.lounge')).toEqual({ results: [1], seen: 1 });
  });

  it('a gate on a column of another table the user sets for themselves opens the path; on Postgres they make themselves founder', async () => {
    const sql = schema(
      guarded(`r = 'founder'`),
      `create table public.profiles (id uuid primary key, is_admin bool not null default false);
      alter table public.profiles enable row level security; grant select, insert, update on public.profiles to authenticated;
      create policy own_profile on public.profiles for all to authenticated using (id = (select auth.uid())) with check (id = (select auth.uid()));
      create function public.is_admin(v uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$
        declare a bool;
        begin
          select pr.is_admin into a from public.profiles pr where pr.id = v;
          return a;
        end $$;
      drop policy ops_manage on public.operators;
      create policy ops_manage on public.operators for all to authenticated using (public.is_admin((select auth.uid()))) with check (public.is_admin((select auth.uid())));`,
    );
    expect((await findings(sql))['reports_read on public.reports']).toContain('public.operators.role (read by public.has_perm(); authenticated: UPDATE, policy ops_manage)');
    expect(await attack(sql, nobody, [`insert into public.profiles values (auth.uid(), true)`, join])).toEqual({ results: [1, 1], seen: 1 });
  });

  it('an INSERT check whose gate passes without a row (no guard, p folded to true) opens the path; on Postgres a stranger inserts themselves as founder', async () => {
    const sql = schema(`return r = 'founder' or p = 'join';`, `create policy ops_join on public.operators for insert to authenticated with check (public.has_perm('join', (select auth.uid())));`);
    expect(await findings(sql)).toEqual({
      'ops_manage on public.operators': expect.stringContaining('public.operators.role (read by public.has_perm(); authenticated: INSERT, policy ops_join)'),
      'reports_read on public.reports': expect.stringContaining('public.operators.role (read by public.has_perm(); authenticated: INSERT, policy ops_join)'),
    });
    expect(await attack(sql, nobody, [join])).toEqual({ results: [1], seen: 1 });
    // Guarded, the same check needs the caller's row already: only operators pass it, and none of them inserts a second row of their own.
    const closed = sql.replace(`return r = 'founder' or p = 'join';`, guarded(`r = 'founder' or p = 'join'`));
    expect(await findings(closed)).toEqual({});
    expect(await attack(closed, nobody, [join])).toEqual({ results: ['refused'], seen: 0 });
    expect(await attack(closed, staff, [join, promote])).toEqual({ results: ['refused', 0], seen: 0 });
  });

  // The same gate as one SELECT: LANGUAGE sql (exists or a scalar test of the row, NULL without one), PL/pgSQL that is one RETURN.
  const sqlGate = (name: string, body: string, args = 'p text, v uuid') => `create function public.${name}(${args}) returns boolean language sql stable security definer set search_path = '' as $$ ${body} $$;`;
  const plReturn = (name: string, expression: string, args = 'p text, v uuid') => `create function public.${name}(${args}) returns boolean language plpgsql stable security definer set search_path = '' as $$ begin return ${expression}; end $$;`;
  const exists = (test: string, key = 'o.user_id = v') => `exists (select 1 from public.operators o where ${key} and o.is_active and (${test}))`;
  /** The policies call has_perm() with no argument: the helper reads auth.uid() itself. */
  const noArgs = (sql: string) => sql.replace(/public\.has_perm\('\w+', \(select auth\.uid\(\)\)\)/g, 'public.has_perm()');

  it('the same admin-only gate written as LANGUAGE sql (exists, or a scalar test NULL without a row) or as one RETURN opens no path; on Postgres only a founder gets through', async () => {
    const forms = {
      'sql exists': tables(sqlGate('has_perm', `select ${exists(`o.role = 'founder' or p = 'read'`)}`)),
      'sql scalar': tables(sqlGate('has_perm', `select o.role = 'founder' from public.operators o where o.user_id = v and o.is_active`)),
      'sql scalar sub-select': tables(sqlGate('has_perm', `select (select o.role = 'founder' or p = 'read' from public.operators o where o.user_id = v and o.is_active)`)),
      'sql standard body': tables(`create function public.has_perm(p text, v uuid) returns boolean language sql stable security definer set search_path = '' return ${exists(`o.role = 'founder' or p = 'read'`)};`),
      'plpgsql one RETURN': tables(plReturn('has_perm', exists(`o.role = 'founder'`))),
      'sql exists, no argument': noArgs(tables(sqlGate('has_perm', `select exists (select 1 from public.operators where user_id = (select auth.uid()) and role = 'founder')`, ''))),
      'sql scalar, no argument': noArgs(tables(sqlGate('has_perm', `select o.role = 'founder' from public.operators o where o.user_id = auth.uid()`, ''))),
      'plpgsql one RETURN, no argument': noArgs(tables(plReturn('has_perm', `exists (select 1 from public.operators o where o.user_id = auth.uid() and o.role in ('founder', 'owner'))`, ''))),
    };
    for (const [form, sql] of Object.entries(forms)) {
      expect(await findings(sql), form).toEqual({});
      expect(await attack(sql, nobody, [promote, join]), form).toEqual({ results: [0, 'refused'], seen: 0 });
      expect(await attack(sql, staff, [promote, join]), form).toEqual({ results: [0, 'refused'], seen: 0 });
      expect(await attack(sql, founder, []), form).toEqual({ results: [], seen: 1 });
    }
  });

  it('written as LANGUAGE sql, a gate any operator passes (`or p = \'manage\'` called with \'manage\') leaves the founders-only policy reported; on Postgres staff promote themselves', async () => {
    const sql = tables(sqlGate('has_perm', `select ${exists(`o.role = 'founder' or p = 'manage'`)}`));
    expect(await findings(sql)).toEqual({
      'reports_read on public.reports': expect.stringContaining('public.operators.role (read by public.has_perm(); authenticated: UPDATE, policy ops_manage)'),
    });
    expect(await attack(sql, staff, [promote])).toEqual({ results: [1], seen: 1 });
  });

  it("written as LANGUAGE sql, `exists (… where user_id = v)` with no role test (any operator) gates nothing a founders-only helper asks; on Postgres staff read the founders' notes", async () => {
    const sql = tables(
      sqlGate('has_perm', `select exists (select 1 from public.operators o where o.user_id = v)`),
      `${sqlGate('is_founder', `select ${exists(`o.role = 'founder'`)}`)}
      create table public.notes (id int primary key); alter table public.notes enable row level security; grant select on public.notes to authenticated;
      insert into public.notes values (1);
      create policy founder_notes on public.notes for select to authenticated using (public.is_founder('', (select auth.uid())));`,
    );
    expect(await findings(sql)).toMatchObject({
      'founder_notes on public.notes': expect.stringContaining('public.operators.role (read by public.is_founder(); authenticated: UPDATE, policy ops_manage)'),
    });
    expect(await attack(sql, staff, [promote], 'public.notes')).toEqual({ results: [1], seen: 1 });
  });

  it('written as LANGUAGE sql, a gate on a column of another table the user sets for themselves opens the path; on Postgres they make themselves founder', async () => {
    const sql = tables(
      sqlGate('has_perm', `select ${exists(`o.role = 'founder' or p = 'read'`)}`),
      `create table public.profiles (id uuid primary key, is_admin bool not null default false);
      alter table public.profiles enable row level security; grant select, insert, update on public.profiles to authenticated;
      create policy own_profile on public.profiles for all to authenticated using (id = (select auth.uid())) with check (id = (select auth.uid()));
      ${sqlGate('is_admin', 'select pr.is_admin from public.profiles pr where pr.id = v', 'v uuid')}
      drop policy ops_manage on public.operators;
      create policy ops_manage on public.operators for all to authenticated using (public.is_admin((select auth.uid()))) with check (public.is_admin((select auth.uid())));`,
    );
    expect((await findings(sql))['reports_read on public.reports']).toContain('public.operators.role (read by public.has_perm(); authenticated: UPDATE, policy ops_manage)');
    expect(await attack(sql, nobody, [`insert into public.profiles values (auth.uid(), true)`, join])).toEqual({ results: [1, 1], seen: 1 });
  });

  it('written as LANGUAGE sql, an INSERT check that passes without a row (`p = \'join\' or exists (…)`) opens the path; on Postgres a stranger inserts themselves as founder', async () => {
    const sql = tables(sqlGate('has_perm', `select p = 'join' or ${exists(`o.role = 'founder'`)}`), `create policy ops_join on public.operators for insert to authenticated with check (public.has_perm('join', (select auth.uid())));`);
    expect(await findings(sql)).toEqual({
      'ops_manage on public.operators': expect.stringContaining('public.operators.role (read by public.has_perm(); authenticated: INSERT, policy ops_join)'),
      'reports_read on public.reports': expect.stringContaining('public.operators.role (read by public.has_perm(); authenticated: INSERT, policy ops_join)'),
    });
    expect(await attack(sql, nobody, [join])).toEqual({ results: [1], seen: 1 });
    // Inside the exists, the same test needs the caller's row already: only operators pass it, and none of them inserts a second row of their own.
    const closed = tables(sqlGate('has_perm', `select ${exists(`o.role = 'founder' or p = 'join'`)}`), `create policy ops_join on public.operators for insert to authenticated with check (public.has_perm('join', (select auth.uid())));`);
    expect(await findings(closed)).toEqual({});
    expect(await attack(closed, nobody, [join])).toEqual({ results: ['refused'], seen: 0 });
    expect(await attack(closed, staff, [join, promote])).toEqual({ results: ['refused', 0], seen: 0 });
  });

  it('without a unique key on what the look-up reads by, the INSERT gate that needs a row opens the path; on Postgres staff insert a second row as founder', async () => {
    const nonUnique = (sql: string) =>
      sql.replace('user_id uuid primary key, role text not null, is_active bool not null default true', "user_id uuid not null, role text not null, is_active bool not null default true, org text not null default 'a', primary key (user_id, org)");
    const sql = nonUnique(tables(sqlGate('has_perm', `select ${exists(`o.role = 'founder' or p = 'join'`)}`), `create policy ops_join on public.operators for insert to authenticated with check (public.has_perm('join', (select auth.uid())));`));
    // Not read as a gate, the UPDATE policy is the first path the message names; the INSERT one is what staff take.
    expect(await findings(sql)).toMatchObject({
      'reports_read on public.reports': expect.stringContaining('public.operators.role (read by public.has_perm(); authenticated: UPDATE, policy ops_manage)'),
    });
    expect(await attack(sql, staff, [`insert into public.operators (user_id, role, is_active, org) values (auth.uid(), 'founder', true, 'b')`])).toEqual({ results: [1], seen: 1 });
  });

  it('a LANGUAGE sql helper read through RLS (SECURITY INVOKER, or FORCE on its owner) is no gate: both policies stay reported', async () => {
    const sql = tables(sqlGate('has_perm', `select ${exists(`o.role = 'founder' or p = 'read'`)}`));
    expect(Object.keys(await findings(sql.replace('security definer', 'security invoker'))).sort()).toEqual(['ops_manage on public.operators', 'reports_read on public.reports']);
    const owned = `${sql} alter table public.operators owner to rg_lint_app_owner; alter function public.has_perm(text, uuid) owner to rg_lint_app_owner;`;
    expect(await findings(owned)).toEqual({});
    expect(Object.keys(await findings(`${owned} alter table public.operators force row level security;`)).sort()).toEqual(['ops_manage on public.operators', 'reports_read on public.reports']);
  });

  it('a LANGUAGE sql parameter named like a column of the table is that column (`o.user_id = user_id` holds for every row): no gate; on Postgres a stranger passes it and inserts themselves', async () => {
    const sql = tables(sqlGate('has_perm', `select ${exists(`o.role = 'founder' or p = 'read'`, 'o.user_id = user_id')}`, 'p text, user_id uuid'));
    expect(Object.keys(await findings(sql)).sort()).toEqual(['ops_manage on public.operators', 'reports_read on public.reports']);
    expect(await attack(sql, nobody, [join])).toEqual({ results: [1], seen: 1 });
  });

  it('a look-up FROM ONLY the table misses the rows of its child tables: no gate; on Postgres a founder kept in a child table passes the manage gate, not the ONLY one, and inserts the row that passes it', async () => {
    const oldFounder = '00000000-0000-4000-8000-0000000000f4';
    const sql = tables(
      sqlGate('has_perm', `select ${exists(`o.role = 'founder' or p = 'read'`)}`),
      `${sqlGate('is_founder', `select exists (select 1 from only public.operators o where o.user_id = v and o.is_active and o.role = 'founder')`)}
      create table public.operators_old () inherits (public.operators);
      insert into public.operators_old values ('${oldFounder}', 'founder', true);
      drop policy reports_read on public.reports;
      create policy reports_read on public.reports for select to authenticated using (public.is_founder('', (select auth.uid())));`,
    );
    expect((await findings(sql))['reports_read on public.reports']).toContain('public.operators.role (read by public.is_founder(); authenticated: ');
    expect(await attack(sql, oldFounder, [join])).toEqual({ results: [1], seen: 1 });
    expect(await attack(sql, oldFounder, [])).toEqual({ results: [], seen: 0 });
  });

  it("a table others INHERIT from has no unique key over their rows too: the INSERT gate's row is no longer the caller's only one; on Postgres staff kept in a child table insert themselves as founder", async () => {
    const childStaff = '00000000-0000-4000-8000-0000000000c5';
    const sql = tables(
      sqlGate('has_perm', `select ${exists(`o.role = 'founder' or p = 'join'`)}`),
      `create policy ops_join on public.operators for insert to authenticated with check (public.has_perm('join', (select auth.uid())));
      create table public.operators_old () inherits (public.operators);
      insert into public.operators_old values ('${childStaff}', 'staff', true);`,
    );
    expect((await findings(sql))['reports_read on public.reports']).toContain('public.operators.role (read by public.has_perm(); authenticated: ');
    expect(await attack(sql, childStaff, [join])).toEqual({ results: [1], seen: 1 });
    // Without the child table the same schema opens no path: the key leaves staff no second row.
    const plain = sql.replace(/create table public\.operators_old[^;]*;\s*insert into public\.operators_old[^;]*;/, '');
    expect(await findings(plain)).toEqual({});
  });
});

describe('policy-anonymous-branch: a NOT EXISTS over rows anon cannot see (found on classroomio/classroomio)', () => {
  const admin = '00000000-0000-4000-8000-0000000000a1';
  const org = '11111111-0000-4000-8000-000000000001';
  // Meant: the first member of an organisation may add themselves, later ones only its admins.
  // The sub-select runs under the caller's RLS: anon sees no member, so every org looks empty.
  const schema = (memberRead: string, insertTo = '', extra = '') => `create table public.orgs (id uuid primary key);
    create table public.members (id int generated always as identity primary key, org_id uuid not null references public.orgs, user_id uuid, role text not null default 'member');
    alter table public.members enable row level security;
    grant select, insert on public.members to anon, authenticated;
    create policy members_read on public.members for select ${memberRead};
    create policy members_insert on public.members for insert ${insertTo} with check (
      exists (select 1 from public.members m where m.org_id = members.org_id and m.user_id = (select auth.uid()) and m.role = 'admin')
      or not exists (select 1 from public.members m where m.org_id = members.org_id));
    ${extra}
    insert into public.orgs values ('${org}');
    insert into public.members (org_id, user_id, role) values ('${org}', '${admin}', 'admin');`;
  const join = `insert into public.members (org_id, role) values ('${org}', 'admin')`;
  const anonJoins = (sqlText: string) => asRequest(sqlText, 'anon', undefined, (tx) => tx.unsafe(join).then((x): number | string => x.count, (e: { code?: string }) => e.code ?? 'error'));
  const messages = async (sqlText: string) => (await rule('policy-anonymous-branch', sqlText)).map((f) => f.message);

  it('is reported when no SELECT policy lets anon see a member; on Postgres anon makes itself admin of an org that has one', async () => {
    const open = schema('using (auth.uid() is not null)');
    expect(await messages(open)).toEqual([
      `policy members_insert (INSERT) on public.members has a top-level "NOT EXISTS (SELECT … FROM public.members …)" branch in its WITH CHECK: the sub-select runs under anon's RLS and no SELECT policy of public.members lets a request without a user see a row, so anon passes it for every row, writes included`,
    ]);
    expect(await anonJoins(open)).toBe(1);
    // Also when anon may read only rows of its own (none: it has no user).
    const own = schema('using (user_id = auth.uid())');
    expect(await messages(own)).toHaveLength(1);
    expect(await anonJoins(own)).toBe(1);
  });

  it('is not reported when anon sees the members, when the policy is not for anon, or when anon may not insert; on Postgres anon is refused', async () => {
    const visible = schema('using (true)');
    expect(await messages(visible)).toEqual([]);
    expect(await anonJoins(visible)).toBe('42501');
    const signedIn = schema('using (auth.uid() is not null)', 'to authenticated');
    expect(await messages(signedIn)).toEqual([]);
    expect(await anonJoins(signedIn)).toBe('42501');
    const noGrant = schema('using (auth.uid() is not null)', '', 'revoke insert on public.members from anon;');
    expect(await messages(noGrant)).toEqual([]);
    expect(await anonJoins(noGrant)).toBe('42501');
    // A sub-select in the members' own SELECT policy makes Postgres refuse the insert: it expands that
    // policy again inside members_insert and reports infinite recursion instead of an empty table.
    const recursive = schema('using ((select auth.uid()) is not null)');
    expect(await messages(recursive)).toEqual([]);
    expect(await anonJoins(recursive)).toBe('42P17');
    // A read filter over rows anon may read anyway (posts of authors who blocked nobody it can see) is left alone.
    const reads = `${schema('using (auth.uid() is not null)')}
      create table public.posts (id int primary key, org_id uuid not null);
      alter table public.posts enable row level security;
      grant select on public.posts to anon, authenticated;
      create policy posts_read on public.posts for select using (not exists (select 1 from public.members m where m.org_id = posts.org_id and m.role = 'banned'));`;
    expect(await messages(reads)).toHaveLength(1);
  });
});

// Seen on gonasi-app/gonasi: has_org_role(org, 'admin', auth.uid()) is a CASE over the role asked for, each branch
// coalesce(get_user_org_role(org, user), '') compared with role names, and get_user_org_role a helper of its own.
// policy-to-public said a request without a user could pass; on Postgres anon deletes nothing.
describe('a request without a user: a CASE of role tests on coalesce(<nested helper>, <constant>)', () => {
  const schema = (fallback: string, otherwise = 'false') => `create table public.members (org_id int, user_id uuid, role text);
    alter table public.members enable row level security;
    create function public.member_role(o int, u uuid) returns text language sql stable security definer set search_path = '' as
      $$ select m.role from public.members m where m.org_id = o and m.user_id = u limit 1 $$;
    create function public.has_org_role(o int, required text, u uuid) returns boolean language sql stable security definer set search_path = '' as $$
      select case when required = 'owner' then coalesce(public.member_role(o, u), ${fallback}) = 'owner'
                  when required = 'admin' then coalesce(public.member_role(o, u), ${fallback}) in ('admin', 'owner')
                  else ${otherwise} end $$;
    create table public.orgs (id int primary key, tier text);
    alter table public.orgs enable row level security;
    create function public.can_edit(o int) returns boolean language sql stable security definer set search_path = '' as $$
      select coalesce((select case when g.tier = 'frozen' then false else public.member_role(g.id, (select auth.uid())) in ('owner', 'admin') end
                       from public.orgs g where g.id = o), false) $$;
    create table public.editors (org_id int, user_id uuid);
    alter table public.editors enable row level security;
    create policy admins_delete on public.editors for delete using (public.has_org_role(org_id, 'admin', (select auth.uid())));
    create table public.courses (id int primary key, org_id int);
    alter table public.courses enable row level security;
    create policy editors_update on public.courses for update using (public.can_edit(org_id)) with check (public.can_edit(org_id));
    grant select, update, delete on public.editors, public.courses to anon, authenticated;
    insert into public.orgs values (1, 'paid'); insert into public.editors values (1, null); insert into public.courses values (1, 1);`;
  const cannot = 'and is evaluated for every anon request although a request without a user cannot pass it';
  const can = 'and a request without a user can pass it';
  const messages = async (sql: string) => Object.fromEntries((await rule('policy-to-public', sql)).map((f) => [f.object.replace(/ on .*/, ''), f.message.replace(/^.*anon included, /, '')]));

  it('says anon cannot pass when every branch anon reaches compares a constant the test refuses; can when the fallback or ELSE lets it', async () => {
    expect(await messages(schema("''"))).toEqual({ admins_delete: cannot, editors_update: cannot });
    // The fallback is a role the test takes, or a CASE whose ELSE is true: anon passes.
    expect((await messages(schema("'admin'"))).admins_delete).toBe(can);
    expect((await messages(schema("''", 'true'))).admins_delete).toBe(can);
    // citext and char(n) compare without case or trailing blanks: a fallback that differs only so is taken as passing.
    expect((await messages(schema("'ADMIN '"))).admins_delete).toBe(can);
  });

  it('on Postgres anon deletes and updates nothing with the empty fallback, and deletes with the one the test takes', async () => {
    const anon = (fallback: string) =>
      asRequest(schema(fallback), 'anon', undefined, async (tx) => ({
        deleted: (await tx.unsafe('delete from public.editors')).count,
        updated: (await tx.unsafe('update public.courses set org_id = org_id')).count,
      }));
    expect(await anon("''")).toEqual({ deleted: 0, updated: 0 });
    expect((await anon("'admin'")).deleted).toBe(1);
  });
});

// Seen on hlieb-decodifi/the-suite (9 false alarms): is_admin(uid) is PL/pgSQL that SELECTs `exists (…)` INTO a boolean
// and returns it, and the admin-only policies of other tables ask `exists (select 1 from user_roles ur where ur.user_id =
// auth.uid() and ur.role = 'admin')` themselves. The only write path to user_roles is the admin-gated management policy,
// which only an admin already takes; neither form was read as a gate, so every admin policy was reported.
describe('policy-trusts-writable-column: an admin-gated management policy and admin checks written as sub-selects', () => {
  const [admin, client] = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2'];
  const schema = (asks = `exists (select 1 from public.user_roles ur where ur.user_id = auth.uid() and ur.role = 'admin')`, isAdmin = `declare is_admin boolean;
    begin
      select exists (select 1 from public.user_roles where user_id = user_uuid and role = 'admin') into is_admin;
      return is_admin;
    end`) => `create table public.user_roles (user_id uuid primary key, role text not null default 'client');
    create table public.notes (id int primary key, body text);
    create function public.is_admin(user_uuid uuid) returns boolean language plpgsql security definer set search_path = '' as $$ ${isAdmin} $$;
    alter table public.user_roles enable row level security; alter table public.notes enable row level security;
    grant select, insert, update, delete on public.user_roles, public.notes to authenticated;
    create policy manage_roles on public.user_roles for all to authenticated using (public.is_admin(auth.uid()));
    create policy own_role on public.user_roles for select to authenticated using (user_id = auth.uid());
    create policy notes_read on public.notes for select to authenticated using (${asks});
    create policy notes_edit on public.notes for update to authenticated using (public.is_admin(auth.uid()));
    insert into public.user_roles values ('${admin}', 'admin'), ('${client}', 'client'); insert into public.notes values (1, 'n');`;
  const reported = async (sql: string) => (await rule('policy-trusts-writable-column', sql)).map((f) => f.object).sort();
  /** As `user`: promote themselves (rows updated), insert a second admin row (refused or rows), then the notes they read. */
  const attack = (sql: string, user: string, role = 'admin') =>
    asRequest(sql, 'authenticated', user, async (tx) => {
      const promoted = (await tx.unsafe(`update public.user_roles set role = '${role}' where user_id = auth.uid()`)).count;
      const inserted = await tx
        .savepoint(async (sp) => (await sp.unsafe(`insert into public.user_roles values (gen_random_uuid(), 'admin')`)).count)
        .catch((e: { code?: string }) => (e.code === '42501' ? 'refused' : Promise.reject(e)));
      return { promoted, inserted, notes: (await tx.unsafe('select 1 from public.notes')).length };
    });

  it('neither is reported; on Postgres a client promotes nothing and reads no note, an admin reads it', async () => {
    const sql = schema();
    expect(await reported(sql)).toEqual([]);
    expect(await attack(sql, client)).toEqual({ promoted: 0, inserted: 'refused', notes: 0 });
    expect(await attack(sql, admin)).toEqual({ promoted: 1, inserted: 1, notes: 1 });
    // The same helper as LANGUAGE sql, or as a scalar SELECT INTO over the row: the same gate.
    expect(await reported(schema(undefined, `begin return exists (select 1 from public.user_roles where user_id = user_uuid and role = 'admin'); end`))).toEqual([]);
    expect(await reported(schema(undefined, `declare r boolean; begin select ur.role = 'admin' into r from public.user_roles ur where ur.user_id = user_uuid; return r; end`))).toEqual([]);
  });

  it('the PL/pgSQL gate needs a user: a management policy without TO calling it with auth.uid() is one anon cannot pass (policy-to-public, policy-check-unbound); on Postgres anon promotes and inserts nothing', async () => {
    const sql = schema().replace('create policy manage_roles on public.user_roles for all to authenticated', 'create policy manage_roles on public.user_roles for all') + ' grant select, insert, update on public.user_roles to anon;';
    const messages = async (id: string) => (await rule(id, sql)).filter((f) => f.object === 'manage_roles on public.user_roles').map((f) => f.message);
    expect(await messages('policy-to-public')).toEqual([expect.stringContaining('although a request without a user cannot pass it')]);
    expect(await messages('policy-check-unbound')).toEqual([expect.stringMatching(/^policy manage_roles lets authenticated write/)]);
    const anon = await asRequest(sql, 'anon', undefined, async (tx) => ({
      promoted: (await tx.unsafe(`update public.user_roles set role = 'admin'`)).count,
      inserted: await tx
        .savepoint(async (sp) => (await sp.unsafe(`insert into public.user_roles values (gen_random_uuid(), 'admin')`)).count)
        .catch((e: { code?: string }) => (e.code === '42501' ? 'refused' : Promise.reject(e))),
    }));
    expect(anon).toEqual({ promoted: 0, inserted: 'refused' });
  });

  it('a sub-select asking what the management gate does not hold, or a helper that returns a variable of another type stays reported; on Postgres an admin makes themselves a moderator', async () => {
    const moderators = schema(`exists (select 1 from public.user_roles ur where ur.user_id = auth.uid() and ur.role = 'moderator')`);
    expect(await reported(moderators)).toEqual(['notes_read on public.notes']);
    expect(await attack(moderators, admin, 'moderator')).toEqual({ promoted: 1, inserted: 'refused', notes: 1 });
    expect(await attack(moderators, client, 'moderator')).toEqual({ promoted: 0, inserted: 'refused', notes: 0 });
    // A text variable: `return r` casts it, and the management policy is no longer read as a gate.
    const text = schema(undefined, `declare r text; begin select ur.role into r from public.user_roles ur where ur.user_id = user_uuid and ur.role = 'admin'; return r; end`);
    expect(await reported(text)).toEqual(['manage_roles on public.user_roles', 'notes_edit on public.notes', 'notes_read on public.notes']);
  });
});

// Seen on moonklabs/sprintable (87 false alarms): `org_id in (select get_user_admin_org_ids())` over a set-returning
// SECURITY DEFINER helper (`select org_id from org_members where user_id = auth.uid() and role in ('owner', 'admin')`)
// guards both the reading policies and org_members' own INSERT and UPDATE (no WITH CHECK: USING checks the new row).
// A row a caller writes then belongs to an org they already administer, so the caller's set of orgs never grows; the
// rule read only boolean gates and reported every admin policy, those reading the set inside a sub-select included.
describe('policy-trusts-writable-column: set-returning helpers that gate their own table (`org_id in (select admin_orgs())`)', () => {
  const [admin, member] = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2'];
  const schema = (edit = `create policy members_edit on public.org_members for update to authenticated using (org_id in (select public.admin_orgs()));`) => `
    create table public.org_members (org_id int not null, user_id uuid not null, role text not null default 'member', unique (org_id, user_id));
    create table public.secrets (id int primary key, org_id int not null, body text);
    create table public.notes (id int primary key, secret_id int not null);
    create function public.admin_orgs() returns setof int language sql stable security definer set search_path = '' as $$
      select org_id from public.org_members where user_id = auth.uid() and role in ('owner', 'admin') $$;
    create function public.my_orgs() returns setof int language sql stable security definer set search_path = '' as $$
      select distinct org_id from public.org_members where user_id = auth.uid() $$;
    alter table public.org_members enable row level security; alter table public.secrets enable row level security; alter table public.notes enable row level security;
    grant select, insert, update, delete on public.org_members, public.secrets, public.notes to authenticated;
    create policy members_read on public.org_members for select to authenticated using (org_id in (select public.my_orgs()));
    create policy members_add on public.org_members for insert to authenticated with check (org_id in (select public.admin_orgs()));
    ${edit}
    create policy secrets_read on public.secrets for select to authenticated using (org_id in (select public.admin_orgs()));
    create policy notes_read on public.notes for select to authenticated using (secret_id in (select s.id from public.secrets s where s.org_id in (select public.admin_orgs())));
    insert into public.org_members values (1, '${member}', 'member'), (2, '${admin}', 'admin');
    insert into public.secrets values (1, 1, 'org 1'), (2, 2, 'org 2'); insert into public.notes values (1, 1), (2, 2);`;
  const reported = async (sql: string) => (await rule('policy-trusts-writable-column', sql)).map((f) => f.object).sort();
  // 42501: the policy refuses the row; 23505: the caller holds that (org, user) row already.
  const refused = (e: { code?: string }) => (e.code === '42501' ? 'refused' : e.code === '23505' ? 'held' : Promise.reject(e));
  /**
   * As `user`: raise their own role, move the rows they may update into org 1 (no WHERE on a column: a statement that reads
   * none needs no SELECT policy on the new row), add an owner row for themselves in org 1, then the secrets they read.
   */
  const attack = (sql: string, user: string) =>
    asRequest(sql, 'authenticated', user, async (tx) => {
      const promoted = (await tx.unsafe(`update public.org_members set role = 'owner' where user_id = auth.uid()`)).count;
      const moved = await tx.savepoint(async (sp) => (await sp.unsafe(`update public.org_members set org_id = 1`)).count).catch(refused);
      const added = await tx.savepoint(async (sp) => (await sp.unsafe(`insert into public.org_members values (1, auth.uid(), 'owner')`)).count).catch(refused);
      const secrets = (await tx.unsafe('select body from public.secrets order by id')).map((r) => r['body']);
      return { promoted, moved, added, secrets };
    });

  it('is not reported: on Postgres a member raises nothing and an admin of org 2 gets nothing of org 1', async () => {
    const sql = schema();
    expect(await reported(sql)).toEqual([]);
    expect(await attack(sql, member)).toEqual({ promoted: 0, moved: 0, added: 'refused', secrets: [] });
    expect(await attack(sql, admin)).toEqual({ promoted: 1, moved: 'refused', added: 'refused', secrets: ['org 2'] });
  });

  it('an UPDATE whose check lets a row out of the admin orgs, or one gated on any membership, is reported; on Postgres the caller reads org 1', async () => {
    const open = schema(`create policy members_edit on public.org_members for update to authenticated using (org_id in (select public.admin_orgs())) with check (true);`);
    expect(await reported(open)).toEqual(['members_add on public.org_members', 'members_edit on public.org_members', 'members_read on public.org_members', 'notes_read on public.notes', 'secrets_read on public.secrets']);
    expect(await attack(open, admin)).toEqual({ promoted: 1, moved: 1, added: 'held', secrets: ['org 1'] });
    const anyMember = schema(`create policy members_edit on public.org_members for update to authenticated using (org_id in (select public.my_orgs()));`);
    // members_read and members_edit ask any membership, which a member's writes keep within their orgs: not reported.
    expect(await reported(anyMember)).toEqual(['members_add on public.org_members', 'notes_read on public.notes', 'secrets_read on public.secrets']);
    expect(await attack(anyMember, member)).toEqual({ promoted: 1, moved: 1, added: 'held', secrets: ['org 1'] });
  });
});

// Seen on JM0rg/HackTrackerV3 (26 false alarms): every team table asks is_team_member(team_id) or has_team_role(team_id,
// array['owner', 'coach']), LANGUAGE sql helpers over `exists (select 1 from team_members tm where tm.team_id = p_team_id
// and tm.user_id = auth.uid() and tm.deleted_at is null [and tm.role::text = any (p_roles)])`, and team_members is written
// only through has_team_role(team_id, array['owner']). Such a call is `team_id in (the caller's teams that pass)`: the rows
// an owner writes stay in teams they own. The rule read neither the row's column handed in, `IS NULL` nor `= any (p_roles)`.
describe('policy-trusts-writable-column: a boolean helper handed the row\'s team column (`has_team_role(team_id, array[…])`)', () => {
  const [owner, stranger, coach] = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-0000000000a3'];
  const schema = (edit = `with check (public.has_team_role(team_id, array['owner']))`) => `
    create table public.team_members (team_id int not null, user_id uuid not null, role text not null, deleted_at timestamptz, unique (team_id, user_id));
    create table public.opponents (id int primary key, team_id int not null, name text);
    create table public.notes (id int primary key, team_id int not null, author uuid);
    create function public.is_team_member(p_team_id int) returns boolean language sql stable security definer set search_path = '' as $$
      select exists (select 1 from public.team_members tm where tm.team_id = p_team_id and tm.user_id = auth.uid() and tm.deleted_at is null) $$;
    create function public.has_team_role(p_team_id int, p_roles text[]) returns boolean language sql stable security definer set search_path = '' as $$
      select exists (select 1 from public.team_members tm where tm.team_id = p_team_id and tm.user_id = auth.uid() and tm.deleted_at is null and tm.role::text = any (p_roles)) $$;
    alter table public.team_members enable row level security; alter table public.opponents enable row level security; alter table public.notes enable row level security;
    grant select, insert, update, delete on public.team_members, public.opponents, public.notes to authenticated;
    create policy members_read on public.team_members for select to authenticated using (public.is_team_member(team_id) or user_id = auth.uid());
    -- A coach adds players: their own new row would collide with the row has_team_role found (unique (team_id, user_id)).
    create policy members_add on public.team_members for insert to authenticated with check (public.has_team_role(team_id, array['owner']) or (public.has_team_role(team_id, array['coach']) and role = 'player'));
    create policy members_edit on public.team_members for update to authenticated using (public.has_team_role(team_id, array['owner'])) ${edit};
    create policy opponents_read on public.opponents for select to authenticated using (public.is_team_member(team_id));
    create policy opponents_write on public.opponents for all to authenticated using (public.has_team_role(team_id, array['owner', 'coach'])) with check (public.has_team_role(team_id, array['owner', 'coach']));
    create policy opponents_drop on public.opponents for delete to authenticated using (public.has_team_role(team_id, array['owner']));
    -- Beside a branch with a sub-select of its own (gateForm does not read it).
    create policy notes_read on public.notes for select to authenticated using (public.is_team_member(team_id) or author = (select auth.uid()));
    insert into public.team_members values (1, '${owner}', 'owner', null), (2, '${stranger}', 'owner', null), (1, '${coach}', 'coach', null);
    insert into public.opponents values (1, 1, 'of team 1');`;
  const reported = async (sql: string) => (await rule('policy-trusts-writable-column', sql)).map((f) => f.object).sort();
  const refused = (e: { code?: string }) => (e.code === '42501' ? 'refused' : Promise.reject(e));
  /** As the owner of team 2: move their row into team 1 (no WHERE on a column), add an owner row in team 1, then rename team 1's opponent. */
  const attack = (sql: string) =>
    asRequest(sql, 'authenticated', stranger, async (tx) => {
      const moved = await tx.savepoint(async (sp) => (await sp.unsafe(`update public.team_members set team_id = 1`)).count).catch(refused);
      const added = await tx.savepoint(async (sp) => (await sp.unsafe(`insert into public.team_members values (1, auth.uid(), 'owner', null)`)).count).catch((e: { code?: string }) => (e.code === '23505' ? 'held' : refused(e)));
      const renamed = (await tx.unsafe(`update public.opponents set name = 'renamed'`)).count;
      return { moved, added, renamed };
    });

  it('is not reported: on Postgres the owner of team 2 gets nothing of team 1', async () => {
    const sql = schema();
    // Left: members_add asks owner or coach, and an owner may turn their own row into a coach row (members_edit), which
    // the rule counts as reaching the coach branch; it adds no team the owner did not hold.
    expect(await reported(sql)).toEqual(['members_add on public.team_members']);
    expect(await attack(sql)).toEqual({ moved: 'refused', added: 'refused', renamed: 0 });
    // No WITH CHECK: USING checks the new row, the same gate.
    expect(await reported(schema(''))).toEqual(['members_add on public.team_members']);
    // The coach's own owner row in team 1 collides with the coach row; as a player it would too.
    const selfAdd = (role: string) =>
      asRequest(sql, 'authenticated', coach, (tx) => tx.unsafe(`insert into public.team_members values (1, auth.uid(), '${role}', null)`).then((r) => r.count, (e: { code?: string }) => e.code));
    expect([await selfAdd('owner'), await selfAdd('player')]).toEqual(['42501', '23505']);
  });

  it('an UPDATE whose check lets a row out of the owner\'s teams is reported; on Postgres the owner of team 2 takes team 1', async () => {
    const open = schema('with check (true)');
    expect(await reported(open)).toEqual(['members_add on public.team_members', 'members_edit on public.team_members', 'members_read on public.team_members', 'notes_read on public.notes', 'opponents_drop on public.opponents', 'opponents_read on public.opponents', 'opponents_write on public.opponents']);
    expect(await attack(open)).toEqual({ moved: 1, added: 'held', renamed: 1 });
  });
});

// Seen on mc6ril/workbench: anyone who knows a project's id joins it as a viewer (`with check (user_id = auth.uid() and
// role = 'viewer')`), and admin-only policies ask is_project_admin(project_id), a PL/pgSQL `return exists (select 1 from
// project_members where project_id = project_uuid and user_id = auth.uid() and role = 'admin')`. The rule named the
// self-join as a way to set project_id on a row of one's own and pass the admin gate; but every row it admits says
// 'viewer', which the gate refuses (whether the caller can then change role is role's own write path).
describe('policy-trusts-writable-column: a self-join that pins a role the gate refuses opens no path', () => {
  const stranger = '00000000-0000-4000-8000-0000000000b2';
  const schema = (join: string) => `
    create table public.project_members (project_id int not null, user_id uuid not null, role text not null, unique (project_id, user_id));
    create table public.tickets (id int primary key, project_id int not null, title text);
    create function public.is_project_member(project_uuid int) returns boolean language plpgsql stable security definer set search_path = '' as $$
      begin return exists (select 1 from public.project_members where project_id = project_uuid and user_id = auth.uid()); end $$;
    create function public.is_project_admin(project_uuid int) returns boolean language plpgsql stable security definer set search_path = '' as $$
      begin return exists (select 1 from public.project_members where project_id = project_uuid and user_id = auth.uid() and role = 'admin'); end $$;
    alter table public.project_members enable row level security; alter table public.tickets enable row level security;
    grant select, insert, update, delete on public.project_members, public.tickets to authenticated;
    create policy members_read on public.project_members for select to authenticated using (public.is_project_member(project_id));
    create policy join_as_viewer on public.project_members for insert to authenticated with check (${join});
    create policy admins_add on public.project_members for insert to authenticated with check (public.is_project_admin(project_id));
    create policy admins_edit on public.project_members for update to authenticated using (public.is_project_admin(project_id)) with check (public.is_project_admin(project_id));
    create policy tickets_read on public.tickets for select to authenticated using (public.is_project_member(project_id));
    create policy tickets_drop on public.tickets for delete to authenticated using (public.is_project_admin(project_id));
    insert into public.project_members values (1, '00000000-0000-4000-8000-0000000000b1', 'admin');
    insert into public.tickets values (1, 1, 'of project 1');`;
  const reported = async (sql: string) => (await rule('policy-trusts-writable-column', sql)).map((f) => f.object).sort();
  const refused = (e: { code?: string }) => (e.code === '42501' ? 'refused' : Promise.reject(e));
  /** As a stranger to project 1: join it as an admin, join it as a viewer and promote that row, then delete its tickets. */
  const attack = (sql: string) =>
    asRequest(sql, 'authenticated', stranger, async (tx) => {
      const asAdmin = await tx.savepoint(async (sp) => (await sp.unsafe(`insert into public.project_members values (1, auth.uid(), 'admin')`)).count).catch(refused);
      const asViewer = asAdmin === 1 ? 'admin already' : (await tx.unsafe(`insert into public.project_members values (1, auth.uid(), 'viewer')`)).count;
      const promoted = (await tx.unsafe(`update public.project_members set role = 'admin' where user_id = auth.uid()`)).count;
      const read = (await tx.unsafe('select title from public.tickets')).map((r) => r['title'] as string);
      const dropped = (await tx.unsafe('delete from public.tickets')).count;
      return { asAdmin, asViewer, promoted, read, dropped };
    });

  // The policies that ask only for a membership stay reported: a viewer is a member, and reads project 1's tickets.
  const reads = ['members_read on public.project_members', 'tickets_read on public.tickets'];

  it('role pinned to viewer: the admin-gated policies are not reported; on Postgres the stranger joins as a viewer, reads and deletes nothing', async () => {
    const sql = schema(`user_id = auth.uid() and role = 'viewer'`);
    expect(await reported(sql)).toEqual(reads);
    expect(await attack(sql)).toEqual({ asAdmin: 'refused', asViewer: 1, promoted: 0, read: ['of project 1'], dropped: 0 });
    // Written the other way round, with a cast, in another case: the same.
    expect(await reported(schema(`'VIEWER'::text = role and user_id = (select auth.uid())`))).toEqual(reads);
  });

  it('a join that admits the admin role too, or pins no role, is reported; on Postgres the stranger joins as an admin, reads and deletes the tickets', async () => {
    for (const join of [`user_id = auth.uid() and role in ('viewer', 'admin')`, `user_id = auth.uid()`, `user_id = auth.uid() and (role = 'viewer' or auth.uid() is not null)`]) {
      const sql = schema(join);
      expect(await reported(sql), join).toEqual(['admins_add on public.project_members', 'admins_edit on public.project_members', ...reads, 'tickets_drop on public.tickets'].sort());
      expect(await attack(sql), join).toEqual({ asAdmin: 1, asViewer: 'admin already', promoted: 1, read: ['of project 1'], dropped: 1 });
    }
  });
});

// Seen on tarrasqueapp/tarrasqueapp (23 false alarms): every game-master policy asks is_game_master_in_campaign(campaign_id),
// a PL/pgSQL SECURITY INVOKER `return exists (select 1 from campaign_memberships where campaign_id = … and user_id =
// auth.uid() and role = 'GAME_MASTER')`, and campaign_memberships is listed to anyone (`using (true)`), so the helper,
// run as the caller, sees every row. The rule took only a helper that skips RLS (no RLS, or SECURITY DEFINER) as seeing
// the caller's row, so it could not tell that only game masters of a campaign update its memberships.
describe('policy-trusts-writable-column: an invoker helper over a table every API role reads in full', () => {
  const [gm, player, other] = ['00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000c2', '00000000-0000-4000-8000-0000000000c3'];
  const schema = (edit = '') => `
    create table public.campaign_memberships (campaign_id int not null, user_id uuid not null, role text not null default 'PLAYER', unique (campaign_id, user_id));
    create table public.maps (id int primary key, campaign_id int not null, name text);
    create function public.is_game_master(campaign_id int) returns boolean language plpgsql stable as $$
      begin return exists (select 1 from public.campaign_memberships where campaign_memberships.campaign_id = is_game_master.campaign_id
        and campaign_memberships.user_id = auth.uid() and campaign_memberships.role = 'GAME_MASTER'); end $$;
    alter table public.campaign_memberships enable row level security; alter table public.maps enable row level security;
    grant select on public.campaign_memberships, public.maps to anon;
    grant select, insert, update, delete on public.campaign_memberships, public.maps to authenticated;
    create policy members_read on public.campaign_memberships for select using (true);
    create policy members_add on public.campaign_memberships for insert to authenticated with check (public.is_game_master(campaign_id));
    create policy members_edit on public.campaign_memberships for update to authenticated using (public.is_game_master(campaign_id)) ${edit};
    create policy maps_read on public.maps for select using (true);
    create policy maps_edit on public.maps for update to authenticated using (public.is_game_master(campaign_id));
    insert into public.campaign_memberships values (1, '${gm}', 'GAME_MASTER'), (1, '${player}', 'PLAYER'), (2, '${other}', 'GAME_MASTER');
    insert into public.maps values (1, 1, 'of campaign 1');`;
  const reported = async (sql: string) => (await rule('policy-trusts-writable-column', sql)).map((f) => f.object).sort();
  const refused = (e: { code?: string }) => (e.code === '42501' ? 'refused' : Promise.reject(e));
  /** A player of campaign 1 raises their own role; the game master of campaign 2 adds a row of theirs to campaign 1, moves theirs there, then renames campaign 1's map. */
  const attack = async (sql: string) => ({
    raised: await asRequest(sql, 'authenticated', player, async (tx) => (await tx.unsafe(`update public.campaign_memberships set role = 'GAME_MASTER' where user_id = auth.uid()`)).count),
    ...(await asRequest(sql, 'authenticated', other, async (tx) => {
      const added = await tx.savepoint(async (sp) => (await sp.unsafe(`insert into public.campaign_memberships values (1, auth.uid(), 'GAME_MASTER')`)).count).catch(refused);
      const moved = await tx.savepoint(async (sp) => (await sp.unsafe(`update public.campaign_memberships set campaign_id = 1 where user_id = auth.uid()`)).count).catch(refused);
      const renamed = (await tx.unsafe(`update public.maps set name = 'renamed'`)).count;
      return { added, moved, renamed };
    })),
  });

  it('is not reported: on Postgres a player raises nothing and another campaign\'s game master takes nothing of campaign 1', async () => {
    const sql = schema();
    expect(await reported(sql)).toEqual([]);
    expect(await attack(sql)).toEqual({ raised: 0, added: 'refused', moved: 'refused', renamed: 0 });
  });

  it('an UPDATE whose check lets a row into another campaign is reported; on Postgres the game master of campaign 2 moves into campaign 1 and renames its map', async () => {
    const open = schema('with check (true)');
    expect(await reported(open)).toEqual(['maps_edit on public.maps', 'members_add on public.campaign_memberships', 'members_edit on public.campaign_memberships']);
    expect(await attack(open)).toEqual({ raised: 0, added: 'refused', moved: 1, renamed: 1 });
  });
});

describe('policy-anonymous-branch: NULL matched with NULL on a column that may hold no owner (holes4)', () => {
  const a = '00000000-0000-4000-8000-000000000001';
  const zero = '00000000-0000-0000-0000-000000000000';
  const t = (column: string, using: string, check = using) => `create table public.notes (id int primary key, user_id ${column}, body text);
    alter table public.notes enable row level security;
    grant select, insert on public.notes to anon, authenticated;
    create policy own on public.notes for select to anon, authenticated using (${using});
    create policy add on public.notes for insert to anon, authenticated with check (${check});
    insert into public.notes values (1, '${a}', 'a''s'), (2, null, 'orphaned');`;
  const anonReads = (sqlText: string) => asRequest(sqlText, 'anon', undefined, async (tx) => (await tx.unsafe('select body from public.notes order by id')).map((r) => r['body'] as string));
  const anonWrites = (sqlText: string) =>
    asRequest(sqlText, 'anon', undefined, async (tx) => {
      await tx.unsafe("insert into public.notes values (3, null, 'anon''s')");
      return true;
    }).catch((e: { code?: string }) => e.code);
  const nd = 'user_id is not distinct from (select auth.uid())';
  const sentinel = `coalesce(user_id, '${zero}') = coalesce((select auth.uid()), '${zero}')`;

  it('IS NOT DISTINCT FROM or a COALESCE to the same sentinel on both sides: on Postgres anon reads the ownerless row and writes one; reported on both policies', async () => {
    for (const using of [nd, sentinel]) {
      const sqlText = t('uuid', using);
      expect(await anonReads(sqlText)).toEqual(['orphaned']);
      expect(await anonWrites(sqlText)).toBe(true);
      const found = (await rule('policy-anonymous-branch', sqlText)).map((f) => f.message).sort();
      expect(found).toEqual([
        expect.stringMatching(/^policy add \(INSERT\) on public\.notes tests ".*" in its WITH CHECK, and user_id may be NULL: .*anon may write rows whose user_id is NULL$/),
        expect.stringMatching(/^policy own \(SELECT\) on public\.notes tests ".*" in its USING, and user_id may be NULL: without a user that side is NULL, so anon passes it on every row whose user_id is NULL$/),
      ]);
    }
  });

  it('not on a column that refuses NULL — NOT NULL, a NOT NULL domain or one that CHECKs VALUE IS NOT NULL, a CHECK (user_id IS NOT NULL) — (no such row: anon reads nothing, Postgres refuses its write), nor with = or an explicit `user_id is null or …`', async () => {
    for (const [column, refused] of [
      ['uuid not null', '23502'],
      ['public.owner_id', '23502'],
      ['public.checked_id', '23514'],
      ['uuid check (user_id is not null)', '23514'],
    ]) {
      const domains = 'create domain public.owner_id as uuid not null; create domain public.checked_id as uuid check (value is not null);';
      const sqlText = `${domains} ${t(column!, nd).replace(", (2, null, 'orphaned')", '')}`;
      expect(await anonReads(sqlText)).toEqual([]);
      expect(await anonWrites(sqlText)).toBe(refused);
      expect(await rule('policy-anonymous-branch', sqlText)).toEqual([]);
    }
    const eq = t('uuid', 'user_id = (select auth.uid())');
    expect(await anonReads(eq)).toEqual([]);
    expect(await rule('policy-anonymous-branch', eq)).toEqual([]);
    // Different fallbacks never meet: coalesce(NULL owner, K) = coalesce(no user, K') is false.
    const apart = t('uuid', `coalesce(user_id, '${zero}') = coalesce((select auth.uid()), 'ffffffff-ffff-4fff-8fff-ffffffffffff')`);
    expect(await anonReads(apart)).toEqual([]);
    expect(await rule('policy-anonymous-branch', apart)).toEqual([]);
    expect(await rule('policy-anonymous-branch', t('uuid', 'user_id is null or user_id = (select auth.uid())'))).toEqual([]);
  });
});

describe('trigger-copies-protected-rows: a row trigger copying owner-only rows into a table every user reads (holes4)', () => {
  const a = '00000000-0000-4000-8000-000000000001';
  const b = '00000000-0000-4000-8000-000000000002';
  const t = (insert: string, feedUsing = 'true') => `create table public.messages (id int primary key, user_id uuid not null, body text);
    alter table public.messages enable row level security;
    create policy own on public.messages for all to authenticated using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
    grant select, insert on public.messages to authenticated;
    create table public.activity (id bigint generated always as identity primary key, message_id int, user_id uuid, payload jsonb, body text);
    alter table public.activity enable row level security;
    create policy feed on public.activity for select to authenticated using (${feedUsing});
    grant select on public.activity to authenticated;
    create function private.log_activity() returns trigger language plpgsql security definer set search_path = '' as $$
    begin ${insert}; return new; end $$;
    create trigger log after insert on public.messages for each row execute function private.log_activity();
    insert into public.messages values (1, '${b}', 'b''s secret');`;
  const feed = (sqlText: string) =>
    asRequest(sqlText, 'authenticated', a, async (tx) => ({
      own: (await tx.unsafe('select body from public.messages')).map((r) => r['body'] as string),
      feed: (await tx.unsafe("select coalesce(body, payload ->> 'body') as body from public.activity")).map((r) => r['body'] as string | null),
    }));

  it("to_jsonb(new) or new.body into a feed every user reads: on Postgres user a reads b's message there and not in messages; reported", async () => {
    for (const insert of ['insert into public.activity (payload) values (to_jsonb(new))', 'insert into public.activity (message_id, body) values (new.id, new.body)']) {
      const sqlText = t(insert);
      expect(await feed(sqlText)).toEqual({ own: [], feed: ["b's secret"] });
      expect((await rule('trigger-copies-protected-rows', sqlText)).map((f) => f.message)).toEqual([
        expect.stringMatching(/^trigger log on public\.messages \(private\.log_activity\(\)\) copies (each row|body of each row) into public\.activity, which authenticated may read every row of: there authenticated reads other users' public\.messages rows/),
      ]);
    }
  });

  it('not when the copy is the key and the owner only, nor when the feed keeps each row to its owner', async () => {
    const ids = t('insert into public.activity (message_id, user_id) values (new.id, new.user_id)');
    expect(await feed(ids)).toEqual({ own: [], feed: [null] });
    expect(await rule('trigger-copies-protected-rows', ids)).toEqual([]);
    const owned = t('insert into public.activity (user_id, payload) values (new.user_id, to_jsonb(new))', '(select auth.uid()) = user_id');
    expect(await feed(owned)).toEqual({ own: [], feed: [] });
    expect(await rule('trigger-copies-protected-rows', owned)).toEqual([]);
  });
});

describe("policy-anonymous-branch: a per-claim setting PostgREST 10 and later never set (holes4)", () => {
  const a = '00000000-0000-4000-8000-000000000001';
  const b = '00000000-0000-4000-8000-000000000002';
  const t = (using: string) => `create table public.notes (id int primary key, user_id uuid, body text);
    alter table public.notes enable row level security;
    grant select, update on public.notes to authenticated;
    create policy own on public.notes for all to authenticated using (${using});
    insert into public.notes values (1, '${a}', 'a''s'), (2, '${b}', 'b''s');`;
  // rolledBackRequest sets request.jwt.claims alone, as PostgREST 10 and later do.
  const reads = (sqlText: string) => asRequest(sqlText, 'authenticated', a, async (tx) => (await tx.unsafe('select body from public.notes order by id')).map((r) => r['body'] as string));

  it("an `IS NULL` branch on request.jwt.claim.sub: on Postgres user a reads b's row; reported for authenticated though the policy is not for anon", async () => {
    for (const [branch, text] of [
      ["current_setting('request.jwt.claim.sub', true) is null", "current_setting('request.jwt.claim.sub') IS NULL"],
      ["nullif(current_setting('request.jwt.claim.sub', true), '') is null", "current_setting('request.jwt.claim.sub') IS NULL"],
      ["coalesce(current_setting('request.jwt.claim.sub', true), '') = ''", "COALESCE(current_setting('request.jwt.claim.sub'), '') = ''"],
    ]) {
      const sqlText = t(`${branch} or user_id::text = current_setting('request.jwt.claim.sub', true)`);
      expect(await reads(sqlText)).toEqual(["a's", "b's"]);
      expect((await rule('policy-anonymous-branch', sqlText)).map((f) => f.message)).toEqual([
        `policy own (ALL) on public.notes has a top-level "${text}" branch: PostgREST 10 and later set only request.jwt.claims, never the per-claim settings, so authenticated passes it for every row, writes included`,
      ]);
    }
  });

  it('not the owner test on that setting alone (it matches nothing), nor one on request.jwt.claims', async () => {
    const closed = t("user_id::text = current_setting('request.jwt.claim.sub', true)");
    expect(await reads(closed)).toEqual([]);
    expect(await rule('policy-anonymous-branch', closed)).toEqual([]);
    const claims = t("(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub') is null or user_id = (select auth.uid())");
    expect(await reads(claims)).toEqual(["a's"]);
    expect(await rule('policy-anonymous-branch', claims)).toEqual([]);
  });
});

describe('policy-vacuous-all: a CHECK that keeps the array non-empty (holes4)', () => {
  const a = '00000000-0000-4000-8000-000000000001';
  const t = (column: string) => `create table public.docs (id int primary key, editors ${column}, body text);
    alter table public.docs enable row level security;
    grant select, insert on public.docs to anon, authenticated;
    create policy edit on public.docs for select to anon, authenticated using ((select auth.uid()) = all (editors));
    insert into public.docs values (1, array['${a}']::uuid[], 'a''s'), (2, null, 'no list');`;
  const anonReads = (sqlText: string) => asRequest(sqlText, 'anon', undefined, async (tx) => (await tx.unsafe('select id from public.docs order by id')).map((r) => r['id'] as number));
  // Whether the table takes a row with an empty list (written by the owner, whom no policy stops).
  const emptyRow = (sqlText: string) =>
    asRequest(`${sqlText} insert into public.docs values (3, '{}', 'empty');`, 'anon', undefined, async () => true).catch((e: { code?: string }) => e.code);

  it('cardinality(editors) > 0 or editors <> {}: Postgres refuses the empty array and anon reads nothing; not reported, as it is without the CHECK or under array_length(editors, 1) > 0', async () => {
    for (const check of ['cardinality(editors) > 0', 'cardinality(editors) >= 1', "editors <> '{}'"]) {
      const sqlText = t(`uuid[] check (${check})`);
      expect(await emptyRow(sqlText), check).toBe('23514');
      expect(await anonReads(sqlText), check).toEqual([]);
      expect(await rule('policy-vacuous-all', sqlText), check).toEqual([]);
    }
    // array_length('{}', 1) is NULL, which a CHECK lets through.
    for (const open of [t('uuid[]'), t('uuid[] check (array_length(editors, 1) > 0)')]) {
      expect(await emptyRow(open)).toBe(true);
      expect(await rule('policy-vacuous-all', open)).toHaveLength(1);
    }
    // A CHECK NOT VALID guards only new rows: an empty list already there stays, and the test is reported.
    const late = `${t('uuid[]')} insert into public.docs values (4, '{}', 'before'); alter table public.docs add constraint nonempty check (cardinality(editors) > 0) not valid;`;
    expect(await anonReads(late)).toEqual([4]);
    expect(await rule('policy-vacuous-all', late)).toHaveLength(1);
  });
});

describe('policy-recursion: a policy that is only a call of an invoker helper reading its own table', () => {
  const A = 'aaaaaaaa-0000-4000-8000-00000000000a';
  const base = (definer: boolean, ownRow: boolean) => `
    create table public.profiles (id uuid primary key, is_admin boolean not null default false);
    alter table public.profiles enable row level security;
    grant select, update on public.profiles to authenticated;
    create function public.is_admin() returns boolean language sql stable ${definer ? 'security definer set search_path = \'\'' : ''}
      as $$ select coalesce((select p.is_admin from public.profiles p where p.id = (select auth.uid())), false) $$;
    grant execute on function public.is_admin() to authenticated;
    create policy admins on public.profiles for select to authenticated using ((select public.is_admin()));
    ${ownRow ? `create policy own on public.profiles for select to authenticated using (id = (select auth.uid()));` : ''}
    insert into public.profiles values ('${A}', false), ('bbbbbbbb-0000-4000-8000-00000000000b', false);`;
  const select = (sql: string) => orMessage(asRequest(sql, 'authenticated', A, async (tx) => (await tx.unsafe('select id from public.profiles')).length));

  it('on Postgres the invoker helper recurses until the stack is exhausted; reported for SELECT (an UPDATE, with no UPDATE policy, reads no row)', async () => {
    expect(await select(base(false, false))).toBe('stack depth limit exceeded');
    const found = await rule('policy-recursion', base(false, false));
    expect(found.map((f) => f.message)).toEqual([
      'every SELECT on public.profiles by authenticated that meets a row fails with "stack depth limit exceeded" (54001): policy admins calls public.is_admin(), which reads public.profiles under its RLS, so each row the helper\'s query meets (the caller\'s own, usually) is checked by the policy again, which calls the helper again',
    ]);
  });

  it('not the SECURITY DEFINER helper (it skips the RLS), nor beside an owner test the OR may settle first', async () => {
    expect(await select(base(true, false))).toBe(0);
    expect(await rule('policy-recursion', base(true, false))).toEqual([]);
    // The OR of the two policies may be settled by the owner test before the helper runs: left alone.
    expect(await rule('policy-recursion', base(false, true))).toEqual([]);
  });
});

describe('policy-trusts-writable-column: a PL/pgSQL helper that selects into several variables, one of an enum type (realworld10)', () => {
  // Without the catalog, PL/pgSQL's grammar reads a variable of a type it does not know (an enum, a domain, an array of
  // one) as a record and refuses it in an INTO list of several targets: the helper was left unread, and the policy
  // judged on nothing (found on keremk/mentopanda, accept_invitation's `select project_id, role into v_id, v_role`).
  const A = 'aaaaaaaa-0000-4000-8000-00000000000a';
  const base = (declare: string, select: string, check = '') => `
    create type public.app_role as enum ('user', 'admin');
    create table public.profiles (id uuid primary key, role public.app_role not null default 'user', active boolean not null default true);
    alter table public.profiles enable row level security;
    grant select, update on public.profiles to authenticated;
    create policy own_read on public.profiles for select to authenticated using (id = (select auth.uid()));
    create policy own_update on public.profiles for update to authenticated using (id = (select auth.uid()))${check};
    create function public.is_admin() returns boolean language plpgsql stable security definer set search_path = '' as $fn$
    declare
      ${declare} -- what the caller's row holds
    begin
      ${select} from public.profiles p where p.id = (select auth.uid());
      return coalesce(r = 'admin' and a, false);
    end $fn$;
    grant execute on function public.is_admin() to authenticated;
    create table public.secrets (id int primary key, body text);
    alter table public.secrets enable row level security;
    grant select on public.secrets to authenticated;
    create policy admins on public.secrets for select to authenticated using ((select public.is_admin()));
    insert into public.profiles values ('${A}', 'user', true);
    insert into public.secrets values (1, 'payroll');`;
  const variants: Record<string, string> = {
    enum: base('r public.app_role; a boolean := false;', 'select p.role, p.active into r, a'),
    'enum, quoted, after a scalar': base('a boolean; "r" "public"."app_role";', 'select p.active, p.role into a, r'),
    'array of the enum': base('rs public.app_role[]; r public.app_role; a boolean;', 'select array[p.role], p.role, p.active into rs, r, a'),
    'text (read before too)': base('r text; a boolean;', 'select p.role, p.active into r, a'),
  };
  const promoteAndRead = (sql: string) =>
    asRequest(sql, 'authenticated', A, async (tx) => {
      const before = (await tx.unsafe('select body from public.secrets')).length;
      await tx.unsafe(`update public.profiles set role = 'admin' where id = '${A}'`);
      return [before, (await tx.unsafe('select body from public.secrets')).map((r) => r['body'])];
    });

  it('on Postgres a user makes themselves admin and reads the secrets; reported whatever the variables are declared as', async () => {
    for (const [name, sql] of Object.entries(variants)) {
      expect(await promoteAndRead(sql), name).toEqual([0, ['payroll']]);
      const found = await rule('policy-trusts-writable-column', sql);
      expect(found.map((f) => f.object), name).toEqual(['admins on public.secrets']);
      expect(found[0]!.message, name).toMatch(/public\.profiles\.role \(read by public\.is_admin\(\); authenticated: UPDATE, policy own_update\)/);
    }
  });

  it('not when the UPDATE check pins both columns the helper reads (the helper is read, and the caller cannot promote themselves)', async () => {
    const pinned = base('r public.app_role; a boolean := false;', 'select p.role, p.active into r, a', " with check (id = (select auth.uid()) and role = 'user' and active)");
    expect(await orMessage(promoteAndRead(pinned))).toBe('new row violates row-level security policy for table "profiles"');
    expect(await rule('policy-trusts-writable-column', pinned)).toEqual([]);
  });
});
