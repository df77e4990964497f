import { describe, expect, it } from 'vitest';
import { tableAccess } from '../../cli/core/policy/show.js';
import { API, modelOf } from './fixtures.js';

const cmd = (r: ReturnType<typeof tableAccess>, role: string, command: string) => r.roles.find((x) => x.role === role)!.commands.find((c) => c.command === command)!;

describe('policy show: how Postgres combines policies per role and command', () => {
  const model = modelOf([
    {
      table: 'public.docs',
      rls: true,
      grants: { authenticated: ['SELECT', 'INSERT', 'UPDATE'], service_role: ['SELECT'] },
      columnGrants: [{ column: 'title', grantee: 'anon', privilege: 'SELECT' }],
      policies: [
        { name: 'own', cmd: 'r', roles: ['authenticated'], using: '(owner = auth.uid())' },
        { name: 'shared', cmd: 'r', roles: ['authenticated'], using: 'shared' },
        { name: 'not_deleted', cmd: '*', permissive: false, roles: ['PUBLIC'], using: '(deleted_at IS NULL)' },
        { name: 'ins', cmd: 'a', roles: ['authenticated'], using: null, check: '(owner = auth.uid())' },
      ],
    },
    { table: 'public.open', grants: { anon: ['SELECT'] } },
    { table: 'public.parent', kind: 'p', rls: true },
    { table: 'public.parent_1', partitionOf: 'public.parent', rls: true, force: true },
  ]);

  it('permissive policies OR, restrictive ones AND', () => {
    const r = tableAccess(model, 'public.docs', API);
    const sel = cmd(r, 'authenticated', 'SELECT');
    expect(sel.verdict).toBe('filtered');
    expect(sel.permissive).toEqual(['own', 'shared']);
    expect(sel.restrictive).toEqual(['not_deleted']);
    expect(sel.using).toBe('(((owner = auth.uid())) OR (shared)) AND ((deleted_at IS NULL))');
  });

  it('INSERT checks WITH CHECK only; a missing permissive policy is default deny', () => {
    const r = tableAccess(model, 'public.docs', API);
    const ins = cmd(r, 'authenticated', 'INSERT');
    expect(ins.using).toBeNull();
    expect(ins.check).toContain('(owner = auth.uid())');
    expect(ins.check).toContain('(deleted_at IS NULL)'); // the restrictive ALL policy's USING stands in for its WITH CHECK
    expect(cmd(r, 'authenticated', 'UPDATE').verdict).toBe('no-rows');
    expect(cmd(r, 'authenticated', 'DELETE').verdict).toBe('no-privilege');
  });

  it('column grants, BYPASSRLS and RLS notes', () => {
    const r = tableAccess(model, 'public.docs', API);
    const anon = cmd(r, 'anon', 'SELECT');
    expect(anon.granted).toBe(true);
    expect(anon.columns).toEqual(['title']);
    expect(anon.verdict).toBe('no-rows');
    expect(cmd(r, 'service_role', 'SELECT').verdict).toBe('all-rows');
    expect(cmd(r, 'service_role', 'SELECT').reason).toContain('BYPASSRLS');
    expect(r.notes).toContain('RLS is not forced: the owner (owner) bypasses the policies');
    const open = tableAccess(model, 'open', API);
    expect(cmd(open, 'anon', 'SELECT').verdict).toBe('all-rows');
    expect(open.notes[0]).toMatch(/^RLS is disabled/);
  });

  it('partitions and their parent are shown as separate', () => {
    expect(tableAccess(model, 'public.parent', API).notes.join('\n')).toContain('each partition (public.parent_1) has its own');
    expect(tableAccess(model, 'public.parent_1', API).notes.join('\n')).toContain('a partition of public.parent');
  });

  it('an unknown table is a clear usage error', () => {
    expect(() => tableAccess(model, 'public.nope', API)).toThrowError(/no table public.nope/);
  });
});

describe('policy show on Postgres: whose policies apply is what the server does', () => {
  it('a policy TO a role its member does not inherit from (WITH INHERIT FALSE; a NOINHERIT go-between before 16) does not apply to it (rowsecurity.c), and show says so', async () => {
    const { freshDatabase, notInheritedGrant } = await import('../helpers/pg.js');
    const { introspect } = await import('../../cli/core/catalog/introspect.js');
    const db = await freshDatabase('rg_show_inherit');
    const tag = db.name.slice(-8).replace(/[^a-z0-9_]/g, '_');
    const [user, staff, viewer] = [`rg_u_${tag}`, `rg_staff_${tag}`, `rg_view_${tag}`];
    try {
      await db.sql.unsafe(`
        create role ${user} nologin; create role ${staff} nologin; create role ${viewer} nologin;
        ${notInheritedGrant(staff, user)}
        grant ${viewer} to ${user};
        create table public.t (id int, shared boolean);
        insert into public.t values (1, false), (2, true);
        alter table public.t enable row level security;
        grant select on public.t to ${user};
        create policy staff_all on public.t for select to ${staff} using (true);
        create policy shared on public.t for select to ${viewer} using (shared);`);
      const seen = await db.sql.begin(async (tx) => {
        await tx.unsafe(`set local role ${user}`);
        return (await tx.unsafe('select id from public.t order by id')).map((r) => r['id']);
      });
      expect(seen).toEqual([2]); // the server: only the inherited membership's policy
      const model = await introspect(db.sql, { apiRoles: [user], scope: 'full' });
      const sel = cmd(tableAccess(model, 'public.t', [user]), user, 'SELECT');
      expect(sel.permissive).toEqual(['shared']);
      expect(sel.using).toContain('shared');
    } finally {
      await db.sql.unsafe(`drop owned by ${user}, ${staff}, ${viewer}`).catch(() => undefined);
      await db.drop();
      const { withSql } = await import('../../cli/core/db.js');
      const { serverUrl } = await import('../helpers/pg.js');
      await withSql(serverUrl(), (sql) => sql.unsafe(`drop role if exists ${user}, ${user}_noinherit, ${staff}, ${viewer}`));
    }
  });
});
