/**
 * An attacker's review of capture (sql/0005_audit.sql, hardened by
 * sql/0025_audit_hardening.sql): paths that change a tracked table must each
 * leave an audit row, a column added later must be redacted from its first
 * capture, and API roles cannot switch capture off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import { verifyAuditLog } from '../../cli/core/audit/verify.js';
import type { Sql } from '../../cli/core/db.js';
import { as, seed, sqlstateOf } from '../security/seed.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('rg_audit_adversary');
  await migrate(db.url);
  await seed(db.sql);
});
afterAll(async () => {
  await db?.drop();
});

type LogRow = { operation: string; table_name: string | null; pk: unknown; old_row: Record<string, unknown> | null; new_row: Record<string, unknown> | null };

async function lastId(sql: Sql): Promise<number> {
  const [r] = await sql<{ n: string | null }[]>`select max(id)::text as n from audit.log`;
  return Number(r!.n ?? 0);
}
async function logAfter(id: number): Promise<LogRow[]> {
  return db.sql<LogRow[]>`select operation, table_name, pk, old_row, new_row from audit.log where id > ${id} order by id`;
}
/** The audit rows `statements` append (run as the owner, committed). */
async function captured(statements: string): Promise<Array<[string, string | null, unknown]>> {
  const from = await lastId(db.sql);
  await db.sql.unsafe(statements);
  return (await logAfter(from)).map((r) => [r.operation, r.table_name, r.pk]);
}

describe('partitioned tables: a statement naming a partition is captured too', () => {
  beforeAll(async () => {
    await db.sql.unsafe(`
      create table public.events (id int primary key, note text) partition by range (id);
      create table public.events_low partition of public.events for values from (0) to (100);
      select audit.enable_tracking('public.events');`);
  });

  it('INSERT, UPDATE, DELETE and TRUNCATE on a partition, not only on the parent', async () => {
    expect(await captured(`insert into public.events values (1, 'via parent')`)).toEqual([['INSERT', 'events_low', { id: 1 }]]);
    expect(await captured(`insert into public.events_low values (2, 'direct')`)).toEqual([['INSERT', 'events_low', { id: 2 }]]);
    expect(await captured(`update public.events_low set note = 'edited' where id = 2`)).toEqual([['UPDATE', 'events_low', { id: 2 }]]);
    expect(await captured(`delete from public.events_low where id = 1`)).toEqual([['DELETE', 'events_low', { id: 1 }]]);
    expect(await captured(`truncate public.events_low`)).toEqual([['TRUNCATE', 'events_low', null]]);
  });

  it('a partition created or attached after enable_tracking is captured as well, TRUNCATE included', async () => {
    await db.sql.unsafe(`
      create table public.events_mid partition of public.events for values from (100) to (200);
      create table public.events_high (id int primary key, note text);
      alter table public.events attach partition public.events_high for values from (200) to (300);`);
    expect(await captured(`insert into public.events_mid values (150, 'new partition')`)).toEqual([['INSERT', 'events_mid', { id: 150 }]]);
    expect(await captured(`insert into public.events_high values (250, 'attached')`)).toEqual([['INSERT', 'events_high', { id: 250 }]]);
    expect(await captured(`delete from public.events_high`)).toEqual([['DELETE', 'events_high', { id: 250 }]]);
    expect(await captured(`truncate public.events_mid`)).toEqual([['TRUNCATE', 'events_mid', null]]);
    // TRUNCATE of the parent: one row per truncated table.
    const all = await captured(`insert into public.events values (3, 'x'); truncate public.events`);
    expect(all[0]).toEqual(['INSERT', 'events_low', { id: 3 }]);
    expect(all.slice(1).map((r) => r[0])).toEqual(['TRUNCATE', 'TRUNCATE', 'TRUNCATE', 'TRUNCATE']);
    expect(new Set(all.slice(1).map((r) => r[1]))).toEqual(new Set(['events', 'events_low', 'events_mid', 'events_high']));
    expect((await verifyAuditLog(db.sql)).ok).toBe(true);
  });
});

describe('columns added or marked after enable_tracking are redacted from their first capture', () => {
  beforeAll(async () => {
    await db.sql.unsafe(`
      create table public.integrations (id int primary key, label text, note text);
      select audit.enable_tracking('public.integrations');
      insert into public.integrations values (1, 'ci', 'n');`);
  });

  it('a secret-named column added by ALTER TABLE, in new and old images', async () => {
    const from = await lastId(db.sql);
    await db.sql.unsafe(`
      alter table public.integrations add column api_token text;
      insert into public.integrations values (2, 'cd', 'n', 'tok_live_123');
      update public.integrations set label = 'cd2' where id = 2;`);
    const rows = await logAfter(from);
    expect(rows.map((r) => r.operation)).toEqual(['INSERT', 'UPDATE']);
    expect(rows[0]!.new_row).toMatchObject({ api_token: '[redacted]' });
    expect(rows[1]!.old_row).toMatchObject({ api_token: '[redacted]' });
    expect(rows[1]!.new_row).toMatchObject({ api_token: '[redacted]' });
    expect(JSON.stringify(rows)).not.toContain('tok_live_123');
  });

  it('a column renamed to a secret name, a column given an @secret comment, and a json column added later', async () => {
    const from = await lastId(db.sql);
    await db.sql.unsafe(`
      alter table public.integrations rename column label to signing_secret;
      comment on column public.integrations.note is '@secret webhook url with its key';
      alter table public.integrations add column settings jsonb;
      insert into public.integrations values (3, 'shh', 'https://hook/k3y', 'tok_2', '{"nested": {"password": "hunter2"}}');`);
    const [row] = await logAfter(from);
    expect(row!.new_row).toMatchObject({ signing_secret: '[redacted]', note: '[redacted]', api_token: '[redacted]', settings: { nested: { password: '[redacted]' } } });
    expect(JSON.stringify(row)).not.toMatch(/shh|k3y|hunter2|tok_2/);
  });

  it('a capture trigger disabled with ALTER TABLE … DISABLE TRIGGER by the owner is put back', async () => {
    const rows = await captured(`
      alter table public.integrations disable trigger audit_capture;
      insert into public.integrations (id) values (4);`);
    expect(rows).toEqual([['INSERT', 'integrations', { id: 4 }]]);
  });
});

describe('capture paths that already held (regression guards)', () => {
  beforeAll(async () => {
    await db.sql.unsafe(`
      create table public.parents (id int primary key, v text);
      create table public.children (id int primary key, parent_id int references public.parents (id) on delete cascade);
      create view public.parents_view as select * from public.parents;
      select audit.enable_tracking('public.parents');
      select audit.enable_tracking('public.children');
      insert into public.parents values (1, 'a'), (2, 'b');
      insert into public.children values (10, 1);`);
  });

  it('ON CONFLICT DO UPDATE, MERGE, COPY, a cascaded delete and a write through a view', async () => {
    expect(await captured(`insert into public.parents values (1, 'a2') on conflict (id) do update set v = excluded.v`)).toEqual([['UPDATE', 'parents', { id: 1 }]]);
    expect(
      await captured(`merge into public.parents p using (values (2, 'm'), (3, 'n')) s(id, v) on p.id = s.id
                      when matched then update set v = s.v when not matched then insert values (s.id, s.v)`),
    ).toEqual([['UPDATE', 'parents', { id: 2 }], ['INSERT', 'parents', { id: 3 }]]);
    expect(await captured(`merge into public.parents p using (values (3)) s(id) on p.id = s.id when matched then delete`)).toEqual([['DELETE', 'parents', { id: 3 }]]);
    const from = await lastId(db.sql);
    await db.sql.begin(async (tx) => {
      await tx`copy public.parents from stdin`.writable().then(async (stream) => {
        await new Promise<void>((resolve, reject) => stream.end('5\tcopied\n', () => resolve()).on('error', reject));
      });
    });
    expect((await logAfter(from)).map((r) => [r.operation, r.pk])).toEqual([['INSERT', { id: 5 }]]);
    expect(await captured(`delete from public.parents where id = 1`)).toEqual([['DELETE', 'parents', { id: 1 }], ['DELETE', 'children', { id: 10 }]]);
    expect(await captured(`insert into public.parents_view values (7, 'via view')`)).toEqual([['INSERT', 'parents', { id: 7 }]]);
  });

  it('a rolled-back savepoint leaves no row; a failing audit append aborts the data change with it', async () => {
    const from = await lastId(db.sql);
    await db.sql.begin(async (tx) => {
      await tx.savepoint(async (sp) => {
        await sp`insert into public.parents values (8, 'rolled back')`;
        throw new Error('rollback');
      }).catch(() => undefined);
      await tx`insert into public.parents values (9, 'kept')`;
    });
    expect((await logAfter(from)).map((r) => r.pk)).toEqual([{ id: 9 }]);
    // Make every append fail (a superuser's CHECK on the log, rolled back): the write fails with it.
    await db.sql
      .begin(async (tx) => {
        await tx`alter table audit.log add constraint refuse_all check (false) not valid`;
        expect(await sqlstateOf(tx.savepoint((sp) => sp`insert into public.parents values (11, 'no entry, no change')`))).toBe('23514');
        const [n] = await tx<{ n: number }[]>`select count(*)::int as n from public.parents where id = 11`;
        expect(n!.n).toBe(0);
        throw new Error('rollback');
      })
      .catch((e: Error) => {
        if (e.message !== 'rollback') throw e;
      });
  });
});

describe('API roles cannot switch capture off', () => {
  it('session_replication_role, ALTER TABLE … DISABLE TRIGGER, DROP TRIGGER, TRUNCATE of the log: all refused', async () => {
    for (const actor of ['anon', 'a', 'staff', 'service_role'] as const) {
      expect(await sqlstateOf(as(db.sql, actor, (tx) => tx`set local session_replication_role = replica`))).toBe('42501');
      expect(await sqlstateOf(as(db.sql, actor, (tx) => tx`alter table public.deployments disable trigger audit_capture`))).toBe('42501');
      expect(await sqlstateOf(as(db.sql, actor, (tx) => tx`drop trigger audit_capture on public.deployments`))).toBe('42501');
      expect(await sqlstateOf(as(db.sql, actor, (tx) => tx`truncate audit.log`))).toBe('42501');
      expect(await sqlstateOf(as(db.sql, actor, (tx) => tx`select audit.enable_tracking('public.deployments')`))).toBe('42501');
    }
  });
});

describe('secrets never land in a row image, also with the auth tables tracked', () => {
  it('sign-up, sign-in, password change, refresh rotation, magic link issue and redemption: no password, hash or token in any audit row, old images included', async () => {
    const from = await lastId(db.sql);
    const secrets: string[] = ['Sup3r-secret-pw!', 'N3w-secret-pw!'];
    await db.sql.begin(async (tx) => {
      await tx.unsafe(`select audit.enable_tracking(t) from unnest(array['auth.users', 'auth.identities', 'auth.sessions', 'auth.refresh_tokens', 'auth.one_time_tokens']::regclass[]) t`);
      await tx`set local role service_role`;
      await tx`select auth_flow.sign_up('victim@example.test', ${secrets[0]!}, '{}')`;
      const [s1] = await tx<{ rt: string }[]>`select (auth_flow.sign_in('victim@example.test', ${secrets[0]!})).refresh_token as rt`;
      const [s2] = await tx<{ rt: string }[]>`select (auth_flow.refresh(${s1!.rt})).refresh_token as rt`;
      const [ml] = await tx<{ t: string }[]>`select auth_flow.issue_magic_link('victim@example.test') as t`;
      const [s3] = await tx<{ rt: string }[]>`select (auth_flow.verify_magic_link(${ml!.t})).refresh_token as rt`;
      await tx`reset role`;
      await tx`update auth.users set encrypted_password = ${secrets[1]!} where email = 'victim@example.test'`;
      secrets.push(s1!.rt, s2!.rt, ml!.t, s3!.rt);
      // Stored forms too: the bcrypt hash and the token hashes.
      const stored = await tx<{ v: string }[]>`
        select encrypted_password as v from auth.users where email = 'victim@example.test'
        union all select token from auth.refresh_tokens r join auth.users u on u.id::text = r.user_id::text where u.email = 'victim@example.test'
        union all select refresh_token_hmac_key::text from auth.sessions s join auth.users u on u.id = s.user_id where u.email = 'victim@example.test'`;
      secrets.push(...stored.map((r) => r.v).filter((v) => v));
    });
    const rows = await db.sql<{ t: string; table_name: string | null; operation: string }[]>`select to_jsonb(l)::text as t, table_name, operation from audit.log l where id > ${from}`;
    expect(rows.filter((r) => r.operation === 'UPDATE' && r.table_name === 'users').length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.table_name === 'refresh_tokens').length).toBeGreaterThan(2);
    for (const r of rows) {
      for (const s of secrets) expect(r.t.includes(s), `${r.table_name} ${r.operation} holds a secret`).toBe(false);
      expect(r.t).not.toMatch(/\$2[abxy]\$\d\d\$/);
    }
    expect((await verifyAuditLog(db.sql)).ok).toBe(true);
  });
});
