/**
 * Output formatting as the docker CLI does it: tabwriter tables (minwidth 10, padding 3), `--format` Go templates
 * (a subset: field paths, json, index, join, upper/lower/title, len, println, range, if/else, with, `table` prefix),
 * and Go's JSON encoding (which escapes <, > and &).
 */
import { WharfError } from '../errors/index.js';
import { withExitStatus } from './errors.js';

/**
 * Go's encoding/json output: HTML-safe escapes so `<none>` prints as `\u003cnone\u003e`, as docker does for a list's
 * rows (their MarshalJSON uses json.Marshal); the template function `json` encodes other values without them. A
 * bigint is a Go int64 (an event's timeNano): written as its digits, which a double cannot hold.
 */
export function goJson(v: unknown, indent?: string, escapeHTML = true): string {
  const big = (_k: string, x: unknown) => (typeof x === 'bigint' ? `\u0000int64:${x}` : x);
  const s = (indent === undefined ? JSON.stringify(v, big) : JSON.stringify(v, big, indent))?.replace(
    /"\\u0000int64:(-?\d+)"/g,
    '$1',
  );
  if (!escapeHTML) return (s ?? 'null').replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  return (s ?? 'null').replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Go's text/tabwriter with docker's settings: each column is as wide as its widest cell + 3, at least 10. */
export function renderTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((cell, i) => {
      if (i === r.length - 1) return; // the last cell of a line is not aligned
      widths[i] = Math.max(widths[i] ?? 10, [...cell].length + 3);
    });
  }
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(Math.max(0, widths[i]! - [...cell].length))))
        .join(''),
    )
    .map((l) => l + '\n')
    .join('');
}

// ---- Go template subset

type Node =
  | { t: 'text'; v: string }
  | { t: 'action'; pipe: string }
  | { t: 'range'; pipe: string; body: Node[]; alt: Node[] }
  | { t: 'if'; pipe: string; body: Node[]; alt: Node[] }
  | { t: 'with'; pipe: string; body: Node[]; alt: Node[] };

/** A template that does not parse, in Go's words (`template: :LINE: unclosed action`). */
function parseError(src: string, at: number, what: string): WharfError {
  return new WharfError('INVALID_ARGUMENT', `template: :${src.slice(0, at).split('\n').length}: ${what}`);
}

type Token = { text?: string; action?: string; at: number };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i), at: i });
      break;
    }
    let text = src.slice(i, open);
    const close = src.indexOf('}}', open);
    if (close < 0) throw parseError(src, open, 'unclosed action');
    let action = src.slice(open + 2, close);
    let next = close + 2;
    if (action.startsWith('- ')) {
      text = text.replace(/\s+$/, '');
      action = action.slice(2);
    }
    if (action.endsWith(' -')) {
      action = action.slice(0, -2);
      const m = /^\s*/.exec(src.slice(next))!;
      next += m[0].length;
    }
    if (text) out.push({ text, at: i });
    out.push({ action: action.trim(), at: open });
    i = next;
  }
  return out;
}

function parse(src: string, tokens: Token[]): Node[] {
  let pos = 0;
  const block = (): { nodes: Node[]; end: 'end' | 'else' | 'eof'; at: number } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const tok = tokens[pos++]!;
      if (tok.text !== undefined) {
        nodes.push({ t: 'text', v: tok.text });
        continue;
      }
      const a = tok.action!;
      if (a === 'end') return { nodes, end: 'end', at: tok.at };
      if (a === 'else') return { nodes, end: 'else', at: tok.at };
      if (a.startsWith('/*')) continue;
      const kw = /^(range|if|with)\s+(.*)$/.exec(a);
      if (kw) {
        const body = block();
        let alt: Node[] = [];
        if (body.end === 'else') {
          const b2 = block();
          alt = b2.nodes;
          if (b2.end !== 'end') throw parseError(src, src.length, 'unexpected EOF');
        } else if (body.end !== 'end') throw parseError(src, src.length, 'unexpected EOF');
        nodes.push({ t: kw[1] as 'range' | 'if' | 'with', pipe: kw[2]!, body: body.nodes, alt });
        continue;
      }
      nodes.push({ t: 'action', pipe: a });
    }
    return { nodes, end: 'eof', at: src.length };
  };
  const r = block();
  if (r.end !== 'eof') throw parseError(src, r.at, `unexpected {{${r.end}}}`);
  return r.nodes;
}

function splitArgs(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)/g;
  for (const m of s.matchAll(re))
    out.push(
      m[1] !== undefined ? JSON.stringify(JSON.parse(`"${m[1]}"`)) : m[2] !== undefined ? JSON.stringify(m[2]) : m[3]!,
    );
  return out;
}

function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

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

function evalArg(arg: string, dot: unknown): unknown {
  if (arg === '.') return dot;
  if (arg.startsWith('.')) return field(dot, arg);
  if (arg.startsWith('"')) return JSON.parse(arg) as string;
  if (/^-?\d+$/.test(arg)) return Number(arg);
  if (arg === 'true' || arg === 'false') return arg === 'true';
  throw new WharfError('INVALID_ARGUMENT', `template: function "${arg}" not defined`);
}

function toText(v: unknown): string {
  if (v === null || v === undefined) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(toText).join(' ')}]`;
  if (typeof v === 'object') {
    return `map[${Object.keys(v as object)
      .sort()
      .map((k) => `${k}:${toText((v as Record<string, unknown>)[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

/**
 * A list row as docker's formatter contexts marshal themselves (formatter.MarshalJSON: a map of every field, so
 * sorted by name, HTML-escaped); its methods with arguments (Label) are not fields.
 */
function rowJson(row: object): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(row).sort()) sorted[k] = (row as Record<string, unknown>)[k];
  return goJson(sorted);
}

/** The rows `renderList` renders: docker's formatter contexts, whose JSON is HTML-escaped. */
const LIST_ROWS = new WeakSet<object>();

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
  split: (v, sep) => toText(v).split(String(sep)),
  truncate: (v, n) => toText(v).slice(0, Number(n)),
  pad: (v, l, r) => ' '.repeat(Number(l)) + toText(v) + ' '.repeat(Number(r)),
};

function evalPipe(pipe: string, dot: unknown): unknown {
  let prev: unknown;
  let first = true;
  for (const stage of pipe.split(/\s\|\s/)) {
    const args = splitArgs(stage.trim());
    if (args.length === 0) throw new WharfError('INVALID_ARGUMENT', 'template: empty command');
    const head = args[0]!;
    let v: unknown;
    if (FUNCS[head]) {
      const vals = args.slice(1).map((a) => evalArg(a, dot));
      if (!first) vals.push(prev);
      v = FUNCS[head]!(...vals);
    } else if (head.startsWith('.') && (args.length > 1 || !first)) {
      // A method with arguments (`{{.Label "com.docker.compose.project"}}`: a row's function), the pipe's value last.
      const fn = evalArg(head, dot);
      const vals = args.slice(1).map((a) => evalArg(a, dot));
      if (!first) vals.push(prev);
      if (typeof fn === 'function') v = (fn as (...a: unknown[]) => unknown)(...vals);
      else if (fn === undefined)
        v = undefined; // a method the value leaves out (an empty row's)
      else throw new WharfError('INVALID_ARGUMENT', `template: ${head} is not a function`);
    } else {
      if (args.length > 1) throw new WharfError('INVALID_ARGUMENT', `template: ${head} is not a function`);
      v = evalArg(head, dot);
    }
    prev = v;
    first = false;
  }
  return prev;
}

function exec(nodes: Node[], dot: unknown, out: string[]): void {
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        out.push(n.v);
        break;
      case 'action':
        out.push(toText(evalPipe(n.pipe, dot)));
        break;
      case 'if':
        exec(truthy(evalPipe(n.pipe, dot)) ? n.body : n.alt, dot, out);
        break;
      case 'with': {
        const v = evalPipe(n.pipe, dot);
        exec(truthy(v) ? n.body : n.alt, truthy(v) ? v : dot, out);
        break;
      }
      case 'range': {
        const v = evalPipe(n.pipe, dot);
        const items = Array.isArray(v)
          ? v
          : v && typeof v === 'object'
            ? Object.keys(v)
                .sort()
                .map((k) => (v as Record<string, unknown>)[k])
            : [];
        if (items.length === 0) exec(n.alt, dot, out);
        for (const it of items) exec(n.body, it, out);
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
  const known = opts.rowType && new Set(opts.rowType.fields);
  return {
    render(dot: unknown) {
      const out: string[] = [];
      const saved = [missingKeyIsError, rowType] as const;
      missingKeyIsError = opts.missingKey === 'error' ? { known: opts.known ?? new Set() } : undefined;
      rowType = opts.rowType && known && { name: opts.rowType.name, known, dot };
      try {
        exec(nodes, dot, out);
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

/** The fields every docker formatter context has (its embedded HeaderContext). */
const HEADER_CONTEXT = ['Header', 'FullHeader'];

/**
 * Render rows for a list command's `--format`: 'table' (default columns), 'table TEMPLATE' (header from the
 * column names), 'json' (one JSON object per line), or a plain template (one line per row). With the rows' `type`,
 * a field the type lacks fails as docker's formatter fails ("template parsing error: template: …").
 */
export function renderList<T extends Record<string, unknown>>(
  rows: readonly T[],
  format: string | undefined,
  defaultTable: string,
  headers: Record<string, string>,
  type?: RowType,
): string {
  const f = format?.trim() || 'table';
  if (f === 'json') return rows.map((r) => rowJson(r) + '\n').join('');
  for (const r of rows) LIST_ROWS.add(r);
  const isTable = f === 'table' || f.startsWith('table ');
  const tmplSrc = f === 'table' ? defaultTable : isTable ? f.slice(6) : f;
  const rowType = type && { ...type, fields: [...type.fields, ...HEADER_CONTEXT] };
  // docker's words for a template that does not parse: ps's "failed to parse template", the formatter's others.
  const tmpl = templateWords(rowType?.checkFirst ? 'failed to parse template: ' : 'template parsing error: ', () =>
    compileTemplate(tmplSrc, rowType ? { rowType } : {}),
  );
  if (rowType?.checkFirst) templateWords('failed to execute template: ', () => tmpl.render({}));
  if (rowType)
    return templateWords('template parsing error: ', () => renderRows(rows, tmpl, tmplSrc, isTable, headers));
  return renderRows(rows, tmpl, tmplSrc, isTable, headers);
}

/**
 * Run `fn`; a template's error (Go's "template: …") gets the docker CLI's words before it, and with `status` that
 * exit status (its `inspect`, `info`, `version` and `events` exit 64 on a template that does not parse).
 */
export function templateWords<T>(prefix: string, fn: () => T, status?: number): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof WharfError) || !err.message.startsWith('template: ')) throw err;
    const out = new WharfError('INVALID_ARGUMENT', prefix + err.message);
    throw status === undefined ? out : withExitStatus(out, status);
  }
}

function renderRows(
  rows: readonly Record<string, unknown>[],
  tmpl: Template,
  tmplSrc: string,
  isTable: boolean,
  headers: Record<string, string>,
): string {
  if (!isTable) return rows.map((r) => tmpl.render(r) + '\n').join('');
  const names: Record<string, unknown> = {};
  for (const m of tmplSrc.matchAll(/\.([A-Za-z][A-Za-z0-9]*)/g)) names[m[1]!] = headers[m[1]!] ?? m[1]!.toUpperCase();
  // A method's column (`{{.Label "com.example.x"}}`) is headed by its argument, as docker's header context does it.
  for (const m of tmplSrc.matchAll(/\.([A-Za-z][A-Za-z0-9]*)\s+["`]/g)) names[m[1]!] = String;
  const headerRow = tmpl.render(names);
  const lines = [headerRow, ...rows.map((r) => tmpl.render(r))];
  return renderTable(lines.map((l) => l.split('\t')));
}
