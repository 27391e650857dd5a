import { WharfError } from '../errors/index.js';
import { parseGoDuration } from './duration.js';

/** Docker's "2 weeks ago" style, as in go-units HumanDuration. */
export function humanDuration(secondsFloat: number): string {
  const seconds = Math.floor(secondsFloat);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${Math.floor(seconds)} seconds`;
  const minutes = Math.floor(secondsFloat / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(secondsFloat / 3600 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(Math.floor(secondsFloat / 3600) / 24 / 365)} years`;
}

export function timeAgo(date: Date | string, now: Date = new Date()): string {
  const d = typeof date === 'string' ? new Date(date) : date;
  if (Number.isNaN(d.getTime()) || d.getTime() <= 0) return 'N/A';
  return `${humanDuration((now.getTime() - d.getTime()) / 1000)} ago`;
}

/** docker's formatter.Ellipsis: text longer than `max` characters keeps `max - 1` of them and ends in '…'. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max - 1).join('') + '…';
}

/**
 * Docker's size format: go-units HumanSizeWithPrecision, decimal units. The CLI's tables use 3 significant digits
 * ("4.26MB"); the build context line uses 4 ("3.072kB").
 */
export function humanSize(bytes: number, precision = 3): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(precision))}${units[i]}`;
}

/**
 * Docker's `--since`/`--until` value (moby api/types/time GetTimestamp, then ParseTimestamps) as nanoseconds since
 * the epoch: a Go duration before `nowNs` (`10m`, `1h30m`; `0` is a timestamp), RFC 3339 with or without
 * fractions, zone or seconds (`2026-12-07`, `2026-12-07T03`, `2026-12-07T03:04Z`, `…+01:00`; without a zone in
 * the local one), or Unix seconds with an optional fraction (`1765000000.5`).
 */
export function parseDockerTime(value: string, nowNs: bigint): bigint {
  const bad = () => new WharfError('INVALID_ARGUMENT', `failed to parse value as time or duration: "${value}"`);
  if (value !== '0') {
    try {
      return nowNs - BigInt(parseGoDuration(value));
    } catch {
      /* not a duration */
    }
  }
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/.exec(
      value,
    );
  if (m) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
    const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
    let ms: number;
    if (zone === undefined)
      ms = new Date(...fields).getTime(); // Docker parses a value without a zone as local time
    else {
      ms = Date.UTC(...fields);
      if (zone !== 'Z' && zone !== 'z') {
        const sign = zone[0] === '-' ? -1 : 1;
        ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
      }
    }
    if (Number.isNaN(ms) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
      throw bad();
    return BigInt(ms) * 1_000_000n + BigInt(frac.padEnd(9, '0') || '0');
  }
  if (value.includes('-')) throw bad(); // an RFC 3339 look-alike the parser refused
  const unix = /^(\d+)(?:\.(\d+))?$/.exec(value);
  if (!unix) throw bad();
  // Fractions are nanoseconds, scaled when they have fewer (or more) than 9 digits, as Docker does.
  const frac = unix[2] ?? '';
  const nsec = frac === '' ? 0n : BigInt(Math.round(Number(frac) * 10 ** (9 - frac.length)));
  return BigInt(unix[1]!) * 1_000_000_000n + nsec;
}
