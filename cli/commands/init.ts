/** `rowguard init [dir]`: scaffold rowguard into a repository. */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { contextOf } from '../context.js';

export function makeInitCommand(): Command {
  return new Command('init')
    .description('scaffold rowguard into a repository: config, sql/ (the security schema), policies/, tests, matrix, workflow')
    .argument('[dir]', 'the repository folder', '.')
    .option('--force', 'overwrite files that exist')
    .action(async (dir: string, o: { force?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { init } = await import('../core/init.js');
      const r = init({ target: resolve(ctx.cwd, dir), force: !!o.force });
      ctx.out.result(r, () =>
        [
          ...r.created.map((f) => `${ctx.out.c.green('created')}     ${f}`),
          ...r.overwritten.map((f) => `${ctx.out.c.yellow('overwritten')} ${f}`),
          ...r.skipped.map((f) => `${ctx.out.c.dim('skipped')}     ${f} (exists; --force overwrites)`),
          '',
          `${r.created.length} created, ${r.overwritten.length} overwritten, ${r.skipped.length} skipped. Next: npx rowguard gate`,
        ].join('\n'),
      );
    });
}
