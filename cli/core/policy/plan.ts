/**
 * (current, desired) security state → ordered steps. Pure.
 *
 * Matching policies of one table: equal name and body → nothing; equal body,
 * different name → RENAME; same name, changed roles/USING/WITH CHECK (no clause
 * removed) → one ALTER POLICY; same name, changed command or kind, or a removed
 * clause (ALTER POLICY cannot remove one) → drop and create; a policy that goes
 * and one that comes under another name for the same command, kind and roles →
 * drop and create judged as one replacement; a FOR ALL policy split into one
 * policy per command that each mean the same for it (or four merged into one FOR
 * ALL) → the new policies created, then the old ones dropped, each neutral; the
 * rest → drop or create.
 *
 * Ordering, so access never widens midway (every intermediate state is at most
 * as wide as the start or the end; all steps run in one transaction anyway):
 *   0 REVOKE
 *   1 DISABLE RLS / NO FORCE (before the drops they make moot)
 *   2 FORCE
 *   3 renames to a temporary name (freeing names, no access change)
 *   4 narrowing policy steps: create restrictive, drop permissive, narrowing ALTER
 *   5 renames to final names
 *   6 the other permissive steps: create, ALTER
 *   7 the other restrictive steps: drop, ALTER
 *   8 ENABLE RLS (after its policies exist)
 *   9 GRANT
 * So a restrictive policy is replaced by creating the new one before dropping the
 * old, a permissive one by dropping the old before creating the new. Every
 * permissive policy takes its final form (6) while the restrictions of both ends
 * still hold, and only then are restrictions lifted (7): a permissive ALTER that
 * cannot be ranked (may widen) never runs without the restrictions. Name clashes
 * (swaps, a new policy taking the name of one being removed) go through a
 * temporary name, found by simulating the names step by step.
 */
import { PUBLIC, type Policy } from '../catalog/model.js';
import {
  alterEffects,
  columnEffect,
  createEffect,
  dropEffect,
  exprDirection,
  grantEffect,
  isWidening,
  listText,
  policyLabel,
  replaceEffect,
  revokeEffect,
  type Hazard,
  type PolicyContext,
} from './effects.js';
import { sameBody, sameRoles, type SecurityState, type TableSecurity } from './state.js';
import type { SameExpression } from './expr-equal.js';
import type { AntitoneReads } from './antitone-reads.js';

interface StepBase {
  /** `schema.table` (catalog/model.ts qualified(): a part quoted only when it holds a dot or starts with a quote). */
  table: string;
  schema: string;
  tableName: string;
  hazard: Hazard;
  /** Plain-language effects, first one the headline. */
  effects: string[];
  /** Execution phase (see the file comment); steps are sorted by it. */
  phase: number;
}

export type Step =
  | (StepBase & { kind: 'grant'; grantee: string; privileges: string[] })
  /**
   * grantedBy: roles other than the owner that granted some of these privileges; the REVOKE is issued as each of them too.
   * cascade: the grantee passed some of them on with a grant option, so the REVOKE needs CASCADE; regrant: what
   * that takes from grantees who keep it in the desired state, granted back in the same step.
   */
  | (StepBase & { kind: 'revoke'; grantee: string; privileges: string[]; grantedBy?: string[]; cascade?: true; regrant?: Record<string, string[]> })
  | (StepBase & { kind: 'grant-columns'; grantee: string; columns: Record<string, string[]> })
  | (StepBase & { kind: 'revoke-columns'; grantee: string; columns: Record<string, string[]>; grantedBy?: string[] })
  | (StepBase & { kind: 'enable-rls' | 'disable-rls' | 'force-rls' | 'no-force-rls' })
  | (StepBase & { kind: 'create-policy'; policy: Policy; replaces: boolean })
  | (StepBase & { kind: 'drop-policy'; name: string; policy: Policy; replacedBy: boolean })
  | (StepBase & { kind: 'alter-policy'; name: string; before: Policy; after: Policy })
  | (StepBase & { kind: 'rename-policy'; name: string; newName: string; temporary: boolean });

export type StepKind = Step['kind'];

export interface OneSided {
  table: string;
  kind: string;
  side: 'from' | 'to';
}

export interface PolicyPlan {
  steps: Step[];
  /** Relations that exist on only one side: reported, never created or dropped here. */
  onlyOnOneSide: OneSided[];
  /** Relations whose kind differs (a table on one side, a view on the other). */
  kindMismatch: Array<{ table: string; from: string; to: string }>;
  /**
   * Relations where other API roles act as the owner on each side (TableSecurity.ownerActors):
   * such a role skips the policies unless RLS is forced and holds every privilege, and policies/
   * does not change owners, so no step can make the sides match.
   */
  ownerMismatch: Array<{ table: string; from: { owner: string; actors: readonly string[] }; to: { owner: string; actors: readonly string[] } }>;
  /** Relations compared. */
  compared: number;
}

export function hasDifference(plan: PolicyPlan): boolean {
  return plan.steps.length > 0 || plan.onlyOnOneSide.length > 0 || plan.kindMismatch.length > 0 || plan.ownerMismatch.length > 0;
}


/**
 * `to` with each policy expression that means the same as one of the table's
 * policies on the `from` side written as there (see expr-equal.ts), so operand
 * order alone is never a change.
 */
function adoptEquivalentExpressions(from: SecurityState, to: SecurityState, same: SameExpression): SecurityState {
  const tables = new Map(to.tables);
  for (const [q, want] of to.tables) {
    const cur = from.tables.get(q);
    if (!cur || cur.policies.length === 0) continue;
    const texts = [...new Set(cur.policies.flatMap((p) => [p.using, p.check]).filter((t): t is string => t !== null))];
    // DISTINCT sides are operand order only when neither expression has one whose = has no commutator.
    const fixedFrom = sidesFixedTexts(cur.policies);
    const fixedTo = sidesFixedTexts(want.policies);
    const adopt = (t: string | null) =>
      t === null || texts.includes(t) ? t : (texts.find((c) => same(c, t, { swapDistinct: !fixedFrom.has(c) && !fixedTo.has(t) })) ?? t);
    const policies = want.policies.map((p) => {
      const using = adopt(p.using);
      const check = adopt(p.check);
      return using === p.using && check === p.check ? p : { ...p, using, check };
    });
    if (policies.some((p, i) => p !== want.policies[i])) tables.set(q, { ...want, policies });
  }
  return { ...to, tables };
}

/** The USING / WITH CHECK texts of `policies` that have DISTINCT sides which may not be swapped (Policy.usingSidesFixed). */
function sidesFixedTexts(policies: readonly Policy[]): Set<string> {
  const fixed = new Set<string>();
  for (const p of policies) {
    if (p.usingSidesFixed && p.using !== null) fixed.add(p.using);
    if (p.checkSidesFixed && p.check !== null) fixed.add(p.check);
  }
  return fixed;
}

/**
 * The steps that turn `from` into `to`. With `sameExpression` (expressionsEqual()),
 * expressions that differ only in operand order count as equal. With `antitone`
 * (antitoneReads()), a step that narrows what a table shows is may-widen when a
 * policy on either side reads that table where fewer rows can let more through
 * (NOT EXISTS, NOT IN, a count): see antitone-reads.ts.
 */
export function planPolicyChanges(from: SecurityState, desired: SecurityState, sameExpression?: SameExpression, antitone?: AntitoneReads): PolicyPlan {
  const to = sameExpression ? adoptEquivalentExpressions(from, desired, sameExpression) : desired;
  const steps: Step[] = [];
  const onlyOnOneSide: OneSided[] = [];
  const kindMismatch: PolicyPlan['kindMismatch'] = [];
  const ownerMismatch: PolicyPlan['ownerMismatch'] = [];
  let compared = 0;
  // Exempt on both sides (two servers can differ in their roles).
  const exempt = new Set(from.rlsExempt.filter((r) => to.rlsExempt.includes(r)));
  const policyNames = new Map<string, Set<string>>();
  const readers = antitone ? antitoneReaders(from, to, antitone) : NO_READERS;
  const names = [...new Set([...from.tables.keys(), ...to.tables.keys()])].sort();
  for (const q of names) {
    const cur = from.tables.get(q);
    const want = to.tables.get(q);
    if (!cur || !want) {
      const t = (cur ?? want)!;
      onlyOnOneSide.push({ table: q, kind: t.kind, side: cur ? 'from' : 'to' });
      continue;
    }
    if (cur.kind !== want.kind && !(isTableKind(cur.kind) && isTableKind(want.kind))) {
      kindMismatch.push({ table: q, from: cur.kind, to: want.kind });
      continue;
    }
    compared++;
    if (!sameRoles(cur.ownerActors, want.ownerActors)) {
      ownerMismatch.push({ table: q, from: { owner: cur.owner, actors: cur.ownerActors }, to: { owner: want.owner, actors: want.ownerActors } });
    }
    policyNames.set(q, new Set([...cur.policies, ...want.policies].map((p) => p.name)));
    const tableSteps = planTable(cur, want, to.grantees, exempt);
    const readBy = readers.get(q);
    if (readBy) for (const s of tableSteps) if (s.hazard === 'narrows' && narrowsWhatItShows(s, tableSteps)) lessShownMayWiden(s, q, readBy);
    steps.push(...tableSteps);
  }
  const tableRank = new Map(names.map((q, i) => [q, i]));
  return { steps: order(steps, policyNames, tableRank), onlyOnOneSide, kindMismatch, ownerMismatch, compared };
}

const NO_READERS: ReadonlyMap<string, string[]> = new Map();

/**
 * Table read → the policies (on either side) that read it where fewer visible rows can
 * admit more. A view read that way reads the relations of its query, which may show less
 * through it (either way: the view's own query may negate them), and so on through views.
 */
function antitoneReaders(from: SecurityState, to: SecurityState, antitone: AntitoneReads): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (read: string, label: string, seen: Set<string>) => {
    if (seen.has(read)) return;
    seen.add(read);
    const list = out.get(read) ?? out.set(read, []).get(read)!;
    if (!list.includes(label)) list.push(label);
    for (const state of [from, to]) for (const r of state.tables.get(read)?.viewReads ?? []) add(r, `${label} (through ${read})`, seen);
  };
  for (const state of [from, to]) {
    for (const t of state.tables.values()) {
      for (const p of t.policies) {
        const label = `policy ${policyLabel(p.name)} on ${t.qualified}`;
        for (const e of [p.using, p.check]) {
          // No sub-select reading a relation: pg_get_expr writes its keywords in capitals (`( SELECT auth.uid() AS uid)` reads none).
          if (e === null || !e.includes(' FROM ')) continue;
          for (const read of antitone(e)) add(read, label, new Set());
        }
      }
    }
  }
  return out;
}

/**
 * A step that can make the table show a role fewer rows to a sub-select (which runs as
 * that role, as a SELECT): RLS enabled or forced, or a SELECT or ALL policy changed. A
 * revoked privilege makes the sub-select fail instead (42501), which admits nothing.
 * The create of a replacement carries the label of the pair: the policy it replaces
 * counts too (any the table's steps drop to be replaced).
 */
function narrowsWhatItShows(s: Step, tableSteps: readonly Step[]): boolean {
  const shows = (p: Policy) => p.command === 'SELECT' || p.command === 'ALL';
  switch (s.kind) {
    case 'enable-rls':
    case 'force-rls':
      return true;
    case 'create-policy':
      return shows(s.policy) || (s.replaces && tableSteps.some((d) => d.kind === 'drop-policy' && d.replacedBy && shows(d.policy)));
    case 'drop-policy':
      return shows(s.policy);
    case 'alter-policy':
      return shows(s.before) || shows(s.after);
    default:
      return false;
  }
}

function lessShownMayWiden(s: Step, table: string, readBy: readonly string[]): void {
  s.hazard = 'may-widen';
  s.effects.push(
    `${listText(readBy)} read${readBy.length === 1 ? 's' : ''} ${table} where fewer rows can let more through (NOT EXISTS, NOT IN, <> ALL, a count or other scalar sub-select): showing less of ${table} may widen access there`,
  );
}

function isTableKind(k: string): boolean {
  return k === 'table' || k === 'partitioned';
}

type OwnFields<S> = S extends unknown ? Omit<S, keyof StepBase> : never;

/**
 * A step of table `t`: the fields every step has, then its kind's own. Object.assign
 * rather than a spread: in a fresh process a spread costs about five times as much
 * per object, and a plan can hold tens of thousands of steps.
 */
function step(t: TableSecurity, hazard: Hazard, effects: string[], phase: number, own: OwnFields<Step>): Step {
  const base: StepBase = { table: t.qualified, schema: t.schema, tableName: t.name, hazard, effects, phase };
  return Object.assign(base, own);
}

function planTable(cur: TableSecurity, want: TableSecurity, grantees: readonly string[], exempt: ReadonlySet<string>): Step[] {
  const steps: Step[] = [];
  const rlsOn = want.rls;

  const revokes = new Map<string, string[]>();
  for (const g of grantees) {
    const revoke = (cur.grants.get(g) ?? []).filter((p) => !(want.grants.get(g) ?? []).includes(p));
    if (revoke.length) revokes.set(g, revoke);
  }
  const cascades = cur.grantsByOthers?.length ? cascadesOf(cur, revokes) : NO_CASCADES;

  for (const g of grantees) {
    const have = cur.grants.get(g) ?? [];
    const need = want.grants.get(g) ?? [];
    const revoke = revokes.get(g) ?? [];
    const grant = need.filter((p) => !have.includes(p));
    if (revoke.length) {
      // Column grants too: a table-level REVOKE takes the issuer's column grants of those privileges with it.
      // A grant another revoke here takes away by CASCADE needs no REVOKE of its own (nor could its grantor issue one).
      const grantedBy = grantorsOf(cur, g, revoke, 'table-or-column').filter((y) => revoke.some((p) => !cascades.edges.has(edgeKey(y, g, p)) && grantedTo(cur, y, g, p)));
      const lost = cascades.lost.get(g) ?? [];
      const regrant: Record<string, string[]> = {};
      // Managed grantees keep what policies/ gives them; any other role keeps what it had (rowguard does not manage it).
      for (const [d, p] of lost) if (!grantees.includes(d) || (want.grants.get(d) ?? []).includes(p)) (regrant[d] ??= []).push(p);
      const effects = [revokeEffect(want.qualified, g, revoke)];
      if (lost.length) {
        effects.push(
          `${g} passed ${lost.length === 1 ? 'it' : 'them'} on with a grant option: CASCADE also revokes ${lost.map(([d, p]) => `${p} from ${d}`).join(', ')}` +
            (Object.keys(regrant).length ? `; granted back: ${Object.entries(regrant).map(([d, ps]) => `${ps.join(', ')} to ${d}`).join(', ')}` : ''),
        );
      }
      steps.push(
        step(want, 'narrows', effects, 0, {
          kind: 'revoke',
          grantee: g,
          privileges: revoke,
          ...(grantedBy.length ? { grantedBy } : {}),
          ...(lost.length ? { cascade: true as const } : {}),
          ...(Object.keys(regrant).length ? { regrant } : {}),
        }),
      );
    }
    if (grant.length) steps.push(step(want, 'widens', [grantEffect(want.qualified, g, grant, rlsOn, want.kind)], 9, { kind: 'grant', grantee: g, privileges: grant }));

    // Column grants. Revoking a table privilege also revokes it on every column
    // (REVOKE docs), so after a table-level revoke the columns start empty.
    const haveCols = cur.columnGrants.get(g);
    const needCols = want.columnGrants.get(g);
    if (!haveCols && !needCols) continue; // the common case: no column grants on either side
    steps.push(...planColumnGrants(cur, want, g, revoke, need, haveCols ?? new Map(), needCols ?? new Map()));
  }

  if (cur.rls && !want.rls) {
    steps.push(step(want, 'widens', [`RLS disabled on ${want.qualified}: all rows visible to anyone with SELECT, and writable by anyone with INSERT/UPDATE/DELETE`], 1, { kind: 'disable-rls' }));
  }
  // FORCE binds the owner (and whoever inherits its privileges) unless it bypasses RLS anyway.
  const ownerExempt = exempt.has(cur.owner) && exempt.has(want.owner);
  const exemptNote = ownerExempt ? ` — no change in access: ${want.owner} is a superuser or has BYPASSRLS, which FORCE does not bind` : '';
  if (cur.forceRls && !want.forceRls) {
    steps.push(
      // Widens only when RLS is on at both ends: with it off before, the owner already saw every row.
      step(want, cur.rls && want.rls && !ownerExempt ? 'widens' : 'neutral', [`RLS no longer forced on ${want.qualified}: its owner (${want.owner}) bypasses its policies again${exemptNote}`], 1, {
        kind: 'no-force-rls',
      }),
    );
  }
  if (!cur.forceRls && want.forceRls) {
    steps.push(
      step(want, want.rls && !ownerExempt ? 'narrows' : 'neutral', [`RLS forced on ${want.qualified}: its owner (${want.owner}) is subject to its policies too${exemptNote}`], 2, { kind: 'force-rls' }),
    );
  }
  if (!cur.rls && want.rls) {
    const n = want.policies.length;
    const what = n === 0 ? 'it has no policies, so API roles see and write no rows' : `rows limited to what its ${n} polic${n === 1 ? 'y allows' : 'ies allow'}`;
    steps.push(step(want, 'narrows', [`RLS enabled on ${want.qualified}: ${what}`], 8, { kind: 'enable-rls' }));
  }

  steps.push(...planPolicies(cur, want, { rlsBefore: cur.rls, rlsAfter: want.rls, exempt }));
  return steps;
}

const edgeKey = (grantor: string, grantee: string, privilege: string) => `${grantor}\0${grantee}\0${privilege}`;
const NO_CASCADES = { edges: new Set<string>(), lost: new Map<string, Array<[string, string]>>() };

function grantedTo(cur: TableSecurity, grantor: string, grantee: string, privilege: string): boolean {
  return (cur.grantsByOthers ?? []).some((x) => x.grantor === grantor && x.grantee === grantee && x.privilege === privilege);
}

/**
 * What the table-level revokes take away by CASCADE: the grants each revoked grantee
 * made with its grant option, and the grants made with those, and so on. `edges`:
 * every such grant (grantor, grantee, privilege); `lost`: per revoked grantee, the
 * (grantee, privilege) pairs its REVOKE … CASCADE removes.
 */
function cascadesOf(cur: TableSecurity, revokes: ReadonlyMap<string, readonly string[]>): { edges: Set<string>; lost: Map<string, Array<[string, string]>> } {
  const edges = new Set<string>();
  const lost = new Map<string, Array<[string, string]>>();
  const table = (cur.grantsByOthers ?? []).filter((x) => x.column === null);
  for (const [g, privileges] of revokes) {
    const out: Array<[string, string]> = [];
    const queue: Array<[string, string]> = privileges.map((p) => [g, p]);
    for (let i = 0; i < queue.length; i++) {
      const [grantor, p] = queue[i]!;
      for (const x of table) {
        if (x.grantor !== grantor || x.privilege !== p || edges.has(edgeKey(grantor, x.grantee, p))) continue;
        edges.add(edgeKey(grantor, x.grantee, p));
        if (x.grantee !== g) out.push([x.grantee, p]);
        queue.push([x.grantee, p]);
      }
    }
    if (out.length) lost.set(g, out);
  }
  return { edges, lost };
}

/** Roles other than the owner that granted `g` one of `privileges`, on the table or a column (or only on a column), sorted. */
function grantorsOf(cur: TableSecurity, g: string, privileges: readonly string[], on: 'table-or-column' | 'column'): string[] {
  if (!cur.grantsByOthers?.length) return [];
  const out = new Set<string>();
  for (const x of cur.grantsByOthers) if (x.grantee === g && privileges.includes(x.privilege) && (on === 'table-or-column' || x.column !== null)) out.add(x.grantor);
  return [...out].sort();
}

function planColumnGrants(
  cur: TableSecurity,
  want: TableSecurity,
  g: string,
  revoked: readonly string[],
  tableLevel: readonly string[],
  haveCols: ReadonlyMap<string, readonly string[]>,
  needCols: ReadonlyMap<string, readonly string[]>,
): Step[] {
  const steps: Step[] = [];
  const revokeCols: Record<string, string[]> = {};
  const grantCols: Record<string, string[]> = {};
  for (const p of [...new Set([...haveCols.keys(), ...needCols.keys()])].sort()) {
    const h = revoked.includes(p) ? [] : [...(haveCols.get(p) ?? [])];
    const n = needCols.get(p) ?? [];
    const r = h.filter((c) => !n.includes(c));
    const a = n.filter((c) => !h.includes(c));
    if (r.length) revokeCols[p] = r;
    if (a.length) grantCols[p] = a;
  }
  // A column privilege the grantee also ends up holding on the whole table adds or
  // takes nothing: the table-level grant covers every column.
  const covered = (cols: Record<string, string[]>) => Object.keys(cols).every((p) => tableLevel.includes(p));
  if (Object.keys(revokeCols).length) {
    const neutral = covered(revokeCols);
    const grantedBy = grantorsOf(cur, g, Object.keys(revokeCols).map((p) => p.toUpperCase()), 'column');
    steps.push(
      step(want, neutral ? 'neutral' : 'narrows', [columnEffect(want.qualified, g, revokeCols, false, neutral)], 0, {
        kind: 'revoke-columns',
        grantee: g,
        columns: revokeCols,
        ...(grantedBy.length ? { grantedBy } : {}),
      }),
    );
  }
  if (Object.keys(grantCols).length) {
    const neutral = covered(grantCols);
    steps.push(step(want, neutral ? 'neutral' : 'widens', [columnEffect(want.qualified, g, grantCols, true, neutral)], 9, { kind: 'grant-columns', grantee: g, columns: grantCols }));
  }
  return steps;
}

function planPolicies(cur: TableSecurity, want: TableSecurity, ctx: PolicyContext): Step[] {
  const steps: Step[] = [];
  const current = new Map<string, Policy>();
  const desired = new Map<string, Policy>();
  for (const p of cur.policies) current.set(p.name, p);
  for (const p of want.policies) desired.set(p.name, p);
  const restCur = new Map<string, Policy>();
  const restWant = new Map<string, Policy>();
  for (const [n, p] of current) if (!(desired.has(n) && sameBody(p, desired.get(n)!))) restCur.set(n, p);
  for (const [n, p] of desired) if (!(current.has(n) && sameBody(p, current.get(n)!))) restWant.set(n, p);

  // Renames: an unmatched current policy whose body equals an unmatched desired one
  // (none when the current side has nothing left, e.g. diffing from an empty database).
  if (restCur.size > 0) for (const [wantName, w] of [...restWant]) {
    const match = [...restCur.values()].find((c) => sameBody(c, w));
    if (!match) continue;
    restCur.delete(match.name);
    restWant.delete(wantName);
    steps.push(
      step(want, 'neutral', [`policy ${policyLabel(match.name)} on ${want.qualified} renamed to ${policyLabel(wantName)} (no change in access)`], 5, {
        kind: 'rename-policy',
        name: match.name,
        newName: wantName,
        temporary: false,
      }),
    );
  }

  steps.push(...forAllSplitOrMerged(want, restCur, restWant));

  // Renamed and edited: a policy that goes and one that comes under another name, for
  // the same command, kind and roles, are judged as one change (the SQL stays a drop
  // and a create), so tightening a renamed policy is not reported as widening.
  const replaced = new Map<string, Policy>(); // desired name → the current policy it replaces
  for (const [name, w] of restWant) {
    if (restCur.has(name)) continue;
    const c = [...restCur.values()].find((c) => !restWant.has(c.name) && c.command === w.command && c.permissive === w.permissive && sameRoles(c.roles, w.roles));
    if (!c) continue;
    replaced.set(name, c);
    restCur.delete(c.name);
  }

  for (const [name, w] of restWant) {
    const old = replaced.get(name);
    if (old) {
      steps.push(...replaceSteps(want, old, w, ctx));
      continue;
    }
    const c = restCur.get(name);
    if (!c) {
      const e = createEffect(w, ctx);
      steps.push(step(want, e.hazard, [e.effect], w.permissive ? 6 : 4, { kind: 'create-policy', policy: w, replaces: false }));
      continue;
    }
    restCur.delete(name);
    // ALTER POLICY can change roles, USING and WITH CHECK, but not the command
    // or PERMISSIVE/RESTRICTIVE, and cannot remove a clause.
    const removesClause = (c.using !== null && w.using === null) || (c.check !== null && w.check === null);
    if (c.command === w.command && c.permissive === w.permissive && !removesClause) {
      const e = alterEffects(c, w, ctx);
      const phase = e.hazard === 'narrows' || e.hazard === 'neutral' ? 4 : w.permissive ? 6 : 7;
      steps.push(step(want, e.hazard, e.effects, phase, { kind: 'alter-policy', name, before: c, after: w }));
    } else {
      steps.push(...replaceSteps(want, c, w, ctx));
    }
  }

  for (const [name, c] of restCur) {
    const e = dropEffect(c, ctx);
    steps.push(step(want, e.hazard, [e.effect], c.permissive ? 4 : 7, { kind: 'drop-policy', name, policy: c, replacedBy: false }));
  }
  return splitUnrankedRestrictiveAlters(want, steps);
}

const COMMANDS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

/**
 * Whether `one`, a policy for one command, means for that command what the FOR ALL
 * policy `all` means: same kind and roles, and the conditions Postgres applies for
 * that command. A FOR ALL policy's USING filters the rows SELECT, UPDATE and DELETE
 * see, and its WITH CHECK (USING when it has none) checks the rows INSERT and UPDATE
 * write; an UPDATE policy without WITH CHECK checks with its USING (CREATE POLICY docs).
 */
function meansForCommand(all: Policy, one: Policy): boolean {
  if (all.using === null || one.permissive !== all.permissive || !sameRoles(one.roles, all.roles)) return false;
  const allCheck = all.check ?? all.using;
  switch (one.command) {
    case 'SELECT':
    case 'DELETE':
      return one.using === all.using && one.check === null;
    case 'INSERT':
      return one.using === null && one.check === allCheck;
    case 'UPDATE':
      return one.using === all.using && (one.check ?? one.using) === allCheck;
    default:
      return false;
  }
}

/**
 * A FOR ALL policy split into one policy per command (SELECT, INSERT, UPDATE, DELETE)
 * that each mean the same for their command, or four such policies merged into one
 * FOR ALL: every command sees and writes the same rows, so this is no change in
 * access. The policies that come are created while the ones that go still hold
 * (permissive 6, restrictive 4), and the ones that go are dropped after (7), so each
 * step adds or removes a condition another policy of the same kind already states for
 * the same roles and command: every step is neutral on its own, whatever runs between.
 * Matched policies leave `restCur` / `restWant`.
 */
function forAllSplitOrMerged(want: TableSecurity, restCur: Map<string, Policy>, restWant: Map<string, Policy>): Step[] {
  const steps: Step[] = [];
  const t = want.qualified;
  const names = (ps: readonly Policy[]) => listText(ps.map((p) => policyLabel(p.name)));
  const match = (all: Policy, pool: Map<string, Policy>): Policy[] | null => {
    const found: Policy[] = [];
    for (const cmd of COMMANDS) {
      const p = [...pool.values()].find((x) => x.command === cmd && meansForCommand(all, x));
      if (!p) return null;
      found.push(p);
    }
    return found;
  };
  const createPhase = (p: Policy) => (p.permissive ? 6 : 4);
  for (const c of [...restCur.values()]) {
    if (c.command !== 'ALL' || !restCur.has(c.name)) continue;
    const parts = match(c, restWant);
    if (!parts) continue;
    restCur.delete(c.name);
    for (const p of parts) {
      restWant.delete(p.name);
      steps.push(
        step(want, 'neutral', [`policy ${policyLabel(p.name)} on ${t} takes over ${p.command} from FOR ALL policy ${policyLabel(c.name)}, for the same roles and rows (no change in access)`], createPhase(p), {
          kind: 'create-policy',
          policy: p,
          replaces: false,
        }),
      );
    }
    steps.push(
      step(want, 'neutral', [`FOR ALL policy ${policyLabel(c.name)} on ${t} is dropped: ${names(parts)}, created before, state the same for each command (no change in access)`], 7, {
        kind: 'drop-policy',
        name: c.name,
        policy: c,
        replacedBy: false,
      }),
    );
  }
  for (const w of [...restWant.values()]) {
    if (w.command !== 'ALL' || !restWant.has(w.name)) continue;
    const parts = match(w, restCur);
    if (!parts) continue;
    restWant.delete(w.name);
    steps.push(
      step(want, 'neutral', [`FOR ALL policy ${policyLabel(w.name)} on ${t} states for every command what ${names(parts)} state, for the same roles and rows (no change in access)`], createPhase(w), {
        kind: 'create-policy',
        policy: w,
        replaces: false,
      }),
    );
    for (const p of parts) {
      restCur.delete(p.name);
      steps.push(
        step(want, 'neutral', [`policy ${policyLabel(p.name)} on ${t} is dropped: FOR ALL policy ${policyLabel(w.name)}, created before, states the same for ${p.command} (no change in access)`], 7, {
          kind: 'drop-policy',
          name: p.name,
          policy: p,
          replacedBy: false,
        }),
      );
    }
  }
  return steps;
}

/**
 * A restrictive policy changed in place from A to a B that does not only lift A
 * (B may widen, or widens for one role while it adds a condition or a role)
 * holds neither end's restriction while the table's other late steps run: with
 * A, a permissive policy already in its final form lets in rows B keeps out.
 * When the table has other steps in phases 6–7, the ALTER becomes two: to
 * `A AND B` (on the roles of both ends) with the narrowing steps, then to B
 * among the lifted restrictions, so every state in between is within both ends.
 */
function splitUnrankedRestrictiveAlters(want: TableSecurity, steps: Step[]): Step[] {
  const late = steps.filter((s) => s.phase >= 6).length;
  if (late < 2) return steps;
  return steps.flatMap((s) => {
    if (s.kind !== 'alter-policy' || s.after.permissive || !isWidening(s.hazard) || onlyLifts(s.before, s.after)) return [s];
    const c = s.before;
    const w = s.after;
    const roles = c.roles.includes(PUBLIC) || w.roles.includes(PUBLIC) ? [PUBLIC] : [...new Set([...c.roles, ...w.roles])].sort();
    // Without WITH CHECK on either end, USING is the check, and both use the combined USING.
    const check = c.check === null && w.check === null ? null : both(c.check ?? c.using, w.check ?? w.using);
    const mid: Policy = { ...c, roles, using: both(c.using, w.using), check };
    return [
      step(want, 'neutral', [`policy ${policyLabel(c.name)} on ${want.qualified} holds both its old and its new condition until the table's other policy changes are done (transitional)`], 4, {
        kind: 'alter-policy',
        name: s.name,
        before: c,
        after: mid,
      }),
      { ...s, before: mid } as Step,
    ];
  });
}

/**
 * Whether restrictive `c` → `w` only lifts restrictions: it binds the same roles or fewer, and each
 * condition admits the same rows or more (without WITH CHECK, USING is the check). B then admits
 * everything A does, and A holding while the other steps run is within both ends.
 */
function onlyLifts(c: Policy, w: Policy): boolean {
  const fewerRoles = c.roles.includes(PUBLIC) || w.roles.every((r) => c.roles.includes(r));
  const lifts = (a: string | null, b: string | null) => b === null || (a !== null && (exprDirection(a, b) === 'neutral' || exprDirection(a, b) === 'widens'));
  return fewerRoles && lifts(c.using, w.using) && lifts(c.check ?? c.using, w.check ?? w.using);
}

/** Both conditions (a missing one limits nothing on a restrictive policy). */
function both(a: string | null, b: string | null): string | null {
  if (a === null || a === b) return b;
  if (b === null) return a;
  return `(${a}) AND (${b})`;
}

/**
 * Policy `c` replaced by `w` (same name or not): a drop and a create judged as one
 * change; the create carries the effect. Permissive: dropped first; restrictive:
 * the new one is created first (see the phases in the file comment). Restrictive
 * by permissive: both among the lifted restrictions (7), the drop first, so a
 * reused name is free without a temporary one.
 */
function replaceSteps(want: TableSecurity, c: Policy, w: Policy, ctx: PolicyContext): Step[] {
  const e = replaceEffect(c, w, ctx);
  const why = c.name === w.name ? 'is dropped to be recreated' : `is dropped, replaced by ${policyLabel(w.name)}`;
  const createPhase = !w.permissive ? 4 : c.permissive ? 6 : 7;
  return [
    step(want, 'neutral', [`policy ${policyLabel(c.name)} on ${want.qualified} ${why} (see its create step)`], c.permissive ? 4 : 7, {
      kind: 'drop-policy',
      name: c.name,
      policy: c,
      replacedBy: true,
    }),
    step(want, e.hazard, e.effects, createPhase, { kind: 'create-policy', policy: w, replaces: true }),
  ];
}

/** Within a phase: by table, then drops before renames before creates before alters, then by name. */
const KIND_ORDER: Record<StepKind, number> = {
  revoke: 0,
  'revoke-columns': 0,
  'grant-columns': 10,
  'disable-rls': 1,
  'no-force-rls': 2,
  'force-rls': 3,
  'drop-policy': 4,
  'rename-policy': 5,
  'create-policy': 6,
  'alter-policy': 7,
  'enable-rls': 8,
  grant: 9,
};

function stepName(s: Step): string {
  switch (s.kind) {
    case 'create-policy':
      return s.policy.name;
    case 'drop-policy':
    case 'alter-policy':
    case 'rename-policy':
      return s.name;
    case 'grant':
    case 'revoke':
    case 'grant-columns':
    case 'revoke-columns':
      return s.grantee;
    default:
      return '';
  }
}

/** `tableRank`: each table's place in the sorted table names, so the comparator compares numbers, not names. */
function sortSteps(steps: Step[], tableRank: ReadonlyMap<string, number>): Step[] {
  // Decorate once: the comparator runs n log n times.
  const keyed = steps.map((s) => ({ s, phase: s.phase, table: tableRank.get(s.table)!, kind: KIND_ORDER[s.kind], name: stepName(s) }));
  keyed.sort((a, b) => a.phase - b.phase || a.table - b.table || a.kind - b.kind || cmp(a.name, b.name));
  return keyed.map((k) => k.s);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sort by phase, then simulate the policy names of each table; a step that
 * needs a name still held by a policy that is later dropped or renamed moves
 * that policy to a temporary name first (phase 3).
 */
function order(steps: Step[], policyNames: ReadonlyMap<string, ReadonlySet<string>>, tableRank: ReadonlyMap<string, number>): Step[] {
  let sorted = sortSteps(steps, tableRank);
  // Only a drop, rename or alter touches a name that exists now: on a table without one, nothing can clash.
  const touched = new Set<string>();
  for (const s of steps) if (s.kind === 'drop-policy' || s.kind === 'rename-policy' || s.kind === 'alter-policy') touched.add(s.table);
  if (touched.size === 0) return sorted;
  const byTable = new Map<string, Step[]>();
  for (const s of sorted) if (touched.has(s.table) && isPolicyStep(s)) (byTable.get(s.table) ?? byTable.set(s.table, []).get(s.table)!).push(s);

  const extra: Step[] = [];
  const rewrites = new Map<Step, string>();
  for (const [table, list] of byTable) {
    // Names held now: every current policy touched by a drop/rename/alter, plus the untouched ones (which never clash).
    const held = new Set<string>();
    for (const s of list) if (s.kind === 'drop-policy' || s.kind === 'rename-policy' || s.kind === 'alter-policy') held.add(s.name);
    // Every name on either side: a temporary name must collide with none of them.
    const allNames = new Set<string>([...held, ...(policyNames.get(table) ?? [])]);
    for (const s of list) {
      if (s.kind === 'create-policy') allNames.add(s.policy.name);
      if (s.kind === 'rename-policy') allNames.add(s.newName);
    }
    const moved = new Map<string, string>(); // original name → temporary name
    let n = 0;
    const tempName = () => {
      let t: string;
      do t = `rowguard_tmp_${++n}`;
      while (allNames.has(t));
      allNames.add(t);
      return t;
    };
    for (const s of list) {
      const needs = s.kind === 'create-policy' ? s.policy.name : s.kind === 'rename-policy' ? s.newName : null;
      if (needs !== null && held.has(needs)) {
        // The holder is a later drop or rename of that name (desired names are unique, so it cannot stay).
        const tmp = tempName();
        moved.set(needs, tmp);
        held.delete(needs);
        held.add(tmp);
        const t0 = list[0]!;
        extra.push({
          table,
          schema: t0.schema,
          tableName: t0.tableName,
          hazard: 'neutral',
          effects: [`policy ${policyLabel(needs)} on ${table} temporarily renamed to ${tmp} to free its name (no change in access)`],
          phase: 3,
          kind: 'rename-policy',
          name: needs,
          newName: tmp,
          temporary: true,
        });
      }
      if (s.kind === 'drop-policy' || s.kind === 'rename-policy') {
        const actual = moved.get(s.name) ?? s.name;
        if (actual !== s.name) rewrites.set(s, actual);
        held.delete(actual);
        if (s.kind === 'rename-policy') held.add(s.newName);
      } else if (s.kind === 'create-policy') {
        held.add(s.policy.name);
      }
    }
  }
  if (extra.length === 0) return sorted;
  sorted = sorted.map((s) => {
    const actual = rewrites.get(s);
    if (actual === undefined) return s;
    return { ...s, name: actual } as Step;
  });
  return sortSteps([...sorted, ...extra], tableRank);
}

function isPolicyStep(s: Step): boolean {
  return s.kind === 'create-policy' || s.kind === 'drop-policy' || s.kind === 'alter-policy' || s.kind === 'rename-policy';
}

export interface PlanSummary {
  steps: number;
  widens: number;
  mayWiden: number;
  narrows: number;
  neutral: number;
}

export function summarise(plan: PolicyPlan): PlanSummary {
  const n: Record<Hazard, number> = { widens: 0, 'may-widen': 0, narrows: 0, neutral: 0 };
  for (const s of plan.steps) n[s.hazard]++;
  return { steps: plan.steps.length, widens: n.widens, mayWiden: n['may-widen'], narrows: n.narrows, neutral: n.neutral };
}
