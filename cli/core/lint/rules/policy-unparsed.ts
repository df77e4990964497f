/** A policy expression the parser could not read was skipped by every expression rule: say so instead of passing silently. */
import type { RuleMeta } from '../types.js';

export const rule: RuleMeta = {
  id: 'policy-unparsed',
  level: 'warn',
  category: 'lint',
  description: 'policy expression the Postgres 18 parser could not read, so the expression rules skipped it',
  docs: 'Expressions come from pg_get_expr and normally parse; a server newer than the bundled grammar can print syntax it does not know. The finding makes the gap visible rather than reporting the policy as clean.',
  fix: 'report it to rowguard with the policy text; meanwhile review the policy by hand',
};
