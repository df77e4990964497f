/**
 * libpq's password file, read the way libpq reads it, for a URL that names no
 * password while PGPASSWORD is unset: `passfile` in the URL, else PGPASSFILE,
 * else ~/.pgpass (%APPDATA%\postgresql\pgpass.conf on Windows).
 *
 * Lines are `host:port:database:user:password`; `*` matches anything in the
 * first four fields; `\` escapes `:` and `\`; a line starting with `#` is a
 * comment; the first matching line wins. `localhost` matches a connection
 * without a host (and one over the default socket directory). A file that is
 * not a plain file, or that group or others may read, is ignored (not on
 * Windows), as libpq ignores it.
 *
 * Written here rather than taken from the `pgpass` package (node-postgres's,
 * which pg 8 deprecates): that one skips lines shorter than 11 characters
 * (`*:*:*:*:pw`), misreads `\\` before a separator, and prints its warnings
 * to stderr itself; libpq's rules are the few lines below.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface PasswordLookup {
  /** The password file consulted. */
  file: string;
  /** The password of the first matching line. A secret: never print it. */
  password?: string;
  /** 1-based line of that match. */
  line?: number;
  /** Why the file was not read, when it exists but libpq would ignore it. */
  ignored?: string;
  /** What was looked up: `host:port:database:user`. */
  key: string;
}

/** Socket directories libpq builds commonly default to: a connection over one matches `localhost`. */
const DEFAULT_SOCKET_DIRS = ['/tmp', '/var/run/postgresql', '/run/postgresql'];

function passFile(url: URL, env: NodeJS.ProcessEnv): string {
  const named = url.searchParams.get('passfile') || env['PGPASSFILE'];
  if (named) return named;
  if (process.platform === 'win32') return join(env['APPDATA'] ?? '', 'postgresql', 'pgpass.conf');
  return join(env['HOME'] || homedir(), '.pgpass');
}

function osUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env['USER'] ?? env['LOGNAME'] ?? env['USERNAME'] ?? '';
  }
}

/**
 * The connection a URL makes, as the driver (postgres.js) fills it in: host,
 * port and user from the environment where the URL is silent, database = user.
 */
function connectionKey(url: URL, env: NodeJS.ProcessEnv): [host: string, port: string, database: string, user: string] {
  let host = url.hostname.replace(/^\[(.*)\]$/, '$1') || env['PGHOST'] || '';
  if (host === '' || (host.startsWith('/') && DEFAULT_SOCKET_DIRS.includes(host.replace(/\/+$/, '')))) host = 'localhost';
  const port = url.port || env['PGPORT'] || '5432';
  const user = decodeURIComponent(url.username) || env['PGUSERNAME'] || env['PGUSER'] || osUser(env);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || env['PGDATABASE'] || user;
  return [host, port, database, user];
}

/** The rest of `line` after a field equal to `token` (or `*`), or null. */
function matchField(line: string, token: string): string | null {
  if (line.startsWith('*:')) return line.slice(2);
  let i = 0;
  let j = 0;
  while (i < line.length) {
    let escaped = false;
    if (line[i] === '\\' && i + 1 < line.length) {
      i++;
      escaped = true;
    }
    if (line[i] === ':' && !escaped) return j === token.length ? line.slice(i + 1) : null;
    if (j === token.length || line[i] !== token[j]) return null;
    i++;
    j++;
  }
  return null;
}

/** The password field: up to the first unescaped `:`, escapes removed. */
function passwordField(rest: string): string {
  let out = '';
  for (let i = 0; i < rest.length && rest[i] !== ':'; i++) {
    if (rest[i] === '\\' && i + 1 < rest.length) i++;
    out += rest[i];
  }
  return out;
}

/** Whether libpq would consult the password file for `url`: the URL has no password and PGPASSWORD is unset. */
export function usesPasswordFile(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return new URL(url).password === '' && !env['PGPASSWORD'];
}

/**
 * What the password file says for `url`, or undefined when libpq would not
 * consult it (usesPasswordFile).
 */
export function lookupPassword(url: string, env: NodeJS.ProcessEnv = process.env): PasswordLookup | undefined {
  if (!usesPasswordFile(url, env)) return undefined;
  const u = new URL(url);
  const file = passFile(u, env);
  const fields = connectionKey(u, env);
  const key = fields.join(':');
  let text: string;
  try {
    const st = statSync(file);
    if (process.platform !== 'win32') {
      if (!st.isFile()) return { file, key, ignored: 'it is not a plain file' };
      if (st.mode & 0o077) return { file, key, ignored: 'group or others have access to it (libpq ignores it too): chmod 600 it' };
    }
    text = readFileSync(file, 'utf8');
  } catch {
    return { file, key }; // no such file (or unreadable): libpq goes on without it
  }
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    let rest: string | null = line;
    for (const f of fields) {
      rest = matchField(rest, f);
      if (rest === null) break;
    }
    if (rest !== null) return { file, key, password: passwordField(rest), line: n + 1 };
  }
  return { file, key };
}

/** `url` with the password its password file gives it, when it names none (for URLs derived from it). */
export function withFilePassword(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const found = lookupPassword(url, env);
  if (found?.password === undefined) return url;
  const u = new URL(url);
  u.password = encodeURIComponent(found.password);
  return u.toString();
}
