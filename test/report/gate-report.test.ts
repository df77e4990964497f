// The gate's reports as their readers take them: GitHub Markdown (PR comment, step summary) and JUnit XML.
import { describe, expect, it } from 'vitest';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { renderGateJunit, renderGateMarkdown, renderGateSarif, MARKDOWN_LIMIT } from '../../cli/core/report/gate.js';
import { mdCode, mdFence, mdText } from '../../cli/core/report/markdown.js';
import type { GateReport, StepReport } from '../../cli/core/gate/types.js';

function report(steps: Array<Partial<StepReport> & Pick<StepReport, 'id' | 'status'>>): GateReport {
  return {
    ok: steps.every((s) => s.status === 'passed'),
    durationMs: 1000,
    database: 'localhost:5432/x',
    base: null,
    against: null,
    steps: steps.map((s) => ({ title: s.id, durationMs: 1, summary: '', details: [], ...s })),
  };
}

/** Cells of a GFM table row: split on pipes not escaped by a backslash. */
const cells = (row: string) => row.replace(/\\\|/g, '').split('|').length - 2;

describe('gate Markdown', () => {
  it('SQL-controlled text cannot open HTML, split a cell or end a code span', () => {
    const evil = 'public."a|b<!-- `x" <script>alert(1)</script>';
    const md = renderGateMarkdown(
      report([
        { id: 'lint', status: 'failed', summary: evil, details: [`error: ${evil}\nsecond line`], sections: [{ title: evil, markdown: `| a |\n| --- |\n| ${mdText(evil)} |` }] },
      ]),
    );
    expect(md).not.toMatch(/<(!--|script)/);
    const row = md.split('\n').find((l) => l.startsWith('| ❌'))!;
    expect(cells(row)).toBe(4);
    expect(md).toContain('- error: public."a\\|b&lt;!-- \\`x" &lt;script&gt;alert(1)&lt;/script&gt; second line');
    expect(mdCode('a``b')).toBe('``` a``b ```');
    expect(mdFence("select '```'", 'sql')).toBe("````sql\nselect '```'\n````");
  });

  it('stays under the PR comment limit and names the sections it cut', () => {
    const big = Array.from({ length: 40 }, (_, i) => ({ title: `section ${i}`, markdown: 'x'.repeat(5000) }));
    const md = renderGateMarkdown(report([{ id: 'tests', status: 'failed', summary: 'many', details: ['d'], sections: big }]));
    expect(md.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(md).toContain('section 0');
    expect(md).toMatch(/> \d+ sections cut to stay under GitHub's size limits .*section 39/);
  });
});

/** XML 1.0's Char production: anything else makes a conforming parser (expat, Xerces) reject the file. */
const NOT_XML_CHAR = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

describe('gate JUnit', () => {
  const weird = 'esc \u001b[31m ]]> \uffff nul \u0000 half \ud800 & <tag> "q" 😀';
  const xml = renderGateJunit(
    report([
      { id: 'files', status: 'passed', summary: 'migration-safety rules need --base or --against' },
      { id: 'migrate', status: 'passed', summary: 'ok' },
      { id: 'lint', status: 'skipped', summary: `needs the database: ${weird}` },
      {
        id: 'tests',
        status: 'failed',
        summary: weird,
        details: [weird],
        junit: [
          { name: 'a.test.sql', classname: 'rowguard.test', timeMs: 1 },
          { name: 'b.test.sql', classname: 'rowguard.test', timeMs: 1, failure: `not ok 1 - ${weird}` },
          { name: 'c.test.sql', classname: 'rowguard.test', timeMs: 1, error: 'c.test.sql:3:8: function nosuchfunction() does not exist [42883]' },
          { name: 'd.test.sql', classname: 'rowguard.test', timeMs: 1, skipped: true },
        ],
      },
    ]),
  );

  it('is well-formed XML 1.0 whatever SQL or error text holds', () => {
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).not.toMatch(NOT_XML_CHAR);
    expect(xml).toContain('esc \ufffd[31m ]]&gt; \ufffd nul \ufffd half \ufffd &amp; &lt;tag&gt; &quot;q&quot; 😀');
  });

  it('counts failures, errors and skipped as the cases say, and a passed step says what it checked', () => {
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
      testsuites: { testsuite: Record<string, string> & { testcase: Array<Record<string, unknown>> } };
    };
    const suite = doc.testsuites.testsuite;
    const cases = suite.testcase;
    expect({ tests: suite.tests, failures: suite.failures, errors: suite.errors, skipped: suite.skipped }).toEqual({
      tests: String(cases.length),
      failures: String(cases.filter((c) => 'failure' in c).length),
      errors: String(cases.filter((c) => 'error' in c).length),
      skipped: String(cases.filter((c) => 'skipped' in c).length),
    });
    expect([suite.failures, suite.errors, suite.skipped]).toEqual(['2', '1', '2']);
    expect(cases.find((c) => c.name === 'files')!['system-out']).toBe('migration-safety rules need --base or --against');
  });
});

describe('gate SARIF', () => {
  type Sarif = { runs: Array<{ invocations: Array<{ executionSuccessful: boolean; toolExecutionNotifications?: Array<{ message: { text: string } }> }>; results: unknown[] }> };

  it('when lint did not run, the run says so instead of reporting zero findings (which closes every open alert)', () => {
    const doc = JSON.parse(renderGateSarif(report([{ id: 'migrate', status: 'failed' }, { id: 'lint', status: 'skipped', summary: 'needs the migrated database: migrate up failed' }]))) as Sarif;
    expect(doc.runs).toHaveLength(1);
    expect(doc.runs[0]!.invocations).toEqual([
      { executionSuccessful: false, toolExecutionNotifications: [{ level: 'error', message: { text: 'lint did not run: needs the migrated database: migrate up failed' } }] },
    ]);
  });

  it('a lint run that ran is marked successful, its results kept', () => {
    const run = { tool: { driver: { name: 'rowguard', rules: [] } }, results: [{ ruleId: 'x', message: { text: 'm' } }] };
    const doc = JSON.parse(renderGateSarif(report([{ id: 'lint', status: 'failed', sarifRuns: [run] }]))) as Sarif;
    expect(doc.runs[0]!.invocations).toEqual([{ executionSuccessful: true }]);
    expect(doc.runs[0]!.results).toEqual(run.results);
  });
});
