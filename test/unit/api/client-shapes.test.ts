/** What Docker's SDKs send that the docker CLI does not: the API decodes it as dockerd does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOptionsFromBody } from '../../../src/api/create-body.js';
import { withTagParam } from '../../../src/api/images.js';

test("push and pull: the tag parameter replaces the name's tag, or adds a digest (dockerode, docker-py)", () => {
  assert.equal(withTagParam('127.0.0.1:5000/x/bb:v1', 'v1'), '127.0.0.1:5000/x/bb:v1');
  assert.equal(withTagParam('127.0.0.1:5000/x/bb:old', 'v2'), '127.0.0.1:5000/x/bb:v2');
  assert.equal(withTagParam('busybox', 'latest'), 'busybox:latest');
  assert.equal(withTagParam('busybox', null), 'busybox');
  assert.equal(withTagParam('localhost/bb:v1', ''), 'localhost/bb:v1');
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.equal(withTagParam('host:5000/x', digest), `host:5000/x@${digest}`);
  assert.throws(() => withTagParam('busybox', 'not a tag'), /invalid tag format/);
});

test('a Healthcheck with null fields (docker-py) keeps only what was set', () => {
  const o = createOptionsFromBody(
    {
      Image: 'busybox',
      Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Timeout: null, Retries: null, StartPeriod: 0 },
    },
    undefined,
  );
  assert.deepEqual(o.healthcheck, { Test: ['CMD', 'true'], Interval: 1e9 });
  const none = createOptionsFromBody({ Image: 'busybox', Healthcheck: { Test: null } }, undefined);
  assert.deepEqual(none.healthcheck, {});
});
