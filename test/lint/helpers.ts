/**
 * Lint test helpers: a template database holding the shared fixture base
 * (auth helpers, schema usage), one throwaway copy per fixture, and runLint
 * over it with the real parser.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, serverUrl } from '../helpers/pg.js';
import { createThrowawayDatabase, withSql, type ThrowawayDatabase } from '../../cli/core/db.js';
import { introspect } from '../../cli/core/catalog/introspect.js';
import type { CatalogModel } from '../../cli/core/catalog/model.js';
import { runLint, type LintInput, type LintResult, type LintSettings } from '../../cli/core/lint/engine.js';
import { loadParser } from '../../cli/core/sql-text.js';

export const FIXTURES = join(REPO_ROOT, 'test', 'lint', 'fixtures');

export const SETTINGS: LintSettings = { schemas: null, anonRole: 'anon', authenticatedRole: 'authenticated', lockTimeout: '5s', ignore: [], configFile: null };

/**
 * Cluster-wide roles the fixtures use (roles outlive databases; created once,
 * concurrently safe), with the attributes sql/0001_roles.sql insists on, since
 * other test files migrate the project's sql/ on the same server.
 */
const ROLES_SQL = `
do $$
declare r record;
begin
  for r in select * from (values ('anon', 'nologin'), ('authenticated', 'nologin'), ('service_role', 'nologin bypassrls'),
                                 ('authenticator', 'login noinherit'), ('rg_lint_app_owner', 'login'), ('rg_lint_nologin_owner', 'nologin')) v(name, attrs) loop
    begin
      if not exists (select from pg_roles where rolname = r.name) then
        execute format('create role %I %s', r.name, r.attrs);
      end if;
    exception when duplicate_object or unique_violation then null;
    end;
  end loop;
end $$;`;

export async function ensureRoles(url: string): Promise<void> {
  await withSql(url, (sql) => sql.unsafe(ROLES_SQL).simple());
}

export async function parseSync(): Promise<(sql: string) => unknown> {
  return (await loadParser()).parseSync;
}

/** A template database with _base.sql applied (on the run's server unless told); drop it when done. */
export async function makeTemplate(server = serverUrl()): Promise<ThrowawayDatabase> {
  await ensureRoles(server);
  const db = await createThrowawayDatabase(server, { prefix: 'rg_lint_tpl' });
  await withSql(db.url, (sql) => sql.unsafe(readFileSync(join(FIXTURES, '_base.sql'), 'utf8')).simple());
  return db;
}

/** Apply `sql` to a fresh copy of the template and read its catalog. */
export async function modelOf(template: ThrowawayDatabase, sqlText: string, apiRoles = ['anon', 'authenticated'], server = serverUrl()): Promise<CatalogModel> {
  const db = await createThrowawayDatabase(server, { prefix: 'rg_lint', template: template.name });
  try {
    await withSql(db.url, (sql) => sql.unsafe(sqlText).simple());
    return await withSql(db.url, (sql) => introspect(sql, { apiRoles, scope: 'full' }));
  } finally {
    await db.drop();
  }
}

export async function lintWith(input: Partial<Omit<LintInput, 'settings'>> & { settings?: Partial<LintSettings> }): Promise<LintResult> {
  return runLint({
    model: input.model ?? null,
    migrations: input.migrations ?? [],
    settings: { ...SETTINGS, ...input.settings },
    parseSync: input.parseSync ?? (await parseSync()),
    parsePlpgsqlSync: input.parsePlpgsqlSync ?? (await loadParser()).parsePlPgSQLSync,
    ...(input.serverVersion !== undefined ? { serverVersion: input.serverVersion } : {}),
    ...(input.modelIsTarget !== undefined ? { modelIsTarget: input.modelIsTarget } : {}),
    ...(input.newFilesArePending !== undefined ? { newFilesArePending: input.newFilesArePending } : {}),
  });
}
