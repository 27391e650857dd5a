import { parsePlatform } from '../oci/index.js';
import { WharfError } from '../errors/index.js';
import type { ApiRequest } from './context.js';
import { jsonMessage } from './frames.js';

/** GET /images/get?names=…(repeated) and GET /images/{name}/get: `docker save`'s tar. */
export async function saveImagesHandler(r: ApiRequest): Promise<void> {
  const names = r.params.name ? [r.params.name] : r.query.getAll('names');
  if (names.length === 0) throw new WharfError('INVALID_ARGUMENT', 'no images given');
  for (const n of names) r.wharf.images.resolve(n); // 404 before the 200
  r.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await r.wharf.images.archives.save(names, r.res);
}

/** POST /images/load (body: the tar): `{"stream":"Loaded image: web:v1\n"}` per image. */
export async function loadImagesHandler(r: ApiRequest): Promise<void> {
  const res = await r.wharf.images.archives.load(r.req);
  r.res.writeHead(200, { 'Content-Type': 'application/json' });
  for (const l of res.loaded)
    r.res.write(jsonMessage({ stream: l.name ? `Loaded image: ${l.name}\n` : `Loaded image ID: ${l.id}\n` }));
  r.res.end();
}

/**
 * POST /images/create?fromSrc=-&repo=…&tag=…&message=…&changes=…: `docker import` of the body's tarball, answered
 * with `{"status":"sha256:…"}`. A URL source is not fetched.
 */
export async function importImageHandler(r: ApiRequest): Promise<void> {
  const q = r.query;
  if (q.get('fromSrc') !== '-')
    throw new WharfError('UNSUPPORTED', 'import from a URL is not served yet: send the tarball as the body');
  const repo = q.get('repo');
  const tag = q.get('tag');
  const platform = q.get('platform');
  const img = await r.wharf.images.archives.import(r.req, {
    changes: q.getAll('changes').filter((c) => c !== ''),
    ...(q.get('message') ? { message: q.get('message')! } : {}),
    sourceName: '-',
    ...(repo ? { reference: tag ? `${repo}:${tag}` : repo } : {}),
    ...(platform ? { platform: parsePlatform(platform) } : {}),
  });
  r.res.writeHead(200, { 'Content-Type': 'application/json' });
  r.res.end(jsonMessage({ status: img.id }));
}
