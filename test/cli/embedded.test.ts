// The embedded default as a user meets it: `rowguard db …` and commands without --db.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/pg.js';
import { freePort } from '../../cli/core/provision/embedded.js';

const root = mkdtempSync(join(tmpdir(), 'rg-embedded-'));
chmodSync(root, 0o755);
const env = { DATABASE_URL: undefined };
const cli = (args: string[]) => runCli(args, { cwd: root, env, timeoutMs: 120_000 });

afterAll(async () => {
  await cli(['db', 'stop']);
  rmSync(root, { recursive: true, force: true });
});

describe('rowguard db (embedded PostgreSQL 17)', () => {
  it('three commands starting it at once on a fresh data directory all get the one server (a CI matrix on one runner)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-embedded-race-'));
    chmodSync(dir, 0o755);
    const port = await freePort();
    writeFileSync(join(dir, 'rowguard.config.json'), JSON.stringify({ embedded: { port } }));
    const run = (args: string[]) => runCli(args, { cwd: dir, env, timeoutMs: 120_000 });
    try {
      const all = await Promise.all([1, 2, 3].map(() => run(['--json', 'db', 'start'])));
      for (const r of all) expect(r.code, r.stderr).toBe(0);
      expect(all.map((r) => (JSON.parse(r.stdout) as { started: boolean }).started).sort()).toEqual([false, false, true]);
      expect(new Set(all.map((r) => (JSON.parse(r.stdout) as { port: number }).port))).toEqual(new Set([port]));
      expect(existsSync(join(dir, '.rowguard', 'pgdata.lock'))).toBe(false);
    } finally {
      await run(['db', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('start initialises on first use, a second start is a no-op, status and url report it', async () => {
    const port = await freePort();
    writeFileSync(join(root, 'rowguard.config.json'), JSON.stringify({ embedded: { port } }));
    const first = await cli(['--json', 'db', 'start']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ started: true, running: true, port });
    expect(existsSync(join(root, '.rowguard', 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(readFileSync(join(root, '.rowguard', 'pgdata', 'PG_VERSION'), 'utf8').trim()).toBe('17');
    const second = await cli(['--json', 'db', 'start']);
    expect(JSON.parse(second.stdout)).toMatchObject({ started: false, running: true, port });
    const status = await cli(['--json', 'db', 'status']);
    expect(JSON.parse(status.stdout)).toMatchObject({ initialised: true, running: true, port });
    const url = await cli(['db', 'url']);
    expect(url.stdout.trim()).toMatch(new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${port}/postgres\\?sslmode=disable$`));
  });

  it('commands without --db use it (migrate up from this folder\'s sql/)', async () => {
    mkdirSync(join(root, 'sql'), { recursive: true });
    writeFileSync(join(root, 'sql', '0001_a.sql'), 'create table if not exists a (x int);\n');
    const r = await cli(['--json', 'migrate', 'up']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).applied.map((m: { version: string }) => m.version)).toEqual(['0001']);
  });

  it('stop stops it, and a stale postmaster.pid does not prevent the next start', async () => {
    const stop = await cli(['--json', 'db', 'stop']);
    expect(JSON.parse(stop.stdout)).toEqual({ stopped: true });
    expect(JSON.parse((await cli(['--json', 'db', 'status'])).stdout)).toMatchObject({ running: false });
    expect(JSON.parse((await cli(['--json', 'db', 'stop'])).stdout)).toEqual({ stopped: false });
    // A crash leaves postmaster.pid behind with a pid that is no longer postgres.
    const pidFile = join(root, '.rowguard', 'pgdata', 'postmaster.pid');
    writeFileSync(pidFile, `999999\n${join(root, '.rowguard', 'pgdata')}\n1700000000\n5432\n\n127.0.0.1\n  1  1\nready\n`);
    const r = await cli(['--json', 'db', 'start']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ started: true });
    // Data survived the restart.
    const st = await cli(['--json', 'migrate', 'status']);
    expect(JSON.parse(st.stdout).migrations[0].state).toBe('applied');
  });

  it('picks a free port when the configured one is taken', async () => {
    await cli(['db', 'stop']);
    const taken = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((res) => blocker.listen(taken, '127.0.0.1', () => res()));
    try {
      writeFileSync(join(root, 'rowguard.config.json'), JSON.stringify({ embedded: { port: taken } }));
      // Make the stored port the taken one too.
      const state = join(root, '.rowguard', 'pgdata.json');
      writeFileSync(state, JSON.stringify({ ...JSON.parse(readFileSync(state, 'utf8')), port: taken }));
      const r = await cli(['--json', 'db', 'start']);
      expect(r.code, r.stderr).toBe(0);
      const port = JSON.parse(r.stdout).port;
      expect(port).not.toBe(taken);
      expect((await cli(['--json', 'migrate', 'status'])).code).toBe(0);
    } finally {
      blocker.close();
    }
  });

  it('reset needs confirmation, then starts from an empty cluster', async () => {
    const refused = await cli(['db', 'reset']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    const r = await cli(['--json', 'db', 'reset', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const st = await cli(['--json', 'migrate', 'status']);
    expect(JSON.parse(st.stdout).migrations[0].state).toBe('pending');
  });
});
