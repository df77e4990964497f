/**
 * `rowguard init`: scaffold rowguard into an existing repository — config, the
 * security schema migrations, policies/, an example SQL test, the fixtures and
 * committed access matrix, generated types, and the GitHub workflow. Never
 * overwrites a file without `force`; reports what it created and skipped.
 */
import { copyFileSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { packageRoot } from './assets.js';
import { RowguardError } from './errors.js';
import { makeDirs } from './make-dirs.js';

export interface InitResult {
  created: string[];
  overwritten: string[];
  skipped: string[];
}

export interface InitOptions {
  target: string;
  force: boolean;
  /** Source of the templates (the rowguard package root). */
  source?: string;
}

const CONFIG = {
  sql: 'sql',
  policies: 'policies',
  generated: 'generated',
  test: 'test',
  migrations: { lockTimeout: '5s', statementTimeout: '0' },
  api: { schemas: ['public'] },
  lint: {
    level: 'warn',
    // The findings the shipped sql/ is known to give, each with its reason (the project's own
    // rowguard.config.json carries the same): migrations cannot be edited once applied.
    ignore: [
      {
        rule: 'constraint-not-valid',
        object: 'auth_flow.settings.magic_link_min_interval',
        reason: 'auth_flow.settings holds one row (its primary key is check (singleton)): the CHECK on the new column scans that one row',
      },
    ],
  },
};

/** Folders copied as they are (relative to the package root → the target). */
const TREES: Array<[from: string, to: string]> = [
  ['sql', 'sql'],
  ['policies', 'policies'],
  ['test/sql', 'test/sql'],
  ['test/fixtures', 'test/fixtures'],
];
const FILES: Array<[from: string, to: string]> = [
  ['test/access-matrix.json', 'test/access-matrix.json'],
  ['generated/db.ts', 'generated/db.ts'],
  ['docs/ci/github-actions.yml', '.github/workflows/rowguard.yml'],
];

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

export function init(opts: InitOptions): InitResult {
  const source = opts.source ?? packageRoot();
  if (!existsSync(opts.target)) throw new RowguardError('usage', `init: ${opts.target} does not exist`);
  const plan: Array<{ to: string; write: () => void }> = [];
  for (const [from, to] of TREES) {
    for (const file of listFiles(join(source, from))) {
      const dest = join(opts.target, to, relative(join(source, from), file));
      plan.push({ to: dest, write: () => copyFileSync(file, dest) });
    }
  }
  for (const [from, to] of FILES) {
    const file = join(source, from);
    if (existsSync(file)) plan.push({ to: join(opts.target, to), write: () => copyFileSync(file, join(opts.target, to)) });
  }
  plan.push({ to: join(opts.target, 'rowguard.config.json'), write: () => writeFileSync(join(opts.target, 'rowguard.config.json'), JSON.stringify(CONFIG, null, 2) + '\n') });
  plan.push({
    to: join(opts.target, '.rowguard', '.gitignore'),
    write: () => writeFileSync(join(opts.target, '.rowguard', '.gitignore'), '# rowguard local state: the embedded database and secrets\n*\n'),
  });

  const result: InitResult = { created: [], overwritten: [], skipped: [] };
  for (const step of plan) {
    const shown = relative(opts.target, step.to);
    const exists = existsSync(step.to);
    if (exists && !opts.force) {
      result.skipped.push(shown);
      continue;
    }
    makeDirs(dirname(step.to));
    step.write();
    (exists ? result.overwritten : result.created).push(shown);
  }
  return result;
}
