/**
 * Expected (committed) vs computed matrix: every cell that differs, as data,
 * plus the one-line wording users read ("anon: SELECT public.deployments none → all rows").
 */
import { COMMANDS, describeLabel, type MatrixCommand } from './model.js';
import type { CallLabels, MatrixLabels } from './file.js';

export interface CellChange {
  /** The relation, or for an EXECUTE cell the function. */
  table: string;
  actor: string;
  command: MatrixCommand | 'EXECUTE';
  /** null: the cell is new (table or actor not in the committed file). */
  expected: string | null;
  /** null: the cell is gone (table or actor no longer computed). */
  actual: string | null;
  /** Set when the whole table, the whole function, or the whole actor, is on one side only (added, dropped or renamed). */
  scope?: 'table' | 'actor' | 'function';
}

export function compareMatrices(expected: MatrixLabels, actual: MatrixLabels): CellChange[] {
  const changes: CellChange[] = [];
  const tables = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  const actorsOf = (m: MatrixLabels) => new Set(Object.values(m).flatMap((byActor) => Object.keys(byActor)));
  const expectedActors = actorsOf(expected);
  const actualActors = actorsOf(actual);
  for (const table of tables) {
    const e = expected[table] ?? {};
    const a = actual[table] ?? {};
    // Actors in the computed order first, then any only the file knows.
    const actors = [...new Set([...Object.keys(a), ...Object.keys(e)])];
    for (const actor of actors) {
      for (const command of COMMANDS) {
        const ev = e[actor]?.[command] ?? null;
        const av = a[actor]?.[command] ?? null;
        if (ev === av) continue;
        const scope = !(table in expected) || !(table in actual) ? 'table' : !expectedActors.has(actor) || !actualActors.has(actor) ? 'actor' : undefined;
        changes.push({ table, actor, command, expected: ev, actual: av, ...(scope ? { scope } : {}) });
      }
    }
  }
  return changes;
}

/** The same for who may call each function: one EXECUTE cell per (function, actor). */
export function compareCalls(expected: CallLabels, actual: CallLabels): CellChange[] {
  const changes: CellChange[] = [];
  for (const fn of [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()) {
    const e = expected[fn];
    const a = actual[fn];
    for (const actor of [...new Set([...Object.keys(a ?? {}), ...Object.keys(e ?? {})])]) {
      const ev = e?.[actor] ?? null;
      const av = a?.[actor] ?? null;
      if (ev === av) continue;
      changes.push({ table: fn, actor, command: 'EXECUTE', expected: ev, actual: av, ...(!e || !a ? { scope: 'function' as const } : {}) });
    }
  }
  return changes;
}

export function describeChange(c: CellChange): string {
  const from = c.expected === null ? '(not in the committed matrix)' : describeLabel(c.expected);
  const to = c.actual === null ? '(no longer computed)' : describeLabel(c.actual);
  return `${c.actor}: ${c.command} ${c.table} ${from} → ${to}`;
}

type Cells = Map<string, Record<string, string>>;

/** A whole table or actor on one side only: its cells, keyed by the other dimension. */
function collect(changes: CellChange[], scope: 'table' | 'actor', side: 'expected' | 'actual'): Map<string, Cells> {
  const out = new Map<string, Cells>();
  for (const c of changes) {
    const label = c[side];
    if (c.scope !== scope || label === null) continue;
    const [key, inner] = scope === 'table' ? [c.table, c.actor] : [c.actor, c.table];
    const cells = out.get(key) ?? new Map<string, Record<string, string>>();
    cells.set(inner, { ...cells.get(inner), [c.command]: label });
    out.set(key, cells);
  }
  return out;
}

function fingerprint(cells: Cells): string {
  return JSON.stringify([...cells.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, COMMANDS.map((c) => v[c] ?? null)]));
}

function commandsText(cells: Record<string, string>): string {
  return COMMANDS.map((c) => `${c} ${cells[c] === undefined ? '?' : describeLabel(cells[c]!)}`).join(', ');
}

/**
 * The lines a reviewer reads: each changed cell of a table and actor both
 * sides know ("anon: SELECT public.a none → all rows"), then whole tables and
 * actors that appear or disappear as one line each, a pair with identical
 * cells as a rename, and a new one with every cell it brings, one line per
 * actor (or table), since new access is what needs review.
 */
export function describeChanges(changes: CellChange[]): string[] {
  // An actor whose role is gone (renamed or dropped) turns every cell into the same n/a: one line.
  const missingRole = new Map<string, CellChange[]>();
  for (const c of changes) {
    if (!c.scope && c.actual !== null && /^n\/a: role .* does not exist$/.test(c.actual)) missingRole.set(c.actor, [...(missingRole.get(c.actor) ?? []), c]);
  }
  const lines = changes.filter((c) => !c.scope && !missingRole.has(c.actor)).map(describeChange);
  // A function on one side only: gone as one line; new with who may call it, one line per actor.
  for (const name of new Set(changes.filter((c) => c.scope === 'function' && c.actual === null).map((c) => c.table))) {
    lines.push(`${name}: no longer computed (dropped, renamed, or its schema is no longer exposed)`);
  }
  for (const c of changes) if (c.scope === 'function' && c.expected === null) lines.push(`${c.actor}: ${c.table} (new function) EXECUTE ${describeLabel(c.actual!)}`);
  for (const [actor, cells] of missingRole) {
    lines.push(`${actor}: ${cells.length} cell${cells.length === 1 ? '' : 's'} → ${cells[0]!.actual} (a renamed or dropped role: update actors.json)`);
  }
  for (const scope of ['table', 'actor'] as const) {
    const gone = collect(changes, scope, 'expected');
    const added = collect(changes, scope, 'actual');
    const what = scope === 'table' ? '' : 'actor ';
    for (const [name, cells] of gone) {
      const twin = [...added.entries()].find(([, other]) => fingerprint(other) === fingerprint(cells));
      if (twin) {
        lines.push(`${what}${name} → ${twin[0]}: renamed, or replaced by one with the same access (every cell unchanged)`);
        added.delete(twin[0]);
      } else {
        lines.push(scope === 'table' ? `${name}: no longer computed (dropped, renamed, or its schema is no longer exposed)` : `actor ${name}: no longer computed (no longer in actors.json)`);
      }
    }
    for (const [name, cells] of added) {
      for (const [inner, byCommand] of cells) {
        lines.push(scope === 'table' ? `${inner}: ${name} (new table) ${commandsText(byCommand)}` : `${name} (new actor): ${inner} ${commandsText(byCommand)}`);
      }
    }
  }
  return lines;
}
