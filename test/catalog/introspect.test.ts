import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { freshDatabase, type TestDatabase } from '../helpers/pg.js';
import { arrayLiteral, withSql } from '../../cli/core/db.js';
import { introspect, policySliceFilter } from '../../cli/core/catalog/introspect.js';
import { findRelation, policyAppliesTo, exposedSchemas, type CatalogModel } from '../../cli/core/catalog/model.js';

let db: TestDatabase;
let model: CatalogModel;

beforeAll(async () => {
  db = await freshDatabase();
  await db.sql.unsafe(`
    do $$ begin
      if not exists (select from pg_roles where rolname = 'anon') then create role anon nologin; end if;
      if not exists (select from pg_roles where rolname = 'authenticated') then create role authenticated nologin; end if;
    exception when duplicate_object or unique_violation then null; end $$;
    create schema "App Data";
    create table "App Data"."Odd ""Name""" (id uuid primary key, user_id uuid not null, secret text);
    create index on "App Data"."Odd ""Name""" (user_id);
    alter table "App Data"."Odd ""Name""" enable row level security;
    create policy "own rows" on "App Data"."Odd ""Name""" for select to authenticated, anon using (user_id = current_setting('x.uid', true)::uuid);
    create policy p_all on "App Data"."Odd ""Name""" as restrictive using (true);
    grant usage on schema "App Data" to authenticated;
    grant select, insert on "App Data"."Odd ""Name""" to authenticated;
    create table public.parent (id int, at date) partition by range (at);
    create table public.child partition of public.parent for values from ('2020-01-01') to ('2021-01-01');
    create view public.v with (security_invoker = true) as select id from public.parent;
    create function public.f(a int, b text default 'x') returns int language sql security definer set search_path = '' as 'select 1';
    create function public.trg() returns trigger language plpgsql as 'begin return new; end';
    create trigger t before insert or update on public.parent for each row execute function public.trg();
    alter database ${db.name} set pgrst.db_schemas = 'public, "App Data"';
    do $$ begin
      create role "acl ""odd"" role=x" nologin;
    exception when duplicate_object or unique_violation then null; end $$;
    grant update, references on "App Data"."Odd ""Name""" to "acl ""odd"" role=x" with grant option;
    grant select on public.v to public;
    grant usage on schema "App Data" to "acl ""odd"" role=x";
    create function public.g() returns int language sql as 'select 1';
    revoke execute on function public.g() from public;
    grant execute on function public.g() to "acl ""odd"" role=x";
  `);
  model = await introspect(db.sql, { apiRoles: ['anon', 'authenticated', 'service_role_missing'] });
});

afterAll(async () => {
  await db?.drop();
});

describe('catalog introspection', () => {
  it('reads quoted names, policies with roles as a sorted set and PUBLIC as a keyword', () => {
    const rel = findRelation(model, 'App Data.Odd "Name"');
    expect(rel).toBeDefined();
    expect(rel!.rls).toBe(true);
    expect(rel!.forceRls).toBe(false);
    const own = rel!.policies.find((p) => p.name === 'own rows')!;
    expect(own.command).toBe('SELECT');
    expect(own.permissive).toBe(true);
    expect(own.roles).toEqual(['anon', 'authenticated']);
    // Empty search_path: functions and types come back schema-qualified.
    expect(own.using).toContain('current_setting(');
    expect(own.using).toContain('::uuid');
    const restrictive = rel!.policies.find((p) => p.name === 'p_all')!;
    expect(restrictive.permissive).toBe(false);
    expect(restrictive.roles).toEqual(['PUBLIC']);
    expect(restrictive.command).toBe('ALL');
    expect(policyAppliesTo(model, restrictive, 'anon')).toBe(true);
    expect(policyAppliesTo(model, own, 'anon')).toBe(true);
  });

  it('reports effective API privileges, grants and indexes', () => {
    const rel = findRelation(model, 'App Data.Odd "Name"')!;
    expect(rel.apiAccess['authenticated']).toEqual(['SELECT', 'INSERT']);
    expect(rel.apiAccess['anon']).toEqual([]);
    expect(Object.keys(rel.apiAccess)).toEqual(['anon', 'authenticated']); // missing roles are left out
    expect(rel.grants.find((g) => g.grantee === 'authenticated')?.privileges).toEqual(['SELECT', 'INSERT']);
    expect(rel.indexes.some((i) => i.columns[0] === 'user_id')).toBe(true);
    expect(rel.indexes.some((i) => i.primary && i.columns[0] === 'id')).toBe(true);
  });

  it('reads partitions, views, functions and triggers', () => {
    expect(findRelation(model, 'public.parent')!.kind).toBe('partitioned');
    const child = findRelation(model, 'public.child')!;
    expect(child.isPartition).toBe(true);
    expect(child.partitionOf).toBe('public.parent');
    const v = findRelation(model, 'public.v')!;
    expect(v.kind).toBe('view');
    expect(v.options['security_invoker']).toBe('true');
    expect(v.dependsOn).toContain('public.parent');
    const f = model.functions.find((x) => x.name === 'f')!;
    expect(f.securityDefiner).toBe(true);
    expect(f.config).toEqual(['search_path=""']);
    expect(f.signature).toBe('public.f(a integer, b text)');
    // Functions are executable by PUBLIC by default, hence by every API role.
    expect(f.executableBy).toEqual(['anon', 'authenticated']);
    expect(model.functions.find((x) => x.name === 'trg')!.isTrigger).toBe(true);
    const t = findRelation(model, 'public.parent')!.triggers[0]!;
    expect(t).toMatchObject({ name: 't', timing: 'BEFORE', level: 'ROW', events: ['INSERT', 'UPDATE'], function: 'public.trg' });
  });

  it('finds pgrst.db_schemas on the database and uses it for exposure', () => {
    expect(model.pgrstDbSchemas).toBe('public, "App Data"');
    expect(exposedSchemas(model, null)).toEqual(['public', 'App Data']);
    expect(exposedSchemas(model, ['api'])).toEqual(['api']);
  });

  it('reads ACLs as aclexplode() reports them (quoted grantees, PUBLIC, grant options)', async () => {
    // The model reads aclitem text; aclexplode on the server is the reference.
    type Row = { name: string; grantee: string; privilege: string };
    const exploded = (acl: string, from: string) =>
      db.sql.unsafe<Row[]>(`
        select name, case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end as grantee, a.privilege_type as privilege
        from (select ${acl} as acl, name from ${from}) x cross join lateral aclexplode(x.acl) a`);
    const grantsOf = (rows: Row[], name: string) => rows.filter((r) => r.name === name).map((r) => `${r.grantee}:${r.privilege}`).sort();
    const flat = (grants: ReadonlyArray<{ grantee: string; privileges: readonly string[] }>) => grants.flatMap((g) => g.privileges.map((p) => `${g.grantee}:${p}`)).sort();

    const rels = await exploded(
      `coalesce(c.relacl, acldefault('r', c.relowner))`,
      `pg_class c join pg_namespace n on n.oid = c.relnamespace, lateral (select format('%s.%s', n.nspname, c.relname) as name) q where n.nspname in ('public', 'App Data') and c.relkind in ('r', 'p', 'v')`,
    );
    const mine = model.relations.filter((x) => x.schema === 'public' || x.schema === 'App Data');
    expect(mine.length).toBeGreaterThan(3);
    for (const r of mine) expect(flat(r.grants), r.qualified).toEqual(grantsOf(rels, r.qualified));
    const odd = findRelation(model, 'App Data.Odd "Name"')!;
    expect(odd.grants.find((g) => g.grantee === 'acl "odd" role=x')?.privileges).toEqual(['UPDATE', 'REFERENCES']);
    expect(findRelation(model, 'public.v')!.grants.find((g) => g.grantee === 'PUBLIC')?.privileges).toEqual(['SELECT']);

    const schemas = await exploded(`coalesce(n.nspacl, acldefault('n', n.nspowner))`, `pg_namespace n, lateral (select n.nspname as name) q`);
    for (const s of model.schemas) expect(flat(s.grants), s.name).toEqual(grantsOf(schemas, s.name));

    const fns = await exploded(
      `coalesce(p.proacl, acldefault('f', p.proowner))`,
      `pg_proc p join pg_namespace n on n.oid = p.pronamespace, lateral (select p.proname as name) q where n.nspname = 'public'`,
    );
    for (const f of model.functions.filter((x) => x.schema === 'public')) expect(flat(f.grants), f.name).toEqual(grantsOf(fns, f.name));
    expect(model.functions.find((x) => x.name === 'g')!.grants.map((g) => g.grantee)).toContain('acl "odd" role=x');
    expect(model.functions.find((x) => x.name === 'g')!.grants.map((g) => g.grantee)).not.toContain('PUBLIC');
  });

  it('reports effective privileges as has_table_privilege does for every relation', async () => {
    const rows = await db.sql.unsafe<Array<{ name: string; role: string; privs: string[] }>>(`
      select format('%s.%s', n.nspname, c.relname) as name, r as role,
             array(select p from unnest(array['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p where has_table_privilege(r, c.oid, p)) as privs
      from pg_class c join pg_namespace n on n.oid = c.relnamespace cross join unnest(array['anon', 'authenticated']) r
      where n.nspname in ('public', 'App Data') and c.relkind in ('r', 'p', 'v', 'm', 'f')`);
    const mine = model.relations.filter((x) => x.schema === 'public' || x.schema === 'App Data');
    expect(mine.length).toBe(rows.length / 2);
    for (const r of rows) expect(findRelation(model, r.name)!.apiAccess[r.role], `${r.role} on ${r.name}`).toEqual(r.privs);
    expect(findRelation(model, 'public.parent')!.apiAccess).toEqual(findRelation(model, 'public.child')!.apiAccess);
    expect(findRelation(model, 'App Data.Odd "Name"')!.apiAccess['authenticated']).toEqual(['SELECT', 'INSERT']);
  });

  it('splits the policies of tables created alike across the lanes, every table in exactly one slice', async () => {
    // Tables made by one loop get oids a fixed stride apart: slicing by polrelid modulo
    // the lanes put them all in one slice.
    await db.sql.unsafe(`
      create schema stride;
      do $$ begin
        for i in 1..60 loop
          execute format('create table stride.s%s (id int primary key, user_id uuid); create policy p on stride.s%s using (user_id is not null)', i, i);
        end loop;
      end $$;`);
    for (const slices of [2, 3]) {
      const counts = await Promise.all(
        Array.from({ length: slices }, async (_, i) => {
          const [r] = await db.sql.unsafe<Array<{ n: number }>>(
            `select count(*)::int as n from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace ns on ns.oid = c.relnamespace
             where ns.nspname = 'stride' and ${policySliceFilter(i, slices)}`,
          );
          return r!.n;
        }),
      );
      expect(counts.reduce((a, b) => a + b), `${slices} slices`).toBe(60);
      for (const n of counts) expect(n, `${slices} slices: ${counts.join(', ')}`).toBeGreaterThanOrEqual(60 / slices / 2);
    }
    const read = await introspect(db.sql, { apiRoles: ['anon', 'authenticated'], scope: 'policies' });
    expect(read.relations.filter((r) => r.schema === 'stride').map((r) => r.policies.length)).toEqual(Array(60).fill(1));
    await db.sql.unsafe('drop schema stride cascade');
  });

  it('reads the same model without the driver fetching array types (arrays go as text literals)', async () => {
    const odd = ['anon', 'authenticated', 'acl "odd" role=x', 'back\\slash, {brace}', ''];
    const back = await withSql(db.url, (s) => s<{ a: string[] }[]>`select json_agg(x order by n) as a from unnest(${arrayLiteral(odd)}::text[]) with ordinality as u(x, n)`, { fetchTypes: false });
    expect(back[0]!.a).toEqual(odd);
    const roles = ['anon', 'authenticated', 'acl "odd" role=x'];
    const read = (fetchTypes: boolean) => withSql(db.url, (s) => introspect(s, { apiRoles: roles, scope: 'full' }), { max: 3, fetchTypes });
    // Roles are cluster-wide, and other test files create and grant theirs meanwhile: the lean read
    // is compared with plain reads on both sides of it that agree (so nothing changed in between).
    let plain = await read(true);
    let lean = await read(false);
    for (let tries = 0; tries < 5; tries++) {
      const after = await read(true);
      if (isDeepStrictEqual(after, plain)) break;
      [plain, lean] = [after, await read(false)];
    }
    expect(lean).toEqual(plain);
    expect(lean.relations.some((r) => Object.keys(r.apiAccess).includes('acl "odd" role=x'))).toBe(true);
  });

  it('the policies scope reads policies and grants but not columns', async () => {
    const small = await introspect(db.sql, { apiRoles: ['anon', 'authenticated'], scope: 'policies' });
    const rel = findRelation(small, 'App Data.Odd "Name"')!;
    expect(rel.policies.map((p) => p.name)).toEqual(['own rows', 'p_all']);
    expect(rel.columns).toEqual([]);
  });

  it("reads Supabase Storage's public bucket ids from storage.buckets' rows; null with no such table or none this connection may read", async () => {
    expect(model.publicBuckets).toBeNull();
    const other = await freshDatabase();
    try {
      await other.sql.unsafe(`create schema storage;
        create table storage.buckets (id text primary key, name text, public boolean not null default false);
        insert into storage.buckets values ('b-public', 'b', true), ('a-private', 'a', false), ('a''s public', 'c', true);
        do $$ begin create role rg_no_buckets nologin; exception when duplicate_object then null; end $$;
        grant usage on schema storage to rg_no_buckets;`);
      expect((await introspect(other.sql, { apiRoles: ['anon'] })).publicBuckets).toEqual(["a's public", 'b-public']);
      // A role that may not read the table reads the rest of the catalog all the same.
      const asOther = await withSql(
        other.url,
        async (s) => {
          await s`set role rg_no_buckets`;
          return introspect(s, { apiRoles: ['anon'] });
        },
        { max: 1 },
      );
      expect(asOther.publicBuckets).toBeNull();
      expect(asOther.relations.map((r) => r.qualified)).toContain('storage.buckets');
    } finally {
      await other.drop();
    }
  });
});
