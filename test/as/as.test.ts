/**
 * `rowguard as` on a real Postgres with the project's security schema (sql/):
 * the rows each identity sees, the errors and HTTP statuses PostgREST would
 * give, and that nothing persists without --commit.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { assetPath } from '../../cli/core/assets.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, migrate, runCli, type TestDatabase } from '../helpers/pg.js';
import { parseConfig } from '../../cli/core/config.js';
import { resolveIdentity, type IdentityRequest } from '../../cli/core/as/identity.js';
import { runSqlAs, type RunSqlAsOptions } from '../../cli/core/as/run.js';
import { verifyKeysFromBytes, signingKeyFromBytes } from '../../cli/core/jwt/keys.js';
import { mintAccessToken } from '../../cli/core/jwt/mint.js';
import { userClaimsFromDatabase } from '../../cli/core/jwt/user.js';
import { RowguardError } from '../../cli/core/errors.js';
import { connect } from '../../cli/core/db.js';
import { seed, USER_A, USER_B } from './fixture.js';
import { mulberry32 } from '../helpers/random.js';
import { aesonNumberText } from '../../cli/core/jwt/json.js';
import { tempDir } from '../helpers/tmp.js';

const SECRET = 'as-test-secret-0123456789-abcdefghijklmnop';
const config = parseConfig({}, null, tmpdir());
const keys = verifyKeysFromBytes(Buffer.from(SECRET), 'test');
const signing = signingKeyFromBytes(Buffer.from(SECRET), 'test');
const now = () => Date.now() / 1000;

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('rg_as');
  await migrate(db.url);
  await seed(db.sql);
});
afterAll(async () => {
  await db?.drop();
});

async function runAs(who: IdentityRequest, text: string, opts: Partial<RunSqlAsOptions> = {}) {
  const identity = await resolveIdentity(db.sql, who, { config, now: now() });
  return runSqlAs(db.sql, identity, text, { anonRole: 'anon', ...opts });
}

async function failure(p: Promise<unknown>): Promise<RowguardError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RowguardError);
  return err as RowguardError;
}

const names = (r: Awaited<ReturnType<typeof runAs>>) => r.results.at(-1)!.rows.map((x) => x['name']);

describe('rowguard as: who sees what', () => {
  it("user A sees only A's deployments, user B only B's", async () => {
    expect(names(await runAs({ kind: 'user', email: 'ann@example.test' }, 'select name from public.deployments order by name'))).toEqual(['ann-prod', 'ann-staging']);
    expect(names(await runAs({ kind: 'user', email: 'BOB@example.test' }, 'select name from public.deployments order by name'))).toEqual(['bob-prod']);
  });

  it('anon sees nothing: no grant, so 42501 before any policy, HTTP 401', async () => {
    const err = await failure(runAs({ kind: 'anon' }, 'select name from public.deployments'));
    expect(err.pg?.sqlstate).toBe('42501');
    expect(err.meta['httpStatus']).toBe(401);
    expect(err.meta['role']).toBe('anon');
  });

  it('service_role sees every row (BYPASSRLS)', async () => {
    expect(names(await runAs({ kind: 'service_role' }, 'select name from public.deployments order by name'))).toEqual(['ann-prod', 'ann-staging', 'bob-prod']);
  });

  it("a verified token runs as its role, with PostgREST's request settings", async () => {
    const claims = await userClaimsFromDatabase(db.sql, 'ann@example.test', { issuer: 'http://test', expiresIn: 600 }, now());
    const token = await mintAccessToken(claims, signing);
    const r = await runAs(
      { kind: 'token', token, keys },
      `select current_user::text as who, current_setting('request.method') as method, current_setting('request.path') as path,
              current_setting('request.headers')::jsonb ->> 'authorization' = 'Bearer ' || $t$${token}$t$ as has_auth,
              current_setting('transaction_read_only') as ro, current_setting('search_path') as sp,
              (select count(*) from public.deployments) as n`,
      { method: 'GET', path: '/deployments' },
    );
    expect(r.readOnly).toBe(true);
    expect(r.results[0]!.rows).toEqual([{ who: 'authenticated', method: 'GET', path: '/deployments', has_auth: true, ro: 'on', sp: 'public, public', n: '2' }]);
  });

  it('the claims minted are exactly what auth.uid(), auth.role(), auth.email() and auth.jwt() read', async () => {
    const claims = await userClaimsFromDatabase(db.sql, 'ann@example.test', { issuer: 'http://test', expiresIn: 600 }, now());
    const token = await mintAccessToken(claims, signing);
    const r = await runAs({ kind: 'token', token, keys }, 'select auth.uid()::text as uid, auth.role() as role, auth.email() as email, auth.jwt() as jwt');
    expect(r.results[0]!.rows[0]).toEqual({ uid: USER_A, role: 'authenticated', email: 'ann@example.test', jwt: claims });
    expect(claims.user_metadata).toEqual({ name: 'Ann' });
    expect(claims.app_metadata).toEqual({ provider: 'email', providers: ['email'] });
  });

  it('claims with quotes, backslashes, dollar quotes and newlines arrive intact, whatever standard_conforming_strings is', async () => {
    const nasty = { role: 'authenticated', sub: USER_A, exp: Math.floor(now()) + 60, note: "it's \\'; drop table x; -- $$ $q$ \n\u00e9\u2603 \\\\ '' E'x'" };
    const token = await mintAccessToken(nasty, signing);
    const one = connect(db.url, { max: 1 });
    try {
      for (const scs of ['on', 'off']) {
        await one.unsafe(`set standard_conforming_strings = ${scs}`);
        const identity = await resolveIdentity(one, { kind: 'token', token, keys }, { config, now: now() });
        const r = await runSqlAs(one, identity, 'select auth.jwt() as jwt, auth.uid()::text as uid', { anonRole: 'anon' });
        expect(r.results[0]!.rows[0]).toEqual({ jwt: nasty, uid: USER_A });
      }
    } finally {
      await one.end();
    }
  });

  it("the SQL side (tests.user_claims, behind tests.authenticate_as) builds exactly the claims jwt mint --user signs", async () => {
    const helpers = readFileSync(assetPath('tests-helpers.sql'), 'utf8');
    const one = connect(db.url, { max: 1 });
    try {
      await one.unsafe('begin').simple();
      await one.unsafe(helpers).simple();
      for (const email of ['ann@example.test', 'bob@example.test']) {
        // now() is the transaction's start: both sides get the same iat.
        const [row] = await one<{ c: Record<string, unknown>; t: string }[]>`select tests.user_claims(${email}) as c, floor(extract(epoch from now()))::bigint as t`;
        const mine = await userClaimsFromDatabase(one, email, { issuer: 'http://localhost:9999/auth/v1', expiresIn: 3600, sessionId: row!.c['session_id'] as string }, Number(row!.t));
        expect(row!.c).toEqual(mine);
      }
    } finally {
      await one.unsafe('rollback').simple();
      await one.end();
    }
  });

  it("request.jwt.claims is PostgREST's text of the token: members in key order, numbers digit for digit, the first of a repeated key", async () => {
    const exp = Math.floor(now()) + 60;
    const payload = `{"sub":"${USER_A}","org_id":12345678901234567891,"role":"service_role","role":"authenticated","exp":${exp},"ratio":0.30000000000000004,"nested":{"b":1,"a":[2,{"d":null,"c":true}]}}`;
    const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    const r = await runAs({ kind: 'token', token, keys }, "select current_user::text as who, current_setting('request.jwt.claims') as c, auth.jwt() ->> 'org_id' as org");
    expect(r.results[0]!.rows[0]).toEqual({
      who: 'service_role',
      c: `{"exp":${exp},"nested":{"a":[2,{"c":true,"d":null}],"b":1},"org_id":12345678901234567891,"ratio":0.30000000000000004,"role":"service_role","sub":"${USER_A}"}`,
      org: '12345678901234567891',
    });
  });

  it("a number that is not a plain integer is written as aeson writes its Scientific, not as the token spelled it (what auth.jwt() ->> reads)", async () => {
    // aeson keeps coefficient and exponent as written (1767225600.0 is 17672256000e-1); its encoder writes an
    // exponent in [0, 1024] as an integer and anything else with scientific's Generic format (exponent form
    // below 0.1 or from 10^7 up). Expected texts worked out by hand from those rules.
    const exp = Math.floor(now()) + 60;
    const payload = `{"role":"authenticated","sub":"${USER_A}","exp":${exp},"iat_f":1767225600.0,"b":1.7672256e9,"c":0.05,"d":100.0,"e":1e-7,"f":-0.0,"g":1E2,"h":1e1025,"i":[1.50,-2.5e-3,12345678.5,1234567.5],"j":{"k":0e5}}`;
    const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    const r = await runAs({ kind: 'token', token, keys }, "select current_setting('request.jwt.claims') as c, auth.jwt() ->> 'iat_f' as iat_f, auth.jwt() ->> 'c' as c2");
    expect(r.results[0]!.rows[0]).toEqual({
      c: `{"b":1767225600,"c":5.0e-2,"d":100.0,"e":1.0e-7,"exp":${exp},"f":0.0,"g":100,"h":1.0e1025,"i":[1.5,-2.5e-3,1.23456785e7,1234567.5],"iat_f":1.7672256e9,"j":{"k":0},"role":"authenticated","sub":"${USER_A}"}`,
      // Postgres reads PostgREST's 1.7672256e9 as 1767225600 (a ::bigint cast works) and 5.0e-2 as 0.050.
      iat_f: '1767225600',
      c2: '0.050',
    });
  });

  it("strings in request.jwt.claims are escaped as aeson escapes them: \\b and \\f as \\u0008 and \\u000c, other controls as lower-case \\u00XX", async () => {
    const exp = Math.floor(now()) + 60;
    // The payload's own escapes: \b \f \u0001 \u001F \t \n \" \\ \/ and a literal é.
    const payload = `{"role":"authenticated","exp":${exp},"s":"a\\bb\\fc\\u0001d\\u001Fe\\tf\\ng\\"h\\\\i\\/jé","k\\b":1}`;
    const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    const r = await runAs({ kind: 'token', token, keys }, "select current_setting('request.jwt.claims') as c, auth.jwt() ->> 's' as s");
    expect(r.results[0]!.rows[0]).toEqual({
      c: `{"exp":${exp},"k\\u0008":1,"role":"authenticated","s":"a\\u0008b\\u000cc\\u0001d\\u001fe\\tf\\ng\\"h\\\\i/jé"}`,
      s: 'a\bb\fc\u0001d\u001fe\tf\ng"h\\i/jé',
    });
  });

  it('the rewritten number keeps its value: 2,000 random JSON numbers, each equal to its aeson text as numeric on Postgres', async () => {
    const rand = mulberry32(20261130);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
    const raws = Array.from({ length: 2000 }, () => {
      const whole = rand() < 0.3 ? '0' : String(1 + Math.floor(rand() * 9)) + digits(Math.floor(rand() * 12));
      const frac = rand() < 0.6 ? `.${digits(1 + Math.floor(rand() * 8))}${rand() < 0.3 ? '000' : ''}` : '';
      const exp = rand() < 0.5 ? `${rand() < 0.5 ? 'e' : 'E'}${['', '+', '-'][Math.floor(rand() * 3)]}${Math.floor(rand() * 40)}` : '';
      return `${rand() < 0.3 ? '-' : ''}${whole}${frac}${exp}`;
    });
    const pairs = raws.map((raw) => [raw, aesonNumberText(raw)]);
    const rows = await db.sql.unsafe(`select r, a from jsonb_to_recordset($1::text::jsonb) as x(r text, a text) where r::numeric <> a::numeric`, [JSON.stringify(pairs.map(([r, a]) => ({ r, a })))]);
    expect(rows.length).toBe(0);
    // And the text is JSON Postgres reads.
    const bad = await db.sql.unsafe(`select a from jsonb_to_recordset($1::text::jsonb) as x(a text) where (a::jsonb)::text is null`, [JSON.stringify(pairs.map(([, a]) => ({ a })))]);
    expect(bad.length).toBe(0);
  });

  it('anon claims make every helper NULL but the role', async () => {
    const r = await runAs({ kind: 'anon' }, 'select auth.uid() as uid, auth.role() as role, auth.email() as email');
    expect(r.role).toBe('anon');
    expect(r.results[0]!.rows[0]).toEqual({ uid: null, role: 'anon', email: null });
  });
});

describe('rowguard as: writes and denials', () => {
  it("refuses a write with another user's user_id: 42501, HTTP 403", async () => {
    const err = await failure(runAs({ kind: 'user', email: 'ann@example.test' }, `insert into public.deployments (user_id, name) values ('${USER_B}', 'sneaky')`));
    expect(err.pg?.sqlstate).toBe('42501');
    expect(err.meta['httpStatus']).toBe(403);
    expect(err.message).toMatch(/row-level security/);
  });

  it('a missing grant is 42501: HTTP 401 for anon, 403 for an authenticated user', async () => {
    const asAnon = await failure(runAs({ kind: 'anon' }, `insert into public.deployments (user_id, name) values ('${USER_A}', 'x')`, { method: 'POST' }));
    expect(asAnon.pg?.sqlstate).toBe('42501');
    expect(asAnon.meta['httpStatus']).toBe(401);
    const asUser = await failure(runAs({ kind: 'user', email: 'ann@example.test' }, 'select * from auth.users'));
    expect(asUser.pg?.sqlstate).toBe('42501');
    expect(asUser.meta['httpStatus']).toBe(403);
  });

  it('counts an UPDATE that RLS narrows, and rolls it back', async () => {
    const r = await runAs({ kind: 'user', email: 'ann@example.test' }, "update public.deployments set name = name || '-x'");
    expect(r.results).toEqual([{ command: 'UPDATE', rowCount: 2, columns: [], rows: [] }]);
    const [row] = await db.sql`select count(*)::int as n from public.deployments where name like '%-x'`;
    expect(row!['n']).toBe(0);
  });

  it('nothing persists without --commit; --commit keeps it', async () => {
    const insert = `insert into public.deployments (user_id, name) values ('${USER_A}', 'ann-new') returning name`;
    const r = await runAs({ kind: 'user', email: 'ann@example.test' }, insert);
    expect(r.committed).toBe(false);
    expect(names(r)).toEqual(['ann-new']);
    const count = async () => (await db.sql`select count(*)::int as n from public.deployments where name = 'ann-new'`)[0]!['n'];
    expect(await count()).toBe(0);
    await runAs({ kind: 'user', email: 'ann@example.test' }, insert, { commit: true });
    expect(await count()).toBe(1);
    await db.sql`delete from public.deployments where name = 'ann-new'`;
  });

  it('GET runs READ ONLY: a write is 25006, HTTP 405', async () => {
    const err = await failure(runAs({ kind: 'service_role' }, "update public.deployments set name = name", { method: 'GET' }));
    expect(err.pg?.sqlstate).toBe('25006');
    expect(err.meta['httpStatus']).toBe(405);
  });

  it("a token whose role does not exist: 22023, HTTP 401", async () => {
    const token = await mintAccessToken({ role: 'no_such_role_xyz', exp: Math.floor(now()) + 60 }, signing);
    const err = await failure(runAs({ kind: 'token', token, keys }, 'select 1'));
    expect(err.pg?.sqlstate).toBe('22023');
    expect(err.meta['httpStatus']).toBe(401);
    // An empty role claim, and a non-string one (JSON-encoded), are role names like any other.
    for (const [role, name] of [['', ''], [null, 'null'], [5, '5']] as const) {
      const e = await failure(runAs({ kind: 'token', token: await mintAccessToken({ role, exp: Math.floor(now()) + 60 }, signing), keys }, 'select 1'));
      expect(e.pg, String(role)).toMatchObject({ sqlstate: '22023', message: `role "${name}" does not exist` });
      expect(e.meta['httpStatus']).toBe(401);
    }
  });

  it('a role claim with a NUL character: 22021 as Postgres refuses it in set_config, HTTP 400 (an error code PostgREST does not map)', async () => {
    const token = await mintAccessToken({ role: 'auth\u0000enticated', exp: Math.floor(now()) + 60 }, signing);
    const err = await failure(runAs({ kind: 'token', token, keys }, 'select 1'));
    expect(err.pg?.sqlstate).toBe('22021');
    expect(err.meta).toMatchObject({ sqlstate: '22021', httpStatus: 400, wwwAuthenticate: null });
    expect(err.message).toMatch(/^invalid byte sequence for encoding "UTF8": 0x00 \(as auth\u0000enticated: PostgREST would answer HTTP 400\)$/);
    // The connection is usable afterwards.
    expect((await runAs({ kind: 'anon' }, 'select 1 as one')).results[0]!.rows).toEqual([{ one: 1 }]);
  });

  it("switches role as PostgREST's login would, not as the connecting superuser: another existing role is 42501 (HTTP 403), none is authenticator itself", async () => {
    const [me] = await db.sql<{ u: string; su: string }[]>`select current_user::text as u, current_setting('is_superuser') as su`;
    expect(me!.su).toBe('on'); // the premise: a superuser could SET ROLE to anything
    const token = await mintAccessToken({ role: me!.u, exp: Math.floor(now()) + 60 }, signing);
    const err = await failure(runAs({ kind: 'token', token, keys }, 'select count(*) from auth.users'));
    expect(err.pg?.sqlstate).toBe('42501');
    expect(err.pg?.message).toBe(`permission denied to set role "${me!.u}"`);
    expect(err.meta['httpStatus']).toBe(403);
    expect(err.meta['wwwAuthenticate']).toBeNull();
    expect(err.hint).toMatch(/not a member of the token's role/);
    // The anon role's request is not "authed": the same denial is a 401 there.
    const anonErr = await failure(runSqlAs(db.sql, { claims: {}, role: me!.u }, 'select 1', { anonRole: me!.u }));
    expect(anonErr.meta['httpStatus']).toBe(401);
    expect(anonErr.meta['wwwAuthenticate']).toBe('Bearer');

    const none = await mintAccessToken({ role: 'none', exp: Math.floor(now()) + 60 }, signing);
    const r = await runAs({ kind: 'token', token: none, keys }, "select current_user::text as cu, session_user::text as su, current_setting('is_superuser') as sup");
    expect(r.results[0]!.rows).toEqual([{ cu: 'authenticator', su: 'authenticator', sup: 'off' }]);
  });

  it("on a connection neither superuser nor authenticator: a role authenticator cannot become is still refused (42501), and the footer says whose SET ROLE ran", async () => {
    expect((await runAs({ kind: 'anon' }, 'select 1')).switchedFrom).toBe('authenticator');
    const login = `rg_as_login_${Math.random().toString(36).slice(2, 8)}`;
    const other = `${login}_other`;
    // The login may switch to "other"; authenticator may not.
    await db.sql.unsafe(`create role ${login} login password 'pw-${login}' nosuperuser; grant anon to ${login}; create role ${other} nologin; grant ${other} to ${login}`);
    const url = new URL(db.url);
    url.username = login;
    url.password = `pw-${login}`;
    const plain = connect(url.toString(), { max: 1 });
    try {
      const identity = await resolveIdentity(plain, { kind: 'anon' }, { config, now: now() });
      const r = await runSqlAs(plain, identity, 'select current_user::text as who, session_user::text as s', { anonRole: 'anon' });
      expect(r.results[0]!.rows).toEqual([{ who: 'anon', s: login }]);
      expect(r.switchedFrom).toBe(login);
      const { asFooter } = await import('../../cli/core/report/rows.js');
      const out = { c: { dim: (t: string) => t } } as unknown as Parameters<typeof asFooter>[1];
      expect(asFooter(r, out)).toBe(`as anon, POST; rolled back; role switched from ${login}, not authenticator as in PostgREST`);
      // A role authenticator cannot become is refused as PostgREST's SET ROLE would be, though the login could.
      const err = await failure(runSqlAs(plain, { claims: {}, role: other }, 'select 1', { anonRole: 'anon' }));
      expect(err.pg).toMatchObject({ sqlstate: '42501', message: `permission denied to set role "${other}"` });
      expect(err.meta).toMatchObject({ httpStatus: 403, wwwAuthenticate: null });
      expect((await failure(runSqlAs(plain, { claims: {}, role: 'no_such_role_q' }, 'select 1', { anonRole: 'anon' }))).pg?.sqlstate).toBe('22023');
      await db.sql.unsafe(`grant ${other} to authenticator`);
      const granted = await runSqlAs(plain, { claims: {}, role: other }, 'select current_user::text as who', { anonRole: 'anon' });
      expect(granted.results[0]!.rows).toEqual([{ who: other }]);
    } finally {
      await plain.end();
      await db.sql.unsafe(`drop role ${other}; drop role ${login}`);
    }
  });

  it("reads no ALTER ROLE … SET settings that PostgREST's login may not set (they would fail the switch)", async () => {
    const role = `rg_as_su_${Math.random().toString(36).slice(2, 8)}`;
    // log_min_duration_statement is a superuser-context setting: authenticator has no SET on it.
    await db.sql.unsafe(`create role ${role} nologin; grant ${role} to authenticator; alter role ${role} set log_min_duration_statement = 1234; alter role ${role} set statement_timeout = '4321ms'`);
    try {
      const token = await mintAccessToken({ role, exp: Math.floor(now()) + 60 }, signing);
      const r = await runAs({ kind: 'token', token, keys }, "select current_setting('statement_timeout') as st, current_user::text as who");
      expect(r.results[0]!.rows).toEqual([{ st: '4321ms', who: role }]);
    } finally {
      await db.sql.unsafe(`drop role ${role}`);
    }
  });

  it("applies the role's ALTER ROLE … SET settings and isolation level, as PostgREST does", async () => {
    // A role of its own: roles are cluster-wide and other test files use the API roles.
    const role = `rg_as_settings_${Math.random().toString(36).slice(2, 8)}`;
    // Granted to authenticator: PostgREST can only switch to (and only reads the settings of) its login's roles.
    await db.sql.unsafe(`create role ${role} nologin; grant ${role} to authenticator; alter role ${role} set statement_timeout = '1234ms'; alter role ${role} set default_transaction_isolation = 'repeatable read'; alter role ${role} set search_path = "My Schema", extensions`);
    try {
      const token = await mintAccessToken({ role, exp: Math.floor(now()) + 60 }, signing);
      const r = await runAs({ kind: 'token', token, keys }, "select current_setting('statement_timeout') as st, current_setting('transaction_isolation') as iso, current_setting('search_path') as sp, current_user::text as who");
      // The role's search_path comes after PostgREST's and wins, as in PostgREST.
      expect(r.results[0]!.rows).toEqual([{ st: '1234ms', iso: 'repeatable read', sp: '"My Schema", extensions', who: role }]);
    } finally {
      await db.sql.unsafe(`drop role ${role}`);
    }
  });

  it('RAISE is HTTP 400', async () => {
    const err = await failure(runAs({ kind: 'anon' }, "do $$ begin raise exception 'nope'; end $$"));
    expect(err.pg?.sqlstate).toBe('P0001');
    expect(err.meta['httpStatus']).toBe(400);
  });

  it('the connection is clean after an error (transaction ended, no role or claims left behind)', async () => {
    // One connection, so the check runs on the very session that failed. An aborted
    // transaction left open would fail the check with 25P02; a leaked local setting
    // would still show the claims.
    const one = connect(db.url, { max: 1 });
    try {
      const identity = await resolveIdentity(one, { kind: 'anon' }, { config, now: now() });
      await failure(runSqlAs(one, identity, 'select * from auth.users', { anonRole: 'anon' }));
      const [row] = await one`select current_user::text as u, current_setting('request.jwt.claims', true) as c`;
      expect(row!['u']).not.toBe('anon');
      expect(row!['c'] ?? '').toBe('');
    } finally {
      await one.end();
    }
  });

  it("reports each statement's own tag, count and rows, whether or not the message needs an end mark", async () => {
    // The reference runs the statement on its own (the split path: one message per
    // statement, so the driver reports the server's tag untouched).
    const statements = [
      'select name from public.deployments order by name',
      'values (1), (2)',
      'table public.deployments',
      '(select 1 as a) union all (select 2)',
      '/* a comment */ -- and a line\n  SELECT 1 as a',
      'select 1 as a into temp as_tag_probe',
      `insert into public.deployments (user_id, name) values ('${USER_A}', 'tag-x')`,
      `insert into public.deployments (user_id, name) values ('${USER_A}', 'tag-y') returning name`,
      'update public.deployments set name = name',
      "delete from public.deployments where name = 'nope'",
      'merge into public.deployments d using (select 1) s on false when not matched then do nothing',
      'with n as (select 1) update public.deployments set name = name',
      'explain (costs off) select 1',
      'do $$ begin end $$',
    ];
    for (const text of statements) {
      const alone = await runAs({ kind: 'service_role' }, text);
      const reference = await runAs({ kind: 'service_role' }, `select 1 as first;\n${text}`);
      expect(reference.results).toHaveLength(2);
      expect(alone.results, text).toEqual([reference.results[1]]);
    }
    const update = await runAs({ kind: 'service_role' }, 'update public.deployments set name = name');
    expect(update.results).toEqual([{ command: 'UPDATE', rowCount: 3, columns: [], rows: [] }]);
    const insert = await runAs({ kind: 'service_role' }, `insert into public.deployments (user_id, name) values ('${USER_A}', 'tag-y') returning name`);
    expect(insert.results).toEqual([{ command: 'INSERT', rowCount: 1, columns: ['name'], rows: [{ name: 'tag-y' }] }]);
  });

  it('leaves the session as it found it after every request: transaction ended, no role, claims or request settings', async () => {
    // One connection, so each check runs on the very session the request used. GET runs
    // READ ONLY: a transaction left open would show transaction_read_only = on, an aborted
    // one would fail the check with 25P02, a leaked local setting would still show.
    const one = connect(db.url, { max: 1 });
    try {
      const ann = await resolveIdentity(one, { kind: 'user', email: 'ann@example.test' }, { config, now: now() });
      const [owner] = await one`select current_user::text as u`;
      const cases = [
        { text: 'select name from public.deployments', fails: false }, // no end mark
        { text: 'with d as (select name from public.deployments) select * from d', fails: false }, // end mark
        { text: 'select * from auth.users', fails: true }, // 42501, no end mark
        { text: 'with u as (select * from auth.users) select * from u', fails: true }, // 42501, end mark
        { text: 'select 1/0', fails: true },
        { text: "update public.deployments set name = name || '-x'", fails: true }, // GET: 25006
      ];
      for (const { text, fails } of cases) {
        const run = runSqlAs(one, ann, text, { anonRole: 'anon', method: 'GET' });
        if (fails) await failure(run);
        else await run;
        const [row] = await one`
          select current_user::text as u, current_setting('role') as r, current_setting('transaction_read_only') as ro,
                 coalesce(current_setting('request.jwt.claims', true), '') as c, coalesce(current_setting('request.method', true), '') as m`;
        expect(row, text).toEqual({ u: owner!['u'], r: 'none', ro: 'off', c: '', m: '' });
      }
    } finally {
      await one.end();
    }
  });

  it('--commit keeps a write reported without rows (the commit ends the one message)', async () => {
    const r = await runAs({ kind: 'user', email: 'ann@example.test' }, "update public.deployments set name = name || '-c' where name = 'ann-prod'", { commit: true });
    expect(r.results).toEqual([{ command: 'UPDATE', rowCount: 1, columns: [], rows: [] }]);
    expect(r.committed).toBe(true);
    const [row] = await db.sql`select count(*)::int as n from public.deployments where name = 'ann-prod-c'`;
    expect(row!['n']).toBe(1);
    await db.sql`update public.deployments set name = 'ann-prod' where name = 'ann-prod-c'`;
  });

  it('the same identity and statement again (the warm path reuses the checked message): same rows, rolled back each time until --commit, still refused', async () => {
    const ann = await resolveIdentity(db.sql, { kind: 'user', email: 'ann@example.test' }, { config, now: now() });
    const insert = `insert into public.deployments (user_id, name) values ('${USER_A}', 'ann-again') returning name`;
    const count = async () => (await db.sql`select count(*)::int as n from public.deployments where name = 'ann-again'`)[0]!['n'];
    for (let i = 0; i < 3; i++) {
      const r = await runSqlAs(db.sql, ann, insert, { anonRole: 'anon' });
      expect(r.results).toEqual([{ command: 'INSERT', rowCount: 1, columns: ['name'], rows: [{ name: 'ann-again' }] }]);
      expect(await count()).toBe(0);
    }
    // The same text with --commit is another message (it ends in COMMIT).
    expect((await runSqlAs(db.sql, ann, insert, { anonRole: 'anon', commit: true })).committed).toBe(true);
    expect(await count()).toBe(1);
    await runSqlAs(db.sql, ann, insert, { anonRole: 'anon' });
    expect(await count()).toBe(1);
    await db.sql`delete from public.deployments where name = 'ann-again'`;
    // GET is its own request shape: READ ONLY, so the same insert is refused there.
    expect((await failure(runSqlAs(db.sql, ann, insert, { anonRole: 'anon', method: 'GET' }))).pg?.sqlstate).toBe('25006');
    // Refused statements are refused every time, and a statement without a known tag keeps its own.
    for (let i = 0; i < 2; i++) {
      expect((await failure(runSqlAs(db.sql, ann, 'commit', { anonRole: 'anon' }))).code).toBe('usage');
      expect((await failure(runSqlAs(db.sql, ann, '  ', { anonRole: 'anon' }))).code).toBe('usage');
      const w = await runSqlAs(db.sql, ann, 'with n as (select name from public.deployments) select count(*)::int as n from n', { anonRole: 'anon' });
      expect(w.results).toEqual([{ command: 'SELECT', rowCount: 1, columns: ['n'], rows: [{ n: 2 }] }]);
    }
  });

  it('a multi-statement file reports each result, and an error at file:line:col', async () => {
    const ok = await runAs({ kind: 'user', email: 'ann@example.test' }, 'select 1 as a;\nupdate public.deployments set name = name;\nselect name from public.deployments order by name;', { file: 'ok.sql' });
    expect(ok.results.map((r) => r.command)).toEqual(['SELECT', 'UPDATE', 'SELECT']);
    expect(ok.results[1]!.rowCount).toBe(2);
    expect(names(ok)).toEqual(['ann-prod', 'ann-staging']);

    const text = 'select 1;\n-- second statement\nselect nope\n  from public.deployments;\n';
    const err = await failure(runAs({ kind: 'anon' }, text, { file: 'bad.sql' }));
    expect(err.pg?.sqlstate).toBe('42703');
    expect(err.location).toMatchObject({ file: 'bad.sql', line: 3, column: 8, source: 'select nope' });

    // Text the parser cannot split goes whole: the server's syntax error keeps its place.
    const syntax = await failure(runAs({ kind: 'anon' }, 'select 1;\n  selec 2;\n', { file: 'syntax.sql' }));
    expect(syntax.pg?.sqlstate).toBe('42601');
    expect(syntax.location).toMatchObject({ file: 'syntax.sql', line: 2, column: 3 });

    // The statement travels with rowguard's own end behind it; errors never show that end.
    const open = await failure(runAs({ kind: 'anon' }, 'select 1 +', { file: '-c' }));
    expect(open.message).toMatch(/^syntax error at end of input \(as anon/);
    expect(open.location).toMatchObject({ file: '-c', line: 1, column: 11 });
    for (const [text, near] of [
      ["select 'abc", "'abc"],
      ['select $$abc', '$$abc'],
      ['select 1 /* open', '/* open'],
      ["select 'ab\ncd", "'ab…"],
    ]) {
      const err = await failure(runAs({ kind: 'anon' }, text!, { file: '-c' }));
      expect(err.message, text).toContain(`at or near "${near}"`);
      expect(err.message).not.toMatch(/rollback|\n/i);
      expect(err.location).toMatchObject({ line: 1, column: text!.indexOf(near!.slice(0, 2)) + 1 });
    }
  });

  it('refuses transaction control in the SQL (it would end the request and drop the role), and runs nothing', async () => {
    for (const text of ['commit', `delete from public.deployments;\ncommit;\ndelete from public.deployments`, 'select 1; ROLLBACK', 'savepoint a']) {
      const err = await failure(runAs({ kind: 'service_role' }, text, { file: 'tx.sql' }));
      expect(err.code).toBe('usage');
      expect(err.location?.file).toBe('tx.sql');
    }
    const [row] = await db.sql`select count(*)::int as n from public.deployments`;
    expect(row!['n']).toBe(3);
    // The words alone are fine: a DO block's BEGIN … END, CASE … END.
    const ok = await runAs({ kind: 'anon' }, "select case when true then 'begin' else 'end' end as w, auth.role() as role");
    expect(ok.results[0]!.rows).toEqual([{ w: 'begin', role: 'anon' }]);
  });

  it('refuses SET/RESET ROLE and SET SESSION AUTHORIZATION: the request keeps its role', async () => {
    for (const text of ['reset role', 'set role service_role', 'select 1;\n  set local role postgres', 'set session authorization default']) {
      const err = await failure(runAs({ kind: 'anon' }, text, { file: 'role.sql' }));
      expect(err.code).toBe('usage');
      expect(err.message).toContain('SET ROLE');
    }
    const err = await failure(runAs({ kind: 'anon' }, 'select 1;\n  set local role postgres', { file: 'role.sql' }));
    expect(err.location).toMatchObject({ file: 'role.sql', line: 2, column: 3 });
  });

  it('a single statement error points at its own line and column', async () => {
    const err = await failure(runAs({ kind: 'anon' }, 'select 1,\n  nope', { file: 'one.sql' }));
    expect(err.location).toMatchObject({ line: 2, column: 3 });
  });

  it('an error the server gives no position for (division by zero, RAISE) points at the statement of the file that failed', async () => {
    const text = "select 1;\n-- the second\n  select 1 / 0;\nselect 'é'; do $$ begin raise exception 'stop'; end $$;\n";
    const err = await failure(runAs({ kind: 'service_role' }, text, { file: 'f.sql' }));
    expect(err.pg?.sqlstate).toBe('22012');
    expect(err.location).toMatchObject({ file: 'f.sql', line: 3, column: 3 });
    const raised = await failure(runAs({ kind: 'service_role' }, text.replace('1 / 0', '1'), { file: 'f.sql' }));
    expect(raised.pg?.sqlstate).toBe('P0001');
    expect(raised.location).toMatchObject({ file: 'f.sql', line: 4, column: 13 });
  });
});

describe('rowguard as: the CLI', () => {
  const cwd = tempDir('rg-as-cli-');
  const env = () => ({ DATABASE_URL: db.url, ROWGUARD_JWT_SECRET: SECRET });

  it('prints the rows as a table and exits 0', async () => {
    const r = await runCli(['as', '--user', 'ann@example.test', '-c', 'select name from public.deployments order by name'], { cwd, env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ann-prod');
    expect(r.stdout).not.toContain('bob-prod');
    expect(r.stderr).toContain('rolled back');
  });

  it('shows every column when names repeat (select 1 as a, 2 as a), in the table and in --json values', async () => {
    const text = await runCli(['as', '--anon', '-c', "select 1 as a, 2 as a, 'x'::bytea as b"], { cwd, env: env() });
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n').slice(0, 2)).toEqual(['a  a  b', '1  2  \\x78']);
    const json = await runCli(['--json', 'as', '--anon', '-c', "select 1 as a, 2 as a, 'x'::bytea as b"], { cwd, env: env() });
    const set = JSON.parse(json.stdout).results[0];
    expect(set.columns).toEqual(['a', 'a', 'b']);
    expect(set.values).toEqual([[1, 2, '\\x78']]);
    expect(set.rows).toEqual([{ a: 2, b: '\\x78' }]);
  });

  it("prints each value as Postgres writes it (psql's text: t, {1,2}, microseconds), and --json keeps timestamps to the microsecond", async () => {
    const q = `select true as b, array[1,2] as arr, '{"a": 1}'::jsonb as j, timestamp '2026-01-02 03:04:05.123456' as ts, 1e-7::float8 as f, null::int as n`;
    const text = await runCli(['as', '--anon', '-c', q], { cwd, env: env() });
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[1]!.split(/ {2,}/)).toEqual(['t', '{1,2}', '{"a": 1}', '2026-01-02 03:04:05.123456', '1e-07', 'NULL']);
    const json = await runCli(['--json', 'as', '--anon', '-c', q], { cwd, env: env() });
    expect(JSON.parse(json.stdout).results[0].rows).toEqual([{ b: true, arr: [1, 2], j: { a: 1 }, ts: '2026-01-02 03:04:05.123456', f: 1e-7, n: null }]);
  });

  it('a statement running past a second writes no progress line into a pipe (progress is for a TTY only)', async () => {
    const r = await runCli(['as', '--anon', '-c', 'select 1 as slept from pg_sleep(1.3)'], { cwd, env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['slept', '1']);
    expect(r.stderr).toBe('as anon, POST; rolled back\n');
  });

  it('keeps the table aligned when a value spans lines', async () => {
    const r = await runCli(['as', '--anon', '-c', "select E'one\\ntwo, longer' as body, 7 as n"], { cwd, env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['body         n', 'one        + 7', 'two, longer']);
  });

  it('--json prints role, results and rows', async () => {
    const r = await runCli(['--json', 'as', '--service-role', '-c', 'select count(*)::int as n from public.deployments'], { cwd, env: env() });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.role).toBe('service_role');
    expect(doc.results[0].rows).toEqual([{ n: 3 }]);
  });

  it('-f with a NUL byte or bytes that are not UTF-8 names file:line:col, as for a migration (not the server\'s "invalid message format")', async () => {
    writeFileSync(join(cwd, 'nul.sql'), 'select 1;\nselect 2;\0\n');
    const nul = await runCli(['as', '--anon', '-f', 'nul.sql'], { cwd, env: env() });
    expect(nul.code).toBe(1);
    expect(nul.stderr.split('\n')[0]).toBe('error: nul.sql:2:10: contains a NUL byte (0x00), which no PostgreSQL query can hold');
    writeFileSync(join(cwd, 'latin1.sql'), Buffer.concat([Buffer.from("select 'caf"), Buffer.from([0xe9]), Buffer.from("';\n")]));
    const latin1 = await runCli(['--json', 'as', '--anon', '-f', 'latin1.sql'], { cwd, env: env() });
    expect(JSON.parse(latin1.stdout).error).toMatchObject({ location: { file: 'latin1.sql', line: 1, column: 12 } });
  });

  it('on a denial prints the SQLSTATE and the HTTP status, exit 1', async () => {
    const r = await runCli(['as', '--anon', '-c', 'select * from auth.users'], { cwd, env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('42501');
    expect(r.stderr).toContain('HTTP 401');
  });

  it('takes the token on stdin (--token-file -) and refuses a bad one before connecting', async () => {
    const claims = await userClaimsFromDatabase(db.sql, 'bob@example.test', { issuer: 'http://test', expiresIn: 600 }, now());
    const token = await mintAccessToken(claims, signing);
    const ok = await runCli(['as', '--token-file', '-', '-c', 'select name from public.deployments'], { cwd, env: env(), input: token + '\n' });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('bob-prod');
    const tampered = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
    const bad = await runCli(['as', '--token', tampered, '-c', 'select 1'], { cwd, env: { ...env(), DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('PGRST301');
    expect(bad.stderr + bad.stdout).not.toContain(tampered);
  });

  it('a token naming a role authenticator cannot become: 42501, HTTP 403, and the token in no output, text or --json', async () => {
    const [me] = await db.sql<{ u: string }[]>`select current_user::text as u`;
    const token = await mintAccessToken({ role: me!.u, sub: USER_A, exp: Math.floor(now()) + 60 }, signing);
    for (const json of [false, true]) {
      const r = await runCli([...(json ? ['--json'] : []), 'as', '--token', token, '-c', 'select count(*) from auth.users'], { cwd, env: env() });
      expect(r.code, r.stderr).toBe(1);
      const out = r.stdout + r.stderr;
      expect(out).toContain('42501');
      expect(out).toContain(json ? '"httpStatus": 403' : 'HTTP 403');
      for (const part of token.split('.')) expect(out).not.toContain(part);
    }
  });

  it('-H headers land in request.headers (lower-cased), a Cookie header in request.cookies', async () => {
    const r = await runCli(
      ['--json', 'as', '--anon', '--method', 'get', '--path', '/rpc/x', '-H', 'X-Forwarded-For: 203.0.113.7', '-H', 'Cookie: sb-a=1; theme=dark', '-c',
        "select current_setting('request.headers')::jsonb as h, current_setting('request.cookies')::jsonb as c, current_setting('request.method') as m, current_setting('request.path') as p"],
      { cwd, env: env() },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results[0].rows).toEqual([{ h: { 'x-forwarded-for': '203.0.113.7' }, c: { 'sb-a': '1', theme: 'dark' }, m: 'GET', p: '/rpc/x' }]);
    expect((await runCli(['as', '--anon', '-H', 'Authorization: Bearer x', '-c', 'select 1'], { cwd, env: env() })).code).toBe(2);
  });

  it('-f file: a SQL error reports file:line:col', async () => {
    const file = join(cwd, 'q.sql');
    writeFileSync(file, 'select 1;\nselect nope from public.deployments;\n');
    const r = await runCli(['as', '--anon', '-f', 'q.sql'], { cwd, env: env() });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('q.sql:2:8');
    expect(r.stderr).toContain('42703');
  });

  it('needs exactly one identity and one SQL source (exit 2)', async () => {
    expect((await runCli(['as', '-c', 'select 1'], { cwd, env: env() })).code).toBe(2);
    expect((await runCli(['as', '--anon', '--service-role', '-c', 'select 1'], { cwd, env: env() })).code).toBe(2);
    expect((await runCli(['as', '--anon'], { cwd, env: env() })).code).toBe(2);
  });

  it('refuses a method or schema PostgREST would answer without running SQL (405 PGRST117, 406 PGRST106), exit 2', async () => {
    for (const [args, says] of [
      [['--method', 'FOO'], /^error: --method "FOO": PostgREST answers 405 \(PGRST117/],
      [['--method', 'options'], /^error: --method "options": PostgREST answers OPTIONS without running SQL/],
      [['--schema', ''], /^error: --schema "" is not an exposed schema/],
    ] as const) {
      const r = await runCli(['as', '--service-role', ...args, '-c', 'select 1'], { cwd, env: env() });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(says);
    }
    // With api.schemas configured, only those; a configured one runs.
    const conf = tempDir('rg-as-schemas-');
    writeFileSync(join(conf, 'rowguard.config.json'), JSON.stringify({ api: { schemas: ['public'] } }));
    const hidden = await runCli(['as', '--service-role', '--schema', 'private', '-c', 'select 1'], { cwd: conf, env: env() });
    expect(hidden.code, hidden.stderr).toBe(2);
    expect(hidden.stderr).toContain('hint: the exposed schemas (config api.schemas) are: public');
    expect((await runCli(['as', '--service-role', '--schema', 'public', '--method', 'patch', '-c', 'select 1'], { cwd: conf, env: env() })).code).toBe(0);
  });

  it("without api.schemas the exposed schemas are the database's pgrst.db_schemas, else public: --schema outside them is 406, and the first is the default", async () => {
    const outside = await runCli(['as', '--service-role', '--schema', 'private', '-c', 'select 1'], { cwd, env: env() });
    expect(outside.code, outside.stderr).toBe(2);
    expect(outside.stderr).toContain("hint: the exposed schemas (the authenticator's pgrst.db_schemas, else the database's, else public) are: public");
    const dbName = new URL(db.url).pathname.slice(1);
    await db.sql.unsafe(`alter database "${dbName}" set pgrst.db_schemas = 'private, public'`);
    try {
      const path = await runCli(['--json', 'as', '--service-role', '-c', "select current_setting('search_path') as p"], { cwd, env: env() });
      expect(path.code, path.stderr).toBe(0);
      expect(JSON.parse(path.stdout).results[0].rows[0].p).toMatch(/^"?private"?, /);
      expect((await runCli(['as', '--service-role', '--schema', 'private', '-c', 'select 1'], { cwd, env: env() })).code).toBe(0);
    } finally {
      await db.sql.unsafe(`alter database "${dbName}" reset pgrst.db_schemas`);
    }
  });

  // The server writes the text of a message that fails to its log (log_min_error_statement = error
  // by default). Read here from the embedded server's server.log, the file pg_ctl -l writes.
  it.skipIf(inject('pgEngine') !== 'embedded')("a failing statement under --token: the server's log holds the statement, never the token (request.headers carries it)", async () => {
    const claims = await userClaimsFromDatabase(db.sql, 'ann@example.test', { issuer: 'http://test', expiresIn: 600 }, now());
    const token = await mintAccessToken(claims, signing);
    const signature = token.split('.')[2]!;
    const [row] = await db.sql<Array<{ dir: string }>>`select current_setting('data_directory') as dir`;
    const log = join(row!.dir, 'server.log');
    const before = readFileSync(log, 'utf8').length;
    const marker = `rg_log_marker_${process.pid}`;
    for (const args of [['-c', `select 1/0 as ${marker}`], ['-H', `Cookie: sb=${token}`, '-c', `select 1/0 as ${marker}`]]) {
      const r = await runCli(['as', '--token', token, ...args], { cwd, env: env() });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('division by zero');
    }
    // A preamble that fails (the token's role does not exist) is logged too: without the headers.
    const ghost = await mintAccessToken({ ...claims, role: `rg_ghost_${process.pid}` }, signing);
    const g = await runCli(['as', '--token', ghost, '-c', 'select 1'], { cwd, env: env() });
    expect(g.stderr).toContain(`role "rg_ghost_${process.pid}" does not exist`);
    const written = readFileSync(log, 'utf8').slice(before);
    // The statements were logged (so the check below reads the right lines), the tokens were not.
    expect(written.split(marker).length - 1).toBeGreaterThanOrEqual(2);
    expect(written).toContain(`role "rg_ghost_${process.pid}" does not exist`);
    expect(written).not.toContain(signature);
    expect(written).not.toContain(ghost.split('.')[2]!);
  });

  it('a -f file that is not UTF-8 is named at file:line:col, as a SQL file, not as a migration', async () => {
    const file = join(cwd, 'latin1.sql');
    writeFileSync(file, Buffer.from('select 1;\nselect \'caf\xe9\';\n', 'latin1'));
    const r = await runCli(['as', '--anon', '-f', file], { cwd, env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`error: ${file}:2:12: not valid UTF-8 (byte 0xe9): rowguard reads SQL files as UTF-8 (the server is sent UTF-8, migrations are checksummed as it)`);
  });
});
