/**
 * Fuzzing of image manifests, indexes and configs (issue 17): JSON of the right shape with random values in random
 * places, and random bytes; the parsers throw only WharfErrors and a manifest's digest is over the bytes received.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseImageConfig, parseManifest } from '../../src/oci/index.js';
import { budget, onlyWharfErrors } from './budget.js';

const MEDIA = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/json',
  '',
  'x/y; charset=utf-8',
];
const DIGEST = `sha256:${'a'.repeat(64)}`;
const odd = fc.oneof(fc.jsonValue(), fc.constantFrom(DIGEST, 'sha256:', 'md5:00', -1, 2 ** 64, 1e308, null, [], {}));
/** A value that is usually of the expected kind and sometimes anything at all. */
const maybe = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: odd });

const descriptor = fc.record(
  {
    mediaType: maybe(fc.constantFrom(...MEDIA)),
    digest: maybe(fc.constantFrom(DIGEST, `sha512:${'b'.repeat(128)}`, 'sha256:ABC')),
    size: maybe(fc.integer({ min: -5, max: 2 ** 40 })),
    urls: maybe(fc.array(fc.webUrl(), { maxLength: 2 })),
    annotations: maybe(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 })),
    platform: maybe(
      fc.record(
        {
          os: maybe(fc.constantFrom('linux', 'windows')),
          architecture: maybe(fc.constantFrom('amd64', 'arm64')),
          variant: odd,
          'os.features': odd,
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

const manifestDoc = fc.record(
  {
    schemaVersion: maybe(fc.constantFrom(1, 2)),
    mediaType: maybe(fc.constantFrom(...MEDIA)),
    config: maybe(descriptor),
    layers: maybe(fc.array(descriptor, { maxLength: 4 })),
    manifests: maybe(fc.array(descriptor, { maxLength: 4 })),
    subject: maybe(descriptor),
    artifactType: odd,
    annotations: odd,
  },
  { requiredKeys: [] },
);

const configDoc = fc.record(
  {
    architecture: maybe(fc.constantFrom('amd64', 'arm64')),
    os: maybe(fc.constantFrom('linux')),
    created: maybe(fc.constantFrom('2024-01-01T00:00:00Z', 'yesterday')),
    rootfs: maybe(
      fc.record(
        { type: maybe(fc.constant('layers')), diff_ids: maybe(fc.array(fc.constant(DIGEST), { maxLength: 3 })) },
        { requiredKeys: [] },
      ),
    ),
    history: maybe(fc.array(fc.record({ created_by: odd, empty_layer: odd }, { requiredKeys: [] }), { maxLength: 3 })),
    config: maybe(
      fc.record(
        {
          Env: maybe(fc.array(fc.string(), { maxLength: 3 })),
          Cmd: maybe(fc.array(fc.string(), { maxLength: 3 })),
          Entrypoint: odd,
          WorkingDir: maybe(fc.string()),
          User: maybe(fc.string()),
          Volumes: maybe(fc.dictionary(fc.string(), fc.constant({}), { maxKeys: 3 })),
          ExposedPorts: maybe(fc.dictionary(fc.constantFrom('80/tcp', '53/udp', 'x'), fc.constant({}), { maxKeys: 3 })),
          Labels: maybe(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 })),
          Healthcheck: maybe(fc.record({ Test: odd, Interval: odd, Retries: odd }, { requiredKeys: [] })),
          StopSignal: odd,
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

const bytesOf = (doc: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 4, arbitrary: doc.map((d) => Buffer.from(JSON.stringify(d))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  );

test('manifests and indexes: only WharfErrors; the digest is over the bytes received', () => {
  fc.assert(
    fc.property(bytesOf(manifestDoc), fc.option(fc.constantFrom(...MEDIA), { nil: undefined }), (raw, ct) => {
      const parsed = onlyWharfErrors(() => parseManifest(raw, ct));
      if (parsed instanceof Error) return;
      assert.equal(parsed.raw, raw);
      assert.match(parsed.digest, /^sha256:[0-9a-f]{64}$/);
    }),
    budget(3000),
  );
});

test('image configs: only WharfErrors', () => {
  fc.assert(
    fc.property(bytesOf(configDoc), (raw) => {
      onlyWharfErrors(() => parseImageConfig(raw));
    }),
    budget(3000),
  );
});
