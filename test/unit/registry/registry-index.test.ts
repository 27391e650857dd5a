import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { MemoryRegistryIndex, SqliteRegistryIndex } from '../../../src/registry/index.js';
import type { Digest } from '../../../src/digest/index.js';
import { runRegistryIndexSuite } from '../../suites/registry-index.js';

runRegistryIndexSuite('sqlite', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regindex-'));
  const cleanup = () => fsp.rm(dir, { recursive: true, force: true });
  try {
    return { index: new SqliteRegistryIndex(path.join(dir, 'index.db')), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
});

runRegistryIndexSuite('memory', async () => ({ index: new MemoryRegistryIndex(), cleanup: async () => {} }));

test('sqlite: an index from before the upload hash columns gains them and keeps its sessions', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regindex-old-'));
  try {
    const file = path.join(dir, 'index.db');
    const old = new Database(file);
    old.exec(
      'CREATE TABLE uploads (id TEXT PRIMARY KEY, repo TEXT NOT NULL, started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)',
    );
    old.prepare('INSERT INTO uploads VALUES (?, ?, ?, ?)').run('u', 'r', 1, 2);
    old.pragma('user_version = 1');
    old.close();
    const index = new SqliteRegistryIndex(file);
    try {
      assert.equal((await index.uploads.get('u'))?.repo, 'r');
      const digest = `sha256:${'a'.repeat(64)}` as Digest;
      await index.uploads.touch('u', new Date(), { size: 5, digest });
      assert.deepEqual((await index.uploads.get('u'))?.hashed, { size: 5, digest });
    } finally {
      await index.close();
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
