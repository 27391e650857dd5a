/** runc run/exec in the foreground, its stdio on pipes or on a pseudo-terminal (node-pty). */
import type * as Os from 'node:os';
import { createRequire } from 'node:module';
import type { LogStream } from './json-log.js';
import type { MonitorConfig } from './monitor-types.js';
import { lazyBuiltin, spawn } from '../util/index.js';

const os = lazyBuiltin<typeof Os>('node:os'); // on first use: node:os costs ~1 ms of start-up

/** The smallest interface over "runc run in the foreground", whether on pipes or on a pty. */
export interface RuncProcess {
  pid: number;
  exited: Promise<number>;
  writeStdin(data: Buffer): void;
  endStdin(): void;
  resize(cols: number, rows: number): void;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when all output has been read. */
  drained: Promise<void>;
  /** Stop reading the output for a while (the container blocks once the pipes are full); a pty always reads. */
  pauseOutput(): void;
  resumeOutput(): void;
}

export function spawnOnPipes(
  binary: string,
  args: string[],
  cfg: MonitorConfig,
  onOutput: (s: LogStream, d: Buffer) => void,
): RuncProcess {
  const child = spawn(binary, args, {
    cwd: cfg.bundle,
    stdio: [cfg.openStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
  });
  let stdinEnded = false;
  child.stdin?.on('error', () => {});
  const drained = Promise.all(
    (['stdout', 'stderr'] as const).map(
      (s) =>
        new Promise<void>((resolve) => {
          const stream = child[s]!;
          stream.on('data', (d: Buffer) => onOutput(s, filterRuncLine(s, d)));
          stream.on('end', resolve);
          stream.on('error', () => resolve());
        }),
    ),
  ).then(() => undefined);
  return {
    pid: child.pid ?? -1,
    exited,
    drained,
    writeStdin: (d) => {
      if (!stdinEnded) child.stdin?.write(d);
    },
    endStdin: () => {
      if (!stdinEnded) {
        stdinEnded = true;
        child.stdin?.end();
      }
    },
    resize: () => {},
    pauseOutput: () => {
      child.stdout?.pause();
      child.stderr?.pause();
    },
    resumeOutput: () => {
      child.stdout?.resume();
      child.stderr?.resume();
    },
    kill: (sig) => {
      try {
        child.kill(sig);
      } catch {
        /* already gone */
      }
    },
  };
}

/**
 * runc prints its own fatal error to its stderr, which in the foreground is the container's stderr; the same message
 * is in runc's log file, where we read it, so drop it here.
 */
function filterRuncLine(stream: LogStream, d: Buffer): Buffer {
  if (stream !== 'stderr') return d;
  const text = d.toString('utf8');
  if (!text.includes('runc run failed: ') && !text.includes('runc exec failed: ')) return d;
  return Buffer.from(
    text
      .split(/(?<=\n)/)
      .filter((l) => !/^runc (run|exec) failed: /.test(l))
      .join(''),
  );
}

/**
 * node-pty, loaded on first use (only ttys need it). Through require, not import(): the CLI bundle is a script
 * compiled from V8's code cache, and Node 20 drops a script's dynamic-import callback when it comes from the cache.
 */
export function ptyModule(): typeof import('node-pty') {
  return createRequire(import.meta.url)('node-pty') as typeof import('node-pty');
}

export async function spawnOnPty(
  binary: string,
  args: string[],
  cfg: MonitorConfig,
  onOutput: (s: LogStream, d: Buffer) => void,
): Promise<RuncProcess> {
  const pty = ptyModule();
  // With process.terminal=true and no --detach, runc makes the container's pty itself and copies between it and
  // its own stdio, which is this pty: so the container sees a real terminal and Node never needs SCM_RIGHTS.
  const term = pty.spawn(binary, args, {
    cwd: cfg.bundle,
    cols: cfg.consoleSize?.cols ?? 80,
    rows: cfg.consoleSize?.rows ?? 24,
    env: process.env as Record<string, string>,
    encoding: null,
    name: 'xterm',
  });
  let done: () => void = () => {};
  const drained = new Promise<void>((resolve) => (done = resolve));
  term.onData((d: string | Buffer) => onOutput('stdout', typeof d === 'string' ? Buffer.from(d) : d));
  const exited = new Promise<number>((resolve) => {
    term.onExit(({ exitCode, signal }) => {
      // node-pty stops reading at exit; give the last bytes a moment to arrive.
      setTimeout(done, 100);
      resolve(signal ? 128 + signal : exitCode);
    });
  });
  return {
    pid: term.pid,
    exited,
    drained,
    writeStdin: (d) => term.write(d),
    endStdin: () => {},
    pauseOutput: () => {},
    resumeOutput: () => {},
    resize: (cols, rows) => {
      try {
        term.resize(cols, rows);
      } catch {
        /* the pty is gone */
      }
    },
    kill: (sig) => {
      try {
        process.kill(term.pid, sig);
      } catch {
        /* already gone */
      }
    },
  };
}

/** The number of a signal by name (0 for none): a process killed by it exits "128 + n", as a shell reports. */
export function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (os().constants.signals[signal] ?? 0) : 0;
}

