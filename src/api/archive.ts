import { WharfError } from '../errors/index.js';
import type { ApiRequest } from './context.js';

function pathParam(r: ApiRequest): string {
  const p = r.query.get('path');
  if (!p) throw new WharfError('INVALID_ARGUMENT', 'path is required');
  return p;
}

async function statHeader(r: ApiRequest, p: string): Promise<string> {
  const st = await r.wharf.containerFiles.statPath(r.params.id!, p);
  return Buffer.from(JSON.stringify(st)).toString('base64');
}

/** HEAD /containers/{id}/archive?path=: 200 with `X-Docker-Container-Path-Stat`, or 404 (`docker cp` asks first). */
export async function statArchiveHandler(r: ApiRequest): Promise<void> {
  const header = await statHeader(r, pathParam(r));
  r.res.writeHead(200, { 'X-Docker-Container-Path-Stat': header, 'Content-Length': 0 });
  r.res.end();
}

/** GET /containers/{id}/archive?path=: the path as a tar (a directory with its entries under its name). */
export async function getArchiveHandler(r: ApiRequest): Promise<void> {
  const p = pathParam(r);
  const header = await statHeader(r, p);
  r.res.writeHead(200, { 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': header });
  await r.wharf.containerFiles.copyFrom(r.params.id!, p, r.res);
  r.res.end();
}

/** PUT /containers/{id}/archive?path=: the body's tar unpacked into the directory `path`. */
export async function putArchiveHandler(r: ApiRequest): Promise<void> {
  await r.wharf.containerFiles.copyTo(r.params.id!, r.req, pathParam(r));
  r.res.writeHead(200, { 'Content-Length': 0 });
  r.res.end();
}
