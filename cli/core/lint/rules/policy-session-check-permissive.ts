/**
 * A permissive policy that tests only how the caller signed in (MFA level,
 * auth methods, anonymous sign-in) is OR-ed with the policies that pick the
 * caller's rows: whoever passes the session test gets every row.
 */
import type { CatalogRule, RawFinding } from '../types.js';
import type { Policy } from '../../catalog/model.js';
import { quoteIdent } from '../../db.js';
import { createPolicySql, qualifiedName } from '../../policy/render.js';
import { apiRolesOf, commandsOf, hasPrivilege, isTable, listWords, policiesFor, policyObject, verbOf, type Command } from '../facts.js';
import { ownerColumns } from './policy-check-unbound.js';

/** What passing the test means, by claim, in a DBA's words. */
const WHO: Record<string, string> = {
  aal: 'with MFA (aal2)',
  amr: 'who signed in with the tested method',
  is_anonymous: 'who is not an anonymous sign-in',
};

/** The claims `p` tests when its expression for `cmd` is a session test alone (see ExprAnalysis.sessionClaims). */
export function sessionClaimsFor(a: { using: { sessionClaims: string[] | null } | null; check: { sessionClaims: string[] | null } | null }, p: Policy, cmd: Command): string[] | null {
  const e = cmd === 'INSERT' ? (p.check !== null ? a.check : a.using) : a.using;
  return e?.sessionClaims ?? null;
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-session-check-permissive',
  level: 'error',
  category: 'security',
  description: "permissive policy that only tests the caller's session (auth.jwt() ->> 'aal', amr, is_anonymous) on a table whose rows belong to users",
  docs: "Permissive policies are OR-ed. A policy whose whole test is the MFA level (`(select auth.jwt() ->> 'aal') = 'aal2'`), the sign-in methods (`amr`) or `is_anonymous` is meant to narrow the others, but as permissive it admits every row to any user who passes it — and any user can enrol MFA. Supabase documents these as AS RESTRICTIVE. Judged on tables with an owner or tenant column, or where another permissive policy for the same command ties rows to the caller; a restrictive policy that ties rows to the caller closes the gap.",
  fix: 'drop the policy and create it again AS RESTRICTIVE',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      for (const p of rel.policies) {
        if (!p.permissive) continue;
        const a = ctx.analysis(p);
        if (!a.using?.sessionClaims && !a.check?.sessionClaims) continue;
        const owners = ownerColumns(rel);
        const claims = [...new Set([...(a.using?.sessionClaims ?? []), ...(a.check?.sessionClaims ?? [])])].sort();
        const who = claims.map((c) => WHO[c]).filter(Boolean).join(' and ');
        const hits: string[] = [];
        const others = new Set<string>();
        // An anonymous request's token has none of these claims (only role, iss, ref, iat, exp): it passes no such test.
        for (const role of apiRolesOf(ctx, p).filter((r) => r !== ctx.anonRole)) {
          const cmds = commandsOf(p).filter((cmd) => {
            const c = sessionClaimsFor(a, p, cmd);
            if (!c || !hasPrivilege(ctx, rel, role, cmd)) return false;
            const bindsCaller = (q: Policy) => {
              const qa = ctx.analysis(q);
              return ((cmd === 'INSERT' && q.check !== null ? qa.check : qa.using)?.bindsCaller ?? false);
            };
            // A restrictive policy that ties rows to the caller still applies (AND-ed).
            if (policiesFor(ctx.model, rel, role, cmd, false).some(bindsCaller)) return false;
            const siblings = policiesFor(ctx.model, rel, role, cmd, true).filter((q) => q !== p && bindsCaller(q));
            if (owners.length === 0 && siblings.length === 0) return false;
            siblings.forEach((q) => others.add(q.name));
            return true;
          });
          const rowCmds = cmds.filter((c) => c !== 'INSERT');
          const can = [...(rowCmds.length ? [`${listWords(rowCmds.map(verbOf))} every row`] : []), ...(cmds.includes('INSERT') ? ['insert rows for anyone'] : [])];
          if (cmds.length) hits.push(`any ${role} user ${who} can ${can.join(' and ')}`);
        }
        if (hits.length === 0) continue;
        const claimWords = listWords(claims.map((c) => `the ${c} claim`));
        const restrictive = createPolicySql({ ...p, permissive: false });
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${rel.qualified} only tests ${claimWords}, and it is permissive, so it is OR-ed with ${others.size ? `${listWords([...others].sort())}` : 'the policies that pick the caller\'s rows'} instead of narrowing ${others.size === 1 ? 'it' : 'them'}: ${hits.join('; ')}`,
          fix: `drop policy ${quoteIdent(p.name)} on ${qualifiedName(rel.schema, rel.name)}; ${restrictive}`,
        });
      }
    }
    return out;
  },
};
