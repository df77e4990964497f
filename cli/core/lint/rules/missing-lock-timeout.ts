/** A migration waiting for a lock queues every later query on the table behind it. */
import type { MigrationRule, RawFinding } from '../types.js';
import { droppedNames, existedBefore, relName, type MigrationStatement } from '../migrations.js';
import { nodeBody } from '../stmt.js';

/** The table a statement takes a strong lock on (ACCESS EXCLUSIVE, SHARE or SHARE ROW EXCLUSIVE), if any. */
function lockedTable(s: MigrationStatement): string | null {
  switch (s.type) {
    case 'AlterTableStmt':
      return s.body['objtype'] === 'OBJECT_TABLE' ? relName(s.body['relation'], s.defaultSchema) : null;
    case 'IndexStmt':
      return s.body['concurrent'] ? null : relName(s.body['relation'], s.defaultSchema);
    case 'CreateTrigStmt':
    case 'RenameStmt':
      return s.body['relation'] ? relName(s.body['relation'], s.defaultSchema) : null;
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      return relName(s.body['table'], s.defaultSchema);
    case 'TruncateStmt':
    case 'LockStmt': {
      const first = nodeBody(((s.body['relations'] as unknown[] | undefined) ?? [])[0], 'RangeVar');
      return first ? relName(first, s.defaultSchema) : null;
    }
    case 'RefreshMatViewStmt':
      return s.body['concurrent'] ? null : relName(s.body['relation'], s.defaultSchema);
    case 'ClusterStmt':
      return s.body['relation'] ? relName(s.body['relation'], s.defaultSchema) : null;
    case 'ReindexStmt':
      return s.body['kind'] === 'REINDEX_OBJECT_TABLE' ? relName(s.body['relation'], s.defaultSchema) : null;
    case 'DropStmt':
      return s.body['removeType'] === 'OBJECT_TABLE' ? (droppedNames(s.body, s.defaultSchema)[0] ?? null) : null;
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
  docs: 'ALTER TABLE, CREATE INDEX, CREATE POLICY, CREATE TRIGGER, DROP TABLE, TRUNCATE, LOCK TABLE, CLUSTER, REINDEX TABLE and REFRESH MATERIALIZED VIEW wait for a strong lock; while they wait, every new query on the table queues behind them, so one long transaction stalls the API. rowguard\'s engine sets lock_timeout from migrations.lockTimeout (default 5s) for every file, so this fires only when that is 0 and the file sets none itself (SET lock_timeout = 0, RESET, and SET LOCAL in a -- rowguard:no-transaction file set none).',
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
