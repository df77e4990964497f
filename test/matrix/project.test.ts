/**
 * The project's own security schema: the computed matrix equals the committed
 * test/access-matrix.json, and a policy change fails `rowguard matrix` naming
 * exactly the changed cells.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { REPO_ROOT, runCli, serverUrl } from '../helpers/pg.js';
import { loadConfig } from '../../cli/core/config.js';
import { checkMatrix, matrixInputs } from '../../cli/core/matrix/check.js';
import { labelsOf, serializeMatrix } from '../../cli/core/matrix/file.js';
import { buildAndComputeMatrix } from '../../cli/core/matrix/build.js';
import { instrumentDatabase } from '../../cli/core/matrix/coverage.js';
import { connect, createThrowawayDatabase } from '../../cli/core/db.js';
import { migrate } from '../helpers/pg.js';
import { tempDir } from '../helpers/tmp.js';

/** A copy of the project (sql/, test/fixtures, the committed matrix) to change freely. */
function copyProject(): string {
  const dir = tempDir('rg-matrix-project-');
  cpSync(join(REPO_ROOT, 'sql'), join(dir, 'sql'), { recursive: true });
  cpSync(join(REPO_ROOT, 'test', 'fixtures'), join(dir, 'test', 'fixtures'), { recursive: true });
  cpSync(join(REPO_ROOT, 'test', 'access-matrix.json'), join(dir, 'test', 'access-matrix.json'));
  if (existsSync(join(REPO_ROOT, 'rowguard.config.json'))) cpSync(join(REPO_ROOT, 'rowguard.config.json'), join(dir, 'rowguard.config.json'));
  return dir;
}

describe('the project access matrix', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('computed on sql/ + test/fixtures equals the committed test/access-matrix.json', async () => {
    const cfg = loadConfig({ cwd: REPO_ROOT });
    const check = await checkMatrix(cfg, serverUrl());
    expect(check.hasExpected).toBe(true);
    expect(check.changes).toEqual([]);
    // byte for byte what --update would write
    expect(serializeMatrix(check.matrix)).toBe(readFileSync(join(REPO_ROOT, 'test', 'access-matrix.json'), 'utf8'));
    // the shape users rely on: anon sees nothing, users their own rows, staff reads every deployment
    const cells = check.matrix.cells['public.deployments']!;
    expect(cells['anon']!.SELECT.access).toBe('none');
    expect(cells['user_a']!.SELECT).toMatchObject({ access: 'own', rows: 2 });
    expect(cells['staff']!.SELECT.access).toBe('all');
  });

  it('the coverage instrumentation leaves the project matrix unchanged', async () => {
    const cfg = loadConfig({ cwd: REPO_ROOT });
    const tpl = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_matrix_cov_tpl' });
    try {
      await migrate(tpl.url);
      const sql = connect(tpl.url);
      await instrumentDatabase(sql, ['public']);
      await sql.end();
      const m = await buildAndComputeMatrix({ ...matrixInputs(cfg), serverUrl: serverUrl(), sqlDir: cfg.dirs.sql, template: tpl.name });
      expect(serializeMatrix(m)).toBe(readFileSync(join(REPO_ROOT, 'test', 'access-matrix.json'), 'utf8'));
      expect(labelsOf(m)['public.deployments']!['staff']!.SELECT).toBe('all');
    } finally {
      await tpl.drop();
    }
  });

  describe('after a policy change', () => {
    let dir: string;
    beforeAll(() => {
      dir = copyProject();
      dirs.push(dir);
      writeFileSync(
        join(dir, 'sql', '9999_anon_reads_deployments.sql'),
        `grant select on public.deployments to anon;
         create policy anon_read_deployments on public.deployments for select to anon using (true);\n`,
      );
    });

    it('rowguard matrix exits 1 and names exactly the changed cell', async () => {
      const r = await runCli(['matrix'], { cwd: dir, env: { DATABASE_URL: serverUrl() } });
      expect(r.code).toBe(1);
      const changed = r.stdout.split('\n').filter((l) => l.includes('→'));
      expect(changed.map((l) => l.trim())).toEqual(['anon: SELECT public.deployments none → all rows']);
      expect(r.stdout).toMatch(/1 cell of the access matrix differs? from test\/access-matrix.json/);
    });

    it('--update rewrites the file so the next run passes, and the diff is that one line', async () => {
      const before = readFileSync(join(dir, 'test', 'access-matrix.json'), 'utf8');
      const u = await runCli(['matrix', '--update'], { cwd: dir, env: { DATABASE_URL: serverUrl() } });
      expect(u.code).toBe(0);
      expect(u.stdout).toContain('anon: SELECT public.deployments none → all rows');
      const after = readFileSync(join(dir, 'test', 'access-matrix.json'), 'utf8');
      const diff = after.split('\n').filter((l, i) => l !== before.split('\n')[i]);
      expect(diff).toEqual(['      "anon":         { "SELECT": "all", "INSERT": "none", "UPDATE": "none", "DELETE": "none" },']);
      const again = await runCli(['matrix', '--json'], { cwd: dir, env: { DATABASE_URL: serverUrl() } });
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout).changes).toEqual([]);
    });
  });

  it('a malformed committed file is a config error (exit 2), not a crash', async () => {
    const dir = copyProject();
    dirs.push(dir);
    writeFileSync(join(dir, 'test', 'access-matrix.json'), '{"version": 1, "actors": [], "tables": {"public.deployments": {"anon": {"SELECT": 1}}}}');
    const r = await runCli(['matrix'], { cwd: dir, env: { DATABASE_URL: serverUrl() } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('test/access-matrix.json: tables[public.deployments][anon].SELECT must be a string');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a broken fixture names file:line, and an actor without its user is named too', async () => {
    const dir = copyProject();
    dirs.push(dir);
    writeFileSync(join(dir, 'test', 'fixtures', '030_broken.sql'), 'select 1;\nselect * from public.no_such_table;\n');
    const r = await runCli(['matrix'], { cwd: dir, env: { DATABASE_URL: serverUrl() } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('test/fixtures/030_broken.sql');
    expect(r.stderr).toMatch(/030_broken\.sql:2:\d+/);
    expect(r.stderr).toContain('relation "public.no_such_table" does not exist');
    rmSync(join(dir, 'test', 'fixtures', '030_broken.sql'));
    writeFileSync(join(dir, 'test', 'fixtures', 'actors.json'), JSON.stringify({ actors: [{ name: 'ghost', kind: 'user', email: 'ghost@example.test' }] }));
    const g = await runCli(['matrix'], { cwd: dir, env: { DATABASE_URL: serverUrl() } });
    expect(g.code).toBe(2);
    expect(g.stderr).toContain('test/fixtures/actors.json: actors[0] (ghost): no user with email ghost@example.test in auth.users');
  });

  describe('formats', () => {
    let dir: string;
    beforeAll(() => {
      dir = copyProject();
      dirs.push(dir);
    });

    it('--format markdown prints a table for PR comments', async () => {
      const md = await runCli(['matrix', '--format', 'markdown'], { cwd: dir, env: { DATABASE_URL: serverUrl() } });
      expect(md.code).toBe(0);
      expect(md.stdout).toContain('| `public.deployments` | SELECT | none | own | own | all | all |');
      expect(md.stderr).toContain('matches test/access-matrix.json'); // the verdict stays off stdout
    });

    it('--format html --out writes one self-contained page', async () => {
      const out = join(dir, 'matrix.html');
      const h = await runCli(['matrix', '--format', 'html', '--out', out], { cwd: dir, env: { DATABASE_URL: serverUrl() } });
      expect(h.code).toBe(0);
      const page = readFileSync(out, 'utf8');
      expect(page.startsWith('<!doctype html>')).toBe(true);
      expect(page).not.toMatch(/(src|href)=["']?(https?:)?\/\//); // no external assets
      expect(page.match(/<td class="cell /g)).toHaveLength(2 * 4 * 5);
    });

    it('--format json carries every cell with its label, counts and note', async () => {
      const j = await runCli(['matrix', '--format', 'json'], { cwd: dir, env: { DATABASE_URL: serverUrl() } });
      expect(j.code).toBe(0);
      const doc = JSON.parse(j.stdout);
      expect(doc.cells['public.deployments'].user_a.SELECT).toMatchObject({ label: 'own', access: 'own', rows: 2, total: 4 });
      expect(doc.cells['public.deployments'].anon.SELECT.note).toBe('permission denied for table deployments');
      expect(doc.changes).toEqual([]);
    });
  });
});
