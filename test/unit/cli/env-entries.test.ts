import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { expandEnvEntries, readEnvFile } from '../../../src/cli/commands/container-shared.js';

test('-e NAME takes the value of the CLI process; unset names are left out; KEY=VALUE stays as given', () => {
  const env = { HOME_DIR: '/home/u', EMPTY: '' };
  assert.deepEqual(expandEnvEntries(['A=1', 'HOME_DIR', 'EMPTY', 'UNSET', 'B='], env), [
    'A=1',
    'HOME_DIR=/home/u',
    'EMPTY=',
    'B=',
  ]);
});

test('--env-file: comments and blank lines skipped, a bare name expanded from the CLI environment', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-env-'));
  try {
    const file = path.join(dir, 'env.list');
    await writeFile(file, '# comment\n  A=1\r\n\nWHARF_TEST_ENV_FILE_SET\nWHARF_TEST_ENV_FILE_UNSET\n');
    process.env.WHARF_TEST_ENV_FILE_SET = 'from-cli';
    delete process.env.WHARF_TEST_ENV_FILE_UNSET;
    assert.deepEqual(await readEnvFile(file), ['A=1', 'WHARF_TEST_ENV_FILE_SET=from-cli']);
  } finally {
    delete process.env.WHARF_TEST_ENV_FILE_SET;
    await rm(dir, { recursive: true, force: true });
  }
});
