/**
 * A policy that looks up the caller's own row (`exists (select 1 from profiles p
 * where p.id = auth.uid() and p.is_admin)`, `org_id in (select m.org_id from
 * members m where m.user_id = auth.uid())`) trusts the columns it reads there.
 * When the same caller may write those columns on that row — UPDATE it, or
 * INSERT a row of their own — they grant themselves whatever the policy
 * guards: the classic self-promotion hole.
 */
import type { FunctionInfo, Policy, Relation } from '../../catalog/model.js';
import type { ExprAnalysis, GateCall, Relay } from '../expr.js';
import { gateOf, NotAGate, ROW_FOUND } from '../caller-gate.js';
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import { admitsWrite, apiRolesOf, bypassesRls, canWriteColumn, columnPrivilegesOf, commandsOf, hasPrivilege, helpersByName, isTable, heldKey, listWords, madeAtSignUp, mayDelete, policiesFor, policyCallerFacts, policyObject, privilegesOf, relationsByName, triggerGuards, uniqueWithin, writableWithoutUser } from '../facts.js';

/**
 * A test of the caller's row of one table, found by `key`: any one of `ways` (sets of atoms on its columns) lets them through.
 * With `yields`, the set of that column's values over the caller's rows that pass (a set-returning helper, `x in (select f())`,
 * or a boolean one handed a column of the policy's row, `arg`: `has_team_role(team_id, …)`).
 */
interface RowGate {
  table: string;
  key: string[];
  ways: string[][];
  yields?: string;
  arg?: string;
}

/**
 * Whether `fn`'s SELECT on `t` sees every row: `t` has no RLS, or `fn` is SECURITY DEFINER owned by a role that skips
 * RLS there (BYPASSRLS, or the table's owner without FORCE), or, run as its caller, every API role that may read `t`
 * passes a permissive SELECT policy true for every row with no restrictive one beside it (`using (true)` for public:
 * memberships anyone may list) — a role without SELECT on `t` gets an error from the helper, passing nothing.
 */
function seesEveryRow(ctx: CatalogLintContext, fn: FunctionInfo, t: Relation): boolean {
  if (!t.rls) return true;
  if (fn.securityDefiner) return bypassesRls(ctx.model, fn.owner) || (fn.owner === t.owner && !t.forceRls);
  return ctx.apiRoles.every(
    (role) =>
      !hasPrivilege(ctx, t, role, 'SELECT') ||
      (policiesFor(ctx.model, t, role, 'SELECT', false).length === 0 && policiesFor(ctx.model, t, role, 'SELECT', true).some((q) => ctx.analysis(q).using?.alwaysTrueFor(role) ?? false)),
  );
}

/**
 * The gate a helper call is (its body's CallerGate for these arguments, caller-gate.ts), or null. Its SELECT
 * must see the caller's row whatever the row holds (seesEveryRow) — otherwise a policy of the table could
 * hide the row, and what passes is not what the body says.
 */
function gateOfCall(ctx: CatalogLintContext, call: GateCall): RowGate | null {
  const fns = helpersByName(ctx.model).get(call.name) ?? [];
  if (fns.length !== 1) return null;
  const fn = fns[0]!;
  const gate = ctx.functionAnalysis(fn).callerGate;
  const ways = gate?.passes(call.args) ?? null;
  const t = gate ? relationsByName(ctx.model).get(gate.table) : undefined;
  if (!gate || !ways || !t) return null;
  const seesAll = seesEveryRow(ctx, fn, t);
  // A parameter named like a column of the table is that column in LANGUAGE sql (an error in PL/pgSQL): not the reading's.
  const shadowed = t.columns.some((c) => gate.paramNames.includes(c.name));
  return seesAll && !shadowed ? { table: gate.table, key: gate.key, ways } : null;
}

/**
 * The set gate a call of a set-returning helper is (its CallerSet for these arguments), or null; the helper must see
 * every row of the table, as for gateOfCall.
 */
function setGateOfCall(ctx: CatalogLintContext, call: GateCall): RowGate | null {
  const fns = helpersByName(ctx.model).get(call.name) ?? [];
  if (fns.length !== 1) return null;
  const fn = fns[0]!;
  const set = ctx.functionAnalysis(fn).callerSet;
  const ways = set?.passes(call.args) ?? null;
  const t = set ? relationsByName(ctx.model).get(set.table) : undefined;
  if (!set || !ways || !t) return null;
  const seesAll = seesEveryRow(ctx, fn, t);
  const shadowed = t.columns.some((c) => set.paramNames.includes(c.name));
  return seesAll && !shadowed ? { table: set.table, key: set.key, ways, yields: set.yields } : null;
}

/** A boolean gate handed one column of the policy's row, read as the set it tests that column against (CallerGate.yieldsFor), or null. */
function viewOfCall(ctx: CatalogLintContext, call: GateCall): RowGate | null {
  const fns = helpersByName(ctx.model).get(call.name) ?? [];
  if (fns.length !== 1) return null;
  const fn = fns[0]!;
  const gate = ctx.functionAnalysis(fn).callerGate;
  const view = gate?.yieldsFor?.(call.args) ?? null;
  const t = gate ? relationsByName(ctx.model).get(gate.table) : undefined;
  if (!gate || !view || !t) return null;
  const seesAll = seesEveryRow(ctx, fn, t);
  const shadowed = t.columns.some((c) => gate.paramNames.includes(c.name));
  return seesAll && !shadowed ? { table: gate.table, key: gate.key, ways: view.ways, yields: view.yields, arg: view.column } : null;
}

const sameRow = (a: RowGate, b: RowGate) => a.table === b.table && a.key.join() === b.key.join() && a.yields === b.yields;

/**
 * The gate a write policy's expression puts on every caller: each OR-ed branch AND-s at least one
 * helper call that is a gate on the caller's row of `rel` (other tests in it only narrow it further);
 * null when a branch has none, or anything else stands in it.
 */
function writeGate(ctx: CatalogLintContext, rel: Relation, e: ExprAnalysis | null): RowGate | null {
  const form = e?.gateForm ?? null;
  if (!form || form.length === 0) return null;
  const ways: string[][] = [];
  for (const branch of form) {
    const gates = branch.filter((x): x is GateCall => x !== 'other').map((c) => gateOfCall(ctx, c));
    if (gates.length === 0 || gates.some((g) => g === null || g.table !== rel.qualified || !sameRow(g, gates[0]!))) return null;
    ways.push(...gates.reduce<string[][]>((acc, g) => acc.flatMap((a) => g!.ways.map((w) => [...new Set([...a, ...w])])), [[]]));
  }
  const first = gateOfCall(ctx, form[0]!.find((x): x is GateCall => x !== 'other')!)!;
  return { table: first.table, key: first.key, ways };
}

/**
 * The gates through which policy `p` reads the caller's row of `rel`: every helper call in its
 * expressions that reads that row is a gate on it (RowGate), nothing else in them reads it (no
 * sub-select, no other helper on it); null otherwise.
 */
export function readGates(ctx: CatalogLintContext, p: Policy, rel: Relation): RowGate[] | null {
  const a = ctx.analysis(p);
  const out: RowGate[] = [];
  const readsRel = (name: string) => (helpersByName(ctx.model).get(name) ?? []).some((fn) => ctx.functionFacts(fn).some((f) => f.table === rel.qualified) || ctx.functionAnalysis(fn).reads.some((r) => r.table === rel.qualified));
  for (const e of [a.using, a.check]) {
    if (!e) continue;
    if (e.gateForm) {
      for (const call of e.gateForm.flat()) {
        if (call === 'other') continue;
        const g = gateOfCall(ctx, call) ?? viewOfCall(ctx, call);
        if (g && g.table === rel.qualified) out.push(g);
        else if (readsRel(call.name)) return null;
      }
      continue;
    }
    // Sub-selects in the policy itself (`exists (select 1 from user_roles ur where ur.user_id = auth.uid() and ur.role =
    // 'admin')`): each that reads the table must be a gate on the caller's row, read as a LANGUAGE sql helper's
    // `select exists (…)` would be, and stand under AND and OR only (under NOT, a caller passes by failing it); a
    // helper call anywhere in the expression that reads the table leaves the reading open, but for one that is all of
    // a `x in (select f())` standing so, f a set-returning helper yielding a column of the caller's rows (a set gate),
    // and a gate call standing so (`(team_id is not null and is_team_member(team_id)) or person_id in (select …)`).
    for (const site of e.callsBesideMemberships) {
      if (!readsRel(site.name)) continue;
      const relayed = site.relay ? relayedGate(ctx, p, site.relay) : null;
      if (relayed) {
        if (relayed.gate.table !== rel.qualified) return null;
        out.push(relayed.gate);
        continue;
      }
      const g = site.positive && site.call ? (gateOfCall(ctx, site.call) ?? viewOfCall(ctx, site.call)) : null;
      if (!g || g.table !== rel.qualified) return null;
      out.push(g);
    }
    const sets = new Set<unknown>();
    for (const m of e.memberships) {
      if (!readsRel(m.call.name)) continue;
      const g = m.positive ? setGateOfCall(ctx, m.call) : null;
      if (!g || g.table !== rel.qualified) return null;
      out.push(g);
      sets.add(m.body);
    }
    for (const s of e.subselects) {
      if (sets.has((s.node as { SubLink: unknown }).SubLink)) continue;
      if (!s.tables.includes(rel.qualified)) continue;
      const g = s.positive ? subselectGate(s.node) : null;
      if (!g || g.table !== rel.qualified) return null;
      out.push(g);
    }
  }
  return out.length > 0 && out.every((g) => sameRow(g, out[0]!)) ? out : null;
}

/**
 * A helper call that reads a row of another table the policy's row points to (expr.ts's Relay: `exists (select 1 from
 * boards where boards.id = columns.board_id and can_edit_project(boards.project_id))`, or `is_game_master_in_campaign((select
 * characters.campaign_id from characters where characters.id = character_permissions.character_id))`), read as the
 * boolean gate handed that row's column (viewOfCall): true exactly when the pointed-to row's column holds one of the
 * values the caller's rows that pass yield. That is what the policy decides on only when the pointed-to row is the one
 * the policy's row names for good: the sub-select ties a column `k` of its table, unique on its own, to a column `c` of
 * the policy's row that a foreign key makes reference that very `k` (so the row exists, and no second row can take its
 * value: a row the caller inserts has another `k`). Null otherwise — the rule then reads the policy as before (the
 * reading is left open, and a path on the caller's row is reported). `relayed` also gives the pointed-to table and
 * column, whose own writers relayHoles asks about.
 */
export function relayedGate(ctx: CatalogLintContext, p: Policy, site: { call: GateCall; relay: Relay }): { gate: RowGate; table: Relation; column: string; key: string; via: string } | null {
  const { relay } = site;
  const byName = relationsByName(ctx.model);
  const t = byName.get(relay.table);
  const own = byName.get(p.table);
  if (!t || !own || !isTable(t) || t.qualified === own.qualified) return null;
  const has = (r: Relation, c: string) => r.columns.some((x) => x.name === c);
  // A reference as the sub-select reads it: its table's column (`alias.x`, or a bare name the table has), or the policy row's
  // (`<policy's table>.c`, or a bare name only the policy's table has). Anything else (another alias, a schema-qualified name) is unread.
  const side = (f: readonly string[]): { of: 't' | 'own'; column: string } | null => {
    if (f.length === 2 && f[0] === relay.alias && has(t, f[1]!)) return { of: 't', column: f[1]! };
    if (f.length === 2 && f[0] === own.name && f[0] !== relay.alias && has(own, f[1]!)) return { of: 'own', column: f[1]! };
    if (f.length === 1 && has(t, f[0]!)) return { of: 't', column: f[0]! };
    if (f.length === 1 && has(own, f[0]!)) return { of: 'own', column: f[0]! };
    return null;
  };
  const x = side(relay.column);
  if (x?.of !== 't') return null;
  const tie = relay.ties
    .map(([a, b]) => [side(a), side(b)] as const)
    .map(([a, b]) => (a?.of === 't' && b?.of === 'own' ? { key: a.column, column: b.column } : b?.of === 't' && a?.of === 'own' ? { key: b.column, column: a.column } : null))
    .find((y) => y !== null && uniqueWithin(t, (c) => c === y.key) && own.foreignKeys.some((fk) => fk.refTable === t.qualified && fk.columns.length === 1 && fk.columns[0] === y.column && fk.refColumns[0] === y.key));
  if (!tie) return null;
  const gate = viewOfCall(ctx, { name: site.call.name, args: site.call.args.map((a, i) => (i === relay.at ? { column: x.column } : a)) });
  return gate ? { gate, table: t, column: x.column, key: tie.key, via: tie.column } : null;
}

/**
 * The paths by which `role` changes the pointed-to row's column a relayed gate reads (or the key the policy's row points
 * by) on a row that does not pass the gate yet: UPDATE of either column (table or column privilege), where the table has
 * no row-level security or a permissive UPDATE policy admits the row on something else than that gate (the same helper
 * handed the same column, every way through it one of the policy's: `is_game_master_in_campaign(campaign_id)` on
 * characters). Through such a path a user moves a row someone else's rows point to under a value they pass (a
 * character-permission holder moves the character into a campaign they run), then passes the policy on those rows.
 * A row they INSERT takes a new key (unique), which no existing row of the policy's table points to.
 */
function relayPath(ctx: CatalogLintContext, r: NonNullable<ReturnType<typeof relayedGate>>, role: string): string | null {
  const { table: t, gate } = r;
  if (![r.column, r.key].some((c) => canWriteColumn(ctx, t, role, 'UPDATE', c))) return null;
  if (!t.rls) return `UPDATE (${t.qualified} has no row-level security)`;
  const keeps = (x: GateCall | 'other') => {
    const g = x === 'other' ? null : viewOfCall(ctx, x);
    return g !== null && g.arg === r.column && implies(g, gate);
  };
  const open = policiesFor(ctx.model, t, role, 'UPDATE', true).filter((q) => {
    if (!admitsWrite(ctx, q, 'UPDATE')) return false;
    const form = ctx.analysis(q).using?.gateForm ?? null;
    return !(form && form.length > 0 && form.every((branch) => branch.some(keeps)));
  });
  return open.length > 0 ? `UPDATE, policy ${open.map((q) => q.name).join(', ')}` : null;
}

/** A policy's sub-select read as a gate on the caller's row (caller-gate.ts's gateOf, the caller's id from auth.uid()), or null. */
function subselectGate(node: unknown): RowGate | null {
  try {
    const gate = gateOf(node, null, { params: [], fnName: '', locals: new Set() }, 'public', new Set());
    const ways = gate.passes([]);
    return ways ? { table: gate.table, key: gate.key, ways } : null;
  } catch (e) {
    if (e instanceof NotAGate) return null;
    throw e;
  }
}

/** Every way through `w` already passes `r`: each of its sets of atoms holds one of r's. */
function implies(w: RowGate, r: RowGate): boolean {
  return sameRow(w, r) && w.ways.every((x) => r.ways.some((y) => y.every((atom) => x.includes(atom))));
}

/**
 * How `role` can set `column` on a row of its own in `rel`, or null when it cannot.
 * `held`: the gates through which the policy asking reads that row (readGates). A write policy
 * whose own gate on the caller's row (by a unique key) already implies each of them opens no
 * path: only a caller who passes the policy already can take it (an admin-gated management policy).
 */
export function writePath(ctx: CatalogLintContext, rel: Relation, role: string, column: string, boundBy: readonly string[], held: readonly RowGate[] | null = null): string | null {
  const table = privilegesOf(ctx, rel, role);
  const columns = columnPrivilegesOf(ctx, rel, role);
  const can = (priv: 'UPDATE' | 'INSERT') => table.includes(priv) || (columns.get(priv)?.includes(column) ?? false);
  // A check that names the column constrains it (pins it, or compares it with the old value).
  // Permissive policies are OR-ed, so the caller takes the one that does not: every
  // permissive policy must name it, or one restrictive policy.
  const asserts = (p: Policy, command: 'UPDATE' | 'INSERT') => {
    const a = ctx.analysis(p);
    const judge = command === 'UPDATE' ? (a.check ?? a.using) : a.check;
    // Outside NOT: `not exists (… m.org_id = t.org_id …)` rules one org out and lets every other in.
    return judge?.assertedColumns.includes(column) ?? false;
  };
  // A permissive policy that is constantly false (`using (false)`) lets nothing through: it opens no
  // path. Nor does an INSERT check that requires, through a helper handed the new row's columns, the
  // caller's existing row with the same key as the new one (`(select private.is_org_owner(org_id))`
  // over `members m where m.org_id = p_org and m.user_id = auth.uid() and m.role = 'owner'`, under a
  // unique (org_id, user_id)): a row of the caller's own would collide with the row the check asks
  // for, so only rows for other users pass (owners adding members). (The same test written as a
  // sub-select on the table in its own policy is refused by Postgres as infinite recursion.)
  const keyed = (r: { table: string; boundBy: string[]; rowEquals: string[] }) =>
    r.table === rel.qualified && uniqueWithin(rel, (c) => r.rowEquals.includes(c) || (r.boundBy.includes(c) && boundBy.includes(c)));
  const noOwnInsert = (p: Policy) =>
    (ctx.analysis(p).check?.requiredCalls ?? []).some(({ name, argColumns }) => {
      const fns = helpersByName(ctx.model).get(name) ?? [];
      return (
        fns.length > 0 &&
        fns.every((fn) => ctx.functionAnalysis(fn).requiredCallerRows(argColumns, rel.name).some(keyed))
      );
    });
  // The row a gate reads is the caller's only when its key is unique (SELECT INTO and a LANGUAGE sql scalar take the first row found).
  const oneRow = (g: RowGate) => uniqueWithin(rel, (c) => g.key.includes(c));
  // A set gate's write side: the expression has a conjunct `<c> in (select f())`, c the column f yields, f a set gate on
  // this table whose every way through is one of each held gate's. Every row it lets through then holds in c a value
  // the caller already had in the held sets before the statement (f is read on the statement's snapshot).
  // Or, as gateForm reads it, every OR branch AND-s a call of a boolean gate handed that column (`has_team_role(team_id,
  // array['owner'])` over `tm.team_id = p_team_id`).
  // For INSERT it is enough that every way through needs the caller's own row holding that value, under a unique key on the
  // column and the caller's key: the caller's own new row would collide with it, so only rows of other users pass.
  const keeps = (g: RowGate | null, column: string | null, command: 'UPDATE' | 'INSERT') =>
    g !== null &&
    g.table === rel.qualified &&
    g.yields === column &&
    (held!.every((r) => implies(g, r)) || (command === 'INSERT' && g.ways.every((w) => w.includes(ROW_FOUND)) && uniqueWithin(rel, (c) => c === g.yields || g.key.includes(c))));
  const setHeld = (e: ExprAnalysis | null, command: 'UPDATE' | 'INSERT') =>
    (e?.memberships ?? []).some((m) => m.conjunct && m.positive && keeps(setGateOfCall(ctx, m.call), m.column, command)) ||
    (e?.gateForm?.length
      ? e.gateForm.every((branch) =>
          branch.some((x) => {
            const g = x === 'other' ? null : viewOfCall(ctx, x);
            return keeps(g, g?.arg ?? null, command);
          }),
        )
      : false);
  const alreadyHeld = (p: Policy, command: 'UPDATE' | 'INSERT') => {
    if (!held || held.length === 0) return false;
    const a = ctx.analysis(p);
    // Set gates (`org_id in (select my_admin_orgs())` read, `org_id in (select my_admin_orgs())` on the write): every row
    // the caller leaves or inserts (WITH CHECK, USING when it has none) holds one of the caller's values already, so the
    // caller's sets gain none, whichever rows they start from (an org admin writes rows of orgs they admin).
    if (held.every((r) => r.yields !== undefined)) return setHeld(a.check ?? (p.command === 'ALL' || command === 'UPDATE' ? a.using : null), command);
    // UPDATE: USING picks the rows, so a caller it refuses updates none; INSERT: the check (USING for an ALL policy without one).
    const gate = writeGate(ctx, rel, command === 'UPDATE' ? a.using : (a.check ?? (p.command === 'ALL' ? a.using : null)));
    if (gate === null || !oneRow(gate) || !held.every((r) => sameRow(gate, r))) return false;
    // Or, for INSERT, every way through needs the caller's row already: their own row would collide with it on the unique key.
    return held.every((r) => implies(gate, r)) || (command === 'INSERT' && gate.ways.every((w) => w.includes(ROW_FOUND)));
  };
  // A write policy whose check (USING when it has none) holds a column to a constant, AND-ed at its top, that every way
  // through each held gate needs another value in (`with check (user_id = auth.uid() and role = 'viewer')`, a self-join,
  // beside a gate on `role = 'admin'`): no row it lets the caller write passes a gate, so it opens no path to what they
  // guard (whether the caller can then change that column is that column's own write path). Values are compared
  // ignoring case, in case the column's type or collation does (citext).
  const failsHeld = (p: Policy, command: 'UPDATE' | 'INSERT') => {
    if (!held || held.length === 0) return false;
    const a = ctx.analysis(p);
    const fixed = (command === 'UPDATE' ? (a.check ?? a.using) : (a.check ?? (p.command === 'ALL' ? a.using : null)))?.fixedValues;
    if (!fixed || fixed.size === 0) return false;
    const refutes = (atom: string) => {
      const at = atom.indexOf('=');
      const value = at > 0 ? fixed.get(atom.slice(0, at)) : undefined;
      return value !== undefined && value.toLowerCase() !== atom.slice(at + 1).toLowerCase();
    };
    return held.every((g) => g.ways.every((way) => way.some(refutes)));
  };
  const permissiveFor = (command: 'UPDATE' | 'INSERT') => policiesFor(ctx.model, rel, role, command, true).filter((p) => admitsWrite(ctx, p, command) && !(command === 'INSERT' && noOwnInsert(p)) && !alreadyHeld(p, command) && !failsHeld(p, command));
  const pinned = (command: 'UPDATE' | 'INSERT') =>
    policiesFor(ctx.model, rel, role, command, false).some((p) => asserts(p, command)) || permissiveFor(command).every((p) => asserts(p, command));
  if (can('UPDATE')) {
    // A BEFORE UPDATE OF <column> trigger, or one that resets or checks it, is where such a column is usually guarded.
    if (!triggerGuards(ctx, rel, column, 'UPDATE')) {
      if (!rel.rls) return `UPDATE (${rel.qualified} has no row-level security)`;
      const permissive = permissiveFor('UPDATE');
      if (permissive.length > 0 && !pinned('UPDATE')) return `UPDATE, policy ${permissive.filter((p) => !asserts(p, 'UPDATE')).map((p) => p.name).join(', ')}`;
    }
  }
  if (can('INSERT')) {
    // A unique key on what ties the row to the caller leaves room for one row only: theirs already when
    // a trigger on auth.users made it at sign-up and they cannot delete it. Otherwise a user who has no
    // row yet (or deletes theirs) inserts it with the column set as they like.
    const oneRowEach = uniqueWithin(rel, (c) => boundBy.includes(c));
    if ((!oneRowEach || !madeAtSignUp(ctx, rel) || mayDelete(ctx, rel, role)) && !triggerGuards(ctx, rel, column, 'INSERT')) {
      if (!rel.rls) return `INSERT (${rel.qualified} has no row-level security)`;
      const permissive = permissiveFor('INSERT');
      if (permissive.length > 0 && !pinned('INSERT')) return `INSERT, policy ${permissive.filter((p) => !asserts(p, 'INSERT')).map((p) => p.name).join(', ')}`;
    }
  }
  return null;
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-trusts-writable-column',
  level: 'error',
  category: 'security',
  description: "policy trusts a column of the caller's own row that the caller can write (e.g. profiles.is_admin)",
  docs: "A policy that looks the caller up in another table (a profile, a membership) and decides on what it finds there (is_admin, role, org_id) is only as strong as that row: if the same API role may UPDATE the column on its own row, or INSERT a row of its own, any signed-in user can promote themselves. The rule follows table and column privileges, row-level security and the UPDATE/INSERT policies of the looked-up table; a check that names the column outside NOT (in every permissive INSERT/UPDATE policy, since they are OR-ed, or in a restrictive one), a BEFORE UPDATE OF <column> trigger or a BEFORE INSERT/UPDATE row trigger whose PL/pgSQL function assigns new.<column> or raises an error while reading it (`if new.org_id <> (select …) then raise exception …`), or (for inserts) a unique key on the caller's id when a trigger on auth.users creates that row at sign-up (an INSERT in its PL/pgSQL function) and the caller cannot delete it counts as guarding it — without such a trigger the user's first row is the one they insert, with the column set as they like, a permissive policy that is constantly false (`using (false)`, `with check (false)`) opens nothing, nor does one whose check (USING without one) holds a column to a constant at its top, AND-ed, that every way through the gate the policy asking reads the row with needs another value in (`with check (user_id = auth.uid() and role = 'viewer')`, a self-join, beside `is_project_admin(project_id)` over `… and role = 'admin'`: the viewer's row passes no admin gate, and whether they can then change role is role's own path), nor does an INSERT check that requires, through a LANGUAGE sql or one-RETURN plpgsql helper handed the new row's columns, the caller's existing row with the same unique key (`(select private.is_org_owner(org_id))` over `members m where m.org_id = p_org and m.user_id = auth.uid() and m.role = 'owner'`, primary key (org_id, user_id): owners add others, never themselves; the caller's id may be handed in too, `is_org_maintainer(auth.uid(), org_id)`), and so does a unique key on the column itself (`exists (select 1 from workouts w where w.id = sets.workout_id and w.user_id = auth.uid())` trusts w.id, which the caller cannot set to another workout's id) — unless the policy compares it with a constant or with a column of another table that no foreign key ties to it (`m.invite_code in (select code from invites)`, `has_code('VIP')` over `m.invite_code = _code`): such a value is any user's to claim while no one holds it. A write policy gated on the caller's own row opens no path when only a caller who passes the policy already can take it: its USING (UPDATE) or check (INSERT) calls a helper that sees every row of the table (no RLS, or SECURITY DEFINER owned by its owner without FORCE or by a BYPASSRLS role, or, run as its caller, a table every API role that may read it reads in full: a permissive SELECT policy true for every row, none restrictive — `using (true)` on memberships anyone may list) and reads the caller's row by a unique key — a PL/pgSQL one that SELECTs it INTO variables, returns false when there is none (`if r is null` / `if not found`) and returns a test of them (`has_perm('manage', auth.uid())` over `select o.role into r from operators o where o.user_id = v and o.is_active … return r = 'founder' or p = 'read'`), or one whose body is one SELECT, LANGUAGE sql or a PL/pgSQL RETURN (`select exists (select 1 from operators o where o.user_id = v and (o.role = 'founder' or p = 'read'))`, or `select o.role = 'founder' from operators o where o.user_id = v`, NULL without the row, or such a SELECT INTO a boolean variable the body then returns), the parameters folded with the call's constants (a parameter named like a column of the table is that column in LANGUAGE sql: no such gate) — and every way through it is also a way through each such gate the policy asking reads the row with (has_perm('reports', …): founders again), or each sub-select of its own that reads the table, standing under AND and OR only (`exists (select 1 from user_roles ur where ur.user_id = auth.uid() and ur.role = 'admin')` beside an is_admin() gate), or, for INSERT, every way through needs the caller's existing row (their own new row would collide with it); likewise a set-returning LANGUAGE sql helper that selects one column of the caller's rows (`org_id in (select get_user_admin_org_ids())` over `select org_id from org_members where user_id = auth.uid() and role in ('owner', 'admin')`, read under AND, OR and EXISTS or IN sub-selects of plain SELECTs), or a boolean helper handed a column of the policy's row that its body compares once with a column of the caller's row (`has_team_role(team_id, array['owner', 'coach'])` over `exists (select 1 from team_members tm where tm.team_id = p_team_id and tm.user_id = auth.uid() and tm.deleted_at is null and tm.role::text = any (p_roles))`, which is `team_id in` the caller's teams that pass; AND-ed or OR-ed beside other tests, sub-selects included), when every write policy's check (USING when it has none) has a conjunct `<that column> in (select …)` of such a helper, or every OR branch such a call handed that column, on the same table whose every way through is one of the read helper's — or, for INSERT, needs the caller's row holding the value, under a unique key on that column and the caller's (their own new row would collide with it): each row the caller writes holds a value they already had, so their set gains none; a gate any operator passes (`return r is not null`, `or p = 'manage'` called with 'manage') still opens the path to what only founders pass, as does a gate on another table or one that passes without a row. LANGUAGE sql and plpgsql helpers the policy calls (an is_admin() that reads the caller's profile, or a has_role(auth.uid(), 'admin') handed the caller's id) are followed; in PL/pgSQL, a variable that only ever holds auth.uid() counts as the caller's id. A gate helper reading a row of another table the policy's row points to is followed too — called in the WHERE of an EXISTS or IN sub-select over that one table, under AND and OR only (`exists (select 1 from boards b where b.id = columns.board_id and can_edit_project(b.project_id))`, `board_id in (select b.id from boards b where can_edit_project(b.project_id))`), or handed a scalar sub-select of one column of it (`is_game_master_in_campaign((select c.campaign_id from characters c where c.id = character_permissions.character_id))`) — read as the helper handed that row's column, when the sub-select ties a column unique on its own to a column of the policy's row that a foreign key makes reference it (the row exists, and no row the caller inserts can take its key); NOT EXISTS, a CASE, a table without such a key or foreign key leave the reading open, as before. The pointed-to column is then asked about in turn: where a role may UPDATE it, or that key, and the table has no row-level security or a permissive UPDATE policy admits a row on anything but the same gate handed the same column (`using (is_game_master_in_campaign(campaign_id) or has_character_permissions(id))`), the policy is reported: a user moves a row others point to under a value they pass, then passes the policy on those rows. anon is named only for a row looked up by a claim anon carries: one looked up by the user's id or email is never a request without a user's own.",
  fix: 'keep authorization data out of the user\'s reach: grant UPDATE only on the columns users may edit (grant update (display_name) on …), pin the column in the UPDATE policy\'s WITH CHECK, or keep roles in a table or in app_metadata that only the service role writes',
  check(ctx) {
    const out: RawFinding[] = [];
    const byName = relationsByName(ctx.model);
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        const facts = policyCallerFacts(ctx, p);
        if (facts.length === 0) continue;
        // Roles the policy lets through to this table (a role without the privilege never reaches it).
        const roles = apiRolesOf(ctx, p).filter((r) => !bypassesRls(ctx.model, r) && commandsOf(p).some((c) => hasPrivilege(ctx, rel, r, c)));
        const holes: string[] = [];
        for (const fact of facts) {
          const looked = byName.get(fact.table);
          if (!looked || !isTable(looked)) continue;
          const held = readGates(ctx, p, looked);
          for (const column of fact.columns) {
            if (heldKey(looked, fact, column)) continue;
            for (const role of roles) {
              const path = writePath(ctx, looked, role, column, fact.boundBy, held);
              if (!path) continue;
              // A row looked up by the user's id (`user_id = auth.uid()`) is never a request without a user's own,
              // whatever it writes; nor is any row when every write path is tied to auth.uid().
              if (role === ctx.anonRole && (fact.byUser || !writableWithoutUser(ctx, looked, role))) continue;
              const hole = `${fact.table}.${column} (${fact.via ? `read by ${fact.via}; ` : ''}${role}: ${path})`;
              if (!holes.includes(hole)) holes.push(hole);
            }
          }
        }
        // The rows another table's row points to: whoever moves that row under a value they pass passes the policy on them.
        const moved: string[] = [];
        const a = ctx.analysis(p);
        for (const e of [a.using, a.check]) {
          for (const site of e?.callsBesideMemberships ?? []) {
            const r = site.relay && site.positive ? relayedGate(ctx, p, site.relay) : null;
            if (!r) continue;
            for (const role of roles) {
              const path = relayPath(ctx, r, role);
              const hole = `${r.table.qualified}.${r.column} of the row ${r.via} points to (read by ${site.name}(); ${role}: ${path})`;
              if (path && !moved.includes(hole)) moved.push(hole);
            }
          }
        }
        if (holes.length === 0 && moved.length === 0) continue;
        const own = holes.length > 0 ? `${listWords(holes)} of the caller's own row, which the caller can write: a user can set it themselves and pass the policy` : '';
        const other = moved.length > 0 ? `${listWords(moved)}, which the caller can change on a row that does not pass yet: a user can move that row under a value they pass and pass the policy on the rows pointing to it` : '';
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} decides on ${[own, other].filter((x) => x).join('; and on ')}`,
        });
      }
    }
    return out;
  },
};
