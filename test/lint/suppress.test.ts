/**
 * Suppressions: one rule on one object, with a reason, from a SQL comment above
 * the statement, a COMMENT ON, or the config; unused ones are reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrowawayDatabase } from '../../cli/core/db.js';
import type { CatalogModel } from '../../cli/core/catalog/model.js';
import { lintWith, makeTemplate, modelOf } from './helpers.js';

let template: ThrowawayDatabase;
beforeAll(async () => {
  template = await makeTemplate();
}, 60_000);
afterAll(async () => {
  await template?.drop();
});

const BEFORE = { displayPath: 'sql/0001_t.sql', sql: 'create table public.t (id int primary key, a int, b int);\n', judged: false };

describe('-- rowguard-lint-ignore above a statement', () => {
  it('suppresses that rule on that statement only, and keeps the reason', async () => {
    const sql = `-- rowguard-lint-ignore index-not-concurrent: t has 12 rows, built in 1 ms
create index t_a on public.t (a);
create index t_b on public.t (b);
`;
    const r = await lintWith({ migrations: [BEFORE, { displayPath: 'sql/0002_idx.sql', sql, judged: true }] });
    expect(r.findings.filter((f) => f.rule === 'index-not-concurrent').map((f) => f.location?.line)).toEqual([3]);
    expect(r.suppressed).toHaveLength(1);
    expect(r.suppressed[0]).toMatchObject({ rule: 'index-not-concurrent', location: { line: 2 }, suppressedBy: { reason: 't has 12 rows, built in 1 ms', source: 'sql-comment' } });
    expect(r.findings.some((f) => f.rule === 'unused-suppression')).toBe(false);
  });

  it('does not suppress another rule on the same statement', async () => {
    const sql = `-- rowguard-lint-ignore table-rewrite: wrong rule
create index t_a on public.t (a);
`;
    const r = await lintWith({ migrations: [BEFORE, { displayPath: 'sql/0002_idx.sql', sql, judged: true }] });
    expect(r.findings.map((f) => f.rule).sort()).toEqual(['index-not-concurrent', 'unused-suppression']);
    const unused = r.findings.find((f) => f.rule === 'unused-suppression')!;
    expect(unused.location).toEqual({ file: 'sql/0002_idx.sql', line: 1, column: 1 });
  });

  it('without a reason it suppresses nothing and is reported', async () => {
    const sql = `-- rowguard-lint-ignore index-not-concurrent
create index t_a on public.t (a);
`;
    const r = await lintWith({ migrations: [BEFORE, { displayPath: 'sql/0002_idx.sql', sql, judged: true }] });
    expect(r.findings.map((f) => f.rule).sort()).toEqual(['index-not-concurrent', 'unused-suppression']);
    expect(r.findings.find((f) => f.rule === 'unused-suppression')!.message).toMatch(/has no reason/);
  });

  it('an unknown rule id is reported', async () => {
    const sql = `-- rowguard-lint-ignore no-such-rule: typo
create table public.u (id int);
`;
    const r = await lintWith({ migrations: [{ displayPath: 'sql/0002_u.sql', sql, judged: true }] });
    expect(r.findings.map((f) => f.message)).toEqual([expect.stringMatching(/names no rule "no-such-rule"/)]);
  });

  it('in a file that is not judged, a migration-rule suppression is not reported as unused', async () => {
    const sql = `-- rowguard-lint-ignore index-not-concurrent: done long ago
create index t_a on public.t (a);
`;
    const r = await lintWith({ migrations: [BEFORE, { displayPath: 'sql/0002_idx.sql', sql, judged: false }] });
    expect(r.findings).toEqual([]);
  });

  it('above CREATE POLICY it covers the catalog finding on that policy', async () => {
    const sql = `create table public.items (id int primary key, user_id uuid);
alter table public.items enable row level security;
create index on public.items (user_id);
-- rowguard-lint-ignore policy-to-public: every role here is an API role and is meant to see its rows
create policy own on public.items using ((select auth.uid()) = user_id);
`;
    const model = await modelOf(template, sql);
    const r = await lintWith({ model, migrations: [{ displayPath: 'sql/0001_items.sql', sql, judged: false }] });
    expect(r.findings.filter((f) => f.rule === 'policy-to-public')).toEqual([]);
    expect(r.suppressed.map((f) => [f.rule, f.object])).toEqual([['policy-to-public', 'own on public.items']]);
  });
});

describe('COMMENT ON and the config', () => {
  let model: CatalogModel;
  beforeAll(async () => {
    model = await modelOf(
      template,
      `create table public.items (id int primary key, user_id uuid);
       create index on public.items (user_id);
       alter table public.items enable row level security;
       create policy own on public.items using ((select auth.uid()) = user_id);
       create policy mine on public.items using ((select auth.uid()) = user_id);
       comment on policy own on public.items is 'Owner access. rowguard-lint-ignore policy-to-public: legacy clients use a custom role';
       create table public.plain (id int primary key);
       grant select on public.plain to anon;
       comment on table public.plain is 'rowguard-lint-ignore rls-disabled-in-api: reference data, public by design';`,
    );
  });

  it('COMMENT ON POLICY / TABLE suppresses that rule on that object', async () => {
    const r = await lintWith({ model });
    expect(r.findings.filter((f) => f.rule === 'policy-to-public').map((f) => f.object)).toEqual(['mine on public.items']);
    expect(r.findings.filter((f) => f.rule === 'rls-disabled-in-api')).toEqual([]);
    expect(r.suppressed.map((f) => `${f.rule} ${f.object} ${f.suppressedBy.source}`).sort()).toEqual([
      'policy-to-public own on public.items comment-on',
      'rls-disabled-in-api public.plain comment-on',
    ]);
  });

  it('lint.ignore suppresses by rule and object; an entry matching nothing is reported', async () => {
    const r = await lintWith({
      model,
      settings: {
        ignore: [
          { rule: 'policy-to-public', object: 'mine on public.items', reason: 'migrating to TO authenticated in #42' },
          { rule: 'policy-to-public', object: 'gone on public.items', reason: 'stale' },
        ],
        configFile: 'rowguard.config.json',
      },
    });
    expect(r.findings.filter((f) => f.rule === 'policy-to-public')).toEqual([]);
    const unused = r.findings.filter((f) => f.rule === 'unused-suppression');
    expect(unused).toHaveLength(1);
    expect(unused[0]!.message).toMatch(/rowguard\.config\.json lint\.ignore\[1\] matched no policy-to-public finding on gone on public\.items/);
  });
});

describe('lint.ignore entries for migration rules', () => {
  const ADD = { displayPath: 'sql/0002_add.sql', sql: 'alter table public.t add column c int check (c > 0);\n' };
  const OTHER = { displayPath: 'sql/0003_other.sql', sql: 'create index u_a on public.t (a);\n' };
  const entry = { rule: 'constraint-not-valid', object: 'public.t.c', reason: 't holds one row' };

  it('suppress the finding when its file is judged, and are not "unused" when no file touching the object is', async () => {
    const settings = { ignore: [entry], configFile: 'rowguard.config.json' };
    const judged = await lintWith({ migrations: [BEFORE, { ...ADD, judged: true }], settings });
    expect(judged.suppressed.map((f) => `${f.rule} ${f.object}`)).toEqual(['constraint-not-valid public.t.c']);
    expect(judged.findings.filter((f) => f.rule === 'unused-suppression')).toEqual([]);
    // The gate without --base judges no file; a --base run judges only new files, here one on another object.
    for (const migrations of [[BEFORE, { ...ADD, judged: false }], [BEFORE, { ...ADD, judged: false }, { ...OTHER, sql: 'create table public.u (a int);\n', judged: true }]]) {
      const r = await lintWith({ migrations, settings });
      expect(r.findings.filter((f) => f.rule === 'unused-suppression')).toEqual([]);
    }
  });

  it('are "unused" when a judged file touched the object and gave no such finding', async () => {
    const r = await lintWith({
      migrations: [BEFORE, { displayPath: 'sql/0002_add.sql', sql: 'alter table public.t add column c int;\n', judged: true }],
      settings: { ignore: [entry], configFile: 'rowguard.config.json' },
    });
    expect(r.findings.filter((f) => f.rule === 'unused-suppression').map((f) => f.message)).toEqual([
      expect.stringMatching(/lint\.ignore\[0\] matched no constraint-not-valid finding on public\.t\.c/),
    ]);
  });
});

describe('expressions the parser cannot read', () => {
  it('are reported (policy-unparsed), not passed as clean', async () => {
    const model = await modelOf(template, `create table public.z (id int, user_id uuid); alter table public.z enable row level security;
      create policy own on public.z to authenticated using ((select auth.uid()) = user_id);`);
    const parse = (await import('../../cli/core/sql-text.js')).loadParser;
    const real = (await parse()).parseSync;
    // A parser that refuses this one expression stands in for syntax newer than the bundled grammar.
    const r = await lintWith({ model, parseSync: (sql: string) => (sql.includes('user_id') ? (() => { throw new Error('syntax error at or near "user_id"'); })() : real(sql)) });
    expect(r.findings.filter((f) => f.rule === 'policy-unparsed').map((f) => f.object)).toEqual(['own on public.z']);
  });
});
