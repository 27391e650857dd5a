/** Publishing host ports is serialized across processes: no two containers get the same port. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { withPortLock } from '../../../src/network/index.js';
import { ok } from '../../helpers/cli.js';
import { freePort, withBusybox, type Fixture } from '../container/fixture.js';

let f: Fixture | undefined;
after(async () => f?.cleanup());

test('withPortLock runs one holder at a time, and a killed holder releases the lock', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-port-lock-'));
  const file = path.join(dir, 'ports.lock');
  try {
    let inside = 0;
    let overlapped = false;
    const section = () =>
      withPortLock(
        async () => {
          inside++;
          if (inside > 1) overlapped = true;
          await sleep(100);
          inside--;
        },
        { file },
      );
    const t = Date.now();
    await Promise.all([section(), section(), section()]);
    assert.equal(overlapped, false);
    assert.ok(Date.now() - t >= 290, 'the three sections ran one after the other');

    // A process that dies holding the lock (SIGKILL, no cleanup) does not keep it.
    const script = `require('node:child_process').spawn('flock', ['-x', ${JSON.stringify(file)}, 'sh', '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'inherit', 'inherit'] }); setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) =>
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()),
    );
    try {
      // flock(1)'s lock and the native one (port-lock.ts) are the same lock: held there, busy here.
      await assert.rejects(
        withPortLock(async () => 'not while held', { file, timeoutSec: 0 }),
        /another process held it/,
      );
    } finally {
      holder.kill('SIGKILL');
    }
    const got = await withPortLock(async () => 'acquired', { file, timeoutSec: 10 });
    assert.equal(got, 'acquired');
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('concurrent runs publishing the same host port: one gets it, the other a conflict; -P ports differ', async () => {
  f = await withBusybox('wharf-port-race-');
  const port = await freePort();
  const runs = await Promise.all(
    ['race1', 'race2'].map((name) =>
      f!.cli(['run', '-d', '--name', name, '-p', `${port}:80`, 'busybox', 'httpd', '-f', '-p', '80']),
    ),
  );
  const codes = runs.map((r) => r.code).sort();
  assert.deepEqual(
    codes,
    [0, 125],
    `exactly one run publishes ${port}: ${runs.map((r) => r.stderr.trim()).join(' | ')}`,
  );
  assert.match(runs.find((r) => r.code === 125)!.stderr, /already published|already in use|already allocated/);

  const auto = await Promise.all(
    ['auto1', 'auto2', 'auto3'].map((name) =>
      f!.cli(['run', '-d', '--name', name, '-p', '80', 'busybox', 'httpd', '-f', '-p', '80']),
    ),
  );
  for (const r of auto) ok(r, 'run -p 80');
  const hostPorts = new Set<string>();
  for (const name of ['auto1', 'auto2', 'auto3'])
    hostPorts.add(ok(await f.cli(['port', name, '80']), 'port').stdout.split('\n')[0]!);
  assert.equal(hostPorts.size, 3, `three different host ports: ${[...hostPorts].join(', ')}`);
});
