import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { applyLayer, tarDirectory } from '../../src/archive/index.js';
import { installPaxCodec, RAW_PAX, xattrsFromPax, type PaxRecords } from '../../src/archive/pax.js';
import {
  T0,
  bufferStream,
  createTree,
  describeTree,
  listTar,
  sha256,
  streamToBuffer,
  tempDir,
  type FixtureEntry,
} from './archive-fixtures.js';

const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_bind_service+ep, v2
const binary = Buffer.from([0x00, 0xff, 0x80, 0x0a, 0x3d, 0x20, 0xc3]); // NUL, invalid UTF-8, '\n', '=', ' '

const tree: FixtureEntry[] = [
  { kind: 'dir', path: 'etc', mode: 0o755, mtime: T0 + 1 },
  { kind: 'file', path: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644, mtime: T0 + 2 },
  { kind: 'file', path: 'etc/shadow', content: 'root:*::0:::::\n', mode: 0o640, mtime: T0 + 3 },
  { kind: 'dir', path: 'tmp', mode: 0o1777 },
  { kind: 'dir', path: 'srv', mode: 0o2775 },
  { kind: 'dir', path: 'empty', mode: 0o700, mtime: T0 - 100 },
  { kind: 'dir', path: 'usr/bin', mode: 0o755 },
  { kind: 'file', path: 'usr/bin/su', content: Buffer.alloc(70_000, 0xab), mode: 0o4755 },
  {
    kind: 'file',
    path: 'usr/bin/ping',
    content: 'ping',
    mode: 0o755,
    xattrs: { 'user.bin': binary, 'user.text': 'hello' },
  },
  { kind: 'hardlink', path: 'usr/bin/su-link', target: 'usr/bin/su' },
  { kind: 'hardlink', path: 'etc/passwd-', target: 'etc/passwd' },
  { kind: 'symlink', path: 'bin', target: 'usr/bin' },
  { kind: 'symlink', path: 'usr/bin/abs', target: '/etc/passwd' },
  { kind: 'symlink', path: 'dangling', target: '../../nowhere' },
  { kind: 'file', path: 'empty-file', content: '' },
  { kind: 'fifo', path: 'run-fifo', mode: 0o600 },
  { kind: 'file', path: `deep/${'d'.repeat(90)}/${'n'.repeat(120)}.txt`, content: 'long name' },
  { kind: 'file', path: 'unicodé/名前.txt', content: 'utf-8 names' },
  { kind: 'file', path: 'a.txt', content: 'sorts between a and a/' },
  { kind: 'dir', path: 'a', mode: 0o755 },
  { kind: 'file', path: 'a/b', content: 'b' },
];

test('tarDirectory → applyLayer keeps files, modes, times, links and xattrs', async () => {
  const dir = await tempDir('roundtrip');
  try {
    const src = path.join(dir, 'src');
    const dst = path.join(dir, 'dst');
    await createTree(src, tree);
    const tarBytes = await streamToBuffer(tarDirectory(src));
    const res = await applyLayer(bufferStream(gzipSync(tarBytes)), dst, { whiteouts: 'none' });
    assert.equal(res.diffId, sha256(tarBytes));
    assert.equal(res.size, tarBytes.length);
    assert.deepEqual(await describeTree(dst), await describeTree(src));
    // GNU tar reads our tars too (PAX long names, hardlinks, xattrs).
    const gnu = path.join(dir, 'gnu');
    await fsp.mkdir(gnu);
    // -p: GNU tar keeps setuid/setgid/sticky bits only when told to, unless it runs as root.
    execFileSync('tar', ['-x', '-p', '--xattrs', '--xattrs-include=*', '-C', gnu], { input: tarBytes });
    assert.deepEqual(await describeTree(gnu), await describeTree(src));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('tarDirectory is deterministic: sorted, directories first, empty uname/gname, same bytes twice', async () => {
  const dir = await tempDir('determinism');
  try {
    const src = path.join(dir, 'src');
    await createTree(src, tree);
    const one = await streamToBuffer(tarDirectory(src));
    // Touch atimes and re-create the same content under a fresh inode order: output must not change.
    await fsp.readFile(path.join(src, 'etc/passwd'));
    const two = await streamToBuffer(tarDirectory(src));
    assert.equal(sha256(one), sha256(two));

    const names = (await listTar(one)).map((e) => e.name);
    assert.deepEqual(names.slice(0, 4), ['a/', 'a/b', 'a.txt', 'bin']);
    for (let i = 0; i < names.length; i++) {
      const parent = path.posix.dirname(names[i]!.replace(/\/$/, ''));
      if (parent !== '.') assert.ok(names.indexOf(`${parent}/`) < i, `${parent}/ comes before ${names[i]}`);
    }
    const entries = await listTar(one);
    const link = entries.find((e) => e.name === 'usr/bin/su-link');
    assert.equal(link?.type, 'link');
    assert.equal(link?.linkname, 'usr/bin/su');
    // The fixture's files belong to whoever runs the test (root in CI, anyone for test:unit): numbers, never names.
    const owner = `${process.getuid?.() ?? 0}/${process.getgid?.() ?? 0}`;
    for (const line of execFileSync('tar', ['-tvf', '-'], { input: one }).toString().split('\n').filter(Boolean)) {
      assert.ok(line.split(/\s+/)[1] === owner, `numeric owner ${owner} only: ${line}`);
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('clampMtime and mtime options rewrite times', async () => {
  const dir = await tempDir('mtime');
  try {
    const src = path.join(dir, 'src');
    await createTree(src, [
      { kind: 'file', path: 'old', content: 'o', mtime: 1000 },
      { kind: 'file', path: 'new', content: 'n', mtime: 2_000_000_000 },
    ]);
    const clamp = new Date(1_500_000_000_000);
    const mtimes = async (opts: Parameters<typeof tarDirectory>[1]) => {
      const ex = tar.extract();
      const out: Record<string, number> = {};
      ex.end(await streamToBuffer(tarDirectory(src, opts)));
      for await (const e of ex) {
        out[e.header.name] = e.header.mtime.getTime() / 1000;
        for await (const _ of e) void _;
      }
      return out;
    };
    assert.deepEqual(await mtimes({ clampMtime: clamp }), { new: 1_500_000_000, old: 1000 });
    assert.deepEqual(await mtimes({ mtime: new Date(42_000) }), { new: 42, old: 42 });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('binary PAX xattr values survive tar-stream both ways', async () => {
  installPaxCodec();
  const pack = tar.pack();
  pack.entry(
    {
      name: 'f',
      size: 0,
      pax: { 'SCHILY.xattr.security.capability': capability, 'SCHILY.xattr.user.x': binary },
    } as never,
    '',
  );
  pack.finalize();
  const bytes = await streamToBuffer(pack as never);
  const ex = tar.extract();
  ex.end(bytes);
  for await (const e of ex) {
    const pax = e.header.pax as PaxRecords;
    assert.ok(pax[RAW_PAX], 'raw PAX bytes are kept');
    const xattrs = xattrsFromPax(pax);
    assert.deepEqual(xattrs.get('security.capability'), capability);
    assert.deepEqual(xattrs.get('user.x'), binary);
    for await (const _ of e) void _;
  }
  // GNU tar agrees on the raw length (it decodes PAX records by their byte counts).
  const listing = execFileSync('tar', ['--xattrs', '-tvvf', '-'], { input: bytes }).toString();
  assert.match(listing, /x: 7 user\.x/);
});

test('overlay-private xattrs are never taken from a tar', () => {
  const pax = { 'SCHILY.xattr.trusted.overlay.opaque': 'y', 'SCHILY.xattr.user.keep': 'v', mtime: '1.5' } as PaxRecords;
  assert.deepEqual([...xattrsFromPax(pax).keys()], ['user.keep']);
});
