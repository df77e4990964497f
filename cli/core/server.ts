/**
 * Where the database comes from, for every command, in this order:
 *   1. --db <url>, else DATABASE_URL (the CLI passes both in; core never reads env);
 *   2. --engine docker: a container (throwaway by nature);
 *   3. the embedded default, started on first use.
 */
import { RowguardError } from './errors.js';
import { validateUrl } from './urls.js';
import type { Config } from './config.js';

export type Engine = 'auto' | 'embedded' | 'docker';

export interface ServerRequest {
  config: Config;
  /** --db value. */
  dbFlag?: string;
  /** DATABASE_URL, handed in by the CLI layer. */
  envUrl?: string;
  engine?: Engine;
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
}

export interface ResolvedServer {
  /** URL of the database to use (for throwaway work: of the server's maintenance database). */
  url: string;
  source: 'flag' | 'env' | 'embedded' | 'docker';
  /** Stops what this call started (a container); the embedded server keeps running. */
  release(): Promise<void>;
}

export function parseEngine(value: string | undefined): Engine {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'embedded' || value === 'docker') return value;
  throw new RowguardError('usage', `--engine must be embedded or docker (got "${value}")`);
}

export async function resolveServer(req: ServerRequest): Promise<ResolvedServer> {
  const engine = req.engine ?? 'auto';
  if (engine !== 'docker' && engine !== 'embedded') {
    if (req.dbFlag !== undefined) {
      return { url: validateUrl(req.dbFlag, '--db', req.env), source: 'flag', release: async () => {} };
    }
    if (req.envUrl) {
      return { url: validateUrl(req.envUrl, 'DATABASE_URL', req.env), source: 'env', release: async () => {} };
    }
  }
  if (engine === 'docker') {
    const { startDockerPostgres } = await import('./provision/docker.js');
    const c = await startDockerPostgres(req.env ?? {});
    return { url: c.url, source: 'docker', release: c.stop };
  }
  const embedded = await import('./provision/embedded.js');
  const { url } = await embedded.start({ dataDir: req.config.embedded.dataDir, port: req.config.embedded.port, log: req.log });
  return { url, source: 'embedded', release: async () => {} };
}
