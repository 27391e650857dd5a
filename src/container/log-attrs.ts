import type { LogConfig } from './run-modes.js';

/**
 * The extra attributes Docker's json-file driver records with every log entry (loginfo.ExtraAttributes): the
 * container's labels named by the `labels` log opt or matching `labels-regex`, and its environment variables named
 * by `env` or matching `env-regex`. They depend only on the container's config, fixed at create, so Wharf derives
 * them when the log is read instead of storing them in every entry.
 */
export function logAttributes(
  lc: LogConfig | undefined,
  labels: Record<string, string> | undefined,
  env: readonly string[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  const opts = lc?.Config ?? {};
  const lab = labels ?? {};
  for (const name of (opts.labels ?? '').split(',')) if (name && name in lab) out[name] = lab[name]!;
  if (opts['labels-regex']) {
    const re = new RegExp(opts['labels-regex']);
    for (const [k, v] of Object.entries(lab)) if (re.test(k)) out[k] = v;
  }
  const vars = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i >= 0) vars.set(e.slice(0, i), e.slice(i + 1));
  }
  for (const name of (opts.env ?? '').split(',')) if (name && vars.has(name)) out[name] = vars.get(name)!;
  if (opts['env-regex']) {
    const re = new RegExp(opts['env-regex']);
    for (const [k, v] of vars) if (re.test(k)) out[k] = v;
  }
  return out;
}

/** Go's url.QueryEscape: everything but letters, digits and `-_.~` percent-encoded, a space as `+`. */
function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/**
 * What `logs --details` puts before each line, as dockerd does: the attributes sorted by key as `k=v` joined by
 * commas (keys and values query-escaped), then one space, also when there are none.
 */
export function logDetailsPrefix(attrs: Record<string, string>): string {
  const keys = Object.keys(attrs).sort();
  return `${keys.map((k) => `${queryEscape(k)}=${queryEscape(attrs[k]!)}`).join(',')} `;
}
