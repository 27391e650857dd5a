import { watch, type FSWatcher } from 'node:fs';

/**
 * Waits for "something changed in this directory" without polling blindly: inotify (fs.watch) wakes the waiter at
 * once, and a timeout bounds every wait, so a missed or unsupported event only costs the old polling delay.
 * For state files that another process replaces by rename (the container monitor's state.json, runc's pid file).
 */
export class DirectoryWaiter {
  #watcher: FSWatcher | undefined;
  #changed = false;
  #wake: (() => void) | undefined;

  /**
   * `names`: wake only for changes to these entries (e.g. the file a writer renames into place), not for every
   * temp file and log line in the directory; each wake-up costs its waiter a read.
   */
  constructor(dir: string, opts: { names?: readonly string[] } = {}) {
    const names = opts.names ? new Set(opts.names) : undefined;
    try {
      this.#watcher = watch(dir, { persistent: false }, (_event, name) => {
        // inotify always names the entry of a directory watch; without a name, assume it is one of ours.
        if (names && name && !names.has(String(name))) return;
        this.#changed = true;
        this.#wake?.();
      });
      this.#watcher.on('error', () => this.close());
    } catch {
      this.#watcher = undefined; // no directory yet, or no inotify: plain timeouts
    }
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
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#wake?.();
  }
}
