import { invalidFilter } from '../errors/index.js';
import { inspectedEndpoints, networkInspect, type NetworkView } from '../network/index.js';
import { labelsMatch, splitFilter } from '../util/index.js';
import type { Wharf } from './wharf.js';

/**
 * A network's inspect document with the containers attached to it: a user network's endpoints, or the running
 * containers on the default bridge. Shared by `wharf network inspect` and the Engine API's GET /networks/{id}.
 */
export async function inspectNetwork(w: Wharf, n: NetworkView): Promise<Record<string, unknown>> {
  if (n.record) {
    const eps = w.networks.endpoints(n.id);
    return networkInspect(
      n,
      inspectedEndpoints(eps, (id) => w.containers.tryResolve(id)?.name.replace(/^\//, '')),
    );
  }
  const onBridge =
    n.name === 'bridge'
      ? (await w.containers.list()).filter((c) => c.running && c.hostConfig.NetworkMode === 'bridge' && c.network?.ip)
      : [];
  return networkInspect(
    n,
    onBridge.map((c) => ({
      containerId: c.id,
      name: c.name.replace(/^\//, ''),
      ip4: c.network?.ip,
      mac: c.network?.mac,
    })),
  );
}

/**
 * `network ls`'s filters (`key=value` specs): driver, id, label, name, scope, type (custom/builtin), dangling. An
 * unknown key or type is dockerd's INVALID_ARGUMENT.
 */
export function networkFilter(w: Wharf, specs: readonly string[]): (n: NetworkView) => boolean {
  const tests = specs.map((s) => {
    const { name, value } = splitFilter(s);
    switch (name) {
      case 'driver':
        return (n: NetworkView) => n.driver === value;
      case 'id':
        return (n: NetworkView) => n.id.startsWith(value);
      case 'name':
        return (n: NetworkView) => n.name.includes(value);
      case 'label':
        return (n: NetworkView) => labelsMatch(n.record?.labels ?? {}, value);
      case 'scope':
        return () => value === 'local';
      case 'type':
        if (value !== 'custom' && value !== 'builtin') throw invalidFilter(`: 'type'='${value}'`);
        return (n: NetworkView) => (value === 'custom') === (n.record !== undefined);
      case 'dangling': {
        const want = value === 'true' || value === '1';
        return (n: NetworkView) => n.record !== undefined && (w.networks.endpoints(n.id).length === 0) === want;
      }
      default:
        throw invalidFilter(`'${name}'`);
    }
  });
  return (n) => tests.every((t) => t(n));
}
