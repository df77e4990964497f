/** Under PostgREST every request of a role runs as that role: current_user does not tell users apart. */
import type { CatalogRule, RawFinding } from '../types.js';
import { apiRolesOf, listWords, policyObject } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-current-user',
  level: 'error',
  category: 'security',
  description: 'policy for an API role compares a column with current_user / session_user, which are the same for every user of the API',
  docs: "PostgREST runs every signed-in request as the JWT's role (`authenticated`) on a connection that logged in as `authenticator`: current_user (current_role, user) is `authenticated` and session_user `authenticator` for all users alike, so `owner_name = current_user` matches every row written through the API (its default `current_user` is `authenticated` too). A schema that gives each user a database role of their own (the JWT's role claim naming it) is the exception: suppress the finding with that reason.",
  fix: 'store the user id and compare it with the caller: using (user_id = (select auth.uid()))',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        const a = ctx.analysis(p);
        const found = [...(a.using?.roleColumns ?? []), ...(a.check?.roleColumns ?? [])];
        if (found.length === 0) continue;
        const roles = apiRolesOf(ctx, p);
        if (roles.length === 0) continue;
        const first = found[0]!;
        const value = first.fn === 'session_user' ? 'authenticator' : roles[0]!;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} compares ${first.column} with ${first.fn}, which is "${value}" for every ${listWords(roles)} request through the API: it does not tell users apart`,
        });
      }
    }
    return out;
  },
};
