/** `rowguard test [paths…]`: pgTAP-style SQL tests on a throwaway database built from sql/. */
import { Command, Option } from 'commander';
import { contextOf } from '../context.js';
import { ExitCode, RowguardError } from '../core/errors.js';

type Format = 'tap' | 'pretty' | 'json';

interface TestFlags {
  filter?: string;
  bail?: boolean;
  jobs?: string;
  format?: Format;
  junit?: string;
  engine?: string;
  coverage?: boolean;
  setup: string[];
}

export function makeTestCommand(): Command {
  return new Command('test')
    .description('run pgTAP-style SQL tests (default: test/**/*.test.sql) on copies of a database built from sql/, as pg_prove would run them one after another')
    .argument('[paths...]', 'test files or folders (folders: their *.test.sql files, or their *.sql and *.pg files when they have none; supabase/tests and the folders below it: every *.sql and *.pg file, as supabase test db runs them)')
    .option('--filter <pattern>', 'only files whose path contains this text (or matches it as a glob with * and ?)')
    .option('--bail', 'stop after the first file that does not pass')
    .option('--jobs <n>', 'files to run at a time (default: the number of CPUs)')
    .addOption(new Option('--format <format>', 'tap | pretty | json (default: pretty on a terminal, else tap)').choices(['tap', 'pretty', 'json']))
    .option('--junit <file>', 'also write a JUnit XML report to this file')
    .addOption(new Option('--engine <engine>', 'where the throwaway database runs: embedded or docker'))
    .option('--coverage', 'report the (table, command, role) cells and the policies no test exercised (runs the files a second time, instrumented)')
    .option('--setup <file>', 'run this file first and keep what it commits for every test file, as pg_prove runs a suite\'s 00000-setup file (repeatable, in order; default: the config\'s testSetup)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addHelpText(
      'after',
      `
Files are run as pg_prove runs them (psql meta-commands \\set \\i \\echo \\if … work,
each row a query returns is a line of TAP), with a pgTAP-compatible library
(plan, ok, is, results_eq, throws_ok, policies_are, …) and tests.* helpers
(create_user, authenticate_as, authenticate_as_anon, …) installed for them.
What a file commits (outside its own BEGIN … ROLLBACK: a suite's 00-setup.sql
creating helpers and users) is there for the files after it in path order, as under
pg_prove; such a file runs alone, in the run's own copy, and a role it would create
is never committed (nothing of it is then kept). Every other file runs in a
transaction that is rolled back, side by side with its neighbours (one database copy
per --jobs worker; sequences are reset between files). A --setup file runs once
before them all, as psql runs it; its own TAP is not reported.
Ctrl-C stops the run, drops its databases, reports the files that finished and exits
130 (SIGTERM, a cancelled CI job: the same, exit 143); a second signal exits at once.
A whole-suite run (no paths, no --filter) also compares the access matrix with
test/access-matrix.json when it exists (see rowguard matrix) and fails on a changed cell.
Exit 1 when an assertion fails, a plan count is wrong, or a file errors.`,
    )
    .action(async (paths: string[], o: TestFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const cfg = ctx.config();
      let jobs: number | undefined;
      if (o.jobs !== undefined) {
        jobs = Number(o.jobs);
        if (!Number.isInteger(jobs) || jobs < 1) throw new RowguardError('usage', `--jobs must be a positive whole number (got "${o.jobs}")`);
      }
      const format: Format = ctx.flags.json ? 'json' : (o.format ?? (ctx.out.stdoutIsTTY ? 'pretty' : 'tap'));
      const { runTests } = await import('../core/testing/runner.js');
      const { extraChecksFor } = await import('../core/testing/extra-checks.js');
      const report = await import('../core/report/test.js');
      const server = await ctx.server(o.engine);
      const progress = format === 'pretty' ? ctx.out.progress('test') : undefined;
      // Ctrl-C, or a cancelled CI job's SIGTERM, stops the run cleanly (its databases dropped,
      // the files that finished reported); a second signal is main's, which exits at once.
      const interrupt = new AbortController();
      let received: NodeJS.Signals | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        received = signal;
        interrupt.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let run;
      try {
        run = await runTests({
          serverUrl: server.url,
          config: cfg,
          cwd: ctx.cwd,
          paths,
          filter: o.filter,
          jobs,
          bail: o.bail,
          // --setup replaces the config's testSetup (its paths are the config folder's).
          setup: o.setup.length ? o.setup : [...cfg.testSetup],
          signal: interrupt.signal,
          extraChecks: await extraChecksFor(cfg, { coverage: o.coverage, paths, filter: o.filter, cwd: ctx.cwd, jobs }),
          onEvent: (e) => {
            if (!progress) return;
            if (e.kind === 'template') progress.update(e.phase === 'migrate' ? 'applying sql/…' : e.phase === 'library' ? 'installing the test library…' : '');
            else if (e.kind === 'file-done') progress.update(`${e.done}/${e.total} ${e.result.file}`);
            else if (e.kind === 'check-start') progress.update(e.name + '…');
          },
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        progress?.done();
        await server.release();
      }
      if (o.junit) {
        const { writeFileSync } = await import('node:fs');
        const { resolve } = await import('node:path');
        try {
          writeFileSync(resolve(ctx.cwd, o.junit), report.renderJunit(run));
        } catch (err) {
          throw new RowguardError('io', `cannot write ${o.junit}: ${(err as Error).message}`);
        }
      }
      if (format === 'json') ctx.out.out(JSON.stringify(report.toJson(run), null, 2));
      else if (format === 'tap') ctx.out.out(report.renderTap(run));
      else ctx.out.out(report.renderPretty(run, ctx.out));
      // 130 / 143: interrupted by SIGINT / SIGTERM, as shells report it.
      if (run.interrupted) process.exitCode = received === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
      else if (!run.ok) process.exitCode = 1;
    });
}
