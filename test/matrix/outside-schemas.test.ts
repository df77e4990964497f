/**
 * The matrix on schemas unlike the project's, as an outside checker would point it at theirs:
 * each cell is compared with what the statement really does as that actor on Postgres, and
 * malformed inputs are one line naming the file and where, before any database work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDatabase, runCli, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { computeMatrixOn } from '../../cli/core/matrix/build.js';
import { parseActors } from '../../cli/core/matrix/actors.js';
import { parseMatrixFile } from '../../cli/core/matrix/file.js';
import type { RowguardError } from '../../cli/core/errors.js';
import type { Matrix } from '../../cli/core/matrix/model.js';
import { ACTORS, ALICE, API, BASE_SQL, BOB, row } from './base-schema.js';
import { tempDir } from '../helpers/tmp.js';

const STAFF = '00000000-0000-0000-0000-00000000000c';

/**
 * Org membership: an org's owner adds members, a member cannot. The key (org_id, user_id) has
 * no column of its own to make fresh: both reference other tables.
 */
const ORGS_SQL = `
create table public.orgs (id int primary key, name text not null);
create table public.members (org_id int not null references public.orgs, user_id uuid not null references auth.users,
  role text not null, primary key (org_id, user_id));
create schema private;
create function private.owns(o int) returns boolean language sql stable security definer set search_path = '' as
  $$ select exists (select 1 from public.members m where m.org_id = o and m.user_id = auth.uid() and m.role = 'owner') $$;
grant usage on schema private to authenticated;
alter table public.members enable row level security;
grant select, insert on public.members to authenticated;
create policy m_read on public.members for select to authenticated using (user_id = auth.uid() or private.owns(org_id));
create policy m_add on public.members for insert to authenticated with check (private.owns(org_id));
-- an invitation is the invitee's to read: the owner who writes one cannot read it back
create table public.invites (org_id int not null references public.orgs, user_id uuid not null references auth.users, primary key (org_id, user_id));
alter table public.invites enable row level security;
grant select, insert on public.invites to authenticated;
create policy i_read on public.invites for select to authenticated using (user_id = auth.uid());
create policy i_add on public.invites for insert to authenticated with check (private.owns(org_id));
-- no owner column: what may be inserted depends on the org the row names
create table public.org_events (id int primary key, org_id int not null references public.orgs, what text);
alter table public.org_events enable row level security;
grant select, insert on public.org_events to authenticated;
create policy e_read on public.org_events for select to authenticated using (private.owns(org_id));
create policy e_add on public.org_events for insert to authenticated with check (private.owns(org_id));
insert into public.orgs values (1, 'one'), (2, 'two');
insert into public.members values (1, '${ALICE}', 'owner'), (1, '${STAFF}', 'member'), (2, '${BOB}', 'owner');
insert into public.invites values (1, '${STAFF}'), (2, '${ALICE}');
insert into public.org_events values (1, 2, 'in two'), (2, 1, 'in one');
`;

describe('a unique key made only of foreign-key columns', () => {
  let db: TestDatabase;
  let m: Matrix;

  /** One INSERT as PostgREST would run it for `sub`, rolled back: its row count or SQLSTATE. */
  async function insertAs(sub: string, statement: string): Promise<number | string> {
    let out: number | string = '';
    await db.sql
      .begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ role: 'authenticated', sub })}, true)`;
        try {
          out = (await tx.unsafe(statement)).count;
        } catch (err) {
          out = (err as { code?: string }).code ?? 'error';
        }
        throw new Error('rollback');
      })
      .catch((err: Error) => {
        if (err.message !== 'rollback') throw err;
      });
    return out;
  }

  beforeAll(async () => {
    db = await freshDatabase('rg_matrix_outside');
    await db.sql.unsafe(BASE_SQL).simple();
    await db.sql.unsafe(ORGS_SQL).simple();
    const dir = tempDir('rg-matrix-outside-');
    writeFileSync(join(dir, 'actors.json'), JSON.stringify(ACTORS));
    m = await computeMatrixOn(db.url, { fixturesDir: dir, displayRoot: dir, api: API, schemas: ['public'] });
  });
  afterAll(async () => db?.drop());

  it("an org's owner may add other users to it: INSERT is all, not refused by a made-up org id", async () => {
    // What Postgres says: the owner adds bob to org 1; her own membership exists already (a key
    // violation, raised after WITH CHECK passed); a plain member adds nobody.
    expect(await insertAs(ALICE, `insert into public.members values (1, '${BOB}', 'member')`)).toBe(1);
    expect(await insertAs(ALICE, `insert into public.members values (1, '${ALICE}', 'member')`)).toBe('23505');
    expect(await insertAs(STAFF, `insert into public.members values (1, '${BOB}', 'member')`)).toBe('42501');
    expect(await insertAs(BOB, `insert into public.members values (2, '${ALICE}', 'member')`)).toBe(1);
    expect(row(m, 'public.members', 'alice')).toEqual(['subset 2/3', 'all', 'none', 'none']);
    expect(row(m, 'public.members', 'bob')).toEqual(['own', 'all', 'none', 'none']);
    expect(row(m, 'public.members', 'staff')).toEqual(['own', 'refused', 'none', 'none']);
    expect(m.cells['public.members']!['alice']!.INSERT.note).toMatch(/23505 .*members_pkey.*unique key \(org_id, user_id\) kept the copied values/);
  });

  it('an INSERT "all" on a table without owners says when WITH CHECK refused other copies first', async () => {
    // alice owns org 1 only: the first copy (an event of org 2) is refused, the second goes in
    expect(await insertAs(ALICE, 'insert into public.org_events values (9, 2, null)')).toBe('42501');
    expect(await insertAs(ALICE, 'insert into public.org_events values (9, 1, null)')).toBe(1);
    expect(m.cells['public.org_events']!['alice']!.INSERT).toMatchObject({
      access: 'all',
      note: 'WITH CHECK refused 1 of the fixture rows copied before one went in: which rows may be inserted depends on their values',
    });
    // bob owns org 2: the first copy goes in, nothing to say
    expect(m.cells['public.org_events']!['bob']!.INSERT).toEqual({ access: 'all', rows: 1 });
    expect(m.cells['public.org_events']!['staff']!.INSERT.access).toBe('refused');
  });

  it("an INSERT of another user's row that the SELECT policies hide: the note says return=representation fails", async () => {
    expect(await insertAs(ALICE, `insert into public.invites values (1, '${BOB}')`)).toBe(1);
    expect(await insertAs(ALICE, `insert into public.invites values (1, '${BOB}') returning org_id`)).toBe('42501');
    expect(await insertAs(ALICE, `insert into public.invites values (1, '${ALICE}') returning org_id`)).toBe(1);
    const cell = m.cells['public.invites']!['alice']!.INSERT;
    expect(cell.access).toBe('all');
    expect(cell.note).toMatch(/an INSERT of another user's row that returns it \(Prefer: return=representation\) fails: new row violates row-level security policy for table "invites"/);
    // a member may invite no one: no note about returning what was never written
    expect(m.cells['public.invites']!['staff']!.INSERT).toMatchObject({ access: 'refused' });
    expect(m.cells['public.invites']!['staff']!.INSERT.note).not.toMatch(/return=representation/);
  });
});

describe('malformed actors.json and access-matrix.json', () => {
  const fail = (fn: () => unknown): RowguardError => {
    try {
      fn();
    } catch (err) {
      return err as RowguardError;
    }
    throw new Error('expected an error');
  };

  it('a JSON syntax error is one line at line:col, without the excerpt V8 quotes', () => {
    const text = '{ "actors": [\n  { "name": "anon", "kind": "anon" },\n] }\n';
    const e = fail(() => parseActors(text, 'test/fixtures/actors.json'));
    expect(e.code).toBe('config');
    expect(e.message).toBe("test/fixtures/actors.json: not valid JSON (Unexpected token ']' at line 3, column 1)");
    const m = fail(() => parseMatrixFile('{ "version": 1,\n  "actors": [],\n  "tables": { "x": ] } }', 'test/access-matrix.json'));
    expect(m.message).toBe("test/access-matrix.json: not valid JSON (Unexpected token ']' at line 3, column 20)");
  });

  it('a key the file does not have is named, not ignored', () => {
    expect(fail(() => parseActors('{"actors": [{"name": "anon", "kind": "anon"}], "actor": []}', 'actors.json')).message).toBe('actors.json: actor: unknown key (expected "actors")');
    expect(parseActors('{"$comment": "who runs the matrix", "actors": [{"name": "anon", "kind": "anon"}]}', 'actors.json')).toEqual([{ name: 'anon', kind: 'anon' }]);
    const file = 'test/access-matrix.json';
    const cells = '{"SELECT": "none", "INSERT": "none", "UPDATE": "none", "DELETE": "none"';
    expect(fail(() => parseMatrixFile('{"version": 1, "actors": [], "tables": {}, "tabels": {}}', file)).message).toBe(`${file}: tabels: unknown key (expected version, actors, tables, functions)`);
    expect(fail(() => parseMatrixFile(`{"version": 1, "actors": [], "tables": {"public.t": {"anon": ${cells}, "TRUNCATE": "all"}}}}`, file)).message).toBe(
      `${file}: tables[public.t][anon].TRUNCATE: unknown command (expected SELECT, INSERT, UPDATE, DELETE)`,
    );
    expect(fail(() => parseMatrixFile('{"version": 1, "actors": [{"nom": "anon"}], "tables": {}}', file)).message).toBe(`${file}: actors[0] must be {"name": …, "kind": …}`);
    expect(fail(() => parseMatrixFile('{"version": 1, "actors": [], "tables": []}', file)).message).toBe(`${file}: "tables" must be an object`);
  });
});

describe('a scratch project through the CLI', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  function project(sql: Record<string, string>, actors: string): string {
    const dir = tempDir('rg-matrix-outside-cli-');
    dirs.push(dir);
    mkdirSync(join(dir, 'sql'));
    mkdirSync(join(dir, 'test', 'fixtures'), { recursive: true });
    for (const [name, text] of Object.entries(sql)) writeFileSync(join(dir, 'sql', name), text);
    writeFileSync(join(dir, 'test', 'fixtures', 'actors.json'), actors);
    writeFileSync(join(dir, 'rowguard.config.json'), '{"api": {"schemas": ["public"]}}');
    return dir;
  }

  it('a malformed actors.json fails before any migration runs (exit 2, one line)', async () => {
    const dir = project({ '0001_fails.sql': 'select 1/0;\n' }, '{"actors": [{"name": "anon", "kind": "anon", "token": "x"}]}');
    const r = await runCli(['matrix'], { cwd: dir, env: { DATABASE_URL: serverUrl() } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: test/fixtures/actors.json: actors[0].token: unknown key\n');
  });

  it('--update, an unchanged rerun exits 0, a policy change is exactly its cells (exit 1)', async () => {
    const dir = project({ '0001_base.sql': BASE_SQL, '0002_orgs.sql': ORGS_SQL }, JSON.stringify(ACTORS));
    const env = { DATABASE_URL: serverUrl() };
    expect((await runCli(['matrix', '--update'], { cwd: dir, env })).code).toBe(0);
    expect((await runCli(['matrix'], { cwd: dir, env })).code).toBe(0);
    writeFileSync(join(dir, 'sql', '0003_members_only_see_themselves.sql'), 'alter policy m_read on public.members using (user_id = auth.uid());\n');
    const r = await runCli(['matrix'], { cwd: dir, env });
    expect(r.code).toBe(1);
    const verdict = r.stdout.slice(r.stdout.indexOf('✗'));
    expect(verdict.split('\n').slice(0, 2)).toEqual(['✗ 1 cell of the access matrix differs from test/access-matrix.json:', '  alice: SELECT public.members subset 2/3 → own rows']);
  });
});
