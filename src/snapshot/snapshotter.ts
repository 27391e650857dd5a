import { mkdirSync, promises as fsp, readdirSync, renameSync } from 'node:fs';
import * as path from 'node:path';
import { WharfError, isErrno } from '../errors/index.js';
import { diskUsage, randomHex, removeTreeSync } from '../util/index.js';
import type { MetaDb } from '../meta/index.js';
import { pidAlive } from '../util/index.js';
import { SnapshotRecords, toInfo, type SnapshotRecord } from './records.js';
import type { SnapshotDirs } from './differ.js';
import type {
  Mount,
  SnapshotDiffer,
  SnapshotInfo,
  SnapshotKind,
  SnapshotOptions,
  Snapshotter,
  Usage,
} from './types.js';

// Staging and removal dirs carry the PID of their process, so a sweep can tell a crash leftover from work in progress.
const NEW_PREFIX = 'new-';
const RM_PREFIX = 'rm-';
// Shared by every instance in this process: two snapshotters on one root must not sweep each other's staging dirs.
const staging = new Set<string>();

/**
 * The life cycle every backend shares: records in the metadata database, one directory per snapshot
 * (`<root>/snapshots/<id>/fs`, plus `work` for overlay's active snapshots), and crash-safe ordering:
 *  - create: the directory is staged under `new-<pid>-<rand>` and renamed to `<id>` inside the transaction that
 *    inserts the record, so a record never lacks its directory;
 *  - remove: the record is deleted and the directory renamed to `rm-<pid>-<rand>` in one transaction, then deleted;
 *  - anything else found in `snapshots/` is a leftover that `sweep()` removes.
 * Backends say how a new snapshot is filled, which mounts it gets, where its lower layers are and how its changes are
 * read (their differ, which reads the directories through `diffDir` and `lowerDirs`).
 */
export abstract class BaseSnapshotter implements Snapshotter, SnapshotDirs {
  abstract readonly name: 'overlay' | 'native';
  abstract readonly differ: SnapshotDiffer;
  readonly dir: string;
  protected readonly records: SnapshotRecords;

  constructor(
    root: string,
    protected readonly db: MetaDb,
    backend: 'overlay' | 'native',
  ) {
    this.dir = path.join(root, 'snapshots');
    this.records = new SnapshotRecords(db, backend);
  }

  /** Fill the staged `fs` dir of a new snapshot (native copies the parent here). */
  protected abstract populate(kind: SnapshotKind, fsDir: string, parent: SnapshotRecord | undefined): Promise<void>;
  protected abstract needsWorkDir(kind: SnapshotKind): boolean;
  protected abstract mountsOf(rec: SnapshotRecord): Promise<Mount[]>;
  abstract lowerDirs(key: string): Promise<string[]>;

  protected fsDir(id: number): string {
    return path.join(this.dir, String(id), 'fs');
  }

  protected workDir(id: number): string {
    return path.join(this.dir, String(id), 'work');
  }

  prepare(key: string, parent?: string, opts: SnapshotOptions = {}): Promise<Mount[]> {
    return this.#create('active', key, parent, opts);
  }

  view(key: string, parent?: string, opts: SnapshotOptions = {}): Promise<Mount[]> {
    return this.#create('view', key, parent, opts);
  }

  async mounts(key: string): Promise<Mount[]> {
    const rec = this.mustGet(key);
    if (rec.kind === 'committed') {
      throw new WharfError(
        'FAILED_PRECONDITION',
        `snapshot ${JSON.stringify(key)} is committed: only active snapshots and views have mounts`,
      );
    }
    return this.mountsOf(rec);
  }

  async commit(name: string, key: string, opts: SnapshotOptions = {}): Promise<void> {
    checkKey(name);
    const rec = this.#activeOrThrow(key);
    this.#absentOrThrow(name);
    // Measured before the record flips: a committed layer's files never change again, so this is its usage for good.
    const usage = await diskUsage(this.fsDir(rec.id));
    this.db.immediate(() => {
      const now = this.#activeOrThrow(key);
      if (now.id !== rec.id)
        throw new WharfError('CONFLICT', `snapshot ${JSON.stringify(key)} was replaced during commit`);
      this.#absentOrThrow(name);
      this.records.markCommitted(rec.id, name, { ...rec.labels, ...(opts.labels ?? {}) }, usage);
    });
    await fsp.rm(this.workDir(rec.id), { recursive: true, force: true });
  }

  async remove(key: string): Promise<void> {
    const doomed = path.join(this.dir, `${RM_PREFIX}${process.pid}-${randomHex(4)}`);
    let moved = false;
    const dir = path.join(this.dir, String(this.mustGet(key).id));
    try {
      this.#removeRecord(key, doomed, () => (moved = true));
    } catch (err) {
      // The record stays (a full disk fails the COMMIT itself): put the directory back where the record says it is.
      if (moved) renameSync(doomed, dir);
      throw err;
    }
    if (!moved) return;
    // A writable layer nothing was written to (every `run --rm` of a command that changes no file) is a few empty
    // directories: removed synchronously, which costs less than the thread pool's round trips for each of them.
    if (isEmptyDir(path.join(doomed, 'fs'))) removeTreeSync(doomed);
    else await fsp.rm(doomed, { recursive: true, force: true });
  }

  #removeRecord(key: string, doomed: string, onMoved: () => void): void {
    this.db.immediate(() => {
      const rec = this.mustGet(key);
      const children = this.records.childCount(rec.id);
      if (children > 0) {
        throw new WharfError(
          'FAILED_PRECONDITION',
          `snapshot ${JSON.stringify(key)} has ${children} child snapshot(s): remove them first`,
        );
      }
      this.records.delete(rec.id);
      try {
        renameSync(path.join(this.dir, String(rec.id)), doomed);
        onMoved();
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    });
  }

  async stat(key: string): Promise<SnapshotInfo | undefined> {
    const rec = this.records.byKey(key);
    return rec && toInfo(rec);
  }

  async setLabels(key: string, labels: Record<string, string>): Promise<SnapshotInfo> {
    checkLabels(labels);
    return this.db.immediate(() => {
      const rec = this.mustGet(key);
      this.records.setLabels(rec.id, labels);
      return toInfo(this.mustGet(key));
    });
  }

  async *walk(): AsyncIterable<SnapshotInfo> {
    for (const rec of this.db.read(() => this.records.all())) yield toInfo(rec);
  }

  async usage(key: string): Promise<Usage> {
    const rec = this.mustGet(key);
    if (rec.kind === 'committed' && rec.usage) return rec.usage;
    return diskUsage(this.fsDir(rec.id));
  }

  diffDir(key: string): string {
    return this.fsDir(this.mustGet(key).id);
  }

  async sweep(): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    const doomed: string[] = [];
    // Under the write lock: a concurrent create renames its staged dir to `<id>` only inside its own transaction,
    // so a numbered dir without a record cannot be one that is about to get its record.
    this.db.immediate(() => {
      const ids = this.records.allIds();
      for (const name of names) {
        const p = path.join(this.dir, name);
        if (/^\d+$/.test(name)) {
          if (ids.has(Number(name))) continue;
          const to = path.join(this.dir, `${RM_PREFIX}${process.pid}-${randomHex(4)}`);
          try {
            renameSync(p, to);
            doomed.push(to);
          } catch (err) {
            if (!isErrno(err, 'ENOENT')) throw err;
          }
        } else if (name.startsWith(NEW_PREFIX) || name.startsWith(RM_PREFIX)) {
          const pid = Number(name.split('-')[1]);
          const mine = pid === process.pid;
          if ((mine && !staging.has(p) && name.startsWith(NEW_PREFIX)) || (!mine && !pidAlive(pid))) doomed.push(p);
        }
      }
    });
    for (const p of doomed) await fsp.rm(p, { recursive: true, force: true });
  }

  protected mustGet(key: string): SnapshotRecord {
    const rec = this.records.byKey(key);
    if (!rec)
      throw new WharfError('NOT_FOUND', `snapshot ${JSON.stringify(key)} not found (${this.records.snapshotter})`);
    return rec;
  }

  protected parentFsDirs(rec: SnapshotRecord): string[] {
    return this.records.parentIds(rec.id).map((id) => this.fsDir(id));
  }

  async #create(
    kind: 'active' | 'view',
    key: string,
    parentKey: string | undefined,
    opts: SnapshotOptions,
  ): Promise<Mount[]> {
    checkKey(key);
    if (opts.labels) checkLabels(opts.labels);
    // Fail fast before a possibly long copy; the transaction below checks again.
    this.#absentOrThrow(key);
    const parent = parentKey ? this.#committedOrThrow(parentKey) : undefined;

    // Synchronous mkdirs: three trips through the thread pool cost more than the syscalls, on every container start.
    mkdirSync(this.dir, { recursive: true });
    const staged = path.join(this.dir, `${NEW_PREFIX}${process.pid}-${randomHex(6)}`);
    staging.add(staged);
    let rec: SnapshotRecord;
    try {
      mkdirSync(path.join(staged, 'fs'), { recursive: true, mode: 0o755 });
      if (this.needsWorkDir(kind)) mkdirSync(path.join(staged, 'work'), { mode: 0o700 });
      await this.populate(kind, path.join(staged, 'fs'), parent);
      rec = this.db.immediate(() => {
        this.#absentOrThrow(key);
        const p = parentKey ? this.#committedOrThrow(parentKey) : undefined;
        if (p && parent && p.id !== parent.id)
          throw new WharfError('CONFLICT', `parent ${JSON.stringify(parentKey)} was replaced during prepare`);
        const id = this.records.insert({ key, kind, parentId: p?.id ?? null, labels: opts.labels ?? {} });
        const dir = path.join(this.dir, String(id));
        // A crash between this rename and the commit of an earlier transaction leaves a dir under an id that
        // SQLite hands out again (the rolled-back insert never advanced the sequence); it is garbage.
        removeTreeSync(dir);
        renameSync(staged, dir);
        return this.mustGet(key);
      });
    } catch (err) {
      await fsp.rm(staged, { recursive: true, force: true });
      throw err;
    } finally {
      staging.delete(staged);
    }
    return this.mountsOf(rec);
  }

  #absentOrThrow(key: string): void {
    const rec = this.records.byKey(key);
    if (rec) throw new WharfError('ALREADY_EXISTS', `snapshot ${JSON.stringify(key)} already exists (${rec.kind})`);
  }

  #committedOrThrow(key: string): SnapshotRecord {
    const rec = this.records.byKey(key);
    if (!rec)
      throw new WharfError(
        'NOT_FOUND',
        `parent snapshot ${JSON.stringify(key)} not found (${this.records.snapshotter})`,
      );
    if (rec.kind !== 'committed') {
      throw new WharfError('NOT_FOUND', `parent snapshot ${JSON.stringify(key)} is not committed (it is ${rec.kind})`);
    }
    return rec;
  }

  #activeOrThrow(key: string): SnapshotRecord {
    const rec = this.mustGet(key);
    if (rec.kind !== 'active') {
      throw new WharfError(
        'FAILED_PRECONDITION',
        `snapshot ${JSON.stringify(key)} is ${rec.kind}: only active snapshots can be committed`,
      );
    }
    return rec;
  }
}

function isEmptyDir(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '' || key.includes('\0')) {
    throw new WharfError('INVALID_ARGUMENT', `invalid snapshot key ${JSON.stringify(key)}`);
  }
}

function checkLabels(labels: Record<string, string>): void {
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string')
      throw new WharfError('INVALID_ARGUMENT', `snapshot label ${JSON.stringify(k)} must be a string`);
  }
}
