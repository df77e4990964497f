/** Adding a validated constraint scans the whole table while holding a lock that blocks writes. */
import type { MigrationRule, RawFinding } from '../types.js';
import { existedBefore, originOf } from '../migrations.js';
import { alterTableCmds, locationOf, nodeBody } from '../stmt.js';

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'constraint-not-valid',
  level: 'warn',
  category: 'migration',
  description: 'ADD CONSTRAINT (CHECK / FOREIGN KEY) without NOT VALID, UNIQUE / PRIMARY KEY without USING INDEX, or SET NOT NULL, on an existing table',
  docs: 'ALTER TABLE … ADD CONSTRAINT checks every row under an ACCESS EXCLUSIVE (CHECK) or SHARE ROW EXCLUSIVE (FOREIGN KEY, on both tables) lock. Add it NOT VALID, then VALIDATE CONSTRAINT in a later statement (only SHARE UPDATE EXCLUSIVE). UNIQUE / PRIMARY KEY build an index inline: build it CONCURRENTLY first and add the constraint USING INDEX. SET NOT NULL scans too, unless a validated CHECK (col IS NOT NULL) exists (PG12+).',
  fix: 'alter table … add constraint … not valid; then alter table … validate constraint …',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const s of ctx.statements) {
      const at = alterTableCmds(s);
      if (!at || !existedBefore(s, at.table)) continue;
      const origin = originOf(s, at.table, ctx.rowEstimates);
      for (const c of at.cmds) {
        if (c.subtype === 'AT_AddConstraint') {
          const con = nodeBody(c.def, 'Constraint');
          if (!con) continue;
          const kind = con['contype'];
          const name = (con['conname'] as string | undefined) ?? '';
          const loc = s.at(locationOf(c.def) ?? at.location);
          if ((kind === 'CONSTR_CHECK' || kind === 'CONSTR_FOREIGN') && !con['skip_validation']) {
            out.push({
              object: at.table,
              objectKind: 'table',
              location: loc,
              message: `adding ${kind === 'CONSTR_CHECK' ? 'CHECK' : 'FOREIGN KEY'} constraint ${name} to ${at.table} (${origin}) validates every row while blocking writes`,
              fix: `add it NOT VALID, then: alter table ${at.table} validate constraint ${name || '<name>'}`,
            });
          }
          if ((kind === 'CONSTR_UNIQUE' || kind === 'CONSTR_PRIMARY') && !con['indexname']) {
            out.push({
              object: at.table,
              objectKind: 'table',
              location: loc,
              message: `adding ${kind === 'CONSTR_UNIQUE' ? 'UNIQUE' : 'PRIMARY KEY'} constraint ${name} to ${at.table} (${origin}) builds its index under an ACCESS EXCLUSIVE lock`,
              fix: `create unique index concurrently … first, then: alter table ${at.table} add constraint ${name || '<name>'} ${kind === 'CONSTR_UNIQUE' ? 'unique' : 'primary key'} using index …`,
            });
          }
        }
        if (c.subtype === 'AT_SetNotNull') {
          out.push({
            object: `${at.table}.${c.name}`,
            objectKind: 'column',
            location: s.at(at.location),
            message: `set not null on ${at.table}.${c.name} (${origin}) scans every row under an ACCESS EXCLUSIVE lock`,
            fix: `add constraint … check (${c.name} is not null) not valid; validate it; then set not null (PG12+ skips the scan)`,
          });
        }
      }
    }
    return out;
  },
};
