/**
 * `--engine docker`: a PostgreSQL 17 container through @testcontainers/postgresql.
 * Checked before loading testcontainers, so a machine without a Docker engine gets
 * one clear message instead of a long retry.
 */
import { existsSync } from 'node:fs';
import { RowguardError } from '../errors.js';

export interface DockerServer {
  url: string;
  stop(): Promise<void>;
}

/** Whether a Docker engine socket or DOCKER_HOST is present (env passed in, never read here). */
export function dockerEndpoint(env: Record<string, string | undefined>): string | undefined {
  if (env['DOCKER_HOST']) return env['DOCKER_HOST'];
  for (const sock of ['/var/run/docker.sock', `${env['HOME'] ?? ''}/.docker/run/docker.sock`]) {
    if (sock && existsSync(sock)) return `unix://${sock}`;
  }
  return undefined;
}

export async function startDockerPostgres(env: Record<string, string | undefined>, image = 'postgres:17-alpine'): Promise<DockerServer> {
  const endpoint = dockerEndpoint(env);
  if (!endpoint) {
    throw new RowguardError('docker_unavailable', '--engine docker: no Docker engine found (no DOCKER_HOST, no /var/run/docker.sock)', {
      hint: 'start Docker, or use the embedded default (omit --engine) or --db <url>',
    });
  }
  let mod: typeof import('@testcontainers/postgresql');
  try {
    mod = await import('@testcontainers/postgresql');
  } catch (err) {
    throw new RowguardError('docker_unavailable', '--engine docker needs @testcontainers/postgresql (npm install @testcontainers/postgresql)', { cause: err });
  }
  try {
    const container = await new mod.PostgreSqlContainer(image).start();
    // The image serves no TLS: say so in the URL, so a PGSSLMODE meant for another server stays off it.
    const url = new URL(container.getConnectionUri());
    url.searchParams.set('sslmode', 'disable');
    return { url: url.toString(), stop: async () => void (await container.stop()) };
  } catch (err) {
    throw new RowguardError('docker_unavailable', `--engine docker: could not start ${image} at ${endpoint}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}
