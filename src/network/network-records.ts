import { WharfError } from '../errors/index.js';
import type { MetaDb, Migration } from '../meta/index.js';
import { cidrContains, firstFreeAddress, parseCidr } from './ipam.js';

export const NETWORK_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE networks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE TABLE network_endpoints (
        network_id TEXT NOT NULL REFERENCES networks(id),
        container_id TEXT NOT NULL,
        ip4 TEXT,
        ip6 TEXT,
        data TEXT NOT NULL,
        PRIMARY KEY (network_id, container_id),
        UNIQUE (network_id, ip4),
        UNIQUE (network_id, ip6)
      );
      CREATE INDEX network_endpoints_container ON network_endpoints(container_id);
    `,
  },
];

/** One address family of a network: Docker's IPAM.Config entry. */
export interface NetworkSubnet {
  subnet: string;
  gateway: string;
  ipRange?: string;
}

/** A user-defined network as the database keeps it (the predefined bridge, host and none are not stored). */
export interface NetworkRecord {
  id: string;
  name: string;
  created: string;
  driver: 'bridge';
  /** The Linux bridge's name (`br-<id12>`, or `com.docker.network.bridge.name`). */
  bridge: string;
  ipv4: NetworkSubnet;
  ipv6?: NetworkSubnet;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
}

/** A container attached to a network (while it runs): its addresses and the names that resolve to it. */
export interface EndpointRecord {
  networkId: string;
  containerId: string;
  /** The container's name (without the slash), its short ID and its aliases: what the resolver answers for it. */
  names: string[];
  aliases: string[];
  ip4?: string;
  ip6?: string;
  mac?: string;
  ifName?: string;
}

interface NetworkRow {
  data: string;
}

interface EndpointRow {
  data: string;
}

/** The two network tables: networks (one JSON document each) and their endpoints with the addresses taken. */
export class NetworkRecords {
  constructor(readonly db: MetaDb) {
    db.migrate('networks', NETWORK_MIGRATIONS);
  }

  all(): NetworkRecord[] {
    return (this.db.prepare('SELECT data FROM networks ORDER BY created, rowid').all() as NetworkRow[]).map(
      (r) => JSON.parse(r.data) as NetworkRecord,
    );
  }

  get(id: string): NetworkRecord | undefined {
    const r = this.db.prepare('SELECT data FROM networks WHERE id = ?').get(id) as NetworkRow | undefined;
    return r && (JSON.parse(r.data) as NetworkRecord);
  }

  /** dockerd's lookup order: full ID, exact name, then a unique ID prefix. */
  tryResolve(idOrName: string): NetworkRecord | undefined {
    if (idOrName === '') return undefined;
    const byId = this.get(idOrName);
    if (byId) return byId;
    const byName = this.db.prepare('SELECT data FROM networks WHERE name = ?').get(idOrName) as NetworkRow | undefined;
    if (byName) return JSON.parse(byName.data) as NetworkRecord;
    if (!/^[a-f0-9]+$/.test(idOrName)) return undefined;
    const rows = this.db
      .prepare('SELECT data FROM networks WHERE id >= ? AND id < ?')
      .all(idOrName, idOrName + 'g') as NetworkRow[];
    if (rows.length > 1)
      throw new WharfError('INVALID_ARGUMENT', `network ${idOrName} is ambiguous (${rows.length} matches found)`);
    return rows[0] && (JSON.parse(rows[0].data) as NetworkRecord);
  }

  insert(rec: NetworkRecord): void {
    try {
      this.db
        .prepare('INSERT INTO networks(id, name, created, data) VALUES (?, ?, ?, ?)')
        .run(rec.id, rec.name, rec.created, JSON.stringify(rec));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new WharfError('CONFLICT', `network with name ${rec.name} already exists`);
      throw err;
    }
  }

  delete(id: string): void {
    this.db.immediate(() => {
      this.db.prepare('DELETE FROM network_endpoints WHERE network_id = ?').run(id);
      this.db.prepare('DELETE FROM networks WHERE id = ?').run(id);
    });
  }

  endpoints(networkId: string): EndpointRecord[] {
    return (
      this.db
        .prepare('SELECT data FROM network_endpoints WHERE network_id = ? ORDER BY rowid')
        .all(networkId) as EndpointRow[]
    ).map((r) => JSON.parse(r.data) as EndpointRecord);
  }

  endpointsOf(containerId: string): EndpointRecord[] {
    return (
      this.db.prepare('SELECT data FROM network_endpoints WHERE container_id = ?').all(containerId) as EndpointRow[]
    ).map((r) => JSON.parse(r.data) as EndpointRecord);
  }

  /**
   * Record an endpoint and take its addresses, in one write transaction: a fixed address (`--ip`) must be free and
   * in the subnet; otherwise the first free one of the IP range (or subnet) is taken. A container already on the
   * network is a CONFLICT, in dockerd's words.
   */
  addEndpoint(
    net: NetworkRecord,
    ep: Omit<EndpointRecord, 'ip4' | 'ip6' | 'networkId'> & { ip4?: string | undefined; ip6?: string | undefined },
  ): EndpointRecord {
    return this.db.immediate(() => {
      const existing = this.db
        .prepare('SELECT 1 FROM network_endpoints WHERE network_id = ? AND container_id = ?')
        .get(net.id, ep.containerId);
      if (existing)
        throw new WharfError(
          'CONFLICT',
          `endpoint with name ${ep.names[0] ?? ep.containerId} already exists in network ${net.name}`,
        );
      const taken = this.endpoints(net.id);
      const pick = (family: 4 | 6, sub: NetworkSubnet, asked: string | undefined): string => {
        const subnet = parseCidr(sub.subnet);
        const used = new Set<string>([sub.gateway, ...taken.map((t) => (family === 4 ? t.ip4 : t.ip6) ?? '')]);
        if (asked) {
          if (!cidrContains(subnet, asked))
            throw new WharfError('INVALID_ARGUMENT', `no configured subnet contains IP address ${asked}`);
          if (used.has(asked)) throw new WharfError('CONFLICT', `Address already in use`);
          return asked;
        }
        return firstFreeAddress(subnet, used, sub.ipRange ? parseCidr(sub.ipRange) : undefined);
      };
      const rec: EndpointRecord = {
        networkId: net.id,
        containerId: ep.containerId,
        names: ep.names,
        aliases: ep.aliases,
        ip4: pick(4, net.ipv4, ep.ip4),
        ...(net.ipv6 ? { ip6: pick(6, net.ipv6, ep.ip6) } : {}),
        ...(ep.mac ? { mac: ep.mac } : {}),
        ...(ep.ifName ? { ifName: ep.ifName } : {}),
      };
      this.db
        .prepare('INSERT INTO network_endpoints(network_id, container_id, ip4, ip6, data) VALUES (?, ?, ?, ?, ?)')
        .run(net.id, ep.containerId, rec.ip4 ?? null, rec.ip6 ?? null, JSON.stringify(rec));
      return rec;
    });
  }

  /** The endpoint with what the attach learnt (its MAC address). */
  updateEndpoint(rec: EndpointRecord): void {
    this.db
      .prepare('UPDATE network_endpoints SET data = ? WHERE network_id = ? AND container_id = ?')
      .run(JSON.stringify(rec), rec.networkId, rec.containerId);
  }

  removeEndpoint(networkId: string, containerId: string): void {
    this.db
      .prepare('DELETE FROM network_endpoints WHERE network_id = ? AND container_id = ?')
      .run(networkId, containerId);
  }
}
