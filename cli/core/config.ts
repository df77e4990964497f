/**
 * rowguard.config.json: found in the current directory or given by --config,
 * validated once (every problem reported together), then frozen and passed down.
 * Core code never reads process.env; the CLI layer hands env-derived values in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { RowguardError } from './errors.js';
import { parseJsonPath } from './jwt/jsonpath.js';

export const CONFIG_FILE = 'rowguard.config.json';

export interface LintIgnore {
  rule: string;
  object: string;
  reason: string;
}

export interface Config {
  /** Absolute path of the config file, or null when none was found. */
  file: string | null;
  /** Folder paths are relative to this (the config file's folder, else the cwd). */
  root: string;
  dirs: { sql: string; policies: string; generated: string; test: string };
  /** `rowguard test` and the gate run these first, once, and keep what they commit (`--setup`); absolute paths. */
  testSetup: string[];
  migrations: {
    /** Postgres interval text, applied as `SET lock_timeout`. */
    lockTimeout: string;
    /** Postgres interval text; '0' means none. */
    statementTimeout: string;
  };
  embedded: { port: number; dataDir: string };
  api: {
    /** Schemas PostgREST serves (db-schemas); null: read `pgrst.db_schemas`, else public. */
    schemas: string[] | null;
    anonRole: string;
    authenticatedRole: string;
    serviceRole: string;
    /** PostgREST jwt-aud: when set, a token's aud must be it (or an array containing it). */
    jwtAud: string | null;
    /** jwt-role-claim-key, JSONPath like `$.role`. */
    roleClaimKey: string;
  };
  jwt: {
    /** File holding the HS256 secret (absolute after loading), or null. */
    secretFile: string | null;
    /** PEM or JWK file with a private key (RS256/ES256/EdDSA), or null. */
    privateKeyFile: string | null;
    /** JWKS (or single JWK) file used to verify, as PostgREST's jwt-secret. */
    jwksFile: string | null;
    /** PostgREST's jwt-secret-is-base64: the secret (or JWKS) file and ROWGUARD_JWT_SECRET hold base64 of it. */
    secretIsBase64: boolean;
    kid: string | null;
    issuer: string;
    /** Default access-token lifetime in seconds. */
    expiresIn: number;
  };
  cookie: {
    name: string | null;
    project: string;
    domain: string | null;
    path: string;
    sameSite: 'Lax' | 'Strict' | 'None';
    secure: boolean;
    httpOnly: boolean;
  };
  lint: { level: 'error' | 'warn' | 'info'; ignore: LintIgnore[] };
}

export interface LoadConfigOptions {
  cwd: string;
  /** Explicit --config path (relative to cwd). */
  configPath?: string;
}

type Json = Record<string, unknown>;

const DEFAULTS = {
  dirs: { sql: 'sql', policies: 'policies', generated: 'generated', test: 'test' },
  migrations: { lockTimeout: '5s', statementTimeout: '0' },
  embedded: { port: 54329, dataDir: '.rowguard/pgdata' },
  api: {
    schemas: null,
    anonRole: 'anon',
    authenticatedRole: 'authenticated',
    serviceRole: 'service_role',
    jwtAud: null,
    roleClaimKey: '$.role',
  },
  jwt: {
    secretFile: null,
    privateKeyFile: null,
    jwksFile: null,
    secretIsBase64: false,
    kid: null,
    issuer: 'http://localhost:9999/auth/v1',
    expiresIn: 3600,
  },
  cookie: {
    name: null,
    project: 'default',
    domain: null,
    path: '/',
    sameSite: 'Lax',
    secure: true,
    httpOnly: true,
  },
  lint: { level: 'warn', ignore: [] },
} as const;

/** Collects every problem so the user sees them all at once. */
class Problems {
  readonly list: string[] = [];
  add(path: string, msg: string): void {
    this.list.push(`${path}: ${msg}`);
  }
}

/** `migrations.lockTimeout`, or `sql` at the top level (no leading dot). */
function settingPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function section(raw: Json, key: string, p: Problems): Json {
  const v = raw[key];
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    p.add(key, 'must be an object');
    return {};
  }
  return v as Json;
}

function checkKeys(obj: Json, allowed: readonly string[], path: string, p: Problems): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) p.add(path ? `${path}.${k}` : k, `unknown setting (known: ${allowed.join(', ')})`);
  }
}

function str<T extends string | null>(obj: Json, key: string, def: T, path: string, p: Problems, nullable = false): string | T {
  const v = obj[key];
  if (v === undefined) return def;
  if (v === null && nullable) return def === null ? (null as T) : (null as unknown as T);
  if (typeof v !== 'string' || v === '') {
    p.add(settingPath(path, key), nullable ? 'must be a non-empty string or null' : 'must be a non-empty string');
    return def;
  }
  return v;
}

function bool(obj: Json, key: string, def: boolean, path: string, p: Problems): boolean {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') {
    p.add(settingPath(path, key), 'must be true or false');
    return def;
  }
  return v;
}

function int(obj: Json, key: string, def: number, path: string, p: Problems, min: number, max: number): number {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    p.add(settingPath(path, key), `must be a whole number from ${min} to ${max}`);
    return def;
  }
  return v;
}

function oneOf<T extends string>(obj: Json, key: string, def: T, allowed: readonly T[], path: string, p: Problems): T {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    p.add(settingPath(path, key), `must be one of ${allowed.join(', ')}`);
    return def;
  }
  return v as T;
}

/** Postgres accepts e.g. '5s', '500ms', '1min', '0'; we check the shape, the server checks the rest. */
const INTERVAL = /^\s*\d+(\.\d+)?\s*(us|ms|s|min|h|d)?\s*$/;

/** The API roles the config names: anon, authenticated, service role. */
export function apiRolesOf(config: Config): string[] {
  return [config.api.anonRole, config.api.authenticatedRole, config.api.serviceRole];
}

export function parseConfig(raw: unknown, file: string | null, root: string): Config {
  const p = new Problems();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RowguardError('config', `${file ?? 'config'}: must be a JSON object`);
  }
  const r = raw as Json;
  checkKeys(
    r,
    ['$schema', 'sql', 'policies', 'generated', 'test', 'testSetup', 'migrations', 'embedded', 'api', 'jwt', 'cookie', 'lint'],
    '',
    p,
  );
  const dir = (key: keyof Config['dirs']) => resolve(root, str(r, key, DEFAULTS.dirs[key], '', p) as string);
  const dirs = { sql: dir('sql'), policies: dir('policies'), generated: dir('generated'), test: dir('test') };
  const testSetup: string[] = [];
  if (r['testSetup'] !== undefined) {
    const list = r['testSetup'];
    if (!Array.isArray(list) || list.some((f) => typeof f !== 'string' || f === '')) p.add('testSetup', 'must be a list of file paths (a suite\'s setup files, run in order before the tests)');
    else testSetup.push(...list.map((f) => resolve(root, f as string)));
  }

  const m = section(r, 'migrations', p);
  checkKeys(m, ['lockTimeout', 'statementTimeout'], 'migrations', p);
  const lockTimeout = str(m, 'lockTimeout', DEFAULTS.migrations.lockTimeout, 'migrations', p) as string;
  const statementTimeout = str(m, 'statementTimeout', DEFAULTS.migrations.statementTimeout, 'migrations', p) as string;
  if (!INTERVAL.test(lockTimeout)) p.add('migrations.lockTimeout', `"${lockTimeout}" is not a duration like 5s or 500ms`);
  if (!INTERVAL.test(statementTimeout)) p.add('migrations.statementTimeout', `"${statementTimeout}" is not a duration like 60s or 0`);

  const e = section(r, 'embedded', p);
  checkKeys(e, ['port', 'dataDir'], 'embedded', p);
  const embedded = {
    port: int(e, 'port', DEFAULTS.embedded.port, 'embedded', p, 1024, 65535),
    dataDir: resolve(root, str(e, 'dataDir', DEFAULTS.embedded.dataDir, 'embedded', p) as string),
  };

  const a = section(r, 'api', p);
  checkKeys(a, ['schemas', 'anonRole', 'authenticatedRole', 'serviceRole', 'jwtAud', 'roleClaimKey'], 'api', p);
  let schemas: string[] | null = null;
  if (a['schemas'] !== undefined && a['schemas'] !== null) {
    const s = a['schemas'];
    if (!Array.isArray(s) || s.length === 0 || s.some((x) => typeof x !== 'string' || x === '')) {
      p.add('api.schemas', 'must be a non-empty list of schema names');
    } else schemas = [...(s as string[])];
  }
  const roleClaimKey = str(a, 'roleClaimKey', DEFAULTS.api.roleClaimKey, 'api', p) as string;
  try {
    parseJsonPath(roleClaimKey);
  } catch (err) {
    p.add('api.roleClaimKey', (err as Error).message);
  }
  const api = {
    schemas,
    anonRole: str(a, 'anonRole', DEFAULTS.api.anonRole, 'api', p) as string,
    authenticatedRole: str(a, 'authenticatedRole', DEFAULTS.api.authenticatedRole, 'api', p) as string,
    serviceRole: str(a, 'serviceRole', DEFAULTS.api.serviceRole, 'api', p) as string,
    jwtAud: str(a, 'jwtAud', DEFAULTS.api.jwtAud, 'api', p, true),
    roleClaimKey,
  };

  const j = section(r, 'jwt', p);
  checkKeys(j, ['secretFile', 'privateKeyFile', 'jwksFile', 'secretIsBase64', 'kid', 'issuer', 'expiresIn', 'secret'], 'jwt', p);
  if (j['secret'] !== undefined) {
    // A secret pasted into a committed file is a leak; the config only ever points at a file.
    p.add('jwt.secret', 'secrets are never read from the config file; use jwt.secretFile or ROWGUARD_JWT_SECRET');
  }
  const fileRef = (key: string) => {
    const v = str(j, key, null, 'jwt', p, true);
    return v === null ? null : resolve(root, v);
  };
  const jwt = {
    secretFile: fileRef('secretFile'),
    privateKeyFile: fileRef('privateKeyFile'),
    jwksFile: fileRef('jwksFile'),
    secretIsBase64: bool(j, 'secretIsBase64', DEFAULTS.jwt.secretIsBase64, 'jwt', p),
    kid: str(j, 'kid', DEFAULTS.jwt.kid, 'jwt', p, true),
    issuer: str(j, 'issuer', DEFAULTS.jwt.issuer, 'jwt', p) as string,
    expiresIn: int(j, 'expiresIn', DEFAULTS.jwt.expiresIn, 'jwt', p, 1, 10 * 365 * 86400),
  };

  const c = section(r, 'cookie', p);
  checkKeys(c, ['name', 'project', 'domain', 'path', 'sameSite', 'secure', 'httpOnly'], 'cookie', p);
  const cookie = {
    name: str(c, 'name', DEFAULTS.cookie.name, 'cookie', p, true),
    project: str(c, 'project', DEFAULTS.cookie.project, 'cookie', p) as string,
    domain: str(c, 'domain', DEFAULTS.cookie.domain, 'cookie', p, true),
    path: str(c, 'path', DEFAULTS.cookie.path, 'cookie', p) as string,
    sameSite: oneOf(c, 'sameSite', DEFAULTS.cookie.sameSite as 'Lax', ['Lax', 'Strict', 'None'] as const, 'cookie', p),
    secure: bool(c, 'secure', DEFAULTS.cookie.secure, 'cookie', p),
    httpOnly: bool(c, 'httpOnly', DEFAULTS.cookie.httpOnly, 'cookie', p),
  };

  const l = section(r, 'lint', p);
  checkKeys(l, ['level', 'ignore'], 'lint', p);
  const ignore: LintIgnore[] = [];
  if (l['ignore'] !== undefined) {
    if (!Array.isArray(l['ignore'])) p.add('lint.ignore', 'must be a list of {rule, object, reason}');
    else
      l['ignore'].forEach((item, i) => {
        const it = (item ?? {}) as Json;
        const ok = ['rule', 'object', 'reason'].every((k) => typeof it[k] === 'string' && it[k] !== '');
        if (!ok) p.add(`lint.ignore[${i}]`, 'needs rule, object and a non-empty reason');
        else ignore.push({ rule: it['rule'] as string, object: it['object'] as string, reason: it['reason'] as string });
      });
  }
  const lint = {
    level: oneOf(l, 'level', DEFAULTS.lint.level as 'warn', ['error', 'warn', 'info'] as const, 'lint', p),
    ignore,
  };

  if (p.list.length > 0) {
    throw new RowguardError('config', `${file ?? 'config'}: ${p.list.length} problem${p.list.length > 1 ? 's' : ''}: ${p.list.join('; ')}`, {
      meta: { problems: p.list },
      hint: 'see "Configuration" in the README',
    });
  }
  return deepFreeze({
    file,
    root,
    dirs,
    testSetup,
    migrations: { lockTimeout, statementTimeout },
    embedded,
    api,
    jwt,
    cookie,
    lint,
  });
}

export function loadConfig(opts: LoadConfigOptions): Config {
  let file: string | null = null;
  // `--config ""` (an unset variable in a script) must not fall back to another project's file.
  if (opts.configPath !== undefined && opts.configPath.trim() === '') {
    throw new RowguardError('usage', '--config was given an empty path', { hint: 'name the config file, or leave --config out to use the nearest rowguard.config.json' });
  }
  if (opts.configPath) {
    file = resolve(opts.cwd, opts.configPath);
    if (!existsSync(file)) throw new RowguardError('config', `config file not found: ${file}`);
  } else {
    // The nearest rowguard.config.json from here up, as git finds its repository: a
    // command run in sql/ or test/ works on the project, not on a folder of its own.
    for (let dir = resolve(opts.cwd); ; dir = dirname(dir)) {
      const candidate = join(dir, CONFIG_FILE);
      if (existsSync(candidate)) {
        file = candidate;
        break;
      }
      if (dirname(dir) === dir) break;
    }
  }
  if (!file) return parseConfig({}, null, resolve(opts.cwd));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RowguardError('config', `cannot read the config file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let raw: unknown;
  // A byte order mark (Windows editors) is not JSON, but not a mistake either.
  text = text.replace(/^\uFEFF/, '');
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RowguardError('config', `${file}: not valid JSON (${jsonSyntaxReason((err as Error).message, text)})`);
  }
  return parseConfig(raw, file, dirname(file));
}

/**
 * JSON.parse's reason without the excerpt of the file it quotes (`..."secret":"abc"...`):
 * that excerpt may be part of a secret pasted into the file, and may hold control
 * characters. A position becomes line and column; V8 gives none for most errors
 * ("Unexpected token 'p'", "Unexpected end of JSON input"), so then jsonc-parser,
 * reading strictly, says where.
 */
function jsonSyntaxReason(message: string, text: string): string {
  const reason = message
    .replace(/,\s*(\.\.\.)?".*"(\.\.\.)?\s+is not valid JSON$/s, '')
    .replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const located = reason.replace(/ in JSON at position (\d+).*$/s, (_m, pos: string) => lineAndColumn(text, Number(pos)));
  if (located !== reason) return located;
  const at = firstJsonErrorAt(text);
  return at === null ? reason : reason + lineAndColumn(text, at);
}

function lineAndColumn(text: string, pos: number): string {
  const before = text.slice(0, pos);
  return ` at line ${before.split('\n').length}, column ${Array.from(before.slice(before.lastIndexOf('\n') + 1)).length + 1}`;
}

/** Where a strict JSON reader first stops in `text` (UTF-16 offset), or null when it reads it all. */
function firstJsonErrorAt(text: string): number | null {
  // Loaded here, on the error path only: every command reads its config at start.
  const { parse } = createRequire(import.meta.url)('jsonc-parser') as typeof import('jsonc-parser');
  const errors: import('jsonc-parser').ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  return errors[0]?.offset ?? null;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
