import { mkdirSync, promises as fsp, readFileSync, statSync, writeFileSync } from 'node:fs';
import type * as Os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable, Writable } from 'node:stream';
import { WharfError, is } from '../errors/index.js';
import type { MetaDb } from '../meta/index.js';
import type { Snapshotter } from '../snapshot/index.js';
import { DISPOSABLE_SNAPSHOT_LABEL, isMountPoint, mountAll, unmount, volatileMounts } from '../snapshot/index.js';
import type { ImageService } from '../image/index.js';
import type { ContainerConfig } from '../oci/index.js';
import { resolveInRoot, resolveInRootSync, tarDirectory, type Change } from '../archive/index.js';
import type { ImageRecord } from '../image/index.js';
import { commitImage, type CommitOptions } from './commit.js';
import { copyFromContainer, copyToContainer } from './cp.js';
import { applyChanges } from '../image/index.js';
import { pipeline } from 'node:stream/promises';
import {
  Runc,
  buildExecProcess,
  ALL_CAPABILITIES,
  buildSpec,
  findInitBinary,
  isMonitorAlive,
  mergeEnv,
  readLogs,
  readState,
  resolveArgs,
  startExec,
  startMonitor,
  stopContainer,
  waitExit,
  type AttachOptions,
  type AttachSession,
  type ExecHandle,
  type LogEntry,
  type MonitorState,
  type MountRequest,
  type OciSpec,
  type ReadLogsOptions,
} from '../runtime/index.js';
import {
  exposedPortMappings,
  networkAttachment,
  parseAddHost,
  parsePublish,
  setupNetwork,
  teardownNetwork,
  type NetworkMode,
  type PortMapping,
} from '../network/index.js';
import { lazyBuiltin, pidAlive, removeTreeSync, replaceFileSync, spawn, trace } from '../util/index.js';
import { populateInitLayer } from './init-layer.js';
import { parseMountFlag, parseVolumeFlag, type MountSpec } from './mount-spec.js';
import { newContainerId, randomName, validateName } from './names.js';
import { containerPaths, initKeyOf, monitorEntry, sharedInitKeyOf, snapshotKeyOf, wharfBin, type ContainerPaths } from './paths.js';
import { ContainerRecords } from './records.js';
import type { ContainerRecord, ContainerView, HostConfig, MountPoint } from './types.js';
import type { VolumeService } from './volumes.js';

const os = lazyBuiltin<typeof Os>('node:os'); // on first use: node:os costs ~1 ms of start-up

export interface CreateOptions {
  /** Image name or ID. */
  image: string;
  name?: string;
  /** COMMAND ARG… after the image. */
  command?: string[];
  /** `--entrypoint`; '' clears the image's. */
  entrypoint?: string;
  env?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  labels?: Record<string, string>;
  /** `-v` specs. */
  volumes?: string[];
  /** `--mount` specs. */
  mounts?: string[];
  volumesFrom?: string[];
  /** `-p` specs. */
  publish?: string[];
  publishAll?: boolean;
  network?: NetworkMode;
  tty?: boolean;
  openStdin?: boolean;
  readOnly?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  /** Bytes. */
  memory?: number;
  cpus?: number;
  init?: boolean;
  autoRemove?: boolean;
  extraHosts?: string[];
  dns?: string[];
  stopSignal?: string;
  shmSize?: number;
}

export interface StartOptions {
  /** Attach these streams before the process starts (`run` without -d, `start -a`). */
  attach?: AttachOptions;
  consoleSize?: { cols: number; rows: number };
}

export interface ContainerServiceOptions {
  root: string;
  runRoot: string;
  db: MetaDb;
  images: ImageService;
  snapshots: Snapshotter;
  volumes: VolumeService;
}

const DEFAULT_STOP_TIMEOUT = 10;
const MONITOR_GONE = 'the container monitor is gone';

const isoNow = (): string => new Date().toISOString();

/**
 * Containers: an image's layers plus one writable overlay layer, run by runc under a per-container monitor that
 * outlives the CLI. The record in the database is the truth for what was asked; the monitor's state file and runc
 * are the truth for whether it runs.
 */
export class ContainerService {
  readonly records: ContainerRecords;
  readonly runc: Runc;
  readonly root: string;
  readonly runRoot: string;
  private readonly images: ImageService;
  private readonly snapshots: Snapshotter;
  readonly volumes: VolumeService;

  constructor(opts: ContainerServiceOptions) {
    this.root = opts.root;
    this.runRoot = opts.runRoot;
    this.images = opts.images;
    this.snapshots = opts.snapshots;
    this.volumes = opts.volumes;
    this.records = new ContainerRecords(opts.db);
    this.runc = new Runc({ root: path.join(opts.runRoot, 'runc') });
    opts.volumes.users = (name) =>
      this.records
        .all()
        .filter((c) => c.mounts.some((m) => m.Type === 'volume' && m.Name === name))
        .map((c) => c.id);
  }

  paths(id: string): ContainerPaths {
    return containerPaths(this.root, this.runRoot, id);
  }

  // ---- lookup

  /** A full ID, a unique ID prefix, or a name (with or without the leading slash). */
  resolve(idOrName: string): ContainerRecord {
    const found = this.tryResolve(idOrName);
    if (!found) throw new WharfError('NOT_FOUND', `No such container: ${idOrName}`);
    return found;
  }

  tryResolve(idOrName: string): ContainerRecord | undefined {
    if (idOrName === '') return undefined;
    const byId = this.records.get(idOrName);
    if (byId) return byId;
    const byName = this.records.byName(idOrName.replace(/^\//, ''));
    if (byName) return byName;
    const matches = this.records.byPrefix(idOrName);
    if (matches.length > 1) throw new WharfError('INVALID_ARGUMENT', `multiple IDs found with provided prefix: ${idOrName}`);
    return matches[0];
  }

  /** Containers using an image (for rmi's refusal). Synchronous: the image service asks while deciding. */
  usersOf(imageId: string): Array<{ id: string; running: boolean }> {
    return this.records.usersOf(imageId).map((c) => ({ id: c.id, running: c.state.status === 'running' }));
  }

  /** Snapshot keys that belong to containers (for `system check`). */
  ownedSnapshots(): Set<string> {
    const out = new Set<string>();
    for (const c of this.records.all()) {
      out.add(snapshotKeyOf(c.id));
      out.add(initKeyOf(c.id));
    }
    return out;
  }

  /** The record with its state checked against the monitor and runc. */
  async view(rec: ContainerRecord): Promise<ContainerView> {
    const base = rec.state;
    if (base.status !== 'running') {
      return { ...rec, status: base.status, running: false };
    }
    const ms = await readState(this.paths(rec.id).stateDir);
    if (ms && ms.status !== 'exited') {
      return { ...rec, state: { ...base, pid: ms.pid ?? base.pid }, status: base.paused ? 'paused' : 'running', running: true };
    }
    if (!ms || lostMonitor(ms)) {
      // The monitor was killed: runc still knows whether the process lives.
      const rs = await this.runc.tryState(rec.id).catch(() => undefined);
      if (rs && (rs.status === 'running' || rs.status === 'paused' || rs.status === 'created')) {
        return { ...rec, state: { ...base, pid: rs.pid }, status: rs.status === 'paused' ? 'paused' : 'running', running: true };
      }
      return {
        ...rec,
        state: { ...base, status: 'exited', paused: false, exitCode: ms?.exitCode ?? 255, finishedAt: ms?.finishedAt ?? base.finishedAt },
        status: 'exited',
        running: false,
      };
    }
    return { ...rec, state: stateFromMonitor(base, ms), status: ms.error && !startedOk(ms) ? 'created' : 'exited', running: false };
  }

  async get(idOrName: string): Promise<ContainerView> {
    return this.view(this.resolve(idOrName));
  }

  async list(): Promise<ContainerView[]> {
    return Promise.all(this.records.all().map((r) => this.view(r)));
  }

  // ---- create

  async create(opts: CreateOptions): Promise<ContainerRecord> {
    trace('create');
    const img = this.images.resolve(opts.image);
    const { config: imageConfig } = await this.images.config(img.id);
    const ic: ContainerConfig = imageConfig.config ?? {};

    // Everything that can be wrong with the request is found before anything is created.
    const name = opts.name !== undefined && opts.name !== '' ? validateName(opts.name) : undefined;
    if (name) {
      const taken = this.records.byName(name);
      if (taken) {
        throw new WharfError('CONFLICT', `Conflict. The container name "/${name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
    }
    const network: NetworkMode = opts.network ?? 'bridge';
    if (!['bridge', 'host', 'none'].includes(network)) {
      throw new WharfError('INVALID_ARGUMENT', `network ${network} not found`);
    }
    const ports: PortMapping[] = (opts.publish ?? []).flatMap((p) => parsePublish(p));
    const specs: MountSpec[] = [...(opts.volumes ?? []).map(parseVolumeFlag), ...(opts.mounts ?? []).map(parseMountFlag)];
    const dests = new Set<string>();
    for (const s of specs) {
      if (dests.has(s.destination)) throw new WharfError('INVALID_ARGUMENT', `Duplicate mount point: ${s.destination}`);
      dests.add(s.destination);
    }
    for (const h of opts.extraHosts ?? []) parseAddHost(h, '10.89.0.1');
    const entrypoint = opts.entrypoint === undefined ? undefined : opts.entrypoint === '' ? [] : [opts.entrypoint];
    const argv = resolveArgs(ic, { command: opts.command, entrypoint });
    const from = (opts.volumesFrom ?? []).map((spec) => {
      const [ref, mode] = spec.split(':');
      if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw new WharfError('INVALID_ARGUMENT', `invalid --volumes-from mode: ${spec}`);
      return { src: this.resolve(ref!), readOnly: mode === 'ro' ? true : mode === 'rw' ? false : undefined };
    });
    if (opts.init && !(await findInitBinary())) {
      throw new WharfError('UNAVAILABLE', '--init: no docker-init (tini) binary on this host; install the tini package');
    }

    const id = newContainerId();
    const finalName = name ?? randomName((n) => this.records.byName(n) !== undefined);
    const hostname = opts.hostname || (network === 'host' ? os().hostname() : id.slice(0, 12));
    const userEnv = (opts.env ?? []).filter((e) => e.includes('=') || process.env[e] !== undefined).map((e) => (e.includes('=') ? e : `${e}=${process.env[e]}`));
    const exposed: Record<string, object> = { ...(ic.ExposedPorts ?? {}) };
    for (const p of ports) exposed[`${p.containerPort}/${p.protocol}`] = {};
    const config: ContainerConfig = {
      Hostname: hostname,
      Domainname: '',
      User: opts.user ?? ic.User ?? '',
      AttachStdin: opts.openStdin === true,
      AttachStdout: true,
      AttachStderr: true,
      ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
      Tty: opts.tty === true,
      OpenStdin: opts.openStdin === true,
      StdinOnce: opts.openStdin === true,
      Env: mergeEnv(ic.Env ?? [], userEnv),
      Cmd: opts.command && opts.command.length > 0 ? opts.command : entrypoint !== undefined ? [] : (ic.Cmd ?? null),
      Image: opts.image,
      Volumes: ic.Volumes ?? undefined,
      WorkingDir: opts.workdir ?? ic.WorkingDir ?? '',
      Entrypoint: entrypoint ?? ic.Entrypoint ?? null,
      OnBuild: ic.OnBuild ?? null,
      Labels: { ...(ic.Labels ?? {}), ...(opts.labels ?? {}) },
      ...(opts.stopSignal || ic.StopSignal ? { StopSignal: opts.stopSignal || ic.StopSignal } : {}),
    };
    const hostConfig: HostConfig = {
      Binds: opts.volumes ?? [],
      NetworkMode: network,
      PortBindings: ports,
      PublishAllPorts: opts.publishAll === true,
      AutoRemove: opts.autoRemove === true,
      Privileged: opts.privileged === true,
      ReadonlyRootfs: opts.readOnly === true,
      CapAdd: opts.capAdd ?? [],
      CapDrop: opts.capDrop ?? [],
      Memory: opts.memory ?? 0,
      NanoCpus: opts.cpus ? Math.round(opts.cpus * 1e9) : 0,
      Init: opts.init === true,
      VolumesFrom: opts.volumesFrom ?? [],
      ExtraHosts: opts.extraHosts ?? [],
      Dns: opts.dns ?? [],
      ShmSize: opts.shmSize ?? 64 * 1024 * 1024,
    };

    const p = this.paths(id);
    const createdVolumes: string[] = [];
    let prepared = false;
    try {
      // Mounts: explicit ones, then --volumes-from, then anonymous volumes for the image's VOLUMEs not covered.
      const mounts: MountPoint[] = [];
      for (const s of specs) mounts.push(await this.#mountPoint(s, createdVolumes));
      for (const f of from) {
        for (const m of f.src.mounts) {
          if (dests.has(m.Destination)) continue;
          dests.add(m.Destination);
          const rw = f.readOnly === undefined ? m.RW : !f.readOnly;
          mounts.push({ ...m, RW: rw, Anonymous: false, Mode: rw ? m.Mode : 'ro' });
        }
      }
      for (const v of Object.keys(ic.Volumes ?? {})) {
        const dest = path.posix.normalize(v);
        if (dests.has(dest)) continue;
        dests.add(dest);
        mounts.push(await this.#mountPoint({ kind: 'volume', destination: dest, readOnly: false, noCopy: false, mode: '' }, createdVolumes));
      }

      await this.#prepareLayers(id, img.topChain ?? undefined, p, hostConfig.Init);
      prepared = true;
      const rec: ContainerRecord = {
        id,
        name: finalName,
        imageId: img.id,
        imageName: opts.image,
        created: isoNow(),
        config,
        hostConfig,
        path: argv[0]!,
        args: argv.slice(1),
        mounts,
        state: { status: 'created', exitCode: 0 },
        restartCount: 0,
      };
      this.records.insert(rec);
      trace('created');
      return rec;
    } catch (err) {
      if (prepared) await this.#removeLayers(id, p).catch(() => {});
      for (const v of createdVolumes) await this.volumes.remove(v, { force: true }).catch(() => {});
      throw err;
    }
  }

  async #mountPoint(s: MountSpec, created: string[]): Promise<MountPoint> {
    if (s.kind === 'bind') {
      const st = await fsp.stat(s.source).catch(() => undefined);
      if (!st) {
        if (!s.createSource) throw new WharfError('INVALID_ARGUMENT', `invalid mount config for type "bind": bind source path does not exist: ${s.source}`);
        await fsp.mkdir(s.source, { recursive: true });
      }
      return { Type: 'bind', Source: s.source, Destination: s.destination, RW: !s.readOnly, Mode: s.mode, Propagation: s.propagation ?? 'rprivate' };
    }
    if (s.kind === 'tmpfs') {
      return { Type: 'tmpfs', Source: '', Destination: s.destination, RW: true, Mode: '', Propagation: '', ...(s.size ? { TmpfsSize: s.size } : {}) };
    }
    const existed = s.name !== undefined && this.volumes.get(s.name) !== undefined;
    const v = await this.volumes.create({ ...(s.name ? { name: s.name } : {}), anonymous: s.name === undefined });
    if (!existed) created.push(v.name);
    if (s.noCopy && !v.seeded) this.volumes.db.prepare('UPDATE volumes SET seeded = 1 WHERE name = ?').run(v.name);
    return {
      Type: 'volume',
      Name: v.name,
      Source: this.volumes.dataDir(v.name),
      Destination: s.destination,
      RW: !s.readOnly,
      Mode: s.mode || 'z',
      Propagation: '',
      ...(s.name === undefined ? { Anonymous: true } : {}),
    };
  }

  /** The image's init layer (hidden from diff/commit), then the container's writable layer on it. */
  async #prepareLayers(id: string, parent: string | undefined, p: ContainerPaths, withInit: boolean): Promise<void> {
    mkdirSync(p.rootfs, { recursive: true, mode: 0o711 });
    const initKey = await this.#sharedInitLayer(id, parent, withInit, p.rootfs);
    await this.snapshots.prepare(snapshotKeyOf(id), initKey, { labels: { 'wharf.container': id } });
  }

  /**
   * Docker makes an init layer per container; its content depends only on the image, so Wharf makes it once per
   * image top layer and every later container starts on it (a mount, a populate and a commit fewer per `run`). It is
   * labelled disposable: removing the image's layer removes it too (LayerStore.release).
   */
  async #sharedInitLayer(id: string, parent: string | undefined, withInit: boolean, scratchMount: string): Promise<string> {
    const key = sharedInitKeyOf(parent, withInit);
    if ((await this.snapshots.stat(key))?.kind === 'committed') return key;
    const staging = `${key}-prep-${id}`;
    const mounts = await this.snapshots.prepare(staging, parent, { labels: { 'wharf.container': id } });
    try {
      // Volatile: the init layer is a handful of empty files, not worth a sync of the whole upper filesystem.
      await mountAll(volatileMounts(mounts), scratchMount);
      try {
        await populateInitLayer(scratchMount, withInit ? ['/sbin/docker-init'] : []);
      } finally {
        await unmount(scratchMount);
      }
      await this.snapshots.commit(key, staging, { labels: { [DISPOSABLE_SNAPSHOT_LABEL]: 'init' } });
    } catch (err) {
      await this.snapshots.remove(staging).catch(() => {});
      // A concurrent create made the same layer first: use it.
      if (is(err, 'ALREADY_EXISTS') && (await this.snapshots.stat(key))?.kind === 'committed') return key;
      throw err;
    }
    return key;
  }

  async #removeLayers(id: string, p: ContainerPaths): Promise<void> {
    if (await isMountPoint(p.rootfs).catch(() => false)) await unmountHard(p.rootfs);
    // The writable layer (any size: deleted asynchronously) and a pre-sharing init layer, while the bundle directory
    // goes synchronously: a handful of small files, the thread pool's trips would cost more. Its log can be any
    // size (freeing a big file's blocks takes a while): a big one is unlinked asynchronously first.
    const keys = [snapshotKeyOf(id)];
    if (await this.snapshots.stat(initKeyOf(id))) keys.push(initKeyOf(id));
    const layers = keys.map((key) =>
      this.snapshots.remove(key).catch((err: unknown) => {
        if (!is(err, 'NOT_FOUND')) throw err;
      }),
    );
    const removing = Promise.all(layers);
    try {
      if (fileSizeOr(p.log, 0) < 1 << 20) removeTreeSync(p.log);
      else await fsp.rm(p.log, { force: true });
      removeTreeSync(p.dir);
    } finally {
      await removing;
    }
  }

  // ---- start

  async #ensureMounted(rec: ContainerRecord): Promise<string> {
    const p = this.paths(rec.id);
    mkdirSync(p.rootfs, { recursive: true, mode: 0o711 });
    if (!(await isMountPoint(p.rootfs))) {
      const mounts = await this.snapshots.mounts(snapshotKeyOf(rec.id));
      // An --rm container's writable layer is thrown away with it: no sync at unmount (podman does the same).
      await mountAll(rec.hostConfig.AutoRemove ? volatileMounts(mounts) : mounts, p.rootfs);
    }
    return p.rootfs;
  }

  /** Start a created or exited container; with `attach`, the session streams its stdio. */
  async start(idOrName: string, opts: StartOptions = {}): Promise<{ record: ContainerRecord; session?: AttachSession; monitorPid?: number }> {
    trace('start');
    const found = await this.get(idOrName);
    if (found.running) {
      if (found.status === 'paused') throw new WharfError('CONFLICT', `cannot start a paused container, try unpause instead`);
      return { record: found };
    }
    // A previous run whose cleanup did not happen (monitor killed) is cleaned first. A container that never got as
    // far as its network (the first start of a fresh `run`) has nothing to clean.
    if (await this.#monitorCleaningUp(found.id)) await this.#waitCleaned(found.id, 30_000).catch(() => {});
    if (found.state.status !== 'created' || found.network) await this.cleanup(found.id, { keep: true });
    const rec = this.resolve(found.id);
    const p = this.paths(rec.id);
    const hc = rec.hostConfig;
    try {
      const rootfs = await this.#ensureMounted(rec);
      for (const m of rec.mounts) {
        if (m.Type !== 'volume' || !m.Name) continue;
        const v = this.volumes.get(m.Name);
        if (!v) throw new WharfError('NOT_FOUND', `volume ${m.Name} of container ${rec.id.slice(0, 12)} is gone`);
        if (!v.seeded) await this.volumes.seed(m.Name, await resolveInRoot(rootfs, m.Destination));
      }
      // Small files, read synchronously: two async reads took ~6 ms of every start in thread-pool trips.
      const passwd = readTextInRoot(rootfs, '/etc/passwd');
      const group = readTextInRoot(rootfs, '/etc/group');

      const ports = [...hc.PortBindings];
      if (hc.PublishAllPorts) {
        const bound = new Set(ports.map((m) => `${m.containerPort}/${m.protocol}`));
        ports.push(...exposedPortMappings(rec.config.ExposedPorts).filter((m) => !bound.has(`${m.containerPort}/${m.protocol}`)));
      }
      const extraHosts = hc.ExtraHosts.map((h) => parseAddHost(h, '10.89.0.1'));
      const net = await setupNetwork({
        id: rec.id,
        mode: hc.NetworkMode,
        ports,
        hostname: rec.config.Hostname ?? rec.id.slice(0, 12),
        extraHosts,
        ...(hc.Dns.length ? { dns: { dns: hc.Dns } } : {}),
      });
      // A bridge network holds host resources (netns, veth, iptables rules): recorded at once, so that a crash from
      // here on still releases them. Other modes hold none and are recorded with the start's claim below.
      if (net.mode === 'bridge') {
        this.records.update(rec.id, (r) => {
          r.network = net;
        });
      }
      // The container's name resolves to itself too, as on Docker's user-defined networks.
      const hostname = rec.config.Hostname ?? rec.id.slice(0, 12);
      const hosts = net.ip && rec.name !== hostname ? `${net.hosts}${net.ip}\t${rec.name}\n` : net.hosts;
      // Three small files: written synchronously, each async write would be four trips through the thread pool.
      writeFileSync(p.hosts, hosts);
      writeFileSync(p.resolvConf, net.resolvConf);
      writeFileSync(p.hostname, `${rec.config.Hostname}\n`);

      const init = hc.Init ? await findInitBinary() : undefined;
      const mounts: MountRequest[] = [...rec.mounts]
        .sort((a, b) => a.Destination.split('/').length - b.Destination.split('/').length)
        .map((m): MountRequest =>
          m.Type === 'tmpfs'
            ? { type: 'tmpfs', destination: m.Destination, ...(m.TmpfsSize ? { size: m.TmpfsSize } : {}) }
            : {
                type: 'bind',
                source: m.Source,
                destination: m.Destination,
                readOnly: !m.RW,
                ...(m.Type === 'bind' && m.Propagation ? { propagation: m.Propagation as 'rprivate' } : {}),
              },
        );
      const tty = rec.config.Tty === true;
      const spec = buildSpec(
        { User: rec.config.User, Env: rec.config.Env ?? [], Cmd: [rec.path, ...rec.args], Entrypoint: null, WorkingDir: rec.config.WorkingDir },
        {
          rootfs: 'rootfs',
          hostname: rec.config.Hostname ?? rec.id.slice(0, 12),
          tty,
          ...(tty && opts.consoleSize ? { consoleSize: { width: opts.consoleSize.cols, height: opts.consoleSize.rows } } : {}),
          passwd,
          group,
          readOnly: hc.ReadonlyRootfs,
          mounts,
          etcFiles: { hosts: p.hosts, resolvConf: p.resolvConf, hostname: p.hostname },
          capAdd: hc.CapAdd,
          capDrop: hc.CapDrop,
          privileged: hc.Privileged,
          ...(hc.Memory ? { memory: hc.Memory } : {}),
          ...(hc.NanoCpus ? { cpus: hc.NanoCpus / 1e9 } : {}),
          shmSize: hc.ShmSize,
          network: networkAttachment(net),
          ...(init ? { init } : {}),
          cgroupsPath: `/wharf/${rec.id}/ctr`,
          annotations: { 'org.wharf.container.name': rec.name },
        },
      );
      limitToBoundingSet(spec, hostBoundingSet());
      // Written again at every start: no fsync on the start's critical path, and synchronously (a few KB).
      replaceFileSync(p.config, JSON.stringify(spec, null, 2), 0o644);
      // Claim "running" before the monitor exists: its cleanup, however fast, then always lands after this.
      this.records.update(rec.id, (r) => {
        r.network = net;
        r.state = { status: 'running', exitCode: 0, startedAt: isoNow(), paused: false };
      });
      removeTreeSync(p.stateDir); // a few small files of the previous run
      trace('spec written');
      let started;
      try {
        started = await startMonitor({
          id: rec.id,
          bundle: p.dir,
          runcRoot: this.runc.root,
          stateDir: p.stateDir,
          logPath: p.log,
          tty,
          openStdin: rec.config.OpenStdin === true,
          ...(opts.consoleSize ? { consoleSize: opts.consoleSize } : {}),
          watchOom: hc.Memory > 0,
          cleanup: [process.execPath, wharfBin(), '--root', this.root, 'container', 'cleanup', rec.id],
          entry: monitorEntry(),
          // The attached client is waiting anyway and has the engine loaded: it cleans up after the exit.
          ...(opts.attach ? { attach: { ...opts.attach, claimCleanup: true } } : {}),
        });
      } catch (err) {
        // The monitor records the failure and runs the cleanup itself; wait for it so that nothing runs twice.
        await waitExit(p.stateDir, 30_000).catch(() => undefined);
        await this.cleanup(rec.id, { keep: true }).catch(() => {});
        if (rec.hostConfig.AutoRemove) await this.remove(rec.id, { force: true, volumes: true }).catch(() => {});
        throw err;
      }
      const record = this.records.update(rec.id, (r) => {
        if (r.state.status === 'running' && !r.state.finishedAt) {
          r.state.monitorPid = started.monitorPid;
          if (started.containerPid) r.state.pid = started.containerPid;
          if (started.state.startedAt) r.state.startedAt = started.state.startedAt;
        }
      });
      trace('started');
      const session = started.session ? this.#cleanupAfter(rec.id, started.session) : undefined;
      return { record, monitorPid: started.monitorPid, ...(session ? { session } : {}) };
    } catch (err) {
      // Undo a half-done start (mount, network) unless a monitor is alive and will do it itself.
      const cur = this.records.get(rec.id);
      if (cur && !(await this.#monitorAlive(cur))) await this.cleanup(rec.id, { keep: true, error: (err as Error).message }).catch(() => {});
      throw err;
    }
  }

  /** A session whose exit resolves once this process did the cleanup the monitor delegated to it. */
  #cleanupAfter(id: string, session: AttachSession): AttachSession {
    const exit = session.exit.then(async (r) => {
      if (!r.cleanupDelegated) return r;
      try {
        trace('exit seen');
        await this.cleanup(id);
        trace('cleaned up');
        return r;
      } catch (err) {
        return { ...r, cleanupError: (err as Error).message };
      }
    });
    return { ...session, exit };
  }

  async #monitorAlive(rec: ContainerRecord): Promise<boolean> {
    const ms = await readState(this.paths(rec.id).stateDir);
    return ms !== undefined && ms.status !== 'exited';
  }

  /**
   * After the container exited (run by the monitor as its cleanup command, or inline when the monitor is gone):
   * record the exit, unmount the rootfs, release the network; remove an `--rm` container. Idempotent.
   */
  async cleanup(id: string, opts: { keep?: boolean; error?: string } = {}): Promise<void> {
    const rec = this.records.get(id);
    if (!rec) return;
    const p = this.paths(id);
    const ms = await readState(p.stateDir);
    if (rec.state.status === 'running') {
      if (ms && ms.status !== 'exited') return; // still running: nothing to clean
      if (!ms || ms.monitorLost) {
        const rs = await this.runc.tryState(id).catch(() => undefined);
        if (rs && rs.status !== 'stopped') return; // monitor gone but the process lives: stop/kill handles it
      }
    }
    await this.runc.delete(id, { force: true }).catch(() => {});
    if (await isMountPoint(p.rootfs).catch(() => false)) await unmountHard(p.rootfs);
    let netErr: unknown;
    if (rec.network || rec.state.status === 'running') {
      try {
        await teardownNetwork(id, rec.network);
      } catch (err) {
        netErr = err;
      }
    }
    const updated = this.records.update(id, (r) => {
      if (r.state.status === 'running') {
        r.state = ms ? stateFromMonitor(r.state, ms) : { ...r.state, status: 'exited', exitCode: 255, finishedAt: isoNow() };
        if (opts.error && !ms) r.state.error = opts.error;
      }
      r.state.paused = false;
      if (!netErr) delete r.network;
    });
    if (updated.hostConfig.AutoRemove && !opts.keep) {
      // A monitor that handed its cleanup to this process wrote everything before it said so: nothing to wait for.
      const handedOver = ms?.cleanupBy === process.pid;
      await this.remove(id, { force: true, volumes: true, fromMonitor: true, ...(ms && !handedOver ? { monitorPid: ms.monitorPid } : {}) });
    }
    if (netErr) throw netErr;
  }

  // ---- stop, kill, wait, pause

  async stop(idOrName: string, opts: { timeoutSec?: number; signal?: string } = {}): Promise<ContainerRecord> {
    const v = await this.get(idOrName);
    if (!v.running) return v;
    const timeoutSec = opts.timeoutSec ?? DEFAULT_STOP_TIMEOUT;
    const signal = normalizeSignal(opts.signal ?? v.config.StopSignal ?? 'SIGTERM');
    const p = this.paths(v.id);
    if (await this.#monitorAlive(v)) {
      await stopContainer({ runc: this.runc, id: v.id, stateDir: p.stateDir, signal, timeoutSec });
      // The cleanup runs as a separate process; the record says exited once it finished.
      await this.#waitCleaned(v.id, 30_000);
    } else {
      await this.#stopWithoutMonitor(v.id, signal, timeoutSec);
    }
    return this.records.get(v.id) ?? v;
  }

  /** The container exited and its (live) monitor has not finished the after-exit cleanup yet. */
  async #monitorCleaningUp(id: string): Promise<boolean> {
    if (this.records.get(id)?.state.status !== 'running') return false;
    const stateDir = this.paths(id).stateDir;
    const ms = await readState(stateDir);
    return ms?.status === 'exited' && !ms.cleanedUp && isMonitorAlive(ms.monitorPid, stateDir);
  }

  async #waitCleaned(id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.records.get(id);
      if (!r || r.state.status !== 'running') return;
      const ms = await readState(this.paths(id).stateDir);
      const delegatedToLiveClient = ms?.cleanupBy !== undefined && ms.cleanupBy !== process.pid && pidAlive(ms.cleanupBy);
      if (ms?.status === 'exited' && !delegatedToLiveClient && (ms.cleanedUp || !isMonitorAlive(ms.monitorPid, this.paths(id).stateDir))) {
        // The cleanup command failed or never ran: do it here.
        await this.cleanup(id);
        return;
      }
      if (Date.now() > deadline) throw new WharfError('UNAVAILABLE', `container ${id.slice(0, 12)} did not finish its cleanup`);
      await sleep(20);
    }
  }

  async #stopWithoutMonitor(id: string, signal: string, timeoutSec: number): Promise<void> {
    const gone = async (): Promise<boolean> => {
      const rs = await this.runc.tryState(id).catch(() => undefined);
      return !rs || rs.status === 'stopped';
    };
    const send = async (sig: string): Promise<void> => {
      await this.runc.kill(id, sig).catch(() => {});
      const rs = await this.runc.tryState(id).catch(() => undefined);
      if (rs?.status === 'paused') await this.runc.resume(id).catch(() => {});
    };
    if (timeoutSec !== 0) {
      await send(signal);
      const until = Date.now() + (timeoutSec < 0 ? 3_600_000 : timeoutSec * 1000);
      while (Date.now() < until && !(await gone())) await sleep(50);
    }
    if (!(await gone())) {
      await send('SIGKILL');
      for (let i = 0; i < 200 && !(await gone()); i++) await sleep(50);
    }
    await this.cleanup(id);
  }

  async kill(idOrName: string, signal = 'SIGKILL'): Promise<void> {
    const v = await this.get(idOrName);
    if (!v.running) throw new WharfError('CONFLICT', `Cannot kill container: ${idOrName}: Container ${v.id} is not running`);
    await this.runc.kill(v.id, normalizeSignal(signal));
  }

  /** `wait`: block until the container is not running; its exit code. */
  async wait(idOrName: string, opts: { signal?: AbortSignal } = {}): Promise<number> {
    const rec = this.resolve(idOrName);
    const p = this.paths(rec.id);
    for (;;) {
      const cur = this.records.get(rec.id);
      if (!cur) {
        const ms = await readState(p.stateDir);
        return ms?.exitCode ?? 0;
      }
      const v = await this.view(cur);
      if (!v.running) return v.state.exitCode;
      if (opts.signal?.aborted) throw new WharfError('CANCELLED', 'wait cancelled');
      await sleep(100);
    }
  }

  async pause(idOrName: string): Promise<void> {
    const v = await this.get(idOrName);
    if (!v.running) throw new WharfError('CONFLICT', `Container ${v.id} is not running`);
    if (v.status === 'paused') throw new WharfError('CONFLICT', `Container ${v.id} is already paused`);
    await this.runc.pause(v.id);
    this.records.update(v.id, (r) => {
      r.state.paused = true;
    });
  }

  async unpause(idOrName: string): Promise<void> {
    const v = await this.get(idOrName);
    if (v.status !== 'paused') throw new WharfError('CONFLICT', `Container ${v.id} is not paused`);
    await this.runc.resume(v.id);
    this.records.update(v.id, (r) => {
      r.state.paused = false;
    });
  }

  async restart(idOrName: string, opts: { timeoutSec?: number } = {}): Promise<void> {
    const rec = await this.stop(idOrName, opts);
    await this.start(rec.id);
  }

  rename(idOrName: string, newName: string): void {
    const rec = this.resolve(idOrName);
    const n = validateName(newName);
    if (n === rec.name) throw new WharfError('CONFLICT', `Renaming a container with the same name as its current name`);
    this.records.update(rec.id, (r) => {
      r.name = n;
    });
  }

  // ---- remove

  async remove(
    idOrName: string,
    opts: { force?: boolean; volumes?: boolean; fromMonitor?: boolean; monitorPid?: number } = {},
  ): Promise<string> {
    const rec = this.resolve(idOrName);
    if (!opts.fromMonitor) {
      const v = await this.view(rec);
      if (v.running) {
        if (!opts.force) {
          throw new WharfError(
            'CONFLICT',
            `You cannot remove a ${v.status} container ${rec.id}. Stop the container before attempting removal or force remove`,
          );
        }
        // Removal must not race the monitor's own --rm cleanup: mark the record as not auto-removing first.
        this.records.update(rec.id, (r) => {
          r.hostConfig.AutoRemove = false;
        });
        await this.stop(rec.id, { timeoutSec: 0 });
      } else if (await this.#monitorCleaningUp(rec.id)) {
        // Exited, and its monitor's cleanup is running right now: let it finish rather than race it.
        await this.#waitCleaned(rec.id, 30_000).catch(() => {});
      }
      await this.cleanup(rec.id, { keep: true });
    }
    const p = this.paths(rec.id);
    await this.#removeLayers(rec.id, p);
    this.records.delete(rec.id);
    if (opts.volumes) {
      for (const m of rec.mounts) if (m.Type === 'volume' && m.Anonymous && m.Name) await this.volumes.remove(m.Name, { force: true }).catch(() => {});
    }
    if (opts.fromMonitor && opts.monitorPid !== undefined) await removeWhenMonitorExits(p.stateDir, opts.monitorPid);
    else removeTreeSync(p.stateDir); // a few small files
    return rec.id;
  }

  /** `container prune`: every container that is not running. */
  async prune(filter?: (c: ContainerView) => boolean): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of await this.list()) {
      if (c.running || (filter && !filter(c))) continue;
      reclaimed += (await this.size(c.id).catch(() => ({ rw: 0 }))).rw;
      await this.remove(c.id);
      deleted.push(c.id);
    }
    return { deleted, reclaimed };
  }

  // ---- inspection helpers

  /** Bytes of the writable layer (`ps -s` SIZE) and of the image below (virtual). */
  async size(id: string): Promise<{ rw: number; rootFs: number }> {
    const rec = this.resolve(id);
    const rw = (await this.snapshots.usage(snapshotKeyOf(rec.id))).size;
    const img = this.images.records.getImage(rec.imageId);
    return { rw, rootFs: rw + (img?.size ?? 0) };
  }

  /** Docker's GraphDriver.Data: the real overlay directories. */
  async graphDriver(id: string): Promise<{ Name: string; Data: Record<string, string> }> {
    const key = snapshotKeyOf(id);
    const upper = this.snapshots.differ.diffDir(key);
    const lowers = await this.snapshots.differ.lowerDirs(key);
    return {
      Name: this.snapshots.differ.driverName,
      Data: {
        LowerDir: lowers.join(':'),
        MergedDir: this.paths(id).rootfs,
        UpperDir: upper,
        WorkDir: path.join(path.dirname(upper), 'work'),
      },
    };
  }

  upperDir(id: string): string {
    return this.snapshots.differ.diffDir(snapshotKeyOf(id));
  }

  async lowerDirs(id: string): Promise<string[]> {
    return this.snapshots.differ.lowerDirs(snapshotKeyOf(id));
  }

  /** Run `fn` with the container's rootfs mounted (a stopped container is mounted for the call only). */
  /**
   * What `cp` sees: a running container's own view, through /proc/<pid>/root, so that its volumes, bind mounts and
   * tmpfs mounts are there as in `docker cp`; a stopped container's root file system.
   */
  async #withCpRoot<T>(idOrName: string, fn: (rootfs: string, rec: ContainerRecord, live: boolean) => Promise<T>): Promise<T> {
    const v = await this.get(idOrName);
    const pid = v.running ? v.state.pid : undefined;
    if (pid && pidAlive(pid)) return fn(`/proc/${pid}/root`, this.resolve(v.id), true);
    return this.withRootfs(idOrName, (rootfs, rec) => fn(rootfs, rec, false));
  }

  async withRootfs<T>(idOrName: string, fn: (rootfs: string, rec: ContainerRecord) => Promise<T>): Promise<T> {
    const rec = this.resolve(idOrName);
    const p = this.paths(rec.id);
    const wasMounted = await isMountPoint(p.rootfs).catch(() => false);
    const rootfs = await this.#ensureMounted(rec);
    try {
      return await fn(rootfs, rec);
    } finally {
      if (!wasMounted && !(await this.view(this.resolve(rec.id))).running) await unmountHard(p.rootfs).catch(() => {});
    }
  }

  logs(idOrName: string, opts: ReadLogsOptions = {}): AsyncGenerator<LogEntry> {
    const rec = this.resolve(idOrName);
    const p = this.paths(rec.id);
    return readLogs(p.log, {
      ...opts,
      stopWhen: async () => {
        const r = this.records.get(rec.id);
        if (!r) return true;
        return !(await this.view(r)).running;
      },
    });
  }

  async exec(
    idOrName: string,
    opts: {
      cmd: string[];
      env?: string[];
      workdir?: string;
      user?: string;
      tty?: boolean;
      privileged?: boolean;
      detach?: boolean;
      stdin?: Readable;
      stdout?: Writable;
      stderr?: Writable;
      consoleSize?: { cols: number; rows: number };
    },
  ): Promise<ExecHandle> {
    const v = await this.get(idOrName);
    if (!v.running) throw new WharfError('CONFLICT', `Container ${v.id} is not running`);
    if (v.status === 'paused') throw new WharfError('CONFLICT', `Container ${v.id} is paused, unpause the container before exec`);
    const p = this.paths(v.id);
    const spec = JSON.parse(await fsp.readFile(p.config, 'utf8')) as OciSpec;
    const proc = buildExecProcess(spec.process, {
      args: opts.cmd,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.user ? { user: opts.user, passwd: readTextInRoot(p.rootfs, '/etc/passwd'), group: readTextInRoot(p.rootfs, '/etc/group') } : {}),
      ...(opts.workdir ? { workdir: opts.workdir } : {}),
      tty: opts.tty === true,
      ...(opts.consoleSize ? { consoleSize: { width: opts.consoleSize.cols, height: opts.consoleSize.rows } } : {}),
      privileged: opts.privileged === true,
    });
    return startExec({
      runc: this.runc,
      id: v.id,
      process: proc,
      ...(opts.stdin ? { stdin: opts.stdin } : {}),
      ...(opts.stdout ? { stdout: opts.stdout } : {}),
      ...(opts.stderr ? { stderr: opts.stderr } : {}),
      detach: opts.detach === true,
      ...(opts.consoleSize ? { consoleSize: opts.consoleSize } : {}),
    });
  }

  /** Docker's `diff`: A/C/D from the writable layer alone (the overlay upper dir), parents marked C. */
  async *diff(idOrName: string): AsyncGenerator<Change> {
    const rec = this.resolve(idOrName);
    yield* this.snapshots.differ.changes(snapshotKeyOf(rec.id));
  }

  /** `export`: the container's whole file system as one tar stream. */
  async exportTo(idOrName: string, dest: Writable, opts: { end?: boolean } = {}): Promise<void> {
    await this.withRootfs(idOrName, async (rootfs) => {
      await pipeline(tarDirectory(rootfs), dest, { end: opts.end ?? true });
    });
  }

  /**
   * `commit`: the writable layer becomes one new layer (generated from the upper dir into a new layer, so a running
   * container keeps its own), the image config gets the container's settings and the changes.
   */
  async commit(idOrName: string, opts: CommitOptions = {}): Promise<ImageRecord> {
    const v = await this.get(idOrName);
    applyChanges(structuredClone(v.config), opts.changes ?? []);
    const pause = v.running && v.status !== 'paused' && opts.pause !== false;
    if (pause) await this.runc.pause(v.id);
    try {
      const tar = await this.snapshots.differ.diffTar(snapshotKeyOf(v.id));
      return await commitImage(this.images, v, tar, opts);
    } finally {
      if (pause) await this.runc.resume(v.id).catch(() => {});
    }
  }

  /** `cp CONTAINER:SRC DEST` (DEST a host path, or a stream for `-`). */
  async copyFrom(idOrName: string, src: string, dest: string | Writable, opts: { followLink?: boolean } = {}): Promise<void> {
    await this.#withCpRoot(idOrName, (rootfs, rec, live) => copyFromContainer(rootfs, rec.name, src, dest, { ...opts, live }));
  }

  /** `cp SRC CONTAINER:DEST` (SRC a host path, or a tar stream for `-`). */
  async copyTo(idOrName: string, src: string | Readable, dest: string, opts: { archive?: boolean } = {}): Promise<void> {
    await this.#withCpRoot(idOrName, (rootfs) => copyToContainer(rootfs, src, dest, opts));
  }

  /** Host PIDs of the container's processes. */
  async pids(idOrName: string): Promise<number[]> {
    const v = await this.get(idOrName);
    if (!v.running) throw new WharfError('CONFLICT', `Container ${v.id} is not running`);
    return this.runc.ps(v.id);
  }
}

function startedOk(ms: MonitorState): boolean {
  return !ms.error || lostMonitor(ms);
}

/** The monitor died without recording an exit (SIGKILL): the process may still run under runc. */
function lostMonitor(ms: MonitorState): boolean {
  return ms.monitorLost === true || ms.error === MONITOR_GONE;
}

function stateFromMonitor(base: ContainerRecord['state'], ms: MonitorState): ContainerRecord['state'] {
  const failedStart = !startedOk(ms);
  return {
    ...base,
    status: failedStart ? 'created' : 'exited',
    paused: false,
    exitCode: ms.exitCode ?? 255,
    ...(ms.pid ? { pid: ms.pid } : {}),
    ...(ms.startedAt && !failedStart ? { startedAt: ms.startedAt } : {}),
    finishedAt: ms.finishedAt ?? isoNow(),
    ...(ms.error ? { error: ms.error } : {}),
    ...(ms.oomKilled ? { oomKilled: true } : {}),
  };
}

/** The capabilities this process may hand on (CapBnd), by name; undefined when unknown. */
function hostBoundingSet(): Set<string> | undefined {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8'); // synchronously: a /proc read is microseconds, a pool trip is not
  } catch {
    /* no /proc: leave the capabilities as they are */
  }
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) return undefined;
  const bits = BigInt(`0x${m[1]}`);
  return new Set(ALL_CAPABILITIES.filter((_, i) => (bits >> BigInt(i)) & 1n));
}

/**
 * runc refuses capabilities outside its own bounding set ("unable to apply caps"), which a host that is itself a
 * container may lack (e.g. CAP_SYS_RESOURCE): `--privileged` gets every capability the host can give.
 */
function limitToBoundingSet(spec: OciSpec, bounding: Set<string> | undefined): void {
  const caps = spec.process.capabilities as Record<string, string[] | undefined> | undefined;
  if (!bounding || !caps) return;
  for (const k of Object.keys(caps)) caps[k] = caps[k]?.filter((c) => bounding.has(c));
}

/** `KILL`, `SIGKILL`, `9` → what runc accepts. */
export function normalizeSignal(s: string): string {
  const t = s.trim().toUpperCase();
  if (/^\d+$/.test(t)) return t;
  if (!/^(SIG)?[A-Z0-9+-]+$/.test(t)) throw new WharfError('INVALID_ARGUMENT', `invalid signal: ${s}`);
  return t.startsWith('SIG') ? t : `SIG${t}`;
}

async function unmountHard(target: string): Promise<void> {
  try {
    await unmount(target);
  } catch {
    await unmount(target, { lazy: true });
  }
}

/**
 * An `--rm` container is removed after its exit (by the monitor's cleanup command or by the attached client) while
 * the monitor may still be finishing in its state dir: wait a moment for it to go, else leave the removal to a tiny
 * detached waiter (always so when the monitor is our parent, which waits for us).
 */
async function removeWhenMonitorExits(stateDir: string, monitorPid: number): Promise<void> {
  if (monitorPid !== process.ppid) {
    // The monitor exits as soon as its client has read the exit frame: milliseconds, unless the machine is busy.
    for (let i = 0; i < 1000 && isMonitorAlive(monitorPid, stateDir); i++) await sleep(5);
    if (!isMonitorAlive(monitorPid, stateDir)) {
      await fsp.rm(stateDir, { recursive: true, force: true });
      return;
    }
  }
  const script = `while [ -d /proc/${monitorPid} ]; do sleep 0.1; done; rm -rf -- "$1"`;
  const child = spawn('/bin/sh', ['-c', script, 'wharf-rm', stateDir], { detached: true, stdio: 'ignore' });
  child.unref();
}

/**
 * A small text file inside a container's root file system (symlinks resolved within it), or undefined when it
 * cannot be read; a path that cannot be resolved (a symlink loop) is an error.
 */
function readTextInRoot(rootfs: string, file: string): string | undefined {
  const resolved = resolveInRootSync(rootfs, file);
  try {
    return readFileSync(resolved, 'utf8');
  } catch {
    return undefined;
  }
}

/** A file's size, or `missing` when it cannot be stat'ed. */
function fileSizeOr(file: string, missing: number): number {
  try {
    return statSync(file).size;
  } catch {
    return missing;
  }
}
