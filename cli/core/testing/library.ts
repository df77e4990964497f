/**
 * Installing the assertion library (cli/assets/pgtap/*.sql, in file order)
 * and the tests.* helpers into a database: plain SQL, run in one transaction
 * by the connecting user. No CREATE EXTENSION and no superuser: CREATE on the
 * database is enough, which any owner of a throwaway database has.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { assetPath } from '../assets.js';
import type { Sql } from '../db.js';
import { RowguardError, pgFieldsOf } from '../errors.js';

/** Where the pgTAP-compatible functions live; appended to every test session's search_path. */
export const LIBRARY_SCHEMA = 'rowguard_tap';

let cached: string | undefined;

/** The whole installation script. */
export function librarySql(): string {
  if (cached) return cached;
  const dir = assetPath('pgtap');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const body = files.map((f) => `-- ${f}\n` + readFileSync(`${dir}/${f}`, 'utf8')).join('\n');
  cached = [
    `CREATE SCHEMA ${LIBRARY_SCHEMA};`,
    `SET LOCAL search_path = ${LIBRARY_SCHEMA}, pg_catalog;`,
    body,
    // Any role a test switches to must reach the functions (and the view
    // has_function reads), even where the schema under test revoked the
    // PUBLIC defaults.
    `GRANT USAGE ON SCHEMA ${LIBRARY_SCHEMA} TO PUBLIC;`,
    `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${LIBRARY_SCHEMA} TO PUBLIC;`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${LIBRARY_SCHEMA} TO PUBLIC;`,
    `GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA ${LIBRARY_SCHEMA} TO PUBLIC;`,
    `SET LOCAL search_path = pg_catalog;`,
    readFileSync(assetPath('tests-helpers.sql'), 'utf8'),
  ].join('\n');
  return cached;
}

export async function installLibrary(sql: Sql): Promise<void> {
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe(librarySql()).simple();
    });
  } catch (err) {
    const pg = pgFieldsOf(err);
    if (!pg) throw err;
    const hint =
      pg.sqlstate === '42P06' || pg.sqlstate === '42723'
        ? `the schema under test already defines ${LIBRARY_SCHEMA}.* or a tests.* helper with the same signature; rename it`
        : undefined;
    throw new RowguardError('sql', `installing the test library failed: ${pg.message}`, { pg, hint, cause: err });
  }
}
