/** Authorising by a pattern on the caller's email: anyone who can register a matching address gets in. */
import type { CatalogRule, RawFinding } from '../types.js';
import { policyObject } from '../facts.js';

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'policy-email-pattern',
  level: 'error',
  category: 'security',
  description: "policy pattern-matches the caller's email (LIKE/ILIKE/regex/right()/ends_with on the email claim, auth.email() or auth.users.email), uses it as the pattern, or compares it with a fixed address",
  docs: "An email pattern ('%@company.com') trusts whoever can sign up with such an address; with unconfirmed sign-ups or a sub-addressing/ lookalike domain that is anyone. A fixed address (`auth.email() = 'admin@company.com'`) trusts whoever registers it first, confirmed or not (auth.users.email is set at sign-up). Only the caller's email counts: a LIKE on a row's column, a path built from auth.uid(), or the caller's email compared with a row's column (an invitation addressed to them) does not fire. The caller's email used as the pattern (`email ilike auth.email()`, meant as a case-blind equality) is a pattern all the same: `_`, valid in an address, matches any character (and `.` in a regular expression, which matches anywhere in the text), so a user signed up as `_ob@example.com` reads bob@example.com's rows.",
  fix: 'keep the allowed users (or their organisation) in a table, or in app_metadata set by the service role, and check membership',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      for (const p of rel.policies) {
        const a = ctx.analysis(p);
        if (!a.using?.emailPatterns.length && !a.check?.emailPatterns.length) continue; // the usual case: nothing to merge
        const patterns = [...(a.using?.emailPatterns ?? []), ...(a.check?.emailPatterns ?? [])];
        out.push({
          object: policyObject(p),
          objectKind: 'policy',
          message: `policy ${p.name} on ${p.table} authorises by ${[...new Set(patterns)].join(', ')}: anyone who can sign up with a matching address passes`,
          ...(patterns.every((x) => x.endsWith(' as the pattern')) ? { fix: 'compare the addresses for equality: lower(email) = lower(auth.email())' } : {}),
        });
      }
    }
    return out;
  },
};
