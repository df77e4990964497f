// A session that logged in and then was ended by the server (pg_terminate_backend here; a
// stopped or crashed server ends it the same way): exit 3, one line that says the connection
// was lost (not "could not connect"), no stack trace, nothing half-applied.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, freshDatabase, runCli, type TestDatabase } from '../helpers/pg.js';
import { tempDir } from '../helpers/tmp.js';

let db: TestDatabase;
let project: string;
// The role `as --anon` switches to: roles are the server's, so one of this file's own.
const anon = `rg_lost_anon_${process.pid}`;

beforeAll(async () => {
  db = await freshDatabase('rg_lost');
  project = tempDir('rg-lost-');
  mkdirSync(join(project, 'sql'));
  mkdirSync(join(project, 'policies'));
  await db.sql.unsafe(`create role ${anon} nologin`);
  // as becomes authenticator when the server has one (sql/0001_roles.sql makes it, as other test files
  // migrate): it must be able to become the anon role, whether it is made here or there.
  await db.sql.unsafe(`do $$ begin
      if not exists (select from pg_roles where rolname = 'authenticator') then create role authenticator login noinherit nobypassrls; end if;
    exception when duplicate_object or unique_violation then null; end $$;
    grant ${anon} to authenticator;`);
  writeFileSync(join(project, 'rowguard.config.json'), JSON.stringify({ migrations: { lockTimeout: '30s' }, api: { anonRole: anon } }));
  writeFileSync(join(project, 'sql', '0001_t.sql'), 'create table public.t (a int);\n');
  const up = await runCli(['--db', db.url, 'migrate', 'up'], { cwd: project });
  expect(up.code, up.stderr).toBe(0);
  // policies/ asks for what the database lacks: policy apply has a step to run on public.t.
  writeFileSync(join(project, 'policies', 'public.t.sql'), 'alter table public.t enable row level security;\ncreate policy p on public.t for select using (true);\n');
}, 60_000);

afterAll(async () => {
  await db?.drop();
  const { withSql } = await import('../../cli/core/db.js');
  const { serverUrl } = await import('../helpers/pg.js');
  await withSql(serverUrl(), (sql) => sql.unsafe(`drop role if exists ${anon}`));
});

/**
 * Wait for a rowguard session on the database (any database with `anyDatabase`: a throwaway one)
 * matching `where` (SQL on pg_stat_activity a), and end it;
 * `run`, the command's own run: when it ends first, what it said is the failure.
 */
async function terminateWhen(where: string, run?: Promise<{ code: number | null; stdout: string; stderr: string }>, anyDatabase = false): Promise<number> {
  let ended: { code: number | null; stdout: string; stderr: string } | undefined;
  void run?.then((r) => (ended = r));
  // Until it is there (45 s at most): under the whole suite a CLI takes seconds to start.
  for (const deadline = Date.now() + 45_000; Date.now() < deadline; ) {
    if (ended) throw new Error(`the command ended (exit ${ended.code}) before a session matched ${where}: ${ended.stderr}${ended.stdout}`);
    const rows = await db.sql.unsafe(`select pg_terminate_backend(a.pid) as ended from pg_stat_activity a where ${anyDatabase ? '' : 'a.datname = current_database() and '}a.pid <> pg_backend_pid() and a.application_name = 'rowguard' and ${where}`);
    if (rows.length) return rows.length;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no rowguard session matched ${where}`);
}

const LOST = (where: string) => `error: lost the connection to ${where}: the server closed the connection\nhint: the server ended the session (stopped, restarted, or pg_terminate_backend): a transaction it had open was rolled back\n`;

describe('a connection lost in the middle of a command', () => {
  it('policy apply waiting for a lock: exit 3, one line (postgres.js threw from a timer: no stack trace), nothing applied', async () => {
    const where = `127.0.0.1:${new URL(db.url).port}/${db.name}`;
    for (const json of [false, true]) {
      const holder = await db.sql.reserve();
      try {
        await holder`begin`;
        await holder`lock table public.t in access exclusive mode`;
        const run = runCli(['--db', db.url, ...(json ? ['--json'] : []), 'policy', 'apply'], { cwd: project });
        await terminateWhen(`a.wait_event_type = 'Lock'`, run);
        const r = await run;
        expect(r.code, r.stderr + r.stdout).toBe(3);
        if (json) {
          expect(r.stderr).toBe('');
          expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'db_unreachable', message: `lost the connection to ${where}: the server closed the connection`, exitCode: 3 });
        } else {
          // The plan's summary comes first (progress on stderr); the error is the last two lines.
          expect(r.stderr.endsWith('\n' + LOST(where)), r.stderr).toBe(true);
          expect(r.stderr).not.toMatch(/\n\s+at |TypeError/);
          expect(r.stdout).toBe('');
        }
      } finally {
        await holder`rollback`;
        holder.release();
      }
      const [row] = await db.sql`select relrowsecurity, (select count(*)::int from pg_policy where polrelid = 'public.t'::regclass) as policies from pg_class where oid = 'public.t'::regclass`;
      expect(row).toEqual({ relrowsecurity: false, policies: 0 });
    }
  }, 120_000);

  it('matrix, while it seeds a fixture: exit 3, the throwaway database and the fixture named, the database dropped', async () => {
    const fixtures = join(project, 'test', 'fixtures');
    mkdirSync(fixtures, { recursive: true });
    writeFileSync(join(fixtures, '010_slow.sql'), 'select pg_sleep(60) as rg_lost_seed;\n');
    try {
      const run = runCli(['--db', db.url, 'matrix'], { cwd: project });
      await terminateWhen(`a.state = 'active' and a.query like '%rg_lost_seed%'`, run, true);
      const r = await run;
      expect(r.code, r.stderr).toBe(3);
      const m = /^error: lost the connection to 127\.0\.0\.1:\d+\/(rowguard_matrix_\w+) while seeding test\/fixtures\/010_slow\.sql: the server closed the connection\nhint: the server ended the session \(stopped, restarted, or pg_terminate_backend\): a transaction it had open was rolled back\n$/.exec(
        r.stderr.slice(r.stderr.indexOf('error: ')),
      );
      expect(m, r.stderr).not.toBeNull();
      const [left] = await db.sql`select count(*)::int as n from pg_database where datname = ${m![1]!}`;
      expect(left!.n).toBe(0);
    } finally {
      rmSync(join(project, 'test'), { recursive: true, force: true });
    }
  }, 120_000);

  it('matrix, while it counts a relation as the connecting role: exit 3, the throwaway database named, "while probing"', async () => {
    const other = tempDir('rg-lost-probe-');
    mkdirSync(join(other, 'sql'));
    writeFileSync(join(other, 'rowguard.config.json'), JSON.stringify({ api: { anonRole: anon } }));
    // Counting the view takes a minute (its rows come from pg_sleep); the table after it is instant.
    writeFileSync(
      join(other, 'sql', '0001_v.sql'),
      `create view public.a_slow with (security_invoker) as select 1 as n from pg_sleep(60) as rg_lost_probe;\ncreate table public.b_fast (id int primary key);\ngrant select on public.a_slow, public.b_fast to ${anon};\n`,
    );
    const run = runCli(['--db', db.url, 'matrix'], { cwd: other });
    await terminateWhen(`a.state = 'active' and a.query like '%a_slow%' and a.query like 'select count%'`, run, true);
    const r = await run;
    expect(r.code, r.stderr + r.stdout).toBe(3);
    expect(r.stderr.slice(r.stderr.indexOf('error: ')), r.stderr).toMatch(/^error: lost the connection to 127\.0\.0\.1:\d+\/rowguard_matrix_\w+ while probing: /);
    expect(r.stdout).toBe('');
  }, 120_000);

  it('as, during its statement: exit 3, "lost the connection", not "could not connect"', async () => {
    const where = `127.0.0.1:${new URL(db.url).port}/${db.name}`;
    const run = runCli(['--db', db.url, 'as', '--anon', '-c', 'select pg_sleep(60)'], { cwd: project });
    await terminateWhen(`a.state = 'active' and a.query like '%pg_sleep(60)%'`, run);
    const r = await run;
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toBe(LOST(where));
  }, 120_000);
});

describe('Ctrl-C during as', () => {
  it('cancels the running statement on the server (its backend would run it to the end, holding its locks), exit 130', async () => {
    await db.sql.unsafe(`grant all on public.t to ${anon}`);
    // One statement, and a file's statements one by one: both paths of as.
    for (const sqlText of ['lock table public.t in access exclusive mode; select pg_sleep(60)', 'select 1;\nlock table public.t in access exclusive mode;\nselect pg_sleep(60);\n']) {
      const child = spawn(process.execPath, [CLI, '--db', db.url, 'as', '--anon', '--commit', '-c', sqlText], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      const running = () => db.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query like '%pg_sleep(60)%'`.then((r) => r[0]!['n'] as number);
      let exited: number | null | undefined;
      void closed.then((c) => (exited = c));
      for (const deadline = Date.now() + 45_000; Date.now() < deadline && exited === undefined && (await running()) === 0; ) await new Promise((r) => setTimeout(r, 50));
      expect(await running(), `exit ${exited}: ${stderr}`).toBe(1);
      child.kill('SIGINT');
      expect(await closed, stderr).toBe(130);
      expect(stderr).toBe('error: interrupted by SIGINT: nothing to clean up\n');
      // Cancelled before the command exited: nothing runs, and the table's lock is free.
      expect(await running()).toBe(0);
      const [lock] = await db.sql`select count(*)::int as n from pg_locks where relation = 'public.t'::regclass`;
      expect(lock).toEqual({ n: 0 });
    }
  }, 180_000);
});

describe('a connection lost while the catalog read opens its other lanes', () => {
  it('lint: exit 3, one line — not a command waiting for ever (postgres.js never settles a reserve() queued when another connection of its pool closes)', async () => {
    const net = await import('node:net');
    const target = new URL(db.url);
    // A TCP relay to the server that holds every connection after the first (the catalog read's
    // other lanes) until the server has ended the first, which runs the read's transaction.
    const held: Array<() => void> = [];
    const sockets: import('node:net').Socket[] = [];
    let accepted = 0;
    let holding = true;
    const relay = net.createServer((client) => {
      sockets.push(client);
      const pipe = () => {
        const upstream = net.connect(Number(target.port), target.hostname);
        sockets.push(upstream);
        client.pipe(upstream).pipe(client);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
      };
      if (accepted++ > 0 && holding) held.push(pipe);
      else pipe();
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const url = new URL(db.url);
    url.port = String((relay.address() as import('node:net').AddressInfo).port);
    const empty = tempDir('rg-lost-lanes-');
    try {
      for (const json of [false, true]) {
        accepted = 0;
        holding = true;
        held.length = 0;
        const run = runCli(['--db', url.href, ...(json ? ['--json'] : []), 'lint', '--all'], { cwd: empty, timeoutMs: 30_000 });
        let ended: { code: number } | undefined;
        void run.then((r) => (ended = r));
        for (const deadline = Date.now() + 45_000; held.length < 2 && !ended && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
        expect(held.length, JSON.stringify(ended)).toBe(2);
        await terminateWhen('true');
        holding = false;
        for (const go of held.splice(0)) go();
        const r = await run;
        const where = `127.0.0.1:${url.port}/${db.name}`;
        expect(r.code, r.stderr + r.stdout).toBe(3);
        if (json) {
          expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'db_unreachable', exitCode: 3 });
          expect(JSON.parse(r.stdout).error.message).toMatch(new RegExp(`^lost the connection to ${where.replace(/\./g, '\\.')}: `));
        } else {
          expect(r.stderr).toMatch(new RegExp(`^error: lost the connection to ${where.replace(/\./g, '\\.')}: [^\\n]+\\nhint: [^\\n]+\\n$`));
          expect(r.stdout).toBe('');
        }
      }
    } finally {
      for (const s of sockets) s.destroy();
      relay.close();
    }
  }, 120_000);
});

describe('a table another session holds (a migration running, a LOCK TABLE)', () => {
  it('lint and policy apply, diff and show stop after migrations.lockTimeout with one line, exit 1 — the catalog read (pg_get_expr opens the table) used to wait for as long as the lock was held', async () => {
    const locked = tempDir('rg-locked-');
    mkdirSync(join(locked, 'sql'));
    mkdirSync(join(locked, 'policies'));
    writeFileSync(join(locked, 'rowguard.config.json'), JSON.stringify({ migrations: { lockTimeout: '1s' }, api: { anonRole: anon } }));
    writeFileSync(join(locked, 'sql', '0001_t.sql'), 'create table public.t (a int);\n');
    writeFileSync(join(locked, 'policies', 'public.t.sql'), 'alter table public.t enable row level security;\ncreate policy p on public.t for select using (true);\n');
    // pg_get_expr reads a policy's expression by opening its table: one policy is enough.
    await db.sql.unsafe('create policy held on public.t for select using (a > 0)');
    const holder = await db.sql.reserve();
    try {
      await holder`begin`;
      await holder`lock table public.t in access exclusive mode`;
      for (const args of [['policy', 'apply'], ['policy', 'diff'], ['policy', 'show'], ['lint', '--all']]) {
        for (const json of [false, true]) {
          const started = Date.now();
          const r = await runCli(['--db', db.url, ...(json ? ['--json'] : []), ...args], { cwd: locked, timeoutMs: 30_000 });
          expect(r.code, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(1);
          expect(Date.now() - started).toBeLessThan(25_000);
          const message = 'reading the catalog waited longer than lock_timeout (1s) for a lock: another session holds a table it reads';
          if (json) expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'lock_timeout', message, exitCode: 1, pg: { sqlstate: '55P03' } });
          else expect(r.stderr.endsWith(`error: ${message} [55P03]\nhint: a migration or a LOCK TABLE is running (pg_stat_activity shows who waits: wait_event_type = 'Lock'); retry when it ends, or raise migrations.lockTimeout\n`), r.stderr).toBe(true);
        }
      }
    } finally {
      await holder`rollback`;
      holder.release();
      await db.sql.unsafe('drop policy held on public.t');
    }
    const [row] = await db.sql`select relrowsecurity from pg_class where oid = 'public.t'::regclass`;
    expect(row).toEqual({ relrowsecurity: false });
  }, 180_000);
});
