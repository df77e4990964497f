/**
 * `jwt keys generate`: a private key file (mode 0600) and a public JWKS file
 * that PostgREST takes as its jwt-secret (`@file` or the JSON itself).
 *
 * - ES256 / RS256 / EdDSA: `<prefix>.private.jwk.json` holds the private JWK
 *   (a valid GOTRUE_JWT_KEYS entry once wrapped in [...]: it has `kid`, `alg`,
 *   `use: sig`, `key_ops: [sign, verify]`), `<prefix>.jwks.json` the public set.
 * - HS256: `<prefix>.secret` holds 64 random base64url characters (PostgREST's
 *   plain jwt-secret, GOTRUE_JWT_SECRET), and `<prefix>.jwks.json` an `oct` JWK
 *   of the same bytes with a kid: PostgREST reads it as a JWKS. That file is
 *   as secret as the secret itself, so it is written 0600 too.
 *
 * Keys come from jose's generateKeyPair / Node's CSPRNG. Files are created with
 * O_EXCL (`wx`) unless --force, so nothing is ever half-overwritten silently.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RowguardError } from '../errors.js';
import { makeDirs } from '../make-dirs.js';

export const GENERATE_ALGS = ['ES256', 'RS256', 'EdDSA', 'HS256'] as const;
export type GenerateAlg = (typeof GENERATE_ALGS)[number];

export interface GeneratedKeys {
  alg: GenerateAlg;
  kid: string;
  privateFile: string;
  jwksFile: string;
  /** The public JWKS (for HS256: the oct key, which is secret — never printed). */
  publicJwks: { keys: Array<Record<string, unknown>> } | null;
}

export function parseGenerateAlg(v: string): GenerateAlg {
  if ((GENERATE_ALGS as readonly string[]).includes(v)) return v as GenerateAlg;
  throw new RowguardError('usage', `--alg must be one of ${GENERATE_ALGS.join(', ')} (got "${v}")`);
}

/** `--out dir/` (or an existing directory) → dir/jwt; anything else is a file prefix. */
export function outputPrefix(out: string): string {
  const isDir = out.endsWith('/') || (existsSync(out) && statSync(out).isDirectory());
  return isDir ? join(out, 'jwt') : out;
}

function writeNew(path: string, text: string, mode: number, force: boolean): void {
  makeDirs(dirname(path));
  try {
    writeFileSync(path, text, { mode, flag: force ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new RowguardError('usage', `${path} already exists; refusing to overwrite a key`, { hint: 'pass --force to replace it (tokens signed with the old key stop verifying)' });
    }
    throw new RowguardError('io', `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  // writeFileSync's mode only applies to a new file (and is masked by umask): set it explicitly.
  chmodSync(path, mode);
}

export async function generateKeys(alg: GenerateAlg, out: string, opts: { force?: boolean; kid?: string; now?: Date } = {}): Promise<GeneratedKeys> {
  const prefix = outputPrefix(out);
  const kid = opts.kid ?? `rowguard-${alg.toLowerCase()}-${(opts.now ?? new Date()).toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`;
  const jwksFile = `${prefix}.jwks.json`;
  const force = !!opts.force;
  if (!force) {
    for (const f of [alg === 'HS256' ? `${prefix}.secret` : `${prefix}.private.jwk.json`, jwksFile]) {
      if (existsSync(f)) throw new RowguardError('usage', `${f} already exists; refusing to overwrite a key`, { hint: 'pass --force to replace it (tokens signed with the old key stop verifying)' });
    }
  }

  if (alg === 'HS256') {
    // 48 random bytes → 64 base64url characters: well over PostgREST's 32-character floor.
    const secret = randomBytes(48).toString('base64url');
    const privateFile = `${prefix}.secret`;
    writeNew(privateFile, secret + '\n', 0o600, force);
    const oct = { kty: 'oct', k: Buffer.from(secret, 'utf8').toString('base64url'), alg: 'HS256', use: 'sig', kid };
    writeNew(jwksFile, JSON.stringify({ keys: [oct] }, null, 2) + '\n', 0o600, force);
    return { alg, kid, privateFile, jwksFile, publicJwks: null };
  }

  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const priv = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig', key_ops: ['sign', 'verify'] };
  const pub = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig', key_ops: ['verify'] };
  const privateFile = `${prefix}.private.jwk.json`;
  writeNew(privateFile, JSON.stringify(priv, null, 2) + '\n', 0o600, force);
  const publicJwks = { keys: [pub as Record<string, unknown>] };
  writeNew(jwksFile, JSON.stringify(publicJwks, null, 2) + '\n', 0o644, force);
  return { alg, kid, privateFile, jwksFile, publicJwks };
}
