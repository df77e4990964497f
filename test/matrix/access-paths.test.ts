/**
 * The matrix against subtle access paths: each case is checked against what
 * the role really does when it runs the statement as PostgREST would
 * (SET LOCAL ROLE + request.jwt.claims, see `asActor`), so a cell and the
 * behaviour it describes are asserted side by side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDatabase, type TestDatabase } from '../helpers/pg.js';
import { computeMatrixOn } from '../../cli/core/matrix/build.js';
import type { Matrix } from '../../cli/core/matrix/model.js';
import { labelsOf, serializeMatrix } from '../../cli/core/matrix/file.js';
import { compareMatrices, describeChange } from '../../cli/core/matrix/compare.js';
import { ACTORS, ALICE, API, BASE_SQL, row } from './base-schema.js';
import { tempDir } from '../helpers/tmp.js';

const A = `'${ALICE}'`;
const B = "'00000000-0000-0000-0000-00000000000b'";

const SCHEMA = `
-- UPDATE granted without SELECT: "set c = c" is denied, a PATCH that reads no column is not
create table public.upd_only (id int primary key, user_id uuid references auth.users(id), v text);
grant update on public.upd_only to authenticated;
insert into public.upd_only values (1, ${A}, 'x'), (2, ${B}, 'y');

-- UPDATE policy true, SELECT policy false: SELECT policies apply only to an UPDATE that reads a column
create table public.upd_unseen (id int primary key, v text);
alter table public.upd_unseen enable row level security;
grant select, update, delete on public.upd_unseen to authenticated;
create policy s on public.upd_unseen for select to authenticated using (false);
create policy u on public.upd_unseen for update to authenticated using (true) with check (true);
create policy d on public.upd_unseen for delete to authenticated using (true);
insert into public.upd_unseen values (1, 'a'), (2, 'b');

-- INSERT allowed, the new row not visible: return=minimal inserts, return=representation fails
create table public.drop_box (id int primary key, v text);
alter table public.drop_box enable row level security;
grant select, insert on public.drop_box to authenticated;
create policy db_ins on public.drop_box for insert to authenticated with check (true);
insert into public.drop_box values (1, 'a');
-- one FOR ALL policy whose WITH CHECK is not its USING: RETURNING still differs from the write
create table public.all_policy (id int primary key, user_id uuid references auth.users(id), status text not null);
alter table public.all_policy enable row level security;
grant select, insert on public.all_policy to authenticated;
create policy ap on public.all_policy to authenticated using (status = 'published') with check (user_id = (select auth.uid()));
insert into public.all_policy values (1, ${A}, 'draft');
create table public.notes_like (id int primary key, user_id uuid references auth.users(id));
alter table public.notes_like enable row level security;
grant select, insert on public.notes_like to authenticated;
create policy nl on public.notes_like to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
insert into public.notes_like values (1, ${A});

-- DELETE granted without SELECT: only a DELETE without a filter runs
create table public.del_only (id int primary key);
alter table public.del_only enable row level security;
grant delete on public.del_only to authenticated;
create policy d on public.del_only for delete to authenticated using (true);
insert into public.del_only values (1), (2);

-- the same through a security_invoker view
create view public.upd_unseen_v with (security_invoker = true) as select * from public.upd_unseen;
grant select, update on public.upd_unseen_v to authenticated;

-- column-level grants: SELECT (id, name) and INSERT (name, user_id) only; secret is left to its default
create table public.col_grants (id uuid primary key default gen_random_uuid(), name text, secret text default 'hidden', user_id uuid references auth.users(id));
alter table public.col_grants enable row level security;
grant select (id, name), insert (name, user_id) on public.col_grants to authenticated;
create policy cg_read on public.col_grants for select to authenticated using (true);
create policy cg_ins on public.col_grants for insert to authenticated with check (user_id = (select auth.uid()));
insert into public.col_grants (name, secret, user_id) values ('a', 's1', ${A}), ('b', 's2', ${B});
-- a required column the actor may not INSERT: no row can be inserted at all
create table public.col_required (id int primary key, name text, code text not null);
grant select, insert (id, name) on public.col_required to authenticated;
insert into public.col_required values (1, 'a', 'c');

-- a serial key whose sequence is not granted: nextval is denied, an explicit id is not
create table public.serial_nogrant (id serial primary key, user_id uuid references auth.users(id), v text);
grant select, insert on public.serial_nogrant to authenticated;
insert into public.serial_nogrant (user_id, v) values (${A}, 'a');
-- the same with USAGE on the sequence: no retry needed, no note
create table public.serial_granted (id serial primary key, v text);
grant select, insert on public.serial_granted to authenticated;
grant usage on sequence public.serial_granted_id_seq to authenticated;
insert into public.serial_granted (v) values ('a');
-- an identity column needs no sequence privilege at all
create table public.ident (id int generated by default as identity primary key, v text);
grant select, insert on public.ident to authenticated;
insert into public.ident (v) values ('a');

-- partitions: RLS on the parent only; one partition granted directly (as Supabase's default privileges do
-- for a partition created in public), the other reachable only through the parent
create table public.ev (id int, user_id uuid not null references auth.users(id), at date not null) partition by range (at);
create table public.ev_2025 partition of public.ev for values from ('2025-01-01') to ('2026-01-01');
create table public.ev_2026 partition of public.ev for values from ('2026-01-01') to ('2027-01-01');
alter table public.ev enable row level security;
create policy ev_own on public.ev to authenticated using (user_id = (select auth.uid()));
grant select on public.ev, public.ev_2025 to authenticated;
insert into public.ev values (1, ${A}, '2025-02-02'), (2, ${B}, '2025-03-03'), (3, ${B}, '2026-03-03');

-- inheritance: the parent's RLS covers the child's rows read through the parent, not the child read by name
create table public.inh_parent (id int, user_id uuid references auth.users(id));
create table public.inh_child (extra text) inherits (public.inh_parent);
alter table public.inh_parent enable row level security;
create policy ip_own on public.inh_parent to authenticated using (user_id = (select auth.uid()));
grant select on public.inh_parent, public.inh_child to authenticated;
insert into public.inh_parent values (1, ${A});
insert into public.inh_child values (2, ${A}, 'x'), (3, ${B}, 'y');

-- data-dependent: everyone reads published posts, a user inserts only their own drafts
create table public.posts (id int primary key, user_id uuid not null references auth.users(id), status text not null);
alter table public.posts enable row level security;
grant select on public.posts to anon;
grant select, insert on public.posts to authenticated;
create policy p_read on public.posts for select using (status = 'published');
create policy p_ins on public.posts for insert to authenticated with check (status = 'draft' and user_id = (select auth.uid()));
insert into public.posts values (1, ${A}, 'published'), (2, ${A}, 'published'), (3, ${A}, 'draft'), (4, ${B}, 'published');
-- the same policy when every fixture row is published, and a policy that does not filter at all
create table public.posts_published (id int primary key, status text not null);
alter table public.posts_published enable row level security;
grant select on public.posts_published to anon;
create policy pp_read on public.posts_published for select using (status = 'published');
insert into public.posts_published values (1, 'published'), (2, 'published');
create table public.open_read (id int primary key);
alter table public.open_read enable row level security;
grant select on public.open_read to anon;
create policy o_read on public.open_read for select using (true);
create policy o_gate on public.open_read as restrictive for select using (current_setting('request.method', true) = 'GET'); -- reads no row
insert into public.open_read values (1), (2);
-- an owner policy beside one that reads no row (alice is "staff"): all for alice is not a fixture accident
create table public.staff_read (id int primary key, user_id uuid references auth.users(id));
alter table public.staff_read enable row level security;
grant select on public.staff_read to authenticated;
create policy sr_own on public.staff_read for select to authenticated using (user_id = (select auth.uid()));
create policy sr_staff on public.staff_read for select to authenticated using ((select auth.uid()) = ${A});
insert into public.staff_read values (1, ${A}), (2, ${B});

-- reads with side effects fail in PostgREST's READ ONLY GET: a view calling nextval(), a policy that logs
create sequence public.hits;
create view public.counted as select id, nextval('public.hits') as hit from public.open_read;
grant select on public.counted to anon;
grant usage on sequence public.hits to anon;
create table public.read_log (at timestamptz default now());
grant insert on public.read_log to anon;
create function public.log_read() returns boolean language plpgsql volatile as $f$ begin insert into public.read_log default values; return true; end $f$;
create table public.logged_read (id int primary key);
alter table public.logged_read enable row level security;
grant select on public.logged_read to anon;
create policy lr on public.logged_read for select using (public.log_read());
insert into public.logged_read values (1);

-- a foreign table (no RLS possible): writes are not run, the grant decides between none and granted
create extension if not exists file_fdw;
create server rg_files foreign data wrapper file_fdw;
create foreign table public.ft (id int, v text) server rg_files options (filename '/dev/null', format 'csv');
grant select, insert on public.ft to authenticated;
-- one that even the superuser cannot read: its cells say so, the rest of the matrix is still computed
create foreign table public.ft_gone (id int) server rg_files options (filename '/nonexistent/rowguard-matrix.csv', format 'csv');
grant select on public.ft_gone to anon;

-- paths the probe gets right by running the statements (kept as regression cases)
-- membership: the same role granted to an INHERIT and a NOINHERIT login role
create table public.via_role (id int primary key);
grant select on public.via_role to rg_paths_readers;
insert into public.via_role values (1);
-- a PUBLIC grant reaches every role
create table public.pub_grant (id int primary key);
grant select on public.pub_grant to public;
insert into public.pub_grant values (1);
-- a REVOKE from anon alone leaves what PUBLIC holds: anon still reads
create table public.revoked (id int primary key);
grant select on public.revoked to public;
revoke select on public.revoked from anon;
insert into public.revoked values (1);
-- default privileges reach the tables created after them
alter default privileges in schema public grant select on tables to anon;
create table public.later (id int primary key);
alter default privileges in schema public revoke select on tables from anon;
insert into public.later values (1);
-- a table owned by an API role: its owner skips RLS unless it is forced
create table public.api_owned (id int primary key, user_id uuid references auth.users(id));
alter table public.api_owned enable row level security;
create policy ao on public.api_owned to authenticated using (user_id = (select auth.uid()));
insert into public.api_owned values (1, ${A}), (2, ${B});
alter table public.api_owned owner to authenticated;
-- restrictive policies alone allow nothing; a policy without TO applies to every role
create table public.restrictive_only (id int primary key);
alter table public.restrictive_only enable row level security;
grant select on public.restrictive_only to authenticated;
create policy r on public.restrictive_only as restrictive for select to authenticated using (true);
insert into public.restrictive_only values (1);
create table public.to_public (id int primary key);
alter table public.to_public enable row level security;
grant select on public.to_public to anon, authenticated;
create policy tp on public.to_public for select using (id = 1);
insert into public.to_public values (1), (2);
-- a policy reading another RLS table sees it through that table's RLS; a SECURITY DEFINER helper does not
create table public.members (user_id uuid, team int);
alter table public.members enable row level security;
grant select on public.members to authenticated;
create policy m on public.members for select to authenticated using (user_id = (select auth.uid()));
insert into public.members values (${A}, 1), (${B}, 2);
create table public.team_docs (id int primary key, team int);
alter table public.team_docs enable row level security;
grant select on public.team_docs to authenticated;
create policy td on public.team_docs for select to authenticated using (team in (select team from public.members));
insert into public.team_docs values (1, 1), (2, 2), (3, 2);
create schema private;
create function private.all_teams() returns setof int language sql stable security definer set search_path = '' as $f$ select team from public.members $f$;
grant usage on schema private to authenticated;
create table public.team_docs_definer (id int primary key, team int);
alter table public.team_docs_definer enable row level security;
grant select on public.team_docs_definer to authenticated;
create policy tdd on public.team_docs_definer for select to authenticated using (team in (select private.all_teams()));
insert into public.team_docs_definer values (1, 1), (2, 2);
-- an unexposed table reached through a definer view and a materialized view in public
create table private.secret (id int, user_id uuid);
alter table private.secret enable row level security;
insert into private.secret values (1, ${A}), (2, ${B});
create view public.secret_view as select * from private.secret;
create materialized view public.secret_mv as select * from private.secret;
grant select on public.secret_view, public.secret_mv to anon;

-- a view that shows each user their own rows (no RLS on the table), written through WITH CHECK OPTION
create table private.diary (id uuid primary key default gen_random_uuid(), user_id uuid not null references auth.users(id), body text);
insert into private.diary (user_id, body) values (${A}, 'a1'), (${A}, 'a2'), (${B}, 'b1');
create view public.my_diary with (security_barrier) as select * from private.diary where user_id = (select auth.uid()) with cascaded check option;
grant select, insert, update, delete on public.my_diary to authenticated;

-- tables the fixtures leave empty: one wide open to anon, one with the owner policy
create table public.empty_open (id int primary key, note text);
grant select, insert, update, delete on public.empty_open to anon;
create table public.empty_owned (id uuid primary key default gen_random_uuid(), user_id uuid not null references auth.users(id), code varchar(1) not null unique);
alter table public.empty_owned enable row level security;
grant select, insert, update, delete on public.empty_owned to authenticated;
create policy eo on public.empty_owned to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));`;

describe('access matrix on subtle access paths', () => {
  let db: TestDatabase;
  let dir: string;
  let m: Matrix;
  const compute = () => computeMatrixOn(db.url, { fixturesDir: dir, displayRoot: dir, api: API, schemas: ['public'] });

  /** Run statements as PostgREST would for `sub` (null: anon), rolled back; returns each statement's row count. */
  async function asActor(sub: string | null, statements: string[]): Promise<Array<number | string>> {
    const role = sub ? 'authenticated' : 'anon';
    const claims = JSON.stringify(sub ? { role, sub } : { role });
    const out: Array<number | string> = [];
    await db.sql
      .begin(async (tx) => {
        await tx`select set_config('role', ${role}, true), set_config('request.jwt.claims', ${claims}, true)`;
        for (const s of statements) {
          try {
            out.push((await tx.savepoint((sp) => sp.unsafe(s))).count);
          } catch (err) {
            out.push(`${(err as { code?: string }).code}`);
          }
        }
        throw new Error('rollback');
      })
      .catch((err: Error) => {
        if (err.message !== 'rollback') throw err;
      });
    return out;
  }

  beforeAll(async () => {
    db = await freshDatabase('rg_matrix_paths');
    // Roles are cluster-wide: create them once, whichever test file gets there first.
    await db.sql
      .unsafe(
        `do $$ begin
           if not exists (select 1 from pg_roles where rolname = 'rg_paths_readers') then create role rg_paths_readers nologin; end if;
           if not exists (select 1 from pg_roles where rolname = 'rg_paths_inherit') then create role rg_paths_inherit nologin inherit; end if;
           if not exists (select 1 from pg_roles where rolname = 'rg_paths_noinherit') then create role rg_paths_noinherit nologin noinherit; end if;
         exception when unique_violation or duplicate_object then null; end $$;
         grant rg_paths_readers to rg_paths_inherit, rg_paths_noinherit;`,
      )
      .simple();
    await db.sql.unsafe(BASE_SQL).simple();
    await db.sql.unsafe(SCHEMA).simple();
    dir = tempDir('rg-matrix-paths-');
    const roles = [
      { name: 'inherit', kind: 'role', role: 'rg_paths_inherit' },
      { name: 'noinherit', kind: 'role', role: 'rg_paths_noinherit' },
    ];
    writeFileSync(join(dir, 'actors.json'), JSON.stringify({ actors: [...ACTORS.actors, ...roles] }));
    m = await compute();
  });
  afterAll(async () => db?.drop());

  it('UPDATE without SELECT: a PATCH that reads no column changes every row, so the cell is all, not none', async () => {
    expect(await asActor(ALICE, ['update public.upd_only set v = v', "update public.upd_only set v = 'z'"])).toEqual(['42501', 2]);
    expect(row(m, 'public.upd_only', 'alice')).toEqual(['none', 'none', 'all', 'none']);
    expect(m.cells['public.upd_only']!['alice']!.UPDATE.note).toMatch(/without SELECT/);
    expect(row(m, 'public.upd_only', 'anon')[2]).toBe('none');
  });

  it('UPDATE policy true, SELECT policy false: a blind PATCH changes every row the reader cannot see', async () => {
    expect(await asActor(ALICE, ['update public.upd_unseen set v = v', "update public.upd_unseen set v = 'z'", 'delete from public.upd_unseen where id = 1', 'delete from public.upd_unseen'])).toEqual([0, 2, 0, 2]);
    expect(row(m, 'public.upd_unseen', 'alice')).toEqual(['empty', 'none', 'all', 'all']);
    expect(m.cells['public.upd_unseen']!['alice']!.UPDATE.note).toMatch(/skips the SELECT policies; one that reads a column changes 0/);
    expect(m.cells['public.upd_unseen']!['alice']!.DELETE.note).toBe(
      'a DELETE that reads a column (a filter, or Prefer: return=representation) deletes 0: the SELECT policies apply to it; one without a filter deletes 2',
    );
  });

  it('DELETE without SELECT: deletes every row without a filter, and the note says a filtered one is denied', async () => {
    expect(await asActor(ALICE, ['delete from public.del_only where id = 1', 'delete from public.del_only'])).toEqual(['42501', 2]);
    expect(row(m, 'public.del_only', 'alice')[3]).toBe('all');
    expect(m.cells['public.del_only']!['alice']!.DELETE.note).toMatch(/is denied without SELECT; one without a filter deletes 2/);
  });

  it('INSERT that the SELECT policies hide: the cell is the write, the note says RETURNING fails', async () => {
    expect(await asActor(ALICE, ["insert into public.drop_box values (5, 'x')", "insert into public.drop_box values (6, 'x') returning 1", "insert into public.drop_box values (7, 'x') returning v"])).toEqual([1, 1, '42501']);
    expect(row(m, 'public.drop_box', 'alice').slice(0, 2)).toEqual(['empty', 'all']);
    expect(m.cells['public.drop_box']!['alice']!.INSERT.note).toMatch(/an INSERT that returns the row \(Prefer: return=representation\) fails: new row violates row-level security policy/);
    expect(m.cells['public.posts']!['alice']!.INSERT.note).toMatch(/return=representation\) fails/); // a draft is not published, so not readable
    expect(m.cells['public.notes_like']!['alice']!.INSERT.note).toBeUndefined();
    expect(await asActor(ALICE, [`insert into public.all_policy values (8, ${A}, 'draft') returning id`])).toEqual(['42501']);
    expect(m.cells['public.all_policy']!['alice']!.INSERT.note).toMatch(/return=representation\) fails/);
  });

  it('the same through a security_invoker view', async () => {
    expect(await asActor(ALICE, ['update public.upd_unseen_v set v = v', "update public.upd_unseen_v set v = 'z'"])).toEqual([0, 2]);
    expect(row(m, 'public.upd_unseen_v', 'alice')[2]).toBe('all');
  });

  it('column-level INSERT: a client that sends only its granted columns inserts, so the cell is not none', async () => {
    expect(await asActor(ALICE, [`insert into public.col_grants (name, user_id) values ('q', ${A})`, `insert into public.col_grants (name, user_id, secret) values ('q', ${A}, 'x')`])).toEqual([1, '42501']);
    expect(row(m, 'public.col_grants', 'alice').slice(0, 2)).toEqual(['all (columns id, name)', 'own (columns name, user_id)']);
    expect(row(m, 'public.col_grants', 'anon')[1]).toBe('none');
  });

  it('column grants are part of the cell: widening one to the whole table is a changed cell that names the columns', async () => {
    const before = labelsOf(m);
    await db.sql.unsafe('grant select on public.col_grants to authenticated');
    try {
      expect(await asActor(ALICE, ['select secret from public.col_grants'])).toEqual([2]);
      const after = labelsOf(await compute());
      expect(compareMatrices(before, after).filter((c) => c.table === 'public.col_grants' && c.actor === 'alice').map(describeChange)).toEqual([
        'alice: SELECT public.col_grants all rows (columns id, name) → all rows',
      ]);
    } finally {
      await db.sql.unsafe('revoke select on public.col_grants from authenticated; grant select (id, name) on public.col_grants to authenticated');
    }
  });

  it('column-level INSERT that misses a NOT NULL column without default stays none', async () => {
    expect(await asActor(ALICE, ["insert into public.col_required (id, name) values (9, 'q')", "insert into public.col_required (id, name, code) values (9, 'q', 'c')"])).toEqual(['23502', '42501']);
    expect(row(m, 'public.col_required', 'alice')[1]).toBe('none');
    expect(m.cells['public.col_required']!['alice']!.INSERT.note).toMatch(/permission denied for table col_required/);
  });

  it('a serial without USAGE on its sequence: inserts with an explicit id still succeed', async () => {
    expect(await asActor(ALICE, ["insert into public.serial_nogrant (user_id, v) values (" + A + ", 'q')", "insert into public.serial_nogrant (id, user_id, v) values (100, " + A + ", 'q')"])).toEqual(['42501', 1]);
    expect(row(m, 'public.serial_nogrant', 'alice')[1]).toBe('all');
    expect(m.cells['public.serial_nogrant']!['alice']!.INSERT.note).toMatch(/explicit key values \(permission denied for sequence serial_nogrant_id_seq/);
    expect(row(m, 'public.serial_nogrant', 'anon')[1]).toBe('none');
    expect(row(m, 'public.serial_granted', 'alice')[1]).toBe('all');
    expect(m.cells['public.serial_granted']!['alice']!.INSERT.note).toBeUndefined();
    expect(row(m, 'public.ident', 'alice')[1]).toBe('all');
  });

  it("a granted partition is a path of its own: read by name it skips the parent's RLS", async () => {
    expect(await asActor(ALICE, ['select * from public.ev', 'select * from public.ev_2025', 'select * from public.ev_2026'])).toEqual([1, 2, '42501']);
    expect(row(m, 'public.ev', 'alice')[0]).toBe('own');
    expect(row(m, 'public.ev_2025', 'alice')[0]).toBe('all');
    expect(m.tables.find((t) => t.name === 'public.ev_2025')?.kind).toBe('partition');
    expect(Object.keys(m.cells)).not.toContain('public.ev_2026'); // no actor holds a privilege on it
  });

  it("an inheritance child read by name skips the parent's RLS", async () => {
    expect(await asActor(ALICE, ['select * from public.inh_parent', 'select * from public.inh_child'])).toEqual([2, 2]);
    expect(row(m, 'public.inh_parent', 'alice')[0]).toBe('own');
    expect(row(m, 'public.inh_child', 'alice')[0]).toBe('all');
    expect(m.cells['public.inh_parent']!['alice']!.SELECT).toMatchObject({ rows: 2, total: 3 });
  });

  it("data-dependent WITH CHECK: a refused copy is followed by the fixtures' other rows, so own drafts are own, not refused", async () => {
    expect(await asActor(ALICE, [`insert into public.posts values (9, ${A}, 'published')`, `insert into public.posts values (9, ${A}, 'draft')`, `insert into public.posts values (9, ${B}, 'draft')`])).toEqual(['42501', 1, '42501']);
    expect(row(m, 'public.posts', 'alice').slice(0, 2)).toEqual(['subset 3/4', 'own']);
    expect(row(m, 'public.posts', 'anon').slice(0, 2)).toEqual(['subset 3/4', 'none']);
  });

  it('a foreign table: writes are not run, and the grant tells none from granted', () => {
    expect(row(m, 'public.ft', 'alice')).toEqual(['n/a: the table has no rows in the fixtures: add some to see who reads, updates and deletes what', 'n/a: foreign table: INSERT granted, not run (it would write to the remote server)', 'none', 'none']);
    expect(row(m, 'public.ft', 'anon')).toEqual(['none', 'none', 'none', 'none']);
    expect(row(m, 'public.ft_gone', 'anon')).toEqual(Array(4).fill('error: 58P01 could not open file "/nonexistent/rowguard-matrix.csv" for reading: No such file or directory (reading it as the connecting role)'));
  });

  it('grants: membership works through INHERIT only, PUBLIC reaches everyone (a REVOKE from anon alone too), default privileges reach later tables', async () => {
    expect(row(m, 'public.via_role', 'inherit')[0]).toBe('all');
    expect(row(m, 'public.via_role', 'noinherit')[0]).toBe('none');
    for (const actor of ['anon', 'alice', 'noinherit']) expect(row(m, 'public.pub_grant', actor)[0]).toBe('all');
    expect(await asActor(null, ['select * from public.revoked', 'select * from public.later'])).toEqual([1, 1]);
    expect(row(m, 'public.revoked', 'anon')[0]).toBe('all');
    expect(row(m, 'public.later', 'anon')[0]).toBe('all');
    expect(row(m, 'public.later', 'alice')[0]).toBe('none');
  });

  it('RLS: an owning API role skips it, restrictive-only allows nothing, a policy without TO applies to anon too', async () => {
    expect(await asActor(ALICE, ['select * from public.api_owned', 'select * from public.restrictive_only'])).toEqual([2, 0]);
    expect(row(m, 'public.api_owned', 'alice')).toEqual(['all', 'all', 'all', 'all']);
    expect(row(m, 'public.api_owned', 'anon')[0]).toBe('none');
    expect(row(m, 'public.restrictive_only', 'alice')[0]).toBe('empty');
    expect(row(m, 'public.to_public', 'anon')[0]).toBe('subset 1/2');
    expect(row(m, 'public.to_public', 'alice')[0]).toBe('subset 1/2');
  });

  it('policies that read other tables: through their RLS, or around it with a SECURITY DEFINER helper', async () => {
    expect(await asActor(ALICE, ['select * from public.team_docs', 'select * from public.team_docs_definer'])).toEqual([1, 2]);
    expect(row(m, 'public.team_docs', 'alice')[0]).toBe('subset 1/3');
    expect(row(m, 'public.team_docs', 'bob')[0]).toBe('subset 2/3');
    expect(row(m, 'public.team_docs_definer', 'alice')[0]).toBe('all');
  });

  it('an unexposed RLS table leaks through a definer view and a materialized view in an exposed schema', async () => {
    expect(await asActor(null, ['select * from public.secret_view', 'select * from public.secret_mv', 'select * from private.secret'])).toEqual([2, 2, '42501']);
    expect(row(m, 'public.secret_view', 'anon')[0]).toBe('all');
    expect(row(m, 'public.secret_mv', 'anon')[0]).toBe('all');
    expect(Object.keys(m.cells).some((t) => t.startsWith('private.'))).toBe(false);
  });

  it('data-dependent SELECT: all under a filtering policy says the fixtures decided it; an unfiltered all says nothing', () => {
    expect(row(m, 'public.posts_published', 'anon')[0]).toBe('all');
    expect(m.cells['public.posts_published']!['anon']!.SELECT.note).toMatch(/every row of the fixtures passes policies that can filter/);
    expect(row(m, 'public.open_read', 'anon')[0]).toBe('all');
    expect(m.cells['public.open_read']!['anon']!.SELECT.note).toBeUndefined();
    expect(m.cells['public.api_owned']!['alice']!.SELECT.note).toBeUndefined(); // the owner is not subject to RLS
    expect(row(m, 'public.staff_read', 'alice')[0]).toBe('all');
    expect(m.cells['public.staff_read']!['alice']!.SELECT.note).toBeUndefined();
    expect(row(m, 'public.staff_read', 'bob')[0]).toBe('own');
  });

  it("a read with side effects is an error cell, as a GET in PostgREST's READ ONLY transaction is", async () => {
    expect(await asActor(null, ['select count(*) from public.counted', 'select count(*) from public.logged_read'])).toEqual([1, 1]); // read-write: works
    expect(row(m, 'public.counted', 'anon')[0]).toBe('error: 25006 cannot execute nextval() in a read-only transaction');
    expect(row(m, 'public.logged_read', 'anon')[0]).toBe('error: 25006 cannot execute INSERT in a read-only transaction');
    expect(row(m, 'public.open_read', 'anon')[0]).toBe('all');
  });

  it('a view that filters by the caller: its rows are what it shows any actor, so each user reads own, and CHECK OPTION refuses others', async () => {
    expect(await asActor(ALICE, ['select * from public.my_diary', `insert into public.my_diary (user_id, body) values (${B}, 'x')`])).toEqual([2, '44000']);
    expect(row(m, 'public.my_diary', 'alice')).toEqual(['own', 'own', 'own', 'own']);
    expect(m.cells['public.my_diary']!['alice']!.SELECT).toMatchObject({ rows: 2, total: 3 });
    expect(row(m, 'public.my_diary', 'bob')).toEqual(['own', 'own', 'own', 'own']);
    expect(m.cells['public.my_diary']!['alice']!.INSERT.note).toBeUndefined();
    expect(row(m, 'public.my_diary', 'anon')[0]).toBe('none');
  });

  it('a table the fixtures leave empty is measured on rows made for it: open to anon reads all, not empty', () => {
    expect(row(m, 'public.empty_open', 'anon')).toEqual(['all', 'all', 'all', 'all']);
    expect(m.cells['public.empty_open']!['anon']!.SELECT).toMatchObject({ rows: 2, total: 2 }); // no owner column: two rows
    expect(row(m, 'public.empty_owned', 'alice')).toEqual(['own', 'own', 'own', 'own']);
    expect(row(m, 'public.empty_owned', 'bob')).toEqual(['own', 'own', 'own', 'own']);
    expect(m.cells['public.empty_owned']!['alice']!.UPDATE).toMatchObject({ rows: 1, total: 3 }); // one row per user actor
    expect(row(m, 'public.empty_owned', 'anon')).toEqual(['none', 'none', 'none', 'none']);
  });

  it('the committed file is the same on a second run (made-up rows, blind writes and view unions included), with no timestamp', async () => {
    const text = serializeMatrix(m);
    expect(serializeMatrix(await compute())).toBe(text);
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}|\d{2}:\d{2}/);
  });
});

describe('actors switch role as PostgREST\'s login does', () => {
  let db: TestDatabase;
  afterAll(async () => db?.drop());

  it("a user whose role authenticator is not a member of gets error cells (PostgREST answers 403), others are unaffected", async () => {
    db = await freshDatabase('rg_matrix_login');
    // Cluster-wide roles, as sql/0001 makes them (whichever test file gets there first).
    await db.sql
      .unsafe(
        `do $$ begin
           if not exists (select 1 from pg_roles where rolname = 'authenticator') then create role authenticator login noinherit nobypassrls; end if;
           if not exists (select 1 from pg_roles where rolname = 'rg_paths_auditor') then create role rg_paths_auditor nologin; end if;
         exception when unique_violation or duplicate_object then null; end $$;`,
      )
      .simple();
    await db.sql.unsafe(BASE_SQL).simple();
    await db.sql
      .unsafe(
        `do $$ declare r text; begin
           foreach r in array array['anon', 'authenticated', 'service_role'] loop
             if not pg_has_role('authenticator', r, 'member') then
               begin execute format('grant %I to authenticator', r); exception when unique_violation or duplicate_object then null; end;
             end if;
           end loop;
         end $$;
         insert into auth.users (id, email, role, raw_app_meta_data) values ('00000000-0000-0000-0000-0000000000dd', 'auditor@example.test', 'rg_paths_auditor', '{"provider":"email"}');
         create table public.ledger (id int primary key, note text);
         insert into public.ledger values (1, 'x');
         grant select on public.ledger to authenticated, rg_paths_auditor;`,
      )
      .simple();
    const dir = tempDir('rg-matrix-login-');
    writeFileSync(join(dir, 'actors.json'), JSON.stringify({ actors: [{ name: 'alice', kind: 'user', email: 'alice@example.test' }, { name: 'auditor', kind: 'user', email: 'auditor@example.test' }] }));
    const m = await computeMatrixOn(db.url, { fixturesDir: dir, displayRoot: dir, api: API, schemas: ['public'] });
    expect(row(m, 'public.ledger', 'alice')).toEqual(['all', 'none', 'none', 'none']);
    const cell = m.cells['public.ledger']!['auditor']!;
    expect(cell.SELECT.access).toBe('error');
    expect(cell.SELECT.note).toContain('42501 permission denied to set role "rg_paths_auditor"');
    expect(cell.SELECT.note).toContain("PostgREST's login (authenticator) is not a member of rg_paths_auditor");
    expect(cell.DELETE.access).toBe('error');
  });
});
