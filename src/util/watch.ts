import { watch, type FSWatcher } from 'node:fs';
import type * as Net from 'node:net';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { lazyBuiltin } from './builtin.js';

const net = lazyBuiltin<typeof Net>('node:net');

/** Wakes a waiter on the next change of some source; `next` resolves at once when one happened since the last call. */
abstract class ChangeWaiter {
  #changed = false;
  #wake: (() => void) | undefined;

  protected changed(): void {
    this.#changed = true;
    this.#wake?.();
  }

  /** Resolves on the next change since the previous call (at once if one happened meanwhile) or after `ms`. */
  next(ms: number): Promise<void> {
    if (this.#changed) {
      this.#changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = undefined;
        self.#changed = false;
        resolve();
      }
      this.#wake = done;
    });
  }

  close(): void {
    this.#wake?.();
  }
}

/**
 * Waits for "something changed in this directory" without polling blindly: inotify (fs.watch) wakes the waiter at
 * once, and a timeout bounds every wait, so a missed or unsupported event only costs the old polling delay.
 * For state files that another process replaces by rename (the container monitor's state.json, runc's pid file).
 */
export class DirectoryWaiter extends ChangeWaiter {
  #watcher: FSWatcher | undefined;

  /**
   * `names`: wake only for changes to these entries (e.g. the file a writer renames into place), not for every
   * temp file and log line in the directory; each wake-up costs its waiter a read.
   */
  constructor(dir: string, opts: { names?: readonly string[] } = {}) {
    super();
    const names = opts.names ? new Set(opts.names) : undefined;
    try {
      this.#watcher = watch(dir, { persistent: false }, (_event, name) => {
        // inotify always names the entry of a directory watch; without a name, assume it is one of ours.
        if (names && name && !names.has(String(name))) return;
        this.changed();
      });
      this.#watcher.on('error', () => this.close());
    } catch {
      this.#watcher = undefined; // no directory yet, or no inotify: plain timeouts
    }
  }

  override close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    super.close();
  }
}

/**
 * Wakes on every byte a writer sends down a pipe (a container monitor's state notifications, MonitorConfig.notifyFd)
 * and when the writer goes away. Cheaper than DirectoryWaiter where the writer cooperates: Node's first fs.watch
 * loads seven internal modules (~3 ms), on the critical path of a container start. Without a pipe it is a timer.
 */
export class PipeWaiter extends ChangeWaiter {
  #stream: Readable | undefined;

  /** Takes `source` (a file descriptor, or a stream such as a child's extra stdio pipe) over: closed with the waiter. */
  constructor(source: number | Readable | undefined) {
    super();
    if (source === undefined) return;
    const stream =
      typeof source === 'number' ? new (net().Socket)({ fd: source, readable: true, writable: false }) : source;
    stream.on('data', () => this.changed());
    stream.on('end', () => this.changed());
    stream.on('error', () => this.changed());
    (stream as Partial<Socket>).unref?.();
    this.#stream = stream;
  }

  override close(): void {
    this.#stream?.destroy();
    this.#stream = undefined;
    super.close();
  }
}
