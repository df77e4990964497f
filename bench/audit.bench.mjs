// Cost of the hash-chained audit trigger on public.deployments: the same inserts
// with the audit_capture trigger enabled vs disabled (the floor), as the owner,
// so only the trigger differs; runs alternate between the two.
//   single-row  one INSERT per transaction (an API request), 1 writer and 2 concurrent writers
//   bulk        one INSERT … SELECT of many rows, 1 writer and 2 concurrent writers
// Target: ≤ 2× for the hash-chained log under 2 concurrent writers.
//
// Each case runs on two servers, because a single-row insert's floor is mostly
// its commit:
//   durable     Postgres's defaults (fsync, synchronous_commit, full_page_writes
//               on), what a deployment runs: the commit waits for its WAL flush,
//               and the trigger's extra WAL (the log row, its index entries) is
//               paid there too. The target is judged here.
//   durability off  rowguard's development profile (embedded `db start`, the
//               tests): no flush, so the ratio is the trigger's CPU cost alone,
//               the upper bound of what a disk with a free fsync would show.
// With DATABASE_URL there is one server, judged by its own settings.
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { withServer, durability, backendCpuReader, median, ratioLine, ROOT } from './lib/server.mjs';

const SINGLE = 400; // transactions per writer
const BULK = 20_000; // rows per statement
const RUNS = 7;

const { connect, createThrowawayDatabase } = await import(join(ROOT, 'dist/cli/core/db.js'));
const { up } = await import(join(ROOT, 'dist/cli/core/migrate/engine.js'));

const USER = '00000000-0000-4000-8000-0000000000a1';

const profiles = process.env.DATABASE_URL ? [{ durable: undefined }] : [{ durable: true }, { durable: false }];
console.log(`median of ${RUNS} runs; single-row: ${SINGLE} transactions per writer; bulk: ${BULK.toLocaleString('en')} rows per statement`);
console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (ratios are only meaningful on an idle machine)`);
const singles = [];
for (const profile of profiles) singles.push(await withServer((url) => bench(url), { durable: profile.durable }));

// The durable ratio depends on the disk: (A + f) / (F + f) ≤ 2 while the flush f a
// single-row insert waits for (per insert, two writers sharing flushes) is at least
// A − 2F, with A and F the audited and plain costs without durability.
const [durable, off] = [singles.find((x) => x.durable), singles.find((x) => !x.durable)];
if (durable && off) {
  console.log(`\nsingle-row, 2 writers: the durable server's commit flush adds ${(durable.floor - off.floor).toFixed(0)} µs per plain insert here;` +
    ` the target holds while it is at least ${Math.max(0, off.audited - 2 * off.floor).toFixed(0)} µs (a disk with a faster flush approaches the ratio without durability)`);
}

async function bench(serverUrl) {
  const db = await createThrowawayDatabase(serverUrl, { prefix: 'rg_bench_audit' });
  const admin = connect(db.url, { max: 1 });
  const writers = [connect(db.url, { max: 1 }), connect(db.url, { max: 1 })];
  try {
    await up({ url: db.url, dir: join(ROOT, 'sql'), displayRoot: ROOT, lockTimeout: '5s', statementTimeout: '0' });
    await admin`insert into auth.users (id, aud, role, email) values (${USER}, 'authenticated', 'authenticated', 'bench@bench.test')`;

    // The floor is the same table with its capture trigger disabled. The audit_retrack event
    // trigger (0025) puts a disabled capture trigger straight back, so it is off for the bench
    // (the bench connects as a superuser, the only role that may).
    await admin.unsafe('alter event trigger audit_retrack disable');
    const setTrigger = async (on) => {
      await admin.unsafe(`alter table public.deployments ${on ? 'enable' : 'disable'} trigger audit_capture`);
      // A floor that still captures would make the ratio meaningless: check what the catalog says.
      const [t] = await admin`select tgenabled <> 'D' as enabled from pg_trigger where tgrelid = 'public.deployments'::regclass and tgname = 'audit_capture'`;
      if (t?.enabled !== on) throw new Error(`audit_capture is ${t?.enabled ? 'enabled' : 'disabled'} where the bench needs it ${on ? 'enabled' : 'disabled'}`);
    };
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

    const server = await durability(admin);
    console.log(server.durable
      ? `\ndurable server (${server.text}): the target's setting`
      : `\ndurability off (${server.text}): the trigger's CPU cost alone, reported; the target is judged on a durable server`);
    const single2 = { durable: server.durable };
    for (const [label, make] of cases) {
      // Interleaved (floor, audited, floor, …) so a burst of load from elsewhere hits both alike.
      const times = { floor: [], audited: [] };
      for (let i = 0; i < RUNS; i++) {
        for (const on of [false, true]) {
          await setTrigger(on);
          times[on ? 'audited' : 'floor'].push(await median(1, make(), reset));
        }
      }
      const mid = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const [floor, audited] = [mid(times.floor), mid(times.audited)];
      const perRow = (audited * 1000) / rowsOf(label);
      const target = server.durable && label.includes('2 concurrent') ? 2 : undefined;
      console.log(ratioLine(label, audited, floor, target) + `  (${perRow.toFixed(1)} µs/row audited)`);
      if (label.startsWith('single') && label.includes('2 concurrent')) Object.assign(single2, { floor: (floor * 1000) / rowsOf(label), audited: perRow });
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
    return single2;
  } finally {
    await Promise.all([admin, ...writers].map((s) => s.end({ timeout: 5 })));
    await db.drop();
  }
}
