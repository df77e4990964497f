/**
 * `policy diff`: resolve both sides to a security state (one catalog read each),
 * plan, and hand the plan to the caller. The desired state (`migrations`,
 * `policies`) is built in a shadow database on the resolved server; a URL side is
 * only read, never written.
 */
import { apiRolesOf, type Config } from '../config.js';
import { describeUrl, validateUrl, withSql } from '../db.js';
import { RowguardError } from '../errors.js';
import { introspect } from '../catalog/introspect.js';
import type { CatalogModel } from '../catalog/model.js';
import type { ShadowDatabase, ShadowTimings } from '../shadow.js';
import type { PolicyFile } from './files.js';
import { planPolicyChanges, type PolicyPlan } from './plan.js';
import { expressionsEqual } from './expr-equal.js';
import { antitoneReads } from './antitone-reads.js';
import { managedGrantees, securityStateOf, type SecurityState } from './state.js';

export type Source = { kind: 'url'; url: string; label?: string } | { kind: 'migrations' } | { kind: 'policies' };

/** `migrations`, `policies`, or a postgres:// URL. */
export function parseSource(value: string, flag: string): Source {
  if (value === 'migrations' || value === 'policies') return { kind: value };
  // Anything with a scheme is judged as a URL, whose errors never echo it (it may hold a password).
  if (value.includes(':')) {
    return { kind: 'url', url: validateUrl(value, flag) };
  }
  throw new RowguardError('usage', `${flag} must be a postgres:// URL, "migrations" or "policies" (got "${value}")`);
}

export function sourceLabel(s: Source): string {
  if (s.kind === 'migrations') return 'sql/ (migrations)';
  if (s.kind === 'policies') return 'sql/ + policies/';
  return s.label ?? describeUrl(s.url);
}

export interface SideInfo {
  label: string;
  kind: Source['kind'];
  database: string;
  serverVersion: number;
}

export interface DiffResult {
  plan: PolicyPlan;
  from: SideInfo;
  to: SideInfo;
  fromState: SecurityState;
  toState: SecurityState;
  fromModel: CatalogModel;
  toModel: CatalogModel;
  warnings: string[];
  /** Relations with RLS, policies or API grants that policies/ has no file for (empty when no side is policies/). */
  undeclared: string[];
  /** The policies/ files read for a policies side (none otherwise): where each step comes from. */
  files: readonly PolicyFile[];
  /**
   * buildMs: the shadow database (create, migrate, overlay); readShadowMs: reading
   * it; readUrlMs: reading the URL sides, which runs while the shadow is built;
   * planMs: state extraction and planning.
   */
  timings: { buildMs: number; readShadowMs: number; readUrlMs: number; planMs: number; totalMs: number; shadow?: ShadowTimings };
}

export interface DiffOptions {
  /** Server for the shadow database (the resolved --db / DATABASE_URL / embedded). */
  serverUrl: string;
  config: Config;
  from: Source;
  to: Source;
  displayRoot?: string;
  onPhase?: (phase: string) => void;
  /** Read effective privileges too (for `policy show`). */
  effectivePrivileges?: boolean;
  /** A database with sql/ already applied: the shadow copies it instead of migrating (the gate's). */
  template?: string;
}

/**
 * One catalog read. The diff compares ACLs, not effective privileges, so it skips
 * has_table_privilege (`effectivePrivileges`), which `policy show` needs.
 */
export async function readModel(url: string, apiRoles: readonly string[], effectivePrivileges = false, lockTimeout?: string): Promise<CatalogModel> {
  // Three connections: the catalog queries run in parallel on one exported snapshot.
  return withSql(url, (sql) => introspect(sql, { apiRoles, scope: 'policies', effectivePrivileges, lockTimeout }), { max: 3, fetchTypes: false });
}

/** Resolve every side to a catalog model, building at most one shadow database. */
export async function modelsOf(
  opts: DiffOptions,
  sides: readonly Source[],
): Promise<{ models: CatalogModel[]; buildMs: number; readShadowMs: number; readUrlMs: number; shadow?: ShadowTimings; declared?: ReadonlySet<string>; files: readonly PolicyFile[] }> {
  const apiRoles = apiRolesOf(opts.config);
  const needs = new Set(sides.map((s) => s.kind));
  let buildMs = 0;
  let readShadowMs = 0;
  let shadowTimings: ShadowTimings | undefined;
  const urlModels = new Map<string, CatalogModel>();
  let migrationsModel: CatalogModel | undefined;
  let policiesModel: CatalogModel | undefined;
  /** The relations policies/ has a file for (when the policies side is built). */
  let declared: Set<string> | undefined;
  let policyFiles: readonly PolicyFile[] = [];

  const readUrls = async () => {
    const t = performance.now();
    const urls = [...new Set(sides.flatMap((s) => (s.kind === 'url' ? [s.url] : [])))];
    // A database the user names may be in use: its read waits for a lock no longer than a migration would.
    const models = await Promise.all(urls.map((u) => readModel(u, apiRoles, opts.effectivePrivileges, opts.config.migrations.lockTimeout)));
    urls.forEach((u, i) => urlModels.set(u, models[i]!));
    return performance.now() - t;
  };

  const buildDesired = async () => {
    if (!needs.has('migrations') && !needs.has('policies')) return;
    const t = performance.now();
    // Loaded only here: comparing two URLs needs neither the shadow build nor the migration engine.
    const { buildShadow, overlayPolicies } = await import('../shadow.js');
    const { readPolicyFiles } = await import('./files.js');
    let shadow: ShadowDatabase | undefined;
    // Both sides wanted: validate policies/ before spending time on the migrations.
    const both = needs.has('migrations') && needs.has('policies');
    const files = both ? await readPolicyFiles(opts.config.dirs.policies, opts.displayRoot ?? opts.config.root, managedGrantees(apiRoles)) : [];
    try {
      // With both sides wanted, one shadow serves both: read it after sql/, then overlay policies/ and read again.
      shadow = await buildShadow({ serverUrl: opts.serverUrl, config: opts.config, overlayPolicies: !needs.has('migrations'), displayRoot: opts.displayRoot, onPhase: opts.onPhase, template: opts.template });
      if (needs.has('migrations')) {
        const t1 = performance.now();
        migrationsModel = await readModel(shadow.url, apiRoles, opts.effectivePrivileges);
        readShadowMs += performance.now() - t1;
        if (needs.has('policies')) {
          opts.onPhase?.('policies');
          const t2 = performance.now();
          await overlayPolicies(shadow.url, files, apiRoles);
          shadow.timings.policiesMs = performance.now() - t2;
        }
      }
      if (needs.has('policies')) {
        const t1 = performance.now();
        policiesModel = await readModel(shadow.url, apiRoles, opts.effectivePrivileges);
        readShadowMs += performance.now() - t1;
      }
      shadowTimings = shadow.timings;
      if (needs.has('policies')) {
        policyFiles = both ? files : shadow.policyFiles;
        declared = new Set(policyFiles.map((f) => f.qualified));
      }
    } finally {
      await shadow?.drop().catch(() => undefined);
    }
    buildMs = performance.now() - t - readShadowMs;
  };

  // The live side is read while the shadow is being built.
  const [readUrlMs] = await Promise.all([readUrls(), buildDesired()]);
  const models = sides.map((s) => (s.kind === 'url' ? urlModels.get(s.url)! : s.kind === 'migrations' ? migrationsModel! : policiesModel!));
  return { models, buildMs, readShadowMs, readUrlMs, shadow: shadowTimings, declared, files: policyFiles };
}

/**
 * Relations whose access sql/ alone defines, though policies/ is meant to hold
 * it: RLS on, a policy, or a privilege of an API role or PUBLIC, and no file.
 * The policies side keeps them exactly as the migrations left them, so they can
 * never show as drift; a table added in a migration without its file would
 * otherwise pass unnoticed. A partition counts on its own: its RLS flags, grants
 * and policies are its own (none is inherited from the partitioned table, whose
 * file does not touch them), and they decide what a query naming the partition sees.
 */
export function undeclaredRelations(state: SecurityState, declared: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const t of state.tables.values()) {
    if (declared.has(t.qualified)) continue;
    if (t.rls || t.policies.length > 0 || t.grants.size > 0 || t.columnGrants.size > 0) out.push(t.qualified);
  }
  return out.sort();
}

export async function diffPolicies(opts: DiffOptions): Promise<DiffResult> {
  const t0 = performance.now();
  const apiRoles = apiRolesOf(opts.config);
  const { models, buildMs, readShadowMs, readUrlMs, shadow, declared, files } = await modelsOf(opts, [opts.from, opts.to]);
  const [fromModel, toModel] = models as [CatalogModel, CatalogModel];
  const t1 = performance.now();
  const fromState = securityStateOf(fromModel, apiRoles);
  const toState = securityStateOf(toModel, apiRoles);
  const plan = planPolicyChanges(fromState, toState, await expressionsEqual(), await antitoneReads());
  const planMs = performance.now() - t1;
  const warnings: string[] = [];
  const major = (v: number) => Math.floor(v / 10000);
  if (major(fromModel.serverVersion) !== major(toModel.serverVersion)) {
    warnings.push(
      `comparing PostgreSQL ${major(fromModel.serverVersion)} with ${major(toModel.serverVersion)}: pg_get_expr output can differ between major versions, so equal expressions may show as changed`,
    );
  }
  const undeclared = declared ? undeclaredRelations(opts.to.kind === 'policies' ? toState : fromState, declared) : [];
  if (undeclared.length > 0) {
    const list = undeclared.length > 5 ? `${undeclared.slice(0, 5).join(', ')} and ${undeclared.length - 5} more` : undeclared.join(', ');
    warnings.push(
      `not declared in policies/: ${list} — sql/ alone defines ${undeclared.length === 1 ? 'its' : 'their'} RLS and grants, so no drift can show for ${undeclared.length === 1 ? 'it' : 'them'} (rowguard policy pull --table <table> writes the file)`,
    );
  }
  const side = (s: Source, m: CatalogModel): SideInfo => ({ label: sourceLabel(s), kind: s.kind, database: m.database, serverVersion: m.serverVersion });
  return {
    plan,
    from: side(opts.from, fromModel),
    to: side(opts.to, toModel),
    fromState,
    toState,
    fromModel,
    toModel,
    warnings,
    undeclared,
    files,
    timings: { buildMs, readShadowMs, readUrlMs, planMs, totalMs: performance.now() - t0, ...(shadow ? { shadow } : {}) },
  };
}
