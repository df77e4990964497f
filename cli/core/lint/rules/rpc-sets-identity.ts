/** A function the API serves that sets the role or the request's claims from an argument, or for the session a setting a policy reads. */
import type { CatalogRule, RawFinding } from '../types.js';
import { constText } from '../dynamic-sql.js';
import { funcName, walk } from '../expr.js';
import { listWords, reachesSchema } from '../facts.js';

/** The settings each policy reads by name (current_setting('app.tenant_id', …)), in its own expressions or a LANGUAGE sql or plpgsql function it calls. */
function settingsReadByPolicies(ctx: Parameters<CatalogRule['check']>[0]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const parse = ctx.parseSync;
  if (!parse) return out;
  const namesIn = (sql: string, wrap: boolean): string[] => {
    const found: string[] = [];
    try {
      walk(parse(wrap ? `select ${sql}` : sql), (type, b) => {
        if (type !== 'FuncCall' || funcName(b).toLowerCase() !== 'current_setting') return;
        const name = constText(((b['args'] as unknown[] | undefined) ?? [])[0]);
        if (name) found.push(name.toLowerCase());
      });
    } catch {
      /* an expression the parser refuses is policy-unparsed's */
    }
    return found;
  };
  const byName = new Map<string, string[]>();
  for (const f of ctx.model.functions) {
    const body = ctx.readableBody(f);
    if (body) byName.set(`${f.schema}.${f.name}`, namesIn(body.sql, false));
  }
  for (const p of ctx.model.relations.flatMap((r) => r.policies)) {
    const names = new Set<string>();
    for (const e of [p.using, p.check]) {
      if (e === null) continue;
      for (const n of namesIn(e, true)) names.add(n);
      walk(parse(`select ${e}`), (type, b) => {
        if (type === 'FuncCall') for (const n of byName.get(funcName(b)) ?? []) names.add(n);
      });
    }
    for (const n of names) out.set(n, [...(out.get(n) ?? []), `${p.name} on ${p.table}`]);
  }
  return out;
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'rpc-sets-identity',
  level: 'error',
  category: 'security',
  description: "LANGUAGE sql or plpgsql function an API role can call over RPC that sets `role` or `request.jwt.claims` (or a `request.jwt.claim.*` setting) from an argument — an act-as helper that lets the caller choose who they are —, or sets for the session (set_config(…, false)) a setting a policy reads, which outlives the request",
  docs: "Policies read the caller from request.jwt.claims (auth.uid(), auth.jwt()) and Postgres checks privileges as the current role; PostgREST sets both, transaction-locally, from the verified token. A function served at /rpc/<name> that calls set_config('request.jwt.claims', json_build_object('sub', p_user, …)::text, true) and then reads a table reads it as the user the caller named; set_config('role', p_role, true) switches to any role the session user, PostgREST's authenticator, is a member of (service_role on Supabase, which skips RLS) — in a SECURITY INVOKER function (Postgres refuses to set the role within a SECURITY DEFINER one, so that is not reported there; a definer function setting the claims is). A value that does not come from an argument (a constant, auth.uid()) is not reported. A setting a policy reads (`tenant_id = current_setting('app.tenant_id')::uuid`, in the policy or a helper it calls) set with is_local false (a switch_tenant(t) RPC) stays on PostgREST's pooled connection after the request: the next request on that connection, another user's, is judged by it (each proven on Postgres as PostgREST requests).",
  fix: 'drop the function from the API (move it to an unexposed schema and call it from trusted code), or take the identity from the request (auth.uid()) instead of an argument; set a setting policies read with set_config(…, true), for the request only',
  check(ctx) {
    const out: RawFinding[] = [];
    let read: Map<string, string[]> | null = null;
    for (const f of ctx.model.functions) {
      if ((f.language !== 'plpgsql' && f.language !== 'sql') || f.isTrigger || f.fromExtension || f.kind !== 'function' || !ctx.exposed.has(f.schema)) continue;
      const callers = f.executableBy.filter((r) => ctx.apiRoles.includes(r) && reachesSchema(ctx, f.schema, r));
      if (callers.length === 0) continue;
      const chosen = ctx.callerChosenSql(f);
      // Postgres refuses to set the role (or session authorization) within a SECURITY DEFINER function.
      const found = chosen.identity.filter((i) => !f.securityDefiner || (i.setting !== 'role' && i.setting !== 'session_authorization'));
      if (found.length > 0) {
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
      if (chosen.session?.length) {
        read ??= settingsReadByPolicies(ctx);
        const leaked = [...new Set(chosen.session)].filter((s) => read!.has(s));
        if (leaked.length === 0) continue;
        const policies = [...new Set(leaked.flatMap((s) => read!.get(s)!))];
        out.push({
          object: f.signature,
          objectKind: 'function',
          message: `${listWords(callers)} can call ${f.signature} over RPC, which sets ${listWords(leaked)} for the session (set_config(…, false)), read by policy ${listWords(policies)}: the value stays on PostgREST's pooled connection, and the next request on it, another user's, is judged by it`,
          fix: `in ${f.signature}, set ${listWords(leaked)} with set_config(…, true), for the request only`,
        });
      }
    }
    return out;
  },
};
