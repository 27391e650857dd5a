import { imageHistory, inspectImage, listImages, parseImageFilters, type ImageListRow } from '../image/index.js';
import { WharfError } from '../errors/index.js';
import { familiarString, nameOnly, parseNormalizedNamed, withDigest, withTag } from '../reference/index.js';
import type { RemoteOptions } from '../remote/index.js';
import type { TransferEvent } from '../transfer/types.js';
import { boolParam, filtersParam, sendJson, type ApiRequest } from './context.js';
import { jsonMessage } from './frames.js';
import { importImageHandler } from './image-archives.js';
import { legacyImageFilter } from './version-shapes.js';

/**
 * Docker's image summaries, one per image with all its names (the library lists one row per name); `usage` gives the
 * real SharedSize and Containers of /system/df instead of the list's -1.
 */
export function imageEntries(rows: readonly ImageListRow[], usage = false): Array<Record<string, unknown>> {
  const byId = new Map<string, Record<string, unknown> & { RepoTags: string[]; RepoDigests: string[] }>();
  for (const row of rows) {
    let e = byId.get(row.id);
    if (!e) {
      e = {
        Containers: usage ? row.containers : -1,
        Created: row.created ? Math.floor(Date.parse(row.created) / 1000) : 0,
        Id: row.id,
        Labels: Object.keys(row.labels).length ? row.labels : null,
        ParentId: '',
        RepoDigests: [],
        RepoTags: [],
        SharedSize: usage ? row.sharedSize : -1,
        Size: row.size,
        VirtualSize: row.size,
      };
      byId.set(row.id, e);
    }
    const name = row.repository !== '<none>' && row.tag !== '<none>' ? `${row.repository}:${row.tag}` : undefined;
    if (name && !e.RepoTags.includes(name)) e.RepoTags.push(name);
    if (row.repository !== '<none>' && row.digest !== '<none>') {
      const d = `${row.repository}@${row.digest}`;
      if (!e.RepoDigests.includes(d)) e.RepoDigests.push(d);
    }
  }
  return [...byId.values()];
}

/** GET /images/json (`all`, `filters`). */
export function listImagesHandler(r: ApiRequest): void {
  const specs: string[] = legacyImageFilter(r.query, r.version);
  for (const [k, vals] of filtersParam(r.query)) for (const v of vals) specs.push(`${k}=${v}`);
  const rows = listImages(r.wharf.images, {
    all: boolParam(r.query, 'all'),
    filters: parseImageFilters(specs),
  });
  sendJson(r.res, 200, imageEntries(rows));
}

export async function inspectImageHandler(r: ApiRequest): Promise<void> {
  sendJson(r.res, 200, await inspectImage(r.wharf.images, r.params.name!));
}

export async function historyHandler(r: ApiRequest): Promise<void> {
  const rows = await imageHistory(r.wharf.images, r.params.name!);
  sendJson(
    r.res,
    200,
    rows.map((h) => ({
      Comment: h.comment,
      Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
      CreatedBy: h.createdBy,
      Id: h.id,
      Size: h.size,
      Tags: h.tags.length ? h.tags : null,
    })),
  );
}

/** POST /images/{name}/tag?repo=docker.io/library/web&tag=v2 → 201. */
export function tagHandler(r: ApiRequest): void {
  const repo = r.query.get('repo');
  if (!repo) throw new WharfError('INVALID_ARGUMENT', 'repository name must have at least one component');
  const tag = r.query.get('tag');
  r.wharf.images.tag(r.params.name!, tag ? `${repo}:${tag}` : repo);
  r.res.writeHead(201, { 'Content-Length': 0 });
  r.res.end();
}

export async function removeImageHandler(r: ApiRequest): Promise<void> {
  const events = await r.wharf.images.remove(r.params.name!, {
    force: boolParam(r.query, 'force'),
    noPrune: boolParam(r.query, 'noprune'),
  });
  sendJson(r.res, 200, events);
}

/** A transfer's progress as dockerd's JSON messages (`{"status","id","progressDetail"}`). */
export function progressMessage(e: TransferEvent): Record<string, unknown> {
  if (e.type === 'message') return { status: e.text };
  const detail = e.current !== undefined ? { current: e.current, ...(e.total ? { total: e.total } : {}) } : {};
  return { status: e.status, progressDetail: detail, id: e.id };
}

/** The credentials of an `X-Registry-Auth` header (base64url JSON), as a call's registry options; none when empty. */
export function registryAuth(header: string | string[] | undefined): { remote?: RemoteOptions } {
  const raw = Array.isArray(header) ? header[0] : header;
  if (!raw) return {};
  let auth: { username?: string; password?: string; identitytoken?: string; serveraddress?: string };
  try {
    auth = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as typeof auth;
  } catch {
    return {};
  }
  if (!auth.username && !auth.identitytoken) return {};
  const creds = {
    ...(auth.username ? { username: auth.username } : {}),
    ...(auth.password ? { password: auth.password } : {}),
    ...(auth.identitytoken ? { identityToken: auth.identitytoken } : {}),
  };
  return { remote: { credentials: { get: async () => creds } } };
}

/**
 * A JSON-lines progress reply: the 200 goes out with the first message, so that an error before it is a plain HTTP
 * error (a missing tag is 404, which `docker run` needs); an error after it is an `errorDetail` line.
 */
async function progressReply(r: ApiRequest, work: (write: (obj: unknown) => void) => Promise<void>): Promise<void> {
  let started = false;
  const write = (obj: unknown) => {
    if (!started) {
      r.res.writeHead(200, { 'Content-Type': 'application/json' });
      started = true;
    }
    r.res.write(jsonMessage(obj));
  };
  try {
    await work(write);
  } catch (err) {
    if (!started) throw err;
    const message = (err as Error).message;
    write({ errorDetail: { message }, error: message });
  }
  if (!started) r.res.writeHead(200, { 'Content-Type': 'application/json' });
  r.res.end();
}

/**
 * The image a pull or push names: `name` with the `tag` parameter, which, as dockerd's, replaces a tag the name has
 * (dockerode sends `/images/host/x:v1/push?tag=v1`) and may be a digest.
 */
export function withTagParam(name: string, tag: string | null): string {
  if (!tag) return name;
  const ref = parseNormalizedNamed(name);
  const { tag: _old, ...untagged } = ref;
  const shown = tag.startsWith('sha256:') ? withDigest(nameOnly(ref), tag) : withTag(untagged, tag);
  return familiarString(shown);
}

/** POST /images/create?fromImage=…&tag=…: a pull, streamed as JSON lines. */
export async function createImageHandler(r: ApiRequest): Promise<void> {
  const from = r.query.get('fromImage');
  if (!from) {
    if (r.query.get('fromSrc')) return importImageHandler(r);
    throw new WharfError('INVALID_ARGUMENT', 'fromImage or fromSrc is required');
  }
  const name = withTagParam(from, r.query.get('tag'));
  const platform = r.query.get('platform');
  await progressReply(r, async (write) => {
    await r.wharf.registries.pull(name, {
      onProgress: (e) => write(progressMessage(e)),
      ...(platform ? { platform } : {}),
      ...registryAuth(r.req.headers['x-registry-auth']),
    });
  });
}

/** POST /images/{name}/push?tag=…: a push, streamed as JSON lines, with `{"aux":{Tag,Digest,Size}}` per tag. */
export async function pushImageHandler(r: ApiRequest): Promise<void> {
  const name = withTagParam(r.params.name!, r.query.get('tag'));
  const tagged = parseNormalizedNamed(name).tag !== undefined;
  r.wharf.images.resolve(name); // 404 before the stream
  await progressReply(r, async (write) => {
    const results = await r.wharf.registries.push(name, {
      onProgress: (e) => write(progressMessage(e)),
      // Without a tag, every tag of the repository, as `docker push repo` does.
      ...(tagged ? {} : { allTags: true }),
      ...registryAuth(r.req.headers['x-registry-auth']),
    });
    for (const p of results) write({ progressDetail: {}, aux: { Tag: p.tag, Digest: p.digest, Size: p.size } });
  });
}
