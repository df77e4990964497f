/**
 * `policy apply`: run a plan on the target in one transaction, and the rule for
 * when widening steps need `--allow-widening`.
 */
import { withSql } from '../db.js';
import { RowguardError, pgFieldsOf } from '../errors.js';
import { isWidening } from './effects.js';
import type { PolicyPlan, Step } from './plan.js';
import { stepSql } from './render.js';
import { stepSource, type PolicyFile } from './files.js';

/**
 * "Local" = a database nobody else depends on: the embedded server or a Docker
 * container rowguard started, or a URL whose host is the loopback interface or
 * a Unix socket. Anything else (staging, production, a teammate's host) is remote.
 */
export function isLocalDatabase(url: string, source: 'flag' | 'env' | 'embedded' | 'docker'): boolean {
  if (source === 'embedded' || source === 'docker') return true;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const socket = u.searchParams.get('host');
  if (socket && socket.startsWith('/')) return true;
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === '') return !socket;
  // 127.0.0.0/8, ::1, and IPv4-mapped 127.x (the URL parser prints ::ffff:127.0.0.1 as ::ffff:7f00:1).
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host) || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(host);
}

export function wideningSteps(plan: PolicyPlan): Step[] {
  return plan.steps.filter((s) => isWidening(s.hazard));
}

/** Refuse widening steps on a database that is not local, unless explicitly allowed. */
export function assertWideningAllowed(plan: PolicyPlan, opts: { local: boolean; allowWidening: boolean; label: string }): void {
  const widening = wideningSteps(plan);
  if (widening.length === 0 || opts.local || opts.allowWidening) return;
  throw new RowguardError(
    'check_failed',
    `refusing to apply ${widening.length} widening change${widening.length === 1 ? '' : 's'} to ${opts.label}, which is not a local database; nothing was applied`,
    {
      hint: 'review the changes marked WIDENS / MAY WIDEN, then rerun with --allow-widening',
      meta: { widening: widening.map((s) => s.effects[0]) },
    },
  );
}

/** undefined_function, undefined_table, undefined_object (a role, a type), undefined_column, undefined_schema. */
const MISSING_OBJECT = new Set(['42883', '42P01', '42704', '42703', '3F000']);

export interface ApplyOptions {
  url: string;
  lockTimeout: string;
  statementTimeout: string;
  /** The policies/ files the plan was made from: a failing step's error then names the statement it comes from. */
  sources?: readonly PolicyFile[];
}

/**
 * All steps in one transaction; the first failure rolls everything back. The
 * steps go in one round trip; when that fails, the transaction is rolled back
 * and retried step by step, so the error names the step that fails.
 */
export async function applyPlan(plan: PolicyPlan, opts: ApplyOptions): Promise<{ applied: number }> {
  if (plan.steps.length === 0) return { applied: 0 };
  const texts = plan.steps.map(stepSql);
  await withSql(opts.url, async (sql) => {
    const run = (oneTrip: boolean) =>
      sql.begin(async (tx) => {
        // pg_catalog first: the expressions are pg_get_expr text read with an empty search_path, whose
        // bare names are pg_catalog's; the target's own search_path may list it late (render.ts). And
        // read with standard_conforming_strings on, which the target may turn off: set here, before the
        // steps are sent, it decides how their '…' literals are read.
        await tx`select set_config('lock_timeout', ${opts.lockTimeout}, true), set_config('statement_timeout', ${opts.statementTimeout}, true), set_config('search_path', 'pg_catalog, ' || current_setting('search_path'), true), set_config('standard_conforming_strings', 'on', true)`;
        if (oneTrip) {
          await tx.unsafe(texts.join('\n')).simple();
          return;
        }
        for (const [i, text] of texts.entries()) {
          try {
            await tx.unsafe(text).simple();
          } catch (err) {
            const pg = pgFieldsOf(err);
            if (!pg) throw err;
            const location = opts.sources ? stepSource(plan.steps[i]!, opts.sources) : undefined;
            throw new RowguardError('sql', `step ${i + 1} of ${texts.length} failed, nothing was applied: ${pg.message ?? 'error'}`, {
              ...(location ? { location } : {}),
              pg,
              detail: text,
              hint:
                pg.sqlstate === '55P03'
                  ? 'another session holds a lock on the table; retry, or raise migrations.lockTimeout'
                  : MISSING_OBJECT.has(pg.sqlstate ?? '')
                    ? 'this database lacks something sql/ creates: apply the migrations first (rowguard migrate up)'
                    : undefined,
              cause: err,
            });
          }
        }
      });
    try {
      await run(true);
    } catch (err) {
      if (!pgFieldsOf(err)) throw err;
      await run(false);
    }
  });
  return { applied: plan.steps.length };
}
