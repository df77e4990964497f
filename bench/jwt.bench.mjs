// Tokens and `rowguard as` (issue 4).
//   mint/s and verify/s for HS256 and ES256 (the core functions, one process, warm)
//   `as` on a warm connection: runSqlAs (preamble + statement + rollback in one message)
//     against the same statement sent plain on the same connection (floor); target ≤ 1.2×
//   CLI wall time of `rowguard as` and `rowguard jwt verify`, reported separately (process start included)
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { withServer, backendCpuReader, CLI, ROOT } from './lib/server.mjs';

const d = (p) => import(join(ROOT, 'dist/cli/core', p));
const { connect, createThrowawayDatabase } = await d('db.js');
const { up } = await d('migrate/engine.js');
const { signingKeyFromBytes, verifyKeysFromBytes } = await d('jwt/keys.js');
const { mintAccessToken } = await d('jwt/mint.js');
const { checkToken } = await d('jwt/verify.js');
const { buildAccessClaims } = await d('jwt/claims.js');
const { parseConfig } = await d('config.js');
const { resolveIdentity } = await d('as/identity.js');
const { runSqlAs } = await d('as/run.js');
const { generateKeyPair, exportJWK } = await import(join(ROOT, 'node_modules/jose/dist/webapi/index.js'));

const SECRET = 'bench-secret-0123456789-abcdefghijklmnop';
const { loadavg, cpus } = await import('node:os');
// Other processes skew every number here: say how busy the machine was.
console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const now = () => Date.now() / 1000;
const claims = buildAccessClaims(
  { id: 'aaaaaaaa-0000-4000-8000-000000000001', email: 'ann@example.test', role: 'authenticated', raw_app_meta_data: { provider: 'email', providers: ['email'] }, raw_user_meta_data: { name: 'Ann' } },
  { issuer: 'http://localhost:9999/auth/v1', expiresIn: 3600, sessionId: '5c9a9d1e-0000-4000-8000-00000000000a' },
  now(),
);

async function perSecond(label, n, fn) {
  for (let i = 0; i < Math.min(500, n / 10); i++) await fn(i); // warm up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  const s = (performance.now() - t0) / 1000;
  console.log(`${label.padEnd(48)} ${Math.round(n / s).toLocaleString('en').padStart(9)} /s   (${((s * 1e6) / n).toFixed(1)} µs each, n=${n})`);
}

// ---- mint / verify --------------------------------------------------------
const hsSign = signingKeyFromBytes(Buffer.from(SECRET), 'bench');
const hsKeys = verifyKeysFromBytes(Buffer.from(SECRET), 'bench');
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const esSign = signingKeyFromBytes(Buffer.from(JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'es', alg: 'ES256' })), 'bench');
const esKeys = verifyKeysFromBytes(Buffer.from(JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'es', alg: 'ES256' }] })), 'bench');
const opts = { now: now(), anonRole: 'anon', roleClaimKey: '$.role', audience: 'authenticated' };

await perSecond('mint HS256 (GoTrue claims)', 20000, () => mintAccessToken(claims, hsSign));
await perSecond('mint ES256', 5000, () => mintAccessToken(claims, esSign));
const hsToken = await mintAccessToken(claims, hsSign);
const esToken = await mintAccessToken(claims, esSign);
await perSecond('verify HS256 (PostgREST rules, ok)', 20000, async () => {
  if (!(await checkToken(hsToken, hsKeys, opts)).ok) throw new Error('HS256 token rejected');
});
await perSecond('verify ES256 (PostgREST rules, ok)', 5000, async () => {
  if (!(await checkToken(esToken, esKeys, opts)).ok) throw new Error('ES256 token rejected');
});
const bad = hsToken.slice(0, -4) + 'AAAA';
await perSecond('verify HS256, bad signature (rejected)', 20000, () => checkToken(bad, hsKeys, opts));

// ---- rowguard as ------------------------------------------------------------
await withServer(async (server) => {
  const db = await createThrowawayDatabase(server, { prefix: 'rg_bench_jwt' });
  try {
    await up({ url: db.url, dir: join(ROOT, 'sql'), displayRoot: ROOT, lockTimeout: '5s', statementTimeout: '0' });
    const sql = connect(db.url, { max: 1 });
    await sql.unsafe(`
      insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at)
      select ('aaaaaaaa-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'authenticated', 'authenticated', 'user' || g || '@example.test', '{"provider":"email"}', '{}', now()
        from generate_series(1, 100) g;
      insert into public.deployments (user_id, name)
      select ('aaaaaaaa-0000-4000-8000-' || lpad(to_hex(1 + g % 100), 12, '0'))::uuid, 'deployment ' || g from generate_series(1, 10000) g;
      analyze public.deployments;`).simple();
    const config = parseConfig({}, null, ROOT);
    const identity = await resolveIdentity(sql, { kind: 'user', email: 'user1@example.test' }, { config, now: now() });
    // The floor is the same work done plainly: the RLS query's floor adds by hand the
    // filter the policy adds (the bench connects as the owner, to whom RLS does not apply).
    const uid = identity.claims.sub;
    const queries = [
      { label: 'select 1', as: 'select 1', floor: 'select 1' },
      {
        label: "a user's deployments per status (RLS, aggregate)",
        as: 'select status, count(*) from public.deployments group by status',
        floor: `select status, count(*) from public.deployments where user_id = '${uid}' group by status`,
      },
      {
        label: "a user's 20 newest deployments (RLS)",
        as: 'select id, name, status from public.deployments order by created_at desc limit 20',
        floor: `select id, name, status from public.deployments where user_id = '${uid}' order by created_at desc limit 20`,
      },
    ];
    // Interleaved (floor, as, floor, as, …) so load from other processes hits both alike.
    // The backend's CPU time (ns), when the server runs on this machine (Linux /proc), else null.
    const backendCpu = await backendCpuReader(sql, db.url);
    const RUNS = 3001;
    const { requestPreamble } = await d('postgrest/request.js');
    const { buildApiRequest } = await d('as/run.js');
    for (const q of queries) {
      // Exactly what runSqlAs sends for this request, search_path first (PostgREST sets it
      // to the request's schema, then db-extra-search-path), built once outside the timing.
      const req = { ...buildApiRequest(identity, { method: 'GET' }), settings: { search_path: '"public", "public"' } };
      // On this superuser connection runSqlAs first becomes PostgREST's login (SET LOCAL SESSION AUTHORIZATION).
      const byHand = `${requestPreamble(req, { readOnly: true, sessionAuthorization: 'authenticator' })}\n${q.as};\nrollback`;
      const t = { floor: [], as: [], hand: [] };
      const once = async (k, fn) => {
        const t0 = performance.now();
        await fn();
        t[k].push(performance.now() - t0);
      };
      for (let i = 0; i < 300; i++) {
        await sql.unsafe(q.floor).simple();
        await runSqlAs(sql, identity, q.as, { anonRole: 'anon', method: 'GET' });
      }
      for (let i = 0; i < RUNS; i++) {
        await once('floor', () => sql.unsafe(q.floor).simple());
        await once('as', () => runSqlAs(sql, identity, q.as, { anonRole: 'anon', method: 'GET' }));
        await once('hand', () => sql.unsafe(byHand).simple());
      }
      const pct = (xs, p) => xs.sort((a, b) => a - b)[Math.floor(xs.length * p)];
      const med = (xs) => pct(xs, 0.5);
      // The spread (quartiles) says how far one run's median can be trusted on a busy machine.
      const spread = (xs) => `[${(pct(xs, 0.25) * 1000).toFixed(0)}–${(pct(xs, 0.75) * 1000).toFixed(0)}]`;
      const line = (label, k, target) => {
        const ratio = med(t[k]) / med(t.floor);
        const verdict = target === undefined ? '' : ratio <= target ? `  ok (target ≤ ${target}×)` : `  MISSED (target ≤ ${target}×)`;
        return `${label.padEnd(56)} ${(med(t[k]) * 1000).toFixed(0).padStart(6)} µs ${spread(t[k]).padStart(11)}  vs floor ${(med(t.floor) * 1000).toFixed(0).padStart(6)} µs ${spread(t.floor).padStart(11)}  = ${ratio.toFixed(2)}×${verdict}`;
      };
      console.log(line(`as, warm: ${q.label}`, 'as', 1.2));
      console.log(line('  the same PostgREST steps typed by hand (one message)', 'hand'));
      if (backendCpu) {
        // Wall-time ratios move with the machine's load (a quiet machine makes the floor
        // small and the ratio large); the server's CPU per call does not: measured apart,
        // after the timed runs, in alternating blocks so the file reads stay out of them.
        const cpu = { floor: 0, as: 0 };
        for (let b = 0; b < 10; b++) {
          for (const [k, fn] of [['floor', () => sql.unsafe(q.floor).simple()], ['as', () => runSqlAs(sql, identity, q.as, { anonRole: 'anon', method: 'GET' })]]) {
            const c0 = backendCpu();
            for (let i = 0; i < 100; i++) await fn();
            cpu[k] += (backendCpu() - c0) / 1000;
          }
        }
        console.log(`  server CPU per call (its backend's schedstat): floor ${(cpu.floor / 1000).toFixed(1)} µs, as ${(cpu.as / 1000).toFixed(1)} µs (+${((cpu.as - cpu.floor) / 1000).toFixed(1)} µs)`);
      }
    }
    if (backendCpu) {
      // What each of PostgREST's per-request steps costs the server (the README's breakdown):
      // each step alone inside BEGIN … ROLLBACK, against that envelope; medians of 30 blocks.
      const claimsLiteral = "'" + JSON.stringify({ ...identity.claims, role: identity.role }).replace(/'/g, "''") + "'";
      const all = requestPreamble({ ...buildApiRequest(identity, { method: 'GET' }), settings: { search_path: '"public", "public"' } }, { readOnly: true, sessionAuthorization: 'authenticator' });
      const wrap = (step) => `begin isolation level read committed read only; ${step} select 1; rollback`;
      const steps = [
        ['select 1 alone', 'select 1'],
        ['BEGIN … ROLLBACK', wrap('')],
        ['SET LOCAL SESSION AUTHORIZATION', wrap('set local session authorization authenticator;')],
        ['SET LOCAL role', wrap('set local role authenticated;')],
        ['search_path', wrap('set local search_path = "public", "public";')],
        ['request.jwt.claims', wrap(`set local request.jwt.claims = ${claimsLiteral};`)],
        ['request.method', wrap("set local request.method = 'GET';")],
        ['the whole preamble', `${all}\nselect 1;\nrollback`],
      ];
      const per = steps.map(() => []);
      for (const [, q] of steps) for (let i = 0; i < 300; i++) await sql.unsafe(q).simple();
      for (let b = 0; b < 30; b++) {
        for (const [k, [, q]] of steps.entries()) {
          const c0 = backendCpu();
          for (let i = 0; i < 100; i++) await sql.unsafe(q).simple();
          per[k].push((backendCpu() - c0) / 100); // ns per call
        }
      }
      const m = per.map((xs) => xs.sort((a, b) => a - b)[xs.length >> 1]);
      const us = (ns) => (ns / 1000).toFixed(1);
      const plus = (ns) => (ns < 0 ? '' : '+') + us(ns);
      const last = steps.length - 1;
      console.log(
        `per-request steps, server CPU per call (median of 30 blocks): BEGIN … ROLLBACK ${plus(m[1] - m[0])} µs over select 1 alone (${us(m[0])} µs); ` +
          steps.slice(2, -1).map(([label], i) => `${label} ${plus(m[i + 2] - m[1])}`).join(', ') +
          ` µs each alone; the whole preamble ${plus(m[last] - m[1])} µs`,
      );
    }
    await sql.end();

    // CLI wall time, process start included (not part of the ratio above).
    const env = { ...process.env, DATABASE_URL: db.url, ROWGUARD_JWT_SECRET: SECRET, NO_COLOR: '1' };
    const wall = (args, input) => {
      const times = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, env, input, encoding: 'utf8' });
        times.push(performance.now() - t0);
        if (r.status !== 0) throw new Error(`rowguard ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      }
      return times.sort((a, b) => a - b)[3];
    };
    const node = wall(['--version']);
    console.log(`CLI wall (median of 7): rowguard --version ${node.toFixed(0)} ms; ` +
      `jwt verify ${wall(['jwt', 'verify', '--token-file', '-'], hsToken).toFixed(0)} ms; ` +
      `as --user -c <query> ${wall(['as', '--user', 'user1@example.test', '-c', queries[1].as]).toFixed(0)} ms; ` +
      `as --token-file - ${wall(['as', '--token-file', '-', '-c', 'select 1'], hsToken).toFixed(0)} ms`);
  } finally {
    await db.drop();
  }
});
