/** A column compared with the caller in a policy is the filter of every API query: it needs an index. */
import type { CatalogRule, RawFinding } from '../types.js';
import { findRelation, type Policy, type Relation } from '../../catalog/model.js';
import type { ClaimColumn } from '../expr.js';
import { isTable, policyObject, sqlName, sqlColumns } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'claim-column-unindexed',
  level: 'warn',
  category: 'performance',
  description: 'column compared with a claim (auth.uid(), a JWT claim) in a policy, with no index leading on it',
  docs: 'A policy such as (select auth.uid()) = user_id is added to every query the API runs; without an index whose first key column is user_id each request scans the whole table. Columns of tables in membership sub-selects count too.',
  fix: 'create index concurrently on <table> (<column>)',
  check(ctx) {
    const out: RawFinding[] = [];
    // Columns judged so far, by relation (every policy of every table is visited, and
    // most compare the same column as the table's previous policy): no key string per visit.
    const seen = new Map<Relation, Set<string>>();
    const judge = (rel: Relation, p: Policy, cc: ClaimColumn) => {
      const target = cc.table === null ? rel : findRelation(ctx.model, cc.table);
      if (!target) return;
      // Each column is judged once, for the first policy that compares it (a table's policies usually all do).
      let judged = seen.get(target);
      if (!judged) seen.set(target, (judged = new Set()));
      if (judged.has(cc.column)) return;
      judged.add(cc.column);
      if (!isTable(target) || !target.columns.some((c) => c.name === cc.column)) return;
      if (target.indexes.some((i) => i.valid && !i.partial && i.columns[0] === cc.column)) return;
      const key = `${target.qualified}.${cc.column}`;
      out.push({
        object: key,
        objectKind: 'column',
        message: `${key} is compared with ${cc.claim} in policy ${policyObject(p)} but no index leads on it: every API query on ${rel.qualified} scans ${target.qualified}`,
        fix: `create index concurrently on ${sqlName(target)} (${sqlColumns([cc.column])})`,
      });
    };
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        const a = ctx.analysis(p);
        for (const cc of a.using?.claimColumns ?? []) judge(rel, p, cc);
        for (const cc of a.check?.claimColumns ?? []) judge(rel, p, cc);
      }
    }
    return out;
  },
};
