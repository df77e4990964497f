/** A function the API serves that EXECUTEs a command string carrying a text argument unquoted: the caller writes the SQL. */
import type { CatalogRule, RawFinding } from '../types.js';
import { callerChosenSql } from '../dynamic-sql.js';
import { listWords, reachesSchema } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'rpc-sql-injection',
  level: 'error',
  category: 'security',
  description: "LANGUAGE plpgsql function an API role can call over RPC that EXECUTEs a command string built from a text argument without quoting it (`'… where title = ''' || p || ''''`, format's %s)",
  docs: "PostgREST serves every function of an exposed schema at /rpc/<name>, and EXECUTE (RETURN QUERY EXECUTE, FOR … IN EXECUTE, OPEN … FOR EXECUTE) runs whatever string it is given. A text argument pasted into that string by `||`, concat() or format's `%s` (directly or through a text variable set from it) brings its own quotes: `x' union all select … --` runs a query of the caller's choosing. In a SECURITY DEFINER function that query runs as the owner, RLS skipped. In a SECURITY INVOKER one it runs as the caller, who can call set_config('request.jwt.claims', '{\"sub\": …}', true) in it before a scan of the table (a LATERAL join) and read as any user, since policies read the claims as the query runs; and a plain EXECUTE (not RETURN QUERY EXECUTE) runs every statement of its string, so `x'; select set_config('role', 'service_role', true); select …` runs its last statement as a role Postgres lets the session user (PostgREST's authenticator, a member of service_role on Supabase) take, policies skipped (both proven on Postgres; within one statement the role set does not change the policies already applied). Quoted values are not reported: quote_literal / quote_ident / quote_nullable, format's %L and %I, parameters passed with USING, casts to a non-text type (`p::int`), and arguments of other types (an integer or uuid prints as digits and hex). A domain over text is not followed, nor an argument handed to another function that EXECUTEs it.",
  fix: "pass values as parameters (execute '… where title = $1' using p) or quote them (format('… %L', p), %I for identifiers)",
  check(ctx) {
    const out: RawFinding[] = [];
    for (const f of ctx.model.functions) {
      if (f.language !== 'plpgsql' || f.isTrigger || f.fromExtension || f.kind !== 'function' || !ctx.exposed.has(f.schema)) continue;
      const callers = f.executableBy.filter((r) => ctx.apiRoles.includes(r) && reachesSchema(ctx, f.schema, r));
      if (callers.length === 0 || !ctx.parseSync) continue;
      const found = callerChosenSql(f, ctx.parseSync, ctx.parsePlpgsqlSync);
      if (found.executes.length === 0) continue;
      const args = [...new Set(found.executes.flatMap((e) => e.arguments))];
      const lines = found.executes.map((e) => e.line).filter((l) => l > 0);
      const runsAs = f.securityDefiner
        ? `as ${f.owner} (SECURITY DEFINER, RLS skipped for its owner)`
        : `as themselves, and can set request.jwt.claims first to read as any user${found.executes.some((e) => e.several) ? ', or, since a plain EXECUTE runs every statement of its string, the role (to any role the authenticator is a member of, such as service_role)' : ''}`;
      out.push({
        object: f.signature,
        objectKind: 'function',
        message: `${listWords(callers)} can call ${f.signature} over RPC, which EXECUTEs a command string built from ${listWords(args)} unquoted${lines.length ? ` (line ${lines.join(', ')} of its body)` : ''}: a caller closes the quote and runs SQL of their own ${runsAs}`,
        fix: `in ${f.signature}, pass ${listWords(args)} with USING ($1) or quote it with format's %L (%I for a name)`,
      });
    }
    return out;
  },
};
