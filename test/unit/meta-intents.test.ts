import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Intents, MetaDb } from '../../src/meta/index.js';
import { ownerAlive, processStartTime } from '../../src/util/index.js';

test('intents: begin records the owner, update replaces the payload, clear removes it; list filters by kind and subject', () => {
  const db = new MetaDb(':memory:');
  const intents = new Intents(db);
  const a = intents.begin<{ paused: boolean; snapshot?: string }>('commit', 'c1', { paused: true });
  const b = intents.begin('run', 'c2', { netns: '/run/netns/x' });
  assert.equal(a.owner.pid, process.pid);
  assert.equal(a.owner.startTime, processStartTime(process.pid));
  intents.update(a, { paused: true, snapshot: 'extract-1' });
  assert.deepEqual(intents.get(a.id)?.payload, { paused: true, snapshot: 'extract-1' });
  assert.deepEqual(
    intents.list('commit').map((i) => i.subject),
    ['c1'],
  );
  assert.deepEqual(intents.list('commit', 'c2'), []);
  assert.equal(intents.list().length, 2);
  // This process is alive: nothing is stale.
  assert.deepEqual(intents.stale(), []);
  intents.clear(a.id);
  intents.clear(b.id);
  assert.deepEqual(intents.list(), []);
  db.close();
});

test('intents of a process that is gone, or whose PID now names another process, are stale', () => {
  const db = new MetaDb(':memory:');
  const intents = new Intents(db);
  const gone = spawnSync('true').pid!; // exited and reaped: its PID names nothing (or, rarely, someone new)
  db.prepare(
    "INSERT INTO intents(kind, subject, payload, owner_pid, owner_start, created) VALUES ('commit', 'dead', '{}', ?, NULL, 'x')",
  ).run(gone);
  // The PID lives (it is ours) but started at another time: a reused PID is not the owner.
  db.prepare(
    "INSERT INTO intents(kind, subject, payload, owner_pid, owner_start, created) VALUES ('commit', 'reused', '{}', ?, ?, 'x')",
  ).run(process.pid, (processStartTime(process.pid) ?? 0) + 1);
  intents.begin('commit', 'live', {});
  const stale = intents.stale().map((i) => i.subject);
  assert.ok(stale.includes('reused'));
  assert.ok(!stale.includes('live'));
  if (!ownerAlive({ pid: gone, startTime: undefined })) assert.ok(stale.includes('dead'));
  db.close();
});

test('clearFailed: a note the database will not delete is stale at once for this process, and cleared later', () => {
  const db = new MetaDb(':memory:');
  const intents = new Intents(db);
  const failed = intents.begin('start', 'c1', {});
  const live = intents.begin('start', 'c2', {});
  db.sql.pragma('query_only = ON'); // the database refuses writes, as a full disk's does
  assert.throws(() => intents.clearFailed(failed.id));
  db.sql.pragma('query_only = OFF');
  // Its owner (this process) lives, but its operation is over: rolled back by the next look at c1, not only after exit.
  assert.deepEqual(
    intents.stale('start').map((i) => i.subject),
    ['c1'],
  );
  intents.clearFailed(failed.id);
  assert.deepEqual(
    intents.list('start').map((i) => i.subject),
    ['c2'],
  );
  assert.deepEqual(intents.stale(), []);
  intents.clear(live.id);
  db.close();
});

test('processStartTime reads field 22 of /proc/<pid>/stat; ownerAlive needs the same PID and start time', () => {
  const mine = processStartTime(process.pid);
  assert.ok(mine !== undefined && mine > 0);
  assert.equal(processStartTime(process.pid), mine);
  assert.equal(processStartTime(2 ** 22 + 12345), undefined);
  assert.equal(ownerAlive({ pid: process.pid, startTime: mine }), true);
  assert.equal(ownerAlive({ pid: process.pid, startTime: mine! + 1 }), false);
});
