/** A table owner skips its own policies unless RLS is FORCEd; a login owner is an account that reads every row. */
import type { CatalogRule, RawFinding } from '../types.js';
import { isTable, sqlName } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'rls-not-forced',
  level: 'warn',
  category: 'security',
  description: 'RLS on but not forced, and the table owner is a login role without BYPASSRLS',
  docs: 'Table owners are exempt from RLS unless FORCE ROW LEVEL SECURITY is set. When the owner is a role that logs in (an app or migration user) and is not meant to bypass RLS, every session it opens sees and changes all rows.',
  fix: 'alter table … force row level security (or own tables with a NOLOGIN role)',
  check(ctx) {
    const out: RawFinding[] = [];
    const roles = new Map(ctx.model.roles.map((r) => [r.name, r]));
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls || rel.forceRls) continue;
      const owner = roles.get(rel.owner);
      if (!owner || !owner.login || owner.superuser || owner.bypassRls) continue;
      out.push({
        object: rel.qualified,
        objectKind: 'table',
        message: `${rel.qualified} is owned by ${rel.owner}, a login role without BYPASSRLS: its sessions skip every policy because RLS is not forced`,
        fix: `alter table ${sqlName(rel)} force row level security`,
      });
    }
    return out;
  },
};
