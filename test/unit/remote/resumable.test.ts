/** The resumable-read layer: a download cut mid-body continues with Range from the byte reached. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { WharfError } from '../../../src/errors/index.js';
import { Agents, httpTransport } from '../../../src/remote/transport.js';
import { resumableRead, type ResumableSource } from '../../../src/remote/resumable.js';
import { serve } from './server.js';

const blob = randomBytes(300_000);

/** Sends the head and `upTo` bytes of the body, then cuts the connection. */
function cut(res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer, upTo: number): void {
  res.writeHead(status, headers);
  res.write(body.subarray(0, upTo), () => setTimeout(() => res.socket?.destroy(), 20));
}

function source(agents: Agents, host: string): ResumableSource {
  const send = httpTransport({ agents, tlsVerify: () => true, timeoutMs: 5_000 });
  return {
    what: 'blob b',
    host,
    retry: { baseMs: 1 },
    open: async (offset) => {
      const res = await send({
        url: new URL(`http://${host}/blob`),
        method: 'GET',
        ...(offset > 0 ? { headers: { Range: `bytes=${offset}-` } } : {}),
      });
      if (res.status !== 200 && res.status !== 206) throw new WharfError('UNAVAILABLE', `status ${res.status}`);
      return res;
    },
  };
}

test('a connection cut mid-body is resumed with Range from the byte reached, until the whole blob is read', async () => {
  let gets = 0;
  const srv = await serve((req, res) => {
    gets++;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const rest = blob.subarray(start);
    const headers: Record<string, string> = { 'Content-Length': String(rest.length) };
    if (m) headers['Content-Range'] = `bytes ${start}-${blob.length - 1}/${blob.length}`;
    // The first two answers are cut after 100 kB.
    if (gets <= 2) return cut(res, m ? 206 : 200, headers, rest, 100_000);
    res.writeHead(m ? 206 : 200, headers);
    res.end(rest);
  });
  const agents = new Agents();
  try {
    const resumes: number[] = [];
    const got = Buffer.concat(
      await resumableRead(source(agents, srv.host), { onResume: (o) => resumes.push(o) }).toArray(),
    );
    assert.ok(got.equals(blob), 'the resumed bytes are the blob');
    assert.equal(resumes.length, 2);
    assert.deepEqual(
      srv.seen.map((s) => s.range ?? 'whole'),
      ['whole', `bytes=${resumes[0]}-`, `bytes=${resumes[1]}-`],
    );
    assert.ok(resumes[0]! > 0 && resumes[0]! <= 100_000 && resumes[1]! > resumes[0]!);
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('a server that ignores Range and answers 200 is skipped forward; a start at the size reads nothing', async () => {
  const srv = await serve((_req, res) => {
    res.writeHead(200, { 'Content-Length': String(blob.length) });
    res.end(blob);
  });
  const agents = new Agents();
  try {
    const tail = Buffer.concat(
      await resumableRead(source(agents, srv.host), { start: 250_000, size: blob.length }).toArray(),
    );
    assert.ok(tail.equals(blob.subarray(250_000)));
    assert.equal(srv.seen[0]!.range, 'bytes=250000-');
    const none = await resumableRead(source(agents, srv.host), { start: blob.length, size: blob.length }).toArray();
    assert.equal(none.length, 0);
    assert.equal(srv.seen.length, 1);
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('resumes are bounded: a link that keeps failing gives up with UNAVAILABLE naming the registry', async () => {
  const srv = await serve((_req, res) => cut(res, 200, { 'Content-Length': String(blob.length) }, blob, 1_000));
  const agents = new Agents();
  try {
    const stream = resumableRead(source(agents, srv.host), { maxResumes: 2, size: blob.length });
    await assert.rejects(stream.toArray(), (err: WharfError) => {
      assert.equal(err.code, 'UNAVAILABLE');
      assert.match(err.message, new RegExp(`^cannot reach registry ${srv.host}: `));
      return true;
    });
    assert.equal(srv.seen.length, 3, 'the first attempt and two resumes');
  } finally {
    agents.destroy();
    await srv.close();
  }
});

test('a 206 for the wrong range is refused rather than spliced in', async () => {
  const srv = await serve((_req, res) => {
    res.writeHead(206, { 'Content-Length': '10', 'Content-Range': `bytes 0-9/${blob.length}` });
    res.end(blob.subarray(0, 10));
  });
  const agents = new Agents();
  try {
    await assert.rejects(resumableRead(source(agents, srv.host), { start: 5 }).toArray(), {
      code: 'UNAVAILABLE',
      message: `blob b: registry answered Range 5- with bytes 0-9/${blob.length}`,
    });
  } finally {
    agents.destroy();
    await srv.close();
  }
});
