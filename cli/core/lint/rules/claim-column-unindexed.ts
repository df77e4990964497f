/** A column compared with the caller in a policy is the filter of every API query: it needs an index. */
import type { CatalogRule, RawFinding } from '../types.js';
import { findRelation, type Policy, type Relation } from '../../catalog/model.js';
import type { ClaimColumn, ClaimParam } from '../expr.js';
import { indexLeadsOn, isTable, neverEvaluated, policyObject, sqlColumns, inlinedHelper, sqlName } from '../facts.js';

/** Type names as format_type prints them vs as a cast names them: the same type, or one whose btree index serves the other (varchar/char as text). */
const TYPE_ALIASES: Record<string, string> = { int4: 'integer', int: 'integer', int8: 'bigint', int2: 'smallint', bool: 'boolean', varchar: 'character varying', float8: 'double precision', float4: 'real', timestamptz: 'timestamp with time zone', timestamp: 'timestamp without time zone' };
function sameType(columnType: string, castTo: string): boolean {
  const base = (t: string) => {
    const n = t.toLowerCase().replace(/\(.*\)$/, '').replace(/^pg_catalog\./, '').trim();
    return TYPE_ALIASES[n] ?? n;
  };
  const c = base(columnType);
  const t = base(castTo);
  return c === t || (t === 'text' && (c === 'character varying' || c === 'character'));
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'claim-column-unindexed',
  level: 'warn',
  category: 'performance',
  description: 'column compared with a claim (auth.uid(), a JWT claim) in a policy, with no index leading on it',
  docs: 'A policy such as (select auth.uid()) = user_id is added to every query the API runs; without an index whose first key column is user_id each request scans the whole table. Columns of tables in membership sub-selects count too, and a column passed to a SQL helper the planner inlines that compares it with a claim (owns(user_id) over select $1 = auth.uid()). A composite index leading on the column serves; a partial or expression index does not; on a partitioned table an index on every leaf partition serves (each leaf is scanned with its own). A cast of the column to another type (user_id::text = …) hides it from any index on the column, and is reported even when one exists. Policies on a table with RLS off, or only TO roles that bypass RLS (service_role), are never evaluated and not judged. A WITH CHECK judges the row being written, which no scan finds: a column of that row compared there needs no index (a table its sub-select reads does).',
  fix: 'create index concurrently on <table> (<column>)',
  check(ctx) {
    const out: RawFinding[] = [];
    // Columns judged so far, by relation (every policy of every table is visited, and
    // most compare the same column as the table's previous policy): no key string per visit.
    const seen = new Map<Relation, Set<string>>();
    const judge = (rel: Relation, p: Policy, cc: ClaimColumn) => {
      const target = cc.table === null ? rel : findRelation(ctx.model, cc.table);
      if (!target) return;
      const col = target.columns.find((c) => c.name === cc.column);
      // A cast to another type (uuid → text) hides the column from its index: judged per cast.
      const cast = cc.castTo !== null && col && !sameType(col.type, cc.castTo) ? cc.castTo : null;
      const name = cast ? `${cc.column}::${cast}` : cc.column;
      // Each column is judged once, for the first policy that compares it (a table's policies usually all do).
      let judged = seen.get(target);
      if (!judged) seen.set(target, (judged = new Set()));
      if (judged.has(name)) return;
      judged.add(name);
      if (!isTable(target) || !col) return;
      const key = `${target.qualified}.${cc.column}`;
      if (cast) {
        out.push({
          object: key,
          objectKind: 'column',
          message: `policy ${policyObject(p)} compares ${name} with ${cc.claim}: no index on ${cc.column} can serve a comparison of its cast, so every API query on ${rel.qualified} scans ${target.qualified}`,
          fix: `compare the column itself and cast the claim instead: ${cc.column} = ${cc.claim === 'sub' ? `(select auth.uid())${sameType(col.type, 'uuid') ? '' : `::${col.type}`}` : `(select <the ${cc.claim} claim>)::${col.type}`}`,
        });
        return;
      }
      if (indexLeadsOn(ctx.model, target, cc.column)) return;
      out.push({
        object: key,
        objectKind: 'column',
        message: `${key} is compared with ${cc.claim} in policy ${policyObject(p)} but no index leads on it: every API query on ${rel.qualified} scans ${target.qualified}`,
        fix: `create index concurrently on ${sqlName(target)} (${sqlColumns([cc.column])})`,
      });
    };
    // A LANGUAGE sql helper the planner inlines (`owns(user_id)` over `select $1 = auth.uid()`) puts
    // its comparison where the call stood: the argument column is compared with the claim.
    const memo = new Map<string, readonly ClaimParam[]>();
    const inlinedClaimParams = (name: string): readonly ClaimParam[] => {
      let params = memo.get(name);
      if (!params) memo.set(name, (params = inlinedHelper(ctx, name).flatMap((x) => x.claimParams)));
      return params;
    };
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        if (neverEvaluated(ctx.model, rel, p)) continue; // RLS off, or TO roles that bypass RLS only
        const a = ctx.analysis(p);
        for (const side of [a.using, a.check]) {
          // WITH CHECK judges the row being written, found by no scan: its own columns need no index
          // there (a sub-select's table in it is still scanned).
          const scans = side === a.using;
          for (const cc of side?.claimColumns ?? []) if (scans || cc.table !== null) judge(rel, p, cc);
          for (const l of side?.perRowLookups ?? []) {
            if (l.kind !== 'call' || !scans) continue;
            for (const cp of inlinedClaimParams(l.name)) {
              const column = l.argColumns[cp.index];
              if (column) judge(rel, p, { table: null, column, claim: cp.claim, castTo: cp.castTo });
            }
          }
        }
      }
    }
    return out;
  },
};
