/** The one transport and the TLS rule it applies, against a real server on 127.0.0.1. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Agents, USER_AGENT, httpTransport, readBody, discard } from '../../../src/remote/transport.js';
import { tlsVerifyFor } from '../../../src/remote/hosts.js';
import { serve } from './server.js';

test('httpTransport sends the user agent, Content-Length for buffers, chunks for streams, and answers the response', async () => {
  const got: Array<{ ua?: string; length?: string; chunked: boolean; body: string }> = [];
  const srv = await serve((req, res, body) => {
    got.push({
      ...(req.headers['user-agent'] ? { ua: req.headers['user-agent'] } : {}),
      ...(req.headers['content-length'] ? { length: req.headers['content-length'] } : {}),
      chunked: req.headers['transfer-encoding'] === 'chunked',
      body: body.toString(),
    });
    res.writeHead(201, { 'X-Echo': req.method! });
    res.end(`got ${body.length}`);
  });
  const agents = new Agents();
  const send = httpTransport({ agents, tlsVerify: () => true, timeoutMs: 5_000 });
  try {
    const a = await send({ url: new URL(`http://${srv.host}/a`), method: 'PUT', body: Buffer.from('hello') });
    assert.equal(a.status, 201);
    assert.equal(a.headers['x-echo'], 'PUT');
    assert.equal((await readBody(a, 100, 'answer')).toString(), 'got 5');
    const b = await send({
      url: new URL(`http://${srv.host}/b`),
      method: 'PATCH',
      body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]),
    });
    await discard(b);
    const c = await send({ url: new URL(`http://${srv.host}/c`), method: 'POST' });
    await discard(c);
    assert.deepEqual(got, [
      { ua: USER_AGENT, length: '5', chunked: false, body: 'hello' },
      { ua: USER_AGENT, chunked: true, body: 'abcd' },
      { ua: USER_AGENT, length: '0', chunked: false, body: '' },
    ]);
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('readBody refuses a body over its limit with TOO_LARGE', async () => {
  const srv = await serve((_req, res) => res.end('x'.repeat(1000)));
  const agents = new Agents();
  try {
    const res = await httpTransport({ agents, tlsVerify: () => true })({
      url: new URL(`http://${srv.host}/`),
      method: 'GET',
    });
    await assert.rejects(readBody(res, 10, 'the body'), {
      code: 'TOO_LARGE',
      message: 'the body is 1000 bytes, more than the 10-byte limit',
    });
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('a silent peer fails the request with ETIMEDOUT after the timeout', async () => {
  const srv = await serve(() => {
    // never answers
  });
  const agents = new Agents();
  try {
    await assert.rejects(
      httpTransport({ agents, tlsVerify: () => true, timeoutMs: 100 })({
        url: new URL(`http://${srv.host}/`),
        method: 'GET',
      }),
      { code: 'ETIMEDOUT' },
    );
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('the TLS rule: an insecure registry is unverified on its own host only; --tls-verify=false everywhere', () => {
  const insecure = { domain: 'reg.lan:5000', apiHost: 'reg.lan:5000', authKey: 'reg.lan:5000', insecure: true };
  const secure = { domain: 'ghcr.io', apiHost: 'ghcr.io', authKey: 'ghcr.io', insecure: false };
  const own = new URL('https://reg.lan:5000/v2/');
  const storage = new URL('https://s3.example.com/bucket');
  assert.equal(tlsVerifyFor(insecure, undefined)(own), false);
  assert.equal(tlsVerifyFor(insecure, undefined)(storage), true, 'a redirect to storage is verified');
  assert.equal(tlsVerifyFor(secure, undefined)(new URL('https://ghcr.io/v2/')), true);
  assert.equal(tlsVerifyFor(secure, false)(new URL('https://ghcr.io/v2/')), false);
  assert.equal(tlsVerifyFor(secure, false)(storage), false);
  // The default port is the same host whether written or not.
  const standard = { domain: 'reg:443', apiHost: 'reg:443', authKey: 'reg:443', insecure: true };
  assert.equal(tlsVerifyFor(standard, undefined)(new URL('https://reg/v2/')), false);
});
