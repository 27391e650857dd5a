import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signalAnswer, signalNumberOf } from '../../../src/runtime/monitor-signal.js';

test('signal numbers as runc takes them; what only runc parses is left to runc', () => {
  assert.equal(signalNumberOf('SIGKILL'), 9);
  assert.equal(signalNumberOf('KILL'), 9);
  assert.equal(signalNumberOf('SIGTERM'), 15);
  assert.equal(signalNumberOf('10'), 10);
  assert.equal(signalNumberOf('0'), undefined);
  assert.equal(signalNumberOf('65'), undefined);
  assert.equal(signalNumberOf('SIGRTMIN+3'), undefined);
  assert.equal(signalNumberOf('NOPE'), undefined);
});

test("the monitor's answer to a SIGNAL frame", () => {
  assert.equal(signalAnswer('{"sent":true}'), 'sent');
  assert.equal(signalAnswer('{"sent":false,"errno":"ESRCH"}'), 'exited');
  assert.equal(signalAnswer('{"sent":false,"errno":"ENOENT"}'), 'unavailable');
  assert.equal(signalAnswer('{"sent":false}'), 'unavailable');
  assert.equal(signalAnswer('not json'), 'unavailable');
});
