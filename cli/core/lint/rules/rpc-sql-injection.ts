/** A function the API serves that runs a command string carrying a text argument unquoted: the caller writes the SQL. */
import type { CatalogRule, RawFinding } from '../types.js';
import { callerChosenSql } from '../dynamic-sql.js';
import { listWords, reachesSchema } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'rpc-sql-injection',
  level: 'error',
  category: 'security',
  description: "LANGUAGE sql or plpgsql function an API role can call over RPC that runs a command string built from a text argument without quoting it (EXECUTE '… where title = ''' || p || '''', format's %s, query_to_xml)",
  docs: "PostgREST serves every function of an exposed schema at /rpc/<name>, and EXECUTE (RETURN QUERY EXECUTE, FOR … IN EXECUTE, OPEN … FOR EXECUTE) runs whatever string it is given, as do query_to_xml(), query_to_xmlschema(), query_to_xml_and_xmlschema() and ts_stat() (in LANGUAGE sql too). A text argument pasted into that string by `||`, concat() or format's `%s` (directly or through a text variable set from it) brings its own quotes and keywords: `x' union all select … --` runs a query of the caller's choosing. In a SECURITY DEFINER function that query runs as the owner, RLS skipped. In a SECURITY INVOKER one it runs as the caller, who can call set_config('request.jwt.claims', '{\"sub\": …}', true) in it before a scan of the table (a LATERAL join) and read as any user, since policies read the claims as the query runs; and a plain EXECUTE (not RETURN QUERY EXECUTE) runs every statement of its string, so `x'; select set_config('role', 'service_role', true); select …` runs its last statement as a role Postgres lets the session user (PostgREST's authenticator, a member of service_role on Supabase) take, policies skipped (each proven on Postgres; within one statement the role set does not change the policies already applied). Not reported: values quoted with quote_literal / quote_ident / quote_nullable or format's %L and %I, passed with USING, cast to a non-text type (`p::int`), or with their quotes doubled (replace(p, '''', '''''')); arguments of other types (an integer or uuid prints as digits and hex); and an argument an IF has held to constants where the string is built (after `if p_dir not in ('asc', 'desc') then raise exception …; end if;`, or inside `if p_dir in (…) then`). A domain over text is not followed, nor an argument handed to another function that runs it.",
  fix: "pass values as parameters (execute '… where title = $1' using p) or quote them (format('… %L', p), %I for identifiers); hold a sort column or direction to a fixed list first",
  check(ctx) {
    const out: RawFinding[] = [];
    for (const f of ctx.model.functions) {
      if ((f.language !== 'plpgsql' && f.language !== 'sql') || f.isTrigger || f.fromExtension || f.kind !== 'function' || !ctx.exposed.has(f.schema)) continue;
      const callers = f.executableBy.filter((r) => ctx.apiRoles.includes(r) && reachesSchema(ctx, f.schema, r));
      if (callers.length === 0 || !ctx.parseSync) continue;
      const found = callerChosenSql(f, ctx.parseSync, ctx.parsePlpgsqlSync);
      if (found.executes.length === 0) continue;
      const args = [...new Set(found.executes.flatMap((e) => e.arguments))];
      const lines = found.executes.map((e) => e.line).filter((l) => l > 0);
      const several = found.executes.some((e) => e.several);
      const runsAs = f.securityDefiner
        ? `as ${f.owner} (SECURITY DEFINER, RLS skipped for its owner)`
        : `as themselves, who can set request.jwt.claims in it to read as any user${several ? ', or, since a plain EXECUTE runs every statement of its string, the role (to any role the authenticator is a member of, such as service_role)' : ''}`;
      const vias = [...new Set(found.executes.map((e) => (e.via ? `${e.via}()` : 'EXECUTE')))];
      out.push({
        object: f.signature,
        objectKind: 'function',
        message: `${listWords(callers)} can call ${f.signature} over RPC, which runs a command string built from ${listWords(args)} unquoted (${listWords(vias)}${lines.length ? `, line ${lines.join(', ')} of its body` : ''}): the caller writes SQL of their own into it, run ${runsAs}`,
        fix: `in ${f.signature}, pass ${listWords(args)} with USING ($1) or quote it with format's %L (%I for a name)`,
      });
    }
    return out;
  },
};
