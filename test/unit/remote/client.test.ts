/** The registry client against scripted HTTP servers on 127.0.0.1: auth, retries, resume, redirects, pagination. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RegistryClient } from '../../../src/remote/index.js';
import { digestOf } from '../../../src/digest/index.js';
import { json, serve } from './server.js';

test('Bearer: ping learns the challenge, tokens are fetched per scope with Basic credentials and cached', async () => {
  const tokenRequests: string[] = [];
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {},
      layers: [],
    }),
  );
  const srv = await serve((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/token') {
      tokenRequests.push(`${url.searchParams.getAll('scope').join(' ')} ${req.headers.authorization ?? 'anonymous'}`);
      return json(res, 200, { token: `tok:${url.searchParams.get('scope')}`, expires_in: 300 });
    }
    if (req.headers.authorization?.startsWith('Bearer tok:repository:team/app:pull')) {
      res.writeHead(200, {
        'Content-Type': 'application/vnd.oci.image.manifest.v1+json',
        'Docker-Content-Digest': digestOf(manifest),
      });
      return res.end(manifest);
    }
    json(
      res,
      401,
      { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
      {
        'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="test"`,
      },
    );
  });
  const client = RegistryClient.forDomain(srv.host, {
    credentials: { get: async () => ({ username: 'u', password: 'p' }) },
  });
  try {
    const m1 = await client.manifests.get('team/app', 'latest');
    const m2 = await client.manifests.get('team/app', digestOf(manifest));
    assert.equal(m1.digest, digestOf(manifest));
    assert.equal(m2.raw.toString(), manifest.toString());
    assert.equal(m1.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(tokenRequests, [`repository:team/app:pull Basic ${Buffer.from('u:p').toString('base64')}`]);
  } finally {
    client.close();
    await srv.close();
  }
});

test('Basic registries without credentials fail with UNAUTHORIZED "authentication required"', async () => {
  const srv = await serve((_req, res) =>
    json(
      res,
      401,
      { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
      { 'WWW-Authenticate': 'Basic realm="r"' },
    ),
  );
  const client = RegistryClient.forDomain(srv.host);
  try {
    await assert.rejects(client.manifests.get('x', 'latest'), {
      code: 'UNAUTHORIZED',
      message: `manifest for ${srv.host}/x:latest: unauthorized: authentication required`,
    });
  } finally {
    client.close();
    await srv.close();
  }
});

test('5xx answers are retried with backoff; a wrong Docker-Content-Digest is refused', async () => {
  let calls = 0;
  const body = Buffer.from('{"schemaVersion":2,"manifests":[]}');
  const srv = await serve((req, res) => {
    if (req.url === '/v2/') return json(res, 200, {});
    calls++;
    if (calls < 3) return json(res, 503, { errors: [{ code: 'UNAVAILABLE', message: 'busy' }] });
    res.writeHead(200, {
      'Content-Type': 'application/vnd.oci.image.index.v1+json',
      'Docker-Content-Digest': calls === 3 ? digestOf(body) : digestOf('lies'),
    });
    res.end(body);
  });
  const client = RegistryClient.forDomain(srv.host, { retryBaseMs: 1 });
  try {
    assert.equal((await client.manifests.get('x', 'latest')).digest, digestOf(body));
    assert.equal(calls, 3);
    await assert.rejects(client.manifests.get('x', 'latest'), { code: 'DIGEST_MISMATCH' });
  } finally {
    client.close();
    await srv.close();
  }
  const down = await serve((req, res) => (req.url === '/v2/' ? json(res, 200, {}) : json(res, 503, {})));
  const c2 = RegistryClient.forDomain(down.host, { retryBaseMs: 1, retries: 2 });
  try {
    await assert.rejects(c2.manifests.get('x', 'latest'), { code: 'UNAVAILABLE' });
    assert.equal(down.seen.filter((s) => s.url.startsWith('/v2/x/')).length, 3);
  } finally {
    c2.close();
    await down.close();
  }
});

test('blobs.open resumes a dropped download with Range, and skips bytes itself when Range is ignored', async () => {
  const blob = randomBytes(200_000);
  const digest = digestOf(blob);
  let mode: 'cut-once' | 'ignore-range' = 'cut-once';
  let gets = 0;
  const srv = await serve((req, res) => {
    if (req.url === '/v2/') return json(res, 200, {});
    gets++;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && mode === 'cut-once') {
      const start = Number(range[1]);
      res.writeHead(206, {
        'Content-Length': String(blob.length - start),
        'Content-Range': `bytes ${start}-${blob.length - 1}/${blob.length}`,
      });
      return res.end(blob.subarray(start));
    }
    res.writeHead(200, { 'Content-Length': String(blob.length) });
    if (gets === 1) {
      res.write(blob.subarray(0, 70_000), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(blob);
  });
  const client = RegistryClient.forDomain(srv.host, { retryBaseMs: 1 });
  try {
    const resumes: number[] = [];
    const got = Buffer.concat(
      await client.blobs.open('x', digest, { size: blob.length, onResume: (o) => resumes.push(o) }).toArray(),
    );
    assert.ok(got.equals(blob));
    assert.equal(resumes.length, 1);
    assert.ok(resumes[0]! > 0 && resumes[0]! <= 70_000);
    assert.equal(srv.seen.at(-1)!.range, `bytes=${resumes[0]}-`);

    mode = 'ignore-range';
    const tail = Buffer.concat(await client.blobs.open('x', digest, { start: 150_000, size: blob.length }).toArray());
    assert.ok(
      tail.equals(blob.subarray(150_000)),
      'a registry that answers 200 to a Range request still gives the right bytes',
    );
  } finally {
    client.close();
    await srv.close();
  }
});

test('blob redirects to another host are followed without our credentials', async () => {
  const data = Buffer.from('layer bytes');
  const storage = await serve((_req, res) => {
    res.writeHead(200, { 'Content-Length': String(data.length) });
    res.end(data);
  });
  const srv = await serve((req, res) => {
    if (req.url === '/v2/') return json(res, 401, {}, { 'WWW-Authenticate': 'Basic realm="r"' });
    res.writeHead(307, { Location: `http://${storage.host}/bucket/blob?sig=1` });
    res.end();
  });
  const client = RegistryClient.forDomain(srv.host, {
    credentials: { get: async () => ({ username: 'u', password: 'p' }) },
  });
  try {
    const got = await client.blobs.fetch('x', digestOf(data), 1024);
    assert.equal(got.toString(), 'layer bytes');
    assert.ok(srv.seen.at(-1)!.auth?.startsWith('Basic '));
    assert.equal(storage.seen[0]!.url, '/bucket/blob?sig=1');
    assert.equal(storage.seen[0]!.auth, undefined, 'credentials must not leak to the storage host');
  } finally {
    client.close();
    await srv.close();
    await storage.close();
  }
});

test('uploads follow relative Locations; mounts answer 201; pages are followed through Link', async () => {
  const srv = await serve((req, res, body) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/v2/') return json(res, 200, {});
    if (req.method === 'POST' && url.searchParams.get('mount')) {
      res.writeHead(201, { Location: `/v2/x/blobs/${url.searchParams.get('mount')}` });
      return res.end();
    }
    if (req.method === 'POST') {
      res.writeHead(202, { Location: '/upload/1?_state=abc' });
      return res.end();
    }
    if (req.method === 'PATCH') {
      res.writeHead(202, { Location: `/upload/2?_state=def&got=${body.length}` });
      return res.end();
    }
    if (req.method === 'PUT') {
      res.writeHead(201, { 'Docker-Content-Digest': url.searchParams.get('digest')! });
      return res.end();
    }
    if (url.pathname === '/v2/x/tags/list') {
      const last = url.searchParams.get('last');
      if (!last) return json(res, 200, { tags: ['a', 'b'] }, { Link: '</v2/x/tags/list?n=2&last=b>; rel="next"' });
      return json(res, 200, { tags: ['c'] });
    }
    json(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
  });
  const client = RegistryClient.forDomain(srv.host);
  try {
    const d = digestOf('data');
    assert.deepEqual(await client.uploads.start('x', { digest: d, from: 'y' }), { mounted: true });
    const started = await client.uploads.start('x');
    assert.equal(started.mounted, false);
    if (started.mounted) return;
    const { Readable } = await import('node:stream');
    const patched = await client.uploads.patch(started.session, Readable.from([Buffer.from('da'), Buffer.from('ta')]));
    assert.equal(patched.location.pathname, '/upload/2');
    await client.uploads.complete(patched, d);
    const put = srv.seen.find((s) => s.method === 'PUT')!;
    assert.equal(put.url, `/upload/2?_state=def&got=4&digest=${encodeURIComponent(d)}`);
    assert.deepEqual(await client.tags.list('x'), ['a', 'b', 'c']);
  } finally {
    client.close();
    await srv.close();
  }
});

test('an unreachable registry is one UNAVAILABLE line', async () => {
  const srv = await serve(() => {});
  const host = srv.host;
  await srv.close();
  const client = RegistryClient.forDomain(host, { retries: 0 });
  try {
    await assert.rejects(client.manifests.get('x', 'latest'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'UNAVAILABLE');
      assert.match(err.message, new RegExp(`^cannot reach registry ${host}: ECONNREFUSED`));
      return true;
    });
  } finally {
    client.close();
  }
});

test('identity tokens use the OAuth2 refresh-token grant; a refused token request is UNAUTHORIZED', async () => {
  const forms: string[] = [];
  const srv = await serve((req, res, body) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/token') {
      if (req.method === 'POST') {
        forms.push(body.toString());
        const f = new URLSearchParams(body.toString());
        if (f.get('refresh_token') === 'good') return json(res, 200, { access_token: 'acc', expires_in: 60 });
      }
      return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad' }] });
    }
    if (req.headers.authorization === 'Bearer acc') return json(res, 200, { tags: ['t'] });
    json(res, 401, {}, { 'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="svc"` });
  });
  const good = RegistryClient.forDomain(srv.host, { credentials: { get: async () => ({ identityToken: 'good' }) } });
  const bad = RegistryClient.forDomain(srv.host, { credentials: { get: async () => ({ identityToken: 'bad' }) } });
  try {
    assert.deepEqual(await good.tags.list('x'), ['t']);
    const f = new URLSearchParams(forms[0]);
    assert.deepEqual(
      [f.get('grant_type'), f.get('refresh_token'), f.get('service'), f.get('scope')],
      ['refresh_token', 'good', 'svc', 'repository:x:pull'],
    );
    await assert.rejects(bad.tags.list('x'), {
      code: 'UNAUTHORIZED',
      message: `${srv.host}: unauthorized: incorrect username or password`,
    });
  } finally {
    good.close();
    bad.close();
    await srv.close();
  }
});
