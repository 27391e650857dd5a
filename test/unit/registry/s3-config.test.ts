import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseS3Config, resolveRegistryConfig } from '../../../src/registry/index.js';
import { is } from '../../../src/errors/index.js';

const ctx = { wharfRoot: '/w', baseDir: '/etc/wharf' };

describe('storage.s3 configuration', () => {
  it('reads distribution keys, with the endpoint scheme from secure and path style for own endpoints', () => {
    const c = parseS3Config(
      {
        region: 'us-east-1',
        regionendpoint: '127.0.0.1:7480',
        bucket: 'reg',
        accesskey: 'AK',
        secretkey: 'SK',
        rootdirectory: '/team/registry/',
        chunksize: 6291456,
        secure: false,
      },
      false,
    );
    assert.deepEqual(c, {
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:7480',
      bucket: 'reg',
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
      rootDirectory: 'team/registry',
      chunkSize: 6291456,
      forcePathStyle: true,
      redirect: true,
    });
    const aws = parseS3Config({ region: 'eu-west-1', bucket: 'b' }, true);
    assert.equal(aws.endpoint, undefined);
    assert.equal(aws.credentials, undefined, 'the SDK default chain');
    assert.equal(aws.forcePathStyle, false);
    assert.equal(aws.chunkSize, 10 * 1024 * 1024);
    assert.equal(aws.redirect, false);
    assert.equal(
      parseS3Config({ region: 'r', bucket: 'b', regionendpoint: 'rgw:80' }, false).endpoint,
      'https://rgw:80',
    );
    assert.equal(
      parseS3Config({ region: 'r', bucket: 'b', regionendpoint: 'http://rgw', forcepathstyle: 'false' }, false)
        .forcePathStyle,
      false,
    );
  });

  it('refuses what cannot work, naming the key', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ bucket: 'b' }, /storage\.s3\.region/],
      [{ region: 'r' }, /storage\.s3\.bucket/],
      [{ region: 'r', bucket: 'b', accesskey: 'a' }, /accesskey and secretkey/],
      [{ region: 'r', bucket: 'b', chunksize: 1024 }, /storage\.s3\.chunksize/],
      [{ region: 'r', bucket: 'b', chunksize: 'big' }, /storage\.s3\.chunksize/],
      [{ region: 'r', bucket: 'b', secure: 'maybe' }, /storage\.s3\.secure/],
      [{ region: 'r', bucket: 'b', rootdirectory: 'a/../b' }, /storage\.s3\.rootdirectory/],
    ];
    for (const [raw, msg] of bad) {
      assert.throws(
        () => parseS3Config(raw, false),
        (e: unknown) => is(e, 'INVALID_ARGUMENT') && msg.test((e as Error).message),
        JSON.stringify(raw),
      );
    }
  });

  it('comes through the registry configuration, with storage.redirect.disable', () => {
    const cfg = resolveRegistryConfig(
      { storage: { s3: { region: 'r', bucket: 'b' }, redirect: { disable: true } } },
      ctx,
    );
    assert.equal(cfg.s3?.bucket, 'b');
    assert.equal(cfg.s3?.redirect, false);
    assert.equal(cfg.rootDirectory, '/w/registry', 'the index stays on the local disk');
    assert.equal(resolveRegistryConfig({}, ctx).s3, undefined);
  });
});
