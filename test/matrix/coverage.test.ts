/**
 * Coverage: the instrumentation records what statements touched, as which
 * role, without changing what any role can do; the report separates
 * exercised, missed, no-grant and unobservable cells.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { freshDatabase, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { connect, createThrowawayDatabase } from '../../cli/core/db.js';
import { computeMatrixOn } from '../../cli/core/matrix/build.js';
import { labelsOf } from '../../cli/core/matrix/file.js';
import { buildCoverageReport, coverageRoles, instrumentDatabase, parseHits, runCoveragePass } from '../../cli/core/matrix/coverage.js';
import { ACTORS, ALICE, BASE_SQL } from './base-schema.js';
import { tempDir } from '../helpers/tmp.js';

const API = { anonRole: 'anon', authenticatedRole: 'authenticated', serviceRole: 'service_role', roleClaimKey: '$.role', issuer: 'http://localhost:9999/auth/v1', expiresIn: 3600 };

const SCHEMA = `
create table public.notes (id uuid primary key default gen_random_uuid(), user_id uuid not null references auth.users(id), body text);
alter table public.notes enable row level security;
alter table public.notes force row level security;
grant select, insert, update, delete on public.notes to authenticated;
grant select on public.notes to service_role;
create policy notes_read on public.notes for select to authenticated using ((select auth.uid()) = user_id);
create policy notes_write on public.notes for insert to authenticated with check ((select auth.uid()) = user_id);
create policy notes_delete on public.notes for delete to authenticated using ((select auth.uid()) = user_id);
insert into public.notes (user_id, body) values ('${'00000000-0000-0000-0000-00000000000a'}', 'a1'), ('${'00000000-0000-0000-0000-00000000000b'}', 'b1');
create table public.empty_rls (id int primary key, user_id uuid);
alter table public.empty_rls enable row level security;
grant select on public.empty_rls to authenticated;
create policy er_own on public.empty_rls for select to authenticated using (user_id = (select auth.uid()));
create table public.plain (id int primary key);
grant select, insert on public.plain to anon;
insert into public.plain values (1);
`;

const claims = (sub: string) => JSON.stringify({ sub, role: 'authenticated' });

/** "Test files": statements run in one rolled-back transaction, as the runner does. */
const FILES: string[] = [
  // reads own notes as alice, with notices silenced the way pgTAP files often do
  `set client_min_messages = warning;
   select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '${claims(ALICE)}', true);
   select count(*) from public.notes;
   select count(*) from public.empty_rls;`,
  // inserts as alice (refused or not, the INSERT policy runs), reads plain as anon
  `select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '${claims(ALICE)}', true);
   insert into public.notes (user_id, body) values ('${ALICE}', 'x');
   reset role;
   select set_config('role', 'anon', true);
   insert into public.plain values (2);`,
  // anon tries to read notes and is refused (no grant): the attempt still counts
  `select set_config('role', 'anon', true);
   select count(*) from public.notes;`,
];

async function runSqlFile(url: string, text: string): Promise<string[]> {
  const messages: string[] = [];
  const sql = connect(url, { onNotice: (n) => messages.push(`${n.severity ?? 'NOTICE'}:  ${n.message}`) });
  try {
    // Always rolled back; an error ends the "file" as ON_ERROR_STOP would.
    await sql
      .begin(async (tx) => {
        await tx.unsafe(text).simple();
        throw new Error('rollback');
      })
      .catch(() => undefined);
  } finally {
    await sql.end();
  }
  return messages;
}

describe('coverage', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('rg_matrix_cov');
    await db.sql.unsafe(BASE_SQL).simple();
    await db.sql.unsafe(SCHEMA).simple();
    dir = tempDir('rg-cov-');
    writeFileSync(join(dir, 'actors.json'), JSON.stringify(ACTORS));
    await db.sql.end(); // the database is used as a template below: no connection may stay open
  });
  afterAll(async () => db?.drop());

  it('the instrumentation changes no access: the matrix of an instrumented copy equals the original', async () => {
    const inputs = { fixturesDir: dir, displayRoot: dir, api: API, schemas: ['public'] };
    const original = await computeMatrixOn(db.url, inputs);
    const copy = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_cov_inst', template: db.name });
    try {
      const sql = connect(copy.url);
      await instrumentDatabase(sql, ['public']);
      // the hit() calls are folded away while planning: the plan is the original policy's
      const plan = await sql.begin(async (tx) => {
        await tx.unsafe(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '${claims(ALICE)}', true)`);
        return (await tx.unsafe<{ 'QUERY PLAN': string }[]>('explain (costs off) select * from public.notes')).map((r) => r['QUERY PLAN']).join('\n');
      });
      expect(plan).toContain('user_id');
      expect(plan).not.toMatch(/CASE|rowguard_coverage|false/);
      await sql.end();
      const instrumented = await computeMatrixOn(copy.url, inputs);
      expect(labelsOf(instrumented)).toEqual(labelsOf(original));
    } finally {
      await copy.drop();
    }
  });

  it('reports exercised, missed, no-grant and unobservable cells, and unexercised policies', async () => {
    const sql = connect(db.url);
    const roles = await coverageRoles(sql, API);
    await sql.end();
    const report = await runCoveragePass({
      serverUrl: serverUrl(),
      template: db.name,
      templateUrl: db.url,
      schemas: ['public'],
      roles,
      files: FILES.length,
      runFile: (url, i) => runSqlFile(url, FILES[i]!),
    });
    const status = (table: string, command: string, role: string) => report.cells.find((c) => c.table === table && c.command === command && c.role === role)?.status;
    expect(status('public.notes', 'SELECT', 'authenticated')).toBe('exercised'); // despite client_min_messages = warning
    expect(status('public.notes', 'INSERT', 'authenticated')).toBe('exercised');
    expect(status('public.notes', 'UPDATE', 'authenticated')).toBe('missed');
    expect(status('public.notes', 'DELETE', 'authenticated')).toBe('missed');
    expect(status('public.empty_rls', 'SELECT', 'authenticated')).toBe('exercised'); // no row read: recorded at plan time
    expect(status('public.notes', 'SELECT', 'anon')).toBe('exercised'); // refused with 42501, after the rewriter added RLS
    expect(status('public.notes', 'UPDATE', 'anon')).toBe('missed');
    expect(status('public.notes', 'SELECT', 'service_role')).toBe('not observable'); // BYPASSRLS
    expect(status('public.plain', 'INSERT', 'anon')).toBe('exercised'); // no RLS: the statement trigger saw it
    expect(status('public.plain', 'SELECT', 'anon')).toBe('not observable');
    expect(status('public.plain', 'UPDATE', 'anon')).toBe('no grant');
    expect(report.policies.map((p) => [p.policy, p.exercised])).toEqual([
      ['er_own', true],
      ['notes_delete', false],
      ['notes_read', true],
      ['notes_write', true],
    ]);
    expect(report.summary.policies).toEqual({ exercised: 3, total: 4 });
  });

  it('ignores messages that are not its own', () => {
    expect(parseHits(['NOTICE:  hello', 'NOTICE:  rowguard-coverage:{not json', 'NOTICE:  rowguard-coverage:{"t":"public.a","c":"SELECT","p":null,"r":"anon"}'])).toEqual([
      { table: 'public.a', command: 'SELECT', policy: null, role: 'anon' },
    ]);
  });

  it('with nothing hit: RLS cells are missed, grant-less or policy-less ones are not observable', () => {
    const report = buildCoverageReport(
      {
        tables: [
          { name: 'public.p', rls: false, force: false, owner: 'postgres' },
          { name: 'public.t', rls: true, force: true, owner: 'postgres' },
        ],
        policies: [{ table: 'public.t', policy: 'p', command: 'SELECT', roles: ['authenticated'] }],
        roles: [{ name: 'authenticated', bypassrls: false }],
        privileges: new Set(['public.t|SELECT|authenticated', 'public.p|SELECT|authenticated', 'public.p|INSERT|authenticated']),
        owns: new Set(),
      },
      [],
    );
    expect(report.cells.map((c) => `${c.table} ${c.command}:${c.status}`)).toEqual([
      'public.p SELECT:not observable',
      'public.p INSERT:missed',
      'public.p UPDATE:no grant',
      'public.p DELETE:no grant',
      'public.t SELECT:missed',
      'public.t INSERT:missed',
      'public.t UPDATE:missed',
      'public.t DELETE:missed',
    ]);
    expect(report.summary.cells).toEqual({ exercised: 0, observable: 5, total: 8 });
  });
});
