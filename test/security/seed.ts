/**
 * Shared seed for the security and audit tests: users A and B, a staff user,
 * a "demoted" user (JWT role staff, not in private.staff_members), and rows
 * owned by each. Requests are run the way PostgREST runs them (runAsRequest).
 */
import { expect } from 'vitest';
import type { Sql, TransactionSql } from '../../cli/core/db.js';
import { runAsRequest, type ApiRequest } from '../../cli/core/postgrest/request.js';

export const IDS = {
  a: 'aaaaaaaa-1111-4000-8000-00000000000a',
  b: 'bbbbbbbb-1111-4000-8000-00000000000b',
  staff: 'cccccccc-1111-4000-8000-00000000000c',
  demoted: 'dddddddd-1111-4000-8000-00000000000d',
} as const;
export type Who = keyof typeof IDS;

export const EMAILS: Record<Who, string> = {
  a: 'a@example.test',
  b: 'b@example.test',
  staff: 'helper@helpers',
  demoted: 'ex-helper@helpers',
};

/** Deployments owned by each user (different counts so "own" is recognisable). */
export const DEPLOYMENTS: Record<Who, number> = { a: 3, b: 2, staff: 1, demoted: 1 };
export const CREDENTIALS: Record<Who, number> = { a: 2, b: 1, staff: 1, demoted: 1 };
export const TOTAL_DEPLOYMENTS = Object.values(DEPLOYMENTS).reduce((s, n) => s + n, 0);
export const TOTAL_CREDENTIALS = Object.values(CREDENTIALS).reduce((s, n) => s + n, 0);

/** Insert the users and their rows as the migration owner (a superuser in tests). */
export async function seed(sql: Sql): Promise<void> {
  for (const who of Object.keys(IDS) as Who[]) {
    const role = who === 'staff' || who === 'demoted' ? 'staff' : 'authenticated';
    await sql`insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
              values ('00000000-0000-0000-0000-000000000000', ${IDS[who]}, 'authenticated', ${role}, ${EMAILS[who]},
                      '{"provider":"email","providers":["email"]}', '{}', now(), now())`;
    for (let i = 0; i < DEPLOYMENTS[who]; i++) {
      await sql`insert into public.deployments (user_id, name) values (${IDS[who]}, ${`${who}-deployment-${i}`})`;
    }
    for (let i = 0; i < CREDENTIALS[who]; i++) {
      await sql`insert into public.cloud_credentials (user_id, encrypted_password) values (${IDS[who]}, ${`seed-password-${who}-${i}`})`;
    }
  }
  await sql`insert into private.staff_members (user_id, note) values (${IDS.staff}, 'test staff')`;
}

/** The claims GoTrue would sign for a user (conventions §3). */
export function userClaims(who: Who, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'http://localhost:9999/auth/v1',
    sub: IDS[who],
    aud: 'authenticated',
    exp: now + 3600,
    iat: now,
    email: EMAILS[who],
    phone: '',
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {},
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: now }],
    session_id: '00000000-0000-4000-8000-0000000000ff',
    is_anonymous: false,
    ...extra,
  };
}

export type Actor = 'anon' | 'a' | 'b' | 'staff' | 'service_role';

export function requestFor(actor: Actor | Who, extra: Partial<ApiRequest> = {}): ApiRequest {
  if (actor === 'anon') return { role: 'anon', claims: {}, ...extra };
  if (actor === 'service_role') return { role: 'service_role', claims: { iss: 'supabase', ref: 'test' }, ...extra };
  const role = actor === 'staff' || actor === 'demoted' ? 'staff' : 'authenticated';
  return { role, claims: userClaims(actor), ...extra };
}

/** Run `fn` as a PostgREST request of `actor`, rolled back. */
export function as<T>(sql: Sql, actor: Actor | Who, fn: (tx: TransactionSql) => Promise<T>, extra: Partial<ApiRequest> = {}): Promise<T> {
  return runAsRequest(sql, requestFor(actor, extra), fn);
}

/** The SQLSTATE a promise rejects with (fails the test when it resolves). */
export async function sqlstateOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? code : `not a database error: ${String(err)}`;
  }
  expect.fail('expected the statement to fail');
}
