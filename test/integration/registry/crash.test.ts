import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { sha256 } from './helpers.js';

const MAIN = path.resolve('test/integration/registry/registry-main.ts');

async function startProcess(config: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('registry did not start in 30s')), 30_000);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /listening (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.resume();
    child.on('exit', (code) => reject(new Error(`registry exited early (${code})`)));
  });
  return { child, url };
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Streams `first`, then (without ending the request) calls `during`, then waits for the connection to break. */
function patchThenHang(
  url: string,
  loc: string,
  first: Buffer,
  total: number,
  during: () => Promise<void>,
): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(`${url}${loc}`, { method: 'PATCH', headers: { 'Content-Length': String(total) } });
    req.on('error', () => resolve());
    req.on('response', () => resolve());
    req.write(first, () => {
      setTimeout(() => void during(), 300);
    });
  });
}

describe('registry killed mid-upload', () => {
  const children: ChildProcess[] = [];
  let dir: string;
  after(async () => {
    for (const c of children) await killHard(c);
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('keeps serving after a restart, resumes the session, and never exposes bytes that do not match', async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-reg-crash-'));
    const config = path.join(dir, 'config.yml');
    await fsp.writeFile(
      config,
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:0\n`,
    );
    let srv = await startProcess(config);
    children.push(srv.child);

    const data = randomBytes(2_000_000);
    const digest = sha256(data);
    let res = await fetch(`${srv.url}/v2/crash/app/blobs/uploads/`, { method: 'POST' });
    const loc = res.headers.get('location')!;
    // A monolithic upload of another blob, killed in flight, must leave nothing visible.
    const other = randomBytes(1_000_000);
    const monolithic = new Promise<void>((resolve) => {
      const req = http.request(`${srv.url}/v2/crash/app/blobs/uploads/?digest=${sha256(other)}`, {
        method: 'POST',
        headers: { 'Content-Length': String(other.length) },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(other.subarray(0, 400_000));
    });
    // One chunk acknowledged, then a second one cut by the kill.
    res = await fetch(`${srv.url}${loc}`, {
      method: 'PATCH',
      body: data.subarray(0, 700_000),
      headers: { 'Content-Range': '0-699999' },
    });
    assert.equal(res.status, 202);
    await patchThenHang(srv.url, loc, data.subarray(700_000, 1_500_000), data.length - 700_000, () =>
      killHard(srv.child),
    );
    await monolithic;

    srv = await startProcess(config);
    children.push(srv.child);
    res = await fetch(`${srv.url}/v2/`);
    assert.equal(res.status, 200, 'serving again');
    res = await fetch(`${srv.url}/v2/crash/app/blobs/${sha256(other)}`, { method: 'HEAD' });
    assert.equal(res.status, 404, 'the killed monolithic upload is not visible');
    res = await fetch(`${srv.url}/v2/crash/app/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(res.status, 404);

    // The session survived; resume from wherever the bytes reached the disk.
    res = await fetch(`${srv.url}${loc}`);
    assert.equal(res.status, 204);
    const have = Number(res.headers.get('range')!.split('-')[1]) + 1;
    assert.ok(have >= 700_000 && have <= 1_500_000, `session holds ${have} bytes: at least the acknowledged chunk`);
    res = await fetch(`${srv.url}${loc}`, {
      method: 'PATCH',
      body: data.subarray(have),
      headers: { 'Content-Range': `${have}-${data.length - 1}` },
    });
    assert.equal(res.status, 202);
    res = await fetch(`${srv.url}${loc}?digest=${digest}`, { method: 'PUT' });
    assert.equal(res.status, 201, 'the digest is checked over the whole file, hashed again after the restart');
    res = await fetch(`${srv.url}/v2/crash/app/blobs/${digest}`);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), data);

    // Every stored blob matches its name.
    const blobsRoot = path.join(dir, 'data', 'blobs', 'sha256');
    for (const prefix of await fsp.readdir(blobsRoot)) {
      for (const hex of await fsp.readdir(path.join(blobsRoot, prefix))) {
        const content = await fsp.readFile(path.join(blobsRoot, prefix, hex));
        assert.equal(createHash('sha256').update(content).digest('hex'), hex);
      }
    }
    srv.child.kill('SIGTERM');
    await new Promise((resolve) => srv.child.once('exit', resolve));
  });
});
