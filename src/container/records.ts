import type { MetaDb, Migration } from '../meta/index.js';
import { WharfError } from '../errors/index.js';
import type { ContainerRecord } from './types.js';

export const CONTAINER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        image_id TEXT NOT NULL,
        created TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX containers_image ON containers(image_id);
      CREATE TABLE volumes (
        name TEXT PRIMARY KEY,
        created TEXT NOT NULL,
        anonymous INTEGER NOT NULL DEFAULT 0,
        seeded INTEGER NOT NULL DEFAULT 0,
        labels TEXT NOT NULL DEFAULT '{}',
        options TEXT NOT NULL DEFAULT '{}'
      );
    `,
  },
];

interface Row {
  id: string;
  name: string;
  data: string;
}

/** The container table: one JSON document per container, with the name and image indexed for lookups. */
export class ContainerRecords {
  constructor(readonly db: MetaDb) {
    db.migrate('containers', CONTAINER_MIGRATIONS);
  }

  private parse(r: Row | undefined): ContainerRecord | undefined {
    return r ? (JSON.parse(r.data) as ContainerRecord) : undefined;
  }

  get(id: string): ContainerRecord | undefined {
    return this.parse(this.db.prepare('SELECT id, name, data FROM containers WHERE id = ?').get(id) as Row | undefined);
  }

  byName(name: string): ContainerRecord | undefined {
    return this.parse(
      this.db.prepare('SELECT id, name, data FROM containers WHERE name = ?').get(name) as Row | undefined,
    );
  }

  byPrefix(prefix: string): ContainerRecord[] {
    if (!/^[a-f0-9]+$/.test(prefix)) return [];
    const rows = this.db
      .prepare('SELECT id, name, data FROM containers WHERE id >= ? AND id < ?')
      .all(prefix, prefix + 'g') as Row[];
    return rows.map((r) => this.parse(r)!);
  }

  /** Parsed documents by ID with the JSON they came from: a list re-parses only the containers that changed. */
  readonly #parsed = new Map<string, { data: string; rec: ContainerRecord }>();

  /**
   * `all()` for read-only use (a list): an unchanged row's record is the object parsed before, shared between calls.
   * JSON.parse of 200 records was the largest part of `ps -a`.
   */
  allShared(): ContainerRecord[] {
    const rows = this.db
      .prepare('SELECT id, name, data FROM containers ORDER BY created DESC, rowid DESC')
      .all() as Row[];
    const seen = new Map<string, { data: string; rec: ContainerRecord }>();
    const out = rows.map((r) => {
      const hit = this.#parsed.get(r.id);
      const entry = hit && hit.data === r.data ? hit : { data: r.data, rec: JSON.parse(r.data) as ContainerRecord };
      seen.set(r.id, entry);
      return entry.rec;
    });
    // Only the rows seen now are kept, so removed containers do not stay cached.
    this.#parsed.clear();
    for (const [k, v] of seen) this.#parsed.set(k, v);
    return out;
  }

  all(): ContainerRecord[] {
    const rows = this.db
      .prepare('SELECT id, name, data FROM containers ORDER BY created DESC, rowid DESC')
      .all() as Row[];
    return rows.map((r) => this.parse(r)!);
  }

  /** A full ID, a unique ID prefix, or a name (with or without the leading slash). */
  resolve(idOrName: string): ContainerRecord {
    const found = this.tryResolve(idOrName);
    if (!found) throw new WharfError('NOT_FOUND', `No such container: ${idOrName}`);
    return found;
  }

  tryResolve(idOrName: string): ContainerRecord | undefined {
    if (idOrName === '') return undefined;
    const byId = this.get(idOrName);
    if (byId) return byId;
    const byName = this.byName(idOrName.replace(/^\//, ''));
    if (byName) return byName;
    const matches = this.byPrefix(idOrName);
    if (matches.length > 1)
      throw new WharfError('INVALID_ARGUMENT', `multiple IDs found with provided prefix: ${idOrName}`);
    return matches[0];
  }

  /**
   * Containers made from an image, for rmi's refusal (the image service asks through its `users` hook, synchronously:
   * it asks while deciding). `running` is the record's claim, which is what the refusal's wording needs.
   */
  imageUsers(imageId: string): Array<{ id: string; running: boolean }> {
    const rows = this.db.prepare('SELECT id, name, data FROM containers WHERE image_id = ?').all(imageId) as Row[];
    return rows.map((r) => this.parse(r)!).map((c) => ({ id: c.id, running: c.state.status === 'running' }));
  }

  /** IDs of the containers that mount a volume, for the volume service's refusal to remove it. */
  volumeUsers(name: string): string[] {
    return this.all()
      .filter((c) => c.mounts.some((m) => m.Type === 'volume' && m.Name === name))
      .map((c) => c.id);
  }

  insert(rec: ContainerRecord): void {
    this.db.immediate(() => {
      const taken = this.byName(rec.name);
      if (taken) throw nameConflict(rec.name, taken.id);
      this.db
        .prepare('INSERT INTO containers(id, name, image_id, created, data) VALUES (?, ?, ?, ?, ?)')
        .run(rec.id, rec.name, rec.imageId, rec.created, JSON.stringify(rec));
    });
  }

  /** Read-modify-write under the write lock, so concurrent CLI calls do not lose each other's changes. */
  update(id: string, fn: (rec: ContainerRecord) => void): ContainerRecord {
    return this.db.immediate(() => {
      const rec = this.get(id);
      if (!rec) throw new WharfError('NOT_FOUND', `No such container: ${id}`);
      fn(rec);
      if (rec.name !== this.get(id)!.name) {
        const taken = this.byName(rec.name);
        if (taken && taken.id !== id) throw nameConflict(rec.name, taken.id);
      }
      this.db.prepare('UPDATE containers SET name = ?, data = ? WHERE id = ?').run(rec.name, JSON.stringify(rec), id);
      return rec;
    });
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
  }
}

export function nameConflict(name: string, id: string): WharfError {
  return new WharfError(
    'CONFLICT',
    `Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
  );
}
