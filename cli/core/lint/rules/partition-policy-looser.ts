/**
 * A partition queried by name is judged by its own RLS policies, never its parent's: one whose own
 * policies let rows through that the parent ties to their owner serves them to anyone granted it.
 */
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import type { Policy, Relation } from '../../catalog/model.js';
import { privilegeClosure } from '../../catalog/model.js';
import { bypassesRls, isExposed, isUserRelation, listWords, policiesFor, policyObject, privilegeFor, privilegesOf, relationsByName, sqlName, type Command } from '../facts.js';

const COMMANDS: readonly Command[] = ['SELECT', 'UPDATE', 'DELETE'];

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'partition-policy-looser',
  level: 'error',
  category: 'security',
  description: "partition (or INHERITS child) with RLS on that an API role can query by name, whose own permissive policy lets through rows its parent's policies tie to their owner",
  docs: "Postgres applies a partition's own RLS flag and policies when a request names the partition, and the partitioned table's when it names that table (rows read through the parent are judged by the parent's policies alone). PostgREST serves a partition in an exposed schema like any table, so a grant on it is a second way in. Reported for SELECT, UPDATE and DELETE when every permissive policy of the partitioned table for the role ties the row to the caller (or a restrictive one does), and a permissive policy of the partition for the same role and command does not, with no restrictive policy of the partition tying it: `events_2025` with `using (at < '2026-01-01')` hands every user everyone's 2025 events, which `public.events` keeps to their owner. A partition with RLS off is rls-disabled-in-api's. A table that INHERITs from another (`create table c () inherits (p)`) is judged the same way against each parent (pg_inherits): Postgres applies the parent's policies to the child's rows read through the parent, and the child's own when it is named.",
  fix: "revoke the grants on the partition (reach it through its partitioned table), or give it the partitioned table's policies",
  check(ctx) {
    const out: RawFinding[] = [];
    const byName = relationsByName(ctx.model);
    for (const rel of ctx.model.relations) {
      // A partition has one parent; a table that INHERITs may have several, each judged alone.
      const parents = rel.isPartition && rel.partitionOf ? [rel.partitionOf] : (rel.inheritsFrom ?? []);
      if (parents.length === 0 || !rel.rls || !isExposed(ctx, rel) || !isUserRelation(ctx, rel)) continue;
      for (const name of parents) {
        const parent = byName.get(name);
        if (parent?.rls) out.push(...looser(ctx, rel, parent));
      }
    }
    return out;
  },
};

/** The findings of `rel` (a partition or inheritance child with RLS on) against `parent`. */
function looser(ctx: CatalogLintContext, rel: Relation, parent: Relation): RawFinding[] {
  const out: RawFinding[] = [];
  const kin = rel.isPartition ? 'a partition' : 'a child (INHERITS)';
  const loose: Array<{ role: string; command: Command; policy: Policy }> = [];
  for (const role of ctx.apiRoles) {
    // A role that skips RLS (BYPASSRLS, or the owner without FORCE) skips the parent's too: other rules' matter.
    if (bypassesRls(ctx.model, role) || (!rel.forceRls && privilegeClosure(ctx.model, role).has(rel.owner))) continue;
    const privs = privilegesOf(ctx, rel, role);
    for (const command of COMMANDS) {
      if (!privs.includes(privilegeFor(command)) || !tiesRows(ctx, parent, role, command)) continue;
      if (policiesFor(ctx.model, rel, role, command, false).some((q) => ctx.analysis(q).using?.ownRowsOnly)) continue;
      const policy = policiesFor(ctx.model, rel, role, command, true).find((q) => {
        const u = ctx.analysis(q).using;
        return u !== null && !u.neverTrue && !u.ownRowsOnly;
      });
      if (policy) loose.push({ role, command, policy });
    }
  }
  const seen = new Set<Policy>();
  for (const { policy } of loose) {
    if (seen.has(policy)) continue;
    seen.add(policy);
    const mine = loose.filter((x) => x.policy === policy);
    const roles = [...new Set(mine.map((x) => x.role))];
    const commands = [...new Set(mine.map((x) => x.command))];
    out.push({
      object: policyObject(policy),
      objectKind: 'policy',
      message: `policy ${policy.name} on ${rel.qualified}, ${kin} of ${parent.qualified}, does not tie rows to the caller where ${parent.qualified}'s policies do: queried by name, ${rel.qualified} lets ${listWords(roles)} ${listWords(commands.map(verb))} rows of other users`,
      fix: `revoke all on ${sqlName(rel)} from ${listWords(roles)}, public (reach it through ${parent.qualified}); or give ${rel.qualified} the policies of ${parent.qualified}`,
    });
  }
  return out;
}

function verb(command: Command): string {
  return command === 'SELECT' ? 'read' : command === 'UPDATE' ? 'update' : 'delete';
}

/** Whether the policies of `rel` for `role` and `command` keep each caller to rows tied to them. */
function tiesRows(ctx: CatalogLintContext, rel: Relation, role: string, command: Command): boolean {
  if (policiesFor(ctx.model, rel, role, command, false).some((q) => ctx.analysis(q).using?.ownRowsOnly)) return true;
  const permissive = policiesFor(ctx.model, rel, role, command, true).filter((q) => ctx.analysis(q).using !== null);
  return permissive.length > 0 && permissive.every((q) => ctx.analysis(q).using!.ownRowsOnly || ctx.analysis(q).using!.neverTrue);
}
