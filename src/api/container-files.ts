import { containerTop } from '../container/index.js';
import { WharfError } from '../errors/index.js';
import { boolParam, sendJson, type ApiRequest } from './context.js';

const KIND: Record<string, number> = { C: 0, A: 1, D: 2 };

/** GET /containers/{id}/changes: `[{"Path","Kind"}]` (0 changed, 1 added, 2 deleted); no changes is `null`. */
export async function changesHandler(r: ApiRequest): Promise<void> {
  const out: Array<{ Path: string; Kind: number }> = [];
  for await (const ch of r.wharf.containerFiles.diff(r.params.id!))
    out.push({ Path: ch.path, Kind: KIND[ch.kind] ?? 0 });
  sendJson(r.res, 200, out.length ? out : null);
}

/** GET /containers/{id}/export: the root file system as a tar stream. */
export async function exportHandler(r: ApiRequest): Promise<void> {
  await r.wharf.containers.get(r.params.id!); // 404 before the 200
  r.res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
  await r.wharf.containerFiles.exportTo(r.params.id!, r.res, { end: true });
}

/** GET /containers/{id}/top?ps_args=: Titles and Processes. */
export async function topHandler(r: ApiRequest): Promise<void> {
  const c = await r.wharf.containers.get(r.params.id!);
  if (!c.running) throw new WharfError('CONFLICT', `Container ${c.id} is not running`);
  const psArgs = (r.query.get('ps_args') ?? '').split(/\s+/).filter((a) => a !== '');
  sendJson(r.res, 200, await containerTop(r.wharf.tasks, c.id, psArgs));
}

/** POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=…: 201 `{"Id"}`. */
export async function commitHandler(r: ApiRequest): Promise<void> {
  const q = r.query;
  const container = q.get('container');
  if (!container) throw new WharfError('INVALID_ARGUMENT', 'No container specified');
  const repo = q.get('repo');
  const tag = q.get('tag');
  const img = await r.wharf.containerFiles.commit(container, {
    ...(repo ? { reference: tag ? `${repo}:${tag}` : repo } : {}),
    ...(q.get('comment') ? { comment: q.get('comment')! } : {}),
    ...(q.get('author') ? { author: q.get('author')! } : {}),
    changes: q.getAll('changes').filter((c) => c !== ''),
    pause: boolParam(q, 'pause', true),
  });
  sendJson(r.res, 201, { Id: img.id });
}
