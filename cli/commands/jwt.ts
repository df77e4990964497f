/** `rowguard jwt mint|verify|keys generate|cookie`: tokens the way GoTrue mints them and PostgREST checks them. */
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { contextOf, type Context } from '../context.js';
import { RowguardError } from '../core/errors.js';

/** Only present to refuse: a secret on the command line lands in shell history and `ps`. */
export function refuseSecretFlag(): never {
  throw new RowguardError('secret', 'refusing a secret given on the command line (it would land in shell history and in `ps`)', {
    hint: 'use --secret-file <path>, --secret-file - (stdin), or the ROWGUARD_JWT_SECRET environment variable',
  });
}

export interface KeyOpts {
  secretFile?: string;
  keyFile?: string;
  jwksFile?: string;
  kid?: string;
  secret?: string;
  secretIsBase64?: boolean;
}

/**
 * The key flags, paths made absolute. `oneKey`: the command uses one key (mint and the auth
 * flows sign, verify checks), so a second key flag would be silently passed over (the order of
 * loadSigningKey / loadVerifyKeys): refused. `as` may sign with one and verify with another.
 */
export function keyFlags(ctx: Context, o: KeyOpts, opts: { oneKey?: boolean } = {}) {
  if (o.secret !== undefined) refuseSecretFlag();
  const given = ([['--secret-file', o.secretFile], ['--key-file', o.keyFile], ['--jwks-file', o.jwksFile]] as const).filter(([, v]) => v !== undefined).map(([f]) => f);
  if (opts.oneKey && given.length > 1) {
    throw new RowguardError('usage', `${given.slice(0, -1).join(', ')} and ${given[given.length - 1]} each name a key, and this command uses one: pass one of them`);
  }
  const abs = (p?: string) => (p === undefined || p === '-' ? p : resolve(ctx.cwd, p));
  const stdinUsers = [o.secretFile, o.keyFile, o.jwksFile].filter((p) => p === '-').length;
  if (stdinUsers > 1) throw new RowguardError('usage', 'only one of --secret-file, --key-file and --jwks-file can read stdin (-)');
  return { secretFile: abs(o.secretFile), keyFile: abs(o.keyFile), jwksFile: abs(o.jwksFile), kid: o.kid, secretIsBase64: !!o.secretIsBase64 };
}

export function addKeyOptions(cmd: Command, verify: boolean): Command {
  cmd
    .option('--secret-file <path>', 'HS256 secret (≥ 32 characters), JWK or JWKS; - reads stdin')
    .option('--key-file <path>', 'private key, PEM or JWK (RS256, ES256, EdDSA); - reads stdin')
    .addOption(new Option('--secret <value>', 'refused: secrets never go on the command line').hideHelp());
  if (verify) cmd.option('--jwks-file <path>', "verification keys as PostgREST's jwt-secret (JWKS, JWK or secret); - reads stdin");
  cmd.option('--kid <id>', 'key id to put in (or expect from) the header');
  cmd.option('--secret-is-base64', "the secret (or JWKS) is base64, as with PostgREST's jwt-secret-is-base64 (also config jwt.secretIsBase64)");
  return cmd;
}

/**
 * A pasted Authorization header value works too, read as PostgREST reads it
 * (wai-extra's extractBearerAuth): a first word "Bearer" in any case, then the
 * rest after blank space; "Bearer" alone is an empty token (PGRST301).
 */
function bareToken(t: string): string {
  const m = /^([^ \t\n\v\f\r]*)([ \t\n\v\f\r][\s\S]*)?$/.exec(t);
  return m && m[1]!.toLowerCase() === 'bearer' ? (m[2] ?? '').replace(/^[ \t\n\v\f\r]+/, '') : t;
}

export async function readToken(ctx: Context, arg: string | undefined, file: string | undefined): Promise<string> {
  if (arg !== undefined && file !== undefined) throw new RowguardError('usage', 'give the token either as an argument or with --token-file, not both');
  if (arg !== undefined) return bareToken(arg);
  if (file === undefined) throw new RowguardError('usage', 'no token: pass it as an argument or with --token-file <path> (- for stdin)');
  const { readFileSync } = await import('node:fs');
  let raw: string;
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of ctx.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    raw = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      raw = readFileSync(resolve(ctx.cwd, file), 'utf8');
    } catch (err) {
      throw new RowguardError('io', `cannot read the token file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  // A trailing newline from `echo` or an editor is not part of the token.
  return bareToken(raw.replace(/\r?\n$/, ''));
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function nowFlag(v: string | undefined): number {
  if (v === undefined) return Date.now() / 1000;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new RowguardError('usage', `--now must be seconds since the epoch (got "${v}")`);
  return n;
}

interface MintOpts extends KeyOpts {
  sub?: string;
  email?: string;
  phone?: string;
  role?: string;
  exp?: string;
  claim?: string[];
  appMetadata?: string;
  userMetadata?: string;
  aal?: string;
  sessionId?: string;
  iss?: string;
  anon?: boolean;
  serviceRole?: boolean;
  user?: string;
  anonymous?: boolean;
}

export function makeJwtCommand(): Command {
  const jwt = new Command('jwt').description('mint, verify and inspect tokens exactly as GoTrue and PostgREST do');

  addKeyOptions(
    jwt
      .command('mint')
      .description("mint an access token with GoTrue's claims (HS256 secret by default; RS256/ES256/EdDSA with --key-file)")
      .option('--sub <uuid>', 'user id (default: a random UUID)')
      .option('--email <email>', 'email claim (default "")')
      .option('--phone <phone>', 'phone claim (default "")')
      .option('--role <role>', 'role claim (default: config api.authenticatedRole)')
      .option('--exp <duration>', 'lifetime: seconds, or 15m, 1h, 7d (default: config jwt.expiresIn, 3600)')
      .option('--claim <key=value>', 'set a claim (JSON values allowed); repeatable', collect)
      .option('--app-metadata <json>', 'app_metadata object')
      .option('--user-metadata <json>', 'user_metadata object')
      .addOption(new Option('--aal <level>', 'authenticator assurance level').choices(['aal1', 'aal2']))
      .option('--session-id <uuid>', 'session_id (default: a random UUID)')
      .option('--iss <issuer>', 'issuer (default: config jwt.issuer)')
      .option('--anonymous', 'is_anonymous: true (an anonymous sign-in)')
      .addOption(new Option('--anon', "Supabase's anon key claims: {iss, role: anon, iat, exp}, no sub").conflicts(['serviceRole', 'user']))
      .addOption(new Option('--service-role', "Supabase's service_role key claims (BYPASSRLS role)").conflicts(['user']))
      .addOption(new Option('--user <email>', 'read sub, email, phone, role and metadata from auth.users')),
    false,
  ).action(async (o: MintOpts, cmd: Command) => {
    const ctx = contextOf(cmd);
    const flags = keyFlags(ctx, o, { oneKey: true });
    const cfg = ctx.config();
    const claimsMod = await import('../core/jwt/claims.js');
    const { randomUUID } = await import('node:crypto');
    const now = Date.now() / 1000;
    const expiresIn = o.exp !== undefined ? claimsMod.parseDuration(o.exp) : cfg.jwt.expiresIn;
    const issuer = o.iss ?? cfg.jwt.issuer;
    // Validate every flag before touching keys or the database.
    const extra = (o.claim ?? []).map(claimsMod.parseClaimAssignment);
    const appMeta = o.appMetadata !== undefined ? claimsMod.parseJsonObject(o.appMetadata, '--app-metadata') : undefined;
    const userMeta = o.userMetadata !== undefined ? claimsMod.parseJsonObject(o.userMetadata, '--user-metadata') : undefined;
    if (o.sub !== undefined) claimsMod.parseUuid(o.sub, '--sub');
    if (o.sessionId !== undefined) claimsMod.parseUuid(o.sessionId, '--session-id');
    const { loadSigningKey } = await import('../core/jwt/keys.js');
    const key = await loadSigningKey(cfg, { ROWGUARD_JWT_SECRET: ctx.env['ROWGUARD_JWT_SECRET'] }, ctx.stdin, { ...flags, warn: (m) => ctx.out.warn(m) });

    let claims: Record<string, unknown>;
    if (o.anon || o.serviceRole) {
      claims = claimsMod.buildRoleKeyClaims(o.anon ? cfg.api.anonRole : cfg.api.serviceRole, { issuer, expiresIn }, now);
      if (o.role !== undefined) claims['role'] = o.role;
    } else {
      let base: import('../core/jwt/claims.js').AccessClaims;
      const opts = { issuer, expiresIn, sessionId: o.sessionId ?? randomUUID(), aal: o.aal as 'aal1' | 'aal2' | undefined, defaultRole: cfg.api.authenticatedRole };
      if (o.user !== undefined) {
        const server = await ctx.server();
        const { withSql } = await import('../core/db.js');
        const { userClaimsFromDatabase } = await import('../core/jwt/user.js');
        base = await withSql(server.url, (sql) => userClaimsFromDatabase(sql, o.user!, opts, now));
      } else {
        base = claimsMod.buildAccessClaims(
          { id: o.sub ?? randomUUID(), email: o.email ?? null, phone: o.phone ?? null, role: o.role ?? null, raw_app_meta_data: appMeta ?? null, raw_user_meta_data: userMeta ?? null, is_anonymous: !!o.anonymous },
          opts,
          now,
        );
      }
      claims = base;
      if (o.user !== undefined) {
        // Flags given alongside --user override what the row says.
        if (o.sub !== undefined) claims['sub'] = o.sub;
        if (o.email !== undefined) claims['email'] = o.email;
        if (o.phone !== undefined) claims['phone'] = o.phone;
        if (o.role !== undefined) claims['role'] = o.role;
        if (appMeta) claims['app_metadata'] = appMeta;
        if (userMeta) claims['user_metadata'] = userMeta;
        if (o.anonymous) claims['is_anonymous'] = true;
      }
    }
    for (const [k, v] of extra) claims[k] = v;
    const { mint } = await import('../core/jwt/mint.js');
    const minted = await mint(claims, key);
    ctx.out.result({ token: minted.token, header: minted.header, payload: minted.payload }, () => minted.token);
  });

  addKeyOptions(
    jwt
      .command('verify')
      .description('decide on a token exactly as PostgREST would: exit 0 with the role, or 1 with PGRST301/302/303 and the reason')
      .argument('[token]', 'the token (or use --token-file)')
      .option('--token-file <path>', 'read the token from a file; - reads stdin')
      .option('--aud <audience>', 'expected audience (default: config api.jwtAud; none: any aud passes)')
      .option('--now <seconds>', 'judge the time claims at this instant (seconds since the epoch)'),
    true,
  ).action(async (tokenArg: string | undefined, o: KeyOpts & { tokenFile?: string; aud?: string; now?: string }, cmd: Command) => {
    const ctx = contextOf(cmd);
    const flags = keyFlags(ctx, o, { oneKey: true });
    if (o.tokenFile === '-' && [flags.secretFile, flags.keyFile, flags.jwksFile].includes('-')) {
      throw new RowguardError('usage', 'the token and the key cannot both come from stdin');
    }
    const cfg = ctx.config();
    const now = nowFlag(o.now);
    const token = await readToken(ctx, tokenArg, o.tokenFile);
    const { loadVerifyKeys } = await import('../core/jwt/keys.js');
    const keys = await loadVerifyKeys(cfg, { ROWGUARD_JWT_SECRET: ctx.env['ROWGUARD_JWT_SECRET'] }, ctx.stdin, { ...flags, warn: (m) => ctx.out.warn(m) });
    const { verifyToken } = await import('../core/jwt/verify.js');
    const v = await verifyToken(token, keys, { now, audience: o.aud ?? cfg.api.jwtAud, roleClaimKey: cfg.api.roleClaimKey, anonRole: cfg.api.anonRole });
    const { renderVerified } = await import('../core/report/jwt.js');
    ctx.out.result({ valid: true, role: v.role, alg: v.alg, kid: v.kid ?? null, header: v.header, claims: v.claims }, () => renderVerified(v, now, ctx.out));
  });

  const keys = jwt.command('keys').description('signing keys');
  keys
    .command('generate')
    .description('write a private key (mode 0600) and a public JWKS that PostgREST takes as jwt-secret')
    .addOption(new Option('--alg <alg>', 'algorithm').choices(['ES256', 'RS256', 'EdDSA', 'HS256']).default('ES256'))
    .requiredOption('--out <dir-or-prefix>', 'a directory (files jwt.*) or a file prefix')
    .option('--kid <id>', 'key id (default: rowguard-<alg>-<date>-<random>)')
    .option('--force', 'overwrite existing key files')
    .action(async (o: { alg: string; out: string; kid?: string; force?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const gen = await import('../core/jwt/generate.js');
      // resolve() drops a trailing slash, which is how the user said "a directory".
      const out = resolve(ctx.cwd, o.out) + (/[\\/]$/.test(o.out) ? '/' : '');
      const g = await gen.generateKeys(gen.parseGenerateAlg(o.alg), out, { force: o.force, kid: o.kid });
      const { renderGenerated } = await import('../core/report/jwt.js');
      ctx.out.result({ alg: g.alg, kid: g.kid, privateFile: g.privateFile, jwksFile: g.jwksFile, publicJwks: g.publicJwks }, () => renderGenerated(g, ctx.out));
    });

  jwt
    .command('cookie')
    .description('print the Set-Cookie header carrying a token (config "cookie" section; Max-Age = the token\'s remaining life)')
    .argument('[token]', 'the token (or use --token-file)')
    .option('--token-file <path>', 'read the token from a file; - reads stdin')
    .option('--now <seconds>', 'compute Max-Age at this instant (seconds since the epoch)')
    .action(async (tokenArg: string | undefined, o: { tokenFile?: string; now?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const cfg = ctx.config();
      const { assertSafeCookie, buildSetCookie } = await import('../core/jwt/cookie.js');
      assertSafeCookie(cfg.cookie);
      const token = await readToken(ctx, tokenArg, o.tokenFile);
      const { decodeJwt } = await import('jose');
      let exp: unknown;
      try {
        // A compact JWS only: base64url decoding skips a space or other stray character,
        // which would then land in the header (a cookie value cannot hold one).
        if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) throw new Error('not a compact JWS');
        exp = decodeJwt(token).exp;
      } catch {
        throw new RowguardError('jwt', 'the token is not a decodable JWT (three base64url parts with a JSON payload)');
      }
      if (typeof exp !== 'number') throw new RowguardError('jwt', 'the token has no numeric exp claim: a cookie needs a lifetime');
      const c = buildSetCookie(token, exp, cfg.cookie, nowFlag(o.now));
      ctx.out.result({ name: c.name, maxAge: c.maxAge, attributes: c.attributes, header: c.header }, () => c.header);
    });

  return jwt;
}
