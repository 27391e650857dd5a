import type { EventType, WharfEvent } from './types.js';

/** A line of the log stays below this (one write(2) of it is one append; see docs/events.md). */
export const MAX_EVENT_LINE = 4096;
/** Longer attribute values are cut to this many characters (labels can be long; the event is not their store). */
const MAX_ATTRIBUTE_VALUE = 512;

/** The current wall-clock time in nanoseconds (microsecond resolution from performance.now()). */
export function nowNano(): bigint {
  const ms = performance.timeOrigin + performance.now();
  return BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.floor((ms % 1) * 1000)) * 1000n;
}

/**
 * An event in Docker's shape: `status`/`id`/`from` only for containers and images, as Docker sends them (`from` is
 * the `image` attribute).
 */
export function makeEvent(
  type: EventType,
  action: string,
  actorId: string,
  attributes: Readonly<Record<string, string>> = {},
  timeNano: bigint = nowNano(),
): WharfEvent {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) {
    attrs[k] = v.length > MAX_ATTRIBUTE_VALUE ? v.slice(0, MAX_ATTRIBUTE_VALUE) : v;
  }
  const legacy: Partial<WharfEvent> = {};
  if (type === 'container' || type === 'image') {
    legacy.status = action;
    if (actorId !== '') legacy.id = actorId; // Go's omitempty: a prune's event has no ID
    if (attrs.image !== undefined && type === 'container') legacy.from = attrs.image;
  }
  return {
    ...legacy,
    Type: type,
    Action: action,
    Actor: { ID: actorId, Attributes: attrs },
    scope: 'local',
    time: Number(timeNano / 1_000_000_000n),
    timeNano,
  };
}

/** One log line with its "\n"; attributes are dropped (longest first) until it fits MAX_EVENT_LINE. */
export function encodeEvent(event: WharfEvent): string {
  let e = event;
  for (;;) {
    const { timeNano, ...rest } = e;
    // timeNano last and as a bare integer, as Go writes an int64 (JSON.stringify cannot write a bigint).
    const line = `${JSON.stringify(rest).slice(0, -1)},"timeNano":${timeNano}}\n`;
    if (Buffer.byteLength(line) < MAX_EVENT_LINE) return line;
    const keys = Object.keys(e.Actor.Attributes).filter((k) => k !== 'name' && k !== 'image');
    const longest = keys.sort((a, b) => e.Actor.Attributes[b]!.length - e.Actor.Attributes[a]!.length)[0];
    const attrs = { ...e.Actor.Attributes };
    if (longest !== undefined) delete attrs[longest];
    else for (const k of Object.keys(attrs)) attrs[k] = attrs[k]!.slice(0, 64);
    e = { ...e, Actor: { ...e.Actor, Attributes: attrs } };
  }
}

/** A log line back to an event; undefined for a torn or foreign line (readers skip it). */
export function decodeEvent(line: string): WharfEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const e = raw as Partial<Record<keyof WharfEvent, unknown>>;
  const actor = e.Actor as { ID?: unknown; Attributes?: unknown } | undefined;
  if (typeof e.Type !== 'string' || typeof e.Action !== 'string' || typeof actor?.ID !== 'string') return undefined;
  // The exact nanoseconds from the text: JSON.parse rounds them to a double.
  const nano = /"timeNano":(\d+)\s*\}\s*$/.exec(line)?.[1] ?? /"timeNano":(\d+)/.exec(line)?.[1];
  const timeNano = nano ? BigInt(nano) : BigInt(typeof e.time === 'number' ? e.time : 0) * 1_000_000_000n;
  const attributes: Record<string, string> = {};
  if (typeof actor.Attributes === 'object' && actor.Attributes !== null) {
    for (const [k, v] of Object.entries(actor.Attributes)) if (typeof v === 'string') attributes[k] = v;
  }
  return {
    ...(typeof e.status === 'string' ? { status: e.status } : {}),
    ...(typeof e.id === 'string' ? { id: e.id } : {}),
    ...(typeof e.from === 'string' ? { from: e.from } : {}),
    Type: e.Type as EventType,
    Action: e.Action,
    Actor: { ID: actor.ID, Attributes: attributes },
    scope: e.scope === 'swarm' ? 'swarm' : 'local',
    time: Number(timeNano / 1_000_000_000n),
    timeNano,
  };
}
