/**
 * The security state the policy diff compares: per relation, its RLS flags,
 * its policies and the table privileges held by the API roles and PUBLIC.
 * Derived from a CatalogModel by a pure function, so the planner can be fed
 * hand-written models.
 */
import { PUBLIC, privilegeClosure, type CatalogModel, type GrantByOther, type Policy, type RelKind } from '../catalog/model.js';

/** rowguard's own bookkeeping (migration history) is never part of a diff. */
export const ROWGUARD_SCHEMA = 'rowguard';

export interface TableSecurity {
  /** `schema.name` (catalog/model.ts qualified(): a part quoted only when it holds a dot or starts with a quote). */
  qualified: string;
  schema: string;
  name: string;
  kind: RelKind;
  owner: string;
  isPartition: boolean;
  partitionOf: string | null;
  rls: boolean;
  forceRls: boolean;
  /** Sorted by name. */
  policies: readonly Policy[];
  /** grantee (API role or PUBLIC) → privileges (SELECT, INSERT, … order), only grantees with at least one. */
  grants: ReadonlyMap<string, readonly string[]>;
  /** grantee → privilege → sorted column names, for column-level grants (kept apart from table grants, as in the catalog). */
  columnGrants: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
  /**
   * Grants made by a role other than the owner, to one of these grantees (a REVOKE must be issued as
   * that role too) or by one of them (a REVOKE from it needs CASCADE, which takes them along).
   */
  grantsByOthers?: readonly GrantByOther[];
  /** For a view: the relations its query reads (a sub-select over the view reads them, under their RLS for a security_invoker view). */
  viewReads?: readonly string[];
  /** Privileges these grantees hold WITH GRANT OPTION (not managed by policies/ files; pull says so). */
  grantOptions?: ReadonlyArray<{ grantee: string; privilege: string; column: string | null }>;
  /**
   * The API roles that act as the relation's owner: the owner itself, or a role that inherits its
   * privileges (has_privs_of_role, which Postgres's ownership check uses). Such a role skips the
   * table's policies unless RLS is forced, and holds every privilege whatever its ACL says.
   */
  ownerActors: readonly string[];
}

export interface SecurityState {
  database: string;
  serverVersion: number;
  /** The grantees whose table privileges are compared: the API roles and PUBLIC. */
  grantees: readonly string[];
  /** Keyed by qualified name. */
  tables: ReadonlyMap<string, TableSecurity>;
  /** Roles with BYPASSRLS or SUPERUSER (policies never apply to them). */
  bypassRoles: readonly string[];
  /**
   * Bypass roles whose every inheriting member, however indirect, bypasses too:
   * a policy for such a role limits or lets in nobody. A policy applies to the
   * roles that have the privileges of one of its roles (has_privs_of_role, which
   * follows INHERIT), and BYPASSRLS itself is not inherited. A NOINHERIT member
   * (PostgREST's authenticator) must SET ROLE first, and then bypasses.
   */
  rlsExempt: readonly string[];
}

/** The grantees rowguard manages: the configured API roles and PUBLIC. */
export function managedGrantees(apiRoles: readonly string[]): string[] {
  return [PUBLIC, ...[...new Set(apiRoles)].sort()];
}

const NONE: readonly never[] = Object.freeze([]);

export function securityStateOf(model: CatalogModel, apiRoles: readonly string[]): SecurityState {
  const grantees = managedGrantees(apiRoles);
  const tables = new Map<string, TableSecurity>();
  // Each API role → the roles whose privileges it has (has_privs_of_role: itself, and inherited memberships).
  const privilegesOf = new Map([...new Set(apiRoles)].sort().map((a) => [a, privilegeClosure(model, a)]));
  for (const r of model.relations) {
    if (r.schema === ROWGUARD_SCHEMA) continue;
    const grants = new Map<string, string[]>();
    for (const g of r.grants) {
      if (grantees.includes(g.grantee) && g.privileges.length) grants.set(g.grantee, [...g.privileges]); // in the model's canonical order (SELECT, INSERT, …)
    }
    const columnGrants = new Map<string, Map<string, string[]>>();
    for (const g of r.columnGrants ?? []) {
      if (!grantees.includes(g.grantee)) continue;
      const byPriv = columnGrants.get(g.grantee) ?? columnGrants.set(g.grantee, new Map()).get(g.grantee)!;
      for (const p of g.privileges) (byPriv.get(p) ?? byPriv.set(p, []).get(p)!).push(g.column);
    }
    for (const byPriv of columnGrants.values()) for (const cols of byPriv.values()) cols.sort();
    tables.set(r.qualified, {
      qualified: r.qualified,
      schema: r.schema,
      name: r.name,
      kind: r.kind,
      owner: r.owner,
      isPartition: r.isPartition,
      partitionOf: r.partitionOf,
      rls: r.rls,
      forceRls: r.forceRls,
      policies: r.policies,
      grants,
      columnGrants,
      // To a managed grantee, or by one (what a REVOKE … CASCADE from it would take along).
      grantsByOthers: r.grantsByOthers?.length ? r.grantsByOthers.filter((g) => grantees.includes(g.grantee) || grantees.includes(g.grantor)) : NONE,
      grantOptions: r.grantOptions?.length ? r.grantOptions.filter((g) => grantees.includes(g.grantee)) : NONE,
      ...(r.kind === 'view' && r.dependsOn?.length ? { viewReads: r.dependsOn } : {}),
      ownerActors: ownerActorsOf(r.owner, privilegesOf),
    });
  }
  return {
    database: model.database,
    serverVersion: model.serverVersion,
    grantees,
    tables,
    bypassRoles: model.roles.filter((r) => r.bypassRls || r.superuser).map((r) => r.name),
    rlsExempt: rlsExemptRoles(model.roles),
  };
}

function ownerActorsOf(owner: string, privilegesOf: ReadonlyMap<string, ReadonlySet<string>>): readonly string[] {
  const out: string[] = [];
  for (const [a, has] of privilegesOf) if (has.has(owner)) out.push(a);
  return out.length ? out : NONE;
}

function rlsExemptRoles(roles: CatalogModel['roles']): string[] {
  const bypass = new Set(roles.filter((r) => r.bypassRls || r.superuser).map((r) => r.name));
  const members = new Map<string, string[]>(); // role → its direct members that inherit its privileges
  // inheritsFrom: the grant's own INHERIT option from PostgreSQL 16 on, rolinherit before.
  for (const r of roles) for (const g of r.inheritsFrom) (members.get(g) ?? members.set(g, []).get(g)!).push(r.name);
  const allBypass = (role: string, seen: Set<string>): boolean =>
    bypass.has(role) && (members.get(role) ?? []).every((m) => seen.has(m) || allBypass(m, seen.add(m)));
  return [...bypass].filter((r) => allBypass(r, new Set([r]))).sort();
}

/** Policies are equal when command, permissive, roles (a set) and both expressions are equal. */
export function sameBody(a: Policy, b: Policy): boolean {
  return (
    a.command === b.command &&
    a.permissive === b.permissive &&
    a.using === b.using &&
    a.check === b.check &&
    a.roles.length === b.roles.length &&
    // roles are sorted by the model builder, so a set comparison is element-wise.
    a.roles.every((r, i) => r === b.roles[i])
  );
}

export function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}
