import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveRegistryConfig } from '../../../src/registry/index.js';
import { isNoSpace, SpaceReserve } from '../../../src/registry/storage/reserve.js';
import { WharfError, is } from '../../../src/errors/index.js';

const ctx = { wharfRoot: '/x', baseDir: '/x' };

describe('registry space reserve (storage.reserve)', () => {
  it('storage.reserve.size takes bytes or a unit, defaults to 8 MiB, and refuses anything else in one line', () => {
    assert.equal(resolveRegistryConfig({}, ctx).reserveBytes, 8 * 1024 * 1024);
    assert.equal(resolveRegistryConfig({ storage: { reserve: { size: '16MiB' } } }, ctx).reserveBytes, 16 << 20);
    assert.equal(resolveRegistryConfig({ storage: { reserve: { size: '512k' } } }, ctx).reserveBytes, 512 << 10);
    assert.equal(resolveRegistryConfig({ storage: { reserve: { size: 0 } } }, ctx).reserveBytes, 0);
    assert.throws(
      () => resolveRegistryConfig({ storage: { reserve: { size: 'lots' } } }, ctx),
      (e: unknown) => is(e, 'INVALID_ARGUMENT') && /storage\.reserve\.size/.test((e as Error).message),
    );
    assert.throws(
      () => resolveRegistryConfig({ storage: { reserve: { bytes: 1 } } }, ctx),
      /config storage\.reserve\.bytes: unknown key/,
    );
  });

  it('fill makes a file of the size, release gives it back once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wharf-reserve-'));
    try {
      const r = new SpaceReserve(path.join(dir, 'reserve'), 3 * 1024 * 1024 + 5);
      assert.equal(await r.fill(), true);
      assert.equal(statSync(r.file).size, 3 * 1024 * 1024 + 5);
      assert.equal(await r.fill(), true);
      assert.equal(await r.release(), true);
      assert.equal(existsSync(r.file), false);
      assert.equal(await r.release(), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('knows a full disk from the file system, SQLite and a WharfError caused by one', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    assert.equal(isNoSpace(enospc), true);
    assert.equal(isNoSpace(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })), true);
    assert.equal(isNoSpace(new WharfError('UNAVAILABLE', 'writing failed', { cause: enospc })), true);
    assert.equal(isNoSpace(Object.assign(new Error('gone'), { code: 'ENOENT' })), false);
  });
});
