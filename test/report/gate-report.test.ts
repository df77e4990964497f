// The gate's reports as their readers take them: GitHub Markdown (PR comment, step summary) and JUnit XML.
import { describe, expect, it } from 'vitest';
import { renderGateMarkdown, MARKDOWN_LIMIT } from '../../cli/core/report/gate.js';
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
