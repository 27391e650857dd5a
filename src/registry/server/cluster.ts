import cluster, { type Worker } from 'node:cluster';
import { WharfError } from '../../errors/index.js';
import type { RegistryConfig } from '../config.js';
import { collectGarbage, type GcReport, type GcRunOptions } from '../gc.js';
import type { RegistryStore } from '../store.js';

/**
 * Several server processes on one port (node:cluster), for machines with more cores than one Node thread can use.
 * Workers re-run the program's entry point (the CLI or a test main) and serve through `startRegistry` as usual; the
 * shared state is the SQLite index (WAL) and the blob store, which are safe across processes by design.
 */
export async function startWorkers(
  config: RegistryConfig,
  store: RegistryStore,
  log: (line: string) => void,
): Promise<{
  url: string;
  host: string;
  port: number;
  runGc(o: GcRunOptions): Promise<GcReport>;
  close(): Promise<void>;
}> {
  if (config.port === 0) throw new WharfError('INVALID_ARGUMENT', 'http.workers > 1 needs a fixed port in http.addr');
  const workers: Worker[] = [];
  let stopping = false;
  const fork = () =>
    new Promise<void>((resolve, reject) => {
      const w = cluster.fork();
      workers.push(w);
      w.once('listening', () => resolve());
      w.once('exit', (code) => {
        if (!stopping) {
          log(`registry worker ${w.process.pid} exited (${code}); starting another`);
          void fork().catch((err: Error) => log(`registry worker: ${err.message}`));
        }
        reject(new WharfError('UNAVAILABLE', `registry worker exited with ${code} before listening`));
      });
    });
  try {
    await Promise.all(Array.from({ length: config.workers }, fork));
  } catch (err) {
    stopping = true;
    for (const w of workers) w.kill('SIGTERM');
    throw err;
  }
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `${config.tls ? 'https' : 'http'}://${host}:${config.port}`,
    host: config.host,
    port: config.port,
    runGc: (o) => collectGarbage(store, o),
    async close() {
      stopping = true;
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.isDead()) return resolve();
              w.once('exit', () => resolve());
              w.process.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

/** Whether this process should fork workers rather than serve. */
export function shouldFork(config: RegistryConfig): boolean {
  return config.workers > 1 && cluster.isPrimary;
}

/** Only the first worker runs periodic maintenance. */
export function isMaintenanceProcess(): boolean {
  return cluster.isPrimary || cluster.worker?.id === 1;
}
