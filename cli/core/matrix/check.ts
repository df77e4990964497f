/**
 * What `rowguard matrix` and `rowguard test` share: compute the matrix for a
 * project (its config, sql/, test/fixtures/) and compare it with the committed
 * test/access-matrix.json.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Config } from '../config.js';
import { RowguardError } from '../errors.js';
import { buildAndComputeMatrix, type MatrixInputs } from './build.js';
import { compareCalls, compareMatrices, type CellChange } from './compare.js';
import { callLabelsOf, labelsOf, parseMatrixFile, serializeMatrix, type MatrixFile } from './file.js';
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
  /** The committed file predates functions in the matrix: who may call them is computed, not compared. */
  functionsUntracked: boolean;
  changes: CellChange[];
}

/** Compute and compare. `template`: a database already built from sql/ to copy instead of migrating. */
export async function checkMatrix(cfg: Config, serverUrl: string, opts: { template?: string; onProgress?: (s: string) => void } = {}): Promise<MatrixCheck> {
  // Read the committed file first: a malformed one fails before any database work.
  const expected = readCommitted(cfg);
  const matrix = await buildAndComputeMatrix({ ...matrixInputs(cfg), serverUrl, sqlDir: cfg.dirs.sql, ...opts });
  return compareWith(expected, matrix);
}

function readCommitted(cfg: Config): { file: string; doc: MatrixFile | null } {
  const path = matrixPaths(cfg).file;
  const file = relative(cfg.root, path) || path;
  return { file, doc: existsSync(path) ? parseMatrixFile(readFileSync(path, 'utf8'), file) : null };
}

function compareWith(expected: { file: string; doc: MatrixFile | null }, matrix: Matrix): MatrixCheck {
  if (!expected.doc) return { matrix, file: expected.file, hasExpected: false, functionsUntracked: false, changes: [] };
  const calls = expected.doc.functions ? compareCalls(expected.doc.functions, callLabelsOf(matrix)) : [];
  return { matrix, file: expected.file, hasExpected: true, functionsUntracked: !expected.doc.functions, changes: [...compareMatrices(expected.doc.tables, labelsOf(matrix)), ...calls] };
}

/** Compare an already computed matrix with the committed file. */
export function compareWithCommitted(cfg: Config, matrix: Matrix): MatrixCheck {
  return compareWith(readCommitted(cfg), matrix);
}

/** Write test/access-matrix.json; returns the displayed path. */
export function writeCommitted(cfg: Config, matrix: Matrix): string {
  const path = matrixPaths(cfg).file;
  const file = relative(cfg.root, path) || path;
  try {
    writeFileSync(path, serializeMatrix(matrix));
  } catch (err) {
    throw new RowguardError('io', `cannot write ${file}: ${(err as Error).message}`, { hint: `does ${relative(cfg.root, cfg.dirs.test) || cfg.dirs.test}/ exist?` });
  }
  return file;
}
