/** ADD COLUMN … NOT NULL with no default fails on a table that has rows. */
import type { MigrationRule, RawFinding } from '../types.js';
import { existedBefore, originOf, typeOf } from '../migrations.js';
import { alterTableCmds, constraintsOf, locationOf, nodeBody } from '../stmt.js';
import { emptiedTables, emptiedWithChildren } from '../emptied-tables.js';

const SERIAL = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'add-column-not-null-no-default',
  level: 'error',
  category: 'migration',
  description: 'ALTER TABLE … ADD COLUMN … NOT NULL without a DEFAULT on a table that existed before the migration',
  docs: 'Existing rows would get NULL in the new column, so the statement fails as soon as the table holds a row (often only in production). Tables created in the same file are fine, and so are tables an earlier file creates when both are new to the target (one `migrate up` applies them), and a table a TRUNCATE (not ONLY) emptied earlier in the same transaction, with nothing since that could add a row (DML, a DO block, a function call, ATTACH PARTITION, INHERIT of a table with rows).',
  fix: 'add it with a constant default (no rewrite since PG11), or add it nullable, backfill, then set not null',
  check(ctx) {
    const out: RawFinding[] = [];
    const emptyAt = emptiedTables(ctx.allStatements);
    for (const s of ctx.statements) {
      const at = alterTableCmds(s);
      if (!at || !existedBefore(s, at.table) || emptiedWithChildren(emptyAt.get(s), at.table)) continue;
      for (const c of at.cmds) {
        if (c.subtype !== 'AT_AddColumn') continue;
        const def = nodeBody(c.def, 'ColumnDef');
        if (!def) continue;
        const cons = constraintsOf(def).map((x) => x['contype']);
        if (!cons.includes('CONSTR_NOTNULL') && !cons.includes('CONSTR_PRIMARY')) continue;
        // DEFAULT NULL is no default: every existing row still gets NULL.
        const fills = constraintsOf(def).some((x) => (x['contype'] === 'CONSTR_DEFAULT' && !nodeBody(x['raw_expr'], 'A_Const')?.['isnull']) || x['contype'] === 'CONSTR_IDENTITY' || x['contype'] === 'CONSTR_GENERATED');
        if (fills) continue;
        if (SERIAL.has(typeOf(def['typeName']).name)) continue;
        out.push({
          object: `${at.table}.${def['colname'] as string}`,
          objectKind: 'column',
          location: s.at(locationOf(c.def)),
          message: `adding NOT NULL column ${def['colname'] as string} with no default to ${at.table} (${originOf(s, at.table, ctx.rowEstimates)}) fails if the table has any row`,
        });
      }
    }
    return out;
  },
};
