import { promises as fsp } from 'node:fs';
import type { EventLog } from '../events/index.js';
import * as path from 'node:path';
import type { MetaDb } from '../meta/index.js';
import { WharfError } from '../errors/index.js';
import { diskUsage, randomHex, run } from '../util/index.js';
import { invalidVolumeName, isValidVolumeName } from './mount-spec.js';
import { isMountPoint, unmount } from '../snapshot/index.js';
import { checkLocalVolumeOpts, volumeMountArgs } from './volume-opts.js';

export interface VolumeRecord {
  name: string;
  created: string;
  anonymous: boolean;
  /** The image's content was copied in (done once, on first use, as Docker does). */
  seeded: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
}

interface Row {
  name: string;
  created: string;
  anonymous: number;
  seeded: number;
  labels: string;
  options: string;
}

const toRecord = (r: Row): VolumeRecord => ({
  name: r.name,
  created: r.created,
  anonymous: r.anonymous === 1,
  seeded: r.seeded === 1,
  labels: JSON.parse(r.labels) as Record<string, string>,
  options: JSON.parse(r.options) as Record<string, string>,
});

/** IDs of the containers that mount a volume. */
export type VolumeUsers = (name: string) => string[];

/**
 * Local named volumes under `<root>/volumes/<name>/_data`. Which containers use a volume is asked through `users`
 * (the container records, which own the mounts): a volume in use is not removed.
 */
export class VolumeService {
  readonly dir: string;

  constructor(
    readonly db: MetaDb,
    root: string,
    readonly users: VolumeUsers,
    /** Where volume events go (create, destroy, prune); none without it. */
    readonly events?: EventLog,
  ) {
    this.dir = path.join(root, 'volumes');
  }

  dataDir(name: string): string {
    return path.join(this.dir, name, '_data');
  }

  get(name: string): VolumeRecord | undefined {
    const r = this.db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  mustGet(name: string): VolumeRecord {
    const v = this.get(name);
    if (!v) throw new WharfError('NOT_FOUND', `get ${name}: no such volume`);
    return v;
  }

  list(): VolumeRecord[] {
    return (this.db.prepare('SELECT * FROM volumes ORDER BY name').all() as Row[]).map(toRecord);
  }

  /** Create a volume; an existing one of that name is returned as it is (Docker's `volume create` is idempotent). */
  async create(
    opts: {
      name?: string;
      labels?: Record<string, string>;
      anonymous?: boolean;
      options?: Record<string, string>;
    } = {},
  ): Promise<VolumeRecord> {
    const name = opts.name ?? randomHex(32);
    if (!isValidVolumeName(name)) throw invalidVolumeName(name);
    checkLocalVolumeOpts(name, opts.options ?? {});
    const existing = this.get(name);
    if (existing) {
      // Docker's volume service emits `create` for every successful create, an existing volume's too.
      this.events?.emit('volume', 'create', name, { driver: 'local' });
      return existing;
    }
    await fsp.mkdir(this.dataDir(name), { recursive: true, mode: 0o755 });
    await fsp.chmod(path.join(this.dir, name), 0o701).catch(() => {});
    this.db
      .prepare(
        'INSERT OR IGNORE INTO volumes(name, created, anonymous, seeded, labels, options) VALUES (?, ?, ?, 0, ?, ?)',
      )
      .run(
        name,
        new Date().toISOString(),
        opts.anonymous ? 1 : 0,
        JSON.stringify(opts.labels ?? {}),
        JSON.stringify(opts.options ?? {}),
      );
    this.events?.emit('volume', 'create', name, { driver: 'local' });
    return this.get(name)!;
  }

  /**
   * Docker copies the image's content at the mount path into a new, empty volume the first time it is mounted.
   * One `cp -a` process for the whole tree keeps owners, modes, links and xattrs.
   */
  async seed(name: string, fromDir: string, root?: { uid: number; gid: number }): Promise<void> {
    const v = this.mustGet(name);
    if (v.seeded) return;
    const data = this.dataDir(name);
    const empty = (await fsp.readdir(data).catch(() => [])).length === 0;
    const st = await fsp.lstat(fromDir).catch(() => undefined);
    if (empty && st?.isDirectory()) {
      // From a remapped container's root file system the owners are already its host ids (idmap-mount.ts).
      await run('cp', ['-a', '--', `${fromDir}/.`, `${data}/`]);
      await fsp.chmod(data, st.mode & 0o7777);
      await fsp.chown(data, st.uid, st.gid);
    } else if (empty && root) {
      // A remapped container's new volume belongs to its root (as podman chowns a new volume to its container's).
      await fsp.chown(data, root.uid, root.gid);
    }
    this.markSeeded(name);
  }

  /**
   * A volume created with a device (`-o type=… -o device=… [-o o=…]`: tmpfs, a bind, nfs …) has it mounted on its
   * `_data` before a container uses it, as Docker's local driver mounts it, with its wording for a failure. It stays
   * mounted until the volume is removed (Docker unmounts when its last container stops; the difference shows only
   * on the host).
   */
  async mountDevice(name: string): Promise<void> {
    const data = this.dataDir(name);
    const args = volumeMountArgs(this.mustGet(name).options, data);
    if (!args || (await isMountPoint(data))) return;
    const r = await run('mount', args, { check: false });
    if (r.code !== 0) {
      const why = r.stderr.trim().replace(/^mount: (\S+: )?/, '');
      throw new WharfError(
        'FAILED_PRECONDITION',
        `error while mounting volume '${data}': failed to mount local volume: mount ${args.at(-2)}:${data}: ${why}`,
      );
    }
  }

  /** Never copy the image's content in (`--mount …,volume-nocopy`): as if it had been seeded. */
  markSeeded(name: string): void {
    this.db.prepare('UPDATE volumes SET seeded = 1 WHERE name = ?').run(name);
  }

  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    const v = this.get(name);
    if (!v) {
      if (opts.force) return;
      throw new WharfError('NOT_FOUND', `get ${name}: no such volume`);
    }
    const users = this.users(name);
    if (users.length > 0) {
      throw new WharfError('CONFLICT', `remove ${name}: volume is in use - [${users.join(', ')}]`);
    }
    // Unmount a device first: removing the directory must not delete what a bind mount shows.
    await unmount(this.dataDir(name), { lazy: true });
    this.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
    await fsp.rm(path.join(this.dir, name), { recursive: true, force: true });
    this.events?.emit('volume', 'destroy', name, { driver: 'local' });
  }

  async size(name: string): Promise<number> {
    return (await diskUsage(this.dataDir(name)).catch(() => ({ size: 0 }))).size;
  }

  /** `volume prune`: unused anonymous volumes (`all`: every unused volume). Returns the names and bytes freed. */
  async prune(
    opts: { all?: boolean; filter?: (v: VolumeRecord) => boolean } = {},
  ): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of this.list()) {
      if (!opts.all && !v.anonymous) continue;
      if (opts.filter && !opts.filter(v)) continue;
      if (this.users(v.name).length > 0) continue;
      const size = await this.size(v.name);
      await this.remove(v.name);
      deleted.push(v.name);
      reclaimed += size;
    }
    this.events?.emit('volume', 'prune', '', { reclaimed: String(reclaimed) });
    return { deleted, reclaimed };
  }
}
