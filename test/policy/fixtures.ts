/**
 * Hand-written catalog rows → SecurityState, through the real model builder, for
 * planner unit tests; and a simulator that runs a plan's steps over a state, so
 * tests can check a plan is executable (names free when needed) and reaches the
 * desired state.
 */
import { buildModel, type RawCatalog } from '../../cli/core/catalog/build.js';
import type { CatalogModel, Policy } from '../../cli/core/catalog/model.js';
import { securityStateOf, type SecurityState, type TableSecurity } from '../../cli/core/policy/state.js';
import type { Step } from '../../cli/core/policy/plan.js';
import { mulberry32 } from '../helpers/random.js';

/** aclitem privilege letters, as Postgres prints an ACL (the model reads them back). */
const ACL_LETTER: Record<string, string> = { SELECT: 'r', INSERT: 'a', UPDATE: 'w', DELETE: 'd', TRUNCATE: 'D', REFERENCES: 'x', TRIGGER: 't' };

export const API = ['anon', 'authenticated', 'service_role'];

export interface PolicyRow {
  name: string;
  cmd?: 'r' | 'a' | 'w' | 'd' | '*';
  permissive?: boolean;
  roles?: string[];
  using?: string | null;
  check?: string | null;
}

export interface TableRow {
  table: string; // schema.name (split at the first dot)
  kind?: 'r' | 'p' | 'v';
  rls?: boolean;
  force?: boolean;
  grants?: Record<string, string[]>;
  columnGrants?: Array<{ column: string; grantee: string; privilege: string }>;
  policies?: PolicyRow[];
  partitionOf?: string;
}

/** An aclitem as Postgres prints it: `grantee=letters/grantor` (PUBLIC: an empty grantee). */
function aclItem(grantee: string, privs: readonly string[]): string {
  return `${grantee === 'PUBLIC' ? '' : grantee}=${privs.map((p) => ACL_LETTER[p]).join('')}/owner`;
}

/** Column grants as the catalog reads them: each column's ACL, columns in first-mention order. */
function columnAcls(grants: NonNullable<TableRow['columnGrants']>): Array<{ column: string; acl: string[] }> {
  const byColumn = new Map<string, Map<string, string[]>>();
  for (const g of grants) {
    if (!byColumn.has(g.column)) byColumn.set(g.column, new Map());
    const byGrantee = byColumn.get(g.column)!;
    byGrantee.set(g.grantee, [...(byGrantee.get(g.grantee) ?? []), g.privilege]);
  }
  return [...byColumn].map(([column, byGrantee]) => ({ column, acl: [...byGrantee].map(([grantee, privs]) => aclItem(grantee, privs)) }));
}

export function stateOf(tables: TableRow[]): SecurityState {
  return securityStateOf(modelOf(tables), API);
}

/** The catalog model of hand-written rows (effective privileges = direct grants plus PUBLIC's). */
export function modelOf(tables: TableRow[], otherRoles: readonly string[] = []): CatalogModel {
  const raw: RawCatalog = {
    meta: { version: 170000, database: 'fixture', pgrst: null },
    apiRoles: API,
    roles: ['anon', 'authenticated', 'service_role', 'owner', ...otherRoles].map((name) => ({
      name,
      superuser: false,
      bypass_rls: name === 'service_role',
      login: false,
      inherit: true,
      member_of: [],
      inherits_from: [],
    })),
    schemas: [],
    relations: tables.map((t, i) => {
      const dot = t.table.indexOf('.');
      return {
        oid: String(1000 + i),
        schema: t.table.slice(0, dot),
        name: t.table.slice(dot + 1),
        kind: t.kind ?? 'r',
        owner: 'owner',
        rls: t.rls ?? false,
        force_rls: t.force ?? false,
        is_partition: !!t.partitionOf,
        partition_of: t.partitionOf ? ([t.partitionOf.slice(0, t.partitionOf.indexOf('.')), t.partitionOf.slice(t.partitionOf.indexOf('.') + 1)] as [string, string]) : null,
        options: [],
        estimated_rows: 0,
        comment: null,
        acl: Object.entries(t.grants ?? {}).map(([grantee, privs]) => aclItem(grantee, privs)),
        column_acl: columnAcls(t.columnGrants ?? []),
        api_access: Object.fromEntries(API.map((role) => [role, [...new Set([...(t.grants?.[role] ?? []), ...(t.grants?.['PUBLIC'] ?? [])])]])),
        view_definition: null,
        depends_on: [],
      };
    }),
    policies: tables.flatMap((t, i) =>
      (t.policies ?? []).map((p) => ({
        rel_oid: String(1000 + i),
        name: p.name,
        cmd: p.cmd ?? '*',
        permissive: p.permissive ?? true,
        roles: p.roles ?? ['PUBLIC'],
        using: p.using === undefined ? 'true' : p.using,
        check: p.check ?? null,
        comment: null,
      })),
    ),
    columns: [],
    indexes: [],
    foreignKeys: [],
    triggers: [],
    functions: [],
    extensions: [],
  };
  return buildModel(raw);
}

/** Run steps over `from`; throws when a step could not run in Postgres (name taken, policy missing). */
export function simulate(from: SecurityState, steps: readonly Step[]): SecurityState {
  const tables = new Map<string, TableSecurity>();
  for (const [k, t] of from.tables) {
    tables.set(k, {
      ...t,
      policies: [...t.policies],
      grants: new Map([...t.grants].map(([g, p]) => [g, [...p]])),
      columnGrants: new Map([...t.columnGrants].map(([g, m]) => [g, new Map([...m].map(([p, c]) => [p, [...c]]))])),
    });
  }
  for (const s of steps) {
    const t = tables.get(s.table)!;
    const policies = t.policies as Policy[];
    const grants = t.grants as Map<string, string[]>;
    const cols = t.columnGrants as Map<string, Map<string, string[]>>;
    const find = (name: string) => {
      const i = policies.findIndex((p) => p.name === name);
      if (i < 0) throw new Error(`step ${s.kind}: no policy ${name} on ${s.table}`);
      return i;
    };
    const free = (name: string) => {
      if (policies.some((p) => p.name === name)) throw new Error(`step ${s.kind}: policy ${name} already exists on ${s.table}`);
    };
    switch (s.kind) {
      case 'create-policy':
        free(s.policy.name);
        policies.push(s.policy);
        break;
      case 'drop-policy':
        policies.splice(find(s.name), 1);
        break;
      case 'rename-policy': {
        const i = find(s.name);
        free(s.newName);
        policies[i] = { ...policies[i]!, name: s.newName };
        break;
      }
      case 'alter-policy': {
        const i = find(s.name);
        const p = policies[i]!;
        policies[i] = { ...p, roles: s.after.roles, using: s.after.using ?? p.using, check: s.after.check ?? p.check };
        break;
      }
      case 'enable-rls':
        Object.assign(t, { rls: true });
        break;
      case 'disable-rls':
        Object.assign(t, { rls: false });
        break;
      case 'force-rls':
        Object.assign(t, { forceRls: true });
        break;
      case 'no-force-rls':
        Object.assign(t, { forceRls: false });
        break;
      case 'grant':
        grants.set(s.grantee, [...new Set([...(grants.get(s.grantee) ?? []), ...s.privileges])].sort());
        break;
      case 'revoke': {
        const left = (grants.get(s.grantee) ?? []).filter((p) => !s.privileges.includes(p));
        if (left.length) grants.set(s.grantee, left);
        else grants.delete(s.grantee);
        // Postgres: revoking a table privilege revokes it on every column too.
        for (const p of s.privileges) cols.get(s.grantee)?.delete(p);
        break;
      }
      case 'grant-columns':
      case 'revoke-columns': {
        const m = cols.get(s.grantee) ?? cols.set(s.grantee, new Map()).get(s.grantee)!;
        for (const [p, c] of Object.entries(s.columns)) {
          const now = new Set(m.get(p) ?? []);
          for (const x of c) s.kind === 'grant-columns' ? now.add(x) : now.delete(x);
          if (now.size) m.set(p, [...now].sort());
          else m.delete(p);
        }
        if (m.size === 0) cols.delete(s.grantee);
        break;
      }
    }
  }
  for (const t of tables.values()) (t.policies as Policy[]).sort((a, b) => (a.name < b.name ? -1 : 1));
  return { ...from, tables };
}

/** A seeded choice: `r(n)` is in [0, n). */
export function rng(seed: number): (n: number) => number {
  const next = mulberry32(seed);
  return (n: number) => Math.floor(next() * n);
}

/**
 * A random table state over a small name and body space (columns x, y, z are
 * booleans), so renames, swaps, cycles and name reuse are frequent. Always a
 * valid Postgres policy: INSERT has only WITH CHECK, SELECT/DELETE only USING.
 */
export function randomTable(r: (n: number) => number, table: string): TableRow {
  const policies = ['a', 'b', 'c', 'd']
    .filter(() => r(3) > 0)
    .map((name): PolicyRow => {
      const cmd = (['r', 'a', 'w', 'd', '*'] as const)[r(5)]!;
      let using: string | null = r(4) === 0 ? null : ['x', 'y', 'true'][r(3)]!;
      let check: string | null = r(3) === 0 ? ['x', 'z'][r(2)]! : null;
      if (cmd === 'a') {
        using = null;
        check ??= 'z';
      }
      if (cmd === 'r' || cmd === 'd') {
        check = null;
        using ??= 'y';
      }
      if (using === null && check === null) using = 'x';
      return { name, cmd, permissive: r(2) === 0, roles: [['anon'], ['authenticated'], ['PUBLIC'], ['anon', 'authenticated']][r(4)]!, using, check };
    });
  const columnGrants = r(3) === 0 ? [{ column: ['x', 'y'][r(2)]!, grantee: 'authenticated', privilege: 'SELECT' }] : [];
  return { table, rls: r(2) === 0, force: r(2) === 0, grants: r(2) ? { anon: ['SELECT'] } : {}, columnGrants, policies };
}
