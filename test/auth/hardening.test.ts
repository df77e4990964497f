/**
 * Adversarial tests of the auth flows (sql/0020…0024): what an attacker who
 * reaches the trusted server's entry points tries. The first group failed
 * before sql/0024_auth_hardening.sql; the rest pin behaviour that already
 * held, so a later change cannot quietly lose it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import type { Sql } from '../../cli/core/db.js';

let db: TestDatabase;
let sql: Sql;

interface Grant {
  user_id: string | null;
  session_id: string | null;
  refresh_token: string | null;
}

const signUp = async (email: string, password: string): Promise<string> =>
  (await sql<{ id: string }[]>`select auth_flow.sign_up(${email}, ${password})::text as id`)[0]!.id;
const signIn = async (email: string, password: string): Promise<Grant> =>
  (await sql<Grant[]>`select * from auth_flow.sign_in(${email}, ${password})`)[0]!;
const refresh = async (token: string): Promise<Grant> => (await sql<Grant[]>`select * from auth_flow.refresh(${token})`)[0]!;
const issue = async (email: string): Promise<string | null> =>
  (await sql<{ t: string | null }[]>`select auth_flow.issue_magic_link(${email}) as t`)[0]!.t;
const verify = async (token: string): Promise<Grant> => (await sql<Grant[]>`select * from auth_flow.verify_magic_link(${token})`)[0]!;
const lastReason = async (actor: string, event: string): Promise<unknown> =>
  (await sql<{ r: string }[]>`select new_row ->> 'reason' as r from audit.log where event = ${event} and actor_id = ${actor}::uuid order by id desc limit 1`)[0]?.r;

beforeAll(async () => {
  db = await freshDatabase('rg_auth_hard');
  sql = db.sql;
  await migrate(db.url);
});

afterAll(async () => {
  await db?.drop();
});

describe('fixed by 0024_auth_hardening', () => {
  it('a password longer than 72 bytes never signs in, even when its first 72 bytes are the password', async () => {
    const password = 'p'.repeat(72); // the longest the 0004 trigger hashes
    const id = await signUp('long@example.test', password);
    expect((await signIn('long@example.test', password + 'anything')).user_id).toBeNull();
    expect(await lastReason(id, 'login_failed')).toBe('wrong_password');
    // multi-byte: 36 two-byte characters are 72 bytes; one more character is over
    const wide = 'é'.repeat(36);
    await signUp('wide@example.test', wide);
    expect((await signIn('wide@example.test', wide + 'é')).user_id).toBeNull();
    expect((await signIn('wide@example.test', wide)).user_id).not.toBeNull();
    expect((await signIn('long@example.test', password)).user_id).toBe(id);
  });

  it('a magic link only works while the account still has the email it was mailed to', async () => {
    const id = await signUp('moved@example.test', 'moved password 1');
    const old = (await issue('moved@example.test'))!;
    // the user gives up the old address (lost mailbox, lapsed domain)
    await sql`update auth.users set email = 'moved-new@example.test' where id = ${id}::uuid`;
    expect((await verify(old)).user_id).toBeNull();
    expect(await lastReason(id, 'magiclink_failed')).toBe('email_changed');
    const fresh = (await issue('moved-new@example.test'))!;
    expect((await verify(fresh)).user_id).toBe(id);
  });

  it('sign-up refuses look-alikes of an address: non-ASCII case, other Unicode forms, invisible characters, a trailing dot', async () => {
    await signUp('ann@example.test', 'ann password 1');
    await signUp('zoe@example.test', 'zoe password 1');
    const lookalikes = [
      'Änn@example.test', // lower() under the C collation leaves Ä alone
      'änn@example.test',
      'a\u0308nn@example.test', // NFD of the previous one
      'ann\u200b@example.test', // zero-width space
      'ann@example.test.', // the same mailbox
      'ann@exämple.test', // an IDN in its Unicode form
      'zoe@examp\u0131e.test', // dotless i
    ];
    for (const email of lookalikes) {
      await expect(signUp(email, 'long enough password'), email).rejects.toMatchObject({ code: '22023', message: 'sign-up: not an email address' });
    }
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from auth.users where email like '%example.test%' and email !~ '^[ -~]*$'`;
    expect(n!.n).toBe(0);
    // the ASCII forms still register: punycode domain, plus-tag, quote, an uppercase address normalised
    await signUp('ann@xn--exmple-cua.test', 'long enough password');
    await signUp("  O'Brien+tag@Example.TEST ", 'long enough password');
    expect((await signIn("o'brien+tag@example.test", 'long enough password')).user_id).not.toBeNull();
  });

  it('erasing a user keeps other users\' rows that only point at them (ON DELETE SET NULL); export reads every pointing column', async () => {
    await sql`create table public.invitations (
      id bigserial primary key,
      user_id uuid not null references auth.users (id) on delete cascade,
      invited_by uuid references auth.users (id) on delete set null,
      note text)`;
    const eve = await signUp('inviter@example.test', 'inviter password 1');
    const bob = await signUp('invitee@example.test', 'invitee password 1');
    await sql`insert into public.invitations (user_id, invited_by, note) values (${bob}::uuid, ${eve}::uuid, 'bob, invited by eve'), (${eve}::uuid, null, 'eve')`;
    const [exp] = await sql<{ rows: Array<{ note: string }> }[]>`select auth_flow.export_user(${bob}::uuid) -> 'owned_rows' -> 'public.invitations' as rows`;
    expect(exp!.rows.map((r) => r.note)).toEqual(['bob, invited by eve']);
    // eve has her own account erased: bob's invitation stays, no longer naming her
    const [erased] = await sql<{ c: { owned_rows: Record<string, number> } }[]>`select auth_flow.erase_user(${eve}::uuid) as c`;
    expect(erased!.c.owned_rows['public.invitations']).toBe(1);
    const left = await sql<{ note: string; user_id: string; invited_by: string | null }[]>`select note, user_id::text, invited_by::text from public.invitations order by id`;
    expect(left).toEqual([{ note: 'bob, invited by eve', user_id: bob, invited_by: null }]);
    await sql`drop table public.invitations`;
  });

  it('requests in a loop cannot displace a user\'s magic link before magic_link_min_interval; after it they can', async () => {
    const id = await signUp('spam@example.test', 'spam password 1');
    const link = (await issue('spam@example.test'))!;
    for (let i = 0; i < 3; i++) expect(await issue('Spam@Example.test')).toBeNull();
    expect(await lastReason(id, 'magiclink_refused')).toBe('too_soon');
    expect((await verify(link)).user_id).toBe(id);
    // 61 s after a link, a new one replaces it
    const second = (await issue('spam@example.test'))!;
    const later = new Date(Date.now() + 61_000).toISOString();
    const third = await sql.begin(async (tx) => {
      await tx`select set_config('rowguard.auth_now', ${later}, true)`;
      return (await tx<{ t: string | null }[]>`select auth_flow.issue_magic_link('spam@example.test') as t`)[0]!.t;
    });
    expect(third).not.toBeNull();
    expect((await verify(second)).user_id).toBeNull();
    expect((await verify(third!)).user_id).toBe(id);
    // concurrent first requests: one link, the others refused
    const conns = await Promise.all([sql.reserve(), sql.reserve(), sql.reserve()]);
    try {
      await signUp('spam-race@example.test', 'spam race password');
      const got = await Promise.all(conns.map(async (c) => (await c<{ t: string | null }[]>`select auth_flow.issue_magic_link('spam-race@example.test') as t`)[0]!.t));
      expect(got.filter((t) => t !== null)).toHaveLength(1);
    } finally {
      for (const c of conns) c.release();
    }
  });

  // not a failure before 0024: it checks that fix 3 locks no existing account out
  it('an account stored before 0024 with a non-ASCII email still signs in and gets magic links', async () => {
    // as GoTrue (Go's Unicode strings.ToLower) or an older sign_up would have stored it
    const [u] = await sql<{ id: string }[]>`
      insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, created_at, updated_at)
      values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
              'jürgen@example.test', 'jürgen password 1', now(), now(), now())
      returning id::text`;
    expect((await signIn('jürgen@example.test', 'jürgen password 1')).user_id).toBe(u!.id);
    expect((await verify((await issue('jürgen@example.test'))!)).user_id).toBe(u!.id);
  });
});

describe('held before 0024 (pinned)', () => {
  it('refresh and magic links fail once the user is banned or soft-deleted; the refresh token works again after the ban', async () => {
    const id = await signUp('ban@example.test', 'ban password 1');
    const g = await signIn('ban@example.test', 'ban password 1');
    const link = (await issue('ban@example.test'))!;
    await sql`update auth.users set banned_until = now() + interval '1 hour' where id = ${id}::uuid`;
    expect((await refresh(g.refresh_token!)).user_id).toBeNull();
    // a magic link mailed before the ban does not sign in during it
    expect((await verify(link)).user_id).toBeNull();
    expect(await lastReason(id, 'magiclink_failed')).toBe('banned_or_deleted');
    expect((await signIn('ban@example.test', 'ban password 1')).user_id).toBeNull();
    expect(await issue('ban@example.test')).toBeNull();
    // the failed refresh revoked nothing: after the ban the same token rotates
    await sql`update auth.users set banned_until = null where id = ${id}::uuid`;
    const next = await refresh(g.refresh_token!);
    expect(next.user_id).toBe(id);
    await sql`update auth.users set deleted_at = now() where id = ${id}::uuid`;
    expect((await refresh(next.refresh_token!)).user_id).toBeNull();
  });

  it('a signed-out session\'s refresh token is dead; the user\'s other session keeps rotating, within itself', async () => {
    await signUp('two@example.test', 'two password 1');
    const a = await signIn('two@example.test', 'two password 1');
    const b = await signIn('two@example.test', 'two password 1');
    const [out] = await sql<{ n: number }[]>`select auth_flow.sign_out_by_refresh_token(${a.refresh_token!}, 'local') as n`;
    expect(out!.n).toBe(1);
    expect((await refresh(a.refresh_token!)).user_id).toBeNull();
    // the other session is untouched, and its token is bound to it
    const b2 = await refresh(b.refresh_token!);
    expect(b2.session_id).toBe(b.session_id);
  });

  it('linking an identity another user holds neither moves it nor lets the second user sign in with it', async () => {
    const ann = await signUp('id-ann@example.test', 'id ann password');
    const eve = await signUp('id-eve@example.test', 'id eve password');
    await sql`select auth_flow.link_identity(${ann}::uuid, 'github', '4242', '{"email": "id-ann@example.test", "email_verified": true}'::jsonb)`;
    const [r] = await sql<{ id: string | null }[]>`select auth_flow.link_identity(${eve}::uuid, 'github', '4242', '{"email": "id-ann@example.test", "email_verified": false}'::jsonb) as id`;
    expect(r!.id).toBeNull();
    const [owner] = await sql<{ user_id: string; verified: string }[]>`
      select user_id::text, identity_data ->> 'email_verified' as verified from auth.identities where provider = 'github' and provider_id = '4242'`;
    expect(owner).toEqual({ user_id: ann, verified: 'true' });
    expect((await sql<Grant[]>`select * from auth_flow.sign_in_with_identity('github', '4242')`)[0]!.user_id).toBe(ann);
    // an email identity cannot be forged through link_identity
    await expect(sql`select auth_flow.link_identity(${eve}::uuid, 'email', ${ann}, '{}'::jsonb)`).rejects.toMatchObject({ code: '22023' });
    expect((await sql<Grant[]>`select * from auth_flow.sign_in_with_identity('email', ${ann})`)[0]!.user_id).toBeNull();
  });

  it('COPY into auth.users goes through the bcrypt trigger; a NUL byte never reaches the password check', async () => {
    const id = '7c1d2e3f-0000-4000-8000-000000000001';
    const writable = await sql`copy auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at) from stdin`.writable();
    await pipeline(Readable.from([`00000000-0000-0000-0000-000000000000\t${id}\tauthenticated\tauthenticated\tcopy@example.test\tcopied password 1\t2030-01-01 00:00:00+00\n`]), writable);
    const [row] = await sql<{ p: string }[]>`select encrypted_password as p from auth.users where id = ${id}::uuid`;
    expect(row!.p).toMatch(/^\$2[ab]\$10\$/);
    expect((await signIn('copy@example.test', 'copied password 1')).user_id).toBe(id);
    await expect(signIn('copy@example.test', 'copied password 1\u0000x')).rejects.toMatchObject({ code: '22021' });
  });
});
