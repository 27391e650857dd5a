import { mkdirSync, promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as Net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable, Writable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import {
  FlowGate,
  lazyBuiltin,
  loadNativeAddon,
  nativeProgram,
  PipeWaiter,
  removeTreeSync,
  replaceFileSync,
  spawn,
  trace,
} from '../util/index.js';
import { Frame, FrameSplitter, chunkFrames, encodeFrame } from './attach-protocol.js';
import { MONITOR_NOTIFY_FD, encodeMonitorConfig, type BundleFacts } from './monitor-config.js';
import {
  MAX_SOCKET_PATH,
  monitorPaths,
  type HealthState,
  type MonitorConfig,
  type MonitorState,
} from './monitor-types.js';

export {
  monitorPaths,
  jsonLogPath,
  type HealthResult,
  type HealthState,
  type MonitorConfig,
  type MonitorHealth,
  type MonitorEvents,
  type MonitorState,
  type MonitorStatus,
} from './monitor-types.js';
export { encodeMonitorConfig, type BundleFacts } from './monitor-config.js';

// Loaded by attach alone (node:net and its parts, ~2 ms): every command that opens the engine loads this module.
const net = lazyBuiltin<typeof Net>('node:net');
/** The attach socket's read buffer: one read of the monitor's (it sends at most 64 KiB of output a frame). */
const READ_BUFFER = 64 * 1024;

/**
 * The container monitor (native/monitor/, built as build/Release/wharf-monitor). WHARF_MONITOR_BINARY names another
 * build of it (the tests run the sanitizer build, wharf-monitor-asan, so).
 */
export function nativeMonitorPath(): string | undefined {
  const override = process.env.WHARF_MONITOR_BINARY;
  if (override) return override;
  return nativeProgram('wharf-monitor', { required: true }); // not turned off by WHARF_NATIVE=0: nothing replaces it
}

export interface AttachOptions {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Send the end of `stdin` to the container (default true); false keeps the container's stdin open. */
  forwardEof?: boolean;
  /** Bytes that detach the client without stopping the container (Docker's ctrl-p ctrl-q for tty sessions). */
  detachKeys?: Buffer;
  /**
   * Take the after-exit cleanup over from the monitor while connected (see Frame.CLAIM_CLEANUP): the exit then
   * reports `cleanupDelegated` and the caller must clean up.
   */
  claimCleanup?: boolean;
}

export interface AttachSession {
  /** Resolves with the exit code when the container exits, or undefined when the client detached or lost the socket. */
  exit: Promise<AttachExit>;
  resize(cols: number, rows: number): void;
  detach(): void;
}

export interface AttachExit {
  exitCode?: number;
  error?: string;
  errorCode?: string;
  detached?: boolean;
  /** The monitor left the cleanup (unmount, network, --rm) to this client. */
  cleanupDelegated?: boolean;
  /** Set when that cleanup failed (the container then stays, exited, for `rm` to finish): the error itself. */
  cleanupError?: Error;
}

export interface StartMonitorOptions extends MonitorConfig {
  /** Attach these streams before the container starts, so no early output is lost (`run` without -d, `start -a`). */
  attach?: AttachOptions;
  /** The monitor program (default nativeMonitorPath()); false or a missing build: no container can start. */
  nativeMonitor?: string | false;
  /** How long to wait for the container to be running (default 60 s). */
  timeoutMs?: number;
}

export interface StartedMonitor {
  monitorPid: number;
  /** Undefined when the container already exited (a fast `echo`) and runc's pid file was not seen. */
  containerPid?: number;
  state: MonitorState;
  session?: AttachSession;
}

function readStateFileSync(file: string): MonitorState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as MonitorState;
  } catch {
    return undefined;
  }
}

function checkSocketPath(stateDir: string): void {
  const p = monitorPaths(stateDir).socket;
  if (Buffer.byteLength(p) > MAX_SOCKET_PATH) {
    throw new WharfError('INVALID_ARGUMENT', `monitor state directory ${stateDir} is too long for a unix socket path`);
  }
}

/** Whether the process is alive and is the monitor of this state directory (guards against PID reuse). */
export function isMonitorAlive(pid: number, stateDir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(monitorPaths(stateDir).config);
  } catch {
    return false;
  }
}

/**
 * What the monitor needs from the bundle, read here once (a few KB, synchronously): the cgroup it watches and
 * whose empty parents it removes, the memory limit. On a terminal the spec also gets the client's size now, known
 * only at the start: runc gives the pty that size before the process runs, so a `stty size` at once is right.
 * (Written back only for a terminal whose size changes; a few KB, synchronously.)
 */
function prepareBundle(cfg: MonitorConfig): BundleFacts {
  const file = path.join(cfg.bundle, 'config.json');
  let spec: {
    process?: { consoleSize?: { width: number; height: number } };
    linux?: { cgroupsPath?: string; resources?: { memory?: { limit?: number } } };
  };
  try {
    spec = JSON.parse(readFileSync(file, 'utf8')) as typeof spec;
  } catch {
    return {}; // runc reports the missing or broken bundle
  }
  // Without a client's size, a terminal's is 80x24 as before (runc would leave it 0x0).
  const size = cfg.consoleSize ?? (spec.process?.consoleSize ? undefined : { cols: 80, rows: 24 });
  if (cfg.tty && size && spec.process) {
    spec.process.consoleSize = { width: size.cols, height: size.rows };
    replaceFileSync(file, JSON.stringify(spec, null, 2), 0o644);
  }
  const facts: BundleFacts = {};
  if (spec.linux?.cgroupsPath) facts.cgroupsPath = spec.linux.cgroupsPath;
  const limit = spec.linux?.resources?.memory?.limit;
  if (limit) facts.memoryLimit = limit;
  return facts;
}

/** A started monitor process, however it was started. */
interface MonitorProcess {
  pid: number | undefined;
  hasExited(): boolean;
  /** Wakes on each of the monitor's state writes (its notification pipe). */
  changes: PipeWaiter;
}

interface SpawnAddon {
  spawnMonitor(file: string, args: string[]): [number, number];
  exited(pid: number): boolean;
}

const spawnAddon = (): SpawnAddon | null =>
  loadNativeAddon<SpawnAddon>(
    'wharf_spawn',
    (m) => typeof m.spawnMonitor === 'function' && typeof m.exited === 'function',
  );

/**
 * Start `wharf-monitor <monitor.conf>` detached, its fd 3 a pipe to us (the state notifications). Through the small
 * native/spawn.c addon when it is built (posix_spawn, and no node:child_process to load: ~5 ms sooner), else
 * child_process. The monitor sends its own stdio to monitor.log.
 */
function spawnMonitor(binary: string, configPath: string): MonitorProcess {
  const addon = spawnAddon();
  if (addon) {
    try {
      const [pid, notifyFd] = addon.spawnMonitor(binary, [configPath]);
      return { pid, hasExited: () => addon.exited(pid), changes: new PipeWaiter(notifyFd) };
    } catch {
      // the spawn failed (ENOENT, EACCES): child_process reports it the same way below
    }
  }
  const child = spawn(binary, [configPath], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    cwd: '/',
  });
  child.on('error', () => {}); // a failed spawn shows as no pid; its 'error' event must not kill this process
  child.unref();
  const pipe = child.stdio[MONITOR_NOTIFY_FD] as (Readable & { unref?: () => void }) | null | undefined;
  pipe?.unref?.();
  return {
    pid: child.pid,
    hasExited: () => child.exitCode !== null || child.signalCode !== null,
    changes: new PipeWaiter(pipe ?? undefined),
  };
}

/**
 * Start a detached monitor for a prepared bundle and wait until the container runs (or fails to start: runc's
 * error becomes a WharfError, e.g. COMMAND_NOT_FOUND with details.exitCode 127).
 */
export async function startMonitor(opts: StartMonitorOptions): Promise<StartedMonitor> {
  const { attach: attachOpts, nativeMonitor, timeoutMs = 60_000, ...cfg } = opts;
  const binary = nativeMonitor === undefined ? nativeMonitorPath() : nativeMonitor || undefined;
  if (!binary) {
    throw new WharfError(
      'UNAVAILABLE',
      'the container monitor (build/Release/wharf-monitor) is not built: run `npm run build`',
    );
  }
  checkSocketPath(cfg.stateDir);
  const paths = monitorPaths(cfg.stateDir);
  // Synchronous small file operations: this is the hand-over on every container start (see container/service.ts).
  mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
  const old = readStateFileSync(paths.state);
  if (old && old.status !== 'exited' && isMonitorAlive(old.monitorPid, cfg.stateDir)) {
    throw new WharfError('CONFLICT', `container ${cfg.id} already has a running monitor (pid ${old.monitorPid})`);
  }
  removeTreeSync(paths.state); // not rmSync: Node 20's loads its rimraf and six more modules for one unlink
  const config: MonitorConfig = {
    ...cfg,
    waitForAttach: cfg.waitForAttach ?? attachOpts !== undefined,
    ...(attachOpts?.claimCleanup ? { attachClaimsCleanup: true } : {}),
    ...(attachOpts ? { attachClientPid: process.pid } : {}),
    notifyFd: MONITOR_NOTIFY_FD,
  };
  if (config.events?.name !== undefined) {
    writeFileSync(paths.eventName, config.events.name);
    config.events = { ...config.events, nameFile: paths.eventName };
  }
  writeFileSync(paths.config, encodeMonitorConfig(config, prepareBundle(config)));
  trace('hand over');
  const child = spawnMonitor(binary, paths.config);
  try {
    return await superviseStart(child);
  } finally {
    child.changes.close();
  }

  async function superviseStart(child: MonitorProcess): Promise<StartedMonitor> {
    const monitorPid = child.pid;
    if (monitorPid === undefined)
      throw new WharfError('UNAVAILABLE', `cannot start the monitor ${binary} for container ${cfg.id}`);
    const deadline = Date.now() + timeoutMs;
    let session: AttachSession | undefined;
    let state: MonitorState | undefined;
    for (;;) {
      state = readStateFileSync(paths.state);
      if (attachOpts && !session && state?.attachReady) session = await attach(paths.socket, attachOpts);
      // restarting: the first run came and went already, and its policy starts the next.
      if (state && (state.status === 'running' || state.status === 'exited' || state.status === 'restarting')) break;
      if (!isMonitorAlive(monitorPid, cfg.stateDir) && child.hasExited()) {
        // A fast container's monitor can write its last state and exit between the read above and this check.
        const last = readStateFileSync(paths.state);
        if (last && (last.status === 'running' || last.status === 'exited' || last.status === 'restarting')) {
          state = last;
          break;
        }
        const log = (await fsp.readFile(paths.monitorLog, 'utf8').catch(() => '')).trim();
        const first = log.split('\n').find((l) => /Error|error:|monitor: /.test(l)) ?? log.split('\n').pop();
        throw new WharfError('INTERNAL', `monitor of container ${cfg.id} died: ${first || 'no output'}`, {
          details: { monitorLog: log.slice(-4000) },
        });
      }
      if (Date.now() > deadline) {
        throw new WharfError('UNAVAILABLE', `container ${cfg.id} did not start within ${timeoutMs} ms`);
      }
      await child.changes.next(25);
    }
    if (state.status === 'exited' && state.error) {
      if (session) await session.exit;
      throw new WharfError(state.errorCode ?? 'INTERNAL', `container ${cfg.id}: ${state.error}`, {
        details: { exitCode: state.exitCode, id: cfg.id },
      });
    }
    return {
      monitorPid,
      state,
      ...(state.pid !== undefined ? { containerPid: state.pid } : {}),
      ...(session ? { session } : {}),
    };
  }
}

/**
 * Tells a live monitor to restart no more (`stop`, `kill`): a file it checks at each exit and during its back-off.
 * Synchronous on purpose: it must exist before the caller's signal reaches the container (see native/monitor/restart.c).
 */
export function requestNoRestart(stateDir: string): void {
  try {
    writeFileSync(monitorPaths(stateDir).noRestart, '', { mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // no state directory: no monitor to tell
  }
}

/** Gives a live monitor a new restart policy for its next exit (`update --restart`); atomic, as the monitor may read it. */
export function writeRestartPolicy(stateDir: string, policy: { name: string; max: number }): void {
  try {
    replaceFileSync(monitorPaths(stateDir).restartPolicy, `${policy.name} ${policy.max}\n`, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** The monitor's state file, reconciled: a monitor that died without recording an exit reads as exited. */
export async function readState(stateDir: string): Promise<MonitorState | undefined> {
  // A small file read synchronously (readStateFileSync): `ps` reads one per container, `run` several.
  const state = readStateFileSync(monitorPaths(stateDir).state);
  if (!state) return undefined;
  if (state.status !== 'exited' && !isMonitorAlive(state.monitorPid, stateDir)) {
    // Re-read: the monitor may have written its last state just before exiting.
    const again = readStateFileSync(monitorPaths(stateDir).state);
    if (again?.status === 'exited') return again;
    return { ...state, status: 'exited', monitorLost: true, cleanedUp: false };
  }
  return state;
}

const readJsonSync = <T>(file: string): T | undefined => {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
};

const MAX_HEALTH_LOG = 5; // Docker's maxLogEntries

/**
 * The monitor's health.json (Docker's State.Health), its log after the results of the runs before; undefined before
 * its first write or without a check.
 */
export function readHealth(stateDir: string): HealthState | undefined {
  const paths = monitorPaths(stateDir);
  const health = readJsonSync<HealthState>(paths.health);
  if (!health) return undefined;
  const previous = readJsonSync<HealthState['Log']>(paths.healthPrevious) ?? [];
  return previous.length ? { ...health, Log: [...previous, ...health.Log].slice(-MAX_HEALTH_LOG) } : health;
}

/**
 * The health results of the runs so far (readHealth's Log, read before a new run empties the state directory), kept
 * in it for readHealth to put before the new run's: Docker keeps a container's last five across restarts.
 */
export function keepHealthResults(stateDir: string, results: HealthState['Log']): void {
  if (results.length === 0) return;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(monitorPaths(stateDir).healthPrevious, JSON.stringify(results.slice(-MAX_HEALTH_LOG)));
}

/**
 * Wait until the container exited and (by default) the cleanup command finished. Throws UNAVAILABLE on timeout.
 */
export async function waitExit(
  stateDir: string,
  timeoutMs = 0,
  opts: { cleanedUp?: boolean; signal?: AbortSignal } = {},
): Promise<MonitorState> {
  const wantCleanup = opts.cleanedUp ?? true;
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    const state = await readState(stateDir);
    if (state?.status === 'exited' && (!wantCleanup || state.cleanedUp)) return state;
    if (state?.status === 'exited' && !isMonitorAlive(state.monitorPid, stateDir)) {
      // The monitor may have written its final state (cleanedUp) and exited since the read above.
      return (await readState(stateDir)) ?? state;
    }
    if (!state && !(await fsp.stat(stateDir).catch(() => undefined))) {
      throw new WharfError('NOT_FOUND', `no container monitor state in ${stateDir}`);
    }
    if (Date.now() > deadline) throw new WharfError('UNAVAILABLE', `container did not exit within ${timeoutMs} ms`);
    if (opts.signal?.aborted) throw new WharfError('CANCELLED', 'waiting for the container was cancelled');
    // Never past the deadline: a stop's SIGKILL follows it, and must come when the timeout says, not 200 ms after.
    await sleep(Math.max(1, Math.min(delay, deadline - Date.now())));
  }
}

/** Connect to a monitor's attach socket and stream stdio until the container exits or the client detaches. */
export async function attach(socketPath: string, opts: AttachOptions): Promise<AttachSession> {
  // One read buffer for the whole session: the output flows through it to stdout without a copy (see toSink). The
  // first read comes after connecting, in a later turn of the event loop, when everything below is set up.
  const sock = net().createConnection({
    path: socketPath,
    onread: { buffer: Buffer.allocUnsafe(READ_BUFFER), callback: (n, buf) => onOutput(buf.subarray(0, n) as Buffer) },
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', (err) =>
      reject(new WharfError('UNAVAILABLE', `cannot attach: ${socketPath}: ${(err as Error).message}`, { cause: err })),
    );
  });
  let result: AttachExit | undefined;
  let finish: (r: AttachExit) => void = () => {};
  const exit = new Promise<AttachExit>((resolve) => (finish = resolve));
  const splitter = new FrameSplitter();
  let exitParts: Buffer[] = [];
  const stdin = opts.stdin;
  const onStdin = (d: Buffer | string): void => {
    const buf = typeof d === 'string' ? Buffer.from(d) : d;
    if (opts.detachKeys && matcher(buf)) {
      session.detach();
      return;
    }
    let full = false;
    for (const f of chunkFrames(Frame.STDIN, buf)) full = !sock.write(f) || full;
    // A container that does not read its stdin must not make us buffer all of ours.
    if (full && stdin) {
      stdin.pause();
      sock.once('drain', () => {
        if (stdin.listenerCount('data') > 0) stdin.resume();
      });
    }
  };
  const onStdinEnd = (): void => {
    if (opts.forwardEof ?? true) sock.write(encodeFrame(Frame.STDIN_EOF));
  };
  const matcher = detachMatcher(opts.detachKeys);
  const cleanup = (): void => {
    stdin?.off('data', onStdin);
    stdin?.off('end', onStdinEnd);
    stdin?.pause();
  };
  // Read the socket only as fast as stdout takes the output: the monitor then stops reading the container's pipe.
  const gate = new FlowGate(
    () => sock.pause(),
    () => sock.resume(),
  );
  // The CLI's own stdout and stderr are done with a chunk when they call back, so they write straight from the read
  // buffer (the socket is paused until they have); any other sink gets a copy, as it may keep the chunk.
  const toSink = (to: Writable | undefined, piece: Buffer): void => {
    if (to === process.stdout || to === process.stderr) gate.writeBorrowed(to, piece);
    else gate.write(to, Buffer.from(piece));
  };
  const onOutput = (chunk: Buffer): boolean => {
    for (const { type, payload, last } of splitter.push(chunk)) {
      if (type === Frame.STDOUT) toSink(opts.stdout, payload);
      else if (type === Frame.STDERR) toSink(opts.stderr ?? opts.stdout, payload);
      else if (type === Frame.EXIT) {
        exitParts.push(Buffer.from(payload));
        if (!last) continue;
        // The last frame: the session is over now, not when the socket has finished closing.
        result = JSON.parse(Buffer.concat(exitParts).toString('utf8')) as AttachExit;
        exitParts = [];
        cleanup();
        finish(result);
      }
    }
    return true;
  };
  sock.on('error', () => {});
  sock.on('close', () => {
    cleanup();
    finish(result ?? {});
  });
  if (opts.claimCleanup) sock.write(encodeFrame(Frame.CLAIM_CLEANUP, JSON.stringify({ pid: process.pid })));
  if (stdin) {
    stdin.on('data', onStdin);
    stdin.on('end', onStdinEnd);
    stdin.resume();
  }
  const session: AttachSession = {
    exit,
    resize(cols, rows) {
      if (!sock.destroyed) sock.write(encodeFrame(Frame.RESIZE, JSON.stringify({ cols, rows })));
    },
    detach() {
      result = { detached: true };
      cleanup();
      sock.end();
    },
  };
  return session;
}

/** Whether the input so far ends in the detach sequence `keys` (none: never), fed chunk by chunk. */
export function detachMatcher(keys: Buffer | undefined): (b: Buffer) => boolean {
  let pos = 0;
  return (b) => {
    if (!keys || keys.length === 0) return false;
    for (const byte of b) {
      pos = byte === keys[pos] ? pos + 1 : byte === keys[0] ? 1 : 0;
      if (pos === keys.length) return true;
    }
    return false;
  };
}
