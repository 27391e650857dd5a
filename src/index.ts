/**
 * The package entry, `import { Wharf } from 'wharf'`: the engine, its errors, and the types of the stores under an
 * opened root. The verbs are methods of the engine's services (`wharf.images`, `wharf.images.archives`,
 * `wharf.registries`, `wharf.containers`, `wharf.tasks`, `wharf.containerFiles`, `wharf.volumes`, `wharf.check`).
 * Each subsystem has its own entry for its types and values, so a program loads only what it uses:
 *   wharf/images      image service types, filters              wharf/containers  container and volume types
 *   wharf/remote      pull/push types, registry client, credentials  wharf/build   the Dockerfile builder
 *   wharf/registry    the registry server
 * This file must not import the builder, the registry server, jose or bcrypt (test/unit/library-exports.test.ts).
 * The top-level src/*.ts files are the package's entries: src/<name>.ts is `wharf/<name>` (package.json `exports`).
 */
export { Wharf, type WharfOptions, collectInfo, type InfoOptions } from './engine/index.js';
export { WharfError, is, codeOf, type ErrorCode } from './errors/index.js';
export * as reference from './reference/index.js';
export * as oci from './oci/index.js';
export type { Digest } from './digest/index.js';

// The stores an opened root holds (`wharf.content`, `wharf.snapshots`, `wharf.db`).
export type {
  ContentStore,
  ContentProvider,
  Ingester,
  ContentManager,
  ContentWriter,
  BlobInfo,
} from './content/index.js';
export type { Snapshotter, Mount, SnapshotInfo, SnapshotKind, Usage as SnapshotUsage } from './snapshot/index.js';
export type { MetaDb, Intents, IntentRecord } from './meta/index.js';
// The root's event log (`wharf.events` appends; `wharf events` reads): Docker's /events messages.
export {
  EventLog,
  readEvents,
  followEvents,
  parseEventFilters,
  eventMatches,
  formatEventLine,
  type WharfEvent,
  type EventType,
  type EventFilters,
  type FollowOptions,
} from './events/index.js';
// What `wharf.check()` answers.
export type { CheckReport, CheckProblem } from './image/index.js';
