/** A function the API serves that sets the role or the request's claims from an argument: the caller names who they are. */
import type { CatalogRule, RawFinding } from '../types.js';
import { callerChosenSql } from '../dynamic-sql.js';
import { listWords, reachesSchema } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'rpc-sets-identity',
  level: 'error',
  category: 'security',
  description: "LANGUAGE sql or plpgsql function an API role can call over RPC that sets `role` or `request.jwt.claims` (or a `request.jwt.claim.*` setting) from an argument: an act-as helper that lets the caller choose who they are",
  docs: "Policies read the caller from request.jwt.claims (auth.uid(), auth.jwt()) and Postgres checks privileges as the current role; PostgREST sets both, transaction-locally, from the verified token. A function served at /rpc/<name> that calls set_config('request.jwt.claims', json_build_object('sub', p_user, …)::text, true) and then reads a table reads it as the user the caller named; set_config('role', p_role, true) switches to any role the session user, PostgREST's authenticator, is a member of (service_role on Supabase, which skips RLS) — in a SECURITY INVOKER function (Postgres refuses to set the role within a SECURITY DEFINER one, so that is not reported there; a definer function setting the claims is). Both proven on Postgres as PostgREST requests. A value that does not come from an argument (a constant, auth.uid()) is not reported.",
  fix: 'drop the function from the API (move it to an unexposed schema and call it from trusted code), or take the identity from the request (auth.uid()) instead of an argument',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const f of ctx.model.functions) {
      if ((f.language !== 'plpgsql' && f.language !== 'sql') || f.isTrigger || f.fromExtension || f.kind !== 'function' || !ctx.exposed.has(f.schema)) continue;
      const callers = f.executableBy.filter((r) => ctx.apiRoles.includes(r) && reachesSchema(ctx, f.schema, r));
      if (callers.length === 0 || !ctx.parseSync) continue;
      // Postgres refuses to set the role (or session authorization) within a SECURITY DEFINER function.
      const found = callerChosenSql(f, ctx.parseSync, ctx.parsePlpgsqlSync).identity.filter((i) => !f.securityDefiner || (i.setting !== 'role' && i.setting !== 'session_authorization'));
      if (found.length === 0) continue;
      const settings = [...new Set(found.map((i) => i.setting))];
      const args = [...new Set(found.flatMap((i) => i.arguments))];
      const what = settings.some((s) => s === 'role' || s === 'session_authorization')
        ? 'switches to a role the caller names (any role the authenticator is a member of, service_role included)'
        : 'reads and writes as the user the caller names';
      out.push({
        object: f.signature,
        objectKind: 'function',
        message: `${listWords(callers)} can call ${f.signature} over RPC, which sets ${listWords(settings)} from ${listWords(args)}: it ${what}`,
      });
    }
    return out;
  },
};
