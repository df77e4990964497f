/** Foreign keys without an index make joins and ON DELETE checks on the referenced table scan this one. */
import type { CatalogRule, RawFinding } from '../types.js';
import type { Relation } from '../../catalog/model.js';
import { isTable, isUserRelation, leafPartitions, sqlName, sqlColumns } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'unindexed-foreign-key',
  level: 'info',
  category: 'performance',
  description: 'foreign key with no index whose leading columns are its columns',
  docs: 'Postgres indexes the referenced key, not the referencing columns. Deleting or updating a referenced row (and joining back) then scans the referencing table; membership sub-selects in policies often join on these columns. An index whose leading columns are the key\'s, in any order, serves, and so does a unique index on some of its columns alone (the check then finds at most one row through it); a partial or expression index does not; on a partitioned table an index on every leaf partition serves.',
  fix: 'create index concurrently on <table> (<fk columns>)',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || rel.isPartition || !isUserRelation(ctx, rel)) continue;
      for (const fk of rel.foreignKeys) {
        const n = fk.columns.length;
        const want = new Set(fk.columns);
        // Leading columns in any order: the check tests each with equality.
        // Or a unique index on some of them alone (a primary key on file_id under a key on (file_id, collection_id)):
        // the check's equality on those columns finds at most one row through it.
        const covers = (r: Relation) =>
          r.indexes.some(
            (i) =>
              i.valid &&
              !i.partial &&
              ((i.columns.length >= n && i.columns.slice(0, n).every((c) => c !== null && want.has(c))) || (i.unique && i.columns.length > 0 && i.columns.every((c) => c !== null && want.has(c)))),
          );
        // A partitioned table's check scans every leaf, each with its own indexes.
        const leaves = leafPartitions(ctx.model).get(rel.qualified);
        if (covers(rel) || (leaves !== undefined && leaves.length > 0 && leaves.every(covers))) continue;
        out.push({
          object: `${rel.qualified}.${fk.columns.join(',')}`,
          objectKind: 'column',
          message: `foreign key ${fk.name} (${rel.qualified}.${fk.columns.join(', ')} → ${fk.refTable}) has no index: changes to ${fk.refTable} scan ${rel.qualified}`,
          fix: `create index concurrently on ${sqlName(rel)} (${sqlColumns(fk.columns)})`,
        });
      }
    }
    return out;
  },
};
