/**
 * The pure chain check: rows built by hand, no database. Each kind of tamper
 * gives one precise first break; --expect-head catches what a chain cannot.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ChainVerifier, GENESIS_HASH, bodyText, chainText, checkpointOf, contextText, formatCheckpoint, parseCheckpoint, rowHash, type AuditRow } from '../../cli/core/audit/verify.js';
import { RowguardError } from '../../cli/core/errors.js';

/** n rows of one lane, correctly chained; ids interleave with other lanes' (lane + 10 × seq). */
function chain(n: number, lane = 1): AuditRow[] {
  const rows: AuditRow[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const row: AuditRow = {
      id: String(lane + 10 * i),
      lane: String(lane),
      seq: String(i),
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
      new_row: `{"id": ${i}, "name": "dép 😀 ${lane}.${i}"}`,
      hash: '',
    };
    row.hash = rowHash(prev, row);
    prev = row.hash;
    rows.push(row);
  }
  return rows;
}

/** Recompute every hash of a lane after an edit, as an attacker with the format would. */
function rehash(rows: AuditRow[]): AuditRow[] {
  let prev = GENESIS_HASH;
  return rows.map((row) => {
    const r = { ...row };
    r.hash = rowHash(prev, r);
    prev = r.hash;
    return r;
  });
}

function verify(rows: AuditRow[], expectHead?: string) {
  const v = new ChainVerifier({ expectHead: expectHead ? parseCheckpoint(expectHead) : null });
  // Feed in uneven batches, as the I/O layer does.
  for (let i = 0; i < rows.length; i += 3) v.push(rows.slice(i, i + 3));
  return v.result();
}

const headOf = (rows: AuditRow[]) => verify(rows).head!;

describe('canonical serialisation', () => {
  it('writes the context as a JSON array of strings and nulls, as json_build_array(…)::text does', () => {
    const [row] = chain(1);
    expect(contextText(row!)).toBe(
      '["2026-11-29T10:00:01.000001Z", "701", "aaaaaaaa-1111-4000-8000-00000000000a", "authenticated", "ä@example.test", ' +
        '"authenticated", null, null, "public", "deployments", "INSERT", null]',
    );
    expect(contextText({ ...row!, user_agent: 'q"b\\s\n\u0001\u007f' })).toContain('"q\\"b\\\\s\\n\\u0001\u007f"');
  });
  it('writes the body as the JSON array [pk, old_row, new_row] of the jsonb text forms', () => {
    const [row] = chain(1);
    expect(bodyText(row!)).toBe('[{"id": 1}, null, {"id": 1, "name": "dép 😀 1.1"}]');
  });
  it('chains: sha256 of version, previous hash, lane:seq, the context digest and the body', () => {
    const [row] = chain(1, 3);
    const contextHash = createHash('sha256').update(contextText(row!), 'utf8').digest('hex');
    expect(chainText(GENESIS_HASH, row!)).toBe(`rowguard-audit-v3\n${GENESIS_HASH}\n3:1\n${contextHash}\n${bodyText(row!)}`);
    expect(rowHash(GENESIS_HASH, row!)).toBe(createHash('sha256').update(chainText(GENESIS_HASH, row!)).digest('hex'));
  });
  it('binds the lane and seq, not the id (which only orders rows across lanes)', () => {
    const [row] = chain(1, 1);
    expect(rowHash(GENESIS_HASH, { ...row!, lane: '2' })).not.toBe(row!.hash);
    expect(rowHash(GENESIS_HASH, { ...row!, seq: '2' })).not.toBe(row!.hash);
    expect(rowHash(GENESIS_HASH, { ...row!, id: '987654' })).toBe(row!.hash);
  });
  it('distinguishes NULL from the empty string and from the text "null"', () => {
    const [row] = chain(1);
    const a = rowHash(GENESIS_HASH, { ...row!, ip: null });
    const b = rowHash(GENESIS_HASH, { ...row!, ip: '' });
    const c = rowHash(GENESIS_HASH, { ...row!, ip: 'null' });
    const d = rowHash(GENESIS_HASH, { ...row!, old_row: 'null' }); // a jsonb JSON null is not an SQL NULL
    expect(new Set([a, b, c]).size).toBe(3);
    expect(d).toBe(row!.hash); // …but they serialise alike: the jsonb null and NULL old_row hash the same
  });
});

describe('ChainVerifier', () => {
  it('accepts intact lanes and reports each lane head and one checkpoint', () => {
    const one = chain(10, 1);
    const three = chain(4, 3);
    const r = verify([...one, ...three]);
    expect(r).toMatchObject({ ok: true, rows: 14, breaks: 0, firstBreak: null });
    expect(r.lanes).toEqual([
      { lane: '1', seq: '10', hash: one[9]!.hash },
      { lane: '3', seq: '4', hash: three[3]!.hash },
    ]);
    expect(r.head).toBe(formatCheckpoint(checkpointOf(r.lanes)));
    expect(r.head).toMatch(/^1:10,3:4@[0-9a-f]{64}$/);
  });
  it('accepts an empty log (no head)', () => {
    expect(verify([])).toMatchObject({ ok: true, rows: 0, lanes: [], head: null });
  });
  it('names a modified row as the first broken link, and only that row', () => {
    const rows = [...chain(10, 1), ...chain(5, 2)];
    rows[12] = { ...rows[12]!, new_row: '{"id": 3, "name": "edited"}' };
    const r = verify(rows);
    expect(r.ok).toBe(false);
    expect(r.firstBreak).toMatchObject({ kind: 'hash_mismatch', lane: '2', seq: '3', id: rows[12]!.id });
    expect(r.breaks).toBe(1);
  });
  it('names the row after a deleted one (a gap), in its lane', () => {
    const rows = [...chain(3, 1), ...chain(10, 2)];
    rows.splice(3 + 6, 1);
    expect(verify(rows).firstBreak).toMatchObject({ kind: 'gap', lane: '2', seq: '8', message: 'lane 2: row 7 is missing (deleted) before row 8' });
    const more = chain(10);
    more.splice(2, 3);
    expect(verify(more).firstBreak).toMatchObject({ kind: 'gap', seq: '6', message: 'lane 1: rows 3..5 are missing (deleted) before row 6' });
  });
  it('catches deleted first rows of a lane, and a whole lane moved under another number', () => {
    expect(verify(chain(5).slice(2)).firstBreak).toMatchObject({ kind: 'bad_start', seq: '3' });
    const relabelled = chain(4, 2).map((r) => ({ ...r, lane: '5' }));
    expect(verify([...chain(2, 1), ...relabelled]).firstBreak).toMatchObject({ kind: 'hash_mismatch', lane: '5', seq: '1' });
  });
  it('catches an inserted row whose hash was not recomputed, and one with a correct-looking but unchained hash', () => {
    const rows = chain(5);
    const forged: AuditRow = { ...rows[4]!, id: '999', seq: '6', new_row: '{"forged": true}' };
    expect(verify([...rows, forged]).firstBreak).toMatchObject({ kind: 'hash_mismatch', seq: '6' });
    const unchained: AuditRow = { ...forged, hash: rowHash(GENESIS_HASH, forged) };
    expect(verify([...rows, unchained]).firstBreak).toMatchObject({ kind: 'hash_mismatch', seq: '6' });
  });
  it('catches a row inserted before seq 1, and rows read out of order', () => {
    const rows = chain(3);
    expect(verify([{ ...rows[0]!, seq: '0' }, ...rows]).firstBreak).toMatchObject({ kind: 'bad_start', seq: '0' });
    expect(verify([...chain(2, 2), ...chain(2, 1)]).firstBreak).toMatchObject({ kind: 'not_increasing', lane: '1' });
  });
  it('catches a fully rewritten lane only through --expect-head', () => {
    const original = [...chain(8, 1), ...chain(3, 2)];
    const checkpoint = headOf([...original.slice(0, 5), ...original.slice(8)]); // lane 1 at row 5, lane 2 at row 3
    expect(checkpoint).toMatch(/^1:5,2:3@/);
    // An attacker edits lane 1 row 3 and recomputes every later hash: the chain itself is valid.
    const rewritten = [...rehash(original.slice(0, 8).map((r) => (r.seq === '3' ? { ...r, new_row: '{"rewritten": true}' } : r))), ...original.slice(8)];
    expect(verify(rewritten).ok).toBe(true);
    const r = verify(rewritten, checkpoint);
    expect(r.ok).toBe(false);
    expect(r.expectedHead).toMatchObject({ head: checkpoint, found: true, ok: false });
    expect(r.expectedHead!.message).toContain('rewritten');
    // The untouched log still holds the checkpoint, also after more appends.
    expect(verify(original, checkpoint).expectedHead).toMatchObject({ found: true, ok: true });
  });
  it('catches rows cut off after a recorded checkpoint, and a lane emptied entirely', () => {
    const rows = [...chain(8, 1), ...chain(2, 4)];
    const checkpoint = headOf(rows);
    const cut = verify([...rows.slice(0, 6), ...rows.slice(8)], checkpoint);
    expect(cut.ok).toBe(false);
    expect(cut.firstBreak).toBeNull();
    expect(cut.expectedHead).toMatchObject({ found: false, ok: false, message: 'lane 1 ends at row 6, before the recorded lane 1 row 8: rows were cut off after the checkpoint' });
    const emptied = verify(rows.slice(0, 8), checkpoint);
    expect(emptied.expectedHead).toMatchObject({ found: false, message: 'lane 4 is empty, before the recorded lane 4 row 2: rows were cut off after the checkpoint' });
  });
  it('does not accept a checkpoint whose rows are intact when the lane is broken before them', () => {
    const rows = chain(6);
    const checkpoint = headOf(rows);
    rows[1] = { ...rows[1]!, ip: '10.0.0.9' };
    const r = verify(rows, checkpoint);
    expect(r.firstBreak).toMatchObject({ kind: 'hash_mismatch', seq: '2' });
    expect(r.expectedHead).toMatchObject({ found: true, ok: false, message: "the checkpoint's rows keep their recorded hashes, but lane 1 is broken at or before lane 1 row 6" });
    // The checkpoint's own row edited (its stored hash kept): not 'unchanged', and not 'before' it.
    const last = chain(6);
    const head = headOf(last);
    last[5] = { ...last[5]!, ip: '10.0.0.9' };
    const own = verify(last, head);
    expect(own.firstBreak).toMatchObject({ kind: 'hash_mismatch', seq: '6' });
    expect(own.expectedHead).toMatchObject({ found: true, ok: false, message: "the checkpoint's rows keep their recorded hashes, but lane 1 is broken at or before lane 1 row 6" });
  });
  it('catches a correctly hashed lane that append_rows never writes (0, 9, negative), and a row with no lane or seq', () => {
    // Anyone can compute an unkeyed chain from genesis: a whole forged lane
    // verifies link by link, so only its number gives it away.
    for (const lane of [0, 9, -1]) {
      const r = verify([...chain(3, 1), ...chain(2, lane)].sort((x, y) => Number(x.lane) - Number(y.lane)));
      expect(r.ok).toBe(false);
      expect(r.firstBreak).toMatchObject({ kind: 'bad_lane', lane: String(lane), seq: '1', message: `lane ${lane} does not exist (rows are written to lanes 1..8 only): its rows were inserted or moved there` });
      expect(r.breaks).toBe(1);
    }
    expect(verify([...chain(3, 1), ...chain(2, 8)]).ok).toBe(true);
    const v = new ChainVerifier();
    v.push(chain(3));
    v.push([{ ...chain(1)[0]!, seq: null as unknown as string }]);
    v.unchainedRows(1);
    const r = v.result();
    expect(r).toMatchObject({ ok: false, firstBreak: null, breaks: 0, unchained: 2 });
  });
  it('counts independent breaks after resynchronising', () => {
    const rows = chain(10);
    rows[1] = { ...rows[1]!, actor_role: 'service_role' };
    rows[7] = { ...rows[7]!, ip: '10.0.0.1' };
    const r = verify(rows);
    expect(r.firstBreak?.seq).toBe('2');
    expect(r.breaks).toBe(2);
  });
});

describe('parseCheckpoint', () => {
  it('accepts lane:seq,…@digest (hex in any case) and rejects anything else with a usage error', () => {
    expect(parseCheckpoint(`1:12,3:7@${'AB'.repeat(32)}`)).toEqual({ lanes: [{ lane: '1', seq: '12' }, { lane: '3', seq: '7' }], digest: 'ab'.repeat(32) });
    for (const bad of [
      '12',
      `12:${'a'.repeat(64)}`, // the old id:hash form
      `0:5@${'a'.repeat(64)}`,
      `1:0@${'a'.repeat(64)}`,
      `2:5,1:3@${'a'.repeat(64)}`,
      `1:5,1:6@${'a'.repeat(64)}`,
      `x:5@${'a'.repeat(64)}`,
      `1:5@${'a'.repeat(63)}`,
      `1:5@${'g'.repeat(64)}`,
    ]) {
      expect(() => parseCheckpoint(bad), bad).toThrow(RowguardError);
    }
  });
});
