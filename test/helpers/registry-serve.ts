/** `wharf registry serve` as a user starts it, on a free loopback port, stopped by its PID. */
import { spawn } from 'node:child_process';
import { WHARF_BIN } from './cli.js';

export interface ServedRegistry {
  /** host:port, as a reference domain ('127.0.0.1:40123'). */
  host: string;
  pid: number;
  /** SIGTERM (the server finishes the requests in flight), SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** SIGKILL now (crash tests); resolves once the process is gone. */
  kill(): Promise<void>;
  /** What the server wrote to stderr so far (access log, errors), up to 200 kB. */
  stderr(): string;
}

export interface ServeOptions {
  /** `--addr`; default 127.0.0.1:0 (a replica test gives each its own loopback address). */
  addr?: string;
  /** `--config`: a YAML file. */
  config?: string;
}

/** Serves the registry of the Wharf root `root` (its data under `<root>/registry`) on 127.0.0.1, port chosen by the kernel. */
export async function serveRegistry(
  root: string,
  timeoutMs = 60_000,
  opts: ServeOptions = {},
): Promise<ServedRegistry> {
  const args = ['--root', root, 'registry', 'serve', '--addr', opts.addr ?? '127.0.0.1:0'];
  if (opts.config !== undefined) args.push('--config', opts.config);
  const server = spawn(WHARF_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  let err = '';
  server.stderr!.setEncoding('utf8').on('data', (s: string) => {
    if (err.length < 200_000) err += s;
  });
  const stop = async (): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    server.kill('SIGTERM');
    const straggler = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(straggler);
  };
  try {
    const host = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`wharf registry serve did not start:\n${err}`)), timeoutMs);
      server.stderr!.on('data', () => {
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
    const kill = async () => {
      if (server.exitCode !== null || server.signalCode !== null) return;
      server.kill('SIGKILL');
      await exited;
    };
    return { host, pid: server.pid!, stop, kill, stderr: () => err };
  } catch (err) {
    await stop();
    throw err;
  }
}
