// The migration engine against a real Postgres, driven through the CLI as a user (or CI) would.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync, readdirSync, readFileSync, unlinkSync, symlinkSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.js';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { freshDatabase, runCli, CLI, type TestDatabase } from '../helpers/pg.js';

let db: TestDatabase;
let dir: string;
const dbs: TestDatabase[] = [];

function project(files: Record<string, string>): string {
  const root = tempDir('rg-mig-');
  mkdirSync(join(root, 'sql'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'sql', name), text);
  return root;
}
const cli = (args: string[], opts: { cwd?: string } = {}) => runCli(['--db', db.url, ...args], { cwd: opts.cwd ?? dir });
const json = async (args: string[]) => {
  const r = await cli(['--json', ...args]);
  return { ...r, body: JSON.parse(r.stdout) as Record<string, unknown> };
};
const history = async () => db.sql<{ version: string; status: string }[]>`select version, status from rowguard.migrations order by version`;

beforeEach(async () => {
  db = await freshDatabase();
  dbs.push(db);
});
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

describe('migrate up', () => {
  it('applies from zero in order, records history, and a re-run is a no-op', async () => {
    dir = project({
      '0001_users.sql': 'create table users (id int primary key);\n',
      '0002_posts.sql': 'create table posts (id int primary key, user_id int references users);\n',
      '0010_seed.sql': 'insert into users values (1);\n',
    });
    const first = await json(['migrate', 'up']);
    expect(first.code).toBe(0);
    expect((first.body['applied'] as Array<{ version: string }>).map((m) => m.version)).toEqual(['0001', '0002', '0010']);
    expect(await history()).toEqual([
      { version: '0001', status: 'applied' },
      { version: '0002', status: 'applied' },
      { version: '0010', status: 'applied' },
    ]);
    const [row] = await db.sql<{ checksum: string; applied_by: string; duration_ms: number }[]>`select checksum, applied_by, duration_ms from rowguard.migrations where version = '0001'`;
    expect(row!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.applied_by).not.toBe('');
    expect(row!.duration_ms).toBeGreaterThanOrEqual(0);
    const again = await json(['migrate', 'up']);
    expect(again.code).toBe(0);
    expect(again.body['upToDate']).toBe(true);
    expect(again.body['applied']).toEqual([]);
    const [{ n }] = (await db.sql`select count(*)::int as n from users`) as unknown as [{ n: number }];
    expect(n).toBe(1);
  });

  it('--to stops at a version and --dry-run changes nothing', async () => {
    dir = project({ '1_a.sql': 'create table a (x int);', '2_b.sql': 'create table b (x int);', '3_c.sql': 'create table c (x int);' });
    const dry = await json(['migrate', 'up', '--dry-run']);
    expect(dry.code).toBe(0);
    expect((dry.body['wouldApply'] as unknown[]).length).toBe(3);
    expect((await db.sql`select to_regclass('public.a') as r`)[0]!['r']).toBeNull();
    expect((await json(['migrate', 'up', '--to', '2'])).code).toBe(0);
    expect((await db.sql`select to_regclass('public.b') is not null as b, to_regclass('public.c') is not null as c`)[0]).toEqual({ b: true, c: false });
  });

  it('refuses an edited applied migration, names the file, and applies nothing else', async () => {
    dir = project({ '0001_a.sql': 'create table a (x int);\n' });
    expect((await cli(['migrate', 'up'])).code).toBe(0);
    writeFileSync(join(dir, 'sql', '0001_a.sql'), 'create table a (x int, y int);\n');
    writeFileSync(join(dir, 'sql', '0002_b.sql'), 'create table b (x int);\n');
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sql\/0001_a\.sql was changed after it was applied/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect((await db.sql`select to_regclass('public.b') as r`)[0]!['r']).toBeNull();
    const st = await json(['migrate', 'status']);
    expect((st.body['migrations'] as Array<{ state: string }>).map((m) => m.state)).toEqual(['edited', 'pending']);
    const verify = await cli(['migrate', 'verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain('0001_a.sql was changed');
  });

  it('warns when it applies a file with no statement (a fresh migrate new), since filling it in later is an edit', async () => {
    dir = project({ '0001_a.sql': 'create table a (x int);\n' });
    expect((await cli(['migrate', 'new', 'add b'])).code).toBe(0);
    const r = await cli(['migrate', 'up']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/applied sql\/0002_add_b\.sql \(\d+ ms\) warning: it holds no statement, and it is now applied/);
    expect(r.stdout).not.toMatch(/0001_a\.sql.*warning/);
    const other = await freshDatabase();
    dbs.push(other);
    const dir2 = project({ '0001_c.sql': '-- only a comment\n;\n/* and /* nested */ one */\n', '0002_d.sql': 'select 1; -- a statement\n' });
    const j = await runCli(['--db', other.url, '--json', 'migrate', 'up'], { cwd: dir2 });
    rmSync(dir2, { recursive: true, force: true });
    const applied = (JSON.parse(j.stdout) as { applied: Array<{ version: string; empty?: boolean }> }).applied;
    expect(applied.map((m) => [m.version, m.empty ?? false])).toEqual([['0001', true], ['0002', false]]);
  });

  it('says when numeric order is not name order (9_y before 10_x here, after it for the Supabase CLI), and padding the versions keeps the history', async () => {
    // 10_x drops what 9_y creates: in name order (the Supabase CLI's) it would run first and fail.
    dir = project({ '1_a.sql': 'create table a (x int);\n', '9_y.sql': 'create table y (x int);\n', '10_x.sql': 'drop table y;\n' });
    const status = await json(['migrate', 'status']);
    expect(status.code).toBe(0);
    expect(status.body['warnings']).toEqual([expect.objectContaining({ code: 'migration_name_order', files: ['sql/9_y.sql', 'sql/10_x.sql'] })]);
    expect(status.stderr).toContain('warning: sql/9_y.sql is applied before sql/10_x.sql (versions compare as numbers), but by name 10_x.sql comes first');
    const r = await cli(['migrate', 'up']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('applied')).map((l) => l.split(' ')[1])).toEqual(['sql/1_a.sql', 'sql/9_y.sql', 'sql/10_x.sql']);
    expect(r.stderr).toContain('hint: give every version 2 digits (1_a.sql → 01_a.sql, 9_y.sql → 09_y.sql)');
    // The fix the hint gives: the history matches 09 with the 9 that was applied, nothing is pending, nothing said.
    for (const [from, to] of [['1_a.sql', '01_a.sql'], ['9_y.sql', '09_y.sql']] as const) writeFileSync(join(dir, 'sql', to), readFileSync(join(dir, 'sql', from)));
    unlinkSync(join(dir, 'sql', '1_a.sql'));
    unlinkSync(join(dir, 'sql', '9_y.sql'));
    const verify = await json(['migrate', 'verify']);
    expect([verify.code, verify.body['ok'], verify.body['pending'], verify.body['warnings'], verify.stderr]).toEqual([0, true, 0, [], '']);
    // Versions of one width (timestamps, 0001…) never differ between the two orders.
    const other = await freshDatabase();
    dbs.push(other);
    const dir2 = project({ '20240101000000_a.sql': 'select 1;\n', '20240102000000_b.sql': 'select 2;\n' });
    const up2 = await runCli(['--db', other.url, '--json', 'migrate', 'up'], { cwd: dir2 });
    rmSync(dir2, { recursive: true, force: true });
    expect([up2.code, (JSON.parse(up2.stdout) as { warnings: unknown[] }).warnings, up2.stderr]).toEqual([0, [], '']);
  });

  it('refuses an applied migration whose file is gone, and a pending file older than the newest applied', async () => {
    dir = project({ '0001_a.sql': 'create table a (x int);', '0003_c.sql': 'create table c (x int);' });
    expect((await cli(['migrate', 'up'])).code).toBe(0);
    writeFileSync(join(dir, 'sql', '0002_b.sql'), 'create table b (x int);');
    const ooo = await cli(['migrate', 'up']);
    expect(ooo.code).toBe(1);
    expect(ooo.stderr).toContain('sql/0002_b.sql is pending but older than the newest applied migration (0003)');
    expect((await cli(['migrate', 'up', '--allow-out-of-order'])).code).toBe(0);
    expect((await db.sql`select to_regclass('public.b') is not null as ok`)[0]!['ok']).toBe(true);
    unlinkSync(join(dir, 'sql', '0001_a.sql'));
    const missing = await cli(['migrate', 'up']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('migration 0001_a.sql was applied but its file is gone');
  });

  it('a failing statement in the middle of a file leaves nothing of that file and reports file:line:col', async () => {
    dir = project({
      '0001_ok.sql': 'create table kept (x int);\n',
      '0002_bad.sql': 'create table half (x int);\ninsert into half values (1);\n\nselect x from  missing_table;\ncreate table after (x int);\n',
    });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sql/0002_bad.sql:4:16');
    expect(r.stderr).toContain('relation "missing_table" does not exist');
    expect(r.stderr).toContain('[42P01]');
    expect(r.stderr).toContain('select x from  missing_table;');
    expect(r.stderr).toMatch(/\n\s+\^/); // caret line
    const tables = await db.sql`select to_regclass('public.kept') is not null as kept, to_regclass('public.half') is not null as half`;
    expect(tables[0]).toEqual({ kept: true, half: false });
    expect(await history()).toEqual([{ version: '0001', status: 'applied' }]);
  });

  it('locates run-time errors that carry no position (a unique violation)', async () => {
    dir = project({ '0001_dup.sql': 'create table t (id int primary key);\ninsert into t values (1);\n-- comment\ninsert into t values (1);\n' });
    const r = await json(['migrate', 'up']);
    expect(r.code).toBe(1);
    const err = r.body['error'] as { location: { file: string; line: number; column: number }; pg: { sqlstate: string; detail: string } };
    expect(err.location).toMatchObject({ file: 'sql/0001_dup.sql', line: 4, column: 1 });
    expect(err.pg.sqlstate).toBe('23505');
    expect(err.pg.detail).toContain('already exists');
  });

  it('an error raised inside a DO block points at the line of its body (and the column when the server quotes the query), with the context', async () => {
    dir = project({
      '0001_do.sql': 'create table t (x int);\n-- é 日本\ndo $$\ndeclare n int;\nbegin\n  n := 1;\n  insert into  nope values (1);\nend $$;\n',
    });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sql/0001_do.sql:7:16: relation "nope" does not exist [42P01]');
    expect(r.stderr).toContain('context: PL/pgSQL function inline_code_block line 5 at SQL statement');
    // LANGUAGE before the body, a tab-indented statement, no query to quote: the statement's line.
    dir = project({ '0001_do.sql': "create table t (x int);\ndo language plpgsql $body$\nbegin\n\tperform 1;\n\traise exception 'boom %', 1;\nend $body$;\n" });
    const raise = await json(['migrate', 'up']);
    expect(raise.code).toBe(1);
    const err = raise.body['error'] as { message: string; location: { line: number; column: number } };
    expect(err.message).toBe('boom 1');
    expect(err.location).toMatchObject({ line: 5, column: 2 });
    // A function the file calls: the call is the place in the file, the context says where in the function.
    dir = project({
      '0001_fn.sql': '-- rowguard:no-transaction\ncreate function f() returns int language plpgsql as $$\nbegin\n  return (select count(*) from nope);\nend $$;\ndo $$ begin\n  perform 1;\n  perform f();\nend $$;\n',
    });
    const fn = await cli(['migrate', 'up']);
    expect(fn.code).toBe(1);
    expect(fn.stderr).toContain('sql/0001_fn.sql:8:3: relation "nope" does not exist (statement 2 of 2');
    expect(fn.stderr).toContain('context: PL/pgSQL function f() line 3 at RETURN');
  });

  it('does not run a slow failed file a second time just to locate its error', async () => {
    dir = project({ '0001_seq.sql': 'create sequence runs;\n', '0002_slow.sql': "select nextval('runs');\nselect pg_sleep(2.5);\nselect 1/0;\n" });
    const r = await json(['migrate', 'up']);
    expect(r.code).toBe(1);
    const err = r.body['error'] as { message: string; detail: string; location?: unknown };
    expect(err.message).toBe('sql/0002_slow.sql: division by zero');
    expect(err.location).toBeUndefined();
    expect(err.detail).toMatch(/^the statement is not located: the file ran 2\.\d s before it failed/);
    // Sequences ignore rollbacks: one nextval means the file ran once.
    expect((await db.sql`select last_value::int as n from runs`)[0]!['n']).toBe(1);
    // A file of one statement needs no second run: that statement is where it failed.
    dir = project({ '0001_seq.sql': 'create sequence runs;\n', '0002_one.sql': "-- one statement, slow, then failing\n  select nextval('runs')::text || pg_sleep(2.5)::text || (1 / (random() * 0)::int)::text;\n" });
    const one = await json(['migrate', 'up']);
    expect(one.code).toBe(1);
    const oneErr = one.body['error'] as { message: string; detail?: string; location?: unknown };
    expect(oneErr.message).toBe('division by zero');
    expect(oneErr.location).toMatchObject({ file: 'sql/0002_one.sql', line: 2, column: 3 });
    expect(oneErr.detail ?? '').not.toContain('not located');
    // 0001_seq is applied already: one more nextval, one more run.
    expect((await db.sql`select last_value::int as n from runs`)[0]!['n']).toBe(2);
  });

  it('reports a syntax error with the position of the server', async () => {
    dir = project({ '0001_syntax.sql': 'create table a (x int);\n  creat table b (x int);\n' });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sql/0001_syntax.sql:2:3');
    expect(r.stderr).toContain('syntax error at or near "creat"');
  });

  it('a syntax error in the 5th statement, after multi-byte characters and tabs, is at its line:col with the caret under it', async () => {
    dir = project({
      '0001_a.sql': "create table t (x text);\ninsert into t values ('héllo 日本語 🎉');\ncomment on table t is 'ünïcödé';\n-- 🎉🎉\ninsert into t values ('a'); insert into t values ('b');\n\tselect '日本', 'é',\tfrom t;\n",
    });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sql/0001_a.sql:6:20: syntax error at or near "from" [42601]');
    // The caret line repeats the line's tabs and counts 日 and 本 as two columns each, as a terminal shows them.
    const lines = r.stderr.split('\n');
    const src = lines.findIndex((l) => l.startsWith('  6 | '));
    expect(lines[src + 1]).toBe('      \t' + ' '.repeat(7) + ' '.repeat(6) + ' '.repeat(6) + '\t^');
    expect((await db.sql`select to_regclass('public.t') as r`)[0]!['r']).toBeNull();
  });

  it('refuses a file that is not UTF-8 at the first bad byte, instead of sending U+FFFD for it', async () => {
    dir = project({ '0001_t.sql': 'create table t (x text);\n' });
    // Only the 0xe9 is not UTF-8: the 'ü' on line 1 is written as its two UTF-8 bytes.
    writeFileSync(join(dir, 'sql', '0002_latin1.sql'), Buffer.concat([Buffer.from('-- ü\n', 'utf8'), Buffer.from("insert into t values ('caf\xe9');\n", 'latin1')]));
    const r = await json(['migrate', 'up']);
    expect(r.code).toBe(1);
    const err = r.body['error'] as { code: string; message: string; location: { file: string; line: number; column: number } };
    expect(err.code).toBe('migration_invalid_file');
    expect(err.message).toContain('not valid UTF-8 (byte 0xe9)');
    expect(err.location).toMatchObject({ file: 'sql/0002_latin1.sql', line: 2, column: 27 });
    expect((await db.sql`select to_regclass('rowguard.migrations') as r`)[0]!['r']).toBeNull();
    // An applied file edited into non-UTF-8 bytes is not taken for the same file either.
    rmSync(join(dir, 'sql', '0002_latin1.sql'));
    writeFileSync(join(dir, 'sql', '0002_ok.sql'), "insert into t values ('caf\uFFFD');\n");
    expect((await cli(['migrate', 'up'])).code).toBe(0);
    writeFileSync(join(dir, 'sql', '0002_ok.sql'), Buffer.from("insert into t values ('caf\xe9');\n", 'latin1'));
    const v = await cli(['migrate', 'verify']);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('sql/0002_ok.sql:1:27: not valid UTF-8');
  });

  it('refuses a NUL byte at its place instead of sending a message the server cannot read', async () => {
    dir = project({ '0001_nul.sql': 'create table a (x int);\n  \0create table b (x int);\n' });
    const r = await json(['migrate', 'up']);
    expect(r.code).toBe(1);
    const err = r.body['error'] as { code: string; message: string; location: { file: string; line: number; column: number } };
    expect(err.code).toBe('migration_invalid_file');
    expect(err.message).toContain('contains a NUL byte');
    expect(err.location).toMatchObject({ file: 'sql/0001_nul.sql', line: 2, column: 3 });
  });

  it("a file cut short (an open quote, a dangling operator) is reported from the file alone, on one line, never naming rowguard's own history SQL", async () => {
    for (const [body, where, message] of [
      ["create table a (x int);\nselect 'abc\n", 'sql/0001_cut.sql:2:8', `unterminated quoted string at or near "'abc"`],
      ['create table a (x int);\nselect $$abc\nmore\n', 'sql/0001_cut.sql:2:8', 'unterminated dollar-quoted string at or near "$$abc…"'],
      ['create table a (x int);\nselect 1 +', 'sql/0001_cut.sql:2:11', 'syntax error at end of input'],
    ] as const) {
      dir = project({ '0001_cut.sql': body });
      const r = await json(['migrate', 'up']);
      expect(r.code).toBe(1);
      const err = r.body['error'] as { message: string; location: { file: string; line: number; column: number } };
      expect(`${err.location.file}:${err.location.line}:${err.location.column}`).toBe(where);
      expect(err.message).toBe(message);
      expect((await db.sql`select to_regclass('public.a') as r`)[0]!['r']).toBeNull();
    }
  });

  it('refuses psql meta-commands by name, at their place, before anything runs', async () => {
    for (const [body, where, cmd, hint] of [
      ['create table a (x int);\n\\set ON_ERROR_STOP on\n', 'sql/0001_meta.sql:2:1', '\\set', 'psql variables'],
      ['create table a (x int);\n  \\i other.sql\n', 'sql/0001_meta.sql:2:3', '\\i', 'included statements'],
      ['-- rowguard:no-transaction\ncreate table a (x int);\n\\c otherdb\n', 'sql/0001_meta.sql:3:1', '\\c', '--targets'],
    ] as const) {
      dir = project({ '0001_meta.sql': body });
      const r = await json(['migrate', 'up']);
      expect(r.code).toBe(1);
      const err = r.body['error'] as { code: string; message: string; hint: string; location: { file: string; line: number; column: number } };
      expect(err.code).toBe('migration_invalid_file');
      expect(`${err.location.file}:${err.location.line}:${err.location.column}`).toBe(where);
      expect(err.message).toBe(`psql meta-command ${cmd} in a migration: rowguard sends the file to the server as SQL, and only psql understands it`);
      expect(err.hint).toContain(hint);
      expect((await db.sql`select to_regclass('public.a') as r`)[0]!['r']).toBeNull();
    }
  });

  it('refuses COPY … FROM STDIN (pg_dump data: psql sends the lines after it) at the COPY, before anything of the file runs; the words in a string are SQL', async () => {
    for (const [body, where] of [
      ['create table a (x int, s text);\n-- seed\ncopy a (x, s) from stdin;\n1\tone\n\\.\n', 'sql/0001_copy.sql:3:1'],
      ['-- rowguard:no-transaction\ncreate table a (x int);\n  COPY a FROM STDIN;\n1\n\\.\n', 'sql/0001_copy.sql:3:3'],
    ] as const) {
      dir = project({ '0001_copy.sql': body });
      const r = await json(['migrate', 'up']);
      expect(r.code).toBe(1);
      const err = r.body['error'] as { code: string; message: string; hint: string; location: { file: string; line: number; column: number } };
      expect(err.code).toBe('migration_invalid_file');
      expect(`${err.location.file}:${err.location.line}:${err.location.column}`).toBe(where);
      expect(err.message).toBe('COPY … FROM STDIN in a migration: psql sends the lines after it as its rows, rowguard sends the file to the server as SQL');
      expect(err.hint).toContain('INSERT … VALUES');
      expect((await db.sql`select to_regclass('public.a') as r`)[0]!['r']).toBeNull();
      expect(await history()).toEqual([]);
    }
    dir = project({ '0001_words.sql': "create table a (s text);\ninsert into a values ('copy a from stdin;');\n" });
    expect((await cli(['migrate', 'up'])).code).toBe(0);
    expect((await db.sql`select s from a`)[0]!['s']).toBe('copy a from stdin;');
  });

  it('a no-transaction file the server reads but rowguard cannot split is refused without running any of it', async () => {
    // With standard_conforming_strings off, 'it\'s' is one string to the server and an open one to the parser.
    await db.sql.unsafe(`alter database ${db.name} set standard_conforming_strings = off`);
    dir = project({ '0001_esc.sql': "-- rowguard:no-transaction\ncreate table a (x text);\ninsert into a values ('it\\'s');\n" });
    const r = await json(['migrate', 'up']);
    expect(r.code).toBe(1);
    const err = r.body['error'] as { code: string; message: string; hint: string; location: { file: string; line: number } };
    expect(err.code).toBe('migration_invalid_file');
    expect(err.message).toContain('rowguard cannot split this no-transaction migration into statements');
    expect(err.location).toMatchObject({ file: 'sql/0001_esc.sql', line: 3 });
    expect(err.hint).toContain('standard_conforming_strings is off');
    expect((await db.sql`select to_regclass('public.a') as r`)[0]!['r']).toBeNull();
    expect((await db.sql`select count(*)::int as n from rowguard.migrations`)[0]!['n']).toBe(0);
  });

  it('what a migration SETs (search_path, timeouts, role) and its temp tables stay in that file, as with psql -1 -f per file', async () => {
    const role = `${db.name}_r`;
    await db.sql.unsafe(`create role ${role}`);
    try {
      dir = project({
        '0001_a.sql': "create schema s;\nset search_path = s;\nset lock_timeout = '1ms';\ncreate temp table tmp (x int);\ncreate table t1 (x int);\n",
        '0002_b.sql': `create table t2 (x int);\ncreate temp table tmp (x int);\nselect set_config('rg.seen', current_setting('lock_timeout'), false);\ncreate table seen as select current_setting('rg.seen') as lock_timeout;\nset role ${role};\n`,
        '0003_c.sql': `-- rowguard:no-transaction\ncreate table t3 (x int);\nset role ${role};\n`,
        '0004_d.sql': 'create table t4 as select current_user::text as who;\n',
      });
      const r = await cli(['migrate', 'up']);
      expect(r.code, r.stderr).toBe(0);
      const [where] = await db.sql`select to_regclass('s.t1') is not null as s_t1, to_regclass('public.t2') is not null as public_t2, (select lock_timeout from seen) as lock_timeout, (select who from t4) as who, (select count(*)::int from rowguard.migrations where status = 'applied') as applied`;
      const [me] = await db.sql<{ u: string }[]>`select current_user::text as u`;
      expect(where).toEqual({ s_t1: true, public_t2: true, lock_timeout: '5s', who: me!.u, applied: 4 });
    } finally {
      await db.sql.unsafe(`drop owned by ${role}; drop role ${role}`);
    }
  });

  // realworld6's reproduction: an ALTER DATABASE … SET search_path for extensions, then a later file that relies on it.
  it('a later file starts with the database settings an earlier one set (ALTER DATABASE … SET), as psql -1 -f per file, in a new session each, does; what the connection set itself stays', async () => {
    dir = project({
      '0001_a.sql': `create schema ext;\ncreate function ext.greet() returns text language sql as $$ select 'hi' $$;\ndo $$ begin execute format('alter database %I set search_path = "$user", public, ext', current_database()); end $$;\n`,
      '0002_b.sql': 'create table t (x text default greet());\n',
      '0003_c.sql': `-- rowguard:no-transaction\ndo $$ begin execute format('alter database %I set rg.flag = %L', current_database(), 'on'); end $$;\n`,
      '0004_d.sql': "create table seen as select current_setting('rg.flag', true) as flag, current_setting('application_name') as app;\n",
    });
    const r = await cli(['migrate', 'up']);
    expect(r.code, r.stderr).toBe(0);
    const [row] = await db.sql`select (select column_default from information_schema.columns where table_name = 't' and column_name = 'x') as def, flag, app from seen`;
    // application_name is the connection's own: a reset must keep it, not take the database's or the default.
    expect(row).toEqual({ def: 'greet()', flag: 'on', app: expect.stringContaining('rowguard') });
  });

  it('the history is created for its owner only, whatever ALTER DEFAULT PRIVILEGES grants other roles', async () => {
    const role = `${db.name}_reader`;
    await db.sql.unsafe(`create role ${role}; alter default privileges grant select, insert, update, delete on tables to ${role}; alter default privileges grant usage on schemas to ${role}`);
    try {
      dir = project({ '0001_a.sql': 'create table a (x int);\n' });
      expect((await cli(['migrate', 'up'])).code).toBe(0);
      const [acl] = await db.sql<{ table: boolean; schema: boolean; owner: boolean }[]>`
        select has_table_privilege(${role}, 'rowguard.migrations', 'select, insert, update, delete') as table,
               has_schema_privilege(${role}, 'rowguard', 'usage') as schema,
               has_table_privilege(current_user, 'rowguard.migrations', 'select, insert') as owner`;
      expect(acl).toEqual({ table: false, schema: false, owner: true });
      expect((await db.sql`select has_table_privilege('public', 'rowguard.migrations', 'select') as p`)[0]!['p']).toBe(false);
    } finally {
      await db.sql.unsafe(`alter default privileges revoke all on tables from ${role}; alter default privileges revoke all on schemas from ${role}; drop owned by ${role}; drop role ${role}`);
    }
  });

  it('refuses transaction control inside a transactional migration', async () => {
    dir = project({ '0001_tx.sql': 'begin;\ncreate table a (x int);\ncommit;\n' });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sql/0001_tx.sql:1:1');
    expect(r.stderr).toContain('no-transaction');
    expect((await db.sql`select to_regclass('public.a') as r`)[0]!['r']).toBeNull();
  });

  it('refuses a COMMIT mid-line or AND CHAIN (it would keep half a migration with no history row), and allows savepoints', async () => {
    for (const [body, where] of [
      ['create table a (x int); commit; create table b (x int);\n', 'sql/0001_tx.sql:1:25'],
      ['create table a (x int);\ncommit and chain;\nselect 1/0;\n', 'sql/0001_tx.sql:2:1'],
    ] as const) {
      dir = project({ '0001_tx.sql': body });
      const r = await json(['migrate', 'up']);
      expect(r.code).toBe(1);
      const err = r.body['error'] as { code: string; location: { file: string; line: number; column: number } };
      expect(err.code).toBe('migration_invalid_file');
      expect(`${err.location.file}:${err.location.line}:${err.location.column}`).toBe(where);
      expect((await db.sql`select to_regclass('public.a') as r`)[0]!['r']).toBeNull();
    }
    dir = project({ '0001_sp.sql': 'create table a (x int);\ndo $$\nbegin\n  insert into a values (1);\nend;\n$$;\nsavepoint s;\ninsert into a values (2);\nrollback to savepoint s;\nrelease savepoint s;\n' });
    const ok = await cli(['migrate', 'up']);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await db.sql`select x from a`).map((r) => r['x'])).toEqual([1]);
  });

  it('CRLF files apply and keep the LF checksum (a Windows checkout is not an edit)', async () => {
    dir = project({ '0001_a.sql': 'create table a (x int);\r\ncreate table b (x int);\r\n' });
    expect((await cli(['migrate', 'up'])).code).toBe(0);
    writeFileSync(join(dir, 'sql', '0001_a.sql'), 'create table a (x int);\ncreate table b (x int);\n');
    const v = await cli(['migrate', 'verify']);
    expect(v.code).toBe(0);
    // What a LF checkout applies, where psql would keep the CR inside a string or a body spanning lines.
    writeFileSync(join(dir, 'sql', '0002_b.sql'), "insert into a values (length('1\r\n2'));\r\ncreate function f() returns text language sql as $$\r\n  select 'x'\r\n$$;\r\n");
    expect((await cli(['migrate', 'up'])).code).toBe(0);
    expect(await db.sql`select (select x from a) as x, strpos(prosrc, chr(13)) as cr from pg_proc where proname = 'f'`).toEqual([{ x: 3, cr: 0 }]);
  });

  it('applies a symlinked migration, and refuses a .SQL file or a dangling link rather than skip it in silence', async () => {
    dir = project({});
    writeFileSync(join(dir, 'real_a.sql'), 'create table a (x int);\n');
    symlinkSync(join(dir, 'real_a.sql'), join(dir, 'sql', '0001_a.sql'));
    const r = await json(['migrate', 'up']);
    expect(r.code, JSON.stringify(r.body)).toBe(0);
    expect((r.body['applied'] as Array<{ file: string }>).map((m) => m.file)).toEqual(['sql/0001_a.sql']);
    writeFileSync(join(dir, 'sql', '0002_b.SQL'), 'create table b (x int);\n');
    const upper = await cli(['migrate', 'status']);
    expect(upper.code).toBe(1);
    expect(upper.stderr).toContain('"0002_b.SQL" not named <version>_<name>.sql');
    rmSync(join(dir, 'sql', '0002_b.SQL'));
    symlinkSync(join(dir, 'gone.sql'), join(dir, 'sql', '0002_b.sql'));
    const dangling = await cli(['migrate', 'up']);
    expect(dangling.code).toBe(1);
    expect(dangling.stderr).toContain('sql/0002_b.sql is a symbolic link to nothing');
  });

  it('takes any name the Supabase CLI takes after the version (@, spaces, dots), shown as written', async () => {
    dir = project({ '20240101000000_add@v2 shop.items.sql': 'create table items (x int);', '20240102000000_.sql': 'create table b (x int);' });
    const r = await json(['migrate', 'up']);
    expect(r.code, JSON.stringify(r.body)).toBe(0);
    expect((r.body['applied'] as Array<{ file: string }>).map((m) => m.file)).toEqual(['sql/20240101000000_add@v2 shop.items.sql', 'sql/20240102000000_.sql']);
  });

  it('rejects badly named files and duplicate versions before touching the database', async () => {
    dir = project({ '0001_a.sql': 'create table a (x int);', 'notes.sql': 'select 1;' });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"notes.sql" not named <version>_<name>.sql');
    rmSync(join(dir, 'sql', 'notes.sql'));
    writeFileSync(join(dir, 'sql', '01_b.sql'), 'select 1;');
    const dup = await cli(['migrate', 'up']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('two migrations share version');
    expect((await db.sql`select to_regclass('rowguard.migrations') as r`)[0]!['r']).toBeNull();
  });
});

describe('no-transaction migrations', () => {
  it('run outside a transaction (CREATE INDEX CONCURRENTLY works)', async () => {
    dir = project({
      '0001_t.sql': 'create table t (x int);\ninsert into t select generate_series(1, 1000);\n',
      '0002_idx.sql': '-- rowguard:no-transaction\ncreate index concurrently t_x on t (x);\n',
    });
    const r = await cli(['migrate', 'up']);
    expect(r.code, r.stderr).toBe(0);
    expect((await db.sql`select indisvalid from pg_index where indexrelid = 't_x'::regclass`)[0]!['indisvalid']).toBe(true);
    expect(await history()).toEqual([
      { version: '0001', status: 'applied' },
      { version: '0002', status: 'applied' },
    ]);
  });

  it('a failure midway is recorded as failed, reported with invalid indexes, and blocks up until resolved', async () => {
    dir = project({
      '0001_t.sql': 'create table t (x int);\ninsert into t values (1), (1);\n',
      '0002_idx.sql': '-- rowguard:no-transaction\ncreate table side (x int);\ncreate unique index concurrently t_x on t (x);\ncreate table never (x int);\n',
      '0003_next.sql': 'create table next (x int);\n',
    });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sql/0002_idx.sql:3:');
    expect(r.stderr).toContain('statement 2 of 3');
    expect(r.stderr).toContain('public.t_x');
    // Postgres's detail names the duplicated key, as psql prints it, beside the index left behind.
    expect(r.stderr).toMatch(/detail: Key \(x\)=\(1\) is duplicated\. invalid indexes left behind: public\.t_x/);
    // The statement before the failure stays applied; the one after never ran.
    expect((await db.sql`select to_regclass('public.side') is not null as side, to_regclass('public.never') is not null as never`)[0]).toEqual({ side: true, never: false });
    expect(await history()).toEqual([
      { version: '0001', status: 'applied' },
      { version: '0002', status: 'failed' },
    ]);
    const status = await json(['migrate', 'status']);
    expect((status.body['migrations'] as Array<{ state: string }>).map((m) => m.state)).toEqual(['applied', 'failed', 'pending']);
    const blocked = await cli(['migrate', 'up']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('failed outside a transaction');
    expect(blocked.stderr).toContain('rowguard migrate resolve 0002');
    // The user fixes things by hand, then tells rowguard to run the file again.
    await db.sql.unsafe('drop index t_x; drop table side; delete from t;');
    expect((await cli(['migrate', 'resolve', '0002', '--rolled-back'])).code).toBe(0);
    const after = await cli(['migrate', 'up']);
    expect(after.code, after.stderr).toBe(0);
    expect(await history()).toEqual([
      { version: '0001', status: 'applied' },
      { version: '0002', status: 'applied' },
      { version: '0003', status: 'applied' },
    ]);
  });

  it('a failure inside a BEGIN … COMMIT the file opened says that block rolled back, and only it', async () => {
    dir = project({
      '0001_block.sql': '-- rowguard:no-transaction\ncreate table kept (x int);\nbegin;\ncreate table undone (x int);\nselect 1/0;\ncommit;\n',
    });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sql/0001_block.sql:5:');
    expect(r.stderr).toContain('inside a transaction block the file opened: that block rolled back, statements before its BEGIN stay applied');
    expect(r.stderr).not.toContain('the statements before it stay applied');
    expect((await db.sql`select to_regclass('public.kept') is not null as kept, to_regclass('public.undone') is not null as undone`)[0]).toEqual({ kept: true, undone: false });
  });

  it('a BEGIN the file never commits is refused before anything runs (its statements would be rolled back when the session ends)', async () => {
    dir = project({
      '0001_open.sql': '-- rowguard:no-transaction\ncreate table before_it (x int);\nbegin;\ncreate table inside (x int);\n',
    });
    const r = await cli(['migrate', 'up']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('sql/0001_open.sql:3:1');
    expect(r.stderr).toContain('never commits');
    expect((await db.sql`select to_regclass('public.before_it') is not null as b, to_regclass('public.inside') is not null as i`)[0]).toEqual({ b: false, i: false });
    // COMMIT AND CHAIN keeps the block open; a later COMMIT closes it, and then the file applies whole.
    writeFileSync(join(dir, 'sql', '0001_open.sql'), '-- rowguard:no-transaction\ncreate table before_it (x int);\nbegin;\ncreate table inside (x int);\ncommit and chain;\ncreate table chained (x int);\ncommit;\n');
    const ok = await cli(['migrate', 'up']);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await db.sql`select to_regclass('public.inside') is not null as i, to_regclass('public.chained') is not null as c`)[0]).toEqual({ i: true, c: true });
    expect(await history()).toEqual([{ version: '0001', status: 'applied' }]);
  });

  it('resolve --applied records the migration as applied', async () => {
    dir = project({ '0001_bad.sql': '-- rowguard:no-transaction\nselect 1/0;\n' });
    expect((await cli(['migrate', 'up'])).code).toBe(1);
    expect((await cli(['migrate', 'resolve', '0001'])).code).toBe(2);
    expect((await cli(['migrate', 'resolve', '0001', '--applied'])).code).toBe(0);
    expect(await history()).toEqual([{ version: '0001', status: 'applied' }]);
    expect((await cli(['migrate', 'resolve', '0001', '--applied'])).code).toBe(2);
  });

  it('resolve with a version that is not digits is a usage error, not an internal one', async () => {
    dir = project({ '0001_bad.sql': '-- rowguard:no-transaction\nselect 1/0;\n' });
    expect((await cli(['migrate', 'up'])).code).toBe(1);
    for (const version of ['x', '0001_bad', '-1']) {
      const r = await cli(['migrate', 'resolve', '--applied', '--', version]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`error: migrate resolve: the version must be digits (a migration's version), got ${JSON.stringify(version)}\nhint: rowguard migrate status lists failed migrations\n`);
    }
    expect(await history()).toEqual([{ version: '0001', status: 'failed' }]);
  });

  it('--concurrency without --targets is a usage error (one database: it would be ignored), and applies nothing', async () => {
    dir = project({ '0001_conc.sql': 'create table rg_conc_only (x int);\n' });
    for (const n of ['2', '0']) {
      const r = await cli(['migrate', 'up', '--concurrency', n]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe('error: --concurrency goes with --targets (the databases migrated at once)\nhint: migrate up applies to one database unless --targets <file> lists several\n');
    }
    const [row] = await db.sql`select to_regclass('public.rg_conc_only') is null as absent`;
    expect(row).toEqual({ absent: true });
  });
});

describe('concurrency and crashes', () => {
  it('8 concurrent runners apply every migration exactly once', async () => {
    const files: Record<string, string> = {};
    // Each migration appends to a log table: a second application would add a second row.
    files['0001_log.sql'] = 'create table log (version int primary key);\n';
    for (let i = 2; i <= 12; i++) files[`${String(i).padStart(4, '0')}_m${i}.sql`] = `insert into log values (${i});\ncreate table t${i} (x int);\nselect pg_sleep(0.02);\n`;
    dir = project(files);
    const results = await Promise.all(Array.from({ length: 8 }, () => cli(['--json', 'migrate', 'up'])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const appliedCounts = results.map((r) => (JSON.parse(r.stdout) as { applied: unknown[] }).applied.length);
    expect(appliedCounts.reduce((a, b) => a + b, 0)).toBe(12);
    const rows = await db.sql<{ version: number }[]>`select version from log order by 1`;
    expect(rows.map((r) => r.version)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect((await history()).length).toBe(12);
  });

  it('a runner that cannot get the lock within --lock-wait says who holds it, and applies nothing', async () => {
    dir = project({ '0001_a.sql': 'create table a (x int);\n' });
    const holder = await db.sql.reserve();
    try {
      const [{ pid }] = (await holder`select pg_backend_pid() as pid, pg_advisory_lock(${(0x726f7767756172n).toString()}::bigint)`) as unknown as [{ pid: number }];
      const r = await cli(['migrate', 'up', '--lock-wait', '1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`waiting for another migration runner (pid ${pid})…`);
      expect(r.stderr).toMatch(new RegExp(`error: another migration runner \\(server pid ${pid}, from [^,]+, connected [0-9T:-]+Z\\) held the lock for more than 1s: nothing was applied`));
      expect(r.stderr).toContain(`select * from pg_stat_activity where pid = ${pid}`);
      expect((await db.sql`select to_regclass('public.a') as r`)[0]!['r']).toBeNull();
    } finally {
      await holder`select pg_advisory_unlock_all()`;
      holder.release();
    }
  });

  it('a runner killed with SIGKILL mid-migration leaves nothing half-done; a rerun finishes', async () => {
    dir = project({
      '0001_a.sql': 'create table a (x int);\n',
      '0002_slow.sql': 'create table slow (x int);\nselect pg_sleep(30);\n',
      '0003_c.sql': 'create table c (x int);\n',
    });
    const child = spawn(process.execPath, [CLI, '--db', db.url, 'migrate', 'up'], { cwd: dir, stdio: 'ignore' });
    // Wait until the slow migration is running on the server.
    for (let i = 0; i < 200; i++) {
      const [r] = await db.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()`;
      if ((r as { n: number }).n > 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    child.kill('SIGKILL');
    await new Promise((res) => child.on('close', res));
    // The server notices the dead client, rolls its transaction back and frees the lock.
    await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'rowguard' and pid <> pg_backend_pid()`;
    expect(await history()).toEqual([{ version: '0001', status: 'applied' }]);
    expect((await db.sql`select to_regclass('public.slow') as r`)[0]!['r']).toBeNull();
    writeFileSync(join(dir, 'sql', '0002_slow.sql'), 'create table slow (x int);\n');
    const r = await cli(['migrate', 'up']);
    expect(r.code, r.stderr).toBe(0);
    expect((await history()).map((h) => h.version)).toEqual(['0001', '0002', '0003']);
  }, 90_000);

  it('SIGINT or SIGTERM cancels the running migration on the server (it rolls back) and stops with 130 / 143, instead of leaving the server to commit it', async () => {
    const sleeping = async () => {
      for (let i = 0; i < 200; i++) {
        const [r] = await db.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query like '%pg_sleep(30)%' and state = 'active' and pid <> pg_backend_pid()`;
        if ((r as { n: number }).n > 0) return true;
        await new Promise((res) => setTimeout(res, 50));
      }
      return false;
    };
    const interrupt = async (signal: NodeJS.Signals, flags: string[] = []) => {
      const child = spawn(process.execPath, [CLI, '--db', db.url, ...flags, 'migrate', 'up'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.on('data', (d) => (stdout += d));
      expect(await sleeping()).toBe(true);
      const t0 = Date.now();
      child.kill(signal);
      const code = await new Promise<number | null>((res) => child.on('close', res));
      return { code, stderr, stdout, ms: Date.now() - t0 };
    };
    dir = project({ '0001_a.sql': 'create table a (x int);\n', '0002_slow.sql': 'create table slow (x int);\nselect pg_sleep(30);\n', '0003_c.sql': 'create table c (x int);\n' });
    const r = await interrupt('SIGINT');
    expect(r.code).toBe(130);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stderr).toContain('error: interrupted while applying sql/0002_slow.sql: its transaction was rolled back, so nothing of it was applied');
    // Nothing is left running on the server to commit the migration later.
    expect((await db.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query like '%pg_sleep(30)%' and state = 'active' and pid <> pg_backend_pid()`)[0]!['n']).toBe(0);
    expect(await history()).toEqual([{ version: '0001', status: 'applied' }]);
    expect((await db.sql`select to_regclass('public.slow') is not null as slow, to_regclass('public.c') is not null as c`)[0]).toEqual({ slow: false, c: false });
    // With --json the error document's code says it was a signal, as for every command (README "Exit codes").
    const j = await interrupt('SIGINT', ['--json']);
    expect(j.code).toBe(130);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'interrupted', exitCode: 130, message: expect.stringContaining('interrupted while applying sql/0002_slow.sql') });
    // Outside a transaction the cancelled statement is recorded as failed, like any failure.
    writeFileSync(join(dir, 'sql', '0002_slow.sql'), '-- rowguard:no-transaction\ncreate table slow (x int);\nselect pg_sleep(30);\n');
    const t = await interrupt('SIGTERM');
    expect(t.code).toBe(143);
    expect(t.stderr).toContain('sql/0002_slow.sql:3:1: interrupted: the statement was cancelled (statement 2 of 2, outside a transaction');
    expect(await history()).toEqual([
      { version: '0001', status: 'applied' },
      { version: '0002', status: 'failed' },
    ]);
  }, 90_000);

  it('a second signal exits at once when the first cancel does not end the migration (130 for SIGINT)', async () => {
    // A body that swallows the cancel keeps the migration running after the first SIGINT.
    dir = project({ '0001_stubborn.sql': "do $$ begin loop begin perform pg_sleep(30); exception when query_canceled then null; end; end loop; end $$;\n" });
    const child = spawn(process.execPath, [CLI, '--db', db.url, 'migrate', 'up'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((res) => child.on('close', res));
    const running = async () => {
      for (let i = 0; i < 200; i++) {
        const [r] = await db.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query like '%pg_sleep(30)%' and state = 'active' and pid <> pg_backend_pid()`;
        if ((r as { n: number }).n > 0) return true;
        await new Promise((res) => setTimeout(res, 50));
      }
      return false;
    };
    try {
      expect(await running()).toBe(true);
      child.kill('SIGINT');
      for (let i = 0; i < 100 && !stderr.includes('cancelling the running migration'); i++) await new Promise((res) => setTimeout(res, 50));
      expect(stderr).toContain('SIGINT: cancelling the running migration');
      await new Promise((res) => setTimeout(res, 500));
      expect(child.exitCode).toBeNull(); // the first signal did not end it
      child.kill('SIGINT');
      expect(await closed).toBe(130);
    } finally {
      child.kill('SIGKILL');
      await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()`;
    }
  }, 60_000);

  it('a no-transaction runner killed midway is reported as interrupted on the next run', async () => {
    dir = project({ '0001_slow.sql': '-- rowguard:no-transaction\ncreate table first (x int);\nselect pg_sleep(30);\n' });
    const child = spawn(process.execPath, [CLI, '--db', db.url, 'migrate', 'up'], { cwd: dir, stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      const [r] = await db.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()`;
      if ((r as { n: number }).n > 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    child.kill('SIGKILL');
    await new Promise((res) => child.on('close', res));
    await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'rowguard' and pid <> pg_backend_pid()`;
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('was interrupted outside a transaction');
  }, 90_000);

  it('pg_terminate_backend of the migrating session: one line naming the file, exit 3, no history row for the half-run file', async () => {
    const terminateWhenSleeping = async () => {
      for (let i = 0; i < 200; i++) {
        const [r] = await db.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()`;
        if ((r as { n: number }).n > 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'rowguard' and pid <> pg_backend_pid()`;
    };
    dir = project({ '0001_a.sql': 'create table a (x int);\n', '0002_slow.sql': 'create table slow (x int);\nselect pg_sleep(30);\n' });
    const [r] = await Promise.all([cli(['migrate', 'up']), terminateWhenSleeping()]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: lost the connection to [^\n]+ while applying sql\/0002_slow\.sql: /);
    expect(r.stderr).toContain('rowguard migrate status says whether it was applied');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await history()).toEqual([{ version: '0001', status: 'applied' }]);
    expect((await db.sql`select to_regclass('public.slow') as r`)[0]!['r']).toBeNull();
    // Outside a transaction: what ran stays, and the file is recorded as running.
    writeFileSync(join(dir, 'sql', '0002_slow.sql'), '-- rowguard:no-transaction\ncreate table slow (x int);\nselect pg_sleep(30);\n');
    const [nt] = await Promise.all([cli(['migrate', 'up']), terminateWhenSleeping()]);
    expect(nt.code).toBe(3);
    expect(nt.stderr).toContain('while applying sql/0002_slow.sql (statement 2 of 2, outside a transaction)');
    expect(nt.stderr).toContain('statement 1 stays applied and the migration is recorded as running');
    expect(await history()).toEqual([
      { version: '0001', status: 'applied' },
      { version: '0002', status: 'running' },
    ]);
  }, 90_000);

  it('a statement that cannot run in a transaction (CREATE INDEX CONCURRENTLY) fails with the marker as the hint, and runs once the file has it', async () => {
    dir = project({ '0001_t.sql': 'create table t (x int);\n', '0002_idx.sql': 'create index concurrently t_x_idx on t (x);\n' });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sql/0002_idx.sql:1:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block [25001]');
    expect(r.stderr).toContain('hint: this statement cannot run in a transaction: put -- rowguard:no-transaction on the first line');
    expect(await history()).toEqual([{ version: '0001', status: 'applied' }]);
    writeFileSync(join(dir, 'sql', '0002_idx.sql'), '-- rowguard:no-transaction\ncreate index concurrently t_x_idx on t (x);\n');
    expect((await cli(['migrate', 'up'])).code).toBe(0);
    expect((await db.sql`select to_regclass('public.t_x_idx') as r`)[0]!['r']).toBe('t_x_idx');
  });

  it('a procedure that COMMITs, CALLed in a transactional file (2D000), has the marker as the hint, and runs once the file has it', async () => {
    const proc = 'create procedure fill() language plpgsql as $$ begin insert into t values (1); commit; insert into t values (2); end $$;\n';
    dir = project({ '0001_t.sql': 'create table t (x int);\n', '0002_fill.sql': proc + 'call fill();\n' });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sql/0002_fill.sql:2:1: invalid transaction termination [2D000]');
    expect(r.stderr).toContain('hint: a procedure run by CALL, or a DO block, can COMMIT or ROLLBACK only outside a transaction: put -- rowguard:no-transaction on the first line');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await history()).toEqual([{ version: '0001', status: 'applied' }]);
    writeFileSync(join(dir, 'sql', '0002_fill.sql'), '-- rowguard:no-transaction\n' + proc + 'call fill();\n');
    expect((await cli(['migrate', 'up'])).code).toBe(0);
    expect((await db.sql`select count(*)::int as n from t`)[0]!['n']).toBe(2);
  });

  it('a new enum value used in the migration that adds it: at the use, with the way out as the hint', async () => {
    dir = project({ '0001_t.sql': "create type mood as enum ('sad');\ncreate table t (m mood);\n", '0002_happy.sql': "alter type mood add value 'happy';\ninsert into t values ('happy');\n" });
    const r = await cli(['migrate', 'up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sql/0002_happy.sql:2:23: unsafe use of new value "happy" of enum type mood [55P04]');
    expect(r.stderr).toContain('hint: new enum values must be committed before they are used: move the ALTER TYPE … ADD VALUE into an earlier migration of its own');
  });

  it('lock_timeout stops a migration queued behind a long transaction instead of blocking traffic', async () => {
    dir = project({ '0001_t.sql': 'create table t (x int);\n' });
    expect((await cli(['migrate', 'up'])).code).toBe(0);
    writeFileSync(join(dir, 'rowguard.config.json'), JSON.stringify({ migrations: { lockTimeout: '300ms' } }));
    writeFileSync(join(dir, 'sql', '0002_alter.sql'), 'alter table t add column y int;\n');
    const holder = db.sql.reserve();
    const conn = await holder;
    await conn`begin`;
    await conn`select * from t`; // holds ACCESS SHARE until the end of the transaction
    const t0 = Date.now();
    const r = await cli(['migrate', 'up']);
    await conn`rollback`;
    conn.release();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[55P03]');
    expect(r.stderr).toContain('lock_timeout');
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect((await cli(['migrate', 'up'])).code).toBe(0);
  });
});

describe('an unreachable database', () => {
  const secret = 'S3cret-pw_do-not-print';
  const noPassword = (r: { stdout: string; stderr: string }) => expect(r.stdout + r.stderr).not.toContain(secret);

  it('a refused port, a wrong password and an unknown database: one line, exit 3, no password, with --db or DATABASE_URL', async () => {
    dir = project({ '0001_a.sql': 'create table a (x int);\n' });
    const closed = createTcpServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const u = new URL(db.url);
    const withPassword = (host: string, p: string | number, database: string) => `postgres://${u.username}:${secret}@${host}:${p}/${database}`;
    for (const [url, message] of [
      [withPassword('127.0.0.1', port, 'x'), `could not connect to 127.0.0.1:${port}/x: connect ECONNREFUSED`],
      [withPassword(u.hostname, u.port, db.name), `could not connect to ${u.hostname}:${u.port}/${db.name}: password authentication failed`],
      [db.url.replace(`/${db.name}`, '/rg_no_such_db'), `could not connect to ${u.hostname}:${u.port}/rg_no_such_db: database "rg_no_such_db" does not exist`],
    ] as const) {
      for (const r of [await runCli(['--db', url, 'migrate', 'up'], { cwd: dir }), await runCli(['migrate', 'status'], { cwd: dir, env: { DATABASE_URL: url } })]) {
        expect(r.code, r.stderr).toBe(3);
        expect(r.stderr.split('\n')[0]).toContain(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        noPassword(r);
        if (u.password) expect(r.stdout + r.stderr).not.toContain(decodeURIComponent(u.password));
      }
    }
  });

  it('a port that answers but is not PostgreSQL (an HTTP API) fails within the connect timeout instead of hanging', async () => {
    dir = project({ '0001_a.sql': 'create table a (x int);\n' });
    const api = createHttpServer((_q, res) => res.end('{}'));
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const port = (api.address() as AddressInfo).port;
    try {
      // sslmode=prefer (the default) asks for TLS first, and the HTTP server's answer to that
      // ends the attempt; without TLS the driver would resend forever, and the deadline ends it.
      for (const [query, reason] of [['', 'the server hung up before logging in'], ['?sslmode=disable', 'no PostgreSQL server answered within 10s']]) {
        const t0 = Date.now();
        const r = await runCli(['--db', `postgres://postgres:${secret}@127.0.0.1:${port}/postgres${query}`, 'migrate', 'up'], { cwd: dir, timeoutMs: 40_000 });
        expect(r.code, r.stderr).toBe(3);
        expect(Date.now() - t0).toBeLessThan(30_000);
        expect(r.stderr).toContain(`could not connect to 127.0.0.1:${port}/postgres: ${reason}`);
        expect(r.stderr).toContain('answers HTTP, not PostgreSQL');
        noPassword(r);
      }
    } finally {
      api.closeAllConnections();
      await new Promise((r) => api.close(r));
    }
  }, 60_000);

  it('a port that accepts connections and closes them at once is named so, not taken for a firewall', async () => {
    dir = project({ '0001_a.sql': 'create table a (x int);\n' });
    const closer = createTcpServer((socket) => socket.on('data', () => socket.destroy()));
    await new Promise<void>((r) => closer.listen(0, '127.0.0.1', r));
    const port = (closer.address() as AddressInfo).port;
    try {
      for (const query of ['', '?sslmode=disable']) {
        const r = await runCli(['--db', `postgres://postgres:${secret}@127.0.0.1:${port}/postgres${query}`, 'migrate', 'status'], { cwd: dir, timeoutMs: 40_000 });
        expect(r.code, r.stderr).toBe(3);
        expect(r.stderr.split('\n')[0]).toContain(`could not connect to 127.0.0.1:${port}/postgres`);
        expect(r.stderr).toContain(`127.0.0.1:${port} accepts connections and closes them without a word`);
        expect(r.stderr).not.toContain('firewall');
        expect(r.stderr).not.toMatch(/\n\s+at /);
        noPassword(r);
      }
    } finally {
      await new Promise((r) => closer.close(r));
    }
  }, 60_000);
});

describe('migrate new', () => {
  it('creates the next file in the folder convention', async () => {
    dir = project({ '0007_a.sql': 'select 1;' });
    const r = await cli(['--json', 'migrate', 'new', 'Add Profiles']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).file).toBe('sql/0008_add_profiles.sql');
    expect(readdirSync(join(dir, 'sql')).sort()).toEqual(['0007_a.sql', '0008_add_profiles.sql']);
  });
});
