import { constants, promises as fsp } from 'node:fs'; // fs.promises loads on first use, node:fs/promises at start-up
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import type { PortMapping } from './publish.js';
import { isIP, spawn } from '../util/index.js';

const CNI_VERSION = '1.0.0';
export const DEFAULT_CNI_PLUGIN_DIR = '/usr/lib/cni';

export interface BridgeNetworkOptions {
  /** CNI network name; also host-local's IPAM directory name (/var/lib/cni/networks/<name>). */
  name?: string;
  bridge?: string;
  subnet?: string;
  gateway?: string;
  /** host-local's allocation directory; keep it the same for everyone sharing the bridge. */
  ipamDataDir?: string;
  mtu?: number;
}

export type CniPluginConf = Record<string, unknown> & { type: string };

export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
}

/** CNI's result (spec 1.0): interfaces, IPs (address in CIDR form), routes, dns. */
export interface CniResult {
  cniVersion: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
}

/** The default `bridge` network's Linux bridge and subnet. */
export const DEFAULT_BRIDGE_NAME = 'wharf0';
const DEFAULT_NETWORK_NAME = 'wharf';
export const DEFAULT_SUBNET = '10.89.0.0/24';
/** host-local's gateway on the default subnet (its first address): what `--add-host name:host-gateway` means. */
export const DEFAULT_GATEWAY = '10.89.0.1';

/**
 * The default bridge network as podman and nerdctl configure it: bridge + host-local IPAM, portmap (SNAT on so that
 * 127.0.0.1 reaches published ports), and firewall.
 */
export function bridgeConflist(opts: BridgeNetworkOptions = {}): CniConflist {
  const subnet = opts.subnet ?? DEFAULT_SUBNET;
  const range: Record<string, string> = { subnet };
  if (opts.gateway) range.gateway = opts.gateway;
  const ipam: Record<string, unknown> = { type: 'host-local', ranges: [[range]], routes: [{ dst: '0.0.0.0/0' }] };
  if (opts.ipamDataDir) ipam.dataDir = opts.ipamDataDir;
  const bridge: CniPluginConf = {
    type: 'bridge',
    bridge: opts.bridge ?? DEFAULT_BRIDGE_NAME,
    isGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ipam,
  };
  if (opts.mtu) bridge.mtu = opts.mtu;
  return {
    cniVersion: CNI_VERSION,
    name: opts.name ?? DEFAULT_NETWORK_NAME,
    plugins: [
      bridge,
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'firewall', backend: 'iptables' },
    ],
  };
}

export const loopbackConf = (): CniPluginConf & { cniVersion: string; name: string } => ({
  cniVersion: CNI_VERSION,
  name: 'wharf-lo',
  type: 'loopback',
});

export interface CniRuntime {
  containerId: string;
  netns: string;
  ifName: string;
  pluginDir?: string;
  portMappings?: PortMapping[];
  /** The container interface's MAC address (`run --mac-address`), given to the bridge plugin as its runtimeConfig. */
  mac?: string;
}

/** portmap's runtimeConfig form. */
function portMappingsConf(ports: PortMapping[]): Array<Record<string, unknown>> {
  // A port published on an IPv6 address is the relay's alone (network/port-proxy.ts): portmap cannot DNAT it.
  return ports
    .filter((p) => isIP(p.hostIP) !== 6)
    .map((p) => {
      const m: Record<string, unknown> = { hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol };
      if (p.hostIP && p.hostIP !== '0.0.0.0') m.hostIP = p.hostIP;
      return m;
    });
}

/** Run one plugin binary the way libcni does: command and ids in the environment, its config on stdin. */
export async function invokePlugin(
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION',
  conf: Record<string, unknown> & { type: string },
  rt: CniRuntime,
): Promise<CniResult | undefined> {
  const dir = rt.pluginDir ?? DEFAULT_CNI_PLUGIN_DIR;
  const binary = path.join(dir, conf.type);
  try {
    await fsp.access(binary, constants.X_OK);
  } catch {
    throw new WharfError(
      'UNAVAILABLE',
      `CNI plugin ${conf.type} not found in ${dir} (install containernetworking-plugins)`,
    );
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerId,
    CNI_NETNS: rt.netns,
    CNI_IFNAME: rt.ifName,
    CNI_PATH: dir,
  };
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c ?? 1, stdout: out, stderr: err }));
      child.stdin.on('error', () => {});
      child.stdin.end(JSON.stringify(conf));
    },
  );
  if (code !== 0) {
    let msg = stderr.trim() || stdout.trim();
    try {
      const e = JSON.parse(stdout) as { msg?: string; details?: string };
      msg = [e.msg, e.details].filter(Boolean).join(': ') || msg;
    } catch {
      /* not the JSON error form */
    }
    throw new WharfError('INTERNAL', `CNI ${conf.type} ${command} for ${rt.containerId}: ${msg}`, {
      details: { plugin: conf.type, command },
    });
  }
  if (command === 'DEL' || stdout.trim() === '') return undefined;
  return JSON.parse(stdout) as CniResult;
}

function pluginConf(
  list: CniConflist,
  plugin: CniPluginConf,
  rt: CniRuntime,
  prevResult?: CniResult,
): Record<string, unknown> & { type: string } {
  const conf: Record<string, unknown> & { type: string } = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const caps = plugin.capabilities as Record<string, boolean> | undefined;
  if (caps?.portMappings) {
    delete conf.capabilities;
    conf.runtimeConfig = { portMappings: portMappingsConf(rt.portMappings ?? []) };
  }
  if (plugin.type === 'bridge' && rt.mac) conf.runtimeConfig = { mac: rt.mac };
  // portmap publishes on each family the container has an address of; IPv6 is the relay's (port-proxy.ts), which
  // also serves [::1] (no DNAT can send IPv6 loopback traffic to another host address): portmap sees IPv4 only.
  if (prevResult && plugin.type === 'portmap')
    conf.prevResult = { ...prevResult, ips: (prevResult.ips ?? []).filter((i) => !i.address.includes(':')) };
  else if (prevResult) conf.prevResult = prevResult;
  return conf;
}

/** ADD through the chain, each plugin given the previous one's result. On failure, what was added is deleted. */
export async function addNetworkList(list: CniConflist, rt: CniRuntime): Promise<CniResult> {
  let prev: CniResult | undefined;
  const done: CniPluginConf[] = [];
  try {
    for (const plugin of list.plugins) {
      const res = await invokePlugin('ADD', pluginConf(list, plugin, rt, prev), rt);
      done.push(plugin);
      if (res) prev = res;
    }
  } catch (err) {
    await delNetworkList({ ...list, plugins: done }, rt, prev).catch(() => {});
    throw err;
  }
  if (!prev) throw new WharfError('INTERNAL', `CNI network ${list.name} returned no result`);
  return prev;
}

/** DEL through the chain in reverse; every plugin is tried, the first error is thrown at the end. */
export async function delNetworkList(list: CniConflist, rt: CniRuntime, prevResult?: CniResult): Promise<void> {
  let first: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await invokePlugin('DEL', pluginConf(list, plugin, rt, prevResult), rt);
    } catch (err) {
      first ??= err;
    }
  }
  if (first) throw first;
}
