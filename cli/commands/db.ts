/** `rowguard db start|stop|status|url|reset`: the embedded PostgreSQL. */
import { Command } from 'commander';
import { contextOf } from '../context.js';
import { RowguardError } from '../core/errors.js';

export function makeDbCommand(): Command {
  const db = new Command('db').description('manage the embedded PostgreSQL (data in .rowguard/pgdata)');

  db.command('start')
    .description('start the embedded PostgreSQL (initialising it on first use); a no-op when it runs')
    .action(async (_o, cmd: Command) => {
      const ctx = contextOf(cmd);
      const embedded = await import('../core/provision/embedded.js');
      const cfg = ctx.config();
      const { state, started } = await embedded.start({ dataDir: cfg.embedded.dataDir, port: cfg.embedded.port, log: (l) => ctx.out.info(ctx.out.c.dim(l)) });
      ctx.out.result({ started, running: true, port: state.port, dataDir: cfg.embedded.dataDir }, () =>
        started ? `embedded PostgreSQL started on 127.0.0.1:${state.port}` : `embedded PostgreSQL already running on 127.0.0.1:${state.port}`,
      );
    });

  db.command('stop')
    .description('stop the embedded PostgreSQL')
    .action(async (_o, cmd: Command) => {
      const ctx = contextOf(cmd);
      const embedded = await import('../core/provision/embedded.js');
      const { stopped } = await embedded.stop(ctx.config().embedded.dataDir);
      ctx.out.result({ stopped }, () => (stopped ? 'embedded PostgreSQL stopped' : 'embedded PostgreSQL was not running'));
    });

  db.command('status')
    .description('say whether the embedded PostgreSQL is initialised and running')
    .action(async (_o, cmd: Command) => {
      const ctx = contextOf(cmd);
      const embedded = await import('../core/provision/embedded.js');
      const st = await embedded.status(ctx.config().embedded.dataDir);
      ctx.out.result(st, () =>
        [
          `data directory: ${st.dataDir}${st.initialised ? '' : ' (not initialised)'}`,
          `running:        ${st.running ? `yes, pid ${st.pid}, port ${st.port}` : 'no'}`,
        ].join('\n'),
      );
    });

  db.command('url')
    .description('print the URL of the embedded database (starting it if needed); it contains the local password')
    .option('--database <name>', 'database name in the URL', 'postgres')
    .action(async (o: { database: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const embedded = await import('../core/provision/embedded.js');
      const cfg = ctx.config();
      const { state } = await embedded.start({ dataDir: cfg.embedded.dataDir, port: cfg.embedded.port, log: (l) => ctx.out.info(ctx.out.c.dim(l)) });
      const url = embedded.urlOf(state, o.database);
      ctx.out.result({ url }, () => url);
    });

  db.command('reset')
    .description('stop the embedded PostgreSQL, delete its data, and start a fresh one')
    .option('--yes', 'confirm (required when stdin is not a terminal)')
    .action(async (o: { yes?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (!o.yes && !ctx.stdin.isTTY) {
        throw new RowguardError('usage', 'db reset deletes every database of the embedded server; pass --yes to confirm');
      }
      const embedded = await import('../core/provision/embedded.js');
      const cfg = ctx.config();
      await embedded.destroy(cfg.embedded.dataDir);
      const { state } = await embedded.start({ dataDir: cfg.embedded.dataDir, port: cfg.embedded.port, log: (l) => ctx.out.info(ctx.out.c.dim(l)) });
      ctx.out.result({ reset: true, port: state.port }, () => `embedded PostgreSQL reset; running on 127.0.0.1:${state.port}`);
    });

  return db;
}
