import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rfc3339Nano, serviceInfoFields } from '../../../src/api/info-fields.js';
import { shapeVersion } from '../../../src/api/version-shapes.js';

test('GET /version before API 1.35 has no Platform nor Components; from 1.35 on it has both', () => {
  const body = { Platform: { Name: 'Wharf' }, Components: [{ Name: 'Engine' }], Version: '1', ApiVersion: '1.43' };
  assert.deepEqual(shapeVersion(body, '1.34'), { Version: '1', ApiVersion: '1.43' });
  assert.deepEqual(shapeVersion(body, '1.24'), { Version: '1', ApiVersion: '1.43' });
  assert.deepEqual(shapeVersion(body, '1.35'), body);
  assert.deepEqual(shapeVersion(body, '1.43'), body);
  assert.ok('Components' in body, 'the input is not changed');
});

test('GET /info: SystemTime as Go RFC3339Nano, the process counts and the proxies as dockerd names them', () => {
  const prevTz = process.env.TZ;
  const fields = serviceInfoFields({
    now: new Date('2026-12-07T07:10:00.120Z'),
    fds: 17,
    tasks: 4,
    eventListeners: 2,
    env: { HTTPS_PROXY: 'http://127.0.0.1:3128', no_proxy: 'localhost' },
  });
  assert.equal(fields.NFd, 17);
  assert.equal(fields.NGoroutines, 4);
  assert.equal(fields.NEventsListener, 2);
  assert.equal(fields.HttpProxy, '');
  assert.equal(fields.HttpsProxy, 'http://127.0.0.1:3128');
  assert.equal(fields.NoProxy, 'localhost');
  // Local time with its offset; in any zone it parses back to the same instant.
  assert.match(String(fields.SystemTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?(Z|[+-]\d\d:\d\d)$/);
  assert.equal(Date.parse(String(fields.SystemTime)), Date.parse('2026-12-07T07:10:00.120Z'));
  assert.equal(prevTz, process.env.TZ);
});

test('rfc3339Nano trims the fraction as Go does', () => {
  const d = new Date('2026-12-07T07:10:00.000Z');
  const s = rfc3339Nano(d);
  assert.equal(s.includes('.'), false, s);
  assert.equal(Date.parse(s), d.getTime());
  assert.match(rfc3339Nano(new Date('2026-12-07T07:10:00.100Z')), /:00\.1(Z|[+-])/);
});
