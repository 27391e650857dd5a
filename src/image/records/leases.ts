import type { MetaDb } from '../../meta/index.js';

export interface LeaseRecord {
  id: string;
  pid: number;
  created: string;
}

/** The `leases` and `lease_resources` tables: content and snapshots an operation in progress holds from GC. */
export class LeaseTable {
  constructor(private readonly db: MetaDb) {}

  create(id: string, pid: number): void {
    this.db.prepare('INSERT INTO leases(id, pid, created) VALUES (?, ?, ?)').run(id, pid, new Date().toISOString());
  }
  addResource(id: string, kind: 'content' | 'snapshot', ref: string): void {
    this.db.prepare('INSERT OR IGNORE INTO lease_resources(lease_id, kind, ref) VALUES (?, ?, ?)').run(id, kind, ref);
  }
  delete(id: string): void {
    this.db.prepare('DELETE FROM leases WHERE id = ?').run(id);
  }
  all(): LeaseRecord[] {
    return this.db.prepare('SELECT * FROM leases').all() as LeaseRecord[];
  }
  refs(kind: 'content' | 'snapshot'): Set<string> {
    return new Set(
      (this.db.prepare('SELECT ref FROM lease_resources WHERE kind = ?').all(kind) as Array<{ ref: string }>).map(
        (r) => r.ref,
      ),
    );
  }
}
