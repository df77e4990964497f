/**
 * `policy pull`: write `policies/` from a live database, one file per relation
 * (tables, partitioned tables, partitions, views), so that diffing the folder
 * against that database afterwards is empty.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RowguardError } from '../errors.js';
import { qualified } from '../catalog/model.js';
import { MAX_FILE_NAME_BYTES, parsePolicyFileName, policyFileName } from './files.js';
import { renderPolicyFile } from './render.js';
import type { SecurityState, TableSecurity } from './state.js';
import { makeDirs } from '../make-dirs.js';

export interface PullResult {
  written: string[];
  unchanged: string[];
  removed: string[];
  /** Relations of the database that sql/ does not create (e.g. a platform's own schemas): no file written. */
  skipped: string[];
}

/** Whether the migrations folder holds any migration. */
export function hasMigrations(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.sql'));
}

/**
 * `schema.table` as rowguard shows it (a part with a dot in double quotes), or a
 * bare `table` meaning `public.table`; also `schema.table` with a dotted part left
 * unquoted, when only one relation reads so.
 */
export function selectTables(state: SecurityState, wanted: readonly string[] | undefined): TableSecurity[] {
  const all = [...state.tables.values()].sort((a, b) => (a.qualified < b.qualified ? -1 : a.qualified > b.qualified ? 1 : 0));
  if (!wanted || wanted.length === 0) return all;
  return wanted.map((w) => {
    const exact = state.tables.get(w) ?? state.tables.get(qualified('public', w));
    if (exact) return exact;
    const plain = all.filter((t) => `${t.schema}.${t.name}` === w || (t.schema === 'public' && t.name === w));
    if (plain.length > 1) {
      throw new RowguardError('usage', `${w} names ${plain.length} tables in ${state.database}: ${plain.map((t) => t.qualified).join(', ')}`, {
        hint: 'write the part with the dot in double quotes, as listed',
      });
    }
    if (!plain[0]) {
      throw new RowguardError('usage', `no table ${w} in ${state.database}`, { hint: 'name it schema.table (a bare name means public.<name>)' });
    }
    return plain[0];
  });
}

/**
 * Write the files. With no table filter the folder becomes exactly the database:
 * files of relations that no longer exist are removed. A relation's file is always
 * written under its canonical name, replacing any other spelling of it.
 */
export function writePolicyFiles(state: SecurityState, dir: string, displayRoot: string, wanted?: readonly string[], created?: ReadonlySet<string>): PullResult {
  const selected = selectTables(state, wanted);
  // `created`: the relations sql/ creates. A file for any other fails every diff
  // ("does not exist after applying sql/"), so none is written.
  const notCreated = created ? selected.filter((t) => !created.has(t.qualified)) : [];
  if (wanted?.length && notCreated.length) {
    throw new RowguardError('usage', `${notCreated[0]!.qualified} is not created by sql/: a policies/ file for it would make every diff fail; nothing was written`, {
      hint: 'create the table in a migration in sql/ first, then pull it',
    });
  }
  const tables = notCreated.length ? selected.filter((t) => created!.has(t.qualified)) : selected;
  // Every name and text first: a name no file system takes is refused before anything is written.
  const planned = tables.map((t) => ({ t, file: policyFileName(t.schema, t.name) }));
  const tooLong = planned.find((p) => Buffer.byteLength(p.file, 'utf8') > MAX_FILE_NAME_BYTES);
  if (tooLong) {
    throw new RowguardError(
      'usage',
      `${tooLong.t.qualified}: its policies/ file name would be ${Buffer.byteLength(tooLong.file, 'utf8')} bytes, longer than a file name may be (${MAX_FILE_NAME_BYTES}); nothing was written`,
      { hint: 'rename the schema or table in a migration (dots, slashes, spaces and other punctuation take 3 bytes each in the file name), or pull the other tables with --table' },
    );
  }
  makeDirs(dir);
  const result: PullResult = { written: [], unchanged: [], removed: [], skipped: notCreated.map((t) => t.qualified) };
  const existing = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sql')) : [];
  const keep = new Set<string>();
  for (const { t, file } of planned) {
    keep.add(file);
    const path = join(dir, file);
    const text = renderPolicyFile(t);
    const shown = relative(displayRoot, path) || file;
    if (existsSync(path) && readFileSync(path, 'utf8') === text) result.unchanged.push(shown);
    else {
      writeFileSync(path, text);
      result.written.push(shown);
    }
  }
  const pulled = new Set(tables.map((t) => t.qualified));
  for (const f of existing) {
    if (keep.has(f)) continue;
    const parsed = parsePolicyFileName(f);
    const q = parsed ? qualified(parsed.schema, parsed.table) : null;
    // Another spelling of a pulled table, or (full pull only) a table that is gone.
    const stale = q !== null && (pulled.has(q) || (!wanted?.length && !state.tables.has(q)));
    if (stale) {
      rmSync(join(dir, f));
      result.removed.push(relative(displayRoot, join(dir, f)) || f);
    }
  }
  return result;
}
