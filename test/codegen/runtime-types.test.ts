// The generated types against what kysely + pg really do on Postgres: every column's selected value
// has the shape its Selectable type says, and a write compiles exactly when Postgres accepts it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { generateTypes } from '../../cli/core/codegen.js';
import { REPO_ROOT, freshDatabase, type TestDatabase } from '../helpers/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'rg-codegen-rt-'));
let database: TestDatabase;
let db: Kysely<any>;
let citext = false;

beforeAll(async () => {
  database = await freshDatabase('rg_codegen_rt');
  citext = (await database.sql`select 1 from pg_available_extensions where name = 'citext'`).length > 0;
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'generated'));
  // As a user's app would: kysely's PostgresDialect on a pg Pool with pg's default type parsers.
  db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }) });
});
afterAll(async () => {
  await db?.destroy();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Type-checks `source` (a module beside generated/db.ts) under --strict; returns its diagnostics and checker. */
function check(name: string, source: string): { problems: string[]; program: ts.Program; file: ts.SourceFile } {
  const path = join(dir, name);
  writeFileSync(path, source);
  const program = ts.createProgram([path], { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true, types: ['node'] });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => `${d.file ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  return { problems, program, file: program.getSourceFile(path)! };
}

/** Whether a run-time value has the shape of a TypeScript type (the subset generated files use). */
function matches(value: unknown, type: ts.Type, checker: ts.TypeChecker): boolean {
  if (type.isUnion()) return type.types.some((t) => matches(value, t, checker));
  const f = type.flags;
  if (f & ts.TypeFlags.Null) return value === null;
  if (f & ts.TypeFlags.Undefined) return value === undefined;
  if (type.isStringLiteral()) return value === type.value;
  if (type.isNumberLiteral()) return value === type.value;
  if (f & ts.TypeFlags.BooleanLiteral) return value === (checker.typeToString(type) === 'true');
  if (f & ts.TypeFlags.String) return typeof value === 'string';
  if (f & ts.TypeFlags.Number) return typeof value === 'number';
  if (f & ts.TypeFlags.BigInt) return typeof value === 'bigint';
  if (!(f & ts.TypeFlags.Object)) return false; // any, unknown, never: a generated type says something
  if (checker.isArrayType(type)) return Array.isArray(value) && value.every((v) => matches(v, checker.getTypeArguments(type as ts.TypeReference)[0]!, checker));
  const name = type.getSymbol()?.getName();
  if (name === 'Date') return value instanceof Date && !Number.isNaN(value.getTime());
  if (name === 'Buffer') return Buffer.isBuffer(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date || Buffer.isBuffer(value)) return false;
  const record = value as Record<string, unknown>;
  for (const p of checker.getPropertiesOfType(type)) {
    const t = checker.getTypeOfSymbol(p);
    if (t.getCallSignatures().length > 0) {
      if (typeof record[p.name] !== 'function') return false;
    } else if (!(p.name in record)) {
      if (!(p.flags & ts.SymbolFlags.Optional)) return false;
    } else if (!matches(record[p.name], t, checker)) return false;
  }
  for (const info of checker.getIndexInfosOfType(type)) {
    if (!Object.values(record).every((v) => matches(v, info.type, checker))) return false;
  }
  return true;
}

describe('generated types on kysely + pg', () => {
  it('give every selected value the shape pg really returns, for each commonly used type', async () => {
    await database.sql.unsafe(`
      create schema if not exists auth; create schema if not exists audit;
      ${citext ? 'create extension citext;' : ''}
      create type mood as enum ('happy', 'sad');
      create domain email as text check (value like '%@%');
      create domain posint as int check (value > 0);
      create domain nums as numeric[];
      create type pair as (a int, b text);
      create table everything (
        i2 int2, i4 int4, i8 int8, num numeric, f4 float4, f8 float8, m money, b bool,
        tx text, vc varchar(10), ch char(3), u uuid, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
        j json, jb jsonb, jb_arr jsonb, by bytea, ip inet, cd cidr, mac macaddr, mac8 macaddr8,
        pt point, bx box, ci circle, ln line, ls lseg, pth path, pgn polygon,
        tsv tsvector, tsq tsquery, r4 int4range, rtz tstzrange, mr4 int4multirange, bt bit(3), vb varbit, x xml, o oid,
        e mood, dom email, dpos posint, comp pair, ${citext ? 'cit citext, a_cit citext[],' : ''}
        a_uuid uuid[], a_text text[], a_tstz timestamptz[], a_date date[], a_i2 int2[], a_i4 int4[], a_i8 int8[], a_num numeric[], d_nums nums,
        a_f8 float8[], a_bool bool[], a_json json[], a_jsonb jsonb[], a_by bytea[], a_iv interval[], a_pt point[], a_ci circle[],
        a_money money[], a_inet inet[], a_cidr cidr[], a_mac macaddr[], a_tm time[], a_ttz timetz[], a_r4 int4range[], a_bt bit(3)[],
        a_mood mood[], a_email email[], a_posint posint[], a_comp pair[], a_tsv tsvector[], a_xml xml[], a_oid oid[],
        g_i8 int8 generated always as identity, g_num numeric generated always as (num * 2) stored,
        g_tstz timestamptz generated always as (tstz) stored
      );`);
    const values: Record<string, string> = {
      i2: '1', i4: '2', i8: '3', num: '1.5', f4: '1.5', f8: '2.5', m: '1.00', b: 'true',
      tx: 'x', vc: 'y', ch: 'z', u: '00000000-0000-0000-0000-000000000001', d: '2024-01-02', tm: '12:00', ttz: '12:00+02',
      ts: '2024-01-02 03:04', tstz: '2024-01-02 03:04+00', iv: '1 day 2 hours', j: '{"a":1}', jb: '{"a":[1,"b",null]}', jb_arr: '[1,"x"]',
      by: '\\x01', ip: '10.0.0.1', cd: '10.0.0.0/8', mac: '08:00:2b:01:02:03', mac8: '08:00:2b:01:02:03:04:05',
      pt: '(1,2)', bx: '((0,0),(1,1))', ci: '<(1,1),2>', ln: '{1,2,3}', ls: '[(0,0),(1,1)]', pth: '((0,0),(1,1))', pgn: '((0,0),(1,1),(1,0))',
      tsv: 'a b', tsq: 'a & b', r4: '[1,3)', rtz: '[2024-01-01,2024-02-01)', mr4: '{[1,3)}', bt: '101', vb: '11', x: '<a/>', o: '5',
      e: 'happy', dom: 'a@b', dpos: '3', comp: '(1,x)', ...(citext ? { cit: 'Abc', a_cit: '{Abc}' } : {}),
      a_uuid: '{00000000-0000-0000-0000-000000000001}', a_text: '{a,"b c"}', a_tstz: '{"2024-01-02 03:04+00"}', a_date: '{2024-01-02}',
      a_i2: '{1}', a_i4: '{1,2}', a_i8: '{1,2}', a_num: '{1.5}', d_nums: '{2.5}', a_f8: '{1.5}', a_bool: '{t,f}', a_json: '{"{}"}', a_jsonb: '{"[1]"}',
      a_by: '{"\\\\x01"}', a_iv: '{"1 day"}', a_pt: '{"(1,2)"}', a_ci: '{"<(1,1),2>"}', a_money: '{1.00}', a_inet: '{10.0.0.1}', a_cidr: '{10.0.0.0/8}',
      a_mac: '{08:00:2b:01:02:03}', a_tm: '{12:00}', a_ttz: '{12:00+02}', a_r4: '{"[1,3)"}', a_bt: '{101}',
      a_mood: '{happy,sad}', a_email: '{a@b}', a_posint: '{1,2}', a_comp: '{"(1,x)"}', a_tsv: '{"a b"}', a_xml: '{<a/>}', a_oid: '{5}',
    };
    const columns = Object.keys(values);
    // As literals, so that Postgres parses each value with the column's own type input.
    await database.sql.unsafe(`insert into everything (${columns.join(', ')}) values (${columns.map((c) => `'${values[c]!.replaceAll("'", "''")}'`).join(', ')})`);

    const { text } = await generateTypes(database.url, ['public']);
    writeFileSync(join(dir, 'generated', 'db.ts'), text);
    const { problems, program, file } = check('everything.ts', `
      import type { Selectable } from 'kysely';
      import type { Everything } from './generated/db.js';
      export declare const row: Selectable<Everything>;
    `);
    expect(problems).toEqual([]);
    const checker = program.getTypeChecker();
    const rowSymbol = checker.getExportsOfModule(checker.getSymbolAtLocation(file)!).find((s) => s.name === 'row')!;
    const rowType = checker.getTypeOfSymbol(rowSymbol);

    const row = await db.selectFrom('everything').selectAll().executeTakeFirstOrThrow();
    const all = [...columns, 'g_i8', 'g_num', 'g_tstz'];
    expect(Object.keys(row).sort()).toEqual(all.sort());
    const lies: string[] = [];
    for (const column of all) {
      expect(row[column], column).not.toBeNull(); // a null would match any nullable type
      const property = rowType.getProperty(column);
      const type = property && checker.getTypeOfSymbol(property);
      if (!type || !matches(row[column], type, checker)) lies.push(`${column}: typed ${type ? checker.typeToString(type) : '(missing)'}, pg returned ${JSON.stringify(row[column])}`);
    }
    expect(lies).toEqual([]);
  });

  it('let a write compile when Postgres accepts it, and not when Postgres refuses it', async () => {
    await database.sql.unsafe(`
      create type mood2 as enum ('happy', 'sad');
      create domain email2 as text not null check (value like '%@%');
      create domain code as text not null default 'c';
      create table docs (jb jsonb not null, jn json);
      create table geo (p point, c circle, pts point[], moods mood2[], nums numeric[]);
      create table people (e email2, c code, note text);
      create view people_pairs as select p.note, q.e from people p left join people q on false;
      create table base (id int, name text);
      create view base_v as select id, id + 1 as next, name from base;
      create view counts as select count(*) as n from base;
      create materialized view base_mv as select id from base;
      create table parent (id int);
      create table child (extra text) inherits (parent);
      create table measures (id int, at date not null) partition by range (at);
      create table measures_2024 partition of measures for values from ('2024-01-01') to ('2025-01-01');
    `);
    const { text } = await generateTypes(database.url, ['public']);
    writeFileSync(join(dir, 'generated', 'db.ts'), text);
    expect(text).not.toContain('Measures2024'); // partitions stay out: their parent is the table
    // Each write as a user would write it; ok: whether Postgres accepts it (checked below by running it).
    const writes: { ok: boolean; code: string }[] = [
      { ok: true, code: `db.insertInto('docs').values({ jb: JSON.stringify([1, 2]), jn: null })` },
      { ok: true, code: `db.insertInto('docs').values({ jb: { a: [1, 'x'] }, jn: 5 })` },
      { ok: true, code: `db.insertInto('docs').values({ jb: '"text"' })` },
      { ok: false, code: `db.insertInto('docs').values({ jb: [1, 2] })` }, // pg sends '{"1","2"}'
      { ok: false, code: `db.insertInto('docs').values({ jb: null })` }, // SQL NULL, not JSON null
      { ok: true, code: `db.insertInto('geo').values({ p: '(1,2)', c: '<(1,2),3>', pts: ['(1,2)'], moods: ['happy', 'sad'], nums: [1.5, '2'] })` },
      { ok: true, code: `db.insertInto('geo').values({ moods: '{sad}' })` },
      { ok: false, code: `db.insertInto('geo').values({ p: { x: 1, y: 2 } })` }, // pg sends objects as JSON
      { ok: false, code: `db.insertInto('geo').values({ c: { x: 1, y: 2, radius: 3 } })` },
      { ok: false, code: `db.insertInto('geo').values({ pts: [{ x: 1, y: 2 }] })` },
      { ok: true, code: `db.insertInto('people').values({ e: 'a@b' })` }, // c: the domain's default
      { ok: false, code: `db.insertInto('people').values({ note: 'x' })` }, // e: a NOT NULL domain
      { ok: false, code: `db.insertInto('people').values({ e: null })` },
      { ok: true, code: `db.insertInto('base_v').values({ id: 1, name: 'x' })` },
      { ok: true, code: `db.updateTable('base_v').set({ name: 'y' })` },
      { ok: false, code: `db.insertInto('base_v').values({ id: 2, next: 3 })` }, // an expression column
      { ok: false, code: `db.updateTable('base_v').set({ next: 3 })` },
      { ok: false, code: `db.insertInto('counts').values({ n: 1 })` },
      { ok: false, code: `db.updateTable('base_mv').set({ id: 1 })` },
      { ok: true, code: `db.insertInto('child').values({ id: 1, extra: 'x' })` }, // an inheritance child is a table
    ];
    const { problems } = check('writes.ts', `
      import type { Kysely } from 'kysely';
      import type { DB } from './generated/db.js';
      export function writes(db: Kysely<DB>) {
        ${writes.map((w) => `${w.ok ? '' : '// @ts-expect-error Postgres refuses this write\n        '}${w.code};`).join('\n        ')}
      }
    `);
    expect(problems).toEqual([]);
    const outcomes: string[] = [];
    for (const w of writes) {
      const error = await (new Function('db', `return ${w.code}.execute()`)(db) as Promise<unknown>).then(() => null, (e: Error) => e.message);
      if ((error === null) !== w.ok) outcomes.push(`${w.code}: ${error ?? 'accepted'}`);
    }
    expect(outcomes).toEqual([]); // the premise: Postgres accepts exactly the writes marked ok
    // A NOT NULL domain binds a table's column, not a view's: an outer join reads NULL.
    expect((await db.selectFrom('people_pairs').select('e').executeTakeFirstOrThrow()).e).toBeNull();
    expect(text).toMatch(/export interface PeoplePairs \{\n {2}e: ColumnType<string \| null, undefined, undefined>;/); // a join: not updatable
  });
});
