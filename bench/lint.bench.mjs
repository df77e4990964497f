// rowguard lint on a schema of 2,000 tables × 4 policies, against the floor of
// one catalog query (every policy with its deparsed expressions, the least any
// policy linter must read). Target: ≤ 3× the floor, plus start-up.
import { withServer, median, medianTimed, ratioLine, ROOT, CLI } from './lib/server.mjs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const TABLES = Number(process.env.LINT_BENCH_TABLES ?? 2000);
const db = await import(join(ROOT, 'dist/cli/core/db.js'));
const { lint } = await import(join(ROOT, 'dist/cli/core/lint/engine.js'));
const { loadConfig } = await import(join(ROOT, 'dist/cli/core/config.js'));
const { introspect } = await import(join(ROOT, 'dist/cli/core/catalog/introspect.js'));
const { runLint } = await import(join(ROOT, 'dist/cli/core/lint/engine.js'));
const { loadParser } = await import(join(ROOT, 'dist/cli/core/sql-text.js'));

const SETUP = `
do $$ begin
  if not exists (select from pg_roles where rolname = 'anon') then create role anon nologin; end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then create role authenticated nologin; end if;
exception when duplicate_object or unique_violation then null; end $$;
create schema auth;
create function auth.uid() returns uuid language sql stable as $f$ select (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $f$;
grant usage on schema auth, public to anon, authenticated;
do $$ begin
  for i in 1..${TABLES} loop
    execute format($s$
      create table public.t%1$s (id bigint primary key, user_id uuid not null, org_id int, body text);
      create index on public.t%1$s (user_id);
      alter table public.t%1$s enable row level security;
      create policy sel on public.t%1$s for select to authenticated using ((select auth.uid()) = user_id);
      create policy ins on public.t%1$s for insert to authenticated with check ((select auth.uid()) = user_id);
      create policy upd on public.t%1$s for update to authenticated using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
      create policy del on public.t%1$s for delete to authenticated using ((select auth.uid()) = user_id);
      grant select, insert, update, delete on public.t%1$s to authenticated;
    $s$, i);
  end loop;
end $$;
analyze;`;

const FLOOR = `
select n.nspname, c.relname, p.polname, p.polcmd, p.polpermissive, p.polroles,
       pg_get_expr(p.polqual, p.polrelid) as using, pg_get_expr(p.polwithcheck, p.polrelid) as check
from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace`;

await withServer(async (serverUrl) => {
  const target = await db.createThrowawayDatabase(serverUrl, { prefix: 'rowguard_bench_lint' });
  const project = mkdtempSync(join(tmpdir(), 'rowguard-bench-lint-'));
  try {
    const t0 = performance.now();
    await db.withSql(target.url, (sql) => sql.unsafe(SETUP).simple());
    console.log(`schema: ${TABLES} tables × 4 policies built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    mkdirSync(join(project, 'sql'));
    writeFileSync(join(project, 'rowguard.config.json'), '{}');
    const config = loadConfig({ cwd: project });

    // Floor: one query, timed after the connection is up (connection set-up is
    // not the query's cost), as the first query of a new server process — which
    // is what a CLI (rowguard, or psql running splinter's SQL) always gets:
    // pg_get_expr opens every table, and a new backend has none of them cached.
    // The same query repeated on one warm connection is printed for comparison.
    const floor = await medianTimed(7, async () => {
      const fresh = db.connect(target.url, { max: 1 });
      await fresh`select 1`;
      const t = performance.now();
      await fresh.unsafe(FLOOR);
      const ms = performance.now() - t;
      await fresh.end();
      return ms;
    });
    const sql = db.connect(target.url, { max: 1 });
    await sql.unsafe(FLOOR);
    const warm = await median(7, () => sql.unsafe(FLOOR));
    await sql.end();
    console.log(`${'floor: the catalog query, new connection'.padEnd(48)} ${floor.toFixed(1).padStart(9)} ms  (repeated on one warm connection: ${warm.toFixed(1)} ms)`);

    let findings = 0;
    const inProcess = await median(7, async () => {
      const run = await lint({ config, url: target.url, shadow: false, cwd: project });
      findings = run.findings.length;
    });
    console.log(ratioLine(`lint in process (${findings} findings)`, inProcess, floor, 3));

    // Where the time goes: the shared catalog read, then the rules (parse trees included).
    let model;
    const read = await median(5, async () => {
      model = await db.withSql(target.url, (s) => introspect(s, { apiRoles: ['anon', 'authenticated'], scope: 'full' }));
    });
    const { parseSync } = await loadParser();
    const settings = { schemas: null, anonRole: 'anon', authenticatedRole: 'authenticated', lockTimeout: '5s', ignore: [], configFile: null };
    const rules = await median(5, () => runLint({ model, migrations: [], settings, parseSync }));
    const texts = new Set(model.relations.flatMap((r) => r.policies.flatMap((p) => [p.using, p.check].filter(Boolean))));
    console.log(ratioLine('  of which: catalog introspection (one snapshot)', read, floor));
    console.log(ratioLine(`  of which: rules (${texts.size} distinct expressions parsed)`, rules, floor));
    // Worst case for the parser: every expression distinct (no sharing across tables).
    const { analyseExpression } = await import(join(ROOT, 'dist/cli/core/lint/expr.js'));
    const all = model.relations.flatMap((r) => r.policies.flatMap((p) => [p.using, p.check].filter(Boolean).map((e) => [e, r.name])));
    const t1 = performance.now();
    for (const [e, t] of all) analyseExpression(e, t, parseSync);
    console.log(`  parse + analyse every one of ${all.length} expressions separately: ${(performance.now() - t1).toFixed(1)} ms`);

    // Start-up: the CLI on an empty database (node, module loading, the parser's wasm, one connection).
    const empty = await db.createThrowawayDatabase(serverUrl, { prefix: 'rowguard_bench_lint_empty' });
    const cli = (url) => {
      const t = performance.now();
      const r = spawnSync(process.execPath, [CLI, 'lint', '--level', 'error'], { cwd: project, env: { ...process.env, DATABASE_URL: url, NO_COLOR: '1' }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`rowguard lint exited ${r.status}: ${r.stderr}`);
      return performance.now() - t;
    };
    const startup = await median(5, () => cli(empty.url));
    const whole = await median(5, () => cli(target.url));
    await empty.drop();
    console.log(`${'rowguard lint start-up (empty database)'.padEnd(48)} ${startup.toFixed(1).padStart(9)} ms`);
    console.log(ratioLine('rowguard lint CLI − start-up', whole - startup, floor, 3));
  } finally {
    await target.drop();
    rmSync(project, { recursive: true, force: true });
  }
});
