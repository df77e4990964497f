/**
 * Passwords: the bcrypt trigger's rules, and a property test. Hundreds of
 * random passwords (unicode, exactly 72 bytes, 73+ bytes, empty) go in through
 * the API (cloud_credentials as their owner) and as the owner (auth.users); then
 * every column of every table, the audit log included, is scanned: no
 * plaintext anywhere, and no rejected password in any error field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrate, type TestDatabase } from '../helpers/pg.js';
import { runAsRequest } from '../../cli/core/postgrest/request.js';
import { IDS, requestFor, seed, sqlstateOf } from './seed.js';
import { mulberry32 } from '../helpers/random.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('rg_passwords');
  await migrate(db.url);
  await seed(db.sql);
});
afterAll(async () => {
  await db?.drop();
});

// Seeded, so a failure can be replayed with the printed seed.
const prng = mulberry32;

const ALPHABETS = [
  ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~',
  'àéîõüçñßøåæœÀÉÎÕÜ', // 2 bytes
  'пароль密码パスワード암호סיסמהكلمة', // 2-3 bytes
  '😀🔑🗝️🦄👩‍💻🇫🇷', // 4 bytes, joiners, flags
  '\u0301\u0308\u200b\u00a0\t\n\r', // combining marks, zero-width, NBSP, whitespace
];

function randomChar(r: () => number): string {
  const alphabet = ALPHABETS[Math.floor(r() * ALPHABETS.length)]!;
  const chars = [...alphabet];
  return chars[Math.floor(r() * chars.length)]!;
}

/** A random string of exactly `bytes` UTF-8 bytes (ASCII fills the remainder). */
function randomPassword(r: () => number, bytes: number): string {
  let s = '';
  for (;;) {
    const c = randomChar(r);
    if (Buffer.byteLength(s + c) > bytes) break;
    s += c;
  }
  while (Buffer.byteLength(s) < bytes) s += String.fromCharCode(33 + Math.floor(r() * 94));
  return s;
}

const SEED = Number(process.env['ROWGUARD_PASSWORD_SEED'] ?? Date.now() % 1_000_000);

interface Case {
  password: string;
  valid: boolean;
}

function cases(): Case[] {
  const r = prng(SEED);
  const out: Case[] = [];
  for (let i = 0; i < 200; i++) out.push({ password: randomPassword(r, 1 + Math.floor(r() * 72)), valid: true });
  for (let i = 0; i < 25; i++) out.push({ password: randomPassword(r, 72), valid: true });
  for (let i = 0; i < 25; i++) out.push({ password: randomPassword(r, 73), valid: false });
  for (let i = 0; i < 15; i++) out.push({ password: randomPassword(r, 74 + Math.floor(r() * 180)), valid: false });
  out.push({ password: '', valid: false });
  // 72 bytes ending in a 4-byte character; 73 bytes where the 73rd byte completes a character.
  out.push({ password: 'a'.repeat(68) + '🔑', valid: true });
  out.push({ password: 'a'.repeat(69) + '🔑', valid: false });
  out.push({ password: 'é'.repeat(36), valid: true });
  out.push({ password: 'é'.repeat(36) + 'x', valid: false });
  return out;
}

const ALL = cases();
const stored: Array<{ password: string; table: 'cloud_credentials' | 'users'; id: string }> = [];

async function inBatches<T>(items: T[], size: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((it, j) => fn(it, i + j)));
}

function errorText(err: unknown): string {
  const e = err as Record<string, unknown>;
  return ['message', 'detail', 'hint', 'where', 'internal_query', 'query'].map((k) => String(e[k] ?? '')).join('\n');
}

describe(`random passwords (seed ${SEED}; replay with ROWGUARD_PASSWORD_SEED=${SEED})`, () => {
  it(`${ALL.length} passwords through the API into cloud_credentials: valid ones hashed at cost >= 10, invalid ones refused with 22023 and nothing stored`, async () => {
    await inBatches(ALL, 4, async (c) => {
      try {
        const id = await runAsRequest(
          db.sql,
          requestFor('a'),
          async (tx) => {
            const [r] = await tx<{ id: string }[]>`insert into public.cloud_credentials (user_id, encrypted_password) values (${IDS.a}, ${c.password}) returning id::text`;
            return r!.id;
          },
          { commit: true },
        );
        expect(c.valid, `accepted a ${Buffer.byteLength(c.password)}-byte password`).toBe(true);
        stored.push({ password: c.password, table: 'cloud_credentials', id });
      } catch (err) {
        if (c.valid) throw err;
        expect((err as { code?: string }).code).toBe('22023');
        if (c.password !== '') expect(errorText(err).includes(c.password), 'the error repeats the password').toBe(false);
      }
    });
    expect(stored.length).toBe(ALL.filter((c) => c.valid).length);
  });

  it('every fourth password also as a GoTrue user (owner path, INSERT then UPDATE)', async () => {
    await inBatches(
      ALL.filter((_, i) => i % 4 === 0),
      4,
      async (c, i) => {
        const id = `eeeeeeee-0000-4000-8000-${(i + 1).toString().padStart(12, '0')}`;
        await db.sql`insert into auth.users (id, email, role, aud) values (${id}, ${`p${i}@example.test`}, 'authenticated', 'authenticated')`;
        try {
          await db.sql`update auth.users set encrypted_password = ${c.password} where id = ${id}`;
          expect(c.valid).toBe(true);
          stored.push({ password: c.password, table: 'users', id });
        } catch (err) {
          if (c.valid) throw err;
          expect((err as { code?: string }).code).toBe('22023');
          if (c.password !== '') expect(errorText(err).includes(c.password)).toBe(false);
        }
      },
    );
  });

  it('each stored value is a bcrypt hash of cost >= 10 of exactly that password (a sample is re-checked with crypt)', async () => {
    const rows = await db.sql<{ id: string; h: string }[]>`
      select id::text, encrypted_password as h from public.cloud_credentials
      union all select id::text, encrypted_password from auth.users where encrypted_password is not null`;
    const byId = new Map(rows.map((r) => [r.id, r.h]));
    for (const s of stored) {
      const h = byId.get(s.id);
      expect(h, `row ${s.id}`).toMatch(/^\$2[ab]\$(1\d|[2-3]\d)\$[./A-Za-z0-9]{53}$/);
    }
    const sample = stored.filter((_, i) => i % 8 === 0);
    await inBatches(sample, 4, async (s) => {
      const [r] = await db.sql<{ ok: boolean }[]>`select extensions.crypt(${s.password}, ${byId.get(s.id)!}) = ${byId.get(s.id)!} as ok`;
      expect(r!.ok, `crypt() check for a ${Buffer.byteLength(s.password)}-byte password`).toBe(true);
    });
  });

  it('no password appears in any column of any table (audit log included), as text or JSON-escaped', async () => {
    const columns = await db.sql<{ rel: string; col: string }[]>`
      select format('%I.%I', n.nspname, c.relname) as rel, quote_ident(a.attname) as col
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
      order by 1, 2`;
    expect(columns.some((c) => c.rel === 'audit.log' && c.col === 'new_row')).toBe(true);
    const values: string[] = [];
    for (const { rel, col } of columns) {
      const rows = await db.sql.unsafe<{ v: string | null }[]>(`select ${col}::text as v from ${rel}`);
      for (const r of rows) if (r.v !== null) values.push(r.v);
    }
    const audit = await db.sql<{ n: number }[]>`select count(*)::int as n from audit.log where table_name = 'cloud_credentials'`;
    expect(audit[0]!.n).toBeGreaterThanOrEqual(stored.filter((s) => s.table === 'cloud_credentials').length);
    const haystack = values.join('\u0000');
    // Very short passwords (a few ASCII characters) occur in ordinary text by chance; they are covered by the hash checks above.
    const checked = ALL.filter((c) => [...c.password].length >= 6);
    expect(checked.length).toBeGreaterThan(200);
    for (const c of checked) {
      expect(haystack.includes(c.password), `plaintext found: ${JSON.stringify(c.password)}`).toBe(false);
      expect(haystack.includes(JSON.stringify(c.password).slice(1, -1)), `JSON-escaped plaintext found: ${JSON.stringify(c.password)}`).toBe(false);
    }
    // The hashes themselves are redacted in the audit log.
    const [leak] = await db.sql<{ n: number }[]>`select count(*)::int as n from audit.log where coalesce(old_row::text, '') || coalesce(new_row::text, '') ~ '\\$2[aby]\\$'`;
    expect(leak!.n).toBe(0);
  });
});

describe('bcrypt trigger rules', () => {
  async function insertUser(password: string | null): Promise<string | null> {
    const [r] = await db.sql<{ h: string | null }[]>`
      insert into auth.users (id, encrypted_password) values (gen_random_uuid(), ${password}) returning encrypted_password as h`;
    return r!.h;
  }

  it('keeps NULL (no password)', async () => {
    expect(await insertUser(null)).toBeNull();
  });
  it('keeps existing bcrypt hashes of cost >= 10 ($2a$, $2b$, $2y$)', async () => {
    const [g] = await db.sql<{ h10: string; h12: string }[]>`select extensions.crypt('x', extensions.gen_salt('bf', 10)) as h10, extensions.crypt('x', extensions.gen_salt('bf', 12)) as h12`;
    for (const h of [g!.h10, g!.h12, g!.h10.replace('$2a$', '$2b$'), g!.h10.replace('$2a$', '$2y$')]) expect(await insertUser(h)).toBe(h);
  });
  it('rejects a bcrypt hash of cost < 10 with 22023, and stores nothing', async () => {
    const [g] = await db.sql<{ h: string }[]>`select extensions.crypt('x', extensions.gen_salt('bf', 6)) as h`;
    const before = await db.sql`select count(*) from auth.users`;
    expect(await sqlstateOf(insertUser(g!.h))).toBe('22023');
    expect(await db.sql`select count(*) from auth.users`).toEqual(before);
  });
  it('hashes a string that only resembles a hash (wrong length) as a plaintext', async () => {
    const h = await insertUser('$2a$10$tooShort');
    expect(h).toMatch(/^\$2a\$10\$/);
    expect(h).not.toBe('$2a$10$tooShort');
  });
  it('does not rehash an unchanged value on UPDATE (GoTrue rewrites every column)', async () => {
    const [r] = await db.sql<{ id: string; h: string }[]>`insert into auth.users (id, encrypted_password) values (gen_random_uuid(), 'unchanged-pw') returning id, encrypted_password as h`;
    const [u] = await db.sql<{ h: string }[]>`update auth.users set encrypted_password = encrypted_password, email = 'u@example.test' where id = ${r!.id} returning encrypted_password as h`;
    expect(u!.h).toBe(r!.h);
  });
  it('uses the configured cost, which can be raised but not lowered below 10', async () => {
    await db.sql.begin(async (tx) => {
      await tx`update private.password_settings set bcrypt_cost = 11`;
      const [r] = await tx<{ h: string }[]>`insert into auth.users (id, encrypted_password) values (gen_random_uuid(), 'cost-eleven') returning encrypted_password as h`;
      expect(r!.h).toMatch(/^\$2a\$11\$/);
      throw new Error('rollback');
    }).catch((e: Error) => {
      if (e.message !== 'rollback') throw e;
    });
    expect(await sqlstateOf(db.sql`update private.password_settings set bcrypt_cost = 9`)).toBe('23514');
  });
  it('names the column in its errors', async () => {
    const err = await insertUser('').catch((e: Error) => e);
    expect(String((err as Error).message)).toBe('auth.users.encrypted_password: empty password rejected');
  });
});
