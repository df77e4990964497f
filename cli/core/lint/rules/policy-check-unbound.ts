/** A write policy whose check does not tie the row's owner/tenant to the caller lets users write rows as someone else. */
import type { CatalogRule, RawFinding } from '../types.js';
import type { Relation } from '../../catalog/model.js';
import { apiRolesOf, hasPrivilege, helperRoleGate, isTable, listWords, policiesFor, policyObject, type Command } from '../facts.js';

const OWNER_COLUMN = /^(user|owner|author|creator|profile|member|account|tenant|org|organization|organisation|team|workspace|company|customer)_(id|uuid)$|^(created|owned)_by$|_(user|owner)_id$/i;

/** Columns that say whose row it is: a foreign key to auth.users, or an owner/tenant-looking name. */
export function ownerColumns(rel: Relation): string[] {
  const cols = new Set<string>();
  for (const fk of rel.foreignKeys) if (fk.refTable === 'auth.users') fk.columns.forEach((c) => cols.add(c));
  for (const c of rel.columns) if (OWNER_COLUMN.test(c.name)) cols.add(c.name);
  return [...cols];
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-check-unbound',
  level: 'warn',
  category: 'security',
  description: "INSERT/UPDATE/ALL policy whose effective WITH CHECK (USING when absent) does not bind the row's owner or tenant to the caller",
  docs: "WITH CHECK decides which rows a caller may write. If it never compares the row's owner or tenant column with the caller (auth.uid(), a claim, a membership sub-select or a helper taking the column), a user can insert or move rows into someone else's account. Only tables with an owner/tenant column (a foreign key to auth.users or a name like user_id, owner_id, tenant_id, org_id) are judged; restrictive policies that bind the caller count. A role the policy's role test can never admit (auth.role() = 'service_role', an is_service_role() helper) is not reported: it writes nothing through it.",
  fix: 'with check ((select auth.uid()) = user_id)',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      let owners: string[] | undefined; // read only when a policy does not bind the caller (the regexes cost on every column)
      for (const p of rel.policies) {
        if (!p.permissive || (p.command !== 'INSERT' && p.command !== 'UPDATE' && p.command !== 'ALL')) continue;
        const a = ctx.analysis(p);
        const effective = p.check !== null ? a.check : a.using;
        // A test of the session alone (`auth.jwt() ->> 'aal'`) is policy-session-check-permissive's finding.
        if (!effective || effective.bindsCaller || effective.sessionClaims) continue;
        owners ??= ownerColumns(rel);
        if (owners.length === 0) break; // only tables with an owner or tenant column are judged
        const cmds: Command[] = p.command === 'ALL' ? ['INSERT', 'UPDATE'] : [p.command];
        // A role test (`is_service_role()`) that can never hold for the role lets it write nothing.
        const gate = effective.onlyForRoles(helperRoleGate(ctx));
        const roles = apiRolesOf(ctx, p).filter((role) =>
          (gate === null || gate.has(role)) &&
          cmds.some(
            (c) =>
              hasPrivilege(ctx, rel, role, c) &&
              // A restrictive policy on the same command that binds the caller closes the gap.
              !policiesFor(ctx.model, rel, role, c, false).some((r) => {
                const ra = ctx.analysis(r);
                return ((r.check !== null ? ra.check : ra.using)?.bindsCaller ?? false);
              }),
          ),
        );
        if (roles.length === 0) continue;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} lets ${listWords(roles)} write rows of ${rel.qualified} for any ${listWords(owners)}: its ${p.check !== null ? 'WITH CHECK' : 'USING (used as WITH CHECK)'} never compares them with the caller`,
          fix: `with check ((select auth.uid()) = ${owners[0]})`,
        });
      }
    }
    return out;
  },
};
