/**
 * Every rule, splinter's idiom: the bad fixture gives exactly one finding of the
 * rule, the close look-alike beside it gives none. Catalog fixtures are applied
 * to a copy of a template database and introspected; migration fixtures are
 * judged as a new file after their before.sql.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ThrowawayDatabase } from '../../cli/core/db.js';
import { RULES } from '../../cli/core/lint/rules/index.js';
import type { Finding, Rule } from '../../cli/core/lint/types.js';
import { FIXTURES, lintWith, makeTemplate, modelOf } from './helpers.js';

let template: ThrowawayDatabase;
beforeAll(async () => {
  template = await makeTemplate();
}, 60_000);
afterAll(async () => {
  await template?.drop();
});

const read = (rule: string, file: string) => readFileSync(join(FIXTURES, rule, file), 'utf8');

async function findingsFor(rule: Rule, variant: 'bad' | 'good'): Promise<Finding[]> {
  const dir = join(FIXTURES, rule.id);
  const settingsFile = join(dir, 'settings.json');
  const settings = existsSync(settingsFile) ? JSON.parse(readFileSync(settingsFile, 'utf8')) : {};
  if (rule.kind === 'catalog') {
    const model = await modelOf(template, read(rule.id, `${variant}.sql`));
    return (await lintWith({ model, settings })).findings.filter((f) => f.rule === rule.id);
  }
  const migrations = [
    ...(existsSync(join(dir, 'before.sql')) ? [{ displayPath: 'sql/0001_before.sql', sql: read(rule.id, 'before.sql'), judged: false }] : []),
    { displayPath: `sql/0002_${variant}.sql`, sql: read(rule.id, `${variant}.sql`), judged: true },
  ];
  return (await lintWith({ migrations, settings })).findings.filter((f) => f.rule === rule.id);
}

describe('every rule has fixtures', () => {
  it('one folder with bad.sql and good.sql per rule, and no folder without a rule', () => {
    const dirs = readdirSync(FIXTURES).filter((d) => !d.startsWith('_')).sort();
    expect(dirs).toEqual(RULES.map((r) => r.id).sort());
    for (const r of RULES) {
      expect(existsSync(join(FIXTURES, r.id, 'bad.sql')), `${r.id}/bad.sql`).toBe(true);
      expect(existsSync(join(FIXTURES, r.id, 'good.sql')), `${r.id}/good.sql`).toBe(true);
    }
  });
});

describe.each(RULES.map((r) => [r.id, r] as const))('%s', (_id, rule) => {
  it('bad fixture → exactly one finding, with object, message and fix', async () => {
    const found = await findingsFor(rule, 'bad');
    expect(found, JSON.stringify(found, null, 2)).toHaveLength(1);
    const f = found[0]!;
    expect(f.level).toBe(rule.level);
    expect(f.object).not.toBe('');
    expect(f.message.length).toBeGreaterThan(20);
    expect(f.fix).not.toBe('');
    if (rule.kind === 'migration') expect(f.location?.file).toBe('sql/0002_bad.sql');
  });

  it('good look-alike → no finding', async () => {
    const found = await findingsFor(rule, 'good');
    expect(found, JSON.stringify(found, null, 2)).toEqual([]);
  });
});
