import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import type * as BuildModule from '../build/index.js';
import type { Credentials } from '../remote/index.js';
import { WharfError } from '../errors/index.js';
import { boolParam, type ApiRequest } from './context.js';
import { jsonMessage } from './frames.js';
import { progressMessage } from './images.js';

/** build/ loads on the first build: a service that never builds does not pay for it (its idle RSS). */
const buildModule = (): Promise<typeof BuildModule> => import('../build/index.js');

/** A JSON-valued query parameter (`buildargs`, `labels`: objects of strings; null values are dropped). */
function jsonObject(q: URLSearchParams, name: string): Record<string, string> {
  const raw = q.get(name);
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new WharfError('INVALID_ARGUMENT', `invalid ${name}: ${raw}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((parsed ?? {}) as Record<string, unknown>))
    if (v !== null && v !== undefined) out[k] = String(v);
  return out;
}

function jsonStrings(q: URLSearchParams, name: string): string[] {
  const raw = q.get(name);
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    throw new WharfError('INVALID_ARGUMENT', `invalid ${name}: ${raw}`);
  }
}

/**
 * The credentials of an `X-Registry-Config` header: base64 JSON `{"<server>": {"username","password"}, …}`, one entry
 * per registry the client has logged in to (the builder pulls its FROM images with them).
 */
export function registryConfigCredentials(header: string | string[] | undefined): Map<string, Credentials> {
  const raw = Array.isArray(header) ? header[0] : header;
  const out = new Map<string, Credentials>();
  if (!raw) return out;
  let parsed: Record<string, { username?: string; password?: string; identitytoken?: string }>;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    return out;
  }
  for (const [server, a] of Object.entries(parsed ?? {})) {
    if (!a || (!a.username && !a.identitytoken)) continue;
    const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    out.set(host === 'index.docker.io' ? 'docker.io' : host, {
      ...(a.username ? { username: a.username } : {}),
      ...(a.password ? { password: a.password } : {}),
      ...(a.identitytoken ? { identityToken: a.identitytoken } : {}),
    });
  }
  return out;
}

/** gzip, bzip2, xz and zstd magic: a compressed context is passed on untouched. */
function compressed(head: Buffer): boolean {
  return (
    (head[0] === 0x1f && head[1] === 0x8b) ||
    head.subarray(0, 3).toString('latin1') === 'BZh' ||
    (head[0] === 0xfd && head.subarray(1, 6).toString('latin1') === '7zXZ\0') ||
    (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528)
  );
}

/**
 * The context tar as the docker CLI sends it, completed: with `-f` outside the context the CLI adds the Dockerfile as
 * the last entry and ends the stream right after its bytes (no padding, no end-of-archive blocks; Go's tar reader on
 * dockerd's side accepts that). An uncompressed stream gets the missing padding and the two zero blocks; a tar that
 * had them already is unchanged for a reader, which stops at the first end marker.
 */
export async function* completedTar(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let size = 0;
  let head: Buffer | undefined;
  for await (const chunk of body) {
    head ??= chunk;
    size += chunk.length;
    yield chunk;
  }
  if (!head || compressed(head)) return;
  yield Buffer.alloc(((512 - (size % 512)) % 512) + 1024);
}

/**
 * POST /build: the classic builder over the request's tar context, its output as dockerd's JSON lines
 * (`{"stream"}` text, `{"aux":{"ID"}}` for the image, `{"errorDetail":{"code"}}` for a failed RUN, whose code the
 * docker CLI exits with). An error before any output is a plain HTTP error, as dockerd's.
 */
export async function buildHandler(r: ApiRequest): Promise<void> {
  const q = r.query;
  if (q.get('remote')) throw new WharfError('UNSUPPORTED', 'a remote build context (remote=) is not supported');
  const { Builder, BuildContext, BuildStepFailed } = await buildModule();
  let started = false;
  const write = (obj: unknown) => {
    if (!started) {
      r.res.writeHead(200, { 'Content-Type': 'application/json' });
      started = true;
    }
    r.res.write(jsonMessage(obj));
  };
  const quiet = boolParam(q, 'q');
  const text = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      if (!quiet) write({ stream: chunk.toString() });
      cb();
    },
  });
  const controller = new AbortController();
  r.res.once('close', () => {
    if (!r.res.writableFinished) controller.abort();
  });
  const w = r.wharf;
  const dockerfileName = q.get('dockerfile') || 'Dockerfile';
  const context = await BuildContext.fromTar(
    Readable.from(completedTar(r.req as AsyncIterable<Buffer>)),
    path.join(w.runRoot, 'build'),
    { dockerfile: dockerfileName },
  );
  try {
    const dockerfile = await context.readDockerfile(dockerfileName);
    const creds = registryConfigCredentials(r.req.headers['x-registry-config']);
    const network = q.get('networkmode') || 'default';
    const platform = q.get('platform');
    const target = q.get('target');
    const result = await new Builder({
      root: w.root,
      images: w.images,
      snapshots: w.snapshots,
      db: w.db,
      runRoot: w.runRoot,
      ...(w.usernsRemap ? { usernsRemap: w.usernsRemap } : {}),
    }).build({
      context,
      dockerfile,
      tags: q.getAll('t').filter((t) => t !== ''),
      buildArgs: jsonObject(q, 'buildargs'),
      labels: jsonObject(q, 'labels'),
      ...(target ? { target } : {}),
      noCache: boolParam(q, 'nocache'),
      cacheFrom: jsonStrings(q, 'cachefrom'),
      network: network === 'bridge' ? 'default' : (network as 'default' | 'host' | 'none'),
      addHosts: (q.get('extrahosts') ?? '').split(',').filter(Boolean),
      quiet,
      ...(platform ? { platform } : {}),
      ...(boolParam(q, 'pull') ? { pull: true } : {}),
      ...(boolParam(q, 'forcerm') ? { forceRm: true } : {}),
      pullBase: async (ref, out) => {
        await w.registries.pull(ref, {
          remote: { credentials: { get: async (domain) => creds.get(domain) } },
          onProgress: (e) => {
            const m = progressMessage(e);
            if (!quiet && m.status) out.write(`${m.id ? `${String(m.id)}: ` : ''}${String(m.status)}\n`);
          },
        });
      },
      keepFailedStep: async (s) => {
        await w.containers.keepBuildStep(
          {
            id: s.id,
            image: s.imageId,
            command: s.argv,
            entrypoint: '',
            env: s.env,
            ...(s.workdir ? { workdir: s.workdir } : {}),
            ...(s.user ? { user: s.user } : {}),
          },
          s,
        );
      },
      out: text,
      err: text,
      signal: controller.signal,
    });
    write({ aux: { ID: result.imageId } });
    if (quiet) write({ stream: `${result.imageId}\n` });
  } catch (err) {
    if (!started) throw err;
    const message = (err as Error).message;
    const code = err instanceof BuildStepFailed ? { code: err.exitCode } : {};
    write({ errorDetail: { ...code, message }, error: message });
  } finally {
    await context.close();
  }
  if (!started) r.res.writeHead(200, { 'Content-Type': 'application/json' });
  r.res.end();
}
