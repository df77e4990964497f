/**
 * Migration files: `sql/<version>_<name>.sql`, version = digits, applied in
 * numeric order. Pure apart from reading the folder.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RowguardError } from '../errors.js';

export interface MigrationFile {
  /** Digits as written (`0001`, `20260101120000`). */
  version: string;
  name: string;
  /** Absolute path. */
  path: string;
  /** Path relative to the cwd/root, for messages. */
  displayPath: string;
  /** Content with CRLF/CR normalised to LF (what is executed and checksummed). */
  sql: string;
  /** sha256 hex of the normalised content. */
  checksum: string;
  /** First line is `-- rowguard:no-transaction`. */
  noTransaction: boolean;
}

/** The Supabase CLI's rule (`^([0-9]+)_(.*)\.sql$`): any name after the version, here without control characters. */
export const FILE_PATTERN = /^(\d+)_([^\x00-\x1f\x7f]*)\.sql$/;
export const NO_TRANSACTION = /^--\s*rowguard:no-transaction\s*$/;

export function normaliseLineEndings(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

export function checksumOf(text: string): string {
  return createHash('sha256').update(normaliseLineEndings(text), 'utf8').digest('hex');
}

/** Numeric comparison of digit strings of any length (leading zeros ignored). */
export function compareVersions(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The first two files whose order by version (numbers: how rowguard applies them) is not their order
 * by file name — how the Supabase CLI applies a folder (Go's fs.ReadDir lists it by name, and it
 * compares versions as strings) and how a shell expands *.sql: `9_y.sql` runs before `10_x.sql`
 * here, after it there. Null when the two orders agree (versions of one width always do).
 */
export function nameOrderInversion(files: readonly MigrationFile[]): [MigrationFile, MigrationFile] | null {
  const fileName = (f: MigrationFile) => Buffer.from(`${f.version}_${f.name}.sql`, 'utf8');
  // A sequence is in name order exactly when each neighbour pair is: the first pair that is not is the one to name.
  for (let i = 1; i < files.length; i++) {
    if (Buffer.compare(fileName(files[i - 1]!), fileName(files[i]!)) > 0) return [files[i - 1]!, files[i]!];
  }
  return null;
}

export function parseMigration(path: string, fileName: string, content: string, displayRoot: string): MigrationFile {
  const m = FILE_PATTERN.exec(fileName);
  if (!m) throw new RowguardError('migration_invalid_file', `${fileName}: not a migration file name`, { hint: 'name migrations <digits>_<name>.sql, e.g. 0001_init.sql' });
  const sql = normaliseLineEndings(content.replace(/^\uFEFF/, ''));
  const firstLine = sql.split('\n', 1)[0] ?? '';
  return {
    version: m[1]!,
    name: m[2]!,
    path,
    displayPath: relative(displayRoot, path) || fileName,
    sql,
    checksum: createHash('sha256').update(sql, 'utf8').digest('hex'),
    noTransaction: NO_TRANSACTION.test(firstLine),
  };
}

/**
 * A migration's text, refusing bytes that are not UTF-8 (a Latin-1 'é'): decoding
 * them would turn each into U+FFFD, so the server would store a different string
 * than the file holds (psql sends the bytes and the server refuses them), and an
 * edit of such a byte would keep the checksum.
 */
export function decodeUtf8(bytes: Buffer, displayPath: string): string {
  if (isUtf8(bytes)) {
    const text = bytes.toString('utf8');
    const nul = text.indexOf('\0');
    if (nul !== -1) {
      // A query is a NUL-terminated string on the wire: the server would refuse the message (psql stops reading the line there).
      const before = text.slice(0, nul);
      const line = before.split('\n').length;
      const lineStart = before.lastIndexOf('\n') + 1;
      const lineEnd = text.indexOf('\n', nul);
      throw new RowguardError('migration_invalid_file', 'contains a NUL byte (0x00), which no PostgreSQL query can hold', {
        location: { file: displayPath, line, column: Array.from(text.slice(lineStart, nul)).length + 1, source: text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd).replace(/\0/g, '\\0') },
        hint: 'remove it (a file saved as UTF-16 is full of them: save it as UTF-8)',
      });
    }
    return text;
  }
  // Walk the lossy decoding until it stops matching the bytes: that is the first bad sequence.
  const text = bytes.toString('utf8');
  let offset = 0;
  let line = 1;
  let column = 1;
  let lineStart = 0;
  for (const ch of text) {
    const enc = Buffer.from(ch, 'utf8');
    if (!bytes.subarray(offset, offset + enc.length).equals(enc)) break;
    offset += enc.length;
    if (ch === '\n') {
      line++;
      column = 1;
      lineStart = offset;
    } else column++;
  }
  const lineEnd = bytes.indexOf(0x0a, lineStart);
  const source = bytes.subarray(lineStart, lineEnd === -1 ? bytes.length : lineEnd).toString('utf8').replace(/\r$/, '');
  throw new RowguardError('migration_invalid_file', `not valid UTF-8 (byte 0x${bytes[offset]!.toString(16).padStart(2, '0')}): rowguard reads SQL files as UTF-8 (the server is sent UTF-8, migrations are checksummed as it)`, {
    location: { file: displayPath, line, column, source },
    hint: 'save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)',
  });
}

function isFileBehindLink(path: string, displayPath: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    throw new RowguardError('migration_invalid_file', `${displayPath} is a symbolic link to nothing`, { hint: 'point it at the migration file, or remove it' });
  }
}

/**
 * Read every migration of a folder, sorted by version. Files that end in .sql
 * but do not follow the naming rule, and duplicate versions, are errors (a typo'd
 * file would otherwise be silently skipped).
 */
export function readMigrations(dir: string, displayRoot: string): MigrationFile[] {
  if (!existsSync(dir)) return [];
  // A symlinked file is a migration too, and 0002_x.SQL is a misnamed one: neither may be skipped in silence.
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((e) => /\.sql$/i.test(e.name) && (e.isFile() || (e.isSymbolicLink() && isFileBehindLink(join(dir, e.name), relative(displayRoot, join(dir, e.name)) || e.name))))
    .map((e) => e.name);
  const bad = entries.filter((n) => !FILE_PATTERN.test(n));
  if (bad.length) {
    throw new RowguardError('migration_invalid_file', `${relative(displayRoot, dir) || dir}: ${bad.map((b) => `"${b}"`).join(', ')} not named <version>_<name>.sql`, {
      hint: 'rename it (e.g. 0007_add_index.sql) or move it out of the migrations folder',
    });
  }
  const files = entries.map((n) => parseMigration(join(dir, n), n, decodeUtf8(readFileSync(join(dir, n)), relative(displayRoot, join(dir, n)) || n), displayRoot));
  files.sort((a, b) => compareVersions(a.version, b.version) || a.name.localeCompare(b.name));
  for (let i = 1; i < files.length; i++) {
    if (compareVersions(files[i - 1]!.version, files[i]!.version) === 0) {
      throw new RowguardError('migration_invalid_file', `two migrations share version ${files[i]!.version}: ${files[i - 1]!.displayPath} and ${files[i]!.displayPath}`, {
        hint: 'give one of them the next free version',
      });
    }
  }
  return files;
}

/**
 * The next file name in a folder, following its convention: timestamps
 * (YYYYMMDDHHMMSS, 14 digits) when the folder uses them, else the next sequential
 * number at the same width (0001 when empty).
 */
export function nextMigrationName(existing: readonly Pick<MigrationFile, 'version'>[], name: string, now: Date): string {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!slug) throw new RowguardError('usage', `migration name "${name}" has no letters or digits`);
  const last = existing[existing.length - 1];
  if (last && last.version.length === 14) {
    const pad = (n: number) => String(n).padStart(2, '0');
    let stamp = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
    // Two `new` calls within a second must still produce increasing versions.
    if (compareVersions(stamp, last.version) <= 0) stamp = (BigInt(last.version) + 1n).toString();
    return `${stamp}_${slug}.sql`;
  }
  const width = last ? last.version.length : 4;
  const next = last ? BigInt(last.version) + 1n : 1n;
  return `${next.toString().padStart(width, '0')}_${slug}.sql`;
}
