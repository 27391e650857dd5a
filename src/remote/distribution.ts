import { WharfError } from '../errors/index.js';
import type { Digest } from '../digest/index.js';
import { parseNormalizedNamed } from '../reference/index.js';
import { RegistryClient } from './client.js';
import { searchTarget } from './hosts.js';
import type { RemoteOptions } from './options.js';
import type { SearchResult } from './search.js';

/** A platform as the registry's index (or the image's config) names it (OCI's field names). */
export interface RemotePlatform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** What `GET /distribution/{name}/json` answers: the manifest's descriptor and the platforms it serves. */
export interface DistributionInfo {
  descriptor: { mediaType: string; digest: Digest; size: number };
  platforms: RemotePlatform[];
}

const MAX_CONFIG = 8 * 1024 * 1024;

/**
 * The descriptor of an image's manifest in its registry and its platforms: an index's entries, or the platform of a
 * single image's config (as dockerd's distribution inspect reads it). No layer is fetched.
 */
export async function inspectDistribution(name: string, opts: RemoteOptions = {}): Promise<DistributionInfo> {
  const ref = parseNormalizedNamed(name);
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const client = RegistryClient.forDomain(ref.domain, opts);
  try {
    const m = await client.manifests.get(ref.path, reference);
    const doc = JSON.parse(m.raw.toString('utf8')) as {
      manifests?: Array<{ platform?: RemotePlatform }>;
      config?: { digest?: string };
    };
    const descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.raw.length };
    if (Array.isArray(doc.manifests)) {
      const platforms = doc.manifests
        .map((e) => e.platform)
        .filter((p): p is RemotePlatform => !!p && typeof p.architecture === 'string');
      return { descriptor, platforms };
    }
    if (!doc.config?.digest) return { descriptor, platforms: [] };
    const cfg = JSON.parse(
      (await client.blobs.fetch(ref.path, doc.config.digest as Digest, MAX_CONFIG)).toString('utf8'),
    ) as { architecture?: string; os?: string; variant?: string };
    const platform: RemotePlatform = { architecture: cfg.architecture ?? '', os: cfg.os ?? '' };
    if (cfg.variant) platform.variant = cfg.variant;
    return { descriptor, platforms: [platform] };
  } catch (err) {
    if (err instanceof SyntaxError) throw new WharfError('UNAVAILABLE', `invalid manifest for ${name}: ${err.message}`);
    throw err;
  } finally {
    client.close();
  }
}

/**
 * `docker search TERM` as the daemon runs it: Docker Hub's index, or the registry a `host/term` names (insecure
 * when listed or on loopback), at most `limit` results.
 */
export async function searchImages(term: string, limit: number, opts: RemoteOptions = {}): Promise<SearchResult[]> {
  const target = searchTarget(term, opts.insecureRegistries ? { insecureRegistries: opts.insecureRegistries } : {});
  const client = new RegistryClient(target.endpoint, opts);
  try {
    return await client.search(target.query, limit);
  } finally {
    client.close();
  }
}
