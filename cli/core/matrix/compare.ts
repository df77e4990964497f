/**
 * Expected (committed) vs computed matrix: every cell that differs, as data,
 * plus the one-line wording users read ("anon: SELECT public.deployments none → all rows").
 */
import { COMMANDS, describeLabel, type MatrixCommand } from './model.js';
import type { MatrixLabels } from './file.js';

export interface CellChange {
  table: string;
  actor: string;
  command: MatrixCommand;
  /** null: the cell is new (table or actor not in the committed file). */
  expected: string | null;
  /** null: the cell is gone (table or actor no longer computed). */
  actual: string | null;
}

export function compareMatrices(expected: MatrixLabels, actual: MatrixLabels): CellChange[] {
  const changes: CellChange[] = [];
  const tables = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  for (const table of tables) {
    const e = expected[table] ?? {};
    const a = actual[table] ?? {};
    // Actors in the computed order first, then any only the file knows.
    const actors = [...new Set([...Object.keys(a), ...Object.keys(e)])];
    for (const actor of actors) {
      for (const command of COMMANDS) {
        const ev = e[actor]?.[command] ?? null;
        const av = a[actor]?.[command] ?? null;
        if (ev !== av) changes.push({ table, actor, command, expected: ev, actual: av });
      }
    }
  }
  return changes;
}

export function describeChange(c: CellChange): string {
  const from = c.expected === null ? '(not in the committed matrix)' : describeLabel(c.expected);
  const to = c.actual === null ? '(no longer computed)' : describeLabel(c.actual);
  return `${c.actor}: ${c.command} ${c.table} ${from} → ${to}`;
}
