/**
 * A user namespace's id mapping (the OCI spec's `linux.uidMappings`/`gidMappings` entries): ids `containerID…
 * containerID+size-1` inside are `hostID…` on the host. Pure: the one place that shifts an id either way, for the
 * spec, the idmapped layers, the writable layer's tars (commit, export, cp) and volumes.
 */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** A container's uid and gid mappings. */
export interface IdMap {
  uid: IdMapping[];
  gid: IdMapping[];
}

/** The kernel's overflow id (`/proc/sys/kernel/overflowuid`): what an id without a mapping shows as. */
export const OVERFLOW_ID = 65534;

/** The host id of a container id (an unmapped id: the overflow id, as the kernel shows it). */
export function idToHost(maps: readonly IdMapping[], id: number): number {
  for (const m of maps) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return OVERFLOW_ID;
}

/** The container id of a host id (one outside the range: the overflow id, as the container sees it). */
export function idToContainer(maps: readonly IdMapping[], id: number): number {
  for (const m of maps) if (id >= m.hostID && id < m.hostID + m.size) return m.containerID + (id - m.hostID);
  return OVERFLOW_ID;
}

/** An owner shifted into the host's ids or out of them. */
export function ownerToHost(map: IdMap, uid: number, gid: number): { uid: number; gid: number } {
  return { uid: idToHost(map.uid, uid), gid: idToHost(map.gid, gid) };
}

export function ownerToContainer(map: IdMap, uid: number, gid: number): { uid: number; gid: number } {
  return { uid: idToContainer(map.uid, uid), gid: idToContainer(map.gid, gid) };
}

/** The text of /proc/<pid>/uid_map (or gid_map) for these mappings. */
export function idMapText(maps: readonly IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/**
 * Owners as a remapped container's tars record them (commit, export, cp out): its host ids shifted back. An id
 * outside its range is the host's root's (overlayfs makes whiteouts with the mounter's ids, Wharf bind-mounts
 * /etc/hosts and the like): recorded as 0, as an image from a plain container has them.
 */
export function tarOwnerOf(map: IdMap): (uid: number, gid: number) => { uid: number; gid: number } {
  const back = (maps: readonly IdMapping[], id: number): number => {
    const c = idToContainer(maps, id);
    return c === OVERFLOW_ID && idToHost(maps, OVERFLOW_ID) !== id ? 0 : c;
  };
  return (uid, gid) => ({ uid: back(map.uid, uid), gid: back(map.gid, gid) });
}
