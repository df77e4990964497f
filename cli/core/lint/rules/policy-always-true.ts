/** A permissive policy that is always true for an API role opens every row to it. */
import type { CatalogRule, RawFinding } from '../types.js';
import type { Policy, Relation } from '../../catalog/model.js';
import { apiRolesOf, canReadColumn, commandsOf, hasPrivilege, isTable, listWords, policiesFor, policyObject, verbOf, type Command, sqlColumns } from '../facts.js';
import { isSensitiveColumn } from '../sensitive.js';
import { ownerColumnsOf } from './policy-check-unbound.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-always-true',
  level: 'error',
  category: 'security',
  description: 'permissive policy always true for an API role on UPDATE/DELETE/ALL, or on SELECT of a table with sensitive columns, with an owner test it overrides, or for anon where signed-in users read only their own rows',
  docs: "USING (true), (1 = 1), a role-only check such as auth.role() = 'authenticated' or auth.jwt() IS NOT NULL (PostgREST sets the claims on every request, NOT (auth.uid() IS NULL) read as auth.uid() IS NOT NULL), or `user_id IS NOT NULL` on a NOT NULL column lets that role change or delete every row. For SELECT it is only reported when the table has sensitive columns (email, phone, token, password, …; a boolean such as email_verified holds no address and is not one) that the role can read (column privileges that leave them out keep them from it), when an owner test says reads were meant to be per owner — another permissive SELECT policy for the same role that ties rows to their owner, or an OR branch of the policy itself (`user_id = auth.uid() or true`): OR-ed with an always-true test it decides nothing — or when it is anon's while the authenticated role reads only the rows tied to it (anon would see more than any user): a plain public-read table is a legitimate design. A restrictive policy that narrows the same command suppresses the finding; one that only tests the session (aal = 'aal2', amr, is_anonymous) picks callers, not rows, and does not.",
  fix: 'compare a column of the row with the caller, e.g. using ((select auth.uid()) = user_id)',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      // Read only for a policy that is always true for someone (rare): the regexes cost on every column.
      let sensitiveColumns: string[] | undefined;
      const sensitiveOf = () => (sensitiveColumns ??= rel.columns.filter(isSensitiveColumn).map((c) => c.name));
      // `user_id IS NOT NULL` on a NOT NULL column is true for every row.
      const notNull = new Set(rel.columns.filter((c) => c.notNull).map((c) => c.name));
      for (const p of rel.policies) {
        if (!p.permissive) continue;
        const using = ctx.analysis(p).using;
        // alwaysTrueFor is worked out once per expression text: the usual policy is
        // true for no API role, and then which roles it applies to does not matter.
        if (!using || !ctx.apiRoles.some((role) => using.alwaysTrueFor(role, notNull))) continue;
        const hits: string[] = [];
        const shadowed = new Set<string>();
        let anonOverSignedIn = false;
        // Only the sensitive columns a role can read count: column privileges that leave out
        // email and phone (GRANT SELECT (id, username) …) keep them from every request, whatever the policy.
        const readableSensitive = new Set<string>();
        for (const role of apiRolesOf(ctx, p)) {
          if (!using.alwaysTrueFor(role, notNull)) continue;
          const sensitive = sensitiveOf().filter((c) => canReadColumn(ctx, rel, role, c));
          // A permissive SELECT policy for the same role that ties rows to their owner says reads were
          // meant to be per owner; OR-ed with this one it never decides anything. So does an owner
          // test in an OR branch of this very policy (`user_id = auth.uid() or true`).
          const owned = policiesFor(ctx.model, rel, role, 'SELECT', true).filter((q) => q !== p && (ctx.analysis(q).using?.bindsCaller ?? false));
          const ownBranch = using.callerColumns.length > 0;
          // anon reading every row of a table whose signed-in users read only their own: anon
          // sees more than any user, never the design of a per-owner table.
          const signedInOwned = role === ctx.anonRole ? ownerOnlyReads(ctx, rel, notNull) : [];
          const cmds = commandsOf(p).filter(
            (c) =>
              c !== 'INSERT' &&
              (c !== 'SELECT' || sensitive.length > 0 || owned.length > 0 || ownBranch || signedInOwned.length > 0) &&
              hasPrivilege(ctx, rel, role, c) &&
              !narrowed(ctx, rel, p, role, c, notNull),
          );
          if (cmds.includes('SELECT') && sensitive.length === 0) owned.forEach((q) => shadowed.add(q.name));
          if (cmds.includes('SELECT') && sensitive.length === 0 && owned.length === 0 && !ownBranch && signedInOwned.length > 0) anonOverSignedIn = true;
          if (cmds.length) hits.push(`${role} can ${listWords(cmds.map(verbOf))} every row`);
          if (cmds.includes('SELECT')) sensitive.forEach((c) => readableSensitive.add(c));
        }
        if (hits.length === 0) continue;
        const sensitive = sensitiveOf().filter((c) => readableSensitive.has(c));
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} is always true on ${rel.qualified}: ${hits.join('; ')}${sensitive.length && p.command !== 'UPDATE' && p.command !== 'DELETE' ? ` (sensitive columns: ${sensitive.join(', ')})` : ''}${shadowed.size ? `, which makes the owner test of ${listWords([...shadowed].sort())} pointless` : ''}${anonOverSignedIn ? `, while ${ctx.authenticatedRole} reads only the rows tied to it` : ''}`,
          fix: `compare the row's owner with the caller, e.g. using ((select auth.uid()) = ${sqlColumns([ownerColumnsOf(ctx, rel)[0] ?? 'user_id'])})${sensitive.length ? `, or move ${listWords(sensitive)} to a table only its owner can read` : ''}`,
        });
      }
    }
    return out;
  },
};

/**
 * The SELECT policies that tie the authenticated role's reads to the rows of the
 * caller: a restrictive one that binds the caller, or permissive ones when one
 * binds and none is always true. Empty when its reads are not per owner.
 */
function ownerOnlyReads(ctx: Parameters<CatalogRule['check']>[0], rel: Relation, notNull: ReadonlySet<string>): readonly Policy[] {
  const role = ctx.authenticatedRole;
  if (!ctx.apiRoles.includes(role)) return [];
  const binds = (q: Policy) => ctx.analysis(q).using?.bindsCaller ?? false;
  const restrictive = policiesFor(ctx.model, rel, role, 'SELECT', false).filter(binds);
  if (restrictive.length) return restrictive;
  const permissive = policiesFor(ctx.model, rel, role, 'SELECT', true);
  return permissive.some((q) => ctx.analysis(q).using?.alwaysTrueFor(role, notNull) ?? false) ? [] : permissive.filter(binds);
}

/**
 * A restrictive policy for the same role and command that is not itself always
 * true narrows the permissive one — unless it only tests the session (`aal =
 * 'aal2'`): that picks callers, not rows, and whoever passes still gets every row.
 */
function narrowed(ctx: Parameters<CatalogRule['check']>[0], rel: Relation, p: Policy, role: string, cmd: Command, notNull: ReadonlySet<string>): boolean {
  return policiesFor(ctx.model, rel, role, cmd, false).some((r) => {
    const using = ctx.analysis(r).using;
    return r !== p && using !== null && !using.alwaysTrueFor(role, notNull) && using.sessionClaims === null;
  });
}
