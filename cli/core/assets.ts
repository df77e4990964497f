/**
 * Files rowguard ships beside its code (SQL libraries, templates) live in
 * `cli/assets/`. Found from both the source tree (vitest) and the built `dist/`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function assetPath(...parts: string[]): string {
  // cli/core → ../assets; dist/cli/core → ../../../cli/assets
  for (const base of [join(here, '..', 'assets'), join(here, '..', '..', '..', 'cli', 'assets')]) {
    if (existsSync(base)) return join(base, ...parts);
  }
  return join(here, '..', 'assets', ...parts);
}

/** The rowguard package's own root (holds sql/, policies/, test/ templates for `init`). */
export function packageRoot(): string {
  // cli/core → ../..; dist/cli/core → ../../..
  for (const root of [join(here, '..', '..'), join(here, '..', '..', '..')]) {
    if (existsSync(join(root, 'package.json')) && existsSync(join(root, 'cli'))) return root;
  }
  return join(here, '..', '..');
}
