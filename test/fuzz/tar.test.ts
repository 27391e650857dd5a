/**
 * Fuzzing of layer tars (issue 17): tar headers as Wharf reads them (tar-stream's parser with src/archive/pax.ts's
 * PAX codec, then src/archive/apply.ts's rules) on mutated archives: ustar, PAX records (path, linkpath, size, xattrs,
 * malformed lengths), GNU long names and long links, GNU sparse entries, truncated and corrupted headers. applyLayer
 * into a scratch root may succeed or throw a WharfError; it never throws anything else, never hangs, and never
 * writes beside the root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { applyLayer } from '../../src/archive/index.js';
import { budget, onlyWharfErrorsAsync } from './budget.js';

let scratch: string;
before(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'wharf-fuzz-tar-'));
});
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** One 512-byte ustar header (GNU magic for the GNU types), its checksum right unless `badSum`. */
function header(name: string, type: string, size: number, linkname = '', badSum = false): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0').slice(-11)}\0`, 124);
  h.write('14000000000\0', 136);
  h.write(type, 156);
  h.write(linkname.slice(0, 100), 157, 'utf8');
  h.write(type === 'L' || type === 'K' || type === 'S' ? 'ustar  \0' : 'ustar\u000000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${(badSum ? sum + 1 : sum).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}
const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
const entry = (name: string, type: string, body: Buffer, linkname = ''): Buffer =>
  Buffer.concat([header(name, type, body.length, linkname), pad(body)]);
function paxRecord(key: string, value: string, lengthDelta = 0): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + String(body.length).length;
  if (String(len).length !== String(body.length).length) len = body.length + String(len).length;
  return `${len + lengthDelta}${body}`;
}

const NAMES = [
  'a',
  'dir/',
  'dir/b',
  '../up',
  '/abs',
  'x'.repeat(150),
  'dir/../../out',
  '.wh.a',
  '.wh..wh..opq',
  'a\u00e9',
  '',
];
const nameArb = fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 40 }));
const PAX_KEYS = [
  'path',
  'linkpath',
  'size',
  'uid',
  'gid',
  'mtime',
  'SCHILY.xattr.user.a',
  'SCHILY.xattr.security.capability',
  'GNU.sparse.map',
  'GNU.sparse.size',
  'GNU.sparse.major',
  'x',
];

/** One entry of the archive, of any of the kinds that have their own header parsing. */
const entryArb = fc.oneof(
  fc
    .tuple(
      nameArb,
      fc.constantFrom('0', '5', '2', '1', '3', '4', '6', '7', 'V', 'Z'),
      fc.uint8Array({ maxLength: 40 }),
      nameArb,
    )
    .map(([n, t, body, link]) => entry(n, t, Buffer.from(body), link)),
  // PAX extended header (x) or global (g) before a file: records with right or wrong lengths.
  fc
    .tuple(
      fc.constantFrom('x', 'g'),
      fc.array(fc.tuple(fc.constantFrom(...PAX_KEYS), fc.string({ maxLength: 30 }), fc.integer({ min: -3, max: 3 })), {
        maxLength: 4,
      }),
      nameArb,
    )
    .map(([t, recs, n]) =>
      Buffer.concat([
        entry(
          'PaxHeader',
          t,
          Buffer.from(recs.map(([k, v, d]) => paxRecord(k, v, d === 0 || d === 1 ? 0 : d)).join('')),
        ),
        entry(n, '0', Buffer.from('after pax')),
      ]),
    ),
  // GNU long name (L) and long link (K) before the entry they name.
  fc
    .tuple(fc.constantFrom('L', 'K'), nameArb, fc.boolean())
    .map(([t, long, nul]) =>
      Buffer.concat([
        entry('././@LongLink', t, Buffer.from(`${long}${nul ? '\0' : ''}`)),
        entry('short', t === 'K' ? '2' : '0', Buffer.from('x'), 'lnk'),
      ]),
    ),
  // A GNU sparse entry (S): its map in the old header fields, mostly zero here.
  fc.tuple(nameArb, fc.uint8Array({ maxLength: 40 })).map(([n, body]) => entry(n, 'S', Buffer.from(body))),
  fc.tuple(nameArb, fc.nat(100)).map(([n, s]) => header(n, '0', s, '', true)),
);

/** An archive: entries, then the end (or not), then byte flips and a cut. */
const archiveArb = fc
  .tuple(
    fc.array(entryArb, { maxLength: 5 }),
    fc.boolean(),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([entries, end, flips, cut]) => {
    const tar = Buffer.concat([...entries, end ? Buffer.alloc(1024) : Buffer.alloc(0)]);
    for (const [at, v] of flips) if (tar.length) tar[at % tar.length] = v;
    return cut === undefined || !tar.length ? tar : tar.subarray(0, cut % tar.length);
  });

let n = 0;
test('applyLayer on mutated tars: a WharfError or success, within the root', async () => {
  await fc.assert(
    fc.asyncProperty(archiveArb, async (tar) => {
      const box = path.join(scratch, String(n++));
      const root = path.join(box, 'root');
      await onlyWharfErrorsAsync(() => applyLayer(Readable.from([tar]), root, { whiteouts: 'none', sameOwner: false }));
      assert.deepEqual(readdirSync(box), ['root'], 'nothing beside the root');
      rmSync(box, { recursive: true, force: true });
    }),
    budget(300),
  );
});
