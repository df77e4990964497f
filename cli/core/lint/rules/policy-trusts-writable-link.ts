/**
 * `id in (select cf.file_id from collection_files cf join collections c … where
 * c.sharing <> 'private')` lets a file through because some linking row points
 * at it. If a caller may create such a row — or repoint one of theirs — with
 * any value in the link column, they choose which rows pass: add a stranger's
 * file to their own public collection and everyone can read it.
 */
import type { CatalogRule, RawFinding } from '../types.js';
import { apiRolesOf, bypassesRls, commandsOf, hasPrivilege, isTable, listWords, policyObject, relationsByName, uniqueWithin, writableWithoutUser } from '../facts.js';
import { writePath } from './policy-trusts-writable-column.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-trusts-writable-link',
  level: 'error',
  category: 'security',
  description: 'policy lets a row through because a row of another table links to it (collection_files.file_id = files.id), and a caller can create or repoint such a link to any row',
  docs: "A sub-select such as `id in (select cf.file_id from collection_files cf where …)` or `exists (select 1 from shares s where s.doc_id = docs.id and …)` admits the row when some linking row points at it. When an API role may INSERT such a linking row, or UPDATE the link column of one of its own, and no INSERT/UPDATE check of that table names the link column (to verify the caller owns what it points at), a user picks any row — a stranger's private file added to their own public collection — and passes the policy. Links tied to the caller in the same sub-select are judged by policy-trusts-writable-column; a link with a unique key among its columns (a primary key such as chats.id, a unique storage path) cannot point at a row another link already holds and is not reported. When a sub-select matches on several columns (bucket and path), the caller must be able to write all of them.",
  fix: "check the target in the linking table's INSERT/UPDATE policy: with check (exists (select 1 from public.files f where f.id = file_id and f.user_id = (select auth.uid())))",
  check(ctx) {
    const out: RawFinding[] = [];
    const byName = relationsByName(ctx.model);
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      for (const p of rel.policies) {
        if (!p.permissive) continue;
        const a = ctx.analysis(p);
        const links = [...(a.using?.linkFacts ?? []), ...(a.check?.linkFacts ?? [])];
        if (links.length === 0) continue;
        const roles = apiRolesOf(ctx, p).filter((r) => !bypassesRls(ctx.model, r) && commandsOf(p).some((c) => hasPrivilege(ctx, rel, r, c)));
        const holes: string[] = [];
        let first: Array<{ table: string; column: string; rowColumn: string }> | null = null;
        // A row must match every link of its sub-select (bucket and path): the caller has to control them all.
        for (const group of new Set(links.map((l) => `${l.group}\0${l.table}`))) {
          const same = links.filter((l) => `${l.group}\0${l.table}` === group);
          const linking = byName.get(same[0]!.table);
          if (!linking || !isTable(linking)) continue;
          const columns = same.map((l) => l.column);
          // A unique key within the link columns: the row it points at already has its one link (chats.id, storage_path).
          if (uniqueWithin(linking, (c) => columns.includes(c))) continue;
          for (const role of roles) {
            const paths = same.map((l) => writePath(ctx, linking, role, l.column, []));
            if (paths.some((x) => !x)) continue;
            if (role === ctx.anonRole && !writableWithoutUser(ctx, linking, role)) continue;
            const hole = `${listWords(same.map((l) => `${l.table}.${l.column} = ${rel.name}.${l.rowColumn}`))} (${role}: ${[...new Set(paths)].join('; ')})`;
            if (!holes.includes(hole)) holes.push(hole);
            first ??= same;
          }
        }
        if (holes.length === 0 || !first) continue;
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} lets a row through when a linking row points at it, by ${listWords(holes)}: a caller can write that link with any ${listWords(first.map((l) => l.column))} and so pick the ${rel.name} rows that pass`,
          fix: `check the target in ${first[0]!.table}'s INSERT/UPDATE policies: with check (exists (select 1 from ${rel.qualified} t where ${first.map((l) => `t.${l.rowColumn} = ${l.column}`).join(' and ')} and <the caller owns t>))`,
        });
      }
    }
    return out;
  },
};
