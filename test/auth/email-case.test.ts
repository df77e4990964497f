/**
 * Users whose stored email is not lower-case (rows imported with SQL keep their case; GoTrue finds
 * them by lower(email)): sql/0029_auth_email_case.sql. The four cases of the first group failed
 * before 0029; the other two held already and pin what 0029's lookup must keep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import type { Sql } from '../../cli/core/db.js';

let db: TestDatabase;
let sql: Sql;

const NIL = '00000000-0000-0000-0000-000000000000';

const signIn = async (email: string, password: string): Promise<string | null> =>
  (await sql<{ id: string | null }[]>`select user_id::text as id from auth_flow.sign_in(${email}, ${password})`)[0]!.id;

/** Insert a confirmed user as an import would: the email as given, the plaintext hashed by the trigger. */
async function importUser(email: string, password: string, instance: string | null = NIL): Promise<string> {
  const [r] = await sql<{ id: string }[]>`
    insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at)
    values (${instance}::uuid, gen_random_uuid(), 'authenticated', 'authenticated', ${email}, ${password}, now())
    returning id::text`;
  return r!.id;
}

beforeAll(async () => {
  db = await freshDatabase('rg_auth_email_case');
  sql = db.sql;
  await migrate(db.url);
});

afterAll(async () => {
  await db?.drop();
});

describe('a user stored as Mixed@Example.test', () => {
  let mixed: string;
  let noInstance: string;
  beforeAll(async () => {
    mixed = await importUser('Mixed@Example.test', 'mixed password 1');
    noInstance = await importUser('NoInst@Example.test', 'noinst password 1', null);
  });

  it('signs in whatever case is typed (GoTrue compares lower(email)), with a NULL instance_id too', async () => {
    for (const typed of ['Mixed@Example.test', 'mixed@example.test', 'MIXED@EXAMPLE.TEST', '  mixed@example.test ']) {
      expect(await signIn(typed, 'mixed password 1'), typed).toBe(mixed);
    }
    expect(await signIn('noinst@example.test', 'noinst password 1')).toBe(noInstance);
  });

  it('gets a magic link, and redeeming it signs in (relates_to is the lower-cased address)', async () => {
    const [t] = await sql<{ t: string | null }[]>`select auth_flow.issue_magic_link('mixed@example.test') as t`;
    expect(t!.t).not.toBeNull();
    const [g] = await sql<{ id: string | null }[]>`select user_id::text as id from auth_flow.verify_magic_link(${t!.t})`;
    expect(g!.id).toBe(mixed);
  });

  it('cannot be signed up again in another case (the unique index is case-sensitive)', async () => {
    for (const email of ['mixed@example.test', 'MIXED@example.test']) {
      const err = await sql`select auth_flow.sign_up(${email}, 'another password 2')`.catch((e: { code?: string; message: string }) => e);
      expect(err, email).toMatchObject({ code: '23505', message: 'sign-up: a user with this email already exists' });
    }
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from auth.users where lower(email) = 'mixed@example.test'`;
    expect(n!.n).toBe(1);
  });

  it('export shows the lockout row sign-in keeps, and erasure deletes it', async () => {
    expect(await signIn('Mixed@Example.test', 'not the password')).toBeNull();
    const [e] = await sql<{ l: { failures: number } | null }[]>`select auth_flow.export_user(${mixed}::uuid) -> 'lockout' as l`;
    expect(e!.l?.failures).toBe(1);
    await sql`select auth_flow.erase_user(${mixed}::uuid)`;
    const [n] = await sql<{ n: number }[]>`
      select count(*)::int as n from auth_flow.login_attempts where email_key = sha256(convert_to('mixed@example.test', 'UTF8'))`;
    expect(n!.n).toBe(0);
  });
});

describe('two rows that differ only in case', () => {
  it('the exact (lower-case) form is the one found, every time', async () => {
    await importUser('Twin@example.test', 'upper twin password');
    const lower = await importUser('twin@example.test', 'lower twin password');
    for (let i = 0; i < 3; i++) {
      expect(await signIn('Twin@example.test', 'lower twin password')).toBe(lower);
      expect(await signIn('twin@example.test', 'upper twin password')).toBeNull();
    }
  });
});

describe('SSO users stay out of it', () => {
  it('an SSO user with the address in another case neither signs in by password nor blocks sign-up', async () => {
    await sql`
      insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, is_sso_user)
      values (${NIL}::uuid, gen_random_uuid(), 'authenticated', 'authenticated', 'Sso@Example.test', 'sso password 1', now(), true)`;
    expect(await signIn('sso@example.test', 'sso password 1')).toBeNull();
    const [u] = await sql<{ id: string }[]>`select auth_flow.sign_up('sso@example.test', 'own password 1')::text as id`;
    expect(await signIn('sso@example.test', 'own password 1')).toBe(u!.id);
  });
});
