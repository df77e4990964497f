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
import { rolesSql } from './project.js';

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
  // standard's way, and reads a backslash in '…' as an escape. The fresh one keeps the defaults.
  await live.sql.unsafe(
    `alter database ${qi(live.name)} set datestyle = 'SQL, DMY'; alter database ${qi(live.name)} set timezone = 'America/New_York';
     alter database ${qi(live.name)} set intervalstyle = 'sql_standard'; alter database ${qi(live.name)} set standard_conforming_strings = off;`,
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
