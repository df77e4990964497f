/** `rowguard matrix [--update] [--format text|markdown|json|html] [--out <file>]`. */
import { Command, Option } from 'commander';
import { contextOf } from '../context.js';
import { RowguardError } from '../core/errors.js';

type Format = 'text' | 'markdown' | 'json' | 'html';

export function makeMatrixCommand(): Command {
  return new Command('matrix')
    .description('compute who can SELECT/INSERT/UPDATE/DELETE what and call which /rpc function, as each actor on a seeded throwaway database; compare with test/access-matrix.json')
    .option('--update', 'write the computed matrix to test/access-matrix.json')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json', 'html']).default('text'))
    .option('--out <file>', 'write the rendered matrix to a file instead of stdout')
    .addOption(new Option('--engine <engine>', 'where the throwaway database runs: embedded or docker'))
    .addHelpText(
      'after',
      `
Cells: none (42501: no grant), all, own (exactly the actor's rows), subset n/m,
empty (allowed, no row matched), refused (WITH CHECK), n/a (not attempted), error.
Functions PostgREST serves (/rpc) get one EXECUTE cell per actor: none, execute,
or execute as <owner> for a SECURITY DEFINER function (it skips the caller's RLS).
Actors come from test/fixtures/actors.json, seed data from test/fixtures/*.sql.
Exit 1 when a cell differs from test/access-matrix.json (unless --update).`,
    )
    .action(async (o: { update?: boolean; format: Format; out?: string; engine?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const cfg = ctx.config();
      const server = await ctx.server(o.engine);
      const { checkMatrix, writeCommitted } = await import('../core/matrix/check.js');
      const report = await import('../core/report/matrix.js');
      const progress = ctx.out.progress('matrix');
      let check;
      try {
        check = await checkMatrix(cfg, server.url, { onProgress: (s) => progress.update(s) });
      } finally {
        progress.done();
        await server.release();
      }
      const { matrix, changes, file, hasExpected, functionsUntracked } = check;
      if (o.update) {
        const written = writeCommitted(cfg, matrix);
        ctx.out.result({ written, changes }, () => report.renderUpdate(changes, hasExpected, written, functionsUntracked ? matrix.functions.length : undefined));
        return;
      }
      const render = (colour: boolean): string => {
        switch (o.format) {
          case 'markdown':
            return report.renderMatrixMarkdown(matrix);
          case 'json':
            return JSON.stringify(report.matrixJson(matrix, hasExpected ? changes : undefined), null, 2);
          case 'html':
            return report.renderMatrixHtml(matrix, { generatedAt: new Date().toISOString() });
          default:
            return report.renderMatrixText(matrix, colour ? ctx.out.c : undefined);
        }
      };
      const untracked = functionsUntracked && matrix.functions.length ? `\n${report.untrackedFunctions(matrix.functions.length, file)}` : '';
      const verdict = hasExpected ? report.renderChanges(changes, ctx.out.c, file) + untracked : `no ${file} yet: run rowguard matrix --update and commit it`;
      if (o.out) {
        const { writeFileSync } = await import('node:fs');
        const { resolve } = await import('node:path');
        try {
          writeFileSync(resolve(ctx.cwd, o.out), render(false).replace(/\n?$/, '\n'));
        } catch (err) {
          throw new RowguardError('io', `cannot write ${o.out}: ${(err as Error).message}`);
        }
        ctx.out.info(`wrote ${o.out}`);
      }
      if (ctx.out.json) ctx.out.result(report.matrixJson(matrix, hasExpected ? changes : undefined), () => '');
      else if (o.out) ctx.out.out(verdict);
      else if (o.format === 'text') ctx.out.out(`${render(true)}\n\n${verdict}`);
      else {
        // Machine formats keep stdout clean; the verdict goes to stderr.
        ctx.out.out(render(false));
        ctx.out.err(verdict + '\n');
      }
      if (changes.length) process.exitCode = 1;
    });
}
