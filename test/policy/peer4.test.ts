/**
 * A fourth outside checker's cases for `policy diff` / `apply`: a FOR ALL policy split into
 * one policy per command with the same conditions, and four such policies merged into one
 * FOR ALL. Every command then sees and writes the same rows, which Postgres confirms here
 * (what anon and two users can read, insert, update and delete after every step); the diff
 * must say so, not call four of its steps widening (which `policy apply` refuses on a
 * remote database without --allow-widening). And a partition whose own RLS and grants no
 * policies/ file declares, beside a file for its partitioned table: named like any table. And a
 * live table owned by an API role (or a role it inherits), which skips every policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, migrate, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { apiRolesOf, parseConfig, type Config } from '../../cli/core/config.js';
import { diffPolicies, readModel, type DiffResult } from '../../cli/core/policy/diff.js';
import { writePolicyFiles } from '../../cli/core/policy/pull.js';
import { securityStateOf } from '../../cli/core/policy/state.js';
import { applyPlan, assertWideningAllowed } from '../../cli/core/policy/apply.js';
import { hasDifference } from '../../cli/core/policy/plan.js';
import { ownerNote } from '../../cli/core/report/policy.js';
import { renderScript, stepSql } from '../../cli/core/policy/render.js';
import { connect, type Sql } from '../../cli/core/db.js';
import { rolesSql } from './project.js';
import { mulberry32 } from '../helpers/random.js';
import { isWidening } from '../../cli/core/policy/effects.js';

const TABLES = ['s1', 's2', 's3', 's4', 's5'];
const ME = `current_setting('rg.uid', true)`;

const PRELUDE = `${rolesSql([['anon', 'nologin'], ['authenticated', 'nologin'], ['service_role', 'nologin bypassrls']])}
${TABLES.map(
  (t) => `create table public.${t} (id int, uid text);
insert into public.${t} values (1, 'u1'), (2, 'u2'), (-1, 'u1');
grant select, insert, update, delete on public.${t} to anon, authenticated;
alter table public.${t} enable row level security;`,
).join('\n')}
`;

/** The live database's policies, besides sql/. */
const LIVE = `
create policy allp on public.s1 for all to authenticated using (uid = ${ME}) with check (uid = ${ME} and id > 0);
create policy s on public.s2 for select to anon, authenticated using (id > 0);
create policy i on public.s2 for insert to anon, authenticated with check (id > 0);
create policy u on public.s2 for update to anon, authenticated using (id > 0) with check (id > 0);
create policy d on public.s2 for delete to anon, authenticated using (id > 0);
create policy open on public.s3 for all to authenticated using (true);
create policy allp on public.s3 as restrictive for all to authenticated using (uid = ${ME});
create policy allp on public.s4 for all to authenticated using (uid = ${ME});
create policy allp on public.s5 for all to authenticated using (uid = ${ME});
`;

const head = (t: string) => `alter table public.${t} enable row level security;\ngrant select, insert, update, delete on public.${t} to anon, authenticated;\n`;

/** policies/: s1 split (other names, operands reordered), s2 merged, s3's restriction split (one part keeps the name), s4 split without DELETE, s5 with another UPDATE check. */
const FILES: Record<string, string> = {
  s1: `create policy "read own" on public.s1 for select to authenticated using (uid = ${ME});
create policy add_own on public.s1 for insert to authenticated with check (id > 0 and ${ME} = uid);
create policy upd on public.s1 for update to authenticated using (${ME} = uid) with check (uid = ${ME} and id > 0);
create policy del on public.s1 for delete to authenticated using (uid = ${ME});`,
  s2: `create policy s on public.s2 for all to authenticated, anon using (id > 0);`,
  s3: `create policy open on public.s3 for all to authenticated using (true);
create policy allp on public.s3 as restrictive for select to authenticated using (uid = ${ME});
create policy i on public.s3 as restrictive for insert to authenticated with check (uid = ${ME});
create policy u on public.s3 as restrictive for update to authenticated using (uid = ${ME});
create policy d on public.s3 as restrictive for delete to authenticated using (uid = ${ME});`,
  s4: `create policy allp on public.s4 for select to authenticated using (uid = ${ME});
create policy i on public.s4 for insert to authenticated with check (uid = ${ME});
create policy u on public.s4 for update to authenticated using (uid = ${ME});`,
  s5: `create policy allp on public.s5 for select to authenticated using (uid = ${ME});
create policy i on public.s5 for insert to authenticated with check (uid = ${ME});
create policy u on public.s5 for update to authenticated using (uid = ${ME}) with check (id > 0);
create policy d on public.s5 for delete to authenticated using (uid = ${ME});`,
};

const ACTORS: ReadonlyArray<readonly [label: string, role: string, uid: string]> = [
  ['anon', 'anon', ''],
  ['u1', 'authenticated', 'u1'],
  ['u2', 'authenticated', 'u2'],
];

let project: string;
let config: Config;
let live: TestDatabase;

const diffFrom = (url: string) => diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url }, to: { kind: 'policies' }, displayRoot: project });
const planText = (d: DiffResult) => [...d.plan.steps.map(stepSql), ...d.plan.onlyOnOneSide.map((o) => `only in ${o.side}: ${o.table}`)].join('\n');
const stepsOf = (d: DiffResult, t: string) => d.plan.steps.filter((s) => s.table === `public.${t}`);

/** A database with sql/ and the live policies. */
async function liveCopy(prefix: string): Promise<TestDatabase> {
  const db = await freshDatabase(prefix);
  await migrate(db.url, join(project, 'sql'));
  await db.sql.unsafe(LIVE).simple();
  return db;
}

/**
 * What each actor can do on `table` after `prefix` runs (all rolled back): the ids it reads,
 * and for each row, whether it can delete it, update it in place, and move it to a negative
 * id; which of three new rows it can insert.
 */
async function capabilities(sql: Sql, table: string, prefix: readonly string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const rollback = new Error('rollback');
  await sql
    .begin(async (tx) => {
      for (const s of prefix) await tx.unsafe(s).simple();
      for (const [label, role, uid] of ACTORS) {
        const caps: string[] = [];
        await tx.unsafe(`select set_config('rg.uid', $1, true)`, [uid]);
        await tx.unsafe(`set local role ${role}`);
        const attempt = async (what: string, q: string) => {
          await tx
            .savepoint(async (sp) => {
              const r = await sp.unsafe(q);
              if (r.count > 0) caps.push(what);
              throw rollback;
            })
            .catch((e: unknown) => {
              if (e !== rollback && !/row-level security/.test(String((e as Error).message))) throw e;
            });
        };
        for (const r of await tx.unsafe(`select id from public.${table} order by id`)) caps.push(`read ${r['id']}`);
        for (const id of [1, 2, -1]) {
          await attempt(`delete ${id}`, `delete from public.${table} where id = ${id}`);
          await attempt(`update ${id}`, `update public.${table} set uid = uid where id = ${id}`);
          await attempt(`move ${id}`, `update public.${table} set id = -abs(id) - 10 where id = ${id}`);
        }
        for (const [id, who] of [[5, 'u1'], [6, 'u2'], [-5, 'u1']] as const) await attempt(`insert ${id} ${who}`, `insert into public.${table} values (${id}, '${who}')`);
        out[label] = caps;
        await tx.unsafe('reset role');
      }
      throw rollback;
    })
    .catch((e: unknown) => {
      if (e !== rollback) throw e;
    });
  return out;
}

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'rowguard-peer4-'));
  mkdirSync(join(project, 'sql'));
  mkdirSync(join(project, 'policies'));
  writeFileSync(join(project, 'sql', '0001_init.sql'), PRELUDE);
  for (const [t, body] of Object.entries(FILES)) writeFileSync(join(project, 'policies', `public.${t}.sql`), head(t) + body + '\n');
  config = parseConfig({}, null, project);
  live = await liveCopy('rg_peer4_live');
}, 120_000);

afterAll(async () => {
  await live?.drop();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('a FOR ALL policy split into one policy per command, or four merged into one', () => {
  it('every step of an exact split or merge is neutral, permissive or restrictive; a split without DELETE or with another UPDATE check is not', async () => {
    const d = await diffFrom(live.url);
    for (const t of ['s1', 's2', 's3']) {
      expect(stepsOf(d, t).map((s) => [s.kind, s.hazard]), t).toEqual(
        t === 's2'
          ? [['rename-policy', 'neutral'], ['create-policy', 'neutral'], ['drop-policy', 'neutral'], ['drop-policy', 'neutral'], ['drop-policy', 'neutral'], ['drop-policy', 'neutral']]
          : t === 's3'
            ? [['rename-policy', 'neutral'], ['create-policy', 'neutral'], ['create-policy', 'neutral'], ['create-policy', 'neutral'], ['create-policy', 'neutral'], ['drop-policy', 'neutral']]
            : [['create-policy', 'neutral'], ['create-policy', 'neutral'], ['create-policy', 'neutral'], ['create-policy', 'neutral'], ['drop-policy', 'neutral']],
      );
    }
    expect(stepsOf(d, 's1').at(-1)!.effects[0]).toBe('FOR ALL policy allp on public.s1 is dropped: "read own", add_own, upd and del, created before, state the same for each command (no change in access)');
    expect(stepsOf(d, 's2')[1]!.effects[0]).toBe('FOR ALL policy s on public.s2 states for every command what s, i, u and d state, for the same roles and rows (no change in access)');
    for (const t of ['s4', 's5']) expect(stepsOf(d, t).some((s) => s.hazard === 'widens'), t).toBe(true);
    // apply on a remote database takes the exact ones without --allow-widening, not the others.
    const only = (ts: string[]) => ({ ...d.plan, steps: d.plan.steps.filter((s) => ts.some((t) => s.table === `public.${t}`)) });
    const remote = { local: false, allowWidening: false, label: 'db.example.com/app' };
    expect(() => assertWideningAllowed(only(['s1', 's2', 's3']), remote)).not.toThrow();
    expect(() => assertWideningAllowed(only(['s4']), remote)).toThrow(/refusing to apply 2 widening changes/);
  });

  it('on Postgres: after every step of s1–s3 anon and each user can do exactly what they could before; s4 takes DELETE away', async () => {
    const d = await diffFrom(live.url);
    for (const t of ['s1', 's2', 's3', 's4']) {
      const sqls = stepsOf(d, t).map(stepSql);
      const start = await capabilities(live.sql, t, []);
      // The probe sees rows and writes on every table, and the policies tell the users apart (s2's do not ask who).
      expect(start['u1']!.length, t).toBeGreaterThan(3);
      if (t !== 's2') expect(start['u1'], t).not.toEqual(start['u2']);
      if (t === 's4') {
        const end = await capabilities(live.sql, t, sqls);
        expect(start['u1']!.filter((c) => !end['u1']!.includes(c))).toEqual(['delete 1', 'delete -1']);
        continue;
      }
      for (let k = 1; k <= sqls.length; k++) expect(await capabilities(live.sql, t, sqls.slice(0, k)), `${t} after step ${k}: ${sqls[k - 1]}`).toEqual(start);
    }
  });

  it('apply and the printed script (run on a copy) leave the same catalog, and nothing to diff', async () => {
    const copy = await liveCopy('rg_peer4_script');
    try {
      const script = renderScript((await diffFrom(copy.url)).plan, { transaction: true, comments: true });
      // As psql runs it: the script's own BEGIN/COMMIT on one session.
      const session = connect(copy.url, { max: 1 });
      try {
        await session.unsafe(script).simple();
      } finally {
        await session.end();
      }
      await applyPlan((await diffFrom(live.url)).plan, { url: live.url, lockTimeout: '5s', statementTimeout: '0' });
      const catalog = (sql: Sql) =>
        sql`select c.relname, c.relrowsecurity, c.relforcerowsecurity, c.relacl::text as acl,
              (select json_agg(json_build_object('n', polname, 'c', polcmd::text, 'p', polpermissive, 'r', polroles::regrole[]::text,
                 'q', pg_get_expr(polqual, polrelid), 'w', pg_get_expr(polwithcheck, polrelid)) order by polname) from pg_policy where polrelid = c.oid)::text as policies
            from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' order by 1`;
      const applied = await catalog(live.sql);
      expect(applied.map((r) => r['relname'])).toEqual(TABLES);
      expect(await catalog(copy.sql)).toEqual(applied);
      expect(planText(await diffFrom(live.url))).toBe('');
      expect(planText(await diffFrom(copy.url))).toBe('');
    } finally {
      await copy.drop();
    }
  });
});

/**
 * A partition's RLS flags, grants and policies are its own: none comes from the partitioned
 * table, whose file does not touch them, and a query naming the partition meets only them.
 */
describe('a partition that policies/ has no file for, beside a file for its partitioned table', () => {
  const SQL = `${rolesSql([['anon', 'nologin'], ['authenticated', 'nologin']])}
create table public.events (id int, region text, yr int) partition by list (region);
create table public.events_eu partition of public.events for values in ('eu') partition by range (yr);
create table public.events_eu_2024 partition of public.events_eu for values from (2024) to (2025);
create table public.events_us partition of public.events for values in ('us');
insert into public.events values (1, 'eu', 2024), (2, 'us', 2024);
-- as a migration that grants on every table of the schema would
grant select on public.events, public.events_eu, public.events_eu_2024, public.events_us to anon;
alter table public.events_eu_2024 enable row level security;
create policy open on public.events_eu_2024 for select to anon using (true);`;
  let dir: string;
  let cfg: Config;
  let db: TestDatabase;
  const diff = () => diffPolicies({ serverUrl: serverUrl(), config: cfg, from: { kind: 'url', url: db.url }, to: { kind: 'policies' }, displayRoot: dir });
  const anonReads = (table: string) =>
    db.sql.begin(async (tx) => {
      await tx`set local role anon`;
      return (await tx.unsafe(`select id from public.${table} order by id`)).map((r) => r['id'] as number);
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rowguard-peer4-part-'));
    mkdirSync(join(dir, 'sql'));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'sql', '0001_init.sql'), SQL);
    // The file locks the partitioned table down; its partitions keep what sql/ gives them.
    writeFileSync(join(dir, 'policies', 'public.events.sql'), 'alter table public.events enable row level security;\ngrant select on public.events to anon;\n');
    cfg = parseConfig({}, null, dir);
    db = await freshDatabase('rg_peer4_part');
    await migrate(db.url, join(dir, 'sql'));
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('on Postgres: with the file applied, anon reads no event through the partitioned table and every event of a partition named directly', async () => {
    const d = await diff();
    await applyPlan(d.plan, { url: db.url, lockTimeout: '5s', statementTimeout: '0' });
    expect(await anonReads('events')).toEqual([]);
    expect(await anonReads('events_eu')).toEqual([1]);
    expect(await anonReads('events_eu_2024')).toEqual([1]);
    expect(await anonReads('events_us')).toEqual([2]);
  });

  it('is named as not declared, at every level; each partition pulled, nothing is', async () => {
    await applyPlan((await diff()).plan, { url: db.url, lockTimeout: '5s', statementTimeout: '0' });
    const d = await diff();
    expect(planText(d)).toBe('');
    expect(d.undeclared).toEqual(['public.events_eu', 'public.events_eu_2024', 'public.events_us']);
    expect(d.warnings.join('\n')).toContain('not declared in policies/: public.events_eu, public.events_eu_2024, public.events_us');
    const apiRoles = apiRolesOf(cfg);
    writePolicyFiles(securityStateOf(await readModel(db.url, apiRoles), apiRoles), cfg.dirs.policies, dir, d.undeclared);
    const after = await diff();
    expect(after.undeclared).toEqual([]);
    expect(planText(after)).toBe('');
  });
});

/**
 * Random FOR ALL policies (permissive, or restrictive beside an open one; USING with or
 * without WITH CHECK; one or two roles) split into four, or four merged into one — exact, or
 * with one command's condition or roles changed, or a command left out. Postgres judges
 * every step: one labelled narrows or neutral lets nobody do more than before it, one that
 * says "no change in access" lets nobody do less, and an exact split or merge is all neutral.
 */
describe('random FOR ALL splits and merges, exact or not, judged step by step on Postgres', () => {
  const CONDS = ['(id > 0)', `(uid = ${ME})`, '((id % 2) = 0)', 'true', `((uid = ${ME}) AND (id > 0))`];
  const ROLE_SETS = [['anon'], ['authenticated'], ['anon', 'authenticated']];
  interface Case {
    table: string;
    exact: boolean;
    from: string;
    to: string;
  }

  function cases(seed: number, n: number): Case[] {
    const rnd = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const out: Case[] = [];
    for (let i = 0; i < n; i++) {
      const table = `r${seed}_${i}`;
      const permissive = rnd() < 0.6;
      const kind = permissive ? 'permissive' : 'restrictive';
      const roles = pick(ROLE_SETS);
      const using = pick(CONDS);
      const check = rnd() < 0.5 ? null : pick(CONDS);
      const base = permissive ? '' : `create policy open on public.${table} for all using (true);\n`;
      const all = `${base}create policy allp on public.${table} as ${kind} for all to ${roles.join(', ')} using (${using})${check ? ` with check (${check})` : ''};`;
      const parts = new Map<string, { roles: string[]; using: string | null; check: string | null }>([
        ['select', { roles, using, check: null }],
        ['insert', { roles, using: null, check: check ?? using }],
        ['update', { roles, using, check: rnd() < 0.5 && check === null ? null : (check ?? using) }],
        ['delete', { roles, using, check: null }],
      ]);
      const change = rnd();
      const exact = change < 0.5;
      if (!exact) {
        const cmd = pick([...parts.keys()]);
        const p = parts.get(cmd)!;
        if (change < 0.65) parts.delete(cmd);
        else if (change < 0.8) parts.set(cmd, { ...p, roles: roles.length === 2 ? ['anon'] : ['anon', 'authenticated'] });
        else parts.set(cmd, cmd === 'insert' ? { ...p, check: pick(CONDS.filter((c) => c !== p.check)) } : { ...p, using: pick(CONDS.filter((c) => c !== p.using)) });
      }
      const split =
        base +
        [...parts]
          .map(([cmd, p]) => `create policy p_${cmd} on public.${table} as ${kind} for ${cmd} to ${p.roles.join(', ')}${p.using ? ` using (${p.using})` : ''}${p.check ? ` with check (${p.check})` : ''};`)
          .join('\n');
      const merge = rnd() < 0.5;
      out.push({ table, exact, from: merge ? split : all, to: merge ? all : split });
    }
    return out;
  }

  it.each([41, 42])('seed %i: 16 tables', async (seed) => {
    const list = cases(seed, 16);
    const setup = list
      .map((c) => `create table public.${c.table} (id int, uid text);
insert into public.${c.table} values (1, 'u1'), (2, 'u2'), (-1, 'u1'), (4, 'u2');
grant select, insert, update, delete on public.${c.table} to anon, authenticated;
alter table public.${c.table} enable row level security;`)
      .join('\n');
    const [a, b] = await Promise.all([freshDatabase('rg_peer4_ra'), freshDatabase('rg_peer4_rb')]);
    try {
      await a.sql.unsafe(`${rolesSql([['anon', 'nologin'], ['authenticated', 'nologin']])}\n${setup}\n${list.map((c) => c.from).join('\n')}`).simple();
      await b.sql.unsafe(`${setup}\n${list.map((c) => c.to).join('\n')}`).simple();
      const d = await diffPolicies({ serverUrl: serverUrl(), config: parseConfig({}, null, '/nonexistent'), from: { kind: 'url', url: a.url }, to: { kind: 'url', url: b.url } });
      const problems: string[] = [];
      let judged = 0;
      for (const c of list) {
        const steps = d.plan.steps.filter((s) => s.table === `public.${c.table}`);
        const sqls = steps.map(stepSql);
        if (c.exact && steps.some((s) => s.hazard !== 'neutral')) problems.push(`${c.table}: an exact split or merge has ${steps.map((s) => s.hazard).join(', ')}`);
        const states = [];
        for (let k = 0; k <= sqls.length; k++) states.push(await capabilities(a.sql, c.table, sqls.slice(0, k)));
        // The plan reaches what the other database allows.
        expect(states.at(-1), c.table).toEqual(await capabilities(b.sql, c.table, []));
        for (let k = 1; k <= steps.length; k++) {
          const s = steps[k - 1]!;
          for (const [actor] of ACTORS) {
            const before = states[k - 1]![actor]!;
            const after = states[k]![actor]!;
            const gained = after.filter((x) => !before.includes(x));
            const lost = before.filter((x) => !after.includes(x));
            if (!isWidening(s.hazard) && gained.length) problems.push(`${c.table} step ${k} (${s.hazard}: ${sqls[k - 1]}): ${actor} gains ${gained.join(', ')}`);
            if (s.effects.some((e) => e.includes('no change in access')) && lost.length) problems.push(`${c.table} step ${k} (${sqls[k - 1]}) says no change: ${actor} loses ${lost.join(', ')}`);
          }
          judged++;
        }
      }
      expect(problems).toEqual([]);
      // Both kinds of case were drawn, and the exact ones were found.
      expect(list.filter((c) => c.exact).length).toBeGreaterThan(3);
      expect(list.filter((c) => !c.exact).length).toBeGreaterThan(3);
      expect(judged).toBeGreaterThan(40);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  }, 300_000);
});

/**
 * Postgres exempts a table's owner from its policies unless RLS is forced, and a role that
 * inherits the owner's privileges counts as the owner. A live table handed to an API role (or to
 * a role it inherits) is therefore open to it, whatever policies/ says; policies/ does not
 * change owners, so the diff must not call that database a match. Own roles (p4_*) as the API
 * roles, so that the memberships made here touch no other test's roles.
 */
describe('a live table owned by an API role, or by a role an API role inherits', () => {
  const ROLES: Array<[string, string]> = [['p4_anon', 'nologin'], ['p4_users', 'nologin'], ['p4_service', 'nologin bypassrls'], ['p4_owner', 'nologin'], ['p4_other', 'nologin']];
  const FILE = (t: string) => `alter table public.${t} enable row level security;\ngrant select on public.${t} to p4_users;\ncreate policy own on public.${t} for select to p4_users using (uid = ${ME});\n`;
  let dir: string;
  let cfg: Config;
  let db: TestDatabase;
  const diff = () => diffPolicies({ serverUrl: serverUrl(), config: cfg, from: { kind: 'url', url: db.url }, to: { kind: 'policies' }, displayRoot: dir });
  const usersRead = (table: string) =>
    db.sql.begin(async (tx) => {
      await tx`set local role p4_users`;
      return (await tx.unsafe(`select id from public.${table} order by id`)).map((r) => r['id'] as number);
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rowguard-peer4-owner-'));
    mkdirSync(join(dir, 'sql'));
    mkdirSync(join(dir, 'policies'));
    const tables = ['by_api', 'by_inherited', 'by_other'];
    writeFileSync(
      join(dir, 'sql', '0001_init.sql'),
      `${rolesSql(ROLES)}\ngrant p4_owner to p4_users;\n` + tables.map((t) => `create table public.${t} (id int, uid text);\ninsert into public.${t} values (1, 'u1'), (2, 'u2');`).join('\n'),
    );
    for (const t of tables) writeFileSync(join(dir, 'policies', `public.${t}.sql`), FILE(t));
    cfg = parseConfig({ api: { anonRole: 'p4_anon', authenticatedRole: 'p4_users', serviceRole: 'p4_service' } }, null, dir);
    db = await freshDatabase('rg_peer4_owner');
    await migrate(db.url, join(dir, 'sql'));
    await applyPlan((await diff()).plan, { url: db.url, lockTimeout: '5s', statementTimeout: '0' });
    // Changed on the live database only, as a DBA would.
    await db.sql.unsafe('alter table public.by_api owner to p4_users; alter table public.by_inherited owner to p4_owner; alter table public.by_other owner to p4_other;').simple();
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('on Postgres: user u1 reads every row of the tables it acts as the owner of, and only its own of the third', async () => {
    const asU1 = async (t: string) => {
      return db.sql.begin(async (tx) => {
        await tx`select set_config('rg.uid', 'u1', true)`;
        await tx`set local role p4_users`;
        return (await tx.unsafe(`select id from public.${t} order by id`)).map((r) => r['id'] as number);
      });
    };
    expect(await asU1('by_api')).toEqual([1, 2]);
    expect(await asU1('by_inherited')).toEqual([1, 2]);
    expect(await asU1('by_other')).toEqual([1]);
    expect(await usersRead('by_other')).toEqual([]);
  });

  it('is a difference the diff names (not the owner no API role acts as), and apply does not make it go away', async () => {
    await applyPlan((await diff()).plan, { url: db.url, lockTimeout: '5s', statementTimeout: '0' });
    const d = await diff();
    expect(d.plan.steps).toEqual([]);
    expect(hasDifference(d.plan)).toBe(true);
    expect(d.plan.ownerMismatch.map((o) => [o.table, o.from.owner, [...o.from.actors], o.to.actors.length])).toEqual([
      ['public.by_api', 'p4_users', ['p4_users'], 0],
      ['public.by_inherited', 'p4_owner', ['p4_users'], 0],
    ]);
    expect(ownerNote(d.plan.ownerMismatch[1]!, 'the database', 'policies/')).toBe(
      `public.by_inherited is owned by p4_owner in the database (p4_users acts as its owner) but owned by ${d.plan.ownerMismatch[1]!.to.owner} in policies/: an owner skips the ` +
        "table's policies unless RLS is forced and holds every privilege, and policies/ does not change owners (alter table … owner to … in a migration)",
    );
  });
});
