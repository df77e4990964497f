/**
 * policy-recursion against Postgres: random tables whose policies read one another in
 * sub-selects (directly, through views owned by a role RLS applies to or by the superuser,
 * security_invoker or not, through WITH queries), with policies for every command, TO
 * different roles (one through membership), permissive and restrictive. For every table,
 * API role and command the role holds a privilege for, the statement PostgREST would send
 * runs as that role; Postgres refusing it with 42P17 must be exactly what the rule reports.
 *
 * The rows do not matter (the rewriter refuses the query before reading any), so the
 * tables stay empty. A statement fails with other errors too (a permission a view's owner
 * lacks, a WITH CHECK): only 42P17 is compared.
 *
 * RECURSION_SEEDS=1-500 runs a local sweep instead of the committed seeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayDatabase, withSql, type ThrowawayDatabase } from '../../cli/core/db.js';
import { introspect } from '../../cli/core/catalog/introspect.js';
import { mulberry32 } from '../helpers/random.js';
import { serverUrl } from '../helpers/pg.js';
import { lintWith, makeTemplate } from './helpers.js';

const GROUP = 'rg_rec_group';
const VIEWER = 'rg_rec_viewer';
const ROLES = ['anon', 'authenticated'] as const;
const COMMANDS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
type Command = (typeof COMMANDS)[number];

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** The SQL of one random schema of `n` tables. */
function schema(seed: number): { sql: string; tables: string[]; grants: Map<string, Set<string>> } {
  const r = mulberry32(seed);
  const n = 2 + Math.floor(r() * 4);
  const tables = Array.from({ length: n }, (_, i) => `t${i}`);
  const views = tables.filter(() => r() < 0.5).map((t, i) => ({ name: `v${i}`, over: t, invoker: r() < 0.4, owner: r() < 0.5 ? VIEWER : 'postgres' }));
  const sql: string[] = [];
  const grants = new Map<string, Set<string>>();
  for (const t of tables) {
    sql.push(`create table public.${t} (id int primary key, owner int, ref int);`, `alter table public.${t} enable row level security;`);
    if (r() < 0.25) sql.push(`alter table public.${t} owner to ${VIEWER};`);
    if (r() < 0.3) sql.push(`alter table public.${t} force row level security;`);
    sql.push(`grant select on public.${t} to ${VIEWER};`);
    for (const role of ROLES) {
      const privs = COMMANDS.filter(() => r() < 0.7);
      for (const p of privs) grants.set(`${t} ${role} ${p}`, new Set());
      if (privs.length) sql.push(`grant ${privs.join(', ')} on public.${t} to ${role};`);
    }
  }
  for (const v of views) {
    sql.push(`create view public.${v.name}${v.invoker ? ' with (security_invoker = true)' : ''} as select * from public.${v.over};`, `alter view public.${v.name} owner to ${v.owner};`);
    sql.push(`grant select on public.${v.name} to anon, authenticated;`);
  }
  const expressions = (self: string): string[] => [
    `owner = 1`,
    `owner = (select 1)`,
    ...tables.map((t) => `exists (select 1 from public.${t} x where x.id = ${self}.ref)`),
    ...tables.map((t) => `ref in (select id from public.${t} where owner = 2)`),
    ...views.map((v) => `ref in (select id from public.${v.name})`),
    ...tables.map((t) => `exists (with c as (select id from public.${t}) select 1 from c where c.id = ${self}.ref)`),
  ];
  let k = 0;
  for (const t of tables) {
    const count = 1 + Math.floor(r() * 3);
    for (let i = 0; i < count; i++) {
      const command = pick(r, ['ALL', ...COMMANDS] as const);
      const as = r() < 0.2 ? 'restrictive' : 'permissive';
      const to = pick(r, ['authenticated', 'anon', 'public', GROUP, 'anon, authenticated']);
      const e = () => pick(r, expressions(t));
      const using = command === 'INSERT' ? '' : ` using (${e()})`;
      const check = command === 'INSERT' || ((command === 'UPDATE' || command === 'ALL') && r() < 0.5) ? ` with check (${e()})` : '';
      sql.push(`create policy p${k++} on public.${t} as ${as} for ${command} to ${to}${using}${check};`);
    }
  }
  return { sql: sql.join('\n'), tables, grants };
}

const STATEMENTS: Record<Command, (t: string) => string> = {
  SELECT: (t) => `select * from public.${t}`,
  INSERT: (t) => `insert into public.${t} (id, owner, ref) values (100, 1, 1)`,
  UPDATE: (t) => `update public.${t} set owner = owner where id = 1`,
  DELETE: (t) => `delete from public.${t} where id = 1`,
};

/** `table role command` for every statement Postgres refuses with 42P17. */
async function refused(url: string, keys: Iterable<string>): Promise<Set<string>> {
  const out = new Set<string>();
  await withSql(url, async (sql) => {
    for (const key of keys) {
      const [t, role, command] = key.split(' ') as [string, string, Command];
      try {
        await sql.begin(async (tx) => {
          await tx.unsafe(`set local role ${role}`);
          await tx.unsafe(STATEMENTS[command](t));
          throw new Error('rollback');
        });
      } catch (e) {
        if ((e as { code?: string }).code === '42P17') out.add(key);
      }
    }
  });
  return out;
}

/** The same, as the rule's findings say: `every SELECT and UPDATE on public.t1 by anon and authenticated fails …`. */
function reported(messages: readonly string[]): Set<string> {
  const out = new Set<string>();
  const words = (s: string) => s.split(/, | and /);
  for (const m of messages) {
    const hit = /^every (.+?) on public\.(\S+) by (.+?) fails with/.exec(m);
    if (!hit) throw new Error(`unexpected message: ${m}`);
    for (const c of words(hit[1]!)) for (const role of words(hit[3]!)) out.add(`${hit[2]} ${role} ${c}`);
  }
  return out;
}

let template: ThrowawayDatabase;
beforeAll(async () => {
  template = await makeTemplate();
  await withSql(serverUrl(), (sql) =>
    sql
      .unsafe(
        `do $$ begin
          if not exists (select from pg_roles where rolname = '${GROUP}') then create role ${GROUP} nologin; end if;
          if not exists (select from pg_roles where rolname = '${VIEWER}') then create role ${VIEWER} nologin; end if;
        exception when duplicate_object or unique_violation then null; end $$;
        grant ${GROUP} to authenticated;`,
      )
      .simple(),
  );
}, 60_000);
afterAll(async () => {
  await template?.drop();
});

describe('policy-recursion says which requests Postgres refuses as infinite recursion', () => {
  const [from, to] = (process.env['RECURSION_SEEDS'] ?? '1-50').split('-').map(Number) as [number, number?];
  it(`seeds ${from}-${to ?? from}: the (table, role, command) it reports are exactly those Postgres refuses with 42P17`, async () => {
    let refusedInAll = 0;
    let cases = 0;
    for (let seed = from; seed <= (to ?? from); seed++) {
      const s = schema(seed);
      const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_rec', template: template.name });
      try {
        await withSql(db.url, (sql) => sql.unsafe(s.sql).simple());
        const observed = await refused(db.url, s.grants.keys());
        const model = await withSql(db.url, (sql) => introspect(sql, { apiRoles: ['anon', 'authenticated'], scope: 'full' }));
        const messages = (await lintWith({ model })).findings.filter((f) => f.rule === 'policy-recursion').map((f) => f.message);
        const predicted = reported(messages);
        expect([...predicted].sort(), `seed ${seed}:\n${s.sql}\n${messages.join('\n')}`).toEqual([...observed].sort());
        refusedInAll += observed.size;
        cases += s.grants.size;
      } finally {
        await db.drop();
      }
    }
    // The schemas must exercise both answers, or the comparison says little.
    expect(refusedInAll).toBeGreaterThan(cases / 10);
    expect(refusedInAll).toBeLessThan(cases * 0.9);
  }, 60_000 + ((to ?? from) - from + 1) * 4_000);
});
