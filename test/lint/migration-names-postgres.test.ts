/**
 * Unqualified names in migration files, resolved as Postgres resolves them. A reference to an
 * existing relation is looked up in each schema of the effective search_path in turn (the
 * session's temp schema first when it holds the name, then pg_catalog unless listed, "$user" as
 * the role that runs the file, missing schemas skipped): the first schema holding the name wins.
 * A CREATE goes into the first schema of the path that exists.
 *
 * Each case is proven on Postgres: to_regclass('t') under the file's own statements up to the
 * one judged (rolled back) says which relation the name is, and `migrate up` applies the file and
 * shows which table it changed. The lint must then name that relation in three settings: against
 * the target database (the file pending), against a database the files were all applied to (as
 * --shadow builds one), and from the files alone (where a name the files did not create stays in
 * the first schema of the path).
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createThrowawayDatabase, withSql } from '../../cli/core/db.js';
import { introspect } from '../../cli/core/catalog/introspect.js';
import { up } from '../../cli/core/migrate/engine.js';
import type { CatalogModel } from '../../cli/core/catalog/model.js';
import { serverUrl } from '../helpers/pg.js';
import { tempDir } from '../helpers/tmp.js';
import { ensureRoles, lintWith } from './helpers.js';

interface NameCase {
  name: string;
  /** The database before the migrations (rows included): what no migration made. `$ROLE` is the connecting role. */
  db: string;
  /** An earlier migration, applied before the judged one (not judged). */
  before?: string;
  /** The judged migration. */
  sql: string;
  /** Statements of the judged file before the one judged, under which to_regclass('t') is asked. */
  probe: string;
  /** The relation `t` names there (`schema.name`, pg_temp for the session's temp schema). */
  resolves: string;
  /** A type name asked with to_regtype under the same statements, and the type it is (`schema.name`). */
  type?: [string, string];
  /** The table whose column a Postgres changed to varchar(5) (null: none), when the file changes one. */
  changed?: string | null;
  /** Migration findings (rule, object) the lint must report. */
  findings: Array<[string, string]>;
  /** From the files alone, when it differs (names not created by the files stay in the first schema). */
  filesOnly?: Array<[string, string]>;
  /** Against a database the files were applied to, when it differs. */
  shadow?: Array<[string, string]>;
}

const T = '(id int, a varchar(10))';
const ROWS = (q: string) => `insert into ${q} select g, 'x' from generate_series(1, 20) g;`;
const SHRINK = 'alter table t alter column a type varchar(5);';

const CASES: NameCase[] = [
  {
    name: 'set search_path = app, public: a table only public holds (with rows)',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    sql: `set search_path = app, public;\n${SHRINK}`,
    probe: 'set search_path = app, public;',
    resolves: 'public.t',
    changed: 'public.t',
    findings: [['table-rewrite', 'public.t.a']],
  },
  {
    name: 'a table an earlier file created in the second schema of the path',
    db: 'create schema app;',
    before: `create table public.t ${T}; ${ROWS('public.t')}`,
    sql: `set search_path = app, public;\n${SHRINK}`,
    probe: 'set search_path = app, public;',
    resolves: 'public.t',
    changed: 'public.t',
    findings: [['table-rewrite', 'public.t.a']],
  },
  {
    name: 'the first schema gets the name only later in the file (a --shadow database has it)',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    sql: `set search_path = app, public;\n${SHRINK}\ncreate table app.t ${T};`,
    probe: 'set search_path = app, public;',
    resolves: 'public.t',
    changed: 'public.t',
    findings: [['table-rewrite', 'public.t.a']],
  },
  {
    name: 'a name both schemas hold: the first schema of the path wins',
    db: `create schema app; create table app.t ${T}; create table public.t ${T}; ${ROWS('app.t')} ${ROWS('public.t')}`,
    sql: `set search_path = app, public;\n${SHRINK}`,
    probe: 'set search_path = app, public;',
    resolves: 'app.t',
    changed: 'app.t',
    findings: [['table-rewrite', 'app.t.a']],
  },
  {
    name: 'a table the file creates in the first schema, beside one in the second',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    sql: `set search_path = app, public;\ncreate table t ${T};\n${SHRINK}`,
    probe: `set search_path = app, public; create table t ${T};`,
    resolves: 'app.t',
    changed: 'app.t',
    findings: [],
  },
  {
    name: 'CREATE goes into the first schema of the path that exists',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    sql: `set search_path = nosuch, app, public;\ncreate table t ${T};\nalter table app.t alter column a type varchar(5);`,
    probe: `set search_path = nosuch, app, public; create table t ${T};`,
    resolves: 'app.t',
    changed: 'app.t',
    findings: [],
    // Without the catalog every schema the path names is taken to exist: t goes to nosuch, and app.t is an unknown, existing table.
    filesOnly: [['table-rewrite', 'app.t.a']],
  },
  {
    name: '"$user" is the schema named after the role that runs the file',
    db: `create schema "$ROLE"; create table "$ROLE".t ${T}; create table public.t ${T}; ${ROWS('"$ROLE".t')} ${ROWS('public.t')}`,
    sql: `set search_path = "$user", public;\n${SHRINK}`,
    probe: 'set search_path = "$user", public;',
    resolves: '$ROLE.t',
    changed: '$ROLE.t',
    findings: [['table-rewrite', '$ROLE.t.a']],
    // Without a database the role is not known: "$user" is skipped.
    filesOnly: [['table-rewrite', 'public.t.a']],
  },
  {
    name: '"$user" after SET ROLE is the role set (from the files alone too)',
    db: `create schema rg_lint_app_owner authorization rg_lint_app_owner; create table rg_lint_app_owner.t ${T}; alter table rg_lint_app_owner.t owner to rg_lint_app_owner; create table public.t ${T}; ${ROWS('rg_lint_app_owner.t')} ${ROWS('public.t')}`,
    sql: `set role rg_lint_app_owner;\nset search_path = "$user", public;\n${SHRINK}`,
    probe: 'set role rg_lint_app_owner; set search_path = "$user", public;',
    resolves: 'rg_lint_app_owner.t',
    changed: 'rg_lint_app_owner.t',
    findings: [['table-rewrite', 'rg_lint_app_owner.t.a']],
  },
  {
    name: '"$user" after SET SESSION AUTHORIZATION is that role',
    db: `create schema rg_lint_app_owner authorization rg_lint_app_owner; create table rg_lint_app_owner.t ${T}; alter table rg_lint_app_owner.t owner to rg_lint_app_owner; create table public.t ${T}; ${ROWS('rg_lint_app_owner.t')} ${ROWS('public.t')}`,
    sql: `set session authorization rg_lint_app_owner;\nset search_path = "$user", public;\n${SHRINK}`,
    probe: 'set session authorization rg_lint_app_owner; set search_path = "$user", public;',
    resolves: 'rg_lint_app_owner.t',
    changed: 'rg_lint_app_owner.t',
    findings: [['table-rewrite', 'rg_lint_app_owner.t.a']],
  },
  {
    name: 'CREATE SCHEMA AUTHORIZATION without a name makes the schema "$user" names',
    db: `create table public.t ${T}; ${ROWS('public.t')}`,
    sql: `create schema authorization current_user;\nset search_path = "$user", public;\ncreate table t ${T};\n${SHRINK}`,
    probe: `create schema authorization current_user; set search_path = "$user", public; create table t ${T};`,
    resolves: '$ROLE.t',
    changed: '$ROLE.t',
    findings: [],
    // Without the database the role is not known: the CREATE goes to public, taken as a new public.t (Postgres would refuse it).
    filesOnly: [],
  },
  {
    name: 'CREATE SCHEMA … CREATE TABLE makes the table in that schema (new, so not judged)',
    db: `create table public.t ${T}; ${ROWS('public.t')}`,
    sql: `create schema app create table t ${T} create index t_a on t (a);\nset search_path = app, public;\n${SHRINK}`,
    probe: `create schema app create table t ${T} create index t_a on t (a); set search_path = app, public;`,
    resolves: 'app.t',
    changed: 'app.t',
    findings: [],
  },
  {
    name: 'ALTER TABLE … SET SCHEMA moves the name to the second schema',
    db: `create schema app; create schema old; create table old.t ${T}; ${ROWS('old.t')}`,
    sql: `alter table old.t set schema public;\nset search_path = app, public;\n${SHRINK}`,
    probe: 'alter table old.t set schema public; set search_path = app, public;',
    resolves: 'public.t',
    changed: 'public.t',
    findings: [['table-rewrite', 'public.t.a']],
  },
  {
    name: 'plain DDL in a DO block',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    sql: `set search_path = app, public;\ndo $$ begin ${SHRINK} end $$;`,
    probe: 'set search_path = app, public;',
    resolves: 'public.t',
    changed: 'public.t',
    findings: [['table-rewrite', 'public.t.a']],
  },
  {
    name: 'a domain of the second schema: ADD COLUMN of it checks every row',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    before: 'create domain public.dpos as int check (value > 0);',
    sql: 'set search_path = app, public;\nalter table public.t add column d dpos;',
    probe: 'set search_path = app, public;',
    resolves: 'public.t',
    type: ['dpos', 'public.dpos'],
    findings: [['table-rewrite', 'public.t.d']],
  },
  {
    name: 'a function body is not judged (creating the function runs none of it)',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    sql: `set search_path = app, public;\ncreate function app.f() returns void language sql as $$ ${SHRINK} $$;`,
    probe: 'set search_path = app, public;',
    resolves: 'public.t',
    changed: null,
    findings: [],
  },
  {
    name: 'CREATE INDEX … ON a table of the second schema',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    sql: 'set search_path = app, public;\ncreate index t_a on t (a);',
    probe: 'set search_path = app, public;',
    resolves: 'public.t',
    findings: [['index-not-concurrent', 'public.t']],
  },
  {
    name: 'DROP TABLE of a table of the second schema',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    sql: 'set search_path = app, public;\ndrop table t;',
    probe: 'set search_path = app, public;',
    resolves: 'public.t',
    findings: [['drop-column-or-table', 'public.t']],
    // A database the files were applied to no longer has the table (and no file made it): the name stays in the first schema.
    shadow: [['drop-column-or-table', 'app.t']],
  },
  {
    name: 'RENAME of a table of the second schema',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    sql: 'set search_path = app, public;\nalter table t rename to u;',
    probe: 'set search_path = app, public;',
    resolves: 'public.t',
    findings: [['rename-column-or-table', 'public.t']],
    shadow: [['rename-column-or-table', 'app.t']],
  },
  {
    name: 'TRUNCATE then ADD COLUMN NOT NULL: the truncated table is the one altered',
    db: `create schema app; create table public.t ${T}; ${ROWS('public.t')}`,
    sql: 'set search_path = app, public;\ntruncate public.t;\nalter table t add column b int not null;',
    probe: 'set search_path = app, public; truncate public.t;',
    resolves: 'public.t',
    // TRUNCATE loses the rows (drop-column-or-table); the ADD COLUMN meets an empty table: Postgres adds it.
    changed: null,
    findings: [['drop-column-or-table', 'public.t']],
  },
  {
    name: 'a temp table shadows the permanent one (pg_temp is searched first)',
    db: `create table public.t ${T}; ${ROWS('public.t')}`,
    sql: `create temp table t ${T};\n${SHRINK}\nalter table public.t alter column a type varchar(5);`,
    probe: `create temp table t ${T};`,
    resolves: 'pg_temp.t',
    changed: 'public.t',
    findings: [['table-rewrite', 'public.t.a']],
  },
  {
    name: 'a temp table of an earlier file is gone (each file runs in a session of its own)',
    db: `create table public.t ${T}; ${ROWS('public.t')}`,
    before: `create temp table t ${T};`,
    sql: SHRINK,
    probe: 'select 1;',
    resolves: 'public.t',
    changed: 'public.t',
    findings: [['table-rewrite', 'public.t.a']],
  },
  {
    name: 'a FOREIGN KEY references a table of the second schema',
    db: `create schema app; create table public.r (id int primary key); insert into public.r values (1); create table public.t ${T}; ${ROWS('public.t')}`,
    sql: 'set search_path = app, public;\nalter table public.t add constraint t_r foreign key (id) references r (id) not valid;\nalter table public.t validate constraint t_r;',
    probe: 'set search_path = app, public;',
    resolves: 'public.t',
    // Postgres fails the VALIDATE (ids 2..20 have no row in r): the file is not applied; what matters is the name.
    findings: [['constraint-not-valid', 'public.t']],
  },
];

async function relationOf(url: string, probe: string): Promise<string | null> {
  return withSql(url, async (s) => {
    await s.unsafe(`begin; ${probe}`).simple();
    const [row] = await s.unsafe<Array<{ q: string | null }>>(
      `select regexp_replace(n.nspname, '^pg_temp_[0-9]+$', 'pg_temp') || '.' || c.relname as q from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass('t')`,
    );
    await s.unsafe('rollback');
    return row?.q ?? null;
  });
}

async function typeOf(url: string, probe: string, name: string): Promise<string | null> {
  return withSql(url, async (s) => {
    await s.unsafe(`begin; ${probe}`).simple();
    const [row] = await s.unsafe<Array<{ q: string | null }>>(`select n.nspname || '.' || t.typname as q from pg_type t join pg_namespace n on n.oid = t.typnamespace where t.oid = to_regtype($1)`, [name]);
    await s.unsafe('rollback');
    return row?.q ?? null;
  });
}

async function varchar5In(url: string): Promise<string[]> {
  return withSql(url, async (s) =>
    (
      await s.unsafe<Array<{ q: string }>>(
        `select n.nspname || '.' || c.relname as q from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
         where c.relkind = 'r' and c.relname = 't' and a.attname = 'a' and format_type(a.atttypid, a.atttypmod) = 'character varying(5)' order by 1`,
      )
    ).map((r) => r.q),
  );
}

const model = (url: string): Promise<CatalogModel> => withSql(url, (s) => introspect(s, { apiRoles: ['anon', 'authenticated'], scope: 'full' }));
const migrationFindings = (r: { findings: Array<{ category: string; rule: string; object: string }> }) => r.findings.filter((f) => f.category === 'migration').map((f) => [f.rule, f.object]);

describe('unqualified names in migrations resolve as Postgres resolves them', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c0) => {
    await ensureRoles(serverUrl());
    const role = await withSql(serverUrl(), async (s) => (await s<Array<{ u: string }>>`select current_user as u`)[0]!.u);
    const sub = (x: string) => x.replaceAll('$ROLE', role);
    const c = { ...c0, db: sub(c0.db), resolves: sub(c0.resolves), changed: c0.changed && sub(c0.changed), findings: c0.findings.map(([r, o]) => [r, sub(o)] as [string, string]) };
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintnames' });
    const dir = tempDir('rg-lint-names-');
    const sqlDir = join(dir, 'sql');
    mkdirSync(sqlDir);
    try {
      await withSql(db.url, (s) => s.unsafe(c.db).simple());
      if (c.before !== undefined) {
        writeFileSync(join(sqlDir, '0001_before.sql'), c.before);
        await up({ url: db.url, dir: sqlDir, displayRoot: dir, lockTimeout: '5s', statementTimeout: '0' });
      }
      expect(await relationOf(db.url, c.probe), 'to_regclass(t) under the file’s search_path').toBe(c.resolves);
      if (c.type) expect(await typeOf(db.url, c.probe, c.type[0]), `to_regtype(${c.type[0]}) under the file’s search_path`).toBe(c.type[1]);
      const target = await model(db.url);
      writeFileSync(join(sqlDir, '0002_change.sql'), c.sql);
      const applied = await up({ url: db.url, dir: sqlDir, displayRoot: dir, lockTimeout: '5s', statementTimeout: '0' }).then(
        () => true,
        () => false,
      );
      if (c.changed !== undefined) {
        expect(applied, 'migrate up applies the file').toBe(true);
        expect(await varchar5In(db.url), 'the table Postgres changed').toEqual(c.changed === null ? [] : [c.changed]);
      }
      const before = c.before !== undefined ? [{ displayPath: 'sql/0001_before.sql', sql: c.before, judged: false }] : [];
      const change = { displayPath: 'sql/0002_change.sql', sql: c.sql, judged: true };
      const againstTarget = await lintWith({ model: target, modelIsTarget: true, newFilesArePending: true, migrations: [...before, { ...change, isNew: true }] });
      expect(migrationFindings(againstTarget), 'against the target database').toEqual(c.findings);
      // A database every file was applied to, as --shadow builds one (what no migration made is there from the start).
      const after = await model(db.url);
      const shadow = await lintWith({ model: after, migrations: [...before, change] });
      expect(migrationFindings(shadow), 'against a database the files were applied to').toEqual(c0.shadow ?? c.findings);
      const filesOnly = await lintWith({ migrations: [{ displayPath: 'sql/0000_setup.sql', sql: c.db, judged: false }, ...before, change] });
      expect(migrationFindings(filesOnly), 'from the files alone').toEqual(c.filesOnly ?? c.findings);
    } finally {
      await db.drop();
    }
  });
});
