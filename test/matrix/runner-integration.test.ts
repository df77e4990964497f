/**
 * `rowguard test` runs the access-matrix comparison after the SQL files and
 * fails on a changed cell; `--coverage` reports what the files exercised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { REPO_ROOT, runCli, serverUrl } from '../helpers/pg.js';
import { tempDir } from '../helpers/tmp.js';

const TEST_FILE = `
begin;
select plan(2);
select tests.create_user('cov-a@example.test');
select tests.authenticate_as('cov-a@example.test');
select lives_ok($$ insert into public.deployments (user_id, name) values (auth.uid(), 'mine') $$, 'a user creates a deployment');
select is((select count(*)::int from public.deployments), 1, 'and sees only it');
select * from finish();
rollback;
`;

describe('rowguard test with the access matrix', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('rg-matrix-runner-');
    cpSync(join(REPO_ROOT, 'sql'), join(dir, 'sql'), { recursive: true });
    cpSync(join(REPO_ROOT, 'test', 'fixtures'), join(dir, 'test', 'fixtures'), { recursive: true });
    cpSync(join(REPO_ROOT, 'test', 'access-matrix.json'), join(dir, 'test', 'access-matrix.json'));
    mkdirSync(join(dir, 'test', 'security'), { recursive: true });
    writeFileSync(join(dir, 'test', 'security', 'deployments.test.sql'), TEST_FILE);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes when the matrix matches, and --coverage lists what the files exercised', async () => {
    const r = await runCli(['test', '--coverage', '--format', 'json'], { cwd: dir, env: { DATABASE_URL: serverUrl() }, timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(r.code).toBe(0);
    const matrix = doc.extraChecks.find((c: { name: string }) => c.name === 'access matrix');
    expect(matrix).toMatchObject({ ok: true, summary: 'matches test/access-matrix.json' });
    const cov = doc.extraChecks.find((c: { name: string }) => c.name === 'coverage');
    expect(cov.ok).toBe(true);
    const cell = (command: string, role: string) =>
      cov.data.cells.find((c: { table: string; command: string; role: string }) => c.table === 'public.deployments' && c.command === command && c.role === role)?.status;
    expect(cell('INSERT', 'authenticated')).toBe('exercised');
    expect(cell('SELECT', 'authenticated')).toBe('exercised');
    expect(cell('DELETE', 'authenticated')).toBe('missed');
    expect(cell('SELECT', 'anon')).toBe('missed'); // RLS table: an anon attempt (even refused) would have been recorded
    const policies = Object.fromEntries(cov.data.policies.filter((p: { table: string }) => p.table === 'public.deployments').map((p: { policy: string; exercised: boolean }) => [p.policy, p.exercised]));
    expect(policies).toMatchObject({ user_insert_own_deployments: true, user_read_own_deployments: true, user_delete_own_deployments: false, staff_read_all_deployments: false });
    expect(cov.details).toContain('policy not exercised: user_delete_own_deployments on public.deployments (DELETE to authenticated)');
  });

  it('fails on a changed cell and names it, even though every SQL test passes', async () => {
    writeFileSync(join(dir, 'sql', '9999_anon_reads.sql'), 'grant select on public.deployments to anon;\ncreate policy anon_read on public.deployments for select to anon using (true);\n');
    try {
      const r = await runCli(['test', '--format', 'tap'], { cwd: dir, env: { DATABASE_URL: serverUrl() }, timeoutMs: 120_000 });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^\s*ok 2 - and sees only it$/m);
      expect(r.stdout).toContain('anon: SELECT public.deployments none → all rows');
    } finally {
      rmSync(join(dir, 'sql', '9999_anon_reads.sql'));
    }
  });
});
