/** `rowguard lint`: RLS security, RLS performance and migration safety. */
import { Command, Option } from 'commander';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { contextOf } from '../context.js';
import { RowguardError } from '../core/errors.js';

interface LintFlags {
  format?: string;
  level?: string;
  shadow?: boolean;
  since?: string;
  all?: boolean;
  catalog?: boolean;
  list?: boolean;
  output?: string;
}

const FORMATS = ['text', 'json', 'sarif', 'github'] as const;
const LEVELS = ['error', 'warn', 'info'] as const;

export function makeLintCommand(): Command {
  return new Command('lint')
    .description('find RLS holes, slow policies and unsafe migrations (catalog + parse tree)')
    .addOption(new Option('--format <format>', 'text | json | sarif | github (annotations); markdown with --list').choices([...FORMATS, 'markdown']))
    .addOption(new Option('--level <level>', 'exit 1 when a finding at or above this level remains (default: lint.level, else warn)').choices([...LEVELS]))
    .option('--shadow', 'build a throwaway database from sql/ and lint that (what CI should do)')
    .option('--since <ref>', 'judge migration files added or changed since this git revision')
    .option('--all', 'judge every migration file (default: the ones not yet in the target\'s history)')
    .option('--no-catalog', 'only read the migration files; do not connect to a database')
    .option('--list', 'print every rule with its level and description')
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .addHelpText(
      'after',
      `
Suppress one finding with a reason:
  -- rowguard-lint-ignore <rule>: <why>             (above the statement in a migration)
  comment on policy p on t is 'rowguard-lint-ignore <rule>: <why>'
  "lint": {"ignore": [{"rule": "…", "object": "public.t", "reason": "…"}]}   (rowguard.config.json)`,
    )
    .action(async (o: LintFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const format = (ctx.flags.json ? 'json' : (o.format ?? 'text')) as (typeof FORMATS)[number] | 'markdown';
      const report = await import('../core/report/lint.js');
      const { ALL_RULE_META } = await import('../core/lint/rules/index.js');
      const emit = (text: string) => {
        if (o.output) writeFileSync(resolve(ctx.cwd, o.output), text.endsWith('\n') ? text : text + '\n');
        else if (text !== '') ctx.out.out(text);
      };

      if (o.list) {
        if (format === 'json') emit(JSON.stringify({ rules: ALL_RULE_META }, null, 2));
        else if (format === 'markdown') emit(report.renderRulesMarkdown(ALL_RULE_META));
        else emit(report.renderRuleList(ALL_RULE_META, ctx.out));
        return;
      }
      if (format === 'markdown') throw new RowguardError('usage', '--format markdown only goes with --list');
      if (o.shadow && o.catalog === false) throw new RowguardError('usage', '--shadow and --no-catalog contradict each other');
      if (o.since && o.all) throw new RowguardError('usage', '--since and --all contradict each other');

      const cfg = ctx.config();
      const threshold = (o.level ?? cfg.lint.level) as (typeof LEVELS)[number];
      const { lint, failsAt } = await import('../core/lint/engine.js');
      const server = o.catalog === false ? null : await ctx.server();
      const progress = ctx.out.progress('lint');
      let run;
      try {
        run = await lint({
          config: cfg,
          url: server?.url ?? '',
          shadow: !!o.shadow,
          since: o.since,
          all: o.all,
          filesOnly: o.catalog === false,
          cwd: ctx.cwd,
          onProgress: (step) => progress.update(step),
        });
      } finally {
        progress.done();
        await server?.release();
      }
      const failed = failsAt(run, threshold);
      if (format === 'json') emit(JSON.stringify(report.lintJson(run, threshold, failed), null, 2));
      else if (format === 'sarif' || format === 'github') {
        const { pathFromRepoRoot } = await import('../core/git.js');
        const prefix = await pathFromRepoRoot(ctx.cwd);
        emit(format === 'sarif' ? report.renderSarif(run, ALL_RULE_META, cmd.parent?.version() ?? '0.0.0', prefix) : report.renderGithub(run, prefix));
      }
      else emit(report.renderLintText(run, ctx.out, threshold));
      if (failed) process.exitCode = 1;
    });
}
