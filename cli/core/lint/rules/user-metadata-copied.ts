/**
 * GoTrue stores what a user sends at sign-up (`options.data`) in
 * auth.users.raw_user_meta_data, and lets them change it at any time (PUT
 * /user). A trigger on auth.users that copies it into a profile's role or a
 * membership's organisation hands every user the value a policy decides on:
 * policy-user-metadata's hole, one table removed.
 */
import type { CatalogLintContext, CatalogRule } from '../types.js';
import type { Policy, Relation } from '../../catalog/model.js';
import { heldKey, listWords, plpgsqlTriggerFunction, policyCallerFacts, policyObject, relationsByName } from '../facts.js';
import { readGates } from './policy-trusts-writable-column.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'user-metadata-copied',
  level: 'error',
  category: 'security',
  description: 'policy decides on a column that a trigger on auth.users copies from user_metadata, which users choose themselves',
  docs: "A sign-up trigger (`handle_new_user`) often fills a profiles or members row from new.raw_user_meta_data. That JSON is whatever the client sent to sign up (`options.data`), and the user can change it later (PUT /user, which fires an UPDATE trigger too). When a policy then looks the caller up in that table and decides on the copied column (`exists (select 1 from profiles p where p.id = auth.uid() and p.role = 'admin')`, an is_admin() helper, `org_id in (select org_id from members where user_id = auth.uid())`), anyone can sign up as an admin or into any organisation. The rule reads the PL/pgSQL trigger functions of enabled INSERT or UPDATE triggers on auth.users (INSERT … VALUES / SELECT, UPDATE … SET, ON CONFLICT DO UPDATE, and variables set from the metadata on the way) and the columns each policy decides on, in its expressions or in the helpers it calls. Copying a display name or an avatar is fine: no policy decides on those. Nor is a value the function bounds to constants (`case when r in ('client', 'professional') then r else 'client' end`, read through a variable set once or more from such expressions) when every way through the policy's gates on the caller's row (an is_admin() helper, or its own `exists (select 1 from user_roles ur where ur.user_id = auth.uid() and ur.role = 'admin')`) asks for a value outside them. Nor is a unique column (a handle) compared with the policy's row (`a.handle = packages.handle`): the user claims only a handle no one holds, and the rows under another's stay theirs; compared with a constant (`a.handle = 'admin'`) it is reported, as the first to sign up with it holds it.",
  fix: "fill the column from raw_app_meta_data (only the service role writes it) or leave it to its default, and let a trusted path (an admin, an invitation) set it; copy only what users may choose, such as a display name",
  check(ctx) {
    const users = relationsByName(ctx.model).get('auth.users');
    if (!users) return [];
    // `schema.table.column` → the triggers that copy user_metadata into it.
    const copies = new Map<string, string[]>();
    // `schema.table.column` → the only values those copies write, when each bounds them (absent: any).
    const bounded = new Map<string, string[] | null>();
    for (const t of users.triggers) {
      if (!t.enabled || !t.events.some((e) => e === 'INSERT' || e === 'UPDATE')) continue;
      const fn = plpgsqlTriggerFunction(ctx.model, t);
      if (!fn) continue;
      for (const c of ctx.functionAnalysis(fn).metadataCopies) {
        const key = `${c.table}.${c.column}`;
        const by = `trigger ${t.name} (${fn.schema}.${fn.name}())`;
        if (!copies.get(key)?.includes(by)) copies.set(key, [...(copies.get(key) ?? []), by]);
        const had = bounded.has(key) ? bounded.get(key)! : [];
        bounded.set(key, had && c.values ? [...new Set([...had, ...c.values])] : null);
      }
    }
    /**
     * A copy bounded to values no way through the policy takes: every gate on the caller's row it reads the
     * table with (readGates: a helper such as is_admin(), or its own `exists (select 1 from user_roles ur where
     * ur.user_id = auth.uid() and ur.role = 'admin')`) asks, on each way through, for a value the copy never writes.
     */
    const outOfReach = (p: Policy, looked: Relation | undefined, column: string, values: readonly string[] | null | undefined) => {
      if (!looked || !values) return false;
      const gates = readGates(ctx, p, looked);
      return gates !== null && gates.every((g) => g.ways.every((w) => w.some((a) => a.startsWith(`${column}=`) && !values.includes(a.slice(column.length + 1)))));
    };
    return policiesDecidingOn(ctx, copies, 'copied by', (p, looked, key, column) => outOfReach(p, looked, column, bounded.get(key))).map(({ policy: p, holes }) => ({
      object: policyObject(p),
      objectKind: 'policy',
      message: `policy ${p.name} on ${p.table} decides on ${listWords(holes)}, which a trigger on auth.users copies from user_metadata: anyone can sign up, or edit their metadata, with the value that passes the policy`,
    }));
  },
};

/**
 * The policies that decide on a column (`schema.table.column` → the triggers that write it, as
 * `trigger t (f())`) in the row they look the caller up in — in their own expressions or in the helpers
 * they call (policyCallerFacts) — each with those columns, said as `table.column (… <verb> <triggers>)`.
 * A unique handle compared with the policy's row (heldKey) is the user's only while free; `spare`
 * leaves out what the rule knows to be harmless. `rows` (`schema.table` → triggers): tables whose rows
 * the triggers make only for some users, so a policy that only asks whether the caller has one
 * (`exists (select 1 from staff s where s.user_id = auth.uid())`) decides on them too.
 */
export function policiesDecidingOn(
  ctx: CatalogLintContext,
  written: ReadonlyMap<string, readonly string[]>,
  verb: string,
  spare: (p: Policy, looked: Relation | undefined, key: string, column: string) => boolean = () => false,
  rows: ReadonlyMap<string, readonly string[]> = new Map(),
): Array<{ policy: Policy; holes: string[] }> {
  if (written.size === 0 && rows.size === 0) return [];
  const out: Array<{ policy: Policy; holes: string[] }> = [];
  for (const rel of ctx.model.relations) {
    for (const p of rel.policies) {
      const holes: string[] = [];
      for (const fact of policyCallerFacts(ctx, p)) {
        const looked = relationsByName(ctx.model).get(fact.table);
        const via = fact.via ? `read by ${fact.via}; ` : '';
        const before = holes.length;
        for (const column of fact.columns) {
          if (looked && heldKey(looked, fact, column)) continue;
          const key = `${fact.table}.${column}`;
          const by = written.get(key);
          if (!by || spare(p, looked, key, column)) continue;
          const hole = `${key} (${via}${verb} ${listWords(by)})`;
          if (!holes.includes(hole)) holes.push(hole);
        }
        const made = rows.get(fact.table);
        const hole = made && fact.byUser && holes.length === before && `the caller's row of ${fact.table} (${via}inserted by ${listWords(made)})`;
        if (hole && !holes.includes(hole)) holes.push(hole);
      }
      if (holes.length) out.push({ policy: p, holes });
    }
  }
  return out;
}
