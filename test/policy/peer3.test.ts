/**
 * A third outside checker's cases for `policy diff` / `apply` / `pull`: a database
 * whose own settings (ALTER DATABASE … SET) change how pg_get_expr prints a policy's
 * constants — DateStyle, TimeZone, IntervalStyle, standard_conforming_strings — read,
 * pulled and applied; each checked against what Postgres does with the rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, migrate, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { apiRolesOf, parseConfig, type Config } from '../../cli/core/config.js';
import { diffPolicies, readModel, type DiffResult } from '../../cli/core/policy/diff.js';
import { applyPlan } from '../../cli/core/policy/apply.js';
import { writePolicyFiles } from '../../cli/core/policy/pull.js';
import { securityStateOf } from '../../cli/core/policy/state.js';
import { renderScript, stepSql } from '../../cli/core/policy/render.js';
import { connect } from '../../cli/core/db.js';
import { exprDirection } from '../../cli/core/policy/effects.js';
import { rolesSql } from './project.js';
import { mulberry32 } from '../helpers/random.js';

const PRELUDE = `${rolesSql([['anon', 'nologin'], ['authenticated', 'nologin'], ['service_role', 'nologin bypassrls']])}
create table public.events (id int, d date, ts timestamptz, iv interval);
insert into public.events values
  (1, '2024-01-01', '2024-01-01 12:00+00', '1 day'),
  (2, '2024-01-15', '2024-01-15 12:00+00', '1 day'),
  (3, '2024-02-15', '2024-02-15 12:00+00', '1 day'),
  (4, '2024-02-15', '2024-02-15 12:00+00', '3 days'),
  (5, '2024-01-02', '2024-01-02 04:00+00', '1 day'),
  (6, '2024-01-20', '2024-01-02 06:00+00', '1 day');
create table public.notes (id int, body text);
insert into public.notes values (1, 'a' || chr(92) || 'b'), (2, 'a' || chr(92) || chr(92) || 'b'), (3, 'ab');
grant select on public.events, public.notes to anon;
`;

// Written in ISO form, which reads the same under every DateStyle: 2 January 2024, midnight
// in the creating session's time zone (New York: 05:00 UTC), under two days.
const EVENTS_POLICY = `alter table public.events enable row level security;
create policy recent on public.events for select to anon using (d >= '2024-01-02' and ts > '2024-01-02 00:00' and iv < '2 days');`;

let project: string;
let config: Config;
let live: TestDatabase;
let fresh: TestDatabase;

const diffFrom = (url: string) => diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url }, to: { kind: 'policies' }, displayRoot: project });
const planText = (d: DiffResult) => [...d.plan.steps.map(stepSql), ...d.plan.onlyOnOneSide.map((o) => `only in ${o.side}: ${o.table}`)].join('\n');
const qi = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Runs `text` in a new session on `url`, which starts with the database's own settings. */
async function inNewSession<T>(url: string, fn: (sql: ReturnType<typeof connect>) => Promise<T>): Promise<T> {
  const sql = connect(url, { max: 1 });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** The ids of `table` anon reads. */
const anonReads = (url: string, table: string) =>
  inNewSession(url, (sql) =>
    sql.begin(async (tx) => {
      await tx`set local role anon`;
      return (await tx.unsafe(`select id from public.${table} order by id`)).map((r) => r['id'] as number);
    }),
  );

function pull(url: string): Promise<void> {
  const apiRoles = apiRolesOf(config);
  return readModel(url, apiRoles).then((m) => {
    rmSync(config.dirs.policies, { recursive: true, force: true });
    mkdirSync(config.dirs.policies);
    writePolicyFiles(securityStateOf(m, apiRoles), config.dirs.policies, project);
  });
}

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'rowguard-peer3-'));
  mkdirSync(join(project, 'sql'));
  mkdirSync(join(project, 'policies'));
  writeFileSync(join(project, 'sql', '0001_init.sql'), PRELUDE);
  config = parseConfig({}, null, project);
  [live, fresh] = await Promise.all([freshDatabase('rg_peer3_live'), freshDatabase('rg_peer3_fresh')]);
  for (const db of [live, fresh]) await migrate(db.url, join(project, 'sql'));
  // The live database prints dates day first, instants in New York time, intervals the SQL
  // standard's way, every name in double quotes, and reads a backslash in '…' as an escape.
  // The fresh one keeps the defaults.
  await live.sql.unsafe(
    `alter database ${qi(live.name)} set datestyle = 'SQL, DMY'; alter database ${qi(live.name)} set timezone = 'America/New_York';
     alter database ${qi(live.name)} set intervalstyle = 'sql_standard'; alter database ${qi(live.name)} set standard_conforming_strings = off;
     alter database ${qi(live.name)} set quote_all_identifiers = on;`,
  );
  await inNewSession(live.url, async (sql) => {
    expect(await sql`select current_setting('datestyle') as ds, current_setting('standard_conforming_strings') as scs`).toEqual([{ ds: 'SQL, DMY', scs: 'off' }]);
    await sql.unsafe(EVENTS_POLICY);
    // scs off: E'…' and '…' both read \\ as one backslash. The policy hides the row a\b.
    await sql.unsafe(`alter table public.notes enable row level security;
      create policy not_ab on public.notes for select to anon using (body <> 'a\\\\b');`);
  });
}, 120_000);

afterAll(async () => {
  await live?.drop();
  await fresh?.drop();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('a database whose settings change how its policies print', () => {
  it('on Postgres: anon reads events from 2 January (New York) on, under two days, and every note but a\\b', async () => {
    expect(await anonReads(live.url, 'events')).toEqual([2, 3, 6]);
    expect(await anonReads(live.url, 'notes')).toEqual([2, 3]);
  });

  it('pulled, then diffed against itself: no step, and the file writes ISO dates, UTC instants and one backslash', async () => {
    await pull(live.url);
    const text = readFileSync(join(config.dirs.policies, 'public.events.sql'), 'utf8');
    // '02/01/2024'::date, as the database prints it, is 1 February for a session with the default MDY.
    expect(text).toContain("(d >= '2024-01-02'::date)");
    expect(text).toContain("(ts > '2024-01-02 05:00:00+00'::timestamp with time zone)");
    expect(readFileSync(join(config.dirs.policies, 'public.notes.sql'), 'utf8')).toContain("(body <> 'a\\b'::text)");
    expect(planText(await diffFrom(live.url))).toBe('');
  });

  it('a condition that only gains a conjunct narrows, as on a database with default settings', async () => {
    await pull(live.url);
    const file = join(config.dirs.policies, 'public.events.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace('using (((d >=', 'using (((id > 2) AND (d >='));
    const d = await diffFrom(live.url);
    expect(d.plan.steps.map((s) => [s.kind, s.hazard])).toEqual([['alter-policy', 'narrows']]);
  });

  it('the old condition kept in parentheses beside a new conjunct (as a person adds one) narrows too', async () => {
    await pull(live.url);
    const file = join(config.dirs.policies, 'public.events.sql');
    const text = readFileSync(file, 'utf8');
    const old = /using \((.*)\);/.exec(text)![1]!;
    writeFileSync(file, text.replace(`using (${old});`, `using (id > 2 and ${old});`));
    const d = await diffFrom(live.url);
    expect(d.plan.steps.map((s) => [s.kind, s.hazard])).toEqual([['alter-policy', 'narrows']]);
    expect(d.plan.steps.map(stepSql)[0]).toContain('((id > 2) AND ((d >=');
  });

  it('the pulled files applied to a database with default settings: anon reads the same rows there, and nothing is left to diff', async () => {
    await pull(live.url);
    const d = await diffFrom(fresh.url);
    await applyPlan(d.plan, { url: fresh.url, lockTimeout: '5s', statementTimeout: '0' });
    expect(planText(await diffFrom(fresh.url))).toBe('');
    expect(await anonReads(fresh.url, 'events')).toEqual(await anonReads(live.url, 'events'));
    expect(await anonReads(fresh.url, 'notes')).toEqual(await anonReads(live.url, 'notes'));
  });

  it("a file that hides a\\\\b instead of a\\b is a change; apply and the printed script make the database hide it, and then match", async () => {
    await pull(live.url);
    const file = join(config.dirs.policies, 'public.notes.sql');
    // Two backslashes, as a policies/ file is read (standard_conforming_strings on): another value.
    writeFileSync(file, readFileSync(file, 'utf8').replace("'a\\b'", "'a\\\\b'"));
    const d = await diffFrom(live.url);
    expect(d.plan.steps.map((s) => [s.kind, s.table])).toEqual([['alter-policy', 'public.notes']]);
    const db = await freshDatabase('rg_peer3_scs');
    try {
      await migrate(db.url, join(project, 'sql'));
      await db.sql.unsafe(`alter database ${qi(db.name)} set standard_conforming_strings = off`);
      await inNewSession(db.url, (sql) => sql.unsafe(`alter table public.notes enable row level security; create policy not_ab on public.notes for select to anon using (body <> 'a\\\\b');`));
      // The script diff prints, run as psql would, in a session of that database.
      const script = renderScript((await diffFrom(db.url)).plan, { transaction: true, comments: true });
      await inNewSession(db.url, (sql) => sql.unsafe(script).simple());
      expect(await anonReads(db.url, 'notes')).toEqual([1, 3]);
      expect(planText(await diffFrom(db.url))).toBe('');
    } finally {
      await db.drop();
    }
    await applyPlan(d.plan, { url: live.url, lockTimeout: '5s', statementTimeout: '0' });
    expect(await anonReads(live.url, 'notes')).toEqual([1, 3]);
    expect(planText(await diffFrom(live.url))).toBe('');
  });
});

/**
 * Spellings of one condition that pg_get_expr prints apart: an IN list (ARRAY[…]) against an
 * array literal ('{…}'::type[]), its elements reordered or repeated, arguments by name in
 * another order, NOT (NOT x). Postgres is the oracle: each pair is created as two policies,
 * compared as pg_get_expr prints them, and evaluated on every row of a table of values.
 */
describe('one condition spelled as an IN list, an array literal, named arguments or a double NOT', () => {
  let db: TestDatabase;
  let same: Awaited<ReturnType<typeof import('../../cli/core/policy/expr-equal.js').expressionsEqual>>;
  const ROWS = `
create table public.vals (i int, s text, n numeric, y int);
insert into public.vals
  select i, s, n, 2 from unnest(array[-1, 0, 1, 2, 3, null]) i, unnest(array['a', 'b', '', 'a b', 'NULL', 'c,d', 'p\\q', 'x"y', null]) s, unnest(array[1.5, 2.5, 2.75, 3.5, null]) n;
create function public.f(a int default 0, b int default 0) returns boolean language sql immutable as $$ select $1 < $2 $$;`;

  beforeAll(async () => {
    db = await freshDatabase('rg_peer3_expr');
    await db.sql.unsafe(ROWS);
    same = await (await import('../../cli/core/policy/expr-equal.js')).expressionsEqual();
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** pg_get_expr of each condition, as a policy's USING on public.vals; and whether the two select the same rows on Postgres. */
  async function judge(pairs: ReadonlyArray<readonly [string, string]>): Promise<Array<{ a: string; b: string; printedA: string; printedB: string; pgSame: boolean }>> {
    const out: Array<{ a: string; b: string; printedA: string; printedB: string; pgSame: boolean }> = [];
    const rollback = new Error('rollback');
    await db.sql
      .begin(async (tx) => {
        for (const [i, [a, b]] of pairs.entries()) {
          await tx.unsafe(`create policy a${i} on public.vals using (${a}); create policy b${i} on public.vals using (${b});`);
          const [row] = await tx.unsafe(
            `select (select pg_get_expr(polqual, polrelid) from pg_policy where polname = 'a${i}') as pa, (select pg_get_expr(polqual, polrelid) from pg_policy where polname = 'b${i}') as pb,
                    not exists (select from public.vals where (${a}) is distinct from (${b})) as same`,
          );
          out.push({ a, b, printedA: row!['pa'] as string, printedB: row!['pb'] as string, pgSame: row!['same'] as boolean });
        }
        throw rollback;
      })
      .catch((e: unknown) => {
        if (e !== rollback) throw e;
      });
    return out;
  }

  it('the same rows: no change; other rows: a change (hand-picked pairs)', async () => {
    const SAME: Array<[string, string]> = [
      ['i in (2, 1)', 'i in (1, 2)'],
      ["s in ('b', 'a')", "s in ('a', 'b')"],
      ['i in (1, 1, 2)', 'i in (1, 2)'],
      ["i in (1, 2)", "i = any ('{1,2}')"],
      ['i not in (2, 1)', "i <> all ('{1,2}')"],
      ["s = any ('{a,b}')", "s in ('b', 'a')"],
      ["array[s] = '{a}'", "array[s] = array['a']"],
      ['n in (1.5, 2.5)', "n = any ('{2.5,1.5}')"],
      ['i in (-1, 2)', "i = any ('{2,-1}')"],
      [`s in ('', 'a b', 'NULL', 'x"y', 'p\\q', 'c,d')`, `s = any (array['c,d', 'p\\q', 'x"y', 'NULL', 'a b', ''])`],
      ["s in ('a', null)", "s = any ('{NULL,a}')"],
      ['(i > 0) in (true, false)', "(i > 0) = any ('{f,t}')"],
      ['f(b => i, a => 1)', 'f(a => 1, b => i)'],
      ['not not (i = 1)', 'i = 1'],
      ['i is distinct from y', 'not (i is not distinct from y)'],
    ];
    const DIFFERENT: Array<[string, string]> = [
      ["array[s, 'a'] = '{a,b}'", "array[s, 'a'] = array['b', 'a']"],
      ['i = any (array[1, 2])', 'i = any (array[1, 3])'],
      ['f(b => i, a => 1)', 'f(a => i, b => 1)'],
      ['n in (1.5, 2.75)', "n = any ('{2.5,1.5}')"],
      ["s in ('NULL')", "s = any ('{NULL}')"],
      ["s in ('a', null)", "s in ('a')"],
      ['i not in (1, 2)', 'i not in (1, 2, 3)'],
      ['i in (1, 2)', 'i not in (1, 2)'],
      ['i in (1, y)', 'i in (y, 3)'],
      ['not (i = 1)', 'i = 1'],
    ];
    const judged = await judge([...SAME, ...DIFFERENT]);
    for (const [k, j] of judged.entries()) {
      const expected = k < SAME.length;
      expect(j.pgSame, `${j.a} / ${j.b} on Postgres`).toBe(expected);
      expect(same(j.printedA, j.printedB), `${j.printedA} / ${j.printedB}`).toBe(expected);
    }
  });

  it('200 random pairs of IN lists, array literals and NOT IN: no change exactly when Postgres selects the same rows (seeds 1–4)', async () => {
    const pairs: Array<[string, string]> = [];
    const POOLS = [
      { col: 'i', values: ['1', '2', '3', '-1', 'null'], type: 'int' },
      { col: 's', values: ["'a'", "'b'", "''", "'a b'", "'NULL'", "'c,d'", 'null'], type: 'text' },
      { col: 'n', values: ['1.5', '2.5', '2.75', 'null'], type: 'numeric' },
    ];
    for (const seed of [1, 2, 3, 4]) {
      const r = mulberry32(seed);
      const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
      const shuffle = <T,>(xs: T[]) => {
        for (let i = xs.length - 1; i > 0; i--) {
          const j = Math.floor(r() * (i + 1));
          [xs[i], xs[j]] = [xs[j]!, xs[i]!];
        }
        return xs;
      };
      for (let k = 0; k < 50; k++) {
        const pool = pick(POOLS);
        const negated = r() < 0.3;
        const spell = (elems: string[], neg: boolean) => {
          // An array literal holds element texts: 'a b' as "a b", NULL unquoted, 'NULL' quoted.
          const lit = elems.map((e) => (e === 'null' ? 'NULL' : `"${e.replace(/^'|'$/g, '').replace(/["\\]/g, '\\$&')}"`));
          const form = pick(['in', 'array', 'literal']);
          if (form === 'in') return `${pool.col} ${neg ? 'not in' : 'in'} (${elems.join(', ')})`;
          const op = neg ? '<> all' : '= any';
          if (form === 'array') return `${pool.col} ${op} (array[${elems.join(', ')}]::${pool.type}[])`;
          return `${pool.col} ${op} ('{${lit.join(',')}}'::${pool.type}[])`;
        };
        // Two or more: Postgres writes x IN (c) with one element as x = c, another tree.
        const elems = Array.from({ length: 2 + Math.floor(r() * 3) }, () => pick(pool.values));
        // Mostly the same elements reordered and repeated (or one left out or added), the same operator now and then flipped.
        const other =
          r() < 0.7
            ? shuffle([...elems, ...(r() < 0.4 ? [pick(elems)] : [])]).slice(0, r() < 0.2 ? -1 : undefined)
            : Array.from({ length: 2 + Math.floor(r() * 3) }, () => pick(pool.values));
        if (other.length < 2) other.push(pick(pool.values));
        pairs.push([spell(elems, negated), spell(other, r() < 0.1 ? !negated : negated)]);
      }
    }
    const judged = await judge(pairs);
    const wrong = judged.filter((j) => same(j.printedA, j.printedB) && !j.pgSame);
    const missed = judged.filter((j) => !same(j.printedA, j.printedB) && j.pgSame);
    expect(wrong.map((j) => `${j.printedA} / ${j.printedB}`)).toEqual([]);
    expect(missed.map((j) => `${j.printedA} / ${j.printedB}`)).toEqual([]);
    // Both answers occur: the generator makes equal and unequal pairs.
    expect(judged.filter((j) => j.pgSame).length).toBeGreaterThan(20);
    expect(judged.filter((j) => !j.pgSame).length).toBeGreaterThan(20);
  });

  it('policy diff between two databases that spell each condition another way: a step only for the real change', async () => {
    const urlConfig = parseConfig({}, null, '/nonexistent');
    const [a, b] = await Promise.all([freshDatabase('rg_peer3_spell_a'), freshDatabase('rg_peer3_spell_b')]);
    try {
      const setup = `${rolesSql([['anon', 'nologin'], ['authenticated', 'nologin']])} ${ROWS} alter table public.vals enable row level security;`;
      for (const x of [a, b]) await x.sql.unsafe(setup);
      await a.sql.unsafe(`create policy p1 on public.vals for select to anon using (i in (3, 1, 2, 1));
        create policy p2 on public.vals for select to anon using (s not in ('b', 'a') and public.f(b => i, a => 1));
        create policy p3 on public.vals for update to authenticated using (not not (n in (1.5, 2.5))) with check (i is distinct from y);
        create policy p4 on public.vals for select to authenticated using (s in ('a', 'b'));`);
      await b.sql.unsafe(`create policy p1 on public.vals for select to anon using (i = any ('{1,2,3}'));
        create policy p2 on public.vals for select to anon using (public.f(a => 1, b => i) and s <> all ('{a,b}'));
        create policy p3 on public.vals for update to authenticated using (n = any (array[2.5, 1.5])) with check (not (i is not distinct from y));
        create policy p4 on public.vals for select to authenticated using (s in ('a', 'b', 'c'));`);
      const d = await diffPolicies({ serverUrl: serverUrl(), config: urlConfig, from: { kind: 'url', url: a.url }, to: { kind: 'url', url: b.url } });
      expect(d.plan.steps.map((s) => [s.kind, s.hazard, stepSql(s)])).toEqual([
        ['alter-policy', 'may-widen', "alter policy p4 on public.vals using ((s = ANY (ARRAY['a'::text, 'b'::text, 'c'::text])));"],
      ]);
    } finally {
      await a.drop();
      await b.drop();
    }
  });
});

describe('a condition that gains a conjunct or a disjunct beside the old one in parentheses', () => {
  it('narrows or widens, as when Postgres flattened it; inside NOT, a function or another connective it is not an operand', () => {
    const old = '((a = 1) AND (b = 2))';
    expect(exprDirection(old, `((c = 3) AND ${old})`)).toBe('narrows');
    expect(exprDirection(old, `(${old} AND ((c = 3) AND (d = 4)))`)).toBe('narrows');
    expect(exprDirection(`((c = 3) AND ${old})`, old)).toBe('widens');
    expect(exprDirection('((a = 1) OR (b = 2))', '((c = 3) OR ((a = 1) OR (b = 2)))')).toBe('widens');
    expect(exprDirection('((c = 3) OR ((a = 1) OR (b = 2)))', '((a = 1) OR (b = 2))')).toBe('narrows');
    expect(exprDirection(old, `((c = 3) AND (NOT ${old}))`)).toBe('may-widen');
    expect(exprDirection(old, `((c = 3) AND f(${old}))`)).toBe('may-widen');
    expect(exprDirection(old, `((c = 3) OR ${old})`)).toBe('widens');
    expect(exprDirection(old, '((a = 1) AND ((b = 2) OR (c = 3)))')).toBe('may-widen');
  });
});
