/** Text output of `jwt verify`, `jwt keys generate` and `jwt cookie` (JSON shapes are built by the command). */
import type { Output } from './output.js';
import { jsonText } from './json-text.js';
import type { Verified } from '../jwt/verify.js';
import type { GeneratedKeys } from '../jwt/generate.js';

function when(seconds: unknown, now: number): string {
  if (typeof seconds !== 'number') return '';
  const d = Math.round(seconds - now);
  const rel = d === 0 ? 'now' : d > 0 ? `in ${span(d)}` : `${span(-d)} ago`;
  return ` (${new Date(seconds * 1000).toISOString()}, ${rel})`;
}

function span(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export function renderVerified(v: Verified, now: number, out: Output): string {
  const c = out.c;
  const lines = [
    `${c.green('valid')}: PostgREST would run this request as role ${c.bold(v.role)}`,
    `${c.dim('alg:')} ${v.alg}${v.kid ? `  ${c.dim('kid:')} ${v.kid}` : ''}`,
  ];
  for (const k of ['sub', 'email', 'aud', 'iss']) if (v.claims[k] !== undefined) lines.push(`${c.dim(`${k}:`)} ${JSON.stringify(v.claims[k])}`);
  for (const k of ['iat', 'nbf', 'exp']) if (v.claims[k] !== undefined) lines.push(`${c.dim(`${k}:`)} ${String(v.claims[k])}${when(v.claims[k], now)}`);
  lines.push(c.dim('claims:'), jsonText(v.claims));
  return lines.join('\n');
}

export function renderGenerated(g: GeneratedKeys, out: Output): string {
  const c = out.c;
  const lines = [
    `${c.green('created')} ${g.alg} key ${c.bold(g.kid)}`,
    `  ${g.alg === 'HS256' ? 'secret     ' : 'private key'} ${g.privateFile}  ${c.dim('(mode 0600: keep it out of git)')}`,
    `  ${g.alg === 'HS256' ? 'JWKS (oct) ' : 'public JWKS'} ${g.jwksFile}${g.alg === 'HS256' ? `  ${c.dim('(mode 0600: it holds the secret)')}` : ''}`,
    '',
    `PostgREST: jwt-secret = "@${g.jwksFile}"`,
    g.alg === 'HS256'
      ? `GoTrue:    GOTRUE_JWT_SECRET = the content of ${g.privateFile}`
      : `GoTrue:    GOTRUE_JWT_KEYS = [<content of ${g.privateFile}>]`,
    `rowguard:  "jwt": { "${g.alg === 'HS256' ? 'secretFile' : 'privateKeyFile'}": "${g.privateFile}", "jwksFile": "${g.jwksFile}" }`,
  ];
  return lines.join('\n');
}
