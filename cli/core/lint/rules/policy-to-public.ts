/** A permissive policy with no TO applies to every role, anon included. */
import type { CatalogRule, RawFinding } from '../types.js';
import { PUBLIC } from '../../catalog/model.js';
import { isExposed, policyObject } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-to-public',
  level: 'warn',
  category: 'security',
  description: 'permissive policy with no TO (applies to PUBLIC) on a table in an exposed schema',
  docs: 'Without TO a policy applies to PUBLIC: anon and every future role get it too, and its expression is evaluated for all of them. Restrictive policies to PUBLIC only narrow access and are not reported.',
  fix: 'create policy … to authenticated (or the roles it is meant for)',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isExposed(ctx, rel)) continue;
      for (const p of rel.policies) {
        if (!p.permissive || !p.roles.includes(PUBLIC)) continue;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} has no TO: it applies to every role, ${ctx.anonRole} included`,
        });
      }
    }
    return out;
  },
};
