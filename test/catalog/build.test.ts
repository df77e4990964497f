import { describe, expect, it } from 'vitest';
import { modelOf } from '../policy/fixtures.js';
import { aclItemGrantOptions, aclItemGrantor, grantsByOthersOf, grantsFromAclItems, parseAclItem } from '../../cli/core/catalog/build.js';

describe('aclitem text', () => {
  it('reads grantee, privileges (grant options ignored) and PUBLIC', () => {
    expect(parseAclItem('authenticated=arwd/postgres')).toEqual([
      { grantee: 'authenticated', privilege: 'INSERT' },
      { grantee: 'authenticated', privilege: 'SELECT' },
      { grantee: 'authenticated', privilege: 'UPDATE' },
      { grantee: 'authenticated', privilege: 'DELETE' },
    ]);
    expect(parseAclItem('=r*/postgres')).toEqual([{ grantee: 'PUBLIC', privilege: 'SELECT' }]);
    expect(parseAclItem('postgres=arwdDxtm/postgres').map((e) => e.privilege)).toEqual(['INSERT', 'SELECT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'MAINTAIN']);
    expect(parseAclItem('u=X/"a b"')).toEqual([{ grantee: 'u', privilege: 'EXECUTE' }]);
  });

  it('reads a quoted grantee, with "" for a quote and = / inside the name', () => {
    expect(parseAclItem('"acl ""odd"" role=x"=w*x/postgres')).toEqual([
      { grantee: 'acl "odd" role=x', privilege: 'UPDATE' },
      { grantee: 'acl "odd" role=x', privilege: 'REFERENCES' },
    ]);
    expect(parseAclItem('"a/b"=U/postgres')).toEqual([{ grantee: 'a/b', privilege: 'USAGE' }]);
  });

  it('groups by grantee, PUBLIC first, privileges in canonical order', () => {
    expect(grantsFromAclItems(['b=ar/o', '=r/o', 'a=U/o', 'b=d/o'])).toEqual([
      { grantee: 'PUBLIC', privileges: ['SELECT'] },
      { grantee: 'a', privileges: ['USAGE'] },
      { grantee: 'b', privileges: ['SELECT', 'INSERT', 'DELETE'] },
    ]);
  });

  it('reads which privileges carry the grant option, with quoted names around', () => {
    expect(aclItemGrantOptions('anon=r*aw*/postgres', null)).toEqual([
      { grantee: 'anon', privilege: 'SELECT', column: null },
      { grantee: 'anon', privilege: 'UPDATE', column: null },
    ]);
    expect(aclItemGrantOptions('"a=*/b"=x*/"c*/d"', 'col')).toEqual([{ grantee: 'a=*/b', privilege: 'REFERENCES', column: 'col' }]);
    expect(aclItemGrantOptions('=r/"o*"', null)).toEqual([]);
  });

  it('reads the grantor, quoted or not, and keeps the grants a role other than the owner made', () => {
    expect(aclItemGrantor('anon=r/postgres')).toBe('postgres');
    expect(aclItemGrantor('"a/b=c"=r/"x ""y"" /z"')).toBe('x "y" /z');
    expect(aclItemGrantor('=r*/o')).toBe('o');
    expect(grantsByOthersOf(['o=arwd/o', 'anon=r/o', 'anon=ar/"Grant Or"', '=w/g'], 'o', null)).toEqual([
      { grantee: 'anon', privilege: 'INSERT', grantor: 'Grant Or', column: null },
      { grantee: 'anon', privilege: 'SELECT', grantor: 'Grant Or', column: null },
      { grantee: 'PUBLIC', privilege: 'UPDATE', grantor: 'g', column: null },
    ]);
  });
});

describe('the PUBLIC pseudo-role', () => {
  // Postgres reserves "public" but lets a role be named "PUBLIC"; its grants and policies
  // would read as granted to every role (a pulled file would then grant to everyone).
  it('a role named "PUBLIC" is refused, not read as every role', () => {
    const table = { table: 'public.t', rls: true, grants: { PUBLIC: ['SELECT'] }, policies: [{ name: 'p', roles: ['PUBLIC'] }] };
    expect(() => modelOf([table])).not.toThrow();
    expect(() => modelOf([table], ['PUBLIC'])).toThrow(/has a role named "PUBLIC", which rowguard cannot tell apart from PUBLIC \(every role\)/);
  });
});

