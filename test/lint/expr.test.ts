/**
 * Policy expressions on the parse tree, written as pg_get_expr prints them with
 * an empty search_path. The cases are the ones text matching gets wrong
 * (splinter's reported false positives and misses).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyseExpression, functionDetachedCallers, functionNeedsUser, functionRoleGate, unreadParameters, type ExprAnalysis } from '../../cli/core/lint/expr.js';
import { triggerCallerColumns } from '../../cli/core/lint/plpgsql.js';
import { loadParser } from '../../cli/core/sql-text.js';

let parse: (sql: string) => unknown;
let parsePlpgsql: (sql: string) => unknown;
beforeAll(async () => {
  ({ parseSync: parse, parsePlPgSQLSync: parsePlpgsql } = await loadParser());
});
const a = (expr: string, table = 'docs'): ExprAnalysis => analyseExpression(expr, table, parse);

describe('per-row claim calls', () => {
  it('a bare call runs per row; a scalar sub-select (even under a cast) runs once', () => {
    expect(a('(user_id = auth.uid())').perRowCalls).toEqual(['auth.uid()']);
    expect(a('((( SELECT auth.uid() AS uid))::text = (user_id)::text)').perRowCalls).toEqual([]);
    expect(a("(( SELECT (auth.jwt() ->> 'org'::text)) = org)").perRowCalls).toEqual([]);
    // Named as written, arguments included, so the rule's fix, (select <call>), is SQL that runs.
    expect(a("(current_setting('app.tenant'::text, true) = tenant)").perRowCalls).toEqual(["current_setting('app.tenant'::text, true)"]);
    expect(a("(current_setting('a)'')b'::text) = tenant)").perRowCalls).toEqual(["current_setting('a)'')b'::text)"]);
    expect(a("(owner = ((auth.jwt() ->> 'sub'::text))::uuid)").perRowCalls).toEqual(['auth.jwt()']);
  });

  it('inside an uncorrelated IN sub-select or a hashable correlated EXISTS it runs once; inside another correlated sub-select per row', () => {
    expect(a('(org_id IN ( SELECT m.org_id FROM public.members m WHERE (m.user_id = auth.uid())))').perRowCalls).toEqual([]);
    // AND-ed `inner = row column` ties only: Postgres also plans it as a hashed `org_id = ANY (…)`.
    expect(a('(EXISTS ( SELECT 1 FROM public.members m WHERE ((m.org_id = docs.org_id) AND (m.user_id = auth.uid()))))').perRowCalls).toEqual([]);
    // A constant LIMIT is dropped from an EXISTS first.
    expect(a('(EXISTS ( SELECT 1 FROM public.members m WHERE ((m.org_id = docs.org_id) AND (m.user_id = auth.uid())) LIMIT 1))').perRowCalls).toEqual([]);
    // Tied to the row under an OR, by a non-equality or in a join condition: a SubPlan per row.
    expect(a('(EXISTS ( SELECT 1 FROM public.members m WHERE ((m.org_id = docs.org_id) OR (m.user_id = auth.uid()))))').perRowCalls).toEqual(['auth.uid()']);
    expect(a('(EXISTS ( SELECT 1 FROM public.members m WHERE ((m.org_id >= docs.org_id) AND (m.user_id = auth.uid()))))').perRowCalls).toEqual(['auth.uid()']);
    expect(a('(EXISTS ( SELECT 1 FROM (public.members m JOIN public.orgs o ON ((o.id = docs.org_id))) WHERE (m.user_id = auth.uid())))').perRowCalls).toEqual(['auth.uid()']);
    expect(a('(EXISTS ( SELECT 1 FROM public.members m WHERE ((m.org_id = docs.org_id) AND (m.user_id = ( SELECT auth.uid() AS uid)))))').perRowCalls).toEqual([]);
  });
});

describe('per-row lookups', () => {
  const lookups = (e: string) => a(e).perRowLookups.map((l) => (l.kind === 'call' ? `call ${l.name}(${l.rowArgs.join(',')})` : `${l.form} on ${l.tables.join(',')} by ${l.rowColumns.join(',')}`));
  it('a helper call outside any sub-select, with the row columns it is given', () => {
    expect(lookups('private.is_member(org_id)')).toEqual(['call private.is_member(org_id)']);
    expect(lookups('(private.is_admin() OR (user_id = ( SELECT auth.uid() AS uid)))')).toEqual(['call private.is_admin()']);
    expect(lookups('( SELECT private.is_admin() AS is_admin)')).toEqual([]);
    expect(lookups('(org_id IN ( SELECT private.user_orgs() AS user_orgs))')).toEqual([]);
  });
  it('a sub-select that refers to the row and cannot be hashed', () => {
    expect(lookups('(( SELECT auth.uid() AS uid) IN ( SELECT m.user_id FROM public.members m WHERE (m.org_id = docs.org_id)))')).toEqual(['IN on public.members by org_id']);
    expect(lookups("(( SELECT m.role FROM public.members m WHERE ((m.org_id = docs.org_id) AND (m.user_id = ( SELECT auth.uid() AS uid)))) = 'admin'::text)")).toEqual(['scalar on public.members by org_id']);
    expect(lookups('(EXISTS ( SELECT 1 FROM public.members m WHERE ((m.org_id = docs.org_id) AND (m.user_id = ( SELECT auth.uid() AS uid)))))')).toEqual([]);
    expect(lookups('(org_id IN ( SELECT m.org_id FROM public.members m WHERE (m.user_id = ( SELECT auth.uid() AS uid))))')).toEqual([]);
  });
});

describe('user_metadata', () => {
  it('fires on user_metadata keys, paths and raw_user_meta_data; not on app_metadata', () => {
    expect(a("(((auth.jwt() -> 'user_metadata'::text) ->> 'role'::text) = 'admin'::text)").readsUserMetadata).toBe(true);
    expect(a("((auth.jwt() #>> '{user_metadata,role}'::text[]) = 'admin'::text)").readsUserMetadata).toBe(true);
    expect(a("jsonb_path_exists(auth.jwt(), '$.user_metadata.admin'::jsonpath)").readsUserMetadata).toBe(true);
    expect(a("((( SELECT users.email FROM auth.users WHERE (users.id = ( SELECT auth.uid() AS uid))))::text ~~* '%@corp.com'::text)").emailPatterns).toHaveLength(1);
    expect(a("(EXISTS ( SELECT 1 FROM auth.users u WHERE ((u.raw_user_meta_data ->> 'admin'::text) = 'true'::text)))").readsUserMetadata).toBe(true);
    expect(a("(((auth.jwt() -> 'app_metadata'::text) ->> 'role'::text) = 'admin'::text)").readsUserMetadata).toBe(false);
    expect(a("(note = 'see user_metadata docs'::text)").readsUserMetadata).toBe(false);
  });
});

describe('email patterns', () => {
  it("fires on LIKE/ILIKE/regex/right()/ends_with over the caller's email", () => {
    expect(a("((auth.jwt() ->> 'email'::text) ~~ '%@helpers'::text)").emailPatterns).toHaveLength(1);
    expect(a("(auth.email() ~~* '%@corp.com'::text)").emailPatterns).toHaveLength(1);
    expect(a("(( SELECT auth.email() AS email) ~ '@corp\\.com$'::text)").emailPatterns).toHaveLength(1);
    expect(a("(\"right\"(auth.email(), 9) = '@corp.com'::text)").emailPatterns).toHaveLength(1);
    expect(a("ends_with((current_setting('request.jwt.claims'::text, true))::jsonb ->> 'email'::text, '@x'::text)").emailPatterns).toHaveLength(1);
    expect(a("(EXISTS ( SELECT 1 FROM auth.users u WHERE ((u.id = ( SELECT auth.uid() AS uid)) AND ((u.email)::text ~~ '%@corp.com'::text))))").emailPatterns).toHaveLength(1);
  });

  it("does not fire on path prefixes built from auth.uid(), on a row's own email column, or on equality", () => {
    expect(a("(name ~~ ((( SELECT auth.uid() AS uid))::text || '/%'::text))").emailPatterns).toEqual([]);
    expect(a("(email ~~ '%@corp.com'::text)").emailPatterns).toEqual([]);
    expect(a("((auth.jwt() ->> 'email'::text) = owner_email)").emailPatterns).toEqual([]);
    expect(a("((data ->> 'email'::text) ~~ '%@x'::text)").emailPatterns).toEqual([]);
  });
});

describe('always true for a role', () => {
  it('constants, tautologies and role-only checks', () => {
    expect(a('true').alwaysTrueFor('anon')).toBe(true);
    expect(a('(1 = 1)').alwaysTrueFor('anon')).toBe(true);
    expect(a("(auth.role() = 'authenticated'::text)").alwaysTrueFor('authenticated')).toBe(true);
    expect(a("(auth.role() = 'authenticated'::text)").alwaysTrueFor('anon')).toBe(false);
    expect(a("(( SELECT auth.uid() AS uid) IS NOT NULL)").alwaysTrueFor('authenticated')).toBe(true);
    expect(a('(( SELECT auth.uid() AS uid) = user_id)').alwaysTrueFor('authenticated')).toBe(false);
    expect(a('(true AND (user_id = auth.uid()))').alwaysTrueFor('authenticated')).toBe(false);
    expect(a('(is_public OR true)').alwaysTrueFor('anon')).toBe(true);
  });
});

describe('anonymous branch', () => {
  it('a top-level OR with an IS NULL test of a claim', () => {
    expect(a('((auth.uid() IS NULL) OR (user_id = auth.uid()))').anonymousBranch).toBe('auth.uid() IS NULL');
    expect(a("(((auth.jwt() ->> 'sub'::text) IS NULL) OR (user_id = auth.uid()))").anonymousBranch).not.toBeNull();
    expect(a('((NOT (( SELECT auth.uid() AS uid) IS NOT NULL)) OR (user_id = auth.uid()))').anonymousBranch).toBe('auth.uid() IS NULL');
    expect(a("((current_setting('request.jwt.claim.sub'::text, true) IS NULL) OR is_public)").anonymousBranch).not.toBeNull();
    expect(a('((user_id IS NULL) OR (user_id = auth.uid()))').anonymousBranch).toBeNull();
    // Not top level: the AND still requires the user.
    expect(a('((auth.uid() IS NULL) AND (user_id IS NULL))').anonymousBranch).toBeNull();
  });

  it("a COALESCE that falls back from the user's id to the row's own column, or to true", () => {
    expect(a('(user_id = COALESCE(( SELECT auth.uid() AS uid), user_id))').anonymousBranch).toBe('user_id = COALESCE(auth.uid(), user_id)');
    expect(a('((NOT (user_id IS DISTINCT FROM COALESCE(auth.uid(), user_id))) OR is_public)').anonymousBranch).toBe('user_id IS NOT DISTINCT FROM COALESCE(auth.uid(), user_id)');
    expect(a("(COALESCE((nullif(current_setting('request.jwt.claim.sub'::text, true), ''::text))::uuid, docs.user_id) = docs.user_id)").anonymousBranch).not.toBeNull();
    expect(a('COALESCE((auth.uid() = user_id), true)').anonymousBranch).toBe('COALESCE(<a test of auth.uid()>, true)');
    // The fallback is another column, another claim, or false; or the COALESCE is on the row's side.
    expect(a('(user_id = COALESCE(auth.uid(), owner_id))').anonymousBranch).toBeNull();
    expect(a("(user_id = COALESCE(auth.uid(), ((auth.jwt() ->> 'sub'::text))::uuid))").anonymousBranch).toBeNull();
    expect(a('COALESCE((auth.uid() = user_id), false)').anonymousBranch).toBeNull();
    expect(a('(COALESCE(owner_id, user_id) = ( SELECT auth.uid() AS uid))').anonymousBranch).toBeNull();
    // Not top level: AND-ed with a test anon fails.
    expect(a('((user_id = COALESCE(auth.uid(), user_id)) AND (auth.uid() IS NOT NULL))').anonymousBranch).toBeNull();
  });
});

describe('binding the row to the caller', () => {
  it('comparisons, membership sub-selects and helpers taking a column bind; role checks do not', () => {
    expect(a('(( SELECT auth.uid() AS uid) = user_id)').bindsCaller).toBe(true);
    expect(a('(org_id IN ( SELECT m.org_id FROM public.members m WHERE (m.user_id = ( SELECT auth.uid() AS uid))))').bindsCaller).toBe(true);
    expect(a('private.is_member(org_id)').bindsCaller).toBe(true);
    expect(a("(tenant_id = ((auth.jwt() -> 'app_metadata'::text) ->> 'tenant'::text)::uuid)").bindsCaller).toBe(true);
    expect(a("(auth.role() = 'authenticated'::text)").bindsCaller).toBe(false);
    expect(a('((auth.uid() IS NOT NULL) AND (user_id IS NOT NULL))').bindsCaller).toBe(false);
    expect(a('(true OR (user_id = auth.uid()))').bindsCaller).toBe(false);
  });

  it('finds the columns compared with a claim, in the row and in membership tables', () => {
    expect(a('(( SELECT auth.uid() AS uid) = user_id)').claimColumns).toEqual([{ table: null, column: 'user_id', claim: 'sub', castTo: null }]);
    expect(a('(org_id IN ( SELECT m.org_id FROM public.members m WHERE (m.user_id = ( SELECT auth.uid() AS uid))))').claimColumns).toEqual([
      { table: 'public.members', column: 'user_id', claim: 'sub', castTo: null },
    ]);
  });
  it('with the type the column itself is cast to (a cast of the claim does not count)', () => {
    expect(a('((user_id)::text = (( SELECT auth.uid() AS uid))::text)').claimColumns).toEqual([{ table: null, column: 'user_id', claim: 'sub', castTo: 'text' }]);
    expect(a("(tenant_id = (( SELECT (auth.jwt() ->> 'tenant'::text)))::integer)").claimColumns).toEqual([{ table: null, column: 'tenant_id', claim: 'tenant', castTo: null }]);
  });
});

describe("caller facts (columns a policy reads from the caller's own row)", () => {
  it('a sub-select tied to the caller by column = claim yields the other columns it reads', () => {
    expect(a('((owner = ( SELECT auth.uid() AS uid)) OR (EXISTS ( SELECT 1 FROM public.profiles p WHERE ((p.id = ( SELECT auth.uid() AS uid)) AND p.is_admin))))', 'invoices').callerFacts).toEqual([
      { table: 'public.profiles', boundBy: ['id'], byUser: true, columns: ['is_admin'], compared: [] },
    ]);
    expect(a('(org_id IN ( SELECT m.org_id FROM public.members m WHERE (m.user_id = ( SELECT auth.uid() AS uid))))').callerFacts).toEqual([
      { table: 'public.members', boundBy: ['user_id'], byUser: true, columns: ['org_id'], compared: [{ column: 'org_id', to: 'row' }] },
    ]);
    // Compared with the row in the WHERE too; with a constant, another table's column, or as a scalar with a constant.
    expect(a('(EXISTS ( SELECT 1 FROM public.workouts w WHERE ((w.id = sets.workout_id) AND (w.user_id = auth.uid()) AND (w.kind = 1))))', 'sets').callerFacts).toEqual([
      { table: 'public.workouts', boundBy: ['user_id'], byUser: true, columns: ['id', 'kind'], compared: [{ column: 'id', to: 'row' }, { column: 'kind', to: 'constant' }] },
    ]);
    expect(a('(EXISTS ( SELECT 1 FROM public.members m WHERE ((m.id = auth.uid()) AND (m.invite_code IN ( SELECT invites.code FROM public.invites)))))', 'lounge').callerFacts[0]!.compared).toEqual([
      { column: 'invite_code', to: { table: 'public.invites', column: 'code' } },
    ]);
    expect(a("(( SELECT m.invite_code FROM public.members m WHERE (m.id = auth.uid())) = 'VIP'::text)", 'lounge').callerFacts[0]!.compared).toEqual([{ column: 'invite_code', to: 'constant' }]);
    expect(a('(code = ( SELECT m.invite_code FROM public.members m WHERE (m.id = auth.uid())))', 'lounge').callerFacts[0]!.compared).toEqual([{ column: 'invite_code', to: 'row' }]);
    // Unqualified columns belong to the sub-select's only relation; a claim other than sub binds too.
    expect(a("(( SELECT profiles.role FROM public.profiles WHERE (email = auth.email())) = 'admin'::text)").callerFacts).toEqual([
      { table: 'public.profiles', boundBy: ['email'], byUser: true, columns: ['role'], compared: [{ column: 'role', to: 'constant' }] },
    ]);
    // Bound by a claim a request without a user also carries (its role): not the user's own row.
    expect(a("(( SELECT r.level FROM public.role_levels r WHERE (r.role = auth.role())) > 1)").callerFacts).toEqual([
      { table: 'public.role_levels', boundBy: ['role'], byUser: false, columns: ['level'], compared: [] },
    ]);
  });

  it('no fact when the row read is not the caller’s: tied to the outer row, or bound only inside an OR', () => {
    expect(a('(EXISTS ( SELECT 1 FROM public.posts p WHERE ((p.id = comments.post_id) AND p.published)))', 'comments').callerFacts).toEqual([]);
    expect(a('(EXISTS ( SELECT 1 FROM public.profiles p WHERE ((p.id = auth.uid()) OR p.is_admin)))').callerFacts).toEqual([]);
  });

  it('a fact with no column when only the existence of the caller’s row decides (a staff table, a membership)', () => {
    expect(a('(EXISTS ( SELECT 1 FROM public.staff s WHERE (s.user_id = ( SELECT auth.uid() AS uid))))').callerFacts).toEqual([{ table: 'public.staff', boundBy: ['user_id'], byUser: true, columns: [], compared: [] }]);
  });

  it('rowColumns lists the columns of the policy’s own row, not those inside sub-selects', () => {
    expect(a('((id = ( SELECT auth.uid() AS uid)) AND (is_admin = ( SELECT p.is_admin FROM public.profiles p WHERE (p.id = ( SELECT auth.uid() AS uid)))))', 'profiles').rowColumns.sort()).toEqual(['id', 'is_admin']);
  });
});

describe('self-comparisons (a name bound to the wrong relation)', () => {
  it('finds x = x, in the row and in sub-selects, under casts and function calls, with what it always yields', () => {
    expect(a('(owner = owner)').selfComparisons).toEqual([{ text: 'owner = owner', always: true, inSubselect: false }]);
    expect(a('((owner)::text = (owner)::text)').selfComparisons).toEqual([{ text: 'owner = owner', always: true, inSubselect: false }]);
    expect(a('(EXISTS ( SELECT 1 FROM public.members m WHERE ((m.user_id = ( SELECT auth.uid() AS uid)) AND (m.org_id = m.org_id))))', 'projects').selfComparisons).toEqual([
      { text: 'm.org_id = m.org_id', always: true, inSubselect: true },
    ]);
    expect(a('(lower(email) = lower(email))').selfComparisons.map((c) => c.text)).toEqual(['lower() = lower()']);
    expect(a('(owner <> owner)').selfComparisons).toEqual([{ text: 'owner <> owner', always: false, inSubselect: false }]);
    expect(a('(owner IS NOT DISTINCT FROM owner)').selfComparisons[0]?.always).toBe(true);
    expect(a('(owner IS DISTINCT FROM owner)').selfComparisons[0]?.always).toBe(false);
  });

  it('not for two different columns, the row vs the sub-select, constants, volatile calls or non-comparisons', () => {
    expect(a('(owner = editor)').selfComparisons).toEqual([]);
    expect(a('(EXISTS ( SELECT 1 FROM public.members m WHERE (m.org_id = projects.org_id)))', 'projects').selfComparisons).toEqual([]);
    expect(a('(1 = 1)').selfComparisons).toEqual([]);
    expect(a('(random() = random())').selfComparisons).toEqual([]);
    expect(a('((owner + 1) = owner)').selfComparisons).toEqual([]);
    expect(a("(owner ~~ owner)").selfComparisons).toEqual([]);
  });
});

describe('row-free OR branches (sub-selects that never look at the row)', () => {
  it('reports each branch that reads relations but no column of the row, with its alias and caller-bound columns', () => {
    const r = a('((owner = ( SELECT auth.uid() AS uid)) OR (EXISTS ( SELECT 1 FROM public.staff s WHERE (s.user_id = ( SELECT auth.uid() AS uid)))))');
    expect(r.rowFreeBranches).toEqual([{ reads: [{ table: 'public.staff', ref: 's', boundBy: ['user_id'], lookups: [{ boundBy: ['user_id'], tested: [] }] }], calls: [], hasSelfComparison: false, filtered: false, ignoredArgCalls: [] }]);
    const inForm = a('(( SELECT auth.uid() AS uid) IN ( SELECT pm.user_id FROM public.project_members pm))', 'projects');
    expect(inForm.rowFreeBranches).toEqual([{ reads: [{ table: 'public.project_members', ref: 'pm', boundBy: [], lookups: [] }], calls: [], hasSelfComparison: false, filtered: false, ignoredArgCalls: [] }]);
    const self = a('(EXISTS ( SELECT 1 FROM public.members m WHERE ((m.user_id = ( SELECT auth.uid() AS uid)) AND (m.org_id = m.org_id))))', 'projects');
    expect(self.rowFreeBranches[0]?.hasSelfComparison).toBe(true);
  });

  it("names, per look-up of the caller's rows, the other columns it tests or returns; EXISTS's target list tests nothing", () => {
    const lookups = (e: string) => a(e, 'admin_audit_log').rowFreeBranches.flatMap((b) => b.reads.map((r) => [r.table, r.lookups]));
    const bound = "(p.auth_user_id = ( SELECT auth.uid() AS uid))";
    expect(lookups(`( SELECT p.is_admin FROM public.profiles p WHERE ${bound})`)).toEqual([['public.profiles', [{ boundBy: ['auth_user_id'], tested: ['is_admin'] }]]]);
    expect(lookups(`(EXISTS ( SELECT 1 FROM public.profiles p WHERE (${bound} AND (p.role = 'admin'::text))))`)).toEqual([['public.profiles', [{ boundBy: ['auth_user_id'], tested: ['role'] }]]]);
    expect(lookups(`(EXISTS ( SELECT p.is_admin FROM public.profiles p WHERE ${bound}))`)).toEqual([['public.profiles', [{ boundBy: ['auth_user_id'], tested: [] }]]]);
    // A relation read without a claim has no look-up.
    expect(lookups("(EXISTS ( SELECT 1 FROM public.flags f WHERE f.enabled))")).toEqual([['public.flags', []]]);
  });

  it('a branch whose AND-ed row tests never involve the caller (status, deleted_at) is row-free too, marked filtered', () => {
    const gate = '(EXISTS ( SELECT 1 FROM public.crew c WHERE (c.user_id = ( SELECT auth.uid() AS uid))))';
    expect(a(`((status = 'open'::text) AND (archived_at IS NULL) AND ${gate})`, 'voyages').rowFreeBranches).toEqual([
      { reads: [{ table: 'public.crew', ref: 'c', boundBy: ['user_id'], lookups: [{ boundBy: ['user_id'], tested: [] }] }], calls: [], hasSelfComparison: false, filtered: true, ignoredArgCalls: [] },
    ]);
  });

  it('none when the sub-select or the IN test refers to the row, when an AND-ed row test binds the branch, or when nothing is read', () => {
    expect(a('(EXISTS ( SELECT 1 FROM public.members m WHERE ((m.user_id = ( SELECT auth.uid() AS uid)) AND (m.org_id = projects.org_id))))', 'projects').rowFreeBranches).toEqual([]);
    expect(a('(org_id IN ( SELECT m.org_id FROM public.members m WHERE (m.user_id = ( SELECT auth.uid() AS uid))))', 'projects').rowFreeBranches).toEqual([]);
    const staff = '(EXISTS ( SELECT 1 FROM public.staff s WHERE (s.user_id = ( SELECT auth.uid() AS uid))))';
    expect(a(`((owner = ( SELECT auth.uid() AS uid)) AND ${staff})`).rowFreeBranches).toEqual([]);
    expect(a(`((team_id = ANY (public.my_teams())) AND ${staff})`).rowFreeBranches).toEqual([]);
    expect(a(`((org_id IN ( SELECT p.org_id FROM public.profiles p WHERE (p.id = ( SELECT auth.uid() AS uid)))) AND ${staff})`).rowFreeBranches).toEqual([]);
    expect(a('(( SELECT auth.uid() AS uid) IS NOT NULL)').rowFreeBranches).toEqual([]);
  });

  it('names the helpers a branch calls with nothing from the row or the caller, whose bodies the rule reads', () => {
    expect(a('((owner = ( SELECT auth.uid() AS uid)) OR ( SELECT private.is_admin() AS is_admin))').rowFreeBranches).toEqual([{ reads: [], calls: ['private.is_admin'], hasSelfComparison: false, filtered: false, ignoredArgCalls: [] }]);
    expect(a("private.has_role('admin'::text)").rowFreeBranches).toEqual([{ reads: [], calls: ['private.has_role'], hasSelfComparison: false, filtered: false, ignoredArgCalls: [] }]);
    // The argument may be what the body ties its rows to.
    expect(a('private.is_member(org_id)').rowFreeBranches).toEqual([]);
    expect(a('private.has_role(( SELECT auth.uid() AS uid))').rowFreeBranches).toEqual([]);
  });

  it('given the parameters a helper never reads, the row handed there ties nothing: the branch is row-free and names the columns', () => {
    const ignored = (skip: Record<string, number[]>) => (name: string) => (skip[name] ? new Set(skip[name]) : null);
    const e = a('(( SELECT private.is_member(docs.org_id) AS is_member) AND (status = \'open\'::text))');
    expect(e.rowFreeBranches).toEqual([]);
    expect(e.rowFreeBranchesGiven(ignored({ 'private.is_member': [0] }))).toEqual([
      { reads: [], calls: ['private.is_member'], hasSelfComparison: false, filtered: true, ignoredArgCalls: [{ name: 'private.is_member', columns: ['docs.org_id'] }] },
    ]);
    // A parameter it does read, or another argument that carries the row, still ties it.
    expect(e.rowFreeBranchesGiven(ignored({ 'private.is_member': [1] }))).toEqual([]);
    expect(a('private.can(org_id, owner)').rowFreeBranchesGiven(ignored({ 'private.can': [0] }))).toEqual([]);
    // Another OR branch that ties the row is left alone.
    expect(a('((owner = ( SELECT auth.uid() AS uid)) OR private.is_member(org_id))').rowFreeBranchesGiven(ignored({ 'private.is_member': [0] }))).toEqual([
      { reads: [], calls: ['private.is_member'], hasSelfComparison: false, filtered: false, ignoredArgCalls: [{ name: 'private.is_member', columns: ['org_id'] }] },
    ]);
  });
});

describe('parameters a helper body never reads', () => {
  const columns: Record<string, string[]> = { 'public.members': ['org_id', 'user_id'] };
  const unread = (args: string, body: string, language = 'sql', name = 'is_member') =>
    [...(unreadParameters(language === 'sql' ? { name, args, language, body } : { name, args, language, body: null, plpgsqlSource: body }, 'public', parse, (t) => columns[t] ?? null) ?? ['unknown'])];

  it('LANGUAGE sql: a bare name a column in scope has is the column; $n, <function>.<name> and a name no column has are the parameter', () => {
    const member = (ref: string) => `select exists (select 1 from public.members m where m.org_id = ${ref} and m.user_id = auth.uid())`;
    expect(unread('org_id uuid', member('org_id'))).toEqual([0]);
    expect(unread('org_id uuid', member('is_member.org_id'))).toEqual([]);
    expect(unread('org_id uuid', member('$1'))).toEqual([]);
    expect(unread('p_org uuid', member('p_org'))).toEqual([]);
    expect(unread('uuid', member("'x'::uuid"))).toEqual([0]);
    // Outside the sub-select the name is the parameter; a relation the catalog does not know cannot make it a column.
    expect(unread('org_id uuid', 'select org_id in (select m.org_id from public.members m where m.user_id = auth.uid())')).toEqual([]);
    expect(unread('org_id uuid', 'with x as (select 1) select exists (select 1 from x where org_id is not null)')).toEqual([]);
    expect(unread('org_id uuid, out ok boolean', member('org_id'))).toEqual(['unknown']);
  });

  it('PL/pgSQL: its name or $n anywhere in the source counts as read', () => {
    expect(unread('p_org uuid', 'begin return exists (select 1 from public.members m where m.user_id = auth.uid()); end', 'plpgsql')).toEqual([0]);
    expect(unread('p_org uuid', 'begin return exists (select 1 from public.members m where m.org_id = p_org); end', 'plpgsql')).toEqual([]);
    expect(unread('org_id uuid', 'begin return exists (select 1 from public.members m where m.org_id = org_id); end', 'plpgsql')).toEqual([]);
    expect(unread('uuid', 'declare o alias for $1; begin return o is not null; end', 'plpgsql')).toEqual([]);
  });
});

describe('columns compared with the database role', () => {
  it('current_user, session_user and current_role against a row column; not inside a sub-select or against a claim', () => {
    expect(a('(owner_name = CURRENT_USER)').roleColumns).toEqual([{ column: 'owner_name', fn: 'current_user' }]);
    expect(a('((SESSION_USER)::text = owner_name)').roleColumns).toEqual([{ column: 'owner_name', fn: 'session_user' }]);
    expect(a('(owner_name = CURRENT_ROLE)').roleColumns).toEqual([{ column: 'owner_name', fn: 'current_role' }]);
    expect(a('(EXISTS ( SELECT 1 FROM public.grants g WHERE (g.grantee = CURRENT_USER)))').roleColumns).toEqual([]);
    expect(a('(owner = ( SELECT auth.uid() AS uid))').roleColumns).toEqual([]);
  });
});

describe("a fixed address compared with the caller's email", () => {
  it('=, IN (stored as = ANY (ARRAY[…])) and IS NOT DISTINCT FROM on the claim, auth.email() or auth.users.email', () => {
    expect(a("(( SELECT auth.email() AS email) = 'admin@corp.com'::text)").emailPatterns).toEqual(["a fixed address ('admin@corp.com') on auth.email()"]);
    expect(a("((auth.jwt() ->> 'email'::text) = ANY (ARRAY['a@corp.com'::text, 'b@corp.com'::text]))").emailPatterns).toEqual(["a fixed address ('a@corp.com', 'b@corp.com') on the email claim"]);
    expect(a("(EXISTS ( SELECT 1 FROM auth.users u WHERE ((u.id = ( SELECT auth.uid() AS uid)) AND ((u.email)::text = 'admin@corp.com'::text))))").emailPatterns).toHaveLength(1);
  });

  it("not for a row's email column, the caller's email against a row's column, or a constant that is no address", () => {
    expect(a("(email = 'admin@corp.com'::text)").emailPatterns).toEqual([]);
    expect(a('(invitee_email = ( SELECT auth.email() AS email))').emailPatterns).toEqual([]);
    expect(a("(( SELECT auth.email() AS email) = ''::text)").emailPatterns).toEqual([]);
  });
});

describe('needs a user (never true for a request without sub or email)', () => {
  const none = new Set<string>();
  it('every OR branch has an AND-ed test that is NULL or false without a user', () => {
    expect(a('(keeper_id = auth.uid())').needsUser(none)).toBe(true);
    expect(a('((( SELECT auth.uid() AS uid))::text = (storage.foldername(name))[1])').needsUser(none)).toBe(true);
    expect(a("((auth.jwt() ->> 'email'::text) = invitee)").needsUser(none)).toBe(true);
    expect(a("(((auth.jwt() -> 'app_metadata'::text) ->> 'guild'::text) = (guild)::text)").needsUser(none)).toBe(true);
    expect(a('((archived = false) AND (( SELECT auth.uid() AS uid) IS NOT NULL))').needsUser(none)).toBe(true);
    expect(a('(EXISTS ( SELECT 1 FROM public.crew c WHERE ((c.ship_id = voyages.ship_id) AND (c.user_id = ( SELECT auth.uid() AS uid)))))', 'voyages').needsUser(none)).toBe(true);
    expect(a('(ship_id IN ( SELECT c.ship_id FROM public.crew c WHERE (c.user_id = ( SELECT auth.uid() AS uid))))').needsUser(none)).toBe(true);
    expect(a('(( SELECT auth.uid() AS uid) IN ( SELECT c.user_id FROM public.crew c WHERE (c.ship_id = voyages.ship_id)))', 'voyages').needsUser(none)).toBe(true);
    expect(a('(ship_id = ( SELECT c.ship_id FROM public.crew c WHERE (c.user_id = auth.uid())))').needsUser(none)).toBe(true);
    expect(a('((keeper_id = auth.uid()) OR (ship_id IN ( SELECT c.ship_id FROM public.crew c WHERE (c.user_id = auth.uid()))))').needsUser(none)).toBe(true);
    // A strict comparison with the claim is NULL whatever the other side is.
    expect(a('(COALESCE(keeper_id, auth.uid()) = auth.uid())').needsUser(none)).toBe(true);
  });

  it('an inner join on the caller empties the sub-select; a helper body is judged the same way', () => {
    expect(a('(EXISTS ( SELECT 1 FROM (public.ships s JOIN auth.users u ON ((u.id = auth.uid()))) WHERE (s.id = voyages.ship_id)))', 'voyages').needsUser(none)).toBe(true);
    expect(a('(EXISTS ( SELECT 1 FROM (public.ships s LEFT JOIN public.crew c ON ((c.user_id = auth.uid()))) WHERE (s.id = voyages.ship_id)))', 'voyages').needsUser(none)).toBe(false);
    expect(functionNeedsUser('select exists (select 1 from public.crew c where c.ship_id = target and c.user_id = auth.uid())', parse)).toBe(true);
    expect(functionNeedsUser('select ship_id from public.crew where user_id = auth.uid()', parse)).toBe(true);
    expect(functionNeedsUser("select exists (select 1 from public.ships s where s.id = target and s.visibility = 'public')", parse)).toBe(false);
    expect(functionNeedsUser('select ship_id from public.crew where user_id = auth.uid() union select id from public.ships', parse)).toBe(false);
  });

  it('a helper that reads the caller\'s rows counts when named, as a set or a scalar', () => {
    const helpers = new Set(['private.my_ships', 'private.on_crew']);
    expect(a('(ship_id IN ( SELECT private.my_ships() AS my_ships))').needsUser(helpers)).toBe(true);
    expect(a('private.on_crew(ship_id)').needsUser(helpers)).toBe(true);
    expect(a('(ship_id = private.my_ships())').needsUser(helpers)).toBe(true);
    expect(a('(ship_id IN ( SELECT private.my_ships() AS my_ships))').needsUser(none)).toBe(false);
  });

  it('not when some branch passes without a user, or the test survives a NULL', () => {
    expect(a('true').needsUser(none)).toBe(false);
    expect(a("(visibility = 'public'::text)").needsUser(none)).toBe(false);
    expect(a("((keeper_id = auth.uid()) OR (visibility = 'public'::text))").needsUser(none)).toBe(false);
    expect(a('((keeper_id = auth.uid()) OR (auth.uid() IS NULL))').needsUser(none)).toBe(false);
    expect(a('(keeper_id IS NOT DISTINCT FROM auth.uid())').needsUser(none)).toBe(false);
    expect(a("(auth.role() = 'anon'::text)").needsUser(none)).toBe(false);
    expect(a('(NOT (EXISTS ( SELECT 1 FROM public.bans b WHERE (b.user_id = auth.uid()))))').needsUser(none)).toBe(false);
    expect(a('(EXISTS ( SELECT 1 FROM public.crew c WHERE ((c.user_id = auth.uid()) OR c.open)))').needsUser(none)).toBe(false);
  });
});

describe('link facts (rows of another table that let the row through)', () => {
  it('the IN form and an AND-ed equality with the row, through joins; not when tied to the caller or under NOT', () => {
    expect(a('(id IN ( SELECT ap.photo_id FROM (public.album_photos ap JOIN public.albums al ON ((al.id = ap.album_id))) WHERE al.listed))', 'photos').linkFacts).toMatchObject([
      { table: 'public.album_photos', column: 'photo_id', rowColumn: 'id' },
    ]);
    expect(a('(EXISTS ( SELECT 1 FROM public.pins p WHERE ((p.photo_id = photos.id) AND p.featured)))', 'photos').linkFacts).toMatchObject([{ table: 'public.pins', column: 'photo_id', rowColumn: 'id' }]);
    expect(a('(EXISTS ( SELECT 1 FROM public.pins p WHERE ((p.photo_id = photos.id) AND (p.user_id = ( SELECT auth.uid() AS uid)))))', 'photos').linkFacts).toEqual([]);
    expect(a('(NOT (id IN ( SELECT b.photo_id FROM public.blocks b)))', 'photos').linkFacts).toEqual([]);
    expect(a('(EXISTS ( SELECT 1 FROM public.pins p WHERE (p.photo_id = p.photo_id)))', 'photos').linkFacts).toEqual([]);
  });

  it('the links of one sub-select share a group (a row must match them all); another sub-select has its own', () => {
    const r = a('((EXISTS ( SELECT 1 FROM public.prints pr WHERE ((pr.bucket = photos.bucket) AND (pr.path = photos.path)))) OR (id IN ( SELECT f.photo_id FROM public.favourites f)))', 'photos').linkFacts;
    expect(r.map((l) => l.column)).toEqual(['bucket', 'path', 'photo_id']);
    expect(r[0]!.group).toBe(r[1]!.group);
    expect(r[2]!.group).not.toBe(r[0]!.group);
  });
});

describe('detached callers (the caller and the row tied to different tables, never joined)', () => {
  it('a join whose ON names only the caller, or a comma join; not when any test joins the two sides', () => {
    const crew = { caller: [{ table: 'public.crew', ref: 'c', boundBy: ['user_id'] }], row: [{ table: 'public.ships', ref: 's' }] };
    expect(a('(EXISTS ( SELECT 1 FROM (public.ships s JOIN public.crew c ON ((c.user_id = auth.uid()))) WHERE (s.id = voyages.ship_id)))', 'voyages').detachedCallers).toEqual([crew]);
    expect(a('(EXISTS ( SELECT 1 FROM public.ships s, public.crew c WHERE ((s.id = voyages.ship_id) AND (c.user_id = ( SELECT auth.uid() AS uid)))))', 'voyages').detachedCallers).toEqual([crew]);
    expect(a('(EXISTS ( SELECT 1 FROM (public.ships s JOIN public.crew c ON ((c.fleet_id = s.fleet_id))) WHERE ((s.id = voyages.ship_id) AND (c.user_id = auth.uid()))))', 'voyages').detachedCallers).toEqual([]);
    expect(a('(EXISTS ( SELECT 1 FROM public.crew c WHERE ((c.ship_id = voyages.ship_id) AND (c.user_id = auth.uid()))))', 'voyages').detachedCallers).toEqual([]);
    expect(a('(NOT (EXISTS ( SELECT 1 FROM public.ships s, public.bans b WHERE ((s.id = voyages.ship_id) AND (b.user_id = auth.uid())))))', 'voyages').detachedCallers).toEqual([]);
  });

  it("in a helper's body its arguments (by name or number) play the row", () => {
    const body = 'select exists (select 1 from public.ships s join auth.users u on u.id = auth.uid() where s.id = target)';
    expect(functionDetachedCallers(body, 'target uuid', 'public', parse)).toEqual([{ caller: [{ table: 'auth.users', ref: 'u', boundBy: ['id'] }], row: [{ table: 'public.ships', ref: 's' }] }]);
    expect(functionDetachedCallers('select exists (select 1 from crew c where c.ship_id = $1 and c.user_id = auth.uid())', 'uuid', 'public', parse)).toEqual([]);
    expect(functionDetachedCallers('select ship_id from crew where user_id = auth.uid()', '', 'public', parse)).toEqual([]);
  });
});

describe('role gates (the request roles an expression can be true for)', () => {
  const none = () => null;
  const roles = (expr: string, helper: (name: string) => ReadonlySet<string> | null = none) => {
    const g = a(expr).onlyForRoles(helper);
    return g === null ? null : [...g].sort();
  };
  it('a test of the role claim, in every spelling, through AND, OR, IN and helpers', () => {
    expect(roles("(auth.role() = 'service_role'::text)")).toEqual(['service_role']);
    expect(roles("(COALESCE((auth.jwt() ->> 'role'::text), ''::text) = 'service_role'::text)")).toEqual(['service_role']);
    expect(roles("((auth.jwt() ->> 'role'::text) = ANY (ARRAY['service_role'::text, 'supabase_admin'::text]))")).toEqual(['service_role', 'supabase_admin']);
    expect(roles("(((current_setting('request.jwt.claims'::text, true))::json ->> 'role'::text) = 'service_role'::text)")).toEqual(['service_role']);
    expect(roles("((auth.role() = 'service_role'::text) AND (keeper_id = auth.uid()))")).toEqual(['service_role']);
    expect(roles("((auth.role() = 'service_role'::text) OR (auth.role() = 'authenticated'::text))")).toEqual(['authenticated', 'service_role']);
    expect(roles('public.is_backend()', (n) => (n === 'public.is_backend' ? new Set(['service_role']) : null))).toEqual(['service_role']);
  });

  it('null when some branch does not test the role', () => {
    expect(roles("((auth.role() = 'service_role'::text) OR (keeper_id = auth.uid()))")).toBe(null);
    expect(roles('(keeper_id = auth.uid())')).toBe(null);
    expect(roles('public.is_backend()')).toBe(null);
  });

  it("a helper's body: one FROM-less SELECT of a role test", () => {
    expect([...functionRoleGate("select coalesce(auth.jwt() ->> 'role', '') = 'service_role'", parse)!]).toEqual(['service_role']);
    expect(functionRoleGate("select exists (select 1 from public.staff s where s.user_id = auth.uid())", parse)).toBe(null);
  });
});

describe("helper arguments filled with the caller's id", () => {
  it('records their positions by function; a column of the row is no caller', () => {
    expect(a("(public.holds_rank(( SELECT auth.uid() AS uid), 'captain'::text) OR public.holds_rank(author, 'x'::text))").callerArgs).toEqual({ 'public.holds_rank': [0] });
    expect(a("public.can_edit(doc_id, (auth.jwt() ->> 'email'::text))").callerArgs).toEqual({ 'public.can_edit': [1] });
  });
});

describe('triggerCallerColumns: what a PL/pgSQL trigger always sets to the caller', () => {
  const t = (src: string) => triggerCallerColumns(src, parsePlpgsql, parse);
  it('top-level assignments of the sub claim, in any spelling, for every operation', () => {
    expect(t('begin new.user_id := auth.uid(); return new; end')).toEqual([{ column: 'user_id', ops: null }]);
    expect(t(`declare x int; begin -- set the owner; always
      NEW."Owner" = (select auth.uid()); new.created_by := (auth.jwt() ->> 'sub')::uuid; return NEW; end;`)).toEqual([
      { column: 'Owner', ops: null },
      { column: 'created_by', ops: null },
    ]);
    expect(t("begin new.note := 'a;b'; new.user_id := auth.uid(); return new; end")).toEqual([{ column: 'user_id', ops: null }]);
    expect(t('begin if new.x is null then return null; end if; new.user_id := auth.uid(); return new; end')).toEqual([{ column: 'user_id', ops: null }]);
  });
  it('read with PL/pgSQL\'s grammar: a plain nested block, a reversed TG_OP test, BEGIN in a string, ; in a dollar quote', () => {
    expect(t('begin begin new.user_id := auth.uid(); end; return new; end')).toEqual([{ column: 'user_id', ops: null }]);
    expect(t("begin if 'INSERT' = TG_OP then new.created_by := auth.uid(); end if; return new; end")).toEqual([{ column: 'created_by', ops: ['INSERT'] }]);
    expect(t("declare msg text := 'begin'; begin new.user_id := auth.uid(); return new; end")).toEqual([{ column: 'user_id', ops: null }]);
    expect(t('begin new.note := $q$a;b; if x then$q$; new.user_id := auth.uid(); return new; end')).toEqual([{ column: 'user_id', ops: null }]);
    // The branches of an IF on TG_OP alone: each for its operations, the ELSE for the rest.
    expect(t("begin if tg_op = 'INSERT' then new.a := 1; elsif tg_op = 'UPDATE' then new.created_by := auth.uid(); else new.created_by := auth.uid(); end if; return new; end")).toEqual([{ column: 'created_by', ops: ['DELETE', 'UPDATE'] }]);
    expect(t("begin if tg_op = 'INSERT' then new.a := 1; elsif new.b then new.created_by := auth.uid(); else new.created_by := auth.uid(); end if; return new; end")).toEqual([]);
    // In a block with an exception handler, or one PL/pgSQL does not take: not counted.
    expect(t('begin new.user_id := auth.uid(); return new; exception when others then return new; end')).toEqual([]);
    expect(t('begin new.user_id := auth.uid() return new; end')).toEqual([]);
  });

  it('inside IF TG_OP = … only for those operations; any other condition, a fill-if-null or an early RETURN NEW does not count', () => {
    expect(t("begin if TG_OP = 'INSERT' then new.created_by := auth.uid(); end if; new.updated_at := now(); return new; end")).toEqual([{ column: 'created_by', ops: ['INSERT'] }]);
    expect(t("begin if tg_op in ('INSERT', 'UPDATE') then new.created_by := auth.uid(); end if; return new; end")).toEqual([{ column: 'created_by', ops: ['INSERT', 'UPDATE'] }]);
    expect(t("begin if tg_op = 'UPDATE' then return new; end if; new.user_id := auth.uid(); return new; end")).toEqual([{ column: 'user_id', ops: ['DELETE', 'INSERT'] }]);
    // The ELSE of a TG_OP chain runs for the operations its tests did not name; a column it sets otherwise counts only for the others.
    expect(t("begin if tg_op = 'INSERT' then new.a := 1; else new.created_by := auth.uid(); end if; return new; end")).toEqual([{ column: 'created_by', ops: ['DELETE', 'UPDATE'] }]);
    expect(t("begin if tg_op = 'INSERT' then new.created_by := auth.uid(); else new.created_by := old.created_by; end if; return new; end")).toEqual([{ column: 'created_by', ops: ['INSERT'] }]);
    expect(t("begin if tg_op = 'INSERT' then new.a := 1; elsif new.b then new.x := 2; else new.created_by := auth.uid(); end if; return new; end")).toEqual([]);
    for (const src of [
      'begin if new.user_id is null then new.user_id := auth.uid(); end if; return new; end',
      'begin new.user_id := coalesce(new.user_id, auth.uid()); return new; end',
      "begin new.user_id := auth.uid(); if auth.role() = 'service_role' then new.user_id := old.user_id; end if; return new; end",
      'begin return new; new.user_id := auth.uid(); end',
      "begin if tg_op = 'INSERT' then if new.b then new.x := 1; new.user_id := auth.uid(); end if; end if; return new; end",
    ]) expect(t(src), src).toEqual([]);
  });
});
