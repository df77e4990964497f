/**
 * `rowguard auth …` end to end, as a user runs it (node dist/cli/main.js, run
 * `npm run build` first), on a real Postgres with the project's migrations:
 * the whole story from sign-up to erasure, the same failure for every cause,
 * and the refusal of secrets on the command line.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, runCli, type CliResult, type TestDatabase } from '../helpers/pg.js';

let db: TestDatabase;
const JWT_SECRET = randomBytes(32).toString('base64url');
/** Every secret the story typed or received, for the final scan. */
const secrets = new Set<string>();

function auth(args: string[], input?: string): Promise<CliResult> {
  return runCli(['--db', db.url, ...args], { input, env: { ROWGUARD_JWT_SECRET: JWT_SECRET, DATABASE_URL: undefined } });
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_at: number;
  expires_in: number;
  refresh_token_expires_at: string | null;
  session_id: string;
  user_id: string;
  amr: Array<{ method: string }>;
  aal: string;
}

function tokensOf(r: CliResult): Tokens {
  expect(r.code, r.stderr).toBe(0);
  const t = JSON.parse(r.stdout) as Tokens;
  secrets.add(t.refresh_token);
  secrets.add(t.access_token);
  return t;
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function visibleDeployments(accessToken: string): Promise<string[]> {
  const r = await auth(['--json', 'as', '--token-file', '-', '-c', 'select name from public.deployments order by name'], accessToken);
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout) as { results: Array<{ rows: Array<{ name: string }> }> };
  return doc.results.at(-1)!.rows.map((x) => x.name);
}

beforeAll(async () => {
  db = await freshDatabase('rg_auth_cli');
  await migrate(db.url);
});

afterAll(async () => {
  await db?.drop();
});

describe('the whole story', () => {
  const ANN_PASSWORD = 'ann: correct horse battery staple';
  const BOB_PASSWORD = 'bob: tr0ub4dor&3 is worse';
  let annId: string;
  let first: Tokens;

  it('sign-up reads the password from stdin and stores only its bcrypt hash', async () => {
    secrets.add(ANN_PASSWORD);
    secrets.add(BOB_PASSWORD);
    const r = await auth(['--json', 'auth', 'sign-up', 'Ann@Example.test', '--stdin'], ANN_PASSWORD + '\n');
    expect(r.code, r.stderr).toBe(0);
    annId = (JSON.parse(r.stdout) as { user_id: string }).user_id;
    expect(JSON.parse(r.stdout)).toEqual({ user_id: annId, email: 'ann@example.test' });
    expect((await auth(['auth', 'sign-up', 'bob@example.test', '--stdin'], BOB_PASSWORD)).code).toBe(0);
    const [u] = await db.sql<{ p: string }[]>`select encrypted_password as p from auth.users where id = ${annId}::uuid`;
    expect(u!.p).toMatch(/^\$2a\$10\$/);
    const bob = (await db.sql<{ id: string }[]>`select id::text from auth.users where email = 'bob@example.test'`)[0]!.id;
    await db.sql`insert into public.deployments (user_id, name) values
      (${annId}::uuid, 'ann-deploy-1'), (${annId}::uuid, 'ann-deploy-2'), (${bob}::uuid, 'bob-deploy-1')`;
  });

  it('sign-in prints an access token (GoTrue claims with session_id, amr, aal) and a refresh token; `as --token` sees only own rows', async () => {
    first = tokensOf(await auth(['--json', 'auth', 'sign-in', 'ann@example.test', '--stdin'], ANN_PASSWORD));
    const claims = claimsOf(first.access_token);
    expect(claims).toMatchObject({ sub: annId, email: 'ann@example.test', role: 'authenticated', aud: 'authenticated', aal: 'aal1', session_id: first.session_id, is_anonymous: false });
    expect(claims['amr']).toEqual([{ method: 'password', timestamp: expect.any(Number) }]);
    expect(first.expires_at).toBe(claims['exp']);
    expect(first.expires_in).toBe(3600);
    expect(first.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await visibleDeployments(first.access_token)).toEqual(['ann-deploy-1', 'ann-deploy-2']);

    const text = await auth(['auth', 'sign-in', 'ann@example.test', '--stdin'], ANN_PASSWORD);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^access_token: eyJ[^\n]+\nexpires_at: [^\n]+\nrefresh_token: [A-Za-z0-9_-]{43}\n/);
    secrets.add(/refresh_token: (\S+)/.exec(text.stdout)![1]!);
  });

  let second: Tokens;
  it('refresh rotates: a new refresh token in the same session, a new access token for it', async () => {
    second = tokensOf(await auth(['--json', 'auth', 'refresh', '--stdin'], first.refresh_token));
    expect(second.session_id).toBe(first.session_id);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(claimsOf(second.access_token)['session_id']).toBe(first.session_id);
    expect(await visibleDeployments(second.access_token)).toEqual(['ann-deploy-1', 'ann-deploy-2']);
  });

  it('reuse of the old refresh token fails and kills the session (reuse interval 0 here)', async () => {
    await db.sql`update auth_flow.settings set refresh_reuse_interval = interval '0'`;
    const reuse = await auth(['auth', 'refresh', '--stdin'], first.refresh_token);
    expect(reuse.code).toBe(1);
    expect(reuse.stderr).toBe('error: refresh failed: invalid refresh token\n');
    const child = await auth(['auth', 'refresh', '--stdin'], second.refresh_token);
    expect(child.code).toBe(1);
    expect(child.stderr).toBe(reuse.stderr);
    const [s] = await db.sql<{ ended: boolean }[]>`select not_after <= now() as ended from auth.sessions where id = ${first.session_id}::uuid`;
    expect(s!.ended).toBe(true);
  });

  it('a magic link works once and then never again; an expired one fails the same way', async () => {
    const issued = await auth(['--json', 'auth', 'magic-link', 'ann@example.test']);
    expect(issued.code, issued.stderr).toBe(0);
    const { token } = JSON.parse(issued.stdout) as { token: string };
    secrets.add(token);
    const used = tokensOf(await auth(['--json', 'auth', 'verify', '--stdin'], token));
    expect(used.amr[0]!.method).toBe('magiclink');
    expect(claimsOf(used.access_token)['amr']).toEqual([{ method: 'magiclink', timestamp: expect.any(Number) }]);
    expect(await visibleDeployments(used.access_token)).toEqual(['ann-deploy-1', 'ann-deploy-2']);
    const again = await auth(['auth', 'verify', '--stdin'], token);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('error: verification failed: invalid or expired magic link\n');

    const old = await auth(['--json', 'auth', 'magic-link', 'ann@example.test']);
    const oldToken = (JSON.parse(old.stdout) as { token: string }).token;
    secrets.add(oldToken);
    // Age the link past its hour (the row's clock is GoTrue's UTC `timestamp`).
    await db.sql`update auth.one_time_tokens set created_at = created_at - interval '61 minutes'`;
    const expired = await auth(['auth', 'verify', '--stdin'], oldToken);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toBe(again.stderr);
    const wrong = await auth(['auth', 'verify', '--stdin'], 'x'.repeat(43));
    expect([wrong.code, wrong.stdout, wrong.stderr]).toEqual([1, '', again.stderr]);
  });

  it('a second link inside magic_link_min_interval is refused exactly as an unknown address is (the hint names both causes)', async () => {
    const first = await auth(['--json', 'auth', 'magic-link', 'bob@example.test']);
    expect(first.code, first.stderr).toBe(0);
    secrets.add((JSON.parse(first.stdout) as { token: string }).token);
    const soon = await auth(['auth', 'magic-link', 'bob@example.test']);
    expect(soon.code).toBe(1);
    expect(soon.stderr).toBe('error: no magic link issued\nhint: no account has this address, or it was sent a link less than magic_link_min_interval ago (auth_flow.settings, default 60 s)\n');
    const unknown = await auth(['auth', 'magic-link', 'nobody-here@example.test']);
    expect([unknown.code, unknown.stderr]).toEqual([1, soon.stderr]);
  });

  it('identity linking rejects a second claimant; sign-in through the identity has amr oauth', async () => {
    const linked = await auth(['--json', 'auth', 'link-identity', 'ann@example.test', '--provider', 'github', '--provider-id', '31337', '--data', '{"user_name":"ann"}']);
    expect(linked.code, linked.stderr).toBe(0);
    const claim = await auth(['auth', 'link-identity', 'bob@example.test', '--provider', 'github', '--provider-id', '31337']);
    expect(claim.code).toBe(1);
    expect(claim.stderr).toMatch(/already linked to another user/);
    const [owner] = await db.sql<{ u: string }[]>`select user_id::text as u from auth.identities where provider = 'github' and provider_id = '31337'`;
    expect(owner!.u).toBe(annId);
    const viaGithub = tokensOf(await auth(['--json', 'auth', 'sign-in', '--provider', 'github', '--provider-id', '31337']));
    expect(viaGithub.amr[0]).toMatchObject({ method: 'oauth', provider: 'github' });
    expect(viaGithub.user_id).toBe(annId);
  });

  it('sign-out revokes: the refresh token of the ended session no longer works', async () => {
    const s = tokensOf(await auth(['--json', 'auth', 'sign-in', 'ann@example.test', '--stdin'], ANN_PASSWORD));
    const out = await auth(['--json', 'auth', 'sign-out', '--stdin'], s.refresh_token);
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ sessions_ended: 1 });
    expect((await auth(['auth', 'refresh', '--stdin'], s.refresh_token)).code).toBe(1);
    const all = await auth(['--json', 'auth', 'sign-out', '--user', 'ann@example.test']);
    expect(all.code, all.stderr).toBe(0);
    const [n] = await db.sql<{ n: number }[]>`select count(*)::int as n from auth.sessions where user_id = ${annId}::uuid`;
    expect(n!.n).toBe(0);
  });

  it('export holds the user\'s rows and no secret', async () => {
    const r = await auth(['--json', 'auth', 'export', 'ann@example.test']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { user: Record<string, unknown>; owned_rows: Record<string, Array<{ name?: string }>>; identities: unknown[] };
    expect(doc.user['email']).toBe('ann@example.test');
    expect(doc.owned_rows['public.deployments']!.map((d) => d.name).sort()).toEqual(['ann-deploy-1', 'ann-deploy-2']);
    expect(doc.identities).toHaveLength(2);
    expect(r.stdout).not.toMatch(/\$2[abxy]\$|encrypted_password|refresh_token_hmac_key/);
    for (const s of secrets) expect(r.stdout.includes(s)).toBe(false);
    const stored = await db.sql<{ token: string }[]>`select token from auth.refresh_tokens where user_id = ${annId}`;
    for (const { token } of stored) expect(r.stdout).not.toContain(token);
  });

  it('erase leaves no personal data outside the audit log, whose erasure record holds none', async () => {
    expect((await auth(['auth', 'erase', 'ann@example.test'])).code).toBe(2); // needs --yes
    const r = await auth(['--json', 'auth', 'erase', 'ann@example.test', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ user_id: annId, owned_rows: { 'public.deployments': 2 } });

    const personal = ['ann@example.test', annId, 'ann-deploy-1', 'ann-deploy-2', '31337'];
    const tables = await db.sql<{ rel: string }[]>`
      select c.oid::regclass::text as rel from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
         and c.oid not in ('audit.log'::regclass, 'auth.audit_log_entries'::regclass)`;
    for (const { rel } of tables) {
      const rows = await db.sql.unsafe<{ t: string }[]>(`select t::text as t from ${rel} t`);
      for (const row of rows) for (const p of personal) expect(row.t.includes(p), `${rel} still holds ${p}`).toBe(false);
    }
    const erasure = await db.sql<{ row: string }[]>`select l::text as row from audit.log l where event = 'user_erased'`;
    expect(erasure).toHaveLength(1);
    expect(erasure[0]!.row).not.toContain('ann@example.test');
    expect(erasure[0]!.row).not.toContain('ann-deploy');
    // The user is gone: the same commands now fail.
    expect((await auth(['auth', 'sign-in', 'ann@example.test', '--stdin'], ANN_PASSWORD)).code).toBe(1);
    expect((await auth(['auth', 'export', annId])).code).toBe(1);
  });

  it('a scan of every table and the whole audit log finds no password, token or magic link in clear', async () => {
    expect(secrets.size).toBeGreaterThan(10);
    const tables = await db.sql<{ rel: string }[]>`
      select c.oid::regclass::text as rel from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`;
    expect(tables.map((t) => t.rel)).toContain('audit.log');
    for (const { rel } of tables) {
      const rows = await db.sql.unsafe<{ t: string }[]>(`select t::text as t from ${rel} t`);
      for (const row of rows) for (const s of secrets) expect(row.t.includes(s), `${rel} holds a secret`).toBe(false);
    }
  });
});

describe('the audit chain', () => {
  it('still verifies after every flow, erasure included (rowguard audit verify)', async () => {
    const r = await auth(['--json', 'audit', 'verify']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const events = await db.sql<{ e: string }[]>`select distinct event as e from audit.log where operation = 'EVENT'`;
    expect(events.map((x) => x.e)).toEqual(
      expect.arrayContaining(['user_signedup', 'login', 'token_refreshed', 'refresh_token_reused', 'magiclink_issued', 'magiclink_redeemed', 'magiclink_failed', 'identity_linked', 'identity_link_refused', 'logout', 'user_exported', 'user_erased']),
    );
  });
});

describe('no enumeration through the CLI', () => {
  it('unknown email, wrong password and locked account: the same stdout, stderr and exit code (text and --json)', async () => {
    await auth(['auth', 'sign-up', 'carol@example.test', '--stdin'], 'carol password 1');
    await auth(['auth', 'sign-up', 'dave@example.test', '--stdin'], 'dave password 1');
    for (let i = 0; i < 5; i++) expect((await auth(['auth', 'sign-in', 'dave@example.test', '--stdin'], `dave wrong ${i}`)).code).toBe(1);
    for (const json of [[], ['--json']]) {
      const unknown = await auth([...json, 'auth', 'sign-in', 'nobody@example.test', '--stdin'], 'some password');
      const wrong = await auth([...json, 'auth', 'sign-in', 'carol@example.test', '--stdin'], 'not her password');
      const locked = await auth([...json, 'auth', 'sign-in', 'dave@example.test', '--stdin'], 'dave password 1');
      expect(unknown.code).toBe(1);
      expect(wrong).toEqual(unknown);
      expect(locked).toEqual(unknown);
    }
    // The reasons are kept, internally, in the audit log.
    const reasons = await db.sql<{ r: string }[]>`select distinct new_row ->> 'reason' as r from audit.log where event = 'login_failed' order by 1`;
    expect(reasons.map((x) => x.r)).toEqual(expect.arrayContaining(['locked', 'unknown_email', 'wrong_password']));
  });
});

describe('secrets never on the command line', () => {
  it('refuses --password and --token, and without a terminal asks for --stdin (usage errors, exit 2)', async () => {
    const pw = await auth(['auth', 'sign-in', 'carol@example.test', '--password', 'carol password 1']);
    expect(pw.code).toBe(2);
    expect(pw.stderr).toMatch(/refusing --password/);
    expect(pw.stderr).not.toContain('carol password 1');
    const tok = await auth(['auth', 'refresh', '--token', 'abc']);
    expect(tok.code).toBe(2);
    const noTty = await auth(['auth', 'sign-in', 'carol@example.test']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/--stdin/);
  });
});
