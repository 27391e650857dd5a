/**
 * Binary xattr values (file capabilities, SELinux labels) go through the CLI bundle byte for byte. The bundle inlines
 * tar-stream, whose PAX decoding Wharf patches (archive/pax.ts): a patch that missed the inlined copy once turned
 * every byte ≥ 0x80 into U+FFFD on `import`, `load` and `pull` while the library's own tests passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { tarDirectory } from '../../../src/archive/index.js';
import { paxValueBytes, type PaxRecords } from '../../../src/archive/pax.js';
import { createTree, listTar, streamToBuffer, tempDir } from '../../unit/archive-fixtures.js';
import { ok, tempRoot } from '../../helpers/cli.js';

test('import then save through the CLI keeps binary xattr values byte for byte', async () => {
  const dir = await tempDir('cli-xattrs');
  const t = await tempRoot();
  try {
    // cap_setuid,cap_net_raw,cap_setfcap+ep (bytes 0x80: not UTF-8), and a user xattr with a NUL and 0xff in it.
    const capability = Buffer.from('0100000280200080000000000000000000000000', 'hex');
    const userValue = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
    const src = path.join(dir, 'src');
    await createTree(src, [
      {
        kind: 'file',
        path: 'bin/ping',
        content: 'elf',
        xattrs: { 'security.capability': capability, 'user.bin': userValue },
      },
    ]);
    const input = path.join(dir, 'in.tar');
    await writeFile(input, await streamToBuffer(tarDirectory(src)));
    ok(await t.cli(['import', input, 'xattrs:1']), 'import');
    const saved = path.join(dir, 'saved.tar');
    ok(await t.cli(['save', '-o', saved, 'xattrs:1']), 'save');

    const manifest = JSON.parse(execFileSync('tar', ['-xOf', saved, 'manifest.json'], { encoding: 'utf8' })) as Array<{
      Layers: string[];
    }>;
    const layer = execFileSync('tar', ['-xOf', saved, manifest[0]!.Layers[0]!], { maxBuffer: 64 << 20 });
    const ping = (await listTar(layer)).find((e) => e.name === 'bin/ping');
    assert.ok(ping, 'bin/ping in the saved layer');
    const pax = ping.pax as PaxRecords;
    assert.equal(paxValueBytes(pax, 'SCHILY.xattr.security.capability').toString('hex'), capability.toString('hex'));
    assert.equal(paxValueBytes(pax, 'SCHILY.xattr.user.bin').toString('hex'), userValue.toString('hex'));
  } finally {
    await t.cleanup();
    execFileSync('rm', ['-rf', dir]);
  }
});
