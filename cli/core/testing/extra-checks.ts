/**
 * The checks `rowguard test` runs after the SQL files, against the template
 * database (sql/ applied). This is the one place that decides which exist;
 * each is an ExtraCheck (runner.ts), so a new one is one entry here.
 */
import type { Config } from '../config.js';
import type { ExtraCheck } from './runner.js';

export interface ExtraCheckOptions {
  /** `rowguard test --coverage` (reported by the checks that support it). */
  coverage?: boolean;
}

export async function extraChecksFor(_config: Config, _opts: ExtraCheckOptions = {}): Promise<ExtraCheck[]> {
  return [];
}
