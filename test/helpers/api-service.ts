/**
 * `wharf system service` for API tests: started on a temporary socket over a root, stopped by its PID, and a
 * `docker` runner (docker CLI 28) pointed at it with a private DOCKER_CONFIG.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WHARF_BIN, type CliResult } from './cli.js';

export interface ApiService {
  /** The socket's path; clients get `DOCKER_HOST=unix://<socket>`. */
  socket: string;
  pid: number;
  dockerConfig: string;
  log(): string;
  /** The docker CLI against the service; `env` adds to (or, with undefined values, removes from) its environment. */
  docker(
    args: string[],
    opts?: { input?: string | Buffer; env?: Record<string, string | undefined>; cwd?: string },
  ): Promise<CliResult>;
  stop(): Promise<void>;
}

/** Runs the docker CLI with a fixed environment, killed after `timeoutMs`. */
export function runDocker(
  args: string[],
  env: NodeJS.ProcessEnv,
  input: string | Buffer = '',
  cwd?: string,
  timeoutMs = 90_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { env, stdio: ['pipe', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** Starts the service on `<root>/api.sock` (or `uri`) and waits for its socket. */
export async function startApiService(root: string, extraArgs: string[] = []): Promise<ApiService> {
  const socket = path.join(root, 'api.sock');
  const dockerConfig = path.join(root, 'docker-config');
  mkdirSync(dockerConfig, { recursive: true });
  let log = '';
  const service: ChildProcess = spawn(
    WHARF_BIN,
    ['--root', root, 'system', 'service', '--time', '0', ...extraArgs, `unix://${socket}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  service.stderr!.on('data', (c: Buffer) => {
    if (log.length < 100_000) log += c.toString();
  });
  for (let i = 0; i < 200 && !existsSync(socket); i++) await sleep(50);
  assert.ok(existsSync(socket), `the service did not create its socket: ${log}`);
  return {
    socket,
    pid: service.pid!,
    dockerConfig,
    log: () => log,
    docker: (args, opts = {}) => {
      const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: dockerConfig };
      for (const [k, v] of Object.entries(opts.env ?? {})) {
        if (v === undefined) delete env[k];
        else env[k] = v;
      }
      return runDocker(args, env, opts.input ?? '', opts.cwd);
    },
    stop: async () => {
      if (service.exitCode !== null || service.signalCode !== null) return;
      const exited = new Promise((r) => service.once('exit', r));
      service.kill('SIGTERM');
      const straggler = setTimeout(() => service.kill('SIGKILL'), 10_000); // SIGTERM, then SIGKILL after 10 s
      await exited;
      clearTimeout(straggler);
    },
  };
}

/** One plain HTTP request to the service's socket: the status and the body as text. */
export function apiRequest(
  socket: string,
  method: string,
  urlPath: string,
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        socketPath: socket,
        method,
        path: urlPath,
        headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
