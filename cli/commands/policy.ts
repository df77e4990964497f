/** `rowguard policy diff|apply|pull|show`: policies/ as the desired state of RLS, policies and API grants. */
import { Command, Option } from 'commander';
import { contextOf, type Context } from '../context.js';
import { RowguardError } from '../core/errors.js';
import type { Source } from '../core/policy/diff.js';

type Format = 'sql' | 'json' | 'markdown';

const POLICIES_HELP = `
policies/<schema>.<table>.sql, one file per table (or view), holds only, for that table:
  alter table … enable|disable|force|no force row level security;
  grant|revoke <privileges> [(<columns>)] on … to <anon|authenticated|service_role|public>;
  create policy … on …;
The desired state is sql/ applied to a shadow database, then for each file: the
table's policies dropped, the API roles' and PUBLIC's privileges revoked, RLS and
FORCE turned off, and the file run. Tables without a file keep what sql/ gives them.
File names: characters outside A-Z a-z 0-9 _ - $ are written %XX (UTF-8 bytes),
e.g. "My Schema"."a.b" -> My%20Schema.a%2Eb.sql (non-ASCII characters are kept
as they are when %XX would make the name longer than 255 bytes). \`policy pull\`
writes this form.
Sources for --from/--to: a postgres:// URL, "migrations" (sql/ only) or "policies"
(sql/ + policies/). The shadow database is created on the --db / DATABASE_URL /
embedded server; a URL side is only read.`;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** The target database (--db / DATABASE_URL / embedded) as a diff side. */
async function targetSource(ctx: Context): Promise<{ source: Source; serverUrl: string; local: boolean }> {
  const server = await ctx.server();
  const { describeUrl } = await import('../core/db.js');
  const { isLocalDatabase } = await import('../core/policy/apply.js');
  return {
    source: { kind: 'url', url: server.url, label: `database ${describeUrl(server.url)}` },
    serverUrl: server.url,
    local: isLocalDatabase(server.url, server.source),
  };
}

async function sideOf(value: string | undefined, flag: string, fallback: () => Promise<Source>): Promise<Source> {
  if (value === undefined) return fallback();
  const { parseSource } = await import('../core/policy/diff.js');
  return parseSource(value, flag);
}

export function makePolicyCommand(): Command {
  const policy = new Command('policy')
    .description('policies/ as the desired state: RLS flags, API grants and policies per table')
    .addHelpText('after', POLICIES_HELP);

  policy
    .command('diff')
    .description('what changes turn --from into --to (default: the target database into sql/ + policies/); SQL on stdout, effects on stderr')
    .option('--from <source>', 'postgres:// URL, "migrations" (sql/) or "policies" (sql/ + policies/); default: the target database (--db)')
    .option('--to <source>', 'same choices; default: policies')
    .addOption(new Option('--format <format>', 'stdout format').choices(['sql', 'json', 'markdown']).default('sql'))
    .option('--exit-code', 'exit 1 when there is a difference (drift check)')
    .option('--write <name>', 'write the SQL as a new migration in sql/ (default --from: migrations)')
    .action(async (o: { from?: string; to?: string; format: Format; exitCode?: boolean; write?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const config = ctx.config();
      const { diffPolicies, parseSource } = await import('../core/policy/diff.js');
      const from = await sideOf(o.from, '--from', async () => (o.write !== undefined ? { kind: 'migrations' } : (await targetSource(ctx)).source));
      const to = o.to === undefined ? ({ kind: 'policies' } as Source) : parseSource(o.to, '--to');
      const needsServer = from.kind !== 'url' || to.kind !== 'url';
      const serverUrl = needsServer ? (await ctx.server()).url : from.kind === 'url' ? from.url : '';
      const progress = ctx.out.progress('policy diff');
      const result = await diffPolicies({ serverUrl, config, from, to, displayRoot: ctx.cwd, onPhase: (p) => progress.update(p) });
      progress.done();
      const report = await import('../core/report/policy.js');
      const { renderScript } = await import('../core/policy/render.js');
      const { hasDifference } = await import('../core/policy/plan.js');

      if (o.write !== undefined) {
        ctx.out.info(report.renderDiffSummary(result, ctx.out).trimEnd());
        if (result.plan.steps.length === 0) {
          ctx.out.result({ written: null, ...report.diffJson(result) }, () => 'no policy changes: nothing written');
        } else {
          const { createMigrationFile } = await import('../core/migrate/new-file.js');
          const { writeFileSync } = await import('node:fs');
          const created = createMigrationFile(config.dirs.sql, o.write, new Date(), ctx.cwd);
          const header = [`${created.file.replace(/^.*[\\/]/, '').replace(/\.sql$/, '')}: written by rowguard policy diff --write`, `from ${result.from.label} to ${result.to.label}`];
          writeFileSync(created.path, renderScript(result.plan, { transaction: false, header, comments: true }));
          ctx.out.result({ written: created.file, ...report.diffJson(result) }, () => `wrote ${created.file}`);
        }
      } else if (ctx.out.json || o.format === 'json') {
        ctx.out.out(JSON.stringify(report.diffJson(result), null, 2));
      } else if (o.format === 'markdown') {
        ctx.out.out(report.renderDiffMarkdown(result));
      } else {
        const text = renderScript(result.plan, { transaction: true, comments: true });
        if (text) ctx.out.out(text);
        // No difference prints nothing (like diff(1)), except a reassuring line on a terminal.
        const quietWhenEqual = !hasDifference(result.plan) && result.warnings.length === 0 && !ctx.out.stderrIsTTY;
        if (!ctx.out.quiet && !quietWhenEqual) ctx.out.err(report.renderDiffSummary(result, ctx.out));
      }
      if (o.exitCode && hasDifference(result.plan)) process.exitCode = 1;
    });

  policy
    .command('apply')
    .description('apply the diff from the target database to sql/ + policies/ in one transaction')
    .option('--allow-widening', 'allow changes that widen access on a non-local database')
    .action(async (o: { allowWidening?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const config = ctx.config();
      const target = await targetSource(ctx);
      const { diffPolicies, readModel } = await import('../core/policy/diff.js');
      const { applyPlan, assertWideningAllowed } = await import('../core/policy/apply.js');
      const { planPolicyChanges } = await import('../core/policy/plan.js');
      const { expressionsEqual } = await import('../core/policy/expr-equal.js');
      const { securityStateOf } = await import('../core/policy/state.js');
      const { apiRolesOf } = await import('../core/config.js');
      const report = await import('../core/report/policy.js');
      const { withMigrationLock } = await import('../core/migrate/engine.js');
      // Read, plan and apply under the runners' lock: a second apply (or a migrate up) started
      // meanwhile waits, then plans against what this one left.
      const lockOpts = {
        url: target.serverUrl,
        lockTimeout: config.migrations.lockTimeout,
        statementTimeout: config.migrations.statementTimeout,
        onProgress: (e: { kind: string; holderPid?: number | null }) => {
          if (e.kind === 'waiting-for-lock') ctx.out.info(`waiting for another migration runner or policy apply${e.holderPid ? ` (pid ${e.holderPid})` : ''}…`);
        },
      };
      const { result, applied } = await withMigrationLock(lockOpts, async () => {
        const result = await diffPolicies({ serverUrl: target.serverUrl, config, from: target.source, to: { kind: 'policies' }, displayRoot: ctx.cwd });
        ctx.out.info(report.renderDiffSummary(result, ctx.out).trimEnd());
        assertWideningAllowed(result.plan, { local: target.local, allowWidening: !!o.allowWidening, label: result.from.label });
        const { applied } = await applyPlan(result.plan, {
          url: target.serverUrl,
          lockTimeout: config.migrations.lockTimeout,
          statementTimeout: config.migrations.statementTimeout,
          sources: result.files,
        });
        // Read the target again: after applying, nothing may be left to do.
        const after = securityStateOf(await readModel(target.serverUrl, apiRolesOf(config), false, config.migrations.lockTimeout), apiRolesOf(config));
        const left = planPolicyChanges(after, result.toState, await expressionsEqual()).steps.length;
        if (left > 0) throw new RowguardError('internal', `applied ${applied} statements but ${left} difference(s) remain`, { hint: 'this is a bug in rowguard; please report it with `rowguard policy diff --format json`' });
        return { result, applied };
      });
      // A relation on one side only (or of another kind) is never created, dropped or compared: no claim of a match for it.
      const apart = result.plan.onlyOnOneSide.length + result.plan.kindMismatch.length;
      const owned = result.plan.ownerMismatch.length;
      const exceptions = [
        ...(apart ? [`${apart} relation${apart === 1 ? '' : 's'} not compared (see above: ${apart === 1 ? 'it exists on one side only or differs' : 'they exist on one side only or differ'} in kind)`] : []),
        ...(owned ? [`${owned} relation${owned === 1 ? '' : 's'} an API role owns on one side only (see above: policies/ does not change owners)`] : []),
      ];
      const except = exceptions.length ? `, except ${exceptions.join(' and ')}` : '';
      ctx.out.result({ applied, ...report.diffJson(result) }, () =>
        applied ? `applied ${applied} statement${applied === 1 ? '' : 's'} in one transaction; ${result.from.label} now matches policies/${except}` : `nothing to apply${except}`,
      );
    });

  policy
    .command('pull')
    .description('write policies/ from the target database (one file per table)')
    .option('--table <name>', 'only this table (schema.table; repeatable or comma-separated)', collect)
    .action(async (o: { table?: string[] }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const config = ctx.config();
      const target = await targetSource(ctx);
      const { modelsOf } = await import('../core/policy/diff.js');
      const { securityStateOf } = await import('../core/policy/state.js');
      const { writePolicyFiles, hasMigrations } = await import('../core/policy/pull.js');
      const { apiRolesOf } = await import('../core/config.js');
      // A file is an overlay on what sql/ creates, and one for a relation sql/ does not
      // create fails every diff: read sql/'s relations (a shadow database, built while
      // the target is read). With no migrations yet, every relation is written.
      const read = (sides: Source[]) => modelsOf({ serverUrl: target.serverUrl, config, from: sides[0]!, to: sides[0]!, displayRoot: ctx.cwd }, sides);
      // The target is read while the shadow is built.
      const [live, fromSql] = await Promise.all([
        read([target.source]),
        hasMigrations(config.dirs.sql)
          ? read([{ kind: 'migrations' }]).catch((err: unknown) => {
              // A role without CREATEDB can still pull (it only reads the target): every relation is written.
              if (!(err instanceof RowguardError && err.pg?.sqlstate === '42501')) throw err;
              ctx.out.warn(`could not build sql/ in a shadow database (${err.pg.message}): every relation is written, including any sql/ does not create`);
              return undefined;
            })
          : undefined,
      ]);
      const created = fromSql ? new Set(fromSql.models[0]!.relations.map((r) => r.qualified)) : undefined;
      const state = securityStateOf(live.models[0]!, apiRolesOf(config));
      const result = writePolicyFiles(state, config.dirs.policies, ctx.cwd, o.table, created);
      const { renderPull } = await import('../core/report/policy.js');
      ctx.out.result(result, () => renderPull(result));
    });

  policy
    .command('show')
    .description('effective access per API role and command: permissive policies OR\'ed, restrictive AND\'ed')
    .argument('[table]', 'schema.table (a bare name means public.<name>); default: every table')
    .option('--from <source>', 'postgres:// URL, "migrations" or "policies"; default: the target database')
    .action(async (table: string | undefined, o: { from?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const config = ctx.config();
      const source = await sideOf(o.from, '--from', async () => (await targetSource(ctx)).source);
      const serverUrl = source.kind === 'url' ? source.url : (await ctx.server()).url;
      const { modelsOf } = await import('../core/policy/diff.js');
      const { tableAccess, allTablesAccess } = await import('../core/policy/show.js');
      const { apiRolesOf } = await import('../core/config.js');
      const { models } = await modelsOf({ serverUrl, config, from: source, to: source, displayRoot: ctx.cwd, effectivePrivileges: true }, [source]);
      const model = models[0]!;
      const reports = table ? [tableAccess(model, table, apiRolesOf(config))] : allTablesAccess(model, apiRolesOf(config));
      const { renderShow } = await import('../core/report/policy.js');
      ctx.out.result(table ? reports[0] : { tables: reports }, () => renderShow(reports, ctx.out, !!table));
    });

  return policy;
}
