import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import { betterSqliteBinding } from '../util/index.js';

export type SqliteDatabase = Database.Database;

/** One schema step. Steps of a namespace run in order, each in its own transaction, exactly once. */
export interface Migration {
  version: number;
  up: string | ((db: SqliteDatabase) => void);
}

/**
 * Switching a new database file to WAL needs it to itself for a moment, and SQLite answers SQLITE_BUSY at once then
 * instead of calling the busy handler: two commands opening a fresh root together (two `pull`s) failed with
 * "database is locked". Retried, bounded like the busy timeout; an existing WAL database returns at once.
 */
function setWalMode(sql: SqliteDatabase): void {
  const deadline = Date.now() + 15_000;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      sql.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay);
    }
  }
}

export interface MetaDbOptions {
  readonly?: boolean;
  /**
   * A short command that mostly reads (`ps`, `images`, `inspect`): when the disk is so full that SQLite cannot make
   * its shared-memory file, open the database for this process alone (exclusive locking) instead of failing. Not for
   * long-lived processes: other commands would wait for it as long as it runs.
   */
  aloneWhenFull?: boolean;
}

/** The errors of SQLite's shared-memory file (`-shm`) that a full disk (or a read-only directory) causes. */
const SHM_FAILURES = new Set(['SQLITE_IOERR_SHMSIZE', 'SQLITE_IOERR_SHMOPEN', 'SQLITE_IOERR_SHMMAP']);

function openSqlite(file: string, opts: MetaDbOptions): SqliteDatabase {
  try {
    // By path: better-sqlite3's own lookup (`bindings`) walks a stack trace and probes paths at every start.
    const binding = betterSqliteBinding();
    return new Database(file, {
      readonly: opts.readonly ?? false,
      timeout: 15_000,
      ...(binding ? { nativeBinding: binding } : {}),
    });
  } catch (err) {
    throw new WharfError('UNAVAILABLE', `cannot open metadata database ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The connection, in WAL mode, with the tables every namespace needs. */
function openInitialized(file: string, opts: MetaDbOptions): SqliteDatabase {
  const sql = openSqlite(file, opts);
  try {
    initConnection(sql);
    return sql;
  } catch (err) {
    sql.close();
    if (!opts.aloneWhenFull || !SHM_FAILURES.has((err as { code?: string }).code ?? '')) throw err;
  }
  // The disk is full to the byte: SQLite cannot size the shared-memory index (`-shm`) that WAL connections share.
  // In exclusive locking mode it keeps that index in its own memory instead (sqlite.org/wal.html, "Use of WAL
  // without shared memory"), so a short read verb still works; other commands wait for it as for a writer.
  const alone = openSqlite(file, opts);
  try {
    alone.pragma('locking_mode = EXCLUSIVE');
    initConnection(alone);
    return alone;
  } catch (err) {
    alone.close();
    throw err;
  }
}

function initConnection(sql: SqliteDatabase): void {
  setWalMode(sql);
  // NORMAL in WAL mode keeps the database consistent on a crash; only a power loss can drop the last commits.
  sql.pragma('synchronous = NORMAL');
  sql.pragma('foreign_keys = ON');
  sql.exec(`CREATE TABLE IF NOT EXISTS schema_versions (namespace TEXT PRIMARY KEY, version INTEGER NOT NULL)`);
  sql.exec(`CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
}

/**
 * The metadata database: one SQLite file in WAL mode shared by all Wharf services of a root.
 * Each service owns a schema namespace ('images', 'snapshots', 'containers', …) and migrates it itself, so modules
 * stay independent while every multi-step change can still be one transaction across them.
 */
export class MetaDb {
  readonly sql: SqliteDatabase;

  constructor(
    readonly file: string,
    opts: MetaDbOptions = {},
  ) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.sql = openInitialized(file, opts);
  }

  /** A root-wide setting (e.g. which snapshotter this root was created with). */
  getSetting(key: string): string | undefined {
    return (this.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  /** Set a setting unless it is already set; returns the value in force. */
  initSetting(key: string, value: string): string {
    this.prepare('INSERT OR IGNORE INTO settings(key, value) VALUES (?, ?)').run(key, value);
    return this.getSetting(key)!;
  }

  /** Apply the namespace's migrations that have not run yet. Safe when several processes start at once. */
  migrate(namespace: string, migrations: readonly Migration[]): void {
    const current = () =>
      (
        this.prepare('SELECT version FROM schema_versions WHERE namespace = ?').get(namespace) as
          | { version: number }
          | undefined
      )?.version ?? 0;
    const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
    if (current() >= latest) return;
    // IMMEDIATE takes the write lock up front, so two processes cannot both decide to run the same step.
    this.immediate(() => {
      const from = current();
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (m.version <= from) continue;
        if (typeof m.up === 'string') this.sql.exec(m.up);
        else m.up(this.sql);
        this.sql
          .prepare(
            'INSERT INTO schema_versions(namespace, version) VALUES (?, ?) ON CONFLICT(namespace) DO UPDATE SET version = excluded.version',
          )
          .run(namespace, m.version);
      }
    });
  }

  /** Run `fn` in a write transaction taken at the start (BEGIN IMMEDIATE): no lost updates between processes. */
  readonly #statements = new Map<string, Database.Statement>();

  /**
   * A compiled statement, compiled once per connection: the records modules ask for the same few statements many
   * times in one command (a `run` asked 38 times for 14 statements), and compiling SQL costs ~60 us a time.
   */
  prepare(source: string): Database.Statement {
    let stmt = this.#statements.get(source);
    if (!stmt) {
      stmt = this.sql.prepare(source);
      this.#statements.set(source, stmt);
    }
    return stmt;
  }

  immediate<T>(fn: () => T): T {
    return this.sql.transaction(fn).immediate();
  }

  /** Run `fn` in a deferred transaction (consistent reads). */
  read<T>(fn: () => T): T {
    return this.sql.transaction(fn).deferred();
  }

  close(): void {
    if (this.sql.open) this.sql.close();
  }
}

export function openMetaDb(root: string, opts: MetaDbOptions = {}): MetaDb {
  return new MetaDb(path.join(root, 'wharf.db'), opts);
}
