import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { WharfError, isErrno } from '../errors/index.js';
import { applyLayer, decompressStream } from '../archive/index.js';
import { walkTree } from '../archive/walk.js';
import { IgnoreMatcher } from './dockerignore.js';
import { ifExists } from '../util/index.js';

/**
 * The build context: a directory read in place (never copied), or a tar from stdin unpacked once into a temp dir.
 * `.dockerignore` applies as the docker CLI applies it when it makes the context tar: excluded files do not exist
 * for COPY/ADD. The Dockerfile is read even when excluded.
 */
export class BuildContext {
  private constructor(
    readonly root: string,
    readonly ignore: IgnoreMatcher,
    private readonly temp: string | undefined,
  ) {}

  /** A directory context. */
  static async fromDirectory(dir: string): Promise<BuildContext> {
    const root = path.resolve(dir);
    let st: Stats;
    try {
      st = await fsp.stat(root);
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw new WharfError('NOT_FOUND', `unable to prepare context: path ${JSON.stringify(dir)} not found`);
      throw err;
    }
    if (!st.isDirectory())
      throw new WharfError('INVALID_ARGUMENT', `unable to prepare context: context must be a directory: ${root}`);
    return new BuildContext(root, await readIgnore(root), undefined);
  }

  /**
   * A tar context (possibly compressed), unpacked under `tempParent`. Docker sends such a tar as it is, so only the
   * Dockerfile (`opts.dockerfile`, default `Dockerfile`) and .dockerignore are dropped when .dockerignore names them.
   */
  static async fromTar(tar: Readable, tempParent: string, opts: { dockerfile?: string } = {}): Promise<BuildContext> {
    await fsp.mkdir(tempParent, { recursive: true });
    const dir = await fsp.mkdtemp(path.join(tempParent, 'context-'));
    try {
      await applyLayer(await decompressStream(tar), dir, { whiteouts: 'none' });
    } catch (err) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw new WharfError(
        'INVALID_ARGUMENT',
        `the build context on stdin is not a valid tar: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const full = await readIgnore(dir);
    return new BuildContext(dir, new TarContextIgnore(full, opts.dockerfile), dir);
  }

  /** An empty context (a Dockerfile alone on stdin). */
  static async empty(tempParent: string): Promise<BuildContext> {
    await fsp.mkdir(tempParent, { recursive: true });
    const dir = await fsp.mkdtemp(path.join(tempParent, 'context-'));
    return new BuildContext(dir, new IgnoreMatcher([]), dir);
  }

  /** Whether `rel` (context-relative, '/'-separated) is hidden by .dockerignore. */
  excluded(rel: string): boolean {
    if (rel === '' || rel === '.') return false;
    return this.ignore.matches(rel);
  }

  /** Read the Dockerfile (relative to the context, or absolute). */
  async readDockerfile(file: string): Promise<{ text: string; name: string }> {
    const abs = path.resolve(this.root, file);
    try {
      return { text: await fsp.readFile(abs, 'utf8'), name: path.basename(abs) };
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'EISDIR')) {
        throw new WharfError(
          'NOT_FOUND',
          `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${abs}: no such file or directory`,
        );
      }
      throw err;
    }
  }

  /** What the context tar the docker CLI would send weighs (for the "Sending build context" line). */
  async tarSize(): Promise<number> {
    let size = 1024;
    const walk = walkTree(this.root, { include: (e) => this.#included(e.rel, e.st.isDirectory()) });
    for await (const e of walk) {
      size += 512;
      if (e.st.isFile()) size += Math.ceil(e.st.size / 512) * 512;
    }
    return size;
  }

  /** Walk filter: excluded entries are skipped, excluded directories entered only when an exception needs it. */
  #included(rel: string, isDir: boolean): boolean {
    if (!this.excluded(rel)) return true;
    return isDir && this.ignore.hasExceptions && this.ignore.mustDescend(rel);
  }

  includedForWalk(rel: string, isDir: boolean): boolean {
    return this.#included(rel, isDir);
  }

  async close(): Promise<void> {
    if (this.temp) await fsp.rm(this.temp, { recursive: true, force: true });
  }
}

async function readIgnore(root: string): Promise<IgnoreMatcher> {
  const text = await ifExists(fsp.readFile(path.join(root, '.dockerignore'), 'utf8'));
  return text === undefined ? new IgnoreMatcher([]) : IgnoreMatcher.fromText(text);
}

/** For a tar context: .dockerignore hides only itself and the Dockerfile (Docker's removeDockerfile). */
class TarContextIgnore extends IgnoreMatcher {
  constructor(
    private readonly full: IgnoreMatcher,
    /** The Dockerfile's path in the tar when it is not `Dockerfile` (the docker CLI's `.dockerfile.<random>`). */
    private readonly dockerfile?: string,
  ) {
    super([]);
  }
  override matches(rel: string): boolean {
    const base = rel.replace(/^\.\//, '');
    const named = this.dockerfile?.replace(/^\.\//, '');
    if (base === '.dockerignore' || base === 'Dockerfile' || base === 'dockerfile' || base === named)
      return this.full.matches(base);
    return false;
  }
}
