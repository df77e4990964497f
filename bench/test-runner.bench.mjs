// rowguard test vs the floor: 500 checks, each authenticating as a different
// user and counting the rows RLS lets them see in a 100,000-row table.
//
//   floor     the same 500 checks as plain SQL in one session (set role and
//             claims, count, reset: the three statements each test runs), on
//             a database built from the same sql/ by the same engine
//   rowguard  runTests(): template from sql/, library, per-worker copies,
//             the 500 checks as pgTAP assertions in 10 files
//
// Both sides pay for building the database from sql/; the ratio compares the
// whole runs (target ≤ 2×), and the files phase is reported against the
// checks alone. With pg_prove and pgTAP installed (Debian: pgtap,
// postgresql-15-pgtap), pg_prove's time on the same files is reported too.
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, copyFileSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, withServer, median, ratioLine } from './lib/server.mjs';

const USERS = 500;
const ROWS = 100_000;
const FILES = 10;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const { runTests } = await import(join(ROOT, 'dist/cli/core/testing/runner.js'));
const { loadConfig } = await import(join(ROOT, 'dist/cli/core/config.js'));
const { up } = await import(join(ROOT, 'dist/cli/core/migrate/engine.js'));
const { connect, createThrowawayDatabase } = await import(join(ROOT, 'dist/cli/core/db.js'));

const BENCH_MIGRATION = `
-- ${USERS} users, each owning ${ROWS / USERS} of ${ROWS} rows; RLS as the schema's own tables do it.
insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
       'user' || i || '@bench.test', '{"provider":"email","providers":["email"]}', '{}', now(), now()
  from generate_series(1, ${USERS}) i;
create table public.bench_items (id bigint generated always as identity primary key, user_id uuid not null, payload text not null);
insert into public.bench_items (user_id, payload)
select u.id, md5(g::text) from auth.users u cross join generate_series(1, ${ROWS / USERS}) g where u.email like '%@bench.test';
create index bench_items_user_id_idx on public.bench_items (user_id);
alter table public.bench_items enable row level security;
alter table public.bench_items force row level security;
grant select on public.bench_items to authenticated;
create policy own_items on public.bench_items for select to authenticated using ((select auth.uid()) = user_id);
analyze public.bench_items;
`;

function makeProject() {
  const dir = mkdtempSync(join(tmpdir(), 'rowguard-bench-test-'));
  const sqlDir = join(dir, 'sql');
  const testDir = join(dir, 'test');
  mkdirSync(sqlDir);
  mkdirSync(testDir);
  for (const f of readdirSync(join(ROOT, 'sql'))) if (f.endsWith('.sql')) copyFileSync(join(ROOT, 'sql', f), join(sqlDir, f));
  writeFileSync(join(sqlDir, '9000_bench_items.sql'), BENCH_MIGRATION);
  const per = USERS / FILES;
  if (process.env.BENCH_KEEP) console.log('project:', dir);
  for (let f = 0; f < FILES; f++) {
    const lines = ['BEGIN;', `SELECT plan(${per});`];
    for (let i = f * per + 1; i <= (f + 1) * per; i++) {
      lines.push(`SELECT tests.authenticate_as('user${i}@bench.test');`);
      lines.push(`SELECT is((SELECT count(*)::int FROM public.bench_items), ${ROWS / USERS}, 'user${i} sees only their ${ROWS / USERS} rows');`);
      lines.push('SELECT tests.clear_authentication();');
    }
    lines.push('SELECT * FROM finish();', 'ROLLBACK;');
    writeFileSync(join(testDir, `rls_${String(f).padStart(2, '0')}.test.sql`), lines.join('\n') + '\n');
  }
  writeFileSync(join(dir, 'rowguard.config.json'), JSON.stringify({ sql: 'sql', test: 'test' }));
  return { dir, sqlDir, testDir };
}

/** The floor: one session, the same three statements per check, no TAP. */
async function floorChecks(url) {
  const sql = connect(url);
  try {
    const users = await sql`select id::text, email from auth.users where email like '%@bench.test' order by email`;
    await sql`begin`;
    for (const u of users) {
      const claims = JSON.stringify({ sub: u.id, role: 'authenticated', email: u.email, aud: 'authenticated' });
      await sql`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
      const [r] = await sql`select count(*)::int as n from public.bench_items`;
      if (r.n !== ROWS / USERS) throw new Error(`floor check saw ${r.n} rows for ${u.email}`);
      await sql`select set_config('role', 'none', true), set_config('request.jwt.claims', '', true)`;
    }
    await sql`rollback`;
  } finally {
    await sql.end();
  }
}

await withServer(async (serverUrl) => {
  const project = makeProject();
  const config = loadConfig({ cwd: project.dir });
  const jobs = availableParallelism();
  try {
    // Floor, whole: build the database from sql/ as the runner does, then the checks.
    let floorChecksMs = 0;
    const floorTotal = await median(RUNS, async () => {
      const db = await createThrowawayDatabase(serverUrl, { prefix: 'rowguard_bench_floor' });
      try {
        await up({ url: db.url, dir: project.sqlDir, displayRoot: project.dir, lockTimeout: '5s', statementTimeout: '0' });
        const t = performance.now();
        await floorChecks(db.url);
        floorChecksMs = performance.now() - t;
      } finally {
        await db.drop();
      }
    });

    let last;
    const rowguardTotal = await median(RUNS, async () => {
      last = await runTests({ serverUrl, config, cwd: project.dir, paths: [], jobs });
      if (!last.ok || last.counts.passed !== USERS) throw new Error(`rowguard test did not pass: ${JSON.stringify(last.counts)}`);
    });

    console.log(`${USERS} checks (each: authenticate as a different user, count visible rows of ${ROWS.toLocaleString('en')}), ${FILES} files, --jobs ${jobs}`);
    console.log(ratioLine('rowguard test (template + files) vs floor', rowguardTotal, floorTotal, 2));
    console.log(ratioLine('  files phase vs the checks alone', last.timings.filesMs, floorChecksMs));
    console.log(`  template build ${last.timings.templateMs.toFixed(0)} ms; ${(USERS / (last.timings.filesMs / 1000)).toFixed(0)} assertions/s in the files phase, ${(USERS / (rowguardTotal / 1000)).toFixed(0)} assertions/s overall`);

    // pg_prove with the real pgTAP on the same files, when installed.
    const pgtap = ['/usr/share/postgresql/15/extension/pgtap--1.2.0.sql'].find((p) => existsSync(p));
    const hasPgProve = spawnSync('pg_prove', ['--version']).status === 0;
    if (pgtap && hasPgProve) {
      const db = await createThrowawayDatabase(serverUrl, { prefix: 'rowguard_bench_pgprove' });
      try {
        await up({ url: db.url, dir: project.sqlDir, displayRoot: project.dir, lockTimeout: '5s', statementTimeout: '0' });
        const sql = connect(db.url);
        await sql.unsafe(readFileSync(pgtap, 'utf8')).simple();
        // The schema revokes EXECUTE from PUBLIC by default; the API roles the tests switch to need pgTAP.
        await sql.unsafe('grant execute on all functions in schema public to public');
        // The files call tests.*: install rowguard's helpers next to the real pgTAP.
        await sql.unsafe(readFileSync(join(ROOT, 'cli/assets/tests-helpers.sql'), 'utf8')).simple();
        await sql.end();
        const u = new URL(db.url);
        const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password) };
        const args = ['-h', u.hostname, '-p', u.port, '-U', decodeURIComponent(u.username), '-d', db.name, '-j', String(jobs), '--ext', '.sql', project.testDir];
        const pgProveMs = await median(RUNS, async () => {
          const r = spawnSync('pg_prove', args, { env, encoding: 'utf8' });
          if (r.status !== 0 || !/Result: PASS/.test(r.stdout)) throw new Error(`pg_prove did not pass: ${r.stdout}\n${r.stderr}`);
        });
        console.log(ratioLine('  pg_prove + pgTAP, files only (database prebuilt)', pgProveMs, floorChecksMs));
        console.log(ratioLine('  rowguard files phase vs pg_prove', last.timings.filesMs, pgProveMs));
      } finally {
        await db.drop();
      }
    } else {
      console.log('  pg_prove/pgTAP not installed: no pg_prove comparison');
    }
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(project.dir, { recursive: true, force: true });
  }
});
