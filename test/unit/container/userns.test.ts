import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { is } from '../../../src/errors/index.js';
import {
  UsernsRanges,
  checkUsernsConflicts,
  firstFreeRange,
  parseUsernsMode,
  readSubordinateIds,
  subordinateRanges,
  usernsRequest,
} from '../../../src/container/userns.js';
import { parseSecurityOpts, refuseUnavailableConfinement } from '../../../src/container/run-modes.js';
import { openMetaDb } from '../../../src/meta/index.js';
import { idToContainer, idToHost, OVERFLOW_ID, tarOwnerOf, type IdMap } from '../../../src/util/index.js';
import { buildSpec } from '../../../src/runtime/index.js';

test('--userns: host, auto, auto:size=N; private and others refused', () => {
  assert.deepEqual(parseUsernsMode(''), { kind: 'host' });
  assert.deepEqual(parseUsernsMode('host'), { kind: 'host' });
  assert.deepEqual(parseUsernsMode('auto'), { kind: 'auto', size: 65536 });
  assert.deepEqual(parseUsernsMode('auto:size=1000'), { kind: 'auto', size: 1000 });
  assert.throws(
    () => parseUsernsMode('private'),
    (e) => is(e, 'UNSUPPORTED'),
  );
  assert.throws(
    () => parseUsernsMode('auto:size=0'),
    (e) => is(e, 'INVALID_ARGUMENT'),
  );
  assert.throws(() => parseUsernsMode('keep-id'), /--userns: invalid USER mode/);
});

test('subordinate id files: the named user (or its uid) only, malformed lines skipped', () => {
  const text = 'alice:100000:65536\nwharf:200000:1000000\n# x\nwharf:bad:1\n1001:5000000:10\nwharf:9000000:65536\n';
  assert.deepEqual(subordinateRanges(text, 'wharf'), [
    { start: 200000, size: 1000000 },
    { start: 9000000, size: 65536 },
  ]);
  assert.deepEqual(subordinateRanges(text, 'bob', 1001), [{ start: 5000000, size: 10 }]);
  assert.deepEqual(subordinateRanges(text, 'nobody'), []);
});

test('firstFreeRange: the lowest gap that fits, across several subordinate ranges', () => {
  const avail = [
    { start: 1000, size: 300 },
    { start: 5000, size: 1000 },
  ];
  assert.equal(firstFreeRange(avail, [], 100), 1000);
  assert.equal(firstFreeRange(avail, [{ start: 1000, size: 100 }], 100), 1100);
  assert.equal(firstFreeRange(avail, [{ start: 1050, size: 100 }], 100), 1150);
  assert.equal(firstFreeRange(avail, [{ start: 1100, size: 100 }], 150), 5000);
  assert.equal(
    firstFreeRange(
      avail,
      [
        { start: 5000, size: 1000 },
        { start: 1000, size: 300 },
      ],
      1,
    ),
    undefined,
  );
  assert.equal(firstFreeRange(avail, [], 2000), undefined);
});

test('usernsRequest: the engine default makes auto, --userns=host opts out, no ids is a clear error', () => {
  const sub = { uids: [{ start: 1e6, size: 1e6 }], gids: [{ start: 1e6, size: 1e6 }] };
  const read = () => sub;
  assert.equal(usernsRequest(undefined, undefined, read).subIds, undefined);
  assert.deepEqual(usernsRequest(undefined, 'default', read), {
    mode: 'auto',
    size: 65536,
    user: 'wharf',
    subIds: sub,
  });
  assert.equal(usernsRequest('host', 'default', read).subIds, undefined);
  assert.equal(usernsRequest('auto', 'someone', read).user, 'someone');
  const none = path.join(tmpdir(), 'no-such-subuid');
  assert.throws(
    () => usernsRequest('auto', undefined, (u) => readSubordinateIds(u, { subuid: none, subgid: none })),
    /no subordinate ids for user "wharf" in .*no-such-subuid; add a range/,
  );
});

test("dockerd's refusals with a user namespace; the native snapshotter is refused", () => {
  assert.throws(() => checkUsernsConflicts({ Privileged: true }, 'overlay2'), /privileged mode is incompatible/);
  assert.throws(() => checkUsernsConflicts({ NetworkMode: 'host' }, 'overlay2'), /host's network namespace/);
  assert.throws(() => checkUsernsConflicts({ PidMode: 'host' }, 'overlay2'), /host PID namespace/);
  assert.throws(() => checkUsernsConflicts({}, 'vfs'), /needs the overlay snapshotter/);
  checkUsernsConflicts({ NetworkMode: 'bridge' }, 'overlay2');
});

test('UsernsRanges: ranges never overlap, are released, and run out with a clear error', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'userns-db-'));
  const db = openMetaDb(dir);
  try {
    const r = new UsernsRanges(db);
    const sub = { uids: [{ start: 100000, size: 3000 }], gids: [{ start: 500000, size: 3000 }] };
    const a = r.allocate('a', 1000, sub, 'wharf');
    const b = r.allocate('b', 1000, sub, 'wharf');
    assert.deepEqual(a.uid, [{ containerID: 0, hostID: 100000, size: 1000 }]);
    assert.deepEqual(a.gid, [{ containerID: 0, hostID: 500000, size: 1000 }]);
    assert.equal(b.uid[0]?.hostID, 101000);
    r.allocate('c', 1000, sub, 'wharf');
    assert.throws(() => r.allocate('d', 1000, sub, 'wharf'), /not enough unused subordinate ids of user "wharf"/);
    r.release('b');
    assert.equal(r.allocate('d', 1000, sub, 'wharf').uid[0]?.hostID, 101000);
    assert.deepEqual(r.get('d'), r.all().find((x) => x.id === 'd')?.map);
    assert.equal(r.get('b'), undefined);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('id shifting both ways; tars record the host root as 0', () => {
  const map: IdMap = {
    uid: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gid: [{ containerID: 0, hostID: 200000, size: 65536 }],
  };
  assert.equal(idToHost(map.uid, 0), 100000);
  assert.equal(idToHost(map.uid, 65536), OVERFLOW_ID);
  assert.equal(idToContainer(map.uid, 101000), 1000);
  assert.equal(idToContainer(map.uid, 5), OVERFLOW_ID);
  const owner = tarOwnerOf(map);
  assert.deepEqual(owner(100000, 200000), { uid: 0, gid: 0 });
  assert.deepEqual(owner(101000, 201000), { uid: 1000, gid: 1000 });
  assert.deepEqual(owner(0, 0), { uid: 0, gid: 0 }); // overlayfs' whiteouts, the bind-mounted /etc files
  assert.deepEqual(owner(165534, 265534), { uid: 65534, gid: 65534 }); // the container's own nobody
});

test('buildSpec with a user namespace: joined by path, mapped, cgroup mount rw, ping groups within the map', () => {
  const idMap: IdMap = {
    uid: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gid: [{ containerID: 0, hostID: 100000, size: 65536 }],
  };
  const spec = buildSpec(
    { Cmd: ['sh'] },
    { rootfs: 'rootfs', network: { mode: 'netns', path: '/run/netns/x' }, idMap, usernsPath: '/run/wharf/userns/x' },
  );
  assert.deepEqual(
    spec.linux.namespaces.find((n) => n.type === 'user'),
    { type: 'user', path: '/run/wharf/userns/x' },
  );
  assert.deepEqual(spec.linux.uidMappings, idMap.uid);
  assert.deepEqual(spec.linux.gidMappings, idMap.gid);
  assert.ok(spec.mounts.find((m) => m.destination === '/sys/fs/cgroup')?.options?.includes('rw'));
  assert.equal(spec.mounts.find((m) => m.destination === '/sys')?.type, 'sysfs');
  assert.equal(spec.linux.sysctl?.['net.ipv4.ping_group_range'], '0 65535');
  const plain = buildSpec({ Cmd: ['sh'] }, { rootfs: 'rootfs', network: { mode: 'new' } });
  assert.equal(
    plain.linux.namespaces.find((n) => n.type === 'user'),
    undefined,
  );
  assert.equal(plain.linux.uidMappings, undefined);
});

test('--security-opt: SELinux labels and AppArmor without AppArmor refused; disable and unconfined accepted', () => {
  const refuse = (opts: string[], aa: boolean) => () => refuseUnavailableConfinement(parseSecurityOpts(opts), aa);
  assert.throws(refuse(['label=user:foo'], false), /label=user:foo: Wharf applies no SELinux labels/);
  assert.throws(refuse(['label=level:s0'], true), /SELinux/);
  assert.throws(refuse(['apparmor=myprof'], false), /AppArmor is not enabled in this kernel/);
  refuse(['label=disable', 'label:disable', 'apparmor=unconfined'], false)();
  refuse(['apparmor=myprof'], true)();
});
