import { problem } from './errors.js';

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN = new Set(['escape', 'syntax', 'check']);

/**
 * Parser directives (`# escape=\``, `# syntax=…`, `# check=…`) are only recognised before the
 * first instruction, comment or blank line; each may appear once. `syntax` is recorded and
 * otherwise ignored: Wharf has one built-in front end.
 */
export class DirectiveState {
  escape: '\\' | '`' = '\\';
  continuation: RegExp = continuationRegExp('\\');
  readonly seen: Record<string, string> = {};
  private done = false;

  /** Looks at one physical line (leading whitespace already removed). */
  consider(line: string): void {
    if (this.done) return;
    const m = DIRECTIVE.exec(line);
    if (!m) {
      this.done = true;
      return;
    }
    const key = m[1]!.toLowerCase();
    if (!KNOWN.has(key)) {
      this.done = true;
      return;
    }
    if (key in this.seen) throw problem(`only one ${key} parser directive can be used`);
    const value = m[2]!;
    this.seen[key] = value;
    if (key === 'escape') this.setEscape(value);
  }

  private setEscape(s: string): void {
    if (s !== '`' && s !== '\\') throw problem(`invalid escape token '${s}' does not match \` or \\`);
    this.escape = s;
    this.continuation = continuationRegExp(s);
  }
}

// The escape character at the end of a line (trailing blanks allowed) continues the line, unless
// it is itself escaped; a line holding only the escape character is a continuation too.
function continuationRegExp(esc: string): RegExp {
  const e = esc === '\\' ? '\\\\' : '`';
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

/** Parsed `# check=skip=A,B;error=true`. */
export interface CheckDirective {
  skip: string[];
  skipAll: boolean;
  error: boolean;
}

export function parseCheckDirective(value: string | undefined): CheckDirective {
  const out: CheckDirective = { skip: [], skipAll: false, error: false };
  if (!value) return out;
  for (const part of value.split(';')) {
    const [k, v = ''] = part.split('=', 2).map((s) => s.trim()) as [string, string?];
    if (k === 'skip') {
      for (const name of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        if (name.toLowerCase() === 'all') out.skipAll = true;
        else out.skip.push(name);
      }
    } else if (k === 'error') {
      out.error = v.toLowerCase() === 'true';
    }
  }
  return out;
}
