import type { ContentStore } from '../content/index.js';
import type { Digest } from '../digest/index.js';
import { is } from '../errors/index.js';
import type { IntentRecord, Intents } from '../meta/index.js';
import type { Snapshotter } from '../snapshot/index.js';
import { pidAlive } from '../util/index.js';
import type { LayerStore } from './layers.js';
import type { ImageRecords } from './records.js';

/** Intent kinds of the operations that bring images in; their subject is the reference or archive they work on. */
export const PULL_INTENT = 'pull';
export const LOAD_INTENT = 'load';
/** A push stores one blob locally (the manifest it sent) before recording it: its intent notes that blob. */
export const PUSH_INTENT = 'push';
export const IMAGE_IN_KINDS: readonly string[] = [PULL_INTENT, LOAD_INTENT, PUSH_INTENT];

/** What a pull or load has made so far that nothing refers to until its image record exists. */
export interface ImageInIntent {
  /** Ingest refs it writes into (`pull-<digest>`): partial downloads. */
  ingests: string[];
  /** Blobs it stored (compressed layers): kept only until unpacked. */
  blobs: Digest[];
  /** Layers (chain IDs) it unpacked, bottom first: no image uses them before the image record. */
  layers: Digest[];
}

export interface ImageIntentDeps {
  intents: Intents;
  records: ImageRecords;
  layers: LayerStore;
  content: ContentStore;
  snapshots: Snapshotter;
}

/** Record what an operation is about to do; `note` adds to it (one statement each), `done` clears it. */
export class ImageInIntentLog {
  readonly #rec: IntentRecord<ImageInIntent>;

  constructor(
    private readonly intents: Intents,
    kind: typeof PULL_INTENT | typeof LOAD_INTENT | typeof PUSH_INTENT,
    subject: string,
  ) {
    this.#rec = intents.begin<ImageInIntent>(kind, subject, { ingests: [], blobs: [], layers: [] });
  }

  get record(): IntentRecord<ImageInIntent> {
    return this.#rec;
  }

  note(what: keyof ImageInIntent, item: string): void {
    const p = this.#rec.payload;
    if ((p[what] as string[]).includes(item)) return;
    this.intents.update(this.#rec, { ...p, [what]: [...p[what], item] });
  }

  done(): void {
    this.intents.clear(this.#rec.id);
  }
}

/**
 * Undo what a pull or load left: its partial downloads (unless a live process took them over), the blobs it stored
 * that nothing owns or leases, its half-unpacked layer snapshots, and the layers it unpacked that no image uses.
 * Layers are released only while no other pull or load is running: one of them may be about to record an image on a
 * layer it found already unpacked (it takes no lease on layers). Returns what it did, or undefined when it had to
 * leave the intent for later (then it stays, and the next command or `system check --repair` finishes it).
 */
export async function rollBackImageIn(
  intent: IntentRecord<ImageInIntent>,
  deps: ImageIntentDeps,
  /** `ownLease`: the failing operation's own lease, dropped once the partial downloads are (on a full disk the
   * database can take the delete only when they have freed space). */
  opts: { keepIngests?: boolean; ownLease?: string } = {},
): Promise<string[] | undefined> {
  const done: string[] = [];
  const p = intent.payload;
  if (!opts.keepIngests) {
    for (const ref of p.ingests) {
      try {
        await deps.content.abort(ref);
        done.push(`dropped the partial download ${ref}`);
      } catch (err) {
        // NOT_FOUND: finished or dropped already; UNAVAILABLE: a live pull resumes it now.
        if (!is(err, 'NOT_FOUND') && !is(err, 'UNAVAILABLE')) throw err;
      }
    }
  }
  if (opts.ownLease) deps.records.leases.delete(opts.ownLease);
  for (const l of deps.records.leases.all()) {
    // The operation's own lease (pull-<pid>-…): what it protected is dealt with below.
    if (l.pid === intent.owner.pid && !pidAlive(l.pid)) deps.records.leases.delete(l.id);
  }
  const owned = ownedBlobs(deps.records);
  const leased = liveLeasedContent(deps.records);
  for (const d of p.blobs) {
    if (owned.has(d) || leased.has(d)) continue;
    try {
      await deps.content.delete(d);
      done.push(`removed the blob ${d}`);
    } catch (err) {
      if (!is(err, 'NOT_FOUND')) throw err;
    }
  }
  // Our own process's extraction snapshots are not ours to judge: a library user may be loading something else now.
  for await (const s of intent.owner.pid === process.pid ? [] : deps.snapshots.walk()) {
    if (s.kind === 'committed' || !s.key.startsWith('extract-')) continue;
    if (Number(s.labels['wharf.pid']) !== intent.owner.pid) continue;
    await deps.snapshots.remove(s.key).catch((err: unknown) => {
      if (!is(err, 'NOT_FOUND')) throw err;
    });
    done.push(`removed the partial layer ${s.key.split(' ')[0]}`);
  }
  if (p.layers.length) {
    const others = deps.intents.list().filter((i) => i.id !== intent.id && IMAGE_IN_KINDS.includes(i.kind) && live(i));
    if (others.length) return undefined;
    const removed = await deps.layers.release(p.layers);
    if (removed.length) done.push(`removed ${removed.length} unused layer(s)`);
  }
  deps.intents.clear(intent.id);
  return done;
}

/** Roll back every pull and load whose process is gone (the start of each pull and load, and `system check`). */
export async function recoverImageIn(deps: ImageIntentDeps): Promise<string[]> {
  const done: string[] = [];
  for (const kind of IMAGE_IN_KINDS) {
    for (const i of deps.intents.stale<ImageInIntent>(kind)) {
      // Read again: another process may have rolled it back meanwhile.
      const fresh = deps.intents.get<ImageInIntent>(i.id);
      if (fresh) done.push(...((await rollBackImageIn(fresh, deps)) ?? []));
    }
  }
  return done;
}

function live(i: IntentRecord): boolean {
  return pidAlive(i.owner.pid);
}

/** Blobs the image records need: configs, manifests, layers' tar-split and tar blobs. */
function ownedBlobs(records: ImageRecords): Set<string> {
  const out = new Set<string>();
  for (const img of records.images.all()) out.add(img.id);
  for (const d of records.manifests.allDigests()) out.add(d);
  for (const l of records.layers.all()) {
    if (l.tarsplit) out.add(l.tarsplit);
    if (l.tarBlob) out.add(l.tarBlob);
  }
  return out;
}

/** Content held by leases of live processes (a pull that waits for another's download leases that blob). */
function liveLeasedContent(records: ImageRecords): Set<string> {
  if (!records.leases.all().some((l) => pidAlive(l.pid))) return new Set();
  // The union over all leases (a dead one's too, until it is dropped) only ever keeps more than needed.
  return records.leases.refs('content');
}

/** `system check`'s part about pulls and loads whose process is gone: reported, and rolled back with `repair`. */
export async function checkImageIntents(
  deps: ImageIntentDeps,
  repair: boolean,
): Promise<Array<{ kind: 'stale'; what: string; repaired?: boolean }>> {
  const out: Array<{ kind: 'stale'; what: string; repaired?: boolean }> = [];
  for (const kind of IMAGE_IN_KINDS) {
    for (const i of deps.intents.stale<ImageInIntent>(kind)) {
      const what = `unfinished ${i.kind} of ${i.subject} by process ${i.owner.pid} (gone), since ${i.created}`;
      let repaired = false;
      if (repair) {
        const fresh = deps.intents.get<ImageInIntent>(i.id);
        repaired = !fresh || (await rollBackImageIn(fresh, deps)) !== undefined;
      }
      out.push({ kind: 'stale', what, repaired });
    }
  }
  return out;
}
