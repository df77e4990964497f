// The cheap scan that decides whether a migration needs the parser to look for COMMIT/ROLLBACK.
import { describe, expect, it } from 'vitest';
import { mayStartWithTransactionWord, splitStatements, transactionControlStatements } from '../../cli/core/sql-text.js';

describe('mayStartWithTransactionWord', () => {
  it('finds a transaction word that starts a statement, anywhere on a line', () => {
    for (const text of ['Rollback', 'create table t (x int); commit; create table u (x int);', 'select 1;\n  End\n ;', "select 'a;' ; /* ; */ COMMIT;", 'commit and chain;', "prepare transaction 'x';", 'select $1; end', "select E'\\\\'; commit; '"]) {
      expect(mayStartWithTransactionWord(text), text).toBe(true);
    }
  });

  it('an identifier with $ in it is no dollar quote, so what follows is still read', () => {
    expect(mayStartWithTransactionWord('create table a$b$ (x int); commit; select $b$')).toBe(true);
  });

  it('skips strings, quoted identifiers, dollar-quoted bodies and comments', () => {
    for (const text of ["select E'\\'; commit; '", "select 'it''s; commit'", 'select $$; commit $$', 'select $q$ $$ ; commit; $q$', '/* /* */ ; commit */ select 1', 'select "a;""commit"', 'select 1 -- ; commit', 'do $$ begin perform 1; end $$;']) {
      expect(mayStartWithTransactionWord(text), text).toBe(false);
    }
  });
});

describe('transactionControlStatements', () => {
  it('reports the statements that end or start a transaction, not savepoints nor a function body', async () => {
    const text = 'savepoint a;\nrollback to savepoint a;\nrelease a;\ncreate function f() returns int language sql begin atomic select 1; end;\ndo $$ begin\nend;\n$$;\ncommit and chain;\n';
    const found = await transactionControlStatements(text);
    expect(found.map((s) => s.text)).toEqual(['commit and chain']);
    expect(await transactionControlStatements('savepoint a; release a;')).toEqual([]);
  });
});

describe('splitStatements', () => {
  it('gives each statement its own text and place, the comments above it not counted as its start', async () => {
    const text = "-- head; not a statement\ncreate table a(x int);\n\n/* c; 2 */ create table b(y int) ;; select 'é;'; -- tail\nselect 2";
    const got = await splitStatements(text);
    if (!Array.isArray(got)) throw new Error(got.message);
    expect(got.map((s) => [s.text, s.kind, text.slice(s.startChars, s.startChars + 6)])).toEqual([
      ['create table a(x int)', 'CreateStmt', 'create'],
      ['create table b(y int) ', 'CreateStmt', 'create'],
      ["select 'é;'", 'SelectStmt', "select"],
      ['select 2', 'SelectStmt', 'select'],
    ]);
  });
});
