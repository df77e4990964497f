/** A permissive policy with no TO applies to every role, anon included. */
import type { CatalogRule, RawFinding } from '../types.js';
import { PUBLIC } from '../../catalog/model.js';
import { callerHelpers, helperRoleGate, isServed, policyObject } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-to-public',
  level: 'warn',
  category: 'security',
  description: 'permissive policy with no TO (applies to PUBLIC) on a table in an exposed schema or served by Supabase Storage (storage.objects, storage.buckets)',
  docs: "Without TO a policy applies to PUBLIC: anon and every future role get it too, and its expression is evaluated for all of them. Restrictive policies to PUBLIC only narrow access and are not reported. A policy with neither USING nor WITH CHECK lets no row through for any role and is not reported. The message says whether a request without a user can pass the policy; when every OR branch compares something with the caller's id or email, bare or through a strict built-in (`user_id = auth.uid()`, `lower(email) = lower(auth.jwt() ->> 'email')`, `exists (select … where m.user_id = auth.uid())`, `org_id in (select my_orgs())` or `(select is_member(org_id))` with a LANGUAGE sql or plpgsql helper that reads the caller's rows, or one handed the caller's id such as `authorize('channels.delete', auth.uid())`; a PL/pgSQL one when its body is one RETURN, or sets variables once each (SELECT … INTO, :=) and returns an expression of them, or when it looks the caller's row up by their id and every way through needs that row, as `select exists (select 1 from user_roles where user_id = uid and role = 'admin') into r; return r;` called with auth.uid(); a CASE every branch of which that a request without a user can reach is NULL or false; a constant the caller's value falls back to that the test refuses, as `coalesce(role_in(org_id, auth.uid()), '') in ('admin', 'owner')`; a scalar sub-select of any of these) it cannot (nor when it tests for another role, such as auth.role() = 'service_role'), and the finding is about evaluating it for every anon request and for roles added later. An UPDATE policy is passed only by a row that passes its USING and then its WITH CHECK, so one whose USING needs a user cannot be passed whatever its WITH CHECK (`using (user_id = auth.uid()) with check (deleted_at is null)`). An aggregate over the caller's rows still gives a row without a user: `(select count(*) … where user_id = auth.uid()) < 5` is `0 < 5` and passes, `… > 0` does not.",
  fix: 'create policy … to authenticated (or the roles it is meant for)',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isServed(ctx, rel)) continue;
      for (const p of rel.policies) {
        if (!p.permissive || !p.roles.includes(PUBLIC)) continue;
        // Neither USING nor WITH CHECK: Postgres lets no row through it, for any role; it grants nothing.
        if (p.using === null && p.check === null) continue;
        const a = ctx.analysis(p);
        const judged = [a.using, a.check].filter((e) => e !== null);
        // An expression anon cannot pass: it needs a user, or tests for a role other than anon (is_service_role()).
        const shut = (e: (typeof judged)[number]): boolean => {
          const gate = e.onlyForRoles(helperRoleGate(ctx));
          return (gate !== null && !gate.has(ctx.anonRole)) || e.needsUser(callerHelpers(ctx));
        };
        // An UPDATE policy is passed by a row that passes its USING and becomes a row that passes its
        // WITH CHECK: anon passes it only when it can pass both. Any other command (ALL included:
        // its USING serves SELECT and DELETE, its WITH CHECK INSERT) is passed through either.
        const anonPasses = judged.length === 0 || (p.command === 'UPDATE' ? !judged.some(shut) : !judged.every(shut));
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} has no TO: it applies to every role, ${ctx.anonRole} included, ${
            anonPasses ? 'and a request without a user can pass it' : `and is evaluated for every ${ctx.anonRole} request although a request without a user cannot pass it`
          }`,
        });
      }
    }
    return out;
  },
};
