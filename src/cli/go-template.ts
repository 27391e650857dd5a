/**
 * Go's text/template as the docker CLI runs `--format` (the subset scripts use: fields, methods with arguments,
 * variables, pipelines, parentheses, if/else/with/range, Go's comparison and logic functions, printf, and docker's
 * json, join, split, upper/lower/title, pad, truncate): its evaluation; its syntax is go-template-parse.ts, how values
 * print go-text.ts.
 */
import { WharfError } from '../errors/index.js';
import { goHtmlEscape, goJsEscape, goJson, goSprintf, toText, truthy } from './go-text.js';
import { declaration, parse, splitArgs, splitPipe, tokenize, type Node } from './go-template-parse.js';

export { goJson } from './go-text.js';

/** A field a template reads that its map lacks, under Go's `missingkey=error` (Docker's inspect sets it). */
class MissingKey extends Error {
  constructor(
    readonly expr: string,
    readonly key: string,
  ) {
    super(`map has no entry for key "${key}"`);
  }
}

/** A field a template reads that a list row's Go type does not have (docker's formatter contexts are structs). */
class UnknownField extends Error {
  constructor(
    readonly expr: string,
    key: string,
    type: string,
  ) {
    super(`can't evaluate field ${key} in type ${type}`);
  }
}

/** Set while a template runs with `missingkey: 'error'`: the fields that are not an error when absent. */
let missingKeyIsError: { known: ReadonlySet<string> } | undefined;
/** Set while a template runs on a typed value (`dot`: a list's row, an event): its Go type and the type's fields. */
let rowType: { name: string; known: ReadonlySet<string>; dot: unknown } | undefined;

function field(obj: unknown, pathExpr: string): unknown {
  let cur = obj;
  for (const part of pathExpr.split('.').filter(Boolean)) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof cur !== 'object')
      throw new WharfError('INVALID_ARGUMENT', `template: can't evaluate field ${part} in type ${typeof cur}`);
    const o = cur as Record<string, unknown>;
    if (part in o) cur = o[part];
    else if (rowType && o === rowType.dot) {
      // A struct's fields and methods, by their exact names: what the type lacks is Go's execution error.
      if (!rowType.known.has(part)) throw new UnknownField(pathExpr, part, rowType.name);
      cur = undefined;
    } else {
      // Go templates address struct fields by their exact name; accept a case-insensitive match for maps we build.
      const k = Object.keys(o).find((x) => x.toLowerCase() === part.toLowerCase());
      if (k === undefined && missingKeyIsError && !missingKeyIsError.known.has(part) && !Array.isArray(o))
        throw new MissingKey(pathExpr, part);
      cur = k === undefined ? undefined : o[k];
    }
  }
  return cur;
}

/** A template's variables (`$` is the value the template runs on) and the value `.` stands for. */
interface Scope {
  dot: unknown;
  vars: Map<string, unknown>;
}

function evalArg(arg: string, scope: Scope): unknown {
  if (arg === '.') return scope.dot;
  if (arg.startsWith('.')) return field(scope.dot, arg);
  if (arg.startsWith('(')) return evalPipe(arg.slice(1, -1), scope);
  if (arg.startsWith('$')) {
    const m = /^(\$[A-Za-z0-9_]*)(.*)$/.exec(arg)!;
    if (!scope.vars.has(m[1]!)) throw new WharfError('INVALID_ARGUMENT', `template: undefined variable "${m[1]}"`);
    const v = scope.vars.get(m[1]!);
    return m[2] ? field(v, m[2]) : v;
  }
  if (arg.startsWith('"')) return JSON.parse(arg) as string;
  if (/^-?\d+(\.\d+)?$/.test(arg)) return Number(arg);
  if (arg === 'true' || arg === 'false') return arg === 'true';
  if (arg === 'nil') return null;
  if (FUNCS[arg] || LAZY_FUNCS[arg]) return evalCommand([arg], scope, undefined, true);
  throw new WharfError('INVALID_ARGUMENT', `template: function "${arg}" not defined`);
}

/**
 * A list row as docker's formatter contexts marshal themselves (formatter.MarshalJSON: a map of every field, so
 * sorted by name, HTML-escaped); its methods with arguments (Label) are not fields.
 */
export function rowJson(row: object): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(row).sort()) sorted[k] = (row as Record<string, unknown>)[k];
  return goJson(sorted);
}

/** The rows `renderList` renders: docker's formatter contexts, whose JSON is HTML-escaped. */
const LIST_ROWS = new WeakSet<object>();

/** Mark a list's rows (format.ts renderList): `{{json .}}` marshals them as docker's contexts marshal themselves. */
export function markListRows(rows: readonly object[]): void {
  for (const r of rows) LIST_ROWS.add(r);
}

const FUNCS: Record<string, (...args: unknown[]) => unknown> = {
  // docker CLI's `json` (an Encoder with SetEscapeHTML(false)); a list row marshals itself with the escapes.
  json: (v) => (typeof v === 'object' && v !== null && LIST_ROWS.has(v) ? rowJson(v) : goJson(v, undefined, false)),
  index: (v, ...keys) =>
    keys.reduce<unknown>((o, k) => (o == null ? undefined : (o as Record<string, unknown>)[String(k)]), v),
  join: (v, sep) => (Array.isArray(v) ? v.map(toText).join(String(sep)) : toText(v)),
  upper: (v) => toText(v).toUpperCase(),
  lower: (v) => toText(v).toLowerCase(),
  title: (v) => toText(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  len: (v) =>
    Array.isArray(v)
      ? v.length
      : typeof v === 'string'
        ? v.length
        : v && typeof v === 'object'
          ? Object.keys(v).length
          : 0,
  println: (...v) => v.map(toText).join(' ') + '\n',
  print: (...v) => v.map(toText).join(''),
  printf: (format, ...v) => goSprintf(toText(format), v),
  split: (v, sep) => toText(v).split(String(sep)),
  truncate: (v, n) => toText(v).slice(0, Number(n)),
  pad: (v, l, r) => ' '.repeat(Number(l)) + toText(v) + ' '.repeat(Number(r)),
  // Go's comparisons: eq is true when the first argument equals any of the others.
  eq: (a, ...b) => b.some((x) => comparable(a) === comparable(x)),
  ne: (a, b) => comparable(a) !== comparable(b),
  lt: (a, b) => ordered(a, b) < 0,
  le: (a, b) => ordered(a, b) <= 0,
  gt: (a, b) => ordered(a, b) > 0,
  ge: (a, b) => ordered(a, b) >= 0,
  not: (v) => !truthy(v),
  // Go's slice (of a string or a list, 1 to 3 indexes) and its escapers.
  slice: (v, ...ix) => {
    const [from = 0, to] = ix.map(Number);
    return typeof v === 'string' || Array.isArray(v) ? v.slice(from, to) : v;
  },
  html: (...v) => goHtmlEscape(v.map(toText).join('')),
  js: (...v) => goJsEscape(v.map(toText).join('')),
  urlquery: (...v) => encodeURIComponent(v.map(toText).join('')).replace(/%20/g, '+'),
  call: (fn, ...args) => {
    if (typeof fn !== 'function') throw new WharfError('INVALID_ARGUMENT', 'template: call of non-function');
    return (fn as (...a: unknown[]) => unknown)(...args);
  },
};

/** Go's `and` and `or`: their arguments are evaluated in order until the answer is known, which is returned. */
const LAZY_FUNCS: Record<string, (args: Array<() => unknown>) => unknown> = {
  and: (args) => {
    let v: unknown;
    for (const a of args) {
      v = a();
      if (!truthy(v)) return v;
    }
    return v;
  },
  or: (args) => {
    let v: unknown;
    for (const a of args) {
      v = a();
      if (truthy(v)) return v;
    }
    return v;
  },
};

const comparable = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : (v ?? null));

function ordered(a: unknown, b: unknown): number {
  const [x, y] = [comparable(a), comparable(b)];
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0;
  throw new WharfError('INVALID_ARGUMENT', 'template: incompatible types for comparison');
}

function evalPipe(pipe: string, scope: Scope): unknown {
  let prev: unknown;
  let first = true;
  for (const command of splitPipe(pipe)) {
    const args = splitArgs(command.trim());
    if (args.length === 0) throw new WharfError('INVALID_ARGUMENT', 'template: missing value for command');
    prev = evalCommand(args, scope, prev, first);
    first = false;
  }
  return prev;
}

/** One command of a pipeline; after the first, the pipeline's value so far is its last argument. */
function evalCommand(args: string[], scope: Scope, prev: unknown, first: boolean): unknown {
  const head = args[0]!;
  const rest = (): unknown[] => {
    const vals = args.slice(1).map((a) => evalArg(a, scope));
    if (!first) vals.push(prev);
    return vals;
  };
  if (LAZY_FUNCS[head]) {
    const thunks = args.slice(1).map((a) => () => evalArg(a, scope));
    if (!first) thunks.push(() => prev);
    return LAZY_FUNCS[head]!(thunks);
  }
  if (FUNCS[head]) return FUNCS[head]!(...rest());
  if ((head.startsWith('.') || head.startsWith('$')) && (args.length > 1 || !first)) {
    // A method with arguments (`{{.Label "com.docker.compose.project"}}`: a row's function), the pipe's value last.
    const fn = evalArg(head, scope);
    if (typeof fn === 'function') return (fn as (...a: unknown[]) => unknown)(...rest());
    if (fn === undefined) return undefined; // a method the value leaves out (an empty row's)
    throw new WharfError('INVALID_ARGUMENT', `template: ${head} is not a function`);
  }
  if (args.length > 1) throw new WharfError('INVALID_ARGUMENT', `template: ${head} is not a function`);
  return evalArg(head, scope);
}

function exec(nodes: Node[], scope: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        out.push(n.v);
        break;
      case 'action': {
        const d = declaration(n.pipe);
        const v = evalPipe(d.pipe, scope);
        if (d.names.length)
          scope.vars.set(d.names[0]!, v); // a declaration prints nothing
        else out.push(toText(v));
        break;
      }
      case 'if':
      case 'with': {
        // The condition's variables (`{{with $c := .Config}}`) live until the {{end}}; with's body has it as dot.
        const d = declaration(n.pipe);
        const inner = { dot: scope.dot, vars: new Map(scope.vars) };
        const v = evalPipe(d.pipe, inner);
        if (d.names.length) inner.vars.set(d.names[0]!, v);
        if (!truthy(v)) exec(n.alt, inner, out);
        else exec(n.body, n.t === 'with' ? { dot: v, vars: inner.vars } : inner, out);
        break;
      }
      case 'range': {
        const d = declaration(n.pipe);
        const v = evalPipe(d.pipe, scope);
        const entries: Array<[unknown, unknown]> = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object'
            ? Object.keys(v)
                .sort()
                .map((k) => [k, (v as Record<string, unknown>)[k]])
            : typeof v === 'number'
              ? Array.from({ length: v }, (_, i) => [i, i])
              : [];
        if (entries.length === 0) exec(n.alt, scope, out);
        for (const [k, x] of entries) {
          const vars = new Map(scope.vars);
          // `range $v := …` names the element; `range $k, $v := …` the key (or index) and the element.
          if (d.names.length === 1) vars.set(d.names[0]!, x);
          if (d.names.length === 2) {
            vars.set(d.names[0]!, k);
            vars.set(d.names[1]!, x);
          }
          exec(n.body, { dot: x, vars }, out);
        }
        break;
      }
    }
  }
}

export interface Template {
  render(dot: unknown): string;
}

/**
 * Compile a Go template (docker's `--format`). `\t` and `\n` written literally in the flag are honoured. With
 * `missingKey: 'error'` (Go's `missingkey=error`, as `docker inspect` runs its templates) a field the object lacks
 * fails the render with Go's message instead of printing `<no value>`, unless it is one of `known` (the fields
 * Docker's types have, which its typed pass prints even when empty and Wharf's objects may leave out).
 */
export function compileTemplate(
  src: string,
  opts: { missingKey?: 'error'; known?: ReadonlySet<string>; rowType?: RowType; name?: string } = {},
): Template {
  const text = src.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const name = opts.name ?? '';
  let nodes: Node[];
  try {
    nodes = parse(text, tokenize(text));
  } catch (err) {
    // Go names the template in its errors: `template: version:1: unclosed action`.
    if (name && err instanceof WharfError)
      throw new WharfError(err.code, err.message.replace(/^template: :/, `template: ${name}:`));
    throw err;
  }
  const typed = opts.rowType && { name: opts.rowType.name, known: new Set(opts.rowType.fields) };
  return {
    render(dot: unknown) {
      const out: string[] = [];
      const saved = [missingKeyIsError, rowType] as const;
      missingKeyIsError = opts.missingKey === 'error' ? { known: opts.known ?? new Set() } : undefined;
      rowType = typed && { ...typed, dot };
      try {
        exec(nodes, { dot, vars: new Map([['$', dot]]) }, out);
      } catch (err) {
        if (!(err instanceof MissingKey || err instanceof UnknownField)) throw err;
        throw new WharfError(
          'INVALID_ARGUMENT',
          `template: ${name}:${goPosition(src, err.expr)}: executing "${name}" at <${err.expr}>: ${err.message}`,
        );
      } finally {
        [missingKeyIsError, rowType] = saved;
      }
      return out.join('');
    },
  };
}

/** Go's `line:col` of a field chain in the template: where its last `.Field` starts (col counts from 0). */
function goPosition(src: string, expr: string): string {
  const re = new RegExp(`${expr.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_])`);
  const m = re.exec(src);
  if (!m) return '1:0';
  const at = m.index + expr.lastIndexOf('.');
  const before = src.slice(0, at);
  const line = before.split('\n').length;
  return `${line}:${at - (before.lastIndexOf('\n') + 1)}`;
}

/**
 * A list's rows as docker's formatter has them: a Go struct (`name`, as Go's errors name it) whose `fields` (fields
 * and methods) are all a template may read; a row object may leave some out (they print `<no value>`). Docker runs
 * `ps`'s template once on an empty row before it lists (`checkFirst`), so a bad field fails even with no rows.
 */
export interface RowType {
  name: string;
  fields: readonly string[];
  checkFirst?: boolean;
}
