/**
 * `rowguard test`: build one throwaway database from sql/ with the assertion
 * library installed (the template), copy it once per worker (CREATE DATABASE
 * … TEMPLATE), and run the files in those copies, one at a time per copy,
 * `--jobs` copies side by side (files running at the same time never share a
 * database). A file that may commit something (as pg_prove would leave it for
 * the files after it) runs alone in the run's own copy, kept; the files after
 * it copy that. Then the extra checks (e.g. the access matrix) run against the
 * template. The result is data; reporters render it.
 *
 * Why a file that cannot commit finds its start state even in a reused copy: everything it
 * does runs inside a transaction that is always rolled back (run-file.ts), and
 * the one thing a rollback does not undo — sequence values (nextval and setval
 * are never rolled back) — is set back to the template's values on the same
 * connection right after. Session state (settings, temp tables, advisory locks,
 * prepared statements) ends with the file's connection. If that reset cannot
 * run (the connection died), the copy is dropped and the next file gets a new
 * one. A copy costs a few hundred milliseconds, so this keeps a suite of many
 * small files fast without giving up the identical start.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative, resolve } from 'node:path';
import type { Config } from '../config.js';
import { closeSql, connect, createThrowawayDatabase, describeUrl, dropDatabase, withSql, type ThrowawayDatabase } from '../db.js';
import { RowguardError } from '../errors.js';
import { up } from '../migrate/engine.js';
import { discoverTestFiles, otherSqlFiles } from './discover.js';
import { installLibrary, LIBRARY_SCHEMA } from './library.js';
import { firstCommitted, runTestFile, type FileResult, type TestFile } from './run-file.js';
import { inCommitOrder } from './order.js';

/** Something besides the SQL files that decides whether the run passes. */
export interface ExtraCheck {
  name: string;
  run(ctx: CheckContext): Promise<CheckResult>;
}

export interface CheckContext {
  serverUrl: string;
  config: Config;
  /** Name of the database built from sql/ (plus the rowguard_tap and tests schemas); copy it, never change it. */
  template: string;
  templateUrl: string;
  /** The database each test file starts from: the template, or its copy with the setup files applied (RunOptions.setup); copy it, never change it. */
  files: { name: string; url: string };
  /** The test files that ran for their commits (FileResult.kept), by path: the files after each start from what it committed. */
  kept: ReadonlySet<string>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** One line, e.g. "2 cells changed". */
  summary: string;
  /** One line per problem, e.g. "anon: SELECT public.deployments none → all rows". */
  details: string[];
  /** Anything JSON-safe the check wants in --json output. */
  data?: unknown;
}

export type RunEvent =
  | { kind: 'template'; phase: 'create' | 'migrate' | 'library' | 'ready'; ms?: number; /** the template's name, once ready */ database?: string }
  | { kind: 'file-start'; file: string; /** the throwaway copy it runs in */ database: string }
  | { kind: 'file-done'; result: FileResult; done: number; total: number }
  | { kind: 'check-start'; name: string }
  | { kind: 'check-done'; result: CheckResult };

export interface RunOptions {
  serverUrl: string;
  config: Config;
  cwd: string;
  /** Files or folders; empty: every *.test.sql under the config's test folder. */
  paths: string[];
  filter?: string;
  /** Files at a time (default: the number of CPUs). */
  jobs?: number;
  /** Stop starting new files after the first that does not pass. */
  bail?: boolean;
  extraChecks?: ExtraCheck[];
  onEvent?: (e: RunEvent) => void;
  /**
   * Ctrl-C: stop starting files, end the running ones by dropping their
   * databases (WITH (FORCE) ends their sessions), drop the template, and
   * return what finished, with `interrupted` set.
   */
  signal?: AbortSignal;
  /** A database with sql/ already applied, copied instead of migrating again (the gate's). */
  migrated?: string;
  /**
   * Setup files (`--setup`), in order: run once on a copy of the template as
   * psql runs them under pg_prove, what they commit kept (helper functions a
   * suite's `00000-helpers.sql` creates for the files after it). Every test
   * file starts from that copy; the extra checks still use the template.
   * Their own TAP is not reported; an error in one stops the run.
   */
  setup?: string[];
}

export interface RunCounts {
  files: number;
  passedFiles: number;
  failedFiles: number;
  erroredFiles: number;
  skippedFiles: number;
  tests: number;
  passed: number;
  failed: number;
  todo: number;
  skipped: number;
}

/** The template's sequences and their values, to put back after each file. */
export type SequenceSnapshot = Array<{ name: string; value: string; called: boolean }>;

export interface RunResult {
  ok: boolean;
  files: FileResult[];
  /** Files not run because of --bail. */
  notRun: string[];
  extraChecks: CheckResult[];
  counts: RunCounts;
  bailed: boolean;
  /** Stopped by the abort signal. */
  interrupted: boolean;
  jobs: number;
  timings: { templateMs: number; filesMs: number; checksMs: number; totalMs: number };
}

export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/** Settings every test session gets: what tests.* needs to build claims like `jwt mint`. */
export function sessionSettings(config: Config): Record<string, string> {
  return {
    'rowguard.jwt_issuer': config.jwt.issuer,
    'rowguard.jwt_exp': String(config.jwt.expiresIn),
    'rowguard.anon_role': config.api.anonRole,
    'rowguard.authenticated_role': config.api.authenticatedRole,
    'rowguard.service_role': config.api.serviceRole,
  };
}

/**
 * A built template: its sequences as they start, and the library's function names (what a
 * file may call without leaving anything behind, see leavesNothing).
 */
export type Template = ThrowawayDatabase & { sequences: SequenceSnapshot; libraryFunctions: ReadonlySet<string> };

/**
 * The database every file copies: sql/ applied by the migration engine (or a
 * copy of `migrated`, a database that already has it), then the library.
 */
export async function buildTemplate(
  serverUrl: string,
  config: Config,
  onEvent?: (e: RunEvent) => void,
  migrated?: string,
): Promise<Template> {
  onEvent?.({ kind: 'template', phase: 'create' });
  const db = await createThrowawayDatabase(serverUrl, { prefix: 'rowguard_test', template: migrated });
  try {
    if (migrated === undefined) {
      onEvent?.({ kind: 'template', phase: 'migrate' });
      await up({
        url: db.url,
        dir: config.dirs.sql,
        displayRoot: config.root,
        lockTimeout: config.migrations.lockTimeout,
        statementTimeout: config.migrations.statementTimeout,
      });
    }
    onEvent?.({ kind: 'template', phase: 'library' });
    const sql = connect(db.url);
    let sequences: SequenceSnapshot;
    let libraryFunctions: Set<string>;
    try {
      await installLibrary(sql);
      sequences = await sequenceSnapshot(sql);
      const names = await sql<Array<{ name: string }>>`select distinct p.proname::text as name from pg_catalog.pg_proc p where p.pronamespace = pg_catalog.to_regnamespace(${LIBRARY_SCHEMA})`;
      libraryFunctions = new Set(names.map((r) => r.name));
    } finally {
      // No session may stay connected to a template while it is copied.
      await closeSql(sql);
    }
    return { ...db, sequences, libraryFunctions };
  } catch (err) {
    await db.drop().catch(() => undefined);
    throw err;
  }
}

async function sequenceSnapshot(sql: ReturnType<typeof connect>): Promise<SequenceSnapshot> {
  // pg_sequences.last_value is NULL until the first nextval (is_called false): then restart at start_value.
  const rows = await sql<Array<{ name: string; value: string; called: boolean }>>`
    select format('%I.%I', schemaname, sequencename) as name,
           coalesce(last_value, start_value)::text as value,
           last_value is not null as called
      from pg_catalog.pg_sequences`;
  return rows.map((r) => ({ name: r.name, value: r.value, called: r.called }));
}

/** One statement that puts every sequence back (setval with is_called as it was). */
export function resetStatement(seq: SequenceSnapshot): { text: string; params: unknown[] } {
  return {
    text: `select count(pg_catalog.setval(x.name::regclass, x.value, x.called)) from pg_catalog.jsonb_to_recordset($1::text::jsonb) as x(name text, value bigint, called boolean)`,
    params: [JSON.stringify(seq)],
  };
}

export function countResults(files: FileResult[]): RunCounts {
  const c: RunCounts = { files: files.length, passedFiles: 0, failedFiles: 0, erroredFiles: 0, skippedFiles: 0, tests: 0, passed: 0, failed: 0, todo: 0, skipped: 0 };
  for (const f of files) {
    if (f.status === 'passed') c.passedFiles++;
    else if (f.status === 'failed') c.failedFiles++;
    else if (f.status === 'errored') c.erroredFiles++;
    else c.skippedFiles++;
    for (const t of f.tests) {
      c.tests++;
      if (t.directive?.kind === 'skip') c.skipped++;
      else if (t.directive?.kind === 'todo') c.todo++;
      else if (t.failed) c.failed++;
      else c.passed++;
    }
  }
  return c;
}

export async function runTests(opts: RunOptions): Promise<RunResult> {
  const t0 = performance.now();
  const results: FileResult[] = [];
  const notRun: string[] = [];
  const drops: Array<Promise<void>> = [];
  const setupFiles = (opts.setup ?? []).map((p) => {
    const path = resolve(opts.cwd, p);
    const shown = relative(opts.cwd, path) || path;
    if (!existsSync(path)) throw new RowguardError('usage', `setup file not found: ${shown}`, { hint: '--setup (or the config\'s testSetup) names a file that runs before the tests' });
    if (!statSync(path).isFile()) throw new RowguardError('usage', `setup file ${shown} is a folder: name a file`, { hint: '--setup (or the config\'s testSetup) names a file that runs before the tests; repeat it for several' });
    return { path, display: relative(opts.config.root, path) || path };
  });
  const setupPaths = new Set(setupFiles.map((f) => f.path));
  // A setup file inside a folder that is also searched is not run a second time as a test.
  const files = discoverTestFiles({
    cwd: opts.cwd,
    displayRoot: opts.config.root,
    paths: opts.paths,
    defaultDir: opts.config.dirs.test,
    filter: opts.filter,
  }).filter((f) => !setupPaths.has(f.path));
  const checks = opts.extraChecks ?? [];
  if (files.length === 0 && checks.length === 0) {
    const others = opts.filter ? [] : otherSqlFiles({ cwd: opts.cwd, displayRoot: opts.config.root, paths: opts.paths, defaultDir: opts.config.dirs.test });
    const where = opts.paths.length ? opts.paths.join(', ') : 'the test folder';
    throw new RowguardError('usage', opts.filter ? `no test file matches --filter ${opts.filter}` : 'no test files found', {
      hint: others.length
        ? `the test folder contributes its *.test.sql files; ${where} has ${others.length} other .sql file${others.length === 1 ? '' : 's'} (${others[0]}${others.length > 1 ? ', …' : ''}): name them *.test.sql, or pass the folder as a path (a folder named with no *.test.sql in it runs its .sql files, as supabase test db does)`
        : `rowguard test runs the *.test.sql files under ${where} (folders named fixtures are skipped)`,
    });
  }
  const jobs = Math.max(1, Math.min(opts.jobs ?? defaultJobs(), Math.max(1, files.length)));

  const template = await buildTemplate(opts.serverUrl, opts.config, opts.onEvent, opts.migrated);
  let base: ThrowawayDatabase & { sequences: SequenceSnapshot } = template;
  if (setupFiles.length) {
    try {
      base = await applySetup(opts, template, setupFiles);
    } catch (err) {
      await template.drop().catch(() => undefined);
      throw err;
    }
  }
  const inUse = new Set<string>();
  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    for (const name of inUse) drops.push(dropDatabase(opts.serverUrl, name).catch(() => undefined));
    inUse.clear();
  };
  if (opts.signal?.aborted) interrupted = true;
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  /**
   * A file whose session ended under it: when the server no longer answers, the run stops
   * with exit 3 (the connection was lost, README "Exit codes"), not a failing file.
   * A server that still answers ended that one session: the file errored.
   */
  const stopIfServerGone = async (result: FileResult) => {
    if (!result.connectionLost || interrupted) return;
    const where = describeUrl(opts.serverUrl);
    const refused = await withSql(opts.serverUrl, (sql) => sql`select 1`).then(() => null, (err: Error) => err.message.replace(`could not connect to ${where}: `, ''));
    if (refused !== null) {
      throw new RowguardError('db_unreachable', `lost the connection to ${where} while running ${result.file}; connecting again failed: ${refused}`, {
        hint: 'is the server still running? run the tests again once it takes connections',
      });
    }
  };
  const templateMs = performance.now() - t0;
  opts.onEvent?.({ kind: 'template', phase: 'ready', ms: templateMs, database: template.name });

  let bailed = false;
  let filesMs = 0;
  let checksMs = 0;
  // pg_prove runs a suite's files one after another in one database: what a file commits is there
  // for the files after it. A file that may commit (firstCommitted) runs alone, in the run's own
  // copy, with its commits kept (run-file's `commit`), and the files after it start from that copy;
  // the files between two such files run side by side, each in a copy, rolled back.
  let carried: (ThrowawayDatabase & { sequences: SequenceSnapshot }) | undefined;
  let keptPaths = new Set<string>();
  try {
    const t1 = performance.now();
    const settings = sessionSettings(opts.config);
    const keptFrom = await Promise.all(files.map((file) => firstCommitted({ file, cwd: opts.cwd, displayRoot: opts.config.root, librarySchema: LIBRARY_SCHEMA }, template.libraryFunctions)));
    keptPaths = new Set(files.filter((_, i) => keptFrom[i]).map((f) => f.path));
    const stopped = () => bailed || interrupted;
    const record = (result: FileResult) => {
      results.push(result);
      opts.onEvent?.({ kind: 'file-done', result, done: results.length, total: files.length });
      if (opts.bail && result.status !== 'passed' && result.status !== 'skipped') bailed = true;
    };
    /** Files side by side, `jobs` copies of `from` at a time, each copy reused after the file's rollback. */
    const runSideBySide = async (batch: TestFile[], from: ThrowawayDatabase & { sequences: SequenceSnapshot }) => {
      let next = 0;
      const reset = resetStatement(from.sequences);
      const worker = async () => {
        let copy: ThrowawayDatabase | undefined;
        const discard = () => {
          // drop() names a copy it cannot drop once the command is done (leftovers.ts).
          if (copy && inUse.delete(copy.name)) drops.push(copy.drop().catch(() => undefined));
          copy = undefined;
        };
        try {
          while (next < batch.length && !stopped()) {
            const file = batch[next++]!;
            if (!copy) {
              copy = await createThrowawayDatabase(opts.serverUrl, { prefix: 'rowguard_t', template: from.name });
              inUse.add(copy.name);
              if (interrupted) {
                discard();
                break;
              }
            }
            opts.onEvent?.({ kind: 'file-start', file: file.display, database: copy.name });
            let clean = false;
            const result = await runTestFile({ url: copy.url, file, cwd: opts.cwd, displayRoot: opts.config.root, settings, librarySchema: LIBRARY_SCHEMA, reset, onReset: (ok) => (clean = ok) });
            if (!clean) discard();
            // Ctrl-C dropped its database under it: not a result, the file is listed as not run.
            if (result.connectionLost && interrupted) break;
            await stopIfServerGone(result);
            record(result);
          }
        } finally {
          discard();
        }
      };
      await Promise.all(Array.from({ length: Math.min(jobs, batch.length) }, worker));
    };
    let from = base;
    await inCommitOrder(files, (_, i) => keptFrom[i] !== null, {
      sideBySide: (batch) => runSideBySide(batch, from),
      alone: async (file, i) => {
        if (!carried) {
          carried = { ...(await createThrowawayDatabase(opts.serverUrl, { prefix: 'rowguard_tk', template: from.name })), sequences: from.sequences };
          from = carried;
        }
        const into = carried;
        inUse.add(into.name);
        opts.onEvent?.({ kind: 'file-start', file: file.display, database: into.name });
        const result = await runTestFile({ url: into.url, file, cwd: opts.cwd, displayRoot: opts.config.root, settings, librarySchema: LIBRARY_SCHEMA, commit: true });
        inUse.delete(into.name);
        if (result.connectionLost && interrupted) return;
        await stopIfServerGone(result);
        // What it did to sequences stays too (nextval is never rolled back, under psql neither), unless
        // nothing of it was kept: then they go back to where the file found them.
        if (!result.notKept) result.kept = keptFrom[i]!;
        if (!interrupted) {
          const reset = resetStatement(into.sequences);
          if (result.notKept) await withSql(into.url, (sql) => sql.unsafe(reset.text, reset.params as never[]));
          else into.sequences = await withSql(into.url, sequenceSnapshot);
        }
        record(result);
      },
    }, stopped);
    filesMs = performance.now() - t1;
    const ran = new Set(results.map((r) => r.file));
    for (const f of files) if (!ran.has(f.display)) notRun.push(f.display);

    const extra: CheckResult[] = [];
    if (!bailed && !interrupted) {
      const t2 = performance.now();
      for (const check of checks) {
        opts.onEvent?.({ kind: 'check-start', name: check.name });
        const r = await check.run({ serverUrl: opts.serverUrl, config: opts.config, template: template.name, templateUrl: template.url, files: { name: base.name, url: base.url }, kept: keptPaths });
        extra.push(r);
        opts.onEvent?.({ kind: 'check-done', result: r });
      }
      checksMs = performance.now() - t2;
    }
    results.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    const counts = countResults(results);
    const ok = !bailed && !interrupted && results.every((r) => r.status === 'passed' || r.status === 'skipped') && extra.every((c) => c.ok);
    return { ok, files: results, notRun, extraChecks: extra, counts, bailed, interrupted, jobs, timings: { templateMs, filesMs, checksMs, totalMs: performance.now() - t0 } };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await Promise.all(drops);
    if (carried) await carried.drop().catch(() => undefined);
    if (base !== template) await base.drop().catch(() => undefined);
    await template.drop().catch(() => undefined);
  }
}

/** The run's setup files on a copy of the template, committed; the copy's sequences as they are then. */
async function applySetup(opts: RunOptions, template: ThrowawayDatabase, setupFiles: Array<{ path: string; display: string }>): Promise<ThrowawayDatabase & { sequences: SequenceSnapshot }> {
  const db = await createThrowawayDatabase(opts.serverUrl, { prefix: 'rowguard_ts', template: template.name });
  try {
    for (const file of setupFiles) {
      const r = await runTestFile({ url: db.url, file, cwd: opts.cwd, displayRoot: opts.config.root, settings: sessionSettings(opts.config), librarySchema: LIBRARY_SCHEMA, commit: true });
      if (r.notKept) throw new RowguardError('sql', `setup file ${file.display}: nothing it did was kept: ${r.notKept}`);
      if (r.error) {
        // The location names the file (or the file it \i-included); without one, the message does.
        throw new RowguardError('sql', `setup file ${r.error.location ? '' : file.display + ' '}failed: ${r.error.message}`, {
          ...(r.error.location ? { location: r.error.location } : {}),
          ...(r.error.hint ? { hint: r.error.hint } : {}),
          ...(r.error.pg ? { pg: r.error.pg } : {}),
        });
      }
    }
    return { ...db, sequences: await withSql(db.url, sequenceSnapshot) };
  } catch (err) {
    await db.drop().catch(() => undefined);
    throw err;
  }
}
