import { promises as fsp, readFileSync, rmSync, writeSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { atomicWriteFile, DirectoryWaiter, pidAlive, replaceFileSync, spawn, trace } from '../util/index.js';
import { Frame, FrameDecoder, chunkFrames, encodeFrame } from './attach-protocol.js';
import { JsonLogWriter, type LogStream } from './json-log.js';
import { monitorPaths, type MonitorConfig, type MonitorState } from './monitor-types.js';
import { classifyRuncError, runcErrorMessage, runcStateExists } from './runc.js';
import { OomWatch, removeEmptyCgroupParent } from './cgroup-v1.js';
import { signalNumber, spawnOnPipes, spawnOnPty, type RuncProcess } from './foreground.js';

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
/** How long a waitForAttach monitor keeps the container's output (and, on a terminal, its start) for a client. */
const ATTACH_WAIT_MS = 30_000;
/** Output held for the first client before the container has to wait (its pipes fill up). */
const HOLD_LIMIT = 1 << 20;
/** How long an exit waits for the first client's cleanup claim once it is connected (it sends it at once). */
const CLAIM_WAIT_MS = 5_000;

/**
 * The body of the per-container monitor (like podman's conmon): runs `runc run` in the foreground so that runc,
 * as the child subreaper, reports the container's exit status to us; writes json-file logs; serves the attach
 * socket; records state atomically; runs the cleanup command when the container is gone.
 */
export async function runMonitor(cfg: MonitorConfig): Promise<void> {
  const paths = monitorPaths(cfg.stateDir);
  const state: MonitorState = { id: cfg.id, status: 'starting', monitorPid: process.pid };
  // Synchronous (temp file, rename; no fsync: run-time state), so that the writes are ordered without a queue and
  // the exit's write does not wait for the thread pool.
  let notifyFd = cfg.notifyFd;
  const saveState = (): Promise<void> => {
    try {
      replaceFileSync(paths.state, JSON.stringify(state) + '\n', 0o644);
    } catch (err) {
      process.stderr.write(`monitor: cannot write ${paths.state}: ${String(err)}\n`);
    }
    if (notifyFd !== undefined) {
      try {
        writeSync(notifyFd, 's'); // one byte into a pipe the starter reads: it never fills
      } catch {
        notifyFd = undefined; // the reader is gone (EPIPE) or the fd is not open here
      }
    }
    return Promise.resolve();
  };

  const log = new JsonLogWriter(cfg.logPath);
  const clients = new Set<net.Socket>();
  /** Connected clients that will clean up after the exit themselves, with their PIDs. */
  const claimants = new Map<net.Socket, number>();
  let proc: RuncProcess | undefined;
  let exitFrame: Buffer | undefined;
  let firstClient: () => void = () => {};
  const firstClientSeen = new Promise<void>((resolve) => (firstClient = resolve));
  let firstSock: net.Socket | undefined;
  // Settles when the first client has claimed the cleanup or gone away: an early exit waits for it.
  let firstClaimSettled: () => void = () => {};
  const firstClaim = new Promise<void>((resolve) => (firstClaimSettled = resolve));
  const attachDeadline = Date.now() + ATTACH_WAIT_MS;
  const pendingStdin: Buffer[] = [];
  let pendingEof = false;
  /** Output kept for the first attach client while it is on its way (waitForAttach on pipes). */
  let held: Array<[Frame, Buffer]> | undefined = cfg.waitForAttach && !cfg.tty ? [] : undefined;
  let heldBytes = 0;
  let runcGone = false;

  const broadcast = (type: Frame, data: Buffer): void => {
    for (const c of clients) for (const f of chunkFrames(type, data)) c.write(f);
  };
  const onOutput = (stream: LogStream, data: Buffer): void => {
    log.write(stream, data);
    const type = stream === 'stdout' ? Frame.STDOUT : Frame.STDERR;
    if (held) {
      held.push([type, Buffer.from(data)]);
      heldBytes += data.length;
      // Once runc has exited, the rest is read whatever its size: it has to reach the log.
      if (heldBytes > HOLD_LIMIT && !runcGone) proc?.pauseOutput();
      return;
    }
    broadcast(type, data);
  };
  /** Hand the held output to the first client (or to nobody, when none came in time) and stream from now on. */
  const releaseHeld = (to?: net.Socket): void => {
    if (!held) return;
    if (to) for (const [type, data] of held) for (const f of chunkFrames(type, data)) to.write(f);
    held = undefined;
    heldBytes = 0;
    proc?.resumeOutput();
  };

  const server = net.createServer((sock) => {
    const drop = (): void => {
      clients.delete(sock);
      claimants.delete(sock);
      if (sock === firstSock) firstClaimSettled();
    };
    sock.on('error', drop);
    sock.on('close', drop);
    if (exitFrame) {
      sock.end(exitFrame);
      return;
    }
    if (!firstSock) {
      firstSock = sock;
      releaseHeld(sock);
    }
    clients.add(sock);
    firstClient();
    const decoder = new FrameDecoder();
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch {
        sock.destroy();
        return;
      }
      for (const { type, payload } of frames) {
        if (type === Frame.STDIN && cfg.openStdin) {
          if (proc) proc.writeStdin(Buffer.from(payload));
          else pendingStdin.push(Buffer.from(payload));
        } else if (type === Frame.STDIN_EOF && cfg.openStdin && (cfg.stdinOnce ?? true)) {
          if (proc) proc.endStdin();
          else pendingEof = true;
        } else if (type === Frame.CLAIM_CLEANUP) {
          try {
            const { pid } = JSON.parse(payload.toString('utf8')) as { pid: number };
            if (Number.isInteger(pid) && pid > 0) claimants.set(sock, pid);
          } catch {
            /* a malformed claim is ignored: the monitor then cleans up itself */
          }
          if (sock === firstSock) firstClaimSettled();
        } else if (type === Frame.RESIZE) {
          try {
            const { cols, rows } = JSON.parse(payload.toString('utf8')) as { cols: number; rows: number };
            if (cols > 0 && rows > 0) proc?.resize(cols, rows);
          } catch {
            /* a malformed resize is ignored */
          }
        }
      }
    });
  });
  const runcArgs = [
    '--root', cfg.runcRoot,
    '--log', paths.runcLog,
    '--log-format', 'json',
    'run', '--bundle', cfg.bundle, '--pid-file', paths.pidFile, cfg.id,
  ];
  const binary = cfg.runcBinary ?? 'runc';
  let spawnedAt = '';
  let spawnFailure: unknown;
  const startRunc = async (): Promise<void> => {
    // Synchronously: two unlinks, and each trip through the thread pool would delay the container's start.
    rmSync(paths.pidFile, { force: true });
    rmSync(paths.runcLog, { force: true });
    if (cfg.tty && cfg.consoleSize) await setConsoleSize(cfg.bundle, cfg.consoleSize);
    spawnedAt = new Date().toISOString();
    trace('runc spawn');
    try {
      proc = cfg.tty ? await spawnOnPty(binary, runcArgs, cfg, onOutput) : spawnOnPipes(binary, runcArgs, cfg, onOutput);
    } catch (err) {
      spawnFailure = err;
      return;
    }
    if (heldBytes > HOLD_LIMIT) proc.pauseOutput();
    for (const b of pendingStdin) proc.writeStdin(b);
    if (pendingEof || !cfg.openStdin) proc.endStdin();
  };

  // On pipes the container starts while the attach socket is set up: runc takes tens of milliseconds, and what
  // the container writes meanwhile is held for the first client. A terminal's client must be there first.
  const earlyStart = cfg.tty ? undefined : startRunc();
  try {
    await fsp.rm(paths.socket, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(paths.socket, () => resolve());
    });
  } catch (err) {
    // No socket, so no one can attach or learn of the exit: take the container that is already starting down.
    await earlyStart;
    await runQuiet(binary, ['--root', cfg.runcRoot, 'delete', '--force', cfg.id], 10_000);
    proc?.kill('SIGKILL');
    throw err;
  }
  // Before any "running" state (the pid watcher starts below): a client that reads running also reads attachReady.
  state.attachReady = true;
  await saveState();
  trace('monitor listening');
  if (earlyStart) {
    await earlyStart;
  } else {
    if (cfg.waitForAttach) await Promise.race([firstClientSeen, sleep(ATTACH_WAIT_MS)]);
    await startRunc();
  }
  // Nobody attached in time: the log has the output.
  if (held) setTimeout(() => releaseHeld(), Math.max(0, attachDeadline - Date.now())).unref();
  if (spawnFailure !== undefined || !proc) {
    const err = spawnFailure as Error | undefined;
    state.status = 'exited';
    state.exitCode = 128;
    state.error = `cannot run ${binary}: ${String(err?.message ?? err)}`;
    state.errorCode = 'UNAVAILABLE';
    state.finishedAt = new Date().toISOString();
    await log.close();
    await releaseRuntime();
    await saveState();
    await finish();
    return;
  }

  for (const sig of FORWARDED_SIGNALS) process.on(sig, () => proc?.kill(sig));

  let exited = false;
  void proc.exited.then(() => (exited = true));
  // runc writes the pid file once the container process exists; watch for it rather than parse runc's output.
  const pidFileChanges = new DirectoryWaiter(cfg.stateDir, { names: [path.basename(paths.pidFile)] });
  void (async () => {
    for (const until = Date.now() + 60_000; Date.now() < until && !exited; ) {
      const text = await fsp.readFile(paths.pidFile, 'utf8').catch(() => '');
      const pid = Number.parseInt(text, 10);
      if (pid > 0) {
        trace('pid file');
        if (state.status === 'starting') {
          state.pid = pid;
          state.startedAt = new Date().toISOString();
          state.status = 'running';
          await saveState();
        }
        return;
      }
      await pidFileChanges.next(10);
    }
  })().finally(() => pidFileChanges.close());

  const oom = cfg.watchOom ? await OomWatch.start(cfg.bundle) : undefined;

  let spawnError: unknown;
  const status = await proc.exited.catch((err: unknown) => {
    spawnError = err;
    return 127;
  });
  trace('runc exited');
  runcGone = true;
  proc.resumeOutput(); // paused for a client that has not come yet: the tail must still reach the log
  await Promise.race([proc.drained, sleep(2000)]);
  if (oom && (await oom.stop(status))) state.oomKilled = true;
  const runcLog = readTextIfAny(paths.runcLog);
  const failure = /"level":"(error|fatal)"/.test(runcLog) ? runcErrorMessage(runcLog) : '';
  state.finishedAt = new Date().toISOString();
  if (spawnError !== undefined) {
    state.exitCode = 127;
    state.error = `cannot run ${binary}: ${spawnError instanceof Error ? spawnError.message : String(spawnError)}`;
    state.errorCode = 'UNAVAILABLE';
  } else if (failure && state.status !== 'running') {
    const { code, exitCode } = classifyRuncError(failure);
    state.exitCode = exitCode;
    state.error = failure;
    state.errorCode = code;
  } else if (failure && /unable to start container process/.test(failure)) {
    // The pid file can exist before exec fails (e.g. permission denied): still a start failure.
    const { code, exitCode } = classifyRuncError(failure);
    state.exitCode = exitCode;
    state.error = failure;
    state.errorCode = code;
  } else {
    state.exitCode = status;
    if (state.status === 'starting') {
      // Exited before we saw the pid file: a fast command.
      const pid = Number.parseInt(await fsp.readFile(paths.pidFile, 'utf8').catch(() => ''), 10);
      if (pid > 0) state.pid = pid;
      state.startedAt = spawnedAt;
    }
  }
  state.status = 'exited';
  await log.close();
  await releaseRuntime();
  // A container that exited before its client attached (or claimed): the client is on its way, give it the time
  // it was promised, so that it gets the output and does the cleanup it meant to.
  // Not for a client process that is gone (a CLI killed during the start): its exit is recorded at once then.
  while (cfg.waitForAttach && !firstSock && Date.now() < attachDeadline && (cfg.attachClientPid === undefined || pidAlive(cfg.attachClientPid))) {
    await Promise.race([firstClientSeen, sleep(100)]);
  }
  if (cfg.attachClaimsCleanup && firstSock) await Promise.race([firstClaim, sleep(CLAIM_WAIT_MS)]);
  // One state write for the exit and the hand-over: the attached client's claim is recorded with the exit.
  const claimant = liveClaimant();
  if (claimant) state.cleanupBy = claimant[1];
  await saveState();
  trace('exit state saved');
  await finish(claimant);

  function liveClaimant(): [net.Socket, number] | undefined {
    return [...claimants].find(([sock]) => !sock.destroyed);
  }

  async function releaseRuntime(): Promise<void> {
    // runc run removes the container on exit; a failure half-way can leave it behind.
    if (await runcStateExists(cfg.runcRoot, cfg.id)) {
      await runQuiet(binary, ['--root', cfg.runcRoot, 'delete', '--force', cfg.id], 10_000);
    }
    removeEmptyCgroupParent(cfg.bundle);
  }

  async function finish(claimed?: [net.Socket, number]): Promise<void> {
    const exitInfo = { exitCode: state.exitCode, error: state.error, errorCode: state.errorCode };
    const claimant = claimed && !claimed[0].destroyed ? claimed : undefined;
    if (claimed && !claimant) {
      delete state.cleanupBy; // the client went away since: the monitor cleans up after all
      await saveState();
    }
    if (claimant) {
      // The attached client cleans up: everything this process writes to the state dir is written before the
      // exit frame, since the client may remove the whole directory as soon as it has read it.
      const [sock] = claimant;
      const closed = new Promise<void>((resolve) => {
        server.close(() => resolve());
        setTimeout(resolve, 2000).unref();
      });
      rmSync(paths.socket, { force: true });
      exitFrame = encodeFrame(Frame.EXIT, JSON.stringify(exitInfo));
      const delegated = encodeFrame(Frame.EXIT, JSON.stringify({ ...exitInfo, cleanupDelegated: true }));
      for (const c of clients) c.end(c === sock ? delegated : exitFrame);
      await closed;
      return;
    }
    if (cfg.cleanup && cfg.cleanup.length > 0) {
      const res = await runQuiet(cfg.cleanup[0]!, cfg.cleanup.slice(1), cfg.cleanupTimeoutMs ?? 60_000);
      if (res !== 0) state.cleanupError = `cleanup command exited with ${res}`;
    }
    exitFrame = encodeFrame(Frame.EXIT, JSON.stringify(exitInfo));
    for (const c of clients) c.end(exitFrame);
    // Stop accepting before the final state, so that whoever waits for it finds no socket; attached clients keep
    // their connection until they have read the exit frame.
    const closed = new Promise<void>((resolve) => {
      server.close(() => resolve());
      setTimeout(resolve, 2000).unref();
    });
    rmSync(paths.socket, { force: true });
    state.cleanedUp = true;
    await saveState();
    await closed;
  }
}

/**
 * runc gives the container's pty its size only after the process started; the spec's consoleSize is there from the
 * first instruction, so a `stty size` at once is right. The client's terminal size is known only now.
 */
async function setConsoleSize(bundle: string, size: { cols: number; rows: number }): Promise<void> {
  const file = path.join(bundle, 'config.json');
  const spec = JSON.parse(await fsp.readFile(file, 'utf8')) as { process?: { consoleSize?: { width: number; height: number } } };
  if (!spec.process) return;
  spec.process.consoleSize = { width: size.cols, height: size.rows };
  await atomicWriteFile(file, JSON.stringify(spec, null, 2), 0o644, { durable: false });
}

/** A small file's text, '' when it is missing (read synchronously: see removeEmptyCgroupParent). */
function readTextIfAny(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Where runc's and the cleanup command's own output goes: the monitor's stderr, or monitor.log for a standby. */
let logFd: number | 'inherit' = 'inherit';
export function setMonitorLogFd(fd: number): void {
  logFd = fd;
}

function runQuiet(file: string, args: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', logFd, logFd] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(-1);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? 128 + signalNumber(signal));
    });
  });
}

