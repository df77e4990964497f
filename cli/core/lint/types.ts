/**
 * The shapes shared by the lint engine, its rules and its reporters. A rule is
 * metadata plus a pure check function: catalog rules read the frozen
 * CatalogModel (and the parsed policy expressions), migration rules read the
 * parsed statements of the migration files with the table state before them.
 */
import type { CatalogModel, FunctionInfo, Policy } from '../catalog/model.js';
import type { CallerChosenSql } from './dynamic-sql.js';
import type { CallerFact, FunctionAnalysis, PolicyAnalysis, ReadableBody } from './expr.js';
import type { MigrationStatement, TableState } from './migrations.js';

export type Level = 'error' | 'warn' | 'info';
export const LEVELS: readonly Level[] = ['error', 'warn', 'info'];
export const LEVEL_RANK: Record<Level, number> = { error: 3, warn: 2, info: 1 };

export type Category = 'security' | 'performance' | 'migration' | 'lint';

export type ObjectKind = 'table' | 'view' | 'column' | 'policy' | 'function' | 'file' | 'role' | 'type' | 'extension' | 'database';

export interface RuleMeta {
  /** kebab-case; also the file name under rules/. */
  id: string;
  level: Level;
  category: Category;
  /** One line: what the rule finds. */
  description: string;
  /** Why it matters (a sentence or two, for docs/lint-rules.md). */
  docs: string;
  /** The general fix. Findings may carry a more specific one. */
  fix: string;
}

export interface FileLocation {
  file: string;
  line: number;
  column: number;
}

export interface Finding {
  rule: string;
  level: Level;
  category: Category;
  /** `schema.table`, `schema.fn(args)`, `schema.table.column`, `policy on schema.table`, or a file path. */
  object: string;
  objectKind: ObjectKind;
  /** What can happen, in words. */
  message: string;
  fix: string;
  location?: FileLocation;
  /** For catalog findings: the migration statement that created the object, when one did. */
  definedAt?: FileLocation;
}

/** What a rule returns: the engine fills rule, level, category and the default fix. */
export type RawFinding = Omit<Finding, 'rule' | 'level' | 'category' | 'fix' | 'definedAt'> & { fix?: string };

export interface CatalogLintContext {
  model: CatalogModel;
  /** Schemas PostgREST serves. */
  exposed: ReadonlySet<string>;
  /** API roles that exist in the database (anon, authenticated as configured). */
  apiRoles: readonly string[];
  anonRole: string;
  authenticatedRole: string;
  /** The parse-tree analysis of a policy (parsed once, shared by every rule). */
  analysis(policy: Policy): PolicyAnalysis;
  /** What a LANGUAGE sql or plpgsql function's body reads from the caller's own rows (parsed once). */
  /** …with `callerArgs`: the argument positions a policy fills with the caller's id (`has_role(auth.uid(), 'admin')`). */
  functionFacts(fn: FunctionInfo, callerArgs?: readonly number[]): CallerFact[];
  /** What the parse tree of a LANGUAGE sql or plpgsql function's body says about the caller (worked out once; empty for other languages). */
  functionAnalysis(fn: FunctionInfo): FunctionAnalysis;
  /** The body as the analyses read it (a PL/pgSQL one as its queries and expressions), or null when it is not read (other languages, trigger functions). */
  readableBody(fn: FunctionInfo): ReadableBody | null;
  /** The Postgres grammar, for rules that read a view's definition (absent in hand-built contexts). */
  parseSync?: (sql: string) => unknown;
  /** The command strings and settings a function builds from its arguments (dynamic-sql.ts), read once per function. */
  callerChosenSql(fn: FunctionInfo): CallerChosenSql;
}

export interface MigrationLintContext {
  /** Every statement of the judged files, in order, each with the state before it. */
  statements: readonly MigrationStatement[];
  /** Every statement of every file (the secrets rule reads them all). */
  allStatements: readonly MigrationStatement[];
  /** The lock_timeout the migration engine sets for each file (null when it sets none). */
  engineLockTimeout: string | null;
  /** Row estimates of the target database's tables (empty when linting a shadow or no database). */
  rowEstimates: ReadonlyMap<string, number>;
  /** server_version_num of the database linted against; null with no database (files only). */
  serverVersion: number | null;
  /**
   * Names (without schema) of the functions of the database linted against (the target or the
   * shadow) whose calls are volatile: VOLATILE ones, but for LANGUAGE sql ones whose body Postgres
   * inlines to an expression without a volatile call (sql-inline.ts); empty with files only.
   */
  catalogVolatileFunctions: ReadonlySet<string>;
  /** The Postgres grammar, for rules that read a function body the statements carry as text. */
  parseSync?: (sql: string) => unknown;
  /** The API's anonymous role (api.anonRole): a JWT for it is the project's public key. */
  anonRole?: string;
}

export interface CatalogRule extends RuleMeta {
  kind: 'catalog';
  check(ctx: CatalogLintContext): RawFinding[];
}

export interface MigrationRule extends RuleMeta {
  kind: 'migration';
  check(ctx: MigrationLintContext): RawFinding[];
}

export type Rule = CatalogRule | MigrationRule;

export type { MigrationStatement, TableState };
