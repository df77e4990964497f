/**
 * GoTrue writes the address a user signs up with into auth.users before anyone has
 * confirmed it, and never confirms it with confirmations off or with a provider that
 * does not verify it. A sign-up trigger that grants by that address — an organisation
 * picked by its domain, an admin role for a fixed address or a pattern — hands the
 * grant to whoever types it: policy-email-pattern's hole, one table removed.
 */
import type { CatalogRule } from '../types.js';
import { listWords, plpgsqlTriggerFunction, policyObject, relationsByName } from '../facts.js';
import { policiesDecidingOn } from './user-metadata-copied.js';

/** A trigger on auth.users that fires only once the address is confirmed (`update of email_confirmed_at`, or a WHEN). */
const CONFIRMATION = /^(email_confirmed_at|confirmed_at)$/;

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'user-email-trusted',
  level: 'error',
  category: 'security',
  description: "policy decides on a column that a trigger on auth.users sets by the user's email (its domain, a pattern or a fixed address) without asking whether it is confirmed",
  docs: "A sign-up trigger that puts users into an organisation by the domain of their address (`select id into v_org from orgs where domain = split_part(new.email, '@', 2)`), or makes them admins when the address matches (`if new.email like '%@acme.com' then insert into user_roles … 'admin'`, `if new.email = 'founder@acme.com'`, or after `if new.email not like … then return new; end if;`), trusts an address no one has confirmed yet: GoTrue writes auth.users at sign-up, before the confirmation mail is even sent, and with confirmations off (mailer_autoconfirm, common in development and in many apps) or an OAuth provider that does not verify addresses, never. Whoever signs up as someone@acme.com then holds the grant. Reported when a policy looks the caller up in the table the trigger writes and decides on that column (in its expressions or in the helpers it calls), as user-metadata-copied does for user_metadata. The rule reads the PL/pgSQL trigger functions of enabled INSERT or UPDATE triggers on auth.users: values taken from part of the address (split_part, substring, right, regexp_*…) or rows picked by it, and anything written under an IF or CASE that tests it with LIKE, ILIKE, SIMILAR TO, a regular expression, or = / IN against constants; variables carry it along. A test that also reads email_confirmed_at (or confirmed_at), a trigger that fires on UPDATE OF email_confirmed_at or has a WHEN condition, and what follows `if new.email_confirmed_at is null then return new; end if;` are taken as confirmed. Copying the whole address (a profile's email) and comparing it with a row's column (an invitation addressed to it) are not reported: no one else can hold that address once it is confirmed.",
  fix: 'grant by domain or address only once it is confirmed: in an AFTER UPDATE OF email_confirmed_at trigger (when old.email_confirmed_at is null and new.email_confirmed_at is not null), or by testing new.email_confirmed_at is not null; or let an invitation or an admin grant it',
  check(ctx) {
    const users = relationsByName(ctx.model).get('auth.users');
    if (!users) return [];
    // `schema.table.column` → the triggers that write it by the user's address; `schema.table` → those that insert its rows so.
    const decided = new Map<string, string[]>();
    const rows = new Map<string, string[]>();
    const note = (map: Map<string, string[]>, key: string, by: string) => {
      if (!map.get(key)?.includes(by)) map.set(key, [...(map.get(key) ?? []), by]);
    };
    for (const t of users.triggers) {
      if (!t.enabled || t.conditional || t.columns.some((c) => CONFIRMATION.test(c)) || !t.events.some((e) => e === 'INSERT' || e === 'UPDATE')) continue;
      const fn = plpgsqlTriggerFunction(ctx.model, t);
      if (!fn) continue;
      const by = `trigger ${t.name} (${fn.schema}.${fn.name}())`;
      const { columns, rows: made } = ctx.functionAnalysis(fn).emailDecisions;
      for (const d of columns) note(decided, `${d.table}.${d.column}`, by);
      for (const table of made) note(rows, table, `the email in ${by}`);
    }
    return policiesDecidingOn(ctx, decided, 'set by the email in', undefined, rows).map(({ policy: p, holes }) => ({
      object: policyObject(p),
      objectKind: 'policy',
      message: `policy ${p.name} on ${p.table} decides on ${listWords(holes)}, chosen by the user's email address before anyone confirmed it: whoever signs up with a matching address gets what the policy grants`,
    }));
  },
};
