/** Statements that rewrite every row under an ACCESS EXCLUSIVE lock: type changes, volatile defaults, stored generated columns. */
import type { MigrationRule, RawFinding } from '../types.js';
import { existedBefore, originOf, typeOf, type ColumnType } from '../migrations.js';
import { alterTableCmds, constraintsOf, locationOf, nodeBody, type Body } from '../stmt.js';

const VOLATILE = new Set(['gen_random_uuid', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4', 'uuidv4', 'uuidv7', 'random', 'clock_timestamp', 'timeofday', 'nextval', 'gen_random_bytes', 'random_normal']);
const SERIAL = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

/** Type changes Postgres does without a rewrite (binary-coercible, or only a wider limit). */
function safeChange(from: ColumnType, to: ColumnType): boolean {
  if (from.array !== to.array) return false;
  const f = from.name;
  const t = to.name;
  if (f === t && JSON.stringify(from.mods) === JSON.stringify(to.mods)) return true;
  if (f === 'varchar' && t === 'varchar') return to.mods.length === 0 || (from.mods.length > 0 && to.mods[0]! >= from.mods[0]!);
  if (f === 'varchar' && t === 'text') return true;
  if (f === 'text' && t === 'varchar') return to.mods.length === 0;
  if (f === 'numeric' && t === 'numeric') return to.mods.length === 0 || (from.mods.length > 0 && to.mods[0]! >= from.mods[0]! && (to.mods[1] ?? 0) === (from.mods[1] ?? 0));
  if ((f === 'varbit' || f === 'bit varying') && t === f) return to.mods.length === 0 || (from.mods.length > 0 && to.mods[0]! >= from.mods[0]!);
  if (f === 'cidr' && t === 'inet') return true;
  return false;
}

function show(t: ColumnType): string {
  return `${t.name}${t.mods.length ? `(${t.mods.join(',')})` : ''}${t.array ? '[]' : ''}`;
}

function volatileCall(expr: unknown): string | null {
  let found: string | null = null;
  const visit = (v: unknown): void => {
    if (found || !v || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(visit);
    const fc = (v as Record<string, Body>)['FuncCall'];
    if (fc) {
      const name = ((fc['funcname'] as Array<Record<string, Body>>) ?? []).map((x) => x['String']?.['sval'] as string).pop();
      if (name && VOLATILE.has(name)) found = `${name}()`;
    }
    Object.values(v).forEach(visit);
  };
  visit(expr);
  return found;
}

export const rule: MigrationRule = {
  kind: 'migration',
  id: 'table-rewrite',
  level: 'warn',
  category: 'migration',
  description: 'column type change, volatile default, serial/identity or stored generated column that rewrites an existing table',
  docs: 'These rewrite every row (and rebuild every index) while holding ACCESS EXCLUSIVE: nothing can read or write the table meanwhile. Widening varchar/numeric limits, varchar → text and cidr → inet need no rewrite and are not reported; a constant default has needed none since PG11.',
  fix: 'add a new column, backfill it in batches, then switch readers over; or accept the lock in a maintenance window',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const s of ctx.statements) {
      const at = alterTableCmds(s);
      if (!at || !existedBefore(s, at.table)) continue;
      const origin = originOf(s, at.table, ctx.rowEstimates);
      for (const c of at.cmds) {
        if (c.subtype === 'AT_AlterColumnType') {
          const def = nodeBody(c.def, 'ColumnDef');
          const to = typeOf(def?.['typeName']);
          const from = s.tablesBefore.get(at.table)?.columns.get(c.name ?? '');
          if (from && safeChange(from, to)) continue;
          out.push({
            object: `${at.table}.${c.name}`,
            objectKind: 'column',
            location: s.at(locationOf(c.def) ?? at.location),
            message: `changing ${at.table}.${c.name} ${from ? `from ${show(from)} ` : ''}to ${show(to)} ${from ? 'rewrites' : 'may rewrite'} the whole table (${origin}) under an ACCESS EXCLUSIVE lock`,
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
                : dflt && volatileCall(dflt['raw_expr'])
                  ? `the volatile default ${volatileCall(dflt['raw_expr'])} is evaluated for every row`
                  : null;
          if (!why) continue;
          out.push({
            object: `${at.table}.${def['colname'] as string}`,
            objectKind: 'column',
            location: s.at(locationOf(c.def)),
            message: `adding ${def['colname'] as string} to ${at.table} (${origin}) rewrites the table under an ACCESS EXCLUSIVE lock: ${why}`,
          });
        }
      }
    }
    return out;
  },
};
