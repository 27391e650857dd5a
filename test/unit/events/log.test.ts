import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  EventLog,
  MAX_EVENT_LINE,
  appendEvent,
  decodeEvent,
  encodeEvent,
  eventsPath,
  followEvents,
  makeEvent,
  readEvents,
  type WharfEvent,
} from '../../../src/events/index.js';

const tmpRoot = () => fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-events-'));
const ID = 'a'.repeat(64);

test("an event has Docker's shape: status/id/from for containers, exact nanoseconds, string attributes", () => {
  const e = makeEvent('container', 'start', ID, { image: 'busybox', name: 'web' }, 1765000000123456789n);
  const line = encodeEvent(e);
  assert.equal(
    line,
    `{"status":"start","id":"${ID}","from":"busybox","Type":"container","Action":"start",` +
      `"Actor":{"ID":"${ID}","Attributes":{"image":"busybox","name":"web"}},"scope":"local",` +
      `"time":1765000000,"timeNano":1765000000123456789}\n`,
  );
  assert.deepEqual(decodeEvent(line.trimEnd()), e);
  // Volumes have no status/id/from, as Docker sends them.
  const v = makeEvent('volume', 'create', 'data', { driver: 'local' }, 1n);
  assert.equal(v.status, undefined);
  assert.equal(v.id, undefined);
  assert.match(encodeEvent(v), /^\{"Type":"volume","Action":"create","Actor":\{"ID":"data"/);
  // Images have status and id but no from.
  const i = makeEvent('image', 'tag', 'sha256:1', { name: 'x:1' }, 1n);
  assert.deepEqual([i.status, i.id, i.from], ['tag', 'sha256:1', undefined]);
});

test('torn and foreign lines decode to nothing', () => {
  for (const bad of ['', '{', 'null', '[]', '{"Type":"container"}', '{"Type":"container","Action":"x","Actor":{}}'])
    assert.equal(decodeEvent(bad), undefined, bad);
});

test('a line stays below 4 KiB: long values are cut, then the longest labels dropped, name and image kept', () => {
  const labels: Record<string, string> = {};
  for (let i = 0; i < 20; i++) labels[`label.${i}`] = 'x'.repeat(1000);
  const e = makeEvent('container', 'create', ID, { ...labels, image: 'busybox', name: 'web' });
  assert.equal(e.Actor.Attributes['label.0']!.length, 512);
  const line = encodeEvent(e);
  assert.ok(Buffer.byteLength(line) < MAX_EVENT_LINE);
  const back = decodeEvent(line)!;
  assert.equal(back.Actor.Attributes.name, 'web');
  assert.equal(back.Actor.Attributes.image, 'busybox');
});

test('appendEvent appends lines (0600), rotates a large log to events.log.1, and readEvents reads both in order', async () => {
  const root = await tmpRoot();
  try {
    for (let i = 0; i < 3; i++)
      assert.ok(appendEvent(root, makeEvent('volume', 'create', `v${i}`), { rotateBytes: 150 }));
    assert.equal((await fsp.stat(eventsPath(root))).mode & 0o777, 0o600);
    const names = (await readEvents(root)).map((e) => e.Actor.ID);
    assert.deepEqual(names, ['v0', 'v1', 'v2']);
    // A line is about 140 bytes: the third append found 280 > 150 and rotated first.
    const older = await fsp.readFile(`${eventsPath(root)}.1`, 'utf8');
    assert.deepEqual(
      older
        .trimEnd()
        .split('\n')
        .map((l) => decodeEvent(l)?.Actor.ID),
      ['v0', 'v1'],
    );
    // A torn line (a writer died mid-line) and a foreign one are skipped; a last line without newline is not yet one.
    await fsp.appendFile(eventsPath(root), '{"Type":"vol\nnot json\n');
    await fsp.appendFile(eventsPath(root), encodeEvent(makeEvent('volume', 'destroy', 'v3')));
    await fsp.appendFile(eventsPath(root), encodeEvent(makeEvent('volume', 'destroy', 'v4')).trimEnd());
    assert.deepEqual(
      (await readEvents(root)).map((e) => `${e.Action} ${e.Actor.ID}`),
      ['create v0', 'create v1', 'create v2', 'destroy v3'],
    );
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('an event log that cannot be written costs the event, never the operation', () => {
  assert.equal(appendEvent('/proc/no-such-dir', makeEvent('volume', 'create', 'x')), false);
  new EventLog('/proc/no-such-dir').emit('volume', 'create', 'x');
});

test('followEvents yields appended events (not older ones), follows a rotation, and stops on abort', async () => {
  const root = await tmpRoot();
  const log = new EventLog(root);
  log.emit('volume', 'create', 'old');
  const ac = new AbortController();
  const got: WharfEvent[] = [];
  const done = (async () => {
    for await (const e of followEvents(root, { signal: ac.signal })) {
      got.push(e);
      if (e.Actor.ID === 'new') {
        // Rotation: the rest of the renamed file, then the new file from its start.
        await fsp.rename(eventsPath(root), `${eventsPath(root)}.1`);
        log.emit('volume', 'create', 'after-rotation');
      }
      if (e.Actor.ID === 'after-rotation') ac.abort();
    }
  })();
  // The follower has looked at the file once it yields; give it a start, then append (bounded: at most 100 rounds).
  for (let i = 0; i < 100 && got.length === 0; i++) {
    if (i === 0) await new Promise((r) => setTimeout(r, 50));
    if (i === 0) log.emit('volume', 'create', 'new');
    await new Promise((r) => setTimeout(r, 50));
  }
  await done;
  assert.deepEqual(
    got.map((e) => e.Actor.ID),
    ['new', 'after-rotation'],
  );
  // From the start: the old generation too.
  const ac2 = new AbortController();
  const all: string[] = [];
  for await (const e of followEvents(root, { signal: ac2.signal, fromStart: true })) {
    all.push(e.Actor.ID);
    if (all.length === 3) ac2.abort();
  }
  assert.deepEqual(all, ['old', 'new', 'after-rotation']);
  await fsp.rm(root, { recursive: true, force: true });
});
