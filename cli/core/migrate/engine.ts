/**
 * Applying migrations: the only part of the migration engine with I/O.
 *
 * - Runners serialise on a session-level advisory lock taken by polling
 *   pg_try_advisory_lock outside any transaction, so a waiting runner holds no
 *   snapshot and cannot deadlock a CREATE INDEX CONCURRENTLY run by the holder
 *   (CIC waits for every older transaction to finish).
 * - A transactional migration and its history row commit together.
 * - A `-- rowguard:no-transaction` migration runs statement by statement; its
 *   history row is written as 'running' first, so a crash or failure midway is
 *   visible and the next `up` refuses until `migrate resolve`.
 */
import { userInfo } from 'node:os';
import { closeSql, connect, describeUrl, endedReason, firstContact, isConnectionError, connectionError, lostConnectionError, quoteLiteral, sessionEnded, type Sql } from '../db.js';
import { RowguardError, pgFieldsOf, type PgErrorFields, type SqlLocation } from '../errors.js';
import { doBodyOffset, hasNoStatement, locateCharPosition, nearTokenOneLine, splitStatements, isParseFailure, transactionControlStatements, unclosedTransactionBlock, type SplitStatement } from '../sql-text.js';
import { readMigrations, type MigrationFile } from './files.js';
import { copyFromStdinOffset } from './psql-copy.js';
import { planMigrations, type HistoryRow, type MigrationPlan, type MigrationWarning, type PlanOptions } from './plan.js';

/** Key of the advisory lock (an arbitrary constant: 'rowguard' in ASCII). */
export const MIGRATION_LOCK_KEY = 0x726f7767756172n;

export interface EngineOptions {
  url: string;
  /** Folder with the migration files. */
  dir: string;
  /** Root for displayed file paths. */
  displayRoot: string;
  lockTimeout: string;
  statementTimeout: string;
  /** Seconds to wait for another runner's lock (default 600). */
  lockWaitSeconds?: number;
  /**
   * Aborted (Ctrl-C, a cancelled CI job): the running statement is cancelled on the
   * server, so its migration rolls back, and no further migration starts. Without it,
   * a client that goes away leaves the server to finish (and commit) the migration.
   */
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * A NOTICE, WARNING or INFO the server sent while a migration ran (a `raise notice`, "table
   * … does not exist, skipping"), as psql prints it. The engine's own statements' are not passed on.
   */
  onNotice?: (notice: MigrationNotice) => void;
  /** Injected clock for tests. */
  now?: () => number;
}

export type ProgressEvent =
  | { kind: 'waiting-for-lock'; holderPid: number | null }
  | { kind: 'applying'; file: MigrationFile; index: number; total: number }
  | { kind: 'applied'; file: MigrationFile; durationMs: number; index: number; total: number };

export interface ServerNotice {
  /** NOTICE, WARNING, INFO (as the server names it). */
  severity: string;
  message: string;
}

export interface MigrationNotice extends ServerNotice {
  /** The migration's version and file as displayed. */
  version: string;
  file: string;
  /** With `--targets`: the database (as displayed, without its password). */
  target?: string;
}

export interface AppliedMigration {
  version: string;
  name: string;
  file: string;
  durationMs: number;
  noTransaction: boolean;
  /**
   * The file held no statement (a fresh `migrate new`): recorded as applied all the
   * same, so filling it in later is an edit, refused by the next `up`.
   */
  empty?: true;
  /** What the server said while it ran, in order (absent when it said nothing). */
  notices?: ServerNotice[];
}

export interface UpResult {
  applied: AppliedMigration[];
  /** Files that would be applied (with --dry-run). */
  wouldApply: Array<{ version: string; name: string; file: string; noTransaction: boolean }>;
  dryRun: boolean;
  upToDate: boolean;
  /** Said, not refused: versions whose numeric order is not their name order (see plan.ts). */
  warnings: MigrationWarning[];
}

/**
 * Created once, readable and writable by its owner (the migrating role) only: what
 * ALTER DEFAULT PRIVILEGES grants to other roles on new schemas and tables (a
 * reporting role, an API role) is revoked, so no other role can rewrite the history.
 * Grants made on purpose later are left alone.
 */
const HISTORY_DDL = `
do $rowguard$
declare
  new_schema boolean := to_regnamespace('rowguard') is null;
  g record;
begin
  if to_regclass('rowguard.migrations') is not null then return; end if;
  create schema if not exists rowguard;
  create table rowguard.migrations (
    version     text primary key check (version ~ '^[0-9]+$'),
    name        text not null,
    checksum    text not null check (checksum ~ '^[0-9a-f]{64}$'),
    status      text not null default 'applied' check (status in ('applied', 'failed', 'running')),
    applied_at  timestamptz not null default now(),
    applied_by  text not null,
    duration_ms integer,
    error       jsonb
  );
  comment on table rowguard.migrations is 'rowguard migration history: one row per applied (or failed no-transaction) migration';
  revoke all on rowguard.migrations from public;
  for g in
    select distinct r.rolname from pg_class c, aclexplode(c.relacl) a join pg_roles r on r.oid = a.grantee
    where c.oid = 'rowguard.migrations'::regclass and a.grantee <> c.relowner
  loop
    execute format('revoke all on rowguard.migrations from %I', g.rolname);
  end loop;
  if new_schema then
    revoke all on schema rowguard from public;
    for g in
      select distinct r.rolname from pg_namespace n, aclexplode(n.nspacl) a join pg_roles r on r.oid = a.grantee
      where n.nspname = 'rowguard' and a.grantee <> n.nspowner
    loop
      execute format('revoke all on schema rowguard from %I', g.rolname);
    end loop;
  end if;
end
$rowguard$;
`;

function session(url: string, lockTimeout: string, statementTimeout: string, onNotice?: (n: ServerNotice) => void): Sql {
  // No array types to parse here (no query of the engine returns or binds an array):
  // fetch_types off spares a pg_type round trip on every `migrate` command.
  return connect(url, {
    max: 1,
    fetchTypes: false,
    connection: { lock_timeout: lockTimeout, statement_timeout: statementTimeout },
    ...(onNotice ? { onNotice: (n: { severity?: string; message: string }) => onNotice({ severity: n.severity ?? 'NOTICE', message: n.message }) } : {}),
  });
}

async function historyExists(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ ok: boolean }[]>`select to_regclass('rowguard.migrations') is not null as ok`;
  return !!row?.ok;
}

export async function readHistory(sql: Sql): Promise<HistoryRow[]> {
  if (!(await historyExists(sql))) return [];
  const rows = await sql<Array<{ version: string; name: string; checksum: string; status: string; applied_at: Date; applied_by: string; duration_ms: number | null; error: HistoryRow['error'] }>>`
    select version, name, checksum, status, applied_at, applied_by, duration_ms, error
    from rowguard.migrations order by length(version), version`;
  return rows.map((r) => ({
    version: r.version,
    name: r.name,
    checksum: r.checksum,
    status: r.status as HistoryRow['status'],
    appliedAt: r.applied_at.toISOString(),
    appliedBy: r.applied_by,
    durationMs: r.duration_ms,
    error: r.error,
  }));
}

async function withEngineSession<T>(opts: EngineOptions, fn: (sql: Sql) => Promise<T>, onNotice?: (n: ServerNotice) => void): Promise<T> {
  const sql = session(opts.url, opts.lockTimeout, opts.statementTimeout, onNotice);
  try {
    try {
      await firstContact(sql, opts.url);
    } catch (err) {
      if (err instanceof RowguardError) throw err;
      if (isConnectionError(err)) throw connectionError(opts.url, err);
      const pg = pgFieldsOf(err);
      // 22023 invalid_parameter_value: a bad lock_timeout/statement_timeout from the config.
      if (pg?.sqlstate === '22023' || pg?.sqlstate === '22P02') {
        throw new RowguardError('config', `migrations.lockTimeout/statementTimeout: ${pg.message}`, { pg });
      }
      throw err;
    }
    return await fn(sql);
  } catch (err) {
    if (!(err instanceof RowguardError) && sessionEnded(err)) throw lostConnectionError(opts.url, err);
    throw err;
  } finally {
    await closeSql(sql);
  }
}

/** Files vs history, without writing anything (migrate status / verify). */
export async function inspect(opts: EngineOptions, planOpts: PlanOptions = {}): Promise<{ plan: MigrationPlan; files: MigrationFile[] }> {
  const files = readMigrations(opts.dir, opts.displayRoot);
  return withEngineSession(opts, async (sql) => {
    const history = await readHistory(sql);
    return { plan: planMigrations(files, history, planOpts), files };
  });
}

async function acquireLock(sql: Sql, opts: EngineOptions): Promise<void> {
  const deadline = (opts.now ?? Date.now)() + (opts.lockWaitSeconds ?? 600) * 1000;
  let delay = 50;
  let holder: { pid: number; client: string; since: Date } | undefined;
  let told = false;
  for (;;) {
    const [row] = await sql<{ ok: boolean }[]>`select pg_try_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint) as ok`;
    if (row?.ok) return;
    if (!told) {
      // Advisory locks on one bigint key show as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
      [holder] = await sql<{ pid: number; client: string; since: Date }[]>`
        select l.pid, coalesce(host(a.client_addr), 'a local socket') as client, a.backend_start as since
        from pg_locks l left join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_database where datname = current_database())
          and l.classid = ${Number(MIGRATION_LOCK_KEY >> 32n)} and l.objid = ${Number(MIGRATION_LOCK_KEY & 0xffffffffn)} and l.objsubid = 1
        limit 1`;
      opts.onProgress?.({ kind: 'waiting-for-lock', holderPid: holder?.pid ?? null });
      told = true;
    }
    if ((opts.now ?? Date.now)() > deadline) {
      const who = holder ? ` (server pid ${holder.pid}, from ${holder.client}, connected ${holder.since ? holder.since.toISOString().replace(/\.\d+Z$/, 'Z') : 'earlier'})` : '';
      throw new RowguardError('lock_timeout', `another migration runner${who} held the lock for more than ${opts.lockWaitSeconds ?? 600}s: nothing was applied`, {
        hint: holder ? `it may still be applying a migration: select * from pg_stat_activity where pid = ${holder.pid}; or wait longer with --lock-wait` : 'see pg_stat_activity for application_name = rowguard; or wait longer with --lock-wait',
        meta: holder ? { holderPid: holder.pid } : {},
      });
    }
    if (opts.signal?.aborted) throw new RowguardError('lock_timeout', 'interrupted while waiting for another migration runner: nothing was applied');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
}

async function releaseLock(sql: Sql): Promise<void> {
  await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.catch(() => undefined);
}

/**
 * Run `fn` holding the runners' lock on `opts.url`, on a session of its own. `policy apply`
 * takes it for its whole read–plan–apply: two applies at once, or one beside a `migrate up`,
 * would otherwise both plan against the same state and the later one run its stale plan
 * (failing on what the first created, or undoing a change it never saw).
 */
export async function withMigrationLock<T>(opts: Pick<EngineOptions, 'url' | 'lockTimeout' | 'statementTimeout' | 'lockWaitSeconds' | 'signal' | 'onProgress' | 'now'>, fn: () => Promise<T>): Promise<T> {
  return withEngineSession({ ...opts, dir: '', displayRoot: '' }, async (sql) => {
    await acquireLock(sql, { ...opts, dir: '', displayRoot: '' });
    try {
      return await fn();
    } finally {
      await releaseLock(sql);
    }
  });
}

function appliedBy(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export async function up(opts: EngineOptions, planOpts: PlanOptions & { dryRun?: boolean } = {}): Promise<UpResult> {
  const files = readMigrations(opts.dir, opts.displayRoot);
  // The notices of the file running now; none is expected between files (the history table's
  // `if not exists` ones come before the first), and such a one is not a migration's to report.
  let running: { file: MigrationFile; notices: ServerNotice[] } | undefined;
  const onNotice = (n: ServerNotice) => {
    if (!running) return;
    running.notices.push(n);
    opts.onNotice?.({ ...n, version: running.file.version, file: running.file.displayPath });
  };
  return withEngineSession(opts, async (sql) => {
    await acquireLock(sql, opts);
    try {
      const plan = planMigrations(files, await readHistory(sql), planOpts);
      if (plan.problems.length) throw combine(plan.problems);
      const wouldApply = plan.pending.map((f) => ({ version: f.version, name: f.name, file: f.displayPath, noTransaction: f.noTransaction }));
      if (planOpts.dryRun || plan.pending.length === 0) {
        return { applied: [], wouldApply, dryRun: !!planOpts.dryRun, upToDate: plan.pending.length === 0, warnings: plan.warnings };
      }
      await sql.unsafe(HISTORY_DDL).simple();
      const applied: AppliedMigration[] = [];
      const by = appliedBy();
      let reapply = false;
      for (const [i, file] of plan.pending.entries()) {
        if (opts.signal?.aborted) {
          throw new RowguardError('migration_failed', `interrupted before ${file.displayPath}: ${applied.length} migration${applied.length === 1 ? '' : 's'} applied, ${plan.pending.length - i} not`, {
            hint: 'run migrate up again to apply the rest',
            meta: { applied: applied.map((m) => m.version) },
          });
        }
        opts.onProgress?.({ kind: 'applying', file, index: i, total: plan.pending.length });
        const t0 = performance.now();
        reapply ||= ALTERS_DEFAULTS.test(file.sql);
        const { notices } = (running = { file, notices: [] });
        try {
          if (file.noTransaction) await applyOutsideTransaction(sql, opts, file, by, reapply);
          else await applyInTransaction(sql, opts, file, by, reapply);
        } finally {
          running = undefined;
        }
        const durationMs = Math.round(performance.now() - t0);
        applied.push({
          version: file.version,
          name: file.name,
          file: file.displayPath,
          durationMs,
          noTransaction: file.noTransaction,
          ...(hasNoStatement(file.sql) ? { empty: true as const } : {}),
          ...(notices.length ? { notices } : {}),
        });
        opts.onProgress?.({ kind: 'applied', file, durationMs, index: i, total: plan.pending.length });
      }
      return { applied, wouldApply, dryRun: false, upToDate: false, warnings: plan.warnings };
    } finally {
      await releaseLock(sql);
    }
  }, onNotice);
}

function combine(problems: RowguardError[]): RowguardError {
  const first = problems[0]!;
  if (problems.length === 1) return first;
  return new RowguardError(first.code, `${first.message} (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`, {
    hint: first.hint,
    detail: problems.slice(1).map((p) => p.message).join('\n'),
    meta: { problems: problems.map((p) => p.toJSON()) },
  });
}

/**
 * What a file changed in the session, undone before its history row is written and
 * the next file runs, as psql -1 -f per file starts each file in a fresh session: a
 * SET search_path or SET ROLE must neither reach the next migration nor stop the
 * history write (`SET SESSION AUTHORIZATION DEFAULT` is allowed to any user). RESET ALL
 * returns lock_timeout/statement_timeout to the values the session started with.
 */
const SESSION_RESET = 'set session authorization default; reset role; reset all;';

/**
 * A file that may change the settings a new session starts with (`alter database … set search_path`,
 * `alter role … set`): psql's next file, in a new session, starts with them; RESET ALL returns to
 * those the connection started with.
 */
const ALTERS_DEFAULTS = /\balter\s+(database|role|user)\b/i;
/**
 * After RESET ALL, the database's and the login role's settings as they are now (pg_db_role_setting,
 * in the server's order: database and role, role, database, every role), for the parameters the
 * connection itself did not set and the session may set.
 */
const DEFAULTS_REAPPLY = `select set_config(d.name, d.value, false) from (
  select distinct on (split_part(c, '=', 1)) split_part(c, '=', 1) as name, substr(c, strpos(c, '=') + 1) as value
  from pg_catalog.pg_db_role_setting s cross join unnest(s.setconfig) c
  where s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
    and s.setrole in (0, (select oid from pg_catalog.pg_roles where rolname = session_user))
  order by split_part(c, '=', 1), (s.setdatabase <> 0 and s.setrole <> 0) desc, s.setrole <> 0 desc, s.setdatabase <> 0 desc
) d left join pg_catalog.pg_settings p on p.name = d.name
where coalesce(p.source, 'default') not in ('client', 'override', 'command line', 'environment variable')
  and (coalesce(p.context, 'user') = 'user' or (p.context = 'superuser' and (select rolsuper from pg_catalog.pg_roles where rolname = current_user)));`;

/** SESSION_RESET, and DEFAULTS_REAPPLY once a file of the run may have changed them. */
const sessionReset = (reapply: boolean) => (reapply ? `${SESSION_RESET}\n${DEFAULTS_REAPPLY}` : SESSION_RESET);
/** Outside any transaction: temp tables, cached sequence values, prepared statements, LISTENs, cursors. */
const SESSION_CLEANUP = 'discard temp; discard sequences; deallocate all; unlisten *; close all;';

/**
 * A COPY … FROM STDIN is refused before any of the file runs: its rows follow it in the file for
 * psql to send, and the server, handed the file as SQL, would call the first row a syntax error.
 */
function refuseCopyFromStdin(file: MigrationFile): void {
  const at = copyFromStdinOffset(file.sql, file.displayPath);
  if (at === null) return;
  throw new RowguardError('migration_invalid_file', 'COPY … FROM STDIN in a migration: psql sends the lines after it as its rows, rowguard sends the file to the server as SQL', {
    location: locateCharPosition(file.sql, Array.from(file.sql.slice(0, at)).length + 1, file.displayPath),
    hint: 'write the rows as INSERT … VALUES (pg_dump --inserts writes them so), or load them with psql outside the migrations',
    meta: { version: file.version, file: file.displayPath },
  });
}

async function applyInTransaction(sql: Sql, opts: EngineOptions, file: MigrationFile, by: string, reapply: boolean): Promise<void> {
  refuseCopyFromStdin(file);
  // A COMMIT or ROLLBACK would end our transaction midway: what ran before it would stay without a
  // history row. A cheap scan first; the parser (60 ms to load) confirms it is a top-level statement.
  const control = await transactionControlStatements(file.sql);
  if (control.length) {
    const loc = locateCharPosition(file.sql, control[0]!.startChars + 1, file.displayPath);
    throw new RowguardError('migration_invalid_file', `${control[0]!.text.split('\n')[0]!.trim()} inside a migration: rowguard runs each migration in its own transaction`, {
      location: loc,
      hint: 'remove the transaction statements, or put -- rowguard:no-transaction on the first line',
    });
  }
  // One round trip: the migration and its history row in one explicit transaction,
  // sent as one simple query. The separators survive a file without a final ';'
  // or ending in a line comment. duration_ms = time since the transaction began.
  const prefix = 'begin;\n';
  const text =
    prefix +
    file.sql +
    '\n;\n' +
    sessionReset(reapply) +
    '\ninsert into rowguard.migrations (version, name, checksum, status, applied_by, duration_ms) values (' +
    [quoteLiteral(file.version), quoteLiteral(file.name), quoteLiteral(file.checksum), "'applied'", quoteLiteral(by)].join(', ') +
    ", (extract(epoch from clock_timestamp() - now()) * 1000)::int);\ncommit;\n" +
    SESSION_CLEANUP;
  const t0 = performance.now();
  try {
    await cancellable(sql.unsafe(text).simple(), opts.signal);
  } catch (err) {
    const ranMs = performance.now() - t0;
    // The explicit BEGIN left the session in an aborted transaction block.
    await sql.unsafe('rollback').simple().catch(() => undefined);
    if (opts.signal?.aborted && pgFieldsOf(err)?.sqlstate === '57014') {
      throw new RowguardError('migration_failed', `interrupted while applying ${file.displayPath}: its transaction was rolled back, so nothing of it was applied`, {
        hint: 'the migrations before it stay applied: run migrate up again to apply the rest',
        meta: { version: file.version, file: file.displayPath },
      });
    }
    if (sessionEnded(err)) {
      throw connectionLost(opts.url, err, file.displayPath, {
        hint: 'a migration commits with its history row or not at all: rowguard migrate status says whether it was applied; then run migrate up again',
        meta: { version: file.version, file: file.displayPath },
      });
    }
    const pg = pgFieldsOf(err);
    if (!pg) throw err;
    if (pg.sqlstate === '42601') {
      // The file travelled between our BEGIN and history INSERT: an unterminated string
      // or a statement cut short runs on into them, and the server's message and position
      // name our text. Nothing ran (a message is parsed whole first): say it from the file alone.
      const own = await splitStatements(file.sql);
      if (isParseFailure(own)) {
        throw await migrationError(sql, file, { ...pg, message: own.message, position: own.position }, err, own.position ? 0 : undefined);
      }
    }
    throw await migrationError(sql, file, pg, err, pg.position ? -Array.from(prefix).length : undefined, undefined, ranMs);
  }
}

/**
 * Locating a run-time error runs the file again up to it (see findFailingStatement):
 * not when the failed run took longer than this, as it would take as long again and
 * hold the same locks, in production.
 */
const RERUN_LIMIT_MS = 2000;

/** A file of one statement: where it starts, the only place a run-time error can be (no run needed); else undefined. */
async function onlyStatement(file: MigrationFile): Promise<SqlLocation | undefined> {
  const stmts = await splitStatements(file.sql);
  return !isParseFailure(stmts) && stmts.length === 1 ? locateCharPosition(file.sql, stmts[0]!.startChars + 1, file.displayPath) : undefined;
}

async function migrationError(sql: Sql, file: MigrationFile, pgIn: PgErrorFields, cause: unknown, statementOffsetChars?: number, statement?: SplitStatement, ranMs?: number): Promise<RowguardError> {
  const pg = pgIn.message ? { ...pgIn, message: nearTokenOneLine(pgIn.message) } : pgIn;
  let location: SqlLocation | undefined;
  if (pg.position) location = locateCharPosition(file.sql, pg.position, file.displayPath, statementOffsetChars ?? 0);
  else if (statement) location = locateInDoBody(file, statement, pg) ?? locateCharPosition(file.sql, statement.startChars + 1, file.displayPath);
  else if (statementOffsetChars !== undefined) location = locateCharPosition(file.sql, statementOffsetChars + 1, file.displayPath);
  else if (ranMs !== undefined && ranMs > RERUN_LIMIT_MS) location = await onlyStatement(file);
  else location = await findFailingStatement(sql, file, pg.sqlstate);
  const unlocated =
    !location && ranMs !== undefined && ranMs > RERUN_LIMIT_MS
      ? `the statement is not located: the file ran ${(ranMs / 1000).toFixed(1)} s before it failed, and finding it would run that again (psql -1 -f names its line)`
      : undefined;
  const meta = pg.sqlstate === '42601' && location?.source !== undefined ? /^\\([A-Za-z!?.]*)/.exec(Array.from(location.source).slice(location.column - 1).join('')) : null;
  if (meta) {
    // A psql meta-command: psql would have run it itself; the server only sees a backslash.
    const cmd = meta[1]!;
    const hint = /^(i|ir|include|include_relative)$/.test(cmd)
      ? 'put the included statements in the migration itself (or in a migration of their own)'
      : /^(c|connect)$/.test(cmd)
        ? 'a migration runs on the one database migrate up is pointed at: migrate each database with its own --db (or --targets)'
        : /^(set|unset|gset)$/.test(cmd)
          ? 'psql variables do not exist here: write the values into the SQL'
          : 'remove it: only SQL runs in a migration';
    return new RowguardError('migration_invalid_file', `psql meta-command \\${cmd} in a migration: rowguard sends the file to the server as SQL, and only psql understands it`, {
      location,
      hint,
      meta: { version: file.version, file: file.displayPath },
      cause,
    });
  }
  const lockHint = pg.sqlstate === '55P03' ? 'the migration waited longer than lock_timeout for a lock: retry when the blocking transaction ends (see pg_stat_activity), or raise migrations.lockTimeout' : undefined;
  const timeoutHint = pg.sqlstate === '57014' ? 'the statement ran longer than migrations.statementTimeout' : undefined;
  // CREATE INDEX CONCURRENTLY, VACUUM, ALTER TYPE … ADD VALUE (before PG12), ALTER SYSTEM…
  const txHint = pg.sqlstate === '25001' ? 'this statement cannot run in a transaction: put -- rowguard:no-transaction on the first line of the file (it then runs statement by statement, outside a transaction)' : undefined;
  // A procedure (CALL) or DO block that COMMITs or ROLLBACKs: the server allows it only outside a
  // transaction block, as psql runs a file without -1. Only for a file run in one transaction (a
  // no-transaction file gives its own hint).
  const terminationHint =
    pg.sqlstate === '2D000' && !file.noTransaction
      ? 'a procedure run by CALL, or a DO block, can COMMIT or ROLLBACK only outside a transaction: put -- rowguard:no-transaction on the first line of the file (a function never can)'
      : undefined;
  // ALTER TYPE … ADD VALUE and a use of the new value in one transaction.
  const enumHint = pg.sqlstate === '55P04' ? 'new enum values must be committed before they are used: move the ALTER TYPE … ADD VALUE into an earlier migration of its own (each migration commits before the next runs)' : undefined;
  return new RowguardError('migration_failed', location ? (pg.message ?? 'failed') : `${file.displayPath}: ${pg.message ?? 'failed'}`, {
    location,
    pg,
    hint: lockHint ?? timeoutHint ?? txHint ?? terminationHint ?? enumHint ?? pg.hint,
    detail: [pg.detail, unlocated].filter(Boolean).join('\n') || undefined,
    meta: { version: file.version, file: file.displayPath },
    cause,
  });
}

/**
 * The server gives no position for run-time errors (a unique violation, a
 * RAISE). Find the statement by re-running the file statement by statement in
 * a transaction that is always rolled back.
 */
async function findFailingStatement(sql: Sql, file: MigrationFile, sqlstate?: string): Promise<SqlLocation | undefined> {
  if (file.noTransaction) return undefined;
  const split = await splitStatements(file.sql);
  if (isParseFailure(split)) return split.position ? locateCharPosition(file.sql, split.position, file.displayPath) : undefined;
  let found: SqlLocation | undefined;
  await sql
    .begin(async (tx) => {
      for (const st of split) {
        try {
          await tx.unsafe(st.text).simple();
        } catch (err) {
          const pg = pgFieldsOf(err);
          if (!sqlstate || pg?.sqlstate === sqlstate) {
            found = pg?.position
              ? locateCharPosition(file.sql, pg.position, file.displayPath, st.startChars)
              : ((pg && locateInDoBody(file, st, pg)) ?? locateCharPosition(file.sql, st.startChars + 1, file.displayPath));
          }
          break;
        }
      }
      throw new Error('rollback');
    })
    .catch(() => undefined);
  return found;
}

/**
 * An error raised while the DO statement `st` ran: PL/pgSQL names the line of its
 * body (`PL/pgSQL function inline_code_block line N at …`, the outermost frame of
 * the context); when that frame alone is in the context, the server's internal
 * query is the body's own text, so its internal position gives the column too.
 */
function locateInDoBody(file: MigrationFile, st: SplitStatement, pg: PgErrorFields): SqlLocation | undefined {
  if (st.kind !== 'DoStmt' || !pg.where) return undefined;
  const frames = pg.where.split('\n');
  const m = /^PL\/pgSQL function inline_code_block line (\d+) at /.exec(frames[frames.length - 1]!);
  const body = m ? doBodyOffset(st.text) : undefined;
  if (!m || body === undefined) return undefined;
  const chars = Array.from(file.sql);
  let idx = st.startChars + Array.from(st.text.slice(0, body)).length;
  for (let n = Number(m[1]); n > 1 && idx < chars.length; n--) {
    while (idx < chars.length && chars[idx] !== '\n') idx++;
    idx++;
  }
  if (idx >= chars.length) return undefined;
  const end = st.startChars + Array.from(st.text).length;
  if (frames.length === 1 && pg.internalQuery && pg.internalPosition) {
    const rest = chars.slice(idx, end).join('');
    const k = rest.indexOf(pg.internalQuery);
    if (k >= 0 && !rest.slice(0, k).includes('\n')) {
      return locateCharPosition(file.sql, idx + Array.from(rest.slice(0, k)).length + pg.internalPosition, file.displayPath);
    }
  }
  while (idx < end && (chars[idx] === ' ' || chars[idx] === '\t')) idx++;
  return locateCharPosition(file.sql, idx + 1, file.displayPath);
}

async function applyOutsideTransaction(sql: Sql, opts: EngineOptions, file: MigrationFile, by: string, reapply: boolean): Promise<void> {
  refuseCopyFromStdin(file);
  const split = await splitStatements(file.sql);
  if (isParseFailure(split)) {
    // Let the server say it, with its position, without running anything: a simple query
    // is parsed whole before its first statement runs, and that first statement raises.
    const probe = "do $rowguard$ begin raise exception 'rowguard: parse only' using errcode = 'P0001'; end $rowguard$;\n";
    let serverAccepts = false;
    try {
      await sql.unsafe(probe + file.sql).simple();
    } catch (err) {
      const pg = pgFieldsOf(err);
      if (!pg) throw err;
      serverAccepts = pg.sqlstate === 'P0001' && pg.message === 'rowguard: parse only';
      if (!serverAccepts) throw await migrationError(sql, file, pg, err, pg.position ? -Array.from(probe).length : undefined);
    }
    // The server parses the file but rowguard's parser (the Postgres 18 grammar, standard_conforming_strings
    // on) does not, so it cannot be split into statements to run one by one. Nothing ran.
    const [scs] = await sql<{ v: string }[]>`select current_setting('standard_conforming_strings') as v`;
    throw new RowguardError('migration_invalid_file', `${split.message} (rowguard cannot split this no-transaction migration into statements, though the server accepts it)`, {
      location: split.position ? locateCharPosition(file.sql, split.position, file.displayPath) : undefined,
      hint:
        scs?.v === 'off'
          ? "standard_conforming_strings is off on this database, so a backslash in '…' is an escape: write E'…' strings, or turn it on"
          : 'move the statement rowguard cannot read into a transactional migration (no -- rowguard:no-transaction line)',
      meta: { version: file.version, file: file.displayPath },
    });
  }
  // A BEGIN never committed: the session's end would roll back the statements after it, once the
  // history said "applied". Refused before anything runs, as COMMIT in a transactional file is.
  const unclosed = await unclosedTransactionBlock(split);
  if (unclosed) {
    throw new RowguardError('migration_invalid_file', `${unclosed.text.split('\n')[0]!.trim()} opens a transaction block that the file never commits: what runs after it would be rolled back when the session ends`, {
      location: locateCharPosition(file.sql, unclosed.startChars + 1, file.displayPath),
      hint: 'end the block with commit;',
      meta: { version: file.version, file: file.displayPath },
    });
  }
  const t0 = performance.now();
  await sql`insert into rowguard.migrations (version, name, checksum, status, applied_by)
            values (${file.version}, ${file.name}, ${file.checksum}, 'running', ${by})
            on conflict (version) do update set status = 'running', checksum = excluded.checksum, applied_at = now(), applied_by = excluded.applied_by, error = null`;
  for (const [i, st] of split.entries()) {
    try {
      await cancellable(sql.unsafe(st.text).simple(), opts.signal);
    } catch (err) {
      if (sessionEnded(err)) {
        throw connectionLost(opts.url, err, `${file.displayPath} (statement ${i + 1} of ${split.length}, outside a transaction)`, {
          hint: `${i === 0 ? '' : i === 1 ? 'statement 1 stays applied and ' : `statements 1–${i} stay applied and `}the migration is recorded as running: see what statement ${i + 1} left, then rowguard migrate resolve ${file.version} --applied|--rolled-back`,
          meta: { version: file.version, file: file.displayPath, statementIndex: i + 1 },
        });
      }
      const pg = pgFieldsOf(err);
      if (!pg) throw err;
      const interrupted = opts.signal?.aborted && pg.sqlstate === '57014';
      const e = await migrationError(sql, file, interrupted ? { ...pg, message: 'interrupted: the statement was cancelled' } : pg, err, st.startChars, st);
      // Did the failure happen inside a transaction block the file opened (BEGIN … COMMIT in a
      // no-transaction file)? Then the block's earlier statements roll back with it.
      const inBlock = await sql
        .unsafe('select 1')
        .simple()
        .then(
          () => false,
          (probe: unknown) => pgFieldsOf(probe)?.sqlstate === '25P02',
        );
      // Out of a transaction block the file may have opened (psql would end it with the session),
      // and back to our own role and settings, so that the history can be written.
      await sql.unsafe(`rollback; ${SESSION_RESET} ${SESSION_CLEANUP}`).simple().catch(() => undefined);
      const invalid = await invalidIndexes(sql);
      const record = {
        message: pg.message ?? 'failed',
        sqlstate: pg.sqlstate,
        statement: st.text.slice(0, 2000),
        statementIndex: i + 1,
        location: e.location ? `${e.location.file}:${e.location.line}:${e.location.column}` : undefined,
        invalidIndexes: invalid,
      };
      await sql`update rowguard.migrations set status = 'failed', error = ${sql.json(record)}, duration_ms = ${Math.round(performance.now() - t0)} where version = ${file.version}`;
      const kept = inBlock
        ? `inside a transaction block the file opened: that block rolled back, statements before its BEGIN stay applied`
        : 'outside a transaction: the statements before it stay applied';
      throw new RowguardError('migration_failed', `${e.message} (statement ${i + 1} of ${split.length}, ${kept})`, {
        location: e.location,
        pg: e.pg,
        // Postgres's own detail (which key is duplicated) says what to fix; the indexes what to clean up.
        detail: invalid.length ? `${e.detail ? `${e.detail} ` : ''}invalid indexes left behind: ${invalid.join(', ')} (drop them before retrying)` : e.detail,
        hint: `fix the cause, undo or finish the statements by hand, then: rowguard migrate resolve ${file.version} --applied|--rolled-back`,
        meta: { ...e.meta, invalidIndexes: invalid },
      });
    }
  }
  await sql.unsafe(`${sessionReset(reapply)} ${SESSION_CLEANUP}`).simple();
  await sql`update rowguard.migrations set status = 'applied', duration_ms = ${Math.round(performance.now() - t0)}, error = null where version = ${file.version}`;
}

/** A query that is cancelled on the server when `signal` aborts. */
async function cancellable<T>(query: PromiseLike<T> & { cancel(): unknown }, signal?: AbortSignal): Promise<T> {
  if (!signal) return await query;
  const onAbort = () => void query.cancel();
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await query;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function connectionLost(url: string, err: unknown, while_: string, options: { hint: string; meta: Record<string, unknown> }): RowguardError {
  return new RowguardError('db_unreachable', `lost the connection to ${describeUrl(url)} while applying ${while_}: ${endedReason(url, err)}`, { ...options, pg: pgFieldsOf(err), cause: err });
}

/** Indexes left invalid by a failed CREATE INDEX CONCURRENTLY. */
export async function invalidIndexes(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select format('%I.%I', n.nspname, c.relname) as name
    from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
    where not i.indisvalid and n.nspname not in ('pg_catalog', 'information_schema')
    order by 1`;
  return rows.map((r) => r.name);
}

/** `migrate resolve <version> --applied|--rolled-back`: settle a failed no-transaction migration. */
export async function resolve(opts: EngineOptions, version: string, outcome: 'applied' | 'rolled-back'): Promise<{ version: string; outcome: string }> {
  const files = readMigrations(opts.dir, opts.displayRoot);
  return withEngineSession(opts, async (sql) => {
    await acquireLock(sql, opts);
    try {
      const history = await readHistory(sql);
      const row = history.find((h) => BigInt(h.version) === BigInt(version));
      if (!row || row.status === 'applied') {
        throw new RowguardError('usage', `migration ${version} is not in a failed state${row ? ' (it is applied)' : ''}`, { hint: 'rowguard migrate status lists failed migrations' });
      }
      if (outcome === 'rolled-back') {
        await sql`delete from rowguard.migrations where version = ${row.version}`;
      } else {
        const file = files.find((f) => BigInt(f.version) === BigInt(version));
        if (!file) throw new RowguardError('migration_missing', `no file for migration ${version}: cannot mark it applied`);
        await sql`update rowguard.migrations set status = 'applied', checksum = ${file.checksum}, error = null where version = ${row.version}`;
      }
      return { version: row.version, outcome };
    } finally {
      await releaseLock(sql);
    }
  });
}
