/**
 * JSON read the way PostgREST's aeson (≥ 2.2, `Data.Aeson.Decoding`) reads a
 * token's header and payload, where JSON.parse would decide differently:
 *
 * - a key that repeats keeps its FIRST value (aeson's `convertR` builds the
 *   object with `KM.fromList` over the pairs reversed), where JSON.parse keeps
 *   the last: `{"role":"anon","role":"service_role"}` is anon to PostgREST;
 * - the bytes must be UTF-8, a byte-order mark is not whitespace, and a \u
 *   escape of a surrogate must be a high one followed by a low one;
 * - a number keeps its source text (`raw`), so a time claim can be converted
 *   exactly as Scientific's `toBoundedInteger` does (see `int64OfNumber`),
 *   which a double cannot do for 2^63 or for 1767225600.0000000001; what is
 *   written back out is aeson's text of that Scientific (`aesonNumberText`).
 */

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface ParsedJson {
  value: unknown;
  /** Source text of each number that is a direct member of the top-level object (first occurrence). */
  topNumbers: Map<string, string>;
  /**
   * Each member of the top-level object as PostgREST writes it back out
   * (see encodeAeson), each number as aeson writes the Scientific it read
   * (aesonNumberText), so a 64-bit id keeps every digit.
   */
  topEncoded: Map<string, string>;
}

class Bad extends Error {}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Parse one JSON text (RFC 8259, whitespace around it allowed); undefined when it is not one. */
export function parseJsonAeson(input: Uint8Array | string): ParsedJson | undefined {
  let text: string;
  try {
    text = typeof input === 'string' ? input : utf8.decode(input);
  } catch {
    return undefined;
  }
  let i = 0;
  const topNumbers = new Map<string, string>();
  const topEncoded = new Map<string, string>();
  // The aeson-style text of the value parsed last (set by value()).
  let encoded = '';
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const str = (): string => {
    // text[i] === '"'
    i++;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= text.length) throw new Bad();
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) throw new Bad();
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        if (e === 'u') {
          const unit = (at: number) => {
            const hex = text.slice(at, at + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Bad();
            return parseInt(hex, 16);
          };
          const u = unit(i + 2);
          i += 6;
          // aeson's unescape: a high surrogate must be followed by \u and a low one; a lone low one is an error.
          if (u >= 0xdc00 && u <= 0xdfff) throw new Bad();
          if (u >= 0xd800 && u <= 0xdbff) {
            if (text[i] !== '\\' || text[i + 1] !== 'u') throw new Bad();
            const lo = unit(i + 2);
            if (lo < 0xdc00 || lo > 0xdfff) throw new Bad();
            out += String.fromCharCode(u, lo);
            i += 6;
          } else out += String.fromCharCode(u);
        } else if (e !== undefined && ESCAPES[e] !== undefined) {
          out += ESCAPES[e];
          i += 2;
        } else throw new Bad();
        start = i;
        continue;
      }
      i++;
    }
  };
  // Iterative, with an explicit stack: aeson's decoder has no nesting limit (a 50 KiB token nests
  // ~19,000 deep), and a recursive parser here ran out of JavaScript stack at a depth that depended
  // on how warm the JIT was, so the same token could parse or not.
  type Frame =
    | { kind: 'object'; obj: Record<string, unknown>; members: Map<string, string>; key: string; numStart: number; top: boolean }
    | { kind: 'array'; arr: unknown[]; items: string[] };
  const stack: Frame[] = [];
  // The value parsed last, with `encoded` its aeson text.
  let result: unknown;
  const readKey = (f: Frame & { kind: 'object' }) => {
    ws();
    if (text[i] !== '"') throw new Bad();
    f.key = str();
    ws();
    if (text[i] !== ':') throw new Bad();
    i++;
    ws();
    f.numStart = i;
  };
  /** Parse a scalar or an empty container (true: `result` is set), or open a container (false). */
  const begin = (): boolean => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return i++, (result = {}), (encoded = '{}'), true;
      const f: Frame = { kind: 'object', obj: {}, members: new Map(), key: '', numStart: i, top: stack.length === 0 };
      readKey(f);
      stack.push(f);
      return false;
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return i++, (result = []), (encoded = '[]'), true;
      stack.push({ kind: 'array', arr: [], items: [] });
      return false;
    }
    if (c === '"') {
      result = str();
      encoded = aesonString(result as string);
      return true;
    }
    if (text.startsWith('true', i)) return (i += 4), (result = true), (encoded = 'true'), true;
    if (text.startsWith('false', i)) return (i += 5), (result = false), (encoded = 'false'), true;
    if (text.startsWith('null', i)) return (i += 4), (result = null), (encoded = 'null'), true;
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) throw new Bad();
    i += m[0].length;
    encoded = aesonNumberText(m[0]);
    result = Number(m[0]);
    return true;
  };
  const value = (): unknown => {
    let done = begin();
    for (;;) {
      if (!done) {
        done = begin();
        continue;
      }
      const f = stack[stack.length - 1];
      if (!f) return result;
      if (f.kind === 'object') {
        if (!Object.prototype.hasOwnProperty.call(f.obj, f.key)) {
          // defineProperty: a "__proto__" key is a member like any other, as in aeson.
          Object.defineProperty(f.obj, f.key, { value: result, enumerable: true, writable: true, configurable: true });
          f.members.set(f.key, encoded);
          if (f.top) {
            topEncoded.set(f.key, encoded);
            if (typeof result === 'number') topNumbers.set(f.key, text.slice(f.numStart, i));
          }
        }
        ws();
        if (text[i] === ',') {
          i++;
          readKey(f);
          done = begin();
          continue;
        }
        if (text[i] !== '}') throw new Bad();
        i++;
        stack.pop();
        result = f.obj;
        encoded = objectText(f.members);
      } else {
        f.arr.push(result);
        f.items.push(encoded);
        ws();
        if (text[i] === ',') {
          i++;
          done = begin();
          continue;
        }
        if (text[i] !== ']') throw new Bad();
        i++;
        stack.pop();
        result = f.arr;
        encoded = `[${f.items.join(',')}]`;
      }
    }
  };
  try {
    const v = value();
    ws();
    if (i !== text.length) return undefined;
    return { value: v, topNumbers, topEncoded };
  } catch (err) {
    if (err instanceof Bad || err instanceof RangeError) return undefined;
    throw err;
  }
}

/**
 * A string as aeson writes it (`Data.Aeson.Encoding.Builder.escapeAscii`):
 * `\"`, `\\`, `\n`, `\r`, `\t`, any other control character as a
 * lower-case `\u00xx` — so `\b` and `\f`, which JSON.stringify writes short,
 * become `\u0008` and `\u000c` — and everything else, `/` and non-ASCII
 * included, as it is.
 */
export function aesonString(s: string): string {
  return JSON.stringify(s).replace(/\\(.)/g, (all, c: string) => (c === 'b' ? '\\u0008' : c === 'f' ? '\\u000c' : all));
}

/** aeson's KeyMap order (Data.Map over Text): keys by code point, i.e. by their UTF-8 bytes. */
export const byKey = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

function objectText(members: ReadonlyMap<string, string>): string {
  return `{${[...members.keys()]
    .sort(byKey)
    .map((k) => `${aesonString(k)}:${members.get(k)!}`)
    .join(',')}}`;
}

/**
 * A value as PostgREST writes JSON back out (aeson's encode of a KeyMap):
 * object members in key order, no blank space. For values built in memory.
 */
export function encodeAeson(root: unknown): string {
  // Iterative: a claim can nest ~19,000 deep (see parseJsonAeson).
  type Frame = { keys: string[] | null; values: unknown[]; parts: string[] };
  const open = (v: unknown): Frame | string => {
    if (Array.isArray(v)) return { keys: null, values: v.map((x) => (x === undefined ? null : x)), parts: [] };
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort(byKey);
      return { keys, values: keys.map((k) => o[k]), parts: [] };
    }
    return typeof v === 'string' ? aesonString(v) : (JSON.stringify(v) ?? 'null');
  };
  const first = open(root);
  if (typeof first === 'string') return first;
  const stack: Frame[] = [first];
  for (;;) {
    const f = stack[stack.length - 1]!;
    if (f.parts.length < f.values.length) {
      const child = open(f.values[f.parts.length]);
      if (typeof child === 'string') f.parts.push(child);
      else stack.push(child);
      continue;
    }
    stack.pop();
    const keys = f.keys;
    const text = keys ? `{${f.parts.map((p, j) => `${aesonString(keys[j]!)}:${p}`).join(',')}}` : `[${f.parts.join(',')}]`;
    const parent = stack[stack.length - 1];
    if (!parent) return text;
    parent.parts.push(text);
  }
}

/**
 * request.jwt.claims as PostgREST sets it: the claims object with "role" set
 * to the role the request runs as, written by aeson (members in key order).
 * `members` are the token's own member texts (exact numbers); without them,
 * the claims object is encoded.
 */
export function claimsJsonAeson(claims: Record<string, unknown>, role: string, members?: ReadonlyMap<string, string>): string {
  const m = new Map(members ?? Object.keys(claims).filter((k) => claims[k] !== undefined).map((k) => [k, encodeAeson(claims[k])]));
  m.set('role', aesonString(role));
  return objectText(m);
}

/** Haskell Int arithmetic: wraps at 64 bits. */
const hsInt = (n: bigint): bigint => BigInt.asIntN(64, n);

/**
 * A JSON number as PostgREST writes it back out: aeson (≥ 2.2,
 * `Data.Aeson.Decoding.ByteString.scanNumberLiteral`) reads it into a
 * Scientific WITHOUT normalising — coefficient = all digits written, exponent
 * = the written exponent minus the fraction digits (Int, wrapping) — and its
 * encoder (`Data.Aeson.Encoding.Builder.scientific`) writes an exponent in
 * [0, 1024] as the integer coefficient × 10^e, anything else with scientific's
 * `formatScientificBuilder Generic Nothing` over the normalised digits 0.d₁…dₙ
 * × 10^ne: exponent form (`d.ddde<ne-1>`, at least one fraction digit) when
 * ne < 0 or ne > 7, else fixed (`0.00dd` or digits with a point and at least
 * one digit on each side). So 1767225600.0 is written 1.7672256e9,
 * 1.7672256e9 is 1767225600, 0.05 is 5.0e-2, 1.50 is 1.5, -0.0 is 0.0.
 */
export function aesonNumberText(raw: string): string {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?)([0-9]+))?$/.exec(raw);
  if (!m) return raw;
  const [, sign, whole, frac, expSign, expDigits] = m;
  const negative = sign === '-';
  const coef = BigInt(whole! + (frac ?? ''));
  let e = frac === undefined ? 0n : -BigInt(frac.length);
  if (expDigits !== undefined) e = hsInt(expSign === '-' ? e - hsInt(BigInt(expDigits)) : e + hsInt(BigInt(expDigits)));
  if (coef === 0n) return e < 0n || e > 1024n ? '0.0' : '0';
  if (e >= 0n && e <= 1024n) return `${negative ? '-' : ''}${coef * 10n ** e}`;
  // toDecimalDigits: the coefficient's digits without trailing zeros, value 0.d₁…dₙ × 10^ne.
  const all = coef.toString();
  const ds = all.replace(/0+$/, '');
  const ne = hsInt(BigInt(all.length) + e);
  let body: string;
  if (ne < 0n || ne > 7n) body = `${ds[0]}.${ds.length > 1 ? ds.slice(1) : '0'}e${hsInt(ne - 1n)}`;
  else if (ne === 0n) body = `0.${ds}`;
  else {
    const n = Number(ne);
    body = `${ds.slice(0, n).padEnd(n, '0')}.${ds.slice(n) || '0'}`;
  }
  return `${negative ? '-' : ''}${body}`;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * PostgREST's `sciToInt = fromMaybe 0 . Sci.toBoundedInteger` (Int64) on a JSON
 * number's source text: an integral value in Int64's range is itself
 * (1767225600, 1.7672256e9, 17672256000e-1); a fraction, or anything beyond
 * Int64, is 0. Returned as a bigint, so 2^63 - 1 stays exact.
 */
export function int64OfNumber(raw: string): bigint {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(raw);
  if (!m) return 0n;
  const [, sign, int, frac = '', exp = '0'] = m;
  let digits = (int! + frac).replace(/^0+/, '');
  if (digits === '') return 0n;
  // aeson reads the written exponent into an Int, wrapping at 64 bits (see aesonNumberText).
  let e = hsInt(-BigInt(frac.length) + hsInt(BigInt(exp)));
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  e += BigInt(trailing);
  if (e < 0n) return 0n; // a fraction
  if (BigInt(digits.length) + e > 20n) return 0n; // far beyond Int64
  const n = BigInt(digits) * 10n ** e * (sign ? -1n : 1n);
  return n < INT64_MIN || n > INT64_MAX ? 0n : n;
}
