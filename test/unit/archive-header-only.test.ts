/** A header-only entry (a directory) whose header gives it a size: read as size 0, as Go's archive/tar does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { applyLayer } from '../../src/archive/index.js';

function header(name: string, type: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000755\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('14000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\u000000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

test('a directory entry with a size: applied as a directory, the next header read right after it (found by test/fuzz)', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'wharf-header-only-'));
  try {
    // Before: tar-stream waited for the directory's 3 bytes of body forever. Go reads no body for a directory, so the
    // next header follows at once; GNU tar writes none either.
    const tar = Buffer.concat([header('d/', '5', 3), header('d/f', '0', 0), Buffer.alloc(1024)]);
    await applyLayer(Readable.from([tar]), root, { whiteouts: 'none', sameOwner: false });
    assert.ok(statSync(path.join(root, 'd')).isDirectory());
    assert.ok(statSync(path.join(root, 'd/f')).isFile());
    // With the bytes its size claims after it, those are no header: a clear error, not a hang.
    const withBody = Buffer.concat([header('e/', '5', 3), Buffer.from('abc'), Buffer.alloc(509), Buffer.alloc(1024)]);
    await assert.rejects(
      applyLayer(Readable.from([withBody]), path.join(root, 'x'), { whiteouts: 'none', sameOwner: false }),
      {
        name: 'WharfError',
      },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
