/**
 * Turning what happened into a Cell. Pure: the probe hands in counts and
 * outcomes, these functions decide the verdict.
 */
import { pgFieldsOf } from '../errors.js';
import type { Cell } from './model.js';

export interface RowCounts {
  /** Rows the actor saw (SELECT) or changed (UPDATE/DELETE). */
  rows: number;
  /** How many of those the actor owns; undefined when it could not be told. */
  rowsOwn?: number;
  /** Rows in the table. */
  total: number;
  /** Rows the actor owns in the table; undefined for actors without a user id or tables without an owner column. */
  ownTotal?: number;
}

/** Why a table with no rows cannot say who reads, updates or deletes what (the probe names the cause when it knows it). */
export const NO_ROWS = 'the table has no rows in the fixtures: add some to see who reads, updates and deletes what';

/**
 * all: every row; own: exactly the actor's rows (and not every row);
 * empty: none; subset: anything else, with the count. A table without rows
 * measures nothing: n/a, not `empty`, which reads as "this actor sees nothing".
 */
export function classifyRows(c: RowCounts): Cell {
  const base = { rows: c.rows, total: c.total };
  if (c.total === 0) return { access: 'n/a', note: NO_ROWS };
  if (c.rows === 0) return { access: 'empty', ...base };
  if (c.ownTotal !== undefined && c.rowsOwn !== undefined && c.ownTotal > 0 && c.rows === c.ownTotal && c.rowsOwn === c.ownTotal && c.ownTotal < c.total) {
    return { access: 'own', ...base };
  }
  if (c.rows === c.total) {
    const note = c.ownTotal !== undefined && c.ownTotal === c.total ? 'every row belongs to this actor: own and all cannot be told apart' : undefined;
    return note ? { access: 'all', ...base, note } : { access: 'all', ...base };
  }
  const note = c.rowsOwn === undefined && c.ownTotal !== undefined ? 'which rows could not be told (the owner column is not readable)' : undefined;
  return note ? { access: 'subset', ...base, note } : { access: 'subset', ...base };
}

/** What one attempted statement ended with. */
export type Outcome =
  | { kind: 'ok'; count: number; note?: string }
  | { kind: 'denied'; note: string }
  | { kind: 'refused'; note: string }
  | { kind: 'constraint'; sqlstate: string; note: string }
  | { kind: 'error'; note: string }
  | { kind: 'skipped'; note: string };

/**
 * 42501 is both "permission denied for …" (no grant: checked before any row)
 * and "new row violates row-level security policy …" (a WITH CHECK, or an
 * UPDATE's new row failing USING); the message tells them apart. Class 23
 * (integrity constraints) in an INSERT is only raised after the RLS WITH CHECK
 * passed: ExecInsert runs ExecWithCheckOptions before ExecConstraints, index
 * insertion (unique) and the AFTER triggers that check foreign keys.
 */
export function outcomeOfError(err: unknown): Outcome {
  const pg = pgFieldsOf(err);
  if (!pg) throw err;
  const code = pg.sqlstate ?? '';
  const message = pg.message ?? 'error';
  if (code === '42501') {
    if (/violates row-level security policy/i.test(message)) return { kind: 'refused', note: message };
    return { kind: 'denied', note: message };
  }
  if (code.startsWith('23')) return { kind: 'constraint', sqlstate: code, note: `${code} ${message}` };
  // 44000: a view's WITH CHECK OPTION refused the new row, as a policy's WITH CHECK would.
  if (code === '44000') return { kind: 'refused', note: message };
  // 55000 for a view that is neither auto-updatable nor has an INSTEAD OF trigger or rule: nobody can write it.
  if (code === '55000' && /cannot (insert into|update|delete from) view/i.test(message)) return { kind: 'skipped', note: `not writable: ${message}` };
  return { kind: 'error', note: `${code} ${message}` };
}

/** A single-variant write (no owner column, or an actor without a user id). */
export function classifySingleInsert(o: Outcome): Cell {
  switch (o.kind) {
    case 'ok':
      return o.count > 0 ? { access: 'all', rows: o.count, ...(o.note ? { note: o.note } : {}) } : { access: 'empty', rows: 0, note: 'a trigger or rule dropped the row' };
    case 'constraint':
      return { access: 'all', note: `allowed by grants and policies; the copied row then broke a constraint (${o.note})` };
    case 'denied':
      return { access: 'none', note: o.note };
    case 'refused':
      return { access: 'refused', note: o.note };
    case 'skipped':
      return { access: 'n/a', note: o.note };
    case 'error':
      return { access: 'error', note: o.note };
  }
}

function allowed(o: Outcome): boolean {
  return (o.kind === 'ok' && o.count > 0) || o.kind === 'constraint';
}

/**
 * An INSERT tried twice by a user: once with the owner column set to the
 * user's id, once to another user's id. Own allowed and other refused is
 * "own"; both allowed is "all".
 */
export function classifyOwnedInsert(own: Outcome, other: Outcome): Cell {
  if (own.kind === 'denied') return { access: 'none', note: own.note };
  if (own.kind === 'error' || own.kind === 'skipped') return classifySingleInsert(own);
  if (other.kind === 'error') return { access: 'error', note: `as another owner: ${other.note}` };
  const notes = [own, other].filter((o) => o.kind === 'constraint').map((o) => (o as { note: string }).note);
  const note = notes.length ? `allowed by grants and policies; the copied row then broke a constraint (${notes[0]})` : own.kind === 'ok' ? own.note : undefined;
  const withNote = (c: Cell): Cell => (note ? { ...c, note } : c);
  if (other.kind === 'skipped') {
    if (allowed(own)) return { access: 'all', note: `own rows allowed; another owner could not be tried (${other.note})` };
    return classifySingleInsert(own);
  }
  if (allowed(own) && allowed(other)) return withNote({ access: 'all' });
  if (allowed(own) && other.kind === 'refused') return withNote({ access: 'own' });
  if (own.kind === 'refused' && other.kind === 'refused') return { access: 'refused', note: own.note };
  if (own.kind === 'refused' && allowed(other)) return { access: 'subset', note: 'only rows owned by someone else can be inserted' };
  if (other.kind === 'denied') return { access: 'none', note: other.note };
  return { access: 'error', note: `unexpected outcome: own ${own.kind}, other ${other.kind}` };
}
