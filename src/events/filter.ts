import { invalidFilter } from '../errors/index.js';
import { familiarName, parseNormalizedNamed } from '../reference/index.js';
import { splitFilter } from '../util/index.js';
import type { WharfEvent } from './types.js';

/** The `--filter` names Docker's events accept (moby daemon/events/filter.go, api/server/router/system). */
export const EVENT_FILTERS = [
  'config',
  'container',
  'daemon',
  'event',
  'image',
  'label',
  'network',
  'node',
  'plugin',
  'scope',
  'secret',
  'service',
  'type',
  'volume',
] as const;

/** `--filter` values by name: values of one name are alternatives, names must all match (labels must all match). */
export type EventFilters = ReadonlyMap<string, readonly string[]>;

/** `name=value` specs to filters; an unknown name is Docker's `invalid filter`. */
export function parseEventFilters(specs: readonly string[]): EventFilters {
  const out = new Map<string, string[]>();
  for (const spec of specs) {
    const { name, value } = splitFilter(spec);
    if (!(EVENT_FILTERS as readonly string[]).includes(name)) throw invalidFilter(`'${name}'`);
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}

/** Go filters.Args.ExactMatch: no values for the name, or one equal to `source`. */
function exact(f: EventFilters, name: string, source: string): boolean {
  const vs = f.get(name);
  return !vs || vs.includes(source);
}

/** Go filters.Args.FuzzyMatch: no values for the name, or one that `source` equals or starts with. */
function fuzzy(f: EventFilters, name: string, source: string): boolean {
  const vs = f.get(name);
  return !vs || vs.some((v) => source === v || source.startsWith(v));
}

/** By ID or name (prefixes of either): Docker's filter for containers, volumes, networks, plugins... */
function byName(f: EventFilters, e: WharfEvent, type: string): boolean {
  if (!f.has(type)) return true;
  return fuzzy(f, type, e.Actor.ID) || fuzzy(f, type, e.Actor.Attributes.name ?? '');
}

/** An image name without its tag or digest (`busybox:1` → `busybox`), as moby's stripTag. */
function stripTag(image: string): string {
  try {
    return familiarName(parseNormalizedNamed(image));
  } catch {
    return image;
  }
}

/**
 * Docker's event filter (moby daemon/events/filter.go Include): the event's Action (a prefix for health_status,
 * exec_create and exec_start, whose Actions carry more), type, scope, the actors by ID or name, images by ID, name
 * or name without tag (a container's `image` attribute, an image's `name`), and labels over the attributes.
 */
export function eventMatches(f: EventFilters, e: WharfEvent): boolean {
  const fuzzyEvent = (f.get('event') ?? []).some((v) => ['health_status', 'exec_create', 'exec_start'].includes(v));
  if (!(fuzzyEvent ? fuzzy(f, 'event', e.Action) : exact(f, 'event', e.Action))) return false;
  if (!exact(f, 'type', e.Type) || !exact(f, 'scope', e.scope)) return false;
  for (const t of ['daemon', 'container', 'plugin', 'volume', 'network', 'node', 'service', 'secret', 'config'])
    if (!byName(f, e, t)) return false;
  if (f.has('image')) {
    const imageName = e.Actor.Attributes[e.Type === 'image' ? 'name' : 'image'] ?? '';
    const id = e.Actor.ID;
    if (![id, imageName, stripTag(id), stripTag(imageName)].some((s) => exact(f, 'image', s))) return false;
  }
  for (const l of f.get('label') ?? []) {
    const eq = l.indexOf('=');
    const key = eq < 0 ? l : l.slice(0, eq);
    if (!Object.hasOwn(e.Actor.Attributes, key)) return false;
    if (eq >= 0 && e.Actor.Attributes[key] !== l.slice(eq + 1)) return false;
  }
  return true;
}
