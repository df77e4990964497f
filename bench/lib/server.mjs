// Benchmarks' Postgres: DATABASE_URL when given, else a fresh embedded PostgreSQL
// 17 in a temporary folder (removed at the end). Uses the built CLI modules.
//
// The embedded server runs rowguard's development profile (fsync,
// synchronous_commit and full_page_writes off: durability traded for test
// speed). A bench whose floor includes commits can ask for the durable settings
// a deployment runs with `withServer(fn, { durable: true })` (ignored with
// DATABASE_URL, whose server is what it is: see `durability()`).
import { mkdtempSync, rmSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** Postgres's own defaults for the settings the development profile turns off. */
export const DURABLE_SETTINGS = { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' };

export async function withServer(fn, { durable = false } = {}) {
  if (process.env.DATABASE_URL) return fn(process.env.DATABASE_URL);
  const embedded = await import(join(ROOT, 'dist/cli/core/provision/embedded.js'));
  const root = mkdtempSync(join(tmpdir(), 'rowguard-bench-'));
  chmodSync(root, 0o755);
  const dataDir = join(root, 'pgdata');
  const { url } = await embedded.start({ dataDir, port: await embedded.freePort(), settings: durable ? DURABLE_SETTINGS : undefined });
  try {
    return await fn(url);
  } finally {
    await embedded.destroy(dataDir);
    rmSync(root, { recursive: true, force: true });
  }
}

/** Median of `runs` timings (ms) of an async function; `setup` runs before each, untimed. */
export function median(runs, fn, setup) {
  return medianTimed(runs, async (i) => {
    if (setup) await setup(i);
    const t0 = performance.now();
    await fn(i);
    return performance.now() - t0;
  });
}

/** Median of `runs` values (ms) that `fn` measures itself (for timings that exclude set-up done inside it). */
export async function medianTimed(runs, fn) {
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await fn(i));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export function ratioLine(label, value, floor, target) {
  const ratio = value / floor;
  const verdict = target === undefined ? '' : ratio <= target ? `  ok (target ≤ ${target}×)` : `  MISSED (target ≤ ${target}×)`;
  return `${label.padEnd(48)} ${value.toFixed(1).padStart(9)} ms  vs floor ${floor.toFixed(1).padStart(9)} ms  = ${ratio.toFixed(2)}×${verdict}`;
}

/**
 * A reader of the CPU time (ns) a connection's backend has used, from its
 * /proc/<pid>/schedstat, when the server runs on this machine (Linux); else null.
 */
export async function backendCpuReader(sql, url) {
  const [{ pid }] = await sql`select pg_backend_pid() as pid`;
  const read = () => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  try {
    const local = ['localhost', '127.0.0.1', '[::1]'].includes(new URL(url).hostname);
    return local && readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres') && Number.isFinite(read()) ? read : null;
  } catch {
    return null;
  }
}

/** Whether a server's commits are durable: fsync and synchronous_commit on (as Postgres ships). */
export async function durability(sql) {
  const [{ fsync, sc, fpw }] = await sql`select current_setting('fsync') as fsync, current_setting('synchronous_commit') as sc, current_setting('full_page_writes') as fpw`;
  return { durable: fsync === 'on' && sc !== 'off', text: `fsync=${fsync}, synchronous_commit=${sc}, full_page_writes=${fpw}` };
}
