/** auth.uid() & co. called bare in a policy run once per row; in a scalar sub-select, once per statement. */
import type { CatalogRule, RawFinding } from '../types.js';
import { indexLeadsOn, inlinedHelper, neverEvaluated, policyObject } from '../facts.js';
import type { PerRowLookup } from '../expr.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'auth-call-per-row',
  level: 'warn',
  category: 'performance',
  description: 'auth.uid()/auth.jwt()/auth.role()/auth.email()/current_setting() evaluated per row instead of once in a scalar sub-select',
  docs: 'These helpers are STABLE functions, so the executor calls them for every row the policy filters (GoTrue\'s auth.uid() is inlined: current_setting() and a jsonb parse per row). Written as (select auth.uid()) the planner makes an initPlan evaluated once per statement, whatever plan it picks; a bare call that is the value of a top-level column = value test in USING, with an index leading on that column, is the index condition and evaluated once per scan (not reported). Calls inside a sub-select that does not depend on the row (including ones under a cast, as in (select auth.uid())::text), or inside a correlated EXISTS the planner hashes (AND-ed equalities with the row), are fine; a bare call in the body of a SQL helper the planner inlines counts as written in the policy (so owns(user_id) over select $1 = auth.uid(), a conjunct of USING with an index leading on user_id, is that index\'s condition too). Policies on a table with RLS off, or only TO roles that bypass RLS (service_role), are never evaluated and not judged. In WITH CHECK a bare call runs once per row written (an INSERT scans nothing, but a bulk INSERT pays it for every row), and the message says so.',
  fix: 'wrap the call: (select auth.uid())',
  check(ctx) {
    const out: RawFinding[] = [];
    /**
     * A LANGUAGE sql helper the planner inlines (one SELECT of an expression, not
     * SECURITY DEFINER, no SET) puts its body where the call stood: a bare
     * auth.uid() in it runs per row like one written in the policy.
     */
    const memo = new Map<string, string[]>();
    const inlinedClaimCalls = (name: string): string[] => {
      let calls = memo.get(name);
      if (!calls) memo.set(name, (calls = [...new Set(inlinedHelper(ctx, name).flatMap((x) => x.bareClaimCalls))]));
      return calls;
    };
    const inlinedClaimParams = (name: string) => inlinedHelper(ctx, name).flatMap((x) => x.claimParams);
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        if (neverEvaluated(ctx.model, rel, p)) continue; // RLS off, or TO roles that bypass RLS only
        const a = ctx.analysis(p);
        // In USING, a call compared with a column an index leads on is that index's condition: evaluated once per scan.
        const indexed = (column: string | null) => column !== null && indexLeadsOn(ctx.model, rel, column);
        // So is an inlined helper that is a conjunct of USING and whose one claim call is `param = claim`
        // with the argument an indexed column (owns(user_id) over select $1 = auth.uid()).
        const servedByIndex = (l: PerRowLookup & { kind: 'call' }) =>
          l.conjunct && inlinedClaimCalls(l.name).length === 1 && inlinedClaimParams(l.name).some((cp) => cp.indexable && indexed(l.argColumns[cp.index] ?? null));
        const usingLookups = (a.using?.perRowLookups ?? []).filter((l) => !(l.kind === 'call' && servedByIndex(l)));
        const lookups = [...usingLookups, ...(a.check?.perRowLookups ?? [])];
        const inlinedIn = (ls: readonly PerRowLookup[]) => ls.flatMap((l) => (l.kind === 'call' ? inlinedClaimCalls(l.name).map((c) => ({ call: c, via: l.text })) : []));
        const inlined = inlinedIn(lookups);
        if (!a.using?.perRowCalls.length && !a.check?.perRowCalls.length && inlined.length === 0) continue; // the usual case: nothing to merge
        const usingCalls = (a.using?.perRowCallSites ?? []).filter((site) => !indexed(site.indexColumn)).map((site) => site.call);
        const calls = [...new Set([...usingCalls, ...(a.check?.perRowCalls ?? [])])];
        if (calls.length === 0 && inlined.length === 0) continue;
        const viaHelpers = [...new Set(inlined.map((i) => `${i.call} (inside ${i.via}, which Postgres inlines)`))];
        // WITH CHECK runs on each row written (an INSERT scans nothing); USING on each row the command reads.
        const scanned = usingCalls.length > 0 || inlinedIn(usingLookups).length > 0;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} calls ${[...calls, ...viaHelpers].join(', ')} once per row ${scanned ? 'scanned' : 'written (in its WITH CHECK)'}`,
          fix: [
            ...(calls.length ? [`wrap each call in a scalar sub-select: ${calls.map((c) => `(select ${c})`).join(', ')}`] : []),
            ...[...new Set(inlined.map((i) => i.via))].map((via) => `in the body of ${via.slice(0, via.indexOf('('))}, write ${[...new Set(inlined.filter((i) => i.via === via).map((i) => `(select ${i.call})`))].join(', ')}`),
          ].join('; '),
        });
      }
    }
    return out;
  },
};
