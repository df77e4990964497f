/**
 * What docs/security-model.md says a superuser who knows the chain's format can do, checked on
 * Postgres: delete a row in the middle of a lane (or edit one) and recompute every later hash of
 * the lane, in SQL, from the columns and the format 0005 documents. `audit verify` alone then
 * passes — the chain is not keyed — and a checkpoint recorded before the rewrite catches it. Both
 * halves held before this file; it pins the documented limit and its remedy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import { parseCheckpoint, verifyAuditLog } from '../../cli/core/audit/verify.js';
import type { Sql } from '../../cli/core/db.js';

let db: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await freshDatabase('rg_audit_rewrite');
  sql = db.sql;
  await migrate(db.url);
  // The superuser's own rehash, written from the format alone (audit.append_rows is not called).
  await sql`
    create function public.rehash_lane(p_lane smallint) returns void language plpgsql as $$
    declare
      r record;
      prev text := repeat('0', 64);
      ctx text;
    begin
      for r in select * from audit.log where lane = p_lane order by seq loop
        ctx := encode(sha256(convert_to(json_build_array(
                 to_char(r.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), r.txid::text, r.actor_id::text,
                 r.actor_role, r.actor_email, r.db_role, r.user_agent, r.ip, r.schema_name, r.table_name,
                 r.operation, r.event)::text, 'UTF8')), 'hex');
        prev := encode(sha256(convert_to(concat('rowguard-audit-v3', E'\\n', prev, E'\\n', r.lane, ':', r.seq, E'\\n', ctx, E'\\n',
                  '[', coalesce(r.pk::text, 'null'), ', ', coalesce(r.old_row::text, 'null'), ', ', coalesce(r.new_row::text, 'null'), ']'), 'UTF8')), 'hex');
        update audit.log set hash = prev where lane = r.lane and seq = r.seq;
      end loop;
    end $$`;
});

afterAll(async () => {
  await db?.drop();
});

/** Six events on one connection: one transaction each, all on that backend's lane. */
async function sixEvents(c: Sql, tag: string): Promise<number> {
  for (let i = 1; i <= 6; i++) await c`select audit.log_auth_event('logout', null, ${sql.json({ tag, i } as never)}::jsonb)`;
  const [r] = await c<{ lane: number }[]>`select lane from audit.log where new_row ->> 'tag' = ${tag} group by lane`;
  return r!.lane;
}

describe('a lane rewritten by a superuser who recomputes the hashes', () => {
  it('a middle row deleted and the later rows renumbered: verify alone passes, the earlier checkpoint fails', async () => {
    const c = await sql.reserve();
    try {
      const lane = await sixEvents(c as unknown as Sql, 'delete');
      const before = await verifyAuditLog(sql);
      expect(before.ok).toBe(true);
      const recorded = parseCheckpoint(before.head!);
      await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`delete from audit.log where lane = ${lane} and new_row ->> 'tag' = 'delete' and new_row ->> 'i' = '3'`;
        await tx`update audit.log set seq = seq - 1 where lane = ${lane} and seq > (select min(seq) from audit.log where lane = ${lane} and new_row ->> 'tag' = 'delete') + 1`;
        await tx`select public.rehash_lane(${lane}::smallint)`;
      });
      const after = await verifyAuditLog(sql);
      expect(after.ok).toBe(true); // the documented limit: an unkeyed chain, rewritten whole
      expect(after.rows).toBe(before.rows - 1);
      const checked = await verifyAuditLog(sql, { expectHead: recorded });
      expect(checked.ok).toBe(false);
    } finally {
      c.release();
    }
  });

  it('a middle row edited: the same', async () => {
    const c = await sql.reserve();
    try {
      const lane = await sixEvents(c as unknown as Sql, 'edit');
      const before = await verifyAuditLog(sql);
      const recorded = parseCheckpoint(before.head!);
      await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`update audit.log set actor_id = gen_random_uuid() where lane = ${lane} and new_row ->> 'tag' = 'edit' and new_row ->> 'i' = '2'`;
        await tx`select public.rehash_lane(${lane}::smallint)`;
      });
      expect((await verifyAuditLog(sql)).ok).toBe(true);
      expect((await verifyAuditLog(sql, { expectHead: recorded })).ok).toBe(false);
    } finally {
      c.release();
    }
  });
});
