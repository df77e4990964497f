/** anon writing where RLS does not stop it: tables with RLS off, and TRUNCATE (never subject to RLS). */
import type { CatalogRule, RawFinding } from '../types.js';
import { isTable, isUserRelation, listWords, privilegesOf, verbOf } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'anon-write-unprotected',
  level: 'error',
  category: 'security',
  description: 'anon holds INSERT/UPDATE/DELETE on a table with RLS off, or TRUNCATE on any table',
  docs: 'RLS filters INSERT/UPDATE/DELETE only when it is on, and never applies to TRUNCATE. Effective privileges count (grants to PUBLIC and through role membership). Supabase-style default privileges grant anon ALL, TRUNCATE included.',
  fix: 'revoke insert, update, delete, truncate on … from anon (and from public)',
  check(ctx) {
    const out: RawFinding[] = [];
    const anon = ctx.anonRole;
    if (!ctx.apiRoles.includes(anon)) return out;
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !isUserRelation(ctx, rel)) continue;
      const privs = privilegesOf(ctx, rel, anon);
      const unprotected = privs.filter((p) => p === 'TRUNCATE' || (!rel.rls && (p === 'INSERT' || p === 'UPDATE' || p === 'DELETE')));
      if (unprotected.length === 0) continue;
      out.push({
        object: rel.qualified,
        objectKind: 'table',
        message: `${anon} can ${listWords(unprotected.map(verbOf))} ${rel.qualified}${unprotected.includes('TRUNCATE') ? ' (TRUNCATE ignores RLS)' : ''}${!rel.rls && unprotected.some((p) => p !== 'TRUNCATE') ? ' (RLS is off)' : ''}`,
        fix: `revoke ${unprotected.map((p) => p.toLowerCase()).join(', ')} on ${rel.qualified} from ${anon}, public`,
      });
    }
    return out;
  },
};
