/** The gate's data: one report per step, every step reported even after a failure. */

export type StepId = 'files' | 'migrate' | 'drift' | 'lint' | 'tests' | 'codegen';
export type StepStatus = 'passed' | 'failed' | 'skipped';

export interface StepReport {
  id: StepId;
  title: string;
  status: StepStatus;
  durationMs: number;
  /** One line: what was checked and the outcome. */
  summary: string;
  /** Lines of detail (the failures, each with file:line:col where there is one). */
  details: string[];
  /** Machine-readable payload of the step (diff plan, findings, test results…). */
  data?: unknown;
  /** Markdown sections for the PR summary (policy changes, findings, changed matrix cells). */
  sections?: Array<{ title: string; markdown: string }>;
  /** JUnit test cases the step contributes (e.g. one per SQL test file); `error`: the case could not run (a file that errored), `failure`: it ran and failed. */
  junit?: Array<{ name: string; classname: string; timeMs: number; failure?: string; error?: string; skipped?: boolean }>;
  /** SARIF 2.1.0 results the step contributes (lint findings). */
  sarifRuns?: unknown[];
}

export interface GateReport {
  ok: boolean;
  durationMs: number;
  /** host:port/database of the throwaway database (no credentials). */
  database: string;
  base: string | null;
  /** host:port/database of --against (no credentials). */
  against: string | null;
  steps: StepReport[];
}

export const STEP_TITLES: Record<StepId, string> = {
  files: 'migration files',
  migrate: 'migrate up',
  drift: 'drift: sql/ equals policies/',
  lint: 'lint',
  tests: 'SQL tests and access matrix',
  codegen: 'generated/ is up to date',
};
