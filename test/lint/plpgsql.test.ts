/**
 * PL/pgSQL helpers read as SQL: the reading itself (readPlpgsql), and what the
 * security rules then see in helpers written in PL/pgSQL the way Supabase
 * projects often write them. Each lint case has a LANGUAGE sql twin the rules
 * already read, and a correct look-alike that must stay quiet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayDatabase, withSql, type ThrowawayDatabase } from '../../cli/core/db.js';
import { loadParser } from '../../cli/core/sql-text.js';
import { metadataCopies, readPlpgsql, readTrigger } from '../../cli/core/lint/plpgsql.js';
import { introspect } from '../../cli/core/catalog/introspect.js';
import { serverUrl } from '../helpers/pg.js';
import { FIXTURES, lintWith, makeTemplate, modelOf } from './helpers.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let parser: Awaited<ReturnType<typeof loadParser>>;
const read = (source: string, args = '', returns = 'boolean') => readPlpgsql({ args, returns, source }, parser.parsePlPgSQLSync, parser.parseSync);

let template: ThrowawayDatabase;
beforeAll(async () => {
  parser = await loadParser();
  template = await makeTemplate();
}, 60_000);
afterAll(async () => {
  await template?.drop();
});

describe('readPlpgsql', () => {
  it('a variable of a type the grammar does not know (an enum, an array of one) in an INTO list of several targets is read as a scalar, and only then (realworld10)', () => {
    // The grammar, without the catalog, takes public.app_role for a row type and refuses it beside another target.
    const body = (decl: string) => `
      -- declare x public.app_role; begin (a comment is no DECLARE section)
      declare
        ${decl}
        note text := 'declare y public.app_role; begin';
      begin
        select p.role, p.org_id into v_role, v_org from public.members p where p.user_id = auth.uid();
        return v_role = 'admin' and v_org is not null;
      end`;
    for (const decl of ['v_role public.app_role; v_org uuid;', 'v_org uuid; v_role "public"."app_role";', 'v_role public.app_role[]; v_org uuid;', 'v_role public.app_role not null := \'user\'; v_org uuid;']) {
      expect(read(body(decl)), decl).toMatchObject({ sql: expect.stringMatching(/select p\.role, p\.org_id\s+from public\.members p where p\.user_id = auth\.uid\(\)/), single: false });
      expect(read(body(decl))!.locals, decl).toEqual(expect.arrayContaining(['v_role', 'v_org', 'note']));
    }
    // A row variable stays a record where it parses as written (one INTO target), and a body the grammar refuses for
    // another reason is still unread.
    expect(read('declare r public.members; begin select * into r from public.members where user_id = auth.uid(); return r.role = \'admin\'; end')).not.toBeNull();
    expect(read('declare v_role public.app_role; v_org uuid; begin select p.role, p.org_id into v_role, v_org, from public.members p; return true; end')).toBeNull();
  });

  it('one RETURN is read as what it returns, like a LANGUAGE sql body', () => {
    expect(read('begin return exists (select 1 from public.members m where m.user_id = auth.uid()); end')).toEqual({
      sql: 'select exists (select 1 from public.members m where m.user_id = auth.uid())',
      single: true,
      locals: ['found'],
    });
    expect(read('begin return query select org_id from public.members where user_id = auth.uid(); end', '', 'SETOF uuid')).toMatchObject({
      sql: 'select org_id from public.members where user_id = auth.uid()',
      single: true,
    });
  });

  it('a variable that only ever holds a claim is that claim where it is read', () => {
    const r = read(`declare me uuid := auth.uid(); who text;
      begin
        me := (auth.jwt() ->> 'sub')::uuid;
        select p.role into who from public.profiles p where p.user_id = me and p.note <> 'me';
        return who = 'admin';
      end`);
    // Setting the claim variable again changes nothing; the SELECT INTO is read where `who` is returned.
    expect(r?.single).toBe(true);
    // INTO is gone (the parser blanks it), `me` is the claim, the string 'me' untouched.
    expect(r?.sql.replace(/\s+/g, ' ')).toBe("select ((select p.role from public.profiles p where p.user_id = (auth.uid()) and p.note <> 'me')) = 'admin'");
    expect(r?.locals).toEqual(['found', 'who']);
  });

  it('variables each set once, from a query (SELECT INTO) or an expression, then returned: the one SELECT it amounts to', () => {
    // Reduced from supabase/supabase examples/slack-clone/nextjs-slack-clone/supabase/migrations/20240214102356_init.sql (authorize()).
    expect(read(`declare n int; begin
        select count(*) from public.grants g where g.permission = authorize.perm and g.user_id = authorize.who into n;
        return n > 0; end`, 'perm text, who uuid')).toMatchObject({
      single: true,
      sql: expect.stringMatching(/^select \(\(select count\(\*\) from public\.grants g where g\.permission = authorize\.perm and g\.user_id = authorize\.who\s*\)\) > 0$/),
    });
    expect(read("declare lim int; n int; begin lim := 5; select count(*) into n from public.notes where user_id = auth.uid(); return n < lim; end")?.sql.replace(/\s+/g, ' ')).toBe(
      'select ((select count(*) from public.notes where user_id = auth.uid())) < (5)',
    );
    // Not when a variable is set twice, a parameter is set, the query fills several variables or is STRICT, or another statement comes first.
    for (const [src, args] of [
      ['declare n int; begin select count(*) into n from public.a; select count(*) into n from public.b; return n > 0; end', ''],
      ['begin select count(*) into k from public.a; return k > 0; end', 'k int'],
      ['declare a int; b int; begin select 1, 2 into a, b; return a = b; end', ''],
      ['declare n int; begin select count(*) into strict n from public.a; return n > 0; end', ''],
      ["declare n int; begin perform pg_notify('x', 'y'); select count(*) into n from public.a; return n > 0; end", ''],
      ['declare n int; begin select count(*) into n from public.a; return n > 0; exception when others then return true; end', ''],
    ] as const) {
      expect(read(src, args)?.single, src).toBe(false);
    }
  });

  it('a variable also set from a query, a loop or anything else is a local, never taken for a claim', () => {
    const r = read(`declare me uuid := auth.uid(); org uuid;
      begin
        select m.user_id into me from public.members m limit 1;
        org := (select o.id from public.orgs o where o.owner = me);
        return exists (select 1 from public.members m where m.user_id = me and m.org_id = org);
      end`);
    expect(r?.locals).toEqual(expect.arrayContaining(['me', 'org']));
    expect(r?.sql).not.toContain('auth.uid()) and');
    expect(r?.sql).toContain('where o.owner = me');
  });

  it('a parameter starts out as its argument, so setting it to a claim does not make it one; two different claims are neither', () => {
    const r = read('begin if u is null then u := auth.uid(); end if; return exists (select 1 from public.members m where m.user_id = u); end', 'u uuid');
    expect(r?.sql).toContain('m.user_id = u');
    expect(r?.locals).toContain('u');
    const two = read("declare who text := auth.uid()::text; begin if who is null then who := auth.email(); end if; return who = 'x'; end");
    expect(two?.locals).toContain('who');
    expect(two?.sql).toContain("select who = 'x'");
  });

  it('a cursor\'s query is read too', () => {
    expect(read('declare c cursor for select p.role from public.profiles p; r record; begin open c; fetch c into r; close c; return r.role = \'admin\'; end')?.sql).toContain('select p.role from public.profiles p');
  });

  it('a read before the RETURN, an exception handler or control flow make it more than what it returns', () => {
    expect(read("declare n int := (select count(*) from public.profiles); begin return n > 0; end")).toMatchObject({ single: false, sql: 'select (select count(*) from public.profiles);\nselect n > 0' });
    expect(read('begin return auth.uid() is not null; exception when others then return true; end')?.single).toBe(false);
    expect(read("begin if auth.role() = 'anon' then return false; end if; return true; end")).toMatchObject({ single: false, sql: "select auth.role() = 'anon';\nselect false;\nselect true" });
  });

  it('what PL/pgSQL does not take, or a body that carries the quote it is wrapped in, is read safely or not at all', () => {
    // An OUT parameter is not among the identity arguments, so assigning it does not parse here.
    expect(read('begin total := 1; end', '', 'integer')).toBeNull();
    expect(read('begin retrun 1; end')).toBeNull();
    expect(read("begin return '$rowguard$' = auth.email(); end")).toMatchObject({ single: true, sql: "select '$rowguard$' = auth.email()" });
  });
});

async function lint(sql: string) {
  const model = await modelOf(template, sql);
  return (await lintWith({ model })).findings;
}

const PROFILES = `create table public.profiles (user_id uuid primary key, role text not null default 'user');
alter table public.profiles enable row level security;
create policy own on public.profiles for all to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
grant select, insert, update on public.profiles to authenticated;
create table public.docs (id int primary key, user_id uuid not null);
create index on public.docs (user_id);
alter table public.docs enable row level security;
grant select on public.docs to authenticated;
`;

describe('security rules through PL/pgSQL helpers', () => {
  it("an is_admin() that never asks whose profile says admin (policy-subselect-uncorrelated), and not one that does", async () => {
    const helper = (where: string) => `create function private.is_admin() returns boolean language plpgsql stable security definer set search_path = '' as $$
      begin return exists (select 1 from public.profiles p where ${where}); end $$;
      create policy admin_read on public.docs for select to authenticated using ((select private.is_admin()));`;
    const bad = await lint(`${PROFILES}\n${helper("p.role = 'admin'")}`);
    expect(bad.filter((f) => f.rule === 'policy-subselect-uncorrelated').map((f) => f.object)).toEqual(['admin_read on public.docs']);
    const good = await lint(`${PROFILES}\n${helper("p.user_id = (select auth.uid()) and p.role = 'admin'")}`);
    expect(good.filter((f) => f.rule === 'policy-subselect-uncorrelated')).toEqual([]);
  });

  it('an is_admin() that reads the role the caller can write on their own profile (policy-trusts-writable-column), and not once the column is out of reach', async () => {
    const helper = `create function private.is_admin() returns boolean language plpgsql stable security definer set search_path = '' as $$
      declare me uuid := auth.uid(); r text;
      begin
        select p.role into r from public.profiles p where p.user_id = me;
        if r = 'admin' then return true; end if;
        return false;
      end $$;
      create policy admin_read on public.docs for select to authenticated using ((select private.is_admin()));`;
    const bad = await lint(`${PROFILES}\n${helper}`);
    expect(bad.filter((f) => f.rule === 'policy-trusts-writable-column').map((f) => f.message)).toEqual([
      expect.stringContaining('public.profiles.role (read by private.is_admin(); authenticated'),
    ]);
    const good = await lint(`${PROFILES}\n${helper}\nrevoke insert, update on public.profiles from authenticated; grant update (user_id) on public.profiles to authenticated;`);
    expect(good.filter((f) => f.rule === 'policy-trusts-writable-column')).toEqual([]);
  });

  it('an exposed PL/pgSQL function handing on the rows of a private SECURITY DEFINER function (security-definer-rpc), and not one handing on a scalar', async () => {
    const sql = (inner: string) => `${PROFILES}
      create function private.all_docs() returns ${inner} language sql stable security definer set search_path = '' as $$ select ${inner === 'bigint' ? 'count(*)' : '*'} from public.docs $$;
      grant usage on schema private to authenticated;
      create function public.my_docs() returns ${inner} language plpgsql stable set search_path = '' as $$
      begin return query select * from private.all_docs(); end $$;`;
    const bad = await lint(sql('setof public.docs'));
    expect(bad.filter((f) => f.rule === 'security-definer-rpc').map((f) => f.object)).toEqual(['public.my_docs()']);
    const scalar = await lint(sql('bigint').replace('return query select * from private.all_docs();', 'return private.all_docs();'));
    expect(scalar.filter((f) => f.rule === 'security-definer-rpc')).toEqual([]);
  });

  // Reduced from supabase/supabase examples/slack-clone/nextjs-slack-clone/supabase/migrations/20240214102356_init.sql:
  // `using (authorize('channels.delete', auth.uid()))`, authorize() counting the user's grants into a variable.
  it("a helper handed the caller's id (authorize(perm, auth.uid())), in SQL or PL/pgSQL with SELECT INTO: anon cannot pass it (policy-to-public); on Postgres anon deletes nothing", async () => {
    const schema = `create table public.grants (user_id uuid, permission text);
      alter table public.grants enable row level security;
      create table public.channels (id int primary key, created_by uuid);
      alter table public.channels enable row level security;
      grant select, delete on public.channels to anon, authenticated;`;
    const plpgsql = (cmp: string) => `create function public.authorize(perm text, user_id uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$
      declare n int;
      begin
        select count(*) from public.grants g where g.permission = authorize.perm and ${cmp} into n;
        return n > 0;
      end $$;`;
    const forms = {
      plpgsql: plpgsql('g.user_id = authorize.user_id'),
      sqlByName: `create function public.authorize(perm text, who uuid) returns boolean language sql stable security definer set search_path = '' as $$ select exists (select 1 from public.grants g where g.permission = perm and g.user_id = who) $$;`,
      sqlByNumber: `create function public.authorize(text, uuid) returns boolean language sql stable security definer set search_path = '' as $$ select count(*) > 0 from public.grants g where g.permission = $1 and g.user_id = $2 $$;`,
    };
    const policy = `create policy mods_delete on public.channels for delete using (public.authorize('channels.delete', (select auth.uid())));`;
    for (const [name, fn] of Object.entries(forms)) {
      const f = (await lint(`${schema} ${fn} ${policy}`)).filter((x) => x.rule === 'policy-to-public');
      expect(f.map((x) => x.message), name).toEqual([expect.stringContaining('a request without a user cannot pass it')]);
    }
    // A helper that does not look at the id it is handed, or a policy that hands it a column of the row: anon can pass.
    for (const sql of [
      `${schema} ${plpgsql('g.user_id is null')} ${policy}`,
      `${schema} ${forms.plpgsql} create policy mods_delete on public.channels for delete using (public.authorize('channels.delete', created_by));`,
    ]) {
      expect((await lint(sql)).filter((x) => x.rule === 'policy-to-public').map((x) => x.message), sql).toEqual([expect.stringContaining('a request without a user can pass it')]);
    }
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (s) => s.unsafe(`${schema} ${forms.plpgsql} ${policy} insert into public.channels values (1, null); insert into public.grants values (null, 'channels.delete');`).simple());
      const deleted = await withSql(db.url, (s) =>
        s.begin(async (tx) => {
          await tx.unsafe(`select set_config('role', 'anon', true), set_config('request.jwt.claims', '{"role":"anon"}', true)`);
          return tx.unsafe('delete from public.channels');
        }),
      );
      expect(deleted.count).toBe(0);
    } finally {
      await db.drop();
    }
  });

  it('a PL/pgSQL helper that needs a user: a policy without TO calling it says anon cannot pass it (policy-to-public)', async () => {
    const sql = (body: string) => `${PROFILES}
      create function private.mine(u uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$ ${body} $$;
      create policy own_docs on public.docs for select using ((select private.mine(user_id)));`;
    const needs = await lint(sql('declare me uuid := auth.uid(); begin return u = me; end'));
    expect(needs.filter((f) => f.rule === 'policy-to-public').map((f) => f.message)).toEqual([expect.stringContaining('a request without a user cannot pass it')]);
    const open = await lint(sql('begin if auth.uid() is null then return true; end if; return u = auth.uid(); end'));
    expect(open.filter((f) => f.rule === 'policy-to-public').map((f) => f.message)).toEqual([expect.not.stringContaining('a request without a user cannot pass it')]);
  });
});

describe('user-metadata-copied: a trigger on auth.users that copies user_metadata into what a policy decides on', () => {
  const copies = (source: string) => metadataCopies(source, 'public', parser.parsePlPgSQLSync, parser.parseSync).map((c) => `${c.table}.${c.column}`).sort();

  it('finds the copy through VALUES, SELECT, SELECT … INTO and := variables, UPDATE … SET and ON CONFLICT … excluded', () => {
    expect(copies(`begin insert into profiles (id, name, role) values (new.id, new.raw_user_meta_data ->> 'name', new.raw_user_meta_data ->> 'role'); return new; end`)).toEqual(['public.profiles.name', 'public.profiles.role']);
    expect(copies(`declare org uuid; begin select (new.raw_user_meta_data ->> 'org')::uuid into org; insert into private.members (org_id, user_id) select org, new.id; return new; end`)).toEqual(['private.members.org_id']);
    expect(copies(`declare r text; begin r := lower(new.raw_user_meta_data ->> 'role'); update public.profiles set role = r, seen = now() where id = new.id; return new; end`)).toEqual(['public.profiles.role']);
    expect(copies(`begin insert into profiles (id, role) values (new.id, new.raw_user_meta_data ->> 'role') on conflict (id) do update set role = excluded.role, id = excluded.id; return new; end`)).toEqual(['public.profiles.role']);
    // app_metadata, the email, the id: not the user's to choose.
    expect(copies(`begin insert into profiles (id, role, email) values (new.id, new.raw_app_meta_data ->> 'role', new.email); return new; end`)).toEqual([]);
  });

  it('on Postgres a user who signs up with {"role": "admin"} reads every report; the lint names the policy, and not the twin that copies only a name', async () => {
    const bad = readFileSync(join(FIXTURES, 'user-metadata-copied', 'bad.sql'), 'utf8');
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint_signup', template: template.name });
    try {
      const A = '00000000-0000-4000-8000-00000000000a';
      const seen = await withSql(db.url, async (sql) => {
        await sql.unsafe(`${bad}
          insert into public.reports values (1, 'q1'), (2, 'q2');
          -- What GoTrue does on sign-up with options.data = {"role": "admin"}.
          insert into auth.users (id, email, raw_user_meta_data) values ('${A}', 'a@example.test', '{"role": "admin"}');`).simple();
        return sql.begin(async (tx) => {
          await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: A, role: 'authenticated' })}, true)`;
          return (await tx`select count(*)::int as n from public.reports`)[0]!['n'];
        });
      });
      expect(seen).toBe(2);
      const model = await withSql(db.url, (sql) => introspect(sql, { apiRoles: ['anon', 'authenticated'], scope: 'full' }));
      const found = (await lintWith({ model })).findings.filter((f) => f.rule === 'user-metadata-copied');
      expect(found.map((f) => [f.object, f.message])).toEqual([
        ['admins on public.reports', expect.stringContaining('public.profiles.role (copied by trigger on_auth_user_created (public.handle_new_user()))')],
      ]);
    } finally {
      await db.drop();
    }
  });

  it('through a PL/pgSQL helper and an UPDATE trigger: a membership whose organisation comes from the metadata', async () => {
    const found = (await lint(`create schema if not exists app;
      create table app.members (org_id uuid not null, user_id uuid not null, primary key (org_id, user_id));
      create function app.sync_member() returns trigger language plpgsql security definer set search_path = '' as $$
      begin
        insert into app.members (org_id, user_id) values ((new.raw_user_meta_data ->> 'org_id')::uuid, new.id) on conflict do nothing;
        return new;
      end $$;
      create trigger member_on_update after insert or update of raw_user_meta_data on auth.users for each row execute function app.sync_member();
      create function private.my_orgs() returns setof uuid language plpgsql stable security definer set search_path = '' as $$
      begin return query select m.org_id from app.members m where m.user_id = auth.uid(); end $$;
      create table public.projects (id int primary key, org_id uuid not null);
      alter table public.projects enable row level security;
      create policy members_read on public.projects for select to authenticated using (org_id in (select private.my_orgs()));
      grant select on public.projects to authenticated;`)).filter((f) => f.rule === 'user-metadata-copied');
    expect(found.map((f) => f.message)).toEqual([expect.stringContaining('app.members.org_id (read by private.my_orgs(); copied by trigger member_on_update (app.sync_member()))')]);
  });

  // Seen on supabase/dbdev (realworld5): the handle a user signs up with is copied into a unique accounts.handle.
  it("a unique handle compared with the row's own is the user's to claim only while free: not reported; compared with a constant it is, and on Postgres the first to sign up with it reads the rows", async () => {
    const schema = (test: string) => `create table public.accounts (id uuid primary key, handle text not null unique);
      alter table public.accounts enable row level security;
      create policy own_account on public.accounts for select to authenticated using (id = (select auth.uid()));
      grant select on public.accounts to authenticated;
      create function public.handle_new_user() returns trigger language plpgsql security definer set search_path = '' as $$
      begin insert into public.accounts (id, handle) values (new.id, new.raw_user_meta_data ->> 'handle'); return new; end $$;
      create trigger on_auth_user_created after insert on auth.users for each row execute function public.handle_new_user();
      create table public.packages (id int primary key, handle text not null, body text);
      alter table public.packages enable row level security;
      create policy own_handle on public.packages for select to authenticated using (exists (select 1 from public.accounts a where a.id = (select auth.uid()) and ${test}));
      grant select on public.packages to authenticated;`;
    const keyed = schema('a.handle = packages.handle');
    const fixed = schema("a.handle = 'staff'");
    expect((await lint(keyed)).filter((f) => f.rule === 'user-metadata-copied')).toEqual([]);
    expect((await lint(fixed)).filter((f) => f.rule === 'user-metadata-copied').map((f) => f.message)).toEqual([expect.stringContaining('public.accounts.handle (copied by trigger on_auth_user_created')]);

    const bob = '00000000-0000-4000-8000-00000000000b';
    const eve = '00000000-0000-4000-8000-00000000000e';
    const seenByEve = async (sql: string, handle: string) => {
      const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint_signup', template: template.name });
      try {
        return await withSql(db.url, async (s) => {
          await s.unsafe(`${sql}
            insert into auth.users (id, email, raw_user_meta_data) values ('${bob}', 'bob@example.test', '{"handle": "bob"}');
            insert into public.packages values (1, 'bob', 'bob''s'), (2, 'staff', 'internal');`).simple();
          // Eve signs up with the handle she wants; a taken one fails the sign-up.
          await s.unsafe(`do $$ begin insert into auth.users (id, email, raw_user_meta_data) values ('${eve}', 'eve@example.test', '{"handle": "${handle}"}'); exception when unique_violation then null; end $$`);
          return s.begin(async (tx) => {
            await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: eve, role: 'authenticated' })}, true)`;
            return (await tx`select id from public.packages`).map((r) => r['id']);
          });
        });
      } finally {
        await db.drop();
      }
    };
    expect(await seenByEve(keyed, 'bob')).toEqual([]);
    expect(await seenByEve(fixed, 'staff')).toEqual([1, 2]);
  });

  // Seen on hlieb-decodifi/the-suite (9 false alarms): handle_new_user maps the metadata's role through a CASE that turns
  // 'admin' into 'client' and keeps only 'client' or 'professional'; the admin policies ask for role = 'admin'.
  it('a value the trigger bounds to constants the policy never asks for is not reported; on Postgres signing up with {"role": "admin"} gives a client; a bound that lets admin through is', async () => {
    const schema = (mapping: string) => `create table public.user_roles (user_id uuid primary key, role text not null default 'client');
      alter table public.user_roles enable row level security;
      create policy own_role on public.user_roles for select to authenticated using (user_id = auth.uid());
      grant select on public.user_roles to authenticated;
      create function public.handle_new_user() returns trigger language plpgsql security definer set search_path = '' as $$
      declare asked text; assigned text;
      begin
        asked := new.raw_user_meta_data ->> 'role';
        assigned := ${mapping};
        insert into public.user_roles (user_id, role) values (new.id, assigned);
        return new;
      end $$;
      create trigger on_auth_user_created after insert on auth.users for each row execute function public.handle_new_user();
      create function public.is_admin(uid uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$
      declare yes boolean;
      begin select exists (select 1 from public.user_roles where user_id = uid and role = 'admin') into yes; return yes; end $$;
      create table public.reports (id int primary key);
      alter table public.reports enable row level security;
      grant select on public.reports to authenticated;
      create policy admins_read on public.reports for select to authenticated using (exists (select 1 from public.user_roles ur where ur.user_id = auth.uid() and ur.role = 'admin'));
      create policy admins_read_fn on public.reports for select to authenticated using (public.is_admin(auth.uid()));`;
    const mapped = schema(`case when asked = 'admin' then 'client' when asked in ('client', 'professional') then asked else 'client' end`);
    const reported = async (sql: string) => (await lint(sql)).filter((f) => f.rule === 'user-metadata-copied').map((f) => f.object).sort();
    expect(metadataCopies(mapped.replace(/^[\s\S]*?as \$\$([\s\S]*?)\$\$;[\s\S]*$/, '$1'), 'public', parser.parsePlPgSQLSync, parser.parseSync)).toEqual([{ table: 'public.user_roles', column: 'role', values: ['client', 'professional'] }]);
    expect(await reported(mapped)).toEqual([]);
    // A CASE whose ELSE is the user's own choice (lower-cased: 'ADMIN' passes the WHEN), or a bound that holds admin.
    const loose = schema(`case when asked = 'admin' then 'client' else lower(asked) end`);
    const listed = schema(`case when asked in ('client', 'admin') then asked else 'client' end`);
    expect(await reported(loose)).toEqual(['admins_read on public.reports', 'admins_read_fn on public.reports']);
    expect(await reported(listed)).toEqual(['admins_read on public.reports', 'admins_read_fn on public.reports']);
    const reportsSeen = async (sql: string, asked = 'admin') => {
      const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint_signup', template: template.name });
      try {
        const A = '00000000-0000-4000-8000-00000000000a';
        return await withSql(db.url, async (s) => {
          await s.unsafe(`${sql}
            insert into public.reports values (1);
            insert into auth.users (id, email, raw_user_meta_data) values ('${A}', 'a@example.test', '{"role": "${asked}"}');`).simple();
          return s.begin(async (tx) => {
            await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: A, role: 'authenticated' })}, true)`;
            return [(await tx`select role from public.user_roles`)[0]!['role'], (await tx`select id from public.reports`).length];
          });
        });
      } finally {
        await db.drop();
      }
    };
    expect(await reportsSeen(mapped)).toEqual(['client', 0]);
    expect(await reportsSeen(mapped, 'ADMIN')).toEqual(['client', 0]);
    expect(await reportsSeen(loose, 'ADMIN')).toEqual(['admin', 1]);
    expect(await reportsSeen(listed)).toEqual(['admin', 1]);
  });
});

describe('security-definer-rpc says what a definer function it can read does', () => {
  it('what it writes, and whether its body ever asks who calls it', async () => {
    const found = (await lint(`${PROFILES}
      create function public.create_user(email text) returns uuid language plpgsql security definer set search_path = '' as $$
      declare id uuid := gen_random_uuid();
      begin insert into auth.users (id, email) values (id, email); return id; end $$;
      create function public.rename_me(name text) returns void language plpgsql security definer set search_path = '' as $$
      declare me uuid := auth.uid();
      begin update public.profiles set role = name where user_id = me; end $$;
      create function public.count_docs() returns bigint language sql security definer set search_path = '' as 'select count(*) from public.docs';`))
      .filter((f) => f.rule === 'security-definer-rpc')
      .map((f) => [f.object, f.message.replace(/^.*RLS skipped for its owner\)/, '')]);
    expect(Object.fromEntries(found)).toEqual({
      'public.create_user(email text)': '; it writes auth.users, and its body never asks who calls it (no auth.uid(), auth.jwt(), claim or current_user)',
      'public.rename_me(name text)': '; it writes public.profiles',
      'public.count_docs()': '; its body never asks who calls it (no auth.uid(), auth.jwt(), claim or current_user)',
    });
  });

  it("asks through a function it calls (a guard that reads auth.uid() and raises, as kruxt's coach_create_athlete_note does), however deep; not through one that never asks", async () => {
    const found = (await lint(`${PROFILES}
      create table public.notes (id serial primary key, author uuid, body text);
      alter table public.notes enable row level security;
      create function public.require_user() returns uuid language plpgsql stable security definer set search_path = '' as $$
      declare v uuid := auth.uid();
      begin if v is null then raise exception 'sign in'; end if; return v; end $$;
      create function public.require_author() returns uuid language sql stable set search_path = '' as 'select public.require_user()';
      create function public.today() returns date language sql stable set search_path = '' as 'select current_date';
      create function public.add_note(p_body text) returns void language plpgsql security definer set search_path = '' as $$
      declare v_actor uuid := public.require_user();
      begin insert into public.notes (author, body) values (v_actor, p_body); end $$;
      create function public.add_note_deep(p_body text) returns void language plpgsql security definer set search_path = '' as $$
      begin perform public.require_author(); insert into public.notes (body) values (p_body); end $$;
      create function public.add_note_dated(p_body text) returns void language plpgsql security definer set search_path = '' as $$
      begin insert into public.notes (body) values (p_body || public.today()); end $$;`))
      .filter((f) => f.rule === 'security-definer-rpc' && f.object.startsWith('public.add_note'))
      .map((f) => [f.object, f.message.replace(/^.*RLS skipped for its owner\)/, '')]);
    expect(Object.fromEntries(found)).toEqual({
      'public.add_note(p_body text)': '; it writes public.notes',
      'public.add_note_deep(p_body text)': '; it writes public.notes',
      'public.add_note_dated(p_body text)': '; it writes public.notes, and its body never asks who calls it (no auth.uid(), auth.jwt(), claim or current_user)',
    });
  });

  // classroomio's is_user_in_course_group_or_admin(group_id): no SET search_path, and it calls
  // is_org_admin(org_id) and is_user_in_course_group($1) by their bare names; both read auth.uid().
  const BARE = `create table public.members (org_id uuid not null, user_id uuid not null, role text not null);
    alter table public.members enable row level security;
    create function public.is_admin_of(org uuid) returns boolean language plpgsql stable as $$
    begin return exists (select 1 from public.members m where m.org_id = org and m.user_id = auth.uid() and m.role = 'admin'); end $$;
    create function public.stamp() returns text language sql stable as 'select current_date::text';
    create function public.admin_or_open(org uuid) returns boolean language plpgsql stable security definer as $$
    declare ok boolean;
    begin ok := is_admin_of(org); return ok or org is null; end $$;
    create function public.label(org uuid) returns text language plpgsql stable security definer as $$
    begin return stamp() || coalesce(org::text, '') || now()::text; end $$;`;

  it('asks through a function it calls by its bare name, found on the search_path; a bare call to one that never asks, or to a built-in, asks nothing', async () => {
    const found = (await lint(BARE))
      .filter((f) => f.rule === 'security-definer-rpc')
      .map((f) => [f.object, f.message.replace(/^.*RLS skipped for its owner\)/, '')]);
    expect(Object.fromEntries(found)).toEqual({
      'public.admin_or_open(org uuid)': '',
      'public.label(org uuid)': '; its body never asks who calls it (no auth.uid(), auth.jwt(), claim or current_user)',
    });
    // On Postgres, with PostgREST's search_path, the bare call reaches public.is_admin_of: the answer depends on the caller.
    const org = '11111111-0000-4000-8000-000000000001';
    const admin = '00000000-0000-4000-8000-0000000000a1';
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint', template: template.name });
    try {
      await withSql(db.url, (sql) => sql.unsafe(`${BARE} insert into public.members values ('${org}', '${admin}', 'admin');`).simple());
      const asks = (sub: string) =>
        withSql(db.url, (sql) =>
          sql.begin(async (tx) => {
            await tx.unsafe(`select set_config('search_path', 'public', true), set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub, role: 'authenticated' })]);
            return (await tx.unsafe(`select public.admin_or_open('${org}') as ok`))[0]!['ok'];
          }),
        );
      expect(await asks(admin)).toBe(true);
      expect(await asks('00000000-0000-4000-8000-0000000000b2')).toBe(false);
    } finally {
      await db.drop();
    }
  });
});

describe("user-email-trusted: a trigger on auth.users that grants by the user's unconfirmed email", () => {
  const decided = (source: string) =>
    readTrigger(source, 'public', parser.parsePlPgSQLSync, parser.parseSync)
      .emailDecisions.columns.map((c) => `${c.table}.${c.column}`)
      .sort();
  const rows = (source: string) => readTrigger(source, 'public', parser.parsePlPgSQLSync, parser.parseSync).emailDecisions.rows;
  const body = (s: string) => `begin ${s} return new; end`;

  it('reads part of the address, a pattern, a fixed address, a CASE on it, and the rows picked by it, through variables', () => {
    expect(decided(`declare v_org uuid; begin select o.id into v_org from orgs o where o.domain = split_part(new.email, '@', 2); insert into members (org_id, user_id) values (v_org, new.id); return new; end`)).toEqual(['public.members.org_id']);
    expect(decided(body(`if new.email like '%@acme.com' then insert into user_roles (user_id, role) values (new.id, 'admin'); end if;`))).toEqual(['public.user_roles.role', 'public.user_roles.user_id']);
    expect(decided(body(`if lower(new.email) = 'founder@acme.com' then update profiles set role = 'owner' where id = new.id; end if;`))).toEqual(['public.profiles.role']);
    expect(decided(body(`if new.email ~* '@acme\\.com$' then insert into staff (user_id) values (new.id); end if;`))).toEqual(['public.staff.user_id']);
    expect(decided(body(`case split_part(new.email, '@', 2) when 'acme.com' then insert into staff (user_id) values (new.id); else null; end case;`))).toEqual(['public.staff.user_id']);
    expect(decided(body(`insert into profiles (id, company) values (new.id, split_part(new.email, '@', 2));`))).toEqual(['public.profiles.company']);
    expect(decided(body(`update profiles set role = 'staff' where id = new.id and new.email ilike '%@acme.com';`))).toEqual(['public.profiles.role']);
    expect(decided(body(`insert into members (org_id, user_id) select o.id, new.id from orgs o where o.domain = right(new.email, length(new.email) - strpos(new.email, '@'));`))).toEqual(['public.members.org_id', 'public.members.user_id']);
    expect(decided(`declare dom text := split_part(new.email, '@', 2); begin if dom in ('acme.com', 'acme.io') then insert into staff (user_id) values (new.id); end if; return new; end`)).toEqual(['public.staff.user_id']);
    expect(decided(`declare e text; begin e := lower(new.email); if e like '%@acme.com' then insert into staff (user_id) values (new.id); end if; return new; end`)).toEqual(['public.staff.user_id']);
    // What follows a guard that returns for every other address runs for the matching ones only.
    expect(decided(body(`if new.email not ilike '%@acme.com' then return new; end if; insert into admins (user_id) values (new.id);`))).toEqual(['public.admins.user_id']);
    // The ELSE of a positive test runs for everyone else.
    const split = body(`if new.email like '%@acme.com' then insert into staff (user_id) values (new.id); else insert into guests (user_id) values (new.id); end if;`);
    expect(decided(split)).toEqual(['public.staff.user_id']);
    // Rows made only for the addresses picked, as opposed to a row every user gets with a value taken from the address.
    expect(rows(split)).toEqual(['public.staff']);
    expect(rows(body(`if new.email not ilike '%@acme.com' then return new; end if; insert into admins (user_id) values (new.id);`))).toEqual(['public.admins']);
    expect(rows(body(`insert into members (org_id, user_id) select o.id, new.id from orgs o where o.domain = split_part(new.email, '@', 2);`))).toEqual(['public.members']);
    expect(rows(body(`insert into profiles (id, company) values (new.id, split_part(new.email, '@', 2));`))).toEqual([]);
  });

  it('leaves alone the whole address copied or matched with a row (an invitation), a test on it being set, and whatever a confirmed address gets', () => {
    expect(decided(body(`insert into profiles (id, email) values (new.id, new.email);`))).toEqual([]);
    expect(decided(body(`insert into members (org_id, user_id) select i.org_id, new.id from invites i where i.email = new.email;`))).toEqual([]);
    expect(decided(body(`if new.email is not null then insert into profiles (id) values (new.id); end if;`))).toEqual([]);
    expect(decided(body(`if new.email_confirmed_at is not null and new.email like '%@acme.com' then insert into staff (user_id) values (new.id); end if;`))).toEqual([]);
    expect(decided(body(`if new.email_confirmed_at is null then return new; end if; if new.email like '%@acme.com' then insert into staff (user_id) values (new.id); end if;`))).toEqual([]);
    expect(decided(body(`insert into staff (user_id) select new.id where new.email like '%@acme.com' and new.confirmed_at is not null;`))).toEqual([]);
  });

  it("on Postgres a sign-up as anyone@acme.com, never confirmed, reads Acme's documents; reported, and not the twin that waits for the confirmation (which then grants)", async () => {
    const A = '00000000-0000-4000-8000-00000000000a';
    const acme = '00000000-0000-4000-8000-0000000000ac';
    const run = async (fixture: 'bad' | 'good') => {
      const schema = readFileSync(join(FIXTURES, 'user-email-trusted', `${fixture}.sql`), 'utf8');
      const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lint_email', template: template.name });
      try {
        return await withSql(db.url, async (sql) => {
          await sql.unsafe(`alter table auth.users add column email_confirmed_at timestamptz;
            ${schema}
            insert into public.orgs values ('${acme}', 'acme.com');
            insert into public.documents values (1, '${acme}', 'roadmap'), (2, '${acme}', 'salaries');
            -- What GoTrue does on sign-up: the row, with the address as typed and not confirmed.
            insert into auth.users (id, email) values ('${A}', 'mallory@acme.com');`).simple();
          const seen = async () =>
            sql.begin(async (tx) => {
              await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: A, role: 'authenticated', email: 'mallory@acme.com' })}, true)`;
              return (await tx`select count(*)::int as n from public.documents`)[0]!['n'] as number;
            });
          const before = await seen();
          // GoTrue confirming the address (the mail's link clicked).
          await sql`update auth.users set email_confirmed_at = now() where id = ${A}`;
          const confirmed = await seen();
          const model = await introspect(sql, { apiRoles: ['anon', 'authenticated'], scope: 'full' });
          const found = (await lintWith({ model })).findings.filter((f) => f.rule === 'user-email-trusted');
          return { before, confirmed, found: found.map((f) => [f.object, f.message]) };
        });
      } finally {
        await db.drop();
      }
    };
    const bad = await run('bad');
    expect([bad.before, bad.confirmed]).toEqual([2, 2]);
    expect(bad.found).toEqual([['org_reads on public.documents', expect.stringContaining('public.members.org_id (set by the email in trigger on_auth_user_created (public.handle_new_user()))')]]);
    const good = await run('good');
    expect([good.before, good.confirmed]).toEqual([0, 2]);
    expect(good.found).toEqual([]);
  });

  it('a trigger that fires on UPDATE OF email_confirmed_at, or has a WHEN, is taken as waiting for the confirmation', async () => {
    const schema = (trigger: string) => `create table public.staff (user_id uuid primary key);
      alter table public.staff enable row level security;
      create policy own on public.staff for select to authenticated using (user_id = (select auth.uid()));
      grant select on public.staff to authenticated;
      create function public.grant_staff() returns trigger language plpgsql security definer set search_path = '' as $$
      begin if new.email like '%@acme.com' then insert into public.staff (user_id) values (new.id); end if; return new; end $$;
      alter table auth.users add column email_confirmed_at timestamptz;
      ${trigger}
      create table public.payroll (id int primary key, amount int);
      alter table public.payroll enable row level security;
      create policy staff_only on public.payroll for select to authenticated using (exists (select 1 from public.staff s where s.user_id = (select auth.uid())));
      grant select on public.payroll to authenticated;`;
    const found = async (trigger: string) => (await lint(schema(trigger))).filter((f) => f.rule === 'user-email-trusted').map((f) => f.object);
    expect(await found('create trigger t after insert on auth.users for each row execute function public.grant_staff();')).toEqual(['staff_only on public.payroll']);
    expect(await found('create trigger t after update of email_confirmed_at on auth.users for each row execute function public.grant_staff();')).toEqual([]);
    expect(await found('create trigger t after insert or update on auth.users for each row when (new.email_confirmed_at is not null) execute function public.grant_staff();')).toEqual([]);
  });
});
