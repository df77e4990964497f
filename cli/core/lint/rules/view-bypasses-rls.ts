/** An exposed view that runs as its owner (or a materialized view) serves rows RLS would hide. */
import type { CatalogRule, RawFinding } from '../types.js';
import { hasPrivilege, hasTablePrivilege, isExposed, isTable, isUserRelation, listWords, policiesFor, verbOf } from '../facts.js';
import { policyAppliesTo, type Relation } from '../../catalog/model.js';
import { baseRelations, isInvokerView, ownerRunViewsUnder, ownerSkipsRls } from '../views.js';

const WRITES = ['INSERT', 'UPDATE', 'DELETE'] as const;
type Ctx = Parameters<CatalogRule['check']>[0];

/** Whether Postgres takes `write` through the view at all (an aggregate view takes none; a grant on it is moot). */
const takesWrite = (view: Relation, write: (typeof WRITES)[number]) => view.viewWrites?.includes(write) ?? true;

/** Why a view running as its owner (or a materialized view) shows `readers` rows they could not read themselves. */
function ownerReasons(ctx: Ctx, view: Relation, readers: readonly string[]): string[] {
  const reasons: string[] = [];
  for (const t of baseRelations(ctx.model, view)) {
    if (!isTable(t) && t.kind !== 'materialized' && t.kind !== 'foreign') continue;
    if (isTable(t) && t.rls && ownerSkipsRls(ctx.model, view.owner, t)) reasons.push(`skips the RLS policies of ${t.qualified}`);
    else {
      // Only a grant on the whole table means the view shows nothing the reader could not read itself.
      const blind = readers.filter((r) => !hasTablePrivilege(ctx, t, r, 'SELECT'));
      if (blind.length) reasons.push(`shows ${t.qualified}, which ${listWords(blind)} cannot read`);
      // An owner under the table's RLS reads it through the policies for the owner's roles, not the
      // reader's: a permissive SELECT policy the owner gets and a reader does not (`to reporting
      // using (true)`) shows that reader rows its own policies hide.
      if (isTable(t) && t.rls) {
        const extra = policiesFor(ctx.model, t, view.owner, 'SELECT', true).filter((p) => readers.some((r) => !policyAppliesTo(ctx.model, p, r)));
        const without = readers.filter((r) => extra.some((p) => !policyAppliesTo(ctx.model, p, r)));
        if (extra.length) reasons.push(`reads ${t.qualified} through ${view.owner}'s polic${extra.length === 1 ? 'y' : 'ies'} ${listWords(extra.map((p) => p.name))}, which ${listWords(without)} ${without.length === 1 ? 'does' : 'do'} not get`);
        // …and without a reader's restrictive SELECT policy that is not the owner's (`as restrictive to authenticated`).
        const escaped = readers.flatMap((r) => policiesFor(ctx.model, t, r, 'SELECT', false)).filter((p, i, all) => all.indexOf(p) === i && !policyAppliesTo(ctx.model, p, view.owner));
        if (escaped.length) reasons.push(`reads ${t.qualified} as ${view.owner}, whom restrictive polic${escaped.length === 1 ? 'y' : 'ies'} ${listWords(escaped.map((p) => p.name))} ${escaped.length === 1 ? 'does' : 'do'} not narrow`);
      }
    }
  }
  return reasons;
}

/**
 * A security_invoker view runs as the caller, but a view it reads that is not
 * invoker runs as that view's owner, and a materialized view has no RLS: kept in
 * an unexposed schema (and so not reported itself), such a view is served
 * through the exposed one to every caller with a grant on both.
 */
function invokerViewFinding(ctx: Ctx, view: Relation, users: readonly string[], verbs: string): RawFinding | null {
  for (const inner of ownerRunViewsUnder(ctx.model, view)) {
    if (isExposed(ctx, inner)) continue; // reported on its own
    // The caller's own privileges on the inner view are checked.
    const through = users.filter((r) => hasPrivilege(ctx, inner, r, 'SELECT') || (inner.kind === 'view' && WRITES.some((w) => takesWrite(inner, w) && hasPrivilege(ctx, inner, r, w))));
    if (through.length === 0) continue;
    const reasons = inner.kind === 'materialized' ? ['stores rows with no RLS'] : ownerReasons(ctx, inner, through.filter((r) => hasPrivilege(ctx, inner, r, 'SELECT')));
    if (reasons.length === 0) continue;
    const kind = inner.kind === 'materialized' ? 'materialized view' : 'view';
    return {
      object: view.qualified,
      objectKind: 'view',
      message: `${listWords(through)} can ${verbs} view ${view.qualified}, which runs as the caller but reads ${kind} ${inner.qualified}${inner.kind === 'materialized' ? '' : `, which runs as ${inner.owner}`} and ${listWords(reasons)}`,
      fix:
        inner.kind === 'materialized'
          ? `revoke select on ${inner.qualified} from ${listWords(through)}, or read the tables behind it instead`
          : `alter view ${inner.qualified} set (security_invoker = true)`,
    };
  }
  return null;
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'view-bypasses-rls',
  level: 'error',
  category: 'security',
  description: 'exposed view (not security_invoker, or reading one that is not) or materialized view readable (a view also writable) by an API role, over RLS tables or tables the role cannot read',
  docs: 'A view runs with its owner\'s rights unless created with security_invoker = true (PG15+); the owner usually owns the tables too, so their policies are skipped. Writes through a simple (auto-updatable) view skip them too: a role granted only UPDATE or DELETE on it changes every row with one unfiltered request. Only the writes Postgres takes through the view are named (pg_relation_is_updatable): none through an aggregate or a DISTINCT, those its INSTEAD OF triggers or rules take. A security_invoker view runs as the caller, but a view it reads that is not invoker (or a materialized view), kept in an unexposed schema, is served through it all the same. A materialized view stores the owner\'s view of the data and has no RLS at all. An owner under the table\'s RLS (not its owner, no BYPASSRLS) reads it through the policies for its own roles: a permissive SELECT policy it gets and the reader does not (to reporting using (true)), or a restrictive one the reader gets and it does not, is reported too.',
  fix: 'alter view … set (security_invoker = true); for a materialized view, revoke select from the API roles or move it to an unexposed schema',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const view of ctx.model.relations) {
      if (view.kind !== 'view' && view.kind !== 'materialized') continue;
      if (!isExposed(ctx, view) || !isUserRelation(ctx, view)) continue;
      const readers = ctx.apiRoles.filter((r) => hasPrivilege(ctx, view, r, 'SELECT'));
      // Writes through the view run as its owner as well (a materialized view takes none).
      const writes = view.kind === 'view' ? WRITES.filter((w) => takesWrite(view, w) && ctx.apiRoles.some((r) => hasPrivilege(ctx, view, r, w))) : [];
      const users = ctx.apiRoles.filter((r) => readers.includes(r) || writes.some((w) => hasPrivilege(ctx, view, r, w)));
      if (users.length === 0) continue;
      const verbs = listWords([...(readers.length ? ['SELECT'] : []), ...writes].map(verbOf));
      if (isInvokerView(view)) {
        const inner = invokerViewFinding(ctx, view, users, verbs);
        if (inner) out.push(inner);
        continue;
      }
      const reasons = ownerReasons(ctx, view, readers);
      if (reasons.length === 0) continue;
      const kind = view.kind === 'materialized' ? 'materialized view' : 'view';
      out.push({
        object: view.qualified,
        objectKind: 'view',
        message: `${listWords(users)} can ${verbs} ${kind} ${view.qualified}, which runs as ${view.owner} and ${listWords(reasons)}`,
        fix:
          view.kind === 'materialized'
            ? `revoke select on ${view.qualified} from ${listWords(readers)}, or move it out of the exposed schemas`
            : `alter view ${view.qualified} set (security_invoker = true)`,
      });
    }
    return out;
  },
};
