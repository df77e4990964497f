/**
 * `rowguard lint` as users run it: a temporary project (config + sql/), the
 * shadow build, exit codes per --level, the four formats, --since with git,
 * suppressions in files, comments and config, and the project's own sql/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runCli, serverUrl } from '../helpers/pg.js';
import { ensureRoles } from './helpers.js';

let dir: string;
const env = () => ({ DATABASE_URL: serverUrl() });

const BASE = `
create schema if not exists auth;
create or replace function auth.uid() returns uuid language sql stable as $$
  select (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $$;
grant usage on schema auth to anon, authenticated;
grant usage on schema public to anon, authenticated;
create table public.notes (id int primary key, user_id uuid, body text);
create index notes_user on public.notes (user_id);
alter table public.notes enable row level security;
create policy read_own on public.notes for select to authenticated using ((select auth.uid()) = user_id);
grant select on public.notes to authenticated;
`;

/** stdout as JSON, or a failure that shows what the CLI said instead. */
function jsonOf(r: { code: number; stdout: string; stderr: string }) {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`exit ${r.code}, stdout not JSON:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

function project(files: Record<string, string>, config: object = {}): string {
  const d = mkdtempSync(join(tmpdir(), 'rg-lint-cli-'));
  mkdirSync(join(d, 'sql'));
  writeFileSync(join(d, 'rowguard.config.json'), JSON.stringify(config));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, 'sql', name), text);
  return d;
}

/** A project whose files are committed in a git repository of its own (for --since). */
function committedProject(files: Record<string, string>): string {
  const d = project(files);
  const git = (...a: string[]) => execFileSync('git', a, { cwd: d, stdio: 'pipe' });
  git('init', '-q');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'add', '.');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init');
  return d;
}

beforeAll(async () => {
  await ensureRoles(serverUrl());
  dir = project({
    '0001_base.sql': BASE,
    // An update policy with a per-row call and no binding check, and an index on an existing table.
    '0002_more.sql': `
create policy update_any on public.notes for update to authenticated using (user_id = auth.uid() or true);
grant update on public.notes to authenticated;
create index notes_body on public.notes (body);
`,
  });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rowguard lint --shadow', () => {
  it('reports findings with object, message and fix, and exits 1 at the default threshold (warn)', async () => {
    const r = await runCli(['lint', '--shadow', '--all', '--json'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(1);
    const doc = jsonOf(r);
    expect(doc.ok).toBe(false);
    const rules = doc.findings.map((f: { rule: string }) => f.rule);
    expect(rules).toContain('policy-always-true');
    expect(rules).toContain('auth-call-per-row');
    expect(rules).toContain('index-not-concurrent');
    const always = doc.findings.find((f: { rule: string }) => f.rule === 'policy-always-true');
    expect(always.object).toBe('update_any on public.notes');
    expect(always.message).toMatch(/authenticated can update every row/);
    expect(always.definedAt).toMatchObject({ file: 'sql/0002_more.sql', line: 2 });
    const idx = doc.findings.find((f: { rule: string }) => f.rule === 'index-not-concurrent');
    expect(idx.location).toEqual({ file: 'sql/0002_more.sql', line: 4, column: 1 });
    expect(doc.inspected.policies).toBe(2);
  });

  it('--level sets the exit threshold', async () => {
    const info = await runCli(['lint', '--shadow', '--all', '--level', 'error', '--json'], { cwd: dir, env: env() });
    // policy-always-true is an error: still failing.
    expect(info.code).toBe(1);
    const clean = project({ '0001_base.sql': BASE });
    try {
      const ok = await runCli(['lint', '--shadow', '--all', '--level', 'error'], { cwd: clean, env: env() });
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    } finally {
      rmSync(clean, { recursive: true, force: true });
    }
  });

  it('SARIF output is structurally valid 2.1.0 with rules, results and locations', async () => {
    const r = await runCli(['lint', '--shadow', '--all', '--format', 'sarif'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(1);
    const sarif = jsonOf(r);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.$schema).toMatch(/sarif-2\.1\.0/);
    expect(sarif.runs).toHaveLength(1);
    const run = sarif.runs[0];
    expect(run.tool.driver.name).toBe('rowguard');
    const ids = run.tool.driver.rules.map((x: { id: string }) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(run.results.length).toBeGreaterThan(0);
    for (const res of run.results) {
      expect(ids[res.ruleIndex]).toBe(res.ruleId);
      expect(['error', 'warning', 'note']).toContain(res.level);
      expect(typeof res.message.text).toBe('string');
      expect(res.locations.length).toBe(1);
      const loc = res.locations[0];
      expect(loc.logicalLocations[0].fullyQualifiedName).toBeTruthy();
      // GitHub code scanning rejects results without a file and a start line.
      expect(loc.physicalLocation.artifactLocation.uri).toMatch(/^(sql\/|rowguard\.config\.json$)/);
      expect(loc.physicalLocation.region.startLine).toBeGreaterThanOrEqual(1);
      expect(loc.physicalLocation.region.startColumn).toBeGreaterThanOrEqual(1);
    }
    const idx = run.results.find((x: { ruleId: string }) => x.ruleId === 'index-not-concurrent');
    expect(idx.locations[0].physicalLocation.region).toEqual({ startLine: 4, startColumn: 1 });
  });

  it('--format github prints workflow commands with file, line and col', async () => {
    const r = await runCli(['lint', '--shadow', '--all', '--format', 'github'], { cwd: dir, env: env() });
    const lines = r.stdout.trim().split('\n');
    expect(lines.every((l) => /^::(error|warning|notice) /.test(l))).toBe(true);
    expect(lines).toContainEqual(expect.stringMatching(/^::warning file=sql\/0002_more\.sql,line=4,col=1,title=rowguard index-not-concurrent%3A public\.notes::/));
  });

  it('text output: file:line:col for file rules, the object, the message and the fix; -o writes the report to a file', async () => {
    const r = await runCli(['lint', '--shadow', '--all'], { cwd: dir, env: env() });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^sql\/0002_more\.sql:4:1 {2}warn {2}index-not-concurrent {2}public\.notes$/m);
    expect(r.stdout).toMatch(/^error {2}policy-always-true {2}update_any on public\.notes\n {2}policy update_any is always true on public\.notes: authenticated can update every row\n {2}defined at sql\/0002_more\.sql:2:1\n {2}fix: /m);
    expect(r.stdout).toMatch(/\d+ errors?, \d+ warnings?, \d+ info/);
    const out = join(dir, 'lint.sarif');
    const w = await runCli(['lint', '--shadow', '--all', '--format', 'sarif', '-o', 'lint.sarif'], { cwd: dir, env: env() });
    expect(w.code).toBe(1);
    expect(w.stdout).toBe('');
    const { readFileSync } = await import('node:fs');
    expect(JSON.parse(readFileSync(out, 'utf8')).version).toBe('2.1.0');
  });

  it('--list prints every rule with its level', async () => {
    const r = await runCli(['lint', '--list'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/policy-always-true\s+error/);
    expect(r.stdout).toMatch(/index-not-concurrent\s+warn/);
  });

  it('--no-catalog judges files only; a file that does not parse is file:line:col and exit 1', async () => {
    const bad = project({ '0001_x.sql': 'create table t (id int);\ncreate tabel u (id int);\n' });
    try {
      const r = await runCli(['lint', '--no-catalog', '--all'], { cwd: bad });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/sql\/0001_x\.sql:2:8: syntax error at or near "tabel"/);
      expect(r.stderr.match(/0001_x\.sql:2:8/g), 'the location once').toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('a COPY … FROM STDIN with its rows is named at the COPY, not as a syntax error in its first row', async () => {
    const bad = project({ '0001_x.sql': 'create table t (id int);\ncopy t (id) from stdin;\n1\n\\.\n' });
    try {
      const r = await runCli(['lint', '--no-catalog', '--all'], { cwd: bad });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: sql\/0001_x\.sql:2:1: COPY … FROM STDIN in a migration/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('bad flags are usage errors (exit 2)', async () => {
    expect((await runCli(['lint', '--level', 'loud'], { cwd: dir })).code).toBe(2);
    expect((await runCli(['lint', '--since', 'no-such-ref-xyz', '--no-catalog'], { cwd: dir })).code).toBe(2);
  });
});

describe('which migration files are judged', () => {
  it('--since <ref> judges only files added or changed since the ref (committed or not)', async () => {
    const d = committedProject({ '0001_t.sql': 'create table public.t (id int primary key, a int);\n' });
    try {
      // Old file gets an unsafe statement too, but it is not new: only 0002 is judged.
      writeFileSync(join(d, 'sql', '0002_idx.sql'), 'create index on public.t (a);\n');
      const r = await runCli(['lint', '--no-catalog', '--since', 'HEAD', '--json'], { cwd: d });
      const doc = jsonOf(r);
      expect(doc.judgedFiles).toEqual(['sql/0002_idx.sql']);
      expect(doc.findings.map((f: { rule: string }) => f.rule)).toEqual(['index-not-concurrent']);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('--since: a table an added file creates is new to the files added after it (one run applies them), not to a changed one', async () => {
    const d = committedProject({ '0001_t.sql': 'create table public.t (id int primary key, a int);\n' });
    try {
      // The change: 0001 (deployed) edited to create v too; 0002 added (u); 0003 indexes all three.
      writeFileSync(join(d, 'sql', '0001_t.sql'), 'create table public.t (id int primary key, a int);\ncreate table public.v (id int primary key, a int);\n');
      writeFileSync(join(d, 'sql', '0002_u.sql'), 'create table public.u (id int primary key, a int);\n');
      writeFileSync(join(d, 'sql', '0003_idx.sql'), 'create index on public.t (a);\ncreate index on public.u (a);\ncreate index on public.v (a);\n');
      const doc = jsonOf(await runCli(['lint', '--no-catalog', '--since', 'HEAD', '--json'], { cwd: d }));
      const indexed = doc.findings.filter((f: { rule: string }) => f.rule === 'index-not-concurrent').map((f: { object: string }) => f.object);
      expect(indexed.sort()).toEqual(['public.t', 'public.v']);
      // --all judges every file as applied on its own: u existed before 0003 ran.
      const all = jsonOf(await runCli(['lint', '--no-catalog', '--all', '--json'], { cwd: d }));
      expect(all.findings.filter((f: { rule: string }) => f.rule === 'index-not-concurrent').map((f: { object: string }) => f.object).sort()).toEqual(['public.t', 'public.u', 'public.v']);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('pending files are applied in one run: what an earlier pending file creates is new to the later ones', async () => {
    const d = project({
      '0001_t.sql': 'create table public.t (id int primary key, a int);\n',
      '0002_u.sql': 'create table public.u (id int primary key, a int not null);\n',
      '0003_more.sql': 'create index on public.u (a);\nalter table public.u add column b int not null;\nalter table public.u rename column a to c;\ncreate index on public.t (a);\n',
    });
    const { createThrowawayDatabase } = await import('../../cli/core/db.js');
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint_batch' });
    try {
      const { up } = await import('../../cli/core/migrate/engine.js');
      await up({ url: db.url, dir: join(d, 'sql'), displayRoot: d, lockTimeout: '5s', statementTimeout: '0' }, { to: '0001' });
      const doc = jsonOf(await runCli(['lint', '--json'], { cwd: d, env: { DATABASE_URL: db.url } }));
      expect(doc.judgedFiles).toEqual(['sql/0002_u.sql', 'sql/0003_more.sql']);
      const migration = doc.findings.filter((f: { rule: string }) => ['index-not-concurrent', 'add-column-not-null-no-default', 'rename-column-or-table'].includes(f.rule));
      expect(migration.map((f: { rule: string; object: string }) => `${f.rule} ${f.object}`)).toEqual(['index-not-concurrent public.t']);
    } finally {
      await db.drop();
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('CREATE TABLE [IF NOT EXISTS] in a pending file of a table the target has creates nothing: the table keeps its rows', async () => {
    const d = project({
      '0001_v.sql': 'create table if not exists public.v (id int primary key, a int);\ncreate index on public.v (a);\n',
      '0002_t.sql': 'create table if not exists public.t (id int primary key, a int);\ncreate index on public.t (a);\n',
    });
    const { createThrowawayDatabase, withSql } = await import('../../cli/core/db.js');
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint_ifne' });
    try {
      const { up } = await import('../../cli/core/migrate/engine.js');
      // t was made outside these migrations (by hand, or another tool), with rows.
      await withSql(db.url, (sql) => sql.unsafe('create table public.t (id int primary key, a int); insert into public.t select g, g from generate_series(1, 500) g;').simple());
      await up({ url: db.url, dir: join(d, 'sql'), displayRoot: d, lockTimeout: '5s', statementTimeout: '0' }, { to: '0001' });
      const pending = jsonOf(await runCli(['lint', '--json'], { cwd: d, env: { DATABASE_URL: db.url } }));
      expect(pending.findings.filter((f: { rule: string }) => f.rule === 'index-not-concurrent').map((f: { object: string }) => f.object)).toEqual(['public.t']);
      // A target whose history lacks the file that made a table (built by another tool): the
      // CREATE TABLE would fail there; the index after it is on the table with rows.
      await withSql(db.url, (sql) => sql.unsafe('create table public.w (id int primary key, a int); insert into public.w values (1, 1);').simple());
      writeFileSync(join(d, 'sql', '0003_w.sql'), 'create table public.w (id int primary key, a int);\ncreate index on public.w (a);\n');
      const missing = jsonOf(await runCli(['lint', '--json'], { cwd: d, env: { DATABASE_URL: db.url } }));
      expect(missing.findings.filter((f: { rule: string }) => f.rule === 'index-not-concurrent').map((f: { object: string }) => f.object).sort()).toEqual(['public.t', 'public.w']);
      // --all judges 0001 as it ran: v did not exist then, though the target has it now.
      const all = jsonOf(await runCli(['lint', '--all', '--json'], { cwd: d, env: { DATABASE_URL: db.url } }));
      expect(all.findings.filter((f: { rule: string }) => f.rule === 'index-not-concurrent').map((f: { object: string }) => f.object)).not.toContain('public.v');
    } finally {
      await db.drop();
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('without --since, files already in the target database history are not judged', async () => {
    const d = project({ '0001_t.sql': 'create table public.t (id int primary key, a int);\n', '0002_idx.sql': 'create index on public.t (a);\n' });
    const { createThrowawayDatabase } = await import('../../cli/core/db.js');
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint_hist' });
    try {
      const { up } = await import('../../cli/core/migrate/engine.js');
      await up({ url: db.url, dir: join(d, 'sql'), displayRoot: d, lockTimeout: '5s', statementTimeout: '0' }, { to: '0001' });
      const { withSql } = await import('../../cli/core/db.js');
      await withSql(db.url, (sql) => sql.unsafe('insert into public.t select g, g from generate_series(1, 1000) g; analyze public.t;').simple());
      const before = jsonOf(await runCli(['lint', '--json'], { cwd: d, env: { DATABASE_URL: db.url } }));
      expect(before.judgedFiles).toEqual(['sql/0002_idx.sql']);
      const idx = before.findings.find((f: { rule: string }) => f.rule === 'index-not-concurrent');
      // The target's row estimate says what the lock will cost.
      expect(idx.message).toMatch(/created in sql\/0001_t\.sql; about 1,000 rows in the target database/);
      await up({ url: db.url, dir: join(d, 'sql'), displayRoot: d, lockTimeout: '5s', statementTimeout: '0' });
      const after = jsonOf(await runCli(['lint', '--json'], { cwd: d, env: { DATABASE_URL: db.url } }));
      expect(after.judgedFiles).toEqual([]);
      expect(after.findings.map((f: { rule: string }) => f.rule)).not.toContain('index-not-concurrent');
    } finally {
      await db.drop();
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe("the project's own sql/", () => {
  it('lints clean at warn in a shadow database', async () => {
    const r = await runCli(['lint', '--shadow', '--all', '--level', 'warn'], { cwd: REPO_ROOT, env: env() });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\d+ policies/);
  });
});

describe('docs/lint-rules.md', () => {
  it('is what `rowguard lint --list --format markdown` generates (every rule, level and description)', async () => {
    const { readFileSync } = await import('node:fs');
    const r = await runCli(['lint', '--list', '--format', 'markdown']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(REPO_ROOT, 'docs', 'lint-rules.md'), 'utf8')).toBe(r.stdout);
  });
});
