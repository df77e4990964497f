/**
 * A session grant becomes what a client receives from GoTrue's /token
 * endpoint: an access token minted by the same code as `rowguard jwt mint`
 * (buildAccessClaims + mint), carrying the grant's session id, amr and aal,
 * plus the refresh token. Pure apart from signing: the clock is an argument.
 */
import type { Config } from '../config.js';
import { buildAccessClaims } from '../jwt/claims.js';
import type { SigningKey } from '../jwt/keys.js';
import { mint } from '../jwt/mint.js';
import type { SessionGrant } from './flows.js';

/** GoTrue's token response shape (access_token, token_type, expires_in, expires_at, refresh_token), plus the session. */
export interface TokenPair {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  /** Seconds since the epoch (GoTrue's expires_at). */
  expires_at: number;
  refresh_token: string;
  /** ISO time after which the refresh token stops working; null: until rotated, reused or signed out. */
  refresh_token_expires_at: string | null;
  user_id: string;
  session_id: string;
  aal: string;
  amr: SessionGrant['amr'];
}

export async function tokensForGrant(grant: SessionGrant, key: SigningKey, config: Config, now: number): Promise<TokenPair> {
  const claims = buildAccessClaims(
    grant.user,
    {
      issuer: config.jwt.issuer,
      expiresIn: config.jwt.expiresIn,
      sessionId: grant.sessionId,
      aal: grant.aal,
      amr: grant.amr,
      defaultRole: config.api.authenticatedRole,
    },
    now,
  );
  const minted = await mint(claims, key);
  return {
    access_token: minted.token,
    token_type: 'bearer',
    expires_in: config.jwt.expiresIn,
    expires_at: claims.exp,
    refresh_token: grant.refreshToken,
    refresh_token_expires_at: grant.refreshTokenExpiresAt ? grant.refreshTokenExpiresAt.toISOString() : null,
    user_id: grant.userId,
    session_id: grant.sessionId,
    aal: grant.aal,
    amr: grant.amr,
  };
}
