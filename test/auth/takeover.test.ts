/**
 * Pre-account takeover: someone who does not own a mailbox makes an account with its address
 * before its owner does, and keeps a door into it once the owner arrives. auth_flow.sign_up
 * confirms at once, but an unconfirmed account exists wherever another writer made one: GoTrue
 * sharing the database with confirmations on writes the row with email_confirmed_at NULL and the
 * password its sign-up was given, and an import may do the same. The owner then proves the
 * mailbox with a magic link, or arrives through a provider the server links to the account by
 * its address. Whatever the stranger attached before that — the password, an identity of their
 * own, the sessions it opened — must not survive it (GoTrue's RemoveUnconfirmedIdentities does
 * this for an OAuth arrival). The first group failed before sql/0030; the last pins what must
 * stay for an account whose address was already confirmed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import type { Sql } from '../../cli/core/db.js';

let db: TestDatabase;
let sql: Sql;

interface Grant {
  user_id: string | null;
  session_id: string | null;
  refresh_token: string | null;
}

const NIL = '00000000-0000-0000-0000-000000000000';
const STRANGER_PASSWORD = 'the stranger chose this';

const signIn = async (email: string, password: string): Promise<Grant> =>
  (await sql<Grant[]>`select user_id::text, session_id::text, refresh_token from auth_flow.sign_in(${email}, ${password})`)[0]!;
const refresh = async (token: string): Promise<Grant> =>
  (await sql<Grant[]>`select user_id::text, session_id::text, refresh_token from auth_flow.refresh(${token})`)[0]!;
const issue = async (email: string): Promise<string | null> =>
  (await sql<{ t: string | null }[]>`select auth_flow.issue_magic_link(${email}) as t`)[0]!.t;
const verify = async (token: string): Promise<Grant> =>
  (await sql<Grant[]>`select user_id::text, session_id::text, refresh_token from auth_flow.verify_magic_link(${token})`)[0]!;
const link = async (userId: string, provider: string, providerId: string, data: Record<string, unknown> = {}): Promise<string | null> =>
  (await sql<{ id: string | null }[]>`select auth_flow.link_identity(${userId}::uuid, ${provider}, ${providerId}, ${sql.json(data as never)}::jsonb)::text as id`)[0]!.id;
const withIdentity = async (provider: string, providerId: string): Promise<Grant> =>
  (await sql<Grant[]>`select user_id::text, session_id::text, refresh_token from auth_flow.sign_in_with_identity(${provider}, ${providerId})`)[0]!;
const providersOf = async (userId: string): Promise<string[]> =>
  (await sql<{ p: string }[]>`select provider as p from auth.identities where user_id = ${userId}::uuid order by provider`).map((r) => r.p);
const sessionsOf = async (userId: string): Promise<number> =>
  (await sql<{ n: number }[]>`select count(*)::int as n from auth.sessions where user_id = ${userId}::uuid`)[0]!.n;

/**
 * The rows GoTrue's sign-up writes with confirmations on: an unconfirmed user holding the
 * password it was given (hashed by the 0004 trigger) and its email identity.
 */
async function unconfirmedSignUp(email: string, password: string | null, confirmed = false): Promise<string> {
  const [r] = await sql<{ id: string }[]>`
    insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                            raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_sso_user, is_anonymous)
    values (${NIL}::uuid, gen_random_uuid(), 'authenticated', 'authenticated', ${email}, ${password},
            ${confirmed ? sql`now()` : null}, '{"provider": "email", "providers": ["email"]}', '{}', now(), now(), false, false)
    returning id::text`;
  await sql`
    insert into auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at)
    values (${r!.id}, ${r!.id}::uuid, jsonb_build_object('sub', ${r!.id}::text, 'email', ${email}::text, 'email_verified', false), 'email', now(), now())`;
  return r!.id;
}

beforeAll(async () => {
  db = await freshDatabase('rg_auth_takeover');
  sql = db.sql;
  await migrate(db.url);
});

afterAll(async () => {
  await db?.drop();
});

describe('an account someone else made with the owner\'s address, before it was confirmed (fixed by 0030)', () => {
  it('the owner redeeming a magic link: the stranger\'s password no longer signs in', async () => {
    const email = 'victim-link@example.test';
    const id = await unconfirmedSignUp(email, STRANGER_PASSWORD);
    // Unconfirmed: the password does not sign in yet.
    expect((await signIn(email, STRANGER_PASSWORD)).user_id).toBeNull();
    const owner = await verify((await issue(email))!);
    expect(owner.user_id).toBe(id);
    // The redemption confirmed the address; the password nobody proved the mailbox for is gone.
    expect((await signIn(email, STRANGER_PASSWORD)).user_id).toBeNull();
    const [u] = await sql<{ pw: string | null; confirmed: boolean }[]>`
      select encrypted_password as pw, email_confirmed_at is not null as confirmed from auth.users where id = ${id}::uuid`;
    expect(u).toEqual({ pw: null, confirmed: true });
    // The owner's own session goes on.
    expect((await refresh(owner.refresh_token!)).user_id).toBe(id);
  });

  it('the owner redeeming a magic link: an identity the stranger linked and the sessions it opened end', async () => {
    const email = 'victim-oauth@example.test';
    const id = await unconfirmedSignUp(email, STRANGER_PASSWORD);
    expect(await link(id, 'github', 'stranger-gh-1')).not.toBeNull();
    const strangers = await withIdentity('github', 'stranger-gh-1');
    expect(strangers.user_id).toBe(id);
    const owner = await verify((await issue(email))!);
    expect(owner.user_id).toBe(id);
    expect((await withIdentity('github', 'stranger-gh-1')).user_id).toBeNull();
    expect((await refresh(strangers.refresh_token!)).user_id).toBeNull();
    expect(await providersOf(id)).toEqual(['email']);
    expect(await sessionsOf(id)).toBe(1); // the owner's
    const [e] = await sql<{ r: Record<string, unknown> }[]>`
      select new_row as r from audit.log where event = 'magiclink_redeemed' and actor_id = ${id}::uuid order by id desc limit 1`;
    // The stranger's own link to the unconfirmed account had already dropped the password (as GoTrue does).
    expect(e!.r).toMatchObject({ session_id: owner.session_id, unconfirmed_cleared: { hash_cleared: false, identities: 1, sessions: 1 } });
  });

  it('the owner arriving through a provider linked by address: the stranger\'s password, identities and sessions go, even once the address is confirmed elsewhere', async () => {
    const email = 'victim-google@example.test';
    const id = await unconfirmedSignUp(email, STRANGER_PASSWORD);
    expect(await link(id, 'github', 'stranger-gh-2')).not.toBeNull();
    const strangers = await withIdentity('github', 'stranger-gh-2');
    // The server's OAuth callback links the owner's identity (a provider that does not vouch for the address).
    expect(await link(id, 'google', 'owner-google-2', { email, email_verified: false })).not.toBeNull();
    expect(await providersOf(id)).toEqual(['email', 'google']);
    expect((await refresh(strangers.refresh_token!)).user_id).toBeNull();
    // GoTrue, sharing the database, confirms the address through its own mail.
    await sql`update auth.users set email_confirmed_at = now() where id = ${id}::uuid`;
    expect((await signIn(email, STRANGER_PASSWORD)).user_id).toBeNull();
    expect((await withIdentity('github', 'stranger-gh-2')).user_id).toBeNull();
    expect((await withIdentity('google', 'owner-google-2')).user_id).toBe(id);
  });

  it('the owner arriving through a provider that verified the address: the account is confirmed, and their first magic link keeps that identity', async () => {
    const email = 'victim-verified@example.test';
    const id = await unconfirmedSignUp(email, STRANGER_PASSWORD);
    expect(await link(id, 'google', 'owner-google-4', { email: 'Victim-Verified@example.test', email_verified: true })).not.toBeNull();
    const [u] = await sql<{ pw: string | null; confirmed: boolean }[]>`
      select encrypted_password as pw, email_confirmed_at is not null as confirmed from auth.users where id = ${id}::uuid`;
    expect(u).toEqual({ pw: null, confirmed: true });
    const viaGoogle = await withIdentity('google', 'owner-google-4');
    expect((await verify((await issue(email))!)).user_id).toBe(id);
    expect(await providersOf(id)).toEqual(['email', 'google']);
    expect((await refresh(viaGoogle.refresh_token!)).user_id).toBe(id);
    // Another address, or one the provider did not verify, confirms nothing.
    const other = await unconfirmedSignUp('victim-other@example.test', STRANGER_PASSWORD);
    await link(other, 'google', 'stranger-google-5', { email: 'stranger@example.test', email_verified: true });
    await link(other, 'gitlab', 'stranger-gitlab-5', { email: 'victim-other@example.test', email_verified: 'true' });
    const [o] = await sql<{ confirmed: boolean }[]>`select email_confirmed_at is not null as confirmed from auth.users where id = ${other}::uuid`;
    expect(o!.confirmed).toBe(false);
  });
});

describe('an account whose address was already confirmed keeps what it has (held before 0030)', () => {
  it('a magic link and a new identity leave its password, identities and sessions alone', async () => {
    const email = 'confirmed-owner@example.test';
    const id = await unconfirmedSignUp(email, 'the owner chose this', true);
    expect(await link(id, 'github', 'owner-gh-3')).not.toBeNull();
    const first = await signIn(email, 'the owner chose this');
    expect(first.user_id).toBe(id);
    expect((await verify((await issue(email))!)).user_id).toBe(id);
    expect(await link(id, 'google', 'owner-google-3', { email, email_verified: true })).not.toBeNull();
    expect((await signIn(email, 'the owner chose this')).user_id).toBe(id);
    expect((await withIdentity('github', 'owner-gh-3')).user_id).toBe(id);
    expect(await providersOf(id)).toEqual(['email', 'github', 'google']);
    expect((await refresh(first.refresh_token!)).user_id).toBe(id);
  });

  it('an unconfirmed account with no password: the magic link confirms it and signs in', async () => {
    const email = 'no-password@example.test';
    const id = await unconfirmedSignUp(email, null);
    expect((await verify((await issue(email))!)).user_id).toBe(id);
    const [u] = await sql<{ confirmed: boolean }[]>`select email_confirmed_at is not null as confirmed from auth.users where id = ${id}::uuid`;
    expect(u!.confirmed).toBe(true);
  });
});
