/** Key material (secrets, PEM, JWK/JWKS), key generation and the Set-Cookie header. */
import { describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseConfig } from '../../cli/core/config.js';
import { RowguardError } from '../../cli/core/errors.js';
import { decodeSecretBase64, loadSigningKey, loadVerifyKeys, signingKeyFromBytes, verifyKeysFromBytes, MIN_SECRET_BYTES } from '../../cli/core/jwt/keys.js';
import { generateKeys } from '../../cli/core/jwt/generate.js';
import { mintAccessToken } from '../../cli/core/jwt/mint.js';
import { checkToken } from '../../cli/core/jwt/verify.js';
import { buildSetCookie, cookieProblems } from '../../cli/core/jwt/cookie.js';
import { parseDuration, parseClaimAssignment } from '../../cli/core/jwt/claims.js';
import { tempDir } from '../helpers/tmp.js';

const dir = () => tempDir('rg-jwt-keys-');
const opts = { now: Date.now() / 1000, anonRole: 'anon' };
const config = (raw: Record<string, unknown> = {}, root = tmpdir()) => parseConfig(raw, null, root);

function secretError(fn: () => unknown): RowguardError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RowguardError);
    return err as RowguardError;
  }
  throw new Error('expected a refusal');
}

describe('secrets', () => {
  it('refuses HS secrets shorter than 32 characters, to mint and to verify (exit 2)', () => {
    const short = 'x'.repeat(MIN_SECRET_BYTES - 1);
    for (const f of [signingKeyFromBytes, verifyKeysFromBytes]) {
      const err = secretError(() => f(Buffer.from(short), 'test'));
      expect(err.code).toBe('secret');
      expect(err.exitCode).toBe(2);
      expect(err.message).toContain('at least 32');
      expect(err.message).not.toContain(short);
    }
    expect(secretError(() => signingKeyFromBytes(Buffer.from(''), 'test')).message).toContain('empty');
    expect(signingKeyFromBytes(Buffer.from('y'.repeat(32)), 'test').alg).toBe('HS256');
  });

  it("jwt-secret-is-base64 takes only canonical base64 (base64-bytestring 1.2's decode): unused bits set in the last group are refused, as PostgREST refuses to start", () => {
    // 32 bytes end in a group "xxx=" (2 unused bits), 31 bytes in "xx==" (4 unused bits), 33 bytes in no padding.
    const key32 = Buffer.from('0123456789abcdef0123456789abcdeF');
    const key31 = Buffer.from('0123456789abcdef0123456789abcde');
    for (const key of [key32, key31, Buffer.concat([key32, Buffer.from('!')])]) {
      const text = key.toString('base64');
      expect(decodeSecretBase64(Buffer.from(text + '\n'), 'f').equals(key), text).toBe(true);
      // URL-safe spelling with "." for "=", as PostgREST's replaceUrlChars reads it.
      expect(decodeSecretBase64(Buffer.from(text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, '.')), 'f').equals(key)).toBe(true);
    }
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    // Set the lowest bit of the last data character before the padding: Node would decode it to the same bytes.
    const bump = (text: string) => {
      const at = text.indexOf('=') - 1;
      return text.slice(0, at) + ALPHABET[ALPHABET.indexOf(text[at]!) | 1] + text.slice(at + 1);
    };
    for (const key of [key32, key31]) {
      const odd = bump(key.toString('base64'));
      expect(Buffer.from(odd, 'base64').equals(key)).toBe(true);
      const err = secretError(() => decodeSecretBase64(Buffer.from(odd), 'b64.secret'));
      expect(err.code).toBe('secret');
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(/^b64\.secret is not canonical base64/);
      expect(err.message).not.toContain(odd);
    }
  });

  it("a PEM key given as PostgREST's jwt-secret (--secret-file, --jwks-file, the environment) is refused; --key-file takes it", async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const d = dir();
    const priv = join(d, 'k.pem');
    const pub = join(d, 'pub.pem');
    writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const refused = async (p: Promise<unknown>) => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(RowguardError);
      expect((err as RowguardError).message).toMatch(/PEM key, which PostgREST's jwt-secret does not read/);
    };
    await refused(loadVerifyKeys(config(), {}, undefined, { secretFile: pub }));
    await refused(loadVerifyKeys(config(), {}, undefined, { jwksFile: pub }));
    await refused(loadVerifyKeys(config(), { ROWGUARD_JWT_SECRET: readFileSync(pub, 'utf8') }, undefined, {}));
    await refused(loadSigningKey(config(), {}, undefined, { secretFile: priv }));
    const signing = await loadSigningKey(config(), {}, undefined, { keyFile: priv });
    const keys = await loadVerifyKeys(config(), {}, undefined, { keyFile: pub });
    expect((await checkToken(await mintAccessToken({ role: 'a' }, signing), keys, opts)).ok).toBe(true);
  });

  it("a secret file loses exactly one trailing newline, as PostgREST's chomp", async () => {
    const d = dir();
    const secret = 's'.repeat(40);
    writeFileSync(join(d, 'one'), secret + '\n');
    writeFileSync(join(d, 'two'), secret + '\n\n');
    // An oct JWK carries exact bytes, so it tells which secret a token was signed with.
    const exact = (bytes: string) => verifyKeysFromBytes(Buffer.from(JSON.stringify({ kty: 'oct', k: Buffer.from(bytes).toString('base64url') })), 'jwk');
    const k1 = await loadSigningKey(config(), {}, undefined, { secretFile: join(d, 'one') });
    const t1 = await mintAccessToken({ role: 'a' }, k1);
    expect((await checkToken(t1, exact(secret), opts)).ok).toBe(true);
    expect((await checkToken(t1, exact(secret + '\n'), opts)).ok).toBe(false);
    const k2 = await loadSigningKey(config(), {}, undefined, { secretFile: join(d, 'two') });
    expect((await checkToken(await mintAccessToken({ role: 'a' }, k2), exact(secret + '\n'), opts)).ok).toBe(true);
  });

  it('reads the secret from stdin, the environment, or the config file reference, in that order after flags', async () => {
    const d = dir();
    const fromFile = 'f'.repeat(40);
    writeFileSync(join(d, 'cfg.secret'), fromFile);
    const cfg = config({ jwt: { secretFile: 'cfg.secret' } }, d);
    const stdin = Readable.from([Buffer.from('i'.repeat(40) + '\n')]);
    const viaStdin = await loadSigningKey(cfg, { ROWGUARD_JWT_SECRET: 'e'.repeat(40) }, stdin, { secretFile: '-' });
    expect(viaStdin.source).toBe('stdin');
    const viaEnv = await loadSigningKey(cfg, { ROWGUARD_JWT_SECRET: 'e'.repeat(40) }, undefined, {});
    expect(viaEnv.source).toBe('ROWGUARD_JWT_SECRET');
    const viaConfig = await loadSigningKey(cfg, {}, undefined, {});
    expect(viaConfig.source).toBe(join(d, 'cfg.secret'));
    const none = await loadSigningKey(config(), {}, undefined, {}).catch((e: unknown) => e);
    expect(none).toMatchObject({ code: 'secret' });
  });

  it('the config file never holds a secret itself', () => {
    expect(() => config({ jwt: { secret: 'x'.repeat(40) } })).toThrow(/never read from the config file/);
  });

  it('signing from a JWKS needs exactly one private key', () => {
    const two = { keys: [{ kty: 'oct', k: Buffer.from('a'.repeat(40)).toString('base64url') }, { kty: 'oct', k: Buffer.from('b'.repeat(40)).toString('base64url') }] };
    expect(secretError(() => signingKeyFromBytes(Buffer.from(JSON.stringify(two)), 'jwks')).message).toContain('exactly one');
  });

  it('a JWK whose "alg" cannot sign with its key is refused by name (exit 2), one that can is used', async () => {
    const k = Buffer.from('k'.repeat(40)).toString('base64url');
    const jwk = (alg: string) => Buffer.from(JSON.stringify({ kty: 'oct', k, alg }));
    for (const alg of ['none', 'HS999', 'RS256', 'ES256']) {
      const err = secretError(() => signingKeyFromBytes(jwk(alg), 'key.json'));
      expect(err.message).toBe(`key.json: the JWK's alg "${alg}" cannot sign with its oct key`);
      expect(err.exitCode).toBe(2);
    }
    const hs512 = signingKeyFromBytes(jwk('HS512'), 'key.json');
    const token = await mintAccessToken({ role: 'a' }, hs512);
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'HS512' });
  });
});

describe('jwt keys generate', () => {
  for (const alg of ['ES256', 'RS256', 'EdDSA', 'HS256'] as const) {
    it(`${alg}: private file 0600, a JWKS PostgREST takes, tokens round-trip`, async () => {
      const d = dir();
      const g = await generateKeys(alg, d + '/');
      expect(statSync(g.privateFile).mode & 0o777).toBe(0o600);
      const jwks = JSON.parse(readFileSync(g.jwksFile, 'utf8'));
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ kid: g.kid, alg, use: 'sig' });
      if (alg === 'HS256') {
        expect(jwks.keys[0].kty).toBe('oct');
        expect(statSync(g.jwksFile).mode & 0o777).toBe(0o600);
        expect(readFileSync(g.privateFile, 'utf8').trim().length).toBeGreaterThanOrEqual(32);
      } else {
        expect(jwks.keys[0].d).toBeUndefined();
        expect(JSON.stringify(jwks)).not.toMatch(/"(d|p|q|dp|dq|qi)":/);
      }
      // Mint with the private file (kid from the JWK), verify with the public JWKS.
      const signing = await loadSigningKey(config(), {}, undefined, alg === 'HS256' ? { secretFile: g.privateFile } : { keyFile: g.privateFile });
      const verify = await loadVerifyKeys(config(), {}, undefined, { jwksFile: g.jwksFile });
      const r = await checkToken(await mintAccessToken({ role: 'authenticated' }, signing), verify, opts);
      expect(r.ok).toBe(true);
      // PostgREST would also take the plain secret file as jwt-secret.
      if (alg === 'HS256') expect((await checkToken(await mintAccessToken({ role: 'a' }, signing), verifyKeysFromBytes(readFileSync(g.privateFile), 's'), opts)).ok).toBe(true);
    });
  }

  it('refuses to overwrite without --force, and overwrites with it', async () => {
    const d = dir();
    const first = await generateKeys('ES256', join(d, 'k'));
    const before = readFileSync(first.privateFile, 'utf8');
    await expect(generateKeys('ES256', join(d, 'k'))).rejects.toMatchObject({ code: 'usage' });
    expect(readFileSync(first.privateFile, 'utf8')).toBe(before);
    const second = await generateKeys('ES256', join(d, 'k'), { force: true });
    expect(readFileSync(second.privateFile, 'utf8')).not.toBe(before);
    expect(statSync(second.privateFile).mode & 0o777).toBe(0o600);
  });
});

describe('jwt cookie', () => {
  const base = config().cookie;
  const now = 1_767_225_600;

  it("prints Supabase's cookie with the configured attributes and Max-Age = remaining life", () => {
    const c = buildSetCookie('a.b.c', now + 3600, { ...base, project: 'purelogic', domain: '.purelogic.studio' }, now + 600);
    expect(c.header).toBe('Set-Cookie: sb-purelogic-auth-token=a.b.c; Domain=.purelogic.studio; Path=/; Max-Age=3000; Secure; HttpOnly; SameSite=Lax');
    expect(c.maxAge).toBe(3000);
  });

  it('refuses unsafe settings, each with its reason', () => {
    expect(cookieProblems({ ...base, sameSite: 'None', secure: false }).join()).toMatch(/SameSite.*Secure/);
    expect(cookieProblems({ ...base, httpOnly: false }).join()).toMatch(/httpOnly/);
    for (const d of ['.co.uk', 'co.uk', '.github.io', 'studio', '.com']) expect(cookieProblems({ ...base, domain: d }).join(), d).toMatch(/public suffix/);
    for (const d of ['.purelogic.studio', 'app.example.co.uk', 'me.github.io', '127.0.0.1']) expect(cookieProblems({ ...base, domain: d }), d).toEqual([]);
    expect(() => buildSetCookie('a.b.c', now + 60, { ...base, httpOnly: false }, now)).toThrow(/unsafe cookie/);
    expect(() => buildSetCookie('a.b.c', now - 1, base, now)).toThrow(/expired/);
  });
});

describe('flag parsing', () => {
  it('durations and --claim values', () => {
    expect(parseDuration('3600')).toBe(3600);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('7d')).toBe(604800);
    for (const bad of ['0', '-5', '1w', 'soon', '']) expect(() => parseDuration(bad)).toThrow(/--exp/);
    expect(parseClaimAssignment('tier=gold')).toEqual(['tier', 'gold']);
    expect(parseClaimAssignment('n=5')).toEqual(['n', 5]);
    expect(parseClaimAssignment('o={"a":[1]}')).toEqual(['o', { a: [1] }]);
    expect(parseClaimAssignment('eq=a=b')).toEqual(['eq', 'a=b']);
    expect(() => parseClaimAssignment('=x')).toThrow(/key=value/);
  });
});
