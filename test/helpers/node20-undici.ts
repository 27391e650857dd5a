/**
 * testcontainers 12 depends on undici 8, which declares Node >= 22.19 and, on Node 20, fails while it loads: it binds
 * `zlib.createZstdDecompress` (Node 22.15) and calls `worker_threads.markAsUncloneable` (Node 22.10) at module level.
 * Neither is used on the paths our tests take (an HTTP client over a unix socket; zstd only decodes responses that
 * say `Content-Encoding: zstd`; the uncloneable mark only guards postMessage of undici's own objects), so until the
 * project runs Node 22, these stand-ins let it load. Call before the first import of testcontainers; a no-op where Node
 * has the real ones.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function allowUndici8OnNode20(): void {
  const zlib = require('node:zlib') as Record<string, unknown>;
  if (typeof zlib.createZstdDecompress !== 'function') {
    zlib.createZstdDecompress = () => {
      throw new Error(`zstd decompression needs Node 22.15 or newer (this is ${process.version})`);
    };
  }
  const workerThreads = require('node:worker_threads') as Record<string, unknown>;
  if (typeof workerThreads.markAsUncloneable !== 'function') workerThreads.markAsUncloneable = () => {};
}
