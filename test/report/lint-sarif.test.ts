// Lint findings as code scanning (SARIF 2.1.0) and GitHub workflow commands read them.
import { describe, expect, it } from 'vitest';
import { renderGithub, renderSarif } from '../../cli/core/report/lint.js';
import type { LintRun } from '../../cli/core/lint/engine.js';
import type { Finding, RuleMeta } from '../../cli/core/lint/types.js';
import { ALL_RULE_META } from '../../cli/core/lint/rules/index.js';

const finding = (f: Partial<Finding> & Pick<Finding, 'rule' | 'object'>): Finding => ({
  level: 'warn',
  category: 'migration',
  objectKind: 'table',
  message: 'what can happen',
  fix: 'the fix',
  ...f,
});

function run(findings: Finding[]): LintRun {
  return {
    findings,
    suppressed: [],
    counts: { error: 0, warn: findings.length, info: 0 },
    exposedSchemas: ['public'],
    judgedFiles: [],
    catalog: true,
    inspected: { relations: 1, policies: 0, functions: 0, statements: 0 },
    target: { mode: 'database', database: 'x' },
    anchorFile: 'rowguard.config.json',
  } as unknown as LintRun;
}

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  locations: Array<{ physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region: { startLine: number; startColumn: number } } }>;
  partialFingerprints: Record<string, string>;
}

describe('lint SARIF', () => {
  const rules: readonly RuleMeta[] = ALL_RULE_META;
  const rule = rules.find((r) => r.id === 'index-not-concurrent')!.id;
  const catalogRule = rules.find((r) => r.category === 'security')!.id;
  const findings = [
    finding({ rule, object: 'public.notes', location: { file: 'sql/0002_a.sql', line: 1, column: 1 } }),
    finding({ rule, object: 'public.notes', location: { file: 'sql\\0003_b.sql', line: 4, column: 1 } }),
    // A catalog finding no migration created: pinned to the anchor file.
    finding({ rule: catalogRule, object: 'public.legacy', category: 'security', level: 'error' }),
  ];
  const doc = JSON.parse(renderSarif(run(findings), rules, '1.0.0', 'packages/db/')) as {
    version: string;
    runs: Array<{ tool: { driver: { rules: Array<{ id: string }> } }; results: SarifResult[] }>;
  };

  it('one run whose results each reference their rule, a level code scanning knows and a repository path with a line', () => {
    expect(doc.version).toBe('2.1.0');
    expect(doc.runs).toHaveLength(1);
    const [r] = doc.runs;
    for (const res of r!.results) {
      expect(r!.tool.driver.rules[res.ruleIndex]!.id).toBe(res.ruleId);
      expect(['error', 'warning', 'note', 'none']).toContain(res.level);
      const loc = res.locations[0]!.physicalLocation;
      expect(loc.artifactLocation.uriBaseId).toBe('%SRCROOT%');
      expect(loc.artifactLocation.uri).toMatch(/^packages\/db\/[^\\]+$/);
      expect(loc.region.startLine).toBeGreaterThanOrEqual(1);
    }
    expect(r!.results.map((x) => x.locations[0]!.physicalLocation.artifactLocation.uri)).toEqual(['packages/db/sql/0002_a.sql', 'packages/db/sql/0003_b.sql', 'packages/db/rowguard.config.json']);
  });

  it('two findings of one rule on one object in two files are two alerts, not one', () => {
    const fps = doc.runs[0]!.results.map((x) => JSON.stringify(x.partialFingerprints));
    expect(new Set(fps).size).toBe(fps.length);
  });
});

describe('lint GitHub annotations', () => {
  it('a percent sign, newline or comma in a message or path cannot break or forge a command', () => {
    const out = renderGithub(
      run([finding({ rule: 'index-not-concurrent', object: 'public."a,b:c"', message: '100% bad\n::error file=x::forged', location: { file: 'sql/0001_a,b.sql', line: 2, column: 3 } })]),
      'packages/db/',
    );
    expect(out.split('\n')).toEqual([
      '::warning file=packages/db/sql/0001_a%2Cb.sql,line=2,col=3,title=rowguard index-not-concurrent%3A public."a%2Cb%3Ac"::100%25 bad%0A::error file=x::forged. Fix: the fix',
    ]);
  });
});
