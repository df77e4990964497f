/**
 * An extension installed into a schema the API exposes brings its functions to
 * /rpc and its views and tables to the API: `create extension dblink` in public
 * lets anon call dblink_connect and dblink_exec, which open connections from the
 * database server. Supabase keeps extensions in the unexposed `extensions`
 * schema for this reason.
 */
import type { Extension } from '../../catalog/model.js';
import { quoteIdent } from '../../db.js';
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import { isExposed, listWords, reachesSchema, verbOf } from '../facts.js';

const SHOWN = 3;

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'extension-in-api',
  level: 'warn',
  category: 'security',
  description: 'extension with members in an exposed schema that an API role can call over /rpc (its functions) or read or write (its tables and views)',
  docs: "PostgREST serves every function of an exposed schema that the caller may EXECUTE, and an extension's functions are granted to PUBLIC unless its script says otherwise: installed into public, dblink lets anon call dblink_connect and dblink_exec, which open connections from the database server and run SQL on other servers. Members are judged as the API role would reach them (EXECUTE or a table privilege, and USAGE on their schema); procedures and aggregates are not served. Extensions whose members all sit in unexposed schemas, or that API roles cannot use, are not reported.",
  fix: 'create schema if not exists extensions; alter extension <name> set schema extensions (an extension that is not relocatable: drop it and create it with schema extensions); or revoke execute on its functions from the API roles',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const ext of ctx.model.extensions) {
      const reach = ctx.apiRoles
        .map((role) => ({ role, ...reachOf(ctx, ext, role) }))
        .filter((r) => r.functions.length > 0 || r.relations.length > 0);
      if (reach.length === 0) continue;
      // Roles that reach exactly the same members are named together.
      const groups = new Map<string, { roles: string[]; text: string }>();
      for (const r of reach) {
        const parts: string[] = [];
        if (r.functions.length) {
          const names = [...new Set(r.functions.map((f) => `${f.schema}.${f.name}`))];
          parts.push(`call ${r.functions.length} of its functions over /rpc (${names.slice(0, SHOWN).join(', ')}${names.length > SHOWN ? ', …' : ''})`);
        }
        for (const rel of r.relations) parts.push(`${listWords(rel.privileges.map(verbOf))} its ${rel.kind === 'materialized' ? 'materialized view' : rel.kind === 'foreign' ? 'foreign table' : rel.kind} ${rel.qualified}`);
        const text = parts.join(' and ');
        const g = groups.get(text) ?? { roles: [], text };
        g.roles.push(r.role);
        groups.set(text, g);
      }
      const schemas = [...new Set([...ext.functions.map((f) => f.schema), ...ext.relations.map((r) => r.schema)].filter((s) => ctx.exposed.has(s)))].sort();
      out.push({
        object: ext.name,
        objectKind: 'extension',
        message: `extension ${ext.name} has members in exposed schema${schemas.length === 1 ? '' : 's'} ${listWords(schemas)}: ${[...groups.values()].map((g) => `${listWords(g.roles)} can ${g.text}`).join('; ')}`,
        fix: `create schema if not exists extensions; alter extension ${quoteIdent(ext.name)} set schema extensions (if it is not relocatable: drop extension ${quoteIdent(ext.name)}; create extension ${quoteIdent(ext.name)} with schema extensions)`,
      });
    }
    return out;
  },
};

/** The members of `ext` in exposed schemas that `role` can use: functions it may execute, relations it holds a privilege on. */
function reachOf(ctx: CatalogLintContext, ext: Extension, role: string) {
  const usable = (schema: string) => isExposed(ctx, { schema }) && reachesSchema(ctx, schema, role);
  return {
    functions: ext.functions.filter((f) => usable(f.schema) && f.executableBy.includes(role)),
    relations: ext.relations
      .filter((r) => usable(r.schema))
      .map((r) => ({ ...r, privileges: r.apiAccess[role] ?? [] }))
      .filter((r) => r.privileges.length > 0),
  };
}
