/**
 * Decide on a token exactly as PostgREST v16 does (conventions §2;
 * `src/library/PostgREST/Auth/Jwt.hs`, jose-jwt's `Jose.Jwt.decode`,
 * `Error.hs`), so `jwt verify` and `as --token` predict the HTTP answer:
 *
 * 1. Empty token: PGRST301 "Empty JWT is sent in Authorization header".
 * 2. Not three dot-separated parts: PGRST301 "Expected 3 parts in JWT; got n".
 * 3. Parse (jose-jwt `parseJwt`): every part strict unpadded base64url, the
 *    header a JSON object with a known `alg` and, when present, string `typ`,
 *    `cty` and `kid` (jose-jwt's JwsHeader has no other field: `crit`, `b64`,
 *    `jku`, `x5c`… are ignored, whatever they hold). Any failure is jose-jwt's
 *    BadCrypto: PGRST301 "JWT cryptographic operation failed".
 *    `alg: none` is BadAlgorithm: PGRST301 "Wrong or unsupported encoding algorithm".
 *    Header and payload JSON are read as aeson reads them (./json.ts): a
 *    repeated key keeps its first value.
 * 4. Keys (jose-jwt `canDecodeJws`): not `use: enc`; when the token has a
 *    `kid`, only keys with that same kid (a key without kid does not match);
 *    when the key has an `alg`, only that alg; and the key type must fit the
 *    alg family (HS→oct, RS→RSA, ES→EC, EdDSA→OKP), so an HS256 token is never
 *    checked against an RSA public key. No key left: PGRST301 "No suitable key
 *    or wrong key type" ("No suitable key was found to decode the JWT"); no key
 *    verifies: the same message, "None of the keys was able to decode the JWT".
 *    The signature is checked over the token's own first two parts, with the
 *    header's alg, as jose-jwt does (RFC 7797's b64:false changes nothing; an
 *    ES signature is split in half into r and s, whatever its length).
 * 5. The payload must be a JSON object: PGRST303 "Parsing claims failed".
 * 6. exp, nbf, iat (in that order) with 30 s skew, then aud: PGRST303. A time
 *    claim counts as Int64 seconds from its JSON text: a fraction or a value
 *    beyond Int64 is 0 (aeson's toBoundedInteger).
 * 7. Role from the role-claim JSONPath (a non-string value is JSON-encoded,
 *    as PostgREST does), else the anon role, else PGRST302.
 *
 * The token never appears in a rejection. A token larger than Warp's default
 * header limit (50 KiB) never reaches PostgREST: Warp answers 431, and we
 * reject it before decoding anything.
 */
import { createHmac, timingSafeEqual, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { RowguardError } from '../errors.js';
import { encodeAeson, int64OfNumber, parseJsonAeson } from './json.js';
import { evaluateJsonPath, parseJsonPath, type RolePath } from './jsonpath.js';
import { unpaddedBase64url, type VerifyKey } from './keys.js';

/** Warp's settingsMaxTotalHeaderLength default (50 * 1024): all request headers together. */
export const MAX_TOKEN_BYTES = 50 * 1024;
/** PostgREST's allowedSkewSeconds. */
export const CLOCK_SKEW_SECONDS = 30;

/** Algorithms jose-jwt's JwsAlg knows (it has no PS*); anything else fails to parse. */
const JWS_ALGS = new Set(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);

export type RejectReason =
  | 'too_large'
  | 'empty'
  | 'parts'
  | 'malformed'
  | 'alg_none'
  | 'no_suitable_key'
  | 'bad_signature'
  | 'claims_not_object'
  | 'exp_not_number'
  | 'nbf_not_number'
  | 'iat_not_number'
  | 'aud_not_string_or_array'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'wrong_audience'
  | 'anonymous_disabled';

export interface Rejection {
  /** PostgREST's error code; null when the request never reaches PostgREST (431). */
  code: 'PGRST301' | 'PGRST302' | 'PGRST303' | null;
  httpStatus: number;
  /** PostgREST's message, verbatim. */
  message: string;
  /** PostgREST's `details`, when it sends one. */
  details?: string;
  reason: RejectReason;
}

/**
 * The WWW-Authenticate header PostgREST sends with a rejection (Error.hs):
 * `Bearer error="invalid_token", error_description="<message>"` for
 * PGRST301/303, `Bearer` for PGRST302, none for Warp's 431.
 */
export function wwwAuthenticate(r: Rejection): string | null {
  if (r.code === 'PGRST301' || r.code === 'PGRST303') return `Bearer error="invalid_token", error_description=${JSON.stringify(r.message)}`;
  return r.code === 'PGRST302' ? 'Bearer' : null;
}

/** PostgREST's JSON error body for a rejection ({code, details, hint, message}); null for Warp's 431. */
export function errorBody(r: Rejection): { code: string; details: string | null; hint: null; message: string } | null {
  return r.code ? { code: r.code, details: r.details ?? null, hint: null, message: r.message } : null;
}

export interface VerifyOptions {
  /** Seconds since the epoch. */
  now: number;
  /** jwt-aud; null/undefined: any aud passes (only its type is checked). */
  audience?: string | null;
  /** jwt-role-claim-key, default $.role. */
  roleClaimKey?: string;
  /** db-anon-role; null: a token without a role claim is refused (PGRST302). */
  anonRole?: string | null;
}

export interface Verified {
  header: Record<string, unknown>;
  /** The payload exactly as signed (PostgREST writes the role into request.jwt.claims later). */
  claims: Record<string, unknown>;
  /** Each top-level claim as aeson writes it back out, a number as aeson writes its Scientific (integers digit for digit; for request.jwt.claims). */
  members: ReadonlyMap<string, string>;
  role: string;
  alg: string;
  kid?: string;
}

export type VerifyResult = ({ ok: true } & Verified) | { ok: false; rejection: Rejection };

const decodeRejection = (message: string, reason: RejectReason, details?: string): Rejection => ({ code: 'PGRST301', httpStatus: 401, message, reason, ...(details ? { details } : {}) });
const claimsRejection = (message: string, reason: RejectReason): Rejection => ({ code: 'PGRST303', httpStatus: 401, message, reason });

const MALFORMED = () => decodeRejection('JWT cryptographic operation failed', 'malformed');
const NO_SUITABLE_KEY = () => decodeRejection('No suitable key or wrong key type', 'no_suitable_key', 'No suitable key was found to decode the JWT');
const NO_KEY_VERIFIED = () => decodeRejection('No suitable key or wrong key type', 'bad_signature', 'None of the keys was able to decode the JWT');

/** A JSON object as aeson reads it (first of a repeated key wins), with its top-level numbers' text and members' aeson text. */
function parseJsonObject(bytes: Buffer): { object: Record<string, unknown>; numbers: Map<string, string>; members: Map<string, string> } | undefined {
  const p = parseJsonAeson(bytes);
  const v = p?.value;
  return p && v !== null && typeof v === 'object' && !Array.isArray(v) ? { object: v as Record<string, unknown>, numbers: p.topNumbers, members: p.topEncoded } : undefined;
}

const optString = (v: unknown) => v === undefined || v === null || typeof v === 'string';

/** jose-jwt's generic FromJSON JwsHeader {alg, typ, cty, kid}: a known alg, the others strings when present; nothing else is read. */
function headerWellTyped(h: Record<string, unknown>): boolean {
  return typeof h['alg'] === 'string' && JWS_ALGS.has(h['alg']) && ['kid', 'typ', 'cty'].every((k) => optString(h[k]));
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** A DER INTEGER of the unsigned big-endian bytes (os2ip: leading zeros do not matter). */
function derInteger(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v.length === 0 || (v[0]! & 0x80) !== 0) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02]), derLength(v.length), v]);
}
function derLength(n: number): Buffer {
  return n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
}

/**
 * jose-jwt's verifiers (Jose.Internal.Crypto): HMAC compared in constant time,
 * RSASSA-PKCS1-v1_5, ECDSA with r and s the two halves of the signature
 * (`B.splitAt (length sig \`div\` 2)`) and the key's own curve, Ed25519/Ed448.
 */
function signatureVerifies(alg: string, key: KeyObject, data: Buffer, sig: Buffer): boolean {
  const hash = HASH[alg.slice(2)];
  try {
    if (alg.startsWith('HS') && hash) {
      const mac = createHmac(hash, key).update(data).digest();
      return mac.length === sig.length && timingSafeEqual(mac, sig);
    }
    if (alg.startsWith('RS') && hash) return cryptoVerify(hash, data, key, sig);
    if (alg.startsWith('ES') && hash) {
      const half = Math.floor(sig.length / 2);
      const body = Buffer.concat([derInteger(sig.subarray(0, half)), derInteger(sig.subarray(half))]);
      return cryptoVerify(hash, data, { key, dsaEncoding: 'der' }, Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]));
    }
    if (alg === 'EdDSA') return cryptoVerify(null, data, key, sig);
  } catch {
    /* a key that cannot do this (e.g. a malformed point): it does not verify */
  }
  return false;
}

function keyFitsAlg(alg: string, k: VerifyKey): boolean {
  if (alg.startsWith('HS')) return k.kty === 'oct';
  if (alg.startsWith('RS')) return k.kty === 'RSA';
  if (alg.startsWith('ES')) return k.kty === 'EC';
  return alg === 'EdDSA' && k.kty === 'OKP';
}

/** Steps 1–5: the token's bytes and signature. */
async function decodeAndCheckSignature(
  token: string,
  keys: readonly VerifyKey[],
): Promise<{ header: Record<string, unknown>; claims: Record<string, unknown>; members: Map<string, string>; numbers: Map<string, string>; alg: string; kid?: string } | Rejection> {
  if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
    return { code: null, httpStatus: 431, message: `Token larger than ${MAX_TOKEN_BYTES} bytes: PostgREST's web server refuses request headers this large`, reason: 'too_large' };
  }
  if (token === '') return decodeRejection('Empty JWT is sent in Authorization header', 'empty');
  const parts = token.split('.');
  if (parts.length !== 3) return decodeRejection(`Expected 3 parts in JWT; got ${parts.length}`, 'parts');
  const [h64, p64, s64] = parts as [string, string, string];

  const headerBytes = unpaddedBase64url(h64);
  const header = headerBytes && parseJsonObject(headerBytes)?.object;
  if (!header) return MALFORMED();
  const payloadBytes = unpaddedBase64url(p64);
  if (!payloadBytes) return MALFORMED();
  // jose-jwt's FromJSON JwtHeader looks at alg == "none" before anything else.
  if (header['alg'] === 'none') return decodeRejection('Wrong or unsupported encoding algorithm', 'alg_none', "JWT is unsecured but expected 'alg' was not 'none'");
  // A header with "enc" is a JWE, which needs five parts: with three it does not parse.
  if (header['enc'] !== undefined || !headerWellTyped(header)) return MALFORMED();
  const sig = unpaddedBase64url(s64);
  if (!sig) return MALFORMED();

  const alg = header['alg'] as string;
  const kid = typeof header['kid'] === 'string' ? header['kid'] : undefined;
  const candidates = keys.filter(
    (k) => k.key !== null && k.use !== 'enc' && (kid === undefined || k.kid === kid) && (k.alg === undefined || k.alg === alg) && keyFitsAlg(alg, k),
  );
  if (candidates.length === 0) return NO_SUITABLE_KEY();

  // The signing input is the token's own bytes up to the second dot.
  const data = Buffer.from(`${h64}.${p64}`, 'latin1');
  // Every candidate is tried, as jose-jwt does; one that verifies is enough.
  if (!candidates.some((k) => signatureVerifies(alg, k.key as KeyObject, data, sig))) return NO_KEY_VERIFIED();

  const claims = parseJsonObject(payloadBytes);
  if (!claims) return claimsRejection('Parsing claims failed', 'claims_not_object');
  return { header, claims: claims.object, members: claims.members, numbers: claims.numbers, alg, ...(kid !== undefined ? { kid } : {}) };
}

/**
 * Step 6: PostgREST's checkForErrors; the first failing check wins. `numbers`
 * holds the JSON text of top-level number claims (from the token), so time
 * claims convert exactly; claims built in memory convert from their value.
 */
export function checkClaims(claims: Record<string, unknown>, opts: VerifyOptions, numbers?: ReadonlyMap<string, string>): Rejection | undefined {
  const now = BigInt(Math.floor(opts.now));
  const skew = BigInt(CLOCK_SKEW_SECONDS);
  const time = (key: 'exp' | 'nbf' | 'iat', reason: RejectReason, bad: (t: bigint) => boolean, failure: [string, RejectReason]) => {
    const v = claims[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number') return claimsRejection(`The JWT '${key}' claim must be a number`, reason);
    const raw = numbers?.get(key) ?? (Number.isFinite(v) ? (Number.isInteger(v) ? BigInt(v).toString() : String(v)) : '1e400');
    return bad(int64OfNumber(raw)) ? claimsRejection(failure[0], failure[1]) : undefined;
  };
  const exp = time('exp', 'exp_not_number', (t) => now - skew > t, ['JWT expired', 'expired']);
  if (exp) return exp;
  const nbf = time('nbf', 'nbf_not_number', (t) => now + skew < t, ['JWT not yet valid', 'not_yet_valid']);
  if (nbf) return nbf;
  const iat = time('iat', 'iat_not_number', (t) => now + skew < t, ['JWT issued at future', 'issued_in_future']);
  if (iat) return iat;

  const aud = claims['aud'];
  if (aud === undefined || aud === null) return undefined;
  // An empty jwt-aud is no jwt-aud (PostgREST's optStringOrURI: mfilter (/= "")).
  const matches = (a: string) => opts.audience === undefined || opts.audience === null || opts.audience === '' || a === opts.audience;
  if (typeof aud === 'string') return matches(aud) ? undefined : claimsRejection('JWT not in audience', 'wrong_audience');
  if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) {
    return aud.length === 0 || aud.some(matches) ? undefined : claimsRejection('JWT not in audience', 'wrong_audience');
  }
  return claimsRejection("The JWT 'aud' claim must be a string or an array of strings", 'aud_not_string_or_array');
}

const pathCache = new Map<string, RolePath>();
function rolePath(key: string): RolePath {
  let p = pathCache.get(key);
  if (!p) pathCache.set(key, (p = parseJsonPath(key)));
  return p;
}

/** Step 7: the role a request runs as. */
export function roleFromClaims(claims: Record<string, unknown>, opts: Pick<VerifyOptions, 'roleClaimKey' | 'anonRole'>): string | Rejection {
  const v = evaluateJsonPath(claims, rolePath(opts.roleClaimKey ?? '$.role'));
  // A non-string value is its JSON text as aeson writes it (members in key order).
  if (v !== undefined) return typeof v === 'string' ? v : encodeAeson(v);
  if (opts.anonRole) return opts.anonRole;
  return { code: 'PGRST302', httpStatus: 401, message: 'Anonymous access is disabled', reason: 'anonymous_disabled' };
}

/** Steps 6–7 for claims that did not come from a token (as --user / --anon). */
export function authorizeClaims(claims: Record<string, unknown>, opts: VerifyOptions, numbers?: ReadonlyMap<string, string>): { ok: true; role: string } | { ok: false; rejection: Rejection } {
  const bad = checkClaims(claims, opts, numbers);
  if (bad) return { ok: false, rejection: bad };
  const role = roleFromClaims(claims, opts);
  return typeof role === 'string' ? { ok: true, role } : { ok: false, rejection: role };
}

/** The whole decision, as data (no throw): what `jwt verify --json` and the fuzz test look at. */
export async function checkToken(token: string, keys: readonly VerifyKey[], opts: VerifyOptions): Promise<VerifyResult> {
  const decoded = await decodeAndCheckSignature(token, keys);
  if ('reason' in decoded) return { ok: false, rejection: decoded };
  const { numbers, ...rest } = decoded;
  const auth = authorizeClaims(rest.claims, opts, numbers);
  if (!auth.ok) return auth;
  return { ok: true, ...rest, role: auth.role };
}

/** Like checkToken, but a rejection is thrown as RowguardError('jwt') (exit 1). */
export async function verifyToken(token: string, keys: readonly VerifyKey[], opts: VerifyOptions): Promise<Verified> {
  const r = await checkToken(token, keys, opts);
  if (!r.ok) throw rejectionError(r.rejection);
  const { ok: _ok, ...verified } = r;
  return verified;
}

const HINTS: Partial<Record<RejectReason, string>> = {
  expired: 'mint a fresh token (rowguard jwt mint --exp 1h)',
  not_yet_valid: 'the token’s nbf is more than 30 s ahead: check the clock of whoever minted it',
  issued_in_future: 'the token’s iat is more than 30 s ahead: check the clock of whoever minted it',
  wrong_audience: 'the token’s aud must equal api.jwtAud (or be an array containing it)',
  no_suitable_key: 'the token’s kid or alg matches none of the verification keys (a plain secret only takes HS256 tokens without kid)',
  bad_signature: 'the token was signed with another key, or altered after signing',
  alg_none: 'unsigned tokens are never accepted',
  too_large: 'tokens this size cannot be sent in an Authorization header',
  anonymous_disabled: 'set api.anonRole, or give the token a role claim',
};

export function rejectionError(r: Rejection): RowguardError {
  const head = r.code ? `${r.code} ${r.message}` : r.message;
  return new RowguardError('jwt', `token rejected: ${head} (HTTP ${r.httpStatus})`, {
    detail: r.details,
    hint: HINTS[r.reason],
    meta: { pgrst: r.code, httpStatus: r.httpStatus, message: r.message, reason: r.reason, ...(r.details ? { details: r.details } : {}), wwwAuthenticate: wwwAuthenticate(r), body: errorBody(r) },
  });
}
