import { closeSync, mkdirSync, openSync, promises as fsp, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable, Writable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import { DirectoryWaiter, nativeProgram, PipeWaiter, removeTreeSync, spawn, trace } from '../util/index.js';
import { Frame, FrameDecoder, chunkFrames, encodeFrame } from './attach-protocol.js';
import { STANDBY_FLAG, STANDBY_NOTIFY_FD, childMonitorProcess, takeStandbyMonitor, type MonitorProcess } from './standby.js';
import { MAX_SOCKET_PATH, monitorPaths, type MonitorConfig, type MonitorState } from './monitor-types.js';

export { monitorPaths, jsonLogPath, type MonitorConfig, type MonitorState, type MonitorStatus } from './monitor-types.js';

/** How to start the monitor's entry file: node + (tsx when running from sources) + the script. */
export interface MonitorEntry {
  execPath: string;
  args: string[];
}

/**
 * `dist/runtime/monitor-main.js` next to the compiled library; when this file is TypeScript run through tsx, the
 * `.ts` entry with tsx as a loader.
 */
export function defaultMonitorEntry(): MonitorEntry {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx');
    return { execPath: process.execPath, args: ['--import', tsx, fileURLToPath(new URL('./monitor-main.ts', import.meta.url))] };
  }
  return { execPath: process.execPath, args: [fileURLToPath(new URL('./monitor-main.js', import.meta.url))] };
}

/**
 * The native monitor (native/monitor.c, built as build/Release/wharf-monitor): the same job as the Node monitor for
 * containers on pipes at a fraction of the start-up cost. Off with WHARF_MONITOR=node (or WHARF_NATIVE=0).
 */
export function nativeMonitorPath(): string | undefined {
  return process.env.WHARF_MONITOR === 'node' ? undefined : nativeProgram('wharf-monitor');
}

/** What the native monitor does itself; the rest it hands to the Node monitor (`fallback`). */
const nativeServes = (cfg: MonitorConfig): boolean => !cfg.tty && !cfg.watchOom && !cfg.consoleSize;

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
  /** Set when that cleanup failed (the container then stays, exited, for `rm` to finish). */
  cleanupError?: string;
}

export interface StartMonitorOptions extends MonitorConfig {
  /** Attach these streams before the container starts, so no early output is lost (`run` without -d, `start -a`). */
  attach?: AttachOptions;
  /** The Node monitor: the monitor for what the native one does not serve, and the only one without it. */
  entry?: MonitorEntry;
  /** The native monitor's path (default nativeMonitorPath()); false: the Node monitor only. */
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
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd.includes(monitorPaths(stateDir).config)) return true;
    // A standby got its config on stdin; it works from its state dir.
    return cmd.split('\0').includes(STANDBY_FLAG) && readlinkSync(`/proc/${pid}/cwd`) === path.resolve(stateDir);
  } catch {
    return false;
  }
}

/**
 * Start a detached monitor for a prepared bundle and wait until the container runs (or fails to start: runc's
 * error becomes a WharfError, e.g. COMMAND_NOT_FOUND with details.exitCode 127).
 */
export async function startMonitor(opts: StartMonitorOptions): Promise<StartedMonitor> {
  const { attach: attachOpts, entry = defaultMonitorEntry(), nativeMonitor, timeoutMs = 60_000, ...cfg } = opts;
  const nativeBin = nativeMonitor === undefined ? nativeMonitorPath() : nativeMonitor || undefined;
  checkSocketPath(cfg.stateDir);
  const paths = monitorPaths(cfg.stateDir);
  // Synchronous small file operations: this is the hand-over on every container start (see container/service.ts).
  mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
  const old = readStateFileSync(paths.state);
  if (old && old.status !== 'exited' && isMonitorAlive(old.monitorPid, cfg.stateDir)) {
    throw new WharfError('CONFLICT', `container ${cfg.id} already has a running monitor (pid ${old.monitorPid})`);
  }
  removeTreeSync(paths.state); // not rmSync: Node 20's loads its rimraf and six more modules for one unlink
  const node = [entry.execPath, ...entry.args];
  // A native standby takes any config (it execs the Node monitor for what it does not serve itself).
  const standby = takeStandbyMonitor(nativeBin ? [node, [nativeBin]] : [node]);
  const config: MonitorConfig = {
    ...cfg,
    waitForAttach: cfg.waitForAttach ?? attachOpts !== undefined,
    ...(attachOpts?.claimCleanup ? { attachClaimsCleanup: true } : {}),
    ...(attachOpts ? { attachClientPid: process.pid } : {}),
    fallback: node,
  };
  const writeConfig = (): void => writeFileSync(paths.config, JSON.stringify(config, null, 2));
  // A standby started with a notification pipe (native/spawn.c) says when its state changes; else inotify on the
  // state dir, watching before the monitor can write anything.
  if (standby?.notifyFd !== undefined) config.notifyFd = STANDBY_NOTIFY_FD;
  let changes: DirectoryWaiter | PipeWaiter;
  try {
    writeConfig();
    changes = standby?.notifyFd !== undefined ? new PipeWaiter(standby.notifyFd) : stateDirWaiter();
  } catch (err) {
    standby?.discard();
    throw err;
  }
  try {
    return await superviseStart();
  } finally {
    changes.close();
  }

  function stateDirWaiter(): DirectoryWaiter {
    return new DirectoryWaiter(cfg.stateDir, { names: [path.basename(paths.state)] });
  }

  function spawnMonitor(command: string[]): MonitorProcess {
    const logFd = openSync(paths.monitorLog, 'a', 0o600);
    try {
      const child = spawn(command[0]!, [...command.slice(1), paths.config], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        cwd: '/',
        env: monitorEnv(),
      });
      child.on('error', () => {}); // a failed spawn shows as no pid; its 'error' event must not kill this process
      child.unref();
      return childMonitorProcess(child);
    } finally {
      closeSync(logFd);
    }
  }

  async function superviseStart(): Promise<StartedMonitor> {
    trace('hand over');
    let child: MonitorProcess | undefined = standby && (await standby.activate(paths.config)) ? standby.process : undefined;
    if (!child && config.notifyFd !== undefined) {
      // The standby is gone: a fresh monitor has no notification pipe.
      changes.close();
      delete config.notifyFd;
      writeConfig();
      changes = stateDirWaiter();
    }
    if (!child) {
      child = spawnMonitor(nativeBin && nativeServes(config) ? [nativeBin] : node);
      // A native monitor that cannot be spawned (a noexec mount, a foreign binary): the Node monitor does the job.
      if (child.pid === undefined && nativeBin) child = spawnMonitor(node);
    }
    const monitorPid = child.pid;
    if (monitorPid === undefined) throw new WharfError('UNAVAILABLE', `cannot start the monitor for container ${cfg.id}`);

    const deadline = Date.now() + timeoutMs;
    let session: AttachSession | undefined;
    let state: MonitorState | undefined;
    for (;;) {
      state = readStateFileSync(paths.state);
      if (attachOpts && !session && state?.attachReady) session = await attach(paths.socket, attachOpts);
      if (state && (state.status === 'running' || state.status === 'exited')) break;
      if (!isMonitorAlive(monitorPid, cfg.stateDir) && child.hasExited()) {
        // A fast container's monitor can write its last state and exit between the read above and this check.
        const last = readStateFileSync(paths.state);
        if (last && (last.status === 'running' || last.status === 'exited')) {
          state = last;
          break;
        }
        const log = (await fsp.readFile(paths.monitorLog, 'utf8').catch(() => '')).trim();
        const first = log.split('\n').find((l) => /Error|error:/.test(l)) ?? log.split('\n').pop();
        throw new WharfError('INTERNAL', `monitor of container ${cfg.id} died: ${first || 'no output'}`, {
          details: { monitorLog: log.slice(-4000) },
        });
      }
      if (Date.now() > deadline) {
        throw new WharfError('UNAVAILABLE', `container ${cfg.id} did not start within ${timeoutMs} ms`);
      }
      await changes.next(25);
    }
    if (state.status === 'exited' && state.error) {
      if (session) await session.exit;
      throw new WharfError(state.errorCode ?? 'INTERNAL', `container ${cfg.id}: ${state.error}`, {
        details: { exitCode: state.exitCode, id: cfg.id },
      });
    }
    return { monitorPid, containerPid: state.pid, state, ...(session ? { session } : {}) };
  }
}

/**
 * The monitor (and the cleanup command it runs) never opens a TLS connection, and Node would read every certificate
 * in NODE_EXTRA_CA_CERTS before its first instruction, on the critical path of every container start.
 */
function monitorEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
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
    await sleep(delay);
  }
}

/** Connect to a monitor's attach socket and stream stdio until the container exits or the client detaches. */
export async function attach(socketPath: string, opts: AttachOptions): Promise<AttachSession> {
  const sock = net.createConnection(socketPath);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', (err) =>
      reject(new WharfError('UNAVAILABLE', `cannot attach: ${socketPath}: ${(err as Error).message}`, { cause: err })),
    );
  });
  let result: AttachExit | undefined;
  let finish: (r: AttachExit) => void = () => {};
  const exit = new Promise<AttachExit>((resolve) => (finish = resolve));
  const decoder = new FrameDecoder();
  const stdin = opts.stdin;
  const onStdin = (d: Buffer | string): void => {
    const buf = typeof d === 'string' ? Buffer.from(d) : d;
    if (opts.detachKeys && matcher(buf)) {
      session.detach();
      return;
    }
    for (const f of chunkFrames(Frame.STDIN, buf)) sock.write(f);
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
  sock.on('data', (chunk: Buffer) => {
    for (const { type, payload } of decoder.push(chunk)) {
      if (type === Frame.STDOUT) opts.stdout?.write(Buffer.from(payload));
      else if (type === Frame.STDERR) (opts.stderr ?? opts.stdout)?.write(Buffer.from(payload));
      else if (type === Frame.EXIT) {
        // The last frame: the session is over now, not when the socket has finished closing.
        result = JSON.parse(payload.toString('utf8')) as AttachExit;
        cleanup();
        finish(result);
      }
    }
  });
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

function detachMatcher(keys: Buffer | undefined): (b: Buffer) => boolean {
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
