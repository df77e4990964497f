/**
 * The matrix end to end: a throwaway database built from sql/ (the migration
 * engine's `up`), seeded by test/fixtures/*.sql in name order, the actors
 * resolved, every operation probed, the database dropped.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { closeSql, connect, createThrowawayDatabase, lostConnectionError, sessionEnded, unlessEnded, type Sql } from '../db.js';
import { RowguardError, isRowguardError, pgFieldsOf } from '../errors.js';
import { locateCharPosition } from '../sql-text.js';
import { defaultActors, readActorsFile, resolveActors, type ApiSettings } from './actors.js';
import { readRelations, readRpcFunctions } from './introspect.js';
import { readExposedSchemas } from '../catalog/exposed.js';
import type { ActorSpec, Matrix } from './model.js';
import { probeMatrix } from './probe.js';

export interface MatrixInputs {
  /** Folder of test fixtures: *.sql seeds (name order) and actors.json. */
  fixturesDir: string;
  /** Root for displayed paths. */
  displayRoot: string;
  api: ApiSettings;
  /** config.api.schemas (null: pgrst.db_schemas, the authenticator's else the database's, else public). */
  schemas: readonly string[] | null;
  /** Injected clock (seconds) for the tokens' iat/exp. */
  now?: number;
  concurrency?: number;
  /**
   * The actors of fixturesDir/actors.json, already read (null: there is none, so the defaults):
   * buildAndComputeMatrix reads the file before any database work, so a malformed one fails first.
   */
  actors?: ActorSpec[] | null;
}

export function fixtureFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => join(dir, f));
}

/** Run each seed file as the connecting role, committed, in name order; a failure names file:line:col. */
export async function applyFixtures(sql: Sql, url: string, files: string[], displayRoot: string): Promise<void> {
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const display = relative(displayRoot, file) || file;
    try {
      await sql.begin(async (tx) => {
        await tx.unsafe(text).simple();
      });
    } catch (err) {
      if (sessionEnded(err)) throw lostConnectionError(url, err, `while seeding ${display}`);
      const pg = pgFieldsOf(err);
      if (!pg) throw err;
      // With a position the location already names file:line:col; without one the message names the file.
      const location = pg.position ? locateCharPosition(text, pg.position, display) : undefined;
      throw new RowguardError('sql', location ? (pg.message ?? 'error') : `${display}: ${pg.message ?? 'error'}`, {
        pg,
        ...(location ? { location } : {}),
        hint: 'the matrix fixtures must apply cleanly on a database built from sql/',
        cause: err,
      });
    }
  }
}

/**
 * Compute the matrix on a database that is already migrated and seeded. It
 * writes to it (tables the fixtures left empty get made-up rows, committed):
 * use a throwaway database, as buildAndComputeMatrix does.
 */
export async function computeMatrixOn(url: string, inputs: MatrixInputs): Promise<Matrix> {
  const sql = connect(url, { max: Math.max(2, inputs.concurrency ?? 4) });
  try {
    const display = actorsDisplay(inputs);
    const declared = inputs.actors !== undefined ? inputs.actors : readActorsFile(join(inputs.fixturesDir, 'actors.json'), display);
    const specs: ActorSpec[] = declared ?? (await defaultActors(sql));
    const actors = await resolveActors(sql, specs, inputs.api, inputs.now ?? Math.floor(Date.now() / 1000), declared ? display : undefined);
    const schemas = await readExposedSchemas(sql, inputs.schemas);
    const rels = await readRelations(sql, schemas, actors.map((a) => a.role));
    const functions = await readRpcFunctions(sql, schemas);
    const userIds = await sql<{ id: string }[]>`select id::text as id from auth.users order by id`.then(
      (r) => r.map((x) => x.id),
      unlessEnded([] as string[]),
    );
    return await probeMatrix(sql, rels, actors, { userIds, concurrency: inputs.concurrency ?? 4, functions });
  } catch (err) {
    throw !isRowguardError(err) && sessionEnded(err) ? lostConnectionError(url, err, 'while probing') : err;
  } finally {
    await closeSql(sql);
  }
}

export interface BuildOptions extends MatrixInputs {
  /** Server URL (any database on it); a throwaway database is created there. */
  serverUrl: string;
  /** Migrations folder (config dirs.sql). */
  sqlDir: string;
  /** A database already built from sql/ to copy (CREATE DATABASE … TEMPLATE), instead of migrating. */
  template?: string;
  onProgress?: (step: string) => void;
}

function actorsDisplay(inputs: MatrixInputs): string {
  return relative(inputs.displayRoot, join(inputs.fixturesDir, 'actors.json')) || 'actors.json';
}

/** Build, seed, compute, drop. */
export async function buildAndComputeMatrix(opts: BuildOptions): Promise<Matrix> {
  // A malformed actors.json fails here, before a database is made, migrated and seeded for nothing.
  if (opts.actors === undefined) opts = { ...opts, actors: readActorsFile(join(opts.fixturesDir, 'actors.json'), actorsDisplay(opts)) };
  const db = await createThrowawayDatabase(opts.serverUrl, { prefix: 'rowguard_matrix', ...(opts.template ? { template: opts.template } : {}) });
  try {
    if (!opts.template) {
      opts.onProgress?.('applying sql/');
      const { up } = await import('../migrate/engine.js');
      await up({ url: db.url, dir: opts.sqlDir, displayRoot: opts.displayRoot, lockTimeout: '5s', statementTimeout: '0' });
    }
    opts.onProgress?.('seeding fixtures');
    const seed = connect(db.url);
    try {
      await applyFixtures(seed, db.url, fixtureFiles(opts.fixturesDir), opts.displayRoot);
    } finally {
      await closeSql(seed);
    }
    opts.onProgress?.('probing');
    return await computeMatrixOn(db.url, opts);
  } finally {
    await db.drop().catch(() => undefined);
  }
}
