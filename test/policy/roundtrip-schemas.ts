/**
 * Schemas shaped the way real projects write their RLS (multi-tenant with
 * membership tables and SECURITY DEFINER helpers, Supabase's `(select auth.uid())`
 * and `auth.jwt() -> 'app_metadata'`, storage-style path checks, PostgREST's
 * tutorial roles, partitioned tables, quoted and unicode names, column grants),
 * written for these tests. Each schema is split as a project would hold it:
 * `tables` (roles, schemas, helpers, tables — what sql/ builds) and `security`
 * (RLS flags, grants, policies — what policies/ should capture).
 */
import { rolesSql } from './project.js';
import { serverMajor } from '../helpers/pg.js';

/** Shared by every schema: the API roles, a non-API role, and Supabase-like auth helpers. */
export const PRELUDE = `${rolesSql([
  ['anon', 'nologin'], ['authenticated', 'nologin'], ['service_role', 'nologin bypassrls'],
  ['web_anon', 'nologin'], ['Mixed Role', 'nologin'], ['rt_grantor', 'nologin'], ['rt_owner', 'nologin'],
])}
create schema if not exists auth;
create table if not exists auth.users (id uuid primary key, email text, raw_app_meta_data jsonb);
create or replace function auth.uid() returns uuid language sql stable as $$
  select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
create or replace function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;
create or replace function auth.role() returns text language sql stable as $$
  select auth.jwt() ->> 'role' $$;
`;

/** 62 bytes each (Postgres keeps 63): as %XX the file name would be 377 bytes. */
const LONG_SCHEMA = 'ö'.repeat(31);
const LONG_TABLE = 'ü'.repeat(31);

export interface RoundtripSchema {
  name: string;
  /** The schemas this fixture owns (its tables live there). */
  schemas: string[];
  tables: string;
  security: string;
}

export const SCHEMAS: RoundtripSchema[] = [
  {
    // basejump-style teams: accounts, a membership table with an enum role, SECURITY DEFINER helpers.
    name: 'teams',
    schemas: ['teams'],
    tables: `
create schema teams;
create type teams.account_role as enum ('owner', 'member');
create table teams.accounts (id uuid primary key, primary_owner_user_id uuid not null, name text, slug text unique, personal_account boolean not null default false);
create table teams.account_user (user_id uuid not null, account_id uuid not null references teams.accounts, account_role teams.account_role not null, primary key (user_id, account_id));
create table teams.invitations (id uuid primary key, account_id uuid not null references teams.accounts, account_role teams.account_role not null, token text, invited_by_user_id uuid);
create function teams.has_role_on_account(account_id uuid, account_role teams.account_role default null) returns boolean
  language sql security definer set search_path = '' stable as $$
  select exists (select 1 from teams.account_user wu where wu.user_id = auth.uid() and wu.account_id = has_role_on_account.account_id
    and (wu.account_role = has_role_on_account.account_role or has_role_on_account.account_role is null)) $$;
create function teams.get_accounts_with_role(passed_in_role teams.account_role default null) returns setof uuid
  language sql security definer set search_path = '' stable as $$
  select account_id from teams.account_user wu where wu.user_id = auth.uid() and (wu.account_role = passed_in_role or passed_in_role is null) $$;
`,
    security: `
alter table teams.accounts enable row level security;
alter table teams.account_user enable row level security;
alter table teams.invitations enable row level security;
grant select, insert, update, delete on table teams.accounts to authenticated, service_role;
grant select, insert, update, delete on table teams.account_user to authenticated, service_role;
grant select, insert, update, delete on table teams.invitations to authenticated, service_role;
revoke all on table teams.accounts from public;
create policy "Accounts are viewable by members" on teams.accounts for select to authenticated
  using (teams.has_role_on_account(id) = true);
create policy "Accounts are viewable by primary owner" on teams.accounts for select to authenticated
  using (primary_owner_user_id = (select auth.uid()));
create policy "Accounts can be edited by owners" on teams.accounts for update to authenticated
  using (teams.has_role_on_account(id, 'owner') = true);
create policy "users can view their teammates" on teams.account_user for select to authenticated
  using (teams.has_role_on_account(account_id) = true);
create policy "Account users can be deleted by owners except primary account owner" on teams.account_user for delete to authenticated
  using ((teams.has_role_on_account(account_id, 'owner') = true)
    and (user_id <> (select primary_owner_user_id from teams.accounts where account_id = accounts.id)));
create policy "Invitations viewable by account owners" on teams.invitations for select to authenticated
  using (account_id in (select teams.get_accounts_with_role('owner')));
create policy "Invitations can be created by account owners" on teams.invitations for insert to authenticated
  with check ((teams.has_role_on_account(account_id, 'owner'::teams.account_role)) and
    (select personal_account = false from teams.accounts where id = account_id));
`,
  },
  {
    // Supabase-style app: profiles, JWT claims, MFA as a restrictive policy, storage-like path checks.
    name: 'supa',
    schemas: ['supa'],
    tables: `
create schema supa;
create table supa.profiles (id uuid primary key, username text, avatar_url text, is_admin boolean default false, updated_at timestamptz);
create table supa.projects (id bigint generated always as identity primary key, team_id uuid, owner_id uuid, status text, tags text[]);
create table supa.objects (id uuid primary key, bucket_id text, name text, owner uuid, metadata jsonb);
create function supa.foldername(name text) returns text[] language sql immutable as $$ select string_to_array(name, '/') $$;
create function supa.is_admin() returns boolean language sql stable as $$ select coalesce((auth.jwt() -> 'app_metadata' ->> 'admin')::boolean, false) $$;
`,
    security: `
alter table supa.profiles enable row level security;
alter table supa.projects enable row level security;
alter table supa.objects enable row level security;
grant select on supa.profiles to anon;
grant select, insert, update on supa.profiles to authenticated;
grant all on supa.projects to authenticated;
grant select, insert, update, delete on supa.objects to authenticated;
create policy "Public profiles are viewable by everyone." on supa.profiles for select using (true);
create policy "Users can insert their own profile." on supa.profiles for insert to authenticated with check ((select auth.uid()) = id);
create policy "Users can update own profile." on supa.profiles for update to authenticated
  using ((select auth.uid()) = id) with check ((select auth.uid()) = id);
create policy "Admins see all" on supa.projects for select to authenticated
  using ((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin');
create policy "Team members" on supa.projects for all to authenticated
  using (team_id = any (array(select (jsonb_array_elements_text(auth.jwt() -> 'app_metadata' -> 'teams'))::uuid)))
  with check (owner_id = (select auth.uid()) and status in ('draft', 'active'));
create policy "Require MFA" on supa.projects as restrictive for all to authenticated
  using ((select auth.jwt() ->> 'aal') = 'aal2');
create policy "tagged" on supa.projects for select to authenticated
  using (case when status = 'archived' then 'public' = any (tags) else owner_id = auth.uid() end);
create policy "Give users access to own folder" on supa.objects for select to authenticated
  using (bucket_id = 'avatars' and (supa.foldername(name))[1] = (select auth.uid())::text);
create policy "Upload to own folder" on supa.objects for insert to authenticated
  with check (bucket_id = 'avatars' and (supa.foldername(name))[1] = auth.uid()::text and (metadata ->> 'size')::int < 1048576);
`,
  },
  {
    // PostgREST tutorial shape: an api schema, a web_anon role that is not an API role, claims read by hand.
    name: 'postgrest',
    schemas: ['api'],
    tables: `
create schema api;
create table api.todos (id int primary key generated by default as identity, done boolean not null default false, task text not null, due timestamptz, owner text);
create table api.org_members (org int, email text);
create table api.orgs (id int primary key, name text);
`,
    security: `
alter table api.todos enable row level security;
grant select on api.todos to web_anon;
grant all on api.todos to authenticated;
grant select on api.orgs to anon, authenticated;
create policy todos_anon on api.todos for select to web_anon, anon using (done is false);
create policy todos_owner on api.todos to authenticated
  using (owner = current_setting('request.jwt.claims', true)::json ->> 'email');
create policy todos_org on api.todos for select to authenticated
  using (exists (select 1 from api.org_members m join api.orgs o on o.id = m.org
                 where m.email = (current_setting('request.jwt.claims', true)::json ->> 'email') and o.name ~~ 'acme%'));
`,
  },
  {
    // Partitioned tables: policies and grants on the parent and (different ones) on partitions.
    name: 'partitions',
    schemas: ['metrics'],
    tables: `
create schema metrics;
create table metrics.events (id bigint, tenant uuid, at timestamptz not null, payload jsonb) partition by range (at);
create table metrics.events_2025 partition of metrics.events for values from ('2025-01-01') to ('2026-01-01');
create table metrics.events_2026 partition of metrics.events for values from ('2026-01-01') to ('2027-01-01');
create table metrics.events_default partition of metrics.events default;
`,
    security: `
alter table metrics.events enable row level security;
alter table metrics.events force row level security;
alter table metrics.events_2025 enable row level security;
grant select, insert on metrics.events to authenticated;
grant select on metrics.events_2025 to service_role;
create policy tenant_read on metrics.events for select to authenticated
  using (tenant = ((auth.jwt() -> 'app_metadata' ->> 'tenant'))::uuid);
create policy tenant_write on metrics.events for insert to authenticated
  with check (tenant = ((auth.jwt() -> 'app_metadata' ->> 'tenant'))::uuid and at >= now() - interval '1 day');
create policy recent_only on metrics.events as restrictive for select to authenticated using (at > '2025-01-01'::date);
create policy "partition read" on metrics.events_2025 for select to service_role, authenticated using (payload ? 'public');
`,
  },
  {
    // Names that need quotes: schema, table, column and policy names with spaces, capitals, quotes, unicode, 63 bytes.
    name: 'quoting',
    schemas: ['Tenant Data', 'ünï', LONG_SCHEMA],
    tables: `
create schema "Tenant Data";
create schema "ünï";
create table "Tenant Data"."Order ""Lines""" (id int, "Owner Id" uuid, "select" int, "ß" text);
create table "ünï"."Ünïcödé tâble" (id int, "Großes Feld" text);
create table "Tenant Data".a63_abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqrstuvwxyz_abcd (id int);
create schema "${LONG_SCHEMA}";
create table "${LONG_SCHEMA}"."${LONG_TABLE}" (id int);
`,
    security: `
alter table "Tenant Data"."Order ""Lines""" enable row level security;
grant select ("select", "Owner Id"), update ("ß") on "Tenant Data"."Order ""Lines""" to authenticated;
grant insert on "Tenant Data"."Order ""Lines""" to authenticated;
create policy "Owner's ""lines"" — read" on "Tenant Data"."Order ""Lines""" for select to authenticated, "Mixed Role"
  using ("Owner Id" = (select auth.uid()));
create policy "UPPER case; with semicolon -- and dashes" on "Tenant Data"."Order ""Lines""" for update to authenticated
  using ("Owner Id" = auth.uid()) with check ("select" > 0 and "ß" <> 'x;y');
create policy p_63_bytes_abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqrstuvwxyz_ on "Tenant Data"."Order ""Lines""" for insert to authenticated
  with check ("Owner Id" = auth.uid());
alter table "ünï"."Ünïcödé tâble" enable row level security;
alter table "ünï"."Ünïcödé tâble" force row level security;
grant select on "ünï"."Ünïcödé tâble" to anon;
create policy "Lesen für alle 🔒" on "ünï"."Ünïcödé tâble" for select to public using ("Großes Feld" is not null);
alter table "Tenant Data".a63_abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqrstuvwxyz_abcd enable row level security;
alter table "${LONG_SCHEMA}"."${LONG_TABLE}" enable row level security;
grant select on "${LONG_SCHEMA}"."${LONG_TABLE}" to authenticated;
create policy "${'ß'.repeat(31)}" on "${LONG_SCHEMA}"."${LONG_TABLE}" for select to authenticated using (id > 0);
`,
  },
  {
    // Grants: column-level with and without table-level, WITH GRANT OPTION, grants made by a non-owner, PUBLIC,
    // RLS on without a policy, FORCE, and a table owned by another role.
    name: 'grants',
    schemas: ['grants'],
    tables: `
create schema grants;
create table grants.cols (id int, secret text, label text);
create table grants.mixed (id int, note text);
create table grants.opt (id int);
create table grants.locked (id int);
create table grants.public_read (id int);
create table grants.owned (id int, owner_id uuid);
create table grants.by_other (id int);
alter table grants.owned owner to rt_owner;
grant usage on schema grants to rt_grantor;
-- Granted in sql/ by a role that is not the owner: an owner's (or superuser's) REVOKE leaves these in place.
create table grants.sql_by_other (id int, note text);
grant select, update on grants.sql_by_other to rt_grantor with grant option;
set role rt_grantor;
grant select on grants.sql_by_other to anon;
grant update (note) on grants.sql_by_other to authenticated;
reset role;
-- An API role given a grant option in sql/, which it passed on: resetting its grants needs CASCADE.
create table grants.passed_on (id int);
grant usage on schema grants to authenticated;
grant select on grants.passed_on to authenticated with grant option;
set role authenticated;
grant select on grants.passed_on to anon, web_anon;
reset role;
`,
    security: `
grant select (id, label), update (label) on grants.cols to anon, authenticated;
grant select on grants.mixed to authenticated;
grant select (id), insert (note) on grants.mixed to authenticated;
grant select on grants.opt to authenticated with grant option;
alter table grants.locked enable row level security;
alter table grants.locked force row level security;
grant select on grants.locked to anon, authenticated;
grant select on grants.public_read to public;
revoke all on grants.public_read from anon;
alter table grants.owned enable row level security;
grant select, update on grants.owned to authenticated;
create policy own on grants.owned to authenticated using (owner_id = auth.uid());
grant select, insert on grants.by_other to rt_grantor with grant option;
set role rt_grantor;
grant select on grants.by_other to anon;
grant insert on grants.by_other to authenticated;
reset role;
grant select on grants.by_other to authenticated;
set role rt_grantor;
revoke select on grants.sql_by_other from anon;
revoke update (note) on grants.sql_by_other from authenticated;
reset role;
`,
  },
  {
    // Policies on tables that reference tables in schemas policies/ does not manage (auth.users, a private schema),
    // and helpers from another schema.
    name: 'foreign-refs',
    schemas: ['docs'],
    tables: `
create schema private;
create table private.memberships (user_id uuid, doc_id int, level int);
create function private.is_member(d int) returns boolean language sql security definer set search_path = '' stable as $$
  select exists (select 1 from private.memberships where user_id = auth.uid() and doc_id = d) $$;
create schema docs;
create table docs.documents (id int primary key, title text, owner uuid, shared_with uuid[], level int);
create table docs.comments (id int, doc_id int, author uuid, body text);
`,
    security: `
alter table docs.documents enable row level security;
alter table docs.comments enable row level security;
grant select, insert, update, delete on docs.documents, docs.comments to authenticated;
create policy docs_read on docs.documents for select to authenticated
  using (owner = (select auth.uid()) or (select auth.uid()) = any (shared_with) or private.is_member(id)
         or exists (select 1 from auth.users u where u.id = (select auth.uid()) and u.email like '%@example.com'));
create policy docs_level on docs.documents as restrictive for select to authenticated
  using (level <= coalesce((select max(m.level) from private.memberships m where m.user_id = (select auth.uid()) and m.doc_id = documents.id), 0));
create policy comments_rw on docs.comments to authenticated
  using (doc_id in (select d.id from docs.documents d where d.owner = auth.uid()))
  with check (author = auth.uid() and exists (select from docs.documents d join private.memberships m on m.doc_id = d.id where d.id = comments.doc_id));
`,
  },
  {
    // Expressions whose deparsed text must parse back to itself: CTEs, LATERAL, window functions, SIMILAR TO,
    // BETWEEN, IS DISTINCT FROM, row comparisons, named arguments, COLLATE, AT TIME ZONE, quoted types, a self join,
    // a table of the same name in another schema, and names with a dot, a slash and a percent sign.
    name: 'expressions',
    schemas: ['exotic', 'exotic.v2'],
    tables: `
create schema exotic;
create schema "exotic.v2";
create type exotic."Level" as enum ('low', 'high');
create domain exotic.email as text check (value ~ '@');
create table exotic.nodes (id int primary key, parent int, path varchar(200), owner_email exotic.email, lvl exotic."Level", at timestamp, tags text[], data jsonb);
create table "exotic.v2".nodes (id int, visible boolean);
create table exotic."a/b%c.d" (id int, "Weird ""Col""" text);
create function exotic.score(a int, b int default 0, "mode" text default 'x') returns int language sql immutable as $$ select a + b $$;
create function exotic.row_ok(r exotic.nodes) returns boolean language sql stable as $$ select r.id > 0 $$;
`,
    security: `
alter table exotic.nodes enable row level security;
grant select, update on exotic.nodes to authenticated;
create policy cte on exotic.nodes for select to authenticated using (exists (
  with recursive up(id, parent) as (select n.id, n.parent from exotic.nodes n where n.id = nodes.parent
                                    union all select n.id, n.parent from exotic.nodes n join up on n.id = up.parent)
  select 1 from up where up.id = 1));
create policy lateral_window on exotic.nodes for select to authenticated using (id in (
  select x.id from (select n.id, row_number() over (partition by n.parent order by n.id desc) as rn from exotic.nodes n) x,
    lateral (select count(*) as c from "exotic.v2".nodes v where v.id = x.id and v.visible) l where x.rn <= 3 and l.c > 0));
create policy misc on exotic.nodes for update to authenticated
  using (path similar to '/(a|b)%' and id between 1 and 100 and parent is distinct from 0 and (id, parent) < (5, 6)
         and exotic.score(id, "mode" => 'y') > 0 and owner_email collate "C" like '%@x' and lvl >= 'high'
         and (at at time zone 'UTC') > now() - interval '1 hour' and tags && array['a'] and data @? '$.a' and path::text ilike any (array['x%', 'y%']))
  with check (lvl is not null and extract(year from at) = 2025 and coalesce(nullif(path, ''), 'z') <> 'q' and cast(data ->> 'n' as numeric(10, 2)) > 1.5);
create policy rows_and_aggregates on exotic.nodes for delete to authenticated
  using (exotic.row_ok(nodes) and nodes is not null and id = (select distinct on (n.parent) n.id from exotic.nodes n order by n.parent, n.id limit 1)
         and 2 < (select count(*) filter (where v.visible) from "exotic.v2".nodes v) and id in (values (1), (2))
         and (data #>> '{a,b}') is not null and current_setting('app.tenant', true)::jsonb ? 'x' and not (tags @> '{}'));
create policy same_name on exotic.nodes for select to authenticated using (exists (select 1 from "exotic.v2".nodes where "exotic.v2".nodes.id = exotic.nodes.id));
alter table exotic."a/b%c.d" enable row level security;
grant select ("Weird ""Col"""), insert on exotic."a/b%c.d" to anon;
create policy "a/b%c.d" on exotic."a/b%c.d" for insert to anon with check (${serverMajor() >= 16 ? '"Weird ""Col""" is json object' : 'json_typeof("Weird ""Col"""::json) = \'object\''});
`,
  },
];

/** The index just past the parenthesis that closes the one at `open`, skipping '…' and "…". */
function closing(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'" || ch === '"') {
      i = text.indexOf(ch, i + 1);
      while (text[i + 1] === ch) i = text.indexOf(ch, i + 2);
    } else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i + 1;
  }
  throw new Error(`unbalanced: ${text.slice(open)}`);
}

/** `using ((x))` → `using (x)`: one layer of the parentheses pg_get_expr adds, taken off. */
function unwrapClauses(text: string): string {
  let out = '';
  let from = 0;
  for (const m of text.matchAll(/(using|with check) \(/g)) {
    const open = m.index! + m[0].length - 1;
    if (open < from) continue;
    const end = closing(text, open);
    const inner = text.slice(open + 1, end - 1);
    const innerEnd = inner.startsWith('(') ? closing(inner, 0) : -1;
    if (innerEnd === inner.length) {
      out += text.slice(from, open + 1) + inner.slice(1, -1) + ')';
      from = end;
    }
  }
  return out + text.slice(from);
}

/** The same file spelled another way: keywords' case, layout, comments, parentheses, role and privilege order, BOM, CRLF. */
export function respell(text: string): string {
  let t = unwrapClauses(text);
  t = t.replace(/^grant ([a-z, ]+) on table /gm, (_m, privs: string) => `grant ${privs.split(', ').reverse().join(',')} ON `);
  t = t.replace(/^(create policy|alter table|grant) /gim, (m) => `-- a comment; with a semicolon\n/* and ; another */ ${m.toUpperCase()}`);
  t = t.replace(/\n  as permissive/g, '');
  t = t.replace(/\n  as restrictive/g, '\r\n\tAS   RESTRICTIVE');
  t = t.replace(/\n  for (\w+)/g, (_m, c: string) => ` FOR ${c.toUpperCase()}`);
  t = t.replace(/\n  to (.*)/g, (_m, roles: string) => ` TO ${roles.split(', ').reverse().map((r) => (r === 'public' ? 'PUBLIC' : r)).join(' ,  ')}`);
  t = t.replace(/\n  using \(/g, '\n    USING (').replace(/\n  with check \(/g, ' WITH CHECK(');
  t = t.replace(/ enable row level security;/g, ' ENABLE ROW LEVEL SECURITY ;');
  return '\uFEFF' + t.replace(/\n/g, '\r\n');
}
