/**
 * What `rowguard matrix` and `rowguard test` share: compute the matrix for a
 * project (its config, sql/, test/fixtures/) and compare it with the committed
 * test/access-matrix.json.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Config } from '../config.js';
import { buildAndComputeMatrix, type MatrixInputs } from './build.js';
import { compareMatrices, type CellChange } from './compare.js';
import { labelsOf, parseMatrixFile, serializeMatrix } from './file.js';
import type { Matrix } from './model.js';

export const MATRIX_FILE = 'access-matrix.json';

export function matrixPaths(cfg: Config): { file: string; fixturesDir: string } {
  return { file: join(cfg.dirs.test, MATRIX_FILE), fixturesDir: join(cfg.dirs.test, 'fixtures') };
}

export function matrixInputs(cfg: Config, now?: number): MatrixInputs {
  return {
    fixturesDir: matrixPaths(cfg).fixturesDir,
    displayRoot: cfg.root,
    schemas: cfg.api.schemas,
    api: {
      anonRole: cfg.api.anonRole,
      authenticatedRole: cfg.api.authenticatedRole,
      serviceRole: cfg.api.serviceRole,
      roleClaimKey: cfg.api.roleClaimKey,
      issuer: cfg.jwt.issuer,
      expiresIn: cfg.jwt.expiresIn,
    },
    ...(now !== undefined ? { now } : {}),
  };
}

export interface MatrixCheck {
  matrix: Matrix;
  /** Displayed path of the committed file. */
  file: string;
  /** False when no committed file exists (nothing to compare). */
  hasExpected: boolean;
  changes: CellChange[];
}

/** Compute and compare. `template`: a database already built from sql/ to copy instead of migrating. */
export async function checkMatrix(cfg: Config, serverUrl: string, opts: { template?: string; onProgress?: (s: string) => void } = {}): Promise<MatrixCheck> {
  const matrix = await buildAndComputeMatrix({ ...matrixInputs(cfg), serverUrl, sqlDir: cfg.dirs.sql, ...opts });
  return compareWithCommitted(cfg, matrix);
}

export function compareWithCommitted(cfg: Config, matrix: Matrix): MatrixCheck {
  const path = matrixPaths(cfg).file;
  const file = relative(cfg.root, path) || path;
  if (!existsSync(path)) return { matrix, file, hasExpected: false, changes: [] };
  const expected = parseMatrixFile(readFileSync(path, 'utf8'), file);
  return { matrix, file, hasExpected: true, changes: compareMatrices(expected.tables, labelsOf(matrix)) };
}

/** Write test/access-matrix.json; returns the displayed path. */
export function writeCommitted(cfg: Config, matrix: Matrix): string {
  const path = matrixPaths(cfg).file;
  writeFileSync(path, serializeMatrix(matrix));
  return relative(cfg.root, path) || path;
}
