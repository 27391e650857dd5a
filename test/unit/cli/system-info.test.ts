import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binarySize, versionText } from '../../../src/cli/commands/system-info.js';
import { parsePruneFilter, prunable, pruneWarning } from '../../../src/cli/commands/system-prune.js';

test("go-units BytesSize for info's Total Memory", () => {
  assert.equal(binarySize(25_275_000_000), '23.54GiB');
  assert.equal(binarySize(2 * 1024 ** 3), '2GiB');
  assert.equal(binarySize(512), '512B');
});

test("system prune's warning lists what these flags remove, in Docker's words", () => {
  assert.equal(
    pruneWarning({}),
    'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n' +
      '  - all dangling images\n  - unused build cache\n',
  );
  assert.equal(
    pruneWarning({ all: true, volumes: true }),
    'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n' +
      '  - all anonymous volumes not used by at least one container\n' +
      '  - all images without at least one container associated to them\n  - all build cache\n',
  );
});

test('system prune --filter: until and label/label! as the prunes take them', () => {
  const now = Date.UTC(2026, 0, 2);
  const f = parsePruneFilter(['until=24h', 'label=keep=no', 'label!=pinned'], now);
  assert.equal(f.until, Date.UTC(2026, 0, 1));
  assert.equal(prunable(f, '2025-12-31T00:00:00Z', { keep: 'no' }), true);
  assert.equal(prunable(f, '2026-01-01T12:00:00Z', { keep: 'no' }), false, 'too new');
  assert.equal(prunable(f, '2025-12-31T00:00:00Z', { keep: 'yes' }), false, 'label value differs');
  assert.equal(prunable(f, '2025-12-31T00:00:00Z', { keep: 'no', pinned: '' }), false, 'label! present');
  assert.throws(() => parsePruneFilter(['dangling=true']), /invalid filter 'dangling'/);
});

test("version's layout: Docker's blocks, values aligned", () => {
  const text = versionText({
    Client: {
      Platform: { Name: 'Wharf' },
      Version: '1.0.0',
      NodeVersion: 'v20.0.0',
      Os: 'linux',
      Arch: 'amd64',
      Context: 'default',
    },
    Server: {
      Platform: { Name: 'Wharf (daemonless)' },
      Components: [
        {
          Name: 'Engine',
          Version: '1.0.0',
          Details: { NodeVersion: 'v20.0.0', Os: 'linux', Arch: 'amd64', Experimental: 'false' },
        },
        { Name: 'runc', Version: '1.1.5', Details: { GitCommit: 'abc' } },
      ],
    },
  });
  assert.equal(
    text,
    [
      'Client: Wharf',
      ' Version:           1.0.0',
      ' Node.js version:   v20.0.0',
      ' OS/Arch:           linux/amd64',
      ' Context:           default',
      '',
      'Server: Wharf (daemonless)',
      ' Engine:',
      '  Version:          1.0.0',
      '  Node.js version:  v20.0.0',
      '  OS/Arch:          linux/amd64',
      '  Experimental:     false',
      ' runc:',
      '  Version:          1.1.5',
      '  GitCommit:        abc',
      '',
    ].join('\n'),
  );
});
