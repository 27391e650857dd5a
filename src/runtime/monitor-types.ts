import * as path from 'node:path';
import type { ErrorCode } from '../errors/index.js';

/** What the monitor process is told to do (written as `monitor.conf` next to its state: src/runtime/monitor-config.ts). */
export interface MonitorConfig {
  id: string;
  /** The OCI bundle directory (config.json). */
  bundle: string;
  runcRoot: string;
  runcBinary?: string;
  /** The monitor's run-time directory: state.json, attach.sock, pty.sock, runc.log, monitor.log. Short: it holds sockets. */
  stateDir: string;
  /** Docker json-file log, conventionally `<containerDir>/<id>-json.log`. */
  logPath: string;
  /** Run the process on a pseudo-terminal (the spec's process.terminal must agree). */
  tty: boolean;
  /** Keep the container's stdin open for attach clients (`-i`). */
  openStdin: boolean;
  /** Close the container's stdin when an attached client's stdin ends (Docker's StdinOnce; default true). */
  stdinOnce?: boolean;
  /**
   * Keep the container's output for the first attach client (up to 30 s): it sees everything from the first byte.
   * With a terminal the container starts only once that client is there; on pipes it starts at once and its early
   * output is held for the client (the container blocks writing when a megabyte is waiting).
   */
  waitForAttach?: boolean;
  /** The first attach client will claim the cleanup (CLAIM_CLEANUP): an early exit waits for its claim. */
  attachClaimsCleanup?: boolean;
  /** The process that will attach: an early exit stops waiting for it when it is gone. */
  attachClientPid?: number;
  consoleSize?: { cols: number; rows: number };
  /**
   * Record whether the kernel OOM-killed the container (cgroup v1 memory.oom_control events, or cgroup v2
   * memory.events; needs an absolute linux.cgroupsPath in the spec, best with a parent of its own such as
   * `/wharf/<id>/ctr`, which the monitor removes at the end).
   */
  watchOom?: boolean;
  /** The cgroup file systems' root (default /sys/fs/cgroup): another only for tests of the OOM watch. */
  cgroupRoot?: string;
  /** argv run after the container exited (unmount, release the network), e.g. [node, wharf, 'container', 'cleanup', id]. */
  cleanup?: string[];
  cleanupTimeoutMs?: number;
  /**
   * Host-side network interfaces (by index) that the monitor deletes as soon as the container is gone for good,
   * before the cleanup: the container's veths (native/monitor/links.c). The cleanup still deletes what is left.
   */
  releaseLinks?: number[];
  /** The health check the monitor runs (native/monitor/health.c), from the container's Healthcheck. */
  health?: MonitorHealth;
  /**
   * A pipe (fd 3 as startMonitor starts the monitor) on which the monitor writes a byte after every state write, so
   * that the process that started it learns of each change without watching the state directory. Set by startMonitor.
   */
  notifyFd?: number;
  /**
   * Docker's restart policy, carried out by the monitor (native/monitor/restart.c): `no` (the default),
   * `on-failure` (a non-zero exit, at most `max` times; 0: no limit), `always`, `unless-stopped`.
   */
  restartPolicy?: { name: 'no' | 'on-failure' | 'always' | 'unless-stopped'; max: number };
  /** The container's events (die, oom) go to this event log (src/events/, docs/events.md); without it, none. */
  events?: MonitorEvents;
  // ---- the log driver (`--log-driver`, `--log-opt`; issue 12) ----
  /** `--log-driver none`: write no log file. */
  logDisabled?: boolean;
  /** Rotate the log when it has reached this many bytes (Docker's json-file `max-size`); 0 or unset: never. */
  logMaxSize?: number;
  /** Files kept with rotation: the live one and `.1` … `.N-1` (`max-file`, default 1: the file is cut back). */
  logMaxFiles?: number;
}

/** What the monitor's events say about the container (Docker's Actor attributes). */
export interface MonitorEvents {
  /** The root's events.log. */
  path: string;
  /** The container's name without its slash. */
  name?: string;
  /** The image as the container was made with it (Config.Image). */
  image?: string;
  /**
   * A file holding the current name, read at each event (so a `rename` reaches the die event); `name` when it is
   * missing. startMonitor writes it from `name` (monitorPaths().eventName).
   */
  nameFile?: string;
  /** The container's labels (Config.Labels): Docker puts them into every container event. */
  labels?: Readonly<Record<string, string>>;
}

/** A health check as the monitor runs it: Docker's defaults already applied (src/container/health.ts). */
export interface MonitorHealth {
  /** The probe's argv in the container (CMD-SHELL already through the shell). */
  cmd: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  /** Consecutive failures that make the container unhealthy. */
  retries: number;
  /** The timeout as Go prints a duration ("1s"): the timeout's result says "Health check exceeded timeout (1s)". */
  timeoutText: string;
}

/** One probe's result in health.json (Docker's HealthcheckResult). */
export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** health.json, written by the monitor after every probe: Docker's State.Health. */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthResult[];
}

/** `restarting`: between two runs of a restart policy (the last run's exit recorded), until the next one is up. */
export type MonitorStatus = 'starting' | 'running' | 'restarting' | 'exited';

/** The monitor's record of the container, replaced atomically on every change. */
export interface MonitorState {
  id: string;
  status: MonitorStatus;
  monitorPid: number;
  /** This monitor answers SIGNAL frames (attach-protocol.ts): a signal need not exec `runc kill`. */
  signalFrames?: boolean;
  /** The attach socket is listening. */
  attachReady?: boolean;
  /** Host PID of the container's init process. */
  pid?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  oomKilled?: boolean;
  /** Set when runc could not start the process (the exit code is then 127, 126 or 128, as Docker reports). */
  error?: string;
  errorCode?: ErrorCode;
  /** The cleanup command finished (successfully or not: see cleanupError). */
  cleanedUp?: boolean;
  cleanupError?: string;
  /** PID of the attached client that took the cleanup over (CLAIM_CLEANUP); cleanedUp then stays false. */
  cleanupBy?: number;
  /** Restarts by the restart policy since this monitor started (absent: none). */
  restartCount?: number;
  /** While a restarted run runs: the exit code of the run before it (`wait` reports it, as Docker's does). */
  lastExitCode?: number;
  /**
   * Set by readState when the monitor died without recording an exit (e.g. SIGKILL): the status then reads
   * 'exited' with no exit code, but the container itself may still run; ask runc.
   */
  monitorLost?: boolean;
}

export const monitorPaths = (stateDir: string) => ({
  config: path.join(stateDir, 'monitor.conf'),
  state: path.join(stateDir, 'state.json'),
  health: path.join(stateDir, 'health.json'),
  /** The results of the runs before (Docker keeps a container's last five across restarts); never the monitor's. */
  healthPrevious: path.join(stateDir, 'health-previous.json'),
  socket: path.join(stateDir, 'attach.sock'),
  pidFile: path.join(stateDir, 'container.pid'),
  runcLog: path.join(stateDir, 'runc.log'),
  monitorLog: path.join(stateDir, 'monitor.log'),
  /** The container's current name for the monitor's events (a rename replaces it): MonitorEvents.nameFile. */
  eventName: path.join(stateDir, 'event-name'),
  /** Created by `stop`/`kill` before they signal: the monitor restarts no more (native/monitor/restart.c). */
  noRestart: path.join(stateDir, 'no-restart'),
  /** "NAME MAX", replaced by `update --restart`: the policy the monitor applies at the next exit. */
  restartPolicy: path.join(stateDir, 'restart-policy'),
});

/** sockaddr_un's sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

/** Docker's json-file log location inside a container's directory. */
export const jsonLogPath = (containerDir: string, id: string): string => path.join(containerDir, `${id}-json.log`);
