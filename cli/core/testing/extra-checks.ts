/**
 * The checks `rowguard test` runs after the SQL files, against the template
 * database (sql/ applied). This is the one place that decides which exist;
 * each is an ExtraCheck (runner.ts), so a new one is one entry here.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import type { ExtraCheck } from './runner.js';

export interface ExtraCheckOptions {
  /** `rowguard test --coverage` (reported by the checks that support it). */
  coverage?: boolean;
  /** The run's paths, --filter, cwd and --jobs: the coverage pass re-runs the same files. */
  paths?: string[];
  filter?: string;
  cwd?: string;
  jobs?: number;
}

export async function extraChecksFor(config: Config, opts: ExtraCheckOptions = {}): Promise<ExtraCheck[]> {
  const checks: ExtraCheck[] = [];
  const { matrixPaths } = await import('../matrix/check.js');
  const { matrixCheck, coverageCheck } = await import('../matrix/test-checks.js');
  // The access matrix: compared on a whole-suite run (no paths, no --filter: a focused run stays
  // focused) once the project has committed one (rowguard matrix --update).
  const wholeSuite = !(opts.paths && opts.paths.length) && !opts.filter;
  if (wholeSuite && existsSync(matrixPaths(config).file)) checks.push(matrixCheck());
  if (opts.coverage) {
    const { discoverTestFiles } = await import('./discover.js');
    const cwd = opts.cwd ?? config.root;
    const files = discoverTestFiles({ cwd, displayRoot: config.root, paths: opts.paths ?? [], defaultDir: config.dirs.test, filter: opts.filter });
    checks.push(coverageCheck({ files, cwd, ...(opts.jobs ? { jobs: opts.jobs } : {}) }));
  }
  return checks;
}
