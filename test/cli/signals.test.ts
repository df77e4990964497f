// SIGINT / SIGTERM while `test` runs: a cancelled CI job (SIGTERM) gets what Ctrl-C gets (the
// files that finished, 143), and a second signal stops at once, naming the throwaway databases
// it may leave with the statements that drop them (it used to exit without a word).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, freshDatabase, serverUrl, type TestDatabase } from '../helpers/pg.js';
import { tempDir } from '../helpers/tmp.js';
import { withSql } from '../../cli/core/db.js';

let db: TestDatabase;
let project: string;

beforeAll(async () => {
  db = await freshDatabase('rg_signals');
  project = tempDir('rg-signals-');
  mkdirSync(join(project, 'sql'));
  mkdirSync(join(project, 'test'));
  writeFileSync(join(project, 'rowguard.config.json'), '{}');
  writeFileSync(join(project, 'sql', '0001_t.sql'), 'create table public.t (a int);\n');
  writeFileSync(join(project, 'test', 'a.test.sql'), "select plan(1);\nselect ok(true, 'quick');\nselect * from finish();\n");
  writeFileSync(join(project, 'test', 'z.test.sql'), "select plan(1);\nselect pg_sleep(60.25);\nselect ok(true, 'slow');\nselect * from finish();\n");
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

/** `rowguard test --jobs 1` until z.test.sql's pg_sleep(60.25) runs on the server; then `signals`, 30 ms apart (the second while the first one's drops run). */
async function interrupt(signals: NodeJS.Signals[], json = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, '--db', db.url, ...(json ? ['--json'] : []), 'test', '--jobs', '1'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  let exited = false;
  void closed.then(() => (exited = true));
  try {
    const sleeping = () => withSql(serverUrl(), (sql) => sql`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(60.25)%' and state = 'active' and pid <> pg_backend_pid()`).then((r) => r[0]!['n'] as number);
    for (const deadline = Date.now() + 45_000; !exited && Date.now() < deadline && (await sleeping()) === 0; ) await new Promise((r) => setTimeout(r, 50));
    expect(exited, stderr + stdout).toBe(false);
    for (const [i, signal] of signals.entries()) {
      if (i) await new Promise((r) => setTimeout(r, 30));
      child.kill(signal);
    }
    return { code: await closed, stdout, stderr };
  } finally {
    child.kill('SIGKILL');
  }
}

describe('signals during rowguard test', () => {
  it('SIGTERM (a cancelled CI job) stops the run as Ctrl-C does: the report of the files that finished, exit 143', async () => {
    const r = await interrupt(['SIGTERM']);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stdout).toContain('ok 1 - test/a.test.sql\n');
    expect(r.stdout.trimEnd().endsWith('Bail out! interrupted'), r.stdout).toBe(true);
    expect(r.stdout).toContain('ok 2 - test/z.test.sql # SKIP not run (interrupted)\n');
    const j = await interrupt(['SIGTERM'], true);
    expect(j.code, j.stderr).toBe(143);
    expect(JSON.parse(j.stdout)).toMatchObject({ interrupted: true, ok: false });
  }, 120_000);

  it('a second signal stops at once: one line (and a hint) naming every throwaway database it may leave; with --json the error document', async () => {
    for (const json of [false, true]) {
      const r = await interrupt(['SIGINT', 'SIGINT'], json);
      expect(r.code, r.stderr + r.stdout).toBe(130);
      let message: string;
      let hint: string | undefined;
      if (json) {
        const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; hint?: string; exitCode: number } };
        expect(doc.error).toMatchObject({ code: 'interrupted', exitCode: 130 });
        ({ message, hint } = doc.error);
      } else {
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines.length, r.stderr).toBeLessThanOrEqual(2);
        expect(lines[0]).toMatch(/^error: /);
        message = lines[0]!.slice('error: '.length);
        hint = lines[1]?.replace(/^hint: /, '');
      }
      expect(message).toMatch(/^interrupted by SIGINT again: stopped at once(; it may leave rowguard_\w+(, rowguard_\w+)*)?$/);
      const named = /; it may leave (.*)$/.exec(message)?.[1]?.split(', ') ?? [];
      expect(hint ?? '').toBe(named.length ? `drop ${named.length > 1 ? 'them' : 'it'} by hand: ${named.map((n) => `drop database "${n}" with (force);`).join(' ')}` : '');
      // What it named is what is left of its databases: drop them as the hint says.
      await withSql(serverUrl(), async (sql) => {
        for (const n of named) await sql.unsafe(`drop database if exists "${n}" with (force)`);
      });
    }
  }, 180_000);
});
