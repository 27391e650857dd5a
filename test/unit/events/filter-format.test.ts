import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventMatches,
  eventTemplateData,
  formatEventLine,
  makeEvent,
  parseEventFilters,
  rfc3339NanoFixed,
} from '../../../src/events/index.js';
import { compileTemplate, goJson } from '../../../src/cli/format.js';
import { parseDockerTime } from '../../../src/util/index.js';

const CID = 'c'.repeat(64);
const start = makeEvent('container', 'start', CID, { image: 'busybox:1', name: 'web', team: 'a' }, 1n);
const execStart = makeEvent('container', 'exec_start: sh -c true', CID, { image: 'busybox:1', name: 'web' }, 1n);
const vol = makeEvent('volume', 'create', 'data', { driver: 'local' }, 1n);
const img = makeEvent('image', 'tag', 'sha256:abc', { name: 'busybox:1' }, 1n);
const all = [start, execStart, vol, img];
const matching = (...specs: string[]) => {
  const f = parseEventFilters(specs);
  return all.filter((e) => eventMatches(f, e)).map((e) => `${e.Type} ${e.Action}`);
};

test("filters combine as moby's: one name's values are alternatives, names must all match", () => {
  assert.equal(matching().length, 4);
  assert.deepEqual(matching('type=volume', 'type=image'), ['volume create', 'image tag']);
  assert.deepEqual(matching('type=container', 'event=start'), ['container start']);
  assert.deepEqual(matching('event=start', 'event=create'), ['container start', 'volume create']);
  // exec_start, exec_create and health_status match the Actions that carry more after them.
  assert.deepEqual(matching('event=exec_start'), ['container exec_start: sh -c true']);
  // Containers (and volumes...) by ID prefix or name prefix; the filter applies to every type's actor.
  assert.deepEqual(matching('container=web'), ['container start', 'container exec_start: sh -c true']);
  assert.deepEqual(matching('container=ccc'), ['container start', 'container exec_start: sh -c true']);
  assert.deepEqual(matching('volume=da'), ['volume create']);
  // Images: a container's image attribute, an image's name, either without its tag, or the ID.
  assert.deepEqual(matching('image=busybox'), ['container start', 'container exec_start: sh -c true', 'image tag']);
  assert.deepEqual(matching('image=busybox:1', 'type=image'), ['image tag']);
  assert.deepEqual(matching('image=sha256:abc'), ['image tag']);
  assert.deepEqual(matching('image=busybox:2'), []);
  // Labels over the attributes, all of them must match.
  assert.deepEqual(matching('label=team'), ['container start']);
  assert.deepEqual(matching('label=team=a', 'label=name=web'), ['container start']);
  assert.deepEqual(matching('label=team=b'), []);
  assert.deepEqual(matching('scope=local', 'type=volume'), ['volume create']);
  assert.deepEqual(matching('scope=swarm'), []);
});

test("unknown filter names and bad specs are Docker's errors", () => {
  assert.throws(() => parseEventFilters(['nope=1']), /invalid filter 'nope'/);
  assert.throws(() => parseEventFilters(['start']), /bad format of filter \(expected name=value\): start/);
  assert.deepEqual([...parseEventFilters(['Event=start']).keys()], ['event']);
});

test("--since/--until: durations, RFC 3339 in any of Docker's forms, Unix seconds with fractions", () => {
  const now = 1_765_000_000_000_000_000n;
  assert.equal(parseDockerTime('10m', now), now - 600_000_000_000n);
  assert.equal(parseDockerTime('1h30m', now), now - 5_400_000_000_000n);
  assert.equal(parseDockerTime('0', now), 0n);
  assert.equal(parseDockerTime('1765000000', now), 1_765_000_000_000_000_000n);
  assert.equal(parseDockerTime('1765000000.5', now), 1_765_000_000_500_000_000n);
  assert.equal(parseDockerTime('1765000000.000000001', now), 1_765_000_000_000_000_001n);
  assert.equal(parseDockerTime('2026-12-07T03:00:00Z', now), BigInt(Date.UTC(2026, 11, 7, 3)) * 1_000_000n);
  assert.equal(
    parseDockerTime('2026-12-07T03:00:00.123456789Z', now),
    BigInt(Date.UTC(2026, 11, 7, 3)) * 1_000_000n + 123_456_789n,
  );
  assert.equal(parseDockerTime('2026-12-07T04:00:00+01:00', now), BigInt(Date.UTC(2026, 11, 7, 3)) * 1_000_000n);
  assert.equal(parseDockerTime('2026-12-07T03:04Z', now), BigInt(Date.UTC(2026, 11, 7, 3, 4)) * 1_000_000n);
  // Without a zone: local time, as Docker.
  assert.equal(parseDockerTime('2026-12-07', now), BigInt(new Date(2026, 11, 7).getTime()) * 1_000_000n);
  assert.equal(parseDockerTime('2026-12-07T03', now), BigInt(new Date(2026, 11, 7, 3).getTime()) * 1_000_000n);
  for (const bad of ['yesterday', '2026-13-01', '2026-12-07T25:00Z', '1.2.3', ''])
    assert.throws(() => parseDockerTime(bad, now), /failed to parse value as time or duration/, bad);
});

test("the default line: Go's fixed nanoseconds in the local zone, attributes sorted", () => {
  const e = makeEvent('container', 'start', CID, { name: 'web', image: 'busybox', b: '' }, 1_765_000_000_000_001_000n);
  assert.equal(
    formatEventLine(e, 0),
    `2025-12-06T05:46:40.000001000Z container start ${CID} (b=, image=busybox, name=web)\n`,
  );
  assert.equal(rfc3339NanoFixed(1_765_000_000_123_456_789n, 60), '2025-12-06T06:46:40.123456789+01:00');
  assert.equal(rfc3339NanoFixed(1_765_000_000_123_456_789n, -330), '2025-12-06T00:16:40.123456789-05:30');
  const prune = makeEvent('image', 'prune', '', { reclaimed: '0' }, 1_765_000_000_000_000_000n);
  assert.equal(formatEventLine(prune, 0), '2025-12-06T05:46:40.000000000Z image prune  (reclaimed=0)\n');
  assert.equal(prune.id, undefined, 'no ID: omitted, as Go omits it');
});

test('templates see Go field names and print {{json .}} as the log line, timeNano an int64', () => {
  const e = makeEvent('volume', 'create', 'data', { driver: 'local' }, 1_765_000_000_123_456_789n);
  const data = eventTemplateData(e);
  assert.equal(
    compileTemplate('{{.Type}}|{{.Action}}|{{.Status}}|{{.ID}}|{{.Actor.ID}}|{{.Scope}}|{{.TimeNano}}').render(data),
    'volume|create|||data|local|1765000000123456789',
  );
  assert.equal(
    compileTemplate('{{json .}}').render(data),
    '{"Type":"volume","Action":"create","Actor":{"ID":"data","Attributes":{"driver":"local"}},"scope":"local","time":1765000000,"timeNano":1765000000123456789}',
  );
  assert.equal(compileTemplate('{{.Status}} {{.ID}}').render(eventTemplateData(start)), `start ${CID}`);
  assert.equal(goJson({ a: 12345678901234567890n, b: '<x>' }), '{"a":12345678901234567890,"b":"\\u003cx\\u003e"}');
});
