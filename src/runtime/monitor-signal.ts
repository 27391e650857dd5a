import type * as Net from 'node:net';
import type * as Os from 'node:os';
import { lazyBuiltin } from '../util/index.js';
import { Frame, FrameSplitter, encodeFrame } from './attach-protocol.js';

const net = lazyBuiltin<typeof Net>('node:net');
const os = lazyBuiltin<typeof Os>('node:os');

/** What a SIGNAL frame achieved: sent; the container has exited already; or not done (the caller asks runc). */
export type MonitorSignalResult = 'sent' | 'exited' | 'unavailable';

/** The number of a signal as runc takes it (`SIGKILL`, `KILL`, `9`); undefined for what only runc parses (`RTMIN+3`). */
export function signalNumberOf(signal: string): number | undefined {
  if (/^\d+$/.test(signal)) {
    const n = Number(signal);
    return n > 0 && n <= 64 ? n : undefined;
  }
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof Os.constants.signals;
  return os().constants.signals[name];
}

/** The monitor's answer to a SIGNAL frame (`{"sent":true}` or `{"sent":false,"errno":"ESRCH"}`) as a result. */
export function signalAnswer(payload: string): MonitorSignalResult {
  try {
    const a = JSON.parse(payload) as { sent?: boolean; errno?: string };
    if (a.sent === true) return 'sent';
    return a.errno === 'ESRCH' ? 'exited' : 'unavailable';
  } catch {
    return 'unavailable';
  }
}

/**
 * A signal for a running container's init, sent by its monitor (which holds the init by a pidfd) on request over a
 * connection of its own to the attach socket: the same kill(2) as `runc kill` without the exec of a Go binary
 * (10–20 ms here, most of `rm -f` after Node's start-up). Only for a monitor whose state says `signalFrames` (an
 * older one would never answer). The connection is closed as soon as the answer (or the exit frame: the container
 * has exited) is in, so that the monitor never waits for it at the exit; 'unavailable' when it could not be asked.
 */
export async function signalThroughMonitor(socketPath: string, signal: string): Promise<MonitorSignalResult> {
  const n = signalNumberOf(signal);
  if (n === undefined) return 'unavailable';
  return new Promise<MonitorSignalResult>((resolve) => {
    const sock = net().createConnection({ path: socketPath });
    const splitter = new FrameSplitter();
    let parts: Buffer[] = [];
    const done = (r: MonitorSignalResult): void => {
      sock.destroy();
      resolve(r); // the first call wins: a close after the answer changes nothing
    };
    sock.on('error', () => done('unavailable'));
    sock.on('close', () => done('unavailable'));
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const { type, payload, last } of splitter.push(chunk)) {
          if (type === Frame.EXIT) return done('exited');
          if (type !== Frame.SIGNAL) continue; // the container's output, broadcast to every client
          parts.push(Buffer.from(payload));
          if (!last) continue;
          const answer = Buffer.concat(parts).toString('utf8');
          parts = [];
          return done(signalAnswer(answer));
        }
      } catch {
        done('unavailable'); // a frame over the protocol's limit
      }
    });
    sock.write(encodeFrame(Frame.SIGNAL, JSON.stringify({ signal: n })));
  });
}
