/** user_metadata is editable by the user it describes: authorising on it lets users grant themselves access. */
import type { CatalogRule, RawFinding } from '../types.js';
import { policyObject } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-user-metadata',
  level: 'error',
  category: 'security',
  description: 'policy reads user_metadata / raw_user_meta_data, which users can edit themselves',
  docs: 'GoTrue copies raw_user_meta_data into the JWT as user_metadata, and any signed-in user can change it (PUT /user {data}). app_metadata (raw_app_meta_data) is only writable with the service role and is fine to authorise on.',
  fix: "authorise on app_metadata (set with the service role) or on a table the user cannot write, e.g. (select auth.jwt() -> 'app_metadata' ->> 'role')",
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        const a = ctx.analysis(p);
        if (!a.using?.readsUserMetadata && !a.check?.readsUserMetadata) continue;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} decides on user_metadata: any signed-in user can set it on themselves and pass the policy`,
        });
      }
    }
    return out;
  },
};
