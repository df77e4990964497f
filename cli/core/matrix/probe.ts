/**
 * Computing the matrix by really running each operation as each actor.
 *
 * One transaction per actor, set up as PostgREST sets up a request (role and
 * request.jwt.claims, transaction-local), and inside it one SAVEPOINT per
 * (table, command) that is always rolled back, so every attempt starts from
 * the seeded data. Because the statements really run, the verdict includes
 * grants (column, table, sequence, schema), RLS enabled/forced,
 * permissive/restrictive policies, BYPASSRLS, triggers and security-barrier
 * views together.
 *
 * Ground truth (how many rows exist, whose they are, which rows an UPDATE
 * changed) is read by the connecting role after `SET LOCAL ROLE NONE` inside
 * the same savepoint: that role must be a superuser or have BYPASSRLS, which
 * is checked up front.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Sql, TransactionSql } from '../db.js';
import { quoteIdent, sessionEnded, unlessEnded } from '../db.js';
import { RowguardError, pgFieldsOf } from '../errors.js';
import { applyRequest, type ApiRequest } from '../postgrest/request.js';
import { classifyOwnedInsert, classifyRows, classifySingleInsert, NO_ROWS, outcomeOfError, type Outcome } from './classify.js';
import type { RelationModel, ColumnRow, RpcFunctionModel } from './introspect.js';
import { COMMANDS, type ActorInfo, type CallCell, type Cell, type Matrix, type MatrixCommand } from './model.js';

export interface ProbeActor extends ActorInfo {
  /** The PostgREST request to emulate; null for a 'role' actor (a direct connection: SET ROLE only). */
  request: ApiRequest | null;
  /**
   * PostgREST's login to become before switching role (SET LOCAL SESSION AUTHORIZATION), as
   * `rowguard as` does on a superuser connection: a request actor then switches role exactly
   * as PostgREST's authenticator would. Set by probeMatrix; never for a 'role' actor.
   */
  login?: string | null;
}

interface SourceRow {
  owner: string | null;
  values: Array<string | null>;
  /** Columns to leave out of the INSERT (their default applies): set for a synthesized row. */
  omit?: ReadonlySet<string>;
}

/** What is true of a table before anyone touches it, read bypassing RLS. */
export interface Truth {
  total: number;
  ownByUid: Map<string, number>;
  /** tableoid:ctid of every row, to find the new row versions an UPDATE wrote. */
  keys: string[];
  /** One row per owner (the first in text order), all columns as text, to copy for INSERT. */
  sources: SourceRow[];
  /** max(column)::text of integer-like unique columns, to make fresh values. */
  maxOf: Map<string, string | null>;
  /** Columns each actor role may UPDATE, and SELECT (has_column_privilege). */
  updatable: Map<string, Set<string>>;
  readable: Map<string, Set<string>>;
  /** Columns each actor role may INSERT (has_column_privilege: a table grant or a column grant). */
  insertable: Map<string, Set<string>>;
  /**
   * Per actor role subject to the table's RLS (not its owner unless forced,
   * not BYPASSRLS): the commands ('r', 'w', 'd') whose policies can filter
   * rows (see readTruth). An "all" there only says every fixture row passed.
   */
  filtering: Map<string, Set<string>>;
  /**
   * Per actor role subject to RLS: whether a statement that reads a column
   * meets the same policies as one that does not (only FOR ALL policies
   * apply), so the second probe of UPDATE, DELETE and INSERT … RETURNING
   * would find the same rows and is skipped. Absent: no policy applies to it.
   */
  samePolicies: Map<string, SamePolicies>;
  /** INSERT/UPDATE/DELETE each actor role holds on the table or on some of its columns. */
  writeGrants: Map<string, Set<string>>;
  /** Rows rowguard made because the fixtures left the table empty (see seedEmptyTables). */
  seeded?: number;
  /** Why the fixtures' empty table got no made-up rows (see seedEmptyTables). */
  unseeded?: string;
  /** Columns the table's policies read (pg_depend records a policy's column references). */
  policyColumns: Set<string>;
}

interface SamePolicies {
  update: boolean;
  delete: boolean;
  returning: boolean;
}

const ROLLBACK = Symbol('rowguard.matrix.rollback');
/**
 * A row version's identity: its partition (tableoid) and physical position
 * (ctid). System columns cannot be shadowed by user columns, so this works on
 * any table; an UPDATE always writes a new version with a new ctid.
 */
const ROW_KEY = `(r.tableoid::oid::text || ':' || r.ctid::text)`;
/** Rows kept per owner to copy for INSERT, and copies tried before a refusal is the verdict. */
const SOURCES_PER_OWNER = 4;
const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'numeric']);
const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'citext', 'name']);

/**
 * Actors are probed in parallel, each in its own transaction, and writes fire
 * the schema's triggers (an audit trigger may update one shared row): two
 * savepoints can deadlock (40P01) or, under a stricter isolation set by the
 * database, fail to serialize (40001). Both say nothing about access, so the
 * attempt is simply repeated.
 */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_TRIES = 5;

/**
 * What the server refused, as its fields: an answer to record in a cell. Rethrown: anything else, and a
 * session the server ended (57P01 reaches the statement running when pg_terminate_backend hits), which
 * is the command's failure, not a probe's answer.
 */
function refusal(err: unknown): NonNullable<ReturnType<typeof pgFieldsOf>> {
  const pg = pgFieldsOf(err);
  if (!pg || sessionEnded(err)) throw err;
  return pg;
}

/** Run `fn` in a savepoint that is always rolled back; errors come back as values. */
async function attempt<T>(tx: TransactionSql, fn: (sp: TransactionSql) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; err: unknown }> {
  for (let tries = 1; ; tries++) {
    let value!: T;
    try {
      await tx.savepoint(async (sp) => {
        value = await fn(sp as unknown as TransactionSql);
        throw ROLLBACK;
      });
    } catch (err) {
      if (err === ROLLBACK) return { ok: true, value };
      const pg = refusal(err);
      if (RETRYABLE.has(pg.sqlstate ?? '') && tries < MAX_TRIES) continue;
      return { ok: false, err };
    }
    return { ok: true, value };
  }
}

export async function checkGroundTruthRole(sql: Sql): Promise<void> {
  const [r] = await sql<{ ok: boolean; name: string }[]>`
    select (rolsuper or rolbypassrls) as ok, rolname as name from pg_catalog.pg_roles where rolname = session_user`;
  if (!r?.ok) {
    throw new RowguardError('usage', `the access matrix must connect as a superuser or a BYPASSRLS role (${r?.name ?? 'this role'} is neither)`, {
      hint: 'it reads the true row counts bypassing RLS and switches into each actor with SET ROLE',
    });
  }
}

/** `col::text = $n` — owner comparison in text, so uuid and text owner columns work alike. */
function ownerPredicate(col: string, param: number): string {
  return `${quoteIdent(col)}::text = $${param}`;
}

async function readTruth(sql: Sql, rel: RelationModel, roles: string[]): Promise<Truth> {
  let truth!: Truth;
  // Read-write, always rolled back: a view that calls nextval() (or anything else that writes)
  // cannot be counted in a READ ONLY transaction, and its ground truth is still needed.
  await sql
    .begin('isolation level repeatable read read write', async (tx) => {
      truth = await readTruthIn(tx, rel, roles);
      throw ROLLBACK;
    })
    .catch((err: unknown) => {
      if (err !== ROLLBACK) throw err;
    });
  return truth;
}

async function readTruthIn(tx: TransactionSql, rel: RelationModel, roles: string[]): Promise<Truth> {
  const t = rel.name;
  const owner = rel.ownerColumn;
  const [{ total } = { total: 0 }] = await tx.unsafe<{ total: number }[]>(`select count(*)::int as total from ${t}`);
  const ownByUid = new Map<string, number>();
  if (owner) {
    for (const r of await tx.unsafe<{ uid: string | null; n: number }[]>(`select ${quoteIdent(owner)}::text as uid, count(*)::int as n from ${t} group by 1`)) {
      if (r.uid !== null) ownByUid.set(r.uid, r.n);
    }
  }
  let keys: string[] = [];
  let sources: SourceRow[] = [];
  const maxOf = new Map<string, string | null>();
  const updatable = new Map<string, Set<string>>();
  const readable = new Map<string, Set<string>>();
  const insertable = new Map<string, Set<string>>();
  if (rel.writable) {
    if (rel.hasRowIdentity) keys = (await tx.unsafe<{ k: string }[]>(`select ${ROW_KEY} as k from ${t} r`)).map((r) => r.k);
    // Each column's text form, as JSON so a NULL stays null (a text[] literal would spell it NULL).
    const vals = `pg_catalog.to_json(array[${rel.columns.map((c) => `r.${quoteIdent(c.name)}::text`).join(', ')}]::text[])::text`;
    const ownerExpr = owner ? `r.${quoteIdent(owner)}::text` : 'null::text';
    // A few rows to copy per owner, the first in text order so runs are repeatable: a WITH CHECK that
    // depends on the data (status = 'draft') may refuse one copy and take another.
    const copies = await tx.unsafe<{ owner: string | null; values: string }[]>(
      `select owner, values from (select ${ownerExpr} as owner, ${vals} as values,
              row_number() over (partition by ${ownerExpr} order by row(r.*)::text) as n from ${t} r) x
        where n <= ${SOURCES_PER_OWNER} order by 1, n`,
    );
    sources = copies.map((r) => ({ owner: r.owner, values: JSON.parse(r.values) as Array<string | null> }));
    for (const key of rel.uniqueKeys) {
      for (const name of key) {
        const col = rel.columns.find((c) => c.name === name);
        if (col && INTEGER_TYPES.has(col.baseType) && !maxOf.has(name)) {
          const [m] = await tx.unsafe<{ m: string | null }[]>(`select max(${quoteIdent(name)})::text as m from ${t}`);
          maxOf.set(name, m?.m ?? null);
        }
      }
    }
  }
  // Column privileges (a table grant covers every column): what the probes may send, and what the labels name.
  const rows = await tx<{ role: string; cols: string[]; readable: string[]; insertable: string[] }[]>`
    select r.role,
           coalesce(array_agg(a.attname::text order by a.attnum) filter (where has_column_privilege(r.role, a.attrelid, a.attnum, 'UPDATE')), '{}') as cols,
           coalesce(array_agg(a.attname::text order by a.attnum) filter (where has_column_privilege(r.role, a.attrelid, a.attnum, 'SELECT')), '{}') as readable,
           coalesce(array_agg(a.attname::text order by a.attnum) filter (where has_column_privilege(r.role, a.attrelid, a.attnum, 'INSERT')), '{}') as insertable
      from unnest(${roles}::text[]) r(role)
      cross join pg_catalog.pg_attribute a
     where a.attrelid = ${rel.oid} and a.attnum > 0 and not a.attisdropped
       and exists (select 1 from pg_catalog.pg_roles x where x.rolname = r.role)
     group by r.role`;
  const filtering = new Map<string, Set<string>>();
  const samePolicies = new Map<string, SamePolicies>();
  if (rel.rls) {
    const applicable = await tx<{ role: string; cmd: string; permissive: boolean; readsRow: boolean; checkIsUsing: boolean }[]>`
      select x.rolname::text as role, p.polcmd::text as cmd, p.polpermissive as permissive,
             (p.polwithcheck is null or pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) = pg_catalog.pg_get_expr(p.polqual, p.polrelid)) as "checkIsUsing",
             -- reads the row: a USING other than true with a column or whole-row reference (the
             -- policy's expressions record normal dependencies on those, its table an auto one)
             (coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), 'true') <> 'true'
              and exists (select 1 from pg_catalog.pg_depend d
                           where d.classid = 'pg_catalog.pg_policy'::regclass and d.objid = p.oid
                             and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid = c.oid and d.deptype = 'n')) as "readsRow"
        from pg_catalog.pg_roles x
        join pg_catalog.pg_class c on c.oid = ${rel.oid}::oid
        join pg_catalog.pg_policy p on p.polrelid = c.oid
       where x.rolname = any(${roles}::text[])
         and not x.rolsuper and not x.rolbypassrls
         and (c.relforcerowsecurity or not pg_catalog.pg_has_role(x.oid, c.relowner, 'USAGE'))
         and (0::oid = any(p.polroles) -- 0: PUBLIC
              or exists (select 1 from unnest(p.polroles) pr(oid) where pg_catalog.pg_has_role(x.oid, pr.oid, 'USAGE')))`;
    for (const role of roles) {
      const mine = applicable.filter((p) => p.role === role);
      const cmds = new Set<string>();
      for (const cmd of ['r', 'w', 'd']) {
        const on = mine.filter((p) => p.cmd === '*' || p.cmd === cmd);
        // Rows can be filtered by a restrictive policy that reads them, or when every permissive one
        // reads them; a permissive one that does not (true, is_staff()) may well let every row through.
        const restrictive = on.some((p) => !p.permissive && p.readsRow);
        const permissive = on.filter((p) => p.permissive);
        if (restrictive || (permissive.length > 0 && permissive.every((p) => p.readsRow))) cmds.add(cmd);
      }
      filtering.set(role, cmds);
      // A statement that reads a column adds the SELECT policies ('r' and '*') to the command's own
      // ('w'/'d'/'a' and '*'): with '*' policies only, both sets are the same, and so are the rows.
      const has = (cmd: string) => mine.some((p) => p.cmd === cmd);
      samePolicies.set(role, {
        update: !has('r') && !has('w'),
        delete: !has('r') && !has('d'),
        // RETURNING checks the new row against USING, the INSERT against WITH CHECK.
        returning: !has('r') && !has('a') && mine.every((p) => p.checkIsUsing),
      });
    }
  }
  const writeGrants = new Map<string, Set<string>>();
  for (const r of await tx<{ role: string; grants: string[] }[]>`
    select x.rolname::text as role,
           array_remove(array[case when has_any_column_privilege(x.oid, ${rel.oid}::oid, 'INSERT') then 'INSERT' end,
                              case when has_any_column_privilege(x.oid, ${rel.oid}::oid, 'UPDATE') then 'UPDATE' end,
                              case when has_table_privilege(x.oid, ${rel.oid}::oid, 'DELETE') then 'DELETE' end], null) as grants
      from pg_catalog.pg_roles x where x.rolname = any(${roles}::text[])`) {
    writeGrants.set(r.role, new Set(r.grants));
  }
  for (const r of rows) {
    updatable.set(r.role, new Set(r.cols));
    readable.set(r.role, new Set(r.readable));
    insertable.set(r.role, new Set(r.insertable));
  }
  const policyColumns = new Set(
    (
      await tx<{ name: string }[]>`
        select distinct a.attname::text as name
          from pg_catalog.pg_depend d
          join pg_catalog.pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
         where d.classid = 'pg_catalog.pg_policy'::regclass and d.refobjid = ${rel.oid} and d.refobjsubid > 0`
    ).map((r) => r.name),
  );
  return { total, ownByUid, keys, sources, maxOf, updatable, readable, insertable, filtering, samePolicies, writeGrants, policyColumns };
}

/** Start the actor's "request": PostgREST's settings, or just the role for a direct connection. */
async function enterActor(tx: TransactionSql, actor: ProbeActor): Promise<void> {
  // A safety net, not PostgREST's: a probe that waits on a lock or loops must end as an error cell.
  await tx`select set_config('statement_timeout', '30s', true), set_config('lock_timeout', '10s', true)`;
  if (actor.login) await tx.unsafe(`set local session authorization ${quoteIdent(actor.login)}`);
  if (actor.request) await applyRequest(tx, actor.request);
  else await tx`select set_config('role', ${actor.role}, true)`;
}

/** Become the actor's role again after asSessionUser (inside the same savepoint). */
async function reenterActor(sp: TransactionSql, actor: ProbeActor): Promise<void> {
  if (actor.login) await sp.unsafe(`set local session authorization ${quoteIdent(actor.login)}`);
  await sp`select set_config('role', ${actor.role}, true)`;
}

/**
 * request.method and request.path as PostgREST would set them for this
 * table and command (GET/POST/PATCH/DELETE on /<table>), for policies that read them.
 */
async function asHttpRequest(tx: TransactionSql, actor: ProbeActor, method: string, rel: RelationModel): Promise<void> {
  if (!actor.request) return;
  await tx`select set_config('request.method', ${method}, true), set_config('request.path', ${'/' + rel.table}, true)`;
}

/** Become the connecting role again (inside a savepoint, so the rollback restores the actor). */
async function asSessionUser(sp: TransactionSql): Promise<void> {
  // SESSION AUTHORIZATION DEFAULT undoes the login an actor may have become (any session may).
  await sp.unsafe('set local session authorization default; set local role none').simple();
}

export interface ProbeOptions {
  /** Every auth.users id, used as "another owner" when no other owner's row exists. */
  userIds: string[];
  /** Connections to use in parallel (one actor per connection). */
  concurrency?: number;
  /** The functions PostgREST serves (readRpcFunctions): whether each actor may call each is probed too. */
  functions?: RpcFunctionModel[];
}

/** What one actor can do: a cell per (relation, command) and one per function. */
interface ActorCells {
  tables: Map<string, Record<MatrixCommand, Cell>>;
  calls: Map<string, CallCell>;
}

export async function probeMatrix(sql: Sql, rels: RelationModel[], actors: ProbeActor[], opts: ProbeOptions): Promise<Matrix> {
  await checkGroundTruthRole(sql);
  const roles = [...new Set(actors.map((a) => a.role))];
  const existing = new Set((await sql<{ rolname: string }[]>`select rolname from pg_catalog.pg_roles where rolname = any(${roles}::text[])`).map((r) => r.rolname));
  const { seeded, unseeded } = await seedEmptyTables(sql, rels, actors, opts.userIds);
  const truths = new Map<string, Truth | Cell>();
  // Tables are independent: read them over the pool's connections in parallel.
  const pending = [...rels];
  const reader = async () => {
    for (let rel = pending.shift(); rel; rel = pending.shift()) {
      try {
        const truth = await readTruth(sql, rel, roles);
        const made = seeded.get(rel.name);
        const why = unseeded.get(rel.name);
        truths.set(rel.name, { ...truth, ...(made ? { seeded: made } : {}), ...(why && truth.total === 0 ? { unseeded: why } : {}) });
      } catch (err) {
        // Even the connecting superuser cannot read it (a foreign table whose file or server is gone, a
        // view whose function raises): every cell of it says so, the other relations are still probed.
        const pg = refusal(err);
        truths.set(rel.name, { access: 'error', note: `${pg.sqlstate ?? ''} ${pg.message ?? 'error'} (reading it as the connecting role)`.trim() });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 1, rels.length)) }, reader));
  for (const rel of rels) {
    const truth = truths.get(rel.name)!;
    if (rel.kind === 'view' && !('access' in truth)) truths.set(rel.name, await viewUniverse(sql, rel, truth, actors));
  }

  const functions = opts.functions ?? [];
  const found = new Map<string, ActorCells>();
  // Request actors switch role as PostgREST's login would, when the connection can become it.
  const { loginFor } = await import('../as/run.js');
  const { become } = await loginFor(sql);
  const queue = actors.map((a) => (a.request && become ? { ...a, login: become } : a));
  const worker = async () => {
    for (let actor = queue.shift(); actor; actor = queue.shift()) {
      const a = actor;
      if (!existing.has(a.role)) {
        const note = `role ${a.role} does not exist`;
        found.set(a.name, { tables: new Map(rels.map((rel) => [rel.name, allCommands({ access: 'n/a', note })])), calls: new Map(functions.map((f) => [f.name, { access: 'n/a', note }])) });
        continue;
      }
      found.set(a.name, await probeActor(sql, rels, truths, a, functions, opts));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 1, actors.length)) }, worker));
  // Actors ran in parallel; the matrix lists them in the declared order.
  const cells: Matrix['cells'] = {};
  for (const rel of rels) cells[rel.name] = Object.fromEntries(actors.map((a) => [a.name, found.get(a.name)!.tables.get(rel.name)!]));
  const calls: Matrix['calls'] = {};
  for (const f of functions) calls[f.name] = Object.fromEntries(actors.map((a) => [a.name, found.get(a.name)!.calls.get(f.name)!]));
  return {
    actors: actors.map(({ request: _r, ...info }) => info),
    tables: rels.map((r) => ({ name: r.name, schema: r.schema, table: r.table, kind: r.kind, rls: r.rls, forceRls: r.forceRls, ownerColumn: r.ownerColumn })),
    cells,
    functions: functions.map(({ oid: _o, ...f }) => f),
    calls,
  };
}

function allCommands(cell: Cell): Record<MatrixCommand, Cell> {
  return Object.fromEntries(COMMANDS.map((c) => [c, cell])) as Record<MatrixCommand, Cell>;
}

async function probeActor(sql: Sql, rels: RelationModel[], truths: Map<string, Truth | Cell>, actor: ProbeActor, functions: RpcFunctionModel[], opts: ProbeOptions): Promise<ActorCells> {
  const out = new Map<string, Record<MatrixCommand, Cell>>();
  const calls = new Map<string, CallCell>();
  let cannotEnter: Cell | undefined;
  try {
    await sql.begin('isolation level read committed read write', async (tx) => {
      try {
        await enterActor(tx, actor);
      } catch (err) {
        // PostgREST's login cannot become the actor's role (42501): no request of this actor runs.
        const pg = refusal(err);
        const why = pg.sqlstate === '42501' && actor.login ? `: PostgREST's login (${actor.login}) is not a member of ${actor.role}, so PostgREST answers every request of this actor with 403` : '';
        cannotEnter = { access: 'error', note: `${pg.sqlstate ?? ''} ${pg.message ?? 'error'}${why}`.trim() };
        throw ROLLBACK;
      }
      for (const rel of rels) {
        const read = truths.get(rel.name)!;
        if ('access' in read) {
          out.set(rel.name, allCommands(read));
          continue;
        }
        const truth = read;
        const as = (method: string) => asHttpRequest(tx, actor, method, rel);
        await as('GET');
        const SELECT = await probeSelect(tx, rel, truth, actor);
        await as('POST');
        const INSERT = await probeInsert(tx, rel, truth, actor, opts);
        await as('PATCH');
        const UPDATE = await probeUpdate(tx, rel, truth, actor);
        await as('DELETE');
        const DELETE = await probeDelete(tx, rel, truth, actor);
        const filters = truth.filtering.get(actor.role);
        const made = (cell: Cell) =>
          cell.access === 'n/a' && cell.note === NO_ROWS && truth.unseeded
            ? { ...cell, note: truth.unseeded }
            : withNote(cell, truth.seeded ? `the fixtures put no row in this table: measured on ${truth.seeded} rows rowguard made from the column types` : undefined);
        out.set(rel.name, {
          SELECT: made(withColumns(allOfFixtures(SELECT, filters, 'r'), rel, truth.readable.get(actor.role))),
          INSERT: withColumns(INSERT, rel, truth.insertable.get(actor.role)),
          UPDATE: made(withColumns(allOfFixtures(UPDATE, filters, 'w'), rel, truth.updatable.get(actor.role))),
          DELETE: made(allOfFixtures(DELETE, filters, 'd')),
        });
      }
      if (functions.length) {
        // As the actor's role, in its request: what Postgres checks when /rpc/<name> calls the function
        // (EXECUTE on it, USAGE on its schema). The function itself is not run: its arguments are unknown.
        const rows = await tx<{ oid: number; callable: boolean }[]>`
          select f.oid::int as oid,
                 pg_catalog.has_function_privilege(f.oid, 'EXECUTE') and pg_catalog.has_schema_privilege(p.pronamespace, 'USAGE') as callable
            from unnest(${functions.map((f) => f.oid)}::oid[]) as f(oid)
            join pg_catalog.pg_proc p on p.oid = f.oid`;
        const callable = new Map(rows.map((r) => [r.oid, r.callable]));
        for (const f of functions) {
          calls.set(f.name, callable.get(f.oid) ? { access: 'execute', ...(f.securityDefiner ? { runsAs: f.owner } : {}) } : { access: 'none' });
        }
      }
      throw ROLLBACK;
    });
  } catch (err) {
    if (err !== ROLLBACK) throw err;
  }
  if (cannotEnter) {
    for (const rel of rels) out.set(rel.name, allCommands(cannotEnter));
    for (const f of functions) calls.set(f.name, { access: 'error', ...(cannotEnter.note ? { note: cannotEnter.note } : {}) });
  }
  return { tables: out, calls };
}

/**
 * "all" under a policy that filters means only that every row of the
 * fixtures passed it (published posts, with no draft among them): the label
 * stays what was measured, the note says how to tell it from filtered.
 */
function allOfFixtures(cell: Cell, filters: ReadonlySet<string> | undefined, cmd: 'r' | 'w' | 'd'): Cell {
  if (cell.access !== 'all' || !filters?.has(cmd)) return cell;
  const note = 'every row of the fixtures passes policies that can filter: add rows they should hide to tell filtered from all';
  return { ...cell, note: cell.note ? `${cell.note}; ${note}` : note };
}

/**
 * Name the columns when the actor's privilege covers only some of them: a
 * column grant (every column but a hash, say) and a table grant read the same
 * rows, and only the columns tell a reviewer, and the committed matrix, apart.
 */
function withColumns(cell: Cell, rel: RelationModel, granted: ReadonlySet<string> | undefined): Cell {
  if (!granted || granted.size === 0 || granted.size >= rel.columns.length) return cell;
  return { ...cell, columns: rel.columns.filter((c) => granted.has(c.name)).map((c) => quoteIdent(c.name)) };
}

/**
 * A write that is not run: a materialized view cannot be written at all; a
 * foreign table's writes would reach the remote server (no RLS applies to
 * foreign tables, so the grant is the whole answer). The catalog still tells
 * "none" (no privilege) from a granted write, so granting one changes the cell.
 */
function unprobedWrite(rel: RelationModel, truth: Truth, actor: ProbeActor, command: 'INSERT' | 'UPDATE' | 'DELETE'): Cell {
  if (rel.kind === 'foreign table') {
    if (!truth.writeGrants.get(actor.role)?.has(command)) return { access: 'none', note: `no ${command} privilege on the foreign table` };
    return { access: 'n/a', note: `foreign table: ${command} granted, not run (it would write to the remote server)` };
  }
  return { access: 'n/a', note: `${rel.kind}: writes are not probed` };
}

/**
 * A view's rows can depend on who reads it (`where user_id = auth.uid()`): counted
 * with no claims, as a table's ground truth is, such a view shows nothing. Its
 * rows are the union of what it shows with each actor's request settings (as
 * the connecting role, so RLS is bypassed), told apart by the text of the row;
 * a view that shows each user their own rows then reads "own", not "empty".
 */
async function viewUniverse(sql: Sql, rel: RelationModel, truth: Truth, actors: ProbeActor[]): Promise<Truth> {
  const owner = rel.ownerColumn ? `v.${quoteIdent(rel.ownerColumn)}::text` : 'null::text';
  const rows = new Map<string, string | null>();
  try {
    await sql.begin('isolation level repeatable read read write', async (tx) => {
      for (const actor of [null, ...actors]) {
        const r = await attempt(tx, async (sp) => {
          if (actor?.request) await applyRequest(sp, actor.request);
          await asSessionUser(sp);
          return sp.unsafe<{ h: string; o: string | null }[]>(`select pg_catalog.md5(row(v.*)::text) as h, ${owner} as o from ${rel.name} v`);
        });
        if (r.ok) for (const row of r.value) rows.set(row.h, row.o);
      }
      throw ROLLBACK;
    });
  } catch (err) {
    if (err !== ROLLBACK) throw err;
  }
  if (rows.size <= truth.total) return truth; // no actor sees more than the claims-less count: keep it (duplicates included)
  const ownByUid = new Map<string, number>();
  for (const o of rows.values()) if (o !== null) ownByUid.set(o, (ownByUid.get(o) ?? 0) + 1);
  return { ...truth, total: rows.size, ownByUid };
}

function withNote(cell: Cell, note: string | undefined): Cell {
  if (!note || cell.access === 'none' || cell.access === 'n/a' || cell.access === 'error') return cell;
  return { ...cell, note: cell.note ? `${cell.note}; ${note}` : note };
}

/**
 * A table the fixtures leave empty says nothing about reads, updates and
 * deletes: every actor gets "empty", granted or not, open or not. In the
 * throwaway database it gets rows first: one per user actor (plus another
 * user when there is only one, so own can be told from all), or two without
 * an owner column, built from the column types as INSERT builds them.
 * Committed table by table in name order (all of a table's rows or none),
 * before any ground truth is read, so triggers' side effects are the same on
 * every run. Returns the rows each seeded table got, and why each empty table it could not seed got none.
 */
async function seedEmptyTables(sql: Sql, rels: RelationModel[], actors: ProbeActor[], userIds: string[]): Promise<{ seeded: Map<string, number>; unseeded: Map<string, string> }> {
  const seeded = new Map<string, number>();
  const unseeded = new Map<string, string>();
  const actorUids = [...new Set(actors.map((a) => a.uid).filter((u): u is string => !!u))];
  for (const id of userIds) if (actorUids.length < 2 && !actorUids.includes(id)) actorUids.push(id);
  for (const rel of rels) {
    if (!rel.hasRowIdentity) continue; // tables and partitioned tables (and listed partitions) only
    const [{ any } = { any: true }] = await sql.unsafe<{ any: boolean }[]>(`select exists (select 1 from ${rel.name}) as any`).catch(unlessEnded([{ any: true }])); // unreadable: not seeded, the probes say why
    if (any) continue;
    const source = synthesizeSource(rel);
    if ('reason' in source) {
      unseeded.set(rel.name, source.reason);
      continue;
    }
    const owners: Array<string | undefined> = rel.ownerColumn && actorUids.length ? actorUids : [undefined, undefined];
    try {
      await sql.begin(async (tx) => {
        for (const [i, owner] of owners.entries()) {
          // Integer keys without a default get max + 1 from here: 1000 apart per row, so rows do not collide.
          const maxOf = new Map(rel.columns.filter((c) => INTEGER_TYPES.has(c.baseType)).map((c) => [c.name, String(i * 1000)]));
          await tx.unsafe(planInsert(rel, { ...NO_TRUTH, maxOf }, source, owner, { row: i }).text);
        }
      });
      seeded.set(rel.name, owners.length);
    } catch (err) {
      // A constraint, trigger or partition bound refused a made-up row: leave it empty, and say so.
      const pg = refusal(err);
      unseeded.set(rel.name, `the fixtures put no row in this table, and the row rowguard made from the column types was refused: ${pg.message ?? 'error'}${pg.sqlstate ? ` [${pg.sqlstate}]` : ''}`);
    }
  }
  return { seeded, unseeded };
}

const NO_TRUTH: Truth = {
  total: 0,
  ownByUid: new Map(),
  keys: [],
  sources: [],
  maxOf: new Map(),
  updatable: new Map(),
  readable: new Map(),
  insertable: new Map(),
  filtering: new Map(),
  samePolicies: new Map(),
  writeGrants: new Map(),
  policyColumns: new Set(),
};

function ownTotalOf(truth: Truth, rel: RelationModel, actor: ProbeActor): number | undefined {
  if (!rel.ownerColumn || !actor.uid) return undefined;
  return truth.ownByUid.get(actor.uid) ?? 0;
}

function cellOfFailure(o: Outcome): Cell {
  if (o.kind === 'denied') return { access: 'none', note: o.note };
  if (o.kind === 'refused') return { access: 'refused', note: o.note };
  if (o.kind === 'skipped') return { access: 'n/a', note: o.note };
  return { access: 'error', note: o.kind === 'ok' ? 'unexpected' : o.note };
}

/**
 * PostgREST runs a GET in a READ ONLY transaction: a view that calls nextval()
 * or a policy function that writes (an access log) fails there with 25006,
 * and so must the read here. Going read-only is allowed at any point of a
 * transaction, and the savepoint's rollback undoes it.
 */
async function readOnly(sp: TransactionSql): Promise<void> {
  await sp`select set_config('transaction_read_only', 'on', true)`;
}

async function probeSelect(tx: TransactionSql, rel: RelationModel, truth: Truth, actor: ProbeActor): Promise<Cell> {
  const ownTotal = ownTotalOf(truth, rel, actor);
  if (ownTotal !== undefined) {
    const r = await attempt(tx, async (sp) => {
      await readOnly(sp);
      return sp.unsafe<{ n: number; own: number }[]>(`select count(*)::int as n, count(*) filter (where ${ownerPredicate(rel.ownerColumn!, 1)})::int as own from ${rel.name}`, [actor.uid!]);
    });
    if (r.ok) return classifyRows({ rows: r.value[0]!.n, rowsOwn: r.value[0]!.own, total: truth.total, ownTotal });
    const o = outcomeOfError(r.err);
    // A column grant may hide the owner column: count without it before concluding.
    if (o.kind !== 'denied') return cellOfFailure(o);
  }
  const r = await attempt(tx, async (sp) => {
    await readOnly(sp);
    return sp.unsafe<{ n: number }[]>(`select count(*)::int as n from ${rel.name}`);
  });
  if (!r.ok) return cellOfFailure(outcomeOfError(r.err));
  return classifyRows({ rows: r.value[0]!.n, total: truth.total, ownTotal });
}

/** A value no existing row has, for a column of a unique key; null when the type gives no generic way. */
function freshValue(col: ColumnRow, truth: Truth, serial: number, row?: number): string | null {
  if (col.baseType === 'uuid') return randomUUID();
  if (INTEGER_TYPES.has(col.baseType)) {
    // max + 1 (+ serial for a second key on the same column) stays in range unless the column is full.
    const max = truth.maxOf.get(col.name);
    if (max === null || max === undefined) return String(1 + serial);
    if (!/^-?\d+(\.\d+)?$/.test(max)) return null; // NaN, Infinity, exponent notation: no generic next value
    return String(BigInt(max.split('.')[0]!) + 1n + BigInt(serial));
  }
  if (TEXT_TYPES.has(col.baseType)) {
    // A row number (rows made for an empty table) leads, so those rows differ even in a varchar(1).
    const hex = (row === undefined ? '' : row.toString(36)) + randomBytes(8).toString('hex');
    // varchar(n)/char(n): atttypmod is n + 4 (VARHDRSZ). A short one gets the varying part only (a
    // cut "rg-…" prefix would make every value alike).
    const n = col.typmod > 4 ? Math.max(1, col.typmod - 4) : Infinity;
    return n < 19 ? hex.slice(0, n) : `rg-${hex}`;
  }
  return null;
}

interface InsertPlan {
  text: string;
  note?: string;
  /** Key columns left to their default (a serial's nextval, gen_random_uuid()). */
  defaultedKeys: string[];
}

export interface InsertOptions {
  /** Columns the actor may INSERT: the others are left out (their default applies), as a client would. */
  insertable?: ReadonlySet<string>;
  /** Give defaulted key columns explicit fresh values too (a default the actor may not run, e.g. a serial's sequence without USAGE). */
  explicitKeys?: boolean;
  /** The row's number among rows made together (seedEmptyTables): fresh text values start with it. */
  row?: number;
}

/**
 * INSERT a copy of `source`: generated and identity columns are left to
 * Postgres, so are defaulted columns of a unique key (a fresh uuid/serial);
 * every other unique key gets one fresh value in a non-owner column, so the
 * copy does not collide with its original; the owner column gets `ownerValue`.
 */
export function planInsert(rel: RelationModel, truth: Truth, source: SourceRow, ownerValue: string | null | undefined, opts: InsertOptions = {}): InsertPlan {
  const inKey = new Set(rel.uniqueKeys.flat());
  const idx = new Map(rel.columns.map((c, i) => [c.name, i]));
  // A column the actor may not INSERT is left to its default, unless it is NOT NULL without one:
  // leaving it out could only fail on NOT NULL, naming it keeps the real verdict (permission denied).
  const mayGive = (c: ColumnRow) => !opts.insertable || opts.insertable.has(c.name) || (c.notNull && !c.hasDefault);
  const defaultedKey = (c: ColumnRow) => c.hasDefault && inKey.has(c.name) && c.name !== rel.ownerColumn;
  const base = rel.columns.filter((c) => c.updatable && c.generated === '' && c.identity === '' && mayGive(c));
  const defaultedKeys = base.filter(defaultedKey).map((c) => c.name);
  const cols = base.filter((c) => (opts.explicitKeys ? true : !defaultedKey(c)) && !(source.omit?.has(c.name) && c.name !== rel.ownerColumn && !(opts.explicitKeys && defaultedKey(c))));
  const values = new Map<string, string | null>(cols.map((c) => [c.name, source.values[idx.get(c.name)!] ?? null]));
  if (rel.ownerColumn && ownerValue !== undefined && values.has(rel.ownerColumn)) values.set(rel.ownerColumn, ownerValue);
  const notes: string[] = [];
  let serial = 0;
  for (const key of rel.uniqueKeys) {
    if (!key.every((k) => values.has(k))) continue; // a defaulted column already makes it fresh
    const candidates = key.map((k) => rel.columns.find((c) => c.name === k)!).filter((c) => c.name !== rel.ownerColumn);
    // A column of a foreign key keeps the copied value: a fresh one names no parent row, so the
    // policies that look the parent up (an org member adding someone to the org) refuse a row no
    // client would send. A copy that collides fails on the key after WITH CHECK passed (ExecInsert
    // checks the policies first): still the verdict "allowed", with a note.
    const ordered = candidates.filter((c) => !c.inForeignKey);
    if (!ordered.length && candidates.length) {
      notes.push(`unique key (${key.join(', ')}) kept the copied values: its columns reference other tables`);
      continue;
    }
    let done = false;
    for (const c of ordered) {
      const v = freshValue(c, truth, serial++, opts.row);
      if (v !== null) {
        values.set(c.name, v);
        done = true;
        break;
      }
    }
    if (!done) notes.push(`unique key (${key.join(', ')}) could not be given a fresh value`);
  }
  const names = [...values.keys()];
  // Typed literals, not parameters: '…'::type goes through the type's input function exactly as the
  // value's text came out of its output function (a driver would re-serialize a typed parameter,
  // e.g. parse a timestamp as a JavaScript Date in the local time zone).
  const typed = (n: string) => {
    const v = values.get(n) ?? null;
    return `${v === null ? 'NULL' : literal(v)}::${rel.columns.find((c) => c.name === n)!.type}`;
  };
  const text = names.length === 0 ? `insert into ${rel.name} default values` : `insert into ${rel.name} (${names.map(quoteIdent).join(', ')}) values (${names.map(typed).join(', ')})`;
  return { text, defaultedKeys: opts.explicitKeys ? [] : defaultedKeys, ...(notes.length ? { note: notes.join('; ') } : {}) };
}

/** A string literal that reads the same whatever standard_conforming_strings is: E'…' with \ and ' doubled. */
export function literal(value: string): string {
  return "E'" + value.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'";
}

/**
 * Run an INSERT; when it succeeds, read (as the session user, in the same
 * savepoint) the owner the new row really got: a trigger or a default such as
 * `user_id = auth.uid()` may have replaced the one we asked for.
 */
async function runInsert(tx: TransactionSql, rel: RelationModel, truth: Truth, text: string): Promise<{ outcome: Outcome; storedOwner?: string | null }> {
  const r = await attempt(tx, async (sp) => {
    const count = (await sp.unsafe(text)).count;
    if (!rel.ownerColumn || !rel.hasRowIdentity || count === 0) return { count, storedOwner: undefined };
    await asSessionUser(sp);
    const [row] = await sp.unsafe<{ owner: string | null }[]>(
      `select r.${quoteIdent(rel.ownerColumn)}::text as owner from ${rel.name} r where not (${ROW_KEY} = any($1::text[])) limit 1`,
      [truth.keys] as never,
    );
    return { count, storedOwner: row ? row.owner : undefined };
  });
  return r.ok ? { outcome: { kind: 'ok', count: r.value.count }, storedOwner: r.value.storedOwner } : { outcome: outcomeOfError(r.err) };
}

/** A value of a column's type, for a synthesized row; null when the type gives no generic one. */
function syntheticValue(col: ColumnRow): string | null {
  if (col.enumFirst !== null) return col.enumFirst;
  if (col.type.endsWith('[]')) return '{}';
  switch (col.baseType) {
    case 'uuid':
      return randomUUID();
    case 'int2': case 'int4': case 'int8': case 'numeric': case 'float4': case 'float8':
      return '1';
    case 'text': case 'varchar': case 'bpchar': case 'citext': case 'name':
      return col.typmod > 4 ? 'rg'.slice(0, col.typmod - 4) : 'rowguard matrix';
    case 'bool':
      return 'false';
    case 'date': case 'timestamp': case 'timestamptz': case 'time': case 'timetz':
      return 'now'; // the special input value, accepted by every date/time type
    case 'interval':
      return '0';
    case 'json': case 'jsonb':
      return '{}';
    case 'bytea':
      return '\\x';
    case 'inet': case 'cidr':
      return '127.0.0.1';
    default:
      return null;
  }
}

/**
 * Without a row to copy: leave every column with a default (or nullable) to
 * Postgres and give each NOT NULL column without a default a value of its
 * type. A NOT NULL foreign key other than the owner would need a parent row:
 * that is reported instead of guessed.
 */
export function synthesizeSource(rel: RelationModel): SourceRow | { reason: string } {
  const values: Array<string | null> = [];
  const omit = new Set<string>();
  for (const c of rel.columns) {
    if (c.name === rel.ownerColumn || !c.updatable || c.generated !== '' || c.identity !== '' || !c.notNull || c.hasDefault) {
      values.push(null);
      if (c.name !== rel.ownerColumn) omit.add(c.name);
      continue;
    }
    if (c.inForeignKey) return { reason: `the fixtures put no row in this table, and ${c.name} needs a row of the table it references` };
    const v = syntheticValue(c);
    if (v === null) return { reason: `the fixtures put no row in this table, and ${c.name} (${c.type}) has no generic value` };
    values.push(v);
  }
  return { owner: null, values, omit };
}

async function probeInsert(tx: TransactionSql, rel: RelationModel, truth: Truth, actor: ProbeActor, opts: ProbeOptions): Promise<Cell> {
  if (!rel.writable) return unprobedWrite(rel, truth, actor, 'INSERT');
  if (!truth.sources.length) {
    const made = synthesizeSource(rel);
    if ('reason' in made) return { access: 'n/a', note: made.reason };
    truth = { ...truth, sources: [made] };
  }
  const insertable = truth.insertable.get(actor.role);
  /**
   * The first INSERT the policies let through (it ran, or failed on a constraint after WITH CHECK
   * passed) with the actor's own row, and the first with another owner's: each is tried again
   * returning the row.
   */
  const accepted: { own?: string; other?: string } = {};
  const tryPlan = async (source: SourceRow, ownerValue: string | null | undefined): Promise<Outcome> => {
    let plan = planInsert(rel, truth, source, ownerValue, insertable ? { insertable } : {});
    let { outcome: o, storedOwner } = await runInsert(tx, rel, truth, plan.text);
    if (o.kind === 'denied' && plan.defaultedKeys.length) {
      // A denied default (nextval on a sequence without USAGE) stops only clients that rely on it:
      // one that sends the key itself still inserts.
      const denial = o.note;
      plan = planInsert(rel, truth, source, ownerValue, { ...(insertable ? { insertable } : {}), explicitKeys: true });
      ({ outcome: o, storedOwner } = await runInsert(tx, rel, truth, plan.text));
      if (o.kind === 'ok') o = { ...o, note: `with explicit key values (${denial} when they are left to their default)` };
      else if (o.kind === 'denied') o = { kind: 'denied', note: denial };
    }
    if (o.kind === 'ok' && ownerValue && actor.uid && ownerValue !== actor.uid && storedOwner === actor.uid) {
      // Asked for someone else's row, got one of our own: the write cannot create others' rows.
      return { kind: 'refused', note: `the owner (${rel.ownerColumn}) was rewritten to the actor by a trigger or default` };
    }
    if ((o.kind === 'ok' && o.count > 0) || o.kind === 'constraint') {
      if (actor.uid && ownerValue && ownerValue !== actor.uid) accepted.other ??= plan.text;
      else accepted.own ??= plan.text;
    }
    return plan.note && o.kind === 'constraint' ? { ...o, note: `${o.note}; ${plan.note}` } : o;
  };
  /** Copy the candidates in turn while WITH CHECK refuses them: the first other outcome is the verdict. */
  /** Copies WITH CHECK refused before the last tryCopies found its verdict. */
  let refusedBefore = 0;
  const tryCopies = async (candidates: SourceRow[], ownerValue: string | null | undefined): Promise<Outcome> => {
    let first: Outcome | undefined;
    refusedBefore = 0;
    for (const source of candidates.slice(0, SOURCES_PER_OWNER)) {
      const o = await tryPlan(source, ownerValue);
      if (o.kind !== 'refused') return o;
      first ??= o;
      refusedBefore++;
    }
    refusedBefore = 0;
    return first!;
  };
  if (!rel.ownerColumn || !actor.uid) {
    const source = truth.sources[0]!;
    // A synthesized row has no owner yet: give it some user's, as a copy would have.
    const owner = source.omit && rel.ownerColumn ? (opts.userIds[0] ?? null) : undefined;
    const cell = classifySingleInsert(await tryCopies(truth.sources, owner));
    // Without owners to tell rows apart, "all" says only that some copy went in: when WITH CHECK
    // refused others first (a row of another org), the actor may insert some rows, not any.
    const partial =
      cell.access === 'all' && refusedBefore > 0
        ? `WITH CHECK refused ${refusedBefore} of the fixture rows copied before one went in: which rows may be inserted depends on their values`
        : undefined;
    return withReturning(tx, rel, truth, actor, partial ? { ...cell, note: cell.note ? `${cell.note}; ${partial}` : partial } : cell, accepted);
  }
  const uid = actor.uid;
  const mineRows = truth.sources.filter((s) => s.owner === uid);
  const otherRows = truth.sources.filter((s) => s.owner !== null && s.owner !== uid);
  const rest = truth.sources.filter((s) => s.owner === null);
  const otherUid = otherRows[0]?.owner ?? opts.userIds.find((id) => id !== uid);
  const own = await tryCopies([...mineRows, ...otherRows, ...rest], uid);
  const other: Outcome = otherUid ? await tryCopies([...otherRows, ...mineRows, ...rest], otherUid) : { kind: 'skipped', note: 'no other user exists' };
  const cell = classifyOwnedInsert(own, other);
  const noted = other.kind === 'refused' && cell.access === 'own' && !cell.note && /rewritten/.test(other.note) ? { ...cell, note: other.note } : cell;
  return withReturning(tx, rel, truth, actor, noted, accepted);
}

/**
 * PostgREST's POST with Prefer: return=representation (supabase-js
 * `.insert().select()`) adds RETURNING <columns>, and a RETURNING that reads
 * a column holds the new row to the SELECT policies and grant: an insert the
 * cell allows can still fail that way. Said in the note (the verdict is the
 * write, which return=minimal makes).
 */
async function withReturning(tx: TransactionSql, rel: RelationModel, truth: Truth, actor: ProbeActor, cell: Cell, accepted: { own?: string; other?: string }): Promise<Cell> {
  if ((!accepted.own && !accepted.other) || !rel.rls || !['all', 'own', 'subset'].includes(cell.access)) return cell;
  const readable = truth.readable.get(actor.role) ?? new Set<string>();
  const col = rel.columns.find((c) => readable.has(c.name));
  let why: string | undefined;
  if (!col) why = 'without SELECT, an INSERT that returns the row (Prefer: return=representation) is denied';
  else if (truth.samePolicies.get(actor.role)?.returning === false) {
    // Another owner's row is tried too: an "all" (inviting someone, sharing with them) is often
    // hidden from its writer by a SELECT policy on the owner. Postgres checks the SELECT policies of
    // a RETURNING beside WITH CHECK, before the constraints, so a copy that collided tells too.
    for (const [whose, text] of [['own', accepted.own], ['other', accepted.other]] as const) {
      if (!text || why) continue;
      const r = await attempt(tx, async (sp) => (await sp.unsafe(`${text} returning ${quoteIdent(col.name)}`)).count);
      if (r.ok) continue;
      const o = outcomeOfError(r.err);
      const insert = whose === 'other' ? "an INSERT of another user's row that returns it" : 'an INSERT that returns the row';
      if (o.kind === 'refused' || o.kind === 'denied') why = `${insert} (Prefer: return=representation) fails: ${o.note}`;
    }
  }
  return why ? { ...cell, note: cell.note ? `${cell.note}; ${why}` : why } : cell;
}

/**
 * The column for `set c = c`: one the actor may UPDATE and also SELECT (the
 * right-hand side reads it), preferably not a key or the owner column, and
 * not one with column-level grants hiding it (e.g. a password hash).
 */
function updateColumn(rel: RelationModel, truth: Truth, actor: ProbeActor): ColumnRow | null {
  const eligible = rel.columns.filter((c) => c.updatable && c.generated === '' && c.identity !== 'a');
  if (!eligible.length) return null;
  const allowed = truth.updatable.get(actor.role) ?? new Set<string>();
  const readable = truth.readable.get(actor.role) ?? new Set<string>();
  const key = new Set(rel.primaryKey ?? []);
  const rank = (c: ColumnRow) => (allowed.has(c.name) ? 0 : 8) + (readable.has(c.name) ? 0 : 4) + (key.has(c.name) ? 2 : 0) + (c.name === rel.ownerColumn ? 1 : 0);
  return [...eligible].sort((a, b) => rank(a) - rank(b) || a.attnum - b.attnum)[0]!;
}

/**
 * Assignments for a blind `set c = <value>` (a write that reads no column),
 * best first: columns the actor may UPDATE, preferably outside unique keys,
 * foreign keys, the owner column and the columns policies read, so that one
 * row's value fits every row and the WITH CHECK judges the rows as they are.
 * The value is the column's in the first row to copy. A view has no keys of
 * its own, so a few columns are offered in case one breaks a base table's key.
 */
function blindAssignments(rel: RelationModel, truth: Truth, actor: ProbeActor): string[] {
  const source = truth.sources[0];
  if (!source) return [];
  const allowed = truth.updatable.get(actor.role) ?? new Set<string>();
  const eligible = rel.columns.filter((c) => c.updatable && c.generated === '' && c.identity !== 'a' && allowed.has(c.name));
  const inKey = new Set(rel.uniqueKeys.flat());
  const rank = (c: ColumnRow) => (inKey.has(c.name) ? 8 : 0) + (c.inForeignKey ? 4 : 0) + (truth.policyColumns.has(c.name) ? 2 : 0) + (c.name === rel.ownerColumn ? 1 : 0);
  return [...eligible]
    .sort((a, b) => rank(a) - rank(b) || a.attnum - b.attnum)
    .slice(0, BLIND_TRIES)
    .map((col) => {
      const v = source.values[rel.columns.indexOf(col)] ?? null;
      return `${quoteIdent(col.name)} = ${v === null ? 'NULL' : literal(v)}::${col.type}`;
    });
}
const BLIND_TRIES = 3;

/** Try each assignment until one runs; only a constraint or WITH CHECK failure moves on to the next column. */
async function firstBlind<T>(assignments: string[], run: (assignment: string) => Promise<{ ok: true; value: T } | { ok: false; err: unknown }>): Promise<T | null> {
  for (const a of assignments) {
    const r = await run(a);
    if (r.ok) return r.value;
    const o = outcomeOfError(r.err);
    if (o.kind !== 'constraint' && o.kind !== 'refused') return null;
  }
  return null;
}

/**
 * Postgres applies a table's SELECT policies to an UPDATE only when the
 * statement reads a column (a WHERE, RETURNING, or a column on the right of
 * SET), and checks the SELECT grant only then. `set c = c` reads c, so it
 * measures what a filtered PATCH can change; a PATCH with no filter and
 * `Prefer: return=minimal` reads nothing and can change every row the UPDATE
 * policies allow, even rows the actor cannot see, or with no SELECT grant at
 * all. The cell is the larger of the two, with a note when they differ.
 */
function preferBlind(reading: { ok: true; rows: number } | { ok: false; outcome: Outcome }, blindRows: number): string | null {
  if (reading.ok) {
    return blindRows > reading.rows
      ? `an UPDATE that reads no column (PATCH without filters, Prefer: return=minimal) skips the SELECT policies; one that reads a column changes ${reading.rows}`
      : null;
  }
  if (reading.outcome.kind === 'denied') return `without SELECT on the columns, an UPDATE that reads no column (PATCH without filters, Prefer: return=minimal) still runs (${reading.outcome.note})`;
  return blindRows > 0 ? `an UPDATE that reads no column (PATCH without filters, Prefer: return=minimal) changes rows; one that reads a column failed: ${reading.outcome.note}` : null;
}

async function probeUpdate(tx: TransactionSql, rel: RelationModel, truth: Truth, actor: ProbeActor): Promise<Cell> {
  if (!rel.writable) return unprobedWrite(rel, truth, actor, 'UPDATE');
  const col = updateColumn(rel, truth, actor);
  if (!col) return { access: 'n/a', note: 'no updatable column (generated, identity ALWAYS, or not updatable through the view)' };
  const ownTotal = ownTotalOf(truth, rel, actor);
  const c = quoteIdent(col.name);
  if (!rel.hasRowIdentity) return probeUpdateThroughView(tx, rel, actor, truth, c, ownTotal);
  const run = (assignment: string) =>
    attempt(tx, async (sp) => {
      const res = await sp.unsafe(`update ${rel.name} set ${assignment}`);
      await asSessionUser(sp);
      // An UPDATE writes a new row version with a new ctid: the rows whose key is new are the ones it changed.
      const ownExpr = ownTotal !== undefined ? `count(*) filter (where not (${ROW_KEY} = any($1::text[])) and r.${ownerPredicate(rel.ownerColumn!, 2)})::int` : 'null::int';
      const params: Array<string | string[]> = ownTotal !== undefined ? [truth.keys, actor.uid!] : [truth.keys];
      const [row] = await sp.unsafe<{ changed: number; own: number | null }[]>(
        `select count(*) filter (where not (${ROW_KEY} = any($1::text[])))::int as changed, ${ownExpr} as own from ${rel.name} r`,
        params as never,
      );
      return { count: res.count, changed: row!.changed, own: row!.own };
    });
  const cellOf = (v: { count: number; changed: number; own: number | null }): Cell => {
    const cell = classifyRows({ rows: v.changed, rowsOwn: v.own ?? undefined, total: truth.total, ownTotal });
    return v.count !== v.changed ? { ...cell, note: `the command reported ${v.count} rows, ${v.changed} new row versions were found` } : cell;
  };
  // A no-op write (`set c = c`): it still needs the grants, passes USING and WITH CHECK, fires triggers.
  const r = await run(`${c} = ${c}`);
  const reading = r.ok ? ({ ok: true, rows: r.value.changed } as const) : ({ ok: false, outcome: outcomeOfError(r.err) } as const);
  const cell = r.ok ? cellOf(r.value) : cellOfFailure(reading.ok ? { kind: 'error', note: 'unexpected' } : reading.outcome);
  if (reading.ok && reading.rows === truth.total) return cell; // every row already: a blind write cannot do more
  if (reading.ok && truth.samePolicies.get(actor.role)?.update !== false) return cell; // the same policies: the same rows
  const b = await firstBlind(blindAssignments(rel, truth, actor), run);
  if (!b) return cell;
  const why = preferBlind(reading, b.changed);
  return why ? { ...cellOf(b), note: why } : cell;
}

/**
 * A view's rows have no ctid: count what `set c = c` changes, then what it
 * changes when limited to the actor's rows; both equal to the actor's row
 * count means exactly its own rows. A blind write (no column read) is counted
 * too, as for tables.
 */
async function probeUpdateThroughView(tx: TransactionSql, rel: RelationModel, actor: ProbeActor, truth: Truth, c: string, ownTotal: number | undefined): Promise<Cell> {
  const all = await attempt(tx, async (sp) => (await sp.unsafe(`update ${rel.name} set ${c} = ${c}`)).count);
  let cell: Cell;
  if (all.ok) {
    let rowsOwn: number | undefined;
    if (ownTotal !== undefined) {
      const own = await attempt(tx, async (sp) => (await sp.unsafe(`update ${rel.name} set ${c} = ${c} where ${ownerPredicate(rel.ownerColumn!, 1)}`, [actor.uid!])).count);
      if (own.ok) rowsOwn = own.value;
    }
    cell = classifyRows({ rows: all.value, rowsOwn, total: truth.total, ownTotal });
    if (cell.access === 'subset' && rowsOwn === undefined) cell = { ...cell, note: 'through a view: how many rows changed is known, whose is not' };
    // (A view has no policies of its own to compare: its base tables' apply, so the blind write always runs.)
    if (all.value === truth.total) return cell;
  } else {
    cell = cellOfFailure(outcomeOfError(all.err));
  }
  const b = await firstBlind(blindAssignments(rel, truth, actor), (assignment) => attempt(tx, async (sp) => (await sp.unsafe(`update ${rel.name} set ${assignment}`)).count));
  if (b === null) return cell;
  const why = preferBlind(all.ok ? { ok: true, rows: all.value } : { ok: false, outcome: outcomeOfError(all.err) }, b);
  if (!why) return cell;
  const blind = classifyRows({ rows: b, total: truth.total, ownTotal });
  return { ...blind, note: blind.access === 'subset' ? `${why}; through a view: whose rows is not known` : why };
}

async function probeDelete(tx: TransactionSql, rel: RelationModel, truth: Truth, actor: ProbeActor): Promise<Cell> {
  if (!rel.writable) return unprobedWrite(rel, truth, actor, 'DELETE');
  const ownTotal = ownTotalOf(truth, rel, actor);
  const run = (replica: boolean) =>
    attempt(tx, async (sp) => {
      if (replica) {
        // session_replication_role = replica skips the foreign-key triggers (it is superuser-only, so set before re-entering the actor).
        await asSessionUser(sp);
        await sp.unsafe('set local session_replication_role = replica');
        await reenterActor(sp, actor);
      }
      const res = await sp.unsafe(`delete from ${rel.name}`);
      await asSessionUser(sp);
      let ownLeft: number | undefined;
      if (ownTotal !== undefined) {
        const [row] = await sp.unsafe<{ n: number }[]>(`select count(*)::int as n from ${rel.name} where ${ownerPredicate(rel.ownerColumn!, 1)}`, [actor.uid!]);
        ownLeft = row!.n;
      }
      return { count: res.count, ownLeft };
    });
  let r = await run(false);
  let note: string | undefined;
  if (!r.ok) {
    const o = outcomeOfError(r.err);
    if (o.kind !== 'constraint') return cellOfFailure(o);
    // A foreign key blocked the delete after the policies chose the rows; count what they allowed with the checks off.
    note = `allowed by grants and policies, but a constraint blocks it (${o.note})`;
    r = await run(true);
    if (!r.ok) return cellOfFailure(outcomeOfError(r.err));
  }
  const ownDeleted = ownTotal !== undefined && r.value.ownLeft !== undefined ? ownTotal - r.value.ownLeft : undefined;
  const cell = classifyRows({ rows: r.value.count, rowsOwn: ownDeleted, total: truth.total, ownTotal });
  if (note) return { ...cell, note };
  const reading = rel.rls && r.value.count > 0 ? await readingDeleteNote(tx, rel, truth, actor, r.value.count) : undefined;
  return reading ? { ...cell, note: reading } : cell;
}

/**
 * `delete from t` reads no column, so (as for UPDATE) the SELECT policies and
 * the SELECT grant do not apply to it: the cell counts it. A DELETE that does
 * read one (any filter, or PostgREST's Prefer: return=representation) is held
 * to them; when that deletes fewer rows, say so, since "DELETE policy true,
 * SELECT policy false" is often believed to delete nothing.
 */
async function readingDeleteNote(tx: TransactionSql, rel: RelationModel, truth: Truth, actor: ProbeActor, blindRows: number): Promise<string | undefined> {
  const readable = truth.readable.get(actor.role) ?? new Set<string>();
  const col = rel.columns.find((c) => readable.has(c.name));
  const filtered = 'a DELETE that reads a column (a filter, or Prefer: return=representation)';
  if (!col) return `${filtered} is denied without SELECT; one without a filter deletes ${blindRows}`;
  if (truth.samePolicies.get(actor.role)?.delete !== false) return undefined; // the same policies: the same rows
  const c = quoteIdent(col.name);
  const r = await attempt(tx, async (sp) => (await sp.unsafe(`delete from ${rel.name} where ${c} is null or ${c} is not null`)).count);
  if (!r.ok) return undefined;
  return r.value < blindRows ? `${filtered} deletes ${r.value}: the SELECT policies apply to it; one without a filter deletes ${blindRows}` : undefined;
}
