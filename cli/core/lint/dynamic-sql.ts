/**
 * What a function's caller chooses of the SQL it runs (pure): the command
 * strings a PL/pgSQL body EXECUTEs that carry a text argument unquoted
 * (`execute 'select … where title = ''' || p || ''''`, format's `%s`), and the
 * settings Postgres and the policies take the caller's identity from (`role`,
 * `request.jwt.claims`) that a body sets from an argument (`set_config('role',
 * p_role, true)`).
 *
 * Why text alone: EXECUTE runs the string it is given, and only a value of a
 * string type can bring its own quotes and keywords; an integer or uuid argument
 * concatenated prints as digits and hex. quote_literal / quote_ident /
 * quote_nullable and format's %L / %I quote the value; USING passes it as a
 * parameter; a cast to another type (`p::int`) fails on anything else.
 */
import { funcName, nodeEntry, opName, parameterList, strings, walk } from './expr.js';
import { parseFunction } from './plpgsql.js';

type Parse = (sql: string) => unknown;

/** String types: their text is whatever the caller sent (a domain over one is not followed). */
const STRING_TYPE = /^(?:pg_catalog\.)?(?:text|character varying|varchar|character|char|bpchar|name|citext|json|jsonb|xml|unknown)(?:\s*\(\s*\d+\s*\))?(?:\s*\[\s*\])*$/i;

export function isStringType(type: string): boolean {
  return STRING_TYPE.test(type.trim().replace(/"/g, ''));
}

/** Functions whose result carries their first argument's text as it is. */
const KEEPS_FIRST = new Set(['lower', 'upper', 'btrim', 'ltrim', 'rtrim', 'substr', 'substring', 'left', 'right', 'regexp_replace', 'array_to_string', 'string_agg', 'trim', 'text', 'rpad', 'lpad', 'reverse', 'initcap', 'translate']);
/** Functions that quote their argument for the SQL text (or return something other than the argument's text). */
const QUOTES = new Set(['quote_literal', 'quote_ident', 'quote_nullable']);

/**
 * format()'s specifiers: for each argument (from 0, after the format string), whether it is
 * inserted as `%s` (as it is). %I and %L quote; `%%` is a percent sign. Positions `%2$s` (a
 * specifier without one takes the argument after the last one used) and widths `%-10s`, `%*s`
 * and `%*2$s` (which take an argument) are followed as format() does.
 */
export function formatPlainArguments(fmt: string): Set<number> {
  const plain = new Set<number>();
  let next = 0;
  const re = /%(?:(\d+)\$)?([-]?)(\*(?:\d+\$)?|\d+)?([sIL%])/g;
  for (let m = re.exec(fmt); m; m = re.exec(fmt)) {
    if (m[4] === '%') continue;
    if (m[3]?.startsWith('*')) {
      // `*` takes the next argument as the width, `*n$` argument n; the value follows it.
      const w = /^\*(\d+)\$$/.exec(m[3]);
      next = w ? Number(w[1]) : next + 1;
    }
    const at = m[1] !== undefined ? Number(m[1]) - 1 : next;
    next = at + 1;
    if (m[4] === 's') plain.add(at);
  }
  return plain;
}

/**
 * The names among `tainted` whose text an expression's value carries unquoted: through `||`,
 * concat / concat_ws, format's %s (or a format string that is itself one), COALESCE, CASE
 * results, NULLIF's first value, casts to a string type and functions that keep their first
 * argument's text (lower, substr, …); not through a comparison, a quoting function, %I/%L, or a
 * cast to another type. replace(p, '''', '''''') doubles quotes and is taken as quoting.
 */
export function carried(node: unknown, tainted: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  const go = (v: unknown): void => {
    const e = nodeEntry(v);
    if (!e) return;
    const [type, b] = e;
    if (type === 'ColumnRef') {
      const f = strings(b['fields']);
      if (f.length === 1 && tainted.has(f[0]!)) out.add(f[0]!);
      // `fn.p`: a parameter qualified with its function's name.
      else if (f.length === 2 && tainted.has(f[1]!) && !tainted.has(f[0]!)) out.add(f[1]!);
    } else if (type === 'ParamRef') {
      const n = `$${String(b['number'])}`;
      if (tainted.has(n)) out.add(n);
    } else if (type === 'A_Expr') {
      const kind = String(b['kind']);
      if (kind === 'AEXPR_OP' && opName(b) === '||') {
        go(b['lexpr']);
        go(b['rexpr']);
      } else if (kind === 'AEXPR_NULLIF') go(b['lexpr']);
    } else if (type === 'TypeCast') {
      const t = strings((nodeEntry(b['typeName'])?.[1] ?? (b['typeName'] as Record<string, unknown>))?.['names']).filter((x) => x !== 'pg_catalog').join('.');
      if (isStringType(t)) go(b['arg']);
    } else if (type === 'CoalesceExpr') {
      for (const a of (b['args'] as unknown[] | undefined) ?? []) go(a);
    } else if (type === 'CaseExpr') {
      for (const w of (b['args'] as unknown[] | undefined) ?? []) go(nodeEntry(w)?.[1]['result']);
      go(b['defresult']);
    } else if (type === 'FuncCall') {
      const name = funcName(b).toLowerCase();
      const args = (b['args'] as unknown[] | undefined) ?? [];
      if (QUOTES.has(name)) return;
      if (name === 'concat' || name === 'concat_ws') for (const a of args) go(a);
      else if (name === 'format') {
        const fmt = constText(args[0]);
        if (fmt === null) for (const a of args) go(a);
        else for (const i of formatPlainArguments(fmt)) go(args[i + 1]);
      } else if (name === 'replace') {
        // Doubling every quote is quoting a literal (standard_conforming_strings is on since 9.1).
        if (!(constText(args[1]) === "'" && constText(args[2]) === "''")) go(args[0]);
      } else if (KEEPS_FIRST.has(name)) go(args[0]);
    }
  };
  go(node);
  return out;
}

/** The names an expression refers to at all (any use of the value, quoted or not). */
export function referenced(node: unknown, names: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  walk(node, (type, b) => {
    if (type === 'ColumnRef') {
      const f = strings(b['fields']);
      const last = f[f.length - 1];
      if (f.length <= 2 && last !== undefined && names.has(last)) out.add(last);
    } else if (type === 'ParamRef') {
      const n = `$${String(b['number'])}`;
      if (names.has(n)) out.add(n);
    }
  });
  return out;
}

export function constText(v: unknown): string | null {
  let n = v;
  while (nodeEntry(n)?.[0] === 'TypeCast') n = nodeEntry(n)![1]['arg'];
  const e = nodeEntry(n);
  if (!e || e[0] !== 'A_Const') return null;
  const s = e[1]['sval'] as { sval?: string } | undefined;
  return s ? (s.sval ?? '') : null;
}

/** The one expression of `select <expr>`, or null when it does not parse. */
function expressionOf(text: string, parseSync: Parse): unknown {
  try {
    const parsed = parseSync(`select ${text}`) as { stmts?: Array<{ stmt?: unknown }> };
    const sel = nodeEntry(parsed.stmts?.[0]?.stmt);
    const target = (sel?.[1]['targetList'] as unknown[] | undefined)?.[0];
    return nodeEntry(target)?.[1]['val'] ?? null;
  } catch {
    return null;
  }
}

/** Settings the caller's identity is read from: the role a statement runs as, and the request's claims the policies read. */
export function identitySetting(name: string): boolean {
  const n = name.toLowerCase();
  return n === 'role' || n === 'session_authorization' || n === 'request.jwt.claims' || n === 'request.jwt.claim' || n.startsWith('request.jwt.claim.');
}

export interface CallerChosenSql {
  /** EXECUTE (RETURN QUERY EXECUTE, FOR … IN EXECUTE, OPEN … FOR EXECUTE) of a string carrying these text arguments unquoted. */
  executes: Array<{ line: number; arguments: string[]; several: boolean; via?: string }>;
  /** set_config of an identity setting to a value built from these arguments. */
  identity: Array<{ setting: string; arguments: string[] }>;
  /** Settings it sets for the session (set_config(name, …, false)): they outlive the request. */
  session?: string[];
  /** Calls of other functions (by the name written) handed a text argument unquoted, at a position (from 0) or a parameter name (`p => …`). */
  calls?: Array<{ callee: string; at: number | string; arguments: string[] }>;
}

/** Function calls in a tree whose arguments carry a text argument unquoted. */
function collectCalls(tree: unknown, carriers: ReadonlyMap<string, ReadonlySet<string>>, out: CallerChosenSql): void {
  walk(tree, (type, b) => {
    if (type !== 'FuncCall') return;
    ((b['args'] as unknown[] | undefined) ?? []).forEach((arg, i) => {
      const named = nodeEntry(arg);
      const at: number | string = named?.[0] === 'NamedArgExpr' ? String(named[1]['name']) : i;
      const value = named?.[0] === 'NamedArgExpr' ? named[1]['arg'] : arg;
      const args = new Set<string>();
      for (const n of carried(value, new Set(carriers.keys()))) for (const a of carriers.get(n) ?? []) args.add(a);
      if (args.size) (out.calls ??= []).push({ callee: funcName(b).toLowerCase(), at, arguments: [...args].sort() });
    });
  });
}

interface PlExpr {
  query: string;
  parseMode?: number | string;
}

/**
 * A function's caller-chosen SQL: a LANGUAGE plpgsql body (its source, identity arguments and
 * result) read with PL/pgSQL's grammar, a LANGUAGE sql body for set_config alone (it cannot
 * EXECUTE). Variables count as their arguments once any assignment (or default) carries one;
 * a variable of a type other than text cannot carry an argument's text into a command string.
 */
export function callerChosenSql(fn: { args: string; returns: string; language: string; body: string | null; plpgsqlSource?: string | null }, parseSync: Parse, parsePlpgsql: Parse | undefined): CallerChosenSql {
  const out: CallerChosenSql = { executes: [], identity: [] };
  const params = parameterList(fn.args);
  const argTypes = fn.args.trim() === '' ? [] : fn.args.split(',').map((p) => p.trim().split(/\s+/).filter((w) => !/^(in|out|inout|variadic)$/i.test(w)));
  if (fn.language === 'sql' && fn.body !== null) {
    const names = new Set<string>(params.filter(Boolean));
    params.forEach((_, i) => names.add(`$${i + 1}`));
    let tree: unknown;
    try {
      tree = parseSync(fn.body);
    } catch {
      return out;
    }
    collectSetConfig(tree, names, out);
    // Text arguments, by name and by position.
    const text = new Map<string, Set<string>>();
    argTypes.forEach((words, i) => {
      if (!isStringType(words.slice(params[i] ? 1 : 0).join(' '))) return;
      const name = params[i] || `$${i + 1}`;
      text.set(name, new Set([name]));
      text.set(`$${i + 1}`, new Set([name]));
    });
    collectQueryCalls(tree, text, out);
    collectCalls(tree, text, out);
    return out;
  }
  if (fn.language !== 'plpgsql' || !fn.plpgsqlSource || !parsePlpgsql) return out;
  const func = parseFunction(fn.plpgsqlSource, fn.args, fn.returns, parsePlpgsql);
  if (!func) return out;
  const datums = ((func['datums'] as unknown[] | undefined) ?? []).map(nodeEntry);
  const typeOf = (d: ReturnType<typeof nodeEntry>): string => String((nodeEntry(d?.[1]['datatype'])?.[1] ?? {})['typname'] ?? '');
  const nameOf = (dno: number): string | undefined => datums[dno]?.[1]['refname'] as string | undefined;
  const stringVars = new Set<string>();
  const textParams = new Set<string>();
  const allParams = new Set<string>();
  datums.forEach((d, dno) => {
    if (!d || d[0] !== 'PLpgSQL_var') return;
    const name = String(d[1]['refname']);
    // The parser's type name; an unnamed parameter is `$n` and keeps its declared type.
    const type = typeOf(d) || (dno < argTypes.length ? (argTypes[dno]!.slice(params[dno] ? 1 : 0).join(' ') ?? '') : '');
    if (isStringType(type)) stringVars.add(name);
    if (dno < params.length) {
      allParams.add(name);
      if (isStringType(type)) textParams.add(name);
    }
  });
  // Each variable's values: its default and its assignments (an expression, read as `select <expr>`).
  const values: Array<{ name: string; expr: unknown }> = [];
  // `several`: a plain EXECUTE runs every statement of its string (RETURN QUERY, FOR and OPEN take one query).
  const sinks: Array<{ line: number; expr: unknown; several: boolean; stmt: object }> = [];
  const allExprs: unknown[] = [];
  const read = (e: PlExpr | undefined): unknown => {
    if (!e || typeof e.query !== 'string') return null;
    const assign = /^\s*(?:"(?:[^"]|"")*"|[^\s:=[]+)\s*:?=/.exec(e.query);
    const mode = typeof e.parseMode === 'number' ? e.parseMode : ['RAW_PARSE_DEFAULT', 'RAW_PARSE_TYPE_NAME', 'RAW_PARSE_PLPGSQL_EXPR', 'RAW_PARSE_PLPGSQL_ASSIGN1', 'RAW_PARSE_PLPGSQL_ASSIGN2', 'RAW_PARSE_PLPGSQL_ASSIGN3'].indexOf(e.parseMode ?? 'RAW_PARSE_DEFAULT');
    if (mode >= 3) return assign ? expressionOf(e.query.slice(assign[0].length), parseSync) : null;
    if (mode === 2) return expressionOf(e.query, parseSync);
    if (mode === 0) {
      try {
        return parseSync(e.query);
      } catch {
        return null;
      }
    }
    return null;
  };
  datums.forEach((d) => {
    if (!d || d[0] !== 'PLpgSQL_var') return;
    const def = nodeEntry(d[1]['default_val'])?.[1] as PlExpr | undefined;
    if (def) values.push({ name: String(d[1]['refname']), expr: expressionOf(def.query, parseSync) });
  });
  walk(func['action'], (type, body) => {
    const exprOf = (k: string) => nodeEntry(body[k])?.[1] as PlExpr | undefined;
    const line = Number(body['lineno'] ?? 0);
    if (type === 'PLpgSQL_stmt_assign') {
      const name = nameOf(Number(body['varno']));
      if (name !== undefined) values.push({ name, expr: read(exprOf('expr')) });
    } else if (type === 'PLpgSQL_stmt_dynexecute' || type === 'PLpgSQL_stmt_dynfors') sinks.push({ line, expr: read(exprOf('query')), several: type === 'PLpgSQL_stmt_dynexecute', stmt: body });
    else if ((type === 'PLpgSQL_stmt_return_query' || type === 'PLpgSQL_stmt_open') && body['dynquery']) sinks.push({ line, expr: read(exprOf('dynquery')), several: false, stmt: body });
    if (type === 'PLpgSQL_expr') allExprs.push(read(body as unknown as PlExpr));
  });
  // Which text variables carry a text argument (to a fixed point: `a := p; b := a || 'x'`), and which values come from any argument.
  const carriers = new Map<string, Set<string>>([...textParams].map((p) => [p, new Set([p])]));
  const derived = new Map<string, Set<string>>([...allParams].map((p) => [p, new Set([p])]));
  // `$1` names the first parameter whatever it is called.
  params.forEach((p, i) => {
    const name = p || `$${i + 1}`;
    if (textParams.has(name)) carriers.set(`$${i + 1}`, new Set([name]));
    if (allParams.has(name)) derived.set(`$${i + 1}`, new Set([name]));
  });
  for (let changed = true; changed; ) {
    changed = false;
    for (const v of values) {
      if (v.expr === null || allParams.has(v.name)) continue;
      const grow = (map: Map<string, Set<string>>, from: Set<string>) => {
        const to = map.get(v.name) ?? new Set<string>();
        for (const n of from) for (const a of map.get(n) ?? []) if (!to.has(a)) (to.add(a), (changed = true));
        if (to.size) map.set(v.name, to);
      };
      if (stringVars.has(v.name)) grow(carriers, carried(v.expr, new Set(carriers.keys())));
      grow(derived, referenced(v.expr, new Set(derived.keys())));
    }
  }
  const allowed = allowListed(func['action'], (q) => expressionOf(q, parseSync));
  for (const s of sinks) {
    if (s.expr === null) continue;
    const args = new Set<string>();
    const fixed = allowed.get(s.stmt) ?? new Set<string>();
    for (const n of carried(s.expr, new Set([...carriers.keys()].filter((k) => !fixed.has(k))))) for (const a of carriers.get(n) ?? []) args.add(a);
    if (args.size) out.executes.push({ line: s.line, arguments: [...args].sort(), several: s.several });
  }
  for (const e of allExprs) if (e !== null) (collectQueryCalls(e, carriers, out), collectCalls(e, carriers, out));
  const names = new Set(derived.keys());
  for (const e of allExprs) {
    if (e === null) continue;
    const found: CallerChosenSql = { executes: [], identity: [] };
    collectSetConfig(e, names, found);
    if (found.session) (out.session ??= []).push(...found.session);
    for (const i of found.identity) out.identity.push({ setting: i.setting, arguments: [...new Set(i.arguments.flatMap((n) => [...(derived.get(n) ?? [])]))].sort() });
  }
  return out;
}

/** Functions that run the query their first argument spells (each takes one query). */
const RUNS_QUERY = new Set(['query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema', 'ts_stat']);

/** query_to_xml('select … ' || p, …) and the like: a command string run without EXECUTE, in LANGUAGE sql too. */
function collectQueryCalls(tree: unknown, carriers: ReadonlyMap<string, ReadonlySet<string>>, out: CallerChosenSql): void {
  walk(tree, (type, b) => {
    if (type !== 'FuncCall' || !RUNS_QUERY.has(funcName(b).toLowerCase())) return;
    const args = new Set<string>();
    for (const n of carried(((b['args'] as unknown[] | undefined) ?? [])[0], new Set(carriers.keys()))) for (const a of carriers.get(n) ?? []) args.add(a);
    if (args.size) out.executes.push({ line: 0, arguments: [...args].sort(), several: false, via: funcName(b).toLowerCase() });
  });
}

/** set_config('<identity setting>', <value referring to `names`>, …) calls in a tree. */
function collectSetConfig(tree: unknown, names: ReadonlySet<string>, out: CallerChosenSql): void {
  walk(tree, (type, b) => {
    if (type !== 'FuncCall' || funcName(b).toLowerCase() !== 'set_config') return;
    const args = (b['args'] as unknown[] | undefined) ?? [];
    const setting = constText(args[0]);
    if (setting === null) return;
    // is_local false (`false`, or a string Postgres reads as false): the value stays for the session.
    const local = nodeEntry(args[2]);
    const boolval = local?.[0] === 'A_Const' ? (local[1]['boolval'] as { boolval?: boolean } | undefined) : undefined;
    const isFalse = boolval !== undefined ? boolval.boolval !== true : ['false', 'f', 'off', 'no', 'n', '0'].includes((constText(args[2]) ?? '').toLowerCase());
    if (isFalse) (out.session ??= []).push(setting.toLowerCase());
    if (!identitySetting(setting)) return;
    const refs = referenced(args[1], names);
    if (refs.size) out.identity.push({ setting: setting.toLowerCase(), arguments: [...refs].sort() });
  });
}

/** `p in ('a', 'b')`, `p = 'a'`, `p = any (array['a'])`: the name held to constants, or null. */
function heldToConstants(v: unknown): string | null {
  const e = nodeEntry(v);
  if (!e || e[0] !== 'A_Expr') return null;
  const b = e[1];
  const kind = String(b['kind']);
  const name = (x: unknown): string | null => {
    const c = nodeEntry(x);
    const f = c && c[0] === 'ColumnRef' ? strings(c[1]['fields']) : [];
    return f.length === 1 ? f[0]! : null;
  };
  const consts = (x: unknown): boolean => {
    const c = nodeEntry(x);
    if (!c) return false;
    if (c[0] === 'A_Const') return true;
    if (c[0] === 'TypeCast') return consts(c[1]['arg']);
    const items = c[0] === 'List' ? c[1]['items'] : c[0] === 'A_ArrayExpr' ? c[1]['elements'] : null;
    return Array.isArray(items) && items.every(consts);
  };
  if ((kind === 'AEXPR_IN' || kind === 'AEXPR_OP_ANY' || kind === 'AEXPR_OP') && opName(b) === '=') {
    if (name(b['lexpr']) && consts(b['rexpr'])) return name(b['lexpr']);
    if (kind === 'AEXPR_OP' && name(b['rexpr']) && consts(b['lexpr'])) return name(b['rexpr']);
  }
  return null;
}

/** The negation of heldToConstants: `p not in (…)`, `p <> all (…)`, `p <> 'a'`, `not (p in (…))`. */
function notHeldToConstants(v: unknown): string | null {
  const e = nodeEntry(v);
  if (!e) return null;
  if (e[0] === 'BoolExpr' && e[1]['boolop'] === 'NOT_EXPR') return heldToConstants((e[1]['args'] as unknown[] | undefined)?.[0]);
  if (e[0] !== 'A_Expr' || !['<>', '!='].includes(opName(e[1]))) return null;
  const kind = String(e[1]['kind']);
  const flipped = { A_Expr: { ...e[1], kind: kind === 'AEXPR_OP_ALL' ? 'AEXPR_OP_ANY' : kind, name: [{ String: { sval: '=' } }] } };
  return kind === 'AEXPR_IN' || kind === 'AEXPR_OP_ALL' || kind === 'AEXPR_OP' ? heldToConstants(flipped) : null;
}

function boolArgs(v: unknown, op: 'AND_EXPR' | 'OR_EXPR'): unknown[] {
  const e = nodeEntry(v);
  return e && e[0] === 'BoolExpr' && e[1]['boolop'] === op ? ((e[1]['args'] as unknown[] | undefined) ?? []) : [v];
}

/**
 * For each statement of a PL/pgSQL body, the variables an IF has held to constants where it
 * runs: inside `if p in ('asc', 'desc') then …`, and after `if p not in (…) then raise exception
 * …; end if;` (or RETURN), where every OR-ed test was false. An
 * assignment to the variable afterwards is not followed.
 */
function allowListed(action: unknown, expression: (q: string) => unknown): Map<object, Set<string>> {
  const out = new Map<object, Set<string>>();
  const condOf = (x: unknown): unknown => {
    const q = (nodeEntry(x)?.[1] as PlExpr | undefined)?.query;
    return typeof q === 'string' ? expression(q) : null;
  };
  const stops = (list: unknown): boolean => {
    const last = nodeEntry(Array.isArray(list) ? list[list.length - 1] : null);
    return !!last && (last[0] === 'PLpgSQL_stmt_return' || last[0] === 'PLpgSQL_stmt_return_query' || (last[0] === 'PLpgSQL_stmt_raise' && Number(last[1]['elog_level']) === 21 /* ERROR */));
  };
  const visitList = (list: unknown, held: Set<string>): void => {
    if (!Array.isArray(list)) return;
    let now = new Set(held);
    for (const stmt of list) {
      const e = nodeEntry(stmt);
      if (!e) continue;
      out.set(e[1], now);
      if (e[0] === 'PLpgSQL_stmt_if') {
        const cond = condOf(e[1]['cond']);
        const inThen = new Set(now);
        for (const c of boolArgs(cond, 'AND_EXPR')) {
          const n = heldToConstants(c);
          if (n) inThen.add(n);
        }
        visitList(e[1]['then_body'], inThen);
        for (const x of (e[1]['elsif_list'] as unknown[] | undefined) ?? []) visitList(nodeEntry(x)?.[1]['stmts'], now);
        visitList(e[1]['else_body'], now);
        // Past an IF whose THEN branch stops, its test was false, whatever the ELSIF and ELSE branches do.
        if (stops(e[1]['then_body'])) {
          const names = boolArgs(cond, 'OR_EXPR').map(notHeldToConstants).filter((n): n is string => n !== null);
          if (names.length) now = new Set([...now, ...names]);
        }
      } else nested(e[1], now);
    }
  };
  // Statement lists nested anywhere in a statement (a block's body, a loop's, a CASE's, an exception handler's).
  const nested = (body: Record<string, unknown>, held: Set<string>): void => {
    for (const k in body) {
      const v = body[k];
      if (Array.isArray(v) && v.some((x) => nodeEntry(x)?.[0].startsWith('PLpgSQL_stmt_'))) visitList(v, held);
      else if (Array.isArray(v)) for (const x of v) { const n = nodeEntry(x); if (n) nested(n[1], held); }
      else { const n = nodeEntry(v); if (n) nested(n[1], held); }
    }
  };
  const top = nodeEntry(action);
  if (top) (out.set(top[1], new Set()), nested(top[1], new Set()));
  return out;
}
