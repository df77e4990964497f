/** A migration waiting for a lock queues every later query on the table behind it. */
import type { MigrationRule, RawFinding } from '../types.js';
import { existedBefore, type MigrationStatement } from '../migrations.js';
import { booleanOption, nodeBody, SHARE_UPDATE_EXCLUSIVE_CMDS } from '../stmt.js';

/** LOCK TABLE modes (lockdefs.h) from SHARE up: the ones that conflict with writes (ROW EXCLUSIVE) or reads. */
const SHARE_LOCK = 5;

/**
 * The table a statement takes a lock on that conflicts with reads or writes (SHARE, SHARE ROW
 * EXCLUSIVE, EXCLUSIVE or ACCESS EXCLUSIVE), if any: while it waits for that lock, reads or writes
 * queue behind it. SHARE UPDATE EXCLUSIVE (VALIDATE CONSTRAINT, SET STATISTICS, the CONCURRENTLY
 * forms) conflicts with neither.
 */
function lockedTable(s: MigrationStatement): string | null {
  const first = (list: unknown) => nodeBody(((list as unknown[] | undefined) ?? [])[0], 'RangeVar');
  switch (s.type) {
    case 'AlterTableStmt': {
      if (s.body['objtype'] !== 'OBJECT_TABLE') return null;
      const cmds = ((s.body['cmds'] as unknown[] | undefined) ?? []).map((c) => nodeBody(c, 'AlterTableCmd'));
      // DETACH PARTITION … CONCURRENTLY takes SHARE UPDATE EXCLUSIVE too, and so does ATTACH PARTITION on the
      // partitioned table (PG12+); ATTACH takes ACCESS EXCLUSIVE on the table it attaches.
      const weak = (c: Record<string, unknown> | undefined) =>
        SHARE_UPDATE_EXCLUSIVE_CMDS.has(c?.['subtype'] as string) || (c?.['subtype'] === 'AT_DetachPartition' && !!nodeBody(c['def'], 'PartitionCmd')?.['concurrent']);
      const attached = cmds.filter((c) => c?.['subtype'] === 'AT_AttachPartition').map((c) => s.names.relation(nodeBody(c!['def'], 'PartitionCmd')?.['name']));
      if (cmds.every((c) => weak(c) || c?.['subtype'] === 'AT_AttachPartition')) return attached.find((t) => existedBefore(s, t)) ?? null;
      return s.names.relation(s.body['relation']);
    }
    case 'IndexStmt':
      return s.body['concurrent'] ? null : s.names.relation(s.body['relation']);
    case 'CreateTrigStmt':
    case 'RenameStmt':
      return s.body['relation'] ? s.names.relation(s.body['relation']) : null;
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      return s.names.relation(s.body['table']);
    case 'TruncateStmt': {
      const r = first(s.body['relations']);
      return r ? s.names.relation(r) : null;
    }
    case 'LockStmt': {
      const r = first(s.body['relations']);
      // LOCK TABLE without IN … MODE is ACCESS EXCLUSIVE.
      return r && Number(s.body['mode'] ?? 8) >= SHARE_LOCK ? s.names.relation(r) : null;
    }
    case 'RefreshMatViewStmt':
      return s.body['concurrent'] ? null : s.names.relation(s.body['relation']);
    case 'ClusterStmt':
      return s.body['relation'] ? s.names.relation(s.body['relation']) : null;
    case 'VacuumStmt': {
      // VACUUM FULL takes ACCESS EXCLUSIVE; a plain VACUUM or ANALYZE, SHARE UPDATE EXCLUSIVE.
      if (!booleanOption(s.body['options'], 'full')) return null;
      const r = nodeBody(((s.body['rels'] as unknown[] | undefined) ?? [])[0], 'VacuumRelation')?.['relation'];
      return r ? s.names.relation(r) : null;
    }
    case 'ReindexStmt': {
      if (booleanOption(s.body['params'], 'concurrently')) return null;
      // REINDEX TABLE takes SHARE on the table; REINDEX INDEX too, on the index's table (named when a migration made the index).
      if (s.body['kind'] === 'REINDEX_OBJECT_TABLE') return s.names.relation(s.body['relation']);
      if (s.body['kind'] === 'REINDEX_OBJECT_INDEX') {
        const index = s.names.relation(s.body['relation']);
        return s.indexesBefore.get(index)?.table ?? `the table of index ${index}`;
      }
      // REINDEX SCHEMA / DATABASE: each of its tables in turn.
      if (s.body['kind'] === 'REINDEX_OBJECT_SCHEMA') return `every table of schema ${s.body['name'] as string}`;
      if (s.body['kind'] === 'REINDEX_OBJECT_DATABASE') return 'every table of the database';
      return null;
    }
    case 'DropStmt':
      if (s.body['removeType'] === 'OBJECT_TABLE') return s.names.dropped(s.body)[0] ?? null;
      // DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the index's table.
      if (s.body['removeType'] === 'OBJECT_INDEX' && !s.body['concurrent']) {
        const names = s.names.dropped(s.body);
        // An index no migration made: its table is not known, but it is locked all the same.
        return names.map((i) => s.indexesBefore.get(i)?.table).find((t) => !!t) ?? (names[0] ? `the table of index ${names[0]}` : null);
      }
      return null;
    default:
      return null;
  }
}

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'missing-lock-timeout',
  level: 'warn',
  category: 'migration',
  description: 'migration locks an existing table with no lock_timeout (neither set in the file nor by the migration engine)',
  docs: 'ALTER TABLE (but for VALIDATE CONSTRAINT, SET STATISTICS, SET / RESET (…), CLUSTER ON and DETACH PARTITION … CONCURRENTLY alone, which take SHARE UPDATE EXCLUSIVE; ATTACH PARTITION locks the table it attaches, not the partitioned one), CREATE INDEX, CREATE POLICY, CREATE TRIGGER, DROP TABLE, DROP INDEX, TRUNCATE, LOCK TABLE (SHARE mode and up), CLUSTER, VACUUM FULL, REINDEX (each without CONCURRENTLY) and REFRESH MATERIALIZED VIEW wait for a lock that conflicts with reads or writes; while they wait, every new query on the table queues behind them, so one long transaction stalls the API. rowguard\'s engine sets lock_timeout from migrations.lockTimeout (default 5s) for every file, so this fires only when that is 0 and the file sets none itself (SET lock_timeout = 0, RESET, and SET LOCAL in a -- rowguard:no-transaction file set none).',
  fix: "set lock_timeout = '5s' at the top of the file (or set migrations.lockTimeout in rowguard.config.json)",
  check(ctx) {
    const out: RawFinding[] = [];
    if (ctx.engineLockTimeout !== null) return out;
    const reported = new Set<string>();
    for (const s of ctx.statements) {
      if (reported.has(s.file) || s.lockTimeoutSet) continue;
      const table = lockedTable(s);
      if (!table || !existedBefore(s, table)) continue;
      reported.add(s.file);
      out.push({
        object: s.file,
        objectKind: 'file',
        location: s.at(undefined),
        message: `${s.file} locks ${table} with no lock_timeout: while it waits for the lock, every query on ${table} waits behind it`,
      });
    }
    return out;
  },
};
