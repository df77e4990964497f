/** anon writing where RLS does not stop it: tables with RLS off, and TRUNCATE (never subject to RLS). */
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import { isTable, isUserRelation, listWords, privilegesOf, verbOf, sqlName } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'anon-write-unprotected',
  level: 'error',
  category: 'security',
  description: 'anon holds INSERT/UPDATE/DELETE on a table with RLS off, or TRUNCATE on any table',
  docs: 'RLS filters INSERT/UPDATE/DELETE only when it is on, and never applies to TRUNCATE. Effective privileges count (grants to PUBLIC and through role membership). TRUNCATE counts only where Postgres would run it: a table another table references by a foreign key is truncated only together with it (or by CASCADE), so anon needs TRUNCATE on every table that references it, directly or through others. Supabase-style default privileges grant anon ALL, TRUNCATE included: tables where TRUNCATE is the only finding are reported once per schema (object `schema.*`, which is also what lint.ignore takes), with the REVOKE that clears them all.',
  fix: 'revoke insert, update, delete, truncate on … from anon (and from public)',
  check(ctx) {
    const out: RawFinding[] = [];
    const anon = ctx.anonRole;
    if (!ctx.apiRoles.includes(anon)) return out;
    // Tables where TRUNCATE is anon's only unprotected write, by schema: Supabase-style
    // default privileges give it on every table, and one REVOKE per schema clears them.
    const truncateOnly = new Map<string, string[]>();
    const truncatable = truncatableBy(ctx, anon);
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !isUserRelation(ctx, rel)) continue;
      const privs = privilegesOf(ctx, rel, anon).filter((p) => p !== 'TRUNCATE' || truncatable(rel.qualified));
      const unprotected = privs.filter((p) => p === 'TRUNCATE' || (!rel.rls && (p === 'INSERT' || p === 'UPDATE' || p === 'DELETE')));
      if (unprotected.length === 0) continue;
      if (unprotected.length === 1 && unprotected[0] === 'TRUNCATE') {
        truncateOnly.set(rel.schema, [...(truncateOnly.get(rel.schema) ?? []), rel.qualified]);
        continue;
      }
      out.push({
        object: rel.qualified,
        objectKind: 'table',
        message: `${anon} can ${listWords(unprotected.map(verbOf))} ${rel.qualified}${unprotected.includes('TRUNCATE') ? ' (TRUNCATE ignores RLS)' : ''}${!rel.rls && unprotected.some((p) => p !== 'TRUNCATE') ? ' (RLS is off)' : ''}`,
        fix: `revoke ${unprotected.map((p) => p.toLowerCase()).join(', ')} on ${sqlName(rel)} from ${anon}, public`,
      });
    }
    for (const [schema, tables] of truncateOnly) {
      if (tables.length === 1) {
        out.push({ object: tables[0]!, objectKind: 'table', message: `${anon} can truncate ${tables[0]} (TRUNCATE ignores RLS)`, fix: `revoke truncate on ${tables[0]} from ${anon}, public` });
        continue;
      }
      const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? `, … (${tables.length - 5} more)` : '');
      out.push({
        object: `${schema}.*`,
        objectKind: 'table',
        message: `${anon} can truncate ${tables.length} tables in schema ${schema} (TRUNCATE ignores RLS): ${shown}`,
        fix: `revoke truncate on all tables in schema ${schema} from ${anon}, public; alter default privileges in schema ${schema} revoke truncate on tables from ${anon}, public`,
      });
    }
    return out;
  },
};

/**
 * Whether `role` can truncate a table at all: Postgres refuses TRUNCATE of a table another table
 * references by a foreign key unless that table is truncated in the same command (or by CASCADE),
 * which takes TRUNCATE on it too — so every table that references it, directly or through others,
 * must be the role's to truncate (supabase/dbdev's app.accounts references storage.objects, which
 * references storage.buckets: anon, with TRUNCATE on both storage tables only, truncates neither).
 */
function truncatableBy(ctx: CatalogLintContext, role: string): (table: string) => boolean {
  const referencing = new Map<string, string[]>();
  const byName = new Map(ctx.model.relations.map((r) => [r.qualified, r]));
  for (const r of ctx.model.relations) for (const fk of r.foreignKeys ?? []) if (fk.refTable !== r.qualified) referencing.set(fk.refTable, [...(referencing.get(fk.refTable) ?? []), r.qualified]);
  const memo = new Map<string, boolean>();
  return (table) => {
    if (memo.has(table)) return memo.get(table)!;
    const seen = new Set([table]);
    const queue = [...(referencing.get(table) ?? [])];
    let ok = true;
    while (ok && queue.length > 0) {
      const t = queue.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      const rel = byName.get(t);
      if (!rel || !privilegesOf(ctx, rel, role).includes('TRUNCATE')) ok = false;
      queue.push(...(referencing.get(t) ?? []));
    }
    memo.set(table, ok);
    return ok;
  };
}
