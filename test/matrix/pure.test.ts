/** The pure parts of the matrix: ownership, classification, INSERT planning, the file, the comparison. */
import { describe, expect, it } from 'vitest';
import { ownerColumnOf, modelRelation, type ColumnRow } from '../../cli/core/matrix/introspect.js';
import { classifyOwnedInsert, classifyRows } from '../../cli/core/matrix/classify.js';
import { literal, planInsert, type Truth } from '../../cli/core/matrix/probe.js';
import { parseActors } from '../../cli/core/matrix/actors.js';
import { parseMatrixFile } from '../../cli/core/matrix/file.js';
import { compareMatrices, describeChange, describeChanges } from '../../cli/core/matrix/compare.js';
import { RowguardError } from '../../cli/core/errors.js';

function col(name: string, over: Partial<ColumnRow> = {}): ColumnRow {
  return { attnum: 1, name, type: 'uuid', baseType: 'uuid', typmod: -1, notNull: false, hasDefault: false, identity: '', generated: '', referencesAuthUsers: false, inForeignKey: false, updatable: true, enumFirst: null, ...over };
}

describe('ownerColumnOf', () => {
  const rel = (columns: ColumnRow[], schema = 'public', table = 't') => ({ schema, table, columns });
  it('prefers a user_id/owner_id that references auth.users, then any auth.users reference, then the name', () => {
    expect(ownerColumnOf(rel([col('created_by', { referencesAuthUsers: true }), col('user_id', { referencesAuthUsers: true })]))).toBe('user_id');
    expect(ownerColumnOf(rel([col('author', { referencesAuthUsers: true }), col('user_id')]))).toBe('author');
    expect(ownerColumnOf(rel([col('owner_id', { type: 'text', baseType: 'text' })]))).toBe('owner_id');
    expect(ownerColumnOf(rel([col('user_id', { type: 'integer', baseType: 'int4' })]))).toBeNull(); // not a user id type
    expect(ownerColumnOf(rel([col('id')]))).toBeNull();
    expect(ownerColumnOf(rel([col('id')], 'auth', 'users'))).toBe('id');
  });
});

describe('classifyRows', () => {
  it('tells own from all from subset, and says when they cannot be told apart', () => {
    expect(classifyRows({ rows: 2, rowsOwn: 2, total: 5, ownTotal: 2 }).access).toBe('own');
    expect(classifyRows({ rows: 5, rowsOwn: 2, total: 5, ownTotal: 2 }).access).toBe('all');
    expect(classifyRows({ rows: 3, rowsOwn: 2, total: 5, ownTotal: 2 })).toMatchObject({ access: 'subset', rows: 3, total: 5 });
    // own rows only partly visible is not "own"
    expect(classifyRows({ rows: 2, rowsOwn: 1, total: 5, ownTotal: 2 }).access).toBe('subset');
    expect(classifyRows({ rows: 0, total: 5, ownTotal: 0 }).access).toBe('empty');
    expect(classifyRows({ rows: 0, total: 0 }).note).toMatch(/no rows/);
    expect(classifyRows({ rows: 3, rowsOwn: 3, total: 3, ownTotal: 3 })).toMatchObject({ access: 'all', note: expect.stringMatching(/cannot be told apart/) });
  });
});

describe('classifyOwnedInsert', () => {
  const ok = { kind: 'ok', count: 1 } as const;
  const refused = { kind: 'refused', note: 'new row violates row-level security policy' } as const;
  it('own / all / refused / none / other-only', () => {
    expect(classifyOwnedInsert(ok, refused).access).toBe('own');
    expect(classifyOwnedInsert(ok, ok).access).toBe('all');
    expect(classifyOwnedInsert(refused, refused).access).toBe('refused');
    expect(classifyOwnedInsert({ kind: 'denied', note: 'permission denied' }, refused).access).toBe('none');
    expect(classifyOwnedInsert(refused, ok)).toMatchObject({ access: 'subset', note: expect.stringMatching(/someone else/) });
    // a constraint error comes after the RLS check: still allowed
    expect(classifyOwnedInsert({ kind: 'constraint', sqlstate: '23505', note: '23505 duplicate key' }, refused)).toMatchObject({ access: 'own', note: expect.stringMatching(/23505/) });
  });
});

describe('planInsert', () => {
  const truth = (values: Array<string | null>): [Truth, { owner: string; values: Array<string | null> }] => [
    { total: 1, ownByUid: new Map(), keys: [], sources: [], maxOf: new Map([['seq', '41']]), updatable: new Map(), readable: new Map(), insertable: new Map(), filtering: new Map(), samePolicies: new Map(), writeGrants: new Map(), policyColumns: new Set() },
    { owner: 'u1', values },
  ];
  it('leaves generated, identity and defaulted key columns to Postgres, freshens the other keys, sets the owner', () => {
    const rel = modelRelation({
      oid: 1,
      schema: 'public',
      table: 'Odd',
      relkind: 'r',
      rls: true,
      forceRls: false,
      columns: [
        col('id', { hasDefault: true }),
        col('user_id', { attnum: 2, referencesAuthUsers: true }),
        col('seq', { attnum: 3, type: 'integer', baseType: 'int4' }),
        col('Code', { attnum: 4, type: 'character varying(6)', baseType: 'varchar', typmod: 10 }),
        col('g', { attnum: 5, type: 'integer', baseType: 'int4', generated: 's' }),
        col('n', { attnum: 6, type: 'bigint', baseType: 'int8', identity: 'a' }),
      ],
      uniqueKeys: [['id'], ['user_id', 'seq'], ['Code']],
      primaryKey: ['id'],
    });
    const [t, src] = truth(['11111111-1111-1111-1111-111111111111', 'u1', '41', 'abcdef', '82', '7']);
    const plan = planInsert(rel, t, src, 'u2');
    const m = /^insert into public\."Odd" \(user_id, seq, "Code"\) values \(E'u2'::uuid, E'(\d+)'::integer, E'([^']*)'::character varying\(6\)\)$/.exec(plan.text);
    expect(m, plan.text).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(41); // fresh, not the copied 41
    expect(m![2]).not.toBe('abcdef');
    expect(m![2]!.length).toBeLessThanOrEqual(6); // fits varchar(6)
    expect(plan.note).toBeUndefined();
  });
});

describe('literal', () => {
  it('quotes quotes and backslashes whatever standard_conforming_strings is', () => {
    expect(literal("it's")).toBe("E'it''s'");
    expect(literal(String.raw`a\x00'); drop table t; --`)).toBe(String.raw`E'a\\x00''); drop table t; --'`);
  });
});

describe('actors.json', () => {
  it('reports every problem at once', () => {
    const bad = JSON.stringify({ actors: [{ name: 'a', kind: 'user' }, { name: 'a', kind: 'wizard' }, { name: 'r', kind: 'role', extra: 1 }] });
    try {
      parseActors(bad, 'test/fixtures/actors.json');
      expect.unreachable();
    } catch (err) {
      const e = err as RowguardError;
      expect(e.code).toBe('config');
      const all = [e.message, e.detail].join('\n');
      expect(all).toContain('actors[0].email');
      expect(all).toContain('"a" is used twice');
      expect(all).toContain('actors[1].kind');
      expect(all).toContain('actors[2].role');
      expect(all).toContain('actors[2].extra: unknown key');
    }
  });
});

describe('committed file and comparison', () => {
  it('rejects a file of another version', () => {
    expect(() => parseMatrixFile('{"version": 2, "actors": [], "tables": {}}', 'test/access-matrix.json')).toThrow(/unsupported version 2/);
  });
  it('lists changed, new and removed cells', () => {
    const row = (s: string) => ({ SELECT: s, INSERT: 'none', UPDATE: 'none', DELETE: 'none' });
    const changes = compareMatrices({ 'public.a': { anon: row('none'), bob: row('own') }, 'public.gone': { anon: row('none') } }, { 'public.a': { anon: row('subset 3/10'), carol: row('own') } });
    expect(changes.map(describeChange)).toEqual([
      'anon: SELECT public.a none → subset 3/10',
      ...['SELECT', 'INSERT', 'UPDATE', 'DELETE'].map((c) => `carol: ${c} public.a (not in the committed matrix) → ${c === 'SELECT' ? 'own rows' : 'none'}`),
      ...['SELECT', 'INSERT', 'UPDATE', 'DELETE'].map((c) => `bob: ${c} public.a ${c === 'SELECT' ? 'own rows' : 'none'} → (no longer computed)`),
      ...['SELECT', 'INSERT', 'UPDATE', 'DELETE'].map((c) => `anon: ${c} public.gone none → (no longer computed)`),
    ]);
  });
  it('a renamed, dropped or new table or actor is one line each, a new one with the access it brings', () => {
    const row = (s: string) => ({ SELECT: s, INSERT: 'none', UPDATE: 'none', DELETE: 'none' });
    const before = { 'public.notes': { anon: row('none'), alice: row('own') }, 'public.old': { anon: row('all'), alice: row('all') } };
    // notes renamed to memos (same cells), old dropped, secrets added, and one cell of memos changed
    const renamed = compareMatrices(before, { 'public.memos': { anon: row('none'), alice: row('own') }, 'public.secrets': { anon: row('all'), alice: row('none') } });
    expect(describeChanges(renamed)).toEqual([
      'public.notes → public.memos: renamed, or replaced by one with the same access (every cell unchanged)',
      'public.old: no longer computed (dropped, renamed, or its schema is no longer exposed)',
      'anon: public.secrets (new table) SELECT all rows, INSERT none, UPDATE none, DELETE none',
      'alice: public.secrets (new table) SELECT none, INSERT none, UPDATE none, DELETE none',
    ]);
    // an actor renamed in actors.json, and a changed cell next to it
    const actor = compareMatrices(before, { 'public.notes': { anon: row('all'), alicia: row('own') }, 'public.old': { anon: row('all'), alicia: row('all') } });
    expect(describeChanges(actor)).toEqual(['anon: SELECT public.notes none → all rows', 'actor alice → alicia: renamed, or replaced by one with the same access (every cell unchanged)']);
    // the same actor but with different access: gone, and new with every cell
    const other = compareMatrices(before, { 'public.notes': { anon: row('none'), bob: row('all') }, 'public.old': { anon: row('all'), bob: row('all') } });
    expect(describeChanges(other)).toEqual([
      'actor alice: no longer computed (no longer in actors.json)',
      'bob (new actor): public.notes SELECT all rows, INSERT none, UPDATE none, DELETE none',
      'bob (new actor): public.old SELECT all rows, INSERT none, UPDATE none, DELETE none',
    ]);
    expect(renamed.every((c) => c.scope === 'table')).toBe(true);
    // the database role behind an actor renamed: every cell of it is the same n/a, said once
    const gone = 'n/a: role rg_app does not exist';
    const na = { SELECT: gone, INSERT: gone, UPDATE: gone, DELETE: gone };
    const role = compareMatrices(before, { 'public.notes': { anon: row('none'), alice: na }, 'public.old': { anon: row('all'), alice: na } });
    expect(role).toHaveLength(8);
    expect(describeChanges(role)).toEqual(['alice: 8 cells → n/a: role rg_app does not exist (a renamed or dropped role: update actors.json)']);
  });
});
