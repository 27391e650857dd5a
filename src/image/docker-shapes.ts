/**
 * Images in Docker's output shapes (read-only): `images`, `image inspect`, `history`, `system df`. Functions over the
 * ImageService rather than its methods: the service keeps records and their operations, these only read them.
 */
import * as path from 'node:path';
import type { Digest } from '../digest/index.js';
import { invalidFilter } from '../errors/index.js';
import { parseNormalizedNamed, familiarName, familiarString, type Reference } from '../reference/index.js';
import type { ContainerConfig } from '../oci/index.js';
import { labelsMatch, splitFilter } from '../util/index.js';
import type { ImageService } from './service.js';
import type { ImageRecord } from './records.js';

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  GraphDriver: { Data: Record<string, string> | null; Name: string };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

/** Docker's container config block with every key present (nulls where unset), in Docker's key order. */
function dockerContainerConfig(c: ContainerConfig | undefined): Record<string, unknown> {
  const cfg = c ?? {};
  return {
    Hostname: cfg.Hostname ?? '',
    Domainname: cfg.Domainname ?? '',
    User: cfg.User ?? '',
    AttachStdin: cfg.AttachStdin ?? false,
    AttachStdout: cfg.AttachStdout ?? false,
    AttachStderr: cfg.AttachStderr ?? false,
    ...(cfg.ExposedPorts ? { ExposedPorts: cfg.ExposedPorts } : {}),
    Tty: cfg.Tty ?? false,
    OpenStdin: cfg.OpenStdin ?? false,
    StdinOnce: cfg.StdinOnce ?? false,
    Env: cfg.Env ?? null,
    Cmd: cfg.Cmd ?? null,
    ...(cfg.Healthcheck ? { Healthcheck: cfg.Healthcheck } : {}),
    ...(cfg.ArgsEscaped ? { ArgsEscaped: true } : {}),
    Image: cfg.Image ?? '',
    Volumes: cfg.Volumes ?? null,
    WorkingDir: cfg.WorkingDir ?? '',
    Entrypoint: cfg.Entrypoint ?? null,
    OnBuild: cfg.OnBuild ?? null,
    Labels: cfg.Labels ?? null,
    ...(cfg.StopSignal ? { StopSignal: cfg.StopSignal } : {}),
    ...(cfg.Shell ? { Shell: cfg.Shell } : {}),
  };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The image's familiar tag names (`RepoTags`). */
function repoTags(svc: ImageService, id: Digest): string[] {
  return svc.records.tags.ofImage(id).map((t) => familiarString(parseNormalizedNamed(t.name)));
}

/** The image's familiar `name@digest` references (`RepoDigests`). */
function repoDigests(svc: ImageService, id: Digest): string[] {
  const seen = new Set<string>();
  for (const m of svc.records.manifests.ofImage(id)) {
    seen.add(familiarString({ ...parseNormalizedNamed(m.repository), digest: m.digest }));
  }
  return [...seen].sort();
}

/** `docker image inspect NAME|ID`. */
export async function inspectImage(svc: ImageService, nameOrId: string): Promise<ImageInspect> {
  const img = svc.resolve(nameOrId);
  const { config } = await svc.config(img.id);
  const chain = svc.records.images.chain(img.id);
  const tags = svc.records.tags.ofImage(img.id);
  const lastTag = tags.reduce<string | undefined>((m, t) => (!m || t.created > m ? t.created : m), undefined);
  return {
    Id: img.id,
    RepoTags: repoTags(svc, img.id),
    RepoDigests: repoDigests(svc, img.id),
    Parent: img.parent ?? '',
    Comment: typeof config.comment === 'string' ? config.comment : '',
    Created: config.created ?? ZERO_TIME,
    DockerVersion: typeof config.docker_version === 'string' ? config.docker_version : '',
    Author: config.author ?? '',
    Config: dockerContainerConfig(config.config),
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    ...(config['os.version'] ? { OsVersion: config['os.version'] } : {}),
    Size: img.size,
    GraphDriver: graphDriver(svc, chain),
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: lastTag ?? ZERO_TIME },
  };
}

/** Docker's overlay2 GraphDriver block: the top layer is the UpperDir, the ones below form LowerDir (top first). */
function graphDriver(svc: ImageService, chain: Digest[]): ImageInspect['GraphDriver'] {
  const { driver, dirs } = svc.layers.directories(chain);
  if (dirs.length === 0) return { Data: null, Name: driver };
  const upper = dirs[dirs.length - 1]!;
  const base = path.dirname(upper);
  const data: Record<string, string> = {};
  if (dirs.length > 1) data.LowerDir = dirs.slice(0, -1).reverse().join(':');
  data.MergedDir = path.join(base, 'merged');
  data.UpperDir = upper;
  data.WorkDir = path.join(base, 'work');
  return { Data: data, Name: driver };
}

export interface HistoryRow {
  id: string; // image ID or '<missing>'
  created: string | null;
  createdBy: string;
  size: number;
  comment: string;
  tags: string[];
}

/** `docker history NAME|ID`: newest first; the first row gets the image ID, each next one its parent's, as Docker does. */
export async function imageHistory(svc: ImageService, nameOrId: string): Promise<HistoryRow[]> {
  const img = svc.resolve(nameOrId);
  const { config } = await svc.config(img.id);
  const chain = svc.records.images.chain(img.id);
  const rows: HistoryRow[] = [];
  let layerIdx = 0;
  const history = config.history?.length
    ? config.history
    : config.rootfs.diff_ids.map(() => ({ created: config.created, created_by: '', comment: '' }));
  for (const h of history) {
    let size = 0;
    if (!('empty_layer' in h && h.empty_layer)) {
      const c = chain[layerIdx++];
      size = c ? (svc.records.layers.get(c)?.size ?? 0) : 0;
    }
    rows.unshift({
      id: '<missing>',
      created: h.created ?? null,
      createdBy: h.created_by ?? '',
      size,
      comment: h.comment ?? '',
      tags: [],
    });
  }
  let cur: ImageRecord | undefined = img;
  for (const row of rows) {
    if (!cur) break;
    row.id = cur.id;
    row.tags = repoTags(svc, cur.id);
    cur = cur.parent ? svc.records.images.get(cur.parent) : undefined;
  }
  return rows;
}

export interface ImageListRow {
  id: Digest;
  repository: string; // '<none>' when untagged
  tag: string;
  digest: string; // '<none>' when unknown
  created: string | null;
  size: number;
  sharedSize: number;
  uniqueSize: number;
  containers: number;
  labels: Record<string, string>;
  dangling: boolean;
}

export interface ImageFilters {
  dangling?: boolean;
  reference?: string[];
  before?: string;
  since?: string;
  label?: string[];
}

/** Parse Docker's `--filter key=value` list. */
export function parseImageFilters(filters: readonly string[]): ImageFilters {
  const out: ImageFilters = {};
  for (const f of filters) {
    const { name: k, value: v } = splitFilter(f);
    switch (k) {
      case 'dangling':
        if (!['true', 'false', '1', '0'].includes(v.toLowerCase())) throw invalidFilter(`'dangling=${v}'`);
        out.dangling = v === 'true' || v === '1';
        break;
      case 'reference':
        out.reference ??= [];
        out.reference.push(v);
        break;
      case 'before':
        out.before = v;
        break;
      case 'since':
        out.since = v;
        break;
      case 'label':
        out.label ??= [];
        out.label.push(v);
        break;
      default:
        throw invalidFilter(`'${k}'`);
    }
  }
  return out;
}

/** Go's path.Match over a familiar name, as Docker's reference filter does. */
function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .split('')
        .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : /[\\^$.|+(){}[\]]/.test(c) ? `\\${c}` : c))
        .join('') +
      '$',
  );
  return re.test(s);
}

/** Which layers are shared between images, and how many images use each. */
function layerSharing(svc: ImageService): { counts: Map<string, number>; sizes: Map<string, number> } {
  const counts = svc.records.layers.imageCounts();
  const sizes = new Map(svc.records.layers.all().map((l) => [l.chainId as string, l.size]));
  return { counts, sizes };
}

function sharedSizeOf(svc: ImageService, id: Digest, sharing: ReturnType<typeof layerSharing>): number {
  let shared = 0;
  for (const c of svc.records.images.chain(id))
    if ((sharing.counts.get(c) ?? 0) > 1) shared += sharing.sizes.get(c) ?? 0;
  return shared;
}

export interface ImageListOptions {
  /** Also the untagged intermediate images of builds (`images -a`). */
  all?: boolean;
  filters?: ImageFilters;
  /** `images REPOSITORY[:TAG]`. */
  repoFilter?: string;
}

/** `docker images`: one row per name (or one `<none>` row), newest first; build-step intermediates only with `all`. */
export function listImages(svc: ImageService, opts: ImageListOptions = {}): ImageListRow[] {
  const f = opts.filters ?? {};
  const images = svc.records.images.all();
  const createdOf = (img: ImageRecord) => img.created ?? img.addedAt;
  const beforeImg = f.before ? svc.resolve(f.before) : undefined;
  const sinceImg = f.since ? svc.resolve(f.since) : undefined;
  const sharing = layerSharing(svc);
  const rows: ImageListRow[] = [];
  for (const img of images) {
    const tags = svc.records.tags.ofImage(img.id);
    const manifests = svc.records.manifests.ofImage(img.id);
    const dangling = tags.length === 0;
    if (!opts.all && dangling && svc.records.images.hasChildren(img.id)) continue; // intermediate
    if (f.dangling !== undefined && f.dangling !== dangling) continue;
    if (beforeImg && !(createdOf(img) < createdOf(beforeImg))) continue;
    if (sinceImg && !(createdOf(img) > createdOf(sinceImg))) continue;
    if (f.label && !f.label.every((l) => labelsMatch(img.labels, l))) continue;
    const shared = sharedSizeOf(svc, img.id, sharing);
    const base = {
      id: img.id,
      created: img.created,
      size: img.size,
      sharedSize: shared,
      uniqueSize: img.size - shared,
      containers: svc.users(img.id).length,
      labels: img.labels,
      dangling,
    };
    const named: Array<{ ref: Reference; tag: string; digest: string }> = [];
    for (const t of tags) {
      const ref = parseNormalizedNamed(t.name);
      const m = manifests.find((x) => x.repository === t.repository);
      named.push({ ref, tag: t.tag, digest: m?.digest ?? '<none>' });
    }
    // A repository known only by digest shows as `repo <none>`.
    for (const m of manifests) {
      if (!tags.some((t) => t.repository === m.repository))
        named.push({ ref: parseNormalizedNamed(m.repository), tag: '<none>', digest: m.digest });
    }
    const matchesRef = (r: Reference, tag: string) =>
      (!f.reference ||
        f.reference.some((p) => globMatch(p, familiarName(r)) || globMatch(p, `${familiarName(r)}:${tag}`))) &&
      (!opts.repoFilter || matchesRepoArg(opts.repoFilter, r, tag));
    if (named.length === 0) {
      if (f.reference || opts.repoFilter) continue;
      rows.push({ ...base, repository: '<none>', tag: '<none>', digest: '<none>' });
      continue;
    }
    for (const n of named) {
      if (!matchesRef(n.ref, n.tag)) continue;
      rows.push({ ...base, repository: familiarName(n.ref), tag: n.tag, digest: n.digest });
    }
  }
  return rows;
}

/** `images busybox` / `images busybox:1.36`: the positional REPOSITORY[:TAG] argument. */
function matchesRepoArg(arg: string, r: Reference, tag: string): boolean {
  let want: Reference;
  try {
    want = parseNormalizedNamed(arg);
  } catch {
    return false;
  }
  if (want.domain !== r.domain || want.path !== r.path) return false;
  return want.tag === undefined || want.tag === tag;
}

export interface ImageDiskUsage {
  images: Array<ImageListRow>;
  /** Bytes of all layers, each counted once. */
  layersSize: number;
  /** Bytes used only by images that no container uses. */
  reclaimable: number;
  active: number;
  total: number;
}

/** `system df` for images: every layer counted once however many images share it. */
export function imageDiskUsage(svc: ImageService): ImageDiskUsage {
  const layers = svc.records.layers.all();
  const layersSize = layers.reduce((s, l) => s + l.size, 0);
  const images = svc.records.images.all();
  const activeIds = new Set(images.filter((i) => svc.users(i.id).length > 0).map((i) => i.id));
  const activeChains = new Set<string>();
  for (const id of activeIds) for (const c of svc.records.images.chain(id)) activeChains.add(c);
  const activeSize = layers.filter((l) => activeChains.has(l.chainId)).reduce((s, l) => s + l.size, 0);
  return {
    images: listImages(svc, { all: true }),
    layersSize,
    reclaimable: layersSize - activeSize,
    active: activeIds.size,
    total: images.length,
  };
}
