/**
 * What the matrix needs to know about the exposed tables, read from the
 * catalogs in one REPEATABLE READ READ ONLY transaction, then turned into a
 * frozen model by pure functions (testable from hand-written rows).
 */
import type { Sql } from '../db.js';
import { quoteIdent } from '../db.js';
import type { RpcFunction, TableInfo } from './model.js';

export interface ColumnRow {
  attnum: number;
  name: string;
  /** format_type(atttypid, atttypmod): what we cast literals to. */
  type: string;
  /** Base type name (typname of the type or of the domain's base), e.g. uuid, int4, text. */
  baseType: string;
  /** atttypmod of varchar(n)/char(n): n + 4, else -1. */
  typmod: number;
  notNull: boolean;
  hasDefault: boolean;
  /** attidentity: '' | 'a' (ALWAYS) | 'd' (BY DEFAULT). */
  identity: '' | 'a' | 'd';
  /** attgenerated: '' | 's' (STORED) | 'v' (VIRTUAL, PG18). */
  generated: '' | 's' | 'v';
  /** Single-column foreign key to auth.users(id). */
  referencesAuthUsers: boolean;
  /** Part of any single- or multi-column foreign key. */
  inForeignKey: boolean;
  /** pg_column_is_updatable: always true for a table column; for a view, whether it maps to a base column. */
  updatable: boolean;
  /** For an enum (or a domain over one): its first label, else null. */
  enumFirst: string | null;
}

export interface RelationRow {
  oid: number;
  schema: string;
  table: string;
  relkind: string;
  rls: boolean;
  forceRls: boolean;
  /** A partition (relispartition): reachable through its parent, and directly by its own name. */
  partition?: boolean;
  columns: ColumnRow[];
  /** Unique indexes (primary key and partial ones included) as lists of column names; expression indexes skipped. */
  uniqueKeys: string[][];
  primaryKey: string[] | null;
}

export interface RelationModel extends TableInfo {
  oid: number;
  columns: ColumnRow[];
  uniqueKeys: string[][];
  primaryKey: string[] | null;
  /** Writes are probed: tables, partitioned tables and views (auto-updatable or with INSTEAD OF triggers). */
  writable: boolean;
  /** Rows have a tableoid/ctid identity (tables, partitioned tables): which rows an UPDATE changed can be told. */
  hasRowIdentity: boolean;
}

/** Names that say "the user who owns this row" when no foreign key says it. */
const OWNER_NAMES = ['owner_id', 'user_id'];
const OWNER_TYPES = new Set(['uuid', 'text', 'varchar']);

/**
 * Decide the ownership column generically: the row belongs to the user whose
 * id is in it. Preference: a column both named owner_id/user_id and
 * referencing auth.users; then the only column referencing auth.users; then a
 * column named owner_id/user_id of a uuid/text type. auth.users itself is
 * owned through its id. Several candidates without a tie-breaker: the first
 * by column order (the note in the report names it).
 */
export function ownerColumnOf(rel: Pick<RelationRow, 'schema' | 'table' | 'columns'>): string | null {
  if (rel.schema === 'auth' && rel.table === 'users') return rel.columns.some((c) => c.name === 'id') ? 'id' : null;
  const cols = rel.columns.filter((c) => OWNER_TYPES.has(c.baseType));
  const named = (c: ColumnRow) => OWNER_NAMES.includes(c.name);
  const both = cols.filter((c) => c.referencesAuthUsers && named(c));
  if (both.length) return byPreference(both);
  const fk = cols.filter((c) => c.referencesAuthUsers);
  if (fk.length) return fk[0]!.name;
  const byName = cols.filter(named);
  return byName.length ? byPreference(byName) : null;
}

function byPreference(cols: ColumnRow[]): string {
  for (const n of OWNER_NAMES) {
    const hit = cols.find((c) => c.name === n);
    if (hit) return hit.name;
  }
  return cols[0]!.name;
}

const KINDS: Record<string, TableInfo['kind']> = {
  r: 'table',
  p: 'partitioned table',
  v: 'view',
  m: 'materialized view',
  f: 'foreign table',
};

export function displayName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

export function modelRelation(row: RelationRow): RelationModel {
  return Object.freeze({
    name: displayName(row.schema, row.table),
    schema: row.schema,
    table: row.table,
    kind: row.partition ? 'partition' : (KINDS[row.relkind] ?? 'table'),
    rls: row.rls,
    forceRls: row.forceRls,
    ownerColumn: ownerColumnOf(row),
    oid: row.oid,
    columns: row.columns,
    uniqueKeys: row.uniqueKeys,
    primaryKey: row.primaryKey,
    writable: row.relkind === 'r' || row.relkind === 'p' || row.relkind === 'v',
    hasRowIdentity: row.relkind === 'r' || row.relkind === 'p',
  });
}

/**
 * Read every table, partitioned table, view, materialized view and foreign
 * table of `schemas`, and the partitions any of `roles` holds a privilege on.
 * A partition is a table of its own: queried by its name (PostgREST serves it
 * like any table of an exposed schema) only its own grants and RLS apply, not
 * its parent's, so a partition with a grant is a path of its own. One without
 * any grant to an actor is reachable only through its parent and left out.
 */
/** A function PostgREST serves, with its oid for probing. */
export interface RpcFunctionModel extends RpcFunction {
  oid: number;
}

/**
 * The functions PostgREST serves at /rpc/<name> in the exposed schemas: plain
 * functions (not procedures, aggregates or window functions), not trigger
 * functions, not members of an extension (the extension's, not the project's).
 */
export async function readRpcFunctions(sql: Sql, schemas: string[]): Promise<RpcFunctionModel[]> {
  return sql<RpcFunctionModel[]>`
    select p.oid::int as oid, format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) as name,
           n.nspname as schema, p.prosecdef as "securityDefiner", pg_catalog.pg_get_userbyid(p.proowner) as owner
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any(${schemas}::text[])
       and p.prokind = 'f'
       and p.prorettype not in ('pg_catalog.trigger'::pg_catalog.regtype, 'pg_catalog.event_trigger'::pg_catalog.regtype)
       and not exists (select 1 from pg_catalog.pg_depend d
                        where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objid = p.oid and d.deptype = 'e')
     order by 2`;
}

export async function readRelations(sql: Sql, schemas: string[], roles: readonly string[] = []): Promise<RelationModel[]> {
  const rels = await sql<Omit<RelationRow, 'columns' | 'uniqueKeys' | 'primaryKey'>[]>`
    select c.oid::int as oid, n.nspname as schema, c.relname as table, c.relkind::text as relkind,
           c.relrowsecurity as rls, c.relforcerowsecurity as "forceRls", c.relispartition as partition
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(${schemas}::text[])
       and c.relkind in ('r', 'p', 'v', 'm', 'f') -- table, partitioned, view, matview, foreign
       and (not c.relispartition
            or exists (select 1 from pg_catalog.pg_roles x
                        where x.rolname = any(${[...roles]}::text[])
                          and pg_catalog.has_table_privilege(x.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE')))
     order by n.nspname, c.relname`;
  if (!rels.length) return [];
  const oids = rels.map((r) => r.oid);
  const cols = await sql<(ColumnRow & { rel: number })[]>`
    select a.attrelid::int as rel, a.attnum::int as attnum, a.attname as name,
           format_type(a.atttypid, a.atttypmod) as type,
           coalesce(bt.typname, t.typname)::text as "baseType",
           a.atttypmod as typmod, a.attnotnull as "notNull", a.atthasdef as "hasDefault",
           a.attidentity::text as identity, a.attgenerated::text as generated,
           exists (select 1 from pg_catalog.pg_constraint f
                    where f.conrelid = a.attrelid and f.contype = 'f'   -- foreign key
                      and f.conkey = array[a.attnum]
                      and f.confrelid = to_regclass('auth.users')) as "referencesAuthUsers",
           exists (select 1 from pg_catalog.pg_constraint f
                    where f.conrelid = a.attrelid and f.contype = 'f'
                      and a.attnum = any(f.conkey)) as "inForeignKey",
           pg_catalog.pg_column_is_updatable(a.attrelid, a.attnum, false) as updatable,
           (select e.enumlabel::text from pg_catalog.pg_enum e
             where e.enumtypid = coalesce(bt.oid, t.oid) order by e.enumsortorder limit 1) as "enumFirst"
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_type t on t.oid = a.atttypid
      left join pg_catalog.pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype -- domain: its base type
     where a.attrelid = any(${oids}::oid[]) and a.attnum > 0 and not a.attisdropped
     order by a.attrelid, a.attnum`;
  const keys = await sql<{ rel: number; primary: boolean; cols: string[] }[]>`
    select i.indrelid::int as rel, i.indisprimary as primary,
           array(select a.attname::text from unnest(i.indkey) with ordinality k(attnum, n)
                   join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                  order by k.n) as cols
      from pg_catalog.pg_index i
     where i.indrelid = any(${oids}::oid[]) and i.indisunique
       and not (0 = any(i.indkey::int2[]))  -- 0 marks an expression column: cannot be filled generically
     order by i.indrelid, i.indisprimary desc, i.indexrelid`;
  return rels.map((r) =>
    modelRelation({
      ...r,
      columns: cols.filter((c) => c.rel === r.oid).map(({ rel: _rel, ...c }) => c),
      uniqueKeys: keys.filter((k) => k.rel === r.oid).map((k) => k.cols),
      primaryKey: keys.find((k) => k.rel === r.oid && k.primary)?.cols ?? null,
    }),
  );
}
