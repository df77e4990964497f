/**
 * Real pgTAP beside rowguard's runner: Debian's pgTAP SQL (postgresql-NN-pgtap) and pg_prove,
 * when the machine has them (`.ci/run` installs them, best effort). The tests that compare with
 * them are skipped, and reported so, when they are missing — or when they predate the server:
 * Debian's pgTAP 1.2 asks has_table_privilege(…, 'RULE'), which Postgres 18 no longer knows, and
 * psql 15 sends COPY's \. line to a server that no longer ends on it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { serverMajor } from './pg.js';

/** pgTAP 1.2's install script, or undefined. */
export function realPgtapSql(): string | undefined {
  const base = '/usr/share/postgresql';
  const found = existsSync(base)
    ? readdirSync(base).flatMap((v) => {
        const dir = join(base, v, 'extension');
        return existsSync(dir) ? readdirSync(dir).filter((f) => /^pgtap--\d+\.\d+\.\d+\.sql$/.test(f)).map((f) => join(dir, f)) : [];
      })
    : [];
  return ['/usr/share/postgresql/15/extension/pgtap--1.2.0.sql', ...found].find((p) => existsSync(p));
}

/** Whether real pgTAP can be compared with here: its SQL, pg_prove and psql, and a server they know. */
export function canCompareWithRealPgtap(): boolean {
  return realPgtapSql() !== undefined && spawnSync('pg_prove', ['--version']).status === 0 && spawnSync('psql', ['--version']).status === 0 && serverMajor() < 18;
}

/** `pg_prove -v <file>` against the database at `url`: its stdout and exit status. */
export function pgProve(url: string, file: string): { stdout: string; status: number | null } {
  const u = new URL(url);
  const p = spawnSync('pg_prove', ['-h', u.hostname, '-p', u.port, '-U', decodeURIComponent(u.username), '-d', decodeURIComponent(u.pathname.slice(1)), '-v', file], {
    env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) },
    encoding: 'utf8',
  });
  return { stdout: p.stdout, status: p.status };
}
