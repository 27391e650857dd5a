import {
  commandText,
  containerFilters,
  parseWaitCondition,
  statusText,
  waitForCondition,
  type ObservedContainer,
} from '../container/index.js';
import { WharfError, is } from '../errors/index.js';
import { formatLogEntry } from '../runtime/index.js';
import { boolParam, filtersParam, readJson, sendEmpty, sendJson, type ApiRequest } from './context.js';
import { connectOptionsOf, createOptionsFromBody, endpointsOf, networkModeOf, type CreateBody } from './create-body.js';
import { muxFrame, STDERR, STDOUT } from './frames.js';
import { shapeContainerInspect, waitConditionParam } from './version-shapes.js';

/** One entry of GET /containers/json (moby's types.Container). */
export function listEntry(c: ObservedContainer): Record<string, unknown> {
  const ports = (c.running ? (c.network?.ports ?? []) : []).map((p) => ({
    IP: p.hostIP === '' ? '0.0.0.0' : p.hostIP,
    PrivatePort: p.containerPort,
    PublicPort: p.hostPort,
    Type: p.protocol,
  }));
  for (const k of Object.keys(c.config.ExposedPorts ?? {})) {
    const [port, proto = 'tcp'] = k.split('/');
    if (!ports.some((p) => p.PrivatePort === Number(port) && p.Type === proto))
      ports.push({ PrivatePort: Number(port), Type: proto } as (typeof ports)[number]);
  }
  const mode = c.hostConfig.NetworkMode;
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.imageName,
    ImageID: c.imageId,
    // The list's command is unquoted and whole (the CLI quotes and cuts it).
    Command: commandText(c, false).slice(1, -1),
    Created: Math.floor(Date.parse(c.created) / 1000),
    Ports: ports,
    Labels: c.config.Labels ?? {},
    State: c.status,
    Status: statusText(c),
    HostConfig: { NetworkMode: mode === 'bridge' ? 'default' : mode },
    NetworkSettings: { Networks: listedNetworks(c) },
    Mounts: c.mounts.map((m) => ({ ...m })),
  };
}

/**
 * The list's NetworkSettings.Networks (`docker ps --format '{{.Networks}}'` shows the keys): the network mode's and
 * the user-defined networks the container is on, with the addresses while it runs.
 */
function listedNetworks(c: ObservedContainer): Record<string, unknown> {
  const net = c.running ? c.network : undefined;
  const mode = c.hostConfig.NetworkMode;
  const out: Record<string, unknown> = {};
  if (!c.networks || mode === 'bridge')
    out[mode.startsWith('container:') ? 'container' : mode] = {
      NetworkID: '',
      EndpointID: net?.ip ? c.id : '',
      Gateway: net?.gateway ?? '',
      IPAddress: net?.ip ?? '',
      MacAddress: net?.mac ?? '',
    };
  for (const [name, cfg] of Object.entries(c.networks ?? {})) {
    const ep = net?.endpoints?.find((e) => e.networkId === cfg.NetworkID);
    out[name] = {
      Aliases: cfg.Aliases ?? null,
      NetworkID: cfg.NetworkID,
      EndpointID: ep ? `${c.id.slice(0, 32)}${cfg.NetworkID.slice(0, 32)}` : '',
      Gateway: ep?.gateway ?? '',
      IPAddress: ep?.ip ?? '',
      MacAddress: ep?.mac ?? '',
    };
  }
  return out;
}

export async function listContainersHandler(r: ApiRequest): Promise<void> {
  const all = boolParam(r.query, 'all');
  const specs: string[] = [];
  const filters = filtersParam(r.query);
  for (const [k, vals] of filters) for (const v of vals) specs.push(`${k}=${v}`);
  const everything = await r.wharf.containers.list();
  const tests = containerFilters(r.wharf.images, specs, everything);
  // As dockerd's list: a status or exited filter looks at stopped containers without `all`.
  const list = everything
    .filter((c) => all || c.running || filters.has('status') || filters.has('exited'))
    .filter((c) => tests.every((t) => t(c)))
    .sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
  const limit = Number(r.query.get('limit') ?? '-1');
  sendJson(r.res, 200, (limit > 0 ? list.slice(0, limit) : list).map(listEntry));
}

export async function createContainerHandler(r: ApiRequest): Promise<void> {
  const body = await readJson<CreateBody>(r.req);
  const name = r.query.get('name') ?? undefined;
  if (name !== undefined && name !== '' && r.wharf.containers.tryResolve(name)?.name === name.replace(/^\//, ''))
    throw new WharfError(
      'CONFLICT',
      `Conflict. The container name "/${name.replace(/^\//, '')}" is already in use by container "${r.wharf.containers.resolve(name).id}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
  const opts = createOptionsFromBody(body, name?.replace(/^\//, '') || undefined);
  // dockerd creates a container on a network that does not exist and fails its start (404); the library refuses it
  // at create. A 404 from create makes the docker CLI pull the image and try again, so it is a 400 here: the CLI
  // shows dockerd's message at once, exit code 125 as with dockerd's failed start.
  const mode = networkModeOf(body);
  if (!['bridge', 'host', 'none'].includes(mode) && !mode.startsWith('container:') && !r.wharf.networks.get(mode))
    throw new WharfError('INVALID_ARGUMENT', `network ${mode} not found`);
  const rec = await r.wharf.containers.create(opts);
  // The other networks of EndpointsConfig, connected as `network connect` would (dockerd 1.44+); undone on failure.
  try {
    for (const [net, ep] of endpointsOf(body, mode).others)
      await r.wharf.containerNetworks.connect(rec.id, net, connectOptionsOf(ep));
  } catch (err) {
    await r.wharf.containers.remove(rec.id, { force: true }).catch(() => {});
    throw err;
  }
  sendJson(r.res, 201, { Id: rec.id, Warnings: [] });
}

export async function inspectContainerHandler(r: ApiRequest): Promise<void> {
  const body = await r.wharf.containers.inspect(r.params.id!, { size: boolParam(r.query, 'size') });
  sendJson(r.res, 200, shapeContainerInspect(body, r.version));
}

/** POST start: 204, or 304 when it already runs; an attach waiting for this start gets the streams. */
export async function startHandler(r: ApiRequest): Promise<void> {
  const before = await r.wharf.containers.get(r.params.id!);
  if (before.running && before.status !== 'paused') return sendEmpty(r.res, 304);
  const pending = r.state.takePendingAttach(before.id);
  try {
    const started = await r.wharf.tasks.start(before.id, pending ? { attach: pending.streams } : {});
    pending?.started(started.session);
  } catch (err) {
    pending?.started(undefined);
    throw err;
  }
  sendEmpty(r.res, 204);
}

function timeoutParam(r: ApiRequest): number | undefined {
  const t = r.query.get('t') ?? r.query.get('timeout');
  return t === null || t === '' ? undefined : Number(t);
}

export async function stopHandler(r: ApiRequest): Promise<void> {
  const c = await r.wharf.containers.get(r.params.id!);
  if (!c.running) return sendEmpty(r.res, 304);
  const t = timeoutParam(r);
  const signal = r.query.get('signal');
  await r.wharf.tasks.stop(c.id, { ...(t !== undefined ? { timeoutSec: t } : {}), ...(signal ? { signal } : {}) });
  sendEmpty(r.res, 204);
}

export async function restartHandler(r: ApiRequest): Promise<void> {
  const t = timeoutParam(r);
  const signal = r.query.get('signal');
  await r.wharf.tasks.restart(r.params.id!, {
    ...(t !== undefined ? { timeoutSec: t } : {}),
    ...(signal ? { signal } : {}),
  });
  sendEmpty(r.res, 204);
}

export async function killHandler(r: ApiRequest): Promise<void> {
  const signal = r.query.get('signal') || 'SIGKILL';
  // The library's kill, as `wharf kill` calls it: the same checks in dockerd's order and words (a bad signal first,
  // then "Cannot kill container: x: No such container: x" or "…: Container <id> is not running").
  await r.wharf.tasks.kill(r.params.id!, signal);
  const c = r.wharf.containers.resolve(r.params.id!);
  // As dockerd's, a SIGKILL returns once the container stopped (a `start` right after it must find it stopped).
  if (/^(SIG)?KILL$|^9$/i.test(signal)) {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 10_000);
    await waitForCondition(r.wharf.containers, r.wharf.root, c.id, 'not-running', ac.signal)
      .catch(() => undefined)
      .finally(() => clearTimeout(timer));
  }
  sendEmpty(r.res, 204);
}

export async function pauseHandler(r: ApiRequest): Promise<void> {
  await r.wharf.tasks.pause(r.params.id!);
  sendEmpty(r.res, 204);
}

export async function unpauseHandler(r: ApiRequest): Promise<void> {
  await r.wharf.tasks.unpause(r.params.id!);
  sendEmpty(r.res, 204);
}

export function renameHandler(r: ApiRequest): void {
  const name = r.query.get('name');
  if (!name) throw new WharfError('INVALID_ARGUMENT', 'Neither old nor new names may be empty');
  r.wharf.containers.rename(r.params.id!, name.replace(/^\//, ''));
  sendEmpty(r.res, 204);
}

export async function removeContainerHandler(r: ApiRequest): Promise<void> {
  await r.wharf.containers.remove(r.params.id!, {
    force: boolParam(r.query, 'force'),
    volumes: boolParam(r.query, 'v'),
  });
  sendEmpty(r.res, 204);
}

/**
 * POST wait: the 200 and its headers go out at once (the docker CLI starts the container only after it has them),
 * the body when the condition is met. A client that hangs up cancels the wait.
 */
export async function waitHandler(r: ApiRequest): Promise<void> {
  const condition = parseWaitCondition(waitConditionParam(r.query, r.version));
  if (!r.wharf.containers.tryResolve(r.params.id!)) {
    // Gone: a 404, or (condition=removed by ID) the code of an AutoRemove container removed before this call.
    const code = await waitForCondition(r.wharf.containers, r.wharf.root, r.params.id!, condition);
    return sendJson(r.res, 200, { Error: null, StatusCode: code });
  }
  const c = await r.wharf.containers.get(r.params.id!); // 404 before the 200
  r.res.writeHead(200, { 'Content-Type': 'application/json' });
  r.res.flushHeaders();
  const ac = new AbortController();
  r.res.on('close', () => ac.abort());
  try {
    const code = await waitForCondition(r.wharf.containers, r.wharf.root, c.id, condition, ac.signal);
    await r.state.relaysDone(c.id, 2000); // the attached clients get all the output before the exit code
    r.res.end(`${JSON.stringify({ Error: null, StatusCode: code })}\n`);
  } catch (err) {
    if (is(err, 'CANCELLED')) return;
    r.res.end(`${JSON.stringify({ Error: { Message: (err as Error).message }, StatusCode: -1 })}\n`);
  }
}

/** GET logs: the json-file entries, multiplexed unless the container has a TTY; `follow` until it stops. */
export async function logsHandler(r: ApiRequest): Promise<void> {
  const c = await r.wharf.containers.get(r.params.id!);
  const q = r.query;
  const stdout = boolParam(q, 'stdout');
  const stderr = boolParam(q, 'stderr');
  if (!stdout && !stderr)
    throw new WharfError('INVALID_ARGUMENT', 'Bad parameters: you must choose at least one stream');
  const tail = q.get('tail');
  const since = Number(q.get('since') ?? '0');
  const until = Number(q.get('until') ?? '0');
  const ac = new AbortController();
  r.res.on('close', () => ac.abort());
  const entries = r.wharf.tasks.logs(c.id, {
    follow: boolParam(q, 'follow'),
    stdout,
    stderr,
    ...(tail && tail !== 'all' && Number(tail) >= 0 ? { tail: Number(tail) } : {}),
    ...(since > 0 ? { since: new Date(since * 1000) } : {}),
    ...(until > 0 ? { until: new Date(until * 1000) } : {}),
    signal: ac.signal,
  });
  // The log file is open from here (tasks.logs): a client may remove the container once it has the headers.
  try {
    r.res.writeHead(200, {});
    r.res.flushHeaders();
    const tty = c.config.Tty === true;
    const timestamps = boolParam(q, 'timestamps');
    for await (const e of entries) {
      const text = formatLogEntry(e, timestamps);
      const ok = r.res.write(tty ? text : muxFrame(e.stream === 'stderr' ? STDERR : STDOUT, text));
      if (!ok) await new Promise((resolve) => r.res.once('drain', resolve));
      if (ac.signal.aborted) break;
    }
  } finally {
    await entries.return(undefined); // closes the file also when the loop never started
  }
  r.res.end();
}
