/** `rowguard gate`: the CI migration gate and the PR review in one command. */
import { Command, Option } from 'commander';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { contextOf } from '../context.js';
import { RowguardError } from '../core/errors.js';
import { validateUrl } from '../core/urls.js';

interface GateFlags {
  base?: string;
  against?: string;
  engine?: string;
  format: string;
  summaryFile?: string;
  junit?: string;
  sarif?: string;
  jobs?: string;
}

export function makeGateCommand(): Command {
  return new Command('gate')
    .description('prove the security model on a throwaway database: files, migrate, drift, lint, tests + matrix, codegen')
    .option('--base <git ref>', 'what is deployed: prove the new migrations apply on top of its migrations; lint only what is new')
    .option('--against <url>', 'check migration checksums against the history of this (deployed) database')
    .addOption(new Option('--engine <engine>', 'where the throwaway database runs').choices(['embedded', 'docker']))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'))
    .option('--summary-file <path>', 'also write the Markdown summary to this file (for $GITHUB_STEP_SUMMARY or a PR comment)')
    .option('--junit <file>', 'write JUnit XML (one case per step and per SQL test file)')
    .option('--sarif <file>', 'write SARIF 2.1.0 (the lint findings) for code scanning')
    .option('--jobs <n>', 'parallel SQL test files (default: cores)')
    .action(async (o: GateFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const out = ctx.out;
      const format = out.json ? 'json' : o.format;
      const jobs = o.jobs === undefined ? undefined : Number(o.jobs);
      if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new RowguardError('usage', `--jobs must be a whole number ≥ 1 (got "${o.jobs}")`);
      if (o.against !== undefined) o.against = validateUrl(o.against, '--against');
      // Report paths are checked before the run: a typo must not cost a whole gate and then its verdict.
      for (const [flag, file] of [['--summary-file', o.summaryFile], ['--junit', o.junit], ['--sarif', o.sarif]] as const) {
        if (file === undefined) continue;
        const path = resolve(ctx.cwd, file);
        if (existsSync(path) && statSync(path).isDirectory()) throw new RowguardError('usage', `${flag} ${file}: that is a folder`, { hint: 'name a file' });
        if (!existsSync(dirname(path))) throw new RowguardError('usage', `${flag} ${file}: the folder ${dirname(path)} does not exist`, { hint: 'create it first (mkdir -p)' });
      }
      const config = ctx.config();
      // A --base git cannot resolve (a shallow CI clone) is a usage error before anything runs,
      // not three failed steps.
      if (o.base !== undefined) {
        const { resolveRef } = await import('../core/git.js');
        await resolveRef(config.root, o.base);
      }
      const server = await ctx.server(o.engine);
      try {
        const { runGate } = await import('../core/gate/run.js');
        const { gateSteps } = await import('../core/gate/steps.js');
        const report = await import('../core/report/gate.js');
        const progress = out.progress('gate');
        const report_ = await runGate({
          config,
          cwd: ctx.cwd,
          serverUrl: server.url,
          base: o.base ?? null,
          against: o.against ?? null,
          env: ctx.env,
          jobs,
          steps: gateSteps(),
          onStep: (e) => {
            if (e.phase === 'start') progress.update(e.id);
            else {
              progress.done();
              if (format === 'text') out.err(report.renderStepLine(e.report, out) + '\n');
            }
          },
        });
        if (o.summaryFile) writeFileSync(resolve(ctx.cwd, o.summaryFile), report.renderGateMarkdown(report_));
        if (o.junit) writeFileSync(resolve(ctx.cwd, o.junit), report.renderGateJunit(report_));
        if (o.sarif) writeFileSync(resolve(ctx.cwd, o.sarif), report.renderGateSarif(report_));
        if (format === 'json') out.out(JSON.stringify(report_, null, 2));
        else if (format === 'markdown') out.out(report.renderGateMarkdown(report_));
        else out.out(report.renderGateText(report_, out));
        if (!report_.ok) process.exitCode = 1;
      } finally {
        await server.release();
      }
    });
}
