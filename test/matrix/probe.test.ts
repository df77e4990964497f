import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, type TestDatabase } from '../helpers/pg.js';
import { computeMatrixOn } from '../../cli/core/matrix/build.js';
import { cellLabel, type Matrix } from '../../cli/core/matrix/model.js';
import { ACTORS, BASE_SQL } from './base-schema.js';

const API = { anonRole: 'anon', authenticatedRole: 'authenticated', serviceRole: 'service_role', roleClaimKey: '$.role', issuer: 'http://localhost:9999/auth/v1', expiresIn: 3600 };

function labels(m: Matrix, table: string, actor: string): string[] {
  const c = m.cells[table]![actor]!;
  return [cellLabel(c.SELECT), cellLabel(c.INSERT), cellLabel(c.UPDATE), cellLabel(c.DELETE)];
}

describe('probe on a hand-written schema', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('rg_matrix_probe');
    await db.sql.unsafe(BASE_SQL).simple();
    dir = mkdtempSync(join(tmpdir(), 'rg-matrix-'));
    writeFileSync(join(dir, 'actors.json'), JSON.stringify(ACTORS));
  });
  afterAll(async () => db?.drop());

  it('classifies an owner-scoped table', async () => {
    await db.sql.unsafe(`
      create table public.notes (id uuid primary key default gen_random_uuid(), user_id uuid not null references auth.users(id), body text);
      alter table public.notes enable row level security;
      grant select, insert, update, delete on public.notes to authenticated;
      create policy notes_own on public.notes to authenticated using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
      insert into public.notes (user_id, body) values
        ('00000000-0000-0000-0000-00000000000a', 'a1'), ('00000000-0000-0000-0000-00000000000a', 'a2'),
        ('00000000-0000-0000-0000-00000000000b', 'b1');
    `).simple();
    const m = await computeMatrixOn(db.url, { fixturesDir: dir, displayRoot: dir, api: API, schemas: ['public'] });
    console.log(JSON.stringify(m.cells, null, 1));
    expect(labels(m, 'public.notes', 'anon')).toEqual(['none', 'none', 'none', 'none']);
    expect(labels(m, 'public.notes', 'alice')).toEqual(['own', 'own', 'own', 'own']);
    expect(labels(m, 'public.notes', 'bob')).toEqual(['own', 'own', 'own', 'own']);
    expect(labels(m, 'public.notes', 'staff')).toEqual(['empty', 'own', 'empty', 'empty']);
    expect(labels(m, 'public.notes', 'service_role')).toEqual(['none', 'none', 'none', 'none']);
  });
});
