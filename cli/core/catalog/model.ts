/**
 * The catalog model: what rowguard knows about a database's security-relevant
 * objects, built by a pure function from the rows of one catalog read
 * (introspect.ts). Tests build it from hand-written rows, no database needed.
 * Every list is sorted so two models of equal databases are deeply equal.
 */
import { schemasFrom } from './exposed.js';

export type RelKind = 'table' | 'partitioned' | 'view' | 'materialized' | 'foreign';
export type PolicyCommand = 'ALL' | 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';
export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE' | 'REFERENCES' | 'TRIGGER';

/** `PUBLIC` is a keyword (grantee oid 0), never a role name. */
export const PUBLIC = 'PUBLIC';

export interface Role {
  name: string;
  superuser: boolean;
  bypassRls: boolean;
  login: boolean;
  inherit: boolean;
  /** Roles this role is a direct member of. */
  memberOf: string[];
  /** The direct memberships whose privileges this role inherits (has_privs_of_role): INHERIT per grant since Postgres 16. */
  inheritsFrom: string[];
}

export interface Column {
  name: string;
  num: number;
  type: string;
  notNull: boolean;
  /**
   * It holds no NULL though not declared NOT NULL: its domain is NOT NULL or CHECKs VALUE IS NOT NULL
   * (or is over such a domain), or a validated CHECK (col IS NOT NULL) of the table says so; absent when not.
   */
  refusesNull?: boolean;
  /** An array column a validated CHECK keeps from being empty (`cardinality(col) > 0`, `col <> '{}'`); absent when not. */
  refusesEmpty?: boolean;
  hasDefault: boolean;
  /** 's' stored generated column, '' none. */
  generated: boolean;
  identity: boolean;
  comment: string | null;
}

export interface Index {
  name: string;
  /** Column names in key order; null for an expression key. */
  columns: Array<string | null>;
  unique: boolean;
  primary: boolean;
  valid: boolean;
  partial: boolean;
}

export interface ForeignKey {
  name: string;
  columns: string[];
  refTable: string; // qualified(schema, name)
  refColumns: string[];
}

export interface Policy {
  name: string;
  /** Qualified table name `schema.table` (unquoted parts). */
  table: string;
  schema: string;
  tableName: string;
  command: PolicyCommand;
  permissive: boolean;
  /** Sorted role names; `PUBLIC` when the policy has no TO (or TO public). */
  roles: string[];
  /** pg_get_expr with an empty search_path: every name schema-qualified. */
  using: string | null;
  check: string | null;
  comment: string | null;
  /**
   * USING (WITH CHECK) holds an IS [NOT] DISTINCT FROM whose `=` has no commutator
   * (pg_operator.oprcom = 0), like a user's =(text, int) beside an unrelated
   * =(int, text): pg_get_expr never names that operator, and `b IS DISTINCT FROM a`
   * would resolve to another one, so its sides are not operand order
   * (policy/expr-equal.ts). Absent means false.
   */
  usingSidesFixed?: boolean;
  checkSidesFixed?: boolean;
}

export interface Trigger {
  name: string;
  /** e.g. ['INSERT','UPDATE'] */
  events: string[];
  timing: 'BEFORE' | 'AFTER' | 'INSTEAD OF';
  level: 'ROW' | 'STATEMENT';
  /** Qualified function name. */
  function: string;
  enabled: boolean;
  /** Trigger columns for UPDATE OF. */
  columns: string[];
  /** It has a WHEN condition (pg_trigger.tgqual), so it may not fire for every row. */
  conditional?: boolean;
}

/** A grant as stored in the ACL: grantee (role name or PUBLIC) → privileges. */
export interface Grant {
  grantee: string;
  privileges: string[];
}

/** A column-level grant (pg_attribute.attacl): grantee (role name or PUBLIC) → privileges on one column. */
export interface ColumnGrant {
  column: string;
  grantee: string;
  privileges: string[];
}

/**
 * A privilege that a role other than the relation's owner granted (it held it WITH
 * GRANT OPTION). REVOKE removes only the grants its issuer made — a superuser
 * issues it as the owner — so such a grant outlives the owner's REVOKE.
 */
export interface GrantByOther {
  grantee: string;
  privilege: string;
  grantor: string;
  /** The column, for a column-level grant. */
  column: string | null;
}

/** Effective privileges of an API role (has_*_privilege, so membership and PUBLIC count). */
export type ApiAccess = Record<string, TablePrivilege[]>;

export interface Relation {
  schema: string;
  name: string;
  /** `schema.name`, unquoted. */
  qualified: string;
  kind: RelKind;
  owner: string;
  rls: boolean;
  forceRls: boolean;
  isPartition: boolean;
  /** Qualified parent for partitions. */
  partitionOf: string | null;
  /**
   * Tables INHERIT from it (not partitions): a query of it reads their rows too, which its
   * unique indexes do not cover (uniqueKeys gives none for it).
   */
  hasInheritanceChildren: boolean;
  /**
   * The tables it INHERITs from (`create table c () inherits (p)`, not partitions), qualified, in
   * declaration order; absent when none. Queried by name it is judged by its own RLS flag and
   * policies; queried through a parent, by the parent's.
   */
  inheritsFrom?: string[];
  /** reloptions as a map (security_invoker, security_barrier, …). */
  options: Record<string, string>;
  estimatedRows: number;
  comment: string | null;
  columns: Column[];
  indexes: Index[];
  foreignKeys: ForeignKey[];
  grants: Grant[];
  /** Column-level grants, by column number then grantee (separate from the table ACL). */
  columnGrants: ColumnGrant[];
  /** Table and column grants whose grantor is not the owner (usually none); optional so hand-written models may omit it. */
  grantsByOthers?: GrantByOther[];
  /** Privileges held WITH GRANT OPTION (`*` in the ACL), per grantee and column (null: the table); usually none. */
  grantOptions?: Array<{ grantee: string; privilege: string; column: string | null }>;
  /** Per API role (that exists): effective table privileges. */
  apiAccess: ApiAccess;
  policies: Policy[];
  triggers: Trigger[];
  /** For views and materialized views: the definition and the relations it reads. */
  viewDefinition: string | null;
  /**
   * For a view: the writes Postgres takes through it (auto-updatable, or INSTEAD OF triggers and rules);
   * absent when unknown (a hand-written model), read then as every write.
   */
  viewWrites?: Array<'INSERT' | 'UPDATE' | 'DELETE'>;
  dependsOn: string[];
}

export interface FunctionInfo {
  schema: string;
  name: string;
  /** `schema.name(identity args)` */
  signature: string;
  args: string;
  returns: string;
  language: string;
  kind: 'function' | 'procedure' | 'aggregate' | 'window';
  securityDefiner: boolean;
  /** STRICT (RETURNS NULL ON NULL INPUT): never inlined unless its body is strict too. */
  strict?: boolean;
  volatility: 'immutable' | 'stable' | 'volatile';
  /** proconfig entries, e.g. ['search_path=""']. */
  config: string[];
  isTrigger: boolean;
  owner: string;
  /** API roles with EXECUTE (has_function_privilege). */
  executableBy: string[];
  /** LANGUAGE sql only: the body as written (prosrc) or, for RETURN / BEGIN ATOMIC bodies, as Postgres prints it; else null. */
  body: string | null;
  /** LANGUAGE plpgsql only: the source as written (prosrc), which the lint reads (what a helper looks up, what a trigger sets NEW's columns to); else null. */
  plpgsqlSource?: string | null;
  grants: Grant[];
  comment: string | null;
  /** Extension member functions are not the user's code. */
  fromExtension: boolean;
}

export interface Schema {
  name: string;
  owner: string;
  /** API roles with USAGE. */
  usableBy: string[];
  grants: Grant[];
  fromExtension: boolean;
}

/** An installed extension: where it lives, and its members an API request could reach. */
export interface Extension {
  name: string;
  schema: string;
  /** Member functions (not procedures or aggregates), with the API roles holding EXECUTE. */
  functions: Array<{ schema: string; name: string; signature: string; executableBy: string[] }>;
  /** Member tables, views, materialized views and foreign tables, with each API role's privileges. */
  relations: Array<{ schema: string; name: string; qualified: string; kind: RelKind; apiAccess: ApiAccess }>;
}

export interface CatalogModel {
  serverVersion: number;
  database: string;
  /** The API roles the model was read for (those that exist). */
  apiRoles: string[];
  /** `pgrst.db_schemas` as set on the database or the authenticator role, if any. */
  pgrstDbSchemas: string | null;
  /**
   * The search_path a new session on the database starts with (ALTER DATABASE / ROLE … SET
   * search_path, else the server's): migrate up runs each file in such a session, so unqualified
   * names in migrations resolve under it. Null when not read.
   */
  searchPath?: string | null;
  /**
   * The role the catalog was read as (current_user), whose search_path setting searchPath is: the
   * role migrate up runs the files as on this connection, which "$user" in a search_path names.
   * Null when not read.
   */
  role?: string | null;
  /**
   * Ids of Supabase Storage's public buckets (storage.buckets where public: their objects are
   * served by URL to anyone), read from the rows; null when there is no such table or the
   * connection may not read it (under RLS it reads only the rows its policies show).
   */
  publicBuckets: string[] | null;
  roles: Role[];
  schemas: Schema[];
  relations: Relation[];
  functions: FunctionInfo[];
  extensions: Extension[];
}

/**
 * A relation's `schema.name`, the key rowguard finds it by (and shows it as). Each part
 * is written as it is, unless it holds a dot or starts with a double quote: then it is
 * double-quoted as in SQL ("" for "). Written plainly, schema "a.b" with table c and
 * schema a with table "b.c" would both be a.b.c, and one would hide the other.
 */
export function qualified(schema: string, name: string): string {
  return `${qualifiedPart(schema)}.${qualifiedPart(name)}`;
}

function qualifiedPart(name: string): string {
  return name.includes('.') || name.startsWith('"') ? `"${name.replace(/"/g, '""')}"` : name;
}

export function findRelation(model: CatalogModel, qualifiedName: string): Relation | undefined {
  return model.relations.find((r) => r.qualified === qualifiedName);
}

const closures = new WeakMap<CatalogModel, Map<string, Set<string>>>();

/**
 * `role` and the roles whose privileges it has (has_privs_of_role): memberships
 * followed only where they are inherited (pg_auth_members.inherit_option since
 * Postgres 16, rolinherit before). A policy TO a role granted WITH INHERIT FALSE
 * does not apply (rowsecurity.c check_role_for_policy), and neither do its
 * grants. Memoised per model; do not mutate the result.
 */
export function privilegeClosure(model: CatalogModel, role: string): ReadonlySet<string> {
  let m = closures.get(model);
  if (!m) closures.set(model, (m = new Map()));
  let c = m.get(role);
  if (!c) {
    const byName = new Map(model.roles.map((r) => [r.name, r]));
    c = new Set<string>();
    const stack = [role];
    while (stack.length) {
      const r = stack.pop()!;
      if (c.has(r)) continue;
      c.add(r);
      // A role missing from the model (hand-built models in tests) is followed by membership.
      const known = byName.get(r);
      for (const g of known ? (known.inheritsFrom ?? known.memberOf) : []) stack.push(g);
    }
    m.set(role, c);
  }
  return c;
}

/** Whether a policy applies to `role`: listed directly, through an inherited membership, or via PUBLIC. */
export function policyAppliesTo(model: CatalogModel, policy: Policy, role: string): boolean {
  if (policy.roles.includes(PUBLIC)) return true;
  const closure = privilegeClosure(model, role);
  return policy.roles.some((r) => closure.has(r));
}

/** Whether `command` is covered by a policy of command `policyCmd`. */
export function commandCovers(policyCmd: PolicyCommand, command: Exclude<PolicyCommand, 'ALL'>): boolean {
  return policyCmd === 'ALL' || policyCmd === command;
}

/** Exposed schemas: config, else pgrst.db_schemas (the authenticator's, else the database's), else public (PostgREST's default). */
export function exposedSchemas(model: CatalogModel, configured: readonly string[] | null): string[] {
  return schemasFrom(configured, model.pgrstDbSchemas);
}
