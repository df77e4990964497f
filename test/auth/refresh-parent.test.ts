/**
 * Where refresh-token rotation is stricter than GoTrue's (docs/security-model.md, "Refresh tokens"):
 * GoTrue accepts the parent of a session's live token at any time and hands the live child back;
 * here, past settings.refresh_reuse_interval, that parent is reuse and ends the session. Pins the
 * documented behaviour (it held before this file).
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

/** A flow call with the clock at `when` (rowguard.auth_now, honoured for the owner only). */
async function at(when: string, call: (tx: Sql) => Promise<Grant[]>): Promise<Grant> {
  return (await sql.begin(async (tx) => {
    await tx`select set_config('rowguard.auth_now', ${when}, true)`;
    return (await call(tx as unknown as Sql))[0]!;
  })) as Grant;
}

beforeAll(async () => {
  db = await freshDatabase('rg_auth_refresh_parent');
  sql = db.sql;
  await migrate(db.url);
});

afterAll(async () => {
  await db?.drop();
});

describe('the parent of the live refresh token', () => {
  it('within the interval fails and keeps the session; after it, ends the session (GoTrue would hand back the live child)', async () => {
    await sql`select auth_flow.sign_up('parent@example.test', 'parent password 1')`;
    const g = await at('2031-06-01 10:00:00+00', (tx) => tx<Grant[]>`select * from auth_flow.sign_in('parent@example.test', 'parent password 1')`);
    const child = await at('2031-06-01 10:00:01+00', (tx) => tx<Grant[]>`select * from auth_flow.refresh(${g.refresh_token})`);
    expect(child.user_id).not.toBeNull();
    // g is the live token's parent: a client that lost the response retries with it.
    expect((await at('2031-06-01 10:00:05+00', (tx) => tx<Grant[]>`select * from auth_flow.refresh(${g.refresh_token})`)).user_id).toBeNull();
    const [alive] = await sql<{ ended: boolean }[]>`select not_after is not null as ended from auth.sessions where id = ${g.session_id}::uuid`;
    expect(alive!.ended).toBe(false);
    expect((await at('2031-06-01 10:05:00+00', (tx) => tx<Grant[]>`select * from auth_flow.refresh(${g.refresh_token})`)).user_id).toBeNull();
    const [ended] = await sql<{ ended: boolean }[]>`select not_after is not null as ended from auth.sessions where id = ${g.session_id}::uuid`;
    expect(ended!.ended).toBe(true);
    expect((await at('2031-06-01 10:05:01+00', (tx) => tx<Grant[]>`select * from auth_flow.refresh(${child.refresh_token})`)).user_id).toBeNull();
  });
});
