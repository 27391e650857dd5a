/**
 * Fuzzing of the registry server's request parsing (issue 17): paths (names, references, digests, `..`, escapes),
 * query strings (`n`, `last`, `digest`, `mount`, `from`, `artifactType`), `Range` and `Content-Range` headers and
 * small bodies, sent raw over HTTP (fetch would normalize the path) to a registry with a blob, a manifest and an open
 * upload in it. No request may get a 5xx, and every error answer is the distribution spec's JSON.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import fc from 'fast-check';
import { pushImage, startTestRegistry, type TestRegistry } from '../integration/registry/helpers.js';
import { budget } from './budget.js';

let r: TestRegistry;
let upload: string;
let blobDigest: string;

before(async () => {
  r = await startTestRegistry();
  const pushed = await pushImage(r.url, 'fuzz/img', 'v1');
  blobDigest = pushed.layers[0]!.digest;
  const start = await fetch(`${r.url}/v2/fuzz/img/blobs/uploads/`, { method: 'POST' });
  upload = start.headers.get('location')!.split('/').pop()!;
});

after(async () => {
  await r?.stop();
});

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      r.url,
      { method, path, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          if (text.length < 4096) text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: text, type: String(res.headers['content-type'] ?? '') }),
        );
      },
    );
    req.on('error', reject);
    // An answer that never comes is a hang: a defect, reported with the request.
    req.setTimeout(5000, () =>
      req.destroy(new Error(`no answer in 5 s: ${method} ${path} ${JSON.stringify(headers)}`)),
    );
    req.end(body);
  });
}

const SEGMENTS = [
  'v2',
  'fuzz',
  'img',
  'blobs',
  'manifests',
  'uploads',
  'tags',
  'list',
  '_catalog',
  'referrers',
  'v1',
  'latest',
  'v1',
  '..',
  '.',
  '%2e%2e',
  '%2F',
  '%00',
  'A',
  '',
  'wharf',
  'repositories',
  'gc',
];
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 1, arbitrary: fc.constantFrom('sha256:', `sha256:${'0'.repeat(64)}`, 'sha512:zz', 'x'.repeat(300)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map(encodeURIComponent) },
);
const pathArb = fc.oneof(
  fc.array(segment, { maxLength: 7 }).map((s) => `/${s.join('/')}`),
  fc
    .constantFrom('/v2/fuzz/img/blobs/', '/v2/fuzz/img/manifests/', '/v2/fuzz/img/blobs/uploads/')
    .chain((p) => segment.map((s) => `${p}${s}`)),
);
const QUERY_KEYS = ['n', 'last', 'digest', 'mount', 'from', 'artifactType', 'q', 'scope', 'service', 'x'];
const queryArb = fc.array(
  fc.tuple(
    fc.constantFrom(...QUERY_KEYS),
    fc.oneof(
      fc.constantFrom('-1', '0', '1e9', '10', 'sha256:', '', '%zz', 'fuzz/img'),
      fc.string({ maxLength: 8 }).map(encodeURIComponent),
    ),
  ),
  { maxLength: 4 },
);
const rangeArb = fc.oneof(
  fc.constantFrom(
    'bytes=0-0',
    'bytes=-5',
    'bytes=5-',
    'bytes=9-1',
    'bytes=0-99999999999999999999',
    'bytes=a-b',
    'bytes=0-1,2-3',
    'items=0-1',
    '',
  ),
  fc
    .tuple(fc.integer({ min: -3, max: 2 ** 53 }), fc.integer({ min: -3, max: 2 ** 53 }))
    .map(([a, b]) => `bytes=${a}-${b}`),
);
const contentRangeArb = fc.oneof(
  fc.constantFrom('0-0', '0-9', 'bytes 0-9/10', '5-1', '-1-5', '0-', 'x', '0-99999999999999999999', ''),
  fc.tuple(fc.nat(), fc.integer({ min: -2, max: 2 ** 40 })).map(([a, b]) => `${a}-${b}`),
);

test('registry requests: never a 5xx, errors are JSON', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS'),
      fc.oneof(pathArb, fc.constantFrom(`/v2/fuzz/img/blobs/uploads/UPLOAD`, `/v2/fuzz/img/blobs/BLOB`)),
      queryArb,
      fc.record(
        {
          range: rangeArb,
          'content-range': contentRangeArb,
          'content-type': fc.constantFrom(
            'application/octet-stream',
            'application/vnd.oci.image.manifest.v1+json',
            'text/plain',
            '',
          ),
        },
        { requiredKeys: [] },
      ),
      fc.uint8Array({ maxLength: 64 }),
      async (method, p, query, headers, body) => {
        const q = query.map(([k, v]) => `${k}=${v}`).join('&');
        const url = p.replace('UPLOAD', upload).replace('BLOB', blobDigest) + (q ? `?${q}` : '');
        const res = await send(method, url, headers as Record<string, string>, Buffer.from(body));
        assert.ok(res.status < 500, `${method} ${url} ${JSON.stringify(headers)}: ${res.status} ${res.body}`);
        if (res.status >= 400 && method !== 'HEAD' && res.type.includes('json')) JSON.parse(res.body);
      },
    ),
    budget(400),
  );
  assert.deepEqual(
    r.logs.filter((l) => /" 5\d\d /.test(l) || !l.includes('"')),
    [],
    'no request was logged as a server failure',
  );
});
