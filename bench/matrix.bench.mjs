// Access matrix: 30 owner-scoped tables × 5 actors × 4 commands (600 cells),
// 200 rows per table. Reports the probe time and cells per second, against a
// floor of the same 600 bare statements (count / insert / update / delete as
// each role, no savepoint, no ground truth) in one session.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, withServer, median, ratioLine } from './lib/server.mjs';

const TABLES = 30;
const ROWS = 200;
const { connect, createThrowawayDatabase } = await import(join(ROOT, 'dist/cli/core/db.js'));
const { computeMatrixOn } = await import(join(ROOT, 'dist/cli/core/matrix/build.js'));

const USERS = ['a', 'b', 'c'].map((c) => `00000000-0000-4000-8000-00000000000${c}`);
const base = `
do $$ begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin; end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin bypassrls; end if;
end $$;
create schema auth;
create table auth.users (id uuid primary key, aud text, role text, email text, phone text, raw_app_meta_data jsonb, raw_user_meta_data jsonb,
  is_anonymous boolean not null default false, is_sso_user boolean not null default false, created_at timestamptz default now());
create function auth.uid() returns uuid language sql stable as $f$ select (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $f$;
grant usage on schema auth to anon, authenticated, service_role;
insert into auth.users (id, email, role) values ${USERS.map((u, i) => `('${u}', 'u${i}@example.test', 'authenticated')`).join(', ')};
` + Array.from({ length: TABLES }, (_, i) => `
create table public.t${i} (id bigint generated always as identity primary key, user_id uuid not null references auth.users(id), body text not null);
alter table public.t${i} enable row level security;
grant select, insert, update, delete on public.t${i} to authenticated, service_role;
create policy own on public.t${i} to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
insert into public.t${i} (user_id, body) select (array['${USERS.join("','")}']::uuid[])[1 + g % 3], 'row ' || g from generate_series(1, ${ROWS}) g;
create index on public.t${i} (user_id);`).join('\n');

await withServer(async (server) => {
  const db = await createThrowawayDatabase(server, { prefix: 'rg_bench_matrix' });
  const sql = connect(db.url);
  try {
    await sql.unsafe(base).simple();
    const dir = mkdtempSync(join(tmpdir(), 'rg-bench-matrix-'));
    writeFileSync(join(dir, 'actors.json'), JSON.stringify({ actors: [
      { name: 'anon', kind: 'anon' }, ...USERS.map((_, i) => ({ name: `u${i}`, kind: 'user', email: `u${i}@example.test` })), { name: 'service_role', kind: 'service_role' }] }));
    const inputs = { fixturesDir: dir, displayRoot: dir, schemas: ['public'], api: { anonRole: 'anon', authenticatedRole: 'authenticated', serviceRole: 'service_role', roleClaimKey: '$.role', issuer: 'bench', expiresIn: 3600 } };
    const cells = TABLES * 5 * 4;
    const probe = await median(3, () => computeMatrixOn(db.url, inputs));
    const roles = [['anon', null], ...USERS.map((u) => ['authenticated', u]), ['service_role', null]];
    const floor = await median(3, async () => {
      for (const [role, sub] of roles) {
        await sql.begin(async (tx) => {
          await tx`select set_config('role', ${role}, true), set_config('request.jwt.claims', ${JSON.stringify({ sub, role })}, true)`;
          for (let i = 0; i < TABLES; i++) {
            for (const q of [`select count(*) from public.t${i}`, `insert into public.t${i} (user_id, body) values ('${sub ?? USERS[0]}', 'x')`, `update public.t${i} set body = body`, `delete from public.t${i}`]) {
              await tx.unsafe(`savepoint s`);
              await tx.unsafe(q).catch(() => undefined);
              await tx.unsafe(`rollback to savepoint s`);
            }
          }
          await tx.unsafe('rollback');
        }).catch(() => undefined);
      }
    });
    console.log(ratioLine(`matrix ${cells} cells (${TABLES} tables × 5 actors × 4)`, probe, floor));
    console.log(`${(cells / (probe / 1000)).toFixed(0)} cells/s`);
  } finally {
    await sql.end();
    await db.drop();
  }
});
