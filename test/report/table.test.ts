/**
 * The plain-text table behind `rowguard as` and `migrate status`: whatever a
 * value holds, every column starts at the same terminal column on every line.
 */
import { describe, expect, it } from 'vitest';
import stringWidth from 'string-width';
import { table } from '../../cli/core/report/table.js';

/** Terminal column where each header's column starts, read off a rendered line. */
function starts(line: string, cells: string[]): number[] {
  let from = 0;
  return cells.map((c) => {
    const at = line.indexOf(c, from);
    from = at + c.length;
    return stringWidth(line.slice(0, at));
  });
}

describe('table', () => {
  it('pads to the widest cell and trims the line end', () => {
    expect(table(['id', 'name'], [['1', 'ann'], ['22', 'bob']])).toBe('id  name\n1   ann\n22  bob');
  });

  it('measures wide characters (CJK, emoji) by the cells a terminal gives them', () => {
    const out = table(['jp', 'n'], [['日本語', '1'], ['x', '2'], ['😀', '3']]).split('\n');
    const at = out.map((l) => stringWidth(l.slice(0, l.lastIndexOf(' ') + 1)));
    expect(new Set(at).size).toBe(1);
    expect(at[0]).toBe(8); // 日本語 is six cells wide, then the two-space gap
  });

  it('spreads a multi-line value over several lines, marking each continued line with + (as psql does), and keeps later columns aligned', () => {
    const out = table(['id', 'body', 'n'], [['1', 'line one\nline two, longer\nend', '7'], ['2', 'short', '8']]);
    expect(out.split('\n')).toEqual([
      'id  body              n',
      '1   line one        + 7',
      '    line two, longer+',
      '    end',
      '2   short             8',
    ]);
  });

  it('a multi-line value in the last column gets its + too', () => {
    expect(table(['a', 'b'], [['1', 'x\ny']])).toBe('a  b\n1  x+\n   y');
  });

  it('writes control characters visibly and expands tabs inside the cell, so nothing moves the next column', () => {
    const out = table(['v', 'next'], [['a\tb', 'n1'], ['c\rd\u0001', 'n2'], ['plain', 'n3']]).split('\n');
    expect(out[1]).toContain('a       b');
    expect(out[2]).toContain('c\\rd\\x01');
    const cols = out.map((l, i) => starts(l, [['v', 'a', 'c', 'plain'][i]!, ['next', 'n1', 'n2', 'n3'][i]!])[1]);
    expect(new Set(cols).size).toBe(1);
  });
});
