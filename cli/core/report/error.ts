/** Renders a RowguardError for humans: one line, then the SQL line with a caret, detail and hint. */
import stringWidth from 'string-width';
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
    lines.push(' '.repeat(num.length + 5) + caretPadding(err.location.source, err.location.column) + c.red('^'));
  }
  const detail = err.detail ?? err.pg?.detail;
  if (detail) lines.push(`${c.dim('detail:')} ${detail}`);
  const context = contextFrame(err.pg?.where);
  if (context) lines.push(`${c.dim('context:')} ${context}`);
  const hint = err.hint ?? err.pg?.hint;
  if (hint) lines.push(`${c.cyan('hint:')} ${hint}`);
  return lines.join('\n') + '\n';
}

/**
 * Where inside a function an error was raised, from the server's CONTEXT: the
 * innermost frame that names one (PL/pgSQL's `SQL statement "…"` frames only
 * quote the query); --json has them all.
 */
export function contextFrame(where: string | undefined): string | undefined {
  const frames = where?.split('\n') ?? [];
  return frames.find((f) => /\bfunction\b/.test(f)) ?? frames[0];
}

/**
 * What goes before the caret so it stands under column `column` (code points) of
 * `source` as a terminal shows it: the line's own tabs (same tab stops), and as many
 * spaces as each other character is wide (2 for CJK and most emoji, 0 for combining marks).
 * Loaded only when an error is printed, so string-width costs nothing otherwise.
 */
export function caretPadding(source: string, column: number): string {
  return Array.from(source)
    .slice(0, Math.max(0, column - 1))
    .map((ch) => (ch === '\t' ? '\t' : ' '.repeat(stringWidth(ch))))
    .join('');
}
