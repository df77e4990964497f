/**
 * Closing a pool (closeSql): a statement still running gets its grace to finish, but a pool one of
 * whose sessions the server ended closes at once. postgres.js 3.4.9 keeps the statement a closed
 * connection was running, so its own end() waits out the whole timeout: every command whose
 * session was ended under it (matrix, migrate, a test file) stalled 5 s before it said so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSql, connect } from '../../cli/core/db.js';
import { freshDatabase, type TestDatabase } from '../helpers/pg.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('rg_close');
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

/** Whether `p` settles before `ms` milliseconds pass. */
const settlesWithin = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('closeSql', () => {
  it('a pool whose running statement the server ended (pg_terminate_backend) closes without waiting out the 5 s grace', async () => {
    const sql = connect(db.url, { max: 2, connection: { application_name: 'rg_close_ended' } });
    const sleeping = sql`select pg_catalog.pg_sleep(30)`.then(
      () => 'finished',
      (err: { code?: string }) => err.code ?? 'failed',
    );
    for (let ended = 0; ended === 0; ) {
      await new Promise((r) => setTimeout(r, 20));
      const rows = await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'rg_close_ended' and state = 'active'`;
      ended = rows.length;
    }
    expect(await sleeping).toMatch(/^(57P01|CONNECTION_CLOSED)$/);
    // The driver alone (sql.end({ timeout: 5 })) settles only when its 5 s timer fires.
    expect(await settlesWithin(closeSql(sql), 4_000)).toBe(true);
  });

  it('a statement still running on a live pool is let finish, not cut off', async () => {
    const sql = connect(db.url, { max: 1 });
    await sql`select 1`;
    const running = sql<{ x: number }[]>`select 7 as x from pg_catalog.pg_sleep(0.3)`.execute();
    await new Promise((r) => setTimeout(r, 50));
    await closeSql(sql);
    expect((await running)[0]!.x).toBe(7);
  });
});
