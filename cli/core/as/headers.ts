/** Request headers given on the command line, split the way PostgREST splits them. */
import { RowguardError } from '../errors.js';

/** -H "Name: value" → headers; the Cookie header → request.cookies, as PostgREST splits it. */
export function parseHeaders(list: string[]): { headers: Record<string, string>; cookies: Record<string, string> } {
  const headers: Record<string, string> = {};
  const cookies: Record<string, string> = {};
  for (const h of list) {
    const i = h.indexOf(':');
    const name = i > 0 ? h.slice(0, i).trim().toLowerCase() : '';
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new RowguardError('usage', `--header needs "Name: value" (got "${h.slice(0, 40)}")`);
    if (name === 'authorization') throw new RowguardError('usage', 'the Authorization header comes from --token / --token-file');
    const value = h.slice(i + 1).trim();
    if (name === 'cookie') {
      for (const part of value.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
      }
    } else headers[name] = value;
  }
  return { headers, cookies };
}
