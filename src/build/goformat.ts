/**
 * Docker's classic builder writes history `created_by` strings with Go's fmt verbs (`CMD %q`, `VOLUME %v`,
 * `HEALTHCHECK %q`); these reproduce what Go prints so the strings match byte for byte.
 */

/** Go's strconv.Quote: double quotes, `\"` and `\\`, C escapes for control characters, printable Unicode kept. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** `%q` of a []string: `["a" "b"]`. */
export function goQuoteSlice(items: readonly string[]): string {
  return `[${items.map(goQuote).join(' ')}]`;
}

/** `%v` of a []string: `[a b]`. */
export function goSlice(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}

/** `%q` of an int (Go prints it as a quoted rune literal): 3 → `'\x03'`. */
export function goQuoteRune(n: number): string {
  if (n === 39) return "'\\''";
  if (n === 92) return "'\\\\'";
  const ch = String.fromCodePoint(n);
  const quoted = goQuote(ch);
  return `'${quoted.slice(1, -1).replace(/\\"/g, '"')}'`;
}
