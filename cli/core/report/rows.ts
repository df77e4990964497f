/** Text output of `rowguard as`: each result as a table, and a footer saying how the request ran. */
import type { Output } from './output.js';
import { table } from './table.js';
import type { AsResult } from '../as/run.js';
import { AUTHENTICATOR } from '../postgrest/request.js';

/** One cell as psql would show it, close enough: NULL spelled out, JSON for objects, hex for bytea. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (Buffer.isBuffer(v)) return '\\x' + v.toString('hex');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const jsonValue = (v: unknown): unknown => (Buffer.isBuffer(v) ? '\\x' + v.toString('hex') : v);

/** Rows made JSON-safe (bytea as \x hex, like Postgres' text output). */
export function jsonRows(rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsonValue(v)])));
}

/** A result set made JSON-safe: its rows, and its values when it has them (a column name repeats). */
export function jsonResultSet<T extends { rows: Array<Record<string, unknown>>; values?: unknown[][] }>(set: T): T {
  return { ...set, rows: jsonRows(set.rows), ...(set.values ? { values: set.values.map((v) => v.map(jsonValue)) } : {}) };
}

export function renderAsResult(r: AsResult, out: Output): string {
  const c = out.c;
  const parts: string[] = [];
  for (const set of r.results) {
    if (set.columns.length > 0) {
      const values = set.values ?? set.rows.map((row) => set.columns.map((col) => row[col]));
      parts.push(table(set.columns, values.map((v) => v.map(cellText))));
      parts.push(c.dim(`(${set.rows.length} row${set.rows.length === 1 ? '' : 's'})`));
    } else if (set.command) {
      parts.push(`${set.command}${set.rowCount !== null ? ` ${set.rowCount}` : ''}`);
    }
  }
  return parts.join('\n');
}

/** The line that says how the request ran (stderr: the tables stay pipe-clean). */
export function asFooter(r: AsResult, out: Output): string {
  // Without authenticator, the connecting user's memberships decided which role the token could switch to.
  const from = r.switchedFrom && r.switchedFrom !== AUTHENTICATOR ? `; role switched from ${r.switchedFrom}, not ${AUTHENTICATOR} as in PostgREST` : '';
  return out.c.dim(`as ${r.role}, ${r.method}${r.readOnly ? ' (read only)' : ''}; ${r.committed ? 'committed' : 'rolled back'}${from}`);
}
