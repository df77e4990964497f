/**
 * What the random policy-plan tests (soundness.test.ts, hazard-random.test.ts) share: one
 * table's security state as data, the clauses Postgres accepts for each command, and the SQL
 * that sets a state, the edits both draw first, and probing what each actor can do. What else
 * each test draws and probes stays in the test.
 */
import type { Sql, TransactionSql } from '../../cli/core/db.js';

export const COMMANDS = ['select', 'insert', 'update', 'delete', 'all'] as const;

export interface PolicyState {
  name: string;
  cmd: (typeof COMMANDS)[number];
  permissive: boolean;
  roles: string[];
  using: string | null;
  check: string | null;
}

export interface TableState {
  rls: boolean;
  force: boolean;
  grants: Record<string, string[]>;
  /** [grantee, privilege, columns] */
  columnGrants?: Array<[string, 'SELECT' | 'UPDATE', string[]]>;
  policies: PolicyState[];
}

export type Rand = (n: number) => number;
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[r(xs.length)]!;

/** Clauses Postgres accepts for the command: INSERT has only WITH CHECK, SELECT/DELETE only USING. */
export function validClauses(p: PolicyState): PolicyState {
  let { using, check } = p;
  if (p.cmd === 'insert') {
    check ??= using ?? 'true';
    using = null;
  }
  if (p.cmd === 'select' || p.cmd === 'delete') {
    using ??= check ?? 'true';
    check = null;
  }
  if (using === null && check === null) using = 'true';
  return { ...p, using, check };
}

/** A policy of `cmd`, `roles` and clauses drawn from `exprs` (USING left out one time in `noUsingOneIn`). */
export function randomPolicy(r: Rand, name: string, roleSets: readonly string[][], exprs: readonly string[], noUsingOneIn: number): PolicyState {
  return validClauses({
    name,
    cmd: pick(r, COMMANDS),
    permissive: r(3) > 0,
    roles: pick(r, roleSets),
    using: r(noUsingOneIn) === 0 ? null : pick(r, exprs),
    check: r(3) === 0 ? pick(r, exprs) : null,
  });
}

const roleSql = (roles: readonly string[]) => roles.map((x) => (x === 'PUBLIC' ? 'public' : `"${x}"`)).join(', ');

/** The statements that give `table` the state `s` (its policies created as they are, none dropped). */
export function stateSql(table: string, s: TableState): string {
  return [
    `alter table ${table} ${s.rls ? 'enable' : 'disable'} row level security;`,
    `alter table ${table} ${s.force ? '' : 'no '}force row level security;`,
    ...Object.entries(s.grants)
      .filter(([, p]) => p.length)
      .map(([g, p]) => `grant ${p.join(', ')} on ${table} to ${g};`),
    ...(s.columnGrants ?? []).map(([g, priv, cols]) => `grant ${priv} (${cols.join(', ')}) on ${table} to ${g};`),
    ...s.policies.map(
      (p) =>
        `create policy "${p.name}" on ${table} as ${p.permissive ? 'permissive' : 'restrictive'} for ${p.cmd} to ${roleSql(p.roles)}` +
        `${p.using ? ` using (${p.using})` : ''}${p.check ? ` with check (${p.check})` : ''};`,
    ),
  ].join('\n');
}

/** The edits both tests draw first (k 0–2): RLS or FORCE switched, or one privilege of one grantee flipped. */
export function flipEdit(r: Rand, t: TableState, k: 0 | 1 | 2, grantees: readonly string[], privileges: readonly string[]): void {
  if (k === 0) t.rls = !t.rls;
  else if (k === 1) t.force = !t.force;
  else {
    const g = pick(r, grantees);
    const priv = pick(r, privileges);
    t.grants[g] = t.grants[g]!.includes(priv) ? t.grants[g]!.filter((x) => x !== priv) : [...t.grants[g]!, priv];
  }
}

/**
 * What `probe` (a function of a table returning text[], created by the test) answers for each
 * actor on `table`, by label: `prefix` run first, then the actor's `setup` (a role switch, the
 * caller's id), each actor in its own transaction, rolled back.
 */
export async function capabilitiesOf(
  db: Sql,
  table: string,
  probe: string,
  actors: ReadonlyArray<{ label: string; setup: (tx: TransactionSql) => Promise<unknown> }>,
  prefix: readonly string[] = [],
): Promise<Map<string, Set<string>>> {
  const rollback = new Error('rollback');
  const out = new Map<string, Set<string>>();
  for (const { label, setup } of actors) {
    await db
      .begin(async (tx) => {
        if (prefix.length) await tx.unsafe(prefix.join('\n')).simple();
        await setup(tx);
        const [row] = await tx.unsafe(`select ${probe}($1::regclass) as caps`, [table]);
        out.set(label, new Set(row!['caps'] as string[]));
        throw rollback;
      })
      .catch((e: unknown) => {
        if (e !== rollback) throw e;
      });
  }
  return out;
}
