/** PostgREST's SQLSTATE → HTTP status table (Error.hs mapSQLtoHTTP), and the preamble text. Pure. */
import { describe, expect, it } from 'vitest';
import { httpStatusForPgError } from '../../cli/core/as/http-status.js';
import { requestPreamble } from '../../cli/core/postgrest/request.js';

describe('httpStatusForPgError', () => {
  it.each([
    ['42501', 'permission denied for table t', false, 401],
    ['42501', 'permission denied for table t', true, 403],
    ['P0001', 'nope', true, 400],
    ['23505', 'duplicate key', true, 409],
    ['23503', 'fk', true, 409],
    ['25006', 'cannot execute UPDATE in a read-only transaction', true, 405],
    ['22023', 'role "x" does not exist', true, 401],
    ['22023', 'invalid value', true, 400],
    ['21000', 'UPDATE requires a WHERE clause', true, 400],
    ['21000', 'more than one row returned by a subquery', true, 500],
    ['42P01', 'relation does not exist', true, 404],
    ['42883', 'function f() does not exist', true, 404],
    ['42P17', 'infinite recursion detected in policy', true, 500],
    ['57014', 'canceling statement due to statement timeout', true, 500],
    ['53300', 'too many connections', true, 503],
    ['08006', 'connection failure', true, 503],
    ['PT402', 'payment required', true, 402],
    ['22P02', 'invalid input syntax for type uuid', true, 400],
  ] as const)('%s (%s, authed=%s) → %i', (state, msg, authed, status) => {
    expect(httpStatusForPgError(state, msg, authed)).toBe(status);
  });

  it('RAISE SQLSTATE PGRST takes the status from its JSON detail, else 500', () => {
    expect(httpStatusForPgError('PGRST', '{"code":"123","message":"x"}', true, '{"status":418,"headers":{}}')).toBe(418);
    expect(httpStatusForPgError('PGRST', 'not json', true, '{"status":418}')).toBe(500);
  });
});

describe('requestPreamble', () => {
  const req = { role: "o'brien", claims: { sub: 'x', note: "a'b\\c" }, method: 'GET', path: '/t', headers: { Cookie: 'c=1', Authorization: 'Bearer t' } };

  it("writes PostgREST's settings in order, as transaction-local SETs with escaped literals", () => {
    const text = requestPreamble({ ...req, settings: { search_path: '"public", public', statement_timeout: '3s' } }, { readOnly: true });
    expect(text.split('\n')).toEqual([
      'begin isolation level read committed read only;',
      'set local search_path = "public", public;',
      "set local statement_timeout = E'3s';",
      "set local role = E'o''brien';",
      `set local request.jwt.claims = E'{"sub":"x","note":"a''b\\\\\\\\c","role":"o''brien"}';`,
      "set local request.method = E'GET';",
      "set local request.path = E'/t';",
      `set local request.headers = E'{"authorization":"Bearer t"}';`,
      "set local request.cookies = E'{}';",
    ]);
  });

  it('refuses a list setting that is not a list of identifiers, and an odd setting name', () => {
    expect(() => requestPreamble({ ...req, settings: { search_path: "public; drop table x" } })).toThrow(/not a list of identifiers/);
    expect(() => requestPreamble({ ...req, settings: { 'x; drop': '1' } })).toThrow(/not a setting name/);
    expect(() => requestPreamble(req, { isolation: 'chaos' })).toThrow(/isolation/);
  });
});
