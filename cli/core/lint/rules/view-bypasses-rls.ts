/** An exposed view that runs as its owner (or a materialized view) serves rows RLS would hide. */
import type { CatalogRule, RawFinding } from '../types.js';
import { hasPrivilege, isExposed, isTable, isUserRelation, listWords, verbOf } from '../facts.js';
import { baseRelations, isInvokerView, ownerSkipsRls } from '../views.js';

const WRITES = ['INSERT', 'UPDATE', 'DELETE'] as const;

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'view-bypasses-rls',
  level: 'error',
  category: 'security',
  description: 'exposed view (not security_invoker) or materialized view readable (a view also writable) by an API role, over RLS tables or tables the role cannot read',
  docs: 'A view runs with its owner\'s rights unless created with security_invoker = true (PG15+); the owner usually owns the tables too, so their policies are skipped. Writes through a simple (auto-updatable) view skip them too: a role granted only UPDATE or DELETE on it changes every row with one unfiltered request. A materialized view stores the owner\'s view of the data and has no RLS at all.',
  fix: 'alter view … set (security_invoker = true); for a materialized view, revoke select from the API roles or move it to an unexposed schema',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const view of ctx.model.relations) {
      if ((view.kind !== 'view' && view.kind !== 'materialized') || isInvokerView(view)) continue;
      if (!isExposed(ctx, view) || !isUserRelation(ctx, view)) continue;
      const readers = ctx.apiRoles.filter((r) => hasPrivilege(ctx, view, r, 'SELECT'));
      // Writes through the view run as its owner as well (a materialized view takes none).
      const writes = view.kind === 'view' ? WRITES.filter((w) => ctx.apiRoles.some((r) => hasPrivilege(ctx, view, r, w))) : [];
      const users = ctx.apiRoles.filter((r) => readers.includes(r) || writes.some((w) => hasPrivilege(ctx, view, r, w)));
      if (users.length === 0) continue;
      const reasons: string[] = [];
      for (const t of baseRelations(ctx.model, view)) {
        if (!isTable(t) && t.kind !== 'materialized' && t.kind !== 'foreign') continue;
        if (isTable(t) && t.rls && ownerSkipsRls(ctx.model, view.owner, t)) reasons.push(`skips the RLS policies of ${t.qualified}`);
        else {
          const blind = readers.filter((r) => !hasPrivilege(ctx, t, r, 'SELECT'));
          if (blind.length) reasons.push(`shows ${t.qualified}, which ${listWords(blind)} cannot read`);
        }
      }
      if (reasons.length === 0) continue;
      const kind = view.kind === 'materialized' ? 'materialized view' : 'view';
      out.push({
        object: view.qualified,
        objectKind: 'view',
        message: `${listWords(users)} can ${listWords([...(readers.length ? ['SELECT'] : []), ...writes].map(verbOf))} ${kind} ${view.qualified}, which runs as ${view.owner} and ${listWords(reasons)}`,
        fix:
          view.kind === 'materialized'
            ? `revoke select on ${view.qualified} from ${listWords(readers)}, or move it out of the exposed schemas`
            : `alter view ${view.qualified} set (security_invoker = true)`,
      });
    }
    return out;
  },
};
