/**
 * Password hashes and provider tokens (sql/0027_auth_password_hashes.sql, 0028), from an outside review
 * of 0004 and the flows: every case here failed before 0027 (the export of an identity stored
 * before 0027, before 0029). One database migrated to the end, and
 * one migrated to 0026, given the rows 0027 must cope with, then migrated to the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, REPO_ROOT, type TestDatabase } from '../helpers/pg.js';
import { up } from '../../cli/core/migrate/engine.js';
import { join } from 'node:path';
import type { Sql } from '../../cli/core/db.js';

let db: TestDatabase;
let sql: Sql;

interface Grant {
  user_id: string | null;
}

const signIn = async (email: string, password: string): Promise<Grant> =>
  (await sql<Grant[]>`select user_id from auth_flow.sign_in(${email}, ${password})`)[0]!;
const lastReason = async (email: string): Promise<string | undefined> =>
  (
    await sql<{ r: string }[]>`
      select l.new_row ->> 'reason' as r from audit.log l join auth.users u on u.id = l.actor_id
       where l.event = 'login_failed' and u.email = ${email} order by l.id desc limit 1`
  )[0]?.r;
const storedHash = async (email: string): Promise<string> =>
  (await sql<{ h: string }[]>`select encrypted_password as h from auth.users where email = ${email}`)[0]!.h;

/** The error a promise rejects with (postgres.js errors carry code, message and detail). */
async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string; detail?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string; detail?: string };
  }
  throw new Error('expected the statement to fail');
}

/** Milliseconds of the fastest of `n` runs: the machine's load only ever adds time. */
async function fastest(n: number, fn: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

beforeAll(async () => {
  db = await freshDatabase('rg_auth_hashes');
  sql = db.sql;
  await migrate(db.url);
});

afterAll(async () => {
  await db?.drop();
});

describe('sign-in with $2b$ and $2y$ hashes (kept by the 0004 trigger as imports)', () => {
  const password = 'correct horse 1';
  beforeAll(async () => {
    // For an ASCII password the three prefixes hash alike: a $2a$ hash with its prefix replaced is
    // what a library writing $2b$ (node's bcrypt) or $2y$ (PHP) makes of it.
    await sql`
      with h as (select extensions.crypt(${password}, extensions.gen_salt('bf', 10)) as h)
      insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at)
      select gen_random_uuid(), 'authenticated', 'authenticated', e.email, e.prefix || substr(h.h, 5), now()
        from h, (values ('bee@example.test', '$2b$'), ('why@example.test', '$2y$'), ('bee-wrong@example.test', '$2b$')) as e(email, prefix)`;
  });

  it('the right password signs in, and the hash is rehashed as $2a$ at the configured cost', async () => {
    for (const email of ['bee@example.test', 'why@example.test']) {
      expect((await signIn(email, password)).user_id, email).not.toBeNull();
      expect(await storedHash(email)).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
      expect((await signIn(email, password)).user_id, `${email} after the rehash`).not.toBeNull();
    }
  });

  it('a wrong password fails as wrong_password and costs a bcrypt, as an unknown email does (no timing tell)', async () => {
    expect((await signIn('bee-wrong@example.test', 'not it at all')).user_id).toBeNull();
    expect(await lastReason('bee-wrong@example.test')).toBe('wrong_password');
    // Before 0027 crypt() read the $2b$ hash as a DES salt: ~1 ms against ~60 ms for the dummy
    // bcrypt an unknown email pays. Counting crypt() calls cannot see it (one call either way).
    const unknown = await fastest(5, () => signIn('nobody-at-all@example.test', 'not it at all'));
    const imported = await fastest(5, () => signIn('bee-wrong@example.test', 'not it at all'));
    // 0.25: twenty times the ratio before 0027, with room for a loaded machine (two workers hashing at once).
    expect(imported / unknown).toBeGreaterThan(0.25);
    await sql`delete from auth_flow.login_attempts`;
  });
});

describe('bcrypt-shaped values outside bcrypt', () => {
  it('the trigger refuses a cost above 31 (no bcrypt makes one; crypt() calls it an invalid salt)', async () => {
    for (const cost of ['32', '99']) {
      const err = await failure(sql`insert into auth.users (id, encrypted_password) values (gen_random_uuid(), ${`$2a$${cost}$${'a'.repeat(53)}`})`);
      expect(err.code).toBe('22023');
      expect(err.message).toBe(`auth.users.encrypted_password: bcrypt hash with cost ${cost} rejected (bcrypt's maximum is 31)`);
    }
    const [ok] = await sql<{ h: string }[]>`
      insert into auth.users (id, encrypted_password) values (gen_random_uuid(), ${`$2a$31$${'a'.repeat(53)}`}) returning encrypted_password as h`;
    expect(ok!.h).toBe(`$2a$31$${'a'.repeat(53)}`);
  });
});

describe('identity_data keeps no provider token at any depth', () => {
  it('nested objects and objects in arrays lose their secret-looking keys; export_user shows none', async () => {
    const [u] = await sql<{ id: string }[]>`select auth_flow.sign_up('linker@example.test', 'linker password 1')::text as id`;
    const data = {
      name: 'Ann',
      provider_token: 'gho_top_level_secret',
      raw: { access_token: 'gho_nested_secret', login: 'ann', deeper: { refresh_token: 'ghr_deeper_secret' } },
      grants: [{ id_token: 'eyJ.in.array', scope: 'read' }, 'plain'],
    };
    await sql`select auth_flow.link_identity(${u!.id}::uuid, 'github', '4242', ${sql.json(data)}::jsonb)`;
    const [i] = await sql<{ d: unknown }[]>`select identity_data as d from auth.identities where provider = 'github' and provider_id = '4242'`;
    expect(i!.d).toEqual({ sub: '4242', name: 'Ann', raw: { login: 'ann', deeper: {} }, grants: [{ scope: 'read' }, 'plain'] });
    const [e] = await sql<{ t: string }[]>`select auth_flow.export_user(${u!.id}::uuid)::text as t`;
    for (const secret of ['gho_top_level_secret', 'gho_nested_secret', 'ghr_deeper_secret', 'eyJ.in.array']) expect(e!.t).not.toContain(secret);
  });

  it('export_user leaves nested tokens out of an identity stored before 0027 (0029)', async () => {
    const [u] = await sql<{ id: string }[]>`select auth_flow.sign_up('old-link@example.test', 'old link password 1')::text as id`;
    await sql`insert into auth.identities (provider_id, user_id, identity_data, provider)
              values ('77', ${u!.id}::uuid, ${sql.json({ sub: '77', raw: { access_token: 'gho_stored_before_0027', login: 'old' } })}, 'github')`;
    const [e] = await sql<{ d: unknown }[]>`
      select i -> 'identity_data' as d from jsonb_array_elements(auth_flow.export_user(${u!.id}::uuid) -> 'identities') as i where i ->> 'provider' = 'github'`;
    expect(e!.d).toEqual({ sub: '77', raw: { login: 'old' } });
  });
});

describe('no plaintext in auth.users when the hashing trigger does not run', () => {
  const plaintext = 'plain text password 7';
  const assertRefused = async (p: Promise<unknown>) => {
    const err = await failure(p);
    expect(err.code).toBe('23514');
    expect(err.message).toBe('auth.users.encrypted_password: not a bcrypt hash, refused (the hashing trigger did not run)');
    // A CHECK that is merely false would put the whole row, the plaintext with it, in DETAIL.
    expect(JSON.stringify(err)).not.toContain(plaintext);
  };

  it('session_replication_role = replica, a disabled trigger, a later BEFORE trigger: each refused, naming no value', async () => {
    await assertRefused(
      sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`insert into auth.users (id, email, encrypted_password) values (gen_random_uuid(), 'replica@example.test', ${plaintext})`;
      }),
    );
    await assertRefused(
      sql.begin(async (tx) => {
        await tx`alter table auth.users disable trigger hash_encrypted_password`;
        await tx`update auth.users set encrypted_password = ${plaintext} where email = 'linker@example.test'`;
      }),
    );
    await assertRefused(
      sql.begin(async (tx) => {
        await tx`create function public.copy_password() returns trigger language plpgsql as $$ begin new.encrypted_password := new.raw_user_meta_data ->> 'pw'; return new; end $$`;
        await tx`create trigger zz_copy_password before insert on auth.users for each row execute function public.copy_password()`;
        await tx`insert into auth.users (id, raw_user_meta_data) values (gen_random_uuid(), ${sql.json({ pw: plaintext })})`;
      }),
    );
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from auth.users where encrypted_password = ${plaintext}`;
    expect(n!.n).toBe(0);
  });

  it("still takes NULL, GoTrue's '' (written with the trigger off, as GoTrue's rows predate it) and hashes, and is validated", async () => {
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`insert into auth.users (id, encrypted_password) values (gen_random_uuid(), null), (gen_random_uuid(), ''), (gen_random_uuid(), ${`$2y$10$${'b'.repeat(53)}`})`;
    });
    const [c] = await sql<{ v: boolean }[]>`select convalidated as v from pg_constraint where conname = 'users_encrypted_password_is_hashed'`;
    expect(c!.v).toBe(true);
  });
});

describe('sign-up of a password over 72 bytes', () => {
  it('is refused by sign_up itself, also past varchar(255)', async () => {
    for (const password of ['p'.repeat(73), 'p'.repeat(300), 'é'.repeat(37)]) {
      const err = await failure(sql`select auth_flow.sign_up('toolong@example.test', ${password})`);
      expect(err.code).toBe('22023');
      expect(err.message).toBe('sign-up: the password must be at most 72 bytes (UTF-8; bcrypt ignores the rest)');
    }
  });
});

describe('a database with rows 0027 refuses, migrated to it', () => {
  let old: TestDatabase;
  beforeAll(async () => {
    old = await freshDatabase('rg_auth_hashes_old');
    const opts = { url: old.url, dir: join(REPO_ROOT, 'sql'), displayRoot: REPO_ROOT, lockTimeout: '5s', statementTimeout: '0' };
    await up(opts, { to: '0026' });
    await old.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at) values
        (gen_random_uuid(), 'authenticated', 'authenticated', 'plain@example.test', 'stored in clear 1', now()),
        (gen_random_uuid(), 'authenticated', 'authenticated', 'cost99@example.test', ${`$2a$99$${'a'.repeat(53)}`}, now())`;
    });
    await up(opts);
  });
  afterAll(async () => {
    await old?.drop();
  });

  it('migrates (0028 cannot validate the constraint and leaves it NOT VALID); new writes are checked all the same', async () => {
    const [c] = await old.sql<{ v: boolean }[]>`select convalidated as v from pg_constraint where conname = 'users_encrypted_password_is_hashed'`;
    expect(c!.v).toBe(false);
    const err = await failure(
      old.sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`insert into auth.users (id, encrypted_password) values (gen_random_uuid(), 'stored in clear 2')`;
      }),
    );
    expect(err.code).toBe('23514');
    // A plaintext is never a password; the row can be changed only by giving it a password again (or NULL).
    const [p] = await old.sql<Grant[]>`select user_id from auth_flow.sign_in('plain@example.test', 'stored in clear 1')`;
    expect(p!.user_id).toBeNull();
    expect((await failure(old.sql`update auth.users set last_sign_in_at = now() where email = 'plain@example.test'`)).code).toBe('23514');
    // a magic link writes the row (email_confirmed_at, last_sign_in_at): refused the same way
    const [link] = await old.sql<{ t: string }[]>`select auth_flow.issue_magic_link('plain@example.test') as t`;
    expect((await failure(old.sql`select * from auth_flow.verify_magic_link(${link!.t})`)).code).toBe('23514');
    const [fixed] = await old.sql<{ h: string }[]>`
      update auth.users set encrypted_password = 'a new password 3', last_sign_in_at = now() where email = 'plain@example.test' returning encrypted_password as h`;
    expect(fixed!.h).toMatch(/^\$2a\$10\$/);
  });

  it('a stored cost-99 "hash" fails sign-in with NULL and a counted failure, not "invalid salt"', async () => {
    const [g] = await old.sql<Grant[]>`select user_id from auth_flow.sign_in('cost99@example.test', 'anything at all')`;
    expect(g!.user_id).toBeNull();
    const [a] = await old.sql<{ r: string; f: number }[]>`
      select new_row ->> 'reason' as r, (new_row ->> 'failures')::int as f from audit.log where event = 'login_failed' order by id desc limit 1`;
    expect(a).toEqual({ r: 'wrong_password', f: 1 });
  });
});
