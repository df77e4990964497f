/**
 * Rendering the access matrix: a terminal table, a Markdown table for PR
 * comments, JSON, and one self-contained HTML page (no external assets, works
 * offline) with a colour-coded grid filterable by actor and table.
 * Colours always come with the text label, so nothing depends on colour alone.
 */
import type { ChalkInstance } from 'chalk';
import { COMMANDS, callLabel, cellLabel, type Access, type CallCell, type Matrix } from '../matrix/model.js';
import { callLabelsOf, labelsOf } from '../matrix/file.js';
import { describeChange, describeChanges, type CellChange } from '../matrix/compare.js';

function colourOf(c: ChalkInstance, access: Access): (s: string) => string {
  switch (access) {
    case 'none':
      return c.dim;
    case 'own':
      return c.green;
    case 'subset':
      return c.yellow;
    case 'all':
      return c.magenta;
    case 'refused':
      return c.cyan;
    case 'empty':
      return c.dim;
    case 'n/a':
      return c.dim;
    case 'error':
      return c.red;
  }
}

/** A call cell's colour: `execute` of a SECURITY DEFINER function reads as much as `all` (it skips the caller's RLS). */
function callAccess(cell: CallCell): Access {
  if (cell.access === 'execute') return cell.runsAs ? 'all' : 'own';
  return cell.access;
}

interface Row {
  table: string;
  command: string;
  labels: string[];
  access: Access[];
}

/** One row per (table, command), then one per function (EXECUTE): the same grid for every format. */
function matrixRows(m: Matrix): Row[] {
  const rows: Row[] = [];
  for (const t of sortedTables(m)) {
    for (const cmd of COMMANDS) {
      const cells = m.actors.map((a) => m.cells[t]![a.name]![cmd]);
      rows.push({ table: t, command: cmd, labels: cells.map(cellLabel), access: cells.map((x) => x.access) });
    }
  }
  for (const f of sortedFunctions(m)) {
    const cells = m.actors.map((a) => m.calls[f]![a.name]!);
    rows.push({ table: f, command: 'EXECUTE', labels: cells.map(callLabel), access: cells.map(callAccess) });
  }
  return rows;
}

function sortedFunctions(m: Matrix): string[] {
  return m.functions.map((f) => f.name).sort();
}

function sortedTables(m: Matrix): string[] {
  return m.tables.map((t) => t.name).sort();
}

/** Terminal text: one row per (table, command), one column per actor. No `c`: no colour (files). */
export function renderMatrixText(m: Matrix, c?: ChalkInstance): string {
  if (!m.tables.length && !m.functions.length) return 'no tables or functions in the exposed schemas';
  const headers = ['table / function', 'command', ...m.actors.map((a) => a.name)];
  const rows = matrixRows(m);
  const body = rows.map((r) => [r.table, r.command, ...r.labels]);
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[], colour?: (i: number) => (s: string) => string) =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
        return colour ? colour(i)(padded) : padded;
      })
      .join('  ')
      .trimEnd();
  const plain = (s: string) => s;
  const out = [c ? c.bold(line(headers)) : line(headers)];
  body.forEach((b, ri) => {
    out.push(line(b, (i) => (i < 2 || !c ? plain : colourOf(c, rows[ri]!.access[i - 2]!))));
  });
  return out.join('\n');
}

function mdEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A GitHub-flavoured Markdown table (PR comments). */
export function renderMatrixMarkdown(m: Matrix): string {
  const headers = ['table / function', 'command', ...m.actors.map((a) => a.name)];
  const lines = [`| ${headers.map(mdEscape).join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`];
  for (const r of matrixRows(m)) lines.push(`| ${[`\`${r.table}\``, r.command, ...r.labels].map(mdEscape).join(' | ')} |`);
  return lines.join('\n') + '\n';
}

/** The JSON document of `--format json` and `--json`: actors, tables, every cell with its label and note. */
export function matrixJson(m: Matrix, changes?: CellChange[]): unknown {
  return {
    actors: m.actors,
    tables: m.tables,
    cells: Object.fromEntries(
      sortedTables(m).map((t) => [
        t,
        Object.fromEntries(m.actors.map((a) => [a.name, Object.fromEntries(COMMANDS.map((cmd) => [cmd, { label: cellLabel(m.cells[t]![a.name]![cmd]), ...m.cells[t]![a.name]![cmd] }]))])),
      ]),
    ),
    labels: labelsOf(m),
    functions: m.functions,
    calls: Object.fromEntries(sortedFunctions(m).map((f) => [f, Object.fromEntries(m.actors.map((a) => [a.name, { label: callLabel(m.calls[f]![a.name]!), ...m.calls[f]![a.name]! }]))])),
    callLabels: callLabelsOf(m),
    ...(changes ? { changes: changes.map((ch) => ({ ...ch, message: describeChange(ch) })) } : {}),
  };
}

/** After --update: what the rewrite changed. */
export function renderUpdate(changes: CellChange[], hadFile: boolean, file: string, functionsAdded?: number): string {
  if (hadFile && functionsAdded !== undefined && !changes.length) return `wrote ${file}: it now also lists who may call each of the ${functionsAdded} function${functionsAdded === 1 ? '' : 's'} PostgREST serves`;
  if (hadFile && !changes.length) return `${file} is up to date`;
  return [`wrote ${file}${hadFile ? ` (${changes.length} cell${changes.length === 1 ? '' : 's'} changed)` : ''}`, ...(hadFile ? describeChanges(changes).map((line) => `  ${line}`) : [])].join('\n');
}

/** A committed file from before functions were in the matrix: said once, with how to start comparing them. */
export function untrackedFunctions(n: number, file: string): string {
  return `who may call the ${n} function${n === 1 ? '' : 's'} PostgREST serves is not in ${file} yet, so it is not compared: rowguard matrix --update, and commit the file`;
}

export function renderChanges(changes: CellChange[], c: ChalkInstance, file: string): string {
  if (!changes.length) return `${c.green('✓')} the access matrix matches ${file}`;
  const lines = [`${c.red('✗')} ${changes.length} cell${changes.length === 1 ? '' : 's'} of the access matrix differ${changes.length === 1 ? 's' : ''} from ${file}:`];
  for (const line of describeChanges(changes)) lines.push(`  ${line}`);
  lines.push(c.dim('  if the change is intended: rowguard matrix --update, and commit the file'));
  return lines.join('\n');
}

function html(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * Palette: Okabe–Ito derived tints, each with dark text at a contrast ratio
 * above 7:1, plus a text label and a pattern-free legend, so the grid reads
 * without colour too.
 */
const HTML_STYLE = `
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
body { margin: 1.5rem; color: #111; background: #fff; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
p.meta { margin: 0 0 1rem; color: #333; }
fieldset { border: 1px solid #999; margin: 0 0 .75rem; padding: .5rem .75rem; }
legend { font-weight: 600; }
label { margin-right: 1rem; white-space: nowrap; }
table.matrix { border-collapse: collapse; font-size: .9rem; }
.matrix th, .matrix td { border: 1px solid #777; padding: .3rem .5rem; text-align: left; }
.matrix thead th { position: sticky; top: 0; background: #eee; }
.matrix td.cell { font-weight: 600; min-width: 5.5rem; }
.a-none { background: #e0e0e0; color: #111; }
.a-own { background: #bfe8d8; color: #003d2b; }
.a-subset { background: #fbe3a6; color: #3d2c00; }
.a-all { background: #f5c6d9; color: #4a0026; }
.a-refused { background: #c6e2f5; color: #002e4d; }
.a-empty { background: #f4f4f4; color: #222; }
.a-na { background: #fff; color: #333; font-style: italic; }
.a-error { background: #ffd0c2; color: #5c1500; }
.a-execute { background: #bfe8d8; color: #003d2b; }
.a-definer { background: #f5c6d9; color: #4a0026; }
ul.key { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem; }
ul.key li { border: 1px solid #777; padding: .2rem .5rem; }
[hidden] { display: none !important; }
`;

const HTML_SCRIPT = `
(function () {
  var actorBoxes = Array.prototype.slice.call(document.querySelectorAll('input[data-filter-actor]'));
  var tableSelect = document.getElementById('table-filter');
  var accessSelect = document.getElementById('access-filter');
  function apply() {
    var shown = {};
    actorBoxes.forEach(function (b) { shown[b.getAttribute('data-filter-actor')] = b.checked; });
    document.querySelectorAll('[data-actor]').forEach(function (el) {
      el.hidden = !shown[el.getAttribute('data-actor')];
    });
    var t = tableSelect.value, a = accessSelect.value;
    document.querySelectorAll('tbody tr').forEach(function (tr) {
      var ok = (t === '' || tr.getAttribute('data-table') === t);
      if (ok && a !== '') {
        ok = Array.prototype.some.call(tr.querySelectorAll('td.cell'), function (td) {
          return !td.hidden && td.getAttribute('data-access') === a;
        });
      }
      tr.hidden = !ok;
    });
    var visible = document.querySelectorAll('tbody tr:not([hidden]) td.cell:not([hidden])').length;
    document.getElementById('visible-count').textContent = String(visible);
  }
  actorBoxes.forEach(function (b) { b.addEventListener('change', apply); });
  tableSelect.addEventListener('change', apply);
  accessSelect.addEventListener('change', apply);
  apply();
})();
`;

const ACCESS_TEXT: Record<Access, string> = {
  none: 'no grant: 42501 before any row',
  own: "exactly the actor's own rows",
  subset: 'a filtered subset (count shown)',
  all: 'every row / any owner',
  refused: 'write refused by a WITH CHECK',
  empty: 'allowed, but no row matched',
  'n/a': 'not attempted, or nothing to measure (reason in the tooltip)',
  error: 'failed for another reason',
};

/** Function rows: `execute` runs under the caller's RLS; `execute as <owner>` (SECURITY DEFINER) under its owner's. */
const CALL_TEXT: Record<string, string> = {
  execute: 'may call the function (/rpc), which runs as the caller',
  'execute as owner': "may call a SECURITY DEFINER function, which runs as its owner (the owner's RLS, usually none)",
};

function cssClass(access: Access): string {
  return access === 'n/a' ? 'a-na' : `a-${access}`;
}

/** One self-contained page. `generatedAt` is injected so the output is reproducible in tests. */
export function renderMatrixHtml(m: Matrix, opts: { title?: string; generatedAt?: string } = {}): string {
  const title = opts.title ?? 'rowguard access matrix';
  const tables = sortedTables(m);
  const head = `<tr><th scope="col">table</th><th scope="col">command</th>${m.actors
    .map((a) => `<th scope="col" data-actor="${html(a.name)}" title="${html(a.kind)}${a.role !== a.name ? ` (role ${html(a.role)})` : ''}">${html(a.name)}</th>`)
    .join('')}</tr>`;
  const body: string[] = [];
  for (const t of tables) {
    const info = m.tables.find((x) => x.name === t)!;
    COMMANDS.forEach((cmd) => {
      const cells = m.actors
        .map((a) => {
          const cell = m.cells[t]![a.name]![cmd];
          const label = cellLabel(cell);
          const tip = [`${a.name} · ${cmd} ${t}: ${label}`, cell.note].filter(Boolean).join('\n');
          return `<td class="cell ${cssClass(cell.access)}" data-actor="${html(a.name)}" data-access="${html(cell.access)}" title="${html(tip)}">${html(label)}</td>`;
        })
        .join('');
      const flags = `${info.kind}${info.rls ? ', RLS' : ', no RLS'}${info.forceRls ? ' forced' : ''}${info.ownerColumn ? `, owner column ${info.ownerColumn}` : ''}`;
      // The table name is repeated on each command's row so a filtered row still says what it is.
      const tableCell = `<th scope="row" title="${html(flags)}">${html(t)}</th>`;
      body.push(`<tr data-table="${html(t)}" data-command="${cmd}">${tableCell}<td>${cmd}</td>${cells}</tr>`);
    });
  }
  const functions = sortedFunctions(m);
  for (const f of functions) {
    const info = m.functions.find((x) => x.name === f)!;
    const cells = m.actors
      .map((a) => {
        const cell = m.calls[f]![a.name]!;
        const label = callLabel(cell);
        const access = cell.access === 'execute' ? (cell.runsAs ? 'execute as owner' : 'execute') : cell.access;
        const cls = cell.access === 'execute' ? (cell.runsAs ? 'a-definer' : 'a-execute') : cssClass(cell.access);
        const tip = [`${a.name} · EXECUTE ${f}: ${label}`, cell.note].filter(Boolean).join('\n');
        return `<td class="cell ${cls}" data-actor="${html(a.name)}" data-access="${html(access)}" title="${html(tip)}">${html(label)}</td>`;
      })
      .join('');
    const flags = `function${info.securityDefiner ? `, SECURITY DEFINER (owner ${info.owner})` : ''}`;
    body.push(`<tr data-table="${html(f)}" data-command="EXECUTE"><th scope="row" title="${html(flags)}">${html(f)}</th><td>EXECUTE</td>${cells}</tr>`);
  }
  const actorFilter = m.actors
    .map((a) => `<label><input type="checkbox" checked data-filter-actor="${html(a.name)}"> ${html(a.name)}</label>`)
    .join('');
  const tableOptions = ['<option value="">all tables and functions</option>', ...[...tables, ...functions].map((t) => `<option value="${html(t)}">${html(t)}</option>`)].join('');
  const accesses = [...(Object.keys(ACCESS_TEXT) as Access[]), ...(functions.length ? Object.keys(CALL_TEXT) : [])];
  const accessOptions = ['<option value="">any access</option>', ...accesses.map((a) => `<option value="${html(a)}">${html(a)}</option>`)].join('');
  const key = [
    ...(Object.keys(ACCESS_TEXT) as Access[]).map((a) => `<li class="${cssClass(a)}"><strong>${html(a)}</strong>: ${html(ACCESS_TEXT[a])}</li>`),
    ...(functions.length ? [`<li class="a-execute"><strong>execute</strong>: ${html(CALL_TEXT['execute']!)}</li>`, `<li class="a-definer"><strong>execute as …</strong>: ${html(CALL_TEXT['execute as owner']!)}</li>`] : []),
  ].join('');
  const total = (tables.length * COMMANDS.length + functions.length) * m.actors.length;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(title)}</title>
<style>${HTML_STYLE}</style>
</head>
<body>
<h1>${html(title)}</h1>
<p class="meta">${tables.length} tables × ${m.actors.length} actors × ${COMMANDS.length} commands; each cell was computed by running the operation as the actor in a rolled-back savepoint${functions.length ? `; and ${functions.length} function${functions.length === 1 ? '' : 's'} PostgREST serves, each cell whether Postgres lets the actor's request call it` : ''}${opts.generatedAt ? `, ${html(opts.generatedAt)}` : ''}. Showing <span id="visible-count">${total}</span> of ${total} cells.</p>
<ul class="key" aria-label="legend">${key}</ul>
<fieldset><legend>actors</legend>${actorFilter}</fieldset>
<fieldset><legend>rows</legend>
<label>table <select id="table-filter">${tableOptions}</select></label>
<label>access <select id="access-filter">${accessOptions}</select></label>
</fieldset>
<table class="matrix">
<caption>Effective access per table, command and actor${functions.length ? ', and who may call each function' : ''}</caption>
<thead>${head}</thead>
<tbody>
${body.join('\n')}
</tbody>
</table>
<script>${HTML_SCRIPT}</script>
</body>
</html>
`;
}
