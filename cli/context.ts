/**
 * The per-invocation context every command receives: parsed global flags, the
 * frozen config (loaded on first use), the Output, and the database resolver.
 * This is the boundary where process.env and process.cwd() are read.
 */
import type { Command } from 'commander';
import { loadConfig, type Config } from './core/config.js';
import type { Output } from './core/report/output.js';
import { parseEngine, resolveServer, type Engine, type ResolvedServer } from './core/server.js';

// The reporter (and chalk) is loaded before the first action runs (main.ts's
// preAction hook), not at start-up: `rowguard --help` never needs it.
let outputModule: typeof import('./core/report/output.js') | undefined;

export async function loadOutputModule(): Promise<typeof import('./core/report/output.js')> {
  outputModule ??= await import('./core/report/output.js');
  return outputModule;
}

function createOutput(...args: Parameters<typeof import('./core/report/output.js').createOutput>): Output {
  if (!outputModule) throw new Error('rowguard: the output module is loaded by the preAction hook before any action');
  return outputModule.createOutput(...args);
}

export interface GlobalFlags {
  db?: string;
  config?: string;
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
}

export interface Context {
  readonly flags: GlobalFlags;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: Output;
  /** Loaded and validated on first access. */
  config(): Config;
  /** The server to use: --db, DATABASE_URL, --engine docker, or the embedded default. */
  server(engine?: Engine | string): Promise<ResolvedServer>;
  /** stdin, for secrets read with --secret-file - / --stdin. */
  readonly stdin: NodeJS.ReadStream;
}

let current: Context | undefined;

export function contextOf(cmd: Command): Context {
  const flags = cmd.optsWithGlobals() as GlobalFlags;
  if (current && current.flags === flags) return current;
  const env = process.env;
  const out = createOutput(
    { json: flags.json, color: flags.color, quiet: flags.quiet, noColorEnv: 'NO_COLOR' in env && env['NO_COLOR'] !== '', forceColorEnv: !!env['FORCE_COLOR'] && env['FORCE_COLOR'] !== '0' },
    { stdout: process.stdout, stderr: process.stderr },
  );
  let config: Config | undefined;
  const ctx: Context = {
    flags,
    cwd: process.cwd(),
    env,
    out,
    stdin: process.stdin,
    config: () => (config ??= loadConfig({ cwd: process.cwd(), configPath: flags.config })),
    server: (engine) =>
      resolveServer({
        config: ctx.config(),
        dbFlag: flags.db,
        envUrl: env['DATABASE_URL'] || undefined,
        engine: parseEngine(engine),
        env,
        log: (line) => out.info(out.c.dim(line)),
      }),
  };
  current = ctx;
  return ctx;
}

/** Output for errors raised before any command ran (bad flags). */
export async function fallbackOutput(argv: string[]): Promise<Output> {
  await loadOutputModule();
  const env = process.env;
  return createOutput(
    { json: argv.includes('--json'), color: !argv.includes('--no-color'), quiet: false, noColorEnv: 'NO_COLOR' in env && env['NO_COLOR'] !== '' },
    { stdout: process.stdout, stderr: process.stderr },
  );
}
