import { promises as fsp } from 'node:fs';
import { DirectoryWaiter } from '../util/index.js';
import { decodeEvent } from './codec.js';
import { EVENTS_FILE, eventsPath } from './log.js';
import type { WharfEvent } from './types.js';

/** How long a follower waits for inotify before it looks anyway (a missed or unsupported wake-up costs this). */
const FOLLOW_POLL_MS = 1000;
/** Bytes read per round of a follower. */
const CHUNK = 256 * 1024;

/** Complete lines of a chunk: the events, and the bytes of a last line still being written. */
function splitLines(text: string): { events: WharfEvent[]; rest: string } {
  const events: WharfEvent[] = [];
  const end = text.lastIndexOf('\n');
  for (const line of text.slice(0, end + 1).split('\n')) {
    if (line === '') continue;
    const e = decodeEvent(line);
    if (e) events.push(e); // a torn or foreign line is skipped
  }
  return { events, rest: text.slice(end + 1) };
}

async function readWhole(file: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Every event of a root, oldest first: `events.log.1` then `events.log`; torn and foreign lines are skipped. */
export async function readEvents(root: string): Promise<WharfEvent[]> {
  const file = eventsPath(root);
  const older = await readWhole(`${file}.1`);
  const current = await readWhole(file);
  // A last line without its newline is being written: not an event yet.
  return [...splitLines(older).events, ...splitLines(current).events];
}

export interface FollowOptions {
  /** Stops the follower (its generator returns). */
  signal?: AbortSignal;
  /** Also yield the events already in the log (`events.log.1` then `events.log`) before the new ones. */
  fromStart?: boolean;
}

/**
 * The root's events as they are appended, until `signal` aborts: wakes on inotify for `events.log` (bounded by a
 * one-second timeout), reads only what was appended since, and follows a rotation (the rest of the renamed file
 * first, then the new one from its start).
 */
export async function* followEvents(root: string, opts: FollowOptions = {}): AsyncGenerator<WharfEvent> {
  const file = eventsPath(root);
  const waiter = new DirectoryWaiter(root, { names: [EVENTS_FILE, `${EVENTS_FILE}.1`] });
  const onAbort = () => waiter.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let ino: number | undefined;
    let offset = 0;
    if (opts.fromStart) {
      for (const e of splitLines(await readWhole(`${file}.1`)).events) yield e;
    }
    const first = await fsp.stat(file).catch(() => undefined);
    if (first) {
      ino = first.ino;
      offset = opts.fromStart ? 0 : first.size;
    }
    while (!opts.signal?.aborted) {
      const now = await fsp.stat(file).catch(() => undefined);
      if (ino !== undefined && now?.ino !== ino) {
        // Rotated (or removed): the rest of the old file is events.log.1 now, if that is still it.
        const old = await fsp.stat(`${file}.1`).catch(() => undefined);
        while (old?.ino === ino && offset < old.size) {
          const r = await readFrom(`${file}.1`, offset, old.size);
          if (r.offset === offset) break; // its last line was never finished
          offset = r.offset;
          for (const e of r.events) yield e;
        }
        ino = undefined;
        offset = 0;
      }
      if (now && ino === undefined) ino = now.ino;
      if (now && now.size > offset) {
        const r = await readFrom(file, offset, now.size);
        const moved = r.offset !== offset;
        offset = r.offset;
        for (const e of r.events) yield e;
        if (moved && offset < now.size) continue; // more than one chunk behind
      }
      if (opts.signal?.aborted) break; // aborted while the consumer had an event: the waiter is closed already
      await waiter.next(FOLLOW_POLL_MS);
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    waiter.close();
  }
}

/**
 * The complete lines of `file` from `offset` up to `until` (at most a chunk): their events and the offset after the
 * last newline. A last line without its newline is left for the next read (it is being written).
 */
async function readFrom(
  file: string,
  offset: number,
  until: number,
): Promise<{ events: WharfEvent[]; offset: number }> {
  const fh = await fsp.open(file, 'r').catch(() => undefined);
  if (!fh) return { events: [], offset };
  try {
    const buf = Buffer.alloc(Math.min(CHUNK, until - offset));
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, total, buf.length - total, offset + total);
      total += bytesRead;
      if (bytesRead === 0 || total === buf.length) break;
    }
    const bytes = buf.subarray(0, total);
    const end = bytes.lastIndexOf(0x0a);
    // A chunk without a newline is no line of ours (they are < 4 KiB): skip it rather than wait for its end.
    if (end < 0) return { events: [], offset: total === CHUNK ? offset + total : offset };
    // Cut at a newline, so a multi-byte character is never split between two reads.
    return { events: splitLines(bytes.subarray(0, end + 1).toString('utf8')).events, offset: offset + end + 1 };
  } finally {
    await fh.close();
  }
}
