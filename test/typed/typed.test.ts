// Typed queries: kysely builds SQL typed by generated/db.ts, postgres.js runs it on our connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import { qb, run } from '../../cli/core/typed.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await migrate(db.url);
});
afterAll(async () => db?.drop());

describe('typed queries through kysely', () => {
  it('compiles to parameterised SQL and returns typed rows from the real schema', async () => {
    const q = qb().selectFrom('auth.users').select(['id', 'email']).where('email', '=', 'nobody@example.test');
    const compiled = q.compile();
    expect(compiled.sql).toBe('select "id", "email" from "auth"."users" where "email" = $1');
    expect(compiled.parameters).toEqual(['nobody@example.test']);
    const rows = await run(db.sql, q);
    expect(rows).toEqual([]);
    const [count] = await run(db.sql, qb().selectFrom('audit.log').select((eb) => eb.fn.countAll<string>().as('n')));
    expect(Number(count!.n)).toBeGreaterThanOrEqual(0);
  });
});
