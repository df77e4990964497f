/**
 * Two of the same auth flow at once, each interleaving forced (a transaction held open, or a
 * test-only trigger that parks a flow on an advisory lock at a chosen point) rather than left to
 * timing: one sign-up per email whatever its case, one owner per OAuth identity, and a refresh that
 * collides with a sign-out never hands the caller a deadlock; nor does an erasure against a refresh,
 * a sign-out or an OAuth sign-in of its user (0031); a burst of wrong passwords is counted one by
 * one, and reuse detection racing the owner's refresh still ends the session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import { connect, type Sql } from '../../cli/core/db.js';
import * as flows from '../../cli/core/auth/flows.js';

let db: TestDatabase;
let sql: Sql;
const conns: Sql[] = [];
/** A pool of one connection of its own (a second client, as another request would be). */
const client = (): Sql => {
  const c = connect(db.url, { max: 1 });
  conns.push(c);
  return c;
};
const pidOf = async (c: Sql) => (await c<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;

/** Until backend `pid` waits on a lock (a heavyweight lock: row, transaction id or advisory). */
async function waitsOnLock(pid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [r] = await sql<{ w: string | null }[]>`select wait_event_type as w from pg_stat_activity where pid = ${pid}`;
    if (r?.w === 'Lock') return;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`backend ${pid} never waited on a lock`);
}

const PASSWORD = 'correct horse battery staple';
const PARK = 4242;

beforeAll(async () => {
  db = await freshDatabase('rg_auth_conc');
  sql = db.sql;
  await migrate(db.url);
  // The barrier: a row trigger that, in a transaction that asked for it, waits for advisory lock PARK.
  await sql`
    create function public.park() returns trigger language plpgsql as $$
    begin
      if current_setting('test.park', true) = 'on' then
        perform pg_advisory_xact_lock_shared(${sql.unsafe(String(PARK))});
      end if;
      return case tg_op when 'DELETE' then old else new end;
    end $$`;
});

afterAll(async () => {
  await Promise.all(conns.map((c) => c.end({ timeout: 5 }).catch(() => undefined)));
  await db?.drop();
});

/** An error as `code: message`, so a race's loser can be compared as a value. */
const asText = (err: { code?: string; message?: string }) => `${err.code}: ${err.message}`;

/**
 * A race with its interleaving forced: `first` runs on one client in a transaction and parks at
 * the row trigger `park` (created `when` on `on` for this race); `second` starts on another client
 * once the first waits there, and is let go once it waits on a lock the first holds. Both results.
 */
async function race<A, B>(when: string, on: string, first: (tx: Sql) => Promise<A>, second: (b: Sql) => Promise<B>, setUpSecond?: (b: Sql) => Promise<unknown>): Promise<[A, B | string]> {
  await sql.unsafe(`create trigger park ${when} on ${on} for each row execute function public.park()`);
  const gate = client();
  const a = client();
  const b = client();
  const [pa, pb] = [await pidOf(a), await pidOf(b)];
  try {
    await setUpSecond?.(b);
    await gate`select pg_advisory_lock(${PARK})`;
    const parked = a.begin(async (tx) => {
      await tx`select set_config('test.park', 'on', true)`;
      return first(tx as unknown as Sql);
    });
    await waitsOnLock(pa);
    const other = second(b).then((r) => r, asText);
    await waitsOnLock(pb);
    await gate`select pg_advisory_unlock(${PARK})`;
    return (await Promise.all([parked, other])) as [A, B | string];
  } finally {
    await sql.unsafe(`drop trigger if exists park on ${on}`);
  }
}

/**
 * A race on an uncommitted write: `first` runs in a transaction held open after it; `second` starts
 * then, and the transaction commits once `second` waits on a lock it holds. Both results.
 */
async function againstUncommitted<A, B>(first: (tx: Sql) => Promise<A>, second: (b: Sql) => Promise<B>): Promise<[A, B | string]> {
  const a = client();
  const b = client();
  const pb = await pidOf(b);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let written!: () => void;
  const made = new Promise<void>((r) => (written = r));
  const firstDone = a.begin(async (tx) => {
    const r = await first(tx as unknown as Sql);
    written();
    await held;
    return r;
  });
  await Promise.race([made, firstDone]);
  const other = second(b).then((r) => r, asText);
  await waitsOnLock(pb);
  release();
  return [(await firstDone) as A, await other];
}

describe('sign-up and identities', () => {
  it('two sign-ups of one email in different case at once: one user, the other told the email is taken', async () => {
    // A's insert is made and not yet committed when B's arrives, and B waits on A's entry in the unique index.
    const [first, second] = await againstUncommitted(
      (tx) => flows.signUp(tx, 'Dup.Case@Example.test', PASSWORD),
      (b) => flows.signUp(b, 'dup.case@example.TEST', PASSWORD).then(() => 'created'),
    );
    expect(first.email).toBe('dup.case@example.test');
    expect(second).toBe('auth: sign-up: a user with this email already exists');
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from auth.users where lower(email) = 'dup.case@example.test'`;
    expect(n!.n).toBe(1);
    const [i] = await sql<{ n: number }[]>`select count(*)::int as n from auth.identities where provider = 'email' and identity_data->>'email' = 'dup.case@example.test'`;
    expect(i!.n).toBe(1);
  });

  it('one (provider, provider_id) linked to two users at once: one link, the other refused', async () => {
    const u1 = (await flows.signUp(sql, 'link-one@example.test', PASSWORD)).userId;
    const u2 = (await flows.signUp(sql, 'link-two@example.test', PASSWORD)).userId;
    const [first, second] = await againstUncommitted(
      (tx) => flows.linkIdentity(tx, u1, 'github', 'gh-4711', {}),
      (b) => flows.linkIdentity(b, u2, 'github', 'gh-4711', {}).then(() => 'linked'),
    );
    expect(first.identityId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toBe('auth: link-identity failed: this github identity is already linked to another user');
    const rows = await sql<{ user_id: string }[]>`select user_id::text from auth.identities where provider = 'github' and provider_id = 'gh-4711'`;
    expect(rows).toEqual([{ user_id: u1 }]);
  });
});

describe('sign-ins of one email at once', () => {
  it('a sign-in waiting on the lockout row that a successful sign-in deletes meanwhile still signs in (not "query returned no rows")', async () => {
    const email = 'two-tabs@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    // An earlier typo leaves the email's login_attempts row.
    await expect(flows.signIn(sql, email, 'not the password')).rejects.toMatchObject({ code: 'auth' });
    const a = client();
    const b = client();
    const pb = await pidOf(b);
    // A does what a successful sign_in does with that row, holding its transaction open between the steps.
    await a`begin`;
    await a`select 1 from auth_flow.login_attempts where email_key = auth_flow.email_key(auth_flow.normalize_email(${email})) for update`;
    // The SQL function itself, as a server calling auth_flow would (no retry by rowguard's client).
    const second = b<{ user_id: string | null; session_id: string | null }[]>`select user_id::text, session_id::text from auth_flow.sign_in(${email}, ${PASSWORD})`.then(
      (rows) => rows[0],
      asText,
    );
    await waitsOnLock(pb);
    await a`delete from auth_flow.login_attempts where email_key = auth_flow.email_key(auth_flow.normalize_email(${email}))`;
    await a`commit`;
    expect(await second).toEqual({ user_id: userId, session_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });
});

describe("rowguard's client runs a flow again when Postgres aborts it for a conflict", () => {
  it('under REPEATABLE READ the loser of two refreshes of one token gets the answer a second refresh gets, not 40001', async () => {
    const email = 'two-refreshes-rr@example.test';
    await flows.signUp(sql, email, PASSWORD);
    const g = await flows.signIn(sql, email, PASSWORD);
    // The second waits on the session row the first's refresh holds; its first attempt then fails
    // to serialize (40001), and run again it sees the token the first rotated a moment ago.
    const [first, second] = await race(
      'before insert',
      'auth.refresh_tokens',
      (tx) => flows.refresh(tx, g.refreshToken),
      (b) => flows.refresh(b, g.refreshToken).then(() => 'refreshed'),
      (b) => b`set default_transaction_isolation = 'repeatable read'`,
    );
    expect(first.sessionId).toBe(g.sessionId);
    expect(second).toMatch(/^auth: refresh failed/);
  });
});

describe('a refresh colliding with a sign-out', () => {
  // Deleting a session locks the session row, then its tokens (ON DELETE CASCADE); auth_flow.refresh
  // locked its token row, then wrote the session row, and parked between the two the pair
  // deadlocked. Since 0026 refresh locks the session first. The second party calls the SQL function
  // itself, as a server calling auth_flow would: rowguard's client retries nothing here.

  it('refresh parked after locking its token, sign-out of that user meanwhile: no deadlock reaches the sign-out caller, the session ends', async () => {
    const email = 'collide-out@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    const g = await flows.signIn(sql, email, PASSWORD);
    // A locks the session and g's token, revokes it, and parks before inserting the child; the
    // sign-out's delete waits on the session row A holds.
    const [refreshed, out] = await race(
      'before insert',
      'auth.refresh_tokens',
      (tx) => flows.refresh(tx, g.refreshToken),
      (b) => b<{ n: number }[]>`select auth_flow.sign_out_user(${userId}::uuid) as n`.then((rows) => ({ sessionsEnded: rows[0]!.n })),
    );
    expect(out).toEqual({ sessionsEnded: 1 });
    // The refresh committed first (its grant), then the sign-out ended the session with its new token.
    expect(refreshed.sessionId).toBe(g.sessionId);
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from auth.sessions where user_id = ${userId}::uuid`;
    expect(left!.n).toBe(0);
    const [t] = await sql<{ n: number }[]>`select count(*)::int as n from auth.refresh_tokens where user_id = ${userId}`;
    expect(t!.n).toBe(0);
  });

  it('sign-out parked after locking the session, a refresh of its token meanwhile: the refresh fails as an ended session does, not with a deadlock', async () => {
    const email = 'collide-in@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    const g = await flows.signIn(sql, email, PASSWORD);
    // The refresh waits on the session row A is deleting.
    const [out, r] = await race(
      'before delete',
      'auth.sessions',
      (tx) => flows.signOutUser(tx, userId),
      (b) => b<{ session_id: string | null }[]>`select session_id::text from auth_flow.refresh(${g.refreshToken})`.then((rows) => (rows[0]?.session_id === null ? 'no grant' : 'refreshed')),
    );
    expect(out).toEqual({ sessionsEnded: 1 });
    expect(r).toBe('no grant'); // as for any token whose session has ended
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from auth.refresh_tokens where user_id = ${userId}`;
    expect(left!.n).toBe(0);
  });
});

describe('an erasure colliding with the flows of the same user', () => {
  // Every party calls the SQL function itself, as a server calling auth_flow would: rowguard's
  // client retries nothing here, so a deadlock (40P01) reaches the caller as it would reach a server.
  const erase = (c: Sql, userId: string) =>
    c<{ counts: Record<string, unknown> | null }[]>`select auth_flow.erase_user(${userId}::uuid) as counts`.then((rows) => rows[0]!.counts);
  const leftOf = async (userId: string): Promise<number> =>
    Number((await sql<{ n: string }[]>`
      select (select count(*) from auth.users where id = ${userId}::uuid) + (select count(*) from auth.sessions where user_id = ${userId}::uuid)
           + (select count(*) from auth.refresh_tokens where user_id = ${userId}) + (select count(*) from auth.identities where user_id = ${userId}::uuid) as n`)[0]!.n);

  it('erasure parked after taking the refresh tokens, a refresh of one meanwhile: the refresh fails as for an erased user, no deadlock', async () => {
    const email = 'erase-vs-refresh@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    const g = await flows.signIn(sql, email, PASSWORD);
    const [counts, r] = await race(
      'after delete',
      'auth.refresh_tokens',
      (tx) => erase(tx, userId),
      (b) => b<{ session_id: string | null }[]>`select session_id::text from auth_flow.refresh(${g.refreshToken})`.then((rows) => (rows[0]?.session_id === null ? 'no grant' : 'refreshed')),
    );
    expect(counts).toMatchObject({ sessions: 1, identities: 1 });
    expect(r).toBe('no grant');
    expect(await leftOf(userId)).toBe(0);
  });

  it('sign-out parked after locking the session, an erasure of its user meanwhile: both finish, no deadlock', async () => {
    const email = 'erase-vs-signout@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    const g = await flows.signIn(sql, email, PASSWORD);
    const [out, counts] = await race(
      'before delete',
      'auth.sessions',
      (tx) => tx<{ n: number | null }[]>`select auth_flow.sign_out_by_refresh_token(${g.refreshToken}, 'local') as n`.then((rows) => rows[0]!.n),
      (b) => erase(b, userId),
    );
    expect(out).toBe(1);
    expect(counts).toMatchObject({ identities: 1 });
    expect(await leftOf(userId)).toBe(0);
  });

  it('sign-in through an identity parked before its session is written, an erasure meanwhile: both finish, no deadlock', async () => {
    const email = 'erase-vs-oauth@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    await flows.linkIdentity(sql, userId, 'github', 'gh-erase-1', {});
    const [g, counts] = await race(
      'before insert',
      'auth.sessions',
      (tx) => tx<{ user_id: string | null }[]>`select user_id::text from auth_flow.sign_in_with_identity('github', 'gh-erase-1')`.then((rows) => rows[0]!.user_id),
      (b) => erase(b, userId),
    );
    // The sign-in came first: it signed in, and the erasure then ended that session with the rest.
    expect(g).toBe(userId);
    expect(counts).toMatchObject({ sessions: 1, identities: 2 });
    expect(await leftOf(userId)).toBe(0);
  });
});

describe('a flow that found the user before an erasure committed', () => {
  // The erasure parks holding the user row (FOR UPDATE), about to delete its sessions; the flow
  // found the user before that and then waits on the row. The caller must get the flow's own
  // failure, not the foreign key error of a write that referenced the erased user.
  const erase = (c: Sql, userId: string) =>
    c<{ counts: Record<string, unknown> | null }[]>`select auth_flow.erase_user(${userId}::uuid) as counts`.then((rows) => rows[0]!.counts);

  it('a password sign-in: NULL, as for an unknown email (not 23503)', async () => {
    const email = 'erased-while-signing-in@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    await flows.signIn(sql, email, PASSWORD); // a session, so the erasure parks on deleting it
    const [counts, r] = await race(
      'before delete',
      'auth.sessions',
      (tx) => erase(tx, userId),
      (b) => b<{ user_id: string | null }[]>`select user_id::text from auth_flow.sign_in(${email}, ${PASSWORD})`.then((rows) => rows[0]!.user_id ?? 'no grant'),
    );
    expect(counts).toMatchObject({ sessions: 1 });
    expect(r).toBe('no grant');
    const [e] = await sql<{ r: string }[]>`select new_row ->> 'reason' as r from audit.log where event = 'login_failed' order by id desc limit 1`;
    expect(e!.r).toBe('unknown_email');
  });

  it('a magic-link request: NULL, as for an unknown email (not 23503)', async () => {
    const email = 'erased-while-mailing@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    await flows.signIn(sql, email, PASSWORD);
    const [counts, r] = await race(
      'before delete',
      'auth.sessions',
      (tx) => erase(tx, userId),
      (b) => b<{ t: string | null }[]>`select auth_flow.issue_magic_link(${email}) as t`.then((rows) => rows[0]!.t ?? 'no link'),
    );
    expect(counts).toMatchObject({ sessions: 1 });
    expect(r).toBe('no link');
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from auth.one_time_tokens where relates_to = ${email}`;
    expect(n!.n).toBe(0);
  });
});

describe('a burst of sign-ins against the lockout', () => {
  it('eight wrong passwords at once, queued on the attempts row: each is counted, the lock is taken once, and the right password then fails', async () => {
    const email = 'burst@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    const holder = client();
    await holder`begin`;
    await holder`insert into auth_flow.login_attempts (email_key) values (auth_flow.email_key(${email}))`;
    const bursts = Array.from({ length: 8 }, () => client());
    const pids = await Promise.all(bursts.map(pidOf));
    const answers = bursts.map((c, i) =>
      c<{ id: string | null }[]>`select user_id::text as id from auth_flow.sign_in(${email}, ${'wrong password ' + i})`.then((rows) => rows[0]!.id),
    );
    for (const pid of pids) await waitsOnLock(pid);
    await holder`commit`;
    expect(await Promise.all(answers)).toEqual(Array(8).fill(null));
    const [a] = await sql<{ failures: number; locked: boolean }[]>`
      select failures, locked_until > now() as locked from auth_flow.login_attempts where email_key = auth_flow.email_key(${email})`;
    // The 5th locked the email; the three after it were counted without extending the lock.
    expect(a).toEqual({ failures: 8, locked: true });
    const [locks] = await sql<{ n: number }[]>`select count(*)::int as n from audit.log where event = 'user_locked' and actor_id = ${userId}::uuid`;
    expect(locks!.n).toBe(1);
    const [ok] = await sql<{ id: string | null }[]>`select user_id::text as id from auth_flow.sign_in(${email}, ${PASSWORD})`;
    expect(ok!.id).toBeNull();
  });
});

describe('reuse detection against the owner\'s refresh', () => {
  it('the owner\'s refresh parked, a stolen older token presented after the interval meanwhile: the session ends with the child the owner just got', async () => {
    const email = 'reuse-race@example.test';
    await flows.signUp(sql, email, PASSWORD);
    const g = await flows.signIn(sql, email, PASSWORD);
    const child = await flows.refresh(sql, g.refreshToken);
    // The old token was rotated longer ago than refresh_reuse_interval (10 s).
    await sql`update auth.refresh_tokens set updated_at = updated_at - interval '1 minute' where session_id = ${g.sessionId}::uuid and revoked`;
    const [owners, thief] = await race(
      'before insert',
      'auth.refresh_tokens',
      (tx) => flows.refresh(tx, child.refreshToken),
      (b) => b<{ session_id: string | null }[]>`select session_id::text from auth_flow.refresh(${g.refreshToken})`.then((rows) => (rows[0]?.session_id === null ? 'no grant' : 'refreshed')),
    );
    expect(owners.sessionId).toBe(g.sessionId);
    expect(thief).toBe('no grant');
    const [live] = await sql<{ n: number }[]>`select count(*)::int as n from auth.refresh_tokens where session_id = ${g.sessionId}::uuid and not revoked`;
    expect(live!.n).toBe(0);
    const [again] = await sql<{ session_id: string | null }[]>`select session_id::text from auth_flow.refresh(${owners.refreshToken})`;
    expect(again!.session_id).toBeNull();
  });
});

describe('an unconfirmed account proven by its owner while a stranger signs in to it', () => {
  it('magic-link redemption parked after clearing the account, the stranger\'s identity sign-in meanwhile: no session for the stranger', async () => {
    const email = 'proven-meanwhile@example.test';
    const [u] = await sql<{ id: string }[]>`
      insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, created_at, updated_at, is_sso_user, is_anonymous)
      values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', ${email}, 'the stranger chose this', null, now(), now(), false, false)
      returning id::text`;
    await flows.linkIdentity(sql, u!.id, 'github', 'gh-stranger-race', {});
    const token = (await flows.issueMagicLink(sql, email)).token;
    const [owner, stranger] = await race(
      'before insert',
      'auth.sessions',
      (tx) => flows.verifyMagicLink(tx, token),
      (b) => b<{ user_id: string | null }[]>`select user_id::text from auth_flow.sign_in_with_identity('github', 'gh-stranger-race')`.then((rows) => rows[0]!.user_id),
    );
    expect(owner.userId).toBe(u!.id);
    expect(stranger).toBeNull();
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from auth.sessions where user_id = ${u!.id}::uuid`;
    expect(n!.n).toBe(1);
  });
});

describe('one-time tokens at once', () => {
  it('one magic link redeemed by two connections, the first parked before its session is written: one session', async () => {
    const email = 'one-link-two-tabs@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    const token = (await flows.issueMagicLink(sql, email)).token;
    const [first, second] = await race(
      'before insert',
      'auth.sessions',
      (tx) => flows.verifyMagicLink(tx, token),
      (b) => b<{ user_id: string | null }[]>`select user_id::text from auth_flow.verify_magic_link(${token})`.then((rows) => rows[0]!.user_id),
    );
    expect(first.userId).toBe(userId);
    expect(second).toBeNull();
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from auth.sessions where user_id = ${userId}::uuid`;
    expect(n!.n).toBe(1);
  });

  it('two magic links requested at once for a user holding none: one is issued, the other refused as too soon', async () => {
    const email = 'two-requests@example.test';
    const userId = (await flows.signUp(sql, email, PASSWORD)).userId;
    const [first, second] = await againstUncommitted(
      (tx) => tx<{ t: string | null }[]>`select auth_flow.issue_magic_link(${email}) as t`.then((rows) => rows[0]!.t),
      (b) => b<{ t: string | null }[]>`select auth_flow.issue_magic_link(${email}) as t`.then((rows) => rows[0]!.t),
    );
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second).toBeNull();
    const [row] = await sql<{ h: string }[]>`select token_hash as h from auth.one_time_tokens where user_id = ${userId}::uuid`;
    expect(row!.h).toBe((await sql<{ h: string }[]>`select auth_flow.hash_secret(${first}) as h`)[0]!.h);
  });
});
