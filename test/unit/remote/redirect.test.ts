/** The redirect layer: blob GETs follow Location to storage without taking the registry's credentials along. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agents, httpTransport, readBody, discard } from '../../../src/remote/transport.js';
import { MAX_REDIRECTS, withRedirects } from '../../../src/remote/redirect.js';
import { serve } from './server.js';

test('a redirect to another host is followed without the Authorization header; one on the same host keeps it', async () => {
  const storage = await serve((_req, res) => res.end('layer bytes'));
  const registry = await serve((req, res) => {
    if (req.url === '/v2/x/blobs/a') {
      res.writeHead(307, { Location: `http://${storage.host}/bucket/blob?sig=1` });
      return res.end();
    }
    if (req.url === '/v2/x/blobs/b') {
      res.writeHead(302, { Location: '/v2/x/blobs/b-moved' });
      return res.end();
    }
    res.end('same host');
  });
  const agents = new Agents();
  const send = withRedirects(httpTransport({ agents, tlsVerify: () => true }));
  const headers = { Authorization: 'Basic dTpw', Accept: '*/*' };
  try {
    const a = await send({
      url: new URL(`http://${registry.host}/v2/x/blobs/a`),
      method: 'GET',
      headers,
      followRedirects: true,
    });
    assert.equal((await readBody(a, 100, 'blob')).toString(), 'layer bytes');
    assert.equal(a.url.host, storage.host);
    assert.equal(registry.seen[0]!.auth, 'Basic dTpw');
    assert.equal(storage.seen[0]!.url, '/bucket/blob?sig=1');
    assert.equal(storage.seen[0]!.auth, undefined, 'credentials must not leak to the storage host');

    const b = await send({
      url: new URL(`http://${registry.host}/v2/x/blobs/b`),
      method: 'GET',
      headers,
      followRedirects: true,
    });
    assert.equal((await readBody(b, 100, 'blob')).toString(), 'same host');
    assert.deepEqual(
      registry.seen.slice(1).map((s) => [s.url, s.auth]),
      [
        ['/v2/x/blobs/b', 'Basic dTpw'],
        ['/v2/x/blobs/b-moved', 'Basic dTpw'],
      ],
    );
    assert.equal(headers.Authorization, 'Basic dTpw', "the caller's headers are not edited");
  } finally {
    agents.destroy();
    await registry.close();
    await storage.close();
  }
});

test('redirects are followed only when asked, and at most MAX_REDIRECTS hops', async () => {
  let hops = 0;
  const srv = await serve((_req, res) => {
    hops++;
    res.writeHead(302, { Location: `/hop/${hops}` });
    res.end();
  });
  const agents = new Agents();
  const send = withRedirects(httpTransport({ agents, tlsVerify: () => true }));
  try {
    const once = await send({ url: new URL(`http://${srv.host}/start`), method: 'GET' });
    assert.equal(once.status, 302);
    await discard(once);
    assert.equal(hops, 1);
    hops = 0;
    const loop = await send({ url: new URL(`http://${srv.host}/start`), method: 'GET', followRedirects: true });
    assert.equal(loop.status, 302, 'a redirect loop ends with the last redirect answered');
    await discard(loop);
    assert.equal(hops, MAX_REDIRECTS + 1);
  } finally {
    agents.destroy();
    await srv.close();
  }
});
