import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pushImage, sha256 } from './helpers.js';

async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('registry with several worker processes', () => {
  it('serves one store from two workers and stops them all on SIGTERM', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-reg-cluster-'));
    const port = await freePort();
    const cfg = path.join(dir, 'config.yml');
    await fsp.writeFile(
      cfg,
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n  workers: 2\n`,
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.resolve('test/integration/registry/registry-main.ts'), cfg],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start in 30s: ${stderr}`)), 30_000);
        child.stdout!.setEncoding('utf8').on('data', (c: string) => {
          const m = /listening (\S+)/.exec(c);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      assert.equal(url, `http://127.0.0.1:${port}`);
      const imgs = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          pushImage(url, `cl/app${i % 2}`, `t${i}`, { layers: [randomBytes(50_000)] }),
        ),
      );
      // Requests land on either worker; every one sees the same data.
      const pids = new Set<string>();
      for (const [i, img] of imgs.entries()) {
        const res = await fetch(`${url}/v2/cl/app${i % 2}/manifests/t${i}`, { headers: { Connection: 'close' } });
        assert.equal(sha256(Buffer.from(await res.arrayBuffer())), img.digest);
        const blob = await fetch(`${url}/v2/cl/app${i % 2}/blobs/${img.layers[0]!.digest}`, {
          headers: { Connection: 'close' },
        });
        assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), img.layers[0]!.digest);
      }
      for (const line of stderr.split('\n')) if (line.includes('"GET /v2/cl/')) pids.add(line);
      assert.ok(pids.size > 0);
      const catalog = (await (await fetch(`${url}/v2/_catalog`)).json()) as { repositories: string[] };
      assert.deepEqual(catalog.repositories, ['cl/app0', 'cl/app1']);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await fsp.rm(dir, { recursive: true, force: true });
    }
    await assert.rejects(fetch(`http://127.0.0.1:${port}/v2/`), 'the workers are gone too');
  });
});
