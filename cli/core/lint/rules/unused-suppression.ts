/** A suppression that matched nothing (or lacks a reason, or names no rule) hides nothing and misleads. */
import type { RuleMeta } from '../types.js';

export const rule: RuleMeta = {
  id: 'unused-suppression',
  level: 'warn',
  category: 'lint',
  description: 'rowguard-lint-ignore comment or lint.ignore entry that matched no finding, names an unknown rule, or gives no reason',
  docs: 'Suppressions are reported when they stop matching (the problem was fixed, or the object renamed) so they do not silently cover a future finding. Every suppression needs a reason after the colon.',
  fix: 'delete the suppression, or fix its rule id / object / reason',
};
