/**
 * Blob bodies through sendfile(2) (plain HTTP, filesystem storage, the native addon built) and through streams
 * (`http.sendfile: false`): the same bytes, ranges, keep-alive and pipelined requests on one connection, clients
 * that go away, the access log and graceful shutdown. An async hook counts the addon's transfers, so each case
 * knows which path served it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { promises as fsp, readdirSync } from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { sendFileAvailable } from '../../../src/util/index.js';
import { pushBlob, sha256, startTestRegistry, type TestRegistry } from './helpers.js';
import { selfSignedLoopbackCert } from '../../helpers/tls.js';

let transfers = 0;
createHook({
  init(_id, type) {
    if (type === 'WharfSendfile') transfers++;
  },
}).enable();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const openFds = () => readdirSync('/proc/self/fd').length;

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** One keep-alive connection that reads HTTP/1.1 responses off the wire by hand (Content-Length bodies only). */
class RawConnection {
  #buf = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  #ended = false;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, c]);
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.#ended = true;
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(url: string): Promise<RawConnection> {
    const u = new URL(url);
    const s = net.connect(Number(u.port), u.hostname);
    await once(s, 'connect');
    return new RawConnection(s);
  }

  send(method: string, path: string, headers: Record<string, string> = {}): void {
    const lines = [
      `${method} ${path} HTTP/1.1`,
      'Host: registry',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  async #need(n: number): Promise<void> {
    while (this.#buf.length < n) {
      if (this.#ended) throw new Error(`connection closed with ${this.#buf.length} of ${n} bytes`);
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  async read(head = false): Promise<RawResponse> {
    let end = this.#buf.indexOf('\r\n\r\n');
    while (end < 0) {
      await this.#need(this.#buf.length + 1);
      end = this.#buf.indexOf('\r\n\r\n');
    }
    const lines = this.#buf.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    assert.equal(headers['transfer-encoding'], undefined, 'blob answers carry Content-Length, not chunks');
    const length = head ? 0 : Number(headers['content-length'] ?? 0);
    await this.#need(end + 4 + length);
    const body = Buffer.from(this.#buf.subarray(end + 4, end + 4 + length));
    this.#buf = this.#buf.subarray(end + 4 + length);
    return { status: Number(lines[0]!.split(' ')[1]), headers, body };
  }

  async request(method: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    this.send(method, path, headers);
    return this.read(method === 'HEAD');
  }

  close(): void {
    this.socket.destroy();
  }
}

for (const sendfile of [true, false]) {
  describe(`registry blob GET with http.sendfile: ${sendfile}`, () => {
    let r: TestRegistry;
    let big: Buffer;
    let bigDigest: string;
    let small: Buffer;
    let smallDigest: string;
    before(async () => {
      r = await startTestRegistry({ http: { addr: '127.0.0.1:0', sendfile } });
      big = randomBytes(12 * 1024 * 1024 + 777);
      bigDigest = await pushBlob(r.url, 'sf/app', big);
      small = randomBytes(3000);
      smallDigest = await pushBlob(r.url, 'sf/app', small);
    });
    after(async () => {
      await r.stop();
    });

    /** Runs `fn` and checks how many blob bodies went through the addon meanwhile. */
    const expectTransfers = async <T>(n: number, fn: () => Promise<T>): Promise<T> => {
      const before = transfers;
      const out = await fn();
      assert.equal(transfers - before, sendfile ? n : 0, `${sendfile ? n : 0} sendfile transfer(s) expected`);
      return out;
    };

    it(sendfile ? 'uses sendfile here: the addon is built' : 'streams although the addon is there', () => {
      assert.equal(sendFileAvailable(), true);
      assert.equal(r.config.sendfile, sendfile);
    });

    it('serves whole blobs and ranges with the right bytes and headers', async () => {
      await expectTransfers(3, async () => {
        let res = await fetch(`${r.url}/v2/sf/app/blobs/${bigDigest}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-length'), String(big.length));
        assert.equal(res.headers.get('docker-content-digest'), bigDigest);
        assert.equal(sha256(Buffer.from(await res.arrayBuffer())), bigDigest);

        res = await fetch(`${r.url}/v2/sf/app/blobs/${bigDigest}`, { headers: { Range: 'bytes=1000000-9000000' } });
        assert.equal(res.status, 206);
        assert.equal(res.headers.get('content-range'), `bytes 1000000-9000000/${big.length}`);
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(big.subarray(1_000_000, 9_000_001)));

        res = await fetch(`${r.url}/v2/sf/app/blobs/${bigDigest}`, { headers: { Range: 'bytes=-100' } });
        assert.equal(res.status, 206);
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(big.subarray(big.length - 100)));
      });
    });

    it('answers several requests on one keep-alive connection, each body followed by the next response', async () => {
      const conn = await RawConnection.open(r.url);
      try {
        await expectTransfers(4, async () => {
          let res = await conn.request('GET', `/v2/sf/app/blobs/${smallDigest}`);
          assert.equal(res.status, 200);
          assert.ok(res.body.equals(small));
          res = await conn.request('HEAD', `/v2/sf/app/blobs/${bigDigest}`);
          assert.equal(res.status, 200);
          assert.equal(res.headers['content-length'], String(big.length));
          res = await conn.request('GET', `/v2/sf/app/blobs/${bigDigest}`);
          assert.equal(res.status, 200);
          assert.ok(res.body.equals(big));
          res = await conn.request('GET', `/v2/sf/app/blobs/${bigDigest}`, { Range: 'bytes=5-104' });
          assert.equal(res.status, 206);
          assert.ok(res.body.equals(big.subarray(5, 105)));
          res = await conn.request('GET', `/v2/sf/app/blobs/${sha256('absent')}`);
          assert.equal(res.status, 404);
          assert.match(res.body.toString(), /BLOB_UNKNOWN/);
          res = await conn.request('GET', `/v2/sf/app/blobs/${smallDigest}`);
          assert.ok(res.body.equals(small));
        });
      } finally {
        conn.close();
      }
    });

    it('answers pipelined requests in order (a queued response streams, its socket is not its own yet)', async () => {
      const conn = await RawConnection.open(r.url);
      try {
        for (const p of [bigDigest, smallDigest, bigDigest]) conn.send('GET', `/v2/sf/app/blobs/${p}`);
        const bodies = [await conn.read(), await conn.read(), await conn.read()].map((x) => x.body);
        assert.ok(bodies[0]!.equals(big));
        assert.ok(bodies[1]!.equals(small));
        assert.ok(bodies[2]!.equals(big));
      } finally {
        conn.close();
      }
    });

    it('logs the body bytes of every blob GET', async () => {
      const before = r.logs.length;
      await fetch(`${r.url}/v2/sf/app/blobs/${bigDigest}`).then((res) => res.arrayBuffer());
      await sleep(50);
      const line = r.logs.slice(before).find((l) => l.includes(`/blobs/${bigDigest}`));
      assert.ok(line, 'an access-log line');
      const bytes = Number(/" 200 (\d+) /.exec(line!)?.[1]);
      assert.ok(bytes > big.length && bytes < big.length + 2000, `logged ${bytes} bytes for a body of ${big.length}`);
    });

    it('survives clients that disconnect mid-body, leaking no fd, and keeps serving', async () => {
      await sleep(50);
      const fdsBefore = openFds();
      for (let i = 0; i < 5; i++) {
        const conn = await RawConnection.open(r.url);
        conn.socket.pause();
        conn.send('GET', `/v2/sf/app/blobs/${bigDigest}`);
        await sleep(100);
        conn.close();
      }
      const res = await fetch(`${r.url}/v2/sf/app/blobs/${bigDigest}`);
      assert.equal(sha256(Buffer.from(await res.arrayBuffer())), bigDigest);
      for (let i = 0; i < 50 && openFds() > fdsBefore; i++) await sleep(20);
      assert.equal(openFds(), fdsBefore);
    });
  });
}

for (const sendfile of [true, false]) {
  describe(`http.idletimeout with http.sendfile: ${sendfile}`, () => {
    it('drops a client that stopped reading a blob, and keeps one that reads slowly', async () => {
      const r = await startTestRegistry({ http: { addr: '127.0.0.1:0', sendfile, idletimeout: '1s' } });
      try {
        assert.equal(r.config.idleTimeoutMs, 1000);
        const big = randomBytes(24 * 1024 * 1024);
        const digest = await pushBlob(r.url, 'sf/idle', big);
        const before = transfers;
        const stuck = await RawConnection.open(r.url);
        stuck.socket.pause();
        stuck.send('GET', `/v2/sf/idle/blobs/${digest}`);
        await sleep(3500);
        stuck.socket.resume();
        await assert.rejects(
          stuck.read(),
          /connection closed with \d+ of \d+ bytes/,
          'the server gave up on the stalled download',
        );
        assert.equal(transfers - before, sendfile ? 1 : 0);

        // A reader that takes its time (pauses shorter than the timeout) gets the whole body. Bytes are hashed as
        // they come: this process also runs the registry, and must not stall its event loop with big copies.
        const u = new URL(r.url);
        const slow = net.connect(Number(u.port), u.hostname);
        await once(slow, 'connect');
        const hash = createHash('sha256');
        let head = Buffer.alloc(0);
        let body = 0;
        let inBody = false;
        slow.on('data', (c: Buffer) => {
          if (!inBody) {
            head = Buffer.concat([head, c]);
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) return;
            inBody = true;
            c = head.subarray(end + 4);
          }
          hash.update(c);
          body += c.length;
        });
        const closed = once(slow, 'close');
        slow.write(`GET /v2/sf/idle/blobs/${digest} HTTP/1.1\r\nHost: registry\r\n\r\n`);
        for (let i = 0; i < 200 && body < big.length && !slow.destroyed; i++) {
          slow.pause();
          await sleep(300);
          slow.resume();
          await sleep(20);
        }
        assert.equal(body, big.length, 'the whole body arrived');
        assert.equal(`sha256:${hash.digest('hex')}`, digest);
        slow.destroy();
        await closed;
      } finally {
        await r.stop();
      }
    });
  });
}

describe('registry shutdown with a blob download in flight', () => {
  it('waits for a slow reader to get the whole body, then closes', async () => {
    const r = await startTestRegistry();
    try {
      const big = randomBytes(16 * 1024 * 1024);
      const digest = await pushBlob(r.url, 'sf/shut', big);
      const conn = await RawConnection.open(r.url);
      conn.socket.pause();
      conn.send('GET', `/v2/sf/shut/blobs/${digest}`);
      await sleep(200);
      let closed = false;
      const closing = r.close().then(() => (closed = true));
      await sleep(200);
      assert.equal(closed, false, 'close waits for the response in flight');
      conn.socket.resume();
      const res = await conn.read();
      assert.equal(sha256(res.body), digest);
      await closing;
      conn.close();
    } finally {
      await r.stop().catch(() => undefined);
    }
  });
});

describe('registry blob GET over TLS', () => {
  it('streams (sendfile would bypass the encryption) and the bytes arrive intact', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-sf-tls-'));
    const { cert, key } = selfSignedLoopbackCert(dir);
    const r = await startTestRegistry({ http: { addr: '127.0.0.1:0', tls: { certificate: cert, key } } });
    try {
      const ca = await fsp.readFile(cert);
      const call = (method: string, p: string, body?: Buffer) =>
        new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
          const req = https.request(`${r.url}${p}`, { method, ca }, (m) => {
            const chunks: Buffer[] = [];
            m.on('data', (c: Buffer) => chunks.push(c));
            m.on('end', () => resolve({ status: m.statusCode!, body: Buffer.concat(chunks) }));
          });
          req.on('error', reject);
          req.end(body);
        });
      const data = randomBytes(3 * 1024 * 1024 + 5);
      const digest = sha256(data);
      assert.equal((await call('POST', `/v2/sf/tls/blobs/uploads/?digest=${digest}`, data)).status, 201);
      const before = transfers;
      const got = await call('GET', `/v2/sf/tls/blobs/${digest}`);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(data));
      assert.equal(transfers, before, 'no sendfile under TLS');
    } finally {
      await r.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
