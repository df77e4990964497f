/** A table the API serves with RLS off: every API role's grant applies to every row. */
import type { CatalogRule, RawFinding } from '../types.js';
import { columnPrivilegesOf, isExposed, isTable, isUserRelation, listWords, privilegesOf, relationsByName, verbOf, sqlName } from '../facts.js';

const DATA_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'rls-disabled-in-api',
  level: 'error',
  category: 'security',
  description: 'table in an exposed schema that an API role can read or write, with RLS off (or a foreign table, which cannot have RLS)',
  docs: 'Without RLS a grant is all-or-nothing: PostgREST serves every row to anon/authenticated. Effective privileges count (PUBLIC, role membership, column grants). Partitions count on their own (they can be queried by name). Foreign tables cannot enable RLS at all: keep them in an unexposed schema and serve what users may see through a function or view that filters it.',
  fix: 'alter table … enable row level security, then write policies (or revoke the grants)',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      const foreign = rel.kind === 'foreign';
      if (!(isTable(rel) || foreign) || rel.rls || !isExposed(ctx, rel) || !isUserRelation(ctx, rel)) continue;
      const what = ctx.apiRoles
        .map((role) => {
          const privs = privilegesOf(ctx, rel, role).filter((p) => (DATA_PRIVILEGES as readonly string[]).includes(p));
          // Column grants (GRANT SELECT (email) …) reach every row of those columns just the same.
          const cols = [...columnPrivilegesOf(ctx, rel, role)].filter(([p]) => (DATA_PRIVILEGES as readonly string[]).includes(p));
          const parts = [
            ...(privs.length ? [`${listWords(privs.map(verbOf))} every row`] : []),
            ...cols.map(([p, cs]) => `${verbOf(p)} ${listWords(cs)} of every row`),
          ];
          return { role, parts };
        })
        .filter((x) => x.parts.length > 0);
      if (what.length === 0) continue;
      const parts = what.map((x) => `${x.role} can ${x.parts.join(' and ')}`);
      // A partition queried by name is checked against its own RLS flag and policies, not its parent's.
      const parent = rel.partitionOf ? relationsByName(ctx.model).get(rel.partitionOf) : undefined;
      const guardedParent = parent && parent.rls && parent.policies.length > 0 ? parent : undefined;
      out.push({
        object: rel.qualified,
        objectKind: 'table',
        message: foreign
          ? `${rel.qualified} is a foreign table, which cannot have RLS: ${parts.join('; ')}`
          : guardedParent
            ? `RLS is off on ${rel.qualified}, a partition of ${guardedParent.qualified}: queried by name it skips ${guardedParent.qualified}'s policies, so ${parts.join('; ')}`
            : `RLS is off on ${rel.qualified}: ${parts.join('; ')}`,
        fix: foreign
          ? `revoke all on ${sqlName(rel)} from ${listWords(what.map((x) => x.role))}; move it to an unexposed schema and serve it through a function or view that filters rows`
          : guardedParent
            ? `revoke all on ${sqlName(rel)} from ${listWords(what.map((x) => x.role))}, public (reach it through ${guardedParent.qualified}); or alter table ${sqlName(rel)} enable row level security and give it ${guardedParent.qualified}'s policies`
            : `alter table ${sqlName(rel)} enable row level security; then add policies for ${listWords(what.map((x) => x.role))}`,
      });
    }
    return out;
  },
};
