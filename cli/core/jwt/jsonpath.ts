/**
 * `jwt-role-claim-key` as PostgREST reads it (`Config.parseRoleClaimKey`):
 *
 * 1. RFC 9535 JSONPath (v16; aeson-jsonpath 0.4's grammar): `$`, then child
 *    segments `.name`, `.*`, `[selectors]` and descendant segments `..name`,
 *    `..*`, `..[selectors]`, blank space allowed before each segment and inside
 *    brackets; selectors are 'name' / "name" (JSON-like escapes), an index
 *    (no leading zero, no -0, within ±(2^53-1)), a slice start:end:step and `*`.
 *    Filter selectors (`[?…]`) are not supported here: such a path is refused.
 *    The role is the FIRST node selected; object members come in key order
 *    (aeson's KeyMap), as in aeson-jsonpath.
 * 2. Else the pre-v16 syntax (accepted again, deprecated, since PostgREST
 *    16.2; 16.0 and 16.1 refuse it): `.key`, `."quoted key"`,
 *    `[0]`, and a last `[?(@ == "x")]` (also !=, ^==, ==^, *==) that picks the
 *    first matching string of an array.
 *
 * A path that neither grammar reads is refused: PostgREST does not start.
 */
import { RowguardError } from '../errors.js';
import { byKey } from './json.js';

type Selector =
  | { kind: 'name'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start: number | null; end: number | null; step: number }
  | { kind: 'wildcard' };
type Segment = { descendant: boolean; selectors: Selector[] };
type DeprecatedStep = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'filter'; op: '==' | '!=' | '^==' | '==^' | '*=='; value: string };

export type RolePath = { syntax: 'rfc9535'; segments: Segment[] } | { syntax: 'deprecated'; steps: DeprecatedStep[] };

class Fail extends Error {}
class Unsupported extends Error {}

const MAX_INT = 9007199254740991;
const SPACE = /[ \n\r\t]/;
const NAME_FIRST = (c: string) => /[A-Za-z_]/.test(c) || c.charCodeAt(0) >= 0x80;
const NAME_CHAR = (c: string) => /[A-Za-z0-9_]/.test(c) || c.charCodeAt(0) >= 0x80;

function parseRfc9535(s: string): Segment[] {
  let i = 0;
  const fail = (): never => {
    throw new Fail();
  };
  const spaces = () => {
    while (i < s.length && SPACE.test(s[i]!)) i++;
  };
  const int = (): number => {
    const m = /^-?[0-9]+/.exec(s.slice(i));
    if (!m || m[0].startsWith('-0') || /^0[0-9]/.test(m[0])) fail();
    const n = Number(m![0]);
    if (Math.abs(n) > MAX_INT) fail();
    i += m![0].length;
    return n;
  };
  const quoted = (q: "'" | '"'): string => {
    i++;
    let out = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) return fail();
      if (c === q) {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = s[i + 1];
        const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '/': '/', '\\': '\\', [q]: q };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
          continue;
        }
        if (e !== 'u') fail();
        const hex = (at: number) => (/^[0-9A-Fa-f]{4}$/.test(s.slice(at, at + 4)) ? parseInt(s.slice(at, at + 4), 16) : fail());
        const hi = hex(i + 2);
        if (hi >= 0xdc00 && hi <= 0xdfff) fail();
        if (hi >= 0xd800 && hi <= 0xdbff) {
          if (s.slice(i + 6, i + 8) !== '\\u') fail();
          const lo = hex(i + 8);
          if (lo < 0xdc00 || lo > 0xdfff) fail();
          out += String.fromCharCode(hi, lo);
          i += 12;
        } else {
          out += String.fromCharCode(hi);
          i += 6;
        }
        continue;
      }
      const code = c.charCodeAt(0);
      if (code < 0x20) fail();
      out += c;
      i++;
    }
  };
  const name = (): string => {
    if (i >= s.length || !NAME_FIRST(s[i]!)) fail();
    const start = i;
    while (i < s.length && NAME_CHAR(s[i]!)) i++;
    return s.slice(start, i);
  };
  const selector = (): Selector => {
    const c = s[i];
    if (c === "'" || c === '"') return { kind: 'name', name: quoted(c) };
    if (c === '*') return i++, { kind: 'wildcard' };
    if (c === '?') throw new Unsupported();
    // A slice, or else an index.
    const save = i;
    let start: number | null = null;
    if (c !== ':') {
      start = int();
      spaces();
    }
    if (s[i] !== ':') {
      i = save;
      return { kind: 'index', index: int() };
    }
    i++;
    spaces();
    let end: number | null = null;
    if (/[-0-9]/.test(s[i] ?? '')) {
      end = int();
      spaces();
    }
    let step = 1;
    if (s[i] === ':') {
      i++;
      // aeson-jsonpath: optionMaybe (pSpaces *> pSignedInt) — blank space here must be followed by the step.
      if (SPACE.test(s[i] ?? '')) {
        spaces();
        step = int();
      } else if (/[-0-9]/.test(s[i] ?? '')) step = int();
    }
    return { kind: 'slice', start, end, step };
  };
  if (s[0] !== '$') fail();
  i = 1;
  const segments: Segment[] = [];
  while (i < s.length) {
    spaces();
    if (i >= s.length) fail(); // blank space after the last segment
    const descendant = s.startsWith('..', i);
    if (descendant) i += 2;
    if (s[i] === '[') {
      i++;
      spaces();
      const selectors = [selector()];
      for (;;) {
        const save = i;
        spaces();
        if (s[i] !== ',') {
          i = save;
          break;
        }
        i++;
        spaces();
        selectors.push(selector());
      }
      spaces();
      if (s[i] !== ']') fail();
      i++;
      segments.push({ descendant, selectors });
      continue;
    }
    if (!descendant) {
      if (s[i] !== '.') fail();
      i++;
    }
    if (s[i] === '*') {
      i++;
      segments.push({ descendant, selectors: [{ kind: 'wildcard' }] });
    } else segments.push({ descendant, selectors: [{ kind: 'name', name: name() }] });
  }
  return segments;
}

function parseDeprecated(s: string): DeprecatedStep[] {
  const steps: DeprecatedStep[] = [];
  let i = 0;
  while (i < s.length) {
    const rest = s.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\.(?:([\p{L}\p{N}_$@]+)|"([^"]*)")/u.exec(rest))) steps.push({ kind: 'key', key: m[1] ?? m[2]! });
    else if ((m = /^\[\?\(@\s*(==\^|==|!=|\^==|\*==)\s*"([^"]*)"\)\]$/.exec(rest))) steps.push({ kind: 'filter', op: m[1] as '==', value: m[2]! });
    else if ((m = /^\[([0-9]+)\]/.exec(rest))) steps.push({ kind: 'index', index: Number(m[1]) });
    else throw new Fail();
    i += m[0].length;
  }
  if (steps.length === 0) throw new Fail();
  return steps;
}

export function parseJsonPath(path: string): RolePath {
  let unsupported = false;
  try {
    return { syntax: 'rfc9535', segments: parseRfc9535(path) };
  } catch (err) {
    if (err instanceof Unsupported) unsupported = true;
    else if (!(err instanceof Fail)) throw err;
  }
  try {
    return { syntax: 'deprecated', steps: parseDeprecated(path) };
  } catch (err) {
    if (!(err instanceof Fail)) throw err;
  }
  if (unsupported) return badPath(path, 'filter selectors ([?…]) are not supported by rowguard');
  return badPath(path, 'PostgREST would refuse to start with it');
}

function badPath(path: string, why: string): never {
  throw new RowguardError('config', `"${path}" is not a role-claim JSONPath rowguard can follow: ${why}`, {
    hint: "use RFC 9535 JSONPath like $.role, $.app_metadata.role, $['https://example.com/claims'].role or $.roles[0]",
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const membersInOrder = (o: Record<string, unknown>) =>
  Object.keys(o)
    .sort(byKey)
    .map((k) => o[k]);

/** Every object and array at or under v, in document order (pre-order); iterative, as claims can nest ~19,000 deep. */
function descendants(v: unknown, out: unknown[]): unknown[] {
  const todo: unknown[] = [v];
  while (todo.length > 0) {
    const n = todo.pop();
    const children = isObject(n) ? membersInOrder(n) : Array.isArray(n) ? n : null;
    if (!children) continue;
    out.push(n);
    for (let k = children.length - 1; k >= 0; k--) todo.push(children[k]);
  }
  return out;
}

function select(sel: Selector, v: unknown): unknown[] {
  switch (sel.kind) {
    case 'name':
      return isObject(v) && Object.prototype.hasOwnProperty.call(v, sel.name) ? [v[sel.name]] : [];
    case 'index': {
      if (!Array.isArray(v)) return [];
      const idx = sel.index >= 0 ? sel.index : sel.index + v.length;
      return idx >= 0 && idx < v.length ? [v[idx]] : [];
    }
    case 'wildcard':
      return isObject(v) ? membersInOrder(v) : Array.isArray(v) ? [...v] : [];
    case 'slice': {
      if (!Array.isArray(v) || sel.step === 0) return [];
      const len = v.length;
      const norm = (n: number) => (n >= 0 ? n : len + n);
      const out: unknown[] = [];
      if (sel.step > 0) {
        const lower = Math.min(Math.max(sel.start === null ? 0 : norm(sel.start), 0), len);
        const upper = Math.min(Math.max(sel.end === null ? len : norm(sel.end), 0), len);
        for (let i = lower; i < upper; i += sel.step) out.push(v[i]);
      } else {
        const upper = Math.min(Math.max(sel.start === null ? len - 1 : norm(sel.start), -1), len - 1);
        const lower = Math.min(Math.max(sel.end === null ? -1 : norm(sel.end), -1), len - 1);
        for (let i = upper; lower < i; i += sel.step) out.push(v[i]);
      }
      return out;
    }
  }
}

function evaluateDeprecated(value: unknown, steps: readonly DeprecatedStep[]): unknown {
  let cur: unknown = value;
  for (const st of steps) {
    if (st.kind === 'key') {
      if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, st.key)) return undefined;
      cur = cur[st.key];
    } else if (st.kind === 'index') {
      if (!Array.isArray(cur) || st.index >= cur.length) return undefined;
      cur = cur[st.index];
    } else {
      if (!Array.isArray(cur)) return undefined;
      const { op, value: p } = st;
      const match = (t: string) => (op === '==' ? t === p : op === '!=' ? t !== p : op === '^==' ? t.startsWith(p) : op === '==^' ? t.endsWith(p) : t.includes(p));
      return cur.find((x) => typeof x === 'string' && match(x));
    }
  }
  return cur;
}

/** The first node the path selects, or undefined when it selects nothing. */
export function evaluateJsonPath(value: unknown, path: RolePath): unknown {
  if (path.syntax === 'deprecated') return evaluateDeprecated(value, path.steps);
  let nodes: unknown[] = [value];
  for (const seg of path.segments) {
    const inputs = seg.descendant ? nodes.flatMap((n) => descendants(n, [])) : nodes;
    nodes = inputs.flatMap((n) => seg.selectors.flatMap((sel) => select(sel, n)));
    if (nodes.length === 0) return undefined;
  }
  return nodes[0];
}
