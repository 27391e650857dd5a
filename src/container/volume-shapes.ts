import { WharfError, invalidFilter } from '../errors/index.js';
import type { VolumeRecord, VolumeService } from './volumes.js';

/** Docker's volume shape (`volume inspect`, GET /volumes/{name}, the list of GET /volumes). */
export function volumeInspect(volumes: VolumeService, v: VolumeRecord): Record<string, unknown> {
  return {
    CreatedAt: v.created.replace(/\.\d+Z$/, 'Z'),
    Driver: 'local',
    Labels: Object.keys(v.labels).length ? v.labels : null,
    Mountpoint: volumes.dataDir(v.name),
    Name: v.name,
    Options: Object.keys(v.options).length ? Object.fromEntries(Object.entries(v.options).sort()) : null,
    Scope: 'local',
  };
}

/** Docker's volume filters (`volume ls --filter`, GET /volumes?filters=): dangling, name, driver, label. */
export function volumeFilters(volumes: VolumeService, specs: readonly string[]): (v: VolumeRecord) => boolean {
  const tests: Array<(v: VolumeRecord) => boolean> = [];
  for (const s of specs) {
    const i = s.indexOf('=');
    if (i <= 0) throw new WharfError('INVALID_ARGUMENT', `bad format of filter (expected name=value): ${s}`);
    const k = s.slice(0, i);
    const val = s.slice(i + 1);
    if (k === 'dangling') tests.push((v) => (volumes.users(v.name).length === 0) === (val === 'true' || val === '1'));
    else if (k === 'name') tests.push((v) => v.name.includes(val));
    else if (k === 'driver') tests.push(() => val === 'local');
    else if (k === 'label') {
      const j = val.indexOf('=');
      tests.push((v) => (j < 0 ? val in v.labels : v.labels[val.slice(0, j)] === val.slice(j + 1)));
    } else throw invalidFilter(`'${k}'`);
  }
  return (v) => tests.every((t) => t(v));
}
