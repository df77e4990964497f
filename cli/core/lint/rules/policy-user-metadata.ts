/** user_metadata is editable by the user it describes: authorising on it lets users grant themselves access. */
import type { CatalogRule, RawFinding } from '../types.js';
import { helpersByName, policyObject } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-user-metadata',
  level: 'error',
  category: 'security',
  description: 'policy reads user_metadata / raw_user_meta_data, which users can edit themselves',
  docs: 'GoTrue copies raw_user_meta_data into the JWT as user_metadata, and any signed-in user can change it (PUT /user {data}). app_metadata (raw_app_meta_data) is only writable with the service role and is fine to authorise on. The LANGUAGE sql and plpgsql helpers a policy calls are read too: an is_admin() that looks up raw_user_meta_data of the caller in auth.users (a SECURITY DEFINER function can) decides on the same user-chosen value.',
  fix: "authorise on app_metadata (set with the service role) or on a table the user cannot write, e.g. (select auth.jwt() -> 'app_metadata' ->> 'role')",
  check(ctx) {
    const out: RawFinding[] = [];
    // A helper reads user_metadata when its body does, or a helper it calls does (each looked at once).
    const viaHelper = new Map<string, string | null>();
    // The chain of helpers down to the one that reads it (`private.is_admin` or `private.is_admin() → private.meta_role`).
    const helperReading = (name: string, seen: Set<string>): string | null => {
      if (viaHelper.has(name)) return viaHelper.get(name)!;
      if (seen.has(name)) return null;
      seen.add(name);
      let found: string | null = null;
      for (const fn of helpersByName(ctx.model).get(name) ?? []) {
        const f = ctx.functionAnalysis(fn);
        if (f.readsUserMetadata) found = name;
        for (const inner of f.calls) {
          if (found) break;
          const below = helperReading(inner, seen);
          if (below) found = `${name}() → ${below}`;
        }
        if (found) break;
      }
      viaHelper.set(name, found);
      return found;
    };
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        const a = ctx.analysis(p);
        const direct = a.using?.readsUserMetadata || a.check?.readsUserMetadata;
        let via: string | null = null;
        if (!direct) for (const name of new Set([...(a.using?.calls ?? []), ...(a.check?.calls ?? [])])) if ((via = helperReading(name, new Set()))) break;
        if (!direct && !via) continue;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} decides on user_metadata${via ? ` through ${via}(), whose body reads it` : ''}: any signed-in user can set it on themselves and pass the policy`,
        });
      }
    }
    return out;
  },
};
