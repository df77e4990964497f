/**
 * `rowguard test --coverage`: which (table, command, role) cells and which
 * policies no SQL test exercised.
 *
 * Method. The SQL tests first run as usual; their results are the verdict.
 * Then every file runs a second time, in copies of an instrumented copy of the
 * test template, and only what it touched is kept (its assertions are
 * ignored: the instrumentation adds policies and rewrites expressions, which
 * pgTAP's policies_are / policy_using_is would see). The instrumentation:
 *
 *  - hit(table, command, policy) is declared IMMUTABLE and called with
 *    constant arguments, so the planner evaluates it once while planning
 *    (eval_const_expressions pre-evaluates immutable calls on constants) and
 *    folds it to true: it records the statement at plan time, whether the
 *    statement then reads any row or fails, and leaves nothing in the plan;
 *  - every policy of an exposed table is rewritten to
 *    `CASE WHEN hit(table, cmd, policy) THEN <expr> END`: after folding it is
 *    `<expr>` again, with the same plan (indexes included). The rewriter adds
 *    only the policies that apply to the current role, so a hit means "this
 *    policy was part of a statement this role ran";
 *  - each RLS-enabled table gets one extra PERMISSIVE policy per command, TO
 *    PUBLIC, `CASE WHEN hit(table, cmd, null) THEN false END`: permissive
 *    policies are OR-ed, `OR false` folds away, and it is applied to every role
 *    RLS applies to. Row security is added by the rewriter, before the
 *    executor checks privileges, so even a statement then refused with 42501
 *    is recorded;
 *  - a BEFORE … FOR EACH STATEMENT trigger on every exposed table records
 *    INSERT/UPDATE/DELETE that got past the privilege check (statement
 *    triggers fire even when no row matches, and for roles that bypass RLS).
 *
 * hit() reports with RAISE NOTICE under its own `SET client_min_messages =
 * notice`: a notice reaches the client at once, so the record survives the
 * ROLLBACK every test file ends with, and a file that silences notices does
 * not silence it. current_user inside hit() is the role the statement is
 * planned and run as.
 *
 * Limits (reported as "not observable", never as covered):
 *  - on a table without RLS, or for a role that bypasses it (BYPASSRLS, or
 *    the owner without FORCE), no policy is planned: reads leave no trace, and
 *    a write refused for a missing grant (42501) fails before the trigger;
 *  - a cached plan (a static statement inside a PL/pgSQL function) records
 *    only when it is planned: once per session and role, enough for coverage;
 *  - through a view that runs with its owner's rights, the policies planned
 *    are the owner's but the recorded role is the caller;
 *  - Postgres applies SELECT policies to an UPDATE/DELETE that reads columns,
 *    so such a statement also counts for SELECT.
 */
import type { Sql } from '../db.js';
import { createThrowawayDatabase, dropDatabase, quoteIdent, quoteLiteral, withSql, type ThrowawayDatabase } from '../db.js';
import { inCommitOrder } from '../testing/order.js';
import { displayName } from './introspect.js';
import { COMMANDS, type MatrixCommand } from './model.js';

export const COVERAGE_SCHEMA = 'rowguard_coverage';
const MARK = 'rowguard-coverage:';

export interface Hit {
  table: string;
  command: string;
  /** Null for the catch-all policies and the statement triggers. */
  policy: string | null;
  role: string;
}

export type CellStatus = 'exercised' | 'missed' | 'no grant' | 'not observable';

export interface CoverageCell {
  table: string;
  command: MatrixCommand;
  role: string;
  status: CellStatus;
  reason?: string;
}

export interface CoveragePolicy {
  table: string;
  policy: string;
  command: string;
  roles: string[];
  exercised: boolean;
}

export interface CoverageReport {
  cells: CoverageCell[];
  policies: CoveragePolicy[];
  summary: { cells: { exercised: number; observable: number; total: number }; policies: { exercised: number; total: number } };
}

/** What the report needs to know about the database (read once, then pure). */
export interface CoverageModel {
  tables: Array<{ name: string; rls: boolean; force: boolean; owner: string }>;
  policies: Array<{ table: string; policy: string; command: string; roles: string[] }>;
  roles: Array<{ name: string; bypassrls: boolean }>;
  /** `${table}|${command}|${role}` for each privilege the role holds (table or any column). */
  privileges: Set<string>;
  /** `${role}|${owner}`: the role is (a member of) the table owner. */
  owns: Set<string>;
}

const POLCMD: Record<string, string> = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' };

/** The notices hit() raised, parsed. Other messages are ignored. */
export function parseHits(messages: readonly string[]): Hit[] {
  const out: Hit[] = [];
  for (const m of messages) {
    const i = m.indexOf(MARK);
    if (i < 0) continue;
    try {
      const j = JSON.parse(m.slice(i + MARK.length)) as { t: string; c: string; p: string | null; r: string };
      out.push({ table: j.t, command: j.c, policy: j.p, role: j.r });
    } catch {
      /* a test printed something that merely looks like ours: not a hit */
    }
  }
  return out;
}

const HIT_FUNCTION = `
create schema ${COVERAGE_SCHEMA};
grant usage on schema ${COVERAGE_SCHEMA} to public;
-- IMMUTABLE on purpose (it is not): the planner then runs it once while planning and folds it away.
create function ${COVERAGE_SCHEMA}.hit(t text, c text, p text) returns boolean
  language plpgsql immutable
  set client_min_messages = notice
as $$
begin
  raise notice '${MARK}%', pg_catalog.json_build_object('t', t, 'c', c, 'p', p, 'r', current_user)::text;
  return true;
end
$$;
grant execute on function ${COVERAGE_SCHEMA}.hit(text, text, text) to public;
create function ${COVERAGE_SCHEMA}.on_statement() returns trigger
  language plpgsql
  set client_min_messages = notice
as $$
begin
  perform ${COVERAGE_SCHEMA}.hit(tg_argv[0], tg_op, null);
  return null;
end
$$;
grant execute on function ${COVERAGE_SCHEMA}.on_statement() to public;
`;

/** A direct call with constant arguments (a sub-select would not be pre-evaluated by the planner). */
function hitCall(table: string, command: string, policy: string | null): string {
  return `${COVERAGE_SCHEMA}.hit(${quoteLiteral(table)}, ${quoteLiteral(command)}, ${policy === null ? 'null::text' : quoteLiteral(policy)})`;
}

/** Install the instrumentation into a database (a copy made for the coverage pass, never the user's). */
export async function instrumentDatabase(sql: Sql, schemas: string[]): Promise<void> {
  await sql.begin(async (tx) => {
    // Empty search_path: pg_get_expr then qualifies every name, and the rewritten expressions parse the same way.
    await tx.unsafe(`set local search_path = ''`);
    await tx.unsafe(HIT_FUNCTION).simple();
    const policies = await tx<{ schema: string; table: string; policy: string; cmd: string; qual: string | null; chk: string | null }[]>`
      select n.nspname as schema, c.relname as table, p.polname as policy, p.polcmd::text as cmd,
             pg_catalog.pg_get_expr(p.polqual, p.polrelid) as qual, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as chk
        from pg_catalog.pg_policy p
        join pg_catalog.pg_class c on c.oid = p.polrelid
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = any(${schemas}::text[])`;
    for (const p of policies) {
      const t = displayName(p.schema, p.table);
      const hit = hitCall(t, POLCMD[p.cmd] ?? p.cmd, p.policy);
      const parts: string[] = [];
      if (p.qual !== null) parts.push(`using (case when ${hit} then (${p.qual}) end)`);
      if (p.chk !== null) parts.push(`with check (case when ${hit} then (${p.chk}) end)`);
      if (parts.length) await tx.unsafe(`alter policy ${quoteIdent(p.policy)} on ${t} ${parts.join(' ')}`);
    }
    const tables = await tx<{ schema: string; table: string; relkind: string; rls: boolean }[]>`
      select n.nspname as schema, c.relname as table, c.relkind::text as relkind, c.relrowsecurity as rls
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = any(${schemas}::text[]) and c.relkind in ('r', 'p') and not c.relispartition`;
    for (const r of tables) {
      const t = displayName(r.schema, r.table);
      await tx.unsafe(
        `create trigger ${quoteIdent('!rowguard coverage')} before insert or update or delete on ${t}
           for each statement execute function ${COVERAGE_SCHEMA}.on_statement(${quoteLiteral(t)})`,
      );
      if (!r.rls) continue;
      for (const cmd of COMMANDS) {
        const never = `case when ${hitCall(t, cmd, null)} then false end`;
        const expr = cmd === 'INSERT' ? `with check (${never})` : `using (${never})`;
        await tx.unsafe(`create policy ${quoteIdent(`!rowguard coverage ${cmd.toLowerCase()}`)} on ${t} as permissive for ${cmd} to public ${expr}`);
      }
    }
  });
}

/** Read the model the report is computed from (from the uninstrumented template). */
export async function readCoverageModel(sql: Sql, schemas: string[], roleNames: string[]): Promise<CoverageModel> {
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const tables = await tx<{ schema: string; table: string; rls: boolean; force: boolean; owner: string }[]>`
      select n.nspname as schema, c.relname as table, c.relrowsecurity as rls, c.relforcerowsecurity as force, pg_catalog.pg_get_userbyid(c.relowner) as owner
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = any(${schemas}::text[]) and c.relkind in ('r', 'p') and not c.relispartition
       order by 1, 2`;
    const policies = await tx<{ schema: string; table: string; policy: string; cmd: string; roles: string[] }[]>`
      select n.nspname as schema, c.relname as table, p.polname as policy, p.polcmd::text as cmd,
             array(select case when r = 0 then 'public' else pg_catalog.pg_get_userbyid(r) end from unnest(p.polroles) r order by 1) as roles
        from pg_catalog.pg_policy p
        join pg_catalog.pg_class c on c.oid = p.polrelid
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = any(${schemas}::text[])
       order by 1, 2, 3`;
    const roles = await tx<{ name: string; bypassrls: boolean }[]>`
      select rolname as name, rolbypassrls or rolsuper as bypassrls from pg_catalog.pg_roles where rolname = any(${roleNames}::text[]) order by 1`;
    const privileges = new Set<string>();
    const owns = new Set<string>();
    for (const t of tables) {
      const name = displayName(t.schema, t.table);
      const qualified = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
      const rows = await tx<{ role: string; cmd: string; ok: boolean; owns: boolean }[]>`
        select r.name as role, c.cmd,
               pg_catalog.has_table_privilege(r.name, ${qualified}, c.cmd)
                 or (c.cmd <> 'DELETE' and pg_catalog.has_any_column_privilege(r.name, ${qualified}, c.cmd)) as ok,
               pg_catalog.pg_has_role(r.name, ${t.owner}, 'USAGE') as owns
          from unnest(${roles.map((r) => r.name)}::text[]) r(name)
          cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) c(cmd)`;
      for (const r of rows) {
        if (r.ok) privileges.add(`${name}|${r.cmd}|${r.role}`);
        if (r.owns) owns.add(`${r.role}|${t.owner}`);
      }
    }
    return {
      tables: tables.map((t) => ({ name: displayName(t.schema, t.table), rls: t.rls, force: t.force, owner: t.owner })),
      policies: policies.map((p) => ({ table: displayName(p.schema, p.table), policy: p.policy, command: POLCMD[p.cmd] ?? p.cmd, roles: p.roles })),
      roles,
      privileges,
      owns,
    };
  });
}

/** Pure: the report from the model and the hits. */
export function buildCoverageReport(model: CoverageModel, hits: readonly Hit[]): CoverageReport {
  const seenCell = new Set(hits.map((h) => `${h.table}|${h.command}|${h.role}`));
  const seenPolicy = new Set(hits.filter((h) => h.policy !== null).map((h) => `${h.table}|${h.policy}`));
  const cells: CoverageCell[] = [];
  for (const t of model.tables) {
    for (const command of COMMANDS) {
      for (const r of model.roles) {
        const key = `${t.name}|${command}|${r.name}`;
        let status: CellStatus;
        let reason: string | undefined;
        const bypasses = r.bypassrls || (model.owns.has(`${r.name}|${t.owner}`) && !t.force);
        const granted = model.privileges.has(key);
        if (seenCell.has(key)) status = 'exercised';
        // RLS applies: any statement, allowed or refused, plans the catch-all policy.
        else if (t.rls && !bypasses) status = 'missed';
        // Writes that pass the privilege check fire the statement trigger.
        else if (command !== 'SELECT' && granted) status = 'missed';
        else if (!granted) {
          status = 'no grant';
          reason = `${!t.rls ? 'no RLS' : 'the role bypasses RLS'} and no privilege: a refused statement (42501) leaves no trace`;
        } else {
          status = 'not observable';
          reason = !t.rls ? 'no RLS: a read plans no policy' : 'the role bypasses RLS: a read plans no policy';
        }
        cells.push(reason ? { table: t.name, command, role: r.name, status, reason } : { table: t.name, command, role: r.name, status });
      }
    }
  }
  const policies = model.policies.map((p) => ({ ...p, exercised: seenPolicy.has(`${p.table}|${p.policy}`) }));
  const observable = cells.filter((c) => c.status === 'exercised' || c.status === 'missed').length;
  return {
    cells,
    policies,
    summary: {
      cells: { exercised: cells.filter((c) => c.status === 'exercised').length, observable, total: cells.length },
      policies: { exercised: policies.filter((p) => p.exercised).length, total: policies.length },
    },
  };
}

export interface CoveragePassOptions {
  serverUrl: string;
  /** The test template (sql/ + the assertion library); copied, never changed. */
  template: string;
  templateUrl: string;
  schemas: string[];
  /** Roles to report on (the API roles and those acting through them). */
  roles: string[];
  /**
   * Runs one file in the database at `url` and returns the messages it produced (NOTICEs); with
   * `commit`, keeps what the file commits there (see run-file's `commit`).
   */
  runFile: (url: string, index: number, commit: boolean) => Promise<readonly string[]>;
  files: number;
  /** The files that ran for their commits in the test pass (by index): the files after each start from what it committed, as there. */
  kept?: ReadonlySet<number>;
  jobs?: number;
}

/**
 * The second pass: instrument a copy of the template, run each file in its own
 * copy of that, collect the hits, and report against the uninstrumented template.
 */
export async function runCoveragePass(opts: CoveragePassOptions): Promise<CoverageReport> {
  const model = await withSql(opts.templateUrl, (sql) => readCoverageModel(sql, opts.schemas, opts.roles));
  const covTemplate = await createThrowawayDatabase(opts.serverUrl, { prefix: 'rowguard_cov', template: opts.template });
  const hits: Hit[] = [];
  let carried: ThrowawayDatabase | undefined;
  try {
    await withSql(covTemplate.url, (sql) => instrumentDatabase(sql, opts.schemas));
    // As in the test pass: the files between two that commit side by side, each in its own copy;
    // one that commits alone in the pass's own copy, which the files after it then copy.
    await inCommitOrder(
      Array.from({ length: opts.files }, (_, i) => i),
      (i) => opts.kept?.has(i) ?? false,
      {
        sideBySide: async (batch) => {
          const from = carried?.name ?? covTemplate.name;
          let next = 0;
          const worker = async () => {
            while (next < batch.length) {
              const i = batch[next++]!;
              const copy = await createThrowawayDatabase(opts.serverUrl, { prefix: 'rowguard_covf', template: from });
              try {
                hits.push(...parseHits(await opts.runFile(copy.url, i, false)));
              } finally {
                await dropDatabase(opts.serverUrl, copy.name).catch(() => undefined);
              }
            }
          };
          await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs ?? 4, batch.length)) }, worker));
        },
        alone: async (i) => {
          carried ??= await createThrowawayDatabase(opts.serverUrl, { prefix: 'rowguard_covk', template: covTemplate.name });
          hits.push(...parseHits(await opts.runFile(carried.url, i, true)));
        },
      },
    );
  } finally {
    await carried?.drop().catch(() => undefined);
    await covTemplate.drop().catch(() => undefined);
  }
  return buildCoverageReport(model, hits);
}

/** The roles a coverage report covers: the API roles, NOLOGIN roles acting through authenticated (e.g. staff), and any extra. */
export async function coverageRoles(sql: Sql, api: { anonRole: string; authenticatedRole: string; serviceRole: string }, extra: string[] = []): Promise<string[]> {
  const members = await sql<{ name: string }[]>`
    select r.rolname as name from pg_catalog.pg_roles r
     where not r.rolcanlogin and r.rolname <> ${api.authenticatedRole}
       and exists (select 1 from pg_catalog.pg_roles a where a.rolname = ${api.authenticatedRole} and pg_catalog.pg_has_role(r.oid, a.oid, 'MEMBER'))`;
  return [...new Set([api.anonRole, api.authenticatedRole, ...members.map((m) => m.name), api.serviceRole, ...extra])];
}
