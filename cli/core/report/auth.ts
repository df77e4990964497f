/** Text output of `rowguard auth …` (the JSON shapes are the data objects themselves). */
import type { Output } from './output.js';
import type { TokenPair } from '../auth/tokens.js';

/**
 * Tokens, one `name: value` line each, so a script can pick one with
 * `sed -n 's/^refresh_token: //p'` while a person can read them.
 */
export function renderTokens(t: TokenPair, out: Output): string {
  const c = out.c;
  return [
    `${c.dim('access_token:')} ${t.access_token}`,
    `${c.dim('expires_at:')} ${new Date(t.expires_at * 1000).toISOString()} (${t.expires_in}s)`,
    `${c.dim('refresh_token:')} ${t.refresh_token}`,
    `${c.dim('refresh_token_expires_at:')} ${t.refresh_token_expires_at ?? 'never (until rotated, reused or signed out)'}`,
    `${c.dim('session_id:')} ${t.session_id}  ${c.dim('aal:')} ${t.aal}  ${c.dim('amr:')} ${t.amr.map((a) => a.method + (a.provider ? `/${a.provider}` : '')).join(',')}`,
  ].join('\n');
}

export function renderSignedUp(r: { userId: string; email: string }, out: Output): string {
  return `${out.c.green('signed up')} ${r.email} ${out.c.dim(`(user ${r.userId})`)}`;
}

export function renderMagicLink(r: { token: string; expiresAt: Date }, out: Output): string {
  return [`${out.c.dim('magic_link_token:')} ${r.token}`, `${out.c.dim('expires_at:')} ${r.expiresAt.toISOString()}`].join('\n');
}

export function renderLinked(r: { identityId: string; provider: string; userId: string }, out: Output): string {
  return `${out.c.green('linked')} ${r.provider} identity ${out.c.dim(r.identityId)} to user ${r.userId}`;
}

export function renderSignedOut(r: { sessionsEnded: number }, out: Output): string {
  return `${out.c.green('signed out')}: ${r.sessionsEnded} session${r.sessionsEnded === 1 ? '' : 's'} ended ${out.c.dim('(access tokens already issued stay valid until they expire)')}`;
}

export function renderErased(r: { userId: string; counts: Record<string, unknown> }, out: Output): string {
  const n = (count: unknown, one: string, many: string) => `${String(count)} ${count === 1 ? one : many}`;
  const lines = [`${out.c.green('erased')} user ${r.userId}: ${n(r.counts['sessions'], 'session', 'sessions')}, ${n(r.counts['identities'], 'identity', 'identities')}`];
  const owned = (r.counts['owned_rows'] ?? {}) as Record<string, number>;
  for (const [table, rows] of Object.entries(owned)) lines.push(`  ${table}: ${n(rows, 'row', 'rows')}`);
  lines.push(out.c.dim('the audit log keeps what it captured before (no password, token or hash); see docs/security-model.md'));
  return lines.join('\n');
}
