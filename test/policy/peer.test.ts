/**
 * Policy diffs other projects would throw at rowguard, each found wrong once:
 * a live database built from hand-written SQL, the policies/ files as a person
 * writes them (not as pull writes them), and for each case the steps the diff
 * must find (none when the two mean the same). Then the round trips every case
 * must survive, each ending in a diff without a step: the files applied to a
 * database with only sql/, the script diff prints run there, the same script as
 * the migration --write makes, and the live database pulled. The databases of the
 * first three list pg_catalog after public on their search_path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, migrate, runCli, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { apiRolesOf, parseConfig, type Config } from '../../cli/core/config.js';
import { diffPolicies, readModel, type DiffResult } from '../../cli/core/policy/diff.js';
import { applyPlan } from '../../cli/core/policy/apply.js';
import { policyFileName } from '../../cli/core/policy/files.js';
import { selectTables, writePolicyFiles } from '../../cli/core/policy/pull.js';
import { securityStateOf } from '../../cli/core/policy/state.js';
import { renderScript, stepSql, withoutRawCr } from '../../cli/core/policy/render.js';
import { connect } from '../../cli/core/db.js';
import { expressionsEqual } from '../../cli/core/policy/expr-equal.js';
import { diffJson } from '../../cli/core/report/policy.js';
import { rolesSql } from './project.js';
import { qualified } from '../../cli/core/catalog/model.js';

interface Case {
  schema: string;
  table: string;
  columns: string;
  /** Run on the live database after sql/ (`T` stands for the quoted table name). */
  live: string;
  /** The policies/ file (`T` as above). */
  file: string;
  /** [step kind, hazard] of this table's steps, in plan order. */
  expect: Array<[string, string]>;
}

const ON = 'alter table T enable row level security;';
const COLS = 'id int, user_id uuid, org_id int, status text, tags text[], data jsonb';

const CASES: Case[] = [
  // pg_get_expr writes an IN list as = ANY (ARRAY[…]); with the operands of AND in another
  // order, the parse trees differed in where the ARRAY's list starts (Postgres 18 grammar).
  {
    schema: 'public', table: 'in_list_reordered', columns: COLS,
    live: `${ON} create policy p on T for select to authenticated using (status in ('a', 'b') and user_id = auth.uid());`,
    file: `${ON}\ncreate policy p on T for select to authenticated using (auth.uid() = user_id and status in ('a', 'b'));`,
    expect: [],
  },
  {
    schema: 'public', table: 'array_reordered', columns: COLS,
    live: `${ON} create policy p on T for update to authenticated using (tags @> array['x'] and org_id = 1) with check (org_id = any (array[1, 2]) or (auth.jwt() ->> 'role') in ('admin', 'owner'));`,
    file: `${ON}\ncreate policy p on T for update to authenticated\n  using (1 = org_id and tags @> array['x'])\n  with check (auth.jwt() ->> 'role' in ('admin', 'owner') or org_id in (1, 2));`,
    expect: [],
  },
  {
    schema: 'public', table: 'in_subselect_reordered', columns: COLS,
    live: `${ON} create policy p on T for delete to authenticated using (org_id in (select m.org_id from public.members m where m.user_id = auth.uid() and m.role = any (array['owner', 'admin'])) and status <> 'locked');`,
    file: `${ON}\ncreate policy p on T for delete to authenticated using ('locked' <> status and org_id in (select m.org_id from public.members m where m.role in ('owner', 'admin') and auth.uid() = m.user_id));`,
    expect: [],
  },
  // pg_get_expr leaves pg_catalog's lower unqualified: applied under a search_path that lists
  // pg_catalog after public (the database `fresh` below), it called public.lower instead.
  {
    schema: 'public', table: 'catalog_function', columns: COLS,
    live: `${ON} create policy p on T for select to anon using (lower(status) = 'open');`,
    file: `${ON}\ncreate policy p on T for select to anon using (lower(status) = 'open');`,
    expect: [],
  },
  // Two relations whose schema.table read the same: schema "a.b" with table c, schema a with
  // table "b.c". One hid the other (same key), and two files for them were refused as one table's.
  {
    schema: 'a.b', table: 'c', columns: COLS,
    live: `${ON} create policy p on T for select to anon using (id = 1);`,
    file: `${ON}\ncreate policy p on T for select to anon using (id = 1);`,
    expect: [],
  },
  {
    schema: 'a', table: 'b.c', columns: COLS,
    live: `${ON} create policy p on T for select to anon using (id = 1);`,
    file: `${ON}\ncreate policy p on T for select to anon using (id = 1 or id = 2);\ngrant select on T to anon;`,
    expect: [['alter-policy', 'widens'], ['grant', 'widens']],
  },
  {
    schema: 'public', table: 'x.y', columns: COLS,
    live: `grant select on T to anon;`,
    file: ``,
    expect: [['revoke', 'narrows']],
  },
  {
    schema: 'public.x', table: 'y', columns: COLS,
    live: ``,
    file: ``,
    expect: [],
  },
  {
    schema: 'public', table: '"q".r', columns: COLS,
    live: `${ON}`,
    file: ``,
    expect: [['disable-rls', 'widens']],
  },
  // A carriage return ends a -- comment as a line feed does: in the effect comments of the script
  // diff prints (and --write puts in a migration), the rest of the literal ran as a statement.
  {
    schema: 'public', table: 'comment_breaker', columns: COLS,
    live: ON,
    file: `${ON}\ncreate policy p on T for select to anon using (status <> E'x\\rdrop table public.victim; --');`,
    expect: [['create-policy', 'widens']],
  },
  // A CR in a table's name, a policy's name and a string literal: pull wrote them raw, and
  // policies/ files are read with CR turned into LF (a Windows checkout's CRLF), so the pulled
  // file named another table (and its header comment ran as a statement).
  {
    schema: 'public', table: 'cr\rtable', columns: COLS,
    live: `${ON} create policy U&"p\\000Dq" on T for select to anon using (status <> E'a\\rb\\\\c');`,
    file: `${ON}\ncreate policy U&"p\\000Dq" on T for select to anon using (status <> E'a\\rb\\\\c');`,
    expect: [],
  },
  // A user's = between text and int, next to another between int and text: swapping the sides
  // calls the other function, yet counted as operand order (only pg_catalog's = is symmetric).
  {
    schema: 'public', table: 'user_operator_swapped', columns: COLS,
    live: `${ON} create policy p on T for select to anon using (status = 1);`,
    file: `${ON}\ncreate policy p on T for select to anon using (1 = status);`,
    expect: [['alter-policy', 'may-widen']],
  },
  // The same two operators under IS [NOT] DISTINCT FROM, which pg_get_expr writes without naming
  // its = (Postgres picks it by the operand types): the texts differ only in operand order, yet
  // one calls text_eq_int and the other int_eq_text (the rows differ, see below).
  {
    schema: 'public', table: 'distinct_operator_swapped', columns: COLS,
    live: `${ON} create policy p on T for select to anon using (status is distinct from 1); create policy q on T for select to anon using (id > 0 and status is not distinct from 2); create policy w on T for insert to anon with check (exists (select 1 from public.members m where m.role is distinct from 3));`,
    file: `${ON}\ncreate policy p on T for select to anon using (1 is distinct from status);\ncreate policy q on T for select to anon using (2 is not distinct from status and 0 < id);\ncreate policy w on T for insert to anon with check (exists (select 1 from public.members m where 3 is distinct from m.role));`,
    expect: [['alter-policy', 'may-widen'], ['alter-policy', 'may-widen'], ['alter-policy', 'may-widen']],
  },
  // pg_catalog's = (int, bigint) has a commutator: swapped sides resolve to it and mean the same.
  {
    schema: 'public', table: 'distinct_catalog_swapped', columns: COLS,
    live: `${ON} create policy p on T for select to anon using (id is distinct from 1::bigint and status is not distinct from 'x');`,
    file: `${ON}\ncreate policy p on T for select to anon using ('x' is not distinct from status and 1::bigint is distinct from id);`,
    expect: [],
  },
  // citext's = (citext, citext) is its own commutator: swapped sides mean the same.
  {
    schema: 'public', table: 'distinct_citext_swapped', columns: 'id int, name public.citext',
    live: `${ON} create policy p on T for select to anon using (name is distinct from 'x');`,
    file: `${ON}\ncreate policy p on T for select to anon using ('x' is distinct from name);`,
    expect: [],
  },
  // IS DISTINCT FROM, NULLIF and CASE x WHEN find their = by the types, and pg_get_expr cannot
  // name it: here the user's text = int. Applied with only pg_catalog on the path, not found.
  {
    schema: 'public', table: 'implicit_operator', columns: COLS,
    live: `${ON} create policy p on T for select to anon using (status is distinct from 1 and nullif(status, 2) is null and case status when 3 then true else false end);`,
    file: `${ON}\ncreate policy p on T for select to anon using (status is distinct from 1 and nullif(status, 2) is null and case status when 3 then true else false end);`,
    expect: [],
  },
  // A different list is still a change.
  {
    schema: 'public', table: 'in_list_changed', columns: COLS,
    live: `${ON} create policy p on T for select to authenticated using (status in ('a', 'b') and user_id = auth.uid());`,
    file: `${ON}\ncreate policy p on T for select to authenticated using (auth.uid() = user_id and status in ('a', 'c'));`,
    expect: [['alter-policy', 'may-widen']],
  },
];

/** A quoted identifier; one with a control character as U&"…" (files are read with CR turned into LF). */
const qi = (name: string) =>
  /[\x00-\x1f]/.test(name)
    ? 'U&"' + [...name].map((ch) => (ch < ' ' || ch === '\\' ? '\\' + ch.charCodeAt(0).toString(16).padStart(4, '0') : ch === '"' ? '""' : ch)).join('') + '"'
    : '"' + name.replace(/"/g, '""') + '"';
const sqlName = (schema: string, table: string) => `${qi(schema)}.${qi(table)}`;
const fill = (text: string, c: Case) => text.replace(/\bT\b(?=[ ;\n])/g, sqlName(c.schema, c.table));

const PRELUDE = `${rolesSql([['anon', 'nologin'], ['authenticated', 'nologin'], ['service_role', 'nologin bypassrls']])}
create schema if not exists auth;
create extension if not exists citext schema public;
create or replace function auth.uid() returns uuid language sql stable as $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
create or replace function auth.jwt() returns jsonb language sql stable as $$ select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;
create table public.members (user_id uuid, org_id int, role text);
-- Shadows pg_catalog.lower(text) for a session whose search_path lists pg_catalog after public.
create table public.victim (id int);
create function public.text_eq_int(text, int) returns boolean language sql immutable as $$ select length($1) = $2 $$;
create function public.int_eq_text(int, text) returns boolean language sql immutable as $$ select $1::text = $2 $$;
create operator public.= (leftarg = text, rightarg = int, function = public.text_eq_int);
create operator public.= (leftarg = int, rightarg = text, function = public.int_eq_text);
create function public.lower(text) returns text language sql immutable as $$ select 'open' $$;
`;

let project: string;
let config: Config;
let live: TestDatabase;
let fresh: TestDatabase;
/** Like fresh, for the script diff prints. */
let freshScript: TestDatabase;
let first: DiffResult;

const diffFrom = (url: string) => diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url }, to: { kind: 'policies' }, displayRoot: project });
const planText = (d: DiffResult) => [...d.plan.steps.map(stepSql), ...d.plan.onlyOnOneSide.map((o) => `only in ${o.side}: ${o.table}`)].join('\n');

function writeFiles(cases: readonly Case[]): void {
  rmSync(join(project, 'policies'), { recursive: true, force: true });
  mkdirSync(join(project, 'policies'));
  for (const c of cases) writeFileSync(join(project, 'policies', policyFileName(c.schema, c.table)), fill(c.file, c) + '\n');
}

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'rowguard-peer-'));
  mkdirSync(join(project, 'sql'));
  const schemas = [...new Set(CASES.map((c) => c.schema))].filter((s) => s !== 'public');
  writeFileSync(
    join(project, 'sql', '0001_init.sql'),
    [PRELUDE, ...schemas.map((s) => `create schema ${qi(s)};`), ...CASES.map((c) => `create table ${sqlName(c.schema, c.table)} (${c.columns});`)].join('\n') + '\n',
  );
  config = parseConfig({}, null, project);
  [live, fresh, freshScript] = await Promise.all([freshDatabase('rg_peer_live'), freshDatabase('rg_peer_fresh'), freshDatabase('rg_peer_script')]);
  // One at a time: they create the same cluster-wide roles.
  for (const db of [live, fresh, freshScript]) await migrate(db.url, join(project, 'sql'));
  // The targets of apply and of the printed script: pg_catalog searched after public (new sessions).
  for (const db of [fresh, freshScript]) await db.sql.unsafe(`alter database ${qi(db.name)} set search_path = public, pg_catalog`);
  await live.sql.unsafe(CASES.map((c) => fill(c.live, c)).join('\n'));
  writeFiles(CASES);
  first = await diffFrom(live.url);
}, 120_000);

afterAll(async () => {
  await live?.drop();
  await fresh?.drop();
  await freshScript?.drop();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('hand-written policies/ files against a live database', () => {
  it.each(CASES.map((c) => [qualified(c.schema, c.table), c] as const))('%s', (table, c) => {
    const steps = first.plan.steps.filter((s) => s.table === table);
    expect(steps.map((s) => [s.kind, s.hazard]), steps.map(stepSql).join('\n')).toEqual(c.expect);
  });

  it('the files applied to a database with only sql/: the second diff is empty', async () => {
    const d = await diffFrom(fresh.url);
    expect(d.plan.steps.length).toBeGreaterThan(CASES.length);
    await applyPlan(d.plan, { url: fresh.url, lockTimeout: '5s', statementTimeout: '0' });
    expect(planText(await diffFrom(fresh.url))).toBe('');
  });

  it('the script diff prints, run on a database with only sql/: the second diff is empty', async () => {
    const d = await diffFrom(freshScript.url);
    const sql = connect(freshScript.url, { max: 1 });
    try {
      expect(await sql`show search_path`).toEqual([{ search_path: 'public, pg_catalog' }]);
      const script = renderScript(d.plan, { transaction: true, comments: true });
      // The policy's literal, its CR written as an escape (a migration file is read with CR turned into LF).
      expect(script).toContain("U&'x\\000ddrop table public.victim; --'::text");
      expect(script).not.toContain('\r');
      await sql.unsafe(script).simple();
      // Nothing but the plan ran: the text after a CR in a comment stayed in the comment.
      expect(await sql`select to_regclass('public.victim') is not null as kept`).toEqual([{ kept: true }]);
    } finally {
      await sql.end();
    }
    expect(planText(await diffFrom(freshScript.url))).toBe('');
  });

  it('the script as --write puts it in a migration, run by migrate up after sql/: the second diff is empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rowguard-peer-write-'));
    const db = await freshDatabase('rg_peer_write');
    try {
      cpSync(join(project, 'sql'), dir, { recursive: true });
      await migrate(db.url, dir);
      await db.sql.unsafe(`alter database ${qi(db.name)} set search_path = public, pg_catalog`);
      const d = await diffFrom(db.url);
      expect(d.plan.steps.length).toBeGreaterThan(CASES.length);
      writeFileSync(join(dir, '0002_sync_policies.sql'), renderScript(d.plan, { transaction: false, comments: true, header: ['0002_sync_policies'] }));
      await migrate(db.url, dir);
      expect(await db.sql`select to_regclass('public.victim') is not null as kept`).toEqual([{ kept: true }]);
      expect(planText(await diffFrom(db.url))).toBe('');
    } finally {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the live database pulled: the diff against it is empty', async () => {
    const apiRoles = apiRolesOf(config);
    writePolicyFiles(securityStateOf(await readModel(live.url, apiRoles), apiRoles), config.dirs.policies, project);
    expect(planText(await diffFrom(live.url))).toBe('');
    writeFiles(CASES);
  });
});

describe('IS DISTINCT FROM with a user\'s = on the path', () => {
  it('selects other rows with its sides swapped: text_eq_int against int_eq_text', async () => {
    const rows = async (cond: string) =>
      (await live.sql.unsafe(`select id from (values (1, '1'), (2, 'a'), (3, null)) v(id, status) where ${cond} order by id`)).map((r) => r['id']);
    // text_eq_int: length(status) = 1, true for '1' and 'a'.
    expect(await rows('status is distinct from 1')).toEqual([3]);
    // int_eq_text: '1' = status, true for '1' only.
    expect(await rows('1 is distinct from status')).toEqual([2, 3]);
  });

  it('--format json shows those policies with the fields of any other', () => {
    const steps = (diffJson(first) as { steps: Array<Record<string, unknown>> }).steps.filter((s) => s['table'] === 'public.distinct_operator_swapped');
    expect(steps.map((s) => s['kind'])).toEqual(['alter-policy', 'alter-policy', 'alter-policy']);
    for (const s of steps) {
      for (const side of ['before', 'after']) {
        expect(Object.keys(s[side] as object).sort()).toEqual(['check', 'command', 'comment', 'name', 'permissive', 'roles', 'schema', 'table', 'tableName', 'using']);
      }
    }
  });
});

describe('rowguard policy apply', () => {
  it('on a database that lacks a table of sql/: applies the rest and does not claim it matches', async () => {
    const db = await freshDatabase('rg_peer_cli');
    try {
      await migrate(db.url, join(project, 'sql'));
      await db.sql.unsafe('drop table public.victim');
      const r = await runCli(['policy', 'apply', '--db', db.url], { cwd: project });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('public.victim exists only in sql/ + policies/');
      expect(r.stdout + r.stderr).toMatch(/applied \d+ statements in one transaction; .+ now matches policies\/, except 1 relation not compared \(see above: it exists on one side only or differs in kind\)/);
      const again = await runCli(['policy', 'apply', '--db', db.url], { cwd: project });
      expect(again.stdout + again.stderr).toContain('nothing to apply, except 1 relation not compared');
    } finally {
      await db.drop();
    }
  });
});

describe('names that read the same unquoted', () => {
  it('pull --table takes the name as shown (a dotted part in double quotes), and says when a plain spelling names two tables', async () => {
    const apiRoles = apiRolesOf(config);
    const state = securityStateOf(await readModel(live.url, apiRoles), apiRoles);
    const pick = (w: string) => selectTables(state, [w]).map((t) => [t.schema, t.name]);
    expect(pick('"a.b".c')).toEqual([['a.b', 'c']]);
    expect(pick('a."b.c"')).toEqual([['a', 'b.c']]);
    expect(pick('x.y')).toEqual([['public', 'x.y']]);
    expect(() => pick('public.x.y')).toThrow(`public.x.y names 2 tables in ${live.name}: "public.x".y, public."x.y"`);
    expect(() => pick('a.b.c')).toThrow(`a.b.c names 2 tables in ${live.name}: "a.b".c, a."b.c"`);
  });
});

describe('quoted names and literals with a carriage return, as files hold them', () => {
  it('are written with Unicode escapes, everything else as it was', () => {
    expect(withoutRawCr(`create policy "a\rb" on public."it""s\r" using ((s <> 'x\r''y'::text) AND (t = E'b\\\\\rc'::text) AND (CASE'z' IS NULL));`)).toBe(
      `create policy U&"a\\000db" on public.U&"it""s\\000d" using ((s <> U&'x\\000d''y'::text) AND (t = U&'b\\005c\\000dc'::text) AND (CASE'z' IS NULL));`,
    );
    const plain = `create policy "a b" on public.t using ((s <> E'x\\\\y'::text));`;
    expect(withoutRawCr(plain)).toBe(plain);
  });
});

describe('expressions equal up to operand order, as pg_get_expr writes them', () => {
  it('with ARRAY[…] and IN lists (= ANY) among the operands', async () => {
    const same = await expressionsEqual();
    expect(same("((status = ANY (ARRAY['a'::text, 'b'::text])) AND (user_id = auth.uid()))", "((auth.uid() = user_id) AND (status = ANY (ARRAY['a'::text, 'b'::text])))")).toBe(true);
    expect(same("((tags @> ARRAY['x'::text]) OR (org_id = 1))", "((1 = org_id) OR (tags @> ARRAY['x'::text]))")).toBe(true);
    expect(same("(ARRAY[org_id, 1] = ARRAY[1, org_id])", "(ARRAY[1, org_id] = ARRAY[org_id, 1])")).toBe(true);
    // Only pg_catalog's = has sides that may be swapped.
    expect(same('(a OPERATOR(pg_catalog.=) b)', '(b OPERATOR(pg_catalog.=) a)')).toBe(true);
    expect(same('(status OPERATOR(public.=) 1)', '(1 OPERATOR(public.=) status)')).toBe(false);
    // The elements of an array keep their order; under = ANY, an OR over its elements, constants need not
    // (peer3.test.ts checks that on Postgres).
    expect(same("(ARRAY[org_id, 1] = x)", "(ARRAY[1, org_id] = x)")).toBe(false);
    expect(same("((status = ANY (ARRAY['a'::text, 'b'::text])) AND (id > 0))", "((id > 0) AND (status = ANY (ARRAY['b'::text, 'a'::text])))")).toBe(true);
  });
});
