/** A write policy whose check does not tie the row's owner/tenant to the caller lets users write rows as someone else. */
import type { CatalogRule, RawFinding } from '../types.js';
import type { Policy, Relation } from '../../catalog/model.js';
import { quoteIdent } from '../../db.js';
import { qualifiedName } from '../../policy/render.js';
import type { CatalogLintContext } from '../types.js';
import type { ExprAnalysis } from '../expr.js';
import { apiRolesOf, callerHelpers, canWriteColumn, columnsSetToCaller, hasPrivilege, helperRoleGate, isTable, listWords, policiesFor, policyObject, type Command, sqlColumns, uniqueKeys } from '../facts.js';

const OWNER_COLUMN = /^(user|owner|author|creator|profile|member|account|tenant|org|organization|organisation|team|workspace|company|customer)_(id|uuid)$|^(created|owned)_by$|_(user|owner)_id$/i;

/** Columns that say whose row it is: a foreign key to auth.users, or an owner/tenant-looking name. */
export function ownerColumns(rel: Relation): string[] {
  const cols = new Set<string>();
  for (const fk of rel.foreignKeys) if (fk.refTable === 'auth.users') fk.columns.forEach((c) => cols.add(c));
  for (const c of rel.columns) if (OWNER_COLUMN.test(c.name)) cols.add(c.name);
  return [...cols];
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-check-unbound',
  level: 'warn',
  category: 'security',
  description: "INSERT/UPDATE/ALL policy whose effective WITH CHECK (USING when absent) does not bind the row's owner or tenant to the caller",
  docs: "WITH CHECK decides which rows a caller may write. If it never compares the row's owner or tenant column with the caller (auth.uid(), a claim, a membership sub-select or a helper taking the column), a user can insert or move rows into someone else's account. Only tables with an owner/tenant column (a foreign key to auth.users, a name like user_id, owner_id, tenant_id, org_id, or a column some policy of the table compares with auth.uid() or the email claim) are judged; restrictive policies that bind the caller count. A role the policy's role test can never admit (auth.role() = 'service_role', an is_service_role() helper) is not reported: it writes nothing through it; nor is anon when the check is NULL or false without a user (blocker_id = my_profile_id(), an is_admin() that is coalesce((select … where id = auth.uid()), false)). A check that ties the owner (user_id = auth.uid()) but not the tenant column the SELECT policy (or, for UPDATE, the policy's own USING) picks rows by (org_id in (select … members …)) is reported too: the caller writes rows into any tenant, whose members then see them. A column counts as tied only when every OR branch of the check ties it or sets it NULL (a branch that asks only who the caller is, an admin gate, is left out): `role <> 'editor' or org_id in (select …)` leaves org_id free for editors. A branch only the row's own key ties (`can_play(id)`) is left out of an INSERT check, since a new row's key is one no look-up finds yet, but not out of an UPDATE's: the key stays, so the branch holds for the new row whatever else it names (`using (is_gm(campaign_id) or can_play(id))` with no WITH CHECK lets whoever may play the character move it into any campaign). An owner column that an enabled BEFORE … FOR EACH ROW trigger (no WHEN) always sets to auth.uid() (`new.user_id := auth.uid()` at the top of a PL/pgSQL function, or in the INSERT branch of `if tg_op = 'INSERT' then … else … end if`) counts as bound for the operations it does so for, and so do storage.objects' owner and owner_id, which Supabase Storage sets from the caller's JWT (unless the storage schema is exposed through PostgREST). With the owner bound that way, the row can still land in another user's view: a check that leaves free a column the SELECT policy picks rows by (an upload policy with only `bucket_id = 'docs'` beside reads by `(storage.foldername(name))[1] = auth.uid()::text` lets a user put a file in another user's folder) is reported as for a check that binds the owner.",
  fix: 'with check ((select auth.uid()) = user_id)',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      let owners: string[] | undefined; // read only when a policy does not bind the caller (the regexes cost on every column)
      for (const p of rel.policies) {
        if (!p.permissive || (p.command !== 'INSERT' && p.command !== 'UPDATE' && p.command !== 'ALL')) continue;
        const a = ctx.analysis(p);
        const effective = p.check !== null ? a.check : a.using;
        // A test of the session alone (`auth.jwt() ->> 'aal'`) is policy-session-check-permissive's finding.
        if (!effective || effective.sessionClaims) continue;
        if (effective.bindsCaller) {
          const gap = tenantGap(ctx, rel, p);
          if (gap) out.push(gap);
          continue;
        }
        owners ??= ownerColumnsOf(ctx, rel);
        if (owners.length === 0) break; // only tables with an owner or tenant column are judged
        const cmds: Command[] = p.command === 'ALL' ? ['INSERT', 'UPDATE'] : [p.command];
        // A role test (`is_service_role()`) that can never hold for the role lets it write nothing.
        const gate = effective.onlyForRoles(helperRoleGate(ctx));
        // Owner columns a BEFORE trigger sets to auth.uid() whatever the caller sent are bound all the same.
        const free = new Set<string>();
        // A check that is NULL or false without a user (`blocker_id = my_profile_id()`) lets anon write nothing.
        const anonShut = effective.needsUser(callerHelpers(ctx));
        const roles = apiRolesOf(ctx, p).filter((role) => {
          if (gate !== null && !gate.has(role)) return false;
          if (role === ctx.anonRole && anonShut) return false;
          let open = false;
          for (const c of cmds) {
            if (!hasPrivilege(ctx, rel, role, c)) continue;
            // A restrictive policy on the same command that binds the caller closes the gap.
            if (policiesFor(ctx.model, rel, role, c, false).some((r) => {
              const ra = ctx.analysis(r);
              return ((r.check !== null ? ra.check : ra.using)?.bindsCaller ?? false);
            })) continue;
            const setByTrigger = columnsSetToCaller(ctx, rel, c as 'INSERT' | 'UPDATE');
            // A column grant (GRANT UPDATE (note) …) that leaves the owner column out lets the caller set nothing there.
            const left = owners!.filter((o) => !setByTrigger.has(o) && canWriteColumn(ctx, rel, role, c as 'INSERT' | 'UPDATE', o));
            if (left.length === 0) continue;
            left.forEach((o) => free.add(o));
            open = true;
          }
          return open;
        });
        if (roles.length === 0) {
          // The owner is bound all the same (a trigger, Supabase Storage): the row may still land in someone else's view.
          const gap = tenantGap(ctx, rel, p);
          if (gap) out.push(gap);
          continue;
        }
        const freeOwners = owners.filter((o) => free.has(o));
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          // An UPDATE whose USING picks the caller's own rows: the hole is what they may set, not which rows they reach.
          message:
            p.command === 'UPDATE' && p.check !== null && a.using?.bindsCaller
              ? `policy ${p.name} lets ${listWords(roles)} set ${listWords(freeOwners)} of their own rows of ${rel.qualified} to anyone: its WITH CHECK never compares ${freeOwners.length === 1 ? 'it' : 'them'} with the caller, so a row can be handed to another user or tenant${selectGuard(ctx, rel, roles, freeOwners)}`
              : `policy ${p.name} lets ${listWords(roles)} write rows of ${rel.qualified} for any ${listWords(freeOwners)}: its ${p.check !== null ? 'WITH CHECK' : 'USING (used as WITH CHECK)'} never compares ${freeOwners.length === 1 ? 'it' : 'them'} with the caller`,
          fix: `with check ((select auth.uid()) = ${sqlColumns([freeOwners[0]!])})`,
        });
      }
    }
    return out;
  },
};

/**
 * A check that ties one column to the caller (`user_id = auth.uid()`) but not
 * the tenant column the table's SELECT policy (or, for UPDATE, the policy's own
 * USING) picks rows by (`org_id in (select m.org_id from members m where
 * m.user_id = auth.uid())`): the caller writes their own rows into any tenant,
 * where that tenant's members see them. Columns compared with the caller's own
 * id or email (`assigned_to = auth.uid()`) are whom a row is for, not whose
 * tenant it is in, and are not asked for.
 */
const NO_KEYS: ReadonlySet<string> = new Set();

function tenantGap(ctx: CatalogLintContext, rel: Relation, p: Policy): RawFinding | null {
  const a = ctx.analysis(p);
  const effective = p.check !== null ? a.check : a.using;
  if (!effective) return null;
  const cmds: Command[] = p.command === 'ALL' ? ['INSERT', 'UPDATE'] : [p.command as Command];
  const gate = effective.onlyForRoles(helperRoleGate(ctx));
  const effectiveOf = (q: Policy) => {
    const qa = ctx.analysis(q);
    return q.check !== null ? qa.check : qa.using;
  };
  // A column that is a key on its own (`orgs.id`): a new value is a new row in no one's scope, and
  // an existing one is taken (the rows that point at it, such as members, follow the key).
  const keys = new Set(uniqueKeys(rel).flatMap((k) => (k.length === 1 ? k : [])));
  const roles: string[] = [];
  let found: { columns: string[]; by: Policy } | null = null;
  const anonShut = effective.needsUser(callerHelpers(ctx));
  for (const role of apiRolesOf(ctx, p)) {
    if (gate !== null && !gate.has(role)) continue;
    if (role === ctx.anonRole && anonShut) continue;
    for (const cmd of cmds) {
      if (!hasPrivilege(ctx, rel, role, cmd)) continue;
      // A way through that only the row's own key ties (`has_character_permissions(id)`) is none for an INSERT: a new
      // row's key is one no look-up finds yet. An UPDATE keeps the key, so the way holds for the new row as it held for the
      // old, whatever else the caller set (tarrasque's permission holders move their character into any campaign).
      const keyOnly = cmd === 'UPDATE' ? NO_KEYS : keys;
      const pinned = new Set([...columnsSetToCaller(ctx, rel, cmd as 'INSERT' | 'UPDATE'), ...policiesFor(ctx.model, rel, role, cmd, false).flatMap((r) => effectiveOf(r)?.pinnedColumns(keyOnly) ?? [])]);
      // Who sees the row: the SELECT policies, and for UPDATE the rows this policy lets the caller pick.
      const pickers = [...policiesFor(ctx.model, rel, role, 'SELECT', true), ...(cmd === 'UPDATE' && p.using !== null ? [p] : [])];
      for (const q of pickers) {
        const using = ctx.analysis(q).using;
        if (!using?.bindsCaller) continue;
        const whom = new Set(using.claimColumns.filter((c) => c.table === null && (c.claim === 'sub' || c.claim === 'email')).map((c) => c.column));
        const missing = freeColumns(effective, using, keyOnly).filter((c) => !whom.has(c) && !pinned.has(c) && !keys.has(c) && canWriteColumn(ctx, rel, role, cmd as 'INSERT' | 'UPDATE', c));
        if (missing.length === 0) continue;
        found ??= { columns: missing, by: q };
        if (!roles.includes(role)) roles.push(role);
      }
    }
  }
  if (!found) return null;
  const tied = effective.pinnedColumns(keys).filter((c) => !found!.columns.includes(c));
  const cols = listWords(found.columns);
  const byWords = found.by === p ? 'its own USING uses to pick the rows a caller may update' : `policy ${found.by.name} uses to pick the rows a caller sees`;
  const checkText = p.check ?? p.using!;
  return {
    object: policyObject(p),
    objectKind: 'policy',
    message: `policy ${p.name} lets ${listWords(roles)} write rows of ${rel.qualified} into any ${cols}: its ${p.check !== null ? 'WITH CHECK' : 'USING (used as WITH CHECK)'} ${tied.length ? `ties ${listWords(tied)} to the caller but not ${cols}` : `never ties ${cols} to the caller`}, which ${byWords}${p.command === 'UPDATE' ? selectGuard(ctx, rel, roles, found.columns) : ''}`,
    // pg_get_expr breaks sub-selects over lines; a fix reads better on one.
    fix: `alter policy ${quoteIdent(p.name)} on ${qualifiedName(rel.schema, rel.name)} with check ((${oneLine(checkText)}) and (${oneLine(found.by.using!)}))`,
  };
}

/**
 * The columns a way through the check leaves free that a way through the picker (a SELECT policy's
 * USING) ties to the caller, where both ways can hold for one row and the picker's way tests no
 * column the check's way pinned: `role <> 'admin' or org_id in (…)` leaves org_id free for
 * editors, while `scope = 'user' and created_by = auth.uid()` leaves scope_id free only for rows
 * the reads pick by `scope = 'project' and … scope_id …` on no way.
 * Too many ways to list: the columns some comparison of the picker ties, less those some
 * comparison of the check ties (as before ways were read).
 */
function freeColumns(check: ExprAnalysis, picker: ExprAnalysis, keys: ReadonlySet<string>): string[] {
  const checkWays = check.ways(keys);
  const pickerWays = picker.ways(keys);
  if (checkWays === null || pickerWays === null) return picker.callerColumns.filter((c) => !check.callerColumns.includes(c));
  const free = new Set<string>();
  for (const w of checkWays) {
    for (const v of pickerWays) {
      if ([...w.equals].some(([c, k]) => v.equals.has(c) && v.equals.get(c) !== k)) continue;
      // A reader through v must also pass its test of a column the writer pinned to themselves
      // (`… and layer_id in my layers` beside a check that ties layer_id): no one new reads the row.
      if ([...v.pinned].some((c) => w.pinned.has(c))) continue;
      for (const c of v.pinned) free.add(c);
    }
  }
  return picker.callerColumns.filter((c) => free.has(c));
}

function oneLine(expr: string): string {
  return expr.replace(/\n\s*/g, ' ');
}

/**
 * ownerColumns, and the columns the table's own policies compare with the
 * caller's id or email (`(select auth.uid())::text = owner_text`): whatever
 * their name, the policies say whose row it is.
 */
export function ownerColumnsOf(ctx: CatalogLintContext, rel: Relation): string[] {
  const cols = new Set(ownerColumns(rel));
  for (const q of rel.policies) {
    const qa = ctx.analysis(q);
    for (const e of [qa.using, qa.check]) for (const c of e?.claimColumns ?? []) if (c.table === null && (c.claim === 'sub' || c.claim === 'email')) cols.add(c.column);
  }
  return [...cols];
}

/**
 * An UPDATE that reads a column (a WHERE, a RETURNING) also checks the new row
 * against the SELECT policies (rowsecurity.c adds them as WITH CHECK options
 * when the command needs SELECT). When every SELECT policy for the roles ties
 * the free columns to the caller on every way through it, only an UPDATE that reads no column — a
 * PostgREST PATCH without filters — gets a row past them: say so.
 */
function selectGuard(ctx: CatalogLintContext, rel: Relation, roles: readonly string[], columns: readonly string[]): string {
  const keys = new Set(uniqueKeys(rel).flatMap((k) => (k.length === 1 ? k : [])));
  // The SELECT policy ties the free columns somewhere; but a way through it that does not pin them
  // (`email = the caller's`, which the moved row keeps; `is_public`) may let the moved row by, and
  // then the hint is not given.
  const guards = (q: Policy): boolean => {
    const using = ctx.analysis(q).using;
    if (!using) return false;
    if (!columns.every((c) => using.callerColumns.includes(c))) return false;
    const ways = using.ways(keys);
    return ways === null || ways.every((v) => columns.every((c) => v.pinned.has(c)));
  };
  const guarded: string[] = [];
  for (const role of roles) {
    const sel = policiesFor(ctx.model, rel, role, 'SELECT', true);
    if (sel.length === 0 || !sel.every(guards)) return '';
    for (const q of sel) if (!guarded.includes(q.name)) guarded.push(q.name);
  }
  return guarded.length ? ` (an UPDATE that filters or returns rows must also pass SELECT policy ${listWords(guarded)}; one that reads no column, such as a PATCH without filters, does not)` : '';
}
