import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf, type Digest } from '../../src/digest/index.js';
import { WharfError, type ErrorCode } from '../../src/errors/index.js';
import {
  canonicalJson,
  compatiblePlatforms,
  descriptorFor,
  formatPlatform,
  hostPlatform,
  isIndexMediaType,
  isLayerMediaType,
  isManifestMediaType,
  layerCompression,
  MAX_MANIFEST_BYTES,
  MediaType,
  normalizePlatform,
  parseImageConfig,
  parseManifest,
  parsePlatform,
  platformMatches,
  referencedDescriptors,
  selectManifest,
  type Descriptor,
  type ImageIndex,
  type Platform,
} from '../../src/oci/index.js';

const d = (n: number): Digest => digestOf(`blob-${n}`);
const desc = (mediaType: string, n: number, extra: Partial<Descriptor> = {}): Descriptor => ({
  mediaType,
  digest: d(n),
  size: 100 + n,
  ...extra,
});

const ociManifest = {
  schemaVersion: 2,
  mediaType: MediaType.OCIManifest,
  config: desc(MediaType.OCIConfig, 0),
  layers: [desc(MediaType.OCILayerGzip, 1), desc(MediaType.OCILayerZstd, 2)],
  annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
};
const dockerManifest = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifest,
  config: desc(MediaType.DockerConfig, 0),
  layers: [desc(MediaType.DockerLayerGzip, 1)],
};
const ociIndex = {
  schemaVersion: 2,
  mediaType: MediaType.OCIIndex,
  manifests: [
    desc(MediaType.OCIManifest, 10, { platform: { architecture: 'amd64', os: 'linux' } }),
    desc(MediaType.OCIManifest, 11, { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }),
  ],
};
const dockerList = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifestList,
  manifests: [desc(MediaType.DockerManifest, 10, { platform: { architecture: 'amd64', os: 'linux' } })],
};

const raw = (v: unknown) => Buffer.from(JSON.stringify(v));
const without = (o: Record<string, unknown>, key: string) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

function throwsCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WharfError, `expected WharfError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('parseManifest: valid documents', () => {
  const cases: Array<[string, unknown, string | undefined, 'manifest' | 'index', string]> = [
    ['OCI manifest', ociManifest, undefined, 'manifest', MediaType.OCIManifest],
    ['Docker schema2 manifest', dockerManifest, MediaType.DockerManifest, 'manifest', MediaType.DockerManifest],
    ['OCI index', ociIndex, MediaType.OCIIndex, 'index', MediaType.OCIIndex],
    ['Docker manifest list', dockerList, undefined, 'index', MediaType.DockerManifestList],
    [
      'OCI manifest without mediaType, by content type',
      without(ociManifest, 'mediaType'),
      MediaType.OCIManifest,
      'manifest',
      MediaType.OCIManifest,
    ],
    [
      'Docker manifest without mediaType, by content type with params',
      without(dockerManifest, 'mediaType'),
      `${MediaType.DockerManifest}; charset=utf-8`,
      'manifest',
      MediaType.DockerManifest,
    ],
    [
      'OCI manifest without mediaType, by shape',
      without(ociManifest, 'mediaType'),
      'application/json',
      'manifest',
      MediaType.OCIManifest,
    ],
    ['OCI index without mediaType, by shape', without(ociIndex, 'mediaType'), undefined, 'index', MediaType.OCIIndex],
    ['empty index', { schemaVersion: 2, manifests: [] }, undefined, 'index', MediaType.OCIIndex],
    [
      'artifact manifest with empty config, no layers, subject',
      {
        schemaVersion: 2,
        mediaType: MediaType.OCIManifest,
        artifactType: 'application/vnd.example.sbom+json',
        config: { mediaType: MediaType.OCIEmptyJSON, digest: digestOf('{}'), size: 2, data: 'e30=' },
        layers: [],
        subject: desc(MediaType.OCIManifest, 5),
      },
      undefined,
      'manifest',
      MediaType.OCIManifest,
    ],
  ];
  for (const [name, doc, ct, kind, mt] of cases) {
    it(name, () => {
      const bytes = raw(doc);
      const p = parseManifest(bytes, ct);
      assert.equal(p.kind, kind);
      assert.equal(p.mediaType, mt);
      assert.equal(p.digest, digestOf(bytes));
      assert.equal(p.raw, bytes);
      if (p.kind === 'manifest') assert.deepEqual(p.manifest, doc);
      else assert.deepEqual(p.index, doc);
    });
  }

  it('hashes the raw bytes as received, whitespace and key order included', () => {
    const pretty = Buffer.from(JSON.stringify(ociManifest, null, 3));
    const p = parseManifest(pretty);
    assert.equal(p.digest, digestOf(pretty));
    assert.notEqual(p.digest, digestOf(raw(ociManifest)));
  });

  it('keeps unknown fields', () => {
    const p = parseManifest(
      raw({ ...ociManifest, 'x-extra': 1, layers: [{ ...desc(MediaType.OCILayer, 3), foo: 'bar' }] }),
    );
    assert.ok(p.kind === 'manifest');
    assert.equal((p.manifest as unknown as Record<string, unknown>)['x-extra'], 1);
  });
});

describe('parseManifest: rejections', () => {
  const badDigest = { ...ociManifest, layers: [{ ...desc(MediaType.OCILayerGzip, 1), digest: 'sha256:1234' }] };
  const cases: Array<[string, Buffer, string | undefined, ErrorCode, RegExp]> = [
    ['not JSON', Buffer.from('{"schemaVersion": 2,'), undefined, 'INVALID_ARGUMENT', /invalid manifest: is not JSON/],
    ['a JSON array', raw([1]), undefined, 'INVALID_ARGUMENT', /must be an object/],
    [
      'missing schemaVersion',
      raw(without(ociManifest, 'schemaVersion')),
      undefined,
      'INVALID_ARGUMENT',
      /schemaVersion must be 2/,
    ],
    [
      'schemaVersion as string',
      raw({ ...ociManifest, schemaVersion: '2' }),
      undefined,
      'INVALID_ARGUMENT',
      /schemaVersion must be 2/,
    ],
    [
      'schema1 by version',
      raw({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }),
      undefined,
      'UNSUPPORTED',
      /schema 1/,
    ],
    [
      'schema1 by content type',
      raw(ociManifest),
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
      'UNSUPPORTED',
      /schema 1/,
    ],
    [
      'schema1 by mediaType',
      raw({ ...ociManifest, mediaType: 'application/vnd.docker.distribution.manifest.v1+json' }),
      undefined,
      'UNSUPPORTED',
      /schema 1/,
    ],
    [
      'unknown mediaType',
      raw({ ...ociManifest, mediaType: 'application/vnd.oci.artifact.manifest.v1+json' }),
      undefined,
      'UNSUPPORTED',
      /unsupported manifest media type/,
    ],
    [
      'mediaType not a string',
      raw({ ...ociManifest, mediaType: 5 }),
      undefined,
      'INVALID_ARGUMENT',
      /mediaType must be a string/,
    ],
    [
      'mediaType contradicts content type',
      raw(ociManifest),
      MediaType.OCIIndex,
      'INVALID_ARGUMENT',
      /does not match the content type/,
    ],
    [
      'OCI body with Docker content type',
      raw(ociManifest),
      MediaType.DockerManifest,
      'INVALID_ARGUMENT',
      /does not match/,
    ],
    [
      'no mediaType, no shape',
      raw({ schemaVersion: 2 }),
      undefined,
      'INVALID_ARGUMENT',
      /neither "manifests" nor "config"/,
    ],
    [
      'both shapes',
      raw({ schemaVersion: 2, manifests: [], layers: [], config: desc(MediaType.OCIConfig, 0) }),
      undefined,
      'INVALID_ARGUMENT',
      /cannot tell/,
    ],
    [
      'index content type on a manifest body',
      raw(without(ociManifest, 'mediaType')),
      MediaType.OCIIndex,
      'INVALID_ARGUMENT',
      /manifests is missing/,
    ],
    ['missing config', raw(without(ociManifest, 'config')), undefined, 'INVALID_ARGUMENT', /config is missing/],
    ['missing layers', raw(without(ociManifest, 'layers')), undefined, 'INVALID_ARGUMENT', /layers is missing/],
    [
      'layers not an array',
      raw({ ...ociManifest, layers: {} }),
      undefined,
      'INVALID_ARGUMENT',
      /layers must be an array/,
    ],
    ['bad layer digest', raw(badDigest), undefined, 'INVALID_ARGUMENT', /layers\[0\]\.digest is not a valid digest/],
    [
      'uppercase digest hex',
      raw({ ...ociManifest, config: { ...ociManifest.config, digest: ociManifest.config.digest.toUpperCase() } }),
      undefined,
      'INVALID_ARGUMENT',
      /config\.digest/,
    ],
    [
      'missing size',
      raw({ ...ociManifest, config: without(ociManifest.config as never, 'size') }),
      undefined,
      'INVALID_ARGUMENT',
      /config\.size must be a non-negative integer/,
    ],
    [
      'negative size',
      raw({ ...ociManifest, config: { ...ociManifest.config, size: -1 } }),
      undefined,
      'INVALID_ARGUMENT',
      /config\.size/,
    ],
    [
      'fractional size',
      raw({ ...ociManifest, config: { ...ociManifest.config, size: 1.5 } }),
      undefined,
      'INVALID_ARGUMENT',
      /config\.size/,
    ],
    [
      'size as string',
      raw({ ...ociManifest, config: { ...ociManifest.config, size: '7' } }),
      undefined,
      'INVALID_ARGUMENT',
      /config\.size/,
    ],
    [
      'missing descriptor mediaType',
      raw({ ...ociManifest, layers: [without(desc(MediaType.OCILayer, 1) as never, 'mediaType')] }),
      undefined,
      'INVALID_ARGUMENT',
      /layers\[0\]\.mediaType must be a string/,
    ],
    [
      'malformed descriptor mediaType',
      raw({ ...ociManifest, layers: [desc('not a media type', 1)] }),
      undefined,
      'INVALID_ARGUMENT',
      /not a valid media type/,
    ],
    [
      'annotation value not a string',
      raw({ ...ociManifest, annotations: { a: 1 } }),
      undefined,
      'INVALID_ARGUMENT',
      /annotations\["a"\] must be a string/,
    ],
    [
      'urls not strings',
      raw({ ...ociManifest, layers: [desc(MediaType.DockerForeignLayerGzip, 1, { urls: [1] as never })] }),
      undefined,
      'INVALID_ARGUMENT',
      /urls\[0\]/,
    ],
    [
      'platform without os',
      raw({
        ...ociIndex,
        manifests: [desc(MediaType.OCIManifest, 1, { platform: { architecture: 'amd64' } as never })],
      }),
      undefined,
      'INVALID_ARGUMENT',
      /manifests\[0\]\.platform\.os must be a string/,
    ],
    [
      'embedded data not matching digest',
      raw({
        ...ociManifest,
        config: { mediaType: MediaType.OCIEmptyJSON, digest: digestOf('{}'), size: 2, data: 'W10=' },
      }),
      undefined,
      'INVALID_ARGUMENT',
      /data does not match/,
    ],
    [
      'embedded data not base64',
      raw({
        ...ociManifest,
        config: { mediaType: MediaType.OCIEmptyJSON, digest: digestOf('{}'), size: 2, data: 'e31=' },
      }),
      undefined,
      'INVALID_ARGUMENT',
      /data is not canonical base64/,
    ],
    [
      'index with layers',
      raw({ ...ociIndex, layers: [] }),
      undefined,
      'INVALID_ARGUMENT',
      /must not have "config" or "layers"/,
    ],
    [
      'index manifests not an array',
      raw({ ...ociIndex, manifests: null }),
      undefined,
      'INVALID_ARGUMENT',
      /manifests must be an array/,
    ],
    [
      'bad subject',
      raw({ ...ociManifest, subject: { mediaType: MediaType.OCIManifest } }),
      undefined,
      'INVALID_ARGUMENT',
      /subject\.digest/,
    ],
    ['too large', Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20), undefined, 'TOO_LARGE', /limit/],
  ];
  for (const [name, bytes, ct, code, message] of cases) {
    it(name, () => throwsCode(() => parseManifest(bytes, ct), code, message));
  }

  it('accepts exactly MAX_MANIFEST_BYTES (padding is whitespace)', () => {
    const body = raw(ociManifest);
    const padded = Buffer.concat([body, Buffer.alloc(MAX_MANIFEST_BYTES - body.length, 0x20)]);
    assert.equal(parseManifest(padded).kind, 'manifest');
  });
});

describe('referencedDescriptors', () => {
  it('lists config, layers and subject of a manifest', () => {
    const subject = desc(MediaType.OCIManifest, 9);
    const p = parseManifest(raw({ ...ociManifest, subject }));
    assert.deepEqual(
      referencedDescriptors(p).map((x) => x.digest),
      [d(0), d(1), d(2), d(9)],
    );
  });
  it('lists the children of an index', () => {
    assert.deepEqual(
      referencedDescriptors(parseManifest(raw(ociIndex))).map((x) => x.digest),
      [d(10), d(11)],
    );
  });
});

describe('media types', () => {
  it('classifies manifests and indexes, ignoring parameters', () => {
    assert.ok(isManifestMediaType(MediaType.OCIManifest) && isManifestMediaType(MediaType.DockerManifest));
    assert.ok(
      isIndexMediaType(MediaType.OCIIndex) && isIndexMediaType(`${MediaType.DockerManifestList}; charset=utf-8`),
    );
    assert.ok(!isManifestMediaType(MediaType.OCIIndex) && !isIndexMediaType(MediaType.OCIConfig));
  });
  const layers: Array<[string, 'none' | 'gzip' | 'zstd']> = [
    [MediaType.OCILayer, 'none'],
    [MediaType.OCILayerGzip, 'gzip'],
    [MediaType.OCILayerZstd, 'zstd'],
    [MediaType.DockerLayer, 'none'],
    [MediaType.DockerLayerGzip, 'gzip'],
    [MediaType.DockerForeignLayerGzip, 'gzip'],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'gzip'],
  ];
  for (const [mt, c] of layers) {
    it(`${mt} is a ${c} layer`, () => {
      assert.ok(isLayerMediaType(mt));
      assert.equal(layerCompression(mt), c);
    });
  }
  it('configs and manifests are not layers', () => {
    for (const mt of [MediaType.OCIConfig, MediaType.DockerConfig, MediaType.OCIManifest, MediaType.OCIEmptyJSON]) {
      assert.ok(!isLayerMediaType(mt));
      throwsCode(() => layerCompression(mt), 'UNSUPPORTED');
    }
  });
});

describe('parseImageConfig', () => {
  const cfg = {
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/usr/bin'],
      Cmd: ['sh'],
      Entrypoint: null,
      ExposedPorts: { '80/tcp': {} },
      Labels: { a: 'b' },
    },
    rootfs: { type: 'layers', diff_ids: [d(1), d(2)] },
    history: [{ created_by: 'ADD x /' }, { created_by: 'CMD ["sh"]', empty_layer: true }],
    container: 'abc',
    docker_version: '24.0.0',
  };
  it('accepts a Docker config and keeps unknown fields', () => {
    const c = parseImageConfig(raw(cfg));
    assert.equal(c.architecture, 'amd64');
    assert.deepEqual(c.rootfs.diff_ids, [d(1), d(2)]);
    assert.equal(c.config?.Entrypoint, null);
    assert.equal(c.container, 'abc');
    assert.equal(c.docker_version, '24.0.0');
  });
  it('treats missing or null diff_ids (no layers) as [] and drops Go nulls', () => {
    const c = parseImageConfig(
      raw({
        architecture: 'arm64',
        os: 'linux',
        rootfs: { type: 'layers' },
        config: { Env: null, Labels: null, Cmd: null },
        history: null,
      }),
    );
    assert.deepEqual(c.rootfs.diff_ids, []);
    assert.equal(c.history, undefined);
    assert.ok(c.config && !('Env' in c.config) && !('Labels' in c.config));
    assert.equal(c.config?.Cmd, null);
    assert.deepEqual(
      parseImageConfig(raw({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: null } })).rootfs
        .diff_ids,
      [],
    );
  });
  const bad: Array<[string, unknown, RegExp]> = [
    ['missing architecture', without(cfg, 'architecture'), /architecture must be a string/],
    ['missing os', without(cfg, 'os'), /os must be a string/],
    ['missing rootfs', without(cfg, 'rootfs'), /rootfs must be an object/],
    ['wrong rootfs type', { ...cfg, rootfs: { type: 'tar', diff_ids: [] } }, /rootfs\.type must be "layers"/],
    [
      'bad diff_id',
      { ...cfg, rootfs: { type: 'layers', diff_ids: ['sha256:00'] } },
      /rootfs\.diff_ids\[0\] is not a valid digest/,
    ],
    ['Env not strings', { ...cfg, config: { Env: [1] } }, /config\.Env\[0\] must be a string/],
    ['Cmd a string', { ...cfg, config: { Cmd: 'sh' } }, /config\.Cmd must be an array/],
    ['Labels not strings', { ...cfg, config: { Labels: { a: 1 } } }, /config\.Labels\["a"\]/],
    ['history not an array', { ...cfg, history: {} }, /history must be an array/],
    [
      'empty_layer not boolean',
      { ...cfg, history: [{ empty_layer: 'yes' }] },
      /history\[0\]\.empty_layer must be a boolean/,
    ],
    ['not JSON', '{', /not JSON/],
  ];
  for (const [name, doc, message] of bad) {
    it(`rejects: ${name}`, () =>
      throwsCode(
        () => parseImageConfig(typeof doc === 'string' ? Buffer.from(doc) : raw(doc)),
        'INVALID_ARGUMENT',
        message,
      ));
  }
});

describe('platform matching (containerd semantics)', () => {
  const P = (s: string): Platform => {
    const [os, architecture, variant] = s.split('/');
    return { os: os!, architecture: architecture!, ...(variant ? { variant } : {}) };
  };
  const cases: Array<[string, string | undefined, boolean]> = [
    // want, have, matches
    ['linux/amd64', 'linux/amd64', true],
    ['linux/amd64', 'linux/x86_64', true],
    ['linux/amd64', 'linux/386', true],
    ['linux/amd64', 'linux/arm64', false],
    ['linux/amd64', 'windows/amd64', false],
    ['linux/amd64', 'linux/amd64/v2', false],
    ['linux/amd64/v3', 'linux/amd64/v2', true],
    ['linux/amd64/v3', 'linux/amd64', true],
    ['linux/arm64', 'linux/arm64', true],
    ['linux/arm64', 'linux/arm64/v8', true],
    ['linux/arm64/v8', 'linux/arm64', true],
    ['linux/arm64', 'linux/aarch64', true],
    ['linux/arm64', 'linux/arm/v7', true],
    ['linux/arm64', 'linux/arm/v8', true],
    ['linux/arm64', 'linux/amd64', false],
    ['linux/arm64', 'linux/arm64/v8.2', false],
    ['linux/arm64/v8.2', 'linux/arm64/v8.1', true],
    ['linux/arm64/v8.2', 'linux/arm64', true],
    ['linux/arm/v7', 'linux/arm/v7', true],
    ['linux/arm/v7', 'linux/arm', true],
    ['linux/arm', 'linux/arm/v7', true],
    ['linux/arm/v7', 'linux/arm/v6', true],
    ['linux/arm/v7', 'linux/arm/v5', true],
    ['linux/arm/v7', 'linux/arm/v8', false],
    ['linux/arm/v7', 'linux/arm64', false],
    ['linux/arm/v6', 'linux/arm/v7', false],
    ['linux/arm/v6', 'linux/arm/v6', true],
    ['linux/arm/v6', 'linux/armel', true],
    ['LINUX/AMD64', 'linux/amd64', true],
    ['linux/amd64', undefined, true],
  ];
  for (const [want, have, ok] of cases) {
    it(`${want} ${ok ? 'runs' : 'does not run'} ${have ?? '(no platform)'}`, () => {
      assert.equal(platformMatches(P(want), have === undefined ? undefined : P(have)), ok);
    });
  }

  it('orders compatible platforms from best to worst', () => {
    assert.deepEqual(compatiblePlatforms(P('linux/arm/v7')).map(formatPlatform), [
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ]);
    assert.deepEqual(compatiblePlatforms(P('linux/arm64')).map(formatPlatform), [
      'linux/arm64',
      'linux/arm/v8',
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ]);
    assert.deepEqual(compatiblePlatforms(P('linux/amd64/v3')).map(formatPlatform), [
      'linux/amd64/v3',
      'linux/amd64/v2',
      'linux/amd64',
      'linux/386',
    ]);
  });

  it('normalizes names', () => {
    assert.deepEqual(normalizePlatform({ os: 'Linux', architecture: 'aarch64', variant: 'v8' }), {
      os: 'linux',
      architecture: 'arm64',
    });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'armhf' }), {
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
    });
    assert.deepEqual(normalizePlatform({ os: 'macos', architecture: 'i386' }), { os: 'darwin', architecture: '386' });
  });

  it('matches os.features only when the wanted platform offers them', () => {
    const want: Platform = { os: 'windows', architecture: 'amd64', 'os.features': ['win32k'] };
    assert.ok(platformMatches(want, { os: 'windows', architecture: 'amd64', 'os.features': ['win32k'] }));
    assert.ok(
      !platformMatches(
        { os: 'windows', architecture: 'amd64' },
        { os: 'windows', architecture: 'amd64', 'os.features': ['win32k'] },
      ),
    );
  });
});

describe('selectManifest', () => {
  const m = (n: number, platform?: Platform, annotations?: Record<string, string>): Descriptor =>
    desc(MediaType.OCIManifest, n, { ...(platform ? { platform } : {}), ...(annotations ? { annotations } : {}) });
  const index = (...manifests: Descriptor[]): ImageIndex => ({
    schemaVersion: 2,
    mediaType: MediaType.OCIIndex,
    manifests,
  });
  const attestation = m(
    99,
    { os: 'unknown', architecture: 'unknown' },
    { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d(1) },
  );

  it('picks the exact platform among many', () => {
    const idx = index(
      attestation,
      m(1, { os: 'linux', architecture: 'amd64' }),
      m(2, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      m(3, { os: 'linux', architecture: 'arm', variant: 'v7' }),
    );
    assert.equal(selectManifest(idx, { os: 'linux', architecture: 'amd64' })?.digest, d(1));
    assert.equal(selectManifest(idx, { os: 'linux', architecture: 'arm64' })?.digest, d(2));
    assert.equal(selectManifest(idx, { os: 'linux', architecture: 'arm', variant: 'v7' })?.digest, d(3));
    assert.equal(selectManifest(idx, { os: 'linux', architecture: 's390x' }), undefined);
  });

  it('prefers the exact variant over an older compatible one, regardless of order', () => {
    const idx = index(
      m(1, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      m(2, { os: 'linux', architecture: 'arm', variant: 'v7' }),
    );
    assert.equal(selectManifest(idx, { os: 'linux', architecture: 'arm', variant: 'v7' })?.digest, d(2));
    assert.equal(selectManifest(idx, { os: 'linux', architecture: 'arm', variant: 'v6' })?.digest, d(1));
    assert.equal(
      selectManifest(idx, { os: 'linux', architecture: 'arm64' })?.digest,
      d(2),
      'arm64 falls back to arm/v7 before v6',
    );
  });

  it('falls back to 386 on amd64 and prefers amd64 when both exist', () => {
    assert.equal(
      selectManifest(index(m(1, { os: 'linux', architecture: '386' })), { os: 'linux', architecture: 'amd64' })?.digest,
      d(1),
    );
    const both = index(m(1, { os: 'linux', architecture: '386' }), m(2, { os: 'linux', architecture: 'amd64' }));
    assert.equal(selectManifest(both, { os: 'linux', architecture: 'amd64' })?.digest, d(2));
  });

  it('skips attestation manifests even when their platform would match', () => {
    const att = m(5, { os: 'linux', architecture: 'amd64' }, { 'vnd.docker.reference.type': 'attestation-manifest' });
    assert.equal(selectManifest(index(att), { os: 'linux', architecture: 'amd64' }), undefined);
    assert.equal(selectManifest(index(attestation), { os: 'linux', architecture: 'amd64' }), undefined);
  });

  it('uses a platform-less entry only when nothing matches by platform', () => {
    assert.equal(
      selectManifest(index(m(1), m(2, { os: 'linux', architecture: 'amd64' })), { os: 'linux', architecture: 'amd64' })
        ?.digest,
      d(2),
    );
    assert.equal(
      selectManifest(index(m(1), m(2, { os: 'linux', architecture: 'arm64' })), { os: 'linux', architecture: 'amd64' })
        ?.digest,
      d(1),
    );
  });

  it('takes the first of equally good entries', () => {
    const idx = index(
      m(1, { os: 'linux', architecture: 'arm64' }),
      m(2, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    );
    assert.equal(selectManifest(idx, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest, d(1));
  });
});

describe('platform strings', () => {
  const parse: Array<[string, Platform]> = [
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }],
    ['linux/arm', { os: 'linux', architecture: 'arm' }],
    ['linux/arm/v6', { os: 'linux', architecture: 'arm', variant: 'v6' }],
    ['linux/arm/7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux/x86_64', { os: 'linux', architecture: 'amd64' }],
    ['Linux/AArch64', { os: 'linux', architecture: 'arm64' }],
    ['windows/amd64', { os: 'windows', architecture: 'amd64' }],
    ['amd64', { os: hostPlatform().os, architecture: 'amd64' }],
    ['linux', { ...hostPlatform(), os: 'linux' }],
  ];
  for (const [s, want] of parse) it(`parses ${s}`, () => assert.deepEqual(parsePlatform(s), want));
  for (const s of ['', 'linux/', 'linux/amd64/v2/x', 'linux/am d64', 'plan10', 'linux/*']) {
    it(`rejects ${JSON.stringify(s)}`, () =>
      throwsCode(() => parsePlatform(s), 'INVALID_ARGUMENT', /invalid platform/));
  }
  it('formats os/arch[/variant]', () => {
    assert.equal(formatPlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' }), 'linux/arm64/v8');
    assert.equal(formatPlatform({ os: 'linux', architecture: 'amd64' }), 'linux/amd64');
  });
  it('hostPlatform reports this machine in OCI terms', () => {
    const h = hostPlatform();
    const want: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm' };
    if (want[process.arch]) assert.equal(h.architecture, want[process.arch]);
    assert.equal(h.os, process.platform === 'win32' ? 'windows' : process.platform);
    assert.ok(platformMatches(h, h));
  });
});

describe('canonicalJson', () => {
  it('is compact JSON in insertion order, dropping undefined', () => {
    const b = canonicalJson({ b: 1, a: [1, 'x'], c: undefined, d: { z: null } });
    assert.equal(b.toString('utf8'), '{"b":1,"a":[1,"x"],"d":{"z":null}}');
  });
  it('round-trips through parseManifest with the digest of its bytes', () => {
    const b = canonicalJson(ociManifest);
    assert.equal(parseManifest(b).digest, digestOf(b));
  });
  it('descriptorFor describes the exact bytes', () => {
    const b = canonicalJson({ a: 1 });
    assert.deepEqual(descriptorFor(MediaType.OCIConfig, b, { annotations: { x: 'y' } }), {
      mediaType: MediaType.OCIConfig,
      digest: digestOf(b),
      size: b.length,
      annotations: { x: 'y' },
    });
  });
  it('refuses values that have no JSON form', () => throwsCode(() => canonicalJson(undefined), 'INTERNAL'));
});
