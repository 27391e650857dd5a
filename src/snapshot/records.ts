import type { MetaDb, Migration } from '../meta/index.js';
import type { SnapshotInfo, SnapshotKind, Usage } from './types.js';

/**
 * The snapshotter's own tables in the shared metadata database (namespace 'snapshots').
 * Every backend keeps its rows apart (`snapshotter` column) while directories are numbered by one global id, so a
 * root that switches from native to overlay never mixes the two kinds of layer dir.
 */
export const SNAPSHOT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE snapshots (
        -- AUTOINCREMENT: an id (and so a directory name) is never reused after a removal.
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        snapshotter TEXT NOT NULL,
        key         TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
        parent_id   INTEGER REFERENCES snapshots(id) ON DELETE RESTRICT,
        created     TEXT NOT NULL,
        updated     TEXT NOT NULL,
        labels      TEXT NOT NULL DEFAULT '{}',
        -- Usage of a committed snapshot, measured once when it is committed (its files no longer change).
        size        INTEGER,
        inodes      INTEGER,
        UNIQUE (snapshotter, key)
      );
      CREATE INDEX snapshots_parent ON snapshots(parent_id);
    `,
  },
];

export interface SnapshotRecord {
  id: number;
  key: string;
  kind: SnapshotKind;
  parentId: number | null;
  parentKey: string | null;
  created: string;
  updated: string;
  labels: Record<string, string>;
  usage: Usage | undefined;
}

interface Row {
  id: number;
  key: string;
  kind: SnapshotKind;
  parent_id: number | null;
  parent_key: string | null;
  created: string;
  updated: string;
  labels: string;
  size: number | null;
  inodes: number | null;
}

const SELECT = `SELECT s.id, s.key, s.kind, s.parent_id, p.key AS parent_key, s.created, s.updated, s.labels, s.size, s.inodes
  FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent_id`;

function toRecord(r: Row): SnapshotRecord {
  return {
    id: r.id,
    key: r.key,
    kind: r.kind,
    parentId: r.parent_id,
    parentKey: r.parent_key,
    created: r.created,
    updated: r.updated,
    labels: JSON.parse(r.labels) as Record<string, string>,
    usage: r.size === null || r.inodes === null ? undefined : { size: r.size, inodes: r.inodes },
  };
}

export function toInfo(r: SnapshotRecord): SnapshotInfo {
  const info: SnapshotInfo = {
    key: r.key,
    kind: r.kind,
    created: r.created,
    updated: r.updated,
    labels: { ...r.labels },
  };
  if (r.parentKey !== null) info.parent = r.parentKey;
  return info;
}

/** Synchronous queries (better-sqlite3): callers compose them inside `db.immediate` when a change has several steps. */
export class SnapshotRecords {
  constructor(
    readonly db: MetaDb,
    readonly snapshotter: string,
  ) {
    db.migrate('snapshots', SNAPSHOT_MIGRATIONS);
  }

  byKey(key: string): SnapshotRecord | undefined {
    const row = this.db.prepare(`${SELECT} WHERE s.snapshotter = ? AND s.key = ?`).get(this.snapshotter, key) as
      | Row
      | undefined;
    return row && toRecord(row);
  }

  all(): SnapshotRecord[] {
    return (this.db.prepare(`${SELECT} WHERE s.snapshotter = ? ORDER BY s.id`).all(this.snapshotter) as Row[]).map(
      toRecord,
    );
  }

  /** Ids of the parents of snapshot `id`, nearest first. */
  parentIds(id: number): number[] {
    const rows = this.db
      .prepare(
        `WITH RECURSIVE chain(id, parent_id, depth) AS (
           SELECT id, parent_id, 0 FROM snapshots WHERE id = ?
           UNION ALL
           SELECT s.id, s.parent_id, c.depth + 1 FROM snapshots s JOIN chain c ON s.id = c.parent_id
         )
         SELECT id FROM chain WHERE depth > 0 ORDER BY depth`,
      )
      .all(id) as Array<{ id: number }>;
    return rows.map((r) => r.id);
  }

  childCount(id: number): number {
    return (this.db.prepare('SELECT count(*) AS n FROM snapshots WHERE parent_id = ?').get(id) as { n: number }).n;
  }

  insert(r: { key: string; kind: SnapshotKind; parentId: number | null; labels: Record<string, string> }): number {
    const now = new Date().toISOString();
    const res = this.db
      .prepare(
        'INSERT INTO snapshots (snapshotter, key, kind, parent_id, created, updated, labels) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(this.snapshotter, r.key, r.kind, r.parentId, now, now, JSON.stringify(r.labels));
    return Number(res.lastInsertRowid);
  }

  markCommitted(id: number, name: string, labels: Record<string, string>, usage: Usage): void {
    this.db
      .prepare(
        `UPDATE snapshots SET key = ?, kind = 'committed', updated = ?, labels = ?, size = ?, inodes = ? WHERE id = ?`,
      )
      .run(name, new Date().toISOString(), JSON.stringify(labels), usage.size, usage.inodes, id);
  }

  setLabels(id: number, labels: Record<string, string>): void {
    this.db
      .prepare('UPDATE snapshots SET labels = ?, updated = ? WHERE id = ?')
      .run(JSON.stringify(labels), new Date().toISOString(), id);
  }

  delete(id: number): void {
    this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id);
  }

  /** Every id of every backend: a directory is a leftover only if no backend owns it. */
  allIds(): Set<number> {
    return new Set((this.db.prepare('SELECT id FROM snapshots').all() as Array<{ id: number }>).map((r) => r.id));
  }
}
