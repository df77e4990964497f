/** Text rendering of `rowguard audit verify` (the JSON form is the VerifyResult itself). */
import type { ChalkInstance } from 'chalk';
import type { VerifyResult } from './verify.js';

export function renderVerify(r: VerifyResult, c: ChalkInstance): string {
  const lines: string[] = [];
  if (r.firstBreak) {
    lines.push(`${c.red('audit chain BROKEN')} at lane ${r.firstBreak.lane} row ${r.firstBreak.seq} (id ${r.firstBreak.id}): ${r.firstBreak.message}`);
    if (r.breaks > 1) lines.push(`${r.breaks} broken links in ${r.rows} rows (the first is the one to investigate)`);
    if (r.unchained > 0) lines.push(unchainedLine(r.unchained));
  } else if (r.unchained > 0) {
    lines.push(`${c.red('audit chain BROKEN')}: ${unchainedLine(r.unchained)}`);
  } else {
    lines.push(`${c.green('audit chain ok')}: ${r.rows} row${r.rows === 1 ? '' : 's'} in ${r.lanes.length} lane${r.lanes.length === 1 ? '' : 's'}`);
  }
  if (r.expectedHead) {
    const mark = r.expectedHead.ok ? c.green('expected head ok') : c.red('expected head NOT in chain');
    lines.push(`${mark}: ${r.expectedHead.message}`);
  }
  lines.push(`head ${r.head ?? '(empty log)'}`);
  if (r.head && r.ok) lines.push(c.dim('record the head outside the database; later: rowguard audit verify --expect-head <head>'));
  return lines.join('\n');
}

function unchainedLine(n: number): string {
  return `${n} row${n === 1 ? ' has' : 's have'} no lane or seq (NULL): outside every chain, so inserted or moved out of one`;
}
