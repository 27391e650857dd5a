import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import { Intents, openMetaDb, type MetaDb } from '../meta/index.js';
import { LocalContentStore, type ContentStore } from '../content/index.js';
import {
  createSnapshotter,
  liveBuildSnapshots,
  overlaySupported,
  snapshotsInUse,
  type Snapshotter,
} from '../snapshot/index.js';
import { ImageService, checkImageIntents, checkImageStore, type CheckReport } from '../image/index.js';
import { Runc } from '../runtime/index.js';
import { EventLog } from '../events/index.js';
import { NetworkService, type AddressPool } from '../network/index.js';
// Deep import: the service loads pull, push and the registry client on its first call, not here.
import { Registries, type RegistrySettings } from '../transfer/service.js';
import {
  ContainerFiles,
  ContainerRecords,
  ContainerService,
  ContainerStore,
  TaskService,
  UsernsRanges,
  VolumeService,
  checkContainerNetworks,
  checkContainers,
  ContainerNetworks,
  recoverCommits,
  COMMIT_INTENT,
  START_INTENT,
  recoverStarts,
  type CommitRecovery,
  type StartRecovery,
  type ContainerRecord,
} from '../container/index.js';

export interface WharfOptions {
  /** Persistent state (default /var/lib/wharf). */
  root: string;
  /** Run-time state: mounts, PIDs, sockets (default /run/wharf for the default root, else <root>/run). */
  runRoot?: string;
  /** Force a snapshotter for a new root; an existing root keeps the one it was created with. */
  snapshotter?: 'overlay' | 'native';
  /**
   * Registry access for `wharf.registries`: credentials (a CredentialSource, e.g. a CredentialStore over
   * `defaultCredentialFiles(process.env)`), insecure registries, an extra CA file, retries. A call's `remote` options
   * add to them. The library reads no environment variables: the CLI builds each call's options from its flags and
   * WHARF_CONFIG, DOCKER_CONFIG, WHARF_INSECURE_REGISTRIES, WHARF_EXTRA_CA_CERTS (cli/commands/registry-client.ts).
   */
  registries?: RegistrySettings;
  /**
   * Where user-defined networks' subnets come from: IPv4 (default dockerd's default-address-pools, 172.17-31/16 as
   * /16s, then 192.168/16 as /20s) and IPv6 (default a random ULA /48 of the root, as /64s).
   */
  networkPools?: { ipv4?: AddressPool[]; ipv6?: AddressPool[] };
  /**
   * dockerd's `--userns-remap`, from the `userns-remap` key of Wharf's config file (the CLI reads it): containers
   * created without `--userns` get a user namespace of their own (`--userns=auto`). `default` takes the subordinate
   * ids of the user `wharf`; any other value names the user whose /etc/subuid and /etc/subgid ranges are used.
   */
  usernsRemap?: string;
  /**
   * A short command that mostly reads (`ps`, `images`, `inspect`): on a disk full to the byte, where SQLite cannot
   * make its shared-memory file, the database is opened for this process alone instead of failing (meta/db.ts).
   */
  shortRead?: boolean;
}

/**
 * The composition root: opens a Wharf root directory and wires the services. The library's entry point:
 * `const wharf = await Wharf.open({ root }); await wharf.images.…; wharf.close()`.
 */
export class Wharf {
  private constructor(
    readonly root: string,
    readonly runRoot: string,
    readonly db: MetaDb,
    readonly content: ContentStore,
    readonly snapshots: Snapshotter,
    readonly images: ImageService,
    /** Container records and config: create, inspect, list, rename, rm. */
    readonly containers: ContainerService,
    /** Running containers: start, stop, kill, wait, pause, logs, exec, the teardown after an exit. */
    readonly tasks: TaskService,
    /** Containers' file systems: diff, commit, export, cp. */
    readonly containerFiles: ContainerFiles,
    readonly volumes: VolumeService,
    /** User-defined networks: create, list, inspect, remove, prune (docs/networks.md). */
    readonly networks: NetworkService,
    /** Containers on user-defined networks: connect and disconnect, running or not. */
    readonly containerNetworks: ContainerNetworks,
    /** Pull and push, with the root's registry settings. */
    readonly registries: Registries,
    /** The root's event log (`wharf events`): the services above append to it, and so do the containers' monitors. */
    readonly events: EventLog,
    /** What interrupted operations left to roll back (the `intents` table; docs/storage.md). */
    readonly intents: Intents,
    private readonly runc: Runc,
    private readonly containerStore: ContainerStore,
    /** dockerd's `--userns-remap` as opened (WharfOptions.usernsRemap): '' when off. */
    readonly usernsRemap = '',
  ) {}

  /**
   * `system check`: every blob re-hashed, every record against the disk; orphans and leftovers of killed processes
   * reported, and removed with `repair`. What containers and running builds own is not an orphan.
   */
  async check(opts: { repair?: boolean } = {}): Promise<CheckReport> {
    const liveBuilds = await liveBuildSnapshots(this.snapshots);
    const stores = { db: this.db, content: this.content, snapshots: this.snapshots, records: this.images.records };
    // Interrupted operations first: rolling back a killed commit removes its partial layer, which is then no orphan.
    const recovery: CommitRecovery = {
      intents: this.intents,
      runc: this.runc,
      snapshots: this.snapshots,
      layers: this.images.layers,
    };
    const store = this.containerStore;
    // Starts and teardowns killed half-way (container/start-intent.ts, teardown.ts).
    const starts: StartRecovery = { intents: this.intents, runc: this.runc, store, events: this.events };
    // Pulls and loads killed half-way (image/transfer-intent.ts): reported, rolled back with repair.
    const imageIn = await checkImageIntents(this.images.intentDeps, opts.repair ?? false);
    const interrupted = await checkContainers(
      store.records,
      (id) => store.paths(id).dir,
      recovery,
      opts.repair ?? false,
      store.userns,
      { ...recovery, layerUsers: (c) => this.images.records.layers.users(c) },
      starts,
    );
    // Never remove what a process still uses, whatever the records say (a killed build's RUN step kept running on its
    // overlay); an active snapshot nothing owns but something uses is reported and left alone.
    const owned = new Set([...this.containers.ownedSnapshots(), ...liveBuilds]);
    const inUse = await snapshotsInUse(this.snapshots);
    for await (const s of this.snapshots.walk()) {
      const user = inUse.get(s.key);
      if (user && s.kind !== 'committed' && !owned.has(s.key))
        interrupted.push({
          kind: 'stale',
          what: `${s.kind} snapshot ${s.key} belongs to nothing but is in use: ${user}; left alone`,
          repaired: false,
        });
    }
    const report = await checkImageStore(stores, {
      root: this.root,
      repair: opts.repair ?? false,
      owners: { snapshots: () => new Set([...owned, ...inUse.keys()]) },
    });
    const networks = await this.networks.check(opts.repair ?? false);
    const leftovers = await checkContainerNetworks(starts, opts.repair ?? false);
    return { ...report, problems: [...imageIn, ...interrupted, ...report.problems, ...networks, ...leftovers] };
  }

  static async open(opts: WharfOptions): Promise<Wharf> {
    const root = path.resolve(opts.root);
    const runRoot = path.resolve(opts.runRoot ?? (root === '/var/lib/wharf' ? '/run/wharf' : path.join(root, 'run')));
    try {
      // Synchronously: two trips through the thread pool cost more than the two syscalls, on every command.
      mkdirSync(root, { recursive: true, mode: 0o711 });
      mkdirSync(runRoot, { recursive: true, mode: 0o711 });
    } catch (err) {
      throw new WharfError('UNAVAILABLE', `cannot create the Wharf root ${root}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const db = openMetaDb(root, { aloneWhenFull: opts.shortRead === true });
    try {
      let kind = db.getSetting('snapshotter') as 'overlay' | 'native' | undefined;
      if (!kind) {
        const chosen = opts.snapshotter ?? ((await overlaySupported(root)) ? 'overlay' : 'native');
        kind = db.initSetting('snapshotter', chosen) as 'overlay' | 'native';
      }
      const content = new LocalContentStore(root);
      const snapshots = createSnapshotter(kind, root, db);
      // Images and volumes in use by containers are not removed: both services ask the container records through a
      // hook they are made with (image/ cannot import container/; the volumes need only the records).
      const records = new ContainerRecords(db);
      const events = new EventLog(root);
      const images = new ImageService(db, content, snapshots, (imageId) => records.imageUsers(imageId), root, events);
      const volumes = new VolumeService(db, root, (name) => records.volumeUsers(name), events);
      const userns = new UsernsRanges(db);
      const store = new ContainerStore({ root, runRoot, records, snapshots, volumes, events, userns });
      const runc = new Runc({ root: path.join(runRoot, 'runc') });
      const intents = new Intents(db);
      const recovery: CommitRecovery = { intents, runc, snapshots, layers: images.layers };
      const starts: StartRecovery = { intents, runc, store, events };
      // Any command that looks at a container first undoes what a killed start or commit of it left
      // (container/start-intent, container/commit-intent).
      const recover = async (rec: ContainerRecord) => {
        const started = await recoverStarts(rec.id, starts);
        const opts = { userPaused: rec.state.paused === true };
        const committed = await recoverCommits(rec.id, store.paths(rec.id).dir, recovery, opts);
        return started > 0 || committed.length > 0;
      };
      // The containers with a start or commit intent of any owner: only those can need `recover` (it checks the owner).
      const recoveryCandidates = () =>
        new Set([...intents.list(START_INTENT), ...intents.list(COMMIT_INTENT)].map((i) => i.subject));
      const tasks = new TaskService({ store, volumes, runc, recover, recoveryCandidates, intents });
      const networks = new NetworkService({
        db,
        root,
        runRoot,
        events,
        ...(opts.networkPools?.ipv4 ? { pools: opts.networkPools.ipv4 } : {}),
        ...(opts.networkPools?.ipv6 ? { ipv6Pools: opts.networkPools.ipv6 } : {}),
      });
      const containerNetworks = new ContainerNetworks(
        networks,
        records,
        async (rec) => (await tasks.observe(rec)).running,
      );
      store.networks = containerNetworks;
      const containers = new ContainerService({
        store,
        images,
        volumes,
        tasks,
        ...(opts.usernsRemap ? { usernsRemap: opts.usernsRemap } : {}),
      });
      const containerFiles = new ContainerFiles({ store, images, tasks, runc, intents });
      const registries = new Registries({ images, content }, opts.registries);
      return new Wharf(
        root,
        runRoot,
        db,
        content,
        snapshots,
        images,
        containers,
        tasks,
        containerFiles,
        volumes,
        networks,
        containerNetworks,
        registries,
        events,
        intents,
        runc,
        store,
        opts.usernsRemap ?? '',
      );
    } catch (err) {
      db.close();
      throw err;
    }
  }

  close(): void {
    this.db.close();
  }
}
