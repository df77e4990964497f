/**
 * `rowguard audit verify` against a real audit.log: a superuser who turns the
 * triggers off (session_replication_role = replica, or ALTER TABLE … DISABLE
 * TRIGGER) and modifies, deletes or inserts a row is caught at that row; a cut
 * tail is caught through --expect-head; concurrent writers keep every lane valid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, runCli, type TestDatabase } from '../helpers/pg.js';
import { connect, type Sql } from '../../cli/core/db.js';
import { runAsRequest } from '../../cli/core/postgrest/request.js';
import { checkpointOf, formatCheckpoint, verifyAuditLog, type LaneHead } from '../../cli/core/audit/verify.js';
import { IDS, requestFor, seed } from '../security/seed.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('rg_audit_verify');
  await migrate(db.url);
  await seed(db.sql);
  for (let i = 0; i < 5; i++) {
    await runAsRequest(
      db.sql,
      requestFor(i % 2 ? 'a' : 'b', { headers: { 'user-agent': `agent ${i} ✓` } }),
      async (tx) => {
        const who = i % 2 ? IDS.a : IDS.b;
        await tx`insert into public.deployments (user_id, name) values (${who}, ${`déploiement ${i} 🚀`})`;
        await tx`update public.deployments set status = 'running' where user_id = ${who}`;
      },
      { commit: true },
    );
  }
  // Context strings JSON must escape (quotes, backslashes, control characters,
  // astral and line-separator characters), and a multi-row statement: the
  // SQL's json_build_array and verify's JSON.stringify must agree byte for byte.
  await runAsRequest(
    db.sql,
    requestFor('a', { headers: { 'user-agent': 'q"b\\s\t\u0001\u001f\u007f ä 😀 \u2028 end' } }),
    (tx) => tx`insert into public.deployments (user_id, name) select ${IDS.a}, 'bulk ' || g from generate_series(1, 3) g`,
    { commit: true },
  );
  await db.sql`select audit.log_auth_event('login', ${IDS.a}::uuid, '{"provider":"email"}')`;
});
afterAll(async () => {
  await db?.drop();
});

/** Each non-empty lane's last row, read straight from the table. */
async function laneHeads(sql: Sql): Promise<LaneHead[]> {
  return sql<LaneHead[]>`select distinct on (l.lane) l.lane::text, l.seq::text, l.hash from audit.log l order by l.lane, l.seq desc`;
}
async function head(sql: Sql): Promise<string> {
  return formatCheckpoint(checkpointOf(await laneHeads(sql)));
}
/** Where a row sits, and the row after it in its lane (if any). */
async function position(id: string): Promise<{ lane: string; seq: string; nextId: string | null }> {
  const [r] = await db.sql<{ lane: string; seq: string; next_id: string | null }[]>`
    select l.lane::text, l.seq::text,
           (select n.id::text from audit.log n where n.lane = l.lane and n.seq = l.seq + 1) as next_id
      from audit.log l where l.id = ${id}`;
  return { lane: r!.lane, seq: r!.seq, nextId: r!.next_id };
}

/** Run `fn` as a superuser with every trigger off, committed (what an attacker with superuser can do). */
async function tamper(fn: (tx: Sql) => Promise<unknown>): Promise<void> {
  await db.sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await fn(tx as unknown as Sql);
  });
}

/** Keep exact copies of rows (a round trip through JS would lose the microseconds of `at`). */
async function save(where: string): Promise<void> {
  await db.sql.unsafe(`create table if not exists public.saved_audit_rows (like audit.log); truncate public.saved_audit_rows;
                       insert into public.saved_audit_rows select * from audit.log where ${where}`);
}
async function restore(): Promise<void> {
  await tamper(async (tx) => {
    await tx`delete from audit.log where id in (select id from public.saved_audit_rows)`;
    await tx`insert into audit.log overriding system value select * from public.saved_audit_rows order by id`;
  });
}

describe('an intact log', () => {
  it('verifies in small batches, with the same lane heads as the table', async () => {
    const r = await verifyAuditLog(db.sql, { batchSize: 7 });
    const [n] = await db.sql<{ n: number }[]>`select count(*)::int as n from audit.log`;
    expect(n!.n).toBeGreaterThan(20);
    expect(r).toMatchObject({ ok: true, rows: n!.n, breaks: 0, firstBreak: null, lanes: await laneHeads(db.sql), head: await head(db.sql) });
  });

  it('CLI: exit 0, prints the head; --json gives the result object', async () => {
    const h = await head(db.sql);
    const text = await runCli(['--db', db.url, 'audit', 'verify']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('audit chain ok');
    expect(text.stdout).toContain(`head ${h}`);
    const json = await runCli(['--db', db.url, '--json', 'audit', 'verify', '--expect-head', h]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, head: h, firstBreak: null, expectedHead: { head: h, found: true, ok: true } });
  });

  it('CLI: a malformed --expect-head is a usage error (exit 2)', async () => {
    const r = await runCli(['--db', db.url, 'audit', 'verify', '--expect-head', 'latest']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--expect-head must be <lane>:<seq>[,<lane>:<seq>…]@<64 hex digits>');
  });

  it('CLI: a database without audit.log is a usage error (exit 2)', async () => {
    const empty = await freshDatabase('rg_audit_empty');
    try {
      const r = await runCli(['--db', empty.url, 'audit', 'verify']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('this database has no audit.log');
    } finally {
      await empty.drop();
    }
  });
});

describe('tampering by a superuser with the triggers off', () => {
  it('a modified row (session_replication_role = replica) is the first broken link; exit 1', async () => {
    const target = '7';
    await save(`id = ${target}`);
    await tamper((tx) => tx`update audit.log set new_row = jsonb_set(coalesce(new_row, '{}'), '{name}', '"edited"') where id = ${target}`);
    try {
      const r = await verifyAuditLog(db.sql);
      expect(r.ok).toBe(false);
      const at = await position(target);
      expect(r.firstBreak).toMatchObject({ kind: 'hash_mismatch', id: target, lane: at.lane, seq: at.seq });
      expect(r.breaks).toBe(1);
      const cli = await runCli(['--db', db.url, 'audit', 'verify']);
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain(`audit chain BROKEN at lane ${at.lane} row ${at.seq} (id ${target})`);
    } finally {
      await restore();
    }
    expect((await verifyAuditLog(db.sql)).ok).toBe(true);
  });

  it('a modified row (ALTER TABLE … DISABLE TRIGGER) is caught too', async () => {
    await save('id = 3');
    await db.sql.begin(async (tx) => {
      await tx`alter table audit.log disable trigger log_reject_update_delete`;
      await tx`update audit.log set actor_id = ${IDS.staff} where id = 3`;
      await tx`alter table audit.log enable trigger log_reject_update_delete`;
    });
    try {
      expect((await verifyAuditLog(db.sql)).firstBreak).toMatchObject({ kind: 'hash_mismatch', id: '3' });
    } finally {
      await restore();
    }
  });

  it('a deleted row shows as a gap at the next row of its lane', async () => {
    const at = await position('10');
    expect(at.nextId).not.toBeNull();
    await save('id = 10');
    await tamper((tx) => tx`delete from audit.log where id = 10`);
    try {
      const r = await verifyAuditLog(db.sql);
      expect(r.firstBreak).toMatchObject({
        kind: 'gap',
        id: at.nextId,
        lane: at.lane,
        message: `lane ${at.lane}: row ${at.seq} is missing (deleted) before row ${Number(at.seq) + 1}`,
      });
    } finally {
      await restore();
    }
    expect((await verifyAuditLog(db.sql)).ok).toBe(true);
  });

  it('an inserted row is caught where it sits', async () => {
    const [last] = await laneHeads(db.sql);
    const [forged] = await db.sql<{ id: string }[]>`select pg_catalog.nextval('audit.log_id_seq')::text as id`;
    await tamper(
      (tx) => tx`insert into audit.log (id, lane, seq, at, txid, actor_id, db_role, operation, schema_name, table_name, new_row, hash) overriding system value
                 values (${forged!.id}, ${last!.lane}, ${Number(last!.seq) + 1}, now(), pg_current_xact_id(), ${IDS.a}, 'authenticated', 'DELETE', 'public', 'deployments', '{"id": "gone"}', ${'a'.repeat(64)})`,
    );
    try {
      const r = await verifyAuditLog(db.sql);
      expect(r.firstBreak).toMatchObject({ kind: 'hash_mismatch', id: forged!.id, lane: last!.lane, seq: String(Number(last!.seq) + 1) });
    } finally {
      await tamper((tx) => tx`delete from audit.log where id = ${forged!.id}`);
    }
  });

  it('cut-off newest rows leave valid chains, but --expect-head with an earlier checkpoint fails (exit 1)', async () => {
    // Two more appends, then record the checkpoint as an operator would.
    await db.sql`select audit.log_auth_event('logout', ${IDS.a}::uuid, '{}')`;
    await db.sql`select audit.log_auth_event('logout', ${IDS.b}::uuid, '{}')`;
    const recorded = await head(db.sql);
    const [last] = await db.sql<{ id: string; lane: string; seq: string }[]>`select l.id::text, l.lane::text, l.seq::text from audit.log l order by l.id desc limit 1`;
    await save(`id = ${last!.id}`);
    await tamper((tx) => tx`delete from audit.log where id = ${last!.id}`);
    try {
      expect((await verifyAuditLog(db.sql)).ok).toBe(true);
      const cli = await runCli(['--db', db.url, 'audit', 'verify', '--expect-head', recorded]);
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain('expected head NOT in chain');
      expect(cli.stdout).toContain(`before the recorded lane ${last!.lane} row ${last!.seq}: rows were cut off after the checkpoint`);
    } finally {
      await restore();
    }
    const after = await runCli(['--db', db.url, 'audit', 'verify', '--expect-head', recorded]);
    expect(after.code).toBe(0);
  });

  it('a forged row in a lane append_rows never writes (0 or below, or 9) is read and caught, not skipped; exit 1', async () => {
    const [forged] = await db.sql<{ id: string }[]>`select pg_catalog.nextval('audit.log_id_seq')::text as id`;
    for (const [lane, seq] of [[-1, 1], [0, -5], [9, 1]] as const) {
      await tamper(
        (tx) => tx`insert into audit.log (id, lane, seq, at, txid, db_role, operation, event, new_row, hash) overriding system value
                   values (${forged!.id}, ${lane}, ${seq}, now(), pg_current_xact_id(), 'postgres', 'EVENT', 'login', '{}', ${'b'.repeat(64)})`,
      );
      try {
        const r = await verifyAuditLog(db.sql, { batchSize: 4 });
        expect(r.ok).toBe(false);
        expect(r.firstBreak).toMatchObject({ kind: 'bad_lane', id: forged!.id, lane: String(lane), seq: String(seq) });
        const cli = await runCli(['--db', db.url, 'audit', 'verify']);
        expect(cli.code).toBe(1);
        expect(cli.stdout).toContain(`audit chain BROKEN at lane ${lane} row ${seq} (id ${forged!.id}): lane ${lane} does not exist`);
      } finally {
        await tamper((tx) => tx`delete from audit.log where id = ${forged!.id}`);
      }
    }
    expect((await verifyAuditLog(db.sql)).ok).toBe(true);
  });

  it('a row with no lane or no seq (key and NOT NULL dropped) is counted, not skipped: one line, exit 1, no stack trace', async () => {
    const [forged] = await db.sql<{ id: string }[]>`select pg_catalog.nextval('audit.log_id_seq')::text as id`;
    const [mid] = await db.sql<{ lane: number }[]>`select l.lane from audit.log l order by l.id limit 1`;
    await tamper(async (tx) => {
      await tx`alter table audit.log drop constraint log_pkey`;
      await tx`alter table audit.log alter column lane drop not null, alter column seq drop not null`;
      await tx`insert into audit.log (id, lane, seq, at, txid, db_role, operation, event, new_row, hash) overriding system value
               values (${forged!.id}, null, 1, now(), pg_current_xact_id(), 'postgres', 'EVENT', 'login', '{}', ${'c'.repeat(64)}),
                      (${forged!.id}, ${mid!.lane}, null, now(), pg_current_xact_id(), 'postgres', 'EVENT', 'login', '{}', ${'c'.repeat(64)})`;
    });
    try {
      for (const batchSize of [2, 5000]) {
        const r = await verifyAuditLog(db.sql, { batchSize });
        expect(r).toMatchObject({ ok: false, firstBreak: null, breaks: 0, unchained: 2 });
      }
      const cli = await runCli(['--db', db.url, 'audit', 'verify', '--batch-size', '3']);
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain('audit chain BROKEN: 2 rows have no lane or seq (NULL): outside every chain, so inserted or moved out of one');
      expect(cli.stderr).toBe('');
    } finally {
      await tamper(async (tx) => {
        await tx`delete from audit.log where id = ${forged!.id}`;
        await tx`alter table audit.log alter column lane set not null, alter column seq set not null`;
        await tx`alter table audit.log add constraint log_pkey primary key (lane, seq)`;
      });
    }
    expect((await verifyAuditLog(db.sql)).ok).toBe(true);
  });
});

describe('concurrent writers', () => {
  it('8 connections appending at once (single- and multi-row, some rolled back) use several lanes, each gap-free and valid', async () => {
    const [before] = await db.sql<{ n: number }[]>`select count(*)::int as n from audit.log`;
    const writers = Array.from({ length: 8 }, () => connect(db.url, { max: 1 }));
    let committedRows = 0;
    try {
      await Promise.all(
        writers.map(async (w, wi) => {
          for (let t = 0; t < 12; t++) {
            const n = 1 + ((wi + t) % 4);
            const rollback = t % 5 === 4;
            await w
              .begin(async (tx) => {
                await tx`insert into public.deployments (user_id, name) select ${wi % 2 ? IDS.a : IDS.b}, 'w' || ${wi} || '-' || g from generate_series(1, ${n}) g`;
                if (t % 3 === 0) await tx`select audit.log_auth_event('token_refreshed', null, '{}')`;
                if (rollback) throw new Error('rollback');
              })
              .then(() => {
                committedRows += n + (t % 3 === 0 ? 1 : 0);
              })
              .catch((e: Error) => {
                if (e.message !== 'rollback') throw e;
              });
          }
        }),
      );
    } finally {
      await Promise.all(writers.map((w) => w.end()));
    }
    const r = await verifyAuditLog(db.sql, { batchSize: 50 });
    expect(r.ok).toBe(true);
    expect(r.rows).toBe(before!.n + committedRows);
    expect(r.lanes.length).toBeGreaterThan(1);
    // Each transaction's rows stay in one lane, in order.
    const split = await db.sql<{ txid: string }[]>`select txid::text from audit.log group by txid having count(distinct lane) > 1`;
    expect(split).toEqual([]);
  });
});
