/**
 * The HTML page rendered in headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core): the grid has one cell per (table, command,
 * actor), colours carry text labels and readable contrast, the filters work,
 * and the page makes no network request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { renderMatrixHtml } from '../../cli/core/report/matrix.js';
import { COMMANDS, type Cell, type Matrix, type MatrixCommand } from '../../cli/core/matrix/model.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

function cells(s: Cell, i: Cell, u: Cell, d: Cell): Record<MatrixCommand, Cell> {
  return { SELECT: s, INSERT: i, UPDATE: u, DELETE: d };
}
const none: Cell = { access: 'none', note: 'permission denied for table t' };
const own: Cell = { access: 'own', rows: 2, total: 5 };
const all: Cell = { access: 'all', rows: 5, total: 5 };
const refused: Cell = { access: 'refused', note: 'new row violates row-level security policy for table "t"' };
const subset: Cell = { access: 'subset', rows: 3, total: 5 };

const MATRIX: Matrix = {
  actors: [
    { name: 'anon', kind: 'anon', role: 'anon' },
    { name: 'alice', kind: 'user', role: 'authenticated', uid: 'a' },
    { name: 'staff', kind: 'user', role: 'staff', uid: 's' },
    { name: 'service_role', kind: 'service_role', role: 'service_role' },
  ],
  tables: ['public.a', 'public.b', 'api."Odd <Name>"'].map((name) => ({ name, schema: 'x', table: name, kind: 'table' as const, rls: true, forceRls: true, ownerColumn: 'user_id' })),
  cells: {
    'public.a': { anon: cells(none, none, none, none), alice: cells(own, own, own, own), staff: cells(all, own, own, own), service_role: cells(all, all, all, all) },
    'public.b': { anon: cells(all, none, none, none), alice: cells(all, refused, refused, none), staff: cells(subset, refused, refused, none), service_role: cells(all, all, all, all) },
    'api."Odd <Name>"': {
      anon: cells(none, none, none, none),
      alice: cells({ access: 'empty', rows: 0, total: 0 }, { access: 'n/a', note: 'no row to copy' }, { access: 'empty' }, { access: 'error', note: '42P17 infinite recursion' }),
      staff: cells(own, own, own, own),
      service_role: cells(all, all, all, all),
    },
  },
  functions: [
    { name: 'public.my_items()', schema: 'public', securityDefiner: false, owner: 'postgres' },
    { name: 'public.all_items(uuid)', schema: 'public', securityDefiner: true, owner: 'postgres' },
  ],
  calls: {
    'public.my_items()': { anon: { access: 'none' }, alice: { access: 'execute' }, staff: { access: 'execute' }, service_role: { access: 'execute' } },
    'public.all_items(uuid)': { anon: { access: 'execute', runsAs: 'postgres' }, alice: { access: 'execute', runsAs: 'postgres' }, staff: { access: 'none' }, service_role: { access: 'execute', runsAs: 'postgres' } },
  },
};

describe('access matrix HTML in Chromium', () => {
  let browser: Browser | undefined;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    if (!hasChromium) return;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith('data:') && r.url() !== 'about:blank') requests.push(r.url());
    });
    await page.setContent(renderMatrixHtml(MATRIX, { generatedAt: 'test' }), { waitUntil: 'load' });
  });
  afterAll(async () => browser?.close());

  const visibleCells = () => page.locator('tbody tr:not([hidden]) td.cell:not([hidden])').count();

  it.skipIf(!hasChromium)('renders one labelled cell per table × command × actor, and per function × actor, and loads nothing from the network', async () => {
    expect(await page.locator('td.cell').count()).toBe((3 * COMMANDS.length + 2) * 4);
    expect(await visibleCells()).toBe(56);
    expect(await page.locator('#visible-count').textContent()).toBe('56');
    expect(await page.locator('tr[data-table="public.all_items(uuid)"][data-command="EXECUTE"] td.cell').allTextContents()).toEqual(['execute as postgres', 'execute as postgres', 'none', 'execute as postgres']);
    expect(await page.locator('tr[data-table="public.all_items(uuid)"] th').getAttribute('title')).toBe('function, SECURITY DEFINER (owner postgres)');
    // the label is text, not only colour
    const row = page.locator('tr[data-table="public.b"][data-command="INSERT"] td.cell');
    expect(await row.allTextContents()).toEqual(['none', 'refused', 'refused', 'all']);
    expect(await page.locator('tr[data-table="public.b"][data-command="SELECT"] td.cell').nth(2).textContent()).toBe('subset 3/5');
    // names are escaped, not interpreted as markup
    expect(await page.locator('tr[data-table=\'api."Odd <Name>"\'] th').first().textContent()).toBe('api."Odd <Name>"');
    // notes are in the tooltip
    expect(await page.locator('tr[data-table="public.a"][data-command="SELECT"] td.cell').first().getAttribute('title')).toContain('permission denied');
    expect(requests).toEqual([]);
  });

  it.skipIf(!hasChromium)('colour-codes access with readable contrast (WCAG AA, 4.5:1)', async () => {
    // Browser-side code as text: the project's TypeScript program has no DOM lib (and should not get one from a test).
    const styles = (await page.evaluate(`(() => {
      const lum = (rgb) => {
        const [r, g, b] = rgb.match(/\\d+/g).slice(0, 3).map((v) => {
          const c = Number(v) / 255;
          return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const out = {};
      document.querySelectorAll('td.cell').forEach((td) => {
        const s = getComputedStyle(td);
        const [l1, l2] = [lum(s.backgroundColor), lum(s.color)].sort((a, b) => b - a);
        out[td.getAttribute('data-access')] = { bg: s.backgroundColor, ratio: (l1 + 0.05) / (l2 + 0.05) };
      });
      return out;
    })()`)) as Record<string, { bg: string; ratio: number }>;
    const kinds = ['none', 'own', 'subset', 'all', 'refused'];
    for (const k of [...kinds, 'execute', 'execute as owner']) expect(styles[k]!.ratio).toBeGreaterThanOrEqual(4.5);
    // none / own / subset / all / refused each get their own colour
    expect(new Set(kinds.map((k) => styles[k]!.bg)).size).toBe(kinds.length);
  });

  it.skipIf(!hasChromium)('filters by actor, by table and by access', async () => {
    await page.locator('input[data-filter-actor="anon"]').uncheck();
    expect(await visibleCells()).toBe(42);
    expect(await page.locator('thead th[data-actor="anon"]').isHidden()).toBe(true);
    await page.locator('#table-filter').selectOption('public.b');
    expect(await page.locator('tbody tr:not([hidden])').count()).toBe(4);
    expect(await visibleCells()).toBe(12);
    expect(await page.locator('#visible-count').textContent()).toBe('12');
    await page.locator('#access-filter').selectOption('refused');
    const rows = await page.locator('tbody tr:not([hidden])').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-command')));
    expect(rows).toEqual(['INSERT', 'UPDATE']);
    // who may call a SECURITY DEFINER function
    await page.locator('#table-filter').selectOption('');
    await page.locator('#access-filter').selectOption('execute as owner');
    expect(await page.locator('tbody tr:not([hidden])').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-table')))).toEqual(['public.all_items(uuid)']);
    // back to everything
    await page.locator('#access-filter').selectOption('');
    await page.locator('input[data-filter-actor="anon"]').check();
    expect(await visibleCells()).toBe(56);
  });
});
