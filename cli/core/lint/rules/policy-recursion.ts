/**
 * Policies that Postgres refuses to expand: a request fails on every row, whatever
 * the data. When a query reads a table with RLS, the rewriter adds the table's
 * policies for the command and, when any of them holds a sub-select, expands the
 * relations read there in turn — each with its own SELECT policies — keeping the
 * tables being expanded on a stack (rewriteHandler.c, fireRIRrules). Meeting a table
 * that is already on the stack, with policies that again hold a sub-select, is
 * `infinite recursion detected in policy for relation` (42P17). The classic case is a
 * membership table whose policy looks the caller's memberships up in itself.
 */
import type { Policy, Relation } from '../../catalog/model.js';
import { privilegeClosure } from '../../catalog/model.js';
import type { ExprAnalysis } from '../expr.js';
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import { bypassesRls, COMMANDS, type Command, hasPrivilege, helpersByName, holdsSubselect, isTable, listWords, policiesFor, relationsByName } from '../facts.js';
import { isInvokerView } from '../views.js';

/** One step of the expansion: a table's policy reading the next table in a sub-select (through views). */
interface Hop {
  table: string;
  policy: string;
  reads: string;
  views: string[];
}

/** An expansion that comes back to a table on the stack: the hops, and that table's policies holding a sub-select. */
interface Recursion {
  hops: Hop[];
  reentry: string[];
}

/** A table Postgres expands inside a policy: the role its policies are picked for, the policy that read it, the views it was read through. */
interface Reached {
  rel: Relation;
  user: string;
  policy: string;
  views: string[];
}

/**
 * What a command adds to a query of the table, as rowsecurity.c builds it: per group, the
 * permissive policies' expressions and, only when there is one, the restrictive ones' (with
 * no permissive expression the group is a plain `false`). An UPDATE or DELETE through the API
 * reads rows (a filter), which adds the SELECT policies; an INSERT or UPDATE without WITH
 * CHECK checks its USING.
 */
const GROUPS: Record<Command, ReadonlyArray<readonly [Command, 'using' | 'check']>> = {
  SELECT: [['SELECT', 'using']],
  INSERT: [['INSERT', 'check']],
  UPDATE: [['UPDATE', 'using'], ['UPDATE', 'check'], ['SELECT', 'using']],
  DELETE: [['DELETE', 'using'], ['SELECT', 'using']],
};

interface Added {
  p: Policy;
  e: ExprAnalysis;
}

/** Per group of `groups`, the expressions Postgres adds for `user`: the permissive ones, and the restrictive ones only beside one. */
function groupsAdded(ctx: CatalogLintContext, rel: Relation, user: string, groups: ReadonlyArray<readonly [Command, 'using' | 'check']>): Array<{ permissive: Added[]; restrictive: Added[] }> {
  return groups.map(([c, side]) => {
    const of = (permissive: boolean) =>
      policiesFor(ctx.model, rel, user, c, permissive).flatMap((p) => {
        const a = ctx.analysis(p);
        const e = side === 'using' ? a.using : (a.check ?? a.using);
        return e ? [{ p, e }] : [];
      });
    const permissive = of(true);
    return { permissive, restrictive: permissive.length ? of(false) : [] };
  });
}

function expressionsAdded(ctx: CatalogLintContext, rel: Relation, user: string, command: Command): Added[] {
  return groupsAdded(ctx, rel, user, GROUPS[command]).flatMap((g) => [...g.permissive, ...g.restrictive]);
}

/**
 * The helper a command's policies all are, when each permissive expression of every group the command adds
 * is nothing but a call (`is_admin()`, `(select is_member(org_id))`) of a LANGUAGE sql or plpgsql helper
 * that reads `rel` itself as the caller (SECURITY INVOKER; the caller is one RLS applies to), the SELECT
 * policies among them (the helper's own query is a SELECT), and no restrictive policy stands beside them:
 * the policy then runs the helper on each row it checks, and the helper's query checks the rows it meets
 * with the same policy. Null for anything else (an OR-ed owner test, an AND-ed condition, a SECURITY
 * DEFINER helper), which may stop before the helper is called again.
 */
function selfReadingHelpers(ctx: CatalogLintContext, rel: Relation, user: string, command: Command): Array<{ policy: string; helper: string }> | null {
  const out: Array<{ policy: string; helper: string }> = [];
  // The helper's own query is a SELECT: the SELECT policies must call it again, whatever the command.
  const groups = groupsAdded(ctx, rel, user, command === 'INSERT' ? [...GROUPS.INSERT, ...GROUPS.SELECT] : GROUPS[command]);
  for (const { permissive, restrictive } of groups) {
    // No permissive expression: the group is a plain false, and nothing is called.
    if (permissive.length === 0 || restrictive.length > 0) return null;
    for (const { p, e } of permissive) {
      const only = e.gateForm?.length === 1 && e.gateForm[0]!.length === 1 ? e.gateForm[0]![0]! : null;
      if (only === null || only === 'other') return null;
      const overloads = helpersByName(ctx.model).get(only.name) ?? [];
      const readsBack = (fn: (typeof overloads)[number]) => !fn.securityDefiner && ctx.readableBody(fn) !== null && ctx.functionAnalysis(fn).reads.some((r) => r.table === rel.qualified);
      if (overloads.length === 0 || !overloads.every(readsBack)) return null;
      out.push({ policy: p.name, helper: only.name });
    }
  }
  return out;
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-recursion',
  level: 'error',
  category: 'security',
  description: "policies that read each other's tables in sub-selects (or a table's own, in its policy), so Postgres refuses every request with infinite recursion (42P17); or a table's policies that are only a call of an invoker helper reading the table, which recurses until the stack is exhausted (54001)",
  docs:
    'When a query reads a table with RLS, Postgres adds the policies for the command and, if one of them holds a sub-select, expands the tables that sub-select reads with their own SELECT policies, and so on. A table met again while its policies are being expanded, with policies that hold a sub-select (`(select auth.uid())` counts), stops the request: `infinite recursion detected in policy for relation` (42P17). It does not depend on the rows: every such request fails, an empty table included. The usual case is a membership table whose policy looks up the caller\'s memberships in the same table (`org_id in (select org_id from members where user_id = auth.uid())` on members), or two tables whose policies read each other. Which policies count is what Postgres adds: for the command, the permissive ones and, only when there is one, the restrictive ones (an UPDATE or DELETE adds the SELECT policies too, as a PostgREST PATCH or DELETE with a filter does); a policy\'s sub-select in USING or WITH CHECK alike. A view read in a sub-select is expanded too: its tables are read as the view\'s owner (the caller for a security_invoker view), and so are the sub-selects of their policies, unless that owner skips RLS (it owns the table and RLS is not forced, or it is a superuser or BYPASSRLS). Reported per table and API role, for each command the role holds a privilege for. A helper function is not expanded by the rewriter: its query runs when the policy is evaluated, and checks the rows it meets with the table\'s policies again. When every permissive policy the command adds, the SELECT ones included (the helper\'s query is a SELECT), is nothing but a call of a SECURITY INVOKER LANGUAGE sql or plpgsql helper that reads the table (`using ((select is_admin()))` over `select is_admin from profiles where id = auth.uid()`), with no restrictive policy beside them, each row the helper\'s query meets calls it again, until Postgres stops the request with `stack depth limit exceeded` (54001): reported too, for a request that meets a row. Left alone: such a call beside other tests (an AND-ed condition, an owner test OR-ed in another policy), which may settle the row before the helper runs — whether it recurses then depends on the rows, and on the order Postgres evaluates the policies in (it is not their names\' order).',
  fix: 'look the rows up in a SECURITY DEFINER function owned by the table owner (it skips RLS; give it a fixed search_path) and call that in the policy, or drop the sub-select from one of the policies',
  check(ctx) {
    const byName = relationsByName(ctx.model);
    const subject = (rel: Relation, user: string): boolean =>
      isTable(rel) && rel.rls && !bypassesRls(ctx.model, user) && !(privilegeClosure(ctx.model, user).has(rel.owner) && !rel.forceRls);

    /** The tables with RLS a relation read by `user` brings in: itself, or through a view what the view reads. */
    const resolve = (name: string, user: string, views: string[], policy: string, out: Reached[]): void => {
      const r = byName.get(name);
      if (!r || views.includes(r.qualified)) return;
      if (r.kind === 'view') {
        const reader = isInvokerView(r) ? user : r.owner;
        for (const d of r.dependsOn) resolve(d, reader, [...views, r.qualified], policy, out);
      } else if (subject(r, user)) out.push({ rel: r, user, policy, views });
    };

    /**
     * Expands `rel` as read by `user` for `command` with `stack` on the stack. The policies' sub-selects
     * read as `user` too: the caller, or the owner of a view the table was read through. The recursion
     * found, or null.
     * A table expanded without one is kept with the tables its expansion pushes: met again, it
     * recurses only if one of those is on the stack.
     */
    const clean = new Map<string, ReadonlySet<string>>();
    const keyOf = (rel: Relation, user: string, command: Command) => `${rel.qualified}\0${user}\0${command}`;
    const expand = (rel: Relation, user: string, command: Command, stack: readonly Hop[]): Recursion | null => {
      const added = expressionsAdded(ctx, rel, user, command);
      // Postgres asks whether a policy holds a sub-select in USING or WITH CHECK, whichever of them the command adds.
      const withSub = added.filter(({ p }) => holdsSubselect(ctx, p));
      if (withSub.length === 0) return null;
      if (stack.some((h) => h.table === rel.qualified)) return { hops: [...stack], reentry: [...new Set(withSub.map(({ p }) => p.name))] };
      const key = keyOf(rel, user, command);
      const known = clean.get(key);
      if (known && !stack.some((h) => known.has(h.table))) return null;
      const reached: Reached[] = [];
      for (const { p, e } of added) for (const s of e.subselects) for (const t of s.tables) resolve(t, user, [], p.name, reached);
      const pushed = new Set<string>([rel.qualified]);
      for (const r of reached) {
        const hit = expand(r.rel, r.user, 'SELECT', [...stack, { table: rel.qualified, policy: r.policy, reads: r.rel.qualified, views: r.views }]);
        if (hit) return hit;
        for (const t of clean.get(keyOf(r.rel, r.user, 'SELECT')) ?? []) pushed.add(t);
      }
      clean.set(key, pushed);
      return null;
    };

    const out: RawFinding[] = [];
    // A request recurses only through a relation one of the table's policies reads in a sub-select, or a helper it calls.
    const readsRelations = (rel: Relation): boolean =>
      rel.policies.some((p) => {
        const a = ctx.analysis(p);
        return [a.using, a.check].some((e) => e?.subselects.some((s) => s.tables.length > 0) || (e?.calls.length ?? 0) > 0);
      });
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls || !readsRelations(rel)) continue;
      // By how it recurses and the commands it stops: the roles.
      const found = new Map<string, { how: string; commands: Command[]; roles: string[] }>();
      for (const role of ctx.apiRoles) {
        if (!subject(rel, role)) continue;
        const byHow = new Map<string, Command[]>();
        for (const command of COMMANDS) {
          if (!hasPrivilege(ctx, rel, role, command)) continue;
          const recursion = expand(rel, role, command, []);
          const helpers = recursion ? null : selfReadingHelpers(ctx, rel, role, command);
          if (!recursion && !helpers) continue;
          const how = recursion ? describe(recursion) : describeHelpers(rel, helpers!);
          byHow.set(how, [...(byHow.get(how) ?? []), command]);
        }
        for (const [how, commands] of byHow) {
          const key = `${how}\0${commands.join()}`;
          const f = found.get(key) ?? { how, commands, roles: [] };
          f.roles.push(role);
          found.set(key, f);
        }
      }
      for (const f of found.values()) {
        out.push({
          object: rel.qualified,
          objectKind: 'table',
          message: `every ${listWords(f.commands)} on ${rel.qualified} by ${listWords(f.roles)} ${f.how}`,
        });
      }
    }
    return out;
  },
};

/**
 * How the expansion comes back to a table it is expanding: `fails with "infinite recursion detected in
 * policy" (42P17): policy a_read of public.a reads public.b in a sub-select, whose policy b_read reads public.a`.
 */
function describe({ hops, reentry }: Recursion): string {
  const steps = hops.map((h, i) => {
    const via = h.views.length ? ` through view ${h.views.join(' → ')}` : '';
    const reads = h.reads === h.table ? `${h.reads} itself` : h.reads;
    return i === 0 ? `policy ${h.policy} of ${h.table} reads ${reads}${via} in a sub-select` : `whose policy ${h.policy} reads ${reads}${via}`;
  });
  const last = hops[hops.length - 1]!;
  const first = hops.find((h) => h.table === last.reads)!;
  // The table met again recurses through its SELECT policies: say which, unless it is the policy already named.
  const again = reentry.length === 1 && reentry[0] === first.policy ? '' : `, where its SELECT ${reentry.length === 1 ? 'policy' : 'policies'} ${listWords(reentry)} ${reentry.length === 1 ? 'holds a sub-select' : 'hold sub-selects'} too`;
  return `fails with "infinite recursion detected in policy" (42P17): ${steps.join(', ')}${again}`;
}

/** How the helper recurses: `that meets a row fails with "stack depth limit exceeded" (54001): policy admins calls public.is_admin(), which reads …`. */
function describeHelpers(rel: Relation, helpers: ReadonlyArray<{ policy: string; helper: string }>): string {
  const calls = [...new Map(helpers.map((h) => [`${h.policy}\0${h.helper}`, h])).values()].map((h) => `policy ${h.policy} calls ${h.helper}()`);
  return `that meets a row fails with "stack depth limit exceeded" (54001): ${listWords(calls)}, which ${helpers.length > 1 ? 'read' : 'reads'} ${rel.qualified} under its RLS, so each row the helper's query meets (the caller's own, usually) is checked by the policy again, which calls the helper again`;
}
