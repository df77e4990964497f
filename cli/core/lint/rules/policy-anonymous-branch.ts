/** `auth.uid() IS NULL OR …` is true for every anonymous request, and so is a `NOT EXISTS` over rows anon cannot see. */
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import type { Policy, Relation } from '../../catalog/model.js';
import { policyAppliesTo, privilegeClosure } from '../../catalog/model.js';
import { bypassesRls, callerHelpers, commandsOf, hasPrivilege, helperRoleGate, holdsSubselect, isTable, listWords, policiesFor, policyObject, privilegeFor, relationsByName } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-anonymous-branch',
  level: 'error',
  category: 'security',
  description: 'policy whose top level is an OR with an `auth.uid() IS NULL`-style branch, a fallback for a request without a user (`user_id = coalesce(auth.uid(), user_id)`), a `NOT EXISTS` over a table anon sees no row of, which opens the table to anonymous requests, a NULL-safe owner test (`user_id is not distinct from auth.uid()`) on a column that may hold NULL, or a `current_setting(\'request.jwt.claim.sub\', true) IS NULL` branch, which PostgREST 10 and later make true for every request',
  docs: 'Anonymous requests carry no sub (GoTrue helpers return NULL), so a top-level `auth.uid() IS NULL OR …` branch is true for every row when the policy applies to anon (or PUBLIC). Often meant as "allow the backend", but the service role bypasses RLS anyway. A COALESCE that falls back from the user\'s id or email to the row\'s own column (`user_id = coalesce(auth.uid(), user_id)`, or IS NOT DISTINCT FROM) or to true (`coalesce(auth.uid() = user_id, true)`) is the same test written another way: without a user it compares the column with itself. So is `(user_id = auth.uid()) IS NOT FALSE` (or IS NOT TRUE, IS UNKNOWN): the comparison is NULL without a user, which those tests turn into true (IS TRUE does not). PostgREST 10 and later set only `request.jwt.claims`, never the per-claim settings (`request.jwt.claim.sub`) older versions set: a top-level `current_setting(\'request.jwt.claim.sub\', true) IS NULL` branch (or a nullif of it) is then true for every request, and is reported for every API role the policy applies to and that holds a privilege it guards, `to authenticated` included (an owner test on such a setting alone, `user_id::text = current_setting(\'request.jwt.claim.sub\', true)`, matches nothing: a bug, not a hole). A branch that matches NULL with NULL, `user_id IS NOT DISTINCT FROM auth.uid()` or `coalesce(user_id, K) = coalesce(auth.uid(), K)` with the same K, passes anon on every row whose user_id is NULL (an author deleted under `on delete set null`, a row written without one) and, in a WITH CHECK, lets anon write such rows: reported when the column may hold NULL (not NOT NULL, nor of a domain that refuses NULL, nor under a CHECK (user_id IS NOT NULL)) and anon holds a privilege the policy guards; `user_id is null or user_id = auth.uid()` says it on purpose and is left alone. A LANGUAGE sql helper called as a whole branch (`mine(user_id)`) whose one expression is such a branch (`select coalesce(u = auth.uid(), true)`) counts as the branch itself. A sub-select in a policy runs under the caller\'s own RLS: a top-level `NOT EXISTS (select 1 from members m where m.org_id = t.org_id)` branch (the first member of an organisation adds themselves) is true for anon for every row when anon may read members but none of its SELECT policies lets a request without a user see a row, so anon passes it for every organisation, members or not (reported on INSERT, UPDATE, DELETE and ALL policies when anon holds a privilege one of those commands needs — a read filter over rows anon may read anyway is left alone; not when the sub-select reads the policy\'s own table and a SELECT policy of it holds a sub-select, such as `(select auth.uid())`: Postgres then refuses the request as infinite recursion, 42P17).',
  fix: 'drop the IS NULL branch (the service role has BYPASSRLS and needs no policy); a NOT EXISTS that must see every row belongs in a SECURITY DEFINER helper, and the policy in `to authenticated`',
  check(ctx) {
    const out: RawFinding[] = [];
    const byName = relationsByName(ctx.model);
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        if (!p.permissive) continue;
        const legacy = legacyFinding(ctx, rel, p);
        if (legacy) {
          out.push(legacy);
          continue;
        }
        if (!ctx.apiRoles.includes(ctx.anonRole) || !policyAppliesTo(ctx.model, p, ctx.anonRole)) continue;
        const a = ctx.analysis(p);
        const branch = a.using?.anonymousBranch ?? a.check?.anonymousBranch ?? helperBranch(ctx, a.using?.branchCalls ?? []) ?? helperBranch(ctx, a.check?.branchCalls ?? []);
        if (branch) {
          out.push({
            object: policyObject(p),
            objectKind: 'policy',
            message: `policy ${p.name} (${p.command}) on ${p.table} has a top-level "${branch}" branch: ${ctx.anonRole} passes it for every row${p.command === 'SELECT' ? '' : ', writes included'}`,
          });
          continue;
        }
        const nullOwner = nullOwnerFinding(ctx, rel, p);
        if (nullOwner) {
          out.push(nullOwner);
          continue;
        }
        const absence = absenceFinding(ctx, rel, p, byName);
        if (absence) out.push(absence);
      }
    }
    return out;
  },
};

/**
 * A helper called as a whole top-level OR branch whose one expression is itself such a branch
 * (`public.mine(user_id)` over `select coalesce(u = auth.uid(), true)`): described as the call and
 * what its body says, when every overload of that name says it.
 */
function helperBranch(ctx: CatalogLintContext, calls: readonly string[]): string | null {
  for (const name of calls) {
    const fns = ctx.model.functions.filter((fn) => !fn.fromExtension && `${fn.schema}.${fn.name}` === name);
    const said = fns.map((fn) => (ctx.readableBody(fn)?.single ? ctx.functionAnalysis(fn).anonymousBranch : null));
    if (said.length > 0 && said.every((x) => x !== null)) return `${name}(…), whose body is ${said[0]}`;
  }
  return null;
}

/**
 * `current_setting('request.jwt.claim.sub', true) IS NULL OR …`: PostgREST 10 and later set only
 * request.jwt.claims, so the per-claim setting is NULL for every request and the branch lets every
 * API role the policy applies to through, signed-in users included.
 */
function legacyFinding(ctx: CatalogLintContext, rel: Relation, p: Policy): RawFinding | null {
  const a = ctx.analysis(p);
  const branch = a.using?.legacyClaimBranch ?? a.check?.legacyClaimBranch;
  if (!branch) return null;
  const roles = ctx.apiRoles.filter((r) => policyAppliesTo(ctx.model, p, r) && commandsOf(p).some((c) => hasPrivilege(ctx, rel, r, c)));
  if (roles.length === 0) return null;
  return {
    object: policyObject(p),
    objectKind: 'policy',
    message: `policy ${p.name} (${p.command}) on ${p.table} has a top-level "${branch}" branch: PostgREST 10 and later set only request.jwt.claims, never the per-claim settings, so ${listWords(roles)} ${roles.length === 1 ? 'passes' : 'pass'} it for every row${p.command === 'SELECT' ? '' : ', writes included'}`,
    fix: "read the claim from request.jwt.claims (auth.uid(), auth.jwt() ->> 'sub') and drop the IS NULL branch (the service role has BYPASSRLS and needs no policy)",
  };
}

/**
 * `user_id IS NOT DISTINCT FROM auth.uid()` (or `coalesce(user_id, K) = coalesce(auth.uid(), K)`) on a
 * column that may hold NULL: without a user the id is NULL, so anon passes it on the rows with no
 * owner — rows whose author was deleted (`on delete set null`), or that anon itself writes with none.
 * A column declared NOT NULL, of a NOT NULL domain or under CHECK (col IS NOT NULL) holds no such row. `user_id is null or …`
 * says it on purpose and is left alone.
 */
function nullOwnerFinding(ctx: CatalogLintContext, rel: Relation, p: Policy): RawFinding | null {
  const a = ctx.analysis(p);
  for (const [side, e, commands] of [
    ['USING', a.using, commandsOf(p).filter((c) => c !== 'INSERT')],
    ['WITH CHECK', a.check, commandsOf(p).filter((c) => c === 'INSERT' || c === 'UPDATE')],
  ] as const) {
    if (!e || !commands.some((c) => hasPrivilege(ctx, rel, ctx.anonRole, c))) continue;
    const br = e.nullOwnerBranches.find((x) => {
      const col = rel.columns.find((c) => c.name === x.column);
      return col !== undefined && !col.notNull && !col.refusesNull;
    });
    if (!br) continue;
    const what = side === 'USING' ? `passes it on every row whose ${br.column} is NULL` : `may write rows whose ${br.column} is NULL`;
    return {
      object: policyObject(p),
      objectKind: 'policy',
      message: `policy ${p.name} (${p.command}) on ${p.table} tests "${br.text}" in its ${side}, and ${br.column} may be NULL: without a user that side is NULL, so ${ctx.anonRole} ${what}`,
      fix: `compare with = (NULL matches nothing): ${br.column} = (select auth.uid()); write \`${br.column} is null or …\` if rows without an owner are meant to be public, or make ${br.column} NOT NULL`,
    };
  }
  return null;
}

/**
 * Whether `role` sees no row of `t` in a sub-select: it may read the table (else the query fails),
 * RLS applies to it (on, and the role neither bypasses it nor acts as the owner), and no permissive
 * SELECT policy for it can be passed without a user (it needs one, tests for another role, or has no USING).
 */
function seesNothing(ctx: CatalogLintContext, t: Relation, role: string): boolean {
  if (!isTable(t) || !t.rls || !hasPrivilege(ctx, t, role, 'SELECT')) return false;
  if (bypassesRls(ctx.model, role) || (!t.forceRls && privilegeClosure(ctx.model, role).has(t.owner))) return false;
  return policiesFor(ctx.model, t, role, 'SELECT', true).every((q) => {
    const u = ctx.analysis(q).using;
    if (u === null) return true;
    const gate = u.onlyForRoles(helperRoleGate(ctx));
    return (gate !== null && !gate.has(role)) || u.needsUser(callerHelpers(ctx));
  });
}

/** A top-level `NOT EXISTS` branch over a table anon sees nothing of: true for anon on every row. */
function absenceFinding(ctx: CatalogLintContext, rel: Relation, p: Policy, byName: ReadonlyMap<string, Relation>): RawFinding | null {
  const anon = ctx.anonRole;
  // Writes only: a read filter such as `not exists (select … from blocks b where b.blocked_id = auth.uid() …)`
  // on public rows lets anon read them, as meant. Without the privilege a write needs, anon never reaches the policy.
  if (!commandsOf(p).some((c) => c !== 'SELECT' && hasPrivilege(ctx, rel, anon, privilegeFor(c)))) return null;
  const a = ctx.analysis(p);
  const shut = (e: NonNullable<typeof a.using>) => {
    const gate = e.onlyForRoles(helperRoleGate(ctx));
    return (gate !== null && !gate.has(anon)) || e.needsUser(callerHelpers(ctx));
  };
  for (const [side, e] of [['USING', a.using], ['WITH CHECK', a.check]] as const) {
    if (!e) continue;
    // An UPDATE passes through USING and then WITH CHECK: the other side must let anon through too.
    if (p.command === 'UPDATE') {
      const other = side === 'USING' ? a.check : a.using;
      if (other && shut(other)) continue;
    }
    for (const br of e.absenceBranches) {
      const hidden = br.tables.find((q) => {
        const t = byName.get(q);
        // Reading the policy's own table again: Postgres expands its RLS inside the policy and, when
        // that holds a sub-select, refuses the request (42P17, infinite recursion) instead of passing it.
        if (t === rel && policiesFor(ctx.model, t, anon, 'SELECT').some((q2) => holdsSubselect(ctx, q2))) return false;
        return t !== undefined && seesNothing(ctx, t, anon);
      });
      if (!hidden) continue;
      return {
        object: policyObject(p),
        objectKind: 'policy',
        message: `policy ${p.name} (${p.command}) on ${p.table} has a top-level "${br.text}" branch in its ${side}: the sub-select runs under ${anon}'s RLS and no SELECT policy of ${hidden} lets a request without a user see a row, so ${anon} passes it for every row, writes included`,
        fix: `read ${hidden} in a SECURITY DEFINER helper that sees every row, and give the policy \`to authenticated\``,
      };
    }
  }
  return null;
}
