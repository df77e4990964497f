/** The JSON document `rowguard --json gate` prints, as the gate tests read it. */
export interface Step {
  id: string;
  status: 'passed' | 'failed' | 'skipped';
  summary: string;
  details: string[];
}
export interface Report {
  ok: boolean;
  steps: Step[];
}
