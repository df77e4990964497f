/**
 * The access matrix and the coverage report as `rowguard test` extra checks
 * (cli/core/testing/runner.ts ExtraCheck): both run after the SQL files,
 * from the runner's template database (sql/ + the assertion library).
 */
import { join } from 'node:path';
import type { Config } from '../config.js';
import { closeSql, connect } from '../db.js';
import type { CheckContext, CheckResult, ExtraCheck } from '../testing/runner.js';
import { readActorsFile } from './actors.js';
import { checkMatrix, matrixPaths } from './check.js';
import { describeChanges } from './compare.js';
import { coverageRoles, runCoveragePass, type CoverageReport } from './coverage.js';
import { readExposedSchemas } from '../catalog/exposed.js';

/** Fails the run when a computed cell differs from test/access-matrix.json (added only when that file exists). */
export function matrixCheck(): ExtraCheck {
  return {
    name: 'access matrix',
    async run(ctx: CheckContext): Promise<CheckResult> {
      const r = await checkMatrix(ctx.config, ctx.serverUrl, { template: ctx.template });
      if (!r.hasExpected) {
        return { name: 'access matrix', ok: true, summary: `no ${r.file}: run rowguard matrix --update to start checking it`, details: [], data: { file: r.file, changes: [] } };
      }
      const n = r.changes.length;
      const { untrackedFunctions } = await import('../report/matrix.js');
      return {
        name: 'access matrix',
        ok: n === 0,
        summary: n === 0 ? `matches ${r.file}` : `${n} cell${n === 1 ? '' : 's'} changed from ${r.file} (rowguard matrix --update if intended)`,
        details: [...describeChanges(r.changes), ...(r.functionsUntracked && r.matrix.functions.length ? [untrackedFunctions(r.matrix.functions.length, r.file)] : [])],
        data: { file: r.file, changes: r.changes },
      };
    },
  };
}

export interface CoverageCheckOptions {
  /** The test files, as the runner ran them (absolute path + displayed path). */
  files: Array<{ path: string; display: string }>;
  cwd: string;
  jobs?: number;
}

/** Informational: never fails the run; lists the cells and policies no test exercised. */
export function coverageCheck(opts: CoverageCheckOptions): ExtraCheck {
  return {
    name: 'coverage',
    async run(ctx: CheckContext): Promise<CheckResult> {
      const { runTestFile } = await import('../testing/run-file.js');
      const { LIBRARY_SCHEMA } = await import('../testing/library.js');
      const { sessionSettings } = await import('../testing/runner.js');
      // The files run where they run in the test pass: after the setup files, when there are any.
      const { schemas, roles } = await scope(ctx.config, ctx.files.url);
      const settings = sessionSettings(ctx.config);
      const report = await runCoveragePass({
        serverUrl: ctx.serverUrl,
        template: ctx.files.name,
        templateUrl: ctx.files.url,
        schemas,
        roles,
        files: opts.files.length,
        kept: new Set(opts.files.flatMap((f, i) => (ctx.kept.has(f.path) ? [i] : []))),
        ...(opts.jobs ? { jobs: opts.jobs } : {}),
        runFile: async (url, i, commit) => (await runTestFile({ url, file: opts.files[i]!, cwd: opts.cwd, settings, librarySchema: LIBRARY_SCHEMA, commit })).messages,
      });
      return { name: 'coverage', ok: true, summary: coverageSummary(report), details: coverageDetails(report), data: report };
    },
  };
}

async function scope(config: Config, url: string): Promise<{ schemas: string[]; roles: string[] }> {
  const sql = connect(url);
  try {
    const schemas = await readExposedSchemas(sql, config.api.schemas);
    const declared = readActorsFile(join(matrixPaths(config).fixturesDir, 'actors.json'), 'actors.json') ?? [];
    const extra = declared.filter((a) => a.kind === 'role' && a.role).map((a) => a.role!);
    return { schemas, roles: await coverageRoles(sql, config.api, extra) };
  } finally {
    await closeSql(sql);
  }
}

export function coverageSummary(r: CoverageReport): string {
  const c = r.summary.cells;
  const p = r.summary.policies;
  return `${c.exercised}/${c.observable} observable (table, command, role) cells exercised, ${c.total - c.observable} not observable; ${p.exercised}/${p.total} policies exercised`;
}

export function coverageDetails(r: CoverageReport): string[] {
  const lines: string[] = [];
  for (const c of r.cells) if (c.status === 'missed') lines.push(`not exercised: ${c.role}: ${c.command} ${c.table}`);
  for (const p of r.policies) if (!p.exercised) lines.push(`policy not exercised: ${p.policy} on ${p.table} (${p.command} to ${p.roles.join(', ')})`);
  const grants = r.cells.filter((c) => c.status === 'no grant').length;
  const blind = r.cells.filter((c) => c.status === 'not observable').length;
  if (grants || blind) lines.push(`not observable: ${grants + blind} cells on tables without RLS or for roles that bypass it (reads plan no policy; a 42501 leaves no trace)`);
  return lines;
}
