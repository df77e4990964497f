/**
 * Positions in SQL text, and statement splitting with the real Postgres parser
 * (libpg-query, loaded only when needed: it costs ~60 ms to start).
 */
import type { SqlLocation } from './errors.js';

/**
 * Postgres reports an error position as a 1-based index in characters (code
 * points) into the query string. Turn it into line/column plus the line's text.
 */
export function locateCharPosition(text: string, position: number, file: string, baseOffsetChars = 0): SqlLocation {
  const chars = Array.from(text);
  const idx = Math.max(0, Math.min(chars.length, baseOffsetChars + position - 1));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < idx; i++) {
    if (chars[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  let lineEnd = lineStart;
  while (lineEnd < chars.length && chars[lineEnd] !== '\n') lineEnd++;
  return { file, line, column: idx - lineStart + 1, source: chars.slice(lineStart, lineEnd).join('') };
}

export interface SplitStatement {
  /** Statement text (without the trailing semicolon). */
  text: string;
  /** Offset of the statement's first character, in code points, in the file. */
  startChars: number;
  /** The parse-tree node type, e.g. CreateStmt, TransactionStmt. */
  kind: string;
}

export interface ParseFailure {
  message: string;
  /** 1-based character position in the text, when the parser gave one. */
  position?: number;
}

let parserPromise: Promise<typeof import('libpg-query')> | undefined;
export function loadParser(): Promise<typeof import('libpg-query')> {
  parserPromise ??= import('libpg-query').then(async (m) => {
    await m.loadModule();
    return m;
  });
  return parserPromise;
}

/**
 * Each parsed statement's span in bytes: from just after the `;` that ends the
 * statement before it (so the whitespace and comments above a statement come
 * with it) to its end. Postgres 18's parser starts a statement at its first
 * token and 17's just after the previous `;`; both read the same here. Empty
 * statements (`;;`) belong to neither side.
 */
export function statementSpans<S extends { stmt_location?: number; stmt_len?: number }>(stmts: readonly S[], buf: Buffer): Array<S & { from: number; to: number }> {
  let prevEnd = 0;
  return stmts.map((s) => {
    const token = s.stmt_location ?? 0;
    const to = s.stmt_len ? token + s.stmt_len : buf.length;
    const between = buf.subarray(prevEnd, token).toString('utf8');
    let i = 0;
    let afterSemicolon = 0;
    for (;;) {
      i += leadingTriviaLength(between.slice(i));
      if (between[i] !== ';') break;
      afterSemicolon = ++i;
    }
    const from = prevEnd + Buffer.byteLength(between.slice(0, afterSemicolon), 'utf8');
    prevEnd = to;
    return { ...s, from, to };
  });
}

/** Byte offset (UTF-8) → code point offset. */
function byteToCharOffset(buf: Buffer, byteOffset: number): number {
  return Array.from(buf.subarray(0, byteOffset).toString('utf8')).length;
}

/**
 * Split a file into top-level statements with the Postgres 18 grammar. Returns
 * a ParseFailure when the file does not parse (the server will then report the
 * syntax error itself, with its position).
 */
export async function splitStatements(text: string): Promise<SplitStatement[] | ParseFailure> {
  const parser = await loadParser();
  let result: { stmts?: Array<{ stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }> };
  try {
    result = (await parser.parse(text)) as typeof result;
  } catch (err) {
    // The parser's cursor is Postgres' own error position (code points, 1-based), which
    // libpg-query hands back 0-based; unlike stmt_location it is not a byte offset.
    const e = err as { message?: string; sqlDetails?: { cursorPosition?: number } };
    const cursor = e.sqlDetails?.cursorPosition;
    return { message: e.message ?? String(err), position: cursor === undefined ? undefined : cursor + 1 };
  }
  const buf = Buffer.from(text, 'utf8');
  const out: SplitStatement[] = [];
  for (const s of statementSpans(result.stmts ?? [], buf)) {
    const { from: start, to: end } = s;
    const whole = buf.subarray(start, end).toString('utf8');
    // The span starts just after the previous ';', so leading whitespace and comments come along.
    const lead = leadingTriviaLength(whole);
    const raw = whole.slice(lead);
    if (raw.trim() === '') continue;
    out.push({ text: raw, startChars: byteToCharOffset(buf, start) + Array.from(whole.slice(0, lead)).length, kind: Object.keys(s.stmt)[0] ?? '' });
  }
  return out;
}

/**
 * A syntax error's `at or near "…"` quotes the rest of the text after an
 * unterminated string, identifier or comment: keep its first line, so the
 * message stays one line (`unterminated quoted string at or near "'abc…"`).
 */
export function nearTokenOneLine(message: string): string {
  return message.replace(/ at or near "([\s\S]*)"$/, (whole, token: string) => {
    const nl = token.indexOf('\n');
    if (nl < 0) return whole;
    const first = token.slice(0, nl).trimEnd();
    return ` at or near "${first}${/\S/.test(token.slice(nl)) ? '…' : ''}"`;
  });
}

export function isParseFailure(x: unknown): x is ParseFailure {
  return !Array.isArray(x);
}

/**
 * What a top-level statement does to an explicit transaction block: BEGIN / START TRANSACTION
 * open one; COMMIT / END / ROLLBACK / ABORT / PREPARE TRANSACTION close it, except with AND CHAIN,
 * which starts the next at once (the block goes on); SAVEPOINT, RELEASE, ROLLBACK TO and every
 * other statement leave it as it is (null).
 */
export function transactionBlockEffect(stmt: Record<string, unknown>): 'open' | 'close' | null {
  const t = stmt['TransactionStmt'] as { kind?: string; chain?: boolean } | undefined;
  if (!t) return null;
  if (t.kind === 'TRANS_STMT_BEGIN' || t.kind === 'TRANS_STMT_START') return 'open';
  if (t.kind === 'TRANS_STMT_COMMIT' || t.kind === 'TRANS_STMT_ROLLBACK') return t.chain ? 'open' : 'close';
  if (t.kind === 'TRANS_STMT_PREPARE') return 'close';
  return null;
}

/**
 * The BEGIN (or START TRANSACTION) of a block still open at the end of the statements, if any:
 * nothing commits it, so when the session ends Postgres rolls back what ran after it.
 */
export async function unclosedTransactionBlock(statements: readonly SplitStatement[]): Promise<SplitStatement | null> {
  let open: SplitStatement | null = null;
  const control = statements.filter((s) => s.kind === 'TransactionStmt');
  if (control.length === 0) return null;
  const parser = await loadParser();
  for (const s of control) {
    const effect = transactionBlockEffect(topLevelStatement(parser.parseSync, s.text));
    if (effect === 'open' && !open) open = s;
    if (effect === 'close') open = null;
  }
  return open;
}

/** The parse tree of the one statement `text` holds (an empty node when it holds none). */
function topLevelStatement(parseSync: (sql: string) => unknown, text: string): Record<string, unknown> {
  return (parseSync(text) as { stmts?: Array<{ stmt: Record<string, unknown> }> }).stmts?.[0]?.stmt ?? {};
}

/**
 * Top-level BEGIN/COMMIT/ROLLBACK/END/ABORT/START TRANSACTION/PREPARE TRANSACTION (with or
 * without AND CHAIN, anywhere on a line) in a file that parses, if any. The parser loads only
 * when a cheap scan finds one of those words starting a statement.
 */
export async function transactionControlStatements(text: string): Promise<SplitStatement[]> {
  if (!mayStartWithTransactionWord(text)) return [];
  const parser = await loadParser();
  const split = await splitStatements(text);
  if (isParseFailure(split)) return [];
  // Those that start or end a transaction (SAVEPOINT, RELEASE and ROLLBACK TO stay inside one).
  return split.filter((s) => s.kind === 'TransactionStmt' && transactionBlockEffect(topLevelStatement(parser.parseSync, s.text)) !== null);
}

const TRANSACTION_WORDS = new Set(['begin', 'commit', 'rollback', 'abort', 'end', 'start', 'prepare']);

/**
 * Whether a statement of `text` may start with a transaction word: a lexical scan that
 * skips comments (nested), '…' / E'…' strings, "…" identifiers and $tag$…$tag$ bodies,
 * and reads identifiers whole (`a$b$` is one). It may say yes for a statement that is
 * not transaction control (plpgsql's END inside BEGIN ATOMIC); the parser decides then.
 */
export function mayStartWithTransactionWord(text: string): boolean {
  let i = 0;
  let atStart = true;
  const n = text.length;
  const identChar = /[A-Za-z0-9_$\u0080-\uffff]/;
  while (i < n) {
    const ch = text[i]!;
    const next = text[i + 1];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '-' && next === '-') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? n : nl + 1;
    } else if (ch === '/' && next === '*') {
      let depth = 0;
      while (i < n) {
        if (text.startsWith('/*', i)) (depth++, (i += 2));
        else if (text.startsWith('*/', i)) {
          i += 2;
          if (--depth === 0) break;
        } else i++;
      }
    } else if (ch === ';') {
      atStart = true;
      i++;
    } else if (ch === "'" || ch === '"') {
      i = skipQuoted(text, i, ch, false);
      atStart = false;
    } else if ((ch === 'e' || ch === 'E') && next === "'") {
      i = skipQuoted(text, i + 1, "'", true);
      atStart = false;
    } else if (ch === '$') {
      const tag = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(text.slice(i, i + 200));
      if (tag) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? n : end + tag[0].length;
      } else i++;
      atStart = false;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(ch)) {
      let j = i + 1;
      while (j < n && identChar.test(text[j]!)) j++;
      if (atStart && TRANSACTION_WORDS.has(text.slice(i, j).toLowerCase())) return true;
      i = j;
      atStart = false;
    } else {
      i++;
      atStart = false;
    }
  }
  return false;
}

/** Index just past the quoted token starting at `start` ('' or "" doubles it; with backslashes, E'' escapes). */
function skipQuoted(text: string, start: number, quote: string, backslashes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (backslashes && c === '\\') i += 2;
    else if (c === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return text.length;
}

/** Length (UTF-16 units) of the whitespace and comments (line comments, nested block comments) at the start of `text`. */
export function leadingTriviaLength(text: string): number {
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith('--', i)) {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl + 1;
    } else if (text.startsWith('/*', i)) {
      let depth = 0;
      while (i < text.length) {
        if (text.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (text.startsWith('*/', i)) {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else return i;
  }
}

/** Nothing but whitespace, comments and semicolons: a file with no statement in it. */
export function hasNoStatement(text: string): boolean {
  let i = leadingTriviaLength(text);
  while (text[i] === ';') i += 1 + leadingTriviaLength(text.slice(i + 1));
  return i >= text.length;
}

/**
 * Where the body of a DO statement starts (UTF-16 index into `text`, just after
 * its opening quote), for mapping PL/pgSQL's `inline_code_block line N` onto the
 * file. Only for a body in dollar quotes or a plain '…' string (an E'' body's
 * escapes could hide newlines); undefined otherwise.
 */
export function doBodyOffset(text: string): number | undefined {
  const m = /^do\b/i.exec(text);
  if (!m) return undefined;
  let i = m[0].length;
  for (;;) {
    i += leadingTriviaLength(text.slice(i));
    const lang = /^language\s+("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)/i.exec(text.slice(i));
    if (lang) {
      i += lang[0].length;
      continue;
    }
    const dollar = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
    if (dollar) return i + dollar[0].length;
    if (text[i] === "'") return i + 1;
    return undefined;
  }
}
