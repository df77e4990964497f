// `rowguard init` in an empty folder, then `rowguard gate` there: a clean project passes, and each
// kind of failure fails the gate with that step named while the other steps still report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, migrate, runCli, serverUrl, type TestDatabase } from '../helpers/pg.js';
import type { Report } from './types.js';
import { describeUrl } from '../../cli/core/urls.js';


let template: string;
const dirs: string[] = [];
const dbs: TestDatabase[] = [];

/** A copy of the init'd project to break in one way. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rg-gate-case-'));
  cpSync(template, dir, { recursive: true });
  dirs.push(dir);
  return dir;
}

async function gate(dir: string, extra: string[] = []): Promise<{ code: number; report: Report; stderr: string; stdout: string }> {
  const r = await runCli(['--db', serverUrl(), 'gate', '--format', 'json', '--jobs', '2', ...extra], { cwd: dir, timeoutMs: 240_000 });
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`gate printed no JSON (exit ${r.code}): ${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr, stdout: r.stdout };
}

const step = (r: Report, id: string) => r.steps.find((s) => s.id === id)!;
const statuses = (r: Report) => Object.fromEntries(r.steps.map((s) => [s.id, s.status]));

beforeAll(async () => {
  template = mkdtempSync(join(tmpdir(), 'rg-gate-init-'));
  dirs.push(template);
  const r = await runCli(['--json', 'init'], { cwd: template });
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const d of dbs) await d.drop();
});

describe('rowguard init', () => {
  it('scaffolds config, the security schema, policies, tests, matrix, types and the workflow', () => {
    const files = (p: string) => readdirSync(join(template, p));
    expect(files('.')).toEqual(expect.arrayContaining(['rowguard.config.json', 'sql', 'policies', 'test', 'generated', '.github']));
    expect(files('sql').length).toBeGreaterThan(3);
    expect(files('policies').some((f) => f.startsWith('public.'))).toBe(true);
    expect(files('test/sql').some((f) => f.endsWith('.test.sql'))).toBe(true);
    expect(files('test')).toContain('access-matrix.json');
    expect(files('.github/workflows')).toEqual(['rowguard.yml']);
    expect(JSON.parse(readFileSync(join(template, 'rowguard.config.json'), 'utf8'))).toMatchObject({ sql: 'sql', policies: 'policies' });
  });

  it("lints clean with every rule on every shipped migration (the config carries the shipped sql/'s known findings)", async () => {
    const db = await freshDatabase('rg_init_lint');
    dbs.push(db);
    await migrate(db.url, join(template, 'sql'));
    const r = await runCli(['--db', db.url, '--json', 'lint', '--all'], { cwd: template });
    const body = JSON.parse(r.stdout) as { findings: Array<{ rule: string; object: string }> };
    expect(body.findings.map((f) => `${f.rule} ${f.object}`)).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('never overwrites a file without --force', async () => {
    const dir = project();
    writeFileSync(join(dir, 'rowguard.config.json'), '{"sql": "migrations"}\n');
    const r = await runCli(['--json', 'init'], { cwd: dir });
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { created: string[]; skipped: string[] };
    expect(body.created).toEqual([]);
    expect(body.skipped).toContain('rowguard.config.json');
    expect(readFileSync(join(dir, 'rowguard.config.json'), 'utf8')).toBe('{"sql": "migrations"}\n');
    const forced = JSON.parse((await runCli(['--json', 'init', '--force'], { cwd: dir })).stdout) as { overwritten: string[] };
    expect(forced.overwritten).toContain('rowguard.config.json');
  });
});

describe('rowguard gate', () => {
  it('passes on a freshly initialised project, with every step passed', async () => {
    const { code, report } = await gate(template);
    expect(statuses(report)).toEqual({ files: 'passed', migrate: 'passed', drift: 'passed', lint: 'passed', tests: 'passed', codegen: 'passed' });
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
  }, 240_000);

  it('an edited applied migration (--against a deployed database) fails the files step', async () => {
    const dir = project();
    const deployed = await freshDatabase('rg_deployed');
    dbs.push(deployed);
    await migrate(deployed.url, join(dir, 'sql'));
    const first = readdirSync(join(dir, 'sql')).sort()[0]!;
    appendFileSync(join(dir, 'sql', first), '\n-- an innocent-looking edit\n');
    const { code, report, stdout } = await gate(dir, ['--against', deployed.url, '--summary-file', 'summary.md']);
    expect(code).toBe(1);
    expect(step(report, 'files').status).toBe('failed');
    expect(step(report, 'files').details.join('\n')).toContain(`sql/${first} was changed after it was applied`);
    for (const id of ['migrate', 'drift', 'lint', 'tests', 'codegen']) expect(step(report, id).status).toBe('passed');
    // The report (stdout, and the summary CI posts to the step summary or a PR) names the
    // deployed database without its credentials.
    const password = decodeURIComponent(new URL(deployed.url).password);
    expect(password).not.toBe('');
    expect((report as Report & { against: string }).against).toBe(describeUrl(deployed.url));
    expect(stdout).not.toContain(password);
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).not.toContain(password);
  }, 240_000);

  it('with --against, migration-safety rules judge the files the deployed database has not applied', async () => {
    const dir = project();
    const deployed = await freshDatabase('rg_deployed_lint');
    dbs.push(deployed);
    await migrate(deployed.url, join(dir, 'sql'));
    const next = String(Math.max(...readdirSync(join(dir, 'sql')).map((f) => Number(f.split('_')[0]))) + 1).padStart(4, '0');
    writeFileSync(join(dir, 'sql', `${next}_name_index.sql`), 'create index deployments_name_idx on public.deployments (name);\n');
    const { code, report } = await gate(dir, ['--against', deployed.url]);
    expect(code).toBe(1);
    expect(step(report, 'files').status).toBe('passed');
    expect(step(report, 'lint').status).toBe('failed');
    expect(step(report, 'lint').summary).toContain('1 migration file not yet applied on --against');
    expect(step(report, 'lint').details.join('\n')).toMatch(new RegExp(`index-not-concurrent: sql/${next}_name_index\\.sql:1:1`));
    // Without --against nothing is new, so the same tree passes lint.
    const plain = await gate(dir);
    expect(step(plain.report, 'lint').status).toBe('passed');
  }, 240_000);

  it('drift between sql/ and policies/ fails the drift step and says what it would change', async () => {
    const dir = project();
    appendFileSync(join(dir, 'policies', 'public.deployments.sql'), '\ngrant select on public.deployments to anon;\n');
    const { code, report } = await gate(dir);
    expect(code).toBe(1);
    expect(step(report, 'drift').status).toBe('failed');
    expect(step(report, 'drift').details.join('\n')).toMatch(/anon/);
    expect(step(report, 'migrate').status).toBe('passed');
    expect(step(report, 'lint').status).toBe('passed');
  }, 240_000);

  it('a lint error in a new migration fails the lint step', async () => {
    const dir = project();
    const next = String(Math.max(...readdirSync(join(dir, 'sql')).map((f) => Number(f.split('_')[0]))) + 1).padStart(4, '0');
    writeFileSync(join(dir, 'sql', `${next}_leaky.sql`), 'create table public.leaky (id int primary key, note text);\ngrant select on public.leaky to anon;\n');
    const { code, report } = await gate(dir);
    expect(code).toBe(1);
    expect(step(report, 'lint').status).toBe('failed');
    expect(step(report, 'lint').details.join('\n')).toContain('public.leaky');
    expect(step(report, 'migrate').status).toBe('passed');
    // The new exposed table also changes the access matrix and the generated types: they report too.
    expect(step(report, 'tests').status).toBe('failed');
    expect(step(report, 'codegen').status).toBe('failed');
  }, 240_000);

  it('a failing SQL test fails the tests step with the assertion', async () => {
    const dir = project();
    writeFileSync(join(dir, 'test', 'sql', 'zz_broken.test.sql'), "begin;\nselect plan(1);\nselect is(1 + 1, 3, 'arithmetic still works');\nselect * from finish();\nrollback;\n");
    const { code, report } = await gate(dir);
    expect(code).toBe(1);
    expect(step(report, 'tests').status).toBe('failed');
    expect(step(report, 'tests').details.join('\n')).toContain('arithmetic still works');
    for (const id of ['files', 'migrate', 'drift', 'lint', 'codegen']) expect(step(report, id).status).toBe('passed');
  }, 240_000);

  it("the config's testSetup runs before the SQL tests, as a suite's setup file runs under pg_prove", async () => {
    const dir = project();
    writeFileSync(join(dir, 'test', 'sql', '00000-helpers.sql'), "create schema rg_gate_helpers;\ngrant usage on schema rg_gate_helpers to public;\ncreate function rg_gate_helpers.answer() returns int language sql as 'select 42';\n");
    writeFileSync(join(dir, 'test', 'sql', 'zz_setup.test.sql'), "begin;\nselect plan(1);\nselect is(rg_gate_helpers.answer(), 42, 'the setup file committed its helper');\nselect * from finish();\nrollback;\n");
    const without = await gate(dir);
    expect(step(without.report, 'tests').status).toBe('failed');
    const configFile = join(dir, 'rowguard.config.json');
    writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), testSetup: ['test/sql/00000-helpers.sql'] }));
    const { code, report } = await gate(dir);
    expect(code, JSON.stringify(report.steps.map((x) => [x.id, x.status, x.details.slice(0, 3)]))).toBe(0);
    expect(step(report, 'tests').status).toBe('passed');
  }, 240_000);

  it('a changed access-matrix cell fails the tests step naming the cell', async () => {
    const dir = project();
    const file = join(dir, 'test', 'access-matrix.json');
    const text = readFileSync(file, 'utf8');
    // Claim that anon can read every deployment: the computed matrix disagrees.
    const doc = JSON.parse(text) as { tables: Record<string, Record<string, Record<string, unknown>>> };
    const table = doc.tables['public.deployments']!;
    const anonKey = Object.keys(table).find((k) => k.startsWith('anon'))!;
    const cellKey = Object.keys(table[anonKey]!).find((k) => /select/i.test(k))!;
    table[anonKey]![cellKey] = 'all';
    writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
    const { code, report } = await gate(dir);
    expect(code).toBe(1);
    expect(step(report, 'tests').status).toBe('failed');
    expect(step(report, 'tests').details.join('\n')).toMatch(/anon.*SELECT.*public\.deployments/i);
  }, 240_000);

  it('a stale generated/db.ts fails the codegen step', async () => {
    const dir = project();
    appendFileSync(join(dir, 'generated', 'db.ts'), '\nexport interface Ghost { id: string }\n');
    const { code, report } = await gate(dir);
    expect(code).toBe(1);
    expect(step(report, 'codegen').status).toBe('failed');
    expect(step(report, 'codegen').summary).toContain('generated/db.ts is stale');
    for (const id of ['files', 'migrate', 'drift', 'lint', 'tests']) expect(step(report, id).status).toBe('passed');
  }, 240_000);

  it('writes Markdown, JUnit and SARIF reports', async () => {
    const dir = project();
    const { code } = await gate(dir, ['--summary-file', 'summary.md', '--junit', 'junit.xml', '--sarif', 'out.sarif']);
    expect(code).toBe(0);
    const md = readFileSync(join(dir, 'summary.md'), 'utf8');
    expect(md).toContain('## rowguard gate: passed');
    expect(md).toContain('| ✅ | drift: sql/ equals policies/');
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<testsuites name="rowguard gate" tests="\d+" failures="0"/);
    expect(junit).toContain('classname="rowguard.test"');
    const sarif = JSON.parse(readFileSync(join(dir, 'out.sarif'), 'utf8')) as { version: string; runs: Array<{ tool: { driver: { name: string } } }> };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]!.tool.driver.name).toBe('rowguard');
  }, 240_000);
});
