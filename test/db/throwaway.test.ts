/**
 * Throwaway databases (tests, gate, shadow, codegen) when several are made at once: distinct names
 * within one millisecond, dropped even while another client is still connected, and a template
 * someone else is connected to is one provision error (exit 3) naming that session.
 */
import { describe, expect, it } from 'vitest';
import { connect, createThrowawayDatabase } from '../../cli/core/db.js';
import { serverUrl } from '../helpers/pg.js';

const exists = async (name: string) => {
  const sql = connect(serverUrl(), { max: 1 });
  try {
    return (await sql<{ n: number }[]>`select count(*)::int as n from pg_database where datname = ${name}`)[0]!.n === 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
};

describe('throwaway databases made at once', () => {
  it('twelve created in the same moment get twelve names, and all are dropped, one while another client is connected to it', async () => {
    const dbs = await Promise.all(Array.from({ length: 12 }, () => createThrowawayDatabase(serverUrl(), { prefix: 'rg_conc' })));
    expect(new Set(dbs.map((d) => d.name)).size).toBe(12);
    const other = connect(dbs[0]!.url, { max: 1 });
    await other`select 1`;
    try {
      await Promise.all(dbs.map((d) => d.drop()));
    } finally {
      await other.end({ timeout: 1 }).catch(() => undefined);
    }
    for (const d of dbs) expect(await exists(d.name)).toBe(false);
  });

  it('a template another session is connected to: one provision error naming it and that session, nothing left behind', async () => {
    const template = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_conc_tpl' });
    const holder = connect(template.url, { max: 1 });
    try {
      const [{ pid }] = (await holder`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
      const err = await createThrowawayDatabase(serverUrl(), { prefix: 'rg_conc_copy', template: template.name, purpose: 'a shadow database' }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'provision',
        exitCode: 3,
        // Other clients of the shared test server may be listed too; ours must be.
        message: expect.stringMatching(new RegExp(`^cannot create a shadow database on [^ ]+: its template ${template.name} is in use by another session \\(server pid ([0-9]+, )*${pid}(, [0-9]+)*\\)$`)),
        hint: expect.stringContaining(`datname = '${template.name}'`),
      });
      const sql = connect(serverUrl(), { max: 1 });
      try {
        const left = await sql<{ datname: string }[]>`select datname from pg_database where datname like 'rg_conc_copy%'`;
        expect(left).toEqual([]);
      } finally {
        await sql.end({ timeout: 5 });
      }
    } finally {
      await holder.end({ timeout: 1 }).catch(() => undefined);
      await template.drop();
    }
  });
});
