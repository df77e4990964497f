/**
 * The only module that opens connections to Postgres. Everything else receives
 * a `Sql` handle (postgres.js) or plain data. Connection failures become one
 * RowguardError naming host, port and database — never the password.
 */
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { RowguardError, pgFieldsOf, sessionEndedState } from './errors.js';
import { readFileSync } from 'node:fs';
import { checkServerIdentity, createSecureContext, type ConnectionOptions } from 'node:tls';
import { databaseOf, describeUrl, scrubSecrets, tlsParams, withDatabase } from './urls.js';
import { lookupPassword, usesPasswordFile, withFilePassword } from './pgpass.js';
import { leftBehind, live } from './leftovers.js';

export { databaseOf, describeUrl, scrubSecrets, validateUrl, withDatabase } from './urls.js';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

export interface ConnectOptions {
  /** Pool size; default 1 (a CLI command rarely needs more). */
  max?: number;
  /** Receives NOTICE/WARNING messages (default: ignored). */
  onNotice?: (notice: { severity?: string; message: string }) => void;
  /** Session settings sent in the startup packet (e.g. application_name). */
  connection?: Record<string, string>;
  /** Seconds to wait for a connection. */
  connectTimeout?: number;
  /**
   * Let the driver read every array type of the database when it connects
   * (default true), which it needs to send a JS array as a parameter. Off for
   * the catalog readers: on a database of thousands of tables that read is a
   * few thousand rows per connection; they pass arrays as text (arrayLiteral).
   */
  fetchTypes?: boolean;
  /**
   * Keep date, timestamp and timestamptz values as Postgres' text
   * (`2026-11-29 20:15:14.962181+00`) instead of JS Dates, which hold
   * milliseconds only and would show a different instant than the row has.
   */
  datesAsText?: boolean;
}

/** The driver's date type, read back as the text Postgres sent (parameters are still sent as before). */
const DATES_AS_TEXT = {
  date: {
    to: 1184,
    from: [1082, 1114, 1184],
    serialize: (x: unknown) => (x instanceof Date ? x.toISOString() : String(x)),
    parse: (x: string) => x,
  },
};




/** SQLSTATE classes that mean "we never got a working session". */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'EAI_AGAIN']);

/** Node's TLS failures: the certificate did not verify, or the handshake (or the client key) failed. */
function tlsFailure(code: string | undefined): 'certificate' | 'handshake' | null {
  if (!code) return null;
  if (/CERT|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH/.test(code)) return 'certificate';
  return /^ERR_(SSL|OSSL|TLS)_/.test(code) ? 'handshake' : null;
}

export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code && (CONNECTION_CODES.has(e.code) || tlsFailure(e.code))) return true;
  // 28xxx: invalid authorization; 3D000: database does not exist; 57P03: cannot connect now; 08xxx: connection exception
  const s = pgFieldsOf(err)?.sqlstate;
  return !!s && (s.startsWith('28') || s === '3D000' || s === '57P03' || s.startsWith('08'));
}

/**
 * pg, the driver kysely-codegen runs on, reports a session the server ended as a DatabaseError
 * whose `code` is the SQLSTATE (postgres.js's PostgresError is what pgFieldsOf reads), and a socket
 * that went without one as 'Connection terminated unexpectedly' or, for a client whose session
 * ended between queries, 'Client has encountered a connection error and is not queryable'.
 */
const PG_SOCKET_GONE = /^(Connection terminated\b|Client has encountered a connection error)/;

function pgDriverSqlstate(err: unknown): string | undefined {
  const e = err as { severity?: unknown; code?: unknown } | null;
  return typeof e?.severity === 'string' && typeof e.code === 'string' ? e.code : undefined;
}

/** The session is gone: the socket closed, or the server ended it (sessionEndedState: pg_terminate_backend or shutdown, a crash of another backend, idle session timeout). */
export function sessionEnded(err: unknown): boolean {
  return isConnectionError(err) || sessionEndedState(pgFieldsOf(err)?.sqlstate ?? pgDriverSqlstate(err)) || PG_SOCKET_GONE.test(String((err as { message?: unknown } | null)?.message ?? ''));
}

/**
 * A rejection handler for a query whose refusal has an answer (no auth.users: no users): `fallback` for
 * it, while a session the server ended is rethrown — the command's failure, not an empty answer.
 */
export function unlessEnded<T>(fallback: T): (err: unknown) => T {
  return (err) => {
    if (sessionEnded(err)) throw err;
    return fallback;
  };
}

/** Why a working session ended, in words and without the URL (the driver writes "write CONNECTION_CLOSED host:port"). */
export function endedReason(url: string, err: unknown): string {
  const e = err as { code?: string; message?: string };
  const pg = pgFieldsOf(err);
  const closed = e?.code === 'CONNECTION_CLOSED' || e?.code === 'CONNECTION_ENDED' || e?.code === 'CONNECTION_DESTROYED' || e?.code === 'ECONNRESET' || PG_SOCKET_GONE.test(String(e?.message ?? ''));
  return scrubSecrets(pg?.message ?? (closed ? 'the server closed the connection' : (e?.message ?? String(err))), url);
}

/**
 * A session that had logged in and then went away (the server stopped, crashed or ended it):
 * not "could not connect", which sends the user to check the URL and password.
 */
export function lostConnectionError(url: string, err: unknown, doing?: string): RowguardError {
  return new RowguardError('db_unreachable', `lost the connection to ${describeUrl(url)}${doing ? ` ${doing}` : ''}: ${endedReason(url, err)}`, {
    hint: 'the server ended the session (stopped, restarted, or pg_terminate_backend): a transaction it had open was rolled back',
    pg: pgFieldsOf(err),
    cause: err,
  });
}

/** Where the refused password came from, and what to check (never the password). */
function passwordHint(url: string): string {
  if (new URL(url).password !== '') return 'check the user and password in the URL';
  if (process.env['PGPASSWORD']) return 'check the user, and the password in PGPASSWORD';
  const found = lookupPassword(url);
  if (found?.ignored) return `no password was given, and ${found.file} was not read: ${found.ignored}`;
  if (found?.password) return `the password came from ${found.file} line ${found.line}: check it, and the user`;
  return `no password was given: put it in the URL, set PGPASSWORD, or add a line ${found?.key ?? 'host:port:database:user'}:<password> to ${found?.file ?? '~/.pgpass'}`;
}

export function connectionError(url: string, err: unknown, probed?: string): RowguardError {
  const where = describeUrl(url);
  const e = err as { code?: string; message?: string };
  const pg = pgFieldsOf(err);
  let reason = pg?.message ?? e?.message ?? String(err);
  // Never let a server message or driver message echo the URL back.
  reason = scrubSecrets(reason, url);
  let hint: string | undefined = probed;
  const tls = tlsFailure(e?.code);
  if (probed) reason = 'the server hung up before logging in';
  else if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') hint = `no address found for the host name${e.code === 'EAI_AGAIN' ? ' (the DNS lookup failed for now: is the network up?)' : ': check its spelling in the URL'}`;
  else if (e?.code === 'ECONNREFUSED') hint = 'is the server running? Without --db or DATABASE_URL rowguard uses its embedded Postgres (rowguard db start)';
  else if (e?.code === 'ECONNRESET' && /secure TLS connection/.test(reason)) {
    reason = 'the server does not accept TLS, but the URL requires it';
    hint = 'sslmode=prefer (the default) uses TLS only where the server offers it';
  } else if (e?.code === 'ERR_TLS_CERT_ALTNAME_INVALID') hint = 'connect by a host name the certificate lists, or use sslmode=verify-ca (which checks the CA only)';
  else if (tls === 'certificate') hint = 'give the CA that signed the server certificate with sslrootcert=<file> in the URL (sslmode=verify-full checks the host name too)';
  else if (tls === 'handshake') {
    // OpenSSL's text is "<id>:error:<code>:SSL routines:<function>:<reason>:<file>:<line>": keep the reason.
    reason = /SSL routines:[^:]*:([^:]+)/.exec(reason)?.[1] ?? reason.split('\n')[0]!;
    hint = 'check the sslcert, sslkey and sslpassword of the URL, and the TLS versions both sides allow';
  }
  else if (pg?.sqlstate === '28P01') hint = passwordHint(url);
  else if (pg?.sqlstate?.startsWith('28')) hint = 'check the user and password in the URL';
  else if (pg?.sqlstate === '3D000') hint = 'create the database first, or point --db at one that exists';
  return new RowguardError('db_unreachable', `could not connect to ${where}: ${reason}`, { hint, pg, cause: err });
}

/**
 * postgres.js's `ssl` option for a URL's libpq TLS parameters, so a URL that
 * works with psql works here: postgres.js alone sends sslrootcert & co. to the
 * server as settings (42704), takes sslmode=allow for require and an unknown
 * mode for verify-full, and defaults to no TLS where libpq prefers it.
 */
export function tlsOf(url: string): { url: string; ssl: false | 'prefer' | 'require' | ConnectionOptions } {
  const p = tlsParams(url, 'the database URL');
  const file = (param: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new RowguardError('io', `cannot read ${param} ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { hint: `${param} in the database URL names a PEM file` });
    }
  };
  const ca = p.rootcert === 'system' ? undefined : file('sslrootcert', p.rootcert);
  if (ca && !ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new RowguardError('usage', `sslrootcert ${p.rootcert} holds no PEM certificate`, { hint: 'sslrootcert names the CA certificate (-----BEGIN CERTIFICATE-----) that signed the server\'s' });
  }
  const client: ConnectionOptions = {
    ...(p.cert ? { cert: file('sslcert', p.cert), key: file('sslkey', p.key), passphrase: p.password } : {}),
    ...(p.minVersion ? { minVersion: p.minVersion as ConnectionOptions['minVersion'] } : {}),
    ...(p.maxVersion ? { maxVersion: p.maxVersion as ConnectionOptions['maxVersion'] } : {}),
  };
  // Checked now: postgres.js builds the TLS context inside a socket callback, where a key
  // that does not match its certificate (or a wrong passphrase) is an uncaught exception.
  try {
    if (ca || Object.keys(client).length > 0) createSecureContext({ ...client, ...(ca ? { ca } : {}) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const what = /MISMATCH/.test(code) ? 'sslkey does not belong to sslcert' : /DECRYPT|PASSPHRASE|BAD_PASSWORD/.test(code) ? 'sslkey cannot be decrypted (sslpassword missing or wrong)' : /VERSION/.test(code) ? 'ssl_min_protocol_version and ssl_max_protocol_version allow no TLS version' : `the TLS files of the database URL cannot be used (${code || 'unreadable PEM'})`;
    throw new RowguardError('usage', what, { hint: 'check sslcert, sslkey, sslpassword and sslrootcert in the URL' });
  }
  // libpq: require with a root CA file verifies the chain, as verify-ca does.
  const mode = p.mode === 'require' && ca ? 'verify-ca' : p.mode;
  switch (mode) {
    case 'disable':
      return { url: p.url, ssl: false };
    case 'allow': // libpq tries plain first and TLS second; the same servers accept prefer
    case 'prefer':
    case 'require':
      // Neither verifies the server (libpq's require does not either). With a client certificate
      // or protocol versions, postgres.js has no plain fallback: prefer then requires TLS.
      if (Object.keys(client).length === 0) return { url: p.url, ssl: mode === 'require' ? 'require' : 'prefer' };
      return { url: p.url, ssl: { ...client, rejectUnauthorized: false } };
    case 'verify-ca':
      return { url: p.url, ssl: { ...client, ca, rejectUnauthorized: true, checkServerIdentity: () => undefined } };
    case 'verify-full': {
      // Checked against the URL's host ourselves: postgres.js sends no servername for an
      // IP address, and Node then checks the certificate against "localhost".
      const host = new URL(p.url).hostname.replace(/^\[|\]$/g, '') || 'localhost';
      return { url: p.url, ssl: { ...client, ca, rejectUnauthorized: true, checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert) } };
    }
  }
}

/**
 * The session's first query, within `seconds`. Something on the port that answers but is
 * not PostgreSQL (an HTTP API on the port next to the database's) makes postgres.js
 * reconnect and resend forever, restarting its own connect timeout each time; so the
 * deadline is ours, and it ends the client.
 */
export async function firstContact(sql: Sql, url: string, seconds = 10): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = Symbol('expired');
  const deadline = new Promise<typeof expired>((resolve) => (timer = setTimeout(() => resolve(expired), seconds * 1000)));
  try {
    const first = sql`select 1`;
    first.catch(() => undefined);
    if ((await Promise.race([first, deadline])) !== expired) return;
  } catch (err) {
    // Hung up on before logging in (no TLS asked for, or an SSLRequest answered with
    // something other than S or N): say what the port is, if it is not PostgreSQL.
    const code = (err as { code?: string }).code;
    if (code !== 'ECONNRESET' && code !== 'CONNECTION_CLOSED') throw err;
    const probe = await probePort(url);
    if (probe.notPostgres) throw connectionError(url, err, probe.hint);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  await sql.end({ timeout: 0 }).catch(() => undefined);
  throw new RowguardError('db_unreachable', `could not connect to ${describeUrl(url)}: no PostgreSQL server answered within ${seconds}s`, {
    hint: (await probePort(url)).hint,
  });
}

/**
 * Ask the port for an SSL answer as libpq does first (a PostgreSQL server replies with one
 * byte, S or N): whether something else answers there, and the hint that says what.
 */
async function probePort(url: string): Promise<{ notPostgres: boolean; hint: string }> {
  const reply = await sslAnswer(url);
  if (reply === null) return { notPostgres: false, hint: 'is that the database server and its port? (a firewall that drops packets looks the same)' };
  if (reply === 'S' || reply === 'N') return { notPostgres: false, hint: 'the server accepted the connection but did not finish logging in: is it overloaded, or waiting on an authentication step?' };
  const { host, port } = hostPort(url)!;
  // PostgreSQL answers an SSLRequest with one byte before anything else, whatever it then refuses.
  if (reply === '') return { notPostgres: true, hint: `${host}:${port} accepts connections and closes them without a word, which PostgreSQL never does: is it the database's port? (a proxy or tunnel with nothing behind it does this)` };
  if (/^HTTP\//.test(reply)) return { notPostgres: true, hint: `${host}:${port} answers HTTP, not PostgreSQL: is it an API's port rather than the database's? (the Supabase CLI serves the API on 54321 and the database on 54322)` };
  return { notPostgres: true, hint: `${host}:${port} answers, but not as PostgreSQL: is it the database's port?` };
}

function hostPort(url: string): { host: string; port: number } | null {
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    return host ? { host, port: Number(u.port || '5432') } : null;
  } catch {
    return null;
  }
}

/** The first bytes the port answers to an SSLRequest ('S' or 'N' from PostgreSQL), '' when it closes, null when nothing answers. */
async function sslAnswer(url: string): Promise<string | null> {
  const target = hostPort(url);
  if (!target) return null;
  const { connect: tcp } = await import('node:net');
  return new Promise<string | null>((resolve) => {
    const socket = tcp({ ...target, timeout: 2000 });
    const done = (x: string | null) => (socket.destroy(), resolve(x));
    socket.on('connect', () => socket.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])));
    socket.on('data', (d) => done(d.toString('latin1')));
    socket.on('timeout', () => done(null));
    socket.on('error', () => done(null));
    socket.on('close', () => done(''));
  });
}

/**
 * The same TLS choice for node-postgres (kysely-codegen's driver), which reads the
 * URL's ssl parameters differently (its connection string overrides its options)
 * and has no prefer: the server is asked first, as libpq does.
 */
export async function pgConnectionConfig(url: string): Promise<{ connectionString: string; ssl: boolean | ConnectionOptions }> {
  // The password file as every other connection reads it, in the URL: pg takes a connection
  // string's empty password over a password option.
  const { url: bare, ssl } = tlsOf(withFilePassword(url));
  if (ssl === false || typeof ssl === 'object') return { connectionString: bare, ssl };
  if (ssl === 'prefer' && (await sslAnswer(url)) !== 'S') return { connectionString: bare, ssl: false };
  return { connectionString: bare, ssl: { rejectUnauthorized: false } };
}

/**
 * A URL without a password, and no PGPASSWORD: the password file's, looked up
 * (as libpq does, see pgpass.ts) only when the server asks for one.
 */
function passwordFileOption(url: string): { pass?: () => string } {
  return usesPasswordFile(url) ? { pass: () => lookupPassword(url)?.password ?? '' } : {};
}

export function connect(url: string, opts: ConnectOptions = {}): Sql {
  // postgres.js takes the URL's path as the name without decoding it; libpq (psql) decodes
  // %XX there, so `/my%20app` names the database "my app" for both.
  const database = databaseOf(url);
  const { url: bare, ssl } = tlsOf(url);
  const sql: Sql = postgres(bare, {
    ssl,
    ...(database ? { database } : {}),
    ...passwordFileOption(url),
    max: opts.max ?? 1,
    onnotice: opts.onNotice ? (n) => opts.onNotice!({ severity: n['severity'] as string | undefined, message: String(n['message']) }) : () => {},
    connect_timeout: opts.connectTimeout ?? 10,
    idle_timeout: 0,
    prepare: false,
    fetch_types: opts.fetchTypes ?? true,
    ...(opts.datesAsText ? { types: DATES_AS_TEXT } : {}),
    connection: { application_name: 'rowguard', ...(opts.connection ?? {}) },
    // Only the server closes these connections (no idle timeout; a lifetime of 30+ min), or closeSql.
    onclose: () => void sessionsEnded.add(sql),
  });
  return sql;
}

/**
 * Run a COPY … FROM STDIN with `data` as its input; settles when the server
 * has taken the rows or refused them.
 *
 * postgres.js 3.4 resolves the query with a writable stream and, when the
 * server refuses the data after the stream ended, never finishes that
 * stream nor reports the error (porsager/postgres#1173). So the query's
 * own resolve and reject, which the driver calls again when the server
 * answers (resolve with the result, reject with the ErrorResponse), are
 * watched to learn the outcome.
 */
export async function copyIn(sql: Sql, text: string, data: string): Promise<void> {
  const query = sql.unsafe(text) as unknown as { resolve: (x: unknown) => void; reject: (e: unknown) => void; writable(): Promise<NodeJS.WritableStream> };
  const answered = new Promise<void>((resolve, reject) => {
    const { resolve: first, reject: fail } = query;
    let streamed = false;
    query.resolve = (x) => (streamed ? resolve() : ((streamed = true), first(x)));
    query.reject = (e) => (reject(e), fail(e));
  });
  // A refusal before the data (no such table) rejects writable() itself.
  answered.catch(() => undefined);
  const stream = await query.writable();
  await new Promise<void>((resolve, reject) => stream.write(data, (e) => (e ? reject(e) : resolve())));
  stream.end();
  await answered;
}

/** Run a COPY … TO STDOUT and return what it wrote. */
export async function copyOut(sql: Sql, text: string): Promise<string> {
  const stream = await sql.unsafe(text).readable();
  let out = '';
  for await (const chunk of stream) out += (chunk as Buffer).toString('utf8');
  return out;
}

/**
 * Open a connection, prove it works with a round trip, run `fn`, close.
 * Connection problems surface as one 'db_unreachable' error (exit 3).
 */
export async function withSql<T>(url: string, fn: (sql: Sql) => Promise<T>, opts: ConnectOptions = {}): Promise<T> {
  const sql = connect(url, opts);
  try {
    try {
      await firstContact(sql, url);
    } catch (err) {
      throw err instanceof RowguardError ? err : connectionError(url, err);
    }
    return await fn(sql);
  } catch (err) {
    // Logged in by now (firstContact answered): a connection error is a session that ended.
    if (!(err instanceof RowguardError) && sessionEnded(err)) throw lostConnectionError(url, err);
    throw err;
  } finally {
    await closeSql(sql);
  }
}

/** Pools one of whose connections closed: see closeSql. */
const sessionsEnded = new WeakSet<Sql>();

/**
 * End a pool of connect()'s: what still runs on it gets 5 s; nothing waits when the server ended one
 * of its sessions. postgres.js 3.4.9 keeps the query a closed connection was running (it rejects it,
 * but never clears it), so that connection's end() never settles and sql.end() waits its whole
 * timeout: 5 s added to every command whose session was ended under it. `abandon`: what still runs
 * is not waited for either.
 */
export async function closeSql(sql: Sql, opts: { abandon?: boolean } = {}): Promise<void> {
  await sql.end({ timeout: opts.abandon || sessionsEnded.has(sql) ? 0 : 5 }).catch(() => undefined);
}

/** A Postgres array literal of text values, to pass as one text parameter and cast (`${arrayLiteral(xs)}::text[]`). */
export function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/** Quote an identifier the way quote_ident does. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : '"' + name.replace(/"/g, '""') + '"';
}

/** Quote a string literal the way quote_literal does (standard_conforming_strings on). */
export function quoteLiteral(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'";
}

// Keywords that are reserved in Postgres (pg_get_keywords() catcode 'R') and so need quoting.
const RESERVED = new Set(
  'all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral leading limit localtime localtimestamp not null offset on only or order placing primary references returning select session_user some symmetric system_user table then to trailing true union unique user using variadic when where window with authorization binary collation concurrently cross current_schema freeze full ilike inner is isnull join left like natural notnull outer overlaps right similar tablesample verbose'.split(
    ' ',
  ),
);

export interface ThrowawayDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * Create a uniquely named database on the server of `serverUrl` (optionally as a
 * copy of `template`), for tests, shadow builds and the gate. `drop()` removes it,
 * terminating any connection left open.
 */
export async function createThrowawayDatabase(serverUrl: string, opts: { prefix?: string; template?: string; purpose?: string } = {}): Promise<ThrowawayDatabase> {
  if (interrupted) throw new RowguardError('interrupted', 'interrupted: no new throwaway database');
  const name = `${opts.prefix ?? 'rowguard_tmp'}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  // Known before CREATE DATABASE is sent: an interrupt during it must still drop it.
  const entry = { serverUrl, name, created: Promise.resolve() };
  entry.created = withSql(onServer(serverUrl, adminDatabase(serverUrl)), async (sql) => {
    const tpl = opts.template ? ` template ${quoteIdent(opts.template)}` : '';
    await sql.unsafe(`create database ${quoteIdent(name)}${tpl}`);
  });
  live.push(entry);
  try {
    await entry.created;
  } catch (err) {
    live.splice(live.indexOf(entry), 1);
    // 42501 insufficient_privilege: a role without CREATEDB. The database could not be
    // provisioned (exit 3), whichever command asked; the pg fields stay for callers that
    // can do without it (policy pull).
    const pg = pgFieldsOf(err);
    // 55006 object_in_use: CREATE DATABASE copies its template (template1 unless told) only while no
    // other session is connected to it, and has already waited 5 s for them to leave. Any client
    // connected to template1 (a psql, a pooler, a tool's health check) makes every copy fail.
    if (pg?.sqlstate === '55006') {
      const template = opts.template ?? 'template1';
      const pids = await withSql(onServer(serverUrl, adminDatabase(serverUrl)), (sql) =>
        sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${template} and backend_type = 'client backend' and pid <> pg_backend_pid() order by pid`,
      ).then((rows) => rows.map((r) => r.pid), () => [] as number[]);
      throw new RowguardError('provision', `cannot create ${opts.purpose ?? 'a throwaway database'} on ${describeUrl(serverUrl)}: its template ${template} is in use by another session${pids.length ? ` (server pid ${pids.join(', ')})` : ''}`, {
        hint: `CREATE DATABASE copies ${template} only while nobody else is connected to it: close that session (select * from pg_stat_activity where datname = '${template.replace(/'/g, "''")}'), then run again`,
        pg,
        cause: err,
      });
    }
    if (pg?.sqlstate === '42501') {
      throw new RowguardError('provision', `cannot create ${opts.purpose ?? 'a throwaway database'} on ${describeUrl(serverUrl)}: ${pg.message}`, {
        hint: 'rowguard builds it in a throwaway database on that server: use a role with CREATEDB, or leave --db / DATABASE_URL unset to use the embedded server',
        pg,
        cause: err,
      });
    }
    throw err;
  }
  const url = onServer(serverUrl, name);
  return {
    name,
    url,
    drop: async () => {
      const reason = await dropTrying(serverUrl, name);
      if (reason === null) return;
      leftBehind.push({ name, reason });
      throw new RowguardError('provision', `could not drop throwaway database ${name}: ${reason}`);
    },
  };
}

/**
 * Drop `name`, three tries (a server out of connection slots, say, is often
 * transient): null when it is gone, else the server's last reason.
 */
async function dropTrying(serverUrl: string, name: string): Promise<string | null> {
  let reason: string | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt) await new Promise((r) => setTimeout(r, 300 * attempt));
    reason = await dropDatabase(serverUrl, name).then(
      () => null,
      (err: unknown) => scrubSecrets(pgFieldsOf(err)?.message ?? (err as Error)?.message ?? String(err), serverUrl),
    );
    if (reason === null) return null;
  }
  return reason;
}

let interrupted = false;

/**
 * On Ctrl-C / SIGTERM (cli/main.ts): create no more throwaway databases and drop
 * the ones that exist, newest first (copies before the templates they came from).
 * What could not be dropped (after three tries) is returned by name, with the
 * server's reason.
 */
export async function dropLiveThrowawayDatabases(): Promise<{ dropped: number; left: Array<{ name: string; reason: string }> }> {
  interrupted = true;
  let dropped = 0;
  const left: Array<{ name: string; reason: string }> = [];
  while (live.length) {
    const entry = live[live.length - 1]!;
    const made = await entry.created.then(() => true, () => false);
    // DROP … WITH (FORCE) ends the command's own sessions on it too.
    const reason = made ? await dropTrying(entry.serverUrl, entry.name) : null;
    if (made && reason === null) dropped++;
    else if (made) left.push({ name: entry.name, reason: reason! });
    const i = live.indexOf(entry);
    if (i >= 0) live.splice(i, 1); // a failed drop is not retried forever
  }
  return { dropped, left };
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await withSql(onServer(serverUrl, adminDatabase(serverUrl)), async (sql) => {
    // WITH (FORCE) (PG13+) terminates sessions still connected.
    await sql.unsafe(`drop database if exists ${quoteIdent(name)} with (force)`);
  });
  const i = live.findIndex((e) => e.name === name);
  if (i >= 0) live.splice(i, 1);
}

/**
 * Another database on the server of `serverUrl`. A password the password file gives
 * `serverUrl` goes with it: a throwaway database is the user's server, not a new
 * entry they could have written into ~/.pgpass.
 */
function onServer(serverUrl: string, database: string): string {
  return withDatabase(withFilePassword(serverUrl), database);
}

/** The database to connect to for CREATE/DROP DATABASE: the URL's own unless it is the one being created. */
function adminDatabase(serverUrl: string): string {
  const db = databaseOf(serverUrl);
  return db && db !== '' ? db : 'postgres';
}
