/**
 * The pure chain check: rows built by hand, no database. Each kind of tamper
 * gives one precise first break; --expect-head catches what a chain cannot.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ChainVerifier, GENESIS_HASH, chainText, contentText, formatHead, parseHead, rowHash, type AuditRow } from '../../cli/core/audit/verify.js';
import { RowguardError } from '../../cli/core/errors.js';

function chain(n: number): AuditRow[] {
  const rows: AuditRow[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const row: AuditRow = {
      id: String(i),
      at: `2026-11-29T10:00:${String(i % 60).padStart(2, '0')}.000001Z`,
      txid: String(700 + i),
      actor_id: i % 2 ? 'aaaaaaaa-1111-4000-8000-00000000000a' : null,
      actor_role: 'authenticated',
      actor_email: 'ä@example.test',
      db_role: 'authenticated',
      user_agent: null,
      ip: null,
      schema_name: 'public',
      table_name: 'deployments',
      operation: 'INSERT',
      event: null,
      pk: `{"id": ${i}}`,
      old_row: null,
      new_row: `{"id": ${i}, "name": "dép 😀 ${i}"}`,
      hash: '',
    };
    row.hash = rowHash(prev, row);
    prev = row.hash;
    rows.push(row);
  }
  return rows;
}

function verify(rows: AuditRow[], expectHead?: string) {
  const v = new ChainVerifier({ expectHead: expectHead ? parseHead(expectHead) : null });
  // Feed in uneven batches, as the I/O layer does.
  for (let i = 0; i < rows.length; i += 3) v.push(rows.slice(i, i + 3));
  return v.result();
}

describe('canonical serialisation', () => {
  it('length-prefixes each field in UTF-8 bytes and writes NULL as N', () => {
    const [row] = chain(1);
    const text = contentText(row!);
    expect(text.startsWith('S27:2026-11-29T10:00:01.000001ZS3:701')).toBe(true);
    expect(text).toContain('S15:ä@example.test'); // ä is 2 bytes
    expect(text).toContain('NN'); // user_agent, ip
  });
  it('chains: sha256 of version, previous hash, id and the content hash', () => {
    const [row] = chain(1);
    const contentHash = createHash('sha256').update(contentText(row!), 'utf8').digest('hex');
    expect(chainText(GENESIS_HASH, row!)).toBe(`rowguard-audit-v1\n${GENESIS_HASH}\n1\n${contentHash}`);
    expect(rowHash(GENESIS_HASH, row!)).toBe(createHash('sha256').update(chainText(GENESIS_HASH, row!)).digest('hex'));
  });
  it('distinguishes NULL from the empty string and from the text "N"', () => {
    const [row] = chain(1);
    const a = rowHash(GENESIS_HASH, { ...row!, ip: null });
    const b = rowHash(GENESIS_HASH, { ...row!, ip: '' });
    const c = rowHash(GENESIS_HASH, { ...row!, ip: 'N' });
    expect(new Set([a, b, c]).size).toBe(3);
  });
});

describe('ChainVerifier', () => {
  it('accepts an intact chain and reports its head', () => {
    const rows = chain(10);
    const r = verify(rows);
    expect(r).toMatchObject({ ok: true, rows: 10, breaks: 0, firstBreak: null, head: { id: '10', hash: rows[9]!.hash } });
  });
  it('accepts an empty log (no head)', () => {
    expect(verify([])).toMatchObject({ ok: true, rows: 0, head: null });
  });
  it('names a modified row as the first broken link, and only that row', () => {
    const rows = chain(10);
    rows[4] = { ...rows[4]!, new_row: '{"id": 5, "name": "edited"}' };
    const r = verify(rows);
    expect(r.ok).toBe(false);
    expect(r.firstBreak).toMatchObject({ kind: 'hash_mismatch', id: '5' });
    expect(r.breaks).toBe(1);
  });
  it('names the row after a deleted one (a gap)', () => {
    const rows = chain(10);
    rows.splice(6, 1);
    expect(verify(rows).firstBreak).toMatchObject({ kind: 'gap', id: '8', message: 'row 7 is missing (deleted) before row 8' });
    const more = chain(10);
    more.splice(2, 3);
    expect(verify(more).firstBreak).toMatchObject({ kind: 'gap', id: '6', message: 'rows 3..5 are missing (deleted) before row 6' });
  });
  it('catches deleted first rows', () => {
    expect(verify(chain(5).slice(2)).firstBreak).toMatchObject({ kind: 'bad_start', id: '3' });
  });
  it('catches an inserted row whose hash was not recomputed, and one with a correct-looking but unchained hash', () => {
    const rows = chain(5);
    const forged: AuditRow = { ...rows[4]!, id: '6', new_row: '{"forged": true}' };
    expect(verify([...rows, forged]).firstBreak).toMatchObject({ kind: 'hash_mismatch', id: '6' });
    const unchained: AuditRow = { ...forged, hash: rowHash(GENESIS_HASH, forged) };
    expect(verify([...rows, unchained]).firstBreak).toMatchObject({ kind: 'hash_mismatch', id: '6' });
  });
  it('catches a row inserted before id 1', () => {
    const rows = chain(3);
    const zero: AuditRow = { ...rows[0]!, id: '0' };
    expect(verify([zero, ...rows]).firstBreak).toMatchObject({ kind: 'bad_start', id: '0' });
  });
  it('catches a fully rewritten chain only through --expect-head', () => {
    const original = chain(8);
    const head = formatHead({ id: '5', hash: original[4]!.hash });
    // An attacker edits row 3 and recomputes every later hash: the chain itself is valid.
    const rewritten: AuditRow[] = [];
    let prev = GENESIS_HASH;
    for (const row of original) {
      const r = { ...row, new_row: row.id === '3' ? '{"rewritten": true}' : row.new_row };
      r.hash = rowHash(prev, r);
      prev = r.hash;
      rewritten.push(r);
    }
    expect(verify(rewritten).ok).toBe(true);
    const r = verify(rewritten, head);
    expect(r.ok).toBe(false);
    expect(r.expectedHead).toMatchObject({ id: '5', found: true, ok: false });
    expect(verify(original, head).expectedHead).toMatchObject({ found: true, ok: true });
  });
  it('catches rows cut off after a recorded head', () => {
    const rows = chain(8);
    const head = formatHead({ id: '8', hash: rows[7]!.hash });
    const r = verify(rows.slice(0, 6), head);
    expect(r.ok).toBe(false);
    expect(r.firstBreak).toBeNull();
    expect(r.expectedHead).toMatchObject({ found: false, ok: false, message: 'no row 8: the log ends at row 6, so rows were cut off after the recorded head' });
  });
  it('counts independent breaks after resynchronising', () => {
    const rows = chain(10);
    rows[1] = { ...rows[1]!, actor_role: 'service_role' };
    rows[7] = { ...rows[7]!, ip: '10.0.0.1' };
    const r = verify(rows);
    expect(r.firstBreak?.id).toBe('2');
    expect(r.breaks).toBe(2);
  });
});

describe('parseHead', () => {
  it('accepts id:hash (hex in any case) and rejects anything else with a usage error', () => {
    expect(parseHead(`12:${'AB'.repeat(32)}`)).toEqual({ id: '12', hash: 'ab'.repeat(32) });
    for (const bad of ['12', `0:${'a'.repeat(64)}`, `x:${'a'.repeat(64)}`, `5:${'a'.repeat(63)}`, `5:${'g'.repeat(64)}`]) {
      expect(() => parseHead(bad)).toThrow(RowguardError);
    }
  });
});
