/**
 * test/access-matrix.json: the committed expected matrix. Written with a
 * stable key order (tables by name, actors in declared order, commands
 * SELECT/INSERT/UPDATE/DELETE) and one line per (table, actor), so a change in
 * access is a one-line diff in review.
 */
import { RowguardError } from '../errors.js';
import { COMMANDS, callLabel, cellLabel, type Matrix, type MatrixCommand } from './model.js';

export const MATRIX_FILE_VERSION = 1;

/** The comparable content: table → actor → command → label. */
export type MatrixLabels = Record<string, Record<string, Record<MatrixCommand, string>>>;

/** function → actor → label (`none`, `execute`, `execute as <owner>`). */
export type CallLabels = Record<string, Record<string, string>>;

export interface MatrixFile {
  version: number;
  actors: Array<{ name: string; kind: string }>;
  tables: MatrixLabels;
  /** Absent in a file written before functions were computed: they are then not compared. */
  functions?: CallLabels;
}

export function callLabelsOf(m: Matrix): CallLabels {
  const out: CallLabels = {};
  for (const f of [...m.functions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    out[f.name] = Object.fromEntries(m.actors.flatMap((a) => (m.calls[f.name]?.[a.name] ? [[a.name, callLabel(m.calls[f.name]![a.name]!)]] : [])));
  }
  return out;
}

export function labelsOf(m: Matrix): MatrixLabels {
  const out: MatrixLabels = {};
  for (const t of [...m.tables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    out[t.name] = {};
    for (const a of m.actors) {
      const cells = m.cells[t.name]?.[a.name];
      if (!cells) continue;
      out[t.name]![a.name] = Object.fromEntries(COMMANDS.map((c) => [c, cellLabel(cells[c])])) as Record<MatrixCommand, string>;
    }
  }
  return out;
}

export function serializeMatrix(m: Matrix): string {
  const labels = labelsOf(m);
  const j = JSON.stringify;
  const lines: string[] = [];
  lines.push('{');
  lines.push(`  "$comment": ${j('Expected access of each actor to each table, and whether it may call each function PostgREST serves. Written by `rowguard matrix --update`; `rowguard matrix` and `rowguard test` fail when a computed cell differs.')},`);
  lines.push(`  "version": ${MATRIX_FILE_VERSION},`);
  lines.push('  "actors": [');
  m.actors.forEach((a, i) => lines.push(`    { "name": ${j(a.name)}, "kind": ${j(a.kind)} }${i < m.actors.length - 1 ? ',' : ''}`));
  lines.push('  ],');
  lines.push('  "tables": {');
  const tables = Object.keys(labels);
  const width = Math.max(0, ...m.actors.map((a) => j(a.name).length));
  tables.forEach((t, ti) => {
    lines.push(`    ${j(t)}: {`);
    const actors = Object.keys(labels[t]!);
    actors.forEach((a, ai) => {
      const cmds = COMMANDS.map((c) => `${j(c)}: ${j(labels[t]![a]![c])}`).join(', ');
      lines.push(`      ${(j(a) + ':').padEnd(width + 1)} { ${cmds} }${ai < actors.length - 1 ? ',' : ''}`);
    });
    lines.push(`    }${ti < tables.length - 1 ? ',' : ''}`);
  });
  lines.push('  },');
  // One line per function: who may call it.
  const calls = callLabelsOf(m);
  const fns = Object.keys(calls);
  lines.push(`  "functions": {${fns.length ? '' : '}'}`);
  fns.forEach((f, i) => lines.push(`    ${j(f)}: { ${Object.entries(calls[f]!).map(([a, label]) => `${j(a)}: ${j(label)}`).join(', ')} }${i < fns.length - 1 ? ',' : ''}`));
  if (fns.length) lines.push('  }');
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Read a committed matrix; a malformed file is one config error naming it. */
export function parseMatrixFile(text: string, display: string): MatrixFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RowguardError('config', `${display}: not valid JSON (${(err as Error).message})`, { hint: 'rewrite it with rowguard matrix --update' });
  }
  const d = doc as Partial<MatrixFile>;
  const bad = (why: string) => new RowguardError('config', `${display}: ${why}`, { hint: 'rewrite it with rowguard matrix --update' });
  if (!d || typeof d !== 'object') throw bad('expected a JSON object');
  if (d.version !== MATRIX_FILE_VERSION) throw bad(`unsupported version ${String(d.version)} (this rowguard writes ${MATRIX_FILE_VERSION})`);
  if (!Array.isArray(d.actors)) throw bad('"actors" must be a list');
  if (!d.tables || typeof d.tables !== 'object') throw bad('"tables" must be an object');
  for (const [t, byActor] of Object.entries(d.tables)) {
    if (!byActor || typeof byActor !== 'object') throw bad(`tables[${t}] must be an object`);
    for (const [a, byCmd] of Object.entries(byActor)) {
      for (const c of COMMANDS) {
        if (typeof (byCmd as Record<string, unknown>)?.[c] !== 'string') throw bad(`tables[${t}][${a}].${c} must be a string`);
      }
    }
  }
  if (d.functions !== undefined) {
    if (!d.functions || typeof d.functions !== 'object' || Array.isArray(d.functions)) throw bad('"functions" must be an object');
    for (const [f, byActor] of Object.entries(d.functions)) {
      if (!byActor || typeof byActor !== 'object') throw bad(`functions[${f}] must be an object`);
      for (const [a, label] of Object.entries(byActor)) if (typeof label !== 'string') throw bad(`functions[${f}][${a}] must be a string`);
    }
  }
  return d as MatrixFile;
}
