import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GcReport } from '../gc.js';
import type { BlobDriver, BlobWriter } from '../storage/driver.js';

/** Latency buckets (seconds) for the index and the blob store: sub-millisecond SQLite up to a slow object store. */
const LATENCY = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The server's Prometheus metrics (`GET /metrics`), one registry per server (tests run several in one process). With
 * http.workers > 1 each worker counts its own requests; a scrape reaches whichever worker takes the connection.
 */
export class RegistryMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'wharf_registry_http_requests_total',
    help: 'Requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'wharf_registry_http_request_duration_seconds',
    help: 'Time from request to the end of the response, by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  readonly bytesSent = new Counter({
    name: 'wharf_registry_http_sent_bytes_total',
    help: 'Response bytes (headers and bodies, sendfile included), by route',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly bytesReceived = new Counter({
    name: 'wharf_registry_http_received_bytes_total',
    help: 'Request body bytes, by route',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly uploads = new Counter({
    name: 'wharf_registry_upload_sessions_total',
    help: 'Upload sessions started, completed and cancelled through this process',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly uploadsInFlight = new Gauge({
    name: 'wharf_registry_upload_requests_in_flight',
    help: 'Upload requests (POST, PATCH, PUT of a session) being received right now',
    registers: [this.registry],
  });
  readonly gcRuns = new Counter({
    name: 'wharf_registry_gc_runs_total',
    help: 'Garbage collections run by this process, by kind (full or uploads only) and outcome',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly gcFreed = new Counter({
    name: 'wharf_registry_gc_freed_bytes_total',
    help: 'Bytes freed by garbage collection (blobs, manifests, orphans, stale uploads)',
    registers: [this.registry],
  });
  readonly dbLatency = new Histogram({
    name: 'wharf_registry_database_query_duration_seconds',
    help: 'Index queries (PostgreSQL statements, including waits for a pooled connection), by outcome',
    labelNames: ['outcome'] as const,
    buckets: LATENCY,
    registers: [this.registry],
  });
  readonly storageLatency = new Histogram({
    name: 'wharf_registry_storage_operation_duration_seconds',
    help: 'Blob store operations (until the first byte for reads), by driver, operation and outcome',
    labelNames: ['driver', 'op', 'outcome'] as const,
    buckets: LATENCY,
    registers: [this.registry],
  });
  readonly up = new Gauge({
    name: 'wharf_registry_dependency_up',
    help: 'Whether the last health check reached the dependency (1) or not (0)',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  /** For PostgresIndexOptions.observe. */
  readonly observeQuery = (seconds: number, ok: boolean): void => {
    this.dbLatency.observe({ outcome: ok ? 'ok' : 'error' }, seconds);
  };

  gcDone(report: GcReport | undefined, uploadsOnly: boolean): void {
    this.gcRuns.inc({ kind: uploadsOnly ? 'uploads' : 'full', outcome: report ? 'ok' : 'error' });
    if (report && !report.dryRun) this.gcFreed.inc(report.bytesFreed);
  }

  /**
   * The driver with its operations timed into storageLatency (the object store's latency, for S3). A Proxy, so that
   * whatever else a driver has (a presigning method, say) passes through untouched.
   */
  instrument(driver: BlobDriver): BlobDriver {
    const h = this.storageLatency;
    const timed = async <T>(op: string, run: () => Promise<T>): Promise<T> => {
      const end = h.startTimer({ driver: driver.name, op });
      try {
        const out = await run();
        end({ outcome: 'ok' });
        return out;
      } catch (err) {
        end({ outcome: 'error' });
        throw err;
      }
    };
    const proxy = <T extends object>(
      target: T,
      ops: Record<string, string>,
      wrap?: (prop: string, v: unknown) => unknown,
    ) =>
      new Proxy(target, {
        get(t, prop) {
          const v = Reflect.get(t, prop, t) as unknown;
          if (typeof v !== 'function') return v;
          const op = typeof prop === 'string' ? ops[prop] : undefined;
          if (op === undefined) return (v as (...a: unknown[]) => unknown).bind(t);
          return (...args: unknown[]) =>
            timed(op, async () => {
              const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(t, args);
              return wrap ? wrap(prop as string, out) : out;
            });
        },
      });
    const writerOps = { commit: 'commit' };
    return proxy(
      driver,
      { stat: 'stat', reader: 'read', writer: 'open_writer', move: 'move', delete: 'delete' },
      (prop, out) => (prop === 'writer' ? proxy(out as BlobWriter, writerOps) : out),
    );
  }
}
