// What the server says while a migration runs (`raise notice`, "… does not exist, skipping")
// reaches the user as psql shows it: on stderr, per file, and in --json under each migration.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, runCli, type TestDatabase } from '../helpers/pg.js';

let db: TestDatabase;
let dir: string;

beforeEach(async () => {
  db = await freshDatabase('rg_notices');
  dir = mkdtempSync(join(tmpdir(), 'rg-notices-'));
  mkdirSync(join(dir, 'sql'));
  writeFileSync(
    join(dir, 'sql', '0001_seed.sql'),
    "create table t (id int);\ndrop table if exists nope;\ndo $$ begin raise notice 'seeded % rows', 3; raise warning 'check the seed'; end $$;\n",
  );
  writeFileSync(
    join(dir, 'sql', '0002_index.sql'),
    '-- rowguard:no-transaction\ncreate index concurrently if not exists t_id on t (id);\ncreate index concurrently if not exists t_id on t (id);\n',
  );
});

afterEach(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ DATABASE_URL: db.url });

describe('migrate up: server notices', () => {
  it('prints each on stderr with its file, a WARNING as a warning, and nothing of its own', async () => {
    const r = await runCli(['migrate', 'up'], { cwd: dir, env: env() });
    expect(r.code).toBe(0);
    const said = r.stderr.split('\n').filter((l) => /notice|warning/.test(l));
    expect(said).toEqual([
      'notice: sql/0001_seed.sql: table "nope" does not exist, skipping',
      'notice: sql/0001_seed.sql: seeded 3 rows',
      'warning: sql/0001_seed.sql: check the seed',
      'notice: sql/0002_index.sql: relation "t_id" already exists, skipping',
    ]);
    // The history table's own `if not exists` notices on a second run are not the user's.
    writeFileSync(join(dir, 'sql', '0003_more.sql'), 'create table u (id int);\n');
    const again = await runCli(['migrate', 'up'], { cwd: dir, env: env() });
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/notice|skipping/);
  });

  it('--json carries them under each applied migration; --quiet prints none', async () => {
    const r = await runCli(['--json', 'migrate', 'up'], { cwd: dir, env: env() });
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { applied: Array<{ version: string; notices?: Array<{ severity: string; message: string }> }> };
    expect(body.applied.map((m) => [m.version, m.notices])).toEqual([
      [
        '0001',
        [
          { severity: 'NOTICE', message: 'table "nope" does not exist, skipping' },
          { severity: 'NOTICE', message: 'seeded 3 rows' },
          { severity: 'WARNING', message: 'check the seed' },
        ],
      ],
      ['0002', [{ severity: 'NOTICE', message: 'relation "t_id" already exists, skipping' }]],
    ]);
    // Under --json only warnings reach stderr (the document has the rest).
    expect(r.stderr.trim()).toBe('warning: sql/0001_seed.sql: check the seed');

    writeFileSync(join(dir, 'sql', '0003_more.sql'), "do $$ begin raise notice 'quiet please'; end $$;\n");
    const quiet = await runCli(['--quiet', 'migrate', 'up'], { cwd: dir, env: env() });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  });

  it('shows what a failing migration said before its error', async () => {
    writeFileSync(join(dir, 'sql', '0003_broken.sql'), "do $$ begin raise notice 'about to divide'; end $$;\nselect 1/0;\n");
    const r = await runCli(['migrate', 'up'], { cwd: dir, env: env() });
    expect(r.code).not.toBe(0);
    const lines = r.stderr.split('\n');
    const notice = lines.indexOf('notice: sql/0003_broken.sql: about to divide');
    const error = lines.findIndex((l) => l.startsWith('error:') && l.includes('division by zero'));
    expect(notice).toBeGreaterThanOrEqual(0);
    expect(error).toBeGreaterThan(notice);
  });

  it('--targets names the database before the file', async () => {
    writeFileSync(join(dir, 'targets.txt'), db.url + '\n');
    const r = await runCli(['migrate', 'up', '--targets', 'targets.txt'], { cwd: dir });
    expect(r.code).toBe(0);
    const target = `127.0.0.1:${new URL(db.url).port}/${db.name}`;
    expect(r.stderr).toContain(`notice: ${target}: sql/0001_seed.sql: seeded 3 rows\n`);
    expect(r.stderr).toContain(`warning: ${target}: sql/0001_seed.sql: check the seed\n`);
    expect(r.stderr).not.toContain(new URL(db.url).password);
  });
});
