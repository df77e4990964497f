/**
 * Which files `rowguard test` runs: the paths given (files run whatever their
 * name; folders contribute their `*.test.sql` files, recursively, or, having
 * none, their `*.sql` and `*.pg` files), or every `*.test.sql` under the test folder;
 * `supabase/tests` and the folders below it, named or the test folder,
 * contribute every `*.sql` and `*.pg` file, as `supabase test db` runs them. Folders
 * named `fixtures` (seed data and the runner's own sample files),
 * `node_modules` and dot-folders are not searched. `--filter` keeps files whose displayed path contains the text, or
 * matches it as a glob when it has `*` or `?`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { RowguardError } from '../errors.js';
import type { TestFile } from './run-file.js';

export const TEST_SUFFIX = '.test.sql';
const SKIPPED_DIRS = new Set(['fixtures', 'node_modules']);

export interface DiscoverOptions {
  cwd: string;
  /** Root for displayed paths (the project root). */
  displayRoot: string;
  paths: string[];
  /** Used when no path is given. */
  defaultDir: string;
  filter?: string;
}

/** What `supabase test db` runs in a folder: `pg_prove --ext .pg --ext .sql -r`. */
const SUPABASE_SUFFIXES = ['.sql', '.pg'];

function walk(dir: string, out: string[], suffixes: readonly string[] = [TEST_SUFFIX]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) walk(full, out, suffixes);
    } else if (suffixes.some((s) => entry.name.endsWith(s))) out.push(full);
  }
}

/**
 * The `.sql` files not named `*.test.sql` in the folders a run searched, as
 * displayed paths: Supabase suites (`supabase/tests/database/01-x.sql`, which
 * `supabase test db` runs) are named so, and a run that found nothing says so.
 */
export function otherSqlFiles(opts: Omit<DiscoverOptions, 'filter'>): string[] {
  const roots = opts.paths.length ? opts.paths.map((p) => resolve(opts.cwd, p)) : [opts.defaultDir];
  const found: string[] = [];
  for (const p of roots) if (existsSync(p) && statSync(p).isDirectory()) walk(p, found, ['.sql']);
  return found.filter((f) => !f.endsWith(TEST_SUFFIX)).sort().map((f) => relative(opts.displayRoot, f) || f);
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`(^|/)${re}$`);
}

export function matchesFilter(display: string, filter: string): boolean {
  const path = display.split(sep).join('/');
  return /[*?]/.test(filter) ? globToRegExp(filter).test(path) : path.includes(filter);
}

/**
 * `supabase/tests` or a folder below it, where `supabase test db` finds its test files. Read
 * below the project root when the folder is inside it, so a checkout that happens to live under
 * some `supabase/tests` folder keeps the *.test.sql rule for its own folders.
 */
export function isSupabaseTests(dir: string, root: string): boolean {
  const inRoot = relative(root, dir);
  const parts = (inRoot !== '' && !inRoot.startsWith('..') && !isAbsolute(inRoot) ? inRoot : resolve(dir)).split(sep);
  return parts.some((part, i) => part === 'supabase' && parts[i + 1] === 'tests');
}

export function discoverTestFiles(opts: DiscoverOptions): TestFile[] {
  const found = new Set<string>();
  const roots = opts.paths.length ? opts.paths.map((p) => resolve(opts.cwd, p)) : [opts.defaultDir];
  for (const p of roots) {
    if (!existsSync(p)) {
      if (opts.paths.length === 0) continue;
      throw new RowguardError('usage', `no such file or folder: ${relative(opts.cwd, p) || p}`);
    }
    if (statSync(p).isDirectory()) {
      const files: string[] = [];
      // Supabase's tests folder (or one below it), and a folder named on the command line with no
      // *.test.sql in it, are suites laid out as `supabase test db` runs them: pg_prove runs every .sql (and .pg)
      // file under supabase/tests, so a kit's 00000-helpers.sql next to its *.test.sql files (as
      // makerkit's are) is a test file too, run first, and what it commits is there for the others.
      if (isSupabaseTests(p, opts.displayRoot)) walk(p, files, SUPABASE_SUFFIXES);
      else {
        walk(p, files);
        if (files.length === 0 && opts.paths.length) walk(p, files, SUPABASE_SUFFIXES);
      }
      files.forEach((f) => found.add(f));
    } else found.add(p);
  }
  let files = [...found].sort().map((path) => ({ path, display: relative(opts.displayRoot, path) || path }));
  if (opts.filter) files = files.filter((f) => matchesFilter(f.display, opts.filter!));
  return files;
}
