/**
 * libpq's password file (~/.pgpass, PGPASSFILE, passfile=): read as libpq reads
 * it, used when the URL names no password and PGPASSWORD is unset, by every
 * connection (throwaway databases on that server included), named in the hint
 * when a password is refused, and never printed. Where psql exists, the same
 * files are given to psql against the same server, so "as libpq reads it" is
 * checked against libpq itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDatabase, runCli, type CliResult, type TestDatabase } from '../helpers/pg.js';
import pg from 'pg';
import { connect, pgConnectionConfig } from '../../cli/core/db.js';
import { lookupPassword } from '../../cli/core/pgpass.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('rg-pgpass-');
mkdirSync(join(root, 'sql')); // the CLI runs below in a project without migrations
let n = 0;
/** A password file with `text`, mode 0600 unless told. */
function passFile(text: string, mode = 0o600): string {
  const f = join(root, `pass-${++n}`);
  writeFileSync(f, text);
  chmodSync(f, mode);
  return f;
}
const ENV = { PGUSER: 'alice', HOME: '/nonexistent' };
const find = (url: string, text: string, env: Record<string, string> = {}) => lookupPassword(url, { ...ENV, PGPASSFILE: passFile(text), ...env });

describe('the password file, read as libpq reads it', () => {
  it('fields, wildcards, the first matching line, comments and CRLF', () => {
    const url = 'postgres://alice@db.example.com:6543/app';
    expect(find(url, 'db.example.com:6543:app:alice:s3cret\n')).toMatchObject({ password: 's3cret', line: 1 });
    expect(find(url, '# db.example.com:6543:app:alice:commented\nother:6543:app:alice:no\n*:*:*:*:any\ndb.example.com:6543:app:alice:later\n')).toMatchObject({ password: 'any', line: 3 });
    // Shorter than 11 characters: node's pgpass package skips such a line, libpq does not.
    expect(find(url, '*:*:*:*:pw')?.password).toBe('pw');
    expect(find(url, 'db.example.com:6543:app:alice:crlf\r\n')?.password).toBe('crlf');
    expect(find(url, 'db.example.com:5432:app:alice:wrong-port\n')).toEqual({ file: expect.any(String), key: 'db.example.com:6543:app:alice' });
    // "*" is a wildcard only as a whole field.
    expect(find(url, 'db.*:6543:app:alice:x\n')?.password).toBeUndefined();
  });

  it('\\ escapes : and \\ in every field, the password included', () => {
    const url = 'postgres://al%3Ai%5Cce@h:5432/d';
    expect(find(url, 'h:5432:d:al\\:i\\\\ce:p\\:w\\\\rd:ignored\n')).toMatchObject({ password: 'p:w\\rd' });
    // An unescaped : in the user field ends it: "al" then "i\ce", no match.
    expect(find(url, 'h:5432:d:al:i\\\\ce:pw\n')?.password).toBeUndefined();
  });

  it('fills in what the URL leaves out as the driver does: localhost, 5432, PGHOST/PGPORT, the user as the database', () => {
    expect(find('postgres:///app', 'localhost:5432:app:alice:local\n')?.password).toBe('local');
    expect(find('postgres://bob@host', 'host:5432:bob:bob:db-is-user\n')?.password).toBe('db-is-user');
    expect(find('postgres:///', 'envhost:7777:alice:alice:from-env\n', { PGHOST: 'envhost', PGPORT: '7777' })?.password).toBe('from-env');
    // A colon in a host name must be escaped.
    expect(find('postgres://[::1]:5432/app', '::1:5432:app:alice:v6\n')?.password).toBeUndefined();
    expect(find('postgres://[::1]:5432/app', '\\:\\:1:5432:app:alice:v6\n')?.password).toBe('v6');
  });

  it('is not consulted when the URL has a password or PGPASSWORD is set, and a group-readable file is ignored', () => {
    expect(find('postgres://alice:given@h/app', '*:*:*:*:file\n')).toBeUndefined();
    expect(find('postgres://alice@h/app', '*:*:*:*:file\n', { PGPASSWORD: 'env' })).toBeUndefined();
    expect(lookupPassword('postgres://alice@h/app', { ...ENV, PGPASSFILE: passFile('*:*:*:*:file\n', 0o644) })).toMatchObject({ ignored: expect.stringContaining('chmod 600') });
    expect(lookupPassword('postgres://alice@h/app', { ...ENV, PGPASSFILE: root })).toMatchObject({ ignored: 'it is not a plain file' });
    expect(lookupPassword('postgres://alice@h/app', { ...ENV, PGPASSFILE: join(root, 'missing') })).toEqual({ file: join(root, 'missing'), key: 'h:5432:app:alice' });
  });

  it('passfile= in the URL wins over PGPASSFILE, which wins over ~/.pgpass', () => {
    const home = mkdtempSync(join(root, 'home-'));
    writeFileSync(join(home, '.pgpass'), '*:*:*:*:home\n', { mode: 0o600 });
    const env = { ...ENV, HOME: home };
    expect(lookupPassword('postgres://alice@h/app', env)?.password).toBe('home');
    expect(lookupPassword('postgres://alice@h/app', { ...env, PGPASSFILE: passFile('*:*:*:*:envfile\n') })?.password).toBe('envfile');
    const named = passFile('*:*:*:*:url\n');
    expect(lookupPassword(`postgres://alice@h/app?passfile=${encodeURIComponent(named)}`, { ...env, PGPASSFILE: passFile('*:*:*:*:envfile\n') })?.password).toBe('url');
  });
});

// Against the test server: a role whose password has a colon and a backslash.
const ROLE = 'rg_pgpass_user';
const PASSWORD = 'pa:ss\\w0rd-7f3c';
const ESCAPED = 'pa\\:ss\\\\w0rd-7f3c';
let db: TestDatabase;
let bare = ''; // the database URL with this role and no password
let checksPasswords = false;
const printed: string[] = [];
const cli = async (args: string[], env: Record<string, string | undefined>, cwd = root): Promise<CliResult> => {
  const r = await runCli(args, { cwd, env: { DATABASE_URL: undefined, PGPASSWORD: undefined, PGPASSFILE: undefined, HOME: root, ...env } });
  printed.push(r.stdout, r.stderr);
  return r;
};

beforeAll(async () => {
  db = await freshDatabase('rg_pgpass');
  await db.sql.unsafe(`do $$ begin
      if not exists (select from pg_roles where rolname = '${ROLE}') then create role ${ROLE} login createdb; end if;
    end $$;
    alter role ${ROLE} password '${PASSWORD.replace(/'/g, "''")}';
    grant all on database ${db.name} to ${ROLE};`);
  // The checks below need a server that asks TCP clients for a password (the embedded one does).
  const [row] = await db.sql`select count(*)::int as trusting from pg_hba_file_rules where type like 'host%' and auth_method = 'trust'`;
  checksPasswords = row!['trusting'] === 0;
  const u = new URL(db.url);
  u.username = ROLE;
  u.password = '';
  bare = u.toString();
});

afterAll(async () => {
  await db?.drop();
  // Never printed, in any form.
  for (const text of printed) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(ESCAPED);
    expect(text).not.toContain(encodeURIComponent(PASSWORD));
  }
});

const key = () => {
  const u = new URL(bare);
  return `${u.hostname}:${u.port || 5432}:${db.name}:${ROLE}`;
};

describe('a URL without a password, on a server that asks for one', () => {
  it('connects with the password file\'s password, and says where a refused one came from', async (ctx) => {
    if (!checksPasswords) ctx.skip(); // the server trusts TCP clients: no password is ever asked
    const good = passFile(`# rowguard test\n${key()}:${ESCAPED}\n`);
    const ok = await cli(['migrate', 'status', '--json', '--db', bare], { PGPASSFILE: good });
    expect(ok.code, ok.stderr).toBe(0);

    const wrong = passFile(`other:1:x:y:z\n${key()}:not-it\n`);
    const refused = await cli(['migrate', 'status', '--db', bare], { PGPASSFILE: wrong });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`the password came from ${wrong} line 2`);

    const none = await cli(['migrate', 'status', '--db', bare], { PGPASSFILE: join(root, 'missing') });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain(`add a line ${key()}:<password> to ${join(root, 'missing')}`);

    const open = passFile(`${key()}:${ESCAPED}\n`, 0o644);
    const ignored = await cli(['migrate', 'status', '--db', bare], { PGPASSFILE: open });
    expect(ignored.code).toBe(3);
    expect(ignored.stderr).toContain(`${open} was not read: group or others have access to it`);
    // One line of error and one of hint, no stack.
    for (const r of [refused, none, ignored]) expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  });

  it('PGPASSWORD and a password in the URL come first, as in libpq', async (ctx) => {
    if (!checksPasswords) ctx.skip();
    const wrongFile = passFile(`${key()}:not-it\n`);
    const env = await cli(['migrate', 'status', '--json', '--db', bare], { PGPASSFILE: wrongFile, PGPASSWORD: PASSWORD });
    expect(env.code, env.stderr).toBe(0);
    const u = new URL(bare);
    u.password = encodeURIComponent(PASSWORD);
    const inUrl = await cli(['migrate', 'status', '--json', '--db', u.toString()], { PGPASSFILE: wrongFile });
    expect(inUrl.code, inUrl.stderr).toBe(0);
  });

  it('a throwaway database on that server gets the password of the URL it came from', async (ctx) => {
    if (!checksPasswords) ctx.skip();
    // The line names only the database of the URL; the shadow database has a name made up at run time.
    const project = mkdtempSync(join(root, 'project-'));
    mkdirSync(join(project, 'sql'));
    writeFileSync(join(project, 'sql', '0001_t.sql'), 'create table public.t (id int primary key);\n');
    const file = passFile(`${key()}:${ESCAPED}\n`);
    const r = await cli(['lint', '--shadow', '--json', '--db', bare], { PGPASSFILE: file }, project);
    expect(r.stderr).not.toMatch(/could not connect|password/);
    expect([0, 1]).toContain(r.code); // findings or none: the shadow database was built and read
    expect(JSON.parse(r.stdout)).toHaveProperty('findings');
  });

  it('connect() and node-postgres, with passfile= in the URL (not sent to the server as a setting)', async (ctx) => {
    if (!checksPasswords) ctx.skip();
    const u = new URL(bare);
    u.searchParams.set('passfile', passFile(`${key()}:${ESCAPED}\n`));
    const sql = connect(u.toString());
    try {
      const [row] = await sql`select current_user as who`;
      expect(row!['who']).toBe(ROLE);
    } finally {
      await sql.end({ timeout: 5 });
    }
    // node-postgres (codegen's driver) reads the same file the same way, not through its own pgpass.
    const client = new pg.Client(await pgConnectionConfig(u.toString()));
    await client.connect();
    try {
      expect((await client.query('select current_user as who')).rows[0].who).toBe(ROLE);
    } finally {
      await client.end();
    }
  });
});

const psql = (() => {
  const r = spawnSync('psql', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'psql' : null;
})();

describe.skipIf(!psql)('the same files through psql (libpq itself)', () => {
  it('psql connects exactly when rowguard finds the right password', async (ctx) => {
    if (!checksPasswords) ctx.skip();
    const k = key();
    const [host, port] = k.split(':');
    const files = [
      `${k}:${ESCAPED}\n`,
      `*:*:*:*:${ESCAPED}\n`,
      `# ${k}:${ESCAPED}\n`,
      `${k}:wrong\n*:*:*:*:${ESCAPED}\n`,
      `${host}:${port}:*:${ROLE}:${ESCAPED}\r\n`,
      `${host}:*:${db.name}:*:${ESCAPED}\n`,
      `${host}:${port}:${db.name}:${ROLE}:pa:ss\\w0rd-7f3c\n`, // unescaped: the password ends at the ":"
      `${host}:${port}:${db.name}:${ROLE}:${ESCAPED}:trailing\n`,
      `${host}:${Number(port) + 1}:${db.name}:${ROLE}:${ESCAPED}\n`,
      `${host}\\:${port}:${db.name}:${ROLE}:${ESCAPED}\n`,
    ];
    const disagreements: string[] = [];
    const connected: boolean[] = [];
    for (const text of files) {
      const file = passFile(text);
      const ours = lookupPassword(bare, { HOME: root, PGPASSFILE: file })?.password === PASSWORD;
      const theirs = spawnSync('psql', ['-w', '-X', '-qAt', '-d', bare.replace(/\?.*$/, ''), '-c', 'select 1'], {
        env: { PATH: process.env['PATH'], HOME: root, PGPASSFILE: file, PGSSLMODE: 'disable' },
        encoding: 'utf8',
      }).status === 0;
      connected.push(theirs);
      if (ours !== theirs) disagreements.push(`${JSON.stringify(text)}: rowguard ${ours ? 'finds' : 'does not find'} the password, psql ${theirs ? 'connects' : 'does not'}`);
    }
    expect(disagreements).toEqual([]);
    // psql did reach the server: some files let it in, some did not.
    expect(connected.filter(Boolean).length).toBe(5);
  });
});
