/**
 * The Set-Cookie header that carries an access token, with Supabase's cookie
 * name (`sb-<project>-auth-token`) and the configured attributes, plus the
 * checks that keep it from being unsafe:
 * - SameSite=None requires Secure (browsers drop it otherwise, RFC 6265bis);
 * - it must be HttpOnly: a token readable by page scripts is one XSS away
 *   from being stolen;
 * - Domain must not be a public suffix (co.uk, github.io): browsers reject
 *   it, and a permissive client would send the token to every site under it.
 *   Public suffixes come from the Public Suffix List, via tldts, including its
 *   private section (github.io, vercel.app).
 */
import { parse as parseDomain } from 'tldts';
import { RowguardError } from '../errors.js';
import type { Config } from '../config.js';

export type CookieSettings = Config['cookie'];

/** RFC 6265 token characters for a cookie name. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function cookieName(c: CookieSettings): string {
  return c.name ?? `sb-${c.project}-auth-token`;
}

/** Every problem with the cookie settings (empty when safe). */
export function cookieProblems(c: CookieSettings): string[] {
  const p: string[] = [];
  if (!COOKIE_NAME.test(cookieName(c))) p.push(`cookie name "${cookieName(c)}" has characters a cookie name cannot contain`);
  if (c.sameSite === 'None' && !c.secure) p.push('cookie.sameSite "None" requires cookie.secure: browsers reject SameSite=None cookies without Secure');
  if (!c.httpOnly) p.push('cookie.httpOnly must be true: an access token readable by page scripts can be stolen by any XSS');
  if (!c.path.startsWith('/')) p.push(`cookie.path must start with "/" (got "${c.path}")`);
  if (c.domain !== null) {
    const host = c.domain.replace(/^\./, '').toLowerCase();
    if (host === '' || !/^[a-z0-9.-]+$/.test(host) || host.includes('..')) {
      p.push(`cookie.domain "${c.domain}" is not a host name`);
    } else {
      const d = parseDomain(host, { allowPrivateDomains: true });
      if (!d.isIp && (d.publicSuffix === host || d.domain === null)) {
        p.push(`cookie.domain "${c.domain}" is a public suffix: browsers refuse it, and it would share the token with every site under ${host}`);
      }
    }
  }
  return p;
}

export function assertSafeCookie(c: CookieSettings): void {
  const p = cookieProblems(c);
  if (p.length) {
    throw new RowguardError('config', `unsafe cookie settings: ${p.join('; ')}`, { meta: { problems: p }, hint: 'fix the "cookie" section of rowguard.config.json' });
  }
}

export interface SetCookie {
  name: string;
  maxAge: number;
  attributes: Record<string, string | true>;
  /** The full header line: `Set-Cookie: …` (contains the token). */
  header: string;
}

/**
 * Build the header for `token`, whose `exp` is `exp` (seconds), at `now`.
 * Max-Age is the token's remaining life; an expired token is refused.
 */
export function buildSetCookie(token: string, exp: number, c: CookieSettings, now: number): SetCookie {
  assertSafeCookie(c);
  const maxAge = Math.floor(exp) - Math.floor(now);
  if (!(maxAge > 0)) throw new RowguardError('jwt', 'the token has already expired: a cookie for it would be deleted at once', { hint: 'mint a fresh token' });
  const attributes: Record<string, string | true> = {};
  if (c.domain) attributes['Domain'] = c.domain;
  attributes['Path'] = c.path;
  attributes['Max-Age'] = String(maxAge);
  if (c.secure) attributes['Secure'] = true;
  if (c.httpOnly) attributes['HttpOnly'] = true;
  attributes['SameSite'] = c.sameSite;
  const name = cookieName(c);
  const attrText = Object.entries(attributes)
    .map(([k, v]) => (v === true ? k : `${k}=${v}`))
    .join('; ');
  return { name, maxAge, attributes, header: `Set-Cookie: ${name}=${token}; ${attrText}` };
}
