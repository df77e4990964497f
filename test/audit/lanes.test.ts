/**
 * The audit log's lanes: concurrent appenders take different lanes instead of
 * queueing behind one lock, a transaction stays on its lane, a ninth
 * appender waits for one of the eight busy lanes, a forged lane hint cannot
 * put rows on a lane another transaction holds, and REPEATABLE READ conflicts
 * are 40001.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import { connect, type Sql } from '../../cli/core/db.js';
import { verifyAuditLog } from '../../cli/core/audit/verify.js';
import { IDS, seed } from '../security/seed.js';

let db: TestDatabase;
const open: Sql[] = [];

/** A connection of its own, for holding a transaction open. */
function session(): Sql {
  const s = connect(db.url, { max: 1 });
  open.push(s);
  return s;
}

const event = (s: Sql) => s`select audit.log_auth_event('token_refreshed', ${IDS.a}::uuid, '{}')`;
const laneOf = async (s: Sql) => (await s<{ lane: number }[]>`select lane from audit.log where txid = pg_current_xact_id() order by seq desc limit 1`)[0]?.lane;
const sqlstate = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

beforeAll(async () => {
  db = await freshDatabase('rg_audit_lanes');
  await migrate(db.url);
  await seed(db.sql);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.end({ timeout: 1 })));
  expect((await verifyAuditLog(db.sql)).ok).toBe(true);
});
afterAll(async () => {
  await db?.drop();
});

describe('lanes', () => {
  it('two open transactions append at once, on different lanes, without waiting for each other', async () => {
    const [t1, t2] = [session(), session()];
    await t1.unsafe('begin');
    await event(t1);
    await t2.unsafe("begin; set local lock_timeout = '2s'");
    expect(await sqlstate(event(t2))).toBe('ok');
    const [l1, l2] = [await laneOf(t1), await laneOf(t2)];
    expect(l1).not.toBe(l2);
    await t2.unsafe('commit');
    await t1.unsafe('commit');
  });

  it('a transaction keeps its lane for every append, with consecutive seqs, also after a rolled-back savepoint', async () => {
    const t = session();
    await t.unsafe('begin');
    await event(t);
    await t.unsafe('savepoint s');
    await t`insert into public.deployments (user_id, name) select ${IDS.a}, 'sp ' || g from generate_series(1, 3) g`;
    await t.unsafe('rollback to savepoint s');
    await t`insert into public.deployments (user_id, name) select ${IDS.b}, 'kept ' || g from generate_series(1, 4) g`;
    await t`update public.deployments set status = 'running' where name like 'kept %'`;
    const rows = await t<{ lane: number; seq: string }[]>`select lane, seq::text from audit.log where txid = pg_current_xact_id() order by id`;
    await t.unsafe('commit');
    expect(rows).toHaveLength(1 + 4 + 4);
    expect(new Set(rows.map((r) => r.lane)).size).toBe(1);
    const seqs = rows.map((r) => Number(r.seq));
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  });

  it('the transaction remembers its lane (audit.lane) until it ends, and a later append follows it even when a lane earlier in its order frees up', async () => {
    const [t, blocker] = [session(), session()];
    await blocker.unsafe('begin');
    await event(blocker);
    const blocked = await laneOf(blocker);
    // Steer t's first append past the blocker's lane: the hint names it, it is held, so t takes another.
    await t.unsafe(`begin; set local audit.lane = '${blocked}'`);
    await event(t);
    const first = await laneOf(t);
    expect(first).not.toBe(blocked);
    const [remembered] = await t<{ lane: string }[]>`select current_setting('audit.lane', true) as lane`;
    expect(Number(remembered!.lane)).toBe(first);
    await blocker.unsafe('commit'); // the blocked lane is free now
    await event(t);
    expect(await laneOf(t)).toBe(first);
    await t.unsafe('commit');
    const [after] = await t<{ lane: string | null }[]>`select nullif(current_setting('audit.lane', true), '') as lane`;
    expect(after!.lane).toBeNull();
  });

  it('with every lane held, the next appender waits for one, then appends', async () => {
    const n = 8; // the lanes of audit.append_rows()
    const holders = Array.from({ length: n }, () => session());
    for (const h of holders) {
      await h.unsafe('begin');
      await event(h);
    }
    expect(new Set(await Promise.all(holders.map(laneOf))).size).toBe(n);
    const late = session();
    await late.unsafe("begin; set local lock_timeout = '300ms'");
    expect(await sqlstate(event(late))).toBe('55P03'); // lock_not_available: it waited
    await late.unsafe('rollback');
    await late.unsafe("begin; set local lock_timeout = '5s'");
    const waiting = sqlstate(event(late));
    await Promise.all(holders.map((h) => h.unsafe('commit')));
    expect(await waiting).toBe('ok');
    await late.unsafe('commit');
  });

  it('a lane first taken inside a savepoint that rolls back goes to its waiter at once; the transaction appends after the waiter\'s row', async () => {
    const n = 8;
    const late = session();
    // With every lane held, an appender waits for its own backend's lane (pid % 8 + 1): that one is
    // taken by holder 0 inside a savepoint (the audit.lane hint picks a free lane), the others around it.
    const [{ pid }] = (await late`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
    const lane = (pid % n) + 1;
    const others = Array.from({ length: n }, (_, i) => i + 1).filter((l) => l !== lane);
    const holders = Array.from({ length: n }, () => session());
    for (const [i, h] of holders.entries()) {
      await h.unsafe(i === 0 ? 'begin; savepoint s' : 'begin');
      await h`select set_config('audit.lane', ${String(i === 0 ? lane : others[i - 1]!)}, true)`;
      await event(h);
    }
    expect(await Promise.all(holders.map(laneOf))).toEqual([lane, ...others]);
    await late.unsafe("begin; set local lock_timeout = '5s'");
    const waiting = sqlstate(event(late));
    for (let i = 0; ; i++) {
      const [w] = await db.sql<{ w: string | null }[]>`select wait_event_type as w from pg_stat_activity where pid = ${pid}`;
      if (w?.w === 'Lock') break;
      if (i > 500) throw new Error('the late appender never waited for a lane');
      await new Promise((r) => setTimeout(r, 10));
    }
    // Rolling back the savepoint releases the advisory lock taken in it, and forgets audit.lane.
    await holders[0]!.unsafe('rollback to savepoint s');
    expect(await waiting).toBe('ok');
    expect(await laneOf(late)).toBe(lane);
    await late.unsafe('commit');
    // The holder's next append waits for no one and continues that lane's chain after the late row.
    await event(holders[0]!);
    const [mine] = await holders[0]!<{ lane: number; seq: string }[]>`select lane, seq::text from audit.log where txid = pg_current_xact_id()`;
    const [theirs] = await db.sql<{ seq: string }[]>`select max(seq)::text as seq from audit.log where lane = ${lane}`;
    expect(mine).toEqual({ lane, seq: String(Number(theirs!.seq) + 1) });
    await Promise.all(holders.map((h) => h.unsafe('commit')));
  });

  it('a forged lane hint naming a held lane does not put rows on that lane', async () => {
    const [holder, forger] = [session(), session()];
    await holder.unsafe('begin');
    await event(holder);
    const lane = await laneOf(holder);
    await forger.unsafe(`begin; set local lock_timeout = '2s'; set local audit.lane = '${lane}'`);
    expect(await sqlstate(event(forger))).toBe('ok');
    expect(await laneOf(forger)).not.toBe(lane);
    await forger.unsafe('commit');
    // The holder is unaffected and its lane stays gap-free (checked after each test).
    await event(holder);
    await holder.unsafe('commit');
    // A hint that is not a lane is ignored.
    await forger.unsafe("begin; set local audit.lane = 'x; drop table audit.log'");
    expect(await sqlstate(event(forger))).toBe('ok');
    await forger.unsafe('commit');
  });

  it('REPEATABLE READ: appending to a lane that moved since the snapshot is 40001, never a fork', async () => {
    const [rr, other] = [session(), session()];
    await rr.unsafe('begin isolation level repeatable read');
    await rr`select count(*) from audit.log`; // takes the snapshot
    await event(other); // commits a row on some lane
    const [moved] = await db.sql<{ lane: number }[]>`select lane from audit.log order by id desc limit 1`;
    await rr.unsafe(`set local audit.lane = '${moved!.lane}'`); // steer rr onto that lane
    expect(await sqlstate(event(rr))).toBe('40001');
    await rr.unsafe('rollback');
    await rr.unsafe('begin isolation level repeatable read');
    await rr.unsafe(`set local audit.lane = '${moved!.lane}'`);
    expect(await sqlstate(event(rr))).toBe('ok'); // the retry succeeds
    await rr.unsafe('commit');
  });

  it('thousands of appends in one transaction stay on one lane, in order', async () => {
    await db.sql`insert into public.deployments (user_id, name) select ${IDS.a}, 'many ' || g from generate_series(1, 3000) g`;
    // UPDATE is captured per row: 3,000 appends in one transaction.
    await db.sql`update public.deployments set status = 'failed' where name like 'many %'`;
    const [r] = await db.sql<{ n: number; lanes: number; span: number }[]>`
      select count(*)::int as n, count(distinct lane)::int as lanes, (max(seq) - min(seq) + 1)::int as span
        from audit.log where operation = 'UPDATE' and new_row ->> 'name' like 'many %'`;
    expect(r).toEqual({ n: 3000, lanes: 1, span: 3000 });
  });
});
