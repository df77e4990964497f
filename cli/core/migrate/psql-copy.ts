/**
 * COPY … FROM STDIN in a migration file. psql runs the statement and then sends
 * the file's next lines, up to a line `\.`, as its rows (pg_dump's data
 * sections); rowguard sends the file to the server as SQL, where those rows
 * are a syntax error. Found with the psql lexer the test runner uses
 * (testing/psql-script.ts), so a `from stdin` inside a string, a comment or a
 * function body is not one.
 */
import { expandScript, sourceOf } from '../testing/psql-script.js';
import { leadingTriviaLength } from '../sql-text.js';

/** Offset (UTF-16 units) in `text` of the first COPY … FROM STDIN statement, or null when there is none. */
export function copyFromStdinOffset(text: string, file: string): number | null {
  if (!/\bstdin\b/i.test(text)) return null; // the common case, without lexing
  const script = expandScript({
    file,
    text,
    cwd: '/',
    readFile: () => {
      throw new Error('not read');
    },
  });
  const copy = script.events.find((e) => e.kind === 'copy-data');
  if (!copy) return null;
  // Its `;` is the last psql terminator at or before the data; the statement starts after the one before.
  const ends = script.terminators.filter((t) => t <= copy.at);
  const from = ends.length >= 2 ? ends[ends.length - 2]! : 0;
  const start = from + leadingTriviaLength(script.sql.slice(from));
  return sourceOf(script, start).offset;
}
