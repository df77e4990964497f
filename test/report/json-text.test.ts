/** jsonText: JSON.stringify's text, also for values nested deeper than JSON.stringify can go. */
import { describe, expect, it } from 'vitest';
import { deepJsonText, jsonText } from '../../cli/core/report/json-text.js';
import { mulberry32 } from '../helpers/random.js';

describe('jsonText', () => {
  it("the iterative writer gives JSON.stringify's exact text on 3,000 random values (toJSON, undefined, functions, -0, NaN, escapes)", () => {
    const rand = mulberry32(4242);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const scalars: unknown[] = [null, true, false, 0, -0, 1.5, -2e-7, 1e21, NaN, Infinity, undefined, () => 1, Symbol('s'), '', 'a"b\\c\n\u0001\u2028é😀', new Date(0)];
    const gen = (depth: number): unknown => {
      if (depth > 4 || rand() < 0.4) return pick(scalars);
      if (rand() < 0.5) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
      const o: Record<string, unknown> = {};
      for (let k = Math.floor(rand() * 4); k > 0; k--) o[pick(['a', 'b', '"q"', '0', '__x', 'é'])] = gen(depth + 1);
      if (rand() < 0.1) o['toJSON'] = () => ({ replaced: true });
      return o;
    };
    for (let n = 0; n < 3000; n++) {
      const v = gen(0);
      for (const indent of [2, 0]) expect(deepJsonText(v, indent), String(n)).toBe(JSON.stringify(v, null, indent));
    }
  });

  it('writes a value JSON.stringify runs out of stack on, compact; anything else exactly as JSON.stringify(v, null, 2)', () => {
    let deep: unknown = 'r';
    for (let i = 0; i < 20000; i++) deep = [deep];
    expect(() => JSON.stringify({ a: deep })).toThrow(RangeError);
    expect(jsonText({ a: deep, b: 1 })).toBe(`{"a":${'['.repeat(20000)}"r"${']'.repeat(20000)},"b":1}`);
    expect(jsonText({ x: [1, { y: 'z' }] })).toBe(JSON.stringify({ x: [1, { y: 'z' }] }, null, 2));
  });
});
