import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { register } from '../../../src/cli/commands/registry.js';
import type { CliContext } from '../../../src/cli/context.js';
import { readHtpasswd } from '../../../src/registry/index.js';
import { pushBlob, pushImage, startTestRegistry } from '../../integration/registry/helpers.js';

function cli(root: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const ctx: CliContext = {
    globals: () => ({ root, runRoot: path.join(root, 'run'), logLevel: 'info' }),
    stdout,
    stderr,
    setExitCode: () => undefined,
  };
  const program = new Command().exitOverride();
  register(program, ctx);
  return { run: (args: string[]) => program.parseAsync(['node', 'wharf', ...args]), out: () => out, err: () => err };
}

describe('wharf registry CLI', () => {
  it('serves with no config file under the Wharf root, and stops on SIGTERM', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regcli-serve-'));
    try {
      const c = cli(root);
      const serving = c.run(['registry', 'serve', '--addr', '127.0.0.1:0']);
      let url: string | undefined;
      for (let i = 0; i < 100 && !url; i++) {
        url = /listening on (\S+)/.exec(c.err())?.[1];
        if (!url) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(url, c.err());
      assert.match(c.err(), new RegExp(`data in ${path.join(root, 'registry')}`));
      await pushImage(url, 'cli/serve', 'v1');
      assert.equal((await fetch(`${url}/v2/cli/serve/tags/list`)).status, 200);
      process.emit('SIGTERM');
      await serving;
      await assert.rejects(fetch(`${url}/v2/`));
      await fsp.stat(path.join(root, 'registry', 'index.db'));
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });

  it('adds users to an htpasswd file, replacing an existing one', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regcli-'));
    try {
      const file = path.join(dir, 'auth', 'htpasswd');
      await cli(dir).run(['registry', 'htpasswd', file, 'alice', '--password', 'one']);
      await cli(dir).run(['registry', 'htpasswd', file, 'bob', '--password', 'two']);
      const c = cli(dir);
      await c.run(['registry', 'htpasswd', file, 'alice', '--password', 'three']);
      assert.match(c.err(), /updated user alice/);
      const users = await readHtpasswd(file);
      assert.deepEqual([...users.keys()].sort(), ['alice', 'bob']);
      const bcrypt = (await import('bcryptjs')).default;
      assert.ok(bcrypt.compareSync('three', users.get('alice')!));
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('runs gc (dry run and real) and rm-repo on the data under the Wharf root', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regcli-'));
    try {
      const r = await startTestRegistry({ gc: { bloblease: '0s' } }, root);
      await pushImage(r.url, 'cli/app', 'v1');
      await pushBlob(r.url, 'cli/app', Buffer.from('garbage bytes'));
      await r.stop();
      const env = { ...process.env };
      process.env.REGISTRY_GC_BLOBLEASE = '0s';
      try {
        const dry = cli(root);
        await dry.run(['registry', 'gc', '--dry-run', '--json']);
        const report = JSON.parse(dry.out()) as { dryRun: boolean; blobs: unknown[]; bytesFreed: number };
        assert.equal(report.dryRun, true);
        assert.equal(report.blobs.length, 1);
        assert.equal(report.bytesFreed, 13);
        const rm = cli(root);
        await rm.run(['registry', 'rm-repo', 'cli/app']);
        assert.match(rm.out(), /deleted cli\/app: 1 manifest/);
        const real = cli(root);
        await real.run(['registry', 'gc']);
        assert.match(real.out(), /3 blob\(s\).*freed/);
      } finally {
        process.env = env;
      }
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });

  it("after the tutorial's clean-up (DELETE by digest) gc frees the image's blobs at once and says what it kept", async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regcli-'));
    try {
      const r = await startTestRegistry({}, root); // the default lease: 1h
      const img = await pushImage(r.url, 'tut/app', 'v1', { layers: [Buffer.alloc(2000, 1)] });
      await pushBlob(r.url, 'tut/app', Buffer.from('uploaded, manifest still to come'));
      const up = await fetch(`${r.url}/v2/tut/app/blobs/uploads/`, { method: 'POST' });
      await fetch(`${r.url}${up.headers.get('location')!}`, { method: 'PATCH', body: Buffer.alloc(100) });
      const del = await fetch(`${r.url}/v2/tut/app/manifests/${img.digest}`, { method: 'DELETE' });
      assert.equal(del.status, 202);
      await r.stop();
      const dry = cli(root);
      await dry.run(['registry', 'gc', '--dry-run']);
      const out = dry.out();
      assert.match(out, new RegExp(`would delete blob ${img.layers[0]!.digest} \\(2kB\\)`));
      assert.match(out, new RegExp(`would delete blob ${img.config.digest}`));
      assert.match(
        out,
        /^kept 1 blob\(s\) \(32B\) under upload lease: uploaded recently, no manifest refers to them yet, newest expires in (59|60) minutes$/m,
      );
      assert.match(out, /^kept 1 upload\(s\) in progress \(100B\), purged after 1h0m0s idle$/m);
      assert.match(out, /0 manifest\(s\), 2 blob\(s\), 0 orphan file\(s\), 0 stale upload\(s\): would free 2\.\d+kB/);
      const real = cli(root);
      await real.run(['registry', 'gc']);
      assert.match(real.out(), /2 blob\(s\).*: freed 2\.\d+kB/);
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
