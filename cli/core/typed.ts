/**
 * Typed queries over the project's own schema: kysely builds and types the SQL
 * from `generated/db.ts` (written by `rowguard codegen`), postgres.js runs it.
 * Kysely is used as a query builder only (its DummyDriver never connects), so
 * the CLI keeps one driver and one place that opens connections (db.ts).
 */
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type Compilable,
  type InferResult,
} from 'kysely';
import type { DB } from '../../generated/db.js';
import type { Sql, TransactionSql } from './db.js';

export type { DB };

let builder: Kysely<DB> | undefined;

/** The query builder for the project's schema (no connection of its own). */
export function qb(): Kysely<DB> {
  builder ??= new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  return builder;
}

/** Run a kysely query on a postgres.js connection or transaction; rows typed by kysely. */
export async function run<Q extends Compilable<unknown>>(sql: Sql | TransactionSql, query: Q): Promise<Array<InferResult<Q>[number]>> {
  const compiled = query.compile();
  const rows = await sql.unsafe(compiled.sql, compiled.parameters as never[]);
  return rows as unknown as Array<InferResult<Q>[number]>;
}
