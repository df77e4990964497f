/** A function the API serves that runs a command string carrying a text argument unquoted: the caller writes the SQL. */
import type { CatalogRule, RawFinding } from '../types.js';
import type { FunctionInfo } from '../../catalog/model.js';
import type { CallerChosenSql } from '../dynamic-sql.js';
import { parameterList } from '../expr.js';
import { listWords, reachesSchema } from '../facts.js';

type Ctx = Parameters<CatalogRule['check']>[0];

/** The parameters (by name, `$n` for an unnamed one) whose text a function runs unquoted. */
function injectable(ctx: Ctx, g: FunctionInfo): string[] {
  if (g.language !== 'plpgsql' && g.language !== 'sql') return [];
  return [...new Set(ctx.callerChosenSql(g).executes.flatMap((e) => e.arguments))];
}

/**
 * f's call of another function g, f's text argument at one of g's parameters that g runs
 * unquoted: g named with its schema, or bare when it sits in the first schema of f's
 * search_path (public when f sets none). The call runs with f's rights, so for a SECURITY
 * INVOKER f the caller must be able to call g. Not when g is itself reported (served to the same roles).
 */
function handedOn(ctx: Ctx, f: FunctionInfo, found: CallerChosenSql, callers: string[]): RawFinding | null {
  const first = (f.config.find((c) => c.startsWith('search_path='))?.slice('search_path='.length).split(',')[0] ?? 'public').trim().replace(/^"|"$/g, '') || 'public';
  for (const c of found.calls ?? []) {
    const [schema, name] = c.callee.includes('.') ? c.callee.split('.', 2) : [first, c.callee];
    for (const g of ctx.model.functions) {
      if (g.schema !== schema || g.name.toLowerCase() !== name || g.isTrigger) continue;
      const params = parameterList(g.args);
      const target = typeof c.at === 'number' ? params[c.at] || `$${c.at + 1}` : c.at;
      if (!injectable(ctx, g).includes(target)) continue;
      const reach = f.securityDefiner ? callers : callers.filter((r) => g.executableBy.includes(r) && reachesSchema(ctx, g.schema, r));
      if (reach.length === 0) continue;
      if (ctx.exposed.has(g.schema) && callers.every((r) => g.executableBy.includes(r) && reachesSchema(ctx, g.schema, r))) continue;
      const runsAs = g.securityDefiner ? `as ${g.owner} (SECURITY DEFINER, RLS skipped for its owner)` : f.securityDefiner ? `as ${f.owner} (SECURITY DEFINER, RLS skipped for its owner)` : 'as themselves, who can set request.jwt.claims in it to read as any user';
      return {
        object: f.signature,
        objectKind: 'function',
        message: `${listWords(reach)} can call ${f.signature} over RPC, which hands ${listWords(c.arguments)} unquoted to ${g.signature}, and that function runs a command string built from its parameter ${target}: the caller writes SQL of their own into it, run ${runsAs}`,
        fix: `in ${g.signature}, pass ${target} with USING ($1) or quote it with format's %L (%I for a name)`,
      };
    }
  }
  return null;
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'rpc-sql-injection',
  level: 'error',
  category: 'security',
  description: "LANGUAGE sql or plpgsql function an API role can call over RPC that runs a command string built from a text argument without quoting it (EXECUTE '… where title = ''' || p || '''', format's %s, query_to_xml)",
  docs: "PostgREST serves every function of an exposed schema at /rpc/<name>, and EXECUTE (RETURN QUERY EXECUTE, FOR … IN EXECUTE, OPEN … FOR EXECUTE) runs whatever string it is given, as do query_to_xml(), query_to_xmlschema(), query_to_xml_and_xmlschema() and ts_stat() (in LANGUAGE sql too). A text argument pasted into that string by `||`, concat() or format's `%s` (directly or through a text variable set from it) brings its own quotes and keywords: `x' union all select … --` runs a query of the caller's choosing. In a SECURITY DEFINER function that query runs as the owner, RLS skipped. In a SECURITY INVOKER one it runs as the caller, who can call set_config('request.jwt.claims', '{\"sub\": …}', true) in it before a scan of the table (a LATERAL join) and read as any user, since policies read the claims as the query runs; and a plain EXECUTE (not RETURN QUERY EXECUTE) runs every statement of its string, so `x'; select set_config('role', 'service_role', true); select …` runs its last statement as a role Postgres lets the session user (PostgREST's authenticator, a member of service_role on Supabase) take, policies skipped (each proven on Postgres; within one statement the role set does not change the policies already applied). Not reported: values quoted with quote_literal / quote_ident / quote_nullable or format's %L and %I, passed with USING, cast to a non-text type (`p::int`), or with their quotes doubled (replace(p, '''', '''''')); arguments of other types (an integer or uuid prints as digits and hex); and an argument an IF has held to constants where the string is built (after `if p_dir not in ('asc', 'desc') then raise exception …; end if;`, or inside `if p_dir in (…) then`). An exposed function that hands its text argument unquoted to another function that runs it (a SECURITY DEFINER one kept in an unexposed schema, called by name with its schema or from the first schema of the caller's search_path) is reported too, one call deep. A domain over text is not followed.",
  fix: "pass values as parameters (execute '… where title = $1' using p) or quote them (format('… %L', p), %I for identifiers); hold a sort column or direction to a fixed list first",
  check(ctx) {
    const out: RawFinding[] = [];
    for (const f of ctx.model.functions) {
      if ((f.language !== 'plpgsql' && f.language !== 'sql') || f.isTrigger || f.fromExtension || f.kind !== 'function' || !ctx.exposed.has(f.schema)) continue;
      const callers = f.executableBy.filter((r) => ctx.apiRoles.includes(r) && reachesSchema(ctx, f.schema, r));
      if (callers.length === 0) continue;
      const found = ctx.callerChosenSql(f);
      if (found.executes.length === 0) {
        // A function it hands a text argument to, unquoted, that runs it (a wrapper over a definer function kept out of the API).
        const handed = handedOn(ctx, f, found, callers);
        if (handed) out.push(handed);
        continue;
      }
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
