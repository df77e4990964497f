import { describe, expect, it } from 'vitest';
import { echoText, errorVariable, expandScript, lineColumn, sourceOf, splitMetaArgs, psqlLiteral, unsetVariable } from '../../cli/core/testing/psql-script.js';

const expand = (text: string, files: Record<string, string> = {}, variables: Record<string, string> = {}) =>
  expandScript({ file: 'main.sql', path: '/proj/main.sql', text, cwd: '/proj', readFile: (p) => {
    const key = p.replace(/^\/proj\//, '');
    if (!(key in files)) throw new Error('ENOENT');
    return files[key]!;
  }, variables });

describe('psql script preprocessing', () => {
  it('removes meta-commands and interpolates variables as psql does', () => {
    const s = expand("\\set who 'o''brien'\n\\set tbl my table\nselect :'who', :\"tbl\", :who;\n");
    expect(s.problem).toBeUndefined();
    expect(s.sql).toBe("\n\nselect 'o''brien', \"mytable\", o'brien;\n");
  });

  it('leaves quotes, dollar quotes, comments, casts and unknown variables alone', () => {
    const text = "select ':x', $$ :x \\echo no $$, $f$;:x$f$, 1::int, :nope -- :x \\q\n/* :x \\q */ ;\n";
    const s = expand(text, {}, { x: 'X' });
    expect(s.sql).toBe(text);
    expect(s.terminators).toEqual([text.lastIndexOf(';') + 1]);
    expect(s.events).toEqual([]);
  });

  it('does not end a statement at a semicolon inside parentheses', () => {
    const s = expand('create rule r as on insert to t do also (insert into a values (1); insert into b values (2));\nselect 1;');
    expect(s.terminators).toHaveLength(2);
  });

  it('follows \\i and \\ir and maps positions back to the included file', () => {
    const s = expand('select 1;\n\\i lib/setup.sql\nselect 3;\n', { 'lib/setup.sql': '\\ir more.sql\nselect 2;\n', 'lib/more.sql': 'select 22;\n' });
    expect(s.problem).toBeUndefined();
    expect(s.sql.replace(/\s+/g, ' ').trim()).toBe('select 1; select 22; select 2; select 3;');
    const at = s.sql.indexOf('select 2;');
    expect(sourceOf(s, at)).toEqual({ file: 'lib/setup.sql', offset: 13 });
    expect(sourceOf(s, s.sql.indexOf('select 22'))).toEqual({ file: 'lib/more.sql', offset: 0 });
    expect(lineColumn(s.sources.get('lib/setup.sql')!, 13)).toMatchObject({ line: 2, column: 1 });
  });

  it('leaves a missing include or \\copy file to fail where psql fails it, with the place of the command, and reads on', () => {
    // psql reports it when it reaches the \i (and sends no COPY for the \copy); the runner stops there under ON_ERROR_STOP.
    const s = expand("select 1;\n\\i nope.sql\nselect 2;\n\\copy t from 'missing.csv'\nselect 3;\n");
    expect(s.problem).toBeUndefined();
    expect(s.sql.replace(/\s+/g, ' ').trim()).toBe('select 1; select 2; select 3;');
    expect(s.events.filter((e) => e.kind === 'error')).toEqual([
      { kind: 'error', at: s.sql.indexOf('select 2') - 1, file: 'main.sql', offset: 10, message: '\\i nope.sql: no such file', hint: expect.stringContaining('looked in'), stderr: 'error: nope.sql: No such file or directory' },
      { kind: 'error', at: s.sql.indexOf('select 3') - 1, file: 'main.sql', offset: 32, message: '\\copy from missing.csv: no such file', hint: expect.stringContaining('looked in'), stderr: 'error: missing.csv: No such file or directory' },
    ]);
  });

  it('keeps an \\if stack per file read, as psql does, and leaves its refused conditionals to fail where psql fails them', () => {
    // The include's \endif cannot end main.sql's \if; the \if it opens ends with it (its body never read).
    const s = expand("\\if true\nselect 1;\n\\i inc.sql\nselect 2;\n\\endif\n\\else\nselect 3;\n", { 'inc.sql': "\\endif\n\\if false\nselect 'never';\n" });
    expect(s.problem).toBeUndefined();
    expect(s.sql.replace(/\s+/g, ' ').trim()).toBe('select 1; select 2; select 3;');
    expect(s.events.flatMap((e) => (e.kind === 'error' ? [[e.file, e.offset, e.stderr]] : []))).toEqual([
      ['inc.sql', 0, 'error: \\endif: no matching \\if'],
      ['inc.sql', 17, 'error: reached EOF without finding closing \\endif(s)'],
      ['main.sql', 47, 'error: \\else: no matching \\if'],
    ]);
    // In an \if decided when the file runs, an \elif after its \else is refused before the file runs.
    expect(expand("select 1 as x \\gset\n\\if :x\n\\else\n\\elif true\n\\endif\n").problem?.message).toContain('\\elif: cannot occur after \\else');
    expect(expand("select 1 as x \\gset\n\\if :x\n\\else\n\\else\n\\endif\n").problem?.message).toContain('\\else: cannot occur after \\else');
  });

  it('refuses an \\i of the file an earlier \\o wrote: psql runs what the query wrote there, rowguard would run the file as it was on disk', () => {
    // psql 15 printed "ok 1 - fresh" for this script, with gen.sql holding select pass('stale') beforehand.
    const files = { 'gen.sql': "select pass('stale');\n", 'lib/out.sql': "\\o gen.sql\n" };
    const text = "\\o gen.sql\nselect 'select pass(''fresh'');';\n\\o\n\\i gen.sql\n";
    const s = expand(text, files);
    expect(s.problem).toMatchObject({
      file: 'main.sql',
      offset: text.indexOf('\\i gen.sql'),
      message: '\\i gen.sql: reads what \\o gen.sql wrote while the file ran, which rowguard cannot include (it reads every \\i before the file runs)',
    });
    expect(s.sql).not.toContain('stale');
    // The same file through \ir, an absolute path, and an \o in an included file (psql resolves it against the working directory, as \i).
    expect(expand("\\o /proj/gen.sql\nselect 1;\n\\o\n\\ir gen.sql\n", files).problem?.message).toMatch(/^\\ir gen\.sql: reads what \\o/);
    expect(expand('\\i lib/out.sql\nselect 1;\n\\o\n\\i gen.sql\n', files).problem?.message).toMatch(/^\\i gen\.sql: reads what \\o/);
    // Output sent to another file, or piped, leaves the include alone.
    for (const o of ['\\o other.sql', '\\o |cat', '\\o /dev/null']) {
      const t = expand(`${o}\nselect 1;\n\\o\n\\i gen.sql\n`, files);
      expect(t.problem).toBeUndefined();
      expect(t.sql).toContain("select pass('stale');");
    }
  });

  it('evaluates \\if / \\elif / \\else with the current variables', () => {
    const s = expand('\\set on true\n\\if :on\nselect 1;\n\\else\nselect 2;\n\\endif\n\\if false\nselect 3;\n\\elif yes\nselect 4;\n\\endif\n');
    expect(s.sql.replace(/\s+/g, ' ').trim()).toBe('select 1; select 4;');
  });

  it('takes an \\if / \\elif value that is not a boolean as false with psql\'s error on stderr, and goes on, ON_ERROR_STOP or not (psql 15 printed these)', () => {
    const s = expand('\\set ON_ERROR_STOP 1\n\\if 3\nselect 1;\n\\elif xx\nselect 2;\n\\else\nselect 3;\n\\endif\n\\if of\nselect 4;\n\\else\nselect 5;\n\\endif\n\\if :nope\nselect 6;\n\\endif\n\\if\nselect 7;\n\\endif\nselect 8;\n');
    expect(s.problem).toBeUndefined();
    expect(s.sql.replace(/\s+/g, ' ').trim()).toBe('select 3; select 5; select 8;');
    expect(s.events.filter((e) => e.kind === 'echo').map((e) => [e.kind === 'echo' && e.stream, e.kind === 'echo' && e.text])).toEqual(
      ['"3" for "\\if', '"xx" for "\\elif', '":nope" for "\\if', '"" for "\\if'].map((v) => ['stderr', `error: unrecognized value ${v} expression": Boolean expected`]),
    );
  });

  it('reads every branch of an \\if on a variable only a \\gset before it sets, for the runner to choose when it runs (psql reads the variable once the \\gset ran)', () => {
    const s = expand("select true as ready \\gset\n\\if :ready\nselect 1;\n\\echo one\n\\elif :'other'\nselect 2;\n\\elif false\n\\else\nselect 3;\n\\endif\nselect 4;\n");
    expect(s.problem).toBeUndefined();
    expect(s.sql.replace(/\s+/g, ' ').trim()).toBe('select true as ready ; select 1; select 2; select 3; select 4;');
    const branch = s.events.find((e) => e.kind === 'branch');
    const arms = branch?.kind === 'branch' ? branch.arms : [];
    expect(arms.map((a) => [a.cmd, a.expr, a.variable, s.sql.slice(a.start, a.end).replace(/\s+/g, ' ').trim()])).toEqual([
      ['if', ':ready', 'ready', 'select 1;'],
      ['elif', ":'other'", 'other', 'select 2;'],
      ['elif', 'false', undefined, ''],
      ['else', null, undefined, 'select 3;'],
    ]);
    // The \echo is the first arm's own, so it is skipped with it.
    const echo = s.events.findIndex((e) => e.kind === 'echo');
    expect([arms[0]!.firstEvent <= echo, echo < arms[0]!.endEvent, arms[1]!.firstEvent === arms[1]!.endEvent]).toEqual([true, true, true]);
  });

  it('keeps :{?name} of a variable not set yet for the runner, which says TRUE once a \\gset (or psql on connecting) set it', () => {
    const s = expand("\\set known 1\nselect :{?known}, :{?later};\n");
    expect(s.sql).toBe('\nselect TRUE, FALSE;\n');
    expect(s.deferred).toEqual([{ start: s.sql.indexOf('FALSE'), end: s.sql.indexOf('FALSE') + 5, name: 'later', quote: 'defined' }]);
  });

  it('refuses what would change the rest of the file inside such an \\if, and an \\elif on such a variable after an \\if decided before the file runs', () => {
    for (const cmd of ['\\set x 1', '\\unset x', '\\q']) {
      const s = expand(`select true as ready \\gset\n\\if :ready\n${cmd}\n\\endif\n`);
      expect(s.problem?.message, cmd).toMatch(/inside an \\if on a variable a \\gset sets is not supported/);
    }
    const s = expand("select true as ready \\gset\n\\if false\nselect 1;\n\\elif :ready\nselect 2;\n\\endif\n");
    expect(s.problem).toMatchObject({ message: expect.stringMatching(/^\\elif: :ready is not set when rowguard reads the \\elif/) });
  });

  it('\\; puts a semicolon in and the line goes on as SQL (the statement after it was dropped as if it were the meta-command\'s arguments)', () => {
    const s = expand("select pass('a') \\; select pass('b') \\;select 3;\nselect 4;\n");
    expect(s.problem).toBeUndefined();
    expect(s.sql).toBe("select pass('a') ; select pass('b') ;select 3;\nselect 4;\n");
    // Not sent at the \; — psql sends the line as one query at the plain semicolon.
    expect(s.terminators).toEqual([s.sql.indexOf('select 3;') + 9, s.sql.length - 1]);
    expect(sourceOf(s, s.sql.indexOf("select pass('b')"))).toEqual({ file: 'main.sql', offset: 20 });
  });

  it('ends a meta-command at the next unquoted backslash: another one starts there, and \\\\ hands the line back to SQL, as psql 15 runs them', () => {
    // psql printed x, y and 1 for these two lines; the SQL and the \echo after the first command were dropped.
    const s = expand("\\echo x \\\\ select 'y';\n\\set v 1 \\echo :v\n\\echo 'a\\\\b' \"c\\d\"\n");
    expect(s.problem).toBeUndefined();
    expect(s.sql.replace(/\s+/g, ' ').trim()).toBe("select 'y';");
    expect(s.events.map((e) => (e.kind === 'echo' ? e.text : e.kind === 'set' ? `${e.name}=${e.value}` : e.kind))).toEqual(['x', 'v=1', '1', 'a\\b "c\\d"']);
  });

  it('checks the variables psql 15 has a hook for as psql does, and refuses a value it refuses as a failed command (psql 15 printed these)', () => {
    const refused = (name: string, value: string) => {
      const v = errorVariable(name, value);
      return typeof v === 'object' ? v.error : undefined;
    };
    expect(errorVariable('ECHO', 'ALL')).toBe('ALL');
    expect(refused('ECHO', '')).toBe('error: unrecognized value "" for "ECHO"\nAvailable values are: none, errors, queries, all.');
    expect([errorVariable('SHOW_ALL_RESULTS', ''), errorVariable('ECHO_HIDDEN', ''), errorVariable('ECHO_HIDDEN', 'noexec')]).toEqual(['on', 'on', 'noexec']);
    expect(refused('HIDE_TABLEAM', 'bogus')).toBe('error: unrecognized value "bogus" for "HIDE_TABLEAM": Boolean expected');
    expect([errorVariable('FETCH_COUNT', '0x1f'), errorVariable('HISTSIZE', '010'), errorVariable('IGNOREEOF', 'bogus'), errorVariable('PROMPT1', '')]).toEqual(['0x1f', '010', '10', '']);
    expect(refused('FETCH_COUNT', '9999999999')).toBe('error: invalid value "9999999999" for "FETCH_COUNT": integer expected');
    expect(refused('FETCH_COUNT', '5 ')).toBe('error: invalid value "5 " for "FETCH_COUNT": integer expected');
    expect([unsetVariable('QUIET'), unsetVariable('ECHO'), unsetVariable('HISTSIZE'), unsetVariable('mine')]).toEqual(['off', 'none', '500', null]);
    const s = expand('\\set ECHO\nselect 1;\n');
    expect(s.events.find((e) => e.kind === 'error')).toMatchObject({ message: '\\set ECHO: unrecognized value "" for "ECHO"', stderr: 'error: unrecognized value "" for "ECHO"\nAvailable values are: none, errors, queries, all.' });
  });

  it('records \\echo, \\o and ON_ERROR_STOP changes at their place between statements', () => {
    const s = expand("select 1;\n\\echo hello :'v'\n\\o /dev/null\nselect 2;\n\\o\n\\set ON_ERROR_STOP off\n", {}, { v: 'x' });
    expect(s.events.map((e) => ({ ...e, at: undefined }))).toEqual([
      { kind: 'echo', text: "hello 'x'", stream: 'stdout', at: undefined },
      { kind: 'output', enabled: false, at: undefined },
      { kind: 'output', enabled: true, at: undefined },
      { kind: 'set', name: 'ON_ERROR_STOP', value: 'off', at: undefined },
    ]);
    expect(s.events[0]!.at).toBeGreaterThanOrEqual(s.terminators[0]!);
    expect(s.events[1]!.at).toBeLessThan(s.terminators[1]!);
  });

  it('ends a statement at \\gset and keeps references to unknown variables for the runner', () => {
    const s = expand("select 1 as x \\gset p_\nselect :p_x, :'p_x', :\"p_x\";\n");
    expect(s.events).toEqual([{ kind: 'gset', at: s.sql.indexOf(';'), prefix: 'p_' }]);
    expect(s.terminators[0]).toBe(s.sql.indexOf(';') + 1);
    expect(s.deferred.map((d) => [s.sql.slice(d.start, d.end), d.quote])).toEqual([
      [':p_x', 'none'],
      [":'p_x'", 'literal'],
      [':"p_x"', 'identifier'],
    ]);
  });

  it('keeps what an \\echo needs to expand variables a \\gset sets before it runs', () => {
    const s = expand("\\set k kk\nselect 1 as x \\gset p_\n\\echo :k :p_x :'p_x'\n\\echo :k\n");
    const [echo, known] = s.events.filter((e) => e.kind === 'echo');
    expect(echo).toMatchObject({ text: "kk :p_x :'p_x'", pending: { args: " :k :p_x :'p_x'" } });
    const pending = echo?.kind === 'echo' ? echo.pending : undefined;
    expect(echoText(pending!.args, new Map([...pending!.variables, ['p_x', "o'k"]]))).toBe("kk o'k 'o''k'");
    expect(known).toEqual({ kind: 'echo', at: known!.at, text: 'kk', stream: 'stdout' });
  });

  it('hands the lines after COPY … FROM STDIN, up to \\., to that statement as its data, uninterpolated', () => {
    const text = "-- seed\ncopy t (a, b) from stdin with (format csv); -- rows\n1,:v\n\\x,\"two\nlines\"\n\\.\nselect :'v';\nCOPY t FROM STDIN;\n3\n";
    const s = expand(text, {}, { v: 'x' });
    expect(s.problem).toBeUndefined();
    expect(s.sql).toBe("-- seed\ncopy t (a, b) from stdin with (format csv); -- rows\nselect 'x';\nCOPY t FROM STDIN;\n");
    expect(s.events).toEqual([
      { kind: 'copy-data', at: s.sql.indexOf('select'), data: '1,:v\n\\x,"two\nlines"\n' },
      // The end of the file ends the data too.
      { kind: 'copy-data', at: s.sql.length, data: '3\n' },
    ]);
    // Positions after the data still map to their place in the file.
    expect(sourceOf(s, s.sql.indexOf('select'))).toEqual({ file: 'main.sql', offset: text.indexOf('select') });
    // COPY … TO STDOUT and COPY from a file take nothing from the script.
    expect(expand("copy t to stdout;\nselect 1;\ncopy t from '/tmp/x';\nselect 2;\n").events).toEqual([]);
    expect(expand('copy t from stdin; select 1;\n1\n').problem).toMatchObject({ message: 'COPY … FROM STDIN: start its data on the line after the statement' });
  });

  it('runs \\copy as the COPY … FROM STDIN or TO STDOUT psql sends, fed from its file or the next lines', () => {
    const files = { '/proj/data/rows.csv': 'id,name\n1,"a\nb"\n', '/proj/t/rows.txt': '5\tx\n\\.\n6\ty\n' };
    const text = [
      "\\copy s.\"T x\" (id, name) from 'data/rows.csv' with (format csv, header true);",
      '\\copy t from rows.txt',
      '\\copy (select 1 from t where a = \'from\') TO stdout csv',
      '\\copy t FROM STDIN delimiter \',\' csv',
      '7,:v',
      '\\.',
      "select :'v';",
      '',
    ].join('\n');
    const s = expandScript({ file: 't/main.sql', path: '/proj/t/main.sql', text, cwd: '/proj', readFile: (p) => {
      const f = (files as Record<string, string>)[p];
      if (f === undefined) throw new Error('ENOENT');
      return f;
    }, variables: { v: 'x' } });
    expect(s.problem).toBeUndefined();
    expect(s.sql.split('\n')).toEqual([
      'COPY s."T x" (id, name) FROM STDIN with (format csv, header true);',
      // Not in the working directory: the script's folder, as \i falls back to it.
      'COPY t FROM STDIN;',
      "COPY (select 1 from t where a = 'from') TO STDOUT csv;",
      "COPY t FROM STDIN delimiter ',' csv;",
      "select 'x';",
      '',
    ]);
    expect(s.terminators).toHaveLength(5);
    expect(s.events).toEqual([
      { kind: 'copy-data', at: s.sql.indexOf('\nCOPY t FROM STDIN;'), data: 'id,name\n1,"a\nb"\n' },
      // psql 15 stops reading a file at a line \. as it does the script.
      { kind: 'copy-data', at: s.sql.indexOf('\nCOPY (select'), data: '5\tx\n' },
      { kind: 'copy-data', at: s.sql.indexOf("\nselect 'x'") + 1, data: '7,:v\n' },
    ]);
    // Each COPY maps to its \copy line.
    expect(sourceOf(s, s.sql.indexOf('COPY t FROM STDIN delimiter'))).toEqual({ file: 't/main.sql', offset: text.indexOf('\\copy t FROM STDIN') });
    // A statement not yet ended would run after the \copy under psql: refused.
    expect(expand('select 1\n\\copy t from stdin\n;\n').problem).toMatchObject({ message: expect.stringContaining('\\copy after a statement not yet ended') });
    // What an earlier \o wrote is read by psql when it gets there; rowguard would read the file as it was.
    expect(expand("\\o out.csv\nselect 1;\n\\o\n\\copy t from 'out.csv'\n", { 'out.csv': '1\n' }).problem).toMatchObject({ message: expect.stringContaining('reads what \\o out.csv wrote') });
    // A \g after it sends the query before the \copy again, as psql does (its previous query is left as it was).
    const g = expand('select 42;\n\\copy t from stdin\n5\n\\.\n\\g\n');
    expect(g.problem).toBeUndefined();
    expect(g.sql).toBe('select 42;\nCOPY t FROM STDIN;\nselect 42;\n');
    // Inside a false \if branch nothing is read or run.
    expect(expand("\\if false\n\\copy t from 'missing.csv'\n\\endif\nselect 1;\n").problem).toBeUndefined();
  });

  it('answers :{?var} with whether the variable is set', () => {
    const s = expand('\\set x 1\n\\if :{?x}\nselect :{?x}, :{?y};\n\\endif\n\\if :{?y}\nselect 2;\n\\endif\n');
    expect(s.sql.replace(/\s+/g, ' ').trim()).toBe('select TRUE, FALSE;');
  });

  it('stops at \\q and treats \\g as the end of a statement', () => {
    const s = expand('select 1\n\\g\nselect 2;\n\\q\nselect 3;\n');
    expect(s.terminators).toHaveLength(2);
    expect(s.sql).not.toContain('select 3');
  });

  it('refuses meta-commands it cannot honour, naming them', () => {
    for (const [cmd, msg] of [
      ['\\gx', '\\gx is not supported'],
      ['\\connect other', '\\connect is not supported'],
      ['\\copy t to \'out.csv\'', 'writes a file on the client'],
      ['\\copy t from program \'cat x\'', 'runs a shell command'],
      ['\\copy t from pstdin', "psql's own stdin"],
      ['\\copy t from \'data.bin\' with (format binary)', 'binary format'],
      ['\\copy t', 'no from or to'],
      ['\\! rm -rf /', 'shell command'],
      ['\\dt', 'psql meta-command \\dt is not supported'],
    ] as const) {
      const s = expand(`select 1;\n${cmd}\n`);
      expect(s.problem?.message, cmd).toContain(msg);
      expect(s.problem?.offset).toBe(10);
    }
    expect(expand('\\set x `whoami`\n').problem?.message).toContain('backquoted');
  });

  it('ignores display settings', () => {
    const s = expand('\\pset format unaligned\n\\timing on\n\\t\nselect 1;\n');
    expect(s.problem).toBeUndefined();
    expect(s.sql.trim()).toBe('select 1;');
  });

  it('splits meta-command arguments like psql', () => {
    const vars = new Map([['v', "it's"]]);
    const fail = (m: string): never => {
      throw new Error(m);
    };
    expect(splitMetaArgs(` a 'b c' 'x\\ny' "Q q" :v :'v' \\echo`, vars, fail)).toEqual(['a', 'b c', 'x\ny', '"Q q"', "it's", "'it''s'"]);
    expect(psqlLiteral('a\\b')).toBe(" E'a\\\\b'");
  });

  it('reads a doubled quote as a quote also first and last in a quoted argument', () => {
    // A suite's constants file: \set USER_ID '''<uuid>''' then :USER_ID::uuid. psql 15 on the same
    // lines: \set a '''abc''' → 'abc', \set b '''' → ', \set c 'x''''y' → x''y.
    const fail = (m: string): never => {
      throw new Error(m);
    };
    expect(splitMetaArgs(`a '''abc''' '''' 'x''''y'`, new Map(), fail)).toEqual(['a', "'abc'", "'", "x''y"]);
    const s = expand("\\set uid '''11111111-1111-4111-8111-111111111111'''\nselect :uid::uuid;\n");
    expect(s.sql).toBe("\nselect '11111111-1111-4111-8111-111111111111'::uuid;\n");
  });
});
