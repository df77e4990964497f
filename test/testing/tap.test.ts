import { describe, expect, it } from 'vitest';
import { parseTap, isFailure } from '../../cli/core/testing/tap.js';

describe('TAP parsing', () => {
  it('reads pgTAP lines: descriptions, directives and diagnostics', () => {
    const tap = parseTap([
      '1..4',
      'ok 1 - first',
      'not ok 2 - second',
      '# Failed test 2: "second"',
      '#         have: 1',
      'not ok 3 - later # TODO not done',
      'ok 4 # SKIP no reason',
      'some row psql printed',
    ]);
    expect(tap.problems).toEqual([]);
    expect(tap.plan).toMatchObject({ count: 4 });
    expect(tap.tests.map((t) => [t.number, t.ok, t.description, t.directive?.kind ?? null, isFailure(t)])).toEqual([
      [1, true, 'first', null, false],
      [2, false, 'second', null, true],
      [3, false, 'later', 'todo', false],
      [4, true, '', 'skip', false],
    ]);
    expect(tap.tests[1]!.diagnostics).toEqual(['Failed test 2: "second"', '        have: 1']);
    expect(tap.tests[2]!.directive?.reason).toBe('not done');
  });

  it("keeps a test's subtest (runtests() prints each test function's tests indented before it)", () => {
    const tap = parseTap([
      'ok 1 - startup',
      '    # Subtest: s.test_a()',
      '    not ok 1 - inner',
      '    # Failed test 1: "inner"',
      '    1..1',
      '    # Looks like you failed 1 tests of 1',
      'not ok 2 - s.test_a',
      '# Failed test 2: "s.test_a"',
      '    # Subtest: s.test_b()',
      '    ok 1 - fine',
      '    1..1',
      'ok 3 - s.test_b',
      '1..3',
    ]);
    expect(tap.problems).toEqual([]);
    expect(tap.tests.map((t) => [t.number, t.ok, t.description])).toEqual([
      [1, true, 'startup'],
      [2, false, 's.test_a'],
      [3, true, 's.test_b'],
    ]);
    expect(tap.tests[0]!.subtest).toBeUndefined();
    expect(tap.tests[1]!.subtest).toEqual(['# Subtest: s.test_a()', 'not ok 1 - inner', '# Failed test 1: "inner"', '1..1', '# Looks like you failed 1 tests of 1']);
    expect(tap.tests[1]!.diagnostics).toEqual(['Failed test 2: "s.test_a"']);
    expect(tap.tests[2]!.subtest).toEqual(['# Subtest: s.test_b()', 'ok 1 - fine', '1..1']);
    // Only indented lines right before a test belong to it.
    expect(parseTap(['    ok 1 - stray', 'a row', 'ok 1', '1..1']).tests[0]!.subtest).toBeUndefined();
  });

  it('accepts the plan at the end (no_plan + finish)', () => {
    expect(parseTap(['ok 1', 'ok 2', '1..2']).problems).toEqual([]);
  });

  it('reports the plan problems pg_prove reports', () => {
    expect(parseTap(['1..3', 'ok 1', 'ok 2']).problems).toEqual(['Bad plan. You planned 3 tests but ran 2.']);
    expect(parseTap(['ok 1']).problems).toEqual(['No plan found in TAP output']);
    expect(parseTap(['1..2', 'ok 1', '1..2', 'ok 2']).problems).toContain('More than one plan found in TAP output');
    expect(parseTap(['1..2', 'ok 1', 'ok 3']).problems).toEqual(['Tests out of sequence. Found (3) but expected (2)']);
    expect(parseTap(['ok 1', '1..2', 'ok 2']).problems).toContain('Plan (1..2) must be at the beginning or end of the TAP output');
    expect(parseTap([]).problems).toEqual(['No plan found in TAP output']);
  });

  it('treats 1..0 # skip as a skipped file', () => {
    const tap = parseTap(['1..0 # Skipped: no pgcrypto']);
    expect(tap.plan).toMatchObject({ count: 0, skipAll: 'no pgcrypto' });
    expect(tap.problems).toEqual([]);
  });

  it('stops at Bail out!', () => {
    const tap = parseTap(['1..2', 'ok 1', 'Bail out! database gone', 'ok 2']);
    expect(tap.tests).toHaveLength(1);
    expect(tap.problems[0]).toBe('Bail out! database gone');
  });
});
