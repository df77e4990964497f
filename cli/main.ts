#!/usr/bin/env node
/**
 * rowguard's entry point: builds the commander program from one factory per
 * command, and is the one place where errors become output and exit codes.
 * Command modules are light (flags only); each action imports its core code
 * lazily so `rowguard --help` starts fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, RowguardError, isRowguardError, pgFieldsOf, sessionEndedState } from './core/errors.js';
import { fallbackOutput, loadOutputModule } from './context.js';
import { dropByHand, inFlight, leftBehindWarnings, live } from './core/leftovers.js';
import { makeDbCommand } from './commands/db.js';
import { makeMigrateCommand } from './commands/migrate.js';
import { makeCodegenCommand } from './commands/codegen.js';
import { makeGateCommand } from './commands/gate.js';
import { makeInitCommand } from './commands/init.js';
import { makeMatrixCommand } from './commands/matrix.js';
import { makePolicyCommand } from './commands/policy.js';
import { makeJwtCommand } from './commands/jwt.js';
import { makeAsCommand } from './commands/as.js';
import { makeAuditCommand } from './commands/audit.js';
import { makeLintCommand } from './commands/lint.js';
import { makeTestCommand } from './commands/test.js';
import { makeAuthCommand } from './commands/auth.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  the checked thing failed (a migration failed, drift found, lint findings, failing tests, a rejected token)
  2  usage or configuration error (nothing was done)
  3  the database could not be reached or provisioned, or the connection was lost
  130  interrupted by Ctrl-C (143: SIGTERM); the throwaway databases it made are dropped (any it cannot drop is named);
       a second signal stops at once, naming those it may leave`;

export function buildProgram(): Command {
  const program = new Command('rowguard')
    .description('Keep a PostgreSQL security model (auth schema, RLS, bcrypt, audit) as versioned SQL, and prove it.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--db <url>', 'database URL (default: DATABASE_URL, else the embedded Postgres)'))
    .addOption(new Option('--config <file>', 'config file (default: the nearest rowguard.config.json from the current folder up)'))
    .option('--json', 'print one JSON document on stdout')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .option('-q, --quiet', 'print only results and errors')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .hook('preAction', async () => void (await loadOutputModule()));

  for (const make of COMMANDS) program.addCommand(make());

  // Every command (and sub-command) documents the exit codes and exits 2 on usage errors.
  const configure = (cmd: Command) => {
    cmd.exitOverride();
    if (cmd !== program) cmd.addHelpText('after', EXIT_CODES_HELP);
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}

const VERSION = '0.1.0';

// The order of `rowguard --help`: the CI gate first, then the workflow a developer follows.
const COMMANDS: Array<() => Command> = [
  makeGateCommand,
  makeInitCommand,
  makeDbCommand,
  makeMigrateCommand,
  makePolicyCommand,
  makeLintCommand,
  makeJwtCommand,
  makeAsCommand,
  makeAuthCommand,
  makeTestCommand,
  makeMatrixCommand,
  makeAuditCommand,
  makeCodegenCommand,
];

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.includes('--json')) {
    // Usage errors become the JSON error document (reportError) instead of commander's text.
    const quiet = (cmd: Command) => {
      cmd.configureOutput({ outputError: () => undefined, writeErr: () => undefined });
      cmd.commands.forEach(quiet);
    };
    quiet(program);
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    return await reportError(err, argv);
  } finally {
    // Throwaway databases the command could not drop: named once it is done, whatever its result.
    const left = leftBehindWarnings();
    if (left.length) {
      const out = await fallbackOutput(argv);
      for (const w of left) out.warn(w);
    }
  }
}

async function reportError(err: unknown, argv: string[]): Promise<number> {
  if (err instanceof CommanderError) {
    // help and version "errors" are how commander says it printed them.
    // A group without its sub-command (`rowguard jwt`) is commander's help "as an error" (exit code 1).
    const missing = err.code === 'commander.help' && err.exitCode !== 0;
    if ((err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') && !missing) return ExitCode.ok;
    if (argv.includes('--json')) {
      const out = await fallbackOutput(argv);
      const message = missing ? 'missing command: name one of the sub-commands' : err.message.replace(/^error: /, '');
      const usage = new RowguardError('usage', message, { hint: 'run with --help for usage' });
      out.out(JSON.stringify({ error: usage.toJSON() }, null, 2));
    }
    return ExitCode.usage;
  }
  const out = await fallbackOutput(argv);
  const rgErr = toRowguardError(err);
  if (out.json) {
    out.out(JSON.stringify({ error: rgErr.toJSON() }, null, 2));
  } else {
    // Lazy: the renderer is only needed on failure.
    const { renderError } = await import('./core/report/error.js');
    out.err(renderError(rgErr, out));
    if (rgErr.code === 'internal' && process.env['ROWGUARD_DEBUG']) out.err(String((err as Error)?.stack ?? err) + '\n');
  }
  return rgErr.exitCode;
}

const FS_HINTS: Record<string, string> = {
  ENOENT: 'the file or its folder does not exist',
  EISDIR: 'that is a folder: name a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EACCES: 'no permission for that path',
  EPERM: 'no permission for that path',
  EROFS: 'that file system is read-only',
  ENOSPC: 'no space left on the device',
  EEXIST: 'the file exists already',
};

function toRowguardError(err: unknown): RowguardError {
  // A session the server ended, on a path that did not say so itself (a command's own connection,
  // an error a command wrapped as SQL): the connection was lost (exit 3), not the SQL that failed.
  const ended = isRowguardError(err) ? (err.code === 'sql' ? err.pg : undefined) : pgFieldsOf(err);
  if (ended && sessionEndedState(ended.sqlstate)) {
    return new RowguardError('db_unreachable', `lost the database connection: ${ended.message ?? (err as Error).message}`, {
      hint: 'the server ended the session (stopped, restarted, or pg_terminate_backend): a transaction it had open was rolled back',
      pg: ended,
      cause: err,
    });
  }
  if (isRowguardError(err)) return err;
  const pg = pgFieldsOf(err);
  if (pg) return new RowguardError('sql', pg.message ?? 'database error', { pg, cause: err });
  const code = (err as { code?: string })?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'CONNECT_TIMEOUT' || code === 'CONNECTION_CLOSED' || code === 'CONNECTION_ENDED' || code === 'CONNECTION_DESTROYED' || code === 'ECONNRESET') {
    return new RowguardError('db_unreachable', `lost the database connection (${code})`);
  }
  // A file rowguard was told to read or write (-o, --junit, --summary-file, …) that cannot be:
  // the user's path, not a bug. Node's fs errors carry the errno code, the call and the path.
  const fsErr = err as NodeJS.ErrnoException;
  if (typeof fsErr?.path === 'string' && typeof fsErr.syscall === 'string' && typeof code === 'string' && code in FS_HINTS) {
    return new RowguardError('io', `cannot ${fsErr.syscall} ${fsErr.path} (${code})`, { hint: FS_HINTS[code], cause: err });
  }
  const message = (err as Error)?.message ?? String(err);
  return new RowguardError('internal', `internal error: ${message.replace(/postgres(ql)?:\/\/[^@\s]*@/g, 'postgres://*****@')}`, {
    hint: 'this is a bug in rowguard; ROWGUARD_DEBUG=1 prints the stack',
    cause: err,
  });
}

/** Set once the process is being ended by a signal or a fatal error: nothing else is reported then. */
let stopping = false;

// Run when executed as the bin (not when imported by tests).
const invokedDirectly = process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL((await import('node:fs')).realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  // A reader that goes away (`rowguard lint | head`) is not an error: the rest of
  // the output is dropped and the command finishes (its transactions end as usual).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    });
  }
  onInterrupt(process.argv.slice(2));
  onUncaught(process.argv.slice(2));
  let settled = false;
  // A command left waiting on something that can no longer happen (a query whose socket the
  // driver lost without settling it, porsager/postgres#1208): Node would end with exit 13 and a
  // warning about an unsettled await. Say what most likely happened instead. (An exit the
  // command asked for, a second Ctrl-C's 130, arrives here with its own code.)
  process.once('exit', (exitCode) => {
    if (settled || stopping || exitCode !== 0) return;
    // No time to drop its throwaway databases here (an exit handler cannot wait): name them.
    const names = live.map((l) => l.name);
    const drop = names.length ? `; it left ${names.join(', ')}: ${dropByHand(names)}` : '';
    const err = new RowguardError('db_unreachable', 'lost the database connection: the command was left waiting for an answer that cannot come', { hint: `is the server still running? run the command again${drop}` });
    const json = process.argv.includes('--json');
    if (json) process.stdout.write(JSON.stringify({ error: err.toJSON() }, null, 2) + '\n');
    else process.stderr.write(`error: ${err.message}\nhint: ${err.hint}\n`);
    process.exitCode = err.exitCode;
  });
  const code = await main(process.argv.slice(2));
  settled = true;
  process.exitCode = code;
}

/** Drop the throwaway databases still alive (10 s at most): what is left, and a hint to drop it by hand. */
async function dropLeftovers(): Promise<{ what: string; hint?: string }> {
  const { dropLiveThrowawayDatabases } = await import('./core/db.js');
  const result = await Promise.race([dropLiveThrowawayDatabases(), new Promise<null>((r) => setTimeout(() => r(null), 10_000).unref())]);
  const plural = (n: number) => `${n} throwaway database${n > 1 ? 's' : ''}`;
  if (!result) return { what: 'its throwaway databases could not all be dropped within 10 s' };
  if (result.left.length) {
    const names = result.left.map((l) => l.name);
    return {
      what: `${result.dropped ? `${plural(result.dropped)} dropped; ` : ''}could not drop ${names.join(', ')} (${result.left[0]!.reason})`,
      hint: dropByHand(names),
    };
  }
  return { what: result.dropped ? `${plural(result.dropped)} dropped` : 'nothing to clean up' };
}

/**
 * postgres.js 3.4.9 writes a buffered message from a setImmediate callback, which throws when
 * the server closed the connection in between (its socket is null then; porsager/postgres#1154,
 * #1208). The query it belonged to is rejected with CONNECTION_CLOSED on the driver's close path,
 * and the command reports that: the throw itself carries nothing to report.
 */
function isDriverWriteAfterClose(err: unknown): boolean {
  return err instanceof TypeError && /reading 'write'/.test(err.message) && /postgres[\\/]src[\\/]connection\.js/.test(err.stack ?? '');
}

/**
 * An exception or rejection nothing awaited (a callback of a library, a promise nobody
 * caught): one line, never Node's stack trace, the throwaway databases dropped, its exit code.
 */
function onUncaught(argv: string[]): void {
  const fatal = (err: unknown) => {
    if (stopping) return;
    if (isDriverWriteAfterClose(err)) return;
    stopping = true;
    void (async () => {
      const out = await fallbackOutput(argv);
      (await loadOutputModule()).silenceOutput();
      const rgErr = toRowguardError(err);
      const { hint } = await dropLeftovers();
      const shown = hint ? new RowguardError(rgErr.code, rgErr.message, { hint: `${rgErr.hint ? rgErr.hint + '; ' : ''}${hint}`, exitCode: rgErr.exitCode }) : rgErr;
      if (out.json) process.stdout.write(JSON.stringify({ error: shown.toJSON() }, null, 2) + '\n');
      else {
        process.stderr.write((await import('./core/report/error.js')).renderError(shown, out));
        if (rgErr.code === 'internal' && process.env['ROWGUARD_DEBUG']) process.stderr.write(String((err as Error)?.stack ?? err) + '\n');
      }
      process.exit(rgErr.exitCode);
    })();
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

/**
 * Ctrl-C (or a cancelled CI job's SIGTERM) in a command that does not handle it
 * itself: drop the throwaway databases this process made, report the interruption
 * (the --json error document too), exit 130 / 143. `test` and `migrate` listen
 * themselves (they stop cleanly and report what finished); a second signal exits at once.
 */
function onInterrupt(argv: string[]): void {
  let signals = 0;
  const handler = (signal: NodeJS.Signals) => {
    const exitCode = signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
    // A second signal, whoever took the first (this handler, or a command's own): exit now.
    if (stopping || ++signals > 1) exitAtOnce(signal, exitCode, argv);
    if (process.listenerCount(signal) > 1) return;
    stopping = true;
    // The command keeps running until exit; what fails in it once its databases are
    // dropped under it (its connections ended) is not reported, nor is what it prints.
    process.on('uncaughtException', () => undefined);
    process.on('unhandledRejection', () => undefined);
    void (async () => {
      const out = await fallbackOutput(argv);
      (await loadOutputModule()).silenceOutput();
      // Cancel what runs on the user's database (as -c): its backend would run it to the end.
      if (inFlight.size) {
        const settled = [...inFlight].map((q) => (q.cancel(), q.settled));
        await Promise.race([Promise.all(settled), new Promise((r) => setTimeout(r, 5_000).unref())]);
      }
      const { what, hint } = await dropLeftovers();
      const err = new RowguardError('interrupted', `interrupted by ${signal}: ${what}`, { exitCode, ...(hint ? { hint } : {}) });
      if (out.json) process.stdout.write(JSON.stringify({ error: err.toJSON() }, null, 2) + '\n');
      else process.stderr.write((await import('./core/report/error.js')).renderError(err, out));
      process.exit(exitCode);
    })();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/**
 * The second signal: no time to drop the throwaway databases still there (the first signal's
 * drops may be under way), so one line names them, with the statements that drop them.
 */
function exitAtOnce(signal: NodeJS.Signals, exitCode: ExitCode, argv: string[]): never {
  stopping = true;
  const names = live.map((l) => l.name);
  const err = new RowguardError('interrupted', `interrupted by ${signal} again: stopped at once${names.length ? `; it may leave ${names.join(', ')}` : ''}`, {
    exitCode,
    ...(names.length ? { hint: dropByHand(names) } : {}),
  });
  if (argv.includes('--json')) process.stdout.write(JSON.stringify({ error: err.toJSON() }, null, 2) + '\n');
  else process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
  process.exit(exitCode);
}
