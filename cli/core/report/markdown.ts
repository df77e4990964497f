/**
 * Text placed into GitHub-flavoured Markdown (the gate's step summary, PR comments, policy diffs).
 * Object names, policy expressions and error text come from SQL a pull request controls: an
 * unescaped `<!--` in a table name opens an HTML comment that hides the rest of the PR comment
 * (its findings included), a `|` splits a table cell, a backtick ends a code span.
 */

/** Plain text for a paragraph, list item or table cell: no HTML, no cell break, no code span, one line. */
export function mdText(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/`/g, '\\`')
    .replace(/\r?\n|\r/g, ' ');
}

/** An inline code span that holds `text` whatever backticks it contains (CommonMark: a longer fence). */
export function mdCode(text: string): string {
  const line = text.replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(line.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = longest > 0 || line.startsWith(' ') || line.endsWith(' ') ? ' ' : '';
  return `${fence}${pad}${line}${pad}${fence}`;
}

/** A fenced code block whose fence is longer than any backtick run inside (a policy's '```' literal cannot close it). */
export function mdFence(text: string, lang = ''): string {
  const longest = Math.max(0, ...(text.match(/`{3,}/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${text}\n${fence}`;
}
