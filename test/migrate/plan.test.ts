// Pure planning: files × history → states and refusals, from hand-written rows.
import { describe, expect, it } from 'vitest';
import { checksumOf, compareVersions, nameOrderInversion, nextMigrationName, parseMigration } from '../../cli/core/migrate/files.js';
import { planMigrations, type HistoryRow } from '../../cli/core/migrate/plan.js';

const file = (version: string, name: string, sql = `select ${version};`) => parseMigration(`/x/${version}_${name}.sql`, `${version}_${name}.sql`, sql, '/x');
const applied = (f: ReturnType<typeof file>, over: Partial<HistoryRow> = {}): HistoryRow => ({
  version: f.version,
  name: f.name,
  checksum: f.checksum,
  status: 'applied',
  appliedAt: '2026-01-01T00:00:00.000Z',
  appliedBy: 'ci',
  durationMs: 3,
  error: null,
  ...over,
});

describe('migration files', () => {
  it('CRLF and LF content have the same checksum', () => {
    expect(checksumOf('create table a (id int);\r\nselect 1;\r\n')).toBe(checksumOf('create table a (id int);\nselect 1;\n'));
    expect(file('1', 'a', 'select 1;\r\n').checksum).toBe(file('1', 'a', 'select 1;\n').checksum);
  });

  it('orders versions numerically, whatever their width', () => {
    expect(['10', '9', '0011', '2'].sort(compareVersions)).toEqual(['2', '9', '10', '0011']);
  });

  it('detects the no-transaction directive only on the first line', () => {
    expect(file('1', 'a', '-- rowguard:no-transaction\ncreate index concurrently i on t (x);').noTransaction).toBe(true);
    expect(file('1', 'a', 'select 1;\n-- rowguard:no-transaction\n').noTransaction).toBe(false);
  });

  it('names the next file by the folder convention', () => {
    const now = new Date(Date.UTC(2026, 10, 29, 8, 5, 9));
    expect(nextMigrationName([], 'Add profiles!', now)).toBe('0001_add_profiles.sql');
    expect(nextMigrationName([{ version: '0041' }], 'x', now)).toBe('0042_x.sql');
    expect(nextMigrationName([{ version: '20250101000000' }], 'x', now)).toBe('20261129080509_x.sql');
    // Never reuse or go below the newest version, even within the same second.
    expect(nextMigrationName([{ version: '20261129080509' }], 'y', now)).toBe('20261129080510_y.sql');
    expect(() => nextMigrationName([], '!!!', now)).toThrow(/no letters or digits/);
  });
});

describe('numeric order against name order', () => {
  const sorted = (...names: string[]) => names.map((n) => file(n.split('_')[0]!, n.slice(n.indexOf('_') + 1))).sort((x, y) => compareVersions(x.version, y.version));
  it('names the first two files whose order by version is not their order by file name', () => {
    expect(nameOrderInversion(sorted('9_y', '10_x'))?.map((f) => f.version)).toEqual(['9', '10']);
    expect(nameOrderInversion(sorted('1_a', '2_b', '10_x'))?.map((f) => f.version)).toEqual(['2', '10']);
    // 1_a and 10_x: '0' (0x30) sorts before '_' (0x5f), so 10_x comes first by name too.
    expect(nameOrderInversion(sorted('1_a', '10_x'))?.map((f) => f.version)).toEqual(['1', '10']);
    expect(nameOrderInversion(sorted('0009_y', '0010_x', '0100_z'))).toBeNull();
    expect(nameOrderInversion(sorted('20240101000000_a', '20240101000001_b'))).toBeNull();
    expect(nameOrderInversion(sorted('1_a'))).toBeNull();
  });
  it('is a warning of the plan, not a problem: nothing is refused', () => {
    const plan = planMigrations(sorted('9_y', '10_x'), []);
    expect(plan.problems).toEqual([]);
    expect(plan.pending.map((f) => f.version)).toEqual(['9', '10']);
    expect(plan.warnings.map((w) => [w.code, w.hint])).toEqual([['migration_name_order', 'give every version 2 digits (9_y.sql → 09_y.sql): the history matches versions as numbers, so applied files keep their place']]);
  });
});

describe('planMigrations', () => {
  const a = file('0001', 'a');
  const b = file('0002', 'b');
  const c = file('0003', 'c');

  it('lists pending files in order and nothing to refuse on a fresh database', () => {
    const plan = planMigrations([a, b, c], []);
    expect(plan.problems).toEqual([]);
    expect(plan.pending.map((f) => f.version)).toEqual(['0001', '0002', '0003']);
    expect(plan.entries.map((e) => e.state)).toEqual(['pending', 'pending', 'pending']);
  });

  it('stops at --to', () => {
    expect(planMigrations([a, b, c], [applied(a)], { to: '0002' }).pending.map((f) => f.version)).toEqual(['0002']);
    expect(() => planMigrations([a, b, c], [], { to: '0009' })).toThrow(/no migration file has that version/);
  });

  it('refuses an applied migration whose file changed', () => {
    const edited = file('0001', 'a', 'select 42;');
    const plan = planMigrations([edited, b], [applied(a)]);
    expect(plan.entries[0]!.state).toBe('edited');
    expect(plan.problems.map((p) => p.code)).toEqual(['migration_edited']);
    expect(plan.problems[0]!.message).toContain('0001_a.sql');
  });

  it('refuses an applied migration whose file is gone', () => {
    const plan = planMigrations([b], [applied(a), applied(b)]);
    expect(plan.problems.map((p) => p.code)).toEqual(['migration_missing']);
    expect(plan.entries.map((e) => `${e.version}:${e.state}`)).toEqual(['0001:missing', '0002:applied']);
  });

  it('names the pending file that holds what a missing migration applied (renumbered), and notes a rename', () => {
    const moved = file('0004', 'a', a.sql); // the content of 0001_a under a new number
    const renumbered = planMigrations([moved, b], [applied(a), applied(b)]);
    expect(renumbered.problems.map((p) => p.code)).toEqual(['migration_missing']);
    expect(renumbered.problems[0]!.message).toBe('migration 0001_a.sql was applied but its file is gone: 0004_a.sql has the same content (renumbered?)');
    expect(renumbered.problems[0]!.hint).toBe('give it back its version: rename 0004_a.sql to 0001_a.sql');
    expect(planMigrations([b], [applied(a), applied(b)]).problems[0]!.hint).toBe('restore the file: applied migrations must stay in the folder');
    const renamed = planMigrations([file('0001', 'init', a.sql)], [applied(a)]);
    expect(renamed.problems).toEqual([]);
    expect(renamed.entries[0]).toMatchObject({ state: 'applied', name: 'init', note: 'applied as 0001_a.sql' });
  });

  it('reports two history rows for one version (a hand edit) instead of hiding one', () => {
    const one = file('1', 'a');
    const plan = planMigrations([one], [applied(one, { version: '1' }), applied(a, { version: '0001', name: 'other', checksum: one.checksum })]);
    expect(plan.problems.map((p) => p.code)).toEqual(['migration_dirty']);
    expect(plan.problems[0]!.message).toBe('the history has two rows for migration 1: 1_a and 0001_other');
  });

  it('status entries carry what a failed no-transaction migration recorded', () => {
    const error = { message: 'boom', sqlstate: '22012', statement: 'select 1/0', statementIndex: 2, location: 'sql/0001_a.sql:3:1', invalidIndexes: [] };
    const plan = planMigrations([a], [applied(a, { status: 'failed', error })]);
    expect(plan.entries[0]).toMatchObject({ state: 'failed', note: 'boom', error });
    expect(planMigrations([a], []).entries[0]!.error).toBeNull();
  });

  it('refuses a pending file older than the newest applied unless allowed', () => {
    const plan = planMigrations([a, b, c], [applied(a), applied(c)]);
    expect(plan.problems.map((p) => p.code)).toEqual(['migration_out_of_order']);
    const allowed = planMigrations([a, b, c], [applied(a), applied(c)], { allowOutOfOrder: true });
    expect(allowed.problems).toEqual([]);
    expect(allowed.pending.map((f) => f.version)).toEqual(['0002']);
  });

  it('refuses to go on after a failed or interrupted no-transaction migration', () => {
    for (const status of ['failed', 'running'] as const) {
      const plan = planMigrations([a, b], [applied(a, { status, error: { message: 'boom', location: 'sql/0001_a.sql:3:1' } })]);
      expect(plan.problems.map((p) => p.code)).toEqual(['migration_dirty']);
      expect(plan.problems[0]!.hint).toContain('migrate resolve 0001');
      expect(plan.entries[0]!.state).toBe('failed');
    }
  });

  it('matches history and files by numeric version (0001 == 1)', () => {
    const one = file('1', 'a');
    const plan = planMigrations([one], [applied(a, { version: '0001', checksum: one.checksum })]);
    expect(plan.problems).toEqual([]);
    expect(plan.pending).toEqual([]);
  });
});
