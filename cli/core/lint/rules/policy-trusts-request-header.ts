/** A policy that lets rows through on a header, cookie or path the client sends trusts the client to say which rows are theirs. */
import type { CatalogRule, RawFinding } from '../types.js';
import { apiRolesOf, commandsOf, hasPrivilege, listWords, policyObject, verbOf } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-trusts-request-header',
  level: 'error',
  category: 'security',
  description: "policy (or one of its OR branches) that picks rows by a request header, cookie or path (current_setting('request.headers') …) with no test tying the row to the caller",
  docs: "PostgREST copies every request header (and the cookies and path) into request.headers / request.cookies / request.path: the client writes them. `org_id = (current_setting('request.headers', true)::json ->> 'x-org-id')::uuid` lets anyone send any org's id and get its rows. A header may narrow a test that ties the row to the caller (AND-ed with a membership sub-select); it cannot replace it. Only the JWT claims (request.jwt.claims) are signed.",
  fix: "tie the row to the caller, e.g. org_id in (select m.org_id from members m where m.user_id = (select auth.uid())), and keep the header only as an extra AND-ed filter",
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!rel.rls) continue;
      for (const p of rel.policies) {
        const a = ctx.analysis(p);
        const read = [...new Set([...(a.using?.clientValueBranches ?? []), ...(a.check?.clientValueBranches ?? [])])];
        if (read.length === 0) continue;
        const hits = apiRolesOf(ctx, p)
          .map((role) => ({ role, cmds: commandsOf(p).filter((c) => hasPrivilege(ctx, rel, role, c)) }))
          .filter((x) => x.cmds.length > 0);
        if (hits.length === 0) continue;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${rel.qualified} lets rows through on ${listWords(read)}, which the client sends with every request: ${hits.map((h) => `${h.role} can send any value and ${listWords(h.cmds.map((c) => (c === 'INSERT' ? 'insert' : verbOf(c))))} the rows it names`).join('; ')}`,
        });
      }
    }
    return out;
  },
};
