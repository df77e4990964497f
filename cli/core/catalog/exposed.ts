/**
 * The schemas PostgREST serves (db-schemas), as it reads them from the database when the config
 * names none: `ALTER ROLE authenticator [IN DATABASE <this one>] SET pgrst.db_schemas` (PostgREST's
 * in-database configuration reads the settings of the role it logs in as, and no other), else
 * `ALTER DATABASE <this one> SET pgrst.db_schemas` (which PostgREST does not read, taken as the
 * project's word when the role has none), else public. One reading for the catalog, the access
 * matrix and `as`.
 */
import type { Sql } from '../db.js';

/** A scalar SQL expression: the raw pgrst.db_schemas setting that applies to this database, or NULL. */
export const PGRST_DB_SCHEMAS_SQL = `coalesce(
               (select substr(cfg, length('pgrst.db_schemas=') + 1)
                from pg_catalog.pg_db_role_setting s join pg_catalog.pg_roles r on r.oid = s.setrole cross join lateral unnest(s.setconfig) cfg
                where r.rolname = 'authenticator' and s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
                  and starts_with(cfg, 'pgrst.db_schemas=') order by s.setdatabase desc limit 1),
               (select substr(cfg, length('pgrst.db_schemas=') + 1)
                from pg_catalog.pg_db_role_setting s cross join lateral unnest(s.setconfig) cfg
                where s.setdatabase = (select oid from pg_catalog.pg_database where datname = current_database())
                  and s.setrole = 0 and starts_with(cfg, 'pgrst.db_schemas=') limit 1)
             )`;

/** The configured list, else the setting's schemas (`public, "My Api"`), else public. */
export function schemasFrom(configured: readonly string[] | null, setting: string | null): string[] {
  if (configured && configured.length) return [...configured];
  const listed = (setting ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^"(.*)"$/, '$1'))
    .filter((s) => s !== '');
  return listed.length ? listed : ['public'];
}

/** Read them from the database (one query, none when the config names them). */
export async function readExposedSchemas(sql: Sql, configured: readonly string[] | null): Promise<string[]> {
  if (configured && configured.length) return [...configured];
  const [row] = await sql.unsafe<{ v: string | null }[]>(`select ${PGRST_DB_SCHEMAS_SQL} as v`);
  return schemasFrom(null, row?.v ?? null);
}
