/** auth.uid() & co. called bare in a policy run once per row; in a scalar sub-select, once per statement. */
import type { CatalogRule, RawFinding } from '../types.js';
import { policyObject } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'auth-call-per-row',
  level: 'warn',
  category: 'performance',
  description: 'auth.uid()/auth.jwt()/auth.role()/auth.email()/current_setting() evaluated per row instead of once in a scalar sub-select',
  docs: 'These helpers are STABLE functions, so the executor calls them for every row the policy filters. Written as (select auth.uid()) the planner makes an initPlan evaluated once per statement. Calls already inside a sub-select that does not depend on the row (including ones under a cast, as in (select auth.uid())::text) are fine.',
  fix: 'wrap the call: (select auth.uid())',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        const a = ctx.analysis(p);
        if (!a.using?.perRowCalls.length && !a.check?.perRowCalls.length) continue; // the usual case: nothing to merge
        const calls = [...new Set([...(a.using?.perRowCalls ?? []), ...(a.check?.perRowCalls ?? [])])];
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} calls ${calls.join(', ')} once per row scanned`,
          fix: `wrap each call in a scalar sub-select: ${calls.map((c) => `(select ${c})`).join(', ')}`,
        });
      }
    }
    return out;
  },
};
