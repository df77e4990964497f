/**
 * Where kysely-codegen 0.20's output and what really happens part ways, and the
 * edits that bring them together. The types describe kysely's PostgresDialect on
 * node-postgres (`pg`) with pg's default type parsers: what a select returns is
 * what pg hands back, and a write that type-checks is one pg can send and
 * Postgres accepts. Each edit goes through kysely-codegen's public AST (the
 * serializer hook), after its own transform, so its names and imports are kept.
 *
 *  - GENERATED ALWAYS identity and generated columns: GeneratedAlways<S> (428C9; issue #271),
 *    S the select type (GeneratedAlways<Int8> would select the ColumnType object itself).
 *  - Columns of views that are not updatable (pg_column_is_updatable) and of
 *    materialized views: read-only, ColumnType<S, never, never>.
 *  - A relation none of whose columns is writable: ColumnType<S, undefined, undefined>,
 *    since kysely's Insertable<R> = {} would take any object literal.
 *  - Columns whose type is a NOT NULL domain: not nullable (the insert omitting
 *    them fails with 23502); a domain default makes them Generated<T>.
 *  - Arrays pg has no parser for (enums, domains, composites, extension types,
 *    circle[], int4range[] …): it returns their Postgres text, '{a,b}', so they
 *    select as string (JS arrays are still accepted on writes).
 *  - numeric[]: pg parses it into JS numbers (unlike numeric, a string).
 *  - point and circle: pg parses them into objects but sends objects as JSON,
 *    which Postgres refuses, so they are written as text: '(1,2)', '<(1,2),3>'.
 *  - json/jsonb: pg sends a JS array as a Postgres array and a JS string as is,
 *    so a JSON array or string must be written as JSON text (JSON.stringify);
 *    `null` is SQL NULL, not JSON null, so a NOT NULL json column refuses it.
 *  - inheritance children: kysely-codegen drops every pg_inherits child as if it
 *    were a partition; only real partitions (relispartition) are left out.
 *  - table interfaces named like something the file uses (a table `date` would
 *    redefine Date for every timestamp, `DB` would merge into the DB interface).
 *  - comments containing `*\/` would end the JSDoc block and break the file.
 */
import type { Kysely } from 'kysely';

type Codegen = typeof import('kysely-codegen');
type Statement = ReturnType<Codegen['transform']>[number];
type Expression = InstanceType<Codegen['PropertyNode']>['value'];
type Metadata = InstanceType<Codegen['DatabaseMetadata']>;

export interface ColumnFact {
  /** GENERATED ALWAYS identity or generated column: no write may set it. */
  always: boolean;
  /** False for columns of materialized views and view columns Postgres cannot write. */
  writable: boolean;
  /** The type pg sees in RowDescription: domains are sent as their base type. */
  wireType: number;
  /** A table column whose type is (a domain over) a domain declared NOT NULL. */
  domainNotNull: boolean;
  /** A domain in the column type's chain has a DEFAULT. */
  domainDefault: boolean;
}

export interface CatalogFacts {
  /** Keyed as kysely-codegen keys the DB interface: `table` in public, else `schema.table`, then the column. */
  columns: Map<string, Map<string, ColumnFact>>;
  /** `schema.table` of every partition (relispartition) in the schemas. */
  partitions: Set<string>;
  /** The schemas the file describes, by exact name. */
  schemas: Set<string>;
}

export const tableKey = (schema: string, table: string): string => (schema === 'public' ? table : `${schema}.${table}`);

/** One read of the catalogs for every column the file may describe. */
export async function readCatalogFacts(db: Kysely<any>, schemas: readonly string[]): Promise<CatalogFacts> {
  const { sql } = await import('kysely');
  // A domain's chain, outermost first: each row is one domain's base type, until a non-domain.
  const { rows } = await sql<{
    schema: string; table: string; partition: boolean; column: string; always: boolean; writable: boolean;
    wire: number; domain_not_null: boolean; domain_default: boolean;
  }>`
    with recursive chain (domain, base, not_null, has_default) as (
      select t.oid, t.typbasetype, t.typnotnull, t.typdefaultbin is not null
        from pg_catalog.pg_type t where t.typtype = 'd' /* domain */
      union all
      select c.domain, b.typbasetype, b.typnotnull, b.typdefaultbin is not null
        from chain c join pg_catalog.pg_type b on b.oid = c.base and b.typtype = 'd'
    ), domains as (
      select c.domain, bool_or(c.not_null) as not_null, bool_or(c.has_default) as has_default,
             (array_agg(c.base) filter (where b.typtype <> 'd'))[1] as base
        from chain c join pg_catalog.pg_type b on b.oid = c.base
       group by c.domain
    )
    select n.nspname as schema, c.relname as table, c.relispartition as partition, a.attname as column,
           (a.attidentity = 'a' /* always */ or a.attgenerated <> '') as always,
           case when c.relkind in ('v' /* view */, 'm' /* materialized view */)
                then pg_catalog.pg_column_is_updatable(c.oid, a.attnum, true) else true end as writable,
           coalesce(d.base, a.atttypid) as wire,
           -- a view's column reads NULL through an outer join whatever its domain says
           coalesce(d.not_null, false) and c.relkind in ('r', 'p', 'f') as domain_not_null,
           coalesce(d.has_default, false) as domain_default
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_class c on c.oid = a.attrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      left join domains d on d.domain = a.atttypid
     where c.relkind in ('r', 'p', 'v', 'm', 'f') and a.attnum > 0 and not a.attisdropped
       and n.nspname = any(${[...schemas]}::text[])`.execute(db);
  const columns = new Map<string, Map<string, ColumnFact>>();
  const partitions = new Set<string>();
  for (const r of rows) {
    if (r.partition) partitions.add(`${r.schema}.${r.table}`);
    const key = tableKey(r.schema, r.table);
    if (!columns.has(key)) columns.set(key, new Map());
    columns.get(key)!.set(r.column, {
      always: r.always, writable: r.writable, wireType: Number(r.wire), domainNotNull: r.domain_not_null, domainDefault: r.domain_default,
    });
  }
  return { columns, partitions, schemas: new Set(schemas) };
}

/** What pg (with its default parsers) returns for a type, probed on the parser itself. */
export interface DriverParsers {
  /** pg turns this array type's text into a JS array. */
  parsesArray(oid: number): boolean;
  /** pg turns this array type's elements into JS numbers (numeric[]: parseFloatArray, though numeric is a string). */
  arrayOfNumbers(oid: number): boolean;
}

export function pgParsers(types: { getTypeParser(oid: number, format?: 'text'): (value: string) => unknown }): DriverParsers {
  return {
    parsesArray: (oid) => Array.isArray(types.getTypeParser(oid, 'text')('{}')),
    arrayOfNumbers: (oid) => {
      const v = types.getTypeParser(oid, 'text')('{1}');
      return Array.isArray(v) && typeof v[0] === 'number';
    },
  };
}

/**
 * Before the transform: keep the schemas' tables by exact name (the include pattern
 * matches case-insensitively: "MyApp" would take "myapp" too), drop real
 * partitions only, and make NOT NULL domains required.
 */
export function adjustMetadata(metadata: Metadata, facts: CatalogFacts): void {
  metadata.tables = metadata.tables.filter((t) => facts.schemas.has(t.schema ?? 'public') && !facts.partitions.has(`${t.schema}.${t.name}`));
  for (const t of metadata.tables) {
    const columns = facts.columns.get(tableKey(t.schema ?? 'public', t.name));
    for (const c of t.columns) {
      const fact = columns?.get(c.name);
      if (fact?.domainNotNull) c.isNullable = false;
      if (fact?.domainDefault) c.hasDefaultValue = true;
    }
  }
}

/** After the transform: edit column types, definitions and names as the header lists. */
export function adjustStatements(codegen: Codegen, statements: Statement[], facts: CatalogFacts, parsers: DriverParsers): void {
  const { GenericExpressionNode, IdentifierNode, UnionExpressionNode, ColumnTypeNode, ArrayExpressionNode } = codegen;
  // The DB interface is the transform's last statement; a table named DB has an interface DB too.
  const last = statements.at(-1);
  if (last?.type !== 'ExportStatement' || last.argument.type !== 'InterfaceDeclaration') return;
  const db = last.argument;
  const interfaces = new Map<string, InstanceType<Codegen['InterfaceDeclarationNode']>>();
  const aliases = new Map<string, InstanceType<Codegen['AliasDeclarationNode']>>();
  for (const s of statements) {
    if (s.type !== 'ExportStatement' || s === last) continue;
    if (s.argument.type === 'InterfaceDeclaration') interfaces.set(s.argument.id.name, s.argument);
    if (s.argument.type === 'AliasDeclaration') aliases.set(s.argument.id.name, s.argument);
  }
  const imports = new Set<string>(); // names from kysely the edits use
  const id = (name: string) => new IdentifierNode(name);
  const generic = (name: string, ...args: Expression[]) => {
    if (['GeneratedAlways', 'SelectType', 'InsertType', 'UpdateType'].includes(name)) imports.add(name);
    return new GenericExpressionNode(name, args);
  };
  const columnType = (select: Expression, insert: Expression, update: Expression) => {
    imports.add('ColumnType');
    return new ColumnTypeNode(select, insert, update);
  };
  const isEnum = (node: Expression): boolean => {
    const body = node.type === 'Identifier' ? aliases.get(node.name)?.body : undefined;
    return !!body && (body.type === 'Literal' || (body.type === 'UnionExpression' && body.args.every((a) => a.type === 'Literal')));
  };
  // An array node's insert/update types, spelled out only when its element is not a plain value.
  const written = (array: Expression, kind: 'InsertType' | 'UpdateType'): Expression =>
    array.type === 'ArrayExpression' || (array.type === 'GenericExpression' && array.name === 'ArrayType' && isEnum(array.args[0]!)) ? array : generic(kind, array);
  // kysely-codegen's numeric is a string (pg has no parser for it), its numeric[] ArrayType<Numeric>.
  const isNumericArray = (node: Expression) => node.type === 'GenericExpression' && node.name === 'ArrayType' && node.args[0]?.type === 'Identifier' && node.args[0].name === 'Numeric';
  // A type that is its own select type: no ColumnType<…> inside.
  const plain = (node: Expression): boolean =>
    (node.type === 'Identifier' && ['string', 'number', 'boolean'].includes(node.name)) || isEnum(node) || (node.type === 'ArrayExpression' && plain(node.values));
  const isArray = (node: Expression) => node.type === 'ArrayExpression' || (node.type === 'GenericExpression' && node.name === 'ArrayType');
  // Applies f to the column's type under Generated<…> and beside `| null`.
  const core = (node: Expression, f: (n: Expression) => Expression): Expression => {
    if (node.type === 'GenericExpression' && (node.name === 'Generated' || node.name === 'GeneratedAlways')) return new GenericExpressionNode(node.name, [core(node.args[0]!, f)]);
    if (node.type === 'UnionExpression') return new UnionExpressionNode(node.args.map((a) => (a.type === 'Identifier' && a.name === 'null' ? a : f(a))));
    return f(node);
  };

  // The select type of a column type: kysely's GeneratedAlways<S> and ColumnType<S, …> take S as it
  // is, so GeneratedAlways<Int8> would select the ColumnType itself. Aliases of a ColumnType (Int8,
  // Timestamp …) give their first argument; what has no ColumnType inside stays; the rest is SelectType<…>.
  const selectOf = (node: Expression): Expression => {
    if (node.type === 'UnionExpression') return new UnionExpressionNode(node.args.map(selectOf));
    if (node.type === 'Identifier' && ['null', 'string', 'number', 'boolean', 'bigint'].includes(node.name)) return node;
    const body = node.type === 'Identifier' ? aliases.get(node.name)?.body : undefined;
    if (body?.type === 'GenericExpression' && body.name === 'ColumnType') return body.args[0]!;
    return plain(node) ? node : generic('SelectType', node);
  };

  for (const table of db.body.properties) {
    const columns = facts.columns.get(table.key);
    if (!columns || table.value.type !== 'Identifier') continue;
    const properties = interfaces.get(table.value.name)?.body.properties ?? [];
    const unwritable: { column: (typeof properties)[number]; always: boolean }[] = [];
    for (const column of properties) {
      const fact = columns.get(column.key);
      if (!fact) continue;
      let value = column.value;
      if (isArray(unwrap(value)) && !parsers.parsesArray(fact.wireType)) {
        value = core(value, (a) => (isArray(a) ? columnType(id('string'), new UnionExpressionNode([written(a, 'InsertType'), id('string')]), new UnionExpressionNode([written(a, 'UpdateType'), id('string')])) : a));
      } else if (isNumericArray(unwrap(value)) && parsers.arrayOfNumbers(fact.wireType)) {
        value = core(value, (a) => (isNumericArray(a) ? columnType(new ArrayExpressionNode(id('number')), written(a, 'InsertType'), written(a, 'UpdateType')) : a));
      }
      // The nodes are declared readonly; these are ours until they are serialized.
      (column as { value: unknown }).value = value;
      if (fact.always || !fact.writable) unwritable.push({ column, always: fact.always });
    }
    // Columns no write may set: GeneratedAlways<S> (kysely's ColumnType<S, never, never>). When no
    // column of the relation is writable, kysely's Insertable<R> is {}, which takes any object literal;
    // there they are ColumnType<S, undefined, undefined> instead (kysely leaves undefined values out).
    const none = unwritable.length === properties.length;
    for (const { column, always } of unwritable) {
      const read = selectOf(unwrapGenerated(column.value));
      (column as { value: unknown }).value = none ? columnType(read, id('undefined'), id('undefined')) : always ? generic('GeneratedAlways', read) : columnType(read, id('never'), id('never'));
    }
  }

  // pg sends objects as JSON (prepareValue), which point and circle input refuse.
  for (const name of ['Point', 'Circle']) {
    const alias = aliases.get(name);
    if (alias) (alias as { body: unknown }).body = columnType(alias.body as Expression, id('string'), id('string'));
  }
  // pg sends a JS array as a Postgres array literal and a string as it is: JSON arrays and strings go as JSON text.
  const json = aliases.get('Json');
  if (json) {
    const write = new UnionExpressionNode([id('JsonObject'), id('boolean'), id('number'), id('string')]);
    (json as { body: unknown }).body = columnType(id('JsonValue'), write, write);
  }

  const kysely = statements.find((s): s is InstanceType<Codegen['ImportStatementNode']> => s.type === 'ImportStatement' && s.moduleName === 'kysely');
  const clauses = [...imports].filter((name) => !kysely?.imports.some((c) => c.name === name)).sort().map((name) => new codegen.ImportClauseNode(name));
  if (clauses.length > 0) {
    if (kysely) kysely.imports.push(...clauses);
    else statements.unshift(new codegen.ImportStatementNode('kysely', clauses));
  }
  renameCollidingTables(statements, db, interfaces, aliases, imports);
}

const unwrapGenerated = (node: Expression): Expression =>
  node.type === 'GenericExpression' && (node.name === 'Generated' || node.name === 'GeneratedAlways') ? node.args[0]! : node;

/** The column's type without Generated<…> and `| null`. */
function unwrap(node: Expression): Expression {
  const inner = unwrapGenerated(node);
  if (inner.type !== 'UnionExpression') return inner;
  const rest = inner.args.filter((a) => !(a.type === 'Identifier' && a.name === 'null'));
  return rest.length === 1 ? rest[0]! : inner;
}

/**
 * A table interface may not take a name the file itself uses: the DB interface
 * (interfaces merge), the globals the definitions refer to (Date, Buffer), or a
 * name imported from kysely. It gets the next free `Name2`, `Name3` …, as
 * kysely-codegen names its own collisions.
 */
function renameCollidingTables(
  statements: Statement[],
  db: InstanceType<Codegen['InterfaceDeclarationNode']>,
  interfaces: Map<string, InstanceType<Codegen['InterfaceDeclarationNode']>>,
  aliases: Map<string, unknown>,
  added: Set<string>,
): void {
  const imported = new Set<string>(added);
  for (const s of statements) if (s.type === 'ImportStatement') for (const c of s.imports) imported.add(c.alias ?? c.name);
  const reserved = new Set(['DB', 'Date', 'Buffer', ...imported]);
  const taken = new Set([...interfaces.keys(), ...aliases.keys(), ...reserved]);
  for (const table of db.body.properties) {
    if (table.value.type !== 'Identifier' || !reserved.has(table.value.name)) continue;
    const decl = interfaces.get(table.value.name);
    if (!decl) continue;
    let n = 2;
    while (taken.has(`${table.value.name}${n}`)) n++;
    const name = `${table.value.name}${n}`;
    taken.add(name);
    decl.id.name = name;
    table.value.name = name;
  }
}
