/**
 * `rowguard auth …`: drive the database-first auth flows (schema auth_flow)
 * end to end against --db / the embedded database, minting access tokens with
 * the same code as `jwt mint`. Secrets come from a no-echo prompt or --stdin,
 * never from an argument.
 */
import { Command, Option } from 'commander';
import { contextOf, type Context } from '../context.js';
import { parseJsonObject as parseJsonObjectFlag } from '../core/jwt/claims.js';
import { RowguardError } from '../core/errors.js';
import { addKeyOptions, keyFlags, type KeyOpts } from './jwt.js';

interface StdinOpt {
  stdin?: boolean;
}

/** Only present to refuse: a password or token on the command line lands in shell history and `ps`. */
function refuseSecretOptions(cmd: Command, names: string[]): Command {
  for (const n of names) cmd.addOption(new Option(`--${n} <value>`, 'refused: secrets never go on the command line').hideHelp());
  return cmd;
}

function checkRefused(o: object, names: string[]): void {
  for (const n of names) {
    const key = n.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
    if ((o as Record<string, unknown>)[key] !== undefined) {
      throw new RowguardError('secret', `refusing --${n}: secrets never go on the command line (shell history, ps)`, {
        hint: 'type it at the prompt, or pipe it in with --stdin',
      });
    }
  }
}

async function secret(ctx: Context, o: StdinOpt, what: string): Promise<string> {
  const { readSecret } = await import('../core/auth/secret-input.js');
  return readSecret({ stdin: ctx.stdin, promptTo: process.stderr, fromStdin: !!o.stdin }, what);
}

/** The signing key is loaded before the database is touched: a missing key must not burn a refresh token. */
async function signingKey(ctx: Context, o: KeyOpts & StdinOpt) {
  const flags = keyFlags(ctx, o, { oneKey: true });
  if (o.stdin && (flags.secretFile === '-' || flags.keyFile === '-')) throw new RowguardError('usage', 'the secret and the signing key cannot both come from stdin');
  const { loadSigningKey } = await import('../core/jwt/keys.js');
  return loadSigningKey(ctx.config(), { ROWGUARD_JWT_SECRET: ctx.env['ROWGUARD_JWT_SECRET'] }, ctx.stdin, { ...flags, warn: (m) => ctx.out.warn(m) });
}

type Flows = typeof import('../core/auth/flows.js');

async function withFlows<T>(ctx: Context, fn: (sql: import('../core/db.js').Sql, flows: Flows) => Promise<T>): Promise<T> {
  const server = await ctx.server();
  const { withSql } = await import('../core/db.js');
  const flows = await import('../core/auth/flows.js');
  return withSql(server.url, (sql) => fn(sql, flows));
}

/** Mint and print a token pair for a grant. */
async function printTokens(ctx: Context, key: import('../core/jwt/keys.js').SigningKey, grant: import('../core/auth/flows.js').SessionGrant): Promise<void> {
  const { tokensForGrant } = await import('../core/auth/tokens.js');
  const pair = await tokensForGrant(grant, key, ctx.config(), Date.now() / 1000);
  const { renderTokens } = await import('../core/report/auth.js');
  ctx.out.result(pair, () => renderTokens(pair, ctx.out));
}

function parseJsonObject(text: string | undefined, flag: string): Record<string, unknown> {
  return text === undefined ? {} : parseJsonObjectFlag(text, flag);
}

const STDIN_HELP = 'read the secret from standard input instead of a no-echo prompt';

export function makeAuthCommand(): Command {
  const auth = new Command('auth').description('database-first auth: sign-up, sign-in with lockout, refresh rotation, magic links, identities, sign-out, GDPR export/erase');

  refuseSecretOptions(
    auth
      .command('sign-up')
      .description('create an email/password user (password from the prompt or --stdin; bcrypt-hashed in the database)')
      .argument('<email>', 'email address (stored lower-cased)')
      .option('--stdin', STDIN_HELP)
      .option('--user-metadata <json>', 'user_metadata object'),
    ['password'],
  ).action(async (email: string, o: StdinOpt & { userMetadata?: string; password?: string }, cmd: Command) => {
    const ctx = contextOf(cmd);
    checkRefused(o, ['password']);
    const meta = parseJsonObject(o.userMetadata, '--user-metadata');
    const password = await secret(ctx, o, 'password');
    const r = await withFlows(ctx, (sql, f) => f.signUp(sql, email, password, meta));
    const { renderSignedUp } = await import('../core/report/auth.js');
    ctx.out.result({ user_id: r.userId, email: r.email }, () => renderSignedUp(r, ctx.out));
  });

  addKeyOptions(
    refuseSecretOptions(
      auth
        .command('sign-in')
        .description('sign in with email and password (or a linked identity): prints an access token and a refresh token')
        .argument('[email]', 'email address (password from the prompt or --stdin)')
        .option('--stdin', STDIN_HELP)
        .option('--provider <name>', 'sign in through a linked identity of this provider (after its OAuth handshake)')
        .option('--provider-id <id>', "the provider's user id (with --provider)"),
      ['password'],
    ),
    false,
  ).action(async (email: string | undefined, o: KeyOpts & StdinOpt & { provider?: string; providerId?: string; password?: string }, cmd: Command) => {
    const ctx = contextOf(cmd);
    checkRefused(o, ['password']);
    const viaIdentity = o.provider !== undefined || o.providerId !== undefined;
    if (viaIdentity && (o.provider === undefined || o.providerId === undefined)) throw new RowguardError('usage', '--provider and --provider-id go together');
    if (viaIdentity === (email !== undefined)) throw new RowguardError('usage', 'give either an email (password sign-in) or --provider with --provider-id');
    const key = await signingKey(ctx, o);
    const password = viaIdentity ? '' : await secret(ctx, o, 'password');
    const grant = await withFlows(ctx, (sql, f) => (viaIdentity ? f.signInWithIdentity(sql, o.provider!, o.providerId!) : f.signIn(sql, email!, password)));
    await printTokens(ctx, key, grant);
  });

  addKeyOptions(
    refuseSecretOptions(auth.command('refresh').description('rotate a refresh token (from the prompt or --stdin): prints a new access token and refresh token').option('--stdin', STDIN_HELP), [
      'refresh-token',
      'token',
    ]),
    false,
  ).action(async (o: KeyOpts & StdinOpt & Record<string, unknown>, cmd: Command) => {
    const ctx = contextOf(cmd);
    checkRefused(o, ['refresh-token', 'token']);
    const key = await signingKey(ctx, o);
    const token = await secret(ctx, o, 'refresh token');
    const grant = await withFlows(ctx, (sql, f) => f.refresh(sql, token));
    await printTokens(ctx, key, grant);
  });

  auth
    .command('magic-link')
    .description('issue a single-use sign-in token for an email and print it (what the mail would carry)')
    .argument('<email>', 'email address')
    .action(async (email: string, _o: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const r = await withFlows(ctx, (sql, f) => f.issueMagicLink(sql, email));
      const { renderMagicLink } = await import('../core/report/auth.js');
      ctx.out.result({ token: r.token, expires_at: r.expiresAt.toISOString() }, () => renderMagicLink(r, ctx.out));
    });

  addKeyOptions(
    refuseSecretOptions(auth.command('verify').description('redeem a magic-link token (from the prompt or --stdin) once: prints an access token and a refresh token').option('--stdin', STDIN_HELP), ['token']),
    false,
  ).action(async (o: KeyOpts & StdinOpt & { token?: string }, cmd: Command) => {
    const ctx = contextOf(cmd);
    checkRefused(o, ['token']);
    const key = await signingKey(ctx, o);
    const token = await secret(ctx, o, 'magic link token');
    const grant = await withFlows(ctx, (sql, f) => f.verifyMagicLink(sql, token));
    await printTokens(ctx, key, grant);
  });

  auth
    .command('link-identity')
    .description('link an OAuth identity (provider, provider id) to a user; a second user cannot claim it')
    .argument('<user>', 'email or user id')
    .requiredOption('--provider <name>', 'provider, e.g. github')
    .requiredOption('--provider-id <id>', "the provider's user id (its sub)")
    .option('--data <json>', 'identity_data object (secret-looking keys such as access_token are dropped)')
    .action(async (who: string, o: { provider: string; providerId: string; data?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const data = parseJsonObject(o.data, '--data');
      const r = await withFlows(ctx, async (sql, f) => {
        const user = await f.resolveUser(sql, who);
        return { ...(await f.linkIdentity(sql, user.id, o.provider, o.providerId, data)), userId: user.id };
      });
      const { renderLinked } = await import('../core/report/auth.js');
      ctx.out.result({ identity_id: r.identityId, user_id: r.userId, provider: o.provider }, () => renderLinked({ ...r, provider: o.provider }, ctx.out));
    });

  refuseSecretOptions(
    auth
      .command('sign-out')
      .description("end the session of a refresh token (prompt or --stdin), or with --user every session of a user")
      .option('--stdin', STDIN_HELP)
      .addOption(new Option('--scope <scope>', 'local: this session; global: all of the user\'s; others: all but this one').choices(['local', 'global', 'others']).default('local'))
      .option('--user <user>', 'email or user id: end all of their sessions (administrator)'),
    ['refresh-token', 'token'],
  ).action(async (o: StdinOpt & { scope: 'local' | 'global' | 'others'; user?: string } & Record<string, unknown>, cmd: Command) => {
    const ctx = contextOf(cmd);
    checkRefused(o, ['refresh-token', 'token']);
    let r: { sessionsEnded: number };
    if (o.user !== undefined) {
      if (o.stdin) throw new RowguardError('usage', '--user signs out every session of the user: it reads no refresh token (drop --stdin)');
      r = await withFlows(ctx, async (sql, f) => f.signOutUser(sql, (await f.resolveUser(sql, o.user!)).id));
    } else {
      const token = await secret(ctx, o, 'refresh token');
      r = await withFlows(ctx, (sql, f) => f.signOutByRefreshToken(sql, token, o.scope));
    }
    const { renderSignedOut } = await import('../core/report/auth.js');
    ctx.out.result({ sessions_ended: r.sessionsEnded }, () => renderSignedOut(r, ctx.out));
  });

  auth
    .command('export')
    .description('GDPR export: everything held about a user as JSON (profile, identities, sessions, owned rows; no hash or token)')
    .argument('<user>', 'email or user id')
    .action(async (who: string, _o: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const doc = await withFlows(ctx, async (sql, f) => f.exportUser(sql, (await f.resolveUser(sql, who)).id));
      ctx.out.result(doc, () => JSON.stringify(doc, null, 2));
    });

  auth
    .command('erase')
    .description('GDPR erasure: delete the user, their sessions, identities and owned rows (the audit log records the erasure)')
    .argument('<user>', 'email or user id')
    .option('--yes', 'confirm: erasure cannot be undone')
    .action(async (who: string, o: { yes?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (!o.yes) throw new RowguardError('usage', 'erasure cannot be undone: add --yes to confirm');
      const r = await withFlows(ctx, async (sql, f) => {
        const user = await f.resolveUser(sql, who);
        return { userId: user.id, counts: await f.eraseUser(sql, user.id) };
      });
      const { renderErased } = await import('../core/report/auth.js');
      ctx.out.result({ user_id: r.userId, ...r.counts }, () => renderErased(r, ctx.out));
    });

  return auth;
}
