/**
 * The auth flows, driven from TypeScript: each function is one call of the
 * matching SQL function in schema auth_flow (sql/0020…0023), where the state
 * and the rules live. Nothing here decides who may sign in; it turns the
 * database's answer into data, and every failure of a credential check into
 * the one message of its flow (AUTH_FAILED), whatever the cause.
 *
 * Secrets (passwords, refresh tokens, magic-link tokens) travel as bind
 * parameters of the extended protocol, never inside SQL text, and never appear
 * in a RowguardError.
 */
import type { Sql } from '../db.js';
import { RowguardError, pgFieldsOf } from '../errors.js';
import { isUuid, type AmrEntry, type AuthUser } from '../jwt/claims.js';

/** auth_flow.session_grant: what a sign-in, a magic-link redemption or a refresh returns. */
export interface SessionGrant {
  userId: string;
  sessionId: string;
  refreshToken: string;
  /** sessions.not_after; null when sessions are not timeboxed. */
  refreshTokenExpiresAt: Date | null;
  aal: 'aal1' | 'aal2';
  amr: AmrEntry[];
  user: AuthUser;
  issuedAt: Date;
}

/** One message per flow: the same for every cause, so output never tells an attacker which one. */
export const AUTH_FAILED = {
  signIn: 'sign-in failed: invalid login credentials',
  refresh: 'refresh failed: invalid refresh token',
  verify: 'verification failed: invalid or expired magic link',
  magicLink: 'no magic link issued',
  signOut: 'sign-out failed: invalid refresh token',
} as const;

function failed(message: string): RowguardError {
  return new RowguardError('auth', message);
}

interface GrantRow {
  user_id: string | null;
  session_id: string | null;
  refresh_token: string | null;
  refresh_token_expires_at: Date | null;
  aal: string | null;
  amr: AmrEntry[] | null;
  user_claims: AuthUser | null;
  issued_at: Date | null;
}

function toGrant(row: GrantRow | undefined, failure: string): SessionGrant {
  if (!row || row.user_id === null || row.session_id === null || row.refresh_token === null || row.user_claims === null) throw failed(failure);
  return {
    userId: row.user_id,
    sessionId: row.session_id,
    refreshToken: row.refresh_token,
    refreshTokenExpiresAt: row.refresh_token_expires_at,
    aal: row.aal === 'aal2' ? 'aal2' : 'aal1',
    amr: row.amr ?? [],
    user: row.user_claims,
    issuedAt: row.issued_at ?? new Date(),
  };
}

/**
 * Run one flow call. A missing auth_flow schema is a usage error with the fix;
 * an error the SQL raised on purpose (bad email, short password, taken email,
 * bad provider: SQLSTATE class 22 or 23, or P0002) becomes an 'auth' error
 * carrying Postgres's message, which never contains the secret.
 */
async function call<T>(sql: Sql, fn: () => Promise<T>): Promise<T> {
  try {
    // Inside a caller's transaction the abort is the caller's to handle: that transaction is over.
    return await (isTransaction(sql) ? fn() : retryConflicts(fn));
  } catch (err) {
    const pg = pgFieldsOf(err);
    // 3F000 invalid_schema_name, 42883 undefined_function, 42P01 undefined_table
    if (pg && (pg.sqlstate === '3F000' || pg.sqlstate === '42883' || pg.sqlstate === '42P01')) {
      throw new RowguardError('usage', `this database has no auth flows (${pg.message})`, { hint: 'apply the migrations first: rowguard migrate up', pg });
    }
    // 42501 insufficient_privilege: the login is neither the owner nor a member of service_role.
    if (pg && pg.sqlstate === '42501') {
      throw new RowguardError('auth', `not allowed to run the auth flows as this database user (${pg.message})`, {
        hint: 'connect as the migration role, or as a login that is a member of service_role',
        pg,
      });
    }
    if (pg && pg.sqlstate && (/^2[23]/.test(pg.sqlstate) || pg.sqlstate === 'P0002')) {
      throw new RowguardError('auth', pg.message ?? 'rejected', { pg: { sqlstate: pg.sqlstate, message: pg.message } });
    }
    throw err;
  }
}

/** Attempts at one flow call that Postgres aborted for a conflict with a concurrent call. */
const CONFLICT_ATTEMPTS = 5;

/**
 * Each flow is one statement in its own transaction, so when Postgres aborts it for a conflict with
 * a concurrent transaction (40001 serialization_failure under a stricter
 * default_transaction_isolation; 40P01 deadlock_detected with a caller's own statements — the
 * flows among themselves lock in one order since 0026, erasure included since 0031) nothing of it was committed, and running it
 * again is what Postgres's documentation prescribes. The retry sees the winner's result.
 */
async function retryConflicts<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const state = pgFieldsOf(err)?.sqlstate;
      if ((state !== '40P01' && state !== '40001') || attempt >= CONFLICT_ATTEMPTS) throw err;
      // Jittered, growing pause, so two retrying callers do not collide again in step.
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}

/** postgres.js gives a transaction's handle `savepoint`; the pool has none. */
function isTransaction(sql: Sql): boolean {
  return typeof (sql as unknown as { savepoint?: unknown }).savepoint === 'function';
}

const GRANT_COLUMNS = 'user_id, session_id, refresh_token, refresh_token_expires_at, aal, amr, user_claims, issued_at';

export async function signUp(sql: Sql, email: string, password: string, userMetadata: Record<string, unknown> = {}): Promise<{ userId: string; email: string }> {
  // The function alone in the select list: it runs exactly once.
  const rows = await call(sql, () => sql<{ id: string }[]>`select auth_flow.sign_up(${email}, ${password}, ${sql.json(userMetadata as never)}::jsonb)::text as id`);
  // auth_flow.normalize_email: trimmed and lower-cased.
  return { userId: rows[0]!.id, email: email.trim().toLowerCase() };
}

export async function signIn(sql: Sql, email: string, password: string): Promise<SessionGrant> {
  const rows = await call(sql, () => sql.unsafe<GrantRow[]>(`select ${GRANT_COLUMNS} from auth_flow.sign_in($1, $2)`, [email, password]));
  return toGrant(rows[0], AUTH_FAILED.signIn);
}

export async function signInWithIdentity(sql: Sql, provider: string, providerId: string): Promise<SessionGrant> {
  const rows = await call(sql, () => sql.unsafe<GrantRow[]>(`select ${GRANT_COLUMNS} from auth_flow.sign_in_with_identity($1, $2)`, [provider, providerId]));
  return toGrant(rows[0], AUTH_FAILED.signIn);
}

export async function refresh(sql: Sql, refreshToken: string): Promise<SessionGrant> {
  const rows = await call(sql, () => sql.unsafe<GrantRow[]>(`select ${GRANT_COLUMNS} from auth_flow.refresh($1)`, [refreshToken]));
  return toGrant(rows[0], AUTH_FAILED.refresh);
}

export async function verifyMagicLink(sql: Sql, token: string): Promise<SessionGrant> {
  const rows = await call(sql, () => sql.unsafe<GrantRow[]>(`select ${GRANT_COLUMNS} from auth_flow.verify_magic_link($1)`, [token]));
  return toGrant(rows[0], AUTH_FAILED.verify);
}

export interface MagicLink {
  token: string;
  expiresAt: Date;
}

export async function issueMagicLink(sql: Sql, email: string): Promise<MagicLink> {
  const rows = await call(sql, () => sql<{ token: string | null; expires_at: Date }[]>`
    select auth_flow.issue_magic_link(${email}) as token,
           now() + (select s.magic_link_ttl from auth_flow.settings s where s.singleton) as expires_at`);
  const row = rows[0];
  // Which of the two it was is not said, as GoTrue does not say it: that would tell whether the address has an account.
  if (!row || row.token === null) throw new RowguardError('auth', AUTH_FAILED.magicLink, { hint: 'no account has this address, or it was sent a link less than magic_link_min_interval ago (auth_flow.settings, default 60 s)' });
  return { token: row.token, expiresAt: row.expires_at };
}

export async function linkIdentity(sql: Sql, userId: string, provider: string, providerId: string, identityData: Record<string, unknown>): Promise<{ identityId: string }> {
  const rows = await call(sql, () => sql<{ id: string | null }[]>`
    select auth_flow.link_identity(${userId}::uuid, ${provider}, ${providerId}, ${sql.json(identityData as never)}::jsonb)::text as id`);
  const id = rows[0]?.id ?? null;
  if (id === null) throw failed(`link-identity failed: this ${provider} identity is already linked to another user`);
  return { identityId: id };
}

export type SignOutScope = 'local' | 'global' | 'others';

export async function signOutByRefreshToken(sql: Sql, refreshToken: string, scope: SignOutScope): Promise<{ sessionsEnded: number }> {
  const rows = await call(sql, () => sql<{ n: number | null }[]>`select auth_flow.sign_out_by_refresh_token(${refreshToken}, ${scope}) as n`);
  const n = rows[0]?.n ?? null;
  if (n === null) throw failed(AUTH_FAILED.signOut);
  return { sessionsEnded: n };
}

export async function signOutUser(sql: Sql, userId: string): Promise<{ sessionsEnded: number }> {
  const rows = await call(sql, () => sql<{ n: number }[]>`select auth_flow.sign_out_user(${userId}::uuid) as n`);
  return { sessionsEnded: rows[0]!.n };
}

export async function exportUser(sql: Sql, userId: string): Promise<Record<string, unknown>> {
  const rows = await call(sql, () => sql<{ doc: Record<string, unknown> | null }[]>`select auth_flow.export_user(${userId}::uuid) as doc`);
  const doc = rows[0]?.doc ?? null;
  if (doc === null) throw new RowguardError('auth', 'export failed: no such user');
  return doc;
}

export async function eraseUser(sql: Sql, userId: string): Promise<Record<string, unknown>> {
  const rows = await call(sql, () => sql<{ counts: Record<string, unknown> | null }[]>`select auth_flow.erase_user(${userId}::uuid) as counts`);
  const counts = rows[0]?.counts ?? null;
  if (counts === null) throw new RowguardError('auth', 'erase failed: no such user');
  return counts;
}

/**
 * A user named on the command line by id or email (administrative commands
 * only: export, erase, link-identity, sign-out --user; never a credential check).
 */
export async function resolveUser(sql: Sql, who: string): Promise<{ id: string; email: string | null }> {
  const rows = await call(sql, () =>
    isUuid(who)
      ? sql<{ id: string; email: string | null }[]>`select u.id::text as id, u.email from auth.users u where u.id = ${who}::uuid`
      : sql<{ id: string; email: string | null }[]>`
          select u.id::text as id, u.email from auth.users u
           where u.email = lower(btrim(${who})) and not u.is_sso_user`,
  );
  if (rows.length === 0) throw new RowguardError('auth', `no user ${who}`);
  return rows[0]!;
}
