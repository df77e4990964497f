/**
 * What the random policy-plan tests (soundness.test.ts, hazard-random.test.ts) share: one
 * table's security state as data, the clauses Postgres accepts for each command, and the SQL
 * that sets a state. What each test draws and probes stays in the test.
 */
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
