/** Dropping a column or table loses data and breaks clients still using it. */
import type { MigrationRule, RawFinding } from '../types.js';
import { existedBefore, originOf } from '../migrations.js';
import { alterTableCmds, nodeBody } from '../stmt.js';

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'drop-column-or-table',
  level: 'warn',
  category: 'migration',
  description: 'DROP TABLE, ALTER TABLE … DROP COLUMN or TRUNCATE on a table that existed before the migration, or DROP DATABASE',
  docs: 'The data is gone once the migration commits (TRUNCATE … CASCADE also empties every table that references it, recursively), and clients (or PostgREST\'s cached schema) still reading the column fail. DROP DATABASE (which only a -- rowguard:no-transaction file can run) deletes another database whole. Drop in a later release, after no code reads it; suppress with a reason when intended.',
  fix: 'stop reading it first and drop it in a later migration; back the data up if it may be needed',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const s of ctx.statements) {
      if (s.type === 'DropStmt' && s.body['removeType'] === 'OBJECT_TABLE') {
        for (const table of s.names.dropped(s.body)) {
          if (!existedBefore(s, table)) continue;
          out.push({ object: table, objectKind: 'table', location: s.at(undefined), message: `drop table ${table} (${originOf(s, table, ctx.rowEstimates)}) deletes its rows for good` });
        }
        continue;
      }
      if (s.type === 'DropdbStmt') {
        // Refused in a transaction block (no-transaction-statement says so); in a no-transaction file it runs.
        const name = s.body['dbname'] as string;
        out.push({
          object: name,
          objectKind: 'database',
          location: s.at(undefined),
          message: `drop database ${name} deletes that whole database, every table and row in it, for good`,
          fix: 'drop databases by hand, not from a migration; suppress with a reason when it is a scratch database the migrations made',
        });
        continue;
      }
      if (s.type === 'TruncateStmt') {
        const cascade = s.body['behavior'] === 'DROP_CASCADE';
        for (const r of (s.body['relations'] as unknown[] | undefined) ?? []) {
          const table = s.names.relation(nodeBody(r, 'RangeVar'));
          if (!existedBefore(s, table)) continue;
          out.push({
            object: table,
            objectKind: 'table',
            location: s.at(nodeBody(r, 'RangeVar')?.['location'] as number | undefined),
            message: `truncate ${table} (${originOf(s, table, ctx.rowEstimates)}) deletes all its rows for good${cascade ? ', and CASCADE empties every table with a foreign key to it as well, recursively' : ''}`,
            fix: cascade ? `name every table to empty (truncate without cascade fails while another table references ${table}), and back the data up first` : 'back the data up first, and suppress with a reason when emptying it is intended',
          });
        }
        continue;
      }
      const at = alterTableCmds(s);
      if (!at || !existedBefore(s, at.table)) continue;
      for (const c of at.cmds) {
        if (c.subtype !== 'AT_DropColumn') continue;
        out.push({
          object: `${at.table}.${c.name}`,
          objectKind: 'column',
          location: s.at(at.location),
          // The origin is the table's (the column may have come later): said of the table, not of the column.
          message: `dropping column ${c.name} of ${at.table} (${originOf(s, at.table, ctx.rowEstimates)}) deletes its data and breaks clients still reading it`,
        });
      }
    }
    return out;
  },
};
