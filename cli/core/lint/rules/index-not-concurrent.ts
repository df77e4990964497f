/** CREATE INDEX without CONCURRENTLY holds a SHARE lock: writes to the table wait for the whole build. */
import type { MigrationRule, RawFinding } from '../types.js';
import { existedBefore, originOf, relName } from '../migrations.js';

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'index-not-concurrent',
  level: 'warn',
  category: 'migration',
  description: 'CREATE INDEX without CONCURRENTLY on a table that existed before the migration',
  docs: 'A plain CREATE INDEX takes a SHARE lock, blocking INSERT/UPDATE/DELETE until the build finishes. CONCURRENTLY builds without blocking writes but cannot run in a transaction. Indexes on tables created in the same file are fine.',
  fix: 'create index concurrently …, in a file whose first line is -- rowguard:no-transaction',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const s of ctx.statements) {
      if (s.type !== 'IndexStmt' || s.body['concurrent']) continue;
      const table = relName(s.body['relation'], s.defaultSchema);
      if (!existedBefore(s, table)) continue;
      // Postgres cannot build an index CONCURRENTLY on a partitioned table itself.
      const partitioned = s.tablesBefore.get(table)?.partitioned ?? false;
      out.push({
        object: table,
        objectKind: 'table',
        location: s.at(undefined),
        message: `create index on ${partitioned ? 'partitioned table ' : ''}${table} (${originOf(s, table, ctx.rowEstimates)}) without CONCURRENTLY blocks every write to it until the index is built`,
        ...(partitioned
          ? { fix: `create index … on only ${table}; then, per partition, create index concurrently … and alter index … attach partition …` }
          : {}),
      });
    }
    return out;
  },
};
