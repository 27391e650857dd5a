/** The ping layer: GET /v2/ learns the scheme and the challenge; what is and is not a registry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agents, httpTransport, type RoundTrip } from '../../../src/remote/transport.js';
import { ping } from '../../../src/remote/ping.js';
import { tlsVerifyFor, type RegistryEndpoint } from '../../../src/remote/hosts.js';
import { json, serve } from './server.js';

const insecure = (host: string): RegistryEndpoint => ({ domain: host, apiHost: host, authKey: host, insecure: true });
const retry = { retries: 3, baseMs: 1 };

function counting(agents: Agents, ep: RegistryEndpoint): { send: RoundTrip; urls: string[] } {
  const urls: string[] = [];
  const transport = httpTransport({ agents, tlsVerify: tlsVerifyFor(ep, undefined), timeoutMs: 5_000 });
  const send: RoundTrip = (req) => {
    urls.push(req.url.href);
    return transport(req);
  };
  return { urls, send };
}

test('an insecure registry without TLS is reached over plain HTTP, and its Bearer challenge is learnt', async () => {
  const srv = await serve((_req, res) =>
    json(
      res,
      401,
      {},
      { 'WWW-Authenticate': 'Basic realm="r", Bearer realm="http://auth.example/token",service="reg"' },
    ),
  );
  const agents = new Agents();
  const ep = insecure(srv.host);
  const { send, urls } = counting(agents, ep);
  try {
    const r = await ping(ep, send, retry);
    assert.equal(r.base.href, `http://${srv.host}/`);
    assert.deepEqual(r.challenge, { scheme: 'bearer', params: { realm: 'http://auth.example/token', service: 'reg' } });
    assert.deepEqual(
      urls,
      [`https://${srv.host}/v2/`, `http://${srv.host}/v2/`],
      'a failed TLS handshake is not retried: HTTP is tried next',
    );
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('an open registry has no challenge; a busy one is retried; 404 and a challenge-less 401 are not registries', async () => {
  let busy = 2;
  const srv = await serve((_req, res) => {
    if (busy-- > 0) return json(res, 503, {});
    json(res, 200, {});
  });
  const agents = new Agents();
  const ep = insecure(srv.host);
  try {
    const r = await ping(ep, counting(agents, ep).send, retry);
    assert.equal(r.challenge, undefined);
    assert.equal(srv.seen.length, 3);
  } finally {
    agents.destroy();
    await srv.close();
  }

  const notRegistry = await serve((req, res) =>
    req.url === '/v2/' && req.method === 'GET' ? json(res, 404, {}) : json(res, 200, {}),
  );
  const noChallenge = await serve((_req, res) => json(res, 401, {}));
  const agents2 = new Agents();
  try {
    const ep404 = insecure(notRegistry.host);
    await assert.rejects(ping(ep404, counting(agents2, ep404).send, retry), {
      code: 'UNAVAILABLE',
      message: `${notRegistry.host} is not a registry: GET /v2/ answered 404`,
    });
    const ep401 = insecure(noChallenge.host);
    await assert.rejects(ping(ep401, counting(agents2, ep401).send, retry), {
      code: 'UNAVAILABLE',
      message: `registry ${noChallenge.host} requires authentication but sent no usable challenge`,
    });
  } finally {
    agents2.destroy();
    await notRegistry.close();
    await noChallenge.close();
  }
});

test('a refused connection fails at once as UNAVAILABLE; a registry that stays down fails after the bounded retries', async () => {
  const gone = await serve(() => {});
  const host = gone.host;
  await gone.close();
  const agents = new Agents();
  const secureEp: RegistryEndpoint = { domain: host, apiHost: host, authKey: host, insecure: false };
  const { send, urls } = counting(agents, secureEp);
  try {
    await assert.rejects(ping(secureEp, send, retry), {
      code: 'UNAVAILABLE',
      message: new RegExp(`^cannot reach registry ${host}: ECONNREFUSED`),
    });
    assert.equal(urls.length, 1, 'nothing listens there: no retry');
  } finally {
    agents.destroy();
  }

  const down = await serve((_req, res) =>
    json(res, 502, { errors: [{ code: 'UNAVAILABLE', message: 'upstream down' }] }),
  );
  const agents2 = new Agents();
  try {
    const ep = insecure(down.host);
    await assert.rejects(ping(ep, counting(agents2, ep).send, { retries: 2, baseMs: 1 }), {
      code: 'UNAVAILABLE',
      message: `pinging registry ${down.host}: unavailable: upstream down`,
    });
    assert.equal(down.seen.length, 3);
  } finally {
    agents2.destroy();
    await down.close();
  }
});
