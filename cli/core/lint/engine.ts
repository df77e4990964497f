/**
 * The lint engine. `runLint` is pure: a catalog model (or none), the migration
 * files (each marked judged or not) and the settings in, findings out. `lint`
 * does the I/O around it: pick the database (as it is, or a shadow built from
 * sql/), introspect it once, decide which migration files are new, run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { CatalogModel, FunctionInfo, Policy } from '../catalog/model.js';
import { exposedSchemas } from '../catalog/model.js';
import { callerChosenSql, type CallerChosenSql } from './dynamic-sql.js';
import type { Config } from '../config.js';
import type { Sql } from '../db.js';
import { RowguardError } from '../errors.js';
import { analyseFunction, analysePolicy, functionCallerFacts, parameterList, type AnalysisCache, type CallerFact, type FunctionAnalysis, type PolicyAnalysis, type ReadableBody } from './expr.js';
import { plpgsqlCallerGate, readPlpgsql, readTrigger } from './plpgsql.js';
import { sqlCallerGate, sqlCallerSet } from './caller-gate.js';
import { readMigrationStatements, splitSearchPath, type MigrationSource } from './migrations.js';
import { ALL_RULE_META, POLICY_UNPARSED, RULES, UNUSED_SUPPRESSION } from './rules/index.js';
import { applySuppressions, collectSuppressions } from './suppress.js';
import { catalogBodyStatements, inlinedExpression, volatileCall } from './sql-inline.js';
import { LEVEL_RANK, type CatalogLintContext, type Finding, type Level, type MigrationLintContext, type RawFinding, type Rule } from './types.js';

export type ParseSync = (sql: string) => unknown;

/**
 * Names of the catalog's functions whose calls are volatile (MigrationLintContext.catalogVolatileFunctions):
 * every VOLATILE one but a LANGUAGE sql one that Postgres inlines to an expression without a volatile
 * call — that body may call another sql function, so the set grows until nothing more joins it.
 */
function volatileCatalogFunctions(functions: readonly FunctionInfo[], parseSync: ParseSync): Set<string> {
  const volatile = functions.filter((f) => f.kind === 'function' && f.volatility === 'volatile');
  const out = new Set(volatile.filter((f) => f.language !== 'sql').map((f) => f.name));
  const inlined: Array<[string, unknown]> = [];
  for (const f of volatile.filter((f) => f.language === 'sql')) {
    const expr = f.securityDefiner || f.config.length > 0 || /^(setof|table)\b/i.test(f.returns) || f.body === null ? null : inlinedExpression(catalogBodyStatements(f.body, parseSync));
    if (expr === null) out.add(f.name);
    else inlined.push([f.name, expr]);
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, expr] of inlined) {
      if (!out.has(name) && volatileCall(expr, out) !== null) {
        out.add(name);
        grew = true;
      }
    }
  }
  return out;
}

export interface LintSettings {
  /** api.schemas from the config (null: pgrst.db_schemas, the authenticator's else the database's, else public). */
  schemas: readonly string[] | null;
  anonRole: string;
  authenticatedRole: string;
  /** migrations.lockTimeout: what the engine sets for every file ('0' = none). */
  lockTimeout: string;
  ignore: Config['lint']['ignore'];
  configFile: string | null;
}

export interface LintInput {
  model: CatalogModel | null;
  /** Whether the model is the database the migrations will run on (its row counts mean something). */
  modelIsTarget?: boolean;
  migrations: readonly MigrationSource[];
  settings: LintSettings;
  parseSync: ParseSync;
  /** PL/pgSQL's grammar (libpg-query's parsePlPgSQL): without it, PL/pgSQL functions are not read. */
  parsePlpgsqlSync?: ParseSync;
  /** server_version_num the migrations will run on, when known without a model (else the model's). */
  serverVersion?: number;
  /**
   * The new migrations (`isNew`) are the ones the model's database has not run: every relation
   * it has existed before them (with modelIsTarget).
   */
  newFilesArePending?: boolean;
}

export type SuppressedFinding = Finding & { suppressedBy: { origin: string; reason: string; source: string } };

export interface LintResult {
  findings: Finding[];
  suppressed: SuppressedFinding[];
  /** Counts per level of the kept findings. */
  counts: Record<Level, number>;
  exposedSchemas: string[];
  judgedFiles: string[];
  catalog: boolean;
  /** What was read, so "no findings" can be told apart from "nothing looked at". */
  inspected: { relations: number; policies: number; functions: number; statements: number };
}

/** '0', '0s', '0ms' … mean "no timeout" to Postgres. */
function timeoutOrNull(v: string): string | null {
  return /^\s*0+\s*(ms|s|min|h|d)?\s*$/i.test(v) ? null : v;
}

function complete(rule: Rule, raw: RawFinding[]): Finding[] {
  return raw.map((r) => ({ rule: rule.id, level: rule.level, category: rule.category, object: r.object, objectKind: r.objectKind, message: r.message, fix: r.fix ?? rule.fix, ...(r.location ? { location: r.location } : {}) }));
}

/**
 * The schema unqualified names go to in a session with this search_path: its first entry that is
 * not "$user" (a schema named after the role rarely exists: Postgres skips it then), else public.
 */
function firstSchema(searchPath: string | null | undefined, schemas?: ReadonlySet<string>): string {
  for (const part of (searchPath ?? '').split(',')) {
    const name = part.trim().replace(/^"(.*)"$/, '$1');
    // A schema the database does not have is skipped, as Postgres skips it.
    if (name && name !== '$user' && (!schemas || schemas.has(name))) return name;
  }
  return 'public';
}

export function runLint(input: LintInput): LintResult {
  const { model, settings, parseSync } = input;
  // The database's relations (indexes too: one namespace per schema) and schemas (pg_catalog too, which introspection
  // leaves out: a search_path entry naming none is skipped), for names in the files to resolve as Postgres resolves them.
  const statements = readMigrationStatements(
    input.migrations,
    parseSync,
    model
      ? {
          relations: new Set(model.relations.flatMap((r) => [r.qualified, ...r.indexes.map((i) => `${r.schema}.${i.name}`)])),
          pending: !!(input.modelIsTarget && input.newFilesArePending),
          schemas: new Set(['pg_catalog', ...model.schemas.map((x) => x.name)]),
          searchPath: splitSearchPath(model.searchPath ?? '"$user", public'),
          role: model.role ?? null,
        }
      : undefined,
  );
  const judged = statements.filter((s) => s.judged);
  const findings: Finding[] = [];

  const exposed = model ? exposedSchemas(model, settings.schemas) : [];
  if (model) {
    const cache = new Map<Policy, PolicyAnalysis>();
    const byText: AnalysisCache = new Map();
    const fnFacts = new Map<string, CallerFact[]>();
    const fnIds = new Map<FunctionInfo, number>();
    const fnAnalyses = new Map<FunctionInfo, FunctionAnalysis>();
    const bodies = new Map<FunctionInfo, ReadableBody | null>();
    const chosen = new Map<FunctionInfo, CallerChosenSql>();
    const { parsePlpgsqlSync } = input;
    const ctx: CatalogLintContext = {
      model,
      exposed: new Set(exposed),
      apiRoles: [settings.anonRole, settings.authenticatedRole].filter((r) => model.apiRoles.includes(r)),
      anonRole: settings.anonRole,
      parseSync,
      authenticatedRole: settings.authenticatedRole,
      analysis(p) {
        let a = cache.get(p);
        if (!a) cache.set(p, (a = analysePolicy(p, parseSync, byText)));
        return a;
      },
      functionFacts(fn, callerArgs = []) {
        if (!fnIds.has(fn)) fnIds.set(fn, fnIds.size);
        const key = `${fnIds.get(fn)}:${[...callerArgs].sort().join(',')}`;
        let f = fnFacts.get(key);
        if (!f) {
          const body = ctx.readableBody(fn);
          fnFacts.set(key, (f = body === null ? [] : functionCallerFacts(body.sql, firstSchemaOf(fn.config), parseSync, { args: fn.args, positions: callerArgs, locals: body.locals })));
        }
        return f;
      },
      functionAnalysis(fn) {
        let f = fnAnalyses.get(fn);
        if (!f) {
          const schema = firstSchemaOf(fn.config);
          const trigger = fn.isTrigger && fn.plpgsqlSource && parsePlpgsqlSync ? readTrigger(fn.plpgsqlSource, schema, parsePlpgsqlSync, parseSync) : undefined;
          const readable = ctx.readableBody(fn);
          // The gate a helper on the caller's row is: a PL/pgSQL SELECT INTO and RETURN, or a body that is one SELECT (LANGUAGE sql, one RETURN).
          const intoGate = !fn.isTrigger && fn.plpgsqlSource && parsePlpgsqlSync ? plpgsqlCallerGate({ name: fn.name, args: fn.args, returns: fn.returns, source: fn.plpgsqlSource }, schema, parsePlpgsqlSync, parseSync) : null;
          const gate = intoGate ?? (!fn.isTrigger && readable?.single ? sqlCallerGate({ name: fn.name, args: parameterList(fn.args), returns: fn.returns }, readable.sql, readable.locals, schema, parseSync) : null);
          // A set-returning LANGUAGE sql helper yielding a column of the caller's rows (`select org_id from members where user_id = auth.uid()`).
          const set = !fn.isTrigger && fn.body !== null && readable?.single ? sqlCallerSet({ name: fn.name, args: parameterList(fn.args), returns: fn.returns }, readable.sql, readable.locals, schema, parseSync) : null;
          fnAnalyses.set(fn, (f = analyseFunction(fn, schema, parseSync, readable, trigger, gate, set)));
        }
        return f;
      },
      callerChosenSql(fn) {
        let c = chosen.get(fn);
        if (!c) chosen.set(fn, (c = callerChosenSql(fn, parseSync, parsePlpgsqlSync)));
        return c;
      },
      readableBody(fn) {
        if (!bodies.has(fn)) {
          let b: ReadableBody | null = null;
          if (fn.body !== null) b = { sql: fn.body, single: true, locals: [] };
          else if (fn.plpgsqlSource && parsePlpgsqlSync && !fn.isTrigger) b = readPlpgsql({ args: fn.args, returns: fn.returns, source: fn.plpgsqlSource }, parsePlpgsqlSync, parseSync);
          bodies.set(fn, b);
        }
        return bodies.get(fn) ?? null;
      },
    };
    for (const rule of RULES) if (rule.kind === 'catalog') findings.push(...complete(rule, rule.check(ctx)));
    for (const [p, a] of cache) {
      if (a.errors.length === 0) continue;
      findings.push({
        rule: POLICY_UNPARSED.id,
        level: POLICY_UNPARSED.level,
        category: POLICY_UNPARSED.category,
        object: `${p.name} on ${p.table}`,
        objectKind: 'policy',
        message: `policy ${p.name} on ${p.table} could not be parsed (${a.errors[0]}): the expression rules did not judge it`,
        fix: POLICY_UNPARSED.fix,
      });
    }
  }
  const rowEstimates = new Map<string, number>(input.modelIsTarget && model ? model.relations.map((r) => [r.qualified, r.estimatedRows]) : []);
  // Only migration statements ask which catalog functions are volatile: a catalog-only lint parses no body.
  const catalogVolatileFunctions = judged.length > 0 ? volatileCatalogFunctions(model?.functions ?? [], parseSync) : new Set<string>();
  const mctx: MigrationLintContext = { statements: judged, allStatements: statements, engineLockTimeout: timeoutOrNull(settings.lockTimeout), rowEstimates, serverVersion: input.serverVersion ?? model?.serverVersion ?? null, catalogVolatileFunctions, parseSync, anonRole: settings.anonRole };
  for (const rule of RULES) if (rule.kind === 'migration') findings.push(...complete(rule, rule.check(mctx)));

  // Point catalog findings at the statement that created their object (the last CREATE wins).
  const definedAt = new Map<string, { file: string; line: number; column: number }>();
  for (const s of statements) {
    if (!(s.type.startsWith('Create') || s.type === 'ViewStmt') || s.type === 'CreateTrigStmt') continue;
    for (const o of s.type === 'CreatePolicyStmt' ? s.objects.slice(0, 1) : s.objects) definedAt.set(o, { file: s.file, line: s.line, column: s.column });
  }
  for (const f of findings) {
    if (f.location) continue;
    const fnKey = f.objectKind === 'function' ? f.object.slice(0, f.object.indexOf('(') + 1) : null;
    const tableKey = f.objectKind === 'column' ? f.object.slice(0, f.object.lastIndexOf('.')) : null;
    const at = definedAt.get(f.object) ?? (fnKey ? definedAt.get(fnKey) : undefined) ?? (tableKey ? definedAt.get(tableKey) : undefined);
    if (at) f.definedAt = at;
  }

  const known = new Map(ALL_RULE_META.map((r) => [r.id, r]));
  const sups = collectSuppressions({
    model,
    statements,
    ignore: settings.ignore,
    configFile: settings.configFile,
    evaluated: (id, stmt, objects = []) => {
      const r = RULES.find((x) => x.id === id);
      if (!r) return true;
      if (r.kind === 'catalog') return model !== null;
      // migration-secret reads every file; the others only judged ones.
      if (r.id === 'migration-secret') return true;
      if (stmt) return stmt.judged;
      // A config entry or COMMENT ON for a migration rule: evaluated only when a judged file
      // touched its object (a gate without --base judges no file, a --base run only new ones).
      const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
      return judged.some((s) => objects.some((o) => o === '*' || s.objects.some((x) => related(o, x))));
    },
  });
  const { kept, suppressed } = applySuppressions(findings, sups);
  for (const s of sups) {
    const problem = !known.has(s.rule)
      ? `names no rule "${s.rule}" (see rowguard lint --list)`
      : s.reason === ''
        ? `has no reason: write "rowguard-lint-ignore ${s.rule}: <why>"`
        : s.evaluated && !s.used
          ? `matched no ${s.rule} finding${s.objects.length && s.source !== 'sql-comment' ? ` on ${s.objects[0]}` : ''}`
          : null;
    if (!problem) continue;
    kept.push({
      rule: UNUSED_SUPPRESSION.id,
      level: UNUSED_SUPPRESSION.level,
      category: UNUSED_SUPPRESSION.category,
      object: s.location ? s.location.file : (s.objects[0] ?? s.origin),
      objectKind: s.location ? 'file' : 'table',
      message: `suppression at ${s.origin} ${problem}`,
      fix: UNUSED_SUPPRESSION.fix,
      ...(s.location ? { location: s.location } : {}),
    });
  }
  kept.sort(compareFindings);
  const counts: Record<Level, number> = { error: 0, warn: 0, info: 0 };
  for (const f of kept) counts[f.level]++;
  return {
    findings: kept,
    suppressed,
    counts,
    exposedSchemas: exposed,
    judgedFiles: [...new Set(judged.map((s) => s.file))].concat(input.migrations.filter((m) => m.judged && !judged.some((s) => s.file === m.displayPath)).map((m) => m.displayPath)),
    catalog: model !== null,
    inspected: {
      relations: model?.relations.length ?? 0,
      policies: model?.relations.reduce((n, r) => n + r.policies.length, 0) ?? 0,
      functions: model?.functions.length ?? 0,
      statements: statements.length,
    },
  };
}

function compareFindings(a: Finding, b: Finding): number {
  return (
    LEVEL_RANK[b.level] - LEVEL_RANK[a.level] ||
    (a.location?.file ?? '').localeCompare(b.location?.file ?? '') ||
    (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
    a.rule.localeCompare(b.rule) ||
    a.object.localeCompare(b.object)
  );
}

/** Whether a finding at or above `threshold` remains (exit 1). */
export function failsAt(result: LintResult, threshold: Level): boolean {
  return result.findings.some((f) => LEVEL_RANK[f.level] >= LEVEL_RANK[threshold]);
}

// ---------------------------------------------------------------------------
// I/O: the database and the files.

export interface LintOptions {
  config: Config;
  /** URL of the database to lint (or, with shadow, of a server to build the shadow on). */
  url: string;
  /** Build a throwaway database from sql/ and lint that. */
  shadow: boolean;
  /** Judge migration files added or changed since this git revision. */
  since?: string;
  /** Judge every migration file. */
  all?: boolean;
  /** Skip the catalog (migration files only). */
  filesOnly?: boolean;
  /**
   * The database whose migration history tells which files are new (default:
   * `url`). The gate lints its throwaway database but judges the files that a
   * deployed database (`--against`) has not applied yet.
   */
  historyUrl?: string;
  cwd: string;
  onProgress?: (step: string) => void;
}

export interface LintRun extends LintResult {
  target: { mode: 'database' | 'shadow' | 'files'; database: string | null };
  /**
   * A repository file to pin catalog findings on when no migration created their
   * object (code scanning needs a file and a line for every result): the config
   * file, else the first migration.
   */
  anchorFile: string | null;
}

/**
 * Migration files changed (added or modified, committed or not) since `ref`, plus untracked ones,
 * as real paths. git runs at the top level with a top-relative pathspec: git reads pathspecs
 * relative to its cwd, so a sql/ in a subfolder (monorepo) run from that subfolder matched
 * nothing and every new migration went unjudged. Real paths on both sides: git prints the top
 * level with symlinks resolved (/tmp → /private/tmp on macOS) while the files are read through
 * the configured path.
 */
export function filesChangedSince(ref: string, dir: string): { changed: Set<string>; added: Set<string> } {
  if (!existsSync(dir)) return { changed: new Set(), added: new Set() };
  const real = realpathSync(resolve(dir));
  const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  let top: string;
  try {
    git(real, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    top = realpathSync(git(real, ['rev-parse', '--show-toplevel']).trim());
  } catch {
    throw new RowguardError('usage', `--since ${ref}: not a git revision here`, { hint: 'pass a branch, tag or commit, e.g. --since origin/main' });
  }
  const rel = relative(top, real).split('\\').join('/') || '.';
  // "A\tpath", "M\tpath", "R100\told\tnew": the last field is the file as it is now.
  const status = git(top, ['diff', '--name-status', '--diff-filter=AMR', ref, '--', rel])
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
  const untracked = git(top, ['ls-files', '--others', '--exclude-standard', '--', rel]).split('\n').filter(Boolean);
  const path = (p: string) => resolve(top, p);
  return {
    changed: new Set([...status.map((f) => path(f[f.length - 1]!)), ...untracked.map(path)]),
    // A renamed file is a new version to the engine, but what it creates may exist already.
    added: new Set([...status.filter((f) => f[0] === 'A').map((f) => path(f[f.length - 1]!)), ...untracked.map(path)]),
  };
}

export async function lint(opts: LintOptions): Promise<LintRun> {
  const { config } = opts;
  const { loadParser } = await import('../sql-text.js');
  const { readMigrations } = await import('../migrate/files.js');
  const { withSql, createThrowawayDatabase, databaseOf } = await import('../db.js');
  const parser = await loadParser();
  const files = readMigrations(config.dirs.sql, opts.cwd);
  const anchorFile = (config.file ? relative(opts.cwd, config.file) : null) || files[0]?.displayPath || null;
  const since = opts.since ? filesChangedSince(opts.since, config.dirs.sql) : null;

  const settings: LintSettings = {
    schemas: config.api.schemas,
    anonRole: config.api.anonRole,
    authenticatedRole: config.api.authenticatedRole,
    lockTimeout: config.migrations.lockTimeout,
    ignore: config.lint.ignore,
    configFile: config.file ? relative(opts.cwd, config.file) || config.file : null,
  };
  const apiRoles = [config.api.anonRole, config.api.authenticatedRole];

  // Judged: every file with --all (or files alone and no --since), else the ones changed since the
  // ref or not in the target's history. New: the files one `migrate up` applies together — the
  // target's pending ones, or the ones added since the ref; with --all each stands alone.
  const sources = (pending: Set<string> | null) =>
    files.map((f) => {
      const source = { displayPath: f.displayPath, sql: f.sql };
      if (opts.all) return { ...source, judged: true, isNew: false };
      if (since) {
        const real = realpathSync(resolve(f.path));
        return { ...source, judged: since.changed.has(real), isNew: since.added.has(real) };
      }
      return pending ? { ...source, judged: pending.has(f.version), isNew: pending.has(f.version) } : { ...source, judged: true, isNew: false };
    });

  if (opts.filesOnly) {
    const migrations = sources(null);
    return { ...runLint({ model: null, migrations, settings, parseSync: parser.parseSync, parsePlpgsqlSync: parser.parsePlPgSQLSync }), target: { mode: 'files', database: null }, anchorFile };
  }

  const { introspect } = await import('../catalog/introspect.js');
  const { readHistory } = await import('../migrate/engine.js');

  // Files not yet in the target's history are the new ones (all of them when it has none).
  const pendingIn = async (sql: Sql): Promise<Set<string> | null> => {
    if (opts.all || since) return null;
    const applied = new Set((await readHistory(sql)).filter((h) => h.status === 'applied').map((h) => h.version));
    return new Set(files.filter((f) => !applied.has(f.version)).map((f) => f.version));
  };
  const readPending = () => (opts.all || since ? Promise.resolve(null) : withSql(opts.historyUrl ?? opts.url, pendingIn));

  if (!opts.shadow) {
    opts.onProgress?.('reading the catalog');
    // Three connections: the catalog queries run in parallel on one exported snapshot.
    const { pending, model } = await withSql(
      opts.url,
      async (sql) => ({ pending: opts.historyUrl ? await readPending() : await pendingIn(sql), model: await introspect(sql, { apiRoles, scope: 'full', lockTimeout: settings.lockTimeout }) }),
      { max: 3, fetchTypes: false },
    );
    const migrations = sources(pending);
    return { ...runLint({ model, modelIsTarget: true, newFilesArePending: pending !== null && !opts.historyUrl, migrations, settings, parseSync: parser.parseSync, parsePlpgsqlSync: parser.parsePlPgSQLSync }), target: { mode: 'database', database: databaseOf(opts.url) }, anchorFile };
  }

  const pending = await readPending();
  opts.onProgress?.('building the shadow database');
  const shadow = await createThrowawayDatabase(opts.url, { prefix: 'rowguard_lint' });
  try {
    const { up } = await import('../migrate/engine.js');
    await up({ url: shadow.url, dir: config.dirs.sql, displayRoot: opts.cwd, lockTimeout: config.migrations.lockTimeout, statementTimeout: config.migrations.statementTimeout });
    opts.onProgress?.('reading the catalog');
    const model = await withSql(shadow.url, (sql) => introspect(sql, { apiRoles, scope: 'full' }), { max: 3, fetchTypes: false });
    const migrations = sources(pending);
    return { ...runLint({ model, migrations, settings, parseSync: parser.parseSync, parsePlpgsqlSync: parser.parsePlPgSQLSync }), target: { mode: 'shadow', database: null }, anchorFile };
  } finally {
    await shadow.drop().catch(() => undefined);
  }
}

/** The schema unqualified names in a function body resolve to first: its own search_path setting's first schema, else public. */
function firstSchemaOf(config: readonly string[]): string {
  return firstSchema(config.find((c) => c.startsWith('search_path='))?.slice('search_path='.length));
}
