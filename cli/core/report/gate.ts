/** The gate's report as text (terminal), Markdown (PR comment / step summary), JUnit XML and SARIF. */
import type { GateReport, StepReport } from '../gate/types.js';
import type { Output } from './output.js';
import { mdCode, mdText } from './markdown.js';

const ICON_TEXT: Record<StepReport['status'], string> = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip' };

export function renderStepLine(s: StepReport, out: Output): string {
  const c = out.c;
  const tag = s.status === 'passed' ? c.green(ICON_TEXT.passed) : s.status === 'failed' ? c.red(ICON_TEXT.failed) : c.yellow(ICON_TEXT.skipped);
  const lines = [`${tag} ${c.bold(s.title)} ${c.dim(`(${formatMs(s.durationMs)})`)}: ${s.summary}`];
  const shown = s.status === 'passed' ? [] : s.details.slice(0, 30);
  for (const d of shown) lines.push(`       ${d}`);
  if (s.status !== 'passed' && s.details.length > shown.length) lines.push(`       … ${s.details.length - shown.length} more (see --json or --summary-file)`);
  return lines.join('\n');
}

export function renderGateText(r: GateReport, out: Output): string {
  const c = out.c;
  const failed = r.steps.filter((s) => s.status === 'failed').length;
  const skipped = r.steps.filter((s) => s.status === 'skipped').length;
  const verdict = r.ok ? c.green('gate passed') : c.red(`gate failed: ${failed} step${failed === 1 ? '' : 's'} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return `${verdict} ${c.dim(`in ${formatMs(r.durationMs)}`)}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const MD_ICON: Record<StepReport['status'], string> = { passed: '✅', failed: '❌', skipped: '⏭️' };

/**
 * Under GitHub's limits for what the summary feeds: a PR comment body holds 65,536 characters
 * (`gh pr comment` fails above it) and $GITHUB_STEP_SUMMARY 1 MiB. The verdict and the step table
 * always fit; sections that do not are named as cut.
 */
export const MARKDOWN_LIMIT = 60_000;

export function renderGateMarkdown(r: GateReport, limit = MARKDOWN_LIMIT): string {
  const head: string[] = [];
  head.push(`## rowguard gate: ${r.ok ? 'passed ✅' : 'failed ❌'}`, '');
  const context = [r.base ? `base ${mdCode(r.base)}` : null, r.against ? `history of ${mdCode(r.against)}` : null].filter(Boolean);
  if (context.length) head.push(`Checked against ${context.join(' and ')}.`, '');
  head.push('| | step | result | time |', '| --- | --- | --- | --- |');
  for (const s of r.steps) head.push(`| ${MD_ICON[s.status]} | ${mdText(s.title)} | ${mdText(s.summary)} | ${formatMs(s.durationMs)} |`);
  head.push('');
  const blocks: Array<{ title: string; text: string }> = [];
  for (const s of r.steps) {
    if (s.status === 'failed' && s.details.length) {
      const lines = [`### ${MD_ICON[s.status]} ${mdText(s.title)}`, ''];
      for (const d of s.details.slice(0, 100)) lines.push(`- ${mdText(d)}`);
      if (s.details.length > 100) lines.push(`- … ${s.details.length - 100} more`);
      blocks.push({ title: s.title, text: lines.join('\n') + '\n' });
    }
    for (const sec of s.sections ?? []) blocks.push({ title: sec.title, text: `### ${mdText(sec.title)}\n\n${sec.markdown.trimEnd()}\n` });
  }
  let text = head.join('\n') + '\n';
  const cut: string[] = [];
  for (const b of blocks) {
    // Room is kept for the note that names what was cut.
    if (cut.length === 0 && text.length + b.text.length + 1 <= limit - 2000) text += '\n' + b.text;
    else cut.push(b.title);
  }
  if (cut.length) {
    const names = cut.map((t) => mdText(t.length > 120 ? t.slice(0, 117) + '…' : t));
    let note = `\n> ${cut.length} section${cut.length === 1 ? '' : 's'} cut to stay under GitHub's size limits (the full report: \`rowguard gate --format json\`): ${names.join('; ')}\n`;
    if (note.length > 1900) note = note.slice(0, 1897) + '…\n';
    text += note;
  }
  return text.trimEnd() + '\n';
}

/**
 * Text as XML 1.0 character data. XML 1.0 has no way to write C0 controls other than tab, LF and
 * CR (not even as &#27;), nor U+FFFE, U+FFFF or an unpaired surrogate: one of them from SQL or
 * error text (an ESC from a colour code, a U+FFFF in a test description) makes the whole report
 * unreadable to GitLab, Jenkins or a JUnit action. They become U+FFFD.
 */
function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/**
 * JUnit XML: one suite for the gate's steps, plus the cases steps contribute (SQL test files).
 * A case that ran and failed is a <failure>, one that could not run (a test file that errored) an
 * <error>; the counts are those of the cases. Each step's one-line summary goes to <system-out>,
 * so a passed step still says what it checked (and what it could not).
 */
export function renderGateJunit(r: GateReport): string {
  const cases: string[] = [];
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  let count = 0;
  const out = (text: string) => `<system-out>${xml(text)}</system-out>`;
  for (const s of r.steps) {
    count++;
    const body =
      s.status === 'failed'
        ? `<failure message="${xml(s.summary)}">${xml(s.details.join('\n'))}</failure>`
        : s.status === 'skipped'
          ? `<skipped message="${xml(s.summary)}"/>`
          : out(s.summary);
    if (s.status === 'failed') failures++;
    if (s.status === 'skipped') skipped++;
    cases.push(`    <testcase classname="rowguard.gate" name="${xml(s.title)}" time="${(s.durationMs / 1000).toFixed(3)}">${body}</testcase>`);
    for (const tc of s.junit ?? []) {
      count++;
      let inner = '';
      if (tc.error !== undefined) {
        errors++;
        inner = `<error message="${xml(tc.error.split('\n')[0] ?? '')}">${xml(tc.error)}</error>`;
      } else if (tc.failure !== undefined) {
        failures++;
        inner = `<failure message="${xml(tc.failure.split('\n')[0] ?? '')}">${xml(tc.failure)}</failure>`;
      } else if (tc.skipped) {
        skipped++;
        inner = '<skipped/>';
      }
      cases.push(`    <testcase classname="${xml(tc.classname)}" name="${xml(tc.name)}" time="${(tc.timeMs / 1000).toFixed(3)}">${inner}</testcase>`);
    }
  }
  const counts = `tests="${count}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${(r.durationMs / 1000).toFixed(3)}"`;
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="rowguard gate" ${counts}>`, `  <testsuite name="rowguard gate" ${counts}>`, ...cases, '  </testsuite>', '</testsuites>', ''].join('\n');
}

/**
 * SARIF 2.1.0: the runs steps contributed (lint). When lint did not run (migrate failed, or lint
 * itself could not finish), an empty run would tell code scanning "no findings", and code
 * scanning closes every open alert of the category on such an upload. So that run says
 * `executionSuccessful: false` with the reason, which code scanning refuses to process as a
 * clean result instead of closing the alerts.
 */
export function renderGateSarif(r: GateReport): string {
  const lint = r.steps.find((s) => s.id === 'lint');
  const runs = r.steps.flatMap((s) => s.sarifRuns ?? []) as Array<Record<string, unknown>>;
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: runs.length
      ? runs.map((run) => ({ ...run, invocations: [{ executionSuccessful: true }] }))
      : [
          {
            tool: { driver: { name: 'rowguard', informationUri: 'https://github.com/rowguard/rowguard', rules: [] } },
            invocations: [
              {
                executionSuccessful: false,
                toolExecutionNotifications: [{ level: 'error', message: { text: `lint did not run: ${lint ? lint.summary : 'no lint step'}` } }],
              },
            ],
            results: [],
          },
        ],
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
