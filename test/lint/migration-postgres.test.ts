/**
 * The migration-safety rules, judged by Postgres 17 itself. Each case is a
 * migration run on a table that holds rows, inside a transaction as `migrate up`
 * runs it; what Postgres did is measured (did pg_relation_filenode change — a
 * rewrite; did the transaction's sequential-scan count of the table grow — a
 * scan; which locks the transaction holds on it afterwards), and the linter must
 * report exactly the rules the case names. So a rule that claims a rewrite, scan
 * or lock Postgres does not do (or misses one it does) fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayDatabase, withSql, type ThrowawayDatabase } from '../../cli/core/db.js';
import { serverMajor, serverUrl } from '../helpers/pg.js';
import { ensureRoles, lintWith } from './helpers.js';
import { introspect } from '../../cli/core/catalog/introspect.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { up } from '../../cli/core/migrate/engine.js';
import { tempDir } from '../helpers/tmp.js';

const BASE = `
create table public.r (id int primary key);
create table public.t (id int primary key, v varchar(10), n numeric(10,2), c cidr, i int, rid int, ts timestamp);
create index t_i on public.t (i);
create index t_vx on public.t (v);
create index t_nx on public.t (n);
create index t_cx on public.t using gist (c inet_ops);
create domain public.dpos as int check (value > 0);
create materialized view public.mv as select id from public.t;
create unique index mv_id on public.mv (id);
create table public.p (id int, at date) partition by range (at);
create table public.p1 partition of public.p for values from ('2020-01-01') to ('2021-01-01');
`;
/** Rows for Postgres only: the linter judges text, Postgres needs something to rewrite and scan. */
const ROWS = `
insert into public.r values (1);
insert into public.t select g, 'x' || g, g, '10.0.0.0/8', g, 1, timestamp '2024-01-01' + g * interval '1 hour' from generate_series(1, 200) g;
refresh materialized view public.mv;
insert into public.p1 select g, date '2020-03-01' from generate_series(1, 50) g;
`;

const LOCKS = ['AccessShareLock', 'RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];

interface Case {
  name: string;
  /** Extra migration (its own earlier file, committed) after BASE. */
  before?: string;
  sql: string;
  /** The relation measured (default public.t). */
  target?: string;
  rewrite?: boolean;
  /** Whether any index of the target got a new relfilenode (was rebuilt). */
  reindexed?: boolean;
  scan?: boolean;
  /** Strongest lock the transaction holds on the target after the migration (null: none). */
  lock?: string | null;
  /** Rows left in the target afterwards. */
  rows?: number;
  /** The SQLSTATE Postgres fails the migration with (undefined: it must not fail). */
  fails?: string;
  /** Where the first finding points (line:column in the judged file). */
  at?: string;
  /** What the message of the first finding must say. */
  message?: RegExp;
  /** What the fix of the (single) finding must say. */
  fix?: RegExp;
  /** Migration-safety rules the linter must report, each once. */
  rules: string[];
}

const CASES: Case[] = [
  // ADD COLUMN defaults: constant and STABLE are stored once (PG11+), volatile ones rewrite.
  { name: 'add column with a constant default', sql: 'alter table public.t add column a int not null default 0;', rewrite: false, scan: false, rules: [] },
  { name: 'add column default now() (STABLE)', sql: 'alter table public.t add column a timestamptz default now();', rewrite: false, rules: [] },
  { name: 'add column default gen_random_uuid()', sql: 'alter table public.t add column a uuid default gen_random_uuid();', rewrite: true, lock: 'AccessExclusiveLock', fix: /set default/, rules: ['table-rewrite'] },
  // A VOLATILE LANGUAGE sql function in a default: Postgres inlines a bare SELECT of one expression and judges its body; one with a FROM (or an aggregate) stays a volatile call.
  { name: 'add column default calling a sql function the migrations made, whose body inlines to a constant', before: "create function public.one() returns text language sql as 'select ''x''';", sql: 'alter table public.t add column a text not null default public.one();', rewrite: false, scan: false, rules: [] },
  { name: 'add column default calling a sql function the migrations made, whose body inlines to random()', before: "create function public.rnd() returns float8 language sql as 'select random()';", sql: 'alter table public.t add column a float8 default public.rnd();', rewrite: true, lock: 'AccessExclusiveLock', rules: ['table-rewrite'] },
  {
    name: 'add column default calling a sql function the migrations made, whose body has a FROM and an aggregate',
    before: "create function public.changeme() returns text language sql as $$ select 'changeme_' || string_agg(substr('abc', g, 1), '') from generate_series(1, 3) g $$;",
    sql: 'alter table public.t add column a text not null default public.changeme();',
    rewrite: true,
    lock: 'AccessExclusiveLock',
    message: /changeme\(\)/,
    rules: ['table-rewrite'],
  },
  { name: 'add column default calling a sql function the migrations made SECURITY DEFINER', before: "create function public.one_sd() returns text language sql security definer as 'select ''x''';", sql: 'alter table public.t add column a text default public.one_sd();', rewrite: true, rules: ['table-rewrite'] },
  { name: 'add column default calling a sql function the migrations made with RETURN', before: "create function public.one_ret() returns text language sql return 'x';", sql: 'alter table public.t add column a text default public.one_ret();', rewrite: false, rules: [] },
  {
    name: 'add column, then set a volatile default (the fix table-rewrite gives)',
    sql: 'alter table public.t add column a uuid;\nalter table public.t alter column a set default gen_random_uuid();',
    rewrite: false,
    scan: false,
    rules: [],
  },
  { name: 'add column default clock_timestamp()', sql: 'alter table public.t add column a timestamptz default clock_timestamp();', rewrite: true, rules: ['table-rewrite'] },
  {
    name: 'add column default a plpgsql function created without a volatility (VOLATILE)',
    before: "create function public.pick() returns int language plpgsql as 'begin return 1; end';",
    sql: 'alter table public.t add column a int default public.pick();',
    rewrite: true,
    rules: ['table-rewrite'],
  },
  {
    name: 'add column default a STABLE plpgsql function',
    before: "create function public.pick() returns int language plpgsql stable as 'begin return 1; end';",
    sql: 'alter table public.t add column a int default public.pick();',
    rewrite: false,
    rules: [],
  },
  { name: 'add column of a domain with a CHECK', sql: 'alter table public.t add column a public.dpos;', rewrite: true, rules: ['table-rewrite'] },
  { name: 'add column of a domain with a CHECK (unqualified)', sql: 'alter table public.t add column a dpos default 1;', rewrite: true, rules: ['table-rewrite'] },
  // NOT NULL needs a value for the rows already there.
  { name: 'add column not null without a default', sql: 'alter table public.t add column a int not null;', fails: '23502', rules: ['add-column-not-null-no-default'] },
  { name: 'add column not null default null', sql: 'alter table public.t add column a int not null default null;', fails: '23502', rules: ['add-column-not-null-no-default'] },
  // After a TRUNCATE in the same transaction the table holds no row, and its ACCESS EXCLUSIVE lock keeps it so.
  { name: 'truncate, then add column not null without a default', sql: 'truncate public.t cascade;\nalter table public.t add column a int not null;', rows: 0, lock: 'AccessExclusiveLock', rules: ['drop-column-or-table'] },
  {
    name: 'truncate, a comment, then add column not null without a default',
    sql: "truncate table public.t cascade;\ncomment on table public.t is 'emptied';\nalter table public.t add column a int not null;",
    rows: 0,
    rules: ['drop-column-or-table'],
  },
  { name: 'truncate, insert a row, then add column not null', sql: 'truncate public.t cascade;\ninsert into public.t (id) values (1);\nalter table public.t add column a int not null;', fails: '23502', rules: ['drop-column-or-table', 'add-column-not-null-no-default'] },
  {
    name: 'truncate in a DO block that then inserts, then add column not null',
    sql: 'do $$\nbegin\n  truncate public.t cascade;\n  insert into public.t (id) values (1);\nend $$;\nalter table public.t add column a int not null;',
    fails: '23502',
    rules: ['drop-column-or-table', 'add-column-not-null-no-default'],
  },
  {
    name: 'truncate only of a parent whose inheritance child has rows, then add column not null',
    before: 'create table public.tp (id int);\ncreate table public.tc () inherits (public.tp);\ninsert into public.tc values (1);',
    target: 'public.tp',
    sql: 'truncate only public.tp;\nalter table public.tp add column a int not null;',
    fails: '23502',
    rules: ['drop-column-or-table', 'add-column-not-null-no-default'],
  },
  // The TRUNCATE's ACCESS EXCLUSIVE lock is held until the commit: what follows on the emptied table (an index build, a
  // rewrite, a validating scan) finds no row and keeps out no one the TRUNCATE does not already keep out.
  { name: 'truncate, then create index', sql: 'truncate public.t cascade;\ncreate index t_v on public.t (v);', rows: 0, lock: 'AccessExclusiveLock', rules: ['drop-column-or-table'] },
  {
    name: 'truncate, then reindex, drop index and a column type change',
    sql: 'truncate public.t cascade;\nreindex table public.t;\ndrop index public.t_i;\nalter table public.t alter column i type bigint;',
    rows: 0,
    lock: 'AccessExclusiveLock',
    rules: ['drop-column-or-table'],
  },
  {
    name: 'truncate, then add check, foreign key and unique, and set not null',
    sql: 'truncate public.t cascade;\nalter table public.t add constraint t_i_pos check (i > 0), add constraint t_rid_fk foreign key (rid) references public.r (id), add constraint t_v_u unique (v);\nalter table public.t alter column i set not null;',
    rows: 0,
    lock: 'AccessExclusiveLock',
    rules: ['drop-column-or-table'],
  },
  { name: 'truncate, insert a row, then create index', sql: 'truncate public.t cascade;\ninsert into public.t (id) values (1);\ncreate index t_v on public.t (v);', rows: 1, lock: 'AccessExclusiveLock', rules: ['drop-column-or-table', 'index-not-concurrent'] },
  // An index is of one table (an inheritance child is not indexed with its parent), while ALTER TABLE reaches the child.
  {
    name: 'truncate only of a parent whose inheritance child has rows, then create index on the parent',
    before: 'create table public.tp (id int);\ncreate table public.tc () inherits (public.tp);\ninsert into public.tc values (1);',
    target: 'public.tc',
    sql: 'truncate only public.tp;\ncreate index tp_id on public.tp (id);',
    rows: 1,
    lock: null,
    rules: ['drop-column-or-table'],
  },
  {
    name: 'truncate only of a parent whose inheritance child has rows, then change a column type',
    before: 'create table public.tp (id int);\ncreate table public.tc () inherits (public.tp);\ninsert into public.tc values (1);',
    target: 'public.tc',
    sql: 'truncate only public.tp;\nalter table public.tp alter column id type bigint;',
    rows: 1,
    rewrite: true,
    lock: 'AccessExclusiveLock',
    rules: ['drop-column-or-table', 'table-rewrite'],
  },
  {
    name: 'truncate, a table with rows made a child of it (INHERIT), then add column not null',
    before: 'create table public.tc2 (id int primary key, v varchar(10), n numeric(10,2), c cidr, i int, rid int, ts timestamp);\ninsert into public.tc2 (id) values (1);',
    sql: 'truncate public.t cascade;\nalter table public.tc2 inherit public.t;\nalter table public.t add column a int not null;',
    fails: '23502',
    rules: ['drop-column-or-table', 'add-column-not-null-no-default'],
  },
  {
    name: 'truncate a partitioned table, then attach a partition that has rows',
    before: "create table public.p2 (id int, at date);\ninsert into public.p2 select g, date '2021-03-01' from generate_series(1, 20) g;",
    sql: "truncate public.p;\nalter table public.p attach partition public.p2 for values from ('2021-01-01') to ('2022-01-01');",
    target: 'public.p2',
    scan: true,
    rows: 20,
    lock: 'AccessExclusiveLock',
    rules: ['drop-column-or-table', 'constraint-not-valid'],
  },
  // ALTER COLUMN TYPE: binary-coercible changes keep the heap and the indexes.
  { name: 'varchar(10) → varchar(20)', sql: 'alter table public.t alter column v type varchar(20);', rewrite: false, reindexed: false, scan: false, rules: [] },
  { name: 'varchar(10) → varchar(5)', sql: 'alter table public.t alter column v type varchar(5);', rewrite: true, reindexed: true, rules: ['table-rewrite'] },
  { name: 'varchar → text', sql: 'alter table public.t alter column v type text;', rewrite: false, reindexed: false, rules: [] },
  { name: 'varchar → text using v::text', sql: 'alter table public.t alter column v type text using v::text;', rewrite: false, rules: [] },
  { name: 'varchar → text using lower(v)', sql: 'alter table public.t alter column v type text using lower(v);', rewrite: true, rules: ['table-rewrite'] },
  { name: 'numeric(10,2) → numeric(12,2)', sql: 'alter table public.t alter column n type numeric(12,2);', rewrite: false, reindexed: false, rules: [] },
  { name: 'numeric(10,2) → numeric', sql: 'alter table public.t alter column n type numeric;', rewrite: false, rules: [] },
  { name: 'numeric(10,2) → numeric(12,4)', sql: 'alter table public.t alter column n type numeric(12,4);', rewrite: true, rules: ['table-rewrite'] },
  { name: 'cidr → inet', sql: 'alter table public.t alter column c type inet;', rewrite: false, reindexed: false, rules: [] },
  { name: 'timestamp → timestamptz in UTC', sql: "set local timezone = 'UTC';\nalter table public.t alter column ts type timestamptz;", rewrite: false, rules: [] },
  { name: 'timestamp → timestamptz in GMT', sql: "set time zone 'GMT';\nalter table public.t alter column ts type timestamptz;", rewrite: false, rules: [] },
  {
    name: 'timestamp → timestamptz in Europe/Paris',
    sql: "set local timezone = 'Europe/Paris';\nalter table public.t alter column ts type timestamptz;",
    rewrite: true,
    fix: /set local timezone = 'UTC'/,
    rules: ['table-rewrite'],
  },
  { name: 'int → bigint', sql: 'alter table public.t alter column i type bigint;', rewrite: true, reindexed: true, rules: ['table-rewrite'] },
  // Precision of timestamp, timestamptz, time and timetz (TemporalSimplify): none, the maximum (6) or a wider one keeps the rows.
  { name: 'timestamp(3) → timestamp', before: "alter table public.t add column t3 timestamp(3), add column z2 timestamptz(2), add column m3 time(3), add column tz timetz;\nupdate public.t set t3 = ts + interval '1.2345 s', z2 = ts + interval '1.2345 s', m3 = time '10:00:01.2345', tz = timetz '10:00:01.2345+02';\ncreate index t_t3 on public.t (t3);", sql: 'alter table public.t alter column t3 type timestamp;', rewrite: false, reindexed: false, scan: false, rules: [] },
  { name: 'timestamp(3) → timestamp(6)', before: "alter table public.t add column t3 timestamp(3), add column z2 timestamptz(2), add column m3 time(3), add column tz timetz;\nupdate public.t set t3 = ts + interval '1.2345 s', z2 = ts + interval '1.2345 s', m3 = time '10:00:01.2345', tz = timetz '10:00:01.2345+02';\ncreate index t_t3 on public.t (t3);", sql: 'alter table public.t alter column t3 type timestamp(6);', rewrite: false, reindexed: false, rules: [] },
  { name: 'timestamp(3) → timestamp(1)', before: "alter table public.t add column t3 timestamp(3), add column z2 timestamptz(2), add column m3 time(3), add column tz timetz;\nupdate public.t set t3 = ts + interval '1.2345 s', z2 = ts + interval '1.2345 s', m3 = time '10:00:01.2345', tz = timetz '10:00:01.2345+02';\ncreate index t_t3 on public.t (t3);", sql: 'alter table public.t alter column t3 type timestamp(1);', rewrite: true, reindexed: true, rules: ['table-rewrite'] },
  { name: 'timestamp → timestamp(6)', sql: 'alter table public.t alter column ts type timestamp(6);', rewrite: false, rules: [] },
  { name: 'timestamp → timestamp(3)', sql: 'alter table public.t alter column ts type timestamp(3);', rewrite: true, message: /from timestamp to timestamp\(3\)/, rules: ['table-rewrite'] },
  { name: 'timestamptz(2) → timestamptz(5)', before: "alter table public.t add column t3 timestamp(3), add column z2 timestamptz(2), add column m3 time(3), add column tz timetz;\nupdate public.t set t3 = ts + interval '1.2345 s', z2 = ts + interval '1.2345 s', m3 = time '10:00:01.2345', tz = timetz '10:00:01.2345+02';\ncreate index t_t3 on public.t (t3);", sql: 'alter table public.t alter column z2 type timestamp(5) with time zone;', rewrite: false, rules: [] },
  { name: 'time(3) → time', before: "alter table public.t add column t3 timestamp(3), add column z2 timestamptz(2), add column m3 time(3), add column tz timetz;\nupdate public.t set t3 = ts + interval '1.2345 s', z2 = ts + interval '1.2345 s', m3 = time '10:00:01.2345', tz = timetz '10:00:01.2345+02';\ncreate index t_t3 on public.t (t3);", sql: 'alter table public.t alter column m3 type time;', rewrite: false, rules: [] },
  { name: 'timetz → timetz(2)', before: "alter table public.t add column t3 timestamp(3), add column z2 timestamptz(2), add column m3 time(3), add column tz timetz;\nupdate public.t set t3 = ts + interval '1.2345 s', z2 = ts + interval '1.2345 s', m3 = time '10:00:01.2345', tz = timetz '10:00:01.2345+02';\ncreate index t_t3 on public.t (t3);", sql: 'alter table public.t alter column tz type time(2) with time zone;', rewrite: true, rules: ['table-rewrite'] },
  { name: 'timestamp(3) → timestamptz(3) outside UTC', before: "alter table public.t add column t3 timestamp(3), add column z2 timestamptz(2), add column m3 time(3), add column tz timetz;\nupdate public.t set t3 = ts + interval '1.2345 s', z2 = ts + interval '1.2345 s', m3 = time '10:00:01.2345', tz = timetz '10:00:01.2345+02';\ncreate index t_t3 on public.t (t3);", sql: "set local timezone = 'Europe/Paris';\nalter table public.t alter column t3 type timestamptz(3);", rewrite: true, rules: ['table-rewrite'] },
  // CREATE TABLE in a DO block creates the table as at top level: what the block then does to it meets an empty table no one uses yet.
  {
    name: 'create table in a DO block, then an index, a NOT NULL column and a rename of it in the block',
    sql: 'do $$\nbegin\n  create table public.t_new (id int primary key, v varchar(10));\n  create index t_new_v on public.t_new (v);\n  alter table public.t_new add column w int not null;\n  alter table public.t_new rename to t_fresh;\nend $$;',
    lock: null,
    rows: 200,
    rules: [],
  },
  {
    name: 'create table guarded in a DO block, of a table that exists: the index after it is built on the existing table',
    sql: "do $$\nbegin\n  if to_regclass('public.t') is null then\n    create table public.t (id int primary key, v varchar(10));\n  end if;\nend $$;\ncreate index t_v2 on public.t (v);",
    lock: 'ShareLock',
    rules: ['index-not-concurrent'],
  },
  // An unnamed constraint (Postgres names it <table>_pkey, <table>_<col>_check …) is named by its kind alone.
  {
    name: 'add primary key, unnamed',
    before: 'create table public.u (id int not null, n int);\ninsert into public.u select g, g from generate_series(1, 20) g;',
    target: 'public.u',
    sql: 'alter table public.u add primary key (id), add check (n > 0);',
    lock: 'AccessExclusiveLock',
    message: /^adding PRIMARY KEY constraint to public\.u \(/,
    rules: ['constraint-not-valid', 'constraint-not-valid'],
  },
  // A serial column is its integer type with a sequence default.
  { name: 'smallserial → int2', before: 'alter table public.t add column s smallserial;', sql: 'alter table public.t alter column s type int2;', rewrite: false, rules: [] },
  { name: 'smallserial → int8', before: 'alter table public.t add column s smallserial;', sql: 'alter table public.t alter column s type int8;', rewrite: true, rules: ['table-rewrite'] },
  // SET NOT NULL: a scan, unless a validated CHECK (col IS NOT NULL) proves it (PG12+).
  { name: 'set not null', sql: 'alter table public.t alter column i set not null;', scan: true, lock: 'AccessExclusiveLock', rules: ['constraint-not-valid'] },
  {
    name: 'set not null after a NOT VALID check, not validated yet',
    before: 'alter table public.t add constraint t_i_nn check (i is not null) not valid;',
    sql: 'alter table public.t alter column i set not null;',
    scan: true,
    rules: ['constraint-not-valid'],
  },
  {
    name: 'set not null after the check was validated in an earlier file',
    before: 'alter table public.t add constraint t_i_nn check (i is not null and i > 0) not valid;\nalter table public.t validate constraint t_i_nn;',
    sql: 'alter table public.t alter column i set not null;',
    scan: false,
    rules: [],
  },
  // CHECK / FOREIGN KEY: NOT VALID, then VALIDATE in a later transaction.
  { name: 'add check', sql: 'alter table public.t add constraint t_i_pos check (i > 0);', scan: true, lock: 'AccessExclusiveLock', rules: ['constraint-not-valid'] },
  { name: 'add check not valid', sql: 'alter table public.t add constraint t_i_pos check (i > 0) not valid;', scan: false, rules: [] },
  {
    name: 'add check not valid, then validate in the same file',
    sql: 'alter table public.t add constraint t_i_pos check (i > 0) not valid;\nalter table public.t validate constraint t_i_pos;',
    scan: true,
    lock: 'AccessExclusiveLock',
    message: /the lock the alter table at line 1 took/,
    rules: ['constraint-not-valid'],
  },
  {
    name: 'validate after a create index in the same file',
    before: 'alter table public.t add constraint t_i_pos check (i > 0) not valid;',
    sql: 'create index t_v on public.t (v);\nalter table public.t validate constraint t_i_pos;',
    scan: true,
    lock: 'ShareLock',
    rules: ['constraint-not-valid', 'index-not-concurrent'],
  },
  { name: 'validate in a later file', before: 'alter table public.t add constraint t_i_pos check (i > 0) not valid;', sql: 'alter table public.t validate constraint t_i_pos;', scan: true, lock: 'ShareUpdateExclusiveLock', rules: [] },
  {
    name: 'add foreign key not valid, then validate in the same file',
    sql: 'alter table public.t add constraint t_rid_fk foreign key (rid) references public.r (id) not valid;\nalter table public.t validate constraint t_rid_fk;',
    scan: true,
    lock: 'ShareRowExclusiveLock',
    rules: ['constraint-not-valid'],
  },
  { name: 'add foreign key not valid', sql: 'alter table public.t add constraint t_rid_fk foreign key (rid) references public.r (id) not valid;', scan: false, lock: 'ShareRowExclusiveLock', rules: [] },
  // A new column without a default is all NULL: the inline foreign key is marked valid without a check.
  { name: 'add column … references', sql: 'alter table public.t add column r2 int references public.r (id);', scan: false, lock: 'AccessExclusiveLock', rules: [] },
  { name: 'add column … default … references', sql: 'alter table public.t add column r2 int default 1 references public.r (id);', scan: true, rules: ['constraint-not-valid'] },
  { name: 'add column … check', sql: 'alter table public.t add column a int check (a > 0);', scan: true, rules: ['constraint-not-valid'] },
  { name: 'add column … unique', sql: 'alter table public.t add column a int unique;', lock: 'AccessExclusiveLock', rules: ['constraint-not-valid'] },
  // Foreign keys on a partitioned table: NOT VALID is refused before Postgres 18 (then the fix is the
  // partitions' way), taken from 18 on; validated keys on every partition are adopted.
  {
    name: 'add foreign key to a partitioned table',
    before: 'alter table public.p add column rid int;\nupdate public.p set rid = 1;',
    sql: 'alter table public.p add constraint p_rid_fk foreign key (rid) references public.r (id);',
    target: 'public.p1',
    scan: true,
    fix: serverMajor() >= 18 ? /^add it NOT VALID, then, in a later migration file: alter table public\.p validate constraint p_rid_fk$/ : /each partition/,
    rules: ['constraint-not-valid'],
  },
  {
    name: 'add foreign key not valid to a partitioned table',
    before: 'alter table public.p add column rid int;',
    sql: 'alter table public.p add constraint p_rid_fk foreign key (rid) references public.r (id) not valid;',
    ...(serverMajor() >= 18 ? { scan: false } : { fails: '42809' }), // wrong_object_type: "not yet supported on partitioned tables"
    rules: [],
  },
  {
    name: "add foreign key to a partitioned table whose partitions have it validated",
    before:
      'alter table public.p add column rid int;\nupdate public.p set rid = 1;\nalter table public.p1 add constraint p1_rid_fk foreign key (rid) references public.r (id) not valid;\nalter table public.p1 validate constraint p1_rid_fk;',
    sql: 'alter table public.p add constraint p_rid_fk foreign key (rid) references public.r (id);',
    target: 'public.p1',
    scan: false,
    rules: [],
  },
  // ALTER DOMAIN … ADD CONSTRAINT checks every column of the domain.
  {
    name: 'alter domain add constraint',
    before: 'create domain public.dint as int;\nalter table public.t add column d public.dint;\nupdate public.t set d = i;',
    sql: 'alter domain public.dint add constraint dint_pos check (value > 0);',
    scan: true,
    lock: 'ShareLock',
    rules: ['constraint-not-valid'],
  },
  {
    name: 'alter domain add constraint not valid',
    before: 'create domain public.dint as int;\nalter table public.t add column d public.dint;\nupdate public.t set d = i;',
    sql: 'alter domain public.dint add constraint dint_pos check (value > 0) not valid;',
    scan: false,
    lock: null,
    rules: [],
  },
  // PRIMARY KEY USING INDEX sets NOT NULL on its columns.
  {
    name: 'add primary key using index on a nullable column',
    before: 'create table public.k (a int, b int);\ninsert into public.k select g, g from generate_series(1, 20) g;\ncreate unique index k_a on public.k (a);',
    sql: 'alter table public.k add constraint k_pkey primary key using index k_a;',
    target: 'public.k',
    scan: true,
    lock: 'AccessExclusiveLock',
    rules: ['constraint-not-valid'],
  },
  {
    name: 'add primary key using index on a NOT NULL column',
    before: 'create table public.k (a int not null, b int);\ninsert into public.k select g, g from generate_series(1, 20) g;\ncreate unique index k_a on public.k (a);',
    sql: 'alter table public.k add constraint k_pkey primary key using index k_a;',
    target: 'public.k',
    scan: false,
    rules: [],
  },
  {
    name: 'add primary key using index on a column a validated CHECK proves NOT NULL',
    before: 'create table public.k (a int, b int);\ninsert into public.k select g, g from generate_series(1, 20) g;\ncreate unique index k_a on public.k (a);\nalter table public.k add constraint k_a_nn check (a is not null);',
    sql: 'alter table public.k add constraint k_pkey primary key using index k_a;',
    target: 'public.k',
    scan: false,
    rules: [],
  },
  // Indexes.
  { name: 'create index', sql: 'create index t_v on public.t (v);', lock: 'ShareLock', rules: ['index-not-concurrent'] },
  {
    name: 'create index if not exists of an index an earlier migration made: nothing built, the table still locked',
    sql: 'create index if not exists t_i on public.t (i);',
    lock: 'ShareLock',
    rules: ['index-not-concurrent'],
    message: /builds nothing, as the index exists, but still takes a SHARE lock/,
  },
  { name: 'drop index', sql: 'drop index public.t_i;', lock: 'AccessExclusiveLock', rules: ['index-not-concurrent'] },
  // DROP INDEX CONCURRENTLY is refused for an index of a partitioned table: no safer form to report.
  { name: 'drop index of a partitioned table', before: 'create index p_at_idx on public.p (at);', sql: 'drop index public.p_at_idx;', target: 'public.p', lock: 'AccessExclusiveLock', rules: [] },
  { name: 'reindex index', sql: 'reindex index public.t_i;', lock: 'ShareLock', rules: ['index-not-concurrent'] },
  // A boolean option set to false is off, as Postgres reads it: this is a plain REINDEX, which runs in the transaction.
  { name: 'reindex (concurrently false) index', sql: 'reindex (concurrently false) index public.t_i;', reindexed: true, lock: 'ShareLock', rules: ['index-not-concurrent'] },
  { name: 'create index on only a partitioned table', sql: 'create index p_at on only public.p (at);', target: 'public.p1', scan: false, lock: null, rules: [] },
  { name: 'create index on a partitioned table', sql: 'create index p_at on public.p (at);', target: 'public.p1', lock: 'ShareLock', rules: ['index-not-concurrent'] },
  // ATTACH PARTITION checks the bound on every row, unless a validated CHECK implies it.
  {
    name: 'attach partition of a table with rows',
    before: "create table public.p2 (id int, at date);\ninsert into public.p2 select g, date '2021-03-01' from generate_series(1, 20) g;",
    sql: "alter table public.p attach partition public.p2 for values from ('2021-01-01') to ('2022-01-01');",
    target: 'public.p2',
    scan: true,
    lock: 'AccessExclusiveLock',
    rules: ['constraint-not-valid'],
  },
  {
    name: 'attach partition with a validated CHECK of the bound',
    before: "create table public.p2 (id int, at date);\ninsert into public.p2 select g, date '2021-03-01' from generate_series(1, 20) g;\nalter table public.p2 add constraint p2_bound check (at is not null and at >= '2021-01-01' and at < '2022-01-01');",
    sql: "alter table public.p attach partition public.p2 for values from ('2021-01-01') to ('2022-01-01');",
    target: 'public.p2',
    scan: false,
    rules: [],
  },
  {
    name: 'attach partition of a table the same file created',
    sql: "create table public.p2 (id int, at date);\nalter table public.p attach partition public.p2 for values from ('2021-01-01') to ('2022-01-01');",
    target: 'public.p',
    rules: [],
  },
  // Whole-relation rebuilds.
  { name: 'refresh materialized view', sql: 'refresh materialized view public.mv;', target: 'public.mv', rewrite: true, lock: 'AccessExclusiveLock', rules: ['table-rewrite'] },
  { name: 'refresh materialized view concurrently', sql: 'refresh materialized view concurrently public.mv;', target: 'public.mv', lock: 'ExclusiveLock', rules: [] },
  { name: 'cluster', sql: 'cluster public.t using t_pkey;', rewrite: true, lock: 'AccessExclusiveLock', rules: ['table-rewrite'] },
  { name: 'set unlogged', sql: 'alter table public.t set unlogged;', rewrite: true, lock: 'AccessExclusiveLock', rules: ['table-rewrite'] },
  // Data loss.
  {
    name: 'truncate … cascade empties the tables that reference it',
    before: 'create table public.c (id int primary key, tid int references public.t (id));\ninsert into public.c select g, g from generate_series(1, 10) g;',
    sql: 'truncate public.t cascade;',
    target: 'public.c',
    rows: 0,
    rules: ['drop-column-or-table'],
  },
  // A value ALTER TYPE … ADD VALUE added cannot be used before it commits.
  {
    name: 'enum value added and used in the same file',
    before: "create type public.mood as enum ('a', 'b');\nalter table public.t add column m public.mood;",
    sql: "alter type public.mood add value 'c';\nupdate public.t set m = 'c' where id = 1;",
    fails: '55P04',
    rules: ['no-transaction-statement'],
  },
  // The new label's text is refused only where Postgres reads it as the enum (enum_in): written into or compared with a varchar column, or cast to text, it is a plain string.
  {
    name: "enum value added, its text written into and compared with varchar columns in the same file",
    before: "create type public.mood as enum ('a', 'b');\nalter table public.t add column m public.mood;",
    sql: "alter type public.mood add value 'c';\ninsert into public.t (id, v) values (500, 'c') on conflict (id) do update set v = 'c';\nupdate public.t set v = 'c' where v in ('c', 'x1') or t.v <> 'c';\ndelete from public.t where 'c' = v and id > 1000;\nselect 'c'::text, 'c'::pg_catalog.varchar;",
    rules: [],
  },
  {
    name: 'enum value added, then compared with the enum column in the same file',
    before: "create type public.mood as enum ('a', 'b');\nalter table public.t add column m public.mood;",
    sql: "alter type public.mood add value 'c';\nupdate public.t set v = 'c' where m = 'c';",
    fails: '55P04',
    at: '2:39',
    rules: ['no-transaction-statement'],
  },
  {
    name: 'enum value added, then written into a column of a domain over the enum',
    before: "create type public.mood as enum ('a', 'b');\ncreate domain public.dmood as public.mood;\nalter table public.t add column dm public.dmood;",
    sql: "alter type public.mood add value 'c';\ninsert into public.t (id, dm) values (500, 'c');",
    fails: '55P04',
    rules: ['no-transaction-statement'],
  },
  {
    name: 'enum value added, then cast to the enum in the same file',
    before: "create type public.mood as enum ('a', 'b');",
    sql: "alter type public.mood add value 'c';\nupdate public.t set v = 'x' where 'c'::public.mood is not null;",
    fails: '55P04',
    rules: ['no-transaction-statement'],
  },
  { name: 'enum value used in the file after the one that added it', before: "create type public.mood as enum ('a', 'b');\nalter table public.t add column m public.mood;\nalter type public.mood add value 'c';", sql: "update public.t set m = 'c' where id = 1;", rules: [] },
  // Postgres 17 lets a transaction use a value it added to a type it created; 15 and 16 refuse it.
  {
    name: 'enum value added to a type the same file created',
    sql: "create type public.m2 as enum ('a');\nalter type public.m2 add value 'b';\ncreate table public.z (m public.m2 default 'b');",
    ...(serverMajor() >= 17 ? { rules: [] } : { fails: '55P04', rules: ['no-transaction-statement'], message: /before 17/ }),
  },
  // DDL in a DO block runs in the migration like any statement.
  {
    name: 'add foreign key inside a DO block (the idempotent form)',
    sql: "do $$\nbegin\n  -- alter table public.t drop column v;\n  alter table public.t add constraint t_rid_fk foreign key (rid) references public.r (id);\nexception when duplicate_object then null;\nend\n$$;",
    scan: true,
    lock: 'ShareRowExclusiveLock',
    at: '4:28', // the CONSTRAINT keyword, as for a top-level statement
    rules: ['constraint-not-valid'],
  },
  {
    name: 'add foreign key not valid inside a DO block, dynamic SQL in a string',
    sql: "do $$ begin\n  alter table public.t add constraint t_rid_fk foreign key (rid) references public.r (id) not valid;\n  perform 'alter table public.t drop column v';\nend $$;",
    scan: false,
    rules: [],
  },
  // A table the same file created holds no rows and nobody else sees it.
  {
    name: 'everything on a table created in the same file',
    sql: 'create table public.n (id int primary key, v varchar(10), i int);\ncreate index n_i on public.n (i);\nalter table public.n alter column i type bigint, alter column i set not null, add constraint n_i_pos check (i > 0), add column u uuid default gen_random_uuid();\ndrop index public.n_i;',
    target: 'public.t',
    lock: null,
    rules: [],
  },
];

let template: ThrowawayDatabase;
beforeAll(async () => {
  template = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg_tpl' });
  await withSql(template.url, (sql) => sql.unsafe(BASE + ROWS).simple());
}, 60_000);
afterAll(async () => {
  await template?.drop();
});

interface Measured {
  rewrite: boolean;
  reindexed: boolean;
  scan: boolean;
  lock: string | null;
  rows: number;
  fails?: string;
}

/** Run `c.sql` in one transaction on a copy of the template (after `c.before`, committed), measure, roll back. */
async function measure(c: Case): Promise<Measured> {
  const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg', template: template.name });
  try {
    return await withSql(db.url, async (sql) => {
      if (c.before) await sql.unsafe(c.before).simple();
      const target = c.target ?? 'public.t';
      const probe = `select pg_relation_filenode('${target}')::text as node,
        coalesce((select seq_scan from pg_stat_xact_user_tables where relid = '${target}'::regclass), 0)::int as scans,
        (select string_agg(indexrelid::regclass || '=' || pg_relation_filenode(indexrelid), ',' order by indexrelid::regclass::text) from pg_index where indrelid = '${target}'::regclass) as indexes`;
      await sql.unsafe('begin');
      try {
        const [before] = await sql.unsafe<Array<{ node: string; scans: number; indexes: string | null }>>(probe);
        try {
          await sql.unsafe(c.sql).simple();
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (!code || c.fails === undefined) throw err;
          return { rewrite: false, reindexed: false, scan: false, lock: null, rows: -1, fails: code };
        }
        const [after] = await sql.unsafe<Array<{ node: string; scans: number; indexes: string | null }>>(probe);
        const locks = await sql.unsafe<Array<{ mode: string }>>(`select mode from pg_locks where pid = pg_backend_pid() and relation = '${target}'::regclass`);
        const strongest = locks.map((l) => l.mode).sort((a, b) => LOCKS.indexOf(b) - LOCKS.indexOf(a))[0] ?? null;
        const [count] = await sql.unsafe<Array<{ n: number }>>(`select count(*)::int as n from ${target}`);
        const nodes = (list: string | null) => new Map((list ?? '').split(',').filter(Boolean).map((x) => x.split('=') as [string, string]));
        const was = nodes(before!.indexes);
        const reindexed = [...nodes(after!.indexes)].some(([name, node]) => was.has(name) && was.get(name) !== node);
        return { rewrite: before!.node !== after!.node, reindexed, scan: after!.scans > before!.scans, lock: strongest, rows: count!.n };
      } finally {
        await sql.unsafe('rollback');
      }
    });
  } finally {
    await db.drop();
  }
}

async function lintFindings(c: Case) {
  const r = await lintWith({
    migrations: [
      { displayPath: 'sql/0001_base.sql', sql: BASE, judged: false },
      ...(c.before ? [{ displayPath: 'sql/0002_before.sql', sql: c.before, judged: false }] : []),
      { displayPath: 'sql/0003_change.sql', sql: c.sql, judged: true },
    ],
    serverVersion: serverMajor() * 10000,
  });
  return r.findings.filter((f) => f.category === 'migration');
}

describe('migration-safety rules agree with what the server does (Postgres 17 by default)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const m = await measure(c);
    expect(m.fails, 'SQLSTATE the migration fails with').toBe(c.fails);
    if (c.rows !== undefined) expect(m.rows, 'rows left').toBe(c.rows);
    if (c.rewrite !== undefined) expect(m.rewrite, 'rewrite (relfilenode changed)').toBe(c.rewrite);
    if (c.reindexed !== undefined) expect(m.reindexed, 'an index rebuilt (its relfilenode changed)').toBe(c.reindexed);
    if (c.scan !== undefined) expect(m.scan, 'sequential scan of the table').toBe(c.scan);
    if (c.lock !== undefined) expect(m.lock, 'strongest lock held afterwards').toBe(c.lock);
    const found = await lintFindings(c);
    expect(found.map((f) => f.rule).sort(), JSON.stringify(found, null, 2)).toEqual([...c.rules].sort());
    if (c.fix) expect(found[0]?.fix).toMatch(c.fix);
    if (c.message) expect(found[0]?.message).toMatch(c.message);
    if (c.at) expect(`${found[0]?.location?.line}:${found[0]?.location?.column}`).toBe(c.at);
  });
});

/**
 * Type-modifier changes (ALTER COLUMN … TYPE with the same type, another limit, range or precision):
 * each on its own table with rows and an index on the column, in a rolled-back transaction; the
 * table's relfilenode says whether Postgres rewrote it, the index's whether it was rebuilt. Postgres
 * 15 and 17 agree on every pair (interval_support, numeric_support, varchar_support, varbit_support,
 * TemporalSimplify have not changed between them). [from, to, rewritten, a value that fits both]
 */
const TYPMODS: Array<[string, string, boolean, string]> = [
  ['interval', 'interval(3)', true, "'1 day 02:03:04.5678'"],
  ['interval(3)', 'interval', false, "'1 day 02:03:04.5678'"],
  ['interval(3)', 'interval(6)', false, "'1 day 02:03:04.5678'"],
  ['interval(6)', 'interval(3)', true, "'1 day 02:03:04.5678'"],
  ['interval(3)', 'interval(5)', false, "'1 day 02:03:04.5678'"],
  ['interval(3)', 'interval(7)', false, "'1 day 02:03:04.5678'"], // 7 is clamped to 6, the maximum
  ['interval', 'interval(6)', false, "'1 day 02:03:04.5678'"],
  ['interval', 'interval day to second', false, "'1 day 02:03:04.5678'"],
  ['interval day to second', 'interval', false, "'1 day 02:03:04.5678'"],
  ['interval', 'interval day to second(3)', true, "'1 day 02:03:04.5678'"],
  ['interval day to second(3)', 'interval', false, "'1 day 02:03:04.5678'"],
  ['interval day to second(3)', 'interval day to second', false, "'1 day 02:03:04.5678'"],
  ['interval day to second', 'interval day to second(3)', true, "'1 day 02:03:04.5678'"],
  ['interval day to second(2)', 'interval day to second(4)', false, "'1 day 02:03:04.5678'"],
  ['interval(3)', 'interval day to second(3)', false, "'1 day 02:03:04.5678'"],
  ['interval day to second(3)', 'interval(3)', false, "'1 day 02:03:04.5678'"],
  ['interval minute to second(2)', 'interval day to second(2)', false, "'1 day 02:03:04.5678'"],
  ['interval second(2)', 'interval second(4)', false, "'1 day 02:03:04.5678'"],
  ['interval second', 'interval', false, "'1 day 02:03:04.5678'"],
  ['interval', 'interval second', false, "'1 day 02:03:04.5678'"],
  ['interval', 'interval day', true, "'1 day 02:03:04.5678'"],
  ['interval day', 'interval', false, "'1 day 02:03:04.5678'"],
  ['interval day', 'interval day to second', false, "'1 day 02:03:04.5678'"],
  ['interval day to second', 'interval day', true, "'1 day 02:03:04.5678'"],
  ['interval day to hour', 'interval day to minute', false, "'1 day 02:03:04.5678'"],
  ['interval hour to minute', 'interval day to second', false, "'1 day 02:03:04.5678'"],
  ['interval day to second', 'interval hour to minute', true, "'1 day 02:03:04.5678'"],
  ['interval', 'interval year to month', true, "'1 year 2 mons 3 days'"],
  ['interval year to month', 'interval', false, "'1 year 2 mons 3 days'"],
  ['interval year', 'interval year to month', false, "'1 year 2 mons 3 days'"],
  ['interval month', 'interval year to month', false, "'1 year 2 mons 3 days'"],
  ['interval year to month', 'interval year', true, "'1 year 2 mons 3 days'"],
  ['numeric', 'numeric(10,2)', true, '12.3'],
  ['numeric(10,2)', 'numeric(8,2)', true, '12.3'],
  ['numeric(10,2)', 'numeric(10,1)', true, '12.3'],
  ['numeric(10)', 'numeric(12)', false, '12'],
  ['numeric(10)', 'numeric(12,0)', false, '12'],
  ['varchar', 'varchar(10)', true, "'abc'"],
  ['varchar(10)', 'varchar', false, "'abc'"],
  ['text', 'varchar', false, "'abc'"],
  ['text', 'varchar(10)', true, "'abc'"],
  ['varbit(8)', 'varbit(16)', false, "B'1010'"],
  ['varbit(8)', 'varbit(4)', true, "B'1010'"],
  ['varbit(8)', 'varbit', false, "B'1010'"],
  ['varbit', 'varbit(8)', true, "B'1010'"],
  ['bit(8)', 'varbit(8)', true, "B'10101010'"],
  ['bit(8)', 'varbit(16)', true, "B'10101010'"],
  ['varbit(8)', 'bit(8)', true, "B'10101010'"],
  ['char(5)', 'char(10)', true, "'ab'"],
  ['char(10)', 'char(5)', true, "'ab'"],
  ['char(5)', 'bpchar', false, "'ab'"],
  ['char(5)', 'text', true, "'ab'"],
  ['char(5)', 'varchar(10)', true, "'ab'"],
  ['varchar(5)', 'char(5)', true, "'ab'"],
  ['time', 'time(3)', true, "'10:00:01.2345'"],
  ['timetz(3)', 'timetz(6)', false, "'10:00:01.2345+02'"],
  ['timetz', 'timetz(3)', true, "'10:00:01.2345+02'"],
];

describe('type-modifier changes: table-rewrite agrees with the relfilenode', () => {
  let db: ThrowawayDatabase;
  beforeAll(async () => {
    db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg_typmod' });
  });
  afterAll(async () => {
    await db?.drop();
  });
  /** Whether `change` gave public.x and its index x_c new files (a rewrite, a rebuild), on 50 rows `insert` made; rolled back. */
  const filenodesChange = (created: string, insert: string, change: string) =>
    withSql(db.url, async (sql) => {
      await sql.unsafe('begin');
      try {
        await sql.unsafe(`${created}\n${insert}`).simple();
        const node = `select pg_relation_filenode('public.x')::text as t, pg_relation_filenode('public.x_c')::text as i`;
        const [before] = await sql.unsafe<Array<{ t: string; i: string }>>(node);
        await sql.unsafe(change).simple();
        const [after] = await sql.unsafe<Array<{ t: string; i: string }>>(node);
        return [before!.t !== after!.t, before!.i !== after!.i] as const;
      } finally {
        await sql.unsafe('rollback');
      }
    });
  /** The lint of `change` as a new file after one that ran `created`. */
  const lintChange = (created: string, change: string) =>
    lintWith({
      migrations: [
        { displayPath: 'sql/0001_base.sql', sql: created, judged: false },
        { displayPath: 'sql/0002_change.sql', sql: change, judged: true },
      ],
      serverVersion: serverMajor() * 10000,
    });
  it.each(TYPMODS.map(([from, to, rewrite, value]) => [`${from} → ${to}`, from, to, rewrite, value] as const))('%s', async (_name, from, to, rewrite, value) => {
    const created = `create table public.x (id int, c ${from});\ncreate index x_c on public.x (c);`;
    const change = `alter table public.x alter column c type ${to};`;
    const [heap, index] = await filenodesChange(created, `insert into public.x select g, ${value} from generate_series(1, 50) g;`, change);
    expect(heap, 'rewrite (relfilenode changed)').toBe(rewrite);
    expect(index, 'index rebuilt').toBe(rewrite);
    const r = await lintChange(created, change);
    expect(r.findings.filter((f) => f.category === 'migration').map((f) => f.rule)).toEqual(rewrite ? ['table-rewrite'] : []);
  });

  // bit(n) → bit varying is binary-coercible, but the index is rebuilt with varbit's operator class.
  it('bit(8) → varbit keeps the rows and rebuilds the index on the column, and says so', async () => {
    const created = 'create table public.x (id int, c bit(8), d bit(8));\ncreate index x_c on public.x (c);';
    const change = 'alter table public.x alter column c type varbit, alter column d type varbit;';
    const [heap, index] = await filenodesChange(created, "insert into public.x select g, B'10101010', B'1' || B'0000000' from generate_series(1, 50) g;", change);
    expect(heap, 'rewrite (relfilenode changed)').toBe(false);
    expect(index, 'index rebuilt').toBe(true);
    const r = await lintChange(created, change);
    const found = r.findings.filter((f) => f.category === 'migration');
    // d has no index: nothing is rebuilt for it.
    expect(found.map((f) => `${f.rule} ${f.object}`)).toEqual(['table-rewrite public.x.c']);
    expect(found[0]!.message).toMatch(/keeps the rows but rebuilds public\.x_c/);
  });
});

/**
 * Statements Postgres runs only outside a transaction block, in a `-- rowguard:no-transaction`
 * file: each runs on its own (as `migrate up` runs such a file) on a copy of the template, and
 * whether the table's relfilenode changed (a rewrite) is measured.
 */
const OUTSIDE: Array<{ name: string; before?: string; sql: string; rewrite: boolean; reindexed?: boolean; rules: string[] }> = [
  { name: 'cluster with no table (every table clustered before)', before: 'cluster public.t using t_pkey;', sql: 'cluster;', rewrite: true, rules: ['table-rewrite'] },
  { name: 'reindex schema', sql: 'reindex schema public;', rewrite: false, reindexed: true, rules: ['index-not-concurrent'] },
  { name: 'reindex schema concurrently', sql: 'reindex schema concurrently public;', rewrite: false, reindexed: true, rules: [] },
  { name: 'vacuum (full)', sql: 'vacuum (full) public.t;', rewrite: true, rules: ['table-rewrite'] },
  { name: 'vacuum (full false): a plain vacuum', sql: 'vacuum (full false) public.t;', rewrite: false, rules: [] },
  { name: 'vacuum (full off, analyze)', sql: 'vacuum (full off, analyze) public.t;', rewrite: false, rules: [] },
  { name: 'vacuum (full 0)', sql: 'vacuum (full 0) public.t;', rewrite: false, rules: [] },
  { name: 'vacuum (full 1)', sql: 'vacuum (full 1) public.t;', rewrite: true, rules: ['table-rewrite'] },
];

describe('no-transaction statements agree with what the server does', () => {
  it.each(OUTSIDE.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg', template: template.name });
    try {
      const node = `select pg_relation_filenode('public.t')::text as node, pg_relation_filenode('public.t_i')::text as index`;
      const [rewrite, reindexed] = await withSql(db.url, async (sql) => {
        if (c.before) await sql.unsafe(c.before).simple();
        const [before] = await sql.unsafe<Array<{ node: string; index: string }>>(node);
        await sql.unsafe(c.sql).simple();
        const [after] = await sql.unsafe<Array<{ node: string; index: string }>>(node);
        return [before!.node !== after!.node, before!.index !== after!.index];
      });
      expect(rewrite, 'rewrite (relfilenode changed)').toBe(c.rewrite);
      if (c.reindexed !== undefined) expect(reindexed, 'index t_i rebuilt (its relfilenode changed)').toBe(c.reindexed);
    } finally {
      await db.drop();
    }
    const r = await lintWith({
      migrations: [
        { displayPath: 'sql/0001_base.sql', sql: BASE, judged: false },
        ...(c.before ? [{ displayPath: 'sql/0002_before.sql', sql: c.before, judged: false }] : []),
        { displayPath: 'sql/0003_change.sql', sql: `-- rowguard:no-transaction\n${c.sql}`, judged: true },
      ],
      serverVersion: serverMajor() * 10000,
    });
    const found = r.findings.filter((f) => f.category === 'migration');
    expect(found.map((f) => f.rule).sort(), JSON.stringify(found, null, 2)).toEqual([...c.rules].sort());
  });
});

/**
 * BEGIN / COMMIT in migration files, applied by the real engine (`migrate up`) on a copy of the
 * template: a file it runs in one transaction may hold none; in a no-transaction file a BEGIN …
 * COMMIT block is one transaction again, with the same limits (and a block left open is refused).
 */
const BLOCKS: Array<{ name: string; sql: string; fails?: string; rules: string[]; lockTimeout?: string }> = [
  { name: 'begin … commit in a transactional file', sql: 'begin;\nalter table public.t add column a int;\ncommit;', fails: 'migration_invalid_file', rules: ['no-transaction-statement', 'no-transaction-statement'] },
  { name: 'rollback in a transactional file', sql: 'alter table public.t add column a int;\nrollback;', fails: 'migration_invalid_file', rules: ['no-transaction-statement'] },
  { name: 'savepoint in a transactional file', sql: 'savepoint s;\nalter table public.t add column a int;\nrelease savepoint s;', rules: [] },
  { name: 'create index concurrently inside a block of a no-transaction file', sql: '-- rowguard:no-transaction\nbegin;\ncreate index concurrently t_v2 on public.t (v);\ncommit;', fails: '25001', rules: ['no-transaction-statement'] },
  { name: 'create index concurrently after a block of a no-transaction file', sql: '-- rowguard:no-transaction\nbegin;\nalter table public.t add column a int;\ncommit;\ncreate index concurrently t_a on public.t (a);', rules: [] },
  { name: 'add check not valid and validate in one block of a no-transaction file', sql: "-- rowguard:no-transaction\nbegin;\nalter table public.t add constraint t_i_pos check (i > 0) not valid;\nalter table public.t validate constraint t_i_pos;\ncommit;", rules: ['constraint-not-valid'] },
  { name: 'add check not valid in a block, validate after it', sql: "-- rowguard:no-transaction\nbegin;\nalter table public.t add constraint t_i_pos check (i > 0) not valid;\ncommit;\nalter table public.t validate constraint t_i_pos;", rules: [] },
  { name: 'enum value added and used in one block of a no-transaction file', sql: "-- rowguard:no-transaction\ncreate type public.m3 as enum ('a');\nbegin;\nalter type public.m3 add value 'b';\ncreate table public.z (m public.m3 default 'b');\ncommit;", fails: '55P04', rules: ['no-transaction-statement'] },
  { name: 'enum value added in a block, used after it', sql: "-- rowguard:no-transaction\ncreate type public.m3 as enum ('a');\nbegin;\nalter type public.m3 add value 'b';\ncommit;\ncreate table public.z (m public.m3 default 'b');", rules: [] },
  { name: 'truncate and add column not null in one block of a no-transaction file', sql: '-- rowguard:no-transaction\nbegin;\ntruncate public.t cascade;\nalter table public.t add column a int not null;\ncommit;', rules: ['drop-column-or-table'] },
  // Each statement its own transaction: between them another session may insert a row (none does here).
  { name: 'truncate, then add column not null, each on its own in a no-transaction file', sql: '-- rowguard:no-transaction\ntruncate public.t cascade;\nalter table public.t add column a int not null;', rules: ['drop-column-or-table', 'add-column-not-null-no-default'] },
  { name: 'truncate and create index in one block of a no-transaction file', sql: '-- rowguard:no-transaction\nbegin;\ntruncate public.t cascade;\ncreate index t_v on public.t (v);\ncommit;', rules: ['drop-column-or-table'] },
  { name: 'truncate, then create index, each on its own in a no-transaction file', sql: '-- rowguard:no-transaction\ntruncate public.t cascade;\ncreate index t_v on public.t (v);', rules: ['drop-column-or-table', 'index-not-concurrent'] },
  { name: 'a block never committed', sql: '-- rowguard:no-transaction\nbegin;\nalter table public.t add column a int;', fails: 'migration_invalid_file', rules: ['no-transaction-statement'] },
  { name: 'set local lock_timeout lasts until its block commits', sql: "-- rowguard:no-transaction\nbegin;\nset local lock_timeout = '1s';\nalter table public.t add column a int;\ncommit;\nalter table public.t add column b int;", lockTimeout: '0', rules: ['missing-lock-timeout'] },
  { name: 'set local lock_timeout covers the statements of its block', sql: "-- rowguard:no-transaction\nbegin;\nset local lock_timeout = '1s';\nalter table public.t add column a int;\ncommit;", lockTimeout: '0', rules: [] },
];

describe('transaction blocks in migration files, as migrate up runs them', () => {
  it.each(BLOCKS.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg', template: template.name });
    const dir = tempDir('rg-lint-blocks-');
    mkdirSync(join(dir, 'sql'));
    writeFileSync(join(dir, 'sql', '0003_change.sql'), c.sql);
    let fails: string | undefined;
    try {
      await up({ url: db.url, dir: join(dir, 'sql'), displayRoot: dir, lockTimeout: c.lockTimeout ?? '5s', statementTimeout: '0' });
    } catch (err) {
      const e = err as { code?: string; pg?: { sqlstate?: string } };
      fails = e.pg?.sqlstate ?? e.code;
    } finally {
      await db.drop();
    }
    expect(fails, 'what migrate up fails with').toBe(c.fails);
    const r = await lintWith({
      migrations: [
        { displayPath: 'sql/0001_base.sql', sql: BASE, judged: false },
        { displayPath: 'sql/0003_change.sql', sql: c.sql, judged: true },
      ],
      serverVersion: serverMajor() * 10000,
      ...(c.lockTimeout ? { settings: { lockTimeout: c.lockTimeout } } : {}),
    });
    const found = r.findings.filter((f) => f.category === 'migration');
    expect(found.map((f) => f.rule).sort(), JSON.stringify(found, null, 2)).toEqual([...c.rules].sort());
  });
});

/**
 * missing-lock-timeout claims that while the statement waits for its lock, reads or writes of the
 * table queue behind it: so the lock it waits for must conflict with a reader's or a writer's.
 * Measured: one session holds EXCLUSIVE on public.t in an open transaction (it conflicts with
 * every mode but ACCESS SHARE, which VACUUM takes first, briefly, to find the table), another
 * runs the statement (on its own, as a no-transaction file runs it), and pg_locks shows the mode
 * it waits for (null: none, it went through). Linted with the engine's lock_timeout off (migrations.lockTimeout 0).
 */
const QUEUES = ['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];
const LOCK_WAITS: Array<{
  name: string;
  before?: string;
  sql: string;
  table?: string;
  waitsFor: string | null;
  rules?: string[];
  notAMigration?: boolean;
  /** missing-lock-timeout findings, when another table than the measured one decides them. */
  timeoutFindings?: number;
}> = [
  { name: 'add column', sql: 'alter table public.t add column a int', waitsFor: 'AccessExclusiveLock' },
  { name: 'validate constraint alone', before: 'alter table public.t add constraint t_i_pos check (i > 0) not valid', sql: 'alter table public.t validate constraint t_i_pos', waitsFor: 'ShareUpdateExclusiveLock' },
  { name: 'set statistics', sql: 'alter table public.t alter column i set statistics 100', waitsFor: 'ShareUpdateExclusiveLock' },
  { name: 'set (fillfactor)', sql: 'alter table public.t set (fillfactor = 70)', waitsFor: 'ShareUpdateExclusiveLock' },
  { name: 'validate constraint with add column', before: 'alter table public.t add constraint t_i_pos check (i > 0) not valid', sql: 'alter table public.t validate constraint t_i_pos, add column a int', waitsFor: 'AccessExclusiveLock' },
  { name: 'lock table', sql: 'begin; lock table public.t; commit', waitsFor: 'AccessExclusiveLock' },
  { name: 'lock table in share mode', sql: 'begin; lock table public.t in share mode; commit', waitsFor: 'ShareLock' },
  { name: 'lock table in share update exclusive mode', sql: 'begin; lock table public.t in share update exclusive mode; commit', waitsFor: 'ShareUpdateExclusiveLock' },
  { name: 'lock table in access share mode', sql: 'begin; lock table public.t in access share mode; commit', waitsFor: null },
  { name: 'drop index', sql: 'drop index public.t_i', waitsFor: 'AccessExclusiveLock' },
  { name: 'drop index concurrently', sql: 'drop index concurrently public.t_i', waitsFor: 'ShareUpdateExclusiveLock' },
  { name: 'reindex index', sql: 'reindex index public.t_i', waitsFor: 'ShareLock' },
  { name: 'reindex table concurrently', sql: 'reindex table concurrently public.t', waitsFor: 'ShareUpdateExclusiveLock' },
  // An index made outside the migrations (by hand, or by an extension): its table is not known to the linter.
  { name: 'reindex index of an index no migration made', before: 'create index t_n_hand on public.t (n)', notAMigration: true, sql: 'reindex index public.t_n_hand', waitsFor: 'ShareLock' },
  { name: 'drop index of an index no migration made', before: 'create index t_n_hand on public.t (n)', notAMigration: true, sql: 'drop index public.t_n_hand', waitsFor: 'AccessExclusiveLock' },
  { name: 'reindex schema', sql: 'reindex schema public', waitsFor: 'ShareLock' },
  { name: 'reindex schema concurrently', sql: 'reindex schema concurrently public', waitsFor: 'ShareUpdateExclusiveLock' },
  // ATTACH PARTITION: SHARE UPDATE EXCLUSIVE on the partitioned table, ACCESS EXCLUSIVE on the table it attaches.
  { name: 'attach partition: the partitioned table', before: 'create table public.p2 (id int, at date)', sql: "alter table public.p attach partition public.p2 for values from ('2021-01-01') to ('2022-01-01')", table: 'public.p', waitsFor: 'ShareUpdateExclusiveLock', rules: ['constraint-not-valid'], timeoutFindings: 1 },
  { name: 'attach partition: the table it attaches', before: 'create table public.p2 (id int, at date)', sql: "alter table public.p attach partition public.p2 for values from ('2021-01-01') to ('2022-01-01')", table: 'public.p2', waitsFor: 'AccessExclusiveLock', rules: ['constraint-not-valid'] },
  { name: 'attach partition of a table the same file creates', sql: "create table public.p2 (id int, at date);\nalter table public.p attach partition public.p2 for values from ('2021-01-01') to ('2022-01-01')", table: 'public.p', waitsFor: 'ShareUpdateExclusiveLock', rules: [] },
  { name: 'detach partition', sql: 'alter table public.p detach partition public.p1', table: 'public.p', waitsFor: 'AccessExclusiveLock', rules: ['index-not-concurrent'] },
  { name: 'detach partition concurrently', sql: 'alter table public.p detach partition public.p1 concurrently', table: 'public.p', waitsFor: 'ShareUpdateExclusiveLock', rules: [] },
  { name: 'vacuum full', sql: 'vacuum full public.t', waitsFor: 'AccessExclusiveLock' },
  { name: 'vacuum (full false)', sql: 'vacuum (full false) public.t', waitsFor: 'ShareUpdateExclusiveLock' },
];

async function awaitedLock(c: { before?: string; sql: string; table?: string }): Promise<string | null> {
  const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg', template: template.name });
  try {
    return await withSql(db.url, (holder) =>
      withSql(
        db.url,
        async (runner) => {
          if (c.before) await runner.unsafe(c.before).simple();
          const [me] = await runner.unsafe<Array<{ pid: number }>>('select pg_backend_pid() as pid');
          const held = await holder.reserve();
          let mode: string | null = null;
          try {
            await held.unsafe('begin');
            await held.unsafe(`lock table ${c.table ?? 'public.t'} in exclusive mode`);
            let done = false;
            const run = runner
              .unsafe(c.sql)
              .simple()
              .then(
                () => null,
                (err: unknown) => err,
              )
              .finally(() => (done = true));
            // Polled until the statement waits or ends; a busy machine (the whole suite in parallel) can take seconds to get there.
            for (const until = Date.now() + 15_000; Date.now() < until && mode === null && !done; ) {
              const rows = await held.unsafe<Array<{ mode: string }>>(`select mode from pg_locks where pid = ${me!.pid} and not granted and relation = '${c.table ?? 'public.t'}'::regclass`);
              if (rows[0]) mode = rows[0].mode;
              else await new Promise((r) => setTimeout(r, 10));
            }
            await held.unsafe('rollback');
            const err = await run;
            if (err) throw err;
          } finally {
            held.release();
          }
          return mode;
        },
        { max: 1 },
      ),
    );
  } finally {
    await db.drop();
  }
}

describe('missing-lock-timeout reports the statements whose lock waits block reads or writes', () => {
  it.each(LOCK_WAITS.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    expect(await awaitedLock(c), 'the lock it waits for').toBe(c.waitsFor);
    const r = await lintWith({
      migrations: [
        { displayPath: 'sql/0001_base.sql', sql: BASE, judged: false },
        ...(c.before && !c.notAMigration ? [{ displayPath: 'sql/0002_before.sql', sql: `${c.before};`, judged: false }] : []),
        { displayPath: 'sql/0003_change.sql', sql: `-- rowguard:no-transaction\n${c.sql};`, judged: true },
      ],
      settings: { lockTimeout: '0' },
      serverVersion: serverMajor() * 10000,
    });
    expect(r.findings.filter((f) => f.rule === 'missing-lock-timeout').length, JSON.stringify(r.findings, null, 2)).toBe(c.timeoutFindings ?? (c.waitsFor && QUEUES.includes(c.waitsFor) ? 1 : 0));
    if (c.rules) expect(r.findings.filter((f) => f.category === 'migration' && f.rule !== 'missing-lock-timeout').map((f) => f.rule)).toEqual(c.rules);
  });
});

/**
 * A default calling a function the migrations did not create (an extension's, or one made by hand)
 * is judged by the volatility the database linted against gives it: a VOLATILE plpgsql one is
 * evaluated for every row (a rewrite), a STABLE one once.
 */
describe('add column with a default calling a function of the database, not of the migrations', () => {
  const FNS = `create function public.mk_volatile() returns uuid language plpgsql as 'begin return gen_random_uuid(); end';
create function public.mk_stable() returns uuid language plpgsql stable as 'begin return ''00000000-0000-0000-0000-000000000000''; end';
create function public.mk_sql_const() returns uuid language sql as 'select ''00000000-0000-0000-0000-000000000000''::uuid';
create function public.mk_sql_random() returns uuid language sql as 'select gen_random_uuid()';
create function public.mk_sql_from() returns uuid language sql as 'select u from (values (''00000000-0000-0000-0000-000000000000''::uuid)) v(u)';
create function public.mk_sql_set() returns uuid language sql set search_path = '' as 'select ''00000000-0000-0000-0000-000000000000''::uuid';
create function public.mk_sql_return() returns uuid language sql return '00000000-0000-0000-0000-000000000000'::uuid;
create function public.mk_sql_calls() returns uuid language sql as 'select public.mk_sql_random()';`;
  it.each([
    ['mk_volatile', true],
    ['mk_stable', false],
    ['mk_sql_const', false],
    ['mk_sql_random', true],
    ['mk_sql_from', true],
    ['mk_sql_set', true],
    ['mk_sql_return', false],
    // Inlined into a body that is itself inlined: volatile whatever order the catalog lists them in.
    ['mk_sql_calls', true],
  ] as const)('%s()', async (fn, rewrites) => {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg', template: template.name });
    const sql = `alter table public.t add column a uuid default public.${fn}();`;
    try {
      await ensureRoles(serverUrl());
      const { rewrite, model } = await withSql(db.url, async (s) => {
        await s.unsafe(FNS).simple();
        const model = await introspect(s, { apiRoles: ['anon', 'authenticated'], scope: 'full' });
        const [before] = await s.unsafe<Array<{ node: string }>>(`select pg_relation_filenode('public.t')::text as node`);
        await s.unsafe(`begin; ${sql}`).simple();
        const [after] = await s.unsafe<Array<{ node: string }>>(`select pg_relation_filenode('public.t')::text as node`);
        await s.unsafe('rollback');
        return { rewrite: before!.node !== after!.node, model };
      });
      expect(rewrite, 'rewrite (relfilenode changed)').toBe(rewrites);
      const r = await lintWith({
        model,
        migrations: [
          { displayPath: 'sql/0001_base.sql', sql: BASE, judged: false },
          { displayPath: 'sql/0003_change.sql', sql, judged: true },
        ],
      });
      expect(r.findings.filter((f) => f.category === 'migration').map((f) => f.rule)).toEqual(rewrites ? ['table-rewrite'] : []);
    } finally {
      await db.drop();
    }
  });
});

describe('unqualified names in migrations, on a database whose search_path starts elsewhere', () => {
  it('migrate up creates in the first schema of the database search_path that exists, and lint names that table', async () => {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg' });
    const dir = tempDir('rg-lint-searchpath-');
    const sql = 'create index t_id on t (id);';
    try {
      await withSql(db.url, (s) => s.unsafe(`create schema app; alter database "${db.name}" set search_path = "$user", nosuch, app, public; create table app.t (id int); insert into app.t select generate_series(1, 100);`).simple());
      mkdirSync(join(dir, 'sql'));
      writeFileSync(join(dir, 'sql', '0001_index.sql'), sql);
      await up({ url: db.url, dir: join(dir, 'sql'), displayRoot: dir, lockTimeout: '5s', statementTimeout: '0' });
      const model = await withSql(db.url, async (s) => {
        // The index went to app, beside its table.
        expect(await s.unsafe(`select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relname = 't_id'`)).toEqual([{ nspname: 'app' }]);
        return introspect(s, { apiRoles: ['anon', 'authenticated'], scope: 'full' });
      });
      const r = await lintWith({ model, modelIsTarget: true, newFilesArePending: true, migrations: [{ displayPath: 'sql/0001_index.sql', sql, judged: true, isNew: true }] });
      const found = r.findings.filter((f) => f.category === 'migration');
      expect(found.map((f) => [f.rule, f.object])).toEqual([['index-not-concurrent', 'app.t']]);
      expect(found[0]!.message).toMatch(/^create index on app\.t \(it existed before these migrations/);
    } finally {
      await db.drop();
    }
  });
});

/**
 * search_path set inside a migration file, applied by `migrate up` (each file in a fresh session):
 * which of app.t and public.t Postgres changed is what the lint must name, with and without the
 * catalog. SET LOCAL lasts until its transaction ends (the file's, or a BEGIN … COMMIT block's in a
 * no-transaction file, where outside a block it only warns); set_config splits its string as the
 * setting is split (unquoted names folded to lower case); RESET goes back to the database's.
 */
const SEARCH_PATHS: Array<{ name: string; sql: string; schema: 'app' | 'public' }> = [
  { name: "set_config('search_path', 'app, public', false), as pg_dump writes it", sql: "select pg_catalog.set_config('search_path', 'app, public', false);\nalter table t alter column a type varchar(5);", schema: 'app' },
  { name: "set_config('search_path', 'App', false): folded to lower case", sql: "select set_config('search_path', 'App', false);\nalter table t alter column a type varchar(5);", schema: 'app' },
  { name: "set_config('search_path', 'app', true) in a transactional file", sql: "select set_config('search_path', 'app', true);\nalter table t alter column a type varchar(5);", schema: 'app' },
  { name: 'set local search_path in a transactional file', sql: 'set local search_path = app;\nalter table t alter column a type varchar(5);', schema: 'app' },
  { name: 'set search_path, then reset it', sql: 'set search_path = app;\nreset search_path;\nalter table t alter column a type varchar(5);', schema: 'public' },
  { name: 'set search_path, then set it to default', sql: 'set search_path = app, public;\nset search_path to default;\nalter table t alter column a type varchar(5);', schema: 'public' },
  { name: 'set local search_path outside a block of a no-transaction file (only a warning)', sql: '-- rowguard:no-transaction\nset local search_path = app;\nalter table t alter column a type varchar(5);', schema: 'public' },
  { name: "set_config(…, true) outside a block of a no-transaction file", sql: "-- rowguard:no-transaction\nselect set_config('search_path', 'app', true);\nalter table t alter column a type varchar(5);", schema: 'public' },
  { name: 'set local search_path in a block of a no-transaction file, used in it', sql: '-- rowguard:no-transaction\nbegin;\nset local search_path = app;\nalter table t alter column a type varchar(5);\ncommit;', schema: 'app' },
  { name: 'set local search_path in a block of a no-transaction file, used after its commit', sql: '-- rowguard:no-transaction\nbegin;\nset local search_path = app;\ncommit;\nalter table t alter column a type varchar(5);', schema: 'public' },
  // A schema that does not exist is skipped; the path is looked at again at each statement, so a schema the file drops
  // after the SET no longer counts. Without the catalog every schema the path names is taken to exist (a platform's, such
  // as Supabase's extensions, is not created by the migrations), but t is looked for in each in turn, and the files made
  // app.t and public.t.
  { name: 'set search_path naming a schema that does not exist first', sql: 'set search_path = nosuch, app, public;\nalter table t alter column a type varchar(5);', schema: 'app' },
  { name: 'set search_path naming a schema the file creates, then drops, after it', sql: 'set search_path = later, public;\ncreate schema later;\ndrop schema later;\nalter table t alter column a type varchar(5);', schema: 'public' },
  { name: 'set search_path in a block of a no-transaction file, used after its commit', sql: '-- rowguard:no-transaction\nbegin;\nset search_path = app;\ncommit;\nalter table t alter column a type varchar(5);', schema: 'app' },
];

describe('search_path set in a migration file, as migrate up runs it', () => {
  const TABLES = 'create schema app;\ncreate table app.t (id int, a varchar(10));\ncreate table public.t (id int, a varchar(10));';
  it.each(SEARCH_PATHS.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg' });
    const dir = tempDir('rg-lint-setpath-');
    try {
      await withSql(db.url, (s) => s.unsafe(`${TABLES}\ninsert into app.t select g, 'x' from generate_series(1, 20) g;\ninsert into public.t select g, 'x' from generate_series(1, 20) g;`).simple());
      mkdirSync(join(dir, 'sql'));
      writeFileSync(join(dir, 'sql', '0002_change.sql'), c.sql);
      await up({ url: db.url, dir: join(dir, 'sql'), displayRoot: dir, lockTimeout: '5s', statementTimeout: '0' });
      const model = await withSql(db.url, async (s) => {
        const changed = await s.unsafe<Array<{ nspname: string }>>(
          `select n.nspname from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace where c.relname = 't' and a.attname = 'a' and format_type(a.atttypid, a.atttypmod) = 'character varying(5)'`,
        );
        expect(changed.map((r) => r.nspname), 'the schema whose t Postgres changed').toEqual([c.schema]);
        return introspect(s, { apiRoles: ['anon', 'authenticated'], scope: 'full' });
      });
      const withoutCatalog = await lintWith({
        migrations: [
          { displayPath: 'sql/0001_tables.sql', sql: TABLES, judged: false },
          { displayPath: 'sql/0002_change.sql', sql: c.sql, judged: true },
        ],
      });
      const withCatalog = await lintWith({ model, modelIsTarget: true, newFilesArePending: true, migrations: [{ displayPath: 'sql/0002_change.sql', sql: c.sql, judged: true, isNew: true }] });
      expect(withCatalog.findings.filter((f) => f.rule === 'table-rewrite').map((f) => f.object), 'with the catalog').toEqual([`${c.schema}.t.a`]);
      expect(withoutCatalog.findings.filter((f) => f.rule === 'table-rewrite').map((f) => f.object), 'without the catalog').toEqual([`${c.schema}.t.a`]);
    } finally {
      await db.drop();
    }
  });
});

describe('drop database in a no-transaction migration', () => {
  it('migrate up deletes the database, and drop-column-or-table reports it', async () => {
    const victim = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg_victim' });
    const db = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_lintpg', template: template.name });
    const sql = `-- rowguard:no-transaction\ndrop database ${victim.name};\n`;
    const dir = tempDir('rg-lint-dropdb-');
    mkdirSync(join(dir, 'sql'));
    writeFileSync(join(dir, 'sql', '0003_change.sql'), sql);
    try {
      await up({ url: db.url, dir: join(dir, 'sql'), displayRoot: dir, lockTimeout: '5s', statementTimeout: '0' });
      const [row] = await withSql(db.url, (s) => s<Array<{ n: number }>>`select count(*)::int as n from pg_database where datname = ${victim.name}`);
      expect(row!.n, 'the database is gone').toBe(0);
    } finally {
      await db.drop();
      await victim.drop().catch(() => undefined);
    }
    const r = await lintWith({ migrations: [{ displayPath: 'sql/0003_change.sql', sql, judged: true }] });
    expect(r.findings.filter((f) => f.category === 'migration').map((f) => [f.rule, f.object])).toEqual([['drop-column-or-table', victim.name]]);
  });
});
