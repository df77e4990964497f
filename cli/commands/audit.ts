/** `rowguard audit verify`: recompute audit.log's hash chain. */
import { Command } from 'commander';
import { contextOf } from '../context.js';
import { RowguardError } from '../core/errors.js';

export function makeAuditCommand(): Command {
  const audit = new Command('audit').description('check the tamper-evident audit log (audit.log)');

  audit
    .command('verify')
    .description('recompute the hash chains lane by lane; print the head (a checkpoint to record); exit 1 on the first broken link')
    .option('--expect-head <lane:seq,…@digest>', 'also prove that a head recorded earlier is still in the chains, unchanged')
    .option('--batch-size <n>', 'rows per round trip', '5000')
    .action(async (o: { expectHead?: string; batchSize: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { parseCheckpoint, verifyAuditLog } = await import('../core/audit/verify.js');
      const expectHead = o.expectHead === undefined ? null : parseCheckpoint(o.expectHead);
      const batchSize = Number(o.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new RowguardError('usage', `--batch-size must be a positive integer (got "${o.batchSize}")`);
      const server = await ctx.server();
      const { withSql } = await import('../core/db.js');
      const progress = ctx.out.progress('audit verify');
      const result = await withSql(server.url, (sql) => verifyAuditLog(sql, { expectHead, batchSize, onProgress: (n) => progress.update(`${n} rows`) }));
      progress.done();
      const { renderVerify } = await import('../core/audit/report.js');
      ctx.out.result(result, () => renderVerify(result, ctx.out.c));
      if (!result.ok) process.exitCode = 1;
    });

  return audit;
}
