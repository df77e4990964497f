/**
 * Supabase Storage hands out a public bucket's objects by URL to anyone, with no policy
 * asked. Listing the bucket is a SELECT on storage.objects under RLS: a SELECT policy that
 * admits every object of a public bucket to a role lets that role list every name in it, and
 * with the names, download every file — including the ones the app never linked to.
 */
import type { CatalogRule, RawFinding } from '../types.js';
import { bypassesRls, hasPrivilege, listWords, policiesFor, policyObject, servedByStorage } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'public-bucket-listable',
  level: 'warn',
  category: 'security',
  description: "permissive SELECT policy on storage.objects that admits every object of a public bucket to an API role (using (bucket_id = 'avatars')): anyone with that role lists every file name, and a public bucket serves each by URL",
  docs: "A public bucket needs no policy for its files to be downloaded by URL: Storage serves them to anyone. What a SELECT policy on storage.objects adds is listing (`storage.from('avatars').list()`, which runs under RLS as the caller's role): one whose USING holds for every object of the bucket — `bucket_id = 'avatars'`, `bucket_id in (…)`, `true`, or a role test such as `auth.role() = 'authenticated'` — hands every name in the bucket to that role, and with the public URL every file, private uploads under unguessable names included. The public buckets are read from storage.buckets' rows (`public` is true); a connection that may not read that table, or reads only some of its rows through RLS, judges only the buckets it sees. A policy that also tests the object's name, owner or the caller is not reported, nor is one a restrictive SELECT policy for the same role narrows. Like splinter's public_bucket_allows_listing, and weighed with grants and the role each policy applies to.",
  fix: "drop the SELECT policy (a public bucket's files download without one), or limit listing to the caller's own files: using (bucket_id = '…' and owner_id = (select auth.uid())::text)",
  check(ctx) {
    const out: RawFinding[] = [];
    const buckets = ctx.model.publicBuckets ?? [];
    if (buckets.length === 0) return out;
    for (const rel of ctx.model.relations) {
      if (rel.name !== 'objects' || !servedByStorage(rel) || !rel.rls) continue;
      const notNull = new Set(rel.columns.filter((c) => c.notNull).map((c) => c.name));
      const admits = (using: ReturnType<typeof ctx.analysis>['using'], role: string, bucket: string) => using?.alwaysTrueFor(role, notNull, new Map([['bucket_id', bucket]])) ?? false;
      for (const p of rel.policies) {
        if (!p.permissive || (p.command !== 'SELECT' && p.command !== 'ALL')) continue;
        const using = ctx.analysis(p).using;
        // The buckets each role lists in full, grouped by roles that list the same ones.
        const byBuckets = new Map<string, string[]>();
        for (const role of ctx.apiRoles) {
          if (bypassesRls(ctx.model, role) || !hasPrivilege(ctx, rel, role, 'SELECT') || !policiesFor(ctx.model, rel, role, 'SELECT', true).includes(p)) continue;
          // A restrictive SELECT policy that does not admit the whole bucket narrows the listing.
          const restrictive = policiesFor(ctx.model, rel, role, 'SELECT', false);
          const listed = buckets.filter((b) => admits(using, role, b) && restrictive.every((r) => admits(ctx.analysis(r).using, role, b)));
          if (listed.length) byBuckets.set(JSON.stringify(listed), [...(byBuckets.get(JSON.stringify(listed)) ?? []), role]);
        }
        if (byBuckets.size === 0) continue;
        const parts = [...byBuckets].map(([key, roles]) => {
          const names = JSON.parse(key) as string[];
          return `${listWords(roles)} list${roles.length === 1 ? 's' : ''} every file of public bucket${names.length === 1 ? '' : 's'} ${listWords(names)}`;
        });
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${rel.qualified} admits every object of a public bucket: ${parts.join('; ')}, and Storage serves each of them by URL to anyone`,
        });
      }
    }
    return out;
  },
};
