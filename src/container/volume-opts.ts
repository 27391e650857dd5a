import { WharfError } from '../errors/index.js';
import { parseBytes } from './mount-spec.js';

/** The local driver's options (`volume create -o`): what it mounts on the volume's `_data`. */
const VALID = ['type', 'o', 'device', 'size'];
/** Which options need which others, in the order dockerd's check reports the first missing one. */
const NEEDS: Array<[string, string[]]> = [
  ['device', ['type']],
  ['type', ['device']],
  ['o', ['device', 'type']],
];

/**
 * dockerd's local driver's check of `volume create -o` (volume/local validateOpts), with its messages under
 * "create NAME: ". `size` asks for an XFS project quota, which Wharf's volumes (plain directories) never have: as
 * dockerd's without quota support, a size is refused.
 */
export function checkLocalVolumeOpts(name: string, opts: Record<string, string>): void {
  const bad = (msg: string): WharfError => new WharfError('INVALID_ARGUMENT', `create ${name}: ${msg}`);
  for (const k of Object.keys(opts)) if (!VALID.includes(k)) throw bad(`invalid option: "${k}"`);
  if (opts.size !== undefined && parseBytes(opts.size) > 0) throw bad('quota size requested but no quota support');
  for (const [k, needs] of NEEDS) {
    if (opts[k] === undefined) continue;
    for (const n of needs) if (opts[n] === undefined) throw bad(`missing required option: "${n}"`);
  }
}

/** `mount(8)`'s arguments for a volume with a device, as the local driver mounts it on `_data`; none without. */
export function volumeMountArgs(opts: Record<string, string>, target: string): string[] | undefined {
  if (opts.device === undefined || opts.type === undefined) return undefined;
  return ['-t', opts.type, ...(opts.o ? ['-o', opts.o] : []), '--', opts.device, target];
}
