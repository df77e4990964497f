/**
 * (files, history) → status and the list to apply, plus every reason to refuse.
 * Pure: unit-tested from hand-written rows.
 */
import { RowguardError } from '../errors.js';
import { compareVersions, nameOrderInversion, type MigrationFile } from './files.js';

export type HistoryStatus = 'applied' | 'failed' | 'running';

export interface HistoryRow {
  version: string;
  name: string;
  checksum: string;
  status: HistoryStatus;
  appliedAt: string;
  appliedBy: string;
  durationMs: number | null;
  /** For failed no-transaction migrations: what failed. */
  error: { message: string; sqlstate?: string; statement?: string; statementIndex?: number; location?: string; invalidIndexes?: string[] } | null;
}

export type MigrationState = 'applied' | 'pending' | 'edited' | 'missing' | 'failed';

export interface StatusEntry {
  version: string;
  name: string;
  state: MigrationState;
  file: string | null;
  appliedAt: string | null;
  appliedBy: string | null;
  durationMs: number | null;
  /** Why it is failed/edited/pending-out-of-order/renamed, in a few words. */
  note: string | null;
  /** For a failed no-transaction migration: what failed (message, sqlstate, statement, location, …), as recorded. */
  error: HistoryRow['error'];
}

export interface MigrationPlan {
  entries: StatusEntry[];
  /** Files to apply, in order (already cut at --to). */
  pending: MigrationFile[];
  /** Each a reason `up` must refuse; `verify` reports all of them. */
  problems: RowguardError[];
  /** Worth saying, not a reason to refuse (versions whose numeric order is not their name order). */
  warnings: MigrationWarning[];
}

export interface MigrationWarning {
  code: 'migration_name_order';
  message: string;
  hint: string;
  files: string[];
}

export interface PlanOptions {
  to?: string;
  allowOutOfOrder?: boolean;
}

export function planMigrations(files: readonly MigrationFile[], history: readonly HistoryRow[], opts: PlanOptions = {}): MigrationPlan {
  const byVersion = new Map<string, HistoryRow>();
  const problems: RowguardError[] = [];
  for (const h of history) {
    const key = BigInt(h.version).toString();
    const twin = byVersion.get(key);
    if (twin) {
      // Only a hand edit makes two rows for one number ('1' and '0001'): one of them hides the other.
      problems.push(
        new RowguardError('migration_dirty', `the history has two rows for migration ${key}: ${twin.version}_${twin.name} and ${h.version}_${h.name}`, {
          hint: `delete the row that is not the file's: delete from rowguard.migrations where version = '…'`,
          meta: { version: h.version, versions: [twin.version, h.version] },
        }),
      );
    }
    byVersion.set(key, h);
  }
  const fileVersions = new Set(files.map((f) => BigInt(f.version).toString()));
  const entries: StatusEntry[] = [];

  const appliedVersions = history.filter((h) => h.status === 'applied').map((h) => h.version);
  const newestApplied = appliedVersions.reduce<string | null>((max, v) => (max === null || compareVersions(v, max) > 0 ? v : max), null);

  for (const h of history) {
    if (h.status === 'failed' || h.status === 'running') {
      const what = h.status === 'running' ? 'was interrupted' : 'failed';
      const at = h.error?.location ? ` at ${h.error.location}` : '';
      problems.push(
        new RowguardError('migration_dirty', `migration ${h.version}_${h.name} ${what} outside a transaction${at}${h.error?.message ? `: ${h.error.message}` : ''}`, {
          hint: `finish or undo its statements by hand, then run: rowguard migrate resolve ${h.version} --applied (or --rolled-back)`,
          meta: { version: h.version, status: h.status },
        }),
      );
    }
  }

  const pending: MigrationFile[] = [];
  for (const f of files) {
    const h = byVersion.get(BigInt(f.version).toString());
    if (!h) {
      const outOfOrder = newestApplied !== null && compareVersions(f.version, newestApplied) < 0;
      if (outOfOrder && !opts.allowOutOfOrder) {
        problems.push(
          new RowguardError('migration_out_of_order', `${f.displayPath} is pending but older than the newest applied migration (${newestApplied})`, {
            hint: 'rename it to a newer version (rowguard migrate new), or pass --allow-out-of-order',
            meta: { version: f.version, file: f.displayPath },
          }),
        );
      }
      entries.push(entry(f, 'pending', null, outOfOrder ? 'older than the newest applied' : null));
      pending.push(f);
      continue;
    }
    if (h.status !== 'applied') {
      entries.push(entry(f, 'failed', h, h.error?.message ?? (h.status === 'running' ? 'interrupted' : 'failed')));
      continue;
    }
    if (h.checksum !== f.checksum) {
      problems.push(
        new RowguardError('migration_edited', `${f.displayPath} was changed after it was applied (checksum ${h.checksum.slice(0, 12)}… in history, ${f.checksum.slice(0, 12)}… on disk)`, {
          hint: 'applied migrations are immutable: restore the file (git checkout) and put the change in a new migration',
          meta: { version: f.version, file: f.displayPath },
        }),
      );
      entries.push(entry(f, 'edited', h, 'file differs from what was applied'));
      continue;
    }
    entries.push(entry(f, 'applied', h, h.name !== f.name || h.version !== f.version ? `applied as ${h.version}_${h.name}.sql` : null));
  }
  for (const h of history) {
    if (h.status === 'applied' && !fileVersions.has(BigInt(h.version).toString())) {
      // Renumbered after it was applied: a pending file holds exactly what was applied.
      const moved = pending.find((f) => f.checksum === h.checksum);
      problems.push(
        new RowguardError('migration_missing', `migration ${h.version}_${h.name}.sql was applied but its file is gone${moved ? `: ${moved.displayPath} has the same content (renumbered?)` : ''}`, {
          hint: moved ? `give it back its version: rename ${moved.displayPath} to ${h.version}_${moved.name}.sql` : 'restore the file: applied migrations must stay in the folder',
          meta: { version: h.version, ...(moved ? { renumberedTo: moved.displayPath } : {}) },
        }),
      );
      entries.push({ version: h.version, name: h.name, state: 'missing', file: null, appliedAt: h.appliedAt, appliedBy: h.appliedBy, durationMs: h.durationMs, note: moved ? `file is gone (renumbered to ${moved.version}?)` : 'file is gone', error: null });
    }
  }
  entries.sort((a, b) => compareVersions(a.version, b.version));

  let toApply = pending;
  if (opts.to !== undefined) {
    if (!/^\d+$/.test(opts.to)) throw new RowguardError('usage', `--to must be a migration version (digits), got "${opts.to}"`);
    const known = files.some((f) => compareVersions(f.version, opts.to!) === 0);
    if (!known) throw new RowguardError('usage', `--to ${opts.to}: no migration file has that version`);
    toApply = pending.filter((f) => compareVersions(f.version, opts.to!) <= 0);
  }
  return { entries, pending: toApply, problems, warnings: orderWarnings(files) };
}

/**
 * Versions of different widths (`9_y.sql`, `10_x.sql`) are applied here in numeric order, but in
 * name order by the Supabase CLI and by `psql -f` over a shell's *.sql: the same folder would run
 * in another order there. Padding the shorter versions with zeros makes the orders agree, and keeps
 * the history (it matches versions as numbers: 09 is the 9 that was applied).
 */
export function orderWarnings(files: readonly MigrationFile[]): MigrationWarning[] {
  const pair = nameOrderInversion(files);
  if (!pair) return [];
  const [first, second] = pair;
  const width = Math.max(...files.map((f) => f.version.length));
  const pad = (f: MigrationFile) => `${f.version.padStart(width, '0')}_${f.name}.sql`;
  const unpadded = files.filter((f) => f.version.length < width);
  return [{
    code: 'migration_name_order',
    message: `${first.displayPath} is applied before ${second.displayPath} (versions compare as numbers), but by name ${second.version}_${second.name}.sql comes first: the Supabase CLI, and psql over a shell's *.sql, apply them the other way round`,
    hint: `give every version ${width} digits (${unpadded.slice(0, 2).map((f) => `${f.version}_${f.name}.sql → ${pad(f)}`).join(', ')}${unpadded.length > 2 ? ` and ${unpadded.length - 2} more` : ''}): the history matches versions as numbers, so applied files keep their place`,
    files: [first.displayPath, second.displayPath],
  }];
}

function entry(f: MigrationFile, state: MigrationState, h: HistoryRow | null, note: string | null): StatusEntry {
  return {
    version: f.version,
    name: f.name,
    state,
    file: f.displayPath,
    appliedAt: h?.appliedAt ?? null,
    appliedBy: h?.appliedBy ?? null,
    durationMs: h?.durationMs ?? null,
    note,
    error: h?.error ?? null,
  };
}
