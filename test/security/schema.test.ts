/**
 * The shape of the security model in the catalogs: roles, grants, RLS flags,
 * policy form, indexes, SECURITY DEFINER hygiene; the migrations running
 * concurrently in several databases of one cluster; and policies/ describing
 * exactly what sql/ builds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDatabase, migrate, REPO_ROOT, type TestDatabase } from '../helpers/pg.js';
import type { TransactionSql } from '../../cli/core/db.js';

let db: TestDatabase;
const API_ROLES = ['anon', 'authenticated', 'service_role', 'staff'];

beforeAll(async () => {
  db = await freshDatabase('rg_schema');
  await migrate(db.url);
});
afterAll(async () => {
  await db?.drop();
});

describe('migrations in one cluster', () => {
  it('run concurrently in four databases (cluster-wide roles created race-safely), then again as a no-op', async () => {
    const dbs = await Promise.all([1, 2, 3, 4].map(() => freshDatabase('rg_concurrent')));
    try {
      await Promise.all(dbs.map((d) => migrate(d.url)));
      await Promise.all(dbs.map((d) => migrate(d.url)));
      for (const d of dbs) {
        const [r] = await d.sql<{ n: number }[]>`select count(*)::int as n from rowguard.migrations where status = 'applied'`;
        expect(r!.n).toBe(readdirSync(join(REPO_ROOT, 'sql')).filter((f) => /^\d+_.*\.sql$/.test(f)).length);
      }
    } finally {
      await Promise.all(dbs.map((d) => d.drop()));
    }
  });
  it('the role block of 0001 survives 8 transactions creating the same new roles at once', async () => {
    // The real roles already exist on this server, so the race is exercised on
    // fresh names: the same block with every role name prefixed.
    const text = readFileSync(join(REPO_ROOT, 'sql', '0001_roles.sql'), 'utf8');
    const block = /do \$roles\$[\s\S]*?\$roles\$;/.exec(text)![0];
    const prefix = `rg_race_${Date.now().toString(36)}_`;
    const names = ['anon', 'authenticated', 'service_role', 'staff', 'authenticator'];
    const renamed = block.replace(/'(anon|authenticated|service_role|staff|authenticator)'/g, (_m, n: string) => `'${prefix}${n}'`);
    expect(renamed).not.toBe(block);
    const { connect } = await import('../../cli/core/db.js');
    const conns = Array.from({ length: 8 }, () => connect(db.url, { max: 1 }));
    try {
      // Each transaction holds its (uncommitted) CREATE ROLEs for a moment, so
      // the others find nothing at their check and collide on the catalog's unique index.
      await Promise.all(conns.map((c) => c.begin(async (tx) => {
        await tx.unsafe(renamed);
        await tx`select pg_sleep(0.2)`;
      })));
      const [r] = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_roles where rolname like ${prefix + '%'}`;
      expect(r!.n).toBe(names.length);
      const [m] = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_auth_members am join pg_roles r on r.oid = am.member where r.rolname like ${prefix + '%'}`;
      expect(m!.n).toBe(5);
    } finally {
      await Promise.all(conns.map((c) => c.end()));
      for (const n of ['authenticator', 'staff', 'anon', 'authenticated', 'service_role']) await db.sql.unsafe(`drop role if exists ${prefix}${n}`);
    }
  });
  it('no migration file sets a password', () => {
    for (const f of readdirSync(join(REPO_ROOT, 'sql'))) {
      const text = readFileSync(join(REPO_ROOT, 'sql', f), 'utf8');
      expect(/\b(password|encrypted password)\s+'/i.test(text), f).toBe(false);
    }
  });
});

describe('roles', () => {
  it('have the documented attributes and memberships, and no password', async () => {
    const roles = await db.sql<Array<{ rolname: string; rolcanlogin: boolean; rolinherit: boolean; rolbypassrls: boolean; rolsuper: boolean; haspw: boolean }>>`
      select rolname, rolcanlogin, rolinherit, rolbypassrls, rolsuper, rolpassword is not null as haspw
      from pg_authid where rolname in ('anon', 'authenticated', 'service_role', 'staff', 'authenticator') order by rolname`;
    const by = Object.fromEntries(roles.map((r) => [r.rolname, r]));
    expect(by['anon']).toMatchObject({ rolcanlogin: false, rolbypassrls: false, rolsuper: false });
    expect(by['authenticated']).toMatchObject({ rolcanlogin: false, rolbypassrls: false, rolsuper: false });
    expect(by['staff']).toMatchObject({ rolcanlogin: false, rolbypassrls: false, rolsuper: false });
    expect(by['service_role']).toMatchObject({ rolcanlogin: false, rolbypassrls: true, rolsuper: false });
    expect(by['authenticator']).toMatchObject({ rolcanlogin: true, rolinherit: false, rolbypassrls: false, rolsuper: false, haspw: false });
    // Roles are the server's: test files running beside this one grant their own roles (all named
    // rg_…, which sql/ never makes) to authenticator while they run. They are not sql/'s.
    const members = await db.sql<{ granted: string; member: string }[]>`
      select r.rolname as granted, m.rolname as member from pg_auth_members am
      join pg_roles r on r.oid = am.roleid join pg_roles m on m.oid = am.member
      where m.rolname in ('authenticator', 'staff') and r.rolname not like 'rg\\_%' order by 2, 1`;
    expect(members).toEqual([
      { granted: 'anon', member: 'authenticator' },
      { granted: 'authenticated', member: 'authenticator' },
      { granted: 'service_role', member: 'authenticator' },
      { granted: 'staff', member: 'authenticator' },
      { granted: 'authenticated', member: 'staff' },
    ]);
  });
});

describe('privileges', () => {
  it('no API role holds any privilege on a table or sequence in auth, audit or private', async () => {
    const rows = await db.sql<{ role: string; rel: string }[]>`
      select r.role, format('%I.%I', n.nspname, c.relname) as rel
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      cross join unnest(${API_ROLES}::text[]) as r(role)
      where n.nspname in ('auth', 'audit', 'private') and c.relkind in ('r', 'p', 'S', 'v', 'm')
        and (case when c.relkind = 'S' then has_sequence_privilege(r.role, c.oid, 'USAGE,SELECT,UPDATE')
                  else has_table_privilege(r.role, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER') end
             or has_any_column_privilege(r.role, c.oid, 'SELECT,INSERT,UPDATE,REFERENCES') and c.relkind <> 'S')`;
    expect(rows).toEqual([]);
  });
  it('schema audit is unreachable for API roles; private only for staff (to call is_staff)', async () => {
    const rows = await db.sql<{ role: string; schema: string }[]>`
      select r.role, s.schema from unnest(${API_ROLES}::text[]) r(role) cross join unnest(array['audit', 'private']) s(schema)
      where has_schema_privilege(r.role, s.schema, 'USAGE')`;
    expect(rows).toEqual([{ role: 'staff', schema: 'private' }]);
  });
  it('API roles can execute only the claim helpers (and staff private.is_staff)', async () => {
    const rows = await db.sql<{ role: string; fn: string }[]>`
      select r.role, p.oid::regprocedure::text as fn
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      cross join unnest(${['anon', 'authenticated', 'service_role']}::text[]) r(role)
      where n.nspname in ('auth', 'audit', 'private', 'public') and has_function_privilege(r.role, p.oid, 'EXECUTE')
      order by 1, 2`;
    const expected = ['auth.email()', 'auth.jwt()', 'auth.role()', 'auth.uid()'];
    for (const role of ['anon', 'authenticated', 'service_role']) expect(rows.filter((r) => r.role === role).map((r) => r.fn)).toEqual(expected);
    const [staff] = await db.sql<{ ok: boolean }[]>`select has_function_privilege('staff', 'private.is_staff()', 'EXECUTE') as ok`;
    expect(staff!.ok).toBe(true);
  });
  it('anon has no privilege on any table in public; PUBLIC has none either', async () => {
    const rows = await db.sql<{ rel: string }[]>`
      select c.relname as rel from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p')
        and (has_table_privilege('anon', c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE') or has_any_column_privilege('anon', c.oid, 'SELECT,INSERT,UPDATE')
             or exists (select from aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a where a.grantee = 0))`;
    expect(rows).toEqual([]);
  });
});

describe('row level security', () => {
  it('is enabled on every table of auth, audit, private and public, and forced on every exposed (public) table', async () => {
    const rows = await db.sql<{ rel: string; schema: string; rls: boolean; force: boolean }[]>`
      select format('%I.%I', n.nspname, c.relname) as rel, n.nspname as schema, c.relrowsecurity as rls, c.relforcerowsecurity as force
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('auth', 'audit', 'private', 'public') and c.relkind in ('r', 'p')`;
    expect(rows.length).toBeGreaterThanOrEqual(11);
    for (const r of rows) {
      expect(r.rls, r.rel).toBe(true);
      if (r.schema === 'public') expect(r.force, r.rel).toBe(true);
    }
  });
  it('every policy names its roles (never PUBLIC) and calls auth.*() only inside a scalar sub-select', async () => {
    const policies = await db.sql<{ name: string; roles: string[]; qual: string | null; check: string | null }[]>`
      select p.polname as name, array(select coalesce(r.rolname, 'PUBLIC') from unnest(p.polroles) o left join pg_roles r on r.oid = o) as roles,
             pg_get_expr(p.polqual, p.polrelid) as qual, pg_get_expr(p.polwithcheck, p.polrelid) as check
      from pg_policy p`;
    expect(policies.length).toBeGreaterThanOrEqual(9);
    for (const p of policies) {
      expect(p.roles, p.name).not.toContain('PUBLIC');
      for (const expr of [p.qual, p.check]) {
        if (!expr) continue;
        const calls = expr.match(/auth\.\w+\(\)|private\.\w+\(\)/g) ?? [];
        const wrapped = expr.match(/\( SELECT (auth|private)\.\w+\(\) AS \w+\)/g) ?? [];
        expect(wrapped.length, `${p.name}: ${expr}`).toBe(calls.length);
      }
    }
  });
  it('every column a policy compares to a claim has an index leading on it', async () => {
    const rows = await db.sql<{ rel: string; col: string; indexed: boolean }[]>`
      select distinct p.polrelid::regclass::text as rel, a.attname as col,
        exists (select from pg_index i where i.indrelid = p.polrelid and i.indkey[0] = a.attnum) as indexed
      from pg_policy p join pg_attribute a on a.attrelid = p.polrelid and a.attnum > 0
      where coalesce(pg_get_expr(p.polqual, p.polrelid), '') || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
            ~ ('\\(\\s*SELECT auth\\.uid\\(\\) AS uid\\)\\s*=\\s*' || quote_ident(a.attname) || '\\M')`;
    expect(rows.map((r) => `${r.rel}.${r.col}`).sort()).toEqual(['cloud_credentials.user_id', 'deployments.user_id']);
    for (const r of rows) expect(r.indexed, `${r.rel}.${r.col}`).toBe(true);
  });
});

describe('functions', () => {
  it('every SECURITY DEFINER function pins search_path to empty; every other one does too, or has an SQL-standard body bound at creation', async () => {
    const rows = await db.sql<{ fn: string; definer: boolean; config: string[] | null; standard: boolean }[]>`
      select p.oid::regprocedure::text as fn, p.prosecdef as definer, p.proconfig as config, p.prosqlbody is not null as standard
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('auth', 'audit', 'private', 'public')`;
    expect(rows.filter((r) => r.definer).length).toBeGreaterThanOrEqual(6);
    for (const r of rows) {
      if (r.definer || !r.standard) expect(r.config ?? [], r.fn).toContain('search_path=""');
    }
    // The claim helpers are the SQL-standard ones (so the planner can inline them).
    expect(rows.filter((r) => r.standard).map((r) => r.fn).sort()).toEqual(['auth.email()', 'auth.jwt()', 'auth.role()', 'auth.uid()']);
  });
  it('SECURITY DEFINER functions live only in unexposed schemas', async () => {
    const rows = await db.sql<{ fn: string }[]>`
      select p.oid::regprocedure::text as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where p.prosecdef and n.nspname in ('public', 'auth')`;
    expect(rows).toEqual([]);
  });
});

// policies/ is the declarative desired state of sql/: tearing down the RLS
// state of every table it names and re-applying the files must reproduce the
// catalog exactly (Postgres normalises expressions, so formatting is free).
describe('policies/ matches what sql/ builds', () => {
  const dir = join(REPO_ROOT, 'policies');
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const tables = files.map((f) => f.replace(/\.sql$/, ''));

  async function snapshot(tx: TransactionSql) {
    const rel = await tx<{ rel: string; rls: boolean; force: boolean }[]>`
      select c.oid::regclass::text as rel, c.relrowsecurity as rls, c.relforcerowsecurity as force
      from pg_class c where c.oid = any(${tables}::regclass[]) order by 1`;
    const pol = await tx`
      select schemaname, tablename, policyname, permissive, cmd, (select array_agg(x order by x) from unnest(roles) x) as roles, qual, with_check
      from pg_policies where format('%s.%s', schemaname, tablename) = any(${tables}) order by 1, 2, 3`;
    const grants = await tx`
      select table_schema, table_name, grantee, privilege_type, null as column_name from information_schema.role_table_grants
      where grantee = any(${API_ROLES}) and format('%s.%s', table_schema, table_name) = any(${tables})
      union all
      select table_schema, table_name, grantee, privilege_type, column_name from information_schema.column_privileges
      where grantee = any(${API_ROLES}) and format('%s.%s', table_schema, table_name) = any(${tables})
      order by 1, 2, 3, 4, 5`;
    return { rel, pol, grants };
  }

  it('has one file per table of auth, audit, private and public (and of every other schema it covers)', async () => {
    const schemas = [...new Set(['auth', 'audit', 'private', 'public', ...tables.map((t) => t.split('.')[0]!)])];
    const rows = await db.sql<{ rel: string }[]>`
      select format('%s.%s', n.nspname, c.relname) as rel from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any(${schemas}) and c.relkind in ('r', 'p') and not c.relispartition order by 1`;
    expect([...tables].sort()).toEqual(rows.map((r) => r.rel).sort());
  });

  it('re-applying the files after a teardown reproduces RLS flags, policies and API grants exactly', async () => {
    await db.sql
      .begin(async (tx) => {
        const before = await snapshot(tx);
        expect(before.pol.length).toBeGreaterThanOrEqual(9);
        for (const t of tables) {
          const pols = await tx<{ policyname: string }[]>`select policyname from pg_policies where format('%s.%s', schemaname, tablename) = ${t}`;
          for (const p of pols) await tx.unsafe(`drop policy ${JSON.stringify(p.policyname)} on ${t}`);
          await tx.unsafe(`revoke all on ${t} from ${API_ROLES.join(', ')}`);
          await tx.unsafe(`alter table ${t} no force row level security, disable row level security`);
        }
        const torn = await snapshot(tx);
        expect(torn.pol).toEqual([]);
        for (const f of files) await tx.unsafe(readFileSync(join(dir, f), 'utf8'));
        expect(await snapshot(tx)).toEqual(before);
        throw new Error('rollback');
      })
      .catch((e: Error) => {
        if (e.message !== 'rollback') throw e;
      });
  });
});
