// Auth flows benchmark (issue 5), on a fresh database with the project's migrations.
//   sign-ins/s, 1 client: auth_flow.sign_in through the CLI's core (dist/cli/core/auth/flows.js),
//                         against the floor: `select extensions.crypt(password, hash)` alone
//                         (one bcrypt at cost 10 per call, what every sign-in must pay)
//   sign-ins/s, 2 clients: two users signing in at once (bcrypt runs in two backends)
//   failed sign-ins/s:    wrong password (also one bcrypt; counter + audit event)
//   refreshes/s, 2 clients: two sessions rotating their refresh tokens concurrently, each call
//                         a row lock, a revoke, an insert and an audit append (audit chain lock)
// Median of 3 timed rounds each.
import { join } from 'node:path';
import { withServer, ROOT } from './lib/server.mjs';

const { connect, createThrowawayDatabase } = await import(join(ROOT, 'dist/cli/core/db.js'));
const { up } = await import(join(ROOT, 'dist/cli/core/migrate/engine.js'));
const flows = await import(join(ROOT, 'dist/cli/core/auth/flows.js'));

const ROUNDS = 3;
const SIGN_INS = 30;
const REFRESHES = 300;

const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rate(n, fn) {
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    await fn(r);
    rounds.push(performance.now() - t0);
  }
  const ms = med(rounds);
  return { perSecond: (n * 1000) / ms, ms };
}

function line(label, value, floor) {
  const ratio = floor ? `  = ${(value / floor).toFixed(2)}× the floor (${floor.toFixed(1)}/s)` : '';
  console.log(`${label.padEnd(44)} ${value.toFixed(1).padStart(8)}/s${ratio}`);
}

await withServer(async (server) => {
  const db = await createThrowawayDatabase(server, { prefix: 'bench_auth' });
  const a = connect(db.url, { max: 1 });
  const b = connect(db.url, { max: 1 });
  try {
    await up({ url: db.url, dir: join(ROOT, 'sql'), displayRoot: ROOT, lockTimeout: '5s', statementTimeout: '0' });
    await flows.signUp(a, 'bench-a@example.test', 'bench password a');
    await flows.signUp(a, 'bench-b@example.test', 'bench password b');
    const [{ cost }] = await a`select bcrypt_cost as cost from private.password_settings`;

    const floor = await rate(SIGN_INS, async () => {
      for (let i = 0; i < SIGN_INS; i++) await a`select extensions.crypt('bench password a', (select encrypted_password from auth.users where email = 'bench-a@example.test'))`;
    });
    const one = await rate(SIGN_INS, async () => {
      for (let i = 0; i < SIGN_INS; i++) await flows.signIn(a, 'bench-a@example.test', 'bench password a');
    });
    const failed = await rate(SIGN_INS, async () => {
      // Under the lockout threshold: 4 failures, then a success that clears the counter.
      for (let i = 0; i < SIGN_INS; i++) {
        if (i % 5 === 4) await flows.signIn(a, 'bench-a@example.test', 'bench password a');
        else await flows.signIn(a, 'bench-a@example.test', 'wrong').catch(() => undefined);
      }
    });
    const two = await rate(SIGN_INS, async () => {
      const run = async (sql, email, pw) => {
        for (let i = 0; i < SIGN_INS / 2; i++) await flows.signIn(sql, email, pw);
      };
      await Promise.all([run(a, 'bench-a@example.test', 'bench password a'), run(b, 'bench-b@example.test', 'bench password b')]);
    });
    const floor2 = await rate(SIGN_INS, async () => {
      const run = async (sql) => {
        for (let i = 0; i < SIGN_INS / 2; i++) await sql`select extensions.crypt('bench password a', (select encrypted_password from auth.users where email = 'bench-a@example.test'))`;
      };
      await Promise.all([run(a), run(b)]);
    });

    let ta = (await flows.signIn(a, 'bench-a@example.test', 'bench password a')).refreshToken;
    let tb = (await flows.signIn(b, 'bench-b@example.test', 'bench password b')).refreshToken;
    const refreshes = await rate(REFRESHES, async () => {
      await Promise.all([
        (async () => {
          for (let i = 0; i < REFRESHES / 2; i++) ta = (await flows.refresh(a, ta)).refreshToken;
        })(),
        (async () => {
          for (let i = 0; i < REFRESHES / 2; i++) tb = (await flows.refresh(b, tb)).refreshToken;
        })(),
      ]);
    });
    const roundTrip = await rate(REFRESHES, async () => {
      await Promise.all([a, b].map(async (sql) => {
        for (let i = 0; i < REFRESHES / 2; i++) await sql`select 1`;
      }));
    });

    console.log(`bcrypt cost ${cost}; ${SIGN_INS} sign-ins and ${REFRESHES} refreshes per round, median of ${ROUNDS}`);
    line('sign-ins, 1 client', one.perSecond, floor.perSecond);
    line('failed sign-ins (wrong password), 1 client', failed.perSecond, floor.perSecond);
    line('sign-ins, 2 clients', two.perSecond, floor2.perSecond);
    line('refreshes, 2 clients', refreshes.perSecond, roundTrip.perSecond);
    console.log(`  (refresh floor: a bare \`select 1\` round trip on the same 2 connections)`);
  } finally {
    await a.end({ timeout: 5 });
    await b.end({ timeout: 5 });
    await db.drop();
  }
});
