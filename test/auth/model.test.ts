/**
 * Sessions and refresh tokens against a model: random sequences of sign-ins,
 * refreshes (with the live token, an old one, an unknown one), sign-outs by
 * session or by refresh token in every scope, and a clock that moves by less
 * than, exactly, and more than the reuse interval — each call's answer and the
 * whole session/token state compared, after every step, with what GoTrue's
 * rules (conventions §6, as sql/0021 and 0026 implement them) say. And the
 * sign-in lockout the same way: right and wrong passwords for two users and an
 * unknown email, the clock moving around the failure window and the lock. And
 * magic links: issued again (replacing the last), redeemed once, expiring.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import { mulberry32 } from '../helpers/random.js';
import type { Sql } from '../../cli/core/db.js';

const REUSE_MS = 10_000; // settings.refresh_reuse_interval, the default
const START = Date.parse('2030-01-01T00:00:00Z');
const STEPS_MS = [0, 3_000, 9_999, 10_000, 10_001, 60_000, 30 * 60_000, 2 * 3600_000];

interface MToken { secret: string; revoked: boolean; revokedAt: number | null }
interface MSession { id: string; user: string; notAfter: number | null; tokens: MToken[] }

let db: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await freshDatabase('rg_auth_model');
  sql = db.sql;
  await migrate(db.url);
});

afterAll(async () => {
  await db?.drop();
});

async function at<T>(now: number, fn: (tx: Sql) => Promise<T>): Promise<T> {
  return (await sql.begin(async (tx) => {
    await tx`select set_config('rowguard.auth_now', ${new Date(now).toISOString()}, true)`;
    return fn(tx as unknown as Sql);
  })) as T;
}

interface Grant { user_id: string | null; session_id: string | null; refresh_token: string | null; refresh_token_expires_at: Date | null }

async function run(seed: number, timebox: number | null): Promise<{ ops: Record<string, number> }> {
  const rnd = mulberry32(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  await sql`update auth_flow.settings set session_timebox = ${timebox === null ? null : `${timebox / 1000} seconds`}::interval`;
  const users = new Map<string, { email: string; password: string }>();
  for (const name of ['a', 'b']) {
    const email = `${name}-${seed}-${randomBytes(3).toString('hex')}@model.test`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const [u] = await sql<{ id: string }[]>`select auth_flow.sign_up(${email}, ${password})::text as id`;
    users.set(u!.id, { email, password });
  }
  const userIds = [...users.keys()];
  let now = START + seed * 86_400_000; // each seed its own day: no overlap with another run's rows
  let sessions: MSession[] = [];
  const ops: Record<string, number> = {};
  const ended = (s: MSession) => s.notAfter !== null && s.notAfter <= now;
  const tokenOf = (secret: string) => {
    for (const s of sessions) for (const t of s.tokens) if (t.secret === secret) return { s, t };
    return null;
  };
  const allSecrets = () => sessions.flatMap((s) => s.tokens.map((t) => t.secret));
  const forgotten: string[] = []; // tokens of sessions signed out: their rows are gone
  const history: string[] = [];

  const check = async (what: string) => {
    const ids = userIds;
    const rows = await sql<{ id: string; user_id: string; not_after: Date | null }[]>`
      select id::text, user_id::text, not_after from auth.sessions where user_id = any(${ids}::uuid[]) order by id`;
    const got = rows.map((r) => `${r.id} ${r.user_id} ${r.not_after === null ? '-' : r.not_after.getTime()}`);
    const want = [...sessions].sort((x, y) => (x.id < y.id ? -1 : 1)).map((s) => `${s.id} ${s.user} ${s.notAfter === null ? '-' : s.notAfter}`);
    expect(got, `sessions after ${what}\n${history.join('\n')}`).toEqual(want);
    const secrets = allSecrets();
    const tokens = await sql<{ secret: string; revoked: boolean | null }[]>`
      select x.secret, t.revoked from unnest(${secrets}::text[]) x(secret)
      left join auth.refresh_tokens t on t.token = auth_flow.hash_secret(x.secret)`;
    const byToken = new Map(tokens.map((t) => [t.secret, t.revoked]));
    for (const s of sessions) {
      for (const t of s.tokens) expect(byToken.get(t.secret), `token of ${s.id} after ${what}\n${history.join('\n')}`).toBe(t.revoked);
      const n = (await sql<{ n: number }[]>`select count(*)::int as n from auth.refresh_tokens where session_id = ${s.id}::uuid`)[0]!.n;
      expect(n, `tokens of ${s.id} after ${what}`).toBe(s.tokens.length);
    }
    if (forgotten.length) {
      const n = (await sql<{ n: number }[]>`select count(*)::int as n from auth.refresh_tokens where token = any(select auth_flow.hash_secret(x) from unnest(${forgotten}::text[]) x)`)[0]!.n;
      expect(n, `tokens of signed-out sessions after ${what}`).toBe(0);
    }
  };

  for (let step = 0; step < 100; step++) {
    const live = sessions.flatMap((s) => s.tokens.filter((t) => !t.revoked).map((t) => t.secret));
    const old = sessions.flatMap((s) => s.tokens.filter((t) => t.revoked).map((t) => t.secret));
    // A sign-in costs a bcrypt hash: at most 16, and whenever fewer than two sessions are left.
    const signIns = ops['sign-in'] ?? 0;
    const choice = sessions.length < 2 && signIns < 16 ? 0 : Math.floor(rnd() * 10);
    let what: string;
    if (choice === 0 && signIns < 16) {
      const user = pick(userIds);
      const g = await at(now, async (tx) => (await tx<Grant[]>`select * from auth_flow.sign_in(${users.get(user)!.email}, ${users.get(user)!.password})`)[0]!);
      expect(g.session_id, 'sign-in').not.toBeNull();
      expect(g.user_id).toBe(user);
      const notAfter = timebox === null ? null : now + timebox;
      expect(g.refresh_token_expires_at?.getTime() ?? null).toBe(notAfter);
      sessions.push({ id: g.session_id!, user, notAfter, tokens: [{ secret: g.refresh_token!, revoked: false, revokedAt: null }] });
      what = `sign-in ${user}`;
      ops['sign-in'] = (ops['sign-in'] ?? 0) + 1;
    } else if (choice <= 6) {
      const pool = [...live, ...live, ...live, ...old, ...old, ...forgotten.slice(-2), 'never-issued'];
      const secret = pick(pool);
      const g = await at(now, async (tx) => (await tx<Grant[]>`select * from auth_flow.refresh(${secret})`)[0]!);
      const found = tokenOf(secret);
      let expected = 'null';
      if (found && !ended(found.s)) {
        const { s, t } = found;
        if (!t.revoked) {
          expected = 'grant';
          t.revoked = true;
          t.revokedAt = now;
          expect(g.session_id, `refresh with the live token\n${history.join('\n')}`).toBe(s.id);
          expect(g.user_id).toBe(s.user);
          expect(g.refresh_token_expires_at?.getTime() ?? null).toBe(s.notAfter);
          s.tokens.push({ secret: g.refresh_token!, revoked: false, revokedAt: null });
        } else if (t.revokedAt! + REUSE_MS <= now) {
          expected = 'null, session revoked';
          for (const x of s.tokens) if (!x.revoked) Object.assign(x, { revoked: true, revokedAt: now });
          s.notAfter = now;
        } else expected = 'null (within the reuse interval)';
      }
      if (expected !== 'grant') expect(g.session_id, `refresh: expected ${expected}\n${history.join('\n')}`).toBeNull();
      what = `refresh ${found ? (found.t.revoked && expected !== 'grant' ? 'old' : 'token') : 'unknown'} → ${expected}`;
      ops[`refresh ${expected}`] = (ops[`refresh ${expected}`] ?? 0) + 1;
    } else if (choice <= 8 || sessions.length === 0) {
      now += pick(STEPS_MS);
      what = `clock +${now - START}`;
      ops['clock'] = (ops['clock'] ?? 0) + 1;
    } else {
      const scope = pick(['local', 'global', 'others'] as const);
      const byToken = rnd() < 0.5;
      const target = pick(sessions);
      let secret: string | null = null;
      let n: number | null;
      if (byToken) {
        secret = pick([...target.tokens.map((t) => t.secret), ...forgotten]);
        n = (await at(now, (tx) => tx<{ n: number | null }[]>`select auth_flow.sign_out_by_refresh_token(${secret}, ${scope}) as n`))[0]!.n;
      } else {
        n = (await at(now, (tx) => tx<{ n: number | null }[]>`select auth_flow.sign_out(${target.id}::uuid, ${scope}) as n`))[0]!.n;
      }
      // Only a live token names a session to sign out; a session id always does.
      const named = byToken ? (() => { const f = tokenOf(secret!); return f && !f.t.revoked ? f.s : null; })() : target;
      let expected: number | null = byToken ? null : 0;
      if (named) {
        const gone = sessions.filter((s) => s.user === named.user && (scope === 'global' || (scope === 'local') === (s.id === named.id)));
        expected = gone.length;
        for (const s of gone) forgotten.push(...s.tokens.map((t) => t.secret));
        sessions = sessions.filter((s) => !gone.includes(s));
      }
      expect(n, `sign-out ${scope} by ${byToken ? 'token' : 'session'}\n${history.join('\n')}`).toBe(expected);
      what = `sign-out ${scope} by ${byToken ? 'token' : 'session'} → ${expected}`;
      ops[`sign-out ${byToken ? 'token' : 'session'}`] = (ops[`sign-out ${byToken ? 'token' : 'session'}`] ?? 0) + 1;
    }
    history.push(what);
    await check(what);
  }
  return { ops };
}

describe('sessions and refresh tokens, step by step against a model', () => {
  // Sixty seeds of a hundred steps each agree with the model; these three reach every branch.
  it.each([
    [1, null],
    [2, 3600_000],
    [6, 45 * 60_000],
  ] as const)('seed %i (session timebox %s ms)', async (seed, timebox) => {
    const { ops } = await run(seed, timebox);
    for (const branch of ['sign-in', 'refresh grant', 'refresh null', 'refresh null (within the reuse interval)', 'refresh null, session revoked', 'clock', 'sign-out token', 'sign-out session']) {
      expect(ops[branch], branch).toBeGreaterThan(0);
    }
  }, 120_000);
});

describe('the sign-in lockout, step by step against a model', () => {
  // settings: max_failures 5 in a 15-minute window from the first failure locks for 15 minutes.
  const MAX = 5;
  const WINDOW_MS = 15 * 60_000;
  const LOCK_MS = 15 * 60_000;
  const CLOCK_MS = [0, 60_000, 5 * 60_000, WINDOW_MS - 1, WINDOW_MS, WINDOW_MS + 1, 20 * 60_000];

  interface MAttempts { failures: number; windowStart: number | null; lockedUntil: number | null }

  async function lockoutRun(seed: number): Promise<Record<string, number>> {
    const rnd = mulberry32(seed);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const accounts: Array<{ email: string; password: string | null }> = [];
    for (const name of ['a', 'b']) {
      const email = `lock-${name}-${seed}-${randomBytes(3).toString('hex')}@model.test`;
      const password = `pw-${randomBytes(8).toString('hex')}`;
      await sql`select auth_flow.sign_up(${email}, ${password})`;
      accounts.push({ email, password });
    }
    accounts.push({ email: `nobody-${seed}-${randomBytes(3).toString('hex')}@model.test`, password: null });
    let now = START + (1000 + seed) * 86_400_000;
    const model = new Map<string, MAttempts>(); // by email; absent = no row
    const ops: Record<string, number> = {};
    const history: string[] = [];
    for (let step = 0; step < 60; step++) {
      let what: string;
      if (rnd() < 0.25) {
        now += pick(CLOCK_MS);
        what = `clock +${now - START}`;
        ops['clock'] = (ops['clock'] ?? 0) + 1;
      } else {
        const acct = pick(accounts);
        const right = acct.password !== null && rnd() < 0.4;
        const g = await at(now, async (tx) => (await tx<Grant[]>`select * from auth_flow.sign_in(${acct.email}, ${right ? acct.password : 'not-the-password'})`)[0]!);
        const a = model.get(acct.email) ?? { failures: 0, windowStart: null, lockedUntil: null };
        const locked = a.lockedUntil !== null && a.lockedUntil > now;
        const ok = right && !locked;
        if (ok) model.delete(acct.email);
        else {
          if (!locked && (a.lockedUntil !== null || a.windowStart === null || a.windowStart + WINDOW_MS <= now)) {
            a.failures = 0;
            a.windowStart = now;
            a.lockedUntil = null;
          }
          a.failures++;
          if (a.lockedUntil === null && a.failures >= MAX) a.lockedUntil = now + LOCK_MS;
          model.set(acct.email, a);
        }
        const outcome = ok ? 'signed in' : locked ? 'locked' : acct.password === null ? 'unknown email' : right ? '?' : 'wrong password';
        what = `${acct.email.split('-')[0]}/${acct.email.split('-')[1]} ${right ? 'right' : 'wrong'} → ${outcome}`;
        expect(g.session_id !== null, `${what}\n${history.join('\n')}`).toBe(ok);
        ops[outcome] = (ops[outcome] ?? 0) + 1;
      }
      history.push(what);
      const rows = await sql<{ email: string; failures: number | null; window_started_at: Date | null; locked_until: Date | null; present: boolean }[]>`
        select x.email, a.failures, a.window_started_at, a.locked_until, a.email_key is not null as present
        from unnest(${accounts.map((x) => x.email)}::text[]) x(email)
        left join auth_flow.login_attempts a on a.email_key = auth_flow.email_key(auth_flow.normalize_email(x.email))`;
      for (const r of rows) {
        const m = model.get(r.email);
        const got = r.present ? `${r.failures} ${r.window_started_at?.getTime() ?? '-'} ${r.locked_until?.getTime() ?? '-'}` : 'no row';
        const want = m ? `${m.failures} ${m.windowStart ?? '-'} ${m.lockedUntil ?? '-'}` : 'no row';
        expect(got, `attempts of ${r.email.split('-')[0]}/${r.email.split('-')[1]} after ${what}\n${history.join('\n')}`).toBe(want);
      }
    }
    return ops;
  }

  // Twenty-four seeds of sixty steps each agree with the model; these two reach every branch.
  it.each([1, 3])('seed %i', async (seed) => {
    const ops = await lockoutRun(seed);
    for (const branch of ['signed in', 'locked', 'wrong password', 'unknown email', 'clock']) expect(ops[branch], branch).toBeGreaterThan(0);
  }, 120_000);
});

describe('magic links, step by step against a model', () => {
  const TTL_MS = 3600_000; // settings.magic_link_ttl, the default
  const MIN_INTERVAL_MS = 60_000; // settings.magic_link_min_interval (GoTrue's SMTP max frequency)
  const CLOCK_MS = [0, 20_000, MIN_INTERVAL_MS - 1, MIN_INTERVAL_MS, 30 * 60_000, TTL_MS - 1, TTL_MS, TTL_MS + 1];

  async function linkRun(seed: number): Promise<Record<string, number>> {
    const rnd = mulberry32(seed);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const users = new Map<string, string>(); // email → id
    for (const name of ['a', 'b']) {
      const email = `link-${name}-${seed}-${randomBytes(3).toString('hex')}@model.test`;
      const [u] = await sql<{ id: string }[]>`select auth_flow.sign_up(${email}, ${`pw-${randomBytes(8).toString('hex')}`})::text as id`;
      users.set(email, u!.id);
    }
    const emails = [...users.keys()];
    const unknown = `nobody-${seed}-${randomBytes(3).toString('hex')}@model.test`;
    let now = START + (2000 + seed) * 86_400_000;
    const current = new Map<string, { token: string; issuedAt: number }>(); // email → the one live link
    const spent: string[] = []; // replaced, redeemed or expired
    const ops: Record<string, number> = {};
    const history: string[] = [];
    for (let step = 0; step < 80; step++) {
      let what: string;
      const r = rnd();
      if (r < 0.2) {
        now += pick(CLOCK_MS);
        what = `clock +${now - START}`;
        ops['clock'] = (ops['clock'] ?? 0) + 1;
      } else if (r < 0.5) {
        const email = pick([...emails, unknown]);
        const token = await at(now, async (tx) => (await tx<{ t: string | null }[]>`select auth_flow.issue_magic_link(${email}) as t`)[0]!.t);
        const before = current.get(email);
        // A live link younger than the minimum interval between mails stands: the request is refused.
        const outcome = email === unknown ? 'issue unknown' : before && before.issuedAt + MIN_INTERVAL_MS > now ? 'issue too soon' : 'issue';
        if (outcome === 'issue') {
          expect(token, `issue\n${history.join('\n')}`).not.toBeNull();
          if (before) spent.push(before.token);
          current.set(email, { token: token!, issuedAt: now });
        } else expect(token, `${outcome}\n${history.join('\n')}`).toBeNull();
        what = `${outcome} ${email === unknown ? '' : email.split('-')[1]}`;
        ops[outcome] = (ops[outcome] ?? 0) + 1;
      } else {
        const live = [...current.values()].map((c) => c.token);
        const token = pick([...live, ...live, ...spent.slice(-3), 'never-issued']);
        const g = await at(now, async (tx) => (await tx<Grant[]>`select * from auth_flow.verify_magic_link(${token})`)[0]!);
        const entry = [...current].find(([, c]) => c.token === token);
        let outcome = 'refused';
        if (entry) {
          const [email, c] = entry;
          current.delete(email); // a link works once, whatever happens next
          spent.push(token);
          if (c.issuedAt + TTL_MS > now) {
            outcome = 'signed in';
            expect(g.user_id, `verify\n${history.join('\n')}`).toBe(users.get(email));
          } else outcome = 'expired';
        }
        if (outcome !== 'signed in') expect(g.session_id, `verify: expected ${outcome}\n${history.join('\n')}`).toBeNull();
        what = `verify → ${outcome}`;
        ops[`verify ${outcome}`] = (ops[`verify ${outcome}`] ?? 0) + 1;
      }
      history.push(what);
      const rows = await sql<{ email: string; token_hash: string | null }[]>`
        select x.email, o.token_hash from unnest(${emails}::text[]) x(email)
        join auth.users u on u.email = x.email
        left join auth.one_time_tokens o on o.user_id = u.id and o.token_type = 'recovery_token'`;
      for (const row of rows) {
        const c = current.get(row.email);
        const [{ h }] = (await sql<{ h: string | null }[]>`select auth_flow.hash_secret(${c?.token ?? null}) as h`) as unknown as [{ h: string | null }];
        expect(row.token_hash, `link of ${row.email.split('-')[1]} after ${what}\n${history.join('\n')}`).toBe(c ? h : null);
      }
    }
    return ops;
  }

  // Twenty-four seeds of eighty steps each agree with the model; these two reach every branch.
  it.each([1, 2])('seed %i', async (seed) => {
    const ops = await linkRun(seed);
    for (const branch of ['issue', 'issue unknown', 'issue too soon', 'verify signed in', 'verify expired', 'verify refused', 'clock']) expect(ops[branch], branch).toBeGreaterThan(0);
  }, 120_000);
});
