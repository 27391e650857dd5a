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
    return this.parse(this.db.prepare('SELECT id, name, data FROM containers WHERE name = ?').get(name) as Row | undefined);
  }

  byPrefix(prefix: string): ContainerRecord[] {
    if (!/^[a-f0-9]+$/.test(prefix)) return [];
    const rows = this.db.prepare('SELECT id, name, data FROM containers WHERE id >= ? AND id < ?').all(prefix, prefix + 'g') as Row[];
    return rows.map((r) => this.parse(r)!);
  }

  all(): ContainerRecord[] {
    const rows = this.db.prepare('SELECT id, name, data FROM containers ORDER BY created DESC, rowid DESC').all() as Row[];
    return rows.map((r) => this.parse(r)!);
  }

  usersOf(imageId: string): ContainerRecord[] {
    const rows = this.db.prepare('SELECT id, name, data FROM containers WHERE image_id = ?').all(imageId) as Row[];
    return rows.map((r) => this.parse(r)!);
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
