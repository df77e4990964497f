/**
 * Row level security of the seed's tables, as PostgREST would run each request:
 * every table × (anon, user A, user B, staff, service_role) × (SELECT, INSERT,
 * UPDATE, DELETE). What is visible, what is refused with 42501, and what is
 * silently filtered (a USING clause hides rows: zero rows, no error).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import type { TransactionSql } from '../../cli/core/db.js';
import { as, CREDENTIALS, DEPLOYMENTS, IDS, seed, sqlstateOf, TOTAL_CREDENTIALS, TOTAL_DEPLOYMENTS, type Who } from './seed.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('rg_rls');
  await migrate(db.url);
  await seed(db.sql);
});
afterAll(async () => {
  await db?.drop();
});

async function count(tx: TransactionSql, table: string): Promise<number> {
  const [r] = await tx.unsafe<{ n: number }[]>(`select count(*)::int as n from public.${table}`);
  return r!.n;
}
async function owners(tx: TransactionSql, table: string): Promise<string[]> {
  const rows = await tx.unsafe<{ user_id: string }[]>(`select distinct user_id::text from public.${table} order by 1`);
  return rows.map((r) => r.user_id);
}
async function anyRowOf(who: Who, table: string): Promise<string> {
  const [r] = await db.sql.unsafe<{ id: string }[]>(`select id::text from public.${table} where user_id = $1 limit 1`, [IDS[who]]);
  return r!.id;
}

const USERS: Array<{ who: Who; other: Who }> = [
  { who: 'a', other: 'b' },
  { who: 'b', other: 'a' },
];

describe('public.deployments', () => {
  it('anon: every command is refused with 42501 (no grant at all)', async () => {
    expect(await sqlstateOf(as(db.sql, 'anon', (tx) => tx`select * from public.deployments`))).toBe('42501');
    expect(await sqlstateOf(as(db.sql, 'anon', (tx) => tx`insert into public.deployments (user_id, name) values (${IDS.a}, 'x')`))).toBe('42501');
    expect(await sqlstateOf(as(db.sql, 'anon', (tx) => tx`update public.deployments set name = 'x'`))).toBe('42501');
    expect(await sqlstateOf(as(db.sql, 'anon', (tx) => tx`delete from public.deployments`))).toBe('42501');
  });

  for (const { who, other } of USERS) {
    describe(`user ${who.toUpperCase()}`, () => {
      it('SELECT sees exactly their own rows', async () => {
        await as(db.sql, who, async (tx) => {
          expect(await count(tx, 'deployments')).toBe(DEPLOYMENTS[who]);
          expect(await owners(tx, 'deployments')).toEqual([IDS[who]]);
        });
      });
      it(`SELECT of ${other.toUpperCase()}'s row by id is silently empty`, async () => {
        const id = await anyRowOf(other, 'deployments');
        const rows = await as(db.sql, who, (tx) => tx`select * from public.deployments where id = ${id}`);
        expect(rows).toHaveLength(0);
      });
      it('INSERT of an own row succeeds; a row owned by someone else is refused (42501, WITH CHECK)', async () => {
        const inserted = await as(db.sql, who, (tx) => tx`insert into public.deployments (user_id, name) values (${IDS[who]}, 'mine') returning user_id::text`);
        expect(inserted).toEqual([{ user_id: IDS[who] }]);
        expect(await sqlstateOf(as(db.sql, who, (tx) => tx`insert into public.deployments (user_id, name) values (${IDS[other]}, 'theirs')`))).toBe('42501');
      });
      it('UPDATE touches only own rows; others are silently filtered', async () => {
        const updated = await as(db.sql, who, (tx) => tx`update public.deployments set status = 'failed' returning user_id::text`);
        expect(updated).toHaveLength(DEPLOYMENTS[who]);
        expect(new Set(updated.map((r) => r.user_id))).toEqual(new Set([IDS[who]]));
        const id = await anyRowOf(other, 'deployments');
        expect(await as(db.sql, who, (tx) => tx`update public.deployments set status = 'failed' where id = ${id} returning id`)).toHaveLength(0);
      });
      it('UPDATE cannot hand an own row to another user (42501, WITH CHECK)', async () => {
        const id = await anyRowOf(who, 'deployments');
        expect(await sqlstateOf(as(db.sql, who, (tx) => tx`update public.deployments set user_id = ${IDS[other]} where id = ${id}`))).toBe('42501');
      });
      it('DELETE removes only own rows; others are silently filtered', async () => {
        const id = await anyRowOf(other, 'deployments');
        expect(await as(db.sql, who, (tx) => tx`delete from public.deployments where id = ${id} returning id`)).toHaveLength(0);
        expect(await as(db.sql, who, (tx) => tx`delete from public.deployments returning id`)).toHaveLength(DEPLOYMENTS[who]);
      });
    });
  }

  describe('staff', () => {
    it('SELECT sees every deployment', async () => {
      await as(db.sql, 'staff', async (tx) => {
        expect(await count(tx, 'deployments')).toBe(TOTAL_DEPLOYMENTS);
      });
    });
    it('writes only their own rows: INSERT for another user refused, UPDATE/DELETE of others filtered', async () => {
      expect(await as(db.sql, 'staff', (tx) => tx`insert into public.deployments (user_id, name) values (${IDS.staff}, 'tools') returning id`)).toHaveLength(1);
      expect(await sqlstateOf(as(db.sql, 'staff', (tx) => tx`insert into public.deployments (user_id, name) values (${IDS.a}, 'x')`))).toBe('42501');
      expect(await as(db.sql, 'staff', (tx) => tx`update public.deployments set status = 'failed' returning id`)).toHaveLength(DEPLOYMENTS.staff);
      expect(await as(db.sql, 'staff', (tx) => tx`delete from public.deployments returning id`)).toHaveLength(DEPLOYMENTS.staff);
    });
    it('a JWT with role staff for a user not in private.staff_members sees only own rows', async () => {
      await as(db.sql, 'demoted', async (tx) => {
        expect(await count(tx, 'deployments')).toBe(DEPLOYMENTS.demoted);
      });
    });
    it('removing the staff_members row revokes staff on the next request (no JWT expiry wait)', async () => {
      await db.sql.begin(async (owner) => {
        await owner`delete from private.staff_members where user_id = ${IDS.staff}`;
        await owner`select set_config('role', 'staff', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: IDS.staff, role: 'staff' })}, true)`;
        const [c] = await owner<{ n: number }[]>`select count(*)::int as n from public.deployments`;
        expect(c!.n).toBe(DEPLOYMENTS.staff);
        throw new Error('rollback');
      }).catch((e: Error) => {
        if (e.message !== 'rollback') throw e;
      });
    });
    it('a banned staff member is not staff', async () => {
      await db.sql.begin(async (owner) => {
        await owner`update auth.users set banned_until = now() + interval '1 day' where id = ${IDS.staff}`;
        await owner`select set_config('role', 'staff', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: IDS.staff, role: 'staff' })}, true)`;
        const [c] = await owner<{ n: number }[]>`select count(*)::int as n from public.deployments`;
        expect(c!.n).toBe(DEPLOYMENTS.staff);
        throw new Error('rollback');
      }).catch((e: Error) => {
        if (e.message !== 'rollback') throw e;
      });
    });
  });

  describe('service_role (BYPASSRLS)', () => {
    it('sees, writes and deletes every row, for any owner', async () => {
      await as(db.sql, 'service_role', async (tx) => {
        expect(await count(tx, 'deployments')).toBe(TOTAL_DEPLOYMENTS);
        expect(await tx`insert into public.deployments (user_id, name) values (${IDS.a}, 'by-server') returning id`).toHaveLength(1);
        expect(await tx`update public.deployments set status = 'running' returning id`).toHaveLength(TOTAL_DEPLOYMENTS + 1);
        expect(await tx`delete from public.deployments returning id`).toHaveLength(TOTAL_DEPLOYMENTS + 1);
      });
    });
  });
});

describe('public.cloud_credentials', () => {
  it('anon: every command is refused with 42501', async () => {
    expect(await sqlstateOf(as(db.sql, 'anon', (tx) => tx`select id from public.cloud_credentials`))).toBe('42501');
    expect(await sqlstateOf(as(db.sql, 'anon', (tx) => tx`insert into public.cloud_credentials (user_id, encrypted_password) values (${IDS.a}, 'pw-anon-1')`))).toBe('42501');
    expect(await sqlstateOf(as(db.sql, 'anon', (tx) => tx`update public.cloud_credentials set encrypted_password = 'pw-anon-2'`))).toBe('42501');
    expect(await sqlstateOf(as(db.sql, 'anon', (tx) => tx`delete from public.cloud_credentials`))).toBe('42501');
  });

  for (const who of ['a', 'b', 'staff'] as const) {
    const other: Who = who === 'a' ? 'b' : 'a';
    describe(`${who === 'staff' ? 'staff' : `user ${who.toUpperCase()}`} (owner-only, staff included)`, () => {
      it('SELECT sees own rows only, and never the hash column (42501)', async () => {
        await as(db.sql, who, async (tx) => {
          expect(await count(tx, 'cloud_credentials')).toBe(CREDENTIALS[who]);
          expect(await owners(tx, 'cloud_credentials')).toEqual([IDS[who]]);
        });
        expect(await sqlstateOf(as(db.sql, who, (tx) => tx`select encrypted_password from public.cloud_credentials`))).toBe('42501');
        expect(await sqlstateOf(as(db.sql, who, (tx) => tx`select * from public.cloud_credentials`))).toBe('42501');
      });
      it('INSERT of an own credential stores a bcrypt hash; for another user it is refused (42501)', async () => {
        await as(db.sql, who, async (tx) => {
          const [r] = await tx`insert into public.cloud_credentials (user_id, encrypted_password) values (${IDS[who]}, 'correct horse') returning id`;
          await tx`select set_config('role', 'none', true)`; // back to the owner to read the hash
          const [h] = await tx`select encrypted_password from public.cloud_credentials where id = ${r!['id']}`;
          expect(h!['encrypted_password']).toMatch(/^\$2[ab]\$1\d\$/);
        });
        expect(await sqlstateOf(as(db.sql, who, (tx) => tx`insert into public.cloud_credentials (user_id, encrypted_password) values (${IDS[other]}, 'x-pass')`))).toBe('42501');
      });
      it('UPDATE reaches own rows only and cannot move a row to another owner', async () => {
        expect(await as(db.sql, who, (tx) => tx`update public.cloud_credentials set encrypted_password = 'new secret' returning id`)).toHaveLength(CREDENTIALS[who]);
        const id = await anyRowOf(other, 'cloud_credentials');
        expect(await as(db.sql, who, (tx) => tx`update public.cloud_credentials set encrypted_password = 'stolen' where id = ${id} returning id`)).toHaveLength(0);
        const own = await anyRowOf(who, 'cloud_credentials');
        expect(await sqlstateOf(as(db.sql, who, (tx) => tx`update public.cloud_credentials set user_id = ${IDS[other]} where id = ${own}`))).toBe('42501');
      });
      it('DELETE removes own rows only', async () => {
        const id = await anyRowOf(other, 'cloud_credentials');
        expect(await as(db.sql, who, (tx) => tx`delete from public.cloud_credentials where id = ${id} returning id`)).toHaveLength(0);
        expect(await as(db.sql, who, (tx) => tx`delete from public.cloud_credentials returning id`)).toHaveLength(CREDENTIALS[who]);
      });
    });
  }

  it('service_role sees and changes every row', async () => {
    await as(db.sql, 'service_role', async (tx) => {
      expect(await count(tx, 'cloud_credentials')).toBe(TOTAL_CREDENTIALS);
      const hashes = await tx<{ encrypted_password: string }[]>`select encrypted_password from public.cloud_credentials`;
      expect(hashes.every((h) => /^\$2[ab]\$1\d\$/.test(h.encrypted_password))).toBe(true);
      expect(await tx`insert into public.cloud_credentials (user_id, encrypted_password) values (${IDS.b}, 'server-set') returning id`).toHaveLength(1);
      expect(await tx`delete from public.cloud_credentials returning id`).toHaveLength(TOTAL_CREDENTIALS + 1);
    });
  });
});

describe('auth, audit and private tables are out of reach of every API role', () => {
  const tables = ['auth.users', 'auth.identities', 'auth.sessions', 'auth.refresh_tokens', 'auth.one_time_tokens', 'auth.audit_log_entries', 'audit.log', 'private.staff_members', 'private.password_settings'];
  for (const actor of ['anon', 'a', 'staff', 'service_role'] as const) {
    it(`${actor}: SELECT on each is refused with 42501`, async () => {
      for (const t of tables) {
        expect(await sqlstateOf(as(db.sql, actor, (tx) => tx.unsafe(`select 1 from ${t} limit 1`))), `${actor} on ${t}`).toBe('42501');
      }
    });
  }
});
