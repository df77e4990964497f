/** Policies on a table whose RLS is off do nothing. */
import type { CatalogRule, RawFinding } from '../types.js';
import { isTable, sqlName } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-exists-rls-disabled',
  level: 'error',
  category: 'security',
  description: 'policies exist but RLS is off on the table, so they are ignored',
  docs: 'Postgres only evaluates policies when relrowsecurity is on; until then every grant reaches every row, whatever the policies say.',
  fix: 'alter table … enable row level security',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || rel.rls || rel.policies.length === 0) continue;
      out.push({
        object: rel.qualified,
        objectKind: 'table',
        message: `${rel.qualified} has ${rel.policies.length} polic${rel.policies.length === 1 ? 'y' : 'ies'} (${rel.policies.map((p) => p.name).join(', ')}) but RLS is off: they are not applied`,
        fix: `alter table ${sqlName(rel)} enable row level security`,
      });
    }
    return out;
  },
};
