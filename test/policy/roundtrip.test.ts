/**
 * The round trip on schemas written the way other projects write them
 * (roundtrip-schemas.ts): pull a live database into policies/, diff it against
 * that database (empty), apply it to a fresh database that has only the tables
 * (the catalog must then equal the original), pull again (byte-identical), and
 * hand-edit files to equivalent spellings (still empty). One live and one fresh
 * database for every schema; each diff builds one shadow database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, migrate, runCli, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { parseConfig, apiRolesOf, type Config } from '../../cli/core/config.js';
import { diffPolicies, readModel, type DiffResult } from '../../cli/core/policy/diff.js';
import { applyPlan } from '../../cli/core/policy/apply.js';
import { writePolicyFiles } from '../../cli/core/policy/pull.js';
import { securityStateOf } from '../../cli/core/policy/state.js';
import { stepSql } from '../../cli/core/policy/render.js';
import type { Sql } from '../../cli/core/db.js';
import { RowguardError } from '../../cli/core/errors.js';
import { PRELUDE, SCHEMAS, respell } from './roundtrip-schemas.js';

const API = ['anon', 'authenticated', 'service_role'];
const OWN_SCHEMAS = SCHEMAS.flatMap((s) => s.schemas);

let project: string;
let config: Config;
let live: TestDatabase;
let fresh: TestDatabase;
/** sql/ applied once: every diff's shadow database is a copy of it (as the gate does), not migrated again. */
let template: TestDatabase;

function dir(...p: string[]): string {
  return join(project, ...p);
}

async function pull(url: string): Promise<void> {
  const state = securityStateOf(await readModel(url, apiRolesOf(config)), apiRolesOf(config));
  writePolicyFiles(state, config.dirs.policies, project);
}

const diffAgainst = (url: string): Promise<DiffResult> =>
  diffPolicies({ serverUrl: serverUrl(), config, from: { kind: 'url', url }, to: { kind: 'policies' }, displayRoot: project, template: template.name });

function describePlan(d: DiffResult): string {
  return [...d.plan.steps.map(stepSql), ...d.plan.onlyOnOneSide.map((o) => `only in ${o.side}: ${o.table}`), ...d.plan.kindMismatch.map((k) => `kind: ${k.table}`)].join('\n');
}

/** Everything RLS-related the catalog holds for the fixtures' schemas, read with plain SQL. */
async function catalog(sql: Sql) {
  const where = `n.nspname = any($1::text[])`;
  // ACLs as (grantee, privilege) sets; NULL means the owner's default. Neither the grantor nor WITH GRANT OPTION is
  // managed by policies/ files (README "Policy diff"): a privilege another role granted comes back granted by the owner.
  const acl = (col: string) => `cross join lateral aclexplode(coalesce(${col}, acldefault('r', c.relowner))) a left join pg_roles r on r.oid = a.grantee`;
  const params = [OWN_SCHEMAS];
  return {
    policies: await sql.unsafe(
      `select n.nspname, c.relname, p.polname, p.polcmd, p.polpermissive,
         array(select coalesce(r.rolname, 'PUBLIC') from unnest(p.polroles) u left join pg_roles r on r.oid = u order by 1) as roles,
         pg_get_expr(p.polqual, p.polrelid) as qual, pg_get_expr(p.polwithcheck, p.polrelid) as with_check
       from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace where ${where} order by 1, 2, 3`,
      params,
    ),
    pgPolicies: await sql.unsafe(`select * from pg_policies where schemaname = any($1::text[]) order by schemaname, tablename, policyname`, params),
    flags: await sql.unsafe(
      `select n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p') and ${where} order by 1, 2`,
      params,
    ),
    relacl: await sql.unsafe(
      `select distinct n.nspname, c.relname, coalesce(r.rolname, 'PUBLIC') as grantee, a.privilege_type
       from pg_class c join pg_namespace n on n.oid = c.relnamespace ${acl('c.relacl')}
       where c.relkind in ('r', 'p') and ${where} and (a.grantee = 0 or r.rolname = any($2::text[])) order by 1, 2, 3, 4`,
      [OWN_SCHEMAS, API],
    ),
    attacl: await sql.unsafe(
      `select distinct n.nspname, c.relname, at.attname, coalesce(r.rolname, 'PUBLIC') as grantee, a.privilege_type
       from pg_attribute at join pg_class c on c.oid = at.attrelid join pg_namespace n on n.oid = c.relnamespace
       cross join lateral aclexplode(at.attacl) a left join pg_roles r on r.oid = a.grantee
       where ${where} and (a.grantee = 0 or r.rolname = any($2::text[])) order by 1, 2, 3, 4, 5`,
      [OWN_SCHEMAS, API],
    ),
  };
}

function readFolder(): Record<string, string> {
  return Object.fromEntries(readdirSync(config.dirs.policies).sort().map((f) => [f, readFileSync(join(config.dirs.policies, f), 'utf8')]));
}

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'rowguard-roundtrip-'));
  mkdirSync(dir('sql'));
  mkdirSync(dir('policies'));
  writeFileSync(dir('sql', '0001_tables.sql'), [PRELUDE, ...SCHEMAS.map((s) => s.tables)].join('\n'));
  config = parseConfig({}, null, project);
  [live, fresh, template] = await Promise.all([freshDatabase('rg_roundtrip_live'), freshDatabase('rg_roundtrip_fresh'), freshDatabase('rg_roundtrip_tmpl')]);
  // One at a time: they create the same cluster-wide roles. The template's pool is never used (a copy needs it idle).
  await migrate(live.url, dir('sql'));
  await migrate(fresh.url, dir('sql'));
  await migrate(template.url, dir('sql'));
  await live.sql.unsafe(SCHEMAS.map((s) => s.security).join('\n'));
}, 120_000);

afterAll(async () => {
  await live?.drop();
  await fresh?.drop();
  await template?.drop();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('round trip on real-world-shaped schemas', () => {
  let pulled: Record<string, string>;

  it('pull, then diff against the same database: empty', async () => {
    await pull(live.url);
    pulled = readFolder();
    const d = await diffAgainst(live.url);
    expect(describePlan(d)).toBe('');
    expect(d.undeclared).toEqual([]);
  });

  it('a grant option, which files do not manage, is named in the pulled file', () => {
    expect(pulled['grants.opt.sql']).toBe(
      [
        '-- grants.opt: row-level security, API grants and policies (rowguard policy pull).',
        'grant select on table grants.opt to authenticated;',
        '-- In the database pulled from, authenticated also holds SELECT WITH GRANT OPTION: policies/ files do not manage grant options, so the grants here carry none.',
        '',
      ].join('\n'),
    );
  });

  it('pull twice: byte-identical', async () => {
    await pull(live.url);
    expect(readFolder()).toEqual(pulled);
  });

  it('every file hand-edited to an equivalent spelling: still empty', async () => {
    for (const [f, text] of Object.entries(pulled)) writeFileSync(join(config.dirs.policies, f), respell(text));
    try {
      const d = await diffAgainst(live.url);
      expect(describePlan(d)).toBe('');
    } finally {
      for (const [f, text] of Object.entries(pulled)) writeFileSync(join(config.dirs.policies, f), text);
    }
  });

  it('apply to a fresh database with only the tables: diff empty, catalog equal', async () => {
    const before = await diffAgainst(fresh.url);
    await applyPlan(before.plan, { url: fresh.url, lockTimeout: '5s', statementTimeout: '0' });
    const after = await diffAgainst(fresh.url);
    expect(describePlan(after)).toBe('');
    const [a, b] = await Promise.all([catalog(live.sql), catalog(fresh.sql)]);
    expect(b).toEqual(a);
  });

  interface Change {
    what: string;
    file: string;
    edit: (text: string) => string;
    expect: Array<[string, string]>;
    /** Checked on the database after the change is applied. */
    after?: (sql: Sql) => Promise<void>;
  }
  const replace = (a: string | RegExp, b: string) => (t: string) => {
    const out = t.replace(a, b);
    if (out === t) throw new Error(`edit did not apply: ${String(a)}`);
    return out;
  };
  const CHANGES: Change[] = [
    {
      what: 'one policy expression tightened',
      file: 'teams.accounts.sql',
      edit: replace("using ((teams.has_role_on_account(id, 'owner'::teams.account_role) = true));", "using (teams.has_role_on_account(id, 'owner') = true and not personal_account);"),
      expect: [['alter-policy', 'narrows']],
    },
    { what: 'one role added to a policy', file: 'api.todos.sql', edit: replace('to anon, web_anon', 'to anon, web_anon, authenticated'), expect: [['alter-policy', 'widens']] },
    { what: 'one grant', file: 'supa.profiles.sql', edit: replace('grant select on table supa.profiles to anon;', 'grant select, update on table supa.profiles to anon;'), expect: [['grant', 'widens']] },
    { what: 'one column grant removed', file: 'Tenant%20Data.Order%20%22Lines%22.sql', edit: replace(', update ("ß")', ''), expect: [['revoke-columns', 'narrows']] },
    {
      what: 'a quoted policy renamed',
      file: 'Tenant%20Data.Order%20%22Lines%22.sql',
      edit: replace('create policy "Owner\'s ""lines"" — read"', 'create policy "Renamed ""Ünï"" policy"'),
      expect: [['rename-policy', 'neutral']],
    },
    // sql/ gave authenticated a grant option and it granted anon: the REVOKE needs CASCADE, and anon keeps SELECT.
    {
      what: 'a grant an API role passed on is revoked from it',
      file: 'grants.passed_on.sql',
      edit: replace('grant select on table grants.passed_on to authenticated;\n', ''),
      expect: [['revoke', 'narrows']],
      // web_anon (not an API role: rowguard leaves its access alone) got SELECT from authenticated too.
      after: async (sql) => {
        const [r] = await sql`select has_table_privilege('anon', 'grants.passed_on', 'select') as anon, has_table_privilege('authenticated', 'grants.passed_on', 'select') as authenticated,
          has_table_privilege('web_anon', 'grants.passed_on', 'select') as web_anon`;
        expect(r).toEqual({ anon: true, authenticated: false, web_anon: true });
      },
    },
    // Owned by a role without BYPASSRLS (the other tables' owner is a superuser, whom FORCE does not bind).
    { what: 'FORCE added', file: 'grants.owned.sql', edit: replace('enable row level security;\n', 'enable row level security;\nalter table grants.owned force row level security;\n'), expect: [['force-rls', 'narrows']] },
    { what: 'FORCE removed where the owner is a superuser', file: 'metrics.events.sql', edit: replace('alter table metrics.events force row level security;\n', ''), expect: [['no-force-rls', 'neutral']] },
    {
      what: 'a restrictive policy loosened on a partition parent',
      file: 'metrics.events.sql',
      edit: replace("using ((at > '2025-01-01'::date))", "using (at > '2024-01-01'::date)"),
      expect: [['alter-policy', 'may-widen']],
    },
  ];

  it.each(CHANGES.map((c) => [c.what, c] as const))('%s: one step, applied, re-diff empty, and back', async (_what, c) => {
    const path = join(config.dirs.policies, c.file);
    const original = readFileSync(path, 'utf8');
    writeFileSync(path, c.edit(original));
    try {
      const d = await diffAgainst(fresh.url);
      expect(d.plan.steps.map((s) => [s.kind, s.hazard]), describePlan(d)).toEqual(c.expect);
      await applyPlan(d.plan, { url: fresh.url, lockTimeout: '5s', statementTimeout: '0' });
      expect(describePlan(await diffAgainst(fresh.url))).toBe('');
      await c.after?.(fresh.sql);
    } finally {
      writeFileSync(path, original);
    }
    // Back to the pulled state (the next case's first diff shows anything left over).
    const back = await diffAgainst(fresh.url);
    expect(back.plan.steps).toHaveLength(c.expect.length);
    await applyPlan(back.plan, { url: fresh.url, lockTimeout: '5s', statementTimeout: '0' });
  });

  it('a grant another role made (not the owner) is revoked when its file drops it', async () => {
    const path = join(config.dirs.policies, 'grants.by_other.sql');
    const original = readFileSync(path, 'utf8');
    writeFileSync(path, original.replace('grant select on table grants.by_other to anon;\n', '').replace('grant select, insert on table grants.by_other to authenticated;\n', 'grant select on table grants.by_other to authenticated;\n'));
    try {
      const d = await diffAgainst(live.url);
      expect(d.plan.steps.map((s) => [s.kind, s.hazard]), describePlan(d)).toEqual([['revoke', 'narrows'], ['revoke', 'narrows']]);
      await applyPlan(d.plan, { url: live.url, lockTimeout: '5s', statementTimeout: '0' });
      expect(describePlan(await diffAgainst(live.url))).toBe('');
    } finally {
      writeFileSync(path, original);
      await live.sql.unsafe('set role rt_grantor; grant select on grants.by_other to anon; grant insert on grants.by_other to authenticated; reset role;');
    }
  });

  it('an apply that fails midway changes nothing and names the file:line:col the failing step comes from', async () => {
    // The database lacks a helper sql/ has (the shadow has it, so the diff plans fine).
    await fresh.sql.unsafe('drop function supa.is_admin()');
    const profiles = join(config.dirs.policies, 'supa.profiles.sql');
    const projects = join(config.dirs.policies, 'supa.projects.sql');
    const originals = [readFileSync(profiles, 'utf8'), readFileSync(projects, 'utf8')] as const;
    writeFileSync(profiles, originals[0].replace('grant select on table supa.profiles to anon;\n', ''));
    writeFileSync(projects, `${originals[1]}\n-- admins\ncreate policy admins on supa.projects for update to authenticated\n  using (supa.is_admin());\n`);
    try {
      const before = await catalog(fresh.sql);
      const d = await diffAgainst(fresh.url);
      expect(d.plan.steps.map((s) => s.kind)).toEqual(['revoke', 'create-policy']);
      const err = await applyPlan(d.plan, { url: fresh.url, lockTimeout: '5s', statementTimeout: '0', sources: d.files }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RowguardError);
      const e = err as RowguardError;
      expect(e.message).toBe('step 2 of 2 failed, nothing was applied: function supa.is_admin() does not exist');
      const line = originals[1].split('\n').length + 2;
      expect(e.location).toMatchObject({ file: join('policies', 'supa.projects.sql'), line, column: 1, source: 'create policy admins on supa.projects for update to authenticated' });
      expect(e.hint).toMatch(/apply the migrations first/);
      expect(await catalog(fresh.sql)).toEqual(before);
    } finally {
      writeFileSync(profiles, originals[0]);
      writeFileSync(projects, originals[1]);
      await fresh.sql.unsafe(`create function supa.is_admin() returns boolean language sql stable as $$ select coalesce((auth.jwt() -> 'app_metadata' ->> 'admin')::boolean, false) $$`);
    }
  });
});

describe('hostile policies/ files: handled, or refused with file:line:col and a hint', () => {
  const file = (name: string) => join(config.dirs.policies, name);
  /** Write `files` over the pulled folder, run `fn`, put the folder back (names not pulled are removed). */
  async function withFiles<T>(files: Record<string, (pulled: string) => string>, fn: () => Promise<T>): Promise<T> {
    const saved = new Map<string, string | null>();
    for (const [name, make] of Object.entries(files)) {
      let text: string | null = null;
      try {
        text = readFileSync(file(name), 'utf8');
      } catch {
        text = null;
      }
      saved.set(name, text);
      writeFileSync(file(name), make(text ?? ''));
    }
    try {
      return await fn();
    } finally {
      for (const [name, text] of saved) text === null ? rmSync(file(name)) : writeFileSync(file(name), text);
    }
  }
  const refused = async (files: Record<string, (pulled: string) => string>) =>
    withFiles(files, () => diffAgainst(live.url).then(() => null, (e: unknown) => e as RowguardError));

  it('equivalent spellings Postgres accepts: GRANT ALL, dollar quotes, FOR ALL and AS PERMISSIVE spelled out, a role named twice', async () => {
    const d = await withFiles(
      {
        'supa.projects.sql': (t) =>
          t
            .replace(/grant maintain, [a-z, ]+ on table supa.projects to authenticated;/, 'GRANT ALL PRIVILEGES ON TABLE supa.projects TO authenticated;')
            .replace("'admin'::text", '$q$admin$q$'),
        'api.todos.sql': (t) => t.replace('as permissive\n  for all', 'AS PERMISSIVE FOR ALL').replace('to anon, web_anon', 'to web_anon, anon, web_anon'),
      },
      () => diffAgainst(live.url),
    );
    expect(describePlan(d)).toBe('');
  });

  it('a statement for another table', async () => {
    const e = await refused({ 'api.orgs.sql': (t) => `${t}create policy p on api.todos for select using (true);\n` });
    expect(e).toBeInstanceOf(RowguardError);
    expect(e!.message).toBe("api.todos is not this file's table (api.orgs): a policies/ file only changes its own table");
    expect(e!.location).toMatchObject({ file: join('policies', 'api.orgs.sql'), line: 4, column: 20 });
    expect(e!.hint).toBe('move the statement to api.todos.sql');
  });

  it('a second CREATE POLICY with the same name', async () => {
    const e = await refused({ 'api.orgs.sql': (t) => `${t}create policy p on api.orgs for select using (true);\n\ncreate policy p on api.orgs for insert with check (true);\n` });
    expect(e!.message).toBe('policy "p" for table "orgs" already exists');
    expect(e!.location).toMatchObject({ file: join('policies', 'api.orgs.sql'), line: 6, column: 1 });
  });

  it('a role in TO that does not exist: its name is pointed at', async () => {
    const e = await refused({ 'api.orgs.sql': (t) => `${t}create policy p on api.orgs for select\n  to authenticated, "No Such Rôle" using (true);\n` });
    expect(e!.message).toBe('role "No Such Rôle" does not exist');
    expect(e!.location).toMatchObject({ file: join('policies', 'api.orgs.sql'), line: 5, column: 21 });
    expect(e!.hint).toBe('create the role No Such Rôle in a migration in sql/ (roles are server-wide), or correct the name');
  });

  it('a grant to a role that is not an API role', async () => {
    const e = await refused({ 'api.orgs.sql': (t) => `${t}grant select on api.orgs to web_anon;\n` });
    expect(e!.message).toMatch(/^web_anon is not an API role/);
    expect(e!.location).toMatchObject({ line: 4, column: 29 });
    expect(e!.hint).toMatch(/grant to other roles in a migration in sql\//);
  });

  it('a file name for a table that does not exist', async () => {
    const e = await refused({ 'api.todo.sql': () => 'alter table api.todo enable row level security;\n' });
    expect(e!.message).toBe(`${join('policies', 'api.todo.sql')}: api.todo does not exist after applying sql/`);
    expect(e!.hint).toMatch(/rename the file/);
  });
});

describe('the same round trip through the CLI, with --json', () => {
  it('pull --json reports every file unchanged; diff --exit-code is empty and exits 0', async () => {
    const before = readFolder();
    const pull = await runCli(['policy', 'pull', '--db', live.url, '--json'], { cwd: project });
    expect(pull.code, pull.stderr).toBe(0);
    const doc = JSON.parse(pull.stdout);
    expect({ ...doc, unchanged: [...doc.unchanged].sort() }).toEqual({ written: [], unchanged: Object.keys(before).map((f) => join('policies', f)), removed: [], skipped: [] });
    expect(readFolder()).toEqual(before);
    const diff = await runCli(['policy', 'diff', '--db', live.url, '--exit-code'], { cwd: project });
    expect([diff.code, diff.stdout, diff.stderr]).toEqual([0, '', '']);
  });

  it('an error in a file: --json carries the message, file:line:col, hint and exit code the text shows', async () => {
    const path = join(config.dirs.policies, 'api.orgs.sql');
    const original = readFileSync(path, 'utf8');
    writeFileSync(path, `${original}create policy p on api.orgs for select to "No Such Rôle" using (true);\n`);
    try {
      const text = await runCli(['policy', 'diff', '--db', live.url], { cwd: project });
      const json = await runCli(['policy', 'diff', '--db', live.url, '--json'], { cwd: project });
      expect([text.code, json.code]).toEqual([1, 1]);
      const { error } = JSON.parse(json.stdout);
      expect(error).toMatchObject({
        code: 'sql',
        message: 'role "No Such Rôle" does not exist',
        location: { file: join('policies', 'api.orgs.sql'), line: 4, column: 43 },
        hint: 'create the role No Such Rôle in a migration in sql/ (roles are server-wide), or correct the name',
        pg: { sqlstate: '42704' },
        exitCode: 1,
      });
      expect(text.stderr.split('\n')[0]).toBe(`error: ${join('policies', 'api.orgs.sql')}:4:43: role "No Such Rôle" does not exist [42704]`);
      expect(text.stderr).toContain(`hint: ${error.hint}`);
      expect(text.stderr).not.toMatch(/\n\s+at /);
    } finally {
      writeFileSync(path, original);
    }
  });

  it('a table sql/ does not create (a platform\'s own schema) is not pulled, so the folder still diffs', async () => {
    await live.sql.unsafe(`create schema platform; create table platform.objects (id int, owner uuid);
      alter table platform.objects enable row level security; grant select on platform.objects to authenticated;
      create policy own on platform.objects for select to authenticated using (owner = auth.uid());`);
    try {
      const before = readFolder();
      const pull = await runCli(['policy', 'pull', '--db', live.url, '--json'], { cwd: project });
      expect(pull.code, pull.stderr).toBe(0);
      expect(JSON.parse(pull.stdout)).toMatchObject({ written: [], removed: [], skipped: ['platform.objects'] });
      expect(readFolder()).toEqual(before);
      const diff = await runCli(['policy', 'diff', '--db', live.url], { cwd: project });
      expect([diff.code, diff.stdout]).toEqual([0, '']);
      expect(diff.stderr).toContain('platform.objects exists only in database');
      const one = await runCli(['policy', 'pull', '--db', live.url, '--table', 'platform.objects'], { cwd: project });
      expect(one.code).toBe(2);
      expect(one.stderr).toContain('error: platform.objects is not created by sql/: a policies/ file for it would make every diff fail; nothing was written');
      // A role that may not create databases still pulls (it only reads the target), and is told what it gets.
      await live.sql.unsafe(`create role rg_roundtrip_reader login password 'reader' nocreatedb`);
      const url = new URL(live.url);
      url.username = 'rg_roundtrip_reader';
      url.password = 'reader';
      const reader = await runCli(['policy', 'pull', '--db', url.toString(), '--table', 'api.orgs'], { cwd: project });
      expect(reader.code, reader.stderr).toBe(0);
      expect(reader.stderr).toContain('warning: could not build sql/ in a shadow database (permission denied to create database): every relation is written, including any sql/ does not create');
      expect(readFolder()).toEqual(before);
    } finally {
      await live.sql.unsafe('drop schema platform cascade; drop role if exists rg_roundtrip_reader');
    }
  });

  it('one change: the JSON carries what the SQL output says, and apply --json applies it', async () => {
    const path = join(config.dirs.policies, 'api.orgs.sql');
    const original = readFileSync(path, 'utf8');
    writeFileSync(path, original.replace('grant select on table api.orgs to anon;\n', ''));
    try {
      const text = await runCli(['policy', 'diff', '--db', fresh.url], { cwd: project });
      const json = await runCli(['policy', 'diff', '--db', fresh.url, '--json'], { cwd: project });
      expect([text.code, json.code]).toEqual([0, 0]);
      const doc = JSON.parse(json.stdout);
      expect(doc.steps).toHaveLength(1);
      expect(doc.steps[0]).toMatchObject({ kind: 'revoke', hazard: 'narrows', grantee: 'anon', privileges: ['SELECT'], sql: 'revoke select on table api.orgs from anon;' });
      expect(text.stdout).toBe(doc.sql.replace('begin;\n', `begin;\n-- [narrows] ${doc.steps[0].effects[0]}\n`));
      const apply = await runCli(['policy', 'apply', '--db', fresh.url, '--json'], { cwd: project });
      expect(apply.code, apply.stderr).toBe(0);
      expect(JSON.parse(apply.stdout)).toMatchObject({ applied: 1, steps: [{ kind: 'revoke' }] });
    } finally {
      writeFileSync(path, original);
    }
    const back = await runCli(['policy', 'apply', '--db', fresh.url, '--json'], { cwd: project });
    expect(JSON.parse(back.stdout)).toMatchObject({ applied: 1, steps: [{ kind: 'grant', hazard: 'widens' }] });
  });
});

