import type { EventLog } from '../events/index.js';
import { signalNumberOf, type MonitorEvents } from '../runtime/index.js';
import type { ContainerRecord } from './types.js';

/**
 * A container's Actor attributes as moby writes them (daemon/events.go LogContainerEventWithAttributes): the
 * action's own attributes, then the container's labels, then `image` (Config.Image, as the user named it) and
 * `name` (without its slash); a later key wins.
 */
export function containerAttributes(
  rec: Pick<ContainerRecord, 'name' | 'imageName' | 'config'>,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const image = rec.config.Image || rec.imageName;
  return {
    ...extra,
    ...(rec.config.Labels ?? {}),
    ...(image ? { image } : {}),
    name: rec.name.replace(/^\//, ''),
  };
}

/** Emits a container event through `log` (nothing without one). */
export function emitContainerEvent(
  log: EventLog | undefined,
  action: string,
  rec: Pick<ContainerRecord, 'id' | 'name' | 'imageName' | 'config'>,
  extra: Readonly<Record<string, string>> = {},
): void {
  log?.emit('container', action, rec.id, containerAttributes(rec, extra));
}

/** What the container's monitor needs for the events it emits itself (die, oom). */
export function monitorEvents(
  log: EventLog,
  rec: Pick<ContainerRecord, 'name' | 'imageName' | 'config'>,
): MonitorEvents {
  const image = rec.config.Image || rec.imageName;
  return {
    path: log.path,
    name: rec.name.replace(/^\//, ''),
    ...(image ? { image } : {}),
    ...(rec.config.Labels && Object.keys(rec.config.Labels).length > 0 ? { labels: rec.config.Labels } : {}),
  };
}

/** A signal as Docker's kill event names it: its number (`SIGTERM` → "15"); one runc knows by name only stays so. */
export function signalNumber(signal: string): string {
  if (/^\d+$/.test(signal)) return signal;
  const n = signalNumberOf(signal);
  return n === undefined ? signal : String(n);
}

/** Docker's volume mount and unmount events, for the named and anonymous volumes a container mounts. */
export function emitVolumeEvents(
  events: EventLog | undefined,
  action: 'mount' | 'unmount',
  rec: Pick<ContainerRecord, 'id' | 'mounts'>,
): void {
  for (const m of rec.mounts) {
    if (m.Type !== 'volume' || !m.Name) continue;
    const attrs: Record<string, string> =
      action === 'mount'
        ? {
            container: rec.id,
            destination: m.Destination,
            driver: 'local',
            propagation: m.Propagation,
            'read/write': String(m.RW),
          }
        : { container: rec.id, driver: 'local' };
    events?.emit('volume', action, m.Name, attrs);
  }
}
