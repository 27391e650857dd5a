import type { Credentials } from './credentials.js';

/** Where credentials come from: a CredentialStore, or any lookup by registry domain. */
export interface CredentialSource {
  get(domain: string): Promise<Credentials | undefined>;
}

export interface RemoteOptions {
  credentials?: CredentialSource;
  /** host[:port] or CIDR entries allowed to use plain HTTP / unverified TLS (Docker's insecure-registries). */
  insecureRegistries?: readonly string[];
  /** false: accept any TLS certificate from every registry (`--tls-verify=false`). */
  tlsVerify?: boolean;
  /** A PEM file of CA certificates trusted besides Node's own (the CLI passes WHARF_EXTRA_CA_CERTS). */
  caFile?: string;
  /** Retries of a failed request (5xx, 429, connection reset), with exponential backoff. Default 3. */
  retries?: number;
  /** The first backoff; doubles per retry. Default 250 ms. */
  retryBaseMs?: number;
  /** Socket idle timeout. Default 60 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}
