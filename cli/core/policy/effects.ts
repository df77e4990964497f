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
import { PUBLIC, type Policy, type PolicyCommand } from '../catalog/model.js';

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

/** A pair of opposite movements (one part narrows, another widens) cannot be ranked: may-widen. */
export function combine(a: Hazard, b: Hazard): Hazard {
  if (a === 'neutral') return b;
  if (b === 'neutral') return a;
  if (a === b) return a;
  if ((a === 'widens' && b === 'narrows') || (a === 'narrows' && b === 'widens')) return 'may-widen';
  return worst(a, b);
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

export function createEffect(p: Policy, rls: RlsSpan): { hazard: Hazard; effect: string } {
  const who = rolesText(p.roles);
  const effect = p.permissive
    ? `policy ${policyLabel(p.name)} on ${p.table} now lets ${who} ${commandText(p.command)} (${clauses(p)})`
    : `restrictive policy ${policyLabel(p.name)} on ${p.table} now limits ${who} on ${commandText(p.command)} (${clauses(p)})`;
  return rlsGate(p.permissive ? 'widens' : 'narrows', effect, p.table, rls);
}

export function dropEffect(p: Policy, rls: RlsSpan): { hazard: Hazard; effect: string } {
  const who = rolesText(p.roles);
  const effect = p.permissive
    ? `policy ${policyLabel(p.name)} on ${p.table} no longer lets ${who} ${commandText(p.command)} (${clauses(p)})`
    : `restrictive policy ${policyLabel(p.name)} on ${p.table} no longer limits ${who} on ${commandText(p.command)} (${clauses(p)})`;
  return rlsGate(p.permissive ? 'narrows' : 'widens', effect, p.table, rls);
}

/** Effects of an in-place ALTER POLICY (roles, USING, WITH CHECK). */
export function alterEffects(before: Policy, after: Policy, rls: RlsSpan): { hazard: Hazard; effects: string[] } {
  const label = `policy ${policyLabel(after.name)} on ${after.table}`;
  const effects: string[] = [];
  let hazard: Hazard = 'neutral';
  const wasPublic = before.roles.includes(PUBLIC);
  const isPublic = after.roles.includes(PUBLIC);
  const added = isPublic && !wasPublic ? [PUBLIC] : wasPublic ? [] : after.roles.filter((r) => !before.roles.includes(r));
  const removed = wasPublic && !isPublic ? [PUBLIC] : isPublic ? [] : before.roles.filter((r) => !after.roles.includes(r));
  // A permissive policy reaching more roles lets more in; a restrictive one reaching more roles limits more.
  if (added.length) {
    effects.push(`${label} now also applies to ${rolesText(added)}`);
    hazard = combine(hazard, after.permissive ? 'widens' : 'narrows');
  }
  if (removed.length) {
    effects.push(`${label} no longer applies to ${rolesText(removed)}`);
    hazard = combine(hazard, after.permissive ? 'narrows' : 'widens');
  }
  if (before.using !== after.using) {
    effects.push(`${label}: USING changes from ${before.using ?? '(none)'} to ${after.using ?? '(none)'}`);
    hazard = combine(hazard, exprDirection(before.using, after.using));
  }
  if (before.check !== after.check) {
    effects.push(`${label}: WITH CHECK changes from ${before.check ?? '(none: USING applies)'} to ${after.check ?? '(none)'}`);
    hazard = combine(hazard, exprDirection(before.check ?? before.using, after.check ?? after.using));
  }
  const gated = rlsGate(hazard, effects[0] ?? `${label} changes`, after.table, rls);
  return { hazard: gated.hazard, effects: rls.before && rls.after ? effects : [gated.effect, ...effects.slice(1)] };
}

/**
 * Effect of replacing a policy under the same name (drop + create): its command
 * or kind changed, or a clause was removed. A pure kind flip or a command that
 * now covers more (or less) has a known direction; anything else is may-widen.
 */
export function replaceEffect(before: Policy, after: Policy, rls: RlsSpan): { hazard: Hazard; effects: string[] } {
  const label = `policy ${policyLabel(after.name)} on ${after.table}`;
  const effects: string[] = [];
  // For a permissive policy, doing more widens; for a restrictive one, doing more narrows.
  const more = (permissive: boolean): Hazard => (permissive ? 'widens' : 'narrows');
  const less = (permissive: boolean): Hazard => (permissive ? 'narrows' : 'widens');
  let hazard: Hazard = 'neutral';
  if (before.permissive !== after.permissive) {
    effects.push(`${label} becomes ${after.permissive ? 'PERMISSIVE: it now grants rows instead of limiting them' : 'RESTRICTIVE: it now limits rows instead of granting them'}`);
    hazard = after.permissive ? 'widens' : 'narrows';
  }
  if (before.command !== after.command) {
    effects.push(`${label}: command changes from ${before.command} to ${after.command}`);
    const direction = covers(after.command, before.command) ? more(after.permissive) : covers(before.command, after.command) ? less(after.permissive) : 'may-widen';
    hazard = before.permissive === after.permissive ? direction : combine(hazard, direction);
  }
  const exprsChanged = before.using !== after.using || before.check !== after.check;
  const rolesChanged = !sameSet(before.roles, after.roles);
  if (before.using !== after.using) effects.push(`${label}: USING changes from ${before.using ?? '(none)'} to ${after.using ?? '(none)'}`);
  if (before.check !== after.check) effects.push(`${label}: WITH CHECK changes from ${before.check ?? '(none)'} to ${after.check ?? '(none)'}`);
  if (rolesChanged) effects.push(`${label}: roles change from ${rolesText(before.roles)} to ${rolesText(after.roles)}`);
  // Beyond a kind flip or a command change, only a human can tell which way it goes.
  if (exprsChanged || rolesChanged) hazard = combine(hazard, 'may-widen');
  const gated = rlsGate(hazard, effects[0] ?? `${label} is recreated`, after.table, rls);
  return { hazard: gated.hazard, effects: rls.before && rls.after ? effects : [gated.effect, ...effects.slice(1)] };
}

function covers(outer: PolicyCommand, inner: PolicyCommand): boolean {
  return outer === 'ALL' || outer === inner;
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
  const rank = (e: string | null) => (e === 'true' ? 2 : e === 'false' ? 0 : 1);
  const b = rank(before);
  const a = rank(after);
  if (a !== b) return a > b ? 'widens' : 'narrows';
  if (before === null || after === null) return 'may-widen';
  if (extends_(after, before, 'AND') || extends_(before, after, 'OR')) return 'narrows';
  if (extends_(after, before, 'OR') || extends_(before, after, 'AND')) return 'widens';
  return 'may-widen';
}

/** `outer` is `(inner OP …)` or `(… OP inner)` at its top level. */
function extends_(outer: string, inner: string, op: 'AND' | 'OR'): boolean {
  if (!outer.startsWith('(') || !outer.endsWith(')')) return false;
  const body = outer.slice(1, -1);
  const sep = ` ${op} `;
  const operands = splitTopLevel(body, sep);
  if (operands === null || operands.length < 2) return false;
  const own = inner.startsWith('(') && inner.endsWith(')') ? splitTopLevel(inner.slice(1, -1), sep) : null;
  const wanted = own && own.length >= 2 ? own : [inner];
  // Every operand of `inner` (itself, or its own AND/OR operands) appears among `outer`'s.
  return wanted.length < operands.length && wanted.every((w) => operands.includes(w));
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
 * Whether RLS is enabled on the table before and after the whole change. A
 * policy step moves access only when it is on at both ends: while RLS is off
 * policies are ignored, and when RLS is being enabled the start had every row,
 * so whatever the policies allow is no wider (the enable step reports the narrowing).
 */
export interface RlsSpan {
  before: boolean;
  after: boolean;
}

function rlsGate(hazard: Hazard, effect: string, table: string, rls: RlsSpan): { hazard: Hazard; effect: string } {
  if (rls.before && rls.after) return { hazard, effect };
  const why = rls.after ? `RLS is enabled on ${table} in this same change, and before it no rows were filtered` : `no effect while RLS is disabled on ${table}`;
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

export function columnEffect(table: string, grantee: string, columns: Record<string, string[]>, granted: boolean): string {
  const who = grantee === PUBLIC ? 'every role (PUBLIC)' : grantee;
  const what = Object.entries(columns).map(([p, cols]) => `${p} (${cols.join(', ')})`);
  return `${who} can ${granted ? 'now' : 'no longer'} ${listText(what)} on ${table}${granted ? '' : ' (unless granted another way)'}`;
}
