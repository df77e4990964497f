/**
 * Suppressions: one finding of one rule on one object, always with a reason.
 * Three sources:
 *   - `-- rowguard-lint-ignore <rule>: <why>` just above a statement in a
 *     migration file: covers findings located in that statement, and catalog
 *     findings on the objects the statement creates or alters;
 *   - `COMMENT ON POLICY/TABLE/VIEW/COLUMN/FUNCTION … IS '… rowguard-lint-ignore
 *     <rule>: <why>'`: covers findings on that object (a table's comment also
 *     covers its columns);
 *   - `lint.ignore` in rowguard.config.json: `{rule, object, reason}`.
 * Suppressions that match nothing, name an unknown rule or give no reason are
 * reported (rule `unused-suppression`).
 */
import type { CatalogModel } from '../catalog/model.js';
import type { LintIgnore } from '../config.js';
import type { MigrationStatement } from './migrations.js';
import type { FileLocation, Finding } from './types.js';
import { policyObject } from './facts.js';

export interface Suppression {
  rule: string;
  reason: string;
  source: 'sql-comment' | 'comment-on' | 'config';
  /** Human description of where it is, e.g. `COMMENT ON POLICY p on public.t`. */
  origin: string;
  /** Objects it covers (exact names; a name ending in `(` covers every overload; `*` everything). */
  objects: string[];
  /** For SQL comments: the statement's lines (findings located there are covered). */
  span?: { file: string; fromLine: number; toLine: number };
  location?: FileLocation;
  /** Whether the rule it names was evaluated on its scope (else "unused" means nothing). */
  evaluated: boolean;
  used: boolean;
}

const IN_COMMENT = /rowguard-lint-ignore\s+([A-Za-z0-9_-]+)\s*(?::\s*([^\n;]*?))?\s*(?=$|\n|;|rowguard-lint-ignore)/g;

function fromText(text: string | null): Array<{ rule: string; reason: string }> {
  if (!text) return [];
  return [...text.matchAll(IN_COMMENT)].map((m) => ({ rule: m[1]!, reason: (m[2] ?? '').trim() }));
}

export function collectSuppressions(opts: {
  model: CatalogModel | null;
  statements: readonly MigrationStatement[];
  ignore: readonly LintIgnore[];
  configFile: string | null;
  /**
   * Rule id → whether it ran on this statement's file (migration rules) or at all (catalog
   * rules); for a suppression without a statement, whether it ran on a statement touching one
   * of its objects.
   */
  evaluated: (rule: string, stmt?: MigrationStatement, objects?: readonly string[]) => boolean;
}): Suppression[] {
  const out: Suppression[] = [];
  for (const s of opts.statements) {
    for (const c of s.suppressions) {
      out.push({
        rule: c.rule,
        reason: c.reason,
        source: 'sql-comment',
        origin: `${c.location.file}:${c.location.line}`,
        objects: s.objects,
        span: { file: s.file, fromLine: s.line, toLine: s.endLine },
        location: c.location,
        evaluated: opts.evaluated(c.rule, s),
        used: false,
      });
    }
  }
  if (opts.model) {
    const add = (text: string | null, what: string, objects: string[]) => {
      for (const c of fromText(text)) out.push({ rule: c.rule, reason: c.reason, source: 'comment-on', origin: `COMMENT ON ${what}`, objects, evaluated: opts.evaluated(c.rule, undefined, objects), used: false });
    };
    // Only objects with a comment can carry one: the names are built for those alone
    // (a large schema has tens of thousands of columns and policies, nearly all without).
    for (const rel of opts.model.relations) {
      if (rel.comment) add(rel.comment, `${rel.kind === 'view' || rel.kind === 'materialized' ? 'VIEW' : 'TABLE'} ${rel.qualified}`, [rel.qualified, ...rel.columns.map((c) => `${rel.qualified}.${c.name}`)]);
      for (const c of rel.columns) if (c.comment) add(c.comment, `COLUMN ${rel.qualified}.${c.name}`, [`${rel.qualified}.${c.name}`]);
      for (const p of rel.policies) if (p.comment) add(p.comment, `POLICY ${policyObject(p)}`, [policyObject(p)]);
    }
    for (const f of opts.model.functions) if (f.comment) add(f.comment, `FUNCTION ${f.signature}`, [f.signature]);
  }
  opts.ignore.forEach((i, n) => {
    out.push({
      rule: i.rule,
      reason: i.reason,
      source: 'config',
      origin: `${opts.configFile ?? 'config'} lint.ignore[${n}]`,
      objects: [i.object],
      evaluated: opts.evaluated(i.rule, undefined, [i.object]),
      used: false,
    });
  });
  return out;
}

function covers(s: Suppression, f: Finding): boolean {
  if (s.rule !== f.rule || s.reason === '') return false;
  // A comment above a statement covers file findings in that statement only; catalog findings by their object.
  if (s.span && f.location) return f.location.file === s.span.file && f.location.line >= s.span.fromLine && f.location.line <= s.span.toLine;
  return s.objects.some((o) => o === '*' || o === f.object || (o.endsWith('(') && f.object.startsWith(o)) || f.object.startsWith(`${o}.`));
}

/** Split findings into kept and suppressed (marking the suppressions used). */
export function applySuppressions(findings: readonly Finding[], sups: Suppression[]): { kept: Finding[]; suppressed: Array<Finding & { suppressedBy: { origin: string; reason: string; source: Suppression['source'] } }> } {
  const kept: Finding[] = [];
  const suppressed: Array<Finding & { suppressedBy: { origin: string; reason: string; source: Suppression['source'] } }> = [];
  for (const f of findings) {
    const s = sups.find((x) => covers(x, f));
    if (s) {
      s.used = true;
      suppressed.push({ ...f, suppressedBy: { origin: s.origin, reason: s.reason, source: s.source } });
    } else kept.push(f);
  }
  return { kept, suppressed };
}
