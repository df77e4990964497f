/** Permissive policies for the same role and command are OR'ed: every one is evaluated for every row. */
import type { CatalogRule, RawFinding } from '../types.js';
import { COMMANDS, hasPrivilege, isTable, listWords, policiesFor } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'multiple-permissive-policies',
  level: 'warn',
  category: 'performance',
  description: 'several permissive policies for the same role and command on one table',
  docs: 'Postgres ORs the permissive policies that apply to a role (directly, through an inherited membership, or PUBLIC) and a command (ALL counts for each) into one filter, checked on every row: an index that serves one of them cannot serve the OR, so the table is scanned. Merging them into one policy with OR gives the same plan; it is cheaper only when the narrowing ones become AS RESTRICTIVE (AND-ed, so the index serves again) or each branch is itself index-backed. Restrictive policies are not counted.',
  fix: 'make the narrowing ones AS RESTRICTIVE, or merge them into one policy whose OR branches each have an index',
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
      out.push({ object: rel.qualified, objectKind: 'table', message: `${rel.qualified} has several permissive policies per role and command (${parts.join('; ')}): Postgres ORs them into one filter, checked on every row unless each of them can use an index` });
    }
    return out;
  },
};
