import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Intents, MetaDb } from '../../../src/meta/index.js';
import { COMMIT_INTENT, rollBackCommit, type CommitIntent, type CommitRecovery } from '../../../src/container/index.js';

/** Fakes of what a rollback touches, recording what was done to them. */
function fakes(opts: { runcStatus?: string; snapshots?: string[]; layers?: Record<string, number> }) {
  const log: string[] = [];
  const snaps = new Set(opts.snapshots ?? []);
  const layers = new Map(Object.entries(opts.layers ?? {})); // chain ID → users
  const db = new MetaDb(':memory:');
  const intents = new Intents(db);
  const deps = {
    intents,
    runc: {
      tryState: async () => (opts.runcStatus ? { status: opts.runcStatus } : undefined),
      resume: async (id: string) => void log.push(`resume ${id}`),
    },
    snapshots: {
      stat: async (key: string) => (snaps.has(key) ? { name: key } : undefined),
      remove: async (key: string) => {
        snaps.delete(key);
        log.push(`rm snapshot ${key}`);
      },
    },
    layers: {
      get: (chain: string) => (layers.has(chain) ? { chainId: chain } : undefined),
      release: async (chain: string[]) => {
        const c = chain[0]!;
        if (layers.get(c)) return [];
        layers.delete(c);
        log.push(`release ${c}`);
        return [c];
      },
    },
  } as unknown as CommitRecovery;
  return { deps, log, intents, db };
}

function staleIntent(intents: Intents, db: MetaDb, payload: CommitIntent) {
  const gone = spawnSync('true').pid!;
  const i = intents.begin(COMMIT_INTENT, 'c1', payload);
  db.prepare('UPDATE intents SET owner_pid = ?, owner_start = NULL WHERE id = ?').run(gone, i.id);
  return intents.get<CommitIntent>(i.id)!;
}

test('rollback of a commit killed while writing: resume the container, remove the partial snapshot, clear the intent', async () => {
  const { deps, log, intents, db } = fakes({ runcStatus: 'paused', snapshots: ['extract-1'] });
  const i = staleIntent(intents, db, { paused: true, snapshot: 'extract-1' });
  const done = await rollBackCommit(i, deps, false);
  assert.deepEqual(log, ['resume c1', 'rm snapshot extract-1']);
  assert.equal(done.length, 2);
  assert.deepEqual(intents.list(), []);
});

test('rollback leaves a container the user paused, and one runc does not know, as they are', async () => {
  for (const [runcStatus, userPaused] of [
    ['paused', true],
    [undefined, false],
    ['running', false],
  ] as const) {
    const { deps, log, intents, db } = fakes(runcStatus ? { runcStatus } : {});
    await rollBackCommit(staleIntent(intents, db, { paused: true }), deps, userPaused);
    assert.deepEqual(log, [], `runc ${runcStatus}, user paused ${userPaused}`);
  }
});

test('rollback releases the layer the commit made when no image uses it, keeps it when one does', async () => {
  const unused = fakes({ runcStatus: 'running', layers: { 'sha256:l': 0 } });
  await rollBackCommit(
    staleIntent(unused.intents, unused.db, { paused: false, layer: 'sha256:l' as never }),
    unused.deps,
    false,
  );
  assert.deepEqual(unused.log, ['release sha256:l']);
  const used = fakes({ runcStatus: 'running', layers: { 'sha256:l': 1 } });
  await rollBackCommit(
    staleIntent(used.intents, used.db, { paused: false, layer: 'sha256:l' as never }),
    used.deps,
    false,
  );
  assert.deepEqual(used.log, []);
  // Committed as a snapshot, killed before its layer row: the snapshot goes.
  const unrecorded = fakes({ snapshots: ['sha256:l'] });
  await rollBackCommit(
    staleIntent(unrecorded.intents, unrecorded.db, { paused: false, layer: 'sha256:l' as never }),
    unrecorded.deps,
    false,
  );
  assert.deepEqual(unrecorded.log, ['rm snapshot sha256:l']);
});
