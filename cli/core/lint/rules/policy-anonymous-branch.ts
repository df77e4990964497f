/** `auth.uid() IS NULL OR …` is true for every anonymous request. */
import type { CatalogRule, RawFinding } from '../types.js';
import { policyAppliesTo } from '../../catalog/model.js';
import { policyObject } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-anonymous-branch',
  level: 'error',
  category: 'security',
  description: 'policy whose top level is an OR with an `auth.uid() IS NULL`-style branch, or a fallback for a request without a user (`user_id = coalesce(auth.uid(), user_id)`), which opens the table to anonymous requests',
  docs: 'Anonymous requests carry no sub (GoTrue helpers return NULL), so a top-level `auth.uid() IS NULL OR …` branch is true for every row when the policy applies to anon (or PUBLIC). Often meant as "allow the backend", but the service role bypasses RLS anyway. A COALESCE that falls back from the user\'s id or email to the row\'s own column (`user_id = coalesce(auth.uid(), user_id)`, or IS NOT DISTINCT FROM) or to true (`coalesce(auth.uid() = user_id, true)`) is the same test written another way: without a user it compares the column with itself.',
  fix: 'drop the IS NULL branch; the service role has BYPASSRLS and needs no policy',
  check(ctx) {
    const out: RawFinding[] = [];
    if (!ctx.apiRoles.includes(ctx.anonRole)) return out;
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        if (!p.permissive || !policyAppliesTo(ctx.model, p, ctx.anonRole)) continue;
        const a = ctx.analysis(p);
        const branch = a.using?.anonymousBranch ?? a.check?.anonymousBranch;
        if (!branch) continue;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} (${p.command}) on ${p.table} has a top-level "${branch}" branch: ${ctx.anonRole} passes it for every row${p.command === 'SELECT' ? '' : ', writes included'}`,
        });
      }
    }
    return out;
  },
};
