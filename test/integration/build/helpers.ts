/** Shared by the build tests: a root with the busybox base image, context dirs, and readers for built images. */
import { before, after } from 'node:test';
import type { Readable } from 'node:stream';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import tar from 'tar-stream';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { Wharf } from '../../../src/engine/index.js';
import type { Digest } from '../../../src/digest/index.js';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../../../src/oci/index.js';

export type Root = Awaited<ReturnType<typeof tempRoot>>;

export async function rootWithBusybox(): Promise<{ t: Root; busyboxTar: string; busyboxId: string }> {
  const t = await tempRoot('wharf-build-');
  const busyboxTar = await makeBusyboxTar(t.root);
  const busyboxId = ok(
    await t.cli(['import', '-c', 'CMD ["sh"]', busyboxTar, 'busybox']),
    'import busybox',
  ).stdout.trim();
  return { t, busyboxTar, busyboxId };
}

/** A context directory with these files (paths → contents). */
export async function makeContext(
  files: Record<string, string>,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-ctx-'));
  for (const [name, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), data);
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The IDs printed as ` ---> <id>` lines, in order (the empty one of FROM scratch included). */
export function arrowIds(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(' ---> ') && !/^ ---> (Using cache|Running in )/.test(l))
    .map((l) => l.slice(6).trim());
}

export const cacheHits = (stdout: string) => stdout.split('\n').filter((l) => l === ' ---> Using cache').length;

export function builtId(stdout: string): string {
  const m = /^Successfully built ([a-f0-9]{12})$/m.exec(stdout);
  if (!m) throw new Error(`no "Successfully built" line in:\n${stdout}`);
  return m[1]!;
}

export interface LayerEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  data?: string;
  linkname?: string;
}

/** A layer tar (a stream, or the bytes) as its list of entries, small files' contents included. */
export async function tarEntries(src: Readable | Buffer): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      const h = e.header;
      const entry: LayerEntry = {
        name: h.name,
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        size: h.size ?? 0,
      };
      if (h.type === 'file' && (h.size ?? 0) < 4096) entry.data = Buffer.concat(chunks).toString('utf8');
      if (h.linkname) entry.linkname = h.linkname;
      entries.push(entry);
    }
  })();
  if (Buffer.isBuffer(src)) ex.end(src);
  else src.pipe(ex);
  await done;
  return entries;
}

/** An image config as `wharf build` writes it: with a container config and a history. */
export type BuiltImageConfig = ImageConfig & { config: ContainerConfig; history: HistoryEntry[] };

/** Each layer of an image as a list of tar entries (small files' contents included). Opens the store read-only. */
export async function imageLayers(
  root: string,
  ref: string,
): Promise<{ id: Digest; layers: LayerEntry[][]; config: BuiltImageConfig }> {
  const w = await Wharf.open({ root });
  try {
    const img = w.images.resolve(ref);
    const { config } = await w.images.config(img.id);
    const layers: LayerEntry[][] = [];
    for (const chainId of w.images.records.images.chain(img.id)) {
      const entries = await tarEntries(await w.images.layers.tar(chainId));
      layers.push(entries);
    }
    if (config.config === undefined || config.history === undefined)
      throw new Error(`${ref}: a built image's config has no config or history`);
    return { id: img.id, layers, config: { ...config, config: config.config, history: config.history } };
  } finally {
    w.close();
  }
}

/**
 * The usual suite set-up: a root with the busybox base before the tests, build contexts made through `ctx`, and
 * everything removed after. `onReady` receives the root (and the base image's ID) once it exists.
 */
export function buildSuite(onReady: (r: Awaited<ReturnType<typeof rootWithBusybox>>) => void): {
  ctx(files: Record<string, string>): Promise<string>;
} {
  const cleanups: Array<() => Promise<void>> = [];
  let root: Root | undefined;
  before(async () => {
    const r = await rootWithBusybox();
    root = r.t;
    onReady(r);
  });
  after(async () => {
    for (const c of cleanups) await c();
    await root?.cleanup();
  });
  return {
    async ctx(files) {
      const c = await makeContext(files);
      cleanups.push(c.cleanup);
      return c.dir;
    },
  };
}
