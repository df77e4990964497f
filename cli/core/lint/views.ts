/**
 * What a view really reads. A view runs with its owner's privileges unless it
 * is `security_invoker` (PG15+); a materialized view always stores what its
 * owner could read at refresh time. Following views through views gives the
 * base relations behind an exposed view.
 */
import type { CatalogModel, Relation } from '../catalog/model.js';
import { bypassesRls, relationsByName } from './facts.js';

export function isInvokerView(rel: Relation): boolean {
  const v = rel.options['security_invoker']?.toLowerCase();
  return rel.kind === 'view' && (v === 'true' || v === 'on' || v === '1' || v === 'yes');
}

/**
 * The relations behind `view`: the views `through` accepts are followed into what
 * they read, the others (and base relations) are kept when `keep` says so.
 */
function relationsBehind(model: CatalogModel, view: Relation, through: (r: Relation) => boolean, keep: (r: Relation) => boolean): Relation[] {
  const byName = relationsByName(model);
  const out = new Map<string, Relation>();
  const seen = new Set<string>([view.qualified]);
  const stack = [...view.dependsOn];
  while (stack.length) {
    const q = stack.pop()!;
    if (seen.has(q)) continue;
    seen.add(q);
    const r = byName.get(q);
    if (!r) continue;
    if (through(r)) stack.push(...r.dependsOn);
    else if (keep(r)) out.set(q, r);
  }
  return [...out.values()];
}

/** Base relations a view reads, through nested views (not through materialized views, which store rows). */
export function baseRelations(model: CatalogModel, view: Relation): Relation[] {
  return relationsBehind(model, view, (r) => r.kind === 'view', () => true);
}

/** Whether `owner` reading `table` skips its policies: table owner without FORCE, superuser or BYPASSRLS. */
export function ownerSkipsRls(model: CatalogModel, owner: string, table: Relation): boolean {
  if (bypassesRls(model, owner)) return true;
  return table.owner === owner && !table.forceRls;
}

/**
 * The views that run as their owner (and the materialized views) a security_invoker
 * view reads, through nested invoker views: the invoker view runs as the caller, but
 * each of these then reads as its owner, or serves rows stored with no RLS.
 */
export function ownerRunViewsUnder(model: CatalogModel, view: Relation): Relation[] {
  return relationsBehind(model, view, (r) => r.kind === 'view' && isInvokerView(r), (r) => r.kind === 'view' || r.kind === 'materialized');
}
