/** policies/ file validation: a file may change only its own table, and only its RLS flags, API grants and policies. */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicyFileName, policyFileName, validatePolicyFile } from '../../cli/core/policy/files.js';
import { writePolicyFiles } from '../../cli/core/policy/pull.js';
import { stateOf } from './fixtures.js';
import { RowguardError } from '../../cli/core/errors.js';
import { tempDir } from '../helpers/tmp.js';

const ctx = { schema: 'public', table: 't', displayPath: 'policies/public.t.sql', grantees: ['PUBLIC', 'anon', 'authenticated', 'service_role'] };

async function refusal(text: string, c = ctx): Promise<string> {
  const err = await validatePolicyFile(text, c).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, text).toBeInstanceOf(RowguardError);
  const e = err as RowguardError;
  return `${e.location!.line}:${e.location!.column}: ${e.message}`;
}

describe('policies/ file validation', () => {
  it('accepts RLS flags, grants and revokes (table and column), and policies on its own table', async () => {
    const ok = await validatePolicyFile(
      [
        '-- leading comment',
        'alter table public.t enable row level security, force row level security;',
        'alter table t no force row level security;',
        'grant select, insert on table public.t to anon, authenticated;',
        'grant select (id, "Name") on public.t to public;',
        'revoke delete on public.t from service_role;',
        '/* block /* nested */ comment */ create policy p on public.t for select to anon using ((select true from public.other limit 1));',
      ].join('\n'),
      ctx,
    );
    expect(ok.map((s) => s.kind)).toEqual(['rls', 'rls', 'grant', 'grant', 'grant', 'policy']);
    expect(ok[5]!.text.startsWith('create policy p')).toBe(true);
  });

  it('refuses statements on another table, with the position of the name', async () => {
    expect(await refusal('create policy p on public.other using (true);')).toBe("1:20: public.other is not this file's table (public.t): a policies/ file only changes its own table");
    expect(await refusal('grant select on public.t, public.other to anon;')).toMatch(/^1:27: public.other is not this file's table/);
    expect(await refusal('alter table app.t enable row level security;')).toMatch(/^1:13: app.t is not this file's table/);
    // Unqualified names resolve through search_path: only allowed when the file's schema is public.
    expect(await refusal('alter table t enable row level security;', { ...ctx, schema: 'app' })).toMatch(/^1:13: t is not this file's table \(app\.t\)/);
  });

  it('refuses anything else: DDL, DML, transaction control, DO blocks, schema-wide grants, other roles, grant options', async () => {
    expect(await refusal('create policy p on public.t using (true);\nselect pg_sleep(10);')).toMatch(/^2:1: SELECT is not allowed/);
    expect(await refusal('commit;')).toMatch(/^1:1: TRANSACTION is not allowed/);
    expect(await refusal("do $$ begin execute 'drop table public.t'; end $$;")).toMatch(/^1:1: DO is not allowed/);
    expect(await refusal('alter table public.t enable row level security, add column x int;')).toMatch(/may only ENABLE\/DISABLE\/FORCE\/NO FORCE ROW LEVEL SECURITY/);
    expect(await refusal('grant select on all tables in schema public to anon;')).toMatch(/may only GRANT or REVOKE privileges on its own table/);
    expect(await refusal('grant usage on schema public to anon;')).toMatch(/may only GRANT or REVOKE privileges on its own table/);
    expect(await refusal('grant select on public.t to postgres;')).toMatch(/^1:29: postgres is not an API role/);
    expect(await refusal('grant select on public.t to anon, current_user;')).toMatch(/^1:35: CURRENT_USER is not an API role/);
    expect(await refusal('grant select on public.t to anon with grant option;')).toMatch(/WITH GRANT OPTION is not managed/);
    expect(await refusal('alter policy p on public.t rename to q;')).toMatch(/RENAME is not allowed/);
  });

  it('DROP POLICY IF EXISTS and ALTER POLICY (the migration style) are refused with what to write instead', async () => {
    const hintOf = async (text: string) => {
      const e = (await validatePolicyFile(text, ctx).catch((x: unknown) => x)) as RowguardError;
      expect(e, text).toBeInstanceOf(RowguardError);
      return e.hint;
    };
    for (const text of ['drop policy if exists "p" on public.t;', 'alter policy p on public.t using (false);', 'alter policy p on public.t rename to q;']) {
      expect(await hintOf(`create policy p on public.t using (true);\n${text}`)).toMatch(/^a policies\/ file states the policies that should exist: delete this line/);
    }
    expect(await hintOf('drop table public.t;')).toBe('put other statements in a migration in sql/');
  });

  it('a syntax error is reported where the parser stopped', async () => {
    expect(await refusal('alter table public.t enable row level security;\ncreate policy p on public.t usin (true);')).toMatch(/^2:\d+: syntax error at or near "usin"/);
  });
});

describe('policies/ file names of 63-byte names', () => {
  const tmp = () => tempDir('rowguard-names-');

  it('names beyond ASCII that %XX would make too long keep their characters, and read back the same', () => {
    const schema = 'ö'.repeat(31); // 62 bytes
    const table = 'ü'.repeat(31) + ' x';
    const name = policyFileName(schema, table);
    expect(name).toBe(`${schema}.${'ü'.repeat(31)}%20x.sql`);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(parsePolicyFileName(name)).toEqual({ schema, table });
    // Short names keep the canonical %XX form.
    expect(policyFileName('ö', 't')).toBe('%C3%B6.t.sql');
    const dir = tmp();
    writePolicyFiles(stateOf([{ table: `${schema}.${table}`, rls: true }]), join(dir, 'policies'), dir);
    expect(readdirSync(join(dir, 'policies'))).toEqual([name]);
  });

  it('a name no file system takes is refused before anything is written', () => {
    const dir = tmp();
    const state = stateOf([{ table: 'public.a', rls: true }, { table: `${' '.repeat(63)}.${'/'.repeat(63)}`, rls: true }]);
    expect(() => writePolicyFiles(state, join(dir, 'policies'), dir)).toThrow(/its policies\/ file name would be 383 bytes, longer than a file name may be \(255\); nothing was written/);
    expect(existsSync(join(dir, 'policies'))).toBe(false);
  });
});
