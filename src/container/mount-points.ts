import { promises as fsp } from 'node:fs';
import { WharfError } from '../errors/index.js';
import type { MountSpec } from './mount-spec.js';
import type { MountPoint } from './types.js';
import type { VolumeService } from './volumes.js';

/**
 * A parsed `-v`/`--mount`/`--tmpfs` spec as the container's MountPoint (inspect's Mounts): a bind source checked (or
 * created, for `-v`'s host paths, as Docker does), a named or anonymous volume created when missing (its name pushed
 * to `created`, so that a failed create removes what it made).
 */
export async function resolveMountPoint(volumes: VolumeService, s: MountSpec, created: string[]): Promise<MountPoint> {
  if (s.kind === 'bind') {
    const st = await fsp.stat(s.source).catch(() => undefined);
    if (!st) {
      if (!s.createSource)
        throw new WharfError(
          'INVALID_ARGUMENT',
          `invalid mount config for type "bind": bind source path does not exist: ${s.source}`,
        );
      await fsp.mkdir(s.source, { recursive: true });
    }
    return {
      Type: 'bind',
      Source: s.source,
      Destination: s.destination,
      RW: !s.readOnly,
      Mode: s.mode,
      Propagation: s.propagation ?? 'rprivate',
    };
  }
  if (s.kind === 'tmpfs') {
    return {
      Type: 'tmpfs',
      Source: '',
      Destination: s.destination,
      RW: true,
      Mode: '',
      Propagation: '',
      ...(s.size ? { TmpfsSize: s.size } : {}),
    };
  }
  const existed = s.name !== undefined && volumes.get(s.name) !== undefined;
  const v = await volumes.create({ ...(s.name ? { name: s.name } : {}), anonymous: s.name === undefined });
  if (!existed) created.push(v.name);
  if (s.noCopy && !v.seeded) volumes.markSeeded(v.name);
  return {
    Type: 'volume',
    Name: v.name,
    Source: volumes.dataDir(v.name),
    Destination: s.destination,
    RW: !s.readOnly,
    Mode: s.mode || 'z',
    Propagation: '',
    ...(s.name === undefined ? { Anonymous: true } : {}),
  };
}
