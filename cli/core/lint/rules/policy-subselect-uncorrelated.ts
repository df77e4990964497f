/**
 * `exists (select 1 from members m where m.user_id = (select auth.uid()))` on
 * projects never looks at the project: a member of any organisation sees every
 * project. Reported when the sub-select's table is linked to the policy's table
 * (a foreign key, or a shared `*_id` column) by a column it leaves unused.
 */
import type { CatalogRule, RawFinding } from '../types.js';
import type { Relation } from '../../catalog/model.js';
import { apiRolesOf, commandsOf, hasPrivilege, isTable, listWords, policyObject } from '../facts.js';

/** Who-did-it columns: a link through them is bookkeeping, not membership. */
const BOOKKEEPING = /^(created|updated|modified|deleted|granted|invited|approved|added)_by(_id)?$/i;

interface Link {
  /** Column of the sub-select's table. */
  theirs: string;
  /** Column of the policy's table it should be compared with. */
  ours: string;
}

/** The first column pair linking `other` to `rel`, among `other`'s columns not already tied to the caller. */
export function linkBetween(rel: Relation, other: Relation, bound: readonly string[]): Link | null {
  const free = (c: string) => !bound.includes(c) && !BOOKKEEPING.test(c);
  const single = (fk: Relation['foreignKeys'][number]) => fk.columns.length === 1 && fk.refColumns.length === 1;
  // other.d references rel (project_members.project_id → projects.id).
  for (const fk of other.foreignKeys) {
    if (single(fk) && fk.refTable === rel.qualified && free(fk.columns[0]!)) return { theirs: fk.columns[0]!, ours: fk.refColumns[0]! };
  }
  // rel.c references other (projects.org_id → orgs.id).
  for (const fk of rel.foreignKeys) {
    if (single(fk) && fk.refTable === other.qualified && free(fk.refColumns[0]!) && !BOOKKEEPING.test(fk.columns[0]!)) return { theirs: fk.refColumns[0]!, ours: fk.columns[0]! };
  }
  // Both reference the same key (members.org_id and projects.org_id → orgs.id).
  for (const fk of other.foreignKeys) {
    if (!single(fk) || !free(fk.columns[0]!)) continue;
    const mine = rel.foreignKeys.find((f) => single(f) && f.refTable === fk.refTable && f.refColumns[0] === fk.refColumns[0] && !BOOKKEEPING.test(f.columns[0]!));
    if (mine) return { theirs: fk.columns[0]!, ours: mine.columns[0]! };
  }
  // No foreign keys: the same `*_id` column name and type on both.
  for (const c of other.columns) {
    if (!/_id$/i.test(c.name) || !free(c.name)) continue;
    const mine = rel.columns.find((x) => x.name === c.name && x.type === c.type);
    if (mine) return { theirs: c.name, ours: mine.name };
  }
  return null;
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-subselect-uncorrelated',
  level: 'warn',
  category: 'security',
  description: "permissive policy (or one of its OR branches) whose sub-select never refers to the row, over a table linked to the policy's table (other AND-ed tests of the row alone, like status = 'open', do not tie it)",
  docs: "A sub-select that does not mention the policy's row gives the same answer for every row: `exists (select 1 from members m where m.user_id = (select auth.uid()))` on projects lets a member of any organisation see every project, and `status = 'open' and exists (…)` every open project: a test of the row that does not involve the caller ties nothing. Reported when the sub-select's table is linked to the policy's table — a foreign key between them, foreign keys to the same key, or the same `*_id` column — by a column the sub-select does not compare with the caller. A gate that really is global (staff, a feature flag) has no such link and is not reported. The self-comparison `m.org_id = m.org_id` is reported by policy-self-comparison instead.",
  fix: 'tie the sub-select to the row: ... and m.org_id = projects.org_id',
  check(ctx) {
    const out: RawFinding[] = [];
    let byName: Map<string, Relation> | undefined;
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      for (const p of rel.policies) {
        if (!p.permissive) continue;
        const a = ctx.analysis(p);
        const candidates = [...(a.using?.rowFreeBranches ?? []), ...(a.check?.rowFreeBranches ?? [])].filter((b) => !b.hasSelfComparison);
        if (candidates.length === 0) continue;
        const roles = apiRolesOf(ctx, p).filter((role) => commandsOf(p).some((c) => hasPrivilege(ctx, rel, role, c)));
        if (roles.length === 0) continue;
        byName ??= new Map(ctx.model.relations.map((r) => [r.qualified, r]));
        let hit: { table: string; ref: string; link: Link; filtered: boolean } | null = null;
        for (const branch of candidates) {
          for (const read of branch.reads) {
            const other = byName.get(read.table);
            const link = other && linkBetween(rel, other, read.boundBy);
            if (link) {
              hit = { table: read.table, ref: read.ref, link, filtered: branch.filtered };
              break;
            }
          }
          if (hit) break;
        }
        if (!hit) continue;
        const verb = { ALL: 'see and change', SELECT: 'see', INSERT: 'insert', UPDATE: 'update', DELETE: 'delete' }[p.command];
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} reads ${hit.table} in a sub-select that never refers to the ${rel.name} row: ${listWords(roles)} callers who pass it can ${verb} every row${hit.filtered ? ' the rest of the condition lets through' : ''}, whichever ${hit.link.theirs} their ${hit.table} rows have`,
          fix: `tie the sub-select to the row: … and ${hit.ref === rel.name ? `<alias>.${hit.link.theirs} = ${rel.name}.${hit.link.ours} (give the sub-select's ${rel.name} an alias)` : `${hit.ref}.${hit.link.theirs} = ${rel.name}.${hit.link.ours}`}`,
        });
      }
    }
    return out;
  },
};
