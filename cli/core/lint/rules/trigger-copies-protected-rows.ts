/**
 * A row trigger runs whatever the policies say about the row it fires for: one that copies that
 * row into a table every user reads (an activity feed, an audit log) hands other users the rows
 * the table's own policies keep to their owner.
 */
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import type { Relation } from '../../catalog/model.js';
import { privilegeClosure } from '../../catalog/model.js';
import { bypassesRls, hasPrivilege, isServed, isTable, isUserRelation, listWords, plpgsqlTriggerFunction, policiesFor, relationsByName, sqlName, uniqueKeys } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'trigger-copies-protected-rows',
  level: 'error',
  category: 'security',
  description: 'row trigger copying the rows of a table that keeps each row to its owner (the whole row, or columns other than its keys, owner and foreign keys) into a table an API role reads every row of',
  docs: "A row trigger's function sees the whole row whatever the table's policies say, and a SECURITY DEFINER one writes where the caller may not. When it INSERTs the row — `to_jsonb(new)`, `row_to_json(old)`, `new.*`, or columns such as `new.body` — into a table the same API role reads without a policy tying rows to the caller (RLS off, or a permissive SELECT policy such as `using (true)` with no restrictive one tying them), every user reads there the rows the source table keeps to their owner (the role reads it, and its SELECT policies tie each row to the caller; a table the role may not read at all, such as auth.users under a sign-up trigger filling a public profile, is left alone). Read: enabled ROW triggers for INSERT, UPDATE or DELETE whose PL/pgSQL function INSERTs values of NEW or OLD, in its own statements (not through a variable, not EXECUTE'd text); a copy of only the source's unique key, owner and foreign key columns (`new.id`, `new.user_id`, `new.thread_id`: who did what where, as a trigger adding the author to a thread's members does) is left alone.",
  fix: "copy only what every reader may see (ids, a kind, a time), or give the target table policies that tie its rows to their owner (`using ((select auth.uid()) = user_id)` on a copied owner column)",
  check(ctx) {
    const out: RawFinding[] = [];
    const byName = relationsByName(ctx.model);
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls || !isUserRelation(ctx, rel)) continue;
      for (const t of rel.triggers) {
        if (!t.enabled || t.level !== 'ROW') continue;
        const fn = plpgsqlTriggerFunction(ctx.model, t);
        if (!fn) continue;
        for (const copy of ctx.functionAnalysis(fn).rowCopies) {
          const target = byName.get(copy.table);
          if (!target || target === rel || !isServed(ctx, target)) continue;
          // Who did what where: the row's keys, its owner, and its references to other rows (a thread, a project).
          const free = new Set([...uniqueKeys(rel).flat(), ...ownerColumns(ctx, rel), ...rel.foreignKeys.flatMap((fk) => fk.columns)]);
          const columns = copy.columns?.filter((c) => !free.has(c)) ?? null;
          if (columns !== null && columns.length === 0) continue;
          const roles = ctx.apiRoles.filter((role) => keptFrom(ctx, rel, role) && readsEvery(ctx, target, role));
          if (roles.length === 0) continue;
          const what = columns === null ? 'each row' : `${listWords(columns)} of each row`;
          out.push({
            object: rel.qualified,
            objectKind: 'table',
            message: `trigger ${t.name} on ${rel.qualified} (${fn.schema}.${fn.name}()) copies ${what} into ${target.qualified}, which ${listWords(roles)} may read every row of: there ${listWords(roles)} ${roles.length === 1 ? 'reads' : 'read'} other users' ${rel.qualified} rows, which its own policies keep to their owner`,
            fix: `copy only what every reader may see into ${target.qualified}, or tie its rows to their owner: create policy … on ${sqlName(target)} for select using ((select auth.uid()) = <the copied owner column>)`,
          });
        }
      }
    }
    return out;
  },
};

/** Whether RLS applies to `role` on `rel`: RLS on, and the role neither bypasses it nor acts as the owner. */
function rlsApplies(ctx: CatalogLintContext, rel: Relation, role: string): boolean {
  return rel.rls && !bypassesRls(ctx.model, role) && (rel.forceRls || !privilegeClosure(ctx.model, role).has(rel.owner));
}

/**
 * Whether `role` reads `rel` but only rows tied to it: SELECT policies that tie each row to the caller.
 * A table the role may not read at all is left out: auth.users, whose sign-up trigger fills a public
 * profile with what the user chose (`new.raw_user_meta_data ->> 'full_name'`), is the usual one.
 */
function keptFrom(ctx: CatalogLintContext, rel: Relation, role: string): boolean {
  if (!hasPrivilege(ctx, rel, role, 'SELECT')) return false;
  if (!rlsApplies(ctx, rel, role)) return false;
  if (policiesFor(ctx.model, rel, role, 'SELECT', false).some((q) => ctx.analysis(q).using?.ownRowsOnly)) return true;
  return policiesFor(ctx.model, rel, role, 'SELECT', true).every((q) => {
    const u = ctx.analysis(q).using;
    return u !== null && (u.ownRowsOnly || u.neverTrue);
  });
}

/** Whether `role` may read rows of `rel` no policy ties to it: RLS does not apply, or a permissive SELECT policy that ties nothing. */
function readsEvery(ctx: CatalogLintContext, rel: Relation, role: string): boolean {
  if (!hasPrivilege(ctx, rel, role, 'SELECT')) return false;
  if (!rlsApplies(ctx, rel, role)) return true;
  if (policiesFor(ctx.model, rel, role, 'SELECT', false).some((q) => ctx.analysis(q).using?.ownRowsOnly)) return false;
  return policiesFor(ctx.model, rel, role, 'SELECT', true).some((q) => {
    const u = ctx.analysis(q).using;
    return u === null || (!u.ownRowsOnly && !u.neverTrue);
  });
}

/** The columns of `rel` its SELECT policies tie to the caller (`user_id` in `user_id = auth.uid()`). */
function ownerColumns(ctx: CatalogLintContext, rel: Relation): string[] {
  return rel.policies.flatMap((p) => (p.command === 'SELECT' || p.command === 'ALL' ? (ctx.analysis(p).using?.callerColumns ?? []) : []));
}
