/**
 * Database URLs: parsing, validation and redaction. Pure and light (no driver),
 * so the CLI can check a --db flag without loading postgres.js.
 */
import { RowguardError } from './errors.js';
import { expandService } from './pgservice.js';

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

/**
 * Check a database URL the user gave and return the one to connect with: the
 * same URL, or with the connection service it names (or PGSERVICE) written in
 * (pgservice.ts). `source` names the flag or variable in errors (never the URL).
 */
export function validateUrl(given: string, source: string, env: NodeJS.ProcessEnv = process.env): string {
  let u: URL;
  let url = given;
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
  const expanded = expandService(url, source, env);
  url = expanded.url;
  u = new URL(url);
  // The driver decodes user, password and database; a stray % is its URIError.
  try {
    for (const part of [u.username, u.password, u.pathname]) decodeURIComponent(part);
  } catch {
    throw new RowguardError('usage', `${source} has a malformed %-escape in its user, password or database name`, {
      hint: 'percent-encode those characters in the URL: % as %25, @ as %40, : as %3A, / as %2F',
    });
  }
  if (expanded.service) tlsParams(url, `${source} with ${expanded.service}`, env, 'the URL or the service');
  else tlsParams(url, source, env);
  return url;
}

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** libpq's TLS parameters of a URL's query (libpq's defaults where absent). */
export interface TlsParams {
  /** The URL without them (and without passfile): postgres.js would send them to the server as settings (42704). */
  url: string;
  mode: SslMode;
  /** A CA file, or `system` (the platform's CAs; libpq then requires verify-full). */
  rootcert?: string;
  cert?: string;
  key?: string;
  /** The client key's passphrase: a secret. */
  password?: string;
  minVersion?: string;
  maxVersion?: string;
}

const TLS_KEYS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslpassword', 'ssl_min_protocol_version', 'ssl_max_protocol_version'];
/** libpq parameters whose demand rowguard's driver cannot honour: refused rather than silently dropped. */
const UNSUPPORTED = ['sslcrl', 'sslcrldir', 'sslcertmode', 'requirepeer', 'gssencmode', 'channel_binding', 'krbsrvname', 'gsslib', 'hostaddr'];
/**
 * The environment variables libpq reads for a parameter the URL does not set (libpq has none for
 * sslpassword). A CI job's PGSSLMODE=verify-full must not quietly become prefer.
 */
const LIBPQ_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  ssl_min_protocol_version: 'PGSSLMINPROTOCOLVERSION',
  ssl_max_protocol_version: 'PGSSLMAXPROTOCOLVERSION',
  sslcrl: 'PGSSLCRL',
  sslcrldir: 'PGSSLCRLDIR',
  sslcertmode: 'PGSSLCERTMODE',
  requirepeer: 'PGREQUIREPEER',
  gssencmode: 'PGGSSENCMODE',
  channel_binding: 'PGCHANNELBINDING',
  krbsrvname: 'PGKRBSRVNAME',
  gsslib: 'PGGSSLIB',
  hostaddr: 'PGHOSTADDR',
};
/** Values of unsupported parameters that ask nothing of the driver (it never uses GSS or channel binding). */
const HARMLESS: Record<string, readonly string[]> = { gssencmode: ['disable', 'prefer'], channel_binding: ['disable', 'prefer'] };
const TLS_VERSIONS: Record<string, string> = { 'TLSv1': 'TLSv1', 'TLSv1.1': 'TLSv1.1', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' };

/**
 * Read the TLS parameters psql reads from a URL, as libpq reads them: sslmode
 * defaults to prefer, an unknown one is refused, and sslrootcert=system needs
 * verify-full. `source` names the flag or variable in errors (never the URL);
 * `written` where its parameters were written, for the hint ("the URL or the service").
 */
export function tlsParams(url: string, source: string, env: NodeJS.ProcessEnv = process.env, written = 'the URL'): TlsParams {
  const u = new URL(url);
  const q = u.searchParams;
  // As in libpq, the URL's parameter wins over its environment variable; errors name the one used.
  const from = (k: string): { value: string; where: string } | undefined => {
    if (q.has(k)) return { value: q.get(k)!, where: source };
    const v = LIBPQ_ENV[k] ? env[LIBPQ_ENV[k]] : undefined;
    return v === undefined || v === '' ? undefined : { value: v, where: LIBPQ_ENV[k]! };
  };
  for (const k of UNSUPPORTED) {
    const set = from(k);
    if (!set || HARMLESS[k]?.includes(set.value)) continue;
    throw new RowguardError('usage', `${set.where} sets ${k}, a libpq parameter rowguard's driver does not support`, {
      hint: set.where === source ? `remove ${k} from ${written}` : `unset ${set.where} for rowguard`,
    });
  }
  const mode = from('sslmode');
  const raw = mode?.value ?? 'prefer';
  if (!(SSL_MODES as readonly string[]).includes(raw)) {
    throw new RowguardError('usage', `${mode!.where} has an invalid sslmode "${raw}"`, { hint: `one of ${SSL_MODES.join(', ')}` });
  }
  const p: TlsParams = { url, mode: raw as SslMode };
  const opt = (k: string) => from(k)?.value || undefined;
  p.rootcert = opt('sslrootcert');
  p.cert = opt('sslcert');
  p.key = opt('sslkey');
  p.password = opt('sslpassword');
  for (const [k, field] of [['ssl_min_protocol_version', 'minVersion'], ['ssl_max_protocol_version', 'maxVersion']] as const) {
    const v = opt(k);
    if (v === undefined) continue;
    if (!TLS_VERSIONS[v]) throw new RowguardError('usage', `${from(k)!.where} has an invalid ${k} "${v}"`, { hint: `one of ${Object.keys(TLS_VERSIONS).join(', ')}` });
    p[field] = TLS_VERSIONS[v];
  }
  const order = Object.keys(TLS_VERSIONS);
  if (p.minVersion && p.maxVersion && order.indexOf(p.minVersion) > order.indexOf(p.maxVersion)) {
    throw new RowguardError('usage', `${source} has ssl_min_protocol_version ${p.minVersion} above ssl_max_protocol_version ${p.maxVersion}`);
  }
  if (p.rootcert === 'system' && mode && p.mode !== 'verify-full') {
    throw new RowguardError('usage', `${source} has sslrootcert=system with sslmode=${p.mode}`, { hint: 'the system CAs are only used to verify the server fully: use sslmode=verify-full (libpq refuses this too)' });
  }
  if (p.rootcert === 'system') p.mode = 'verify-full';
  if (p.cert && !p.key) throw new RowguardError('usage', `${source} sets sslcert without sslkey`, { hint: 'libpq would look in ~/.postgresql/postgresql.key; give sslkey in the URL' });
  // passfile is read by pgpass.ts; the driver would send it to the server as a setting.
  if ([...TLS_KEYS, 'passfile'].some((k) => q.has(k))) {
    for (const k of [...TLS_KEYS, 'passfile']) q.delete(k);
    p.url = u.toString();
  }
  return p;
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
      const u = new URL(url);
      for (const pw of [decodeURIComponent(u.password), u.searchParams.get('sslpassword') ?? '']) {
        if (pw) out = out.split(pw).join('*****');
      }
    } catch {
      /* not a URL: nothing to scrub */
    }
    out = out.split(url).join(describeUrl(url));
  }
  return out.replace(/(postgres(?:ql)?:\/\/[^:@/\s]*:)[^@\s]*@/g, '$1*****@');
}
