import { createServer as createHttpServer, type Server } from 'node:http';
import { DEFAULT_RESERVE_BYTES } from '../config.js';
import { SpaceReserve } from '../storage/reserve.js';
import { createServer as createHttpsServer } from 'node:https';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { WharfError } from '../../errors/index.js';
import type { RegistryConfig } from '../config.js';
import { collectGarbage, type GcReport, type GcRunOptions } from '../gc.js';
import type { RegistryIndex } from '../metadata/index.js';
import { SqliteRegistryIndex } from '../metadata/sqlite.js';
import type { BlobDriver } from '../storage/driver.js';
import { FilesystemDriver } from '../storage/filesystem.js';
import { S3Driver } from '../storage/s3.js';
import { RegistryStore } from '../store.js';
import { HealthChecker } from './health.js';
import { RegistryMetrics } from './metrics.js';
import { AccessPolicy } from './access.js';
import { createRequestHandler } from './app.js';
import { Authenticator } from './auth.js';
import { isMaintenanceProcess, shouldFork, startWorkers } from './cluster.js';

export interface RunningRegistry {
  /** Base URL, e.g. http://127.0.0.1:5000 (the real port when 0 was asked). */
  url: string;
  host: string;
  port: number;
  store: RegistryStore;
  runGc(opts: GcRunOptions): Promise<GcReport>;
  /** Stops accepting, lets requests in flight (uploads too) finish up to the drain timeout, then closes the index. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Times every index query and blob-store operation into these metrics (the server's). */
  metrics?: RegistryMetrics;
}

type StoreConfig = Pick<RegistryConfig, 'rootDirectory' | 'blobLeaseMs' | 's3' | 'database'> &
  Partial<Pick<RegistryConfig, 'reserveBytes'>>;

/** The blob store the configuration names. */
export async function openBlobDriver(config: Pick<RegistryConfig, 'rootDirectory' | 's3'>): Promise<BlobDriver> {
  return config.s3 ? new S3Driver(config.s3) : new FilesystemDriver(config.rootDirectory);
}

/**
 * The index the configuration names: SQLite in the data directory, or PostgreSQL (migrated to this Wharf's schema
 * first; refused when the database has a newer one). PostgreSQL loads only when configured.
 */
export async function openRegistryIndex(config: StoreConfig, opts: OpenOptions = {}): Promise<RegistryIndex> {
  const db = config.database;
  if (db.driver === 'sqlite') return new SqliteRegistryIndex(path.join(config.rootDirectory, 'index.db'));
  const { PostgresRegistryIndex } = await import('../metadata/postgres.js');
  return PostgresRegistryIndex.open({
    dsn: db.dsn,
    pool: db.pool,
    statementTimeoutMs: db.statementTimeoutMs,
    migrate: true,
    ...(opts.metrics ? { observe: opts.metrics.observeQuery } : {}),
  });
}

/** `wharf registry migrate` on PostgreSQL: applies pending migrations and reports them (refuses a newer schema). */
export async function migratePostgres(db: Extract<RegistryConfig['database'], { driver: 'postgres' }>) {
  const { PostgresConnection } = await import('../metadata/postgres-db.js');
  const c = await PostgresConnection.open({ ...db, migrate: false, check: false });
  try {
    return await c.migrate();
  } finally {
    await c.close();
  }
}

/** Opens the storage and index a configuration names (for the server and for `registry gc`). */
export async function openRegistryStore(config: StoreConfig, opts: OpenOptions = {}): Promise<RegistryStore> {
  const driver = await openBlobDriver(config);
  const index = await openRegistryIndex(config, opts);
  // The reserve lives beside the index, on the disk whose filling would stop DELETE and GC (storage/reserve.ts).
  const reserveBytes = config.reserveBytes ?? DEFAULT_RESERVE_BYTES;
  const reserve =
    reserveBytes > 0 ? new SpaceReserve(path.join(config.rootDirectory, 'reserve'), reserveBytes) : undefined;
  await reserve?.fill().catch(() => false);
  return new RegistryStore(opts.metrics ? opts.metrics.instrument(driver) : driver, index, {
    blobLeaseMs: config.blobLeaseMs,
    ...(reserve ? { reserve } : {}),
  });
}

export interface StartOptions {
  /** Access-log and error lines; default: stderr. */
  log?: (line: string) => void;
}

export async function startRegistry(config: RegistryConfig, opts: StartOptions = {}): Promise<RunningRegistry> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Everything that can fail on bad configuration comes before the index is opened.
  const tlsFiles = config.tls
    ? await Promise.all([fsp.readFile(config.tls.certificate), fsp.readFile(config.tls.key)]).catch((err: Error) => {
        throw new WharfError('NOT_FOUND', `cannot read TLS certificate or key: ${err.message}`);
      })
    : undefined;
  await fsp.mkdir(config.rootDirectory, { recursive: true });
  const metrics = new RegistryMetrics();
  const store = await openRegistryStore(config, { metrics });
  const health = new HealthChecker(store.index, store.driver, config.database.driver, metrics);
  const policy = new AccessPolicy(config);
  let auth: Authenticator;
  try {
    auth = await Authenticator.create(config, policy);
  } catch (err) {
    await store.index.close();
    throw err;
  }
  if (shouldFork(config)) {
    const primary = await startWorkers(config, store, log).catch(async (err) => {
      await store.index.close();
      throw err;
    });
    return {
      ...primary,
      store,
      async close() {
        await primary.close();
        await store.index.close();
      },
    };
  }
  let gcRunning: Promise<GcReport> | undefined;
  const runGc = async (o: GcRunOptions): Promise<GcReport> => {
    // One GC at a time; a second request waits for the running one, then runs its own.
    while (gcRunning !== undefined) await gcRunning.catch(() => undefined);
    gcRunning = collectGarbage(store, o);
    try {
      const report = await gcRunning;
      metrics.gcDone(report, o.uploadsOnly === true);
      return report;
    } catch (err) {
      metrics.gcDone(undefined, o.uploadsOnly === true);
      throw err;
    } finally {
      gcRunning = undefined;
    }
  };
  const handler = createRequestHandler(
    { config, store, index: store.index, policy, auth, runGc, metrics, health },
    log,
  );

  const server: Server = tlsFiles
    ? createHttpsServer({ cert: tlsFiles[0], key: tlsFiles[1] }, handler)
    : createHttpServer(handler);
  // Large layers over slow links: no request timeout, but idle sockets are dropped.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 30_000;
  // Every socket gets this inactivity timeout; on it, http destroys the socket (streamed bodies and uploads alike).
  // sendfile transfers watch their own progress instead (util/sendfile.ts).
  server.timeout = config.idleTimeoutMs;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new WharfError('UNAVAILABLE', `cannot listen on ${config.host}:${config.port}: address in use`)
          : err,
      );
    });
    server.listen(config.port, config.host, () => resolve());
  }).catch(async (err) => {
    await store.index.close();
    throw err;
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  let purgeTimer: NodeJS.Timeout | undefined;
  if (config.uploadPurgeIntervalMs > 0 && !config.readOnly && isMaintenanceProcess()) {
    purgeTimer = setInterval(() => {
      runGc({ dryRun: false, deleteUntagged: false, uploadsOnly: true, uploadPurgeAgeMs: config.uploadPurgeAgeMs })
        .then(
          (r) => r.bytesFreed > 0 && log(`upload purge: ${r.uploadsPurged} stale upload(s), ${r.uploadBytes} bytes`),
        )
        .catch((err: Error) => log(`gc: ${err.message}`));
    }, config.uploadPurgeIntervalMs);
    purgeTimer.unref();
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (purgeTimer) clearInterval(purgeTimer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, config.shutdownTimeoutMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
      await store.idle();
      await gcRunning?.catch(() => undefined);
      await store.index.close();
    })());

  return {
    url: `${config.tls ? 'https' : 'http'}://${hostForUrl}:${addr.port}`,
    host: addr.address,
    port: addr.port,
    store,
    runGc,
    close,
  };
}
