import { createReadStream, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { WharfError, is, isErrno, withDiskFullPlace } from '../errors/index.js';
import { algorithmOf, createHash, type Algorithm, type Digest } from '../digest/index.js';
import type { BlobInfo, CommitOptions, ContentWriter, Expected, IngestStatus } from './types.js';
import { publishBlob } from './publish.js';
import { pidAlive, randomHex, writevFully } from '../util/index.js';
import { verifyAgainst, what } from './expected.js';

/**
 * Resumable ingests, as containerd's local store keeps them: `ingest/<sha256(ref)>/{data,ref,startedat,updatedat,total}`,
 * plus a `lock` file holding the writer's PID so that one ref has one writer across processes.
 *
 * The lock's life cycle: a writer creates the dir and then the lock (O_EXCL); whoever removes an ingest dir (commit,
 * abort, sweep) holds its lock and first renames the dir aside (`<hex>.gone-<pid>-<rand>`), so a writer arriving at
 * that moment finds either the held lock or no dir at all (and makes a new one), never a dir half removed.
 */
export class IngestDirs {
  constructor(
    private readonly dir: string,
    private readonly blobPath: (d: Digest) => string,
    private readonly info: (d: Digest) => Promise<BlobInfo | undefined>,
  ) {}

  dirOf(ref: string): string {
    return path.join(this.dir, createHash('sha256').update(ref).digest('hex'));
  }

  async open(ref: string, expected: Expected): Promise<ContentWriter> {
    if (ref === '') throw new WharfError('INVALID_ARGUMENT', 'an ingest ref must not be empty');
    if (expected.digest && (await this.info(expected.digest))) {
      throw new WharfError(
        'ALREADY_EXISTS',
        `blob ${expected.digest} already exists (ingest ref ${JSON.stringify(ref)})`,
      );
    }
    const dir = this.dirOf(ref);
    await lock(dir, ref);
    try {
      // The writer we waited for may have finished: its blob is there now and a partial write would be wasted.
      if (expected.digest && (await this.info(expected.digest))) {
        await retire(dir);
        throw new WharfError(
          'ALREADY_EXISTS',
          `blob ${expected.digest} already exists (ingest ref ${JSON.stringify(ref)})`,
        );
      }
      const known = await readText(path.join(dir, 'ref'));
      if (known === undefined) {
        await fsp.writeFile(path.join(dir, 'startedat'), new Date().toISOString());
        await fsp.writeFile(path.join(dir, 'ref'), ref);
      } else if (known !== ref) {
        throw new WharfError(
          'CONFLICT',
          `ingest ${dir} belongs to ref ${JSON.stringify(known)}, not ${JSON.stringify(ref)}`,
        );
      }
      if (expected.size !== undefined) await fsp.writeFile(path.join(dir, 'total'), String(expected.size));
      const alg: Algorithm = expected.digest ? algorithmOf(expected.digest) : 'sha256';
      const dataPath = path.join(dir, 'data');
      const fh = await fsp.open(dataPath, 'a');
      // Resuming needs the hash state of the bytes already there; hashing them again is the only portable way.
      const hash = createHash(alg);
      let offset = 0;
      try {
        for await (const chunk of createReadStream(dataPath)) {
          hash.update(chunk as Buffer);
          offset += (chunk as Buffer).length;
        }
      } catch (err) {
        await fh.close();
        throw err;
      }
      return new LocalContentWriter(ref, dir, fh, hash, alg, offset, expected, this.blobPath);
    } catch (err) {
      if (!is(err, 'ALREADY_EXISTS')) await unlock(dir);
      throw err;
    }
  }

  async status(ref: string): Promise<IngestStatus | undefined> {
    return statusOf(this.dirOf(ref));
  }

  async list(): Promise<IngestStatus[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    const out: IngestStatus[] = [];
    for (const n of names.sort()) {
      if (isRetired(n)) continue;
      const st = await statusOf(path.join(this.dir, n));
      if (st) out.push(st);
    }
    return out;
  }

  async abort(ref: string): Promise<void> {
    const dir = this.dirOf(ref);
    if ((await readText(path.join(dir, 'ref'))) === undefined) {
      throw new WharfError('NOT_FOUND', `no partial write for ref ${JSON.stringify(ref)}`);
    }
    await lock(dir, ref);
    await retire(dir);
  }

  /** Remove one ingest dir (by name) if its writer is gone and it was last touched before `cutoff`. */
  async sweepOne(name: string, cutoff: number): Promise<boolean> {
    const dir = path.join(this.dir, name);
    if (isRetired(name)) {
      // Renamed aside by a remover that died before it finished.
      if (pidAlive(Number(name.split('-')[1]))) return false;
      await fsp.rm(dir, { recursive: true, force: true });
      return true;
    }
    const holder = await lockHolder(dir);
    if (holder !== undefined && pidAlive(holder)) return false;
    if ((await lastTouched(dir)) > cutoff) return false;
    try {
      await lock(dir, name);
    } catch (err) {
      if (is(err, 'UNAVAILABLE')) return false; // a writer took it up again just now
      throw err;
    }
    await retire(dir);
    return true;
  }
}

class LocalContentWriter implements ContentWriter {
  #fh: FileHandle | undefined;
  #updatedAt = new Date();

  constructor(
    readonly ref: string,
    private readonly dir: string,
    fh: FileHandle,
    private hash: Hash,
    private readonly alg: Algorithm,
    private _offset: number,
    private readonly expected: Expected,
    private readonly blobPath: (d: Digest) => string,
  ) {
    this.#fh = fh;
  }

  get offset(): number {
    return this._offset;
  }

  /** The file the bytes go to: a pull unpacks a layer from it while it downloads (transfer/growing-file.ts). */
  get dataPath(): string {
    return path.join(this.dir, 'data');
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.writeChunks([chunk]);
  }

  async writeChunks(chunks: readonly Uint8Array[]): Promise<void> {
    const fh = this.#handle();
    const total = chunks.reduce((n, c) => n + c.length, 0);
    if (this.expected.size !== undefined && this._offset + total > this.expected.size) {
      throw new WharfError(
        'SIZE_MISMATCH',
        `content${what(this.expected)} is larger than the expected ${this.expected.size} bytes`,
      );
    }
    try {
      await writevFully(fh, chunks);
    } catch (err) {
      throw withDiskFullPlace(err, path.join(this.dir, 'data'));
    }
    for (const c of chunks) this.hash.update(c);
    this._offset += total;
    this.#updatedAt = new Date();
  }

  async writeStream(src: Readable): Promise<void> {
    for await (const chunk of src)
      await this.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
  }

  digest(): Digest {
    return `${this.alg}:${this.hash.copy().digest('hex')}` as Digest;
  }

  async truncate(): Promise<void> {
    await this.#handle().truncate(0);
    this.hash = createHash(this.alg);
    this._offset = 0;
  }

  async commit(expected: Expected = {}, opts: CommitOptions = {}): Promise<BlobInfo> {
    const fh = this.#handle();
    this.#fh = undefined;
    try {
      if (!opts.transient) await fh.sync();
    } catch (err) {
      throw withDiskFullPlace(err, path.join(this.dir, 'data'));
    } finally {
      await fh.close();
    }
    const got: BlobInfo = { digest: this.digest(), size: this._offset };
    try {
      verifyAgainst(got, { ...this.expected, ...stripUndefined(expected) });
    } catch (err) {
      // Bytes that do not match can never become the blob: resuming them would only fail again.
      await retire(this.dir);
      throw err;
    }
    await publishBlob(path.join(this.dir, 'data'), this.blobPath(got.digest), opts);
    await retire(this.dir);
    return got;
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    if (!fh) return;
    this.#fh = undefined;
    try {
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.writeFile(path.join(this.dir, 'updatedat'), this.#updatedAt.toISOString());
    } finally {
      // Unlocked whatever failed (a full disk fails both writes above): a lock held by a live process that no
      // longer writes would keep anyone, this process's own rollback included, from dropping the ingest.
      await unlock(this.dir);
    }
  }

  #handle(): FileHandle {
    if (!this.#fh) throw new WharfError('FAILED_PRECONDITION', `writer for ref ${JSON.stringify(this.ref)} is closed`);
    return this.#fh;
  }
}

function stripUndefined(e: Expected): Expected {
  const out: Expected = {};
  if (e.digest !== undefined) out.digest = e.digest;
  if (e.size !== undefined) out.size = e.size;
  return out;
}

/**
 * Take the ingest's lock, creating its dir as needed. UNAVAILABLE while a live process holds it. A lock whose holder
 * died is taken over by renaming it aside first, so that of two processes taking over one stale lock only one wins.
 */
async function lock(dir: string, ref: string): Promise<void> {
  const file = path.join(dir, 'lock');
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      // ENOENT: the dir was retired between our mkdir (or its check that the dir exists) and here, by a writer
      // that committed; make a new one.
      if (isErrno(err, 'ENOENT')) continue;
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    const holder = await lockHolder(dir);
    if (holder !== undefined && pidAlive(holder)) {
      throw new WharfError(
        'UNAVAILABLE',
        `partial write for ref ${JSON.stringify(ref)} is in use by process ${holder}`,
      );
    }
    if (holder !== undefined) await removeStaleLock(file, holder);
  }
  throw new WharfError('UNAVAILABLE', `could not lock the partial write for ref ${JSON.stringify(ref)}`);
}

/** Remove `file` if it still names the dead `holder`; leave a lock that another process wrote meanwhile. */
async function removeStaleLock(file: string, holder: number): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${randomHex(4)}`;
  try {
    await fsp.rename(file, aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  const text = await readText(aside);
  if (text !== undefined && (Number(text.trim()) || 0) !== holder) {
    // Someone replaced the stale lock first: it is theirs, put it back (unless a third writer already made one).
    await fsp.link(aside, file).catch((err: unknown) => {
      if (!isErrno(err, 'EEXIST') && !isErrno(err, 'ENOENT')) throw err;
    });
  }
  await fsp.rm(aside, { force: true });
}

/** Rename an ingest dir aside and remove it; the caller holds its lock (which goes with it). */
async function retire(dir: string): Promise<void> {
  const aside = `${dir}${RETIRED}${process.pid}-${randomHex(4)}`;
  try {
    await fsp.rename(dir, aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  await fsp.rm(aside, { recursive: true, force: true });
}

const RETIRED = '.gone-';
const isRetired = (name: string): boolean => name.includes(RETIRED);

async function unlock(dir: string): Promise<void> {
  await fsp.rm(path.join(dir, 'lock'), { force: true });
}

async function lockHolder(dir: string): Promise<number | undefined> {
  const text = await readText(path.join(dir, 'lock'));
  if (text === undefined) return undefined;
  const pid = Number(text.trim());
  if (Number.isInteger(pid) && pid > 0) return pid;
  // A lock file caught half-written belongs to a writer that is starting right now; one that stays so was left by a
  // writer killed in between (0: no live holder).
  const st = await fsp.stat(path.join(dir, 'lock')).catch(() => undefined);
  return st && Date.now() - st.mtimeMs > HALF_WRITTEN_LOCK_MS ? 0 : process.pid;
}

const HALF_WRITTEN_LOCK_MS = 10_000;

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

async function lastTouched(dir: string): Promise<number> {
  let latest = 0;
  for (const f of ['', 'data', 'updatedat']) {
    try {
      latest = Math.max(latest, (await fsp.lstat(path.join(dir, f))).mtimeMs);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }
  return latest;
}

async function statusOf(dir: string): Promise<IngestStatus | undefined> {
  const ref = await readText(path.join(dir, 'ref'));
  if (ref === undefined) return undefined;
  let offset = 0;
  let dataMtime = 0;
  try {
    const st = await fsp.stat(path.join(dir, 'data'));
    offset = st.size;
    dataMtime = st.mtimeMs;
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  const startedAt = new Date((await readText(path.join(dir, 'startedat'))) ?? 0);
  const updatedText = await readText(path.join(dir, 'updatedat'));
  const updatedAt = new Date(Math.max(updatedText ? Date.parse(updatedText) : 0, dataMtime, startedAt.getTime()));
  const totalText = await readText(path.join(dir, 'total'));
  const status: IngestStatus = { ref, offset, startedAt, updatedAt };
  if (totalText !== undefined && totalText.trim() !== '') status.total = Number(totalText);
  return status;
}
