// policy diff at scale: 2,000 tables × 4 policies (plus RLS and grants).
//
//   identical: `policy diff --from <A> --to <B>` where B is a copy of A (no steps);
//   empty:     `policy diff --from <E> --to <A>` where E has the same tables and no
//              RLS, grants or policies (12,000 steps planned and rendered);
//   floor:     one pg_policy ⋈ pg_class query on each database (connect + query,
//              both databases in parallel, as the diff reads them).
// Target: CLI time ≤ 3 × floor + CLI start-up (`rowguard --version`).
// Default mode (`policy diff` from the database to sql/ + policies/) is reported
// split into build (shadow: create, migrate, overlay) and compare (read + plan).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, median, ratioLine, withServer } from './lib/server.mjs';

const TABLES = Number(process.env.BENCH_TABLES ?? 2000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const db = await import(join(ROOT, 'dist/cli/core/db.js'));

const uidExpr = `(select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid`;
const rolesSql = `
do $$ declare r record; begin
  for r in select * from (values ('anon', 'nologin'), ('authenticated', 'nologin'), ('service_role', 'nologin bypassrls')) v(n, a) loop
    if not exists (select from pg_roles where rolname = r.n) then
      begin execute format('create role %I %s', r.n, r.a); exception when duplicate_object or unique_violation then null; end;
    end if;
  end loop;
end $$;
create schema if not exists auth;
create or replace function auth.uid() returns uuid language sql stable as $f$ select ${uidExpr} $f$;`;

const table = (i) => `public.t_${String(i).padStart(4, '0')}`;
const tablesSql = () => Array.from({ length: TABLES }, (_, i) => `create table ${table(i)} (id bigint primary key, user_id uuid not null, body text);`).join('\n');
function policyFile(i) {
  const t = table(i);
  return [
    `alter table ${t} enable row level security;`,
    `alter table ${t} force row level security;`,
    `grant select, insert, update, delete on ${t} to authenticated;`,
    `create policy read_own on ${t} for select to authenticated using ((select auth.uid()) = user_id);`,
    `create policy insert_own on ${t} for insert to authenticated with check ((select auth.uid()) = user_id);`,
    `create policy update_own on ${t} for update to authenticated using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);`,
    `create policy delete_own on ${t} for delete to authenticated using ((select auth.uid()) = user_id);`,
  ].join('\n');
}

function cli(args, cwd = ROOT) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0 && r.status !== 1) throw new Error(`rowguard ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

await withServer(async (serverUrl) => {
  const made = [];
  const project = mkdtempSync(join(tmpdir(), 'rowguard-bench-policy-'));
  try {
    const t0 = performance.now();
    const A = await db.createThrowawayDatabase(serverUrl, { prefix: 'bench_policy_a' });
    made.push(A);
    await db.withSql(A.url, async (sql) => {
      await sql.unsafe(rolesSql).simple();
      await sql.unsafe(tablesSql()).simple();
      const all = Array.from({ length: TABLES }, (_, i) => policyFile(i)).join('\n');
      await sql.unsafe(all).simple();
    });
    const E = await db.createThrowawayDatabase(serverUrl, { prefix: 'bench_policy_e' });
    made.push(E);
    await db.withSql(E.url, async (sql) => {
      await sql.unsafe(rolesSql).simple();
      await sql.unsafe(tablesSql()).simple();
    });
    const B = await db.createThrowawayDatabase(serverUrl, { prefix: 'bench_policy_b', template: A.name });
    made.push(B);
    console.log(`setup: ${TABLES} tables × 4 policies in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const floorQuery = `select c.relname, p.polname, p.polcmd, p.polpermissive, p.polroles,
                               pg_get_expr(p.polqual, p.polrelid) as using, pg_get_expr(p.polwithcheck, p.polrelid) as check
                        from pg_policy p join pg_class c on c.oid = p.polrelid`;
    const floorOne = (url) => db.withSql(url, (sql) => sql.unsafe(floorQuery));
    const floorIdentical = await median(RUNS, () => Promise.all([floorOne(A.url), floorOne(B.url)]));
    const floorEmpty = await median(RUNS, () => Promise.all([floorOne(E.url), floorOne(A.url)]));
    const startup = await median(RUNS, () => cli(['--version']));

    const identical = await median(RUNS, () => {
      const r = cli(['policy', 'diff', '--from', A.url, '--to', B.url, '--exit-code']);
      if (r.status !== 0 || r.stdout !== '') throw new Error(`identical databases differ: ${r.stderr.slice(0, 500)}`);
    });
    let steps = 0;
    const empty = await median(RUNS, () => {
      const r = cli(['policy', 'diff', '--from', E.url, '--to', A.url, '--exit-code']);
      steps = (r.stdout.match(/;\n/g) ?? []).length - 2; // minus begin/commit
    });

    console.log(`CLI start-up (rowguard --version): ${startup.toFixed(1)} ms`);
    console.log(ratioLine('policy diff identical (minus start-up)', identical - startup, floorIdentical, 3));
    console.log(ratioLine(`policy diff vs empty, ${steps} statements (minus start-up)`, empty - startup, floorEmpty, 3));
    console.log(`  (raw: identical ${identical.toFixed(1)} ms, empty ${empty.toFixed(1)} ms)`);

    // Default mode: target A vs sql/ (the tables) + policies/ (one file per table).
    mkdirSync(join(project, 'sql'));
    mkdirSync(join(project, 'policies'));
    writeFileSync(join(project, 'sql', '0001_tables.sql'), `${rolesSql}\n${tablesSql()}\n`);
    for (let i = 0; i < TABLES; i++) writeFileSync(join(project, 'policies', `public.t_${String(i).padStart(4, '0')}.sql`), policyFile(i) + '\n');
    const timings = [];
    const total = await median(Math.max(3, Math.floor(RUNS / 2)), () => {
      const r = cli(['policy', 'diff', '--db', A.url, '--format', 'json', '--exit-code'], project);
      const doc = JSON.parse(r.stdout);
      if (doc.changed) throw new Error(`default mode found a difference: ${JSON.stringify(doc.steps.slice(0, 3))}`);
      timings.push(doc.timings);
    });
    const pick = (t, k) => k.split('.').reduce((o, p) => o[p], t);
    const med = (k) => timings.map((t) => pick(t, k)).sort((a, b) => a - b)[Math.floor(timings.length / 2)];
    console.log(
      `policy diff default mode (db → sql/ + policies/): ${total.toFixed(0)} ms wall; build ${med('buildMs').toFixed(0)} ms ` +
        `(create ${med('shadow.createMs').toFixed(0)}, migrate ${med('shadow.migrateMs').toFixed(0)}, overlay ${TABLES} files ${med('shadow.policiesMs').toFixed(0)}), ` +
        `compare ${(med('readShadowMs') + med('planMs')).toFixed(0)} ms (read the shadow ${med('readShadowMs').toFixed(0)} ms + plan ${med('planMs').toFixed(0)} ms; ` +
        `the target, ${med('readUrlMs').toFixed(0)} ms, is read while the shadow is built)`,
    );
  } finally {
    for (const d of made.reverse()) await d.drop().catch(() => undefined);
    rmSync(project, { recursive: true, force: true });
  }
});
