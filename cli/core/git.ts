/** The git reads the gate needs for --base: a folder's files as they were at a ref. */
import { execFile } from 'node:child_process';
import { existsSync, realpathSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RowguardError } from './errors.js';
import { makeDirs } from './make-dirs.js';

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

/**
 * The path from the repository's top level to `cwd` ("packages/db/"), "" at the top or outside a
 * repository. Code scanning and workflow annotations read file paths relative to the top level.
 */
export async function pathFromRepoRoot(cwd: string): Promise<string> {
  return (await git(cwd, ['rev-parse', '--show-prefix']).catch(() => '')).trim();
}

export async function resolveRef(cwd: string, ref: string): Promise<string> {
  if (ref.startsWith('-')) throw new RowguardError('usage', `not a git ref: ${ref}`);
  await repoRoot(cwd).catch((err: RowguardError) => {
    throw new RowguardError('usage', `--base ${ref}: ${cwd} is not in a git work tree (${err.message})`);
  });
  try {
    return (await git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim();
  } catch {
    // actions/checkout fetches one commit by default: the base branch is then not in the clone.
    const shallow = (await git(cwd, ['rev-parse', '--is-shallow-repository']).catch(() => '')).trim() === 'true';
    const branch = ref.replace(/^(refs\/remotes\/)?origin\//, '');
    throw new RowguardError('usage', `--base ${ref}: no such commit in this ${shallow ? 'shallow clone' : 'repository'}`, {
      hint: `fetch it first: actions/checkout with fetch-depth: 0, or git fetch --depth=1 origin ${branch}${/^[0-9a-f]{7,40}$/i.test(ref) ? '' : `:refs/remotes/origin/${branch}`}`,
    });
  }
}

/**
 * Write the files of `dir` (an absolute folder inside the repository) as they
 * were at `ref` into `target`. Returns the file names written.
 */
export async function exportFolderAtRef(cwd: string, ref: string, dir: string, target: string): Promise<string[]> {
  const root = await repoRoot(cwd);
  // git prints the top level with symlinks resolved: the folder must be compared the same way
  // (a --config path through a symlink, /tmp on macOS), or it reads as outside the repository.
  const rel = relative(root, existsSync(dir) ? realpathSync(dir) : dir).split('\\').join('/');
  const commit = await resolveRef(cwd, ref);
  const listing = await git(root, ['ls-tree', '--name-only', commit, '--', rel === '' ? '.' : `${rel}/`]);
  makeDirs(target);
  const names: string[] = [];
  for (const path of listing.split('\n').filter(Boolean)) {
    const name = path.split('/').pop()!;
    const text = await git(root, ['show', `${commit}:${path}`]);
    writeFileSync(join(target, name), text);
    names.push(name);
  }
  return names;
}

