/** `rowguard migrate status|up|verify|new|resolve`. */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { Command, Option } from 'commander';
import { contextOf, type Context } from '../context.js';
import type { EngineOptions, MigrationNotice } from '../core/migrate/engine.js';
import type { MigrationWarning } from '../core/migrate/plan.js';
import { ExitCode, RowguardError, isRowguardError } from '../core/errors.js';

async function engineOptions(ctx: Context, lockWait?: string): Promise<EngineOptions> {
  const cfg = ctx.config();
  const out = ctx.out;
  if (!existsSync(cfg.dirs.sql)) {
    out.warn(`no migrations folder at ${relative(ctx.cwd, cfg.dirs.sql) || '.'}: run rowguard in the project's folder (or below one with a rowguard.config.json), or set dirs.sql there`);
  }
  const server = await ctx.server();
  const progress = out.progress('migrate');
  let current = '';
  return {
    url: server.url,
    dir: cfg.dirs.sql,
    displayRoot: ctx.cwd,
    lockTimeout: cfg.migrations.lockTimeout,
    statementTimeout: cfg.migrations.statementTimeout,
    lockWaitSeconds: lockWait === undefined ? undefined : parseSeconds(lockWait),
    onProgress: (e) => {
      if (e.kind === 'waiting-for-lock') out.info(`waiting for another migration runner${e.holderPid ? ` (pid ${e.holderPid})` : ''}…`);
      else if (e.kind === 'applying') progress.update((current = `${e.index + 1}/${e.total} ${e.file.displayPath}`));
      else if (e.kind === 'applied' && e.index + 1 === e.total) progress.done();
    },
    onNotice: (n) => {
      progress.done();
      sayNotice(ctx, n);
      progress.update(current);
    },
  };
}

/**
 * What the server said while a migration ran, on stderr as psql prints it (`raise notice`,
 * "… does not exist, skipping"): a WARNING as a warning, the rest unless --quiet or --json
 * (whose document carries them under each applied migration).
 */
function sayNotice(ctx: Context, n: MigrationNotice): void {
  const where = `${n.target ? `${n.target}: ` : ''}${n.file}`;
  if (n.severity === 'WARNING') ctx.out.warn(`${where}: ${n.message}`);
  else ctx.out.info(`${n.severity.toLowerCase()}: ${where}: ${n.message}`);
}

/** Warnings go to stderr (with --json too, where the document also carries them). */
function sayWarnings(ctx: Context, warnings: readonly MigrationWarning[]): void {
  for (const w of warnings) ctx.out.warn(`${w.message}\n  hint: ${w.hint}`);
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    throw new RowguardError('usage', `--lock-wait must be a number of seconds (got "${v}")`);
  }
  return n;
}

/**
 * Ctrl-C or a CI job's SIGTERM cancels the running migrations (each rolls back) and
 * starts nothing more; a second signal exits at once (130 / 143).
 */
async function interruptible<T>(ctx: Context, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interrupt = new AbortController();
  let received: NodeJS.Signals | undefined;
  // The second signal is main's (cli/main.ts exitAtOnce), which runs before this listener.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) return;
    ctx.out.info(`${signal}: cancelling the running migration…`);
    received = signal;
    interrupt.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await run(interrupt.signal);
  } catch (err) {
    // Stopped by the signal: the code and the exit code say so (interrupted, 130 / 143), as for every command.
    if (received && isRowguardError(err)) {
      const { hint, detail, location, pg, meta } = err;
      throw new RowguardError('interrupted', err.message, { hint, detail, location, pg, meta, cause: err, exitCode: received === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated });
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function upTargets(ctx: Context, o: { to?: string; dryRun?: boolean; allowOutOfOrder?: boolean; lockWait?: string; targets?: string; concurrency: string }): Promise<void> {
  const concurrency = Number(o.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new RowguardError('usage', `--concurrency must be a whole number from 1 to 64 (got "${o.concurrency}")`);
  if (ctx.flags.db) throw new RowguardError('usage', '--targets and --db do not go together: list every database in the targets file');
  const { readTargetsFile, upMany } = await import('../core/migrate/targets.js');
  const { resolve } = await import('node:path');
  const targets = readTargetsFile(resolve(ctx.cwd, o.targets!), ctx.env);
  const cfg = ctx.config();
  const { renderTargetLine, renderTargetsSummary } = await import('../core/report/migrate.js');
  // Said once for the folder, before any target; a folder that cannot be read fails every target below, with its reason.
  const { readMigrations } = await import('../core/migrate/files.js');
  const { orderWarnings } = await import('../core/migrate/plan.js');
  let warnings: MigrationWarning[] = [];
  try {
    warnings = orderWarnings(readMigrations(cfg.dirs.sql, ctx.cwd));
  } catch {
    // reported by each target
  }
  sayWarnings(ctx, warnings);
  let stopped: AbortSignal | undefined;
  const results = await interruptible(ctx, (signal) =>
    upMany(
      targets,
      {
        dir: cfg.dirs.sql,
        displayRoot: ctx.cwd,
        lockTimeout: cfg.migrations.lockTimeout,
        statementTimeout: cfg.migrations.statementTimeout,
        lockWaitSeconds: o.lockWait === undefined ? undefined : parseSeconds(o.lockWait),
        signal: (stopped = signal),
        onNotice: (n) => sayNotice(ctx, n),
      },
      { to: o.to, dryRun: o.dryRun, allowOutOfOrder: o.allowOutOfOrder },
      concurrency,
      (r) => {
        if (!ctx.out.json) ctx.out.out(renderTargetLine(r, ctx.out));
      },
    ),
  );
  const failed = results.filter((r) => !r.ok).length;
  ctx.out.result({ ok: failed === 0, targets: results, failed, succeeded: results.length - failed, warnings }, () => renderTargetsSummary(results, ctx.out));
  // Interrupted: every target is reported (above), and the exit code says it was a signal.
  if (stopped?.aborted) process.exitCode = stopped.reason === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
  // Every failure a database that could not be reached or was lost: 3, as for one database (a retry may do).
  else if (failed) process.exitCode = results.every((r) => r.ok || r.error?.code === 'db_unreachable') ? ExitCode.database : ExitCode.failed;
}

export function makeMigrateCommand(): Command {
  const migrate = new Command('migrate').description('apply and check the migrations in sql/');

  migrate
    .command('status')
    .description('list every migration: applied | pending | edited | missing | failed')
    .action(async (_o, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { inspect } = await import('../core/migrate/engine.js');
      const { plan } = await inspect(await engineOptions(ctx), { allowOutOfOrder: true });
      const { renderStatus } = await import('../core/report/migrate-status.js');
      sayWarnings(ctx, plan.warnings);
      ctx.out.result({ migrations: plan.entries, problems: plan.problems.map((p) => p.toJSON()), warnings: plan.warnings }, () => renderStatus(plan, ctx.out));
    });

  migrate
    .command('up')
    .description('apply pending migrations, each in its own transaction with its history row')
    .option('--to <version>', 'stop after this version')
    .option('--dry-run', 'check and list what would be applied; change nothing')
    .option('--allow-out-of-order', 'apply a pending file older than the newest applied one')
    .option('--lock-wait <seconds>', 'how long to wait for another runner (default 600)')
    .option('--targets <file>', 'apply to every database listed in the file (one URL or env:NAME per line)')
    .option('--concurrency <n>', 'with --targets: databases migrated at once', '4')
    .action(async (o: { to?: string; dryRun?: boolean; allowOutOfOrder?: boolean; lockWait?: string; targets?: string; concurrency: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (o.targets !== undefined) return upTargets(ctx, o);
      // Without --targets there is one database: a --concurrency would be silently ignored.
      if (cmd.getOptionValueSource('concurrency') === 'cli') throw new RowguardError('usage', '--concurrency goes with --targets (the databases migrated at once)', { hint: 'migrate up applies to one database unless --targets <file> lists several' });
      const { up } = await import('../core/migrate/engine.js');
      const options = await engineOptions(ctx, o.lockWait);
      const result = await interruptible(ctx, (signal) => up({ ...options, signal }, { to: o.to, dryRun: o.dryRun, allowOutOfOrder: o.allowOutOfOrder }));
      const { renderUp } = await import('../core/report/migrate.js');
      sayWarnings(ctx, result.warnings);
      ctx.out.result(result, () => renderUp(result, ctx.out));
    });

  migrate
    .command('verify')
    .description('compare files with the history (edited, missing, out of order, failed); writes nothing')
    .option('--allow-out-of-order', 'do not count an older pending file as a problem')
    .action(async (o: { allowOutOfOrder?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { inspect } = await import('../core/migrate/engine.js');
      const { plan } = await inspect(await engineOptions(ctx), { allowOutOfOrder: o.allowOutOfOrder });
      const { renderVerify } = await import('../core/report/migrate.js');
      sayWarnings(ctx, plan.warnings);
      ctx.out.result({ ok: plan.problems.length === 0, problems: plan.problems.map((p) => p.toJSON()), pending: plan.pending.length, warnings: plan.warnings }, () => renderVerify(plan, ctx.out));
      if (plan.problems.length) process.exitCode = 1;
    });

  migrate
    .command('new')
    .description('create the next migration file, following the folder\'s numbering')
    .argument('<name>', 'what the migration does, e.g. add_profiles')
    .action(async (name: string, _o, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { createMigrationFile } = await import('../core/migrate/new-file.js');
      const created = createMigrationFile(ctx.config().dirs.sql, name, new Date(), ctx.cwd);
      ctx.out.result(created, () => `created ${created.file}`);
    });

  migrate
    .command('resolve')
    .description('settle a failed no-transaction migration after fixing the database by hand')
    .argument('<version>', 'the failed migration\'s version')
    .addOption(new Option('--applied', 'its statements are now all in place: record it as applied').conflicts('rolledBack'))
    .addOption(new Option('--rolled-back', 'its statements were undone: forget it so up runs it again'))
    .action(async (version: string, o: { applied?: boolean; rolledBack?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (!o.applied && !o.rolledBack) throw new RowguardError('usage', 'migrate resolve needs --applied or --rolled-back');
      if (!/^[0-9]+$/.test(version)) throw new RowguardError('usage', `migrate resolve: the version must be digits (a migration's version), got ${JSON.stringify(version)}`, { hint: 'rowguard migrate status lists failed migrations' });
      const { resolve } = await import('../core/migrate/engine.js');
      const r = await resolve(await engineOptions(ctx), version, o.applied ? 'applied' : 'rolled-back');
      ctx.out.result(r, () => `migration ${r.version} marked ${r.outcome}`);
    });

  return migrate;
}
