/**
 * Read a user from GoTrue's auth.users so a test token carries exactly what
 * GoTrue would put in it (conventions §3, §4).
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from '../db.js';
import { RowguardError, pgFieldsOf } from '../errors.js';
import { buildAccessClaims, type AccessClaims, type AccessClaimsOptions, type AuthUser } from './claims.js';

/**
 * The auth.users row for `email`. GoTrue stores emails lower-cased and keeps
 * them unique among non-SSO users (`users_email_partial_key ... where
 * is_sso_user = false`), so that is the row a password sign-in would find.
 */
export async function findAuthUser(sql: Sql, email: string): Promise<AuthUser> {
  let rows: AuthUser[];
  try {
    rows = await sql<AuthUser[]>`
      select id::text as id, aud, role, email, phone, raw_app_meta_data, raw_user_meta_data, is_anonymous
        from auth.users
       where lower(email) = lower(${email}) and is_sso_user = false
       order by created_at
       limit 2`;
  } catch (err) {
    const pg = pgFieldsOf(err);
    // 42P01 undefined_table, 3F000 invalid_schema_name, 42703 undefined_column
    if (pg && (pg.sqlstate === '42P01' || pg.sqlstate === '3F000' || pg.sqlstate === '42703')) {
      throw new RowguardError('usage', `this database has no GoTrue-compatible auth.users table (${pg.message})`, {
        hint: 'apply the security schema first: rowguard migrate up',
        pg,
      });
    }
    throw err;
  }
  if (rows.length === 0) throw new RowguardError('usage', `no user with email ${email} in auth.users`, { hint: 'create the user first (sign up, or insert it in a seed)' });
  if (rows.length > 1) throw new RowguardError('usage', `more than one non-SSO user has the email ${email}`);
  return rows[0]!;
}

export interface UserClaimsOptions extends Partial<Omit<AccessClaimsOptions, 'sessionId'>> {
  /** Default: a fresh UUID, standing in for the auth.sessions row a sign-in would create. */
  sessionId?: string;
}

/** GoTrue's local defaults (GOTRUE_JWT_ISSUER of the supabase CLI, GOTRUE_JWT_EXP). */
export const DEFAULT_CLAIMS_OPTIONS = { issuer: 'http://localhost:9999/auth/v1', expiresIn: 3600 } as const;

/**
 * The claims GoTrue would sign for the user with this email, at `now`
 * (seconds since the epoch). Pass the config's jwt.issuer / jwt.expiresIn;
 * `now` defaults to the wall clock for callers that have no clock to inject.
 */
export async function userClaimsFromDatabase(sql: Sql, email: string, opts: UserClaimsOptions = {}, now: number = Date.now() / 1000): Promise<AccessClaims> {
  const user = await findAuthUser(sql, email);
  return buildAccessClaims(
    user,
    { ...opts, issuer: opts.issuer ?? DEFAULT_CLAIMS_OPTIONS.issuer, expiresIn: opts.expiresIn ?? DEFAULT_CLAIMS_OPTIONS.expiresIn, sessionId: opts.sessionId ?? randomUUID() },
    now,
  );
}
