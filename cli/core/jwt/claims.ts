/**
 * Access-token claims exactly as GoTrue (supabase/auth) builds them
 * (`internal/tokens/service.go`, `AccessTokenClaims`; conventions §3), in
 * GoTrue's JSON order: the registered claims first (iss, sub, aud, exp, iat;
 * GoTrue sets no nbf or jti), then email, phone, app_metadata, user_metadata,
 * role, aal, amr, session_id, is_anonymous.
 *
 * Pure: the clock and the session id come in as arguments, so the test runner
 * can build the same object in SQL for `tests.authenticate_as(email)` and
 * compare byte for byte.
 */
import { RowguardError } from '../errors.js';

/** The auth.users columns GoTrue reads into a token. */
export interface AuthUser {
  id: string;
  /** users.aud, normally "authenticated"; GoTrue copies it into the token's aud. */
  aud?: string | null;
  /** users.role, set at signup from GOTRUE_JWT_DEFAULT_GROUP_NAME. */
  role?: string | null;
  email?: string | null;
  phone?: string | null;
  raw_app_meta_data?: Record<string, unknown> | null;
  raw_user_meta_data?: Record<string, unknown> | null;
  is_anonymous?: boolean | null;
}

export interface AmrEntry {
  method: string;
  timestamp: number;
  provider?: string;
}

export interface AccessClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  email: string;
  phone: string;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  role: string;
  aal: string;
  amr: AmrEntry[];
  session_id: string;
  is_anonymous: boolean;
  [extra: string]: unknown;
}

export interface AccessClaimsOptions {
  issuer: string;
  /** Token lifetime in seconds (GOTRUE_JWT_EXP, default 3600). */
  expiresIn: number;
  /** sessions.id; GoTrue always has one. Pass a fresh UUID for a test token. */
  sessionId: string;
  /** aal1 unless the session was upgraded by MFA. */
  aal?: 'aal1' | 'aal2';
  /** How the session was authenticated; default one `password` entry at iat. */
  amr?: AmrEntry[];
  /** Overrides for role / aud when no users row says otherwise. */
  defaultRole?: string;
}

/** GoTrue's default audience and group (GOTRUE_JWT_AUD, GOTRUE_JWT_DEFAULT_GROUP_NAME). */
export const DEFAULT_AUD = 'authenticated';
export const DEFAULT_ROLE = 'authenticated';

/**
 * The claims GoTrue would sign for `user` at `now` (seconds since the epoch).
 * Empty strings where GoTrue has them (email, phone: Go's zero value), `{}` for
 * absent metadata (the conventions' object type; GoTrue's signup always writes
 * app_metadata).
 */
export function buildAccessClaims(user: AuthUser, opts: AccessClaimsOptions, now: number): AccessClaims {
  const iat = Math.floor(now);
  return {
    iss: opts.issuer,
    sub: user.id,
    aud: user.aud || DEFAULT_AUD,
    exp: iat + opts.expiresIn,
    iat,
    email: user.email ?? '',
    phone: user.phone ?? '',
    app_metadata: { ...(user.raw_app_meta_data ?? {}) },
    user_metadata: { ...(user.raw_user_meta_data ?? {}) },
    role: user.role || opts.defaultRole || DEFAULT_ROLE,
    aal: opts.aal ?? 'aal1',
    amr: opts.amr ?? [{ method: 'password', timestamp: iat }],
    session_id: opts.sessionId,
    is_anonymous: user.is_anonymous ?? false,
  };
}

/**
 * Supabase's legacy API keys: `{iss, ref?, role, iat, exp}` with no sub, so
 * auth.uid() is NULL and policies `to authenticated` never match.
 */
export function buildRoleKeyClaims(role: string, opts: { issuer: string; expiresIn: number; ref?: string }, now: number): Record<string, unknown> {
  const iat = Math.floor(now);
  return { iss: opts.issuer, ...(opts.ref ? { ref: opts.ref } : {}), role, iat, exp: iat + opts.expiresIn };
}

/** A uuid as GoTrue writes one (8-4-4-4-12 hex digits). */
export function isUuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
}

/**
 * --sub and --session-id: GoTrue's are uuids, and auth.uid() casts sub to uuid,
 * so any other sub makes every statement that reaches a policy fail with 22P02.
 */
export function parseUuid(text: string, flag: string): string {
  if (isUuid(text)) return text;
  throw new RowguardError('usage', `${flag} must be a uuid like 00000000-0000-4000-8000-000000000001 (got "${text}")`, {
    hint: flag === '--sub' ? 'auth.uid() casts sub to uuid; to mint a token with another sub on purpose, use --claim sub=…' : undefined,
  });
}

/** Durations for --exp: plain seconds, or 90s, 15m, 1h, 7d. */
export function parseDuration(text: string, flag = '--exp'): number {
  const m = /^\s*(\d+)\s*(s|m|h|d)?\s*$/.exec(text);
  const n = m ? Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'] : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RowguardError('usage', `${flag} must be a positive duration like 3600, 15m, 1h or 7d (got "${text}")`);
  }
  return n;
}

/** `--claim key=value`: the value is JSON when it parses as JSON, else a string. */
export function parseClaimAssignment(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new RowguardError('usage', `--claim needs key=value (got "${text}")`);
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* not JSON: a plain string, as the user typed it */
  }
  return [key, value];
}

/** A JSON object given on the command line (--app-metadata, --user-metadata). */
export function parseJsonObject(text: string, flag: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new RowguardError('usage', `${flag} must be a JSON object (${(err as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new RowguardError('usage', `${flag} must be a JSON object`);
  return v as Record<string, unknown>;
}
