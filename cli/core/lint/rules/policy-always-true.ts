/** A permissive policy that is always true for an API role opens every row to it. */
import type { CatalogRule, RawFinding } from '../types.js';
import type { Policy, Relation } from '../../catalog/model.js';
import { apiRolesOf, commandsOf, hasPrivilege, isTable, listWords, policiesFor, policyObject, verbOf, type Command, sqlColumns } from '../facts.js';
import { isSensitiveColumn } from '../sensitive.js';
import { ownerColumnsOf } from './policy-check-unbound.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-always-true',
  level: 'error',
  category: 'security',
  description: 'permissive policy always true for an API role on UPDATE/DELETE/ALL, or on SELECT of a table with sensitive columns or with an owner-only SELECT policy it overrides',
  docs: "USING (true), (1 = 1) or a role-only check such as auth.role() = 'authenticated' lets that role change or delete every row. For SELECT it is only reported when the table has sensitive columns (email, phone, token, password, …), or when another permissive SELECT policy for the same role ties rows to their owner (OR-ed with an always-true one it decides nothing, so reads were meant to be per owner): a plain public-read table is a legitimate design. A restrictive policy that narrows the same command suppresses the finding; one that only tests the session (aal = 'aal2', amr, is_anonymous) picks callers, not rows, and does not.",
  fix: 'compare a column of the row with the caller, e.g. using ((select auth.uid()) = user_id)',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      // Read only for a policy that is always true for someone (rare): the regexes cost on every column.
      let sensitiveColumns: string[] | undefined;
      const sensitiveOf = () => (sensitiveColumns ??= rel.columns.filter(isSensitiveColumn).map((c) => c.name));
      for (const p of rel.policies) {
        if (!p.permissive) continue;
        const using = ctx.analysis(p).using;
        // alwaysTrueFor is worked out once per expression text: the usual policy is
        // true for no API role, and then which roles it applies to does not matter.
        if (!using || !ctx.apiRoles.some((role) => using.alwaysTrueFor(role))) continue;
        const hits: string[] = [];
        const shadowed = new Set<string>();
        for (const role of apiRolesOf(ctx, p)) {
          if (!using.alwaysTrueFor(role)) continue;
          const sensitive = sensitiveOf();
          // A permissive SELECT policy for the same role that ties rows to their owner says reads were
          // meant to be per owner; OR-ed with this one it never decides anything.
          const owned = policiesFor(ctx.model, rel, role, 'SELECT', true).filter((q) => q !== p && (ctx.analysis(q).using?.bindsCaller ?? false));
          const cmds = commandsOf(p).filter(
            (c) => c !== 'INSERT' && (c !== 'SELECT' || sensitive.length > 0 || owned.length > 0) && hasPrivilege(ctx, rel, role, c) && !narrowed(ctx, rel, p, role, c),
          );
          if (cmds.includes('SELECT') && sensitive.length === 0) owned.forEach((q) => shadowed.add(q.name));
          if (cmds.length) hits.push(`${role} can ${listWords(cmds.map(verbOf))} every row`);
        }
        if (hits.length === 0) continue;
        const sensitive = sensitiveOf();
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} is always true on ${rel.qualified}: ${hits.join('; ')}${sensitive.length && p.command !== 'UPDATE' && p.command !== 'DELETE' ? ` (sensitive columns: ${sensitive.join(', ')})` : ''}${shadowed.size ? `, which makes the owner test of ${listWords([...shadowed].sort())} pointless` : ''}`,
          fix: `compare the row's owner with the caller, e.g. using ((select auth.uid()) = ${sqlColumns([ownerColumnsOf(ctx, rel)[0] ?? 'user_id'])})${sensitive.length ? `, or move ${listWords(sensitive)} to a table only its owner can read` : ''}`,
        });
      }
    }
    return out;
  },
};

/**
 * A restrictive policy for the same role and command that is not itself always
 * true narrows the permissive one — unless it only tests the session (`aal =
 * 'aal2'`): that picks callers, not rows, and whoever passes still gets every row.
 */
function narrowed(ctx: Parameters<CatalogRule['check']>[0], rel: Relation, p: Policy, role: string, cmd: Command): boolean {
  return policiesFor(ctx.model, rel, role, cmd, false).some((r) => {
    const using = ctx.analysis(r).using;
    return r !== p && using !== null && !using.alwaysTrueFor(role) && using.sessionClaims === null;
  });
}
