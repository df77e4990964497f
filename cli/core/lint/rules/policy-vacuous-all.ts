/** `auth.uid() = ALL (editors)` is true for every caller on a row whose editors is empty. */
import type { CatalogRule, RawFinding } from '../types.js';
import { apiRolesOf, commandsOf, hasPrivilege, isTable, listWords, policyObject, verbOf, type Command } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-vacuous-all',
  level: 'error',
  category: 'security',
  description: 'policy compares the caller with `= ALL (array)` or `= ALL (select …)`, which is true for every caller, anon included, when the array is empty or the sub-select finds nothing',
  docs: "`auth.uid() = ALL (editors)` asks whether every editor is the caller, and ALL over an empty array is true whatever the left side is, NULL included: a row nobody has been added to yet passes for every signed-in user and for anon. The same holds for `= ALL (select …)` when the sub-select finds no row. Membership is `= ANY (editors)` (or `= ANY (select …)`, which is IN), which is false over nothing. An `ARRAY[a, b]` or `'{x}'` literal is never empty and is not reported, nor is the test under NOT; nor a column a validated CHECK keeps non-empty (`cardinality(editors) > 0`, `editors <> '{}'`): no row holds an empty array there, and a NULL one makes ALL NULL (`array_length(editors, 1) > 0` does not: it is NULL on an empty array, which a CHECK lets through).",
  fix: 'test membership with = ANY: using ((select auth.uid()) = any (editors))',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      for (const p of rel.policies) {
        const a = ctx.analysis(p);
        // USING picks the rows read, updated and deleted; WITH CHECK the rows written.
        // A column a CHECK keeps non-empty (`cardinality(editors) > 0`) has no row ALL is vacuous on; NULL makes ALL NULL.
        const possible = (t: string) => {
          const column = columnOf(t);
          return !(column && rel.columns.find((c) => c.name === column)?.refusesEmpty);
        };
        const sides: Array<[string[], Command[]]> = [
          [(a.using?.vacuousAll ?? []).filter(possible), commandsOf(p).filter((c) => c !== 'INSERT')],
          [(a.check?.vacuousAll ?? []).filter(possible), commandsOf(p).filter((c) => c === 'INSERT' || c === 'UPDATE')],
        ];
        const texts = new Set<string>();
        const commands = new Set<Command>();
        const roles = new Set<string>();
        for (const [found, cmds] of sides) {
          if (found.length === 0) continue;
          for (const role of apiRolesOf(ctx, p)) {
            const allowed = cmds.filter((c) => hasPrivilege(ctx, rel, role, c));
            if (allowed.length === 0) continue;
            roles.add(role);
            allowed.forEach((c) => commands.add(c));
            found.forEach((t) => texts.add(t));
          }
        }
        if (texts.size === 0) continue;
        const verbs = listWords([...commands].map((c) => (c === 'INSERT' ? 'write' : verbOf(c))));
        const first = [...texts][0]!;
        const column = columnOf(first);
        const where = column ? `whose ${column} is empty` : first.endsWith('(an array)') ? 'where the array is empty' : 'the sub-select finds nothing for';
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} tests ${[...texts].map((t) => `"${t}"`).join(', ')}: ALL over nothing is true, so ${listWords([...roles])} can ${verbs} the rows ${where}${p.permissive ? '' : ' (this restrictive policy does not hold them back)'}, whoever the caller is`,
          fix: `test membership with = ANY: ${first.replace(' = ALL ', ' = ANY ')}`,
        });
      }
    }
    return out;
  },
};

/** The array a vacuous ALL test reads, as described (`editors` in "auth.uid() = ALL (editors)"), unless it is a sub-select or an expression. */
function columnOf(text: string): string | undefined {
  return / = ALL \((?!an array\)|select …\))(.+)\)$/.exec(text)?.[1];
}
