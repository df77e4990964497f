/**
 * What a change does to access, in plain language, and which way it moves it.
 * Pure: the planner calls these while building steps.
 *
 * Postgres facts relied on (docs, "Row Security Policies"):
 * - With RLS enabled, a row is visible/writable when at least one PERMISSIVE
 *   policy for the command and role allows it (OR) AND every RESTRICTIVE one
 *   does (AND); no permissive policy at all means no rows.
 * - With RLS disabled, policies are ignored: table privileges alone decide.
 * - FORCE makes the table owner subject to policies too; superusers and
 *   BYPASSRLS roles are never subject to them.
 */
import { commandCovers, PUBLIC, type Policy, type PolicyCommand } from '../catalog/model.js';

/**
 * `widens`: someone can do or see more. `may-widen`: an expression changed, and
 * only a human can tell which way (treated as widening by `policy apply`).
 * `narrows`: someone can do or see less. `neutral`: no change in access.
 */
export type Hazard = 'widens' | 'may-widen' | 'narrows' | 'neutral';

const RANK: Record<Hazard, number> = { neutral: 0, narrows: 1, 'may-widen': 2, widens: 3 };

export function worst(...hs: Hazard[]): Hazard {
  return hs.reduce<Hazard>((a, b) => (RANK[b] > RANK[a] ? b : a), 'neutral');
}

export function isWidening(h: Hazard): boolean {
  return h === 'widens' || h === 'may-widen';
}

export function rolesText(roles: readonly string[]): string {
  if (roles.includes(PUBLIC)) return 'every role (PUBLIC)';
  return listText(roles);
}

export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function commandText(cmd: PolicyCommand): string {
  return cmd === 'ALL' ? 'SELECT, INSERT, UPDATE and DELETE' : cmd;
}

/** `p` quoted only when that helps reading (spaces, quotes, capitals). */
export function policyLabel(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

function clauses(p: Policy): string {
  const parts: string[] = [];
  if (p.using !== null) parts.push(`rows where ${p.using}`);
  if (p.check !== null && p.check !== p.using) parts.push(`writes where ${p.check}`);
  return parts.length ? parts.join('; ') : 'no condition';
}

export function createEffect(p: Policy, ctx: PolicyContext): { hazard: Hazard; effect: string } {
  const who = rolesText(p.roles);
  const effect = p.permissive
    ? `policy ${policyLabel(p.name)} on ${p.table} now lets ${who} ${commandText(p.command)} (${clauses(p)})`
    : `restrictive policy ${policyLabel(p.name)} on ${p.table} now limits ${who} on ${commandText(p.command)} (${clauses(p)})`;
  return rlsGate(policyChangeHazard(null, p, ctx.exempt), effect + exemptNote(p.roles, ctx), p.table, ctx);
}

export function dropEffect(p: Policy, ctx: PolicyContext): { hazard: Hazard; effect: string } {
  const who = rolesText(p.roles);
  const effect = p.permissive
    ? `policy ${policyLabel(p.name)} on ${p.table} no longer lets ${who} ${commandText(p.command)} (${clauses(p)})`
    : `restrictive policy ${policyLabel(p.name)} on ${p.table} no longer limits ${who} on ${commandText(p.command)} (${clauses(p)})`;
  return rlsGate(policyChangeHazard(p, null, ctx.exempt), effect + exemptNote(p.roles, ctx), p.table, ctx);
}

/** ` — no change in access: service_role bypasses RLS` when every one of `roles` is exempt. */
function exemptNote(roles: readonly string[], ctx: PolicyContext): string {
  if (roles.length === 0 || !roles.every((r) => ctx.exempt.has(r))) return '';
  return ` — no change in access: ${listText(roles)} bypass${roles.length === 1 ? 'es' : ''} RLS`;
}

/** Effects of an in-place ALTER POLICY (roles, USING, WITH CHECK). */
export function alterEffects(before: Policy, after: Policy, ctx: PolicyContext): { hazard: Hazard; effects: string[] } {
  const label = `policy ${policyLabel(after.name)} on ${after.table}`;
  const effects: string[] = [];
  const wasPublic = before.roles.includes(PUBLIC);
  const isPublic = after.roles.includes(PUBLIC);
  const added = isPublic && !wasPublic ? [PUBLIC] : wasPublic ? [] : after.roles.filter((r) => !before.roles.includes(r));
  const removed = wasPublic && !isPublic ? [PUBLIC] : isPublic ? [] : before.roles.filter((r) => !after.roles.includes(r));
  if (added.length) effects.push(`${label} now also applies to ${rolesText(added)}${exemptNote(added, ctx)}`);
  if (removed.length) effects.push(`${label} no longer applies to ${rolesText(removed)}${exemptNote(removed, ctx)}`);
  effects.push(...clauseEffects(label, before, after));
  const gated = rlsGate(policyChangeHazard(before, after, ctx.exempt), effects[0] ?? `${label} changes`, after.table, ctx);
  return { hazard: gated.hazard, effects: ctx.rlsBefore && ctx.rlsAfter ? effects : [gated.effect, ...effects.slice(1)] };
}

/**
 * Effect of replacing a policy (drop + create): under the same name when its
 * command or kind changed or a clause was removed, or by one under another name.
 */
export function replaceEffect(before: Policy, after: Policy, ctx: PolicyContext): { hazard: Hazard; effects: string[] } {
  const label = `policy ${policyLabel(after.name)} on ${after.table}`;
  const effects: string[] = [];
  if (before.name !== after.name) effects.push(`${label} replaces ${policyLabel(before.name)}`);
  if (before.permissive !== after.permissive) {
    effects.push(`${label} becomes ${after.permissive ? 'PERMISSIVE: it now grants rows instead of limiting them' : 'RESTRICTIVE: it now limits rows instead of granting them'}`);
  }
  if (before.command !== after.command) effects.push(`${label}: command changes from ${before.command} to ${after.command}`);
  effects.push(...clauseEffects(label, before, after));
  if (!sameSet(before.roles, after.roles)) effects.push(`${label}: roles change from ${rolesText(before.roles)} to ${rolesText(after.roles)}`);
  const gated = rlsGate(policyChangeHazard(before, after, ctx.exempt), effects[0] ?? `${label} is recreated`, after.table, ctx);
  return { hazard: gated.hazard, effects: ctx.rlsBefore && ctx.rlsAfter ? effects : [gated.effect, ...effects.slice(1)] };
}

/** USING and WITH CHECK changes; a WITH CHECK that only spells out what USING already checks says so. */
function clauseEffects(label: string, before: Policy, after: Policy): string[] {
  const effects: string[] = [];
  if (before.using !== after.using) effects.push(`${label}: USING changes from ${before.using ?? '(none)'} to ${after.using ?? '(none)'}${onceNote(before.using, after.using)}`);
  if (before.check !== after.check) {
    const same = effectiveCheck(before) === effectiveCheck(after) ? ' (writes are checked as before: without WITH CHECK, USING is the check)' : onceNote(before.check, after.check);
    effects.push(`${label}: WITH CHECK changes from ${checkText(before)} to ${checkText(after)}${same}`);
  }
  return effects;
}

/** Two expressions that differ only in request helpers wrapped in (or unwrapped from) a scalar sub-select. */
function onceNote(before: string | null, after: string | null): string {
  if (before === null || after === null || withoutClaimSubselects(before) !== withoutClaimSubselects(after)) return '';
  return ' (the same condition; only how often its request helpers are evaluated changes: once per statement inside a sub-select, per row outside)';
}

function checkText(p: Policy): string {
  return p.check ?? (p.using !== null && p.command !== 'SELECT' && p.command !== 'DELETE' ? '(none: USING applies)' : '(none)');
}

/**
 * The expression new rows are checked with: without WITH CHECK, an ALL or
 * UPDATE policy checks them with its USING (rowsecurity.c, QUAL_FOR_WCO).
 */
function effectiveCheck(p: Policy): string | null {
  return p.check ?? p.using;
}

const COMMANDS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
type Command = (typeof COMMANDS)[number];

/**
 * What one policy contributes, for one role and command, to the rows let through:
 * (grants OR the other permissive policies) AND limits AND the other restrictive
 * ones. Per expression slot (SELECT and DELETE filter the rows they see, INSERT
 * checks the new row, UPDATE does both): a permissive policy grants its
 * expression and limits nothing; a restrictive one grants nothing and limits by
 * its expression; a policy that does not apply grants nothing and limits nothing.
 * A missing expression is skipped (rowsecurity.c): it grants or limits nothing.
 */
interface Contribution {
  grants: string[];
  limits: string[];
}

function contribution(p: Policy | null, role: string, cmd: Command): Contribution {
  const slots = cmd === 'UPDATE' ? 2 : 1;
  if (p === null || !commandCovers(p.command, cmd) || !(p.roles.includes(PUBLIC) || p.roles.includes(role))) {
    return { grants: Array(slots).fill('false'), limits: Array(slots).fill('true') };
  }
  const check = effectiveCheck(p);
  const exprs = cmd === 'SELECT' || cmd === 'DELETE' ? [p.using] : cmd === 'INSERT' ? [check] : [p.using, check];
  return p.permissive
    ? { grants: exprs.map((e) => e ?? 'false'), limits: exprs.map(() => 'true') }
    : { grants: exprs.map(() => 'false'), limits: exprs.map((e) => e ?? 'true') };
}

/**
 * Which way replacing policy `before` by `after` (null: none, for a create or a
 * drop) moves access. The rows let through grow with what a policy grants and
 * with what it limits by (both are monotone), so each role, command and slot is
 * judged by exprDirection on both, and the judgements combined: opposite
 * movements are may-widen. `PUBLIC` stands for every role the policies do not
 * name; `exempt` roles are skipped (policies never limit them).
 */
export function policyChangeHazard(before: Policy | null, after: Policy | null, exempt: ReadonlySet<string> = new Set()): Hazard {
  const roles = [...new Set([...(before?.roles ?? []), ...(after?.roles ?? []), PUBLIC])].filter((r) => !exempt.has(r));
  const seen = new Set<Hazard>();
  for (const role of roles) {
    for (const cmd of COMMANDS) {
      const b = contribution(before, role, cmd);
      const a = contribution(after, role, cmd);
      b.grants.forEach((e, i) => seen.add(exprDirection(e, a.grants[i]!)));
      b.limits.forEach((e, i) => seen.add(exprDirection(e, a.limits[i]!)));
    }
  }
  // Folded as a set, so the answer does not depend on the order of roles and commands.
  if (seen.has('widens') && seen.has('narrows')) return 'may-widen';
  return worst(...seen);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * Which way replacing expression `before` by `after` moves access, for what we
 * can decide without a prover. A row passes RLS when some permissive policy and
 * every restrictive policy admit it, so for both kinds an expression admitting
 * more rows widens access and one admitting fewer narrows it.
 *
 * Decided: `true` admits everything and `false` nothing; `E AND X` admits a subset
 * of `E`, `E OR X` a superset (pg_get_expr prints an operand the same way alone
 * and inside AND/OR, so `E` is found verbatim). Anything else is may-widen.
 */
export function exprDirection(before: string | null, after: string | null): Hazard {
  if (before === after) return 'neutral';
  if (before !== null && after !== null) {
    before = withoutClaimSubselects(before);
    after = withoutClaimSubselects(after);
    if (before === after) return 'neutral';
  }
  const rank = (e: string | null) => (e === 'true' ? 2 : e === 'false' ? 0 : 1);
  const b = rank(before);
  const a = rank(after);
  if (a !== b) return a > b ? 'widens' : 'narrows';
  if (before === null || after === null) return 'may-widen';
  if (extends_(after, before, 'AND') || extends_(before, after, 'OR')) return 'narrows';
  if (extends_(after, before, 'OR') || extends_(before, after, 'AND')) return 'widens';
  return 'may-widen';
}

/**
 * `( SELECT auth.uid() AS uid)` → `auth.uid()`, outside string literals and quoted
 * names: the scalar sub-select rowguard's lint (auth-call-per-row) asks for. The
 * request helpers (auth.uid/jwt/role/email, current_setting with literal
 * arguments) are STABLE, so within a statement the sub-select, run once as an
 * initPlan, yields what the bare call yields for every row: the same condition.
 */
const CLAIM_SUBSELECT = /\( SELECT (auth\.(?:uid|jwt|role|email)\(\)|current_setting\('(?:[^']|'')*'::text(?:, (?:true|false))?\)) AS (?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")*")\)/y;

export function withoutClaimSubselects(text: string): string {
  if (!text.includes('( SELECT ')) return text;
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null; // a doubled quote closes and reopens: same result
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '(') {
      CLAIM_SUBSELECT.lastIndex = i;
      const m = CLAIM_SUBSELECT.exec(text);
      if (m) {
        out += m[1];
        i += m[0].length - 1;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

/**
 * `outer` is `(inner OP …)` or `(… OP inner)` at its top level. An operand that is itself
 * `(… OP …)` counts as its operands: Postgres flattens `a AND b AND c` but keeps
 * `a AND (b AND c)` as written, and a person who adds a condition in front of the old
 * one in parentheses writes the second.
 */
function extends_(outer: string, inner: string, op: 'AND' | 'OR'): boolean {
  const sep = ` ${op} `;
  const operands = operandsOf(outer, sep);
  if (operands === null || operands.length < 2) return false;
  const own = operandsOf(inner, sep);
  const wanted = own && own.length >= 2 ? own : [inner];
  // Every operand of `inner` (itself, or its own AND/OR operands) appears among `outer`'s.
  return wanted.length < operands.length && wanted.every((w) => operands.includes(w));
}

/** The operands of `(x OP y …)`, those of the same OP inside one of them included; null when `text` is not one. */
function operandsOf(text: string, sep: string): string[] | null {
  if (!text.startsWith('(') || !text.endsWith(')')) return null;
  const parts = splitTopLevel(text.slice(1, -1), sep);
  if (parts === null || parts.length < 2) return parts;
  return parts.flatMap((p) => {
    const inner = operandsOf(p, sep);
    return inner && inner.length >= 2 ? inner : [p];
  });
}

/**
 * Split on `sep` outside parentheses and quotes; null when the text does not
 * parse as balanced (then nothing is decided).
 */
function splitTopLevel(text: string, sep: string): string[] | null {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) {
        if (text[i + 1] === quote) i++;
        else quote = null;
      }
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth < 0) return null;
    } else if (depth === 0 && text.startsWith(sep, i)) {
      parts.push(text.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  if (depth !== 0 || quote) return null;
  parts.push(text.slice(start));
  return parts;
}

/**
 * What a policy change is judged against. A policy step moves access only when
 * RLS is on at both ends: while RLS is off policies are ignored, and when RLS is
 * being enabled the start had every row, so whatever the policies allow is no
 * wider (the enable step reports the narrowing). `exempt`: roles that policies
 * never limit (superuser or BYPASSRLS, and so is every role that inherits their
 * privileges; SecurityState.rlsExempt), so a policy reaching them or not changes
 * nothing.
 */
export interface PolicyContext {
  rlsBefore: boolean;
  rlsAfter: boolean;
  exempt: ReadonlySet<string>;
}

function rlsGate(hazard: Hazard, effect: string, table: string, ctx: PolicyContext): { hazard: Hazard; effect: string } {
  if (ctx.rlsBefore && ctx.rlsAfter) return { hazard, effect };
  const why = ctx.rlsAfter ? `RLS is enabled on ${table} in this same change, and before it no rows were filtered` : `no effect while RLS is disabled on ${table}`;
  return { hazard: 'neutral', effect: `${effect} — ${why}` };
}

export function grantEffect(table: string, grantee: string, privileges: readonly string[], rlsOn: boolean, kind: string): string {
  const who = grantee === PUBLIC ? 'every role (PUBLIC)' : grantee;
  const rows = kind === 'table' || kind === 'partitioned' ? (rlsOn ? ' (rows limited by its RLS policies)' : ' (RLS is off: every row)') : '';
  return `${who} can now ${listText(privileges)} ${table}${rows}`;
}

export function revokeEffect(table: string, grantee: string, privileges: readonly string[]): string {
  const who = grantee === PUBLIC ? 'every role (PUBLIC)' : grantee;
  return `${who} can no longer ${listText(privileges)} ${table} (unless granted another way)`;
}

/** `coveredByTable`: the grantee holds these privileges on the whole table at the end, so access does not change. */
export function columnEffect(table: string, grantee: string, columns: Record<string, string[]>, granted: boolean, coveredByTable = false): string {
  const who = grantee === PUBLIC ? 'every role (PUBLIC)' : grantee;
  const what = Object.entries(columns).map(([p, cols]) => `${p} (${cols.join(', ')})`);
  if (coveredByTable) return `${listText(what)} on ${table} ${granted ? 'granted' : 'revoked'} per column for ${who}, which holds ${Object.keys(columns).length === 1 ? 'it' : 'them'} on the whole table (no change in access)`;
  return `${who} can ${granted ? 'now' : 'no longer'} ${listText(what)} on ${table}${granted ? '' : ' (unless granted another way)'}`;
}
