/** Shared set-up for container tests: a private root with the busybox image, and leftover checks. */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { ok, tempRoot, type CliResult } from '../../helpers/cli.js';

export type Cli = (
  args: string[],
  opts?: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string },
) => Promise<CliResult>;

export interface Fixture {
  root: string;
  cli: Cli;
  cleanup: () => Promise<void>;
}

/** A root with `busybox` imported (with /var/www/index.html and a VOLUME-less config, CMD sh). */
export async function withBusybox(
  prefix: string,
  extra?: (rootfs: string) => Promise<void>,
  changes: string[] = [],
): Promise<Fixture> {
  const t = await tempRoot(prefix);
  const tar = await makeBusyboxTar(t.root, async (rootfs) => {
    await fsp.writeFile(path.join(rootfs, 'var/www/index.html'), 'hello from wharf\n');
    if (extra) await extra(rootfs);
  });
  ok(
    await t.cli(['import', '-c', 'CMD ["sh"]', ...changes.flatMap((c) => ['-c', c]), tar, 'busybox']),
    'import busybox',
  );
  await fsp.rm(tar);
  const cleanup = async (): Promise<void> => {
    // Remove every container first (stops monitors, releases networks), then the files.
    const ids = (await t.cli(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await t.cli(['rm', '-f', '-v', ...ids]);
    await t.cleanup();
  };
  return { root: t.root, cli: t.cli, cleanup };
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export function httpGet(port: number, urlPath = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** Retry a GET until the server inside the container answers (bounded). */
export async function fetchWithRetry(port: number, urlPath = '/'): Promise<{ status: number; body: string }> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      return await httpGet(port, urlPath);
    } catch (err) {
      last = err;
      await sleep(100);
    }
  }
  throw last;
}

/** Nothing of the container may remain: record dir, run-time dir, mounts, netns, iptables rules. */
export async function assertNothingLeft(root: string, id: string): Promise<void> {
  await assert.rejects(fsp.stat(path.join(root, 'containers', id)), `containers/${id.slice(0, 12)} is gone`);
  await assert.rejects(fsp.stat(path.join(root, 'run', 'c', id.slice(0, 12))), 'run-time dir is gone');
  const mounts = execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' });
  assert.ok(!mounts.includes(id), 'no mount of the container');
  await assert.rejects(fsp.stat(`/var/run/netns/wharf-${id}`), 'no netns');
  const rules = execFileSync('iptables-save', [], { encoding: 'utf8' });
  assert.ok(!rules.includes(id), 'no iptables rule names the container');
}

/** Wait (bounded) until `cond` holds. */
export async function until(cond: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}
