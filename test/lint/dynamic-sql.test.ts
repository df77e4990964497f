/**
 * callerChosenSql (pure): which EXECUTEd strings carry a text argument unquoted, and
 * which identity settings a body sets from an argument. The Postgres proofs of both
 * holes are in semantics.test.ts (rpc-sql-injection, rpc-sets-identity).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadParser } from '../../cli/core/sql-text.js';
import { callerChosenSql, formatPlainArguments } from '../../cli/core/lint/dynamic-sql.js';

let parser: Awaited<ReturnType<typeof loadParser>>;
beforeAll(async () => {
  parser = await loadParser();
});
const pl = (args: string, body: string, returns = 'void') =>
  callerChosenSql({ args, returns, language: 'plpgsql', body: null, plpgsqlSource: body }, parser.parseSync, parser.parsePlPgSQLSync);
const executes = (args: string, body: string) => pl(args, body).executes.map((e) => e.arguments.join(','));

describe('formatPlainArguments', () => {
  it("follows format()'s order, positions and widths; %I, %L and %% are not plain", () => {
    expect([...formatPlainArguments('a %s b %I c %L d %s')]).toEqual([0, 3]);
    // After %1$L the next argument is the second again: format('%2$s %1$L %s', 'a', 'b', 'c') is "b 'a' b" on Postgres.
    expect([...formatPlainArguments('%2$s %1$L %s')]).toEqual([1]);
    expect([...formatPlainArguments('%*2$s|%L')]).toEqual([2]);
    expect([...formatPlainArguments('100%% %s')]).toEqual([0]);
    expect([...formatPlainArguments('%-10s %*s')].sort()).toEqual([0, 2]);
  });
});

describe('callerChosenSql: EXECUTE', () => {
  it('a text argument pasted in by ||, concat, format %s, through variables and string functions, in each EXECUTE form', () => {
    expect(executes('p text', `begin execute 'select ' || p; end`)).toEqual(['p']);
    expect(executes('p varchar', `begin execute concat('select ', lower(p)); end`)).toEqual(['p']);
    expect(executes('p text, q text', `declare s text; t text; begin s := 'x' || p; t := s; execute format('%L %s', q, t); end`)).toEqual(['p']);
    expect(executes('p text', `declare r record; begin for r in execute 'select ' || p loop end loop; end`)).toEqual(['p']);
    expect(executes('p text', `declare c refcursor; begin open c for execute p; end`)).toEqual(['p']);
    expect(executes('text', `begin execute 'select ' || $1; end`)).toEqual(['$1']);
    expect(executes('p text', `declare s text := 'select ' || p::text; begin execute s; end`)).toEqual(['p']);
    expect(pl('p text', `begin return query execute 'select ' || coalesce(p, 'x'); end`, 'setof int').executes.map((e) => e.arguments)).toEqual([['p']]);
  });

  it('quoted, passed with USING, cast to another type, compared, or of a non-text type: nothing', () => {
    expect(executes('p text', `begin execute 'select ' || quote_literal(p) || quote_ident(p) || quote_nullable(p); end`)).toEqual([]);
    expect(executes('p text', `begin execute format('select %L, %I', p, p); end`)).toEqual([]);
    expect(executes('p text', `begin execute 'select $1' using p; end`)).toEqual([]);
    expect(executes('p text', `begin execute 'select ' || p::int; end`)).toEqual([]);
    expect(executes('p text', `begin execute 'select ' || case when p = 'asc' then 'asc' else 'desc' end; end`)).toEqual([]);
    expect(executes('p int, u uuid', `begin execute 'select ' || p || ' where id = ''' || u || ''''; end`)).toEqual([]);
    expect(executes('p text', `declare n int; begin n := length(p); execute 'select ' || n; end`)).toEqual([]);
    expect(executes('p text', `begin execute 'select ''' || replace(p, '''', '''''') || ''''; end`)).toEqual([]);
  });
});

describe('callerChosenSql: identity settings', () => {
  it('set_config of role or the claims from an argument (any type, through variables); not of another setting, nor from the request', () => {
    expect(pl('p uuid', `begin perform set_config('request.jwt.claims', json_build_object('sub', p)::text, true); end`).identity).toEqual([{ setting: 'request.jwt.claims', arguments: ['p'] }]);
    expect(pl('p text', `declare r text; begin r := upper(p); perform set_config('ROLE', r, true); end`).identity).toEqual([{ setting: 'role', arguments: ['p'] }]);
    expect(pl('p text', `begin perform set_config('request.jwt.claim.sub', p, true); end`).identity).toEqual([{ setting: 'request.jwt.claim.sub', arguments: ['p'] }]);
    expect(pl('p text', `begin perform set_config('app.tag', p, true); perform set_config('request.jwt.claims', json_build_object('sub', auth.uid())::text, true); end`).identity).toEqual([]);
    expect(pl('', `begin perform set_config('app.a', 'x', false); perform set_config('app.b', 'x', 'off'); perform set_config('app.c', 'x', true); end`).session).toEqual(['app.a', 'app.b']);
    const sql = callerChosenSql({ args: 'p_user uuid', returns: 'void', language: 'sql', body: `select set_config('request.jwt.claims', json_build_object('sub', $1)::text, true)` }, parser.parseSync, parser.parsePlPgSQLSync);
    expect(sql.identity).toEqual([{ setting: 'request.jwt.claims', arguments: ['$1'] }]);
  });
});

describe('callerChosenSql: arguments an IF holds to constants', () => {
  it('after an IF that raises an exception (or returns) unless the value is one of a list; inside an IF that asks for one', () => {
    expect(executes('p text', `begin if p not in ('a', 'b') then raise exception 'no'; end if; execute 'select ' || p; end`)).toEqual([]);
    expect(executes('p text, q text', `begin if p <> all (array['a']) or not (q = any (array['x'])) then return; end if; execute p || q; end`)).toEqual([]);
    expect(executes('p text', `begin if p <> 'a' then raise exception 'no'; end if; execute 'select ' || p; end`)).toEqual([]);
    expect(executes('p text', `begin if p in ('a', 'b') and true then execute 'select ' || p; end if; end`)).toEqual([]);
    expect(executes('p text', `begin if p = 'a' then null; else execute 'select ' || p; end if; end`)).toEqual(['p']);
    // The THEN branch stops: past the IF its test was false, ELSE or not.
    expect(executes('p text', `begin if p not in ('a') then raise exception 'no'; elsif p = 'a' then perform 1; else perform 2; end if; execute 'select ' || p; end`)).toEqual([]);
  });

  it('not after a notice (an ELSE that stops does not help), a test of another value, a list with a non-constant, or before the IF', () => {
    expect(executes('p text', `begin if p not in ('a') then raise notice 'odd'; end if; execute 'select ' || p; end`)).toEqual(['p']);
    expect(executes('p text', `begin if p not in ('a') then raise notice 'no'; else return; end if; execute 'select ' || p; end`)).toEqual(['p']);
    expect(executes('p text, q text', `begin if q not in ('a') then raise exception 'no'; end if; execute 'select ' || p; end`)).toEqual(['p']);
    expect(executes('p text', `begin execute 'select ' || p; if p not in ('a') then raise exception 'no'; end if; end`)).toEqual(['p']);
    expect(executes('p text', `begin if p not in ('a', lower(p)) then raise exception 'no'; end if; execute 'select ' || p; end`)).toEqual(['p']);
  });

  it('calls handed a text argument unquoted, by position or by name', () => {
    expect(pl('p text, n int', `begin perform private.find(n, 'x' || p, q => lower(p), r => quote_literal(p)); end`).calls?.filter((c) => c.callee === 'private.find')).toEqual([
      { callee: 'private.find', at: 1, arguments: ['p'] },
      { callee: 'private.find', at: 'q', arguments: ['p'] },
    ]);
  });

  it('query_to_xml and ts_stat run their string, in PL/pgSQL and LANGUAGE sql', () => {
    expect(pl('p text', `begin perform query_to_xml('select ' || p, true, false, ''); end`).executes.map((e) => e.via)).toEqual(['query_to_xml']);
    const sql = callerChosenSql({ args: 'p text, n integer', returns: 'xml', language: 'sql', body: `select query_to_xml('select ' || $1 || n, true, false, ''); select * from ts_stat(quote_literal(p))` }, parser.parseSync, parser.parsePlPgSQLSync);
    expect(sql.executes.map((e) => e.arguments)).toEqual([['p']]);
  });
});
