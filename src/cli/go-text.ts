/**
 * How Go writes values, as the docker CLI's output shows them: encoding/json (goJson), a template's printing of a
 * value (toText: `<no value>`, `[a b]`, `map[k:v]`), its truth (truthy), fmt.Sprintf's common verbs (goSprintf) and
 * text/template's html and js escapers.
 */

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

/** Go's truth of a value in a template's if/with/and/or/not: false, 0, nil, and empty strings, lists and maps. */
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/** A value as a template prints it. */
export function toText(v: unknown): string {
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

/** Go's fmt.Sprintf for the verbs templates use: %s %v %d %q %t %x %X %f %%, with flags, width and precision. */
export function goSprintf(format: string, args: unknown[]): string {
  let n = 0;
  return format.replace(
    /%([-+ 0#]*)(\d*)(?:\.(\d+))?([svdqtxXfeg%])/g,
    (_all, flags: string, width: string, prec: string | undefined, verb: string) => {
      if (verb === '%') return '%';
      if (n >= args.length) return `%!${verb}(MISSING)`;
      const v = args[n++];
      let text: string;
      switch (verb) {
        case 'd':
          text = String(Math.trunc(Number(v)));
          break;
        case 'q':
          text = JSON.stringify(toText(v));
          break;
        case 'x':
        case 'X':
          text = typeof v === 'number' ? v.toString(16) : Buffer.from(toText(v)).toString('hex');
          if (verb === 'X') text = text.toUpperCase();
          break;
        case 'f':
        case 'e':
        case 'g':
          text = verb === 'f' ? Number(v).toFixed(prec === undefined ? 6 : Number(prec)) : String(Number(v));
          break;
        default:
          text = toText(v === undefined ? null : v);
          if (verb === 's' && prec !== undefined) text = text.slice(0, Number(prec));
      }
      if (flags.includes('+') && /^[dfeg]$/.test(verb) && !text.startsWith('-')) text = `+${text}`;
      const w = Number(width || 0);
      if (text.length < w)
        text = flags.includes('-')
          ? text.padEnd(w)
          : flags.includes('0') && /^[dxXfeg]$/.test(verb)
            ? text.padStart(w, '0')
            : text.padStart(w);
      return text;
    },
  );
}

/** Go's html escaper's table (text/template's HTMLEscape). */
const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  "'": '&#39;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
};

/** text/template's html: the five characters HTML gives meaning, and NUL. */
export function goHtmlEscape(text: string): string {
  return text.replace(/[&'<>"]/g, (c) => HTML_ESCAPES[c]!).replaceAll('\0', '\uFFFD');
}

/** text/template's js: quotes and backslash escaped, the characters HTML or a script give meaning as \uXXXX. */
export function goJsEscape(text: string): string {
  return text.replace(/[\\'"<>&=]/g, (c) =>
    c === '\\' || c === "'" || c === '"'
      ? `\\${c}`
      : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
  );
}
