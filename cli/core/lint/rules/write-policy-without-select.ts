/** UPDATE/DELETE through the API reads rows (WHERE), so SELECT policies apply too; without one the write matches nothing. */
import type { CatalogRule, RawFinding } from '../types.js';
import { hasPrivilege, isTable, listWords, policiesFor } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'write-policy-without-select',
  level: 'warn',
  category: 'security',
  description: 'UPDATE or DELETE policy for a role that no SELECT policy covers: its writes silently match no row',
  docs: 'An UPDATE or DELETE that reads columns (a WHERE clause, RETURNING of a column, or SET from a column — any PostgREST PATCH or DELETE with a filter) also needs the rows to pass a SELECT (or ALL) policy; with none, zero rows match and no error is raised. (One that reads no column is judged by the write policy alone: see write-policy-unbound.)',
  fix: 'add a SELECT policy for the same role with the same condition',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      const gaps: Array<{ role: string; cmd: string; policies: string[] }> = [];
      for (const role of ctx.apiRoles) {
        if (policiesFor(ctx.model, rel, role, 'SELECT', true).length > 0) continue;
        for (const cmd of ['UPDATE', 'DELETE'] as const) {
          const ps = policiesFor(ctx.model, rel, role, cmd, true);
          if (ps.length && hasPrivilege(ctx, rel, role, cmd)) gaps.push({ role, cmd, policies: ps.map((p) => p.name) });
        }
      }
      for (const g of gaps) {
        out.push({
          object: rel.qualified,
          objectKind: 'table',
          message: `${g.role}'s ${g.cmd} on ${rel.qualified} (polic${g.policies.length === 1 ? 'y' : 'ies'} ${listWords(g.policies)}) matches no row: no SELECT policy applies to ${g.role}`,
          fix: `create policy … on ${rel.qualified} for select to ${g.role} using (…same condition…)`,
        });
      }
    }
    return out;
  },
};
