/**
 * One consistent catalog read: every query runs in a single REPEATABLE READ
 * READ ONLY transaction with an empty search_path, so pg_get_expr/format_type
 * print fully qualified names and the snapshot cannot shift between queries.
 * Rows go to `buildModel` (pure) — see model.ts.
 *
 * Each query's rows come back as one json array (see jsonRows): a catalog of
 * thousands of tables is tens of thousands of rows, and JSON.parse reads them
 * natively where postgres.js would decode every row and array in JavaScript.
 */
import type { PendingQuery } from 'postgres';
import { arrayLiteral, quoteLiteral, type Sql, type TransactionSql } from '../db.js';
import { buildModel, type RawCatalog } from './build.js';
import type { CatalogModel } from './model.js';
import { PGRST_DB_SCHEMAS_SQL } from './exposed.js';
import { RowguardError, pgFieldsOf } from '../errors.js';

export interface IntrospectOptions {
  /** API roles to compute effective privileges for (missing ones are ignored). */
  apiRoles: readonly string[];
  /**
   * 'policies': relations, policies, grants, RLS flags only (what the policy
   * diff needs); 'full': also columns, indexes, foreign keys, triggers, views'
   * dependencies, functions (what lint and the matrix need).
   */
  scope?: 'policies' | 'full';
  /**
   * Compute `apiAccess` (has_table_privilege per API role and privilege; default
   * true). The policy diff compares ACLs and turns it off: on thousands of tables
   * it is the most expensive part of the read. When off, apiAccess is empty.
   */
  effectivePrivileges?: boolean;
  /**
   * lock_timeout for the read (migrations.lockTimeout; '0': none). pg_get_expr opens each table
   * that has policies, which waits behind a session holding it in ACCESS EXCLUSIVE mode (a
   * migration, a LOCK TABLE): the command then fails with lock_timeout instead of waiting for ever.
   */
  lockTimeout?: string;
}

// Whether storage.buckets is Supabase Storage's (an id and a public flag) and this connection may read it.
const STORAGE_BUCKETS_READABLE_SQL = `coalesce((
               select pg_catalog.has_table_privilege(c.oid, 'select')
               from pg_catalog.pg_class c
               where c.oid = pg_catalog.to_regclass('storage.buckets')
                 and (select count(*) from pg_catalog.pg_attribute a
                      where a.attrelid = c.oid and a.attname in ('id', 'public') and a.attnum > 0 and not a.attisdropped) = 2), false)`;

// Schemas that are never the user's: the catalogs, toast and temp schemas.
const SYSTEM_SCHEMA_FILTER = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

/**
 * What every catalog read runs under, for this transaction only. An empty search_path
 * (names schema-qualified), and the settings pg_get_expr's constants are printed with:
 * each goes through its type's output function, which reads the session. A database or
 * role that sets DateStyle, TimeZone or IntervalStyle (ALTER DATABASE … SET datestyle
 * = 'SQL, DMY') would otherwise print `d >= '2024-01-02'` as '02/01/2024'::date, which a
 * session with the default MDY reads as 1 February (a pulled file, or the shadow it is
 * compared in, then means another date), and an instant as '…-05' where the shadow
 * prints '…+00' (one value, two texts: a diff that never empties). With
 * standard_conforming_strings off (a database setting) a\b prints as 'a\\b', the text
 * the shadow (on, as every file is read) prints for a\\b: two values, one text, and a
 * diff that sees no change. quote_all_identifiers on would write ("id" > 1) where the
 * shadow writes (id > 1): equal as trees, but the effects, which compare the text, could
 * no longer tell that a condition only gained a conjunct (narrows, not may-widen). ISO dates, UTC
 * instants with their offset, postgres-style intervals (read back the same under every
 * IntervalStyle), shortest-exact floats (extra_float_digits > 0) and hex bytea read back
 * as the same value in any session.
 */
const READ_SETTINGS = `select set_config('search_path', '', true), set_config('datestyle', 'ISO', true), set_config('timezone', 'UTC', true),
  set_config('intervalstyle', 'postgres', true), set_config('extra_float_digits', '3', true), set_config('bytea_output', 'hex', true),
  set_config('standard_conforming_strings', 'on', true), set_config('quote_all_identifiers', 'off', true)`;

/**
 * Read the catalog. With a pool of more than one connection (`connect(url, {max})`),
 * the queries run in parallel on up to three connections that share one exported
 * snapshot (pg_export_snapshot / SET TRANSACTION SNAPSHOT, as pg_dump -j does), so
 * the model is still one consistent snapshot.
 */
export async function introspect(sql: Sql, opts: IntrospectOptions): Promise<CatalogModel> {
  const scope = opts.scope ?? 'full';
  const lanes = Math.max(1, Math.min(3, Number((sql as { options?: { max?: number } }).options?.max ?? 1)));
  let helpers: HelperLane[] = [];
  const settings = READ_SETTINGS + (opts.lockTimeout === undefined ? '' : `, set_config('lock_timeout', ${quoteLiteral(opts.lockTimeout)}, true)`);
  const reading = sql.begin('isolation level repeatable read read only', async (tx) => {
    await tx.unsafe(settings);
    // reset_val: the search_path a new session starts with (the database's and role's settings), which the SET LOCAL above leaves alone.
    const [meta] = await tx<Array<{ version: number; database: string; pgrst: string | null; buckets: boolean; search_path: string | null; role: string }>>`
      select current_setting('server_version_num')::int as version,
             current_database() as database,
             (select reset_val from pg_catalog.pg_settings where name = 'search_path') as search_path,
             current_user as role,
             ${tx.unsafe(PGRST_DB_SCHEMAS_SQL)} as pgrst,
             ${tx.unsafe(STORAGE_BUCKETS_READABLE_SQL)} as buckets`;
    // Supabase Storage's public buckets: data, not catalog, but what decides whether a listing policy leaks.
    const publicBuckets = meta!.buckets ? (await tx<Array<{ id: string }>>`select id::text as id from storage.buckets where public order by 1`).map((b) => b.id) : null;
    const apiRoles = (
      await tx<Array<{ rolname: string }>>`select rolname from pg_roles where rolname = any(${arrayLiteral(opts.apiRoles)}::text[]) order by 1`
    ).map((r) => r.rolname);

    // The policy query is the longest (pg_get_expr opens every table that has
    // policies, building its relcache entry in a backend that starts cold): one
    // slice per lane, first in the queue, so every lane takes a share.
    const slices: Record<string, (t: Sql) => Promise<RawCatalog['policies']>> = {};
    for (let i = 0; i < lanes; i++) slices[`policies${i}`] = (t) => policies(t, i, lanes);
    const q = { ...slices, ...catalogQueries(opts, apiRoles) };
    const wanted = [
      ...Object.keys(slices),
      ...(scope === 'policies'
        ? (['relations', 'roles', 'schemas'] as const)
        : (['relations', 'columns', 'functions', 'indexes', 'foreignKeys', 'triggers', 'roles', 'schemas', 'extensions'] as const)),
    ];
    const r = await runInLanes(tx, wanted, q, helpers, settings);
    const none = [] as never[];
    return {
      meta: { version: meta!.version, database: meta!.database, pgrst: meta!.pgrst, publicBuckets, searchPath: meta!.search_path, role: meta!.role },
      apiRoles,
      roles: r.roles as RawCatalog['roles'],
      schemas: r.schemas as RawCatalog['schemas'],
      relations: r.relations as RawCatalog['relations'],
      policies: Object.keys(slices).flatMap((k) => r[k] as RawCatalog['policies']),
      columns: (r.columns ?? none) as RawCatalog['columns'],
      indexes: (r.indexes ?? none) as RawCatalog['indexes'],
      foreignKeys: (r.foreignKeys ?? none) as RawCatalog['foreignKeys'],
      triggers: (r.triggers ?? none) as RawCatalog['triggers'],
      functions: (r.functions ?? none) as RawCatalog['functions'],
      extensions: (r.extensions ?? none) as RawCatalog['extensions'],
    } satisfies RawCatalog;
  });
  // begin() has taken the pool's open connection synchronously; the other lanes'
  // connections (a TCP and SCRAM handshake each) open now, while the first lane
  // reads the metadata and exports the snapshot, instead of after it.
  helpers = Array.from({ length: lanes - 1 }, () => openHelperLane(sql));
  try {
    return buildModel((await reading) as RawCatalog);
  } catch (err) {
    // 55P03 lock_not_available: lock_timeout expired (see IntrospectOptions.lockTimeout).
    const pg = pgFieldsOf(err);
    if (pg?.sqlstate !== '55P03') throw err;
    throw new RowguardError('lock_timeout', `reading the catalog waited longer than lock_timeout (${opts.lockTimeout}) for a lock: another session holds a table it reads`, {
      hint: 'a migration or a LOCK TABLE is running (pg_stat_activity shows who waits: wait_event_type = \'Lock\'); retry when it ends, or raise migrations.lockTimeout',
      pg,
      cause: err,
    });
  } finally {
    // A lane never given work ends its transaction; not awaited (withSql's end closes what is left).
    for (const h of helpers) h.assign(null);
  }
}

/**
 * A helper lane: a transaction of its own, begun while its connection opens, that waits for
 * its work. It is a begin() rather than a reserve(): postgres.js 3.4.9 never settles a
 * reserve() still queued when another connection of the pool closes (onclose hands it to the
 * reconnect, which drops it: porsager/postgres#1195), and a command then waits for ever; a
 * queued BEGIN is sent on the reconnect, and begin() fails when its connection closes.
 */
interface HelperLane {
  /** Hand the lane its work (null: none); only the first call counts. */
  assign(work: ((t: Sql) => Promise<void>) | null): void;
  /** Resolves once the lane's transaction is open. */
  begun: Promise<void>;
  /** The lane's transaction: settles when its work is done and it committed, or failed. */
  done: Promise<unknown>;
}

function openHelperLane(sql: Sql): HelperLane {
  let assign!: (work: ((t: Sql) => Promise<void>) | null) => void;
  const assigned = new Promise<((t: Sql) => Promise<void>) | null>((resolve) => (assign = resolve));
  let begun!: () => void;
  const started = new Promise<void>((resolve) => (begun = resolve));
  const done = sql.begin('isolation level repeatable read read only', async (t) => {
    begun();
    const work = await assigned;
    if (work) await work(t as unknown as Sql);
  });
  done.catch(() => undefined); // observed by runInLanes, when the lane gets work
  return { assign, begun: started, done };
}

/**
 * Which policies (`p`, a pg_policy row) are in slice `slice` of `slices`: a hash of the
 * table's oid, not the oid itself. A script that creates tables alike gives them oids a
 * fixed stride apart (table, row types, index, policies… — 12 in the lint benchmark),
 * and `polrelid % 3` put every such table in one slice: one lane did all the work.
 */
export function policySliceFilter(slice: number, slices: number): string {
  // hashoid() is the oid hash of hash indexes (int4, may be negative; hence abs over int8).
  return slices <= 1 ? 'true' : `abs(pg_catalog.hashoid(p.polrelid)::int8) % ${slices} = ${slice}`;
}

/**
 * Whether a policy expression has an IS [NOT] DISTINCT FROM whose `=` has no
 * commutator. Postgres finds that operator by the operand types and pg_get_expr
 * does not print it; pg_policy's node tree does (`{DISTINCTEXPR :opno N :opfuncid`;
 * IS NOT DISTINCT FROM is NOT over one, and a sub-select's nodes are in the same
 * text). With a commutator, `b = a` is `a = b` by the operator's own declaration,
 * the one the planner commutes by (pg_catalog's, citext's =); without one, swapped
 * sides resolve to another operator or to none. pg_catalog's = without one
 * (xid = int4) has no swapped form at all (`5 is distinct from xmin` fails: no
 * operator int4 = xid), so only operators of other schemas are looked for: usually
 * none, and then no tree is read. `pats` is the LIKE pattern of each (no `%`, `_`
 * or `\` in them); a tree's text escapes `{` and blanks inside names (outfuncs
 * outToken), so a pattern only matches a node. Measured on 8,000 policies (Postgres
 * 15): with no pattern, no difference (65 ms); with two, every tree read, 50 ms more;
 * regexp_matches over the same trees cost over 500 ms more.
 */
const SIDES_FIXED_PATTERNS = `(select array(select '%{DISTINCTEXPR :opno ' || o.oid::text || ' %' from pg_catalog.pg_operator o
    where o.oprname = '=' and o.oprcom = 0 and o.oprnamespace <> 'pg_catalog'::regnamespace) as pats)`;

/**
 * Slice `slice` of `slices` of the policies, by table, so one table's policies stay
 * together and each backend opens a disjoint set of tables.
 */
function policies(tx: Sql, slice: number, slices: number) {
  // polcmd: r = SELECT, a = INSERT, w = UPDATE, d = DELETE, * = ALL; polroles {0} = PUBLIC
  return jsonRows<RawCatalog['policies']>(
    tx,
    tx`
    select p.polrelid::int8::text as rel_oid, p.polname as name, p.polcmd as cmd, p.polpermissive as permissive,
           array(select case when r = 0 then 'PUBLIC' else pg_get_userbyid(r) end from unnest(p.polroles) r order by 1) as roles,
           pg_get_expr(p.polqual, p.polrelid) as using, pg_get_expr(p.polwithcheck, p.polrelid) as check,
           dp.description as comment,
           coalesce(p.polqual::text like any (f.pats), false) as using_sides_fixed,
           coalesce(p.polwithcheck::text like any (f.pats), false) as check_sides_fixed
    from pg_policy p cross join ${tx.unsafe(SIDES_FIXED_PATTERNS)} f join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
    left join pg_description dp on dp.objoid = p.oid and dp.classoid = 'pg_policy'::regclass and dp.objsubid = 0
    where ${tx.unsafe(SYSTEM_SCHEMA_FILTER)} and ${tx.unsafe(policySliceFilter(slice, slices))}
    order by p.polrelid, p.polname`,
  );
}

/**
 * A query's rows as one json array (json_agg), keys the column names: postgres.js
 * decodes each row, column and array in JavaScript, JSON.parse does it natively.
 * Measured on 8,000 policies in a fresh process: 45–60 ms of client CPU as rows,
 * 15–22 ms as json, the same server time. The rows keep the subquery's ORDER BY:
 * nothing else happens at the aggregate's level (the form the docs on aggregate
 * ordering give); an ORDER BY inside json_agg cost the server 30% more here.
 */
async function jsonRows<T extends object[]>(tx: Sql, rows: PendingQuery<T>): Promise<T> {
  const [r] = await tx<Array<{ rows: T }>>`select coalesce(json_agg(q), '[]') as rows from (${rows}) q`;
  return r!.rows;
}

/** Each catalog query as a function of the connection it runs on (a lane). */
function catalogQueries(opts: IntrospectOptions, apiRoles: string[]) {
  return {
    roles: (tx: Sql) =>
      jsonRows<RawCatalog['roles']>(
        tx,
        tx`
      select r.rolname as name, r.rolsuper as superuser, r.rolbypassrls as bypass_rls, r.rolcanlogin as login, r.rolinherit as inherit,
             array(select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid where m.member = r.oid order by 1) as member_of,
             -- Memberships whose privileges r inherits: per grant since Postgres 16 (inherit_option), else rolinherit.
             array(select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid
                    where m.member = r.oid and coalesce((to_jsonb(m) ->> 'inherit_option')::boolean, r.rolinherit) order by 1) as inherits_from
      from pg_roles r where r.rolname !~ '^pg_' order by 1`,
    ),

    schemas: (tx: Sql) =>
      jsonRows<RawCatalog['schemas']>(
        tx,
        tx`
      select n.nspname as name, pg_get_userbyid(n.nspowner) as owner,
             array(select x from unnest(${arrayLiteral(apiRoles)}::text[]) x where has_schema_privilege(x, n.oid, 'USAGE') order by 1) as usable_by,
             coalesce(n.nspacl, acldefault('n', n.nspowner))::text[] as acl,
             exists (select 1 from pg_depend d where d.classid = 'pg_namespace'::regclass and d.objid = n.oid and d.deptype = 'e') as from_extension
      from pg_namespace n where ${tx.unsafe(SYSTEM_SCHEMA_FILTER)} order by 1`,
    ),

    // relkind: r = table, p = partitioned table, v = view, m = materialized view, f = foreign table
    relations: (tx: Sql) =>
      jsonRows<RawCatalog['relations']>(
        tx,
        tx`
      select c.oid::int8::text as oid, n.nspname as schema, c.relname as name, c.relkind as kind,
             pg_get_userbyid(c.relowner) as owner, c.relrowsecurity as rls, c.relforcerowsecurity as force_rls,
             c.relispartition as is_partition,
             (select array[pn.nspname::text, pc.relname::text] from pg_inherits i join pg_class pc on pc.oid = i.inhparent
                join pg_namespace pn on pn.oid = pc.relnamespace where i.inhrelid = c.oid and c.relispartition limit 1) as partition_of,
             exists (select from pg_inherits i join pg_class ic on ic.oid = i.inhrelid where i.inhparent = c.oid and not ic.relispartition) as has_inheritance_children,
             case when not c.relispartition then array(select array[pn.nspname::text, pc.relname::text] from pg_inherits i join pg_class pc on pc.oid = i.inhparent
                join pg_namespace pn on pn.oid = pc.relnamespace where i.inhrelid = c.oid order by i.inhseqno) end as inherits_from,
             coalesce(c.reloptions, '{}') as options, greatest(c.reltuples, 0)::float8 as estimated_rows,
             descr.description as comment,
             coalesce(c.relacl, acldefault('r', c.relowner))::text[] as acl,
             -- attacl is NULL for a column with no column-level grant (no default to expand)
             coalesce((select json_agg(json_build_object('column', at.attname, 'acl', at.attacl::text[]) order by at.attnum)
                       from pg_attribute at
                       where at.attrelid = c.oid and at.attnum > 0 and not at.attisdropped and at.attacl is not null), '[]') as column_acl,
             ${opts.effectivePrivileges === false ? tx`'{}'::json` : tx`coalesce((select json_object_agg(x, array(
                         select p from unnest(array['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p
                         where has_table_privilege(x, c.oid, p)))
                       from unnest(${arrayLiteral(apiRoles)}::text[]) x), '{}')`} as api_access,
             case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end as view_definition,
             -- what a write through a view may do: auto-updatable, or INSTEAD OF triggers and rules (UPDATE 4, INSERT 8, DELETE 16);
             -- it asks the wrapper of a foreign table below, which fails for a wrapper with no handler: then unknown
             case when c.relkind = 'v' and not exists (select from pg_foreign_data_wrapper w where w.fdwhandler = 0) then pg_relation_is_updatable(c.oid, true) end as view_writes,
             case when c.relkind in ('v', 'm') then coalesce(array(
               select distinct array[dn.nspname::text, dc.relname::text]
               from pg_rewrite rw join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = rw.oid and d.refclassid = 'pg_class'::regclass
               join pg_class dc on dc.oid = d.refobjid join pg_namespace dn on dn.oid = dc.relnamespace
               where rw.ev_class = c.oid and dc.oid <> c.oid order by 1), '{}') else '{}' end as depends_on
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      -- a join, not obj_description(): that SQL function costs a query per row
      left join pg_description descr on descr.objoid = c.oid and descr.classoid = 'pg_class'::regclass and descr.objsubid = 0
      where c.relkind in ('r', 'p', 'v', 'm', 'f') and ${tx.unsafe(SYSTEM_SCHEMA_FILTER)}
        and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      order by n.nspname, c.relname`,
    ),

    columns: (tx: Sql) =>
      jsonRows<RawCatalog['columns']>(
        tx,
        tx`
      select a.attrelid::int8::text as rel_oid, a.attname as name, a.attnum as num, format_type(a.atttypid, a.atttypmod) as type,
             a.attnotnull as not_null, a.atthasdef as has_default, a.attgenerated <> '' as generated, a.attidentity <> '' as identity,
             -- a domain (typtype 'd') declared NOT NULL or CHECK (VALUE IS NOT NULL), or one over such a domain, refuses
             -- NULL as attnotnull does; so does a validated CHECK (col IS NOT NULL) of the table (pg_get_constraintdef's own
             -- spelling, asked only of a one-column check whose stored tree is a NullTest: deparsing every check cost more)
             (not a.attnotnull and (case when ty.typtype = 'd' then exists (
               with recursive d(oid) as (select a.atttypid union all select t.typbasetype from pg_type t join d on t.oid = d.oid where t.typtype = 'd')
               select from d join pg_type t on t.oid = d.oid
               where t.typnotnull or exists (select from pg_constraint k where k.contypid = t.oid and k.contype = 'c' and k.convalidated
                                               and k.conbin::text like '{NULLTEST %' and pg_get_constraintdef(k.oid) = 'CHECK ((VALUE IS NOT NULL))')) else false end
              or exists (select from pg_constraint k where k.conrelid = a.attrelid and k.contype = 'c' and k.conkey = array[a.attnum] and k.convalidated
                           and k.conbin::text like '{NULLTEST %' and pg_get_constraintdef(k.oid) = format('CHECK ((%s IS NOT NULL))', quote_ident(a.attname))))) as refuses_null,
             -- an array column (typcategory 'A') a validated one-column CHECK keeps non-empty, in pg_get_constraintdef's spelling
             -- (not array_length(col, 1) > 0: it is NULL on '{}', which a CHECK lets through)
             (ty.typcategory = 'A' and exists (select from pg_constraint k where k.conrelid = a.attrelid and k.contype = 'c' and k.conkey = array[a.attnum] and k.convalidated
                and (pg_get_constraintdef(k.oid) in (format('CHECK ((cardinality(%s) > 0))', quote_ident(a.attname)), format('CHECK ((cardinality(%s) >= 1))', quote_ident(a.attname)))
                     or starts_with(pg_get_constraintdef(k.oid), format('CHECK ((%s <> ''{}''::', quote_ident(a.attname)))))) as refuses_empty,
             dc.description as comment
      from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      join pg_type ty on ty.oid = a.atttypid
      -- a join, not col_description(): that SQL function costs a query per row
      left join pg_description dc on dc.objoid = a.attrelid and dc.classoid = 'pg_class'::regclass and dc.objsubid = a.attnum
      where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm', 'f') and ${tx.unsafe(SYSTEM_SCHEMA_FILTER)}
      order by a.attrelid, a.attnum`,
    ),

    indexes: (tx: Sql) =>
      jsonRows<RawCatalog['indexes']>(
        tx,
        tx`
      select i.indrelid::int8::text as rel_oid, ic.relname as name,
             array(select case when k = 0 then null else (select attname from pg_attribute where attrelid = i.indrelid and attnum = k) end
                   from unnest(i.indkey::int2[]) with ordinality u(k, o) where o <= i.indnkeyatts order by o) as columns,
             i.indisunique as unique, i.indisprimary as primary, i.indisvalid as valid, i.indpred is not null as partial
      from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
      where ${tx.unsafe(SYSTEM_SCHEMA_FILTER)}
      order by i.indrelid, ic.relname`,
    ),

    // contype f = foreign key
    foreignKeys: (tx: Sql) =>
      jsonRows<RawCatalog['foreignKeys']>(
        tx,
        tx`
      select co.conrelid::int8::text as rel_oid, co.conname as name,
             array(select attname from unnest(co.conkey) with ordinality u(k, o) join pg_attribute on attrelid = co.conrelid and attnum = k order by o) as columns,
             array[rn.nspname::text, rc.relname::text] as ref_table,
             array(select attname from unnest(co.confkey) with ordinality u(k, o) join pg_attribute on attrelid = co.confrelid and attnum = k order by o) as ref_columns
      from pg_constraint co join pg_class c on c.oid = co.conrelid join pg_namespace n on n.oid = c.relnamespace
      join pg_class rc on rc.oid = co.confrelid join pg_namespace rn on rn.oid = rc.relnamespace
      where co.contype = 'f' and ${tx.unsafe(SYSTEM_SCHEMA_FILTER)}
      order by co.conrelid, co.conname`,
    ),

    // tgtype bits: 1 ROW, 2 BEFORE, 4 INSERT, 8 DELETE, 16 UPDATE, 32 TRUNCATE, 64 INSTEAD; tgenabled 'D' = disabled
    triggers: (tx: Sql) =>
      jsonRows<RawCatalog['triggers']>(
        tx,
        tx`
      select t.tgrelid::int8::text as rel_oid, t.tgname as name, t.tgtype::int as type, t.tgenabled <> 'D' as enabled, t.tgqual is not null as conditional,
             format('%s.%s', pn.nspname, p.proname) as function,
             array(select attname from unnest(t.tgattr::int2[]) k join pg_attribute on attrelid = t.tgrelid and attnum = k) as columns
      from pg_trigger t join pg_proc p on p.oid = t.tgfoid join pg_namespace pn on pn.oid = p.pronamespace
      join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where not t.tgisinternal and ${tx.unsafe(SYSTEM_SCHEMA_FILTER)}
      order by t.tgrelid, t.tgname`,
    ),

    // prokind: f function, p procedure, a aggregate, w window; provolatile i/s/v
    functions: (tx: Sql) =>
      jsonRows<RawCatalog['functions']>(
        tx,
        tx`
      select n.nspname as schema, p.proname as name, pg_get_function_identity_arguments(p.oid) as args,
             pg_get_function_result(p.oid) as returns, l.lanname as language, p.prokind as kind, p.prosecdef as security_definer, p.proisstrict as strict,
             p.provolatile as volatility, coalesce(p.proconfig, '{}') as config, p.prorettype = 'pg_catalog.trigger'::regtype
               or p.prorettype = 'pg_catalog.event_trigger'::regtype as is_trigger,
             pg_get_userbyid(p.proowner) as owner,
             array(select x from unnest(${arrayLiteral(apiRoles)}::text[]) x where has_function_privilege(x, p.oid, 'EXECUTE') order by 1) as executable_by,
             case when l.lanname = 'sql' then coalesce(pg_get_function_sqlbody(p.oid), p.prosrc) end as body,
             case when l.lanname = 'plpgsql' then p.prosrc end as plpgsql_source,
             coalesce(p.proacl, acldefault('f', p.proowner))::text[] as acl,
             dp.description as comment,
             exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e') as from_extension
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
      left join pg_description dp on dp.objoid = p.oid and dp.classoid = 'pg_proc'::regclass and dp.objsubid = 0
      where ${tx.unsafe(SYSTEM_SCHEMA_FILTER)}
      order by n.nspname, p.proname, 3`,
    ),

    extensions: (tx: Sql) =>
      jsonRows<RawCatalog['extensions']>(
        tx,
        tx`
      select e.extname as name, n.nspname as schema,
             -- its member functions (prokind f: what PostgREST serves at /rpc) and relations, with what each API role may do
             coalesce((select json_agg(json_build_object('schema', fn.nspname, 'name', p.proname,
                                 'signature', format('%s.%s(%s)', fn.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
                                 'executable_by', array(select x from unnest(${arrayLiteral(apiRoles)}::text[]) x where has_function_privilege(x, p.oid, 'EXECUTE') order by 1))
                               order by fn.nspname, p.proname, p.oid)
                       from pg_depend d join pg_proc p on p.oid = d.objid join pg_namespace fn on fn.oid = p.pronamespace
                       where d.refclassid = 'pg_extension'::regclass and d.refobjid = e.oid and d.classid = 'pg_proc'::regclass and d.deptype = 'e'
                         and p.prokind = 'f'), '[]') as functions,
             coalesce((select json_agg(json_build_object('schema', rn.nspname, 'name', c.relname, 'kind', c.relkind,
                                 'api_access', coalesce((select json_object_agg(x, array(
                                     select pr from unnest(array['SELECT','INSERT','UPDATE','DELETE']) pr where has_table_privilege(x, c.oid, pr)))
                                   from unnest(${arrayLiteral(apiRoles)}::text[]) x), '{}'))
                               order by rn.nspname, c.relname)
                       from pg_depend d join pg_class c on c.oid = d.objid join pg_namespace rn on rn.oid = c.relnamespace
                       where d.refclassid = 'pg_extension'::regclass and d.refobjid = e.oid and d.classid = 'pg_class'::regclass and d.deptype = 'e'
                         and c.relkind in ('r', 'p', 'v', 'm', 'f')), '[]') as relations
      from pg_extension e join pg_namespace n on n.oid = e.extnamespace order by 1`,
    ),

  };
}

/** Queries in the order they are handed out: the most expensive first, so lanes finish together. */
async function runInLanes(
  tx: TransactionSql,
  wanted: readonly string[],
  queries: Record<string, (t: Sql) => Promise<unknown>>,
  helpers: readonly HelperLane[],
  settings: string,
): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  const queue = [...wanted];
  const drain = async (t: Sql) => {
    for (let k = queue.shift(); k !== undefined; k = queue.shift()) results[k] = await queries[k]!(t);
  };
  let snapshot: string | null = null;
  if (helpers.length > 0) {
    // Not possible on a hot standby (snapshots cannot be exported during recovery): then one lane.
    snapshot = await tx<{ id: string }[]>`select pg_catalog.pg_export_snapshot() as id`.then(
      (r) => r[0]!.id,
      () => null,
    );
  }
  if (!snapshot) {
    await drain(tx as unknown as Sql);
    return results;
  }
  const first = drain(tx as unknown as Sql);
  const firstDone = first.then(
    () => 'done' as const,
    () => 'done' as const,
  );
  const helper = async (h: HelperLane) => {
    // A lane whose transaction has not begun when the first lane is done (the queue drained,
    // or the exporting transaction gone) is not waited for.
    if ((await Promise.race([h.begun.then(() => 'begun' as const), firstDone])) === 'done') return h.assign(null);
    h.assign(async (t) => {
      // SET TRANSACTION SNAPSHOT must be the transaction's first statement; its argument is a literal.
      await t.unsafe(`set transaction snapshot ${quoteLiteral(snapshot!)}`);
      await t.unsafe(settings);
      await drain(t);
    });
    await h.done;
  };
  // The exporting transaction stays open (it runs a lane itself) until every helper has imported;
  // every lane finishes (allSettled) before an error is passed on. The first lane's error comes
  // first: a helper fails too when the exporting transaction is gone.
  const settled = await Promise.allSettled([first, ...helpers.map(helper)]);
  const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
  return results;
}
