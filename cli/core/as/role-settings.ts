/**
 * The impersonated role's own settings, as PostgREST applies them
 * (`PostgREST.Config.Database.queryRoleSettings`): `ALTER ROLE r SET k = v`
 * values from pg_roles.rolconfig (the database-independent ones), limited to
 * settings a user may change (pg_settings.context = 'user', or on PG15+ those
 * the current user was granted SET on), set transaction-locally before the
 * role on every request. `default_transaction_isolation` is not set that way:
 * it becomes the request transaction's isolation level.
 *
 * PostgREST reads them once (at start and on schema reload); so do we, per
 * connection pool. It reads them as its login (authenticator): only roles that
 * login is a direct member of, and only settings that login may set. With
 * `login` given, so do we; without, the connecting user stands in for it.
 */
import type { Sql } from '../db.js';

export interface RoleSettings {
  settings: Record<string, string>;
  /** From ALTER ROLE … SET default_transaction_isolation; null: READ COMMITTED. */
  isolation: string | null;
}

const cache = new WeakMap<Sql, Map<string, Promise<RoleSettings>>>();
/** The reads that have arrived, so a warm request need not wait a turn of the event loop for a settled promise. */
const settled = new WeakMap<Sql, Map<string, RoleSettings>>();

const keyOf = (role: string, login: string | null) => (login === null ? role : `${role}\u0000${login}`);

/** `serverVersion` (server_version_num) decides whether GRANT SET ON PARAMETER exists (15+); the caller has read it. */
export function roleSettings(sql: Sql, role: string, login: string | null, serverVersion: number): Promise<RoleSettings> {
  let perPool = cache.get(sql);
  if (!perPool) cache.set(sql, (perPool = new Map()));
  const key = keyOf(role, login);
  let p = perPool.get(key);
  if (!p) {
    p = readRoleSettings(sql, role, login, serverVersion);
    p.then(
      (rs) => {
        let done = settled.get(sql);
        if (!done) settled.set(sql, (done = new Map()));
        done.set(key, rs);
      },
      // A failed read is not cached: the next request tries again.
      () => perPool!.delete(key),
    );
    perPool.set(key, p);
  }
  return p;
}

/** The role's settings when a read has already arrived, else undefined (then await roleSettings). */
export function knownRoleSettings(sql: Sql, role: string, login: string | null): RoleSettings | undefined {
  return settled.get(sql)?.get(keyOf(role, login));
}

async function readRoleSettings(sql: Sql, role: string, login: string | null, serverVersion: number): Promise<RoleSettings> {
  // has_parameter_privilege exists from PostgreSQL 15 (GRANT SET ON PARAMETER).
  const granted = serverVersion >= 150000 ? (login === null ? sql`or has_parameter_privilege(current_user, ps.name, 'set')` : sql`or has_parameter_privilege(${login}::name, ps.name, 'set')`) : sql``;
  const member =
    login === null
      ? sql``
      : sql`and exists (select from pg_catalog.pg_auth_members m join pg_catalog.pg_roles l on l.oid = m.member where m.roleid = r.oid and l.rolname = ${login})`;
  const rows = await sql<{ key: string; value: string }[]>`
    with kv as (
      select substr(s, 1, strpos(s, '=') - 1) as key, substr(s, strpos(s, '=') + 1) as value
        from pg_catalog.pg_roles r, unnest(r.rolconfig) as s
       where r.rolname = ${role} ${member}
    )
    select kv.key, kv.value
      from kv join pg_catalog.pg_settings ps on ps.name = kv.key
     where ps.context = 'user' ${granted}
     order by kv.key`;
  const settings: Record<string, string> = {};
  let isolation: string | null = null;
  for (const r of rows) {
    if (r.key === 'default_transaction_isolation') isolation = r.value;
    else settings[r.key] = r.value;
  }
  return { settings, isolation };
}
