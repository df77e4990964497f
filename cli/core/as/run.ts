/**
 * `rowguard as`: run SQL the way PostgREST would run a request for this
 * identity (conventions §2): READ COMMITTED transaction (or the role's
 * default_transaction_isolation; READ ONLY for GET and HEAD), the request
 * settings set transaction-locally (search_path, the role's ALTER ROLE … SET
 * settings, role, claims with the role written in, method, path, headers with
 * `authorization`, cookies), the statement, then ROLLBACK unless --commit.
 *
 * Fast path (one statement): everything travels in ONE simple-protocol
 * message — preamble, statement, an end marker, and the ROLLBACK — so the
 * warm-path cost over a plain query is one message, not four round trips.
 * Several statements (a file) are split with the Postgres parser and sent one
 * by one after the preamble, so each gets its own result and error position.
 */
import type { Sql } from '../db.js';
import { RowguardError, pgFieldsOf } from '../errors.js';
import { requestPreamble, type ApiRequest } from '../postgrest/request.js';
import { locateCharPosition } from '../sql-text.js';
import { httpStatusForPgError } from './http-status.js';
import { roleSettings, type RoleSettings } from './role-settings.js';

export interface AsIdentity {
  /** The verified (or built) JWT payload. */
  claims: Record<string, unknown>;
  /** The role the request runs as (role claim, else the anon role). */
  role: string;
  /** The bearer token, when the request carries one (it lands in request.headers, as in PostgREST). */
  token?: string;
}

export interface RunSqlAsOptions {
  /** HTTP method of the emulated request; GET/HEAD run READ ONLY. Default POST. */
  method?: string;
  path?: string;
  /** COMMIT instead of ROLLBACK. */
  commit?: boolean;
  /** db-anon-role: decides 401 vs 403 for 42501, as PostgREST's `authed`. */
  anonRole: string;
  /** File the SQL came from (errors then point at file:line:col). */
  file?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  /** The schema the request targets (PostgREST: the first of db-schemas, or Accept-Profile). Default public. */
  schema?: string;
  /** db-extra-search-path; default ["public"]. */
  extraSearchPath?: string[];
}

export interface ResultSet {
  /** Command tag (SELECT, INSERT, UPDATE…), when the driver reports it reliably. */
  command: string | null;
  /** Rows returned, or rows affected for INSERT/UPDATE/DELETE without RETURNING. */
  rowCount: number | null;
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

export interface AsResult {
  role: string;
  method: string;
  readOnly: boolean;
  committed: boolean;
  results: ResultSet[];
}

/** Marks the end of the user's statement inside the one-message fast path. */
const END_MARK = 'rowguard:end';

interface DriverResult extends Array<Record<string, unknown>> {
  command?: string;
  count?: number | null;
  columns?: Array<{ name: string }> | null;
}

function toResultSet(r: DriverResult): ResultSet {
  const columns = (r.columns ?? []).map((c) => c.name);
  const rows = Array.from(r);
  const command = r.command ?? null;
  return { command, rowCount: columns.length ? rows.length : (r.count ?? null), columns, rows };
}

/** A ';' before the trailing run of semicolons and whitespace (a linear scan: no regex backtracking on long input). */
function hasInnerSemicolon(text: string): boolean {
  let end = text.length;
  while (end > 0 && (text[end - 1] === ';' || /\s/.test(text[end - 1]!))) end--;
  return text.lastIndexOf(';', end - 1) !== -1;
}

/**
 * Statements that would take the SQL out of the request it emulates, refused
 * before anything runs:
 * - transaction control: the transaction is the request's, as in PostgREST; a
 *   COMMIT would end it, drop the SET LOCAL role and claims, and run what
 *   follows as the connecting user;
 * - SET/RESET ROLE and SET SESSION AUTHORIZATION: they would swap the request's
 *   role for another, or for the connecting user (often a superuser here,
 *   while PostgREST's authenticator has no privileges of its own).
 * The parser decides, and only loads when one of those keywords appears.
 */
async function refuseEscapes(text: string, file: string | undefined): Promise<void> {
  if (!/\b(begin|start|commit|end|rollback|abort|savepoint|release|prepare|role|session)\b/i.test(text)) return;
  const { loadParser, splitStatements, isParseFailure } = await import('../sql-text.js');
  const parser = await loadParser();
  let stmts: Array<{ stmt: Record<string, { name?: string }> }>;
  try {
    stmts = ((await parser.parse(text)) as { stmts?: typeof stmts }).stmts ?? [];
  } catch {
    return; // does not parse: the server reports the syntax error and runs nothing
  }
  const bad = stmts.findIndex(({ stmt }) => 'TransactionStmt' in stmt || ('VariableSetStmt' in stmt && ['role', 'session_authorization'].includes(stmt['VariableSetStmt']?.name ?? '')));
  if (bad === -1) return;
  const split = await splitStatements(text);
  const at = !isParseFailure(split) && split[bad] ? split[bad]!.startChars + 1 : 1;
  const tx = 'TransactionStmt' in stmts[bad]!.stmt;
  throw new RowguardError(
    'usage',
    tx
      ? "transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT…) cannot run inside the request: the transaction is the request's"
      : "SET ROLE / RESET ROLE / SET SESSION AUTHORIZATION cannot run inside the request: it would replace the request's role",
    {
      location: locateCharPosition(text, at, file ?? '-c'),
      hint: tx ? 'rowguard as rolls back by default; pass --commit to keep the changes' : 'choose the identity with --token, --user, --anon or --service-role',
    },
  );
}

/** Statements of `text` with the real parser; null when there is one, or the text does not parse. */
async function statementsOf(text: string): Promise<Array<{ text: string; startChars: number }> | null> {
  const { splitStatements, isParseFailure } = await import('../sql-text.js');
  const split = await splitStatements(text);
  // A file that does not parse goes to the server whole: it reports the syntax error with its position.
  if (isParseFailure(split) || split.length <= 1) return null;
  return split;
}

export function buildApiRequest(identity: AsIdentity, opts: Pick<RunSqlAsOptions, 'method' | 'path' | 'headers' | 'cookies'>): ApiRequest {
  const method = (opts.method ?? 'POST').toUpperCase();
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (identity.token !== undefined) headers['authorization'] = `Bearer ${identity.token}`;
  return { role: identity.role, claims: identity.claims, method, path: opts.path ?? '/', headers, cookies: opts.cookies ?? {} };
}

/**
 * The preamble text, built once per identity and request shape: a test suite
 * runs many statements as the same user, and building the text (claims JSON,
 * escaping) is most of what this module adds to a statement's latency.
 * Identities are treated as immutable.
 */
const preambles = new WeakMap<AsIdentity, Map<string, { role: RoleSettings; text: string }>>();

function preambleFor(identity: AsIdentity, role: RoleSettings, opts: RunSqlAsOptions): string {
  const key = JSON.stringify([opts.method, opts.path, opts.headers, opts.cookies, opts.schema, opts.extraSearchPath]);
  let perIdentity = preambles.get(identity);
  if (!perIdentity) preambles.set(identity, (perIdentity = new Map()));
  const hit = perIdentity.get(key);
  if (hit && hit.role === role) return hit.text;
  // PostgREST sets search_path first: the request's schema (the first of db-schemas
  // unless Accept-Profile picks another), then db-extra-search-path (default public).
  const searchPath = [opts.schema ?? 'public', ...(opts.extraSearchPath ?? ['public'])].map((s) => '"' + s.replace(/"/g, '""') + '"').join(', ');
  const req = { ...buildApiRequest(identity, opts), settings: { search_path: searchPath, ...role.settings } };
  const readOnly = req.method === 'GET' || req.method === 'HEAD';
  const text = requestPreamble(req, { readOnly, isolation: role.isolation ?? undefined });
  perIdentity.set(key, { role, text });
  return text;
}

export async function runSqlAs(sql: Sql, identity: AsIdentity, text: string, opts: RunSqlAsOptions): Promise<AsResult> {
  if (text.trim() === '') throw new RowguardError('usage', 'no SQL to run: pass -c "SQL" or -f file.sql');
  const role = await roleSettings(sql, identity.role);
  const method = (opts.method ?? 'POST').toUpperCase();
  const readOnly = method === 'GET' || method === 'HEAD';
  const preamble = preambleFor(identity, role, opts);
  const end = opts.commit ? 'commit' : 'rollback';
  await refuseEscapes(text, opts.file);
  // Only text with a ';' inside can hold more than one statement; only then load the parser.
  const split = hasInnerSemicolon(text) ? await statementsOf(text) : null;

  // The transaction spans several queries, so they must share one connection. A pool
  // of one (the CLI's) already guarantees it; reserving costs every query a detour.
  const single = (sql.options as { max?: number } | undefined)?.max === 1;
  const reserved = single ? null : await sql.reserve();
  const conn = reserved ?? sql;
  const results: ResultSet[] = [];
  let errorOffset = 0;
  // Where the user's text starts inside the message (code points), for error positions: only computed on error.
  let errorBase = (): number => 0;
  try {
    if (!split) {
      // preamble \n statement \n ; end-mark ; rollback — one message, one round trip.
      errorBase = () => Array.from(preamble).length + 1;
      const raw = (await conn.unsafe(`${preamble}\n${text}\n;\nselect 1 as "${END_MARK}";\n${end}`).simple()) as unknown as DriverResult[] | DriverResult;
      const all = Array.isArray(raw[0]) || (raw as DriverResult[]).length === 0 ? (raw as DriverResult[]) : [raw as DriverResult];
      // The driver opens a new result at each row description and otherwise keeps writing
      // into the current one: the first result is ours (BEGIN/SET) unless the statement
      // returned no rows, and the last one is the end mark.
      const sets = all.slice(0, -1).map(toResultSet);
      if (sets[0] && sets[0].columns.length === 0 && (sets[0].command === 'SET' || sets[0].command === 'BEGIN')) sets.shift();
      results.push(...sets);
    } else {
      await conn.unsafe(preamble).simple();
      for (const s of split) {
        errorOffset = s.startChars;
        const r = (await conn.unsafe(s.text).simple()) as unknown as DriverResult;
        results.push(toResultSet(r));
      }
      await conn.unsafe(end).simple();
    }
  } catch (err) {
    // After an error the transaction is open and aborted: end it before the connection goes back.
    await conn
      .unsafe('rollback')
      .simple()
      .catch(() => undefined);
    throw sqlErrorAs(err, { text, file: opts.file, positionShift: errorOffset - errorBase(), role: identity.role, authed: identity.role !== opts.anonRole });
  } finally {
    reserved?.release();
  }
  return { role: identity.role, method, readOnly, committed: !!opts.commit, results };
}

const DENIAL_HINTS: Record<string, string> = {
  '42501': 'the role has no GRANT for this (checked before any policy)',
  '22023': "the token's role does not exist in this database",
  '25006': 'GET and HEAD run READ ONLY, as PostgREST does: use --method POST (or PATCH/DELETE) to write',
};

function sqlErrorAs(err: unknown, ctx: { text: string; file?: string; positionShift: number; role: string; authed: boolean }): unknown {
  const pg = pgFieldsOf(err);
  if (!pg?.sqlstate) return err;
  const status = httpStatusForPgError(pg.sqlstate, pg.message ?? '', ctx.authed, pg.detail);
  let location;
  if (pg.position !== undefined) {
    const pos = pg.position + ctx.positionShift;
    // A position inside our own preamble or end mark is not the user's to see.
    if (pos >= 1 && pos <= Array.from(ctx.text).length + 1) location = locateCharPosition(ctx.text, pos, ctx.file ?? '-c');
  }
  const pgOut = { ...pg, position: location ? undefined : pg.position };
  return new RowguardError('sql', `${pg.message ?? 'database error'} (as ${ctx.role}: PostgREST would answer HTTP ${status})`, {
    pg: pgOut,
    location,
    hint: pg.hint ?? (pg.sqlstate === '42501' && /row-level security/.test(pg.message ?? '') ? "a policy's WITH CHECK (or USING, for an UPSERT/UPDATE) refused the row" : DENIAL_HINTS[pg.sqlstate]),
    meta: { sqlstate: pg.sqlstate, httpStatus: status, role: ctx.role },
    cause: err,
  });
}
