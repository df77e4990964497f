/**
 * Does the security lint catch every RLS hole that really leaks rows? A differential
 * against Postgres: random schemas whose intended access is plain — every table in
 * `public` has a `user_id uuid` and should let an authenticated user read, insert,
 * update and delete only their own rows, and anon nothing — with one or two real-world
 * mistakes injected per table (or none, from the correct look-alikes only).
 *
 * The oracle runs requests the way PostgREST does (one transaction, SET LOCAL ROLE and
 * request.jwt.claims through set_config, see conventions §2, §8) as anon and as user A,
 * with rows of users A and B seeded, on every object a request can reach (tables and
 * views in `public`, functions in `public` called as `select * from public.f()`), and
 * measures whether A can see, update, delete or take a row of B, insert a row for B or
 * hand a row to B, and whether anon can do anything at all. Every attempt is undone.
 * User A is hostile: its JWT carries the user_metadata it chose ({"role": "admin",
 * "is_admin": true}), its request sends an `x-user-id: <B>` header, and before probing
 * it sets `role = 'admin'` on its own profiles row when a policy lets it.
 *
 * Not measured: TRUNCATE. It ignores RLS, but PostgREST never issues it, so no request
 * can truncate; the lint reports anon's TRUNCATE anyway (anon-write-unprotected), and
 * `grant all` is among the mistakes, never the correct patterns.
 *
 * PROPERTY: every object with a leak gets a security finding at level error or warn
 * naming it (or the table behind the view or function), of a rule that does not also
 * report the same table built without the mistakes (its twin, public.bN beside
 * public.tN: policy-to-public warns on a correct `using (auth.uid() = user_id)` with no
 * TO, which must not pass for catching the mistake); an object built only from the
 * correct patterns, with no leak, gets no error-level security finding.
 *
 * No case is excluded: a SECURITY DEFINER function whose body is dynamic SQL cannot be
 * read, but security-definer-rpc reports every definer function an API role can call
 * in an exposed schema, whatever its body.
 *
 * HOLES_SEEDS=1-500 runs a local sweep instead of the committed seeds (HOLES_ONE=1: one mistake
 * per table; HOLES_OUT=file: the misses, with each table's SQL).
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayDatabase, withSql, type ThrowawayDatabase } from '../../cli/core/db.js';
import { introspect } from '../../cli/core/catalog/introspect.js';
import type { Finding } from '../../cli/core/lint/types.js';
import { serverMajor, serverUrl } from '../helpers/pg.js';
import { lintWith, makeTemplate } from './helpers.js';

const A = 'aaaaaaaa-0000-4000-8000-00000000000a';
const B = 'bbbbbbbb-0000-4000-8000-00000000000b';
/** An admin, with a profiles row only. */
const C = 'cccccccc-0000-4000-8000-00000000000c';
const GROUP = 'rg_holes_group';

type Rand = (n: number) => number;
/** mulberry32 (good low bits, unlike an LCG's x % n). */
function rng(seed: number): Rand {
  let x = seed >>> 0;
  return (n) => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[r(xs.length)]!;

interface Reachable {
  kind: 'rel' | 'fn';
  /** A function taking a user id: called with B's. */
  arg?: boolean;
  /** `public.t3_v`, or `public.t3_all` for a function. */
  name: string;
}

/** One table and the objects over it. */
interface Group {
  table: string;
  rls: boolean;
  force: boolean;
  partitioned: boolean;
  grants: string[];
  policies: string[];
  /** SQL run after the table and its policies exist (views, functions, owners). */
  extra: string[];
  objects: Reachable[];
  /** What went into it, for the failure message: correct patterns and mistakes. */
  patterns: string[];
  mistakes: string[];
  /** Tables its policies read (their group is then not judged as clean). */
  reads: string[];
}

const own = (uid = '(select auth.uid())') => `${uid} = user_id`;

/** Correct grant styles: what an authenticated user gets, anon maybe too (Supabase's default grants). */
const GRANT_STYLES: Array<[string, (t: string) => string[]]> = [
  ['grant-authenticated', (t) => [`grant select, insert, update, delete on ${t} to authenticated;`]],
  ['grant-api-roles', (t) => [`grant select, insert, update, delete on ${t} to anon, authenticated;`]],
  ['grant-public', (t) => [`grant select, insert, update, delete on ${t} to public;`]],
  ['grant-group', (t) => [`grant select, insert, update, delete on ${t} to ${GROUP};`]],
];

/** Correct policy sets: own rows only, for authenticated (or for everyone with a test anon never passes). */
const POLICY_STYLES: Array<[string, (t: string) => string[]]> = [
  [
    'per-command',
    (t) => [
      `create policy own_select on ${t} for select to authenticated using (${own()});`,
      `create policy own_insert on ${t} for insert to authenticated with check (${own()});`,
      `create policy own_update on ${t} for update to authenticated using (${own()}) with check (${own()});`,
      `create policy own_delete on ${t} for delete to authenticated using (${own()});`,
    ],
  ],
  ['all-using-only', (t) => [`create policy own_all on ${t} for all to authenticated using (${own('auth.uid()')});`]],
  ['all-check-equal', (t) => [`create policy own_all on ${t} for all to authenticated using (${own()}) with check (${own()});`]],
  ['all-to-public', (t) => [`create policy own_all on ${t} using (${own('auth.uid()')});`]],
  ['private-helper', (t) => [`create policy own_all on ${t} for all to authenticated using ((select private.is_me(user_id)));`]],
  ['private-helper-plpgsql', (t) => [`create policy own_all on ${t} for all to authenticated using ((select private.is_me_pl(user_id)));`]],
  ['jwt-sub', (t) => [`create policy own_all on ${t} for all to authenticated using (((select auth.jwt()) ->> 'sub')::uuid = user_id);`]],
  [
    'app-metadata-admin',
    (t) => [
      `create policy own_or_admin on ${t} for all to authenticated using (${own()} or ((select auth.jwt()) -> 'app_metadata' ->> 'role') = 'admin');`,
    ],
  ],
  [
    'restrictive-own',
    (t) => [
      `create policy signed_in on ${t} for all to authenticated using (true);`,
      `create policy own_only on ${t} as restrictive for all to authenticated using (${own()}) with check (${own()});`,
    ],
  ],
  [
    'update-no-check',
    (t) => [
      `create policy own_select on ${t} for select to authenticated using (${own()});`,
      `create policy own_insert on ${t} for insert to authenticated with check (${own()});`,
      `create policy own_update on ${t} for update to authenticated using (${own()});`,
      `create policy own_delete on ${t} for delete to authenticated using (${own()});`,
    ],
  ],
];

/** Correct objects over a table. */
const CORRECT_EXTRAS: Array<[string, (g: Group) => void]> = [
  [
    'invoker-view',
    (g) => {
      if (serverMajor() < 15) return;
      g.extra.push(`create view ${g.table}_v with (security_invoker = true) as select * from ${g.table};`, `grant select, insert, update, delete on ${g.table}_v to anon, authenticated;`);
      g.objects.push({ kind: 'rel', name: `${g.table}_v` });
    },
  ],
  [
    'invoker-function',
    (g) => {
      g.extra.push(`create function ${g.table}_list() returns setof ${g.table} language sql stable set search_path = '' as $$ select * from ${g.table} $$;`);
      g.objects.push({ kind: 'fn', name: `${g.table}_list` });
    },
  ],
  [
    'invoker-plpgsql-function',
    (g) => {
      g.extra.push(`create function ${g.table}_mine() returns setof ${g.table} language plpgsql stable set search_path = '' as $$ begin if not private.is_me_pl(auth.uid()) then return; end if; return query select * from ${g.table}; end $$;`);
      g.objects.push({ kind: 'fn', name: `${g.table}_mine` });
    },
  ],
  // Owned by an API role, but FORCE puts the owner under the policies too.
  [
    'owner-api-role-forced',
    (g) => {
      g.force = true;
      g.extra.push(`alter table ${g.table} owner to authenticated;`);
    },
  ],
  [
    'private-definer-function',
    (g) => {
      g.extra.push(`create function private.${g.table.slice(7)}_all() returns setof ${g.table} language sql stable security definer set search_path = '' as $$ select * from ${g.table} $$;`);
    },
  ],
  [
    'definer-function-revoked',
    (g) => {
      g.extra.push(
        `create function ${g.table}_admin() returns setof ${g.table} language sql stable security definer set search_path = '' as $$ select * from ${g.table} $$;`,
        `revoke execute on function ${g.table}_admin() from public, anon, authenticated;`,
      );
      g.objects.push({ kind: 'fn', name: `${g.table}_admin` });
    },
  ],
];

/** The mistakes, each a real-world way of getting the intended access wrong. */
const MISTAKES: Array<[string, (g: Group, r: Rand) => void]> = [
  ['rls-off', (g) => void (g.rls = false)],
  [
    'rls-off-public-grant',
    (g) => {
      g.rls = false;
      g.grants = [`grant select on ${g.table} to public;`];
    },
  ],
  [
    'rls-off-group-grant',
    (g) => {
      g.rls = false;
      g.grants = [`grant select, update on ${g.table} to ${GROUP};`];
    },
  ],
  ['grant-all', (g) => g.grants.push(`grant all on ${g.table} to ${g.grants.some((x) => x.includes('anon')) ? 'authenticated' : 'anon, authenticated'};`)],
  ['select-true', (g) => g.policies.push(`create policy read_all on ${g.table} for select to authenticated using (true);`)],
  ['select-true-to-public', (g) => g.policies.push(`create policy read_all on ${g.table} for select using (true);`)],
  [
    'anon-select-true',
    (g) => {
      g.policies.push(`create policy anon_read on ${g.table} for select to anon using (true);`);
      g.grants.push(`grant select on ${g.table} to anon;`);
    },
  ],
  ['all-true', (g) => g.policies.push(`create policy everything on ${g.table} for all to authenticated using (true) with check (true);`)],
  ['update-true', (g) => g.policies.push(`create policy edit_all on ${g.table} for update to authenticated using (true);`)],
  ['delete-true', (g) => g.policies.push(`create policy delete_all on ${g.table} for delete to authenticated using (true);`)],
  // Only filters the rows (the SELECT policy seems to tie them to the caller; it does not for a write that reads no column).
  ['update-filter-only', (g, r) => g.policies.push(`create policy edit_open on ${g.table} for update to authenticated using (${pick(r, ["note <> 'archived'", 'id > 0'])})${r(2) ? ' with check ((select auth.uid()) = user_id)' : ''};`)],
  ['delete-filter-only', (g, r) => g.policies.push(`create policy delete_open on ${g.table} for delete to authenticated using (${pick(r, ["note <> 'archived'", 'id > 0'])});`)],
  [
    'anonymous-branch',
    (g, r) => {
      g.policies = [`create policy own_or_anon on ${g.table} using (${pick(r, ['auth.uid() = user_id or auth.uid() is null', '(select auth.uid()) is null or user_id = (select auth.uid())'])});`];
      if (r(2)) g.grants.push(`grant select, insert, update, delete on ${g.table} to anon;`);
    },
  ],
  // A fallback for requests without a user that makes the test true: auth.uid() is NULL for anon (and NULL IS NOT FALSE).
  [
    'anonymous-fallback',
    (g, r) => {
      g.policies = [`create policy own_or_anon on ${g.table} to anon, authenticated using (${pick(r, ['user_id = coalesce((select auth.uid()), user_id)', 'coalesce(auth.uid() = user_id, true)', 'user_id is not distinct from coalesce(auth.uid(), user_id)', '(user_id = (select auth.uid())) is not false'])});`];
      g.grants.push(`grant select, insert, update, delete on ${g.table} to anon;`);
    },
  ],
  // A "backend only" branch on the per-claim setting PostgREST 10 and later never set: NULL for every request (holes4).
  [
    'legacy-claim-branch',
    (g, r) => {
      const branch = pick(r, ["current_setting('request.jwt.claim.sub', true) is null", "coalesce(current_setting('request.jwt.claim.sub', true), '') = ''"]);
      g.policies = [`create policy own_or_backend on ${g.table} for all to authenticated using (${branch} or user_id = (select auth.uid())) with check (user_id = (select auth.uid()));`];
    },
  ],
  [
    'or-true-ish',
    (g, r) => {
      const branch = pick(r, ['true', '1 = 1', 'user_id is not null', "auth.role() = 'authenticated'", 'auth.uid() is not null']);
      if (r(2)) g.policies = [`create policy own_all on ${g.table} for all to authenticated using (${own()} or ${branch});`];
      else g.policies = [...POLICY_STYLES[0]![1](g.table).filter((p) => !p.includes(' for select ')), `create policy own_select on ${g.table} for select to authenticated using (${own()} or ${branch});`];
    },
  ],
  [
    'signed-in-only',
    (g, r) => {
      const test = pick(r, ["auth.role() = 'authenticated'", 'auth.uid() is not null', '(select auth.uid()) is not null', "(auth.jwt() ->> 'role') = 'authenticated'", '(select auth.jwt()) is not null']);
      g.policies.push(`create policy any_signed_in on ${g.table} for select to authenticated using (${test});`);
    },
  ],
  ['insert-check-true', (g) => g.policies.push(`create policy add_any on ${g.table} for insert to authenticated with check (true);`)],
  ['insert-check-signed-in', (g) => g.policies.push(`create policy add_any on ${g.table} for insert to authenticated with check (auth.uid() is not null);`)],
  ['update-check-true', (g) => g.policies.push(`create policy move_any on ${g.table} for update to authenticated using (${own()}) with check (true);`)],
  [
    'user-metadata',
    (g, r) =>
      g.policies.push(
        `create policy meta_admin on ${g.table} for select to authenticated using (${pick(r, ["(auth.jwt() -> 'user_metadata' ->> 'role') = 'admin'", "coalesce(((select auth.jwt()) -> 'user_metadata' ->> 'is_admin')::boolean, false)"])});`,
      ),
  ],
  [
    'user-metadata-helper',
    (g, r) => g.policies.push(`create policy meta_admin on ${g.table} for select to authenticated using ((select ${pick(r, ['private.meta_admin', 'private.meta_admin_pl'])}()));`),
  ],
  ['self-comparison', (g) => void (g.policies = [`create policy own_all on ${g.table} for all to authenticated using (user_id = user_id);`])],
  [
    'self-comparison-subselect',
    (g) => {
      g.policies.push(`create policy via_profile on ${g.table} for select to authenticated using (exists (select 1 from public.profiles p where p.user_id = user_id and p.user_id = (select auth.uid())));`);
      g.reads.push('public.profiles');
    },
  ],
  [
    'writable-role-column',
    (g) => {
      g.policies.push(`create policy admin_read on ${g.table} for select to authenticated using (exists (select 1 from public.profiles p where p.user_id = (select auth.uid()) and p.role = 'admin'));`);
      g.reads.push('public.profiles');
    },
  ],
  [
    'definer-view',
    (g, r) => {
      const opts = pick(r, ['', ' with (security_barrier)', ' with (security_invoker = false)']);
      g.extra.push(`create view ${g.table}_leak${opts} as select * from ${g.table};`, `grant select on ${g.table}_leak to ${pick(r, ['anon, authenticated', 'authenticated', 'public'])};`);
      g.objects.push({ kind: 'rel', name: `${g.table}_leak` });
    },
  ],
  [
    'materialized-view',
    (g) => {
      g.extra.push(`create materialized view ${g.table}_mv as select * from ${g.table};`, `grant select on ${g.table}_mv to authenticated;`);
      g.objects.push({ kind: 'rel', name: `${g.table}_mv` });
    },
  ],
  [
    'definer-function',
    (g) => {
      g.extra.push(`create function ${g.table}_all() returns setof ${g.table} language sql stable security definer set search_path = '' as $$ select * from ${g.table} $$;`);
      g.objects.push({ kind: 'fn', name: `${g.table}_all` });
    },
  ],
  [
    'definer-function-dynamic',
    (g) => {
      g.extra.push(
        `create function ${g.table}_dyn() returns setof ${g.table} language plpgsql security definer set search_path = '' as $$ begin return query execute format('select * from %s', '${g.table}'); end $$;`,
      );
      g.objects.push({ kind: 'fn', name: `${g.table}_dyn` });
    },
  ],
  ['owner-api-role', (g) => g.extra.push(`alter table ${g.table} owner to authenticated;`)],
  // authenticated inherits the privileges of the group, ownership included.
  ['owner-group-role', (g) => g.extra.push(`alter table ${g.table} owner to ${GROUP};`)],
  [
    'definer-view-write-only',
    (g) => {
      g.extra.push(`create view ${g.table}_edit as select * from ${g.table};`, `grant update, delete on ${g.table}_edit to authenticated;`);
      g.objects.push({ kind: 'rel', name: `${g.table}_edit` });
    },
  ],
  [
    'definer-function-by-id',
    (g) => {
      g.extra.push(`create function ${g.table}_of(uid uuid) returns setof ${g.table} language sql stable security definer set search_path = '' as $$ select * from ${g.table} where user_id = uid $$;`);
      g.objects.push({ kind: 'fn', name: `${g.table}_of`, arg: true });
    },
  ],
  [
    'inherited-child',
    (g) => {
      if (g.partitioned) return;
      g.extra.push(
        `create table ${g.table}_old () inherits (${g.table});`,
        `insert into ${g.table}_old values (5, '${A}', 'a3'), (6, '${B}', 'b3');`,
        `grant select, insert, update, delete on ${g.table}_old to authenticated;`,
      );
      g.objects.push({ kind: 'rel', name: `${g.table}_old` });
    },
  ],
  [
    'helper-uncorrelated',
    (g) => {
      g.policies.push(`create policy admin_read on ${g.table} for select to authenticated using ((select private.is_admin()));`);
      g.reads.push('public.profiles');
    },
  ],
  [
    'helper-uncorrelated-plpgsql',
    (g) => {
      g.policies.push(`create policy admin_read on ${g.table} for select to authenticated using ((select private.is_admin_pl()));`);
      g.reads.push('public.profiles');
    },
  ],
  [
    'writable-role-column-plpgsql',
    (g) => {
      g.policies.push(`create policy admin_read on ${g.table} for select to authenticated using ((select private.am_admin_pl()));`);
      g.reads.push('public.profiles');
    },
  ],
  [
    'request-header',
    (g) => g.policies.push(`create policy by_header on ${g.table} for select to authenticated using (user_id = (current_setting('request.headers', true)::json ->> 'x-user-id')::uuid);`),
  ],
  [
    'invoker-view-over-private-definer-view',
    (g) => {
      if (serverMajor() < 15) return;
      const inner = `private.${g.table.slice(7)}_all`;
      g.extra.push(
        `create view ${inner} as select * from ${g.table};`,
        `grant select on ${inner} to authenticated;`,
        `create view ${g.table}_pub with (security_invoker = true) as select * from ${inner};`,
        `grant select on ${g.table}_pub to authenticated;`,
      );
      g.objects.push({ kind: 'rel', name: `${g.table}_pub` });
    },
  ],
  [
    'invoker-function-over-private-definer-function',
    (g) => {
      const inner = `private.${g.table.slice(7)}_rows`;
      g.extra.push(
        `create function ${inner}() returns setof ${g.table} language sql stable security definer set search_path = '' as $$ select * from ${g.table} $$;`,
        `create function ${g.table}_rows() returns setof ${g.table} language sql stable set search_path = '' as $$ select * from ${inner}() $$;`,
      );
      g.objects.push({ kind: 'fn', name: `${g.table}_rows` });
    },
  ],
  [
    'invoker-plpgsql-function-over-private-definer-function',
    (g) => {
      const inner = `private.${g.table.slice(7)}_rows_pl`;
      g.extra.push(
        `create function ${inner}() returns setof ${g.table} language sql stable security definer set search_path = '' as $$ select * from ${g.table} $$;`,
        `create function ${g.table}_rows_pl() returns setof ${g.table} language plpgsql stable set search_path = '' as $$ declare r ${g.table}; begin for r in select * from ${inner}() loop return next r; end loop; end $$;`,
      );
      g.objects.push({ kind: 'fn', name: `${g.table}_rows_pl` });
    },
  ],
  // The helper is handed the row's owner but never reads it: a LANGUAGE sql parameter named like the
  // column (the body's bare user_id is p.user_id), a PL/pgSQL one the body forgot, or a PL/pgSQL
  // one named like the column under #variable_conflict use_column.
  [
    'helper-ignores-argument',
    (g, r) => {
      g.policies = [`create policy own_all on ${g.table} for all to authenticated using ((select ${pick(r, ['private.owns', 'private.owns_pl', 'private.owns_col'])}(user_id)));`];
      g.reads.push('public.profiles');
    },
  ],
  ['update-true-check-own', (g) => g.policies.push(`create policy take_any on ${g.table} for update to authenticated using (true) with check (${own()});`)],
  [
    'partition-rls-off',
    (g) => {
      if (g.mistakes.includes('inherited-child')) return; // a partitioned table cannot be inherited from
      g.partitioned = true;
      g.extra.push(`grant select, insert, update, delete on ${g.table}_p to authenticated;`);
      g.objects.push({ kind: 'rel', name: `${g.table}_p` });
    },
  ],
];

function newGroup(r: Rand, table: string): Group {
  const [gName, grants] = pick(r, GRANT_STYLES);
  const [pName, policies] = pick(r, POLICY_STYLES);
  const g: Group = { table, rls: true, force: false, partitioned: r(8) === 0, grants: grants(table), policies: policies(table), extra: [], objects: [{ kind: 'rel', name: table }], patterns: [gName, pName], mistakes: [], reads: [] };
  if (g.partitioned) g.patterns.push('partitioned');
  if (r(3) === 0) {
    const [eName, add] = pick(r, CORRECT_EXTRAS);
    add(g);
    g.patterns.push(eName);
  }
  return g;
}

function groupSql(g: Group): string {
  const t = g.table;
  return [
    g.partitioned
      ? `create table ${t} (id int primary key, user_id uuid not null, note text) partition by hash (id);
         create table ${t}_p partition of ${t} for values with (modulus 1, remainder 0);`
      : `create table ${t} (id int primary key, user_id uuid not null, note text);`,
    `insert into ${t} values (1, '${A}', 'a1'), (2, '${A}', 'a2'), (3, '${B}', 'b1'), (4, '${B}', 'b2');`,
    g.rls ? `alter table ${t} enable row level security;` : '',
    g.force ? `alter table ${t} force row level security;` : '',
    ...g.grants,
    // Two mistakes may add a policy of the same name: the second gets a suffix.
    ...g.policies.map((p, i) => {
      const name = /^create policy (\w+)/.exec(p)![1]!;
      return g.policies.slice(0, i).some((q) => q.startsWith(`create policy ${name} `)) ? p.replace(`create policy ${name} `, `create policy ${name}_${i} `) : p;
    }),
    ...g.extra,
  ].join('\n');
}

/** The profiles table the role-column mistakes trust: each user can read and update their own row, every column. */
const PROFILES: Group = {
  table: 'public.profiles',
  rls: true,
  force: false,
  partitioned: false,
  grants: ['grant select, insert, update, delete on public.profiles to authenticated;'],
  policies: [
    'create policy own_profile on public.profiles for all to authenticated using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);',
  ],
  extra: [],
  objects: [{ kind: 'rel', name: 'public.profiles' }],
  patterns: ['profiles'],
  mistakes: [],
  reads: [],
};
const PROFILES_SQL = `create table public.profiles (id int primary key, user_id uuid not null unique, role text not null default 'user', note text);
insert into public.profiles values (1, '${A}', 'user', 'a'), (3, '${B}', 'user', 'b'), (5, '${C}', 'admin', 'c');
alter table public.profiles enable row level security;
${PROFILES.grants.join('\n')}
${PROFILES.policies.join('\n')}
-- An admin check that forgot to ask whose profile says admin (C's does).
create function private.is_admin() returns boolean language sql stable security definer set search_path = '' as $$ select exists (select 1 from public.profiles p where p.role = 'admin') $$;
-- The same in PL/pgSQL.
create function private.is_admin_pl() returns boolean language plpgsql stable security definer set search_path = '' as $$
declare n int;
begin
  select count(*) into n from public.profiles p where p.role = 'admin';
  return n > 0;
end $$;
-- The hostile user chose its own metadata at sign-up (GoTrue's raw_user_meta_data; PUT /user changes it).
insert into auth.users (id, raw_user_meta_data) values ('${A}', '{"role": "admin", "is_admin": true}'), ('${B}', '{}');
-- An admin check that reads what each user writes about themselves.
create function private.meta_admin() returns boolean language sql stable security definer set search_path = '' as $$ select coalesce((select (u.raw_user_meta_data ->> 'role') = 'admin' from auth.users u where u.id = (select auth.uid())), false) $$;
create function private.meta_admin_pl() returns boolean language plpgsql stable security definer set search_path = '' as $$
declare m jsonb;
begin
  select u.raw_user_meta_data into m from auth.users u where u.id = auth.uid();
  return coalesce((m ->> 'is_admin')::boolean, false);
end $$;
-- Meant to ask whether the row's owner is the caller: in a LANGUAGE sql body the bare user_id is
-- p.user_id (a column wins over a parameter of the same name), so any user with a profile passes.
create function private.owns(user_id uuid) returns boolean language sql stable security definer set search_path = '' as $$ select exists (select 1 from public.profiles p where p.user_id = user_id and p.user_id = (select auth.uid())) $$;
create function private.owns_pl(p_owner uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$
begin
  return exists (select 1 from public.profiles p where p.user_id = auth.uid());
end $$;
create function private.owns_col(user_id uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$
#variable_conflict use_column
begin
  return exists (select 1 from public.profiles p where p.user_id = user_id and p.user_id = auth.uid());
end $$;
-- Asks whose profile, but each user may write their own role.
create function private.am_admin_pl() returns boolean language plpgsql stable security definer set search_path = '' as $$
declare me uuid := auth.uid(); r text;
begin
  select p.role into r from public.profiles p where p.user_id = me;
  if r = 'admin' then return true; end if;
  return false;
end $$;`;

/** Per database, before the groups: the private helper the correct policies may call, the group role's membership, the probes. */
const SETUP = `
grant usage on schema private to authenticated;
create function private.is_me(u uuid) returns boolean language sql stable security definer set search_path = '' as $$ select u = (select auth.uid()) $$;
create function private.is_me_pl(u uuid) returns boolean language plpgsql stable security definer set search_path = '' as $$
declare me uuid := auth.uid();
begin
  return u = me;
end $$;
create schema holes_probe;
grant usage on schema holes_probe to public;
-- Every capability the current role has on a relation, each attempt undone. n_a: the rows of A in it.
create function holes_probe.rel_caps(rel regclass, a uuid, b uuid, is_anon boolean, n_a bigint) returns text[] language plpgsql as $$
declare
  caps text[] := '{}';
  n bigint;
  attempt text;
  allowed bigint := case when is_anon then 0 else n_a end;
begin
  begin
    execute format('select count(*) from %s where $1 or user_id = $2', rel) into n using is_anon, b;
    if n > 0 then caps := caps || 'see'::text; end if;
  exception when insufficient_privilege then null;
  end;
  -- Filtered (PostgREST's ?user_id=eq.B) and unfiltered writes: more rows than A's own means B's.
  foreach attempt in array array[
    'update %s set note = note where $1 or user_id = $2', 'update %s set note = note',
    'update %s set user_id = $3 where $1 or user_id = $2', 'update %s set user_id = $3',
    'delete from %s where $1 or user_id = $2', 'delete from %s'] loop
    begin
      execute format(attempt, rel) using is_anon, b, a;
      get diagnostics n = row_count;
      if n > (case when attempt like '%where%' then 0 else allowed end) then caps := caps || (split_part(attempt, ' ', 1) || ' rows of B'); end if;
      raise sqlstate 'RGUND';
    exception when sqlstate 'RGUND' or insufficient_privilege or object_not_in_prerequisite_state or wrong_object_type or feature_not_supported then null;
    end;
  end loop;
  -- Hand a row to B: A's own rows (anon: any row), filtered or not (with no WHERE the
  -- command reads no column, so the SELECT policies do not judge the new row).
  foreach attempt in array array['update %s set user_id = $2 where $1 or user_id = $3', 'update %s set user_id = $2'] loop
    begin
      execute format(attempt, rel) using is_anon, b, a;
      get diagnostics n = row_count;
      if n > 0 then caps := caps || 'move a row to B'::text; end if;
      raise sqlstate 'RGUND';
    exception when sqlstate 'RGUND' or insufficient_privilege or object_not_in_prerequisite_state or wrong_object_type or feature_not_supported then null;
    end;
  end loop;
  begin
    execute format('insert into %s (id, user_id, note) values (1001, $1, ''x'')', rel) using b;
    caps := caps || 'insert for B'::text;
    raise sqlstate 'RGUND';
  exception when sqlstate 'RGUND' or insufficient_privilege or object_not_in_prerequisite_state or wrong_object_type or feature_not_supported then null;
  end;
  return caps;
end $$;
create function holes_probe.fn_caps(fn text, b uuid, is_anon boolean, by_id boolean) returns text[] language plpgsql as $$
declare n bigint;
begin
  execute format('select count(*) from %s(%s) where $1 or user_id = $2', fn, case when by_id then '$2' else '' end) into n using is_anon, b;
  return case when n > 0 then array['see (through ' || fn || '())'] else '{}' end;
exception when insufficient_privilege then return '{}';
end $$;`;

const rollback = new Error('rollback');

/** What each actor can do on each reachable object that it should not. */
async function leaks(url: string, groups: Group[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  await withSql(url, async (sql) => {
    for (const g of groups) {
      for (const o of g.objects) {
        const [{ n } = { n: 0 }] = o.kind === 'rel' ? await sql.unsafe(`select count(*)::int as n from ${o.name} where user_id = $1`, [A]) : [];
        for (const actor of ['anon', 'A'] as const) {
          const role = actor === 'anon' ? 'anon' : 'authenticated';
          const claims = actor === 'anon' ? { role } : { sub: A, role, aud: 'authenticated', user_metadata: { role: 'admin', is_admin: true }, app_metadata: { provider: 'email' } };
          await sql
            .begin(async (tx) => {
              // Headers are the client's to choose: A names B in one a policy might trust.
              await tx.unsafe(`select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), set_config('request.method', 'POST', true), set_config('request.headers', $3, true)`, [
                role,
                JSON.stringify(claims),
                JSON.stringify({ 'x-user-id': B }),
              ]);
              if (actor === 'A') await tx.unsafe(`do $$ begin update public.profiles set role = 'admin' where user_id = (select auth.uid()); exception when insufficient_privilege then null; end $$`);
              const [row] =
                o.kind === 'rel'
                  ? await tx.unsafe('select holes_probe.rel_caps($1::regclass, $2, $3, $4, $5) as caps', [o.name, A, B, actor === 'anon', n as number])
                  : await tx.unsafe('select holes_probe.fn_caps($1, $2, $3, $4) as caps', [o.name, B, actor === 'anon', o.arg ?? false]);
              const caps = row!['caps'] as string[];
              if (caps.length) out.set(o.name, [...(out.get(o.name) ?? []), ...caps.map((c) => `${actor}: ${c}`)]);
              throw rollback;
            })
            .catch((e: unknown) => {
              if (e !== rollback) throw e;
            });
        }
      }
    }
  });
  return out;
}

/**
 * A finding names `name` (a table, view or function) when its object is it, one of its
 * columns, a policy on it, or the tables of its schema (`public.*`) and lists it.
 */
function names(f: Finding, name: string): boolean {
  const listed = f.object === `${name.slice(0, name.indexOf('.'))}.*` && new RegExp(`[ :,]${name.replace('.', '\\.')}(,|$)`).test(f.message);
  return listed || f.object === name || f.object.startsWith(`${name}.`) || f.object.startsWith(`${name}(`) || f.object.endsWith(` on ${name}`);
}

const describeGroup = (g: Group) => `${g.table} [${g.patterns.join(', ')}${g.mistakes.length ? `; mistakes: ${g.mistakes.join(', ')}` : ''}]`;

interface Outcome {
  missed: string[];
  falseAlarms: string[];
  leaking: number;
  clean: number;
  objects: number;
  byMistake: Map<string, { leaked: number; caught: number }>;
  /** Security findings (warn included) naming correct objects, by rule. */
  onClean: Map<string, number>;
}

async function runSeed(template: ThrowawayDatabase, seed: number, tables = 12): Promise<Outcome> {
  const r = rng(seed);
  const groups: Group[] = [];
  // Each table with mistakes has a twin built from the same correct patterns without them
  // (public.bN beside public.tN): a finding the twin gets too says nothing about the mistake.
  const twins = new Map<Group, Group>();
  for (let i = 0; i < tables; i++) {
    const sub = r(2 ** 31);
    const g = newGroup(rng(sub), `public.t${i}`);
    if (r(3) > 0) {
      // HOLES_ONE=1 (a local sweep): one mistake per table, so none hides behind another's finding.
      for (let k = 1 + (r(3) === 0 && !process.env['HOLES_ONE'] ? 1 : 0); k > 0; k--) {
        const [mName, apply] = pick(r, MISTAKES);
        if (g.mistakes.includes(mName)) continue;
        apply(g, r);
        g.mistakes.push(mName);
      }
      twins.set(g, newGroup(rng(sub), `public.b${i}`));
    }
    groups.push(g);
  }
  groups.push(...twins.values());
  const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_holes', template: template.name });
  try {
    await withSql(db.url, (sql) => sql.unsafe([SETUP, PROFILES_SQL, ...groups.map(groupSql)].join('\n')).simple());
    const all = [PROFILES, ...groups];
    const found = await leaks(db.url, all);
    const model = await withSql(db.url, (sql) => introspect(sql, { apiRoles: ['anon', 'authenticated'], scope: 'full' }));
    const findings = (await lintWith({ model })).findings.filter((f) => f.category === 'security' && (f.level === 'error' || f.level === 'warn'));
    const out: Outcome = { missed: [], falseAlarms: [], leaking: 0, clean: 0, objects: 0, byMistake: new Map(), onClean: new Map() };
    const readBy = new Set(all.flatMap((g) => g.reads));
    for (const g of all) {
      let groupLeaks = false;
      let groupCaught = true;
      for (const o of g.objects) {
        out.objects++;
        const caps = found.get(o.name);
        if (!caps) continue;
        out.leaking++;
        groupLeaks = true;
        const twin = twins.get(g);
        const base = new Set(twin ? findings.filter((f) => twin.objects.some((x) => names(f, x.name))).map((f) => f.rule) : []);
        const hit = findings.some((f) => !base.has(f.rule) && (names(f, o.name) || names(f, g.table)));
        if (!hit) {
          groupCaught = false;
          out.missed.push(`seed ${seed}: ${o.name} leaks (${caps.join('; ')}) with no security finding — ${describeGroup(g)}\n${groupSql(g)}`);
        }
      }
      for (const m of g.mistakes) {
        const s = out.byMistake.get(m) ?? { leaked: 0, caught: 0 };
        if (groupLeaks) {
          s.leaked++;
          if (groupCaught) s.caught++;
        }
        out.byMistake.set(m, s);
      }
      if (g.mistakes.length === 0 && !readBy.has(g.table) && !groupLeaks) {
        out.clean++;
        for (const f of findings) if (g.objects.some((o) => names(f, o.name))) out.onClean.set(`${f.rule} (${f.level})`, (out.onClean.get(`${f.rule} (${f.level})`) ?? 0) + 1);
        const alarms = findings.filter((f) => f.level === 'error' && g.objects.some((o) => names(f, o.name)));
        for (const f of alarms) out.falseAlarms.push(`seed ${seed}: ${f.rule} on ${f.object} (${f.message}) — ${describeGroup(g)}\n${groupSql(g)}`);
      }
      if (g.mistakes.length === 0 && !readBy.has(g.table) && groupLeaks) out.missed.push(`seed ${seed}: correct patterns leak?! ${describeGroup(g)}: ${g.objects.map((o) => found.get(o.name)).join(' | ')}`);
    }
    return out;
  } finally {
    await db.drop();
  }
}

function seedsToRun(): number[] {
  const spec = process.env['HOLES_SEEDS'];
  if (!spec) return Array.from({ length: 12 }, (_, i) => i + 1);
  const [from, to] = spec.split('-').map(Number);
  return Array.from({ length: (to ?? from!) - from! + 1 }, (_, i) => from! + i);
}

let template: ThrowawayDatabase;
beforeAll(async () => {
  template = await makeTemplate();
  await withSql(serverUrl(), (sql) =>
    sql.unsafe(`do $$ begin
      if not exists (select from pg_roles where rolname = '${GROUP}') then create role ${GROUP} nologin; end if;
    exception when duplicate_object or unique_violation then null; end $$;
    grant ${GROUP} to authenticated;`).simple(),
  );
}, 60_000);
afterAll(async () => {
  await template?.drop();
});

describe('security lint against what Postgres lets a request do', () => {
  const seeds = seedsToRun();
  it(`seeds ${seeds.length > 5 ? `${seeds[0]}-${seeds.at(-1)}` : seeds.join(', ')}: every object that leaks rows has a security finding, and no correct object an error`, async () => {
    const missed: string[] = [];
    const falseAlarms: string[] = [];
    const totals = { leaking: 0, clean: 0, objects: 0 };
    const byMistake = new Map<string, { leaked: number; caught: number }>();
    const onClean = new Map<string, number>();
    for (const seed of seeds) {
      const o = await runSeed(template, seed);
      missed.push(...o.missed);
      falseAlarms.push(...o.falseAlarms);
      totals.leaking += o.leaking;
      totals.clean += o.clean;
      totals.objects += o.objects;
      for (const [r, n] of o.onClean) onClean.set(r, (onClean.get(r) ?? 0) + n);
      for (const [m, s] of o.byMistake) {
        const t = byMistake.get(m) ?? { leaked: 0, caught: 0 };
        byMistake.set(m, { leaked: t.leaked + s.leaked, caught: t.caught + s.caught });
      }
    }
    if (process.env['HOLES_SEEDS']) {
      console.log(JSON.stringify({ seeds: seeds.length, ...totals, missed: missed.length, falseAlarms: falseAlarms.length }));
      if (process.env['HOLES_OUT']) writeFileSync(process.env['HOLES_OUT'], [...missed, ...falseAlarms].join('\n\n'));
      console.log(`on correct objects: ${JSON.stringify(Object.fromEntries(onClean))}`);
      console.log([...byMistake].sort().map(([m, s]) => `${m}: ${s.caught}/${s.leaked} leaking groups caught`).join('\n'));
    }
    expect(missed).toEqual([]);
    expect(falseAlarms).toEqual([]);
    // The oracle saw leaks and clean objects both.
    expect(totals.leaking).toBeGreaterThan(5);
    expect(totals.clean).toBeGreaterThan(3);
  }, Math.max(120_000, seeds.length * 2_000));
});
