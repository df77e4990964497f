/** Renderers for `policy diff|apply|pull|show`: the stderr summary, markdown, JSON shape and the show view. */
import { mdCode, mdFence, mdText } from './markdown.js';
import type { Output } from './output.js';
import type { DiffResult } from '../policy/diff.js';
import type { Step } from '../policy/plan.js';
import type { Policy } from '../catalog/model.js';
import { hasDifference, summarise } from '../policy/plan.js';
import { stepSql, renderScript } from '../policy/render.js';
import type { Hazard } from '../policy/effects.js';
import type { TableAccessReport } from '../policy/show.js';
import type { PullResult } from '../policy/pull.js';

/** The stable JSON document of `policy diff --format json` / `--json`. */
export function diffJson(d: DiffResult) {
  return {
    from: d.from,
    to: d.to,
    changed: hasDifference(d.plan),
    summary: summarise(d.plan),
    steps: d.plan.steps.map((s) => ({ ...stepJson(s), sql: stepSql(s) })),
    onlyOnOneSide: d.plan.onlyOnOneSide,
    kindMismatch: d.plan.kindMismatch,
    ownerMismatch: d.plan.ownerMismatch,
    warnings: d.warnings,
    undeclared: d.undeclared,
    sql: renderScript(d.plan, { transaction: true }),
    timings: roundTimings(d.timings),
  };
}

function stepJson(s: Step): Record<string, unknown> {
  const { phase: _phase, ...rest } = s;
  if ('policy' in rest) return { ...rest, policy: policyJson(rest.policy) };
  if ('before' in rest) return { ...rest, before: policyJson(rest.before), after: policyJson(rest.after) };
  return rest;
}

/** A policy as --json shows it: usingSidesFixed / checkSidesFixed are what the diff compares by (catalog/model.ts), not part of the policy. */
function policyJson(p: Policy): Omit<Policy, 'usingSidesFixed' | 'checkSidesFixed'> {
  const { usingSidesFixed: _u, checkSidesFixed: _c, ...rest } = p;
  return rest;
}

function roundTimings(t: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 10) / 10 : roundTimings(v as object)]));
}

/** The four hazard tags, coloured once per report (a summary can have thousands of lines). */
function hazardTags(out: Output): Record<Hazard, string> {
  const c = out.c;
  return { widens: c.bold.red('WIDENS   '), 'may-widen': c.yellow('MAY WIDEN'), narrows: c.green('narrows  '), neutral: c.dim('neutral  ') };
}

function sideNote(d: DiffResult): string[] {
  const lines: string[] = [];
  for (const side of ['from', 'to'] as const) {
    const only = d.plan.onlyOnOneSide.filter((o) => o.side === side);
    if (only.length === 0) continue;
    const where = side === 'from' ? d.from.label : d.to.label;
    const other = side === 'from' ? d.to.label : d.from.label;
    const names = only.map((o) => (o.kind === 'table' ? o.table : `${o.table} (${o.kind})`));
    lines.push(
      `${only.length === 1 ? `${names[0]} exists` : `${only.length} relations exist`} only in ${where}, not in ${other}${only.length === 1 ? '' : `: ${names.join(', ')}`}. ` +
        'Not compared: tables are created and dropped by migrations (is a migration missing or not applied?)',
    );
  }
  for (const k of d.plan.kindMismatch) lines.push(`${k.table} is a ${k.from} in ${d.from.label} but a ${k.to} in ${d.to.label}: not compared`);
  for (const o of d.plan.ownerMismatch) lines.push(ownerNote(o, d.from.label, d.to.label));
  return lines;
}

/** An API role acts as the owner on one side only: it skips the policies (unless RLS is forced) and holds every privilege. */
export function ownerNote(o: DiffResult['plan']['ownerMismatch'][number], fromLabel: string, toLabel: string): string {
  const side = (x: { owner: string; actors: readonly string[] }, label: string) =>
    `owned by ${x.owner} in ${label}${x.actors.length ? ` (${x.actors.join(', ')} ${x.actors.length === 1 ? 'acts' : 'act'} as its owner)` : ''}`;
  return (
    `${o.table} is ${side(o.from, fromLabel)} but ${side(o.to, toLabel)}: an owner skips the table's policies unless RLS is forced and holds every privilege, ` +
    'and policies/ does not change owners (alter table … owner to … in a migration)'
  );
}

/** The summary for stderr: one line per effect, widening ones loud, then the counts. */
export function renderDiffSummary(d: DiffResult, out: Output): string {
  const c = out.c;
  const lines: string[] = [];
  for (const w of d.warnings) lines.push(`${c.yellow('warning:')} ${w}`);
  const s = summarise(d.plan);
  if (!hasDifference(d.plan)) {
    lines.push(`no difference between ${d.from.label} and ${d.to.label} (${d.plan.compared} relations compared)`);
    return lines.join('\n') + '\n';
  }
  lines.push(c.bold(`policy diff: ${d.from.label} → ${d.to.label}`));
  const tags = hazardTags(out);
  for (const st of d.plan.steps) {
    if (st.kind === 'drop-policy' && st.replacedBy) continue;
    if (st.kind === 'rename-policy' && st.temporary) continue;
    lines.push(`  ${tags[st.hazard]} ${st.effects[0]}`);
    for (let i = 1; i < st.effects.length; i++) lines.push(`            ${st.effects[i]}`);
  }
  for (const n of sideNote(d)) lines.push(`  ${c.cyan('note')}      ${n}`);
  lines.push(
    `${s.steps} statement${s.steps === 1 ? '' : 's'}: ${s.widens ? c.bold.red(`${s.widens} widen`) : '0 widen'}, ${s.mayWiden ? c.yellow(`${s.mayWiden} may widen`) : '0 may widen'}, ${s.narrows} narrow, ${s.neutral} neutral`,
  );
  if (s.widens + s.mayWiden > 0) lines.push(c.bold.red('review the widening changes above before applying'));
  return lines.join('\n') + '\n';
}

export function renderDiffMarkdown(d: DiffResult): string {
  const s = summarise(d.plan);
  const lines: string[] = [`### Policy diff: ${mdText(d.from.label)} → ${mdText(d.to.label)}`, ''];
  for (const w of d.warnings) lines.push(`> **Warning:** ${mdText(w)}`, '');
  if (!hasDifference(d.plan)) {
    lines.push(`No difference (${d.plan.compared} relations compared).`);
    return lines.join('\n') + '\n';
  }
  if (s.widens + s.mayWiden > 0) lines.push(`> **${s.widens + s.mayWiden} change(s) widen or may widen access.** Review them before merging.`, '');
  if (d.plan.steps.length) {
    lines.push('| Hazard | Table | Effect |', '| --- | --- | --- |');
    for (const st of d.plan.steps) {
      if ((st.kind === 'drop-policy' && st.replacedBy) || (st.kind === 'rename-policy' && st.temporary)) continue;
      const tag = st.hazard === 'widens' ? '**widens**' : st.hazard === 'may-widen' ? '**may widen**' : st.hazard;
      lines.push(`| ${tag} | ${mdCode(st.table)} | ${st.effects.map(mdText).join('<br>')} |`);
    }
    lines.push('');
  }
  for (const n of sideNote(d)) lines.push(`- ${mdText(n)}`);
  if (d.plan.steps.length) lines.push('', mdFence(renderScript(d.plan, { transaction: true }).trimEnd(), 'sql'));
  return lines.join('\n') + '\n';
}

export function renderShow(reports: TableAccessReport[], out: Output, detailed: boolean): string {
  const c = out.c;
  const lines: string[] = [];
  for (const r of reports) {
    const flags = r.kind === 'table' || r.kind === 'partitioned' ? `RLS ${r.rls ? 'on' : c.red('off')}${r.rls ? (r.forceRls ? ', forced' : ', not forced') : ''}` : r.kind;
    lines.push(`${c.bold(r.table)}  (${flags}; owner ${r.owner})`);
    if (detailed && r.policies.length) {
      lines.push('  policies:');
      for (const p of r.policies) {
        lines.push(`    ${p.name}: ${p.permissive ? 'permissive' : 'RESTRICTIVE'} ${p.command} to ${p.roles.join(', ')}`);
        if (p.using !== null) lines.push(`      using ${p.using}`);
        if (p.check !== null) lines.push(`      with check ${p.check}`);
      }
    }
    for (const role of r.roles) {
      if (!detailed) {
        const word = (v: string) => (v === 'no-privilege' ? 'no privilege' : v === 'all-rows' ? c.yellow('all rows') : v === 'no-rows' ? 'no rows' : 'filtered by policies');
        const text = role.commands.every((x) => x.verdict === 'no-privilege')
          ? 'no privileges'
          : role.commands.map((x) => `${x.command} ${word(x.verdict)}${x.columns ? ` (columns ${x.columns.join(', ')})` : ''}`).join(' · ');
        lines.push(`  ${role.role.padEnd(14)} ${text}${role.bypassesRls ? c.dim(' (bypasses RLS)') : ''}`);
        continue;
      }
      lines.push(`  ${c.bold(role.role)}${role.bypassesRls ? ' (bypasses RLS)' : ''}`);
      for (const x of role.commands) {
        lines.push(`    ${x.command.padEnd(7)} ${x.verdict === 'all-rows' ? c.yellow(x.reason) : x.reason}`);
        if (x.verdict === 'filtered') {
          const how = [x.permissive.length ? `permissive ${x.permissive.join(' OR ')}` : '', x.restrictive.length ? `restrictive ${x.restrictive.join(' AND ')}` : ''].filter(Boolean).join('; ');
          lines.push(`            ${c.dim(how)}`);
          if (x.using) lines.push(`            rows where ${x.using}`);
          if (x.check) lines.push(`            writes where ${x.check}`);
        }
      }
    }
    for (const n of r.notes) lines.push(`  ${c.cyan('note:')} ${n}`);
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

export function renderPull(r: PullResult): string {
  const lines = [
    ...r.written.map((f) => `wrote ${f}`),
    ...r.removed.map((f) => `removed ${f}`),
    ...(r.skipped.length
      ? [`not written (sql/ does not create ${r.skipped.length === 1 ? 'it' : 'them'}, so a file would make every diff fail): ${r.skipped.join(', ')}`]
      : []),
    `${r.written.length} written, ${r.unchanged.length} unchanged, ${r.removed.length} removed${r.skipped.length ? `, ${r.skipped.length} skipped` : ''}`,
  ];
  return lines.join('\n');
}
