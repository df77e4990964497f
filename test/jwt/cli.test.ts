/**
 * `rowguard jwt …` as a user runs it, and a scan of every byte those runs
 * printed: no secret, and no token of an error case, may appear in any output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { freshDatabase, migrate, runCli, type CliResult, type TestDatabase } from '../helpers/pg.js';
import { seed, USER_A } from '../as/fixture.js';
import { signingKeyFromBytes } from '../../cli/core/jwt/keys.js';
import { mintAccessToken } from '../../cli/core/jwt/mint.js';
import { tempDir } from '../helpers/tmp.js';

const SECRET = 'cli-test-secret-0123456789-abcdefghijklmnopq';
const ENV_SECRET = 'env-secret-9876543210-zyxwvutsrqponmlkjihgf';
const cwd = tempDir('rg-jwt-cli-');
const secretFile = join(cwd, 'jwt.secret');
writeFileSync(secretFile, SECRET + '\n', { mode: 0o600 });
const signing = signingKeyFromBytes(Buffer.from(SECRET), 'test');

/** Everything any CLI run in this file printed, and the strings that must never be in it. */
const printed: string[] = [];
const forbidden = new Set<string>([SECRET, ENV_SECRET]);

async function cli(args: string[], opts: { env?: Record<string, string | undefined>; input?: string; cwd?: string } = {}): Promise<CliResult> {
  const r = await runCli(args, { cwd: opts.cwd ?? cwd, env: { DATABASE_URL: db?.url, ROWGUARD_JWT_SECRET: undefined, ...opts.env }, input: opts.input });
  printed.push(r.stdout, r.stderr);
  return r;
}

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase('rg_jwt_cli');
  await migrate(db.url);
  await seed(db.sql);
});
afterAll(async () => {
  await db?.drop();
});

describe('jwt mint and verify', () => {
  it('mints with --secret-file and verifies: exit 0, the role printed', async () => {
    const m = await cli(['jwt', 'mint', '--secret-file', 'jwt.secret', '--email', 'x@example.test', '--exp', '15m']);
    expect(m.code).toBe(0);
    const token = m.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const v = await cli(['jwt', 'verify', token, '--secret-file', 'jwt.secret']);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('role authenticated');
    const j = await cli(['--json', 'jwt', 'verify', '--token-file', '-', '--secret-file', 'jwt.secret'], { input: `Bearer ${token}\n` });
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc).toMatchObject({ valid: true, role: 'authenticated', alg: 'HS256', header: { alg: 'HS256', typ: 'JWT' } });
    expect(doc.claims.exp - doc.claims.iat).toBe(900);
    expect(doc.claims.email).toBe('x@example.test');
  });

  it('a secret file other users can read still works, with a warning naming it and the chmod; a 0600 file or stdin gives none', async () => {
    const loose = join(cwd, 'loose.secret');
    writeFileSync(loose, SECRET + '\n');
    chmodSync(loose, 0o644);
    const warning = `warning: the secret file ${loose} can be read by other users (mode 644): chmod 600 ${loose}`;
    const m = await cli(['jwt', 'mint', '--secret-file', 'loose.secret']);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stderr).toContain(warning);
    const j = await cli(['--json', 'jwt', 'mint', '--secret-file', 'loose.secret']);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout).token.split('.')).toHaveLength(3);
    expect(j.stderr).toContain(warning);
    const v = await cli(['jwt', 'verify', m.stdout.trim(), '--secret-file', 'loose.secret']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain(warning);
    // Through the config's jwt.secretFile too.
    writeFileSync(join(cwd, 'loose.json'), JSON.stringify({ jwt: { secretFile: 'loose.secret' } }));
    const c = await cli(['--config', 'loose.json', 'jwt', 'mint']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toContain('warning: the secret file (config jwt.secretFile)');
    for (const r of [await cli(['jwt', 'mint', '--secret-file', 'jwt.secret']), await cli(['jwt', 'mint', '--secret-file', '-'], { input: SECRET })]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('other users');
    }
  });

  it('a token whose claims nest 19,000 deep (PostgREST takes it): exit 0, the claims printed compact, --json reads back', async () => {
    const n = 19000;
    const payload = `{"role":"authenticated","a":${'['.repeat(n)}"r"${']'.repeat(n)}}`;
    const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    const v = await cli(['jwt', 'verify', '--token-file', '-', '--secret-file', 'jwt.secret'], { input: token });
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('role authenticated');
    expect(v.stdout).toContain(`{"role":"authenticated","a":${'['.repeat(n)}"r"`);
    const j = await cli(['--json', 'jwt', 'verify', '--token-file', '-', '--secret-file', 'jwt.secret'], { input: token });
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc).toMatchObject({ valid: true, role: 'authenticated' });
    let a: unknown = doc.claims.a;
    let depth = 0;
    while (Array.isArray(a)) (a = a[0]), depth++;
    expect([depth, a]).toEqual([n, 'r']);
  });

  it('reads a pasted Authorization value as PostgREST does: any blank space after Bearer; "Bearer" alone is an empty JWT', async () => {
    const token = await mintAccessToken({ role: 'authenticated' }, signing);
    const tab = await cli(['jwt', 'verify', `bEaReR\t ${token}`, '--secret-file', 'jwt.secret']);
    expect(tab.code).toBe(0);
    for (const alone of ['Bearer', 'Bearer   ']) {
      const r = await cli(['--json', 'jwt', 'verify', alone, '--secret-file', 'jwt.secret']);
      expect(r.code, alone).toBe(1);
      expect(JSON.parse(r.stdout).error.meta).toMatchObject({ pgrst: 'PGRST301', message: 'Empty JWT is sent in Authorization header' });
    }
  });

  it("--secret-is-base64 (jwt.secretIsBase64) reads the secret as PostgREST's jwt-secret-is-base64 does, to mint and to verify", async () => {
    // Binary key bytes, ending in a newline byte: base64-decoded bytes are never chomped.
    const key = Buffer.concat([Buffer.from('0123456789abcdef0123456789abcdef'), Buffer.from([0xff, 0x00, 0x0a])]);
    const file = join(cwd, 'b64.secret');
    writeFileSync(file, key.toString('base64url').replace(/=+$/, '') + '.'.repeat((4 - (key.toString('base64url').length % 4)) % 4) + '\n', { mode: 0o600 });
    const signingB64 = signingKeyFromBytes(key, 'test', undefined, true);
    const token = await mintAccessToken({ role: 'authenticated' }, signingB64);
    const v = await cli(['jwt', 'verify', token, '--secret-file', file, '--secret-is-base64']);
    expect(v.code).toBe(0);
    const plain = await cli(['--json', 'jwt', 'verify', token, '--secret-file', file]);
    expect(plain.code).toBe(1);
    expect(JSON.parse(plain.stdout).error.meta).toMatchObject({ pgrst: 'PGRST301', reason: 'bad_signature' });
    writeFileSync(join(cwd, 'b64.json'), JSON.stringify({ jwt: { secretIsBase64: true, secretFile: 'b64.secret' } }));
    const m = await cli(['--config', 'b64.json', 'jwt', 'mint', '--role', 'authenticated']);
    expect(m.code).toBe(0);
    expect((await cli(['jwt', 'verify', m.stdout.trim(), '--secret-file', file, '--secret-is-base64'])).code).toBe(0);
    writeFileSync(join(cwd, 'bad.secret'), 'not base64 at all!', { mode: 0o600 });
    const bad = await cli(['jwt', 'verify', token, '--secret-file', 'bad.secret', '--secret-is-base64']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not padded base64/);
  });

  it('--json mint shows header, payload and token; --claim and metadata flags land in the payload', async () => {
    const m = await cli(['--json', 'jwt', 'mint', '--claim', 'tier=gold', '--claim', 'n=5', '--app-metadata', '{"provider":"email"}', '--aal', 'aal2'], { env: { ROWGUARD_JWT_SECRET: ENV_SECRET } });
    expect(m.code).toBe(0);
    const doc = JSON.parse(m.stdout);
    expect(doc.header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(doc.payload).toMatchObject({ tier: 'gold', n: 5, app_metadata: { provider: 'email' }, aal: 'aal2', aud: 'authenticated', role: 'authenticated', email: '', phone: '' });
    expect(doc.token.split('.')).toHaveLength(3);
  });

  it('--sub and --session-id must be uuids (auth.uid() would raise 22P02 on every request); --claim sub=… is the way to mint another sub', async () => {
    for (const args of [['--sub', 'user-1'], ['--sub', ''], ['--session-id', '42'], ['--user', 'ann@example.test', '--sub', 'ann']]) {
      const m = await cli(['jwt', 'mint', '--secret-file', 'jwt.secret', ...args]);
      expect(m.code, args.join(' ')).toBe(2);
      expect(m.stdout).toBe('');
      expect(m.stderr).toMatch(/--(sub|session-id) must be a uuid/);
    }
    const hinted = await cli(['jwt', 'mint', '--secret-file', 'jwt.secret', '--sub', 'auth0|123']);
    expect(hinted.stderr).toContain('--claim sub=');
    const ok = await cli(['--json', 'jwt', 'mint', '--secret-file', 'jwt.secret', '--sub', USER_A.toUpperCase()]);
    expect(ok.code, ok.stderr).toBe(0);
    const other = await cli(['--json', 'jwt', 'mint', '--secret-file', 'jwt.secret', '--claim', 'sub=auth0|123']);
    expect(JSON.parse(other.stdout).payload.sub).toBe('auth0|123');
  });

  it('--anon and --service-role mint the legacy API key claims (no sub)', async () => {
    const a = JSON.parse((await cli(['--json', 'jwt', 'mint', '--anon', '--secret-file', 'jwt.secret'])).stdout);
    expect(Object.keys(a.payload)).toEqual(['iss', 'role', 'iat', 'exp']);
    expect(a.payload.role).toBe('anon');
    const s = JSON.parse((await cli(['--json', 'jwt', 'mint', '--service-role', '--secret-file', 'jwt.secret'])).stdout);
    expect(s.payload.role).toBe('service_role');
  });

  it('--user reads sub, email, role and metadata from auth.users', async () => {
    const m = await cli(['--json', 'jwt', 'mint', '--user', 'ann@example.test', '--secret-file', 'jwt.secret']);
    expect(m.code).toBe(0);
    const doc = JSON.parse(m.stdout);
    expect(doc.payload).toMatchObject({ sub: USER_A, email: 'ann@example.test', phone: '', role: 'authenticated', aud: 'authenticated', user_metadata: { name: 'Ann' }, is_anonymous: false });
    const missing = await cli(['jwt', 'mint', '--user', 'nobody@example.test', '--secret-file', 'jwt.secret']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no user with email');
  });

  it('an expired token: exit 1, PGRST303 "JWT expired", the token not echoed', async () => {
    // Minted in-process: a token the CLI printed on purpose (mint) would trip the scan below.
    const old = await mintAccessToken({ role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 60 }, signing);
    forbidden.add(old);
    const later = String(Math.floor(Date.now() / 1000) + 3600);
    const v = await cli(['jwt', 'verify', old, '--secret-file', 'jwt.secret', '--now', later]);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('PGRST303 JWT expired');
    const j = await cli(['--json', 'jwt', 'verify', old, '--secret-file', 'jwt.secret', '--now', later]);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).error.meta).toMatchObject({ pgrst: 'PGRST303', httpStatus: 401, message: 'JWT expired', reason: 'expired' });
  });

  it('a tampered token and a malformed one: exit 1 with PGRST301, neither echoed', async () => {
    const good = await mintAccessToken({ role: 'authenticated' }, signing);
    const [h, , s] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ role: 'service_role' })).toString('base64url')}.${s}`;
    const malformed = 'eyJhbGciOiJIUzI1NiJ9.!!!.x';
    for (const t of [tampered, malformed]) {
      forbidden.add(t);
      const v = await cli(['jwt', 'verify', t, '--secret-file', 'jwt.secret']);
      expect(v.code).toBe(1);
      expect(v.stderr).toContain('PGRST301');
    }
  });

  it('wrong audience when configured: PGRST303 "JWT not in audience"', async () => {
    const t = (await cli(['jwt', 'mint', '--secret-file', 'jwt.secret'])).stdout.trim();
    const v = await cli(['jwt', 'verify', t, '--secret-file', 'jwt.secret', '--aud', 'some-other-api']);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('JWT not in audience');
  });
});

describe('secrets are refused and never printed', () => {
  it('refuses --secret <value> (exit 2) without repeating it', async () => {
    const r = await cli(['jwt', 'mint', '--secret', SECRET]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refusing a secret given on the command line');
    const v = await cli(['jwt', 'verify', 'a.b.c', '--secret', SECRET]);
    expect(v.code).toBe(2);
  });

  it('refuses a short secret from the environment (exit 2) and a missing one', async () => {
    const short = 'short-secret-31-characters-long';
    forbidden.add(short);
    const r = await cli(['jwt', 'mint'], { env: { ROWGUARD_JWT_SECRET: short } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('at least 32 characters');
    const none = await cli(['jwt', 'mint']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no signing key');
  });

  it('two key flags where the command uses one key (mint, verify, the auth flows) are refused (exit 2), not one silently passed over', async () => {
    // Before, mint signed with --key-file and ignored --secret-file; verify took --jwks-file over the others.
    const other = join(cwd, 'other.secret');
    writeFileSync(other, 'another-secret-0123456789-abcdefghijklmnop\n', { mode: 0o600 });
    forbidden.add('another-secret-0123456789-abcdefghijklmnop');
    const cases: Array<[string[], string]> = [
      [['jwt', 'mint', '--secret-file', secretFile, '--key-file', other], '--secret-file and --key-file'],
      [['jwt', 'verify', 'x.y.z', '--jwks-file', other, '--secret-file', secretFile], '--secret-file and --jwks-file'],
      [['jwt', 'verify', 'x.y.z', '--jwks-file', other, '--secret-file', secretFile, '--key-file', other], '--secret-file, --key-file and --jwks-file'],
      [['auth', 'sign-in', 'a@example.test', '--stdin', '--secret-file', secretFile, '--key-file', other], '--secret-file and --key-file'],
    ];
    for (const [args, flags] of cases) {
      const r = await cli(args, { input: 'pw' });
      expect(r.code, args.join(' ') + r.stderr).toBe(2);
      expect(r.stderr).toBe(`error: ${flags} each name a key, and this command uses one: pass one of them\n`);
      expect(r.stdout).toBe('');
    }
    // as signs with one key and verifies with another: both are taken.
    const as = await cli(['as', '--anon', '--key-file', secretFile, '--jwks-file', secretFile, '-c', 'select 1 as one', '--json']);
    expect(as.code, as.stderr).toBe(0);
  });

  it('reads the secret from stdin with --secret-file -', async () => {
    const m = await cli(['jwt', 'mint', '--secret-file', '-'], { input: SECRET + '\n' });
    expect(m.code).toBe(0);
    expect((await cli(['jwt', 'verify', m.stdout.trim(), '--secret-file', 'jwt.secret'])).code).toBe(0);
  });
});

describe('jwt keys generate and jwt cookie', () => {
  it('generates ES256 and HS256 keys; refuses to overwrite (exit 2); the HS256 secret is never printed', async () => {
    const es = await cli(['jwt', 'keys', 'generate', '--alg', 'ES256', '--out', 'keys/']);
    expect(es.code).toBe(0);
    expect(existsSync(join(cwd, 'keys', 'jwt.private.jwk.json'))).toBe(true);
    expect((await cli(['jwt', 'keys', 'generate', '--alg', 'ES256', '--out', 'keys/'])).code).toBe(2);
    const t = (await cli(['jwt', 'mint', '--key-file', 'keys/jwt.private.jwk.json'])).stdout.trim();
    const v = await cli(['--json', 'jwt', 'verify', t, '--jwks-file', 'keys/jwt.jwks.json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).alg).toBe('ES256');

    const hs = await cli(['--json', 'jwt', 'keys', 'generate', '--alg', 'HS256', '--out', 'hs']);
    expect(hs.code).toBe(0);
    const doc = JSON.parse(hs.stdout);
    expect(doc.publicJwks).toBeNull();
    const generated = readFileSync(doc.privateFile, 'utf8').trim();
    forbidden.add(generated);
    forbidden.add(JSON.parse(readFileSync(doc.jwksFile, 'utf8')).keys[0].k);
  });

  it('an --out whose folders cannot be made is one line naming the folder (exit 2), not a hang', async () => {
    // Node's recursive mkdir retries forever where /proc refuses a new entry with ENOENT.
    const proc = await runCli(['jwt', 'keys', 'generate', '--alg', 'ES256', '--out', '/proc/rowguard-keys/x/'], { cwd, timeoutMs: 20_000 });
    expect(proc.code, proc.stderr).toBe(2);
    expect(proc.stderr).toMatch(/^error: cannot mkdir \/proc\/rowguard-keys \(ENOENT\)\n/);
    // A file where a folder is needed names the path and says so.
    writeFileSync(join(cwd, 'plain-file'), 'x');
    const file = await runCli(['jwt', 'keys', 'generate', '--alg', 'ES256', '--out', 'plain-file/keys/'], { cwd, timeoutMs: 20_000 });
    expect(file.code, file.stderr).toBe(2);
    expect(file.stderr).toMatch(/plain-file\/keys \(ENOTDIR\)\nhint: a part of the path is a file, not a folder\n$/);
  });

  it('prints the Set-Cookie header from the config, and refuses an unsafe cookie config (exit 2)', async () => {
    const site = tempDir('rg-cookie-');
    writeFileSync(join(site, 'rowguard.config.json'), JSON.stringify({ cookie: { project: 'purelogic', domain: '.purelogic.studio' } }));
    writeFileSync(join(site, 'jwt.secret'), SECRET);
    const t = (await cli(['jwt', 'mint', '--secret-file', 'jwt.secret', '--exp', '1h'], { cwd: site })).stdout.trim();
    const c = await cli(['jwt', 'cookie', '--token-file', '-'], { cwd: site, input: t });
    expect(c.code).toBe(0);
    const m = /^Set-Cookie: sb-purelogic-auth-token=([\w.-]+); Domain=\.purelogic\.studio; Path=\/; Max-Age=(\d+); Secure; HttpOnly; SameSite=Lax\n$/.exec(c.stdout);
    expect(m, c.stdout + c.stderr).not.toBeNull();
    expect(m![1]).toBe(t);
    // The token's remaining life: an hour less the seconds the two CLI runs took.
    expect(Number(m![2])).toBeGreaterThan(3500);
    expect(Number(m![2])).toBeLessThanOrEqual(3600);
    // A token mangled on the way (a space, a line break or a non-ASCII character inside) is refused, not written into the header.
    for (const mangled of [t.slice(0, 40) + ' ' + t.slice(40), t.slice(0, 40) + '\n' + t.slice(40), t.slice(0, 40) + 'é' + t.slice(40)]) {
      const r = await cli(['jwt', 'cookie', '--token-file', '-'], { cwd: site, input: mangled });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('error: the token is not a decodable JWT (three base64url parts with a JSON payload)\n');
    }

    writeFileSync(join(site, 'rowguard.config.json'), JSON.stringify({ cookie: { domain: '.co.uk', sameSite: 'None', secure: false } }));
    const bad = await cli(['jwt', 'cookie', t], { cwd: site });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('public suffix');
    expect(bad.stderr).toContain('SameSite');
  });
});

describe('output scan', () => {
  it('no secret, and no token of an error case, appears in any output of this file', () => {
    expect(printed.length).toBeGreaterThan(20);
    const all = printed.join('\n');
    for (const s of forbidden) expect(all.includes(s), `leaked: ${s.slice(0, 6)}…`).toBe(false);
  });
});
