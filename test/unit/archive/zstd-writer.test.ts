/**
 * zstdCompress fed by a writer function (how a zstd push feeds the program its layer): when the program fails, its
 * own message is reported, not the broken pipe the writer saw; when it ends early but "well", the output still fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { zstdCompress } from '../../../src/archive/index.js';
import { drained } from '../../../src/util/index.js';

/** zstdCompress with a `zstd` on PATH that is this shell script; resolves with the output's bytes or rejects. */
async function withFakeZstd(script: string): Promise<Buffer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wharf-fake-zstd-'));
  const saved = process.env.PATH;
  try {
    writeFileSync(path.join(dir, 'zstd'), `#!/bin/sh\n${script}\n`);
    chmodSync(path.join(dir, 'zstd'), 0o755);
    process.env.PATH = `${dir}:${saved}`;
    const write = async (stdin: Socket): Promise<void> => {
      const chunk = Buffer.alloc(1 << 20, 7);
      for (let i = 0; i < 64; i++) {
        if (stdin.destroyed) throw Object.assign(new Error('the pipe went away'), { code: 'EPIPE' });
        if (!stdin.write(chunk)) await drained(stdin);
      }
    };
    const out = zstdCompress(write, 3);
    process.env.PATH = saved; // spawned already
    const parts: Buffer[] = [];
    for await (const c of out) parts.push(c as Buffer);
    return Buffer.concat(parts);
  } finally {
    process.env.PATH = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}

test("zstd failing mid-input: its own message, not the writer's broken pipe", async () => {
  await assert.rejects(
    withFakeZstd('head -c 100000 >/dev/null; echo "zstd: out of memory" >&2; exit 1'),
    /^WharfError: zstd: zstd: out of memory$|zstd: out of memory/,
  );
});

test('zstd ending "well" before the end of its input: the output fails rather than end short', async () => {
  await assert.rejects(withFakeZstd('head -c 100000 >/dev/null; exit 0'));
});

test('a zstd that reads everything: the output is what it wrote', async () => {
  const out = await withFakeZstd('cat >/dev/null; printf done');
  assert.equal(out.toString(), 'done');
});
