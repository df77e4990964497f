import { existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readMigrations, nextMigrationName } from './files.js';
import { makeDirs } from '../make-dirs.js';

export function createMigrationFile(dir: string, name: string, now: Date, displayRoot: string): { file: string; path: string } {
  const existing = readMigrations(dir, displayRoot);
  const fileName = nextMigrationName(existing, name, now);
  makeDirs(dir);
  const path = join(dir, fileName);
  // 'wx' fails rather than overwrite if two `new` calls race.
  if (!existsSync(path)) writeFileSync(path, `-- ${fileName.replace(/\.sql$/, '')}\n`, { flag: 'wx' });
  return { file: relative(displayRoot, path), path };
}
