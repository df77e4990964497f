/**
 * Facts about the catalog that several rules share: who can reach a relation
 * through the API, which policies apply to a role and a command, names of
 * objects in findings. Pure functions over the CatalogModel.
 */
import {
  PUBLIC,
  policyAppliesTo,
  privilegeClosure,
  type CatalogModel,
  type FunctionInfo,
  type Policy,
  type PolicyCommand,
  type Relation,
  type TablePrivilege,
} from '../catalog/model.js';
import { quoteIdent } from '../db.js';
import type { CatalogLintContext } from './types.js';
import type { CallerFact, FunctionAnalysis, GateArg, HelperTest } from './expr.js';
import { ROW_FOUND } from './caller-gate.js';

export type Command = Exclude<PolicyCommand, 'ALL'>;
export const COMMANDS: readonly Command[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];

/** A policy as findings name it: `name on schema.table`. */
export function policyObject(p: Policy): string {
  return `${p.name} on ${p.table}`;
}

export function isExposed(ctx: CatalogLintContext, rel: { schema: string }): boolean {
  return ctx.exposed.has(rel.schema);
}

/**
 * Supabase Storage's own tables, storage.objects (a bucket_id and a name) and storage.buckets:
 * Storage runs each request against them as the caller's role with the caller's claims set, as
 * PostgREST does (supabase.com/docs/guides/storage/security/access-control), so their grants and
 * policies face anon and every user whatever PostgREST's db-schemas say.
 */
export function servedByStorage(rel: Relation): boolean {
  if (rel.schema !== 'storage' || (rel.kind !== 'table' && rel.kind !== 'partitioned')) return false;
  const has = (c: string) => rel.columns.some((x) => x.name === c);
  return (rel.name === 'objects' && has('bucket_id') && has('name')) || (rel.name === 'buckets' && has('id') && has('public'));
}

/** A relation API roles reach by name: one of an exposed schema, or one Supabase Storage serves (servedByStorage). */
export function isServed(ctx: CatalogLintContext, rel: Relation): boolean {
  return isExposed(ctx, rel) || servedByStorage(rel);
}

/**
 * The columns of each of `rel`'s unique keys (primary key, unique constraint or index: valid, not
 * partial, no expression), each a list — none for a table others INHERIT from: a query of it reads
 * their rows too, and its indexes hold nothing of theirs (a child can repeat the parent's key).
 */
export function uniqueKeys(rel: Relation): string[][] {
  if (rel.hasInheritanceChildren) return [];
  return rel.indexes.filter((i) => (i.unique || i.primary) && i.valid && !i.partial && i.columns.length > 0 && i.columns.every((c) => c !== null)).map((i) => i.columns as string[]);
}

/** Whether `rel` has a unique key (uniqueKeys) whose every column passes `within`. */
export function uniqueWithin(rel: Relation, within: (column: string) => boolean): boolean {
  return uniqueKeys(rel).some((k) => k.every(within));
}

/** Whether `role` has USAGE on the relation's schema (without it every privilege is moot). */
const schemaIndex = new WeakMap<CatalogModel, Map<string, CatalogModel['schemas'][number]>>();

function schemaOf(model: CatalogModel, name: string): CatalogModel['schemas'][number] | undefined {
  let m = schemaIndex.get(model);
  if (!m) schemaIndex.set(model, (m = new Map(model.schemas.map((s) => [s.name, s]))));
  return m.get(name);
}

export function reachesSchema(ctx: CatalogLintContext, schema: string, role: string): boolean {
  return schemaOf(ctx.model, schema)?.usableBy.includes(role) ?? false;
}

/** Effective privileges of an API role on a relation it can reach (has_table_privilege: membership and PUBLIC count). */
export function privilegesOf(ctx: CatalogLintContext, rel: Relation, role: string): TablePrivilege[] {
  if (!reachesSchema(ctx, rel.schema, role)) return [];
  return rel.apiAccess[role] ?? [];
}

/** Whether `role` holds `priv` on the whole relation (every column, present and future). */
export function hasTablePrivilege(ctx: CatalogLintContext, rel: Relation, role: string, priv: TablePrivilege): boolean {
  return privilegesOf(ctx, rel, role).includes(priv);
}

/** Privileges Postgres also grants per column (pg_attribute.attacl); DELETE, TRUNCATE and TRIGGER are table-wide only. */
const COLUMN_PRIVILEGES: ReadonlySet<string> = new Set(['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']);

/**
 * Whether `role` can run the command `priv` on the relation at all: a table privilege, or the
 * same privilege on one of its columns (GRANT UPDATE (note) ON t). Either way the command runs
 * and the policies for it decide which rows it touches, so a column grant counts wherever a rule
 * asks "who does this policy let through" — has_table_privilege (apiAccess) is false for it.
 */
export function hasPrivilege(ctx: CatalogLintContext, rel: Relation, role: string, priv: TablePrivilege): boolean {
  if (hasTablePrivilege(ctx, rel, role, priv)) return true;
  return COLUMN_PRIVILEGES.has(priv) && (rel.columnGrants?.length ?? 0) > 0 && columnPrivilegesOf(ctx, rel, role).has(priv);
}

/** Whether `role` can read `column`: SELECT on the whole table, or a grant on that column (GRANT SELECT (id, username) …). */
export function canReadColumn(ctx: CatalogLintContext, rel: Relation, role: string, column: string): boolean {
  return hasTablePrivilege(ctx, rel, role, 'SELECT') || (columnPrivilegesOf(ctx, rel, role).get('SELECT')?.includes(column) ?? false);
}

/** Whether `role` can set `column` with `priv` (INSERT or UPDATE): on the whole table, or by a grant on that column. */
export function canWriteColumn(ctx: CatalogLintContext, rel: Relation, role: string, priv: 'INSERT' | 'UPDATE', column: string): boolean {
  return hasTablePrivilege(ctx, rel, role, priv) || (columnPrivilegesOf(ctx, rel, role).get(priv)?.includes(column) ?? false);
}

/** The privilege a policy command needs ('ALL' needs any of them). */
export function privilegeFor(command: Command): TablePrivilege {
  return command;
}

/** API roles that can run `command` on the relation (privilege plus schema usage). */
export function rolesAllowed(ctx: CatalogLintContext, rel: Relation, command: Command): string[] {
  return ctx.apiRoles.filter((r) => hasPrivilege(ctx, rel, r, privilegeFor(command)));
}

type Applicable = { all: Policy[]; permissive: Policy[]; restrictive: Policy[] };
const applicable = new WeakMap<Relation, Map<string, Record<Command, Applicable>>>();

function noPolicies(): Applicable {
  return { all: [], permissive: [], restrictive: [] };
}

function addPolicy(a: Applicable, p: Policy): void {
  a.all.push(p);
  (p.permissive ? a.permissive : a.restrictive).push(p);
}

/**
 * Policies of `rel` that apply to `role` for `command`, in the relation's order.
 * Rules ask this for every role and command of every table, several times over:
 * the answer is worked out once per relation and role. Do not mutate the result.
 */
export function policiesFor(model: CatalogModel, rel: Relation, role: string, command: Command, permissive?: boolean): readonly Policy[] {
  let byRole = applicable.get(rel);
  if (!byRole) applicable.set(rel, (byRole = new Map()));
  let byCommand = byRole.get(role);
  if (!byCommand) {
    byCommand = { SELECT: noPolicies(), INSERT: noPolicies(), UPDATE: noPolicies(), DELETE: noPolicies() };
    for (const p of rel.policies) {
      if (!policyAppliesTo(model, p, role)) continue;
      // A policy is for one command or for ALL of them (commandCovers).
      if (p.command === 'ALL') for (const c of COMMANDS) addPolicy(byCommand[c], p);
      else addPolicy(byCommand[p.command], p);
    }
    byRole.set(role, byCommand);
  }
  const a = byCommand[command];
  return permissive === undefined ? a.all : permissive ? a.permissive : a.restrictive;
}

/**
 * A policy holds a sub-select in USING or in WITH CHECK: Postgres keeps one flag for both
 * (RowSecurityPolicy.hassublinks), and expands the relations a policy reads again when it is set.
 */
export function holdsSubselect(ctx: CatalogLintContext, p: Policy): boolean {
  const a = ctx.analysis(p);
  return Boolean(a.using?.hasSubLink || a.check?.hasSubLink);
}

/** The commands a policy applies to. */
export function commandsOf(p: Policy): Command[] {
  return p.command === 'ALL' ? [...COMMANDS] : [p.command];
}

/** API roles a policy applies to (directly, through membership, or via PUBLIC). */
export function apiRolesOf(ctx: CatalogLintContext, p: Policy): string[] {
  return ctx.apiRoles.filter((r) => policyAppliesTo(ctx.model, p, r));
}

/** Superusers and BYPASSRLS roles skip every policy (BYPASSRLS is not inherited through membership). */
const bypassing = new WeakMap<CatalogModel, ReadonlySet<string>>();

export function bypassesRls(model: CatalogModel, role: string): boolean {
  let names = bypassing.get(model);
  if (!names) bypassing.set(model, (names = new Set(model.roles.filter((r) => r.superuser || r.bypassRls).map((r) => r.name))));
  return names.has(role);
}

/**
 * Whether Postgres never evaluates the policy: RLS is off on its table
 * (relrowsecurity false: policies are stored but not applied), or every role it
 * is TO is a superuser or has BYPASSRLS, so no query ever applies it (a `to
 * service_role` policy). Its cost is nobody's — until RLS is enabled, which
 * policy-exists-rls-disabled asks for.
 */
export function neverEvaluated(model: CatalogModel, rel: Relation, p: Policy): boolean {
  if (!rel.rls) return true;
  return p.roles.length > 0 && !p.roles.includes(PUBLIC) && p.roles.every((r) => bypassesRls(model, r));
}

/** Relations that can hold rows and carry RLS: plain and partitioned tables. */
export function isTable(rel: Relation): boolean {
  return rel.kind === 'table' || rel.kind === 'partitioned';
}

/** Not in a schema an extension created (its objects are the extension's, not the user's). */
export function isUserRelation(ctx: CatalogLintContext, rel: Relation): boolean {
  return !schemaOf(ctx.model, rel.schema)?.fromExtension;
}

/** `anon`, `anon and authenticated`, `anon, authenticated and x`. */
export function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** A lower-case verb phrase for a privilege: SELECT → read. */
export function verbOf(priv: string): string {
  return ({ SELECT: 'read', INSERT: 'insert into', UPDATE: 'update', DELETE: 'delete from', TRUNCATE: 'truncate' } as Record<string, string>)[priv] ?? priv.toLowerCase();
}

/**
 * Column-level grants that reach `role` (pg_attribute.attacl): to the role, to
 * a role it is a member of, or to PUBLIC. privilege → columns. Table-level
 * privileges (apiAccess) already cover every column and are not repeated here.
 */
export function columnPrivilegesOf(ctx: CatalogLintContext, rel: Relation, role: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!reachesSchema(ctx, rel.schema, role)) return out;
  const c = privilegeClosure(ctx.model, role);
  const table = new Set<string>(privilegesOf(ctx, rel, role));
  for (const g of rel.columnGrants ?? []) {
    if (g.grantee !== PUBLIC && !c.has(g.grantee)) continue;
    for (const p of g.privileges) {
      if (table.has(p)) continue;
      const cols = out.get(p) ?? [];
      if (!cols.includes(g.column)) cols.push(g.column);
      out.set(p, cols);
    }
  }
  return out;
}

const relationIndex = new WeakMap<CatalogModel, ReadonlyMap<string, Relation>>();

/** Relations by `schema.table` (once per model). */
export function relationsByName(model: CatalogModel): ReadonlyMap<string, Relation> {
  let m = relationIndex.get(model);
  if (!m) relationIndex.set(model, (m = new Map(model.relations.map((r) => [r.qualified, r]))));
  return m;
}

const triggerFunctionIndex = new WeakMap<CatalogModel, ReadonlyMap<string, FunctionInfo>>();

/**
 * The PL/pgSQL function a trigger runs (`trigger.function` is `schema.name`; a trigger
 * function takes no arguments, so the name is enough), or undefined for any other
 * language: only PL/pgSQL trigger bodies are read. Indexed once per model.
 */
export function plpgsqlTriggerFunction(model: CatalogModel, trigger: { function: string }): FunctionInfo | undefined {
  let m = triggerFunctionIndex.get(model);
  if (!m) {
    const byName = new Map<string, FunctionInfo>();
    for (const fn of model.functions) {
      const key = `${fn.schema}.${fn.name}`;
      if (fn.isTrigger && fn.plpgsqlSource && !byName.has(key)) byName.set(key, fn);
    }
    triggerFunctionIndex.set(model, (m = byName));
  }
  return m.get(trigger.function);
}

const sqlFunctionIndex = new WeakMap<CatalogModel, ReadonlyMap<string, readonly FunctionInfo[]>>();

/** The user's functions with a body the lint reads (LANGUAGE sql or plpgsql), by `schema.name`, every overload (once per model). */
export function helpersByName(model: CatalogModel): ReadonlyMap<string, readonly FunctionInfo[]> {
  let m = sqlFunctionIndex.get(model);
  if (!m) {
    const byName = new Map<string, FunctionInfo[]>();
    for (const fn of model.functions) {
      if ((fn.body === null && !fn.plpgsqlSource) || fn.fromExtension) continue;
      const key = `${fn.schema}.${fn.name}`;
      byName.set(key, [...(byName.get(key) ?? []), fn]);
    }
    sqlFunctionIndex.set(model, (m = byName));
  }
  return m;
}

/**
 * The user functions (`schema.name`) a helper's body calls: by their qualified name, or by a bare
 * one that names a LANGUAGE sql or plpgsql function of the first schema on its search_path
 * (`is_org_admin(org_id)` in a body without SET search_path: public.is_org_admin, as a request's
 * search_path finds it). A bare name no such function has is a built-in (`now()`) and is left out.
 */
export function helperCalls(ctx: CatalogLintContext, fn: FunctionInfo): string[] {
  const a = ctx.functionAnalysis(fn);
  const helpers = helpersByName(ctx.model);
  return [...new Set([...a.calls, ...a.bareCalls.filter((c) => helpers.has(c))])];
}

/**
 * Whether a helper (`schema.name`) asks who calls it, itself or through the functions it calls
 * (helperCalls: LANGUAGE sql or plpgsql, by a qualified name or a bare one, followed): 'asks' when every overload does ('v_actor
 * := public.require_staff()' whose body reads auth.uid()), 'never' when every overload has a readable
 * body that asks nothing and calls only such helpers, 'unknown' otherwise (a body that cannot be read,
 * overloads that differ, a name with no function). A call back into a helper being read counts as asking nothing.
 */
export function callerQuestion(ctx: CatalogLintContext, name: string, seen: Set<string> = new Set()): 'asks' | 'never' | 'unknown' {
  if (seen.has(name)) return 'never';
  seen.add(name);
  const verdicts = (helpersByName(ctx.model).get(name) ?? []).map((fn): 'asks' | 'never' | 'unknown' => {
    const own = ctx.readableBody(fn) !== null ? ctx.functionAnalysis(fn).writes?.asksCaller : undefined;
    if (own === undefined) return 'unknown';
    if (own) return 'asks';
    const callees = helperCalls(ctx, fn).map((c) => callerQuestion(ctx, c, seen));
    return callees.includes('asks') ? 'asks' : callees.every((v) => v === 'never') ? 'never' : 'unknown';
  });
  return verdicts.length > 0 && verdicts.every((v) => v === verdicts[0]) ? verdicts[0]! : 'unknown';
}

/**
 * The analyses of a LANGUAGE sql helper called by `name` when the planner inlines it whichever
 * overload is meant (each one inlinable), else none: inlined, its body stands where the call stood.
 */
export function inlinedHelper(ctx: CatalogLintContext, name: string): readonly FunctionAnalysis[] {
  const analyses = (helpersByName(ctx.model).get(name) ?? []).map((f) => ctx.functionAnalysis(f));
  return analyses.length === 0 || analyses.some((x) => x.notInlined !== null) ? [] : analyses;
}

/**
 * The rows of other tables a policy looks the caller up in, and the columns it
 * decides on there (`exists (select 1 from profiles p where p.id = auth.uid()
 * and p.is_admin)`): in its expressions, or inside a LANGUAGE sql or plpgsql
 * helper it calls (is_admin(), `via` names it), where arguments filled with the
 * caller's id (`has_role(auth.uid(), 'admin')`) stand for the caller.
 */
export function policyCallerFacts(ctx: CatalogLintContext, p: Policy): Array<CallerFact & { via?: string; loose: string[] }> {
  const a = ctx.analysis(p);
  const byName = relationsByName(ctx.model);
  // A value of another table is held in the looked-up one when a foreign key there points at the column (posts.author_id → profiles.id).
  const held = (looked: string, column: string, to: { table: string; column: string }) =>
    byName.get(to.table)?.foreignKeys.some((fk) => fk.refTable === looked && fk.columns.length === 1 && fk.columns[0] === to.column && fk.refColumns[0] === column) ?? false;
  const looseOf = (f: CallerFact, param: (position: number) => boolean) =>
    f.compared.filter(({ column, to }) => to === 'constant' || (typeof to === 'number' ? param(to) : typeof to === 'object' && !held(f.table, column, to))).map((c) => c.column);
  const facts: Array<CallerFact & { via?: string; loose: string[] }> = [...(a.using?.callerFacts ?? []), ...(a.check?.callerFacts ?? [])].map((f) => ({ ...f, loose: looseOf(f, () => false) }));
  const exprs = [a.using, a.check].filter((e) => e !== null);
  for (const name of new Set(exprs.flatMap((e) => e.calls))) {
    const callerArgs = [...new Set(exprs.flatMap((e) => e.callerArgs[name] ?? []))];
    // A parameter some call fills with a constant compares the column with that constant.
    const constArgs = new Set(exprs.flatMap((e) => e.constArgs[name] ?? []));
    for (const fn of helpersByName(ctx.model).get(name) ?? []) {
      for (const f of ctx.functionFacts(fn, callerArgs)) facts.push({ ...f, via: `${name}()`, loose: looseOf(f, (i) => constArgs.has(i)) });
    }
  }
  return facts;
}

/**
 * Whether `column` of the looked-up table is a key of its own that the policy never compares with a
 * value no row may hold yet: the caller cannot give their row a value another row holds
 * (`w.id = sets.workout_id`, workouts.id unique). Compared with a constant or with another table's
 * column that no foreign key ties to it (`m.invite_code in (select code from invites)`), the first
 * to write a free value holds it: no guard.
 */
export function heldKey(looked: Relation, fact: { loose: readonly string[] }, column: string): boolean {
  return !fact.loose.includes(column) && uniqueWithin(looked, (c) => c === column);
}

const helperTests = new WeakMap<CatalogModel, HelperTest>();

/**
 * Functions (`schema.name`) that yield nothing, NULL or false without a user:
 * `is_org_owner(org)`, `my_teams()`, a LANGUAGE sql body or a PL/pgSQL one that
 * is one RETURN. A name counts when every overload does; each name is worked
 * out when first asked, once per model (a PL/pgSQL body is parsed only then).
 */
export function callerHelpers(ctx: CatalogLintContext): HelperTest {
  let h = helperTests.get(ctx.model);
  if (!h) {
    const overloads = new Map<string, FunctionInfo[]>();
    for (const fn of ctx.model.functions) {
      if (fn.fromExtension) continue;
      const key = `${fn.schema}.${fn.name}`;
      overloads.set(key, [...(overloads.get(key) ?? []), fn]);
    }
    const verdicts = new Map<string, boolean>();
    h = {
      has(key) {
        let v = verdicts.get(key);
        if (v === undefined) {
          // `name#i`: the helper handed the caller's id as its argument i (`has_role(auth.uid(), 'admin')`).
          const handed = /^(.*)#(\d+)$/.exec(key);
          const fns = overloads.get(handed ? handed[1]! : key) ?? [];
          // A helper that calls itself, directly or through others, is not taken to need a user there.
          verdicts.set(key, false);
          v = fns.length > 0 && fns.every((fn) => (!!ctx.readableBody(fn)?.single && (handed ? ctx.functionAnalysis(fn).needsUserGivenCaller(Number(handed[2]), h!) : ctx.functionAnalysis(fn).needsUser(h!))) || gateNeedsUser(ctx, fn, handed ? Number(handed[2]) : null));
          verdicts.set(key, v);
        }
        return v;
      },
    };
    helperTests.set(ctx.model, h);
  }
  return h;
}

/**
 * A helper that is a gate on the caller's row (callerGate: `select exists (…) into r; return r;` in PL/pgSQL, or a
 * SELECT INTO and a RETURN of a test of it) needs a user when every way through it needs that row: without one the
 * caller's id is NULL, `<key> = NULL` finds no row, and the helper yields false or NULL. The id is the argument at
 * `handed` (`is_admin(auth.uid())`), or auth.uid() read in the body; the other arguments are unknown here.
 */
function gateNeedsUser(ctx: CatalogLintContext, fn: FunctionInfo, handed: number | null): boolean {
  const gate = ctx.functionAnalysis(fn).callerGate;
  if (!gate) return false;
  const args = Array.from({ length: (handed ?? -1) + 1 }, (_, i): GateArg => (i === handed ? 'caller' : null));
  const ways = gate.passes(args);
  return ways !== null && ways.every((w) => w.includes(ROW_FOUND));
}

const gateLookups = new WeakMap<CatalogModel, (name: string) => ReadonlySet<string> | null>();

/**
 * For ExprAnalysis.onlyForRoles: the roles a helper (`schema.name`) can be true
 * for, when every overload is a role test; null otherwise.
 */
export function helperRoleGate(ctx: CatalogLintContext): (name: string) => ReadonlySet<string> | null {
  let f = gateLookups.get(ctx.model);
  if (!f) {
    const byName = helpersByName(ctx.model);
    f = (name) => {
      const fns = byName.get(name);
      if (!fns) return null;
      const gates = fns.map((fn) => ctx.functionAnalysis(fn).roleGate);
      return gates.every((g) => g !== null) ? new Set(gates.flatMap((g) => [...g!])) : null;
    };
    gateLookups.set(ctx.model, f);
  }
  return f;
}

/**
 * Whether a policy can let any row through for INSERT or UPDATE: not when the
 * expression that judges the written row (WITH CHECK, else USING) or, for
 * UPDATE, the one that picks the rows (USING) is a constant false or NULL
 * (`using (false)`, `with check (false)`: "never through the API").
 */
export function admitsWrite(ctx: CatalogLintContext, p: Policy, command: 'INSERT' | 'UPDATE'): boolean {
  const a = ctx.analysis(p);
  if (command === 'UPDATE' && (a.using?.neverTrue ?? false)) return false;
  return !((a.check ?? a.using)?.neverTrue ?? false);
}

/**
 * Whether a request without a user can pass some permissive INSERT or UPDATE
 * policy of `rel` for `role` (policies tied to auth.uid() leave anon no row to
 * write). A table without RLS is writable by whoever holds the privilege.
 */
export function writableWithoutUser(ctx: CatalogLintContext, rel: Relation, role: string): boolean {
  if (!rel.rls) return true;
  return (['INSERT', 'UPDATE'] as const).some((cmd) =>
    policiesFor(ctx.model, rel, role, cmd, true).some((p) => {
      if (!admitsWrite(ctx, p, cmd)) return false;
      const a = ctx.analysis(p);
      const judged = [cmd === 'INSERT' ? a.check : (a.check ?? a.using), cmd === 'UPDATE' ? a.using : null].filter((e) => e !== null);
      return judged.length === 0 || !judged.every((e) => e.needsUser(callerHelpers(ctx)));
    }),
  );
}

/**
 * Whether a user's row of `rel` is made for them when they sign up: an enabled
 * INSERT trigger (no WHEN) on auth.users whose PL/pgSQL function inserts into
 * `rel` (the usual handle_new_user). Without one, the user's first row is the
 * one they INSERT themselves, with whatever values they choose.
 */
export function madeAtSignUp(ctx: CatalogLintContext, rel: Relation): boolean {
  const users = relationsByName(ctx.model).get('auth.users');
  return (users?.triggers ?? []).some((t) => {
    if (!t.enabled || t.conditional || t.level !== 'ROW' || !t.events.includes('INSERT')) return false;
    const fn = plpgsqlTriggerFunction(ctx.model, t);
    return fn !== undefined && ctx.functionAnalysis(fn).triggerInserts.includes(rel.qualified);
  });
}

/** Whether `role` may DELETE some row of `rel` (its own, at least): the privilege, and no RLS or a permissive DELETE policy that is not constantly false. */
export function mayDelete(ctx: CatalogLintContext, rel: Relation, role: string): boolean {
  if (!hasPrivilege(ctx, rel, role, 'DELETE')) return false;
  return !rel.rls || policiesFor(ctx.model, rel, role, 'DELETE', true).some((p) => !(ctx.analysis(p).using?.neverTrue ?? false));
}

/**
 * Columns every row written by `command` gets set to the caller's id by an
 * enabled BEFORE … FOR EACH ROW trigger without a WHEN condition (for UPDATE,
 * one not limited to UPDATE OF other columns): `new.user_id := auth.uid()`.
 * Whatever the caller sends, the row is theirs, so an unbound WITH CHECK on
 * those columns lets them write nothing as someone else.
 */
export function columnsSetToCaller(ctx: CatalogLintContext, rel: Relation, command: 'INSERT' | 'UPDATE'): Set<string> {
  const out = new Set<string>();
  // Supabase Storage writes storage.objects itself and sets owner / owner_id from the JWT's sub
  // (supabase.com/docs/guides/storage/security/ownership): a client cannot name another owner,
  // unless the schema is also served by PostgREST, where a client writes the row as it likes.
  if (rel.qualified === 'storage.objects' && !ctx.exposed.has('storage')) for (const c of ['owner', 'owner_id']) if (rel.columns.some((x) => x.name === c)) out.add(c);
  for (const t of rel.triggers) {
    if (!t.enabled || t.timing !== 'BEFORE' || t.level !== 'ROW' || t.conditional || !t.events.includes(command)) continue;
    const fn = plpgsqlTriggerFunction(ctx.model, t);
    if (!fn) continue;
    for (const { column, ops } of ctx.functionAnalysis(fn).setsToCaller) {
      if ((ops === null || ops.includes(command)) && (command === 'INSERT' || t.columns.length === 0 || t.columns.includes(column))) out.add(column);
    }
  }
  return out;
}

/**
 * Whether an enabled BEFORE ROW trigger on `event` may keep `column` from holding what the caller
 * writes: one limited to UPDATE OF it, or one whose PL/pgSQL function assigns `new.<column>`
 * (`new.created_by := old.created_by`) or raises an error while reading it (`if new.org_id <> … then
 * raise exception`). A function in another language (moddatetime) is not read: it guards nothing here.
 */
export function triggerGuards(ctx: CatalogLintContext, rel: Relation, column: string, event: 'INSERT' | 'UPDATE'): boolean {
  const esc = column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const named = new RegExp(`\\bnew\\s*\\.\\s*"?${esc}"?(?![\\w$])`, 'i');
  const assigned = new RegExp(`\\bnew\\s*\\.\\s*"?${esc}"?\\s*:?=(?!=)`, 'i');
  return rel.triggers.some((t) => {
    if (!t.enabled || t.timing !== 'BEFORE' || t.level !== 'ROW' || !t.events.includes(event)) return false;
    if (event === 'UPDATE' && t.columns.includes(column)) return true;
    if (event === 'UPDATE' && t.columns.length > 0) return false;
    const src = plpgsqlTriggerFunction(ctx.model, t)?.plpgsqlSource ?? '';
    return assigned.test(src) || (named.test(src) && /\braise\b(?!\s+(notice|warning|info|log|debug)\b)/i.test(src));
  });
}

/** A relation as SQL in a fix: `public."Weird Table"` (messages keep the plain `schema.table`). */
export function sqlName(rel: { schema: string; name: string }): string {
  return `${quoteIdent(rel.schema)}.${quoteIdent(rel.name)}`;
}

/** Column names as SQL in a fix: `"User Id", org_id`. */
export function sqlColumns(columns: readonly string[]): string {
  return columns.map(quoteIdent).join(', ');
}

const leafIndex = new WeakMap<CatalogModel, ReadonlyMap<string, readonly Relation[]>>();

/**
 * The leaf partitions under each partitioned table (through sub-partitioned
 * levels), by `schema.table`, once per model. A query on the parent scans each
 * leaf with the leaf's own indexes, so an index on every leaf serves as well as
 * a partitioned index on the parent (which creates exactly those).
 */
export function leafPartitions(model: CatalogModel): ReadonlyMap<string, readonly Relation[]> {
  let out = leafIndex.get(model);
  if (!out) {
    const children = new Map<string, Relation[]>();
    for (const r of model.relations) if (r.partitionOf) children.set(r.partitionOf, [...(children.get(r.partitionOf) ?? []), r]);
    const leavesOf = (q: string): Relation[] => (children.get(q) ?? []).flatMap((c) => (c.kind === 'partitioned' ? leavesOf(c.qualified) : [c]));
    const m = new Map<string, Relation[]>();
    for (const q of children.keys()) m.set(q, leavesOf(q));
    leafIndex.set(model, (out = m));
  }
  return out;
}

/**
 * Whether an index usable for `column = value` leads on the column: valid, not
 * partial, first key the column, on the table or — for a partitioned table — on
 * every leaf partition (see leafPartitions).
 */
export function indexLeadsOn(model: CatalogModel, rel: Relation, column: string): boolean {
  const leads = (r: Relation) => r.indexes.some((i) => i.valid && !i.partial && i.columns[0] === column);
  if (leads(rel)) return true;
  const leaves = leafPartitions(model).get(rel.qualified);
  return leaves !== undefined && leaves.length > 0 && leaves.every(leads);
}
