/**
 * The auth flows in SQL (sql/0020…0023), on a real Postgres with the project's
 * migrations: privileges, sign-up, lockout with the injected clock, refresh
 * rotation / reuse / concurrency, magic links, identities, sign-out, and that
 * no secret is stored in clear anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import type { Sql } from '../../cli/core/db.js';

let db: TestDatabase;
let sql: Sql;

/** Every plaintext secret a test handed to or got from the flows: the final scan looks for each. */
const secrets = new Set<string>();

interface Grant {
  user_id: string | null;
  session_id: string | null;
  refresh_token: string | null;
  amr: Array<{ method: string; timestamp: number; provider?: string }> | null;
  aal: string | null;
  user_claims: Record<string, unknown> | null;
}

async function signUp(email: string, password: string): Promise<string> {
  secrets.add(password);
  const [r] = await sql<{ id: string }[]>`select auth_flow.sign_up(${email}, ${password})::text as id`;
  return r!.id;
}

/** Run a flow function with the clock at `at` (rowguard.auth_now, honoured for the owner only). */
async function at<T>(when: string | null, fn: (tx: Sql) => Promise<T>): Promise<T> {
  return (await sql.begin(async (tx) => {
    if (when) await tx`select set_config('rowguard.auth_now', ${when}, true)`;
    return fn(tx as unknown as Sql);
  })) as T;
}

async function signIn(email: string, password: string, when: string | null = null): Promise<Grant> {
  secrets.add(password);
  const g = await at(when, async (tx) => (await tx<Grant[]>`select * from auth_flow.sign_in(${email}, ${password})`)[0]!);
  if (g.refresh_token) secrets.add(g.refresh_token);
  return g;
}

async function refresh(token: string, when: string | null = null, conn: Sql = sql): Promise<Grant> {
  const run = async (tx: Sql) => (await tx<Grant[]>`select * from auth_flow.refresh(${token})`)[0]!;
  const g = when ? await at(when, run) : await run(conn);
  if (g.refresh_token) secrets.add(g.refresh_token);
  return g;
}

async function events(actor: string | null, event: string): Promise<Array<{ new_row: Record<string, unknown> }>> {
  return actor === null
    ? sql`select new_row from audit.log where event = ${event} and actor_id is null order by id`
    : sql`select new_row from audit.log where event = ${event} and actor_id = ${actor}::uuid order by id`;
}

beforeAll(async () => {
  db = await freshDatabase('rg_auth_sql');
  sql = db.sql;
  await migrate(db.url);
});

afterAll(async () => {
  await db?.drop();
});

describe('privileges', () => {
  const ENTRY_POINTS = [
    'auth_flow.sign_up(text,text,jsonb)',
    'auth_flow.sign_in(text,text)',
    'auth_flow.refresh(text)',
    'auth_flow.sign_out(uuid,text)',
    'auth_flow.sign_out_by_refresh_token(text,text)',
    'auth_flow.sign_out_user(uuid)',
    'auth_flow.issue_magic_link(text)',
    'auth_flow.verify_magic_link(text)',
    'auth_flow.link_identity(uuid,text,text,jsonb)',
    'auth_flow.sign_in_with_identity(text,text)',
    'auth_flow.export_user(uuid)',
    'auth_flow.erase_user(uuid)',
  ];

  it('every auth_flow function is SECURITY DEFINER-safe: empty search_path, nothing executable by PUBLIC, anon or authenticated', async () => {
    const rows = await sql<{ fn: string; secdef: boolean; config: string[] | null; pub: boolean; anon: boolean; authed: boolean; service: boolean }[]>`
      select p.oid::regprocedure::text as fn, p.prosecdef as secdef, p.proconfig as config,
             has_function_privilege('public', p.oid, 'execute') as pub,
             has_function_privilege('anon', p.oid, 'execute') as anon,
             has_function_privilege('authenticated', p.oid, 'execute') as authed,
             has_function_privilege('service_role', p.oid, 'execute') as service
        from pg_proc p where p.pronamespace = 'auth_flow'::regnamespace order by 1`;
    expect(rows.length).toBeGreaterThanOrEqual(ENTRY_POINTS.length);
    for (const r of rows) {
      expect(r.config, r.fn).toContain('search_path=""');
      expect(r.pub || r.anon || r.authed, r.fn).toBe(false);
    }
    const granted = rows.filter((r) => r.service).map((r) => r.fn.replace(/ /g, '')).sort();
    expect(granted).toEqual([...ENTRY_POINTS].sort());
    for (const fn of ENTRY_POINTS) expect(rows.find((r) => r.fn.replace(/ /g, '') === fn)?.secdef, fn).toBe(true);
  });

  it('service_role can sign in; anon and authenticated get 42501; no API role reads auth_flow tables', async () => {
    await signUp('priv@example.test', 'priv password');
    const viaService = await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      return (await tx<Grant[]>`select * from auth_flow.sign_in('priv@example.test', 'priv password')`)[0]!;
    });
    expect(viaService.user_id).not.toBeNull();
    secrets.add(viaService.refresh_token!);
    for (const role of ['anon', 'authenticated']) {
      await expect(
        sql.begin(async (tx) => {
          await tx.unsafe(`set local role ${role}`);
          await tx`select * from auth_flow.sign_in('priv@example.test', 'priv password')`;
        }),
      ).rejects.toMatchObject({ code: '42501' });
      await expect(
        sql.begin(async (tx) => {
          await tx.unsafe(`set local role ${role}`);
          await tx`select * from auth_flow.login_attempts`;
        }),
      ).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('an API session cannot move the clock: rowguard.auth_now from a login that is not the owner is refused', async () => {
    const conn = await sql.reserve();
    try {
      // session_user becomes authenticator, as under PostgREST; then the request role.
      await conn`set session authorization authenticator`;
      await conn`set role service_role`;
      await conn`select set_config('rowguard.auth_now', '2100-01-01 00:00:00+00', false)`;
      await expect(conn`select * from auth_flow.sign_in('priv@example.test', 'priv password')`).rejects.toMatchObject({ code: '42501' });
      await conn`reset rowguard.auth_now`;
      const [g] = await conn<Grant[]>`select * from auth_flow.sign_in('priv@example.test', 'priv password')`;
      expect(g!.user_id).not.toBeNull();
      secrets.add(g!.refresh_token!);
    } finally {
      await conn`reset role`.catch(() => undefined);
      await conn`reset session authorization`.catch(() => undefined);
      conn.release();
    }
  });
});

describe('sign-up', () => {
  it('normalises the email, stores only a bcrypt hash (cost 10), creates the email identity, logs user_signedup', async () => {
    const id = await signUp('  Ann@Example.TEST ', 'ann password 1');
    const [u] = await sql<{ email: string; encrypted_password: string; confirmed: boolean; app: Record<string, unknown> }[]>`
      select email, encrypted_password, email_confirmed_at is not null as confirmed, raw_app_meta_data as app from auth.users where id = ${id}::uuid`;
    expect(u!.email).toBe('ann@example.test');
    expect(u!.encrypted_password).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    expect(u!.confirmed).toBe(true);
    expect(u!.app).toEqual({ provider: 'email', providers: ['email'] });
    const [i] = await sql<{ provider: string; provider_id: string; email: string }[]>`select provider, provider_id, email from auth.identities where user_id = ${id}::uuid`;
    expect(i).toEqual({ provider: 'email', provider_id: id, email: 'ann@example.test' });
    expect(await events(id, 'user_signedup')).toHaveLength(1);
  });

  it('rejects a taken email (any case), a short password, a hash-looking password and a non-email, naming no secret', async () => {
    await expect(sql`select auth_flow.sign_up('ANN@example.test', 'another password')`).rejects.toMatchObject({ code: '23505' });
    const short = sql`select auth_flow.sign_up('short@example.test', 'abc1234')`;
    await expect(short).rejects.toMatchObject({ code: '22023' });
    await expect(short).rejects.not.toThrow(/abc1234/);
    await expect(sql`select auth_flow.sign_up('hash@example.test', ${'$2a$10$' + 'a'.repeat(53)})`).rejects.toMatchObject({ code: '22023' });
    await expect(sql`select auth_flow.sign_up('not an email', 'long enough password')`).rejects.toMatchObject({ code: '22023' });
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from auth.users where email in ('short@example.test', 'hash@example.test')`;
    expect(n!.n).toBe(0);
  });
});

describe('password sign-in and lockout (injected clock)', () => {
  let userId: string;
  beforeAll(async () => {
    userId = await signUp('lock@example.test', 'lock password 1');
  });

  it('succeeds with a session (aal1, amr password) and a refresh token stored only as its sha256', async () => {
    const g = await signIn('LOCK@example.test', 'lock password 1');
    expect(g.user_id).toBe(userId);
    expect(g.aal).toBe('aal1');
    expect(g.amr).toEqual([{ method: 'password', timestamp: expect.any(Number) }]);
    expect(g.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    const rows = await sql<{ token: string; session_id: string; revoked: boolean }[]>`
      select token, session_id::text, revoked from auth.refresh_tokens where session_id = ${g.session_id}::uuid`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token).not.toBe(g.refresh_token);
    const [h] = await sql<{ h: string }[]>`select encode(extensions.digest(${g.refresh_token!}, 'sha256'), 'hex') as h`;
    expect(rows[0]!.token).toBe(h!.h);
    expect((await events(userId, 'login')).at(-1)!.new_row).toMatchObject({ provider: 'email', session_id: g.session_id });
  });

  it('locks after 5 failures in the window: then even the right password fails; unlocks after the lockout period', async () => {
    const t0 = '2031-03-01 10:00:00+00';
    for (let i = 0; i < 5; i++) expect((await signIn('lock@example.test', `wrong ${i}`, t0)).user_id).toBeNull();
    expect(await events(userId, 'user_locked')).toHaveLength(1);
    expect((await signIn('lock@example.test', 'lock password 1', '2031-03-01 10:14:59+00')).user_id).toBeNull();
    const failed = await events(userId, 'login_failed');
    expect(failed.at(-1)!.new_row).toMatchObject({ reason: 'locked' });
    // Failures while locked do not extend the lock (15 minutes from the 5th failure).
    const g = await signIn('lock@example.test', 'lock password 1', '2031-03-01 10:15:00+00');
    expect(g.user_id).toBe(userId);
    expect(await events(userId, 'user_locked')).toHaveLength(1);
  });

  it('counts failures in a window: 4 failures, the window passes, 4 more do not lock', async () => {
    for (let i = 0; i < 4; i++) await signIn('lock@example.test', 'nope', '2031-04-01 10:00:00+00');
    for (let i = 0; i < 4; i++) await signIn('lock@example.test', 'nope', '2031-04-01 10:15:01+00');
    expect((await signIn('lock@example.test', 'lock password 1', '2031-04-01 10:15:02+00')).user_id).toBe(userId);
    // A success clears the counter.
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from auth_flow.login_attempts where email_key = extensions.digest('lock@example.test', 'sha256')`;
    expect(n!.n).toBe(0);
  });

  it('takes N and the durations from auth_flow.settings', async () => {
    await sql`update auth_flow.settings set max_failures = 2, lockout_duration = interval '1 hour'`;
    try {
      await signIn('lock@example.test', 'nope', '2031-05-01 10:00:00+00');
      await signIn('lock@example.test', 'nope', '2031-05-01 10:00:01+00');
      expect((await signIn('lock@example.test', 'lock password 1', '2031-05-01 10:30:00+00')).user_id).toBeNull();
      expect((await signIn('lock@example.test', 'lock password 1', '2031-05-01 11:00:01+00')).user_id).toBe(userId);
    } finally {
      await sql`update auth_flow.settings set max_failures = 5, lockout_duration = interval '15 minutes'`;
    }
  });

  it('rehashes a password made at another cost on its next successful sign-in', async () => {
    const id = await signUp('rehash@example.test', 'rehash password 1');
    await sql`update private.password_settings set bcrypt_cost = 11`;
    try {
      expect((await signIn('rehash@example.test', 'wrong password')).user_id).toBeNull();
      const [before] = await sql<{ p: string }[]>`select encrypted_password as p from auth.users where id = ${id}::uuid`;
      expect(before!.p).toMatch(/^\$2a\$10\$/);
      expect((await signIn('rehash@example.test', 'rehash password 1')).user_id).toBe(id);
      const [after] = await sql<{ p: string }[]>`select encrypted_password as p from auth.users where id = ${id}::uuid`;
      expect(after!.p).toMatch(/^\$2a\$11\$/);
      expect((await signIn('rehash@example.test', 'rehash password 1')).user_id).toBe(id);
    } finally {
      await sql`update private.password_settings set bcrypt_cost = 10`;
    }
  });

  it('unknown email, wrong password and locked account: the same NULL answer and the same bcrypt work', async () => {
    await signUp('enum@example.test', 'enum password 1');
    await signUp('enum-locked@example.test', 'enum password 2');
    for (let i = 0; i < 5; i++) await signIn('enum-locked@example.test', 'x');
    const cases: Array<[string, string, string]> = [
      ['unknown', 'nobody-here@example.test', 'whatever password'],
      ['wrong password', 'enum@example.test', 'wrong password'],
      ['locked (right password)', 'enum-locked@example.test', 'enum password 2'],
    ];
    // The same work, counted rather than timed (a timing is the load of the machine as much as
    // the code): each answer runs exactly one bcrypt comparison, crypt() with a stored hash,
    // for the unknown email too (against a dummy hash of the configured cost).
    const cryptCalls = async (email: string, password: string): Promise<number> =>
      (await sql.begin(async (tx) => {
        await tx`set local track_functions = 'all'`;
        // Pending counts outlive a transaction until the backend flushes them: take the difference.
        const calls = async () => (await tx<{ n: number }[]>`select coalesce(pg_stat_get_xact_function_calls('extensions.crypt(text, text)'::regprocedure), 0)::int as n`)[0]!.n;
        const before = await calls();
        const [g] = await tx<Grant[]>`select * from auth_flow.sign_in(${email}, ${password})`;
        expect(Object.values(g!).every((v) => v === null), email).toBe(true);
        return (await calls()) - before;
      })) as number;
    for (const [label, email, password] of cases) expect(await cryptCalls(email, password), label).toBe(1);
    // The dummy hash costs what a real one does.
    const [cost] = await sql<{ dummy: string; real: string }[]>`
      select (select substr(hash, 5, 2) from auth_flow.dummy_hashes where cost = 10) as dummy,
             (select substr(encrypted_password, 5, 2) from auth.users where email = 'enum@example.test') as real`;
    expect(cost!.dummy).toBe(cost!.real);
  });
});

describe('refresh tokens', () => {
  let userId: string;
  beforeAll(async () => {
    userId = await signUp('rot@example.test', 'rot password 1');
  });

  it('rotates: the presented token is revoked, its child lives in the same session, amr is kept', async () => {
    const g = await signIn('rot@example.test', 'rot password 1');
    const r = await refresh(g.refresh_token!);
    expect(r.session_id).toBe(g.session_id);
    expect(r.refresh_token).not.toBe(g.refresh_token);
    expect(r.amr).toEqual(g.amr);
    const rows = await sql<{ revoked: boolean; parent: string | null }[]>`
      select revoked, parent from auth.refresh_tokens where session_id = ${g.session_id}::uuid order by id`;
    expect(rows.map((x) => x.revoked)).toEqual([true, false]);
    const [h] = await sql<{ h: string }[]>`select encode(extensions.digest(${g.refresh_token!}, 'sha256'), 'hex') as h`;
    expect(rows[1]!.parent).toBe(h!.h);
    expect(await events(userId, 'token_refreshed')).toHaveLength(1);
  });

  it('a revoked token again within the reuse interval fails but keeps the session; after it, revokes the whole session', async () => {
    const g = await signIn('rot@example.test', 'rot password 1', '2031-06-01 10:00:00+00');
    const child = await refresh(g.refresh_token!, '2031-06-01 10:00:01+00');
    expect(child.user_id).toBe(userId);
    // 5 s later (interval 10 s): the network race. Fails, session alive.
    expect((await refresh(g.refresh_token!, '2031-06-01 10:00:06+00')).user_id).toBeNull();
    const grandchild = await refresh(child.refresh_token!, '2031-06-01 10:00:07+00');
    expect(grandchild.user_id).toBe(userId);
    // 1 minute later: reuse of a leaked token. Fails and kills the session.
    expect((await refresh(g.refresh_token!, '2031-06-01 10:01:00+00')).user_id).toBeNull();
    const rows = await sql<{ revoked: boolean }[]>`select revoked from auth.refresh_tokens where session_id = ${g.session_id}::uuid`;
    expect(rows.every((x) => x.revoked)).toBe(true);
    expect((await refresh(grandchild.refresh_token!, '2031-06-01 10:01:01+00')).user_id).toBeNull();
    expect((await events(userId, 'refresh_token_reused')).at(-1)!.new_row).toMatchObject({ session_id: g.session_id, revoked: 1 });
  });

  it('two refreshes of the same token at once: exactly one succeeds (row lock), every time', async () => {
    const a = await sql.reserve();
    const b = await sql.reserve();
    try {
      for (let i = 0; i < 8; i++) {
        const g = await signIn('rot@example.test', 'rot password 1');
        const results = await Promise.all([refresh(g.refresh_token!, null, a as unknown as Sql), refresh(g.refresh_token!, null, b as unknown as Sql)]);
        expect(results.filter((r) => r.user_id !== null)).toHaveLength(1);
        const [n] = await sql<{ live: number }[]>`select count(*) filter (where not revoked)::int as live from auth.refresh_tokens where session_id = ${g.session_id}::uuid`;
        expect(n!.live).toBe(1);
      }
    } finally {
      a.release();
      b.release();
    }
  });

  it('the loser of a deterministic race waits on the row lock, then fails', async () => {
    const g = await signIn('rot@example.test', 'rot password 1');
    const winner = await sql.reserve();
    try {
      await winner`begin`;
      const [w] = await winner<Grant[]>`select * from auth_flow.refresh(${g.refresh_token!})`;
      secrets.add(w!.refresh_token!);
      const loser = refresh(g.refresh_token!);
      await new Promise((r) => setTimeout(r, 300));
      const [waiting] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%auth_flow.refresh%'`;
      expect(waiting!.n).toBe(1);
      await winner`commit`;
      expect((await loser).user_id).toBeNull();
    } finally {
      winner.release();
    }
  });

  it('a timeboxed session: the grant carries the refresh token\'s expiry, and refresh fails after it', async () => {
    await sql`update auth_flow.settings set session_timebox = interval '1 day'`;
    try {
      const g = await at('2031-08-01 10:00:00+00', async (tx) => (await tx<(Grant & { refresh_token_expires_at: Date })[]>`select * from auth_flow.sign_in('rot@example.test', 'rot password 1')`)[0]!);
      secrets.add(g.refresh_token!);
      expect(g.refresh_token_expires_at.toISOString()).toBe('2031-08-02T10:00:00.000Z');
      const r = await refresh(g.refresh_token!, '2031-08-02 09:59:59+00');
      expect(r.user_id).toBe(userId);
      expect((await refresh(r.refresh_token!, '2031-08-02 10:00:00+00')).user_id).toBeNull();
    } finally {
      await sql`update auth_flow.settings set session_timebox = null`;
    }
  });

  it('an unknown token fails and is logged without the token', async () => {
    expect((await refresh('not-a-real-token')).user_id).toBeNull();
    expect((await events(null, 'token_refresh_failed')).at(-1)!.new_row).toEqual({ reason: 'unknown' });
  });
});

describe('magic links', () => {
  let userId: string;
  beforeAll(async () => {
    userId = await signUp('magic@example.test', 'magic password 1');
  });
  const issue = async (email: string, when: string | null = null) => {
    const t = await at(when, async (tx) => (await tx<{ t: string | null }[]>`select auth_flow.issue_magic_link(${email}) as t`)[0]!.t);
    if (t) secrets.add(t);
    return t;
  };
  const verify = async (token: string, when: string | null = null) => {
    const g = await at(when, async (tx) => (await tx<Grant[]>`select * from auth_flow.verify_magic_link(${token})`)[0]!);
    if (g.refresh_token) secrets.add(g.refresh_token);
    return g;
  };

  it('works once (amr magiclink), is stored hashed, and a new link replaces the old', async () => {
    // two minutes ago: a link younger than magic_link_min_interval (60 s) is not replaced
    const first = (await issue('Magic@Example.test', new Date(Date.now() - 120_000).toISOString()))!;
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = (await issue('magic@example.test'))!;
    const rows = await sql<{ token_hash: string; token_type: string; relates_to: string }[]>`select token_hash, token_type::text, relates_to from auth.one_time_tokens where user_id = ${userId}::uuid`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ token_type: 'recovery_token', relates_to: 'magic@example.test' });
    const [h] = await sql<{ h: string }[]>`select encode(extensions.digest(${second}, 'sha256'), 'hex') as h`;
    expect(rows[0]!.token_hash).toBe(h!.h);
    expect((await verify(first)).user_id).toBeNull();
    const g = await verify(second);
    expect(g.user_id).toBe(userId);
    expect(g.amr![0]!.method).toBe('magiclink');
    expect((await verify(second)).user_id).toBeNull();
    expect(await events(userId, 'magiclink_issued')).toHaveLength(2);
    expect(await events(userId, 'magiclink_redeemed')).toHaveLength(1);
  });

  it('two redemptions of one link at once: exactly one session', async () => {
    const a = await sql.reserve();
    const b = await sql.reserve();
    try {
      for (let i = 0; i < 5; i++) {
        const t = (await issue('magic@example.test'))!;
        const results = await Promise.all([a, b].map(async (c) => (await c<Grant[]>`select * from auth_flow.verify_magic_link(${t})`)[0]!));
        for (const r of results) if (r.refresh_token) secrets.add(r.refresh_token);
        expect(results.filter((r) => r.user_id !== null)).toHaveLength(1);
      }
    } finally {
      a.release();
      b.release();
    }
  });

  it('expires after an hour (injected clock); unknown emails get no token', async () => {
    const t = (await issue('magic@example.test', '2031-07-01 10:00:00+00'))!;
    expect((await verify(t, '2031-07-01 11:00:00+00')).user_id).toBeNull();
    expect((await events(userId, 'magiclink_failed')).at(-1)!.new_row).toEqual({ reason: 'expired' });
    const fresh = (await issue('magic@example.test', '2031-07-01 10:00:00+00'))!;
    expect((await verify(fresh, '2031-07-01 10:59:59+00')).user_id).toBe(userId);
    expect(await issue('nobody-magic@example.test')).toBeNull();
  });
});

describe('OAuth identities and sign-out', () => {
  let ann: string;
  let bob: string;
  beforeAll(async () => {
    ann = await signUp('oauth-ann@example.test', 'oauth ann password');
    bob = await signUp('oauth-bob@example.test', 'oauth bob password');
  });

  it('links one identity per (provider, provider_id): a second user cannot claim it; provider tokens are dropped', async () => {
    secrets.add('gho_provider_access_token_value');
    const [l] = await sql<{ id: string | null }[]>`
      select auth_flow.link_identity(${ann}::uuid, 'github', '1001', '{"name": "Ann", "access_token": "gho_provider_access_token_value"}')::text as id`;
    expect(l!.id).not.toBeNull();
    const [again] = await sql<{ id: string | null }[]>`select auth_flow.link_identity(${ann}::uuid, 'github', '1001', '{"name": "Ann B"}')::text as id`;
    expect(again!.id).toBe(l!.id);
    const [stolen] = await sql<{ id: string | null }[]>`select auth_flow.link_identity(${bob}::uuid, 'github', '1001', '{}')::text as id`;
    expect(stolen!.id).toBeNull();
    const [i] = await sql<{ user_id: string; identity_data: Record<string, unknown> }[]>`
      select user_id::text, identity_data from auth.identities where provider = 'github' and provider_id = '1001'`;
    expect(i).toEqual({ user_id: ann, identity_data: { name: 'Ann B', sub: '1001' } });
    expect(await events(bob, 'identity_link_refused')).toHaveLength(1);
    const [app] = await sql<{ p: string[] }[]>`select raw_app_meta_data -> 'providers' as p from auth.users where id = ${ann}::uuid`;
    expect(app!.p).toEqual(['email', 'github']);
  });

  it('signs in through a linked identity (amr oauth with the provider); an unknown one fails', async () => {
    const [g] = await sql<Grant[]>`select * from auth_flow.sign_in_with_identity('github', '1001')`;
    expect(g!.user_id).toBe(ann);
    expect(g!.amr![0]).toMatchObject({ method: 'oauth', provider: 'github' });
    secrets.add(g!.refresh_token!);
    const [none] = await sql<Grant[]>`select * from auth_flow.sign_in_with_identity('github', '9999')`;
    expect(none!.user_id).toBeNull();
  });

  it('signs out one session, the others, or all; a signed-out refresh token no longer works', async () => {
    const s = [];
    for (let i = 0; i < 3; i++) s.push(await signIn('oauth-bob@example.test', 'oauth bob password'));
    const [one] = await sql<{ n: number }[]>`select auth_flow.sign_out_by_refresh_token(${s[0]!.refresh_token!}, 'local') as n`;
    expect(one!.n).toBe(1);
    expect((await refresh(s[0]!.refresh_token!)).user_id).toBeNull();
    const [others] = await sql<{ n: number }[]>`select auth_flow.sign_out(${s[1]!.session_id!}::uuid, 'others') as n`;
    expect(others!.n).toBe(1);
    expect((await refresh(s[2]!.refresh_token!)).user_id).toBeNull();
    const r = await refresh(s[1]!.refresh_token!);
    expect(r.user_id).toBe(bob);
    const [all] = await sql<{ n: number }[]>`select auth_flow.sign_out_user(${bob}::uuid) as n`;
    expect(all!.n).toBe(1);
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from auth.sessions where user_id = ${bob}::uuid`;
    expect(left!.n).toBe(0);
  });
});

describe('GDPR', () => {
  it('export holds profile, identities, sessions and owned rows with no hash or token; erase removes them and logs counts only', async () => {
    const id = await signUp('gdpr@example.test', 'gdpr password 1');
    await signIn('gdpr@example.test', 'gdpr password 1');
    await sql`insert into public.deployments (user_id, name) values (${id}::uuid, 'gdpr-deployment-alpha'), (${id}::uuid, 'gdpr-deployment-beta')`;
    secrets.add('gdpr cloud secret');
    await sql`insert into public.cloud_credentials (user_id, encrypted_password) values (${id}::uuid, 'gdpr cloud secret')`;

    const doc = (await sql<{ doc: Record<string, any> }[]>`select auth_flow.export_user(${id}::uuid) as doc`)[0]!.doc;
    expect(doc['user'].email).toBe('gdpr@example.test');
    expect(doc['user']).not.toHaveProperty('encrypted_password');
    expect(doc['identities']).toHaveLength(1);
    expect(doc['sessions']).toHaveLength(1);
    expect(doc['sessions'][0]).not.toHaveProperty('refresh_token_hmac_key');
    expect(doc['refresh_tokens'][0]).not.toHaveProperty('token');
    expect(doc['owned_rows']['public.deployments'].map((d: { name: string }) => d.name).sort()).toEqual(['gdpr-deployment-alpha', 'gdpr-deployment-beta']);
    expect(doc['owned_rows']['public.cloud_credentials']).toHaveLength(1);
    expect(doc['owned_rows']['public.cloud_credentials'][0]).not.toHaveProperty('encrypted_password');
    const text = JSON.stringify(doc);
    expect(text).not.toMatch(/\$2[abxy]\$/);
    const [hashes] = await sql<{ tokens: string[] }[]>`select array_agg(token) as tokens from auth.refresh_tokens where user_id = ${id}`;
    for (const h of hashes!.tokens) expect(text).not.toContain(h);
    expect(doc['audit_events'].map((e: { event: string }) => e.event)).toEqual(['user_signedup', 'login']);
    expect(doc['audit_events'][0]).not.toHaveProperty('hash');
    expect(await events(id, 'user_exported')).toHaveLength(1);

    const counts = (await sql<{ counts: Record<string, any> }[]>`select auth_flow.erase_user(${id}::uuid) as counts`)[0]!.counts;
    expect(counts).toEqual({ owned_rows: { 'private.staff_members': 0, 'public.cloud_credentials': 1, 'public.deployments': 2 }, sessions: 1, identities: 1 });
    for (const q of [
      sql`select count(*)::int as n from auth.users where id = ${id}::uuid`,
      sql`select count(*)::int as n from auth.identities where user_id = ${id}::uuid`,
      sql`select count(*)::int as n from auth.sessions where user_id = ${id}::uuid`,
      sql`select count(*)::int as n from auth.refresh_tokens where user_id = ${id}`,
      sql`select count(*)::int as n from public.deployments where user_id = ${id}::uuid`,
    ]) expect((await q)[0]!['n']).toBe(0);
    const erased = await events(id, 'user_erased');
    expect(erased).toHaveLength(1);
    expect(JSON.stringify(erased[0]!.new_row)).not.toContain('gdpr@example.test');
    const gone = (await sql<{ doc: unknown }[]>`select auth_flow.export_user(${id}::uuid) as doc`)[0]!.doc;
    expect(gone).toBeNull();
  });
});

describe('erasure racing the flows', () => {
  it('waits for an in-flight refresh and sign-in of the same user, then erases everything', async () => {
    const id = await signUp('race@example.test', 'race password 1');
    const g = await signIn('race@example.test', 'race password 1');
    const busy = await sql.reserve();
    try {
      await busy`begin`;
      const [r] = await busy<Grant[]>`select * from auth_flow.refresh(${g.refresh_token!})`;
      secrets.add(r!.refresh_token!);
      const [s2] = await busy<Grant[]>`select * from auth_flow.sign_in('race@example.test', 'race password 1')`;
      secrets.add(s2!.refresh_token!);
      const erase = sql<{ counts: Record<string, unknown> | null }[]>`select auth_flow.erase_user(${id}::uuid) as counts`.then((x) => x[0]!.counts);
      await new Promise((res) => setTimeout(res, 300));
      await busy`commit`;
      expect(await erase).toMatchObject({ sessions: 2, identities: 1 });
    } finally {
      busy.release();
    }
    const [left] = await sql<{ n: number }[]>`
      select (select count(*) from auth.users where id = ${id}::uuid) + (select count(*) from auth.sessions where user_id = ${id}::uuid)
           + (select count(*) from auth.refresh_tokens where user_id = ${id}) as n`;
    expect(Number(left!.n)).toBe(0);
  });
});

describe('no secret in clear', () => {
  it('no password, refresh token or magic-link token appears in any table or anywhere in the audit log', async () => {
    expect(secrets.size).toBeGreaterThan(20);
    const tables = await sql<{ rel: string }[]>`
      select c.oid::regclass::text as rel from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`;
    expect(tables.map((t) => t.rel)).toEqual(expect.arrayContaining(['audit.log', 'auth.refresh_tokens', 'auth.one_time_tokens', 'auth_flow.login_attempts']));
    // Short test inputs ('x', 'nope') would match by accident; every real secret here is longer.
    const needles = [...secrets].filter((s) => s.length >= 8);
    for (const { rel } of tables) {
      const rows = await sql.unsafe<{ t: string }[]>(`select t::text as t from ${rel} t`);
      for (const r of rows) for (const s of needles) expect(r.t.includes(s), `${rel} holds the test secret "${s}"`).toBe(false);
    }
    const n = (await sql<{ n: number }[]>`select count(*)::int as n from audit.log`)[0]!.n;
    expect(n).toBeGreaterThan(50);
  });

  it('the audit log holds no stored hash either: no bcrypt hash, no refresh-token or one-time-token digest', async () => {
    const hashes = await sql<{ h: string }[]>`
      select encrypted_password as h from auth.users where encrypted_password is not null
      union all select token from auth.refresh_tokens union all select parent from auth.refresh_tokens where parent is not null
      union all select token_hash from auth.one_time_tokens union all select encrypted_password from public.cloud_credentials`;
    expect(hashes.length).toBeGreaterThan(20);
    const log = await sql<{ t: string }[]>`select l::text as t from audit.log l`;
    for (const { t } of log) {
      expect(t).not.toMatch(/\$2[abxy]\$\d\d\$/);
      for (const { h } of hashes) expect(t.includes(h), 'audit.log holds a stored hash').toBe(false);
    }
  });
});
