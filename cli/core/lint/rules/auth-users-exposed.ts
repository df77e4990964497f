/** An exposed view or materialized view over auth.users leaks users' emails and metadata. */
import type { CatalogRule, RawFinding } from '../types.js';
import { findRelation } from '../../catalog/model.js';
import { hasPrivilege, isExposed, listWords } from '../facts.js';
import { baseRelations, isInvokerView } from '../views.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'auth-users-exposed',
  level: 'error',
  category: 'security',
  description: 'view or materialized view in an exposed schema over auth.users, readable by an API role',
  docs: 'auth.users holds every user\'s email, phone and metadata and is never granted to API roles; a view that reads it as its owner (or stores it) hands it to them. A security_invoker view reads it as the caller: reported when the caller holds SELECT on auth.users and RLS is off there (with RLS on, auth.users\' own policies decide, as they would directly).',
  fix: 'select only the needed columns of the caller\'s own row through a SECURITY DEFINER function in an unexposed schema, or drop the view',
  check(ctx) {
    const out: RawFinding[] = [];
    const users = findRelation(ctx.model, 'auth.users');
    for (const view of ctx.model.relations) {
      if ((view.kind !== 'view' && view.kind !== 'materialized') || !isExposed(ctx, view)) continue;
      if (!baseRelations(ctx.model, view).some((r) => r.qualified === 'auth.users')) continue;
      const readers = ctx.apiRoles.filter((r) => hasPrivilege(ctx, view, r, 'SELECT'));
      // A security_invoker view reads auth.users with the caller's rights: its grant (a view needs no
      // USAGE on auth, so has_table_privilege alone) and, with RLS on there, its policies — which decide
      // what it reads through the view as they would directly. Only a grant with RLS off hands every row on.
      const leaking = isInvokerView(view) ? readers.filter((r) => users && !users.rls && (users.apiAccess[r] ?? []).includes('SELECT')) : readers;
      if (leaking.length === 0) continue;
      out.push({
        object: view.qualified,
        objectKind: 'view',
        message: `${listWords(leaking)} can read auth.users through ${view.kind === 'materialized' ? 'materialized view' : 'view'} ${view.qualified}`,
      });
    }
    return out;
  },
};
