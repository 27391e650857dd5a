import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseChallenges,
  nextLink,
  parseContentRange,
  endpointFor,
  isLoopbackHost,
  isListedInsecure,
  registryFromServerArg,
  normalizeAuthKey,
  searchTarget,
  registryError,
  checkManifestDigest,
} from '../../../src/remote/index.js';
import { digestOf } from '../../../src/digest/index.js';

test('WWW-Authenticate challenges', () => {
  const cases: Array<[string, Array<{ scheme: string; params: Record<string, string> }>]> = [
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/busybox:pull',
          },
        },
      ],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['Basic realm=simple', [{ scheme: 'basic', params: { realm: 'simple' } }]],
    [
      'Bearer realm="r",error="insufficient_scope", Basic realm="b\\"q"',
      [
        { scheme: 'bearer', params: { realm: 'r', error: 'insufficient_scope' } },
        { scheme: 'basic', params: { realm: 'b"q' } },
      ],
    ],
    ['', []],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseChallenges(input), want, input);
});

test('Link rel="next" and Content-Range', () => {
  assert.equal(nextLink('</v2/_catalog?last=b&n=2>; rel="next"'), '/v2/_catalog?last=b&n=2');
  assert.equal(nextLink('<https://r/v2/x/tags/list?n=1&last=a>; rel=next'), 'https://r/v2/x/tags/list?n=1&last=a');
  assert.equal(nextLink('</a>; rel="prev", </b>; rel="next"'), '/b');
  assert.equal(nextLink('</a>; rel="prev"'), undefined);
  assert.equal(nextLink(undefined), undefined);
  assert.deepEqual(parseContentRange('bytes 100-199/1000'), { start: 100, end: 199, total: 1000 });
  assert.deepEqual(parseContentRange('bytes 5-9/*'), { start: 5, end: 9 });
  assert.equal(parseContentRange('items 1-2/3'), undefined);
});

test('endpoints: Docker Hub, loopback and insecure registries', () => {
  assert.deepEqual(endpointFor('docker.io'), {
    domain: 'docker.io',
    apiHost: 'registry-1.docker.io',
    authKey: 'https://index.docker.io/v1/',
    insecure: false,
  });
  assert.equal(endpointFor('index.docker.io').apiHost, 'registry-1.docker.io');
  assert.equal(endpointFor('localhost:5000').insecure, true);
  assert.equal(endpointFor('127.0.0.1:5000').insecure, true);
  assert.equal(endpointFor('[::1]:5000').insecure, true);
  assert.equal(endpointFor('ghcr.io').insecure, false);
  assert.equal(endpointFor('reg.lan:5000', { insecureRegistries: ['reg.lan:5000'] }).insecure, true);
  assert.equal(endpointFor('reg.lan:5000', { insecureRegistries: ['reg.lan'] }).insecure, true);
  assert.equal(endpointFor('reg.lan:5000', { insecureRegistries: ['reg.lan:6000'] }).insecure, false);
  assert.equal(isListedInsecure('10.1.2.3:5000', ['10.0.0.0/8']), true);
  assert.equal(isListedInsecure('11.1.2.3:5000', ['10.0.0.0/8']), false);
  for (const h of ['localhost', 'localhost:1', '127.0.0.5:80', '::1', '[::1]:443'])
    assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['128.0.0.1', 'example.com', 'localhostx.com']) assert.equal(isLoopbackHost(h), false, h);
});

test('login server arguments and config.json keys', () => {
  assert.equal(registryFromServerArg(undefined), 'docker.io');
  assert.equal(registryFromServerArg('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(registryFromServerArg('localhost:5000'), 'localhost:5000');
  assert.equal(registryFromServerArg('https://ghcr.io'), 'ghcr.io');
  assert.equal(normalizeAuthKey('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(normalizeAuthKey('http://reg:5000/v2/'), 'reg:5000');
});

test('search terms name the registry only when the first part looks like a host', () => {
  assert.deepEqual(
    [searchTarget('busybox').endpoint.apiHost, searchTarget('busybox').query],
    ['index.docker.io', 'busybox'],
  );
  const t = searchTarget('localhost:5000/busy');
  assert.deepEqual([t.endpoint.domain, t.endpoint.insecure, t.query], ['localhost:5000', true, 'busy']);
  assert.deepEqual(
    [searchTarget('user/app').endpoint.apiHost, searchTarget('user/app').query],
    ['index.docker.io', 'user/app'],
  );
  assert.deepEqual(
    [searchTarget('docker.io/nginx').endpoint.apiHost, searchTarget('docker.io/nginx').query],
    ['index.docker.io', 'nginx'],
  );
});

test('registry error bodies become typed one-line errors', () => {
  const body = (code: string, message: string) => JSON.stringify({ errors: [{ code, message, detail: { x: 1 } }] });
  const table: Array<[number, string | undefined, string, string]> = [
    [404, body('MANIFEST_UNKNOWN', 'manifest unknown'), 'NOT_FOUND', 'manifest for x: manifest unknown'],
    [
      404,
      body('NAME_UNKNOWN', 'repository name not known to registry'),
      'NOT_FOUND',
      'manifest for x: name unknown: repository name not known to registry',
    ],
    [
      401,
      body('UNAUTHORIZED', 'authentication required'),
      'UNAUTHORIZED',
      'manifest for x: unauthorized: authentication required',
    ],
    [401, undefined, 'UNAUTHORIZED', 'manifest for x: authentication required'],
    [
      403,
      body('DENIED', 'requested access to the resource is denied'),
      'DENIED',
      'manifest for x: denied: requested access to the resource is denied',
    ],
    [
      429,
      body('TOOMANYREQUESTS', 'You have reached your pull rate limit.'),
      'UNAVAILABLE',
      'manifest for x: toomanyrequests: You have reached your pull rate limit.',
    ],
    [
      400,
      body('DIGEST_INVALID', 'provided digest did not match uploaded content'),
      'DIGEST_MISMATCH',
      'manifest for x: digest invalid: provided digest did not match uploaded content',
    ],
    [503, '<html>busy</html>', 'UNAVAILABLE', 'manifest for x: registry unavailable (HTTP 503)'],
    [502, 'upstream went away\nmore', 'UNAVAILABLE', 'manifest for x: upstream went away'],
  ];
  for (const [status, b, code, message] of table) {
    const e = registryError(status, b, 'manifest for x');
    assert.equal(e.code, code, `${status} ${b}`);
    assert.equal(e.message, message);
  }
});

test('served manifests must hash to what was asked and to Docker-Content-Digest', () => {
  const raw = Buffer.from('{"schemaVersion":2}');
  const d = digestOf(raw);
  assert.equal(checkManifestDigest(raw, 'latest', d, 'x'), d);
  assert.equal(checkManifestDigest(raw, d, undefined, 'x'), d);
  const other = digestOf('other');
  assert.throws(() => checkManifestDigest(raw, other, undefined, 'x'), { code: 'DIGEST_MISMATCH' });
  assert.throws(() => checkManifestDigest(raw, 'latest', other, 'x'), { code: 'DIGEST_MISMATCH' });
});
