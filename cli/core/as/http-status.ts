/**
 * The HTTP status PostgREST answers for a database error (PostgREST v16
 * `Error.hs`, `mapSQLtoHTTP`), checked in the same order it checks them.
 * `authed` is PostgREST's "the request's role is not the anon role".
 */
export function httpStatusForPgError(sqlstate: string, message: string, authed: boolean, detail?: string): number {
  const c = sqlstate;
  const starts = (p: string) => c.startsWith(p);
  if (starts('08')) return 503; // connection exception
  if (starts('09')) return 500; // triggered action exception
  if (starts('0L')) return 403; // invalid grantor
  if (starts('0P')) return 403; // invalid role specification
  if (c === '23503') return 409; // foreign_key_violation
  if (c === '23505') return 409; // unique_violation
  if (c === '25006') return 405; // read_only_sql_transaction
  if (c === '21000') return message.endsWith('requires a WHERE clause') ? 400 : 500; // cardinality_violation (pg-safeupdate is a client error)
  if (c === '22023') return message.startsWith('role') && message.endsWith('does not exist') ? 401 : 400; // the token's role does not exist
  if (starts('25')) return 500; // invalid transaction state
  if (starts('28')) return 403; // invalid authorization specification
  if (starts('2D')) return 500; // invalid transaction termination
  if (starts('38') || starts('39') || starts('3B') || starts('40')) return 500;
  if (c === '53400') return 500; // configuration limit exceeded
  if (starts('53')) return 503; // insufficient resources
  if (starts('54') || starts('55')) return 500;
  if (c === '57P01') return 503; // admin shutdown
  if (starts('57') || starts('58') || starts('F0') || starts('HV')) return 500;
  if (c === 'P0001') return 400; // RAISE's default SQLSTATE
  if (starts('P0') || starts('XX')) return 500;
  if (c === '42883') return message.startsWith('function xmlagg(') ? 406 : 404; // undefined function
  if (c === '42P01') return 404; // undefined table
  if (c === '42P17') return 500; // infinite recursion (in a policy, typically)
  if (c === '42501') return authed ? 403 : 401; // insufficient privilege
  if (starts('PT')) {
    // RAISE SQLSTATE 'PT402' picks the status; PostgREST falls back to 500 when it is not a number.
    const n = Number(c.slice(2));
    return Number.isInteger(n) && n >= 100 && n <= 999 ? n : 500;
  }
  if (c === 'PGRST') {
    // RAISE SQLSTATE 'PGRST' USING DETAIL = '{"status": 402, "headers": {…}}': the status is in the detail;
    // unparseable JSON is PostgREST's PGRST121, a 500.
    try {
      const d = JSON.parse(detail ?? '') as { status?: unknown };
      JSON.parse(message);
      return typeof d.status === 'number' && Number.isInteger(d.status) ? d.status : 500;
    } catch {
      return 500;
    }
  }
  return 400;
}
