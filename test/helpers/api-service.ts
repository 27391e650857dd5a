/** `wharf system service` on a temporary unix socket over a test's root, stopped by its PID. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WHARF_BIN } from './cli.js';

export interface ApiService {
  /** The socket's path; clients get `DOCKER_HOST=unix://<socket>`. */
  socket: string;
  pid: number;
  /** What the service printed on stderr so far (failed requests), for assertion messages. */
  log(): string;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

export async function startApiService(root: string, socketName = 'api.sock'): Promise<ApiService> {
  const socket = path.join(root, socketName);
  const child = spawn(WHARF_BIN, ['--root', root, 'system', 'service', '--time', '0', `unix://${socket}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (log.length < 100_000) log += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const straggler = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(straggler);
  };
  for (let i = 0; i < 200 && !existsSync(socket) && child.exitCode === null; i++) await sleep(50);
  if (!existsSync(socket)) {
    await stop();
    throw new Error(`wharf system service did not create its socket:\n${log}`);
  }
  return { socket, pid: child.pid!, log: () => log, stop };
}
