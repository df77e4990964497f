/**
 * Database URLs: parsing, validation and redaction. Pure and light (no driver),
 * so the CLI can check a --db flag without loading postgres.js.
 */
import { RowguardError } from './errors.js';

/** `host:port/database` — safe to print: no user, no password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default)';
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${host}:${u.port || '5432'}/${db}`;
  } catch {
    return '(unparseable database URL)';
  }
}

export function validateUrl(url: string, source: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RowguardError('usage', `${source} is not a valid URL`, { hint: 'expected postgres://user:password@host:port/database' });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new RowguardError('usage', `${source} must start with postgres:// or postgresql:// (got ${u.protocol}//)`);
  }
  // Without the `//`, `postgres:user:pw@host/db` parses as a path: the password
  // would be taken for (and printed as) part of the database name.
  if (!/^[a-z]+:\/\//i.test(url)) {
    throw new RowguardError('usage', `${source} must start with postgres:// or postgresql:// (the // is missing)`, { hint: 'expected postgres://user:password@host:port/database' });
  }
  // The driver decodes user, password and database; a stray % is its URIError.
  try {
    for (const part of [u.username, u.password, u.pathname]) decodeURIComponent(part);
  } catch {
    throw new RowguardError('usage', `${source} has a malformed %-escape in its user, password or database name`, {
      hint: 'percent-encode those characters in the URL: % as %25, @ as %40, : as %3A, / as %2F',
    });
  }
}

/** Replace the database name of a server URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + encodeURIComponent(database);
  return u.toString();
}

export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/** Remove a URL's password (and the URL itself) from any text. */
export function scrubSecrets(text: string, url?: string): string {
  let out = text;
  if (url) {
    try {
      const pw = decodeURIComponent(new URL(url).password);
      if (pw) out = out.split(pw).join('*****');
    } catch {
      /* not a URL: nothing to scrub */
    }
    out = out.split(url).join(describeUrl(url));
  }
  return out.replace(/(postgres(?:ql)?:\/\/[^:@/\s]*:)[^@\s]*@/g, '$1*****@');
}
