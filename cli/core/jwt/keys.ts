/**
 * Where signing and verifying keys come from, and what they are.
 *
 * Key material is read the way PostgREST reads `jwt-secret`
 * (`PostgREST.Config.parseSecret`): JSON that parses as a JWKS is a key set,
 * else JSON that parses as one JWK is a set of one, else the bytes are an
 * HS256 secret that must be at least 32 bytes long, with no `kid` and its
 * algorithm pinned to HS256. A JWKS with one key jose-jwt cannot parse, or a
 * bare array of keys, is refused (PostgREST would take it as a plain secret).
 * A secret read from a file loses exactly one trailing "\n" (PostgREST's
 * `chomp`); under jwt-secret-is-base64 it is base64-decoded first. rowguard
 * also takes PEM keys, which PostgREST does not, but only as a key file
 * (--key-file, jwt.privateKeyFile), so a private key file can be used for both
 * minting and verifying; as a secret, a PEM is refused.
 *
 * Secrets never come from a flag value (it lands in shell history and `ps`),
 * and no message here contains key material.
 */
import { createPrivateKey, createPublicKey, createSecretKey, webcrypto, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { RowguardError } from '../errors.js';
import type { Config } from '../config.js';
import { parseJsonAeson } from './json.js';

/** PostgREST refuses to start with a shorter plain-text secret (and so do we, to mint). */
export const MIN_SECRET_BYTES = 32;

export type KeyType = 'oct' | 'RSA' | 'EC' | 'OKP';

/** One verification key, as jose-jwt's `Jwk` carries it. */
export interface VerifyKey {
  kty: KeyType;
  kid?: string;
  /** When set, only tokens with exactly this alg may use the key (jose-jwt `algCompatible`). */
  alg?: string;
  use?: string;
  /** EC curve or OKP subtype, for display. */
  crv?: string;
  /** null: a JWK we cannot use (jose-jwt `UnsupportedJwk`); it never matches a token. */
  key: KeyObject | null;
}

export interface SigningKey {
  alg: string;
  kid?: string;
  key: KeyObject;
  /** Where it came from, for messages (a path or "ROWGUARD_JWT_SECRET"; never the key). */
  source: string;
}

export interface KeyFlags {
  /** --secret-file (absolute path, or "-" for stdin). */
  secretFile?: string;
  /** --key-file: PEM or JWK private key (absolute path, or "-"). */
  keyFile?: string;
  /** --jwks-file: JWKS / JWK / secret used to verify (absolute path, or "-"). */
  jwksFile?: string;
  kid?: string;
  /** --secret-is-base64 (PostgREST's jwt-secret-is-base64); also on with config jwt.secretIsBase64. */
  secretIsBase64?: boolean;
  /** Told when a secret or private key file can be read by other users than its owner (group or others in its mode). */
  warn?: (message: string) => void;
}

/** The environment variables this module cares about, handed in by the command layer. */
export interface KeyEnv {
  ROWGUARD_JWT_SECRET?: string;
}

/** Anything we can read all of: process.stdin in the CLI, a Readable in tests. */
export type StdinSource = AsyncIterable<Buffer | string> | undefined;

export const ENV_SECRET = 'ROWGUARD_JWT_SECRET';

const GENERATE_HINT = 'make one with `rowguard jwt keys generate --alg HS256 --out <dir>` (or use ES256)';

async function readAll(stdin: StdinSource): Promise<Buffer> {
  if (!stdin) throw new RowguardError('usage', 'no standard input to read the key from');
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

async function readMaterial(path: string, stdin: StdinSource, what: string, warn?: (message: string) => void): Promise<{ bytes: Buffer; source: string }> {
  if (path === '-') return { bytes: await readAll(stdin), source: 'stdin' };
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RowguardError('io', `cannot read the ${what} ${path}${code ? ` (${code})` : ''}`);
  }
  // As ssh says of a private key: a secret other users may read is no longer the project's alone.
  if (warn && process.platform !== 'win32') {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) warn(`the ${what} ${path} can be read by other users (mode ${mode.toString(8).padStart(3, '0')}): chmod 600 ${path}`);
  }
  return { bytes, source: path };
}

/**
 * PostgREST's jwt-secret-is-base64 (`Config.decodeSecret`, after `@file` is
 * read and chomped): '.' '-' '_' become '=' '+' '/', blank space around is
 * dropped, and the rest must be padded, canonical base64 (base64-bytestring
 * 1.2's strict `decode`), else PostgREST does not start. What it decodes to is then read
 * as jwt-secret is (JWKS, JWK or secret, whose 32-byte floor applies to the
 * decoded bytes).
 */
export function decodeSecretBase64(raw: Buffer, source: string): Buffer {
  const text = raw.toString('utf8').replace(/\./g, '=').replace(/-/g, '+').replace(/_/g, '/').trim();
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new RowguardError('secret', `${source} is not padded base64, which jwt-secret-is-base64 needs (PostgREST would refuse to start)`, {
      hint: 'drop --secret-is-base64 / jwt.secretIsBase64 if the secret is used as it is',
    });
  }
  const bytes = Buffer.from(text, 'base64');
  // base64-bytestring ≥ 1.2 also refuses a last group whose unused bits are not zero ("QR==" for "A"),
  // which Node would decode; canonical base64 is exactly what re-encoding the bytes gives back.
  if (bytes.toString('base64') !== text) {
    throw new RowguardError('secret', `${source} is not canonical base64 (bits set after the last byte), which jwt-secret-is-base64 refuses (PostgREST would refuse to start)`, {
      hint: 're-encode the key bytes with a standard base64 encoder',
    });
  }
  return bytes;
}

/**
 * PostgREST's jwt-secret (and GoTrue's GOTRUE_JWT_SECRET) has no PEM form: such
 * a text would be taken as an HS256 secret there. rowguard reads PEM only from
 * --key-file / jwt.privateKeyFile, so a PEM given as the secret is refused
 * rather than read as a key PostgREST would never see.
 */
function refusePemSecret(bytes: Buffer, source: string): Buffer {
  if (classifyMaterial(bytes).kind === 'pem') {
    throw new RowguardError('secret', `${source} is a PEM key, which PostgREST's jwt-secret does not read (it would take the text as an HS256 secret)`, {
      hint: 'pass a PEM with --key-file (or jwt.privateKeyFile); give PostgREST the JWKS from `rowguard jwt keys generate`',
    });
  }
  return bytes;
}

/** PostgREST's chomp: drop exactly one trailing newline. */
function chomp(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0x0a ? b.subarray(0, b.length - 1) : b;
}

type Material =
  | { kind: 'jwks'; keys: JsonWebKey[] }
  | { kind: 'pem'; pem: string }
  | { kind: 'secret'; secret: Buffer };

/** Classify bytes as PostgREST does (JWKS, then JWK, then a plain secret), plus PEM. */
export function classifyMaterial(raw: Buffer, decoded = false): Material {
  const text = raw.toString('utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN ')) return { kind: 'pem', pem: trimmed };
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      json = undefined;
    }
    if (json && typeof json === 'object') {
      const o = json as Record<string, unknown>;
      if (Array.isArray(o['keys'])) return { kind: 'jwks', keys: o['keys'] as JsonWebKey[] };
      // GOTRUE_JWT_KEYS is a bare JSON array of JWKs.
      if (Array.isArray(json)) return { kind: 'jwks', keys: json as JsonWebKey[] };
      if (typeof o['kty'] === 'string') return { kind: 'jwks', keys: [o as JsonWebKey] };
    }
  }
  // A file loses one trailing newline (PostgREST's chomp of @file); base64-decoded bytes are used as they are.
  return { kind: 'secret', secret: decoded ? raw : chomp(raw) };
}

function checkSecretLength(secret: Buffer, source: string): void {
  // PostgREST measures bytes (BS.length), not characters.
  if (secret.length < MIN_SECRET_BYTES) {
    throw new RowguardError('secret', `the JWT secret from ${source} is ${secret.length === 0 ? 'empty' : 'too short'}: it must be at least ${MIN_SECRET_BYTES} characters (PostgREST refuses to start with a shorter one)`, {
      hint: GENERATE_HINT,
    });
  }
}

/** The default JWS algorithm for a key (what GoTrue's `GetSigningAlg` picks). */
export function algForKeyObject(key: KeyObject): string {
  if (key.type === 'secret') return 'HS256';
  const t = key.asymmetricKeyType;
  if (t === 'rsa') return 'RS256';
  if (t === 'ed25519') return 'EdDSA';
  if (t === 'ec') {
    const crv = key.asymmetricKeyDetails?.namedCurve;
    if (crv === 'prime256v1' || crv === 'P-256') return 'ES256';
    if (crv === 'secp384r1' || crv === 'P-384') return 'ES384';
    if (crv === 'secp521r1' || crv === 'P-521') return 'ES512';
  }
  throw new RowguardError('secret', `unsupported key type ${t ?? 'unknown'}${t === 'ec' ? ` (curve ${key.asymmetricKeyDetails?.namedCurve})` : ''}: use RSA, EC P-256/384/521 or Ed25519`);
}

function ktyOf(key: KeyObject): KeyType {
  if (key.type === 'secret') return 'oct';
  const t = key.asymmetricKeyType;
  if (t === 'rsa') return 'RSA';
  if (t === 'ec') return 'EC';
  return 'OKP';
}

/** jose-jwt's `algs`: every alg name a JWK may carry (Jose.Jwa); any other makes the key an UnsupportedJwk. */
const JWK_ALGS = new Set(['none', 'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'RSA1_5', 'RSA-OAEP', 'RSA-OAEP-256', 'A128KW', 'A192KW', 'A256KW']);
const JWK_KTYS = new Set(['RSA', 'OKP', 'EC', 'oct']);

/** jose-jwt decodes Base64URLUnpadded (token parts and JWK fields alike): only the URL alphabet, no padding, no 4n+1 length. */
export function unpaddedBase64url(text: string): Buffer | undefined {
  if (text.length % 4 === 1 || !/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  return Buffer.from(text, 'base64url');
}

/**
 * How jose-jwt reads one JWK (`Jose.Jwk.parseJwk`, `JwkData`, `createJwk`):
 * 'unsupported' when its alg or kty is not one it knows (an UnsupportedJwk,
 * which loads but never verifies), else the first reason it fails to parse
 * (one such key fails the whole JWKS), else null.
 */
function jwkProblem(jwk: unknown): string | 'unsupported' | null {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return 'not a JSON object';
  const o = jwk as Record<string, unknown>;
  const present = (k: string) => o[k] !== undefined && o[k] !== null;
  if ((present('alg') && !(typeof o['alg'] === 'string' && JWK_ALGS.has(o['alg']))) || (present('kty') && !(typeof o['kty'] === 'string' && JWK_KTYS.has(o['kty'])))) return 'unsupported';
  if (!present('kty')) return 'no "kty"';
  for (const f of ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'x', 'y']) {
    if (present(f) && !(typeof o[f] === 'string' && unpaddedBase64url(o[f] as string))) return `"${f}" is not unpadded base64url`;
  }
  for (const f of ['crv', 'kid', 'x5u', 'x5t']) if (present(f) && typeof o[f] !== 'string') return `"${f}" is not a string`;
  if (present('x5c') && !(Array.isArray(o['x5c']) && o['x5c'].every((c) => typeof c === 'string'))) return '"x5c" is not an array of strings';
  if (present('use') && o['use'] !== 'sig' && o['use'] !== 'enc') return '"use" must be "sig" or "enc"';
  const none = (fs: string[], what: string) => {
    const f = fs.find(present);
    return f ? `"${f}" cannot be set for ${what}` : null;
  };
  const rsaPrivate = ['p', 'q', 'dp', 'dq', 'qi'];
  switch (o['kty']) {
    case 'RSA':
      if (!present('n') || !present('e')) return 'an RSA key needs "n" and "e"';
      return none(['crv', 'x', 'y'], 'an RSA key') ?? (present('d') ? null : none(rsaPrivate, 'an RSA public key'));
    case 'oct':
      if (!present('k')) return 'a symmetric key needs "k"';
      return none(['n', 'e', 'd', ...rsaPrivate, 'crv', 'x', 'y'], 'a symmetric key');
    case 'OKP': {
      if (!present('crv') || !present('x')) return 'an OKP key needs "crv" and "x"';
      const bad = none(['n', 'e', ...rsaPrivate], 'an OKP key');
      if (bad) return bad;
      const size = { Ed25519: 32, Ed448: 57 }[o['crv'] as string];
      if (size === undefined) return `OKP curve "${o['crv'] as string}" is not Ed25519 or Ed448`;
      if (Buffer.from(o['x'] as string, 'base64url').length !== size || (present('d') && Buffer.from(o['d'] as string, 'base64url').length !== size)) return 'invalid OKP key data';
      return null;
    }
    default: // EC
      if (!present('crv')) return 'an elliptic curve key needs "crv"';
      if (!['P-256', 'P-384', 'P-521'].includes(o['crv'] as string)) return `"crv" must be P-256, P-384 or P-521 (got "${o['crv'] as string}")`;
      if (!present('x') || !present('y')) return 'an elliptic curve key needs "x" and "y"';
      return none(['n', 'e', ...rsaPrivate], 'an elliptic curve key');
  }
}

/** Turn one JWK (that jose-jwt parses) into a verification key; unusable ones keep key: null (they never match). */
function verifyKeyFromJwk(jwk: JsonWebKey): VerifyKey {
  const kty = jwk.kty as KeyType;
  const base = {
    kid: typeof jwk['kid'] === 'string' ? (jwk['kid'] as string) : undefined,
    alg: typeof jwk.alg === 'string' ? jwk.alg : undefined,
    use: typeof jwk.use === 'string' ? jwk.use : undefined,
    crv: typeof jwk.crv === 'string' ? jwk.crv : undefined,
  };
  if (jwkProblem(jwk) !== null) return { kty: JWK_KTYS.has(kty) ? kty : 'oct', ...base, key: null };
  try {
    if (kty === 'oct') return { kty, ...base, key: createSecretKey(Buffer.from(jwk.k!, 'base64url')) };
    // jose-jwt's Ed25519/Ed448 keys are always "sig" and "EdDSA", whatever the JWK says.
    if (kty === 'OKP') return { kty, ...base, use: 'sig', alg: 'EdDSA', key: createPublicKey({ key: { kty, crv: jwk.crv, x: jwk.x } as JsonWebKey, format: 'jwk' }) };
    // createPublicKey accepts a private JWK too and keeps only the public half.
    return { kty, ...base, key: createPublicKey({ key: jwk, format: 'jwk' }) };
  } catch {
    /* key material Node cannot load: unusable */
  }
  return { kty, ...base, key: null };
}

/**
 * Verification keys from bytes, the PostgREST way (`Config.parseSecret`), plus
 * PEM: JSON that is a JWKS ({"keys": [...]}, every key parsing), else JSON that
 * is one JWK, else the bytes are an HS256 secret. Where PostgREST would quietly
 * fall back to taking a JSON key file as a secret (one malformed key in a JWKS,
 * a bare array of keys), this refuses instead: every asymmetric token would be
 * rejected there.
 */
export function verifyKeysFromBytes(raw: Buffer, source: string, kid?: string, decoded = false): VerifyKey[] {
  const m = classifyMaterial(raw, decoded);
  if (m.kind !== 'pem') {
    const secret = decoded ? raw : chomp(raw);
    const parsed = parseJsonAeson(secret)?.value;
    const asSecret = (why: string) =>
      new RowguardError('secret', `${source}: ${why}, so PostgREST would not read it as keys but take the whole text as an HS256 secret`, {
        hint: 'fix the file; PostgREST reads jwt-secret as a JWKS {"keys": [...]} only when every key in it parses',
      });
    if (Array.isArray(parsed)) throw asSecret('a bare JSON array of keys is GOTRUE_JWT_KEYS\' format, not a JWKS');
    if (parsed !== null && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      let setProblem: string | undefined;
      if (Array.isArray(o['keys'])) {
        const problems = o['keys'].map(jwkProblem);
        const bad = problems.findIndex((p) => p !== null && p !== 'unsupported');
        if (bad === -1) return usableKeys((o['keys'] as JsonWebKey[]).map(verifyKeyFromJwk), source);
        setProblem = `keys[${bad}]: ${problems[bad]!}`;
      }
      const one = jwkProblem(o);
      if (one === null || one === 'unsupported') return usableKeys([verifyKeyFromJwk(o as JsonWebKey)], source);
      if (setProblem !== undefined) throw asSecret(`it is not a JWKS PostgREST can read (${setProblem})`);
      if (o['kty'] !== undefined) throw asSecret(`it is not a JWK PostgREST can read (${one})`);
    }
    checkSecretLength(secret, source);
    // PostgREST: SymmetricJwk secret Nothing (Just Sig) (Just (Signed HS256)) — no kid, HS256 only.
    return [{ kty: 'oct', alg: 'HS256', use: 'sig', key: createSecretKey(secret) }];
  }
  let key: KeyObject;
  try {
    key = createPublicKey(m.pem);
  } catch {
    throw new RowguardError('secret', `${source} is not a PEM public or private key that Node can read`);
  }
  return [{ kty: ktyOf(key), kid, alg: algForKeyObject(key), use: 'sig', key }];
}

function usableKeys(keys: VerifyKey[], source: string): VerifyKey[] {
  if (keys.length === 0 || keys.every((k) => k.key === null)) {
    throw new RowguardError('secret', `${source} holds no usable key (expected a JWKS {"keys":[…]}, a JWK, a PEM key or a secret of ≥ ${MIN_SECRET_BYTES} characters)`, {
      hint: 'PostgREST would start with it and answer every token with PGRST301',
    });
  }
  return keys;
}

/** A signing key from bytes: a plain secret (HS256), a PEM private key, or a JWK/JWKS with exactly one private key. */
export function signingKeyFromBytes(raw: Buffer, source: string, kid?: string, decoded = false): SigningKey {
  const m = classifyMaterial(raw, decoded);
  if (m.kind === 'secret') {
    checkSecretLength(m.secret, source);
    return { alg: 'HS256', kid, key: createSecretKey(m.secret), source };
  }
  if (m.kind === 'pem') {
    let key: KeyObject;
    try {
      key = createPrivateKey(m.pem);
    } catch {
      throw new RowguardError('secret', `${source} is not a PEM private key (a public key cannot sign)`, { hint: 'pass the private key file; give PostgREST the public JWKS' });
    }
    return { alg: algForKeyObject(key), kid, key, source };
  }
  // GOTRUE_JWT_KEYS: exactly one key meant for signing (private, or oct).
  const candidates = m.keys.filter((k) => {
    if (!k || typeof k !== 'object' || k.use === 'enc') return false;
    if (Array.isArray(k.key_ops) && !k.key_ops.includes('sign')) return false;
    return k.kty === 'oct' ? typeof k.k === 'string' : typeof k.d === 'string';
  });
  if (candidates.length !== 1) {
    throw new RowguardError('secret', `${source} must hold exactly one private (or oct) key to sign with; found ${candidates.length}`, {
      hint: 'GoTrue takes the same rule: one key with "sign" in key_ops',
    });
  }
  const jwk = candidates[0]!;
  let key: KeyObject;
  try {
    key = jwk.kty === 'oct' ? createSecretKey(Buffer.from(jwk.k!, 'base64url')) : createPrivateKey({ key: jwk, format: 'jwk' });
  } catch {
    throw new RowguardError('secret', `${source}: the JWK could not be imported`);
  }
  if (key.type === 'secret') checkSecretLength(Buffer.from(jwk.k!, 'base64url'), source);
  const alg = typeof jwk.alg === 'string' ? jwk.alg : algForKeyObject(key);
  // The JWK's "alg" is the user's text: one that cannot sign with this key (none, HS999,
  // RS256 on an oct key) would fail inside jose with its own message.
  if (!(key.type === 'secret' ? /^HS(256|384|512)$/.test(alg) : algForKeyObject(key) === 'RS256' ? /^RS(256|384|512)$/.test(alg) : alg === algForKeyObject(key))) {
    throw new RowguardError('secret', `${source}: the JWK's alg ${JSON.stringify(alg)} cannot sign with its ${ktyOf(key)} key`, {
      hint: 'drop "alg", or use HS256/384/512 for oct, RS256/384/512 for RSA, ES256/384/512 for the EC curve, EdDSA for Ed25519',
    });
  }
  return { alg, kid: kid ?? (typeof jwk['kid'] === 'string' ? (jwk['kid'] as string) : undefined), key, source };
}

/**
 * The key `jwt mint` signs with. Order: --key-file, --secret-file,
 * ROWGUARD_JWT_SECRET, config jwt.privateKeyFile, config jwt.secretFile.
 * Flag paths must already be absolute (the command layer resolves them).
 */
export async function loadSigningKey(config: Config, env: KeyEnv, stdin: StdinSource, flags: KeyFlags): Promise<SigningKey> {
  const kid = flags.kid ?? config.jwt.kid ?? undefined;
  const b64 = !!flags.secretIsBase64 || config.jwt.secretIsBase64;
  // PostgREST's jwt-secret (a secret file, the environment) may be base64; a private key file never is.
  const secret = (bytes: Buffer, source: string) =>
    b64 ? signingKeyFromBytes(refusePemSecret(decodeSecretBase64(chomp(bytes), source), source), source, kid, true) : signingKeyFromBytes(refusePemSecret(bytes, source), source, kid);
  if (flags.keyFile) {
    const { bytes, source } = await readMaterial(flags.keyFile, stdin, 'key file', flags.warn);
    return signingKeyFromBytes(bytes, source, kid);
  }
  if (flags.secretFile) {
    const { bytes, source } = await readMaterial(flags.secretFile, stdin, 'secret file', flags.warn);
    return secret(bytes, source);
  }
  if (env.ROWGUARD_JWT_SECRET !== undefined && env.ROWGUARD_JWT_SECRET !== '') {
    return secret(Buffer.from(env.ROWGUARD_JWT_SECRET, 'utf8'), ENV_SECRET);
  }
  if (config.jwt.privateKeyFile) {
    const { bytes, source } = await readMaterial(config.jwt.privateKeyFile, stdin, 'key file (config jwt.privateKeyFile)', flags.warn);
    return signingKeyFromBytes(bytes, source, kid);
  }
  if (config.jwt.secretFile) {
    const { bytes, source } = await readMaterial(config.jwt.secretFile, stdin, 'secret file (config jwt.secretFile)', flags.warn);
    return secret(bytes, source);
  }
  throw new RowguardError('secret', 'no signing key: pass --secret-file <path> (or - for stdin), --key-file <path>, set ROWGUARD_JWT_SECRET, or set jwt.secretFile / jwt.privateKeyFile in rowguard.config.json', {
    hint: GENERATE_HINT,
  });
}

/**
 * The keys `jwt verify` and `as --token` check against, as PostgREST's
 * jwt-secret. Order: --jwks-file, --secret-file, --key-file (its public half),
 * ROWGUARD_JWT_SECRET, config jwt.jwksFile, jwt.secretFile, jwt.privateKeyFile.
 */
export async function loadVerifyKeys(config: Config, env: KeyEnv, stdin: StdinSource, flags: KeyFlags): Promise<VerifyKey[]> {
  const kid = flags.kid ?? config.jwt.kid ?? undefined;
  const b64 = !!flags.secretIsBase64 || config.jwt.secretIsBase64;
  // What PostgREST takes as jwt-secret is base64 under jwt-secret-is-base64; a private key file never is.
  const material = (bytes: Buffer, source: string, jwtSecret: boolean) => {
    if (!jwtSecret) return verifyKeysFromBytes(bytes, source, kid);
    return b64 ? verifyKeysFromBytes(refusePemSecret(decodeSecretBase64(chomp(bytes), source), source), source, kid, true) : verifyKeysFromBytes(refusePemSecret(bytes, source), source, kid);
  };
  // A JWKS file holds public keys, or a secret: its mode is the user's business only for the latter, which it names as a secret file.
  const fromFile = async (path: string, what: string, jwtSecret = true) => {
    const { bytes, source } = await readMaterial(path, stdin, what, what.startsWith('JWKS') ? undefined : flags.warn);
    return material(bytes, source, jwtSecret);
  };
  if (flags.jwksFile) return fromFile(flags.jwksFile, 'JWKS file');
  if (flags.secretFile) return fromFile(flags.secretFile, 'secret file');
  if (flags.keyFile) return fromFile(flags.keyFile, 'key file', false);
  if (env.ROWGUARD_JWT_SECRET !== undefined && env.ROWGUARD_JWT_SECRET !== '') {
    return material(Buffer.from(env.ROWGUARD_JWT_SECRET, 'utf8'), ENV_SECRET, true);
  }
  if (config.jwt.jwksFile) return fromFile(config.jwt.jwksFile, 'JWKS file (config jwt.jwksFile)');
  if (config.jwt.secretFile) return fromFile(config.jwt.secretFile, 'secret file (config jwt.secretFile)');
  if (config.jwt.privateKeyFile) return fromFile(config.jwt.privateKeyFile, 'key file (config jwt.privateKeyFile)', false);
  throw new RowguardError('secret', 'no key to verify with: pass --jwks-file, --secret-file or --key-file, set ROWGUARD_JWT_SECRET, or set jwt.jwksFile / jwt.secretFile in rowguard.config.json');
}

/** WebCrypto import parameters for a JWS alg (RFC 7518 §3). */
function webCryptoParams(alg: string): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.HmacImportParams | webcrypto.Algorithm | undefined {
  const hash = { 256: 'SHA-256', 384: 'SHA-384', 512: 'SHA-512' }[alg.slice(2)];
  if (alg.startsWith('HS') && hash) return { name: 'HMAC', hash };
  if (alg.startsWith('RS') && hash) return { name: 'RSASSA-PKCS1-v1_5', hash };
  if (alg === 'ES256') return { name: 'ECDSA', namedCurve: 'P-256' };
  if (alg === 'ES384') return { name: 'ECDSA', namedCurve: 'P-384' };
  if (alg === 'ES512') return { name: 'ECDSA', namedCurve: 'P-521' };
  if (alg === 'EdDSA') return { name: 'Ed25519' };
  return undefined;
}

const cryptoKeys = new WeakMap<KeyObject, Map<string, Promise<webcrypto.CryptoKey | null>>>();

/**
 * The key as a WebCrypto CryptoKey for one alg and use, imported once and
 * cached: jose (WebCrypto build) would otherwise convert a KeyObject on every
 * call. null when the key cannot serve that alg (e.g. a P-384 key for ES256).
 * Minting signs with it; verification does not go through jose (verify.ts
 * checks signatures as jose-jwt does).
 */
export function cryptoKeyFor(key: KeyObject, alg: string, usage: 'sign' | 'verify'): Promise<webcrypto.CryptoKey | null> {
  let perKey = cryptoKeys.get(key);
  if (!perKey) cryptoKeys.set(key, (perKey = new Map()));
  const id = `${alg}:${usage}`;
  let p = perKey.get(id);
  if (!p) {
    const params = webCryptoParams(alg);
    p = params
      ? webcrypto.subtle.importKey('jwk', key.export({ format: 'jwk' }) as webcrypto.JsonWebKey, params, false, [usage]).catch(() => null)
      : Promise.resolve(null);
    perKey.set(id, p);
  }
  return p;
}
