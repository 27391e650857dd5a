/**
 * A private PostgreSQL 15 cluster per test file, through scripts/postgres.sh (the script docs/scale-out.md uses too):
 * its own data directory under the temp dir, a free 127.0.0.1 port, stopped by PID. Tests that need it skip when
 * PostgreSQL is not installed; under CI=true that skip is a failure (scripts/skip-policy.mjs).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileP = promisify(execFile);
const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/postgres.sh');
const PGBIN = '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  /** postgresql://wharf@127.0.0.1:PORT/wharf */
  dsn: string;
  dir: string;
  /**
   * A DSN whose tables live in a fresh schema of their own (search_path): what a test that must not see the others'
   * rows uses. Cheaper than a database each (CREATE DATABASE copies a template and checkpoints).
   */
  freshSchema(name: string): Promise<string>;
  /** Fast shutdown and start again on the same port (what the fault tests do under load). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Why PostgreSQL cannot run here, or undefined when it can: the reason a test skips with. */
export function postgresMissing(): string | undefined {
  return existsSync(`${PGBIN}/postgres`) ? undefined : `no PostgreSQL 15 in ${PGBIN} (apt-get install postgresql)`;
}

export async function startPostgres(): Promise<TestPostgres> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-pg-'));
  const run = async (...args: string[]) =>
    (
      await execFileP('bash', [SCRIPT, ...args], { timeout: 120_000, env: { ...process.env, PG_FSYNC: 'off' } })
    ).stdout.trim();
  let dsn: string;
  try {
    dsn = (await run('start', dir)).split('\n').pop()!;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dsn,
    dir,
    async freshSchema(name: string) {
      const schema = name.replace(/[^a-z0-9_]/g, '_');
      const c = new pg.Client({ connectionString: dsn });
      await c.connect();
      try {
        await c.query(`CREATE SCHEMA ${schema}`);
      } finally {
        await c.end();
      }
      return `${dsn}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    },
    async restart() {
      await run('restart', dir);
    },
    async stop() {
      try {
        await run('stop', dir);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
