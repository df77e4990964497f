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
import { cellLabel, type Matrix } from '../../cli/core/matrix/model.js';
import { ACTORS, ALICE, BASE_SQL } from './base-schema.js';
import { tempDir } from '../helpers/tmp.js';

const API = { anonRole: 'anon', authenticatedRole: 'authenticated', serviceRole: 'service_role', roleClaimKey: '$.role', issuer: 'http://localhost:9999/auth/v1', expiresIn: 3600 };
const A = `'${ALICE}'`;
const B = "'00000000-0000-0000-0000-00000000000b'";

function row(m: Matrix, table: string, actor: string): string[] {
  const c = m.cells[table]?.[actor];
  if (!c) throw new Error(`no cells for ${actor} on ${table}; tables: ${Object.keys(m.cells).join(', ')}`);
  return [cellLabel(c.SELECT), cellLabel(c.INSERT), cellLabel(c.UPDATE), cellLabel(c.DELETE)];
}

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

-- the same through a security_invoker view
create view public.upd_unseen_v with (security_invoker = true) as select * from public.upd_unseen;
grant select, update on public.upd_unseen_v to authenticated;
`;

describe('access matrix on subtle access paths', () => {
  let db: TestDatabase;
  let dir: string;
  let m: Matrix;

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
    await db.sql.unsafe(BASE_SQL).simple();
    await db.sql.unsafe(SCHEMA).simple();
    dir = tempDir('rg-matrix-paths-');
    writeFileSync(join(dir, 'actors.json'), JSON.stringify(ACTORS));
    m = await computeMatrixOn(db.url, { fixturesDir: dir, displayRoot: dir, api: API, schemas: ['public'] });
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
  });

  it('the same through a security_invoker view', async () => {
    expect(await asActor(ALICE, ['update public.upd_unseen_v set v = v', "update public.upd_unseen_v set v = 'z'"])).toEqual([0, 2]);
    expect(row(m, 'public.upd_unseen_v', 'alice')[2]).toBe('all');
  });
});
