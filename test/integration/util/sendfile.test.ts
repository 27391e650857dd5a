/**
 * The native sendfile addon against real TCP sockets on 127.0.0.1: whole files, offset and length, a reader that
 * pauses (so the socket fills, sendfile meets EAGAIN and waits on the poll), and cancellation when either side goes
 * away, without hanging and without leaking file descriptors.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, readdirSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { canSendFile, sendFileAvailable, sendFileToSocket, type SendFileError } from '../../../src/util/index.js';

const openFds = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server whose connection handler is `onConn`, and a client connected to it. */
async function pair(onConn: (s: net.Socket) => void): Promise<{ server: net.Server; client: net.Socket }> {
  const server = net.createServer(onConn);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  return { server, client };
}

async function readAll(client: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  client.on('data', (c: Buffer) => chunks.push(c));
  await once(client, 'end');
  return Buffer.concat(chunks);
}

async function closeServer(server: net.Server): Promise<void> {
  await new Promise<void>((r) => server.close(() => r()));
}

describe('sendfile addon', () => {
  let dir: string;
  let file: string;
  let data: Buffer;
  let fh: fsp.FileHandle;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-sendfile-'));
    file = path.join(dir, 'blob');
    // More than one poll callback's share (8 MiB) and more than loopback socket buffers hold.
    data = randomBytes(24 * 1024 * 1024 + 12345);
    await fsp.writeFile(file, data);
    fh = await fsp.open(file, 'r');
  });
  after(async () => {
    await fh.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('is built and loads here (npm test builds it), and WHARF_NATIVE=0 turns it off', async () => {
    assert.equal(process.platform, 'linux');
    assert.equal(sendFileAvailable(), true);
    process.env.WHARF_NATIVE = '0';
    try {
      assert.equal(sendFileAvailable(), false);
      await assert.rejects(
        sendFileToSocket(new net.Socket(), fh.fd, 0, 10),
        (e: SendFileError) => e.code === 'ENOTSUP',
      );
    } finally {
      delete process.env.WHARF_NATIVE;
    }
    assert.equal(sendFileAvailable(), true);
  });

  it('sends a whole multi-MB file after bytes Node wrote first, then the socket ends normally', async () => {
    const fdsBefore = openFds();
    let result: Promise<number> | undefined;
    const { server, client } = await pair((s) => {
      assert.equal(canSendFile(s), true);
      s.cork();
      s.write('HEADER\n'); // still corked: sendFileToSocket must flush it first, in order
      result = sendFileToSocket(s, fh.fd, 0, data.length).then((n) => {
        s.end('TRAILER');
        return n;
      });
    });
    const got = await readAll(client);
    assert.equal(await result, data.length);
    assert.equal(got.length, data.length + 'HEADER\nTRAILER'.length);
    assert.equal(got.subarray(0, 7).toString(), 'HEADER\n');
    assert.ok(got.subarray(7, 7 + data.length).equals(data), 'body bytes differ');
    assert.equal(got.subarray(7 + data.length).toString(), 'TRAILER');
    client.destroy();
    await closeServer(server);
    await sleep(20);
    assert.equal(openFds(), fdsBefore);
  });

  it('sends a range (offset and length) to a reader that pauses, waiting on the poll meanwhile', async () => {
    const offset = 1_234_567;
    const length = 20 * 1024 * 1024 + 3;
    let settled = false;
    let result: Promise<number> | undefined;
    const { server, client } = await pair((s) => {
      result = sendFileToSocket(s, fh.fd, offset, length).finally(() => {
        settled = true;
        s.end();
      });
    });
    client.pause();
    await sleep(300);
    assert.equal(
      settled,
      false,
      'the transfer finished although the reader read nothing: the socket buffers cannot hold 20 MiB',
    );
    const got = await readAll(client.resume());
    assert.equal(await result, length);
    assert.ok(got.equals(data.subarray(offset, offset + length)), 'range bytes differ');
    client.destroy();
    await closeServer(server);
  });

  it('serves several connections at once, each its own bytes', async () => {
    const results: Array<Promise<number>> = [];
    const server = net.createServer((s) => {
      s.once('data', (b: Buffer) => {
        const offset = Number(b.toString());
        results.push(
          sendFileToSocket(s, fh.fd, offset, 3 * 1024 * 1024).then((n) => {
            s.end();
            return n;
          }),
        );
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const offsets = [0, 1, 4096, 5_000_001, 9_999_999, 20 * 1024 * 1024];
    const bodies = await Promise.all(
      offsets.map(async (o) => {
        const c = net.connect(port, '127.0.0.1');
        await once(c, 'connect');
        c.write(String(o));
        const got = await readAll(c);
        c.destroy();
        return got;
      }),
    );
    for (const [i, o] of offsets.entries())
      assert.ok(bodies[i]!.equals(data.subarray(o, o + 3 * 1024 * 1024)), `connection ${i} got wrong bytes`);
    assert.deepEqual(
      await Promise.all(results),
      offsets.map(() => 3 * 1024 * 1024),
    );
    await closeServer(server);
  });

  it('is cancelled when the server side closes the socket mid-transfer, and the client sees the connection end', async () => {
    const fdsBefore = openFds();
    let result: Promise<number> | undefined;
    let serverSocket: net.Socket | undefined;
    const { server, client } = await pair((s) => {
      serverSocket = s;
      s.on('error', () => undefined);
      result = sendFileToSocket(s, fh.fd, 0, data.length);
    });
    client.pause();
    await sleep(100);
    serverSocket!.destroy();
    const err = await result!.then(
      () => assert.fail('should have been cancelled'),
      (e: SendFileError) => e,
    );
    assert.equal(err.code, 'ECANCELED');
    assert.ok(err.bytesSent > 0 && err.bytesSent < data.length, `bytesSent ${err.bytesSent}`);
    // Our dup of the socket is closed too: the peer gets its end of stream instead of waiting forever.
    client.resume();
    await Promise.race([once(client, 'close'), sleep(5000).then(() => assert.fail('client connection stayed open'))]);
    await closeServer(server);
    await sleep(20);
    assert.equal(openFds(), fdsBefore);
  });

  it('fails (without hanging) when the client disconnects without reading, and leaks no fd', async () => {
    const fdsBefore = openFds();
    let result: Promise<number> | undefined;
    const { server, client } = await pair((s) => {
      s.on('error', () => undefined);
      result = sendFileToSocket(s, fh.fd, 0, data.length);
    });
    client.pause();
    await sleep(100);
    client.destroy();
    const err = await Promise.race([
      result!.then(
        () => assert.fail('should have failed'),
        (e: SendFileError) => e,
      ),
      sleep(5000).then(() => assert.fail('sendfile hung after the client went away')),
    ]);
    assert.ok(['ECANCELED', 'EPIPE', 'ECONNRESET'].includes(err.code!), `code ${err.code}`);
    await closeServer(server);
    await sleep(20);
    assert.equal(openFds(), fdsBefore);
  });

  it('reports EOF when the file is shorter than the length asked, with the bytes that went out', async () => {
    let result: Promise<number> | undefined;
    const { server, client } = await pair((s) => {
      result = sendFileToSocket(s, fh.fd, data.length - 1000, 5000);
      result.catch(() => undefined).finally(() => s.end());
    });
    const got = await readAll(client);
    const err = await result!.then(
      () => assert.fail('should have failed'),
      (e: SendFileError) => e,
    );
    assert.equal(err.code, 'EOF');
    assert.equal(err.bytesSent, 1000);
    assert.ok(got.equals(data.subarray(data.length - 1000)));
    client.destroy();
    await closeServer(server);
  });

  it('sends nothing for length 0 and refuses a destroyed socket', async () => {
    let result: Promise<number> | undefined;
    let destroyed: Promise<unknown> | undefined;
    const { server, client } = await pair((s) => {
      result = sendFileToSocket(s, fh.fd, 0, 0).then((n) => {
        s.destroy();
        destroyed = sendFileToSocket(s, fh.fd, 0, 10).catch((e: SendFileError) => e.code);
        return n;
      });
    });
    await once(client, 'close');
    assert.equal(await result, 0);
    assert.equal(await destroyed, 'ENOTSUP');
    await closeServer(server);
  });
});
