import type { Command } from 'commander';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { WharfError } from '../../errors/index.js';
import {
  checkRestartWithAutoRemove,
  parseBytes,
  parseRestartPolicy,
  type CreateOptions,
} from '../../container/index.js';
import { parsePublish, type NetworkMode } from '../../network/index.js';
import { parsePlatform } from '../../oci/index.js';
import type { CliContext } from '../context.js';
import { collect } from '../engine.js';
import { checkedBy, collectCheckedBy, parseRational } from '../flag-values.js';
import { expandEnvEntries, readEnvFile } from './container-shared.js';
import { resourceFlags, toResources, type ResourceFlags } from '../resource-flags.js';
import { healthFlags, healthFromFlags, type HealthFlagValues } from './health-flags.js';
import {
  checkMacAddress,
  checkLink,
  NETWORK_ALIAS_REFUSAL,
  labelFileLines,
  parseAttach,
  parseExpose,
  parseKeyValues,
  parseLogOpts,
  parseSecurityOptFlags,
  parseSysctls,
  parseTmpfs,
  checkUseApiSocket,
  parseStorageOpts,
} from './run-flags.js';

/**
 * The options of `run` and `create` as docker CLI 28 lists them, and their mapping to the library's CreateOptions:
 * one place, shared by both verbs (containers.ts) and anything else that creates containers from docker-style flags.
 */
export interface CreateFlags extends HealthFlagValues, ResourceFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  name?: string;
  rm?: boolean;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  hostname?: string;
  label: string[];
  volume: string[];
  mount: string[];
  volumesFrom: string[];
  publish: string[];
  publishAll?: boolean;
  network?: string;
  net?: string;
  readOnly?: boolean;
  privileged?: boolean;
  capAdd: string[];
  capDrop: string[];
  memory?: string;
  cpus?: string;
  init?: boolean;
  addHost: string[];
  dns: string[];
  stopSignal?: string;
  shmSize?: string;
  pull?: string;
  quiet?: boolean;
  platform?: string;
  restart: string;
  // namespaces, security, DNS, logging and stdio (issue 12)
  ipc?: string;
  pid?: string;
  uts?: string;
  userns?: string;
  sysctl: string[];
  tmpfs: string[];
  groupAdd: string[];
  stopTimeout?: string;
  cidfile?: string;
  labelFile: string[];
  dnsSearch: string[];
  dnsOption: string[];
  macAddress?: string;
  ip?: string;
  ip6?: string;
  link: string[];
  linkLocalIp: string[];
  networkAlias: string[];
  domainname?: string;
  expose: string[];
  annotation: string[];
  attach: string[];
  securityOpt: string[];
  logDriver?: string;
  logOpt: string[];
  sigProxy?: boolean;
  detachKeys?: string;
  runtime?: string;
  storageOpt: string[];
  volumeDriver?: string;
  useApiSocket?: boolean;
}

export function createFlags(cmd: Command): Command {
  const flags = resourceFlags(cmd)
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--name <string>', 'Assign a name to the container')
    .option('--rm', 'Automatically remove the container when it exits')
    .option('-e, --env <list>', 'Set environment variables', collect, [])
    .option('--env-file <file>', 'Read in a file of environment variables', collect, [])
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-h, --hostname <string>', 'Container host name')
    .option('-l, --label <list>', 'Set meta data on a container', collect, [])
    .option('-v, --volume <list>', 'Bind mount a volume', collect, [])
    .option('--mount <mount>', 'Attach a filesystem mount to the container', collect, [])
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect, [])
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect, [])
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--network <string>', 'Connect a container to a network')
    .option('--net <string>', 'Alias of --network')
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--privileged', 'Give extended privileges to this container')
    .option('--cap-add <list>', 'Add Linux capabilities', collect, [])
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect, [])
    .option('-m, --memory <bytes>', 'Memory limit', checkedBy(parseBytes))
    .option('--cpus <decimal>', 'Number of CPUs', checkedBy(parseRational))
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect, [])
    .option('--dns <list>', 'Set custom DNS servers', collect, [])
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--shm-size <bytes>', 'Size of /dev/shm', checkedBy(parseBytes))
    .option('--pull <string>', 'Pull image before running ("always", "missing", "never")', 'missing')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--restart <string>', 'Restart policy to apply when a container exits', 'no')
    .option('-q, --quiet', 'Suppress the pull output')
    // ---- namespaces, security, DNS, logging and stdio (issue 12; run-flags.ts parses them) ----
    .option('--ipc <string>', 'IPC mode to use')
    .option('--pid <string>', 'PID namespace to use')
    .option('--uts <string>', 'UTS namespace to use')
    .option('--userns <string>', 'User namespace to use')
    .option('--sysctl <map>', 'Sysctl options', collect, [])
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect, [])
    .option('--group-add <list>', 'Add additional groups to join', collect, [])
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container')
    .option('--cidfile <string>', 'Write the container ID to the file')
    .option('--label-file <list>', 'Read in a line delimited file of labels', collect, [])
    .option('--dns-search <list>', 'Set custom DNS search domains', collect, [])
    .option('--dns-option <list>', 'Set DNS options', collect, [])
    .option('--mac-address <string>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)')
    .option('--ip <string>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('--ip6 <string>', 'IPv6 address (e.g., 2001:db8::33)')
    .option('--link <list>', 'Add link to another container', collectCheckedBy(checkLink), [])
    .option('--link-local-ip <list>', 'Container IPv4/IPv6 link-local addresses', collect, [])
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect, [])
    .option('--domainname <string>', 'Container NIS domain name')
    .option('--expose <list>', 'Expose a port or a range of ports', collect, [])
    .option('--annotation <map>', 'Add an annotation to the container (passed through to the OCI runtime)', collect, [])
    .option('-a, --attach <list>', 'Attach to STDIN, STDOUT or STDERR', collect, [])
    .option('--security-opt <list>', 'Security Options', collect, [])
    .option('--log-driver <string>', 'Logging driver for the container')
    .option('--log-opt <list>', 'Log driver options', collect, [])
    .option('--runtime <string>', 'Runtime to use for this container')
    .option('--storage-opt <list>', 'Storage driver options for the container', collect, [])
    .option('--volume-driver <string>', 'Optional volume driver for the container')
    .option('--use-api-socket', 'Bind mount Docker API socket and required auth');
  return healthFlags(flags);
}

/** Docker's warnings of a create (settings this host discards or cannot apply), on stderr before anything else. */
export function printWarnings(ctx: CliContext, warnings: readonly string[] | undefined): void {
  for (const w of warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
}

/** `run`'s own stdio flags (issue 12). */
export function runOnlyFlags(cmd: Command): Command {
  return cmd
    .option('--sig-proxy', 'Proxy received signals to the process', true)
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container');
}

export async function toCreateOptions(
  image: string,
  command: string[],
  o: CreateFlags,
): Promise<CreateOptions & { cliWarnings: string[] }> {
  const env: string[] = [];
  for (const f of o.envFile) env.push(...(await readEnvFile(f)));
  env.push(...expandEnvEntries(o.env));
  const labels: Record<string, string> = {};
  for (const l of [...(await readLabelFiles(o.labelFile)), ...o.label]) {
    const i = l.indexOf('=');
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  const network = (o.network ?? o.net ?? 'bridge') === 'default' ? 'bridge' : (o.network ?? o.net ?? 'bridge');
  // The docker CLI checks these before it calls the daemon (a bad `-p` fails `create` with 125, not 1).
  for (const p of o.publish) parsePublish(p);
  if (o.platform) parsePlatform(o.platform);
  // The docker CLI's own checks, before the engine's (validateRestartPolicy in ContainerService.create).
  const restartPolicy = parseRestartPolicy(o.restart);
  checkRestartWithAutoRemove(restartPolicy, o.rm === true);
  const healthcheck = healthFromFlags(o);
  let cpus: number | undefined;
  if (o.cpus !== undefined) {
    cpus = Number(o.cpus);
    if (o.cpus.trim() === '' || !Number.isFinite(cpus))
      throw new WharfError(
        'INVALID_ARGUMENT',
        `invalid argument "${o.cpus}" for "--cpus" flag: failed to parse ${o.cpus} as a rational number`,
      );
  }
  const { resources, warnings: cliWarnings } = toResources(o);
  return {
    resources,
    cliWarnings,
    image,
    command,
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint } : {}),
    env,
    ...(o.workdir !== undefined ? { workdir: o.workdir } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    labels,
    volumes: o.volume,
    mounts: o.mount,
    volumesFrom: o.volumesFrom,
    publish: o.publish,
    publishAll: o.publishAll === true,
    network: network as NetworkMode,
    tty: o.tty === true,
    openStdin: o.interactive === true,
    ...(o.detach ? { attachStdin: false } : {}),
    readOnly: o.readOnly === true,
    privileged: o.privileged === true,
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    ...(o.memory !== undefined ? { memory: bytesFlag('-m, --memory', o.memory) } : {}),
    ...(cpus !== undefined ? { cpus } : {}),
    init: o.init === true,
    autoRemove: o.rm === true,
    extraHosts: o.addHost,
    dns: o.dns,
    ...(o.stopSignal ? { stopSignal: o.stopSignal } : {}),
    // `--shm-size 0` is Docker's default (64 MiB).
    ...(o.shmSize && bytesFlag('--shm-size', o.shmSize) > 0 ? { shmSize: bytesFlag('--shm-size', o.shmSize) } : {}),
    restartPolicy,
    ...(healthcheck ? { healthcheck } : {}),
    ...runFlagOptions(o),
  };
}

/** A size flag (`-m`, `--shm-size`): go-units RAMInBytes with pflag's message. */
function bytesFlag(flag: string, v: string): number {
  try {
    return parseBytes(v);
  } catch {
    throw new WharfError('INVALID_ARGUMENT', `invalid argument "${v}" for "${flag}" flag: invalid size: '${v}'`);
  }
}

/** The CreateOptions of the issue-12 flags, parsed and checked as the docker CLI does (run-flags.ts). */
function runFlagOptions(o: CreateFlags): Partial<CreateOptions> {
  let stopTimeout: number | undefined;
  if (o.stopTimeout !== undefined) {
    if (!/^[+-]?\d+$/.test(o.stopTimeout))
      throw new WharfError(
        'INVALID_ARGUMENT',
        `invalid argument "${o.stopTimeout}" for "--stop-timeout" flag: strconv.ParseInt: parsing "${o.stopTimeout}": invalid syntax`,
      );
    stopTimeout = Number(o.stopTimeout);
  }
  const streams = parseAttach(o.attach, o.interactive === true);
  checkUseApiSocket(o.useApiSocket);
  return {
    ...(o.runtime !== undefined ? { runtime: o.runtime } : {}),
    storageOpt: parseStorageOpts(o.storageOpt),
    ...(o.volumeDriver ? { volumeDriver: o.volumeDriver } : {}),
    ...(o.ipc !== undefined ? { ipc: o.ipc } : {}),
    ...(o.pid !== undefined ? { pid: o.pid } : {}),
    ...(o.uts !== undefined ? { uts: o.uts } : {}),
    ...(o.userns !== undefined ? { userns: o.userns } : {}),
    sysctls: parseSysctls(o.sysctl),
    tmpfs: parseTmpfs(o.tmpfs),
    groupAdd: o.groupAdd,
    ...(stopTimeout !== undefined ? { stopTimeout } : {}),
    ...(o.cidfile ? { cidfile: o.cidfile } : {}),
    dnsSearch: o.dnsSearch,
    dnsOptions: o.dnsOption,
    ...(o.macAddress ? { macAddress: checkMacAddress(o.macAddress) } : {}),
    ...networkEndpointOptions(
      o,
      (o.network ?? o.net ?? 'bridge') === 'default' ? 'bridge' : (o.network ?? o.net ?? 'bridge'),
    ),
    ...(o.domainname !== undefined ? { domainname: o.domainname } : {}),
    expose: parseExpose(o.expose),
    annotations: parseKeyValues(o.annotation),
    securityOpt: parseSecurityOptFlags(o.securityOpt, (f) => readFileSync(f, 'utf8')),
    ...(o.logDriver !== undefined ? { logDriver: o.logDriver } : {}),
    logOpts: parseLogOpts(o.logOpt),
    // With -d nothing is attached, as the docker CLI records it.
    ...(o.detach
      ? { attachStdin: false, attachStdout: false, attachStderr: false }
      : {
          attachStdout: streams.stdout,
          attachStderr: streams.stderr,
          ...(streams.stdin ? {} : { attachStdin: false }),
        }),
  };
}

/**
 * `--ip`, `--ip6`, `--link-local-ip`, `--link` and `--network-alias`: the docker CLI passes the addresses on as
 * strings (dockerd checks them), checks each link's format as it parses the flag, and refuses aliases itself on the
 * predefined networks, where network-scoped aliases do not exist.
 */
function networkEndpointOptions(o: CreateFlags, network: string): Partial<CreateOptions> {
  if (o.networkAlias.length && ['bridge', 'host', 'none'].includes(network))
    throw new WharfError('INVALID_ARGUMENT', NETWORK_ALIAS_REFUSAL);
  return {
    ...(o.networkAlias.length ? { networkAliases: o.networkAlias } : {}),
    ...(o.ip ? { ipv4Address: o.ip } : {}),
    ...(o.ip6 ? { ipv6Address: o.ip6 } : {}),
    ...(o.linkLocalIp.length ? { linkLocalIPs: o.linkLocalIp } : {}),
    ...(o.link.length ? { links: o.link } : {}),
  };
}

/** `--label-file`: the labels of each file, in order (before the `-l` ones, which win). */
async function readLabelFiles(files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    try {
      out.push(...labelFileLines(await fsp.readFile(f, 'utf8')));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new WharfError(
        'INVALID_ARGUMENT',
        `open ${f}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
      );
    }
  }
  return out;
}

/**
 * `--cidfile`: refused when the file exists (the docker CLI's check, before anything is created); the ID is written
 * once the container exists. `exitCode` is the docker CLI's for this refusal (1 for create, 125 for run).
 */
export function checkCidfile(ctx: CliContext, file: string | undefined, exitCode: number): boolean {
  if (!file || !existsSync(file)) return true;
  ctx.stderr.write(`docker: container ID file found, make sure the other container isn't running or delete ${file}\n`);
  ctx.setExitCode(exitCode);
  return false;
}

export async function writeCidfile(file: string | undefined, id: string): Promise<void> {
  if (!file) return;
  try {
    await fsp.writeFile(file, id, { flag: 'wx' });
  } catch (err) {
    throw new WharfError('INVALID_ARGUMENT', `failed to create the container ID file: ${(err as Error).message}`);
  }
}
