/**
 * Running one test file the way `pg_prove` (psql -X -A -t -q -v ON_ERROR_STOP=1)
 * would, on one connection, with one difference that makes files safe to run
 * side by side: nothing a file does is committed, unless the runner asks for
 * what psql would have committed (`commit`, for a file that may commit
 * something the files after it see; see firstCommitted).
 *
 * Transactions: the file runs inside a transaction of ours that is rolled
 * back (with `commit`, committed at the end, less the block the file left
 * open). The file's own transaction control is mapped onto it:
 *  - its first BEGIN, when nothing ran before it, opens our transaction
 *    (with the file's isolation level and access mode);
 *  - a later BEGIN becomes a savepoint, its ROLLBACK a rollback to that
 *    savepoint, its COMMIT a release, so the file sees what psql would show;
 *  - a COMMIT never commits; PREPARE TRANSACTION is refused.
 * Cluster-wide objects (CREATE ROLE) are transactional too, so a file
 * leaves nothing behind even on a shared server.
 *
 * Output: every row any statement returns becomes a line (columns joined with
 * '|', NULL as ''), as psql prints with --no-align --tuples-only; the TAP
 * parser reads the lines. An error stops the file (ON_ERROR_STOP, which
 * pg_prove sets) unless the file turned ON_ERROR_STOP off, in which case
 * statements outside the file's own transaction blocks run in savepoints so
 * that one failure does not abort the rest, as in psql's autocommit mode.
 */
import { readFileSync } from 'node:fs';
import { closeSql, connect, copyIn, copyOut, endedReason, quoteIdent } from '../db.js';
import { isRowguardError, pgFieldsOf, type PgErrorFields, type SqlLocation } from '../errors.js';
import { decodeUtf8 } from '../migrate/files.js';
import { isParseFailure, loadParser, splitStatements } from '../sql-text.js';
import { echoText, expandScript, lineColumn, parsePsqlBool, PSQL_START_VARIABLES, psqlIdentifier, psqlLiteral, sourceOf, unrecognizedCondition, type BranchArm, type ExpandedScript } from './psql-script.js';
import { isFailure, parseTap, type TapParse, type TapTest } from './tap.js';
import { firstStatement, IMPERSONATED, leavesNothing, libraryCallSites, searchPathChange, settingChanges, standInExtension, standInInstall, SUPABASE_PGTAP_SCHEMA } from './pgtap-stand-in.js';

export interface TestFile {
  /** Absolute path. */
  path: string;
  /** Path as shown to the user (relative to the project root). */
  display: string;
}

export interface FileError {
  message: string;
  location?: SqlLocation;
  pg?: PgErrorFields;
  hint?: string;
}

export interface TestOutcome extends TapTest {
  /** Where the statement that printed this test is. */
  location?: SqlLocation;
  failed: boolean;
}

export type FileStatus = 'passed' | 'failed' | 'errored' | 'skipped';

export interface FileResult {
  file: string;
  status: FileStatus;
  /** Planned count, or null without a plan. */
  planned: number | null;
  skipReason?: string;
  tests: TestOutcome[];
  /** Diagnostics printed before the first test. */
  preamble: string[];
  /** Plan problems (wrong count, no plan, out of sequence). */
  problems: string[];
  error?: FileError;
  /** Everything the file printed, as psql would (the raw TAP stream). */
  output: string[];
  /** NOTICE/WARNING messages and \warn lines (psql's stderr). */
  messages: string[];
  /** Things the runner changed about the file's behaviour (e.g. ignored BEGIN options). */
  warnings: string[];
  /**
   * Where psql may first commit something of the file (outside its BEGIN …
   * ROLLBACK): it ran on the run's own copy with that kept, and the files
   * after it start from there, as under pg_prove. Absent for other files.
   */
  kept?: SqlLocation;
  /** Run to keep what it commits (RunFileOptions.commit), why nothing was kept after all. */
  notKept?: string;
  /** Its session ended under it (the server stopped, or the run's database was dropped): the runner decides what that means. */
  connectionLost?: true;
  durationMs: number;
}

export interface RunFileOptions {
  /** URL of the database the file runs in. */
  url: string;
  file: TestFile;
  /** psql's working directory (\i resolves against it). */
  cwd: string;
  /** Root for displayed paths of included files (default: cwd). */
  displayRoot?: string;
  /** Settings applied once per session before the file (set_config(k, v, false)). */
  settings: Record<string, string>;
  /** Schema appended to the session's search_path (where the assertion library lives). */
  librarySchema: string;
  readFile?: (path: string) => string;
  /**
   * SQL run on the same connection after the final ROLLBACK to undo what a
   * rollback cannot (sequence values), so the database can serve the next file.
   */
  reset?: { text: string; params: unknown[] };
  /** Told whether the reset ran, i.e. whether the database is as the file found it. */
  onReset?: (clean: boolean) => void;
  /**
   * A setup file (`rowguard test --setup`): what it leaves outside its own
   * BEGIN … ROLLBACK is committed at the end, as psql would have committed it,
   * when the file ran without an error. Only ever used on the run's own copy.
   */
  commit?: boolean;
}

interface Statement {
  text: string;
  /** The parse tree's statement node type (e.g. VariableSetStmt); undefined when the statement does not parse. */
  kind?: string;
  /** UTF-16 offsets in the expanded script. */
  start: number;
  end: number;
}

type TxKind = 'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollback_to' | 'prepare' | 'commit_prepared' | 'rollback_prepared';
interface TxStatement {
  kind: TxKind;
  chain: boolean;
  /** The BEGIN's options as SQL (for SET TRANSACTION), '' without any. */
  options: string;
}

const TX_PREFIX = /^\s*(?:(?:--[^\n]*\n)|(?:\/\*[\s\S]*?\*\/)|\s)*(begin|start|commit|end|rollback|abort|savepoint|release|prepare)\b/i;
const FILE_SAVEPOINT = 'rowguard_file_tx';
const STMT_SAVEPOINT = 'rowguard_stmt';
const GROUP_SAVEPOINT = 'rowguard_group';
/**
 * Statements that may run a function of the schema's (or a trigger, a procedure, a DO block), which
 * may change search_path in its body: after them the runner makes sure the library is still on it.
 */
const RUNS_CODE = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'CallStmt', 'DoStmt', 'ExecuteStmt', 'CopyStmt', 'CreateTableAsStmt', 'RefreshMatViewStmt']);

/** Where the library records the search_path it appended itself to (00-core.sql). */
const APPENDED_PATH = 'rowguard_tap.appended_search_path';
/** Calls that may set a setting (see settingChanges): only SET/RESET and statements naming one are parsed for it. */
const SETTING_CHANGE_HINT = /set_config|authenticate_as|clear_authentication|_impersonate/i;

/** Code-point offset (what the parser and the server count) → UTF-16 offset in `text`. */
export function codePointToUtf16(text: string, cp: number): number {
  if (!/[\uD800-\uDFFF]/.test(text)) return cp;
  let i = 0;
  for (let k = 0; k < cp && i < text.length; k++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
  }
  return i;
}

export function locate(script: ExpandedScript, outOffset: number): SqlLocation {
  const { file, offset } = sourceOf(script, outOffset);
  const text = script.sources.get(file) ?? '';
  const lc = lineColumn(text, offset);
  return { file, line: lc.line, column: lc.column, source: lc.source };
}

/**
 * Split with the real parser; if the file does not parse, fall back to psql's
 * own split at top-level `;`, each statement then read on its own: one bad
 * statement must not hide what the others are (a CREATE EXTENSION pgtap above a
 * typo must still be stood in for, as the statements before the typo run).
 */
async function statementsOf(script: ExpandedScript): Promise<Statement[]> {
  // The runner reads every file before running it (firstCommitted): the second read is the first's.
  let found = readStatements.get(script.sql);
  if (!found) {
    found = splitScript(script);
    readStatements.set(script.sql, found);
    if (readStatements.size > 512) readStatements.delete(readStatements.keys().next().value!);
  }
  return found;
}

/** Scripts' statements by the script's text, most recent last. */
const readStatements = new Map<string, Promise<Statement[]>>();

async function splitScript(script: ExpandedScript): Promise<Statement[]> {
  const sql = script.sql;
  const split = await splitStatements(sql);
  if (!isParseFailure(split)) {
    return split.map((s) => {
      const start = codePointToUtf16(sql, s.startChars);
      return { text: s.text, kind: s.kind, start, end: start + s.text.length };
    });
  }
  // The server will report the syntax error, with its position, when the bad statement runs.
  const out: Statement[] = [];
  let prev = 0;
  // psql's statement ends, and the `;` of `\;` (each statement of such a group runs on its own: runQuery).
  for (const end of [...script.terminators, ...script.joins.map((j) => j + 1), sql.length].sort((a, b) => a - b)) {
    const piece = sql.slice(prev, end);
    const lead = piece.length - piece.trimStart().length;
    const text = piece.trim().replace(/;$/, '');
    if (stripComments(text).trim() !== '') {
      const alone = await splitStatements(text);
      const kind = !isParseFailure(alone) && alone.length === 1 ? alone[0]!.kind : undefined;
      out.push({ text, ...(kind ? { kind } : {}), start: prev + lead, end });
    }
    prev = end;
  }
  return out;
}

interface RunnableStatement extends Statement {
  /** Offset in `text` → offset in the statement as the lexer produced it. */
  toOriginal(offset: number): number;
}

/**
 * Put the values \gset has set since into the statement's deferred `:var`
 * references (an error inside a substituted value points at the reference).
 */
function substituteDeferred(st: Statement, script: ExpandedScript, vars: Map<string, string>): RunnableStatement {
  const ranges = script.deferred
    .filter((r) => r.start >= st.start && r.end <= st.end && vars.has(r.name))
    .map((r) => {
      const value = vars.get(r.name)!;
      const text = r.quote === 'defined' ? 'TRUE' : r.quote === 'literal' ? psqlLiteral(value).trimStart() : r.quote === 'identifier' ? psqlIdentifier(value) : value;
      return { start: r.start - st.start, end: r.end - st.start, text };
    });
  return replaceRanges({ ...st, toOriginal: (o) => o }, ranges);
}

/** Replace [start, end) ranges of a runnable statement's text, keeping error positions mapped to the original. */
function replaceRanges(st: RunnableStatement, ranges: Array<{ start: number; end: number; text: string }>): RunnableStatement {
  if (ranges.length === 0) return st;
  let text = st.text;
  const subs: Array<{ at: number; oldLen: number; newLen: number }> = [];
  for (const r of [...ranges].sort((x, y) => y.start - x.start)) {
    text = text.slice(0, r.start) + r.text + text.slice(r.end);
    subs.unshift({ at: r.start, oldLen: r.end - r.start, newLen: r.text.length });
  }
  return {
    ...st,
    text,
    toOriginal: (o) => {
      let shift = 0;
      for (const s of subs) {
        const newAt = s.at + shift;
        if (o < newAt) break;
        if (o < newAt + s.newLen) return st.toOriginal(s.at);
        shift += s.newLen - s.oldLen;
      }
      return st.toOriginal(o - shift);
    },
  };
}

async function parseTree(text: string): Promise<unknown> {
  const parser = await loadParser();
  try {
    return await parser.parse(text);
  } catch {
    return undefined;
  }
}

function stripComments(text: string): string {
  return text.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}

async function classify(text: string): Promise<TxStatement | null> {
  if (!TX_PREFIX.test(text)) return null;
  const parser = await loadParser();
  let tree: { stmts?: Array<{ stmt: Record<string, unknown> }> };
  try {
    tree = (await parser.parse(text)) as typeof tree;
  } catch {
    return null;
  }
  const stmt = tree.stmts?.[0]?.stmt?.['TransactionStmt'] as { kind?: string; chain?: boolean; options?: unknown[] } | undefined;
  if (!stmt?.kind) return null;
  const kind = (
    {
      TRANS_STMT_BEGIN: 'begin',
      TRANS_STMT_START: 'begin',
      TRANS_STMT_COMMIT: 'commit',
      TRANS_STMT_ROLLBACK: 'rollback',
      TRANS_STMT_SAVEPOINT: 'savepoint',
      TRANS_STMT_RELEASE: 'release',
      TRANS_STMT_ROLLBACK_TO: 'rollback_to',
      TRANS_STMT_PREPARE: 'prepare',
      TRANS_STMT_COMMIT_PREPARED: 'commit_prepared',
      TRANS_STMT_ROLLBACK_PREPARED: 'rollback_prepared',
    } as Record<string, TxKind>
  )[stmt.kind];
  if (!kind) return null;
  // BEGIN [WORK|TRANSACTION] <modes> / START TRANSACTION <modes>: the modes are what SET TRANSACTION takes.
  const options = kind === 'begin' && stmt.options?.length ? stripComments(text).trim().replace(/^(begin|start)\s*(work|transaction)?/i, '').trim() : '';
  return { kind, chain: !!stmt.chain, options };
}

/** Whether psql sends BEGIN before this statement with AUTOCOMMIT off: not before one that is transaction control, savepoints aside (its command_no_begin). */
function opensBlock(tx: TxStatement | null): boolean {
  return !tx || tx.kind === 'savepoint' || tx.kind === 'release' || tx.kind === 'rollback_to';
}

/** An error as the server raises it for a statement that needs a transaction block (SQLSTATE 25P01, no_active_sql_transaction). */
function outsideBlock(message: string): Error {
  return Object.assign(new Error(message), { name: 'PostgresError', code: '25P01', severity: 'ERROR' });
}

/**
 * 'SET LOCAL', 'SET TRANSACTION' or 'SET CONSTRAINTS' when the statement is one, which only set
 * something for the transaction they run in (the server's WarnNoTransactionBlock); null otherwise.
 */
function transactionOnlySet(tree: unknown): string | null {
  if (firstStatement(tree, 'ConstraintsSetStmt')) return 'SET CONSTRAINTS';
  const set = firstStatement(tree, 'VariableSetStmt') as { kind?: string; name?: string; is_local?: boolean } | undefined;
  if (!set) return null;
  if (set.kind === 'VAR_SET_MULTI' && set.name === 'TRANSACTION') return 'SET TRANSACTION';
  return set.is_local ? 'SET LOCAL' : null;
}

/** 'LOCK TABLE' or 'DECLARE CURSOR' (one without WITH HOLD) when the statement is one, which the server runs only in a transaction block (RequireTransactionBlock); null otherwise. */
function blockOnly(tree: unknown): string | null {
  if (firstStatement(tree, 'LockStmt')) return 'LOCK TABLE';
  const declare = firstStatement(tree, 'DeclareCursorStmt') as { options?: number } | undefined;
  // CURSOR_OPT_HOLD (0x0020, parsenodes.h): a cursor WITH HOLD outlives its transaction and is allowed.
  return declare && ((declare.options ?? 0) & 0x0020) === 0 ? 'DECLARE CURSOR' : null;
}

/**
 * The hint for an error that rowguard's own transaction caused where psql would not have failed:
 * 25001 (a statement that cannot run in a transaction block) anywhere, and 2D000 (a procedure or
 * DO block that COMMITs or ROLLBACKs: the server allows that only for a CALL or DO sent outside a
 * transaction block, as psql sends it in autocommit) outside the file's own blocks — inside them
 * psql fails the same way, so no hint.
 */
function transactionHint(sqlstate: string | undefined, block: 'none' | 'outer' | 'savepoint'): string | undefined {
  const ours = 'rowguard test runs each file inside a transaction of its own (rolled back, or kept as psql would have committed it)';
  if (sqlstate === '25001') return `${ours}; statements that cannot run in a transaction block cannot be tested this way`;
  if (sqlstate === '2D000' && block === 'none') return `${ours}, where a procedure or DO block cannot COMMIT or ROLLBACK as it can under psql outside BEGIN … COMMIT; such a step cannot be tested this way`;
  return undefined;
}

/** One psql row → one line: columns joined by '|', NULL printed as ''. */
function rowText(row: Array<Buffer | null>): string {
  return row.map((v) => (v === null ? '' : v.toString('utf8'))).join('|');
}

/**
 * The meta-commands that belong to one statement, by its index: \gset and \gexec to the statement
 * they end, COPY … FROM STDIN's data lines to that COPY; in each case the last statement that
 * starts before them.
 */
function statementEvents(script: ExpandedScript, statements: Statement[]): { gsetPrefix: Map<number, string>; copyInput: Map<number, string>; gexecAt: Set<number> } {
  const gsetPrefix = new Map<number, string>();
  const copyInput = new Map<number, string>();
  const gexecAt = new Set<number>();
  for (const e of script.events) {
    if (e.kind !== 'gset' && e.kind !== 'gexec' && e.kind !== 'copy-data') continue;
    const idx = statements.findLastIndex((st) => st.start < e.at);
    if (idx < 0) continue;
    if (e.kind === 'gset') gsetPrefix.set(idx, e.prefix);
    else if (e.kind === 'gexec') gexecAt.add(idx);
    else copyInput.set(idx, e.data);
  }
  return { gsetPrefix, copyInput, gexecAt };
}

/** The indexes of the statements joined to the next one by a `\;` (one query to psql). */
function joinedToNext(script: ExpandedScript, statements: Statement[]): Set<number> {
  const joined = new Set<number>();
  let k = 0;
  for (let i = 0; i + 1 < statements.length && k < script.joins.length; i++) {
    // (A statement's end can be past its `;`, where the file does not parse: its text ends before.)
    const textEnd = statements[i]!.start + statements[i]!.text.length;
    while (k < script.joins.length && script.joins[k]! < textEnd) k++;
    if (k < script.joins.length && script.joins[k]! < statements[i + 1]!.start) joined.add(i);
  }
  return joined;
}

/** The statements of a value \gexec runs (one unparsed statement when it does not parse: the server reports it). */
async function generatedStatements(text: string): Promise<Statement[]> {
  const split = await splitStatements(text);
  if (isParseFailure(split)) return stripComments(text).trim() === '' ? [] : [{ text, start: 0, end: 0 }];
  return split.map((s) => ({ text: s.text, kind: s.kind, start: 0, end: 0 }));
}

/** A statement's text on one line, shortened, for a message. */
function oneLine(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 120 ? `${t.slice(0, 117)}…` : t;
}

/**
 * Where psql may first commit something of this file that a file run after it
 * in the same database would see (pg_prove runs a suite's files one after
 * another in one database), or null when it cannot: a statement outside the
 * file's own BEGIN … ROLLBACK blocks, or inside a block it COMMITs, that may
 * leave something behind (see leavesNothing). Read from the text before the
 * file runs, with the same expansion of \i, \if and variables; a file that
 * cannot be read or expanded runs nothing.
 */
export async function firstCommitted(opts: Pick<RunFileOptions, 'file' | 'cwd' | 'displayRoot' | 'librarySchema'>, libraryFunctions: ReadonlySet<string>): Promise<SqlLocation | null> {
  let script: ExpandedScript;
  try {
    const text = decodeUtf8(readFileSync(opts.file.path), opts.file.display);
    script = expandScript({ file: opts.file.display, path: opts.file.path, text, cwd: opts.cwd, displayRoot: opts.displayRoot, readFile: (p) => readFileSync(p, 'utf8'), variables: PSQL_START_VARIABLES });
  } catch {
    return null;
  }
  if (script.problem) return null;
  const schemas = new Set([SUPABASE_PGTAP_SCHEMA, opts.librarySchema]);
  /** The first of these statements that may leave something. Most kinds are told without a second parse. */
  const firstLeaving = async (stmts: Statement[]): Promise<SqlLocation | null> => {
    for (const st of stmts) {
      const leaves =
        st.kind === 'VariableSetStmt' || st.kind === 'VariableShowStmt' ? false
        : st.kind === 'SelectStmt' || st.kind === 'CreateExtensionStmt' || st.kind === undefined ? !leavesNothing(await parseTree(st.text), libraryFunctions, schemas)
        : true;
      if (leaves) return locate(script, st.start);
    }
    return null;
  };
  // The statements of the block open now: read only if the block is committed.
  let block: Statement[] | null = null;
  const statements = await statementsOf(script);
  // What a \gexec runs is known only when it runs: its query counts as a statement that may leave something.
  const { gexecAt } = statementEvents(script, statements);
  for (const [index, st0] of statements.entries()) {
    const st = gexecAt.has(index) ? { ...st0, kind: 'gexec' } : st0;
    const tx = await classify(st.text);
    if (tx) {
      if (tx.kind === 'begin' && !block) block = [];
      else if (tx.kind === 'commit' && block) {
        const where = await firstLeaving(block);
        if (where) return where;
        block = tx.chain ? [] : null;
      } else if (tx.kind === 'rollback' && block) block = tx.chain ? [] : null;
      continue;
    }
    if (block) block.push(st);
    else {
      const where = await firstLeaving([st]);
      if (where) return where;
    }
  }
  return null;
}

export async function runTestFile(opts: RunFileOptions): Promise<FileResult> {
  const t0 = performance.now();
  // A NUL byte would end the query on the wire and silently drop the rest of the file;
  // bytes that are not UTF-8 would become U+FFFD. Named at file:line:col, as for migrations.
  const readFile = opts.readFile ?? ((p: string) => decodeUtf8(readFileSync(p), opts.file.display));
  const result: FileResult = {
    file: opts.file.display,
    status: 'passed',
    planned: null,
    tests: [],
    preamble: [],
    problems: [],
    output: [],
    messages: [],
    warnings: [],
    durationMs: 0,
  };
  // Which statement printed each output line, for test locations.
  const lineOrigin: Array<SqlLocation | undefined> = [];
  const finish = (): FileResult => {
    const tap = parseTap(result.output);
    applyTap(result, tap, lineOrigin);
    result.durationMs = performance.now() - t0;
    return result;
  };

  let text: string;
  try {
    text = readFile(opts.file.path);
  } catch (err) {
    result.error = isRowguardError(err) ? { message: err.message, hint: err.hint, location: err.location } : { message: `cannot read ${opts.file.display}: ${(err as Error).message}` };
    return finish();
  }
  const script = expandScript({
    file: opts.file.display,
    path: opts.file.path,
    text,
    cwd: opts.cwd,
    displayRoot: opts.displayRoot,
    readFile: (p) => readFileSync(p, 'utf8'),
    variables: PSQL_START_VARIABLES,
  });
  if (script.problem) {
    const src = script.sources.get(script.problem.file) ?? text;
    const lc = lineColumn(src, script.problem.offset);
    result.error = { message: script.problem.message, hint: script.problem.hint, location: { file: script.problem.file, line: lc.line, column: lc.column, source: lc.source } };
    return finish();
  }
  const statements = await statementsOf(script);

  const sql = connect(opts.url, {
    max: 1,
    onNotice: (n) => result.messages.push(`${n.severity ?? 'NOTICE'}:  ${n.message}`),
    connection: { application_name: `rowguard test ${opts.file.display}`.slice(0, 63) },
  });
  let outputOn = true;
  let onErrorStop = true;
  // psql's ON_ERROR_ROLLBACK: inside a transaction block, each statement runs in a
  // savepoint, so a failing one is undone alone and the block goes on. "interactive"
  // means on only for interactive sessions, and a file is not one.
  let onErrorRollback = false;
  // psql's AUTOCOMMIT: off, psql sends BEGIN before a statement outside a block, so what the file
  // does stays in that block until its COMMIT (and is rolled back at the end of the file without one).
  let autocommit = true;
  // psql's SHOW_ALL_RESULTS: off, a `\;` group prints only its last result, and nothing when it fails.
  let showAllResults = true;
  let outerOpen = false;
  let block: 'none' | 'outer' | 'savepoint' = 'none';
  let ranInOuter = false;
  // An error inside the file's own block (ON_ERROR_STOP off) leaves it aborted until its ROLLBACK/COMMIT.
  let aborted = false;
  // The session is gone (terminated, database dropped): nothing more may be sent,
  // or the driver would try to reconnect.
  let lost = false;

  // Each keeps its index in script.events, which says which branch of an \if it is in (skippedEvent).
  const events = script.events
    .map((e, index) => ({ e, index }))
    .filter(({ e }) => e.kind !== 'gset' && e.kind !== 'gexec' && e.kind !== 'copy-data')
    .sort((a, b) => a.e.at - b.e.at);
  const { gsetPrefix, copyInput, gexecAt } = statementEvents(script, statements);
  // Variables set by \gset while the file runs.
  const runtimeVars = new Map<string, string>();
  let nextEvent = 0;
  // The branches of the `\if`s chosen as the file runs that were not taken: their statements and
  // meta-commands are skipped, as psql skips them.
  const skippedArms: BranchArm[] = [];
  const skippedEvent = (index: number) => skippedArms.some((a) => index >= a.firstEvent && index < a.endEvent);
  const skippedStatement = (st: Statement) => {
    const last = st.start + Math.max(st.text.length, 1) - 1;
    return skippedArms.some((a) => last >= a.start && last < a.end);
  };
  /** Run the meta-commands before `offset`; true when one stopped the file (result.error says why). */
  const runEventsBefore = (offset: number, current?: SqlLocation): boolean => {
    while (nextEvent < events.length && events[nextEvent]!.e.at <= offset) {
      const { e, index } = events[nextEvent++]!;
      if (skippedEvent(index)) continue;
      if (e.kind === 'branch') {
        // psql reads the variable now, after the \gset before the \if ran; one it does not know stays
        // as written (":name"), which is no boolean: reported, and false.
        let taken = false;
        for (const arm of e.arms) {
          if (taken) {
            skippedArms.push(arm);
            continue;
          }
          if (arm.expr === null) {
            taken = true;
            continue;
          }
          const known = arm.variable !== undefined && runtimeVars.has(arm.variable);
          const expr = arm.defined ? (known ? 'TRUE' : 'FALSE') : known ? runtimeVars.get(arm.variable!)! : arm.expr;
          const value = parsePsqlBool(expr);
          if (value === undefined) result.messages.push(unrecognizedCondition(expr, arm.cmd));
          if (value) taken = true;
          else skippedArms.push(arm);
        }
      } else if (e.kind === 'echo') {
        // Variables a \gset set by now are seen, as psql sees them when it reaches the echo.
        const text = e.pending && runtimeVars.size > 0 ? echoText(e.pending.args, new Map([...e.pending.variables, ...runtimeVars])) : e.text;
        if (e.stream === 'stderr') result.messages.push(text);
        // \o file turns query output and \qecho away, not \echo (psql writes it to stdout).
        else if (outputOn || e.stream === 'stdout') {
          for (const l of text.split('\n')) {
            result.output.push(l);
            lineOrigin.push(current);
          }
        }
      } else if (e.kind === 'error') {
        // psql's own error (an \i of a file that is not there, an \endif with no \if…): a failed
        // command, which ends the file under ON_ERROR_STOP; the open block is left as it was (no SQL failed).
        result.messages.push(e.stderr);
        if (onErrorStop) {
          const lc = lineColumn(script.sources.get(e.file) ?? '', e.offset);
          result.error = { message: e.message, ...(e.hint ? { hint: e.hint } : {}), location: { file: e.file, line: lc.line, column: lc.column, source: lc.source } };
          return true;
        }
      } else if (e.kind === 'output') outputOn = e.enabled;
      else if (e.kind === 'set' && e.name === 'ON_ERROR_STOP') onErrorStop = e.value === null ? false : parsePsqlBool(e.value) ?? false;
      else if (e.kind === 'set' && e.name === 'ON_ERROR_ROLLBACK') onErrorRollback = e.value !== null && parsePsqlBool(e.value) === true;
      else if (e.kind === 'set' && e.name === 'AUTOCOMMIT') autocommit = e.value !== null && parsePsqlBool(e.value) !== false;
      else if (e.kind === 'set' && e.name === 'SHOW_ALL_RESULTS') showAllResults = e.value !== null && parsePsqlBool(e.value) !== false;
    }
    return false;
  };

  const exec = (text: string) => sql.unsafe(text).simple().raw() as unknown as Promise<Array<Array<Buffer | null>>>;
  // Settings the file set for the transaction (SET LOCAL, set_config(…, true), tests.authenticate_as):
  // psql's transaction ends them with a statement outside a block, or at the block's COMMIT, while
  // rowguard's transaction goes on. Name → the value before, put back at those points.
  const transactionLocal = new Map<string, string>();
  const noteSettingChanges = async (text: string, kind: string | undefined): Promise<void> => {
    if (kind !== 'VariableSetStmt' && !SETTING_CHANGE_HINT.test(text)) return;
    // A tests.* helper call with no set_config beside it (a suite's usual statement, once per check)
    // can only set what the helpers set: once those are noted for the block, nothing to parse or ask.
    if (kind !== 'VariableSetStmt' && !/set_config/i.test(text) && IMPERSONATED.every((n) => transactionLocal.has(n))) return;
    const changes = settingChanges(await parseTree(text));
    if (changes.all) transactionLocal.clear();
    // A session value set now is what the session keeps, whatever was set for the transaction before.
    for (const n of changes.session) transactionLocal.delete(n);
    const names = [...new Set(changes.local)].filter((n) => !transactionLocal.has(n));
    // The path the library appended is recorded beside search_path (for the descriptions that print it).
    if (names.includes('search_path') && !transactionLocal.has(APPENDED_PATH)) names.push(APPENDED_PATH);
    if (names.length === 0 || aborted) return;
    const [row] = await exec(`select ${names.map((n) => `pg_catalog.current_setting(${psqlLiteral(n).trimStart()}, true)`).join(', ')}`);
    // A setting never set reads NULL; once a transaction-local value of it ends, it reads '' (a placeholder now exists).
    names.forEach((n, i) => transactionLocal.set(n, row?.[i]?.toString('utf8') ?? ''));
  };
  const endTransactionLocal = async (): Promise<void> => {
    if (transactionLocal.size === 0) return;
    const pairs = [...transactionLocal];
    transactionLocal.clear();
    await exec(`select ${pairs.map(([n, v]) => `pg_catalog.set_config(${psqlLiteral(n).trimStart()}, ${psqlLiteral(v).trimStart()}, true)`).join(', ')}`);
  };
  // Where the file may call pgTAP by a qualified name (see pgtap-stand-in.ts), and the library's function names.
  const pgtapSchemas = new Set([SUPABASE_PGTAP_SCHEMA]);
  let libraryFunctions = new Set<string>();
  // Whether the database has a dbdev schema of its own (asked at the first dbdev.install the file makes).
  let hasDbdev: boolean | undefined;
  const qualifiedCall = () => new RegExp(`(?:^|[^A-Za-z0-9_$])"?(?:${[...pgtapSchemas].map((x) => x.replace(/[^A-Za-z0-9_]/g, '\\$&')).join('|')})"?\\s*\\.`, 'i');

  /** The statement as it must run for the library to stand in for pgTAP, or null when nothing is to run. */
  const standIn = async (st: RunnableStatement, kind: string | undefined): Promise<{ st: RunnableStatement; searchPath?: { local: boolean } } | null> => {
    if (kind === 'CreateExtensionStmt' && /pgtap|supabase_test_helpers/i.test(st.text)) {
      const ext = standInExtension(await parseTree(st.text));
      if (ext) {
        if (ext.name === 'pgtap' && ext.schema !== null) pgtapSchemas.add(ext.schema);
        // Postgres refuses a schema that does not exist ("schema … does not exist", 3F000); so does the
        // cast. Without one, an extension goes into the current schema. has_extension and extensions_are
        // read where pgtap is from the library's table, which keeps it as pg_extension would (38-functions-triggers.sql).
        const schema = ext.schema === null ? 'pg_catalog.current_schema()' : `(SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = ${psqlLiteral(ext.schema).trimStart()}::pg_catalog.regnamespace)`;
        // basejump's helpers: tests.clear_authentication switches to anon in such a file (tests-helpers.sql).
        const record = ext.name === 'pgtap' ? `PERFORM ${quoteIdent(opts.librarySchema)}._tap_stand_in_pgtap(${schema});` : `PERFORM ${schema}, pg_catalog.set_config('tests.basejump', 'on', true);`;
        return { st: { ...st, text: `DO $rowguard$ BEGIN ${record} END $rowguard$`, toOriginal: () => 0 } };
      }
    }
    if (kind === 'SelectStmt' && /dbdev/i.test(st.text) && standInInstall(await parseTree(st.text))) {
      // (In a block an error aborted, the question fails: the call then runs as written, and fails as it would.)
      if (hasDbdev === undefined) hasDbdev = await exec(`select pg_catalog.to_regnamespace('dbdev') is not null`).then((r) => r[0]?.[0]?.toString() === 't', () => undefined);
      if (hasDbdev === false) return { st: { ...st, text: 'SELECT true', toOriginal: () => 0 } };
    }
    const qualified = qualifiedCall().test(st.text);
    const setsPath = kind === 'VariableSetStmt' || /set_config/i.test(st.text);
    if (!qualified && !setsPath) return { st };
    const tree = await parseTree(st.text);
    const searchPath = setsPath ? searchPathChange(tree) : undefined;
    const sites = qualified ? libraryCallSites(tree, st.text, pgtapSchemas, libraryFunctions) : [];
    return { st: replaceRanges(st, sites.map((s) => ({ ...s, text: opts.librarySchema }))), ...(searchPath ? { searchPath } : {}) };
  };

  // The `\;` group running now (see runGroup): outside a block (`implicit`) its statements share one
  // transaction; `savepoint` when one of ours undoes the whole group on an error.
  // `printed`: where the output of its statement running now starts; `failed`: one of them failed.
  let group: { implicit: boolean; savepoint: boolean; generate?: { rows: Array<Array<Buffer | null>>; at: SqlLocation }; printed?: number; failed?: boolean } | null = null;
  // What a group printed, for SHOW_ALL_RESULTS off (runQuery): where its output starts (once its
  // meta-commands ran: readGroup) and ends, where its last statement's starts, whether one failed.
  interface GroupPrinted { shown?: boolean; start?: number; end?: number; last?: number; failed?: boolean }
  const startGroup = (printed: GroupPrinted | undefined): void => {
    if (printed) Object.assign(printed, { shown: showAllResults, start: result.output.length });
  };
  const endGroup = (current: NonNullable<typeof group>, outcome: unknown, printed: GroupPrinted | undefined): void => {
    group = null;
    if (printed) Object.assign(printed, { end: result.output.length, last: current.printed ?? result.output.length, failed: !!current.failed || !!outcome });
  };

  /**
   * Run one statement of the file (or one a \gexec generated, `generated` naming where that \gexec
   * is): 'stop' when the file stops there, 'failed' when it failed and the file goes on.
   */
  const runOne = async (st0: Statement, index: number, generated?: SqlLocation): Promise<'stop' | 'failed' | void> => {
    if (group) group.printed = result.output.length;
    // A generated statement is sent as the server returned it (no psql variables); its place is the \gexec's.
    const adapted = await standIn(generated ? { ...st0, toOriginal: () => 0 } : substituteDeferred(st0, script, runtimeVars), st0.kind);
    if (!adapted) return;
    const st = adapted.st;
    const location = generated ?? locate(script, st.start);
    const tx = await classify(st.text);
    // AUTOCOMMIT off: psql's implicit BEGIN (also before a SAVEPOINT; statements that cannot run in
    // a block fail in rowguard's transaction either way). Not between the statements of a `\;` group:
    // psql sends its BEGIN before the whole query (runGroup, runTxGroup).
    if (!autocommit && block === 'none' && !group && opensBlock(tx)) {
      await runTransactionControl({ kind: 'begin', chain: false, options: '' }, 'BEGIN');
    }
    // Outside the file's blocks and any `\;` group, the statement is a transaction of its own under psql.
    const alone = block === 'none' && !group;
    // SET LOCAL, SET TRANSACTION and SET CONSTRAINTS outside a block: psql's server warns and the
    // setting ends with that statement's own transaction; in rowguard's it would last the whole file.
    if (alone && (st0.kind === 'VariableSetStmt' || st0.kind === 'ConstraintsSetStmt')) {
      const only = transactionOnlySet(await parseTree(st.text));
      if (only) {
        result.messages.push(`WARNING:  ${only} can only be used in transaction blocks`);
        return;
      }
    }
    // Run in a savepoint of ours: outside the file's blocks (psql's autocommit) or, with
    // ON_ERROR_ROLLBACK, inside them unless already aborted (psql then sends no savepoint).
    let guard = false;
    let refused = false;
    let generate: Array<Array<Buffer | null>> | undefined;
    try {
      // LOCK and DECLARE CURSOR (without HOLD) outside a block: psql's one-statement transaction makes the server refuse them.
      if (alone && (st0.kind === 'LockStmt' || st0.kind === 'DeclareCursorStmt')) {
        const needs = blockOnly(await parseTree(st.text));
        if (needs) {
          refused = true;
          throw outsideBlock(`${needs} can only be used in transaction blocks`);
        }
      }
      if (tx) {
        if (tx.kind === 'prepare' || tx.kind === 'commit_prepared' || tx.kind === 'rollback_prepared') {
          result.error = { message: 'two-phase commit (PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED) is not supported in test files', location, hint: 'rowguard test runs each file inside a transaction of its own, which it commits only as psql would have (for the files after it)' };
          return 'stop';
        }
        await runTransactionControl(tx, st.text);
        return;
      }
      if (!outerOpen) {
        await exec('begin');
        outerOpen = true;
      }
      ranInOuter = true;
      await noteSettingChanges(st.text, st0.kind);
      // A file whose commits are kept runs each statement outside its blocks in a savepoint too, so
      // that an error stopping it undoes that statement alone, as psql's autocommit would.
      guard = !group && (!onErrorStop || !!opts.commit) && (block === 'none' || (onErrorRollback && !aborted));
      if (guard) await exec(`savepoint ${STMT_SAVEPOINT}`);
      // Keep the library reachable, as pgTAP would be in the schema the file puts on its path: after
      // a SET search_path (or set_config) of the file's, with that setting's scope; after a statement
      // that may run the schema's own code, for a function that runs `SET search_path` in its body
      // (cas-cif's mocks.set_mocked_time_in_transaction sets `mocks, public, pg_catalog`, then the
      // file calls is()), with a SET's scope. The result is recorded for the descriptions that print the path.
      const scope = adapted.searchPath ? adapted.searchPath.local : RUNS_CODE.has(st0.kind ?? '') ? false : undefined;
      const restore =
        scope === undefined
          ? null
          : `select set_config('${APPENDED_PATH}', set_config('search_path', concat_ws(', ', nullif(current_setting('search_path'), ''), ${psqlLiteral(opts.librarySchema).trimStart()}), ${scope}), ${scope}) ` +
            `where not ${psqlLiteral(opts.librarySchema).trimStart()} = any (current_schemas(false))`;
      // Sent right behind the statement, without waiting for its answer (runStatement sends a statement
      // that is not a COPY before it first waits): one round trip for both, as every assertion is a SELECT.
      // When the statement fails, the block it aborted refuses the restore too, and the statement's error is what counts.
      const pipelined = restore !== null && st0.kind !== 'CopyStmt';
      const ran = runStatement(st.text, st0.kind === 'CopyStmt' ? copyInput.get(index) : undefined);
      const restored = pipelined ? exec(restore) : null;
      restored?.catch(() => undefined);
      const rows = await ran;
      if (restored) await restored;
      else if (restore !== null) await exec(restore);
      // Outside a block the statement was a transaction of its own under psql: what it set for it ends here.
      if (alone) await endTransactionLocal();
      if (guard) await exec(`release savepoint ${STMT_SAVEPOINT}`);
      const prefix = gsetPrefix.get(index);
      if (prefix !== undefined) {
        // psql: exactly one row; each column sets <prefix><column>, NULL unsets it. Nothing is printed.
        // Another count is psql's error (stderr), the variables left as they were: the query failed,
        // so ON_ERROR_STOP stops the file there, and without it the file goes on.
        if (rows.length !== 1) {
          const message = rows.length === 0 ? 'no rows returned for \\gset' : 'more than one row returned for \\gset';
          if (onErrorStop) {
            result.error = { message, location };
            return 'stop';
          }
          result.messages.push(`error: ${message}`);
          return;
        }
        const columns = ((rows as unknown as { columns?: Array<{ name: string }> }).columns ?? []).map((c) => c.name);
        columns.forEach((name, i) => {
          const v = rows[0]![i];
          if (v === null || v === undefined) runtimeVars.delete(prefix + name);
          else runtimeVars.set(prefix + name, v.toString('utf8'));
        });
        return;
      }
      // \gexec: the query's own rows are not printed; what they say runs once this statement is done.
      if (gexecAt.has(index)) generate = rows;
      else if (outputOn) {
        for (const r of rows) {
          // A row of no columns (SELECT FROM f()) prints nothing under psql, not an empty line.
          if (r.length === 0) continue;
          for (const l of rowText(r).split('\n')) {
            result.output.push(l);
            lineOrigin.push(location);
          }
        }
      }
    } catch (err) {
      const pg = pgFieldsOf(err);
      if (!pg) throw err;
      // 57P01..57P05: the server ended the session (terminate, shutdown, database dropped); 08xxx: connection failure.
      if (pg.sqlstate?.startsWith('57P') || pg.sqlstate?.startsWith('08')) lost = true;
      // Outside a block a failed statement is undone whole (its savepoint, or the end of the file): so is what it set.
      if (alone) transactionLocal.clear();
      const errLocation = generated ?? (pg.position ? locate(script, st.start + st.toOriginal(codePointToUtf16(st.text, pg.position - 1))) : location);
      const message = `${pg.message ?? 'error'}`;
      result.messages.push(`ERROR:  ${message}`);
      if (onErrorStop || lost) {
        if (guard && !lost) await exec(`rollback to savepoint ${STMT_SAVEPOINT}; release savepoint ${STMT_SAVEPOINT}`).catch(() => (lost = true));
        const hint = transactionHint(pg.sqlstate, alone ? 'none' : block === 'none' ? 'outer' : block) ?? (generated ? `in the statement \\gexec ran there: ${oneLine(st.text)}` : undefined);
        result.error = { message, location: errLocation, pg, ...(hint ? { hint } : {}) };
        return 'stop';
      }
      // ON_ERROR_STOP off: psql carries on. Outside the file's own block (or
      // with ON_ERROR_ROLLBACK) the statement was guarded by a savepoint; else
      // the block stays aborted until the file's ROLLBACK, exactly as under psql.
      // A statement refused outside a block (outsideBlock) never reached the server: nothing to undo.
      if (refused || (tx && block === 'none')) return;
      // In a `\;` group the server skips the rest of the query: the group undoes what it did (runGroup).
      if (group) {
        group.failed = true;
        if (!group.savepoint) aborted = true;
        return 'failed';
      }
      if ((block === 'none' || guard) && outerOpen) await exec(`rollback to savepoint ${STMT_SAVEPOINT}; release savepoint ${STMT_SAVEPOINT}`).catch(() => undefined);
      else aborted = true;
    }
    if (generate && group) group.generate = { rows: generate, at: location };
    else if (generate) return runGenerated(generate, location);
  };

  /**
   * psql reads a `\;` group to its end before it sends it: the meta-commands on its lines (an \echo, a
   * \set AUTOCOMMIT or ON_ERROR_ROLLBACK just before it) have run by then.
   */
  const readGroup = (items: Array<{ st: Statement; generated?: SqlLocation }>): boolean => {
    const last = items[items.length - 1]!;
    return !last.generated && runEventsBefore(last.st.end);
  };

  /**
   * Statements joined with `\;` are one query to psql: outside a block one transaction of the server's
   * (what they set for it lasts to the last of them; an error undoes them all), in a block with
   * ON_ERROR_ROLLBACK one savepoint of psql's; in every case an error skips the rest of the query. A
   * \gexec that ends the group runs after it. (A group holding transaction control: runTxGroup.)
   */
  const runGroup = async (items: Array<{ st: Statement; index: number; generated?: SqlLocation }>, printed?: GroupPrinted): Promise<'stop' | void> => {
    if (readGroup(items)) return 'stop';
    startGroup(printed);
    if (!autocommit && block === 'none') await runTransactionControl({ kind: 'begin', chain: false, options: '' }, 'BEGIN');
    const implicit = block === 'none';
    const savepoint = implicit ? !onErrorStop || !!opts.commit : onErrorRollback && !aborted;
    if (!outerOpen) {
      await exec('begin');
      outerOpen = true;
    }
    ranInOuter = true;
    if (savepoint) await exec(`savepoint ${GROUP_SAVEPOINT}`);
    const current: NonNullable<typeof group> = { implicit, savepoint };
    group = current;
    let outcome: 'stop' | 'failed' | void = undefined;
    try {
      for (const it of items) {
        if (!it.generated && runEventsBefore(it.st.end)) {
          outcome = 'stop';
          break;
        }
        outcome = await runOne(it.st, it.index, it.generated);
        if (outcome) break;
      }
    } finally {
      endGroup(current, outcome, printed);
    }
    if (outcome) {
      if (savepoint && !lost) await exec(`rollback to savepoint ${GROUP_SAVEPOINT}; release savepoint ${GROUP_SAVEPOINT}`).catch(() => (lost = true));
      if (implicit) transactionLocal.clear();
      return outcome === 'stop' ? 'stop' : undefined;
    }
    if (implicit) await endTransactionLocal();
    if (savepoint) await exec(`release savepoint ${GROUP_SAVEPOINT}`);
    if (current.generate) return runGenerated(current.generate.rows, current.generate.at);
  };

  /**
   * A `\;` group holding transaction control, as the server runs one query of several statements
   * (its implicit transaction block): outside the file's blocks the statements share one transaction
   * up to a COMMIT or ROLLBACK of the group, which ends it with psql's warning "there is no
   * transaction in progress" (`insert … \; rollback` takes the insert back), and a new one starts
   * after it; a BEGIN turns that transaction into a block, the statements before it in the group
   * included; SAVEPOINT, RELEASE, ROLLBACK TO and COMMIT or ROLLBACK AND CHAIN there fail (25P01). An
   * error skips the rest of the group and undoes the statements of its implicit transaction, or
   * leaves the block aborted — or, with ON_ERROR_ROLLBACK in a block the group started in, goes back
   * to psql's savepoint while the group has not ended that block.
   */
  const runTxGroup = async (items: Array<{ st: Statement; index: number; generated?: SqlLocation }>, printed?: GroupPrinted): Promise<'stop' | void> => {
    if (readGroup(items)) return 'stop';
    startGroup(printed);
    // psql sends BEGIN before the query unless it starts with transaction control (command_no_begin).
    if (!autocommit && block === 'none' && opensBlock(await classify(items[0]!.st.text))) await runTransactionControl({ kind: 'begin', chain: false, options: '' }, 'BEGIN');
    // psql's ON_ERROR_ROLLBACK savepoint, taken before the query when a block is open.
    let psqlSavepoint = block !== 'none' && onErrorRollback && !aborted;
    if (psqlSavepoint) await exec(`savepoint ${GROUP_SAVEPOINT}`);
    // The implicit transaction's statements run after FILE_SAVEPOINT: a BEGIN makes it the file's block.
    let implicitOpen = false;
    const current: NonNullable<typeof group> = { implicit: true, savepoint: psqlSavepoint };
    group = current;
    let outcome: 'stop' | 'failed' | void = undefined;
    /** An error the server raises itself in the implicit transaction: it ends the query, as runOne's do. */
    const refuse = (message: string, at: SqlLocation): 'stop' | 'failed' => {
      result.messages.push(`ERROR:  ${message}`);
      if (onErrorStop) {
        result.error = { message, location: at, pg: { sqlstate: '25P01', message } };
        return 'stop';
      }
      return 'failed';
    };
    try {
      for (const it of items) {
        // Transaction control handled here prints nothing: it may be the group's last result too.
        current.printed = result.output.length;
        if (!it.generated && runEventsBefore(it.st.end)) {
          outcome = 'stop';
          break;
        }
        const tx = await classify(it.st.text);
        const at = it.generated ?? locate(script, it.st.start);
        if (block === 'none' && tx && tx.kind !== 'prepare' && tx.kind !== 'commit_prepared' && tx.kind !== 'rollback_prepared') {
          if (tx.kind === 'begin') {
            if (!implicitOpen) {
              outcome = await runOne(it.st, it.index, it.generated);
              if (outcome) break;
              continue;
            }
            // The statements before it in the group are in the block it opens.
            if (tx.options) result.warnings.push(`BEGIN ${tx.options}: the options were ignored (statements ran before it in rowguard's transaction)`);
            implicitOpen = false;
            block = 'savepoint';
            continue;
          }
          if ((tx.kind === 'commit' || tx.kind === 'rollback') && !tx.chain) {
            result.messages.push('WARNING:  there is no transaction in progress');
            if (implicitOpen) {
              if (tx.kind === 'commit') {
                await endTransactionLocal();
                await exec(`release savepoint ${FILE_SAVEPOINT}`);
              } else {
                transactionLocal.clear();
                await exec(`rollback to savepoint ${FILE_SAVEPOINT}; release savepoint ${FILE_SAVEPOINT}`);
              }
              implicitOpen = false;
            }
            continue;
          }
          const name = { commit: 'COMMIT AND CHAIN', rollback: 'ROLLBACK AND CHAIN', savepoint: 'SAVEPOINT', release: 'RELEASE SAVEPOINT', rollback_to: 'ROLLBACK TO SAVEPOINT' }[tx.kind as 'commit'];
          outcome = refuse(`${name} can only be used in transaction blocks`, at);
          break;
        }
        if (block === 'none' && !tx && !implicitOpen) {
          if (!outerOpen) {
            await exec('begin');
            outerOpen = true;
          }
          ranInOuter = true;
          await exec(`savepoint ${FILE_SAVEPOINT}`);
          implicitOpen = true;
        }
        // A COMMIT or ROLLBACK of the block ends psql's savepoint with it (released first: the
        // outermost block's COMMIT is no statement of ours).
        if (tx && block !== 'none' && psqlSavepoint && (tx.kind === 'commit' || tx.kind === 'rollback')) {
          if (tx.kind === 'commit' && !aborted) await exec(`release savepoint ${GROUP_SAVEPOINT}`);
          psqlSavepoint = false;
        }
        current.savepoint = implicitOpen || psqlSavepoint;
        outcome = await runOne(it.st, it.index, it.generated);
        if (outcome) break;
      }
    } finally {
      endGroup(current, outcome, printed);
    }
    if (outcome) {
      if (implicitOpen && !lost) {
        transactionLocal.clear();
        await exec(`rollback to savepoint ${FILE_SAVEPOINT}; release savepoint ${FILE_SAVEPOINT}`).catch(() => (lost = true));
      } else if (psqlSavepoint && !lost) await exec(`rollback to savepoint ${GROUP_SAVEPOINT}; release savepoint ${GROUP_SAVEPOINT}`).catch(() => (lost = true));
      return outcome === 'stop' ? 'stop' : undefined;
    }
    if (implicitOpen) {
      await endTransactionLocal();
      await exec(`release savepoint ${FILE_SAVEPOINT}`);
    }
    if (psqlSavepoint) await exec(`release savepoint ${GROUP_SAVEPOINT}`);
    if (current.generate) return runGenerated(current.generate.rows, current.generate.at);
  };

  /** Statements to run as psql sends them: one alone, or a `\;` group. */
  const runQuery = async (items: Array<{ st: Statement; index: number; generated?: SqlLocation }>): Promise<'stop' | void> => {
    if (items.length > 1) {
      const printed: GroupPrinted = {};
      const outcome = await (items.some((it) => TX_PREFIX.test(it.st.text)) ? runTxGroup(items, printed) : runGroup(items, printed));
      if (printed.shown === false && printed.start !== undefined && printed.end !== undefined) {
        // SHOW_ALL_RESULTS off: psql prints the group's last result only, and none when a statement failed.
        const dropTo = printed.failed ? printed.end : printed.last!;
        result.output.splice(printed.start, dropTo - printed.start);
        lineOrigin.splice(printed.start, dropTo - printed.start);
      }
      return outcome;
    }
    for (const it of items) {
      if (!it.generated && runEventsBefore(it.st.end)) return 'stop';
      if ((await runOne(it.st, it.index, it.generated)) === 'stop') return 'stop';
    }
  };

  /**
   * psql's \gexec: each value of the rows, row by row and column by column, is sent as a query of its
   * own (NULLs skipped), through the same path as the file's statements; a failing one stops the file
   * under ON_ERROR_STOP, else the next one runs. A value holding several statements is one query to
   * psql, as statements joined with `\;` are (runQuery).
   */
  const runGenerated = async (rows: Array<Array<Buffer | null>>, at: SqlLocation): Promise<'stop' | void> => {
    for (const row of rows) {
      for (const cell of row) {
        if (cell === null || cell === undefined) continue;
        const query = (await generatedStatements(cell.toString('utf8'))).map((st) => ({ st, index: -1, generated: at }));
        if ((await runQuery(query)) === 'stop') return 'stop';
      }
    }
  };

  try {
    const [init] = await sql.unsafe(
      `select array(select distinct p.proname::text from pg_catalog.pg_proc p where p.pronamespace = pg_catalog.to_regnamespace($1::text)) as library_functions, ` +
        // Where an earlier file's committed CREATE EXTENSION pgtap put pgTAP: calls qualified with it reach the library.
        `array(select schema::text from ${quoteIdent(opts.librarySchema)}._tap_extension_home) as pgtap_schemas, ` +
        // psql's own variables for the connection (:DBNAME, :USER, :SERVER_VERSION_NUM, …).
        `current_database() as dbname, session_user as session_user, current_setting('server_version_num') as server_version_num, current_setting('server_version') as server_version, ` +
        // The path with the library appended is recorded for _tap_search_path() (00-core.sql).
        `set_config('${APPENDED_PATH}', set_config('search_path', concat_ws(', ', nullif(current_setting('search_path'), ''), $1::text), false), false)` +
        Object.keys(opts.settings)
          .map((_, i) => `, set_config($${i * 2 + 2}, $${i * 2 + 3}, false)`)
          .join(''),
      [opts.librarySchema, ...Object.entries(opts.settings).flat()],
    );
    libraryFunctions = new Set((init?.['library_functions'] as string[] | undefined) ?? []);
    for (const schema of (init?.['pgtap_schemas'] as string[] | undefined) ?? []) pgtapSchemas.add(schema);
    // Set as psql sets them on connecting; a reference the file did not \set itself is substituted when
    // its statement runs, as a \gset variable is (the names are the run's copy, not the configured database).
    const url = new URL(opts.url);
    // (The names are psql-script's CONNECTION_VARIABLES: `:{?DBNAME}` reads TRUE before the file runs.)
    const connected: Record<string, string> = {
      DBNAME: String(init?.['dbname'] ?? ''),
      USER: String(init?.['session_user'] ?? ''),
      HOST: decodeURIComponent(url.hostname),
      PORT: url.port || '5432',
      SERVER_VERSION_NUM: String(init?.['server_version_num'] ?? ''),
      SERVER_VERSION_NAME: String(init?.['server_version'] ?? ''),
    };
    for (const [name, value] of Object.entries(connected)) runtimeVars.set(name, value);

    // Meta-commands run when psql reads them: before any statement that ends after them (runQuery).
    const joined = joinedToNext(script, statements);
    for (let index = 0; index < statements.length; ) {
      // An \if before this statement may choose a branch it is in.
      if (runEventsBefore(statements[index]!.end)) break;
      if (skippedStatement(statements[index]!)) {
        index++;
        continue;
      }
      let last = index;
      while (joined.has(last)) last++;
      const query = statements.slice(index, last + 1).map((st, k) => ({ st, index: index + k }));
      index = last + 1;
      if ((await runQuery(query)) === 'stop') break;
    }
    if (!result.error) runEventsBefore(Number.POSITIVE_INFINITY);
  } catch (err) {
    lost = true;
    result.error = { message: `lost the connection while running the file: ${endedReason(opts.url, err)}` };
  } finally {
    let clean = !lost;
    if (clean && outerOpen) {
      // (Set in the closures above: the compiler cannot see it change.)
      const open = block as 'none' | 'outer' | 'savepoint';
      if (opts.commit && open !== 'outer') {
        // The session ends here: psql's server rolls back a block the file left open (an error stopped
        // it inside one, or it never closed it); what ran outside blocks, and blocks it committed, stay.
        if (open === 'savepoint') await exec(`rollback to savepoint ${FILE_SAVEPOINT}; release savepoint ${FILE_SAVEPOINT}`).catch(() => (clean = false));
        let server: string[] | null = null;
        if (clean) {
          server = await serverWideChanges(exec).catch((err: Error) => {
            result.notKept = `it could not be checked for changes that outlive the run (${err.message})`;
            return null;
          });
        }
        if (server?.length) result.notKept = `it changes ${server.join(', ')} outside BEGIN … ROLLBACK, which would outlive the run (create roles in sql/, or wrap them in BEGIN … ROLLBACK)`;
        if (result.notKept) result.warnings.push(`nothing it did was kept: ${result.notKept}`);
        if (clean && server?.length === 0) {
          // A deferred constraint is checked here (psql would have failed the statement that broke it).
          await exec('commit').catch((err: Error) => {
            const pg = pgFieldsOf(err);
            if (pg && !pg.sqlstate?.startsWith('08') && !pg.sqlstate?.startsWith('57P')) {
              result.notKept = `committing it failed: ${pg.message ?? err.message}`;
              result.error ??= { message: pg.message ?? err.message, pg, hint: 'a deferred constraint was broken outside BEGIN … ROLLBACK (psql fails the statement that broke it): nothing the file did was kept' };
            } else clean = false;
          });
        } else if (clean) await exec('rollback').catch(() => (clean = false));
      } else await exec('rollback').catch(() => (clean = false));
    }
    if (clean && opts.reset) await sql.unsafe(opts.reset.text, opts.reset.params as never[]).catch(() => (clean = false));
    opts.onReset?.(clean && !!opts.reset);
    await closeSql(sql, { abandon: lost });
  }
  if (lost) result.connectionLost = true;
  return finish();

  // A COPY … FROM STDIN gets the lines that followed it in the file (none when
  // the lexer found none); a COPY … TO STDOUT writes its rows to the output, as
  // psql prints them. Anything else runs as a simple query.
  async function runStatement(text: string, copyData: string | undefined): Promise<Array<Array<Buffer | null>>> {
    if (copyData !== undefined || /^\s*copy\b/i.test(stripComments(text))) {
      const copy = (await parseTree(text)) as { stmts?: Array<{ stmt?: { CopyStmt?: { is_from?: boolean; filename?: string } } }> } | undefined;
      const stmt = copy?.stmts?.[0]?.stmt?.CopyStmt;
      if (stmt && stmt.filename === undefined) {
        if (stmt.is_from) {
          await copyIn(sql, text, copyData ?? '');
          return [];
        }
        // Each line of the data as a one-column row, so it is printed as written.
        const written = await copyOut(sql, text);
        return written === '' ? [] : written.replace(/\n$/, '').split('\n').map((l) => [Buffer.from(l, 'utf8')]);
      }
    }
    const res = await exec(text);
    return Array.isArray(res) ? res : [];
  }

  async function runTransactionControl(tx: TxStatement, text: string): Promise<void> {
    switch (tx.kind) {
      case 'begin':
        if (!outerOpen) {
          // Nothing ran yet: the file's BEGIN is our transaction, with its options.
          await exec(`begin ${tx.options}`);
          outerOpen = true;
          block = 'outer';
          ranInOuter = false;
        } else if (block === 'none') {
          if (tx.options) {
            if (!ranInOuter) await exec(`set transaction ${tx.options}`);
            else result.warnings.push(`BEGIN ${tx.options}: the options were ignored (statements ran before it in rowguard's transaction)`);
          }
          await exec(`savepoint ${FILE_SAVEPOINT}`);
          block = 'savepoint';
        } else {
          // psql: WARNING: there is already a transaction in progress.
          result.messages.push('WARNING:  there is already a transaction in progress');
        }
        return;
      case 'commit':
        // COMMIT of an aborted transaction is a ROLLBACK in Postgres.
        if (aborted && block !== 'none') return runTransactionControl({ ...tx, kind: 'rollback' }, text);
        // The block's transaction ends: so do the settings made for it (AND CHAIN included).
        if (block !== 'none') await endTransactionLocal();
        if (block === 'savepoint') {
          await exec(`release savepoint ${FILE_SAVEPOINT}`);
          if (tx.chain) await exec(`savepoint ${FILE_SAVEPOINT}`);
          else block = 'none';
        } else if (block === 'outer') {
          // Not committed here: what the block did stays visible to the rest of the file, and ends with our transaction (kept with `commit`).
          // COMMIT AND CHAIN opens the next block at once: a savepoint of ours, so that its ROLLBACK undoes
          // only what ran after the chain, as psql's server would (not the committed block with it).
          if (tx.chain) {
            await exec(`savepoint ${FILE_SAVEPOINT}`);
            block = 'savepoint';
          } else block = 'none';
        } else if (tx.chain) {
          // The server refuses to chain a transaction that is no block (25P01), where a plain COMMIT only warns.
          throw outsideBlock('COMMIT AND CHAIN can only be used in transaction blocks');
        } else {
          result.messages.push('WARNING:  there is no transaction in progress');
        }
        return;
      case 'rollback':
        if (block === 'none' && tx.chain) throw outsideBlock('ROLLBACK AND CHAIN can only be used in transaction blocks');
        aborted = false;
        // Rolled back with the block (to our savepoint, or our transaction): nothing to put back.
        if (block !== 'none') transactionLocal.clear();
        if (block === 'savepoint') {
          await exec(`rollback to savepoint ${FILE_SAVEPOINT}`);
          if (!tx.chain) {
            await exec(`release savepoint ${FILE_SAVEPOINT}`);
            block = 'none';
          }
        } else if (block === 'outer') {
          if (tx.chain) {
            // The server's own chain: the next block keeps the first one's isolation level and access mode, as under psql.
            await exec('rollback and chain');
            ranInOuter = false;
          } else {
            await exec('rollback');
            outerOpen = false;
            block = 'none';
          }
        } else {
          result.messages.push('WARNING:  there is no transaction in progress');
        }
        return;
      case 'savepoint':
      case 'release':
      case 'rollback_to':
        // psql runs a statement outside a block in a transaction of its own, where the server refuses
        // these (25P01); rowguard's transaction would take them and open a block psql never had.
        if (block === 'none') throw outsideBlock(`${{ savepoint: 'SAVEPOINT', release: 'RELEASE SAVEPOINT', rollback_to: 'ROLLBACK TO SAVEPOINT' }[tx.kind]} can only be used in transaction blocks`);
        if (!outerOpen) {
          await exec('begin');
          outerOpen = true;
        }
        ranInOuter = true;
        // The file's own savepoints nest inside ours and work unchanged.
        await exec(text);
        return;
      default:
        return;
    }
  }
}

function applyTap(result: FileResult, tap: TapParse, origins: Array<SqlLocation | undefined>): void {
  result.planned = tap.plan?.count ?? null;
  if (tap.plan?.skipAll !== undefined) result.skipReason = tap.plan.skipAll;
  result.preamble = tap.preamble;
  result.problems = tap.problems;
  result.tests = tap.tests.map((t) => ({ ...t, failed: isFailure(t), ...(origins[t.line] ? { location: origins[t.line] } : {}) }));
  if (result.error) result.status = 'errored';
  else if (tap.plan?.skipAll !== undefined && tap.tests.length === 0) result.status = 'skipped';
  else if (result.tests.some((t) => t.failed) || tap.problems.length > 0) result.status = 'failed';
  else result.status = 'passed';
}

/**
 * What this transaction (or one of its subtransactions) changed that outlives
 * the database: new or altered roles (pg_authid, when this session may read
 * it), role memberships, role settings for every or another database, and
 * tablespaces; [] for none. A row is this transaction's when its xmin is still
 * in progress: another session's uncommitted rows are not visible here, so
 * concurrent sessions creating roles do not count. Dropped rows are not seen.
 */
async function serverWideChanges(exec: (text: string) => Promise<Array<Array<Buffer | null>>>): Promise<string[]> {
  const [assigned] = await exec('select pg_catalog.pg_current_xact_id_if_assigned() is not null, pg_catalog.has_table_privilege(\'pg_catalog.pg_authid\', \'select\')');
  if (assigned?.[0]?.toString() !== 't') return [];
  // age() counts from this transaction's xid: 0 for it, below 0 for the xids assigned after it (its
  // subtransactions', or another session's that committed since), which pg_xact_status tells apart.
  const mine = (x: string) => `pg_catalog.age(${x}) <= 0 and pg_catalog.pg_xact_status((c.v - pg_catalog.age(${x}))::text::xid8) = 'in progress'`;
  const parts = [
    `select format('role membership %I in %I', m.member::regrole, m.roleid::regrole) from pg_catalog.pg_auth_members m, c where ${mine('m.xmin')}`,
    `select format('settings of role %s', coalesce(nullif(s.setrole, 0)::regrole::text, 'every role')) from pg_catalog.pg_db_role_setting s, c where s.setdatabase <> (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database()) and ${mine('s.xmin')}`,
    `select format('tablespace %I', t.spcname) from pg_catalog.pg_tablespace t, c where ${mine('t.xmin')}`,
  ];
  if (assigned[1]?.toString() === 't') parts.unshift(`select format('role %I', a.rolname) from pg_catalog.pg_authid a, c where ${mine('a.xmin')}`);
  const rows = await exec(`with c as (select pg_catalog.pg_current_xact_id()::text::bigint as v) ${parts.join(' union all ')}`);
  return [...new Set(rows.map((r) => r[0]?.toString() ?? ''))];
}
