import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import {
  resolveRegistryConfig,
  startRegistry,
  type RegistryConfig,
  type RunningRegistry,
} from '../../../src/registry/index.js';

export interface TestRegistry extends RunningRegistry {
  root: string;
  config: RegistryConfig;
  logs: string[];
  stop(): Promise<void>;
}

/** A registry on 127.0.0.1 port 0 in a fresh temp dir; `raw` is the YAML document as an object. */
export async function startTestRegistry(raw: Record<string, unknown> = {}, dir?: string): Promise<TestRegistry> {
  const root = dir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-registry-test-')));
  const doc = { http: { addr: '127.0.0.1:0' }, ...raw } as Record<string, unknown>;
  const config = resolveRegistryConfig(doc, { wharfRoot: root, baseDir: root });
  config.uploadPurgeIntervalMs = 0;
  const logs: string[] = [];
  const r = await startRegistry(config, { log: (l) => logs.push(l) });
  return {
    ...r,
    root,
    config,
    logs,
    async stop() {
      await r.close();
      if (dir === undefined) await fsp.rm(root, { recursive: true, force: true });
    },
  };
}

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export function randomBlob(size: number): { data: Buffer; digest: string } {
  const data = randomBytes(size);
  return { data, digest: sha256(data) };
}

/** Pushes a blob monolithically (POST ?digest=). */
export async function pushBlob(
  url: string,
  repo: string,
  data: Buffer,
  headers: Record<string, string> = {},
): Promise<string> {
  const digest = sha256(data);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    body: data,
    headers: { 'Content-Type': 'application/octet-stream', ...headers },
  });
  if (res.status !== 201) throw new Error(`push blob ${digest}: ${res.status} ${await res.text()}`);
  return digest;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Pushes config + layers + manifest; returns the manifest digest and bytes. */
export async function pushImage(
  url: string,
  repo: string,
  tag: string | undefined,
  opts: { layers?: Buffer[]; headers?: Record<string, string>; extra?: Record<string, unknown>; config?: Buffer } = {},
): Promise<{
  digest: string;
  manifest: Buffer;
  layers: Array<{ digest: string; data: Buffer }>;
  config: { digest: string; data: Buffer };
}> {
  const config =
    opts.config ??
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [] },
        nonce: randomBytes(8).toString('hex'),
      }),
    );
  const layers = (opts.layers ?? [randomBytes(1024)]).map((data) => ({ data, digest: '' }));
  for (const l of layers) l.digest = await pushBlob(url, repo, l.data, opts.headers);
  const configDigest = await pushBlob(url, repo, config, opts.headers);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.data.length,
      })),
      ...(opts.extra ?? {}),
    }),
  );
  const digest = sha256(manifest);
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag ?? digest}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'Content-Type': OCI_MANIFEST, ...(opts.headers ?? {}) },
  });
  if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
  return { digest, manifest, layers, config: { digest: configDigest, data: config } };
}
