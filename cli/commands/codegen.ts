/** `rowguard codegen [--verify]`: kysely types in generated/db.ts. */
import { Command } from 'commander';
import { contextOf } from '../context.js';

export function makeCodegenCommand(): Command {
  return new Command('codegen')
    .description('write kysely types for the schema sql/ builds to generated/db.ts (app schemas, auth, audit)')
    .option('--verify', 'write nothing; exit 1 when generated/db.ts is stale')
    .action(async (o: { verify?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const cfg = ctx.config();
      const server = await ctx.server();
      const progress = ctx.out.progress('codegen');
      progress.update('building a throwaway database from sql/');
      try {
        const { codegen, staleError } = await import('../core/codegen.js');
        const r = await codegen(
          {
            serverUrl: server.url,
            sqlDir: cfg.dirs.sql,
            generatedDir: cfg.dirs.generated,
            schemas: cfg.api.schemas ?? ['public'],
            displayRoot: ctx.cwd,
            lockTimeout: cfg.migrations.lockTimeout,
            statementTimeout: cfg.migrations.statementTimeout,
          },
          !!o.verify,
        );
        progress.done();
        if (o.verify && !r.upToDate) {
          if (ctx.out.json) ctx.out.result(r, () => '');
          throw staleError(r.file, r.exists);
        }
        ctx.out.result(r, () => (o.verify ? `${r.file} is up to date (${r.tables} tables)` : r.written ? `wrote ${r.file} (${r.tables} tables)` : `${r.file} already up to date (${r.tables} tables)`));
      } finally {
        progress.done();
        await server.release();
      }
    });
}
