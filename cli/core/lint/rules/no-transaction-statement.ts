/**
 * Statements Postgres refuses inside a transaction block (PreventInTransactionBlock),
 * in a migration the engine runs in one: `migrate up` would fail on them (25001).
 */
import type { MigrationRule, RawFinding } from '../types.js';
import { qualifiedName, type MigrationStatement } from '../migrations.js';
import { booleanOption, nodeBody } from '../stmt.js';

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
 * A label ALTER TYPE … ADD VALUE added, used later in the same transaction: Postgres
 * refuses the new value until it commits (55P04, "unsafe use of new value"), unless
 * the enum type itself was created in that transaction and the server is 17 or later
 * (before 17 that was refused too). With no database to ask, the older rule holds.
 */
function newEnumValueUses(statements: readonly MigrationStatement[], serverVersion: number | null): RawFinding[] {
  const createdTypesExempt = serverVersion !== null && serverVersion >= 170000;
  const out: RawFinding[] = [];
  let file = -1;
  let added = new Map<string, { type: string; line: number; created: boolean }>();
  let createdTypes = new Set<string>();
  for (const s of statements) {
    if (s.fileIndex !== file) {
      file = s.fileIndex;
      added = new Map();
      createdTypes = new Set();
    }
    if (!s.transactional) continue;
    if (s.type === 'CreateEnumStmt') createdTypes.add(qualifiedName(s.body['typeName'], s.defaultSchema));
    if (s.type === 'AlterEnumStmt' && !s.body['oldVal']) {
      const type = qualifiedName(s.body['typeName'], s.defaultSchema);
      if (!(createdTypesExempt && createdTypes.has(type))) added.set(s.body['newVal'] as string, { type, line: s.line, created: createdTypes.has(type) });
      continue;
    }
    if (added.size === 0) continue;
    const use = literals(s.body).find((l) => added.has(l.value));
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

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'no-transaction-statement',
  level: 'error',
  category: 'migration',
  description: 'statement that cannot run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, …), or a use of an enum value ALTER TYPE … ADD VALUE added, in a migration that runs in one',
  docs: "rowguard runs each migration in one transaction unless its first line is -- rowguard:no-transaction. Postgres refuses CREATE/DROP INDEX CONCURRENTLY, REINDEX … CONCURRENTLY (and of a schema, system or database), VACUUM, CLUSTER of every table, DETACH PARTITION … CONCURRENTLY, CREATE/DROP DATABASE and TABLESPACE and ALTER SYSTEM there (25001), so migrate up fails on the file. It also refuses a value that ALTER TYPE … ADD VALUE added in the same transaction (55P04) until that commits — since Postgres 17 except for a type that transaction created: add the value in an earlier file. Such a file runs statement by statement without a transaction: keep it to that statement, so a failure halfway leaves little to settle (migrate resolve).",
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
        message: `${what} cannot run inside a transaction block, and ${s.file} runs in one: migrate up fails on it (25001)`,
      });
    }
    out.push(...newEnumValueUses(ctx.statements, ctx.serverVersion));
    return out;
  },
};
