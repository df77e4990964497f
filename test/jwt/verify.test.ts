/**
 * Token decisions, checked against what PostgREST v16 answers (its
 * test/spec/Feature/Query/ErrorSpec.hs and AuthSpec.hs give the messages), and
 * against jose for the signatures. Pure: no database.
 */
import { describe, expect, it } from 'vitest';
import { CompactSign, exportJWK, generateKeyPair, jwtVerify, importJWK } from 'jose';
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { signingKeyFromBytes, verifyKeysFromBytes, type SigningKey, type VerifyKey } from '../../cli/core/jwt/keys.js';
import { mint, mintAccessToken } from '../../cli/core/jwt/mint.js';
import { checkToken, verifyToken, MAX_TOKEN_BYTES, type VerifyOptions } from '../../cli/core/jwt/verify.js';
import { buildAccessClaims } from '../../cli/core/jwt/claims.js';
import { RowguardError } from '../../cli/core/errors.js';
import { parseConfig } from '../../cli/core/config.js';
import { tmpdir } from 'node:os';

const SECRET = 'verify-test-secret-0123456789abcdefghij';
const NOW = 1_767_225_600; // 2026-01-01T00:00:00Z
const opts: VerifyOptions = { now: NOW, anonRole: 'anon', roleClaimKey: '$.role', audience: null };
const hsSign = signingKeyFromBytes(Buffer.from(SECRET), 'test');
const hsKeys = verifyKeysFromBytes(Buffer.from(SECRET), 'test');
const enc = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

function claimsFor(now = NOW) {
  return buildAccessClaims(
    { id: '8d0b1c7e-0000-4000-8000-000000000001', email: 'ann@example.test', role: 'authenticated', raw_app_meta_data: { provider: 'email', role: 'editor' } },
    { issuer: 'http://localhost:9999/auth/v1', expiresIn: 3600, sessionId: '5c9a9d1e-0000-4000-8000-00000000000a' },
    now,
  );
}

/** A token HS256-signed over exactly these header and payload bytes (for malformed cases jose would refuse to build). */
function rawHs(header: unknown, payload: unknown, secret = SECRET): string {
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

async function rejection(token: string, keys: readonly VerifyKey[] = hsKeys, o: Partial<VerifyOptions> = {}) {
  const r = await checkToken(token, keys, { ...opts, ...o });
  if (r.ok) throw new Error(`expected a rejection, got role ${r.role}`);
  return r.rejection;
}

async function asymmetric(alg: 'RS256' | 'ES256' | 'EdDSA', kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const priv = { ...(await exportJWK(privateKey)), kid, alg };
  const pub = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { signing: signingKeyFromBytes(Buffer.from(JSON.stringify(priv)), 'test'), jwks: { keys: [pub] }, pub };
}

describe('mint, then verify with jose and with jwt verify, for every algorithm', () => {
  it('HS256 with a plain secret: GoTrue header, no kid', async () => {
    const claims = claimsFor(Math.floor(Date.now() / 1000));
    const m = await mint(claims, hsSign);
    expect(m.header).toEqual({ alg: 'HS256', typ: 'JWT' });
    const j = await jwtVerify(m.token, new TextEncoder().encode(SECRET), { algorithms: ['HS256'] });
    expect(j.payload).toEqual(claims);
    expect(j.protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
    const v = await verifyToken(m.token, hsKeys, { ...opts, now: claims.iat });
    expect(v.role).toBe('authenticated');
    expect(v.claims).toEqual(claims);
  });

  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    it(`${alg} with a private JWK and its kid`, async () => {
      const k = await asymmetric(alg, `kid-${alg}`);
      const claims = claimsFor();
      const m = await mint(claims, k.signing);
      expect(m.header).toEqual({ alg, typ: 'JWT', kid: `kid-${alg}` });
      const j = await jwtVerify(m.token, await importJWK(k.pub, alg), { algorithms: [alg], currentDate: new Date(NOW * 1000) });
      expect(j.payload).toEqual(claims);
      const v = await verifyToken(m.token, verifyKeysFromBytes(Buffer.from(JSON.stringify(k.jwks)), 'jwks'), opts);
      expect(v).toMatchObject({ role: 'authenticated', alg, kid: `kid-${alg}` });
      expect(v.claims).toEqual(claims);
    });
  }

  it('ES256 from a PEM private key verifies against the public PEM', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signing = signingKeyFromBytes(Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), 'pem', 'pem-kid');
    expect(signing.alg).toBe('ES256');
    const token = await mintAccessToken(claimsFor(), signing);
    const keys = verifyKeysFromBytes(Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string), 'pem', 'pem-kid');
    expect((await verifyToken(token, keys, opts)).role).toBe('authenticated');
  });

  it('claims are GoTrue\'s, in GoTrue\'s order, with "" for missing email and phone', () => {
    const c = buildAccessClaims({ id: 'u1' }, { issuer: 'iss', expiresIn: 60, sessionId: 's1' }, 1000.7);
    expect(Object.keys(c)).toEqual(['iss', 'sub', 'aud', 'exp', 'iat', 'email', 'phone', 'app_metadata', 'user_metadata', 'role', 'aal', 'amr', 'session_id', 'is_anonymous']);
    expect(c).toEqual({
      iss: 'iss', sub: 'u1', aud: 'authenticated', exp: 1060, iat: 1000, email: '', phone: '', app_metadata: {}, user_metadata: {},
      role: 'authenticated', aal: 'aal1', amr: [{ method: 'password', timestamp: 1000 }], session_id: 's1', is_anonymous: false,
    });
  });
});

describe('rejections, each with PostgREST\'s code and message', () => {
  const token = (payload: Record<string, unknown>) => mintAccessToken(payload, hsSign);

  it('expired beyond the 30 s skew: PGRST303 "JWT expired"; within it: accepted', async () => {
    expect(await rejection(await token({ role: 'authenticated', exp: NOW - 31 }))).toMatchObject({ code: 'PGRST303', message: 'JWT expired', httpStatus: 401, reason: 'expired' });
    expect((await checkToken(await token({ role: 'authenticated', exp: NOW - 30 }), hsKeys, opts)).ok).toBe(true);
  });

  it('not yet valid: PGRST303 "JWT not yet valid"', async () => {
    expect(await rejection(await token({ nbf: NOW + 31 }))).toMatchObject({ code: 'PGRST303', message: 'JWT not yet valid' });
    expect((await checkToken(await token({ nbf: NOW + 30 }), hsKeys, opts)).ok).toBe(true);
  });

  it('issued in the future: PGRST303 "JWT issued at future"', async () => {
    expect(await rejection(await token({ iat: NOW + 31 }))).toMatchObject({ code: 'PGRST303', message: 'JWT issued at future' });
  });

  it('time claims that are not numbers, and a fractional exp read as 0 (aeson toBoundedInteger)', async () => {
    expect(await rejection(await token({ exp: 'soon' }))).toMatchObject({ code: 'PGRST303', message: "The JWT 'exp' claim must be a number" });
    expect(await rejection(await token({ nbf: true }))).toMatchObject({ message: "The JWT 'nbf' claim must be a number" });
    expect(await rejection(await token({ iat: {} }))).toMatchObject({ message: "The JWT 'iat' claim must be a number" });
    expect(await rejection(await token({ exp: NOW + 3600.5 }))).toMatchObject({ message: 'JWT expired' });
    expect((await checkToken(await token({ exp: null }), hsKeys, opts)).ok).toBe(true);
  });

  it('tampered payload: PGRST301, none of the keys verifies it', async () => {
    const good = await token({ role: 'authenticated', sub: 'u1' });
    const [h, , s] = good.split('.');
    expect(await rejection(`${h}.${enc({ role: 'service_role', sub: 'u1' })}.${s}`)).toMatchObject({
      code: 'PGRST301', message: 'No suitable key or wrong key type', details: 'None of the keys was able to decode the JWT', reason: 'bad_signature',
    });
  });

  it('tampered signature: PGRST301', async () => {
    const good = await token({ role: 'authenticated' });
    const [h, p, s] = good.split('.') as [string, string, string];
    const i = 10;
    const flipped = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    expect(await rejection(`${h}.${p}.${flipped}`)).toMatchObject({ code: 'PGRST301', reason: 'bad_signature' });
  });

  it('signed with another secret: PGRST301 (ErrorSpec "error on jwt encoded with wrong secret")', async () => {
    const other = signingKeyFromBytes(Buffer.from('another-secret-that-is-long-enough-0123'), 'x');
    expect(await rejection(await mintAccessToken({ role: 'authenticated' }, other))).toMatchObject({ code: 'PGRST301', details: 'None of the keys was able to decode the JWT' });
  });

  it("alg none: PGRST301 \"Wrong or unsupported encoding algorithm\"", async () => {
    const none = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ role: 'service_role' })}.`;
    expect(await rejection(none)).toMatchObject({ code: 'PGRST301', message: 'Wrong or unsupported encoding algorithm', details: "JWT is unsecured but expected 'alg' was not 'none'" });
    // PostgREST's own fixture from ErrorSpec.hs:
    expect(await rejection('eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.e30.yOBhlOIqn56T-4NvyEXCjfi3UmyQZ-BzXtePMO2NgRI')).toMatchObject({ reason: 'alg_none' });
  });

  it('algorithm confusion: an HS256 token keyed with the RSA public key is never checked against it', async () => {
    const k = await asymmetric('RS256', 'rsa-1');
    const rsaKeys = verifyKeysFromBytes(Buffer.from(JSON.stringify(k.jwks)), 'jwks');
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    // The classic attack: HMAC with the public key's bytes as the secret.
    const pem = (k.signing.key.type === 'private' ? (await import('node:crypto')).createPublicKey(k.signing.key) : publicKey) as import('node:crypto').KeyObject;
    const pemBytes = pem.export({ type: 'spki', format: 'pem' });
    const forged = await new CompactSign(Buffer.from(JSON.stringify({ role: 'service_role' }))).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' }).sign(new Uint8Array(Buffer.from(pemBytes)));
    expect(await rejection(forged, rsaKeys)).toMatchObject({ code: 'PGRST301', reason: 'no_suitable_key', details: 'No suitable key was found to decode the JWT' });
    const forgedNoKid = await new CompactSign(Buffer.from(JSON.stringify({ role: 'service_role' }))).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(Buffer.from(pemBytes)));
    expect(await rejection(forgedNoKid, rsaKeys)).toMatchObject({ reason: 'no_suitable_key' });
  });

  it('an RS256 token is never checked against an HS secret', async () => {
    const k = await asymmetric('RS256', 'r');
    expect(await rejection(await mintAccessToken({ role: 'x' }, k.signing), hsKeys)).toMatchObject({ reason: 'no_suitable_key' });
  });

  it('kid: must match when present; without one every key is tried', async () => {
    const a = await asymmetric('ES256', 'key-a');
    const b = await asymmetric('ES256', 'key-b');
    const both = verifyKeysFromBytes(Buffer.from(JSON.stringify({ keys: [...a.jwks.keys, ...b.jwks.keys] })), 'jwks');
    const onlyA = verifyKeysFromBytes(Buffer.from(JSON.stringify(a.jwks)), 'jwks');
    expect((await checkToken(await mintAccessToken({ role: 'authenticated' }, b.signing), both, opts)).ok).toBe(true);
    expect(await rejection(await mintAccessToken({ role: 'authenticated' }, b.signing), onlyA)).toMatchObject({ code: 'PGRST301', reason: 'no_suitable_key' });
    const bNoKid: SigningKey = { ...b.signing, kid: undefined };
    expect((await checkToken(await mintAccessToken({ role: 'authenticated' }, bNoKid), both, opts)).ok).toBe(true);
    // A kid the set does not have, on a token B really signed:
    expect(await rejection(await mintAccessToken({ role: 'authenticated' }, { ...b.signing, kid: 'key-z' }), both)).toMatchObject({ reason: 'no_suitable_key' });
  });

  it("a plain secret is PostgREST's HS256-only key without kid", async () => {
    expect(await rejection(await mintAccessToken({ role: 'authenticated' }, { ...hsSign, kid: 'k1' }))).toMatchObject({ reason: 'no_suitable_key' });
    expect(await rejection(await mintAccessToken({ role: 'authenticated' }, { ...hsSign, alg: 'HS512' }))).toMatchObject({ reason: 'no_suitable_key' });
    // An oct JWK without alg takes HS384/HS512 too, and a kid when it has that kid.
    const oct = { kty: 'oct', k: Buffer.from(SECRET).toString('base64url'), kid: 'k1' };
    const octKeys = verifyKeysFromBytes(Buffer.from(JSON.stringify({ keys: [oct] })), 'jwks');
    expect((await checkToken(await mintAccessToken({ role: 'a' }, { ...hsSign, alg: 'HS512', kid: 'k1' }), octKeys, opts)).ok).toBe(true);
  });

  it('audience: checked only when configured; string, or an array containing it; missing, null or [] pass', async () => {
    const aud = { audience: 'authenticated' };
    expect(await rejection(await token({ aud: 'other' }), hsKeys, aud)).toMatchObject({ code: 'PGRST303', message: 'JWT not in audience', reason: 'wrong_audience' });
    expect(await rejection(await token({ aud: ['a', 'b'] }), hsKeys, aud)).toMatchObject({ reason: 'wrong_audience' });
    for (const ok of ['authenticated', ['x', 'authenticated'], [], null, undefined]) {
      expect((await checkToken(await token(ok === undefined ? {} : { aud: ok }), hsKeys, { ...opts, ...aud })).ok).toBe(true);
    }
    expect((await checkToken(await token({ aud: 'other' }), hsKeys, opts)).ok).toBe(true);
    // The type is checked even with no audience configured (AuthSpec.hs):
    expect(await rejection(await token({ aud: { invalid: 'value' } }))).toMatchObject({ message: "The JWT 'aud' claim must be a string or an array of strings" });
    expect(await rejection(await token({ aud: [{ invalid: 'value' }, 'test'] }))).toMatchObject({ reason: 'aud_not_string_or_array' });
  });

  it('malformed: bad base64, header not JSON, not three parts, empty', async () => {
    expect(await rejection('quifquirndsjagnrgniur.fonvoienqhhdj.iuqvnvhojah')).toMatchObject({ code: 'PGRST301', message: 'JWT cryptographic operation failed', reason: 'malformed' });
    expect(await rejection(`${enc('not json')}.${enc({})}.AAAA`)).toMatchObject({ reason: 'malformed' });
    expect(await rejection(`${enc({ alg: 'HS256' })}.${enc({})}!.AAAA`)).toMatchObject({ reason: 'malformed' });
    expect(await rejection(`${enc({ alg: 'HS256' })}=.${enc({})}.AAAA`)).toMatchObject({ reason: 'malformed' });
    expect(await rejection(`${enc({ alg: 'PS256' })}.${enc({})}.AAAA`)).toMatchObject({ reason: 'malformed' });
    expect(await rejection(`${enc({ alg: 'HS256', kid: 7 })}.${enc({})}.AAAA`)).toMatchObject({ reason: 'malformed' });
    expect(await rejection('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.bm90IGFuIG9iamVjdA')).toMatchObject({ code: 'PGRST301', message: 'Expected 3 parts in JWT; got 2' });
    expect(await rejection('a.b.c.d')).toMatchObject({ message: 'Expected 3 parts in JWT; got 4' });
    expect(await rejection('')).toMatchObject({ code: 'PGRST301', message: 'Empty JWT is sent in Authorization header', reason: 'empty' });
  });

  it('token shapes: a JWE (5 parts), a trailing dot, empty parts, padding, blank space, a 3-part token with enc, a payload not UTF-8', async () => {
    const good = await mintAccessToken({ role: 'authenticated' }, hsSign);
    expect(await rejection(`${enc({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`)).toMatchObject({ code: 'PGRST301', message: 'Expected 3 parts in JWT; got 5' });
    expect(await rejection(`${good}.`)).toMatchObject({ message: 'Expected 3 parts in JWT; got 4' });
    expect(await rejection('..')).toMatchObject({ code: 'PGRST301', message: 'JWT cryptographic operation failed' });
    expect(await rejection(`${good}=`)).toMatchObject({ reason: 'malformed' });
    expect(await rejection(` ${good}`)).toMatchObject({ reason: 'malformed' });
    expect(await rejection(`${good} `)).toMatchObject({ reason: 'malformed' });
    expect(await rejection(rawHs({ alg: 'HS256', enc: 'A256GCM' }, { role: 'authenticated' }))).toMatchObject({ reason: 'malformed' });
    const input = `${enc({ alg: 'HS256' })}.${Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url')}`;
    expect(await rejection(`${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`)).toMatchObject({ code: 'PGRST303', message: 'Parsing claims failed' });
  });

  it('a correctly signed payload that is not a JSON object: PGRST303 "Parsing claims failed"', async () => {
    expect(await rejection(rawHs({ alg: 'HS256', typ: 'JWT' }, 'not an object'))).toMatchObject({ code: 'PGRST303', message: 'Parsing claims failed' });
    expect(await rejection(rawHs({ alg: 'HS256' }, [1, 2]))).toMatchObject({ code: 'PGRST303', reason: 'claims_not_object' });
  });

  it('a 1 MB token is rejected at once (Warp refuses headers over 50 KiB: HTTP 431)', async () => {
    const huge = `${enc({ alg: 'HS256' })}.${'A'.repeat(1024 * 1024)}.${'B'.repeat(43)}`;
    const t0 = performance.now();
    const r = await rejection(huge);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(r).toMatchObject({ code: null, httpStatus: 431, reason: 'too_large' });
    expect((await checkToken(rawHs({ alg: 'HS256' }, { role: 'a', pad: 'x'.repeat(MAX_TOKEN_BYTES / 2) }), hsKeys, opts)).ok).toBe(true);
  });
});

describe("as PostgREST's aeson and jose-jwt read a token, not as JSON.parse or jose would", () => {
  /** An HS256 token over this exact payload text. */
  const rawPayload = (payload: string, header: unknown = { alg: 'HS256', typ: 'JWT' }) => rawHs(header, payload);
  const ok = async (t: string, o: Partial<VerifyOptions> = {}) => {
    const r = await checkToken(t, hsKeys, { ...opts, ...o });
    if (!r.ok) throw new Error(`expected acceptance, got ${r.rejection.code} ${r.rejection.message}`);
    return r;
  };

  it('a repeated key keeps its first value (aeson ≥ 2.2), in the payload and in the header', async () => {
    expect((await ok(rawPayload('{"role":"anon","role":"service_role"}'))).role).toBe('anon');
    expect(await rejection(rawPayload('{"exp":1,"exp":' + (NOW + 60) + '}'))).toMatchObject({ message: 'JWT expired' });
    // {"alg":"HS256","alg":"none"} is an HS256 token to PostgREST (JSON.parse would see alg none).
    const input = `${Buffer.from('{"alg":"HS256","alg":"none"}').toString('base64url')}.${enc({ role: 'authenticated' })}`;
    const t = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    expect((await ok(t)).role).toBe('authenticated');
  });

  it('an unpaired surrogate escape is an error to aeson: PGRST303 in the payload, PGRST301 in the header', async () => {
    expect(await rejection(rawPayload('{"role":"a\\ud800"}'))).toMatchObject({ code: 'PGRST303', message: 'Parsing claims failed' });
    expect(await rejection(rawPayload('{"x":"\\udc00","role":"a"}'))).toMatchObject({ code: 'PGRST303' });
    expect(await rejection(rawPayload('{"x":"\\ud800\\u0041"}'))).toMatchObject({ code: 'PGRST303' });
    expect((await ok(rawPayload('{"role":"\\ud83d\\ude00"}'))).role).toBe('\u{1f600}');
    expect(await rejection(rawPayload('{"role":"a"}', { alg: 'HS256', typ: '\ud800' }))).toMatchObject({ code: 'PGRST301', reason: 'malformed' });
  });

  it('a byte-order mark before the payload JSON is not whitespace: PGRST303 "Parsing claims failed"', async () => {
    expect(await rejection(rawPayload('\ufeff{"role":"authenticated"}'))).toMatchObject({ code: 'PGRST303', message: 'Parsing claims failed' });
    expect((await ok(rawPayload(' \n{"role":"authenticated"}\t'))).role).toBe('authenticated');
  });

  it('time claims convert exactly as Int64 (toBoundedInteger): 2^63-1 is far off, 2^63 and any fraction are 0', async () => {
    expect((await ok(rawPayload('{"exp":9223372036854775807}'))).ok).toBe(true);
    expect(await rejection(rawPayload('{"exp":9223372036854775808}'))).toMatchObject({ message: 'JWT expired' });
    expect(await rejection(rawPayload(`{"exp":${NOW + 3600}.0000000001}`))).toMatchObject({ message: 'JWT expired' });
    expect(await rejection(rawPayload('{"exp":1e400}'))).toMatchObject({ message: 'JWT expired' });
    expect((await ok(rawPayload(`{"exp":${NOW + 3600}.000}`))).ok).toBe(true);
    expect((await ok(rawPayload(`{"exp":${(NOW + 3600) * 10}e-1}`))).ok).toBe(true);
    expect(await rejection(rawPayload('{"nbf":9223372036854775807}'))).toMatchObject({ message: 'JWT not yet valid' });
    expect((await ok(rawPayload('{"nbf":9223372036854775808,"iat":-9223372036854775809}'))).ok).toBe(true);
  });

  it("a written exponent wraps at 64 bits, as aeson reads it into an Int: 2^64 + 2 is 2, 2^64 + 10 is 10", async () => {
    // (NOW + 3600) / 100 with an exponent of 2^64 + 2: PostgREST reads it as NOW + 3600, not far beyond Int64.
    const wrapped = (mantissa: number, plus: number) => `${mantissa}e${(2n ** 64n + BigInt(plus)).toString()}`;
    expect((await ok(rawPayload(`{"exp":${wrapped((NOW + 3600) / 100, 2)}}`))).ok).toBe(true);
    expect(await rejection(rawPayload(`{"nbf":${wrapped(1, 10)}}`))).toMatchObject({ message: 'JWT not yet valid' });
    // 2^64 - 1 wraps to -1: 0.1 is a fraction, so 0.
    expect(await rejection(rawPayload(`{"exp":${wrapped(1, -1)}}`))).toMatchObject({ message: 'JWT expired' });
  });

  it('claims nested as deep as a 50 KiB token allows (~19,000) parse every time, as aeson has no nesting limit; a deep role is written out whole', async () => {
    const deep = (n: number, inner = '') => `${'['.repeat(n)}${inner}${']'.repeat(n)}`;
    // The recursive parser ran out of stack somewhere between 4,000 and 10,000 levels, at a depth that moved with the JIT.
    for (const n of [3000, 5000, 8000, 12000, 19000, 5000, 19000]) {
      const t = rawPayload(`{"role":"authenticated","a":${deep(n)}}`);
      expect(t.length, String(n)).toBeLessThanOrEqual(MAX_TOKEN_BYTES);
      expect((await ok(t)).role, String(n)).toBe('authenticated');
    }
    expect((await ok(rawPayload(`{"role":${deep(15000)}}`))).role).toBe(deep(15000));
    expect((await ok(rawPayload(`{"a":${deep(15000, '"r"')}}`), { roleClaimKey: '$..*' })).role).toBe(deep(15000, '"r"'));
    expect((await ok(rawPayload(`{"a":${deep(15000, '"r"')}}`), { roleClaimKey: '$.a..[0]' })).role).toBe(deep(14999, '"r"'));
  });

  it('the 30 s skew, exactly at its edges, for exp, nbf and iat', async () => {
    const t = (p: Record<string, number>) => mintAccessToken(p, hsSign);
    expect((await ok(await t({ exp: NOW - 30, nbf: NOW + 30, iat: NOW + 30 }), { now: NOW + 0.999 })).ok).toBe(true);
    expect(await rejection(await t({ exp: NOW - 31 }))).toMatchObject({ message: 'JWT expired' });
    expect(await rejection(await t({ nbf: NOW + 31 }))).toMatchObject({ message: 'JWT not yet valid' });
    expect(await rejection(await t({ iat: NOW + 31 }))).toMatchObject({ message: 'JWT issued at future' });
    // exp is checked first, then nbf, then iat, then aud.
    expect(await rejection(await t({ exp: NOW - 31, nbf: NOW + 31, iat: NOW + 31 }))).toMatchObject({ message: 'JWT expired' });
    expect(await rejection(await t({ nbf: NOW + 31, iat: NOW + 31 }))).toMatchObject({ message: 'JWT not yet valid' });
  });

  it('header fields other than alg, typ, cty and kid are ignored: crit, b64:false, jku, x5c of any shape', async () => {
    for (const extra of [{ crit: ['exp'] }, { crit: 'x' }, { crit: ['b64'], b64: false }, { jku: 5 }, { x5c: 'nope' }, { jwk: [] }, { typ: 'at+jwt' }]) {
      expect((await ok(rawHs({ alg: 'HS256', ...extra }, { role: 'authenticated' }))).role, JSON.stringify(extra)).toBe('authenticated');
    }
    expect(await rejection(rawHs({ alg: 'HS256', typ: 5 }, { role: 'authenticated' }))).toMatchObject({ reason: 'malformed' });
    expect(await rejection(rawHs({ alg: 'HS256', cty: ['x'] }, { role: 'authenticated' }))).toMatchObject({ reason: 'malformed' });
  });

  it('an ES signature is split in half into r and s, whatever its length, and checked on the key\'s own curve', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwks = verifyKeysFromBytes(Buffer.from(JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k' }] })), 'jwks');
    const input = `${enc({ alg: 'ES256', kid: 'k' })}.${enc({ role: 'authenticated' })}`;
    const p1363 = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    expect((await checkToken(`${input}.${p1363.toString('base64url')}`, jwks, opts)).ok).toBe(true);
    // r and s each given a leading zero byte: 66 bytes, the same two integers to jose-jwt.
    const padded = Buffer.concat([Buffer.from([0]), p1363.subarray(0, 32), Buffer.from([0]), p1363.subarray(32)]);
    expect((await checkToken(`${input}.${padded.toString('base64url')}`, jwks, opts)).ok).toBe(true);
    expect(await rejection(`${input}.${p1363.subarray(0, 63).toString('base64url')}`, jwks)).toMatchObject({ reason: 'bad_signature' });
    // ES256 names the hash; the curve is the key's: a P-384 key verifies an ES256 (SHA-256) signature.
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const keys384 = verifyKeysFromBytes(Buffer.from(JSON.stringify({ keys: [{ ...p384.publicKey.export({ format: 'jwk' }), kid: 'k' }] })), 'jwks');
    const sig384 = sign('sha256', Buffer.from(input), { key: p384.privateKey, dsaEncoding: 'ieee-p1363' });
    expect((await checkToken(`${input}.${sig384.toString('base64url')}`, keys384, opts)).ok).toBe(true);
  });
});

describe("verification keys read as PostgREST reads jwt-secret (Config.parseSecret, jose-jwt's Jwk)", () => {
  const load = (material: unknown) => verifyKeysFromBytes(Buffer.from(typeof material === 'string' ? material : JSON.stringify(material)), 'keys.json');
  const refused = (material: unknown) => {
    try {
      load(material);
    } catch (err) {
      expect(err).toBeInstanceOf(RowguardError);
      return (err as RowguardError).message;
    }
    throw new Error('expected the key material to be refused');
  };
  const oct = { kty: 'oct', k: Buffer.from(SECRET).toString('base64url') };

  it('one malformed key fails the whole JWKS (PostgREST would take the file as an HS256 secret): refused, naming the key', async () => {
    const es = await asymmetric('ES256', 'es');
    const good = { keys: [es.pub, oct] };
    expect((await checkToken(await mintAccessToken({ role: 'r' }, es.signing), load(good), opts)).ok).toBe(true);
    expect(refused({ keys: [es.pub, { ...oct, use: 'signature' }] })).toMatch(/keys\[1\]: "use" must be "sig" or "enc".*HS256 secret/);
    expect(refused({ keys: [{ ...oct, k: Buffer.from(SECRET + '!').toString('base64') }] })).toMatch(/keys\[0\]: "k" is not unpadded base64url/);
    expect(refused({ keys: [es.pub, { ...es.pub, crv: 'secp256k1' }] })).toMatch(/keys\[1\]: "crv" must be P-256/);
    expect(refused({ keys: [{ kty: 'oct' }] })).toMatch(/keys\[0\]: a symmetric key needs "k"/);
    expect(refused({ keys: [{ ...es.pub, kid: 7 }] })).toMatch(/"kid" is not a string/);
    expect(refused({ kty: 'RSA', e: 'AQAB' })).toMatch(/not a JWK PostgREST can read \(an RSA key needs "n" and "e"\)/);
  });

  it("a bare array of JWKs (GOTRUE_JWT_KEYS' format) is no JWKS to PostgREST: refused", async () => {
    const es = await asymmetric('ES256', 'es');
    expect(refused([es.pub])).toMatch(/bare JSON array.*HS256 secret/);
  });

  it('keys of an unknown kty or alg load but never verify; key_ops is not read; oct and RSA keys live side by side', async () => {
    const rs = await asymmetric('RS256', 'rs');
    const keys = load({ keys: [{ kty: 'foo', kid: 'x' }, { ...oct, alg: 'PS256' }, { ...rs.pub, key_ops: ['encrypt'] }, { ...oct, kid: 'hs' }] });
    expect((await checkToken(await mintAccessToken({ role: 'r' }, rs.signing), keys, opts)).ok).toBe(true);
    expect((await checkToken(await mintAccessToken({ role: 'r' }, { ...hsSign, kid: 'hs' }), keys, opts)).ok).toBe(true);
    expect(refused({ keys: [{ kty: 'foo' }] })).toMatch(/no usable key/);
  });

  it('an Ed25519 key is always "sig" and "EdDSA" to jose-jwt, whatever its use and alg say; Ed448 keys verify too', async () => {
    const ed = await asymmetric('EdDSA', 'ed');
    const token = await mintAccessToken({ role: 'authenticated' }, ed.signing);
    expect((await checkToken(token, load({ keys: [{ ...ed.pub, use: 'enc', alg: 'ES256' }] }), opts)).ok).toBe(true);
    const ed448 = generateKeyPairSync('ed448');
    const jwks = { keys: [{ ...ed448.publicKey.export({ format: 'jwk' }), kid: 'e448' }] };
    const input = `${enc({ alg: 'EdDSA', kid: 'e448' })}.${enc({ role: 'authenticated' })}`;
    const t448 = `${input}.${sign(null, Buffer.from(input), ed448.privateKey).toString('base64url')}`;
    expect((await checkToken(t448, load(jwks), opts)).ok).toBe(true);
  });
});

describe('the role a request runs as', () => {
  it('the role claim, else the anon role, else PGRST302', async () => {
    expect((await verifyToken(await mintAccessToken({ role: 'authenticated' }, hsSign), hsKeys, opts)).role).toBe('authenticated');
    expect((await verifyToken(await mintAccessToken({ sub: 'x' }, hsSign), hsKeys, opts)).role).toBe('anon');
    expect(await rejection(await mintAccessToken({ sub: 'x' }, hsSign), hsKeys, { anonRole: null })).toMatchObject({ code: 'PGRST302', message: 'Anonymous access is disabled', httpStatus: 401 });
  });

  it('follows the configured JSONPath; a non-string value is JSON-encoded as PostgREST does', async () => {
    const t = await mintAccessToken(claimsFor(), hsSign);
    expect((await verifyToken(t, hsKeys, { ...opts, roleClaimKey: '$.app_metadata.role' })).role).toBe('editor');
    expect((await verifyToken(t, hsKeys, { ...opts, roleClaimKey: "$['app_metadata']['missing']" })).role).toBe('anon');
    expect((await verifyToken(await mintAccessToken({ roles: ['r0', 'r1'] }, hsSign), hsKeys, { ...opts, roleClaimKey: '$.roles[1]' })).role).toBe('r1');
    expect((await verifyToken(await mintAccessToken({ role: 5 }, hsSign), hsKeys, opts)).role).toBe('5');
    expect((await verifyToken(await mintAccessToken({ role: { b: [1, null], a: true } }, hsSign), hsKeys, opts)).role).toBe('{"a":true,"b":[1,null]}');
  });

  it("jwt-role-claim-key: RFC 9535 as aeson-jsonpath reads it (blank space, quoted names with escapes, negative index, slices, wildcards, descendants)", async () => {
    const claims = {
      role: 'authenticated',
      'https://x/claims': { role: 'editor', 'it\'s': 'quoted' },
      roles: ['r0', 'r1', 'r2'],
      app_metadata: { b: { role: 'deep-b' }, a: { role: 'deep-a' } },
      'app-role': 'dashed',
      'caf\u00e9': 'unicode',
    };
    const t = await mintAccessToken(claims, hsSign);
    const role = async (roleClaimKey: string) => (await verifyToken(t, hsKeys, { ...opts, roleClaimKey })).role;
    expect(await role('$."https://x/claims".role').catch(() => 'refused')).toBe('refused'); // old quoting is not RFC 9535, nor the old grammar after $
    expect(await role("$['https://x/claims'].role")).toBe('editor');
    expect(await role('$["https://x/claims"][ "it\'s" ]')).toBe('quoted');
    expect(await role("$['https://x/claims']['it\\'s']")).toBe('quoted');
    expect(await role("$['caf\\u00e9']")).toBe('unicode');
    expect(await role('$.café')).toBe('unicode');
    expect(await role('$ .roles [ -1 ]')).toBe('r2');
    expect(await role('$.roles[1:]')).toBe('r1');
    expect(await role('$.roles[::-1]')).toBe('r2');
    expect(await role('$.roles[5, 0]')).toBe('r0');
    // Members in key order (aeson's KeyMap), whatever order the token has them in.
    expect(await role('$.app_metadata.*.role')).toBe('deep-a');
    expect(await role('$..role')).toBe('authenticated');
    expect(await role('$.app_metadata..role')).toBe('deep-a');
    expect(await role('$.roles[7]')).toBe('anon');
    expect(await role('$.nested.missing[0]')).toBe('anon');
    // "-" is not a member-name-shorthand character: PostgREST refuses such a path at start-up.
    for (const bad of ['$.app-role', '$.roles[01]', '$.roles[-0]', '$.role ', 'role', '$.roles[1:2: ]', "$['a\\\"']", '$[?@.x == 1]']) {
      const err = await verifyToken(t, hsKeys, { ...opts, roleClaimKey: bad }).catch((e: unknown) => e);
      expect(err, bad).toBeInstanceOf(RowguardError);
      expect((err as RowguardError).code, bad).toBe('config');
    }
    expect(await role("$['app-role']")).toBe('dashed');
  });

  it('jwt-role-claim-key: the pre-v16 syntax (.role, ."quoted", [0], a last [?(@ == "x")]), accepted again since PostgREST 16.2', async () => {
    const t = await mintAccessToken({ role: 'authenticated', 'https://x/claims': { role: 'editor' }, roles: ['a-1', 'b-2', 'anon'], n: null }, hsSign);
    const role = async (roleClaimKey: string) => (await verifyToken(t, hsKeys, { ...opts, roleClaimKey })).role;
    expect(await role('.role')).toBe('authenticated');
    expect(await role('."https://x/claims".role')).toBe('editor');
    expect(await role('.roles[1]')).toBe('b-2');
    expect(await role('.roles[?(@ ^== "b")]')).toBe('b-2');
    expect(await role('.roles[?(@ ==^ "1")]')).toBe('a-1');
    expect(await role('.roles[?(@ *== "non")]')).toBe('anon');
    expect(await role('.roles[?(@ == "zzz")]')).toBe('anon');
    expect(await role('.n')).toBe('null');
  });

  it('the config takes the paths PostgREST takes for api.roleClaimKey, and refuses the others', () => {
    for (const ok of ['.role', '$.roles[0]', "$['https://x/claims'].role", '$..role']) expect(parseConfig({ api: { roleClaimKey: ok } }, null, tmpdir()).api.roleClaimKey).toBe(ok);
    for (const bad of ['$.app-role', 'role', '$.role ']) expect(() => parseConfig({ api: { roleClaimKey: bad } }, null, tmpdir()), bad).toThrow(/roleClaimKey/);
  });

  it('an empty jwt-aud is no jwt-aud (PostgREST drops an empty value)', async () => {
    expect((await checkToken(await mintAccessToken({ aud: 'x' }, hsSign), hsKeys, { ...opts, audience: '' })).ok).toBe(true);
  });

  it("carries PostgREST's error body and WWW-Authenticate header: invalid_token for PGRST301/303, a bare Bearer for PGRST302", async () => {
    const expired = await verifyToken(await mintAccessToken({ exp: NOW - 60 }, hsSign), hsKeys, opts).catch((e: RowguardError) => e);
    expect((expired as RowguardError).meta).toMatchObject({
      httpStatus: 401,
      wwwAuthenticate: 'Bearer error="invalid_token", error_description="JWT expired"',
      body: { code: 'PGRST303', details: null, hint: null, message: 'JWT expired' },
    });
    const noKey = await verifyToken(await mintAccessToken({}, { ...hsSign, kid: 'nope' }), hsKeys, opts).catch((e: RowguardError) => e);
    expect((noKey as RowguardError).meta).toMatchObject({
      wwwAuthenticate: 'Bearer error="invalid_token", error_description="No suitable key or wrong key type"',
      body: { code: 'PGRST301', details: 'No suitable key was found to decode the JWT', hint: null, message: 'No suitable key or wrong key type' },
    });
    const noAnon = await verifyToken(await mintAccessToken({}, hsSign), hsKeys, { ...opts, anonRole: null }).catch((e: RowguardError) => e);
    expect((noAnon as RowguardError).meta).toMatchObject({ httpStatus: 401, wwwAuthenticate: 'Bearer', body: { code: 'PGRST302', message: 'Anonymous access is disabled' } });
  });

  it('the error for a rejection never contains the token', async () => {
    const t = await mintAccessToken({ role: 'authenticated', exp: NOW - 3600 }, hsSign);
    const err = await verifyToken(t, hsKeys, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RowguardError);
    const text = JSON.stringify((err as RowguardError).toJSON()) + (err as Error).message;
    for (const part of t.split('.')) expect(text).not.toContain(part);
  });
});

describe('fuzz: random and mutated tokens', () => {
  // Deterministic PRNG so a failure can be replayed.
  let seed = 0x9e3779b9;
  const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/!"{} \u00e9\u0000';

  function mutate(t: string): string {
    const chars = [...t];
    const n = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < n; k++) {
      const i = Math.floor(rnd() * (chars.length + 1));
      switch (Math.floor(rnd() * 5)) {
        case 0: chars[i] = pick([...ALPHA]); break;
        case 1: chars.splice(i, 1); break;
        case 2: chars.splice(i, 0, pick([...ALPHA])); break;
        case 3: chars.splice(i, Math.floor(rnd() * 20)); break;
        default: chars.splice(i, 0, '.');
      }
    }
    return chars.join('');
  }

  function randomToken(): string {
    const headers = [{ alg: 'HS256' }, { alg: 'none' }, { alg: 'RS256' }, { alg: 'HS256', kid: 'x' }, { alg: 'HS512' }, { alg: 'ES256', crit: ['b64'] }, { alg: 'HS256', enc: 'A128GCM' }, 'null', '[]', { alg: null }];
    const payloads = [{}, { role: 'service_role' }, { exp: 'x' }, { aud: 5 }, [], 'x', 1, { role: { nested: true } }];
    const parts = [enc(pick(headers)), enc(pick(payloads)), randomBytes(Math.floor(rnd() * 80)).toString('base64url')];
    if (rnd() < 0.2) return randomBytes(Math.floor(rnd() * 300)).toString(pick(['base64', 'base64url', 'hex', 'latin1'] as const));
    return parts.join('.');
  }

  /** Two tokens are the same request if their three parts decode to the same bytes. */
  const sameBytes = (a: string, b: string) => {
    const pa = a.split('.'), pb = b.split('.');
    return pa.length === 3 && pb.length === 3 && pa.every((p, i) => /^[A-Za-z0-9_-]*$/.test(p) && Buffer.from(p, 'base64url').equals(Buffer.from(pb[i]!, 'base64url')));
  };

  it('rejects thousands of them without throwing, in bounded time', async () => {
    const valid = await mintAccessToken(claimsFor(), hsSign);
    expect((await checkToken(valid, hsKeys, opts)).ok).toBe(true);
    const es = await asymmetric('ES256', 'es');
    const esValid = await mintAccessToken(claimsFor(), es.signing);
    const keys = [...hsKeys, ...verifyKeysFromBytes(Buffer.from(JSON.stringify(es.jwks)), 'jwks')];
    const t0 = performance.now();
    let accepted = 0;
    const N = 4000;
    for (let i = 0; i < N; i++) {
      const base = i % 3 === 0 ? randomToken() : i % 3 === 1 ? valid : esValid;
      const t = i % 3 === 0 ? (rnd() < 0.5 ? mutate(base) : base) : mutate(base);
      const r = await checkToken(t, keys, opts);
      if (r.ok) {
        // Only a mutation that leaves the decoded bytes unchanged (e.g. unused base64
        // bits in the last character) may still verify: it is the same signed token.
        expect(sameBytes(t, valid) || sameBytes(t, esValid), `accepted a changed token (case ${i})`).toBe(true);
        accepted++;
      } else {
        expect(r.rejection.code === null || /^PGRST30[123]$/.test(r.rejection.code)).toBe(true);
      }
    }
    expect(accepted).toBeLessThan(N / 20);
    expect(performance.now() - t0).toBeLessThan(30_000);
  });
});
