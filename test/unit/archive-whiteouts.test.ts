import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { applyLayer } from '../../src/archive/index.js';
import { bufferStream, makeTar, tempDir, T0, type RawEntry } from './archive-fixtures.js';

/** All paths below root, sorted, directories marked with a trailing slash. */
async function paths(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string) => {
    for (const name of await fsp.readdir(dir)) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await fsp.lstat(path.join(dir, name));
      out.push(st.isDirectory() ? `${r}/` : r);
      if (st.isDirectory()) await walk(path.join(dir, name), r);
    }
  };
  await walk(root, '');
  return out.sort();
}

const base: RawEntry[] = [
  { name: 'a/', type: 'directory' },
  { name: 'a/b/', type: 'directory' },
  { name: 'a/b/c/', type: 'directory' },
  { name: 'a/b/c/bar', body: 'bar' },
  { name: 'a/keep', body: 'k' },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/my-app-config', body: 'cfg' },
  { name: 'etc/other', body: 'o' },
  { name: 'bin/', type: 'directory' },
  { name: 'bin/tool', body: 't' },
  { name: 'bin/tools/', type: 'directory' },
  { name: 'bin/tools/one', body: '1' },
];

async function flatten(layers: RawEntry[][]): Promise<string> {
  const root = await tempDir('flatten');
  for (const layer of layers) await applyLayer(bufferStream(await makeTar(layer)), root, { whiteouts: 'none' });
  return root;
}

test('.wh.name deletes files and whole directories of earlier layers', async () => {
  const root = await flatten([
    base,
    [{ name: 'etc/.wh.my-app-config' }, { name: '.wh.bin' }, { name: 'a/b/c/.wh.missing' }],
  ]);
  try {
    assert.deepEqual(await paths(root), ['a/', 'a/b/', 'a/b/c/', 'a/b/c/bar', 'a/keep', 'etc/', 'etc/other']);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

for (const order of ['before', 'after'] as const) {
  test(`an opaque whiteout ${order} same-layer entries hides only what earlier layers had (OCI image-spec)`, async () => {
    // The image-spec example: a/b is deleted and recreated with a/b/c/foo; the marker may come anywhere in the layer.
    const opq: RawEntry = { name: 'a/.wh..wh..opq' };
    const rest: RawEntry[] = [
      { name: 'a/b/', type: 'directory' },
      { name: 'a/b/c/', type: 'directory' },
      { name: 'a/b/c/foo', body: 'foo' },
    ];
    const layer2 =
      order === 'before'
        ? [{ name: 'a/', type: 'directory' } as RawEntry, opq, ...rest]
        : [{ name: 'a/', type: 'directory' } as RawEntry, ...rest, opq];
    const root = await flatten([base, layer2]);
    try {
      const got = (await paths(root)).filter((p) => p.startsWith('a/'));
      assert.deepEqual(got, ['a/', 'a/b/', 'a/b/c/', 'a/b/c/foo']);
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
}

test('a whiteout does not hide an entry of its own layer', async () => {
  const root = await flatten([
    base,
    [{ name: 'etc/new', body: 'n' }, { name: 'etc/.wh.new' }, { name: 'etc/.wh.other' }],
  ]);
  try {
    assert.deepEqual(
      (await paths(root)).filter((p) => p.startsWith('etc/')),
      ['etc/', 'etc/my-app-config', 'etc/new'],
    );
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('an opaque dir with no content empties it and the dir keeps the new attributes', async () => {
  const root = await flatten([
    base,
    [{ name: 'bin/', type: 'directory', mode: 0o711, mtime: T0 + 5 }, { name: 'bin/.wh..wh..opq' }],
  ]);
  try {
    assert.deepEqual(
      (await paths(root)).filter((p) => p.startsWith('bin')),
      ['bin/'],
    );
    const st = await fsp.stat(path.join(root, 'bin'));
    assert.equal(st.mode & 0o7777, 0o711);
    assert.equal(Math.floor(st.mtimeMs / 1000), T0 + 5, 'directory mtime is set after its content changed');
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('entries replace what is there: file over dir, dir over file, symlink over file', async () => {
  const root = await flatten([
    base,
    [
      { name: 'bin/tools', body: 'now a file' },
      { name: 'a/keep/', type: 'directory' },
      { name: 'etc/other', type: 'symlink', linkname: 'my-app-config' },
    ],
  ]);
  try {
    assert.equal(await fsp.readFile(path.join(root, 'bin/tools'), 'utf8'), 'now a file');
    assert.ok((await fsp.lstat(path.join(root, 'a/keep'))).isDirectory());
    assert.equal(await fsp.readlink(path.join(root, 'etc/other')), 'my-app-config');
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('usr-merge: a later layer writes through a symlinked directory inside the root', async () => {
  const root = await flatten([
    [
      { name: 'usr/lib/', type: 'directory' },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
    ],
    [{ name: 'lib/libfoo.so', body: 'elf' }],
  ]);
  try {
    assert.equal(await fsp.readFile(path.join(root, 'usr/lib/libfoo.so'), 'utf8'), 'elf');
    assert.ok((await fsp.lstat(path.join(root, 'lib'))).isSymbolicLink());
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('xz-compressed layers apply', async () => {
  const tarBytes = await makeTar(base);
  const xz = execFileSync('xz', ['-c'], { input: tarBytes });
  const root = await tempDir('xz');
  try {
    const res = await applyLayer(bufferStream(xz), root, { whiteouts: 'none' });
    assert.equal(res.size, tarBytes.length);
    assert.equal(await fsp.readFile(path.join(root, 'bin/tools/one'), 'utf8'), '1');
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('corrupt tar and truncated gzip layers fail with INVALID_ARGUMENT', async () => {
  const root = await tempDir('corrupt');
  try {
    const tarBytes = Buffer.from(await makeTar(base));
    tarBytes[100] = 0x41; // break the first header's checksum
    await assert.rejects(applyLayer(bufferStream(tarBytes), root, { whiteouts: 'none' }), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'INVALID_ARGUMENT');
      assert.match((err as Error).message, /invalid layer tar/);
      return true;
    });
    const { gzipSync } = await import('node:zlib');
    const gz = gzipSync(await makeTar([...base, { name: 'big', body: Buffer.alloc(300_000, 1) }]));
    await assert.rejects(
      applyLayer(bufferStream(gz.subarray(0, gz.length - 64)), root, { whiteouts: 'none' }),
      (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'INVALID_ARGUMENT');
        assert.match((err as Error).message, /gzip/);
        return true;
      },
    );
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('an aborted apply stops with CANCELLED', async () => {
  const root = await tempDir('abort');
  try {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(
      applyLayer(bufferStream(await makeTar(base)), root, { whiteouts: 'none', signal: ac.signal }),
      {
        code: 'CANCELLED',
      },
    );
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});
