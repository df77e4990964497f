/** A SECURITY DEFINER function the API serves as an RPC runs as its owner for anyone who can call it. */
import type { CatalogRule, RawFinding } from '../types.js';
import type { FunctionInfo } from '../../catalog/model.js';
import { callerQuestion, helperCalls, listWords, reachesSchema } from '../facts.js';

/** SETOF, TABLE (…) or the row type of a relation: rows, not a scalar answer about the caller. */
function returnsRows(ctx: Parameters<CatalogRule['check']>[0], fn: FunctionInfo): boolean {
  const r = fn.returns.trim().toLowerCase();
  return r.startsWith('setof ') || r.startsWith('table(') || r.startsWith('table (') || ctx.model.relations.some((rel) => rel.qualified.toLowerCase() === r || rel.name.toLowerCase() === r);
}


export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'security-definer-rpc',
  level: 'warn',
  category: 'security',
  description: 'SECURITY DEFINER function in an exposed schema that an API role can call over RPC (trigger functions excluded), or an exposed LANGUAGE sql or plpgsql function that calls one returning rows from an unexposed schema',
  docs: 'PostgREST serves every function of an exposed schema at /rpc/<name>; a SECURITY DEFINER one runs with its owner\'s rights and skips RLS. EXECUTE is granted to PUBLIC by default. Trigger functions cannot be called over RPC. Moving the definer function to an unexposed schema does not help when an exposed function hands its rows on: a LANGUAGE sql or plpgsql function served over RPC that calls a SECURITY DEFINER function returning rows (SETOF, TABLE or a row type) is reported too; one returning a scalar, such as a policy helper is_member(org_id) returning boolean, is not. The message says what a LANGUAGE sql or plpgsql body writes and whether it ever asks who calls it (itself, or through a LANGUAGE sql or plpgsql function it calls, such as a public.require_staff() that reads auth.uid() and raises for anyone else, named with its schema or without one when the function is in the first schema of its search_path (public when it sets none)): a definer function anon can call that writes and never looks at the caller (a create_user(email) inserting into auth.users) is the one to fix first, and so is one that falls back to an argument for the user when the request carries none (`coalesce(auth.uid(), p_user_id)`, meant for the service role): anon names any user and acts as them.',
  fix: 'move it to an unexposed schema (e.g. private) and call it from policies or other functions, or revoke execute from public, anon and authenticated',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const f of ctx.model.functions) {
      if (!f.securityDefiner || f.isTrigger || f.fromExtension || f.kind !== 'function' || !ctx.exposed.has(f.schema)) continue;
      const callers = f.executableBy.filter((r) => ctx.apiRoles.includes(r) && reachesSchema(ctx, f.schema, r));
      if (callers.length === 0) continue;
      // What its body does with those rights, when it can be read: the worst of these write as anyone, for anyone.
      const body = ctx.readableBody(f) ? ctx.functionAnalysis(f).writes : null;
      // `coalesce(auth.uid(), p_user_id)`: without a user (anon) the argument names who it acts as.
      const fallbacks = ctx.readableBody(f) && callers.includes(ctx.anonRole) ? ctx.functionAnalysis(f).claimFallbacks : [];
      const does = body
        ? [
            body.tables.length ? `it writes ${listWords(body.tables)}` : '',
            body.asksCaller || helperCalls(ctx, f).some((c) => callerQuestion(ctx, c) === 'asks') ? '' : 'its body never asks who calls it (no auth.uid(), auth.jwt(), claim or current_user)',
            fallbacks.length ? `it takes the user from ${listWords(fallbacks)} when the request carries none (coalesce(auth.uid(), ${fallbacks[0]})), so ${ctx.anonRole} acts as any user it names` : '',
          ]
            .filter(Boolean)
            .join(', and ')
        : '';
      out.push({
        object: f.signature,
        objectKind: 'function',
        message: `${listWords(callers)} can call ${f.signature} over RPC, and it runs as ${f.owner} (SECURITY DEFINER, RLS skipped for its owner)${does ? `; ${does}` : ''}`,
        fix: `revoke execute on function ${f.signature} from public, ${callers.join(', ')}; or move it to an unexposed schema`,
      });
    }
    // An exposed function that hands on the rows of a definer function kept out of the API.
    for (const f of ctx.model.functions) {
      if (f.securityDefiner || f.isTrigger || f.fromExtension || f.kind !== 'function' || !ctx.readableBody(f) || !ctx.exposed.has(f.schema)) continue;
      const callers = f.executableBy.filter((r) => ctx.apiRoles.includes(r) && reachesSchema(ctx, f.schema, r));
      if (callers.length === 0) continue;
      const inner = ctx
        .functionAnalysis(f)
        .calls.flatMap((name) => ctx.model.functions.filter((g) => `${g.schema}.${g.name}` === name))
        .find((g) => g.securityDefiner && !ctx.exposed.has(g.schema) && returnsRows(ctx, g) && callers.some((r) => g.executableBy.includes(r) && reachesSchema(ctx, g.schema, r)));
      if (!inner) continue;
      out.push({
        object: f.signature,
        objectKind: 'function',
        message: `${listWords(callers)} can call ${f.signature} over RPC, which returns rows of ${inner.signature}, a SECURITY DEFINER function that runs as ${inner.owner} (RLS skipped for its owner)`,
        fix: `make ${inner.signature} security invoker (or filter its rows by the caller), or revoke execute on function ${f.signature} from public, ${callers.join(', ')}`,
      });
    }
    return out;
  },
};
