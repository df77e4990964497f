/** Renaming a table, view or column breaks every client (and PostgREST's cached schema) still using the old name. */
import type { MigrationRule, RawFinding } from '../types.js';
import { existedBefore } from '../migrations.js';

const RELATION_KINDS: Record<string, string> = {
  OBJECT_TABLE: 'table',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_FOREIGN_TABLE: 'foreign table',
};

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'rename-column-or-table',
  level: 'warn',
  category: 'migration',
  description: 'ALTER TABLE/VIEW … RENAME (the relation or a column) of one that existed before the migration',
  docs: "Clients and API routes use names: after a rename, every request for the old name fails (PostgREST answers 404 or 400 until its schema cache reloads, then for good), and code deployed before or after the migration breaks for the other half of the rollout. Rename in steps: add the new name alongside (a column kept in sync, or a view with the old name), move the clients, then drop the old one; suppress with a reason when nothing reads it.",
  fix: 'keep the old name readable for a release (a view with the old name, or both columns), move the clients, then drop it',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const s of ctx.statements) {
      if (s.type !== 'RenameStmt') continue;
      const b = s.body;
      const type = b['renameType'] as string;
      const relation = s.names.relation(b['relation']);
      if (!b['relation'] || !existedBefore(s, relation)) continue;
      const loc = (b['relation'] as { location?: number }).location;
      if (type === 'OBJECT_COLUMN') {
        out.push({
          object: `${relation}.${b['subname'] as string}`,
          objectKind: 'column',
          location: s.at(loc),
          message: `renaming ${relation}.${b['subname'] as string} to ${b['newname'] as string} breaks every client still reading or writing ${b['subname'] as string}`,
        });
      } else if (RELATION_KINDS[type]) {
        out.push({
          object: relation,
          objectKind: type === 'OBJECT_TABLE' || type === 'OBJECT_FOREIGN_TABLE' ? 'table' : 'view',
          location: s.at(loc),
          message: `renaming ${RELATION_KINDS[type]} ${relation} to ${b['newname'] as string} breaks every client (and API route) still using ${relation}`,
        });
      }
    }
    return out;
  },
};
