import { inspectNetwork, networkFilter } from '../engine/index.js';
import { WharfError } from '../errors/index.js';
import type { NetworkView } from '../network/index.js';
import { parsePruneFilter, prunable } from '../util/index.js';
import { connectOptionsOf, type EndpointBody } from './create-body.js';
import { filtersParam, readJson, sendEmpty, sendJson, type ApiRequest } from './context.js';

/** The `filters` query as `key=value` specs. */
function specsOf(filters: Map<string, string[]>): string[] {
  const specs: string[] = [];
  for (const [k, vals] of filters) for (const v of vals) specs.push(`${k}=${v}`);
  return specs;
}

/** GET /networks: every network in inspect's shape, with `Containers` empty as dockerd lists them. */
export async function listNetworksHandler(r: ApiRequest): Promise<void> {
  const keep = networkFilter(r.wharf, specsOf(filtersParam(r.query)));
  const out: Record<string, unknown>[] = [];
  for (const n of r.wharf.networks.list().filter(keep))
    out.push({ ...(await inspectNetwork(r.wharf, n)), Containers: {} });
  sendJson(r.res, 200, out);
}

/** GET /networks/{id} (`verbose` and `scope` change nothing on a single local host). */
export async function inspectNetworkHandler(r: ApiRequest): Promise<void> {
  const scope = r.query.get('scope');
  const n = r.wharf.networks.resolve(r.params.id!);
  if (scope && scope !== 'local') throw new WharfError('NOT_FOUND', `network ${r.params.id} not found`);
  sendJson(r.res, 200, await inspectNetwork(r.wharf, n));
}

/** Docker's NetworkCreateRequest; docker-py sends the fields it was not given as null. */
interface NetworkCreateBody {
  Name?: string | null;
  CheckDuplicate?: boolean | null;
  Driver?: string | null;
  Internal?: boolean | null;
  Attachable?: boolean | null;
  Ingress?: boolean | null;
  EnableIPv6?: boolean | null;
  IPAM?: {
    Driver?: string | null;
    Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string }> | null;
    Options?: Record<string, string> | null;
  } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** POST /networks/create → 201 `{"Id","Warning"}`. */
export async function createNetworkHandler(r: ApiRequest): Promise<void> {
  const body = await readJson<NetworkCreateBody>(r.req);
  if (typeof body.Name !== 'string' || body.Name === '')
    throw new WharfError('INVALID_ARGUMENT', 'invalid name: name is empty');
  if (body.Ingress) throw new WharfError('UNSUPPORTED', 'ingress networks need swarm mode');
  const ipamDriver = body.IPAM?.Driver;
  if (ipamDriver && ipamDriver !== 'default')
    throw new WharfError('NOT_FOUND', `could not resolve IPAM driver ${ipamDriver}: plugin "${ipamDriver}" not found`);
  // The library takes subnets, gateways and ranges as lists in the same order: a config without a gateway or a
  // range leaves a hole at its index.
  const subnets: string[] = [];
  const gateways: string[] = [];
  const ipRanges: string[] = [];
  for (const [i, c] of (body.IPAM?.Config ?? []).entries()) {
    if (!c.Subnet) {
      if (c.Gateway || c.IPRange)
        throw new WharfError('INVALID_ARGUMENT', 'every ip-range or gateway must have a corresponding subnet');
      continue;
    }
    subnets.push(c.Subnet);
    if (c.Gateway) gateways[i] = c.Gateway;
    if (c.IPRange) ipRanges[i] = c.IPRange;
  }
  const rec = await r.wharf.networks.create({
    name: body.Name,
    ...(body.Driver ? { driver: body.Driver } : {}),
    subnets,
    gateways,
    ipRanges,
    ipv6: body.EnableIPv6 === true,
    internal: body.Internal === true,
    attachable: body.Attachable === true,
    labels: body.Labels ?? {},
    options: body.Options ?? {},
  });
  sendJson(r.res, 201, { Id: rec.id, Warning: '' });
}

/** POST /networks/{id}/connect `{"Container","EndpointConfig":{"Aliases","IPAMConfig":{…}}}` → 200. */
export async function connectNetworkHandler(r: ApiRequest): Promise<void> {
  const body = await readJson<{ Container?: string; EndpointConfig?: EndpointBody | null }>(r.req);
  if (!body.Container) throw new WharfError('INVALID_ARGUMENT', 'container is required');
  r.wharf.networks.resolve(r.params.id!); // dockerd looks the network up first
  await r.wharf.containerNetworks.connect(body.Container, r.params.id!, connectOptionsOf(body.EndpointConfig ?? {}));
  sendEmpty(r.res, 200);
}

/** POST /networks/{id}/disconnect `{"Container","Force"}` → 200. */
export async function disconnectNetworkHandler(r: ApiRequest): Promise<void> {
  const body = await readJson<{ Container?: string; Force?: boolean | null }>(r.req);
  if (!body.Container) throw new WharfError('INVALID_ARGUMENT', 'container is required');
  await r.wharf.containerNetworks.disconnect(body.Container, r.params.id!, { force: body.Force === true });
  sendEmpty(r.res, 200);
}

/** DELETE /networks/{id} → 204. */
export async function removeNetworkHandler(r: ApiRequest): Promise<void> {
  await r.wharf.networks.remove(r.params.id!);
  sendEmpty(r.res, 204);
}

/** POST /networks/prune (`until`, `label`, `label!`) → `{"NetworksDeleted": [names] | null}`. */
export async function pruneNetworksHandler(r: ApiRequest): Promise<void> {
  const f = parsePruneFilter(specsOf(filtersParam(r.query)));
  const deleted = await r.wharf.networks.prune((n: NetworkView) => prunable(f, n.created, n.record?.labels ?? {}));
  sendJson(r.res, 200, { NetworksDeleted: deleted.length ? deleted : null });
}
