/**
 * A shadow database: a throwaway database on the resolved server with `sql/`
 * applied by the migration engine and, optionally, `policies/` overlaid. The
 * policy diff, drift check and gate build the desired state with it, so
 * expressions are normalised by the same server (same major version) that
 * normalises the database they are compared with.
 *
 * The caller owns the result and must `drop()` it; if building fails, the
 * database is dropped here before the error propagates.
 */
import { closeSql, connect, createThrowawayDatabase, type ThrowawayDatabase } from './db.js';
import { apiRolesOf, type Config } from './config.js';
import { up } from './migrate/engine.js';
import { readPolicyFiles, type PolicyFile } from './policy/files.js';
import { overlayPolicyFiles } from './policy/desired.js';
import { managedGrantees } from './policy/state.js';

export interface ShadowOptions {
  /** Any database URL on the server to use (its database is used for CREATE DATABASE). */
  serverUrl: string;
  config: Config;
  /** Also run `policies/` over the result. */
  overlayPolicies: boolean;
  /** Root for file paths in messages (default: the config root). */
  displayRoot?: string;
  onPhase?: (phase: 'create' | 'migrate' | 'policies') => void;
  /**
   * Copy this database (on the same server, with no other session connected:
   * CREATE DATABASE … TEMPLATE requires it) instead of applying sql/; for a
   * caller that already has sql/ applied somewhere, e.g. the gate.
   */
  template?: string;
}

export interface ShadowTimings {
  createMs: number;
  migrateMs: number;
  policiesMs: number;
}

export interface ShadowDatabase extends ThrowawayDatabase {
  /** The policies/ files that were overlaid (empty when overlayPolicies is false). */
  policyFiles: PolicyFile[];
  timings: ShadowTimings;
}

export async function buildShadow(opts: ShadowOptions): Promise<ShadowDatabase> {
  const displayRoot = opts.displayRoot ?? opts.config.root;
  // Read and validate policies/ first: a bad file fails before any database exists.
  const files = opts.overlayPolicies ? await readPolicyFiles(opts.config.dirs.policies, displayRoot, managedGrantees(apiRolesOf(opts.config))) : [];
  opts.onPhase?.('create');
  let t = performance.now();
  const db = await createThrowawayDatabase(opts.serverUrl, { prefix: 'rowguard_shadow', template: opts.template, purpose: 'a shadow database' });
  const timings: ShadowTimings = { createMs: performance.now() - t, migrateMs: 0, policiesMs: 0 };
  try {
    if (opts.template === undefined) {
      opts.onPhase?.('migrate');
      t = performance.now();
      await up({
        url: db.url,
        dir: opts.config.dirs.sql,
        displayRoot,
        lockTimeout: opts.config.migrations.lockTimeout,
        statementTimeout: opts.config.migrations.statementTimeout,
      });
      timings.migrateMs = performance.now() - t;
    }
    if (opts.overlayPolicies) {
      opts.onPhase?.('policies');
      t = performance.now();
      await overlayPolicies(db.url, files, apiRolesOf(opts.config));
      timings.policiesMs = performance.now() - t;
    }
  } catch (err) {
    await db.drop().catch(() => undefined);
    throw err;
  }
  return { ...db, policyFiles: files, timings };
}

/** Overlay already-read policies/ files on the database at `url`. */
export async function overlayPolicies(url: string, files: readonly PolicyFile[], apiRoles: readonly string[]): Promise<void> {
  const sql = connect(url);
  try {
    await overlayPolicyFiles(sql, files, apiRoles);
  } finally {
    await closeSql(sql);
  }
}
