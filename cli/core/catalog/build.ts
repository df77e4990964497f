/** Rows of one catalog read → the frozen CatalogModel. Pure. */
import {
  PUBLIC,
  qualified,
  type CatalogModel,
  type Column,
  type ForeignKey,
  type FunctionInfo,
  type Grant,
  type Index,
  type Policy,
  type PolicyCommand,
  type RelKind,
  type Relation,
  type TablePrivilege,
  type Trigger,
  type GrantByOther,
} from './model.js';
import { RowguardError } from '../errors.js';

type AclEntry = { grantee: string; privilege: string };

/**
 * An ACL as Postgres prints it (aclitem[]::text[]): `grantee=privileges/grantor`,
 * e.g. `authenticated=arwd/postgres`, `=r/postgres` for PUBLIC. Read in JS rather
 * than through aclexplode() + json_agg on the server, which cost eight times as
 * much there (30 ms per 2,000 tables).
 */
type AclItems = string[];

export interface RawCatalog {
  /** publicBuckets: ids of Supabase Storage's public buckets; null without a storage.buckets this connection may read (optional so hand-written catalogs may omit it). */
  meta: { version: number; database: string; pgrst: string | null; publicBuckets?: string[] | null; searchPath?: string | null; role?: string | null };
  apiRoles: string[];
  roles: Array<{ name: string; superuser: boolean; bypass_rls: boolean; login: boolean; inherit: boolean; member_of: string[]; inherits_from: string[] }>;
  schemas: Array<{ name: string; owner: string; usable_by: string[]; acl: AclItems; from_extension: boolean }>;
  relations: Array<{
    oid: string;
    schema: string;
    name: string;
    kind: string;
    owner: string;
    rls: boolean;
    force_rls: boolean;
    is_partition: boolean;
    /** [schema, name] of the parent. */
    partition_of: [string, string] | null;
    /** Tables that INHERIT from it (not partitions); optional so hand-written rows may omit it. */
    has_inheritance_children?: boolean;
    inherits_from?: Array<[string, string]> | null;
    options: string[];
    estimated_rows: number;
    comment: string | null;
    acl: AclItems;
    /** The ACL of each column that has one, in column order; optional so hand-written rows may omit it. */
    column_acl?: Array<{ column: string; acl: AclItems }>;
    api_access: Record<string, string[]>;
    view_definition: string | null;
    /** For a view, pg_relation_is_updatable (UPDATE 4, INSERT 8, DELETE 16); optional so hand-written rows may omit it. */
    view_writes?: number | null;
    /** [schema, name] of each relation a view reads. */
    depends_on: Array<[string, string]>;
  }>;
  policies: Array<{
    rel_oid: string;
    name: string;
    cmd: string;
    permissive: boolean;
    roles: string[];
    using: string | null;
    check: string | null;
    comment: string | null;
    /** USING / WITH CHECK has an IS [NOT] DISTINCT FROM whose `=` has no commutator (model.ts Policy.usingSidesFixed). */
    using_sides_fixed?: boolean;
    check_sides_fixed?: boolean;
  }>;
  columns: Array<{ rel_oid: string; name: string; num: number; type: string; not_null: boolean; refuses_null?: boolean; refuses_empty?: boolean; has_default: boolean; generated: boolean; identity: boolean; comment: string | null }>;
  indexes: Array<{ rel_oid: string; name: string; columns: Array<string | null>; unique: boolean; primary: boolean; valid: boolean; partial: boolean }>;
  foreignKeys: Array<{ rel_oid: string; name: string; columns: string[]; ref_table: [string, string]; ref_columns: string[] }>;
  triggers: Array<{ rel_oid: string; name: string; type: number; enabled: boolean; function: string; columns: string[]; conditional?: boolean }>;
  functions: Array<{
    schema: string;
    name: string;
    args: string;
    returns: string;
    language: string;
    kind: string;
    security_definer: boolean;
    strict?: boolean;
    volatility: string;
    config: string[];
    is_trigger: boolean;
    owner: string;
    executable_by: string[];
    body: string | null;
    plpgsql_source?: string | null;
    acl: AclItems;
    comment: string | null;
    from_extension: boolean;
  }>;
  extensions: Array<{
    name: string;
    schema: string;
    /** Its member functions and relations; optional so hand-written rows may omit them. */
    functions?: Array<{ schema: string; name: string; signature: string; executable_by: string[] }>;
    relations?: Array<{ schema: string; name: string; kind: string; api_access: Record<string, string[]> }>;
  }>;
}

const KIND: Record<string, RelKind> = { r: 'table', p: 'partitioned', v: 'view', m: 'materialized', f: 'foreign' };
const CMD: Record<string, PolicyCommand> = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' };
const PRIV_ORDER = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'USAGE', 'CREATE', 'EXECUTE', 'TEMPORARY', 'CONNECT'];

// aclitem privilege letters (ACL_ALL_RIGHTS_STR in utils/acl.h) → the names aclexplode() reports.
const ACL_LETTERS: Record<string, string> = {
  a: 'INSERT',
  r: 'SELECT',
  w: 'UPDATE',
  d: 'DELETE',
  D: 'TRUNCATE',
  x: 'REFERENCES',
  t: 'TRIGGER',
  X: 'EXECUTE',
  U: 'USAGE',
  C: 'CREATE',
  T: 'TEMPORARY',
  c: 'CONNECT',
  s: 'SET',
  A: 'ALTER SYSTEM',
  m: 'MAINTAIN',
};

/**
 * One aclitem's text (aclitemout in utils/adt/acl.c): the grantee is empty for
 * PUBLIC, and in double quotes (a quote doubled) unless it is only letters,
 * digits and underscores; `*` after a letter marks the grant option.
 */
export function parseAclItem(item: string): AclEntry[] {
  let grantee = '';
  let i: number;
  if (item.startsWith('"')) {
    for (i = 1; i < item.length; i++) {
      if (item[i] !== '"') grantee += item[i];
      else if (item[i + 1] === '"') grantee += item[++i];
      else break;
    }
    i++; // past the closing quote, at '='
  } else {
    i = item.indexOf('=');
    grantee = item.slice(0, i);
  }
  const out: AclEntry[] = [];
  for (let j = i + 1; j < item.length && item[j] !== '/'; j++) {
    const privilege = ACL_LETTERS[item[j]!];
    if (privilege) out.push({ grantee: grantee === '' ? PUBLIC : grantee, privilege });
  }
  return out;
}

type GrantOption = { grantee: string; privilege: string; column: string | null };
const NO_GRANTS_BY_OTHERS: GrantByOther[] = Object.freeze([]) as unknown as GrantByOther[];
const NO_GRANT_OPTIONS: GrantOption[] = Object.freeze([]) as unknown as GrantOption[];

function aclExtras(
  items: readonly string[],
  owner: string,
  columnAcl: ReadonlyArray<{ column: string; acl: readonly string[] }> | undefined,
): { grantsByOthers: GrantByOther[]; grantOptions: GrantOption[] } {
  const byOthers = grantsByOthersOf(items, owner, null);
  const options = items.flatMap((i) => aclItemGrantOptions(i, null));
  for (const { column, acl } of columnAcl ?? []) {
    byOthers.push(...grantsByOthersOf(acl, owner, column));
    options.push(...acl.flatMap((i) => aclItemGrantOptions(i, column)));
  }
  return { grantsByOthers: byOthers.length ? byOthers : NO_GRANTS_BY_OTHERS, grantOptions: options.length ? options : NO_GRANT_OPTIONS };
}

/** The privileges of one aclitem's text that carry the grant option (`*` after the letter). */
export function aclItemGrantOptions(item: string, column: string | null): Array<{ grantee: string; privilege: string; column: string | null }> {
  if (!item.includes('*')) return [];
  const entries = parseAclItem(item);
  const grantee = entries[0]?.grantee;
  if (grantee === undefined) return [];
  // The letters run from the '=' after the grantee to the '/' before the grantor.
  let i = 0;
  if (item.startsWith('"')) {
    for (i = 1; i < item.length; i++) {
      if (item[i] === '"' && item[i + 1] === '"') i++;
      else if (item[i] === '"') break;
    }
    i++;
  } else i = item.indexOf('=');
  const out: Array<{ grantee: string; privilege: string; column: string | null }> = [];
  for (let j = i + 1; j < item.length && item[j] !== '/'; j++) {
    if (item[j + 1] === '*' && ACL_LETTERS[item[j]!]) out.push({ grantee, privilege: ACL_LETTERS[item[j]!]!, column });
  }
  return out;
}

/** The grantor of one aclitem's text (after the `/`, quoted like the grantee when needed). */
export function aclItemGrantor(item: string): string {
  let i = 0;
  if (item.startsWith('"')) {
    for (i = 1; i < item.length; i++) {
      if (item[i] === '"' && item[i + 1] === '"') i++;
      else if (item[i] === '"') break;
    }
  }
  const rest = item.slice(item.indexOf('/', i) + 1);
  return rest.startsWith('"') ? rest.slice(1, -1).replace(/""/g, '"') : rest;
}

/** The entries of `items` granted by someone other than `owner`. */
export function grantsByOthersOf(items: readonly string[], owner: string, column: string | null): GrantByOther[] {
  const out: GrantByOther[] = [];
  for (const item of items) {
    const grantor = aclItemGrantor(item);
    if (grantor === owner) continue;
    for (const a of parseAclItem(item)) out.push({ grantee: a.grantee, privilege: a.privilege, grantor, column });
  }
  return out;
}

export function grantsFromAclItems(items: readonly string[]): Grant[] {
  const by = new Map<string, Set<string>>();
  for (const a of items.flatMap(parseAclItem)) {
    if (!by.has(a.grantee)) by.set(a.grantee, new Set());
    by.get(a.grantee)!.add(a.privilege);
  }
  return [...by.entries()]
    .map(([grantee, privs]) => ({ grantee, privileges: [...privs].sort((x, y) => PRIV_ORDER.indexOf(x) - PRIV_ORDER.indexOf(y)) }))
    .sort((a, b) => (a.grantee === PUBLIC ? -1 : b.grantee === PUBLIC ? 1 : a.grantee.localeCompare(b.grantee)));
}

function options(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of list) {
    const i = o.indexOf('=');
    if (i > 0) out[o.slice(0, i)] = o.slice(i + 1);
  }
  return out;
}

function triggerOf(t: RawCatalog['triggers'][number]): Trigger {
  // tgtype bits (pg_trigger.h): 1 ROW, 2 BEFORE, 4 INSERT, 8 DELETE, 16 UPDATE, 32 TRUNCATE, 64 INSTEAD
  const events: string[] = [];
  if (t.type & 4) events.push('INSERT');
  if (t.type & 16) events.push('UPDATE');
  if (t.type & 8) events.push('DELETE');
  if (t.type & 32) events.push('TRUNCATE');
  return {
    name: t.name,
    events,
    timing: t.type & 64 ? 'INSTEAD OF' : t.type & 2 ? 'BEFORE' : 'AFTER',
    level: t.type & 1 ? 'ROW' : 'STATEMENT',
    function: t.function,
    enabled: t.enabled,
    columns: [...t.columns],
    conditional: t.conditional ?? false,
  };
}

function groupBy<T extends { rel_oid: string }>(rows: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const list = m.get(r.rel_oid);
    if (list) list.push(r);
    else m.set(r.rel_oid, [r]);
  }
  return m;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function buildModel(raw: RawCatalog): CatalogModel {
  // The model names the PUBLIC pseudo-role "PUBLIC" (an ACL's empty grantee, polroles 0).
  // CREATE ROLE refuses "public" but not "PUBLIC": a role of that name would be read as
  // every role, and a pulled file would grant to everyone what it granted to that role.
  if (raw.roles.some((r) => r.name === PUBLIC)) {
    throw new RowguardError('usage', `${raw.meta.database} has a role named "PUBLIC", which rowguard cannot tell apart from PUBLIC (every role)`, {
      hint: 'rename it: ALTER ROLE "PUBLIC" RENAME TO …',
    });
  }
  // Most relations carry one of a few ACLs (the owner's plus the same grants): parse
  // each distinct one once. The grants are frozen with the model, so sharing is safe.
  // (A role name cannot contain NUL, so the joined key is unambiguous.)
  const grantsByAcl = new Map<string, Grant[]>();
  const grantsOf = (items: readonly string[]): Grant[] => {
    const key = items.join('\0');
    let g = grantsByAcl.get(key);
    if (!g) grantsByAcl.set(key, (g = grantsFromAclItems(items)));
    return g;
  };
  // Grants made by others and grant options, parsed once per distinct (owner, ACL) too;
  // both are usually empty, and then the relation shares one frozen empty list.
  const extrasByAcl = new Map<string, { grantsByOthers: GrantByOther[]; grantOptions: GrantOption[] }>();
  const aclExtrasOf = (items: readonly string[], owner: string, columnAcl: RawCatalog['relations'][number]['column_acl']) => {
    if (columnAcl?.length) return aclExtras(items, owner, columnAcl);
    const key = `${owner}\0${items.join('\0')}`;
    let e = extrasByAcl.get(key);
    if (!e) extrasByAcl.set(key, (e = aclExtras(items, owner, undefined)));
    return e;
  };
  const policies = groupBy(raw.policies);
  const columns = groupBy(raw.columns);
  const indexes = groupBy(raw.indexes);
  const fks = groupBy(raw.foreignKeys);
  const triggers = groupBy(raw.triggers);

  const apiRoles = [...raw.apiRoles].sort();
  const relations: Relation[] = raw.relations.map((r) => {
    const q = qualified(r.schema, r.name);
    const apiAccess: Record<string, TablePrivilege[]> = {};
    for (const role of apiRoles) apiAccess[role] = [...((r.api_access[role] ?? []) as TablePrivilege[])];
    const extras = aclExtrasOf(r.acl, r.owner, r.column_acl);
    return {
      schema: r.schema,
      name: r.name,
      qualified: q,
      kind: KIND[r.kind] ?? 'table',
      owner: r.owner,
      rls: r.rls,
      forceRls: r.force_rls,
      isPartition: r.is_partition,
      partitionOf: r.partition_of ? qualified(...r.partition_of) : null,
      hasInheritanceChildren: r.has_inheritance_children ?? false,
      ...(r.inherits_from?.length ? { inheritsFrom: r.inherits_from.map((x) => qualified(...x)) } : {}),
      options: options(r.options),
      estimatedRows: r.estimated_rows,
      comment: r.comment,
      columns: (columns.get(r.oid) ?? []).map(
        (c): Column => ({ name: c.name, num: c.num, type: c.type, notNull: c.not_null, ...(c.refuses_null ? { refusesNull: true } : {}), ...(c.refuses_empty ? { refusesEmpty: true } : {}), hasDefault: c.has_default, generated: c.generated, identity: c.identity, comment: c.comment }),
      ),
      indexes: (indexes.get(r.oid) ?? [])
        .map((i): Index => ({ name: i.name, columns: [...i.columns], unique: i.unique, primary: i.primary, valid: i.valid, partial: i.partial }))
        .sort(byName),
      foreignKeys: (fks.get(r.oid) ?? [])
        .map((f): ForeignKey => ({ name: f.name, columns: [...f.columns], refTable: qualified(...f.ref_table), refColumns: [...f.ref_columns] }))
        .sort(byName),
      grants: grantsOf(r.acl),
      columnGrants: (r.column_acl ?? []).flatMap(({ column, acl }) => grantsFromAclItems(acl).map((g) => ({ column, ...g }))),
      grantsByOthers: extras.grantsByOthers,
      grantOptions: extras.grantOptions,
      apiAccess,
      policies: (policies.get(r.oid) ?? [])
        .map(
          (p): Policy => ({
            name: p.name,
            table: q,
            schema: r.schema,
            tableName: r.name,
            command: CMD[p.cmd] ?? 'ALL',
            permissive: p.permissive,
            // CREATE POLICY keeps a role named twice in TO twice; it means the same as once.
            roles: [...new Set(p.roles)].sort(),
            using: p.using,
            check: p.check,
            comment: p.comment,
            // Only when set: most policies have no such operator, and a model's shape stays as it was.
            ...(p.using_sides_fixed ? { usingSidesFixed: true } : {}),
            ...(p.check_sides_fixed ? { checkSidesFixed: true } : {}),
          }),
        )
        .sort(byName),
      triggers: (triggers.get(r.oid) ?? []).map(triggerOf).sort(byName),
      viewDefinition: r.view_definition,
      // Only when known: a view Postgres cannot write through (an aggregate, a join without triggers).
      ...(r.view_writes !== undefined && r.view_writes !== null ? { viewWrites: (['UPDATE', 'INSERT', 'DELETE'] as const).filter((_, i) => (r.view_writes! & (4 << i)) !== 0) } : {}),
      dependsOn: r.depends_on.map(([s, n]) => qualified(s, n)).sort(),
    };
  });

  const functions: FunctionInfo[] = raw.functions.map((f) => ({
    schema: f.schema,
    name: f.name,
    signature: `${f.schema}.${f.name}(${f.args})`,
    args: f.args,
    returns: f.returns,
    language: f.language,
    kind: f.kind === 'p' ? 'procedure' : f.kind === 'a' ? 'aggregate' : f.kind === 'w' ? 'window' : 'function',
    securityDefiner: f.security_definer,
    strict: f.strict === true,
    volatility: f.volatility === 'i' ? 'immutable' : f.volatility === 's' ? 'stable' : 'volatile',
    config: [...f.config],
    isTrigger: f.is_trigger,
    owner: f.owner,
    executableBy: [...f.executable_by].sort(),
    body: f.body,
    plpgsqlSource: f.plpgsql_source ?? null,
    grants: grantsFromAclItems(f.acl),
    comment: f.comment,
    fromExtension: f.from_extension,
  }));

  return deepFreeze({
    serverVersion: raw.meta.version,
    database: raw.meta.database,
    apiRoles,
    pgrstDbSchemas: raw.meta.pgrst,
    searchPath: raw.meta.searchPath ?? null,
    role: raw.meta.role ?? null,
    publicBuckets: raw.meta.publicBuckets ?? null,
    roles: raw.roles
      .map((r) => ({ name: r.name, superuser: r.superuser, bypassRls: r.bypass_rls, login: r.login, inherit: r.inherit, memberOf: [...r.member_of].sort(), inheritsFrom: [...r.inherits_from].sort() }))
      .sort(byName),
    schemas: raw.schemas
      .map((s) => ({ name: s.name, owner: s.owner, usableBy: [...s.usable_by].sort(), grants: grantsFromAclItems(s.acl), fromExtension: s.from_extension }))
      .sort(byName),
    relations,
    functions,
    extensions: raw.extensions.map((e) => ({
      name: e.name,
      schema: e.schema,
      functions: (e.functions ?? []).map((f) => ({ schema: f.schema, name: f.name, signature: f.signature, executableBy: [...f.executable_by] })),
      relations: (e.relations ?? []).map((r) => ({
        schema: r.schema,
        name: r.name,
        qualified: qualified(r.schema, r.name),
        kind: KIND[r.kind] ?? 'table',
        apiAccess: Object.fromEntries(apiRoles.map((role) => [role, [...((r.api_access[role] ?? []) as TablePrivilege[])]])),
      })),
    })),
  });
}

/** Freezes every object and array reachable from `o`. Plain loops: Object.values would allocate an array per object (the model has ~10 per table). */
function deepFreeze<T>(o: T): T {
  if (typeof o !== 'object' || o === null || Object.isFrozen(o)) return o;
  Object.freeze(o);
  if (Array.isArray(o)) for (let i = 0; i < o.length; i++) deepFreeze(o[i]);
  else for (const k in o) deepFreeze((o as Record<string, unknown>)[k]);
  return o;
}
