import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pullPolicyOf } from '../../../src/cli/commands/pull-missing.js';
import { is } from '../../../src/errors/index.js';

test('--pull accepts always, missing and never (missing by default); anything else fails with the docker CLI message', () => {
  assert.equal(pullPolicyOf(undefined), 'missing');
  for (const p of ['always', 'missing', 'never'] as const) assert.equal(pullPolicyOf(p), p);
  for (const bad of ['', 'Always', 'true', 'newer']) {
    assert.throws(
      () => pullPolicyOf(bad),
      (err) =>
        is(err, 'INVALID_ARGUMENT') &&
        (err as Error).message === `invalid pull option: '${bad}': must be one of "always", "missing" or "never"`,
    );
  }
});
