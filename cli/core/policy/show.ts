/**
 * `policy show`: the effective access of a table per API role and command, as
 * Postgres combines it (docs, "Row Security Policies" / "Policies Applied by
 * Command Type"): the USING of every applicable PERMISSIVE policy OR'ed, AND the
 * USING of every applicable RESTRICTIVE one; the same for WITH CHECK on writes,
 * where a policy without WITH CHECK uses its USING. INSERT checks only WITH
 * CHECK, SELECT and DELETE only USING, UPDATE both. Pure.
 */
import { PUBLIC, commandCovers, policyAppliesTo, privilegeClosure, type CatalogModel, type Policy, type PolicyCommand } from '../catalog/model.js';
import { RowguardError } from '../errors.js';

type Cmd = Exclude<PolicyCommand, 'ALL'>;
const COMMANDS: Cmd[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];

export type Verdict = 'no-privilege' | 'all-rows' | 'no-rows' | 'filtered';

export interface CommandAccess {
  command: Cmd;
  granted: boolean;
  /** Set when the privilege is held only on some columns (column-level grants). */
  columns: string[] | null;
  verdict: Verdict;
  /** Why, in words. */
  reason: string;
  permissive: string[];
  restrictive: string[];
  /** Combined condition on rows read (SELECT, UPDATE, DELETE), when filtered. */
  using: string | null;
  /** Combined condition on rows written (INSERT, UPDATE), when filtered. */
  check: string | null;
}

export interface RoleAccess {
  role: string;
  bypassesRls: boolean;
  commands: CommandAccess[];
}

export interface TableAccessReport {
  table: string;
  kind: string;
  owner: string;
  rls: boolean;
  forceRls: boolean;
  partitionOf: string | null;
  partitions: string[];
  policies: Policy[];
  roles: RoleAccess[];
  notes: string[];
}

export function findTable(model: CatalogModel, name: string) {
  const rel = model.relations.find((r) => r.qualified === name) ?? model.relations.find((r) => r.schema === 'public' && r.name === name);
  if (!rel) throw new RowguardError('usage', `no table ${name} in ${model.database}`, { hint: 'name it schema.table (a bare name means public.<name>)' });
  return rel;
}

function or(exprs: string[]): string {
  return exprs.length === 1 ? exprs[0]! : exprs.map((e) => `(${e})`).join(' OR ');
}

function and(parts: string[]): string {
  return parts.length === 1 ? parts[0]! : parts.map((e) => `(${e})`).join(' AND ');
}

export function tableAccess(model: CatalogModel, name: string, apiRoles: readonly string[]): TableAccessReport {
  const rel = findTable(model, name);
  const roles = apiRoles.filter((r) => model.roles.some((x) => x.name === r));
  const notes: string[] = [];
  const partitions = model.relations.filter((r) => r.partitionOf === rel.qualified).map((r) => r.qualified);
  const isTable = rel.kind === 'table' || rel.kind === 'partitioned';
  if (isTable && !rel.rls) notes.push(`RLS is disabled: every role with a privilege sees and writes every row; policies (${rel.policies.length}) are ignored`);
  if (isTable && rel.rls && !rel.forceRls) notes.push(`RLS is not forced: the owner (${rel.owner}) bypasses the policies`);
  if (rel.partitionOf) notes.push(`a partition of ${rel.partitionOf}: queried directly, its own policies apply; queried through the parent, the parent's do`);
  if (partitions.length) notes.push(`partitioned: these policies apply through ${rel.qualified}; each partition (${partitions.join(', ')}) has its own for direct queries`);
  const bypass = model.roles.filter((r) => r.bypassRls || r.superuser).map((r) => r.name);
  const reportRoles: RoleAccess[] = roles.map((role) => {
    const r = model.roles.find((x) => x.name === role)!;
    const bypassesRls = r.bypassRls || r.superuser;
    const commands = COMMANDS.map((command): CommandAccess => {
      const tableWide = (rel.apiAccess[role] ?? []).includes(command);
      // Column privileges (SELECT, INSERT, UPDATE) count when held directly, through an inherited membership or by PUBLIC.
      const closure = privilegeClosure(model, role);
      const columns = tableWide
        ? null
        : [...new Set((rel.columnGrants ?? []).filter((g) => (g.grantee === PUBLIC || closure.has(g.grantee)) && g.privileges.includes(command)).map((g) => g.column))];
      const granted = tableWide || (columns !== null && columns.length > 0);
      const onColumns = columns && columns.length ? ` (${command} only on columns ${columns.join(', ')})` : '';
      const applicable = rel.policies.filter((p) => commandCovers(p.command, command) && policyAppliesTo(model, p, role));
      const perm = applicable.filter((p) => p.permissive);
      const restr = applicable.filter((p) => !p.permissive);
      const base = { command, granted, columns: columns && columns.length ? columns : null, permissive: perm.map((p) => p.name), restrictive: restr.map((p) => p.name), using: null, check: null };
      if (!granted) return { ...base, verdict: 'no-privilege', reason: `no ${command} privilege (42501 before any policy runs)` };
      if (!isTable || !rel.rls) return { ...base, verdict: 'all-rows', reason: (isTable ? 'every row: RLS is disabled' : `every row: a ${rel.kind} has no RLS of its own`) + onColumns };
      if (bypassesRls) return { ...base, verdict: 'all-rows', reason: `every row: ${role} has ${r.superuser ? 'SUPERUSER' : 'BYPASSRLS'}${onColumns}` };
      if (perm.length === 0) return { ...base, verdict: 'no-rows', reason: 'no rows: no permissive policy applies (default deny)' + onColumns };
      const reads = command !== 'INSERT';
      const writes = command === 'INSERT' || command === 'UPDATE';
      const using = reads ? and([or(perm.map((p) => p.using ?? 'false')), ...restr.map((p) => p.using ?? 'false')]) : null;
      const check = writes ? and([or(perm.map((p) => p.check ?? p.using ?? 'false')), ...restr.map((p) => p.check ?? p.using ?? 'false')]) : null;
      return { ...base, verdict: 'filtered', reason: 'rows allowed by the policies' + onColumns, using, check };
    });
    return { role, bypassesRls, commands };
  });
  const unused = rel.policies.filter((p) => !p.roles.includes(PUBLIC) && p.roles.every((x) => bypass.includes(x)));
  for (const p of unused) notes.push(`policy ${p.name} applies only to roles that bypass RLS (${p.roles.join(', ')}): it has no effect`);
  return {
    table: rel.qualified,
    kind: rel.kind,
    owner: rel.owner,
    rls: rel.rls,
    forceRls: rel.forceRls,
    partitionOf: rel.partitionOf,
    partitions,
    policies: [...rel.policies],
    roles: reportRoles,
    notes,
  };
}

/** One line per table and role, for `policy show` without a table. */
export function allTablesAccess(model: CatalogModel, apiRoles: readonly string[], schemas?: readonly string[]): TableAccessReport[] {
  return model.relations
    .filter((r) => r.schema !== 'rowguard' && (r.kind === 'table' || r.kind === 'partitioned' || r.kind === 'view' || r.kind === 'materialized'))
    .filter((r) => !schemas || schemas.includes(r.schema))
    .map((r) => tableAccess(model, r.qualified, apiRoles));
}
