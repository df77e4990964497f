/**
 * PostgREST's per-request steps (conventions §2), reproduced on a connection we
 * hold: a transaction (READ ONLY for GET/HEAD), then ONE
 * `select set_config(k, v, true), …` in PostgREST's order — role,
 * request.jwt.claims (the payload with "role" overwritten by the resolved role),
 * request.method, request.path, request.headers (lower-cased, with
 * authorization, without cookie), request.cookies — then the statement, then
 * COMMIT or (default) ROLLBACK.
 *
 * Everything is transaction-local (is_local = true): a session-level setting
 * would leak into the next request on a pooled connection.
 */
import type { Sql, TransactionSql } from '../db.js';

/** PostgREST's login role (conventions §1, sql/0001_roles.sql): requests switch role from it. */
export const AUTHENTICATOR = 'authenticator';

export interface ApiRequest {
  /** The role the request runs as (already resolved from the token, or the anon role). */
  role: string;
  /** The verified JWT payload (without role: it is written in here). */
  claims: Record<string, unknown>;
  /** request.jwt.claims exactly, role included, when the caller has PostgREST's text for it; else built from claims. */
  claimsJson?: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  /** Extra settings from ALTER ROLE … SET or app.settings.* (set before role, as PostgREST does). */
  settings?: Record<string, string>;
}

/** The (name, value) pairs PostgREST sets, in its order. */
export function requestSettings(req: ApiRequest): Array<[string, string]> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) {
    if (k.toLowerCase() !== 'cookie') headers[k.toLowerCase()] = v;
  }
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(req.settings ?? {})) pairs.push([k, v]);
  pairs.push(['role', req.role]);
  pairs.push(['request.jwt.claims', req.claimsJson ?? JSON.stringify({ ...req.claims, role: req.role })]);
  pairs.push(['request.method', req.method ?? 'POST']);
  pairs.push(['request.path', req.path ?? '/rpc/rowguard']);
  pairs.push(['request.headers', JSON.stringify(headers)]);
  pairs.push(['request.cookies', JSON.stringify(req.cookies ?? {})]);
  return pairs;
}

/** Apply the request settings inside an open transaction with one round trip. */
export async function applyRequest(tx: TransactionSql | Sql, req: ApiRequest): Promise<void> {
  const pairs = requestSettings(req);
  const names = pairs.map(([k]) => k);
  const values = pairs.map(([, v]) => v);
  // unnest keeps it one statement whatever the number of settings; WITH ORDINALITY keeps PostgREST's order.
  await tx`select count(set_config(k, v, true)) from unnest(${names}::text[], ${values}::text[]) with ordinality as s(k, v, n)`;
}

export interface RunAsOptions {
  /** READ ONLY transaction, as PostgREST does for GET/HEAD. */
  readOnly?: boolean;
  /** COMMIT at the end instead of the default ROLLBACK. */
  commit?: boolean;
  /** Isolation level from the role's default_transaction_isolation; default READ COMMITTED. */
  isolation?: string;
  /**
   * Become this login role for the transaction (SET LOCAL SESSION AUTHORIZATION,
   * which needs a superuser connection) before anything else, so that Postgres
   * checks the role switch and the settings against PostgREST's login
   * (authenticator) rather than against the connecting superuser.
   */
  sessionAuthorization?: string;
}

const ROLLBACK = Symbol('rowguard.rollback');

/**
 * Run `fn` as the request would run. Rolls back unless `commit`; errors
 * from `fn` propagate (after rollback) with their SQLSTATE intact.
 */
export async function runAsRequest<T>(sql: Sql, req: ApiRequest, fn: (tx: TransactionSql) => Promise<T>, opts: RunAsOptions = {}): Promise<T> {
  let result!: T;
  const mode = `isolation level read committed ${opts.readOnly ? 'read only' : 'read write'}`;
  try {
    await sql.begin(mode, async (tx) => {
      await applyRequest(tx, req);
      result = await fn(tx);
      if (!opts.commit) throw ROLLBACK;
    });
  } catch (err) {
    if (err !== ROLLBACK) throw err;
  }
  return result;
}

/** A string literal that means the same whatever standard_conforming_strings is (E'' with \ and ' escaped). */
function escapeLiteral(value: string): string {
  // One pass; most values (method, path, '{}') need no escaping at all.
  return "E'" + (/[\\']/.test(value) ? value.replace(/[\\']/g, (c) => (c === "'" ? "''" : '\\\\')) : value) + "'";
}

/** GUC names as SET accepts them unquoted: identifiers joined by dots (custom settings need one dot). */
const GUC_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)*$/;

/**
 * Settings whose SET form quotes a string literal as ONE list element
 * (GUC_LIST_QUOTE in guc_tables.c): `SET search_path = 'a, b'` means the schema
 * named "a, b", while set_config('search_path', 'a, b', …) means a and b.
 * Their value is therefore written as the list it is, after checking that it
 * is only identifiers and commas (the form Postgres itself stores and shows).
 */
const LIST_QUOTE = new Set(['search_path', 'temp_tablespaces', 'local_preload_libraries', 'session_preload_libraries']);
const IDENT_LIST = /^\s*("(?:[^"]|"")*"|[A-Za-z_$][A-Za-z0-9_$]*)(\s*,\s*("(?:[^"]|"")*"|[A-Za-z_$][A-Za-z0-9_$]*))*\s*$/;

function settingValue(name: string, value: string): string {
  if (!LIST_QUOTE.has(name.toLowerCase())) return escapeLiteral(value);
  if (value.trim() === '') return "''";
  if (!IDENT_LIST.test(value)) throw new Error(`${name}: not a list of identifiers: ${JSON.stringify(value)}`);
  return value;
}

/**
 * The same steps as text, for one simple-protocol message:
 * `begin isolation level <read committed | the role's> read only|read write;`, then
 * `set local session authorization <login>;` when asked, then one
 * `set local <k> = <v>;` per setting, in requestSettings' order.
 *
 * `SET LOCAL k = v` and `set_config(k, v, true)` assign the same
 * transaction-local setting (PostgreSQL docs, "set_config ... is_local = true
 * is equivalent to SET LOCAL"); SET is used here because it returns no row,
 * so the driver's result for the statement that follows stays its own.
 */
export function requestPreamble(req: ApiRequest, opts: RunAsOptions = {}): string {
  const isolation = (opts.isolation ?? 'read committed').toLowerCase();
  if (!['read committed', 'repeatable read', 'serializable', 'read uncommitted'].includes(isolation)) throw new Error(`not an isolation level: ${JSON.stringify(opts.isolation)}`);
  const lines = [`begin isolation level ${isolation} ${opts.readOnly ? 'read only' : 'read write'};`];
  if (opts.sessionAuthorization !== undefined) lines.push(`set local session authorization "${opts.sessionAuthorization.replace(/"/g, '""')}";`);
  for (const [k, v] of requestSettings(req)) {
    if (!GUC_NAME.test(k)) throw new Error(`not a setting name: ${JSON.stringify(k)}`);
    lines.push(`set local ${k} = ${settingValue(k, v)};`);
  }
  return lines.join('\n');
}
