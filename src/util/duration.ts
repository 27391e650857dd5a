import { WharfError } from '../errors/index.js';

/**
 * Go's time.Duration as text, both ways: Docker and distribution write durations with Go's `time.ParseDuration` and
 * `Duration.String()` (HEALTHCHECK flags, `--since 10m`, the `created_by` of a HEALTHCHECK step). Nanoseconds, as Go
 * counts them. Pure: the Dockerfile front end imports this file directly.
 */

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const invalid = (message: string) => new WharfError('INVALID_ARGUMENT', message);

/** Go's `time.ParseDuration`: `300ms`, `1.5h`, `1h30m`, `-2m`, `0`; a unit is required on every other number. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid(`time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== '') {
    const m = /^(\d*)(\.\d*)?([^\d.]*)/.exec(rest)!;
    const [whole, int, frac = '', unit] = m;
    if (int === '' && frac.length <= 1) throw invalid(`time: invalid duration ${quoted}`);
    if (unit === '') throw invalid(`time: missing unit in duration ${quoted}`);
    const scale = UNIT_NS[unit!];
    if (scale === undefined) throw invalid(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    total += Number(`${int || '0'}${frac === '.' ? '' : frac}`) * scale;
    rest = rest.slice(whole.length);
  }
  return sign * Math.round(total);
}

/** Go's `Duration.String()`: `0s`, `500ms`, `1.5s`, `1m30s`, `1h0m0s`. */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    const [unit, div] = u < 1e3 ? ['ns', 1] : u < 1e6 ? ['µs', 1e3] : ['ms', 1e6];
    out = `${trimFraction(u / (div as number))}${unit}`;
  } else {
    const h = Math.floor(u / 3.6e12);
    u -= h * 3.6e12;
    const m = Math.floor(u / 6e10);
    u -= m * 6e10;
    out = `${trimFraction(u / 1e9)}s`;
    if (h > 0) out = `${h}h${m}m${out}`;
    else if (m > 0) out = `${m}m${out}`;
  }
  return ns < 0 ? `-${out}` : out;
}

function trimFraction(v: number): string {
  return String(Number(v.toFixed(9)));
}
