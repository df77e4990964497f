// `rowguard gate` where CI runs it: a shallow clone (actions/checkout's default depth 1), a monorepo
// whose rowguard project sits in a subfolder, and the report files code scanning and PR comments read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, serverUrl } from '../helpers/pg.js';
import type { Report } from './types.js';


const dirs: string[] = [];
let template: string;

function tmp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=ci@example.test', '-c', 'user.name=ci', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A repository whose main holds the init'd project under `sub`, and a branch `pr` adding a migration lint warns about. */
function repoWithPr(sub: string): { repo: string; project: string; newFile: string } {
  const repo = tmp('rg-gate-ci-repo-');
  const project = join(repo, sub);
  mkdirSync(project, { recursive: true });
  cpSync(template, project, { recursive: true });
  git(repo, 'init', '-q');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'rowguard');
  git(repo, 'checkout', '-qb', 'pr');
  const newFile = join(sub, 'sql', '0090_name_index.sql').split('\\').join('/');
  writeFileSync(join(repo, newFile), 'create index deployments_name_idx on public.deployments (name);\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'an index');
  return { repo, project, newFile };
}

async function gate(cwd: string, extra: string[]): Promise<{ code: number; report: Report | null; stdout: string; stderr: string }> {
  const r = await runCli(['--db', serverUrl(), ...extra.slice(0, extra.indexOf('gate')), 'gate', '--format', 'json', '--jobs', '2', ...extra.slice(extra.indexOf('gate') + 1)], { cwd, timeoutMs: 240_000 });
  let report: Report | null = null;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    report = null;
  }
  return { code: r.code, report, stdout: r.stdout, stderr: r.stderr };
}

const step = (r: Report | null, id: string) => r!.steps.find((s) => s.id === id)!;

beforeAll(async () => {
  template = tmp('rg-gate-ci-init-');
  const r = await runCli(['--json', 'init'], { cwd: template });
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('gate --base in a CI checkout', () => {
  it('a shallow clone without the base branch is a usage error (exit 2) naming the fix, before any step runs', async () => {
    const { repo } = repoWithPr('.');
    const clone = join(tmp('rg-gate-ci-clone-'), 'c');
    // --depth is ignored for plain local paths: file:// makes the clone really shallow, as actions/checkout's.
    execFileSync('git', ['clone', '-q', '--depth', '1', '--branch', 'pr', `file://${repo}`, clone], { stdio: 'ignore' });
    const r = await gate(clone, ['gate', '--base', 'origin/main']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: --base origin/main: no such commit in this shallow clone\nhint: fetch it first: actions/checkout with fetch-depth: 0, or git fetch --depth=1 origin main:refs/remotes/origin/main\n');
    expect(r.code).toBe(2);

    // The hint's fetch is enough: depth 1 of main has no merge base with the PR, the trees are what count.
    execFileSync('git', ['fetch', '-q', '--depth=1', 'origin', 'main:refs/remotes/origin/main'], { cwd: clone, stdio: 'ignore' });
    const fetched = await gate(clone, ['gate', '--base', 'origin/main']);
    expect(step(fetched.report, 'migrate').summary).toContain('1 new migration applies on top of origin/main');
    expect(step(fetched.report, 'lint').summary).toContain('1 migration file new since origin/main');
    expect(step(fetched.report, 'lint').details.join('\n')).toContain('index-not-concurrent: sql/0090_name_index.sql:1:1');
    expect(fetched.code).toBe(1);
  }, 240_000);

  it('a project in a subfolder judges its new migrations whether gate runs there or at the root with --config', async () => {
    const { repo, project, newFile } = repoWithPr('packages/db');
    const fromSub = await gate(project, ['gate', '--base', 'main', '--sarif', 'out.sarif']);
    const fromRoot = await gate(repo, ['--config', 'packages/db/rowguard.config.json', 'gate', '--base', 'main', '--sarif', 'out.sarif']);
    // The same through a symlinked path (git reports the top level with symlinks resolved; /tmp on macOS is one).
    const link = join(tmp('rg-gate-ci-link-'), 'repo');
    symlinkSync(repo, link);
    const viaLink = await gate(tmpdir(), ['--config', join(link, 'packages/db/rowguard.config.json'), 'gate', '--base', 'main', '--sarif', join(link, 'link.sarif')]);
    expect(step(viaLink.report, 'migrate').status, viaLink.stderr).toBe('passed');
    for (const [r, dir] of [
      [fromSub, project],
      [fromRoot, repo],
    ] as const) {
      expect(step(r.report, 'lint').summary, r.stderr).toContain('1 migration file new since main');
      expect(step(r.report, 'lint').status).toBe('failed');
      expect(r.code).toBe(1);
      // Code scanning resolves uris against the repository root (%SRCROOT%), wherever gate ran.
      const sarif = JSON.parse(readFileSync(join(dir, 'out.sarif'), 'utf8')) as {
        runs: Array<{ results: Array<{ ruleId: string; locations: Array<{ physicalLocation?: { artifactLocation: { uri: string; uriBaseId?: string } } }> }> }>;
      };
      const hit = sarif.runs[0]!.results.find((x) => x.ruleId === 'index-not-concurrent')!;
      expect(hit.locations[0]!.physicalLocation!.artifactLocation).toEqual({ uri: newFile, uriBaseId: '%SRCROOT%' });
    }
  }, 300_000);
});

describe('gate is green only when its checks ran', () => {
  function copy(): string {
    const dir = tmp('rg-gate-ci-case-');
    cpSync(template, dir, { recursive: true });
    return dir;
  }

  it('without a committed access matrix the tests step fails, saying the access check did not run', async () => {
    const dir = copy();
    rmSync(join(dir, 'test', 'access-matrix.json'));
    const r = await gate(dir, ['gate', '--junit', 'junit.xml']);
    expect(step(r.report, 'tests').status).toBe('failed');
    expect(step(r.report, 'tests').details).toContain('no committed access matrix (test/access-matrix.json): the access check did not run');
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toMatch(/name="SQL tests and access matrix"[^\n]*<failure message="[^"]*no committed access matrix/);
    expect(r.code).toBe(1);
  }, 240_000);

  it('a config that suppresses a rule for every object still shows what it silenced', async () => {
    const dir = copy();
    const next = String(Math.max(...readdirSync(join(dir, 'sql')).map((f) => Number(f.split('_')[0]))) + 1).padStart(4, '0');
    writeFileSync(join(dir, 'sql', `${next}_leaky.sql`), 'create table public.leaky (id int primary key, note text);\ngrant select on public.leaky to anon;\n');
    const cfgFile = join(dir, 'rowguard.config.json');
    const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as { lint: { ignore: unknown[] } };
    cfg.lint.ignore.push({ rule: 'rls-disabled-in-api', object: '*', reason: 'we know' });
    writeFileSync(cfgFile, JSON.stringify(cfg, null, 2));
    const r = await gate(dir, ['gate', '--summary-file', 'summary.md']);
    expect(step(r.report, 'lint').status).toBe('passed');
    expect(step(r.report, 'lint').summary).toMatch(/^0 error, 0 warn, 0 info, 1 suppressed /);
    const md = readFileSync(join(dir, 'summary.md'), 'utf8');
    expect(md).toContain('### Suppressed lint findings (1)');
    expect(md).toMatch(/\| error \| `rls-disabled-in-api` \| [^|]*public\.leaky \| we know \(rowguard\.config\.json lint\.ignore\[\d+\]\) \|/);
  }, 240_000);

  it('a missing or empty sql/ fails the files step instead of proving an empty database', async () => {
    const dir = copy();
    rmSync(join(dir, 'sql'), { recursive: true });
    const missing = await gate(dir, ['gate']);
    expect(step(missing.report, 'files')).toMatchObject({ status: 'failed', summary: 'sql/ does not exist' });
    expect(missing.code).toBe(1);
    mkdirSync(join(dir, 'sql'));
    const empty = await gate(dir, ['gate']);
    expect(step(empty.report, 'files')).toMatchObject({ status: 'failed', summary: 'no migration files in sql/' });
    expect(empty.code).toBe(1);
  }, 240_000);
});

describe('gate on a DATABASE_URL it cannot provision on', () => {
  it('a role without CREATEDB is exit 3 naming the privilege, not a failed migration (exit 1)', async () => {
    const { withSql } = await import('../../cli/core/db.js');
    const { randomBytes } = await import('node:crypto');
    const role = `rg_nocreatedb_${randomBytes(4).toString('hex')}`;
    const url = new URL(serverUrl());
    url.username = role;
    url.password = 'pw-nocreatedb';
    await withSql(serverUrl(), (sql) => sql.unsafe(`create role ${role} login nocreatedb password 'pw-nocreatedb'`));
    try {
      for (const extra of [[], ['--format', 'json']]) {
        const r = await runCli(['gate', ...extra], { cwd: template, env: { DATABASE_URL: url.toString() }, timeoutMs: 120_000 });
        expect(r.stderr).toMatch(/^(ok .*\n)*error: cannot create the gate's throwaway database on [^\n]*: permission denied to create database \[42501\]\nhint: [^\n]*CREATEDB[^\n]*\n$/);
        expect(r.stderr).not.toContain('pw-nocreatedb');
        expect(r.code).toBe(3);
      }
      // The same for every command that builds a throwaway database (one mechanism in db.ts).
      const codegen = await runCli(['codegen', '--verify'], { cwd: template, env: { DATABASE_URL: url.toString() }, timeoutMs: 120_000 });
      expect(codegen.code, codegen.stderr).toBe(3);
      expect(codegen.stderr).toMatch(/^error: cannot create a throwaway database on [^\n]*: permission denied to create database \[42501\]\nhint: [^\n]*CREATEDB/);
    } finally {
      await withSql(serverUrl(), (sql) => sql.unsafe(`drop role ${role}`));
    }
  }, 240_000);
});

describe('gate report paths', () => {
  it('a report path in a missing folder or naming a folder is exit 2 before any step runs', async () => {
    const missing = await runCli(['--db', serverUrl(), 'gate', '--summary-file', 'no/such/dir/summary.md'], { cwd: template, timeoutMs: 120_000 });
    expect(missing.stderr).toBe(`error: --summary-file no/such/dir/summary.md: the folder ${join(template, 'no/such/dir')} does not exist\nhint: create it first (mkdir -p)\n`);
    expect(missing.code).toBe(2);
    const folder = await runCli(['--db', serverUrl(), 'gate', '--junit', 'sql'], { cwd: template, timeoutMs: 120_000 });
    expect(folder.stderr).toBe('error: --junit sql: that is a folder\nhint: name a file\n');
    expect(folder.code).toBe(2);
  }, 240_000);
});
