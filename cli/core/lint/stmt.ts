/** Small readers over libpg-query statement bodies, shared by the migration rules. */
import { type MigrationStatement } from './migrations.js';

export type Body = Record<string, unknown>;

export function nodeBody(v: unknown, type: string): Body | undefined {
  return v && typeof v === 'object' ? ((v as Record<string, Body>)[type] ?? undefined) : undefined;
}

export function constraintsOf(columnDef: Body): Body[] {
  return ((columnDef['constraints'] as unknown[] | undefined) ?? []).map((c) => nodeBody(c, 'Constraint')).filter((c): c is Body => !!c);
}

/**
 * ALTER TABLE sub-commands that take SHARE UPDATE EXCLUSIVE, not a stronger lock
 * (AlterTableGetLockLevel): it conflicts with neither reads nor writes.
 */
export const SHARE_UPDATE_EXCLUSIVE_CMDS: ReadonlySet<string> = new Set(['AT_ValidateConstraint', 'AT_SetStatistics', 'AT_ClusterOn', 'AT_DropCluster', 'AT_SetRelOptions', 'AT_ResetRelOptions']);

export interface AlterCmd {
  subtype: string;
  name?: string;
  def?: unknown;
  location?: number;
}

/** `ALTER TABLE` sub-commands with the table they act on (plain tables only, not ALTER INDEX/VIEW). */
export function alterTableCmds(s: MigrationStatement): { table: string; cmds: AlterCmd[]; location?: number } | null {
  if (s.type !== 'AlterTableStmt' || s.body['objtype'] !== 'OBJECT_TABLE') return null;
  const rel = s.body['relation'] as Body;
  return {
    table: s.names.relation(rel),
    location: rel['location'] as number | undefined,
    cmds: ((s.body['cmds'] as unknown[] | undefined) ?? []).map((c) => nodeBody(c, 'AlterTableCmd') as unknown as AlterCmd),
  };
}

/** Location of a column definition or constraint inside the file (byte offset), if the parser gave one. */
export function locationOf(v: unknown): number | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const b = Object.values(v as Record<string, Body>)[0];
  return (b?.['location'] as number | undefined) ?? undefined;
}

/**
 * Whether a parenthesized option list (`vacuum (full) t`, `reindex (concurrently false) index i`)
 * turns the boolean option `name` on, as Postgres reads it (defGetBoolean): named with no value,
 * or with true / on / a non-zero integer; false, off and 0 turn it off (the statement then does
 * what it does without the option).
 */
export function booleanOption(params: unknown, name: string): boolean {
  if (!Array.isArray(params)) return false;
  const d = params.map((p) => nodeBody(p, 'DefElem')).find((p) => p?.['defname'] === name);
  if (!d) return false;
  if (d['arg'] === undefined) return true;
  const int = nodeBody(d['arg'], 'Integer');
  if (int) return Number(int['ival'] ?? 0) !== 0;
  const str = nodeBody(d['arg'], 'String')?.['sval'];
  return typeof str === 'string' ? !['false', 'off'].includes(str.toLowerCase()) : true;
}
