// Migration engine benchmark (issue 2). Median of 7, each on a fresh database:
//   floor   = the same SQL concatenated and sent in one transaction as one simple query
//             (and `psql -1 -f` when psql is on the machine, for reference)
//   rowguard migrate up from empty (the CLI, as a user runs it)
//   rowguard migrate up when everything is applied (no-op) vs node -e 0 plus one round trip
//   rowguard --help vs node -e 0
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, execFileSync } from 'node:child_process';
import { withServer, median, ratioLine, CLI, ROOT } from './lib/server.mjs';

const { connect, createThrowawayDatabase } = await import(join(ROOT, 'dist/cli/core/db.js'));
const RUNS = 7;
const N = 300;

const prelude = `
do $$ begin
  if not exists (select from pg_roles where rolname = 'authenticated') then create role authenticated nologin; end if;
exception when duplicate_object or unique_violation then null; end $$;
create schema if not exists auth;
create or replace function auth.uid() returns uuid language sql stable
  as $f$ select (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $f$;
`;


function migration(i) {
  const t = `t${String(i).padStart(4, '0')}`;
  return `create table public.${t} (id uuid primary key default gen_random_uuid(), user_id uuid not null, body text);
create index ${t}_user_id on public.${t} (user_id);
alter table public.${t} enable row level security;
create policy ${t}_select on public.${t} for select to authenticated using ((select auth.uid()) = user_id);
create policy ${t}_insert on public.${t} for insert to authenticated with check ((select auth.uid()) = user_id);
`;
}

const dir = mkdtempSync(join(tmpdir(), 'rowguard-bench-mig-'));
mkdirSync(join(dir, 'sql'));
writeFileSync(join(dir, 'sql', '0000_prelude.sql'), prelude);
const parts = [prelude];
for (let i = 1; i <= N; i++) {
  const m = migration(i);
  parts.push(m);
  writeFileSync(join(dir, 'sql', `${String(i).padStart(4, '0')}_table_${i}.sql`), m);
}
const all = parts.join('\n');
writeFileSync(join(dir, 'all.sql'), all);

const hasPsql = spawnSync('psql', ['--version']).status === 0;

await withServer(async (server) => {
  const run = (args, url) => {
    const r = spawnSync(process.execPath, [CLI, '--db', url, ...args], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rowguard ${args.join(' ')} failed: ${r.stderr}`);
  };
  let db;
  const fresh = async () => {
    if (db) await db.drop();
    db = await createThrowawayDatabase(server, { prefix: 'bench_mig' });
  };

  // Interleaved (floor, psql, rowguard on fresh databases, run after run) so that all
  // three see the same machine conditions; the medians are taken per series.
  const series = { floor: [], psql: [], up: [] };
  const timed = async (list, fn) => {
    await fresh();
    const t0 = performance.now();
    await fn();
    list.push(performance.now() - t0);
  };
  for (let i = 0; i < RUNS; i++) {
    await timed(series.floor, async () => {
      const sql = connect(db.url);
      await sql.begin(async (tx) => void (await tx.unsafe(all).simple()));
      await sql.end();
    });
    if (hasPsql) await timed(series.psql, async () => execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-1', '-f', join(dir, 'all.sql'), db.url], { stdio: 'ignore' }));
    await timed(series.up, async () => run(['migrate', 'up'], db.url));
  }
  const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const floor = mid(series.floor);
  const psqlFloor = hasPsql ? mid(series.psql) : undefined;
  const up = mid(series.up);
  const noop = await median(RUNS, async () => run(['migrate', 'up'], db.url));

  const nodeZero = await median(RUNS, async () => void spawnSync(process.execPath, ['-e', '0']));
  const roundTrip = await median(RUNS, async () => {
    const sql = connect(db.url);
    await sql`select 1`;
    await sql.end();
  });
  const help = await median(RUNS, async () => void spawnSync(process.execPath, [CLI, '--help']));
  await db.drop();

  console.log(`${N} migrations (table + index + RLS + 2 policies each), median of ${RUNS}`);
  console.log(ratioLine('one simple query in one transaction (floor)', floor, floor));
  if (psqlFloor !== undefined) console.log(ratioLine('psql -1 -f (reference)', psqlFloor, floor));
  console.log(ratioLine('rowguard migrate up (from empty)', up, floor, 1.5));
  console.log(ratioLine('rowguard migrate up (no-op)', noop, nodeZero + roundTrip, 2.5));
  console.log(ratioLine('rowguard --help', help, nodeZero, 2));
  console.log(`(node -e 0: ${nodeZero.toFixed(1)} ms; connect + one round trip: ${roundTrip.toFixed(1)} ms)`);
});
rmSync(dir, { recursive: true, force: true });
