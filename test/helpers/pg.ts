/**
 * Per-file databases on the run's server (see global-setup.ts), and a way to
 * run the built CLI as a user would.
 */
import { inject } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { connect, createThrowawayDatabase, type Sql } from '../../cli/core/db.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');

export function serverUrl(): string {
  return inject('pgServerUrl');
}

/** The test server's major version: a case that needs a newer server is skipped there, by name. */
export function serverMajor(): number {
  return inject('pgMajor');
}

/**
 * SQL making `member` a member of `role` without inheriting its privileges: WITH INHERIT FALSE
 * since Postgres 16; before, through a NOINHERIT go-between role (`<member>_noinherit`), which
 * the catalog reads the same way (rolinherit).
 */
export function notInheritedGrant(role: string, member: string): string {
  if (serverMajor() >= 16) return `grant ${role} to ${member} with inherit false;`;
  const via = `${member}_noinherit`;
  return `create role ${via} nologin noinherit; grant ${role} to ${via}; grant ${via} to ${member};`;
}

export interface TestDatabase {
  name: string;
  url: string;
  /** A small pool on the database; closed by drop(). */
  sql: Sql;
  drop(): Promise<void>;
}

/** A new, empty database (dropped by `drop()`). */
export async function freshDatabase(prefix = 'rg_test'): Promise<TestDatabase> {
  const db = await createThrowawayDatabase(serverUrl(), { prefix });
  const sql = connect(db.url, { max: 4 });
  return {
    name: db.name,
    url: db.url,
    sql,
    drop: async () => {
      await sql.end({ timeout: 5 }).catch(() => undefined);
      await db.drop();
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `node dist/cli/main.js …` (built by `npm test`'s pretest). */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: '1', ...opts.env })) if (v !== undefined) env[k] = v;
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Apply a migrations folder (default: the project's sql/) with the real engine. */
export async function migrate(url: string, dir = join(REPO_ROOT, 'sql')): Promise<void> {
  const { up } = await import('../../cli/core/migrate/engine.js');
  await up({ url, dir, displayRoot: REPO_ROOT, lockTimeout: '5s', statementTimeout: '0' });
}
