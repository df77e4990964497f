/**
 * How secrets reach `rowguard auth`: standard input (--stdin), or a prompt on
 * a real terminal (a pseudo-terminal from Python's pty module) that does not
 * echo what is typed. And the token pair minted for a grant.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, freshDatabase, migrate, runCli, type TestDatabase } from '../helpers/pg.js';
import { readSecret } from '../../cli/core/auth/secret-input.js';
import { tokensForGrant } from '../../cli/core/auth/tokens.js';
import { signingKeyFromBytes, verifyKeysFromBytes } from '../../cli/core/jwt/keys.js';
import { verifyToken } from '../../cli/core/jwt/verify.js';
import { loadConfig } from '../../cli/core/config.js';
import { RowguardError } from '../../cli/core/errors.js';

const sink = { write: () => true };

describe('readSecret', () => {
  it('--stdin: the whole input minus one trailing newline (CRLF too); inner and leading spaces are kept', async () => {
    const read = (text: string) => readSecret({ stdin: Readable.from([Buffer.from(text)]), promptTo: sink, fromStdin: true }, 'password');
    expect(await read(' pass word \n')).toBe(' pass word ');
    expect(await read('pw\r\n')).toBe('pw');
    expect(await read('pw\n\n')).toBe('pw\n');
  });

  it('an empty secret, or no terminal without --stdin, is a usage error', async () => {
    await expect(readSecret({ stdin: Readable.from([Buffer.from('\n')]), promptTo: sink, fromStdin: true }, 'password')).rejects.toMatchObject({ code: 'usage' });
    const err = await readSecret({ stdin: Readable.from([]), promptTo: sink, fromStdin: false }, 'refresh token').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RowguardError);
    expect((err as RowguardError).message).toMatch(/--stdin/);
  });

  it('a secret that is not UTF-8 or holds NUL is a usage error naming it, not silently altered or a server encoding error', async () => {
    const read = (bytes: Buffer) => readSecret({ stdin: Readable.from([bytes]), promptTo: sink, fromStdin: true }, 'password').catch((e: unknown) => e);
    // 0xff and 0xfe would both have become U+FFFD: two passwords, one hash.
    expect(await read(Buffer.from([0x70, 0x77, 0xff, 0x0a]))).toMatchObject({ code: 'usage', message: 'the password on standard input is not UTF-8 text' });
    expect(await read(Buffer.from('pass\0word\n'))).toMatchObject({ code: 'usage', message: 'the password contains a NUL character, which PostgreSQL text cannot hold' });
    expect(await read(Buffer.from('pässwörd\n'))).toBe('pässwörd');
  });
});

describe('tokensForGrant', () => {
  it('mints a token PostgREST accepts, with the grant\'s session id, amr and aal, and reports both expiries', async () => {
    const secret = Buffer.from(randomBytes(32).toString('base64url'));
    const config = loadConfig({ cwd: '/nonexistent-rowguard-dir' });
    const grant = {
      userId: '6f0c3a0e-9d7b-4b7e-8d55-3f1f2b6d7a10',
      sessionId: '0b8e1f52-0d1f-4f65-9d1c-5b4f6d3c2a19',
      refreshToken: 'r'.repeat(43),
      refreshTokenExpiresAt: new Date('2031-01-02T00:00:00Z'),
      aal: 'aal1' as const,
      amr: [{ method: 'magiclink', timestamp: 1_900_000_000 }],
      user: { id: '6f0c3a0e-9d7b-4b7e-8d55-3f1f2b6d7a10', aud: 'authenticated', role: 'authenticated', email: 'ann@example.test', phone: null, raw_app_meta_data: { provider: 'email' }, raw_user_meta_data: {}, is_anonymous: false },
      issuedAt: new Date(),
    };
    const now = 1_900_000_100;
    const pair = await tokensForGrant(grant, signingKeyFromBytes(secret, 'test'), config, now);
    expect(pair).toMatchObject({ token_type: 'bearer', expires_in: config.jwt.expiresIn, expires_at: now + config.jwt.expiresIn, refresh_token: grant.refreshToken, refresh_token_expires_at: '2031-01-02T00:00:00.000Z', session_id: grant.sessionId });
    const v = await verifyToken(pair.access_token, verifyKeysFromBytes(secret, 'test'), { now: now + 1, audience: null, roleClaimKey: config.api.roleClaimKey, anonRole: config.api.anonRole });
    expect(v.role).toBe('authenticated');
    expect(v.claims).toMatchObject({ sub: grant.userId, session_id: grant.sessionId, aal: 'aal1', amr: grant.amr, email: 'ann@example.test', phone: '' });
  });
});

const hasPython = spawnSync('python3', ['-c', 'import pty']).status === 0;

// Runs argv in a pseudo-terminal, types $SECRET once the prompt shows, returns everything the terminal showed.
const PTY_DRIVER = String.raw`
import os, pty, sys, select, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
def pump(until, limit):
    global out
    end = time.time() + limit
    while time.time() < end and (until is None or until not in out):
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            out += chunk
pump(b'password: ', 20)
os.write(fd, os.environ['SECRET'].encode() + os.environ.get('ENTER', '\r').encode())
pump(None, 20)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

describe('the no-echo prompt on a terminal', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    if (!hasPython) return;
    db = await freshDatabase('rg_auth_tty');
    await migrate(db.url);
    expect((await runCli(['--db', db.url, 'auth', 'sign-up', 'tty@example.test', '--stdin'], { input: 'typed at a terminal' })).code).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it.skipIf(!hasPython)('asks on the terminal, does not echo the password, and signs in', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', SECRET: 'typed at a terminal', ROWGUARD_JWT_SECRET: randomBytes(32).toString('base64url') };
    delete env['DATABASE_URL'];
    const child = spawn('python3', ['-c', PTY_DRIVER, process.execPath, CLI, '--db', db.url, 'auth', 'sign-in', 'tty@example.test'], { env });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, screen).toBe(0);
    expect(screen).toContain('password: ');
    expect(screen).toMatch(/access_token: eyJ/);
    expect(screen).not.toContain('typed at a terminal');
  });

  it.skipIf(!hasPython)('Ctrl-C at the prompt is an interrupt (exit 130), Ctrl-D a cancelled answer (exit 2); neither echoes what was typed', async () => {
    for (const [key, exit, says] of [['\u0003', 130, /interrupted at the password prompt: nothing was done/], ['\u0004', 2, /cancelled/]] as const) {
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', SECRET: 'half-typed', ENTER: key, ROWGUARD_JWT_SECRET: randomBytes(32).toString('base64url') };
      delete env['DATABASE_URL'];
      const child = spawn('python3', ['-c', PTY_DRIVER, process.execPath, CLI, '--db', db.url, 'auth', 'sign-in', 'tty@example.test'], { env });
      let screen = '';
      child.stdout.on('data', (d: Buffer) => (screen += d.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, screen).toBe(exit);
      expect(screen).toMatch(says);
      expect(screen).not.toContain('half-typed');
    }
  });
});
