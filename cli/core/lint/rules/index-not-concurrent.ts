/**
 * Building, dropping or rebuilding an index without CONCURRENTLY locks its table:
 * CREATE INDEX and REINDEX hold SHARE (writes wait for the whole build), DROP INDEX
 * holds ACCESS EXCLUSIVE (reads wait too) until the migration's transaction ends.
 */
import type { MigrationRule, RawFinding } from '../types.js';
import { existedBefore, originOf, type MigrationStatement } from '../migrations.js';
import { booleanOption, nodeBody } from '../stmt.js';
import { emptiedTables } from '../emptied-tables.js';

/** The index's table when a migration created the index, and whether the file may leave it alone (made in this file). */
function indexTable(s: MigrationStatement, qualified: string): { table: string | null; fresh: boolean } {
  const known = s.indexesBefore.get(qualified);
  if (!known) return { table: null, fresh: false };
  return { table: known.table, fresh: known.createdInFile === s.fileIndex || !existedBefore(s, known.table) };
}

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'index-not-concurrent',
  level: 'warn',
  category: 'migration',
  description: 'CREATE INDEX, DROP INDEX, REINDEX or ALTER TABLE … DETACH PARTITION without CONCURRENTLY on a table that existed before the migration (REINDEX SCHEMA / DATABASE: on every table in it)',
  docs: 'A plain CREATE INDEX takes a SHARE lock, blocking INSERT/UPDATE/DELETE until the build finishes; REINDEX does the same and holds ACCESS EXCLUSIVE on the index, which the planner locks for nearly every query on the table; a plain DROP INDEX takes ACCESS EXCLUSIVE on the table, so reads wait too until the migration commits. CONCURRENTLY avoids that but cannot run in a transaction. CREATE INDEX IF NOT EXISTS of an index that exists builds nothing, but Postgres takes the lock before it looks, and holds it until the migration commits. Indexes on tables created in the same file are fine (or in an earlier file, when both are new to the target: one `migrate up` applies them), and so are those on a table a TRUNCATE emptied earlier in the same transaction with nothing since that could add a row (its ACCESS EXCLUSIVE lock is held until the commit, so the SHARE lock keeps out no one it does not; not across the statements of a no-transaction file, each committed on its own), and so is CREATE INDEX … ON ONLY a partitioned table (it builds nothing; each partition\'s index is built CONCURRENTLY and attached). DETACH PARTITION takes ACCESS EXCLUSIVE on the partitioned table (and the partition) until the migration commits; DETACH PARTITION … CONCURRENTLY only SHARE UPDATE EXCLUSIVE.',
  fix: 'create index concurrently …, in a file whose first line is -- rowguard:no-transaction',
  check(ctx) {
    const out: RawFinding[] = [];
    // A table a TRUNCATE emptied earlier in this transaction: its ACCESS EXCLUSIVE lock already keeps everyone out.
    const emptyAt = emptiedTables(ctx.allStatements);
    for (const s of ctx.statements) {
      // An index belongs to one table: an inheritance child keeps its own (a partitioned table cannot be truncated ONLY).
      const emptied = emptyAt.get(s) ?? new Map<string, boolean>();
      if (s.type === 'IndexStmt' && !s.body['concurrent']) {
        const table = s.names.relation(s.body['relation']);
        if (!existedBefore(s, table) || emptied.has(table)) continue;
        // Postgres cannot build an index CONCURRENTLY on a partitioned table itself.
        const partitioned = s.tablesBefore.get(table)?.partitioned ?? false;
        // ON ONLY a partitioned table: an invalid index on the parent alone, nothing is built.
        if (partitioned && !(s.body['relation'] as { inh?: boolean }).inh) continue;
        // IF NOT EXISTS of an index an earlier statement made builds nothing, but Postgres locks the table before it looks.
        const name = s.body['idxname'] as string | undefined;
        const exists = !!s.body['if_not_exists'] && name !== undefined && s.indexesBefore.has(`${table.slice(0, table.lastIndexOf('.'))}.${name}`);
        out.push({
          object: table,
          objectKind: 'table',
          location: s.at(undefined),
          message: exists
            ? `create index if not exists ${name} on ${table} (${originOf(s, table, ctx.rowEstimates)}) builds nothing, as the index exists, but still takes a SHARE lock on the table and holds it, blocking every write, until the migration commits`
            : `create index on ${partitioned ? 'partitioned table ' : ''}${table} (${originOf(s, table, ctx.rowEstimates)}) without CONCURRENTLY blocks every write to it until the index is built`,
          ...(partitioned
            ? { fix: `create index … on only ${table}; then, per partition, create index concurrently … and alter index … attach partition …` }
            : {}),
        });
      } else if (s.type === 'DropStmt' && s.body['removeType'] === 'OBJECT_INDEX' && !s.body['concurrent']) {
        for (const index of s.names.dropped(s.body)) {
          const { table, fresh } = indexTable(s, index);
          if (fresh || (table && emptied.has(table))) continue;
          // Postgres cannot drop an index of a partitioned table CONCURRENTLY: there is no safer form to point to.
          if (table && s.tablesBefore.get(table)?.partitioned) continue;
          out.push({
            object: table ?? index,
            objectKind: 'table',
            location: s.at(undefined),
            message: `drop index ${index} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on ${table ?? 'its table'}${table ? ` (${originOf(s, table, ctx.rowEstimates)})` : ''}: every read and write of it waits until the migration commits`,
            fix: `drop index concurrently ${index}, in a file whose first line is -- rowguard:no-transaction`,
          });
        }
      } else if (s.type === 'AlterTableStmt' && s.body['objtype'] === 'OBJECT_TABLE') {
        // DETACH PARTITION takes ACCESS EXCLUSIVE on the partitioned table and the partition; CONCURRENTLY (PG14+), SHARE UPDATE EXCLUSIVE.
        const table = s.names.relation(s.body['relation']);
        if (!existedBefore(s, table) || emptied.has(table)) continue;
        for (const c of (s.body['cmds'] as unknown[] | undefined) ?? []) {
          const cmd = nodeBody(c, 'AlterTableCmd');
          const part = cmd?.['subtype'] === 'AT_DetachPartition' ? nodeBody(cmd['def'], 'PartitionCmd') : undefined;
          if (!part || part['concurrent']) continue;
          const name = s.names.relation(part['name']);
          out.push({
            object: table,
            objectKind: 'table',
            location: s.at(undefined),
            message: `detach partition ${name} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on ${table} (${originOf(s, table, ctx.rowEstimates)}): every read and write of it waits until the migration commits`,
            fix: `alter table ${table} detach partition ${name} concurrently, in a file whose first line is -- rowguard:no-transaction (Postgres refuses it while ${table} has a DEFAULT partition)`,
          });
        }
      } else if (s.type === 'ReindexStmt') {
        const kind = s.body['kind'];
        if (booleanOption(s.body['params'], 'concurrently')) continue;
        if (kind === 'REINDEX_OBJECT_SCHEMA' || kind === 'REINDEX_OBJECT_DATABASE') {
          // Every table of the schema (database), one after the other, each under SHARE while its indexes are rebuilt.
          const what = kind === 'REINDEX_OBJECT_SCHEMA' ? `schema ${s.body['name'] as string}` : `database${s.body['name'] ? ` ${s.body['name'] as string}` : ''}`;
          out.push({
            object: s.file,
            objectKind: 'file',
            location: s.at(undefined),
            message: `reindex ${what} without CONCURRENTLY rebuilds the indexes of every table in it, blocking every write to each table (SHARE lock) and nearly every read too while its indexes are rebuilt`,
            fix: `reindex ${what} concurrently (or reindex … concurrently only the indexes that need it), in a file whose first line is -- rowguard:no-transaction`,
          });
          continue;
        }
        if (kind !== 'REINDEX_OBJECT_TABLE' && kind !== 'REINDEX_OBJECT_INDEX') continue;
        const name = s.names.relation(s.body['relation']);
        let table: string | null = name;
        if (kind === 'REINDEX_OBJECT_INDEX') {
          const r = indexTable(s, name);
          if (r.fresh || (r.table && emptied.has(r.table))) continue;
          table = r.table;
        } else if (!existedBefore(s, name) || emptied.has(name)) continue;
        const what = kind === 'REINDEX_OBJECT_TABLE' ? `table ${name}` : `index ${name}`;
        out.push({
          object: table ?? name,
          objectKind: 'table',
          location: s.at(undefined),
          message: `reindex ${what} without CONCURRENTLY blocks every write to ${table ?? 'its table'} (SHARE lock) and nearly every read too (it holds ACCESS EXCLUSIVE on the ${kind === 'REINDEX_OBJECT_TABLE' ? 'indexes' : 'index'}, which the planner locks for any query on the table) until the rebuild ends`,
          fix: `reindex ${kind === 'REINDEX_OBJECT_TABLE' ? 'table' : 'index'} concurrently ${name}, in a file whose first line is -- rowguard:no-transaction`,
        });
      }
    }
    return out;
  },
};
