/** A SECURITY DEFINER function resolving names through the caller's search_path can be hijacked. */
import type { CatalogRule, RawFinding } from '../types.js';
import { PUBLIC } from '../../catalog/model.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'function-search-path-mutable',
  level: 'warn',
  category: 'security',
  description: 'SECURITY DEFINER function without a fixed search_path (or one that includes a schema API roles can create objects in)',
  docs: 'Without `SET search_path`, a SECURITY DEFINER function resolves unqualified names with the caller\'s search_path, so a caller who can create objects earlier in the path runs code as the owner (Postgres docs, "Writing SECURITY DEFINER Functions Safely").',
  fix: "alter function … set search_path = '' and schema-qualify every name in the body",
  check(ctx) {
    const out: RawFinding[] = [];
    // Schemas where PUBLIC or an API role holds CREATE: a name there can be planted by an API caller.
    const writable = new Set(
      ctx.model.schemas.filter((s) => s.grants.some((g) => (g.grantee === PUBLIC || ctx.apiRoles.includes(g.grantee)) && g.privileges.includes('CREATE'))).map((s) => s.name),
    );
    for (const f of ctx.model.functions) {
      if (!f.securityDefiner || f.fromExtension) continue;
      const setting = f.config.find((c) => c.startsWith('search_path='));
      if (!setting) {
        out.push({ object: f.signature, objectKind: 'function', message: `${f.signature} is SECURITY DEFINER and resolves names with the caller's search_path: a caller can make it run their objects as ${f.owner}`, fix: `alter function ${f.signature} set search_path = ''` });
        continue;
      }
      const path = setting
        .slice('search_path='.length)
        .split(',')
        .map((s) => s.trim().replace(/^"(.*)"$/, '$1'))
        .filter((s) => s !== '' && s !== '""');
      // "$user" resolves to the owner inside a SECURITY DEFINER function (current_user is the owner), so it is not the caller's.
      const open = path.filter((s) => writable.has(s));
      if (open.length) {
        out.push({
          object: f.signature,
          objectKind: 'function',
          message: `${f.signature} is SECURITY DEFINER with search_path ${path.join(', ')}, and ${open.join(', ')} can receive objects from API callers`,
          fix: `alter function ${f.signature} set search_path = ''`,
        });
      }
    }
    return out;
  },
};
