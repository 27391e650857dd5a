import { setTimeout as sleep } from 'node:timers/promises';
import { WharfError } from '../../errors/index.js';
import type { Digest } from '../../digest/index.js';

/** How long a blob commit waits for a GC that is deleting the same digest before giving up. */
const GC_WAIT_MS = 60_000;
const POLL_MS = 25;

/**
 * The one rule of `BlobIndex.beginCommit` for every backend: `tryLease` (one transaction of the backend) takes the
 * lease unless a GC is deleting the digest right now; then poll until the GC is done, and give up after a minute
 * with UNAVAILABLE, which the client sees as a retryable upload failure.
 */
export async function leaseWhenGcAllows(d: Digest, tryLease: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + GC_WAIT_MS;
  for (;;) {
    if (await tryLease()) return;
    if (Date.now() > deadline)
      throw new WharfError('UNAVAILABLE', `blob ${d} is being garbage-collected; retry the upload`);
    await sleep(POLL_MS);
  }
}
