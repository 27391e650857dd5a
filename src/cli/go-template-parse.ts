/**
 * Go's text/template syntax, as far as docker's `--format` needs it: the actions of a template and the blocks they
 * make (if/else if/with/range … end), a pipeline's commands, a command's words, and variable declarations.
 * go-template.ts evaluates what this reads.
 */
import { WharfError } from '../errors/index.js';

export type Node =
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

export function tokenize(src: string): Token[] {
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

export function parse(src: string, tokens: Token[]): Node[] {
  let pos = 0;
  type End = { nodes: Node[]; end: 'end' | 'else' | 'eof'; at: number; elseOf?: string };
  const block = (): End => {
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
      // `{{else if …}}` / `{{else with …}}`: an else holding one more if (with), ended by the same {{end}}.
      const elseKw = /^else\s+((?:if|with)\s+.*)$/s.exec(a);
      if (elseKw) return { nodes, end: 'else', at: tok.at, elseOf: elseKw[1]! };
      if (a.startsWith('/*')) continue;
      const kw = /^(range|if|with)\s+(.*)$/s.exec(a);
      if (kw) {
        nodes.push(control(kw[1] as 'range' | 'if' | 'with', kw[2]!));
        continue;
      }
      nodes.push({ t: 'action', pipe: a });
    }
    return { nodes, end: 'eof', at: src.length };
  };
  const control = (t: 'range' | 'if' | 'with', pipe: string): Node => {
    const body = block();
    let alt: Node[] = [];
    if (body.end === 'else' && body.elseOf) {
      const kw = /^(if|with)\s+(.*)$/s.exec(body.elseOf)!;
      alt = [control(kw[1] as 'if' | 'with', kw[2]!)]; // it consumed the {{end}}
    } else if (body.end === 'else') {
      const b2 = block();
      alt = b2.nodes;
      if (b2.end !== 'end') throw parseError(src, src.length, 'unexpected EOF');
    } else if (body.end !== 'end') throw parseError(src, src.length, 'unexpected EOF');
    return { t, pipe, body: body.nodes, alt };
  };
  const r = block();
  if (r.end !== 'eof') throw parseError(src, r.at, `unexpected {{${r.end}}}`);
  return r.nodes;
}

/**
 * The words of a command: quoted strings (normalized to JSON strings), parenthesized pipelines (kept whole, with
 * their parentheses), and the rest split at blanks.
 */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      const m = /^"((?:[^"\\]|\\.)*)"/.exec(s.slice(i));
      if (!m) throw new WharfError('INVALID_ARGUMENT', 'template: unterminated quoted string');
      out.push(JSON.stringify(JSON.parse(m[0])));
      i += m[0].length;
    } else if (c === '`') {
      const end = s.indexOf('`', i + 1);
      if (end < 0) throw new WharfError('INVALID_ARGUMENT', 'template: unterminated raw quoted string');
      out.push(JSON.stringify(s.slice(i + 1, end)));
      i = end + 1;
    } else if (c === '(') {
      const end = closingParen(s, i);
      out.push(s.slice(i, end + 1));
      i = end + 1;
    } else {
      const m = /^[^\s()]+/.exec(s.slice(i))!;
      out.push(m[0]);
      i += m[0].length;
    }
  }
  return out;
}

/** Where the quoted string starting at `i` ends (its closing quote), or `i` when no string starts there. */
function quotedEnd(s: string, i: number): number {
  if (s[i] === '"') {
    const m = /^"((?:[^"\\]|\\.)*)"/.exec(s.slice(i));
    return m ? i + m[0].length - 1 : i;
  }
  if (s[i] === '`') {
    const end = s.indexOf('`', i + 1);
    return end > 0 ? end : i;
  }
  return i;
}

/** The index of the `)` closing the `(` at `open`, past quoted strings. */
function closingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i = quotedEnd(s, i) + 1) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i;
  }
  throw new WharfError('INVALID_ARGUMENT', 'template: unclosed left paren');
}

/** A pipeline's commands: split at `|` outside quotes and parentheses. */
export function splitPipe(pipe: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < pipe.length; i = quotedEnd(pipe, i) + 1) {
    const c = pipe[i]!;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(pipe.slice(from, i));
      from = i + 1;
    }
  }
  out.push(pipe.slice(from));
  return out;
}

/** `$x := PIPELINE` (or `$i, $v := …` in a range): the names and the pipeline. */
export function declaration(pipe: string): { names: string[]; pipe: string } {
  const m = /^(\$[A-Za-z0-9_]*)(?:\s*,\s*(\$[A-Za-z0-9_]*))?\s*:?=\s*(.*)$/s.exec(pipe);
  if (!m) return { names: [], pipe };
  return { names: [m[1]!, ...(m[2] ? [m[2]] : [])], pipe: m[3]! };
}
