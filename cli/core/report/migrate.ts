import type { MigrationPlan } from '../migrate/plan.js';
import type { UpResult } from '../migrate/engine.js';
import type { TargetResult } from '../migrate/targets.js';
import type { Output } from './output.js';

export function renderUp(r: UpResult, out: Output): string {
  const c = out.c;
  if (r.dryRun) {
    if (r.wouldApply.length === 0) return 'up to date: nothing to apply';
    return [`would apply ${r.wouldApply.length} migration${r.wouldApply.length > 1 ? 's' : ''}:`, ...r.wouldApply.map((m) => `  ${m.file}${m.noTransaction ? c.dim(' (no transaction)') : ''}`)].join('\n');
  }
  if (r.upToDate) return 'up to date: nothing to apply';
  const empty = (m: UpResult['applied'][number]) => (m.empty ? ` ${c.yellow('warning:')} it holds no statement, and it is now applied: write its change in a new migration (an edit to this one is refused)` : '');
  return [...r.applied.map((m) => `${c.green('applied')} ${m.file} ${c.dim(`(${m.durationMs} ms)`)}${empty(m)}`), `${r.applied.length} migration${r.applied.length > 1 ? 's' : ''} applied`].join('\n');
}

export function renderVerify(plan: MigrationPlan, out: Output): string {
  if (plan.problems.length === 0) return `${out.c.green('ok')}: every applied migration matches its file${plan.pending.length ? ` (${plan.pending.length} pending)` : ''}`;
  return plan.problems.map((p) => `${out.c.red('error:')} ${p.message}${p.hint ? `\n  ${out.c.cyan('hint:')} ${p.hint}` : ''}`).join('\n');
}

export function renderTargetLine(r: TargetResult, out: Output): string {
  const c = out.c;
  if (!r.ok) return `${c.red('FAIL')} ${r.target}  ${r.error?.location ? r.error.location + ': ' : ''}${r.error?.message ?? 'failed'}`;
  const what = r.upToDate ? 'up to date' : `applied ${r.applied.length} (${r.applied.join(', ')})`;
  return `${c.green('ok  ')} ${r.target}  ${what} ${c.dim(`${r.durationMs} ms`)}`;
}

export function renderTargetsSummary(results: readonly TargetResult[], out: Output): string {
  const failed = results.filter((r) => !r.ok).length;
  const line = `${results.length} databases: ${results.length - failed} ok, ${failed} failed`;
  return failed ? out.c.red(line) : out.c.green(line);
}
