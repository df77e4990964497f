/**
 * Rendering a `rowguard test` run: TAP (each file's own stream as a TAP 13
 * subtest, then one line per file and per extra check), a human summary,
 * the JSON document, and JUnit XML for CI. Pure: a RunResult in, text out.
 */
import type { Output } from './output.js';
import { caretPadding, contextFrame } from './error.js';
import type { CheckResult, RunResult } from '../testing/runner.js';
import type { FileResult, TestOutcome } from '../testing/run-file.js';
import type { SqlLocation } from '../errors.js';

const where = (l?: SqlLocation) => (l ? `${l.file}:${l.line}:${l.column}` : '');

function fileErrorLines(f: FileResult): string[] {
  if (!f.error) return [];
  const e = f.error;
  const lines = [`${e.location ? where(e.location) + ': ' : ''}${e.message}${e.pg?.sqlstate ? ` [${e.pg.sqlstate}]` : ''}`];
  if (e.pg?.detail) lines.push(`detail: ${e.pg.detail}`);
  // A statement that died inside a function (a trigger, a policy's helper): psql prints the CONTEXT too.
  const context = contextFrame(e.pg?.where);
  if (context) lines.push(`context: ${context}`);
  if (e.hint ?? e.pg?.hint) lines.push(`hint: ${e.hint ?? e.pg?.hint}`);
  return lines;
}

/** Why a file did not pass, as short lines (plan problems and the error). */
export function fileProblems(f: FileResult): string[] {
  return [...f.problems, ...fileErrorLines(f)];
}

// ---------------------------------------------------------------------------
// TAP

export function renderTap(run: RunResult): string {
  const lines: string[] = ['TAP version 13'];
  let n = 0;
  for (const f of run.files) {
    n++;
    lines.push(`# Subtest: ${f.file}`);
    for (const l of f.output) lines.push(l === '' ? '' : `    ${l}`);
    for (const p of fileProblems(f)) lines.push(`    # ${p}`);
    const directive = f.status === 'skipped' ? ` # SKIP ${f.skipReason ?? ''}`.trimEnd() : '';
    lines.push(`${f.status === 'passed' || f.status === 'skipped' ? 'ok' : 'not ok'} ${n} - ${f.file}${directive}`);
  }
  for (const file of run.notRun) {
    n++;
    lines.push(`ok ${n} - ${file} # SKIP not run (${run.interrupted ? 'interrupted' : '--bail'})`);
  }
  for (const c of run.extraChecks) {
    n++;
    lines.push(`${c.ok ? 'ok' : 'not ok'} ${n} - ${c.name}`);
    if (!c.ok || c.details.length) lines.push(`# ${c.summary}`, ...c.details.map((d) => `#   ${d}`));
  }
  lines.push(`1..${n}`);
  if (run.bailed) lines.push('Bail out! stopped after the first file that did not pass (--bail)');
  if (run.interrupted) lines.push('Bail out! interrupted');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// Pretty

function testLabel(t: TestOutcome): string {
  return `${t.ok ? 'ok' : 'not ok'} ${t.number}${t.description ? ' - ' + t.description : ''}${t.directive ? ` # ${t.directive.kind.toUpperCase()}${t.directive.reason ? ' ' + t.directive.reason : ''}` : ''}`;
}

export function renderPretty(run: RunResult, out: Output): string {
  const c = out.c;
  const lines: string[] = [];
  for (const f of run.files) {
    const failed = f.tests.filter((t) => t.failed);
    const ms = `${Math.round(f.durationMs)} ms`;
    if (f.status === 'passed') {
      lines.push(`${c.green('✓')} ${f.file} ${c.dim(`(${f.tests.length} test${f.tests.length === 1 ? '' : 's'}, ${ms})`)}`);
    } else if (f.status === 'skipped') {
      lines.push(`${c.yellow('-')} ${f.file} ${c.dim(`(skipped${f.skipReason ? ': ' + f.skipReason : ''})`)}`);
    } else {
      const what = f.status === 'errored' ? 'errored' : failed.length ? `${failed.length} of ${f.tests.length} failed` : 'bad plan';
      lines.push(`${c.red('✗')} ${f.file} ${c.dim(`(${what}, ${ms})`)}`);
      for (const t of failed) {
        lines.push(`    ${c.red(testLabel(t))}`);
        if (t.location) lines.push(`      ${c.dim('at ' + where(t.location))}`);
        // pgTAP's first diagnostic repeats "Failed test N"; the rest is have/want and friends.
        for (const d of dedent(t.diagnostics.filter((d, i) => !(i === 0 && /^Failed (\(TODO\) )?test \d+/.test(d))))) lines.push(`      ${d}`);
        // A runtests() test function: its own tests say why it failed.
        for (const l of t.subtest ?? []) lines.push(`      ${l}`);
      }
      for (const p of f.problems) lines.push(`    ${c.red(p)}`);
      if (f.error) {
        const e = f.error;
        lines.push(`    ${c.red('error:')} ${e.location ? where(e.location) + ': ' : ''}${e.message}${e.pg?.sqlstate ? c.dim(` [${e.pg.sqlstate}]`) : ''}`);
        if (e.location?.source !== undefined) {
          const num = String(e.location.line);
          lines.push(c.dim(`      ${num} | `) + e.location.source);
          lines.push(' '.repeat(num.length + 9) + caretPadding(e.location.source, e.location.column) + c.red('^'));
        }
        if (e.pg?.detail) lines.push(`    ${c.dim('detail:')} ${e.pg.detail}`);
        const context = contextFrame(e.pg?.where);
        if (context) lines.push(`    ${c.dim('context:')} ${context}`);
        if (e.hint ?? e.pg?.hint) lines.push(`    ${c.cyan('hint:')} ${e.hint ?? e.pg?.hint}`);
      }
    }
    for (const w of f.warnings) lines.push(`    ${c.yellow('warning:')} ${w}`);
    if (f.kept) lines.push(`    ${c.dim(`note: what it commits outside BEGIN … ROLLBACK (from ${where(f.kept)}) is kept for the files after it, as under pg_prove`)}`);
  }
  for (const file of run.notRun) lines.push(`${c.dim('-')} ${file} ${c.dim(`(not run: ${run.interrupted ? 'interrupted' : '--bail'})`)}`);
  for (const ch of run.extraChecks) lines.push(...renderCheck(ch, out));
  const k = run.counts;
  const part = (n: number, label: string, color: (s: string) => string) => (n ? color(`${n} ${label}`) : '');
  const fileParts = [part(k.passedFiles, 'passed', c.green), part(k.failedFiles, 'failed', c.red), part(k.erroredFiles, 'errored', c.red), part(k.skippedFiles, 'skipped', c.yellow)].filter(Boolean);
  const testParts = [part(k.passed, 'passed', c.green), part(k.failed, 'failed', c.red), part(k.todo, 'todo', c.yellow), part(k.skipped, 'skipped', c.yellow)].filter(Boolean);
  lines.push('');
  lines.push(`${c.bold('Files')}  ${k.files}${fileParts.length ? ` (${fileParts.join(', ')})` : ''}${run.notRun.length ? c.dim(`, ${run.notRun.length} not run`) : ''}`);
  lines.push(`${c.bold('Tests')}  ${k.tests}${testParts.length ? ` (${testParts.join(', ')})` : ''}`);
  lines.push(`${c.bold('Time')}   ${(run.timings.totalMs / 1000).toFixed(2)} s ${c.dim(`(database ${(run.timings.templateMs / 1000).toFixed(2)} s, files ${(run.timings.filesMs / 1000).toFixed(2)} s, ${run.jobs} at a time)`)}`);
  lines.push(run.interrupted ? c.yellow('INTERRUPTED') : run.ok ? c.green('PASS') : c.red('FAIL'));
  return lines.join('\n');
}

/** Remove the indentation all lines share (pgTAP indents have/want by 8). */
function dedent(lines: string[]): string[] {
  const indents = lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut));
}

function renderCheck(ch: CheckResult, out: Output): string[] {
  const c = out.c;
  const head = `${ch.ok ? c.green('✓') : c.red('✗')} ${ch.name} ${c.dim(`(${ch.summary})`)}`;
  return [head, ...ch.details.map((d) => `    ${ch.ok ? d : c.red(d)}`)];
}

// ---------------------------------------------------------------------------
// JSON: the RunResult itself, with the raw output kept per file.

export function toJson(run: RunResult): Record<string, unknown> {
  return {
    ok: run.ok,
    counts: run.counts,
    files: run.files,
    notRun: run.notRun,
    extraChecks: run.extraChecks,
    bailed: run.bailed,
    interrupted: run.interrupted,
    jobs: run.jobs,
    timings: run.timings,
  };
}

// ---------------------------------------------------------------------------
// JUnit XML (the Ant/Jenkins dialect CI systems read): one <testsuite> per
// file, one <testcase> per TAP test; an errored file or a plan problem is a
// testcase of its own so that it is counted.

/** XML 1.0 forbids most control characters even when escaped: drop them. */
export function xmlEscape(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/[\uD800-\uDFFF]/g, (ch, i: number, s: string) => {
      // keep well-formed surrogate pairs, drop lone halves
      const code = ch.charCodeAt(0);
      if (code <= 0xdbff) {
        const next = s.charCodeAt(i + 1);
        return next >= 0xdc00 && next <= 0xdfff ? ch : '';
      }
      const prev = s.charCodeAt(i - 1);
      return prev >= 0xd800 && prev <= 0xdbff ? ch : '';
    })
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

export function renderJunit(run: RunResult): string {
  const x = xmlEscape;
  const suites: string[] = [];
  let total = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  for (const f of run.files) {
    const cases: string[] = [];
    let fFail = 0;
    let fErr = 0;
    let fSkip = 0;
    const classname = f.file.replace(/\.test\.sql$|\.sql$/, '').replace(/[/\\]/g, '.');
    for (const t of f.tests) {
      const name = `${t.number}${t.description ? ' - ' + t.description : ''}`;
      const attrs = `name="${x(name)}" classname="${x(classname)}" file="${x(t.location?.file ?? f.file)}"${t.location ? ` line="${t.location.line}"` : ''}`;
      const body = [...t.diagnostics, ...(t.subtest ?? [])].join('\n');
      if (t.directive?.kind === 'skip' || (t.directive?.kind === 'todo' && !t.ok)) {
        fSkip++;
        cases.push(`    <testcase ${attrs}><skipped message="${x(`${t.directive.kind.toUpperCase()} ${t.directive.reason}`.trim())}"/></testcase>`);
      } else if (t.failed) {
        fFail++;
        cases.push(`    <testcase ${attrs}><failure message="${x(`not ok ${name}`)}" type="assertion">${x(body)}</failure></testcase>`);
      } else cases.push(`    <testcase ${attrs}/>`);
    }
    for (const p of f.problems) {
      fFail++;
      cases.push(`    <testcase name="${x('plan')}" classname="${x(classname)}" file="${x(f.file)}"><failure message="${x(p)}" type="plan"/></testcase>`);
    }
    if (f.error) {
      fErr++;
      const e = f.error;
      const line = e.location && e.location.file === f.file ? ` line="${e.location.line}"` : '';
      cases.push(
        `    <testcase name="${x('(file)')}" classname="${x(classname)}" file="${x(e.location?.file ?? f.file)}"${line}><error message="${x(e.message)}" type="${x(e.pg?.sqlstate ?? 'error')}">${x(fileErrorLines(f).join('\n'))}</error></testcase>`,
      );
    }
    if (f.status === 'skipped' && f.tests.length === 0) {
      fSkip++;
      cases.push(`    <testcase name="${x('(file)')}" classname="${x(classname)}" file="${x(f.file)}"><skipped message="${x(f.skipReason ?? '')}"/></testcase>`);
    }
    const count = cases.length;
    total += count;
    failures += fFail;
    errors += fErr;
    skipped += fSkip;
    const out = f.messages.length ? `\n    <system-err>${x(f.messages.join('\n'))}</system-err>` : '';
    suites.push(
      `  <testsuite name="${x(f.file)}" tests="${count}" failures="${fFail}" errors="${fErr}" skipped="${fSkip}" time="${secs(f.durationMs)}" file="${x(f.file)}">\n${cases.join('\n')}${out}\n  </testsuite>`,
    );
  }
  for (const c of run.extraChecks) {
    total++;
    if (!c.ok) failures++;
    const body = c.ok ? '/>' : `><failure message="${x(c.summary)}" type="check">${x(c.details.join('\n'))}</failure></testcase>`;
    suites.push(`  <testsuite name="${x(c.name)}" tests="1" failures="${c.ok ? 0 : 1}" errors="0" skipped="0">\n    <testcase name="${x(c.name)}" classname="rowguard"${body}\n  </testsuite>`);
  }
  for (const file of run.notRun) {
    total++;
    skipped++;
    suites.push(`  <testsuite name="${x(file)}" tests="1" failures="0" errors="0" skipped="1">\n    <testcase name="(file)" classname="rowguard"><skipped message="not run (${run.interrupted ? 'interrupted' : '--bail'})"/></testcase>\n  </testsuite>`);
  }
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="rowguard test" tests="${total}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${secs(run.timings.totalMs)}">\n` +
    suites.join('\n') +
    (suites.length ? '\n' : '') +
    `</testsuites>\n`
  );
}
