/**
 * Migration files read without running them: each file is parsed with the
 * Postgres 18 grammar (libpg-query), and every statement is paired with the
 * table state before it, tracked across the files in order (CREATE / DROP /
 * RENAME / ALTER TABLE … ADD / DROP / TYPE). A table is *existing* for a
 * statement when an earlier file created it, or when no migration created it
 * at all (it came from elsewhere, e.g. GoTrue's auth.users); it is *new* when
 * the same file created it earlier (nobody else can see it yet, and it holds
 * no rows). Bodies of functions are not read (they run later, if ever); in a
 * DO block, plain DDL statements are found and judged like top-level ones
 * (EXECUTE strings are not).
 */
import { NO_TRANSACTION } from '../migrate/files.js';
import { copyFromStdinOffset } from '../migrate/psql-copy.js';
import { RowguardError } from '../errors.js';
import { doBodyOffset, leadingTriviaLength, statementSpans, transactionBlockEffect } from '../sql-text.js';

type Body = Record<string, unknown>;

export interface ColumnType {
  /** Type name without schema, as the grammar gives it (`int4`, `varchar`, `text`, `numeric`). */
  name: string;
  /** Type modifiers (`varchar(20)` → [20]); empty when none. */
  mods: number[];
  array: boolean;
}

export interface TableState {
  qualified: string;
  /** Index of the file that created it; -1 when no migration did (it existed before them). */
  createdInFile: number;
  /** Display path of that file (null when no migration created it). */
  createdIn: string | null;
  /** Created PARTITION BY (CREATE INDEX CONCURRENTLY is not supported on it). */
  partitioned: boolean;
  /** The partitioned table it is a partition of (CREATE … PARTITION OF, ATTACH PARTITION), if any. */
  partitionOf: string | null;
  /** Its foreign keys the migrations added, with whether they are validated. */
  foreignKeys: ReadonlyArray<ForeignKeyState>;
  /** Columns declared NOT NULL (or PRIMARY KEY) as far as the migrations show. */
  notNull: ReadonlySet<string>;
  columns: ReadonlyMap<string, ColumnType>;
  /**
   * CHECK constraints by name (unnamed ones under `#n`), with the columns they prove NOT
   * NULL (`col IS NOT NULL [AND …]`) and whether they are validated: a validated one lets
   * SET NOT NULL skip its scan (PG12+, NotNullImpliedByRelConstraints), and ATTACH
   * PARTITION skip its own when it implies the partition bound.
   */
  checks: ReadonlyMap<string, { columns: readonly string[]; validated: boolean }>;
}

export interface ForeignKeyState {
  name: string;
  columns: readonly string[];
  /** `schema.table` it references. */
  references: string;
  validated: boolean;
}

export interface IndexState {
  /** `schema.index` (an index lives in its table's schema). */
  qualified: string;
  table: string;
  /** Key columns (null for an expression key). */
  columns: ReadonlyArray<string | null>;
  /** Index of the file that created it. */
  createdInFile: number;
}

export interface Suppression {
  rule: string;
  reason: string;
  location: { file: string; line: number; column: number };
}

export interface MigrationStatement {
  /** Display path of the file. */
  file: string;
  fileIndex: number;
  /** Whether this file is judged by the migration-safety rules (new since the ref / pending). */
  judged: boolean;
  /**
   * Files (by index) that one `migrate up` applies together with this one: its own, and when
   * it is new to the target, every other new file. What they create is new here too.
   */
  deploysWith: ReadonlySet<number>;
  /** libpg-query node type (`AlterTableStmt`, …) and body. */
  type: string;
  body: Body;
  /** Where the statement starts (its first token) and the line it ends on. */
  line: number;
  column: number;
  endLine: number;
  /**
   * Catalog objects the statement creates or changes, named as findings name
   * them (`schema.table`, `policy on schema.table`, `schema.fn(`), so a
   * `-- rowguard-lint-ignore` above it also covers catalog findings on them.
   */
  objects: string[];
  /** file:line:col of a node location inside the statement (byte offset from the parser). */
  at(byteLocation: number | undefined): { file: string; line: number; column: number };
  /** `-- rowguard-lint-ignore rule: why` comments just above the statement. */
  suppressions: Suppression[];
  /**
   * How unqualified names resolve here, under the search_path the file set (SET, SET LOCAL while
   * its transaction lasts, set_config), else the database's, else `"$user", public`.
   */
  names: Names;
  /** Tables as they were before this statement ran. */
  tablesBefore: ReadonlyMap<string, TableState>;
  /** Indexes migrations created (CREATE INDEX), as they were before this statement ran. */
  indexesBefore: ReadonlyMap<string, IndexState>;
  /** Whether the file set lock_timeout before this statement. */
  lockTimeoutSet: boolean;
  /** The TimeZone the file set before this statement (SET [LOCAL] TIME ZONE), null when it set none. */
  timeZone: string | null;
  /** Whether the engine runs the file in one transaction (no `-- rowguard:no-transaction` first line). */
  fileTransactional: boolean;
  /**
   * Whether the statement runs inside a transaction block: the file's own, or, in a
   * no-transaction file, a BEGIN … COMMIT block the file opens.
   */
  transactional: boolean;
  /** Line of the BEGIN of the no-transaction file's block the statement runs in (null: not in one). */
  blockLine: number | null;
  /**
   * The transaction the statement runs in, as a key: statements with the same key share one
   * (and the locks it holds); outside a block of a no-transaction file each statement has its own.
   */
  transaction: string;
}

export interface MigrationSource {
  displayPath: string;
  sql: string;
  judged: boolean;
  /**
   * New to the target (not in its history; added since the ref): applied in one run with the
   * other new files, so a table an earlier new file creates does not exist before that run.
   */
  isNew?: boolean;
}

const IGNORE_COMMENT = /^\s*--\s*rowguard-lint-ignore\s+([A-Za-z0-9_-]+)\s*(?::\s*(.*?))?\s*$/;

/** Byte offset ↔ line/column (1-based, columns in code points) for one file. */
class LineIndex {
  readonly buf: Buffer;
  private readonly lineStarts: number[] = [0];
  constructor(text: string) {
    this.buf = Buffer.from(text, 'utf8');
    for (let i = 0; i < this.buf.length; i++) if (this.buf[i] === 0x0a) this.lineStarts.push(i + 1);
  }
  at(byte: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= byte) lo = mid;
      else hi = mid - 1;
    }
    const start = this.lineStarts[lo]!;
    return { line: lo + 1, column: Array.from(this.buf.subarray(start, byte).toString('utf8')).length + 1 };
  }
  slice(from: number, to: number): string {
    return this.buf.subarray(from, to).toString('utf8');
  }
  get length(): number {
    return this.buf.length;
  }
}

function strings(list: unknown): string[] {
  return Array.isArray(list) ? list.map((x) => String(((x as Record<string, Body>)['String'] as { sval?: string } | undefined)?.sval ?? '')) : [];
}

/**
 * How unqualified names resolve at one statement, as Postgres resolves them (namespace.c): an
 * existing object is looked for in each schema of the effective search_path in turn — the session's
 * temp schema first unless the path lists pg_temp, then pg_catalog unless listed, then the path's
 * schemas that exist, "$user" standing for the role that runs the file — and the first schema that
 * holds the name wins. A CREATE puts its object in the first schema of the path that exists (in
 * pg_temp for CREATE TEMP). A name nothing holds (a relation neither the database, when known, nor
 * the files so far have) is taken to be in the schema a CREATE would use.
 */
export class Names {
  constructor(
    /** The schemas an existing object is looked for in, in order. */
    readonly searched: readonly string[],
    /** Where a CREATE without a schema puts its object; pg_catalog when the path names no schema that exists (Postgres then refuses the CREATE). */
    readonly creation: string,
    /** Whether a relation (table, view, index, sequence: they share one namespace per schema) exists here. */
    readonly holdsRelation: (qualified: string) => boolean,
  ) {}

  /** `schema.name` of a name (a list of parts: a database name in front is dropped), looked up among what `holds` (relations by default). */
  lookup(parts: readonly string[], holds: (qualified: string) => boolean = this.holdsRelation): string {
    if (parts.length > 1) return parts.slice(-2).join('.');
    const name = parts[0] ?? '';
    for (const schema of this.searched) if (holds(`${schema}.${name}`)) return `${schema}.${name}`;
    return `${this.creation}.${name}`;
  }

  /** The existing relation a RangeVar names. */
  relation(rangeVar: unknown): string {
    const r = (rangeVar ?? {}) as Body;
    const schema = r['schemaname'] as string | undefined;
    return schema !== undefined ? `${schema}.${r['relname'] as string}` : this.lookup([r['relname'] as string]);
  }

  /** The relation a CREATE of a RangeVar makes: in its schema, else pg_temp for a temp one, else the creation schema. */
  created(rangeVar: unknown): string {
    const r = (rangeVar ?? {}) as Body;
    const schema = (r['schemaname'] as string | undefined) ?? (r['relpersistence'] === 't' ? 'pg_temp' : this.creation);
    return `${schema}.${r['relname'] as string}`;
  }

  /** An existing object named by a parsed name list (a type, domain, dropped relation…), looked up among what `holds`. */
  object(names: unknown, holds?: (qualified: string) => boolean): string {
    return this.lookup(strings(names), holds);
  }

  /** The object a CREATE of a parsed name list (a type, domain, function) makes. */
  createdObject(names: unknown): string {
    const parts = strings(names);
    return parts.length > 1 ? parts.slice(-2).join('.') : `${this.creation}.${parts[0]}`;
  }

  /** The relations a DROP statement names (tables, indexes…). */
  dropped(body: Body): string[] {
    return ((body['objects'] as Array<Record<string, Body>> | undefined) ?? []).map((o) => this.object(o['List']?.['items']));
  }
}

export function typeOf(typeName: unknown): ColumnType {
  const t = (typeName ?? {}) as Body;
  const names = strings(t['names']);
  const mods = Array.isArray(t['typmods'])
    ? (t['typmods'] as Array<Record<string, Body>>).map((m) => Number(((m['A_Const']?.['ival'] as { ival?: number } | undefined)?.ival ?? 0)))
    : [];
  return { name: names[names.length - 1] ?? '', mods, array: Array.isArray(t['arrayBounds']) };
}

/** What the lint knows of the database the files run on (nothing when it reads the files alone). */
export interface MigrationDatabase {
  /** Its relations (`schema.name`: tables, views, indexes…). */
  relations: ReadonlySet<string>;
  /**
   * It is the target and has not run the new files (`isNew`): its relations are all there before
   * them, and in them CREATE TABLE of one of those creates nothing (the table keeps its rows).
   * Otherwise it is taken to have run every file, so a relation some file creates is not there
   * before that file.
   */
  pending: boolean;
  /** Its schemas (a search_path entry naming none of them, nor a schema the files create, is skipped, as Postgres skips it). */
  schemas: ReadonlySet<string>;
  /** The search_path a new session there starts with (`migrate up` runs each file in such a session). */
  searchPath: readonly string[];
  /** The role that runs the files, which "$user" in a search_path stands for. */
  role: string | null;
}

type Unit = { stmt: Record<string, Body>; from: number; to: number; base: number };

/**
 * Parse every file (in order) into statements with the state before each.
 * A file that does not parse is a usage error with its file:line:col.
 * Without `db`, every schema a search_path names is taken to exist, "$user" names none, and a
 * session starts with `"$user", public`.
 */
export function readMigrationStatements(files: readonly MigrationSource[], parseSync: (sql: string) => unknown, db?: MigrationDatabase): MigrationStatement[] {
  const parsed = files.map((file) => parseFile(file, parseSync));
  if (!db) return walkStatements(files, parsed, undefined, new Set());
  // Which of the database's relations were there before the files: not those a file the database ran creates
  // (a first reading tells which), or a reference before that file would find one that is not there yet.
  const made = new Set<string>();
  walkStatements(files, parsed, db, db.relations, (q, fileIndex) => {
    if (!(db.pending && files[fileIndex]!.isNew)) made.add(q);
  });
  return walkStatements(files, parsed, db, new Set([...db.relations].filter((q) => !made.has(q))));
}

/** A file's top-level statements, each followed by the DDL found inside it when it is a DO block. */
function parseFile(file: MigrationSource, parseSync: (sql: string) => unknown): { idx: LineIndex; units: Unit[] } {
  const idx = new LineIndex(file.sql);
  let parsed: { stmts?: Array<{ stmt: Record<string, Body>; stmt_location?: number; stmt_len?: number }> };
  try {
    // An empty file is a migration of no statement (Postgres runs '' as nothing; Supabase's CLI keeps such files),
    // but libpg_query refuses '' as "Query cannot be empty" — whitespace or a comment alone it reads as no statement.
    parsed = (file.sql === '' ? { stmts: [] } : parseSync(file.sql)) as typeof parsed;
  } catch (err) {
    const e = err as { message?: string; sqlDetails?: { cursorPosition?: number } };
    // Rows after a COPY … FROM STDIN are psql's input, not SQL: say so at the COPY (migrate up refuses it too).
    const copy = copyFromStdinOffset(file.sql, file.displayPath);
    if (copy !== null) {
      const at = idx.at(Buffer.byteLength(file.sql.slice(0, copy)));
      throw new RowguardError('sql', 'COPY … FROM STDIN in a migration: psql sends the lines after it as its rows, rowguard sends the file to the server as SQL', {
        location: { file: file.displayPath, line: at.line, column: at.column },
        hint: 'write the rows as INSERT … VALUES (pg_dump --inserts writes them so), or load them with psql outside the migrations',
      });
    }
    const pos = idx.at(Math.min(e.sqlDetails?.cursorPosition ?? 0, idx.length));
    throw new RowguardError('sql', e.message ?? 'syntax error', {
      location: { file: file.displayPath, line: pos.line, column: pos.column },
      hint: 'fix the syntax error; lint reads migrations with the Postgres 18 grammar',
    });
  }
  const units: Unit[] = [];
  for (const s of statementSpans(parsed.stmts ?? [], idx.buf)) {
    const { from, to } = s;
    units.push({ stmt: s.stmt, from, to, base: 0 });
    if (s.stmt['DoStmt']) units.push(...doBlockStatements(idx.slice(from, to), from, parseSync));
  }
  return { idx, units };
}

/**
 * When each relation exists, as statement numbers: a relation a statement creates is there from
 * the next one on. The state before each statement, without a copy of the set per statement.
 */
class Presence {
  private readonly spans = new Map<string, number[]>(); // from, to, from, to… (to: Infinity while it is there)
  add(q: string, at: number): void {
    const s = this.spans.get(q);
    if (!s) this.spans.set(q, [at + 1, Infinity]);
    else if (s[s.length - 1] !== Infinity) s.push(at + 1, Infinity);
  }
  remove(q: string, at: number): void {
    const s = this.spans.get(q);
    if (s && s[s.length - 1] === Infinity) s[s.length - 1] = at + 1;
  }
  has(q: string, at: number): boolean {
    const s = this.spans.get(q);
    if (!s) return false;
    for (let i = 0; i < s.length; i += 2) if (s[i]! <= at && at < s[i + 1]!) return true;
    return false;
  }
  /** The relations there now whose name starts with `prefix`. */
  current(prefix: string): string[] {
    return [...this.spans].filter(([q, s]) => q.startsWith(prefix) && s[s.length - 1] === Infinity).map(([q]) => q);
  }
}

/**
 * One reading of the files: each statement with the state before it. `before`: the database's
 * relations that are there before the files; `onCreate` hears of each relation a file creates.
 */
function walkStatements(
  files: readonly MigrationSource[],
  parsed: ReadonlyArray<{ idx: LineIndex; units: Unit[] }>,
  db: MigrationDatabase | undefined,
  before: ReadonlySet<string>,
  onCreate?: (qualified: string, fileIndex: number) => void,
): MigrationStatement[] {
  // Schemas that exist as the files go (the target's, when known, and those the files create): Postgres skips a
  // search_path entry naming no schema, and looks again at each statement (a schema created later is used then).
  const schemas = new Set(db?.schemas ?? []);
  const exists = (name: string) => db === undefined || schemas.has(name);
  const startPath = db?.searchPath ?? ['$user', 'public'];
  const role = db?.role ?? null;
  const tables = new Map<string, TableState>();
  const indexes = new Map<string, IndexState>();
  const out: MigrationStatement[] = [];
  const newFiles: ReadonlySet<number> = new Set(files.flatMap((f, i) => (f.isNew ? [i] : [])));
  const present = new Set(db?.pending ? db.relations : []); // the target's relations, less those the files drop or rename
  const relations = new Presence();
  for (const q of before) relations.add(q, -1);
  let seq = 0;
  files.forEach((file, fileIndex) => {
    const deploysWith = file.isNew ? newFiles : new Set([fileIndex]);
    const { idx, units } = parsed[fileIndex]!;
    // search_path as the session has it, and as SET LOCAL has it until the transaction ends (undefined: not set).
    let sessionPath: SearchPath = 'start';
    let localPath: SearchPath | undefined;
    // The role "$user" stands for as the session has it (SET ROLE, SET SESSION AUTHORIZATION), and as SET LOCAL has it (undefined: not set).
    let sessionRole: string | undefined;
    let localRole: string | undefined;
    // Whether the session has a temp schema: pg_temp is looked in first from the first temp table on.
    let temp = false;
    // lock_timeout and TimeZone as the session has them, and as SET LOCAL has them until the transaction ends (undefined: not set).
    let lockTimeoutSet = false;
    let timeZone: string | null = null;
    let localLockTimeout: boolean | undefined;
    let localTimeZone: string | null | undefined;
    const fileTransactional = !NO_TRANSACTION.test(file.sql.split('\n', 1)[0] ?? '');
    // An explicit BEGIN … COMMIT block of a no-transaction file (the engine runs the file statement by statement).
    let blockLine: number | null = null;
    let blocks = 0;
    for (const [unitIndex, u] of units.entries()) {
      const type = Object.keys(u.stmt)[0]!;
      const body = u.stmt[type]!;
      const { from, to, base } = u;
      const raw = idx.slice(from, to);
      // The statement's first token: skip the whitespace and comments the parser attaches in front.
      const lead = leadingTriviaLength(raw);
      const startByte = from + Buffer.byteLength(raw.slice(0, lead), 'utf8');
      const start = idx.at(startByte);
      const suppressions: Suppression[] = [];
      const leadText = raw.slice(0, lead);
      let lineNo = start.line - leadText.split('\n').length + 1;
      // A DO block's comments cover the statements inside it through its span: not repeated here.
      for (const l of base ? [] : leadText.split('\n')) {
        const m = IGNORE_COMMENT.exec(l);
        if (m) suppressions.push({ rule: m[1]!, reason: (m[2] ?? '').trim(), location: { file: file.displayPath, line: lineNo, column: l.indexOf('--') + 1 } });
        lineNo++;
      }
      const transactional = fileTransactional || blockLine !== null;
      const at = seq++;
      // The first reading (onCreate) only asks what the files create, as it goes: no copy of the state per statement.
      const tablesBefore = onCreate ? tables : new Map(tables);
      const indexesBefore = onCreate ? indexes : new Map(indexes);
      const active = localPath ?? sessionPath;
      const user = localRole ?? sessionRole ?? role;
      // "$user" names the role's schema when there is one (without the database, only one the files created).
      const userSchema = user !== null && schemas.has(user) ? user : null;
      const activePath = active === 'start' ? startPath : active;
      const names = namesFor(activePath, exists, userSchema, temp, (q) => relations.has(q, at) || tablesBefore.has(q) || indexesBefore.has(q));
      // What a statement (or an element of CREATE SCHEMA) changes, for the statements after it.
      const track = (type: string, body: Body, names: Names) => {
        const changes = relationChanges(type, body, names, indexes);
        for (const q of changes.gone) relations.remove(q, at);
        for (const q of changes.made) {
          relations.add(q, at);
          onCreate?.(q, fileIndex);
          if (q.startsWith('pg_temp.')) temp = true;
        }
        applyToState(tables, type, body, names, fileIndex, file.displayPath, present, file.isNew === true, base !== 0);
        applyToIndexes(indexes, type, body, names, fileIndex);
      };
      out.push({
        file: file.displayPath,
        fileIndex,
        judged: file.judged,
        deploysWith,
        type,
        body,
        line: start.line,
        column: start.column,
        endLine: idx.at(Math.max(startByte, to - 1)).line,
        objects: objectsOf(type, body, names),
        at: (byte) => ({ file: file.displayPath, ...(byte === undefined ? start : idx.at(base + byte)) }),
        suppressions,
        names,
        tablesBefore,
        indexesBefore,
        lockTimeoutSet: localLockTimeout ?? lockTimeoutSet,
        timeZone: localTimeZone !== undefined ? localTimeZone : timeZone,
        fileTransactional,
        transactional,
        blockLine,
        transaction: fileTransactional ? `${fileIndex}` : blockLine !== null ? `${fileIndex}:block${blocks}` : `${fileIndex}:statement${unitIndex}`,
      });
      // Track what this statement changes, for the statements after it.
      // SET LOCAL outside a transaction block does nothing (Postgres only warns); inside one it lasts until
      // the block ends. A plain SET (or RESET) replaces it at once, and lasts past the commit.
      const local = !!body['is_local'];
      if (type === 'VariableSetStmt' && body['name'] === 'lock_timeout' && !(local && !transactional)) {
        if (local) localLockTimeout = setsTimeout(body);
        else [lockTimeoutSet, localLockTimeout] = [setsTimeout(body), undefined];
      }
      if (type === 'VariableSetStmt' && body['name'] === 'timezone' && !(local && !transactional)) {
        const v = ((body['args'] as Array<Record<string, Body>> | undefined) ?? [])[0]?.['A_Const']?.['sval'] as { sval?: string } | undefined;
        const zone = body['kind'] === 'VAR_SET_VALUE' ? (v?.sval ?? null) : null;
        if (local) localTimeZone = zone;
        else [timeZone, localTimeZone] = [zone, undefined];
      }
      // search_path: SET [LOCAL] search_path (each value one schema name), RESET or DEFAULT (back to where the file started),
      // and set_config('search_path', 'a, b', is_local) as pg_dump writes it (the string split as Postgres splits the setting).
      const path = type === 'VariableSetStmt' && (body['name'] === 'search_path' || body['kind'] === 'VAR_RESET_ALL') ? searchPathSet(body) : type === 'SelectStmt' ? setConfigSearchPath(body, transactional) : null;
      if (path !== null && !(path.local && !transactional)) {
        if (path.local) localPath = path.path;
        else [sessionPath, localPath] = [path.path, undefined];
      }
      if (type === 'CreateSchemaStmt') {
        // CREATE SCHEMA AUTHORIZATION r without a name is named after the role.
        const owner = body['authrole'] as Body | undefined;
        const name = typeof body['schemaname'] === 'string' ? body['schemaname'] : owner?.['roletype'] === 'ROLESPEC_CSTRING' ? (owner['rolename'] as string) : owner ? user : null;
        if (name) schemas.add(name);
        // CREATE SCHEMA s CREATE TABLE …: its elements are made in s, put in front of the search_path while they run
        // (CreateSchemaCommand); each sees those before it.
        const inSchema = name ? namesFor([name, ...activePath], exists, userSchema, temp, (q) => relations.has(q, at + 1) || tables.has(q) || indexes.has(q)) : null;
        for (const e of inSchema ? ((body['schemaElts'] as Array<Record<string, Body>> | undefined) ?? []) : []) {
          const eType = Object.keys(e)[0]!;
          track(eType, e[eType]!, inSchema!);
        }
      }
      // SET ROLE and SET SESSION AUTHORIZATION change the role "$user" stands for; RESET, DEFAULT and NONE go back to the one the file started as.
      const setsRole = type === 'VariableSetStmt' && (body['name'] === 'role' || body['name'] === 'session_authorization' || body['kind'] === 'VAR_RESET_ALL');
      if (setsRole && !(local && !transactional)) {
        const v = (((body['args'] as Array<Record<string, Body>> | undefined) ?? [])[0]?.['A_Const']?.['sval'] as { sval?: string } | undefined)?.sval;
        const to = body['kind'] === 'VAR_SET_VALUE' && v !== undefined && v !== 'none' ? v : undefined;
        if (local) localRole = to ?? role ?? undefined;
        else [sessionRole, localRole] = [to, undefined];
      }
      if (type === 'DropStmt' && body['removeType'] === 'OBJECT_SCHEMA') {
        // The schema goes, and so do the relations in it.
        for (const o of (body['objects'] as unknown[] | undefined) ?? []) {
          const schema = String(((o as Record<string, Body>)['String'] as { sval?: string } | undefined)?.sval ?? '');
          schemas.delete(schema);
          for (const q of relations.current(`${schema}.`)) relations.remove(q, at);
        }
      }
      const viaSetConfig = type === 'SelectStmt' ? setConfigLockTimeout(body, transactional) : null;
      if (viaSetConfig !== null) {
        if (viaSetConfig.local) localLockTimeout = viaSetConfig.value;
        else [lockTimeoutSet, localLockTimeout] = [viaSetConfig.value, undefined];
      }
      if (!fileTransactional && base === 0) {
        const effect = transactionBlockEffect(u.stmt);
        if (effect === 'open' && blockLine === null) {
          blockLine = start.line;
          blocks++;
        }
        if (effect === 'close') blockLine = null;
        if (effect !== null) {
          // The transaction ended (AND CHAIN too): what SET LOCAL set is gone.
          localLockTimeout = undefined;
          localTimeZone = undefined;
          localPath = undefined;
          localRole = undefined;
        }
      }
      if (!fileTransactional && blockLine === null) {
        // Outside a block each statement is its own transaction: a set_config(…, true) lasted only for it.
        localLockTimeout = undefined;
        localTimeZone = undefined;
        localPath = undefined;
        localRole = undefined;
      }
      track(type, body, names);
    }
    // Each file runs in a session of its own (migrate up discards temp tables after it): its temp tables are gone.
    for (const q of relations.current('pg_temp.')) relations.remove(q, seq - 1);
    for (const q of [...tables.keys()].filter((k) => k.startsWith('pg_temp.'))) tables.delete(q);
    for (const q of [...indexes.keys()].filter((k) => k.startsWith('pg_temp.'))) indexes.delete(q);
  });
  return out;
}

/** Relation kinds of DROP, RENAME and SET SCHEMA (tables, views, indexes, sequences share one namespace per schema). */
const RELATION_KINDS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_INDEX', 'OBJECT_SEQUENCE', 'OBJECT_FOREIGN_TABLE']);

/** The relations a statement brings into being and those it removes (a rename does both). */
function relationChanges(type: string, body: Body, names: Names, indexes: ReadonlyMap<string, IndexState>): { made: string[]; gone: string[] } {
  const inSchemaOf = (q: string, name: string) => `${q.slice(0, q.lastIndexOf('.'))}.${name}`;
  switch (type) {
    case 'CreateStmt':
    case 'CreateSeqStmt': {
      const rel = body[type === 'CreateStmt' ? 'relation' : 'sequence'];
      return { made: [names.created(rel)], gone: [] };
    }
    case 'CreateTableAsStmt': {
      const into = (body['into'] as Record<string, Body> | undefined)?.['rel'];
      return { made: into ? [names.created(into)] : [], gone: [] };
    }
    case 'ViewStmt':
      return { made: [names.created(body['view'])], gone: [] };
    case 'IndexStmt':
      // An index lives in its table's schema; one without a name gets a generated one, not tracked.
      return { made: body['idxname'] ? [inSchemaOf(names.relation(body['relation']), body['idxname'] as string)] : [], gone: [] };
    case 'DropStmt': {
      if (!RELATION_KINDS.has(body['removeType'] as string)) return { made: [], gone: [] };
      const dropped = names.dropped(body);
      // A table's indexes go with it.
      const withIndexes = body['removeType'] === 'OBJECT_TABLE' ? [...indexes.values()].filter((i) => dropped.includes(i.table)).map((i) => i.qualified) : [];
      return { made: [], gone: [...dropped, ...withIndexes] };
    }
    case 'RenameStmt': {
      if (!RELATION_KINDS.has(body['renameType'] as string) || !body['relation']) return { made: [], gone: [] };
      const q = names.relation(body['relation']);
      return { made: [inSchemaOf(q, body['newname'] as string)], gone: [q] };
    }
    case 'AlterObjectSchemaStmt': {
      if (!RELATION_KINDS.has(body['objectType'] as string) || !body['relation']) return { made: [], gone: [] };
      const q = names.relation(body['relation']);
      return { made: [`${body['newschema'] as string}.${q.slice(q.lastIndexOf('.') + 1)}`], gone: [q] };
    }
    default:
      return { made: [], gone: [] };
  }
}

/** A search_path a file set (its entries), or 'start': the one the file started with (RESET, DEFAULT, none set). */
type SearchPath = readonly string[] | 'start';

/**
 * How names resolve under this search_path (namespace.c, recomputeNamespacePath): its entries that
 * name a schema that exists, "$user" the role's own schema (skipped when the role is not known or
 * has none), pg_temp the session's temp schema; pg_catalog is looked in first unless listed, and the
 * temp schema before it unless listed (when there is one). A CREATE uses the first entry left (pg_temp
 * too, even before the session has a temp schema: Postgres makes it then); pg_catalog when none is
 * left (Postgres looks names up there only, and CREATE fails: "no schema has been selected to create in").
 */
function namesFor(path: readonly string[], exists: (name: string) => boolean, userSchema: string | null, temp: boolean, holds: (q: string) => boolean): Names {
  const listed: string[] = [];
  for (const x of path) {
    const schema = x === '$user' ? userSchema : x;
    if (schema && (schema === 'pg_temp' || exists(schema)) && !listed.includes(schema)) listed.push(schema);
  }
  const searched = listed.filter((x) => x !== 'pg_temp' || temp);
  if (!listed.includes('pg_catalog')) searched.unshift('pg_catalog');
  if (temp && !listed.includes('pg_temp')) searched.unshift('pg_temp');
  return new Names(searched, listed[0] ?? 'pg_catalog', holds);
}

/**
 * A search_path string as Postgres splits it (SplitIdentifierString): comma-separated, unquoted
 * names trimmed and folded to lower case, double-quoted ones kept as written ("" is one quote).
 */
export function splitSearchPath(value: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([^,]*?))\s*(?:,|$)/gy;
  for (let m = re.exec(value); m && re.lastIndex <= value.length; m = re.exec(value)) {
    out.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!.toLowerCase());
    if (re.lastIndex === value.length) break;
  }
  return out.filter((x) => x !== '');
}

/** The search_path a SET / RESET sets (RESET and DEFAULT: the one the file started with). */
function searchPathSet(body: Body): { path: SearchPath; local: boolean } | null {
  const local = !!body['is_local'];
  if (body['kind'] === 'VAR_RESET' || body['kind'] === 'VAR_RESET_ALL' || body['kind'] === 'VAR_SET_DEFAULT') return { path: 'start', local };
  if (body['kind'] !== 'VAR_SET_VALUE') return null;
  // Each value is one schema name, even a quoted string with commas in it ('a, b' names the schema "a, b").
  const names = ((body['args'] as Array<Record<string, Body>> | undefined) ?? []).map((a) => (a['A_Const']?.['sval'] as { sval?: string } | undefined)?.sval ?? '');
  return { path: names, local };
}

/** `select set_config('search_path', '…', is_local)`: the path it sets (null when the statement is no such call, or the value is not a literal). */
function setConfigSearchPath(body: Body, transactional: boolean): { path: SearchPath; local: boolean } | null {
  let found: { path: SearchPath; local: boolean } | null = null;
  for (const t of (body['targetList'] as Array<Record<string, Body>> | undefined) ?? []) {
    const fc = (t['ResTarget']?.['val'] as Record<string, Body> | undefined)?.['FuncCall'];
    if (!fc || strings(fc['funcname']).pop() !== 'set_config') continue;
    const args = ((fc['args'] as Array<Record<string, Body>> | undefined) ?? []).map((a) => a['A_Const']);
    if ((args[0]?.['sval'] as { sval?: string } | undefined)?.sval !== 'search_path') continue;
    const value = (args[1]?.['sval'] as { sval?: string } | undefined)?.sval;
    if (value === undefined) continue;
    const local = !!(args[2]?.['boolval'] as { boolval?: boolean } | undefined)?.boolval;
    if (local && !transactional) continue;
    found = { path: splitSearchPath(value), local };
  }
  return found;
}

/**
 * Whether a `SET lock_timeout` leaves a timeout in force: 0 means "wait forever", RESET / DEFAULT
 * go back to the server's setting (0 unless configured).
 */
function setsTimeout(body: Body): boolean {
  if (body['kind'] !== 'VAR_SET_VALUE') return false;
  const a = ((body['args'] as Array<Record<string, Body>> | undefined) ?? [])[0]?.['A_Const'] ?? {};
  if ('sval' in a) return !/^\s*0+\s*(us|ms|s|min|h|d)?\s*$/i.test(String((a['sval'] as { sval?: string }).sval ?? ''));
  if ('ival' in a) return Number((a['ival'] as { ival?: number }).ival ?? 0) !== 0;
  if ('fval' in a) return Number((a['fval'] as { fval?: string }).fval ?? 0) !== 0;
  return true;
}

/** A FOREIGN KEY table constraint (with its columns named), or null. */
function foreignKeyOf(c: Body | undefined, names: Names, inCreate: boolean): ForeignKeyState | null {
  if (c?.['contype'] !== 'CONSTR_FOREIGN' || !c['pktable']) return null;
  const columns = strings(c['fk_attrs']);
  if (!columns.length) return null;
  return { name: (c['conname'] as string | undefined) ?? '', columns, references: names.relation(c['pktable']), validated: inCreate || !c['skip_validation'] };
}

/** Whether a column definition says NOT NULL or PRIMARY KEY. */
function declaresNotNull(def: Body): boolean {
  return ((def['constraints'] as Array<Record<string, Body>> | undefined) ?? []).some((c) => ['CONSTR_NOTNULL', 'CONSTR_PRIMARY'].includes(c['Constraint']?.['contype'] as string));
}

/**
 * `select set_config('lock_timeout', '5s', is_local)`: whether it leaves a timeout in force, and
 * whether only until the transaction ends (null when the statement is no such call). is_local
 * outside a transaction block lasts only for that statement.
 */
function setConfigLockTimeout(body: Body, transactional: boolean): { value: boolean; local: boolean } | null {
  for (const t of (body['targetList'] as Array<Record<string, Body>> | undefined) ?? []) {
    const fc = (t['ResTarget']?.['val'] as Record<string, Body> | undefined)?.['FuncCall'];
    if (!fc || strings(fc['funcname']).pop() !== 'set_config') continue;
    const args = ((fc['args'] as Array<Record<string, Body>> | undefined) ?? []).map((a) => a['A_Const']);
    if ((args[0]?.['sval'] as { sval?: string } | undefined)?.sval !== 'lock_timeout') continue;
    const value = (args[1]?.['sval'] as { sval?: string } | undefined)?.sval;
    const local = !!(args[2]?.['boolval'] as { boolval?: boolean } | undefined)?.boolval;
    if (value === undefined) return { value: true, local }; // not a literal: assume it sets one
    if (local && !transactional) return { value: false, local };
    return { value: !/^\s*0+\s*(us|ms|s|min|h|d)?\s*$/i.test(value), local };
  }
  return null;
}

/** The columns a CHECK expression proves NOT NULL: `a IS NOT NULL`, and ANDs of such tests. */
export function notNullColumns(expr: unknown): string[] {
  const e = (expr ?? {}) as Record<string, Body>;
  const nt = e['NullTest'];
  if (nt && nt['nulltesttype'] === 'IS_NOT_NULL') {
    const fields = strings(((nt['arg'] as Record<string, Body> | undefined)?.['ColumnRef'] as Body | undefined)?.['fields']);
    return fields.length === 1 ? fields : [];
  }
  const be = e['BoolExpr'];
  if (be && be['boolop'] === 'AND_EXPR') return ((be['args'] as unknown[] | undefined) ?? []).flatMap(notNullColumns);
  return [];
}

function applyToIndexes(indexes: Map<string, IndexState>, type: string, body: Body, names: Names, fileIndex: number): void {
  if (type === 'IndexStmt' && body['idxname']) {
    const table = names.relation(body['relation']);
    const q = `${table.slice(0, table.lastIndexOf('.'))}.${body['idxname'] as string}`;
    if (!(body['if_not_exists'] && indexes.has(q))) indexes.set(q, {
        qualified: q,
        table,
        columns: ((body['indexParams'] as unknown[] | undefined) ?? []).map((p) => (((p as Record<string, Body>)['IndexElem']?.['name'] as string | undefined) ?? null)),
        createdInFile: fileIndex,
      });
  } else if (type === 'DropStmt' && body['removeType'] === 'OBJECT_INDEX') {
    for (const name of names.dropped(body)) indexes.delete(name);
  }
}

/** Statements inside a DO block that the migration rules judge (its other statements are not looked for). */
const DO_DDL = /\b(?:set\s+(?:local\s+|session\s+)?lock_timeout|alter\s+(?:table|type|domain)|create\s+(?:unlogged\s+)?table|create\s+(?:unique\s+)?index|drop\s+(?:index|table)|reindex|refresh\s+materialized\s+view|truncate|cluster|vacuum)\b/gi;
const DO_DDL_TYPES = new Set(['VariableSetStmt', 'CreateStmt', 'AlterTableStmt', 'RenameStmt', 'IndexStmt', 'DropStmt', 'ReindexStmt', 'RefreshMatViewStmt', 'TruncateStmt', 'ClusterStmt', 'VacuumStmt', 'AlterEnumStmt', 'AlterDomainStmt']);

/**
 * DDL written as plain statements in a dollar-quoted DO block (`do $$ begin alter table … ;
 * exception when duplicate_object then null; end $$`, the usual way to make a migration
 * idempotent): each piece from such a keyword to the next `;` that parses as one statement.
 * Node locations of a piece are relative to it: `base` is its byte offset in the file.
 * EXECUTE strings and the rest of PL/pgSQL are not read (a piece inside a string does not parse).
 */
function doBlockStatements(raw: string, from: number, parseSync: (sql: string) => unknown): Array<{ stmt: Record<string, Body>; from: number; to: number; base: number }> {
  const lead = leadingTriviaLength(raw);
  const text = raw.slice(lead);
  // The body: after `do [language x]`, between two identical $tag$ delimiters (a '…' body is not read).
  const bodyStart = doBodyOffset(text);
  const open = bodyStart === undefined ? null : /\$([A-Za-z_][A-Za-z0-9_]*)?\$$/.exec(text.slice(0, bodyStart));
  if (bodyStart === undefined || !open) return [];
  const bodyEnd = text.indexOf(open[0], bodyStart);
  if (bodyEnd < 0) return [];
  const body = text.slice(bodyStart, bodyEnd);
  // Comments and string literals blanked (same length): keywords and `;` are looked for in code only.
  const code = body.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'/g, (x) => x.replace(/[^\n]/g, ' '));
  const bodyByte = from + Buffer.byteLength(raw.slice(0, lead) + text.slice(0, bodyStart), 'utf8');
  const out: Array<{ stmt: Record<string, Body>; from: number; to: number; base: number }> = [];
  DO_DDL.lastIndex = 0;
  for (let hit = DO_DDL.exec(code); hit; hit = DO_DDL.exec(code)) {
    const semi = code.indexOf(';', hit.index);
    const end = semi < 0 ? body.length : semi;
    const piece = body.slice(hit.index, end);
    let stmts: Array<{ stmt: Record<string, Body> }> | undefined;
    try {
      stmts = (parseSync(piece) as { stmts?: Array<{ stmt: Record<string, Body> }> }).stmts;
    } catch {
      continue; // not a whole statement (inside a string, an expression, …)
    }
    if (stmts?.length !== 1 || !DO_DDL_TYPES.has(Object.keys(stmts[0]!.stmt)[0]!)) continue;
    const pieceByte = bodyByte + Buffer.byteLength(body.slice(0, hit.index), 'utf8');
    out.push({ stmt: stmts[0]!.stmt, from: pieceByte, to: pieceByte + Buffer.byteLength(piece, 'utf8'), base: pieceByte });
    DO_DDL.lastIndex = end;
  }
  return out;
}


function applyToState(tables: Map<string, TableState>, type: string, body: Body, names: Names, fileIndex: number, path: string, inTarget: Set<string>, fileIsNew: boolean, inDoBlock = false): void {
  const existing = (q: string): TableState => tables.get(q) ?? { qualified: q, createdInFile: -1, createdIn: null, partitioned: false, partitionOf: null, foreignKeys: [], notNull: new Set(), columns: new Map(), checks: new Map() };
  if (type === 'CreateStmt') {
    const q = names.created(body['relation']);
    // IF NOT EXISTS of a table an earlier migration made is a no-op. So is, in a file the target has
    // not run, CREATE TABLE of a table the target has (not dropped or renamed by these files): with
    // IF NOT EXISTS it creates nothing; without, it fails there (the target's history is missing
    // what made it). Either way what follows meets the existing table and its rows.
    // In a DO block the CREATE may sit in an IF that skips it when the table exists (the usual guard):
    // a table the migrations already have is kept as it was, as with IF NOT EXISTS.
    if (((body['if_not_exists'] || inDoBlock) && tables.has(q)) || (fileIsNew && inTarget.has(q))) return;
    const cols = new Map<string, ColumnType>();
    const checks = new Map<string, { columns: readonly string[]; validated: boolean }>();
    // CHECKs in CREATE TABLE are valid from the start (NOT VALID is ignored there: the table is empty).
    const addCheck = (c: Body | undefined) => {
      if (c?.['contype'] !== 'CONSTR_CHECK') return;
      const columns = notNullColumns(c['raw_expr']);
      checks.set((c['conname'] as string | undefined) ?? `#${checks.size}`, { columns, validated: true });
    };
    const notNull = new Set<string>();
    const fks: ForeignKeyState[] = [];
    for (const e of (body['tableElts'] as Array<Record<string, Body>> | undefined) ?? []) {
      // Foreign keys in CREATE TABLE are valid from the start (the table is empty).
      const fk = foreignKeyOf(e['Constraint'], names, true);
      if (fk) fks.push(fk);
      if (e['ColumnDef']) {
        cols.set(e['ColumnDef']['colname'] as string, typeOf(e['ColumnDef']['typeName']));
        if (declaresNotNull(e['ColumnDef'])) notNull.add(e['ColumnDef']['colname'] as string);
        for (const c of (e['ColumnDef']['constraints'] as Array<Record<string, Body>> | undefined) ?? []) addCheck(c['Constraint']);
      }
      addCheck(e['Constraint']);
      if (e['Constraint']?.['contype'] === 'CONSTR_PRIMARY') for (const k of strings(e['Constraint']['keys'])) notNull.add(k);
    }
    tables.set(q, { qualified: q, createdInFile: fileIndex, createdIn: path, partitioned: !!body['partspec'],
      partitionOf: body['partbound'] && Array.isArray(body['inhRelations']) ? names.relation((body['inhRelations'] as Array<Record<string, Body>>)[0]?.['RangeVar']) : null,
      foreignKeys: fks,
      notNull,
      columns: cols,
      checks: checks,
    });
  } else if (type === 'CreateTableAsStmt') {
    const into = (body['into'] as Record<string, Body> | undefined)?.['rel'];
    if (into) {
      const q = names.created(into);
      tables.set(q, { qualified: q, createdInFile: fileIndex, createdIn: path, partitioned: false, partitionOf: null, foreignKeys: [], notNull: new Set(), columns: new Map(), checks: new Map() });
    }
  } else if (type === 'DropStmt' && body['removeType'] === 'OBJECT_TABLE') {
    for (const name of names.dropped(body)) {
      tables.delete(name);
      inTarget.delete(name);
    }
  } else if (type === 'RenameStmt') {
    const q = names.relation(body['relation']);
    const t = existing(q);
    if (body['renameType'] === 'OBJECT_TABLE') {
      tables.delete(q);
      inTarget.delete(q);
      const nq = `${q.slice(0, q.lastIndexOf('.'))}.${body['newname'] as string}`;
      tables.set(nq, { ...t, qualified: nq });
    } else if (body['renameType'] === 'OBJECT_COLUMN' && t.columns.has(body['subname'] as string)) {
      const cols = new Map(t.columns);
      const ty = cols.get(body['subname'] as string)!;
      cols.delete(body['subname'] as string);
      cols.set(body['newname'] as string, ty);
      const notNull = new Set(t.notNull);
      if (notNull.delete(body['subname'] as string)) notNull.add(body['newname'] as string);
      tables.set(q, { ...t, columns: cols, notNull });
    }
  } else if (type === 'AlterObjectSchemaStmt' && body['objectType'] === 'OBJECT_TABLE' && body['relation']) {
    // ALTER TABLE … SET SCHEMA: the table (its rows, its state) under its new name.
    const q = names.relation(body['relation']);
    const nq = `${body['newschema'] as string}.${q.slice(q.lastIndexOf('.') + 1)}`;
    const t = existing(q);
    tables.delete(q);
    if (inTarget.delete(q)) inTarget.add(nq);
    tables.set(nq, { ...t, qualified: nq });
  } else if (type === 'AlterTableStmt' && body['objtype'] === 'OBJECT_TABLE') {
    const q = names.relation(body['relation']);
    const t = existing(q);
    const cols = new Map(t.columns);
    const checks = new Map(t.checks);
    const notNull = new Set(t.notNull);
    let fks = [...t.foreignKeys];
    for (const c of (body['cmds'] as Array<Record<string, Body>> | undefined) ?? []) {
      const cmd = c['AlterTableCmd'] ?? {};
      const def = (cmd['def'] as Record<string, Body> | undefined)?.['ColumnDef'];
      const con = (cmd['def'] as Record<string, Body> | undefined)?.['Constraint'];
      if (cmd['subtype'] === 'AT_AddColumn' && def) cols.set(def['colname'] as string, typeOf(def['typeName']));
      if (cmd['subtype'] === 'AT_AddColumn' && def && declaresNotNull(def)) notNull.add(def['colname'] as string);
      if (cmd['subtype'] === 'AT_SetNotNull') notNull.add(cmd['name'] as string);
      if (cmd['subtype'] === 'AT_DropNotNull' || cmd['subtype'] === 'AT_DropColumn') notNull.delete(cmd['name'] as string);
      if (cmd['subtype'] === 'AT_AddConstraint' && con?.['contype'] === 'CONSTR_PRIMARY') for (const k of strings(con['keys'])) notNull.add(k);
      if (cmd['subtype'] === 'AT_DropColumn') cols.delete(cmd['name'] as string);
      if (cmd['subtype'] === 'AT_AlterColumnType' && def) cols.set(cmd['name'] as string, typeOf(def['typeName']));
      if (cmd['subtype'] === 'AT_AddConstraint' && con?.['contype'] === 'CONSTR_CHECK') {
        const columns = notNullColumns(con['raw_expr']);
        checks.set((con['conname'] as string | undefined) ?? `#${checks.size}`, { columns, validated: !con['skip_validation'] });
      }
      if (cmd['subtype'] === 'AT_ValidateConstraint') {
        const k = checks.get(cmd['name'] as string);
        if (k) checks.set(cmd['name'] as string, { ...k, validated: true });
      }
      if (cmd['subtype'] === 'AT_DropConstraint') {
        checks.delete(cmd['name'] as string);
        fks = fks.filter((k) => k.name !== cmd['name']);
      }
      const fk = cmd['subtype'] === 'AT_AddConstraint' ? foreignKeyOf(con, names, false) : null;
      if (fk) fks.push(fk);
      if (cmd['subtype'] === 'AT_ValidateConstraint') fks = fks.map((k) => (k.name === cmd['name'] ? { ...k, validated: true } : k));
      const part = (cmd['def'] as Record<string, Body> | undefined)?.['PartitionCmd'];
      if (part && (cmd['subtype'] === 'AT_AttachPartition' || cmd['subtype'] === 'AT_DetachPartition')) {
        const pq = names.relation(part['name']);
        tables.set(pq, { ...existing(pq), partitionOf: cmd['subtype'] === 'AT_AttachPartition' ? q : null });
      }
    }
    tables.set(q, { ...t, columns: cols, checks: checks, notNull, foreignKeys: fks });
  }
}

/**
 * Whether `qualified` existed before the run that applies `stmt`: created by no migration, or by
 * a file applied earlier (not by this file, nor by another new file applied in the same run).
 */
export function existedBefore(stmt: MigrationStatement, qualified: string): boolean {
  const t = stmt.tablesBefore.get(qualified);
  return !t || !stmt.deploysWith.has(t.createdInFile);
}

/**
 * Where an existing table came from, for messages, with the target database's
 * row estimate (pg_class.reltuples) when it is known to be non-zero.
 */
export function originOf(stmt: MigrationStatement, qualified: string, rows?: ReadonlyMap<string, number>): string {
  const t = stmt.tablesBefore.get(qualified);
  const where = t?.createdIn ? `created in ${t.createdIn}` : 'it existed before these migrations';
  const n = rows?.get(qualified);
  return n && n > 0 ? `${where}; about ${Math.round(n).toLocaleString('en-US')} rows in the target database` : where;
}

function rangeVarName(v: unknown, names: Names): string | null {
  const r = (v as Record<string, Body> | undefined)?.['RangeVar'];
  return r ? names.relation(r) : null;
}

/** Objects a statement defines or alters, in the naming of findings. */
export function objectsOf(type: string, body: Body, names: Names): string[] {
  switch (type) {
    case 'CreateStmt':
      return [names.created(body['relation'])];
    case 'AlterTableStmt':
    case 'IndexStmt':
    case 'CreateTrigStmt':
      return [names.relation(body['relation'])];
    case 'ViewStmt':
      return [names.created(body['view'])];
    case 'CreateTableAsStmt': {
      const into = (body['into'] as Record<string, Body> | undefined)?.['rel'];
      return into ? [names.created(into)] : [];
    }
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt': {
      const table = names.relation(body['table']);
      return [`${body['policy_name'] as string} on ${table}`, table];
    }
    case 'CreateFunctionStmt': {
      return [`${names.createdObject(body['funcname'])}(`];
    }
    case 'GrantStmt':
      if (body['objtype'] === 'OBJECT_TABLE' && body['targtype'] === 'ACL_TARGET_OBJECT') {
        return ((body['objects'] as unknown[] | undefined) ?? []).map((o) => rangeVarName(o, names)).filter((x): x is string => !!x);
      }
      return [];
    default:
      return [];
  }
}
