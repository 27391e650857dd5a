import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Os from 'node:os';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import type { OciProcess } from './oci-spec.js';
import { classifyRuncError, runcErrorMessage, type Runc } from './runc.js';
import { detachMatcher } from './monitor.js';
import { makeExecScratch } from './exec-scratch.js';
import { FlowGate, lazyBuiltin, spawn } from '../util/index.js';

const os = lazyBuiltin<typeof Os>('node:os'); // on first use: node:os costs ~1 ms of start-up

/**
 * node-pty, loaded on first use (only `exec -t` needs it: a container's own terminal is the monitor's). Through
 * require, not import(): the CLI bundle is a script compiled from V8's code cache, and Node 20 drops a script's
 * dynamic-import callback when it comes from the cache.
 */
function ptyModule(): typeof import('node-pty') {
  return createRequire(import.meta.url)('node-pty') as typeof import('node-pty');
}

/** The number of a signal by name (0 for none): a process killed by it exits "128 + n", as a shell reports. */
export function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (os().constants.signals[signal] ?? 0) : 0;
}

export interface ExecInContainerOptions {
  runc: Runc;
  id: string;
  /** The process to run (see buildExecProcess); `terminal` selects pipes or a pseudo-terminal. */
  process: OciProcess;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** `exec -d`: start and return at once; output goes nowhere. */
  detach?: boolean;
  consoleSize?: { cols: number; rows: number };
  /** With a terminal and stdin: the key sequence that detaches the caller and leaves the process running. */
  detachKeys?: Buffer;
}

export interface ExecHandle {
  /** The caller detached (`detachKeys`): `exit` resolved with 0 while the process runs on. */
  detached?: boolean;
  /** Host PID of runc (foreground) or of the exec'd process (detached). */
  pid: number;
  /** The process's exit code (0 at once for detached execs). */
  exit: Promise<number>;
  resize(cols: number, rows: number): void;
  kill(signal: NodeJS.Signals): void;
}

/** `runc exec` into a running container; errors such as a missing command reject `exit` with a WharfError. */
export async function startExec(opts: ExecInContainerOptions): Promise<ExecHandle> {
  const tmp = await makeExecScratch(os().tmpdir());
  const processFile = path.join(tmp, 'process.json');
  const logFile = path.join(tmp, 'runc.log');
  const pidFile = path.join(tmp, 'pid');
  const proc: OciProcess = { ...opts.process, terminal: opts.detach ? false : opts.process.terminal };
  await fsp.writeFile(processFile, JSON.stringify(proc));
  const args = opts.runc.args(
    '--log',
    logFile,
    '--log-format',
    'json',
    'exec',
    '--process',
    processFile,
    '--pid-file',
    pidFile,
  );
  if (opts.detach) args.push('--detach');
  args.push(opts.id);

  const failure = async (code: number): Promise<number> => {
    const log = await fsp.readFile(logFile, 'utf8').catch(() => '');
    await fsp.rm(tmp, { recursive: true, force: true });
    if (code !== 0 && /"level":"(error|fatal)"/.test(log)) {
      const msg = runcErrorMessage(log);
      if (/unable to start container process|exec failed|does not exist|not running|cannot exec/.test(msg)) {
        const c = classifyRuncError(msg);
        throw new WharfError(c.code === 'INTERNAL' ? 'FAILED_PRECONDITION' : c.code, `exec in ${opts.id}: ${msg}`, {
          details: { exitCode: c.exitCode === 128 ? 126 : c.exitCode, id: opts.id },
        });
      }
    }
    return code;
  };

  if (proc.terminal) {
    const pty = ptyModule();
    // runc copies the container's terminal to ours before it makes ours raw (its recvtty): output written at once
    // (`tty; echo hi`) went through our terminal's ONLCR too, "\r\r\n". The terminal is made raw first, by stty on
    // it, then the shell becomes runc (the same pid).
    const term = pty.spawn('/bin/sh', ['-c', 'stty raw -echo 2>/dev/null; exec "$0" "$@"', opts.runc.binary, ...args], {
      cols: opts.consoleSize?.cols ?? 80,
      rows: opts.consoleSize?.rows ?? 24,
      env: process.env as Record<string, string>,
      encoding: null,
      name: 'xterm',
    });
    const gate = new FlowGate(
      () => term.pause(),
      () => term.resume(),
    );
    term.onData((d: string | Buffer) => gate.write(opts.stdout, typeof d === 'string' ? Buffer.from(d) : d));
    const matcher = detachMatcher(opts.detachKeys);
    let detach: () => void = () => {};
    const onIn = (d: Buffer | string): void => {
      const buf = typeof d === 'string' ? Buffer.from(d) : Buffer.from(d);
      const keys = opts.detachKeys;
      if (keys) {
        for (let i = 0; i < buf.length; i++) {
          if (!matcher(buf.subarray(i, i + 1))) continue;
          // What was typed before the sequence still goes to the process.
          const before = buf.subarray(0, Math.max(0, i + 1 - keys.length));
          if (before.length) term.write(before);
          detach();
          return;
        }
      }
      term.write(buf);
    };
    opts.stdin?.on('data', onIn);
    const exit = new Promise<number>((resolve) => {
      detach = () => {
        // The terminal must outlive this process, or its hang-up would end runc and the exec'd process: a `cat`
        // of our own keeps the pty's master open and drains what the process writes (no one reads it now, as with
        // Docker's detached exec), until runc exits and closes the other side.
        const master = (term as unknown as { _fd: number })._fd;
        const holder = spawn('cat', [], { stdio: [master, 'ignore', 'ignore'], detached: true });
        holder.on('error', () => {});
        holder.unref();
        opts.stdin?.off('data', onIn);
        opts.stdin?.pause();
        handle.detached = true;
        void fsp.rm(tmp, { recursive: true, force: true });
        // Close our side without node-pty's destroy(), which would send the process group a SIGHUP.
        (term as unknown as { _socket: { destroy(): void } })._socket.destroy();
        resolve(0);
      };
      term.onExit(({ exitCode, signal }) => {
        opts.stdin?.off('data', onIn);
        opts.stdin?.pause();
        // Output still in the pty buffer arrives just after the exit event.
        setTimeout(() => resolve(signal ? 128 + signal : exitCode), 50);
      });
    }).then((code) => (handle.detached ? 0 : failure(code)));
    const handle: ExecHandle = {
      pid: term.pid,
      exit,
      resize: (c, r) => {
        try {
          term.resize(c, r);
        } catch {
          /* gone */
        }
      },
      kill: (sig) => {
        try {
          process.kill(term.pid, sig);
        } catch {
          /* gone */
        }
      },
    };
    return handle;
  }

  const child = spawn(opts.runc.binary, args, {
    stdio: [
      opts.stdin && !opts.detach ? 'pipe' : 'ignore',
      opts.detach ? 'ignore' : 'pipe',
      opts.detach ? 'ignore' : 'pipe',
    ],
  });
  if (child.stdin && opts.stdin) {
    child.stdin.on('error', () => {});
    opts.stdin.pipe(child.stdin);
  }
  const outDone = Promise.all(
    [
      [child.stdout, opts.stdout],
      [child.stderr, opts.stderr ?? opts.stdout],
    ].map(
      ([from, to]) =>
        new Promise<void>((resolve) => {
          if (!from) return resolve();
          // Read runc's pipe only as fast as `to` takes it: the process then blocks on its full pipe.
          const gate = new FlowGate(
            () => (from as Readable).pause(),
            () => (from as Readable).resume(),
          );
          (from as Readable).on('data', (d: Buffer) => {
            const text = d.toString('utf8');
            if (from === child.stderr && /^runc exec failed: /m.test(text)) {
              const kept = text
                .split(/(?<=\n)/)
                .filter((l) => !/^runc exec failed: /.test(l))
                .join('');
              if (kept) gate.write(to as Writable | undefined, kept);
              return;
            }
            gate.write(to as Writable | undefined, d);
          });
          (from as Readable).on('end', resolve);
          (from as Readable).on('error', () => resolve());
        }),
    ),
  );
  const exit = new Promise<number>((resolve, reject) => {
    child.on('error', (err) => reject(new WharfError('UNAVAILABLE', `cannot run ${opts.runc.binary}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (opts.stdin) opts.stdin.unpipe();
      resolve(code ?? 128 + signalNumber(signal));
    });
  })
    .then(async (code) => {
      await outDone;
      if (opts.detach && code === 0) {
        const pid = Number.parseInt(await fsp.readFile(pidFile, 'utf8').catch(() => ''), 10);
        handle.pid = pid > 0 ? pid : handle.pid;
      }
      return code;
    })
    .then(failure);
  const handle: ExecHandle = {
    pid: child.pid ?? -1,
    exit,
    resize: () => {},
    kill: (sig) => {
      try {
        child.kill(sig);
      } catch {
        /* gone */
      }
    },
  };
  if (opts.detach) await exit.catch(() => undefined);
  return handle;
}

/** Run a process in a container to completion and return its exit code. */
export async function execInContainer(opts: ExecInContainerOptions): Promise<number> {
  return (await startExec(opts)).exit;
}
