import { promises as fsp, constants } from 'node:fs';
import * as path from 'node:path';
import type { RegistryIndex } from '../metadata/index.js';
import type { BlobDriver } from '../storage/driver.js';
import type { RegistryMetrics } from './metrics.js';

/** A check that has not answered in this long has failed: a hung database is as down as a refused one. */
const CHECK_TIMEOUT_MS = 2000;
/** Checks run at most this often; a load balancer polling every replica each second costs one query a second. */
const CACHE_MS = 1000;
/** What a client told to come back (503) waits: a database restart or a failover takes seconds. */
export const RETRY_AFTER_SECONDS = 5;

export interface HealthReport {
  ok: boolean;
  /** Dependency → what failed (distribution's /debug/health body: empty when healthy). */
  failures: Record<string, string>;
}

async function within(ms: number, p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Readiness of a replica: the index answers a trivial query and the blob store answers a stat (a local store: its
 * directory is writable). `/debug/health` reports it, 503 while either is down, so a load balancer takes the replica
 * out and puts it back once both answer again.
 */
export class HealthChecker {
  #last: { at: number; report: Promise<HealthReport> } | undefined;

  constructor(
    private readonly index: RegistryIndex,
    private readonly driver: BlobDriver,
    private readonly databaseName: string,
    private readonly metrics?: RegistryMetrics,
  ) {}

  check(): Promise<HealthReport> {
    const now = Date.now();
    if (this.#last && now - this.#last.at < CACHE_MS) return this.#last.report;
    const report = this.#run();
    this.#last = { at: now, report };
    return report;
  }

  async #run(): Promise<HealthReport> {
    const failures: Record<string, string> = {};
    const probe = async (name: string, label: string, run: () => Promise<unknown>) => {
      try {
        await within(CHECK_TIMEOUT_MS, run());
        this.metrics?.up.set({ dependency: label }, 1);
      } catch (err) {
        failures[name] = (err as Error).message.split('\n')[0]!;
        this.metrics?.up.set({ dependency: label }, 0);
      }
    };
    await Promise.all([
      probe(`database_${this.databaseName}`, 'database', () => this.index.ping()),
      probe(`storagedriver_${this.driver.name}`, 'storage', async () => {
        const local = this.driver.localPath?.('health');
        if (local !== undefined) await fsp.access(path.dirname(local), constants.W_OK);
        else await this.driver.stat('health');
      }),
    ]);
    return { ok: Object.keys(failures).length === 0, failures };
  }
}
