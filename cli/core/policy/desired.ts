/**
 * Overlay `policies/` on a database that already has `sql/` applied: for every
 * relation named by a file, drop its policies, revoke the API roles' and
 * PUBLIC's table privileges, turn RLS and FORCE off, then run the file. One
 * transaction: either every file applies or nothing changes.
 */
import { quoteIdent, type Sql, type TransactionSql } from '../db.js';
import { RowguardError, pgFieldsOf } from '../errors.js';
import { locateCharPosition } from '../sql-text.js';
import { qualified } from '../catalog/model.js';
import type { PolicyFile } from './files.js';
import { qualifiedName } from './render.js';

interface Target {
  schema: string;
  name: string;
  oid: string;
  kind: string;
}

// relkind: r table, p partitioned table, v view, m materialized view, f foreign table
const KINDS_WITH_RLS = new Set(['r', 'p']);
const KINDS_WITH_GRANTS = new Set(['r', 'p', 'v', 'm', 'f']);

export async function overlayPolicyFiles(sql: Sql, files: readonly PolicyFile[], apiRoles: readonly string[]): Promise<void> {
  if (files.length === 0) return;
  try {
    await sql.begin((tx) => runOverlay(tx, files, apiRoles, false));
  } catch (err) {
    if (err instanceof RowguardError) throw err;
    // The server gave no position: run again statement by statement (the first
    // run rolled back) so the error names the statement's line. That run always
    // rolls back too: it exists only to find the statement.
    const rollback = new Error('rollback');
    await sql
      .begin(async (tx) => {
        await runOverlay(tx, files, apiRoles, true);
        throw rollback;
      })
      .catch((e: unknown) => {
        if (e !== rollback) throw e;
      });
    throw err;
  }
}

async function runOverlay(tx: TransactionSql, files: readonly PolicyFile[], apiRoles: readonly string[], locate: boolean): Promise<void> {
  const rows = await tx<Target[]>`
    select n.nspname as schema, c.relname as name, c.oid::int8::text as oid, c.relkind as kind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    join unnest(${files.map((f) => f.schema)}::text[], ${files.map((f) => f.table)}::text[]) as w(s, t)
      on w.s = n.nspname and w.t = c.relname`;
  const byName = new Map(rows.map((r) => [qualified(r.schema, r.name), r]));
  for (const f of files) {
    const t = byName.get(f.qualified);
    if (!t) {
      throw new RowguardError('usage', `${f.displayPath}: ${f.qualified} does not exist after applying sql/`, {
        hint: 'create the table in a migration in sql/, or rename the file: policies/<schema>.<table>.sql',
      });
    }
    if (!KINDS_WITH_GRANTS.has(t.kind)) {
      throw new RowguardError('usage', `${f.displayPath}: ${f.qualified} is not a table or view (relkind ${t.kind})`);
    }
    const notGrant = KINDS_WITH_RLS.has(t.kind) ? undefined : f.statements.find((s) => s.kind !== 'grant');
    if (notGrant) {
      throw new RowguardError('usage', `${f.qualified} is a view or foreign table: only GRANT/REVOKE apply to it`, {
        location: locateCharPosition(f.text, 1, f.displayPath, notGrant.startChars),
        hint: "put the policies in the files of the tables it reads, and make a view security_invoker so that they apply to the view's callers",
      });
    }
  }
  const existing = (await tx<Array<{ rolname: string }>>`select rolname from pg_roles where rolname = any(${[...apiRoles]}::text[])`).map((r) => r.rolname);
  const grantees = [...existing.map(quoteIdent), 'public'].join(', ');
  const policies = await tx<Array<{ oid: string; name: string }>>`
    select polrelid::int8::text as oid, polname as name from pg_policy where polrelid = any(${rows.map((r) => r.oid)}::oid[])`;
  const policiesOf = new Map<string, string[]>();
  for (const p of policies) (policiesOf.get(p.oid) ?? policiesOf.set(p.oid, []).get(p.oid)!).push(p.name);
  // Grants to these grantees that a role other than the owner made (on the table or a
  // column): REVOKE removes only its issuer's grants, so each is revoked as its grantor.
  // aclexplode grantee 0 = PUBLIC.
  const byOthers = await tx<Array<{ oid: string; grantor: string; grantee: string }>>`
    select distinct c.oid::int8::text as oid, pg_get_userbyid(a.grantor) as grantor,
           case when a.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(a.grantee)) end as grantee
    from pg_class c
    cross join lateral (
      select grantor, grantee from aclexplode(c.relacl)
      union all
      select x.grantor, x.grantee from pg_attribute at cross join lateral aclexplode(at.attacl) x where at.attrelid = c.oid and at.attnum > 0
    ) a
    where c.oid = any(${rows.map((r) => r.oid)}::oid[]) and a.grantor <> c.relowner
      and (a.grantee = 0 or pg_get_userbyid(a.grantee) = any(${existing}::text[]))`;
  const byOthersOf = new Map<string, Array<{ grantor: string; grantee: string }>>();
  for (const g of byOthers) (byOthersOf.get(g.oid) ?? byOthersOf.set(g.oid, []).get(g.oid)!).push(g);
  const reset: string[] = [];
  for (const t of rows) {
    const q = qualifiedName(t.schema, t.name);
    for (const name of policiesOf.get(t.oid) ?? []) reset.push(`drop policy ${quoteIdent(name)} on ${q};`);
    // REVOKE on the table also revokes the same privileges granted per column (REVOKE docs).
    // CASCADE: an API role that sql/ gave a grant option may have passed the privilege
    // on, and REVOKE refuses while such dependent grants exist. policies/ files cannot
    // grant with grant option, so after the file runs no such grant could exist anyway.
    // The grants others made go first: a grantor that is itself an API role loses its
    // privileges, and with them the right to revoke, in the owner's REVOKE.
    for (const g of byOthersOf.get(t.oid) ?? []) reset.push(`set local role ${quoteIdent(g.grantor)}; revoke all on table ${q} from ${g.grantee} cascade; reset role;`);
    reset.push(`revoke all on table ${q} from ${grantees} cascade;`);
    if (KINDS_WITH_RLS.has(t.kind)) reset.push(`alter table ${q} no force row level security, disable row level security;`);
  }
  await tx.unsafe(reset.join('\n')).simple();

  if (!locate) {
    // One round trip for every file (per-file round trips cost several times more
    // on thousands of tables). A server error's position is a character offset in
    // the combined text, mapped back to its file. "\n;\n" ends a trailing line
    // comment and a last statement written without its semicolon.
    const sep = '\n;\n';
    const starts: number[] = [];
    let offset = 0;
    for (const f of files) {
      starts.push(offset);
      offset += Array.from(f.text).length + sep.length;
    }
    try {
      await tx.unsafe(files.map((f) => f.text).join(sep)).simple();
    } catch (err) {
      const pg = pgFieldsOf(err);
      if (pg?.position) {
        let i = starts.length - 1;
        while (i > 0 && starts[i]! >= pg.position) i--;
        throw fileError(files[i]!, { ...pg, position: pg.position - starts[i]! }, err, 0);
      }
      throw err;
    }
    return;
  }
  for (const f of files) {
    for (const s of f.statements) {
      try {
        await tx.unsafe(s.text).simple();
      } catch (err) {
        const pg = pgFieldsOf(err);
        if (!pg) throw err;
        // CREATE POLICY and GRANT report a missing role without a position: point at its name.
        const role = pg.sqlstate === '42704' ? /^role "(.*)" does not exist$/.exec(pg.message ?? '')?.[1] : undefined;
        const at = role !== undefined ? s.roleAt?.[role] : undefined;
        if (at !== undefined) {
          throw fileError(f, { ...pg, position: 1 }, err, at, `create the role ${role} in a migration in sql/ (roles are server-wide), or correct the name`);
        }
        throw fileError(f, { ...pg, position: pg.position ?? 1 }, err, s.startChars);
      }
    }
  }
}

function fileError(f: PolicyFile, pg: NonNullable<ReturnType<typeof pgFieldsOf>>, cause: unknown, baseOffsetChars: number, hint?: string): RowguardError {
  const location = locateCharPosition(f.text, pg.position ?? 1, f.displayPath, baseOffsetChars);
  return new RowguardError('sql', pg.message ?? 'error in policies file', { location, pg, cause, ...(hint ? { hint } : {}) });
}
