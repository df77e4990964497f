// codegen writes kysely types for what sql/ builds; --verify fails when the file is stale.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, serverUrl } from '../helpers/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'rg-codegen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rowguard codegen', () => {
  it('writes generated/db.ts from sql/, verifies it, and catches a stale file', async () => {
    mkdirSync(join(dir, 'sql'));
    writeFileSync(join(dir, 'sql', '0001_app.sql'), `
      create schema if not exists auth; create schema if not exists audit; create schema private;
      create table public.projects (id uuid primary key default gen_random_uuid(), name text not null, created_at timestamptz not null default now());
      create table auth.users (id uuid primary key, email text);
      create table audit.log (id bigint generated always as identity primary key, payload jsonb);
      create table private.hidden (id int);
    `);
    const cli = (args: string[]) => runCli(['--db', serverUrl(), ...args], { cwd: dir });
    const w = await cli(['--json', 'codegen']);
    expect(w.code, w.stderr).toBe(0);
    expect(JSON.parse(w.stdout)).toMatchObject({ file: 'generated/db.ts', written: true });
    const text = readFileSync(join(dir, 'generated', 'db.ts'), 'utf8');
    expect(text).toContain('export interface Projects {');
    expect(text).toMatch(/name: string;/);
    expect(text).toMatch(/id: Generated<string>;/);
    expect(text).toContain('export interface AuthUsers {');
    expect(text).toContain('export interface AuditLog {');
    expect(text).not.toContain('Hidden'); // unexposed schemas stay out
    expect(text).toMatch(/"auth\.users": AuthUsers;/);
    const ok = await cli(['codegen', '--verify']);
    expect(ok.code, ok.stderr).toBe(0);
    writeFileSync(join(dir, 'sql', '0002_more.sql'), 'alter table public.projects add column archived boolean not null default false;\n');
    const stale = await cli(['codegen', '--verify']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('generated/db.ts is stale');
    expect(readFileSync(join(dir, 'generated', 'db.ts'), 'utf8')).toBe(text); // verify writes nothing
    expect((await cli(['codegen'])).code).toBe(0);
    expect(readFileSync(join(dir, 'generated', 'db.ts'), 'utf8')).toMatch(/archived: Generated<boolean>;/);
    expect((await cli(['codegen', '--verify'])).code).toBe(0);
  });
});
