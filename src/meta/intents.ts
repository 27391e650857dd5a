import { currentOwner, ownerAlive, type ProcessOwner } from '../util/index.js';
import type { MetaDb } from './db.js';

/**
 * What a multi-step operation is about to do outside its own temp space, recorded before it does it, so that a
 * process killed half-way leaves a note saying what to undo. `kind` names the operation (`commit`), `subject` what
 * it works on (a container ID), `payload` the operation's own JSON (what it paused, staged, created so far).
 */
export interface IntentRecord<P = Record<string, unknown>> {
  id: number;
  kind: string;
  subject: string;
  payload: P;
  owner: ProcessOwner;
  /** ISO time the intent was recorded. */
  created: string;
}

interface IntentRow {
  id: number;
  kind: string;
  subject: string;
  payload: string;
  owner_pid: number;
  owner_start: number | null;
  created: string;
}

const MIGRATIONS = [
  {
    version: 1,
    up: `CREATE TABLE intents (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      subject TEXT NOT NULL,
      payload TEXT NOT NULL,
      owner_pid INTEGER NOT NULL,
      owner_start INTEGER,
      created TEXT NOT NULL
    );
    CREATE INDEX intents_subject ON intents(kind, subject);`,
  },
];

function fromRow<P>(r: IntentRow): IntentRecord<P> {
  return {
    id: r.id,
    kind: r.kind,
    subject: r.subject,
    payload: JSON.parse(r.payload) as P,
    owner: { pid: r.owner_pid, startTime: r.owner_start ?? undefined },
    created: r.created,
  };
}

/**
 * The intent table (`intents` in wharf.db): the write-ahead notes of recoverable operations. An operation `begin`s
 * an intent before its first change, `update`s it as it stages more, and `clear`s it when done; whoever finds an
 * intent whose owner is gone (`stale`) rolls it back and clears it. Each call is one statement, so a note is in the
 * database (WAL, committed) before the change it announces is made.
 */
export class Intents {
  #ready = false;
  /**
   * The intents of this process whose operation is over (it failed and undid what it could) but whose `clear` the
   * database refused (a full disk): stale already, though their owner lives on.
   */
  readonly #over = new Set<number>();

  constructor(private readonly db: MetaDb) {
    this.#migrated();
  }

  /**
   * Whether the table exists, made on first need. A root made before intents existed gets it on its first command,
   * but on a full disk that write fails: reads then find no intents (there can be none yet) instead of failing
   * every command; only `begin` needs the table and reports the failure.
   */
  #migrated(mustWrite = false): boolean {
    if (this.#ready) return true;
    try {
      this.db.migrate('intents', MIGRATIONS);
      this.#ready = true;
    } catch (err) {
      if (mustWrite) throw err;
    }
    return this.#ready;
  }

  begin<P extends object>(kind: string, subject: string, payload: P): IntentRecord<P> {
    this.#migrated(true);
    const owner = currentOwner();
    const created = new Date().toISOString();
    const res = this.db
      .prepare('INSERT INTO intents(kind, subject, payload, owner_pid, owner_start, created) VALUES (?, ?, ?, ?, ?, ?)')
      .run(kind, subject, JSON.stringify(payload), owner.pid, owner.startTime ?? null, created);
    return { id: Number(res.lastInsertRowid), kind, subject, payload, owner, created };
  }

  /** Replace the payload (the operation staged more). */
  update<P extends object>(intent: IntentRecord<P>, payload: P): void {
    intent.payload = payload;
    this.db.prepare('UPDATE intents SET payload = ? WHERE id = ?').run(JSON.stringify(payload), intent.id);
  }

  clear(id: number): void {
    this.db.prepare('DELETE FROM intents WHERE id = ?').run(id);
    this.#over.delete(id);
  }

  /**
   * `clear` at the end of an operation that failed. When the database cannot take the delete either (the disk that
   * failed the operation is full), the note stays, counted stale by this process from now on, so that the next look at
   * its subject in this same process (a failed `run` removes the container it made) rolls it back and clears it like a
   * dead process's, as any later command would; the database's error is thrown, as `clear`'s. Before, such a note
   * stayed live until the process ended, and a container removed meanwhile left it naming nothing, which no command
   * but `system check --repair` ever looked at again.
   */
  clearFailed(id: number): void {
    try {
      this.clear(id);
    } catch (err) {
      this.#over.add(id);
      throw err;
    }
  }

  get<P = Record<string, unknown>>(id: number): IntentRecord<P> | undefined {
    if (!this.#migrated()) return undefined;
    const r = this.db.prepare('SELECT * FROM intents WHERE id = ?').get(id) as IntentRow | undefined;
    return r ? fromRow<P>(r) : undefined;
  }

  /** All intents, or those of one kind (and subject), oldest first. */
  list<P = Record<string, unknown>>(kind?: string, subject?: string): IntentRecord<P>[] {
    if (!this.#migrated()) return [];
    const rows = (
      kind === undefined
        ? this.db.prepare('SELECT * FROM intents ORDER BY id').all()
        : subject === undefined
          ? this.db.prepare('SELECT * FROM intents WHERE kind = ? ORDER BY id').all(kind)
          : this.db.prepare('SELECT * FROM intents WHERE kind = ? AND subject = ? ORDER BY id').all(kind, subject)
    ) as IntentRow[];
    return rows.map((r) => fromRow<P>(r));
  }

  /** The intents whose owner process is gone (or whose failed operation is over): what is left to roll back. */
  stale<P = Record<string, unknown>>(kind?: string, subject?: string): IntentRecord<P>[] {
    return this.list<P>(kind, subject).filter((i) => this.#over.has(i.id) || !ownerAlive(i.owner));
  }
}
