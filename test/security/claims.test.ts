/**
 * The claim helpers fail closed, and forged or user-editable claims get
 * nothing: another user's email, a "role" in user_metadata, the seed's
 * '@helpers' email pattern, a sub that is not a uuid, the legacy GUCs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import type { Sql } from '../../cli/core/db.js';
import { runAsRequest } from '../../cli/core/postgrest/request.js';
import { DEPLOYMENTS, EMAILS, IDS, seed, sqlstateOf, userClaims } from './seed.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('rg_claims');
  await migrate(db.url);
  await seed(db.sql);
});
afterAll(async () => {
  await db?.drop();
});

/** Count deployments as `role` with exactly these claims (PostgREST writes role into them). */
function visible(sql: Sql, role: string, claims: Record<string, unknown>): Promise<number> {
  return runAsRequest(sql, { role, claims }, async (tx) => {
    const [r] = await tx<{ n: number }[]>`select count(*)::int as n from public.deployments`;
    return r!.n;
  });
}

/** Evaluate the helpers in a transaction after the given local settings. */
async function helpers(sql: Sql, settings: Array<[string, string | null]>): Promise<Record<string, unknown>> {
  let out: Record<string, unknown> = {};
  await sql
    .begin(async (tx) => {
      for (const [k, v] of settings) await tx`select set_config(${k}, ${v}, true)`;
      const [r] = await tx`select auth.uid()::text as uid, auth.role() as role, auth.email() as email, auth.jwt() as jwt`;
      out = { ...r };
      throw new Error('rollback');
    })
    .catch((e: Error) => {
      if (e.message !== 'rollback') throw e;
    });
  return out;
}

describe('helpers fail closed', () => {
  it('return NULL when no claims were ever set', async () => {
    expect(await helpers(db.sql, [])).toEqual({ uid: null, role: null, email: null, jwt: null });
  });
  it("return NULL when the GUC is '' (what a rolled-back local set_config leaves behind)", async () => {
    await db.sql.begin(async (tx) => {
      await tx`savepoint s`;
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(userClaims('a'))}, true)`;
      await tx`rollback to savepoint s`;
      const [r] = await tx`select current_setting('request.jwt.claims', true) as raw, auth.uid() as uid, auth.jwt() as jwt`;
      expect(r).toEqual({ raw: '', uid: null, jwt: null });
    });
  });
  it('return NULL for claims without the field, and read the JSON GUC when present', async () => {
    expect(await helpers(db.sql, [['request.jwt.claims', '{"role":"anon"}']])).toEqual({ uid: null, role: 'anon', email: null, jwt: { role: 'anon' } });
    const c = userClaims('a');
    expect(await helpers(db.sql, [['request.jwt.claims', JSON.stringify(c)]])).toMatchObject({ uid: IDS.a, email: EMAILS.a });
  });
  it('ignore the legacy per-claim GUC (a stale session value must not impersonate anyone)', async () => {
    expect(await helpers(db.sql, [['request.jwt.claim.sub', IDS.b]])).toMatchObject({ uid: null });
    expect(await helpers(db.sql, [['request.jwt.claim.sub', IDS.b], ['request.jwt.claims', JSON.stringify(userClaims('a'))]])).toMatchObject({ uid: IDS.a });
  });
  it('an anon request sees nothing even where it had a grant: auth.uid() is NULL', async () => {
    // Give anon a grant inside the transaction: RLS still filters every row.
    const n = await runAsRequest(db.sql, { role: 'anon', claims: {} }, async (tx) => {
      await tx`select set_config('role', 'none', true)`;
      await tx`grant select on public.deployments to anon`;
      await tx`select set_config('role', 'anon', true)`;
      const [r] = await tx<{ n: number }[]>`select count(*)::int as n from public.deployments`;
      return r!.n;
    });
    expect(n).toBe(0);
  });
});

describe('helpers are inlined and bound at creation', () => {
  it('the planner inlines them into the calling query (no separate function call per query)', async () => {
    const plan = await db.sql.begin(async (tx) => {
      const rows = await tx<{ 'QUERY PLAN': string }[]>`explain (verbose, costs off) select auth.uid(), auth.role(), auth.email(), auth.jwt()`;
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain("current_setting('request.jwt.claims'");
    expect(plan).not.toMatch(/auth\.(uid|role|email|jwt)\(\)/);
  });
  it("a caller's search_path cannot redirect their operators or casts", async () => {
    await db.sql.begin(async (tx) => {
      // An attacker's schema first in the path, with a ->> for (jsonb, text) that always says "attacker".
      await tx.unsafe(`create schema evil;
        create function evil.arrow(jsonb, text) returns text language sql immutable return 'attacker';
        create operator evil.->> (leftarg = jsonb, rightarg = text, function = evil.arrow);
        set local search_path = evil, pg_catalog`);
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(userClaims('a'))}, true)`;
      const [r] = await tx<{ email: string; uid: string; direct: string }[]>`select auth.email() as email, auth.uid()::text as uid, '{"email":"x"}'::jsonb ->> 'email' as direct`;
      expect(r!.direct).toBe('attacker'); // the path does redirect an unqualified ->> in the caller's own SQL…
      expect(r).toMatchObject({ email: EMAILS.a, uid: IDS.a }); // …but not inside the helpers
      throw new Error('rollback');
    }).catch((e: Error) => {
      if (e.message !== 'rollback') throw e;
    });
  });
});

describe('forged claims get nothing more than their own rows', () => {
  it("another user's email in the token does not give that user's rows", async () => {
    expect(await visible(db.sql, 'authenticated', userClaims('a', { email: EMAILS.b }))).toBe(DEPLOYMENTS.a);
  });
  it("the seed's staff pattern (email ending in @helpers, admin@helpers) is not staff", async () => {
    expect(await visible(db.sql, 'authenticated', userClaims('a', { email: 'admin@helpers' }))).toBe(DEPLOYMENTS.a);
    expect(await visible(db.sql, 'authenticated', userClaims('a', { email: 'mallory@helpers' }))).toBe(DEPLOYMENTS.a);
  });
  it('a "role": "staff" in user_metadata (user-editable) or app_metadata does not make a staff request', async () => {
    expect(await visible(db.sql, 'authenticated', userClaims('a', { user_metadata: { role: 'staff', staff: true } }))).toBe(DEPLOYMENTS.a);
    expect(await visible(db.sql, 'authenticated', userClaims('a', { app_metadata: { role: 'staff' } }))).toBe(DEPLOYMENTS.a);
  });
  it('the staff role with a non-staff user id sees only that user\'s rows', async () => {
    expect(await visible(db.sql, 'staff', userClaims('a'))).toBe(DEPLOYMENTS.a);
  });
  it('a "role" claim of service_role while running as authenticated changes nothing (the database role decides)', async () => {
    const n = await runAsRequest(db.sql, { role: 'authenticated', claims: userClaims('a') }, async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ ...userClaims('a'), role: 'service_role' })}, true)`;
      const [r] = await tx<{ n: number }[]>`select count(*)::int as n from public.deployments`;
      return r!.n;
    });
    expect(n).toBe(DEPLOYMENTS.a);
  });
  it('a sub that is not a uuid fails the statement (22P02); an empty sub too', async () => {
    expect(await sqlstateOf(visible(db.sql, 'authenticated', userClaims('a', { sub: 'admin' })))).toBe('22P02');
    expect(await sqlstateOf(visible(db.sql, 'authenticated', userClaims('a', { sub: '' })))).toBe('22P02');
    expect(await sqlstateOf(visible(db.sql, 'authenticated', userClaims('a', { sub: `${IDS.b}' or true --` })))).toBe('22P02');
  });
  it('no sub, a null sub, or an unknown user id: zero rows', async () => {
    const { sub: _omit, ...noSub } = userClaims('a');
    expect(await visible(db.sql, 'authenticated', noSub)).toBe(0);
    expect(await visible(db.sql, 'authenticated', userClaims('a', { sub: null }))).toBe(0);
    expect(await visible(db.sql, 'authenticated', userClaims('a', { sub: '00000000-0000-4000-8000-000000000999' }))).toBe(0);
  });
  it('a sub given as a JSON array or object is not a uuid (22P02)', async () => {
    expect(await sqlstateOf(visible(db.sql, 'authenticated', userClaims('a', { sub: [IDS.b] })))).toBe('22P02');
  });
});
