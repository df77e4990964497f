/** An audit table is only evidence if its rows cannot be changed or removed. */
import type { CatalogRule, RawFinding } from '../types.js';
import type { Relation } from '../../catalog/model.js';
import { bypassesRls, isTable, isUserRelation, listWords, policiesFor } from '../facts.js';

const AUDIT_NAME = /(^|_)audit(s|_log|_logs|_trail|_entries|_events)?($|_)/i;

function isAuditTable(rel: Relation): boolean {
  return AUDIT_NAME.test(rel.name) || /\baudit (log|trail|table)\b/i.test(rel.comment ?? '');
}

/** An enabled BEFORE trigger on `event` (TRUNCATE triggers are statement-level only). */
function guarded(rel: Relation, event: string): boolean {
  return rel.triggers.some((t) => t.enabled && t.timing === 'BEFORE' && t.events.includes(event));
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'audit-table-mutable',
  level: 'error',
  category: 'security',
  description: 'audit table that some role can UPDATE, DELETE or TRUNCATE with no trigger rejecting it',
  docs: 'Audit rows must be append-only: the owner (and any role granted UPDATE/DELETE/TRUNCATE) can otherwise rewrite history, and TRUNCATE ignores RLS. A BEFORE UPDATE/DELETE trigger and a BEFORE TRUNCATE trigger that raise keep INSERT working. A table is an audit table by name (audit, audit_log, …_audit_entries) or by its comment; trigger bodies are not read. A role subject to row-level security with no permissive UPDATE (DELETE) policy changes no row that way and is not named for it.',
  fix: 'add BEFORE UPDATE OR DELETE (for each row) and BEFORE TRUNCATE (for each statement) triggers that raise an exception',
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || rel.isPartition || !isUserRelation(ctx, rel) || !isAuditTable(rel)) continue;
      // role → the unguarded events it holds. The ACL read includes the owner's
      // implicit rights (acldefault when relacl is null).
      const byRole = new Map<string, string[]>();
      for (const event of ['UPDATE', 'DELETE', 'TRUNCATE']) {
        if (guarded(rel, event)) continue;
        for (const g of rel.grants) {
          if (!g.privileges.includes(event)) continue;
          // Row-level security with no permissive policy for the command lets a role subject to it change no row
          // (TRUNCATE ignores RLS; the owner skips it unless FORCE; superusers and BYPASSRLS roles always do).
          const subjectToRls = rel.rls && !bypassesRls(ctx.model, g.grantee) && (g.grantee !== rel.owner || rel.forceRls);
          if (event !== 'TRUNCATE' && subjectToRls && policiesFor(ctx.model, rel, g.grantee, event as 'UPDATE' | 'DELETE', true).length === 0) continue;
          byRole.set(g.grantee, [...(byRole.get(g.grantee) ?? []), event]);
        }
      }
      if (byRole.size === 0) continue;
      const open = [...byRole].map(([role, events]) => `${role} can ${listWords(events)}`);
      out.push({
        object: rel.qualified,
        objectKind: 'table',
        message: `audit table ${rel.qualified} can be rewritten: ${open.join('; ')} and no trigger rejects it`,
      });
    }
    return out;
  },
};
