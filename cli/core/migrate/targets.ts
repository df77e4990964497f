/**
 * `migrate up --targets <file>`: the same migrations on many databases (a
 * database per tenant, several regions). Each target takes its own advisory
 * lock; one failing target neither stops nor corrupts the others.
 */
import { readFileSync } from 'node:fs';
import { RowguardError } from '../errors.js';
import { describeUrl, scrubSecrets, validateUrl } from '../db.js';
import type { EngineOptions, UpResult } from './engine.js';

export interface Target {
  url: string;
  /** Where it came from (file:line or env:NAME), for messages. */
  source: string;
}

/**
 * One URL per line; blank lines and `#` comments ignored; `env:NAME` reads the
 * URL from an environment variable (so a committed file holds no password).
 */
export function parseTargets(text: string, file: string, env: Readonly<Record<string, string | undefined>>): Target[] {
  const targets: Target[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const where = `${file}:${i + 1}`;
    let url = line;
    if (line.startsWith('env:')) {
      const name = line.slice(4);
      const v = env[name];
      if (!v) {
        problems.push(`${where}: environment variable ${name} is not set`);
        return;
      }
      url = v;
    }
    try {
      url = validateUrl(url, where, env);
    } catch (e) {
      problems.push((e as Error).message.replace(url, '(url)'));
      return;
    }
    targets.push({ url, source: line.startsWith('env:') ? `${where} (${line})` : where });
  });
  // Each problem starts with the file and its line already.
  if (problems.length) throw new RowguardError('usage', problems.join('; '));
  if (targets.length === 0) throw new RowguardError('usage', `${file}: no target databases listed`);
  const seen = new Map<string, string>();
  for (const t of targets) {
    const key = describeUrl(t.url);
    if (seen.has(key)) throw new RowguardError('usage', `${t.source}: ${key} is listed twice (also at ${seen.get(key)})`);
    seen.set(key, t.source);
  }
  return targets;
}

export function readTargetsFile(path: string, env: Readonly<Record<string, string | undefined>>): Target[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new RowguardError('usage', `--targets: cannot read ${path} (${code})`, code === 'EISDIR' ? { hint: 'that is a folder: name the file that lists the databases' } : {});
  }
  return parseTargets(text, path, env);
}

export interface TargetResult {
  target: string;
  source: string;
  ok: boolean;
  applied: string[];
  upToDate: boolean;
  durationMs: number;
  error?: { code: string; message: string; location?: string };
}

/** Run `up` on every target with at most `concurrency` at once. */
export async function upMany(
  targets: readonly Target[],
  base: Omit<EngineOptions, 'url'>,
  planOpts: { to?: string; dryRun?: boolean; allowOutOfOrder?: boolean },
  concurrency: number,
  onResult?: (r: TargetResult) => void,
): Promise<TargetResult[]> {
  const { up } = await import('./engine.js');
  const results: TargetResult[] = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= targets.length) return;
      const t = targets[i]!;
      const t0 = performance.now();
      let r: TargetResult;
      if (base.signal?.aborted) {
        // Interrupted: the targets not started yet are reported as such, not silently left out.
        results[i] = {
          target: describeUrl(t.url),
          source: t.source,
          ok: false,
          applied: [],
          upToDate: false,
          durationMs: 0,
          error: { code: 'migration_failed', message: 'interrupted before this database was started: nothing was applied to it' },
        };
        onResult?.(results[i]!);
        continue;
      }
      try {
        const onNotice = base.onNotice;
        const res: UpResult = await up({ ...base, url: t.url, onProgress: undefined, onNotice: onNotice && ((n) => onNotice({ ...n, target: describeUrl(t.url) })) }, planOpts);
        r = {
          target: describeUrl(t.url),
          source: t.source,
          ok: true,
          applied: (planOpts.dryRun ? res.wouldApply : res.applied).map((m) => m.version),
          upToDate: res.upToDate,
          durationMs: Math.round(performance.now() - t0),
        };
      } catch (err) {
        const e = err instanceof RowguardError ? err : new RowguardError('internal', (err as Error)?.message ?? String(err));
        r = {
          target: describeUrl(t.url),
          source: t.source,
          ok: false,
          applied: [],
          upToDate: false,
          durationMs: Math.round(performance.now() - t0),
          error: {
            code: e.code,
            message: scrubSecrets(e.message, t.url),
            location: e.location ? `${e.location.file}:${e.location.line}:${e.location.column}` : undefined,
          },
        };
      }
      results[i] = r;
      onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, targets.length)) }, worker));
  return results;
}
