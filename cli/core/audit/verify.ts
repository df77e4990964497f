/**
 * `rowguard audit verify`: recompute the hash chain of audit.log in TypeScript,
 * independently of the database's own audit.append_rows().
 *
 * The canonical serialisation (version 1) is defined in sql/0005_audit.sql:
 *
 *   content = F(at) F(txid) … F(new_row)        (every column but id and hash)
 *   F(NULL) = 'N',  F(v) = 'S' <byte length of v in UTF-8> ':' v
 *   hash = hex(sha256(utf8('rowguard-audit-v1' LF prev_hash LF id LF hex(sha256(utf8(content))))))
 *   prev_hash = hash of row id - 1, or 64 '0' for id 1
 *
 * over the columns' text forms, read with the same expressions the SQL uses
 * (auditBatch). Only type output functions are trusted (id::text,
 * jsonb::text, to_char(…)), never a function of the audited schema, so a
 * superuser who rewrites audit.append_rows() cannot make a tampered row pass.
 *
 * Ids are gap-free (each append takes previous id + 1 under the chain lock), so
 * a gap means deleted rows. A chain cannot show that its newest rows were cut
 * off or that rows were appended with correctly recomputed hashes: the head
 * (last id and hash) is printed so it can be recorded elsewhere, and
 * `--expect-head id:hash` proves such a recorded head is still in the chain.
 *
 * `ChainVerifier` is pure (rows in, verdict out); `verifyAuditLog` is the one
 * function with I/O.
 */
import { createHash } from 'node:crypto';
import { sql as raw } from 'kysely';
import type { Sql } from '../db.js';
import { qb, run } from '../typed.js';
import { RowguardError, pgFieldsOf } from '../errors.js';

export const GENESIS_HASH = '0'.repeat(64);
export const CANONICAL_VERSION = 'rowguard-audit-v1';

/** One audit.log row as the text forms that are hashed (NULL as null). */
export interface AuditRow {
  id: string;
  at: string;
  txid: string;
  actor_id: string | null;
  actor_role: string | null;
  actor_email: string | null;
  db_role: string;
  user_agent: string | null;
  ip: string | null;
  schema_name: string | null;
  table_name: string | null;
  operation: string;
  event: string | null;
  pk: string | null;
  old_row: string | null;
  new_row: string | null;
  /** The stored hash (hex). */
  hash: string;
}

/** The fields of the content hash, in canonical order (the id enters in the chaining step). */
export const HASHED_FIELDS = [
  'at', 'txid', 'actor_id', 'actor_role', 'actor_email', 'db_role', 'user_agent', 'ip',
  'schema_name', 'table_name', 'operation', 'event', 'pk', 'old_row', 'new_row',
] as const satisfies ReadonlyArray<keyof AuditRow>;

/** SELECT list producing AuditRow's text forms (the same expressions as audit.append_rows()). */

/**
 * One batch of audit.log in id order (keyset pagination on the primary key),
 * typed by generated/db.ts: a renamed or dropped column fails the build. The
 * casts are trusted type output functions only (see the file comment).
 */
export function auditBatch(afterId: string, limit: number) {
  return qb()
    .selectFrom('audit.log as l')
    .select([
      raw<string>`l.id::text`.as('id'),
      raw<string>`pg_catalog.to_char(l.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('at'),
      raw<string>`l.txid::text`.as('txid'),
      raw<string | null>`l.actor_id::text`.as('actor_id'),
      'l.actor_role',
      'l.actor_email',
      'l.db_role',
      'l.user_agent',
      'l.ip',
      'l.schema_name',
      'l.table_name',
      'l.operation',
      'l.event',
      raw<string | null>`l.pk::text`.as('pk'),
      raw<string | null>`l.old_row::text`.as('old_row'),
      raw<string | null>`l.new_row::text`.as('new_row'),
      'l.hash',
    ])
    .where('l.id', '>', afterId)
    .orderBy('l.id')
    .limit(limit);
}

function field(value: string | null): string {
  return value === null ? 'N' : `S${Buffer.byteLength(value, 'utf8')}:${value}`;
}

/** The row's content text (every field but id, length-prefixed), hashed first. */
export function contentText(row: AuditRow): string {
  let s = '';
  for (const f of HASHED_FIELDS) s += field(row[f]);
  return s;
}

function sha256hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The text whose sha256 is the row's chain hash, given the previous row's hash. */
export function chainText(prevHash: string, row: AuditRow): string {
  return `${CANONICAL_VERSION}\n${prevHash}\n${row.id}\n${sha256hex(contentText(row))}`;
}

export function rowHash(prevHash: string, row: AuditRow): string {
  return sha256hex(chainText(prevHash, row));
}

export interface ChainHead {
  id: string;
  hash: string;
}

/** `id:hash` as printed by verify and accepted by --expect-head. */
export function parseHead(text: string): ChainHead {
  const m = /^\s*([1-9][0-9]*):([0-9a-fA-F]{64})\s*$/.exec(text);
  if (!m) {
    throw new RowguardError('usage', `--expect-head must be <id>:<64 hex digits> (got "${text.length > 80 ? text.slice(0, 80) + '…' : text}")`, {
      hint: 'use the head printed by an earlier `rowguard audit verify`, e.g. 1234:9f86d08…',
    });
  }
  return { id: m[1]!, hash: m[2]!.toLowerCase() };
}

export function formatHead(head: ChainHead): string {
  return `${head.id}:${head.hash}`;
}

export type BreakKind = 'bad_start' | 'gap' | 'hash_mismatch' | 'not_increasing';

export interface ChainBreak {
  kind: BreakKind;
  /** The row at which the chain stops verifying. */
  id: string;
  message: string;
}

export interface ExpectedHeadResult {
  id: string;
  hash: string;
  /** A row with that id exists. */
  found: boolean;
  /** It has that hash and the chain verified up to it. */
  ok: boolean;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  rows: number;
  /** Last row read (null for an empty log). */
  head: ChainHead | null;
  /** The first broken link, if any. */
  firstBreak: ChainBreak | null;
  /** Number of broken links (each resynchronised on the stored hash to find the next). */
  breaks: number;
  expectedHead: ExpectedHeadResult | null;
}

/**
 * Feed rows in id order (in as many batches as needed), then call result().
 * After a break it continues from the stored hash of the offending row, so
 * later, independent breaks are counted too.
 */
export class ChainVerifier {
  private prevId: bigint | null = null;
  private prevHash = GENESIS_HASH;
  private count = 0;
  private first: ChainBreak | null = null;
  private nBreaks = 0;
  private brokenSoFar = false;
  private readonly expect: ChainHead | null;
  private expectFound = false;
  private expectOk = false;
  private expectMessage = '';

  constructor(opts: { expectHead?: ChainHead | null } = {}) {
    this.expect = opts.expectHead ?? null;
  }

  private fail(kind: BreakKind, id: string, message: string): void {
    this.nBreaks++;
    this.brokenSoFar = true;
    if (!this.first) this.first = { kind, id, message };
  }

  push(rows: readonly AuditRow[]): void {
    for (const row of rows) this.pushOne(row);
  }

  private pushOne(row: AuditRow): void {
    const id = BigInt(row.id);
    const expectedId = this.prevId === null ? 1n : this.prevId + 1n;
    let linkOk = true;
    if (this.prevId !== null && id <= this.prevId) {
      this.fail('not_increasing', row.id, `row ${row.id} follows row ${this.prevId}: rows must be read in increasing id order`);
      linkOk = false;
    } else if (id !== expectedId) {
      if (this.prevId === null && id < 1n) this.fail('bad_start', row.id, `row ${row.id} precedes row 1: ids start at 1, so it was inserted`);
      else if (this.prevId === null) this.fail('bad_start', row.id, `the log starts at id ${row.id}, not 1: rows 1..${id - 1n} were deleted`);
      else if (id === expectedId + 1n) this.fail('gap', row.id, `row ${expectedId} is missing (deleted) before row ${row.id}`);
      else this.fail('gap', row.id, `rows ${expectedId}..${id - 1n} are missing (deleted) before row ${row.id}`);
      linkOk = false;
    }
    const computed = rowHash(this.prevHash, row);
    if (computed !== row.hash) {
      if (linkOk) {
        this.fail(
          'hash_mismatch',
          row.id,
          this.prevId === null
            ? `row ${row.id}: stored hash does not match its content (modified, or inserted)`
            : `row ${row.id}: stored hash does not match its content and row ${this.prevId}'s hash (modified, or inserted)`,
        );
      }
      linkOk = false;
    }
    if (this.expect && row.id === this.expect.id) {
      this.expectFound = true;
      if (row.hash !== this.expect.hash) {
        this.expectMessage = `row ${row.id} now has hash ${row.hash}, not the expected ${this.expect.hash}: the chain was rewritten from row ${row.id} or earlier`;
      } else if (this.brokenSoFar) {
        this.expectMessage = `row ${row.id} has the expected hash, but the chain before it is broken`;
      } else {
        this.expectOk = true;
        this.expectMessage = `head ${row.id} recorded earlier is still in the chain`;
      }
    }
    this.prevId = id;
    this.prevHash = row.hash;
    this.count++;
  }

  result(): VerifyResult {
    let expectedHead: ExpectedHeadResult | null = null;
    if (this.expect) {
      const message = this.expectFound
        ? this.expectMessage
        : `no row ${this.expect.id}: the log ${this.prevId === null ? 'is empty' : `ends at row ${this.prevId}`}, so rows were cut off after the recorded head`;
      expectedHead = { id: this.expect.id, hash: this.expect.hash, found: this.expectFound, ok: this.expectFound && this.expectOk, message };
    }
    return {
      ok: this.nBreaks === 0 && (expectedHead === null || expectedHead.ok),
      rows: this.count,
      head: this.prevId === null ? null : { id: this.prevId.toString(), hash: this.prevHash },
      firstBreak: this.first,
      breaks: this.nBreaks,
      expectedHead,
    };
  }
}

export interface VerifyOptions {
  expectHead?: ChainHead | null;
  /** Rows per round trip (keyset pagination on the primary key). */
  batchSize?: number;
  onProgress?: (rowsRead: number) => void;
}

/**
 * Read audit.log in id order, in batches, inside one REPEATABLE READ READ ONLY
 * transaction (one snapshot: rows appended meanwhile are simply not seen), and
 * verify the chain.
 */
export async function verifyAuditLog(sql: Sql, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const batchSize = opts.batchSize ?? 5000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RowguardError('usage', `batch size must be a positive integer (got ${batchSize})`);
  const verifier = new ChainVerifier({ expectHead: opts.expectHead });
  try {
    await sql.begin('isolation level repeatable read read only', async (tx) => {
      await tx`select pg_catalog.set_config('search_path', '', true)`;
      const [exists] = await tx<{ ok: boolean }[]>`select pg_catalog.to_regclass('audit.log') is not null as ok`;
      if (!exists?.ok) {
        throw new RowguardError('usage', 'this database has no audit.log', { hint: 'apply the migrations first: rowguard migrate up' });
      }
      let after = '0';
      let read = 0;
      // Keyset pagination: `id > last` on the primary key index, never OFFSET.
      for (;;) {
        const rows: AuditRow[] = await run(tx, auditBatch(after, batchSize));
        if (rows.length === 0) break;
        verifier.push(rows);
        read += rows.length;
        after = rows[rows.length - 1]!.id;
        opts.onProgress?.(read);
        if (rows.length < batchSize) break;
      }
    });
  } catch (err) {
    if (err instanceof RowguardError) throw err;
    const pg = pgFieldsOf(err);
    // 42501: the connecting role may not read audit.log (API roles never can).
    if (pg?.sqlstate === '42501') {
      throw new RowguardError('usage', `cannot read audit.log: ${pg.message}`, { pg, hint: 'connect as the owner of schema audit (or a role granted SELECT on audit.log)' });
    }
    throw err;
  }
  return verifier.result();
}
