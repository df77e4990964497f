/**
 * Statements joined with `\;` are one query to psql (one transaction outside a block, one
 * savepoint with ON_ERROR_ROLLBACK, the rest skipped after an error), and psql's `\gexec` through `rowguard test`: the query's rows are not printed, each value (row by
 * row, column by column, NULLs skipped) runs as a statement of its own through the file's statement
 * path — TAP lines counted, errors under ON_ERROR_STOP or not, blocks, settings made for the
 * transaction — compared with pg_prove and the real pgTAP 1.2 where they are installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canCompareWithRealPgtap, pgProve, realPgtapSql } from '../helpers/real-pgtap.js';
import { REPO_ROOT, freshDatabase, serverUrl } from '../helpers/pg.js';
import { loadConfig, type Config } from '../../cli/core/config.js';
import { runTests, type RunResult } from '../../cli/core/testing/runner.js';
import { firstCommitted } from '../../cli/core/testing/run-file.js';
import { LIBRARY_SCHEMA } from '../../cli/core/testing/library.js';

let dir: string;
let config: Config;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rg-gexec-'));
  config = loadConfig({ cwd: REPO_ROOT });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let folders = 0;
function suite(files: Record<string, string>): string[] {
  const d = join(dir, `s${++folders}`);
  mkdirSync(d, { recursive: true });
  return Object.entries(files).map(([name, text]) => {
    writeFileSync(join(d, name), text);
    return join(d, name);
  });
}
const run = (paths: string[]): Promise<RunResult> => runTests({ serverUrl: serverUrl(), config, cwd: REPO_ROOT, paths, jobs: 1 });
const tap = (lines: string[]) => lines.filter((l) => /^(ok \d|not ok \d|#|1\.\.)/.test(l));

// Each file with the lines psql 15 + pgTAP 1.2 print for it under pg_prove (run by hand, and below when installed).
const FILES: Record<string, { text: string; output: string[]; passed: boolean }> = {
  'per-row.sql': {
    text:
      'select plan(9);\n' +
      "select format('select pass(%L)', 'gen ' || i) from generate_series(1, 3) i \\gexec\n" +
      "select 'create table public.gx_' || i || ' (id int)' from generate_series(1, 2) i \\gexec\n" +
      "select has_table('public', 'gx_1', 'gx_1 made');\nselect has_table('public', 'gx_2', 'gx_2 made');\n" +
      // Several columns, left to right, a NULL skipped; two statements in one value.
      "select 'select pass(''a'')', null, 'select pass(''c'')' \\gexec\n" +
      "select 'select pass(''m1''); select pass(''m2'')' \\gexec\n" +
      'select * from finish();\n',
    output: ['1..9', 'ok 1 - gen 1', 'ok 2 - gen 2', 'ok 3 - gen 3', 'ok 4 - gx_1 made', 'ok 5 - gx_2 made', 'ok 6 - a', 'ok 7 - c', 'ok 8 - m1', 'ok 9 - m2'],
    passed: true,
  },
  'errors-go-on.sql': {
    text:
      '\\set ON_ERROR_STOP 0\nselect plan(4);\n' +
      "select x from (values ('select pass(''one'')'), ('select 1/0'), ('select pass(''two'')')) v(x) \\gexec\n" +
      // In a block the error aborts it: the next generated statement fails too, until the ROLLBACK.
      "begin;\nselect 'select pass(''in block'')', 'select nope()', 'select pass(''after error in block'')' \\gexec\nrollback;\n" +
      "select pass('end');\nselect * from finish();\n",
    output: ['1..4', 'ok 1 - one', 'ok 2 - two', 'ok 3 - in block', 'ok 4 - end'],
    passed: true,
  },
  'error-stops.sql': {
    text: "select plan(3);\nselect x from (values ('select pass(''one'')'), ('select 1/0'), ('select pass(''two'')')) v(x) \\gexec\nselect pass('three');\n",
    output: ['1..3', 'ok 1 - one'],
    passed: false,
  },
  'settings.sql': {
    text:
      'select plan(4);\n' +
      "select 'select set_config(''app.x'', ''v'', true)' \\gexec\n" +
      "select is(current_setting('app.x', true), '', 'ended with its statement');\n" +
      "begin;\nselect 'select set_config(''app.y'', ''w'', true)' \\gexec\n" +
      "select is(current_setting('app.y', true), 'w', 'lasts in the block');\ncommit;\n" +
      "select is(current_setting('app.y', true), '', 'ended with the COMMIT');\n" +
      // With \; psql 15 prints the first query's rows and runs what the last one returns.
      "select 'select 1 as a' \\; select 'select pass(''after the group'')' \\gexec\n" +
      'select * from finish();\n',
    output: ['1..4', 'v', 'ok 1 - ended with its statement', 'w', 'ok 2 - lasts in the block', 'ok 3 - ended with the COMMIT', 'select 1 as a', 'ok 4 - after the group'],
    passed: true,
  },
  'block.sql': {
    text:
      "select plan(3);\nbegin;\nselect format('create table public.%I (id int)', t) from unnest(array['gb_1', 'gb_2']) t \\gexec\n" +
      "select format('select has_table(%L, %L, %L)', 'public', t, t || ' in the block') from unnest(array['gb_1', 'gb_2']) t \\gexec\n" +
      // A generated ROLLBACK ends the file's block as a written one does.
      "select 'rollback' \\gexec\nselect hasnt_table('public', 'gb_1', 'rolled back by the generated ROLLBACK');\n",
    output: ['1..3', 'ok 1 - gb_1 in the block', 'ok 2 - gb_2 in the block', 'ok 3 - rolled back by the generated ROLLBACK'],
    passed: true,
  },
};

describe('\\gexec', () => {
  it('runs each value of each row as a statement of its own, as psql does', async () => {
    const paths = suite(Object.fromEntries(Object.entries(FILES).map(([n, f]) => [n, f.text])));
    const r = await run(paths);
    for (const f of r.files) {
      const name = f.file.split('/').pop()!;
      expect(f.output, name).toEqual(FILES[name]!.output);
      expect(f.status === 'passed', name).toBe(FILES[name]!.passed);
    }
    const stops = r.files.find((f) => f.file.endsWith('error-stops.sql'))!;
    // The error is placed at the \gexec's query and names the statement it ran.
    expect(stops.error).toMatchObject({ message: 'division by zero', location: { line: 2, column: 1 }, hint: 'in the statement \\gexec ran there: select 1/0' });
    expect(stops.messages).toContain('ERROR:  division by zero');
    const goesOn = r.files.find((f) => f.file.endsWith('errors-go-on.sql'))!;
    expect(goesOn.messages.filter((m) => m.startsWith('ERROR:'))).toEqual(['ERROR:  division by zero', 'ERROR:  function nope() does not exist', 'ERROR:  current transaction is aborted, commands ignored until end of transaction block']);
  });

  it.skipIf(!canCompareWithRealPgtap())('prints the same lines and verdict as pg_prove with the real pgTAP 1.2', async () => {
    const paths = suite(Object.fromEntries(Object.entries(FILES).map(([n, f]) => [n, f.text])));
    const db = await freshDatabase('rg_gexec');
    try {
      await db.sql.unsafe(readFileSync(realPgtapSql()!, 'utf8')).simple();
      const ours = await run(paths);
      for (const f of ours.files) {
        const p = pgProve(db.url, paths.find((x) => x.endsWith(f.file.split('/').pop()!))!);
        expect(tap(f.output), f.file).toEqual(tap(p.stdout.split('\n')));
        expect(p.status !== 0, f.file).toBe(f.status !== 'passed');
      }
    } finally {
      await db.drop();
    }
  });

  it('a file whose \\gexec runs outside its blocks may commit what it generates: the files after it see it, as under pg_prove', async () => {
    const [a, b, c] = suite({
      'a.sql': "select plan(1);\nselect 'create table public.gexec_kept (id int)' \\gexec\nselect has_table('public', 'gexec_kept', 'made');\n",
      'b.sql': "select plan(1);\nselect has_table('public', 'gexec_kept', 'made by the file before');\n",
      'c.sql': "begin;\nselect plan(1);\nselect 'create table public.gexec_gone (id int)' \\gexec\nselect pass('x');\nrollback;\n",
    });
    const LIBRARY = new Set(['plan', 'has_table', 'pass']);
    const where = async (path: string) => firstCommitted({ file: { path, display: 'f.sql' }, cwd: REPO_ROOT, displayRoot: REPO_ROOT, librarySchema: LIBRARY_SCHEMA }, LIBRARY);
    expect(await where(a!)).toMatchObject({ line: 2, column: 1 });
    expect(await where(c!)).toBeNull();
    const r = await run([a!, b!, c!]);
    expect(r.files.map((f) => [f.status, f.tests.map((t) => t.ok)])).toEqual([
      ['passed', [true]],
      ['passed', [true]],
      ['passed', [true]],
    ]);
    expect(r.files[0]!.kept).toMatchObject({ line: 2 });
  });

  it('\\g, \\gset and \\gexec after a query that already ended with ; send that query again, as psql does', async () => {
    const text =
      "select plan(4);\nselect pass('x');\n\\g\nselect 'select pass(''y'')' as q;\n\\gexec\n" +
      // A variable the query reads, and a \\; group, go with it.
      "\\set n 7\nselect 0 as w \\; select :n as v;\n\\gset\nselect is(:v, 7, 'gset again');\n";
    const [p, none] = suite({ 'again.sql': text, 'none.sql': '\\gset\nselect 1;\n' });
    const r = await run([p!, none!]);
    expect(r.files[0]!.output).toEqual(['1..4', 'ok 1 - x', 'ok 2 - x', "select pass('y')", 'ok 3 - y', '0', '7', '0', 'ok 4 - gset again']);
    expect(r.files[0]!.status).toBe('passed');
    expect(r.files[1]!.error).toMatchObject({ message: '\\gset with no query before it', location: { line: 1, column: 1 } });
    if (canCompareWithRealPgtap()) {
      const db = await freshDatabase('rg_again');
      try {
        await db.sql.unsafe(readFileSync(realPgtapSql()!, 'utf8')).simple();
        const pr = pgProve(db.url, p!);
        expect(tap(r.files[0]!.output)).toEqual(tap(pr.stdout.split('\n')));
        expect(pr.status).toBe(0);
      } finally {
        await db.drop();
      }
    }
  });
});

const GROUPS =
  '\\set ON_ERROR_STOP 0\n' +
  'select plan(11);\n' +
  'create table public.grp_t (x int);\n' +
  'insert into public.grp_t values (1) \\; select 1/0 \\; insert into public.grp_t values (2);\n' +
  "select is((select count(*)::int from public.grp_t), 0, 'an error undoes the whole group and skips the rest');\n" +
  "set local work_mem = '7MB' \\; select is(current_setting('work_mem'), '7MB', 'SET LOCAL lasts the group');\n" +
  "select isnt(current_setting('work_mem'), '7MB', 'and ends with it');\n" +
  "select set_config('app.g', 'v', true) \\; select is(current_setting('app.g', true), 'v', 'set_config(…, true) lasts the group');\n" +
  "select is(current_setting('app.g', true), '', 'and ends with it');\n" +
  "lock table public.grp_t \\; select pass('LOCK in a group runs');\n" +
  'begin;\n' +
  "insert into public.grp_t values (3) \\; select 1/0 \\; select pass('never');\n" +
  'rollback;\n' +
  '\\set ON_ERROR_ROLLBACK on\n' +
  'begin;\n' +
  'insert into public.grp_t values (4) \\; select 1/0;\n' +
  "select is((select count(*)::int from public.grp_t), 0, 'ON_ERROR_ROLLBACK undoes the whole group');\n" +
  'commit;\n' +
  "select 'select set_config(''app.q'', ''z'', true); select is(current_setting(''app.q'', true), ''z'', ''a generated value is one query'')' \\gexec\n" +
  "select is(current_setting('app.q', true), '', 'which ends its settings');\n" +
  "select pass('a') \\; select pass('b');\n";

describe('statements joined with \\;', () => {
  it('run as one query: one transaction outside a block, one savepoint with ON_ERROR_ROLLBACK, the rest skipped after an error', async () => {
    const [p] = suite({ 'groups.sql': GROUPS });
    const [f] = (await run([p!])).files;
    expect(tap(f!.output)).toEqual([
      '1..11',
      'ok 1 - an error undoes the whole group and skips the rest',
      'ok 2 - SET LOCAL lasts the group',
      'ok 3 - and ends with it',
      'ok 4 - set_config(…, true) lasts the group',
      'ok 5 - and ends with it',
      'ok 6 - LOCK in a group runs',
      'ok 7 - ON_ERROR_ROLLBACK undoes the whole group',
      'ok 8 - a generated value is one query',
      'ok 9 - which ends its settings',
      'ok 10 - a',
      'ok 11 - b',
    ]);
    expect(f!.status).toBe('passed');
    // psql's stderr: one error a group, none for the statements skipped after it, no SET LOCAL warning.
    expect(f!.messages.filter((m) => /^(ERROR|WARNING)/.test(m))).toEqual(['ERROR:  division by zero', 'ERROR:  division by zero', 'ERROR:  division by zero']);
  });

  it('the same where the file does not parse before it runs (a variable a \\gset sets: the statements are split at psql\'s ends)', async () => {
    const [p] = suite({ 'groups-gset.sql': 'select 11 as n \\gset\n' + GROUPS.replace('select plan(11);', 'select plan(:n);') });
    const [f] = (await run([p!])).files;
    const [g] = (await run(suite({ 'groups.sql': GROUPS }))).files;
    expect(f!.output).toEqual(g!.output);
    expect(f!.messages.filter((m) => /^(ERROR|WARNING)/.test(m))).toEqual(['ERROR:  division by zero', 'ERROR:  division by zero', 'ERROR:  division by zero']);
    expect(f!.status).toBe('passed');
  });

  it.skipIf(!canCompareWithRealPgtap())('print the same lines and verdict as pg_prove with the real pgTAP 1.2', async () => {
    const [p] = suite({ 'groups.sql': GROUPS });
    const db = await freshDatabase('rg_groups');
    try {
      await db.sql.unsafe(readFileSync(realPgtapSql()!, 'utf8')).simple();
      const pr = pgProve(db.url, p!);
      const [f] = (await run([p!])).files;
      expect(tap(f!.output)).toEqual(tap(pr.stdout.split('\n')));
      expect(pr.status).toBe(0);
    } finally {
      await db.drop();
    }
  });

  it('a group an error stops takes back what ran before the error in it, in a file whose commits are kept', async () => {
    const [a, b] = suite({
      'a.sql': 'create table public.grp_kept (x int);\ninsert into public.grp_kept values (1) \\; select 1/0;\n',
      'b.sql': "select plan(2);\nselect has_table('public', 'grp_kept', 'committed before the group');\nselect is((select count(*)::int from public.grp_kept), 0, 'the insert went with the group');\n",
    });
    const r = await run([a!, b!]);
    expect(r.files[0]!.error).toMatchObject({ message: 'division by zero', location: { line: 2 } });
    expect(r.files[0]!.kept).toBeDefined();
    expect(r.files[1]!.tests.map((t) => [t.ok, t.description])).toEqual([
      [true, 'committed before the group'],
      [true, 'the insert went with the group'],
    ]);
  });
});

// `\;` groups holding transaction control, with what psql 15 + pgTAP 1.2 print for them under pg_prove
// (run by hand, and below when installed): the server's implicit transaction block for a query of
// several statements — COMMIT and ROLLBACK end it with a warning, BEGIN takes the statements before it
// into the block it opens, savepoints are refused there, an error ends the query.
const TX_GROUPS: Record<string, { text: string; output: string[]; messages: string[] }> = {
  'implicit.sql': {
    text:
      '\\set ON_ERROR_STOP 0\nselect plan(11);\ncreate table public.txg (x int);\n' +
      'insert into public.txg values (1) \\; rollback;\n' +
      "select is((select array_agg(x) from public.txg), null, 'a ROLLBACK in the group takes back the statement before it');\n" +
      'insert into public.txg values (2) \\; commit \\; insert into public.txg values (3) \\; select 1/0;\n' +
      "select is((select array_agg(x) from public.txg), '{2}', 'a COMMIT keeps what is before it, an error takes back what follows');\n" +
      'insert into public.txg values (4) \\; begin \\; insert into public.txg values (5) \\; rollback;\n' +
      "select is((select array_agg(x) from public.txg), '{2}', 'BEGIN takes the statements before it into its block');\n" +
      "begin \\; insert into public.txg values (6) \\; select 1/0 \\; select pass('never');\n" +
      "select pass('the block is aborted');\nrollback;\n" +
      "select is((select array_agg(x) from public.txg), '{2}', 'an error in the block leaves it aborted');\n" +
      "select pass('before') \\; savepoint a \\; select pass('never');\n" +
      'begin;\nsavepoint a \\; insert into public.txg values (7) \\; rollback to a \\; release a;\n' +
      "select is((select array_agg(x) from public.txg), '{2}', 'savepoints in a block');\n" +
      'commit \\; insert into public.txg values (8) \\; select 1/0;\n' +
      "select is((select array_agg(x) from public.txg), '{2}', 'after the COMMIT that ends the block, an implicit transaction');\n" +
      "set local work_mem = '6MB' \\; begin \\; select is(current_setting('work_mem'), '6MB', 'SET LOCAL before BEGIN lasts in the block') \\; commit;\n" +
      "select isnt(current_setting('work_mem'), '6MB', 'and ends at its COMMIT');\n" +
      "select pass('chained') \\; commit and chain \\; select pass('never');\n" +
      "rollback and chain;\nselect pass('end');\n",
    output: [
      '1..11',
      'ok 1 - a ROLLBACK in the group takes back the statement before it',
      'ok 2 - a COMMIT keeps what is before it, an error takes back what follows',
      'ok 3 - BEGIN takes the statements before it into its block',
      'ok 4 - an error in the block leaves it aborted',
      'ok 5 - before',
      'ok 6 - savepoints in a block',
      'ok 7 - after the COMMIT that ends the block, an implicit transaction',
      'ok 8 - SET LOCAL before BEGIN lasts in the block',
      'ok 9 - and ends at its COMMIT',
      'ok 10 - chained',
      'ok 11 - end',
    ],
    messages: [
      'WARNING:  there is no transaction in progress',
      'WARNING:  there is no transaction in progress',
      'ERROR:  division by zero',
      'ERROR:  division by zero',
      'ERROR:  current transaction is aborted, commands ignored until end of transaction block',
      'ERROR:  SAVEPOINT can only be used in transaction blocks',
      'ERROR:  division by zero',
      'ERROR:  COMMIT AND CHAIN can only be used in transaction blocks',
      'ERROR:  ROLLBACK AND CHAIN can only be used in transaction blocks',
    ],
  },
  'rollback-autocommit.sql': {
    text:
      '\\set ON_ERROR_STOP 0\n\\set ON_ERROR_ROLLBACK on\nselect plan(7);\ncreate table public.txh (x int);\n' +
      'begin;\ninsert into public.txh values (1) \\; savepoint s \\; insert into public.txh values (2) \\; select 1/0;\n' +
      "select is((select array_agg(x) from public.txh), null, 'ON_ERROR_ROLLBACK: the group goes back to psql''s savepoint');\n" +
      'insert into public.txh values (3) \\; commit \\; insert into public.txh values (4) \\; select 1/0;\n' +
      "select is((select array_agg(x) from public.txh), '{3}', 'once the group commits the block, the error takes back the implicit part');\n" +
      'begin;\ninsert into public.txh values (5) \\; rollback \\; insert into public.txh values (6);\n' +
      "select is((select array_agg(x) from public.txh), '{3,6}', 'a ROLLBACK in the group, what follows kept');\n" +
      // psql reads the whole group before it sends it: \echo prints first, and the \set before it holds.
      "select pass('echoed after') \\; \\echo echoed first\n" +
      '\\set AUTOCOMMIT off\n' +
      'insert into public.txh values (7) \\; commit \\; insert into public.txh values (8);\nrollback;\n' +
      "select is((select array_agg(x) from public.txh), '{3,6,7,8}', 'AUTOCOMMIT off: BEGIN before the group, an implicit transaction after its COMMIT');\ncommit;\n" +
      'insert into public.txh values (9) \\; select 1;\nrollback;\n' +
      "select is((select array_agg(x) from public.txh), '{3,6,7,8}', 'AUTOCOMMIT off: BEGIN before a group without transaction control');\ncommit;\n" +
      'begin \\; insert into public.txh values (10) \\; commit;\nrollback;\n' +
      "select is((select array_agg(x) from public.txh), '{3,6,7,8,10}', 'no BEGIN before a group that starts with one');\ncommit;\n",
    output: [
      '1..7',
      "ok 1 - ON_ERROR_ROLLBACK: the group goes back to psql's savepoint",
      'ok 2 - once the group commits the block, the error takes back the implicit part',
      'ok 3 - a ROLLBACK in the group, what follows kept',
      'echoed first',
      'ok 4 - echoed after',
      'ok 5 - AUTOCOMMIT off: BEGIN before the group, an implicit transaction after its COMMIT',
      '1',
      'ok 6 - AUTOCOMMIT off: BEGIN before a group without transaction control',
      'ok 7 - no BEGIN before a group that starts with one',
    ],
    messages: [
      'ERROR:  division by zero',
      'ERROR:  division by zero',
      'WARNING:  there is no transaction in progress',
      'WARNING:  there is no transaction in progress',
    ],
  },
};

describe('\\; groups holding transaction control', () => {
  it('run as the server runs one query of several statements: its implicit transaction, BEGIN taking it in, an error ending the group', async () => {
    const r = await run(suite(Object.fromEntries(Object.entries(TX_GROUPS).map(([n, f]) => [n, f.text]))));
    for (const f of r.files) {
      const want = TX_GROUPS[f.file.split('/').pop()!]!;
      expect(f.output, f.file).toEqual(want.output);
      expect(f.messages.filter((m) => /^(ERROR|WARNING)/.test(m)), f.file).toEqual(want.messages);
    }
  });

  it.skipIf(!canCompareWithRealPgtap())('print the same lines as pg_prove with the real pgTAP 1.2', async () => {
    const paths = suite(Object.fromEntries(Object.entries(TX_GROUPS).map(([n, f]) => [n, f.text])));
    const db = await freshDatabase('rg_txgroups');
    try {
      await db.sql.unsafe(readFileSync(realPgtapSql()!, 'utf8')).simple();
      const ours = await run(paths);
      for (const f of ours.files) {
        const p = pgProve(db.url, paths.find((x) => x.endsWith(f.file.split('/').pop()!))!);
        // pg_prove's own lines aside (the file's name, its verdict, the summary): psql's output as it came.
        expect(f.output, f.file).toEqual(p.stdout.split('\n').filter((l) => l !== '' && !/^\S+\.sql \.\.|^All |^ok$|^Files=|^Result:/.test(l)));
        expect(p.status, f.file).toBe(0);
        expect(f.status, f.file).toBe('passed');
      }
    } finally {
      await db.drop();
    }
  });

  it('what a file whose commits are kept leaves: a ROLLBACK in a group takes back what is before it, a BEGIN left open what follows', async () => {
    const [a, b] = suite({
      'a.sql':
        'create table public.txk (x int);\n' +
        'insert into public.txk values (1) \\; commit \\; insert into public.txk values (2) \\; rollback \\; insert into public.txk values (3);\n' +
        'insert into public.txk values (4) \\; begin \\; insert into public.txk values (5);\n',
      'b.sql': "select plan(1);\nselect is((select array_agg(x order by x) from public.txk), '{1,3}', 'what the file before left');\n",
    });
    const r = await run([a!, b!]);
    expect(r.files[0]!.kept).toBeDefined();
    expect(r.files[0]!.messages.filter((m) => /^(ERROR|WARNING)/.test(m))).toEqual(['WARNING:  there is no transaction in progress', 'WARNING:  there is no transaction in progress']);
    expect(r.files[1]!.tests.map((t) => [t.ok, t.description])).toEqual([[true, 'what the file before left']]);
  });
});
