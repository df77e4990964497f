// The cheap scan that decides whether a migration needs the parser to look for COMMIT/ROLLBACK.
import { describe, expect, it } from 'vitest';
import { mayStartWithTransactionWord, transactionControlStatements } from '../../cli/core/sql-text.js';

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
