/**
 * Reading the TAP a test file printed, with the rules pg_prove applies
 * (Perl's TAP::Parser): one plan, at the start or the end; the number of
 * tests equal to the plan; tests numbered in sequence; `not ok` fails unless
 * it carries a TODO directive; `# SKIP` / `# TODO` directives
 * (case-insensitive); `#` lines are diagnostics of the test before them.
 * Pure: lines in, a model out.
 */

export interface TapDirective {
  kind: 'skip' | 'todo';
  reason: string;
}

export interface TapTest {
  number: number;
  ok: boolean;
  description: string;
  directive?: TapDirective;
  /** The `#` lines that followed the test line, without the leading "# ". */
  diagnostics: string[];
  /**
   * The lines indented by four spaces right before the test line: its
   * subtest, as pgTAP's runtests() prints each test function's own tests
   * (TAP 13), without the indentation. pg_prove only counts the test line.
   */
  subtest?: string[];
  /** Index of the output line that reported the test. */
  line: number;
}

export interface TapPlan {
  count: number;
  /** `1..0 # SKIP reason`: the whole file was skipped. */
  skipAll?: string;
  line: number;
}

export interface TapParse {
  plan: TapPlan | null;
  tests: TapTest[];
  /** Diagnostics before the first test. */
  preamble: string[];
  bailOut?: string;
  /** Why the stream is not a passing TAP stream apart from failed tests (plan problems). */
  problems: string[];
}

const PLAN = /^1\.\.(\d+)\s*(?:#\s*(.*))?$/;
const TEST = /^(not )?ok\b\s*(\d*)\s*(.*)$/;
const SUBTEST_INDENT = '    ';
// A directive is a '#' (not escaped with a backslash) followed by SKIP or TODO.
const DIRECTIVE = /(?:^|[^\\])#\s*(skip\S*|todo\S*)(?:\s+(.*))?$/i;

export function parseTap(lines: readonly string[]): TapParse {
  let plan: TapPlan | null = null;
  const tests: TapTest[] = [];
  const preamble: string[] = [];
  const problems: string[] = [];
  let bailOut: string | undefined;
  let plans = 0;
  let testsAfterPlan = false;
  // Indented lines since the last line that was not: the next test's subtest.
  let pending: string[] = [];

  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (bailOut !== undefined) return;
    if (line.startsWith(SUBTEST_INDENT)) {
      pending.push(line.slice(SUBTEST_INDENT.length));
      return;
    }
    const subtest = pending;
    pending = [];
    const p = PLAN.exec(line);
    if (p) {
      plans++;
      const count = Number(p[1]);
      const comment = p[2]?.trim();
      const skip = comment && /^skip\S*\s*(.*)$/i.exec(comment);
      plan = { count, line: index, ...(count === 0 && skip ? { skipAll: skip[1] ?? '' } : {}) };
      return;
    }
    const t = TEST.exec(line);
    if (t) {
      if (plan) testsAfterPlan = true;
      const number = t[2] ? Number(t[2]) : tests.length + 1;
      let rest = t[3] ?? '';
      let directive: TapDirective | undefined;
      const d = DIRECTIVE.exec(rest);
      if (d) {
        const kind = d[1]!.toLowerCase().startsWith('skip') ? 'skip' : 'todo';
        directive = { kind, reason: (d[2] ?? '').trim() };
        rest = rest.slice(0, d.index + (d[0].startsWith('#') ? 0 : 1));
      }
      const description = rest.replace(/^-\s*/, '').trim().replace(/\\#/g, '#');
      tests.push({ number, ok: !t[1], description, ...(directive ? { directive } : {}), diagnostics: [], ...(subtest.length ? { subtest } : {}), line: index });
      return;
    }
    if (line.startsWith('#')) {
      const text = line.replace(/^#\s?/, '');
      const last = tests[tests.length - 1];
      if (last) last.diagnostics.push(text);
      else preamble.push(text);
      return;
    }
    const b = /^Bail out!\s*(.*)$/.exec(line);
    if (b) bailOut = b[1] ?? '';
    // Anything else is output TAP consumers ignore (psql prints every row).
  });

  if (bailOut !== undefined) problems.push(`Bail out! ${bailOut}`.trim());
  if (plans === 0) {
    problems.push('No plan found in TAP output');
  } else if (plans > 1) {
    problems.push('More than one plan found in TAP output');
  } else if (plan) {
    const pl = plan as TapPlan;
    if (testsAfterPlan && tests.some((t) => t.line < pl.line)) {
      problems.push(`Plan (1..${pl.count}) must be at the beginning or end of the TAP output`);
    }
    if (pl.count !== tests.length) {
      problems.push(`Bad plan. You planned ${pl.count} test${pl.count === 1 ? '' : 's'} but ran ${tests.length}.`);
    }
  }
  tests.forEach((t, i) => {
    if (t.number !== i + 1 && !problems.some((p) => p.startsWith('Tests out of sequence'))) {
      problems.push(`Tests out of sequence. Found (${t.number}) but expected (${i + 1})`);
    }
  });
  return { plan, tests, preamble, problems, ...(bailOut !== undefined ? { bailOut } : {}) };
}

/** A test counts as failed when it is `not ok` and not a TODO (as in TAP::Parser). */
export function isFailure(t: TapTest): boolean {
  return !t.ok && t.directive?.kind !== 'todo';
}
