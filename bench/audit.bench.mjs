// Cost of the hash-chained audit trigger on public.deployments: the same inserts
// with the audit_capture trigger enabled vs disabled (the floor), as the owner,
// so only the trigger differs.
//   single-row  one INSERT per transaction (an API request), 1 writer and 2 concurrent writers
//   bulk        one INSERT … SELECT of many rows, 1 writer and 2 concurrent writers
// Target: ≤ 2× for the hash-chained log under 2 concurrent writers.
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { withServer, backendCpuReader, median, ratioLine, ROOT } from './lib/server.mjs';

const SINGLE = 400; // transactions per writer
const BULK = 20_000; // rows per statement
const RUNS = 7;

const { connect, createThrowawayDatabase } = await import(join(ROOT, 'dist/cli/core/db.js'));
const { up } = await import(join(ROOT, 'dist/cli/core/migrate/engine.js'));

const USER = '00000000-0000-4000-8000-0000000000a1';

await withServer(async (serverUrl) => {
  const db = await createThrowawayDatabase(serverUrl, { prefix: 'rg_bench_audit' });
  const admin = connect(db.url, { max: 1 });
  const writers = [connect(db.url, { max: 1 }), connect(db.url, { max: 1 })];
  try {
    await up({ url: db.url, dir: join(ROOT, 'sql'), displayRoot: ROOT, lockTimeout: '5s', statementTimeout: '0' });
    await admin`insert into auth.users (id, aud, role, email) values (${USER}, 'authenticated', 'authenticated', 'bench@bench.test')`;

    const setTrigger = (on) => admin.unsafe(`alter table public.deployments ${on ? 'enable' : 'disable'} trigger audit_capture`);
    const reset = async () => {
      await admin.unsafe('truncate public.deployments');
      await admin.unsafe('checkpoint');
    };

    const single = (w, n) => async () => {
      for (let i = 0; i < n; i++) await w.unsafe(`insert into public.deployments (user_id, name) values ('${USER}', 'single ${i}')`);
    };
    const bulk = (w, n) => () => w.unsafe(`insert into public.deployments (user_id, name) select '${USER}', 'bulk ' || g from generate_series(1, ${n}) g`);
    const both = (make) => () => Promise.all(writers.map((w) => make(w)()));

    const cases = [
      ['single-row inserts, 1 writer', () => single(writers[0], SINGLE)],
      ['single-row inserts, 2 concurrent writers', () => both((w) => single(w, SINGLE))],
      ['bulk insert, 1 writer', () => bulk(writers[0], BULK)],
      ['bulk inserts, 2 concurrent writers', () => both((w) => bulk(w, BULK))],
    ];
    const rowsOf = (label) => (label.startsWith('single') ? SINGLE : BULK) * (label.includes('2 concurrent') ? 2 : 1);

    console.log(`median of ${RUNS} runs; single-row: ${SINGLE} transactions per writer; bulk: ${BULK.toLocaleString('en')} rows per statement`);
    console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (ratios are only meaningful on an idle machine)`);
    for (const [label, make] of cases) {
      await setTrigger(false);
      const floor = await median(RUNS, make(), reset);
      await setTrigger(true);
      const audited = await median(RUNS, make(), reset);
      const perRow = (audited * 1000) / rowsOf(label);
      console.log(ratioLine(label, audited, floor, label.includes('2 concurrent') ? 2 : undefined) + `  (${perRow.toFixed(1)} µs/row audited)`);
    }

    // Where the single-row cost goes: the writer's backend CPU per insert (local servers only),
    // measured apart from the timed runs.
    const cpu = await backendCpuReader(writers[0], db.url);
    if (cpu) {
      const per = {};
      for (const on of [false, true]) {
        await setTrigger(on);
        await reset();
        const c0 = cpu();
        await single(writers[0], SINGLE)();
        per[on] = (cpu() - c0) / SINGLE / 1000;
      }
      console.log(`backend CPU per single-row insert (its schedstat): floor ${per[false].toFixed(0)} µs, audited ${per[true].toFixed(0)} µs (+${(per[true] - per[false]).toFixed(0)} µs)`);
    }

    const [{ n }] = await admin`select count(*)::int as n from audit.log`;
    const verify = await import(join(ROOT, 'dist/cli/core/audit/verify.js'));
    const t0 = performance.now();
    const result = await verify.verifyAuditLog(admin);
    const ms = performance.now() - t0;
    console.log(`audit verify: ${result.ok ? 'ok' : 'BROKEN'} over ${n.toLocaleString('en')} rows in ${ms.toFixed(0)} ms (${((n / ms) * 1000).toFixed(0)} rows/s)`);
    if (!result.ok) process.exitCode = 1;
  } finally {
    await Promise.all([admin, ...writers].map((s) => s.end({ timeout: 5 })));
    await db.drop();
  }
});
