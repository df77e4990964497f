/**
 * The plain-text table of `rowguard as` and `migrate status`. Its own module, so
 * string-width (Unicode width tables) loads only for the commands that print one,
 * not at every command's start-up.
 */
import stringWidth from 'string-width';

/**
 * One cell's text as lines the terminal shows at their width: a newline starts
 * another line of the cell (psql's aligned format does the same), a tab moves
 * to the next multiple of 8 within the cell, other control characters are
 * written \xHH (\r as \r), so no value can break the table's alignment.
 */
function cellLines(text: string): string[] {
  return text.split('\n').map((line) => {
    if (!/[\u0000-\u001f\u007f]/.test(line)) return line;
    let out = '';
    for (const ch of line) {
      if (ch === '\t') out += ' '.repeat(8 - (stringWidth(out) % 8));
      else if (ch === '\r') out += '\\r';
      else if (/[\u0000-\u001f\u007f]/.test(ch)) out += '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0');
      else out += ch;
    }
    return out;
  });
}

/**
 * Left-aligned plain-text table (no box drawing, pipe-friendly). Columns are
 * as wide as their widest line as a terminal shows it (wide CJK characters and
 * emoji take two cells); a cell of several lines spans several output lines,
 * each but its last marked with a `+` after it, as psql marks them.
 */
export function table(headers: string[], rows: string[][]): string {
  const grid = [headers, ...rows].map((r) => headers.map((_, i) => cellLines(r[i] ?? '')));
  const widths = headers.map((_, i) => Math.max(...grid.map((r) => Math.max(...r[i]!.map((l) => stringWidth(l))))));
  const out: string[] = [];
  for (const cells of grid) {
    const height = Math.max(...cells.map((c) => c.length));
    for (let k = 0; k < height; k++) {
      let line = '';
      cells.forEach((c, i) => {
        const text = c[k] ?? '';
        const more = k < c.length - 1 ? '+' : ' ';
        line += i === cells.length - 1 ? text + more : text + ' '.repeat(widths[i]! - stringWidth(text)) + more + ' ';
      });
      out.push(line.trimEnd());
    }
  }
  return out.join('\n');
}
