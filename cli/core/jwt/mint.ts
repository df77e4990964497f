/**
 * Signing. The header is GoTrue's `{alg, typ: "JWT", kid?}` and the payload is
 * the claims object serialised as given (key order and types kept), signed by
 * jose. Nothing here reads a clock or a file.
 */
import { CompactSign } from 'jose';
import { cryptoKeyFor, type SigningKey } from './keys.js';

export interface MintedToken {
  token: string;
  header: { alg: string; typ: 'JWT'; kid?: string };
  payload: Record<string, unknown>;
}

const encoder = new TextEncoder();

export async function mintAccessToken(claims: Record<string, unknown>, key: SigningKey): Promise<string> {
  return (await mint(claims, key)).token;
}

/** The token plus the header and payload it carries (for `jwt mint --json`). */
export async function mint(claims: Record<string, unknown>, key: SigningKey): Promise<MintedToken> {
  const header = { alg: key.alg, typ: 'JWT' as const, ...(key.kid ? { kid: key.kid } : {}) };
  // The imported CryptoKey is cached per key; fall back to the KeyObject so jose reports what is wrong with it.
  const signingKey = (await cryptoKeyFor(key.key, key.alg, 'sign')) ?? key.key;
  const token = await new CompactSign(encoder.encode(JSON.stringify(claims))).setProtectedHeader(header).sign(signingKey);
  return { token, header, payload: claims };
}
