/** Statements that rewrite every row under an ACCESS EXCLUSIVE lock: type changes, volatile defaults, stored generated columns. */
import type { MigrationRule, RawFinding } from '../types.js';
import { existedBefore, originOf, typeOf, type ColumnType, type MigrationStatement } from '../migrations.js';
import { alterTableCmds, booleanOption, constraintsOf, locationOf, nodeBody, type Body } from '../stmt.js';
import { catalogBodyStatements, inlinedExpression, volatileCall } from '../sql-inline.js';
import { emptiedTables, emptiedWithChildren } from '../emptied-tables.js';

/** Time zones with a fixed zero UTC offset, as SET TIME ZONE spells them. */
const UTC_ZONES = new Set(['utc', 'etc/utc', 'uct', 'etc/uct', 'gmt', 'etc/gmt', 'gmt0', 'etc/gmt0', 'universal', 'etc/universal', 'zulu', 'etc/zulu', 'greenwich', 'etc/greenwich']);
const SERIAL = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

/** A serial column is its integer type with a sequence default: changing it to that type changes nothing. */
const SERIAL_TYPE: Readonly<Record<string, string>> = { smallserial: 'int2', serial2: 'int2', serial: 'int4', serial4: 'int4', bigserial: 'int8', serial8: 'int8' };
/** Types whose length coercion has Postgres's TemporalSimplify as support function (timestamp_support, time_support). */
const TEMPORAL = new Set(['timestamp', 'timestamptz', 'time', 'timetz']);
/** MAX_TIMESTAMP_PRECISION and MAX_TIME_PRECISION: a larger precision is clamped to it. */
const MAX_TEMPORAL_PRECISION = 6;

/**
 * Interval range bits (datetime.h INTERVAL_MASK: MONTH 1<<1, YEAR 1<<2, DAY 1<<3, HOUR 1<<10,
 * MINUTE 1<<11, SECOND 1<<12), from the least significant field up: the index of the first one a
 * range holds is intervaltypmodleastfield's number (SECOND 0 … YEAR 5; no range, or the full one, 0).
 */
const INTERVAL_FIELDS = [1 << 12, 1 << 11, 1 << 10, 1 << 3, 1 << 1, 1 << 2];
/** MAX_INTERVAL_PRECISION: a larger one is clamped to it. */
const MAX_INTERVAL_PRECISION = 6;

/**
 * interval_support's test: changing an interval's typmod keeps the stored values when the new
 * range's least field is no coarser than the old one's: the new one reaches at least as far down
 * (`interval day` → `interval day to second`, `interval year` → `interval year to month`, anything →
 * plain `interval`), and the seconds keep their digits: the old range stops above SECOND, or the new
 * precision is none, the maximum (6) or at least the old one. Same on Postgres 15 and 17.
 */
function intervalKeeps(from: readonly number[], to: readonly number[]): boolean {
  if (to.length === 0) return true;
  const least = (mods: readonly number[]) => (mods.length === 0 ? 0 : Math.max(0, INTERVAL_FIELDS.findIndex((bit) => (mods[0]! & bit) !== 0)));
  const precision = (mods: readonly number[]) => mods[1] ?? Infinity; // no precision given: full
  const [oldLeast, newLeast] = [least(from), least(to)];
  return newLeast <= oldLeast && (oldLeast > 0 || precision(to) >= MAX_INTERVAL_PRECISION || precision(to) >= precision(from));
}

/** Type changes Postgres does without a rewrite (binary-coercible, or only a wider limit). */
function safeChange(from: ColumnType, to: ColumnType): boolean {
  if (from.array !== to.array) return false;
  const f = SERIAL_TYPE[from.name] ?? from.name;
  const t = to.name;
  if (f === t && JSON.stringify(from.mods) === JSON.stringify(to.mods)) return true;
  if (f === 'varchar' && t === 'varchar') return to.mods.length === 0 || (from.mods.length > 0 && to.mods[0]! >= from.mods[0]!);
  if (f === 'varchar' && t === 'text') return true;
  if (f === 'text' && t === 'varchar') return to.mods.length === 0;
  if (f === 'numeric' && t === 'numeric') return to.mods.length === 0 || (from.mods.length > 0 && to.mods[0]! >= from.mods[0]! && (to.mods[1] ?? 0) === (from.mods[1] ?? 0));
  if ((f === 'varbit' || f === 'bit varying') && t === f) return to.mods.length === 0 || (from.mods.length > 0 && to.mods[0]! >= from.mods[0]!);
  if (f === 'cidr' && t === 'inet') return true;
  if (f === 'interval' && t === 'interval') return intervalKeeps(from.mods, to.mods);
  // char(n) → bpchar with no length keeps the padded values; char(n) → char(m) is a rewrite, even wider (bpchar has no length support function).
  if (f === 'bpchar' && t === 'bpchar') return to.mods.length === 0;
  // timestamp(3) → timestamp, time(0) → time(6): TemporalSimplify keeps the stored values when the new
  // precision is unlimited, the maximum, or at least the old one (timestamp → timestamp(3) rounds every row).
  if (TEMPORAL.has(f) && t === f) return to.mods.length === 0 || to.mods[0]! >= MAX_TEMPORAL_PRECISION || (from.mods.length > 0 && to.mods[0]! >= from.mods[0]!);
  return false;
}

function show(t: ColumnType): string {
  return `${t.name}${t.mods.length ? `(${t.mods.join(',')})` : ''}${t.array ? '[]' : ''}`;
}

/**
 * Whether an ALTER COLUMN TYPE's USING expression is the column itself (possibly cast to the
 * new type): Postgres then judges the change as if there were no USING; anything else is
 * computed for every row.
 */
function plainUsing(expr: unknown, column: string, to: ColumnType): boolean {
  if (expr === undefined) return true;
  const ref = (e: unknown) => {
    const f = nodeBody(e, 'ColumnRef')?.['fields'] as unknown[] | undefined;
    return !!f && f.length === 1 && nodeBody(f[0], 'String')?.['sval'] === column;
  };
  if (ref(expr)) return true;
  const cast = nodeBody(expr, 'TypeCast');
  return !!cast && ref(cast['arg']) && JSON.stringify(typeOf(cast['typeName'])) === JSON.stringify(to);
}

/**
 * Names of the functions whose calls are volatile before each statement: the database's
 * (`catalog`), as the statements before it created or replaced them (CREATE FUNCTION defaults
 * to VOLATILE). A VOLATILE LANGUAGE sql function counts unless Postgres inlines its body to an
 * expression with no volatile call (a SECURITY DEFINER, SET or SETOF one is never inlined).
 */
function volatileFunctions(all: readonly MigrationStatement[], catalog: ReadonlySet<string>, parseSync: ((sql: string) => unknown) | undefined): Map<MigrationStatement, ReadonlySet<string>> {
  const out = new Map<MigrationStatement, ReadonlySet<string>>();
  let fns = new Set<string>(catalog);
  for (const s of all) {
    out.set(s, fns);
    if (s.type !== 'CreateFunctionStmt') continue;
    const options = ((s.body['options'] as unknown[] | undefined) ?? []).map((o) => nodeBody(o, 'DefElem'));
    const option = (name: string) => options.find((o) => o?.['defname'] === name);
    const opt = (name: string) => (nodeBody(option(name)?.['arg'], 'String')?.['sval'] as string | undefined)?.toLowerCase();
    const name = ((s.body['funcname'] as unknown[] | undefined) ?? []).map((x) => nodeBody(x, 'String')?.['sval'] as string).pop();
    if (!name) continue;
    fns = new Set(fns);
    const volatile = (opt('volatility') ?? 'volatile') === 'volatile';
    if (volatile && opt('language') !== 'sql') fns.add(name);
    else if (volatile && sqlCallVolatile(s.body, option, fns, parseSync)) fns.add(name);
    else fns.delete(name); // CREATE OR REPLACE with another volatility, or a body that inlines
  }
  return out;
}

/** Whether a call to this VOLATILE sql function stays volatile once planned (see sql-inline.ts). */
function sqlCallVolatile(body: Body, option: (name: string) => Body | undefined, fns: ReadonlySet<string>, parseSync: ((sql: string) => unknown) | undefined): boolean {
  const security = nodeBody(option('security')?.['arg'], 'Boolean')?.['boolval'];
  if (security || option('set') || (body['returnType'] as Body | undefined)?.['setof']) return true;
  let stmts: unknown[] | null = null;
  const sqlBody = body['sql_body'];
  if (nodeBody(sqlBody, 'ReturnStmt')) stmts = [sqlBody];
  else if (nodeBody(sqlBody, 'List')) stmts = ((nodeBody(((nodeBody(sqlBody, 'List')!['items'] as unknown[]) ?? [])[0], 'List')?.['items'] as unknown[] | undefined) ?? []);
  else {
    const text = nodeBody(((nodeBody(option('as')?.['arg'], 'List')?.['items'] as unknown[] | undefined) ?? [])[0], 'String')?.['sval'];
    if (typeof text !== 'string' || !parseSync) return false; // not read: judged as before, not volatile
    stmts = catalogBodyStatements(text, parseSync);
    if (stmts === null) return false;
  }
  const expr = inlinedExpression(stmts);
  return expr === null || volatileCall(expr, fns) !== null;
}

/** Whether a column's type name is one of `domains`, looked up through the statement's search_path. */
function domainIn(s: MigrationStatement, names: unknown, domains: ReadonlySet<string>): boolean {
  return domains.has(s.names.object(names, (q) => domains.has(q)));
}

/** Domains with a CHECK or NOT NULL constraint, as the statements up to `s` (in order) made them. */
function constrainedDomains(all: readonly MigrationStatement[]): Map<MigrationStatement, ReadonlySet<string>> {
  const out = new Map<MigrationStatement, ReadonlySet<string>>();
  let domains = new Set<string>();
  const made = new Set<string>(); // every domain the statements created, for ALTER DOMAIN's name
  for (const s of all) {
    out.set(s, domains);
    if (s.type === 'CreateDomainStmt') made.add(s.names.createdObject(s.body['domainname']));
    if (s.type === 'CreateDomainStmt' && ((s.body['constraints'] as unknown[] | undefined) ?? []).some((c) => ['CONSTR_CHECK', 'CONSTR_NOTNULL'].includes(nodeBody(c, 'Constraint')?.['contype'] as string))) {
      domains = new Set(domains).add(s.names.createdObject(s.body['domainname']));
    }
    if (s.type === 'AlterDomainStmt' && s.body['subtype'] === 'C') domains = new Set(domains).add(s.names.object(s.body['typeName'], (q) => made.has(q)));
  }
  return out;
}

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'table-rewrite',
  level: 'warn',
  category: 'migration',
  description: 'column type change, volatile default, serial/identity, stored generated or constrained-domain column, SET LOGGED / UNLOGGED, CLUSTER (with no table: every table clustered before), VACUUM FULL or plain REFRESH MATERIALIZED VIEW that rewrites an existing table',
  docs: 'These rewrite every row (and rebuild every index) while holding ACCESS EXCLUSIVE: nothing can read or write the table meanwhile. So do a column of a domain type with constraints, an ALTER COLUMN TYPE … USING that computes something, SET LOGGED / UNLOGGED, CLUSTER, VACUUM FULL, and REFRESH MATERIALIZED VIEW without CONCURRENTLY (reads of the view wait for its whole query). Widening varchar/numeric limits or the precision of timestamp, timestamptz, time and timetz (timestamp(3) → timestamp), varchar → text, text → varchar, cidr → inet, an interval range or precision to one that keeps every value (`interval(3)` → `interval`, `interval day` → `interval day to second`, `interval second(2)` → `interval second(4)`; `interval` → `interval day` or `interval(3)` truncates, a rewrite), and a serial column to its own integer type need no rewrite (nor rebuild their indexes) and are not reported; bit(n) → bit varying keeps the rows but rebuilds the column\'s indexes (bit and varbit index with different operator classes), reported only when it has one; nor is timestamp ↔ timestamptz after SET TIME ZONE \'UTC\' in the file; a constant or STABLE default such as now() has needed none since PG11. A table a TRUNCATE (not ONLY) emptied earlier in the same transaction, with nothing since that could add a row, is not reported: there is no row to rewrite, and the TRUNCATE holds ACCESS EXCLUSIVE until the commit anyway (not across the statements of a no-transaction file, each committed on its own). A function in a default is taken as volatile when it is a built-in volatile one (gen_random_uuid(), random(), clock_timestamp(), nextval() …), when the migrations create it VOLATILE, or, linting against a database (or its shadow), when its catalog has it VOLATILE — a LANGUAGE sql one only when Postgres does not inline its body to an expression without a volatile call (a body with a FROM, an aggregate or a set-returning function, a SECURITY DEFINER or SET function, is not inlined).',
  fix: 'add a new column, backfill it in batches, then switch readers over; or accept the lock in a maintenance window',
  check(ctx) {
    const out: RawFinding[] = [];
    const domainsAt = constrainedDomains(ctx.allStatements);
    const volatileAt = volatileFunctions(ctx.allStatements, ctx.catalogVolatileFunctions, ctx.parseSync);
    // A table a TRUNCATE emptied earlier in this transaction: nothing to rewrite, and its ACCESS EXCLUSIVE lock is held already.
    const emptyAt = emptiedTables(ctx.allStatements);
    for (const s of ctx.statements) {
      const emptied = emptyAt.get(s) ?? new Map<string, boolean>();
      out.push(...maintenance(s, ctx.rowEstimates, emptied));
      const at = alterTableCmds(s);
      // ALTER TABLE reaches inheritance children too: TRUNCATE ONLY does not empty them.
      if (!at || !existedBefore(s, at.table) || emptiedWithChildren(emptied, at.table)) continue;
      const origin = originOf(s, at.table, ctx.rowEstimates);
      for (const c of at.cmds) {
        if (c.subtype === 'AT_AlterColumnType') {
          const def = nodeBody(c.def, 'ColumnDef');
          const to = typeOf(def?.['typeName']);
          const from = s.tablesBefore.get(at.table)?.columns.get(c.name ?? '');
          const using = def?.['raw_default'];
          const plain = plainUsing(using, c.name ?? '', to);
          if (from && plain && safeChange(from, to)) continue;
          // bit(n) → bit varying: binary-coercible, the rows stay, but bit and varbit are indexed with different operator classes, so each index on it is rebuilt.
          if (from && plain && from.name === 'bit' && to.name === 'varbit' && to.mods.length === 0 && from.array === to.array) {
            const indexes = [...s.indexesBefore.values()].filter((i) => i.table === at.table && i.columns.some((col) => col === null || col === c.name)).map((i) => i.qualified);
            const known = (s.tablesBefore.get(at.table)?.createdInFile ?? -1) >= 0;
            if (known && indexes.length === 0) continue;
            out.push({
              object: `${at.table}.${c.name}`,
              objectKind: 'column',
              location: s.at(locationOf(c.def) ?? at.location),
              message: `changing ${at.table}.${c.name} from ${show(from)} to varbit keeps the rows but rebuilds ${indexes.length ? indexes.join(', ') : 'every index on it'} (${origin}) under an ACCESS EXCLUSIVE lock: bit and varbit are indexed with different operator classes`,
              fix: 'drop the index first and build it again concurrently after the change, or accept the lock in a maintenance window',
            });
            continue;
          }
          // timestamp <-> timestamptz: PG12+ keeps the rows when the session's time zone is UTC (offset 0, no DST).
          const tzFlip = !!from && plain && from.array === to.array && JSON.stringify(from.mods) === JSON.stringify(to.mods) && [from.name, to.name].sort().join() === 'timestamp,timestamptz';
          if (tzFlip && UTC_ZONES.has((s.timeZone ?? '').toLowerCase())) continue;
          out.push({
            object: `${at.table}.${c.name}`,
            objectKind: 'column',
            location: s.at(locationOf(c.def) ?? at.location),
            message: `changing ${at.table}.${c.name} ${from ? `from ${show(from)} ` : ''}to ${show(to)}${plain ? '' : ' with a USING expression computed for every row'} ${from || !plain ? 'rewrites' : 'may rewrite'} the whole table (${origin}) under an ACCESS EXCLUSIVE lock${tzFlip ? ", unless the session's TimeZone is UTC" : ''}`,
            ...(tzFlip ? { fix: `if the stored times are UTC: set local timezone = 'UTC' just before it (PG12+ then changes the type without a rewrite)` } : {}),
          });
        }
        if (c.subtype === 'AT_SetLogged' || c.subtype === 'AT_SetUnLogged') {
          out.push({
            object: at.table,
            objectKind: 'table',
            location: s.at(at.location),
            message: `set ${c.subtype === 'AT_SetLogged' ? 'logged' : 'unlogged'} on ${at.table} (${origin}) rewrites the whole table under an ACCESS EXCLUSIVE lock`,
            fix: 'create the table with the persistence it needs, or change it in a maintenance window',
          });
        }
        if (c.subtype === 'AT_AddColumn') {
          const def = nodeBody(c.def, 'ColumnDef');
          if (!def) continue;
          const cons = constraintsOf(def);
          const ty = typeOf(def['typeName']);
          const dflt = cons.find((x) => x['contype'] === 'CONSTR_DEFAULT');
          const why = SERIAL.has(ty.name)
            ? `${ty.name} fills every row from a sequence`
            : cons.some((x) => x['contype'] === 'CONSTR_IDENTITY')
              ? 'an identity column fills every row from a sequence'
              : cons.some((x) => x['contype'] === 'CONSTR_GENERATED')
                ? 'a stored generated column is computed for every row'
                : dflt && volatileCall(dflt['raw_expr'], volatileAt.get(s))
                  ? `the volatile default ${volatileCall(dflt['raw_expr'], volatileAt.get(s))} is evaluated for every row`
                  : domainIn(s, (def['typeName'] as Body | undefined)?.['names'], domainsAt.get(s) ?? new Set())
                    ? `its type is a domain with constraints, checked for every row`
                    : null;
          if (!why) continue;
          out.push({
            object: `${at.table}.${def['colname'] as string}`,
            objectKind: 'column',
            location: s.at(locationOf(c.def)),
            message: `adding ${def['colname'] as string} to ${at.table} (${origin}) rewrites the table under an ACCESS EXCLUSIVE lock: ${why}`,
            ...(dflt && why.startsWith('the volatile default')
              ? { fix: `add the column without that default, then: alter table ${at.table} alter column ${def['colname'] as string} set default … (only new rows get it, no rewrite); backfill the existing rows in batches` }
              : {}),
          });
        }
      }
    }
    return out;
  },
};

/** CLUSTER, VACUUM FULL and REFRESH MATERIALIZED VIEW (without CONCURRENTLY) of relations that existed before. */
function maintenance(s: MigrationStatement, rows: ReadonlyMap<string, number>, emptied: ReadonlyMap<string, boolean>): RawFinding[] {
  const one = (rel: unknown, what: string, why: string, fix: string): RawFinding[] => {
    const name = s.names.relation(rel);
    if (!existedBefore(s, name) || emptied.has(name)) return [];
    return [{ object: name, objectKind: what === 'refresh materialized view' ? 'view' : 'table', location: s.at(undefined), message: `${what} ${name} (${originOf(s, name, rows)}) ${why}`, fix }];
  };
  if (s.type === 'RefreshMatViewStmt' && !s.body['concurrent']) {
    return one(s.body['relation'], 'refresh materialized view', 'without CONCURRENTLY rebuilds it under an ACCESS EXCLUSIVE lock: every read of it waits for the whole query', 'refresh materialized view concurrently … (it needs a unique index on the view, and a view that has been populated)');
  }
  if (s.type === 'ClusterStmt' && !s.body['relation']) {
    // CLUSTER with no table: every table of the current user's that was clustered before (pg_index.indisclustered).
    return [{
      object: s.file,
      objectKind: 'file',
      location: s.at(undefined),
      message: 'cluster without a table rewrites every table that was clustered before (on the index it was clustered on), each under an ACCESS EXCLUSIVE lock: nothing can read or write it meanwhile',
      fix: 'leave physical ordering to a maintenance window (or pg_repack), not a migration',
    }];
  }
  if (s.type === 'ClusterStmt' && s.body['relation']) {
    return one(s.body['relation'], 'cluster', 'rewrites the whole table under an ACCESS EXCLUSIVE lock: nothing can read or write it meanwhile', 'leave physical ordering to a maintenance window (or pg_repack), not a migration');
  }
  if (s.type === 'VacuumStmt' && s.body['is_vacuumcmd'] && booleanOption(s.body['options'], 'full')) {
    return ((s.body['rels'] as unknown[] | undefined) ?? []).flatMap((r) =>
      one(nodeBody(r, 'VacuumRelation')?.['relation'], 'vacuum full', 'rewrites the whole table under an ACCESS EXCLUSIVE lock: nothing can read or write it meanwhile', 'plain vacuum (no lock against reads or writes), or vacuum full in a maintenance window (or pg_repack), not in a migration'),
    );
  }
  return [];
}
