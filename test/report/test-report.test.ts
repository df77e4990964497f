/**
 * The `rowguard test` reports of a runtests() file: a failed test function's
 * own tests (its subtest) say why it failed, in the pretty output and in
 * JUnit. Pure: a RunResult built from TAP lines.
 */
import { describe, expect, it } from 'vitest';
import { renderJunit, renderPretty } from '../../cli/core/report/test.js';
import { Output } from '../../cli/core/report/output.js';
import { isFailure, parseTap } from '../../cli/core/testing/tap.js';
import type { RunResult } from '../../cli/core/testing/runner.js';

const output = [
  '    # Subtest: s.test_a()',
  '    not ok 1 - inner',
  '    # Failed test 1: "inner"',
  '    #         have: 2',
  '    #         want: 3',
  '    1..1',
  '    # Looks like you failed 1 tests of 1',
  'not ok 1 - s.test_a',
  '# Failed test 1: "s.test_a"',
  '    # Subtest: s.test_b()',
  '    ok 1 - fine',
  '    1..1',
  'ok 2 - s.test_b',
  '1..2',
  '# Looks like you failed 1 test of 2',
];

function run(): RunResult {
  const tap = parseTap(output);
  const tests = tap.tests.map((t) => ({ ...t, failed: isFailure(t) }));
  return {
    ok: false,
    files: [{ file: 'x.test.sql', status: 'failed', planned: 2, tests, preamble: [], problems: [], output, messages: [], warnings: [], durationMs: 1 }],
    notRun: [],
    extraChecks: [],
    counts: { files: 1, passedFiles: 0, failedFiles: 1, erroredFiles: 0, skippedFiles: 0, tests: 2, passed: 1, failed: 1, todo: 0, skipped: 0 },
    bailed: false,
    interrupted: false,
    jobs: 1,
    timings: { templateMs: 1, filesMs: 1, checksMs: 0, totalMs: 2 },
  };
}

describe('reports of runtests() files', () => {
  it("show a failed test function's own tests under it, and nothing for a passing one", () => {
    const out = new Output({ json: false, color: false, quiet: false, stdoutIsTTY: false, stderrIsTTY: false, writeOut: () => undefined, writeErr: () => undefined });
    const lines = renderPretty(run(), out).split('\n');
    const at = lines.indexOf('    not ok 1 - s.test_a');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(lines.slice(at + 1, at + 8)).toEqual([
      '      # Subtest: s.test_a()',
      '      not ok 1 - inner',
      '      # Failed test 1: "inner"',
      '      #         have: 2',
      '      #         want: 3',
      '      1..1',
      '      # Looks like you failed 1 tests of 1',
    ]);
    expect(lines.join('\n')).not.toContain('s.test_b()');
  });

  it('put them in the JUnit failure', () => {
    const xml = renderJunit(run());
    expect(xml).toContain('<failure message="not ok 1 - s.test_a" type="assertion">Failed test 1: &quot;s.test_a&quot;\n# Subtest: s.test_a()\nnot ok 1 - inner\n');
  });
});

describe('a file that errored', () => {
  it('puts the caret under the column the server named, past tabs and wide characters', async () => {
    const { RowguardError } = await import('../../cli/core/errors.js');
    const source = '\tselect 文字 from nowhere_table;';
    const error = new RowguardError('sql', 'relation "nowhere_table" does not exist', { location: { file: 'a.test.sql', line: 3, column: 17, source } });
    const r = run();
    r.files[0] = { ...r.files[0]!, status: 'errored', tests: [], error };
    const out = new Output({ json: false, color: false, quiet: false, stdoutIsTTY: false, stderrIsTTY: false, writeOut: () => undefined, writeErr: () => undefined });
    const lines = renderPretty(r, out).split('\n');
    const at = lines.findIndex((l) => l.endsWith(source));
    expect(at).toBeGreaterThan(0);
    // "      3 | " then the source: the caret line keeps the tab and counts 文字 as four cells.
    expect(lines[at + 1]).toBe('          \t' + ' '.repeat('select '.length + 4 + ' from '.length) + '^');
  });
  it('names the function it died in, as psql prints the CONTEXT (TAP, pretty and JUnit)', async () => {
    // A statement of basejump's suite that died in a policy helper: psql 15 printed
    // CONTEXT: SQL expression "…" / PL/pgSQL function get_account(uuid) line 4 at IF.
    const { renderTap } = await import('../../cli/core/report/test.js');
    const where = 'SQL expression "current_user IN (\'anon\', \'authenticated\')"\nPL/pgSQL function get_account(uuid) line 4 at IF';
    const r = run();
    r.files[0] = {
      ...r.files[0]!,
      status: 'errored',
      tests: [],
      error: { message: 'permission denied for function current_user_account_role', location: { file: 'x.test.sql', line: 228, column: 1 }, pg: { sqlstate: '42501', where } },
    };
    expect(renderTap(r).split('\n')).toContain('    # context: PL/pgSQL function get_account(uuid) line 4 at IF');
    const out = new Output({ json: false, color: false, quiet: false, stdoutIsTTY: false, stderrIsTTY: false, writeOut: () => undefined, writeErr: () => undefined });
    expect(renderPretty(r, out).split('\n')).toContain('    context: PL/pgSQL function get_account(uuid) line 4 at IF');
    expect(renderJunit(r)).toContain('[42501]\ncontext: PL/pgSQL function get_account(uuid) line 4 at IF</error>');
  });
});
