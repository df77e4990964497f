/** `m.org_id = org_id` in a sub-select compares m.org_id with itself: the condition holds for every row. */
import type { CatalogRule, RawFinding } from '../types.js';
import { policyObject } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-self-comparison',
  level: 'error',
  category: 'security',
  description: 'policy compares a column with itself (`m.org_id = m.org_id`), so the test is the same for every row — usually a name that bound to the wrong table',
  docs: "Inside a sub-select an unqualified name binds to the sub-select's own tables first: in `exists (select 1 from members m where m.user_id = (select auth.uid()) and m.org_id = org_id)` on projects, `org_id` is `m.org_id`, so any member of any organisation passes for every project. Postgres stores the expression resolved, so the finding shows it as `m.org_id = m.org_id`. `x = x`, `<=` and `>=` are true for every non-NULL value and IS NOT DISTINCT FROM always; `<>`, `<`, `>` and IS DISTINCT FROM are never true.",
  fix: "qualify the row's column with its table's name (m.org_id = projects.org_id), or compare the column with the caller",
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        const a = ctx.analysis(p);
        const found = [...(a.using?.selfComparisons ?? []), ...(a.check?.selfComparisons ?? [])];
        const texts = [...new Set(found.map((c) => c.text))];
        if (texts.length === 0) continue;
        const always = found.some((c) => c.always);
        const first = found[0]!;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} compares ${texts.map((t) => `"${t}"`).join(', ')}: ${
            !always
              ? 'never true, so it matches nothing'
              : first.inSubselect
                ? `always true, so the sub-select no longer depends on the ${rel.name} row and whoever passes it ${p.command === 'INSERT' ? 'may write any row' : 'gets every row'}`
                : 'true for every row, so it restricts nothing'
          }`,
          fix: first.inSubselect
            ? `qualify the row's column with its table's name: ${qualifiedFix(first.text, rel.name)}`
            : `compare the column with the caller, e.g. ${first.text.split(' ')[0]} = (select auth.uid())`,
        });
      }
    }
    return out;
  },
};

/** `m.org_id = m.org_id` on projects → `m.org_id = projects.org_id`. */
function qualifiedFix(text: string, table: string): string {
  const m = /^(.+?) (=|<=|>=|<>|!=|<|>|IS NOT DISTINCT FROM|IS DISTINCT FROM) (.+)$/.exec(text);
  if (!m) return text;
  const column = m[3]!.split('.').pop()!;
  return `${m[1]} ${m[2]} ${table}.${column}`;
}
