// RLS cost on public.deployments: 1,000,000 rows over 10,000 users.
// `select count(*)` as one user through RLS (role authenticated, claims set as
// PostgREST sets them) vs the floor: the same count with an explicit
// `where user_id = …` and no RLS (as the owner). Target: ≤ 1.3×.
// Also shown, for docs/security-model.md: the same count if staff access were
// an OR'ed `is_staff()` policy on authenticated (why staff is a separate role).
import { join } from 'node:path';
import { withServer, ratioLine, ROOT } from './lib/server.mjs';

const USERS = 10_000;
const ROWS = 1_000_000;
const RUNS = 300;

const { connect, createThrowawayDatabase } = await import(join(ROOT, 'dist/cli/core/db.js'));
const { up } = await import(join(ROOT, 'dist/cli/core/migrate/engine.js'));

const userId = (n) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

await withServer(async (serverUrl) => {
  const db = await createThrowawayDatabase(serverUrl, { prefix: 'rg_bench_rls' });
  const sql = connect(db.url, { max: 1 });
  try {
    await up({ url: db.url, dir: join(ROOT, 'sql'), displayRoot: ROOT, lockTimeout: '5s', statementTimeout: '0' });
    let t0 = performance.now();
    await sql.unsafe(`
      insert into auth.users (id, aud, role, email, created_at, updated_at)
      select ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'authenticated', 'authenticated', 'u' || g || '@bench.test', now(), now()
      from generate_series(1, ${USERS}) g;
      -- Loading is not what is measured: no audit rows for the bulk load (the audit_retrack
      -- event trigger would switch capture straight back on: it is paused for the load).
      alter event trigger audit_retrack disable;
      alter table public.deployments disable trigger audit_capture;
      insert into public.deployments (user_id, name, status)
      select ('00000000-0000-4000-8000-' || lpad(to_hex(1 + g % ${USERS}), 12, '0'))::uuid, 'd' || g, 'running'
      from generate_series(1, ${ROWS}) g;
      alter table public.deployments enable trigger audit_capture;
      alter event trigger audit_retrack enable;`);
    await sql.unsafe('vacuum analyze public.deployments');
    console.log(`loaded ${ROWS.toLocaleString('en')} deployments over ${USERS.toLocaleString('en')} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const claims = (n) => JSON.stringify({ sub: userId(n), role: 'authenticated', aud: 'authenticated', email: `u${n}@bench.test` });
    const userOf = (i) => 1 + ((i * 7919) % USERS);

    // Floor: explicit predicate, as the owner (a superuser: RLS does not apply).
    async function floorRun(i) {
      const t = performance.now();
      const [r] = await sql.unsafe(`select count(*) from public.deployments where user_id = '${userId(userOf(i))}'`);
      const elapsed = performance.now() - t;
      if (Number(r.count) !== ROWS / USERS) throw new Error(`expected ${ROWS / USERS} rows for one user, got ${r.count}`);
      return elapsed;
    }
    // Through RLS: the request's settings are applied in the transaction first (untimed), as PostgREST does.
    async function rlsRun(i) {
      let elapsed = 0;
      await sql.begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims(userOf(i))}, true)`;
        const t = performance.now();
        const [r] = await tx.unsafe('select count(*) from public.deployments');
        elapsed = performance.now() - t;
        if (Number(r.count) !== ROWS / USERS) throw new Error(`expected ${ROWS / USERS} rows for one user, got ${r.count}`);
      });
      return elapsed;
    }
    // Interleaved, alternating which goes first, so cache warmth favours neither side.
    const floorTimes = [];
    const rlsTimes = [];
    for (let i = 0; i < RUNS; i++) {
      if (i % 2) {
        floorTimes.push(await floorRun(i));
        rlsTimes.push(await rlsRun(i));
      } else {
        rlsTimes.push(await rlsRun(i));
        floorTimes.push(await floorRun(i));
      }
    }
    const mid = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const floor = mid(floorTimes);
    const rls = mid(rlsTimes);

    const [plan] = await sql.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims(1)}, true)`;
      return tx.unsafe('explain (costs off) select count(*) from public.deployments');
    }).then((rows) => [rows.map((r) => r['QUERY PLAN']).join(' | ')]);

    console.log(`median of ${RUNS} runs, one user (${ROWS / USERS} rows) each run`);
    console.log(ratioLine('count(*) through RLS vs explicit where, no RLS', rls, floor, 1.3));
    console.log(`  plan through RLS: ${plan}`);

    // What an OR'ed staff policy on authenticated would cost every user (not the schema's design).
    let orStaff = 0;
    await sql
      .begin(async (tx) => {
        await tx.unsafe(`create policy bench_or_staff on public.deployments for select to authenticated using ((select auth.jwt()) -> 'app_metadata' ->> 'role' = 'staff')`);
        const times = [];
        for (let i = 0; i < 20; i++) {
          await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims(userOf(i))}, true)`;
          const t = performance.now();
          await tx.unsafe('select count(*) from public.deployments');
          times.push(performance.now() - t);
          await tx`select set_config('role', 'none', true)`;
        }
        times.sort((a, b) => a - b);
        orStaff = times[10];
        throw new Error('rollback');
      })
      .catch((e) => {
        if (e.message !== 'rollback') throw e;
      });
    console.log(ratioLine('(for comparison) same with an OR\'ed staff policy', orStaff, floor));
  } finally {
    await sql.end({ timeout: 5 });
    await db.drop();
  }
});
