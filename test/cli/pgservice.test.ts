/**
 * libpq's connection service file (pg_service.conf): `service=` in a URL or
 * PGSERVICE names a service whose keywords fill in what the URL leaves out,
 * looked up as libpq looks it up, its errors as libpq's (file and line, never a
 * value). Where psql exists, the same files are given to psql against the same
 * server, so "as libpq reads it" is checked against libpq itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDatabase, runCli, type CliResult, type TestDatabase } from '../helpers/pg.js';
import { withSql } from '../../cli/core/db.js';
import { isRowguardError } from '../../cli/core/errors.js';
import { validateUrl } from '../../cli/core/urls.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('rg-pgservice-');
mkdirSync(join(root, 'sql'));
let n = 0;
function file(text: string): string {
  const f = join(root, `service-${++n}.conf`);
  writeFileSync(f, text);
  return f;
}
const NO_HOME = { HOME: '/nonexistent', PGSYSCONFDIR: '/nonexistent' };
const resolve = (url: string, env: Record<string, string> = {}) => validateUrl(url, '--db', { ...NO_HOME, ...env });
const failure = (url: string, env: Record<string, string> = {}): string => {
  try {
    resolve(url, env);
  } catch (err) {
    if (isRowguardError(err)) return `${err.message} | ${err.hint ?? ''}`;
    throw err;
  }
  throw new Error('expected an error');
};

describe('the service file, read as libpq reads it', () => {
  it('fills in what the URL leaves out; the URL wins; other keywords become its parameters', () => {
    const f = file('# ours\n[app]\nhost=db.example.com\nport=6543\nuser=al ice\npassword=p@ss:w/rd\ndbname=my app\nsslmode=require\napplication_name=nightly\n');
    const url = new URL(resolve('postgres://?service=app', { PGSERVICEFILE: f }));
    expect([url.hostname, url.port, decodeURIComponent(url.username), decodeURIComponent(url.password), decodeURIComponent(url.pathname)]).toEqual(['db.example.com', '6543', 'al ice', 'p@ss:w/rd', '/my app']);
    expect(Object.fromEntries(url.searchParams)).toEqual({ sslmode: 'require', application_name: 'nightly' });
    const own = new URL(resolve('postgres://bob@other:5433/theirs?service=app&sslmode=disable', { PGSERVICEFILE: f }));
    expect([own.hostname, own.port, own.username, own.pathname, own.searchParams.get('sslmode')]).toEqual(['other', '5433', 'bob', '/theirs', 'disable']);
    // Without a service the URL comes back as given.
    expect(resolve('postgres://u@h/d', { PGSERVICEFILE: f })).toBe('postgres://u@h/d');
  });

  it('PGSERVICE when the URL names none; servicefile= over PGSERVICEFILE over ~/.pg_service.conf; then the system file', () => {
    const home = mkdtempSync(join(root, 'home-'));
    writeFileSync(join(home, '.pg_service.conf'), '[app]\nhost=from-home\n[only-home]\nhost=home-only\n');
    const sys = mkdtempSync(join(root, 'sys-'));
    writeFileSync(join(sys, 'pg_service.conf'), '[app]\nhost=from-system\n[only-system]\nhost=system-only\n');
    const env = { HOME: home, PGSYSCONFDIR: sys };
    const host = (url: string, extra: Record<string, string> = {}) => new URL(validateUrl(url, '--db', { ...env, ...extra })).hostname;
    expect(host('postgres://', { PGSERVICE: 'app' })).toBe('from-home');
    expect(host('postgres://?service=only-home', { PGSERVICE: 'app' })).toBe('home-only');
    expect(host('postgres://?service=only-system')).toBe('system-only');
    const named = file('[app]\nhost=from-env-file\n');
    expect(host('postgres://?service=app', { PGSERVICEFILE: named })).toBe('from-env-file');
    expect(host(`postgres://?service=app&servicefile=${encodeURIComponent(file('[app]\nhost=from-url-file\n'))}`, { PGSERVICEFILE: named })).toBe('from-url-file');
    // Not in the user's file: the system file is read.
    expect(host('postgres://?service=only-system', { PGSERVICEFILE: named })).toBe('system-only');
  });

  it('comments, blank lines, CRLF, the first value of a key, and the service ending at the next [', () => {
    const f = file('\r\n# c\r\n[other]\r\nhost=not-this\r\n[app]\r\n   host=first\r\nhost=second\r\n\r\n#port=1\r\n[next]\r\nport=7777\r\n');
    const url = new URL(resolve('postgres://?service=app', { PGSERVICEFILE: f }));
    expect([url.hostname, url.port]).toEqual(['first', '']);
  });

  it('refuses what libpq refuses, naming the file and line and never a value', () => {
    expect(failure('postgres://?service=app', { PGSERVICEFILE: file('[app]\nhost = db\n') })).toMatch(/service-\d+\.conf:2: syntax error in service file \("host " is not a libpq connection keyword\) \| libpq allows no spaces around =/);
    expect(failure('postgres://?service=app', { PGSERVICEFILE: file('[app]\npassword=hunter2-secret\nhots=db\n') })).toMatch(/:3: syntax error in service file \("hots" is not a libpq/);
    expect(failure('postgres://?service=app', { PGSERVICEFILE: file('[app]\nhunter2-secret\n') })).toMatch(/:2: syntax error in service file \(a line of service "app" has no "="\)/);
    expect(failure('postgres://?service=app', { PGSERVICEFILE: file('[app]\nservice=other\n') })).toMatch(/:2: a service cannot name another service/);
    expect(failure('postgres://?service=nope', { PGSERVICEFILE: file('[app]\nhost=h\n') })).toMatch(/--db \(service=nope\): definition of service "nope" not found \| looked in .*service-\d+\.conf/);
    expect(failure('postgres://', { PGSERVICE: 'nope' })).toMatch(/^PGSERVICE=nope: definition of service "nope" not found \| no service file/);
    expect(failure('postgres://?service=app', { PGSERVICEFILE: join(root, 'missing.conf') })).toMatch(/service file .*missing\.conf not found \| PGSERVICEFILE names it/);
    // A keyword the driver cannot honour is refused as it is in a URL, and the message says where it came from.
    expect(failure('postgres://?service=app', { PGSERVICEFILE: file('[app]\nhost=h\ngssencmode=require\n') })).toMatch(/--db with service "app" \(.*\) sets gssencmode, a libpq parameter rowguard's driver does not support \| remove gssencmode from the URL or the service/);
    expect(failure('postgres://?service=app', { PGSERVICEFILE: file('[app]\nhost=/var/run/postgresql\n') })).toMatch(/sets host to a socket directory/);
    for (const text of [failure('postgres://?service=app', { PGSERVICEFILE: file('[app]\npassword=hunter2-secret\nbad line\n') })]) expect(text).not.toContain('hunter2');
  });
});

// Against the test server: a role with a password, reached only through a service.
const ROLE = 'rg_service_user';
const PASSWORD = 'svc-pa:ss@w0rd-41d2';
let db: TestDatabase;
let server: URL;
let checksPasswords = false;
const printed: string[] = [];
const cli = async (args: string[], env: Record<string, string | undefined>): Promise<CliResult> => {
  const r = await runCli(args, { cwd: root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined, PGPASSFILE: undefined, PGSERVICE: undefined, PGSERVICEFILE: undefined, HOME: root, PGSYSCONFDIR: '/nonexistent', ...env } });
  printed.push(r.stdout, r.stderr);
  return r;
};
const serviceText = (extra = '') => `[rg]\nhost=${server.hostname}\nport=${server.port}\nuser=${ROLE}\npassword=${PASSWORD}\ndbname=${db.name}\nsslmode=disable\n${extra}`;

beforeAll(async () => {
  db = await freshDatabase('rg_pgservice');
  await db.sql.unsafe(`do $$ begin
      if not exists (select from pg_roles where rolname = '${ROLE}') then create role ${ROLE} login; end if;
    end $$;
    alter role ${ROLE} password '${PASSWORD}';
    grant all on database ${db.name} to ${ROLE};`);
  const [row] = await db.sql`select count(*)::int as trusting from pg_hba_file_rules where type like 'host%' and auth_method = 'trust'`;
  checksPasswords = row!['trusting'] === 0;
  server = new URL(db.url);
});

afterAll(async () => {
  await db?.drop();
  for (const text of printed) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(encodeURIComponent(PASSWORD));
  }
});

describe('a command pointed at a service', () => {
  it('--db with service=, and DATABASE_URL with PGSERVICE, connect as the service says', async () => {
    const f = file(serviceText());
    const byFlag = await cli(['migrate', 'status', '--json', '--db', 'postgres://?service=rg'], { PGSERVICEFILE: f });
    expect(byFlag.code, byFlag.stderr).toBe(0);
    const who = await withSql(resolve('postgres://?service=rg', { PGSERVICEFILE: f }), (sql) => sql`select current_user as u, current_database() as d`);
    expect(who[0]).toEqual({ u: ROLE, d: db.name });
    const byEnv = await cli(['migrate', 'status', '--json'], { DATABASE_URL: 'postgres://', PGSERVICE: 'rg', PGSERVICEFILE: f });
    expect(byEnv.code, byEnv.stderr).toBe(0);
  });

  it('a wrong password from the service is refused (exit 3), an unknown service is a usage error (exit 2), neither prints the password', async (ctx) => {
    const missing = await cli(['migrate', 'status', '--db', 'postgres://?service=other'], { PGSERVICEFILE: file(serviceText()) });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('definition of service "other" not found');
    if (!checksPasswords) ctx.skip();
    const wrong = await cli(['migrate', 'status', '--db', 'postgres://?service=rg'], { PGSERVICEFILE: file(serviceText().replace(`password=${PASSWORD}`, `password=${PASSWORD}x`)) });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  });
});

const psql = (() => {
  const r = spawnSync('psql', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'psql' : null;
})();

describe.skipIf(!psql)('the same files through psql (libpq itself)', () => {
  it('psql connects exactly when rowguard does', async () => {
    const sys = mkdtempSync(join(root, 'sysconf-'));
    const cases: Array<{ text: string; url?: string; system?: string; service?: string }> = [
      { text: serviceText() },
      { text: `# comment\r\n${serviceText().replace(/\n/g, '\r\n')}` },
      { text: serviceText().replace('host=', 'host =') },
      { text: serviceText().replace(`port=${server.port}`, `port=${Number(server.port) + 1}\nport=${server.port}`) },
      { text: serviceText().replace(`port=${server.port}`, `port=${server.port}\nport=${Number(server.port) + 1}`) },
      { text: serviceText(), url: `postgres:///nonexistent_db_41?service=rg` },
      { text: serviceText(), url: `postgres://${server.hostname}:${Number(server.port) + 1}/?service=rg` },
      { text: serviceText().replace('[rg]', '[other]') },
      { text: '[other]\nhost=nowhere\n', system: serviceText() },
      { text: serviceText('[next]\nport=1\n').replace('[rg]\n', '[rg]\n').replace(`dbname=${db.name}\n`, '') + `[rg2]\ndbname=${db.name}\n` },
      { text: serviceText('frobnicate=1\n') },
      { text: serviceText(), service: 'env' },
    ];
    const disagreements: string[] = [];
    const connected: boolean[] = [];
    for (const c of cases) {
      const f = file(c.text);
      writeFileSync(join(sys, 'pg_service.conf'), c.system ?? '');
      const url = c.url ?? (c.service === 'env' ? 'postgres://' : 'postgres://?service=rg');
      const env = { HOME: root, PGSERVICEFILE: f, PGSYSCONFDIR: sys, ...(c.service === 'env' ? { PGSERVICE: 'rg' } : {}) };
      let ours = false;
      try {
        ours = await withSql(validateUrl(url, '--db', env), async (sql) => (await sql`select 1 as one`)[0]!['one'] === 1);
      } catch {
        ours = false;
      }
      const theirs = spawnSync('psql', ['-w', '-X', '-qAt', '-d', url, '-c', 'select 1'], { env: { PATH: process.env['PATH'], ...env }, encoding: 'utf8' }).status === 0;
      connected.push(theirs);
      if (ours !== theirs) disagreements.push(`${JSON.stringify(c)}: rowguard ${ours ? 'connects' : 'does not'}, psql ${theirs ? 'connects' : 'does not'}`);
    }
    expect(disagreements).toEqual([]);
    expect(connected.filter(Boolean).length).toBe(5);
  });
});
