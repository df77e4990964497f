/**
 * Just enough of psql to run files written for pg_prove as they are: a lexer
 * that tells SQL from psql meta-commands (a backslash outside quotes, dollar
 * quotes and comments runs to the end of the line), interpolates `:var`,
 * `:'var'`, `:"var"` and `:{?var}` where psql would, follows `\i`/`\ir`,
 * evaluates `\if`, and records what must happen between statements
 * (`\echo`, `\o`, `\gset`) and the data lines a COPY … FROM STDIN reads. A
 * variable that `\gset` sets is substituted when the statement or `\echo`
 * using it runs; other meta-commands and `\if` see only the variables known
 * when the lexer reads them.
 *
 * The result is one SQL text plus a map back to the original files, so the
 * real parser can split it (cli/core/sql-text.ts) and every statement, and
 * every server error position, can be reported as file:line:col.
 *
 * Pure apart from reading included files through the injected `readFile`.
 */
import { dirname, isAbsolute, join, relative } from 'node:path';

/** A piece of the output text copied from (or standing for) a place in a source file. */
export interface Span {
  /** Offset in the output text (UTF-16 units). */
  outStart: number;
  outEnd: number;
  file: string;
  /** Offset in that file's text (UTF-16 units) of the first character. */
  srcStart: number;
  /** False for interpolated variables: every output character maps to the reference. */
  verbatim: boolean;
}

export type ScriptEvent =
  | {
      kind: 'echo';
      at: number;
      text: string;
      /** `\echo`: psql's stdout; `\qecho`: the query output, which `\o file` turns away; `\warn`: stderr. */
      stream: 'stdout' | 'query' | 'stderr';
      /**
       * When the arguments name variables unknown here, which a `\gset` that
       * runs first may set: the arguments and the variables known here, to
       * expand again when the echo runs (see echoText).
       */
      pending?: { args: string; variables: Map<string, string> };
    }
  /** `\o file` (off) and `\o` (on again): whether query output is kept. */
  | { kind: 'output'; at: number; enabled: boolean }
  /** A meta-command that changes the variables the runner reads (ON_ERROR_STOP). */
  | { kind: 'set'; at: number; name: string; value: string | null }
  /** `\gset [prefix]`: the statement it ends stores its one row in variables. */
  | { kind: 'gset'; at: number; prefix: string }
  /**
   * `\gexec`: the statement it ends prints nothing; each value of its result, row by row and
   * column by column (NULLs skipped), is then sent as a statement of its own.
   */
  | { kind: 'gexec'; at: number }
  /**
   * The data of the COPY … FROM STDIN statement it ends: the lines after it
   * up to a line `\.` (or the end of the file), as psql reads them from the
   * file it runs, never interpolated.
   */
  | { kind: 'copy-data'; at: number; data: string }
  /**
   * An `\if` on a variable only a `\gset` before it sets: psql reads the variable when it reaches
   * the `\if`, after that `\gset` ran, so the branch is chosen then. Every branch's text is in the
   * output; the runner runs the first branch whose condition holds and skips the others.
   */
  | { kind: 'branch'; at: number; arms: BranchArm[] }
  /**
   * A meta-command psql fails when it reaches it: an `\i` or `\copy` of a file that is not there, an
   * `\else` or `\endif` with no `\if`, an `\elif` after `\else`, a `\set` of an invalid name, or the
   * end of a file inside an `\if` (each file read has its own `\if`s, as in psql).
   * psql reports it then (`stderr`, in its words) and stops the file under ON_ERROR_STOP, else goes
   * on with the next line; the statements before it have run. `file` and `offset` are the command's.
   */
  | { kind: 'error'; at: number; file: string; offset: number; message: string; hint?: string; stderr: string };

/** One branch of a `branch` event: its `\if`, `\elif` or `\else` and the text up to the next. */
export interface BranchArm {
  /** What psql tests, as read here (null for `\else`), and the variable to read again when it runs. */
  expr: string | null;
  variable?: string;
  /** `:{?variable}`: whether it is set, not its value. */
  defined?: boolean;
  /** `\if` or `\elif`, for psql's message about a value that is not a boolean. */
  cmd: 'if' | 'elif' | 'else';
  /** The branch's output text, [start, end). */
  start: number;
  end: number;
  /** The indexes in `events` of the branch's own meta-commands, [firstEvent, endEvent). */
  firstEvent: number;
  endEvent: number;
}

/**
 * A `:var` reference to a variable not set when the lexer read it: psql
 * would leave the text as is, but a `\gset` that runs before the statement
 * may set it, so the runner substitutes it then (offsets in the output text).
 */
export interface DeferredReference {
  start: number;
  end: number;
  name: string;
  /** `defined`: `:{?name}`, FALSE here, TRUE once the variable is set. */
  quote: 'literal' | 'identifier' | 'none' | 'defined';
}

export interface ScriptProblem {
  file: string;
  /** Offset in that file (UTF-16 units). */
  offset: number;
  message: string;
  hint?: string;
}

export interface ExpandedScript {
  /** SQL with meta-commands removed and variables interpolated. */
  sql: string;
  spans: Span[];
  events: ScriptEvent[];
  /** Top-level `;` (and `\g`) positions in `sql`, psql's own statement ends: the fallback split. */
  terminators: number[];
  /** Positions in `sql` of the `;` that stand for `\;`: the statements either side are one query to psql. */
  joins: number[];
  deferred: DeferredReference[];
  /** Source texts by file path, for line/column lookups. */
  sources: Map<string, string>;
  /** Variables at the end of the script. */
  variables: Map<string, string>;
  problem?: ScriptProblem;
}

export interface ExpandOptions {
  /** Path of the script as shown in messages. */
  file: string;
  /** Its absolute path (\ir and the \i fallback resolve against its folder); default: cwd/file. */
  path?: string;
  text: string;
  /** Where `\i` resolves relative paths (psql: the working directory). */
  cwd: string;
  readFile: (path: string) => string;
  /** Root for the displayed paths of included files (default: cwd). */
  displayRoot?: string;
  /** Initial variables, e.g. ON_ERROR_STOP=1 as pg_prove sets it. */
  variables?: Record<string, string>;
}

/**
 * A COPY statement that reads its data from the client (FROM STDIN). Read
 * from the text, as the lexer has no parser: COPY first, then FROM STDIN
 * before the statement's end.
 */
const COPY_FROM_STDIN = /^copy\b[^;]*?\bfrom\s+stdin\b/i;

/** The text without the comments and blanks before its first word. */
function stripLeadingComments(text: string): string {
  let t = text;
  for (;;) {
    const s = t.replace(/^\s+/, '');
    if (s.startsWith('--')) {
      const nl = s.indexOf('\n');
      t = nl === -1 ? '' : s.slice(nl + 1);
    } else if (s.startsWith('/*')) {
      const end = s.indexOf('*/');
      t = end === -1 ? '' : s.slice(end + 2);
    } else return s;
  }
}

/**
 * The variables psql sets on connecting that the runner sets too (run-file.ts), their values known
 * only when the file runs: `:{?name}` of one is TRUE from the start.
 */
export const CONNECTION_VARIABLES: ReadonlySet<string> = new Set(['DBNAME', 'USER', 'HOST', 'PORT', 'SERVER_VERSION_NUM', 'SERVER_VERSION_NAME']);

/** Meta-commands whose only effect is on psql's display: nothing to do here. */
const DISPLAY_ONLY = new Set(['pset', 'timing', 't', 'a', 'x', 'f', 'H', 'C', 'T', 'encoding', 'pager', 'setenv', 'conninfo', 'errverbose', 'r', 'reset']);
const MAX_INCLUDE_DEPTH = 16;

class Abort extends Error {
  constructor(readonly problem: ScriptProblem) {
    super(problem.message);
  }
}

/** psql's boolean parsing for \if and variables like ON_ERROR_STOP (case-insensitive, unique prefixes). */
export function parsePsqlBool(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === '') return undefined;
  if ('true'.startsWith(v) || 'yes'.startsWith(v) || v === 'on' || v === '1') return true;
  // psql compares at least two letters for on/off ('o' is neither), so "of" is off.
  if ('false'.startsWith(v) || 'no'.startsWith(v) || v === 'off' || v === 'of' || v === '0') return false;
  return undefined;
}

/**
 * Where the meta-command starting at `start` (its backslash) ends: the end of
 * the line, or the first backslash after its name outside single quotes,
 * double quotes and backquotes. The shell commands `\\!` and `\\setenv`-style
 * whole-line commands are refused anyway, so the quoting rules of psql's
 * normal arguments are enough.
 */
function metaCommandEnd(text: string, start: number, lineEnd: number): number {
  let i = start + 1;
  // The name: letters (and !?), or one of the one-character commands.
  const name = /^(?:[A-Za-z_!?]+|.)/.exec(text.slice(i, lineEnd));
  i += name ? name[0].length : 0;
  while (i < lineEnd) {
    const ch = text[i]!;
    if (ch === "'") {
      i++;
      while (i < lineEnd && text[i] !== "'") i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (ch === '"' || ch === '`') {
      const close = text.indexOf(ch, i + 1);
      i = close === -1 || close > lineEnd ? lineEnd : close + 1;
    } else if (ch === '\\') return i;
    else i++;
  }
  return lineEnd;
}

/**
 * psql 15's variables with a hook (startup.c's EstablishVariableSpace), which
 * check a value as it is set: Booleans (no value means on), lists of names
 * (compared without case; ECHO_HIDDEN and ON_ERROR_ROLLBACK also take a
 * Boolean, and no value means on), integers (strtol's, in an int), and
 * IGNOREEOF, which turns anything that is not a number into 10. Each is given
 * the value psql's substitute hook gives it on \unset.
 */
const BOOLEAN_VARIABLES = new Set(['AUTOCOMMIT', 'ON_ERROR_STOP', 'QUIET', 'SINGLELINE', 'SINGLESTEP', 'SHOW_ALL_RESULTS', 'HIDE_TOAST_COMPRESSION', 'HIDE_TABLEAM']);
const NAME_VARIABLES: Record<string, { values: string[]; orBoolean?: true }> = {
  ECHO: { values: ['none', 'errors', 'queries', 'all'] },
  ECHO_HIDDEN: { values: ['on', 'off', 'noexec'], orBoolean: true },
  ON_ERROR_ROLLBACK: { values: ['on', 'off', 'interactive'], orBoolean: true },
  COMP_KEYWORD_CASE: { values: ['lower', 'upper', 'preserve-lower', 'preserve-upper'] },
  HISTCONTROL: { values: ['none', 'ignorespace', 'ignoredups', 'ignoreboth'] },
  VERBOSITY: { values: ['default', 'verbose', 'terse', 'sqlstate'] },
  SHOW_CONTEXT: { values: ['never', 'errors', 'always'] },
};
const INTEGER_VARIABLES = new Set(['FETCH_COUNT', 'HISTSIZE']);
const UNSET_VALUES: Record<string, string> = { ECHO: 'none', ECHO_HIDDEN: 'off', ON_ERROR_ROLLBACK: 'off', COMP_KEYWORD_CASE: 'preserve-upper', HISTCONTROL: 'none', VERBOSITY: 'default', SHOW_CONTEXT: 'errors', FETCH_COUNT: '0', HISTSIZE: '500', IGNOREEOF: '0' };

/**
 * The values psql 15 gives those variables on starting as pg_prove starts it (`--quiet --set
 * ON_ERROR_STOP=1`): a file may read them (`:'ECHO'`) before it sets them.
 */
export const PSQL_START_VARIABLES: Readonly<Record<string, string>> = {
  AUTOCOMMIT: 'on', COMP_KEYWORD_CASE: 'preserve-upper', ECHO: 'none', ECHO_HIDDEN: 'off', FETCH_COUNT: '0', HIDE_TABLEAM: 'off', HIDE_TOAST_COMPRESSION: 'off',
  HISTCONTROL: 'none', HISTSIZE: '500', IGNOREEOF: '0', ON_ERROR_ROLLBACK: 'off', ON_ERROR_STOP: '1', QUIET: 'on', SHOW_ALL_RESULTS: 'on', SHOW_CONTEXT: 'errors',
  SINGLELINE: 'off', SINGLESTEP: 'off', VERBOSITY: 'default',
};

/** psql's ParseVariableNum: strtol with base 0 over the whole value, in an int. */
function psqlInteger(value: string): boolean {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(value);
  if (!m) return false;
  const n = Number(m[2]!.startsWith('0x') || m[2]!.startsWith('0X') ? parseInt(m[2]!, 16) : m[2]!.length > 1 && m[2]!.startsWith('0') ? parseInt(m[2]!, 8) : Number(m[2]!));
  const signed = m[1] === '-' ? -n : n;
  return signed >= -2147483648 && signed <= 2147483647;
}

/**
 * The value `\set name value` leaves, as psql 15's variable hooks leave it:
 * no value means on for a Boolean (`\set ON_ERROR_STOP` stops on errors), and
 * a value a hook does not take is refused with psql's error, the variable
 * keeping the value it had (a failed command, which ends the file under
 * ON_ERROR_STOP, as psql stops there). Other variables take any value.
 */
export function errorVariable(name: string, value: string): string | { error: string } {
  if (name === 'IGNOREEOF') return psqlInteger(value) ? value : '10';
  if (INTEGER_VARIABLES.has(name)) return psqlInteger(value) ? value : { error: `error: invalid value "${value}" for "${name}": integer expected` };
  const names = NAME_VARIABLES[name];
  if (!BOOLEAN_VARIABLES.has(name) && !names) return value;
  if (value === '' && (BOOLEAN_VARIABLES.has(name) || names?.orBoolean)) return 'on';
  if ((BOOLEAN_VARIABLES.has(name) || names?.orBoolean) && parsePsqlBool(value) !== undefined) return value;
  if (!names) return { error: `error: unrecognized value "${value}" for "${name}": Boolean expected` };
  return names.values.includes(value.toLowerCase()) ? value : { error: `error: unrecognized value "${value}" for "${name}"\nAvailable values are: ${names.values.join(', ')}.` };
}

/** The value psql's substitute hook gives a variable \unset removes, or null when it is removed. */
export function unsetVariable(name: string): string | null {
  return BOOLEAN_VARIABLES.has(name) ? 'off' : (UNSET_VALUES[name] ?? null);
}

/** psql quotes `:'var'` with PQescapeLiteral: doubled quotes, and an E'' string when there are backslashes. */
export function psqlLiteral(value: string): string {
  const body = value.replace(/'/g, "''");
  return value.includes('\\') ? ` E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

export function psqlIdentifier(value: string): string {
  return '"' + value.replace(/"/g, '""') + '"';
}

export function expandScript(opts: ExpandOptions): ExpandedScript {
  const variables = new Map<string, string>(Object.entries(opts.variables ?? {}));
  const out: string[] = [];
  let outLen = 0;
  const spans: Span[] = [];
  const events: ScriptEvent[] = [];
  const terminators: number[] = [];
  const joins: number[] = [];
  // Where the query psql sent last is in the output text (from the end of the one before, through its `;`).
  let lastSent: { start: number; end: number } | null = null;
  const deferred: DeferredReference[] = [];
  const sources = new Map<string, string>();
  // \if stack: `active` is whether text is executed; `done` whether a branch was taken.
  // A branch chosen when the file runs (an \if on a \gset variable): every branch is read as live.
  // `afterElse`: its \else was read (psql refuses an \elif or \else after it).
  const conds: Array<{ active: boolean; done: boolean; parentActive: boolean; afterElse?: boolean; branch?: Extract<ScriptEvent, { kind: 'branch' }> }> = [];
  // psql keeps a stack of \if's per file it reads (MainLoop's): where the current file's starts in `conds`.
  let condBase = 0;
  const live = () => conds.every((c) => c.active);

  const emit = (text: string, file: string, srcStart: number, verbatim: boolean) => {
    if (text === '' || !live()) return;
    const last = spans[spans.length - 1];
    if (verbatim && last && last.verbatim && last.file === file && last.outEnd === outLen && last.srcStart + (last.outEnd - last.outStart) === srcStart) {
      last.outEnd += text.length;
    } else {
      spans.push({ outStart: outLen, outEnd: outLen + text.length, file, srcStart, verbatim });
    }
    out.push(text);
    outLen += text.length;
  };

  // The output text from `offset` on (the statement being ended).
  const outputSince = (offset: number): string => {
    let tail = '';
    for (let k = out.length - 1; k >= 0 && outLen - tail.length > offset; k--) tail = out[k]! + tail;
    return tail.slice(tail.length - (outLen - offset));
  };

  // psql sends a COPY … FROM STDIN as soon as it reads its `;`, then reads
  // the data from the next line of the file on, up to a line `\.` (or the
  // end of the file). The rest of the statement's line is copied as it is;
  // anything but blanks or a comment there is refused rather than guessed at.
  // Returns where the file goes on.
  const copyData = (file: string, text: string, afterTerminator: number): number => {
    const eol = text.indexOf('\n', afterTerminator);
    const lineEnd = eol === -1 ? text.length : eol + 1;
    if (!/^\s*(--.*)?$/.test(text.slice(afterTerminator, eol === -1 ? text.length : eol).replace(/\r$/, ''))) {
      throw new Abort({ file, offset: afterTerminator, message: 'COPY … FROM STDIN: start its data on the line after the statement', hint: 'psql reads the data from the next line on, up to a line \\.' });
    }
    emit(text.slice(afterTerminator, lineEnd), file, afterTerminator, true);
    let k = lineEnd;
    let data = '';
    while (k < text.length) {
      const nl = text.indexOf('\n', k);
      const next = nl === -1 ? text.length : nl + 1;
      const line = text.slice(k, nl === -1 ? text.length : nl).replace(/\r$/, '');
      k = next;
      if (line === '\\.') break;
      data += line + '\n';
    }
    events.push({ kind: 'copy-data', at: outLen, data });
    return k;
  };

  // The files `\o <file>` has pointed psql's query output at so far (absolute paths).
  const written = new Set<string>();
  /**
   * Read one file (the test file or one it includes). An \if it leaves open is psql's error at its
   * end ("reached EOF without finding closing \endif(s)"), after what it ran; an \i'd file's \endif
   * cannot end an \if of the file that includes it.
   */
  const lex = (file: string, absPath: string, text: string, depth: number): 'quit' | void => {
    const includer = condBase;
    condBase = conds.length;
    try {
      const r = lexFile(file, absPath, text, depth);
      if (r !== 'quit' && conds.length > condBase) {
        while (conds.length > condBase) {
          const open = conds.pop()!;
          const last = open.branch?.arms[open.branch.arms.length - 1];
          if (last) {
            last.end = outLen;
            last.endEvent = events.length;
          }
        }
        // (psql names the file's last line.)
        const lastLine = text.lastIndexOf('\n', text.endsWith('\n') ? text.length - 2 : text.length - 1) + 1;
        events.push({ kind: 'error', at: outLen, file, offset: lastLine, message: 'the file ends inside an \\if block (missing \\endif)', stderr: 'error: reached EOF without finding closing \\endif(s)' });
      }
      return r;
    } finally {
      condBase = includer;
    }
  };
  const lexFile = (file: string, absPath: string, text: string, depth: number): 'quit' | void => {
    sources.set(file, text);
    let i = 0;
    let parenDepth = 0;
    const n = text.length;
    // Copy verbatim runs lazily: `from` is the start of the pending run.
    let from = 0;
    const flush = (to: number) => {
      if (to > from) emit(text.slice(from, to), file, from, true);
      from = to;
    };

    while (i < n) {
      const ch = text[i]!;
      const next = text[i + 1];
      // Comments.
      if (ch === '-' && next === '-') {
        const end = text.indexOf('\n', i);
        i = end === -1 ? n : end;
        continue;
      }
      if (ch === '/' && next === '*') {
        let depthC = 1;
        i += 2;
        while (i < n && depthC > 0) {
          if (text[i] === '/' && text[i + 1] === '*') (depthC++, (i += 2));
          else if (text[i] === '*' && text[i + 1] === '/') (depthC--, (i += 2));
          else i++;
        }
        continue;
      }
      // Quoted strings and identifiers: no interpolation or meta-commands inside.
      if (ch === "'") {
        // E'...' strings honour backslash escapes; standard strings only ''.
        const escapes = i > 0 && (text[i - 1] === 'E' || text[i - 1] === 'e') && (i < 2 || !/[A-Za-z0-9_$]/.test(text[i - 2]!));
        i++;
        while (i < n) {
          if (escapes && text[i] === '\\') i += 2;
          else if (text[i] === "'" && text[i + 1] === "'") i += 2;
          else if (text[i] === "'") {
            i++;
            break;
          } else i++;
        }
        continue;
      }
      if (ch === '"') {
        i++;
        while (i < n) {
          if (text[i] === '"' && text[i + 1] === '"') i += 2;
          else if (text[i] === '"') {
            i++;
            break;
          } else i++;
        }
        continue;
      }
      if (ch === '$' && (i === 0 || !/[A-Za-z0-9_$]/.test(text[i - 1]!))) {
        const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
        if (m) {
          const tag = m[0];
          const close = text.indexOf(tag, i + tag.length);
          i = close === -1 ? n : close + tag.length;
          continue;
        }
      }
      if (ch === '(') parenDepth++;
      else if (ch === ')') parenDepth = Math.max(0, parenDepth - 1);
      else if (ch === ';' && parenDepth === 0) {
        const stmtStart = terminators[terminators.length - 1] ?? 0;
        i++;
        flush(i);
        if (live()) {
          lastSent = { start: stmtStart, end: outLen };
          terminators.push(outLen);
          if (COPY_FROM_STDIN.test(stripLeadingComments(outputSince(stmtStart)))) {
            i = copyData(file, text, i);
            from = i;
          }
        }
        continue;
      }
      // Variable interpolation.
      if (ch === ':' && next === ':') {
        i += 2;
        continue;
      }
      if (ch === ':' && next === '{') {
        // :{?name} — whether a variable is set (psql 10+).
        const m = /^:\{\?([A-Za-z0-9_]+)\}/.exec(text.slice(i, i + 200));
        if (m) {
          flush(i);
          const known = variables.has(m[1]!) || CONNECTION_VARIABLES.has(m[1]!);
          // One a \gset sets as the file runs is TRUE from then on.
          if (!known && live()) deferred.push({ start: outLen, end: outLen + 'FALSE'.length, name: m[1]!, quote: 'defined' });
          emit(known ? 'TRUE' : 'FALSE', file, i, false);
          i += m[0].length;
          from = i;
          continue;
        }
      }
      if (ch === ':') {
        const m = /^:(?:'([A-Za-z0-9_]+)'|"([A-Za-z0-9_]+)"|([A-Za-z0-9_]+))/.exec(text.slice(i, i + 200));
        if (m) {
          const name = m[1] ?? m[2] ?? m[3]!;
          const value = variables.get(name);
          if (value !== undefined) {
            flush(i);
            const rendered = m[1] !== undefined ? psqlLiteral(value).trimStart() : m[2] !== undefined ? psqlIdentifier(value) : value;
            emit(rendered, file, i, false);
            i += m[0].length;
            from = i;
            continue;
          }
          if (live()) {
            // Still pending in the verbatim run: its output offset is outLen + (i - from).
            const start = outLen + (i - from);
            deferred.push({ start, end: start + m[0].length, name, quote: m[1] !== undefined ? 'literal' : m[2] !== undefined ? 'identifier' : 'none' });
          }
          i += m[0].length;
          continue;
        }
        i++;
        continue;
      }
      // `\;` puts a semicolon in the query without sending it (psql's way to send several statements
      // as one query): the line goes on as SQL. The parser splits them; the runner runs them as one query.
      if (ch === '\\' && next === ';') {
        flush(i);
        if (live()) joins.push(outLen);
        emit(';', file, i, false);
        i += 2;
        from = i;
        continue;
      }
      // Meta-command: from the backslash to the end of the line, or to the next unquoted backslash,
      // as psql reads it: one there starts another meta-command, and `\\` hands the rest of the
      // line back to SQL (`\echo x \\ select 1;`).
      if (ch === '\\') {
        flush(i);
        const eol = text.indexOf('\n', i);
        const lineEnd = eol === -1 ? n : eol;
        // \copy takes the whole line as its argument (psql's OT_WHOLE_LINE), backslashes included.
        const cmdEnd = /^\\copy\b/.test(text.slice(i, i + 6)) ? lineEnd : metaCommandEnd(text, i, lineEnd);
        const result = meta(file, absPath, text, i, cmdEnd, depth);
        // Keep line structure for the parser; the newline itself is copied verbatim.
        i = text.startsWith('\\\\', cmdEnd) ? cmdEnd + 2 : cmdEnd;
        from = i;
        if (result === 'quit') return 'quit';
        if (typeof result === 'object') {
          // psql runs a \copy at once as the COPY … FROM STDIN or TO STDOUT it stands for, fed
          // from the file it names or from the script's next lines: a statement of its own here,
          // mapped to the \copy line. It leaves psql's previous query as it was: a \g after it sends
          // the query before the \copy again.
          emit(result.sql + ';', file, result.at, false);
          terminators.push(outLen);
          if (result.data !== undefined) events.push({ kind: 'copy-data', at: outLen, data: result.data });
          else if (result.fromScript) {
            i = copyData(file, text, i);
            from = i;
          }
          continue;
        }
        if (result === 'send') {
          const sentFrom = terminators[terminators.length - 1] ?? 0;
          emit(';', file, i, false);
          if (live()) {
            lastSent = { start: sentFrom, end: outLen };
            terminators.push(outLen);
          }
        }
        continue;
      }
      i++;
    }
    flush(n);
  };

  /**
   * Where a file the script names is read from: an absolute path as is; \ir's against the including
   * file; \i's and \copy's against the working directory, as psql reads them, then the script's own
   * folder (a file written for pg_prove run from elsewhere usually means its own folder).
   */
  const placesOf = (target: string, absPath: string, relativeToScript: boolean): string[] =>
    isAbsolute(target) ? [target] : relativeToScript ? [join(dirname(absPath), target)] : [join(opts.cwd, target), join(dirname(absPath), target)];
  /** The first of `places` that reads; undefined when none does. */
  const readFirst = (places: string[]): { content: string; used: string } | undefined => {
    for (const used of places) {
      try {
        return { content: opts.readFile(used), used };
      } catch {
        /* try the next place */
      }
    }
    return undefined;
  };
  const lookedIn = (places: string[]) => `looked in ${places.map((c) => relative(opts.cwd, c) || c).join(' and ')}`;

  const meta = (file: string, absPath: string, text: string, start: number, end: number, depth: number): 'quit' | 'send' | SlashCopy | void => {
    const line = text.slice(start + 1, end);
    const cmdMatch = /^([A-Za-z_!?]+|\\|\.|;)/.exec(line);
    const cmd = cmdMatch ? cmdMatch[1]! : '';
    const argText = line.slice(cmd.length);
    const fail = (message: string, hint?: string): never => {
      throw new Abort({ file, offset: start, message, hint });
    };
    const args = () => splitMetaArgs(argText, variables, (m) => fail(m));

    // psql's \if / \elif: a value that is not a boolean is reported (stderr) and counts as false —
    // the file goes on, ON_ERROR_STOP or not. Except a variable not set yet where a \gset came
    // before: psql reads it when it reaches the \if, after the \gset ran, so the runner chooses
    // the branch then (a `branch` event); such a test is returned as its variable's name.
    const deferredTest = (expr: string): { expr: string; variable: string; defined?: true } | undefined => {
      if (!events.some((e) => e.kind === 'gset')) return undefined;
      const isSet = /^\s*:\{\?([A-Za-z0-9_]+)\}\s*$/.exec(argText);
      if (isSet && !variables.has(isSet[1]!) && !CONNECTION_VARIABLES.has(isSet[1]!)) return { expr, variable: isSet[1]!, defined: true };
      const unset = /^:(?:'([A-Za-z0-9_]+)'|"([A-Za-z0-9_]+)"|([A-Za-z0-9_]+))$/.exec(expr);
      return unset && parsePsqlBool(expr) === undefined ? { expr, variable: unset[1] ?? unset[2] ?? unset[3]! } : undefined;
    };
    const condition = (): boolean | { expr: string; variable: string; defined?: true } => {
      const expr = args().join(' ');
      const later = deferredTest(expr);
      if (later) return later;
      const value = parsePsqlBool(expr);
      if (value !== undefined) return value;
      events.push({ kind: 'echo', at: outLen, text: unrecognizedCondition(expr, cmd), stream: 'stderr' });
      return false;
    };
    const top = conds.length > condBase ? conds[conds.length - 1] : undefined;
    // A conditional psql refuses when it reaches it (stderr, and a stop under ON_ERROR_STOP); it changes nothing.
    const psqlError = (text: string): void => {
      events.push({ kind: 'error', at: outLen, file, offset: start, message: text, stderr: `error: ${text}` });
    };
    const openArm = (branch: Extract<ScriptEvent, { kind: 'branch' }>, arm: Pick<BranchArm, 'expr' | 'variable' | 'defined' | 'cmd'>) => {
      const last = branch.arms[branch.arms.length - 1];
      if (last) {
        last.end = outLen;
        last.endEvent = events.length;
      }
      branch.arms.push({ ...arm, start: outLen, end: outLen, firstEvent: events.length, endEvent: events.length });
    };

    // Conditionals are evaluated even inside inactive branches (to keep nesting).
    if (cmd === 'if') {
      const parentActive = live();
      const value = parentActive ? condition() : false;
      if (typeof value === 'object') {
        const branch: Extract<ScriptEvent, { kind: 'branch' }> = { kind: 'branch', at: outLen, arms: [] };
        events.push(branch);
        openArm(branch, { ...value, cmd: 'if' });
        conds.push({ active: true, done: false, parentActive, branch });
        return;
      }
      conds.push({ active: parentActive && value, done: parentActive && value, parentActive });
      return;
    }
    if (top?.branch && (cmd === 'elif' || cmd === 'else' || cmd === 'endif')) {
      // (An error event here would sit in the arm of the \else, and be skipped with it.)
      if (cmd !== 'endif' && top.afterElse) fail(`\\${cmd}: cannot occur after \\else (psql reports it and stops there under ON_ERROR_STOP)`);
      if (cmd === 'endif') {
        openArm(top.branch, { expr: null, cmd: 'else' });
        // (the arm just opened is empty: the \endif ends the last one)
        top.branch.arms.pop();
        conds.pop();
        return;
      }
      if (cmd === 'else') {
        openArm(top.branch, { expr: null, cmd: 'else' });
        top.afterElse = true;
        return;
      }
      const expr = args().join(' ');
      openArm(top.branch, { expr, cmd: 'elif', ...deferredTest(expr) });
      return;
    }
    if (cmd === 'elif' || cmd === 'else' || cmd === 'endif') {
      if (!top) return psqlError(`\\${cmd}: no matching \\if`);
      if (cmd === 'endif') {
        conds.pop();
        return;
      }
      if (top.afterElse) return psqlError(`\\${cmd}: cannot occur after \\else`);
      if (cmd === 'else') {
        top.active = top.parentActive && !top.done;
        top.done = true;
        top.afterElse = true;
        return;
      }
      const tested = top.parentActive && !top.done ? condition() : false;
      if (typeof tested === 'object') {
        fail(`\\elif: :${tested.variable} is not set when rowguard reads the \\elif of an \\if it could decide before the file runs (a \\gset sets it only then)`, 'test the variable in an \\if of its own, or the value in SQL (e.g. SELECT CASE … or skip())');
      }
      const value = tested as boolean;
      top.active = value;
      top.done = top.done || value;
      return;
    }
    if (!live()) return;

    // \g, \gset and \gexec send the query buffer; an empty one (the query already ended with `;`,
    // as in `select 1 as x;` then `\gset` on the next line) makes psql send the previous query again:
    // its text is put in once more, mapped to where it was written.
    const emptyBuffer = () => {
      if (stripLeadingComments(outputSince(terminators[terminators.length - 1] ?? 0)).trim() !== '') return;
      if (!lastSent) fail(`\\${cmd} with no query before it`);
      const { start, end } = lastSent!;
      if (COPY_FROM_STDIN.test(stripLeadingComments(outputSince(start)))) fail(`\\${cmd} after COPY … FROM STDIN: psql would send the COPY again, which rowguard does not`);
      const base = outLen;
      // The query without its `;` (the \g… that sends it again adds one).
      const last = end - 1;
      const textOf = outputSince(start).slice(0, last - start);
      for (const sp of spans.filter((x) => x.outEnd > start && x.outStart < last)) {
        const from = Math.max(sp.outStart, start);
        const to = Math.min(sp.outEnd, last);
        emit(textOf.slice(from - start, to - start), sp.file, sp.verbatim ? sp.srcStart + (from - sp.outStart) : sp.srcStart, sp.verbatim);
      }
      for (const r of deferred.filter((x) => x.start >= start && x.end <= last)) deferred.push({ ...r, start: r.start - start + base, end: r.end - start + base });
      for (const j of joins.filter((x) => x >= start && x < last)) joins.push(j - start + base);
    };

    const at = outLen;
    // Inside a branch chosen when the file runs, every branch is read: a command that changes what
    // the rest of the file reads would change it whichever branch runs.
    if (conds.some((c) => c.branch) && ['set', 'unset', 'q', 'quit'].includes(cmd)) {
      fail(`\\${cmd} inside an \\if on a variable a \\gset sets is not supported (rowguard reads every branch before the file runs and chooses one when it runs)`, 'move it out of the \\if, or test the value in SQL instead (e.g. SELECT CASE … or skip())');
    }
    switch (cmd) {
      case 'set': {
        const a = args();
        if (a.length === 0) return; // psql lists the variables: nothing to run
        const [name, ...rest] = a;
        if (!/^[A-Za-z0-9_]+$/.test(name!)) {
          // psql refuses it when it reaches it and sets nothing.
          events.push({ kind: 'error', at, file, offset: start, message: `\\set: invalid variable name "${name}"`, stderr: `error: invalid variable name: "${name}"` });
          return;
        }
        const value = errorVariable(name!, rest.join(''));
        if (typeof value === 'object') {
          events.push({ kind: 'error', at, file, offset: start, message: `\\set ${name}: ${value.error.replace(/^error: /, '').split('\n')[0]}`, stderr: value.error });
          return;
        }
        variables.set(name!, value);
        events.push({ kind: 'set', at, name: name!, value });
        return;
      }
      case 'unset': {
        const [name] = args();
        const kept = name ? unsetVariable(name) : null;
        if (name && kept !== null) {
          // psql's substitute hook: unsetting one of these gives it its default (off for a Boolean).
          variables.set(name, kept);
          events.push({ kind: 'set', at, name, value: kept });
        } else if (name) {
          variables.delete(name);
          events.push({ kind: 'set', at, name, value: null });
        }
        return;
      }
      case 'echo':
      case 'qecho':
      case 'warn': {
        const unknown: string[] = [];
        const textOut = echoText(argText, variables, unknown, (m) => fail(m));
        const pending = unknown.length > 0 ? { args: argText, variables: new Map(variables) } : undefined;
        events.push({ kind: 'echo', at, text: textOut, stream: cmd === 'warn' ? 'stderr' : cmd === 'qecho' ? 'query' : 'stdout', ...(pending ? { pending } : {}) });
        return;
      }
      case 'o':
      case 'out': {
        const a = args();
        // psql writes the query output to this file (relative to the working directory) while the
        // script runs; `|command` pipes it instead.
        if (a[0] && !a[0].startsWith('|')) written.add(isAbsolute(a[0]) ? a[0] : join(opts.cwd, a[0]));
        events.push({ kind: 'output', at, enabled: a.length === 0 });
        return;
      }
      case 'i':
      case 'include':
      case 'ir':
      case 'include_relative': {
        const [target] = args();
        if (!target) fail(`\\${cmd} needs a file name`);
        if (depth >= MAX_INCLUDE_DEPTH) fail(`\\${cmd} nested more than ${MAX_INCLUDE_DEPTH} deep (does a file include itself?)`);
        const relativeToScript = cmd === 'ir' || cmd === 'include_relative';
        const candidates = placesOf(target!, absPath, relativeToScript);
        // psql reads an included file when it reaches the \i, so it runs what an earlier \o wrote
        // there in this run (the classic way to generate SQL and run it). rowguard reads includes
        // before the file runs: it would run the file as it was on disk, stale or missing. (One that is
        // not there and that no \o writes fails where psql fails it, when the file reaches the \i.)
        const generated = candidates.find((c) => written.has(c));
        if (generated !== undefined) {
          fail(
            `\\${cmd} ${target}: reads what \\o ${target} wrote while the file ran, which rowguard cannot include (it reads every \\${cmd} before the file runs)`,
            'run the generated SQL in the database instead, e.g. a DO block that EXECUTEs each statement the query returns',
          );
        }
        const found = readFirst(candidates);
        if (!found) {
          // The statements before it run first, as psql runs them; in a branch not taken it is never read.
          events.push({ kind: 'error', at, file, offset: start, message: `\\${cmd} ${target}: no such file`, hint: lookedIn(candidates), stderr: `error: ${relativeToScript && !isAbsolute(target!) ? join(dirname(file), target!) : target}: No such file or directory` });
          return;
        }
        const { content, used } = found;
        const r = lex(relative(opts.displayRoot ?? opts.cwd, used) || used, used, content, depth + 1);
        return r === 'quit' ? 'quit' : undefined;
      }
      case 'q':
      case 'quit':
        return 'quit';
      case 'g':
        if (args().length) fail('\\g with an argument (output to a file or command) is not supported');
        emptyBuffer();
        return 'send';
      case 'gset': {
        const [prefix, ...more] = args();
        if (more.length) fail('\\gset takes at most one argument (a variable name prefix)');
        emptyBuffer();
        events.push({ kind: 'gset', at: outLen, prefix: prefix ?? '' });
        return 'send';
      }
      case 'gexec':
        emptyBuffer();
        events.push({ kind: 'gexec', at: outLen });
        return 'send';
      case 'gx':
      case 'gdesc':
      case 'crosstabview':
        fail(`\\${cmd} is not supported by rowguard test`, 'compute the value in SQL instead (e.g. a CTE, or set_config/current_setting)');
        break;
      case 'c':
      case 'connect':
        fail(`\\${cmd} is not supported: each test file runs on one connection, inside one transaction of rowguard's`);
        break;
      case 'copy': {
        if (stripLeadingComments(outputSince(terminators[terminators.length - 1] ?? 0)).trim() !== '') {
          fail('\\copy after a statement not yet ended with ;: psql would run the \\copy first, which rowguard does not', 'end the statement before the \\copy');
        }
        const c = parseSlashCopy(argText, (m, hint) => fail(m, hint));
        if (c.source === undefined) return { at: start, sql: c.sql, fromScript: c.direction === 'from' };
        // psql reads the file when it reaches the \copy; rowguard reads it before the file runs, as it reads \i files.
        const candidates = placesOf(c.source, absPath, false);
        if (candidates.some((x) => written.has(x))) {
          fail(`\\copy from ${c.source}: reads what \\o ${c.source} wrote while the file ran, which rowguard cannot read (it reads every \\copy file before the file runs)`);
        }
        const found = readFirst(candidates);
        if (!found) {
          // psql sends no COPY then.
          events.push({ kind: 'error', at, file, offset: start, message: `\\copy from ${c.source}: no such file`, hint: `${lookedIn(candidates)} (psql reads it relative to its working directory)`, stderr: `error: ${c.source}: No such file or directory` });
          return;
        }
        const { content } = found;
        return { at: start, sql: c.sql, fromScript: false, data: untilEndOfData(content) };
      }
      case '!':
      case 'setenv_shell':
        fail(`\\${cmd} (a shell command) is not supported by rowguard test`);
        break;
      default:
        if (DISPLAY_ONLY.has(cmd)) return;
        fail(`psql meta-command \\${cmd || line.trim()} is not supported by rowguard test`, 'supported: \\set \\unset \\gset \\gexec \\copy \\i \\ir \\echo \\qecho \\warn \\o \\if \\elif \\else \\endif \\g \\q, and display settings (\\pset \\timing \\t \\a \\x), which are ignored');
    }
  };

  let problem: ScriptProblem | undefined;
  try {
    lex(opts.file, opts.path ?? join(opts.cwd, opts.file), opts.text, 0);
  } catch (err) {
    if (!(err instanceof Abort)) throw err;
    problem = err.problem;
  }
  return { sql: out.join(''), spans, events, terminators, joins, deferred, sources, variables, ...(problem ? { problem } : {}) };
}

/** psql's message (stderr) for an `\if` or `\elif` whose value is not a boolean, which counts as false. */
export function unrecognizedCondition(expr: string, cmd: string): string {
  return `error: unrecognized value "${expr}" for "\\${cmd} expression": Boolean expected`;
}

/**
 * What `\echo` (or `\qecho`, `\warn`) prints for its arguments: them
 * interpolated and joined by spaces, without a leading `-n`. The names of
 * referenced variables that are not set go to `unknown`.
 */
export function echoText(args: string, variables: Map<string, string>, unknown: string[] = [], fail: (message: string) => never = (m) => {
  throw new Error(m);
}): string {
  const watched = new Map(variables);
  const get = watched.get.bind(watched);
  watched.get = (name: string) => {
    const v = get(name);
    if (v === undefined) unknown.push(name);
    return v;
  };
  const a = splitMetaArgs(args, watched, fail);
  return (a[0] === '-n' ? a.slice(1) : a).join(' ');
}

/** What a `\copy` line stands for: the COPY psql sends, and where its data comes from. */
interface SlashCopy {
  /** Offset of the `\copy` in its file. */
  at: number;
  sql: string;
  /** `from stdin`: the script's next lines, up to a line `\.`. */
  fromScript: boolean;
  /** `from 'file'`: the file's text (up to a line `\.`, where psql stops). */
  data?: string;
}

/**
 * psql's `\copy table [(columns)] | (query) from | to 'file' | stdin | stdout [options]`, read as
 * psql's parse_slash_copy reads it: the table or query up to a `from` or `to` outside quotes and
 * parentheses, then the file (single-quoted, or one word), then the COPY options as written. psql
 * sends `COPY <table> FROM STDIN <options>` (or `TO STDOUT`) and feeds it the file. A file written
 * on the client (`to 'file'`), a program, psql's own stdin or stdout and binary files are refused.
 */
export function parseSlashCopy(args: string, fail: (message: string, hint?: string) => never): { sql: string; direction: 'from' | 'to'; source?: string } {
  const text = args.trim();
  let i = 0;
  let depth = 0;
  let keyword: { at: number; direction: 'from' | 'to' } | undefined;
  while (i < text.length && !keyword) {
    const ch = text[i]!;
    if (ch === "'" || ch === '"') {
      i++;
      while (i < text.length && !(text[i] === ch && text[i + 1] !== ch)) i += text[i] === ch ? 2 : 1;
      i++;
    } else if (ch === '(') {
      depth++;
      i++;
    } else if (ch === ')') {
      depth = Math.max(0, depth - 1);
      i++;
    } else if (depth === 0 && i > 0 && /[\s)]/.test(text[i - 1]!)) {
      const m = /^(from|to)(?=\s|$)/i.exec(text.slice(i));
      if (m) keyword = { at: i, direction: m[1]!.toLowerCase() as 'from' | 'to' };
      else i++;
    } else i++;
  }
  const usage = 'write \\copy table [(columns)] from \'file\' [options], or from stdin with the rows on the next lines';
  if (!keyword) return fail('\\copy: no from or to', usage);
  const target = text.slice(0, keyword!.at).trim();
  if (target === '') fail('\\copy: no table or query before ' + keyword!.direction, usage);
  let j = keyword!.at + keyword!.direction.length;
  while (j < text.length && /\s/.test(text[j]!)) j++;
  let source: string;
  const quoted = text[j] === "'";
  if (quoted) {
    let k = j + 1;
    source = '';
    for (;;) {
      if (k >= text.length) return fail('\\copy: unterminated quoted file name', usage);
      if (text[k] === "'" && text[k + 1] === "'") {
        source += "'";
        k += 2;
      } else if (text[k] === "'") break;
      else source += text[k++];
    }
    j = k + 1;
  } else {
    const m = /^[^\s;]*/.exec(text.slice(j))!;
    source = m[0];
    j += source.length;
    if (source === '') fail(`\\copy: no file after ${keyword!.direction}`, usage);
    const word = source.toLowerCase();
    if (word === 'program') fail('\\copy … program runs a shell command, which rowguard test does not');
    if (word === 'pstdin' || word === 'pstdout') fail(`\\copy … ${word} reads or writes psql's own ${word.slice(1)}, which rowguard test does not have`, usage);
  }
  // The options as written; a trailing semicolon, which the server would take too, ends the statement here.
  const options = text.slice(j).trim().replace(/[\s;]+$/, '');
  const direction = keyword!.direction;
  const sql = `COPY ${target} ${direction === 'from' ? 'FROM STDIN' : 'TO STDOUT'}${options ? ' ' + options : ''}`;
  // psql takes stdin and stdout alike, in either direction: the script's next lines, or the output.
  if (!quoted && /^std(in|out)$/i.test(source)) return { sql, direction };
  if (direction === 'to') fail(`\\copy … to ${source}: writes a file on the client, which rowguard test does not`, 'print the rows with \\copy … to stdout, or check them with results_eq');
  if (/\bbinary\b/i.test(options)) fail('\\copy … from a file in binary format is not supported by rowguard test', 'use the text or csv format');
  return { sql, direction, source };
}

/** A \copy file's data as psql sends it: up to a line `\.`, where psql 15 stops reading. */
function untilEndOfData(content: string): string {
  const m = /(^|\n)\\\.\r?(\n|$)/.exec(content);
  return m ? content.slice(0, m.index + m[1]!.length) : content;
}

/**
 * Split a meta-command's arguments as psql does: whitespace separates,
 * 'single quotes' take C-like escapes, "double quotes" are kept with their
 * quotes, `:var` / `:'var'` / `:"var"` are interpolated; backquotes (shell
 * commands) are refused.
 */
export function splitMetaArgs(text: string, variables: Map<string, string>, fail: (message: string) => never): string[] {
  const args: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    // Another meta-command on the same line (`\set a 1 \\ \echo x`) ends this one.
    if (text[i] === '\\') break;
    let arg = '';
    while (i < n && !/\s/.test(text[i]!)) {
      const ch = text[i]!;
      if (ch === "'") {
        // A doubled quote is a quote wherever it stands, also first or last in the argument.
        i++;
        while (i < n) {
          if (text[i] === "'") {
            if (text[i + 1] !== "'") break;
            arg += "'";
            i += 2;
          } else if (text[i] === '\\' && i + 1 < n) {
            const e = text[i + 1]!;
            arg += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === 'b' ? '\b' : e === 'f' ? '\f' : e;
            i += 2;
          } else arg += text[i++];
        }
        i++;
      } else if (ch === '"') {
        const close = text.indexOf('"', i + 1);
        const end = close === -1 ? n : close + 1;
        arg += text.slice(i, end);
        i = end;
      } else if (ch === '`') {
        fail('backquoted shell commands in meta-command arguments are not supported');
      } else if (ch === ':' && /^:\{\?[A-Za-z0-9_]+\}/.test(text.slice(i))) {
        const m = /^:\{\?([A-Za-z0-9_]+)\}/.exec(text.slice(i))!;
        arg += variables.has(m[1]!) || CONNECTION_VARIABLES.has(m[1]!) ? 'TRUE' : 'FALSE';
        i += m[0].length;
      } else if (ch === ':') {
        const m = /^:(?:'([A-Za-z0-9_]+)'|"([A-Za-z0-9_]+)"|([A-Za-z0-9_]+))/.exec(text.slice(i));
        const name = m ? (m[1] ?? m[2] ?? m[3]!) : undefined;
        const value = name === undefined ? undefined : variables.get(name);
        if (m && value !== undefined) {
          arg += m[1] !== undefined ? psqlLiteral(value).trimStart() : m[2] !== undefined ? psqlIdentifier(value) : value;
          i += m[0].length;
        } else if (m) {
          // Not set: psql keeps the reference as written, quotes included.
          arg += m[0];
          i += m[0].length;
        } else {
          arg += ch;
          i++;
        }
      } else {
        arg += ch;
        i++;
      }
    }
    args.push(arg);
  }
  return args;
}

/** Map an offset in the expanded SQL to a file and an offset in it. */
export function sourceOf(script: ExpandedScript, outOffset: number): { file: string; offset: number } {
  const spans = script.spans;
  if (spans.length === 0) return { file: [...script.sources.keys()][0] ?? '', offset: 0 };
  // Binary search for the last span starting at or before outOffset.
  let lo = 0;
  let hi = spans.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (spans[mid]!.outStart <= outOffset) lo = mid;
    else hi = mid - 1;
  }
  const s = spans[lo]!;
  if (!s.verbatim) return { file: s.file, offset: s.srcStart };
  const inside = Math.min(outOffset, s.outEnd) - s.outStart;
  return { file: s.file, offset: s.srcStart + Math.max(0, inside) };
}

/** 1-based line and column (in characters) of a UTF-16 offset in a text, with the line's text. */
export function lineColumn(text: string, offset: number): { line: number; column: number; source: string } {
  const o = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < o; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  let lineEnd = text.indexOf('\n', lineStart);
  if (lineEnd === -1) lineEnd = text.length;
  return { line, column: Array.from(text.slice(lineStart, o)).length + 1, source: text.slice(lineStart, lineEnd).replace(/\r$/, '') };
}
