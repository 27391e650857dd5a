/**
 * One event as Docker's /events endpoint sends it (API 1.4x, moby's api/types/events.Message), as one line of the
 * root's event log. `status`, `id` and `from` are the old fields Docker still sends for containers and images.
 * `timeNano` is a bigint: nanoseconds since the epoch do not fit a double.
 */
export interface WharfEvent {
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  time: number;
  timeNano: bigint;
}

/** Docker's event types (Wharf emits container, image and volume ones; network ones later). */
export type EventType =
  | 'builder'
  | 'config'
  | 'container'
  | 'daemon'
  | 'image'
  | 'network'
  | 'node'
  | 'plugin'
  | 'secret'
  | 'service'
  | 'volume';

export const EVENT_TYPES: readonly EventType[] = [
  'builder',
  'config',
  'container',
  'daemon',
  'image',
  'network',
  'node',
  'plugin',
  'secret',
  'service',
  'volume',
];
