/**
 * One Postgres server for the whole run: DATABASE_URL when given, a
 * testcontainers PostgreSQL when ROWGUARD_TEST_ENGINE=docker, else an embedded
 * PostgreSQL 17 on a free port in a temporary data directory, removed at the end.
 * Each test file then creates its own database on it (test/helpers/pg.ts).
 */
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, start, destroy } from '../../cli/core/provision/embedded.js';
import { withSql } from '../../cli/core/db.js';
import { startDockerPostgres } from '../../cli/core/provision/docker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
    pgEngine: 'url' | 'docker' | 'embedded';
    /** The server's major version (15, 16, 17, …): tests of features newer than a server say so. */
    pgMajor: number;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const provide = async (url: string, engine: 'url' | 'docker' | 'embedded') => {
    project.provide('pgServerUrl', url);
    project.provide('pgEngine', engine);
    const [row] = await withSql(url, (sql) => sql<{ v: number }[]>`select current_setting('server_version_num')::int as v`);
    project.provide('pgMajor', Math.floor(row!.v / 10000));
  };
  if (process.env['DATABASE_URL']) {
    await provide(process.env['DATABASE_URL'], 'url');
    return async () => {};
  }
  if (process.env['ROWGUARD_TEST_ENGINE'] === 'docker') {
    const c = await startDockerPostgres(process.env);
    await provide(c.url, 'docker');
    return c.stop;
  }
  const root = mkdtempSync(join(tmpdir(), 'rowguard-test-'));
  chmodSync(root, 0o755); // the postgres user must reach its data directory when we run as root
  const dataDir = join(root, 'pgdata');
  const { url } = await start({ dataDir, port: await freePort() });
  await provide(url, 'embedded');
  return async () => {
    await destroy(dataDir);
    rmSync(root, { recursive: true, force: true });
  };
}
