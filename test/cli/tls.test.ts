/**
 * TLS as psql reads it from the URL (sslmode, sslrootcert, sslcert, sslkey,
 * sslpassword, ssl_min/max_protocol_version), against a real Postgres 17 with
 * ssl = on: its own embedded server, certificates made here by openssl.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, serverUrl, type CliResult } from '../helpers/pg.js';
import pg from 'pg';
import { connect, pgConnectionConfig } from '../../cli/core/db.js';
import { freePort } from '../../cli/core/provision/embedded.js';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const root = mkdtempSync(join(tmpdir(), 'rg-tls-'));
chmodSync(root, 0o755);
const certs = join(root, 'certs');
const PASSPHRASE = 'sesame-tls-passphrase-0451';
const printed: string[] = [];
let url = ''; // postgres://…@127.0.0.1:<port>/postgres, the server's certificate names only "localhost"

const file = (name: string) => join(certs, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
const cli = async (args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> => {
  const r = await runCli(args, { cwd: opts.cwd ?? root, env: { DATABASE_URL: undefined, ...opts.env } });
  printed.push(r.stdout, r.stderr);
  return r;
};
const withoutParam = (base: string, name: string) => {
  const u = new URL(base);
  u.searchParams.delete(name);
  return u.toString();
};
const withParams = (base: string, params: Record<string, string>) => {
  const u = new URL(base);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
};
/** What the server says about this session's TLS. */
async function session(u: string): Promise<{ ssl: boolean; client_dn: string | null }> {
  const sql = connect(u);
  try {
    const [row] = await sql<{ ssl: boolean; client_dn: string | null }[]>`select ssl, client_dn from pg_stat_ssl where pid = pg_backend_pid()`;
    return row!;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

describe.skipIf(!hasOpenssl)('TLS parameters of the database URL', () => {
  beforeAll(async () => {
    mkdirSync(certs);
    const days = ['-days', '30'];
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', ...days, '-subj', '/CN=rowguard test CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    writeFileSync(file('san.cnf'), 'subjectAltName=DNS:localhost\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', ...days, '-extfile', 'san.cnf');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=rowguard-client');
    openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', ...days);
    openssl('pkey', '-in', 'client.key', '-aes256', '-passout', `pass:${PASSPHRASE}`, '-out', 'client-enc.key');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', ...days, '-subj', '/CN=another CA');

    const port = await freePort();
    writeFileSync(join(root, 'rowguard.config.json'), JSON.stringify({ embedded: { port } }));
    mkdirSync(join(root, 'sql'));
    const start = await cli(['db', 'start']);
    expect(start.code, start.stderr).toBe(0);
    // Without the sslmode=disable the embedded server's URL carries: this one is given TLS below.
    url = withoutParam((await cli(['db', 'url'])).stdout.trim(), 'sslmode');
    // The server's files go into its data directory, owned by the user it runs as (postgres, when run as root).
    const dataDir = join(root, '.rowguard', 'pgdata');
    const { uid, gid } = statSync(dataDir);
    for (const name of ['server.crt', 'server.key', 'ca.pem']) {
      const to = join(dataDir, name);
      writeFileSync(to, readFileSync(file(name)), { mode: 0o600 });
      chownSync(to, uid, gid);
    }
    const sql = connect(withParams(url, { sslmode: 'disable' }));
    try {
      await sql.unsafe(`alter system set ssl = on`);
      await sql.unsafe(`alter system set ssl_ca_file = 'ca.pem'`); // ask clients for a certificate signed by the CA
      await sql.unsafe(`select pg_reload_conf()`);
    } finally {
      await sql.end();
    }
  }, 120_000);

  afterAll(async () => {
    if (hasOpenssl) await cli(['db', 'stop']);
    rmSync(root, { recursive: true, force: true });
  });

  it('reads sslmode as libpq does: TLS by default where the server offers it, none with disable', async () => {
    expect(await session(url)).toEqual({ ssl: true, client_dn: null });
    expect((await session(withParams(url, { sslmode: 'disable' }))).ssl).toBe(false);
    expect((await session(withParams(url, { sslmode: 'allow' }))).ssl).toBe(true);
    expect((await session(withParams(url, { sslmode: 'require' }))).ssl).toBe(true); // require does not verify
  });

  it('verify-ca checks the chain against sslrootcert; verify-full the host name too, also for an IP address', async () => {
    const ca = file('ca.pem');
    expect((await session(withParams(url, { sslmode: 'verify-ca', sslrootcert: ca }))).ssl).toBe(true);
    const byName = url.replace('127.0.0.1', 'localhost');
    expect((await session(withParams(byName, { sslmode: 'verify-full', sslrootcert: ca }))).ssl).toBe(true);
    // The certificate names localhost only: connecting to 127.0.0.1 must fail verify-full.
    const ip = await cli(['--db', withParams(url, { sslmode: 'verify-full', sslrootcert: ca }), 'migrate', 'status']);
    expect(ip.code).toBe(3);
    expect(ip.stderr).toMatch(/^error: could not connect to 127\.0\.0\.1:\d+\/postgres: .*127\.0\.0\.1/m);
    expect(ip.stderr).toContain('sslmode=verify-ca');
    // No CA given: the platform's CAs do not know ours.
    const noCa = await cli(['--db', withParams(byName, { sslmode: 'verify-full' }), 'migrate', 'status']);
    expect(noCa.code).toBe(3);
    expect(noCa.stderr).toContain('sslrootcert=<file>');
    // require with a root CA file verifies the chain (libpq: as verify-ca).
    const wrongCa = await cli(['--db', withParams(url, { sslmode: 'require', sslrootcert: file('other.pem') }), 'migrate', 'status']);
    expect(wrongCa.code).toBe(3);
    expect(wrongCa.stderr).toMatch(/certificate/);
    for (const r of [ip, noCa, wrongCa]) expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(2); // error + hint, no stack
  });

  it("reads libpq's PGSSL* variables where the URL is silent; the URL's own parameter wins; the embedded server's URL is not touched", async () => {
    const ca = file('ca.pem');
    // verify-full from the environment: the certificate names localhost only, so 127.0.0.1 fails.
    const strict = { PGSSLMODE: 'verify-full', PGSSLROOTCERT: ca };
    const ip = await cli(['--db', url, 'migrate', 'status'], { env: strict });
    expect(ip.code, ip.stderr).toBe(3);
    expect(ip.stderr).toContain('sslmode=verify-ca');
    expect((await cli(['--db', url.replace('127.0.0.1', 'localhost'), 'migrate', 'status'], { env: strict })).code).toBe(0);
    // The URL says verify-ca: it wins over PGSSLMODE, and PGSSLROOTCERT still gives the CA.
    expect((await cli(['--db', withParams(url, { sslmode: 'verify-ca' }), 'migrate', 'status'], { env: strict })).code).toBe(0);
    // A client certificate from the environment reaches the server.
    Object.assign(process.env, { PGSSLCERT: file('client.crt'), PGSSLKEY: file('client.key') });
    try {
      expect(await session(withParams(url, { sslmode: 'require' }))).toEqual({ ssl: true, client_dn: '/CN=rowguard-client' });
    } finally {
      delete process.env['PGSSLCERT'];
      delete process.env['PGSSLKEY'];
    }
    // Refused, naming the variable: a bad value, and a parameter the driver cannot honour.
    const bogus = await cli(['--db', url, 'migrate', 'status'], { env: { PGSSLMODE: 'bogus' } });
    expect([bogus.code, bogus.stderr.split('\n')[0]]).toEqual([2, 'error: PGSSLMODE has an invalid sslmode "bogus"']);
    const crl = await cli(['--db', url, 'migrate', 'status'], { env: { PGSSLCRL: ca } });
    expect([crl.code, crl.stderr]).toEqual([2, "error: PGSSLCRL sets sslcrl, a libpq parameter rowguard's driver does not support\nhint: unset PGSSLCRL for rowguard\n"]);
    // Values that ask nothing of a driver without GSS or channel binding pass; a demand does not.
    expect((await cli(['--db', url, 'migrate', 'status'], { env: { PGGSSENCMODE: 'disable', PGCHANNELBINDING: 'prefer' } })).code).toBe(0);
    expect((await cli(['--db', url, 'migrate', 'status'], { env: { PGCHANNELBINDING: 'require' } })).code).toBe(2);
    // The embedded server (its URL says sslmode=disable) is not held to a PGSSLMODE meant for another.
    const embedded = await cli(['migrate', 'status'], { env: strict });
    expect(embedded.code, embedded.stderr).toBe(0);
  });

  it('presents a client certificate (sslcert, sslkey), decrypting the key with sslpassword', async () => {
    const plain = await session(withParams(url, { sslmode: 'require', sslcert: file('client.crt'), sslkey: file('client.key') }));
    expect(plain).toEqual({ ssl: true, client_dn: '/CN=rowguard-client' });
    const encrypted = await session(withParams(url, { sslmode: 'require', sslcert: file('client.crt'), sslkey: file('client-enc.key'), sslpassword: PASSPHRASE }));
    expect(encrypted.client_dn).toBe('/CN=rowguard-client');
  });

  it('refuses what it cannot honour before connecting, exit 2, one line and a hint, no passphrase printed', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ sslmode: 'bogus' }, /--db has an invalid sslmode "bogus"/],
      [{ sslmode: 'require', sslrootcert: 'system' }, /sslrootcert=system with sslmode=require/],
      [{ sslcrl: file('ca.pem') }, /sslcrl, a libpq parameter rowguard's driver does not support/],
      [{ sslrootcert: join(certs, 'missing.pem') }, /cannot read sslrootcert .*missing\.pem \(ENOENT\)/],
      [{ sslrootcert: file('san.cnf') }, /holds no PEM certificate/],
      [{ sslcert: file('client.crt') }, /sslcert without sslkey/],
      [{ sslcert: file('client.crt'), sslkey: file('other.key') }, /sslkey does not belong to sslcert/],
      [{ sslcert: file('client.crt'), sslkey: file('client-enc.key'), sslpassword: 'not-the-' + PASSPHRASE }, /sslkey cannot be decrypted/],
      [{ ssl_min_protocol_version: 'TLSv1.3', ssl_max_protocol_version: 'TLSv1.2' }, /ssl_min_protocol_version TLSv1\.3 above ssl_max_protocol_version TLSv1\.2/],
      [{ ssl_min_protocol_version: 'SSLv3' }, /invalid ssl_min_protocol_version "SSLv3"/],
    ];
    for (const [params, message] of cases) {
      const r = await cli(['--db', withParams(url, params), 'migrate', 'status']);
      expect(r.code, JSON.stringify(params)).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/\nhint: |^error: [^\n]*\n$/);
    }
    const json = await cli(['--json', '--db', withParams(url, { sslmode: 'verify-everything' }), 'migrate', 'status']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout || json.stderr).error).toMatchObject({ code: 'usage' });
  });

  it('a server without TLS and sslmode=require: exit 3, says so, and prefer (the default) connects', async () => {
    const shared = serverUrl(); // the run's server has ssl off
    const r = await cli(['--db', withParams(shared, { sslmode: 'require' }), 'migrate', 'status']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('the server does not accept TLS, but the URL requires it');
    expect((await session(shared)).ssl).toBe(false);
  });

  it('node-postgres (codegen\'s driver) gets the same TLS choice: prefer asks the server first', async () => {
    const viaPg = async (u: string) => {
      const client = new pg.Client(await pgConnectionConfig(u));
      await client.connect();
      try {
        return (await client.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows[0].ssl as boolean;
      } finally {
        await client.end();
      }
    };
    expect(await viaPg(url)).toBe(true);
    expect(await viaPg(serverUrl())).toBe(false); // no TLS on the run's server: prefer falls back as libpq does
    expect(await viaPg(withParams(url, { sslmode: 'disable' }))).toBe(false);
    expect(await viaPg(withParams(url.replace('127.0.0.1', 'localhost'), { sslmode: 'verify-full', sslrootcert: file('ca.pem') }))).toBe(true);
    await expect(viaPg(withParams(url, { sslmode: 'verify-full', sslrootcert: file('ca.pem') }))).rejects.toThrow(/127\.0\.0\.1/);
    // End to end: codegen (pg) and the throwaway database it builds (postgres.js), sslmode=require
    // as psql reads it (pg alone takes require for verify-full and refuses the self-signed chain).
    const r = await cli(['--db', withParams(url, { sslmode: 'require' }), '--json', 'codegen']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: 'generated/db.ts' });
  }, 60_000);

  it('never prints the key passphrase', () => {
    expect(printed.join('\n')).not.toContain(PASSPHRASE);
  });
});
