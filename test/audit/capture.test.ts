/**
 * What the audit log captures (actor, request, row images with secrets
 * redacted, auth events), and that it is append-only for everyone: API roles,
 * a non-superuser owner, and a superuser while the triggers are in place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import { verifyAuditLog } from '../../cli/core/audit/verify.js';
import { connect, type Sql, type TransactionSql } from '../../cli/core/db.js';
import { runAsRequest } from '../../cli/core/postgrest/request.js';
import { as, IDS, requestFor, seed, sqlstateOf } from '../security/seed.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('rg_audit_capture');
  await migrate(db.url);
  await seed(db.sql);
});
afterAll(async () => {
  await db?.drop();
});

const JWT_LOOKALIKE = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
const HEADERS = {
  'User-Agent': 'rowguard-test/1.0',
  'X-Forwarded-For': '203.0.113.7, 10.0.0.2',
  Authorization: `Bearer ${JWT_LOOKALIKE}`,
};

async function logAfter(sql: Sql, id: number) {
  return sql<Array<Record<string, unknown>>>`select * from audit.log where id > ${id} order by id`;
}
async function lastId(sql: Sql): Promise<number> {
  const [r] = await sql<{ n: string | null }[]>`select max(id)::text as n from audit.log`;
  return Number(r!.n ?? 0);
}

/** Rollback helper for owner-side experiments. */
async function rolledBack(sql: Sql, fn: (tx: TransactionSql) => Promise<void>): Promise<void> {
  await sql
    .begin(async (tx) => {
      await fn(tx);
      throw new Error('rollback');
    })
    .catch((e: Error) => {
      if (e.message !== 'rollback') throw e;
    });
}

describe('capture', () => {
  it('records INSERT, UPDATE and DELETE with the actor, database role, user agent, ip, key and row images', async () => {
    const from = await lastId(db.sql);
    const id = await runAsRequest(
      db.sql,
      requestFor('a', { headers: HEADERS }),
      async (tx) => {
        const [r] = await tx<{ id: string }[]>`insert into public.deployments (user_id, name) values (${IDS.a}, 'audited') returning id::text`;
        await tx`update public.deployments set status = 'running' where id = ${r!.id}`;
        await tx`delete from public.deployments where id = ${r!.id}`;
        return r!.id;
      },
      { commit: true },
    );
    const rows = await logAfter(db.sql, from);
    expect(rows.map((r) => r['operation'])).toEqual(['INSERT', 'UPDATE', 'DELETE']);
    for (const r of rows) {
      expect(r).toMatchObject({
        actor_id: IDS.a,
        actor_role: 'authenticated',
        actor_email: 'a@example.test',
        db_role: 'authenticated',
        user_agent: 'rowguard-test/1.0',
        ip: '203.0.113.7',
        schema_name: 'public',
        table_name: 'deployments',
        pk: { id },
      });
    }
    expect(rows[0]!['old_row']).toBeNull();
    expect(rows[0]!['new_row']).toMatchObject({ id, name: 'audited', status: 'pending', user_id: IDS.a });
    expect(rows[1]!['old_row']).toMatchObject({ status: 'pending' });
    expect(rows[1]!['new_row']).toMatchObject({ status: 'running' });
    expect(rows[2]!['new_row']).toBeNull();
    expect(rows.map((r) => Number(r['id']))).toEqual([from + 1, from + 2, from + 3]);
    // The Authorization header (a bearer token) is never stored.
    expect(JSON.stringify(await db.sql`select * from audit.log`)).not.toContain(JWT_LOOKALIKE);
  });

  it('records a service_role write with its database role and no user', async () => {
    const from = await lastId(db.sql);
    await as(db.sql, 'service_role', (tx) => tx`update public.deployments set status = 'failed' where user_id = ${IDS.b}`).then(() => undefined);
    expect(await logAfter(db.sql, from)).toEqual([]); // rolled back: nothing logged
    await runAsRequest(db.sql, requestFor('service_role'), (tx) => tx`update public.deployments set status = 'failed' where user_id = ${IDS.b}`, { commit: true });
    const rows = await logAfter(db.sql, from);
    expect(rows.length).toBe(2);
    expect(rows[0]).toMatchObject({ actor_id: null, actor_role: 'service_role', db_role: 'service_role', operation: 'UPDATE' });
  });

  it('redacts secret columns of cloud_credentials in old and new rows', async () => {
    const from = await lastId(db.sql);
    await runAsRequest(
      db.sql,
      requestFor('b'),
      async (tx) => {
        await tx`insert into public.cloud_credentials (user_id, encrypted_password) values (${IDS.b}, 'first-secret-pw')`;
        await tx`update public.cloud_credentials set encrypted_password = 'second-secret-pw' where user_id = ${IDS.b}`;
      },
      { commit: true },
    );
    const rows = await logAfter(db.sql, from);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows[0]!['new_row']).toMatchObject({ encrypted_password: '[redacted]', user_id: IDS.b });
    const update = rows.find((r) => r['operation'] === 'UPDATE')!;
    expect(update['old_row']).toMatchObject({ encrypted_password: '[redacted]' });
    expect(update['new_row']).toMatchObject({ encrypted_password: '[redacted]' });
    const text = JSON.stringify(rows);
    expect(text).not.toMatch(/\$2[aby]\$/);
    expect(text).not.toContain('secret-pw');
  });

  it('enable_tracking works on any table: quoted names, other schemas, @secret comments, secret-named columns, secrets inside jsonb', async () => {
    await db.sql.unsafe(`
      create schema "Ops Data";
      create table "Ops Data"."API Keys" ("Key Id" bigint primary key, label text, api_token text, pin text, settings jsonb);
      comment on column "Ops Data"."API Keys".pin is 'a PIN. @secret';`);
    const [r] = await db.sql<{ cols: string[] }[]>`select audit.enable_tracking('"Ops Data"."API Keys"') as cols`;
    expect(r!.cols).toEqual(['api_token', 'pin']);
    await db.sql`select audit.enable_tracking('"Ops Data"."API Keys"')`; // idempotent
    const triggers = await db.sql<{ tgname: string }[]>`select tgname from pg_trigger where tgrelid = '"Ops Data"."API Keys"'::regclass and not tgisinternal order by 1`;
    expect(triggers.map((t) => t.tgname)).toEqual(['audit_capture', 'audit_capture_delete', 'audit_capture_truncate', 'audit_capture_update']);
    const from = await lastId(db.sql);
    await db.sql`insert into "Ops Data"."API Keys" values (7, 'ci', 'tok_live_123', '4242', ${db.sql.json({ region: 'eu', auth: { client_secret: 'cs_999', jwt: JWT_LOOKALIKE }, list: [{ password: 'pw-in-array' }] })})`;
    const [row] = await logAfter(db.sql, from);
    expect(row).toMatchObject({ schema_name: 'Ops Data', table_name: 'API Keys', pk: { 'Key Id': 7 } });
    expect(row!['new_row']).toEqual({
      'Key Id': 7,
      label: 'ci',
      api_token: '[redacted]',
      pin: '[redacted]',
      settings: { region: 'eu', auth: { client_secret: '[redacted]', jwt: '[redacted]' }, list: [{ password: '[redacted]' }] },
    });
  });

  it('multi-row INSERT and DELETE statements log one row per table row, in order; an empty statement logs nothing; TRUNCATE logs one row', async () => {
    await db.sql`create table public.bulk_items (id int primary key, label text)`;
    await db.sql`select audit.enable_tracking('public.bulk_items')`;
    const from = await lastId(db.sql);
    await db.sql`insert into public.bulk_items select g, 'item ' || g from generate_series(1, 50) g`;
    await db.sql`insert into public.bulk_items select g, 'none' from generate_series(1, 0) g`;
    await db.sql`update public.bulk_items set label = 'edited' where id <= 3`;
    await db.sql`delete from public.bulk_items where id > 40`;
    await db.sql`truncate public.bulk_items`;
    const rows = await logAfter(db.sql, from);
    const ops = rows.map((r) => r['operation']);
    expect(ops.filter((o) => o === 'INSERT')).toHaveLength(50);
    expect(ops.filter((o) => o === 'UPDATE')).toHaveLength(3);
    expect(ops.filter((o) => o === 'DELETE')).toHaveLength(10);
    expect(ops.at(-1)).toBe('TRUNCATE');
    expect(rows).toHaveLength(64);
    expect(rows.slice(0, 50).map((r) => (r['pk'] as { id: number }).id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(rows.at(-1)).toMatchObject({ schema_name: 'public', table_name: 'bulk_items', pk: null, old_row: null, new_row: null });
    expect(rows.map((r) => Number(r['id']))).toEqual(Array.from({ length: 64 }, (_, i) => from + 1 + i));
    await db.sql`drop table public.bulk_items`;
  });

  it('records the key of a composite-key table and NULL for a table without one, in single- and multi-row statements, and the chain verifies', async () => {
    await db.sql.unsafe(`
      create table public.pairs (a int, b text, note text, primary key (b, a));
      create table public.keyless (note text);
      select audit.enable_tracking('public.pairs');
      select audit.enable_tracking('public.keyless');
      select audit.enable_tracking('public.deployments');`);
    // Only a plain table with a one-column key takes the short path (a fourth trigger argument).
    const args = await db.sql<{ rel: string; nargs: number }[]>`
      select tgrelid::regclass::text as rel, tgnargs as nargs from pg_trigger
       where tgname = 'audit_capture' and tgrelid in ('public.pairs'::regclass, 'public.keyless'::regclass, 'public.deployments'::regclass, 'public.cloud_credentials'::regclass)
       order by 1`;
    expect(args).toEqual([
      { rel: 'cloud_credentials', nargs: 3 },
      { rel: 'deployments', nargs: 4 },
      { rel: 'keyless', nargs: 3 },
      { rel: 'pairs', nargs: 3 },
    ]);
    const from = await lastId(db.sql);
    await db.sql`insert into public.pairs values (1, 'x', 'one')`;
    await db.sql`insert into public.pairs select g, 'y', 'many' from generate_series(1, 3) g`;
    await db.sql`insert into public.keyless select 'k' || g from generate_series(1, 2) g`;
    await db.sql`delete from public.pairs where b = 'y'`;
    await db.sql`delete from public.keyless`;
    const rows = await logAfter(db.sql, from);
    expect(rows.map((r) => [r['table_name'], r['operation'], r['pk']])).toEqual([
      ['pairs', 'INSERT', { a: 1, b: 'x' }],
      ['pairs', 'INSERT', { a: 1, b: 'y' }],
      ['pairs', 'INSERT', { a: 2, b: 'y' }],
      ['pairs', 'INSERT', { a: 3, b: 'y' }],
      ['keyless', 'INSERT', null],
      ['keyless', 'INSERT', null],
      ['pairs', 'DELETE', { a: 1, b: 'y' }],
      ['pairs', 'DELETE', { a: 2, b: 'y' }],
      ['pairs', 'DELETE', { a: 3, b: 'y' }],
      ['keyless', 'DELETE', null],
      ['keyless', 'DELETE', null],
    ]);
    expect(rows[0]!['new_row']).toEqual({ a: 1, b: 'x', note: 'one' });
    expect(rows.at(-1)!['old_row']).toEqual({ note: 'k2' });
    expect((await verifyAuditLog(db.sql)).ok).toBe(true);
    await db.sql.unsafe('drop table public.pairs; drop table public.keyless;');
  });

  it('enable_tracking refuses what is not a table (42809)', async () => {
    await db.sql`create view public.v_deployments with (security_invoker = true) as select id from public.deployments`;
    expect(await sqlstateOf(db.sql`select audit.enable_tracking('public.v_deployments')`)).toBe('42809');
    await db.sql`drop view public.v_deployments`;
    expect(await sqlstateOf(db.sql`select audit.enable_tracking('audit.log')`)).toBe('42809');
  });

  it('a service_role token whose sub is not a uuid still writes; the row has no actor id', async () => {
    const from = await lastId(db.sql);
    await runAsRequest(db.sql, { role: 'service_role', claims: { sub: 'billing-worker', iss: 'internal' } }, (tx) => tx`update public.deployments set status = 'succeeded' where user_id = ${IDS.b}`, { commit: true });
    const rows = await logAfter(db.sql, from);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]).toMatchObject({ actor_id: null, actor_role: 'service_role', db_role: 'service_role' });
  });

  it('a rolled-back transaction leaves no audit row and no gap in its lane', async () => {
    const from = await lastId(db.sql);
    await as(db.sql, 'a', (tx) => tx`insert into public.deployments (user_id, name) values (${IDS.a}, 'never')`);
    await runAsRequest(db.sql, requestFor('a'), (tx) => tx`insert into public.deployments (user_id, name) values (${IDS.a}, 'kept')`, { commit: true });
    const rows = await logAfter(db.sql, from);
    expect(rows.map((r) => (r['new_row'] as { name: string }).name)).toEqual(['kept']);
    const [prev] = await db.sql<{ seq: string | null }[]>`
      select max(seq)::text as seq from audit.log where lane = ${rows[0]!['lane'] as number} and id < ${rows[0]!['id'] as string}`;
    expect(Number(rows[0]!['seq'])).toBe(Number(prev!.seq ?? 0) + 1);
  });
});

describe('auth events', () => {
  it('audit.log_auth_event records an EVENT with the secrets of its payload redacted', async () => {
    const [r] = await db.sql<{ id: string }[]>`
      select audit.log_auth_event('user_signedin', ${IDS.a}::uuid,
        ${db.sql.json({ provider: 'email', password: 'pw-event', refresh_token: 'rt-123', nested: { otp: '123456', note: 'ok' }, hash: '$2a$10$abcdefghijklmnopqrstuv' })})::text as id`;
    const [row] = await db.sql`select * from audit.log where id = ${r!.id}`;
    expect(row).toMatchObject({ operation: 'EVENT', event: 'user_signedin', actor_id: IDS.a, schema_name: 'auth', table_name: null });
    expect(row!['new_row']).toEqual({ provider: 'email', password: '[redacted]', refresh_token: '[redacted]', nested: { otp: '[redacted]', note: 'ok' }, hash: '[redacted]' });
  });
  it('audit.log_auth_event rejects a malformed action or a non-object payload (22023)', async () => {
    expect(await sqlstateOf(db.sql`select audit.log_auth_event('Login; drop', null, '{}')`)).toBe('22023');
    expect(await sqlstateOf(db.sql`select audit.log_auth_event('login', null, '["x"]')`)).toBe('22023');
  });
  it('no API role can call it, or any audit function', async () => {
    for (const actor of ['anon', 'a', 'service_role'] as const) {
      expect(await sqlstateOf(as(db.sql, actor, (tx) => tx`select audit.log_auth_event('login', null, '{}')`))).toBe('42501');
      expect(await sqlstateOf(as(db.sql, actor, (tx) => tx`select audit.append_rows('EVENT', null, null, 'x', null, null, array[null::jsonb], null, null)`))).toBe('42501');
    }
  });
  it("GoTrue's auth.audit_log_entries inserts land in the chain; the table becomes append-only", async () => {
    const from = await lastId(db.sql);
    await db.sql`insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address)
      values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(),
              ${db.sql.json({ actor_id: IDS.b, actor_username: 'b@example.test', action: 'token_refreshed', log_type: 'token', traits: { refresh_token: 'abcdefgh1234' } })},
              now(), '198.51.100.4')`;
    const [row] = await logAfter(db.sql, from);
    expect(row).toMatchObject({ operation: 'EVENT', event: 'token_refreshed', actor_id: IDS.b, ip: '198.51.100.4', schema_name: 'auth', table_name: 'audit_log_entries' });
    expect(row!['new_row']).toMatchObject({ traits: { refresh_token: '[redacted]' } });
    expect(await sqlstateOf(db.sql`update auth.audit_log_entries set ip_address = ''`)).toBe('42501');
    expect(await sqlstateOf(db.sql`delete from auth.audit_log_entries`)).toBe('42501');
    expect(await sqlstateOf(db.sql`truncate auth.audit_log_entries`)).toBe('42501');
  });
});

describe('append-only', () => {
  it('a superuser (triggers in place) cannot UPDATE, DELETE, TRUNCATE or INSERT directly', async () => {
    const [su] = await db.sql<{ su: boolean }[]>`select rolsuper as su from pg_roles where rolname = current_user`;
    expect(su!.su).toBe(true);
    for (const stmt of ["update audit.log set ip = 'x'", 'delete from audit.log', 'truncate audit.log']) {
      const err = await db.sql.unsafe(stmt).catch((e: { code: string; message: string }) => e);
      expect((err as { code: string }).code, stmt).toBe('42501');
      expect((err as { message: string }).message, stmt).toMatch(/append-only/);
    }
    const err = await db.sql`insert into audit.log (lane, seq, at, txid, db_role, operation, hash) values (1, 999999, now(), pg_current_xact_id(), 'x', 'EVENT', ${'0'.repeat(64)})`.catch((e: { code: string; message: string }) => e);
    expect(err).toMatchObject({ code: '42501', message: 'audit.log is written only by audit.append_rows()' });
  });

  it('the owner (not a superuser) lacks UPDATE/DELETE/TRUNCATE, and re-granting them still hits the triggers', async () => {
    await rolledBack(db.sql, async (tx) => {
      const owner = `rg_audit_owner_${Date.now().toString(36)}`;
      await tx.unsafe(`create role ${owner} nologin`);
      await tx.unsafe(`alter table audit.log owner to ${owner}`);
      await tx.unsafe(`grant usage on schema audit to ${owner}`);
      await tx.unsafe(`set local role ${owner}`);
      for (const stmt of ['update audit.log set ip = null', 'delete from audit.log', 'truncate audit.log']) {
        await tx.unsafe('savepoint s');
        const err = await tx.unsafe(stmt).catch((e: { code: string; message: string }) => e);
        expect(err, stmt).toMatchObject({ code: '42501', message: 'permission denied for table log' });
        await tx.unsafe('rollback to savepoint s');
      }
      // An owner can always grant itself privileges back: the triggers still refuse.
      await tx.unsafe(`grant update, delete, truncate on audit.log to ${owner}`);
      for (const stmt of ['update audit.log set ip = null', 'delete from audit.log', 'truncate audit.log']) {
        await tx.unsafe('savepoint s');
        const err = await tx.unsafe(stmt).catch((e: { code: string; message: string }) => e);
        expect(err, stmt).toMatchObject({ code: '42501' });
        expect((err as { message: string }).message).toMatch(/append-only/);
        await tx.unsafe('rollback to savepoint s');
      }
    });
  });

  it('API roles cannot read or write it (no USAGE on schema audit)', async () => {
    for (const actor of ['anon', 'a', 'staff', 'service_role'] as const) {
      expect(await sqlstateOf(as(db.sql, actor, (tx) => tx`select count(*) from audit.log`))).toBe('42501');
      expect(await sqlstateOf(as(db.sql, actor, (tx) => tx`delete from audit.log`))).toBe('42501');
    }
  });
});

describe('concurrent appenders', () => {
  it('under REPEATABLE READ a concurrent append on another lane does not fail the transaction, and both chains verify', async () => {
    const t1 = connect(db.url, { max: 1 });
    try {
      const outcome = await t1
        .begin('isolation level repeatable read', async (tx) => {
          await tx`select count(*) from public.deployments`; // take the snapshot
          // Another transaction appends and commits after our snapshot.
          await db.sql`insert into public.deployments (user_id, name) values (${IDS.b}, 'concurrent')`;
          const [moved] = await db.sql<{ lane: number }[]>`select lane from audit.log order by id desc limit 1`;
          await tx.unsafe(`set local audit.lane = '${(moved!.lane % 8) + 1}'`);
          await tx`insert into public.deployments (user_id, name) values (${IDS.a}, 'late')`;
          return 'committed';
        })
        .catch((e: { code?: string }) => e.code);
      expect(outcome).toBe('committed');
      expect((await verifyAuditLog(db.sql)).ok).toBe(true);
    } finally {
      await t1.end();
    }
  });
});
