/** Adding a validated constraint scans the whole table while holding a lock that blocks writes. */
import type { MigrationRule, RawFinding } from '../types.js';
import { existedBefore, originOf, type MigrationStatement } from '../migrations.js';
import { alterTableCmds, constraintsOf, locationOf, nodeBody, SHARE_UPDATE_EXCLUSIVE_CMDS, type AlterCmd } from '../stmt.js';
import { emptiedTables, emptiedWithChildren } from '../emptied-tables.js';

/** ALTER TABLE sub-commands that take no lock stronger than VALIDATE's own SHARE UPDATE EXCLUSIVE. */
const WEAK = SHARE_UPDATE_EXCLUSIVE_CMDS;

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'constraint-not-valid',
  level: 'warn',
  category: 'migration',
  description:
    'ADD CONSTRAINT (CHECK / FOREIGN KEY) without NOT VALID, UNIQUE / PRIMARY KEY without USING INDEX (or USING INDEX on nullable columns), the same inline in ADD COLUMN, SET NOT NULL without a validated CHECK (col IS NOT NULL), ATTACH PARTITION of a table without a validated CHECK, or VALIDATE CONSTRAINT in the transaction that locked the table, on an existing table; ALTER DOMAIN … ADD CONSTRAINT without NOT VALID',
  docs: 'ALTER TABLE … ADD CONSTRAINT checks every row under an ACCESS EXCLUSIVE (CHECK) or SHARE ROW EXCLUSIVE (FOREIGN KEY, on both tables) lock, and so does a CHECK or REFERENCES written inline in ADD COLUMN. Add it NOT VALID, then VALIDATE CONSTRAINT in a later migration file (before Postgres 18 a partitioned table refuses a NOT VALID foreign key: add it to each partition that way, then to the parent, which adopts the validated keys without a scan): VALIDATE takes only SHARE UPDATE EXCLUSIVE, but in the same file (one transaction) the lock the ADD took is still held while VALIDATE scans. UNIQUE / PRIMARY KEY build an index inline: build it CONCURRENTLY first and add the constraint USING INDEX; a PRIMARY KEY also sets NOT NULL on its columns, a scan unless they are NOT NULL already or a validated CHECK proves it. SET NOT NULL scans every row under ACCESS EXCLUSIVE, unless a validated CHECK (col IS NOT NULL) exists (PG12+): then it is not reported. ATTACH PARTITION scans the table it attaches under ACCESS EXCLUSIVE unless a validated CHECK implies the partition bound (a table with any validated CHECK is not reported). ALTER DOMAIN … ADD CONSTRAINT checks every column of the domain, in every table, each under a SHARE lock: add it NOT VALID and VALIDATE later too. A table a TRUNCATE (not ONLY) emptied earlier in the same transaction, with nothing since that could add a row, is not reported: there is no row to check, and the TRUNCATE holds ACCESS EXCLUSIVE until the commit anyway (ATTACH PARTITION still scans the partition it attaches).',
  fix: 'alter table … add constraint … not valid; then, in a later migration file, alter table … validate constraint …',
  check(ctx) {
    const out: RawFinding[] = [];
    // Domains created per file (`file:schema.name`): a domain the same file created types no column with rows.
    const domainsMade = ctx.allStatements.filter((x) => x.type === 'CreateDomainStmt').map((x) => ({ file: x.fileIndex, name: x.names.createdObject(x.body['domainname']) }));
    const domainsMadeInFile = new Set(domainsMade.map((d) => `${d.file}:${d.name}`));
    const domainNames = new Set(domainsMade.map((d) => d.name));
    // Per transaction (a file's, or a BEGIN … COMMIT block's of a no-transaction file): the first
    // statement that took a write-blocking lock on each table, for VALIDATE after it.
    let transaction = '';
    let lockedAt = new Map<string, string>();
    // A table a TRUNCATE emptied earlier in this transaction: no row to check, and its ACCESS EXCLUSIVE lock is held already.
    const emptyAt = emptiedTables(ctx.allStatements);
    for (const s of ctx.statements) {
      const emptied = emptyAt.get(s) ?? new Map<string, boolean>();
      if (s.transaction !== transaction) {
        transaction = s.transaction;
        lockedAt = new Map();
      }
      if (s.type === 'IndexStmt' && !s.body['concurrent'] && s.transactional) {
        // CREATE INDEX holds SHARE (blocks writes) until the transaction ends.
        const t = s.names.relation(s.body['relation']);
        if (!lockedAt.has(t)) lockedAt.set(t, `the create index at line ${s.line}`);
      }
      if (s.type === 'AlterDomainStmt' && s.body['subtype'] === 'C') {
        const con = nodeBody(s.body['def'], 'Constraint');
        const domain = s.names.object(s.body['typeName'], (q) => domainNames.has(q));
        if (con?.['contype'] === 'CONSTR_CHECK' && !con['skip_validation'] && !domainsMadeInFile.has(`${s.fileIndex}:${domain}`)) {
          out.push({
            object: domain,
            objectKind: 'type',
            location: s.at(undefined),
            message: `adding CHECK constraint${con['conname'] ? ` ${con['conname'] as string}` : ''} to domain ${domain} scans every table with a column of that type, each under a SHARE lock that blocks writes to it`,
            fix: `add it NOT VALID, then, in a later migration file: alter domain ${domain} validate constraint ${(con['conname'] as string | undefined) ?? '<name>'}`,
          });
        }
        continue;
      }
      const at = alterTableCmds(s);
      if (!at || !existedBefore(s, at.table)) continue;
      // ADD CONSTRAINT and SET NOT NULL reach inheritance children too: TRUNCATE ONLY does not empty them.
      if (emptiedWithChildren(emptied, at.table)) {
        // Only ATTACH PARTITION scans another table than the one emptied: the partition it attaches.
        out.push(...at.cmds.flatMap((c) => (c.subtype === 'AT_AttachPartition' ? attachScan(s, at, c, emptied, ctx.rowEstimates) : [])));
        continue;
      }
      const strong = at.cmds.some((c) => !WEAK.has(c.subtype));
      const origin = originOf(s, at.table, ctx.rowEstimates);
      const before = s.tablesBefore.get(at.table);
      for (const c of at.cmds) {
        if (c.subtype === 'AT_AddConstraint') {
          const con = nodeBody(c.def, 'Constraint');
          if (!con) continue;
          const kind = con['contype'];
          const name = (con['conname'] as string | undefined) ?? '';
          const loc = s.at(locationOf(c.def) ?? at.location);
          if ((kind === 'CONSTR_CHECK' || kind === 'CONSTR_FOREIGN') && !con['skip_validation']) {
            const partitionedFk = kind === 'CONSTR_FOREIGN' && !!before?.partitioned;
            if (partitionedFk && partitionsHaveKey(s, at.table, con)) continue;
            out.push({
              object: at.table,
              objectKind: 'table',
              location: loc,
              message: `adding ${kind === 'CONSTR_CHECK' ? 'CHECK' : 'FOREIGN KEY'} constraint${name ? ` ${name}` : ''} to ${partitionedFk ? 'partitioned table ' : ''}${at.table} (${origin}) validates every row while blocking writes`,
              // Postgres 18 takes NOT VALID foreign keys on partitioned tables too; before, the partitions' way is the only one.
              fix: partitionedFk && !(ctx.serverVersion !== null && ctx.serverVersion >= 180000)
                ? `Postgres before 18 refuses NOT VALID foreign keys on a partitioned table: add the key NOT VALID to each partition, validate those in a later migration file, then add it to ${at.table} (it adopts the partitions' validated keys without a scan)`
                : `add it NOT VALID, then, in a later migration file: alter table ${at.table} validate constraint ${name || '<name>'}`,
            });
          }
          if (kind === 'CONSTR_PRIMARY' && con['indexname']) {
            // A primary key sets NOT NULL on its columns: a scan, unless declared or proven already.
            const index = `${at.table.slice(0, at.table.lastIndexOf('.'))}.${con['indexname'] as string}`;
            const idx = s.indexesBefore.get(index);
            if (!idx || !before || before.createdInFile < 0) continue;
            const nullable = idx.columns.filter(
              (col): col is string => !!col && before.columns.has(col) && !before.notNull.has(col) && ![...before.checks.values()].some((k) => k.validated && k.columns.includes(col)),
            );
            if (!nullable.length) continue;
            out.push({
              object: at.table,
              objectKind: 'table',
              location: loc,
              message: `add primary key using index ${index} sets NOT NULL on ${nullable.join(', ')} of ${at.table} (${origin}), which scans every row under an ACCESS EXCLUSIVE lock`,
              fix: `first: alter table ${at.table} add constraint … check (${nullable.map((c) => `${c} is not null`).join(' and ')}) not valid; validate it in an earlier migration file; then add the primary key (PG12+ skips the scan)`,
            });
          }
          if ((kind === 'CONSTR_UNIQUE' || kind === 'CONSTR_PRIMARY') && !con['indexname']) {
            out.push({
              object: at.table,
              objectKind: 'table',
              location: loc,
              message: `adding ${kind === 'CONSTR_UNIQUE' ? 'UNIQUE' : 'PRIMARY KEY'} constraint${name ? ` ${name}` : ''} to ${at.table} (${origin}) builds its index under an ACCESS EXCLUSIVE lock`,
              fix: `create unique index concurrently … first, then: alter table ${at.table} add constraint ${name || '<name>'} ${kind === 'CONSTR_UNIQUE' ? 'unique' : 'primary key'} using index …`,
            });
          }
        }
        if (c.subtype === 'AT_AddColumn') out.push(...inlineConstraints(s, at.table, origin, c));
        if (c.subtype === 'AT_AttachPartition') out.push(...attachScan(s, at, c, emptied, ctx.rowEstimates));
        if (c.subtype === 'AT_SetNotNull') {
          const checks = [...(before?.checks ?? new Map()).entries()].filter(([, k]) => k.columns.includes(c.name ?? ''));
          if (checks.some(([, k]) => k.validated)) continue; // PG12+: the validated CHECK proves it, no scan
          const pending = checks.find(([n]) => !n.startsWith('#'))?.[0];
          out.push({
            object: `${at.table}.${c.name}`,
            objectKind: 'column',
            location: s.at(at.location),
            message: `set not null on ${at.table}.${c.name} (${origin}) scans every row under an ACCESS EXCLUSIVE lock${pending ? ` (check ${pending} would spare the scan, but it is not validated yet)` : ''}`,
            fix: pending
              ? `in an earlier migration file: alter table ${at.table} validate constraint ${pending}; then set not null (PG12+ skips the scan)`
              : `add constraint … check (${c.name} is not null) not valid; validate it in a later migration file; then set not null (PG12+ skips the scan)`,
          });
        }
        if (c.subtype === 'AT_ValidateConstraint' && s.transactional) {
          const by = lockedAt.get(at.table) ?? (strong ? 'this same alter table' : undefined);
          if (by === undefined) continue;
          out.push({
            object: at.table,
            objectKind: 'table',
            location: s.at(at.location),
            message: `validate constraint ${c.name} scans every row of ${at.table} (${origin}) while the migration's transaction still holds the lock ${by} took on it, which blocks writes until ${s.blockLine === null ? 'the file commits' : `the block begun at line ${s.blockLine} commits`}`,
            fix: s.blockLine === null
              ? `move "alter table ${at.table} validate constraint ${c.name}" into a later migration file (each file runs in one transaction)`
              : `move "alter table ${at.table} validate constraint ${c.name}" after the COMMIT of the block begun at line ${s.blockLine}`,
          });
        }
      }
      if (s.transactional && strong && !lockedAt.has(at.table)) lockedAt.set(at.table, `the alter table at line ${s.line}`);
    }
    return out;
  },
};

/** ATTACH PARTITION scans the partition it attaches, unless the partition is new, emptied, or has a validated CHECK. */
function attachScan(s: MigrationStatement, at: { table: string; location?: number }, c: AlterCmd, emptied: ReadonlyMap<string, boolean>, rows: ReadonlyMap<string, number>): RawFinding[] {
  const cmd = nodeBody(c.def, 'PartitionCmd');
  const part = cmd ? s.names.relation(cmd['name']) : null;
  if (!part || !existedBefore(s, part) || emptiedWithChildren(emptied, part)) return [];
  // Postgres skips the scan when the partition's validated CHECKs imply the bound; any validated CHECK is taken as that.
  if ([...(s.tablesBefore.get(part)?.checks.values() ?? [])].some((k) => k.validated)) return [];
  return [{
    object: part,
    objectKind: 'table',
    location: s.at((cmd?.['name'] as { location?: number } | undefined)?.location ?? at.location),
    message: `attach partition ${part} (${originOf(s, part, rows)}) to ${at.table} scans every row of ${part} under an ACCESS EXCLUSIVE lock to check the partition bound`,
    fix: `first add a CHECK matching the bound: alter table ${part} add constraint … check (…) not valid; validate it in an earlier migration file; then attach (Postgres skips the scan when a validated CHECK implies the bound)`,
  }];
}

/**
 * Whether every partition the migrations attached to `parent` already has a validated
 * foreign key on the same columns to the same table: adding the key to the parent then
 * adopts them without scanning (there must be at least one such partition).
 */
function partitionsHaveKey(s: MigrationStatement, parent: string, con: Record<string, unknown>): boolean {
  const columns = JSON.stringify(((con['fk_attrs'] as unknown[] | undefined) ?? []).map((x) => nodeBody(x, 'String')?.['sval']));
  const references = s.names.relation(con['pktable']);
  const parts = [...s.tablesBefore.values()].filter((t) => t.partitionOf === parent);
  return parts.length > 0 && parts.every((p) => p.foreignKeys.some((k) => k.validated && k.references === references && JSON.stringify(k.columns) === columns));
}

/** CHECK / REFERENCES / UNIQUE / PRIMARY KEY written in `ADD COLUMN`: validated or indexed inline, under the ALTER's lock. */
function inlineConstraints(s: MigrationStatement, table: string, origin: string, c: AlterCmd): RawFinding[] {
  const def = nodeBody(c.def, 'ColumnDef');
  if (!def) return [];
  const col = def['colname'] as string;
  const out: RawFinding[] = [];
  // A new column without a default is all NULL: Postgres marks an inline REFERENCES valid without checking a row.
  const filled = constraintsOf(def).some((x) => (x['contype'] === 'CONSTR_DEFAULT' && !nodeBody(x['raw_expr'], 'A_Const')?.['isnull']) || x['contype'] === 'CONSTR_GENERATED' || x['contype'] === 'CONSTR_IDENTITY');
  for (const con of constraintsOf(def)) {
    const kind = con['contype'];
    if (kind === 'CONSTR_FOREIGN' && !filled) continue;
    const loc = s.at((con['location'] as number | undefined) ?? locationOf(c.def));
    if ((kind === 'CONSTR_CHECK' || kind === 'CONSTR_FOREIGN') && !con['skip_validation']) {
      const what = kind === 'CONSTR_CHECK' ? 'a CHECK' : 'a REFERENCES';
      out.push({
        object: `${table}.${col}`,
        objectKind: 'column',
        location: loc,
        message: `adding column ${col} with ${what} constraint to ${table} (${origin}) scans every row to validate it while blocking writes${kind === 'CONSTR_FOREIGN' ? ' to both tables' : ''}`,
        fix: `add the column without it, then: alter table ${table} add constraint … ${kind === 'CONSTR_CHECK' ? 'check (…)' : `foreign key (${col}) references …`} not valid; validate it in a later migration file`,
      });
    }
    if (kind === 'CONSTR_UNIQUE' || kind === 'CONSTR_PRIMARY') {
      const what = kind === 'CONSTR_UNIQUE' ? 'unique' : 'primary key';
      out.push({
        object: `${table}.${col}`,
        objectKind: 'column',
        location: loc,
        message: `adding column ${col} as ${what.toUpperCase()} to ${table} (${origin}) builds its index under an ACCESS EXCLUSIVE lock`,
        fix: `add the column without ${what}, create unique index concurrently … on ${table} (${col}) in a -- rowguard:no-transaction file, then: alter table ${table} add constraint … ${what} using index …`,
      });
    }
  }
  return out;
}
