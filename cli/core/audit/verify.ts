/**
 * `rowguard audit verify`: recompute the hash chains of audit.log in
 * TypeScript, independently of the database's own audit.append_rows().
 *
 * The log is striped into lanes, each its own chain. The canonical
 * serialisation (version 3) is defined in sql/0005_audit.sql:
 *
 *   context = JSON array of at, txid, actor_id, …, event   (json_build_array(…)::text)
 *   body    = '[' pk ', ' old_row ', ' new_row ']'         (jsonb::text, NULL as null)
 *   hash = hex(sha256(utf8('rowguard-audit-v3' LF prev_hash LF lane ':' seq LF
 *                          hex(sha256(utf8(context))) LF body)))
 *   prev_hash = hash of the lane's row seq - 1, or 64 '0' for seq 1
 *
 * over the columns' text forms, read with the same expressions the SQL uses
 * (auditBatch). Only type output functions are trusted (seq::text,
 * jsonb::text, to_char(…)), never a function of the audited schema, so a
 * superuser who rewrites audit.append_rows() cannot make a tampered row pass.
 *
 * Within a lane seq is gap-free (each append takes previous seq + 1 under the
 * lane's lock), so a gap means deleted rows. Lanes are 1..LANES only: a row
 * in any other lane, or with no lane or seq at all (a superuser can drop the
 * key and NOT NULL), is outside every chain the database writes, so it was
 * inserted or moved; every row of the table is read (the first batch has no
 * lower bound) and counted against the table, so none can hide. A chain cannot show that its
 * newest rows were cut off or that rows were appended with correctly
 * recomputed hashes: verify prints a checkpoint (each lane's last seq and a
 * digest of those rows' hashes) to record elsewhere, and
 * `--expect-head <checkpoint>` proves those rows are still in the chains,
 * unchanged.
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
export const CANONICAL_VERSION = 'rowguard-audit-v3';
/** audit.append_rows() writes lanes 1..LANES (sql/0005_audit.sql). */
export const LANES = 8;

/** One audit.log row as the text forms that are hashed (NULL as null). */
export interface AuditRow {
  /** Capture order across lanes; not hashed. */
  id: string;
  lane: string;
  seq: string;
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

/**
 * The fields of an append's context, in canonical order: what the rows of one
 * append share (lane and seq enter in the chaining step, the row images in the
 * body).
 */
export const CONTEXT_FIELDS = [
  'at', 'txid', 'actor_id', 'actor_role', 'actor_email', 'db_role', 'user_agent', 'ip',
  'schema_name', 'table_name', 'operation', 'event',
] as const satisfies ReadonlyArray<keyof AuditRow>;

/** A position in the log: lane and seq, compared as numbers. */
export interface Position {
  lane: number;
  seq: bigint;
}

/**
 * One batch of audit.log in chain order (lane, then seq: keyset pagination on
 * the (lane, seq) primary key), typed by generated/db.ts: a renamed or
 * dropped column fails the build. The casts are trusted type output functions
 * only (see the file comment).
 */
export function auditBatch(after: Position | null, limit: number) {
  return qb()
    .selectFrom('audit.log as l')
    .select([
      raw<string>`l.id::text`.as('id'),
      raw<string>`l.lane::text`.as('lane'),
      raw<string>`l.seq::text`.as('seq'),
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
    // The first batch starts at the smallest (lane, seq) there is: lane 0 and
    // below are read too. A row with a NULL lane or seq is in no batch (a row
    // comparison decided by the lane alone would let a NULL seq through, hence
    // the explicit test); verifyAuditLog counts those.
    .where(raw<boolean>`l.lane is not null and l.seq is not null`)
    .where(after === null
      ? raw<boolean>`(l.lane, l.seq) >= ('-32768'::smallint, '-9223372036854775808'::bigint)`
      : raw<boolean>`(l.lane, l.seq) > (${after.lane}::smallint, ${after.seq.toString()}::bigint)`)
    .orderBy('l.lane')
    .orderBy('l.seq')
    .limit(limit);
}

/**
 * The context as Postgres's json_build_array(…)::text writes it: strings and
 * nulls, ', ' between elements. JSON.stringify escapes a string exactly as
 * Postgres's escape_json does (\" \\ \b \f \n \r \t, other control characters
 * as \u00xx, everything else as is) for any string Postgres can hold.
 */
export function contextText(row: AuditRow): string {
  return `[${CONTEXT_FIELDS.map((f) => { const v = row[f]; return v === null ? 'null' : JSON.stringify(v); }).join(', ')}]`;
}

/** The row images as json_build_array(pk, old_row, new_row)::text would write them. */
export function bodyText(row: AuditRow): string {
  return `[${row.pk ?? 'null'}, ${row.old_row ?? 'null'}, ${row.new_row ?? 'null'}]`;
}

function sha256hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The digest of a context; the rows of one append share it, so the last one is kept. */
let lastContext = '';
let lastContextDigest = '';
function contextDigest(row: AuditRow): string {
  const text = contextText(row);
  if (text !== lastContext) {
    lastContext = text;
    lastContextDigest = sha256hex(text);
  }
  return lastContextDigest;
}

/** The text whose sha256 is the row's chain hash, given the previous row's hash in its lane. */
export function chainText(prevHash: string, row: AuditRow): string {
  return `${CANONICAL_VERSION}\n${prevHash}\n${row.lane}:${row.seq}\n${contextDigest(row)}\n${bodyText(row)}`;
}

export function rowHash(prevHash: string, row: AuditRow): string {
  return sha256hex(chainText(prevHash, row));
}

/** The last row of a lane. */
export interface LaneHead {
  lane: string;
  seq: string;
  hash: string;
}

/**
 * What an operator records to prove later that no row up to here was cut off
 * or rewritten: each non-empty lane's last seq, and one digest of those rows'
 * hashes. Printed as `lane:seq[,lane:seq…]@digest`.
 */
export interface Checkpoint {
  lanes: Array<{ lane: string; seq: string }>;
  digest: string;
}

function digestOf(heads: readonly LaneHead[]): string {
  return sha256hex(heads.map((h) => `${h.lane}:${h.seq}:${h.hash}\n`).join(''));
}

export function checkpointOf(heads: readonly LaneHead[]): Checkpoint {
  return { lanes: heads.map(({ lane, seq }) => ({ lane, seq })), digest: digestOf(heads) };
}

export function formatCheckpoint(cp: Checkpoint): string {
  return `${cp.lanes.map((l) => `${l.lane}:${l.seq}`).join(',')}@${cp.digest}`;
}

/** `lane:seq[,lane:seq…]@digest` as printed by verify and accepted by --expect-head. */
export function parseCheckpoint(text: string): Checkpoint {
  const shown = text.length > 80 ? text.slice(0, 80) + '…' : text;
  const m = /^\s*([0-9]+:[0-9]+(?:,[0-9]+:[0-9]+)*)@([0-9a-fA-F]{64})\s*$/.exec(text);
  const lanes = m ? m[1]!.split(',').map((p) => { const [lane, seq] = p.split(':') as [string, string]; return { lane: String(Number(lane)), seq: BigInt(seq).toString() }; }) : [];
  const valid = m !== null && lanes.every((l, i) => Number(l.lane) >= 1 && Number(l.lane) <= 32767 && BigInt(l.seq) >= 1n && (i === 0 || Number(l.lane) > Number(lanes[i - 1]!.lane)));
  if (!valid) {
    throw new RowguardError('usage', `--expect-head must be <lane>:<seq>[,<lane>:<seq>…]@<64 hex digits>, lanes increasing (got "${shown}")`, {
      hint: 'use the head printed by an earlier `rowguard audit verify`, e.g. 1:1200,2:983@9f86d08…',
    });
  }
  return { lanes, digest: m![2]!.toLowerCase() };
}

export type BreakKind = 'bad_start' | 'bad_lane' | 'gap' | 'hash_mismatch' | 'not_increasing';

export interface ChainBreak {
  kind: BreakKind;
  /** The row at which the chain stops verifying. */
  lane: string;
  seq: string;
  id: string;
  message: string;
}

export interface ExpectedHeadResult {
  head: string;
  /** Every row the checkpoint names exists. */
  found: boolean;
  /** They have the recorded hashes and their lanes verified up to them. */
  ok: boolean;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  rows: number;
  /** Last row of each non-empty lane. */
  lanes: LaneHead[];
  /** The checkpoint to record (null for an empty log). */
  head: string | null;
  /** The first broken link, if any. */
  firstBreak: ChainBreak | null;
  /** Number of broken links (each resynchronised on the stored hash to find the next). */
  breaks: number;
  /** Rows of the table in no chain at all (lane or seq NULL): inserted or moved. */
  unchained: number;
  expectedHead: ExpectedHeadResult | null;
}

const rowName = (lane: string | number, seq: string | bigint) => `lane ${lane} row ${seq}`;

/**
 * Feed rows in (lane, seq) order (in as many batches as needed), then call
 * result(). After a break it continues from the stored hash of the offending
 * row, so later, independent breaks are counted too.
 */
export class ChainVerifier {
  private lane: number | null = null;
  private prevSeq = 0n;
  private prevHash = GENESIS_HASH;
  private laneBroken = false;
  private readonly heads: LaneHead[] = [];
  private count = 0;
  private first: ChainBreak | null = null;
  private nBreaks = 0;
  private nUnchained = 0;
  private readonly expect: Checkpoint | null;
  /** For each lane the checkpoint names: the seq it names, and what was found there. */
  private readonly expectAt = new Map<number, { seq: bigint; hash: string | null; brokenBefore: boolean }>();

  constructor(opts: { expectHead?: Checkpoint | null } = {}) {
    this.expect = opts.expectHead ?? null;
    for (const l of this.expect?.lanes ?? []) this.expectAt.set(Number(l.lane), { seq: BigInt(l.seq), hash: null, brokenBefore: false });
  }

  private fail(kind: BreakKind, row: AuditRow, message: string): void {
    this.nBreaks++;
    this.laneBroken = true;
    if (!this.first) this.first = { kind, lane: row.lane, seq: row.seq, id: row.id, message };
  }

  push(rows: readonly AuditRow[]): void {
    for (const row of rows) this.pushOne(row);
  }

  /** Rows the table holds outside every chain (no lane or no seq), found by counting the table. */
  unchainedRows(n: number): void {
    this.nUnchained += n;
  }

  private closeLane(): void {
    if (this.lane !== null && this.prevSeq > 0n) this.heads.push({ lane: String(this.lane), seq: this.prevSeq.toString(), hash: this.prevHash });
  }

  private pushOne(row: AuditRow): void {
    if (row.lane === null || row.seq === null) {
      this.nUnchained++;
      return;
    }
    const lane = Number(row.lane);
    const seq = BigInt(row.seq);
    let linkOk = true;
    if (this.lane !== null && lane < this.lane) {
      this.fail('not_increasing', row, `${rowName(lane, seq)} follows lane ${this.lane}: rows must be read in (lane, seq) order`);
      linkOk = false;
    } else if (lane !== this.lane) {
      this.closeLane();
      this.lane = lane;
      this.prevSeq = 0n;
      this.prevHash = GENESIS_HASH;
      this.laneBroken = false;
      if (!Number.isInteger(lane) || lane < 1 || lane > LANES) {
        this.fail('bad_lane', row, `lane ${lane} does not exist (rows are written to lanes 1..${LANES} only): its rows were inserted or moved there`);
        linkOk = false;
      }
    }
    const expected = this.prevSeq + 1n;
    if (linkOk && seq < 1n) {
      this.fail('bad_start', row, `${rowName(lane, seq)} precedes row 1: rows start at 1, so it was inserted`);
      linkOk = false;
    } else if (linkOk && seq <= this.prevSeq) {
      this.fail('not_increasing', row, `${rowName(lane, seq)} follows row ${this.prevSeq}: rows must be read in seq order`);
      linkOk = false;
    } else if (linkOk && seq !== expected) {
      if (this.prevSeq === 0n) this.fail('bad_start', row, `lane ${lane} starts at row ${seq}, not 1: rows 1..${seq - 1n} were deleted`);
      else if (seq === expected + 1n) this.fail('gap', row, `lane ${lane}: row ${expected} is missing (deleted) before row ${seq}`);
      else this.fail('gap', row, `lane ${lane}: rows ${expected}..${seq - 1n} are missing (deleted) before row ${seq}`);
      linkOk = false;
    }
    if (linkOk && rowHash(this.prevHash, row) !== row.hash) {
      this.fail(
        'hash_mismatch',
        row,
        this.prevSeq === 0n
          ? `${rowName(lane, seq)}: stored hash does not match its content (modified, or inserted)`
          : `${rowName(lane, seq)}: stored hash does not match its content and row ${this.prevSeq}'s hash (modified, or inserted)`,
      );
    }
    const at = this.expectAt.get(lane);
    if (at && at.seq === seq) {
      at.hash = row.hash;
      at.brokenBefore = this.laneBroken;
    }
    this.prevSeq = seq;
    this.prevHash = row.hash;
    this.count++;
  }

  private checkExpected(heads: readonly LaneHead[]): ExpectedHeadResult | null {
    if (!this.expect) return null;
    const head = formatCheckpoint(this.expect);
    const last = new Map(heads.map((h) => [Number(h.lane), h.seq]));
    for (const [lane, at] of this.expectAt) {
      if (at.hash === null) {
        const end = last.get(lane);
        const where = end === undefined ? `lane ${lane} is empty` : `lane ${lane} ends at row ${end}`;
        return { head, found: false, ok: false, message: `${where}, before the recorded ${rowName(lane, at.seq)}: rows were cut off after the checkpoint` };
      }
    }
    const found: LaneHead[] = [...this.expectAt].map(([lane, at]) => ({ lane: String(lane), seq: at.seq.toString(), hash: at.hash! }));
    if (digestOf(found) !== this.expect.digest) {
      return { head, found: true, ok: false, message: 'the rows the checkpoint names now have other hashes: the chain was rewritten at or before the checkpoint' };
    }
    const broken = [...this.expectAt].find(([, at]) => at.brokenBefore);
    if (broken) {
      return { head, found: true, ok: false, message: `the checkpoint's rows keep their recorded hashes, but lane ${broken[0]} is broken at or before ${rowName(broken[0], broken[1].seq)}` };
    }
    return { head, found: true, ok: true, message: 'every row of the checkpoint recorded earlier is still in the chain, unchanged' };
  }

  result(): VerifyResult {
    const heads = [...this.heads];
    if (this.lane !== null && this.prevSeq > 0n) heads.push({ lane: String(this.lane), seq: this.prevSeq.toString(), hash: this.prevHash });
    const expectedHead = this.checkExpected(heads);
    return {
      ok: this.nBreaks === 0 && this.nUnchained === 0 && (expectedHead === null || expectedHead.ok),
      rows: this.count,
      lanes: heads,
      head: heads.length ? formatCheckpoint(checkpointOf(heads)) : null,
      firstBreak: this.first,
      breaks: this.nBreaks,
      unchained: this.nUnchained,
      expectedHead,
    };
  }
}

export interface VerifyOptions {
  expectHead?: Checkpoint | null;
  /** Rows per round trip (keyset pagination on (lane, seq)). */
  batchSize?: number;
  onProgress?: (rowsRead: number) => void;
}

/**
 * Read audit.log in (lane, seq) order, in batches, inside one REPEATABLE READ READ ONLY
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
      // The first batch has no lower bound: a row in lane 0 or below is read too.
      let after: Position | null = null;
      let read = 0;
      // Keyset pagination: `(lane, seq) > last` on the unique index, never OFFSET.
      for (;;) {
        const rows: AuditRow[] = await run(tx, auditBatch(after, batchSize));
        if (rows.length === 0) break;
        verifier.push(rows);
        read += rows.length;
        const last = rows[rows.length - 1]!;
        after = { lane: Number(last.lane), seq: BigInt(last.seq) };
        opts.onProgress?.(read);
        if (rows.length < batchSize) break;
      }
      // Every row is in the scan unless its lane or seq is NULL (a row
      // comparison with NULL is not true): count the table in the same snapshot.
      const [all] = await tx<{ n: string }[]>`select pg_catalog.count(*)::text as n from audit.log`;
      if (BigInt(all!.n) > BigInt(read)) verifier.unchainedRows(Number(BigInt(all!.n) - BigInt(read)));
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
