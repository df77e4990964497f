/** A table the API serves with RLS off: every API role's grant applies to every row. */
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import type { FunctionInfo, Relation, TablePrivilege } from '../../catalog/model.js';
import { baseRelations } from '../views.js';
import { columnPrivilegesOf, hasPrivilege, isExposed, isServed, isTable, isUserRelation, listWords, privilegesOf, reachesSchema, relationsByName, verbOf, sqlName } from '../facts.js';

const DATA_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'rls-disabled-in-api',
  level: 'error',
  category: 'security',
  description: 'table in an exposed schema or served by Supabase Storage (or read by a view or an invoker function of one) that an API role can read or write, with RLS off (or a foreign table, which cannot have RLS)',
  docs: 'Without RLS a grant is all-or-nothing: PostgREST serves every row to anon/authenticated. Effective privileges count (PUBLIC, role membership, column grants). Partitions count on their own (they can be queried by name). A table kept in an unexposed schema is served all the same by a view or materialized view of an exposed schema that reads it: when the role holds the privilege on both, it reaches every row through the view (an invoker view reads with the caller\'s grant, which needs no USAGE on the schema of the table; a view that runs as its owner shows every row). So is it by a LANGUAGE sql or plpgsql function of an exposed schema (served at /rpc) that reads or writes it with the caller\'s rights, when the role may call the function and holds the privilege on the table and USAGE on its schema, unless the function ties what it reads to the caller (`where user_id = auth.uid()`); a SECURITY DEFINER one is security-definer-rpc\'s. Supabase Storage\'s storage.objects and storage.buckets count as exposed whatever the API schemas: Storage runs each request on them as the caller\'s role. Foreign tables cannot enable RLS at all: keep them in an unexposed schema and serve what users may see through a function or view that filters it.',
  fix: 'alter table … enable row level security, then write policies (or revoke the grants)',
  check(ctx) {
    const out: RawFinding[] = [];
    const viewsOver = exposedViewsOver(ctx);
    const functionsOver = exposedFunctionsOver(ctx);
    for (const rel of ctx.model.relations) {
      const foreign = rel.kind === 'foreign';
      if (!(isTable(rel) || foreign) || rel.rls || !isUserRelation(ctx, rel)) continue;
      // Kept out of the exposed schemas, a table is still served by an exposed view that reads it.
      const views = isServed(ctx, rel) ? null : (viewsOver.get(rel.qualified) ?? []);
      if (views !== null && views.length === 0) {
        const fns = functionsOver.get(rel.qualified);
        if (fns) out.push(...servedByFunctions(ctx, rel, fns));
        continue;
      }
      const what = ctx.apiRoles
        .map((role) => {
          // Through a view: what the role may do on both (the view, and the table with its own grant; a
          // view reads it without USAGE on its schema). Otherwise the grant on the table reached by its schema.
          const through = (ps: readonly string[]) => (views === null ? ps : ps.filter((p) => views.some((v) => hasPrivilege(ctx, v, role, p as TablePrivilege))));
          const privs = through((views === null ? privilegesOf(ctx, rel, role) : (rel.apiAccess[role] ?? [])).filter((p) => (DATA_PRIVILEGES as readonly string[]).includes(p)));
          // Column grants (GRANT SELECT (email) …) reach every row of those columns just the same.
          const cols = views === null ? [...columnPrivilegesOf(ctx, rel, role)].filter(([p]) => (DATA_PRIVILEGES as readonly string[]).includes(p)) : [];
          const parts = [
            ...(privs.length ? [`${listWords(privs.map(verbOf))} every row`] : []),
            ...cols.map(([p, cs]) => `${verbOf(p)} ${listWords(cs)} of every row`),
          ];
          return { role, parts };
        })
        .filter((x) => x.parts.length > 0);
      if (what.length === 0) continue;
      const parts = what.map((x) => `${x.role} can ${x.parts.join(' and ')}`);
      // The views those roles can use (the others serve them nothing).
      const serving = views?.filter((v) => what.some((x) => DATA_PRIVILEGES.some((p) => hasPrivilege(ctx, v, x.role, p))));
      // A partition queried by name is checked against its own RLS flag and policies, not its parent's.
      const parent = rel.partitionOf ? relationsByName(ctx.model).get(rel.partitionOf) : undefined;
      const guardedParent = parent && parent.rls && parent.policies.length > 0 ? parent : undefined;
      out.push({
        object: rel.qualified,
        objectKind: 'table',
        message: serving
          ? `${foreign ? `${rel.qualified} is a foreign table, which cannot have RLS,` : `RLS is off on ${rel.qualified},`} which is in no exposed schema but served by ${listWords(serving.map((v) => `${v.kind === 'materialized' ? 'materialized view' : 'view'} ${v.qualified}`))}: ${parts.join('; ')}`
          : foreign
          ? `${rel.qualified} is a foreign table, which cannot have RLS: ${parts.join('; ')}`
          : guardedParent
            ? `RLS is off on ${rel.qualified}, a partition of ${guardedParent.qualified}: queried by name it skips ${guardedParent.qualified}'s policies, so ${parts.join('; ')}`
            : isExposed(ctx, rel)
              ? `RLS is off on ${rel.qualified}: ${parts.join('; ')}`
              : `RLS is off on ${rel.qualified}, which Supabase Storage serves as the caller's role: ${parts.join('; ')}`,
        fix: serving
          ? foreign
            ? `revoke all on ${sqlName(rel)} from ${listWords(what.map((x) => x.role))}, and serve what users may see through a view that filters rows`
            : `alter table ${sqlName(rel)} enable row level security; then add policies for ${listWords(what.map((x) => x.role))} (or revoke their grants on ${sqlName(rel)})`
          : foreign
          ? `revoke all on ${sqlName(rel)} from ${listWords(what.map((x) => x.role))}; move it to an unexposed schema and serve it through a function or view that filters rows`
          : guardedParent
            ? `revoke all on ${sqlName(rel)} from ${listWords(what.map((x) => x.role))}, public (reach it through ${guardedParent.qualified}); or alter table ${sqlName(rel)} enable row level security and give it ${guardedParent.qualified}'s policies`
            : `alter table ${sqlName(rel)} enable row level security; then add policies for ${listWords(what.map((x) => x.role))}`,
      });
    }
    return out;
  },
};

/**
 * Views and materialized views of exposed schemas, by the tables and foreign tables they read
 * (through nested views). PostgREST serves them, and what they read with them: an invoker view
 * reads as the caller, whose own grant on an RLS-off table reaches every row; a view that runs
 * as its owner, or a materialized view, shows every row too.
 */
function exposedViewsOver(ctx: CatalogLintContext): Map<string, Relation[]> {
  const out = new Map<string, Relation[]>();
  for (const v of ctx.model.relations) {
    if ((v.kind !== 'view' && v.kind !== 'materialized') || !isExposed(ctx, v) || !isUserRelation(ctx, v)) continue;
    for (const t of baseRelations(ctx.model, v)) out.set(t.qualified, [...(out.get(t.qualified) ?? []), v]);
  }
  return out;
}

/**
 * LANGUAGE sql and plpgsql functions of exposed schemas that run as the caller, by the tables
 * their bodies read (SELECT, with the columns compared with a claim) or write. PostgREST serves
 * them at /rpc/<name>; their queries use the caller's grants, USAGE on the table's schema included.
 */
function exposedFunctionsOver(ctx: CatalogLintContext): Map<string, Array<{ fn: FunctionInfo; reads: boolean; boundBy: string[]; writes: boolean }>> {
  const out = new Map<string, Array<{ fn: FunctionInfo; reads: boolean; boundBy: string[]; writes: boolean }>>();
  for (const fn of ctx.model.functions) {
    if (fn.securityDefiner || fn.isTrigger || fn.fromExtension || fn.kind !== 'function' || !ctx.exposed.has(fn.schema) || !ctx.readableBody(fn)) continue;
    const a = ctx.functionAnalysis(fn);
    const tables = new Set([...a.reads.map((r) => r.table), ...(a.writes?.tables ?? [])]);
    for (const t of tables) {
      const read = a.reads.find((r) => r.table === t);
      out.set(t, [...(out.get(t) ?? []), { fn, reads: read !== undefined, boundBy: read?.boundBy ?? [], writes: a.writes?.tables.includes(t) ?? false }]);
    }
  }
  return out;
}

/**
 * An RLS-off table of an unexposed schema that exposed invoker functions read or write: each API
 * role that may call one, and holds the privilege on the table with USAGE on its schema, reaches
 * every row through it. A read tied to the caller (`where user_id = auth.uid()`) serves only the
 * caller's rows and is not counted; a write is (its arguments pick the rows).
 */
function servedByFunctions(ctx: CatalogLintContext, rel: Relation, fns: ReadonlyArray<{ fn: FunctionInfo; reads: boolean; boundBy: string[]; writes: boolean }>): RawFinding[] {
  const served = new Map<string, Set<string>>();
  const via = new Set<string>();
  for (const role of ctx.apiRoles) {
    for (const f of fns) {
      if (!f.fn.executableBy.includes(role) || !reachesSchema(ctx, f.fn.schema, role)) continue;
      const privs = privilegesOf(ctx, rel, role);
      const got = [...(f.reads && f.boundBy.length === 0 && privs.includes('SELECT') ? ['SELECT'] : []), ...(f.writes ? privs.filter((p) => p === 'INSERT' || p === 'UPDATE' || p === 'DELETE') : [])];
      if (got.length === 0) continue;
      served.set(role, new Set([...(served.get(role) ?? []), ...got]));
      via.add(f.fn.signature);
    }
  }
  if (served.size === 0) return [];
  const parts = [...served].map(([role, ps]) => `${role} can ${listWords(DATA_PRIVILEGES.filter((p) => ps.has(p)).map(verbOf))} every row`);
  return [
    {
      object: rel.qualified,
      objectKind: 'table',
      message: `RLS is off on ${rel.qualified}, which is in no exposed schema but served by ${listWords([...via].sort().map((s) => `function ${s}`))}, which runs as the caller: ${parts.join('; ')}`,
      fix: `alter table ${sqlName(rel)} enable row level security; then add policies for ${listWords([...served.keys()])} (or revoke their grants on ${sqlName(rel)})`,
    },
  ];
}
