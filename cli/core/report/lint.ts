/**
 * Lint output: text for people, JSON (stable shape), SARIF 2.1.0 for code
 * scanning, and GitHub Actions workflow commands (annotations). Pure renderers
 * from a LintRun to a string; the command writes it.
 */
import type { Output } from './output.js';
import type { LintRun } from '../lint/engine.js';
import type { Finding, Level, RuleMeta } from '../lint/types.js';

export type LintFormat = 'text' | 'json' | 'sarif' | 'github';

const TOOL_URI = 'https://github.com/rowguard/rowguard/blob/main/docs/lint-rules.md';

function where(f: Finding): string | null {
  const l = f.location ?? f.definedAt;
  return l ? `${l.file}:${l.line}:${l.column}` : null;
}

export function renderLintText(run: LintRun, out: Output, threshold: Level): string {
  const c = out.c;
  const paint = (l: Level) => (l === 'error' ? c.red.bold(l) : l === 'warn' ? c.yellow.bold(l) : c.cyan(l));
  const lines: string[] = [];
  for (const f of run.findings) {
    const loc = f.location ? `${f.location.file}:${f.location.line}:${f.location.column}  ` : '';
    lines.push(`${loc}${paint(f.level)}  ${c.bold(f.rule)}  ${f.object}`);
    lines.push(`  ${f.message}`);
    if (!f.location && f.definedAt) lines.push(c.dim(`  defined at ${where(f)}`));
    lines.push(c.dim(`  fix: ${f.fix}`));
  }
  const n = run.counts;
  const summary = `${n.error} error${n.error === 1 ? '' : 's'}, ${n.warn} warning${n.warn === 1 ? '' : 's'}, ${n.info} info`;
  const extra = [
    run.suppressed.length ? `${run.suppressed.length} suppressed` : '',
    run.target.mode === 'files'
      ? 'catalog not read'
      : `${run.target.mode === 'shadow' ? 'shadow database built from the migrations' : `database ${run.target.database}`}: ${run.inspected.relations} relations, ${run.inspected.policies} policies, ${run.inspected.functions} functions`,
    `migration files judged: ${run.judgedFiles.length}`,
    `exit threshold: ${threshold}`,
  ].filter(Boolean);
  if (lines.length) lines.push('');
  lines.push(`${run.findings.length === 0 ? c.green('no findings') : summary} (${extra.join('; ')})`);
  return lines.join('\n');
}

export function lintJson(run: LintRun, threshold: Level, failed: boolean): unknown {
  return {
    ok: !failed,
    threshold,
    counts: run.counts,
    findings: run.findings,
    suppressed: run.suppressed,
    target: run.target,
    exposedSchemas: run.exposedSchemas,
    judgedFiles: run.judgedFiles,
    inspected: run.inspected,
  };
}

const SARIF_LEVEL: Record<Level, 'error' | 'warning' | 'note'> = { error: 'error', warn: 'warning', info: 'note' };

/** A display path (relative to where the command ran) as the repository-relative path with forward slashes that code scanning and annotations resolve. */
function repoPath(file: string, prefix: string): string {
  const p = file.split('\\').join('/');
  return prefix && !p.startsWith('/') ? prefix.replace(/\/?$/, '/') + p : p;
}

/**
 * SARIF 2.1.0 (OASIS): one run, the rules as the driver's reportingDescriptors, suppressed findings
 * kept with their justification. `repoPrefix` is the path from the repository root to the folder the
 * finding paths are relative to (a monorepo's packages/db/).
 */
export function renderSarif(run: LintRun, rules: readonly RuleMeta[], version: string, repoPrefix = ''): string {
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const result = (f: Finding, suppression?: { reason: string; source: string }) => {
    // Code scanning rejects a result without a file and line: a catalog object no
    // migration created is pinned to the anchor file's first line.
    const loc = f.location ?? f.definedAt ?? (run.anchorFile ? { file: run.anchorFile, line: 1, column: 1 } : undefined);
    return {
      ruleId: f.rule,
      ruleIndex: index.get(f.rule) ?? -1,
      level: SARIF_LEVEL[f.level],
      message: { text: `${f.message}. Fix: ${f.fix}` },
      locations: [
        {
          ...(loc ? { physicalLocation: { artifactLocation: { uri: repoPath(loc.file, repoPrefix), uriBaseId: '%SRCROOT%' }, region: { startLine: loc.line, startColumn: loc.column } } } : {}),
          logicalLocations: [{ fullyQualifiedName: f.object, kind: f.objectKind === 'file' ? 'module' : f.objectKind }],
        },
      ],
      // Code scanning merges results that share a fingerprint into one alert: a rule can flag the
      // same object in two migration files (two CREATE INDEX on one table), so the file is part
      // of it. Not the line: migrations are immutable, and a catalog finding keeps its fingerprint
      // when the statement that created its object moves.
      partialFingerprints: { 'rowguardObject/v2': `${f.rule}:${f.object}${f.location ? `@${repoPath(f.location.file, repoPrefix)}` : ''}` },
      ...(suppression ? { suppressions: [{ kind: suppression.source === 'config' ? 'external' : 'inSource', justification: suppression.reason }] } : {}),
    };
  };
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'rowguard',
            version,
            informationUri: TOOL_URI,
            rules: rules.map((r) => ({
              id: r.id,
              name: r.id.replace(/(^|-)([a-z])/g, (_m, _d, ch: string) => ch.toUpperCase()),
              shortDescription: { text: r.description },
              fullDescription: { text: r.docs },
              help: { text: `${r.docs}\nFix: ${r.fix}` },
              helpUri: `${TOOL_URI}#${r.id}`,
              defaultConfiguration: { level: SARIF_LEVEL[r.level] },
              properties: { tags: [r.category] },
            })),
          },
        },
        results: [...run.findings.map((f) => result(f)), ...run.suppressed.map((f) => result(f, f.suppressedBy))],
      },
    ],
  };
  return JSON.stringify(sarif, null, 2);
}

/** GitHub workflow commands: `::error file=…,line=…,col=…,title=…::message`. */
export function renderGithub(run: LintRun, repoPrefix = ''): string {
  const data = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const prop = (s: string) => data(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const cmd: Record<Level, string> = { error: 'error', warn: 'warning', info: 'notice' };
  return run.findings
    .map((f) => {
      const l = f.location ?? f.definedAt;
      const props = [...(l ? [`file=${prop(repoPath(l.file, repoPrefix))}`, `line=${l.line}`, `col=${l.column}`] : []), `title=${prop(`rowguard ${f.rule}: ${f.object}`)}`];
      return `::${cmd[f.level]} ${props.join(',')}::${data(`${f.message}. Fix: ${f.fix}`)}`;
    })
    .join('\n');
}

export function renderRuleList(rules: readonly RuleMeta[], out: Output): string {
  const c = out.c;
  const w = Math.max(...rules.map((r) => r.id.length));
  const lines: string[] = [];
  for (const cat of ['security', 'performance', 'migration', 'lint'] as const) {
    const rs = rules.filter((r) => r.category === cat);
    if (rs.length === 0) continue;
    lines.push(c.bold(cat === 'migration' ? 'migration safety' : cat));
    for (const r of rs) lines.push(`  ${r.id.padEnd(w)}  ${r.level.padEnd(5)}  ${r.description}`);
  }
  return lines.join('\n');
}

/** docs/lint-rules.md, generated from the rules' metadata. */
export function renderRulesMarkdown(rules: readonly RuleMeta[]): string {
  const lines = [
    '# rowguard lint rules',
    '',
    '<!-- generated by `rowguard lint --list --format markdown`; do not edit by hand -->',
    '',
    'Catalog rules judge the database (as it is, or a `--shadow` build of `sql/`) on its catalog and on the parse tree of each policy expression; migration rules judge new files in `sql/` with the state before them. Levels: `error`, `warn`, `info`; `--level` sets the exit threshold.',
    '',
    'Suppress one finding with a reason: `-- rowguard-lint-ignore <rule>: <why>` above the statement, `COMMENT ON POLICY/TABLE/VIEW/COLUMN/FUNCTION … IS \'rowguard-lint-ignore <rule>: <why>\'`, or `lint.ignore: [{"rule", "object", "reason"}]` in rowguard.config.json.',
    '',
    '| rule | level | category | finds |',
    '| --- | --- | --- | --- |',
    ...rules.map((r) => `| [\`${r.id}\`](#${r.id}) | ${r.level} | ${r.category} | ${r.description.replace(/\|/g, '\\|')} |`),
    '',
  ];
  for (const r of rules) {
    lines.push(`## ${r.id}`, '', `**${r.level}** · ${r.category} — ${r.description}`, '', r.docs, '', `Fix: ${r.fix}`, '');
  }
  return lines.join('\n');
}
