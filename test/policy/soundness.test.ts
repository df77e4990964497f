/**
 * Are the plan's hazards true? `policy apply` runs a plan without `--allow-widening`
 * only when no step widens, so a table whose steps are all `narrows` or `neutral`
 * must leave every role able to do at most what it could before. Checked on real
 * databases with random policy states (each `to` mostly a few edits of its `from`):
 * every capability of a role — see a row, delete it, set a column on it, insert a
 * row — is measured by running the statement as that role, PostgREST's way (SET
 * LOCAL ROLE), at the start, at the end, and after every prefix of the plan (which,
 * as the planner promises, stays within what the start or the end allows).
 *
 * The roles: anon, authenticated, and the tables' owner (not a superuser, so FORCE
 * binds it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { parseConfig, type Config } from '../../cli/core/config.js';
import { diffPolicies } from '../../cli/core/policy/diff.js';
import { applyPlan } from '../../cli/core/policy/apply.js';
import { isWidening } from '../../cli/core/policy/effects.js';
import { stepSql } from '../../cli/core/policy/render.js';
import type { Step } from '../../cli/core/policy/plan.js';
import type { Sql } from '../../cli/core/db.js';
import { rolesSql } from './project.js';
import { rng } from './fixtures.js';
import { capabilitiesOf, COMMANDS, flipEdit, pick, randomPolicy as drawPolicy, stateSql, validClauses, type Rand, type TableState } from './random-policies.js';

const OWNER = 'rg_sound_owner';
const ACTORS = ['anon', 'authenticated', OWNER];
const GRANTEES = ['anon', 'authenticated', 'PUBLIC'];
const PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];
const EXPRS = ['x', 'y', 'z', '(x AND y)', '(x OR z)', '(NOT x)', 'true', 'false', '(y IS NULL)', '(x AND (y OR z))', '(z IS NOT TRUE)'];
const ROLE_SETS = [['anon'], ['authenticated'], ['PUBLIC'], ['anon', 'authenticated'], [OWNER], ['authenticated', OWNER]];

/** How often a policy is drawn without USING: one time in 4. */
const randomPolicy = (r: Rand, name: string) => drawPolicy(r, name, ROLE_SETS, EXPRS, 4);

function randomState(r: Rand): TableState {
  return {
    rls: r(5) > 0,
    force: r(3) === 0,
    grants: Object.fromEntries(GRANTEES.map((g) => [g, PRIVILEGES.filter(() => r(g === 'PUBLIC' ? 6 : 2) === 0)])),
    columnGrants: r(4) === 0 ? [[pick(r, ['anon', 'authenticated']), pick(r, ['SELECT', 'UPDATE'] as const), pick(r, [['id', 'x'], ['x'], ['id', 'y']])]] : [],
    policies: ['a', 'b', 'c', 'd'].filter(() => r(2) === 0).map((n) => randomPolicy(r, n)),
  };
}

/** One small edit of the kind a pull request makes. */
function edit(r: Rand, s: TableState): TableState {
  const t: TableState = structuredClone(s);
  const p = t.policies.length ? t.policies[r(t.policies.length)]! : undefined;
  const k = r(14);
  switch (k) {
    case 0:
    case 1:
    case 2:
      flipEdit(r, t, k, GRANTEES, PRIVILEGES);
      break;
    case 3:
      t.columnGrants = t.columnGrants?.length ? [] : [[pick(r, ['anon', 'authenticated']), pick(r, ['SELECT', 'UPDATE'] as const), ['id', 'x']]];
      break;
    case 4:
      if (p) t.policies = t.policies.filter((q) => q !== p);
      break;
    case 5:
      t.policies.push(randomPolicy(r, pick(r, ['e', 'f'])));
      break;
    case 6: // a conjunct more or less
      if (p?.using) p.using = p.using.startsWith('(true AND ') ? p.using.slice(10, -1) : `(true AND ${p.using})`.replace('true', pick(r, EXPRS));
      break;
    case 7: // an alternative more
      if (p?.using) p.using = `(${p.using} OR ${pick(r, EXPRS)})`;
      break;
    case 8:
      if (p) p.roles = pick(r, ROLE_SETS);
      break;
    case 9:
      if (p) p.permissive = !p.permissive;
      break;
    case 10:
      if (p) Object.assign(p, validClauses({ ...p, cmd: pick(r, COMMANDS) }));
      break;
    case 11:
      if (p) p.name = `${p.name}_renamed`;
      break;
    case 12: // a new restriction
      t.policies.push({ ...randomPolicy(r, 'g'), permissive: false });
      break;
    case 13: // a role less
      if (p && p.roles.length > 1) p.roles = p.roles.slice(1);
      else if (p) t.policies = t.policies.filter((q) => q !== p);
      break;
  }
  // A name the edit reused: the first policy keeps it.
  t.policies = t.policies.filter((q, i) => t.policies.findIndex((o) => o.name === q.name) === i);
  return t;
}

/** Functions the probes use, the same in both databases (not part of any table's policy state). */
const SCAFFOLD = `
${rolesSql([['anon', 'nologin'], ['authenticated', 'nologin'], ['service_role', 'nologin bypassrls'], [OWNER, 'nologin']])}
-- Lets an UPDATE or DELETE without WHERE touch one row (rg.target): a WHERE would read
-- columns and need SELECT privilege and policies, which the command itself does not.
-- A BEFORE trigger runs after USING has chosen the rows and before WITH CHECK.
create function public.rg_only_target() returns trigger language plpgsql security definer as $$
begin
  if old.id = current_setting('rg.target')::int then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  return null;
end $$;
-- Every capability of the current role on t, each statement undone.
create function public.rg_probe(t regclass) returns text[] language plpgsql as $$
declare
  caps text[] := '{}';
  ids int[];
  n int;
  change text;
  v record;
begin
  begin
    execute format('select array_agg(id order by id) from %s', t) into ids;
    caps := caps || array(select 'see ' || i from unnest(ids) i);
  exception when insufficient_privilege then null;
  end;
  for k in 1..27 loop
    perform set_config('rg.target', k::text, true);
    foreach change in array array['delete', 'set x = true', 'set x = null', 'set y = false'] loop
      begin
        if change = 'delete' then
          execute format('delete from %s', t);
        else
          execute format('update %s %s', t, change);
        end if;
        get diagnostics n = row_count;
        if n > 0 then caps := caps || (change || ' on ' || k); end if;
        raise sqlstate 'RGUND';
      exception when sqlstate 'RGUND' or insufficient_privilege then null;
      end;
    end loop;
  end loop;
  for v in select a, b, c from (values (true), (false), (null::boolean)) va(a), (values (true), (false), (null::boolean)) vb(b), (values (true), (false), (null::boolean)) vc(c) loop
    begin
      execute format('insert into %s (id, x, y, z) values (1000, $1, $2, $3)', t) using v.a, v.b, v.c;
      caps := caps || format('insert (%s, %s, %s)', v.a, v.b, v.c);
      raise sqlstate 'RGUND';
    exception when sqlstate 'RGUND' or insufficient_privilege then null;
    end;
  end loop;
  return caps;
end $$;`;

function tableSql(table: string): string {
  return [
    `create table ${table} (id int primary key, x boolean, y boolean, z boolean);`,
    `insert into ${table} select row_number() over (), a, b, c from (values (true), (false), (null::boolean)) va(a), (values (true), (false), (null::boolean)) vb(b), (values (true), (false), (null::boolean)) vc(c);`,
    `create trigger rg_only_target before update or delete on ${table} for each row execute function public.rg_only_target();`,
    `alter table ${table} owner to ${OWNER};`,
  ].join('\n');
}

/** The capabilities of each actor on `table`, after running `prefix` (all undone). */
const capabilities = (db: Sql, table: string, prefix: readonly string[] = []) =>
  capabilitiesOf(db, table, 'public.rg_probe', ACTORS.map((actor) => ({ label: actor, setup: (tx) => tx.unsafe(`set local role ${actor}`) })), prefix);

const gained = (now: Set<string>, ...before: Array<Set<string>>) => [...now].filter((c) => !before.some((b) => b.has(c)));

let config: Config;
let a: TestDatabase;
let b: TestDatabase;

beforeAll(async () => {
  config = parseConfig({}, null, '/nonexistent');
  a = await freshDatabase('rg_sound_a');
  b = await freshDatabase('rg_sound_b');
  // One at a time: both create the same cluster-wide roles.
  await a.sql.unsafe(SCAFFOLD);
  await b.sql.unsafe(SCAFFOLD);
});

afterAll(async () => {
  await a?.drop();
  await b?.drop();
});

describe('hazards against what roles can really do', () => {
  it.each([11, 12, 13])('seed %i: a table with no widening step grants no role anything new, and no prefix of a plan goes beyond its two ends', async (seed) => {
    const r = rng(seed);
    const tables = Array.from({ length: 30 }, (_, i) => `public.sound_${seed}_${i}`);
    const pairs = tables.map(() => {
      const from = randomState(r);
      let to = from;
      if (r(4) === 0) to = randomState(r);
      else for (let n = 1 + r(3); n > 0; n--) to = edit(r, to);
      return [from, to] as const;
    });
    await a.sql.unsafe(tables.map((t, i) => `${tableSql(t)}\n${stateSql(t, pairs[i]![0])}`).join('\n')).simple();
    await b.sql.unsafe(tables.map((t, i) => `${tableSql(t)}\n${stateSql(t, pairs[i]![1])}`).join('\n')).simple();

    const plan = (await diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url: a.url }, to: { kind: 'url', url: b.url } })).plan;
    const describeSteps = (steps: readonly Step[]) => steps.map((s) => `  ${s.hazard}: ${stepSql(s)}`).join('\n');
    const problems: string[] = [];
    let judged = 0;
    let prefixes = 0;
    for (const t of tables) {
      const steps = plan.steps.filter((s) => s.table === t);
      if (!steps.length) continue;
      const start = await capabilities(a.sql, t);
      const end = await capabilities(b.sql, t);
      if (!steps.some((s) => isWidening(s.hazard))) {
        judged++;
        for (const actor of ACTORS) {
          const extra = gained(end.get(actor)!, start.get(actor)!);
          if (extra.length) problems.push(`${t}: ${actor} gains ${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ', …' : ''} from a plan judged not to widen:\n${describeSteps(steps)}`);
        }
      }
      const sqls = steps.map(stepSql);
      for (let k = 1; k < steps.length; k++, prefixes++) {
        const mid = await capabilities(a.sql, t, sqls.slice(0, k));
        for (const actor of ACTORS) {
          const extra = gained(mid.get(actor)!, start.get(actor)!, end.get(actor)!);
          if (extra.length) problems.push(`${t}: ${actor} can ${extra.slice(0, 4).join(', ')} after step ${k} of ${steps.length}, which neither end allows:\n${describeSteps(steps)}`);
        }
      }
    }
    expect(problems).toEqual([]);
    // The checks ran on real plans.
    expect(judged).toBeGreaterThan(3);
    expect(prefixes).toBeGreaterThan(10);

    await applyPlan(plan, { url: a.url, lockTimeout: '5s', statementTimeout: '0' });
    for (const t of tables) {
      const [applied, wanted] = [await capabilities(a.sql, t), await capabilities(b.sql, t)];
      for (const actor of ACTORS) expect([...applied.get(actor)!].sort(), `${t} as ${actor}`).toEqual([...wanted.get(actor)!].sort());
    }
  });
});
