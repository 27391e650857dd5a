/** The default bridge's leases: ipam.ts's first free address, taken host-wide with one O_EXCL file per address. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { releaseAddress, reserveAddress } from '../../src/network/native-bridge.js';

test('the first free address is leased, skipping the gateway and leases of others; released by owner only', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wharf-ipam-'));
  try {
    assert.equal(reserveAddress(dir, '10.9.0.0/29', '10.9.0.1', 'a', 'eth0'), '10.9.0.2');
    assert.equal(readFileSync(path.join(dir, '10.9.0.2'), 'utf8'), 'a\r\neth0', "host-local's format");
    writeFileSync(path.join(dir, '10.9.0.3'), 'someone-else\r\neth0'); // another root took it meanwhile
    assert.equal(reserveAddress(dir, '10.9.0.0/29', '10.9.0.1', 'b', 'eth0'), '10.9.0.4');
    assert.equal(reserveAddress(dir, '10.9.0.0/29', '10.9.0.1', 'c', 'eth0'), '10.9.0.5');
    assert.equal(reserveAddress(dir, '10.9.0.0/29', '10.9.0.1', 'd', 'eth0'), '10.9.0.6');
    releaseAddress(dir, '10.9.0.2', 'a');
    assert.equal(reserveAddress(dir, '10.9.0.0/29', '10.9.0.1', 'e', 'eth0'), '10.9.0.2', 'the freed one');
    assert.throws(() => reserveAddress(dir, '10.9.0.0/29', '10.9.0.1', 'f', 'eth0'), /no available IPv4 addresses/);
    releaseAddress(dir, '10.9.0.3', 'not-its-owner');
    assert.ok(readdirSync(dir).includes('10.9.0.3'), "another container's lease stays");
    releaseAddress(dir, undefined, 'c'); // by container ID alone
    assert.ok(!readdirSync(dir).includes('10.9.0.5'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
