import type { RowType } from './format.js';

/**
 * The Go types of the docker CLI's list formatters (docker CLI 28), by the names its template errors print, and
 * their fields and methods: a `--format` field outside these fails as it fails with docker ("can't evaluate field
 * Nope in type *formatter.ContainerContext", exit 1) instead of printing `<no value>`.
 */
export const ROW_TYPES = {
  container: {
    name: '*formatter.ContainerContext',
    fields:
      'ID Names Image Command CreatedAt RunningFor Ports State Status Size Labels Label Mounts LocalVolumes Networks Platform FieldsUsed'.split(
        ' ',
      ),
    checkFirst: true,
  },
  image: {
    name: '*formatter.imageContext',
    fields: 'ID Repository Tag Digest CreatedSince CreatedAt Size Containers VirtualSize SharedSize UniqueSize'.split(
      ' ',
    ),
  },
  history: {
    name: '*image.historyContext',
    fields: 'ID CreatedSince CreatedAt CreatedBy Size Comment'.split(' '),
  },
  network: {
    name: '*network.networkContext',
    fields: 'ID Name Driver Scope IPv4 IPv6 Internal Labels Label CreatedAt'.split(' '),
  },
  volume: {
    name: '*formatter.volumeContext',
    fields: 'Name Driver Scope Mountpoint Labels Label Links Size Group Availability Status'.split(' '),
  },
  stats: {
    name: '*container.statsContext',
    fields: 'Container Name ID CPUPerc MemUsage MemPerc NetIO BlockIO PIDs'.split(' '),
  },
  /** `events --format` (not a list: docker runs the template on an empty event first, "Error parsing format: …"). */
  event: {
    name: '*events.Message',
    fields: 'Status ID From Type Action Actor Scope Time TimeNano'.split(' '),
  },
  diskUsage: {
    name: '*formatter.diskUsageImagesContext',
    fields: 'Type TotalCount Active Size Reclaimable'.split(' '),
  },
} satisfies Record<string, RowType>;
