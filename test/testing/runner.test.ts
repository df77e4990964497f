/**
 * `rowguard test` end to end on a real Postgres: pgTAP-identical TAP, state
 * isolation between files, parallel files, plan problems, error locations,
 * pg_prove-style files, the tests.* helpers, JUnit and the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { canCompareWithRealPgtap, pgProve, realPgtapSql } from '../helpers/real-pgtap.js';
import { REPO_ROOT, runCli, serverMajor, serverUrl, freshDatabase } from '../helpers/pg.js';
import { loadConfig, type Config } from '../../cli/core/config.js';
import { runTests, buildTemplate, resetStatement, type RunResult } from '../../cli/core/testing/runner.js';
import { runTestFile } from '../../cli/core/testing/run-file.js';
import { LIBRARY_SCHEMA } from '../../cli/core/testing/library.js';
import { renderJunit, renderTap } from '../../cli/core/report/test.js';
import { connect, createThrowawayDatabase, describeUrl, dropDatabase } from '../../cli/core/db.js';
import { buildAccessClaims } from '../../cli/core/jwt/claims.js';
import { tempDir } from '../helpers/tmp.js';

const FIX = join(REPO_ROOT, 'test', 'testing', 'fixtures');
const COMPAT = join(FIX, 'compat');
// Every compat fixture has a golden file: the output of real pgTAP on it.
const COMPAT_FILES = readdirSync(COMPAT)
  .filter((f) => f.endsWith('.test.sql'))
  .map((f) => f.replace(/\.test\.sql$/, ''));
const RUNNER = join(FIX, 'runner');

let project: string;
let config: Config;

beforeAll(() => {
  // A project whose sql/ is rowguard's own security schema and whose tests live in a temp folder.
  project = mkdtempSync(join(tmpdir(), 'rg-test-runner-'));
  mkdirSync(join(project, 'test'));
  writeFileSync(join(project, 'rowguard.config.json'), JSON.stringify({ sql: join(REPO_ROOT, 'sql'), test: join(project, 'test') }));
  // Paths in results are shown relative to the config root: the repository here.
  config = loadConfig({ cwd: REPO_ROOT });
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

const run = (paths: string[], extra: Partial<Parameters<typeof runTests>[0]> = {}): Promise<RunResult> =>
  runTests({ serverUrl: serverUrl(), config, cwd: REPO_ROOT, paths, jobs: 1, ...extra });

describe('TAP output matches pgTAP', () => {
  it('prints exactly the lines pgTAP 1.2 prints for passing, failing, todo and skipped assertions', async () => {
    const r = await run([COMPAT], { jobs: 2 });
    expect(r.files.map((f) => basename(f.file)).sort()).toEqual(COMPAT_FILES.map((n) => `${n}.test.sql`).sort());
    for (const name of COMPAT_FILES) {
      const f = r.files.find((x) => basename(x.file) === `${name}.test.sql`)!;
      // Golden files: the output of real pgTAP 1.2 (Debian's postgresql-15-pgtap) run by psql as pg_prove runs it.
      const golden = readFileSync(join(COMPAT, `${name}.pgtap.tap`), 'utf8').replace(/\n$/, '').split('\n')
        // The CONTEXT lines are the server's: Postgres 18 calls a PL/pgSQL expression by that name.
        .map((l) => (serverMajor() >= 18 ? l.replace(/^(#\s+)SQL expression "/, '$1PL/pgSQL expression "') : l));
      expect(f.output, name).toEqual(golden);
    }
    const a = r.files.find((x) => x.file.endsWith('assertions.test.sql'))!;
    expect(a.status).toBe('failed');
    expect(a.problems).toEqual([]);
    expect(a.tests.filter((t) => t.directive?.kind === 'todo').map((t) => t.ok)).toEqual([false, true]);
    expect(a.tests.filter((t) => t.directive?.kind === 'skip')).toHaveLength(3);
    expect(a.tests.find((t) => t.description === 'is fails')).toMatchObject({ failed: true, location: { line: 23, column: 1 } });
    expect(a.tests.find((t) => t.description === 'is fails')!.diagnostics).toEqual(['Failed test 7: "is fails"', '        have: 1', '        want: 2']);
    // psql's own errors (files that are not there) come when the file reaches them, in psql's words on stderr.
    const m = r.files.find((x) => x.file.endsWith('missing-file.test.sql'))!;
    expect(m.status).toBe('errored');
    expect(m.error).toMatchObject({ message: '\\ir no-such-include.sql: no such file', location: { file: 'test/testing/fixtures/compat/missing-file.test.sql', line: 20, column: 1 } });
    expect(m.messages).toEqual([
      'error: test/testing/fixtures/compat/no-such-include.sql: No such file or directory',
      'error: test/testing/fixtures/compat/no-such.csv: No such file or directory',
      'error: test/testing/fixtures/compat/no-such-include.sql: No such file or directory',
    ]);
    // So do its refused conditionals and \set, each in the order and the words of psql 15's stderr for the file.
    const e = r.files.find((x) => x.file.endsWith('psql-errors.test.sql'))!;
    expect(e.status).toBe('errored');
    expect(e.error).toMatchObject({ message: 'the file ends inside an \\if block (missing \\endif)', location: { file: 'test/testing/fixtures/compat/psql-errors.test.sql', line: 30, source: 'ROLLBACK;' } });
    expect(e.messages).toEqual([
      'error: \\endif: no matching \\if',
      'error: \\else: no matching \\if',
      'error: \\elif: cannot occur after \\else',
      'error: \\else: cannot occur after \\else',
      'error: invalid variable name: "rg-bad"',
      'error: \\endif: no matching \\if',
      'error: reached EOF without finding closing \\endif(s)',
      'error: reached EOF without finding closing \\endif(s)',
    ]);
    // A value psql's variable hooks refuse is such an error too: the file goes on under
    // ON_ERROR_STOP 0 and stops at it under 1 (pg_prove: exit 3, 7 of 8 planned tests).
    const v = r.files.find((x) => x.file.endsWith('psql-variables.test.sql'))!;
    expect(v.status).toBe('errored');
    expect(v.error).toMatchObject({ message: '\\set SHOW_CONTEXT: unrecognized value "sometimes" for "SHOW_CONTEXT"', location: { file: 'test/testing/fixtures/compat/psql-variables.test.sql', line: 27, column: 1 } });
    expect(v.messages).toEqual([
      'error: unrecognized value "" for "ECHO"\nAvailable values are: none, errors, queries, all.',
      'error: invalid value "many" for "FETCH_COUNT": integer expected',
      'error: unrecognized value "loud" for "VERBOSITY"\nAvailable values are: default, verbose, terse, sqlstate.',
      'error: unrecognized value "sometimes" for "SHOW_CONTEXT"\nAvailable values are: never, errors, always.',
    ]);
  });

  it.skipIf(!canCompareWithRealPgtap())('gives the same lines and verdict as pg_prove with the real pgTAP on the same files', async () => {
    const db = await freshDatabase('rg_realtap');
    try {
      await db.sql.unsafe(readFileSync(realPgtapSql()!, 'utf8')).simple();
      const ours = await run([COMPAT], { jobs: 2 });
      expect(ours.files).toHaveLength(COMPAT_FILES.length);
      for (const f of ours.files) {
        const p = pgProve(db.url, join(REPO_ROOT, f.file));
        const theirs = p.stdout.split('\n').filter((l) => /^(ok \d|not ok \d|#|1\.\.)/.test(l));
        expect(f.output.filter((l) => /^(ok \d|not ok \d|#|1\.\.)/.test(l)), f.file).toEqual(theirs);
        expect(p.status !== 0, f.file).toBe(f.status !== 'passed');
      }
    } finally {
      await db.drop();
    }
  });
});

describe('isolation', () => {
  it('a file that would commit a role keeps nothing for the next file, says so, and leaves nothing on the server', async () => {
    // This run's databases, by name: other test files create rowguard_t… copies at the same time.
    const mine = new Set<string>();
    const r = await run([join(RUNNER, 'leak-a.test.sql'), join(RUNNER, 'leak-b.test.sql')], {
      onEvent: (e) => {
        if (e.kind === 'template' && e.phase === 'ready' && e.database) mine.add(e.database);
        if (e.kind === 'file-start') mine.add(e.database);
      },
    });
    const [a, b] = r.files;
    expect(a!.status).toBe('errored');
    expect(a!.error).toMatchObject({ pg: { sqlstate: '42P01' }, location: { file: 'test/testing/fixtures/runner/leak-a.test.sql', line: 15, column: 15 } });
    expect(a!.messages).toContain('WARNING:  there is no transaction in progress');
    // Under pg_prove b would see a's table and sequences; rowguard never commits a role, so none of it is kept.
    expect(a!.warnings).toEqual(['nothing it did was kept: it changes role rg_leak_role outside BEGIN … ROLLBACK, which would outlive the run (create roles in sql/, or wrap them in BEGIN … ROLLBACK)']);
    expect(a!.kept).toBeUndefined();
    expect(b!.status).toBe('passed');
    // b runs in the copy a ran in, so this also proves a's sequences were put back.
    expect(b!.tests.map((t) => t.ok)).toEqual([true, true, true, true, true]);
    // Nor on the server: the role never committed, and the copies are gone.
    const sql = connect(serverUrl());
    try {
      expect(await sql`select 1 from pg_roles where rolname = 'rg_leak_role'`).toHaveLength(0);
      // The template and the run's own copy: both files may commit (a's DDL, b's nextval), so both ran there, one after the other.
      expect(mine.size).toBe(2);
      expect(await sql`select datname from pg_database where datname = any(${[...mine]})`).toEqual([]);
    } finally {
      await sql.end();
    }
  });

  it('puts sequences back after each file, so a reused copy starts like the template', async () => {
    const tpl = await buildTemplate(serverUrl(), config);
    const copy = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_reuse', template: tpl.name });
    try {
      const reset = resetStatement(tpl.sequences);
      const cleans: boolean[] = [];
      const runIn = (name: string) =>
        runTestFile({ url: copy.url, file: { path: join(RUNNER, name), display: name }, cwd: REPO_ROOT, settings: {}, librarySchema: LIBRARY_SCHEMA, reset, onReset: (ok) => cleans.push(ok) });
      expect((await runIn('leak-a.test.sql')).status).toBe('errored');
      expect((await runIn('leak-a.test.sql')).status).toBe('errored');
      const b = await runIn('leak-b.test.sql');
      expect(cleans).toEqual([true, true, true]);
      expect(b.tests.filter((t) => !t.ok).map((t) => t.description)).toEqual([]);
    } finally {
      await dropDatabase(serverUrl(), copy.name);
      await tpl.drop();
    }
  });

  it('files running at the same time do not see each other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-parallel-'));
    try {
      for (let i = 1; i <= 6; i++) {
        writeFileSync(
          join(dir, `p${i}.test.sql`),
          `BEGIN;
SELECT plan(2);
CREATE TABLE public.shared (n integer);
INSERT INTO public.shared SELECT generate_series(1, ${i});
SELECT pg_sleep(0.3);
SELECT is((SELECT count(*)::int FROM public.shared), ${i}, 'only my ${i} rows');
SELECT is((SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database()), 1, 'alone in my database');
ROLLBACK;
`,
        );
      }
      let running = 0;
      let most = 0;
      const r = await run([dir], {
        jobs: 6,
        onEvent: (e) => {
          if (e.kind === 'file-start') most = Math.max(most, ++running);
          if (e.kind === 'file-done') running--;
        },
      });
      expect(r.files.map((f) => f.status)).toEqual(Array(6).fill('passed'));
      expect(r.jobs).toBe(6);
      // They really ran side by side, each in a database of its own, creating the same table.
      expect(most).toBe(6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('verdicts', () => {
  it('fails a file whose plan count is wrong, even when every assertion passed', async () => {
    const r = await run([join(RUNNER, 'bad-plan.test.sql')]);
    expect(r.ok).toBe(false);
    expect(r.files[0]).toMatchObject({ status: 'failed', planned: 3, problems: ['Bad plan. You planned 3 tests but ran 2.'] });
    expect(r.files[0]!.tests.every((t) => !t.failed)).toBe(true);
  });

  it('reports the failing statement as file:line:col with the server error, and stops there', async () => {
    const r = await run([join(RUNNER, 'errors.test.sql')]);
    const f = r.files[0]!;
    expect(f.status).toBe('errored');
    expect(f.error).toMatchObject({ message: 'relation "no_such_table" does not exist', location: { line: 5, column: 15, source: 'SELECT 1 FROM no_such_table;' }, pg: { sqlstate: '42P01' } });
    expect(f.tests.map((t) => t.description)).toEqual(['before the error']);
  });

  it('a CALL or DO outside BEGIN whose body COMMITs (psql runs it in autocommit, where it may) stops the file with a hint saying why; inside BEGIN, where psql fails alike, no hint', async () => {
    const dir = tempDir('rg-call-commit-');
    const proc = 'create table public.cc_t (x int);\ncreate procedure public.cc_p() language plpgsql as $$ begin insert into public.cc_t values (1); commit; end $$;\nselect plan(1);\n';
    writeFileSync(join(dir, 'call.sql'), proc + "call public.cc_p();\nselect pass('psql gets here');\n");
    writeFileSync(join(dir, 'do.sql'), "select plan(1);\ndo $$ begin rollback; end $$;\nselect pass('psql gets here');\n");
    // (call.sql may commit: its table and procedure stay for the files after it, as under pg_prove.)
    writeFileSync(join(dir, 'inside.sql'), "select plan(1);\nbegin;\ncall public.cc_p();\nrollback;\n");
    const [call, doBlock, inside] = (await run([join(dir, 'call.sql'), join(dir, 'do.sql'), join(dir, 'inside.sql')])).files;
    const hint = 'rowguard test runs each file inside a transaction of its own (rolled back, or kept as psql would have committed it), where a procedure or DO block cannot COMMIT or ROLLBACK as it can under psql outside BEGIN … COMMIT; such a step cannot be tested this way';
    expect(call!.error).toMatchObject({ message: 'invalid transaction termination', pg: { sqlstate: '2D000' }, location: { line: 4, column: 1 }, hint });
    expect(doBlock!.error).toMatchObject({ message: 'invalid transaction termination', pg: { sqlstate: '2D000' }, location: { line: 2, column: 1 }, hint });
    expect(inside!.error).toMatchObject({ message: 'invalid transaction termination', pg: { sqlstate: '2D000' }, location: { line: 3, column: 1 } });
    expect(inside!.error!.hint).toBeUndefined();
  });

  it('a NUL byte errors the file at file:line:col instead of ending the query there and silently skipping the rest', async () => {
    const dir = tempDir('rg-nul-');
    // Cut at the NUL, this file would run one passing assertion of a plan of one: a pass.
    writeFileSync(join(dir, 'nul.test.sql'), 'select plan(1);\nselect ok(true, \'runs\');\0\nselect ok(false, \'never runs\');\n');
    const f = (await run([join(dir, 'nul.test.sql')])).files[0]!;
    expect(f.status).toBe('errored');
    expect(f.error).toMatchObject({ message: 'contains a NUL byte (0x00), which no PostgreSQL query can hold', location: { line: 2, column: 25 } });
  });

  it('COPY data the server refuses ends the file with the error at the COPY (the driver would wait for ever: porsager/postgres#1173)', async () => {
    const r = await run([join(RUNNER, 'copy-refused.test.sql')]);
    const f = r.files[0]!;
    expect(f.status).toBe('errored');
    expect(f.error).toMatchObject({ message: 'invalid input syntax for type integer: "two"', location: { line: 7, column: 1 }, pg: { sqlstate: '22P02' } });
    expect(f.tests.map((t) => t.description)).toEqual(['before the copy']);
  }, 30_000);

  it('runs pg_prove-style files as they are: own transactions, savepoints, \\set, \\i, \\echo, \\if, \\o', async () => {
    const r = await run([join(RUNNER, 'transactions.test.sql')]);
    const f = r.files[0]!;
    expect(f.error).toBeUndefined();
    expect(f.status).toBe('passed');
    expect(f.output).toEqual([
      'ok 1 - inside the block',
      'ok 2 - ROLLBACK undid the block',
      'ok 3 - COMMIT kept the block, the savepoint rolled back',
      '# an echoed diagnostic',
      'ok 4 - interpolated variable',
      '1..4',
    ]);
  });

  it('outside a block, as psql runs each statement in a transaction of its own: SET LOCAL / SET TRANSACTION end with their statement (a warning), SAVEPOINT, LOCK and DECLARE CURSOR are refused (25P01)', async () => {
    const dir = tempDir('rg-outside-block-');
    const sets = "set local role anon;\nset local search_path = pg_catalog;\nset transaction isolation level serializable;\nset constraints all deferred;\nselect plan(4);\n" +
      "select is(current_user::text, session_user::text, 'SET LOCAL ROLE lasted one statement');\n" +
      "select ok(current_setting('search_path') like '%public%', 'SET LOCAL search_path lasted one statement');\n" +
      "select is(current_setting('transaction_isolation'), 'read committed', 'SET TRANSACTION lasted one statement');\n";
    writeFileSync(join(dir, 'stop.sql'), sets + "savepoint s;\nselect pass('never: psql stops at the SAVEPOINT');\n");
    writeFileSync(join(dir, 'on.sql'), '\\set ON_ERROR_STOP 0\n' + sets + "savepoint s;\nrelease savepoint s;\nrollback to savepoint s;\nlock table pg_catalog.pg_class;\ndeclare c cursor for select 1;\ndeclare h cursor with hold for select 1;\nselect pass('psql carried on, nothing left aborted');\n");
    const [on, stop] = (await run([join(dir, 'on.sql'), join(dir, 'stop.sql')])).files;
    const warnings = ['SET LOCAL', 'SET LOCAL', 'SET TRANSACTION', 'SET CONSTRAINTS'].map((s) => `WARNING:  ${s} can only be used in transaction blocks`);
    expect(stop!.tests.map((t) => [t.ok, t.description])).toEqual([[true, 'SET LOCAL ROLE lasted one statement'], [true, 'SET LOCAL search_path lasted one statement'], [true, 'SET TRANSACTION lasted one statement']]);
    expect(stop!.error).toMatchObject({ message: 'SAVEPOINT can only be used in transaction blocks', pg: { sqlstate: '25P01' }, location: { line: 9, column: 1 } });
    expect(stop!.messages.slice(0, 4)).toEqual(warnings);
    expect(on!.status).toBe('passed');
    expect(on!.messages).toEqual([...warnings, 'ERROR:  SAVEPOINT can only be used in transaction blocks', 'ERROR:  RELEASE SAVEPOINT can only be used in transaction blocks', 'ERROR:  ROLLBACK TO SAVEPOINT can only be used in transaction blocks', 'ERROR:  LOCK TABLE can only be used in transaction blocks', 'ERROR:  DECLARE CURSOR can only be used in transaction blocks']);
  });

  // psql ends a setting made for the transaction with the statement outside a block, or with the
  // block's COMMIT; rowguard's own transaction goes on, so the runner puts the value back there.
  const TX_LOCAL =
    "select plan(9);\n" +
    "select set_config('request.jwt.claims', '{\"sub\":\"x\"}', true);\n" +
    "select is(current_setting('request.jwt.claims', true), '', 'set_config(…, true) outside a block ended with its statement');\n" +
    "select set_config('app.k', 'session', false);\n" +
    "select from pg_catalog.set_config('app.k', 'transaction', true);\n" +
    "select is(current_setting('app.k', true), 'session', 'the session value is back');\n" +
    "select set_config('role', 'pg_read_all_data', true), set_config('search_path', 'pg_catalog', true);\n" +
    "select is(current_user::text, session_user::text, 'a role set for the statement ended with it');\n" +
    "select ok(current_setting('search_path') like '%public%', 'and the search_path');\n" +
    "begin;\n" +
    "select set_config('app.m', 'in block', true);\n" +
    "set local app.n = 'set local';\n" +
    "set app.o = 'set in block';\n" +
    "select is(current_setting('app.m', true), 'in block', 'inside a block it lasts');\n" +
    "commit;\n" +
    "select is(current_setting('app.m', true), '', 'COMMIT ended it');\n" +
    "select is(current_setting('app.n', true), '', 'and the SET LOCAL');\n" +
    "select is(current_setting('app.o', true), 'set in block', 'a session SET in the block stays');\n" +
    "begin;\nselect set_config('app.k', 'rolled back', false);\nrollback;\n" +
    "select is(current_setting('app.k', true), 'session', 'ROLLBACK undid a session set');\n" +
    "select * from finish();\n";

  it('outside a block a setting made for the transaction ends with the statement, and inside one at COMMIT, as under psql', async () => {
    const dir = tempDir('rg-tx-local-');
    writeFileSync(join(dir, 'local.sql'), TX_LOCAL);
    // The same in a file whose first statement is BEGIN (rowguard's own transaction), and in one that
    // commits a table (run alone, its commits kept for the files after it).
    writeFileSync(join(dir, 'outer.sql'), "begin;\nselect plan(2);\nselect set_config('app.m', 'in block', true);\nselect is(current_setting('app.m', true), 'in block', 'inside the first block');\ncommit;\nselect is(current_setting('app.m', true), '', 'its COMMIT ended it');\nselect * from finish();\n");
    writeFileSync(join(dir, 'kept.sql'), 'create table public.tx_local_kept (x int);\n' + TX_LOCAL);
    // The transaction's own characteristics cannot be set back once it ran a query: left as they are, not an error.
    writeFileSync(join(dir, 'readonly.sql'), "select plan(2);\nbegin;\nset local transaction_read_only = on;\nselect pass('in a read-only block');\ncommit;\nselect pass('after it');\nselect * from finish();\n");
    const files = (await run([dir])).files;
    expect(files).toHaveLength(4);
    for (const f of files) {
      expect(f.status, `${f.file}: ${f.output.join('\n')}`).toBe('passed');
      expect(f.tests.length, f.file).toBe(f.file.endsWith('outer.sql') || f.file.endsWith('readonly.sql') ? 2 : 9);
    }
    expect(files.find((f) => f.file.endsWith('kept.sql'))!.kept).toBeDefined();
  });

  it("tests.authenticate_as outside a block lasts one statement, as basejump's helpers do under pg_prove; inside a block, until its end", async () => {
    const dir = tempDir('rg-tx-local-helpers-');
    writeFileSync(
      join(dir, 'helpers.sql'),
      "begin;\nselect tests.create_user('ann@example.test');\ncommit;\nselect plan(4);\n" +
        "select tests.authenticate_as('ann@example.test');\n" +
        "select is(current_user::text, session_user::text, 'outside a block the switch ended with its statement');\n" +
        "select is(auth.uid(), null, 'and so did the claims');\n" +
        "begin;\nselect tests.authenticate_as('ann@example.test');\nselect is(current_user::text, 'authenticated', 'inside a block it lasts');\ncommit;\n" +
        "select is(current_user::text, session_user::text, 'until the block ends');\nselect * from finish();\n",
    );
    const [f] = (await run([join(dir, 'helpers.sql')])).files;
    expect(f!.tests.map((t) => [t.ok, t.description])).toEqual([
      [true, 'outside a block the switch ended with its statement'],
      [true, 'and so did the claims'],
      [true, 'inside a block it lasts'],
      [true, 'until the block ends'],
    ]);
  });

  it.skipIf(!canCompareWithRealPgtap())('settings made for the transaction: the same lines as pg_prove with the real pgTAP', async () => {
    const dir = tempDir('rg-tx-local-real-');
    writeFileSync(join(dir, 'local.sql'), TX_LOCAL);
    const db = await freshDatabase('rg_txlocal');
    try {
      await db.sql.unsafe(readFileSync(realPgtapSql()!, 'utf8')).simple();
      const p = pgProve(db.url, join(dir, 'local.sql'));
      const [ours] = (await run([join(dir, 'local.sql')])).files;
      const tap = (ls: string[]) => ls.filter((l) => /^(ok \d|not ok \d|#|1\.\.)/.test(l));
      expect(tap(ours!.output)).toEqual(tap(p.stdout.split('\n')));
      expect(p.status).toBe(0);
    } finally {
      await db.drop();
    }
  });

  it('\\o /dev/null turns query output and \\qecho away but not \\echo, which psql writes to stdout (pg_prove printed these lines)', async () => {
    const dir = tempDir('rg-o-echo-');
    writeFileSync(join(dir, 'o.sql'), "select plan(2);\n\\o /dev/null\n\\echo # echo while output is off\n\\qecho # qecho while output is off\nselect pass('hidden');\n\\o\n\\qecho # qecho again\nselect pass('shown');\n");
    const f = (await run([join(dir, 'o.sql')])).files[0]!;
    expect(f.output).toEqual(['1..2', '# echo while output is off', '# qecho again', 'ok 2 - shown']);
  });

  it("has psql's connection variables (:DBNAME, :USER, :HOST, :PORT, :SERVER_VERSION_NUM, :SERVER_VERSION_NAME), a \\set of the file's own first", async () => {
    const dir = tempDir('rg-psql-vars-');
    writeFileSync(join(dir, 'vars.sql'), "select plan(5);\nselect is(:'DBNAME', current_database()::text, 'DBNAME');\nselect is(:'USER', session_user::text, 'USER');\n" +
      "select is(:SERVER_VERSION_NUM, current_setting('server_version_num')::int, 'SERVER_VERSION_NUM');\nselect is(:'SERVER_VERSION_NAME', current_setting('server_version'), 'SERVER_VERSION_NAME');\n" +
      "\\echo # :HOST :PORT\n\\set USER someone\nselect is(:'USER'::text, 'someone', 'own set');\n");
    const f = (await run([join(dir, 'vars.sql')])).files[0]!;
    const server = new URL(serverUrl());
    expect(f.output).toEqual(['1..5', 'ok 1 - DBNAME', 'ok 2 - USER', 'ok 3 - SERVER_VERSION_NUM', 'ok 4 - SERVER_VERSION_NAME', `# ${server.hostname} ${server.port}`, 'ok 5 - own set']);
  });

  it('ROLLBACK AND CHAIN and COMMIT AND CHAIN keep the block\'s isolation level, as the server\'s chain does', async () => {
    const dir = tempDir('rg-chain-');
    writeFileSync(join(dir, 'chain.sql'), "start transaction isolation level serializable;\ncreate table public.chain_t (x int);\nrollback and chain;\nselect plan(3);\n" +
      "select is(current_setting('transaction_isolation'), 'serializable', 'after ROLLBACK AND CHAIN');\nselect hasnt_table('public', 'chain_t', 'the first block rolled back');\n" +
      "commit and chain;\nselect is(current_setting('transaction_isolation'), 'serializable', 'after COMMIT AND CHAIN');\nrollback;\n");
    const [f] = (await run([join(dir, 'chain.sql')])).files;
    expect(f!.tests.map((t) => [t.ok, t.description])).toEqual([[true, 'after ROLLBACK AND CHAIN'], [true, 'the first block rolled back'], [true, 'after COMMIT AND CHAIN']]);
    expect(f!.status).toBe('passed');
  });

  it('stands in for pgTAP where Supabase-style files expect it: CREATE EXTENSION pgtap, its schema on the search_path, qualified calls', async () => {
    const r = await run([join(RUNNER, 'pgtap-extension.test.sql')]);
    const f = r.files[0]!;
    expect(f.error).toBeUndefined();
    // Golden: what real pgTAP 1.2 prints for the same file (CREATE EXTENSION on postgresql-15-pgtap).
    expect(f.output).toEqual(readFileSync(join(RUNNER, 'pgtap-extension.pgtap.tap'), 'utf8').replace(/\n$/, '').split('\n'));
    expect(f.status).toBe('passed');

    // `extensions.` works without any CREATE EXTENSION (the Supabase CLI installs pgTAP there), a
    // missing schema fails as Postgres fails it, and error positions still point into the file as written.
    const dir = tempDir('rg-pgtap-ext-');
    writeFileSync(join(dir, 'a.test.sql'), "set search_path = '';\nselect extensions.plan(3);\nselect extensions.has_extension('extensions', 'pgtap', 'qualified, no extension created');\nselect extensions.is(1, no_such_column, 'x');\n");
    writeFileSync(join(dir, 'b.test.sql'), 'begin;\ncreate extension pgtap with schema no_such_schema;\nselect plan(1);\n');
    // basejump's helpers as an extension (its README; database.dev's name): already installed as tests.*.
    writeFileSync(join(dir, 'c.test.sql'), 'begin;\ncreate extension supabase_test_helpers;\ncreate extension if not exists "basejump-supabase_test_helpers" with schema tests;\nselect plan(2);\nselect has_function(\'tests\', \'create_supabase_user\', \'helpers there\');\nselect tests.clear_authentication();\nselect is(current_user::text, \'anon\', \'clear_authentication: anon, as basejump\'\'s\');\nrollback;\n');
    // Installed through database.dev first, as basejump's README has it: dbdev.install answers true, as dbdev does.
    writeFileSync(join(dir, 'd.test.sql'), "begin;\nselect dbdev.install('basejump-supabase_test_helpers');\ncreate extension if not exists \"basejump-supabase_test_helpers\" version '0.0.6';\nselect plan(1);\nselect has_function('tests', 'authenticate_as', 'helpers there');\nrollback;\n");
    // Any other package is not stood in for: no dbdev, no install.
    writeFileSync(join(dir, 'e.test.sql'), "begin;\nselect plan(1);\nselect dbdev.install('olirice-index_advisor');\nrollback;\n");
    const [a, b, c, d, e] = (await run(['a', 'b', 'c', 'd', 'e'].map((n) => join(dir, `${n}.test.sql`)))).files;
    expect(d!.output).toEqual(['t', '1..1', 'ok 1 - helpers there']);
    expect(d!.status).toBe('passed');
    expect(e!.error).toMatchObject({ message: 'schema "dbdev" does not exist', pg: { sqlstate: '3F000' }, location: { line: 3 } });
    expect(c!.output).toEqual(['1..2', 'ok 1 - helpers there', '', 'ok 2 - clear_authentication: anon, as basejump\'s']);
    expect(a!.output).toEqual(['1..3', 'ok 1 - qualified, no extension created']);
    expect(a!.error).toMatchObject({ pg: { sqlstate: '42703' }, location: { line: 4, column: 25 } });
    expect(b!.error).toMatchObject({ message: 'schema "no_such_schema" does not exist', pg: { sqlstate: '3F000' }, location: { line: 2 } });
  });

  it("lists pgtap in extensions_are after the file's own CREATE EXTENSION pgtap, in the schema it went to, as pgTAP's pg_extension row does", async () => {
    // On a database with no extension but plpgsql, as the golden files' came from: an empty sql/.
    const dir = tempDir('rg-pgtap-ext-lists-');
    mkdirSync(join(dir, 'sql'));
    writeFileSync(join(dir, 'rowguard.config.json'), JSON.stringify({ sql: 'sql', test: RUNNER }));
    const names = ['pgtap-extension-lists', 'pgtap-extension-here'];
    const r = await runTests({ serverUrl: serverUrl(), config: loadConfig({ cwd: dir }), cwd: dir, paths: names.map((n) => join(RUNNER, `${n}.test.sql`)), jobs: 1 });
    for (const name of names) {
      const f = r.files.find((x) => basename(x.file) === `${name}.test.sql`)!;
      expect(f.problems, name).toEqual([]);
      // Golden: real pgTAP 1.2 (CREATE EXTENSION on Debian's postgresql-15-pgtap) on the same file.
      expect(f.output, name).toEqual(readFileSync(join(RUNNER, `${name}.pgtap.tap`), 'utf8').replace(/\n$/, '').split('\n'));
    }
    // Spelled out: pgtap is listed where the file put it, and only there.
    const lists = r.files.find((x) => basename(x.file) === 'pgtap-extension-lists.test.sql')!.output;
    expect(lists.slice(1, 6)).toEqual(['ok 1 - every extension, pgtap among them', 'not ok 2 - Should have the correct extensions', '# Failed test 2: "Should have the correct extensions"', '#     Extra extensions:', '#         pgtap']);
    expect(lists).toContain('ok 3 - Schema rg_tap_home should have the correct extensions');
    expect(lists).toContain('ok 5 - not where it was not installed');
  });

  it('a committed CREATE EXTENSION pgtap WITH SCHEMA is there for the files after it, as the extension is under pg_prove; a read-only block refuses it', async () => {
    const dir = tempDir('rg-pgtap-ext-carry-');
    // A setup file installs pgTAP into a schema of its own; the files after it find it there (pg_prove
    // printed these lines with real pgTAP 1.2). Before, the record lived in a transaction-local setting:
    // has_extension looked in `extensions`, extensions_are missed pgtap and tap_home.plan() did not exist.
    writeFileSync(join(dir, '00-setup.test.sql'), 'create schema tap_home;\ncreate extension if not exists pgtap with schema tap_home;\n');
    writeFileSync(join(dir, '01-check.test.sql'), "begin;\nset local search_path = public, tap_home;\nselect plan(3);\nselect extensions_are('tap_home', array['pgtap']);\nselect has_extension('tap_home'::name, 'pgtap'::name);\nselect hasnt_extension('extensions'::name, 'pgtap'::name);\nselect * from finish();\nrollback;\n");
    writeFileSync(join(dir, '02-qualified.test.sql'), "begin;\nset local search_path = public, tap_home;\nselect tap_home.plan(1);\nselect tap_home.ok(true, 'qualified');\nselect * from tap_home.finish();\nrollback;\n");
    // psql: "cannot execute CREATE EXTENSION in a read-only transaction", IF NOT EXISTS or not.
    writeFileSync(join(dir, '03-read-only.test.sql'), 'begin read only;\ncreate extension if not exists pgtap;\nselect plan(1);\n');
    const r = await run([dir]);
    const files = Object.fromEntries(r.files.map((f) => [basename(f.file), f]));
    expect(files['01-check.test.sql']!.output).toEqual(['1..3', 'ok 1 - Schema tap_home should have the correct extensions', 'ok 2 - Extension pgtap should exist in schema tap_home', 'ok 3 - Extension pgtap should not exist in schema extensions']);
    expect(files['02-qualified.test.sql']!.output).toEqual(['1..1', 'ok 1 - qualified']);
    expect(files['03-read-only.test.sql']!.error).toMatchObject({ message: 'cannot execute CREATE EXTENSION in a read-only transaction', pg: { sqlstate: '25006' }, location: { line: 2 } });

    // The same from a --setup file (pg_prove's line after psql ran setup.sql); and a CREATE EXTENSION
    // rolled back is gone, as the extension would be.
    const other = tempDir('rg-pgtap-ext-setup-');
    writeFileSync(join(other, 'setup.sql'), 'create schema tap_home;\ncreate extension pgtap schema tap_home;\n');
    writeFileSync(join(other, 'a.test.sql'), "begin;\nset local search_path = public, tap_home;\nselect tap_home.plan(1);\nselect has_extension('tap_home'::name, 'pgtap'::name);\nrollback;\n");
    writeFileSync(join(other, 'b.test.sql'), "begin;\ncreate extension pgtap with schema public;\nrollback;\nbegin;\nselect plan(2);\nselect extensions_are('public', '{}'::name[]);\nselect has_extension('extensions'::name, 'pgtap'::name);\nrollback;\n");
    const s = Object.fromEntries((await run([join(other, 'a.test.sql')], { setup: [join(other, 'setup.sql')] })).files.map((f) => [basename(f.file), f]));
    expect(s['a.test.sql']!.output).toEqual(['1..1', 'ok 1 - Extension pgtap should exist in schema tap_home']);
    const b = (await run([join(other, 'b.test.sql')])).files[0]!;
    expect(b.output).toEqual(['1..2', 'ok 1 - Schema public should have the correct extensions', 'ok 2 - Extension pgtap should exist in schema extensions']);
  });

  it("lets a file load its own copy of basejump's helpers over the runner's (CREATE OR REPLACE with basejump's parameter names)", async () => {
    // emilet16/Bluetooth-Business-Card's 0000-test-setup.sql vendors basejump's helper file; under
    // pg_prove with real pgTAP it creates them fresh. Every helper keeps its name, arguments and types.
    const dir = tempDir('rg-vendored-helpers-');
    writeFileSync(join(dir, 'vendored.test.sql'), [
      'begin;',
      'select plan(2);',
      "create or replace function tests.authenticate_as(identifier text) returns void language plpgsql as $$ begin perform set_config('role', 'authenticated', true); perform set_config('request.jwt.claims', json_build_object('sub', tests.get_supabase_uid(identifier))::text, true); end $$;",
      "create or replace function tests.create_supabase_user(identifier text, email text default null, phone text default null, metadata jsonb default null) returns uuid security definer set search_path = auth, pg_temp language sql as $$ insert into auth.users (id, email, raw_user_meta_data) values (gen_random_uuid(), coalesce(email, identifier || '@test.com'), jsonb_build_object('test_identifier', identifier)) returning id $$;",
      "create or replace function tests.rls_enabled(testing_schema text) returns text language sql as $$ select ok(true, 'own rls_enabled') $$;",
      "create or replace function tests.clear_authentication() returns void language plpgsql as $$ begin perform set_config('role', 'anon', true); end $$;",
      "select tests.create_supabase_user('vendored') is not null as created;",
      "select tests.authenticate_as('vendored');",
      "select is(auth.uid(), tests.get_supabase_uid('vendored'), 'the vendored authenticate_as ran');",
      'reset role;',
      "select tests.rls_enabled('public');",
      'rollback;',
      '',
    ].join('\n'));
    const [f] = (await run([join(dir, 'vendored.test.sql')])).files;
    expect(f!.error).toBeUndefined();
    expect(f!.output).toEqual(['1..2', 't', '', 'ok 1 - the vendored authenticate_as ran', 'ok 2 - own rls_enabled']);
  });

  it('--setup runs a suite\'s setup file first and keeps what it commits for every file, as pg_prove does', async () => {
    // The same three files through pg_prove with real pgTAP 1.2, setup first: its block prints
    // 1..1 / ok 1 - setup works, and a and b print exactly the lines expected below.
    const dir = join(RUNNER, 'setup');
    const seenByCheck: boolean[] = [];
    const there = async (url: string) => {
      const sql = connect(url);
      try {
        const [row] = await sql`select to_regnamespace('rg_helpers') is not null as there`;
        return row!['there'] as boolean;
      } finally {
        await sql.end();
      }
    };
    const check = {
      name: 'sees the template',
      async run(ctx: { templateUrl: string; files: { url: string } }) {
        // The template (the access matrix's), and the database the files start from (the coverage pass's).
        seenByCheck.push(await there(ctx.templateUrl), await there(ctx.files.url));
        return { name: 'sees the template', ok: true, summary: '', details: [] };
      },
    };
    const r = await run([dir], { jobs: 2, setup: [join(dir, '00000-setup.sql')], extraChecks: [check] });
    // The setup file is not run again as a test (it is named like one here only by its folder).
    expect(r.files.map((f) => basename(f.file))).toEqual(['a.test.sql', 'b.test.sql']);
    const lines = (desc: string) => ['1..3', `ok 1 - ${desc}`, 'ok 2 - what its own block rolled back is gone', 'ok 3 - a file sees only its own rows'];
    expect(r.files[0]!.output).toEqual(lines('a helper the setup file committed'));
    expect(r.files[1]!.output).toEqual(lines('still there for the next file'));
    expect(r.ok).toBe(true);
    // The extra checks see the database sql/ builds (the access matrix's), and where the files start (the coverage pass's).
    expect(seenByCheck).toEqual([false, true]);

    // A setup file that fails stops the run, naming the file and the place.
    const bad = tempDir('rg-setup-bad-');
    writeFileSync(join(bad, 'setup.sql'), 'create schema rg_s;\nselect no_such_function();\n');
    writeFileSync(join(bad, 'x.test.sql'), 'select plan(1);\nselect pass();\n');
    await expect(run([join(bad, 'x.test.sql')], { setup: [join(bad, 'setup.sql')] })).rejects.toMatchObject({
      code: 'sql',
      message: 'setup file failed: function no_such_function() does not exist',
      location: { file: expect.stringMatching(/setup\.sql$/), line: 2, column: 8 },
    });
    await expect(run([join(bad, 'x.test.sql')], { setup: [join(bad, 'missing.sql')] })).rejects.toMatchObject({ code: 'usage' });
    // A folder is not "not found": it is there, and a file is wanted.
    mkdirSync(join(bad, 'setup.d'));
    await expect(run([join(bad, 'x.test.sql')], { setup: [join(bad, 'setup.d')] })).rejects.toMatchObject({
      code: 'usage',
      message: `setup file ${relative(REPO_ROOT, join(bad, 'setup.d'))} is a folder: name a file`,
    });
  });

  it('stands in for CREATE EXTENSION pgtap and follows search_path in a file with a syntax error further down', async () => {
    // One bad statement makes the whole file unparsable; the statements before it must still be read
    // for what they are. Real pgTAP 1.2 (pg_prove, pgTAP installed in extensions) on the same file:
    // 1..2, ok 1 - before the typo, ok 2 - search_path followed, then psql's syntax error at line 6.
    const dir = tempDir('rg-pgtap-typo-');
    writeFileSync(join(dir, 'typo.test.sql'), "begin;\ncreate extension if not exists pgtap with schema extensions;\nset local search_path = public, extensions;\nselect plan(2);\nselect ok(true, 'before the typo'); select ok(true, 'search_path followed');\nselec 1;\nrollback;\n");
    const [f] = (await run([join(dir, 'typo.test.sql')])).files;
    expect(f!.output).toEqual(['1..2', 'ok 1 - before the typo', 'ok 2 - search_path followed']);
    expect(f!.error).toMatchObject({ message: 'syntax error at or near "selec"', pg: { sqlstate: '42601' }, location: { line: 6, column: 1 } });
  });

  it('\\gset stores a row in variables later statements use, and needs exactly one row', async () => {
    const r = await run([join(RUNNER, 'gset.test.sql'), join(RUNNER, 'gset-error.test.sql')]);
    const [err, g] = r.files;
    expect(g!.tests.map((t) => [t.ok, t.description])).toEqual([
      [true, 'a number, as is'],
      [true, 'a literal, quoted by psql'],
      [true, 'Table widgets should exist'],
      [true, 'still set later on'],
    ]);
    expect(g!.error).toMatchObject({ message: 'no rows returned for \\gset', location: { line: 10 } });
    // A server error position after a substituted variable still points into the file as written.
    expect(err!.error).toMatchObject({ pg: { sqlstate: '42703' }, location: { line: 2, column: 13 } });
  });

  it('carries on after errors when the file turns ON_ERROR_STOP off, as psql does', async () => {
    const r = await run([join(RUNNER, 'continue.test.sql')]);
    expect(r.files[0]).toMatchObject({ status: 'passed' });
    expect(r.files[0]!.tests.map((t) => t.description)).toEqual(['after an error outside a block', 'after the aborted block']);
    expect(r.files[0]!.messages.filter((m) => m.startsWith('ERROR'))).toHaveLength(3);
  });

  it('reads \\set ON_ERROR_STOP / ON_ERROR_ROLLBACK as psql does: no value is on, a value psql refuses leaves the setting as it was', async () => {
    const dir = tempDir('rg-error-vars-');
    // psql 15: `\set ON_ERROR_STOP` alone turns it on (the file stops at the error, as pg_prove showed);
    // `\set ON_ERROR_STOP maybe` is refused, so the 0 before it stays (the file carries on).
    writeFileSync(join(dir, 'bare.sql'), "\\set ON_ERROR_STOP 0\n\\set ON_ERROR_STOP\nselect plan(2);\nselect pass(:'ON_ERROR_STOP');\nselect 1/0;\nselect pass('never: psql stopped');\n");
    writeFileSync(join(dir, 'refused.sql'), "\\set ON_ERROR_STOP 0\n\\set ON_ERROR_STOP maybe\n\\set ON_ERROR_ROLLBACK nope\nselect plan(1);\nselect 1/0;\nselect pass(:'ON_ERROR_STOP');\n");
    const [bare, refused] = (await run([join(dir, 'bare.sql'), join(dir, 'refused.sql')])).files;
    expect(bare!.output).toEqual(['1..2', 'ok 1 - on']);
    expect(bare!.error).toMatchObject({ message: 'division by zero', location: { line: 5 } });
    expect(refused!.status).toBe('passed');
    expect(refused!.output).toEqual(['1..1', 'ok 1 - 0']);
    expect(refused!.messages).toEqual(['error: unrecognized value "maybe" for "ON_ERROR_STOP": Boolean expected', 'error: unrecognized value "nope" for "ON_ERROR_ROLLBACK"\nAvailable values are: on, off, interactive.', 'ERROR:  division by zero']);
  });

  it('with ON_ERROR_ROLLBACK on, undoes a failing statement inside a block alone, as psql does', async () => {
    const r = await run([join(RUNNER, 'on-error-rollback.test.sql')]);
    const f = r.files[0]!;
    // Golden: psql with real pgTAP 1.2 on the same file.
    expect(f.output).toEqual(readFileSync(join(RUNNER, 'on-error-rollback.pgtap.tap'), 'utf8').replace(/\n$/, '').split('\n'));
    expect(f.status).toBe('passed');
    expect(f.messages.filter((m) => m.startsWith('ERROR'))).toEqual([
      'ERROR:  invalid input syntax for type integer: "one"',
      'ERROR:  division by zero',
      'ERROR:  current transaction is aborted, commands ignored until end of transaction block',
      'ERROR:  division by zero',
    ]);
  });

  it('--bail stops starting files after the first that does not pass', async () => {
    const r = await run([join(RUNNER, 'bad-plan.test.sql'), join(RUNNER, 'leak-b.test.sql')], { bail: true });
    expect(r.bailed).toBe(true);
    expect(r.files.map((f) => f.file)).toEqual(['test/testing/fixtures/runner/bad-plan.test.sql']);
    expect(r.notRun).toEqual(['test/testing/fixtures/runner/leak-b.test.sql']);
    expect(renderTap(r)).toContain('Bail out!');
  });

  it('an abort (Ctrl-C) ends running files, skips the rest and drops every database it made', async () => {
    const dir = tempDir('rg-abort-');
    const admin = connect(serverUrl());
    let poll: NodeJS.Timeout | undefined;
    try {
      for (const n of [1, 2]) writeFileSync(join(dir, `slow${n}.test.sql`), 'SELECT plan(1);\nSELECT pg_sleep(30);\nSELECT pass();\n');
      const controller = new AbortController();
      // This run's databases, by name: other test files create throwaway databases at the same time.
      let template: string | undefined;
      let seen: string[] = [];
      const t0 = performance.now();
      const r = await run([dir], {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.kind === 'template' && e.phase === 'ready') template = e.database;
          if (e.kind !== 'file-start' || e.file.endsWith('slow2.test.sql')) return;
          // Abort once the file's statement is really running on the server.
          poll = setInterval(async () => {
            if (controller.signal.aborted) return clearInterval(poll);
            const running = await admin<{ datname: string }[]>`select datname from pg_stat_activity where query = 'SELECT pg_sleep(30)'`;
            if (running.length === 0 || controller.signal.aborted) return;
            clearInterval(poll);
            seen = [template!, running[0]!.datname]; // the template and the worker's copy
            controller.abort();
          }, 100);
        },
      });
      expect(performance.now() - t0).toBeLessThan(20_000);
      expect(r).toMatchObject({ interrupted: true, ok: false });
      // The file the abort ended did not finish: it is listed as not run, not as a file that
      // errored with "lost the connection" (its database was dropped under it).
      expect(r.files).toEqual([]);
      expect(r.notRun.map((f) => basename(f))).toEqual(['slow1.test.sql', 'slow2.test.sql']);
      expect(seen).toHaveLength(2);
      expect(seen[0]).toMatch(/^rowguard_test_/);
      expect(seen[1]).toMatch(/^rowguard_t_/);
      const left = await admin`select datname from pg_database where datname = any(${seen})`;
      expect(left).toEqual([]);
    } finally {
      clearInterval(poll);
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file whose session ends while the server takes no new connection stops the run: db_unreachable (exit 3), not a failed file', async () => {
    // A server that went away, as seen from the run: the file's session is ended and connecting
    // again is refused (here its role may no longer log in; a stopped server refuses the same way).
    const role = `rg_gone_${process.pid}`;
    const admin = connect(serverUrl());
    const dir = tempDir('rg-gone-');
    mkdirSync(join(dir, 'sql'));
    mkdirSync(join(dir, 'test'));
    writeFileSync(join(dir, 'rowguard.config.json'), '{}');
    writeFileSync(join(dir, 'test', 'slow.test.sql'), 'SELECT plan(1);\nSELECT pg_sleep(30);\nSELECT pass();\n');
    await admin.unsafe(`create role ${role} superuser login password 'pw-gone'`);
    const url = new URL(serverUrl());
    url.username = role;
    url.password = 'pw-gone';
    let poll: NodeJS.Timeout | undefined;
    try {
      const err = await runTests({
        serverUrl: url.href,
        config: loadConfig({ cwd: dir }),
        cwd: dir,
        paths: [],
        jobs: 1,
        onEvent: (e) => {
          if (e.kind !== 'file-start') return;
          poll = setInterval(async () => {
            const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity where usename = ${role} and query = 'SELECT pg_sleep(30)' and state = 'active'`;
            if (!rows.length || !poll) return;
            clearInterval(poll);
            poll = undefined;
            await admin.unsafe(`alter role ${role} nologin`);
            await admin`select pg_terminate_backend(${rows[0]!.pid})`;
          }, 100);
        },
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'db_unreachable', exitCode: 3 });
      expect((err as Error).message).toBe(`lost the connection to ${describeUrl(url.href)} while running test/slow.test.sql; connecting again failed: role "${role}" is not permitted to log in`);
    } finally {
      clearInterval(poll);
      await admin.unsafe(`alter role ${role} login`);
      const left = await admin<{ datname: string }[]>`select d.datname from pg_database d join pg_roles r on r.oid = d.datdba where r.rolname = ${role}`;
      for (const { datname } of left) await admin.unsafe(`drop database "${datname}" with (force)`);
      await admin.unsafe(`drop role ${role}`);
      await admin.end();
    }
  }, 60_000);

  it('--filter keeps matching files only', async () => {
    const r = await run([RUNNER], { filter: 'leak-b' });
    expect(r.files.map((f) => f.file)).toEqual(['test/testing/fixtures/runner/leak-b.test.sql']);
    const g = await run([RUNNER], { filter: '**/bad-*.test.sql' });
    expect(g.files.map((f) => f.file)).toEqual(['test/testing/fixtures/runner/bad-plan.test.sql']);
  });
});

describe('the project\'s own security schema', () => {
  it('passes its SQL test suite (test/sql)', async () => {
    const r = await run([join(REPO_ROOT, 'test', 'sql')], { jobs: 2 });
    const failures = r.files.flatMap((f) => [
      ...f.tests.filter((t) => t.failed).map((t) => `${f.file}: ${t.description}\n${t.diagnostics.join('\n')}`),
      ...f.problems,
      ...(f.error ? [`${f.file}: ${f.error.message}`] : []),
    ]);
    expect(failures).toEqual([]);
    expect(r.counts.files).toBeGreaterThanOrEqual(4);
    expect(r.ok).toBe(true);
  });
});

describe('assertions pgTAP lacks', () => {
  it('rls_enabled, rls_forced, policy_using_is and policy_check_is pass and fail as reviewed', async () => {
    const r = await run([join(RUNNER, 'rls-extras.test.sql')]);
    const f = r.files[0]!;
    expect(f.error).toBeUndefined();
    // Reviewed output: normalised expressions compare equal across spacing and
    // case, differ when operands move, and every failure says why.
    expect(f.output).toEqual(readFileSync(join(RUNNER, 'rls-extras.expected.tap'), 'utf8').replace(/\n$/, '').split('\n'));
    expect(f.tests.filter((t) => t.ok).map((t) => t.number)).toEqual([1, 2, 5, 7]);
  });
});

describe('tests.* helpers', () => {
  it("leave the privileges of a tests schema the schema under test already has as they are (xUnit suites keep their test functions there and check them), and still install beside its functions", async () => {
    const dir = tempDir('rg-own-tests-schema-');
    mkdirSync(join(dir, 'sql'));
    writeFileSync(join(dir, 'sql', '0001_tests.sql'), "create schema tests;\ncreate function tests.test_own() returns setof text language sql as $$ select 'ok 1 - own'::text $$;\nrevoke execute on function tests.test_own() from public;\n");
    writeFileSync(join(dir, 'rowguard.config.json'), JSON.stringify({ sql: 'sql', test: '.' }));
    writeFileSync(join(dir, 'own.sql'), "begin;\nselect plan(4);\ncreate role rg_probe;\nselect schema_privs_are('tests', 'rg_probe', array[]::text[]);\nselect function_privs_are('tests', 'test_own', array[]::text[], 'rg_probe', array[]::text[]);\n" +
      "select lives_ok('select tests.clear_authentication()', 'the helpers are there beside the schema''s own functions');\n" +
      "set local role rg_probe;\nselect throws_ok('select tests.clear_authentication()', '42501', 'permission denied for schema tests', 'a role the schema does not let in does not reach them');\nreset role;\nselect * from finish();\nrollback;\n");
    const r = await runTests({ serverUrl: serverUrl(), config: loadConfig({ cwd: dir }), cwd: dir, paths: [join(dir, 'own.sql')], jobs: 1 });
    // Lines 1-2: what pg_prove prints with real pgTAP 1.2 on a database built from the same sql/.
    expect(r.files[0]!.output).toEqual(['1..4', 'ok 1 - Role rg_probe should be granted no privileges on schema tests', 'ok 2 - Role rg_probe should be granted no privileges on function tests.test_own()', "ok 3 - the helpers are there beside the schema's own functions", 'ok 4 - a role the schema does not let in does not reach them']);
  });

  it('impersonate users, anon and service_role and clear again (SQL test)', async () => {
    const r = await run([join(RUNNER, 'auth.test.sql')]);
    expect(r.files[0]!.error).toBeUndefined();
    expect(r.files[0]!.tests.filter((t) => !t.ok).map((t) => t.description)).toEqual([]);
    expect(r.files[0]!.status).toBe('passed');
  });

  it('set exactly the claims `jwt mint --user` builds (cli/core/jwt/claims.ts), role included, transaction-local', async () => {
    const tpl = await buildTemplate(serverUrl(), config);
    const sql = connect(tpl.url);
    try {
      const settings = `select set_config('rowguard.jwt_issuer', 'https://issuer.test/auth/v1', false), set_config('rowguard.jwt_exp', '900', false)`;
      await sql.unsafe(settings);
      await sql.unsafe('begin');
      await sql`select tests.create_user('Carol@Example.test', '{"plan": "pro"}')`;
      await sql`update auth.users set phone = '15550001' where email = 'Carol@Example.test'`;
      const [user] = await sql`select id::text, aud, role, email, phone, raw_app_meta_data, raw_user_meta_data, is_anonymous from auth.users where email = 'Carol@Example.test'`;
      await sql`select tests.authenticate_as('carol@example.test')`;
      const [s] = await sql`select current_setting('request.jwt.claims') as claims, current_user as who, auth.uid()::text as uid`;
      const claims = JSON.parse(s!.claims as string);
      const expected = buildAccessClaims(user as never, { issuer: 'https://issuer.test/auth/v1', expiresIn: 900, sessionId: claims.session_id }, claims.iat);
      expect(claims).toEqual(expected);
      expect(Object.keys(claims).sort()).toEqual(Object.keys(expected).sort());
      expect(claims).toMatchObject({ role: 'authenticated', aud: 'authenticated', phone: '15550001', user_metadata: { plan: 'pro' }, app_metadata: { provider: 'email', providers: ['email'] } });
      expect(claims.session_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Math.abs(claims.iat - Date.now() / 1000)).toBeLessThan(60);
      expect(s!.who).toBe('authenticated');
      expect(s!.uid).toBe(user!.id);
      await sql.unsafe('rollback');
      // Transaction-local: gone after the transaction.
      const [after] = await sql`select current_user as who, coalesce(current_setting('request.jwt.claims', true), '') as claims`;
      expect(after!.who).not.toBe('authenticated');
      expect(after!.claims).toBe('');
    } finally {
      await sql.end();
      await tpl.drop();
    }
  });

  it('include basejump\'s supabase_test_helpers (users by test identifier, rls_enabled, a frozen clock), printing what they print', async () => {
    const r = await run([join(RUNNER, 'basejump.test.sql')]);
    const f = r.files[0]!;
    expect(f.error).toBeUndefined();
    // Golden: real pgTAP 1.2 with basejump's own helpers (0.0.7) on the same file.
    expect(f.output).toEqual(readFileSync(join(RUNNER, 'basejump.pgtap.tap'), 'utf8').replace(/\n$/, '').split('\n'));
    expect(f.status).toBe('passed');
  });

  it('refuse an unknown email with a hint, and cannot be used to escalate from an API role', async () => {
    const tpl = await buildTemplate(serverUrl(), config);
    const sql = connect(tpl.url);
    try {
      await sql.unsafe('begin');
      await expect(sql`select tests.authenticate_as('nobody@example.test')`).rejects.toMatchObject({ message: 'tests.authenticate_as: no user with email nobody@example.test' });
      await sql.unsafe('rollback');
      await sql.unsafe('begin');
      await sql`select tests.authenticate_as_anon()`;
      // The generic insert helper behind create_user is not callable by API roles.
      await expect(sql`select tests._insert_known_columns('auth.users', '{}')`).rejects.toMatchObject({ code: '42501' });
      await sql.unsafe('rollback');
    } finally {
      await sql.end();
      await tpl.drop();
    }
  });
});

describe('reports', () => {
  it('writes JUnit XML that parses, with failures, errors and skips counted', async () => {
    const r = await run([join(RUNNER, 'bad-plan.test.sql'), join(RUNNER, 'errors.test.sql'), join(COMPAT, 'assertions.test.sql')], { jobs: 3 });
    const xml = renderJunit(r);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    const suites = doc.testsuites.testsuite as Array<Record<string, string>>;
    expect(suites.map((s) => s['name'])).toEqual(r.files.map((f) => f.file));
    const assertions = suites.find((s) => s['name']!.endsWith('assertions.test.sql'))!;
    expect(Number(assertions['failures'])).toBe(25);
    expect(Number(assertions['skipped'])).toBe(4); // three SKIPs and one failing TODO
    const errored = suites.find((s) => s['name']!.endsWith('errors.test.sql'))!;
    expect(errored['errors']).toBe('1');
    expect(Number(doc.testsuites.tests)).toBe(suites.reduce((n, s) => n + Number(s['tests']), 0));
  });

  it('the CLI exits 1 on failure and 0 on success, TAP on a pipe', async () => {
    const fail = await runCli(['--db', serverUrl(), 'test', join(RUNNER, 'bad-plan.test.sql')], { cwd: project });
    expect(fail.code).toBe(1);
    expect(fail.stdout).toContain('# Bad plan. You planned 3 tests but ran 2.');
    expect(fail.stdout).toMatch(/^not ok 1 - .*bad-plan\.test\.sql$/m);
    const pass = await runCli(['--db', serverUrl(), 'test', join(RUNNER, 'leak-b.test.sql'), '--format', 'json'], { cwd: project });
    expect(pass.code).toBe(0);
    const doc = JSON.parse(pass.stdout);
    expect(doc).toMatchObject({ ok: true, counts: { files: 1, passed: 5 } });
    const none = await runCli(['--db', serverUrl(), 'test', '--filter', 'zzz-nothing'], { cwd: project });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no test file matches --filter zzz-nothing');
    const setup = await runCli(['--db', serverUrl(), 'test', '--setup', join(RUNNER, 'setup', '00000-setup.sql'), join(RUNNER, 'setup')], { cwd: project });
    expect(setup.code).toBe(0);
    expect(setup.stdout).toMatch(/^ok 2 - .*setup\/b\.test\.sql$/m);
    // The config's testSetup does the same when --setup is not given, and --coverage runs the files after it too.
    const configured = mkdtempSync(join(tmpdir(), 'rg-test-setup-'));
    writeFileSync(join(configured, 'rowguard.config.json'), JSON.stringify({ sql: join(REPO_ROOT, 'sql'), test: join(RUNNER, 'setup'), testSetup: [join(RUNNER, 'setup', '00000-setup.sql')] }));
    const fromConfig = await runCli(['--db', serverUrl(), 'test', '--coverage', '--json'], { cwd: configured });
    expect(fromConfig.code, fromConfig.stderr).toBe(0);
    const report = JSON.parse(fromConfig.stdout) as { counts: { files: number }; extraChecks: Array<{ name: string; ok: boolean }> };
    expect(report.counts.files).toBe(2);
    expect(report.extraChecks.map((c) => [c.name, c.ok])).toContainEqual(['coverage', true]);
    writeFileSync(join(configured, 'rowguard.config.json'), JSON.stringify({ sql: join(REPO_ROOT, 'sql'), test: join(RUNNER, 'setup'), testSetup: 'setup.sql' }));
    const badKey = await runCli(['--db', serverUrl(), 'test'], { cwd: configured });
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('testSetup: must be a list of file paths');
    rmSync(configured, { recursive: true, force: true });
  });

  it('a folder of Supabase-style .sql files (supabase test db names them so) runs them when named, and is answered with what to do as the test folder', async () => {
    const dir = tempDir('rg-supabase-names-');
    mkdirSync(join(dir, 'database'));
    mkdirSync(join(dir, 'database', 'fixtures'));
    writeFileSync(join(dir, 'database', '01-schema.sql'), "select plan(1);\nselect pass('schema');\n");
    writeFileSync(join(dir, 'database', '02-rls.sql'), "select plan(1);\nselect pass('rls');\n");
    writeFileSync(join(dir, 'database', '03-older.pg'), "select plan(1);\nselect pass('pg_prove --ext .pg');\n");
    writeFileSync(join(dir, 'database', 'fixtures', 'seed.sql'), 'select 1/0;\n');
    const named = await run([dir]);
    expect(named.files.map((f) => [basename(f.file), f.status])).toEqual([['01-schema.sql', 'passed'], ['02-rls.sql', 'passed'], ['03-older.pg', 'passed']]);
    rmSync(join(dir, 'database', '03-older.pg'));
    // A folder with *.test.sql files contributes only those.
    writeFileSync(join(dir, 'database', '03.test.sql'), "select plan(1);\nselect pass('named so');\n");
    expect((await run([dir])).files.map((f) => basename(f.file))).toEqual(['03.test.sql']);
    rmSync(join(dir, 'database', '03.test.sql'));
    const asTestFolder = { ...config, dirs: { ...config.dirs, test: dir } };
    await expect(runTests({ serverUrl: serverUrl(), config: asTestFolder, cwd: REPO_ROOT, paths: [], jobs: 1 })).rejects.toMatchObject({
      message: 'no test files found',
      hint: expect.stringMatching(/has 2 other \.sql files \(.*database\/01-schema\.sql, …\): name them \*\.test\.sql, or pass the folder as a path \(a folder named with no \*\.test\.sql in it runs its \.sql files/),
    });
  });

  it('supabase/tests contributes every .sql file, as supabase test db runs them: a kit\'s 00000-helpers.sql beside its *.test.sql files runs first, its commits there for them', async () => {
    // makerkit's layout: supabase/tests/database/00000-makerkit-helpers.sql (helpers created outside
    // BEGIN … ROLLBACK) next to *.test.sql files that call them; pg_prove runs every .sql file there.
    const dir = tempDir('rg-supabase-kit-');
    const tests = join(dir, 'supabase', 'tests');
    mkdirSync(join(tests, 'database'), { recursive: true });
    const helpers = "create schema kit_helpers;\ncreate function kit_helpers.answer() returns int language sql as 'select 42';\nbegin;\nselect plan(1);\nselect pass('helpers');\nselect * from finish();\nrollback;\n";
    const uses = "begin;\nselect plan(1);\nselect is(kit_helpers.answer(), 42, 'the helper is there');\nselect * from finish();\nrollback;\n";
    writeFileSync(join(tests, 'database', '00000-helpers.sql'), helpers);
    writeFileSync(join(tests, 'database', 'answer.test.sql'), uses);
    const seen = (r: RunResult) => r.files.map((f) => [basename(f.file), f.status]);
    const both = [['00000-helpers.sql', 'passed'], ['answer.test.sql', 'passed']];
    expect(seen(await run([tests]))).toEqual(both);
    expect(seen(await run([join(tests, 'database')]))).toEqual(both);
    // As the configured test folder too (rowguard test with no paths).
    expect(seen(await runTests({ serverUrl: serverUrl(), config: { ...config, dirs: { ...config.dirs, test: tests } }, cwd: REPO_ROOT, paths: [], jobs: 1 }))).toEqual(both);
    // Any other folder with *.test.sql files contributes only those (its other .sql files may be \i-included helpers),
    // also in a project that itself lives below some supabase/tests folder: the rule reads the path below the project root.
    const project = join(tests, 'project');
    mkdirSync(join(project, 'db'), { recursive: true });
    writeFileSync(join(project, 'db', '00000-helpers.sql'), helpers);
    writeFileSync(join(project, 'db', 'answer.test.sql'), uses);
    const inProject = { ...config, root: project, dirs: { ...config.dirs, test: join(project, 'db') } };
    const elsewhere = await runTests({ serverUrl: serverUrl(), config: inProject, cwd: project, paths: ['db'], jobs: 1 });
    expect(elsewhere.files.map((f) => [f.file, f.status])).toEqual([['db/answer.test.sql', 'errored']]);
    expect(elsewhere.files[0]!.error?.message).toContain('schema "kit_helpers" does not exist');
  });
});
