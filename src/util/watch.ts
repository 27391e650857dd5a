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

  constructor(dir: string) {
    try {
      this.#watcher = watch(dir, { persistent: false }, () => {
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
