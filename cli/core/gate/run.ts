/**
 * `rowguard gate`: every check on a throwaway database, each step reported even
 * when an earlier one failed (a step that needs the migrated database is
 * reported as skipped, with the reason, when the migration failed).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Config } from '../config.js';
import { createThrowawayDatabase, describeUrl, type ThrowawayDatabase } from '../db.js';
import { RowguardError } from '../errors.js';
import { STEP_TITLES, type GateReport, type StepId, type StepReport } from './types.js';

export interface GateOptions {
  config: Config;
  cwd: string;
  serverUrl: string;
  /** git ref of what is deployed: migrations are proven to apply on top of it. */
  base: string | null;
  /** URL of a deployed database whose history the files are checked against. */
  against: string | null;
  env: Readonly<Record<string, string | undefined>>;
  onStep?: (event: { id: StepId; phase: 'start' } | { id: StepId; phase: 'end'; report: StepReport }) => void;
  /** Extra steps (drift, lint, tests) are supplied by their modules. */
  steps?: Partial<Record<StepId, StepRunner>>;
  jobs?: number;
}

export interface GateContext {
  readonly options: GateOptions;
  /** The throwaway database with sql/ applied (null when migrate failed). */
  database: ThrowawayDatabase | null;
  /** Why steps that need the database cannot run. */
  databaseUnavailable: string | null;
}

export type StepOutcome = Omit<StepReport, 'id' | 'title' | 'durationMs'>;
export type StepRunner = (ctx: GateContext) => Promise<StepOutcome>;

const ORDER: StepId[] = ['files', 'migrate', 'drift', 'lint', 'tests', 'codegen'];
const NEEDS_DATABASE: ReadonlySet<StepId> = new Set(['drift', 'lint', 'tests', 'codegen']);

export function errorLine(err: unknown): string {
  if (err instanceof RowguardError) {
    const where = err.location ? `${err.location.file}:${err.location.line}:${err.location.column}: ` : '';
    const state = err.pg?.sqlstate ? ` [${err.pg.sqlstate}]` : '';
    return `${where}${err.message}${state}`;
  }
  return (err as Error)?.message ?? String(err);
}

export async function runGate(opts: GateOptions): Promise<GateReport> {
  const t0 = performance.now();
  const runners: Record<StepId, StepRunner | undefined> = {
    files: filesStep,
    migrate: migrateStep,
    codegen: codegenStep,
    drift: undefined,
    lint: undefined,
    tests: undefined,
    ...opts.steps,
  };
  const ctx: GateContext = { options: opts, database: null, databaseUnavailable: null };
  const steps: StepReport[] = [];
  try {
    for (const id of ORDER) {
      opts.onStep?.({ id, phase: 'start' });
      const s0 = performance.now();
      let outcome: StepOutcome;
      const runner = runners[id];
      if (!runner) {
        outcome = { status: 'skipped', summary: 'not available in this build', details: [] };
      } else if (NEEDS_DATABASE.has(id) && !ctx.database) {
        outcome = { status: 'skipped', summary: `needs the migrated database: ${ctx.databaseUnavailable ?? 'not built'}`, details: [] };
      } else {
        try {
          outcome = await runner(ctx);
        } catch (err) {
          // A step that cannot finish is a failed step, reported like the others.
          if (err instanceof RowguardError && err.exitCode === 3) throw err;
          outcome = { status: 'failed', summary: errorLine(err), details: err instanceof RowguardError && err.hint ? [`hint: ${err.hint}`] : [] };
        }
      }
      const report: StepReport = { id, title: STEP_TITLES[id], durationMs: Math.round(performance.now() - s0), ...outcome };
      steps.push(report);
      opts.onStep?.({ id, phase: 'end', report });
    }
  } finally {
    await ctx.database?.drop().catch(() => undefined);
  }
  return {
    ok: steps.every((s) => s.status === 'passed'),
    durationMs: Math.round(performance.now() - t0),
    database: ctx.database ? describeUrl(ctx.database.url) : describeUrl(opts.serverUrl),
    base: opts.base,
    // host:port/database only: the report goes to stdout, --summary-file ($GITHUB_STEP_SUMMARY, PR comments) and JUnit.
    against: opts.against ? describeUrl(opts.against) : null,
    steps,
  };
}

/** 1. names, order, duplicates; with --against, checksums against a deployed history. */
async function filesStep(ctx: GateContext): Promise<StepOutcome> {
  const { config, cwd, against } = ctx.options;
  const { readMigrations } = await import('../migrate/files.js');
  const shown = relative(cwd, config.dirs.sql) || config.dirs.sql;
  // A gate over no migrations proves nothing: every later step would pass on an empty database.
  if (!existsSync(config.dirs.sql)) {
    return { status: 'failed', summary: `${shown}/ does not exist`, details: [`hint: check "sql" in ${config.file ? relative(cwd, config.file) : 'rowguard.config.json'}, or run the gate from the project's folder (or with --config)`] };
  }
  const files = readMigrations(config.dirs.sql, cwd);
  if (files.length === 0) return { status: 'failed', summary: `no migration files in ${shown}/`, details: ['hint: migrations are named <version>_<name>.sql (rowguard migrate new <name>)'] };
  if (!against) return { status: 'passed', summary: `${files.length} migration files, well named and ordered`, details: [], data: { files: files.length } };
  const { inspect } = await import('../migrate/engine.js');
  const { plan } = await inspect({ url: against, dir: config.dirs.sql, displayRoot: cwd, lockTimeout: config.migrations.lockTimeout, statementTimeout: config.migrations.statementTimeout });
  if (plan.problems.length) {
    return {
      status: 'failed',
      summary: `${plan.problems.length} problem${plan.problems.length > 1 ? 's' : ''} against the deployed history of ${describeUrl(against)}`,
      details: plan.problems.map((p) => p.message),
      data: { problems: plan.problems.map((p) => p.toJSON()) },
    };
  }
  return {
    status: 'passed',
    summary: `${files.length} files; applied ones match ${describeUrl(against)}, ${plan.pending.length} pending`,
    details: plan.pending.map((f) => `pending: ${f.displayPath}`),
    data: { files: files.length, pending: plan.pending.map((f) => f.version) },
  };
}

/**
 * 2. migrate up from zero (or from --base's migrations, then the new ones). When
 * the --base path fails, the step fails, but a database built from zero still
 * serves the later steps so they report too.
 */
async function migrateStep(ctx: GateContext): Promise<StepOutcome> {
  const { config, cwd, serverUrl, base } = ctx.options;
  const { up } = await import('../migrate/engine.js');
  const engine = { displayRoot: cwd, lockTimeout: config.migrations.lockTimeout, statementTimeout: config.migrations.statementTimeout };

  const fromZero = async (): Promise<{ db: ThrowawayDatabase; applied: Array<{ file: string; durationMs: number; version: string }> }> => {
    const db = await createThrowawayDatabase(serverUrl, { prefix: 'rowguard_gate', purpose: "the gate's throwaway database" });
    try {
      const r = await up({ ...engine, url: db.url, dir: config.dirs.sql });
      return { db, applied: r.applied };
    } catch (err) {
      await db.drop().catch(() => undefined);
      throw err;
    }
  };

  if (!base) {
    try {
      const { db, applied } = await fromZero();
      ctx.database = db;
      return {
        status: 'passed',
        summary: `${applied.length} migrations apply from zero`,
        details: applied.map((m) => `applied ${m.file} (${m.durationMs} ms)`),
        data: { applied: applied.map((m) => m.version) },
      };
    } catch (err) {
      ctx.databaseUnavailable = 'migrate up failed';
      throw err;
    }
  }

  const { exportFolderAtRef } = await import('../git.js');
  const db = await createThrowawayDatabase(serverUrl, { prefix: 'rowguard_gate', purpose: "the gate's throwaway database" });
  const tmp = mkdtempSync(join(tmpdir(), 'rowguard-base-'));
  try {
    const names = await exportFolderAtRef(config.root, base, config.dirs.sql, tmp);
    const b = await up({ ...engine, url: db.url, dir: tmp, displayRoot: tmp });
    const r = await up({ ...engine, url: db.url, dir: config.dirs.sql });
    ctx.database = db;
    return {
      status: 'passed',
      summary: `${r.applied.length} ${r.applied.length === 1 ? 'new migration applies' : 'new migrations apply'} on top of ${base} (${b.applied.length} from the base's ${names.length} files)`,
      details: r.applied.map((m) => `applied ${m.file} (${m.durationMs} ms)`),
      data: { base: b.applied.map((m) => m.version), applied: r.applied.map((m) => m.version) },
    };
  } catch (err) {
    await db.drop().catch(() => undefined);
    const failure = errorLine(err);
    const hint = err instanceof RowguardError && err.hint ? [`hint: ${err.hint}`] : [];
    try {
      const z = await fromZero();
      ctx.database = z.db;
      return { status: 'failed', summary: `on top of ${base}: ${failure}`, details: [...hint, `a database built from zero (${z.applied.length} migrations) serves the steps below`] };
    } catch (zeroErr) {
      ctx.databaseUnavailable = 'migrate up failed';
      return { status: 'failed', summary: `on top of ${base}: ${failure}`, details: [...hint, `from zero too: ${errorLine(zeroErr)}`] };
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** 6. generated/db.ts equals what codegen produces for the migrated schema. */
async function codegenStep(ctx: GateContext): Promise<StepOutcome> {
  const { config, cwd } = ctx.options;
  const { generateTypes } = await import('../codegen.js');
  const { existsSync, readFileSync } = await import('node:fs');
  const { relative } = await import('node:path');
  const file = join(config.dirs.generated, 'db.ts');
  const { text, tables } = await generateTypes(ctx.database!.url, config.api.schemas ?? ['public']);
  const current = existsSync(file) ? readFileSync(file, 'utf8').replace(/\r\n/g, '\n') : null;
  const shown = relative(cwd, file);
  if (current === text) return { status: 'passed', summary: `${shown} matches the schema (${tables} tables)`, details: [] };
  return {
    status: 'failed',
    summary: current === null ? `${shown} is missing` : `${shown} is stale`,
    details: ['hint: run rowguard codegen and commit the result'],
  };
}
