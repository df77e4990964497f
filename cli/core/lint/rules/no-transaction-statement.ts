/**
 * Statements Postgres refuses inside a transaction block (PreventInTransactionBlock),
 * in a migration the engine runs in one: `migrate up` would fail on them (25001).
 */
import type { MigrationRule, RawFinding } from '../types.js';
import type { MigrationStatement } from '../migrations.js';
import { nodeBody } from '../stmt.js';

const hasOption = (params: unknown, name: string): boolean =>
  Array.isArray(params) && params.some((p) => nodeBody(p, 'DefElem')?.['defname'] === name);

/** What the statement is, as the fix names it, when it cannot run in a transaction block; else null. */
function refusedInTransaction(s: MigrationStatement): string | null {
  const b = s.body;
  switch (s.type) {
    case 'IndexStmt':
      return b['concurrent'] ? 'create index concurrently' : null;
    case 'DropStmt':
      return b['concurrent'] ? 'drop index concurrently' : null;
    case 'ReindexStmt': {
      const kind = b['kind'] as string;
      if (kind === 'REINDEX_OBJECT_SCHEMA' || kind === 'REINDEX_OBJECT_SYSTEM' || kind === 'REINDEX_OBJECT_DATABASE') return `reindex ${kind.slice('REINDEX_OBJECT_'.length).toLowerCase()}`;
      return hasOption(b['params'], 'concurrently') ? 'reindex … concurrently' : null;
    }
    case 'VacuumStmt':
      return b['is_vacuumcmd'] ? 'vacuum' : null; // ANALYZE alone may run in a transaction
    case 'ClusterStmt':
      return b['relation'] ? null : 'cluster (every table)';
    case 'AlterTableStmt':
      return ((b['cmds'] as unknown[] | undefined) ?? []).some((c) => {
        const cmd = nodeBody(c, 'AlterTableCmd');
        return cmd?.['subtype'] === 'AT_DetachPartition' && nodeBody(cmd['def'], 'PartitionCmd')?.['concurrent'];
      })
        ? 'detach partition … concurrently'
        : null;
    case 'CreatedbStmt':
      return 'create database';
    case 'DropdbStmt':
      return 'drop database';
    case 'CreateTableSpaceStmt':
      return 'create tablespace';
    case 'DropTableSpaceStmt':
      return 'drop tablespace';
    case 'AlterSystemStmt':
      return 'alter system';
    default:
      return null;
  }
}

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'no-transaction-statement',
  level: 'error',
  category: 'migration',
  description: 'statement that cannot run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, …) in a migration that runs in one',
  docs: "rowguard runs each migration in one transaction unless its first line is -- rowguard:no-transaction. Postgres refuses CREATE/DROP INDEX CONCURRENTLY, REINDEX … CONCURRENTLY (and of a schema, system or database), VACUUM, CLUSTER of every table, DETACH PARTITION … CONCURRENTLY, CREATE/DROP DATABASE and TABLESPACE and ALTER SYSTEM there (25001), so migrate up fails on the file. Such a file runs statement by statement without a transaction: keep it to that statement, so a failure halfway leaves little to settle (migrate resolve).",
  fix: 'move the statement into a file of its own whose first line is -- rowguard:no-transaction',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const s of ctx.statements) {
      if (!s.transactional) continue;
      const what = refusedInTransaction(s);
      if (!what) continue;
      out.push({
        object: s.file,
        objectKind: 'file',
        location: s.at(undefined),
        message: `${what} cannot run inside a transaction block, and ${s.file} runs in one: migrate up fails on it (25001)`,
      });
    }
    return out;
  },
};
