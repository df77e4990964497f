/**
 * Random policies written two ways. Per seed, tables with random policies over a
 * grammar of the forms real projects write (IN lists, ARRAY, jsonb operators,
 * casts, COALESCE, CASE, BETWEEN, IS DISTINCT FROM, LIKE, sub-selects with EXISTS,
 * IN and = ANY, claims read from current_setting, auth.uid() bare and in a
 * sub-select); the live database gets one spelling, policies/ another (operands of
 * AND/OR shuffled, sides of =, <> and IS [NOT] DISTINCT FROM swapped, keyword case
 * and layout changed, comments added). Then, with Postgres as the oracle:
 * - the files against the live database: no step (the two spellings mean the same);
 * - the live database pulled: no step;
 * - the files applied to a database with only sql/: the second diff has no step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, migrate, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { mulberry32 } from '../helpers/random.js';
import { apiRolesOf, parseConfig } from '../../cli/core/config.js';
import { diffPolicies, readModel, type DiffResult } from '../../cli/core/policy/diff.js';
import { applyPlan } from '../../cli/core/policy/apply.js';
import { policyFileName } from '../../cli/core/policy/files.js';
import { writePolicyFiles } from '../../cli/core/policy/pull.js';
import { securityStateOf } from '../../cli/core/policy/state.js';
import { stepSql } from '../../cli/core/policy/render.js';
import { rolesSql } from './project.js';

type Rand = (n: number) => number;

/** A boolean expression; `sym` sides may be swapped, `and`/`or` operands reordered. */
type Expr =
  | { k: 'atom'; s: string }
  | { k: 'sym'; op: string; l: string; r: string }
  | { k: 'and' | 'or'; xs: Expr[] }
  | { k: 'not'; x: Expr }
  | { k: 'sub'; pre: string; where: Expr; post: string };

const pick = <T,>(r: Rand, xs: readonly T[]): T => xs[r(xs.length)]!;

function ints(r: Rand, t: string): string {
  return pick(r, ['id', 'org_id', `${t}.org_id`, String(r(5)), "(data ->> 'n')::int", 'coalesce(org_id, 0)', 'array_length(tags, 1)', '(id % 3)']);
}

function atom(r: Rand, t: string, depth: number): Expr {
  const str = () => pick(r, ["'a'", "'b'", "'x'", "'it''s'", '$$d$$']);
  switch (r(16)) {
    case 0:
      return { k: 'sym', op: pick(r, ['=', '<>']), l: ints(r, t), r: ints(r, t) };
    case 1:
      return { k: 'atom', s: `${ints(r, t)} ${pick(r, ['<', '>=', '>'])} ${ints(r, t)}` };
    case 2:
      return { k: 'atom', s: `status ${pick(r, ['in', 'not in'])} (${[str(), str(), str()].slice(0, 1 + r(3)).join(', ')})` };
    case 3:
      return { k: 'atom', s: `status = any (array[${str()}, ${str()}])` };
    case 4:
      return { k: 'atom', s: `id ${pick(r, ['between', 'not between', 'between symmetric'])} ${r(4)} and ${2 + r(4)}` };
    case 5:
      return { k: 'sym', op: pick(r, ['is distinct from', 'is not distinct from']), l: 'status', r: str() };
    case 6:
      return { k: 'atom', s: `status ${pick(r, ['like', 'not like', 'ilike', '~~'])} 'a%'` };
    case 7:
      return { k: 'atom', s: pick(r, ["tags @> array['x']", "'x' = any (tags)", "tags && '{a,b}'", "tags[1] = 'x'"]) };
    case 8:
      return { k: 'atom', s: pick(r, ["data ? 'k'", `data @> '{"k": 1}'`, "data -> 'a' ->> 'b' = 'c'", "data #>> '{a,b}' = 'c'", "(data ->> 'n')::numeric > 1.5"]) };
    case 9:
      return { k: 'sym', op: '=', l: 'user_id', r: pick(r, ['auth.uid()', '(select auth.uid())']) };
    case 10:
      return { k: 'sym', op: '=', l: 'org_id', r: pick(r, ["(current_setting('request.jwt.claims', true)::jsonb ->> 'org')::int", "(auth.jwt() -> 'app_metadata' ->> 'org')::int"]) };
    case 11:
      if (depth > 1) return { k: 'atom', s: 'flag' };
      return { k: 'sub', pre: 'org_id in (select m.org_id from public.members m where', where: inner(r, t), post: ')' };
    case 12:
      if (depth > 1) return { k: 'atom', s: 'not flag' };
      return { k: 'sub', pre: `${pick(r, ['exists', 'not exists'])} (select 1 from public.members m where`, where: inner(r, t), post: ')' };
    case 13:
      return { k: 'atom', s: pick(r, ['case when flag then id > 0 else false end', "case status when 'a' then true else flag end", 'coalesce(flag, false)', 'flag is not false']) };
    case 14:
      return { k: 'atom', s: pick(r, ["created_at > now() - interval '1 day'", "created_at::date = current_date", "created_at between '2024-01-01' and '2025-01-01'"]) };
    default:
      return { k: 'atom', s: pick(r, ['flag', 'not flag', 'true', 'status is null']) };
  }
}

/** The WHERE of a sub-select: ties m to the row or the caller. */
function inner(r: Rand, t: string): Expr {
  const xs: Expr[] = [{ k: 'sym', op: '=', l: 'm.user_id', r: pick(r, ['auth.uid()', '(select auth.uid())']) }];
  if (r(2)) xs.push({ k: 'sym', op: '=', l: 'm.org_id', r: `${t}.org_id` });
  if (r(2)) xs.push({ k: 'atom', s: `m.role ${pick(r, ["in ('owner', 'admin')", "= any (array['owner', 'admin'])", "<> 'guest'"])}` });
  return xs.length === 1 ? xs[0]! : { k: 'and', xs };
}

function expr(r: Rand, t: string, depth = 0): Expr {
  if (depth >= 3 || r(3) === 0) return atom(r, t, depth);
  const kind = r(5);
  if (kind === 0) return { k: 'not', x: expr(r, t, depth + 1) };
  return { k: kind < 3 ? 'and' : 'or', xs: Array.from({ length: 2 + r(2) }, () => expr(r, t, depth + 1)) };
}

/** `shuffle`: another spelling that means the same (operand order, keyword case, layout). */
function render(e: Expr, r: Rand, shuffle: boolean): string {
  const kw = (s: string) => (shuffle && r(2) ? s.toUpperCase() : s);
  const sp = () => (shuffle ? pick(r, [' ', '  ', '\n    ', ' /* c */ ']) : ' ');
  switch (e.k) {
    case 'atom':
      return e.s;
    case 'sym':
      return shuffle && r(2) ? `${e.r} ${kw(e.op)} ${e.l}` : `${e.l} ${kw(e.op)} ${e.r}`;
    case 'not':
      return `${kw('not')} (${render(e.x, r, shuffle)})`;
    case 'sub':
      return `${e.pre} ${render(e.where, r, shuffle)}${e.post}`;
    default: {
      const xs = e.xs.map((x) => `(${render(x, r, shuffle)})`);
      if (shuffle) for (let i = xs.length - 1; i > 0; i--) { const j = r(i + 1); [xs[i], xs[j]] = [xs[j]!, xs[i]!]; }
      return xs.join(`${sp()}${kw(e.k)}${sp()}`);
    }
  }
}

interface Pol {
  name: string;
  cmd: string;
  permissive: boolean;
  roles: string;
  using: Expr | null;
  check: Expr | null;
}

function policies(r: Rand, t: string): Pol[] {
  return Array.from({ length: 1 + r(3) }, (_, i) => {
    const cmd = pick(r, ['select', 'insert', 'update', 'delete', 'all']);
    const using = cmd === 'insert' ? null : expr(r, t);
    const check = cmd === 'select' || cmd === 'delete' ? null : cmd === 'insert' || r(2) ? expr(r, t) : null;
    return { name: pick(r, [`p${i}`, `Policy ${i}`, `"q" ${i}`]), cmd, permissive: r(4) > 0, roles: pick(r, ['anon', 'authenticated', 'public', 'anon, authenticated', '"Mixed Role", anon']), using, check };
  });
}

function createPolicy(p: Pol, table: string, r: Rand, shuffle: boolean): string {
  const kw = (s: string) => (shuffle && r(2) ? s.toUpperCase() : s);
  const nl = shuffle ? '\n  ' : ' ';
  const parts = [`${kw('create policy')} "${p.name.replace(/"/g, '""')}" ${kw('on')} ${table}`];
  if (!p.permissive || (shuffle && r(2))) parts.push(`${kw('as')} ${kw(p.permissive ? 'permissive' : 'restrictive')}`);
  if (p.cmd !== 'all' || (shuffle && r(2))) parts.push(`${kw('for')} ${kw(p.cmd)}`);
  parts.push(`${kw('to')} ${shuffle ? p.roles.split(', ').reverse().join(', ') : p.roles}`);
  if (p.using) parts.push(`${kw('using')} (${render(p.using, r, shuffle)})`);
  if (p.check) parts.push(`${kw('with check')} (${render(p.check, r, shuffle)})`);
  return parts.join(nl) + ';';
}

const SEEDS = [11, 12, 13];
const TABLES = 16;

const PRELUDE = `${rolesSql([['anon', 'nologin'], ['authenticated', 'nologin'], ['service_role', 'nologin bypassrls'], ['Mixed Role', 'nologin']])}
create schema if not exists auth;
create or replace function auth.uid() returns uuid language sql stable as $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
create or replace function auth.jwt() returns jsonb language sql stable as $$ select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;
create table public.members (user_id uuid, org_id int, role text);
`;

const tableName = (seed: number, i: number) => `r${seed}_${i}`;

let project: string;
const dbs: TestDatabase[] = [];

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'rowguard-random-pull-'));
  mkdirSync(join(project, 'sql'));
  const tables = SEEDS.flatMap((seed) => Array.from({ length: TABLES }, (_, i) => `create table public.${tableName(seed, i)} (id int, org_id int, user_id uuid, status text, tags text[], data jsonb, flag boolean, created_at timestamptz);`));
  writeFileSync(join(project, 'sql', '0001_init.sql'), [PRELUDE, ...tables].join('\n') + '\n');
});

afterAll(async () => {
  for (const db of dbs) await db.drop();
  if (project) rmSync(project, { recursive: true, force: true });
});

const planText = (d: DiffResult) => [...d.plan.steps.map(stepSql), ...d.plan.onlyOnOneSide.map((o) => `only in ${o.side}: ${o.table}`)].join('\n');

describe('random policies, written one way live and another in policies/', () => {
  it.each(SEEDS)('seed %i: files against live, pull, and apply then re-diff are all empty', async (seed) => {
    const r0 = mulberry32(seed);
    const r: Rand = (n) => Math.floor(r0() * n);
    const policiesDir = join(project, `policies-${seed}`);
    mkdirSync(policiesDir);
    const cfg = parseConfig({ policies: `policies-${seed}` }, null, project);
    const live = await freshDatabase('rg_rpull_live');
    dbs.push(live);
    const fresh = await freshDatabase('rg_rpull_fresh');
    dbs.push(fresh);
    await migrate(live.url, join(project, 'sql'));
    await migrate(fresh.url, join(project, 'sql'));
    const liveSql: string[] = [];
    let count = 0;
    for (let i = 0; i < TABLES; i++) {
      const t = tableName(seed, i);
      const q = `public.${t}`;
      const ps = policies(r, t);
      count += ps.length;
      const on = `alter table ${q} enable row level security;`;
      liveSql.push(on, ...ps.map((p) => createPolicy(p, q, r, false)));
      const file = [`-- ${t}: written by hand; a ; in a comment`, on.toUpperCase().replace(q.toUpperCase(), q), ...ps.map((p) => createPolicy(p, q, r, true))].join('\n\n');
      writeFileSync(join(policiesDir, policyFileName('public', t)), file + '\n');
    }
    // Every generated policy is valid SQL (Postgres is the judge of the grammar above).
    await live.sql.unsafe(liveSql.join('\n')).simple();
    expect(count).toBeGreaterThan(TABLES);
    const diff = (url: string) => diffPolicies({ serverUrl: serverUrl(), config: cfg, from: { kind: 'url', url }, to: { kind: 'policies' }, displayRoot: project });
    expect(planText(await diff(live.url))).toBe('');

    const d = await diff(fresh.url);
    expect(d.plan.steps.filter((s) => s.kind === 'create-policy')).toHaveLength(count);
    await applyPlan(d.plan, { url: fresh.url, lockTimeout: '5s', statementTimeout: '0' });
    expect(planText(await diff(fresh.url))).toBe('');

    const apiRoles = apiRolesOf(cfg);
    rmSync(policiesDir, { recursive: true });
    writePolicyFiles(securityStateOf(await readModel(live.url, apiRoles), apiRoles), cfg.dirs.policies, project);
    expect(planText(await diff(live.url))).toBe('');
  });
});
