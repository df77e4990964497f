/** A password-like text column with no trigger to hash what is written to it. */
import type { CatalogRule, RawFinding } from '../types.js';
import type { Relation } from '../../catalog/model.js';
import { isTable, isUserRelation } from '../facts.js';
import { isCredentialColumn } from '../sensitive.js';

/** An enabled BEFORE … FOR EACH ROW trigger that fires on `event` for `column` (UPDATE OF lists count). */
function hashedOn(rel: Relation, event: 'INSERT' | 'UPDATE', column: string): boolean {
  return rel.triggers.some(
    (t) => t.enabled && t.timing === 'BEFORE' && t.level === 'ROW' && t.events.includes(event) && (event === 'INSERT' || t.columns.length === 0 || t.columns.includes(column)),
  );
}

export const rule: CatalogRule = {
  kind: 'catalog',
  id: 'credential-column-unhashed',
  level: 'warn',
  category: 'security',
  description: 'credential-looking text column (password, secret, api_key, …) with no BEFORE INSERT/UPDATE row trigger to hash it',
  docs: 'A column named like a credential stores what the application writes. Without a BEFORE ROW trigger (e.g. crypt(new.password, gen_salt(\'bf\'))), one code path that forgets to hash leaves plaintext. Names that say the value is already hashed (password_hash, encrypted_password) are not reported. The trigger\'s body is not read: its presence is the signal. A secret the application must read back (a third-party API key such as openai_api_key) cannot be hashed: keep it encrypted (Supabase Vault, pgsodium) instead, out of any table an API role can read.',
  fix: "a value you only verify (a password, a key you issue): add a BEFORE INSERT OR UPDATE trigger that replaces it with crypt(value, gen_salt('bf')), or store only a hash column; a key the application must read back (a third-party API key): store it encrypted (Supabase Vault) instead of in plaintext",
  check(ctx) {
    const out: RawFinding[] = [];
    for (const rel of ctx.model.relations) {
      if (!isTable(rel) || rel.isPartition || !isUserRelation(ctx, rel)) continue;
      for (const c of rel.columns) {
        if (!isCredentialColumn(c)) continue;
        const missing = (['INSERT', 'UPDATE'] as const).filter((e) => !hashedOn(rel, e, c.name));
        if (missing.length === 0) continue;
        out.push({
          object: `${rel.qualified}.${c.name}`,
          objectKind: 'column',
          message: `${rel.qualified}.${c.name} (${c.type}) looks like a credential and no trigger hashes it on ${missing.join(' or ')}: plaintext is stored unless every writer hashes it first (or encrypts it, for a key the application must read back)`,
        });
      }
    }
    return out;
  },
};
