import * as os from 'node:os';
import { collectInfo, versionLine } from '../engine/index.js';
import { volumeInspect } from '../container/index.js';
import { imageDiskUsage } from '../image/index.js';
import { listEntry } from './containers.js';
import { sendJson, type ApiRequest } from './context.js';
import { imageEntries } from './images.js';
import { MIN_API_VERSION, API_VERSION } from './versions.js';
import { shapeDiskUsage, shapeVersion } from './version-shapes.js';
import { currentServiceFacts, serviceInfoFields } from './info-fields.js';

/** HEAD/GET /_ping: `OK`, with the headers every reply has (the docker CLI negotiates from Api-Version here). */
export function pingHandler(r: ApiRequest): void {
  r.res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Content-Length': r.req.method === 'HEAD' ? 0 : 2,
  });
  r.res.end(r.req.method === 'HEAD' ? undefined : 'OK');
}

function goArch(): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' } as Record<string, string>)[os.arch()] ?? os.arch();
}

/** GET /version: moby's types.Version, the Engine being this service, runc its runtime. */
export async function versionHandler(r: ApiRequest): Promise<void> {
  const v = r.server.version;
  const runcVersion = await versionLine('runc', /^runc version (.*)$/m);
  const runcCommit = await versionLine('runc', /^commit: (.*)$/m);
  const engine = {
    ApiVersion: API_VERSION,
    Arch: goArch(),
    BuildTime: '',
    Experimental: 'false',
    GitCommit: '',
    GoVersion: process.version,
    KernelVersion: os.release(),
    MinAPIVersion: MIN_API_VERSION,
    Os: 'linux',
  };
  sendJson(
    r.res,
    200,
    shapeVersion(
      {
        Platform: { Name: 'Wharf' },
        Components: [
          { Name: 'Engine', Version: v, Details: engine },
          ...(runcVersion ? [{ Name: 'runc', Version: runcVersion, Details: { GitCommit: runcCommit ?? '' } }] : []),
        ],
        Version: v,
        ApiVersion: API_VERSION,
        MinAPIVersion: MIN_API_VERSION,
        GitCommit: '',
        GoVersion: process.version,
        Os: 'linux',
        Arch: goArch(),
        KernelVersion: os.release(),
        BuildTime: '',
      },
      r.version,
    ),
  );
}

/** GET /info: the same facts as `wharf info` (the engine's collectInfo), with this process's own (info-fields). */
export async function infoHandler(r: ApiRequest): Promise<void> {
  const info = await collectInfo(r.wharf, {
    serverVersion: r.server.version,
    insecureRegistries: r.server.insecureRegistries,
  });
  sendJson(r.res, 200, { ...info, ...serviceInfoFields(currentServiceFacts(r.state.eventListeners)) });
}

/** GET /system/df: images with their shared sizes and users, containers with their sizes, volumes with their use. */
export async function diskUsageHandler(r: ApiRequest): Promise<void> {
  const du = imageDiskUsage(r.wharf.images);
  const containers: Array<Record<string, unknown>> = [];
  for (const c of await r.wharf.containers.list()) {
    const size = await r.wharf.containers.size(c.id).catch(() => ({ rw: 0, rootFs: 0 }));
    containers.push({ ...listEntry(c), SizeRw: size.rw, SizeRootFs: size.rootFs });
  }
  const volumes: Array<Record<string, unknown>> = [];
  for (const v of r.wharf.volumes.list()) {
    const UsageData = { RefCount: r.wharf.volumes.users(v.name).length, Size: await r.wharf.volumes.size(v.name) };
    volumes.push({ ...volumeInspect(r.wharf.volumes, v), UsageData });
  }
  // The build cache is the builder's, which this service does not load: reported empty.
  const body = {
    LayersSize: du.layersSize,
    Images: imageEntries(du.images, true),
    Containers: containers,
    Volumes: volumes,
    BuildCache: [],
    BuilderSize: 0,
  };
  sendJson(r.res, 200, shapeDiskUsage(body, r.version));
}
