/**
 * The one error type rowguard throws on purpose. Everything a user can cause
 * (bad flag, bad config, bad SQL, unreachable server) becomes a RowguardError
 * with a stable `code`, a one-line `message`, an optional `hint`, and JSON-safe
 * `meta`. `cli/main.ts` is the only place that turns it into output and an exit
 * code; nothing else prints stack traces.
 */

/** Exit codes, documented in `rowguard --help` and the README. */
export const ExitCode = {
  ok: 0,
  /** The checked thing failed: a migration, drift, lint findings, failing tests, a rejected token. */
  failed: 1,
  /** Usage or configuration error: nothing was done. */
  usage: 2,
  /** The database could not be reached or provisioned. */
  database: 3,
  /** Stopped by Ctrl-C (SIGINT), as shells report it. */
  interrupted: 130,
  /** Stopped by SIGTERM (a CI job cancelled). */
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'usage'
  | 'config'
  | 'io'
  | 'db_unreachable'
  | 'provision'
  | 'docker_unavailable'
  | 'sql'
  | 'migration_failed'
  | 'migration_edited'
  | 'migration_missing'
  | 'migration_out_of_order'
  | 'migration_dirty'
  | 'migration_invalid_file'
  | 'lock_timeout'
  | 'secret'
  | 'jwt'
  | 'auth'
  | 'check_failed'
  | 'interrupted'
  | 'internal';

const exitCodeFor: Record<ErrorCode, ExitCode> = {
  usage: ExitCode.usage,
  config: ExitCode.usage,
  io: ExitCode.usage,
  secret: ExitCode.usage,
  db_unreachable: ExitCode.database,
  provision: ExitCode.database,
  docker_unavailable: ExitCode.database,
  sql: ExitCode.failed,
  migration_failed: ExitCode.failed,
  migration_edited: ExitCode.failed,
  migration_missing: ExitCode.failed,
  migration_out_of_order: ExitCode.failed,
  migration_dirty: ExitCode.failed,
  migration_invalid_file: ExitCode.failed,
  lock_timeout: ExitCode.failed,
  jwt: ExitCode.failed,
  auth: ExitCode.failed,
  check_failed: ExitCode.failed,
  interrupted: ExitCode.interrupted,
  internal: ExitCode.failed,
};

/** Where in a SQL file something went wrong (1-based line and column). */
export interface SqlLocation {
  file: string;
  line: number;
  column: number;
  /** The text of that line, for the caret display. */
  source?: string;
}

/** Fields Postgres sent with an error (postgres.js PostgresError), kept verbatim. */
export interface PgErrorFields {
  sqlstate?: string;
  message?: string;
  detail?: string;
  hint?: string;
  position?: number;
  where?: string;
  /** For an error in a query a function or DO block ran: that query's text and the position in it. */
  internalQuery?: string;
  internalPosition?: number;
  schema?: string;
  table?: string;
  column?: string;
  constraint?: string;
}

export interface RowguardErrorOptions {
  hint?: string;
  detail?: string;
  location?: SqlLocation;
  pg?: PgErrorFields;
  meta?: Record<string, unknown>;
  cause?: unknown;
  exitCode?: ExitCode;
}

export class RowguardError extends Error {
  override readonly name = 'RowguardError';
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly detail?: string;
  readonly location?: SqlLocation;
  readonly pg?: PgErrorFields;
  readonly meta: Record<string, unknown>;
  readonly exitCode: ExitCode;

  constructor(code: ErrorCode, message: string, options: RowguardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.detail = options.detail;
    this.location = options.location;
    this.pg = options.pg;
    this.meta = options.meta ?? {};
    this.exitCode = options.exitCode ?? exitCodeFor[code];
  }

  /** The stable JSON shape printed under `--json` (`{"error": …}`). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.detail ? { detail: this.detail } : {}),
      ...(this.location ? { location: this.location } : {}),
      ...(this.pg ? { pg: this.pg } : {}),
      ...(Object.keys(this.meta).length ? { meta: this.meta } : {}),
      exitCode: this.exitCode,
    };
  }
}

export function isRowguardError(err: unknown): err is RowguardError {
  return err instanceof RowguardError;
}

/**
 * SQLSTATEs of a session the server ended: 57P01 admin_shutdown (pg_terminate_backend, a server
 * stopped), 57P02 crash_shutdown, 57P05 idle_session_timeout, and class 08 connection_exception.
 * Here, not in db.ts, so that main's error path reads it without loading the driver.
 */
export function sessionEndedState(sqlstate: string | undefined): boolean {
  return !!sqlstate && (sqlstate === '57P01' || sqlstate === '57P02' || sqlstate === '57P05' || sqlstate.startsWith('08'));
}

/** postgres.js's PostgresError carries these fields; detect it without importing postgres. */
export function pgFieldsOf(err: unknown): PgErrorFields | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as Record<string, unknown>;
  if (e['name'] !== 'PostgresError' || typeof e['code'] !== 'string') return undefined;
  const str = (k: string) => (typeof e[k] === 'string' && e[k] !== '' ? (e[k] as string) : undefined);
  const pos = str('position');
  const ipos = str('internal_position');
  return {
    sqlstate: e['code'] as string,
    message: str('message'),
    detail: str('detail'),
    hint: str('hint'),
    position: pos === undefined ? undefined : Number(pos),
    where: str('where'),
    internalQuery: str('internal_query'),
    internalPosition: ipos === undefined ? undefined : Number(ipos),
    schema: str('schema_name'),
    table: str('table_name'),
    column: str('column_name'),
    constraint: str('constraint_name'),
  };
}
