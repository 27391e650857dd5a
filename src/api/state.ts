import type { AttachOptions, AttachSession } from '../runtime/monitor.js';

/** An attach that arrived before its container started (`docker run` attaches, then waits, then starts). */
export interface PendingAttach {
  streams: AttachOptions;
  /** Called when a start takes this attach, before it runs the container. */
  taken?(): void;
  /** Called with the session once the start made one (or with undefined when the start failed). */
  started(session: AttachSession | undefined): void;
}

/** An exec instance between POST /containers/{id}/exec and the end of its process (dockerd keeps them in memory). */
export interface ExecInstance {
  id: string;
  containerId: string;
  cmd: string[];
  env: string[];
  user: string;
  workdir: string;
  tty: boolean;
  privileged: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  running: boolean;
  exitCode: number | null;
  pid: number;
  /** Started with `Detach`: its end is not seen by this service, only whether its PID still lives. */
  detached?: boolean;
  resize?: (cols: number, rows: number) => void;
}

/** What the service keeps between requests: pending attaches and exec instances. Nothing else is cached. */
export class ApiState {
  readonly pendingAttach = new Map<string, PendingAttach[]>();
  readonly execs = new Map<string, ExecInstance>();
  /** Attach sessions open through this service, by container ID (resize goes through one). */
  readonly sessions = new Map<string, AttachSession>();
  /** Open GET /events streams (GET /info's NEventsListener). */
  eventListeners = 0;

  /** Attach streams this service relays to clients, by container ID: open until the client has all the output. */
  readonly #relays = new Map<string, Set<Promise<void>>>();

  /**
   * Count an attach relay of `containerId` as open; the returned function ends it (idempotent). `wait` answers only
   * once the relays are done, as dockerd copies the streams out before it reports an exit: else a client that
   * attached, started and waited (`docker run`, dockerode's `run`) could have its exit code before the output.
   */
  trackRelay(containerId: string): () => void {
    let end!: () => void;
    const done = new Promise<void>((resolve) => (end = resolve));
    const set = this.#relays.get(containerId) ?? new Set();
    set.add(done);
    this.#relays.set(containerId, set);
    return () => {
      end();
      set.delete(done);
      if (set.size === 0 && this.#relays.get(containerId) === set) this.#relays.delete(containerId);
    };
  }

  /** Resolves when the open relays of `containerId` are done, or after `timeoutMs` (dockerd's bound is 2 s too). */
  async relaysDone(containerId: string, timeoutMs: number): Promise<void> {
    const set = this.#relays.get(containerId);
    if (!set?.size) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(set), timeout]);
    clearTimeout(timer);
  }

  addPendingAttach(containerId: string, p: PendingAttach): () => void {
    const list = this.pendingAttach.get(containerId) ?? [];
    list.push(p);
    this.pendingAttach.set(containerId, list);
    return () => {
      const cur = this.pendingAttach.get(containerId) ?? [];
      const left = cur.filter((x) => x !== p);
      if (left.length) this.pendingAttach.set(containerId, left);
      else this.pendingAttach.delete(containerId);
    };
  }

  /** The first pending attach of a container, taken (the library attaches one client at start). */
  takePendingAttach(containerId: string): PendingAttach | undefined {
    const list = this.pendingAttach.get(containerId);
    const first = list?.shift();
    first?.taken?.();
    if (list && list.length === 0) this.pendingAttach.delete(containerId);
    return first;
  }
}
