/**
 * A single-node Ceph with its RADOS Gateway (scripts/ceph-rgw.sh) for the S3 tests: started once per test file (it
 * takes ~20 s), in a temp dir of its own, stopped by the PIDs the script keeps. Each user gets a fresh root directory
 * in the bucket so tests sharing one gateway do not see each other's objects.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { S3Config } from '../../src/registry/index.js';

const execFileP = promisify(execFile);
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/ceph-rgw.sh');

export interface CephRgw {
  endpoint: string;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  /** Seconds the start took (the script's own count). */
  startSeconds: number;
  /** An S3Config for the driver under a fresh root directory in the bucket. */
  s3Config(opts?: Partial<Pick<S3Config, 'chunkSize' | 'redirect'>>): S3Config;
  /** The `storage.s3` section of a registry config for the same (YAML keys, as distribution's). */
  storageSection(opts?: { chunksize?: number }): Record<string, unknown>;
  /** Stops only radosgw (the object store "down"), and starts it again. */
  stopGateway(): Promise<void>;
  startGateway(): Promise<void>;
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function cephAvailable(): boolean {
  return ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/usr/bin/ceph-mgr', '/usr/bin/radosgw'].every((p) =>
    existsSync(p),
  );
}

export async function startCephRgw(): Promise<CephRgw> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-ceph-'));
  const stop = async () => {
    await execFileP(SCRIPT, ['stop', dir], { timeout: 60_000 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  let out: string;
  try {
    out = (await execFileP(SCRIPT, ['start', dir], { timeout: 300_000 })).stdout;
  } catch (err) {
    await stop();
    throw err;
  }
  const env = Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const base = {
    endpoint: env.S3_ENDPOINT!,
    region: env.S3_REGION!,
    bucket: env.S3_BUCKET!,
    accessKey: env.S3_ACCESS_KEY!,
    secretKey: env.S3_SECRET_KEY!,
  };
  const rgwPidFile = path.join(dir, 'run', 'client.rgw.wharf.pid');
  return {
    ...base,
    startSeconds: Number(env.CEPH_START_SECONDS),
    s3Config(opts = {}) {
      return {
        region: base.region,
        endpoint: base.endpoint,
        bucket: base.bucket,
        credentials: { accessKeyId: base.accessKey, secretAccessKey: base.secretKey },
        rootDirectory: `t-${randomUUID()}`,
        chunkSize: opts.chunkSize ?? 5 * 1024 * 1024,
        forcePathStyle: true,
        redirect: opts.redirect ?? false,
      };
    },
    storageSection(opts = {}) {
      return {
        region: base.region,
        regionendpoint: base.endpoint,
        bucket: base.bucket,
        accesskey: base.accessKey,
        secretkey: base.secretKey,
        rootdirectory: `/r-${randomUUID()}`,
        chunksize: opts.chunksize ?? 5 * 1024 * 1024,
        forcepathstyle: true,
        secure: false,
      };
    },
    async stopGateway() {
      const pid = Number((await readFile(rgwPidFile, 'utf8')).trim());
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    },
    async startGateway() {
      // Never a second radosgw: it would overwrite the PID file of the one running.
      const pid = Number((await readFile(rgwPidFile, 'utf8').catch(() => '')).trim());
      if (pid > 0 && alive(pid)) return;
      await execFileP('radosgw', ['-c', path.join(dir, 'ceph.conf'), '-n', 'client.rgw.wharf'], { timeout: 120_000 });
      for (let i = 0; i < 120; i++) {
        const ok = await fetch(`${base.endpoint}/`).then(
          (r) => r.status < 500,
          () => false,
        );
        if (ok) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error('radosgw did not come back');
    },
    stop,
  };
}
