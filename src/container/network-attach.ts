import { shortId } from '../digest/index.js';
import { WharfError } from '../errors/index.js';
import {
  attachEndpoint,
  detachEndpoint,
  isUserNetworkMode,
  nextIfName,
  type AttachedEndpoint,
  type NetworkRecord,
  type NetworkService,
  type UserNetworkJoin,
} from '../network/index.js';
import type { CreateOptions } from './create-options.js';
import type { ContainerRecords } from './records.js';
import { joinedContainer } from './run-modes.js';
import type { ContainerRecord, EndpointConfig } from './types.js';

/** `connect`'s endpoint settings (`--alias`, `--ip`, `--ip6`). */
export interface ConnectOptions {
  aliases?: string[];
  ipv4Address?: string;
  ipv6Address?: string;
}

/**
 * A container's place on user-defined networks: which networks its record names (`networks`), the endpoints (and
 * addresses) it holds while it runs, the resolver's view of them, and `connect`/`disconnect` — on a running
 * container too, through endpoint.ts into its namespace.
 */
export class ContainerNetworks {
  constructor(
    readonly networks: NetworkService,
    readonly records: ContainerRecords,
    /** Whether the container runs (its namespace exists): the task service's view. */
    readonly running: (rec: ContainerRecord) => Promise<boolean>,
  ) {}

  /** The endpoint configs of a create on `mode`: one for a user-defined network, none otherwise. */
  createConfig(mode: string, opts: ConnectOptions): { mode: string; networks?: Record<string, EndpointConfig> } {
    if (!isUserNetworkMode(mode)) return { mode };
    const net = this.networks.userNetwork(mode);
    return { mode: net.name, networks: { [net.name]: endpointConfig(net, opts) } };
  }

  /**
   * At a start: the endpoints of the networks the record names, recorded with their addresses (the first network
   * first, which is the mode's). A network removed meanwhile is dockerd's NOT_FOUND.
   */
  joinsAtStart(rec: ContainerRecord): UserNetworkJoin[] {
    this.#dropEndpoints(rec.id);
    const joins: UserNetworkJoin[] = [];
    try {
      for (const [name, cfg] of orderedNetworks(rec)) {
        const net = this.networks.records.get(cfg.NetworkID) ?? this.networks.userNetwork(name);
        joins.push({ network: net, endpoint: this.#addEndpoint(rec, net, cfg) });
      }
    } catch (err) {
      this.#dropEndpoints(rec.id);
      throw err;
    }
    return joins;
  }

  #addEndpoint(rec: ContainerRecord, net: NetworkRecord, cfg: EndpointConfig) {
    return this.networks.records.addEndpoint(net, {
      containerId: rec.id,
      names: [rec.name.replace(/^\//, ''), shortId(rec.id)],
      aliases: cfg.Aliases ?? [],
      ip4: cfg.IPAMConfig?.IPv4Address,
      ip6: cfg.IPAMConfig?.IPv6Address,
    });
  }

  /** The resolver told about the container's networks (after its start, or a connect), with the MACs the attach gave. */
  announce(containerId: string, networkIds?: readonly string[], attached: readonly AttachedEndpoint[] = []): void {
    for (const ep of this.networks.records.endpointsOf(containerId)) {
      const a = attached.find((x) => x.networkId === ep.networkId);
      if (a?.mac && a.mac !== ep.mac) this.networks.records.updateEndpoint({ ...ep, mac: a.mac, ifName: a.ifName });
    }
    const ids = networkIds ?? this.networks.records.endpointsOf(containerId).map((e) => e.networkId);
    for (const id of ids) {
      const net = this.networks.records.get(id);
      if (!net) continue;
      this.networks.resolver.update(
        net,
        () => this.networks.records.endpoints(id),
        (cid) => this.records.get(cid)?.hostConfig.Dns,
      );
    }
  }

  #dropEndpoints(containerId: string): string[] {
    const eps = this.networks.records.endpointsOf(containerId);
    for (const e of eps) this.networks.records.removeEndpoint(e.networkId, containerId);
    return eps.map((e) => e.networkId);
  }

  /** After the container's namespace is gone: its endpoints and addresses released, the resolver told. */
  release(containerId: string): void {
    const ids = this.#dropEndpoints(containerId);
    if (ids.length) this.announce(containerId, ids);
  }

  /** `network connect`: recorded, and attached at once when the container runs. */
  async connect(idOrName: string, network: string, opts: ConnectOptions = {}): Promise<void> {
    const rec = this.records.resolve(idOrName);
    const view = this.networks.resolve(network);
    if (view.name === 'host')
      throw new WharfError('DENIED', 'container cannot be disconnected from host network or connected to host network');
    const mode = rec.hostConfig.NetworkMode;
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:'))
      throw new WharfError(
        'DENIED',
        'container sharing network namespace with another container or host cannot be connected to any other network',
      );
    if (!view.record)
      throw new WharfError(
        'UNSUPPORTED',
        `connecting a container to the predefined network ${view.name} is not supported`,
      );
    const net = view.record;
    if (rec.networks?.[net.name])
      throw new WharfError('CONFLICT', `endpoint with name ${rec.name} already exists in network ${net.name}`);
    const cfg = endpointConfig(net, opts);
    const live = await this.running(rec);
    if (live && rec.network?.netnsPath) {
      const ep = this.#addEndpoint(rec, net, cfg);
      let attached: AttachedEndpoint;
      try {
        attached = await attachEndpoint({
          containerId: rec.id,
          netnsPath: rec.network.netnsPath,
          ifName: nextIfName([...(rec.network.cni ? [rec.network.cni] : []), ...(rec.network.endpoints ?? [])]),
          network: net,
          endpoint: ep,
        });
        const made = attached;
        this.records.update(rec.id, (r) => {
          if (r.network) r.network.endpoints = [...(r.network.endpoints ?? []), made];
        });
      } catch (err) {
        this.networks.records.removeEndpoint(net.id, rec.id);
        throw err;
      }
      this.announce(rec.id, [net.id], [attached]);
      this.networks.containerEvent('connect', net, rec.id);
    }
    this.records.update(rec.id, (r) => {
      r.networks = { ...(r.networks ?? {}), [net.name]: cfg };
    });
  }

  /** `network disconnect`: detached at once when the container runs; `force` also when the network is gone. */
  async disconnect(idOrName: string, network: string, opts: { force?: boolean } = {}): Promise<void> {
    const rec = this.records.resolve(idOrName);
    const view = this.networks.get(network);
    if (!view && !opts.force) throw new WharfError('NOT_FOUND', `network ${network} not found`);
    const name = view?.name ?? network;
    if (view && !view.record && view.name === rec.hostConfig.NetworkMode)
      throw new WharfError('UNSUPPORTED', `disconnecting from the predefined network ${view.name} is not supported`);
    if (!rec.networks?.[name])
      throw new WharfError('INVALID_ARGUMENT', `container ${rec.id} is not connected to network ${name}`);
    const attached = rec.network?.endpoints?.find((e) => e.networkName === name);
    if (attached && rec.network?.netnsPath && (await this.running(rec))) {
      await detachEndpoint(
        rec.id,
        rec.network.netnsPath,
        attached,
        rec.network.endpoints?.[0] === attached ? rec.network.ports : [],
      );
    }
    this.records.update(rec.id, (r) => {
      if (r.networks) delete r.networks[name];
      if (r.network?.endpoints) r.network.endpoints = r.network.endpoints.filter((e) => e.networkName !== name);
    });
    if (attached) {
      this.networks.records.removeEndpoint(attached.networkId, rec.id);
      this.announce(rec.id, [attached.networkId]);
      if (view?.record) this.networks.containerEvent('disconnect', view.record, rec.id);
    }
  }
}

function endpointConfig(net: NetworkRecord, opts: ConnectOptions): EndpointConfig {
  const ipam = {
    ...(opts.ipv4Address ? { IPv4Address: opts.ipv4Address } : {}),
    ...(opts.ipv6Address ? { IPv6Address: opts.ipv6Address } : {}),
  };
  return {
    NetworkID: net.id,
    ...(opts.aliases?.length ? { Aliases: opts.aliases } : {}),
    ...(Object.keys(ipam).length ? { IPAMConfig: ipam } : {}),
  };
}

/** The record's networks, the one of its network mode first (its eth0, ports and resolver). */
function orderedNetworks(rec: ContainerRecord): Array<[string, EndpointConfig]> {
  const all = Object.entries(rec.networks ?? {});
  const mode = rec.hostConfig.NetworkMode;
  return [...all.filter(([n]) => n === mode), ...all.filter(([n]) => n !== mode)];
}

/**
 * `create`'s network: a user-defined network's name and endpoint config, or none for the predefined modes, where
 * dockerd refuses network-scoped aliases. An unknown network is dockerd's NOT_FOUND.
 */
export function userNetworkConfig(
  attach: ContainerNetworks | undefined,
  opts: CreateOptions,
  findContainer: (idOrName: string) => { id: string } | undefined,
): { mode: string; networks?: Record<string, EndpointConfig> } | undefined {
  const mode = opts.network ?? 'bridge';
  const donor = joinedContainer(mode);
  if (donor !== undefined) return { mode: `container:${joinedNetworkDonor(opts, donor, findContainer)}` };
  if (!isUserNetworkMode(mode)) {
    if (mode === 'default') throw new WharfError('INVALID_ARGUMENT', `network ${mode} not found`);
    if (opts.networkAliases?.length)
      throw new WharfError(
        'INVALID_ARGUMENT',
        'network-scoped alias is supported only for containers in user defined networks',
      );
    return undefined;
  }
  if (!attach) throw new WharfError('NOT_FOUND', `network ${mode} not found`);
  return attach.createConfig(mode, {
    ...(opts.networkAliases ? { aliases: opts.networkAliases } : {}),
    ...(opts.ipv4Address ? { ipv4Address: opts.ipv4Address } : {}),
    ...(opts.ipv6Address ? { ipv6Address: opts.ipv6Address } : {}),
  });
}

/**
 * `--network container:X`: dockerd's refusals of what the joined namespace already decides (its words, in its
 * order), then X's ID (X must exist; it must run when this one starts).
 */
function joinedNetworkDonor(
  opts: CreateOptions,
  donor: string,
  findContainer: (idOrName: string) => { id: string } | undefined,
): string {
  const conflict = (what: string): never => {
    throw new WharfError('INVALID_ARGUMENT', `conflicting options: ${what}`);
  };
  if (opts.hostname) conflict('hostname and the network mode');
  if (opts.links?.length)
    conflict("container type network can't be used with links. This would result in undefined behavior");
  if (opts.dns?.length) conflict('dns and the network mode');
  if (opts.extraHosts?.length) conflict('custom host-to-IP mapping and the network mode');
  if (opts.publish?.length || opts.publishAll) conflict('port publishing and the container type network mode');
  if (opts.macAddress) conflict('mac-address and the network mode');
  if (opts.networkAliases?.length)
    throw new WharfError(
      'INVALID_ARGUMENT',
      'network-scoped alias is supported only for containers in user defined networks',
    );
  if (donor === '') throw new WharfError('INVALID_ARGUMENT', 'invalid container format container:<name|id>');
  const other = findContainer(donor);
  if (!other) throw new WharfError('NOT_FOUND', `No such container: ${donor}`);
  return other.id;
}
