/**
 * `for delete using (status = 'draft')` beside `for select using (user_id =
 * auth.uid())` reads as "users delete their own drafts": the SELECT policy
 * seems to limit the delete. It does only when the DELETE reads a column (a
 * WHERE, RETURNING of a column): Postgres adds SELECT policies to UPDATE and
 * DELETE only then. PostgREST's PATCH or DELETE without a filter reads none
 * (with no ?select its query builder writes `RETURNING 1`), so the write
 * policy's USING alone decides, and every user's drafts go. (Supabase Storage,
 * which always names the object it writes, is the exception: see storageOnly.)
 */
import type { Policy, Relation } from '../../catalog/model.js';
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import { apiRolesOf, bypassesRls, commandsOf, hasPrivilege, hasTablePrivilege, isExposed, isTable, listWords, policiesFor, policyObject, servedByStorage, sqlColumns } from '../facts.js';
import { ownerColumnsOf } from './policy-check-unbound.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'write-policy-unbound',
  level: 'error',
  category: 'security',
  description: "permissive UPDATE/DELETE policy that only filters rows (status = 'open', bucket_id = 'avatars') on a table whose SELECT policies tie rows to their owner, or that has such a filter as an OR branch beside an owner test, or that is anon's: a write reaches other users' rows",
  docs: "Postgres applies a table's SELECT policies to an UPDATE or DELETE only when the command reads the row's columns (a WHERE clause, RETURNING of a column, SET from a column). PostgREST's PATCH or DELETE without a filter reads none (unless pg-safeupdate refuses it), so it is judged by the UPDATE or DELETE policy alone: with USING (status = 'open') every signed-in user updates every user's open rows — and with a WITH CHECK that sets user_id to the caller, takes them over. Reported when every permissive SELECT policy of the role ties rows to the caller, in each OR branch or behind a test of the caller alone such as an admin claim (its users cannot read each other's rows) and the write policy's USING never asks who the caller is (no claim, setting, role or helper call); a restrictive policy that narrows the same command suppresses it. USING (true) is policy-always-true's finding. A USING that asks who the caller is in one OR branch and not in another, which tests the row (`created_by = auth.uid() or team_code is not null`, typically a FOR ALL policy whose second branch was meant for reads), is reported whatever the SELECT policies: that branch passes for every user, so each deletes, and updates, the rows it picks — for UPDATE only when the new row can pass such a branch too (no WITH CHECK, or one with a branch that does not ask either); a check that binds the new row to the caller (`assignee = auth.uid()` beside `using (assignee is null or …)`, taking an unassigned ticket) is a hand-over and is not reported, and a restrictive policy on the same command suppresses it here too. storage.objects served by Supabase Storage alone (storage in no API schema) is judged by Storage's writes, which always name the object (`where bucket_id = … and name = …` with RETURNING), so the SELECT policies apply: a write policy that never asks who the caller is beside SELECT policies that tie reads to the owner reaches no one else's file and is not reported, and a caller-free OR branch is reported only when the role also reads other users' files. Where the reads are shared instead (every signed-in user sees every file of the bucket), a remove or move policy that admits every file of a bucket (`bucket_id = 'docs' and auth.role() = 'authenticated'`) is reported when another policy keeps that bucket's files to their uploader (an upload check `(storage.foldername(name))[1] = auth.uid()::text` or `owner_id = auth.uid()::text` beside `bucket_id = 'docs'`): the files belong to users, and any user removes or renames another's; a team bucket no policy ties to a user is written by every member on purpose and is not reported. A write policy for anon that never asks who the caller is (`for delete to anon using (bucket_id = 'uploads')`) is reported whatever the SELECT policies: anon is every visitor, so the rows it picks are open to the internet — through Storage alone only when anon also reads those files through a SELECT policy that does not ask either (Storage's writes need the row), and UPDATE only with the table-wide privilege (an UPDATE granted on a counter column alone is not).",
  fix: "add the owner test to the write policy's USING, e.g. using (bucket_id = 'avatars' and owner = (select auth.uid()))",
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      // Supabase Storage updates and deletes objects by bucket_id and name, RETURNING them: the SELECT
      // policies apply to its every write, and where they keep a caller to their own files so do its writes.
      const storageOnly = servedByStorage(rel) && !isExposed(ctx, rel);
      for (const p of rel.policies) {
        if (!p.permissive || p.using === null || !commandsOf(p).some((c) => c === 'UPDATE' || c === 'DELETE')) continue;
        const using = ctx.analysis(p).using;
        // USING (false): Postgres updates and deletes no row through it, for any caller.
        if (!using || using.neverTrue) continue;
        const owned = ownedBucketWrite(ctx, rel, p, storageOnly);
        if (owned) {
          out.push(owned);
          continue;
        }
        if (using.asksCaller) {
          const open = callerFreeBranch(ctx, rel, p, storageOnly);
          if (open) out.push(open);
          continue;
        }
        const anon = anonWrite(ctx, rel, p, storageOnly);
        if (anon) {
          out.push(anon);
          continue;
        }
        if (storageOnly) continue;
        const hits: Array<{ role: string; cmds: string[]; reads: readonly Policy[] }> = [];
        for (const role of apiRolesOf(ctx, p)) {
          if (bypassesRls(ctx.model, role) || using.alwaysTrueFor(role)) continue;
          const reads = ownRowsOnly(ctx, rel, role);
          if (reads.length === 0) continue;
          const cmds = commandsOf(p).filter((c) => (c === 'UPDATE' || c === 'DELETE') && hasPrivilege(ctx, rel, role, c) && !narrowed(ctx, rel, p, role, c));
          if (cmds.length) hits.push({ role, cmds, reads });
        }
        if (hits.length === 0) continue;
        const owner = ownerColumnsOf(ctx, rel)[0] ?? hits[0]!.reads.flatMap((q) => ctx.analysis(q).using?.callerColumns ?? [])[0] ?? 'user_id';
        const reads = [...new Set(hits.flatMap((h) => h.reads.map((q) => q.name)))].sort();
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${rel.qualified} lets ${listWords(hits.map((h) => `${h.role} ${listWords(h.cmds.map((c) => c.toLowerCase()))}`))} other users' rows: its USING (${p.using}) never ties the row to the caller, and an ${listWords([...new Set(hits.flatMap((h) => h.cmds))])} that reads no column (PostgREST's PATCH or DELETE without a filter) is not limited by the SELECT polic${reads.length === 1 ? 'y' : 'ies'} ${listWords(reads)}, which tie${reads.length === 1 ? 's' : ''} reads to their owner`,
          fix: `add the owner test: using ((${p.using}) and ${sqlColumns([owner])} = (select auth.uid()))`,
        });
      }
    }
    return out;
  },
};

/**
 * A write policy whose USING asks who the caller is in some OR branch and not in another
 * (`created_by = auth.uid() or team_code is not null`, often a FOR ALL policy whose second
 * branch was meant for reads): that branch lets every caller update and delete the rows it
 * picks, whatever the SELECT policies say (they let a filtered write through when they admit
 * those rows too, and an unfiltered one reads no column). An UPDATE counts only when the new
 * row can pass a branch that does not ask either (the USING again, with no WITH CHECK): a
 * check that binds the new row to the caller (`assignee = auth.uid()` beside `assignee is
 * null`, taking an unassigned ticket) is a deliberate hand-over.
 */
function callerFreeBranch(ctx: CatalogLintContext, rel: Relation, p: Policy, storageOnly: boolean): RawFinding | null {
  const a = ctx.analysis(p);
  const using = a.using!;
  if (using.callerFreeBranches.length === 0) return null;
  const check = a.check ?? using;
  const checkOpen = !check.asksCaller || check.callerFreeBranches.length > 0;
  const hits: Array<{ role: string; cmds: string[] }> = [];
  for (const role of apiRolesOf(ctx, p)) {
    if (bypassesRls(ctx.model, role) || using.alwaysTrueFor(role)) continue;
    // Through Storage alone a write reaches only rows the SELECT policies show: none of another user's when they tie every read to the caller.
    if (storageOnly && ownRowsOnly(ctx, rel, role).length > 0) continue;
    const cmds = commandsOf(p).filter((c) => (c === 'DELETE' || (c === 'UPDATE' && checkOpen)) && hasPrivilege(ctx, rel, role, c) && !narrowed(ctx, rel, p, role, c));
    if (cmds.length) hits.push({ role, cmds });
  }
  if (hits.length === 0) return null;
  const columns = [...new Set(using.callerFreeBranches.flatMap((b) => b.columns))];
  const owner = using.callerColumns[0] ?? ownerColumnsOf(ctx, rel)[0] ?? 'user_id';
  return {
    object: policyObject(p),
    objectKind: 'policy',
    message: `policy ${p.name} on ${rel.qualified} lets ${listWords(hits.map((h) => `${h.role} ${listWords(h.cmds.map((c) => c.toLowerCase()))}`))} every row its OR branch on ${listWords(columns)} admits: that branch never asks who the caller is, so it passes for every user beside the branches that do`,
    fix: `keep the write to the caller: move that branch to a FOR SELECT policy, or AND it with the owner test (… and ${sqlColumns([owner])} = (select auth.uid()))`,
  };
}

/**
 * An UPDATE or DELETE policy for anon that never asks who the caller is: anon is every visitor
 * with the project's public key, so the rows its USING picks (bucket_id = 'uploads', status =
 * 'draft') are open to the whole internet — there is no caller whose rows it could mean. Through
 * PostgREST an unfiltered PATCH or DELETE reads no column, so the write policy alone decides;
 * through Supabase Storage alone (its writes name the object and return it) only the files anon
 * also reads through a SELECT policy that does not ask either. USING (true) is policy-always-true's;
 * UPDATE counts only with the table-wide privilege (GRANT UPDATE (views) is a counter anon bumps).
 */
function anonWrite(ctx: CatalogLintContext, rel: Relation, p: Policy, storageOnly: boolean): RawFinding | null {
  const role = ctx.anonRole;
  const using = ctx.analysis(p).using!;
  if (!apiRolesOf(ctx, p).includes(role) || bypassesRls(ctx.model, role) || using.alwaysTrueFor(role)) return null;
  if (storageOnly && !policiesFor(ctx.model, rel, role, 'SELECT', true).some((q) => ctx.analysis(q).using?.asksCaller === false)) return null;
  const cmds = commandsOf(p).filter((c) => (c === 'DELETE' || (c === 'UPDATE' && hasTablePrivilege(ctx, rel, role, c))) && hasPrivilege(ctx, rel, role, c) && !narrowed(ctx, rel, p, role, c));
  if (cmds.length === 0) return null;
  return {
    object: policyObject(p),
    objectKind: 'policy',
    message: `policy ${p.name} on ${rel.qualified} lets ${role} ${listWords(cmds.map((c) => c.toLowerCase()))} every row its USING (${p.using}) admits: ${role} is every visitor without signing in, and the policy never asks who the caller is${storageOnly ? ` (Storage ${listWords(cmds.map((c) => (c === 'DELETE' ? 'removes' : 'moves')))} each file ${role} can read)` : ''}`,
    fix: `write the policy for the signed-in owner instead, e.g. to authenticated using ((${p.using}) and ${storageOnly ? 'owner_id = (select auth.uid())::text' : `${sqlColumns([ownerColumnsOf(ctx, rel)[0] ?? 'user_id'])} = (select auth.uid())`})`,
  };
}

const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * A bucket of storage.objects whose files the other policies keep to their uploader (an INSERT
 * check `bucket_id = 'docs' and (storage.foldername(name))[1] = auth.uid()::text`, or `owner_id =
 * auth.uid()::text`), and an UPDATE or DELETE policy that admits every file of that bucket to a
 * role (`bucket_id = 'docs' and auth.role() = 'authenticated'`): beside a SELECT policy that shows
 * the role every file of it (shared reads), Storage's remove (`delete … where bucket_id = … and
 * name in (…) returning *`) and move (`update … set name …`) reach every user's file. A bucket no
 * policy ties to a user (a team bucket written by every member on purpose) is not reported.
 * Buckets are the constants some policy's way through compares bucket_id with.
 */
function ownedBucketWrite(ctx: CatalogLintContext, rel: Relation, p: Policy, storageOnly: boolean): RawFinding | null {
  if (rel.name !== 'objects' || !servedByStorage(rel)) return null;
  const using = ctx.analysis(p).using!;
  if (using.bindsCaller) return null;
  const notNull = new Set(rel.columns.filter((c) => c.notNull).map((c) => c.name));
  const waysOf = (q: Policy) => {
    const a = ctx.analysis(q);
    return [a.using, a.check].flatMap((e) => e?.ways(NO_KEYS) ?? []);
  };
  const buckets = [...new Set(rel.policies.flatMap((q) => waysOf(q).flatMap((w) => (w.equals.has('bucket_id') ? [w.equals.get('bucket_id')!] : []))))].sort();
  const hits: Array<{ bucket: string; owners: string[]; roles: Array<{ role: string; cmds: string[]; reads: string[] }> }> = [];
  for (const bucket of buckets) {
    const values = new Map([['bucket_id', bucket]]);
    // Policies that keep a file of this bucket to the caller in some way through them: the bucket's files belong to users.
    const owners = rel.policies.filter((q) => q !== p && waysOf(q).some((w) => w.equals.get('bucket_id') === bucket && w.pinned.size > 0)).map((q) => q.name);
    if (owners.length === 0) continue;
    const roles: Array<{ role: string; cmds: string[]; reads: string[] }> = [];
    for (const role of apiRolesOf(ctx, p)) {
      // True for every row of the table: policy-always-true's.
      if (bypassesRls(ctx.model, role) || !using.alwaysTrueFor(role, notNull, values) || using.alwaysTrueFor(role, notNull)) continue;
      // Storage's writes return the row, so they reach only files a SELECT policy shows the role; through PostgREST an unfiltered write reads none.
      const admitsBucket = (q: Policy) => ctx.analysis(q).using?.alwaysTrueFor(role, notNull, values) ?? false;
      const reads = policiesFor(ctx.model, rel, role, 'SELECT', true).filter(admitsBucket);
      if (storageOnly && (reads.length === 0 || !policiesFor(ctx.model, rel, role, 'SELECT', false).every(admitsBucket))) continue;
      const cmds = commandsOf(p).filter((c) => (c === 'UPDATE' || c === 'DELETE') && hasPrivilege(ctx, rel, role, c) && !narrowed(ctx, rel, p, role, c));
      if (cmds.length) roles.push({ role, cmds, reads: reads.map((q) => q.name) });
    }
    if (roles.length) hits.push({ bucket, owners, roles });
  }
  if (hits.length === 0) return null;
  const verbs = (cmds: string[]) => listWords(cmds.map((c) => (c === 'DELETE' ? 'remove' : 'move')));
  const parts = hits.map(
    (h) =>
      `${listWords(h.roles.map((r) => `${r.role} ${verbs(r.cmds)}`))} every file of bucket ${h.bucket}, whose files ${listWords(h.owners)} ${h.owners.length === 1 ? 'keeps' : 'keep'} to the user who owns them${storageOnly ? ` (${listWords([...new Set(h.roles.flatMap((r) => r.reads))])} ${h.roles.flatMap((r) => r.reads).length === 1 ? 'shows' : 'show'} the role every file of the bucket, so Storage's remove and move find them)` : ''}`,
  );
  return {
    object: policyObject(p),
    objectKind: 'policy',
    message: `policy ${p.name} on ${rel.qualified} lets ${parts.join('; ')}: its USING (${p.using}) never ties the file to the caller`,
    fix: `add the owner test the upload policy uses, e.g. using ((${p.using}) and owner_id = (select auth.uid())::text)`,
  };
}

/** The role's permissive SELECT policies on the table when each lets a caller read only its own rows (or all, past an admin gate); else none. */
function ownRowsOnly(ctx: CatalogLintContext, rel: Relation, role: string): readonly Policy[] {
  const selects = policiesFor(ctx.model, rel, role, 'SELECT', true);
  const own = (q: Policy) => {
    const using = ctx.analysis(q).using;
    return using !== null && using.ownRowsOnly && !using.alwaysTrueFor(role);
  };
  return selects.length > 0 && selects.every(own) ? selects : [];
}

/** A restrictive policy for the same role and command narrows the write (which rows, or which callers). */
function narrowed(ctx: CatalogLintContext, rel: Relation, p: Policy, role: string, cmd: 'UPDATE' | 'DELETE'): boolean {
  return policiesFor(ctx.model, rel, role, cmd, false).some((r) => r !== p);
}
