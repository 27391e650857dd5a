import type { AttachOptions, AttachSession } from '../runtime/monitor.js';

/** An attach that arrived before its container started (`docker run` attaches, then waits, then starts). */
export interface PendingAttach {
  streams: AttachOptions;
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
    if (list && list.length === 0) this.pendingAttach.delete(containerId);
    return first;
  }
}
