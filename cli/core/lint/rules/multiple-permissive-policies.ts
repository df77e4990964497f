/** Permissive policies for the same role and command are OR'ed: every one is evaluated for every row. */
import type { CatalogRule, RawFinding } from '../types.js';
import { COMMANDS, hasPrivilege, isTable, listWords, policiesFor } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'multiple-permissive-policies',
  level: 'warn',
  category: 'performance',
  description: 'several permissive policies for the same role and command on one table',
  docs: 'Postgres ORs the permissive policies that apply to a role and command and evaluates each of them per row; merging them into one policy (or making the extra ones restrictive) is cheaper and easier to reason about.',
  fix: 'merge them into one policy with OR, or make the narrowing ones AS RESTRICTIVE',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls || rel.policies.length < 2) continue;
      const parts: string[] = [];
      for (const role of ctx.apiRoles) {
        for (const cmd of COMMANDS) {
          if (!hasPrivilege(ctx, rel, role, cmd)) continue;
          const ps = policiesFor(ctx.model, rel, role, cmd, true);
          if (ps.length > 1) parts.push(`${role} ${cmd}: ${listWords(ps.map((p) => p.name))}`);
        }
      }
      if (parts.length === 0) continue;
      out.push({ object: rel.qualified, objectKind: 'table', message: `${rel.qualified} has several permissive policies per role and command (${parts.join('; ')}): each is evaluated for every row` });
    }
    return out;
  },
};
