/**
 * The access matrix as data: for each (table, actor, command) one Cell saying
 * what that actor could really do. Pure types and labels; no I/O.
 *
 * A cell's `label` is what the committed file stores and what comparisons use,
 * so it holds the classification and, for a filtered subset, the row counts
 * ("subset 3/10"); details that do not change the verdict stay in `note`.
 */

export const COMMANDS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
export type MatrixCommand = (typeof COMMANDS)[number];

export type ActorKind = 'anon' | 'user' | 'service_role' | 'role';

/** Who an actor is, as declared in test/fixtures/actors.json. */
export interface ActorSpec {
  name: string;
  kind: ActorKind;
  /** kind 'user': the auth.users email the fixtures create. */
  email?: string;
  /** kind 'role': a database role used directly (no JWT), e.g. a login role that owns tables. */
  role?: string;
}

export type Access =
  /** 42501 before any row was looked at: no grant (or a denied sequence, column, schema). */
  | 'none'
  /** Every row (reads, updates, deletes) or any owner (inserts). */
  | 'all'
  /** Exactly the rows the actor owns (or, for inserts: only rows it owns). */
  | 'own'
  /** Some other filtered set; `rows`/`total` say how many. */
  | 'subset'
  /** Allowed, but no row matched. */
  | 'empty'
  /** A write refused by a policy's WITH CHECK (42501 "new row violates row-level security policy"). */
  | 'refused'
  /** The operation could not be attempted (`note` says why). */
  | 'n/a'
  /** The operation failed for another reason (`note` has the SQLSTATE and message). */
  | 'error';

export interface Cell {
  access: Access;
  /** Rows seen or affected, for the row-counting commands. */
  rows?: number;
  /** Rows in the table (ground truth, read bypassing RLS). */
  total?: number;
  /** Why: the reason for n/a, the error, or a remark that does not change the verdict. */
  note?: string;
  /**
   * The columns the actor may use for this command, when its privilege is on
   * some columns only (column grants, e.g. every column but a password hash).
   * Part of the label: widening a column grant to the whole table changes the cell.
   */
  columns?: string[];
}

export interface TableInfo {
  /** Schema-qualified display name, `schema.table` (quoted only where Postgres would need it). */
  name: string;
  schema: string;
  table: string;
  kind: 'table' | 'partitioned table' | 'partition' | 'view' | 'materialized view' | 'foreign table';
  rls: boolean;
  forceRls: boolean;
  /** The column deciding ownership, or null. */
  ownerColumn: string | null;
}

export interface ActorInfo {
  name: string;
  kind: ActorKind;
  /** The role the operations run as. */
  role: string;
  /** The user's id (auth.users.id) for kind 'user'. */
  uid?: string;
}

/** A function PostgREST serves at /rpc/<name>: in an exposed schema, not a procedure, aggregate or trigger function. */
export interface RpcFunction {
  /** `schema.name(identity arguments)`, as Postgres prints it. */
  name: string;
  schema: string;
  /** SECURITY DEFINER: it runs as its owner, whose RLS (usually none) then applies. */
  securityDefiner: boolean;
  owner: string;
}

/**
 * Whether an actor's request may call a function: `none` (42501: no EXECUTE on
 * it, or no USAGE on its schema), `execute`, or `n/a`/`error` when the actor's
 * request could not be set up at all.
 */
export interface CallCell {
  access: 'none' | 'execute' | 'n/a' | 'error';
  /** A SECURITY DEFINER function: the role the call runs as. Part of the label. */
  runsAs?: string;
  note?: string;
}

export interface Matrix {
  actors: ActorInfo[];
  tables: TableInfo[];
  /** cells[table name][actor name][command] */
  cells: Record<string, Record<string, Record<MatrixCommand, Cell>>>;
  functions: RpcFunction[];
  /** calls[function name][actor name] */
  calls: Record<string, Record<string, CallCell>>;
}

/** The stable text of a call cell: `none`, `execute`, `execute as postgres` (SECURITY DEFINER). */
export function callLabel(cell: CallCell): string {
  if (cell.access === 'execute') return cell.runsAs ? `execute as ${cell.runsAs}` : 'execute';
  if (cell.access === 'n/a' || cell.access === 'error') return cell.note ? `${cell.access}: ${cell.note}` : cell.access;
  return 'none';
}

/** Verdicts that say the command runs, so which columns it may use is part of them. */
const RUNS: ReadonlySet<Access> = new Set(['all', 'own', 'subset', 'empty', 'refused']);

/** The stable text of a cell, stored in test/access-matrix.json and compared. */
export function cellLabel(cell: Cell): string {
  const base = baseLabel(cell);
  return cell.columns && RUNS.has(cell.access) ? `${base} (columns ${cell.columns.join(', ')})` : base;
}

function baseLabel(cell: Cell): string {
  switch (cell.access) {
    case 'subset':
      return cell.rows === undefined || cell.total === undefined ? 'subset' : `subset ${cell.rows}/${cell.total}`;
    case 'n/a':
      return cell.note ? `n/a: ${cell.note}` : 'n/a';
    case 'error':
      return cell.note ? `error: ${cell.note}` : 'error';
    default:
      return cell.access;
  }
}

/** Human wording used in change lines: "none", "all rows", "own rows", "subset 3/10". */
export function describeLabel(label: string): string {
  const cols = /^(all|own|subset(?: \d+\/\d+)?|empty|refused) (\(columns .*\))$/.exec(label);
  if (cols) return `${describeLabel(cols[1]!)} ${cols[2]}`;
  if (label === 'all') return 'all rows';
  if (label === 'own') return 'own rows';
  if (label === 'empty') return 'no rows (empty)';
  if (label === 'refused') return 'refused by WITH CHECK';
  const definer = /^execute as (.+)$/.exec(label);
  if (definer) return `execute (SECURITY DEFINER: runs as ${definer[1]})`;
  return label;
}
