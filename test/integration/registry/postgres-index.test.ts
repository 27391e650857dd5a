/**
 * The shared RegistryIndex suite on a real PostgreSQL 15 (one private cluster for the file, a fresh database per
 * test), plus what only PostgreSQL has: versioned migrations and the refusal of a newer schema.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresRegistryIndex } from '../../../src/registry/metadata/postgres.js';
import { MIGRATIONS } from '../../../src/registry/metadata/postgres-migrations.js';
import { runRegistryIndexSuite } from '../../suites/registry-index.js';
import { runConformanceSuite } from '../../suites/registry-conformance.js';
import { startTestRegistry } from './helpers.js';
import { postgresMissing, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { is } from '../../../src/errors/index.js';
import { runCli, tempRoot } from '../../helpers/cli.js';

const missing = postgresMissing();
const opts = (dsn: string, migrate = true) => ({ dsn, pool: 4, statementTimeoutMs: 10_000, migrate });

describe('PostgreSQL registry index', { skip: missing ?? false }, () => {
  let server: TestPostgres;
  let n = 0;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  runRegistryIndexSuite('postgres', async () => {
    const dsn = await server.freshSchema(`suite${n++}`);
    return { index: await PostgresRegistryIndex.open(opts(dsn)), cleanup: async () => {} };
  });

  runConformanceSuite('postgres', async () =>
    startTestRegistry({ database: { dsn: await server.freshSchema('conformance'), pool: 4 } }),
  );

  it('applies its migrations once, refuses to serve an unmigrated schema, and refuses a newer one', async () => {
    const dsn = await server.freshSchema('migrations');
    await assert.rejects(PostgresRegistryIndex.open(opts(dsn, false)), /run `wharf registry migrate`/);
    const a = await PostgresRegistryIndex.open(opts(dsn));
    const again = await a.connection.migrate();
    assert.deepEqual(again.applied, [], 'nothing left to apply');
    assert.equal(again.to, MIGRATIONS[MIGRATIONS.length - 1]!.version);
    await a.close();
    const raw = new pg.Client({ connectionString: dsn });
    await raw.connect();
    await raw.query("INSERT INTO wharf_schema_migrations (version, description) VALUES (999, 'from the future')");
    await raw.end();
    for (const migrate of [true, false])
      await assert.rejects(PostgresRegistryIndex.open(opts(dsn, migrate)), (e) => {
        assert.ok(is(e, 'FAILED_PRECONDITION'));
        assert.match((e as Error).message, /schema 999, newer than this Wharf knows/);
        return true;
      });
  });

  it('`wharf registry migrate` applies the migrations once; serve refuses a database with a newer schema', async () => {
    const dsn = await server.freshSchema('cli');
    const { root, cleanup } = await tempRoot('wharf-pg-cli-');
    try {
      const env = { REGISTRY_DATABASE_DSN: dsn };
      const first = await runCli(root, ['registry', 'migrate'], { env });
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /applied migration 1: /);
      assert.match(first.stdout, /postgres schema migrated from version 0 to 1/);
      const again = await runCli(root, ['registry', 'migrate'], { env });
      assert.match(again.stdout, /postgres schema is at version 1, nothing to apply/);
      const raw = new pg.Client({ connectionString: dsn });
      await raw.connect();
      await raw.query("INSERT INTO wharf_schema_migrations (version, description) VALUES (2, 'from the future')");
      await raw.end();
      const serve = await runCli(root, ['registry', 'serve', '--addr', '127.0.0.1:0'], { env });
      assert.notEqual(serve.code, 0);
      assert.match(serve.stderr, /schema 2, newer than this Wharf knows \(1\)/);
    } finally {
      await cleanup();
    }
  });

  it('answers UNAVAILABLE (not a crash) while the database is down, and works again once it is back', async () => {
    const dsn = await server.freshSchema('restart');
    const index = await PostgresRegistryIndex.open(opts(dsn));
    try {
      await index.ping();
      await server.restart();
      // Pooled connections died with the restart: the first query may fail on one of them, the next ones succeed.
      for (let i = 0; i < 10; i++) {
        try {
          await index.ping();
          break;
        } catch (err) {
          assert.ok(is(err, 'UNAVAILABLE'), String(err));
        }
      }
      await index.ping();
    } finally {
      await index.close();
    }
  });
});
