/** The retry layer: which failures are retried, how long it waits, and that the attempts are bounded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Agents, discard, httpTransport } from '../../../src/remote/transport.js';
import { backoff, retryAfterMs, withRetry } from '../../../src/remote/retry.js';
import { json, serve } from './server.js';

test('5xx and 429 are retried with doubling back-off, at most `retries` times, and the last answer is returned', async () => {
  const srv = await serve((_req, res) => json(res, 503, { errors: [{ code: 'UNAVAILABLE', message: 'busy' }] }));
  const agents = new Agents();
  const send = withRetry(httpTransport({ agents, tlsVerify: () => true }), { retries: 3, baseMs: 20 });
  try {
    const t0 = Date.now();
    const res = await send({ url: new URL(`http://${srv.host}/v2/x`), method: 'GET' });
    const took = Date.now() - t0;
    assert.equal(res.status, 503, 'after the last attempt the answer is the caller’s to judge');
    await discard(res);
    assert.equal(srv.seen.length, 4, 'one attempt and three retries');
    assert.ok(took >= 20 + 40 + 80 - 5, `backed off 20+40+80 ms, took ${took}`);
    assert.ok(took < 2_000, `bounded, took ${took}`);
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('a server that recovers is retried until it answers; other statuses are answered at once', async () => {
  let calls = 0;
  const srv = await serve((req, res) => {
    if (req.url === '/404') return json(res, 404, {});
    calls++;
    if (calls === 1) return json(res, 429, {}, { 'Retry-After': '0' });
    if (calls === 2) return json(res, 500, {});
    json(res, 200, { ok: true });
  });
  const agents = new Agents();
  const send = withRetry(httpTransport({ agents, tlsVerify: () => true }), { retries: 3, baseMs: 1 });
  try {
    const res = await send({ url: new URL(`http://${srv.host}/flaky`), method: 'GET' });
    assert.equal(res.status, 200);
    await discard(res);
    assert.equal(calls, 3);
    const nf = await send({ url: new URL(`http://${srv.host}/404`), method: 'GET' });
    assert.equal(nf.status, 404);
    await discard(nf);
    assert.equal(srv.seen.filter((s) => s.url === '/404').length, 1);
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('a dropped connection is retried; a streamed body is sent once', async () => {
  let calls = 0;
  const srv = await serve((_req, res) => {
    calls++;
    if (calls === 1) return res.socket?.destroy();
    json(res, calls === 2 ? 200 : 503, {});
  });
  const agents = new Agents();
  const send = withRetry(httpTransport({ agents, tlsVerify: () => true }), { retries: 3, baseMs: 1 });
  try {
    const res = await send({ url: new URL(`http://${srv.host}/x`), method: 'GET' });
    assert.equal(res.status, 200);
    await discard(res);
    assert.equal(calls, 2);
    const streamed = await send({
      url: new URL(`http://${srv.host}/x`),
      method: 'PATCH',
      body: Readable.from([Buffer.from('bytes')]),
    });
    assert.equal(streamed.status, 503, 'a stream cannot be replayed, so its failure is answered');
    await discard(streamed);
    assert.equal(calls, 3);
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('a refused connection fails after the bounded retries with the network error', async () => {
  const srv = await serve(() => {});
  const host = srv.host;
  await srv.close();
  const agents = new Agents();
  let attempts = 0;
  const transport = httpTransport({ agents, tlsVerify: () => true });
  const send = withRetry(
    (req) => {
      attempts++;
      return transport(req);
    },
    { retries: 2, baseMs: 1 },
  );
  try {
    await assert.rejects(send({ url: new URL(`http://${host}/`), method: 'GET' }), { code: 'ECONNREFUSED' });
    assert.equal(attempts, 3);
  } finally {
    agents.destroy();
  }
});

test('an abort during the back-off is CANCELLED', async () => {
  const srv = await serve((_req, res) => json(res, 503, {}));
  const agents = new Agents();
  const ac = new AbortController();
  const send = withRetry(httpTransport({ agents, tlsVerify: () => true }), {
    retries: 3,
    baseMs: 5_000,
    signal: ac.signal,
  });
  try {
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(send({ url: new URL(`http://${srv.host}/`), method: 'GET' }), { code: 'CANCELLED' });
    assert.equal(srv.seen.length, 1);
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('back-off doubles; Retry-After is seconds or an HTTP date', () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((a) => backoff({ baseMs: 250 }, a)),
    [250, 500, 1000, 2000],
  );
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs(undefined), undefined);
  assert.equal(retryAfterMs('soon'), undefined);
  const inTwo = retryAfterMs(new Date(Date.now() + 2_000).toUTCString())!;
  assert.ok(inTwo > 0 && inTwo <= 2_000);
  assert.equal(retryAfterMs(new Date(Date.now() - 60_000).toUTCString()), 0);
});
