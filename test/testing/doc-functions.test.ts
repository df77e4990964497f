/**
 * Every function pgTAP's documentation lists, with every overload it lists,
 * through `rowguard test`: the files in fixtures/doc call each one passing and
 * failing (and with NULL arguments where pgTAP 1.2 answers in its own way), and
 * must print exactly the lines pgTAP printed for them — the golden files, always;
 * and, where Debian's pgTAP 1.2 and pg_prove are installed, pg_prove's lines on
 * the same files, run now.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { canCompareWithRealPgtap, pgProve, realPgtapSql } from '../helpers/real-pgtap.js';
import { REPO_ROOT, serverUrl, freshDatabase } from '../helpers/pg.js';
import { loadConfig, type Config } from '../../cli/core/config.js';
import { runTests, type RunResult } from '../../cli/core/testing/runner.js';

const DOC = join(REPO_ROOT, 'test', 'testing', 'fixtures', 'doc');
const NAMES = readdirSync(DOC)
  .filter((f) => f.endsWith('.test.sql'))
  .map((f) => f.replace(/\.test\.sql$/, ''))
  .sort();
// pgTAP 1.3's additions: their golden file is pgTAP 1.3.5's output, which Debian's 1.2 cannot reproduce.
const NEWER_THAN_1_2 = new Set(['pgtap-1.3']);
const TAP_LINE = /^(ok \d|not ok \d|#|1\.\.)/;

let project: string;
let config: Config;
let ours: RunResult;

beforeAll(async () => {
  // An empty sql/: the files' lists of visible tables, functions and schemas must
  // see only what the files create, as in the database pgTAP's goldens came from.
  project = mkdtempSync(join(tmpdir(), 'rg-doc-functions-'));
  mkdirSync(join(project, 'sql'));
  writeFileSync(join(project, 'rowguard.config.json'), JSON.stringify({ sql: 'sql', test: DOC }));
  config = loadConfig({ cwd: project });
  ours = await runTests({ serverUrl: serverUrl(), config, cwd: project, paths: [DOC], jobs: 2 });
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

const output = (name: string): string[] => {
  const f = ours.files.find((x) => basename(x.file) === `${name}.test.sql`);
  expect(f, name).toBeDefined();
  return f!.output;
};
const golden = (name: string): string[] => readFileSync(join(DOC, `${name}.pgtap.tap`), 'utf8').replace(/\n$/, '').split('\n');

describe("pgTAP's documented functions", () => {
  it('every file runs to its plan with no error', () => {
    expect(ours.files.map((f) => basename(f.file)).sort()).toEqual(NAMES.map((n) => `${n}.test.sql`));
    for (const f of ours.files) {
      if (basename(f.file) !== 'null-arguments.test.sql') expect(f.problems, f.file).toEqual([]);
    }
    // pgTAP's has_index with a NULL schema, table or index name builds its failure's
    // diagnostic from that name: the whole result is NULL, psql prints an empty line, and
    // the test it counted is missing from the TAP — 22 such calls, here as under pg_prove.
    const nulls = ours.files.find((f) => basename(f.file) === 'null-arguments.test.sql')!;
    expect(nulls.problems).toEqual(['Bad plan. You planned 188 tests but ran 166.', 'Tests out of sequence. Found (102) but expected (93)']);
    expect(nulls.output.filter((l) => l === '')).toHaveLength(22);
  });

  it.each(NAMES)('%s prints the lines pgTAP printed (golden file)', (name) => {
    expect(output(name)).toEqual(golden(name));
  });

  it('the most used assertions print what pgTAP prints, default descriptions and diagnostics included', () => {
    // Spelled out here so that a change to a golden file cannot hide a change to these.
    const core = output('core');
    const at = (line: string): string[] => core.slice(core.indexOf(line), core.indexOf(line) + 4);
    expect(at('not ok 6 - is fails')).toEqual(['not ok 6 - is fails', '# Failed test 6: "is fails"', '#         have: cat', '#         want: dog']);
    expect(at('not ok 58 - throws_ok: wrong message')).toEqual([
      'not ok 58 - throws_ok: wrong message',
      '# Failed test 58: "throws_ok: wrong message"',
      "#       caught: P0042: pet 7 exploded",
      "#       wanted: P0042: pet 8 exploded",
    ]);
    expect(core).toContain('ok 61 - threw P0042');
    expect(core).toContain('not ok 86 - lives_ok fails');
    const objects = output('objects');
    expect(objects).toContain('ok 29 - Table dx.parent should exist');
    expect(objects).toContain('not ok 30 - Table dx.nope should exist');
    const columns = output('columns');
    const c122 = columns.indexOf('not ok 122 - Column dx.parent.name should be type pg_catalog.integer');
    expect(columns.slice(c122, c122 + 4)).toEqual([
      'not ok 122 - Column dx.parent.name should be type pg_catalog.integer',
      '# Failed test 122: "Column dx.parent.name should be type pg_catalog.integer"',
      '#         have: pg_catalog.text',
      '#         want: pg_catalog.integer',
    ]);
    const privileges = output('owners-privileges');
    expect(privileges).toContain('ok 111 - Role dx_reader should be granted INSERT, SELECT on table dx.parent');
    const p112 = privileges.indexOf('not ok 112 - Role dx_reader should be granted SELECT, UPDATE on table dx.parent');
    expect(privileges.slice(p112, p112 + 6)).toEqual([
      'not ok 112 - Role dx_reader should be granted SELECT, UPDATE on table dx.parent',
      '# Failed test 112: "Role dx_reader should be granted SELECT, UPDATE on table dx.parent"',
      '#     Extra privileges:',
      '#         INSERT',
      '#     Missing privileges:',
      '#         UPDATE',
    ]);
    const newer = output('pgtap-1.3');
    expect(newer).toContain('ok 5 - Table dx.parent should have a primary key');
    expect(newer).toContain('ok 9 - Column dx.parent(id) should be a primary key');
    expect(newer).toContain('not ok 12 - index_is_partial (4 args) failing');
  });

  it.skipIf(!canCompareWithRealPgtap())('print the same lines and verdict as pg_prove with the real pgTAP 1.2, run now', async () => {
    const db = await freshDatabase('rg_doctap');
    try {
      await db.sql.unsafe(readFileSync(realPgtapSql()!, 'utf8')).simple();
      for (const name of NAMES.filter((n) => !NEWER_THAN_1_2.has(n))) {
        const file = join(DOC, `${name}.test.sql`);
        const p = pgProve(db.url, file);
        const theirs = p.stdout.split('\n').filter((l) => TAP_LINE.test(l));
        expect(theirs[0], name).toBe(golden(name)[0]); // pg_prove ran the file: its plan line
        expect(output(name).filter((l) => TAP_LINE.test(l)), name).toEqual(theirs);
        const f = ours.files.find((x) => basename(x.file) === `${name}.test.sql`)!;
        expect(p.status !== 0, name).toBe(f.status !== 'passed');
      }
    } finally {
      await db.drop();
    }
  });
});
