// The start lock beside the embedded data folder: commands started at once take turns starting the
// server, and a lock left by a dead process is taken over — by one waiter only.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStartTime, withStartLock } from '../../cli/core/provision/embedded.js';

const root = mkdtempSync(join(tmpdir(), 'rg-start-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A pid that was just used by a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the embedded start lock', () => {
  it('two waiters that both see the holder dead: one takes the lock over, the other waits for it (never both inside)', async () => {
    const dataDir = join(root, 'race', 'pgdata');
    const lock = `${dataDir}.lock`;
    await withStartLock(dataDir, async () => undefined); // creates the parent folder
    writeFileSync(lock, String(deadPid()));

    // Both waiters read the dead holder before either acts on it; then A acts, and B only once A holds the lock.
    let arrived = 0;
    const both = deferred();
    const arrive = async () => {
      if (++arrived === 2) both.resolve();
      await both.promise;
    };
    const aInside = deferred();
    let inside = 0;
    let most = 0;
    const order: string[] = [];
    const critical = async (who: string, holdMs: number) => {
      inside++;
      most = Math.max(most, inside);
      order.push(`${who} in`);
      if (who === 'A') aInside.resolve();
      await sleep(holdMs);
      order.push(`${who} out`);
      inside--;
    };
    let bSawDead = 0;
    const a = withStartLock(dataDir, () => critical('A', 300), { pollMs: 5, sawDeadHolder: arrive });
    const b = withStartLock(dataDir, () => critical('B', 10), {
      pollMs: 5,
      sawDeadHolder: async () => {
        bSawDead++;
        await arrive();
        await aInside.promise;
      },
    });
    await Promise.all([a, b]);
    expect(arrived).toBe(2); // the interleaving really happened
    expect(bSawDead).toBe(1);
    expect(most).toBe(1);
    expect(order).toEqual(['A in', 'A out', 'B in', 'B out']);
    expect(existsSync(lock)).toBe(false);
    expect(readdirSync(join(root, 'race'))).toEqual([]); // no takeover or link files left behind
  });

  it('a live holder is waited for, then the lock is released by its own holder only', async () => {
    const dataDir = join(root, 'live', 'pgdata');
    const lock = `${dataDir}.lock`;
    const order: string[] = [];
    const first = withStartLock(dataDir, async () => {
      order.push('1 in');
      await sleep(150);
      order.push('1 out');
    }, { pollMs: 5 });
    await sleep(20);
    const second = withStartLock(dataDir, async () => {
      order.push('2 in');
      // Someone replaced the lock by hand meanwhile: releasing must not remove theirs.
      rmSync(lock);
      writeFileSync(lock, `${process.pid} someone-else`);
    }, { pollMs: 5 });
    await Promise.all([first, second]);
    expect(order).toEqual(['1 in', '1 out', '2 in']);
    expect(existsSync(lock)).toBe(true);
    rmSync(lock);
  });

  it('a live holder that keeps it past the wait is one provision error naming the pid and the lock file', async () => {
    const dataDir = join(root, 'stuck', 'pgdata');
    const lock = `${dataDir}.lock`;
    await withStartLock(dataDir, async () => undefined);
    writeFileSync(lock, `${process.pid} held`);
    await expect(withStartLock(dataDir, async () => 'ran', { pollMs: 5, waitMs: 50 })).rejects.toMatchObject({
      code: 'provision',
      message: expect.stringContaining(`pid ${process.pid}`),
      hint: expect.stringContaining(lock),
    });
    expect(existsSync(lock)).toBe(true);
    rmSync(lock);
  });
});

describe('the embedded start lock, a takeover left behind', () => {
  it('a takeover file of a waiter that died inside it is waited on, then named in the error (no busy loop, no double takeover)', async () => {
    const dataDir = join(root, 'guard', 'pgdata');
    const lock = `${dataDir}.lock`;
    await withStartLock(dataDir, async () => undefined);
    const seen = String(deadPid());
    writeFileSync(lock, seen);
    const { createHash } = await import('node:crypto');
    const guard = `${lock}.takeover-${createHash('sha256').update(seen).digest('hex').slice(0, 16)}`;
    writeFileSync(guard, '');
    let polls = 0;
    await expect(
      withStartLock(dataDir, async () => 'ran', { pollMs: 10, waitMs: 100, sawDeadHolder: async () => void polls++ }),
    ).rejects.toMatchObject({ code: 'provision', hint: expect.stringContaining(guard) });
    expect(polls).toBeGreaterThan(2);
    expect(polls).toBeLessThan(30); // it slept between polls
    expect(existsSync(lock)).toBe(true); // it did not remove the lock someone else is taking over
  });

  it('a lock whose pid now belongs to another process (it started after the lock was written) is taken over at once', async () => {
    const dataDir = join(root, 'reused', 'pgdata');
    const lock = `${dataDir}.lock`;
    await withStartLock(dataDir, async () => undefined);
    const started = processStartTime(process.pid);
    expect(started).toMatch(/^\d+$/); // Linux: /proc/<pid>/stat
    // Our pid is alive, but the holder that wrote this lock started at another time: it was not us.
    writeFileSync(lock, `${process.pid} 0123456789abcdef ${Number(started) + 1}`);
    expect(await withStartLock(dataDir, async () => 'ran', { pollMs: 5, waitMs: 200 })).toBe('ran');
    // The same pid with its real start time is a live holder: waited for, then the error.
    writeFileSync(lock, `${process.pid} 0123456789abcdef ${started}`);
    await expect(withStartLock(dataDir, async () => 'ran', { pollMs: 5, waitMs: 50 })).rejects.toMatchObject({ code: 'provision' });
    rmSync(lock);
  });
});

describe('stop and reset beside a start', () => {
  it('db reset waits for a start in progress on the same folder instead of removing it under initdb', async () => {
    const { destroy } = await import('../../cli/core/provision/embedded.js');
    const { mkdirSync } = await import('node:fs');
    const dataDir = join(root, 'reset', 'pgdata');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let initialised = false;
    // Stands in for a start that is initialising the folder while holding the lock.
    const starting = withStartLock(dataDir, async () => {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dataDir, 'PG_VERSION'), '17\n');
      await held;
      initialised = existsSync(join(dataDir, 'PG_VERSION'));
    });
    await sleep(20);
    const reset = destroy(dataDir);
    await sleep(200);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true); // reset is waiting
    release();
    await Promise.all([starting, reset]);
    expect(initialised).toBe(true); // the start saw its folder whole
    expect(existsSync(dataDir)).toBe(false); // then reset removed it
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
  });
});
