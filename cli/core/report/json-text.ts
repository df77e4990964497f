/**
 * JSON.stringify(value, null, indent), also for values nested deeper than
 * V8's JSON.stringify can go (it runs out of stack a few thousand levels
 * down): a verified token's claims can nest ~19,000 deep, as PostgREST's aeson
 * reads them. JSON.stringify is used whenever it can; when it cannot, the
 * iterative writer (same rules: toJSON, members that are undefined, a function
 * or a symbol are left out of objects and null in arrays, a non-finite number
 * is null) writes the document compact, as indentation grows with the square
 * of the depth (19,000 levels would be ~360 million spaces).
 */
export function jsonText(value: unknown, indent = 2): string {
  try {
    return JSON.stringify(value, null, indent);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
  }
  return deepJsonText(value, 0);
}

/** An array or object being written: its members' texts so far, and where it goes in its parent (slot). */
type Frame = { open: string; close: string; keys: string[] | null; values: unknown[]; parts: string[]; next: number; depth: number; slot: number };

/** The iterative writer itself (exported for its test against JSON.stringify). */
export function deepJsonText(root: unknown, indent: number): string {
  const pad = (d: number) => ' '.repeat(indent * d);
  /** A scalar's text, undefined for what JSON leaves out, or a frame for an array or object. */
  const open = (raw: unknown, key: string, depth: number, slot: number): string | undefined | Frame => {
    let v = raw;
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: (k: string) => unknown }).toJSON(key);
    if (v === null) return 'null';
    if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
    if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    if (typeof v === 'bigint') throw new TypeError('Do not know how to serialize a BigInt');
    if (typeof v !== 'object') return undefined;
    if (Array.isArray(v)) return { open: '[', close: ']', keys: null, values: v, parts: [], next: 0, depth, slot };
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    return { open: '{', close: '}', keys, values: keys.map((k) => o[k]), parts: [], next: 0, depth, slot };
  };
  const close = (f: Frame): string =>
    f.parts.length === 0
      ? f.open + f.close
      : indent === 0
        ? `${f.open}${f.parts.join(',')}${f.close}`
        : `${f.open}\n${f.parts.map((p) => pad(f.depth + 1) + p).join(',\n')}\n${pad(f.depth)}${f.close}`;
  const first = open(root, '', 0, 0);
  if (first === undefined || typeof first === 'string') return first as string;
  const stack: Frame[] = [first];
  const add = (f: Frame, index: number, text: string | undefined) => {
    if (f.keys) {
      if (text !== undefined) f.parts.push(`${JSON.stringify(f.keys[index])}:${indent === 0 ? '' : ' '}${text}`);
    } else f.parts.push(text ?? 'null');
  };
  for (;;) {
    const f = stack[stack.length - 1]!;
    if (f.next < f.values.length) {
      const index = f.next++;
      const child = open(f.values[index], f.keys ? f.keys[index]! : String(index), f.depth + 1, index);
      if (child !== undefined && typeof child !== 'string') stack.push(child);
      else add(f, index, child);
      continue;
    }
    stack.pop();
    const text = close(f);
    const parent = stack[stack.length - 1];
    if (!parent) return text;
    add(parent, f.slot, text);
  }
}
