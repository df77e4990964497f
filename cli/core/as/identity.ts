/**
 * Who a `rowguard as` request is: a verified token (decided exactly as
 * PostgREST decides), a user from auth.users (the claims GoTrue would sign),
 * or Supabase's anon / service_role API key claims. Claims that did not come
 * from a token still pass PostgREST's claim checks and role extraction, so the
 * role is decided the same way in every case.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Sql } from '../db.js';
import { buildRoleKeyClaims } from '../jwt/claims.js';
import type { VerifyKey } from '../jwt/keys.js';
import { userClaimsFromDatabase } from '../jwt/user.js';
import { authorizeClaims, rejectionError, verifyToken } from '../jwt/verify.js';
import type { AsIdentity } from './run.js';

export type IdentityRequest =
  | { kind: 'token'; token: string; keys: readonly VerifyKey[] }
  | { kind: 'user'; email: string }
  | { kind: 'anon' }
  | { kind: 'service_role' };

export interface IdentityOptions {
  config: Config;
  /** Seconds since the epoch. */
  now: number;
  /** --aud: overrides config api.jwtAud. */
  audience?: string | null;
}

export async function resolveIdentity(sql: Sql | null, req: IdentityRequest, opts: IdentityOptions): Promise<AsIdentity> {
  const { config, now } = opts;
  const verifyOpts = {
    now,
    audience: opts.audience !== undefined ? opts.audience : config.api.jwtAud,
    roleClaimKey: config.api.roleClaimKey,
    anonRole: config.api.anonRole,
  };
  if (req.kind === 'token') {
    const v = await verifyToken(req.token, req.keys, verifyOpts);
    return { claims: v.claims, role: v.role, token: req.token, claimsMembers: v.members };
  }
  let claims: Record<string, unknown>;
  if (req.kind === 'user') {
    if (!sql) throw new Error('resolveIdentity: --user needs a database');
    claims = await userClaimsFromDatabase(sql, req.email, { issuer: config.jwt.issuer, expiresIn: config.jwt.expiresIn, sessionId: randomUUID() }, now);
  } else {
    const role = req.kind === 'anon' ? config.api.anonRole : config.api.serviceRole;
    claims = buildRoleKeyClaims(role, { issuer: config.jwt.issuer, expiresIn: config.jwt.expiresIn }, now);
  }
  const auth = authorizeClaims(claims, verifyOpts);
  if (!auth.ok) throw rejectionError(auth.rejection);
  return { claims, role: auth.role };
}
