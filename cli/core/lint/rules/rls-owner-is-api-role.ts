/**
 * A table owned by an API role (or by a role whose privileges it inherits) is
 * the API role's own table: Postgres exempts the owner from RLS unless it is
 * forced, so every request of that role reads and writes every row.
 */
import type { CatalogRule, RawFinding } from '../types.js';
import type { CatalogModel } from '../../catalog/model.js';
import { bypassesRls, isTable, listWords, sqlName } from '../facts.js';

/**
 * Roles whose privileges `role` has (has_privs_of_role): itself and,
 * transitively, the memberships granted with INHERIT. Ownership follows these,
 * unlike a policy's TO, which follows every membership.
 */
export function privilegeRoles(model: CatalogModel, role: string): Map<string, string | null> {
  const byName = new Map(model.roles.map((r) => [r.name, r]));
  // role → the role it was reached from (null for `role` itself), to explain the path.
  const via = new Map<string, string | null>([[role, null]]);
  const stack = [role];
  while (stack.length) {
    const r = byName.get(stack.pop()!);
    if (!r) continue;
    for (const m of r.inheritsFrom) {
      if (via.has(m)) continue;
      via.set(m, r.name);
      stack.push(m);
    }
  }
  return via;
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'rls-owner-is-api-role',
  level: 'error',
  category: 'security',
  description: 'table with RLS on but not forced whose owner is an API role, or a role an API role inherits privileges from: that role skips every policy',
  docs: "Postgres exempts a table's owner from its policies unless FORCE ROW LEVEL SECURITY is set, and a member that inherits the owner's privileges counts as the owner. `alter table t owner to authenticated`, or `grant app_owner to authenticated` where app_owner owns the tables, lets every signed-in request read and write every row. Own the tables with a role no API role belongs to.",
  fix: 'alter table … owner to a role no API role is a member of (e.g. postgres), or force row level security',
  check(ctx) {
    const out: RawFinding[] = [];
    const inherited = ctx.apiRoles.filter((r) => !bypassesRls(ctx.model, r)).map((r) => [r, privilegeRoles(ctx.model, r)] as const);
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls || rel.forceRls) continue;
      const owners = inherited.filter(([, roles]) => roles.has(rel.owner));
      if (owners.length === 0) continue;
      const how = owners.map(([api, roles]) => (api === rel.owner ? api : `${api} (through ${chain(roles, rel.owner).join(' → ')})`));
      out.push({
        object: rel.qualified,
        objectKind: 'table',
        message: `${rel.qualified} is owned by ${rel.owner}: ${listWords(how)} ${owners.length > 1 ? 'act' : 'acts'} as its owner and ${owners.length > 1 ? 'skip' : 'skips'} every policy, because RLS is not forced`,
        fix: `alter table ${sqlName(rel)} owner to postgres; (or: alter table ${sqlName(rel)} force row level security)`,
      });
    }
    return out;
  },
};

/** The membership path from the API role to `target`, e.g. [authenticated, app_owner]. */
function chain(via: Map<string, string | null>, target: string): string[] {
  const path: string[] = [];
  for (let r: string | null | undefined = target; r; r = via.get(r)) path.unshift(r);
  return path;
}
