/** Real peers for transfer tests: Debian's reference registry (distribution v2.8) and a fault-injecting proxy, on loopback. */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import bcrypt from 'bcryptjs';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ReferenceRegistry {
  /** '127.0.0.1:PORT', usable as a reference domain. */
  host: string;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** `docker-registry serve` on a free loopback port with filesystem storage in a temp dir; htpasswd auth when users are given. */
export async function startReferenceRegistry(
  opts: { users?: Record<string, string> } = {},
): Promise<ReferenceRegistry> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-refreg-'));
  let child: ChildProcess | undefined;
  let stderr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const lines = [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
    ];
    if (opts.users) {
      const ht = Object.entries(opts.users)
        .map(([u, p]) => `${u}:${bcrypt.hashSync(p, 6)}`)
        .join('\n');
      await fsp.writeFile(path.join(dir, 'htpasswd'), ht + '\n');
      lines.push('auth:', '  htpasswd:', '    realm: wharf-test', `    path: ${path.join(dir, 'htpasswd')}`);
    }
    const cfg = path.join(dir, 'config.yml');
    await fsp.writeFile(cfg, lines.join('\n') + '\n');
    child = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (c: Buffer) => {
      if (stderr.length < 20_000) stderr += c.toString();
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      const up = await fetch(`${url}/v2/`).then(
        (r) => r.status === 200 || r.status === 401,
        () => false,
      );
      if (up) {
        const c = child;
        return {
          host: `127.0.0.1:${port}`,
          url,
          dir,
          async stop() {
            if (c.exitCode === null && c.pid) {
              const exited = new Promise((r) => c.once('exit', r));
              process.kill(c.pid, 'SIGTERM');
              await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
              if (c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
            }
            await fsp.rm(dir, { recursive: true, force: true });
          },
        };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  }
  await fsp.rm(dir, { recursive: true, force: true });
  throw new Error(`docker-registry did not start: ${stderr.slice(-2000)}`);
}

/** What the proxy does with one upstream answer. */
export type ProxyAction =
  | { kind: 'pass' }
  /** Send the headers and the first `bytes` bytes of the body, then drop the connection (0: drop before the headers). */
  | { kind: 'cut'; bytes: number }
  /** Flip one byte of the body at `offset`. */
  | { kind: 'flip'; offset: number };

export interface ProxyRequestLog {
  method: string;
  url: string;
  range?: string;
  status: number;
}

export interface FaultProxy {
  host: string;
  log: ProxyRequestLog[];
  setRule(rule: (req: http.IncomingMessage, status: number) => ProxyAction): void;
  stop(): Promise<void>;
}

/** An HTTP proxy on 127.0.0.1 in front of `upstream` (host:port) that can cut or corrupt chosen responses. */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const [uhost, uport] = upstream.split(':') as [string, string];
  let rule: (req: http.IncomingMessage, status: number) => ProxyAction = () => ({ kind: 'pass' });
  const log: ProxyRequestLog[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: uhost, port: Number(uport), method: req.method, path: req.url, headers: req.headers },
      (ures) => {
        log.push({
          method: req.method!,
          url: req.url!,
          ...(req.headers.range ? { range: String(req.headers.range) } : {}),
          status: ures.statusCode!,
        });
        const action = rule(req, ures.statusCode!);
        if (action.kind === 'cut' && action.bytes === 0) {
          // Drop the connection before the client sees any answer.
          ures.destroy();
          res.socket?.destroy();
          return;
        }
        res.writeHead(ures.statusCode!, ures.headers);
        if (action.kind === 'pass') {
          ures.pipe(res);
          return;
        }
        let seen = 0;
        ures.on('data', (c: Buffer) => {
          if (action.kind === 'cut') {
            const room = action.bytes - seen;
            if (room > 0) res.write(room >= c.length ? c : c.subarray(0, room));
            seen += c.length;
            if (seen >= action.bytes) {
              ures.destroy();
              res.socket?.destroy();
            }
            return;
          }
          if (action.offset >= seen && action.offset < seen + c.length) {
            c = Buffer.from(c);
            c[action.offset - seen] = c[action.offset - seen]! ^ 0xff;
          }
          seen += c.length;
          res.write(c);
        });
        ures.on('end', () => res.end());
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    log,
    setRule(r) {
      rule = r;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
