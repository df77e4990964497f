/**
 * Session limits after the fact: auth_flow.settings.session_timebox is GoTrue's sessions.timebox,
 * which GoTrue applies to every session at each refresh (created_at + timebox, read from the
 * configuration then: models.Session.CheckValidity). An operator who sets or shortens it — to cut
 * long-lived sessions after an incident, say — expects the sessions already running to end by it.
 * The first group failed before sql/0032 (the timebox was read only when a session started, into
 * not_after); the last pins what stays stricter than GoTrue.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import type { Sql } from '../../cli/core/db.js';

let db: TestDatabase;
let sql: Sql;

interface Grant {
  user_id: string | null;
  session_id: string | null;
  refresh_token: string | null;
  refresh_token_expires_at: Date | null;
}

const EMAIL = 'timebox@example.test';
const PASSWORD = 'timebox password 1';

/** Run a flow function with the clock at `when` (rowguard.auth_now, honoured for the owner only). */
async function at<T>(when: string, fn: (tx: Sql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('rowguard.auth_now', ${when}, true)`;
    return fn(tx as unknown as Sql);
  }) as Promise<T>;
}
const signIn = (when: string): Promise<Grant> =>
  at(when, async (tx) => (await tx<Grant[]>`select user_id::text, session_id::text, refresh_token, refresh_token_expires_at from auth_flow.sign_in(${EMAIL}, ${PASSWORD})`)[0]!);
const refresh = (token: string, when: string): Promise<Grant> =>
  at(when, async (tx) => (await tx<Grant[]>`select user_id::text, session_id::text, refresh_token, refresh_token_expires_at from auth_flow.refresh(${token})`)[0]!);
const timebox = (value: string | null) => sql`update auth_flow.settings set session_timebox = ${value}::interval`;

let userId: string;

beforeAll(async () => {
  db = await freshDatabase('rg_auth_sessions');
  sql = db.sql;
  await migrate(db.url);
  userId = (await sql<{ id: string }[]>`select auth_flow.sign_up(${EMAIL}, ${PASSWORD})::text as id`)[0]!.id;
});

afterEach(async () => {
  await timebox(null);
});

afterAll(async () => {
  await db?.drop();
});

describe('a timebox set or shortened while sessions run (fixed by 0032)', () => {
  it('a session started without a timebox ends by one set later, counted from when it started', async () => {
    const g = await signIn('2032-03-01 10:00:00+00');
    expect(g.refresh_token_expires_at).toBeNull();
    await timebox('1 day');
    const r = await refresh(g.refresh_token!, '2032-03-02 09:00:00+00');
    expect(r.user_id).toBe(userId);
    // The grant tells the client when the session ends.
    expect(r.refresh_token_expires_at!.toISOString()).toBe('2032-03-02T10:00:00.000Z');
    expect((await refresh(r.refresh_token!, '2032-03-02 10:00:00+00')).user_id).toBeNull();
    const [e] = await sql<{ r: string }[]>`
      select new_row ->> 'reason' as r from audit.log where event = 'token_refresh_failed' and actor_id = ${userId}::uuid order by id desc limit 1`;
    expect(e!.r).toBe('session_ended');
  });

  it('a session started under a week\'s timebox ends by the day the timebox was shortened to', async () => {
    await timebox('7 days');
    const g = await signIn('2032-04-01 10:00:00+00');
    expect(g.refresh_token_expires_at!.toISOString()).toBe('2032-04-08T10:00:00.000Z');
    await timebox('1 day');
    expect((await refresh(g.refresh_token!, '2032-04-03 10:00:00+00')).user_id).toBeNull();
  });
});

describe('stricter than GoTrue (held before 0032)', () => {
  it('lengthening the timebox does not extend a session beyond the not_after it started with', async () => {
    await timebox('1 day');
    const g = await signIn('2032-05-01 10:00:00+00');
    await timebox('7 days');
    const r = await refresh(g.refresh_token!, '2032-05-02 09:00:00+00');
    expect(r.refresh_token_expires_at!.toISOString()).toBe('2032-05-02T10:00:00.000Z');
    expect((await refresh(r.refresh_token!, '2032-05-02 10:00:00+00')).user_id).toBeNull();
  });
});
