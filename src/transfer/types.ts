import type { ContentStore } from '../content/index.js';
import type { ImageService } from '../image/index.js';
import type { RegistryClient, RemoteOptions } from '../remote/index.js';

/** What pull and push need from an opened Wharf root (the engine's Wharf satisfies it). */
export interface TransferEngine {
  images: ImageService;
  content: ContentStore;
}

/**
 * Progress as Docker's CLI shows it: free-standing lines ("latest: Pulling from library/busybox", "Digest: …") and
 * per-layer statuses keyed by a short ID ("Pulling fs layer", "Downloading" with bytes, "Pull complete", "Pushed"…).
 */
export type TransferEvent =
  | { type: 'message'; text: string }
  | { type: 'layer'; id: string; status: string; current?: number; total?: number };

export type ProgressFn = (e: TransferEvent) => void;

export interface TransferCommonOptions {
  /** Registry access: credentials, insecure registries, TLS verification, retries. */
  remote?: RemoteOptions;
  /** Use this client (tests, or a caller that keeps one per registry); it is not closed. */
  client?: RegistryClient;
  onProgress?: ProgressFn;
  /** Layers transferred at once (default 3, as Docker's max-concurrent-downloads/uploads). */
  concurrency?: number;
}

/** 'sha256:0123456789abcdef…' → '0123456789ab', the layer IDs Docker prints. */
export function shortHex(d: string): string {
  return d.slice(d.indexOf(':') + 1, d.indexOf(':') + 13);
}

/** 'localhost:5000/a/b' → domain and path (repository names we record always carry their domain). */
export function splitRepository(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  return slash < 0 ? { domain: '', path: name } : { domain: name.slice(0, slash), path: name.slice(slash + 1) };
}
