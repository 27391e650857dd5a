import pg from 'pg';
import { WharfError } from '../../errors/index.js';
import { MIGRATIONS, type Migration } from './postgres-migrations.js';

export interface PostgresIndexOptions {
  /** libpq-style URL: postgresql://user:password@host:port/database?sslmode=... */
  dsn: string;
  /** Connections this process keeps at most (`database.pool`). */
  pool: number;
  /** A statement running longer is cancelled and the request fails with 503 (`database.statementtimeout`); 0: none. */
  statementTimeoutMs: number;
  /** Apply pending migrations when opening (the server does); false only checks the schema version. */
  migrate: boolean;
  /** With migrate false: skip the check too (`registry migrate` opens, then migrates itself). */
  check?: boolean;
  /** Called once per query with its duration, for the server's metrics; `ok` false when it failed. */
  observe?: (seconds: number, ok: boolean) => void;
}

/** One query, as every part of the index issues it: SQL with $n parameters, rows out. */
export type Query = <R extends pg.QueryResultRow = Record<string, unknown>>(
  sql: string,
  params?: unknown[],
) => Promise<{ rows: R[]; rowCount: number }>;

/**
 * Every writer takes this advisory lock shared for its transaction; the garbage collector takes it exclusive. So a GC,
 * on whichever replica, sees and changes the index while no write is half done, and writers on every replica wait
 * only for the GC's index transaction (not for its byte deletions). Readers take nothing.
 */
const GC_LOCK = 0x77_68_61_72_66_67_63n; // "wharfgc"
/** Held while migrating, so two replicas starting at once do not both apply a migration. */
const MIGRATE_LOCK = 0x77_68_61_72_66_6d_69n; // "wharfmi"

/** BIGINT (int8) columns hold millisecond times and sizes: numbers, not the strings pg returns by default. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

// SQLSTATE classes and node errors that mean "the database is not there right now", as opposed to a bad query.
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '40001', '40P01', '55P03']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether `err` says the database is down, restarting, overloaded or cancelled the statement (retry later: 503). */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string') {
    if (e.code.startsWith('08') || UNAVAILABLE_STATES.has(e.code) || UNAVAILABLE_ERRNOS.has(e.code)) return true;
  }
  // pg's own errors when a connection dies or cannot be had have no code, only these messages.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    e?.message ?? '',
  );
}

/** Database errors as Wharf errors: unavailability is UNAVAILABLE (the server answers 503 with Retry-After). */
export function mapPgError(err: unknown): unknown {
  if (err instanceof WharfError) return err;
  if (isUnavailable(err))
    return new WharfError('UNAVAILABLE', `registry database unavailable: ${(err as Error).message}`, { cause: err });
  return err;
}

const RETRYABLE_IN_TX = new Set(['40001', '40P01']);
const TX_ATTEMPTS = 4;

/** A pool of connections to the registry's PostgreSQL database, with the schema checked or migrated on open. */
export class PostgresConnection {
  readonly pool: pg.Pool;
  readonly #observe: ((seconds: number, ok: boolean) => void) | undefined;
  /**
   * While this process runs a GC transaction, its own other calls (reads too) wait for it, as with SQLite: a request
   * then never reads a blob row the GC is about to delete. Other replicas' reads go on (MVCC); their writes wait on
   * the advisory lock.
   */
  #exclusive: Promise<void> | undefined;
  /** Transactions this process has begun (every write is one): a read taken before the count moved is still current. */
  #writes = 0;

  get writes(): number {
    return this.#writes;
  }

  private constructor(opts: PostgresIndexOptions) {
    this.pool = new pg.Pool({
      connectionString: opts.dsn,
      max: opts.pool,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
      ...(opts.statementTimeoutMs > 0 ? { statement_timeout: opts.statementTimeoutMs } : {}),
      application_name: 'wharf-registry',
      types,
    });
    // An idle connection that the server ends (a restart) emits here; without a listener the process would die.
    this.pool.on('error', () => undefined);
    this.#observe = opts.observe;
  }

  static async open(opts: PostgresIndexOptions): Promise<PostgresConnection> {
    const c = new PostgresConnection(opts);
    try {
      if (opts.migrate) await c.migrate();
      else if (opts.check !== false) await c.checkSchema();
      return c;
    } catch (err) {
      await c.pool.end().catch(() => undefined);
      throw mapPgError(err);
    }
  }

  #timed<T>(run: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const done = (ok: boolean) => this.#observe?.(Number(process.hrtime.bigint() - started) / 1e9, ok);
    return run().then(
      (v) => {
        done(true);
        return v;
      },
      (err: unknown) => {
        done(false);
        throw mapPgError(err);
      },
    );
  }

  /** One statement on any pooled connection (its own implicit transaction). */
  readonly q: Query = (sql, params) =>
    this.#timed(async () => {
      while (this.#exclusive !== undefined) await this.#exclusive;
      const r = await this.pool.query(sql, params as unknown[]);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    });

  /**
   * `fn` in one transaction that holds the GC lock shared (`exclusive`: the GC's own, alone). Rolled back when `fn`
   * throws; retried from the start on a deadlock or serialization failure, so `fn` must only touch the database.
   */
  async tx<T>(fn: (q: Query) => Promise<T>, exclusive = false): Promise<T> {
    this.#writes++;
    while (this.#exclusive !== undefined) await this.#exclusive;
    if (!exclusive) return this.#retrying(fn, false);
    let end!: () => void;
    this.#exclusive = new Promise<void>((resolve) => (end = resolve));
    try {
      return await this.#retrying(fn, true);
    } finally {
      this.#exclusive = undefined;
      end();
    }
  }

  async #retrying<T>(fn: (q: Query) => Promise<T>, exclusive: boolean): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#txOnce(fn, exclusive);
      } catch (err) {
        const code = ((err as WharfError).cause as { code?: string } | undefined)?.code;
        if (attempt >= TX_ATTEMPTS || code === undefined || !RETRYABLE_IN_TX.has(code)) throw err;
      }
    }
  }

  async #txOnce<T>(fn: (q: Query) => Promise<T>, exclusive: boolean): Promise<T> {
    const client = await this.#timed(() => this.pool.connect());
    let broken = false;
    // A checked-out client whose server goes away (a restart) emits 'error' between queries; unheard, that would end
    // the process. The next query of the transaction fails on its own.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    const q: Query = (sql, params) =>
      this.#timed(async () => {
        try {
          const r = await client.query(sql, params as unknown[]);
          return { rows: r.rows, rowCount: r.rowCount ?? 0 };
        } catch (err) {
          if (isUnavailable(err)) broken = true;
          throw err;
        }
      });
    try {
      await q('BEGIN');
      await q(`SELECT ${exclusive ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'}($1)`, [GC_LOCK]);
      const out = await fn(q);
      await q('COMMIT');
      return out;
    } catch (err) {
      if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      // A connection that failed mid-transaction is not given back: the pool makes a new one.
      client.off('error', onError);
      client.release(broken ? true : undefined);
    }
  }

  /** The schema version the database has (0: none yet). */
  async schemaVersion(q: Query = this.q): Promise<number> {
    const exists = await q<{ t: string | null }>("SELECT to_regclass('wharf_schema_migrations')::text AS t");
    if (exists.rows[0]?.t === null || exists.rows[0]?.t === undefined) return 0;
    const r = await q<{ v: number | null }>('SELECT max(version) AS v FROM wharf_schema_migrations');
    return r.rows[0]?.v ?? 0;
  }

  /** Refuses a database migrated by a newer Wharf, and one not migrated up to this Wharf's schema. */
  async checkSchema(): Promise<void> {
    const v = await this.schemaVersion();
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (v > latest) throw newerSchema(v, latest);
    if (v < latest)
      throw new WharfError(
        'FAILED_PRECONDITION',
        `registry database has schema ${v}, this Wharf needs ${latest}: run \`wharf registry migrate\``,
      );
  }

  /** Applies pending migrations in one transaction (under a lock, so replicas starting together apply each once). */
  async migrate(): Promise<{ from: number; to: number; applied: Migration[] }> {
    const client = await this.pool.connect();
    const onError = () => undefined; // as in #txOnce: the failing query reports it
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS wharf_schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      const q: Query = async (sql, params) => {
        const r = await client.query(sql, params as unknown[]);
        return { rows: r.rows, rowCount: r.rowCount ?? 0 };
      };
      const from = await this.schemaVersion(q);
      const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
      if (from > latest) throw newerSchema(from, latest);
      const applied = MIGRATIONS.filter((m) => m.version > from);
      for (const m of applied) {
        await client.query(m.sql);
        await client.query('INSERT INTO wharf_schema_migrations (version, description) VALUES ($1, $2)', [
          m.version,
          m.description,
        ]);
      }
      await client.query('COMMIT');
      return { from, to: Math.max(from, latest), applied };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw mapPgError(err);
    } finally {
      client.off('error', onError);
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function newerSchema(v: number, latest: number): WharfError {
  return new WharfError(
    'FAILED_PRECONDITION',
    `registry database has schema ${v}, newer than this Wharf knows (${latest}): upgrade Wharf, or point database.dsn elsewhere`,
  );
}
