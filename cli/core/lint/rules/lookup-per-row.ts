/**
 * A helper function the planner cannot inline, or a sub-select that refers to the
 * row and cannot be hashed, runs once for every row a policy's USING filters.
 */
import type { CatalogRule, RawFinding } from '../types.js';
import type { PerRowLookup } from '../expr.js';
import type { Relation } from '../../catalog/model.js';
import { listWords, neverEvaluated, policyObject } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'lookup-per-row',
  level: 'warn',
  category: 'performance',
  description: 'helper function that is never inlined, or sub-select that refers to the row, run once per row a policy filters',
  docs:
    'Postgres checks a policy as a filter on every row the scan visits, and an RLS qualifier is evaluated per row even when it does not depend on the row. A PL/pgSQL, SECURITY DEFINER or table-reading SQL helper (is_admin(), is_member(org_id)) is never inlined, so it is called for each row; a sub-select that refers to the row ((select auth.uid()) in (select user_id from members m where m.org_id = t.org_id), a scalar (select role … where m.org_id = t.org_id)) is a SubPlan re-run for each row. Wrapped as (select is_admin()) a helper runs once per statement, and org_id in (select … where user_id = (select auth.uid())) is one hashed lookup. A correlated EXISTS whose only ties to the row are AND-ed equalities is hashed by the planner and not reported. WITH CHECK expressions run per written row and are not judged. Policies on a table with RLS off, or only TO roles that bypass RLS (service_role), are never evaluated and not judged.',
  fix: 'wrap a helper that does not take the row in a scalar sub-select, (select private.is_admin()); select the caller\'s keys once and compare the row with them: org_id in (select m.org_id from members m where m.user_id = (select auth.uid()))',
  check(ctx) {
    const out: RawFinding[] = [];
    const byName = new Map<string, typeof ctx.model.functions>();
    for (const fn of ctx.model.functions) {
      if (fn.fromExtension || fn.kind !== 'function') continue;
      const key = `${fn.schema}.${fn.name}`;
      byName.set(key, [...(byName.get(key) ?? []), fn]);
    }
    /** Why every function of that name is called, not inlined; null when one may be inlined or it is unknown. */
    const notInlined = (name: string): string | null => {
      const fns = byName.get(name);
      if (!fns?.length) return null;
      const reasons = fns.map((fn) => ctx.functionAnalysis(fn).notInlined);
      return reasons.every((r) => r !== null) ? reasons[0]! : null;
    };
    type Explained = { what: string; why: string; fix: string };
    const explain = (l: PerRowLookup, rel: Relation): Explained | null => {
      if (l.kind === 'call') {
        const why = notInlined(l.name);
        if (why === null) return null;
        if (l.rowArgs.length === 0) return { what: `calls ${l.text}`, why, fix: `wrap the call in a scalar sub-select so it runs once per statement: (select ${l.text})` };
        // '*': the whole row (`t.*`); the fix then compares the row's key.
        const columns = l.rowArgs.filter((c) => c !== '*');
        const takes = [...(l.rowArgs.includes('*') ? ['the whole row'] : []), ...(columns.length > 0 ? [`the row's ${listWords(columns)}`] : [])];
        const key = rel.indexes.find((i) => i.primary && i.columns.length === 1)?.columns[0];
        const col = columns[0] ?? key ?? '<key>';
        return {
          what: `calls ${l.text}`,
          why: `${why}, and it takes ${takes.join(' and ')}`,
          fix: `have a helper return the caller's values once and compare the row with them: ${col} in (select <helper returning the caller's ${col} values>())`,
        };
      }
      const on = l.tables.length ? ` on ${listWords(l.tables)}` : '';
      const refs = l.rowColumns.length > 0;
      return {
        what: `runs ${l.form === 'IN' || l.form === 'EXISTS' || l.form === 'ALL' || l.form === 'ARRAY' ? 'an' : 'a'} ${l.form} sub-select${on}`,
        why: `the sub-select refers to the row${refs ? `'s ${listWords(l.rowColumns)}` : ''}, so it is a SubPlan the planner cannot hash`,
        fix: `select the caller's keys once and compare the row's column with them, e.g. ${l.rowColumns[0] ?? 'org_id'} in (select <key> from ${l.tables[0] ?? '<table>'} where <caller column> = (select auth.uid()))`,
      };
    };
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        if (neverEvaluated(ctx.model, rel, p)) continue; // RLS off, or TO roles that bypass RLS only
        const lookups = ctx.analysis(p).using?.perRowLookups ?? [];
        const found = lookups.map((l) => explain(l, rel)).filter((x): x is Explained => x !== null);
        if (found.length === 0) continue;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} ${listWords(found.map((f) => f.what))} once per row scanned (${found.map((f) => f.why).join('; ')})`,
          fix: found.map((f) => f.fix).join('; '),
        });
      }
    }
    return out;
  },
};
