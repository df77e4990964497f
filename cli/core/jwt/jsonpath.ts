/**
 * The part of RFC 9535 JSONPath that `jwt-role-claim-key` uses in practice:
 * `$` followed by `.name`, `['name']` / `["name"]` and `[index]` segments
 * (negative indexes count from the end, as in RFC 9535). PostgREST v16
 * evaluates the path and takes the first node it selects.
 */
import { RowguardError } from '../errors.js';

export type PathSegment = { kind: 'name'; name: string } | { kind: 'index'; index: number };

export function parseJsonPath(path: string): PathSegment[] {
  if (!path.startsWith('$')) throw badPath(path);
  const segs: PathSegment[] = [];
  let i = 1;
  while (i < path.length) {
    const rest = path.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\.([A-Za-z_][\w-]*)/.exec(rest))) {
      segs.push({ kind: 'name', name: m[1]! });
    } else if ((m = /^\['((?:[^'\\]|\\.)*)'\]/.exec(rest)) || (m = /^\["((?:[^"\\]|\\.)*)"\]/.exec(rest))) {
      segs.push({ kind: 'name', name: m[1]!.replace(/\\(.)/g, '$1') });
    } else if ((m = /^\[(-?\d+)\]/.exec(rest))) {
      segs.push({ kind: 'index', index: Number(m[1]) });
    } else {
      throw badPath(path);
    }
    i += m[0].length;
  }
  return segs;
}

function badPath(path: string): RowguardError {
  return new RowguardError('config', `"${path}" is not a supported JSONPath (use $.role, $.app_metadata.role, $['key'] or $.roles[0])`);
}

/** The first node the path selects, or undefined when it selects nothing. */
export function evaluateJsonPath(value: unknown, segs: readonly PathSegment[]): unknown {
  let cur: unknown = value;
  for (const s of segs) {
    if (s.kind === 'name') {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, s.name)) return undefined;
      cur = (cur as Record<string, unknown>)[s.name];
    } else {
      if (!Array.isArray(cur)) return undefined;
      const idx = s.index < 0 ? cur.length + s.index : s.index;
      if (idx < 0 || idx >= cur.length) return undefined;
      cur = cur[idx];
    }
  }
  return cur;
}
