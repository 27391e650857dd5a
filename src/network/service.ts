import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import type { EventLog } from '../events/index.js';
import type { MetaDb } from '../meta/index.js';
import { randomBytesSync, randomHex, withFileLock } from '../util/index.js';
import { bridgeMac, bridgesWithAlias, createBridge, deleteBridge } from './bridge-device.js';
import type { CheckProblem } from '../image/index.js';
import { DEFAULT_BRIDGE_NAME, DEFAULT_GATEWAY, DEFAULT_SUBNET } from './cni.js';
import { NetworkResolver } from './dns.js';
import { rootTag, syncFirewall } from './firewall.js';
import {
  allocateSubnet,
  cidrContains,
  cidrOverlaps,
  DEFAULT_POOLS,
  firstHost,
  formatCidr,
  parseCidr,
  parseIp,
  parseProcRoutes,
  randomUlaPool,
  type AddressPool,
  type Cidr,
} from './ipam.js';
import { NetworkRecords, type EndpointRecord, type NetworkRecord, type NetworkSubnet } from './network-records.js';

/** `network create`'s options (Docker's NetworkCreateRequest, the parts Wharf has). */
export interface NetworkCreateOptions {
  name: string;
  /** Only `bridge` (the default). */
  driver?: string;
  /** `--subnet` (one per family), `--gateway` and `--ip-range` in the same order. */
  subnets?: string[];
  gateways?: string[];
  ipRanges?: string[];
  /** Dual stack: an IPv6 subnet too (from the ULA pool when none is given). */
  ipv6?: boolean;
  internal?: boolean;
  attachable?: boolean;
  labels?: Record<string, string>;
  /** Driver options: `com.docker.network.bridge.name` names the bridge. */
  options?: Record<string, string>;
}

/** A network as listed: the predefined ones (bridge, host, none) and the user-defined ones. */
export interface NetworkView {
  id: string;
  name: string;
  /** bridge, host or null (none's driver, as Docker names it). */
  driver: string;
  created: string;
  /** Undefined for the predefined networks. */
  record?: NetworkRecord;
}

export interface NetworkServiceOptions {
  db: MetaDb;
  root: string;
  runRoot: string;
  /** Where user networks' IPv4 subnets come from (default: dockerd's default-address-pools). */
  pools?: readonly AddressPool[];
  /** Where IPv6 subnets come from (default: a random ULA /48 of the root, carved in /64s). */
  ipv6Pools?: readonly AddressPool[];
  events?: EventLog;
}

export const PREDEFINED_NETWORKS = ['bridge', 'host', 'none'] as const;
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * User-defined bridge networks (docs/networks.md): their records and addresses in the database, their bridge and
 * static firewall rules on the host, and the resolver that makes their containers' names resolve. The predefined
 * `bridge` (Wharf's wharf0), `host` and `none` are listed beside them. Attaching containers is the container
 * module's (`ContainerService.connect`, a start), through `endpoint.ts`.
 */
export class NetworkService {
  readonly records: NetworkRecords;
  readonly resolver: NetworkResolver;
  readonly #db: MetaDb;
  readonly #root: string;
  readonly #runRoot: string;
  readonly #pools: readonly AddressPool[];
  readonly #ipv6Pools: readonly AddressPool[] | undefined;
  readonly #events: EventLog | undefined;

  constructor(opts: NetworkServiceOptions) {
    this.#db = opts.db;
    this.#root = opts.root;
    this.#runRoot = opts.runRoot;
    this.records = new NetworkRecords(opts.db);
    this.resolver = new NetworkResolver(path.join(opts.runRoot, 'aardvark-dns'), opts.db);
    this.#pools = opts.pools ?? DEFAULT_POOLS;
    this.#ipv6Pools = opts.ipv6Pools;
    this.#events = opts.events;
  }

  /** The predefined networks' IDs: random, made once per root, as dockerd makes them once per daemon. */
  #predefinedId(name: string): string {
    return this.#db.initSetting(`network.${name}.id`, randomHex(32));
  }

  #predefined(name: (typeof PREDEFINED_NETWORKS)[number]): NetworkView {
    const created = this.#db.initSetting('network.created', new Date().toISOString());
    return { id: this.#predefinedId(name), name, driver: name === 'none' ? 'null' : name, created };
  }

  /** Every network, the predefined ones first. */
  list(): NetworkView[] {
    return [
      ...PREDEFINED_NETWORKS.map((n) => this.#predefined(n)),
      ...this.records.all().map((r) => ({ id: r.id, name: r.name, driver: r.driver, created: r.created, record: r })),
    ];
  }

  /** By full ID, name, or unique ID prefix (dockerd's order); undefined when there is none. */
  get(idOrName: string): NetworkView | undefined {
    const rec = this.records.tryResolve(idOrName);
    if (rec) return { id: rec.id, name: rec.name, driver: rec.driver, created: rec.created, record: rec };
    const pre = this.list().filter((n) => !n.record);
    return (
      pre.find((n) => n.id === idOrName || n.name === idOrName) ??
      (idOrName.length > 0 && /^[0-9a-f]+$/.test(idOrName) ? pre.find((n) => n.id.startsWith(idOrName)) : undefined)
    );
  }

  /** As `get`, NOT_FOUND in dockerd's words when there is none. */
  resolve(idOrName: string): NetworkView {
    const n = this.get(idOrName);
    if (!n) throw new WharfError('NOT_FOUND', `network ${idOrName} not found`);
    return n;
  }

  /** A user-defined network by name or ID (a predefined one, or none: NOT_FOUND). */
  userNetwork(idOrName: string): NetworkRecord {
    const n = this.resolve(idOrName);
    if (!n.record) throw new WharfError('INVALID_ARGUMENT', `${n.name} is a pre-defined network`);
    return n.record;
  }

  /** The routes of the host (without default routes) that a new subnet must not overlap. */
  #hostRoutes(): Array<Cidr & { dev: string }> {
    const read = (f: string): string => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return '';
      }
    };
    return parseProcRoutes(read('/proc/net/route'), read('/proc/net/ipv6_route'));
  }

  #ulaPools(): readonly AddressPool[] {
    if (this.#ipv6Pools) return this.#ipv6Pools;
    const pool = this.#db.initSetting('network.ula-pool', JSON.stringify(randomUlaPool(randomBytesSync)));
    return [JSON.parse(pool) as AddressPool];
  }

  /** Subnets, gateways and ranges checked and completed, as dockerd's IPAM does at create. */
  #addressing(
    opts: NetworkCreateOptions,
    others: readonly NetworkRecord[],
  ): { ipv4: NetworkSubnet; ipv6?: NetworkSubnet } {
    const taken: Cidr[] = others.flatMap((o) => [
      parseCidr(o.ipv4.subnet),
      ...(o.ipv6 ? [parseCidr(o.ipv6.subnet)] : []),
    ]);
    taken.push(parseCidr(DEFAULT_SUBNET));
    const routes = this.#hostRoutes().filter((r) => !others.some((o) => o.bridge === r.dev));
    const asked = (opts.subnets ?? []).map((s) => {
      try {
        return parseCidr(s);
      } catch (err) {
        throw new WharfError('INVALID_ARGUMENT', `Invalid subnet ${s} : ${(err as Error).message}`); // dockerd's words
      }
    });
    const gateways = opts.gateways ?? [];
    const ranges = opts.ipRanges ?? [];
    if (gateways.length > asked.length || ranges.length > asked.length)
      throw new WharfError('INVALID_ARGUMENT', 'every ip-range or gateway must have a corresponding subnet');
    const out: { ipv4?: NetworkSubnet; ipv6?: NetworkSubnet } = {};
    asked.forEach((c, i) => {
      const clash = taken.find((t) => cidrOverlaps(t, c));
      if (clash)
        throw new WharfError('CONFLICT', 'invalid pool request: Pool overlaps with other one on this address space');
      const route = routes.find((r) => cidrOverlaps(r, c));
      if (route)
        throw new WharfError(
          'CONFLICT',
          `subnet ${formatCidr(c)} overlaps with the host's route ${formatCidr(route)} dev ${route.dev}`,
        );
      const gw = gateways[i] ?? firstHost(c);
      if (!cidrContains(c, gw)) throw new WharfError('INVALID_ARGUMENT', `no matching subnet for gateway ${gw}`);
      if (parseIp(gw).family !== c.family) throw new WharfError('INVALID_ARGUMENT', `invalid gateway ${gw}`);
      const range = ranges[i];
      if (range) {
        const r = parseCidr(range);
        if (!cidrOverlaps(r, c) || r.prefix < c.prefix)
          throw new WharfError('INVALID_ARGUMENT', `no matching subnet for range ${range}`);
      }
      const sub: NetworkSubnet = { subnet: formatCidr(c), gateway: gw, ...(range ? { ipRange: range } : {}) };
      const key = c.family === 4 ? 'ipv4' : 'ipv6';
      if (out[key]) throw new WharfError('INVALID_ARGUMENT', `more than one IPv${c.family} subnet`);
      out[key] = sub;
      taken.push(c);
    });
    if (out.ipv6 && !opts.ipv6)
      throw new WharfError('INVALID_ARGUMENT', 'IPv6 subnet provided without --ipv6 (enable IPv6 on the network)');
    if (!out.ipv4) {
      const c = allocateSubnet(this.#pools, [...taken, ...routes]);
      out.ipv4 = { subnet: formatCidr(c), gateway: firstHost(c) };
      taken.push(c);
    }
    if (opts.ipv6 && !out.ipv6) {
      const c = allocateSubnet(this.#ulaPools(), [...taken, ...routes]);
      out.ipv6 = { subnet: formatCidr(c), gateway: firstHost(c) };
    }
    return out as { ipv4: NetworkSubnet; ipv6?: NetworkSubnet };
  }

  /** `network create`: the record (addresses allocated), the bridge, the rules. Undone on failure. */
  async create(opts: NetworkCreateOptions): Promise<NetworkRecord> {
    const driver = opts.driver ?? 'bridge';
    if (driver === 'host' || driver === 'null')
      throw new WharfError('DENIED', `only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw new WharfError('NOT_FOUND', `plugin "${driver}" not found`);
    if (!NAME_RE.test(opts.name))
      throw new WharfError(
        'INVALID_ARGUMENT',
        `invalid name "${opts.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    if ((PREDEFINED_NETWORKS as readonly string[]).includes(opts.name))
      throw new WharfError('DENIED', `operation is not permitted on predefined ${opts.name} network`);
    const id = randomHex(32);
    const options = { ...(opts.options ?? {}) };
    const bridge = options['com.docker.network.bridge.name'] ?? `br-${id.slice(0, 12)}`;
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge))
      throw new WharfError('INVALID_ARGUMENT', `invalid bridge name ${bridge}`);
    const rec = this.#db.immediate(() => {
      const others = this.records.all();
      if (others.some((o) => o.name === opts.name))
        throw new WharfError('CONFLICT', `network with name ${opts.name} already exists`);
      if (others.some((o) => o.bridge === bridge))
        throw new WharfError('CONFLICT', `bridge ${bridge} is used by another network`);
      const addressing = this.#addressing(opts, others);
      const r: NetworkRecord = {
        id,
        name: opts.name,
        created: new Date().toISOString(),
        driver: 'bridge',
        bridge,
        ...addressing,
        internal: opts.internal === true,
        attachable: opts.attachable === true,
        labels: opts.labels ?? {},
        options,
      };
      this.records.insert(r);
      return r;
    });
    try {
      const addrs = [`${rec.ipv4.gateway}/${parseCidr(rec.ipv4.subnet).prefix}`];
      if (rec.ipv6) addrs.push(`${rec.ipv6.gateway}/${parseCidr(rec.ipv6.subnet).prefix}`);
      await createBridge(bridge, addrs, `wharf:${rootTag(this.#root)}`, bridgeMac(rec.id));
      await this.#syncFirewall();
    } catch (err) {
      this.records.delete(rec.id);
      await deleteBridge(bridge).catch(() => {});
      await this.#syncFirewall().catch(() => {});
      throw err;
    }
    this.#events?.emit('network', 'create', rec.id, { name: rec.name, type: 'bridge' });
    return rec;
  }

  /** The rules of all this root's networks, rebuilt under a lock (firewall.ts). */
  async #syncFirewall(): Promise<void> {
    await withFileLock(
      path.join(this.#runRoot, 'network-rules.lock'),
      () =>
        syncFirewall(
          this.#root,
          this.records.all().map((n) => ({
            bridge: n.bridge,
            subnet4: n.ipv4.subnet,
            subnet6: n.ipv6?.subnet,
            internal: n.internal,
          })),
          DEFAULT_BRIDGE_NAME,
        ),
      { purpose: 'network rules', unlockedWithoutFlock: true },
    );
  }

  /** A network event about a container (`connect`, `disconnect`), as dockerd emits them. */
  containerEvent(action: 'connect' | 'disconnect', net: NetworkRecord, containerId: string): void {
    this.#events?.emit('network', action, net.id, { container: containerId, name: net.name, type: 'bridge' });
  }

  /** The containers attached (running) to a network. */
  endpoints(networkId: string): EndpointRecord[] {
    return this.records.endpoints(networkId);
  }

  /**
   * `network rm`: refused for the predefined networks and while containers are attached (dockerd's words); the
   * bridge, the rules and the resolver's file go with it.
   */
  async remove(idOrName: string): Promise<NetworkView> {
    const n = this.resolve(idOrName);
    if (!n.record) throw new WharfError('DENIED', `${n.name} is a pre-defined network and cannot be removed`);
    const eps = this.records.endpoints(n.id);
    if (eps.length)
      throw new WharfError(
        'CONFLICT',
        `error while removing network: network ${n.name} id ${n.id} has active endpoints`,
      );
    this.records.delete(n.id);
    this.resolver.update(n.record, () => []);
    await deleteBridge(n.record.bridge);
    await this.#syncFirewall();
    this.#events?.emit('network', 'destroy', n.id, { name: n.name, type: 'bridge' });
    return n;
  }

  /** `network prune`: the user-defined networks no container is attached to (and `keep` lets go). */
  async prune(keep: (n: NetworkView) => boolean = () => true): Promise<string[]> {
    const deleted: string[] = [];
    for (const n of this.list()) {
      if (!n.record || !keep(n) || this.records.endpoints(n.id).length) continue;
      try {
        await this.remove(n.id);
        deleted.push(n.name);
      } catch {
        /* attached meanwhile */
      }
    }
    this.#events?.emit('network', 'prune', '', { reclaimed: '0' });
    return deleted;
  }

  /** The default bridge's addressing, for inspect. */
  static readonly defaultBridge = { bridge: DEFAULT_BRIDGE_NAME, subnet: DEFAULT_SUBNET, gateway: DEFAULT_GATEWAY };

  /**
   * `system check`'s part about networks: bridges this root made (their alias says so) that no network record names
   * any more (a `network rm` killed half-way), removed with `repair`, which also rebuilds the firewall rules from the
   * records (the root's chains deleted when it has no network).
   */
  async check(repair: boolean): Promise<CheckProblem[]> {
    const known = new Set(this.records.all().map((n) => n.bridge));
    const problems: CheckProblem[] = [];
    for (const b of await bridgesWithAlias(`wharf:${rootTag(this.#root)}`)) {
      if (known.has(b)) continue;
      let repaired = false;
      if (repair)
        repaired = await deleteBridge(b).then(
          () => true,
          () => false,
        );
      problems.push({
        kind: 'orphan',
        what: `network bridge ${b} with no network record`,
        ...(repair ? { repaired } : {}),
      });
    }
    if (repair) await this.#syncFirewall();
    return problems;
  }
}
