/**
 * Parallel ingests of one ref into one store, across processes, as parallel `pull`s of one image do: every writer
 * either writes the blob, waits for the one that does (UNAVAILABLE) or finds it done (ALREADY_EXISTS), and nothing
 * fails or stays behind in ingest/. Before the lock's life cycle was fixed, a writer arriving while another removed
 * the ingest dir failed with `ENOENT … ingest/<hex>/lock`.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalContentStore } from '../../../src/content/index.js';
import { digestOf } from '../../../src/digest/index.js';

const moduleFile = fileURLToPath(new URL('../../../src/content/local.ts', import.meta.url));
const PROCESSES = 4;
const WRITERS_PER_PROCESS = 4;
const ROUNDS = 40;

/** Round r's blob: distinct per round, so that every round is a new race on a new ref. */
const blobOf = (r: number): Buffer => Buffer.alloc(64 * 1024 + r, r % 251);

// Each child runs WRITERS async writers per round, every one trying to ingest round r's blob under the same ref
// (waiting while another holds it, as transfer/pull.ts does), and prints one JSON line with its failures.
const script = `
  const [mod, argsJson, rounds, writers] = process.argv.slice(1);
  const { LocalContentStore } = await import(mod);
  const { digestOf } = await import(${JSON.stringify(fileURLToPath(new URL('../../../src/digest/index.ts', import.meta.url)))});
  const store = new LocalContentStore(...JSON.parse(argsJson));
  const blobOf = (r) => Buffer.alloc(64 * 1024 + r, r % 251);
  const failures = [];
  const ingest = async (data) => {
    const expected = { digest: digestOf(data), size: data.length };
    for (;;) {
      let w;
      try {
        w = await store.writer('pull-' + expected.digest, expected);
      } catch (err) {
        if (err.code === 'ALREADY_EXISTS') return;
        if (err.code === 'UNAVAILABLE') { await new Promise((r) => setTimeout(r, 1 + Math.random() * 3)); continue; }
        throw err;
      }
      try {
        await w.write(data.subarray(w.offset));
        await w.commit(expected);
      } catch (err) {
        await w.close().catch(() => {});
        throw err;
      }
      return;
    }
  };
  for (let r = 0; r < Number(rounds); r++) {
    const data = blobOf(r);
    const results = await Promise.allSettled(Array.from({ length: Number(writers) }, () => ingest(data)));
    for (const res of results) if (res.status === 'rejected') failures.push(String(res.reason?.stack ?? res.reason));
  }
  process.stdout.write(JSON.stringify({ failures }) + '\\n');
`;

function runChild(root: string): Promise<{ failures: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        '--input-type=module',
        '-e',
        script,
        moduleFile,
        JSON.stringify([root]),
        String(ROUNDS),
        String(WRITERS_PER_PROCESS),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`ingest child exited ${code}: ${err}`));
      resolve(JSON.parse(out) as { failures: string[] });
    });
  });
}

it('parallel ingests of one ref across processes: no failures, every blob stored, nothing left in ingest/', async () => {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-ingest-race-'));
  try {
    const results = await Promise.all(Array.from({ length: PROCESSES }, () => runChild(root)));
    const failures = results.flatMap((r) => r.failures);
    assert.deepEqual(failures, [], `${failures.length} ingests failed`);
    const store = new LocalContentStore(root);
    for (let r = 0; r < ROUNDS; r++) {
      const d = digestOf(blobOf(r));
      assert.ok(await store.verify(d), `round ${r}: blob ${d} is stored and intact`);
    }
    const left = await fsp.readdir(store.ingestDir).catch(() => []);
    assert.deepEqual(left, [], 'no ingest dir, lock or temp file is left behind');
    assert.deepEqual(await store.listIngests(), []);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});
