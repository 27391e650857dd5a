import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { formatError, markDaemonSide, withErrorPrefix } from '../../../src/cli/errors.js';
import { WharfError, invalidFilter } from '../../../src/errors/index.js';

test("errors as the docker CLI 28 prints them: the daemon's with its prefix, its own bare or with Error: ", async () => {
  assert.equal(formatError(new WharfError('NOT_FOUND', 'No such container: x'), false), 'No such container: x');
  assert.equal(
    formatError(markDaemonSide(new WharfError('NOT_FOUND', 'No such container: x')), false),
    'Error response from daemon: No such container: x',
  );
  // A filter the engine refuses is the daemon's, also where the CLI parsed it.
  assert.equal(formatError(invalidFilter("'nope'"), false), "Error response from daemon: invalid filter 'nope'");
  assert.equal(
    formatError(withErrorPrefix(new WharfError('INVALID_ARGUMENT', 'Cannot perform an interactive login')), false),
    'Error: Cannot perform an interactive login',
  );
  // A reference that does not parse is never the daemon's (the docker CLI parses them).
  assert.equal(
    formatError(markDaemonSide(new WharfError('INVALID_ARGUMENT', 'invalid reference format')), false),
    'invalid reference format',
  );
  // A host path the engine was asked about, but the docker CLI checks itself.
  const clientSide = new WharfError('NOT_FOUND', 'stat /x: no such file', { details: { clientSide: true } });
  assert.equal(formatError(markDaemonSide(clientSide), false), 'stat /x: no such file');
});

test("Node's system call errors in Go's words (as the docker CLI and dockerd print them)", async () => {
  const open = await fsp.open('/no/such/file.tar').catch((e: unknown) => e);
  assert.equal(formatError(open, false), 'open /no/such/file.tar: no such file or directory');
  const rename = await fsp.rename('/no/such/a', '/no/such/b').catch((e: unknown) => e);
  assert.equal(formatError(rename, false), 'rename /no/such/a /no/such/b: no such file or directory');
  assert.equal(
    formatError(markDaemonSide(open), false),
    'Error response from daemon: open /no/such/file.tar: no such file or directory',
  );
  // A message that only looks like one (no errno fields) is left as it is.
  assert.equal(
    formatError(new Error("ENOENT: no such file or directory, open '/x'"), false),
    "ENOENT: no such file or directory, open '/x'",
  );
});
