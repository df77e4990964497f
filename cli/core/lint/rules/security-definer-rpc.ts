/** A SECURITY DEFINER function the API serves as an RPC runs as its owner for anyone who can call it. */
import type { CatalogRule, RawFinding } from '../types.js';
import { listWords, reachesSchema } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'security-definer-rpc',
  level: 'warn',
  category: 'security',
  description: 'SECURITY DEFINER function in an exposed schema that an API role can call over RPC (trigger functions excluded)',
  docs: 'PostgREST serves every function of an exposed schema at /rpc/<name>; a SECURITY DEFINER one runs with its owner\'s rights and skips RLS. EXECUTE is granted to PUBLIC by default. Trigger functions cannot be called over RPC.',
  fix: 'move it to an unexposed schema (e.g. private) and call it from policies or other functions, or revoke execute from public, anon and authenticated',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const f of ctx.model.functions) {
      if (!f.securityDefiner || f.isTrigger || f.fromExtension || f.kind !== 'function' || !ctx.exposed.has(f.schema)) continue;
      const callers = f.executableBy.filter((r) => ctx.apiRoles.includes(r) && reachesSchema(ctx, f.schema, r));
      if (callers.length === 0) continue;
      out.push({
        object: f.signature,
        objectKind: 'function',
        message: `${listWords(callers)} can call ${f.signature} over RPC, and it runs as ${f.owner} (SECURITY DEFINER, RLS skipped for its owner)`,
        fix: `revoke execute on function ${f.signature} from public, ${callers.join(', ')}; or move it to an unexposed schema`,
      });
    }
    return out;
  },
};
