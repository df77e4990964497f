/** `rowguard as`: run SQL exactly as PostgREST would for a token, a user, anon or service_role. */
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { contextOf } from '../context.js';
import { RowguardError } from '../core/errors.js';
import { addKeyOptions, keyFlags, readToken, type KeyOpts } from './jwt.js';

interface AsOpts extends KeyOpts {
  token?: string;
  tokenFile?: string;
  user?: string;
  anon?: boolean;
  serviceRole?: boolean;
  command?: string;
  file?: string;
  method: string;
  path?: string;
  commit?: boolean;
  aud?: string;
  schema?: string;
  header?: string[];
}

export function makeAsCommand(): Command {
  const as = new Command('as')
    .description('run SQL as PostgREST would for this identity: token verified, role and claims set transaction-locally, the statement, ROLLBACK unless --commit')
    .option('--token <jwt>', 'a token (short-lived test data; or use --token-file)')
    .option('--token-file <path>', 'read the token from a file; - reads stdin')
    .option('--user <email>', 'the claims GoTrue would sign for this auth.users row')
    .option('--anon', "the anon key's claims (role: config api.anonRole)")
    .option('--service-role', "the service_role key's claims")
    .option('-c, --command <sql>', 'SQL to run')
    .option('-f, --file <path>', 'file of SQL to run (errors point at file:line:col)')
    .addOption(new Option('--method <method>', 'HTTP method: GET and HEAD run READ ONLY').default('POST'))
    .option('--path <path>', 'request.path (default /)')
    .option('--schema <name>', "schema the request targets, first in search_path (default: the first exposed schema: config api.schemas, else the authenticator's pgrst.db_schemas, else the database's, else public)")
    .option('-H, --header <header>', 'a request header, "Name: value" (repeatable); a Cookie header fills request.cookies', (v: string, prev: string[] = []) => [...prev, v])
    .option('--aud <audience>', 'expected token audience (default: config api.jwtAud)')
    .option('--commit', 'COMMIT instead of the default ROLLBACK')
    .addHelpText(
      'after',
      [
        '',
        'Output: each result as a table of the values as Postgres writes them (what psql',
        'prints); how the request ran goes to stderr. With --json: { role, method, readOnly,',
        'committed, results: [{ command, rowCount, columns, rows }] }, rows with typed values',
        '(dates and timestamps as Postgres writes them, to the microsecond; bytea as \\x hex),',
        'plus values (the rows as arrays) in a result where a column name repeats.',
      ].join('\n'),
    );
  addKeyOptions(as, true);
  as.action(async (o: AsOpts, cmd: Command) => {
    const ctx = contextOf(cmd);
    const flags = keyFlags(ctx, o);
    const chosen = [o.token !== undefined || o.tokenFile !== undefined, o.user !== undefined, !!o.anon, !!o.serviceRole].filter(Boolean).length;
    if (chosen !== 1) throw new RowguardError('usage', 'choose exactly one identity: --token/--token-file, --user <email>, --anon or --service-role');
    if ((o.command === undefined) === (o.file === undefined)) throw new RowguardError('usage', 'give the SQL with exactly one of -c "SQL" or -f file.sql');
    const method = o.method.toUpperCase();
    // The methods PostgREST runs SQL for; any other is its PGRST117 (405) before the database is asked, OPTIONS runs none.
    if (!['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'].includes(method)) {
      throw new RowguardError('usage', `--method ${JSON.stringify(o.method)}: ${method === 'OPTIONS' ? 'PostgREST answers OPTIONS without running SQL' : 'PostgREST answers 405 (PGRST117, unsupported HTTP method) without running SQL'}`, {
        hint: 'use GET or HEAD (read only), POST, PATCH, PUT or DELETE',
      });
    }
    const cfg = ctx.config();
    // PostgREST serves only db-schemas (Accept-Profile / Content-Profile pick one of them): any other is its PGRST106 (406).
    // Without api.schemas they are the authenticator's pgrst.db_schemas, else the database's, else public: checked once connected.
    const schemas = cfg.api.schemas;
    const refuseSchema = (served: readonly string[] | null, from: string) =>
      new RowguardError('usage', `--schema ${JSON.stringify(o.schema)} is not an exposed schema: PostgREST answers 406 (PGRST106) for it`, {
        hint: served ? `the exposed schemas (${from}) are: ${served.join(', ')}` : 'name a schema PostgREST exposes (config api.schemas)',
      });
    if (o.schema !== undefined && (o.schema === '' || (schemas !== null && !schemas.includes(o.schema)))) throw refuseSchema(schemas, 'config api.schemas');
    const { parseHeaders } = await import('../core/as/headers.js');
    const request = parseHeaders(o.header ?? []);

    let text: string;
    let file: string | undefined;
    if (o.file !== undefined) {
      const { readFileSync } = await import('node:fs');
      file = o.file;
      let bytes: Buffer;
      try {
        bytes = readFileSync(resolve(ctx.cwd, o.file));
      } catch (err) {
        throw new RowguardError('io', `cannot read ${o.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      // As for migrations: a NUL byte or bytes that are not UTF-8 are named at file:line:col,
      // not left to the server (a NUL cuts the protocol message: "invalid message format").
      text = (await import('../core/migrate/files.js')).decodeUtf8(bytes, o.file);
    } else text = o.command!;

    const now = Date.now() / 1000;
    type IdReq = import('../core/as/identity.js').IdentityRequest;
    let idReq: IdReq;
    if (o.token !== undefined || o.tokenFile !== undefined) {
      if (o.tokenFile === '-' && [flags.secretFile, flags.keyFile, flags.jwksFile].includes('-')) throw new RowguardError('usage', 'the token and the key cannot both come from stdin');
      const token = await readToken(ctx, o.token, o.tokenFile);
      const { loadVerifyKeys } = await import('../core/jwt/keys.js');
      const keys = await loadVerifyKeys(cfg, { ROWGUARD_JWT_SECRET: ctx.env['ROWGUARD_JWT_SECRET'] }, ctx.stdin, { ...flags, warn: (m) => ctx.out.warn(m) });
      idReq = { kind: 'token', token, keys };
    } else if (o.user !== undefined) idReq = { kind: 'user', email: o.user };
    else idReq = { kind: o.anon ? 'anon' : 'service_role' };

    const { resolveIdentity } = await import('../core/as/identity.js');
    // A token is decided before any connection is made: a rejected one never reaches the database.
    const early = idReq.kind === 'token' ? await resolveIdentity(null, idReq, { config: cfg, now, audience: o.aud }) : null;
    const server = await ctx.server();
    const { withSql } = await import('../core/db.js');
    const { runSqlAs } = await import('../core/as/run.js');
    // A statement that runs for more than a second gets a line on a TTY saying it still runs.
    const started = Date.now();
    let progress: ReturnType<typeof ctx.out.progress> | undefined;
    const ticking = setInterval(() => {
      progress ??= ctx.out.progress('as:');
      progress.update(`running, ${Math.round((Date.now() - started) / 1000)} s`);
    }, 1000);
    const result = await withSql(server.url, async (sql) => {
      let schema = o.schema ?? schemas?.[0];
      if (schemas === null) {
        const { readExposedSchemas } = await import('../core/catalog/exposed.js');
        const served = await readExposedSchemas(sql, null);
        if (o.schema !== undefined && !served.includes(o.schema)) throw refuseSchema(served, "the authenticator's pgrst.db_schemas, else the database's, else public");
        // As PostgREST: a request without Accept-Profile targets the first of db-schemas.
        schema ??= served[0];
      }
      const identity = early ?? (await resolveIdentity(sql, idReq, { config: cfg, now, audience: o.aud }));
      // A table shows each value as Postgres writes it (as psql would); --json gives typed values.
      const values = ctx.out.json ? 'typed' : 'text';
      return runSqlAs(sql, identity, text, { method, path: o.path, commit: o.commit, anonRole: cfg.api.anonRole, file, schema, values, ...request });
    }, { datesAsText: true }).finally(() => {
      clearInterval(ticking);
      progress?.done();
    });
    const { renderAsResult, asFooter, jsonResultSet } = await import('../core/report/rows.js');
    ctx.out.result({ ...result, results: result.results.map(jsonResultSet) }, () => renderAsResult(result, ctx.out));
    ctx.out.info(asFooter(result, ctx.out));
  });
  return as;
}
