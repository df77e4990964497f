/**
 * `rowguard audit verify` against a real audit.log: a superuser who turns the
 * triggers off (session_replication_role = replica, or ALTER TABLE … DISABLE
 * TRIGGER) and modifies, deletes or inserts a row is caught at that row; a cut
 * tail is caught through --expect-head; concurrent writers keep the chain valid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, runCli, type TestDatabase } from '../helpers/pg.js';
import { connect, type Sql } from '../../cli/core/db.js';
import { runAsRequest } from '../../cli/core/postgrest/request.js';
import { verifyAuditLog } from '../../cli/core/audit/verify.js';
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
  await db.sql`select audit.log_auth_event('login', ${IDS.a}::uuid, '{"provider":"email"}')`;
});
afterAll(async () => {
  await db?.drop();
});

async function head(sql: Sql): Promise<{ id: string; hash: string }> {
  const [r] = await sql<{ id: string; hash: string }[]>`select l.id::text, l.hash from audit.log l order by l.id desc limit 1`;
  return r!;
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
    await tx`insert into audit.log select * from public.saved_audit_rows order by id`;
  });
}

describe('an intact log', () => {
  it('verifies in small batches, with the same head as the table', async () => {
    const r = await verifyAuditLog(db.sql, { batchSize: 7 });
    const [n] = await db.sql<{ n: number }[]>`select count(*)::int as n from audit.log`;
    expect(n!.n).toBeGreaterThan(20);
    expect(r).toMatchObject({ ok: true, rows: n!.n, breaks: 0, firstBreak: null, head: await head(db.sql) });
  });

  it('CLI: exit 0, prints the head; --json gives the result object', async () => {
    const h = await head(db.sql);
    const text = await runCli(['--db', db.url, 'audit', 'verify']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('audit chain ok');
    expect(text.stdout).toContain(`head ${h.id}:${h.hash}`);
    const json = await runCli(['--db', db.url, '--json', 'audit', 'verify', '--expect-head', `${h.id}:${h.hash}`]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, head: h, firstBreak: null, expectedHead: { id: h.id, found: true, ok: true } });
  });

  it('CLI: a malformed --expect-head is a usage error (exit 2)', async () => {
    const r = await runCli(['--db', db.url, 'audit', 'verify', '--expect-head', 'latest']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--expect-head must be <id>:<64 hex digits>');
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
      expect(r.firstBreak).toMatchObject({ kind: 'hash_mismatch', id: target });
      expect(r.breaks).toBe(1);
      const cli = await runCli(['--db', db.url, 'audit', 'verify']);
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain(`audit chain BROKEN at row ${target}`);
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

  it('a deleted row shows as a gap at the next row', async () => {
    await save('id = 10');
    await tamper((tx) => tx`delete from audit.log where id = 10`);
    try {
      const r = await verifyAuditLog(db.sql);
      expect(r.firstBreak).toMatchObject({ kind: 'gap', id: '11', message: 'row 10 is missing (deleted) before row 11' });
    } finally {
      await restore();
    }
    expect((await verifyAuditLog(db.sql)).ok).toBe(true);
  });

  it('an inserted row is caught at its id', async () => {
    const h = await head(db.sql);
    const forged = String(Number(h.id) + 1);
    await tamper(
      (tx) => tx`insert into audit.log (id, at, txid, actor_id, db_role, operation, schema_name, table_name, new_row, hash)
                 values (${forged}, now(), pg_current_xact_id(), ${IDS.a}, 'authenticated', 'DELETE', 'public', 'deployments', '{"id": "gone"}', ${'a'.repeat(64)})`,
    );
    try {
      const r = await verifyAuditLog(db.sql);
      expect(r.firstBreak).toMatchObject({ kind: 'hash_mismatch', id: forged });
    } finally {
      await tamper((tx) => tx`delete from audit.log where id = ${forged}`);
    }
  });

  it('cut-off newest rows leave a valid chain, but --expect-head with an earlier head fails (exit 1)', async () => {
    // Two more appends, then record the head as an operator would.
    await db.sql`select audit.log_auth_event('logout', ${IDS.a}::uuid, '{}')`;
    await db.sql`select audit.log_auth_event('logout', ${IDS.b}::uuid, '{}')`;
    const recorded = await head(db.sql);
    await save(`id > ${Number(recorded.id) - 2}`);
    await tamper((tx) => tx`delete from audit.log where id > ${Number(recorded.id) - 2}`);
    try {
      expect((await verifyAuditLog(db.sql)).ok).toBe(true);
      const cli = await runCli(['--db', db.url, 'audit', 'verify', '--expect-head', `${recorded.id}:${recorded.hash}`]);
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain('expected head NOT in chain');
      expect(cli.stdout).toContain(`no row ${recorded.id}`);
    } finally {
      await restore();
    }
    const after = await runCli(['--db', db.url, 'audit', 'verify', '--expect-head', `${recorded.id}:${recorded.hash}`]);
    expect(after.code).toBe(0);
  });
});

describe('concurrent writers', () => {
  it('8 connections appending at once (single- and multi-row, some rolled back) leave a gap-free valid chain', async () => {
    const before = Number((await head(db.sql)).id);
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
    expect(Number(r.head!.id)).toBe(before + committedRows);
  });
});
