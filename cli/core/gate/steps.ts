/**
 * The gate steps that come from the other modules (drift, lint, tests). Each
 * returns data; the gate only arranges it.
 */
import type { StepId } from './types.js';
import type { StepRunner } from './run.js';

export function gateSteps(): Partial<Record<StepId, StepRunner>> {
  return {};
}
