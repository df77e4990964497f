/**
 * A shared table (team members edit every team doc) whose rows also carry an
 * owner (`created_by`) that other policies grant by: `delete using
 * (created_by = auth.uid())`, or drafts readable through `exists (select 1
 * from docs d where d.id = drafts.doc_id and d.created_by = auth.uid())`. When
 * the team's UPDATE path leaves the owner column writable, a member sets it to
 * themselves and gets what only the owner gets.
 */
import type { Policy } from '../../catalog/model.js';
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import { apiRolesOf, admitsWrite, bypassesRls, callerHelpers, canWriteColumn, hasPrivilege, isTable, listWords, policiesFor, policyObject, triggerGuards } from '../facts.js';

type Branches = Array<{ owners: string[]; shared: string[] }>;

const branchesOf = (ctx: CatalogLintContext, p: Policy, side: 'using' | 'check'): Branches => ctx.analysis(p)[side]?.ownerBranches ?? [];

/** A branch that admits a caller to rows through what they share with them (a team), whoever owns the row by `column`. */
const sharedPath = (bs: Branches, column: string) => bs.some((b) => b.shared.length > 0 && !b.owners.includes(column));

/**
 * A branch through which a caller updates rows someone else owns: it ties the row to them through what they share
 * and through no owner column at all. One that also asks for an owner column (`client_id = auth.uid() and created_at >
 * now() - …`) reaches only rows the caller owns by it — adding the AND narrows `client_id = auth.uid()` alone, which
 * has no shared path — whatever else it compares a column with (a helper's result counts as tied to the caller).
 */
const memberPath = (bs: Branches) => bs.some((b) => b.shared.length > 0 && b.owners.length === 0);

/** A branch that admits the row's owner by `column` alone. */
const ownerPath = (bs: Branches, column: string) => bs.some((b) => b.owners.includes(column) && b.shared.length === 0);

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'owner-column-rewritable',
  level: 'warn',
  category: 'security',
  description: "an UPDATE policy lets members of a team rewrite the owner column (created_by) of rows they do not own, which other policies grant by",
  docs: "A table shared by a team or organisation (an UPDATE policy such as `using (team_id in (select my_teams()))`) often keeps who created each row, and other policies give the creator more: `delete using (created_by = auth.uid())` on the table, or a second table read through `exists (select 1 from docs d where d.id = drafts.doc_id and d.created_by = auth.uid())`. When the team's UPDATE path reaches rows whose owner is someone else and the role may update the owner column, a member sets it to their own id and gets what only the owner gets: deleting the row, reading its drafts. A WITH CHECK does not help (`created_by = auth.uid()` is exactly what the member writes). Reported for each UPDATE (or ALL) policy with an OR branch that ties the row to the caller through other columns and through no owner column (one that also asks `client_id = auth.uid()` reaches only rows the caller owns by it), when the role can update that column (table or column grant), no BEFORE UPDATE row trigger may guard it (one limited to UPDATE OF it, or a PL/pgSQL function that assigns new.<column> or raises an error while reading it), no restrictive UPDATE policy ties it to the caller, and some policy the role passes grants by it: one on another table comparing it with the caller's id or email, or a SELECT or DELETE policy of the table whose branch asks only for ownership while no policy of that command lets the team through.",
  fix: "leave the owner column out of the team's UPDATE grant (grant update (title, body) on …), or keep it with a trigger: `new.created_by := old.created_by` in a BEFORE UPDATE function",
  check(ctx) {
    const out: RawFinding[] = [];
    // Policies on other tables that compare a column of a table with the caller's id or email (a look-up of it), by `table.column`.
    const lookups = new Map<string, Policy[]>();
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        const a = ctx.analysis(p);
        for (const e of [a.using, a.check]) {
          for (const c of e?.claimColumns ?? []) {
            if (c.table === null || c.table === rel.qualified || (c.claim !== 'sub' && c.claim !== 'email')) continue;
            const key = `${c.table}.${c.column}`;
            if (!lookups.get(key)?.includes(p)) lookups.set(key, [...(lookups.get(key) ?? []), p]);
          }
        }
      }
    }
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls || rel.policies.length === 0) continue;
      // Owner columns: those a branch of the table's own policies, or a look-up elsewhere, ties to the caller's id or email.
      const owners = new Set<string>();
      for (const p of rel.policies) for (const side of ['using', 'check'] as const) for (const b of branchesOf(ctx, p, side)) b.owners.forEach((o) => owners.add(o));
      for (const key of lookups.keys()) if (key.startsWith(`${rel.qualified}.`)) owners.add(key.slice(rel.qualified.length + 1));
      if (owners.size === 0) continue;
      // By UPDATE policy: the roles and what each owner column they may take over gives them.
      const found = new Map<Policy, { roles: string[]; takes: Map<string, Set<string>> }>();
      for (const role of ctx.apiRoles) {
        if (bypassesRls(ctx.model, role) || !hasPrivilege(ctx, rel, role, 'UPDATE')) continue;
        const updaters = policiesFor(ctx.model, rel, role, 'UPDATE', true).filter((q) => admitsWrite(ctx, q, 'UPDATE'));
        const restrictive = policiesFor(ctx.model, rel, role, 'UPDATE', false);
        for (const column of owners) {
          if (!canWriteColumn(ctx, rel, role, 'UPDATE', column) || triggerGuards(ctx, rel, column, 'UPDATE')) continue;
          if (restrictive.some((r) => branchesOf(ctx, r, 'using').every((b) => b.owners.includes(column)))) continue;
          // anon passes no team test that asks for the user (`user_id = auth.uid()` in the membership look-up).
          const path = updaters.find((q) => memberPath(branchesOf(ctx, q, 'using')) && !(role === ctx.anonRole && ctx.analysis(q).using!.needsUser(callerHelpers(ctx))));
          if (!path) continue;
          const grants: string[] = [];
          for (const command of ['SELECT', 'DELETE'] as const) {
            const permissive = policiesFor(ctx.model, rel, role, command, true);
            if (permissive.some((p) => sharedPath(branchesOf(ctx, p, 'using'), column))) continue;
            for (const p of permissive) if (ownerPath(branchesOf(ctx, p, 'using'), column)) grants.push(`${command} policy ${p.name}`);
          }
          for (const p of lookups.get(`${rel.qualified}.${column}`) ?? []) if (apiRolesOf(ctx, p).includes(role)) grants.push(`policy ${p.name} on ${p.table}`);
          if (grants.length === 0) continue;
          const f = found.get(path) ?? { roles: [] as string[], takes: new Map<string, Set<string>>() };
          found.set(path, f);
          if (!f.roles.includes(role)) f.roles.push(role);
          const t = f.takes.get(column) ?? new Set<string>();
          f.takes.set(column, t);
          grants.forEach((g) => t.add(g));
        }
      }
      for (const [path, f] of found) {
        const shared = [...new Set(branchesOf(ctx, path, 'using').flatMap((b) => (b.owners.length === 0 ? b.shared : [])))];
        // Three grants name the hole well enough; the rest are counted.
        const named = (grants: string[]) => (grants.length <= 3 ? listWords(grants) : `${grants.slice(0, 3).join(', ')} and ${grants.length - 3} more`);
        const takes = [...f.takes].map(([column, grants]) => `${column} (which ${named([...grants])} ${grants.size === 1 ? 'grants' : 'grant'} by)`);
        out.push({
          object: policyObject(path),
          objectKind: 'policy',
          message: `policy ${path.name} lets ${listWords(f.roles)} update rows of ${rel.qualified} they reach through ${listWords(shared)} without owning them, and set ${listWords(takes)} to themselves: a member makes themselves the owner`,
        });
      }
    }
    return out;
  },
};
