/** RLS on and API roles granted, but no policy: everything is denied (often a forgotten policy). */
import type { CatalogRule, RawFinding } from '../types.js';
import { hasPrivilege, isTable, listWords } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'rls-enabled-no-policy',
  level: 'info',
  category: 'security',
  description: 'RLS on and API roles granted, but no policy at all (or only restrictive ones): every row is denied',
  docs: 'With RLS on and no policy, Postgres applies a default-deny: API roles see and change nothing. Restrictive policies only narrow what permissive ones admit, so with no permissive policy they deny everything too. A column grant (GRANT SELECT (id) …) counts as access like a table grant. Safe, but usually a missing policy or a grant to revoke.',
  fix: 'add the policies the API roles need, or revoke their grants',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      // Without a permissive policy nothing is admitted: restrictive ones are AND-ed onto an empty OR.
      if (!isTable(rel) || !rel.rls || rel.policies.some((p) => p.permissive)) continue;
      // A column grant (GRANT SELECT (id) …) lets the role run the command too, and be denied every row.
      const roles = ctx.apiRoles.filter((r) => (['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const).some((p) => hasPrivilege(ctx, rel, r, p)));
      if (roles.length === 0) continue;
      out.push({
        object: rel.qualified,
        objectKind: 'table',
        message:
          rel.policies.length === 0
            ? `${rel.qualified} has RLS on and no policy: ${listWords(roles)} ${roles.length === 1 ? 'is' : 'are'} granted access but every row is denied`
            : `${rel.qualified} has RLS on and only restrictive policies (${listWords(rel.policies.map((p) => p.name))}), which narrow permissive ones and admit nothing alone: ${listWords(roles)} ${roles.length === 1 ? 'is' : 'are'} granted access but every row is denied`,
        ...(rel.policies.length > 0 ? { fix: `create the policy that picks the rows as permissive (drop policy …; create policy … as permissive …); keep the restrictive ones as extra conditions` } : {}),
      });
    }
    return out;
  },
};
