/**
 * Two `rowguard policy apply` on one database at once. The interleaving is forced: a session holds
 * a lock on a table the plan changes, so the first apply waits inside its transaction while the
 * second starts; only then is the lock released.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, freshDatabase, migrate, runCli, type TestDatabase } from '../helpers/pg.js';
import { CURRENT, makeProject } from './project.js';

let project: string;
let db: TestDatabase;

beforeAll(async () => {
  project = makeProject();
  // Long enough that the first apply waits on the held table lock instead of giving up.
  writeFileSync(join(project, 'rowguard.config.json'), JSON.stringify({ migrations: { lockTimeout: '60s' } }));
  db = await freshDatabase('rg_policy_conc');
  await migrate(db.url, join(project, 'sql'));
  await db.sql.unsafe(CURRENT);
});

afterAll(async () => {
  await db?.drop();
  if (project) rmSync(project, { recursive: true, force: true });
});

function start(args: string[]): { stderr: () => string; done: Promise<{ code: number; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: project, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((res) => child.on('close', (code) => res({ code: code ?? 1, stdout, stderr })));
  return { stderr: () => stderr, done };
}

async function until(what: string, cond: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

const appliesWaitingOnLocks = async () =>
  (await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and application_name = 'rowguard' and wait_event_type = 'Lock'`)[0]!.n;

describe('policy apply twice at once', () => {
  it('the second waits for the first, then finds nothing to apply (exit 0), instead of running a stale plan', async () => {
    const locker = await db.sql.reserve();
    try {
      await locker`begin`;
      await locker`lock table public.t_swap in share mode`;
      const first = start(['policy', 'apply', '--db', db.url]);
      await until('the first apply waits on the table', async () => (await appliesWaitingOnLocks()) === 1);
      const second = start(['policy', 'apply', '--db', db.url]);
      // With the runners' lock the second says it waits; without it, it would plan and wait on the table too.
      await until('the second apply waits', async () => /waiting for another/.test(second.stderr()) || (await appliesWaitingOnLocks()) >= 2);
      await locker`commit`;
      const [a, b] = await Promise.all([first.done, second.done]);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toMatch(/^applied \d+ statements in one transaction/);
      expect(b.code, b.stderr).toBe(0);
      expect(b.stdout.trim()).toBe('nothing to apply');
      expect(b.stderr).toMatch(/waiting for another migration runner or policy apply \(pid \d+\)…/);
    } finally {
      await locker`rollback`.catch(() => undefined);
      locker.release();
    }
    const again = await runCli(['policy', 'diff', '--db', db.url, '--exit-code'], { cwd: project });
    expect(again.code, again.stderr).toBe(0);
  });
});
