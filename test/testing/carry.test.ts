/**
 * pg_prove runs a suite's files one after another in one database, so what a
 * file commits (statements outside its own BEGIN … ROLLBACK) is there for the
 * files after it: Supabase suites create their helpers and users in a
 * `00-setup.sql` that way. rowguard keeps that, and still runs the files that
 * cannot commit side by side, each rolled back. Checked here: which files may
 * commit (read from the text), what the files after one see, the order, the
 * same verdicts one or several at a time, roles never committed, and — where
 * psql is installed — the same database state as psql leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT, serverUrl } from '../helpers/pg.js';
import { loadConfig, type Config } from '../../cli/core/config.js';
import { buildTemplate, runTests, sessionSettings, type RunResult } from '../../cli/core/testing/runner.js';
import { firstCommitted, runTestFile } from '../../cli/core/testing/run-file.js';
import { LIBRARY_SCHEMA } from '../../cli/core/testing/library.js';
import { connect, createThrowawayDatabase } from '../../cli/core/db.js';
import { isRowguardError } from '../../cli/core/errors.js';
import { extraChecksFor } from '../../cli/core/testing/extra-checks.js';
import type { CoverageReport } from '../../cli/core/matrix/coverage.js';

let dir: string;
let config: Config;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rg-carry-'));
  config = loadConfig({ cwd: REPO_ROOT });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the files into a new folder of `dir`; returns their paths in the order given. */
let folders = 0;
function suite(files: Record<string, string>): string[] {
  const d = join(dir, `s${++folders}`);
  return Object.entries(files).map(([name, text]) => {
    const path = join(d, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(path, text);
    return path;
  });
}

const run = (paths: string[], extra: Partial<Parameters<typeof runTests>[0]> = {}): Promise<RunResult> =>
  runTests({ serverUrl: serverUrl(), config, cwd: REPO_ROOT, paths, jobs: 2, ...extra });

const byName = (r: RunResult) => Object.fromEntries(r.files.map((f) => [f.file.split('/').pop()!, f]));
const failures = (r: RunResult) => r.files.flatMap((f) => [...f.tests.filter((t) => t.failed).map((t) => `${f.file}: ${t.description}`), ...(f.error ? [`${f.file}: ${f.error.message}`] : [])]);

describe('which files may commit', () => {
  const LIBRARY = new Set(['plan', 'ok', 'is', 'has_table', 'finish', 'lives_ok', 'pass', 'no_plan']);
  const at = async (text: string) => {
    const [path] = suite({ 'f.sql': text });
    const where = await firstCommitted({ file: { path: path!, display: 'f.sql' }, cwd: REPO_ROOT, displayRoot: REPO_ROOT, librarySchema: LIBRARY_SCHEMA }, LIBRARY);
    return where && `${where.line}:${where.column}`;
  };

  it('a file inside BEGIN … ROLLBACK, or that only asserts, cannot', async () => {
    expect(await at('begin;\nselect plan(1);\ncreate table t (x int);\ninsert into t values (1);\nselect ok(true);\nselect * from finish();\nrollback;\n')).toBeNull();
    expect(await at('\\set ON_ERROR_STOP 1\nset client_min_messages = warning;\ncreate extension if not exists pgtap with schema extensions;\nselect plan(2);\nselect has_table(\'public\', \'t\', \'t\');\nselect is(count(*)::int, 0) from pg_class where false;\nselect * from finish();\n')).toBeNull();
    expect(await at('begin;\ncreate table t (x int);\nrollback and chain;\ninsert into t values (1);\nrollback;\n')).toBeNull();
    // A block psql never closes is rolled back when its session ends.
    expect(await at('begin;\ncreate table t (x int);\n')).toBeNull();
  });

  it('DDL, DML, a call of any other function, SQL an assertion runs, or a committed block may', async () => {
    expect(await at('select plan(1);\ncreate function f() returns int language sql as $$select 1$$;\n')).toBe('2:1');
    expect(await at("select tests.create_supabase_user('alice');\n")).toBe('1:1');
    expect(await at("select plan(1);\nselect lives_ok('insert into t values (1)');\n")).toBe('2:1');
    expect(await at("select nextval('s');\n")).toBe('1:1');
    expect(await at('with x as (insert into t values (1) returning 1) select ok(true) from x;\n')).toBe('1:1');
    expect(await at('begin;\nselect ok(true);\ninsert into t values (1);\ncommit;\n')).toBe('3:1');
    expect(await at('begin;\ninsert into t values (1);\nrollback;\ninsert into t values (2);\n')).toBe('4:1');
  });

  it('reads what \\i includes', async () => {
    const [inc] = suite({ 'helpers.sql': 'create function public.h() returns int language sql as $$select 1$$;\n' });
    const where = await at(`begin;\nselect plan(1);\nrollback;\n\\i ${inc}\n`);
    expect(where).toBe('1:1'); // the included file's first line
  });
});

describe('what the files after a committing file see', () => {
  it('helpers and users a setup file creates are there for the files after it, not before it, one or two at a time', async () => {
    const paths = suite({
      '0-before.sql': "begin;\nselect plan(2);\nselect hasnt_function('public', 'answer', 'not created yet');\nselect is_empty($$select 1 from auth.users where raw_user_meta_data ->> 'test_identifier' = 'alice'$$, 'no alice yet');\nrollback;\n",
      '00-setup.sql': "create or replace function public.answer() returns int language sql as 'select 42';\nselect tests.create_supabase_user('alice');\nselect plan(1);\nselect ok(true, 'setup ran');\n",
      '10-use.sql': "begin;\nselect plan(2);\nselect is(public.answer(), 42, 'the helper');\nselect isnt(tests.get_supabase_uid('alice'), null, 'alice');\nrollback;\n",
      '20-own-rows.sql': "begin;\nselect plan(1);\ninsert into public.deployments (user_id, name) values (tests.get_supabase_uid('alice'), 'rolled back');\nselect is((select count(*)::int from public.deployments), 1, 'my row');\nrollback;\n",
      '30-blocks.sql': "begin;\ninsert into public.deployments (user_id, name) values (tests.get_supabase_uid('alice'), 'committed');\ncommit;\nbegin;\ninsert into public.deployments (user_id, name) values (tests.get_supabase_uid('alice'), 'rolled back');\nrollback;\nselect plan(1);\nselect pass('blocks');\n",
      '40-after.sql': "begin;\nselect plan(1);\nselect results_eq('select name from public.deployments', array['committed'], 'only the committed block stays');\nrollback;\n",
    });
    for (const jobs of [1, 2]) {
      const r = await run(paths, { jobs });
      expect(failures(r), `jobs ${jobs}`).toEqual([]);
      const f = byName(r);
      expect(Object.keys(f)).toEqual(['0-before.sql', '00-setup.sql', '10-use.sql', '20-own-rows.sql', '30-blocks.sql', '40-after.sql']);
      expect(f['00-setup.sql']!.kept).toMatchObject({ line: 1, column: 1 });
      expect(f['30-blocks.sql']!.kept).toMatchObject({ line: 2, column: 1 });
      for (const name of ['0-before.sql', '10-use.sql', '20-own-rows.sql', '40-after.sql']) expect(f[name]!.kept, name).toBeUndefined();
    }
  });

  it("--coverage runs the files the same way: a file that needs the setup file's user is counted", async () => {
    const paths = suite({
      '00-setup.sql': "select tests.create_supabase_user('alice');\ninsert into public.deployments (user_id, name) values (tests.get_supabase_uid('alice'), 'hers');\n",
      '10-delete.sql': "begin;\nselect plan(1);\nselect tests.authenticate_as('alice');\nselect lives_ok('delete from public.deployments', 'alice deletes');\nrollback;\n",
    });
    const extraChecks = await extraChecksFor(config, { coverage: true, paths, cwd: REPO_ROOT });
    const r = await run(paths, { extraChecks });
    expect(failures(r)).toEqual([]);
    const report = r.extraChecks.find((c) => c.name === 'coverage')!.data as CoverageReport;
    expect(report.cells.find((c) => c.table === 'public.deployments' && c.command === 'DELETE' && c.role === 'authenticated')?.status).toBe('exercised');
  });

  it('an error keeps what psql had committed before it and drops the block it stopped in', async () => {
    const paths = suite({
      '1-dies.sql': "create table public.carried (note text);\ninsert into public.carried values ('autocommitted');\nbegin;\ninsert into public.carried values ('in the open block');\nselect * from public.no_such_table;\n",
      '2-after.sql': "begin;\nselect plan(1);\nselect results_eq('select note from public.carried', array['autocommitted'], 'only the statements before the block');\nrollback;\n",
    });
    const r = await run(paths);
    const f = byName(r);
    expect(f['1-dies.sql']).toMatchObject({ status: 'errored', error: { pg: { sqlstate: '42P01' }, location: { line: 5 } } });
    expect(f['2-after.sql']!.status).toBe('passed');
  });

  it('\\set AUTOCOMMIT off: what the file does stays in the block psql opens for it, kept only up to its COMMIT (pg_prove printed these lines)', async () => {
    const paths = suite({
      '1-autocommit-off.sql': "\\set AUTOCOMMIT off\ncreate table public.ac_kept (x int);\ncommit;\ncreate table public.ac_dropped (x int);\nselect plan(2);\n" +
        "select has_table('public', 'ac_kept', 'committed');\nsavepoint s;\nselect has_table('public', 'ac_dropped', 'not committed, in the same block: SAVEPOINT works there');\n",
      '2-after.sql': "select plan(2);\nselect has_table('public', 'ac_kept', 'the committed table is there');\nselect hasnt_table('public', 'ac_dropped', 'the rest ended with the file, as psql rolls back at exit');\n",
    });
    const f = byName(await run(paths));
    expect(f['1-autocommit-off.sql']!.output).toEqual(['1..2', 'ok 1 - committed', 'ok 2 - not committed, in the same block: SAVEPOINT works there']);
    expect(f['2-after.sql']!.output).toEqual(['1..2', 'ok 1 - the committed table is there', 'ok 2 - the rest ended with the file, as psql rolls back at exit']);
  });

  it('a deferred constraint broken outside BEGIN … ROLLBACK fails the file, and nothing of it is kept', async () => {
    const paths = suite({
      '1-deferred.sql': "create table public.pairs (id int primary key, other int references public.pairs (id) deferrable initially deferred);\ninsert into public.pairs values (1, 2);\nselect plan(1);\nselect pass('before the commit');\n",
      '2-after.sql': "begin;\nselect plan(1);\nselect hasnt_table('public', 'pairs', 'nothing kept');\nrollback;\n",
    });
    const f = byName(await run(paths));
    expect(f['1-deferred.sql']).toMatchObject({ status: 'errored', error: { pg: { sqlstate: '23503' } }, notKept: expect.stringMatching(/^committing it failed: insert or update on table "pairs" violates foreign key constraint/) });
    expect(f['1-deferred.sql']!.kept).toBeUndefined();
    expect(f['2-after.sql']!.status).toBe('passed');
  });

  it('COMMIT AND CHAIN commits the block before it: a ROLLBACK of the chained block undoes only what ran after the chain', async () => {
    // The file's first BEGIN is rowguard's own transaction; the chained block must not roll that back with it.
    const paths = suite({
      '1-chain.sql': "begin;\ncreate table public.chained (note text);\ninsert into public.chained values ('first block');\ncommit and chain;\ninsert into public.chained values ('chained block');\nrollback;\nselect plan(1);\nselect results_eq('select note from public.chained', array['first block'], 'the file sees its committed block');\n",
      // The same after a statement outside any block (the block is then a savepoint of rowguard's).
      '2-chain-later.sql': "insert into public.chained values ('autocommit');\nbegin;\ninsert into public.chained values ('second first block');\ncommit and chain;\ninsert into public.chained values ('second chained block');\nrollback;\nselect plan(1);\nselect results_eq('select count(*)::int from public.chained', array[3], 'the second chained block is gone');\n",
      '3-after.sql': "begin;\nselect plan(1);\nselect results_eq('select note from public.chained', array['first block', 'autocommit', 'second first block'], 'what psql committed, no chained block');\nrollback;\n",
    });
    const r = await run(paths);
    expect(failures(r)).toEqual([]);
    expect(r.files.map((f) => f.status)).toEqual(['passed', 'passed', 'passed']);
  });

  it('a setup file (--setup) that creates a role fails the run, and the role is not left on the server', async () => {
    const [setup, test] = suite({ 'setup.sql': 'create role rg_carry_setup_role;\n', 'a.test.sql': 'select plan(1);\nselect pass();\n' });
    const err = await run([test!], { setup: [setup!] }).catch((e: unknown) => e);
    expect(isRowguardError(err) && err.message).toMatch(/^setup file .*setup\.sql: nothing it did was kept: it changes role rg_carry_setup_role outside BEGIN … ROLLBACK/);
    const sql = connect(serverUrl());
    try {
      expect(await sql`select 1 from pg_roles where rolname = 'rg_carry_setup_role'`).toHaveLength(0);
    } finally {
      await sql.end();
    }
  });

  it('a membership granted to an existing role is not committed either', async () => {
    const paths = suite({
      '1-grant.sql': 'grant anon to authenticated;\ncreate table public.t1 (x int);\n',
      '2-after.sql': "begin;\nselect plan(2);\nselect hasnt_table('public', 't1', 'nothing of the first file was kept');\nselect ok(not pg_has_role('authenticated', 'anon', 'member'), 'no membership');\nrollback;\n",
    });
    const r = await run(paths);
    const f = byName(r);
    expect(f['1-grant.sql']!.warnings).toEqual([expect.stringMatching(/^nothing it did was kept: it changes role membership authenticated in anon outside BEGIN … ROLLBACK/)]);
    expect(f['2-after.sql']!.status).toBe('passed');
  });
});

const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!psql)('the same state psql leaves', () => {
  it('a file run for its commits leaves the database as psql -f leaves it: tables, rows, sequences, functions', async () => {
    const [path] = suite({
      'mess.sql': `select plan(2);
create table public.mess (id serial primary key, note text);
insert into public.mess (note) values ('autocommit');
create sequence public.mess_seq;
select nextval('public.mess_seq');
begin;
insert into public.mess (note) values ('committed block');
select nextval('public.mess_seq');
commit;
begin;
insert into public.mess (note) values ('rolled back');
select nextval('public.mess_seq');
rollback;
create function public.mess_fn() returns int language sql as 'select 1';
select set_config('rowguard.session_only', 'yes', false);
select ok(true);
begin;
insert into public.mess (note) values ('open when it dies');
select * from public.no_such_table;
`,
    });
    // The same, dying outside any block: the statements before it stay.
    const [outside] = suite({ 'mess-outside.sql': readFileSync(path!, 'utf8').replace("begin;\ninsert into public.mess (note) values ('open when it dies');\n", "insert into public.mess (note) values ('just before it dies');\n") });
    const tpl = await buildTemplate(serverUrl(), config);
    const state = async (url: string) => {
      const sql = connect(url);
      try {
        const [row] = await sql<Array<{ rows: string[]; seqs: string[]; fns: string[] }>>`
          select array(select note from public.mess order by id) as rows,
                 array(select format('%s=%s', sequencename, last_value) from pg_sequences where schemaname = 'public' order by 1) as seqs,
                 array(select proname::text from pg_proc where pronamespace = 'public'::regnamespace order by 1) as fns`;
        return row;
      } finally {
        await sql.end();
      }
    };
    try {
      const cases = [
        [path!, ['autocommit', 'committed block']],
        [outside!, ['autocommit', 'committed block', 'just before it dies']],
      ] as const;
      for (const [file, rows] of cases) {
        const [ours, theirs] = await Promise.all([0, 1].map(() => createThrowawayDatabase(serverUrl(), { prefix: 'rg_carry', template: tpl.name })));
        try {
          const r = await runTestFile({ url: ours!.url, file: { path: file, display: 'mess.sql' }, cwd: REPO_ROOT, settings: sessionSettings(config), librarySchema: LIBRARY_SCHEMA, commit: true });
          expect(r.error?.pg?.sqlstate).toBe('42P01');
          const p = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', theirs!.url, '-f', file], {
            env: { ...process.env, PGOPTIONS: `-c search_path=public,${LIBRARY_SCHEMA}` },
            encoding: 'utf8',
          });
          expect(p.status).toBe(3); // psql: the script stopped at an error
          const want = await state(theirs!.url);
          // Sequences move in rolled-back blocks too, and in the block the error ended.
          expect(want).toEqual({ rows: [...rows], seqs: ['mess_id_seq=4', 'mess_seq=3'], fns: ['mess_fn'] });
          expect(await state(ours!.url), file).toEqual(want);
        } finally {
          await Promise.all([ours!.drop(), theirs!.drop()]);
        }
      }
    } finally {
      await tpl.drop();
    }
  });
});
