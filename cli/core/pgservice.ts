/**
 * libpq's connection service file (pg_service.conf), read the way libpq reads
 * it, for a database URL the user gives (`--db`, DATABASE_URL, a targets file,
 * `--against`, a diff side): the service `service=` in the URL names, else
 * PGSERVICE. It is looked for in `servicefile=` (libpq 18), else PGSERVICEFILE,
 * else ~/.pg_service.conf, and, when that file lacks it, in pg_service.conf
 * under PGSYSCONFDIR (else the system places libpq packages use). Its keywords
 * fill in what the URL leaves out (the URL wins; they win over PG* variables),
 * so the URL that comes back stands on its own.
 *
 * The file: `[name]` starts a service, which runs to the next `[`; `key=value`
 * lines (no spaces around `=`: libpq takes them as part of the key or value);
 * `#` comments and blank lines; the first value of a key wins. An unknown
 * keyword, a line without `=` or a nested `service=` is an error, as in libpq.
 * Values are never printed (a service may hold a password).
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RowguardError } from './errors.js';

/** libpq's connection keywords (Postgres 18); what rowguard's driver cannot honour is refused later, as in a URL. */
const KEYWORDS = new Set([
  'host', 'hostaddr', 'port', 'dbname', 'user', 'password', 'passfile', 'require_auth', 'channel_binding', 'connect_timeout',
  'client_encoding', 'options', 'application_name', 'fallback_application_name', 'keepalives', 'keepalives_idle',
  'keepalives_interval', 'keepalives_count', 'tcp_user_timeout', 'replication', 'sslmode', 'sslnegotiation', 'sslcompression',
  'sslcert', 'sslkey', 'sslcertmode', 'sslpassword', 'sslrootcert', 'sslcrl', 'sslcrldir', 'sslsni', 'requirepeer',
  'ssl_min_protocol_version', 'ssl_max_protocol_version', 'min_protocol_version', 'max_protocol_version', 'gssencmode',
  'krbsrvname', 'gsslib', 'gssdelegation', 'target_session_attrs', 'load_balance_hosts', 'servicefile',
]);

/** Where packaged libpq builds keep pg_service.conf when PGSYSCONFDIR is unset (Debian/Ubuntu, Red Hat, source builds). */
const SYSTEM_DIRS = ['/etc/postgresql-common', '/etc/sysconfig/pgsql', '/usr/local/pgsql/etc'];

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The service's `key=value` pairs from one file, or null when the file has no such service. */
function readService(file: string, name: string, shown: string): Map<string, string> | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RowguardError('usage', `service file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { hint: `${shown} names the file` });
  }
  let found = false;
  const values = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      if (found) break; // the next service: ours has ended
      found = line.startsWith(`[${name}]`);
      continue;
    }
    if (!found) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    const where = `${file}:${i + 1}`;
    if (eq < 0) throw new RowguardError('usage', `${where}: syntax error in service file (a line of service "${name}" has no "=")`, { hint: 'write key=value, without spaces around =' });
    if (key === 'service') throw new RowguardError('usage', `${where}: a service cannot name another service (service=)`, { hint: 'libpq refuses nested services too: copy its keywords instead' });
    if (!KEYWORDS.has(key)) {
      throw new RowguardError('usage', `${where}: syntax error in service file ("${key.slice(0, 40)}" is not a libpq connection keyword)`, {
        hint: /\s$/.test(key) ? 'libpq allows no spaces around =' : 'see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS',
      });
    }
    if (!values.has(key)) values.set(key, line.slice(eq + 1));
  }
  return found ? values : null;
}

/**
 * `url` with the service it names (or PGSERVICE) written into it, `service` and
 * `servicefile` removed, and where that service was found; `url` itself when
 * there is no service. `source` names the flag or variable in errors (never the URL).
 */
export function expandService(url: string, source: string, env: NodeJS.ProcessEnv = process.env): { url: string; service?: string } {
  const u = new URL(url);
  const name = u.searchParams.get('service') || env['PGSERVICE'];
  const named = u.searchParams.get('servicefile') || (u.searchParams.has('servicefile') ? undefined : env['PGSERVICEFILE']);
  if (!name) {
    if (!u.searchParams.has('service') && !u.searchParams.has('servicefile')) return { url };
    u.searchParams.delete('service');
    u.searchParams.delete('servicefile');
    return { url: u.toString() };
  }
  const shown = u.searchParams.get('service') ? `${source} (service=${name})` : `PGSERVICE=${name}`;
  const looked: string[] = [];
  let values: Map<string, string> | null = null;
  let file = '';
  // The user's file first: the one named, else ~/.pg_service.conf when it exists.
  const own = named || join(env['HOME'] || homedir(), '.pg_service.conf');
  if (named && !isFile(named)) throw new RowguardError('usage', `service file ${named} not found`, { hint: `${u.searchParams.get('servicefile') ? `${source} (servicefile=)` : 'PGSERVICEFILE'} names it` });
  if (isFile(own)) {
    looked.push(own);
    values = readService(own, name, shown);
    file = own;
  }
  if (!values) {
    for (const dir of env['PGSYSCONFDIR'] ? [env['PGSYSCONFDIR']] : SYSTEM_DIRS) {
      const system = join(dir, 'pg_service.conf');
      if (!isFile(system)) continue;
      looked.push(system);
      values = readService(system, name, shown);
      file = system;
      if (values || env['PGSYSCONFDIR']) break;
    }
  }
  if (!values) {
    throw new RowguardError('usage', `${shown}: definition of service "${name}" not found`, {
      hint: looked.length ? `looked in ${looked.join(' and ')}` : `no service file: write it to ${own}, or name one with PGSERVICEFILE`,
    });
  }
  // What the URL says wins; the service fills in the rest.
  const host = values.get('host');
  if (host !== undefined && u.hostname === '') {
    if (host.includes(',') || host.startsWith('/')) {
      throw new RowguardError('usage', `${file}: service "${name}" sets host to ${host.includes(',') ? 'several hosts' : 'a socket directory'}, which rowguard's driver cannot reach`, { hint: 'name one host or address (host=localhost for this machine)' });
    }
    u.hostname = host.includes(':') ? `[${host}]` : host;
  }
  const port = values.get('port');
  if (port !== undefined && u.port === '') u.port = port;
  const user = values.get('user');
  if (user !== undefined && u.username === '') u.username = encodeURIComponent(user);
  const password = values.get('password');
  if (password !== undefined && u.password === '') u.password = encodeURIComponent(password);
  const dbname = values.get('dbname');
  if (dbname !== undefined && (u.pathname === '' || u.pathname === '/')) u.pathname = '/' + encodeURIComponent(dbname);
  for (const [k, v] of values) {
    if (['host', 'port', 'user', 'password', 'dbname', 'servicefile'].includes(k) || u.searchParams.has(k)) continue;
    u.searchParams.set(k, v);
  }
  u.searchParams.delete('service');
  u.searchParams.delete('servicefile');
  return { url: u.toString(), service: `service "${name}" (${file})` };
}
