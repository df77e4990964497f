// The CLI surface: help, exit codes, errors without stack traces or secrets, --json, colour rules.
import { describe, expect, it, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runCli, serverUrl } from '../helpers/pg.js';
import { freePort } from '../../cli/core/provision/embedded.js';
import { dockerEndpoint } from '../../cli/core/provision/docker.js';

const dir = mkdtempSync(join(tmpdir(), 'rg-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the built CLI', () => {
  it('is executable, so `npx rowguard` runs it on a fresh clone (npm links the root bin before prepare builds it)', () => {
    expect(statSync(CLI).mode & 0o111).toBe(0o111);
  });
});

describe('help and exit codes', () => {
  it('--help lists commands, global flags and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const s of ['migrate', 'db', '--db <url>', '--json', '--no-color', '--quiet', 'Exit codes:', '3  the database could not be reached']) expect(r.stdout).toContain(s);
    // --config is found as git finds its repository (README "Configuration"), not only in the current folder.
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('--config <file> config file (default: the nearest rowguard.config.json from the current folder up)');
  });

  it('--version prints the package version', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('every sub-command documents the exit codes', async () => {
    const r = await runCli(['migrate', 'up', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--dry-run');
    expect(r.stdout).toContain('Exit codes:');
  });

  it('a reader that goes away (`rowguard … | head`) ends the output quietly: exit 0, no stack trace', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [CLI, 'lint', '--list', '--format', 'markdown'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    child.stdout.destroy(); // closed before the CLI writes a byte: its first write gets EPIPE
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('lint --help names every --format it takes: markdown is for --list, and refused without it (exit 2)', async () => {
    const help = await runCli(['lint', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('--format <format> text | json | sarif | github (annotations); markdown with --list');
    const r = await runCli(['lint', '--no-catalog', '--format', 'markdown'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: --format markdown only goes with --list\n');
  });

  it('an unknown flag or command is a usage error (exit 2)', async () => {
    expect((await runCli(['migrate', 'up', '--bogus'])).code).toBe(2);
    expect((await runCli(['frobnicate'])).code).toBe(2);
  });

  it('a command group without its sub-command (`rowguard jwt`) prints the help and is a usage error: exit 2, with --json the error document', async () => {
    const r = await runCli(['jwt']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: rowguard jwt');
    for (const args of [['--json', 'jwt'], ['--json']]) {
      const j = await runCli(args);
      expect(j.code).toBe(2);
      expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'usage', message: 'missing command: name one of the sub-commands', exitCode: 2 });
    }
    expect((await runCli(['jwt', '--help'])).code).toBe(0);
  });

  it('with --json, a usage error commander finds is the JSON error document on stdout too', async () => {
    for (const args of [['--json', 'lint', '--level', 'bogus'], ['--json', 'frobnicate'], ['migrate', 'up', '--bogus', '--json']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe('');
      const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; exitCode: number } };
      expect(doc.error).toMatchObject({ code: 'usage', exitCode: 2 });
      expect(doc.error.message).not.toMatch(/^error:/);
    }
    expect(JSON.parse((await runCli(['--json', 'lint', '--level', 'bogus'])).stdout).error.message).toContain("'bogus' is invalid");
  });
});

describe('files named on the command line', () => {
  it('an output path that cannot be written is a usage error naming it, not an internal error', async () => {
    for (const [target, code] of [[join(dir, 'no-such-folder', 'report.txt'), 'ENOENT'], [dir, 'EISDIR']] as const) {
      const r = await runCli(['lint', '--no-catalog', '-o', target], { cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`error: cannot open ${target} (${code})\nhint: ${code === 'ENOENT' ? 'the file or its folder does not exist' : 'that is a folder: name a file'}\n`);
      const j = await runCli(['--json', 'lint', '--no-catalog', '-o', target], { cwd: dir });
      expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'io', exitCode: 2 });
    }
  });
});

describe('database URLs', () => {
  it('a database name is percent-decoded from the URL, as libpq (psql) does: /my%20app is "my app"', async () => {
    const { withSql, dropDatabase } = await import('../../cli/core/db.js');
    const { withDatabase } = await import('../../cli/core/urls.js');
    const name = `rg url ${process.pid}/x`;
    await withSql(serverUrl(), (sql) => sql.unsafe(`create database "${name}"`));
    try {
      const url = withDatabase(serverUrl(), name);
      expect(url).toContain('/rg%20url%20');
      const r = await runCli(['--db', url, '--json', 'migrate', 'status'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
    } finally {
      await dropDatabase(serverUrl(), name);
    }
  });
});

describe('database errors', () => {
  it('an unreachable server exits 3 naming host, port and database, never the password', async () => {
    const port = await freePort();
    const r = await runCli(['--db', `postgres://alice:s3cr3t-pa55@127.0.0.1:${port}/appdb`, 'migrate', 'status'], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`127.0.0.1:${port}/appdb`);
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-pa55');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a host name that does not resolve exits 3 with a hint, never the password', async () => {
    const r = await runCli(['--db', 'postgres://alice:s3cr3t-pa55@no-such-host.invalid:5432/appdb', 'migrate', 'status'], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('could not connect to no-such-host.invalid:5432/appdb');
    expect(r.stderr).toMatch(/\nhint: no address found for the host name/);
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-pa55');
  });

  it('a port that answers but is not PostgreSQL fails with a hint, for every command (not only migrate)', async () => {
    const { createServer } = await import('node:http');
    const api = createServer((_q, res) => res.end('{}'));
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const port = (api.address() as { port: number }).port;
    try {
      const t0 = Date.now();
      const r = await runCli(['--db', `postgres://alice:s3cr3t-pa55@127.0.0.1:${port}/appdb`, 'lint'], { cwd: dir, timeoutMs: 40_000 });
      expect(r.code, r.stderr).toBe(3);
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(r.stderr).toContain(`could not connect to 127.0.0.1:${port}/appdb: the server hung up before logging in`);
      expect(r.stderr).toContain('answers HTTP, not PostgreSQL');
      expect(r.stderr + r.stdout).not.toContain('s3cr3t-pa55');
    } finally {
      api.closeAllConnections();
      await new Promise((r) => api.close(r));
    }
  }, 60_000);

  it('a bad --db URL is a usage error', async () => {
    const r = await runCli(['--db', 'mysql://x@y/z', 'migrate', 'status'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--db must start with postgres://');
  });

  it('a mistyped URL is a usage error that never prints its password, wherever the URL is given', async () => {
    const pw = 'pw-MARKER-91c4e7a2d5';
    const malformed = [
      [`postgres:alice:${pw}@127.0.0.1/appdb`, 'the // is missing'], // read as a path: the password became the "database name"
      [`postgres://alice:${pw}%zz@127.0.0.1:1/appdb`, 'malformed %-escape'], // the driver's URIError
    ] as const;
    for (const [url, says] of malformed) {
      for (const { args, env } of [
        { args: ['--db', url, 'migrate', 'status'], env: {} },
        { args: ['lint'], env: { DATABASE_URL: url } },
        { args: ['gate', '--against', url], env: {} },
        { args: ['policy', 'diff', '--from', url.replace(/^postgres:\/\//, 'postgres:')], env: {} },
        { args: ['--json', 'policy', 'show', '--from', url], env: {} },
      ]) {
        const r = await runCli(args, { cwd: dir, env });
        const what = `${args.join(' ')} ${JSON.stringify(env)}`;
        expect(r.code, what + r.stderr + r.stdout).toBe(2);
        expect(r.stderr + r.stdout, what).not.toContain(pw);
        expect(r.stderr + r.stdout, what).not.toMatch(/internal error|URIError|URI malformed/);
        if (args[0] === '--json') expect(JSON.parse(r.stdout).error.code).toBe('usage');
        else if (!args.includes('diff')) expect(r.stderr, what).toContain(says);
      }
    }
  });

  it('--json errors are one JSON document with code, message and exit code', async () => {
    const port = await freePort();
    const r = await runCli(['--json', '--db', `postgres://u:pw-secret@127.0.0.1:${port}/x`, 'migrate', 'status'], { cwd: dir });
    expect(r.code).toBe(3);
    const body = JSON.parse(r.stdout);
    expect(body.error).toMatchObject({ code: 'db_unreachable', exitCode: 3 });
    expect(r.stdout).not.toContain('pw-secret');
  });
});

describe('configuration', () => {
  it('an empty --config is a usage error, not a silent fall-back to the nearest config file', async () => {
    const cdir = mkdtempSync(join(tmpdir(), 'rg-cfg-empty-'));
    writeFileSync(join(cdir, 'rowguard.config.json'), JSON.stringify({ sql: 'elsewhere' }));
    for (const value of ['', ' ']) {
      const r = await runCli(['--config', value, 'migrate', 'status'], { cwd: cdir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^error: --config was given an empty path\nhint: /);
    }
    rmSync(cdir, { recursive: true, force: true });
  });

  it('reports every problem of a config file at once (exit 2)', async () => {
    const cdir = mkdtempSync(join(tmpdir(), 'rg-cfg-'));
    writeFileSync(join(cdir, 'rowguard.config.json'), JSON.stringify({ embedded: { port: 'x' }, migrations: { lockTimeout: 'soon' }, jwt: { secret: 'pasted-secret-value' }, nonsense: 1 }));
    const r = await runCli(['migrate', 'status'], { cwd: cdir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('4 problems');
    expect(r.stderr).toContain('embedded.port');
    expect(r.stderr).toContain('migrations.lockTimeout');
    expect(r.stderr).toContain('jwt.secret: secrets are never read from the config file');
    expect(r.stderr).toContain('nonsense: unknown setting');
    // A top-level setting is named as it is written in the file: `sql`, not `.sql`.
    writeFileSync(join(cdir, 'rowguard.config.json'), JSON.stringify({ sql: 1, embedded: { port: 1 } }));
    const top = await runCli(['migrate', 'status'], { cwd: cdir });
    expect(top.code).toBe(2);
    expect(top.stderr).toContain('2 problems: sql: must be a non-empty string; embedded.port: must be a whole number');
    expect(r.stderr).not.toContain('pasted-secret-value');
    rmSync(cdir, { recursive: true, force: true });
  });

  it('a config file that is not JSON is named with line and column, never quoting its text (a pasted secret, control characters)', async () => {
    const cdir = mkdtempSync(join(tmpdir(), 'rg-cfg-json-'));
    const cfg = join(cdir, 'rowguard.config.json');
    const cases: Array<[string, string]> = [
      ['{\n  "jwt": { "secret": pasted-SECRET-9d2f71c0 }\n}\n', `${cfg}: not valid JSON (Unexpected token 'p' at line 2, column 22)`],
      ['{\n  "sql": "db",\n}\n', `${cfg}: not valid JSON (Expected double-quoted property name at line 3, column 1)`],
      ['\x1b[2J{', `${cfg}: not valid JSON (Unexpected token '\\u001b' at line 1, column 1)`],
      // V8 names no position for these: the line and column are jsonc-parser's (columns count characters).
      ['{\n  "sql": "db",\n  "test": ', `${cfg}: not valid JSON (Unexpected end of JSON input at line 3, column 11)`],
      ['{\n  "lint": { "ignore": [{ "reason": "caf\u00e9 \u{1F642}", "rule": x }] }\n}\n', `${cfg}: not valid JSON (Unexpected token 'x' at line 2, column 54)`],
      ['{ "cookie": { "secure": tru } }', `${cfg}: not valid JSON (Unexpected token ' ' at line 1, column 25)`], // at the word that is not true
    ];
    for (const [text, message] of cases) {
      writeFileSync(cfg, text);
      const r = await runCli(['--json', 'migrate', 'status'], { cwd: cdir });
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout).error.message).toBe(message);
      expect(r.stdout).not.toContain('pasted-SE');
    }
    writeFileSync(cfg, '\uFEFF{"sql": "db"}'); // a byte order mark from a Windows editor is not an error
    expect((await runCli(['--json', 'migrate', 'new', 'x'], { cwd: cdir })).code).toBe(0);
    rmSync(cfg);
    mkdirSync(cfg);
    expect((await runCli(['migrate', 'status'], { cwd: cdir })).stderr).toBe(`error: cannot read the config file ${cfg} (EISDIR)\n`);
    rmSync(cdir, { recursive: true, force: true });
  });

  it('folders are relative to the config file, so rowguard works from any repository', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'rg-repo-'));
    mkdirSync(join(repo, 'db', 'migrations'), { recursive: true });
    writeFileSync(join(repo, 'db', 'migrations', '0001_x.sql'), 'select 1;');
    writeFileSync(join(repo, 'rowguard.config.json'), JSON.stringify({ sql: 'db/migrations' }));
    const r = await runCli(['--json', 'migrate', 'new', 'second'], { cwd: repo });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).file).toBe('db/migrations/0002_second.sql');
    const other = mkdtempSync(join(tmpdir(), 'rg-other-'));
    const viaFlag = await runCli(['--json', '--config', join(repo, 'rowguard.config.json'), 'migrate', 'new', 'third'], { cwd: other });
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    expect(JSON.parse(viaFlag.stdout).path).toBe(join(repo, 'db', 'migrations', '0003_third.sql'));
    rmSync(repo, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });
});

describe('project root', () => {
  it('a command run below the project finds its rowguard.config.json upwards, as git finds its repository', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'rg-up-'));
    mkdirSync(join(repo, 'db', 'migrations', 'notes'), { recursive: true });
    writeFileSync(join(repo, 'db', 'migrations', '0001_x.sql'), 'select 1;');
    writeFileSync(join(repo, 'rowguard.config.json'), JSON.stringify({ sql: 'db/migrations' }));
    const r = await runCli(['--json', 'migrate', 'new', 'second'], { cwd: join(repo, 'db', 'migrations', 'notes') });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).path).toBe(join(repo, 'db', 'migrations', '0002_second.sql'));
    rmSync(repo, { recursive: true, force: true });
  });

  it('without a config and without sql/ here, migrate says where it looked', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'rg-nosql-'));
    const r = await runCli(['migrate', 'status', '--db', 'postgres://nobody@127.0.0.1:1/none'], { cwd: empty });
    expect(r.stderr).toContain("warning: no migrations folder at sql: run rowguard in the project's folder");
    expect(r.code).toBe(3);
    rmSync(empty, { recursive: true, force: true });
  });
});

describe('interrupts', () => {
  it('Ctrl-C drops the throwaway databases the command made and exits 130 with one line (with --json, the error document)', async () => {
    const { withSql } = await import('../../cli/core/db.js');
    const { spawn } = await import('node:child_process');
    const f = await cutOffFixture(60); // its admin database is never taken away here
    // Which databases, and who is connected to them: what a failure needs to be understood.
    const left = () => withSql(serverUrl(), async (sql) => JSON.stringify(await sql`select d.datname, (select count(*)::int from pg_stat_activity a where a.datname = d.datname) as sessions from pg_database d where d.datname = any(${await f.owned()}::text[])`));
    try {
      for (const args of [['policy', 'diff', '--from', 'migrations'], ['--json', 'codegen', '--verify']]) {
        const child = spawn(process.execPath, [CLI, '--db', f.url, ...args], { cwd: f.project, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
        for (let i = 0; i < 200 && (await f.owned()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
        expect((await f.owned()).length, args.join(' ')).toBe(1);
        child.kill('SIGINT');
        expect(await closed, args.join(' ') + stderr).toBe(130);
        if ((await f.owned()).length !== 0) expect.fail(`${args.join(' ')} left ${await left()}; it said: ${stdout}${stderr}`);
        if (args[0] === '--json') {
          expect(stderr).toBe('');
          expect(JSON.parse(stdout).error).toEqual({ code: 'interrupted', message: 'interrupted by SIGINT: 1 throwaway database dropped', exitCode: 130 });
        } else {
          expect(stderr).toBe('error: interrupted by SIGINT: 1 throwaway database dropped\n');
        }
      }
    } finally {
      await f.cleanup();
    }
  }, 60_000);

});

/**
 * A role that may create databases, connecting through an admin database of its own (the one
 * it runs CREATE and DROP DATABASE from), and a project whose one migration is slow, so a test
 * can take that database away from it while a command runs. `owned()`: the databases it made.
 */
async function cutOffFixture(sleep: number) {
  const { withSql } = await import('../../cli/core/db.js');
  const { randomBytes } = await import('node:crypto');
  const suffix = randomBytes(4).toString('hex');
  const role = `rg_left_${suffix}`;
  const admin = `rg_left_admin_${suffix}`;
  const url = new URL(serverUrl());
  url.username = role;
  url.password = 'pw-left';
  url.pathname = `/${admin}`;
  await withSql(serverUrl(), async (sql) => {
    await sql.unsafe(`create role ${role} login createdb password 'pw-left'`);
    await sql.unsafe(`create database ${admin}`);
    await sql.unsafe(`revoke connect on database ${admin} from public; grant connect on database ${admin} to ${role};`).simple();
  });
  const project = mkdtempSync(join(tmpdir(), 'rg-left-'));
  mkdirSync(join(project, 'sql'));
  writeFileSync(join(project, 'rowguard.config.json'), '{}');
  writeFileSync(join(project, 'sql', '0001_slow.sql'), `select pg_sleep(${sleep});\n`);
  const owned = () => withSql(serverUrl(), async (sql) => (await sql`select d.datname from pg_database d join pg_roles r on r.oid = d.datdba where r.rolname = ${role} order by 1`).map((r) => r['datname'] as string));
  return {
    admin,
    url: url.href,
    project,
    owned,
    /** Wait until the command has made its throwaway database, then take the admin database away. */
    async cutOff(): Promise<string[]> {
      for (let i = 0; i < 200 && (await owned()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      await withSql(serverUrl(), (sql) => sql.unsafe(`revoke connect on database ${admin} from ${role}`));
      return owned();
    },
    /** What the server says when it is refused the admin database. */
    refused: `could not connect to [^ ]+/${admin}: permission denied for database "${admin}"`,
    async cleanup() {
      await withSql(serverUrl(), async (sql) => {
        for (const name of await owned()) await sql.unsafe(`drop database "${name}" with (force)`);
        await sql.unsafe(`drop database if exists ${admin} with (force)`);
        await sql.unsafe(`drop role ${role}`);
      });
      rmSync(project, { recursive: true, force: true });
    },
  };
}

describe('throwaway databases it cannot drop', () => {
  it('are named once the command is done, with the reason and the statement that drops them', async () => {
    const f = await cutOffFixture(2);
    try {
      const run = runCli(['--db', f.url, 'lint', '--shadow', '--json'], { cwd: f.project });
      const made = await f.cutOff();
      const r = await run;
      expect(made).toHaveLength(1);
      expect(await f.owned()).toEqual(made);
      expect(r.code, r.stderr).toBe(0); // the lint itself ran
      expect(JSON.parse(r.stdout)).toHaveProperty('findings');
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^warning: throwaway database ${made[0]} could not be dropped \\(${f.refused}\\); drop it by hand: drop database "${made[0]}" with \\(force\\);$`)),
      ]);
    } finally {
      await f.cleanup();
    }
  }, 60_000);

  it('on Ctrl-C too: one line naming it, and a hint with the statement', async () => {
    const { spawn } = await import('node:child_process');
    const f = await cutOffFixture(60);
    try {
      const child = spawn(process.execPath, [CLI, '--db', f.url, 'policy', 'diff', '--from', 'migrations'], { cwd: f.project, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      const [made] = await f.cutOff();
      expect(made).toBeDefined();
      child.kill('SIGINT');
      expect(await closed, stderr).toBe(130);
      expect(await f.owned()).toEqual([made]);
      expect(stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^error: interrupted by SIGINT: could not drop ${made} \\(${f.refused}\\)$`)),
        `hint: drop it by hand: drop database "${made}" with (force);`,
      ]);
    } finally {
      await f.cleanup();
    }
  }, 60_000);
});

describe('docker engine', () => {
  const hasDocker = !!dockerEndpoint(process.env);
  it.skipIf(hasDocker)('without a Docker engine, --engine docker fails with one clear line (exit 3)', async () => {
    const { resolveServer } = await import('../../cli/core/server.js');
    const { parseConfig } = await import('../../cli/core/config.js');
    const err = await resolveServer({ config: parseConfig({}, null, dir), engine: 'docker', env: {} }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'docker_unavailable', exitCode: 3 });
    expect((err as Error).message).toContain('no Docker engine found');
  });
  it.skipIf(!hasDocker)('with a Docker engine, --engine docker gives a working PostgreSQL', async () => {
    const { startDockerPostgres } = await import('../../cli/core/provision/docker.js');
    const c = await startDockerPostgres(process.env);
    try {
      const { withSql } = await import('../../cli/core/db.js');
      expect(await withSql(c.url, async (sql) => (await sql`select 1 as x`)[0]!['x'])).toBe(1);
    } finally {
      await c.stop();
    }
  }, 300_000);
});

describe('output', () => {
  it('never colours when piped or with NO_COLOR', async () => {
    const r = await runCli(['--help'], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(r.stdout).not.toMatch(/\x1b\[/);
    const port = await freePort();
    const e = await runCli(['--db', `postgres://u@127.0.0.1:${port}/x`, 'migrate', 'status'], { env: { NO_COLOR: undefined } });
    expect(e.stderr).not.toMatch(/\x1b\[/);
  });
});

describe('a command left waiting for an answer that cannot come', () => {
  // What happens when the driver loses a socket without settling its query (porsager/postgres#1208):
  // nothing is left to run, and Node would end with exit 13 and a warning about an unsettled
  // await. The preload stands in for that driver: the command's promise never settles, and it
  // holds a throwaway database by then.
  it('exits 3 with one line and a hint naming the throwaway databases it left (with --json, the error document) — not exit 13', async () => {
    const { REPO_ROOT } = await import('../helpers/pg.js');
    const preload = join(dir, 'never-settles.mjs');
    writeFileSync(
      preload,
      `import { Command } from ${JSON.stringify(join(REPO_ROOT, 'node_modules', 'commander', 'esm.mjs'))};
import { live } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'cli', 'core', 'leftovers.js'))};
Command.prototype.parseAsync = function () {
  live.push({ serverUrl: 'postgres://127.0.0.1:1/postgres', name: 'rowguard_test_left', created: Promise.resolve() });
  return new Promise(() => {});
};
`,
    );
    const { spawn } = await import('node:child_process');
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', preload, CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const hint = 'is the server still running? run the command again; it left rowguard_test_left: drop it by hand: drop database "rowguard_test_left" with (force);';
    const r = await run(['migrate', 'status']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`error: lost the database connection: the command was left waiting for an answer that cannot come\nhint: ${hint}\n`);
    expect(r.stdout).toBe('');
    const j = await run(['--json', 'migrate', 'status']);
    expect(j.code).toBe(3);
    expect(j.stderr).toBe('');
    expect(JSON.parse(j.stdout)).toEqual({ error: { code: 'db_unreachable', message: 'lost the database connection: the command was left waiting for an answer that cannot come', hint, exitCode: 3 } });
  });
});

describe('a session the server ended, on a path that did not say so itself', () => {
  // Commands with their own connections (matrix's pool, a test file's session) or that wrap a
  // database error as SQL reported pg_terminate_backend as a failed statement ("terminating
  // connection due to administrator command [57P01]", exit 1: audit verify and matrix under
  // pg_terminate_backend), and a reset socket as an internal error (codegen: "internal error: read
  // ECONNRESET"). The preload rejects the command with such an error: the driver's 57P01 (an error
  // shaped as postgres.js's PostgresError, as the server's FATAL reaches it only at some moments),
  // and a real ECONNRESET from a socket the other side resets.
  it('is "lost the database connection", exit 3, with --json the error document', async () => {
    const { REPO_ROOT } = await import('../helpers/pg.js');
    const preload = (name: string, body: string) => {
      const file = join(dir, name);
      writeFileSync(file, `import { Command } from ${JSON.stringify(join(REPO_ROOT, 'node_modules', 'commander', 'esm.mjs'))};\nCommand.prototype.parseAsync = async function () {\n${body}\n};\n`);
      return file;
    };
    const terminated = preload(
      'terminated.mjs',
      `throw Object.assign(new Error('terminating connection due to administrator command'), { name: 'PostgresError', code: '57P01', severity: 'FATAL' });`,
    );
    const reset = preload(
      'reset.mjs',
      `const net = await import('node:net');
  const server = net.createServer((s) => s.resetAndDestroy());
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    await new Promise((resolve, reject) => {
      const c = net.connect(server.address().port, '127.0.0.1');
      c.on('connect', () => c.write('x'));
      c.on('error', reject);
      c.on('close', resolve);
    });
  } finally {
    server.close();
  }
  throw new Error('the socket was not reset');`,
    );
    const { spawn } = await import('node:child_process');
    const run = (file: string, args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', file, CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const hint = 'the server ended the session (stopped, restarted, or pg_terminate_backend): a transaction it had open was rolled back';
    const r = await run(terminated, ['matrix']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toBe(`error: lost the database connection: terminating connection due to administrator command [57P01]\nhint: ${hint}\n`);
    const j = await run(terminated, ['--json', 'matrix']);
    expect(j.code, j.stderr).toBe(3);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'db_unreachable', message: 'lost the database connection: terminating connection due to administrator command', hint, pg: { sqlstate: '57P01' }, exitCode: 3 });
    const c = await run(reset, ['codegen']);
    expect(c.code, c.stderr).toBe(3);
    expect(c.stderr).toBe('error: lost the database connection (ECONNRESET)\n');
  });
});
