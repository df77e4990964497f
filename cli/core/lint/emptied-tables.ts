/**
 * Tables a TRUNCATE emptied earlier in the same transaction, shared by the migration rules that
 * exempt them. TRUNCATE takes ACCESS EXCLUSIVE and holds it until the transaction ends, so no other
 * session reads, writes or even waits less because of what follows on that table: a CREATE INDEX
 * (SHARE), a rewrite or a validating scan there finds no row and adds no lock anyone would not
 * already wait for. Only in the same transaction: in a `-- rowguard:no-transaction` file each
 * statement outside a BEGIN … COMMIT block commits on its own, and the running app writes again.
 */
import { type MigrationStatement } from './migrations.js';
import { alterTableCmds, nodeBody } from './stmt.js';

/** Statements that add no row to any table (what may come between the TRUNCATE and the statement judged). */
const ROW_NEUTRAL = new Set(['AlterTableStmt', 'CreateStmt', 'IndexStmt', 'TruncateStmt', 'CommentStmt', 'GrantStmt', 'VariableSetStmt', 'DropStmt', 'CreateFunctionStmt', 'CreateTrigStmt', 'CreatePolicyStmt', 'AlterPolicyStmt', 'CreateEnumStmt', 'AlterEnumStmt', 'CreateSeqStmt', 'AlterSeqStmt', 'CreateDomainStmt', 'ViewStmt', 'CompositeTypeStmt', 'CreateSchemaStmt', 'ReindexStmt']);

/**
 * The tables each statement finds empty and locked: emptied by a TRUNCATE earlier in the same
 * transaction, with only row-neutral statements since. Each maps to whether its inheritance
 * children were emptied too: TRUNCATE ONLY leaves a child's rows, which what recurses to children
 * (ADD COLUMN, ALTER COLUMN TYPE, ADD CONSTRAINT) reaches, while an index of the parent covers the
 * parent alone. What a DO block does around its statements is not read, so one there neither
 * empties nor keeps a table empty; ATTACH PARTITION brings the partition's rows.
 */
export function emptiedTables(all: readonly MigrationStatement[]): Map<MigrationStatement, ReadonlyMap<string, boolean>> {
  const out = new Map<MigrationStatement, ReadonlyMap<string, boolean>>();
  let empty = new Map<string, { tx: string; children: boolean }>(); // table → the transaction that emptied it
  let inDo: { file: string; endLine: number } | null = null;
  for (const s of all) {
    const inside = inDo !== null && inDo.file === s.file && s.line <= inDo.endLine && s.type !== 'DoStmt';
    out.set(s, new Map([...empty].filter(([, e]) => e.tx === s.transaction).map(([t, e]) => [t, e.children])));
    if (s.type === 'DoStmt') inDo = { file: s.file, endLine: s.endLine };
    if (inside || !ROW_NEUTRAL.has(s.type)) {
      empty = new Map();
      continue;
    }
    if (s.type === 'AlterTableStmt') {
      for (const c of alterTableCmds(s)?.cmds ?? []) {
        if (c.subtype === 'AT_AttachPartition') empty.delete(alterTableCmds(s)!.table);
        // ALTER TABLE child INHERIT parent: the parent's own heap stays empty, but what recurses to its children meets the child's rows.
        const parent = c.subtype === 'AT_AddInherit' ? nodeBody(c.def, 'RangeVar') : undefined;
        const e = parent ? empty.get(s.names.relation(parent)) : undefined;
        if (parent && e) empty.set(s.names.relation(parent), { ...e, children: false });
      }
    }
    if (s.type === 'TruncateStmt') {
      for (const r of (s.body['relations'] as unknown[] | undefined) ?? []) {
        const rv = nodeBody(r, 'RangeVar');
        if (rv) empty.set(s.names.relation(rv), { tx: s.transaction, children: !!rv['inh'] });
      }
    }
  }
  return out;
}

/** Whether `table` and everything under it (inheritance children, partitions) was emptied: `emptied.get(table) === true`. */
export function emptiedWithChildren(emptied: ReadonlyMap<string, boolean> | undefined, table: string): boolean {
  return emptied?.get(table) === true;
}
