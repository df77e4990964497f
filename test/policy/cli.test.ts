/**
 * The `rowguard policy …` commands as a user runs them: exit codes, what goes to
 * stdout and stderr, files written, and error messages with file:line:col.
 * Needs `npm run build` first (dist/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDatabase, migrate, runCli, type TestDatabase } from '../helpers/pg.js';
import { connect } from '../../cli/core/db.js';
import { CURRENT, copyProject, makeProject } from './project.js';

let project: string;
let db: TestDatabase;
const copies: string[] = [];

function copy(): string {
  const c = copyProject(project);
  copies.push(c);
  return c;
}

beforeAll(async () => {
  project = makeProject();
  db = await freshDatabase('rg_policy_cli');
  await migrate(db.url, join(project, 'sql'));
  await db.sql.unsafe(CURRENT);
});

afterAll(async () => {
  await db?.drop();
  for (const d of [project, ...copies]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('rowguard policy diff / apply', () => {
  it('diff: SQL on stdout, effects on stderr, --exit-code 1 on a difference', async () => {
    const r = await runCli(['policy', 'diff', '--db', db.url, '--exit-code'], { cwd: project });
    expect(r.code).toBe(1);
    expect(r.stdout.startsWith('begin;\n')).toBe(true);
    expect(r.stdout.trimEnd().endsWith('commit;')).toBe(true);
    expect(r.stdout).toContain('alter table public.t_rlsoff disable row level security;');
    expect(r.stdout).toContain('alter policy a on public.t_swap rename to b;');
    expect(r.stderr).toContain('WIDENS');
    expect(r.stderr).toContain('RLS disabled on public.t_rlsoff: all rows visible to anyone with SELECT');
    expect(r.stderr).not.toContain('begin;');
  });

  it('diff --format json and markdown', async () => {
    const j = await runCli(['policy', 'diff', '--db', db.url, '--format', 'json'], { cwd: project });
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc.changed).toBe(true);
    expect(doc.summary.widens).toBeGreaterThan(0);
    expect(doc.steps[0]).toMatchObject({ kind: expect.any(String), table: expect.any(String), hazard: expect.any(String), sql: expect.any(String) });
    const m = await runCli(['policy', 'diff', '--db', db.url, '--format', 'markdown'], { cwd: project });
    expect(m.stdout).toContain('| Hazard | Table | Effect |');
    expect(m.stdout).toContain('```sql');
  });

  it('drift: --from migrations --to <url> sees the live changes', async () => {
    const r = await runCli(['policy', 'diff', '--db', db.url, '--from', 'migrations', '--to', db.url, '--exit-code'], { cwd: project });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('create policy p on public.t_drop');
  });

  it('the printed SQL, applied, leaves nothing to diff', async () => {
    const c = copy();
    const target = await freshDatabase('rg_policy_cli_sql');
    try {
      await migrate(target.url, join(c, 'sql'));
      await target.sql.unsafe(CURRENT);
      const r = await runCli(['policy', 'diff', '--db', target.url], { cwd: c });
      // As psql -f would: the script carries its own BEGIN/COMMIT, so one connection.
      const one = connect(target.url, { max: 1 });
      await one.unsafe(r.stdout).simple();
      await one.end();
      const again = await runCli(['policy', 'diff', '--db', target.url, '--exit-code'], { cwd: c });
      expect(again.code).toBe(0);
      expect(again.stdout).toBe('');
      expect(again.stderr).toBe(''); // like diff(1): equal prints nothing (a status line only on a terminal)
    } finally {
      await target.drop();
    }
  });

  it('apply: one transaction on a local database, then no drift from policies/', async () => {
    const r = await runCli(['policy', 'apply', '--db', db.url], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/applied \d+ statements in one transaction/);
    const again = await runCli(['policy', 'diff', '--db', db.url, '--exit-code'], { cwd: project });
    expect(again.code).toBe(0);
    const drift = await runCli(['policy', 'diff', '--db', db.url, '--from', 'policies', '--to', db.url, '--exit-code'], { cwd: project });
    expect(drift.code).toBe(0);
    // A change made by hand on the live database is drift.
    await db.sql.unsafe('grant delete on public.t_add to anon');
    const changed = await runCli(['policy', 'diff', '--db', db.url, '--from', 'policies', '--to', db.url, '--exit-code'], { cwd: project });
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('anon can now DELETE public.t_add');
    await db.sql.unsafe('revoke delete on public.t_add from anon');
  });

  it('--write: the diff from sql/ to policies/ becomes the next migration, after which there is no drift', async () => {
    const c = copy();
    const r = await runCli(['policy', 'diff', '--db', db.url, '--write', 'sync policies'], { cwd: c });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(join('sql', '0002_sync_policies.sql'));
    const text = readFileSync(join(c, 'sql', '0002_sync_policies.sql'), 'utf8');
    expect(text).not.toContain('begin;'); // the engine runs a migration in its own transaction
    expect(text).toContain('create policy p on public.t_add');
    const again = await runCli(['policy', 'diff', '--db', db.url, '--from', 'migrations', '--to', 'policies', '--exit-code'], { cwd: c });
    expect(again.code, again.stderr).toBe(0);
  });

  it('a table a migration secures without a file in policies/ is named: no drift can ever show for it', async () => {
    const c = copy();
    writeFileSync(
      join(c, 'sql', '0002_notes.sql'),
      'create table public.notes (id int, owner uuid);\n' +
        'alter table public.notes enable row level security;\n' +
        'create policy notes_insert on public.notes for insert to authenticated with check (true);\n' +
        'grant insert on public.notes to authenticated;\n' +
        'create table public.scratch (id int);\n', // no RLS, no grants: nothing to declare
    );
    // (This project's sql/ and policies/ differ on purpose: the warning comes with the diff.)
    const text = await runCli(['policy', 'diff', '--db', db.url, '--from', 'migrations', '--to', 'policies'], { cwd: c });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toContain('warning: not declared in policies/: public.notes — sql/ alone defines its RLS and grants');
    expect(text.stderr).not.toContain('scratch');
    const json = await runCli(['policy', 'diff', '--db', db.url, '--from', 'migrations', '--to', 'policies', '--format', 'json'], { cwd: c });
    expect(JSON.parse(json.stdout).undeclared).toEqual(['public.notes']);
    // Declared, the warning goes.
    writeFileSync(join(c, 'policies', 'public.notes.sql'), 'alter table public.notes enable row level security;\ncreate policy notes_insert on public.notes for insert to authenticated with check (true);\ngrant insert on public.notes to authenticated;\n');
    const after = await runCli(['policy', 'diff', '--db', db.url, '--from', 'migrations', '--to', 'policies', '--format', 'json'], { cwd: c });
    expect(JSON.parse(after.stdout).undeclared).toEqual([]);
  });
});

describe('rowguard policy pull / show', () => {
  it('pull writes policies/ from the database; diffing against it is then empty', async () => {
    const c = copy();
    await db.sql.unsafe(`create policy "late addition" on public.t_add as restrictive for update to authenticated using (id > 0) with check (id > 1)`);
    try {
      const r = await runCli(['policy', 'pull', '--db', db.url], { cwd: c });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('wrote policies/public.t_add.sql');
      expect(readdirSync(join(c, 'policies'))).toContain('My%20Schema.Odd%20%22T%22%20x.sql');
      expect(readFileSync(join(c, 'policies', 'public.t_add.sql'), 'utf8')).toContain('create policy "late addition" on public.t_add\n  as restrictive\n  for update');
      const d = await runCli(['policy', 'diff', '--db', db.url, '--exit-code'], { cwd: c });
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toBe('');
      // Only one table: the others are left alone.
      writeFileSync(join(c, 'policies', 'public.t_roles.sql'), '-- edited by hand\n');
      const one = await runCli(['policy', 'pull', '--db', db.url, '--table', 'public.t_add'], { cwd: c });
      expect(one.stdout).toContain('0 written, 1 unchanged, 0 removed');
      expect(readFileSync(join(c, 'policies', 'public.t_roles.sql'), 'utf8')).toBe('-- edited by hand\n');
    } finally {
      await db.sql.unsafe('drop policy "late addition" on public.t_add');
    }
  });

  it('show without a table: every table, one line per API role', async () => {
    const r = await runCli(['policy', 'show', '--db', db.url], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('public.t_grants  (RLS off; owner');
    expect(r.stdout).toMatch(/public\.t_rlsoff[^\n]*\n\s+anon\s+no privileges/);
    expect(r.stdout).toMatch(/"My Schema"|My Schema\.Odd "T" x/);
  });

  it('show: per role and command, permissive OR\'ed, restrictive AND\'ed, RLS notes', async () => {
    await db.sql.unsafe(`create policy only_small on public.t_swap as restrictive for select to authenticated using (id < 100)`);
    try {
      const r = await runCli(['policy', 'show', 'public.t_swap', '--db', db.url], { cwd: project });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('RLS on, not forced');
      expect(r.stdout).toContain('RLS is not forced: the owner');
      const j = JSON.parse((await runCli(['policy', 'show', 'public.t_swap', '--db', db.url, '--json'], { cwd: project })).stdout);
      const authSelect = j.roles.find((x: { role: string }) => x.role === 'authenticated').commands.find((x: { command: string }) => x.command === 'SELECT');
      // No SELECT grant in policies/public.t_swap.sql: Postgres refuses before any policy.
      expect(authSelect.verdict).toBe('no-privilege');
      await db.sql.unsafe('grant select on public.t_swap to authenticated');
      const j2 = JSON.parse((await runCli(['policy', 'show', 'public.t_swap', '--db', db.url, '--json'], { cwd: project })).stdout);
      const s2 = j2.roles.find((x: { role: string }) => x.role === 'authenticated').commands.find((x: { command: string }) => x.command === 'SELECT');
      expect(s2.verdict).toBe('filtered');
      expect(s2.permissive).toEqual(['a']);
      expect(s2.restrictive).toEqual(['only_small']);
      expect(s2.using).toBe('((id > 2)) AND ((id < 100))');
      const service = j2.roles.find((x: { role: string }) => x.role === 'service_role');
      expect(service.bypassesRls).toBe(true);
    } finally {
      await db.sql.unsafe('drop policy only_small on public.t_swap; revoke select on public.t_swap from authenticated');
    }
  });
});

describe('bad policies/ files', () => {
  it('a statement on another table: file:line:col, exit 2, nothing built', async () => {
    const c = copy();
    writeFileSync(join(c, 'policies', 'public.t_add.sql'), 'alter table public.t_add enable row level security;\n\ncreate policy p on public.t_drop using (true);\n');
    const r = await runCli(['policy', 'diff', '--db', db.url, '--from', 'migrations'], { cwd: c });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('policies/public.t_add.sql:3:20: public.t_drop is not this file\'s table (public.t_add)');
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('a statement that is not allowed', async () => {
    const c = copy();
    writeFileSync(join(c, 'policies', 'public.t_add.sql'), '-- ok\ndrop table public.t_add;\n');
    const r = await runCli(['policy', 'diff', '--db', db.url], { cwd: c });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('policies/public.t_add.sql:2:1: DROP is not allowed in a policies/ file');
  });

  it('a grant to a role that is not an API role', async () => {
    const c = copy();
    writeFileSync(join(c, 'policies', 'public.t_add.sql'), 'grant select on public.t_add to "Mixed Role";\n');
    const r = await runCli(['policy', 'diff', '--db', db.url], { cwd: c });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('policies/public.t_add.sql:1:33: Mixed Role is not an API role');
  });

  it("a server error names the statement's line with Postgres's message", async () => {
    // Postgres reports no position for errors in policy expressions (CreatePolicy parses them without source text).
    const c = copy();
    writeFileSync(join(c, 'policies', 'public.t_add.sql'), 'alter table public.t_add enable row level security;\ncreate policy p on public.t_add\n  using (no_such_column = 1);\n');
    const r = await runCli(['policy', 'diff', '--db', db.url], { cwd: c });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('policies/public.t_add.sql:2:1: column "no_such_column" does not exist [42703]');
  });

  it('a server error without a position still names the statement', async () => {
    const c = copy();
    writeFileSync(join(c, 'policies', 'public.t_add.sql'), 'alter table public.t_add enable row level security;\ncreate policy p on public.t_add to nobody_such_role using (true);\n');
    const r = await runCli(['policy', 'diff', '--db', db.url], { cwd: c });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/policies\/public\.t_add\.sql:2:\d+: role "nobody_such_role" does not exist/);
  });

  it('a file for a table that sql/ does not create', async () => {
    const c = copy();
    writeFileSync(join(c, 'policies', 'public.nope.sql'), 'alter table public.nope enable row level security;\n');
    const r = await runCli(['policy', 'diff', '--db', db.url], { cwd: c });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('policies/public.nope.sql: public.nope does not exist after applying sql/');
  });

  it('a policy in the file of a view: file:line:col of the statement, exit 2', async () => {
    const c = copy();
    writeFileSync(join(c, 'sql', '0002_view.sql'), 'create view public.v_add with (security_invoker) as select * from public.t_add;\n');
    writeFileSync(join(c, 'policies', 'public.v_add.sql'), '-- the view\ngrant select on public.v_add to authenticated;\n\n  create policy p on public.v_add using (true);\n');
    const r = await runCli(['policy', 'diff', '--db', db.url], { cwd: c });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('policies/public.v_add.sql:4:3: public.v_add is a view or foreign table: only GRANT/REVOKE apply to it\n');
  });

  it('bad --from', async () => {
    const r = await runCli(['policy', 'diff', '--from', 'nonsense'], { cwd: project });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--from must be a postgres:// URL, "migrations" or "policies"');
  });
});
