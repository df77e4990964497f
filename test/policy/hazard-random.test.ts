/**
 * Each step's hazard label against what it really does, one step at a time, in
 * plans that mix widening and narrowing steps (soundness.test.ts judges only whole
 * plans without a widening step, and prefixes against the two ends). Random pairs
 * of policy states over a table of rows owned by user 1, user 2 or nobody; every
 * state a plan passes through is probed on Postgres as anon, user 1 and user 2
 * (authenticated with auth.uid() set), a role that inherits authenticated, and the
 * table's owner (bound by FORCE): rows seen, UPDATE and DELETE with a WHERE (so
 * the SELECT policies join in, as behind PostgREST), INSERT with and without
 * RETURNING.
 *
 * A step labelled narrows or neutral must let nobody do anything it could not do
 * just before. A replacement is judged as one change (its label is on the create):
 * from the state before its first step to the state after its second, when no
 * widening step runs in between. A step that says "no change in access" must
 * change nothing at all.
 *
 * The second part puts a table T whose policy reads a list table L (EXISTS, NOT EXISTS,
 * IN, NOT IN, a count, an ARRAY) beside random changes of L: each of L's steps is judged
 * by what the actors can do on L and on T.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { parseConfig, type Config } from '../../cli/core/config.js';
import { diffPolicies } from '../../cli/core/policy/diff.js';
import { applyPlan } from '../../cli/core/policy/apply.js';
import { isWidening, policyLabel } from '../../cli/core/policy/effects.js';
import { stepSql } from '../../cli/core/policy/render.js';
import type { Step } from '../../cli/core/policy/plan.js';
import type { Sql } from '../../cli/core/db.js';
import { rolesSql } from './project.js';
import { rng } from './fixtures.js';
import { capabilitiesOf, COMMANDS, flipEdit, pick, randomPolicy as drawPolicy, stateSql, validClauses, type PolicyState, type Rand, type TableState } from './random-policies.js';

const OWNER = 'rg_hz_owner';
const MEMBER = 'rg_hz_member';
/** [label, role, auth.uid()] */
const ACTORS: Array<[string, string, string]> = [
  ['anon', 'anon', ''],
  ['user 1', 'authenticated', '1'],
  ['user 2', 'authenticated', '2'],
  ['member as user 1', MEMBER, '1'],
  ['owner', OWNER, ''],
];
const GRANTEES = ['anon', 'authenticated', 'PUBLIC'];
const PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];
const EXPRS = [
  '(uid = auth.uid())',
  '(uid = (select auth.uid()))',
  'x',
  'y',
  '(x and y)',
  '(x or uid = auth.uid())',
  '(auth.uid() is not null)',
  '(not x)',
  'true',
  'false',
  '(uid is null)',
  '(y and uid = (select auth.uid()))',
];
const ROLE_SETS = [['anon'], ['authenticated'], ['PUBLIC'], [MEMBER], ['anon', 'authenticated'], [OWNER], ['authenticated', MEMBER]];

const randomPolicy = (r: Rand, name: string) => drawPolicy(r, name, ROLE_SETS, EXPRS, 5);

function randomState(r: Rand): TableState {
  return {
    rls: r(6) > 0,
    force: r(3) === 0,
    // Mostly granted, so the policies decide.
    grants: Object.fromEntries(GRANTEES.map((g) => [g, PRIVILEGES.filter(() => r(g === 'PUBLIC' ? 6 : 4) > 0 === (g !== 'PUBLIC'))])),
    policies: ['a', 'b', 'c', 'd'].filter(() => r(2) === 0).map((n) => randomPolicy(r, n)),
  };
}

/** One edit of the kind a pull request makes. */
function edit(r: Rand, s: TableState): TableState {
  const t: TableState = structuredClone(s);
  const p = t.policies.length ? t.policies[r(t.policies.length)]! : undefined;
  const k = r(15);
  switch (k) {
    case 0:
    case 1:
    case 2:
      flipEdit(r, t, k, GRANTEES, PRIVILEGES);
      break;
    case 3:
      if (p) t.policies = t.policies.filter((q) => q !== p);
      break;
    case 4:
      t.policies.push(randomPolicy(r, pick(r, ['e', 'f'])));
      break;
    case 5: // a condition more, on USING or WITH CHECK
      if (p?.using && r(2) === 0) p.using = `(${p.using} and ${pick(r, EXPRS)})`;
      else if (p?.check) p.check = `(${p.check} and ${pick(r, EXPRS)})`;
      break;
    case 6: // an alternative more
      if (p?.using) p.using = `(${p.using} or ${pick(r, EXPRS)})`;
      break;
    case 7: // the request helper moved into (or out of) a sub-select
      if (p) {
        const swap = (e: string | null) =>
          e === null ? null : e.includes('(select auth.uid())') ? e.replaceAll('(select auth.uid())', 'auth.uid()') : e.replaceAll('auth.uid()', '(select auth.uid())');
        p.using = swap(p.using);
        p.check = swap(p.check);
      }
      break;
    case 8:
      if (p) p.roles = pick(r, ROLE_SETS);
      break;
    case 9: // the role that inherits instead of the one it inherits from, or back
      if (p) p.roles = p.roles.map((x) => (x === 'authenticated' ? MEMBER : x === MEMBER ? 'authenticated' : x)).filter((x, i, xs) => xs.indexOf(x) === i);
      break;
    case 10:
      if (p) p.permissive = !p.permissive;
      break;
    case 11:
      if (p) Object.assign(p, validClauses({ ...p, cmd: pick(r, COMMANDS) }));
      break;
    case 12: // renamed, and tightened or loosened
      if (p) {
        p.name = `${p.name}_v2`;
        if (p.using) p.using = r(2) ? `(${p.using} and ${pick(r, EXPRS)})` : `(${p.using} or ${pick(r, EXPRS)})`;
      }
      break;
    case 13: // WITH CHECK removed (drop and create)
      if (p?.check && p.using) p.check = null;
      else if (p && p.cmd !== 'select' && p.cmd !== 'delete') p.check = pick(r, EXPRS);
      break;
    case 14:
      t.policies.push({ ...randomPolicy(r, 'g'), permissive: false });
      break;
  }
  t.policies = t.policies.filter((q, i) => t.policies.findIndex((o) => o.name === q.name) === i);
  return t;
}

const SCAFFOLD = `
${rolesSql([['anon', 'nologin'], ['authenticated', 'nologin'], ['service_role', 'nologin bypassrls'], [OWNER, 'nologin'], [MEMBER, 'nologin']])}
grant authenticated to ${MEMBER};
create schema auth;
grant usage on schema auth to public;
-- Supabase's auth.uid() reads the request's claims; here the probe sets rg.uid.
create function auth.uid() returns int language sql stable as $$ select nullif(current_setting('rg.uid', true), '')::int $$;
-- Every capability of the current role on t, each statement undone. UPDATE and DELETE
-- name their row in a WHERE, as PostgREST does: the SELECT policies apply to them too.
create function public.rg_hz_probe(t regclass) returns text[] language plpgsql as $$
declare
  caps text[] := '{}';
  ids int[];
  n int;
  change text;
  ret text;
  v record;
begin
  begin
    execute format('select array_agg(id order by id) from %s', t) into ids;
    caps := caps || array(select 'see ' || i from unnest(ids) i);
  exception when insufficient_privilege then null;
  end;
  for k in 1..12 loop
    foreach change in array array['delete', 'set x = not coalesce(x, false)', 'set uid = 2', 'set uid = null'] loop
      begin
        if change = 'delete' then
          execute format('delete from %s where id = $1', t) using k;
        else
          execute format('update %s %s where id = $1', t, change) using k;
        end if;
        get diagnostics n = row_count;
        if n > 0 then caps := caps || (change || ' on ' || k); end if;
        raise sqlstate 'RGUND';
      exception when sqlstate 'RGUND' or insufficient_privilege then null;
      end;
    end loop;
  end loop;
  for v in select u, a, b from (values (1), (2), (null::int)) vu(u), (values (true), (false)) va(a), (values (true), (false)) vb(b) loop
    foreach ret in array array['', ' returning id'] loop
      begin
        execute format('insert into %s (id, uid, x, y) values (1000, $1, $2, $3)%s', t, ret) using v.u, v.a, v.b;
        caps := caps || format('insert%s (%s, %s, %s)', ret, v.u, v.a, v.b);
        raise sqlstate 'RGUND';
      exception when sqlstate 'RGUND' or insufficient_privilege then null;
      end;
    end loop;
  end loop;
  return caps;
end $$;`;

function tableSql(table: string): string {
  return [
    `create table ${table} (id int primary key, uid int, x boolean, y boolean);`,
    `insert into ${table} select row_number() over (), u, a, b from (values (1), (2), (null::int)) vu(u), (values (true), (false)) va(a), (values (true), (false)) vb(b);`,
    `alter table ${table} owner to ${OWNER};`,
  ].join('\n');
}


/** The capabilities of each actor on `table`, after running `prefix` (all undone). */
const capabilities = (db: Sql, table: string, prefix: readonly string[] = []) =>
  capabilitiesOf(
    db,
    table,
    'public.rg_hz_probe',
    ACTORS.map(([label, role, uid]) => ({
      label,
      setup: async (tx) => {
        await tx.unsafe(`select set_config('rg.uid', $1, true)`, [uid]);
        await tx.unsafe(`set local role ${role}`);
      },
    })),
    prefix,
  );

const diffSets = (now: Set<string>, before: Set<string>) => [...now].filter((c) => !before.has(c));

/** A drop and the create that replaces it: the drop's effect names the create's policy. */
const isReplacementPair = (d: Extract<Step, { kind: 'drop-policy' }>, c: Extract<Step, { kind: 'create-policy' }>) =>
  d.policy.name === c.policy.name || d.effects[0]!.includes(`replaced by ${policyLabel(c.policy.name)}`);

/** A step's claim that it changes nothing (renames, helpers moved into a sub-select, exempt roles). */
const claimsNoChange = (s: Step) => s.kind === 'rename-policy' || s.effects.some((e) => /no change in access|the same condition/.test(e));

let config: Config;
let a: TestDatabase;
let b: TestDatabase;

beforeAll(async () => {
  config = parseConfig({}, null, '/nonexistent');
  a = await freshDatabase('rg_hz_a');
  b = await freshDatabase('rg_hz_b');
  await a.sql.unsafe(SCAFFOLD);
  await b.sql.unsafe(SCAFFOLD);
});

afterAll(async () => {
  await a?.drop();
  await b?.drop();
});

const show = (steps: readonly Step[]) => steps.map((s) => `  ${s.hazard}: ${stepSql(s)}`).join('\n');

/**
 * Judge each step of `steps` (one table's, in plan order) by the capabilities on `probed`
 * (the table itself, and any table whose policies read it) before and after it; problems
 * are pushed to `problems`. Returns how many steps were judged.
 */
async function judgeSteps(db: Sql, steps: readonly Step[], probed: readonly string[], problems: string[]): Promise<number> {
  const sqls = steps.map(stepSql);
  const capsAfter = async (k: number) => {
    const all = new Map<string, Set<string>>();
    for (const t of probed) {
      for (const [actor, caps] of await capabilities(db, t, sqls.slice(0, k))) {
        const set = all.get(actor) ?? all.set(actor, new Set()).get(actor)!;
        for (const c of caps) set.add(`${t}: ${c}`);
      }
    }
    return all;
  };
  // states[k]: after the first k steps.
  const states: Array<Map<string, Set<string>>> = [];
  for (let k = 0; k <= steps.length; k++) states.push(await capsAfter(k));
  const gains = (from: number, to: number) =>
    ACTORS.flatMap(([label]) => {
      const g = diffSets(states[to]!.get(label)!, states[from]!.get(label)!);
      return g.length ? [`${label} gains ${g.slice(0, 3).join(', ')}${g.length > 3 ? ', …' : ''}`] : [];
    });
  const losses = (from: number, to: number) =>
    ACTORS.flatMap(([label]) => {
      const l = diffSets(states[from]!.get(label)!, states[to]!.get(label)!);
      return l.length ? [`${label} loses ${l.slice(0, 3).join(', ')}`] : [];
    });
  // The other half of a replacement (drop + create, the create carries the label).
  const partner = (i: number): number => {
    const s = steps[i]!;
    if (s.kind === 'drop-policy' && s.replacedBy) return steps.findIndex((c) => c.kind === 'create-policy' && c.replaces && isReplacementPair(s, c));
    if (s.kind === 'create-policy' && s.replaces) return steps.findIndex((d) => d.kind === 'drop-policy' && d.replacedBy && isReplacementPair(d, s));
    return -1;
  };
  let judged = 0;
  for (let k = 1; k <= steps.length; k++) {
    const s = steps[k - 1]!;
    const j = partner(k - 1);
    const label = s.kind === 'drop-policy' && j >= 0 ? steps[j]!.hazard : s.hazard;
    if (isWidening(label)) continue;
    let from = k - 1;
    if (j > k - 1 && s.kind === 'drop-policy') continue; // judged with its create
    if (j >= 0 && j < k - 1) from = j;
    if (steps.slice(from, k - 1).some((x) => isWidening(x.hazard))) continue;
    judged++;
    const g = gains(from, k);
    if (g.length) problems.push(`${s.table}: step ${k} (${s.hazard}: ${stepSql(s)}) — ${g.join('; ')}\n${show(steps)}`);
    if (claimsNoChange(s) && from === k - 1) {
      const l = losses(k - 1, k);
      if (l.length) problems.push(`${s.table}: step ${k} says no change in access (${stepSql(s)}) — ${l.join('; ')}\n${show(steps)}`);
    }
  }
  return judged;
}

describe('each step\'s hazard against what roles and users can do before and after it', () => {
  it.each([101, 102, 103, 104])('seed %i', async (seed) => {
    const r = rng(seed);
    const tables = Array.from({ length: 25 }, (_, i) => `public.hz_${seed}_${i}`);
    const pairs = tables.map(() => {
      const from = randomState(r);
      let to = from;
      if (r(5) === 0) to = randomState(r);
      else for (let n = 1 + r(3); n > 0; n--) to = edit(r, to);
      return [from, to] as const;
    });
    await a.sql.unsafe(tables.map((t, i) => `${tableSql(t)}\n${stateSql(t, pairs[i]![0])}`).join('\n')).simple();
    await b.sql.unsafe(tables.map((t, i) => `${tableSql(t)}\n${stateSql(t, pairs[i]![1])}`).join('\n')).simple();

    const plan = (await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: a.url }, to: { kind: 'url', url: b.url } })).plan;
    const problems: string[] = [];
    let judged = 0;
    for (const t of tables) {
      const steps = plan.steps.filter((s) => s.table === t);
      if (steps.length) judged += await judgeSteps(a.sql, steps, [t], problems);
    }
    expect(problems).toEqual([]);
    expect(judged).toBeGreaterThan(20); // the checks ran on real plans

    await applyPlan(plan, { url: a.url, lockTimeout: '5s', statementTimeout: '0' });
    const again = await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: a.url }, to: { kind: 'url', url: b.url } });
    expect(again.plan.steps.map(stepSql)).toEqual([]);
  });
});

/**
 * A table T whose one policy reads a list table L (the same on both sides), and random
 * edits of L's RLS, grants and SELECT policies: each of L's steps is judged by what the
 * actors can do on L and on T. Under EXISTS or IN, L showing less narrows T; under NOT
 * EXISTS, NOT IN, a count or an ARRAY it can widen T, and the step must say so.
 */
describe('each step on a table that another table\'s policy reads', () => {
  const READERS = [
    '(not exists (select 1 from L l where l.uid = auth.uid()))',
    '(exists (select 1 from L l where l.uid = auth.uid()))',
    '(T.uid not in (select l.uid from L l where l.uid is not null))',
    '(T.uid in (select l.uid from L l))',
    '((select count(*) from L l where l.x) < 2)',
    '(T.uid = any (array(select l.uid from L l)))',
    '(x or not exists (select 1 from L l where l.uid = T.uid and l.y))',
  ];
  const LIST_EXPRS = ['(uid = auth.uid())', 'true', 'false', '(uid = 1)', '(auth.uid() is not null)', 'x', '(y or uid is null)'];
  const listPolicy = (r: Rand, name: string): PolicyState => ({
    name,
    cmd: pick(r, ['select', 'all'] as const),
    permissive: r(4) > 0,
    roles: pick(r, [['authenticated'], ['PUBLIC'], ['anon'], [MEMBER]]),
    using: pick(r, LIST_EXPRS),
    check: null,
  });
  const listState = (r: Rand): TableState => ({
    rls: r(4) > 0,
    force: false,
    grants: { anon: ['SELECT'], authenticated: ['SELECT'], PUBLIC: r(4) === 0 ? ['SELECT'] : [] },
    policies: ['a', 'b', 'c'].filter(() => r(2) === 0).map((n) => listPolicy(r, n)),
  });
  const listEdit = (r: Rand, s: TableState): TableState => {
    const t: TableState = structuredClone(s);
    const p = t.policies.length ? t.policies[r(t.policies.length)]! : undefined;
    switch (r(7)) {
      case 0:
        t.rls = !t.rls;
        break;
      case 1:
        if (p) t.policies = t.policies.filter((q) => q !== p);
        break;
      case 2:
        t.policies.push(listPolicy(r, pick(r, ['d', 'e'])));
        break;
      case 3:
        if (p?.using) p.using = `(${p.using} and ${pick(r, LIST_EXPRS)})`;
        break;
      case 4:
        if (p) p.permissive = !p.permissive;
        break;
      case 5:
        if (p) p.roles = pick(r, [['authenticated'], ['PUBLIC'], ['anon'], [MEMBER]]);
        break;
      case 6: {
        const g = pick(r, ['anon', 'authenticated', 'PUBLIC']);
        t.grants[g] = t.grants[g]!.length ? [] : ['SELECT'];
        break;
      }
    }
    t.policies = t.policies.filter((q, i) => t.policies.findIndex((o) => o.name === q.name) === i);
    return t;
  };

  it.each([201, 202, 203])('seed %i', async (seed) => {
    const r = rng(seed);
    const groups = Array.from({ length: 30 }, (_, i) => ({ t: `public.hzr_${seed}_${i}`, l: `public.hzr_${seed}_${i}_list`, reader: pick(r, READERS), permissive: r(3) > 0 }));
    const setup = (states: TableState[]) =>
      groups
        .map((g, i) =>
          [
            tableSql(g.l),
            stateSql(g.l, states[i]!),
            tableSql(g.t),
            `alter table ${g.t} enable row level security;`,
            `grant select, insert, update, delete on ${g.t} to anon, authenticated;`,
            // A restrictive reader needs a permissive policy to limit.
            ...(g.permissive ? [] : [`create policy base on ${g.t} for all to public using (true);`]),
            `create policy reader on ${g.t} as ${g.permissive ? 'permissive' : 'restrictive'} for all to public using (${g.reader.replaceAll('L', g.l).replaceAll('T.', `${g.t}.`)});`,
          ].join('\n'),
        )
        .join('\n');
    const from = groups.map(() => listState(r));
    const to = from.map((s) => {
      let t = s;
      for (let n = 1 + r(3); n > 0; n--) t = listEdit(r, t);
      return t;
    });
    await a.sql.unsafe(setup(from)).simple();
    await b.sql.unsafe(setup(to)).simple();

    const plan = (await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: a.url }, to: { kind: 'url', url: b.url } })).plan;
    expect(plan.steps.filter((s) => groups.some((g) => g.t === s.table))).toEqual([]);
    const problems: string[] = [];
    let judged = 0;
    for (const g of groups) {
      const steps = plan.steps.filter((s) => s.table === g.l);
      if (steps.length) judged += await judgeSteps(a.sql, steps, [g.l, g.t], problems);
    }
    expect(problems).toEqual([]);
    expect(judged).toBeGreaterThan(5); // the checks ran on real plans
  });
});
