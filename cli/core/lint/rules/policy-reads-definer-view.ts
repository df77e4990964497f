/**
 * `exists (select 1 from private.members_v m where m.team_id = docs.team_id and m.user_id =
 * auth.uid())` reads like "the caller is a member of the row's team", with members' own RLS
 * (`user_id = auth.uid() and status = 'active'`) keeping banned and pending memberships out.
 * Through a view that runs as its owner (not security_invoker), owned by the table's owner,
 * that RLS is skipped: the sub-select counts the rows it hides, so a banned member still passes.
 */
import type { Policy, Relation } from '../../catalog/model.js';
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import { apiRolesOf, bypassesRls, listWords, policiesFor, policyObject, relationsByName } from '../facts.js';
import { baseRelations, isInvokerView, ownerSkipsRls } from '../views.js';
import { constString, nodeEntry, opName, strings, stripCasts, walk } from '../expr.js';

const NO_KEYS: ReadonlySet<string> = new Set();

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-reads-definer-view',
  level: 'warn',
  category: 'security',
  description: "policy whose sub-select reads a view that runs as its owner (not security_invoker) over a table whose RLS the owner skips, where that table's SELECT policies show the role only rows with a value (status = 'active') the sub-select and the view never ask for",
  docs: "A sub-select in a policy runs under the caller's RLS, so `exists (select 1 from members m where m.team_id = docs.team_id and m.user_id = auth.uid())` counts only the memberships members' SELECT policies show the caller — with `using (user_id = auth.uid() and status = 'active')`, not a banned or pending one. Read through a view that is not security_invoker, the view's owner reads the table, and when that owner owns it (RLS not forced) or bypasses RLS, its policies are skipped: the same sub-select now counts the banned membership, and the banned user reads the team's documents (proven on Postgres). Reported when every permissive SELECT policy of the table for the role (or a restrictive one) pins a column to a constant in each of its ways through, and neither the sub-select nor the view's definition compares that column with that constant. A view over a table the role cannot read at all, or whose policies only tie rows to the caller, is the usual way around recursive policies and is not reported; a SECURITY DEFINER helper that reads the table the same way is not followed.",
  fix: "repeat the table's filter in the sub-select (… and m.status = 'active'), or make the view run as the caller: alter view … set (security_invoker = true)",
  check(ctx) {
    const out: RawFinding[] = [];
    const byName = relationsByName(ctx.model);
    for (const rel of ctx.model.relations) {
      if (!rel.rls) continue;
      for (const p of rel.policies) {
        if (!p.permissive) continue;
        const a = ctx.analysis(p);
        const hits: string[] = [];
        const fixes: string[] = [];
        for (const e of [a.using, a.check]) {
          for (const sub of e?.subselects ?? []) {
            if (!sub.positive) continue;
            for (const name of sub.tables) {
              const view = byName.get(name);
              if (!view || view.kind !== 'view' || isInvokerView(view)) continue;
              for (const base of baseRelations(ctx.model, view)) {
                if (!base.rls || !ownerSkipsRls(ctx.model, view.owner, base)) continue;
                for (const role of apiRolesOf(ctx, p)) {
                  if (bypassesRls(ctx.model, role)) continue;
                  const missing = [...hiddenFilters(ctx, base, role)].filter(([col, value]) => !compares(sub.node, col, value) && !viewCompares(ctx, view, col, value));
                  if (missing.length === 0) continue;
                  const filters = missing.map(([col, value]) => `${col} = '${value}'`);
                  hits.push(`${view.qualified}, a view that runs as its owner ${view.owner} and so skips the RLS of ${base.qualified}, whose SELECT policies show ${role} only rows with ${listWords(filters)}`);
                  fixes.push(`… and ${filters[0]} in the sub-select, or alter view ${view.qualified} set (security_invoker = true)`);
                  break;
                }
              }
            }
          }
        }
        if (hits.length === 0) continue;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} reads ${[...new Set(hits)].join('; ')}: its sub-select counts the rows those policies hide from the caller`,
          fix: fixes[0]!,
        });
      }
    }
    return out;
  },
};

/** Column = constant pairs every way through the role's SELECT policies on `table` asks for (rows without them are hidden from the role). */
function hiddenFilters(ctx: CatalogLintContext, table: Relation, role: string): Map<string, string> {
  const pinned = (q: Policy): Map<string, string> => {
    const ways = ctx.analysis(q).using?.ways(NO_KEYS);
    if (!ways || ways.length === 0) return new Map();
    const [first, ...rest] = ways;
    return new Map([...first!.equals].filter(([c, v]) => rest.every((w) => w.equals.get(c) === v)));
  };
  const permissive = policiesFor(ctx.model, table, role, 'SELECT', true);
  const out = new Map<string, string>();
  if (permissive.length > 0) {
    const maps = permissive.map(pinned);
    for (const [c, v] of maps[0]!) if (maps.every((m) => m.get(c) === v)) out.set(c, v);
  }
  for (const q of policiesFor(ctx.model, table, role, 'SELECT', false)) for (const [c, v] of pinned(q)) out.set(c, v);
  return out;
}

/** Whether `node` holds `<column> = '<value>'` (either side, through casts). */
function compares(node: unknown, column: string, value: string): boolean {
  let found = false;
  walk(node, (t, b) => {
    if (found || t !== 'A_Expr') return;
    const kind = String(b['kind']);
    const col = (v: unknown) => {
      const e = nodeEntry(stripCasts(v));
      return e?.[0] === 'ColumnRef' && strings(e[1]['fields']).pop() === column;
    };
    if (kind === 'AEXPR_OP' && opName(b) === '=') {
      if ((col(b['lexpr']) && constString(b['rexpr']) === value) || (col(b['rexpr']) && constString(b['lexpr']) === value)) found = true;
    }
  });
  return found;
}

/** Whether the view's definition compares the column with the value (read with the Postgres grammar; without it, no). */
function viewCompares(ctx: CatalogLintContext, view: Relation, column: string, value: string): boolean {
  if (!view.viewDefinition || !ctx.parseSync) return false;
  try {
    return compares(ctx.parseSync(view.viewDefinition), column, value);
  } catch {
    return false;
  }
}
