/** `wharf registry serve` as a user starts it, on a free loopback port, stopped by its PID. */
import { spawn } from 'node:child_process';
import { WHARF_BIN } from './cli.js';

export interface ServedRegistry {
  /** host:port, as a reference domain ('127.0.0.1:40123'). */
  host: string;
  pid: number;
  /** SIGTERM (the server finishes the requests in flight), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/**
 * Serves the registry of the Wharf root `root` (its data under `<root>/registry`) on 127.0.0.1, port chosen by the
 * kernel; `extraArgs` go to `registry serve` (e.g. `--config FILE`).
 */
export async function serveRegistry(
  root: string,
  timeoutMs = 60_000,
  extraArgs: string[] = [],
): Promise<ServedRegistry> {
  const server = spawn(WHARF_BIN, ['--root', root, 'registry', 'serve', '--addr', '127.0.0.1:0', ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    server.kill('SIGTERM');
    const straggler = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(straggler);
  };
  try {
    const host = await new Promise<string>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`wharf registry serve did not start:\n${err}`)), timeoutMs);
      server.stderr!.setEncoding('utf8').on('data', (s: string) => {
        if (err.length < 20_000) err += s;
        const m = /registry listening on https?:\/\/([\w.:[\]]+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      server.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`wharf registry serve exited with ${code}:\n${err}`));
      });
    });
    return { host, pid: server.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
