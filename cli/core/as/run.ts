/**
 * `rowguard as`: run SQL the way PostgREST would run a request for this
 * identity (conventions §2): READ COMMITTED transaction (or the role's
 * default_transaction_isolation; READ ONLY for GET and HEAD), as PostgREST's
 * login when the connection is a superuser's (see loginFor), the request
 * settings set transaction-locally (search_path, the role's ALTER ROLE … SET
 * settings, role, claims with the role written in, method, path, headers with
 * `authorization`, cookies), the statement, then ROLLBACK unless --commit.
 *
 * Fast path (one statement): everything travels in ONE simple-protocol
 * message — preamble, statement, the ROLLBACK (with an end mark before it when
 * the statement's tag is not known from its first keyword) — so the warm-path
 * cost over a plain query is one message, not four round trips.
 * Several statements (a file) are split with the Postgres parser and sent one
 * by one after the preamble, so each gets its own result and error position.
 */
import type { Sql } from '../db.js';
import { RowguardError, pgFieldsOf } from '../errors.js';
import { AUTHENTICATOR, requestPreamble, requestSettings, type ApiRequest } from '../postgrest/request.js';
import { leadingTriviaLength, locateCharPosition, nearTokenOneLine } from '../sql-text.js';
import { claimsJsonAeson } from '../jwt/json.js';
import { cancelOnInterrupt } from '../leftovers.js';
import { httpStatusForPgError } from './http-status.js';
import { knownRoleSettings, roleSettings, type RoleSettings } from './role-settings.js';

export interface AsIdentity {
  /** The verified (or built) JWT payload. */
  claims: Record<string, unknown>;
  /** The role the request runs as (role claim, else the anon role). */
  role: string;
  /** The bearer token, when the request carries one (it lands in request.headers, as in PostgREST). */
  token?: string;
  /** The token's top-level claims as aeson writes them (exact numbers); see claimsJsonAeson. */
  claimsMembers?: ReadonlyMap<string, string>;
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
  /**
   * 'typed' (default): values as the driver parses them (numbers, booleans,
   * JSON, arrays). 'text': every value as the text Postgres sent, exactly what
   * psql would print (`t`, `{1,2}`, microseconds), NULL as null.
   */
  values?: 'typed' | 'text';
}

export interface ResultSet {
  /** Command tag (SELECT, INSERT, UPDATE…), when the driver reports it reliably. */
  command: string | null;
  /** Rows returned, or rows affected for INSERT/UPDATE/DELETE without RETURNING. */
  rowCount: number | null;
  columns: string[];
  /** Rows keyed by column name. */
  rows: Array<Record<string, unknown>>;
  /**
   * Rows as arrays in column order — only when a column name repeats
   * (`select 1 as a, 2 as a`), where `rows` can keep only the last of them.
   */
  values?: unknown[][];
}

export interface AsResult {
  role: string;
  method: string;
  readOnly: boolean;
  committed: boolean;
  results: ResultSet[];
  /**
   * The login the role switch was checked against: authenticator (become, or
   * connected as), as PostgREST's is; else the connecting user, whose own
   * memberships then decide which roles a token may name.
   */
  switchedFrom: string;
}

/**
 * PostgREST's login role (conventions §1, sql/0001_roles.sql). PostgREST
 * connects as it and switches to the token's role with set_config('role', …),
 * so Postgres only lets it become a role it is a member of: any other existing
 * role is 42501 "permission denied to set role" (HTTP 403, or 401 for the anon
 * role), "none" means the login itself, and session_user is the login.
 */
export { AUTHENTICATOR };

export interface Login {
  /** The role to become with SET LOCAL SESSION AUTHORIZATION, or null. */
  become: string | null;
  /** Who SET ROLE is checked against: become, else the connection's session user. */
  switchedFrom: string;
  /**
   * pg_has_role's privilege for "authenticator may SET ROLE to it" ('SET' from
   * PostgreSQL 16, 'MEMBER' before), when each request must ask it first: the
   * connection is neither authenticator nor a superuser, and authenticator
   * exists. null otherwise.
   */
  checkPrivilege: 'SET' | 'MEMBER' | null;
  /** server_version_num, read in the same query (role settings need it). */
  serverVersion: number;
}
const logins = new WeakMap<Sql, Promise<Login>>();
const knownLogins = new WeakMap<Sql, Login>();

/**
 * How each request on this pool switches role as PostgREST's would:
 * - a superuser connection (the embedded server's, a local postgres) becomes
 *   authenticator for the transaction, so Postgres checks SET ROLE itself;
 * - a connection as authenticator needs nothing;
 * - any other connection asks pg_has_role(authenticator, role) first (see
 *   refuseSwitchAuthenticatorCannotMake), then SET ROLE runs as itself: "none"
 *   and session_user are then the connecting user's, and the footer says so;
 * - without an authenticator role, the connecting user's memberships decide.
 */
export function loginFor(sql: Sql): Promise<Login> {
  let p = logins.get(sql);
  if (!p) {
    p = sql<{ su: boolean; me: string; has: boolean; v: number }[]>`
      select coalesce((select rolsuper from pg_catalog.pg_roles where rolname = session_user), false) as su,
             session_user::text as me,
             exists (select from pg_catalog.pg_roles where rolname = ${AUTHENTICATOR}) as has,
             current_setting('server_version_num')::int as v`.then(([r]): Login => {
      const serverVersion = r?.v ?? 0;
      if (!r || r.me === AUTHENTICATOR || !r.has) return { become: null, switchedFrom: r?.me ?? '', checkPrivilege: null, serverVersion };
      if (r.su) return { become: AUTHENTICATOR, switchedFrom: AUTHENTICATOR, checkPrivilege: null, serverVersion };
      return { become: null, switchedFrom: r.me, checkPrivilege: r.v >= 160000 ? 'SET' : 'MEMBER', serverVersion };
    });
    p.then(
      (login) => knownLogins.set(sql, login),
      () => logins.delete(sql),
    );
    logins.set(sql, p);
  }
  return p;
}

/**
 * On a connection that cannot become authenticator, the role switch PostgREST
 * would refuse is refused before anything runs, with the error Postgres gives
 * there (check_role: 42501 "permission denied to set role"). Asked on every
 * request: grants change, and Postgres checks them on every SET ROLE too. A
 * role that does not exist is left to SET ROLE itself (22023).
 */
async function refuseSwitchAuthenticatorCannotMake(sql: Sql, role: string, privilege: 'SET' | 'MEMBER', anonRole: string): Promise<void> {
  if (role === 'none') return;
  const [r] = await sql<{ allowed: boolean | null }[]>`
    select case when exists (select from pg_catalog.pg_roles where rolname = ${role})
                then pg_catalog.pg_has_role(${AUTHENTICATOR}, ${role}::text::name, ${privilege}) end as allowed`;
  if (r?.allowed !== false) return;
  const message = `permission denied to set role "${role}"`;
  const status = httpStatusForPgError('42501', message, role !== anonRole);
  throw new RowguardError('sql', `${message} (as ${role}: PostgREST would answer HTTP ${status})`, {
    pg: { sqlstate: '42501', message },
    hint: denialHint('42501', message),
    meta: { sqlstate: '42501', httpStatus: status, role, wwwAuthenticate: status === 401 ? 'Bearer' : null },
  });
}

/** Marks the end of the user's statement inside the one-message fast path. */
const END_MARK = 'rowguard:end';

/** One result as postgres.js gives it with .values(): rows as arrays. */
interface DriverResult extends Array<unknown[]> {
  command?: string;
  count?: number | null;
  columns?: Array<{ name: string }> | null;
}

/** What the driver resolved a simple query to: one result (it has a tag), or one per row description. */
type DriverResults = DriverResult | DriverResult[];

function resultsOf(raw: DriverResults): DriverResult[] {
  return (raw as DriverResult).command === undefined ? (raw as DriverResult[]) : [raw as DriverResult];
}

/** Raw results (every value a Buffer of the server's text output, or null) turned into strings, in place. */
function decodeText(raw: DriverResults): DriverResults {
  for (const r of resultsOf(raw)) for (const row of r) for (let i = 0; i < row.length; i++) if (Buffer.isBuffer(row[i])) row[i] = (row[i] as Buffer).toString('utf8');
  return raw;
}

function toResultSet(r: DriverResult, command: string | null = r.command ?? null): ResultSet {
  const columns = (r.columns ?? []).map((c) => c.name);
  const values = Array.from(r);
  const rows = values.map((v) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i]!] = v[i];
    return row;
  });
  const set: ResultSet = { command, rowCount: columns.length ? rows.length : (r.count ?? null), columns, rows };
  if (new Set(columns).size < columns.length) set.values = values;
  return set;
}

/**
 * The command tag of a statement whose first keyword alone decides it
 * (Postgres' CreateCommandTag): every SelectStmt — SELECT, VALUES, TABLE, a
 * parenthesised query, SELECT … INTO — reports SELECT, and INSERT, UPDATE,
 * DELETE and MERGE keep their own tag even when a rule rewrites them (CREATE
 * RULE: "the command status … shows the original query type"). Anything else
 * (WITH, EXPLAIN, CALL, DDL…) is null: only the server knows its tag.
 */
const TAG_BY_KEYWORD: Record<string, string> = { select: 'SELECT', values: 'SELECT', table: 'SELECT', insert: 'INSERT', update: 'UPDATE', delete: 'DELETE', merge: 'MERGE' };
/** A keyword, then a character that cannot continue an identifier (Postgres: letters, digits, _, $ and any non-ASCII byte). */
const FIRST_WORD = /([A-Za-z]+)(?![A-Za-z0-9_$\u0080-\uffff])/y;

function tagFromFirstKeyword(text: string): string | null {
  let i = /^[A-Za-z]/.test(text) ? 0 : leadingTriviaLength(text);
  while (text[i] === '(') i += 1 + leadingTriviaLength(text.slice(i + 1));
  FIRST_WORD.lastIndex = i;
  const word = FIRST_WORD.exec(text)?.[1]?.toLowerCase();
  return (word && TAG_BY_KEYWORD[word]) ?? null;
}

/**
 * Results of `preamble; statement; end mark; COMMIT|ROLLBACK`. The driver opens a
 * new result at each row description and otherwise keeps writing into the
 * current one: the first result is ours (BEGIN/SET) unless the statement
 * returned no rows, and the last one is the end mark's (with the transaction
 * end's tag in it).
 */
function markedResults(raw: DriverResults): ResultSet[] {
  const sets = resultsOf(raw).slice(0, -1).map((r) => toResultSet(r));
  if (sets[0] && sets[0].columns.length === 0 && (sets[0].command === 'SET' || sets[0].command === 'BEGIN')) sets.shift();
  return sets;
}

/**
 * Results of `preamble; statement; COMMIT|ROLLBACK` for a statement whose tag
 * its first keyword gave: the transaction end's tag overwrote the statement's
 * in the last result, so it is put back. A statement with a row description
 * has results of its own after the preamble's; one without wrote its tag and
 * count into the preamble's result (BEGIN, SET and the end carry no count).
 */
function unmarkedResults(raw: DriverResults, tag: string): ResultSet[] {
  const all = resultsOf(raw);
  if (all.length === 1) return [toResultSet(all[0]!, tag)];
  const rest = all.slice(1);
  return rest.map((r, i) => toResultSet(r, i === rest.length - 1 ? tag : (r.command ?? null)));
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
 * The parser decides, and only loads when one of ESCAPE_WORDS appears.
 */
const ESCAPE_WORDS = /\b(begin|start|commit|end|rollback|abort|savepoint|release|prepare|role|session)\b/i;

async function refuseEscapes(text: string, file: string | undefined): Promise<void> {
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
  return {
    role: identity.role,
    claims: identity.claims,
    // As PostgREST writes it: members in key order, a token's numbers as aeson writes them (integers digit for digit).
    claimsJson: claimsJsonAeson(identity.claims, identity.role, identity.claimsMembers),
    method,
    path: opts.path ?? '/',
    headers,
    cookies: opts.cookies ?? {},
  };
}

/**
 * What a request sends around the user's SQL, built once per identity and
 * request shape: a test suite runs many statements as the same user, and
 * building the text (claims JSON, escaping) would otherwise be most of what
 * this module adds to a statement's latency. Identities are treated as
 * immutable.
 */
interface Envelope {
  /** The role settings it was built from (a schema reload gives new ones). */
  role: RoleSettings;
  /** The login it becomes first (see loginFor). */
  login: string | null;
  method: string;
  readOnly: boolean;
  /** begin … and the SET LOCALs, in PostgREST's order. */
  preamble: string;
  /** The one-message fast path is `${head}${statement}${marked or bare end}`. */
  head: string;
  /**
   * The request carries headers or cookies (an Authorization header holds the token): the
   * preamble goes as its own message, with `request.headers` and `request.cookies` left `{}`,
   * and `carried` sets them after it as parameters of a query of their own. The server logs the
   * text of a message that fails (log_min_error_statement, error by default), never a failing
   * query's parameters (log_parameter_max_length_on_error, 0 by default): a preamble that fails
   * (the token's role does not exist) or a statement that fails is logged without the token.
   */
  alone: boolean;
  carried: [headers: string, cookies: string] | null;
  marked: { rollback: string; commit: string };
  bare: { rollback: string; commit: string };
  /**
   * Single statements already checked (not empty, no escape, one statement), by
   * text and transaction end: the whole message and the statement's tag. A warm
   * request for a statement seen before then runs no regex and builds no string.
   */
  checked: { rollback: Map<string, OneMessage>; commit: Map<string, OneMessage> };
}

interface OneMessage {
  message: string;
  /** The command tag from the first keyword, when it decides it (then no end mark is sent). */
  tag: string | null;
}

/** Statements remembered per envelope; past this the memo starts over (a file of generated SQL must not grow it without end). */
const CHECKED_MAX = 256;

const envelopes = new WeakMap<AsIdentity, Map<string, Envelope>>();

function envelopeFor(identity: AsIdentity, role: RoleSettings, login: string | null, opts: RunSqlAsOptions): Envelope {
  // The usual request has no headers, cookies or extra search path: a plain key then
  // (it starts with \u0001, which no JSON text does, so the two kinds never meet).
  const key =
    opts.headers === undefined && opts.cookies === undefined && opts.extraSearchPath === undefined
      ? `\u0001${opts.method}\u0001${opts.path}\u0001${opts.schema}`
      : JSON.stringify([opts.method, opts.path, opts.headers, opts.cookies, opts.schema, opts.extraSearchPath]);
  let perIdentity = envelopes.get(identity);
  if (!perIdentity) envelopes.set(identity, (perIdentity = new Map()));
  const hit = perIdentity.get(key);
  if (hit && hit.role === role && hit.login === login) return hit;
  // PostgREST sets search_path first: the request's schema (the first of db-schemas
  // unless Accept-Profile picks another), then db-extra-search-path (default public).
  const searchPath = [opts.schema ?? 'public', ...(opts.extraSearchPath ?? ['public'])].map((s) => '"' + s.replace(/"/g, '""') + '"').join(', ');
  const req = { ...buildApiRequest(identity, opts), settings: { search_path: searchPath, ...role.settings } };
  const readOnly = req.method === 'GET' || req.method === 'HEAD';
  const alone = Object.keys(req.headers ?? {}).length > 0 || Object.keys(req.cookies ?? {}).length > 0;
  const preamble = requestPreamble(alone ? { ...req, headers: {}, cookies: {} } : req, { readOnly, isolation: role.isolation ?? undefined, ...(login !== null ? { sessionAuthorization: login } : {}) });
  const settings = new Map(requestSettings(req));
  // The end mark is a row description between the statement and the transaction's end:
  // the driver starts a new result there, so COMMIT/ROLLBACK's tag lands in the end
  // mark's result and the statement keeps its own (SELECT, UPDATE 2…). It costs the
  // server a query and the driver a result, so statements whose tag is known go without.
  const mark = `\n;\nselect 1 as "${END_MARK}";\n`;
  const env: Envelope = {
    role,
    login,
    method: req.method ?? 'POST',
    readOnly,
    preamble,
    head: preamble + '\n',
    alone,
    carried: alone ? [settings.get('request.headers')!, settings.get('request.cookies')!] : null,
    marked: { rollback: mark + 'rollback', commit: mark + 'commit' },
    bare: { rollback: '\n;\nrollback', commit: '\n;\ncommit' },
    checked: { rollback: new Map(), commit: new Map() },
  };
  perIdentity.set(key, env);
  return env;
}

export async function runSqlAs(sql: Sql, identity: AsIdentity, text: string, opts: RunSqlAsOptions): Promise<AsResult> {
  if (!/\S/.test(text)) throw new RowguardError('usage', 'no SQL to run: pass -c "SQL" or -f file.sql');
  // Awaited only on a role's first request: a warm one goes straight to the wire.
  const { become: login, switchedFrom, checkPrivilege, serverVersion } = knownLogins.get(sql) ?? (await loginFor(sql));
  let role: RoleSettings;
  try {
    if (checkPrivilege !== null) await refuseSwitchAuthenticatorCannotMake(sql, identity.role, checkPrivilege, opts.anonRole);
    role = knownRoleSettings(sql, identity.role, login) ?? (await roleSettings(sql, identity.role, login, serverVersion));
  } catch (err) {
    // The role name goes to Postgres first in these lookups: one it cannot take as text (a NUL
    // character, 22021) fails here as PostgREST's set_config would, and gets PostgREST's answer.
    throw sqlErrorAs(err, { text: '', positionShift: Number.NEGATIVE_INFINITY, role: identity.role, authed: identity.role !== opts.anonRole });
  }
  const { method, readOnly, preamble, head, alone, carried, marked, bare, checked } = envelopeFor(identity, role, login, opts);
  const end = opts.commit ? 'commit' : 'rollback';
  let one = checked[end].get(text);
  let split: Awaited<ReturnType<typeof statementsOf>> = null;
  if (!one) {
    if (ESCAPE_WORDS.test(text)) await refuseEscapes(text, opts.file);
    // Only text with a ';' inside can hold more than one statement; only then load the parser.
    split = hasInnerSemicolon(text) ? await statementsOf(text) : null;
    if (!split) {
      // preamble \n statement \n ; [end mark ;] rollback — one message, one round trip.
      const tag = tagFromFirstKeyword(text);
      one = { message: head + text + (tag ? bare[end] : marked[end]), tag };
      if (checked[end].size >= CHECKED_MAX) checked[end].clear();
      checked[end].set(text, one);
    }
  }

  // The transaction spans several queries, so they must share one connection. A pool
  // of one (the CLI's) already guarantees it; reserving costs every query a detour.
  const single = (sql.options as { max?: number } | undefined)?.max === 1;
  const reserved = single ? null : await sql.reserve();
  const conn = reserved ?? sql;
  const results: ResultSet[] = [];
  // The user's statements run until Ctrl-C cancels them (main.ts): a backend left alone would
  // run one to its end, holding its locks, after the command has exited.
  type Running = PromiseLike<unknown> & { cancel(): unknown };
  const fetch = async (q: { values(): Running; raw(): Running }): Promise<DriverResults> =>
    opts.values === 'text' ? decodeText((await cancelOnInterrupt(q.raw())) as DriverResults) : ((await cancelOnInterrupt(q.values())) as DriverResults);
  let errorOffset = 0;
  // The statement of a file that is running (code points), for errors the server gives no position for.
  let statementAt: number | undefined;
  // Where the user's text starts inside the message (code points), for error positions: only computed on error.
  let errorBase = (): number => 0;
  try {
    // The preamble on its own, then the headers and cookies as parameters (see Envelope.alone).
    const begin = async () => {
      await conn.unsafe(preamble).simple();
      if (carried) await conn.unsafe(`select set_config('request.headers', $1, true), set_config('request.cookies', $2, true)`, carried);
    };
    if (one && alone) {
      await begin();
      const raw = (await fetch(conn.unsafe(one.message.slice(head.length)).simple())) as DriverResults;
      results.push(...(one.tag ? unmarkedResults(raw, one.tag) : markedResults(raw)));
    } else if (one) {
      errorBase = () => Array.from(head).length;
      const raw = (await fetch(conn.unsafe(one.message).simple())) as DriverResults;
      results.push(...(one.tag ? unmarkedResults(raw, one.tag) : markedResults(raw)));
    } else if (split) {
      await begin();
      for (const s of split) {
        errorOffset = statementAt = s.startChars;
        const r = (await fetch(conn.unsafe(s.text).simple())) as DriverResult;
        results.push(toResultSet(r));
      }
      statementAt = undefined;
      await conn.unsafe(end).simple();
    }
  } catch (err) {
    // After an error the transaction is open and aborted: end it before the connection goes back.
    await conn
      .unsafe('rollback')
      .simple()
      .catch(() => undefined);
    throw sqlErrorAs(err, { text, file: opts.file, positionShift: errorOffset - errorBase(), statementAt, role: identity.role, authed: identity.role !== opts.anonRole });
  } finally {
    reserved?.release();
  }
  return { role: identity.role, method, readOnly, committed: !!opts.commit, results, switchedFrom };
}

const DENIAL_HINTS: Record<string, string> = {
  '42501': 'the role has no GRANT for this (checked before any policy)',
  '22023': "the token's role does not exist in this database",
  '25006': 'GET and HEAD run READ ONLY, as PostgREST does: use --method POST (or PATCH/DELETE) to write',
};

function denialHint(sqlstate: string, message: string): string | undefined {
  if (sqlstate === '42501' && /row-level security/.test(message)) return "a policy's WITH CHECK (or USING, for an UPSERT/UPDATE) refused the row";
  if (sqlstate === '42501' && message.startsWith('permission denied to set role')) return `PostgREST's login (${AUTHENTICATOR}) is not a member of the token's role: GRANT it to ${AUTHENTICATOR}, or fix the role claim`;
  return DENIAL_HINTS[sqlstate];
}

function sqlErrorAs(err: unknown, ctx: { text: string; file?: string; positionShift: number; statementAt?: number; role: string; authed: boolean }): unknown {
  const pg = pgFieldsOf(err);
  if (!pg?.sqlstate) return err;
  const status = httpStatusForPgError(pg.sqlstate, pg.message ?? '', ctx.authed, pg.detail);
  let location;
  let message = pg.message ?? 'database error';
  if (pg.position !== undefined) {
    const chars = Array.from(ctx.text);
    let pos = pg.position + ctx.positionShift;
    // The statement travels with our end (`;` and ROLLBACK) behind it: a syntax error
    // there is, for the user's text, its end of input (`select 1 +`).
    if (pg.sqlstate === '42601' && pos > chars.length + 1) {
      pos = chars.length + 1;
      message = message.replace(/ at or near "[\s\S]*"$/, ' at end of input');
    }
    // A position inside our own preamble or end mark is not the user's to see.
    if (pos >= 1 && pos <= chars.length + 1) {
      location = locateCharPosition(ctx.text, pos, ctx.file ?? '-c');
      // An unterminated string, identifier or comment runs on into our end: quote only the user's part (first line).
      const own = chars.slice(pos - 1).join('');
      message = nearTokenOneLine(message.replace(/ at or near "([\s\S]*)"$/, (whole, token: string) => (token.length > own.length && token.startsWith(own) ? ` at or near "${own}"` : whole)));
    }
  }
  // A run-time error (a constraint, division by zero, RAISE) has no position: in a file of
  // several statements, point at the statement that failed.
  if (pg.position === undefined && ctx.statementAt !== undefined) location = locateCharPosition(ctx.text, ctx.statementAt + 1, ctx.file ?? '-c');
  const pgOut = { ...pg, message, position: location ? undefined : pg.position };
  return new RowguardError('sql', `${message} (as ${ctx.role}: PostgREST would answer HTTP ${status})`, {
    pg: pgOut,
    location,
    hint: pg.hint ?? denialHint(pg.sqlstate, pg.message ?? ''),
    // PostgREST adds WWW-Authenticate: Bearer to a database error only when it answers 401 (Error.hs).
    meta: { sqlstate: pg.sqlstate, httpStatus: status, role: ctx.role, wwwAuthenticate: status === 401 ? 'Bearer' : null },
    cause: err,
  });
}
