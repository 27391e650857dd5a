import type { ContentProvider, ContentWriter, Ingester } from '../content/index.js';
import { is } from '../errors/index.js';
import type { ImageInIntentLog } from '../image/index.js';
import type { Descriptor } from '../oci/index.js';
import type { Digest } from '../digest/index.js';
import type { RegistryClient } from '../remote/index.js';
import { testPausePoint } from '../util/index.js';
import { GrowingFile } from './growing-file.js';
import { shortHex, type ProgressFn } from './types.js';

/** The resumable ingest of a layer's download: one per blob, shared by every pull of it (one writer at a time). */
export const ingestRefOf = (d: Digest) => `pull-${d}`;

const WAIT_STEP_MS = 250;
const WRITE_BATCH = 1 << 20;
const MAX_WAIT_MS = 30 * 60_000;

/** One layer blob into the content store (resumable, with Range); true when this call downloaded it (false: it was already stored). */
export async function downloadLayer(
  content: ContentProvider & Ingester,
  client: RegistryClient,
  repo: string,
  desc: Descriptor,
  emit: ProgressFn,
  unpackedElsewhere: () => boolean,
  intent: ImageInIntentLog,
  /** Told the ingest's file once this call writes it, to read it as it grows. */
  onGrowing: (file: GrowingFile) => void,
): Promise<boolean> {
  const id = shortHex(desc.digest);
  if (await content.info(desc.digest)) {
    emit({ type: 'layer', id, status: 'Download complete' });
    return false;
  }
  const expected = { digest: desc.digest, size: desc.size };
  let writer: ContentWriter;
  const ref = ingestRefOf(desc.digest);
  intent.note('ingests', ref);
  for (let waited = 0; ; waited += WAIT_STEP_MS) {
    try {
      writer = await content.writer(ref, expected);
      break;
    } catch (err) {
      if (is(err, 'ALREADY_EXISTS')) return false;
      // Another process is downloading this very layer: wait for it rather than fetch it twice.
      if (!is(err, 'UNAVAILABLE') || waited >= MAX_WAIT_MS) throw err;
      if (waited === 0) emit({ type: 'layer', id, status: 'Waiting' });
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
      if (unpackedElsewhere()) return false;
    }
  }
  let file: GrowingFile | undefined;
  try {
    if (writer.offset > desc.size) await writer.truncate();
    // Only a local ingest has a file to read while it grows (the in-memory store is unpacked after the download).
    const dataPath = (writer as { dataPath?: string }).dataPath;
    if (dataPath !== undefined) {
      file = await GrowingFile.open(dataPath, writer.offset);
      onGrowing(file);
    }
    if (writer.offset < desc.size) {
      let last = 0;
      const stream = client.blobs.open(repo, desc.digest, {
        start: writer.offset,
        size: desc.size,
        onResume: (offset) => emit({ type: 'layer', id, status: 'Retrying', current: offset, total: desc.size }),
      });
      emit({ type: 'layer', id, status: 'Downloading', current: writer.offset, total: desc.size });
      // The network hands over 16–64 KiB at a time; one write (a thread-pool round trip) per 1 MiB instead, a
      // writev of the chunks as they came: copying them into one buffer first made 1 MiB of garbage per write, and
      // V8 runs a full GC for every 64 MB or so of buffers allocated.
      let batch: Buffer[] = [];
      let batched = 0;
      const flush = async () => {
        if (batched === 0) return;
        const chunks = batch;
        batch = [];
        batched = 0;
        await writer.writeChunks(chunks);
        file?.grew(writer.offset);
      };
      try {
        for await (const chunk of stream) {
          batch.push(chunk as Buffer);
          batched += (chunk as Buffer).length;
          if (batched < WRITE_BATCH) continue;
          await flush();
          if (writer.offset - last >= 512 * 1024) {
            last = writer.offset;
            emit({ type: 'layer', id, status: 'Downloading', current: writer.offset, total: desc.size });
          }
        }
        await flush();
      } catch (err) {
        // What arrived before a failure is kept too, for the next pull to resume from.
        await flush().catch(() => {});
        throw err;
      }
    }
    emit({ type: 'layer', id, status: 'Verifying Checksum' });
    // Noted before it exists: a kill between the commit and a note after it would leave an orphan blob. The note
    // is also why the commit needs no fsync: the blob goes once unpacked, or with the intent's rollback after a kill
    // or a crash, and the unpacked layer is what is kept.
    intent.note('blobs', desc.digest);
    await writer.commit(expected, { transient: true });
    file?.finish();
    emit({ type: 'layer', id, status: 'Download complete' });
    testPausePoint('pull:after-fetch');
    return true;
  } catch (err) {
    file?.fail(err as Error);
    // Keep the partial bytes for a later pull to resume, unless they are known to be wrong.
    await writer.close().catch(() => {});
    if (is(err, 'SIZE_MISMATCH') || is(err, 'DIGEST_MISMATCH')) await content.abort(ref).catch(() => {});
    throw err;
  }
}
