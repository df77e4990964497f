/** Renders a RowguardError for humans: one line, then the SQL line with a caret, detail and hint. */
import type { Output } from './output.js';
import type { RowguardError } from '../errors.js';

export function renderError(err: RowguardError, out: Output): string {
  const c = out.c;
  const lines: string[] = [];
  const where = err.location ? `${err.location.file}:${err.location.line}:${err.location.column}: ` : '';
  const state = err.pg?.sqlstate ? ` [${err.pg.sqlstate}]` : '';
  lines.push(`${c.red('error:')} ${where}${err.message}${state}`);
  if (err.location?.source !== undefined) {
    const num = String(err.location.line);
    lines.push(c.dim(`  ${num} | `) + err.location.source);
    lines.push(' '.repeat(num.length + 5 + Math.max(0, err.location.column - 1)) + c.red('^'));
  }
  const detail = err.detail ?? err.pg?.detail;
  if (detail) lines.push(`${c.dim('detail:')} ${detail}`);
  const hint = err.hint ?? err.pg?.hint;
  if (hint) lines.push(`${c.cyan('hint:')} ${hint}`);
  return lines.join('\n') + '\n';
}
