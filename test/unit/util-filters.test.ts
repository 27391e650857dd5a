import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelsMatch, splitFilter } from '../../src/util/index.js';
import { is } from '../../src/errors/index.js';

test("splitFilter: Docker's name=value, the name in lower case, the value as given (it may hold =)", () => {
  assert.deepEqual(splitFilter('Label=a=b'), { name: 'label', value: 'a=b' });
  assert.deepEqual(splitFilter('dangling='), { name: 'dangling', value: '' });
  for (const bad of ['dangling', '=x', '']) {
    assert.throws(
      () => splitFilter(bad),
      (e: unknown) => is(e, 'INVALID_ARGUMENT') && /bad format of filter/.test((e as Error).message),
      bad,
    );
  }
});

test('labelsMatch: key is "present", key=value is "equal"; inherited object keys are not labels', () => {
  const labels = { a: '1', empty: '' };
  assert.equal(labelsMatch(labels, 'a'), true);
  assert.equal(labelsMatch(labels, 'a=1'), true);
  assert.equal(labelsMatch(labels, 'a=2'), false);
  assert.equal(labelsMatch(labels, 'empty='), true);
  assert.equal(labelsMatch(labels, 'b'), false);
  assert.equal(labelsMatch(labels, 'constructor'), false);
});
