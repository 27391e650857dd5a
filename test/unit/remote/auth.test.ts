/** The auth layer, alone and under the retry layer: challenge → token → request, scope widening, Basic. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Agents, discard, httpTransport, readBody } from '../../../src/remote/transport.js';
import { Authenticator, withAuth } from '../../../src/remote/auth.js';
import { withRetry } from '../../../src/remote/retry.js';
import type { Credentials } from '../../../src/remote/credentials.js';
import { json, serve } from './server.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

function layers(agents: Agents, creds: Credentials | undefined) {
  const transport = httpTransport({ agents, tlsVerify: () => true });
  const auth = new Authenticator({
    registry: 'test',
    credentials: async () => creds,
    send: transport,
    tlsVerify: true,
  });
  return { auth, send: withRetry(withAuth(transport, auth), { retries: 2, baseMs: 1 }) };
}

test('a 401 challenge brings a Bearer token for the scope, the request is sent again, and a 503 after it is retried', async () => {
  const tokens: string[] = [];
  let busy = 1;
  const srv = await serve((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/token') {
      tokens.push(
        `${url.searchParams.get('service')} ${url.searchParams.getAll('scope').join(' ')} ${req.headers.authorization ?? 'anonymous'}`,
      );
      return json(res, 200, { token: 'T1', expires_in: 300 });
    }
    if (req.headers.authorization !== 'Bearer T1') {
      return json(
        res,
        401,
        { errors: [{ code: 'UNAUTHORIZED' }] },
        { 'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="reg"` },
      );
    }
    if (busy-- > 0) return json(res, 503, {});
    json(res, 200, { tags: ['1'] });
  });
  const agents = new Agents();
  const { auth, send } = layers(agents, { username: 'u', password: 'p' });
  try {
    const res = await send({
      url: new URL(`http://${srv.host}/v2/x/tags/list`),
      method: 'GET',
      scopes: ['repository:x:pull'],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse((await readBody(res, 1000, 'tags')).toString()), { tags: ['1'] });
    assert.equal(auth.challenge?.scheme, 'bearer');
    assert.deepEqual(tokens, [`reg repository:x:pull ${basic('u', 'p')}`]);
    assert.deepEqual(
      srv.seen.filter((s) => s.url.startsWith('/v2/')).map((s) => s.auth ?? 'none'),
      ['none', 'Bearer T1', 'Bearer T1'],
    );
    // The token is cached for its scope: the next request needs no token request.
    await discard(
      await send({ url: new URL(`http://${srv.host}/v2/x/tags/list`), method: 'GET', scopes: ['repository:x:pull'] }),
    );
    assert.equal(tokens.length, 1);
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('a 401 naming a scope the token lacks widens the scope once; a second refusal is answered', async () => {
  const tokens: string[] = [];
  const srv = await serve((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/token') {
      const scopes = url.searchParams.getAll('scope');
      tokens.push(scopes.join(' '));
      return json(res, 200, { token: scopes.join('+') });
    }
    const challenge = `Bearer realm="http://${req.headers.host}/token",service="reg",scope="repository:y:pull"`;
    if (url.pathname === '/never') return json(res, 401, {}, { 'WWW-Authenticate': challenge });
    if (req.headers.authorization === 'Bearer repository:x:pull,push+repository:y:pull') return json(res, 201, {});
    json(res, 401, {}, { 'WWW-Authenticate': challenge });
  });
  const agents = new Agents();
  const { auth, send } = layers(agents, undefined);
  auth.learn({ scheme: 'bearer', params: { realm: `http://${srv.host}/token`, service: 'reg' } });
  try {
    const res = await send({
      url: new URL(`http://${srv.host}/v2/x/blobs/uploads/`),
      method: 'POST',
      scopes: ['repository:x:pull,push'],
    });
    assert.equal(res.status, 201);
    await discard(res);
    assert.deepEqual(tokens, ['repository:x:pull,push', 'repository:x:pull,push repository:y:pull']);
    const refused = await send({
      url: new URL(`http://${srv.host}/never`),
      method: 'GET',
      scopes: ['repository:x:pull'],
    });
    assert.equal(refused.status, 401, 'one re-authentication per request, then the 401 is the answer');
    await discard(refused);
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('Basic: credentials are sent once the registry asks; without any the 401 is answered; streams are not re-sent', async () => {
  const srv = await serve((req, res) => {
    if (req.headers.authorization === basic('u', 'p')) return json(res, 200, {});
    json(res, 401, {}, { 'WWW-Authenticate': 'Basic realm="r"' });
  });
  const agents = new Agents();
  const withCreds = layers(agents, { username: 'u', password: 'p' });
  const without = layers(agents, undefined);
  try {
    const ok = await withCreds.send({ url: new URL(`http://${srv.host}/v2/`), method: 'GET', scopes: [] });
    assert.equal(ok.status, 200);
    await discard(ok);
    assert.deepEqual(
      srv.seen.map((s) => s.auth ?? 'none'),
      ['none', basic('u', 'p')],
    );

    const refused = await without.send({ url: new URL(`http://${srv.host}/v2/`), method: 'GET', scopes: [] });
    assert.equal(refused.status, 401);
    await discard(refused);

    const before = srv.seen.length;
    const streamed = await without.send({
      url: new URL(`http://${srv.host}/up`),
      method: 'PATCH',
      body: Readable.from([Buffer.from('x')]),
      scopes: [],
    });
    assert.equal(streamed.status, 401);
    await discard(streamed);
    assert.equal(srv.seen.length, before + 1);
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('anonymousFirst: the first attempt carries no credentials even when a challenge is known', async () => {
  const srv = await serve((req, res) => {
    if (req.url === '/public') return json(res, 200, {});
    if (req.headers.authorization) return json(res, 200, { private: true });
    json(res, 401, {}, { 'WWW-Authenticate': 'Basic realm="r"' });
  });
  const agents = new Agents();
  const { auth, send } = layers(agents, { username: 'u', password: 'p' });
  auth.learn({ scheme: 'basic', params: {} });
  try {
    await discard(
      await send({ url: new URL(`http://${srv.host}/public`), method: 'GET', scopes: [], anonymousFirst: true }),
    );
    await discard(
      await send({ url: new URL(`http://${srv.host}/private`), method: 'GET', scopes: [], anonymousFirst: true }),
    );
    assert.deepEqual(
      srv.seen.map((s) => `${s.url} ${s.auth ?? 'none'}`),
      ['/public none', '/private none', `/private ${basic('u', 'p')}`],
    );
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('a refused token request is UNAUTHORIZED and is not retried', async () => {
  let tokenRequests = 0;
  const srv = await serve((req, res) => {
    if (req.url!.startsWith('/token')) {
      tokenRequests++;
      return json(res, 401, {});
    }
    json(res, 401, {}, { 'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token"` });
  });
  const agents = new Agents();
  const { send } = layers(agents, { username: 'u', password: 'wrong' });
  try {
    await assert.rejects(
      send({ url: new URL(`http://${srv.host}/v2/x/tags/list`), method: 'GET', scopes: ['repository:x:pull'] }),
      {
        code: 'UNAUTHORIZED',
        message: 'test: unauthorized: incorrect username or password',
      },
    );
    assert.equal(tokenRequests, 1);
  } finally {
    agents.destroy();
    await srv.close();
  }
});
