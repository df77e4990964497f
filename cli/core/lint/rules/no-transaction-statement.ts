/**
 * Statements Postgres refuses inside a transaction block (PreventInTransactionBlock),
 * in a migration the engine runs in one: `migrate up` would fail on them (25001).
 */
import type { MigrationRule, RawFinding } from '../types.js';
import { type MigrationStatement } from '../migrations.js';
import { transactionBlockEffect } from '../../sql-text.js';
import { booleanOption, nodeBody, type Body } from '../stmt.js';

/** What the statement is, as the fix names it, when it cannot run in a transaction block; else null. */
function refusedInTransaction(s: MigrationStatement): string | null {
  const b = s.body;
  switch (s.type) {
    case 'IndexStmt':
      return b['concurrent'] ? 'create index concurrently' : null;
    case 'DropStmt':
      return b['concurrent'] ? 'drop index concurrently' : null;
    case 'ReindexStmt': {
      const kind = b['kind'] as string;
      if (kind === 'REINDEX_OBJECT_SCHEMA' || kind === 'REINDEX_OBJECT_SYSTEM' || kind === 'REINDEX_OBJECT_DATABASE') return `reindex ${kind.slice('REINDEX_OBJECT_'.length).toLowerCase()}`;
      return booleanOption(b['params'], 'concurrently') ? 'reindex … concurrently' : null;
    }
    case 'VacuumStmt':
      return b['is_vacuumcmd'] ? 'vacuum' : null; // ANALYZE alone may run in a transaction
    case 'ClusterStmt':
      return b['relation'] ? null : 'cluster (every table)';
    case 'AlterTableStmt':
      return ((b['cmds'] as unknown[] | undefined) ?? []).some((c) => {
        const cmd = nodeBody(c, 'AlterTableCmd');
        return cmd?.['subtype'] === 'AT_DetachPartition' && nodeBody(cmd['def'], 'PartitionCmd')?.['concurrent'];
      })
        ? 'detach partition … concurrently'
        : null;
    case 'CreatedbStmt':
      return 'create database';
    case 'DropdbStmt':
      return 'drop database';
    case 'CreateTableSpaceStmt':
      return 'create tablespace';
    case 'DropTableSpaceStmt':
      return 'drop tablespace';
    case 'AlterSystemStmt':
      return 'alter system';
    case 'TransactionStmt':
      return b['kind'] === 'TRANS_STMT_COMMIT_PREPARED' ? 'commit prepared' : b['kind'] === 'TRANS_STMT_ROLLBACK_PREPARED' ? 'rollback prepared' : null;
    default:
      return null;
  }
}

/** String literals in a statement body, with their byte locations. */
function literals(v: unknown, out: Array<{ value: string; location?: number }> = []): Array<{ value: string; location?: number }> {
  if (!v || typeof v !== 'object') return out;
  if (Array.isArray(v)) {
    for (const x of v) literals(x, out);
    return out;
  }
  const c = (v as Record<string, Record<string, unknown>>)['A_Const'];
  const sval = (c?.['sval'] as { sval?: string } | undefined)?.sval;
  if (c && sval !== undefined) out.push({ value: sval, location: c['location'] as number | undefined });
  for (const x of Object.values(v)) literals(x, out);
  return out;
}

/**
 * Built-in types, by the name the grammar leaves (`varchar(10)` → pg_catalog.varchar,
 * `text` → text, found in pg_catalog first whatever the search_path): a string literal
 * read as one of them goes through its own input function, never enum_in, so it is no
 * use of an enum label even when its text is one (55P04 is raised by enum_in).
 */
const BUILT_IN_TYPES: ReadonlySet<string> = new Set([
  'text', 'varchar', 'bpchar', 'name', 'char', 'json', 'jsonb', 'uuid', 'bytea', 'xml', 'bool',
  'int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'date', 'time', 'timetz', 'timestamp', 'timestamptz', 'interval', 'inet', 'cidr',
]);

function builtInTypeName(typeName: unknown): boolean {
  const t = (typeName ?? {}) as Body;
  if (Array.isArray(t['arrayBounds'])) return false;
  const names = ((t['names'] as unknown[] | undefined) ?? []).map((n) => nodeBody(n, 'String')?.['sval']);
  const [schema, name] = names.length === 2 ? names : [undefined, names[0]];
  return names.length <= 2 && (schema === undefined || schema === 'pg_catalog') && typeof name === 'string' && BUILT_IN_TYPES.has(name);
}

/**
 * Byte locations of the string literals of a statement that Postgres reads as a built-in
 * type, so as no enum: one cast to such a type (`'c'::text`), a value written into, or
 * compared (`=`, `<>`, `IN`) in a WHERE with, a column the earlier migrations created with
 * such a type. INSERT … VALUES, ON CONFLICT … DO UPDATE SET and UPDATE … SET name the column;
 * a WHERE's column is the target table's (unqualified only when no other table is in scope).
 * A column of unknown type (a table no migration created, a domain) is not known to be one.
 */
function literalsReadAsBuiltIn(s: MigrationStatement): Set<number> {
  const out = new Set<number>();
  const literalAt = (v: unknown): number | undefined => {
    const c = nodeBody(v, 'A_Const');
    return c && c['sval'] !== undefined ? (c['location'] as number | undefined) : undefined;
  };
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(walk);
    const cast = nodeBody(v, 'TypeCast');
    const at = cast ? literalAt(cast['arg']) : undefined;
    if (cast && at !== undefined && builtInTypeName(cast['typeName'])) out.add(at);
    for (const x of Object.values(v)) walk(x);
  };
  walk(s.body);
  const b = s.body;
  const rel = b['relation'] as Body | undefined;
  if (!rel || !['InsertStmt', 'UpdateStmt', 'DeleteStmt'].includes(s.type)) return out;
  const table = s.tablesBefore.get(s.names.relation(rel));
  if (!table) return out;
  const builtIn = (column: unknown): boolean => {
    const t = typeof column === 'string' ? table.columns.get(column) : undefined;
    return !!t && !t.array && BUILT_IN_TYPES.has(t.name);
  };
  const setList = (targets: unknown): void => {
    for (const t of (targets as unknown[] | undefined) ?? []) {
      const r = nodeBody(t, 'ResTarget');
      const at = literalAt(r?.['val']);
      if (r && at !== undefined && !r['indirection'] && builtIn(r['name'])) out.add(at);
    }
  };
  const alias = ((rel['alias'] as Body | undefined)?.['aliasname'] as string | undefined) ?? (rel['relname'] as string);
  const others = [...((b['fromClause'] as unknown[] | undefined) ?? []), ...((b['usingClause'] as unknown[] | undefined) ?? [])].length > 0;
  const columnOf = (v: unknown): string | undefined => {
    const fields = ((nodeBody(v, 'ColumnRef')?.['fields'] as unknown[] | undefined) ?? []).map((f) => nodeBody(f, 'String')?.['sval']);
    if (fields.length === 1 && !others) return fields[0] as string | undefined;
    if (fields.length === 2 && fields[0] === alias) return fields[1] as string | undefined;
    return undefined;
  };
  const where = (v: unknown): void => {
    const bool = nodeBody(v, 'BoolExpr');
    if (bool) return ((bool['args'] as unknown[] | undefined) ?? []).forEach(where);
    const e = nodeBody(v, 'A_Expr');
    const op = nodeBody(((e?.['name'] as unknown[] | undefined) ?? [])[0], 'String')?.['sval'];
    if (!e || !['=', '<>', '!='].includes(op as string) || !['AEXPR_OP', 'AEXPR_IN'].includes(e['kind'] as string)) return;
    for (const [col, val] of [[e['lexpr'], e['rexpr']], [e['rexpr'], e['lexpr']]]) {
      if (!builtIn(columnOf(col))) continue;
      const items = (nodeBody(val, 'List')?.['items'] as unknown[] | undefined) ?? [val];
      for (const i of items) {
        const at = literalAt(i);
        if (at !== undefined) out.add(at);
      }
    }
  };
  if (s.type === 'InsertStmt') {
    const cols = ((b['cols'] as unknown[] | undefined) ?? []).map((c) => nodeBody(c, 'ResTarget'));
    const rows = (nodeBody(b['selectStmt'], 'SelectStmt')?.['valuesLists'] as unknown[] | undefined) ?? [];
    for (const row of rows) {
      ((nodeBody(row, 'List')?.['items'] as unknown[] | undefined) ?? []).forEach((item, i) => {
        const at = literalAt(item);
        const col = cols[i];
        if (at !== undefined && col && !col['indirection'] && builtIn(col['name'])) out.add(at);
      });
    }
    const conflict = b['onConflictClause'] as Body | undefined; // a body without its node name, as the grammar gives it
    setList(conflict?.['targetList']);
    where(conflict?.['whereClause']);
  } else {
    if (s.type === 'UpdateStmt') setList(b['targetList']);
    where(b['whereClause']);
  }
  return out;
}

/**
 * A label ALTER TYPE … ADD VALUE added, used later in the same transaction: Postgres
 * refuses the new value until it commits (55P04, "unsafe use of new value"), unless
 * the enum type itself was created in that transaction and the server is 17 or later
 * (before 17 that was refused too). With no database to ask, the older rule holds.
 */
function newEnumValueUses(statements: readonly MigrationStatement[], serverVersion: number | null): RawFinding[] {
  const createdTypesExempt = serverVersion !== null && serverVersion >= 170000;
  const out: RawFinding[] = [];
  let transaction = '';
  let added = new Map<string, { type: string; line: number; created: boolean }>();
  let createdTypes = new Set<string>();
  const enums = new Set<string>(); // every enum the statements created, for ALTER TYPE's name
  for (const s of statements) {
    if (s.type === 'CreateEnumStmt') enums.add(s.names.createdObject(s.body['typeName']));
    if (s.transaction !== transaction) {
      transaction = s.transaction;
      added = new Map();
      createdTypes = new Set();
    }
    if (!s.transactional) continue;
    if (s.type === 'CreateEnumStmt') createdTypes.add(s.names.createdObject(s.body['typeName']));
    if (s.type === 'AlterEnumStmt' && !s.body['oldVal']) {
      const type = s.names.object(s.body['typeName'], (q) => enums.has(q));
      if (!(createdTypesExempt && createdTypes.has(type))) added.set(s.body['newVal'] as string, { type, line: s.line, created: createdTypes.has(type) });
      continue;
    }
    if (added.size === 0) continue;
    const builtIn = literalsReadAsBuiltIn(s);
    const use = literals(s.body).find((l) => added.has(l.value) && !(l.location !== undefined && builtIn.has(l.location)));
    if (!use) continue;
    const a = added.get(use.value)!;
    out.push({
      object: s.file,
      objectKind: 'file',
      location: s.at(use.location),
      message: `'${use.value}' is the value that alter type ${a.type} add value (line ${a.line}) adds in this same transaction: Postgres ${a.created ? 'before 17 refuses it even for a type this transaction created, until that commits' : 'refuses to use it before that commits'}, so migrate up fails on ${s.file} (55P04)`,
      fix: `move alter type ${a.type} add value '${use.value}' into an earlier migration file`,
    });
  }
  return out;
}

/**
 * Transaction control the engine cannot honour: in a file it runs in one transaction, `migrate up`
 * refuses BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT and PREPARE TRANSACTION before
 * running anything (they would end its transaction midway); in a no-transaction file, a BEGIN
 * whose block is still open at the end of the file: its statements are rolled back when the
 * session ends.
 */
function transactionControl(statements: readonly MigrationStatement[]): RawFinding[] {
  const out: RawFinding[] = [];
  const open = new Map<number, MigrationStatement>(); // no-transaction file → the BEGIN of its open block
  for (const s of statements) {
    if (s.type !== 'TransactionStmt') continue;
    const effect = transactionBlockEffect({ [s.type]: s.body });
    if (effect === null) continue;
    if (s.fileTransactional) {
      const kind = String(s.body['kind'] ?? '').replace(/^TRANS_STMT_/, '').toLowerCase();
      out.push({
        object: s.file,
        objectKind: 'file',
        location: s.at(undefined),
        message: `${kind === 'start' ? 'start transaction' : kind === 'prepare' ? 'prepare transaction' : kind} in ${s.file}, which runs in the migration's own transaction: migrate up refuses the file (it would end that transaction midway)`,
        fix: 'remove the transaction statements (the file already runs in one transaction), or put -- rowguard:no-transaction on the first line and keep the BEGIN … COMMIT',
      });
    } else if (effect === 'open' && s.blockLine === null) open.set(s.fileIndex, s);
    else if (effect === 'close') open.delete(s.fileIndex);
  }
  for (const s of open.values()) {
    out.push({
      object: s.file,
      objectKind: 'file',
      location: s.at(undefined),
      message: `the transaction block begun at line ${s.line} of ${s.file} is never committed: the statements after it are rolled back when the migration's session ends`,
      fix: 'end the block with commit;',
    });
  }
  return out;
}

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'no-transaction-statement',
  level: 'error',
  category: 'migration',
  description: 'statement that cannot run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, …), or a use of an enum value ALTER TYPE … ADD VALUE added, in a migration that runs in one (or in a BEGIN … COMMIT block of a no-transaction file); BEGIN / COMMIT / ROLLBACK in a migration that runs in one; a BEGIN never committed in a no-transaction file',
  docs: "rowguard runs each migration in one transaction unless its first line is -- rowguard:no-transaction. Postgres refuses CREATE/DROP INDEX CONCURRENTLY, REINDEX … CONCURRENTLY (and of a schema, system or database), VACUUM, CLUSTER of every table, DETACH PARTITION … CONCURRENTLY, CREATE/DROP DATABASE and TABLESPACE and ALTER SYSTEM there (25001), so migrate up fails on the file. It also refuses a value that ALTER TYPE … ADD VALUE added in the same transaction (55P04) until that commits — since Postgres 17 except for a type that transaction created: add the value in an earlier file. Only a literal read as the enum counts: the same text written into or compared with a text or varchar column the migrations created, or cast to such a type, is a plain string. Such a file runs statement by statement without a transaction: keep it to that statement, so a failure halfway leaves little to settle (migrate resolve). A BEGIN … COMMIT block in it is one transaction again, with the same limits. migrate up refuses BEGIN, COMMIT, ROLLBACK (END, ABORT, START TRANSACTION, PREPARE TRANSACTION) in a file it runs in one transaction; in a no-transaction file, a BEGIN never committed loses the statements after it when the session ends.",
  fix: 'move the statement into a file of its own whose first line is -- rowguard:no-transaction',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const s of ctx.statements) {
      if (!s.transactional) continue;
      const what = refusedInTransaction(s);
      if (!what) continue;
      out.push({
        object: s.file,
        objectKind: 'file',
        location: s.at(undefined),
        message: s.fileTransactional
          ? `${what} cannot run inside a transaction block, and ${s.file} runs in one: migrate up fails on it (25001)`
          : `${what} cannot run inside a transaction block, and here it runs in the one begun at line ${s.blockLine} of ${s.file}: migrate up fails on it (25001)`,
        ...(s.fileTransactional ? {} : { fix: `move it out of the BEGIN … COMMIT block begun at line ${s.blockLine}` }),
      });
    }
    out.push(...newEnumValueUses(ctx.statements, ctx.serverVersion));
    out.push(...transactionControl(ctx.statements));
    return out;
  },
};
