/**
 * `migrate status` as a table: its own module, so that string-width (terminal
 * cell widths, ~10 ms to load) is read only by the command that draws a table,
 * not by `migrate up` on every deploy.
 */
import type { MigrationPlan } from '../migrate/plan.js';
import type { Output } from './output.js';
import { table } from './table.js';

export function renderStatus(plan: MigrationPlan, out: Output): string {
  const c = out.c;
  const colour = (s: string) =>
    s === 'applied' ? c.green(s) : s === 'pending' ? c.cyan(s) : c.red(s);
  if (plan.entries.length === 0) return 'no migrations';
  const rows = plan.entries.map((e) => [e.version, e.name, e.state, e.appliedAt ? e.appliedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '', e.note ?? '']);
  const text = table(['VERSION', 'NAME', 'STATE', 'APPLIED AT', 'NOTE'], rows);
  // Colour after layout so padding is computed on plain text.
  return text
    .split('\n')
    .map((line, i) => (i === 0 ? c.bold(line) : line.replace(/\b(applied|pending|edited|missing|failed)\b/, (m) => colour(m))))
    .join('\n');
}
