// Many databases at once: 20 tenant databases on the embedded server, one made to fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, freshDatabase, runCli, type TestDatabase } from '../helpers/pg.js';
import { parseTargets } from '../../cli/core/migrate/targets.js';

const dbs: TestDatabase[] = [];
let dir: string;

beforeAll(async () => {
  for (let i = 0; i < 20; i++) dbs.push(await freshDatabase('rg_tenant'));
  dir = mkdtempSync(join(tmpdir(), 'rg-targets-'));
  mkdirSync(join(dir, 'sql'));
  writeFileSync(join(dir, 'sql', '0001_notes.sql'), 'create table notes (id int primary key, body text);\n');
  writeFileSync(join(dir, 'sql', '0002_tags.sql'), 'create table tags (id int primary key);\n');
  // Tenant 7 already has a conflicting "tags" table: its second migration must fail.
  await dbs[7]!.sql`create table tags (id text)`;
});

afterAll(async () => {
  for (const d of dbs) await d.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrate up --targets', () => {
  it('applies to every database, isolates the failing one, and exits 1', async () => {
    const lines = ['# tenants', ...dbs.map((d, i) => (i === 3 ? 'env:TENANT_THREE_URL' : d.url)), ''];
    writeFileSync(join(dir, 'targets.txt'), lines.join('\n'));
    const r = await runCli(['--json', 'migrate', 'up', '--targets', 'targets.txt', '--concurrency', '5'], { cwd: dir, env: { TENANT_THREE_URL: dbs[3]!.url } });
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout) as { ok: boolean; failed: number; succeeded: number; targets: Array<{ ok: boolean; target: string; applied: string[]; error?: { message: string; location?: string } }> };
    expect(body).toMatchObject({ ok: false, failed: 1, succeeded: 19 });
    expect(body.targets).toHaveLength(20);
    body.targets.forEach((t, i) => {
      expect(t.target).toBe(`127.0.0.1:${new URL(dbs[i]!.url).port}/${dbs[i]!.name}`);
      if (i === 7) {
        expect(t.ok).toBe(false);
        expect(t.error!.message).toContain('relation "tags" already exists');
        expect(t.error!.location).toBe('sql/0002_tags.sql:1:1');
      } else {
        expect(t.ok).toBe(true);
        expect(t.applied).toEqual(['0001', '0002']);
      }
    });
    // No password in the output, even for the failing target.
    for (const d of dbs) expect(r.stdout + r.stderr).not.toContain(new URL(d.url).password);
    // Tenant 7 stays at its last good migration; the others have both.
    const [h7] = await dbs[7]!.sql<{ v: string[] }[]>`select array_agg(version order by version) as v from rowguard.migrations`;
    expect(h7!.v).toEqual(['0001']);
    for (const i of [0, 3, 19]) {
      const [h] = await dbs[i]!.sql<{ v: string[] }[]>`select array_agg(version order by version) as v from rowguard.migrations`;
      expect(h!.v).toEqual(['0001', '0002']);
    }
    // A second run: the healthy ones are up to date, the broken one still fails.
    const again = await runCli(['migrate', 'up', '--targets', 'targets.txt'], { cwd: dir, env: { TENANT_THREE_URL: dbs[3]!.url } });
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('20 databases: 19 ok, 1 failed');
    expect(again.stdout.match(/up to date/g)).toHaveLength(19);
  });

  it('exits 3 when every target that failed could not be reached (as one database does), 1 when a migration failed too', async () => {
    const down = new URL(dbs[0]!.url);
    down.port = '1';
    writeFileSync(join(dir, 'down.txt'), `${dbs[0]!.url}\n${down.href}\n`);
    const r = await runCli(['migrate', 'up', '--targets', 'down.txt'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toContain('2 databases: 1 ok, 1 failed');
    expect(r.stdout).toMatch(/could not connect to 127\.0\.0\.1:1\//);
    writeFileSync(join(dir, 'down.txt'), `${dbs[7]!.url}\n${down.href}\n`);
    const mixed = await runCli(['--json', 'migrate', 'up', '--targets', 'down.txt'], { cwd: dir });
    expect(mixed.code, mixed.stdout + mixed.stderr).toBe(1);
    expect(JSON.parse(mixed.stdout).targets.map((t: { error?: { code: string } }) => t.error?.code)).toEqual(['migration_failed', 'db_unreachable']);
  });

  it('SIGINT cancels the database being migrated (it rolls back), starts no other, reports each and exits 130', async () => {
    const a = await freshDatabase('rg_tenant_sig');
    const b = await freshDatabase('rg_tenant_sig');
    dbs.push(a, b);
    const sdir = mkdtempSync(join(tmpdir(), 'rg-targets-sig-'));
    mkdirSync(join(sdir, 'sql'));
    writeFileSync(join(sdir, 'sql', '0001_slow.sql'), 'create table slow (x int);\nselect pg_sleep(30);\n');
    writeFileSync(join(sdir, 'targets.txt'), `${a.url}\n${b.url}\n`);
    const child = spawn(process.execPath, [CLI, '--json', 'migrate', 'up', '--targets', 'targets.txt', '--concurrency', '1'], { cwd: sdir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    let sleeping = false;
    for (let i = 0; i < 200 && !sleeping; i++) {
      const [r] = await a.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query like '%pg_sleep(30)%' and state = 'active' and pid <> pg_backend_pid()`;
      sleeping = (r as { n: number }).n > 0;
      if (!sleeping) await new Promise((res) => setTimeout(res, 50));
    }
    expect(sleeping).toBe(true);
    const t0 = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(code).toBe(130); // every target reported, and the exit code says it was Ctrl-C
    const body = JSON.parse(stdout) as { targets: Array<{ ok: boolean; error?: { message: string } }> };
    expect(body.targets[0]!.error!.message).toContain('interrupted while applying sql/0001_slow.sql');
    expect(body.targets[1]!.error!.message).toBe('interrupted before this database was started: nothing was applied to it');
    for (const d of [a, b]) expect((await d.sql`select to_regclass('public.slow') is not null as slow`)[0]).toEqual({ slow: false });
    rmSync(sdir, { recursive: true, force: true });
  }, 60_000);

  it('says once, before the targets, when numeric order is not name order, and applies in numeric order', async () => {
    const [a, b] = [await freshDatabase('rg_tenant'), await freshDatabase('rg_tenant')];
    dbs.push(a, b);
    const odir = mkdtempSync(join(tmpdir(), 'rg-targets-order-'));
    mkdirSync(join(odir, 'sql'));
    writeFileSync(join(odir, 'sql', '9_y.sql'), 'create table y (x int);\n');
    writeFileSync(join(odir, 'sql', '10_x.sql'), 'drop table y;\n');
    writeFileSync(join(odir, 'targets.txt'), `${a.url}\n${b.url}\n`);
    const r = await runCli(['--json', 'migrate', 'up', '--targets', 'targets.txt'], { cwd: odir });
    rmSync(odir, { recursive: true, force: true });
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as { warnings: Array<{ code: string; files: string[] }>; targets: Array<{ applied: string[] }> };
    expect(body.warnings.map((w) => [w.code, w.files])).toEqual([['migration_name_order', ['sql/9_y.sql', 'sql/10_x.sql']]]);
    expect(body.targets.map((t) => t.applied)).toEqual([['9', '10'], ['9', '10']]);
    expect(r.stderr.match(/warning: sql\/9_y\.sql is applied before sql\/10_x\.sql/g)).toHaveLength(1);
  });

  it('refuses a malformed targets file before touching any database', () => {
    expect(() => parseTargets('postgres://a/b\nnot a url\n', 't.txt', {})).toThrow(/t\.txt:2/);
    expect(() => parseTargets('env:MISSING\n', 't.txt', {})).toThrow(/MISSING is not set/);
    expect(() => parseTargets('# nothing\n', 't.txt', {})).toThrow(/no target databases/);
    expect(() => parseTargets('postgres://h:1/a\npostgres://h:1/a\n', 't.txt', {})).toThrow(/listed twice/);
    // Every problem is named by file and line once (not "t.txt: t.txt:2 …").
    expect(() => parseTargets('postgres://a/b\nnot a url\nenv:MISSING\n', 't.txt', {})).toThrow(/^t\.txt:2 is not a valid URL; t\.txt:3: environment variable MISSING is not set$/);
  });

  it('a targets path that cannot be read is named with the reason (exit 2)', async () => {
    const missing = await runCli(['migrate', 'up', '--targets', 'no-such.txt'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`error: --targets: cannot read ${join(dir, 'no-such.txt')} (ENOENT)\n`);
    const folder = await runCli(['migrate', 'up', '--targets', 'sql'], { cwd: dir });
    expect(folder.code).toBe(2);
    expect(folder.stderr).toBe(`error: --targets: cannot read ${join(dir, 'sql')} (EISDIR)\nhint: that is a folder: name the file that lists the databases\n`);
  });
});
