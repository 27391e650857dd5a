import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadRegistryConfig, resolveRegistryConfig } from '../../../src/registry/index.js';
import { is } from '../../../src/errors/index.js';

const ctx = { wharfRoot: '/x', baseDir: '/x' };
const refuses = (raw: Record<string, unknown>, message: RegExp) =>
  assert.throws(
    () => resolveRegistryConfig(raw, ctx),
    (e: unknown) => is(e, 'INVALID_ARGUMENT') && message.test((e as Error).message) && !/\n/.test((e as Error).message),
  );

describe('registry config: nothing is quietly ignored', () => {
  it('names an unknown key, at any depth, in one line', () => {
    refuses({ storage: { filesystem: { rootdir: '/d' } } }, /^config storage\.filesystem\.rootdir: unknown key/);
    refuses({ htttp: {} }, /^config htttp: unknown key/);
    refuses({ access: { rules: [{ users: ['a'], repos: ['x'] }] } }, /^config access\.rules\[0\]\.repos: unknown key/);
    refuses({ database: { dsn: 'postgresql://h/db', poolsize: 3 } }, /^config database\.poolsize: unknown key/);
  });

  it('refuses storage drivers it does not have, and two at once', () => {
    refuses(
      { storage: { azure: { accountname: 'a' } } },
      /^config storage\.azure: storage driver azure is not supported/,
    );
    refuses(
      { storage: { filesystem: {}, s3: { region: 'r', bucket: 'b' } } },
      /^config storage: two storage drivers \(filesystem, s3\)/,
    );
  });

  it('keeps free-form maps and the stock distribution keys that have no effect here', () => {
    const c = resolveRegistryConfig(
      {
        log: { fields: { service: 'registry' } },
        storage: { cache: { blobdescriptor: 'inmemory' } },
        http: { headers: { 'X-Content-Type-Options': ['nosniff'] } },
        health: { storagedriver: { enabled: true } },
        access: { groups: { 'any-name': ['a'] } },
      },
      ctx,
    );
    assert.equal(c.s3, undefined);
    assert.equal(c.database.driver, 'sqlite');
  });

  it('reads database: a DSN means postgres; pool and statement timeout have defaults; unknown drivers stop', () => {
    const c = resolveRegistryConfig({ database: { dsn: 'postgresql://wharf@127.0.0.1:5432/wharf' } }, ctx);
    assert.deepEqual(c.database, {
      driver: 'postgres',
      dsn: 'postgresql://wharf@127.0.0.1:5432/wharf',
      pool: 10,
      statementTimeoutMs: 30_000,
    });
    refuses({ database: { driver: 'mysql' } }, /^config database\.driver: unknown driver "mysql" \(sqlite, postgres\)/);
    refuses({ database: { driver: 'postgres' } }, /^config database\.dsn: driver postgres needs/);
    refuses(
      { database: { driver: 'sqlite', dsn: 'postgresql://h/d' } },
      /^config database\.dsn: only for driver postgres/,
    );
    refuses({ database: { dsn: 'postgresql://h/d', pool: 0 } }, /^config database\.pool:/);
  });

  it('takes REGISTRY_DATABASE_* from the environment, and refuses a misspelt variable of a known section', async () => {
    const c = await loadRegistryConfig({
      wharfRoot: '/x',
      env: {
        REGISTRY_DATABASE_DSN: 'postgresql://u:p@db:5432/reg',
        REGISTRY_DATABASE_POOL: '25',
        REGISTRY_DATABASE_STATEMENTTIMEOUT: '5s',
        REGISTRY_URL: 'https://not.ours', // another tool's variable: no section of ours
      },
    });
    assert.deepEqual(c.database, {
      driver: 'postgres',
      dsn: 'postgresql://u:p@db:5432/reg',
      pool: 25,
      statementTimeoutMs: 5000,
    });
    await assert.rejects(
      loadRegistryConfig({ wharfRoot: '/x', env: { REGISTRY_DATABASE_DNS: 'postgresql://h/d' } }),
      /^Error: REGISTRY_DATABASE_DNS: config database\.dns is not a known key|REGISTRY_DATABASE_DNS: config database\.dns is not a known key/,
    );
  });

  it("resolves storage.s3 with distribution keys (the S3 driver's parseS3Config), passing it through typed", () => {
    const c = resolveRegistryConfig(
      {
        storage: {
          s3: {
            region: 'us-east-1',
            regionendpoint: 'http://127.0.0.1:7480',
            bucket: 'wharf',
            accesskey: 'AK',
            secretkey: 'SK',
            rootdirectory: '/registry/',
            chunksize: 8388608,
            forcepathstyle: true,
            secure: false,
          },
          redirect: { disable: true },
        },
      },
      ctx,
    );
    assert.deepEqual(c.s3, {
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:7480',
      bucket: 'wharf',
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
      rootDirectory: 'registry',
      chunkSize: 8388608,
      forcePathStyle: true,
      redirect: false,
    });
    refuses({ storage: { s3: { region: 'r' } } }, /^config storage\.s3\.bucket: required/);
    refuses({ storage: { s3: { region: 'r', bucket: 'b', chunksize: 1024 } } }, /^config storage\.s3\.chunksize:/);
    refuses({ storage: { s3: { region: 'r', bucket: 'b', accesskey: 'a' } } }, /accesskey and secretkey go together/);
  });
});
