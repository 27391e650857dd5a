import { existsSync, promises as fsp } from 'node:fs';
import type * as Os from 'node:os';
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import type { ImageService } from '../image/index.js';
import type { ContainerConfig } from '../oci/index.js';
import { findInitBinary, monitorPaths, readStatsSample, resolveArgs, type StatsSample } from '../runtime/index.js';
import { appArmorEnabled, cgroupsPathOf } from './bundle.js';
import { DEFAULT_GATEWAY, parseAddHost, parsePublish, type NetworkMode, type PortMapping } from '../network/index.js';
import { userNetworkConfig } from './network-attach.js';
import { lazyBuiltin, replaceFileSync, trace } from '../util/index.js';
import { parseMountFlag, parseVolumeFlag, type MountSpec } from './mount-spec.js';
import {
  backingFsOf,
  checkEndpointOptions,
  checkRuntime,
  checkStorageOpts,
  checkVolumeDriver,
} from './create-checks.js';
import { newContainerId, randomName, validateName } from './names.js';
import { initKeyOf, snapshotKeyOf } from './paths.js';
import { nameConflict, type ContainerRecords } from './records.js';
import { isoNow } from './state.js';
import { checkRestartWithAutoRemove, NO_RESTART, validateRestartPolicy, type RestartPolicy } from './restart-policy.js';
import { inspectContainer } from './docker-shapes.js';
import { mergeHealthcheck, validateHealthcheck } from './health.js';
import type { ContainerStore } from './store.js';
import type { TaskService } from './tasks.js';
import type { ContainerRecord, ObservedContainer, HostConfig, MountPoint } from './types.js';
import { joinedContainer, parseSecurityOpts, refuseUnavailableConfinement } from './run-modes.js';
import type { VolumeService } from './volumes.js';
import { checkResources, resourcesOf, type ResourceConfig, type ResourceUpdate } from './resources.js';
import { liveResources, planUpdate } from './update.js';
import { hostResources, probeUlimits } from './host-resources.js';
import { emitContainerEvent } from './events.js';
import { shortId } from '../digest/index.js';
import type { CreateOptions } from './create-options.js';
import { containerConfigOf, hostConfigOf } from './create-config.js';
import { hostConfigRunModes } from './run-modes.js';
import { resolveMountPoint } from './mount-points.js';
import { USERNS_COPY_WARNING, checkUsernsConflicts, usernsRequest } from './userns.js';

export type { CreateOptions } from './create-options.js';

const os = lazyBuiltin<typeof Os>('node:os'); // on first use: node:os costs ~1 ms of start-up

export interface ContainerServiceOptions {
  store: ContainerStore;
  images: ImageService;
  volumes: VolumeService;
  /** Each record's run state is checked with its task; `remove` ends the task first. */
  tasks: TaskService;
  /** dockerd's `--userns-remap` (WharfOptions.usernsRemap): `--userns=auto` for containers that ask for no mode. */
  usernsRemap?: string;
}

/**
 * Containers as records, as containerd's container service keeps them apart from tasks: what was asked (an image's
 * config merged with the run options, mounts, host config), created on the image's layers, looked up, renamed and
 * removed. Running them is the TaskService's job; their files are the ContainerFiles'.
 */
export class ContainerService {
  readonly #records: ContainerRecords;
  readonly #store: ContainerStore;
  readonly #images: ImageService;
  readonly #volumes: VolumeService;
  readonly #tasks: TaskService;

  constructor(opts: ContainerServiceOptions) {
    this.#store = opts.store;
    this.#records = opts.store.records;
    this.#images = opts.images;
    this.#volumes = opts.volumes;
    this.#tasks = opts.tasks;
    this.#usernsRemap = opts.usernsRemap;
  }

  readonly #usernsRemap: string | undefined;

  /** A full ID, a unique ID prefix, or a name (with or without the leading slash). */
  resolve(idOrName: string): ContainerRecord {
    return this.#records.resolve(idOrName);
  }

  tryResolve(idOrName: string): ContainerRecord | undefined {
    return this.#records.tryResolve(idOrName);
  }

  async get(idOrName: string): Promise<ObservedContainer> {
    return this.#tasks.observe(this.resolve(idOrName));
  }

  /**
   * Every container, newest first, with its state observed. The records' nested parts (config, hostConfig, mounts)
   * are shared with the records' parse cache: read them, do not change them.
   */
  async list(): Promise<ObservedContainer[]> {
    return this.#tasks.observeAll(this.#records.allShared());
  }

  /** Snapshot keys that belong to containers (for `system check`). */
  ownedSnapshots(): Set<string> {
    const out = new Set<string>();
    for (const c of this.#records.all()) {
      out.add(snapshotKeyOf(c.id));
      out.add(initKeyOf(c.id));
    }
    return out;
  }

  /** Bytes of the writable layer (`ps -s` SIZE) and of the image below (virtual). */
  async size(id: string): Promise<{ rw: number; rootFs: number }> {
    const rec = this.resolve(id);
    const rw = (await this.#store.snapshots.usage(snapshotKeyOf(rec.id))).size;
    const img = this.#images.records.images.get(rec.imageId);
    return { rw, rootFs: rw + (img?.size ?? 0) };
  }

  /** `docker container inspect`: Docker's document; `size` adds SizeRw and SizeRootFs (`inspect --size`). */
  async inspect(idOrName: string, opts: { size?: boolean } = {}): Promise<Record<string, unknown>> {
    const c = await this.get(idOrName);
    const p = this.#store.paths(c.id);
    const doc = inspectContainer(c, {
      graphDriver: await this.#graphDriver(c.id),
      logPath: p.log,
      resolvConf: p.resolvConf,
      hostname: p.hostname,
      hosts: p.hosts,
    });
    if (opts.size) {
      const s = await this.size(c.id);
      doc.SizeRw = s.rw;
      doc.SizeRootFs = s.rootFs;
    }
    return doc;
  }

  /** Docker's GraphDriver block of `inspect`: the snapshotter's driver name and the real layer directories. */
  async #graphDriver(id: string): Promise<{ Name: string; Data: Record<string, string> }> {
    const key = snapshotKeyOf(id);
    const { differ } = this.#store.snapshots;
    const upper = differ.diffDir(key);
    const lowers = await differ.lowerDirs(key);
    return {
      Name: differ.driverName,
      Data: {
        LowerDir: lowers.join(':'),
        MergedDir: this.#store.paths(id).rootfs,
        UpperDir: upper,
        WorkDir: path.join(path.dirname(upper), 'work'),
      },
    };
  }
  /**
   * `create`: a record of the image's config merged with the options, its mounts and volumes, its writable layer.
   * `warnings` are Docker's (settings this host discards or cannot apply), for the caller to show.
   */
  async create(opts: CreateOptions): Promise<ContainerRecord & { warnings?: string[] }> {
    trace('create');
    const img = this.#images.resolve(opts.image);
    const { config: imageConfig } = await this.#images.config(img.id);
    const ic: ContainerConfig = imageConfig.config ?? {};

    // Everything that can be wrong with the request is found before anything is created.
    const healthcheck = mergeHealthcheck(opts.healthcheck, ic.Healthcheck);
    validateHealthcheck(healthcheck); // before the command, as the daemon's order is
    const userEnv = opts.env ?? [];
    const bad = userEnv.find((e) => e.indexOf('=') <= 0);
    if (bad !== undefined)
      throw new WharfError('INVALID_ARGUMENT', `invalid environment entry ${JSON.stringify(bad)}: want KEY=VALUE`);
    const name = opts.name !== undefined && opts.name !== '' ? validateName(opts.name) : undefined;
    if (name) {
      const taken = this.#records.byName(name);
      if (taken) throw nameConflict(name, taken.id);
    }
    const onNetwork = userNetworkConfig(this.#store.networks, opts, (n) => this.#records.tryResolve(n));
    const network: NetworkMode = onNetwork?.mode ?? opts.network ?? 'bridge';
    // dockerd's check (verifyContainerSettings): a relative working directory would depend on the image's.
    if (opts.workdir && !opts.workdir.startsWith('/')) {
      throw new WharfError(
        'INVALID_ARGUMENT',
        `the working directory '${opts.workdir}' is invalid, it needs to be an absolute path`,
      );
    }
    const runtime = checkRuntime(opts.runtime);
    checkStorageOpts(opts.storageOpt ?? {}, () => backingFsOf(this.#store.root));
    // dockerd's floor (verifyPlatformContainerResources): less leaves no room for the runtime itself.
    if (opts.memory && opts.memory < 6 * 1024 * 1024) {
      throw new WharfError('INVALID_ARGUMENT', 'Minimum memory limit allowed is 6MB');
    }
    const ports: PortMapping[] = (opts.publish ?? []).flatMap((p) => parsePublish(p));
    const specs: MountSpec[] = [
      ...(opts.volumes ?? []).map(parseVolumeFlag),
      ...(opts.mounts ?? []).map(parseMountFlag),
    ];
    checkVolumeDriver(
      opts.volumeDriver,
      (opts.volumes ?? []).some((v) => parseVolumeFlag(v).kind === 'volume') ||
        Object.keys(ic.Volumes ?? {}).length > 0,
    );
    const dests = new Set<string>();
    for (const s of specs) {
      if (dests.has(s.destination)) throw new WharfError('INVALID_ARGUMENT', `Duplicate mount point: ${s.destination}`);
      dests.add(s.destination);
    }
    for (const h of opts.extraHosts ?? []) parseAddHost(h, DEFAULT_GATEWAY);
    const { addressing, linked } = checkEndpointOptions(opts, network, (name) => this.#records.tryResolve(name)?.name);
    const restartPolicy = opts.restartPolicy ? validateRestartPolicy(opts.restartPolicy) : { ...NO_RESTART };
    checkRestartWithAutoRemove(restartPolicy, opts.autoRemove === true);
    const entrypoint = opts.entrypoint === undefined ? undefined : opts.entrypoint === '' ? [] : [opts.entrypoint];
    const argv = resolveArgs(ic, {
      ...(opts.command !== undefined ? { command: opts.command } : {}),
      ...(entrypoint !== undefined ? { entrypoint } : {}),
    });
    const from = (opts.volumesFrom ?? []).map((spec) => {
      const [ref, mode] = spec.split(':');
      if (mode !== undefined && mode !== 'ro' && mode !== 'rw')
        throw new WharfError('INVALID_ARGUMENT', `invalid --volumes-from mode: ${spec}`);
      return { src: this.#records.resolve(ref!), readOnly: mode === 'ro' ? true : mode === 'rw' ? false : undefined };
    });
    const userns = usernsRequest(opts.userns, this.#usernsRemap);
    const modes = hostConfigRunModes({ ...opts, userns: userns.mode }, network);
    refuseUnavailableConfinement(parseSecurityOpts(opts.securityOpt ?? []), appArmorEnabled());
    for (const mode of [modes.IpcMode, modes.PidMode]) {
      const other = joinedContainer(mode);
      if (other !== undefined) this.#records.resolve(other);
    }
    for (const dest of Object.keys(modes.Tmpfs ?? {})) {
      if (dests.has(dest)) throw new WharfError('INVALID_ARGUMENT', `Duplicate mount point: ${dest}`);
      dests.add(dest);
    }
    if (opts.init && !(await findInitBinary())) {
      throw new WharfError(
        'UNAVAILABLE',
        '--init: no docker-init (tini) binary on this host; install the tini package',
      );
    }

    if (opts.id !== undefined && (!/^[0-9a-f]{64}$/.test(opts.id) || this.#records.get(opts.id))) {
      throw new WharfError('INVALID_ARGUMENT', `container ID ${opts.id} is not a new 64-hex ID`);
    }
    const id = opts.id ?? newContainerId();
    const finalName = name ?? randomName((n) => this.#records.byName(n) !== undefined);
    const hostname = opts.hostname || (network === 'host' || modes.UTSMode === 'host' ? os().hostname() : shortId(id));
    const config = containerConfigOf(opts, { image: ic, hostname, entrypoint, healthcheck, ports });
    const hostConfig = hostConfigOf(opts, {
      network,
      ports,
      name: finalName,
      linked,
      addressing,
      runtime,
      restartPolicy,
      modes,
    });
    const warnings = await this.#resources(hostConfig, opts.resources);
    if (userns.subIds) {
      checkUsernsConflicts(hostConfig, this.#store.snapshots.differ.driverName);
      if (!(await this.#store.idmappedLayers())) warnings.push(USERNS_COPY_WARNING);
    }

    const createdVolumes: string[] = [];
    let prepared = false;
    try {
      // Mounts: explicit ones, then --volumes-from, then anonymous volumes for the image's VOLUMEs not covered.
      const mounts: MountPoint[] = [];
      for (const s of specs) mounts.push(await resolveMountPoint(this.#volumes, s, createdVolumes));
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
        mounts.push(
          await resolveMountPoint(
            this.#volumes,
            { kind: 'volume', destination: dest, readOnly: false, noCopy: false, mode: '' },
            createdVolumes,
          ),
        );
      }

      await this.#store.prepareLayers(id, img.topChain ?? undefined, hostConfig.Init);
      prepared = true;
      // After the container's directory exists: `system check` frees a range only where there is none (userns.ts).
      const idMap = userns.subIds && this.#store.userns.allocate(id, userns.size, userns.subIds, userns.user);
      const rec: ContainerRecord = {
        id,
        name: finalName,
        imageId: img.id,
        imageName: opts.image,
        created: isoNow(),
        config,
        hostConfig,
        ...(onNetwork?.networks ? { networks: onNetwork.networks } : {}),
        path: argv[0]!,
        args: argv.slice(1),
        mounts,
        ...(idMap ? { idMap } : {}),
        state: { status: 'created', exitCode: 0 },
        restartCount: 0,
      };
      this.#records.insert(rec);
      emitContainerEvent(this.#store.events, 'create', rec);
      trace('created');
      return warnings.length ? { ...rec, warnings } : rec;
    } catch (err) {
      if (prepared) await this.#store.removeLayers(id).catch(() => {});
      this.#store.userns.release(id);
      for (const v of createdVolumes) await this.#volumes.remove(v, { force: true }).catch(() => {});
      throw err;
    }
  }

  /** The resource settings checked as Docker's daemon checks them and added to the host config; its warnings. */
  async #resources(hc: HostConfig, asked: Partial<ResourceConfig> | undefined): Promise<string[]> {
    const host = hostResources();
    const r = { ...resourcesOf(asked ?? {}), Memory: hc.Memory, NanoCpus: hc.NanoCpus };
    // The daemon's default cgroup namespace mode: the host's on cgroup v1, a private one on v2.
    if (asked?.CgroupnsMode === undefined) r.CgroupnsMode = host.cgroupVersion === 2 ? 'private' : 'host';
    const warnings = checkResources(r, host);
    const { Memory: _m, NanoCpus: _n, ...rest } = r;
    Object.assign(hc, rest);
    warnings.push(...(await probeUlimits(r.Ulimits)).refused);
    return warnings;
  }

  /**
   * `docker update`: new resource limits, applied at once to a running container (`runc update`) and recorded for
   * its next start, and a new restart policy (`setRestartPolicy`); one `update` event. Returns Docker's warnings.
   */
  async update(
    idOrName: string,
    u: ResourceUpdate,
    opts: { restartPolicy?: { Name: string; MaximumRetryCount: number } } = {},
  ): Promise<{ id: string; warnings: string[] }> {
    const c = await this.get(idOrName);
    // dockerd 20.10 keeps a new restart policy even when the resources it came with are refused.
    if (opts.restartPolicy) await this.setRestartPolicy(c.id, opts.restartPolicy);
    let warnings: string[] = [];
    if (Object.keys(u).length > 0) {
      const plan = planUpdate(c.id, c.hostConfig, u);
      warnings = plan.warnings;
      if (c.running) {
        try {
          await this.#tasks.updateResources(c.id, liveResources(plan.next, u));
        } catch (err) {
          const msg = err instanceof WharfError ? String(err.details?.runcMessage ?? err.message) : String(err);
          throw new WharfError('INTERNAL', `Cannot update container ${c.id}: ${msg}`);
        }
      }
      this.#records.update(c.id, (r) => {
        Object.assign(r.hostConfig, plan.next);
      });
    }
    emitContainerEvent(this.#store.events, 'update', c);
    return { id: c.id, warnings };
  }

  /** `docker stats`: one sample of a running container's counters (none for a container that does not run). */
  async stats(idOrName: string): Promise<{ container: ObservedContainer; sample?: StatsSample }> {
    const c = await this.get(idOrName);
    if (!c.running) return { container: c };
    const pid = c.hostConfig.NetworkMode !== 'host' ? c.state.pid : undefined;
    const sample = readStatsSample({
      cgroupsPath: cgroupsPathOf(c),
      onlineCpus: os().cpus().length || 1,
      ...(pid ? { pid } : {}),
    });
    return { container: c, sample };
  }

  /**
   * `update --restart`: a new restart policy for a container, running or not. Checked as `create` checks it (and
   * refused for an `--rm` container, as Docker refuses it); a running container's monitor reads it at its next exit
   * (TaskService.tellRestartPolicy). Returns the stored policy.
   */
  async setRestartPolicy(
    idOrName: string,
    policy: { Name: string; MaximumRetryCount: number },
  ): Promise<RestartPolicy> {
    const rec = this.resolve(idOrName);
    const p = validateRestartPolicy(policy);
    if (rec.hostConfig.AutoRemove && p.Name !== 'no' && p.Name !== '')
      throw new WharfError(
        'INVALID_ARGUMENT',
        'Restart policy cannot be updated because AutoRemove is enabled for the container',
      );
    this.#records.update(rec.id, (r) => {
      r.hostConfig.RestartPolicy = p;
    });
    await this.#tasks.tellRestartPolicy(rec.id, p);
    return p;
  }

  rename(idOrName: string, newName: string): void {
    const rec = this.resolve(idOrName);
    const n = validateName(newName);
    if (n === rec.name) throw new WharfError('CONFLICT', `Renaming a container with the same name as its current name`);
    const renamed = this.#records.update(rec.id, (r) => {
      r.name = n;
    });
    // A running container's monitor names it in its die event from this file.
    const nameFile = monitorPaths(this.#store.paths(rec.id).stateDir).eventName;
    if (existsSync(nameFile)) {
      try {
        replaceFileSync(nameFile, n.replace(/^\//, ''), 0o600);
      } catch {
        /* the container exited meanwhile: no event of its monitor will name it */
      }
    }
    // Docker's oldName keeps the slash of its container names.
    emitContainerEvent(this.#store.events, 'rename', renamed, { oldName: `/${rec.name.replace(/^\//, '')}` });
  }

  /** `rm`: the task ends first (a running one only with `force`); `volumes` removes its anonymous volumes too. */
  /**
   * The container of a build step that failed, as Docker's classic builder leaves it: created on the step's image
   * with the step's command, Exited with its code, and the step's writable layer as its own (`upper` is moved in),
   * so `ps -a`, `diff`, `commit` and `cp` see what the step did.
   */
  async keepBuildStep(
    opts: CreateOptions & { id: string },
    run: { upper: string; exitCode: number; startedAt: string },
  ): Promise<ContainerRecord> {
    const rec = await this.create(opts);
    try {
      const own = this.#store.snapshots.differ.diffDir(snapshotKeyOf(rec.id));
      await fsp.rm(own, { recursive: true, force: true });
      await fsp.rename(run.upper, own);
    } catch (err) {
      await this.remove(rec.id, { force: true }).catch(() => {});
      throw err;
    }
    return this.#records.update(rec.id, (r) => {
      r.state = { status: 'exited', exitCode: run.exitCode, startedAt: run.startedAt, finishedAt: isoNow() };
    });
  }

  async remove(idOrName: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<string> {
    const rec = this.resolve(idOrName);
    await this.#tasks.delete(rec.id, { force: opts.force === true });
    await this.#store.delete(rec, { volumes: opts.volumes === true });
    return rec.id;
  }

  /** `container prune`: every container that is not running. */
  async prune(filter?: (c: ObservedContainer) => boolean): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of await this.list()) {
      if (c.running || (filter && !filter(c))) continue;
      reclaimed += (await this.size(c.id).catch(() => ({ rw: 0 }))).rw;
      await this.remove(c.id);
      deleted.push(c.id);
    }
    this.#store.events?.emit('container', 'prune', '', { reclaimed: String(reclaimed) });
    return { deleted, reclaimed };
  }
}
