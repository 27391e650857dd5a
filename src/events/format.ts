import type { WharfEvent } from './types.js';

/**
 * Go's `time.Unix(0, ns).Format("2006-01-02T15:04:05.000000000Z07:00")` in the local zone (or the given offset
 * in minutes east of UTC): nine fraction digits always, `Z` for UTC.
 */
export function rfc3339NanoFixed(ns: bigint, offsetMinutes?: number): string {
  const ms = Number(ns / 1_000_000n);
  const off = offsetMinutes ?? -new Date(ms).getTimezoneOffset();
  const d = new Date(ms + off * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const frac = String(((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).padStart(9, '0');
  const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return (
    `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}` +
    `T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${frac}${zone}`
  );
}

/**
 * `docker events`' default line (docker/cli prettyPrintEvent): the time, type, action and actor ID, then the
 * attributes sorted by key: `2026-12-07T03:00:00.123456789Z container start <id> (image=busybox, name=x)`.
 */
export function formatEventLine(e: WharfEvent, offsetMinutes?: number): string {
  let line = '';
  if (e.timeNano !== 0n) line = `${rfc3339NanoFixed(e.timeNano, offsetMinutes)} `;
  else if (e.time !== 0) line = `${rfc3339NanoFixed(BigInt(e.time) * 1_000_000_000n, offsetMinutes)} `;
  line += `${e.Type} ${e.Action} ${e.Actor.ID}`;
  const keys = Object.keys(e.Actor.Attributes).sort();
  if (keys.length > 0) line += ` (${keys.map((k) => `${k}=${e.Actor.Attributes[k]}`).join(', ')})`;
  return `${line}\n`;
}

/**
 * The object a `--format` template sees: the message's JSON fields (what `{{json .}}` prints, `timeNano` as Go's
 * int64), and Go's field names for what the JSON leaves out when empty (`{{.Status}}` of a volume event is "").
 */
export function eventTemplateData(e: WharfEvent): Record<string, unknown> {
  const data: Record<string, unknown> = {
    ...(e.status ? { status: e.status } : {}),
    ...(e.id ? { id: e.id } : {}),
    ...(e.from ? { from: e.from } : {}),
    Type: e.Type,
    Action: e.Action,
    Actor: { ID: e.Actor.ID, Attributes: { ...e.Actor.Attributes } },
    scope: e.scope,
    time: e.time,
    timeNano: e.timeNano,
  };
  for (const [goName, value] of [
    ['Status', e.status ?? ''],
    ['ID', e.id ?? ''],
    ['From', e.from ?? ''],
  ] as const)
    Object.defineProperty(data, goName, { value, enumerable: false });
  return data;
}
