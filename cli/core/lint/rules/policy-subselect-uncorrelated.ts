/**
 * `exists (select 1 from members m where m.user_id = (select auth.uid()))` on
 * projects never looks at the project: a member of any organisation sees every
 * project. Reported when the sub-select's table is linked to the policy's table
 * (a foreign key, or a shared `*_id` column) by a column it leaves unused.
 */
import type { CatalogLintContext, CatalogRule, RawFinding } from '../types.js';
import type { Policy, Relation } from '../../catalog/model.js';
import { privilegeClosure } from '../../catalog/model.js';
import type { DetachedCaller } from '../expr.js';
import { columnWins } from '../expr.js';
import { apiRolesOf, bypassesRls, callerQuestion, commandsOf, hasPrivilege, isTable, listWords, policiesFor, policyObject, relationsByName, helpersByName, writableWithoutUser, uniqueKeys } from '../facts.js';
import { writePath } from './policy-trusts-writable-column.js';

/** Who-did-it columns: a link through them is bookkeeping, not membership. */
const BOOKKEEPING = /^(created|updated|modified|deleted|granted|invited|approved|added)_by(_id)?$/i;

interface Link {
  /** Column of the sub-select's table. */
  theirs: string;
  /** Column of the policy's table it should be compared with. */
  ours: string;
}

/** The first column pair linking `other` to `rel`, among `other`'s columns not already tied to the caller. */
export function linkBetween(rel: Relation, other: Relation, bound: readonly string[]): Link | null {
  const free = (c: string) => !bound.includes(c) && !BOOKKEEPING.test(c);
  const single = (fk: Relation['foreignKeys'][number]) => fk.columns.length === 1 && fk.refColumns.length === 1;
  // other.d references rel (project_members.project_id → projects.id).
  for (const fk of other.foreignKeys) {
    if (single(fk) && fk.refTable === rel.qualified && free(fk.columns[0]!)) return { theirs: fk.columns[0]!, ours: fk.refColumns[0]! };
  }
  // rel.c references other (projects.org_id → orgs.id).
  for (const fk of rel.foreignKeys) {
    if (single(fk) && fk.refTable === other.qualified && free(fk.refColumns[0]!) && !BOOKKEEPING.test(fk.columns[0]!)) return { theirs: fk.refColumns[0]!, ours: fk.columns[0]! };
  }
  // Both reference the same key (members.org_id and projects.org_id → orgs.id).
  for (const fk of other.foreignKeys) {
    if (!single(fk) || !free(fk.columns[0]!)) continue;
    const mine = rel.foreignKeys.find((f) => single(f) && f.refTable === fk.refTable && f.refColumns[0] === fk.refColumns[0] && !BOOKKEEPING.test(f.columns[0]!));
    if (mine) return { theirs: fk.columns[0]!, ours: mine.columns[0]! };
  }
  // No foreign keys: the same `*_id` column name and type on both.
  for (const c of other.columns) {
    if (!/_id$/i.test(c.name) || !free(c.name)) continue;
    const mine = rel.columns.find((x) => x.name === c.name && x.type === c.type);
    if (mine) return { theirs: c.name, ours: mine.name };
  }
  // No foreign keys: a `<name>_id` column naming the policy's table, beside its `id` of the same
  // type (members.org_id and orgs.id; organization_id and organizations, category_id and categories).
  const id = rel.columns.find((x) => x.name === 'id');
  if (id) {
    const named = namesOf(rel.name);
    const c = other.columns.find((x) => named.has(x.name.toLowerCase()) && x.type === id.type && free(x.name));
    if (c) return { theirs: c.name, ours: id.name };
  }
  return null;
}

/** The `<singular>_id` names a table's name suggests: orgs → org_id, categories → category_id, boxes → box_id, staff → staff_id. */
function namesOf(table: string): Set<string> {
  const t = table.toLowerCase();
  const singular = new Set([t]);
  if (t.endsWith('ies')) singular.add(`${t.slice(0, -3)}y`);
  if (t.endsWith('es')) singular.add(t.slice(0, -2));
  if (t.endsWith('s')) singular.add(t.slice(0, -1));
  return new Set([...singular].map((x) => `${x}_id`));
}

/** Every link between `rel` and `other` (linkBetween, each further one among the columns the ones before left). */
function linksBetween(rel: Relation, other: Relation, bound: readonly string[]): Link[] {
  const out: Link[] = [];
  const used = [...bound];
  for (let link = linkBetween(rel, other, used); link; link = linkBetween(rel, other, used)) {
    out.push(link);
    used.push(link.theirs);
  }
  return out;
}

/**
 * A look-up of the caller's own single row that decides on an attribute of it — an admin
 * flag, a role: `(select p.is_admin from profiles p where p.auth_user_id = auth.uid())`.
 * Its answer is a property of the caller alone, like a JWT claim, so a link between that
 * row and the policy's row is no missing correlation: it says whose the row is, and tying
 * the two would narrow an admin to their own rows. It must
 * - compare a unique key of the table with the caller (a NULL key matches nothing, so
 *   at most one row: the caller's own), which members' user_id alone is not — a role
 *   there is a role in one organisation;
 * - test or return a column other than that key and the link columns: with none, it only
 *   asks whether the caller has a row at all, which every user with a profile passes;
 * - be linked to the policy's table only through one of the table's own unique keys
 *   (admin_audit_log.admin_id → profiles.id): a link through a column the caller's row
 *   carries (profiles.org_id beside projects.org_id) makes the tested role one of a
 *   tenant, and an admin of one organisation would pass for every other.
 */
export function globalGate(rel: Relation, other: Relation, lookups: readonly { boundBy: string[]; tested: string[] }[]): boolean {
  const keys = uniqueKeys(other);
  const isKey = (c: string) => keys.some((k) => k.length === 1 && k[0] === c);
  return lookups.some((l) => {
    if (!keys.some((k) => k.every((c) => l.boundBy.includes(c)))) return false;
    const links = linksBetween(rel, other, l.boundBy);
    if (links.length === 0 || !links.every((x) => isKey(x.theirs))) return false;
    return l.tested.some((c) => !links.some((x) => x.theirs === c));
  });
}

/**
 * The columns of `t` its SELECT policies tie to the caller for every role in `roles` (an owner
 * equality in every OR branch of every permissive policy, or of a restrictive one): a sub-select in
 * a policy runs under the caller's RLS, so `exists (select 1 from admins)` over admins whose only
 * policy is `using (user_id = auth.uid())` asks about the caller's own row. A role that sees no row
 * of it (no permissive SELECT policy: the sub-select is empty for it) ties nothing and is skipped;
 * [] when RLS ties nothing for some role, or no role sees a row at all.
 */
function boundByRls(ctx: CatalogLintContext, t: Relation, roles: readonly string[]): string[] {
  const owners = (q: Policy): Set<string> | null => {
    const branches = ctx.analysis(q).using?.ownerBranches ?? [];
    if (branches.length === 0) return null;
    return branches.map((b) => new Set(b.owners)).reduce((x, y) => new Set([...x].filter((c) => y.has(c))));
  };
  const common: { cols: string[] | null } = { cols: null };
  for (const role of roles) {
    if (!isTable(t) || !t.rls || bypassesRls(ctx.model, role) || (!t.forceRls && privilegeClosure(ctx.model, role).has(t.owner))) return [];
    const permissive = policiesFor(ctx.model, t, role, 'SELECT', true).filter((q) => ctx.analysis(q).using !== null && !ctx.analysis(q).using!.neverTrue);
    if (permissive.length === 0) continue;
    const cols = new Set<string>();
    for (const q of policiesFor(ctx.model, t, role, 'SELECT', false)) for (const c of owners(q) ?? []) cols.add(c);
    const each = permissive.map(owners);
    if (each.every((x) => x !== null)) {
      const sets = each as Array<Set<string>>;
      for (const c of sets[0]!) if (sets.every((x) => x.has(c))) cols.add(c);
    }
    common.cols = common.cols === null ? [...cols] : common.cols.filter((c) => cols.has(c));
  }
  // No role sees a row of it (RLS on and no policy, often one that lints before its policies exist): judged as before.
  return common.cols ?? [];
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-subselect-uncorrelated',
  level: 'warn',
  category: 'security',
  description: "permissive policy (or one of its OR branches) whose sub-select never refers to the row, over a table linked to the policy's table (other AND-ed tests of the row alone, like status = 'open', do not tie it) or, asking nothing of the caller either, over tables the caller can write; or that never joins the caller's rows to the row's",
  docs: "A sub-select that does not mention the policy's row gives the same answer for every row: `exists (select 1 from members m where m.user_id = (select auth.uid()))` on projects lets a member of any organisation see every project, and `status = 'open' and exists (…)` every open project: a test of the row that does not involve the caller ties nothing. Reported when the sub-select's table is linked to the policy's table — a foreign key between them, foreign keys to the same key, the same `*_id` column, or a `<name>_id` column naming the policy's table beside its `id` (members.org_id and orgs.id) — by a column the sub-select does not compare with the caller. The sub-select runs under the caller's RLS: a column its table's SELECT policies tie to the caller for every role the policy serves (`exists (select 1 from admins)` over admins whose only policy is `using (user_id = auth.uid())`) counts as compared with the caller (a role that sees no row of it is not asked). A gate that really is global (staff, a feature flag) has no such link and is not reported; nor is one on an attribute of the caller's own single row — a look-up that compares a unique key of its table with the caller and tests or returns another column (`(select p.is_admin from profiles p where p.auth_user_id = auth.uid())`, in the policy or a helper) — when the link goes through one of that table's own unique keys (admin_audit_log.admin_id → profiles.id says whose entry it is). It stays reported when it tests nothing but the key (any user with a profile passes), when the binding is no unique key (members.user_id: a role there is one of any organisation), or when the link is a column the caller's row carries (profiles.org_id beside projects.org_id: the flag of one organisation's profile). A LANGUAGE sql or plpgsql helper called with nothing from the row or the caller (`private.is_admin()` whose body reads profiles where role = 'admin' but never asks whose profile) is read as if its sub-selects stood in the policy (a PL/pgSQL body's queries and expressions, a variable that only ever holds auth.uid() read as auth.uid()). The same goes for a sub-select — in the policy or in a helper it calls, whose arguments then play the row — that reads one table for the caller and another for the row without joining them (`from projects p join members m on m.user_id = auth.uid() where p.id = tasks.project_id`), and for one whose only tie to the caller is auth.users, where every signed-in user has a row. A helper the policy hands a column of the row (`(select private.is_member(org_id))`) whose body never reads that parameter gives the same answer for every row and is reported too, with no link needed: most often a LANGUAGE sql parameter named like a column of the table the body reads (`where m.org_id = org_id`), which Postgres resolves to the column, so every member of any organisation passes (write is_member.org_id or $1, or rename the parameter); a PL/pgSQL parameter counts as read wherever its name appears, unless the function says `#variable_conflict use_column` (or SET plpgsql.variable_conflict = use_column), under which a name that is also a column in scope is the column, as in LANGUAGE sql. The self-comparison `m.org_id = m.org_id` is reported by policy-self-comparison instead. With no link needed either: an EXISTS that refers to neither the row nor the caller (no claim or role, and only functions whose bodies ask nothing, such as storage.foldername), standing beside tests of the row alone, over tables the caller can read and whose columns it reads the caller can write (an INSERT or UPDATE of their own that no check pins): the caller writes a row that satisfies it and passes for every row the rest lets through — most often an unqualified column inside the sub-select that names the sub-select's own table (`(storage.foldername(name))[2]` inside `exists (select 1 from chats …)` is chats.name, not the object's).",
  fix: 'tie the sub-select to the row: ... and m.org_id = projects.org_id',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || !rel.rls) continue;
      for (const p of rel.policies) {
        if (!p.permissive) continue;
        const a = ctx.analysis(p);
        const candidates = [...(a.using?.rowFreeBranches ?? []), ...(a.check?.rowFreeBranches ?? [])].filter((b) => !b.hasSelfComparison);
        const calls = [...(a.using?.calls ?? []), ...(a.check?.calls ?? [])];
        if (candidates.length === 0 && !a.using?.detachedCallers.length && !a.check?.detachedCallers.length && calls.length === 0) continue;
        const roles = apiRolesOf(ctx, p).filter((role) => commandsOf(p).some((c) => hasPrivilege(ctx, rel, role, c)));
        if (roles.length === 0) continue;
        const byName = relationsByName(ctx.model);
        let hit: { table: string; ref: string; link: Link; filtered: boolean; via: string | null } | null = null;
        for (const branch of candidates) {
          // A helper called with nothing from the row or the caller reads its relations for the branch.
          const reads = [
            ...branch.reads.map((r) => ({ ...r, via: null as string | null })),
            ...branch.calls.flatMap((name) => (helpersByName(ctx.model).get(name) ?? []).flatMap((fn) => ctx.functionAnalysis(fn).reads.map((r) => ({ ...r, via: name })))),
          ];
          for (const read of reads) {
            const other = byName.get(read.table);
            // A sub-select runs under the caller's RLS: columns its table's policies tie to the caller are tied here too.
            const rlsBound = other && !read.via ? boundByRls(ctx, other, roles) : [];
            const link = other && linkBetween(rel, other, [...read.boundBy, ...rlsBound]);
            if (link && !globalGate(rel, other, read.lookups)) {
              hit = { table: read.table, ref: read.ref, link, filtered: branch.filtered, via: read.via };
              break;
            }
          }
          if (hit) break;
        }
        const verb = { ALL: 'see and change', SELECT: 'see', INSERT: 'insert', UPDATE: 'update', DELETE: 'delete' }[p.command];
        if (!hit) {
          const ignored = ignoredArgumentFinding(ctx, rel, p, calls, roles, verb);
          if (ignored) {
            out.push(ignored);
            continue;
          }
          const detached = detachedFinding(ctx, rel, p, byName, roles, verb);
          if (detached) {
            out.push(detached);
            continue;
          }
          const flipped = writableGateFinding(ctx, rel, p, roles, verb);
          if (flipped) out.push(flipped);
          continue;
        }
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} ${hit.via ? `calls ${hit.via}(), which reads` : 'reads'} ${hit.table} in a sub-select that never refers to the ${rel.name} row: ${listWords(roles)} callers who pass it can ${verb} every row${hit.filtered ? ' the rest of the condition lets through' : ''}, not only those their ${hit.table} rows point at through ${hit.link.theirs}`,
          fix: hit.via
            ? `pass ${hit.via}() the row's ${hit.link.ours} and compare ${hit.ref}.${hit.link.theirs} with it, or tie its sub-select to the caller`
            : `tie the sub-select to the row: … and ${hit.ref === rel.name ? `<alias>.${hit.link.theirs} = ${rel.name}.${hit.link.ours} (give the sub-select's ${rel.name} an alias)` : `${hit.ref}.${hit.link.theirs} = ${rel.name}.${hit.link.ours}`}`,
        });
      }
    }
    return out;
  },
};

/**
 * A sub-select that refers to neither the row nor the caller, standing as a test of its own
 * beside tests of the row alone (ExprAnalysis.rowFreeGates), over tables whose columns it reads
 * the caller can write (policy-trusts-writable-column's writePath, on every such column): the
 * caller adds or edits rows of their own until it holds, and from then on it holds for every
 * caller and every row the rest lets through. chatbot-ui's message images: `(storage.foldername
 * (name))[2]` inside `exists (select 1 from chats …)` names chats.name, not the object's name,
 * and any user names a public chat of theirs `x/<their message id>/y`.
 */
function writableGateFinding(ctx: Parameters<CatalogRule['check']>[0], rel: Relation, p: Policy, roles: string[], verb: string): RawFinding | null {
  const a = ctx.analysis(p);
  const byName = relationsByName(ctx.model);
  for (const gate of [...(a.using?.rowFreeGates ?? []), ...(a.check?.rowFreeGates ?? [])]) {
    const tables = Object.entries(gate.tables);
    if (tables.length === 0) continue;
    // Every function it calls has a body that asks nothing of the caller, nor do the functions that one calls.
    if (!gate.calls.every((name) => callerQuestion(ctx, name) === 'never')) continue;
    const who = roles.filter((role) => {
      if (bypassesRls(ctx.model, role)) return false;
      return tables.every(([name, columns]) => {
        const t = byName.get(name);
        if (!t || !isTable(t) || columns === null || columns.length === 0) return false;
        if (role === ctx.anonRole && !writableWithoutUser(ctx, t, role)) return false;
        // The sub-select runs as the caller: their rows count only where they can read the table.
        return hasPrivilege(ctx, t, role, 'SELECT') && columns.every((c) => writePath(ctx, t, role, c, []) !== null);
      });
    });
    if (who.length === 0) continue;
    const names = tables.map(([name]) => name);
    return {
      object: policyObject(p),
      objectKind: 'policy',
      message: `policy ${p.name} on ${p.table} reads ${listWords(names)} in a sub-select that refers to neither the ${rel.name} row nor the caller, and ${listWords(who)} can write the columns it reads there: a user who writes rows of their own that satisfy it passes it, and can then ${verb} every row the rest of the condition lets through (so can anyone else who can read those rows)`,
      fix: `tie the sub-select to the row or the caller (inside a sub-select an unqualified column names the sub-select's own tables first: write ${rel.name}.<column> for the row's)`,
    };
  }
  return null;
}


/**
 * A helper the policy hands a column of the row (`private.is_member(org_id)`) whose body never
 * reads that parameter — most often a LANGUAGE sql parameter named like a column of the table
 * the body reads, which Postgres resolves to the column — and that is all that ties the row to
 * the caller in its OR branch: the helper gives the same answer for every row, so whoever
 * passes it once passes it for every row.
 */
function ignoredArgumentFinding(ctx: Parameters<CatalogRule['check']>[0], rel: Relation, p: Policy, calls: readonly string[], roles: string[], verb: string): RawFinding | null {
  if (calls.length === 0) return null;
  const columnsOf = (q: string) => relationsByName(ctx.model).get(q)?.columns.map((c) => c.name) ?? null;
  // A position counts as unread only when every overload of the name leaves it unread.
  const ignored = (name: string): ReadonlySet<number> | null => {
    const fns = helpersByName(ctx.model).get(name) ?? [];
    const sets = fns.map((fn) => ctx.functionAnalysis(fn).unreadParams(columnsOf));
    if (sets.length === 0 || sets.some((x) => x === null)) return null;
    return new Set([...sets[0]!].filter((i) => sets.every((x) => x!.has(i))));
  };
  const a = ctx.analysis(p);
  for (const e of [a.using, a.check]) {
    for (const branch of e?.rowFreeBranchesGiven(ignored) ?? []) {
      for (const call of branch.ignoredArgCalls) {
        // ruleutils qualifies the row's columns inside a sub-select (`(select f(t.org_id))`): name them bare.
        const c = { ...call, columns: call.columns.map((col) => (col.startsWith(`${rel.name}.`) ? col.slice(rel.name.length + 1) : col)) };
        // The body decides on something: it reads a relation (a membership, a role), else it is a constant.
        const fns = helpersByName(ctx.model).get(c.name) ?? [];
        if (!fns.some((fn) => ctx.functionAnalysis(fn).reads.length > 0)) continue;
        const fn = fns[0]!;
        // A LANGUAGE sql parameter named like the column handed to it: the body's bare name is a column.
        // So is a PL/pgSQL one under #variable_conflict use_column.
        const namesColumn = (f: (typeof fns)[number]) => f.language === 'sql' || (f.language === 'plpgsql' && columnWins(f));
        const shadowed = c.columns.filter((col) => fns.some((f) => namesColumn(f) && new RegExp(`(^|[\\s,(])"?${col}"?\\s`).test(f.args)));
        const where = fns.some((f) => f.language === 'sql') ? 'in a LANGUAGE sql body' : 'under #variable_conflict use_column';
        return {
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} hands ${listWords(c.columns)} to ${c.name}(), whose body never reads ${c.columns.length > 1 ? 'those parameters' : 'that parameter'}${shadowed.length ? ` (${where} a bare ${listWords(shadowed)} names the column of the table it reads, not the parameter)` : ''}: it gives the same answer for every ${rel.name} row, so ${listWords(roles)} callers who pass it can ${verb} every row${branch.filtered ? ' the rest of the condition lets through' : ''}`,
          fix: `make ${c.name}() compare the parameter with the row it looks up${shadowed.length ? ` — write it as ${fn.name}.${shadowed[0]} or $n, or rename it (p_${shadowed[0]})` : ''}`,
        };
      }
    }
  }
  return null;
}

/**
 * A sub-select — in the policy, or in a LANGUAGE sql or plpgsql helper it calls — that
 * ties one relation to the caller and another to the row (or to the helper's
 * arguments) but never joins them: `from projects p join members m on m.user_id
 * = auth.uid() where p.id = tasks.project_id`. Reported when the two are linked
 * by a key the sub-select leaves unused, or when the caller's side is auth.users
 * (every signed-in user has a row there).
 */
function detachedFinding(
  ctx: Parameters<CatalogRule['check']>[0],
  rel: Relation,
  p: Policy,
  byName: ReadonlyMap<string, Relation>,
  roles: string[],
  verb: string,
): RawFinding | null {
  // The caller's side is found by a claim, which a request without a user does not carry.
  const signedIn = roles.filter((r) => r !== ctx.anonRole);
  if (signedIn.length === 0) return null;
  const a = ctx.analysis(p);
  const found: Array<{ d: DetachedCaller; via: string | null }> = [...(a.using?.detachedCallers ?? []), ...(a.check?.detachedCallers ?? [])].map((d) => ({ d, via: null }));
  for (const name of new Set([...(a.using?.calls ?? []), ...(a.check?.calls ?? [])])) {
    for (const fn of helpersByName(ctx.model).get(name) ?? []) found.push(...ctx.functionAnalysis(fn).detached.map((d) => ({ d, via: `${name}()` })));
  }
  for (const { d, via } of found) {
    for (const c of d.caller) {
      for (const r of d.row) {
        const where = `${via ? `${via}, which ${p.name} calls, ` : `policy ${p.name} on ${p.table} `}`;
        if (c.table === 'auth.users') {
          return {
            object: policyObject(p),
            objectKind: 'policy',
            message: `${where}ties only auth.users to the caller, and auth.users has a row for every signed-in user: it never asks whether the caller belongs to the ${r.table} row it looks at, so ${listWords(signedIn)} callers can ${verb} every ${rel.name} row`,
            fix: `look the caller up where membership is kept (… and exists (select 1 from <members> m where m.<key> = ${r.ref}.<key> and m.user_id = (select auth.uid()))), not in auth.users`,
          };
        }
        const caller = byName.get(c.table);
        const row = byName.get(r.table);
        const link = caller && row && linkBetween(row, caller, c.boundBy);
        if (!link) continue;
        return {
          object: policyObject(p),
          objectKind: 'policy',
          message: `${where}reads ${c.table} for the caller and ${r.table} for the row but never joins them: ${listWords(signedIn)} callers with any ${c.table} row can ${verb} every ${rel.name} row, not only those their ${c.table} rows point at through ${link.theirs}`,
          fix: `join them: … and ${c.ref}.${link.theirs} = ${r.ref}.${link.ours}`,
        };
      }
    }
  }
  return null;
}
