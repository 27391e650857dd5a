import { closeSync, constants, openSync, renameSync, statSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { encodeEvent, makeEvent } from './codec.js';
import type { EventType, WharfEvent } from './types.js';

/** The log's file in a root; the previous one (after a rotation) is `events.log.1`. */
export const EVENTS_FILE = 'events.log';
/** A writer that finds the log bigger than this moves it to `events.log.1` first. */
export const ROTATE_BYTES = 8 * 1024 * 1024;

export const eventsPath = (root: string): string => path.join(root, EVENTS_FILE);

/**
 * Appends one event to `<root>/events.log`: one write(2) of the whole line on an O_APPEND descriptor, so that lines
 * of concurrent writers (other CLIs, the containers' monitors) never interleave. The file is not kept open: a
 * rotation renames it. Best effort: an event that cannot be written never fails the operation it records (Docker
 * drops events too when nobody can take them).
 */
export function appendEvent(root: string, event: WharfEvent, opts: { rotateBytes?: number } = {}): boolean {
  const file = eventsPath(root);
  const line = Buffer.from(encodeEvent(event));
  try {
    rotateIfLarge(file, opts.rotateBytes ?? ROTATE_BYTES);
    // libuv adds O_CLOEXEC to every open.
    const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    try {
      return writeSync(fd, line) === line.length;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/**
 * Two writers that both find the log too big both rename: the second moves the first's fresh file over the old
 * generation, which loses that generation. Rare (once per 8 MiB, in the same instant) and only history: no lock
 * is worth it on every append.
 */
function rotateIfLarge(file: string, limit: number): void {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return;
  }
  if (size > limit) renameSync(file, `${file}.1`);
}

/**
 * The events of one root, for the services that emit them: `emit(type, action, id, attributes)`. Made by the
 * engine (`Wharf.events`); a service without one (a test's) emits nothing.
 */
export class EventLog {
  constructor(readonly root: string) {}

  get path(): string {
    return eventsPath(this.root);
  }

  emit(type: EventType, action: string, actorId: string, attributes: Readonly<Record<string, string>> = {}): void {
    appendEvent(this.root, makeEvent(type, action, actorId, attributes));
  }
}
