import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MetaDb } from '../../../src/meta/index.js';
import { createSnapshotter } from '../../../src/snapshot/index.js';

const indexFile = fileURLToPath(new URL('../../../src/snapshot/index.ts', import.meta.url));
const metaFile = fileURLToPath(new URL('../../../src/meta/index.ts', import.meta.url));

// Each child opens the same root and prepares the same key on the same parent, then prints what happened.
const CHILD = `
  const [indexFile, metaFile, kind, root] = process.argv.slice(1);
  const { createSnapshotter } = await import(indexFile);
  const { MetaDb } = await import(metaFile);
  const db = new MetaDb(root + '/wharf.db');
  const sn = createSnapshotter(kind, root, db);
  try {
    await sn.prepare('contended', 'base');
    process.stdout.write('won');
  } catch (err) {
    process.stdout.write(err.code ?? String(err));
  } finally {
    db.close();
  }
`;

function runChild(kind: string, root: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', CHILD, indexFile, metaFile, kind, root],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let errText = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (errText += c));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`child exited ${code}: ${errText}`));
    });
  });
}

for (const kind of ['overlay', 'native'] as const) {
  describe(`${kind} snapshotter across processes`, () => {
    let root: string;
    before(async () => {
      root = await fsp.mkdtemp(path.join(os.tmpdir(), `wharf-snap-mp-${kind}-`));
      const db = new MetaDb(path.join(root, 'wharf.db'));
      const sn = createSnapshotter(kind, root, db);
      await sn.prepare('k', undefined);
      await fsp.writeFile(path.join(sn.differ.diffDir('k'), 'f'), 'x'.repeat(100_000));
      await sn.commit('base', 'k');
      db.close();
    });
    after(async () => {
      await fsp.rm(root, { recursive: true, force: true });
    });

    it('lets one of four processes preparing the same key win', async () => {
      const results = await Promise.all([1, 2, 3, 4].map(() => runChild(kind, root)));
      assert.deepEqual(results.sort(), ['ALREADY_EXISTS', 'ALREADY_EXISTS', 'ALREADY_EXISTS', 'won']);
      const db = new MetaDb(path.join(root, 'wharf.db'));
      try {
        const sn = createSnapshotter(kind, root, db);
        assert.equal((await sn.stat('contended'))?.kind, 'active');
        // Native copied the parent into the winner; overlay's upper starts empty.
        const own = await fsp.readdir(sn.differ.diffDir('contended'));
        assert.deepEqual(own, kind === 'native' ? ['f'] : []);
        // The losers removed their staging dirs.
        const names = await fsp.readdir(path.join(root, 'snapshots'));
        assert.deepEqual(
          names.filter((n) => !/^\d+$/.test(n)),
          [],
        );
      } finally {
        db.close();
      }
    });
  });
}
