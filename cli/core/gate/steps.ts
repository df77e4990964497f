/**
 * The gate steps that come from the other modules: drift (policy diff), lint,
 * and the SQL tests with the access matrix. Each calls the module's core and
 * turns its data into a step outcome; the gate only arranges them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { apiRolesOf, type Config } from '../config.js';
import { mdCode, mdText as md } from '../report/markdown.js';
import type { StepId } from './types.js';
import type { GateContext, StepOutcome, StepRunner } from './run.js';

export function gateSteps(): Partial<Record<StepId, StepRunner>> {
  return { drift: driftStep, lint: lintStep, tests: testsStep };
}

/** 3. the database sql/ builds equals the desired state of policies/; with --base, what changed since. */
async function driftStep(ctx: GateContext): Promise<StepOutcome> {
  const { config, cwd, serverUrl, base } = ctx.options;
  const { diffPolicies } = await import('../policy/diff.js');
  const { hasDifference, summarise } = await import('../policy/plan.js');
  const { renderDiffMarkdown, ownerNote } = await import('../report/policy.js');
  // The shadow is a copy of the gate's migrated database: sql/ is not applied a second time.
  const d = await diffPolicies({ serverUrl, config, from: { kind: 'migrations' }, to: { kind: 'policies' }, displayRoot: cwd, template: ctx.database!.name });
  const sections: StepOutcome['sections'] = [];
  if (base) {
    const changes = await policyChangesSinceBase(ctx, config, base);
    if (changes) sections.push(changes);
  }
  if (!hasDifference(d.plan)) {
    const n = d.undeclared.length;
    const summary = n === 0 ? 'no drift: the migrations build exactly what policies/ declares' : `no drift in what policies/ declares; ${n} relation${n === 1 ? '' : 's'} with RLS or API grants ha${n === 1 ? 's' : 've'} no file there`;
    return { status: 'passed', summary, details: d.warnings, sections, data: { undeclared: d.undeclared } };
  }
  const s = summarise(d.plan);
  const visible = d.plan.steps.filter((st) => !(st.kind === 'drop-policy' && st.replacedBy) && !(st.kind === 'rename-policy' && st.temporary));
  const details = [
    ...visible.map((st) => `${st.hazard === 'widens' || st.hazard === 'may-widen' ? `[${st.hazard}] ` : ''}${st.effects.join('; ')}`),
    ...d.plan.onlyOnOneSide.map((o) => `${o.table} (${o.kind}) exists only in ${o.side === 'from' ? 'the database sql/ builds' : 'policies/'}`),
    ...d.plan.kindMismatch.map((k) => `${k.table} is a ${k.from} in sql/ but a ${k.to} in policies/`),
    ...d.plan.ownerMismatch.map((o) => ownerNote(o, 'sql/', 'policies/')),
  ];
  sections.push({ title: 'Drift between sql/ and policies/', markdown: renderDiffMarkdown(d) });
  const widening = s.widens + s.mayWiden;
  return {
    status: 'failed',
    summary: `drift: ${s.steps} statement${s.steps === 1 ? '' : 's'} between sql/ and policies/${widening ? ` (${widening} widen or may widen)` : ''}`,
    details: [...details, 'hint: write the change as a migration (rowguard policy diff --write <name>), or update policies/ (rowguard policy pull)'],
    data: { steps: d.plan.steps.length, summary: s },
    sections,
  };
}

/** The policy changes the new migrations make: the base's sql/ against this change's (the gate's database). */
async function policyChangesSinceBase(ctx: GateContext, config: Config, base: string): Promise<{ title: string; markdown: string } | null> {
  const { exportFolderAtRef } = await import('../git.js');
  const { modelsOf, readModel } = await import('../policy/diff.js');
  const { securityStateOf } = await import('../policy/state.js');
  const { planPolicyChanges } = await import('../policy/plan.js');
  const { expressionsEqual } = await import('../policy/expr-equal.js');
  const { antitoneReads } = await import('../policy/antitone-reads.js');
  const { renderDiffMarkdown } = await import('../report/policy.js');
  type Diff = Parameters<typeof renderDiffMarkdown>[0];
  const tmp = mkdtempSync(join(tmpdir(), 'rowguard-base-policies-'));
  try {
    await exportFolderAtRef(config.root, base, config.dirs.sql, join(tmp, 'sql'));
    const baseConfig = { ...config, dirs: { ...config.dirs, sql: join(tmp, 'sql') } } as Config;
    const roles = apiRolesOf(config);
    // Before: the base's sql/ built in a shadow; after: the gate's own database (this change's sql/).
    const [{ models: [before] }, after] = await Promise.all([
      modelsOf({ serverUrl: ctx.options.serverUrl, displayRoot: ctx.options.cwd, config: baseConfig, from: { kind: 'migrations' }, to: { kind: 'migrations' } }, [{ kind: 'migrations' }]),
      readModel(ctx.database!.url, roles),
    ]);
    const plan = planPolicyChanges(securityStateOf(before!, roles), securityStateOf(after, roles), await expressionsEqual(), await antitoneReads());
    // Rendered like a policy diff whose sides are the base and this change.
    const side = (label: string) => ({ label, kind: 'migrations' as const, database: '', serverVersion: before!.serverVersion });
    const md = renderDiffMarkdown({ plan, from: side(base), to: side('this change'), warnings: [] } as unknown as Diff);
    return { title: `Policy changes since ${base}`, markdown: md.replace(/^### .*\n/, '') };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** 4. catalog rules on the migrated database; migration-safety rules on what is new since --base. */
async function lintStep(ctx: GateContext): Promise<StepOutcome> {
  const { config, cwd, base, against } = ctx.options;
  const { lint, failsAt } = await import('../lint/engine.js');
  const { renderSarif } = await import('../report/lint.js');
  const { ALL_RULE_META } = await import('../lint/rules/index.js');
  // New migrations: those since --base, else those the --against database has not applied.
  const run = await lint({ config, url: ctx.database!.url, shadow: false, since: base ?? undefined, historyUrl: base ? undefined : (against ?? undefined), cwd });
  const threshold = config.lint.level;
  const failed = failsAt(run, threshold);
  const where = (f: (typeof run.findings)[number]) => (f.location ? `${f.location.file}:${f.location.line}:${f.location.column}: ` : '');
  const details = run.findings.map((f) => `${f.level} ${f.rule}: ${where(f)}${f.object}: ${f.message}`);
  // Suppressed findings are named in the summary: a config that silences a rule for every object must not read as a clean lint.
  const counts = `${run.counts.error} error, ${run.counts.warn} warn, ${run.counts.info} info${run.suppressed.length ? `, ${run.suppressed.length} suppressed` : ''}`;
  const files = `${run.judgedFiles.length} migration file${run.judgedFiles.length === 1 ? '' : 's'}`;
  const judged = base ? `${files} new since ${base}` : against ? `${files} not yet applied on --against` : 'migration-safety rules need --base or --against';
  const { pathFromRepoRoot } = await import('../git.js');
  const sarif = JSON.parse(renderSarif(run, ALL_RULE_META, '0.1.0', await pathFromRepoRoot(cwd))) as { runs: unknown[] };
  const sections: NonNullable<StepOutcome['sections']> = run.findings.length
    ? [
        {
          title: `Lint findings (${counts})`,
          markdown: ['| level | rule | object | what can happen |', '| --- | --- | --- | --- |', ...run.findings.map((f) => `| ${f.level} | ${mdCode(f.rule)} | ${md(where(f) + f.object)} | ${md(f.message)} |`)].join('\n'),
        },
      ]
    : [];
  if (run.suppressed.length) {
    sections.push({
      title: `Suppressed lint findings (${run.suppressed.length})`,
      markdown: ['| level | rule | object | reason |', '| --- | --- | --- | --- |', ...run.suppressed.map((f) => `| ${f.level} | ${mdCode(f.rule)} | ${md(where(f) + f.object)} | ${md(f.suppressedBy.reason)} (${md(f.suppressedBy.origin)}) |`)].join('\n'),
    });
  }
  return {
    status: failed ? 'failed' : 'passed',
    summary: `${counts} (threshold ${threshold}; ${run.inspected.relations} relations, ${run.inspected.policies} policies, ${judged})`,
    details,
    data: { counts: run.counts, findings: run.findings, suppressed: run.suppressed },
    sections,
    sarifRuns: sarif.runs,
  };
}

/** 5. `rowguard test` (SQL files) and the committed access matrix. */
async function testsStep(ctx: GateContext): Promise<StepOutcome> {
  const { config, cwd, serverUrl, jobs } = ctx.options;
  const { runTests } = await import('../testing/runner.js');
  const { extraChecksFor } = await import('../testing/extra-checks.js');
  const { fileProblems } = await import('../report/test.js');
  const run = await runTests({ serverUrl, config, cwd, paths: [], jobs, setup: [...config.testSetup], extraChecks: await extraChecksFor(config), migrated: ctx.database!.name });
  const c = run.counts;
  const details: string[] = [];
  for (const f of run.files) {
    if (f.status === 'passed' || f.status === 'skipped') continue;
    for (const t of f.tests.filter((t) => t.failed)) details.push(`${t.location ? `${t.location.file}:${t.location.line}:${t.location.column}` : f.file}: not ok ${t.number} - ${t.description}`);
    for (const p of fileProblems(f)) details.push(`${f.file}: ${p}`);
  }
  const sections: StepOutcome['sections'] = [];
  for (const check of run.extraChecks) {
    if (!check.ok) details.push(`${check.name}: ${check.summary}`, ...check.details.map((d) => `  ${d}`));
    if (check.details.length) sections.push({ title: `${check.name}: ${check.summary}`, markdown: check.details.map((d) => `- ${md(d)}`).join('\n') });
  }
  const matrix = run.extraChecks.find((x) => /matrix/i.test(x.name));
  const summary = `${c.passed}/${c.tests} assertions passed in ${c.files} file${c.files === 1 ? '' : 's'}${c.failed ? `, ${c.failed} failed` : ''}${c.erroredFiles ? `, ${c.erroredFiles} file${c.erroredFiles === 1 ? '' : 's'} errored` : ''}; ${matrix ? `access matrix ${matrix.ok ? 'unchanged' : matrix.summary}` : 'no committed access matrix'}`;
  if (c.files === 0) details.push(`no *.test.sql files under ${relative(cwd, config.dirs.test) || '.'}`);
  // No committed matrix means the access check did not run: the gate is not green on that.
  if (!matrix) {
    const { matrixPaths } = await import('../matrix/check.js');
    details.push(`no committed access matrix (${relative(cwd, matrixPaths(config).file)}): the access check did not run`, 'hint: rowguard matrix --update writes it; review and commit it');
  }
  return {
    status: run.ok && c.files > 0 && matrix ? 'passed' : 'failed',
    summary,
    details,
    data: { counts: c, checks: run.extraChecks.map((x) => ({ name: x.name, ok: x.ok, summary: x.summary, details: x.details })) },
    sections,
    junit: run.files.map((f) => ({
      name: f.file,
      classname: 'rowguard.test',
      timeMs: f.durationMs,
      skipped: f.status === 'skipped',
      ...(f.status === 'failed' || f.status === 'errored'
        ? { [f.status === 'errored' ? 'error' : 'failure']: [...f.tests.filter((t) => t.failed).map((t) => `not ok ${t.number} - ${t.description}`), ...fileProblems(f)].join('\n') }
        : {}),
    })),
  };
}
