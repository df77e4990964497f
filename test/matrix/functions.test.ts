/**
 * Who may call each function PostgREST serves (/rpc/<name>): one EXECUTE cell
 * per (function, actor), checked as the actor's request, in the committed file
 * and compared like the table cells. Functions PostgREST does not serve
 * (trigger functions, procedures, aggregates, an extension's) are left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDatabase, type TestDatabase } from '../helpers/pg.js';
import { computeMatrixOn } from '../../cli/core/matrix/build.js';
import { compareWithCommitted } from '../../cli/core/matrix/check.js';
import { callLabelsOf, parseMatrixFile, serializeMatrix } from '../../cli/core/matrix/file.js';
import { compareCalls, describeChanges } from '../../cli/core/matrix/compare.js';
import { renderMatrixMarkdown, renderMatrixText } from '../../cli/core/report/matrix.js';
import type { Config } from '../../cli/core/config.js';
import type { Matrix } from '../../cli/core/matrix/model.js';
import { ACTORS, API, BASE_SQL } from './base-schema.js';
import { tempDir } from '../helpers/tmp.js';

const SCHEMA = `
do $$ begin
  if not exists (select 1 from pg_roles where rolname = 'rg_matrix_fn_owner') then create role rg_matrix_fn_owner nologin; end if;
exception when unique_violation or duplicate_object then null; end $$;
-- invoker, for signed-in users only
create function public.my_notes() returns setof int language sql stable as 'select 1';
revoke execute on function public.my_notes() from public;
grant execute on function public.my_notes() to authenticated;
-- definer, callable by everyone through PUBLIC's default EXECUTE
create function public.all_notes(u uuid, "limit" int default 10) returns setof int language sql security definer as 'select 1';
-- definer owned by another role, for the service role only
create function public.stats() returns int language sql security definer as 'select 1';
alter function public.stats() owner to rg_matrix_fn_owner;
revoke execute on function public.stats() from public;
grant execute on function public.stats() to service_role;
-- a schema anon cannot use
create schema api;
grant usage on schema api to authenticated, service_role;
create function api.ping() returns int language sql as 'select 1';
-- not served over /rpc
create function public.touch() returns trigger language plpgsql as 'begin return new; end';
create procedure public.proc() language sql as 'select 1';
create aggregate public.total(int) (sfunc = int4pl, stype = int);
create extension citext schema public;
`;

describe('functions in the access matrix', () => {
  let db: TestDatabase;
  let dir: string;
  let m: Matrix;
  let superuser: string;
  const compute = () => computeMatrixOn(db.url, { fixturesDir: dir, displayRoot: dir, api: API, schemas: ['public', 'api'] });

  beforeAll(async () => {
    db = await freshDatabase('rg_matrix_fn');
    await db.sql.unsafe(BASE_SQL).simple();
    await db.sql.unsafe(SCHEMA).simple();
    superuser = (await db.sql<{ u: string }[]>`select current_user as u`)[0]!.u;
    dir = tempDir('rg-matrix-fn-');
    writeFileSync(join(dir, 'actors.json'), JSON.stringify(ACTORS));
    m = await compute();
  });
  afterAll(async () => db?.drop());

  it('lists the functions PostgREST serves, and no trigger function, procedure, aggregate or extension member', () => {
    expect(m.functions.map((f) => f.name).sort()).toEqual(['api.ping()', 'public.all_notes(u uuid, "limit" integer)', 'public.my_notes()', 'public.stats()']);
  });

  it('each actor: none without EXECUTE or without USAGE on the schema; execute; execute as the owner for SECURITY DEFINER', () => {
    const labels = callLabelsOf(m);
    expect(labels['public.my_notes()']).toEqual({ anon: 'none', alice: 'execute', bob: 'execute', staff: 'execute', service_role: 'none' });
    const definer = `execute as ${superuser}`;
    expect(labels['public.all_notes(u uuid, "limit" integer)']).toEqual({ anon: definer, alice: definer, bob: definer, staff: definer, service_role: definer });
    expect(labels['public.stats()']).toEqual({ anon: 'none', alice: 'none', bob: 'none', staff: 'none', service_role: 'execute as rg_matrix_fn_owner' });
    expect(labels['api.ping()']).toEqual({ anon: 'none', alice: 'execute', bob: 'execute', staff: 'execute', service_role: 'execute' });
  });

  it('a grant, a revoke or SECURITY DEFINER is a changed cell, in words a reviewer reads', async () => {
    const before = callLabelsOf(m);
    await db.sql.unsafe(`grant execute on function public.my_notes() to anon;
      alter function api.ping() security definer;
      drop function public.stats();
      create function public.fresh() returns int language sql as 'select 1';
      revoke execute on function public.fresh() from public; grant execute on function public.fresh() to service_role;`).simple();
    try {
      const after = callLabelsOf(await compute());
      expect(describeChanges(compareCalls(before, after)).sort()).toEqual(
        [
          'anon: EXECUTE public.my_notes() none → execute',
          `alice: EXECUTE api.ping() execute → execute (SECURITY DEFINER: runs as ${superuser})`,
          `bob: EXECUTE api.ping() execute → execute (SECURITY DEFINER: runs as ${superuser})`,
          `staff: EXECUTE api.ping() execute → execute (SECURITY DEFINER: runs as ${superuser})`,
          `service_role: EXECUTE api.ping() execute → execute (SECURITY DEFINER: runs as ${superuser})`,
          'public.stats(): no longer computed (dropped, renamed, or its schema is no longer exposed)',
          'anon: public.fresh() (new function) EXECUTE none',
          'alice: public.fresh() (new function) EXECUTE none',
          'bob: public.fresh() (new function) EXECUTE none',
          'staff: public.fresh() (new function) EXECUTE none',
          'service_role: public.fresh() (new function) EXECUTE execute',
        ].sort(),
      );
    } finally {
      await db.sql.unsafe(`revoke execute on function public.my_notes() from anon; alter function api.ping() security invoker; drop function public.fresh();
        create function public.stats() returns int language sql security definer as 'select 1';
        alter function public.stats() owner to rg_matrix_fn_owner;
        revoke execute on function public.stats() from public; grant execute on function public.stats() to service_role;`).simple();
    }
  });

  it('the committed file keeps one line per function; a file from before functions compares only its tables and says so', () => {
    const text = serializeMatrix(m);
    expect(text).toContain(`    "public.stats()": { "anon": "none", "alice": "none", "bob": "none", "staff": "none", "service_role": "execute as rg_matrix_fn_owner" }`);
    expect(parseMatrixFile(text, 'access-matrix.json').functions).toEqual(callLabelsOf(m));
    const cfg = { root: dir, dirs: { test: dir } } as unknown as Config;
    writeFileSync(join(dir, 'access-matrix.json'), text);
    expect(compareWithCommitted(cfg, m)).toMatchObject({ changes: [], functionsUntracked: false });
    const old = JSON.parse(readFileSync(join(dir, 'access-matrix.json'), 'utf8')) as Record<string, unknown>;
    delete old['functions'];
    writeFileSync(join(dir, 'access-matrix.json'), JSON.stringify(old));
    expect(compareWithCommitted(cfg, m)).toMatchObject({ changes: [], functionsUntracked: true });
    // A committed call cell that differs fails the comparison.
    const edited = parseMatrixFile(text, 'x');
    edited.functions!['public.stats()']!['anon'] = 'execute as rg_matrix_fn_owner';
    writeFileSync(join(dir, 'access-matrix.json'), JSON.stringify(edited));
    expect(compareWithCommitted(cfg, m).changes.map((c) => [c.actor, c.command, c.table, c.expected, c.actual])).toEqual([['anon', 'EXECUTE', 'public.stats()', 'execute as rg_matrix_fn_owner', 'none']]);
    expect(() => parseMatrixFile(JSON.stringify({ ...edited, functions: { 'public.f()': { anon: 1 } } }), 'x')).toThrow(/functions\[public\.f\(\)\]\[anon\] must be a string/);
  });

  it('the text and Markdown grids have one EXECUTE row per function', () => {
    const text = renderMatrixText(m).split('\n');
    expect(text[0]).toMatch(/^table \/ function\s+command\s+anon\s+alice/);
    expect(text.find((l) => l.startsWith('public.stats()'))).toMatch(/^public\.stats\(\)\s+EXECUTE\s+none\s+none\s+none\s+none\s+execute as rg_matrix_fn_owner$/);
    expect(renderMatrixMarkdown(m)).toContain('| `api.ping()` | EXECUTE | none | execute | execute | execute | execute |');
  });
});
