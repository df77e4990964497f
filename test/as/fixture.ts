/**
 * Test data on top of the project's security schema (sql/, applied with the
 * real migration engine): two GoTrue users and their deployments.
 */
import type { Sql } from '../../cli/core/db.js';

export const USER_A = 'aaaaaaaa-0000-4000-8000-000000000001';
export const USER_B = 'bbbbbbbb-0000-4000-8000-000000000002';

export const SEED_SQL = `
insert into auth.users (id, aud, role, email, phone, raw_app_meta_data, raw_user_meta_data, is_anonymous, created_at) values
  ('${USER_A}', 'authenticated', 'authenticated', 'ann@example.test', null, '{"provider":"email","providers":["email"]}', '{"name":"Ann"}', false, now()),
  ('${USER_B}', 'authenticated', 'authenticated', 'bob@example.test', '15550001', '{"provider":"email","providers":["email"]}', '{}', false, now());
insert into public.deployments (user_id, name) values
  ('${USER_A}', 'ann-prod'), ('${USER_A}', 'ann-staging'), ('${USER_B}', 'bob-prod');`;

export async function seed(sql: Sql): Promise<void> {
  await sql.unsafe(SEED_SQL).simple();
}
