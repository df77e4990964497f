/**
 * LANGUAGE plpgsql functions as the lint reads them, parsed with PL/pgSQL's own
 * grammar (libpg-query's parsePlPgSQL). A helper is read as SQL (readPlpgsql:
 * every query and expression in it one SQL statement, `select <expression>`), so
 * the function analyses (what a helper reads, calls and ties to the caller) see
 * PL/pgSQL helpers the way they see LANGUAGE sql ones; a trigger function is read
 * for the columns of NEW it always sets to the caller (triggerCallerColumns). Pure.
 */
import { qualified } from '../catalog/model.js';
import { fail, gateOf, NotAGate, oneStatement, readLookup, sqlCallerGate } from './caller-gate.js';
import { claimOfExpression, constBool, constString, listItems, nodeEntry as entry, opName, strings, walk, type CallerAssignment, type CallerGate, type EmailDecisions, type MetadataCopy, type ReadableBody, type RowCopy, type TriggerReading } from './expr.js';

type Parse = (sql: string) => unknown;

interface PlExpr {
  query: string;
  parseMode?: number | string;
}

/** RawParseMode (parser.h): how PL/pgSQL hands an expression to the SQL parser. */
const RAW_PARSE_DEFAULT = 0;
const RAW_PARSE_TYPE_NAME = 1;
const RAW_PARSE_PLPGSQL_EXPR = 2;

function modeOf(e: PlExpr): number {
  const m = e.parseMode ?? RAW_PARSE_DEFAULT;
  if (typeof m === 'number') return m;
  return ['RAW_PARSE_DEFAULT', 'RAW_PARSE_TYPE_NAME', 'RAW_PARSE_PLPGSQL_EXPR', 'RAW_PARSE_PLPGSQL_ASSIGN1', 'RAW_PARSE_PLPGSQL_ASSIGN2', 'RAW_PARSE_PLPGSQL_ASSIGN3'].indexOf(m);
}

/** The expression as a SQL statement: a query as it is, an expression as `select <it>`, an assignment's right-hand side likewise. */
function asStatement(e: PlExpr): string | null {
  const mode = modeOf(e);
  if (mode === RAW_PARSE_DEFAULT) return e.query;
  if (mode === RAW_PARSE_TYPE_NAME || mode < 0) return null;
  if (mode === RAW_PARSE_PLPGSQL_EXPR) return `select ${e.query}`;
  // `target := value` / `target = value`, the target a variable, a field or an element.
  const m = /^\s*(?:"(?:[^"]|"")*"|[^\s:=[]+)(?:\s*\[[^\]]*\])*\s*:?=/.exec(e.query);
  return m ? `select ${e.query.slice(m[0].length).trim()}` : null;
}

/** How many parameters an identity argument list declares (`a uuid, b text` → 2). */
function parameterCount(args: string): number {
  return args.trim() === '' ? 0 : args.split(',').length;
}

function dollarQuoted(text: string): string {
  let tag = 'rowguard';
  for (let i = 0; text.includes(`$${tag}$`); i++) tag = `rowguard${i}`;
  return `$${tag}$${text}$${tag}$`;
}

/**
 * A function's parse by PL/pgSQL's grammar (`PLpgSQL_function`: datums and action), or undefined when it does not take it.
 * Without a catalog, the parser reads a variable of a type it does not know (an enum, a domain, `public.app_role[]`) as a
 * record, and refuses such a variable in an INTO list of several targets (`select role, active into v_role, v_active`:
 * "record variable cannot be part of multiple-item INTO list", or `"v_role" is not a scalar variable`), which Postgres,
 * knowing the type, accepted. The source is then parsed again with those variables declared `text` (scalarDeclarations).
 */
export function parseFunction(source: string, args: string, returns: string, parsePlpgsql: Parse): Record<string, unknown> | undefined {
  const parse = (text: string) => {
    const parsed = parsePlpgsql(`create function rowguard_lint(${args}) returns ${returns} language plpgsql as ${dollarQuoted(text)}`) as { plpgsql_funcs?: Array<{ PLpgSQL_function?: Record<string, unknown> }> };
    return parsed.plpgsql_funcs?.[0]?.PLpgSQL_function;
  };
  try {
    return parse(source);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!/multiple-item INTO list|is not a scalar variable/.test(message)) return undefined;
    const scalar = scalarDeclarations(source, parsePlpgsql);
    if (scalar === null) return undefined;
    try {
      return parse(scalar);
    } catch {
      return undefined;
    }
  }
}

/**
 * `source` with every variable that PL/pgSQL's grammar reads as a record for want of its type declared `text` instead
 * (`v_role public.app_role;` → `v_role text;`, an array type `text[]`), the rest as written; null when there is none.
 * A declared `record`, a `%type` or `%rowtype`, a cursor and an alias are left as they are. Comments, string literals and
 * dollar-quoted text are skipped when looking for DECLARE sections (each ends at the BEGIN that follows it).
 */
function scalarDeclarations(source: string, parsePlpgsql: Parse): string | null {
  const masked = maskLiterals(source);
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const probed = new Map<string, boolean>();
  const readAsRecord = (type: string) => {
    let v = probed.get(type);
    if (v === undefined) {
      try {
        const parsed = parsePlpgsql(`create function rowguard_probe() returns void language plpgsql as ${dollarQuoted(`declare rowguard_x ${type}; begin end`)}`) as { plpgsql_funcs?: Array<{ PLpgSQL_function?: Record<string, unknown> }> };
        const datums = ((parsed.plpgsql_funcs?.[0]?.PLpgSQL_function?.['datums'] as unknown[] | undefined) ?? []).map(entry);
        v = datums.some((d) => d?.[0] === 'PLpgSQL_rec' && d[1]['refname'] === 'rowguard_x');
      } catch {
        v = false;
      }
      probed.set(type, v);
    }
    return v;
  };
  for (const declare of masked.matchAll(/\bdeclare\b/gi)) {
    const from = declare.index + declare[0].length;
    const begin = /\bbegin\b/i.exec(masked.slice(from));
    if (!begin) continue;
    const section = masked.slice(from, from + begin.index);
    let at = 0;
    for (const part of section.split(';')) {
      const start = from + at;
      at += part.length + 1;
      // name [CONSTANT] type [COLLATE …] [NOT NULL] [{DEFAULT | := | =} …]
      const head = /^\s*(?:"[^"]*"|[A-Za-z_][\w$]*)\s+(?:constant\s+)?/i.exec(part);
      if (!head) continue;
      const rest = part.slice(head[0].length);
      const stop = /\s+collate\b|\s+not\s+null\b|\s*:=|\s*=|\s+default\b/i.exec(rest);
      const type = (stop ? rest.slice(0, stop.index) : rest).trim();
      if (type === '' || type.includes('%') || /^(record|refcursor|cursor|alias|scroll|no\s+scroll)\b/i.test(type)) continue;
      if (!readAsRecord(type)) continue;
      const typeStart = start + head[0].length + (rest.length - rest.trimStart().length);
      const dims = /(\s*\[\s*\d*\s*\])+$/.exec(type)?.[0] ?? '';
      edits.push({ start: typeStart, end: typeStart + type.length, text: `text${dims.replace(/\s+/g, '')}` });
    }
  }
  if (edits.length === 0) return null;
  let out = source;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/**
 * `source` with the text of comments, string literals and dollar-quoted strings replaced by spaces, and the inside of
 * double-quoted names by underscores (one character for one), so that keywords and semicolons are found where PL/pgSQL
 * reads them and positions are those of the source.
 */
function maskLiterals(source: string): string {
  const out = source.split('');
  const blank = (from: number, to: number, c = ' ') => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = c;
  };
  let i = 0;
  while (i < source.length) {
    const two = source.slice(i, i + 2);
    if (two === '--') {
      const end = source.indexOf('\n', i);
      const to = end < 0 ? source.length : end;
      blank(i, to);
      i = to;
    } else if (two === '/*') {
      let depth = 1;
      let k = i + 2;
      while (k < source.length && depth > 0) {
        if (source.startsWith('/*', k)) (depth++, (k += 2));
        else if (source.startsWith('*/', k)) (depth--, (k += 2));
        else k++;
      }
      blank(i, k);
      i = k;
    } else if (source[i] === "'") {
      const escapes = i > 0 && /[eE]/.test(source[i - 1]!) && !/[\w$]/.test(source[i - 2] ?? ' ');
      let k = i + 1;
      while (k < source.length) {
        if (escapes && source[k] === '\\') k += 2;
        else if (source[k] === "'" && source[k + 1] === "'") k += 2;
        else if (source[k] === "'") break;
        else k++;
      }
      blank(i, Math.min(k + 1, source.length));
      i = k + 1;
    } else if (source[i] === '"') {
      let k = i + 1;
      while (k < source.length && !(source[k] === '"' && source[k + 1] !== '"')) k += source[k] === '"' ? 2 : 1;
      blank(i + 1, k, '_');
      i = k + 1;
    } else if (source[i] === '$' && !/[\w$]/.test(source[i - 1] ?? ' ')) {
      const tag = /^\$(?:[A-Za-z_][\w]*)?\$/.exec(source.slice(i))?.[0];
      const end = tag ? source.indexOf(tag, i + tag.length) : -1;
      if (tag && end >= 0) {
        blank(i, end + tag.length);
        i = end + tag.length;
      } else i++;
    } else i++;
  }
  return out.join('');
}

/**
 * `source` (prosrc) of a LANGUAGE plpgsql function with these identity arguments
 * and result, read as SQL; null when PL/pgSQL's grammar does not take it (an
 * OUT parameter assigned in the body, say: identity arguments leave those out).
 *  - `sql`: its queries and expressions, each one statement, `;`-separated, in
 *    the order written, a variable that only ever holds a claim (`v_uid uuid :=
 *    auth.uid()`) written as that claim wherever it is read;
 *  - `single`: the body is one `RETURN <expression>` or `RETURN QUERY <query>`
 *    (no variable set beforehand, no exception handler), or sets variables once
 *    each and returns an expression of them (composedReturn): `sql` is then
 *    exactly what it returns, as the body of a LANGUAGE sql function would be;
 *  - `locals`: the other variables, read like parameters (no column of any table).
 */
export function readPlpgsql(fn: { args: string; returns: string; source: string }, parsePlpgsql: Parse, parseSync: Parse): ReadableBody | null {
  const func = parseFunction(fn.source, fn.args, fn.returns, parsePlpgsql);
  if (!func) return null;
  const datums = ((func['datums'] as unknown[] | undefined) ?? []).map(entry);
  const nameOf = (dno: number): string | undefined => datums[dno]?.[1]['refname'] as string | undefined;
  const variables = new Map<string, { values: string[]; otherwise: boolean; initial: string | null }>();
  const cursors: string[] = [];
  const nargs = parameterCount(fn.args);
  datums.forEach((d, dno) => {
    if (!d || (d[0] !== 'PLpgSQL_var' && d[0] !== 'PLpgSQL_rec')) return;
    const name = String(d[1]['refname']);
    const initial = (entry(d[1]['default_val'])?.[1] as PlExpr | undefined)?.query ?? null;
    // The parameters come first: each starts out as its argument, never as a claim.
    const isParameter = dno < nargs;
    variables.set(name, { values: initial === null ? [] : [initial], otherwise: isParameter, initial });
    const cursor = (entry(d[1]['cursor_explicit_expr'])?.[1] as PlExpr | undefined)?.query;
    if (cursor) cursors.push(cursor);
  });

  // What each variable is set to: an assignment's value, or something else (INTO, a loop, GET DIAGNOSTICS).
  const setElsewhere = (name: string | undefined) => {
    const v = name === undefined ? undefined : variables.get(name);
    if (v) v.otherwise = true;
  };
  const exprs: PlExpr[] = [];
  walk(func['action'], (type, body) => {
    if (type === 'PLpgSQL_expr') exprs.push(body as unknown as PlExpr);
    else if (type === 'PLpgSQL_stmt_assign') {
      const v = variables.get(nameOf(Number(body['varno'])) ?? '');
      const value = entry(body['expr'])?.[1] as PlExpr | undefined;
      const text = value ? asStatement(value) : null;
      if (v && text) v.values.push(text.replace(/^select /, ''));
      else if (v) v.otherwise = true;
    } else if (type === 'PLpgSQL_row') for (const f of (body['fields'] as Array<{ name?: string }> | undefined) ?? []) setElsewhere(f.name);
    else if (type === 'PLpgSQL_var' || type === 'PLpgSQL_rec') setElsewhere(body['refname'] as string | undefined);
    else if (type === 'PLpgSQL_diag_item') setElsewhere(nameOf(Number(body['target'])));
  });
  // A variable that only ever holds a claim (`v_uid uuid := auth.uid()`) is that claim wherever it is read.
  const claims = new Map<string, string>();
  for (const [name, v] of variables) {
    if (v.otherwise || v.values.length === 0) continue;
    const kinds = new Set(v.values.map((x) => claimOfExpression(x, parseSync)));
    if (kinds.size === 1 && !kinds.has(null)) claims.set(name, v.values[0]!);
  }
  // The initial values of the other variables are read (`v_org uuid := (select org_id from …)`); assignments are among exprs.
  const initials = [...variables].flatMap(([name, v]) => (claims.has(name) || v.initial === null ? [] : [`select ${v.initial}`]));
  const statements = [...initials, ...cursors, ...exprs.flatMap((e) => asStatement(e) ?? [])].map((s) => withClaims(s, claims, parseSync));

  // One RETURN (QUERY) in the function's block, the implicit closing RETURN the parser adds aside.
  let block = entry(func['action']);
  let body = (block?.[1]['body'] as unknown[] | undefined) ?? [];
  body = body.filter((s, i) => !(i === body.length - 1 && entry(s)?.[0] === 'PLpgSQL_stmt_return' && Object.keys(entry(s)![1]).every((k) => k === 'lineno')));
  while (body.length === 1 && entry(body[0])?.[0] === 'PLpgSQL_stmt_block' && !entry(body[0])![1]['exceptions'] && !block?.[1]['exceptions']) {
    block = entry(body[0]);
    body = (block?.[1]['body'] as unknown[] | undefined) ?? [];
  }
  const only = body.length === 1 && !block?.[1]['exceptions'] ? entry(body[0]) : null;
  const returned = only?.[0] === 'PLpgSQL_stmt_return' ? (entry(only[1]['expr'])?.[1] as PlExpr | undefined) : only?.[0] === 'PLpgSQL_stmt_return_query' ? (entry(only[1]['query'])?.[1] as PlExpr | undefined) : undefined;
  // A variable's initial value is read before the RETURN: then the body is more than what it returns.
  const single = initials.length === 0 ? (returned ? asStatement(returned) : !block?.[1]['exceptions'] ? composedReturn(body, nargs, datums, claims, parseSync) : null) : null;
  return {
    sql: single !== null ? withClaims(single, claims, parseSync) : statements.join(';\n'),
    single: single !== null,
    locals: [...variables.keys()].filter((n) => !claims.has(n)),
  };
}

/**
 * A body that only sets variables, each once, from a query (`select count(*)
 * into n from …`) or an expression (`v := …`), and then returns an expression
 * of them (`return n > 0`), as the one SELECT it amounts to: each variable read
 * as its value, a query as a scalar sub-select (no row gives NULL, as SELECT INTO
 * does). Null for anything else (another statement, a parameter or a variable
 * set twice, a query into several variables). The block must have no exception
 * handler (the caller checks).
 */
function composedReturn(body: unknown[], nargs: number, datums: Array<[string, Record<string, unknown>] | null>, claims: ReadonlyMap<string, string>, parseSync: Parse): string | null {
  if (body.length < 2) return null;
  const last = entry(body[body.length - 1]);
  const returned = last?.[0] === 'PLpgSQL_stmt_return' ? (entry(last[1]['expr'])?.[1] as PlExpr | undefined) : undefined;
  const returnedSql = returned ? asStatement(returned) : null;
  if (returnedSql === null) return null;
  const values = new Map(claims);
  /** A local scalar variable set here for the first time (not a parameter, not FOUND, not a claim variable). */
  const settable = (varno: number): string | null => {
    const d = datums[varno];
    const name = d?.[1]['refname'] as string | undefined;
    if (!d || d[0] !== 'PLpgSQL_var' || varno < nargs || name === undefined || name === 'found' || values.has(name)) return null;
    return name;
  };
  for (const stmt of body.slice(0, -1)) {
    const e = entry(stmt);
    if (e?.[0] === 'PLpgSQL_stmt_assign') {
      const varno = Number(e[1]['varno']);
      const name = datums[varno]?.[1]['refname'] as string | undefined;
      // An assignment of a variable that only ever holds a claim is already read as that claim.
      if (name !== undefined && claims.has(name)) continue;
      const target = settable(varno);
      const value = entry(e[1]['expr'])?.[1] as PlExpr | undefined;
      const text = value ? asStatement(value) : null;
      if (target === null || text === null) return null;
      values.set(target, withClaims(text, values, parseSync).replace(/^select /, ''));
    } else if (e?.[0] === 'PLpgSQL_stmt_execsql' && e[1]['into'] && !e[1]['strict']) {
      const row = entry(e[1]['target']);
      const fields = (row?.[1]['fields'] as Array<{ varno?: number }> | undefined) ?? [];
      const varno = row?.[0] === 'PLpgSQL_row' && fields.length === 1 ? Number(fields[0]!.varno) : row?.[0] === 'PLpgSQL_var' ? datums.findIndex((d) => d?.[1] === row[1]) : -1;
      const target = varno >= 0 ? settable(varno) : null;
      const query = (entry(e[1]['sqlstmt'])?.[1] as PlExpr | undefined)?.query;
      if (target === null || !query || !oneColumnSelect(query, parseSync)) return null;
      values.set(target, `(${withClaims(query, values, parseSync)})`);
    } else return null;
  }
  return withClaims(returnedSql, values, parseSync);
}

/** Whether `query` is one plain SELECT of one column (what a scalar sub-select takes). */
function oneColumnSelect(query: string, parseSync: Parse): boolean {
  try {
    const stmts = (parseSync(query) as { stmts?: Array<{ stmt: unknown }> }).stmts ?? [];
    const sel = stmts.length === 1 ? entry(stmts[0]!.stmt) : null;
    return sel?.[0] === 'SelectStmt' && ((sel[1]['targetList'] as unknown[] | undefined)?.length ?? 0) === 1;
  } catch {
    return false;
  }
}

/** `statement` with each bare reference to a claim variable replaced by its claim, in parentheses. */
function withClaims(statement: string, claims: ReadonlyMap<string, string>, parseSync: Parse): string {
  if (claims.size === 0) return statement;
  const at: Array<{ from: number; to: number; claim: string }> = [];
  const buf = Buffer.from(statement, 'utf8');
  try {
    walk(parseSync(statement), (type, body) => {
      if (type !== 'ColumnRef') return;
      const fields = strings(body['fields']);
      const claim = fields.length === 1 ? claims.get(fields[0]!) : undefined;
      const from = Number(body['location'] ?? 0);
      const to = from + Buffer.byteLength(fields[0] ?? '', 'utf8');
      if (claim !== undefined && buf.subarray(from, to).toString('utf8').toLowerCase() === fields[0]) at.push({ from, to, claim });
    });
  } catch {
    return statement;
  }
  let out = buf;
  for (const r of at.sort((a, b) => b.from - a.from)) out = Buffer.concat([out.subarray(0, r.from), Buffer.from(`(${r.claim})`, 'utf8'), out.subarray(r.to)]);
  return out.toString('utf8');
}

const ALL_OPS = ['INSERT', 'UPDATE', 'DELETE'];

/** The TG_OP values `tg_op = 'INSERT'` / `tg_op in ('INSERT', 'UPDATE')` (either side, any case) is true for; null for any other test. */
function tgOpTest(cond: string, parseSync: Parse): string[] | null {
  let target: unknown;
  try {
    const stmts = (parseSync(`select ${cond}`) as { stmts?: Array<{ stmt: unknown }> }).stmts ?? [];
    const list = entry(stmts[0]?.stmt)?.[1]['targetList'] as unknown[] | undefined;
    target = list?.length === 1 ? entry(list[0])?.[1]['val'] : undefined;
  } catch {
    return null;
  }
  const e = entry(target);
  if (e?.[0] !== 'A_Expr') return null;
  const isTgOp = (v: unknown) => entry(v)?.[0] === 'ColumnRef' && strings(entry(v)![1]['fields']).join('.') === 'tg_op';
  const text = (v: unknown): string | null => constString(v)?.toUpperCase() ?? null;
  const b = e[1];
  const op = opName(b);
  if (b['kind'] === 'AEXPR_OP' && op === '=') {
    for (const [x, y] of [[b['lexpr'], b['rexpr']], [b['rexpr'], b['lexpr']]] as const) if (isTgOp(x) && text(y)) return [text(y)!];
    return null;
  }
  const list = listItems(b['rexpr']);
  if (b['kind'] === 'AEXPR_IN' && op === '=' && isTgOp(b['lexpr']) && list) {
    const values = list.map(text);
    return values.every((v) => v !== null) ? (values as string[]) : null;
  }
  return null;
}

/**
 * The columns a PL/pgSQL trigger function always sets to the caller's id
 * (`new.user_id := auth.uid();`), whatever the row held, and for which TG_OP
 * values (null: every one): assignments in its main block (or a plain nested
 * BEGIN … END), or directly in the THEN of `if tg_op = 'INSERT' then … end if`
 * there (for those operations), before any RETURN that could end the function
 * for that operation (RETURN NULL writes nothing), of the `sub` claim
 * (auth.uid(), `auth.jwt() ->> 'sub'`, wrapped or cast). The branches of an IF
 * whose every test is on TG_OP run for their operations (an ELSE for the ones
 * no test took). Anything under another condition, in a loop or in a block with
 * an exception handler is not counted, and an operation for which the column
 * may also be assigned anything else (`new.user_id := coalesce(new.user_id,
 * auth.uid())`, `:= old.user_id` in the ELSE) does not count for it.
 * Read with PL/pgSQL's own grammar; a body it does not take yields nothing.
 */
export function triggerCallerColumns(source: string, parsePlpgsql: Parse, parseSync: Parse): CallerAssignment[] {
  const func = parseFunction(source, '', 'trigger', parsePlpgsql);
  return func ? callerColumnsOf(func, parseSync) : [];
}

/** A trigger function's body, parsed once, read for both things the lint wants from it. */
export function readTrigger(source: string, defaultSchema: string, parsePlpgsql: Parse, parseSync: Parse): TriggerReading {
  const func = parseFunction(source, '', 'trigger', parsePlpgsql);
  if (!func) return { setsToCaller: [], metadataCopies: [], emailDecisions: { columns: [], rows: [] }, inserts: [], rowCopies: [] };
  const statements = ownStatements(func, parseSync);
  return {
    setsToCaller: callerColumnsOf(func, parseSync),
    metadataCopies: copiesOf(func, defaultSchema, parseSync),
    emailDecisions: emailDecisionsOf(func, defaultSchema, parseSync),
    inserts: insertTargetsOf(statements, defaultSchema),
    rowCopies: rowCopiesOf(statements, defaultSchema),
  };
}

/**
 * What a trigger function's own INSERT statements copy of the row it fires for: per target table,
 * the columns of NEW or OLD its values read (`new.body`), or null when they take the whole row
 * (`to_jsonb(new)`, `row_to_json(old)`, `new.*`). A value first kept in a variable is not followed.
 */
function rowCopiesOf(statements: ReadonlyArray<[string, Record<string, unknown>]>, defaultSchema: string): RowCopy[] {
  const out: RowCopy[] = [];
  for (const [kind, body] of statements) {
    const r = body['relation'] as Record<string, unknown> | undefined;
    if (kind !== 'InsertStmt' || !r) continue;
    let whole = false;
    const columns = new Set<string>();
    walk(body['selectStmt'], (t, n) => {
      if (t !== 'ColumnRef') return;
      const fields = (n['fields'] as unknown[] | undefined) ?? [];
      const head = entry(fields[0]);
      const record = head?.[0] === 'String' ? String(head[1]['sval']).toLowerCase() : '';
      if (record !== 'new' && record !== 'old') return;
      const second = entry(fields[1]);
      if (fields.length === 1 || second?.[0] === 'A_Star') whole = true;
      else if (second?.[0] === 'String') columns.add(String(second[1]['sval']));
    });
    if (!whole && columns.size === 0) continue;
    out.push({ table: qualified((r['schemaname'] as string | undefined) ?? defaultSchema, String(r['relname'])), columns: whole ? null : [...columns] });
  }
  return out;
}

/** The tables a PL/pgSQL function's own INSERT statements write (`schema.table`; EXECUTE'd text is not read). */
function insertTargetsOf(statements: ReadonlyArray<[string, Record<string, unknown>]>, defaultSchema: string): string[] {
  const out = new Set<string>();
  for (const [kind, body] of statements) {
    const r = body['relation'] as Record<string, unknown> | undefined;
    if (kind === 'InsertStmt' && r) out.add(qualified((r['schemaname'] as string | undefined) ?? defaultSchema, String(r['relname'])));
  }
  return [...out];
}

/** The SQL statements a PL/pgSQL function runs itself (not EXECUTE'd text), parsed, in the order written; those the parser does not take are left out. */
function ownStatements(func: Record<string, unknown>, parseSync: Parse): Array<[string, Record<string, unknown>]> {
  const out: Array<[string, Record<string, unknown>]> = [];
  walk(func['action'], (type, b) => {
    if (type !== 'PLpgSQL_stmt_execsql') return;
    try {
      const stmt = (parseSync((entry(b['sqlstmt'])?.[1] as PlExpr | undefined)?.query ?? '') as { stmts?: Array<{ stmt: unknown }> }).stmts?.[0]?.stmt;
      const e = entry(stmt);
      if (e) out.push(e);
    } catch {
      // not SQL the parser takes: nothing to read
    }
  });
  return out;
}

function callerColumnsOf(func: Record<string, unknown>, parseSync: Parse): CallerAssignment[] {
  const datums = ((func['datums'] as unknown[] | undefined) ?? []).map(entry);
  const newRec = datums.findIndex((d) => d?.[0] === 'PLpgSQL_rec' && d[1]['refname'] === 'new');
  /** The column of NEW an assignment's target is, if it is one. */
  const columnOf = (varno: unknown): string | undefined => {
    const d = datums[Number(varno ?? 0)];
    return d?.[0] === 'PLpgSQL_recfield' && Number(d[1]['recparentno'] ?? 0) === newRec ? String(d[1]['fieldname']) : undefined;
  };
  const set = new Map<string, Set<string>>();
  /** Columns also assigned something else, with the operations that assignment may run for. */
  const spoiled = new Map<string, Set<string>>();
  const spoil = (column: string | undefined, ops: readonly string[]) => {
    if (column !== undefined) spoiled.set(column, new Set([...(spoiled.get(column) ?? []), ...ops]));
  };
  /** Operations a RETURN may already have ended. */
  const ended = new Set<string>();
  const returnsRow = (b: Record<string, unknown>) => !/^\s*null\s*$/i.test(String((entry(b['expr'])?.[1] as PlExpr | undefined)?.query ?? ''));
  const condOf = (v: unknown) => String((entry(v)?.[1] as PlExpr | undefined)?.query ?? '');
  // Under a condition of any other kind: every RETURN may end every operation, every assignment may run for any.
  const conditional = (body: unknown) =>
    walk(body, (type, b) => {
      if (type === 'PLpgSQL_stmt_return' && returnsRow(b)) ALL_OPS.forEach((op) => ended.add(op));
      if (type === 'PLpgSQL_stmt_assign') spoil(columnOf(b['varno']), ALL_OPS);
    });
  const visit = (stmts: unknown[], ops: readonly string[]) => {
    for (const st of stmts) {
      const e = entry(st);
      if (!e) continue;
      const [type, b] = e;
      if (type === 'PLpgSQL_stmt_assign') {
        const column = columnOf(b['varno']);
        const value = (entry(b['expr'])?.[1] as PlExpr | undefined) ?? null;
        const rhs = value ? asStatement(value) : null;
        const live = ops.filter((op) => !ended.has(op));
        if (column !== undefined && rhs !== null && live.length > 0 && claimOfExpression(rhs.replace(/^select /, ''), parseSync) === 'sub') {
          const known = set.get(column) ?? new Set<string>();
          live.forEach((op) => known.add(op));
          set.set(column, known);
        } else spoil(column, ops);
      } else if (type === 'PLpgSQL_stmt_return') {
        if (returnsRow(b)) ops.forEach((op) => ended.add(op));
      } else if (type === 'PLpgSQL_stmt_block' && !b['exceptions']) {
        visit((b['body'] as unknown[] | undefined) ?? [], ops);
      } else if (type === 'PLpgSQL_stmt_if' && ops.length === ALL_OPS.length) {
        // `if tg_op = 'INSERT' then … elsif tg_op = 'UPDATE' then … else … end if`: each branch runs for its own
        // operations (the ELSE for those no test took), as long as every test is a TG_OP test.
        let taken = tgOpTest(condOf(b['cond']), parseSync);
        const branches: Array<{ stmts: unknown; ops: string[] | null }> = [{ stmts: b['then_body'], ops: taken }];
        for (const e of (b['elsif_list'] as unknown[] | undefined) ?? []) {
          const branch = entry(e)?.[1] ?? {};
          const tested = taken ? tgOpTest(condOf(branch['cond']), parseSync) : null;
          branches.push({ stmts: branch['stmts'], ops: tested && taken ? tested.filter((op) => !taken!.includes(op)) : null });
          taken = tested && taken ? [...taken, ...tested] : null;
        }
        branches.push({ stmts: b['else_body'], ops: taken ? ALL_OPS.filter((op) => !taken!.includes(op)) : null });
        for (const branch of branches) {
          if (branch.ops) visit((branch.stmts as unknown[] | undefined) ?? [], branch.ops);
          else conditional(branch.stmts);
        }
      } else conditional(b);
    }
  };
  visit([func['action']], ALL_OPS);
  // An operation for which the column may also be set to anything else does not count.
  return [...set]
    .map(([column, ops]) => [column, new Set([...ops].filter((op) => !spoiled.get(column)?.has(op)))] as const)
    .filter(([, ops]) => ops.size > 0)
    .map(([column, ops]) => ({ column, ops: ALL_OPS.every((op) => ops.has(op)) ? null : [...ops].sort() }));
}

/** Whether a parsed expression has a column reference whose name parts (`['new', 'raw_user_meta_data']`) pass `test`. */
function refersTo(v: unknown, test: (fields: string[]) => boolean): boolean {
  let found = false;
  walk(v, (type, b) => {
    if (!found && type === 'ColumnRef') found = test(strings(b['fields']));
  });
  return found;
}

/** Whether a parsed expression reads `new.raw_user_meta_data` or one of `tainted` (variables holding it). */
function readsMetadata(v: unknown, tainted: ReadonlySet<string>): boolean {
  return refersTo(v, (f) => (f[0] === 'new' && f[1] === 'raw_user_meta_data') || tainted.has(f[0] ?? ''));
}

/**
 * The string constants an expression can yield, when they are bounded: a constant, a variable whose every
 * assignment is bounded (`bounds`), COALESCE of such, or a CASE whose every result is one, or a variable its
 * WHEN limits to constants (`when r in ('client', 'professional') then r`); a missing ELSE or a NULL adds none.
 * null for anything else — the user's own choice.
 */
function boundedValues(v: unknown, bounds: ReadonlyMap<string, readonly string[]>): string[] | null {
  const e = entry(v);
  if (!e) return null;
  if (e[0] === 'TypeCast') return boundedValues(e[1]['arg'], bounds);
  if (e[0] === 'A_Const') return e[1]['isnull'] === true ? [] : constString(v) !== null ? [constString(v)!] : null;
  const name = e[0] === 'ColumnRef' ? strings(e[1]['fields']) : [];
  if (name.length === 1) return bounds.has(name[0]!) ? [...bounds.get(name[0]!)!] : null;
  const union = (parts: Array<string[] | null>) => (parts.some((x) => x === null) ? null : [...new Set(parts.flat() as string[])]);
  if (e[0] === 'CoalesceExpr') return union(((e[1]['args'] as unknown[] | undefined) ?? []).map((x) => boundedValues(x, bounds)));
  if (e[0] !== 'CaseExpr' || e[1]['arg']) return null;
  /** The constants `when` allows the bare variable `name` to be: `name = 'a'`, `name in ('a', 'b')`. */
  const limited = (when: unknown, variable: string): string[] | null => {
    const w = entry(when);
    if (w?.[0] !== 'A_Expr' || opName(w[1]) !== '=' || (w[1]['kind'] !== 'AEXPR_OP' && w[1]['kind'] !== 'AEXPR_IN')) return null;
    const bare = (x: unknown) => {
      const n = entry(x)?.[0] === 'TypeCast' ? entry(x)![1]['arg'] : x;
      return entry(n)?.[0] === 'ColumnRef' && strings(entry(n)![1]['fields']).join('.') === variable;
    };
    if (!bare(w[1]['lexpr'])) return null;
    const r = w[1]['rexpr'];
    const list = w[1]['kind'] === 'AEXPR_IN' ? listItems(r) : [r];
    if (!list) return null;
    const values = list.map((x) => constString(entry(x)?.[0] === 'TypeCast' ? entry(x)![1]['arg'] : x));
    return values.every((x) => x !== null) ? (values as string[]) : null;
  };
  const results = ((e[1]['args'] as unknown[] | undefined) ?? []).map((w) => {
    const cw = entry(w)?.[1] ?? {};
    const direct = boundedValues(cw['result'], bounds);
    if (direct !== null) return direct;
    const res = entry(cw['result']);
    const variable = res?.[0] === 'ColumnRef' ? strings(res[1]['fields']) : [];
    return variable.length === 1 ? limited(cw['expr'], variable[0]!) : null;
  });
  return union([...results, e[1]['defresult'] ? boundedValues(e[1]['defresult'], bounds) : []]);
}

/**
 * The columns a PL/pgSQL trigger function on auth.users writes (INSERT …
 * VALUES / SELECT, UPDATE … SET, ON CONFLICT DO UPDATE) with a value read from
 * `new.raw_user_meta_data` — directly, or through a variable set from it —
 * which the user chose at sign-up and may change at any time (PUT /user).
 */
export function metadataCopies(source: string, defaultSchema: string, parsePlpgsql: Parse, parseSync: Parse): MetadataCopy[] {
  const func = parseFunction(source, '', 'trigger', parsePlpgsql);
  return func ? copiesOf(func, defaultSchema, parseSync) : [];
}

function copiesOf(func: Record<string, unknown>, defaultSchema: string, parseSync: Parse): MetadataCopy[] {
  const datums = ((func['datums'] as unknown[] | undefined) ?? []).map(entry);
  const parse = (text: string): unknown => {
    try {
      return (parseSync(text) as { stmts?: Array<{ stmt: unknown }> }).stmts?.[0]?.stmt;
    } catch {
      return undefined;
    }
  };
  const tainted = new Set<string>();
  for (const d of datums) {
    const initial = (entry(d?.[1]['default_val'])?.[1] as PlExpr | undefined)?.query;
    if (initial && readsMetadata(parse(`select ${initial}`), tainted)) tainted.add(String(d![1]['refname']));
  }
  // Variables set from the metadata whose every assignment is bounded (boundedValues): the constants they can hold.
  const bounds = new Map<string, string[]>();
  const unbounded = new Set<string>(tainted);
  const assigned = (name: string, value: unknown) => {
    const values = unbounded.has(name) ? null : boundedValues(value, bounds);
    if (values === null) {
      unbounded.add(name);
      bounds.delete(name);
    } else bounds.set(name, [...new Set([...(bounds.get(name) ?? []), ...values])].sort());
  };
  const out: MetadataCopy[] = [];
  const add = (rangeVar: unknown, column: string, value: unknown) => {
    const r = (rangeVar ?? {}) as Record<string, unknown>;
    const table = qualified((r['schemaname'] as string | undefined) ?? defaultSchema, String(r['relname']));
    const values = value === undefined ? null : boundedValues(value, bounds);
    const had = out.find((c) => c.table === table && c.column === column);
    if (!had) out.push(values === null ? { table, column } : { table, column, values });
    else if (had.values && values) had.values = [...new Set([...had.values, ...values])].sort();
    else delete had.values;
  };
  // In the order written: a variable set from the metadata carries it into what it is written to later.
  walk(func['action'], (type, b) => {
    if (type === 'PLpgSQL_stmt_assign') {
      const name = datums[Number(b['varno'] ?? 0)]?.[1]['refname'] as string | undefined;
      const text = asStatement((entry(b['expr'])?.[1] as PlExpr | undefined) ?? { query: '' });
      const stmt = text ? parse(text) : undefined;
      if (name && stmt !== undefined && (tainted.has(name) || readsMetadata(stmt, tainted))) {
        tainted.add(name);
        const sel = entry(stmt)?.[0] === 'SelectStmt' ? entry(stmt)![1] : null;
        const targets = (sel?.['targetList'] as unknown[] | undefined) ?? [];
        assigned(name, sel && !sel['fromClause'] && targets.length === 1 ? entry(targets[0])?.[1]['val'] : undefined);
      }
      return;
    }
    if (type !== 'PLpgSQL_stmt_execsql') return;
    const stmt = parse((entry(b['sqlstmt'])?.[1] as PlExpr | undefined)?.query ?? '');
    const [kind, body] = entry(stmt) ?? ['', {}];
    if (kind === 'SelectStmt' && b['into'] && readsMetadata(stmt, tainted)) {
      const target = entry(b['target']);
      for (const f of (target?.[1]['fields'] as Array<{ name?: string }> | undefined) ?? []) if (f.name) tainted.add(f.name), unbounded.add(f.name), bounds.delete(f.name);
      if (target?.[0] === 'PLpgSQL_var' || target?.[0] === 'PLpgSQL_rec') tainted.add(String(target[1]['refname'])), unbounded.add(String(target[1]['refname'])), bounds.delete(String(target[1]['refname']));
    }
    /** SET column = value, …; `excluded` (ON CONFLICT) holds the row the INSERT tried, with its metadata columns. */
    const setList = (list: unknown, rangeVar: unknown, excluded: ReadonlySet<string> = new Set()) => {
      for (const t of (list as unknown[] | undefined) ?? []) {
        const rt = entry(t)?.[1] ?? {};
        if (!rt['name']) continue;
        if (readsMetadata(rt['val'], tainted)) add(rangeVar, String(rt['name']), rt['val']);
        else if (refersTo(rt['val'], (f) => f.length === 2 && f[0] === 'excluded' && excluded.has(f[1]!))) add(rangeVar, String(rt['name']), undefined);
      }
    };
    if (kind === 'InsertStmt') {
      const columns = ((body['cols'] as unknown[] | undefined) ?? []).map((c) => String(entry(c)?.[1]['name'] ?? ''));
      const select = entry(body['selectStmt'])?.[1] ?? {};
      const rows = (select['valuesLists'] as unknown[] | undefined)?.map((l) => (entry(l)?.[1]['items'] as unknown[] | undefined) ?? []) ?? [((select['targetList'] as unknown[] | undefined) ?? []).map((t) => entry(t)?.[1]['val'])];
      const copied = new Set<string>();
      for (const row of rows)
        row.forEach((value, i) => {
          if (!columns[i] || !readsMetadata(value, tainted)) return;
          copied.add(columns[i]!);
          add(body['relation'], columns[i]!, value);
        });
      setList((body['onConflictClause'] as Record<string, unknown> | undefined)?.['targetList'], body['relation'], copied);
    } else if (kind === 'UpdateStmt') setList(body['targetList'], body['relation']);
  });
  return out;
}

/** Functions that take part of a text: applied to the email, they give its domain, its local part, its end. */
const TEXT_PART = new Set(['split_part', 'substring', 'substr', 'right', 'left', 'strpos', 'position', 'reverse', 'overlay', 'ends_with', 'starts_with', 'regexp_replace', 'regexp_match', 'regexp_matches', 'regexp_substr', 'regexp_like', 'regexp_count', 'regexp_instr', 'textregexeq', 'textlike', 'texticlike']);
/** Functions that keep the address what it is (the same address, another case or cast). */
const SAME_TEXT = new Set(['lower', 'upper', 'btrim', 'trim', 'ltrim', 'rtrim', 'text', 'citext']);

/**
 * The columns a PL/pgSQL trigger function on auth.users writes according to the user's email: a value taken
 * from part of it (`split_part(new.email, '@', 2)`, an organisation looked up by that domain) or anything written
 * under a test of it against a pattern or a fixed address (`if new.email like '%@acme.com' then insert into
 * admins …`, or after `if new.email not like … then return new; end if`). GoTrue stores the address a user signs
 * up with before it is confirmed, and with confirmations off (or a provider that does not verify it) never checks
 * it. A test that also reads email_confirmed_at (or confirmed_at) is a confirmed address: nothing under it counts.
 * The whole address compared with a row's column (an invitation addressed to it) is not read as a decision.
 */
function emailDecisionsOf(func: Record<string, unknown>, defaultSchema: string, parseSync: Parse): EmailDecisions {
  const datums = ((func['datums'] as unknown[] | undefined) ?? []).map(entry);
  const parse = (text: string | null): unknown => {
    if (!text) return undefined;
    try {
      return (parseSync(text) as { stmts?: Array<{ stmt: unknown }> }).stmts?.[0]?.stmt;
    } catch {
      return undefined;
    }
  };
  /** Variables holding the address itself, and those holding what was decided by it. */
  const address = new Set<string>();
  const decided = new Set<string>();
  const isAddress = (v: unknown): boolean => {
    const e = entry(v);
    if (!e) return false;
    if (e[0] === 'TypeCast') return isAddress(e[1]['arg']);
    if (e[0] === 'ColumnRef') {
      const f = strings(e[1]['fields']);
      return (f.length === 2 && f[0] === 'new' && f[1] === 'email') || (f.length === 1 && address.has(f[0]!));
    }
    if (e[0] === 'FuncCall') {
      const name = strings(e[1]['funcname']).at(-1) ?? '';
      const args = (e[1]['args'] as unknown[] | undefined) ?? [];
      return SAME_TEXT.has(name) && args.length >= 1 && isAddress(args[0]);
    }
    return false;
  };
  const constant = (v: unknown): boolean => {
    const e = entry(v);
    if (e?.[0] === 'TypeCast') return constant(e[1]['arg']);
    if (e?.[0] === 'A_Const') return true;
    const items = listItems(v);
    return items !== null && items.every(constant);
  };
  const readsConfirmation = (v: unknown) => refersTo(v, (f) => ['email_confirmed_at', 'confirmed_at'].includes(f.at(-1) ?? ''));
  /** Whether `v` decides something by the address: a pattern, a fixed address, part of it, or a variable so decided. */
  const decides = (v: unknown): boolean => {
    let found = false;
    walk(v, (type, b) => {
      if (found) return;
      if (type === 'ColumnRef') found = strings(b['fields']).length === 1 && decided.has(strings(b['fields'])[0]!);
      else if (type === 'A_Expr') {
        const kind = String(b['kind'] ?? '');
        const op = opName(b);
        const sides = [b['lexpr'], b['rexpr']];
        const onAddress = sides.some(isAddress);
        if (!onAddress) return;
        if (kind === 'AEXPR_LIKE' || kind === 'AEXPR_ILIKE' || kind === 'AEXPR_SIMILAR' || /^!?~~?\*?$/.test(op)) found = true;
        else if ((kind === 'AEXPR_OP' && (op === '=' || op === '<>')) || kind === 'AEXPR_IN') found = sides.some((x) => !isAddress(x) && constant(x));
      } else if (type === 'FuncCall') {
        const name = strings(b['funcname']).at(-1) ?? '';
        found = TEXT_PART.has(name) && ((b['args'] as unknown[] | undefined) ?? []).some(isAddress);
      }
    });
    return found;
  };
  for (const d of datums) {
    const initial = (entry(d?.[1]['default_val'])?.[1] as PlExpr | undefined)?.query;
    const value = initial ? parse(`select ${initial}`) : undefined;
    const only = entry(((entry(value)?.[1]['targetList'] as unknown[] | undefined) ?? [])[0])?.[1]['val'];
    if (value === undefined) continue;
    if (decides(value)) decided.add(String(d![1]['refname']));
    else if (only !== undefined && isAddress(only)) address.add(String(d![1]['refname']));
  }
  const out: EmailDecisions = { columns: [], rows: [] };
  const tableOf = (rangeVar: unknown) => {
    const r = (rangeVar ?? {}) as Record<string, unknown>;
    return qualified((r['schemaname'] as string | undefined) ?? defaultSchema, String(r['relname']));
  };
  const add = (rangeVar: unknown, column: string) => {
    const table = tableOf(rangeVar);
    if (!out.columns.some((c) => c.table === table && c.column === column)) out.columns.push({ table, column });
  };
  const exprOf = (v: unknown) => parse(asStatement((entry(v)?.[1] as PlExpr | undefined) ?? { query: '' }));
  const nameOf = (varno: unknown) => datums[Number(varno ?? 0)]?.[1]['refname'] as string | undefined;
  /** `under`: the statements run only for addresses a test picked. Returns whether the list always ends in a RETURN. */
  const visit = (stmts: unknown, under: boolean): boolean => {
    let picked = under;
    for (const st of (stmts as unknown[] | undefined) ?? []) {
      const e = entry(st);
      if (!e) continue;
      const [type, b] = e;
      if (type === 'PLpgSQL_stmt_return') return true;
      if (type === 'PLpgSQL_stmt_assign') {
        const name = nameOf(b['varno']);
        const value = exprOf(b['expr']);
        const target = entry(value)?.[0] === 'SelectStmt' ? ((entry(value)![1]['targetList'] as unknown[] | undefined) ?? []) : [];
        const only = target.length === 1 ? entry(target[0])?.[1]['val'] : undefined;
        if (name && (picked || decides(value))) decided.add(name);
        else if (name && only !== undefined && isAddress(only)) address.add(name);
      } else if (type === 'PLpgSQL_stmt_execsql') {
        const stmt = parse((entry(b['sqlstmt'])?.[1] as PlExpr | undefined)?.query ?? '');
        const [kind, body] = entry(stmt) ?? ['', {}];
        if (readsConfirmation(stmt)) continue;
        if (kind === 'SelectStmt' && b['into'] && (picked || decides(stmt))) {
          const target = entry(b['target']);
          for (const f of (target?.[1]['fields'] as Array<{ name?: string }> | undefined) ?? []) if (f.name) decided.add(f.name);
          if (target?.[0] === 'PLpgSQL_var' || target?.[0] === 'PLpgSQL_rec') decided.add(String(target[1]['refname']));
        } else if (kind === 'InsertStmt') {
          const columns = ((body['cols'] as unknown[] | undefined) ?? []).map((c) => String(entry(c)?.[1]['name'] ?? ''));
          const select = entry(body['selectStmt'])?.[1] ?? {};
          // INSERT … SELECT … WHERE domain = split_part(new.email, '@', 2): every column comes from the row it picked.
          const whole = picked || decides(select['whereClause']) || decides(select['fromClause']);
          // The row exists only for the addresses picked: a membership, a staff row.
          if (whole && !out.rows.includes(tableOf(body['relation']))) out.rows.push(tableOf(body['relation']));
          const rows = (select['valuesLists'] as unknown[] | undefined)?.map((l) => (entry(l)?.[1]['items'] as unknown[] | undefined) ?? []) ?? [((select['targetList'] as unknown[] | undefined) ?? []).map((t) => entry(t)?.[1]['val'])];
          for (const row of rows) row.forEach((value, i) => columns[i] && (whole || decides(value)) && add(body['relation'], columns[i]!));
        } else if (kind === 'UpdateStmt') {
          const whole = picked || decides(body['whereClause']) || decides(body['fromClause']);
          for (const t of (body['targetList'] as unknown[] | undefined) ?? []) {
            const rt = entry(t)?.[1] ?? {};
            if (rt['name'] && (whole || decides(rt['val']))) add(body['relation'], String(rt['name']));
          }
        }
      } else if (type === 'PLpgSQL_stmt_if' || type === 'PLpgSQL_stmt_case') {
        const branches =
          type === 'PLpgSQL_stmt_if'
            ? [{ cond: exprOf(b['cond']), stmts: b['then_body'] }, ...((b['elsif_list'] as unknown[] | undefined) ?? []).map((x) => ({ cond: exprOf(entry(x)?.[1]['cond']), stmts: entry(x)?.[1]['stmts'] }))]
            : ((b['case_when_list'] as unknown[] | undefined) ?? []).map((x) => ({ cond: exprOf(entry(x)?.[1]['expr']), stmts: entry(x)?.[1]['stmts'] }));
        const subject = type === 'PLpgSQL_stmt_case' && b['t_expr'] ? exprOf(b['t_expr']) : undefined;
        const elseBody = type === 'PLpgSQL_stmt_if' ? b['else_body'] : b['else_stmts'];
        /** A branch that only returns: `if … then return new; end if;` lets by what it does not take. */
        const onlyReturns = (list: unknown) => ((list as unknown[] | undefined) ?? []).map(entry).every((x) => x?.[0] === 'PLpgSQL_stmt_return') && ((list as unknown[] | undefined) ?? []).length > 0;
        let guarded = false;
        let confirmed = false;
        for (const branch of branches) {
          if (readsConfirmation(branch.cond) || readsConfirmation(subject)) {
            // `if new.email_confirmed_at is null then return new; end if;`: what follows has a confirmed address.
            if (onlyReturns(branch.stmts) && !elseBody) confirmed = true;
            continue;
          }
          const test = decides(branch.cond) || (subject !== undefined && decides(subject));
          if (test && onlyReturns(branch.stmts) && !elseBody) guarded = true;
          else visit(branch.stmts, picked || test);
        }
        if (confirmed) return false;
        visit(elseBody, picked);
        // `if new.email not like '%@acme.com' then return new; end if;`: what follows runs for the addresses it let by.
        if (guarded) picked = true;
      } else if (type === 'PLpgSQL_stmt_block') {
        if (visit(b['body'], picked)) return true;
      } else if (/^PLpgSQL_stmt_(loop|while|fori|fors|forc|foreach_a|dynfors)$/.test(type)) {
        visit(b['body'], picked || decides(exprOf(b['cond'] ?? b['query'] ?? b['expr'])));
      }
    }
    return false;
  };
  visit([func['action']], false);
  return out;
}

/**
 * The gate a PL/pgSQL helper is (CallerGate, read by caller-gate.ts), when its body is exactly: one
 * `SELECT <columns> INTO <variables> FROM <table> [alias] WHERE <key> = <the caller's id> [AND …]`
 * (the id a parameter or auth.uid()), optionally `IF <one of those variables> IS NULL` / `IF NOT
 * FOUND THEN RETURN false` (or NULL), then `RETURN <test>`, the test over the variables as
 * gateOf reads it over the row's columns. No row found leaves the variables NULL, so a way
 * through that tests none of them passes without a row unless the IF returns first. Anything
 * else (another statement, an exception handler, a join): null.
 */
export function plpgsqlCallerGate(fn: { name: string; args: string; returns: string; source: string }, defaultSchema: string, parsePlpgsql: Parse, parseSync: Parse): CallerGate | null {
  const func = parseFunction(fn.source, fn.args, fn.returns, parsePlpgsql);
  if (!func) return null;
  try {
    return readGate(func, fn.name, parameterCount(fn.args), defaultSchema, parseSync);
  } catch (e) {
    if (e instanceof NotAGate) return null;
    throw e;
  }
}

function readGate(func: Record<string, unknown>, fnName: string, nargs: number, defaultSchema: string, parseSync: Parse): CallerGate | null {
  const datums = ((func['datums'] as unknown[] | undefined) ?? []).map(entry);
  const params = datums.slice(0, nargs).map((d) => (d?.[0] === 'PLpgSQL_var' ? String(d[1]['refname']) : fail()));
  const block = entry(func['action']);
  if (block?.[0] !== 'PLpgSQL_stmt_block' || block[1]['exceptions']) return null;
  const stmts = ((block[1]['body'] as unknown[] | undefined) ?? []).map(entry);
  if (stmts.length < 2 || stmts.length > 3 || stmts.some((s) => s === null)) return null;
  const [lookup, ...rest] = stmts as Array<[string, Record<string, unknown>]>;
  if (lookup![0] !== 'PLpgSQL_stmt_execsql' || !lookup![1]['into']) return null;
  const target = entry(lookup![1]['target']);
  const intoVars =
    target?.[0] === 'PLpgSQL_row' ? ((target[1]['fields'] as Array<{ name?: string }> | undefined) ?? []).map((f) => String(f.name ?? fail())) : target?.[0] === 'PLpgSQL_var' ? [String(target[1]['refname'])] : fail();
  if (intoVars.some((v) => params.includes(v))) return null;
  const exprOf = (v: unknown): unknown => {
    const q = (entry(v)?.[1] as PlExpr | undefined)?.query ?? fail();
    const sel = entry(oneStatement(`select ${q}`, parseSync))![1];
    return entry((sel['targetList'] as unknown[])[0])![1]['val'];
  };
  const names = { params, fnName, locals: new Set(datums.filter((d) => d?.[0] === 'PLpgSQL_var').map((d) => String(d![1]['refname']))) };
  const bare = new Set<string>();
  const query = (entry(lookup![1]['sqlstmt'])?.[1] as PlExpr | undefined)?.query ?? fail();
  // `select exists (select 1 from … where user_id = v and role = 'admin') into r; return r;` (or `select o.role = 'admin'
  // into r from … where …`): r holds what that SELECT's one column gives for the first row (NULL without one, as SELECT INTO
  // without STRICT leaves it), the gate a LANGUAGE sql body that is the SELECT is. r must be a boolean variable, so that
  // RETURN hands back the test itself, not a cast of it.
  if (rest.length === 1 && intoVars.length === 1 && rest[0]![0] === 'PLpgSQL_stmt_return') {
    // PL/pgSQL keeps `return r` of a plain variable as its datum number (retvarno), with no expression.
    const r = rest[0]![1];
    const returned = r['expr'] ? entry(exprOf(r['expr'])) : null;
    const named = returned?.[0] === 'ColumnRef' ? strings(returned[1]['fields']) : r['retvarno'] !== undefined && !r['expr'] ? [String(datums[Number(r['retvarno'])]?.[1]['refname'] ?? '')] : [];
    if (named.length === 1 && named[0] === intoVars[0]) {
      const v = datums.find((d) => d?.[0] === 'PLpgSQL_var' && d[1]['refname'] === intoVars[0]);
      const typname = String(entry(v?.[1]['datatype'])?.[1]['typname'] ?? '');
      if (!/^(boolean|bool|pg_catalog\.bool(ean)?)$/i.test(typname.trim())) return null;
      return sqlCallerGate({ name: fnName, args: params, returns: 'boolean' }, query, [...names.locals].filter((l) => !params.includes(l)), defaultSchema, parseSync);
    }
  }
  // The look-up: plain column targets, one for each INTO variable.
  const sel = oneStatement(query, parseSync);
  const row = readLookup(sel, names, defaultSchema, bare);
  const targets = ((entry(sel)![1]['targetList'] as unknown[] | undefined) ?? []).map((t) => row.column(entry(t)?.[1]['val']) ?? fail());
  if (targets.length !== intoVars.length) return null;
  const varColumn = new Map(intoVars.map((v, i) => [v, targets[i]!]));

  // Optionally `if <into variable> is null` / `if not found` then return false/null; then RETURN.
  let guarded = false;
  const guardAtoms: string[] = [];
  if (rest.length === 2) {
    const [kind, b] = rest[0]!;
    if (kind !== 'PLpgSQL_stmt_if' || (b['elsif_list'] as unknown[] | undefined)?.length || b['else_body']) return null;
    const then = ((b['then_body'] as unknown[] | undefined) ?? []).map(entry);
    if (then.length !== 1 || then[0]?.[0] !== 'PLpgSQL_stmt_return') return null;
    const returned = exprOf(then[0][1]['expr']);
    if (constBool(returned) !== false && !(entry(returned)?.[0] === 'A_Const' && entry(returned)![1]['isnull'] === true)) return null;
    const cond = entry(exprOf(b['cond']));
    const isNullOfInto = cond?.[0] === 'NullTest' && cond[1]['nulltesttype'] === 'IS_NULL' && entry(cond[1]['arg'])?.[0] === 'ColumnRef' && strings(entry(cond[1]['arg'])![1]['fields']).length === 1 && intoVars.includes(strings(entry(cond[1]['arg'])![1]['fields'])[0]!);
    const notFound = cond?.[0] === 'BoolExpr' && cond[1]['boolop'] === 'NOT_EXPR' && strings(entry(((cond[1]['args'] as unknown[]) ?? [])[0])?.[1]['fields']).join('.') === 'found';
    if (!isNullOfInto && !notFound) return null;
    guarded = true;
    // `if r is null`: also false for a row whose column is NULL.
    if (isNullOfInto) guardAtoms.push(`${varColumn.get(strings(entry(cond[1]['arg'])![1]['fields'])[0]!)!} notnull`);
  }
  const ret = rest[rest.length - 1]!;
  if (ret[0] !== 'PLpgSQL_stmt_return' || !ret[1]['expr']) return null;
  const returned = exprOf(ret[1]['expr']);
  // The test names the row's columns through the INTO variables; nothing else of the row is read.
  const column = (v: unknown): string | null => {
    const e = entry(v);
    if (e?.[0] !== 'ColumnRef') return null;
    const f = strings(e[1]['fields']);
    return f.length === 1 ? (varColumn.get(f[0]!) ?? null) : null;
  };
  return gateOf(returned, { lookup: row, column, needsRow: guarded, extra: guardAtoms, testInLookup: false }, names, defaultSchema, bare);
}
