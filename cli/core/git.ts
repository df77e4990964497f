/** The git reads the gate needs for --base: a folder's files as they were at a ref. */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RowguardError } from './errors.js';

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['-C', cwd, ...args], { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new RowguardError('usage', `git ${args[0]}: ${String(stderr).trim().split('\n')[0] || err.message}`));
      else resolve(stdout);
    });
  });
}

export async function repoRoot(cwd: string): Promise<string> {
  return (await git(cwd, ['rev-parse', '--show-toplevel'])).trim();
}

export async function resolveRef(cwd: string, ref: string): Promise<string> {
  if (ref.startsWith('-')) throw new RowguardError('usage', `not a git ref: ${ref}`);
  try {
    return (await git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim();
  } catch {
    throw new RowguardError('usage', `--base ${ref}: no such commit in this repository`, { hint: 'in CI, fetch the base branch first (actions/checkout with fetch-depth: 0)' });
  }
}

/**
 * Write the files of `dir` (an absolute folder inside the repository) as they
 * were at `ref` into `target`. Returns the file names written.
 */
export async function exportFolderAtRef(cwd: string, ref: string, dir: string, target: string): Promise<string[]> {
  const root = await repoRoot(cwd);
  const rel = relative(root, dir).split('\\').join('/');
  const commit = await resolveRef(cwd, ref);
  const listing = await git(root, ['ls-tree', '--name-only', commit, '--', rel === '' ? '.' : `${rel}/`]);
  mkdirSync(target, { recursive: true });
  const names: string[] = [];
  for (const path of listing.split('\n').filter(Boolean)) {
    const name = path.split('/').pop()!;
    const text = await git(root, ['show', `${commit}:${path}`]);
    writeFileSync(join(target, name), text);
    names.push(name);
  }
  return names;
}

