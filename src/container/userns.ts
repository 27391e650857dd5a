import { chmodSync, existsSync, lchownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { walkTree } from '../archive/index.js';
import { WharfError } from '../errors/index.js';
import type { MetaDb, Migration } from '../meta/index.js';
import { ownerToHost, type IdMap } from '../util/index.js';

/**
 * User namespaces (`--userns=auto`, the engine-wide `userns-remap`): each remapped container gets a range of host ids
 * of its own out of the subordinate ids that /etc/subuid and /etc/subgid give one user (`wharf` by default, as
 * podman's `--userns=auto` takes the `containers` user's), recorded in the database so that no two containers of a
 * root share an id. The parsing and the choice of a range are pure; `UsernsRanges` keeps the allocations.
 */

/** The user whose subordinate ids Wharf hands out by default (podman's is `containers`, dockerd's `dockremap`). */
export const DEFAULT_SUBID_USER = 'wharf';
/** Ids per container unless `--userns=auto:size=N`: 0…65535, what images use (podman's `auto` default is similar). */
export const DEFAULT_USERNS_SIZE = 65536;

export interface IdRange {
  start: number;
  size: number;
}

/** `--userns` as asked: the host's namespace (Docker's default, '' or `host`), or a fresh range (`auto[:size=N]`). */
export type UsernsChoice = { kind: 'host' } | { kind: 'auto'; size: number };

/**
 * create's user namespace: the mode asked, or the engine's default (`userns-remap`: `auto` for a container that
 * asks for none); for a remapped one the size and the subordinate ids of the user they come from (read now, so that
 * a host without them fails the create before anything is made).
 */
export function usernsRequest(
  asked: string | undefined,
  remap: string | undefined,
  read = readSubordinateIds,
): { mode: string; size: number; user: string; subIds?: { uids: IdRange[]; gids: IdRange[] } } {
  const mode = asked || (remap ? 'auto' : '');
  const choice = parseUsernsMode(mode);
  const user = !remap || remap === 'default' ? DEFAULT_SUBID_USER : remap;
  if (choice.kind === 'host') return { mode, size: 0, user };
  return { mode, size: choice.size, user, subIds: read(user) };
}

/** Docker's `--userns` values plus podman's `auto[:size=N]`; others refused with the docker CLI's words. */
export function parseUsernsMode(mode: string): UsernsChoice {
  if (mode === '' || mode === 'host') return { kind: 'host' };
  if (mode === 'auto') return { kind: 'auto', size: DEFAULT_USERNS_SIZE };
  const m = /^auto:size=(\d+)$/.exec(mode);
  if (m) {
    const size = Number(m[1]);
    if (size < 1 || size > 2 ** 32 - 2)
      throw new WharfError('INVALID_ARGUMENT', `--userns=${mode}: size must be between 1 and 4294967294`);
    return { kind: 'auto', size };
  }
  if (mode === 'private')
    throw new WharfError('UNSUPPORTED', '--userns private: not a Wharf mode; use --userns=auto for a remapped range');
  throw new WharfError('INVALID_ARGUMENT', '--userns: invalid USER mode');
}

/** The ranges of `user` (its name or, as shadow-utils allows, its numeric uid) in a subuid/subgid file's text. */
export function subordinateRanges(text: string, user: string, uid?: number): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name === undefined || start === undefined || count === undefined) continue;
    if (name !== user && (uid === undefined || name !== String(uid))) continue;
    const s = Number(start);
    const n = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(n) && s >= 0 && n > 0) out.push({ start: s, size: n });
  }
  return out;
}

/** The lowest start of `size` free ids inside `available` that overlaps none of `taken`, or undefined. */
export function firstFreeRange(
  available: readonly IdRange[],
  taken: readonly IdRange[],
  size: number,
): number | undefined {
  const sorted = [...taken].sort((a, b) => a.start - b.start);
  for (const r of [...available].sort((a, b) => a.start - b.start)) {
    let at = r.start;
    for (const t of sorted) {
      if (t.start + t.size <= at) continue;
      if (t.start >= at + size) break;
      at = t.start + t.size; // overlaps: try just after it
    }
    if (at + size <= r.start + r.size) return at;
  }
  return undefined;
}

/**
 * dockerd's refusals of settings that a user namespace cannot have (verifyPlatformContainerSettings): privileged,
 * the host's network or PID namespace. And Wharf's own: the native snapshotter copies layers as plain directories,
 * whose owners a user namespace would need shifted in every diff.
 */
export function checkUsernsConflicts(
  hc: { Privileged?: boolean; NetworkMode?: string; PidMode?: string },
  snapshotter: string,
): void {
  const bad = (msg: string): WharfError => new WharfError('INVALID_ARGUMENT', msg);
  if (hc.Privileged)
    throw bad(
      'privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode',
    );
  if (hc.NetworkMode === 'host')
    throw bad("cannot share the host's network namespace when user namespaces are enabled");
  if (hc.PidMode === 'host') throw bad('cannot share the host PID namespace when user namespaces are enabled');
  if (snapshotter !== 'overlay2')
    throw new WharfError('UNSUPPORTED', '--userns=auto needs the overlay snapshotter (this root uses the native one)');
}

/** create's warning where the layers are copied instead of idmapped. */
export const USERNS_COPY_WARNING =
  'this kernel cannot idmap overlay layers (Linux 5.19 or later can): the image is copied into the container, chowned to its user namespace';

/** The subordinate ids of `user` for containers, from /etc/subuid and /etc/subgid (or other files, for tests). */
export function readSubordinateIds(
  user: string,
  files = { subuid: '/etc/subuid', subgid: '/etc/subgid' },
): { uids: IdRange[]; gids: IdRange[] } {
  const read = (f: string): string => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  const uids = subordinateRanges(read(files.subuid), user);
  const gids = subordinateRanges(read(files.subgid), user);
  const missing = !uids.length ? files.subuid : !gids.length ? files.subgid : undefined;
  if (missing)
    throw new WharfError(
      'UNAVAILABLE',
      `--userns=auto: no subordinate ids for user "${user}" in ${missing}; add a range for it to /etc/subuid and /etc/subgid (e.g. the line "${user}:1000000:10000000" in both)`,
    );
  return { uids, gids };
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `CREATE TABLE userns_ranges (
      container_id TEXT PRIMARY KEY,
      uid_start INTEGER NOT NULL,
      gid_start INTEGER NOT NULL,
      size INTEGER NOT NULL
    );`,
  },
];

interface RangeRow {
  container_id: string;
  uid_start: number;
  gid_start: number;
  size: number;
}

/** The ranges handed out to the containers of one root: taken in one write transaction, released with the container. */
export class UsernsRanges {
  constructor(readonly db: MetaDb) {
    db.migrate('userns', MIGRATIONS);
  }

  /** A fresh range of `size` uids and gids for container `id`, as its IdMap (root in it is the range's first id). */
  allocate(id: string, size: number, sub: { uids: IdRange[]; gids: IdRange[] }, user: string): IdMap {
    return this.db.immediate(() => {
      const rows = this.db.prepare('SELECT * FROM userns_ranges').all() as RangeRow[];
      const uid = firstFreeRange(
        sub.uids,
        rows.map((r) => ({ start: r.uid_start, size: r.size })),
        size,
      );
      const gid = firstFreeRange(
        sub.gids,
        rows.map((r) => ({ start: r.gid_start, size: r.size })),
        size,
      );
      if (uid === undefined || gid === undefined)
        throw new WharfError(
          'UNAVAILABLE',
          `--userns=auto: not enough unused subordinate ids of user "${user}" for ${size} more (${rows.length} containers hold ranges); remove containers or give "${user}" more ids in /etc/subuid and /etc/subgid`,
        );
      this.db
        .prepare('INSERT INTO userns_ranges(container_id, uid_start, gid_start, size) VALUES (?, ?, ?, ?)')
        .run(id, uid, gid, size);
      return idMapOf(uid, gid, size);
    });
  }

  get(id: string): IdMap | undefined {
    const r = this.db.prepare('SELECT * FROM userns_ranges WHERE container_id = ?').get(id) as RangeRow | undefined;
    return r ? idMapOf(r.uid_start, r.gid_start, r.size) : undefined;
  }

  release(id: string): void {
    this.db.prepare('DELETE FROM userns_ranges WHERE container_id = ?').run(id);
  }

  /** Every allocation, for `system check` and tests. */
  all(): Array<{ id: string; map: IdMap }> {
    const rows = this.db.prepare('SELECT * FROM userns_ranges ORDER BY uid_start').all() as RangeRow[];
    return rows.map((r) => ({ id: r.container_id, map: idMapOf(r.uid_start, r.gid_start, r.size) }));
  }
}

const idMapOf = (uid: number, gid: number, size: number): IdMap => ({
  uid: [{ containerID: 0, hostID: uid, size }],
  gid: [{ containerID: 0, hostID: gid, size }],
});

/**
 * The fallback where the kernel takes no idmapped overlay layers: every file of the mounted root file system chowned
 * into the container's range, once (`marker` records it). Through overlayfs that copies the whole image up into the
 * container's writable layer: a copy per container, which is why it is only the fallback (create warns). File
 * capabilities (security.capability) do not survive the chown.
 */
export async function chownTreeOnce(rootfs: string, map: IdMap, marker: string): Promise<void> {
  if (existsSync(marker)) return;
  lchownSync(rootfs, map.uid[0]?.hostID ?? 0, map.gid[0]?.hostID ?? 0);
  for await (const e of walkTree(rootfs)) {
    const o = ownerToHost(map, e.st.uid, e.st.gid);
    lchownSync(e.abs, o.uid, o.gid);
    // chown clears setuid and setgid bits, even for root: put them back (file capabilities are lost, as said).
    if (e.st.mode & 0o6000 && !e.st.isSymbolicLink()) chmodSync(e.abs, e.st.mode & 0o7777);
  }
  writeFileSync(marker, '');
}

/**
 * A remapped container's root is an unprivileged uid on the host, and runc mounts its root file system, volumes and
 * /etc files from inside its user namespace: every directory on the way must let others search it. As dockerd does
 * for its data root under `--userns-remap`, Wharf's own directories get `o+x` (`root` and below it, up to `dirs`);
 * a directory above the root that refuses is an error that says what to change (dockerd's check, its advice).
 */
export function ensureSearchable(root: string, dirs: readonly string[]): void {
  for (let d = path.dirname(root); ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0)
      throw new WharfError(
        'FAILED_PRECONDITION',
        `a directory above the Wharf root (${d}) restricts access to the remapped root uid/gid of --userns containers; please fix by allowing 'o+x' permissions on it`,
      );
    if (d === path.dirname(d)) break;
  }
  for (const dir of dirs) {
    for (let d = dir; d.startsWith(root); d = path.dirname(d)) {
      const mode = statSync(d).mode;
      if ((mode & 0o001) === 0) chmodSync(d, (mode & 0o7777) | 0o011);
      if (d === root) break;
    }
  }
}
